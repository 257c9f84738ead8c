#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write the FRU image both simulated BMCs serve (IPMI Platform Management
FRU Information Storage Definition 1.0: common header, board and product
info areas), so that `ipmitool fru print` has known fields to show."""

import sys


def field(text):
    data = text.encode("ascii")
    assert len(data) < 64
    return bytes([0xC0 | len(data)]) + data


def area(body):
    # format version, length in 8-byte units, ..., end marker, pad, checksum
    raw = bytes([0x01, 0]) + body + bytes([0xC1])
    raw += bytes((-(len(raw) + 1)) % 8)
    raw = bytearray(raw + b"\0")
    raw[1] = len(raw) // 8
    raw[-1] = (-sum(raw)) & 0xFF
    return bytes(raw)


board = area(
    bytes([0x19])  # language: English
    + (0x00A0_B0C0).to_bytes(3, "little")  # minutes since 1996-01-01
    + field("ipmi-rs")
    + field("Test Board")
    + field("BRD-0001")
    + field("PN-1234")
    + field("")
)
product = area(
    bytes([0x19])
    + field("ipmi-rs")
    + field("Simulated Server")
    + field("SRV-1")
    + field("1.0")
    + field("SN-5678")
    + field("ASSET-9")
    + field("")
)

header = bytearray([0x01, 0, 0, 1, 1 + len(board) // 8, 0, 0, 0])
header[7] = (-sum(header)) & 0xFF
image = bytes(header) + board + product
image += bytes(256 - len(image))

with open(sys.argv[1], "wb") as f:
    f.write(image)
