// SPDX-License-Identifier: GPL-2.0
/*
 * ipmi-stress: concurrency and lifetime checks of /dev/ipmiN, the same for
 * any ipmi_devintf (upstream's or ours). Each mode prints one summary line
 * and exits 0 only if every check held.
 *
 *   ipmi-stress clients N SECONDS
 *       N processes, each with its own open file, send Get Device ID with
 *       msgids unique to the process (pid << 20 | counter), up to 4 in
 *       flight, for SECONDS; every answer must carry a msgid the process
 *       has outstanding and completion code 0. Fails on a lost answer
 *       (none within 15 s, ipmitool's limit), a duplicate, a foreign
 *       msgid or an error.
 *   ipmi-stress openclose COUNT
 *       open and close the device COUNT times.
 *   ipmi-stress wait
 *       poll, select and epoll time out on an idle file (no spurious
 *       wake-up) and report readable once an answer is queued; SIGIO comes
 *       when the queue goes from empty to non-empty.
 *   ipmi-stress efault
 *       RECEIVE_MSG_TRUNC into a 2-byte body buffer the kernel cannot write
 *       (-EFAULT), then a receive with room for all: prints the body
 *       length that second receive got (the whole answer if the failed
 *       copy lost nothing; upstream's devintf gives back the 2 bytes it
 *       had truncated the message to).
 *   ipmi-stress defaults
 *       puts back the interface-wide settings a test may have changed: our
 *       slave address 0x20 and LUN 2 (the SMS LUN) on every channel.
 *   ipmi-stress events N [hold]
 *       with the fault proxy's "events" action on Get SEL Info: one open
 *       file enables events (SET_GETS_EVENTS), a second does not and sends
 *       Get SEL Info, after which the BMC's event buffer yields N events
 *       (made up by the proxy). The first file must get all N, in order,
 *       within 5 s; the second nothing but its answer. With "hold", the
 *       first file leaves its events queued for 3 s and then sends a
 *       request, and prints whether it could.
 *   ipmi-stress reset-recovery SECONDS
 *       sends Cold Reset to the BMC, then Get Device ID every 100 ms until
 *       one is answered with completion code 0 or SECONDS pass; prints
 *       after how long, and how many tries were refused (EBUSY: the
 *       handler's reset maintenance mode) or answered with an error.
 *   ipmi-stress absent ADDR RETRIES MS
 *       Get Device ID to IPMB address ADDR on channel 0 (where nobody
 *       answers) with IPMICTL_SEND_COMMAND_SETTIME, RETRIES retries MS ms
 *       apart; prints the completion code of the answer the handler makes
 *       up and after how long it came (none within 60 s fails).
 *   ipmi-stress command-user
 *       with the fault proxy's "commands" action on Get SEL Info: registers
 *       for App Get Device ID commands, sends Get SEL Info (after which the
 *       BMC holds a command for the host), and must get the command (IPMB
 *       channel 0, from 0x81, netfn 0x06, cmd 0x01) within 5 s; answers it
 *       (netfn 0x07, completion code 0, a made-up Device ID) and must get
 *       the BMC's answer to that Send Message (a response-response, with
 *       the same msgid) within 5 s. Prints what came.
 *   ipmi-stress lan-command NETFN CMD SECONDS
 *       registers for commands NETFN/CMD and waits up to SECONDS for one
 *       (a remote console's request to the BMC's LUN 2 over LAN, which the
 *       BMC queues for the host); prints where it came from (address type,
 *       channel, and for a LAN address its privilege, session handle and
 *       software IDs) and its data, answers it with completion code 0 and
 *       each data byte inverted, and must get the BMC's answer to that
 *       Send Message within 5 s.
 *   ipmi-stress inflight SECONDS
 *       keep requests in flight until SECONDS pass or the device fails;
 *       prints how the file ended (for unloading the interface under it).
 *   ipmi-stress watch SECONDS [unregister]
 *       holds the device open for SECONDS registered for one command (OEM
 *       netfn 0x30, cmd 0x7a), so that the handler asks the interface to
 *       watch for commands (what makes a polled interface tick while
 *       idle); prints what it read meanwhile. With "unregister" it
 *       unregisters before it closes the file; without, the close alone
 *       must end the registration.
 *
 * Every mode works on /dev/ipmi0, or on the device $IPMI_DEV names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/ipmi.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *path = "/dev/ipmi0";

static struct ipmi_system_interface_addr bmc = {
	.addr_type = IPMI_SYSTEM_INTERFACE_ADDR_TYPE,
	.channel = IPMI_BMC_CHANNEL,
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sends App command cmd, without data, to the BMC. */
static int send_app(int fd, unsigned char cmd, long msgid)
{
	struct ipmi_req req = {
		.addr = (unsigned char *)&bmc,
		.addr_len = sizeof(bmc),
		.msgid = msgid,
		.msg = { .netfn = IPMI_NETFN_APP_REQUEST, .cmd = cmd },
	};

	return ioctl(fd, IPMICTL_SEND_COMMAND, &req);
}

