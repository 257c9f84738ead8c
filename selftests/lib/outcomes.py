#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The suite's scenario x stack table.

Reads every boot directory under RESULTS (selftests/run's results): the
cells the guest tests recorded with `outcome` (outcomes.txt: bmc/intf,
scenario, stack, result, detail, tab-separated) and the boot's verdict
(vm-run's verdict file). A boot that failed on the kernel's complaint
(oops, BUG, WARNING, KASAN, lockdep, a taint) turns each of its cells
into "oops", one that hung or never finished into "hang": a scenario
that took the kernel down cannot be read as passed. Prints one row per
(bmc/intf, scenario), one column per stack, then the details of every
cell that is not a plain pass.

    outcomes.py RESULTS [--details]
"""

import os
import sys

STACKS = ["c", "si", "devintf", "msghandler", "rust"]
HEADS = {
    "c": "upstream",
    "si": "our si",
    "devintf": "our devintf",
    "msghandler": "our handler",
    "rust": "all ours",
}


def boot_fault(verdict):
    """What a failed boot makes of its cells: None if it passed."""
    if verdict is None or verdict.startswith("pass"):
        return None
    if "kernel complained" in verdict or "tainted" in verdict:
        return "oops"
    if "timed out" in verdict or "never finished" in verdict:
        return "hang"
    return None


def read_boot(path):
    verdict = None
    try:
        with open(os.path.join(path, "verdict")) as f:
            verdict = f.read().strip()
    except OSError:
        pass
    cells = []
    try:
        with open(os.path.join(path, "outcomes.txt"), errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) < 4:
                    continue
                where, scenario, stack, result = parts[:4]
                detail = parts[4] if len(parts) > 4 else ""
                cells.append((where, scenario, stack, result, detail))
    except OSError:
        pass
    return verdict, cells


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    results = argv[1]
    details = "--details" in argv[2:]
    table = {}
    order = []
    notes = []
    for name in sorted(os.listdir(results)):
        path = os.path.join(results, name)
        if not os.path.isdir(path):
            continue
        verdict, cells = read_boot(path)
        fault = boot_fault(verdict)
        for where, scenario, stack, result, detail in cells:
            key = (where, scenario)
            if key not in table:
                table[key] = {}
                order.append(key)
            if fault:
                detail = f"{result} {detail}; then the boot: {verdict}"
                result = fault
            table[key][stack] = result
            if result != "pass" and detail:
                notes.append(f"{where} {scenario} [{HEADS.get(stack, stack)}] {result}: {detail}")
        if fault and not cells:
            notes.append(f"{name}: {fault} before any outcome was recorded ({verdict})")
    if not order:
        print("# no scenario outcomes recorded")
        return 0
    used = [s for s in STACKS if any(s in table[k] for k in order)]
    used += sorted({s for k in order for s in table[k]} - set(used))
    w0 = max(len("where"), *(len(k[0]) for k in order))
    w1 = max(len("scenario"), *(len(k[1]) for k in order))
    widths = [max(len(HEADS.get(s, s)), 7) for s in used]
    head = f"# {'where':<{w0}}  {'scenario':<{w1}}  " + "  ".join(
        f"{HEADS.get(s, s):<{w}}" for s, w in zip(used, widths))
    print(head.rstrip())
    for key in order:
        row = table[key]
        line = f"# {key[0]:<{w0}}  {key[1]:<{w1}}  " + "  ".join(
            f"{row.get(s, '-'):<{w}}" for s, w in zip(used, widths))
        print(line.rstrip())
    if details and notes:
        print("# details of every cell that is not a plain pass:")
        for n in notes:
            print(f"#   {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
