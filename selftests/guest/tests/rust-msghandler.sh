# SPDX-License-Identifier: GPL-2.0
# Our ipmi_msghandler (Rust) in place of upstream's, under upstream's C
# leaf modules of this kernel, unmodified: C ipmi_devintf and the C
# interface driver of the boot (ipmi_si or ipmi_ssif) load on it and the
# clients answer exactly what they answer over the all-C stack (the files
# c-baseline asserts). Then the all-Rust stack (our core, ipmi_devintf and
# ipmi_si; KCS and BT boots): the same answers. Last, as it changes the
# BMC's watchdog settings, upstream's ipmi_watchdog arms the BMC's
# watchdog through our core. Everything unloads in order, and the all-C
# stack is back at the end.

ko=$MODS/drivers/char/ipmi/msghandler/ipmi_msghandler.ko
tools=$REPO/target/selftests
work=$(mktemp -d)
# with_leaf CMD...: CMD loads the interface driver; /dev/ipmi0 must come
# (upstream's ipmi_ssif gets lib.sh's tries).
with_leaf() {
	if [ "$(si_driver)" = ipmi_ssif ]; then
		ssif_retry /dev/ipmi0 "$@"
	else
		"$@" && wait_for /dev/ipmi0 20
	fi
}

# The C stack, loaded again if an earlier test of the boot unloaded it
# (with_leaf's tries: upstream's ipmi_ssif against ipmi_sim).
if ! { grep -q "^$(si_driver) " /proc/modules && [ -e /dev/ipmi0 ]; }; then
	tap_run "C stack loads over $INTF ($(si_driver))" with_leaf load_c_stack || return 0
fi
rust_si=0
[ "$(si_driver)" = ipmi_si ] && rust_si=1
if [ $rust_si = 1 ]; then
	n=41
	[ "$BMC" = ipmi_sim ] && n=46
else
	n=27
	[ "$BMC" = ipmi_sim ] && n=31
fi
tap_expect $n

# The handler's attributes on the interface's device, with one user.
handler_attrs() {
	local d=/sys/class/ipmi/ipmi0/device a fd
	exec {fd}<>/dev/ipmi0
	for a in nr_users nr_msgs maintenance_mode; do
		echo "$a: $(cat "$d/$a")"
	done
	exec {fd}>&-
}
handler_attrs >"$work/c-attrs.txt"

bmc_facts >"$work/c-bmc.txt"

# absent STACK: Get Device ID to 0x40 on ipmi_sim's IPMB, where nobody
# answers, 2 retries 500 ms apart: the handler answers 0xc3 itself; the
# time goes to bridged-timeout.txt. Ours must take 1.5 s (three sends of
# 500 ms each) within 0.3 s; upstream ticks once a second.
absent_target() {
	local out secs
	out=$("$tools/ipmi-stress" absent 0x40 2 500) || { echo "$out"; return 1; }
	echo "$out"
	echo "$1: $out" >>"$OUT/bridged-timeout.txt"
	grep -q '^absent: completion code 0xc3 after ' <<<"$out" || return 1
	[ "$1" = upstream ] && return 0
	secs=$(sed -n 's/^absent: completion code 0xc3 after \([0-9.]*\) s.*/\1/p' <<<"$out")
	awk -v s="$secs" 'BEGIN { exit !(s >= 1.4 && s <= 1.8) }'
}
if [ "$BMC" = ipmi_sim ]; then
	: >"$OUT/bridged-timeout.txt"
	tap_run "upstream's stack: an absent IPMB target ends in 0xc3 (time in bridged-timeout.txt)" \
		absent_target upstream
fi

tap_run "the all-C stack unloads" unload_all