static int send_get_device_id(int fd, long msgid)
{
	return send_app(fd, 0x01, msgid);
}

/* Receives one message into *msgid and *cc; -1 with errno on failure. */
static int receive(int fd, long *msgid, int *cc, int *recv_type)
{
	unsigned char data[IPMI_MAX_MSG_LENGTH];
	struct ipmi_addr addr;
	struct ipmi_recv recv = {
		.addr = (unsigned char *)&addr,
		.addr_len = sizeof(addr),
		.msg = { .data = data, .data_len = sizeof(data) },
	};

	memset(data, 0xee, sizeof(data));
	if (ioctl(fd, IPMICTL_RECEIVE_MSG_TRUNC, &recv) < 0)
		return -1;
	*msgid = recv.msgid;
	*recv_type = recv.recv_type;
	*cc = recv.msg.data_len ? data[0] : -1;
	return 0;
}

#define IN_FLIGHT 4

static int one_client(double seconds)
{
	long outstanding[IN_FLIGHT];
	double sent_at[IN_FLIGHT];
	long next = 0, done = 0;
	double end = now() + seconds;
	int fd = open(path, O_RDWR), i;

	if (fd < 0) {
		perror("open");
		return 1;
	}
	for (i = 0; i < IN_FLIGHT; i++) {
		outstanding[i] = ((long)getpid() << 20) | next++;
		sent_at[i] = now();
		if (send_get_device_id(fd, outstanding[i]) < 0) {
			perror("send");
			return 1;
		}
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long msgid;
		int cc, type, n = poll(&pfd, 1, 15000);

		if (n <= 0) {
			fprintf(stderr, "pid %d: no answer in 15 s (%ld done)\n", getpid(), done);
			return 1;
		}
		if (receive(fd, &msgid, &cc, &type) < 0) {
			fprintf(stderr, "pid %d: receive: %s\n", getpid(), strerror(errno));
			return 1;
		}
		for (i = 0; i < IN_FLIGHT && outstanding[i] != msgid; i++)
			;
		if (i == IN_FLIGHT || type != IPMI_RESPONSE_RECV_TYPE || cc != 0) {
			fprintf(stderr, "pid %d: unexpected msgid %#lx type %d cc %#x\n",
				getpid(), msgid, type, cc);
			return 1;
		}
		if (now() - sent_at[i] > 15) {
			fprintf(stderr, "pid %d: answer after %.1f s\n", getpid(), now() - sent_at[i]);
			return 1;
		}
		done++;
		outstanding[i] = -1;
		if (now() < end) {
			outstanding[i] = ((long)getpid() << 20) | next++;
			sent_at[i] = now();
			if (send_get_device_id(fd, outstanding[i]) < 0) {
				perror("send");
				return 1;
			}
		} else {
			int left = 0;

			for (i = 0; i < IN_FLIGHT; i++)
				left += outstanding[i] != -1;
			if (!left)
				break;
		}
	}
	close(fd);
	printf("%ld\n", done);
	return 0;
}

