#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where each stack's CPU time goes per request, from the profiles
`selftests/bench/run --profile N` recorded in the guest.

    profile.py OUT CLIENTS

reads OUT/perf-{A,B}-CLIENTS.data with the guest's OUT/kallsyms-{A,B}
(the symbols of that load of the modules) and prints, per symbol, the
CPU microseconds per request of stack A and stack B and their difference,
largest differences first, then the totals. cpu-clock samples land where
interrupts are enabled again: time with interrupts off (port I/O under a
driver's lock, interrupt handlers) is charged to the unlock that ends it."""

import re
import subprocess
import sys
from collections import defaultdict

LIMIT = 25


def demangle(sym):
    """Rust v0 symbols, roughly: the path's identifiers joined by ::
    (enough to tell our functions apart in a table)."""
    if not sym.startswith("_R"):
        return sym
    # Crate disambiguators (Cs<base62>_) would read as identifiers.
    s = re.sub(r"Cs[0-9A-Za-z]*_", "", sym[2:])
    parts, i = [], 0
    while i < len(s):
        m = re.match(r"(\d+)_?", s[i:])
        if m and (i == 0 or not s[i - 1].isdigit()):
            n = int(m.group(1))
            ident = s[i + m.end(): i + m.end() + n]
            if n and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident):
                parts.append(ident)
                i += m.end() + n
                continue
        i += 1
    return "::".join(parts) or sym


def requests(out, tag):
    line = open(f"{out}/profile-run-{tag}.txt").read()
    return int(re.search(r"\brequests=(\d+)", line).group(1)), line.strip()


def profile(out, stack, clients):
    """{(dso, symbol): CPU ns} of one stack's run."""
    tag = f"{stack}-{clients}"
    cmd = ["perf", "report", "-i", f"{out}/perf-{tag}.data", "--kallsyms", f"{out}/kallsyms-{stack}",
           "--stdio", "--no-children", "-g", "none", "-F", "period,dso,sym"]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    ns = defaultdict(int)
    for line in text.splitlines():
        m = re.match(r"\s*(\d+)\s+(\S+)\s+\[[k.]\]\s+(.*\S)", line)
        if m:
            ns[(m.group(2), demangle(m.group(3)))] += int(m.group(1))
    return ns


def main():
    out, clients = sys.argv[1], sys.argv[2]
    per_req = {}
    for stack in "AB":
        n, line = requests(out, f"{stack}-{clients}")
        print(f"stack {stack}, profiled run: {line}")
        per_req[stack] = {k: v / 1000 / n for k, v in profile(out, stack, clients).items()}
    a, b = per_req["A"], per_req["B"]
    keys = sorted(set(a) | set(b), key=lambda k: -abs(b.get(k, 0) - a.get(k, 0)))
    print(f"CPU us per request, {clients} client(s), largest differences first:")
    print(f"  {'A':>8} {'B':>8} {'B-A':>8}  symbol")
    for k in keys[:LIMIT]:
        va, vb = a.get(k, 0), b.get(k, 0)
        dso = "" if k[0] == "[kernel.kallsyms]" else f"{k[0]} "
        print(f"  {va:8.2f} {vb:8.2f} {vb - va:+8.2f}  {dso}{k[1][:90]}")
    idle = [k for k in keys if k[1] in ("default_idle", "cpu_idle_poll", "pv_native_safe_halt")]
    ta, tb = sum(a.values()), sum(b.values())
    ia, ib = sum(a.get(k, 0) for k in idle), sum(b.get(k, 0) for k in idle)
    print(f"  {ta - ia:8.2f} {tb - ib:8.2f} {tb - ta - ib + ia:+8.2f}  all but idle")
    for dso in sorted({k[0] for k in keys if k[0].startswith("[ipmi")}):
        sa = sum(v for k, v in a.items() if k[0] == dso)
        sb = sum(v for k, v in b.items() if k[0] == dso)
        print(f"  {sa:8.2f} {sb:8.2f} {sb - sa:+8.2f}  {dso} in all")


main()
