# SPDX-License-Identifier: GPL-2.0
# For selftests/harness-selftest only: the guest never finishes (as when a
# kernel hangs in boot or a client never returns), which vm-run must end
# at its deadline and report.
tap_expect 1
tap_ok "a passing result before the hang"
sleep 100000
