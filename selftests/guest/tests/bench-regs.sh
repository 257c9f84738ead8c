# SPDX-License-Identifier: GPL-2.0
# Guest side of selftests/bench/regs: upstream's ipmi_si (A), then ours (B),
# each under the C handler and C ipmi_devintf, answering $requests Get
# Device IDs from one client, with quiet seconds around every step so that
# the host can cut QEMU's port trace into bursts. Our devintf stays out.

. "$OUT/params" 2>/dev/null || requests=500
bench="$REPO/target/release/ipmi-bench"
tap_expect 6

load_a() { load_c_stack && ! si_is_ours; }
quiet() { sleep "${quiet_seconds:-3}"; }

for stack in A B; do
	quiet
	if [ $stack = A ]; then
		tap_run "stack A (C ipmi_si) loads" load_a || break
	else
		tap_run "stack B (Rust ipmi_si) loads" load_stack_rust_si || break
	fi
	quiet
	tap_run "stack $stack answers $requests requests" \
		"$bench" --clients 1 --requests "$requests" --warmup 0
	quiet
	tap_run "stack $stack unloads" unload_c_stack || break
done
