// SPDX-License-Identifier: GPL-2.0
/*
 * ipmi-faults: one client's view of a BMC that misbehaves on purpose (the
 * fault proxy's plan picks the requests it spoils by netfn and cmd).
 *
 *   ipmi-faults NETFN CMD COUNT BOUND_MS [DATA...]
 *
 * Sends COUNT requests NETFN/CMD (with the DATA bytes) to the BMC over
 * /dev/ipmi0 (or $IPMI_DEV), one at a time, each with a msgid of its own,
 * and waits up to BOUND_MS for each one's answer; after every 10th, a
 * probe: Get Device ID, the same way. Then it listens for another second
 * (or $IPMI_FAULTS_LINGER_MS) for answers that come late or twice. With
 * $IPMI_FAULTS_BUDGET_S, it sends no more requests once that many seconds
 * have passed. Prints one line:
 *
 *   answered=A errors=E codes=CC:N,... refused=R lost=L wrong=W
 *   slowest_ms=S len=MIN-MAX [stopped_after=N] [probes: answered=...]
 *
 * answered: completion code 0; errors: another completion code (counted by
 * code); refused: the send ioctl failed (counted, errno printed on
 * stderr); lost: no answer within BOUND_MS; wrong: an answer whose msgid is
 * not the request's (a late answer reaching a newer request, a duplicate),
 * a response netfn/cmd that does not match, or a message that is not a
 * response; len: the shortest and longest answer (completion code
 * included). The probes are counted apart: an interface that hands out an
 * answer one request late shows there (as a wrong command, or the
 * handler's 0xff for one). stopped_after: the budget ran out after N
 * requests. Exits 0 only if nothing was lost or wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/ipmi.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct outcome {
	long answered, errors, refused, lost, wrong;
	long by_code[256];
	int min_len, max_len;
	double slowest_ms;
};

/* Takes one message off fd; returns 1 if it is the answer to msgid (and
 * counts it), 0 if it is something else (counted wrong), -1 on error. */
static int take(int fd, unsigned char netfn, unsigned char cmd, long msgid, struct outcome *o)
{
	unsigned char data[IPMI_MAX_MSG_LENGTH];
	struct ipmi_addr addr;
	struct ipmi_recv recv = {
		.addr = (unsigned char *)&addr,
		.addr_len = sizeof(addr),
		.msg = { .data = data, .data_len = sizeof(data) },
	};

	if (ioctl(fd, IPMICTL_RECEIVE_MSG_TRUNC, &recv) < 0) {
		perror("receive");
		return -1;
	}
	if (recv.msgid != msgid || recv.recv_type != IPMI_RESPONSE_RECV_TYPE ||
	    recv.msg.netfn != (netfn | 1) || recv.msg.cmd != cmd || recv.msg.data_len < 1) {
		fprintf(stderr, "wrong: msgid %ld (want %ld) type %d netfn %#x cmd %#x len %u\n",
			recv.msgid, msgid, recv.recv_type, recv.msg.netfn, recv.msg.cmd,
			recv.msg.data_len);
		o->wrong++;
		return 0;
	}
	if (data[0] == 0)
		o->answered++;
	else
		o->errors++;
	o->by_code[data[0]]++;
	if (recv.msg.data_len < o->min_len)
		o->min_len = recv.msg.data_len;
	if (recv.msg.data_len > o->max_len)
		o->max_len = recv.msg.data_len;
	return 1;
}

/* Msgids of the probes: apart from the requests' 1..COUNT. */
#define PROBE (1L << 40)

/* Sends one request and waits up to bound_ms for its answer; -1 on an
 * error of the device itself. */
