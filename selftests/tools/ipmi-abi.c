// SPDX-License-Identifier: GPL-2.0
/*
 * ipmi-abi: drives every ioctl of /dev/ipmiN (include/uapi/linux/ipmi.h),
 * its error paths included, and prints one line per case with what the
 * kernel answered. The same source is built for x86-64 and for i386, which
 * goes through the driver's 32-bit compat path: both builds must print the
 * same lines, and those lines must equal the answers recorded from
 * upstream's C ipmi_devintf (selftests/expected/<bmc>/abi.txt).
 *
 * Only the ioctl ABI is checked here: message contents are the clients'
 * business (selftests/guest/tests/c-baseline.sh).
 *
 * Usage: ipmi-abi [/dev/ipmi0]
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

/* An address the kernel cannot read. */
#define BAD_PTR ((void *)16)
/* What an output argument holds before the call: printed only if unwritten. */
#define UNWRITTEN 0xeeeeeeeeu

static int dev;

static const char *err_name(int err)
{
	static char other[32];

	switch (err) {
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case EMSGSIZE: return "EMSGSIZE";
	case EAGAIN: return "EAGAIN";
	case EBUSY: return "EBUSY";
	case ENOENT: return "ENOENT";
	case ENOTTY: return "ENOTTY";
	case ENODEV: return "ENODEV";
	case EIO: return "EIO";
	case EPERM: return "EPERM";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	}
	snprintf(other, sizeof(other), "errno %d", err);
	return other;
}

/* Prints "<case>: ok" or "<case>: <ERRNO>", then any detail. */
static int report(const char *name, int rv, const char *detail)
{
	printf("%-44s %s%s%s\n", name, rv < 0 ? err_name(errno) : "ok",
	       detail ? " " : "", detail ? detail : "");
	return rv;
}

static struct ipmi_system_interface_addr bmc_addr = {
	.addr_type = IPMI_SYSTEM_INTERFACE_ADDR_TYPE,
	.channel = IPMI_BMC_CHANNEL,
	.lun = 0,
};

/* A request for Get Device ID to the BMC, with the given message id. */
static struct ipmi_req get_device_id(long msgid)
{
	struct ipmi_req req = {
		.addr = (unsigned char *)&bmc_addr,
		.addr_len = sizeof(bmc_addr),
		.msgid = msgid,
		.msg = { .netfn = IPMI_NETFN_APP_REQUEST, .cmd = 0x01 },
	};
	return req;
}

/* What poll() reports, after waiting up to ms milliseconds. */
static const char *poll_state(int ms)
{
	static char state[32];
	struct pollfd pfd = { .fd = dev, .events = POLLIN | POLLRDNORM | POLLOUT | POLLPRI };
	int n = poll(&pfd, 1, ms);

	if (n < 0)
		return "poll failed";
	snprintf(state, sizeof(state), "ready=%d revents=%#x", n, pfd.revents);
	return state;
}

static int receive(const char *name, unsigned long cmd, unsigned short data_len,
		   unsigned int addr_len)
{
	struct ipmi_addr addr;
	unsigned char data[512];
	/* Only what the kernel wrote may differ from these patterns. */
	memset(&addr, 0xee, sizeof(addr));
	struct ipmi_recv recv = {
		.addr = (unsigned char *)&addr,
		.addr_len = addr_len,
		.msg = { .data = data, .data_len = data_len },
	};
	char detail[160];
	int rv;

	memset(data, 0xee, sizeof(data));
	rv = ioctl(dev, cmd, &recv);
	snprintf(detail, sizeof(detail),
		 "recv_type=%d msgid=%ld addr_type=%#x addr_len=%u netfn=%#x cmd=%#x data_len=%u cc=%#x",
		 recv.recv_type, (long)recv.msgid, recv.recv_type ? addr.addr_type : 0,
		 recv.addr_len, recv.msg.netfn, recv.msg.cmd, recv.msg.data_len, data[0]);
	return report(name, rv, detail);
}

