# SPDX-License-Identifier: GPL-2.0
# Two interfaces at once (a scenario of upstream's maintainer): QEMU's BMC
# behind KCS and a second one behind SSIF (boot --intf kcs+ssif), each
# with its own identity. For the all-C stack and then for ours (our
# handler, devintf and ipmi_si, with upstream's ipmi_ssif): each
# /dev/ipmiN answers with its own BMC's identity and has its own
# ipmi_bmc.N (ours: the same names, links and attributes as upstream's);
# clients on both at once lose nothing; the SSIF interface taken away and
# given back under clients on the KCS one leaves those clients untouched,
# its BMC device goes and comes with it; everything unloads. In a
# kcs+ssif-shared boot both BMCs answer with one identity: the handler
# takes them for one BMC, and both interfaces share one ipmi_bmc.N (linked
# to both) that stays, with the KCS interface's link, while SSIF is gone.

tools=$REPO/target/selftests
work=$(mktemp -d)
handler_ko=$MODS/drivers/char/ipmi/msghandler/ipmi_msghandler.ko
case "$INTF" in
kcs+ssif) shared=0 ;;
kcs+ssif-shared) shared=1 ;;
*) tap_fail "two-intf needs a kcs+ssif boot, not $INTF"; return 0 ;;
esac
tap_expect 10

# ssif_up: upstream's ipmi_ssif registers the second interface (lib.sh's
# tries).
ssif_up() {
	ssif_retry /dev/ipmi1 cmod ipmi_ssif
}

# load_two c|rust: the stack with ipmi_si first (interface 0, KCS), then
# upstream's ipmi_ssif (interface 1).
load_two() {
	case "$1" in
	c) cmod ipmi_devintf && cmod ipmi_si && wait_for /dev/ipmi0 15 && ! si_is_ours ;;
	rust)
		insmod "$handler_ko" && insmod "$(rust_devintf_ko)" && insmod "$(rust_si_ko)" &&
			wait_for /dev/ipmi0 15 && si_is_ours && grep -q O /sys/module/ipmi_msghandler/taint
		;;
	esac && ssif_up
}

# identities NAME: each interface's BMC as ipmitool and sysfs see it.
identities() {
	local n
	for n in 0 1; do
		echo "== ipmi$n"
		ipmitool -I open -d "$n" mc info | grep -E '^(Device ID|Product ID|Manufacturer ID) ' || return 1
		bmc_facts "$n" || return 1
	done >"$work/ident-$1.txt"
	cat "$work/ident-$1.txt"
}

# Upstream's: two BMCs told apart (device ids 32 and 33), two devices;
# or (shared) one identity, one device.
c_identities() {
	local ids devices
	identities c || return 1
	ids=$(grep '^Device ID ' "$work/ident-c.txt" | tr -s ' ' | tr '\n' ' ')
	devices=$(grep '^device: ipmi_bmc' "$work/ident-c.txt" | sort -u | wc -l)
	if [ $shared = 1 ]; then
		[ "$ids" = "Device ID : 32 Device ID : 32 " ] && [ "$devices" = 1 ]
	else
		[ "$ids" = "Device ID : 32 Device ID : 33 " ] && [ "$devices" = 2 ]
	fi
}

rust_identities() {
	identities rust && diff -u "$work/ident-c.txt" "$work/ident-rust.txt"
}

# Four clients on each interface for 10 s, side by side: every answer
# arrives once, to its sender, with completion code 0.
both_at_once() {
	local a b rc=0
	IPMI_DEV=/dev/ipmi0 "$tools/ipmi-stress" clients 4 10 >"$work/kcs.txt" 2>&1 &
	a=$!
	IPMI_DEV=/dev/ipmi1 "$tools/ipmi-stress" clients 4 10 >"$work/ssif.txt" 2>&1 &
	b=$!
	wait "$a" || rc=1
	wait "$b" || rc=1
	echo "ipmi0 (KCS): $(tail -1 "$work/kcs.txt")"
	echo "ipmi1 (SSIF): $(tail -1 "$work/ssif.txt")"
	return $rc
}

# The SSIF interface taken away (its driver unloaded) and given back while
# four clients run on the KCS one: they lose nothing; /dev/ipmi1 and its
# BMC device go and come back, and answer.
one_goes() {
	local pid bmc rc=0
	bmc=$(basename "$(readlink -f /sys/class/ipmi/ipmi1/device/bmc)")
	IPMI_DEV=/dev/ipmi0 "$tools/ipmi-stress" clients 4 8 >"$work/kcs-alone.txt" 2>&1 &
	pid=$!
	sleep 1
	rmmod ipmi_ssif && [ ! -e /dev/ipmi1 ] || rc=1
	if [ $shared = 1 ]; then
		# Still the KCS interface's BMC, without the SSIF link.
		[ -e "/sys/bus/platform/devices/$bmc/ipmi0" ] && [ ! -e "/sys/bus/platform/devices/$bmc/ipmi1" ] ||
			{ echo "$bmc: links after SSIF went: $(ls "/sys/bus/platform/devices/$bmc")"; rc=1; }
	elif [ -e "/sys/bus/platform/devices/$bmc" ]; then
		echo "$bmc outlived its interface"
		rc=1
	fi
	sleep 1
	ssif_up || rc=1
	wait "$pid" || rc=1
	echo "KCS clients while SSIF went and came: $(tail -1 "$work/kcs-alone.txt")"
	[ $rc = 0 ] && ipmitool -I open -d 1 mc info | grep -q "^Device ID *: $((shared ? 32 : 33))\$" &&
		[ -e "/sys/class/ipmi/ipmi1/device/bmc" ]
}

# Everything unloads; our handler would say if a message was left.
unload_two() {
	local mark
	mark=$(kmsg_mark)
	unload_all || return 1
	! kmsg_since "$mark" | grep -i 'messages in use'
}

tap_run "upstream's stack: KCS and SSIF interfaces register" load_two c || return 0
tap_run "upstream's stack: each interface's BMC identity and ipmi_bmc device (shared: one)" c_identities
tap_run "upstream's stack: 4 clients on each interface at once" both_at_once
tap_run "upstream's stack: SSIF goes and comes under clients on KCS" one_goes
tap_run "upstream's stack unloads" unload_two || return 0

tap_run "our stack (Rust handler, devintf, ipmi_si; C ipmi_ssif): both interfaces register" load_two rust ||
	return 0
tap_run "our stack: each interface's identity and BMC device as upstream's" rust_identities
tap_run "our stack: 4 clients on each interface at once" both_at_once
tap_run "our stack: SSIF goes and comes under clients on KCS" one_goes
tap_run "our stack unloads" unload_two