static int clients(int n, double seconds)
{
	int i, status, failed = 0, fds[2];
	long total = 0;

	if (pipe(fds) < 0)
		return 1;
	for (i = 0; i < n; i++) {
		if (fork() == 0) {
			dup2(fds[1], 1);
			exit(one_client(seconds));
		}
	}
	close(fds[1]);
	while (wait(&status) > 0)
		failed += !WIFEXITED(status) || WEXITSTATUS(status);
	{
		FILE *f = fdopen(fds[0], "r");
		long v;

		while (f && fscanf(f, "%ld", &v) == 1)
			total += v;
	}
	printf("clients: %d processes, %d failed, %ld answers, each to its own request\n",
	       n, failed, total);
	return failed || total == 0;
}

static int openclose(long count)
{
	long i;

	for (i = 0; i < count; i++) {
		int fd = open(path, O_RDWR);

		if (fd < 0) {
			fprintf(stderr, "open %ld: %s\n", i, strerror(errno));
			return 1;
		}
		close(fd);
	}
	printf("openclose: %ld opens and closes\n", count);
	return 0;
}

static volatile sig_atomic_t sigio_count;

static void on_sigio(int sig)
{
	(void)sig;
	sigio_count++;
}

/* poll, select and epoll: idle times out, an answer makes it readable. */
static int wait_modes(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, got;
	int fd = open(path, O_RDWR), ep = epoll_create1(0), n, cc, type, bad = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT | POLLPRI };
	struct timeval tv = { .tv_sec = 0, .tv_usec = 300000 };
	fd_set rd;
	long msgid;
	double t0;

	if (fd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		perror("set-up");
		return 1;
	}
	/* Idle: all three time out, never reporting writable either. */
	t0 = now();
	n = poll(&pfd, 1, 300);
	if (n != 0 || now() - t0 < 0.25) {
		fprintf(stderr, "idle poll: %d revents %#x\n", n, pfd.revents);
		bad++;
	}
	FD_ZERO(&rd);
	FD_SET(fd, &rd);
	if (select(fd + 1, &rd, NULL, NULL, &tv) != 0) {
		fprintf(stderr, "idle select did not time out\n");
		bad++;
	}
	if (epoll_wait(ep, &got, 1, 300) != 0) {
		fprintf(stderr, "idle epoll did not time out\n");
		bad++;
	}
	/* SIGIO on empty -> non-empty. */
	signal(SIGIO, on_sigio);
	fcntl(fd, F_SETOWN, getpid());
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
	if (send_get_device_id(fd, 7) < 0) {
		perror("send");
		return 1;
	}
	pfd.events = POLLIN | POLLRDNORM | POLLOUT | POLLPRI;
	n = poll(&pfd, 1, 15000);
	if (n != 1 || pfd.revents != (POLLIN | POLLRDNORM)) {
		fprintf(stderr, "poll with an answer queued: %d revents %#x\n", n, pfd.revents);
		bad++;
	}
	FD_ZERO(&rd);
	FD_SET(fd, &rd);
	tv.tv_sec = 1;
	if (select(fd + 1, &rd, NULL, NULL, &tv) != 1 || !FD_ISSET(fd, &rd)) {
		fprintf(stderr, "select with an answer queued: not readable\n");
		bad++;
	}
	if (epoll_wait(ep, &got, 1, 1000) != 1 || !(got.events & EPOLLIN)) {
		fprintf(stderr, "epoll with an answer queued: not readable\n");
		bad++;
	}
	usleep(100000);
	if (sigio_count != 1) {
		fprintf(stderr, "SIGIO: %d signals for one answer\n", (int)sigio_count);
		bad++;
	}
	if (receive(fd, &msgid, &cc, &type) < 0 || msgid != 7 || cc != 0) {
		fprintf(stderr, "the answer: msgid %ld cc %d\n", msgid, cc);
		bad++;
	}
	/* Drained: idle again. */
	n = poll(&pfd, 1, 200);
	if (n != 0) {
		fprintf(stderr, "poll after draining: %d\n", n);
		bad++;
	}
	close(ep);
	close(fd);
	printf("wait: poll, select, epoll and SIGIO %s\n", bad ? "FAILED" : "as expected");
	return bad != 0;
}

