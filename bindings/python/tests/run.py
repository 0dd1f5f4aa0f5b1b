#!/usr/bin/env python3
"""Runs the binding's unittest modules and prints one line per test in the
form tests/summary.py counts ("[       OK ] name" / "[  FAILED  ] name").

    python3 bindings/python/tests/run.py [unit|integration|all]
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
# A preloaded sanitizer runtime (bindings/run-tests.sh) is for this
# interpreter only, not for the clients and tools the tests start.
os.environ.pop("LD_PRELOAD", None)
sys.path.insert(0, os.path.dirname(HERE))  # the libcdc package
sys.path.insert(0, HERE)


class LineResult(unittest.TextTestResult):
    def _name(self, test):
        return test.id().replace("__main__.", "")

    def addSuccess(self, test):
        super().addSuccess(test)
        print("[       OK ] " + self._name(test), flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        print("[  FAILED  ] " + self._name(test), flush=True)

    def addError(self, test, err):
        super().addError(test, err)
        print("[  FAILED  ] " + self._name(test), flush=True)

    def addSkip(self, test, reason):
        # A skip is not a pass: the servers and fixtures must be there.
        super().addSkip(test, reason)
        print("[  FAILED  ] %s (skipped: %s)" % (self._name(test), reason), flush=True)


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    names = {"unit": ["test_unit"], "integration": ["test_integration"],
             "all": ["test_unit", "test_integration"]}[what]
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=1, resultclass=LineResult)
    result = runner.run(suite)
    ok = result.wasSuccessful() and not result.skipped and result.testsRun > 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
