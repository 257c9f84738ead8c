# SPDX-License-Identifier: GPL-2.0
# The BMC's watchdog armed while the BMC resets (operators' report: a
# BMC reset while the watchdog ran gave a panic, a hang, or silently lost
# protection). On QEMU's BMC, which takes a Cold Reset: upstream's
# ipmi_watchdog (60 s, hard reset; with action none it never starts the
# timer) kept alive through /dev/watchdog every 0.5 s, while a client
# sends five Cold Resets 2 s apart; over upstream's stack, our handler
# under upstream's leaves, and the all-Rust stack. Each stack's outcome
# (heartbeats that went and were refused, the longest time between two
# that went, resets refused, the BMC's watchdog after) goes to
# $OUT/watchdog-reset.txt and the outcome table. Ours must keep the
# protection: no heartbeat held off more than 3 s, the watchdog running
# and not expired after, and stopped by the magic close. Upstream's
# outcome is recorded (its handler refuses every request for 30 s after
# a reset, within the 60 s).

: >"$OUT/watchdog-reset.txt"
resets=5
work=$(mktemp -d)
tap_expect 8

# answering SECS: mc watchdog get answers within SECS (upstream's handler
# refuses requests for a while after a reset); the answer in $work/wd.
answering() {
	local _
	for _ in $(seq $(($1 * 2))); do
		ipmitool -I open mc watchdog get >"$work/wd" 2>&1 && return 0
		sleep 0.5
	done
	return 1
}

# heartbeat: keeps /dev/watchdog alive every 0.5 s until $work/stop
# appears, then closes it with the magic character. Each write's time
# (ms) and outcome go to $work/hb ("T ok" or "T refused").
heartbeat() {
	local t
	exec 5>/dev/watchdog || { echo "0 open-failed" >>"$work/hb"; return 1; }
	while [ ! -e "$work/stop" ]; do
		t=$(($(date +%s%N) / 1000000))
		if printf x >&5 2>>"$work/hb-errors"; then
			echo "$t ok" >>"$work/hb"
		else
			echo "$t refused" >>"$work/hb"
		fi
		sleep 0.5
	done
	printf V >&5 2>>"$work/hb-errors" || echo "0 close-refused" >>"$work/hb"
	exec 5>&-
}

# longest_gap: the longest time (ms) between two heartbeats that went
# through, the first counted from the first write.
longest_gap() {
	awk '$2 != "ok" && $2 != "refused" { next }
		NR == 1 || !seen { last = $1; seen = 1 }
		$2 == "ok" { if ($1 - last > gap) gap = $1 - last; last = $1 }
		END { if (!seen) print -1; else print gap + 0 }' "$work/hb"
}

# under_resets STACK: the scenario over that stack; prints its outcome.
under_resets() {
	local stack=$1 _ refused_resets=0 hb_pid refused_hb oks gap expired running stopped rc=0 line
	rm -f "$work/stop" "$work/hb-errors"
	: >"$work/hb"
	ipmitool -I open mc watchdog off >/dev/null || { echo "watchdog off failed"; return 1; }
	# A 60 s reset: a stack that keeps heartbeats from the BMC longer
	# than that resets the machine, and the boot fails.
	cmod ipmi_watchdog timeout=60 action=reset pretimeout=0 || return 1
	heartbeat &
	hb_pid=$!
	sleep 2
	for _ in $(seq $resets); do
		ipmitool -I open mc reset cold >/dev/null 2>&1 || refused_resets=$((refused_resets + 1))
		sleep 2
	done
	sleep 3
	# Read the BMC's watchdog while the heartbeats still run (40 s:
	# upstream's handler refuses requests 30 s after the last reset).
	answering 40 || { echo "mc watchdog get did not answer within 40 s"; rc=1; }
	# Two more heartbeats after the BMC answers again.
	sleep 1.2
	answering 5 || rc=1
	touch "$work/stop"
	wait "$hb_pid" || rc=1
	cat "$work/wd"
	expired=$(sed -n 's/^Timer Expiration Flags: *//p' "$work/wd")
	grep -q '^Watchdog Timer Is: *Started/Running' "$work/wd" && running=yes || running=no
	refused_hb=$(grep -c ' refused$' "$work/hb" || true)
	oks=$(grep -c ' ok$' "$work/hb" || true)
	gap=$(longest_gap)
	# The magic close stopped the timer.
	answering 10 && grep -q '^Watchdog Timer Is: *Stopped' "$work/wd" && stopped=yes || stopped=no
	rmmod ipmi_watchdog || rc=1
	# Whatever happened, no armed reset may outlive the scenario.
	ipmitool -I open mc watchdog off >/dev/null 2>&1 || true
	line="$oks heartbeats went, $refused_hb refused, longest gap ${gap} ms; $refused_resets of $resets resets refused;"
	line+=" expiration flags: ${expired:-?}; running after: $running; stopped by the magic close: $stopped"
	echo "$stack: $line" | tee -a "$OUT/watchdog-reset.txt"
	sort "$work/hb-errors" 2>/dev/null | uniq -c | head -3
	local result=pass
	[ "$refused_hb" = 0 ] && [ "$refused_resets" = 0 ] || result=refused
	[ "$gap" -ge 0 ] && [ "$gap" -le 3000 ] || result=late
	[ "$expired" = "None (0x00)" ] && [ "$running" = yes ] && [ "$stopped" = yes ] || result=fail
	outcome "watchdog armed through resets" "$stack" "$result" "$line"
	[ "$stack" = c ] && return $rc
	# Ours: the protection holds.
	[ "$expired" = "None (0x00)" ] || { echo "the BMC's watchdog expired"; rc=1; }
	[ "$running" = yes ] || { echo "the BMC's watchdog is not running after the resets"; rc=1; }
	[ "$stopped" = yes ] || { echo "the magic close did not stop the watchdog"; rc=1; }
	[ "$gap" -ge 0 ] && [ "$gap" -le 3000 ] || { echo "heartbeats held off for $gap ms"; rc=1; }
	return $rc
}

for stack in c msghandler rust; do
	tap_run "$stack stack loads" load_stack "$stack"
	case "$stack" in
	c) desc="upstream's stack (outcome recorded in watchdog-reset.txt)" ;;
	msghandler) desc="our handler under upstream's leaves: the watchdog never expires, runs after, stops" ;;
	rust) desc="the all-Rust stack: the watchdog never expires, runs after, stops" ;;
	esac
	tap_run "watchdog kept alive through $resets Cold Resets, $desc" under_resets "$stack"
done
tap_run "everything unloads" unload_all
tap_run "nothing IPMI left loaded" sh -c '! grep -qE "^(ipmi|ipmb)_" /proc/modules'
rm -rf "$work"
