# SPDX-License-Identifier: GPL-2.0
# The upstream maintainer's load/unload scenario: every module of the
# stack loaded, used and unloaded 10 times in a row, upstream's three and
# our three (all-Rust). Each cycle must give /dev/ipmi0, an answer to
# `ipmitool mc info`, and leave no IPMI module loaded; the kernel log is
# judged after the boot as always. Each stack's outcome goes to the table.
# The mixed stacks (si, devintf, msghandler in `load_stack`) pass the same 10
# cycles (about 45 s each, measured once with all five); make check
# leaves them out for time: rust-si cycles ours among upstream's others
# 20 times under a client.

cycles=10
stacks="c rust"
tap_expect "$(wc -w <<<"$stacks")"

# cycles STACK: $cycles rounds of load, mc info, unload.
cycle() {
	local stack=$1 i t0 ms
	t0=$(date +%s%N)
	unload_all || return 1
	for i in $(seq $cycles); do
		load_stack "$stack" || { echo "cycle $i: the stack did not load"; break; }
		ipmitool -I open mc info | grep -q '^Device ID' || { echo "cycle $i: no answer"; break; }
		unload_all || { echo "cycle $i: did not unload"; grep ipmi /proc/modules; break; }
		[ ! -e /dev/ipmi0 ] || { echo "cycle $i: /dev/ipmi0 left behind"; break; }
	done
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ "$i" = $cycles ] && ! grep -qE '^(ipmi|ipmb)_' /proc/modules; then
		outcome "load, use, unload x $cycles" "$stack" pass "$cycles cycles in $ms ms"
		echo "$cycles cycles in $ms ms"
		return 0
	fi
	outcome "load, use, unload x $cycles" "$stack" fail "stopped in cycle $i"
	return 1
}

for stack in $stacks; do
	tap_run "$stack stack: loaded, used and unloaded $cycles times" cycle "$stack"
done
unload_all
