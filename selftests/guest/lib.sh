# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Helpers for guest test scripts (sourced). TAP results go to fd 3; the
# count lives in a file so that tests running in subshells share it.

_tap_next() {
	local n
	n=$(($(cat "$OUT/.tap-count") + 1))
	echo "$n" >"$OUT/.tap-count"
	echo "$n"
}

tap_ok() {
	echo "ok $(_tap_next) - $*" >&3
}

# tap_fail DESC [DIAGNOSTIC-FILE]
tap_fail() {
	echo "not ok $(_tap_next) - $1" >&3
	if [ -n "${2:-}" ] && [ -f "$2" ]; then
		tail -20 "$2" | sed 's/^/#   /' >&3
	fi
}

tap_plan() {
	echo "1..$(cat "$OUT/.tap-count")"
}

# tap_expect N: the rest of this test script gives exactly N results.
# Every test script declares it (entry.sh fails one that does not), so a
# script that stops early, or skips results, fails instead of passing
# with fewer. Call it after any step that may add a result of its own
# (ensure_c_stack), with N computed for the boot's BMC and interface.
tap_expect() {
	echo "$(cat "$OUT/.tap-count") $1" >"$OUT/.tap-expect"
}

# tap_run DESC CMD...: one test that passes when CMD succeeds; CMD's output
# is kept in guest.log and shown under a failure.
tap_run() {
	local desc=$1 log rc=0
	shift
	log=$(mktemp)
	echo "\$ $*"
	"$@" >"$log" 2>&1 || rc=$?
	cat "$log"
	if [ $rc = 0 ]; then
		tap_ok "$desc"
	else
		echo "(exit status $rc)" >>"$log"
		tap_fail "$desc" "$log"
	fi
	rm -f "$log"
	return $rc
}

# outcome SCENARIO STACK RESULT [DETAIL...]: one cell of the suite's
# scenario x stack table, which selftests/run prints after the boots
# (selftests/lib/outcomes.py). STACK names what carried the requests:
# c (upstream's modules only), si, devintf or msghandler (that module of
# ours among upstream's others), rust (ours throughout; over SSIF with
# upstream's ipmi_ssif). RESULT is one word: pass (everything answered),
# errors (some requests ended in an error the client saw, none lost),
# refused (the stack turned requests away), lost, wrong, late (answered,
# past the scenario's bound) or fail. Recording is not judging: the test
# still passes or fails on its own assertions.
outcome() {
	local scenario=$1 stack=$2 result=$3
	shift 3
	printf '%s\t%s\t%s\t%s\t%s\n' "$BMC/$INTF" "$scenario" "$stack" "$result" "$*" >>"$OUT/outcomes.txt"
}

# The C IPMI modules the kernel build installed under $MODROOT.
cmod() {
	modprobe -d "$MODROOT" "$@"
}

# Path of one C module, to load it alone (modprobe would also load
# ipmi_msghandler's soft dependency, ipmi_devintf).
cko() {
	echo "$MODROOT/lib/modules/$(uname -r)/kernel/drivers/char/ipmi/$1.ko"
}

# The interface driver for the interface under test.
si_driver() {
	case "$INTF" in
	ssif) echo ipmi_ssif ;;
	*) echo ipmi_si ;;
	esac
}

wait_for() {
	local path=$1 secs=${2:-10} _
	for _ in $(seq $((secs * 10))); do
		[ -e "$path" ] && return 0
		sleep 0.1
	done
	return 1
}

load_c_stack() {
	cmod ipmi_devintf && cmod "$(si_driver)" && wait_for /dev/ipmi0 15
}

# ssif_retry NODE CMD...: CMD loads upstream's ipmi_ssif (and whatever
# else it loads) and NODE must then come. Upstream's ipmi_ssif, loaded
# again against ipmi_sim through QEMU's smbus-ipmi, finds the BMC "Not
# present" at times, up to three loads in a row, over the all-C stack as
# well as over ours: its probe's Get Device ID reads back an answer that
# is not its own and gives up at once. Up to six tries, each logged, the
# module unloaded between them.
ssif_retry() {
	local node=$1 try
	shift
	for try in 1 2 3 4 5 6; do
		"$@" && wait_for "$node" 20 && return 0
		echo "ipmi_ssif did not register (try $try); loading it again"
		grep -q '^ipmi_ssif ' /proc/modules && rmmod ipmi_ssif
		sleep 2
	done
	return 1
}

