# SPDX-License-Identifier: GPL-2.0
# Guest side of `make bench` (selftests/bench/run): alternate stacks A and B
# over several rounds, the order swapped every round, and write
# tools/ipmi-bench's lines to $OUT/bench.txt.

. "$OUT/params" 2>/dev/null || { rounds=3 requests=1000 cpus=1; }
cpus=${cpus:-1}
compare=${compare:-devintf}
idle_closed=${idle_closed:-20}
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
profile=${profile:-0}
tap_expect $((1 + 4 * rounds + (profile > 0 ? 8 : 0)))
two_cpus() {
	[ "$(nproc)" = 2 ]
}
if [ "$cpus" = 1 ]; then
	tap_run "bench on one CPU" one_cpu || return 0
else
	# Two: where 8 clients really run side by side.
	tap_run "bench on two CPUs" two_cpus || return 0
fi

# --compare devintf: A is upstream's C stack, B the same with our Rust
# ipmi_devintf. --compare si: A is upstream's C stack again, B the same with
# our Rust ipmi_si; our devintf is never loaded in that boot (once used with
# upstream's ipmi_si, that ipmi_si may refuse to unload). --compare
# msghandler: B is our Rust ipmi_msghandler under upstream's devintf and
# ipmi_si. --compare rust: B is the all-Rust stack (our handler, devintf
# and ipmi_si).
stack_name() {
	case "$compare:$1" in
	devintf:A) echo "C ipmi_devintf" ;;
	devintf:B) echo "Rust ipmi_devintf" ;;
	si:A) echo "C ipmi_si" ;;
	si:B) echo "Rust ipmi_si" ;;
	msghandler:A | rust:A) echo "all C" ;;
	msghandler:B) echo "Rust ipmi_msghandler" ;;
	rust:B) echo "all Rust" ;;
	esac
}
stack_load() {
	case "$compare:$1" in
	devintf:A) load_c_stack ;;
	devintf:B) load_stack_rust_devintf ;;
	si:A) load_c_stack && ! si_is_ours ;;
	si:B) load_stack_rust_si ;;
	msghandler:A | rust:A) load_c_stack && ! si_is_ours ;;
	msghandler:B)
		insmod "$MODS/drivers/char/ipmi/msghandler/ipmi_msghandler.ko" &&
			insmod "$(cko ipmi_devintf)" && insmod "$(cko ipmi_si)" && wait_for /dev/ipmi0 15
		;;
	rust:B)
		insmod "$MODS/drivers/char/ipmi/msghandler/ipmi_msghandler.ko" &&
			insmod "$(rust_devintf_ko)" && insmod "$(rust_si_ko)" && wait_for /dev/ipmi0 15 && si_is_ours
		;;
	*) echo "unknown comparison $compare"; return 1 ;;
	esac
}
stack_unload() { unload_c_stack; }

# machine_counters ARRAY: the whole machine's busy and total jiffies,
# context switches, interrupts, local timer interrupts and the IPMI
# interface's own interrupts, into ARRAY. Shell builtins only: no process
# starts inside the window it measures.
machine_counters() {
	local -n c=$1
	local key u n s i w q sq st rest f j
	c=(0 0 0 0 0 0)
	while read -r key u n s i w q sq st rest; do
		case "$key" in
		cpu) c[1]=$((u + n + s + i + w + q + sq + st)) c[0]=$((c[1] - i - w)) ;;
		ctxt) c[2]=$u ;;
		intr) c[3]=$u ;;
		esac
	done </proc/stat
	while read -ra f; do
		case "${f[0]}:${f[*]}" in
		LOC:*) j=4 ;;
		*ipmi*) j=5 ;;
		*) continue ;;
		esac
		for key in "${f[@]:1}"; do
			[[ "$key" =~ ^[0-9]+$ ]] || break
			c[j]=$((c[j] + key))
		done
	done </proc/interrupts
}

# idle_closed SECONDS: what the machine does over SECONDS with the stack
# loaded and /dev/ipmi0 closed, as key=value pairs.
idle_closed() {
	local secs=$1 fifo a b
	fifo=$(mktemp -u) && mkfifo "$fifo" || return 1
	machine_counters a
	# A timed read on a FIFO nobody writes: a sleep without a process.
	read -rt "$secs" <>"$fifo" || true
	machine_counters b
	rm -f "$fifo"
	awk -v s="$secs" -v b=$((b[0] - a[0])) -v t=$((b[1] - a[1])) -v c=$((b[2] - a[2])) \
		-v n=$((b[3] - a[3])) -v l=$((b[4] - a[4])) -v q=$((b[5] - a[5])) 'BEGIN {
		printf "closed_seconds=%d closed_cpu_pct=%.3f closed_ctxt_per_s=%.1f", s, 100 * b / (t ? t : 1), c / s
		printf " closed_intr_per_s=%.1f closed_loc_per_s=%.1f closed_ipmi_irq_per_s=%.2f\n", n / s, l / s, q / s
	}'
}

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
		# kipmid: whether the driver polls from its thread (no interrupt).
		echo "stack=$stack name=$(stack_name "$stack") round=$round $line kipmid=$(pgrep -c kipmi || true)" |
			tee -a "$OUT/bench.txt"
	done
	line=$("$bench" --idle 5)
	echo "stack=$stack name=$(stack_name "$stack") round=$round $line" | tee -a "$OUT/bench.txt"
	if [ "$compare" != devintf ] && [ "$idle_closed" -gt 0 ]; then
		line=$(idle_closed "$idle_closed")
		echo "stack=$stack name=$(stack_name "$stack") round=$round $line" | tee -a "$OUT/bench.txt"
	fi
	tap_run "stack $stack unloads (round $round)" stack_unload "$stack"
}

: >"$OUT/bench.txt"
for round in $(seq "$rounds"); do
	if [ $((round % 2)) = 1 ]; then order="A B"; else order="B A"; fi
	for stack in $order; do
		measure "$stack" "$round" || break 2
	done
done

# --profile N: per stack, one more run of N requests from 1 client and one
# from 8, each under perf record on every CPU (cpu-clock: under TCG the only
# sampling source). A sample lands where interrupts are enabled again, so
# time inside an interrupt handler is charged to the code it interrupted;
# read the profiles beside each other, not absolutely. The host side
# (selftests/bench/profile.py) turns them into CPU time per request and
# symbol, with this load's /proc/kallsyms.
profile_stack() {
	local stack=$1 clients=$2 tag=$1-$2
	# Recorded in the guest's memory: writing to $OUT (the host's file
	# system) during the run would be profiled too.
	perf record -q -a -g -e cpu-clock -F 4000 -o "/tmp/perf-$tag.data" -- \
		"$bench" --clients "$clients" --requests "$profile" --warmup 100 >"$OUT/profile-run-$tag.txt" || return 1
	cp "/tmp/perf-$tag.data" "$OUT/" && rm -f "/tmp/perf-$tag.data"
	cat /proc/kallsyms >"$OUT/kallsyms-$stack"
	[ -s "$OUT/profile-run-$tag.txt" ] && [ -s "$OUT/perf-$tag.data" ]
}
if [ "$profile" -gt 0 ]; then
	for stack in A B; do
		tap_run "stack $stack loads (profile)" stack_load "$stack" || break
		"$bench" --clients 1 --requests 300 --warmup 0 >/dev/null
		tap_run "stack $stack profiled, 1 client" profile_stack "$stack" 1
		tap_run "stack $stack profiled, 8 clients" profile_stack "$stack" 8
		tap_run "stack $stack unloads (profile)" stack_unload "$stack"
	done
fi
