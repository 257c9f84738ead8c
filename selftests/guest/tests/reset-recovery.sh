# SPDX-License-Identifier: GPL-2.0
# A BMC reset (Cold Reset from a client, one of the operators' reports):
# how long until requests are answered again, over upstream's stack and
# with our ipmi_si. Both run under upstream's handler, which refuses every
# request with EBUSY for its maintenance_mode_timeout_ms (30 s) after a
# reset, however soon the BMC is back; the times go to $OUT/reset.txt as
# the baseline for our handler (which is to resume within 1 s of the BMC
# answering). Asserted: the interface answers again within 45 s, and the
# interface driver itself does not hold it up (no error answers once the
# handler lets requests through).

tools=$REPO/target/selftests
: >"$OUT/reset.txt"
ensure_c_stack
tap_expect 3

recovers() {
	local out
	out=$("$tools/ipmi-stress" reset-recovery 45 2>&1)
	echo "$out"
	sed "s/^reset:/$1:/" <<<"$out" >>"$OUT/reset.txt"
	grep -q '^reset: Get Device ID answered again after .*, 0 error answers before)$' <<<"$out"
}

tap_run "after a Cold Reset the BMC answers again, upstream's stack (times in reset.txt)" recovers upstream
tap_run "our ipmi_si in place" use_si rust
tap_run "after a Cold Reset the BMC answers again, our ipmi_si (times in reset.txt)" recovers "our ipmi_si"
use_si c || tap_fail "upstream's ipmi_si back"
