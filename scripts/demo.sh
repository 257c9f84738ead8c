#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job: set up what is missing, build the modules, boot a VM with
# QEMU's simulated BMC behind KCS, load our modules and show the clients
# answering. Prints what happened inside the guest.

set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
scripts/setup.sh
scripts/build-modules.sh
out=$(mktemp -d /tmp/ipmi-rs-demo.XXXXXX)
rc=0
selftests/vm-run --bmc "${BMC:-sim}" --intf "${INTF:-kcs}" --out "$out" demo >"$out/vm-run.txt" || rc=$?
echo "=== inside the guest"
cat "$out/guest.log"
echo "=== verdict"
cat "$out/vm-run.txt"
exit $rc
