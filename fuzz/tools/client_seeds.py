#!/usr/bin/env python3
"""Hand-made seeds for fuzz_client (bare-connection mode): one per
authentication path and flavour, each going on to a result set, a
multi-result query, a ping and a binlog dump with events taken from a
real binlog file. See fuzz_client.c for the input format.

usage: client_seeds.py OUTDIR BINLOG
"""
import os
import struct
import sys

(RAW, GREETING, SWITCH, MORE, OK, ERR, EOF, RESULT, PACKET, FDE, EVENT,
 NEXT_CONN) = range(12)
JOIN = 0x80


def rec(op, data=b""):
    return bytes([op]) + struct.pack("<H", len(data)) + data


def greeting(maria, plugin):
    # d[0]: bit 0 MariaDB, bits 1-3 plugin index; d[1..4] caps XOR; d[5..24] scramble
    return rec(GREETING, bytes([(1 if maria else 0) | (plugin << 1)]) + b"\0\0\0\0" +
               bytes(range(65, 85)))


def events(path):
    d = open(path, "rb").read()
    off, out = 4, []
    while off + 19 <= len(d):
        t = d[off + 4]
        size = struct.unpack_from("<I", d, off + 9)[0]
        if size < 19 or off + size > len(d):
            break
        if t != 15:
            out.append(rec(EVENT, bytes([t]) + d[off + 19:off + size - 4]))
        off += size
    return out


def after_login(evs, maria):
    s = rec(RESULT, b"\0" + b"1\0" + b"1")                  # SELECT 1
    s += rec(RESULT, b"\1" + b"a\0b\0x\0\xfb\0yy\0zz")      # first result
    s += rec(RESULT | JOIN, b"\0" + b"c\0v")                # multi-result (no MORE flag: ends)
    s += rec(OK)                                            # ping
    s += rec(FDE, bytes([1 if maria else 0]))
    for i, e in enumerate(evs):
        s += bytes([e[0] | JOIN]) + e[1:]
    s += rec(EOF | JOIN)
    return s


def main():
    out, binlog = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    evs = events(binlog)[:40]
    seeds = {}
    for maria in (False, True):
        fl = "maria" if maria else "mysql"
        tail = after_login(evs, maria)
        seeds["native-" + fl] = (0, 0, greeting(maria, 0) + rec(OK) + tail)
        # caching_sha2 fast path: 0x01 0x03 then OK
        seeds["sha2-fast-" + fl] = (0, 0, greeting(maria, 1) + rec(MORE, b"\x03") + rec(OK | JOIN) + tail)
        # caching_sha2 full path over the unix socket (secure): clear password, then OK
        seeds["sha2-full-" + fl] = (0, 0, greeting(maria, 1) + rec(MORE, b"\x04") + rec(OK) + tail)
        # auth switch to ed25519 (MariaDB) with a 32-byte nonce
        seeds["switch-ed25519-" + fl] = (0, 0, greeting(maria, 0) + rec(SWITCH, b"\x03" + bytes(range(32))) + rec(OK) + tail)
        seeds["switch-native-" + fl] = (0, 0, greeting(maria, 1) + rec(SWITCH, b"\x00" + bytes(range(20)) + b"\0") + rec(OK) + tail)
        seeds["switch-clear-" + fl] = (0x20, 0, greeting(maria, 0) + rec(SWITCH, b"\x04") + rec(OK) + tail)
        seeds["switch-sha256-" + fl] = (0, 0, greeting(maria, 0) + rec(SWITCH, b"\x02" + bytes(range(20)) + b"\0") + rec(OK) + tail)
        seeds["denied-" + fl] = (0, 0, greeting(maria, 0) + rec(ERR, b"\x15\x04Access denied for user 'fuzz'"))
        seeds["compressed-" + fl] = (0x02, 0x04, greeting(maria, 0) + rec(OK) + tail)
        seeds["trickle-" + fl] = (0x80, 0x00, greeting(maria, 0) + rec(OK) + tail)
        seeds["pieces-" + fl] = (0x00, 0x02, greeting(maria, 0) + rec(OK) + tail)
        seeds["tcp-sha2-full-" + fl] = (0x44, 0, greeting(maria, 1) + rec(MORE, b"\x04") + rec(MORE, b"-----BEGIN PUBLIC KEY-----\n") + rec(OK) + tail)
    for name, (o0, o1, body) in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([o0, o1]) + body)
    print(len(seeds), "seeds")


if __name__ == "__main__":
    main()