static int efault(void)
{
	struct ipmi_addr addr;
	unsigned char data[IPMI_MAX_MSG_LENGTH];
	struct ipmi_recv recv = {
		.addr = (unsigned char *)&addr,
		.addr_len = sizeof(addr),
		/* Read-only: the kernel cannot write the body there. */
		.msg = { .data = (unsigned char *)"", .data_len = 2 },
	};
	struct pollfd pfd;
	int fd = open(path, O_RDWR), rv;

	if (fd < 0 || send_get_device_id(fd, 9) < 0) {
		perror("set-up");
		return 1;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, 15000) != 1) {
		fprintf(stderr, "no answer\n");
		return 1;
	}
	rv = ioctl(fd, IPMICTL_RECEIVE_MSG_TRUNC, &recv);
	if (rv == 0 || errno != EFAULT) {
		fprintf(stderr, "receive into read-only memory: %d %s\n", rv, strerror(errno));
		return 1;
	}
	recv.msg.data = data;
	recv.msg.data_len = sizeof(data);
	if (ioctl(fd, IPMICTL_RECEIVE_MSG, &recv) < 0) {
		printf("efault: the message is gone (%s)\n", strerror(errno));
		return 0;
	}
	printf("efault: after EFAULT the message is still there: msgid %ld, %u body bytes\n",
	       (long)recv.msgid, recv.msg.data_len);
	close(fd);
	return 0;
}

static int defaults(void)
{
	int fd = open(path, O_RDWR), bad = 0;
	unsigned short ch;

	if (fd < 0) {
		perror("open");
		return 1;
	}
	for (ch = 0; ch < 16; ch++) {
		struct ipmi_channel_lun_address_set a = { .channel = ch, .value = 0x20 };
		struct ipmi_channel_lun_address_set l = { .channel = ch, .value = 2 };

		bad += ioctl(fd, IPMICTL_SET_MY_CHANNEL_ADDRESS_CMD, &a) < 0;
		bad += ioctl(fd, IPMICTL_SET_MY_CHANNEL_LUN_CMD, &l) < 0;
	}
	close(fd);
	printf("defaults: address 0x20, LUN 2 on %d channels%s\n", 16,
	       bad ? " FAILED" : "");
	return bad != 0;
}

/* Requests in flight until the device fails or SECONDS pass. */
static int inflight(double seconds)
{
	int fd = open(path, O_RDWR), cc, type;
	double end = now() + seconds;
	long sent = 0, answered = 0, msgid;

	if (fd < 0) {
		perror("open");
		return 1;
	}
	while (now() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (send_get_device_id(fd, sent) < 0) {
			printf("inflight: send failed with %s after %ld answers\n",
			       strerror(errno), answered);
			close(fd);
			return 0;
		}
		sent++;
		if (poll(&pfd, 1, 15000) != 1) {
			printf("inflight: no answer in 15 s after %ld answers\n", answered);
			return 1;
		}
		if (pfd.revents & (POLLHUP | POLLERR))
			printf("inflight: poll reported hang-up (revents %#x)\n", pfd.revents);
		if (receive(fd, &msgid, &cc, &type) < 0) {
			printf("inflight: receive failed with %s after %ld answers\n",
			       strerror(errno), answered);
			close(fd);
			return 0;
		}
		answered++;
		if (cc != 0) {
			printf("inflight: answer with completion code %#x after %ld answers\n",
			       cc, answered);
		}
	}
	printf("inflight: %ld answers, the device never failed\n", answered);
	close(fd);
	return 0;
}

/* The events the fault proxy makes up (its "events" action): a temperature
 * sensor, number 0x42, record ids counting from 1. */
#define EVENT_SENSOR_TYPE 0x01
#define EVENT_SENSOR_NUMBER 0x42

/* Receives one message from fd within ms; 1 if one came, 0 if not, -1 on
 * error. */
