# SPDX-License-Identifier: GPL-2.0
# Upstream's in-kernel users over the C stack: ipmi_watchdog arms the BMC's
# watchdog through the handler. The Rust handler must keep these users
# working unmodified; this is their baseline.
#
# Upstream behaviour worth knowing: unloading ipmi_watchdog leaves the BMC
# watchdog running (only closing /dev/watchdog with the magic 'V', or a
# reboot, disarms it), so ipmitool disarms it here.

ensure_c_stack || return 0
tap_expect 6

# present_countdown FILE: the watchdog's present countdown in ipmitool's
# output FILE, in tenths of a second.
present_countdown() {
	sed -n 's/^Present Countdown: *\([0-9]*\)\.\([0-9]\) sec$/\1\2/p' "$1"
}

# The BMC watchdog is set for SMS/OS, a hard reset after 300 s, and runs.
# "SMS/OS (0x44)" carries the "don't stop" bit, which ipmi_watchdog sets
# only when it could read the BMC's IPMI version through the handler (else
# it logs "Unable to get IPMI version, assuming 1.0"): the handler must
# answer that. Both simulators echo the bit from the last Set Watchdog
# Timer as ipmitool's "Started/Running"; QEMU's BMC also keeps a live
# present countdown, which must fall between two readings a second apart
# (ipmi_sim's stays at 384.0 s).
watchdog_armed() {
	local first second
	ipmitool -I open mc watchdog get >"$OUT/wd.txt" || return 1
	sleep 1
	ipmitool -I open mc watchdog get >"$OUT/wd2.txt" || return 1
	cat "$OUT/wd.txt" "$OUT/wd2.txt"
	has_lines "$OUT/wd2.txt" "Watchdog Timer Use:     SMS/OS (0x44)" \
		"Watchdog Timer Is:      Started/Running" \
		"Watchdog Timer Action:  Hard Reset (0x01)" \
		"Initial Countdown:      300.0 sec" || return 1
	[ "$BMC" = sim ] || return 0
	first=$(present_countdown "$OUT/wd.txt")
	second=$(present_countdown "$OUT/wd2.txt")
	if [ -z "$first" ] || [ -z "$second" ] || [ "$second" -le 0 ] || [ "$second" -ge "$first" ]; then
		echo "not counting down: ${first:-?} then ${second:-?} tenths of a second"
		return 1
	fi
}

watchdog_disarmed() {
	ipmitool -I open mc watchdog get >"$OUT/wd.txt" || return 1
	cat "$OUT/wd.txt"
	has_lines "$OUT/wd.txt" "Watchdog Timer Is:      Stopped"
}

# With action=none upstream sets the timer without starting it, so arm a
# reset far beyond the life of this VM.
tap_run "ipmi_watchdog loads and arms the BMC watchdog (300 s, reset)" \
	cmod ipmi_watchdog timeout=300 action=reset start_now=1
tap_run "ipmitool sees the watchdog armed by the kernel" watchdog_armed
tap_run "ipmi_watchdog unloads" rmmod ipmi_watchdog
tap_run "the watchdog keeps running after the unload (upstream behaviour)" watchdog_armed
tap_run "ipmitool mc watchdog off" ipmitool -I open mc watchdog off
tap_run "ipmitool sees the watchdog stopped" watchdog_disarmed
rm -f "$OUT/wd.txt" "$OUT/wd2.txt"
