# SPDX-License-Identifier: GPL-2.0
# A user registered for a command closes its file without unregistering:
# the handler must then stop asking the interface to watch for commands.
# Seen through our ipmi_si's tick on a polled interface (its
# timer_wakeups; --intf kcs-noirq): under upstream's ipmi_msghandler the
# 10 ms tick goes on after the close, for as long as the interface lives
# (upstream weak point: destroying a user frees its command receivers
# without taking their watch back; asserted as its behaviour); under
# ours it stops. Leaves upstream's stack loaded.

tools=$REPO/target/selftests
tap_expect 3

# ticks_after_close: timer expiries of the interface in 3 s, starting 1 s
# after a user that registered for a command closed its file.
ticks_after_close() {
	local d=/sys/class/ipmi/ipmi0/device t0
	"$tools/ipmi-stress" watch 2 >/dev/null || return 1
	sleep 1
	t0=$(cat "$d/timer_wakeups")
	sleep 3
	echo $(($(cat "$d/timer_wakeups") - t0))
}

upstream_keeps_watching() {
	local n
	load_stack si || return 1
	n=$(ticks_after_close) || return 1
	echo "upstream's handler, our ipmi_si: $n timer expiries in 3 s after the close"
	outcome "a command receiver's file closed without unregistering" si fail \
		"the handler keeps the interface watching: $n ticks in 3 s"
	[ "$n" -gt 100 ]
}
tap_run "upstream's handler: the closed receiver's watch stays (upstream weak point)" upstream_keeps_watching

ours_stops() {
	local n
	load_stack rust || return 1
	n=$(ticks_after_close) || return 1
	echo "our handler and ipmi_si: $n timer expiries in 3 s after the close"
	outcome "a command receiver's file closed without unregistering" rust pass "the watch ends: $n ticks in 3 s"
	[ "$n" = 0 ]
}
tap_run "our handler: the watch ends with the receiver's file" ours_stops

tap_run "upstream's stack back" load_stack c
