#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Everything the project tests, from a fresh machine: set-up (idempotent,
# reusing the cache), formatting, host tests and clippy, the kernel modules
# (CLIPPY=1, warnings are errors), then the VM suite. `make check` and
# .ci/run call this.

set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
# shellcheck source=scripts/lib.sh
. "$here/scripts/lib.sh"

t_start=$(date +%s)
phase() {
	printf '\n[check] %s (at %ss)\n' "$*" "$(($(date +%s) - t_start))"
}

phase "set-up"
scripts/setup.sh

phase "formatting and shell lint"
cargo fmt --all -- --check
make -s fmt-check
shellcheck -x -S warning scripts/*.sh selftests/vm-run selftests/run selftests/harness-selftest \
	selftests/bench/run selftests/bench/regs selftests/faults/run selftests/soak/run .ci/run selftests/guest/entry.sh selftests/guest/lib.sh selftests/lib/bmc.sh
# Guest tests are sourced with their environment (OUT, REPO, ...) set.
shellcheck -S warning -s bash -e SC2154 selftests/guest/tests/*.sh

phase "host: cargo clippy and cargo test (shared core and tools)"
cargo clippy -q --workspace --all-targets -- -D warnings
cargo test -q --workspace
cargo build -q --release -p ipmi-bench -p ipmi-fault-proxy
make -s tools

phase "fuzz: the KCS and BT state machines and KCS run_on against run, 20 s each (cargo-fuzz, nightly)"
# Longer campaigns: see fuzz/README.md.
for target in kcs bt kcs_run_on; do
	(cd fuzz && cargo +nightly fuzz run "$target" -- -max_total_time=20 2>&1 | tail -3)
done

phase "kernel modules (CLIPPY=1, -Dwarnings)"
scripts/build-modules.sh
mods=$(mods_dir)
for ko in drivers/char/ipmi/msghandler/ipmi_msghandler.ko drivers/char/ipmi/devintf/ipmi_devintf.ko \
	drivers/char/ipmi/si/ipmi_si.ko \
	selftests/modules/ipmi_export_test.ko selftests/modules/ipmi_user_test.ko \
	selftests/modules/ipmi_smi_test.ko; do
	[ -f "$mods/$ko" ] || die "$ko was not built"
done

phase "stack frames of our modules (none over 1.5 KiB)"
scripts/check-frames.sh

phase "an export with the wrong prototype must not build"
# ipmi_export! guards every exported function against upstream's C
# prototype; this module exports one with the wrong return type.
wrong=$(mktemp -d /tmp/ipmi-rs-wrong-export.XXXXXX)
if make -s -C "$(kdir)" M="$here/selftests/build-fail" MO="$wrong" LLVM="$LLVM_SUFFIX" CLIPPY=1 \
	modules >"$wrong/build.log" 2>&1; then
	die "selftests/build-fail built: ipmi_export! let a wrong prototype through"
fi
grep -q "if. and .else. have incompatible types" "$wrong/build.log" ||
	{ cat "$wrong/build.log"; die "selftests/build-fail failed, but not on the prototype check"; }
echo "refused, as it must be: $(grep -m1 -A0 'expected .*, found' "$wrong/build.log" | sed 's/^ *//')"
rm -rf "$wrong"

# Both halves of the VM suite write into one results directory, so that
# the second half's table of outcomes holds the whole suite.
export IPMI_RS_RESULTS=${IPMI_RS_RESULTS:-/tmp/ipmi-rs-results/$(date +%Y%m%d-%H%M%S)}
debug_cached=false
[ -f "$(KVARIANT=debug kdir)/.ipmi-rs-built" ] && debug_cached=true
if $debug_cached; then
	phase "debug kernel (KASAN, lockdep, kmemleak): cached; our modules for it"
	KVARIANT=debug scripts/build-modules.sh
	KVARIANT=debug FRAME_LIMIT=2048 scripts/check-frames.sh
else
	# From a fresh machine: the debug kernel builds (about 15 minutes of
	# both CPUs) at the lowest priority while the guest kernel's boots
	# run, which mostly wait on the BMC and on the drivers' timeouts;
	# then its own boots.
	phase "debug kernel (KASAN, lockdep, kmemleak): building in the background"
	debug_log=$(mktemp /tmp/ipmi-rs-debug-kernel.XXXXXX)
	KVARIANT=debug nice -n 19 scripts/build-kernel.sh >"$debug_log" 2>&1 &
	debug_build=$!
	trap 'kill "$debug_build" 2>/dev/null || true' EXIT
fi
phase "VM harness self-test"
selftests/harness-selftest
if $debug_cached; then
	phase "VM suite"
	selftests/run
else
	phase "VM suite, guest kernel"
	selftests/run '^[^@]*$'
	phase "debug kernel: waiting for its build; our modules for it"
	wait "$debug_build" || { cat "$debug_log"; die "the debug kernel did not build"; }
	trap - EXIT
	cat "$debug_log"
	KVARIANT=debug scripts/build-modules.sh
	KVARIANT=debug FRAME_LIMIT=2048 scripts/check-frames.sh
	phase "VM suite, debug kernel"
	selftests/run '@debug$'
fi

phase "all checks passed"
