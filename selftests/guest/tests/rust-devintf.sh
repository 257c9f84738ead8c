# SPDX-License-Identifier: GPL-2.0
# Our ipmi_devintf (Rust) in place of upstream's, in the same boot, over
# the C ipmi_msghandler and the C interface driver: the node as upstream
# makes it, the clients' answers and the ioctl ABI exactly as recorded from
# upstream's module (the same expected files c-baseline and abi assert),
# then concurrency and lifetime. It leaves upstream's devintf loaded again,
# and (except on the debug kernel) upstream's ipmi_si impossible to unload:
# nothing may unload ipmi_si after it in a boot (see unload_under_load).

ko=$(rust_devintf_ko)
tools=$REPO/target/selftests
work=$(mktemp -d)
ensure_c_stack || return 0
# The interface removal (2 results) runs on the guest kernel only: see
# unload_under_load.
removal=1
[ -e /proc/lockdep ] && removal=0
n=$((19 + 2 * removal))
[ "$BMC" = ipmi_sim ] && n=$((n + 1))
tap_expect $n

# What upstream's module makes, to hold ours against: node mode and type,
# class device, parent.
node_facts() {
	stat -c '%F %a %U' /dev/ipmi0
	readlink -f /sys/class/ipmi/ipmi0/device
	cat /sys/class/ipmi/ipmi0/uevent | grep -v '^MAJOR='
	grep -c ' ipmidev$' /proc/devices
}
node_facts >"$work/c-node.txt"
# Upstream's answer to a receive whose copy fails, for comparison below.
"$tools/ipmi-stress" efault >"$work/c-efault.txt" 2>&1

swap_to_rust() {
	use_devintf rust && grep -q '^ipmi_devintf ' /proc/modules &&
		[ "$(modinfo -F filename "$ko")" = "$ko" ]
}
tap_run "our ipmi_devintf replaces upstream's and makes /dev/ipmi0" swap_to_rust

same_node() {
	node_facts >"$work/rust-node.txt"
	cat "$work/rust-node.txt"
	diff -u "$work/c-node.txt" "$work/rust-node.txt"
}
tap_run "the node as upstream's: char device 600 root, class ipmi, same parent, ipmidev" same_node

client_battery "ours: "
client_answers "ours: ipmi-abi (x86-64): every ioctl answers as upstream's" abi "$tools/ipmi-abi"
client_answers "ours: ipmi-abi (i386, compat ioctls): every ioctl answers as upstream's" abi "$tools/ipmi-abi32"

tap_run "ours: ipmitool raw 0x06 0x01" raw_get_device_id
tap_run "ours: an invalid command ends in completion code 0xc1" raw_invalid

tap_run "ours: poll, select, epoll time out idle, wake on an answer; one SIGIO" \
	"$tools/ipmi-stress" wait
# Upstream's handler allows 30 users per interface (max_users): raised
# for this test, so that 64 files can be open at once. A minute on QEMU's
# BMC over KCS, 10 s on the other boots and on the debug kernel (the one
# with /proc/lockdep).
secs=10
[ "$BMC/$INTF" = sim/kcs ] && [ ! -e /proc/lockdep ] && secs=60
many_clients() {
	local max rc=0
	max=$(cat /sys/module/ipmi_msghandler/parameters/max_users)
	echo 80 >/sys/module/ipmi_msghandler/parameters/max_users
	"$tools/ipmi-stress" clients 64 "$secs" || rc=$?
	echo "$max" >/sys/module/ipmi_msghandler/parameters/max_users
	return $rc
}
tap_run "ours: 64 concurrent clients for $secs s, every answer to its own request" many_clients
# 10000 opens; 2000 on the debug kernel, where each costs about 20 ms.
opens=10000
[ -e /proc/lockdep ] && opens=2000
tap_run "ours: open and close $opens times" "$tools/ipmi-stress" openclose "$opens"

