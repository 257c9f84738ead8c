# SPDX-License-Identifier: GPL-2.0
# The upstream C stack answers the real clients: the baseline every Rust
# module is later compared with. Answers are asserted against
# selftests/expected/<bmc>/, which are the same for every interface. The
# stack stays loaded for the tests after it; c-unload unloads it.

ensure_c_stack || return 0
if [ "$BMC" = ipmi_sim ]; then tap_expect 8; else tap_expect 7; fi

client_battery ""
