// SPDX-License-Identifier: GPL-2.0
/*
 * ipmi-direct: IPMB-direct addresses (IPMI_IPMB_DIRECT_ADDR_TYPE) through
 * /dev/ipmiN, against the bus that selftests/modules/ipmi_smi_test plays
 * (a controller at 0x70, nobody else). Prints one line per case: what the
 * kernel answered, every field of what came back. The lines must be the
 * same over upstream's message handler and ours.
 *
 * Usage: ipmi-direct DIRECT_DEV PLAIN_DEV [tiny|stale]
 *   DIRECT_DEV: the loopback interface (it takes IPMB-direct messages)
 *   PLAIN_DEV: an interface that does not (a KCS BMC)
 *   tiny: also ask the controller that answers a single byte (which
 *         upstream's handler copies with a negative length: not there)
 *   stale: also have a command handed up in a message whose unused first
 *         request byte says "response" (upstream's handler reads it)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/ipmi.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define PEER 0x70
#define ABSENT 0x72

static const char *err_name(int err)
{
	static char other[32];

	switch (err) {
	case EINVAL: return "EINVAL";
	case EMSGSIZE: return "EMSGSIZE";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case ENODEV: return "ENODEV";
	case EBUSY: return "EBUSY";
	}
	snprintf(other, sizeof(other), "errno %d", err);
	return other;
}

static struct ipmi_ipmb_direct_addr direct(unsigned char sa, unsigned char rs_lun,
					   unsigned char rq_lun)
{
	struct ipmi_ipmb_direct_addr a;

	memset(&a, 0, sizeof(a));
	a.addr_type = IPMI_IPMB_DIRECT_ADDR_TYPE;
	a.channel = 0;
	a.slave_addr = sa;
	a.rs_lun = rs_lun;
	a.rq_lun = rq_lun;
	return a;
}

/* Sends; prints "<case>: ok" or the errno (a nameless case only its errno). */
static int send_req(int fd, const char *name, struct ipmi_ipmb_direct_addr *a, long msgid,
		    unsigned char netfn, unsigned char cmd, unsigned char *data,
		    unsigned short len)
{
	struct ipmi_req req;
	int rv;

	memset(&req, 0, sizeof(req));
	req.addr = (unsigned char *)a;
	req.addr_len = sizeof(*a);
	req.msgid = msgid;
	req.msg.netfn = netfn;
	req.msg.cmd = cmd;
	req.msg.data = data;
	req.msg.data_len = len;
	rv = ioctl(fd, IPMICTL_SEND_COMMAND, &req);
	if (name || rv < 0)
		printf("%-40s %s\n", name ? name : "  asked again", rv < 0 ? err_name(errno) : "ok");
	return rv;
}

struct got {
	int recv_type;
	struct ipmi_ipmb_direct_addr addr;
	long msgid;
	unsigned char netfn, cmd;
	unsigned char data[300];
	int len;
};

/* Waits up to MS milliseconds for one message and reads it; -1 if none. */
static int receive_within(int fd, struct got *g, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct ipmi_recv recv;
	unsigned char addr[sizeof(struct ipmi_addr)];

	if (poll(&p, 1, ms) != 1)
		return -1;
	memset(&recv, 0, sizeof(recv));
	memset(addr, 0, sizeof(addr));
	recv.addr = addr;
	recv.addr_len = sizeof(addr);
	recv.msg.data = g->data;
	recv.msg.data_len = sizeof(g->data);
	if (ioctl(fd, IPMICTL_RECEIVE_MSG_TRUNC, &recv) < 0) {
		printf("(receive: %s)\n", err_name(errno));
		return -1;
	}
	g->recv_type = recv.recv_type;
	memcpy(&g->addr, addr, sizeof(g->addr));
	g->msgid = recv.msgid;
	g->netfn = recv.msg.netfn;
	g->cmd = recv.msg.cmd;
	g->len = recv.msg.data_len;
	return 0;
}

/* Waits up to 5 s; says so when nothing came. */
static int receive(int fd, struct got *g)
{
	if (receive_within(fd, g, 5000) == 0)
		return 0;
	printf("(nothing to read within 5 s)\n");
	return -1;
}

static void show(const char *name, struct got *g)
{
	int i;

	printf("%-40s type %d addr %#x/%d sa %#x rs_lun %d rq_lun %d msgid %#lx netfn %#x cmd %#x:",
	       name, g->recv_type, g->addr.addr_type, g->addr.channel, g->addr.slave_addr,
	       g->addr.rs_lun, g->addr.rq_lun, g->msgid, g->netfn, g->cmd);
	for (i = 0; i < g->len && i < 24; i++)
		printf(" %02x", g->data[i]);
	if (g->len > 24)
		printf(" ... (%d bytes)", g->len);
	printf("\n");
}

/* Sends and prints the one answer. */
static void ask(int fd, const char *name, struct ipmi_ipmb_direct_addr a, long msgid,
		unsigned char netfn, unsigned char cmd, unsigned char *data, unsigned short len)
{
	struct got g;

	if (send_req(fd, name, &a, msgid, netfn, cmd, data, len) < 0)
		return;
	if (receive(fd, &g) < 0) {
		printf("%-40s no answer\n", name);
		return;
	}
	show(name, &g);
}

/*
 * What the controller last got from us (0x30/0x12). The handler sends its
 * answer to a command in its own time: asked again until there is one.
 */
