// SPDX-License-Identifier: GPL-2.0
/*
 * ipmi-fuzz: random and boundary ioctls on /dev/ipmiN, from a seed, so that
 * the same sequence can be run through upstream's ipmi_devintf and ours and
 * the answers compared.
 *
 *   ipmi-fuzz SEED CALLS [PROCS]
 *
 * PROCS processes (default 1) each open the device and make CALLS calls
 * from SEED + their index: any IPMICTL_* number or a random one, with a
 * NULL, unmapped, read-only or valid argument, and structures filled at
 * random or at their boundaries (every address type, channels, lengths up
 * to 0xffff, bad inner pointers). Requests that could reach the BMC are
 * only Get Device ID and Get Device GUID, so the BMC is never reset or
 * changed; command registrations use a netfn range of each process's own,
 * so processes cannot collide.
 *
 * Each process prints one line: the number of calls, a hash over the
 * (call, ioctl, errno) of every call whose answer does not depend on
 * timing (all but receives, sends that could reach the BMC, and command
 * registrations read from the shared zero page, which processes race
 * for), and the count of each errno. Two drivers that answer alike print the same lines.
 * The exit status is 0 unless a call hung or the process crashed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/ipmi.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static unsigned int commands[] = {
	IPMICTL_RECEIVE_MSG_TRUNC, IPMICTL_RECEIVE_MSG, IPMICTL_SEND_COMMAND,
	IPMICTL_REGISTER_FOR_CMD, IPMICTL_UNREGISTER_FOR_CMD, IPMICTL_SET_GETS_EVENTS_CMD,
	IPMICTL_SET_MY_ADDRESS_CMD, IPMICTL_GET_MY_ADDRESS_CMD, IPMICTL_SET_MY_LUN_CMD,
	IPMICTL_GET_MY_LUN_CMD, IPMICTL_SEND_COMMAND_SETTIME, IPMICTL_SET_TIMING_PARMS_CMD,
	IPMICTL_GET_TIMING_PARMS_CMD, IPMICTL_SET_MY_CHANNEL_ADDRESS_CMD,
	IPMICTL_GET_MY_CHANNEL_ADDRESS_CMD, IPMICTL_SET_MY_CHANNEL_LUN_CMD,
	IPMICTL_GET_MY_CHANNEL_LUN_CMD, IPMICTL_REGISTER_FOR_CMD_CHANS,
	IPMICTL_UNREGISTER_FOR_CMD_CHANS, IPMICTL_GET_MAINTENANCE_MODE_CMD,
	IPMICTL_SET_MAINTENANCE_MODE_CMD,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const int addr_types[] = {
	IPMI_SYSTEM_INTERFACE_ADDR_TYPE, IPMI_IPMB_ADDR_TYPE, IPMI_IPMB_BROADCAST_ADDR_TYPE,
	IPMI_IPMB_DIRECT_ADDR_TYPE, IPMI_LAN_ADDR_TYPE, 0, 0x77, -1,
};

static unsigned char *unmapped, *readonly;
static unsigned char buf[4096], addrbuf[64], data[512];
static int errcount[256];
/* IPMI_FUZZ_TRACE=DIR: each process writes every call to DIR/trace.<proc>. */
static FILE *trace;

static void fill(void *p, size_t n)
{
	unsigned char *b = p;

	while (n--)
		*b++ = rnd();
}

/* A pointer argument: NULL, unmapped, read-only, or VALID. */
static void *pick_ptr(void *valid)
{
	switch (rnd() % 8) {
	case 0: return NULL;
	case 1: return unmapped;
	case 2: return readonly;
	default: return valid;
	}
}

static unsigned int pick_len(void)
{
	static const unsigned int edges[] = { 0, 1, 4, 7, 8, 11, 12, 39, 40, 41,
					      270, 271, 272, 273, 0xffff, 0x7fffffff };

	return rnd() % 2 ? edges[rnd() % 16] : rnd() % 64;
}

/*
 * A request. Whether it may reach the BMC: its address is a valid system
 * interface one and its netfn/cmd are Get Device ID or GUID; others are
 * refused before the handler sends anything, or sent to an IPMB address
 * nothing answers.
 */
static int make_req(struct ipmi_req *req, int *may_send)
{
	struct ipmi_addr *a = (struct ipmi_addr *)addrbuf;
	int safe = rnd() % 4 == 0;

	memset(addrbuf, 0, sizeof(addrbuf));
	fill(addrbuf, rnd() % 2 ? 0 : sizeof(addrbuf));
	a->addr_type = addr_types[rnd() % 8];
	a->channel = rnd() % 2 ? IPMI_BMC_CHANNEL : (short)(rnd() % 20 - 2);
	memset(req, 0, sizeof(*req));
	req->addr = pick_ptr(addrbuf);
	req->addr_len = pick_len();
	req->msgid = (long)rnd() << 8;
	req->msg.netfn = rnd() % 0x40;
	req->msg.cmd = rnd();
	req->msg.data_len = pick_len();
	req->msg.data = pick_ptr(data);
	if (safe) {
		/* Get Device ID or GUID, to the BMC, well formed. */
		a->addr_type = IPMI_SYSTEM_INTERFACE_ADDR_TYPE;
		a->channel = IPMI_BMC_CHANNEL;
		addrbuf[6] = 0;
		req->addr = addrbuf;
		req->addr_len = sizeof(struct ipmi_system_interface_addr);
		req->msg.netfn = IPMI_NETFN_APP_REQUEST;
		req->msg.cmd = rnd() % 2 ? 0x01 : 0x08;
		req->msg.data_len = 0;
	} else if (req->msg.netfn == IPMI_NETFN_APP_REQUEST ||
		   req->msg.netfn == 0x00 || req->msg.netfn == 0x08 || req->msg.netfn == 0x0a ||
		   req->msg.netfn == 0x0c || req->msg.netfn == 0x04) {
		/* Nothing with side effects reaches the BMC: make it a response. */
		req->msg.netfn |= 1;
	}
	*may_send = safe || a->addr_type == IPMI_IPMB_ADDR_TYPE ||
		    a->addr_type == IPMI_IPMB_BROADCAST_ADDR_TYPE ||
		    a->addr_type == IPMI_LAN_ADDR_TYPE || req->msg.netfn & 1;
	return safe;
}

