# SPDX-License-Identifier: GPL-2.0
# For selftests/harness-selftest only: the kernel crashes mid-test (SysRq
# c), so the guest never finishes, which vm-run must report.
tap_expect 1
tap_ok "a passing result before the crash"
sync
echo c >/proc/sysrq-trigger
