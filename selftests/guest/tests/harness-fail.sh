# SPDX-License-Identifier: GPL-2.0
# For selftests/harness-selftest only: one passing and one failing result.
tap_expect 2
tap_ok "a passing result"
tap_fail "a failing result, which vm-run must report"