static void send_and_receive(void)
{
	struct ipmi_req req = get_device_id(0x1234);
	struct ipmi_req_settime st = { .req = get_device_id(0x5678), .retries = 1,
				       .retry_time_ms = 500 };

	report("SEND_COMMAND Get Device ID", ioctl(dev, IPMICTL_SEND_COMMAND, &req), NULL);
	report("poll after a send", 0, poll_state(5000));
	/* Too small: refused, the message stays queued, the struct is not copied. */
	receive("RECEIVE_MSG, 2-byte buffer", IPMICTL_RECEIVE_MSG, 2, sizeof(struct ipmi_addr));
	/* Address buffer too small: refused, the message stays queued. */
	receive("RECEIVE_MSG, 4-byte address", IPMICTL_RECEIVE_MSG, 512, 4);
	/* Truncated: consumed, copied out, EMSGSIZE all the same. */
	receive("RECEIVE_MSG_TRUNC, 2-byte buffer", IPMICTL_RECEIVE_MSG_TRUNC, 2,
		sizeof(struct ipmi_addr));
	report("poll with the queue empty", 0, poll_state(0));
	receive("RECEIVE_MSG, queue empty", IPMICTL_RECEIVE_MSG, 512, sizeof(struct ipmi_addr));

	report("SEND_COMMAND_SETTIME Get Device ID",
	       ioctl(dev, IPMICTL_SEND_COMMAND_SETTIME, &st), NULL);
	report("poll after a timed send", 0, poll_state(5000));
	receive("RECEIVE_MSG, full buffer", IPMICTL_RECEIVE_MSG, 512, sizeof(struct ipmi_addr));
}

static void send_errors(void)
{
	unsigned char big[300] = { 0 };
	struct ipmi_system_interface_addr wrong_channel = bmc_addr;
	struct ipmi_ipmb_addr ipmb = { .addr_type = IPMI_IPMB_ADDR_TYPE, .channel = 0,
				       .slave_addr = 0x30 };
	struct ipmi_req req;

	report("SEND_COMMAND, NULL argument", ioctl(dev, IPMICTL_SEND_COMMAND, NULL), NULL);
	report("SEND_COMMAND_SETTIME, NULL argument",
	       ioctl(dev, IPMICTL_SEND_COMMAND_SETTIME, NULL), NULL);

	req = get_device_id(1);
	req.addr = BAD_PTR;
	report("SEND_COMMAND, unreadable address", ioctl(dev, IPMICTL_SEND_COMMAND, &req), NULL);

	req = get_device_id(1);
	req.addr_len = sizeof(struct ipmi_addr) + 1;
	report("SEND_COMMAND, addr_len 41", ioctl(dev, IPMICTL_SEND_COMMAND, &req), NULL);

	req = get_device_id(1);
	req.addr_len = 4;
	report("SEND_COMMAND, addr_len 4", ioctl(dev, IPMICTL_SEND_COMMAND, &req), NULL);

	wrong_channel.channel = 0;
	req = get_device_id(1);
	req.addr = (unsigned char *)&wrong_channel;
	report("SEND_COMMAND, system interface on channel 0",
	       ioctl(dev, IPMICTL_SEND_COMMAND, &req), NULL);

	req = get_device_id(1);
	ipmb.channel = 15;
	req.addr = (unsigned char *)&ipmb;
	req.addr_len = sizeof(ipmb);
	report("SEND_COMMAND, IPMB on channel 15", ioctl(dev, IPMICTL_SEND_COMMAND, &req), NULL);

	req = get_device_id(1);
	req.msg.data = big;
	req.msg.data_len = sizeof(big);
	report("SEND_COMMAND, 300 data bytes", ioctl(dev, IPMICTL_SEND_COMMAND, &req), NULL);

	req = get_device_id(1);
	req.msg.data = BAD_PTR;
	req.msg.data_len = 4;
	report("SEND_COMMAND, unreadable data", ioctl(dev, IPMICTL_SEND_COMMAND, &req), NULL);

	req = get_device_id(1);
	req.msg.netfn = IPMI_NETFN_APP_RESPONSE;
	report("SEND_COMMAND, response netfn to the BMC",
	       ioctl(dev, IPMICTL_SEND_COMMAND, &req), NULL);

	req = get_device_id(1);
	req.msg.cmd = 0x34; /* Send Message: the handler's own business */
	report("SEND_COMMAND, App Send Message to the BMC",
	       ioctl(dev, IPMICTL_SEND_COMMAND, &req), NULL);

	report("poll after refused sends", 0, poll_state(200));
}

