#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build our modules for the kernel variant KVARIANT (default guest) into
# $IPMI_RS_CACHE/modules/<kernel build> with MO=, one directory per kernel
# (modules only load into the kernel they were built for). Kbuild refuses
# MO= while the checkout holds an in-tree build (`make` at the top), so
# that one is cleaned first.

set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$here/scripts/lib.sh"

kd=$(kdir)
mo=$(mods_dir)
[ -f "$kd/.ipmi-rs-built" ] || die "$KVARIANT kernel not built: KVARIANT=$KVARIANT scripts/build-kernel.sh"
if [ -e "$here/modules.order" ] || [ -e "$here/Module.symvers" ]; then
	make -s -C "$here" clean KDIR="$kd"
fi
mkdir -p "$mo"
make -s -C "$here" modules KDIR="$kd" MO="$mo"
