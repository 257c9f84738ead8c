# SPDX-License-Identifier: GPL-2.0
# For selftests/harness-selftest only: a guest that runs and passes.
tap_expect 1
tap_ok "the guest ran"