static int receive_within(int fd, int ms, struct ipmi_recv *recv, unsigned char *buf,
			  struct ipmi_addr *addr)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	recv->addr = (unsigned char *)addr;
	recv->addr_len = sizeof(*addr);
	recv->msg.data = buf;
	recv->msg.data_len = IPMI_MAX_MSG_LENGTH;
	return ioctl(fd, IPMICTL_RECEIVE_MSG_TRUNC, recv) < 0 ? -1 : 1;
}

static int events(int want, int hold)
{
	struct ipmi_req trigger = {
		.addr = (unsigned char *)&bmc,
		.addr_len = sizeof(bmc),
		.msgid = 1,
		.msg = { .netfn = 0x0a, .cmd = 0x40 },	/* Get SEL Info */
	};
	int fd = open(path, O_RDWR), other = open(path, O_RDWR), on = 1;
	int got = 0, in_order = 1, last_id = 0, other_got = 0, answered = 0, rv;
	double deadline;

	if (fd < 0 || other < 0) {
		perror("open");
		return 1;
	}
	if (ioctl(fd, IPMICTL_SET_GETS_EVENTS_CMD, &on) < 0) {
		perror("SET_GETS_EVENTS");
		return 1;
	}
	/* The other user sends the trigger: the user with events reads
	 * nothing but events. */
	if (ioctl(other, IPMICTL_SEND_COMMAND, &trigger) < 0) {
		perror("SEND_COMMAND");
		return 1;
	}
	deadline = now() + 5;
	while (!answered && now() < deadline) {
		unsigned char buf[IPMI_MAX_MSG_LENGTH];
		struct ipmi_addr addr;
		struct ipmi_recv recv;

		if (receive_within(other, 200, &recv, buf, &addr) > 0) {
			if (recv.recv_type == IPMI_RESPONSE_RECV_TYPE && recv.msgid == 1)
				answered = 1;
			else
				other_got++;
		}
	}
	printf("events: the trigger was %s\n", answered ? "answered" : "not answered");
	if (hold) {
		/* Leave the events queued, then ask something. */
		sleep(3);
		rv = send_get_device_id(fd, 99);
		printf("events: a request from the user with the events queued: %s\n",
		       rv < 0 ? strerror(errno) : "sent");
	}
	deadline = now() + 5;
	while (got < want && now() < deadline) {
		unsigned char buf[IPMI_MAX_MSG_LENGTH];
		struct ipmi_addr addr;
		struct ipmi_recv recv;

		rv = receive_within(fd, 200, &recv, buf, &addr);
		if (rv < 0) {
			perror("RECEIVE_MSG_TRUNC");
			return 1;
		}
		if (rv == 0 || recv.recv_type != IPMI_ASYNC_EVENT_RECV_TYPE)
			continue;
		/* An SEL-format record: id in bytes 0-1, sensor type and number
		 * at 10 and 11. */
		if (recv.msg.data_len >= 16 && buf[10] == EVENT_SENSOR_TYPE &&
		    buf[11] == EVENT_SENSOR_NUMBER) {
			int id = buf[0] | buf[1] << 8;

			if (id <= last_id)
				in_order = 0;
			last_id = id;
			got++;
		}
	}
	{
		unsigned char buf[IPMI_MAX_MSG_LENGTH];
		struct ipmi_addr addr;
		struct ipmi_recv recv;

		while (receive_within(other, 300, &recv, buf, &addr) > 0)
			other_got++;
	}
	printf("events: %d of %d events reached the user that asked%s\n", got, want,
	       in_order ? ", in order" : ", out of order");
	printf("events: the other user got %d message(s) besides its answer\n", other_got);
	close(other);
	close(fd);
	return answered && got == want && in_order && other_got == 0 ? 0 : 1;
}

/* Sends an App command on fd (msgid) and waits up to 5 s for its answer;
 * the completion code, -2 on no answer, or -1 with errno if the send was
 * refused. */
static int app_command(int fd, unsigned char cmd, long msgid)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	double deadline = now() + 5;

	if (send_app(fd, cmd, msgid) < 0)
		return -1;
	while (now() < deadline) {
		long got;
		int cc, type;

		if (poll(&pfd, 1, 100) == 1 && receive(fd, &got, &cc, &type) == 0 &&
		    type == IPMI_RESPONSE_RECV_TYPE && got == msgid)
			return cc < 0 ? 0xff : cc;
	}
	return -2;
}

