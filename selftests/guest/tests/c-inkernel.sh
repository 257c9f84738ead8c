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

inkernel_watchdog ""
