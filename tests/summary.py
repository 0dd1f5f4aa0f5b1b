#!/usr/bin/env python3
"""Prints the closing line of a test run: 'N passed, N failed'.

Reads meson's testlog.json. cmocka programs count each of their test cases;
other tests (fuzz corpus replays) count once. A test program that crashed or
timed out before cmocka's summary counts as a failure on top of its cases.
"""
import json
import re
import sys

passed = failed = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    rec = json.loads(line)
    out = rec.get("stdout") or ""
    ok = len(re.findall(r"^\[       OK \] ", out, re.M))
    bad = len(re.findall(r"^\[  FAILED  \] (?!\d+ test)", out, re.M))
    result = rec.get("result")
    if ok or bad:
        passed += ok
        failed += bad
        if result not in ("OK", "EXPECTEDFAIL") and bad == 0:
            failed += 1
    elif result in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif result != "SKIP":
        failed += 1
    else:
        failed += 1  # a skipped test is not a pass: servers must be there
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
