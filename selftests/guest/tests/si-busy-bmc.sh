# SPDX-License-Identifier: GPL-2.0
# A BMC that answers the probe's Get Device ID with 0xc0 (busy) ten times
# before it answers (fault plan busy-bmc). Upstream's ipmi_si first:
# whether it registered the interface, and how many busy answers it took,
# go to $OUT/busy-bmc.txt (recorded, not judged: upstream tries a fixed
# number of times and then gives the interface up for the boot). Then
# ours, with the busy answers that are left: it must bind, keep asking in
# the background and register the interface once the BMC answers, and the
# interface must answer clients. Must be the first IPMI test of its boot.

tap_expect 3

busy_answers() {
	grep -c ' action=busy ' "$OUT/proxy.log" || true
}

upstream_probe() {
	local mark registered=no used
	mark=$(kmsg_mark)
	insmod "$(cko ipmi_msghandler)" && cmod ipmi_devintf && cmod ipmi_si || return 1
	wait_for /dev/ipmi0 20 && registered=yes
	used=$(busy_answers)
	{
		echo "upstream's ipmi_si: registered: $registered after $used busy answers"
		kmsg_since "$mark" | grep -i 'ipmi_si'
	} | tee "$OUT/busy-bmc.txt"
	if [ $registered = yes ]; then
		outcome "BMC busy (0xc0) for its first 10 Get Device ID" c pass "registered after $used busy answers"
	else
		outcome "BMC busy (0xc0) for its first 10 Get Device ID" c refused "gave the interface up after $used busy answers"
	fi
	rmmod ipmi_si && [ ! -e /dev/ipmi0 ]
}
tap_run "upstream's ipmi_si meets the busy BMC (outcome recorded)" upstream_probe

ours_waits() {
	local mark before
	before=$(busy_answers)
	[ "$before" -lt 10 ] || { echo "upstream took all 10 busy answers: nothing left to test ours with"; return 1; }
	mark=$(kmsg_mark)
	insmod "$(rust_si_ko)" || return 1
	kmsg_since "$mark" | grep 'does not answer yet' || return 1
	wait_for /dev/ipmi0 90 || return 1
	dmesg | grep 'the BMC answered after' | tee -a "$OUT/busy-bmc.txt"
	echo "ours: registered after $(($(busy_answers) - before)) busy answers" | tee -a "$OUT/busy-bmc.txt"
	[ "$(busy_answers)" = 10 ] || return 1
	outcome "BMC busy (0xc0) for its first 10 Get Device ID" si pass \
		"registered once the BMC answered, after $(($(busy_answers) - before)) more busy answers"
}
tap_run "our ipmi_si keeps asking and registers once the BMC stops answering busy" ours_waits

tap_run "the interface answers clients" raw_get_device_id
unload_all