static void addresses_and_luns(void)
{
	struct ipmi_channel_lun_address_set set;
	unsigned int value;
	char detail[32];
	int rv;

	value = UNWRITTEN;
	rv = ioctl(dev, IPMICTL_GET_MY_ADDRESS_CMD, &value);
	snprintf(detail, sizeof(detail), "%#x", value);
	report("GET_MY_ADDRESS", rv, detail);
	value = 0x20;
	report("SET_MY_ADDRESS 0x20", ioctl(dev, IPMICTL_SET_MY_ADDRESS_CMD, &value), NULL);
	report("SET_MY_ADDRESS, NULL", ioctl(dev, IPMICTL_SET_MY_ADDRESS_CMD, NULL), NULL);

	value = UNWRITTEN;
	rv = ioctl(dev, IPMICTL_GET_MY_LUN_CMD, &value);
	snprintf(detail, sizeof(detail), "%u", value);
	report("GET_MY_LUN", rv, detail);
	value = 6; /* kept as 6 & 3 */
	report("SET_MY_LUN 6", ioctl(dev, IPMICTL_SET_MY_LUN_CMD, &value), NULL);
	value = UNWRITTEN;
	rv = ioctl(dev, IPMICTL_GET_MY_LUN_CMD, &value);
	snprintf(detail, sizeof(detail), "%u", value);
	report("GET_MY_LUN after setting 6", rv, detail);
	value = 2;
	report("SET_MY_LUN 2", ioctl(dev, IPMICTL_SET_MY_LUN_CMD, &value), NULL);

	set = (struct ipmi_channel_lun_address_set){ .channel = 0, .value = 0x22 };
	report("SET_MY_CHANNEL_ADDRESS 0 0x22",
	       ioctl(dev, IPMICTL_SET_MY_CHANNEL_ADDRESS_CMD, &set), NULL);
	set = (struct ipmi_channel_lun_address_set){ .channel = 0, .value = 0xee };
	rv = ioctl(dev, IPMICTL_GET_MY_CHANNEL_ADDRESS_CMD, &set);
	snprintf(detail, sizeof(detail), "%#x", set.value);
	report("GET_MY_CHANNEL_ADDRESS 0", rv, detail);
	set = (struct ipmi_channel_lun_address_set){ .channel = 0, .value = 0x20 };
	report("SET_MY_CHANNEL_ADDRESS 0 0x20",
	       ioctl(dev, IPMICTL_SET_MY_CHANNEL_ADDRESS_CMD, &set), NULL);
	set = (struct ipmi_channel_lun_address_set){ .channel = 16, .value = 0x20 };
	report("SET_MY_CHANNEL_ADDRESS 16",
	       ioctl(dev, IPMICTL_SET_MY_CHANNEL_ADDRESS_CMD, &set), NULL);
	set = (struct ipmi_channel_lun_address_set){ .channel = 16 };
	report("GET_MY_CHANNEL_ADDRESS 16",
	       ioctl(dev, IPMICTL_GET_MY_CHANNEL_ADDRESS_CMD, &set), NULL);
	set = (struct ipmi_channel_lun_address_set){ .channel = 1, .value = 1 };
	report("SET_MY_CHANNEL_LUN 1 1", ioctl(dev, IPMICTL_SET_MY_CHANNEL_LUN_CMD, &set), NULL);
	set = (struct ipmi_channel_lun_address_set){ .channel = 1, .value = 0xee };
	rv = ioctl(dev, IPMICTL_GET_MY_CHANNEL_LUN_CMD, &set);
	snprintf(detail, sizeof(detail), "%u", set.value);
	report("GET_MY_CHANNEL_LUN 1", rv, detail);
	set = (struct ipmi_channel_lun_address_set){ .channel = 16, .value = 1 };
	report("SET_MY_CHANNEL_LUN 16", ioctl(dev, IPMICTL_SET_MY_CHANNEL_LUN_CMD, &set), NULL);
	report("GET_MY_CHANNEL_LUN, unreadable argument",
	       ioctl(dev, IPMICTL_GET_MY_CHANNEL_LUN_CMD, BAD_PTR), NULL);
}

