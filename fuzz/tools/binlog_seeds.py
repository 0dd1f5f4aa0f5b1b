#!/usr/bin/env python3
"""Seeds for fuzz_binlog from real binlog files.

usage: binlog_seeds.py OUTDIR BINLOG...

Each v4 binlog (19-byte headers) is walked event by event; the bodies
(without header and CRC32) become fuzz_binlog records, and
TRANSACTION_PAYLOAD bodies are decompressed (zstd command) into nested
records. A file gives one seed per group of transactions (about 4 KiB of
records each), so every rows event travels with its TABLE_MAP. The
harness writes its own FORMAT_DESCRIPTION: byte 0 picks MariaDB when the
file's server is MariaDB, and no checksums when the file has none.
"""
import os
import struct
import subprocess
import sys

GTIDS = {33, 34, 42, 162}   # GTID, ANONYMOUS_GTID, GTID_TAGGED, MariaDB GTID
FDE, PAYLOAD = 15, 40


def lenenc(b, off):
    c = b[off]
    if c < 251:
        return c, off + 1
    n = {0xfc: 2, 0xfd: 3, 0xfe: 8}.get(c)
    if n is None:
        raise ValueError("bad lenenc")
    return int.from_bytes(b[off + 1:off + 1 + n], "little"), off + 1 + n


def payload_inner(body):
    """The inner events of a TRANSACTION_PAYLOAD body, decompressed."""
    off, size, comp = 0, None, None
    while True:
        t, off = lenenc(body, off)
        if t == 0:
            break
        ln, off = lenenc(body, off)
        v, _ = lenenc(body, off)
        if t == 1:
            size = v
        elif t == 2:
            comp = v
        off += ln
    data = body[off:off + size] if size is not None else body[off:]
    if comp == 0:
        data = subprocess.run(["zstd", "-d", "-c", "-q"], input=data,
                              stdout=subprocess.PIPE, check=True).stdout
    return data


def record(t, body):
    return bytes([t]) + struct.pack("<H", min(len(body), 0xffff)) + body[:0xffff]


def inner_records(data):
    out, off = b"", 0
    while off + 19 <= len(data):
        t = data[off + 4]
        size = struct.unpack_from("<I", data, off + 9)[0]
        if size < 19 or off + size > len(data):
            break
        out += record(t, data[off + 19:off + size])
        off += size
    return out


def seeds(path):
    d = open(path, "rb").read()
    if d[:4] != b"\xfebin":
        return None, []
    off, crc, maria, groups, cur = 4, False, False, [], b""
    first = True
    while off + 19 <= len(d):
        t = d[off + 4]
        size = struct.unpack_from("<I", d, off + 9)[0]
        if size < 19 or off + size > len(d):
            break
        ev = d[off:off + size]
        off += size
        if first:
            first = False
            if t != FDE or ev[19 + 56] != 19:
                return None, []    # v3 files and extended headers: not for this harness
            ver = ev[21:71].split(b"\0")[0]
            maria = b"MariaDB" in ver
            alg = ev[-5]
            crc = alg == 1 and (maria or not ver.startswith((b"4.", b"5.0", b"5.1", b"5.5")))
            continue
        body = ev[19:len(ev) - 4] if crc else ev[19:]
        if t == FDE:
            continue
        if t in GTIDS and len(cur) >= 4096:
            groups.append(cur)
            cur = b""
        if t == PAYLOAD:
            try:
                cur += record(PAYLOAD, b"\0" + inner_records(payload_inner(body)))
            except (ValueError, subprocess.CalledProcessError, IndexError):
                cur += record(t, body)
        else:
            cur += record(t, body)
        if len(cur) > 60000:
            groups.append(cur)
            cur = b""
    if cur:
        groups.append(cur)
    opt = (1 if maria else 0) | (0 if crc else 2)
    return opt, groups


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    n = 0
    for path in sys.argv[2:]:
        opt, groups = seeds(path)
        base = "_".join(path.split("/")[-2:])
        for i, g in enumerate(groups):
            with open(os.path.join(outdir, "%s-%03d" % (base, i)), "wb") as f:
                f.write(bytes([opt]) + g)
            n += 1
    print("%d seeds" % n)


if __name__ == "__main__":
    main()
