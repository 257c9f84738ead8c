# SPDX-License-Identifier: GPL-2.0
# For selftests/harness-selftest: a boot that asks to end in a panic, with
# a check of the fault proxy's log that cannot hold (this boot has no
# proxy): vm-run must fail on that check, and only on it.
tap_expect 1
tap_ok "asks for a panic after the tests"
panic_after_tests "netfn=0x04 cmd=0x02 1"
