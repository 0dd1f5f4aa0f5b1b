#!/usr/bin/env python3
"""`cdc dump --start-position=N` on fixture binlogs (issue 9): a start at
the first byte of any event prints exactly the rows of the events from
there on; a start inside an event is refused with a message naming the
events around it; the file's end prints nothing; past the end is refused.

The event boundaries come from the file itself, walked here by the v4
format (4 magic bytes, then events whose header holds their size at byte
9, little-endian), not from libcdc. TRANSACTION_PAYLOAD's inner events are
inside one outer event and report its offset.

usage: dump_start.py CDC_TOOL   (CDC_FIXTURES names tests/fixtures)
Ends with "N passed, N failed".
"""
import json
import os
import struct
import subprocess
import sys

tool = sys.argv[1]
root = os.environ.get("CDC_FIXTURES") or os.path.join(os.path.dirname(__file__), "fixtures")
files = [
    "binlog-parser/mysql-bin.03",
    "mariadb-server-11.8.6/std_data/mdev35643_mysql_80_binlog.000001",  # TRANSACTION_PAYLOAD
]
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def boundaries(path):
    data = open(path, "rb").read()
    assert data[:4] == b"\xfebin", path
    starts, payloads, off = [], set(), 4
    while off + 19 <= len(data):
        size = struct.unpack_from("<I", data, off + 9)[0]
        assert size >= 19, (path, off)
        starts.append(off)
        if data[off + 4] == 40:  # TRANSACTION_PAYLOAD
            payloads.add(off)
        off += size
    assert off == len(data), (path, off, len(data))
    return starts, payloads, len(data)


def dump(path, start):
    p = subprocess.run([tool, "dump", "--start-position=%d" % start, path], capture_output=True, text=True)
    return p.returncode, [json.loads(l) for l in p.stdout.splitlines()], p.stderr.strip()


for rel in files:
    path = os.path.join(root, rel)
    starts, payloads, size = boundaries(path)
    rc, all_rows, err = dump(path, 0)
    check(rc == 0 and all_rows, "%s: whole file: rc %d %s" % (rel, rc, err))
    # every boundary: the rows of the events from there on, nothing else
    for s in starts:
        rc, rows, err = dump(path, s)
        want = [r for r in all_rows if r["pos"]["offset"] >= s]
        check(rc == 0 and rows == want, "%s: start %d: rc %d, %d rows, want %d (%s)" % (rel, s, rc, len(rows), len(want), err))
    # inside events: the first byte after each start; the middle and the
    # last byte of every third event, the last one and payload events
    for i, s in enumerate(starts):
        nxt = starts[i + 1] if i + 1 < len(starts) else size
        more = i % 3 == 0 or i + 1 == len(starts) or s in payloads
        for at in sorted({s + 1, (s + nxt) // 2, nxt - 1} if more else {s + 1}):
            if at <= s or at >= nxt:
                continue
            rc, rows, err = dump(path, at)
            if i + 1 < len(starts):
                want = "--start-position=%d is not the start of an event (the events around it start at %d and %d)" % (at, s, nxt)
            else:
                want = "--start-position=%d is not the start of an event (the last event starts at %d and ends at %d)" % (at, s, size)
            check(rc == 1 and not rows and want in err, "%s: start %d: rc %d, %d rows, stderr %r, want %r" % (rel, at, rc, len(rows), err, want))
    # the file's end is a boundary with nothing after it; past it is not
    rc, rows, err = dump(path, size)
    check(rc == 0 and not rows and not err, "%s: start at the end %d: rc %d %s" % (rel, size, rc, err))
    rc, rows, err = dump(path, size + 10)
    want = "--start-position=%d is past the end of the file (the last event starts at %d and ends at %d)" % (size + 10, starts[-1], size)
    check(rc == 1 and want in err, "%s: past the end: rc %d %r" % (rel, rc, err))

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
