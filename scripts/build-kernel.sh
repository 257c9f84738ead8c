#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the guest kernel into $CACHE/kernel/<version>[-<variant>]-<key> (an
# O= build directory over the unpacked source), where <key> hashes the
# Debian source version, the config fragments, rustc, clang and bindgen.
# When the stamp of a finished build is there, nothing runs.
#
# KVARIANT=debug builds the debug variant (see scripts/lib.sh).

set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$here/scripts/lib.sh"

[ -f "$KSRC/.unpacked" ] || die "kernel source missing: run scripts/setup.sh"
mapfile -t frags < <(fragments)
out=$(kdir)
if [ -f "$out/.ipmi-rs-built" ]; then
	exit 0
fi

mk() {
	make -s -C "$KSRC" O="$out" LLVM="$LLVM_SUFFIX" RUST_LIB_SRC="$RUST_LIB_SRC" "$@"
}

mkdir -p "$out"
step "kernel: configure ($out)"
mk tinyconfig >/dev/null
"$KSRC/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${frags[@]}" >/dev/null
mk olddefconfig >/dev/null
mk rustavailable >/dev/null || die "Rust is not available to the kernel build (make rustavailable)"
# Every option the fragment asks for must have survived olddefconfig.
lost=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qxF "$line" "$out/.config" || { echo "lost: $line" >&2; lost=1; }
		;;
	"# CONFIG_"*" is not set")
		opt=${line#"# "}
		opt=${opt%% *}
		if grep -q "^$opt=" "$out/.config"; then
			echo "lost: $line" >&2
			lost=1
		fi
		;;
	esac
done < <(cat "${frags[@]}")
[ $lost = 0 ] || die "kernel options from ${frags[*]} did not survive olddefconfig"
done_step

step "kernel: build bzImage and modules (about 10 minutes from scratch on 2 cores)"
# A line a minute, so that a CI log shows the build is alive.
(while sleep 60; do printf '[setup]   ... still building (%ss)\n' "$(($(date +%s) - _t0))" >&2; done) &
ticker=$!
stop_ticker() {
	# Its sleep first, so that nothing holds our stderr open afterwards.
	pkill -P "$ticker" 2>/dev/null || true
	kill "$ticker" 2>/dev/null || true
	# Its status is 143 when the kill ended it: under `set -e` a bare
	# `wait` (or the last command of an && list) would end the script.
	wait "$ticker" 2>/dev/null || true
}
trap stop_ticker EXIT
mk -j"$(nproc)" bzImage modules
stop_ticker
done_step

# The harness loads the C IPMI modules from here, without installing them.
step "kernel: install modules into the build directory"
rm -rf "$out/mod-root"
mk INSTALL_MOD_PATH="$out/mod-root" modules_install >/dev/null
done_step

touch "$out/.ipmi-rs-built"