/* Cold Reset, then Get Device ID every 100 ms until one is answered with
 * completion code 0 or `limit` seconds pass. */
static int reset_recovery(double limit)
{
	int fd = open(path, O_RDWR), cc, busy = 0, other = 0, errors = 0;
	long msgid = 1;
	double start, back = -1;

	if (fd < 0) {
		perror("open");
		return 1;
	}
	cc = app_command(fd, 0x02, msgid++);
	start = now();
	printf("reset: Cold Reset answered: %d\n", cc);
	while (now() - start < limit) {
		cc = app_command(fd, 0x01, msgid++);
		if (cc == 0) {
			back = now() - start;
			break;
		}
		if (cc == -1 && errno == EBUSY)
			busy++;
		else if (cc == -1)
			other++;
		else
			errors++;
		usleep(100000);
	}
	if (back < 0) {
		printf("reset: no answer within %.0f s (%d EBUSY, %d other refusals, %d error answers)\n",
		       limit, busy, other, errors);
		return 1;
	}
	printf("reset: Get Device ID answered again after %.1f s (%d EBUSY, %d other refusals, %d error answers before)\n",
	       back, busy, other, errors);
	close(fd);
	return 0;
}

/* A command from the BMC's receive queue to a registered user, and the
 * user's answer back to the BMC. */
static int command_user(void)
{
	struct ipmi_req trigger = {
		.addr = (unsigned char *)&bmc,
		.addr_len = sizeof(bmc),
		.msgid = 1,
		.msg = { .netfn = 0x0a, .cmd = 0x40 },	/* Get SEL Info */
	};
	struct ipmi_cmdspec spec = { .netfn = 0x06, .cmd = 0x01 };
	unsigned char buf[IPMI_MAX_MSG_LENGTH];
	unsigned char id[] = { 0x00, 0x42, 0x01, 0x01, 0x00, 0x02, 0x00 };
	struct ipmi_addr addr;
	struct ipmi_recv recv;
	struct ipmi_ipmb_addr *from;
	struct ipmi_req reply;
	int fd = open(path, O_RDWR), rv;
	double deadline;
	long cmd_seq = -1;

	if (fd < 0) {
		perror("open");
		return 1;
	}
	if (ioctl(fd, IPMICTL_REGISTER_FOR_CMD, &spec) < 0) {
		perror("REGISTER_FOR_CMD");
		return 1;
	}
	if (ioctl(fd, IPMICTL_SEND_COMMAND, &trigger) < 0) {
		perror("SEND_COMMAND");
		return 1;
	}
	deadline = now() + 5;
	while (cmd_seq < 0 && now() < deadline) {
		rv = receive_within(fd, 200, &recv, buf, &addr);
		if (rv < 0) {
			perror("RECEIVE_MSG_TRUNC");
			return 1;
		}
		if (rv == 1 && recv.recv_type == IPMI_CMD_RECV_TYPE) {
			from = (struct ipmi_ipmb_addr *)&addr;
			printf("command-user: command netfn 0x%02x cmd 0x%02x from address type %d channel %d slave 0x%02x, %d data bytes\n",
			       recv.msg.netfn, recv.msg.cmd, addr.addr_type, addr.channel,
			       from->slave_addr, recv.msg.data_len);
			cmd_seq = recv.msgid;
		}
	}
	if (cmd_seq < 0) {
		printf("command-user: no command within 5 s\n");
		return 1;
	}
	/* The answer goes back where the command came from, with its
	 * sequence number as msgid. */
	reply = (struct ipmi_req) {
		.addr = (unsigned char *)&addr,
		.addr_len = sizeof(struct ipmi_ipmb_addr),
		.msgid = cmd_seq,
		.msg = { .netfn = 0x07, .cmd = 0x01, .data = id, .data_len = sizeof(id) },
	};
	if (ioctl(fd, IPMICTL_SEND_COMMAND, &reply) < 0) {
		perror("SEND_COMMAND (reply)");
		return 1;
	}
	deadline = now() + 5;
	while (now() < deadline) {
		rv = receive_within(fd, 200, &recv, buf, &addr);
		if (rv == 1 && recv.recv_type == IPMI_RESPONSE_RESPONSE_TYPE && recv.msgid == cmd_seq) {
			printf("command-user: the reply went out, the BMC took it with completion code 0x%02x\n",
			       recv.msg.data_len ? buf[0] : 0xff);
			close(fd);
			return 0;
		}
	}
	printf("command-user: no answer to the reply within 5 s\n");
	return 1;
}

