#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Medians per stack and ratios B/A from the lines selftests/bench's guest
script wrote: `stack=X round=N <ipmi-bench key=value output>`."""

import statistics
import sys
from collections import defaultdict

FIGURES = [
    # (label, key, better when lower)
    ("round trip p50 (us)", "p50_us", True),
    ("round trip p99 (us)", "p99_us", True),
    ("throughput (req/s)", "rps", False),
    ("CPU per request (us)", "cpu_us_per_req", True),
]

samples = defaultdict(list)  # (stack, clients or "idle", key) -> values
stacks = {}
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split() if "=" in f)
    if "stack" not in kv:
        continue
    stacks[kv["stack"]] = kv.get("name", kv["stack"])
    group = "idle" if "idle_cpu_pct" in kv else f"{kv['clients']} client(s)"
    for key, value in kv.items():
        try:
            samples[(kv["stack"], group, key)].append(float(value))
        except ValueError:
            pass

if set(stacks) != {"A", "B"}:
    sys.exit(f"bench: expected stacks A and B, got {sorted(stacks)}")

print(f"stack A = {stacks['A']}, stack B = {stacks['B']}; medians of "
      f"{len(samples[('A', 'idle', 'idle_cpu_pct')])} alternating rounds")
print(f"{'':28} {'A':>10} {'B':>10} {'B/A':>7}")
groups = sorted({g for (_, g, _) in samples if g != "idle"}, key=lambda g: int(g.split()[0]))
for group in groups:
    print(group)
    for label, key, _ in FIGURES:
        a = statistics.median(samples[("A", group, key)])
        b = statistics.median(samples[("B", group, key)])
        print(f"  {label:26} {a:10.1f} {b:10.1f} {b / a if a else float('nan'):7.2f}")
a = statistics.median(samples[("A", "idle", "idle_cpu_pct")])
b = statistics.median(samples[("B", "idle", "idle_cpu_pct")])
print(f"idle, stack loaded\n  {'CPU busy (%)':26} {a:10.3f} {b:10.3f} {b / a if a else float('nan'):7.2f}")