static void drain(int fd)
{
	struct ipmi_addr a;
	struct ipmi_recv r;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, 0) == 1) {
		r = (struct ipmi_recv){ .addr = (unsigned char *)&a, .addr_len = sizeof(a),
					.msg = { .data = data, .data_len = sizeof(data) } };
		if (ioctl(fd, IPMICTL_RECEIVE_MSG_TRUNC, &r) < 0)
			break;
	}
}

static int run(uint64_t seed, long calls, int proc)
{
	uint64_t hash = 1469598103934665603ull;
	int fd = open("/dev/ipmi0", O_RDWR);
	long i;

	if (fd < 0) {
		perror("open");
		return 1;
	}
	rng = seed * 2654435761u + 1;
	if (getenv("IPMI_FUZZ_TRACE")) {
		char name[256];

		snprintf(name, sizeof(name), "%s/trace.%d", getenv("IPMI_FUZZ_TRACE"), proc);
		trace = fopen(name, "w");
	}
	for (i = 0; i < calls; i++) {
		unsigned int cmd;
		int rv, err, timed = 0, may_send = 0;
		void *arg;

		if (rnd() % 5 == 0)
			cmd = rnd() % 2 ? (unsigned int)rnd() : _IOC(rnd() % 4, 'i', rnd() % 40, rnd() % 64);
		else
			cmd = commands[rnd() % NCOMMANDS];
		fill(buf, 128);
		arg = pick_ptr(buf);
		switch (_IOC_NR(cmd) * (_IOC_TYPE(cmd) == 'i')) {
		case 13: case 21:
			if (arg == buf) {
				struct ipmi_req_settime *st = (void *)buf;

				make_req(&st->req, &may_send);
				st->retries = rnd() % 3;
				st->retry_time_ms = rnd() % 2 ? 100 : 0;
			}
			timed = may_send;
			break;
		case 11: case 12:
			timed = 1;
			if (arg == buf) {
				struct ipmi_recv *r = (void *)buf;

				r->addr = pick_ptr(addrbuf);
				r->addr_len = pick_len();
				r->msg.data = pick_ptr(data);
				r->msg.data_len = pick_len();
			}
			break;
		case 14: case 15:
			buf[0] = 0x20 + proc * 4 + rnd() % 4;
			/* The read-only page reads as netfn 0, shared by all. */
			timed = arg == readonly;
			break;
		case 28: case 29:
			((unsigned int *)buf)[0] = 0x20 + proc * 4 + rnd() % 4 + (rnd() % 4 == 0) * 0x100;
			((unsigned int *)buf)[2] = rnd() % 2 ? ~0u : rnd();
			timed = arg == readonly;
			break;
		case 31:
			/* Only invalid modes: a valid one changes the whole interface. */
			((int *)buf)[0] = rnd() % 2 ? 3 + (int)(rnd() % 1000) : -1 - (int)(rnd() % 1000);
			break;
		}
		rv = ioctl(fd, cmd, arg);
		err = rv < 0 ? errno : 0;
		errcount[err & 255]++;
		if (trace)
			fprintf(trace, "%ld %08x %p %d%s\n", i, cmd, arg == buf ? (void *)1 : arg,
				err, timed ? " timed" : "");
		if (!timed) {
			hash = (hash ^ (uint64_t)i) * 1099511628211ull;
			hash = (hash ^ cmd) * 1099511628211ull;
			hash = (hash ^ (uint64_t)err) * 1099511628211ull;
		}
		if (i % 16 == 0)
			drain(fd);
	}
	/* Answers still on their way are dropped with the file. */
	close(fd);
	printf("fuzz: proc %d seed %llu calls %ld hash %016llx errnos:", proc,
	       (unsigned long long)seed, calls, (unsigned long long)hash);
	for (i = 0; i < 256; i++)
		if (errcount[i])
			printf(" %s=%d", i ? strerrorname_np((int)i) : "ok", errcount[i]);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t seed;
	long calls;
	int procs, p, status, bad = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: ipmi-fuzz SEED CALLS [PROCS]\n");
		return 2;
	}
	seed = strtoull(argv[1], NULL, 0);
	calls = atol(argv[2]);
	procs = argc > 3 ? atoi(argv[3]) : 1;
	unmapped = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(unmapped, 4096);
	readonly = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (readonly == MAP_FAILED)
		return 1;
	fflush(stdout);
	for (p = 0; p < procs; p++) {
		if (fork() == 0)
			exit(run(seed + p, calls, p));
	}
	while (wait(&status) > 0)
		bad += !WIFEXITED(status) || WEXITSTATUS(status);
	return bad != 0;
}