/* A command from a LAN session for the host: where it came from, and our
 * answer back through the BMC. */
static int lan_command(int netfn, int cmd, double secs)
{
	struct ipmi_cmdspec spec = { .netfn = netfn, .cmd = cmd };
	unsigned char buf[IPMI_MAX_MSG_LENGTH], answer[IPMI_MAX_MSG_LENGTH];
	struct ipmi_addr addr;
	struct ipmi_recv recv;
	struct ipmi_lan_addr *lan = (struct ipmi_lan_addr *)&addr;
	struct ipmi_req reply;
	int fd = open(path, O_RDWR), rv, i, len = 0, addr_len = 0;
	double deadline;
	long cmd_seq = -1;

	if (fd < 0) {
		perror("open");
		return 1;
	}
	if (ioctl(fd, IPMICTL_REGISTER_FOR_CMD, &spec) < 0) {
		perror("REGISTER_FOR_CMD");
		return 1;
	}
	printf("lan-command: registered for netfn 0x%02x cmd 0x%02x\n", netfn, cmd);
	fflush(stdout);
	deadline = now() + secs;
	while (cmd_seq < 0 && now() < deadline) {
		rv = receive_within(fd, 200, &recv, buf, &addr);
		if (rv < 0) {
			perror("RECEIVE_MSG_TRUNC");
			return 1;
		}
		if (rv != 1 || recv.recv_type != IPMI_CMD_RECV_TYPE)
			continue;
		printf("lan-command: command netfn 0x%02x cmd 0x%02x from address type %d channel %d",
		       recv.msg.netfn, recv.msg.cmd, addr.addr_type, addr.channel);
		if (addr.addr_type == IPMI_LAN_ADDR_TYPE)
			printf(" privilege %d session handle %d remote SWID 0x%02x local SWID 0x%02x lun %d",
			       lan->privilege, lan->session_handle, lan->remote_SWID,
			       lan->local_SWID, lan->lun);
		printf(", data:");
		answer[0] = 0;
		for (i = 0; i < recv.msg.data_len; i++) {
			printf(" %02x", buf[i]);
			answer[1 + i] = buf[i] ^ 0xff;
		}
		printf("\n");
		len = 1 + recv.msg.data_len;
		addr_len = recv.addr_len;
		cmd_seq = recv.msgid;
	}
	if (cmd_seq < 0) {
		printf("lan-command: no command within %g s\n", secs);
		return 1;
	}
	/* Back where it came from, with its sequence number as msgid. */
	reply = (struct ipmi_req) {
		.addr = (unsigned char *)&addr,
		.addr_len = addr_len,
		.msgid = cmd_seq,
		.msg = { .netfn = netfn | 1, .cmd = cmd, .data = answer, .data_len = len },
	};
	if (ioctl(fd, IPMICTL_SEND_COMMAND, &reply) < 0) {
		perror("SEND_COMMAND (reply)");
		return 1;
	}
	deadline = now() + 5;
	while (now() < deadline) {
		rv = receive_within(fd, 200, &recv, buf, &addr);
		if (rv == 1 && recv.recv_type == IPMI_RESPONSE_RESPONSE_TYPE && recv.msgid == cmd_seq) {
			printf("lan-command: the reply went out, the BMC took it with completion code 0x%02x\n",
			       recv.msg.data_len ? buf[0] : 0xff);
			close(fd);
			return 0;
		}
	}
	printf("lan-command: no answer to the reply within 5 s\n");
	return 1;
}

