# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Shared definitions for the set-up and harness scripts (sourced, not run).

here=${here:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

CACHE=${IPMI_RS_CACHE:-/var/cache/ipmi-rs}
KVER_MAJOR=7.3
KSRC="$CACHE/src/linux-source-$KVER_MAJOR"
RUSTC_VERSION=$(rustc --version | awk '{print $2}')
RUST_SRC_DIR="$CACHE/src/rust-src-$RUSTC_VERSION"
RUST_LIB_SRC="$RUST_SRC_DIR/usr/src/rustc-$RUSTC_VERSION/library"
TOOLS="$CACHE/tools"
# guest: the kernel every test uses; debug: the same with KASAN, lockdep and
# kmemleak (kernel/debug.config on top).
KVARIANT=${KVARIANT:-guest}
fragments() {
	echo "$here/kernel/guest.config"
	case "$KVARIANT" in
	guest) ;;
	debug) echo "$here/kernel/debug.config" ;;
	*) die "unknown kernel variant $KVARIANT" ;;
	esac
}
LLVM_SUFFIX=-19

export PATH="$TOOLS/bin:$TOOLS/venv/bin:/usr/lib/llvm${LLVM_SUFFIX}/bin:$PATH"
export LIBCLANG_PATH=/usr/lib/llvm${LLVM_SUFFIX}/lib

_t0=0
_step=""
step() {
	_step="$*"
	_t0=$(date +%s)
	printf '[setup] %s ...\n' "$_step" >&2
}
done_step() {
	printf '[setup] %s: done in %ss\n' "$_step" "$(($(date +%s) - _t0))" >&2
}
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# The key of a kernel build: everything that changes its output.
kernel_key() {
	{
		cat "$KSRC/.debian-version" 2>/dev/null || echo none
		fragments | xargs cat
		rustc --version
		clang${LLVM_SUFFIX} --version 2>/dev/null | head -1
		bindgen --version 2>/dev/null
	} | sha256sum | cut -c1-12
}

kdir() {
	case "$KVARIANT" in
	guest) echo "$CACHE/kernel/$KVER_MAJOR-$(kernel_key)" ;;
	*) echo "$CACHE/kernel/$KVER_MAJOR-$KVARIANT-$(kernel_key)" ;;
	esac
}

# Where the scripts build our modules for the current kernel (an MO=
# directory, one per kernel build, so the checkout stays clean).
mods_dir() {
	echo "$CACHE/modules/$(basename "$(kdir)")"
}

# env.mk lets a plain `make` at the top of the checkout find the kernel.
write_env() {
	cat >"$CACHE/env.mk" <<-EOF
		# Written by scripts/setup.sh; read by the top-level Makefile.
		KDIR ?= $(kdir)
		RUST_LIB_SRC ?= $RUST_LIB_SRC
		LLVM ?= $LLVM_SUFFIX
		export PATH := $TOOLS/bin:$TOOLS/venv/bin:/usr/lib/llvm${LLVM_SUFFIX}/bin:\$(PATH)
		export LIBCLANG_PATH := /usr/lib/llvm${LLVM_SUFFIX}/lib
	EOF
}
