# SPDX-License-Identifier: GPL-2.0
# A BMC with firmware quirks (vm-run --bmc dell: QEMU's BMC with a Dell
# PowerEdge 8G's identity, behind BT). Dell's BT firmware never answers a
# Get SDR for exactly 0x3a bytes; upstream's ipmi_si and ours answer it
# 0xca at once without asking the BMC, so that the caller retries with
# another length, and pass every other length on. Over upstream's stack
# and with our ipmi_si under upstream's handler, in the same boot: the
# same answers, and the 0xca one cost the interface one transaction
# fewer than the other (its complete_transactions counter). Ours says in
# the log which quirks it took. (The OEM-flags quirk of an IPMI 1.5
# PowerEdge 8G is host-tested only: QEMU's BMC reports IPMI 2.0 and
# revision 0 whatever it is told, and never raises an OEM flag.)

work=$(mktemp -d)
tap_expect 6

transactions() {
	cat /sys/class/ipmi/ipmi0/device/complete_transactions
}

# get_sdr STACK LENGTH: Get SDR of record 0, offset 0, LENGTH bytes; the
# answer, and the transactions it took.
get_sdr() {
	local out rc=0 t0
	t0=$(transactions)
	out=$(ipmitool raw 0x0a 0x23 0x00 0x00 0x00 0x00 0x00 "$2" 2>&1) || rc=$?
	echo "$out" >"$work/sdr-$1-$2"
	echo $(($(transactions) - t0)) >"$work/n-$1-$2"
	echo "Get SDR $2 bytes: $out (exit $rc, $(cat "$work/n-$1-$2") transactions)"
}

# quirk STACK: Get SDR for 0x3a bytes ends in 0xca and never reaches the
# BMC; 0x10 bytes does.
quirk() {
	get_sdr "$1" 0x3a
	get_sdr "$1" 0x10
	grep -q 'rsp=0xca' "$work/sdr-$1-0x3a" && ! grep -q 'rsp=0xca' "$work/sdr-$1-0x10" &&
		[ $(($(cat "$work/n-$1-0x10") - $(cat "$work/n-$1-0x3a"))) = 1 ]
}

tap_run "upstream's stack loads over the Dell BMC" load_stack c
ipmitool mc info | head -6
tap_run "upstream's ipmi_si: Get SDR for 0x3a bytes answered 0xca at once, 0x10 bytes asked" quirk c
mark=$(kmsg_mark)
tap_run "our ipmi_si in place" use_si rust
saw_quirks() {
	kmsg_since "$mark" | grep 'Dell PowerEdge BMC'
	kmsg_since "$mark" | grep -q 'Dell PowerEdge BMC: Get SDR for 0x3a bytes answered 0xca at once$'
}
tap_run "our ipmi_si logged the Dell quirks it took" saw_quirks
tap_run "our ipmi_si: Get SDR for 0x3a bytes answered 0xca at once, 0x10 bytes asked" quirk rust
same() {
	diff -u "$work/sdr-c-0x3a" "$work/sdr-rust-0x3a" && diff -u "$work/sdr-c-0x10" "$work/sdr-rust-0x10"
}
tap_run "the same answers from both" same
unload_all
rm -rf "$work"
