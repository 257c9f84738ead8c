# SPDX-License-Identifier: GPL-2.0
# A system interface written in Rust against the glue's Smi trait:
# ipmi_smi_test registers a loopback interface with the loaded handler
# (upstream's C ipmi_msghandler here) and answers its requests itself, as
# a BMC with a fixed identity. The handler registers it (Get Device ID,
# GUID), the loaded ipmi_devintf makes its node, and ipmitool talks to it:
# every layer between a client and an SMI driver, with our driver at the
# bottom. Needs the C stack loaded (the KCS interface is ipmi0).

ko=$MODS/selftests/modules/ipmi_smi_test.ko
work=$(mktemp -d)
ensure_c_stack || return 0
tap_expect 4

load_loopback() {
	insmod "$ko" && wait_for /dev/ipmi1 10
}
tap_run "ipmi_smi_test registers a second interface, /dev/ipmi1" load_loopback

loopback_identity() {
	ipmitool -I open -d 1 mc info >"$work/mc.txt" || return 1
	cat "$work/mc.txt"
	has_lines "$work/mc.txt" "Device ID                 : 82" \
		"Firmware Revision         : 3.14" "IPMI Version              : 2.0" \
		"Manufacturer ID           : 1193046" "Product ID                : 43981 (0xabcd)"
}
tap_run "ipmitool -d 1 mc info: the identity the Rust interface answers with" loopback_identity

loopback_invalid() {
	! ipmitool -I open -d 1 raw 0x06 0x7f >"$work/raw.txt" 2>&1
	cat "$work/raw.txt"
	grep -q 'rsp=0xc1' "$work/raw.txt"
}
tap_run "an unknown command to it ends in completion code 0xc1" loopback_invalid

unload_loopback() {
	local mark
	mark=$(kmsg_mark)
	rmmod ipmi_smi_test || return 1
	kmsg_since "$mark" | tee "$work/log"
	[ ! -e /dev/ipmi1 ] && grep -qE 'ipmi_smi_test: loopback interface answered [1-9][0-9]* requests' "$work/log"
}
tap_run "it unloads, /dev/ipmi1 goes, and it counted the requests it answered" unload_loopback
rm -rf "$work"
