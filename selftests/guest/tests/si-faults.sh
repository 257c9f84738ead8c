# SPDX-License-Identifier: GPL-2.0
# Requests through upstream's ipmi_si and then ours, in the same boot,
# under the boot's fault plan (selftests/faults/, applied by
# tools/ipmi-fault-proxy to Get SEL Info only): every request
# must end, in an answer or an error, within its bound; Get Device ID,
# untouched by the plan, must keep answering between and after them. Each
# stack's outcome (answers, errors by completion code, hangs, slowest) is
# printed in its result's description and kept in $OUT/faults.txt, side
# by side.

requests=${FAULT_REQUESTS:-30}
ensure_c_stack || return 0
tap_expect 5

# under_faults NAME: $requests Get SEL Info, one client; a result
# whose description holds the outcome. A request still running after 30 s
# is a hang (ipmitool's own limit is 15 s).
under_faults() {
	local name=$1 _ rc t0 ms ok=0 err=0 hang=0 slowest=0 codes="" log
	log=$(mktemp)
	for _ in $(seq "$requests"); do
		t0=$(date +%s%N)
		rc=0
		timeout 30 ipmitool -I open raw 0x0a 0x40 >/dev/null 2>"$log" || rc=$?
		ms=$((($(date +%s%N) - t0) / 1000000))
		[ "$ms" -gt "$slowest" ] && slowest=$ms
		case $rc in
		0) ok=$((ok + 1)) ;;
		124) hang=$((hang + 1)) ;;
		*)
			err=$((err + 1))
			codes="$codes $(sed -n 's/.*rsp=\(0x[0-9a-f]*\).*/\1/p' "$log" | head -1)"
			;;
		esac
	done
	rm -f "$log"
	codes=$(echo "$codes" | tr ' ' '\n' | sed '/^$/d' | sort | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')
	local line="$name: $requests requests: $ok answered, $err errors${codes:+ ($codes)}, $hang hangs, slowest $slowest ms"
	echo "$BMC/$INTF $line" >>"$OUT/faults.txt"
	local result=pass stack=c
	[ "$name" = "upstream's ipmi_si" ] || stack=si
	[ "$err" = 0 ] || result=errors
	[ "$hang" = 0 ] || result=hang
	outcome "plan ${PLAN:-?}: Get SEL Info x $requests" "$stack" "$result" "${line#*: }"
	if [ "$hang" = 0 ] && [ $((ok + err)) = "$requests" ]; then
		tap_ok "$line"
	else
		tap_fail "$line"
	fi
}

# Get Device ID, which the plan leaves alone, answers promptly.
still_answers() {
	local _
	for _ in 1 2 3; do
		timeout 10 ipmitool -I open mc info | grep -q '^Device ID' || return 1
	done
}

under_faults "upstream's ipmi_si"
tap_run "upstream's ipmi_si: Get Device ID still answers" still_answers

tap_run "our ipmi_si replaces upstream's" use_si rust 30
under_faults "our ipmi_si"
tap_run "our ipmi_si: Get Device ID still answers" still_answers
