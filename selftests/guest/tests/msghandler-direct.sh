# SPDX-License-Identifier: GPL-2.0
# IPMB-direct addresses (IPMI_IPMB_DIRECT_ADDR_TYPE): ipmi_smi_test says it
# is on an IPMB bus itself, as upstream's ipmi_ipmb does, and plays a bus
# with one controller at 0x70 (selftests/modules/ipmi_smi_test.rs). With
# upstream's whole stack, with our handler under upstream's leaves, and
# with ours throughout, in this boot: ipmi-direct's lines (bad addresses,
# answers with their source, an absent controller, a command from the bus
# nobody takes and one a user takes and answers, as the controller saw
# them) are the same, and the key ones are what the bus says.

tools=$REPO/target/selftests
ko=$MODS/selftests/modules/ipmi_smi_test.ko
work=$(mktemp -d)
ensure_c_stack
tap_expect 9

# direct_run NAME: the loopback over the loaded stack, ipmi-direct against
# it (the KCS BMC, ipmi0, as the interface without IPMB-direct), unloaded
# after; its lines in $work/NAME.
direct_run() {
	insmod "$ko" && wait_for /dev/ipmi1 10 || return 1
	local rv=0
	"$tools/ipmi-direct" /dev/ipmi1 /dev/ipmi0 >"$work/$1" 2>&1 || rv=1
	cat "$work/$1"
	rmmod ipmi_smi_test && [ ! -e /dev/ipmi1 ] || rv=1
	return $rv
}

# What the bus says, whichever stack: refusals, the controller's answer
# with its source and LUNs, the absent one's timeout, the 0xc1 the
# handler sent back for the command nobody took, the command a user took,
# and that user's answer as the controller got it.
bus_answers() {
	has_lines "$work/$1" \
		"$(line "plain interface: direct address" EAFNOSUPPORT)" \
		"$(line "odd slave address" EINVAL)" \
		"$(line "rs_lun 4" EINVAL)" \
		"$(line "channel 1" EINVAL)" \
		"$(line "response without completion code" EINVAL)" \
		"$(line "269 data bytes" EMSGSIZE)" \
		"$(line "get device id from 0x70" "type 1 addr 0x81/0 sa 0x70 rs_lun 1 rq_lun 2 msgid 0x1234 netfn 0x7 cmd 0x1: 00 71 02 01 05 51 57 01 00 34 12")" \
		"$(line "get device id from absent 0x72" "type 1 addr 0x81/0 sa 0x72 rs_lun 0 rq_lun 0 msgid 0x43 netfn 0x7 cmd 0x1: c3")" \
		"$(line "0x74 answers without completion code" "type 1 addr 0x81/0 sa 0x74 rs_lun 1 rq_lun 2 msgid 0x47 netfn 0x7 cmd 0x1: ff")" \
		"$(line "  the command" "type 3 addr 0x81/0 sa 0x70 rs_lun 0 rq_lun 2 msgid 0x15 netfn 0x30 cmd 0x11: aa bb")" &&
		grep -q '^  its sending  .* type 4 addr .* msgid 0x15 netfn 0x31 cmd 0x11: 00$' "$work/$1" &&
		[ "$(grep -c '^0x70 got from us' "$work/$1")" = 4 ] &&
		grep -q '^0x70 got from us .*: 00 c6 70 54 11 c1$' "$work/$1" &&
		grep -q '^0x70 got from us .*: 00 c6 70 54 11 00 42$' "$work/$1"
}

# line CASE REST: one of ipmi-direct's lines.
line() {
	printf '%-40s %s' "$1" "$2"
}

upstream_lines() {
	load_stack c && direct_run c && bus_answers c
}
tap_run "upstream's stack: ipmi-direct over the loopback bus" upstream_lines

ours_under_c() {
	load_stack msghandler && direct_run msghandler && bus_answers msghandler
}
tap_run "our handler under upstream's leaves: ipmi-direct over the loopback bus" ours_under_c

# The report that a response was sent carries the address it went to on
# ours; upstream's leaves that field as its allocator found it (it does
# not zero the receive message, nor set the address on this path), so
# the comparison leaves that field out. Ours is asserted as it must be.
sans_sent_address() {
	sed 's/^\(  its sending  *type 4 addr\).*\( msgid\)/\1 ...\2/' "$work/$1"
}

sent_to_the_command_source() {
	has_lines "$work/$1" \
		"$(line "  its sending" "type 4 addr 0x81/0 sa 0x70 rs_lun 0 rq_lun 2 msgid 0x15 netfn 0x31 cmd 0x11: 00")"
}

