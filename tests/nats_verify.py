#!/usr/bin/env python3
"""Verify nomsync events from their NATS envelopes alone (docs/OPERATIONS.md, "NATS").

Reads envelopes, one JSON object per line (stdin or the files named), and checks
for each, using only the envelope's "nomsync" block:
  - id == BLAKE2b-256(header)
  - the Ed25519 signature over header verifies with origin (libsodium via ctypes)
  - the header holds the origin key, and BLAKE2b-256(payload) when a payload is given
Prints "verified N" and exits 0 if every envelope verifies, else names the first
failure and exits 1. A line may also be ns-natscat's "id TAB subject TAB json".
"""
import base64
import ctypes
import ctypes.util
import hashlib
import json
import sys


def sodium():
    name = ctypes.util.find_library("sodium") or "libsodium.so.23"
    lib = ctypes.CDLL(name)
    if lib.sodium_init() < 0:
        raise SystemExit("libsodium does not initialise")
    return lib


def check(lib, env):
    nb = env["nomsync"]
    header = base64.b64decode(nb["header"])
    sig = base64.b64decode(nb["signature"])
    origin = bytes.fromhex(nb["origin"])
    if hashlib.blake2b(header, digest_size=32).hexdigest() != nb["id"]:
        return "id is not the BLAKE2b-256 of the header"
    if len(sig) != 64 or len(origin) != 32:
        return "signature or origin has the wrong length"
    if lib.crypto_sign_verify_detached(sig, header, ctypes.c_ulonglong(len(header)), origin) != 0:
        return "the signature does not verify with origin"
    if origin not in header:
        return "the header does not name origin"
    if nb.get("payload") is not None:
        payload = base64.b64decode(nb["payload"])
        if hashlib.blake2b(payload, digest_size=32).digest() not in header:
            return "the payload does not hash to the header's payload hash"
    return None


def main():
    lib = sodium()
    files = [open(p) for p in sys.argv[1:]] or [sys.stdin]
    n = 0
    for f in files:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if "\t" in line:
                line = line.split("\t", 2)[2]
            env = json.loads(line)
            err = check(lib, env)
            if err:
                print("event %s: %s" % (env.get("nomsync", {}).get("id"), err))
                return 1
            n += 1
    print("verified %d" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
