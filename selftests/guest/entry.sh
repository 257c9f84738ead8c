#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# First thing the guest runs (virtme-ng's -e): runs each named test script
# under selftests/guest/tests/ with the TAP helpers of lib.sh, then leaves
# the TAP stream, the kernel log and a completion stamp in --out, which the
# host shares read-write and judges after the VM is gone.

set -u
out="" repo="" mods="" modroot="" bmc="" intf="" plan="" record=0
tests=()
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	--repo) repo=$2; shift 2 ;;
	--mods) mods=$2; shift 2 ;;
	--modroot) modroot=$2; shift 2 ;;
	--bmc) bmc=$2; shift 2 ;;
	--intf) intf=$2; shift 2 ;;
	--plan) plan=$2; shift 2 ;;
	--record) record=1; shift ;;
	*) tests+=("$1"); shift ;;
	esac
done
# REPO: the checkout; MODS: where our modules were built (the checkout, or
# an MO= directory for another kernel); MODROOT: the C modules' install root;
# PLAN: the fault proxy's plan (selftests/faults/PLAN.plan), if any.
export OUT=$out REPO=$repo MODS=${mods:-$repo} MODROOT=$modroot BMC=$bmc INTF=$intf PLAN=$plan RECORD=$record

# shellcheck source=selftests/guest/lib.sh
. "$REPO/selftests/guest/lib.sh"

: >"$OUT/tap.txt"
: >"$OUT/guest.log"
echo 0 >"$OUT/.tap-count"
echo "# guest: $(uname -r), bmc=$BMC intf=$INTF, tests: ${tests[*]}" >>"$OUT/tap.txt"
for t in "${tests[@]}"; do
	echo "# --- $t" >>"$OUT/tap.txt"
	echo "=== $t" >>"$OUT/guest.log"
	# Each test runs in a subshell so that one that exits early does not
	# stop the others. Results go to fd 3 (the TAP file), everything the
	# commands print to guest.log.
	rm -f "$OUT/.tap-expect"
	# shellcheck disable=SC1090 # the test named on the command line
	(. "$REPO/selftests/guest/tests/$t.sh") 3>>"$OUT/tap.txt" >>"$OUT/guest.log" 2>&1 ||
		tap_fail "$t: test script exited with status $?" 3>>"$OUT/tap.txt"
	# The test's own plan (tap_expect): fewer or more results than it
	# declared is a failure of its own, named so that vm-run reports it.
	if [ ! -f "$OUT/.tap-expect" ]; then
		tap_fail "$t: plan not met: no plan (tap_expect) declared" 3>>"$OUT/tap.txt"
	else
		read -r start want <"$OUT/.tap-expect"
		got=$(($(cat "$OUT/.tap-count") - start))
		[ "$got" = "$want" ] ||
			tap_fail "$t: plan not met: planned $want results, gave $got" 3>>"$OUT/tap.txt"
	fi
done
tap_plan >>"$OUT/tap.txt"
# Taint flags, judged on the host (a warning or oops taints the kernel
# even when its message scrolled by; see vm-run).
cat /proc/sys/kernel/tainted >"$OUT/tainted"
dmesg >"$OUT/dmesg.txt"
date +%s >"$OUT/done"
sync
# A test that asked for it (panic_after_tests) ends the boot in a kernel
# panic, once everything above is saved; vm-run then judges the console
# up to this marker as usual, the panic after it, and the host-side
# checks the test left in panic-request.
if [ -f "$OUT/panic-request" ]; then
	echo "ipmi-rs: panic requested by the tests" >/dev/kmsg
	echo c >/proc/sysrq-trigger
fi