# Our core, then upstream's devintf and interface driver on it.
load_core_under_c() {
	local mark
	mark=$(kmsg_mark)
	insmod "$ko" && insmod "$(cko ipmi_devintf)" && with_leaf insmod "$(cko "$(si_driver)")" ||
		{ kmsg_since "$mark"; return 1; }
	# The handler is ours (out of tree: taint O), the leaves upstream's.
	grep -q O /sys/module/ipmi_msghandler/taint &&
		! grep -q O "/sys/module/$(si_driver)/taint" &&
		! grep -q O /sys/module/ipmi_devintf/taint
}
tap_run "our core loads; upstream's ipmi_devintf and $(si_driver) register on it" load_core_under_c

# /dev/ipmi0 is upstream's devintf's node for interface 0 (the watcher
# told it of the interface).
node_is_devintfs() {
	[ -c /dev/ipmi0 ] && [ "$(cat /sys/class/ipmi/ipmi0/dev)" = "$(stat -c '%Hr:%Lr' /dev/ipmi0)" ]
}
tap_run "our core: /dev/ipmi0 made by upstream's devintf through the watcher" node_is_devintfs

same_attrs() {
	handler_attrs >"$work/rust-attrs.txt"
	cat "$work/rust-attrs.txt"
	diff -u "$work/c-attrs.txt" "$work/rust-attrs.txt"
}
tap_run "our core: nr_users, nr_msgs, maintenance_mode read as upstream's (one user)" same_attrs

same_bmc() {
	bmc_facts >"$work/rust-bmc.txt" || return 1
	cat "$work/rust-bmc.txt"
	diff -u "$work/c-bmc.txt" "$work/rust-bmc.txt"
}
tap_run "our core: the BMC device ipmi_bmc.N, its links and attributes as upstream's" same_bmc

client_battery "our core under C leaves: "
tap_run "our core under C leaves: an unknown command fails with the BMC's 0xc1" raw_invalid
# Every ioctl through upstream's devintf, error paths included: the same
# answers over our handler as recorded over upstream's (abi.sh).
client_answers "our core under C leaves: ipmi-abi (x86-64) answers as over upstream's handler" abi "$tools/ipmi-abi"
client_answers "our core under C leaves: ipmi-abi (i386, compat) answers as over upstream's handler" abi "$tools/ipmi-abi32"