# Tests that only need the C stack share one load of it per boot: loading
# it again after an unload is a test of its own (upstream ipmi_ssif, after
# a reload against ipmi_sim, sometimes finds the BMC "Not present").
ensure_c_stack() {
	if grep -q "^$(si_driver) " /proc/modules && [ -e /dev/ipmi0 ]; then
		return 0
	fi
	tap_run "C stack loads over $INTF ($(si_driver))" load_c_stack
}

unload_c_stack() {
	local m
	for m in "$(si_driver)" ipmi_devintf ipmi_msghandler; do
		rmmod "$m" || { grep ipmi /proc/modules; return 1; }
	done
	[ ! -e /dev/ipmi0 ]
}

# Our ipmi_devintf, built for this kernel.
rust_devintf_ko() {
	echo "$MODS/drivers/char/ipmi/devintf/ipmi_devintf.ko"
}

# upstream's C handler and interface driver with our ipmi_devintf. insmod,
# not modprobe, for the handler: modprobe would also load upstream's
# devintf, its soft dependency.
load_stack_rust_devintf() {
	insmod "$(cko ipmi_msghandler)" && insmod "$(rust_devintf_ko)" &&
		cmod "$(si_driver)" && wait_for /dev/ipmi0 15
}

# Our ipmi_si, built for this kernel.
rust_si_ko() {
	echo "$MODS/drivers/char/ipmi/si/ipmi_si.ko"
}

# The loaded ipmi_si is ours (out of tree: taint O), not upstream's.
si_is_ours() {
	grep -q O /sys/module/ipmi_si/taint
}

# upstream's C handler and C ipmi_devintf with our ipmi_si.
load_stack_rust_si() {
	cmod ipmi_devintf && insmod "$(rust_si_ko)" && wait_for /dev/ipmi0 15 && si_is_ours
}

# Our ipmi_msghandler, built for this kernel.
rust_handler_ko() {
	echo "$MODS/drivers/char/ipmi/msghandler/ipmi_msghandler.ko"
}

# load_stack c|si|devintf|msghandler|rust: from nothing loaded, that stack
# over the boot's interface (ours only over KCS or BT): upstream's three modules,
# ours in place of one of them, or all three ours. The handler goes in by
# insmod, so that modprobe does not pull upstream's devintf in with it.
load_stack() {
	unload_all || return 1
	case "$1" in
	c) load_c_stack && ! si_is_ours ;;
	si) load_stack_rust_si ;;
	devintf) load_stack_rust_devintf ;;
	msghandler)
		insmod "$(rust_handler_ko)" && insmod "$(cko ipmi_devintf)" &&
			insmod "$(cko "$(si_driver)")" && wait_for /dev/ipmi0 20 && ! si_is_ours
		;;
	rust)
		insmod "$(rust_handler_ko)" && insmod "$(rust_devintf_ko)" &&
			insmod "$(rust_si_ko)" && wait_for /dev/ipmi0 20 && si_is_ours
		;;
	*) return 1 ;;
	esac
}

# param_files MODULE: the loaded module's files under
# /sys/module/MODULE/parameters and their modes (what root's tuning
# scripts write to), one per line.
param_files() {
	local f
	for f in "/sys/module/$1/parameters"/*; do
		echo "${f##*/} $(stat -c %a "$f")"
	done | sort
}

# use_si rust|c [SECS]: put that ipmi_si in place of the loaded one, under
# the loaded handler; /dev/ipmi0 comes back within SECS (15) and the
# loaded driver is the one asked for.
use_si() {
	rmmod ipmi_si && [ ! -e /dev/ipmi0 ] || return 1
	case "$1" in
	rust) insmod "$(rust_si_ko)" && wait_for /dev/ipmi0 "${2:-15}" && si_is_ours ;;
	c) cmod ipmi_si && wait_for /dev/ipmi0 "${2:-15}" && ! si_is_ours ;;
	*) return 1 ;;
	esac
}

# use_devintf rust|c: put that ipmi_devintf in place of the loaded one,
# under the loaded handler; /dev/ipmi0 comes back.
use_devintf() {
	rmmod ipmi_devintf && [ ! -e /dev/ipmi0 ] || return 1
	case "$1" in
	rust) insmod "$(rust_devintf_ko)" ;;
	c) cmod ipmi_devintf ;;
	esac && wait_for /dev/ipmi0 10
}

