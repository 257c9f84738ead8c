# SPDX-License-Identifier: GPL-2.0
# Guest side of `make bench` (selftests/bench/run): alternate stacks A and B
# over several rounds, the order swapped every round, and write
# tools/ipmi-bench's lines to $OUT/bench.txt.

. "$OUT/params" 2>/dev/null || { rounds=3 requests=1000 cpus=1; }
cpus=${cpus:-1}
bench="$REPO/target/release/ipmi-bench"

# One CPU: under TCG a wake-up that crosses vCPUs costs far more than one
# that does not, and where each load of a driver gets its interrupt, timer
# and work items would otherwise decide the figures (seen: the same C stack
# at 36 us or 90 us per round trip from one load to the next on 2 CPUs).
# (Booting with one vCPU instead leaves virtme-ng without its script ports.)
one_cpu() {
	local cpu
	for cpu in /sys/devices/system/cpu/cpu[1-9]*; do
		[ -e "$cpu/online" ] && echo 0 >"$cpu/online"
	done
	[ "$(nproc)" = 1 ]
}
tap_expect $((1 + 4 * rounds))
two_cpus() {
	[ "$(nproc)" = 2 ]
}
if [ "$cpus" = 1 ]; then
	tap_run "bench on one CPU" one_cpu || return 0
else
	# Two: where 8 clients really run side by side.
	tap_run "bench on two CPUs" two_cpus || return 0
fi

# A: upstream's C stack. B: the same with our Rust ipmi_devintf.
stack_name() {
	case "$1" in
	A) echo "C ipmi_devintf" ;;
	B) echo "Rust ipmi_devintf" ;;
	esac
}
stack_load() {
	case "$1" in
	A) load_c_stack ;;
	B) load_stack_rust_devintf ;;
	esac
}
stack_unload() { unload_c_stack; }

measure() {
	local stack=$1 round=$2 clients
	tap_run "stack $stack loads (round $round)" stack_load "$stack" || return 1
	# Under TCG the first few hundred requests are several times slower.
	"$bench" --clients 1 --requests 300 --warmup 0 >/dev/null
	for clients in 1 8; do
		line=$("$bench" --clients $clients --requests "$requests" --warmup 100) || {
			tap_fail "stack $stack, $clients client(s), round $round: ipmi-bench failed"
			stack_unload "$stack"
			return 1
		}
		echo "stack=$stack name=$(stack_name "$stack") round=$round $line" | tee -a "$OUT/bench.txt"
	done
	line=$("$bench" --idle 5)
	echo "stack=$stack name=$(stack_name "$stack") round=$round $line" | tee -a "$OUT/bench.txt"
	tap_run "stack $stack unloads (round $round)" stack_unload "$stack"
}

: >"$OUT/bench.txt"
for round in $(seq "$rounds"); do
	if [ $((round % 2)) = 1 ]; then order="A B"; else order="B A"; fi
	for stack in $order; do
		measure "$stack" "$round" || break 2
	done
done
