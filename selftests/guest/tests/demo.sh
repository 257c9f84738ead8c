# SPDX-License-Identifier: GPL-2.0
# What `make demo` shows: our Rust modules loaded and working in the kernel,
# a Rust in-kernel user talking to the BMC, and the clients answering
# through the all-Rust stack: our message handler (ipmi_msghandler), our
# /dev/ipmi0 (ipmi_devintf) and our KCS/BT driver (ipmi_si).

# show_log KO PATTERN: load and unload KO, showing the lines it logged that
# match PATTERN; fails when it does not load or logs none.
show_log() {
	load_and_log "$1" | grep -E "$2"
}

msghandler=$MODS/drivers/char/ipmi/msghandler/ipmi_msghandler.ko

echo "### Rust: our ipmi_msghandler exports upstream's API, ipmi_export_test calls its helpers"
tap_expect 7
tap_run "load our ipmi_msghandler" insmod "$msghandler"
tap_run "ipmi_export_test runs over it" show_log "$MODS/selftests/modules/ipmi_export_test.ko" \
	'^(ipmb_checksum|addr_length\(0x(c|81)\)|addr_src_to_str\([45]\))'

echo
echo "### The IPMI stack, all Rust: ipmi_msghandler, ipmi_devintf and ipmi_si"
load_stack() {
	insmod "$(rust_devintf_ko)" && insmod "$(rust_si_ko)" &&
		wait_for /dev/ipmi0 15 && si_is_ours &&
		grep -E '^ipmi' /proc/modules && dmesg | grep -E 'message handler \(Rust\)|ipmi_devintf|ipmi device interface|Rust ipmi_si'
}
tap_run "load the stack" load_stack
echo
echo "### Rust in-kernel user: ipmi_user_test asks the BMC for its Device ID through it"
tap_run "ipmi_user_test gets an answer" show_log "$MODS/selftests/modules/ipmi_user_test.ko" '^ipmi0'

echo
echo "### ipmitool and FreeIPMI through our /dev/ipmi0"
tap_run "ipmitool -I open mc info" ipmitool -I open mc info
tap_run "ipmitool -I open sdr list" ipmitool -I open sdr list
tap_run "bmc-info --driver-type=OPENIPMI" bmc-info --driver-type=OPENIPMI --get-device-id