static void timing_and_events(void)
{
	struct ipmi_timing_parms parms = { .retries = -2, .retry_time_ms = UNWRITTEN };
	char detail[48];
	int on, rv;

	rv = ioctl(dev, IPMICTL_GET_TIMING_PARMS_CMD, &parms);
	snprintf(detail, sizeof(detail), "retries=%d retry_time_ms=%u", parms.retries,
		 parms.retry_time_ms);
	report("GET_TIMING_PARMS (defaults)", rv, detail);
	parms = (struct ipmi_timing_parms){ .retries = 3, .retry_time_ms = 1500 };
	report("SET_TIMING_PARMS 3 1500", ioctl(dev, IPMICTL_SET_TIMING_PARMS_CMD, &parms), NULL);
	parms = (struct ipmi_timing_parms){ .retries = -2, .retry_time_ms = UNWRITTEN };
	rv = ioctl(dev, IPMICTL_GET_TIMING_PARMS_CMD, &parms);
	snprintf(detail, sizeof(detail), "retries=%d retry_time_ms=%u", parms.retries,
		 parms.retry_time_ms);
	report("GET_TIMING_PARMS", rv, detail);
	report("SET_TIMING_PARMS, NULL", ioctl(dev, IPMICTL_SET_TIMING_PARMS_CMD, NULL), NULL);

	on = 1;
	report("SET_GETS_EVENTS 1", ioctl(dev, IPMICTL_SET_GETS_EVENTS_CMD, &on), NULL);
	on = 0;
	report("SET_GETS_EVENTS 0", ioctl(dev, IPMICTL_SET_GETS_EVENTS_CMD, &on), NULL);
	report("SET_GETS_EVENTS, NULL", ioctl(dev, IPMICTL_SET_GETS_EVENTS_CMD, NULL), NULL);
}

