# SPDX-License-Identifier: GPL-2.0
# Last test of a debug-kernel boot: after everything before it loaded,
# used and unloaded the modules, kmemleak must find nothing that the IPMI
# stack (ours or upstream's) allocated and lost. Leaks elsewhere (early
# boot, virtme-ng's devices) are listed but are not ours to judge.

kmemleak=/sys/kernel/debug/kmemleak

ipmi_leak_free() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug || return 1
	[ -e "$kmemleak" ] || { echo "no $kmemleak: not a debug kernel?"; return 1; }
	# Two scans: an object is reported once it looked unreferenced twice.
	echo scan >"$kmemleak" && sleep 2 && echo scan >"$kmemleak" || return 1
	cat "$kmemleak" >"$OUT/kmemleak.txt"
	echo "$(grep -c '^unreferenced object' "$OUT/kmemleak.txt") suspected leaks in all"
	# One report per object, separated by its "unreferenced object" line.
	awk '/^unreferenced object/ { if (r ~ /ipmi/) print r; r = "" } { r = r $0 "\n" }
		END { if (r ~ /ipmi/) print r }' "$OUT/kmemleak.txt" >"$OUT/kmemleak-ipmi.txt"
	cat "$OUT/kmemleak-ipmi.txt"
	[ ! -s "$OUT/kmemleak-ipmi.txt" ]
}

tap_run "kmemleak: no leak from the IPMI modules" ipmi_leak_free