# bmc_facts [N]: the BMC device of interface N (0): its name, driver,
# links, files and every attribute.
bmc_facts() {
	local n=${1:-0} d a
	d=$(readlink -f "/sys/class/ipmi/ipmi$n/device/bmc") || return 1
	echo "device: $(basename "$d")"
	echo "driver: $(basename "$(readlink -f "$d/driver")")"
	echo "ipmi$n -> $(basename "$(readlink -f "$d/ipmi$n")")"
	echo "files: $(cd "$d" && echo *)"
	for a in device_id provides_device_sdrs revision firmware_revision ipmi_version \
		additional_device_support manufacturer_id product_id aux_firmware_revision guid; do
		[ -e "$d/$a" ] && echo "$a: $(cat "$d/$a")"
	done
	return 0
}

# Whatever IPMI modules are loaded, C or ours, users first.
unload_all() {
	local m
	for m in ipmi_user_test ipmi_export_test ipmi_si ipmi_ssif ipmi_devintf ipmi_msghandler; do
		grep -q "^$m " /proc/modules && rmmod "$m"
	done
	! grep -qE '^(ipmi|ipmb)_' /proc/modules
}

# Lines that legitimately differ from one run to the next, and bytes no
# BMC sent: ipmi_sim's Get Watchdog Timer answer is one byte short (it
# leaves out the high byte of the present countdown), and ipmitool prints
# whatever its buffer held there, so that line is garbage on ipmi_sim and
# is replaced by a marker instead of being asserted.
normalise() {
	local garbage='$^'
	[ "$BMC" = ipmi_sim ] && garbage='^Present Countdown:'
	sed -E \
		-e '/^(Last Add Time|Last Del Time|Last Delete Time) *:/d' \
		-e 's/(System GUID *:).*/\1 <guid>/' \
		-e "s/($garbage).*/\1 <not sent by ipmi_sim: its answer is one byte short>/"
}

# expect NAME FILE: FILE (normalised) must equal selftests/expected/$BMC/NAME.
# Under --record the output is also handed back to the host.
expect() {
	local name=$1 file=$2
	local want="$REPO/selftests/expected/$BMC/$name.txt"
	normalise <"$file" >"$file.norm"
	if [ "$RECORD" = 1 ]; then
		mkdir -p "$OUT/record"
		cp "$file.norm" "$OUT/record/$name.txt"
	fi
	if [ ! -f "$want" ]; then
		echo "missing $want" >"$file.diff"
		return 1
	fi
	diff -u "$want" "$file.norm" >"$file.diff"
}

# client_answers DESC NAME CMD...: CMD must succeed and print the expected
# answer NAME.
client_answers() {
	local desc=$1 name=$2 log rc=0
	shift 2
	log=$(mktemp)
	echo "\$ $*"
	timeout 60 "$@" >"$log" 2>&1 || rc=$?
	cat "$log"
	if [ $rc != 0 ]; then
		echo "(exit status $rc)" >>"$log"
		tap_fail "$desc" "$log"
	elif ! expect "$name" "$log"; then
		tap_fail "$desc: answer differs from selftests/expected/$BMC/$name.txt" "$log.diff"
	else
		tap_ok "$desc"
	fi
	rm -f "$log" "$log.norm" "$log.diff"
}

# client_battery PREFIX: the clients' answers through /dev/ipmi0, each
# against selftests/expected/$BMC/ (7 results, 8 on ipmi_sim), their
# descriptions starting with PREFIX. The same files hold for every
# interface and for upstream's ipmi_devintf and ours.
client_battery() {
	local p=$1
	client_answers "${p}ipmitool mc info" mc-info ipmitool -I open mc info
	client_answers "${p}ipmitool sdr list" sdr-list ipmitool -I open sdr list
	client_answers "${p}ipmitool sel info" sel-info ipmitool -I open sel info
	client_answers "${p}ipmitool fru print 0" fru-print ipmitool -I open fru print 0
	client_answers "${p}ipmitool chassis status" chassis-status ipmitool -I open chassis status
	# On ipmi_sim the "Present Countdown" line is garbage (see normalise)
	# and is matched as a marker.
	client_answers "${p}ipmitool mc watchdog get" watchdog-get ipmitool -I open mc watchdog get
	client_answers "${p}bmc-info (FreeIPMI, OPENIPMI driver)" bmc-info \
		bmc-info --driver-type=OPENIPMI --driver-device=/dev/ipmi0 --get-device-id
	if [ "$BMC" = ipmi_sim ]; then
		client_answers "${p}ipmitool -t 0x30 -b 0 mc info (bridged over IPMB)" bridged-mc-info \
			ipmitool -I open -t 0x30 -b 0 mc info
	fi
}

