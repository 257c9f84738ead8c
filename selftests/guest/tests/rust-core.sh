# SPDX-License-Identifier: GPL-2.0
# The shared Rust core inside the kernel: our ipmi_msghandler exports
# upstream's pure helpers (ipmb_checksum, ipmi_validate_addr,
# ipmi_addr_length, ipmi_addr_src_to_str) from Rust, and a second Rust
# module, ipmi_export_test, calls them through the C ABI. Its answers over
# our module must equal its answers over the C ipmi_msghandler, in this
# boot.

ko_core=$MODS/drivers/char/ipmi/msghandler/ipmi_msghandler.ko
ko_test=$MODS/selftests/modules/ipmi_export_test.ko
work=$(mktemp -d)
unload_all

# Loads the test module, keeps what it logged, unloads it.
export_test_answers() {
	load_and_log "$ko_test" >"$work/log" || return 1
	sed -n '/^begin$/,/^end$/p' "$work/log" >"$1"
	cat "$1"
	# begin, 28 address grids, 9 lengths, 4 checksums, 11 names, end
	[ "$(wc -l <"$1")" -eq 54 ] && [ "$(tail -1 "$1")" = end ]
}

# What ipmi_validate_addr says of a valid address with length -1.
negative_length_answer() {
	load_and_log "$ko_test" negative_len=1 >"$work/log" || return 1
	sed -n 's/^validate system interface, len -1: //p' "$work/log" >"$1"
	cat "$1"
}

over_c() {
	insmod "$(cko ipmi_msghandler)" && export_test_answers "$work/c.txt" &&
		negative_length_answer "$work/c-neg.txt" && rmmod ipmi_msghandler
}

over_rust() {
	insmod "$ko_core" || return 1
	# The test module must have bound to our exports (ours is out of
	# tree: taint O), not to anything else.
	grep -q O /sys/module/ipmi_msghandler/taint || return 1
	export_test_answers "$work/rust.txt" || return 1
	negative_length_answer "$work/rust-neg.txt" || return 1
	rmmod ipmi_msghandler
}

negative_length_differs() {
	[ "$(cat "$work/c-neg.txt")" = 0 ] && [ "$(cat "$work/rust-neg.txt")" = E ]
}

clash_refused() {
	insmod "$(cko ipmi_msghandler)" || return 1
	if insmod "$ko_core"; then
		echo "our ipmi_msghandler loaded beside the C one"
		return 1
	fi
	rmmod ipmi_msghandler
}

tap_expect 7
tap_run "ipmi_export_test over the C ipmi_msghandler" over_c
tap_run "ipmi_export_test over our ipmi_msghandler (Rust)" over_rust
tap_run "same answers from Rust and C" diff -u "$work/c.txt" "$work/rust.txt"
tap_run "known answers: checksum 0xb8, direct address 12 bytes, ACPI" \
	has_lines "$work/rust.txt" 'ipmb_checksum(get-device-id header) = 0xb8' \
	'addr_length(0x81) = 12' 'addr_src_to_str(4) = ACPI' 'addr_src_to_str(9) = invalid' \
	'validate type=0x0c body=0: EEEEEE EEEEEE EEEEEE EEEEEE EE0000 EEEEEE '

tap_run "negative length: upstream accepts the address (0), ours refuses it (-EINVAL)" \
	negative_length_differs
tap_run "ours refuses to load beside the C ipmi_msghandler (same name and symbols)" clash_refused
tap_run "no module left loaded" unload_all
rm -rf "$work"
