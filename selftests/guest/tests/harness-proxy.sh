# SPDX-License-Identifier: GPL-2.0
# For selftests/harness-selftest: a boot whose test asks the host to check
# the fault proxy's log for a line that cannot be there (this boot has no
# proxy): vm-run must fail on that check, and only on it.
tap_expect 1
tap_ok "asks for a check of the proxy's log"
proxy_checks "action=command rule 1 1"
