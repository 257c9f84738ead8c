# SPDX-License-Identifier: GPL-2.0
# A BMC that does not answer when ipmi_si probes (the boot's fault plan,
# late-bmc: the first Get Device ID and 15 s after it go unanswered):
# our ipmi_si keeps the device, asks again in the background, and the
# interface registers once the BMC answers. (Upstream's driver gives the
# interface up for good: try_smi_init() fails and nothing retries.) Must
# be the first IPMI test of its boot: the plan fires on the first Get
# Device ID the BMC sees.

ko=$(rust_si_ko)
tap_expect 3

load_late() {
	local mark
	mark=$(kmsg_mark)
	insmod "$(cko ipmi_msghandler)" && cmod ipmi_devintf && insmod "$ko" || return 1
	kmsg_since "$mark" | grep 'ipmi_si' | tee "$OUT/late.txt"
	[ ! -e /dev/ipmi0 ] && grep -q 'does not answer yet' "$OUT/late.txt"
}
tap_run "our ipmi_si binds although the BMC is silent, and no interface registers yet" load_late

comes_up() {
	local mark
	mark=$(kmsg_mark)
	wait_for /dev/ipmi0 90 || return 1
	dmesg | grep 'the BMC answered after'
	ipmitool -I open mc info | grep '^Device ID'
}
tap_run "the interface registers when the BMC answers, and answers clients" comes_up

tap_run "ipmi_si unloads cleanly afterwards" sh -c 'rmmod ipmi_si && [ ! -e /dev/ipmi0 ]'
