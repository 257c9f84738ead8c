# SPDX-License-Identifier: GPL-2.0
# The /dev/ipmiN ioctl ABI, error paths included (selftests/tools/ipmi-abi.c):
# the x86-64 build and the i386 build (the driver's compat path) must give
# the same answers, and those must be upstream ipmi_devintf's, recorded in
# selftests/expected/<bmc>/abi.txt.

ensure_c_stack || return 0
tap_expect 2
tools=$REPO/target/selftests

client_answers "ipmi-abi (x86-64): every ioctl answers as upstream's" abi "$tools/ipmi-abi"
client_answers "ipmi-abi (i386, compat ioctls): every ioctl answers as upstream's" abi "$tools/ipmi-abi32"
