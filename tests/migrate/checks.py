"""The checks of an integration test script and its closing line
"N passed, N failed" (tests/summary.py counts the [ OK ] / [ FAILED ]
lines). Shared by the migrate and Kafka-applier tests:

    checks = Checks()
    check = checks.check
    ...
    if not checks.have_testenv():
        return 1
    ...
    return checks.summary()
"""
import os


class Checks:
    def __init__(self, detail_max=None):
        """detail_max: how much of a failure's detail is printed (all if None)."""
        self.passed = self.failed = 0
        self.detail_max = detail_max

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("[       OK ] %s" % name, flush=True)
        else:
            self.failed += 1
            print("[  FAILED  ] %s %s" % (name, detail[:self.detail_max]), flush=True)

    def have_testenv(self):
        """Are the shared servers' variables set? If not, says so and
        counts a failure (a test without its servers fails, never skips)."""
        for v in ("CDC_TEST_TESTENV", "CDC_TEST_PASSWORD"):
            if not os.environ.get(v):
                print("FAIL: %s unset: source the env file of tests/servers/testenv.sh" % v)
                print("0 passed, 1 failed")
                return False
        return True

    def summary(self):
        """Prints the closing line; the script's exit status."""
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0

    def finish(self, server, keep_var):
        """Stops a server the test started (pgserver.PG, myserver.MyServer):
        keeps its directory for a look when a check failed and keep_var is
        set in the environment, removes it otherwise."""
        if self.failed and os.environ.get(keep_var):
            server.stop()
            print("# kept " + server.dir)
        else:
            server.cleanup()
