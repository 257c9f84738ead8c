#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Medians per stack, the ratio of medians B/A, and the range of the
per-round ratios (how far one round's B/A strays: the noise band), from the
lines selftests/bench's guest script wrote:
`stack=X name=NAME round=N <tools/ipmi-bench key=value output>`."""

import statistics
import sys
from collections import defaultdict

FIGURES = [
    ("round trip p50 (us)", "p50_us"),
    ("round trip p99 (us)", "p99_us"),
    ("throughput (req/s)", "rps"),
    ("CPU per request (us)", "cpu_us_per_req"),
]

# (stack, group, key) -> {round: value}
samples = defaultdict(dict)
names = {}
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split() if "=" in f)
    if "stack" not in kv:
        continue
    names[kv["stack"]] = kv.get("name", kv["stack"])
    group = "idle" if "idle_cpu_pct" in kv else f"{kv['clients']} client(s)"
    for key, value in kv.items():
        try:
            samples[(kv["stack"], group, key)][kv["round"]] = float(value)
        except ValueError:
            pass

if set(names) != {"A", "B"}:
    sys.exit(f"bench: expected stacks A and B, got {sorted(names)}")


def row(label, a, b, fmt):
    ma, mb = statistics.median(a.values()), statistics.median(b.values())
    ratio = f"{mb / ma:7.2f}" if ma else "      -"
    per_round = [b[r] / a[r] for r in a if r in b and a[r]]
    band = f"{min(per_round):.2f}-{max(per_round):.2f}" if per_round else "-"
    print(f"  {label:26} {ma:{fmt}} {mb:{fmt}} {ratio}   {band}")


rounds = len(samples[("A", "idle", "idle_cpu_pct")])
print(f"stack A = {names['A']}, stack B = {names['B']}: medians of {rounds} rounds, "
      "stacks alternated, order swapped every round")
print(f"  {'':26} {'A':>10} {'B':>10} {'B/A':>7}   per-round B/A")
groups = sorted({g for (_, g, _) in samples if g != "idle"}, key=lambda g: int(g.split()[0]))
for group in groups:
    print(group)
    for label, key in FIGURES:
        row(label, samples[("A", group, key)], samples[("B", group, key)], "10.1f")
print("idle, stack loaded (5 s)")
row("CPU busy (%)", samples[("A", "idle", "idle_cpu_pct")], samples[("B", "idle", "idle_cpu_pct")], "10.3f")
