# SPDX-License-Identifier: GPL-2.0
# The upstream C stack answers the real clients: the baseline every Rust
# module is later compared with. Answers are asserted against
# selftests/expected/<bmc>/, which are the same for every interface. The
# stack stays loaded for the tests after it; c-unload unloads it.

ensure_c_stack || return 0
if [ "$BMC" = ipmi_sim ]; then tap_expect 8; else tap_expect 7; fi

client_answers "ipmitool mc info" mc-info ipmitool -I open mc info
client_answers "ipmitool sdr list" sdr-list ipmitool -I open sdr list
client_answers "ipmitool sel info" sel-info ipmitool -I open sel info
client_answers "ipmitool fru print 0" fru-print ipmitool -I open fru print 0
client_answers "ipmitool chassis status" chassis-status ipmitool -I open chassis status
# On ipmi_sim the "Present Countdown" line is garbage (see normalise in
# lib.sh) and is matched as a marker.
client_answers "ipmitool mc watchdog get" watchdog-get ipmitool -I open mc watchdog get
client_answers "bmc-info (FreeIPMI, OPENIPMI driver)" bmc-info \
	bmc-info --driver-type=OPENIPMI --driver-device=/dev/ipmi0 --get-device-id
if [ "$BMC" = ipmi_sim ]; then
	client_answers "ipmitool -t 0x30 -b 0 mc info (bridged over IPMB)" bridged-mc-info \
		ipmitool -I open -t 0x30 -b 0 mc info
fi
