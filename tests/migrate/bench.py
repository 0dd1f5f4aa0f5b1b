#!/usr/bin/env python3
"""cdc-migrate throughput into PostgreSQL (docs/performance.md, "cdc-migrate").

usage: bench.py CDC_MIGRATE [mariadb|mysql] [ROWS] [UPDATES]

On the chosen source (default mariadb), a 10-column table of ROWS rows
(default 262144) is copied into a PostgreSQL 15 this script starts; then
UPDATES single-row update transactions (default 20000) are committed on the
source and applied in strict mode (`run --stop-at now`); then `verify`
compares the table. For each phase: rows/s, and the CPU seconds used by
cdc-migrate and by PostgreSQL (the postmaster and all its backends) over the
phase. Use a build without sanitizers (-Dbuildtype=release).
"""
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import workload  # noqa: E402
from pgserver import PG  # noqa: E402

MIGRATE = os.path.abspath(sys.argv[1])
FLAVOR = sys.argv[2] if len(sys.argv) > 2 else "mariadb"
ROWS = int(sys.argv[3]) if len(sys.argv) > 3 else 262144
UPDATES = int(sys.argv[4]) if len(sys.argv) > 4 else 20000
TICK = os.sysconf("SC_CLK_TCK")


def pg_cpu(pg):
    """CPU seconds of the postmaster, its exited children and live ones."""
    total = 0
    pids = [pg.proc.pid]
    out = subprocess.run(["pgrep", "-P", str(pg.proc.pid)], capture_output=True, text=True).stdout
    # runuser is the Popen child; postgres is its child
    for p in out.split():
        pids.append(int(p))
        sub = subprocess.run(["pgrep", "-P", p], capture_output=True, text=True).stdout
        pids.extend(int(x) for x in sub.split())
    for pid in pids:
        try:
            f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in f[11:15])
        except (OSError, IndexError):
            pass
    return total / TICK


def env():
    e = dict(os.environ)
    e["CDC_MIGRATE_SOURCE_PASSWORD"] = os.environ["CDC_TEST_PASSWORD"]
    return e


def run_child(argv):
    """Runs argv; returns wall seconds, CPU seconds of the child, output."""
    t0 = time.time()
    r0 = os.times()
    p = subprocess.run(argv, env=env(), capture_output=True, text=True)
    r1 = os.times()
    cpu = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
    if p.returncode:
        raise SystemExit("FAIL: %s: %s" % (" ".join(argv[:2]), p.stderr[-2000:]))
    return time.time() - t0, cpu, p.stdout + p.stderr


def main():
    src = workload.Source(FLAVOR, "migrate_bench")
    src.sql("DROP DATABASE IF EXISTS migrate_bench; CREATE DATABASE migrate_bench;", db=False)
    src.sql("CREATE TABLE b (id BIGINT PRIMARY KEY, c1 INT, c2 INT, c3 BIGINT, c4 DECIMAL(12,2),"
            " c5 DOUBLE, c6 DATETIME(6), c7 VARCHAR(40), c8 VARCHAR(40), c9 TIMESTAMP NULL);"
            "INSERT INTO b VALUES (1, 1, 2, 3, 4.50, 6.25, '2024-01-02 03:04:05.123456',"
            " 'alpha-0001', 'beta-0001', '2024-01-02 03:04:05');")
    n = 1
    while n < ROWS:
        src.sql("INSERT INTO b SELECT id + %d, c1 + id, c2, c3 * 3, c4 + 1, c5 / 3, c6 + INTERVAL id "
                "SECOND, CONCAT('alpha-', id), CONCAT('beta-', id), c9 FROM b WHERE id + %d <= %d"
                % (n, n, ROWS))
        n *= 2
    pg = PG()
    try:
        pg.sql("postgres", "CREATE DATABASE bench")
        base = [MIGRATE, "run", "--source-port", str(src.port), "--database", "migrate_bench",
                "--target", pg.dsn("bench"), "--server-id", "7190", "--stop-at", "now"]
        c0 = pg_cpu(pg)
        wall, cpu, text = run_child(base)
        pgc = pg_cpu(pg) - c0
        m = re.search(r"copy done: (\d+) rows in ([\d.]+)s \((\d+) rows/s\)", text)
        print("copy: %s rows in %ss = %s rows/s (whole run %.1fs); cdc-migrate CPU %.1fs, "
              "PostgreSQL CPU %.1fs" % (m.group(1), m.group(2), m.group(3), wall, cpu, pgc))
        # single-row update transactions, then apply them in strict mode
        stmts = "".join("UPDATE b SET c1 = c1 + 1, c7 = 'u%d' WHERE id = %d;\n" % (i, 1 + i * 7 % ROWS)
                        for i in range(UPDATES))
        t0 = time.time()
        src.sql(stmts)
        print("source: %d single-row update transactions committed in %.1fs"
              % (UPDATES, time.time() - t0))
        c0 = pg_cpu(pg)
        wall, cpu, text = run_child(base)
        pgc = pg_cpu(pg) - c0
        m = re.search(r"applied (\d+) transactions, (\d+) rows in ([\d.]+)s \((\d+) rows/s\)", text)
        print("apply strict: %s transactions / %s rows in %ss = %s rows/s (whole run %.1fs); "
              "cdc-migrate CPU %.1fs, PostgreSQL CPU %.1fs"
              % (m.group(1), m.group(2), m.group(3), m.group(4), wall, cpu, pgc))
        c0 = pg_cpu(pg)
        wall, cpu, text = run_child([MIGRATE, "verify", "--source-port", str(src.port),
                                     "--database", "migrate_bench", "--target", pg.dsn("bench"),
                                     "--chunk-rows", "20000"])
        pgc = pg_cpu(pg) - c0
        m = re.search(r"verify: (\d+) source rows in ([\d.]+)s \((\d+) rows/s\)", text)
        ok = "verify: identical" in text
        print("verify: %s rows in %ss = %s rows/s, %s; cdc-migrate CPU %.1fs, PostgreSQL CPU "
              "%.1fs" % (m.group(1), m.group(2), m.group(3), "identical" if ok else "DIFFERENT",
                         cpu, pgc))
    finally:
        pg.cleanup()
        src.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
