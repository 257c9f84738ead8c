# SPDX-License-Identifier: GPL-2.0
# What `make demo` shows: our Rust modules loaded and working in the kernel,
# a Rust in-kernel user talking to the BMC, and the clients answering
# through /dev/ipmi0 (still upstream's C ipmi_devintf and ipmi_si: our
# twins of those are later issues).

echo "### Rust: ipmi_rs_core exports the core's helpers, ipmi_export_test calls them"
tap_run "load ipmi_rs_core" insmod "$MODS/drivers/char/ipmi/ipmi_rs_core.ko"
mark=$(kmsg_mark)
tap_run "ipmi_export_test runs over it" insmod "$MODS/selftests/modules/ipmi_export_test.ko"
kmsg_since "$mark" | grep -E 'ipmi_export_test: (ipmb_checksum|addr_length\(0x(c|81)\)|addr_src_to_str\([45]\))'
rmmod ipmi_export_test ipmi_rs_core

echo
echo "### The IPMI stack: C ipmi_msghandler, ipmi_devintf, $(si_driver)"
tap_run "load the stack" load_c_stack
echo
echo "### Rust in-kernel user: ipmi_user_test asks the BMC for its Device ID through it"
mark=$(kmsg_mark)
tap_run "ipmi_user_test gets an answer" insmod "$MODS/selftests/modules/ipmi_user_test.ko"
kmsg_since "$mark" | grep 'ipmi_user_test: ipmi0'
rmmod ipmi_user_test
echo
echo "### ipmitool and FreeIPMI through /dev/ipmi0"
tap_run "ipmitool -I open mc info" ipmitool -I open mc info
tap_run "ipmitool -I open sdr list" ipmitool -I open sdr list
tap_run "bmc-info --driver-type=OPENIPMI" bmc-info --driver-type=OPENIPMI --get-device-id
