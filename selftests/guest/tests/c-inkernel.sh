# SPDX-License-Identifier: GPL-2.0
# Upstream's in-kernel users over the C stack: ipmi_watchdog arms the BMC's
# watchdog through the handler. The Rust handler must keep these users
# working unmodified; this is their baseline.
#
# Upstream behaviour worth knowing: unloading ipmi_watchdog leaves the BMC
# watchdog running (only closing /dev/watchdog with the magic 'V', or a
# reboot, disarms it), so ipmitool disarms it here.

ensure_c_stack || return 0

watchdog_armed() {
	ipmitool -I open mc watchdog get >"$OUT/wd.txt" || return 1
	cat "$OUT/wd.txt"
	has_lines "$OUT/wd.txt" "Watchdog Timer Use:     SMS/OS (0x44)" \
		"Watchdog Timer Is:      Started/Running" \
		"Watchdog Timer Action:  Hard Reset (0x01)" \
		"Initial Countdown:      300.0 sec"
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
rm -f "$OUT/wd.txt"