# A receive whose copy to user memory fails: upstream's devintf puts the
# message back truncated to the caller's 2 bytes; ours leaves it whole.
efault_loses_nothing() {
	"$tools/ipmi-stress" efault >"$work/rust-efault.txt" 2>&1
	cat "$work/c-efault.txt" "$work/rust-efault.txt"
	grep -qx 'efault: after EFAULT the message is still there: msgid 9, 2 body bytes' \
		"$work/c-efault.txt" &&
		grep -qE '^efault: after EFAULT the message is still there: msgid 9, (1[0-9]|[2-9][0-9]) body bytes$' \
			"$work/rust-efault.txt"
}
tap_run "ours: a failed copy-out loses nothing (upstream's keeps 2 of the answer's bytes)" \
	efault_loses_nothing

# modinfo: the same parameters (name and type) and aliases as upstream's.
mod_face() {
	modinfo -F parm "$1" | sed -E 's/^([^:]*):.*\((.*)\)$/\1 \2/' | sort
	modinfo -F alias "$1" | sort
	modinfo -F softdep "$1"
}
same_modinfo() {
	mod_face "$(cko ipmi_devintf)" >"$work/c-modinfo.txt"
	mod_face "$ko" >"$work/rust-modinfo.txt"
	cat "$work/rust-modinfo.txt"
	diff -u "$work/c-modinfo.txt" "$work/rust-modinfo.txt" && [ -s "$work/rust-modinfo.txt" ]
}
tap_run "ours: modinfo gives upstream's parameters and aliases" same_modinfo

# The interface goes (hotmod remove) while a client has requests in
# flight: the client is woken at once with EPOLLHUP | EPOLLERR and its
# next ioctl fails, and /dev/ipmi0 goes with the interface. (Upstream's
# devintf leaves it asleep until its own timeout: 15 s for ipmitool.)
# Neither module can be unloaded while the file is open: each holds a
# reference, as upstream's do.
#
# Upstream's C handler and ipmi_si lose a request that is in flight at
# the removal: its user, and with it a reference to ipmi_si, is never
# freed, so ipmi_si cannot be unloaded for the rest of the boot (the same
# with upstream's devintf: seen in this suite; theirs to fix, and ours
# to beat when our ipmi_si and ipmi_msghandler replace them). So nothing
# unloads ipmi_si after this in a boot, and it does not run on the debug
# kernel, whose leak check would report their leak.
unload_under_load() {
	local pid params rc=0 t0
	params=$(cat /sys/class/ipmi/ipmi0/device/params) || return 1
	echo "$params" >"$work/si-params"
	"$tools/ipmi-stress" inflight 60 >"$work/inflight.txt" 2>&1 &
	pid=$!
	sleep 2
	if rmmod ipmi_devintf 2>/dev/null; then
		echo "ipmi_devintf unloaded with a file open"
		rc=1
	elif rmmod "$(si_driver)" 2>/dev/null; then
		echo "$(si_driver) unloaded with a file open"
		rc=1
	else
		t0=$(date +%s)
		echo "remove,$params" >/sys/module/ipmi_si/parameters/hotmod || rc=1
	fi
	# Bounded: the client ends by itself within 60 s at worst.
	wait "$pid" || rc=1
	cat "$work/inflight.txt"
	echo "client ended $(($(date +%s) - ${t0:-0})) s after the removal"
	# Whether a request was in flight at that moment is a race: woken in
	# poll by the hang-up, or refused at its next send, the client must
	# end with an error within 2 s.
	grep "^$(si_driver) " /proc/modules
	[ $rc = 0 ] && grep -q 'failed with' "$work/inflight.txt" && [ ! -e /dev/ipmi0 ] &&
		[ $(($(date +%s) - t0)) -le 2 ]
}
readd_si() {
	echo "add,$(cat "$work/si-params")" >/sys/module/ipmi_si/parameters/hotmod &&
		wait_for /dev/ipmi0 15 && ipmitool -I open mc info >/dev/null
}
if [ $removal = 1 ]; then
	tap_run "ours: the interface goes under a client with requests in flight; it is woken with an error" \
		unload_under_load
	tap_run "ours: the interface comes back (hotmod add) and /dev/ipmi0 with it" readd_si
fi

tap_run "upstream's ipmi_devintf back in place" use_devintf c
rm -rf "$work"
