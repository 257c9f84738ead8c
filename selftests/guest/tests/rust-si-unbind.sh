# SPDX-License-Identifier: GPL-2.0
# Our ipmi_si's interface taken away under clients with requests in flight
# (the device unbound from the driver) and given back, several times: the
# clients get errors, never a hang; the interface comes back and answers;
# the kernel stays clean (judged after the boot). Last in its boot: after
# such a removal upstream's C handler may keep a reference on the
# interface's module (seen on ipmi_sim), so ipmi_si may not unload again.

tools=$REPO/target/selftests
work=$(mktemp -d)
ensure_c_stack || return 0
cycles=5
[ -e /proc/lockdep ] && cycles=2
tap_expect 3

ours_loaded() {
	si_is_ours || use_si rust
}
tap_run "our ipmi_si drives the interface" ours_loaded

# The interface taken away under clients with requests in flight (device
# unbound from the driver), then bound again: the clients get errors, not
# a hang; the interface comes back and answers.
unbind_under_load() {
	local dev name driver i pid rc=0
	dev=$(readlink -f /sys/class/ipmi/ipmi0/device)
	name=$(basename "$dev")
	driver=$(readlink -f "$dev/driver")
	"$tools/ipmi-stress" clients 4 8 >"$work/unbind-clients.txt" 2>&1 &
	pid=$!
	for i in $(seq "$cycles"); do
		sleep 0.5
		echo "$name" >"$driver/unbind" && [ ! -e /dev/ipmi0 ] || { rc=1; break; }
		echo "$name" >"$driver/bind" && wait_for /dev/ipmi0 15 || { rc=1; break; }
	done
	wait "$pid"
	echo "$i unbind/bind cycles; the clients said:"
	tail -3 "$work/unbind-clients.txt"
	[ $rc = 0 ] && ipmitool -I open mc info | grep -q '^Device ID'
}
tap_run "our ipmi_si: the device unbound and bound $cycles times under 4 clients" unbind_under_load
tap_run "our ipmi_si: ipmitool mc info after the cycles" \
	sh -c 'ipmitool -I open mc info | grep -q "^Device ID"'
