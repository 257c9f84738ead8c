# SPDX-License-Identifier: GPL-2.0
# A BMC reset (Cold Reset from a client, one of the operators' reports):
# how long until requests are answered again, over upstream's stack, with
# our ipmi_si, and with our handler. Upstream's handler refuses every
# request with EBUSY for its maintenance_mode_timeout_ms (30 s) after a
# reset, however soon the BMC is back; ours asks the BMC for its Device ID
# every 250 ms once the reset was answered, and lets requests through at
# the first good answer (at once if the BMC refused the reset, as ipmi_sim
# does). The times go to $OUT/reset.txt. Asserted: the interface answers
# again within 45 s, the interface driver itself does not hold it up (no
# error answers once the handler lets requests through), and under our
# handler within 1.5 s of the reset; then ten resets in a row with a client
# running, mc info answering within 3 s after each.

tools=$REPO/target/selftests
: >"$OUT/reset.txt"
ensure_c_stack
tap_expect 7

recovers() {
	local out secs stack result=pass
	out=$("$tools/ipmi-stress" reset-recovery 45 2>&1)
	echo "$out"
	sed "s/^reset:/$1:/" <<<"$out" >>"$OUT/reset.txt"
	case "$1" in
	upstream) stack=c ;;
	"our ipmi_si") stack=si ;;
	*) stack=msghandler ;;
	esac
	# The table: back within 1.5 s is a pass; later, refused meanwhile.
	secs=$(sed -n 's/^reset: Get Device ID answered again after \([0-9.]*\) s.*/\1/p' <<<"$out")
	if [ -z "$secs" ]; then
		result=fail
	elif ! awk -v s="$secs" 'BEGIN { exit !(s <= 1.5) }'; then
		result=refused
	fi
	outcome "Cold Reset: back after" "$stack" "$result" "${secs:-never} s: $(tail -1 <<<"$out")"
	grep -q '^reset: Get Device ID answered again after .*, 0 error answers before)$' <<<"$out"
}

tap_run "after a Cold Reset the BMC answers again, upstream's stack (times in reset.txt)" recovers upstream
tap_run "our ipmi_si in place" use_si rust
tap_run "after a Cold Reset the BMC answers again, our ipmi_si (times in reset.txt)" recovers "our ipmi_si"
use_si c || tap_fail "upstream's ipmi_si back"

# recovers_fast NAME: as recovers, within 1.5 s.
recovers_fast() {
	local secs
	recovers "$1" || return 1
	secs=$(sed -n "s/^$1: Get Device ID answered again after \([0-9.]*\) s.*/\1/p" "$OUT/reset.txt")
	echo "back after $secs s"
	awk -v s="$secs" 'BEGIN { exit !(s != "" && s <= 1.5) }'
}

tap_run "our ipmi_msghandler in place, under upstream's ipmi_devintf and ipmi_si" load_stack msghandler
tap_run "after a Cold Reset the BMC answers again within 1.5 s, our handler (times in reset.txt)" \
	recovers_fast "our handler"
# Ten Cold Resets in a row with a client running: after each, mc info
# answers again within 3 s.
ten_resets() {
	local i t pid rc=0
	(while :; do ipmitool -I open mc info >/dev/null 2>&1; done) &
	pid=$!
	for i in $(seq 10); do
		ipmitool -I open mc reset cold >/dev/null 2>&1
		for t in $(seq 30); do
			ipmitool -I open mc info >/dev/null 2>&1 && break
			sleep 0.1
		done
		[ "$t" -lt 30 ] || { echo "reset $i: no answer within 3 s"; rc=1; break; }
		echo "reset $i: mc info answered after $t tries"
	done
	kill "$pid"
	wait "$pid" 2>/dev/null
	if [ $rc = 0 ]; then
		outcome "ten Cold Resets under a client" msghandler pass "mc info answered within 3 s after each"
	else
		outcome "ten Cold Resets under a client" msghandler fail "reset $i: no answer within 3 s"
	fi
	return $rc
}
tap_run "our handler: ten Cold Resets in a row under a running client, mc info answers after each" ten_resets

back_to_c() {
	unload_all && load_c_stack
}
tap_run "upstream's stack back" back_to_c