# has_lines FILE LINE...: FILE holds every LINE, each as a whole line.
has_lines() {
	local file=$1 line
	shift
	for line in "$@"; do
		grep -qxF -e "$line" "$file" || { echo "missing: $line"; return 1; }
	done
}

# The kernel log is never cleared (the host scans all of it for complaints):
# tests take what a step logged from a marker on.
kmsg_mark() {
	local mark
	mark="ipmi-rs-mark-$(date +%s%N)"
	echo "$mark" >/dev/kmsg
	echo "$mark"
}

# kmsg_since MARK: the kernel log after MARK, without timestamps.
kmsg_since() {
	dmesg | sed -n "/$1\$/,\$p" | tail -n +2 | sed 's/^\[[^]]*\] //'
}

# load_and_log KO [PARAM...]: load module KO, unload it again, and print
# what it logged, without its "name: " prefix. Fails when it does not load
# (what it logged while refusing is printed all the same).
load_and_log() {
	local ko=$1 name mark rc=0
	shift
	name=$(basename "$ko" .ko)
	mark=$(kmsg_mark)
	insmod "$ko" "$@" || rc=$?
	[ $rc != 0 ] || rmmod "$name" || rc=$?
	kmsg_since "$mark" | sed -n "s/^$name: //p"
	return $rc
}

# kmemleak (debug kernel only).
KMEMLEAK=/sys/kernel/debug/kmemleak

# kmemleak_scan FILE: save to FILE every object kmemleak suspects now.
# Waits out its minimum object age (5 s) first, so that an allocation lost
# just before (at module unload, say) counts; scans twice because an object
# is reported only once its contents looked the same in two scans.
kmemleak_scan() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug || return 1
	[ -e "$KMEMLEAK" ] || { echo "no $KMEMLEAK: not a debug kernel?"; return 1; }
	sleep 6
	echo scan >"$KMEMLEAK" && echo scan >"$KMEMLEAK" || return 1
	cat "$KMEMLEAK" >"$1"
}

# kmemleak_ipmi FILE: the reports in FILE that belong to the IPMI stack:
# those naming ipmi, and those with a frame in a module no longer loaded
# (printed as a bare address), which in this suite can only be one of the
# IPMI modules, ours or upstream's.
kmemleak_ipmi() {
	awk 'function flush() { if (r ~ /ipmi/ || r ~ /\n +0x[0-9a-f]+\n/) printf "%s", r; r = "" }
		/^unreferenced object/ { flush() }
		{ r = r $0 "\n" }
		END { flush() }' "$1"
}

# present_countdown FILE: the watchdog's present countdown in ipmitool's
# output FILE, in tenths of a second.
present_countdown() {
	sed -n 's/^Present Countdown: *\([0-9]*\)\.\([0-9]\) sec$/\1\2/p' "$1"
}

# The BMC watchdog is set for SMS/OS, a hard reset after 300 s, and runs.
# "SMS/OS (0x44)" carries the "don't stop" bit, which ipmi_watchdog sets
# only when it could read the BMC's IPMI version through the handler (else
# it logs "Unable to get IPMI version, assuming 1.0"): the handler must
# answer that. Both simulators echo the bit from the last Set Watchdog
# Timer as ipmitool's "Started/Running"; QEMU's BMC also keeps a live
# present countdown, which must fall between two readings a second apart
# (ipmi_sim's stays at 384.0 s).
watchdog_armed() {
	local first second
	ipmitool -I open mc watchdog get >"$OUT/wd.txt" || return 1
	sleep 1
	ipmitool -I open mc watchdog get >"$OUT/wd2.txt" || return 1
	cat "$OUT/wd.txt" "$OUT/wd2.txt"
	has_lines "$OUT/wd2.txt" "Watchdog Timer Use:     SMS/OS (0x44)" \
		"Watchdog Timer Is:      Started/Running" \
		"Watchdog Timer Action:  Hard Reset (0x01)" \
		"Initial Countdown:      300.0 sec" || return 1
	[ "$BMC" = sim ] || return 0
	first=$(present_countdown "$OUT/wd.txt")
	second=$(present_countdown "$OUT/wd2.txt")
	if [ -z "$first" ] || [ -z "$second" ] || [ "$second" -le 0 ] || [ "$second" -ge "$first" ]; then
		echo "not counting down: ${first:-?} then ${second:-?} tenths of a second"
		return 1
	fi
}

