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

phase "formatting"
cargo fmt --all -- --check
make -s fmt-check

phase "host: cargo clippy and cargo test (shared core and tools)"
cargo clippy -q --workspace --all-targets -- -D warnings
cargo test -q --workspace
cargo build -q --release -p ipmi-bench
make -s tools

phase "kernel modules (CLIPPY=1, -Dwarnings)"
make -s modules
for ko in drivers/char/ipmi/ipmi_rs_core.ko selftests/modules/ipmi_export_test.ko; do
	[ -f "$ko" ] || die "$ko was not built"
done

phase "VM harness self-test"
selftests/harness-selftest

phase "VM suite"
selftests/run

phase "all checks passed"