static void peer_got(int fd, const char *name)
{
	struct ipmi_ipmb_direct_addr a = direct(PEER, 0, 0);
	struct got g;
	int tries;

	for (tries = 0; tries < 100; tries++) {
		if (send_req(fd, tries ? NULL : name, &a, 0x30, 0x30, 0x12, NULL, 0) < 0 ||
		    receive(fd, &g) < 0) {
			printf("%-40s no answer\n", name);
			return;
		}
		if (g.len > 1)
			break;
		usleep(20000);
	}
	show(name, &g);
}

int main(int argc, char **argv)
{
	static unsigned char big[270];
	unsigned char reply[2] = { 0x00, 0x42 };
	struct ipmi_ipmb_direct_addr a;
	struct ipmi_cmdspec_chans spec;
	struct got g1, g2, *rsp, *cmd;
	int fd, plain;

	const char *extra = argc == 4 ? argv[3] : "";

	if (argc != 3 && !(argc == 4 && (!strcmp(extra, "tiny") || !strcmp(extra, "stale")))) {
		fprintf(stderr, "usage: %s DIRECT_DEV PLAIN_DEV [tiny|stale]\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	plain = open(argv[2], O_RDWR);
	if (fd < 0 || plain < 0) {
		perror("open");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	a = direct(PEER, 0, 0);
	send_req(plain, "plain interface: direct address", &a, 1, 6, 1, NULL, 0);

	a = direct(PEER + 1, 0, 0);
	send_req(fd, "odd slave address", &a, 1, 6, 1, NULL, 0);
	a = direct(PEER, 4, 0);
	send_req(fd, "rs_lun 4", &a, 1, 6, 1, NULL, 0);
	a = direct(PEER, 0, 4);
	send_req(fd, "rq_lun 4", &a, 1, 6, 1, NULL, 0);
	a = direct(PEER, 0, 0);
	a.channel = 1;
	send_req(fd, "channel 1", &a, 1, 6, 1, NULL, 0);
	a = direct(PEER, 0, 0);
	send_req(fd, "response without completion code", &a, 1, 7, 1, NULL, 0);
	send_req(fd, "269 data bytes", &a, 1, 6, 1, big, 269);

	ask(fd, "get device id from 0x70", direct(PEER, 1, 2), 0x1234, 6, 1, NULL, 0);
	ask(fd, "get device id from 0x70, LUN 0", direct(PEER, 0, 0), 0x41, 6, 1, NULL, 0);
	ask(fd, "unknown command to 0x70", direct(PEER, 0, 0), 0x42, 0x30, 0x7f, NULL, 0);
	ask(fd, "get device id from absent 0x72", direct(ABSENT, 0, 0), 0x43, 6, 1, NULL, 0);
	ask(fd, "268 data bytes to absent 0x72", direct(ABSENT, 3, 1), 0x44, 0x2e, 0x01, big, 268);
	ask(fd, "0x74 answers without completion code", direct(0x74, 1, 2), 0x47, 6, 1, NULL, 0);
	if (!strcmp(extra, "tiny"))
		ask(fd, "0x76 answers one byte", direct(0x76, 1, 2), 0x48, 6, 1, NULL, 0);

	/* Nobody registered: the handler answers the command itself. */
	ask(fd, "0x70 sends a command, nobody takes it", direct(PEER, 0, 0), 0x45, 0x30, 0x10,
	    NULL, 0);
	peer_got(fd, "0x70 got from us");

	/* Registered: the command reaches us, and our response the peer. */
	memset(&spec, 0, sizeof(spec));
	spec.netfn = 0x30;
	spec.cmd = 0x11;
	spec.chans = 1;
	printf("%-40s %s\n", "register for 0x30/0x11 on channel 0",
	       ioctl(fd, IPMICTL_REGISTER_FOR_CMD_CHANS, &spec) < 0 ? err_name(errno) : "ok");
	a = direct(PEER, 0, 0);
	if (send_req(fd, "0x70 sends a command, we take it", &a, 0x46, 0x30, 0x10, NULL, 0) < 0)
		return 1;
	if (receive(fd, &g1) < 0) {
		printf("%-40s no answer\n", "the answer and the command");
		return 1;
	}
	if (receive(fd, &g2) < 0) {
		show("  one of them", &g1);
		printf("%-40s none\n", "  the other");
		return 1;
	}
	/* Either order: printed answer first. */
	rsp = g1.recv_type == IPMI_RESPONSE_RECV_TYPE ? &g1 : &g2;
	cmd = rsp == &g1 ? &g2 : &g1;
	show("  its answer", rsp);
	show("  the command", cmd);
	if (send_req(fd, "our response to it", &cmd->addr, cmd->msgid, cmd->netfn | 1, cmd->cmd,
		     reply, sizeof(reply)) == 0) {
		if (receive(fd, &g1) < 0)
			printf("%-40s no answer\n", "  its sending");
		else
			show("  its sending", &g1);
	}
	peer_got(fd, "0x70 got from us");

	if (!strcmp(extra, "stale")) {
		/* The same command, in a message with a stale first byte. */
		ask(fd, "0x70 sends it again, stale byte", direct(PEER, 0, 0), 0x49, 0x30, 0x13,
		    NULL, 0);
		if (receive_within(fd, &g1, 2000) < 0)
			printf("%-40s none within 2 s\n", "  the command");
		else
			show("  the command", &g1);
	}
	close(fd);
	close(plain);
	return 0;
}
