# SPDX-License-Identifier: GPL-2.0
# Upstream's in-kernel users over our ipmi_si (Rust), under the C handler:
# ipmi_watchdog arms and keeps the BMC's watchdog as over the C driver
# (c-inkernel, the same steps), and ipmi_poweroff probes the BMC as over
# the C driver. Changes the BMC's watchdog settings: after the client
# batteries only. Last in its boot: on a BMC where ipmi_poweroff finds
# nothing to use (QEMU's), its failed load leaves the interface driver
# in use, ours or upstream's alike (seen with upstream's ipmi_si in the
# same VM), so nothing can unload ipmi_si afterwards.

ensure_c_stack || return 0
tap_expect 8

tap_run "our ipmi_si replaces upstream's" use_si rust

inkernel_watchdog "over our ipmi_si: "

# What upstream's ipmi_poweroff logs over upstream's ipmi_si on QEMU's
# BMC (an ATCA-style probe answered, no usable function): the same over
# ours.
poweroff_probe() {
	local mark
	mark=$(kmsg_mark)
	! cmod ipmi_poweroff
	kmsg_since "$mark" | grep 'IPMI poweroff' >"$OUT/poweroff.txt"
	cat "$OUT/poweroff.txt"
	has_lines "$OUT/poweroff.txt" "IPMI poweroff: ATCA Detect mfg 0xF0F0F prod 0x1234" \
		"IPMI poweroff: Unable to find a poweroff function that will work, giving up"
}
tap_run "over our ipmi_si: ipmi_poweroff probes the BMC as over upstream's" poweroff_probe
