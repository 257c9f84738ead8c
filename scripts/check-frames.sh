#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# check-frames.sh [KO...]: fail when a function of our modules reserves
# more than FRAME_LIMIT bytes of stack (default 1536), and print the
# largest frames of each module.
#
# The kernel warns about C frames over CONFIG_FRAME_WARN (2048 on 64-bit)
# at build time; rustc has no such warning, and Rust builds large values
# on the stack and copies them (an interface registration once reserved
# 9.5 KiB in one frame and overflowed the 16 KiB stack of a PCI probe in a
# VM test). This reads the frame size from each function's prologue
# (`sub $N,%rsp`) in the built objects. Without arguments: our modules.

set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$here/scripts/lib.sh"

limit=${FRAME_LIMIT:-1536}
if [ $# = 0 ]; then
	mods=$(mods_dir)
	set -- "$mods/drivers/char/ipmi/msghandler/ipmi_msghandler.ko" \
		"$mods/drivers/char/ipmi/devintf/ipmi_devintf.ko" \
		"$mods/drivers/char/ipmi/si/ipmi_si.ko"
fi

# frames KO: "BYTES FUNCTION" for every function that reserves stack,
# largest first (names demangled where rustfilt-like demangling is at
# hand: objdump -C knows Rust's v0 mangling).
frames() {
	objdump -d -C --no-show-raw-insn "$1" | perl -ne '
		if (/^[0-9a-f]+ <(.*)>:$/) { $fn = $1; next }
		if (defined $fn && /\bsub\s+\$0x([0-9a-f]+),%rsp/) {
			printf "%d %s\n", hex($1), $fn; undef $fn;
		}' | sort -rn
}

bad=0
for ko in "$@"; do
	[ -f "$ko" ] || die "$ko: not built"
	all=$(frames "$ko")
	echo "$(basename "$ko"): largest stack frames (limit $limit bytes):"
	head -3 <<<"$all" | sed 's/^/  /'
	over=$(awk -v l="$limit" '$1 > l' <<<"$all")
	if [ -n "$over" ]; then
		echo "$(basename "$ko"): frames over $limit bytes:"
		sed 's/^/  /' <<<"$over"
		bad=1
	fi
done
[ $bad = 0 ] || die "stack frames over $limit bytes: build the large values in place (see rust/kext/inplace.rs) or in a frame of their own"
