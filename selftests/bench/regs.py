#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Cut QEMU's trace of device accesses (memory_region_ops_read/write, with
timestamps) to the ISA KCS ports into bursts at quiet gaps and count each:
transactions (WRITE_START written to the command port), reads, writes. The two bursts with the
requested number of transactions are stack A's and stack B's Get Device
IDs, in that order (selftests/guest/tests/bench-regs.sh)."""

import re
import sys

DATA, CMD = 0xCA2, 0xCA3
WRITE_START = 0x61
GAP = 1.0  # seconds without a KCS access between two bursts

# pid@seconds:memory_region_ops_write cpu 0 mr 0x... addr 0xca3 value 0x61 size 1 name 'ipmi-kcs'
# (under TCG, port I/O reaches the device through the memory API; the
# cpu_in/cpu_out events only see QEMU's own port accesses)
LINE = re.compile(r"@(\d+\.\d+):memory_region_ops_(read|write) cpu \S+ mr \S+ addr 0x([0-9a-f]+) value 0x([0-9a-f]+)")

path, requests = sys.argv[1], int(sys.argv[2])
bursts = []
last = None
for line in open(path, errors="replace"):
    m = LINE.search(line)
    if not m:
        continue
    t, kind, addr, val = float(m[1]), m[2], int(m[3], 16), int(m[4], 16)
    if addr not in (DATA, CMD):
        continue
    if last is None or t - last > GAP:
        bursts.append({"start": t, "end": t, "txn": 0, "read": 0, "write": 0, "status": 0})
    last = t
    b = bursts[-1]
    b["end"] = t
    b[kind] += 1
    if kind == "read" and addr == CMD:
        b["status"] += 1
    if kind == "write" and addr == CMD and val == WRITE_START:
        b["txn"] += 1

if not bursts:
    sys.exit("regs: no KCS port access in the trace (is QEMU's trace backend 'log'?)")
t0 = bursts[0]["start"]
print("KCS port accesses, cut at gaps over 1 s")
print(f"  {'start (s)':>9} {'length (s)':>10} {'txns':>6} {'reads':>7} {'(status)':>8} {'writes':>7} {'per txn':>8}")
for b in bursts:
    per = f"{(b['read'] + b['write']) / b['txn']:8.1f}" if b["txn"] else "       -"
    print(f"  {b['start'] - t0:9.1f} {b['end'] - b['start']:10.2f} {b['txn']:6} {b['read']:7} "
          f"{b['status']:8} {b['write']:7} {per}")

runs = [b for b in bursts if b["txn"] == requests]
if len(runs) != 2:
    sys.exit(f"regs: expected 2 bursts of {requests} transactions, found {len(runs)}")
print(f"per Get Device ID ({requests} from one client):")
print(f"  {'':20} {'reads':>7} {'status':>7} {'writes':>7} {'total':>7}")
for name, b in zip(("A (C ipmi_si)", "B (Rust ipmi_si)"), runs):
    n = b["txn"]
    print(f"  {name:20} {b['read'] / n:7.2f} {b['status'] / n:7.2f} {b['write'] / n:7.2f} "
          f"{(b['read'] + b['write']) / n:7.2f}")
