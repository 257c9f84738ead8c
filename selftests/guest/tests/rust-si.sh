# SPDX-License-Identifier: GPL-2.0
# Our ipmi_si (Rust) in place of upstream's, in the same boot, under the C
# ipmi_msghandler and C ipmi_devintf: it finds the interface where
# upstream's did, the clients' answers are the ones recorded from the C
# stack (the files c-baseline asserts), and it unloads cleanly with
# clients running, leaving upstream's ipmi_si loaded again. Runs before
# rust-devintf (which leaves upstream's ipmi_si impossible to unload).

ko=$(rust_si_ko)
tools=$REPO/target/selftests
work=$(mktemp -d)
ensure_c_stack || return 0
cycles=20
[ -e /proc/lockdep ] && cycles=4
# A whole idle minute where the boot has the time (QEMU's BMC over BT,
# with its IRQ, and over KCS polled), 10 s elsewhere.
idle_secs=10
case "$BMC/$INTF" in sim/bt | sim/kcs-noirq) [ -e /proc/lockdep ] || idle_secs=60 ;; esac
n=$((12 + 10))
[ "$BMC" = ipmi_sim ] && n=$((n + 1))
[ "$INTF" = kcs-noirq ] && n=$((n + 1))
tap_expect $n

# What upstream's driver made: the interface's device and the BMC's.
intf_facts() {
	readlink -f /sys/class/ipmi/ipmi0/device | sed 's/[0-9]*$//'
	[ -e /sys/class/ipmi/ipmi0/device/bmc ] && echo "has a bmc link"
}
intf_facts >"$work/c-intf.txt"

# upstream's attributes that describe the interface (the counters differ
# from one driver to the other by nature).
si_attrs() {
	local d=/sys/class/ipmi/ipmi0/device a
	for a in type interrupts_enabled params; do
		echo "$a: $(cat "$d/$a")"
	done
}
si_attrs >"$work/c-attrs.txt"

swap_to_rust_si() {
	local mark
	mark=$(kmsg_mark)
	use_si rust || { kmsg_since "$mark"; return 1; }
	kmsg_since "$mark" | grep 'Rust ipmi_si'
	[ "$(modinfo -F filename "$ko")" = "$ko" ]
}
tap_run "our ipmi_si replaces upstream's and /dev/ipmi0 comes back" swap_to_rust_si

same_intf() {
	intf_facts >"$work/rust-intf.txt"
	cat "$work/rust-intf.txt"
	diff -u "$work/c-intf.txt" "$work/rust-intf.txt"
}
tap_run "our ipmi_si: the interface sits on the same device as upstream's" same_intf

same_attrs() {
	si_attrs >"$work/rust-attrs.txt"
	cat "$work/rust-attrs.txt"
	diff -u "$work/c-attrs.txt" "$work/rust-attrs.txt"
}
tap_run "our ipmi_si: type, interrupts_enabled and params read as upstream's" same_attrs

client_battery "our ipmi_si: "

# attr NAME: one of the interface's counters.
attr() {
	cat "/sys/class/ipmi/ipmi0/device/$1"
}
counters_count() {
	local before after irq_before
	before=$(attr complete_transactions)
	irq_before=$(attr interrupts)
	ipmitool -I open mc info >/dev/null || return 1
	after=$(attr complete_transactions)
	echo "complete_transactions $before -> $after, interrupts $irq_before -> $(attr interrupts)"
	[ "$after" -gt "$before" ] || return 1
	[ "$(attr interrupts_enabled)" = 0 ] || [ "$(attr interrupts)" -gt "$irq_before" ]
}
tap_run "our ipmi_si: the counters count a request (and its interrupts)" counters_count

# With no client and nothing watched, the interface must not wake: no
# timer expiry, no interrupt, no register access, with or without IRQ.
idle_quiet() {
	local t0 i0 r0
	sleep 1
	t0=$(attr timer_wakeups) i0=$(attr interrupts) r0=$(attr register_accesses)
	sleep "$idle_secs"
	echo "in $idle_secs s idle: timer $t0 -> $(attr timer_wakeups), interrupts $i0 -> $(attr interrupts), register accesses $r0 -> $(attr register_accesses)"
	[ "$(attr timer_wakeups)" = "$t0" ] && [ "$(attr interrupts)" = "$i0" ] &&
		[ "$(attr register_accesses)" = "$r0" ]
}
tap_run "our ipmi_si: idle for $idle_secs s without a single wake-up" idle_quiet

# Polled, idle, with the handler watching (a user registered for a
# command, which upstream's handler watches for with the interface):
# upstream's 10 ms tick, one status read per tick, and nothing once the
# user has unregistered. (Closing without unregistering leaves upstream's
# handler watching for good: watch-release.) TCG's timers fire late,
# never early: at most 100 a second.
watched_tick() {
	local secs=10 t0 r0 ticks reads
	t0=$(attr timer_wakeups) r0=$(attr register_accesses)
	"$tools/ipmi-stress" watch "$secs" unregister || return 1
	ticks=$(($(attr timer_wakeups) - t0)) reads=$(($(attr register_accesses) - r0))
	echo "polled, watched for $secs s: $ticks timer expiries, $reads register accesses"
	[ "$ticks" -ge $((secs * 50)) ] && [ "$ticks" -le $((secs * 100 + 5)) ] &&
		[ "$reads" -le $((ticks + 10)) ] || return 1
	sleep 1
	t0=$(attr timer_wakeups)
	sleep 5
	echo "then 5 s with nobody watching: $(($(attr timer_wakeups) - t0)) timer expiries"
	[ "$(attr timer_wakeups)" = "$t0" ]
}
[ "$INTF" = kcs-noirq ] &&
	tap_run "our ipmi_si, polled: a watching user costs the 10 ms tick, one status read each; none after" watched_tick

