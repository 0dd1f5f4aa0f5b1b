#!/usr/bin/env python3
"""cdc-migrate's copy into a MariaDB target, one connection against copy
workers (docs/performance.md, "Copy into MySQL/MariaDB with copy workers").

usage: bench_my.py CDC_MIGRATE [mariadb|mysql] [ROWS] [WORKERS...]

On the chosen shared source (default mariadb), bench.py's 10-column table
of ROWS rows (default 262144) is copied with `run --stop-at now` into a
MariaDB of this script's own (Debian's mariadbd, tests/migrate/myserver.py,
no binlog), once per WORKERS value (default 1 2; 1 is the main connection,
N > 1 is `--copy-workers N`), each into a database of its own. For each:
rows, cdc-migrate's "copy done" rate, and the CPU seconds (user + system)
of cdc-migrate and of the target's mariadbd over the run: on a loaded
machine the CPU seconds are the figures, wall time is noise. The target's
row count is checked after each copy. Use a build without sanitizers
(-Dbuildtype=release). Ends with "N passed, N failed".
"""
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import workload  # noqa: E402
from myserver import MyServer, PASSWORD  # noqa: E402

MIGRATE = os.path.abspath(sys.argv[1])
FLAVOR = sys.argv[2] if len(sys.argv) > 2 else "mariadb"
ROWS = int(sys.argv[3]) if len(sys.argv) > 3 else 262144
WORKERS = [int(x) for x in sys.argv[4:]] or [1, 2]
TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def main():
    src = workload.Source(FLAVOR, "migmy_bench")
    src.sql("DROP DATABASE IF EXISTS migmy_bench; CREATE DATABASE migmy_bench;", db=False)
    src.sql("CREATE TABLE b (id BIGINT PRIMARY KEY, c1 INT, c2 INT, c3 BIGINT, c4 DECIMAL(12,2),"
            " c5 DOUBLE, c6 DATETIME(6), c7 VARCHAR(40), c8 VARCHAR(40), c9 TIMESTAMP NULL);"
            "INSERT INTO b VALUES (1, 1, 2, 3, 4.50, 6.25, '2024-01-02 03:04:05.123456',"
            " 'alpha-0001', 'beta-0001', '2024-01-02 03:04:05');")
    n = 1
    while n < ROWS:
        src.sql("INSERT INTO b SELECT id + %d, c1 + id, c2, c3 * 3, c4 + 1, c5 / 3, "
                "c6 + INTERVAL id SECOND, CONCAT('alpha-', id), CONCAT('beta-', id), c9 FROM b "
                "WHERE id + %d <= %d"
                % (n, n, ROWS))
        n *= 2
    own = MyServer()
    passed = failed = 0
    try:
        e = dict(os.environ)
        e["CDC_MIGRATE_SOURCE_PASSWORD"] = os.environ["CDC_TEST_PASSWORD"]
        e["CDC_MIGRATE_TARGET_PASSWORD"] = PASSWORD
        for i, w in enumerate(WORKERS):
            tdb = "migmy_bench_t%d" % i
            argv = [MIGRATE, "run", "--source-port", str(src.port), "--database", "migmy_bench",
                    "--target", own.url(), "--target-schema", tdb, "--state-schema",
                    "migmy_bench_state", "--name", "b%d" % i, "--server-id", str(7390 + i),
                    "--stop-at", "now"] + (["--copy-workers", str(w)] if w > 1 else [])
            t0, r0, s0 = time.time(), os.times(), proc_cpu(own.proc.pid)
            p = subprocess.run(argv, env=e, capture_output=True, text=True)
            r1, s1 = os.times(), proc_cpu(own.proc.pid)
            cpu = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
            text = p.stdout + p.stderr
            m = re.search(r"copy done: (\d+) rows in ([\d.]+)s \((\d+) rows/s\)", text)
            conns = re.search(r"copying \d+ tables \((\d+) target connection", text)
            r = subprocess.run(own.cli(tdb), input=b"SELECT COUNT(*) FROM b", capture_output=True)
            count = r.stdout.decode().strip()
            ok = p.returncode == 0 and m and conns and int(conns.group(1)) == w and \
                count == str(ROWS) and int(m.group(1)) == ROWS
            passed, failed = passed + bool(ok), failed + (not ok)
            if not ok:
                print("FAIL: %d worker(s): rc %d, target rows %s\n%s"
                      % (w, p.returncode, count, text[-2000:]), flush=True)
                continue
            print("copy into MariaDB, %d target connection%s: %s rows in %ss = %s rows/s (whole "
                  "run %.1fs); cdc-migrate CPU %.2fs, target mariadbd CPU %.2fs; rows per CPU s "
                  "(both) %.0f" % (w, "s" if w > 1 else "", m.group(1), m.group(2), m.group(3),
                                   time.time() - t0, cpu, s1 - s0, ROWS / (cpu + s1 - s0)),
                  flush=True)
    finally:
        own.cleanup()
        src.drop()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