same_as_upstream() {
	diff -u <(sans_sent_address c) <(sans_sent_address "$1") && sent_to_the_command_source "$1"
}
tap_run "our handler's lines are upstream's; a sent response's report has its address" same_as_upstream msghandler

all_ours() {
	load_stack rust && direct_run rust && bus_answers rust
}
tap_run "all ours: ipmi-direct over the loopback bus" all_ours

tap_run "all ours: the lines are upstream's; a sent response's report has its address" same_as_upstream rust

# Our handler counts what it handled (debugfs): the command it answered
# 0xc1 and the one a user took, on the loopback's interface.
counted() {
	load_stack msghandler && insmod "$ko" && wait_for /dev/ipmi1 10 || return 1
	"$tools/ipmi-direct" /dev/ipmi1 /dev/ipmi0 >/dev/null 2>&1
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	local f=/sys/kernel/debug/ipmi_msghandler/intf1
	grep -E '^(handled|unhandled)_commands|^malformed' "$f"
	local h u
	h=$(sed -n 's/^handled_commands: //p' "$f")
	u=$(sed -n 's/^unhandled_commands: //p' "$f")
	rmmod ipmi_smi_test
	[ "$h" = 1 ] && [ "$u" = 1 ]
}
tap_run "our handler counted one command handled, one answered 0xc1" counted

# A controller that answers a single byte: upstream's handler would copy
# the answer's data with a negative length (rsp_size - 4), so it is asked
# over ours only. The request ends in "unspecified error", counted and
# logged.
tiny_answer() {
	load_stack msghandler && insmod "$ko" && wait_for /dev/ipmi1 10 || return 1
	local mark rv=0
	mark=$(kmsg_mark)
	"$tools/ipmi-direct" /dev/ipmi1 /dev/ipmi0 tiny >"$work/tiny" 2>&1 || rv=1
	grep 0x76 "$work/tiny"
	kmsg_since "$mark" | tee "$work/tiny.log"
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	local malformed
	malformed=$(sed -n 's/^malformed_responses: //p' /sys/kernel/debug/ipmi_msghandler/intf1)
	echo "malformed_responses: $malformed"
	rmmod ipmi_smi_test || rv=1
	# Two malformed answers (0x74's and 0x76's), one log line: the
	# second falls in the first's rate limit.
	[ $rv = 0 ] && has_lines "$work/tiny" \
		"$(line "0x76 answers one byte" "type 1 addr 0x81/0 sa 0x76 rs_lun 1 rq_lun 2 msgid 0x48 netfn 0x7 cmd 0x1: ff")" &&
		[ "$malformed" = 2 ] &&
		[ "$(grep -c 'returned a malformed answer for netfn 0x7 cmd 0x1' "$work/tiny.log")" = 1 ]
}
tap_run "our handler: a one-byte answer ends the request in 0xff, counted, logged once" tiny_answer

# A command from the bus comes up in a message with no request bytes
# (zero length), as ipmi_ipmb hands it up, and the first request byte is
# what kmalloc left there. Upstream's handler reads that byte anyway and,
# when it reads as a response's netfn, takes the command for the report
# of a sent response and drops it: a registered user never gets it, and
# nothing is answered. ipmi_smi_test sets the byte (0x1c) for 0x30/0x13.
# Upstream's drop is asserted as what it does (it decides by memory it
# was not given); ours must deliver the command.
stale_byte() {
	local stack
	for stack in c msghandler; do
		load_stack "$stack" && insmod "$ko" && wait_for /dev/ipmi1 10 || return 1
		"$tools/ipmi-direct" /dev/ipmi1 /dev/ipmi0 stale >"$work/stale-$stack" 2>&1
		rmmod ipmi_smi_test || return 1
		echo "$stack:"
		grep -A1 'stale byte' "$work/stale-$stack" | tail -2
	done
	has_lines "$work/stale-c" "$(line "  the command" "none within 2 s")" &&
		has_lines "$work/stale-msghandler" \
			"$(line "  the command" "type 3 addr 0x81/0 sa 0x70 rs_lun 0 rq_lun 2 msgid 0x15 netfn 0x30 cmd 0x11: aa bb")"
}
tap_run "a command in a message with a stale first byte: upstream drops it, ours delivers it" stale_byte

back_to_c() {
	load_stack c && ipmitool -I open mc info >/dev/null
}
tap_run "upstream's stack back, ipmitool answers" back_to_c
rm -rf "$work"
