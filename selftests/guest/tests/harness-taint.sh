# SPDX-License-Identifier: GPL-2.0
# For selftests/harness-selftest only: every result passes and the log
# stays clean, but the kernel is tainted (W, as a warning would), which
# vm-run must report. Root may add taint flags through this file.
tap_expect 1
echo $((1 << 9)) >/proc/sys/kernel/tainted
tap_ok "a passing result"