watchdog_disarmed() {
	ipmitool -I open mc watchdog get >"$OUT/wd.txt" || return 1
	cat "$OUT/wd.txt"
	has_lines "$OUT/wd.txt" "Watchdog Timer Is:      Stopped"
}

# inkernel_watchdog PREFIX: upstream's ipmi_watchdog over whatever stack
# is loaded arms the BMC's watchdog, which keeps running after its unload
# (upstream behaviour), and ipmitool disarms it (6 results). With
# action=none upstream sets the timer without starting it, so it arms a
# reset far beyond the life of the VM. Changes the BMC's watchdog
# settings: after the client batteries only.
inkernel_watchdog() {
	local p=$1
	tap_run "${p}ipmi_watchdog loads and arms the BMC watchdog (300 s, reset)" \
		cmod ipmi_watchdog timeout=300 action=reset start_now=1
	tap_run "${p}ipmitool sees the watchdog armed by the kernel" watchdog_armed
	tap_run "${p}ipmi_watchdog unloads" rmmod ipmi_watchdog
	tap_run "${p}the watchdog keeps running after the unload (upstream behaviour)" watchdog_armed
	tap_run "${p}ipmitool mc watchdog off" ipmitool -I open mc watchdog off
	tap_run "${p}ipmitool sees the watchdog stopped" watchdog_disarmed
	rm -f "$OUT/wd.txt" "$OUT/wd2.txt"
}

# raw_get_device_id: Get Device ID as raw bytes through /dev/ipmi0
# (ipmitool strips the completion code).
raw_get_device_id() {
	ipmitool -I open raw 0x06 0x01 | tr -s ' \n' ' ' | grep -E '^ ?[0-9a-f]{2}( [0-9a-f]{2}){10}'
}

# raw_invalid: an unknown command fails with the BMC's completion code
# (0xc1), which ipmitool shows.
raw_invalid() {
	local log rc=0
	log=$(mktemp)
	! ipmitool -I open raw 0x06 0x7f >"$log" 2>&1
	cat "$log"
	grep -q 'rsp=0xc1' "$log" || rc=1
	rm -f "$log"
	return $rc
}

# panic_after_tests CHECK...: end the boot in a kernel panic once every
# test has run and its results are saved (entry.sh), and have the host
# check then that the fault proxy's log (the boot's plan marks the
# messages) holds each CHECK, "PATTERN MIN": at least MIN lines matching
# PATTERN. The panic can only be the last thing of a boot.
panic_after_tests() {
	printf '%s\n' "$@" >"$OUT/panic-request"
}

# proxy_checks CHECK...: have the host check the fault proxy's log after
# the boot, each CHECK "PATTERN MIN MAX": between MIN and MAX lines
# matching PATTERN (the boot's plan marks the messages).
proxy_checks() {
	printf '%s\n' "$@" >>"$OUT/proxy-checks"
}

# panic_event_test c|rust: that ipmi_si under upstream's handler with
# panic_op=string; the panic (after the boot's tests) must put the
# Platform Event and the panic string's SEL records through it to the
# BMC, and the VM must then end (a driver that never completes them
# leaves the handler polling for ever: the boot times out). Four clients
# run into the panic.
panic_event_test() {
	ensure_c_stack
	tap_expect 2
	if [ "$1" = rust ]; then
		tap_run "our ipmi_si in place of upstream's" use_si rust
	else
		tap_run "upstream's ipmi_si in place" sh -c '! grep -q O /sys/module/ipmi_si/taint'
	fi
	tap_run "panic_op=string set on the handler" sh -c \
		'echo string >/sys/module/ipmi_msghandler/parameters/panic_op &&
		 grep -qx string /sys/module/ipmi_msghandler/parameters/panic_op'
	# Clients keep the interface busy into the panic, so that it strikes
	# with a transaction under way (the handler queues its event behind).
	local n
	for n in 1 2 3 4; do
		(while :; do ipmitool -I open mc info; done) >/dev/null 2>&1 &
		echo "panic-time client $n: pid $!"
	done
	panic_after_tests "netfn=0x04 cmd=0x02 1" "netfn=0x0a cmd=0x44 2"
}