/* A bridged request nobody answers: its made-up answer and its time. */
static int absent(int slave_addr, int retries, unsigned int ms)
{
	struct ipmi_ipmb_addr ipmb = {
		.addr_type = IPMI_IPMB_ADDR_TYPE,
		.channel = 0,
		.slave_addr = slave_addr,
		.lun = 0,
	};
	struct ipmi_req_settime req = {
		.req = {
			.addr = (unsigned char *)&ipmb,
			.addr_len = sizeof(ipmb),
			.msgid = 7,
			.msg = { .netfn = IPMI_NETFN_APP_REQUEST, .cmd = 0x01 },
		},
		.retries = retries,
		.retry_time_ms = ms,
	};
	struct pollfd pfd = { .events = POLLIN };
	int fd = open(path, O_RDWR), cc, type;
	double start;
	long got;

	if (fd < 0) {
		perror("open");
		return 1;
	}
	pfd.fd = fd;
	start = now();
	if (ioctl(fd, IPMICTL_SEND_COMMAND_SETTIME, &req) < 0) {
		perror("IPMICTL_SEND_COMMAND_SETTIME");
		return 1;
	}
	if (poll(&pfd, 1, 60000) != 1 || receive(fd, &got, &cc, &type) < 0) {
		printf("absent: no answer within 60 s\n");
		return 1;
	}
	printf("absent: completion code 0x%02x after %.2f s (msgid %ld)\n", cc, now() - start, got);
	close(fd);
	return got == 7 ? 0 : 1;
}

static int watch(double seconds, int unregister)
{
	int fd = open(path, O_RDWR), read_msgs = 0, cc, type;
	struct ipmi_cmdspec spec = { .netfn = 0x30, .cmd = 0x7a };
	double end = now() + seconds;
	struct pollfd pfd = { .events = POLLIN };
	long got;

	if (fd < 0 || ioctl(fd, IPMICTL_REGISTER_FOR_CMD, &spec) < 0) {
		perror("watch");
		return 1;
	}
	pfd.fd = fd;
	while (now() < end) {
		if (poll(&pfd, 1, 100) == 1 && receive(fd, &got, &cc, &type) >= 0)
			read_msgs++;
	}
	printf("watch: %d messages in %.0f s\n", read_msgs, seconds);
	if (unregister && ioctl(fd, IPMICTL_UNREGISTER_FOR_CMD, &spec) < 0) {
		perror("UNREGISTER_FOR_CMD");
		return 1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (getenv("IPMI_DEV"))
		path = getenv("IPMI_DEV");
	if (argc >= 4 && !strcmp(argv[1], "clients"))
		return clients(atoi(argv[2]), atof(argv[3]));
	if (argc >= 3 && !strcmp(argv[1], "openclose"))
		return openclose(atol(argv[2]));
	if (argc >= 2 && !strcmp(argv[1], "wait"))
		return wait_modes();
	if (argc >= 2 && !strcmp(argv[1], "defaults"))
		return defaults();
	if (argc >= 2 && !strcmp(argv[1], "efault"))
		return efault();
	if (argc >= 3 && !strcmp(argv[1], "events"))
		return events(atoi(argv[2]), argc >= 4 && !strcmp(argv[3], "hold"));
	if (argc >= 3 && !strcmp(argv[1], "reset-recovery"))
		return reset_recovery(atof(argv[2]));
	if (argc >= 2 && !strcmp(argv[1], "command-user"))
		return command_user();
	if (argc >= 5 && !strcmp(argv[1], "absent"))
		return absent(strtol(argv[2], NULL, 0), atoi(argv[3]), atoi(argv[4]));
	if (argc >= 5 && !strcmp(argv[1], "lan-command"))
		return lan_command(strtol(argv[2], NULL, 0), strtol(argv[3], NULL, 0), atof(argv[4]));
	if (argc >= 3 && !strcmp(argv[1], "inflight"))
		return inflight(atof(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "watch"))
		return watch(atof(argv[2]), argc >= 4 && !strcmp(argv[3], "unregister"));
	fprintf(stderr, "usage: see the head of ipmi-stress.c\n");
	return 2;
}
