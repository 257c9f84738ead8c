#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Raise ACPI GPE 2 in the guest when a guest test asks for it.

The guest writes a number N to DIR/gpe-kick (its results directory, shared
with the host); this plugs one more vCPU into the VM over QMP, for which
QEMU raises GPE 2 (its CPU hotplug event), and then writes N to
DIR/gpe-kicked. Each kick takes one of the VM's free CPU slots (-smp
maxcpus). Runs until QEMU closes the QMP socket (the VM is gone).

    gpe-kicker.py QMP_SOCKET DIR
"""

import json
import os
import socket
import sys
import time


def connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Qmp:
    def __init__(self, sock):
        self.sock = sock
        self.reader = sock.makefile("r")
        self.reply()  # the greeting
        self.call("qmp_capabilities")

    def reply(self):
        while True:
            line = self.reader.readline()
            if not line:
                raise EOFError("QMP socket closed")
            msg = json.loads(line)
            # Events come in between; only a return or an error answers.
            if "event" not in msg:
                return msg

    def call(self, command, **arguments):
        req = {"execute": command}
        if arguments:
            req["arguments"] = arguments
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        msg = self.reply()
        if "error" in msg:
            raise RuntimeError(f"{command}: {msg['error']}")
        return msg.get("return")


def plug_cpu(qmp, n):
    free = [c for c in qmp.call("query-hotpluggable-cpus") if "qom-path" not in c]
    if not free:
        raise RuntimeError("no free CPU slot left for a GPE")
    slot = free[-1]
    qmp.call("device_add", driver=slot["type"], id=f"gpe-kick-{n}", **slot["props"])


def main():
    path, out = sys.argv[1], sys.argv[2]
    qmp = Qmp(connect(path, time.monotonic() + 60))
    request, done = os.path.join(out, "gpe-kick"), os.path.join(out, "gpe-kicked")
    last = None
    while True:
        try:
            with open(request) as f:
                n = f.read().strip()
        except FileNotFoundError:
            n = None
        if n and n != last:
            plug_cpu(qmp, n)
            with open(done + ".tmp", "w") as f:
                f.write(n + "\n")
            os.rename(done + ".tmp", done)
            last = n
        else:
            # A cheap liveness check: ends with the VM.
            qmp.call("query-status")
            time.sleep(0.05)


if __name__ == "__main__":
    try:
        main()
    except (EOFError, ConnectionError, BrokenPipeError):
        pass