static void command_receivers(void)
{
	struct ipmi_cmdspec spec = { .netfn = 0x30, .cmd = 0x01 };
	struct ipmi_cmdspec_chans chans = { .netfn = 0x30, .cmd = 0x02, .chans = IPMI_CHAN_ALL };
	int other = open("/dev/ipmi0", O_RDWR);

	report("REGISTER_FOR_CMD 0x30/0x01", ioctl(dev, IPMICTL_REGISTER_FOR_CMD, &spec), NULL);
	report("REGISTER_FOR_CMD again", ioctl(dev, IPMICTL_REGISTER_FOR_CMD, &spec), NULL);
	report("REGISTER_FOR_CMD from another open file",
	       ioctl(other, IPMICTL_REGISTER_FOR_CMD, &spec), NULL);
	report("UNREGISTER_FOR_CMD from another open file",
	       ioctl(other, IPMICTL_UNREGISTER_FOR_CMD, &spec), NULL);
	report("UNREGISTER_FOR_CMD", ioctl(dev, IPMICTL_UNREGISTER_FOR_CMD, &spec), NULL);
	report("UNREGISTER_FOR_CMD again", ioctl(dev, IPMICTL_UNREGISTER_FOR_CMD, &spec), NULL);
	report("REGISTER_FOR_CMD, NULL", ioctl(dev, IPMICTL_REGISTER_FOR_CMD, NULL), NULL);

	report("REGISTER_FOR_CMD_CHANS 0x30/0x02 all",
	       ioctl(dev, IPMICTL_REGISTER_FOR_CMD_CHANS, &chans), NULL);
	report("REGISTER_FOR_CMD_CHANS again",
	       ioctl(dev, IPMICTL_REGISTER_FOR_CMD_CHANS, &chans), NULL);
	report("UNREGISTER_FOR_CMD_CHANS",
	       ioctl(dev, IPMICTL_UNREGISTER_FOR_CMD_CHANS, &chans), NULL);
	chans.netfn = 0x40; /* not a netfn */
	report("REGISTER_FOR_CMD_CHANS netfn 0x40",
	       ioctl(dev, IPMICTL_REGISTER_FOR_CMD_CHANS, &chans), NULL);
	if (other >= 0)
		close(other);
}

/* GET_MAINTENANCE_MODE, reported as NAME with the mode it read. */
static void report_maintenance_mode(const char *name)
{
	char detail[16];
	int mode = -1, rv;

	rv = ioctl(dev, IPMICTL_GET_MAINTENANCE_MODE_CMD, &mode);
	snprintf(detail, sizeof(detail), "%d", mode);
	report(name, rv, detail);
}

/* SET_MAINTENANCE_MODE to MODE, reported as NAME. */
static void set_maintenance_mode(const char *name, int mode)
{
	report(name, ioctl(dev, IPMICTL_SET_MAINTENANCE_MODE_CMD, &mode), NULL);
}

static void maintenance_and_unknown(void)
{
	char detail[16];

	report_maintenance_mode("GET_MAINTENANCE_MODE");
	set_maintenance_mode("SET_MAINTENANCE_MODE 3", 3);
	set_maintenance_mode("SET_MAINTENANCE_MODE 2 (on)", 2);
	report_maintenance_mode("GET_MAINTENANCE_MODE after on");
	set_maintenance_mode("SET_MAINTENANCE_MODE 0 (auto, from on)", 0);
	report_maintenance_mode("GET_MAINTENANCE_MODE after auto from on");
	/*
	 * Upstream's "auto" keeps the state "on" left (and arms no timeout), so
	 * the interface would stay in maintenance mode, where the handler
	 * refuses to refresh the BMC's device ID (-EBUSY) and in-kernel users
	 * loaded later misread the BMC. Switch it off, then back to auto, the
	 * mode this test found (it runs twice per boot, 64- and 32-bit).
	 */
	set_maintenance_mode("SET_MAINTENANCE_MODE 1 (off)", 1);
	report_maintenance_mode("GET_MAINTENANCE_MODE after off");
	set_maintenance_mode("SET_MAINTENANCE_MODE 0 (auto, from off)", 0);
	report_maintenance_mode("GET_MAINTENANCE_MODE after auto from off");

	report("unknown ioctl 'i' 99", ioctl(dev, _IO(IPMI_IOC_MAGIC, 99), 0), NULL);
	report("unknown ioctl 'x' 1", ioctl(dev, _IO('x', 1), 0), NULL);
	report("read()", (int)read(dev, detail, sizeof(detail)), NULL);
	report("write()", (int)write(dev, "x", 1), NULL);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/ipmi0";

	setvbuf(stdout, NULL, _IOLBF, 0);
	dev = open(path, O_RDWR);
	if (report("open", dev, NULL) < 0)
		return 1;
	send_and_receive();
	send_errors();
	addresses_and_luns();
	timing_and_events();
	command_receivers();
	maintenance_and_unknown();
	report("close", close(dev), NULL);
	return 0;
}
