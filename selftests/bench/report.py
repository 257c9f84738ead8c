#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Medians per stack, the ratio of medians B/A, and the range of the
per-round ratios (how far one round's B/A strays: the noise band), from the
lines selftests/bench's guest script wrote:
`stack=X name=NAME round=N <tools/ipmi-bench key=value output>`."""

import re
import statistics
import sys
from collections import defaultdict

FIGURES = [
    ("round trip p50 (us)", "p50_us", "10.1f"),
    ("round trip p99 (us)", "p99_us", "10.1f"),
    ("throughput (req/s)", "rps", "10.1f"),
    ("CPU per request (us)", "cpu_us_per_req", "10.1f"),
    # Machine-wide, over the run: where a stack's extra wake-ups show.
    ("context switches /request", "ctxt_per_req", "10.2f"),
    ("interrupts /request", "intr_per_req", "10.2f"),
    ("IPMI interrupts /request", "ipmi_intr_per_req", "10.2f"),
]

# (stack, group, key) -> {round: value}
samples = defaultdict(dict)
names = {}
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split() if "=" in f)
    if "stack" not in kv:
        continue
    # The name may hold spaces: it runs up to " round=".
    name = re.search(r"\bname=(.*?) round=", line)
    names[kv["stack"]] = name.group(1) if name else kv["stack"]
    if "idle_cpu_pct" in kv:
        group = "idle"
    elif "closed_cpu_pct" in kv:
        group = "closed"
    else:
        group = f"{kv['clients']} client(s)"
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
groups = sorted({g for (_, g, _) in samples if g[0].isdigit()}, key=lambda g: int(g.split()[0]))
for group in groups:
    print(group)
    for label, key, fmt in FIGURES:
        # Lines from before a figure existed have none: skip it then.
        if ("A", group, key) in samples and ("B", group, key) in samples:
            row(label, samples[("A", group, key)], samples[("B", group, key)], fmt)
print("idle, stack loaded (5 s)")
row("CPU busy (%)", samples[("A", "idle", "idle_cpu_pct")], samples[("B", "idle", "idle_cpu_pct")], "10.3f")

# --compare si, msghandler, rust: the machine with the stack loaded and
# /dev/ipmi0 closed.
CLOSED = [
    ("CPU busy (%)", "closed_cpu_pct", "10.3f"),
    ("context switches /s", "closed_ctxt_per_s", "10.1f"),
    ("interrupts /s, all", "closed_intr_per_s", "10.1f"),
    ("local timer interrupts /s", "closed_loc_per_s", "10.1f"),
    ("IPMI interrupts /s", "closed_ipmi_irq_per_s", "10.2f"),
]
if ("A", "closed", "closed_cpu_pct") in samples:
    secs = int(next(iter(samples[("A", "closed", "closed_seconds")].values())))
    print(f"idle, stack loaded, /dev/ipmi0 closed ({secs} s)")
    for label, key, fmt in CLOSED:
        row(label, samples[("A", "closed", key)], samples[("B", "closed", key)], fmt)
