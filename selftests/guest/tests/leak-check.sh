# SPDX-License-Identifier: GPL-2.0
# Last test of a debug-kernel boot: after everything before it loaded,
# used and unloaded the modules, kmemleak must find nothing that the IPMI
# stack (ours or upstream's) allocated and lost. Leaks elsewhere (early
# boot, virtme-ng's devices) are listed but are not ours to judge.
#
# The same scan proves it can fail: ipmi_leak_test loses a 12345-byte
# buffer at load, marked "deliberate leak" (no "ipmi" in it). Once the
# module is unloaded kmemleak cannot name its frames, and the attribution
# must still count the buffer as the IPMI stack's, by that unnamed frame.

report=$OUT/kmemleak.txt
ipmi=$OUT/kmemleak-ipmi.txt
deliberate='(size 12345):' # in the report's first line; a fixed string
rm -f "$report" "$ipmi" # a failed scan must not leave old answers to judge

# kmemleak reports an object once no memory it scans holds its address;
# a stale copy somewhere hides one object for a while. ipmi_leak_test
# therefore loses four buffers, at least one must be reported, and the
# scan is tried up to four times until one is.
scan() {
	local n
	insmod "$MODS/selftests/modules/ipmi_leak_test.ko" && rmmod ipmi_leak_test || return 1
	for n in 1 2 3 4; do
		kmemleak_scan "$report" || return 1
		grep -q "^unreferenced object.*$deliberate" "$report" && break
	done
	echo "$(grep -c "^unreferenced object.*$deliberate" "$report") of the 4 deliberate leaks reported after $n scan(s)"
	echo "$(grep -c '^unreferenced object' "$report") suspected leaks in all"
	kmemleak_ipmi "$report" >"$ipmi"
	cat "$ipmi"
}

no_other_leak() {
	[ -f "$ipmi" ] || return 1
	# The IPMI stack's reports other than the deliberate one.
	awk -v d="$deliberate" '/^unreferenced object/ { keep = !index($0, d) } keep' "$ipmi" \
		>"$OUT/kmemleak-ipmi-others.txt"
	cat "$OUT/kmemleak-ipmi-others.txt"
	[ ! -s "$OUT/kmemleak-ipmi-others.txt" ]
}

deliberate_caught() {
	local n
	n=$(grep -c '^unreferenced object.*'"$deliberate" "$ipmi")
	[ "$n" -ge 1 ] && [ "$n" -le 4 ] && grep -q 'deliberate leak' "$ipmi"
}

tap_expect 3
tap_run "kmemleak scanned (after a deliberate leak from ipmi_leak_test)" scan
tap_run "kmemleak: no leak from the IPMI modules" no_other_leak
tap_run "kmemleak: the deliberate leak from the unloaded module is caught" deliberate_caught
