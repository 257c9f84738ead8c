# SPDX-License-Identifier: GPL-2.0
# An interface whose interrupt is an ACPI GPE (vm-run --intf kcs-gpe: our
# SSDT describes QEMU's KCS interface again, as \_SB.IPMG with _GPE 2;
# the host raises GPE 2 when a test asks, by plugging in a vCPU). QEMU's
# own description of the interface is kept from both drivers, so that
# each binds the GPE one. Ours first: it claims the GPE, enables it,
# counts each event as an interrupt, keeps the GPE enabled after each,
# and on unload gives the GPE back to its method as it found it. Then
# upstream's, side by side: same answers; its GPE left disabled
# (upstream never enables it), and, enabled by hand, it takes one event
# and leaves the GPE off in hardware. Last in its boot (the GPE stays off
# after that).

tools=$REPO/target/selftests
work=$(mktemp -d)
gpe=/sys/firmware/acpi/interrupts/gpe02
tap_expect 10

# gpe_kick: the host raises GPE 2 once; waits for it to say it did.
gpe_kick() {
	local n _
	n=$(($(cat "$OUT/gpe-kicked" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$OUT/gpe-kick"
	for _ in $(seq 150); do
		[ "$(cat "$OUT/gpe-kicked" 2>/dev/null)" = "$n" ] && return 0
		sleep 0.1
	done
	echo "the host did not raise the GPE (kick $n)"
	return 1
}

# gpe_count, gpe_enabled: the ACPI core's count of GPE 2 and whether it
# is enabled ("enabled" in its sysfs line, not "disabled").
gpe_count() { awk '{ print $1 }' "$gpe"; }
gpe_enabled() { grep -qw enabled "$gpe"; }

# until_changed CMD OLD: waits up to 5 s for CMD's output to differ from OLD.
until_changed() {
	local _
	for _ in $(seq 50); do
		[ "$($1)" != "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# The platform device of the interface's GPE description, and QEMU's.
dev_of() {
	local d
	for d in /sys/bus/platform/devices/IPI0001:*; do
		case "$(cat "$d/firmware_node/path")" in
		*IPMG) [ "$1" = gpe ] && echo "$d" ;;
		*) [ "$1" = qemu ] && echo "$d" ;;
		esac
	done
}
si_interrupts() { cat "$(dev_of gpe)/interrupts"; }

setup() {
	local qemu before
	unload_all
	qemu=$(dev_of qemu)
	[ -n "$qemu" ] && [ -n "$(dev_of gpe)" ] || { ls /sys/bus/platform/devices/; return 1; }
	echo "QEMU's description: $qemu, ours: $(dev_of gpe)"
	# No driver named "none": neither ipmi_si binds QEMU's description.
	echo none >"$qemu/driver_override"
	echo "GPE 2 before: $(cat "$gpe")"
	gpe_enabled || return 1
	# The host's event reaches the GPE's own method (CPU hotplug).
	before=$(gpe_count)
	gpe_kick && until_changed gpe_count "$before"
	echo "GPE 2 after a kick: $(cat "$gpe")"
	cmod ipmi_devintf
}
tap_run "the interface is described twice, once with _GPE 2; GPE 2 fires on the host's kick" setup

ours_binds() {
	local mark
	mark=$(kmsg_mark)
	insmod "$(rust_si_ko)" && wait_for /dev/ipmi0 15 && si_is_ours || return 1
	kmsg_since "$mark" | grep ipmi_si
	grep -q 'irq=2,' "$(dev_of gpe)/params" && [ "$(cat "$(dev_of gpe)/interrupts_enabled")" = 1 ] &&
		kmsg_since "$mark" | grep -q 'using ACPI GPE 2' && gpe_enabled
}
tap_run "our ipmi_si binds the GPE description, claims and enables GPE 2" ours_binds

ours_events() {
	local i irqs count
	for i in 1 2; do
		irqs=$(si_interrupts) count=$(gpe_count)
		gpe_kick && until_changed si_interrupts "$irqs" || return 1
		echo "kick $i: interrupts $irqs -> $(si_interrupts), GPE: $(cat "$gpe")"
		[ "$(gpe_count)" -gt "$count" ] && gpe_enabled || return 1
	done
}
tap_run "ours: each GPE is an interrupt of the interface, and the GPE stays enabled" ours_events

answers() {
	ipmitool -I open mc info >"$work/mc-info-$1.txt" &&
		"$tools/ipmi-stress" clients 4 5 | tee "$work/stress-$1.txt" &&
		grep -q '^Device ID' "$work/mc-info-$1.txt"
}
tap_run "ours: ipmitool answers; 4 clients for 5 s, every answer its own" answers ours

ours_unloads() {
	local count
	rmmod ipmi_si && [ ! -e /dev/ipmi0 ] || return 1
	echo "GPE 2 after our unload: $(cat "$gpe")"
	gpe_enabled || return 1
	# Back to its method: the next event is counted with no handler of ours.
	count=$(gpe_count)
	gpe_kick && until_changed gpe_count "$count"
}
tap_run "ours unloaded: GPE 2 is its method's again, enabled, and fires" ours_unloads

upstream_binds() {
	local mark
	mark=$(kmsg_mark)
	cmod ipmi_si && wait_for /dev/ipmi0 15 && ! si_is_ours || return 1
	kmsg_since "$mark" | grep -i 'ipmi_si\|GPE'
	kmsg_since "$mark" | grep -q 'Using ACPI GPE 2'
}
tap_run "upstream's ipmi_si binds the GPE description and says it uses GPE 2" upstream_binds

# Upstream installs its handler and never enables the GPE: an event is
# left pending and the driver, counting itself interrupt-driven, is never
# told.
upstream_gpe_off() {
	local irqs
	echo "GPE 2 under upstream's: $(cat "$gpe")"
	gpe_enabled && return 1
	irqs=$(si_interrupts)
	gpe_kick && sleep 1
	echo "after a kick: $(cat "$gpe"), upstream's interrupts $irqs -> $(si_interrupts)"
	[ "$(si_interrupts)" = "$irqs" ]
}
tap_run "upstream: GPE 2 left disabled, its events never reach the driver (upstream weak point)" upstream_gpe_off

tap_run "upstream: ipmitool answers; 4 clients for 5 s" answers upstream

same_answers() {
	diff "$work/mc-info-ours.txt" "$work/mc-info-upstream.txt" && cat "$work/mc-info-ours.txt"
	echo "4 clients, 5 s: ours: $(cat "$work/stress-ours.txt")"
	echo "4 clients, 5 s: upstream's: $(cat "$work/stress-upstream.txt")"
	diff "$work/mc-info-ours.txt" "$work/mc-info-upstream.txt" >/dev/null
}
tap_run "the same mc info over ours and upstream's" same_answers

# Enabled by hand (as firmware or a later driver might leave it), the GPE
# reaches upstream's handler once; upstream does not ask for it again, so
# the GPE stays off in hardware and the next event is lost.
upstream_once() {
	local irqs
	echo enable >"$gpe"
	irqs=$(si_interrupts)
	gpe_kick && until_changed si_interrupts "$irqs" || return 1
	echo "first kick: interrupts $irqs -> $(si_interrupts), GPE: $(cat "$gpe")"
	irqs=$(si_interrupts)
	gpe_kick && sleep 1
	echo "second kick: interrupts $irqs -> $(si_interrupts), GPE: $(cat "$gpe")"
	[ "$(si_interrupts)" = "$irqs" ]
}
tap_run "upstream, GPE enabled by hand: one event, then none (upstream weak point)" upstream_once