static int one_request(int fd, unsigned char netfn, unsigned char cmd, unsigned char *data,
		       unsigned short data_len, long msgid, int bound_ms, struct outcome *o)
{
	struct ipmi_system_interface_addr bmc = {
		.addr_type = IPMI_SYSTEM_INTERFACE_ADDR_TYPE,
		.channel = IPMI_BMC_CHANNEL,
	};
	struct ipmi_req req = {
		.addr = (unsigned char *)&bmc,
		.addr_len = sizeof(bmc),
		.msgid = msgid,
		.msg = { .netfn = netfn, .cmd = cmd, .data = data, .data_len = data_len },
	};
	double t0 = now_ms(), left;

	if (ioctl(fd, IPMICTL_SEND_COMMAND, &req) < 0) {
		fprintf(stderr, "request %#lx: send: %s\n", msgid, strerror(errno));
		o->refused++;
		return 0;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r;

		left = t0 + bound_ms - now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left + 1) <= 0) {
			fprintf(stderr, "request %#lx: no answer in %d ms\n", msgid, bound_ms);
			o->lost++;
			return 0;
		}
		r = take(fd, netfn, cmd, msgid, o);
		if (r < 0)
			return -1;
		if (r == 1) {
			if (now_ms() - t0 > o->slowest_ms)
				o->slowest_ms = now_ms() - t0;
			return 0;
		}
	}
}

/* Prints an outcome's counts. */
static void print_outcome(const char *prefix, const struct outcome *o)
{
	const char *sep = "";
	int c;

	printf("%sanswered=%ld errors=%ld codes=", prefix, o->answered, o->errors);
	for (c = 1; c < 256; c++) {
		if (o->by_code[c]) {
			printf("%s%02x:%ld", sep, c, o->by_code[c]);
			sep = ",";
		}
	}
	printf("%s refused=%ld lost=%ld wrong=%ld", *sep ? "" : "-", o->refused, o->lost, o->wrong);
}

int main(int argc, char **argv)
{
	struct outcome o = { .min_len = 1 << 30 }, p = { .min_len = 1 << 30 };
	const char *path = getenv("IPMI_DEV") ? getenv("IPMI_DEV") : "/dev/ipmi0";
	unsigned char netfn, cmd, data[IPMI_MAX_MSG_LENGTH];
	unsigned short data_len = 0;
	long count, i;
	int bound_ms, linger_ms = 1000, fd, c;
	double deadline = 0;

	if (argc < 5 || argc - 5 > IPMI_MAX_MSG_LENGTH) {
		fprintf(stderr, "usage: ipmi-faults NETFN CMD COUNT BOUND_MS [DATA...]\n");
		return 2;
	}
	for (c = 5; c < argc; c++)
		data[data_len++] = strtoul(argv[c], NULL, 0);
	netfn = strtoul(argv[1], NULL, 0);
	cmd = strtoul(argv[2], NULL, 0);
	count = strtol(argv[3], NULL, 0);
	bound_ms = strtol(argv[4], NULL, 0);
	if (getenv("IPMI_FAULTS_LINGER_MS"))
		linger_ms = strtol(getenv("IPMI_FAULTS_LINGER_MS"), NULL, 0);
	if (getenv("IPMI_FAULTS_BUDGET_S"))
		deadline = now_ms() + 1e3 * strtol(getenv("IPMI_FAULTS_BUDGET_S"), NULL, 0);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		perror(path);
		return 2;
	}
	for (i = 1; i <= count; i++) {
		if (deadline && now_ms() > deadline)
			break;
		if (one_request(fd, netfn, cmd, data, data_len, i, bound_ms, &o) < 0)
			return 2;
		/* A probe after every 10th: an answer that comes one request
		 * late (a stale buffer handed out) shows as a wrong command. */
		if (i % 10 == 0 &&
		    one_request(fd, IPMI_NETFN_APP_REQUEST, 0x01, NULL, 0, PROBE | i, bound_ms, &p) < 0)
			return 2;
	}
	/* Whatever comes now is late or a second answer. */
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, linger_ms) <= 0 || take(fd, netfn, cmd, -1, &o) < 0)
			break;
	}
	close(fd);

	print_outcome("", &o);
	printf(" slowest_ms=%.0f len=%d-%d", o.slowest_ms, o.max_len ? o.min_len : 0, o.max_len);
	if (i <= count)
		printf(" stopped_after=%ld", i - 1);
	if (p.answered + p.errors + p.refused + p.lost)
		print_outcome(" probes: ", &p);
	printf("\n");
	return o.lost || o.wrong || p.lost || p.wrong ? 1 : 0;
}
