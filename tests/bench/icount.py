#!/usr/bin/env python3
"""Instruction-count check: a slowdown of more than 10% fails.

usage: icount.py BENCH_DECODE BENCH_JSON BINLOG.gz BASELINE.json [--update]

Runs the typed reader twice (every value through cdc_change_cells_view,
the default, and through the per-value getters, bench_decode --getters) and
the JSON-lines renderer on the same fixed binlog under callgrind, divides the
instructions by the row changes, and compares with the committed
baseline. Instruction counts are exact and repeatable for one binary on
one input, unlike wall time on a shared machine; they do move with the
compiler, libc and zlib, so the baseline records where it was made, and
`--update` rewrites it (commit the new file with the change that moved
it, saying why). Needs valgrind: without it the test says so loudly and
exits 77 (skipped).
"""
import gzip
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

LIMIT = 1.10


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    update = "--update" in sys.argv
    if len(args) != 4:
        sys.exit(__doc__)
    typed, jsonl, fixture, baseline_path = args
    if not shutil.which("valgrind"):
        print("!" * 72)
        print("icount: SKIPPED: valgrind is not installed, so the instruction-count")
        print("icount: regression check did NOT run. Install valgrind (Debian: valgrind).")
        print("!" * 72)
        sys.exit(77)
    with tempfile.TemporaryDirectory() as td:
        binlog = os.path.join(td, os.path.basename(fixture)[:-3])
        with gzip.open(fixture, "rb") as f, open(binlog, "wb") as o:
            o.write(f.read())
        got = {}
        # meson test sets MALLOC_PERTURB_, which makes glibc fill every
        # malloc'd block (the benchmarks' 1 MiB read buffer: ~380
        # instructions per row here); the counts must not depend on it
        env = {k: v for k, v in os.environ.items() if k != "MALLOC_PERTURB_"}
        for name, cmd in (("typed", [typed]), ("typed_getters", [typed, "--getters"]), ("json", [jsonl])):
            out = os.path.join(td, name + ".cg")
            r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + cmd + [binlog],
                               capture_output=True, text=True, env=env)
            m = re.search(r"Collected : (\d+)", r.stderr)
            rows = re.search(r"rows (\d+)", r.stdout)
            if r.returncode != 0 or not m or not rows:
                print("icount: %s failed under callgrind (exit %d):\n%s\n%s" %
                      (name, r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
                print("0 passed, 1 failed")
                sys.exit(1)
            got[name] = {"instructions": int(m.group(1)), "rows": int(rows.group(1)),
                         "per_row": round(int(m.group(1)) / int(rows.group(1)), 1)}
    if update:
        doc = {"about": "instructions per row change under callgrind on %s; made with %s on %s %s" %
                        (os.path.basename(fixture), compiler(), platform.system(), platform.machine()),
               "limit": "fails above %.0f%% of per_row" % (LIMIT * 100)}
        doc.update(got)
        with open(baseline_path, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        print("icount: baseline written to %s" % baseline_path)
    with open(baseline_path) as f:
        base = json.load(f)
    passed = failed = 0
    for name in ("typed", "typed_getters", "json"):
        g, b = got[name], base.get(name)
        if b is None:
            print("[  FAILED  ] icount/%s: not in the baseline (run with --update)" % name)
            failed += 1
            continue
        if g["rows"] != b["rows"]:
            print("[  FAILED  ] icount/%s: %d rows, the baseline has %d (not the same input?)" %
                  (name, g["rows"], b["rows"]))
            failed += 1
            continue
        ratio = g["per_row"] / b["per_row"]
        ok = ratio <= LIMIT
        print("[ %s ] icount/%s: %.1f instructions/row, baseline %.1f (%+.1f%%; limit +%.0f%%)" %
              ("     OK " if ok else " FAILED ", name, g["per_row"], b["per_row"], (ratio - 1) * 100,
               (LIMIT - 1) * 100))
        if ratio < 0.9:
            print("icount: %s is more than 10%% below the baseline: run with --update and commit the file" % name)
        passed += ok
        failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def compiler():
    try:
        return subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "unknown compiler"


if __name__ == "__main__":
    main()
