# SPDX-License-Identifier: GPL-2.0
# Last test of a boot that used the C stack: it unloads cleanly and takes
# /dev/ipmi0 with it.

tap_expect 1
tap_run "C stack unloads" unload_c_stack
