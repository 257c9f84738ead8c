# SPDX-License-Identifier: GPL-2.0
# Our ipmi_si (Rust) in place of upstream's, in the same boot, under the C
# ipmi_msghandler and C ipmi_devintf: it finds the interface where
# upstream's did, the clients' answers are the ones recorded from the C
# stack (the files c-baseline asserts), and it unloads cleanly with
# clients running, leaving upstream's ipmi_si loaded again. Runs before
# rust-devintf (which leaves upstream's ipmi_si impossible to unload).

ko=$MODS/drivers/char/ipmi/si/ipmi_si.ko
tools=$REPO/target/selftests
work=$(mktemp -d)
ensure_c_stack || return 0
cycles=5
[ -e /proc/lockdep ] && cycles=2
n=$((9 + 6))
[ "$BMC" = ipmi_sim ] && n=$((n + 1))
tap_expect $n

# What upstream's driver made: the interface's device and the BMC's.
intf_facts() {
	readlink -f /sys/class/ipmi/ipmi0/device | sed 's/[0-9]*$//'
	ls /sys/class/ipmi/ipmi0/device/ | grep -c '^bmc$' || true
}
intf_facts >"$work/c-intf.txt"

swap_to_rust_si() {
	local mark
	rmmod ipmi_si && [ ! -e /dev/ipmi0 ] || return 1
	mark=$(kmsg_mark)
	insmod "$ko" && wait_for /dev/ipmi0 15 || { kmsg_since "$mark"; return 1; }
	kmsg_since "$mark" | grep 'Rust ipmi_si'
	[ "$(modinfo -F filename "$ko")" = "$ko" ]
}
tap_run "our ipmi_si replaces upstream's and /dev/ipmi0 comes back" swap_to_rust_si

same_intf() {
	intf_facts >"$work/rust-intf.txt"
	cat "$work/rust-intf.txt"
	diff -u "$work/c-intf.txt" "$work/rust-intf.txt"
}
tap_run "our ipmi_si: the interface sits on the same device as upstream's" same_intf

client_battery "our ipmi_si: "

raw_get_device_id() {
	ipmitool -I open raw 0x06 0x01 | tr -s ' \n' ' ' | grep -E '^ ?[0-9a-f]{2}( [0-9a-f]{2}){10}'
}
tap_run "our ipmi_si: ipmitool raw 0x06 0x01" raw_get_device_id
raw_invalid() {
	! ipmitool -I open raw 0x06 0x7f >"$work/raw.txt" 2>&1
	cat "$work/raw.txt"
	grep -q 'rsp=0xc1' "$work/raw.txt"
}
tap_run "our ipmi_si: an invalid command ends in completion code 0xc1" raw_invalid

many_clients() {
	"$tools/ipmi-stress" clients 8 10
}
tap_run "our ipmi_si: 8 concurrent clients for 10 s, every answer to its own request" many_clients

# Load and unload while a client keeps asking: every unload is clean, the
# client sees errors in between, never a hang, and the kernel stays clean
# (the host judges taint and warnings after the boot).
cycle_under_load() {
	local i pid rc=0
	( while :; do ipmitool -I open raw 0x06 0x01 >/dev/null 2>&1; done ) &
	pid=$!
	for i in $(seq "$cycles"); do
		rmmod ipmi_si || { rc=1; break; }
		insmod "$ko" && wait_for /dev/ipmi0 15 || { rc=1; break; }
	done
	kill "$pid"
	wait "$pid" 2>/dev/null
	echo "$i cycles"
	return $rc
}
tap_run "our ipmi_si: unloaded and loaded $cycles times under a running client" cycle_under_load
tap_run "our ipmi_si: ipmitool mc info after the cycles" \
	sh -c 'ipmitool -I open mc info | grep -q "^Device ID"'

back_to_c() {
	rmmod ipmi_si && [ ! -e /dev/ipmi0 ] && cmod ipmi_si && wait_for /dev/ipmi0 15
}
tap_run "upstream's ipmi_si takes the interface back" back_to_c