tap_run "our ipmi_si: ipmitool raw 0x06 0x01" raw_get_device_id
tap_run "our ipmi_si: an invalid command ends in completion code 0xc1" raw_invalid

many_clients() {
	"$tools/ipmi-stress" clients 8 10
}
tap_run "our ipmi_si: 8 concurrent clients for 10 s, every answer to its own request" many_clients

# unload_si: rmmod ipmi_si, again while a client holds /dev/ipmi0 open
# (the handler pins the interface's module while a user exists, ours and
# upstream's alike; the gaps between client runs let it go).
unload_si() {
	local _
	for _ in $(seq 100); do
		rmmod ipmi_si 2>/dev/null && return 0
		sleep 0.05
	done
	rmmod ipmi_si
}

# Load and unload while a client keeps asking: every unload is clean, the
# client sees errors in between, never a hang, and the kernel stays clean
# (the host judges taint and warnings after the boot).
cycle_under_load() {
	local i pid rc=0
	( while :; do ipmitool -I open raw 0x06 0x01 >/dev/null 2>&1; done ) &
	pid=$!
	for i in $(seq "$cycles"); do
		unload_si || { rc=1; break; }
		insmod "$ko" && wait_for /dev/ipmi0 15 || { rc=1; break; }
	done
	kill "$pid"
	wait "$pid" 2>/dev/null
	echo "$i cycles"
	return $rc
}
tap_run "our ipmi_si: unloaded and loaded $cycles times under a running client" cycle_under_load

# After ours followed ours: a BT interrupt left raised by the last load
# once kept the next from ever seeing one (the requests still went,
# driven from the sender; events would not have).
tap_run "our ipmi_si: after the cycles mc info answers, its interrupts counted" counters_count

# The interface again, given by hand instead of found: the address and type
# upstream's driver showed in its params attribute.
read -r si_kind si_space si_addr <<<"$(sed -n 's/^params: \([a-z]*\),\([a-z/]*\),\(0x[0-9a-f]*\),.*/\1 \2 \3/p' "$work/c-attrs.txt")"
quiet="tryacpi=0 trydmi=0 trypci=0"
by_parameters() {
	local addr_param=ports
	[ "$si_space" = mem ] && addr_param=addrs
	unload_si && [ ! -e /dev/ipmi0 ] || return 1
	# shellcheck disable=SC2086 # $quiet is a list
	insmod "$ko" $quiet type="$si_kind" "$addr_param=$si_addr" && wait_for /dev/ipmi0 15 || return 1
	attr params
	attr params | grep -q "^$si_kind,$si_space,$si_addr,rsp=1,rsi=1,rsh=0,irq=0," &&
		readlink -f /sys/class/ipmi/ipmi0/device | grep -q '/hardcode-ipmi-si\.0$' &&
		ipmitool -I open mc info | grep -q '^Device ID'
}
tap_run "our ipmi_si: the interface given by type= and ports=/addrs= instead" by_parameters

by_hotmod() {
	local hotmod=/sys/module/ipmi_si/parameters/hotmod
	rmmod ipmi_si && [ ! -e /dev/ipmi0 ] || return 1
	# shellcheck disable=SC2086 # $quiet is a list
	insmod "$ko" $quiet && sleep 1 && [ ! -e /dev/ipmi0 ] || return 1
	! echo "add,usb,$si_space,$si_addr" >"$hotmod" 2>/dev/null || return 1
	echo "add,$si_kind,$si_space,$si_addr" >"$hotmod" && wait_for /dev/ipmi0 15 || return 1
	readlink -f /sys/class/ipmi/ipmi0/device | grep -q '/hotmod-ipmi-si\.1$' &&
		ipmitool -I open mc info | grep -q '^Device ID' || return 1
	echo "remove,$si_kind,$si_space,$si_addr" >"$hotmod" && sleep 1 && [ ! -e /dev/ipmi0 ] || return 1
	echo "add,$si_kind,$si_space,$si_addr" >"$hotmod" && wait_for /dev/ipmi0 15 &&
		ipmitool -I open mc info | grep -q '^Device ID'
}
tap_run "our ipmi_si: hotmod adds, removes and adds the interface again at run time" by_hotmod

# mod_facts KO: a module's aliases, then its parameters as "name type"
# (the descriptions are each module's own words).
mod_facts() {
	modinfo -F alias "$1" | sort
	modinfo "$1" | sed -n -e 's/^parm: *\([a-z_]*\):.*(\([a-z ]*\))$/\1 \2/p' \
		-e 's/^parm: *\([a-z_]*\):[^(]*$/\1/p' | sort
}
modinfo_same() {
	mod_facts "$(cko ipmi_si)" >"$work/c-modinfo.txt"
	mod_facts "$ko" >"$work/rust-modinfo.txt"
	cat "$work/rust-modinfo.txt"
	diff -u "$work/c-modinfo.txt" "$work/rust-modinfo.txt"
}
tap_run "our ipmi_si: modinfo shows upstream's aliases and parameters (names, types)" modinfo_same

param_files ipmi_si >"$work/rust-files"

back_to_c() {
	unload_si && [ ! -e /dev/ipmi0 ] && cmod ipmi_si && wait_for /dev/ipmi0 15
}
tap_run "upstream's ipmi_si takes the interface back" back_to_c
same_files() {
	param_files ipmi_si >"$work/c-files"
	cat "$work/rust-files"
	[ -s "$work/c-files" ] && diff -u "$work/c-files" "$work/rust-files"
}
tap_run "our ipmi_si had upstream's files under /sys/module/ipmi_si/parameters, with their modes" same_files
