#!/usr/bin/env python3
"""ABI check of the public library: the dynamic symbols libcdc.so exports
(nm -D --defined-only) must be exactly tests/abi/libcdc.symbols. A symbol
that appears means the public API grew: add it to the list in the same
commit as its header documentation. A symbol that disappears breaks every
program linked against the library: that needs a soname bump, not an edit
of the list. Also checks that each listed symbol is declared in a public
header (include/cdc/*.h) and that no internal cdc__ name leaks out.

usage: check.py LIBCDC_SO SYMBOLS_FILE INCLUDE_DIR
Ends with "N passed, N failed"."""
import glob
import os
import re
import subprocess
import sys


def main():
    so, listfile, incdir = sys.argv[1:4]
    out = subprocess.run(["nm", "-D", "--defined-only", so], check=True, capture_output=True, text=True).stdout
    got = sorted({line.split()[-1] for line in out.splitlines() if line.split() and line.split()[-2] in "TDBRVW"})
    with open(listfile, encoding="utf-8") as f:
        want = sorted(line.strip() for line in f if line.strip() and not line.startswith("#"))
    headers = ""
    for h in sorted(glob.glob(os.path.join(incdir, "cdc", "*.h*"))):
        with open(h, encoding="utf-8") as f:
            headers += f.read()
    failed = passed = 0

    def check(ok, msg):
        nonlocal failed, passed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL: " + msg)

    added = sorted(set(got) - set(want))
    removed = sorted(set(want) - set(got))
    check(not added, "exported but not in %s (document it, then list it): %s" % (listfile, " ".join(added)))
    check(not removed, "listed but no longer exported (an ABI break): %s" % " ".join(removed))
    leaked = [s for s in got if not s.startswith("cdc_") or s.startswith("cdc__")]
    check(not leaked, "non-public names exported: %s" % " ".join(leaked))
    undeclared = [s for s in got if not re.search(r"\b%s\s*\(" % re.escape(s), headers)]
    check(not undeclared, "exported but declared in no public header: %s" % " ".join(undeclared))
    print("%d exported symbols" % len(got))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