# counter NAME: that counter of interface 0 in our debugfs file.
counter() {
	sed -n "s/^$1: //p" /sys/kernel/debug/ipmi_msghandler/intf0
}
debugfs_counts() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug || return 1
	cat /sys/kernel/debug/ipmi_msghandler/intf0 || return 1
	[ "$(counter sent_local_commands)" -gt 0 ] && [ "$(counter handled_local_responses)" -gt 0 ] &&
		[ "$(counter malformed_responses)" = 0 ] || return 1
	[ "$BMC" = ipmi_sim ] || return 0
	# The bridged mc info went out over IPMB and its answer came back.
	[ "$(counter sent_ipmb_commands)" -gt 0 ] && [ "$(counter handled_bridged_responses)" -gt 0 ]
}
tap_run "our core: debugfs counts the requests and answers" debugfs_counts
if [ "$BMC" = ipmi_sim ]; then
	tap_run "our core: an absent IPMB target ends in 0xc3 after 2 retries of 500 ms: 1.5 s" \
		absent_target "our core"
	tap_run "our core: debugfs counted the retries and the timeout" sh -c \
		'f=/sys/kernel/debug/ipmi_msghandler/intf0; cat $f;
		 [ "$(sed -n "s/^retransmitted_bridged_commands: //p" $f)" -ge 2 ] &&
		 [ "$(sed -n "s/^timed_out_bridged_commands: //p" $f)" -ge 1 ]'
fi

# The interface taken away under 4 clients with requests in flight (its
# device unbound from the driver) and given back, 3 times: the clients get
# errors, never a hang; the interface comes back and answers; nothing is
# left holding the driver (it unloads after).
unbind_under_load() {
	local dev name driver i pid rc=0
	dev=$(readlink -f /sys/class/ipmi/ipmi0/device)
	name=$(basename "$dev")
	driver=$(readlink -f "$dev/driver")
	"$tools/ipmi-stress" clients 4 5 >"$work/unbind.txt" 2>&1 &
	pid=$!
	for i in 1 2 3; do
		sleep 0.5
		echo "$name" >"$driver/unbind" && [ ! -e /dev/ipmi0 ] || { rc=1; break; }
		echo "$name" >"$driver/bind" && wait_for /dev/ipmi0 15 || { rc=1; break; }
	done
	wait "$pid"
	echo "$i unbind/bind cycles; the clients said:"
	tail -3 "$work/unbind.txt"
	[ $rc = 0 ] && ipmitool -I open mc info | grep -q '^Device ID'
}
if [ $rust_si = 1 ]; then
	tap_run "our core under C leaves: the interface unbound and bound 3 times under 4 clients" unbind_under_load
	tap_run "our core under C leaves: a request in flight left nothing behind (0 in flight)" \
		sh -c '[ "$(sed -n "s/^bridged_in_flight: //p" /sys/kernel/debug/ipmi_msghandler/intf0)" = 0 ]'
fi

# Unloads leaves then core; the core counts the messages it made and
# logs any not freed when it goes: none may be.
unload_core() {
	local mark
	mark=$(kmsg_mark)
	rmmod "$(si_driver)" && [ ! -e /dev/ipmi0 ] && rmmod ipmi_devintf && rmmod ipmi_msghandler || return 1
	! kmsg_since "$mark" | grep 'messages in use'
}
tap_run "leaves then our core unload in order" unload_core

# unload_core with clients starting and ending all the while: each
# module is unloaded as soon as no open file holds it.
unload_core_under_load() {
	local pid m i rc=0
	(while :; do ipmitool -I open mc info >/dev/null 2>&1; done) &
	pid=$!
	sleep 1
	for m in "$(si_driver)" ipmi_devintf; do
		for i in $(seq 100); do
			rmmod "$m" 2>/dev/null && break
			sleep 0.05
		done
		grep -q "^$m " /proc/modules && { echo "$m would not unload"; rc=1; }
	done
	kill "$pid"
	wait "$pid" 2>/dev/null
	[ $rc = 0 ] || return 1
	local mark
	mark=$(kmsg_mark)
	rmmod ipmi_msghandler || return 1
	! kmsg_since "$mark" | grep 'messages in use'
}

load_all_rust() {
	insmod "$ko" && insmod "$(rust_devintf_ko)" && insmod "$(rust_si_ko)" &&
		wait_for /dev/ipmi0 20 || return 1
	local m
	for m in ipmi_msghandler ipmi_devintf ipmi_si; do
		grep -q O "/sys/module/$m/taint" || { echo "$m is not ours"; return 1; }
	done
}
if [ $rust_si = 1 ]; then
	tap_run "all-Rust: our core, ipmi_devintf and ipmi_si load" load_all_rust
	client_battery "all-Rust: "
	tap_run "all-Rust: an unknown command fails with the BMC's 0xc1" raw_invalid
	client_answers "all-Rust: ipmi-abi (x86-64) answers as upstream's stack" abi "$tools/ipmi-abi"
	client_answers "all-Rust: ipmi-abi (i386, compat) answers as upstream's stack" abi "$tools/ipmi-abi32"
	tap_run "all-Rust: the interface unbound and bound 3 times under 4 clients" unbind_under_load
	tap_run "all-Rust: ipmitool mc info after the cycles" sh -c 'ipmitool -I open mc info | grep -q "^Device ID"'
	inkernel_watchdog "all-Rust: upstream's "
	tap_run "all-Rust: unloads in order under a running client" unload_core_under_load
else
	tap_run "our core under C leaves again" load_core_under_c
	inkernel_watchdog "our core under C leaves: "
	tap_run "leaves then our core unload in order, again" unload_core
fi

tap_run "no IPMI module left loaded" unload_all
tap_run "the all-C stack loads again" with_leaf load_c_stack
rm -rf "$work"
