#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The project's own bindgen step, run by Kbuild:
#   ipmi-bindgen.sh OBJTREE HEADER OUTPUT     (absolute paths)
# It reuses the exact clang flags the kernel build gave bindgen for the
# kernel crate's bindings (saved in rust/bindings/.bindings_generated.rs.cmd),
# so that layouts match the kernel being built against, and the options the
# kernel's rust/Makefile and rust/bindgen_parameters give its own bindgen
# (function-attribute detection, so `__must_check` and friends carry over;
# `MaybeZeroable` derives, so IPMI structs are `Zeroable` when all their
# fields are). It generates only the IPMI items; the types they reference
# come from kernel::bindings. ipmi_si's internal functions (ipmi_si.h, pulled
# in for its type and address-space enums) are left out.

set -eu
# The saved flags hold paths relative to the kernel's object tree.
cd "$1"
header=$2
output=$3
cmdfile=rust/bindings/.bindings_generated.rs.cmd
[ -f "$cmdfile" ] || {
	echo "ipmi-bindgen: $cmdfile missing: is this a Rust-enabled kernel build tree?" >&2
	exit 1
}

# The clang flags: what follows " -- ", up to the post-processing " ; ",
# less the dependency-file flag and the per-object KBUILD_* names.
flags=$(sed -n 's/^savedcmd_[^ ]* := .* -- //p' "$cmdfile" |
	sed -e 's/ ; .*//' -e 's/-Wp,-MMD,[^ ]*//' \
		-e "s/-DKBUILD_[A-Z]*='[^']*'//g" -e 's/-D__KBUILD_MODNAME=[^ ]*//')

# shellcheck disable=SC2086 # $flags is a list of arguments
${BINDGEN:-bindgen} "$header" \
	--rust-target 1.85 --use-core --ctypes-prefix ffi \
	--no-layout-tests --no-doc-comments --no-debug '.*' \
	--with-derive-default --enable-function-attribute-detection \
	--with-derive-custom-struct '.*=MaybeZeroable' \
	--with-derive-custom-union '.*=MaybeZeroable' \
	--no-recursive-allowlist \
	--allowlist-type '(kernel_)?ipmi_.*' \
	--allowlist-type 'ipmi_smi' --allowlist-type 'ipmi_user' \
	--allowlist-type 'si_type' \
	--blocklist-function 'ipmi_(si|irq|std|hardcode|remove)_.*' \
	--allowlist-function 'ipmi_.*' --allowlist-function 'ipmb_checksum' \
	--allowlist-var 'IPMI_.*' \
	--opaque-type 'ipmi_smi' --opaque-type 'ipmi_user' \
	--raw-line 'use kernel::bindings::*;' \
	--raw-line 'use pin_init::MaybeZeroable;' \
	--raw-line 'use kernel::ffi;' \
	-o "$output.tmp" -- $flags -DMODULE
mv "$output.tmp" "$output"
