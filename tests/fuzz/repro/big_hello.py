#!/usr/bin/env python3
"""Write one replication frame: a Hello whose vector has N distinct origins.

Regression input for the known bug "hello-quadratic" (docs/RELIABILITY.md):
nomsyncd's on_hello() adds each vector entry with a linear search and a
one-element realloc, twice, so a Hello of N entries costs O(N^2) on the
event loop thread. Too large for the checked-in corpus (< 64 KiB), so it is
generated:

    python3 tests/fuzz/repro/big_hello.py 120000 > /tmp/hello.bin     # 4.5 MB
    build-fuzz/tests/fuzz/fuzz_message -timeout=10 /tmp/hello.bin   # reports a timeout
"""
import os
import sys


def varint(v):
    b = bytearray()
    while v >= 0x80:
        b.append((v & 0x7F) | 0x80)
        v >>= 7
    b.append(v)
    return bytes(b)


def fld(num, wire, payload):
    key = varint(num << 3 | wire)
    return key + (varint(len(payload)) + payload if wire == 2 else varint(payload))


n = int(sys.argv[1]) if len(sys.argv) > 1 else 120000
entries = bytearray()
for i in range(n):
    origin = (i.to_bytes(8, "big") * 4)  # 32 distinct bytes per entry, reproducible
    entries += fld(3, 2, fld(1, 2, origin) + fld(2, 0, 5))
hello = fld(1, 0, 1) + fld(2, 2, b"HUBNE") + bytes(entries) + fld(4, 0, 8) + fld(5, 0, 99)
sys.stdout.buffer.write(fld(1, 2, hello))  # Message { hello = 1 }
