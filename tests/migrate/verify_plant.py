#!/usr/bin/env python3
"""cdc-migrate verify finds a one-value difference inside a digested chunk.

usage: verify_plant.py CDC_MIGRATE [mysql|mariadb ...]

For each source server, a 1,000-row table of the types whose chunks the
servers digest (BIGINT key, DECIMAL(30,10), DOUBLE, FLOAT, DATETIME(6),
TIMESTAMP(6), 4-byte UTF-8 VARCHAR, a VARCHAR holding '') is copied into a
PostgreSQL 15 this script starts. `verify --verify-workers 3 --chunk-rows
100` must say identical with every chunk equal by its digest; then one
value of one row in the middle of the table is changed on the target, one
at a time (a DECIMAL digit, a DOUBLE ulp, a FLOAT ulp, a DATETIME and a
TIMESTAMP microsecond, a 4-byte character for another, '' for NULL), each
time compared with what the target's own SELECT shows changed: verify
must exit 4 naming that row's key, with all other chunks equal by their
digests; after the value is put back, identical again.
Ends with "N passed, N failed". Fails, never skips, without the servers.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from checks import Checks  # noqa: E402
import workload  # noqa: E402
from pgserver import PG  # noqa: E402

MIGRATE = os.path.abspath(sys.argv[1])
FLAVORS = sys.argv[2:] or ["mysql", "mariadb"]
ROWS = 1000
KEY = 555
checks = Checks()
check = checks.check


def env():
    e = dict(os.environ)
    e["CDC_MIGRATE_SOURCE_PASSWORD"] = os.environ["CDC_TEST_PASSWORD"]
    return e


# column, the changed value on the target (SQL), what it was there
PLANTS = [
    ("d", "12345.6789012346", "12345.6789012345"),
    ("f", "1.0000000000000002", "1"),                 # one ulp above 1.0
    ("fl", "1.00000012", "1"),                         # one float ulp above 1.0
    ("dt", "'2024-05-06 07:08:09.123457'", "'2024-05-06 07:08:09.123456'"),
    ("ts", "'2024-05-06 07:08:09.654322+00'", "'2024-05-06 07:08:09.654321+00'"),
    ("s", "'x\U0001F601y'", "'x\U0001F600y'"),
    ("e", "NULL", "''"),
]


def main():
    pg = PG()
    try:
        for flavor in FLAVORS:
            run(flavor, pg)
    finally:
        pg.cleanup()
    return checks.summary()


def run(flavor, pg):
    db = "migverify_plant"
    src = workload.Source(flavor, db)
    src.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s CHARACTER SET utf8mb4;" % (db, db),
            db=False)
    src.sql("CREATE TABLE p (id BIGINT NOT NULL PRIMARY KEY, d DECIMAL(30,10), f DOUBLE, "
            "fl FLOAT, dt DATETIME(6), ts TIMESTAMP(6) NULL, s VARCHAR(20), e VARCHAR(5)) "
            "CHARACTER SET utf8mb4;"
            "SET SESSION time_zone = '+00:00';"
            "INSERT INTO p VALUES (1, 12345.6789012345, 1, 1, '2024-05-06 07:08:09.123456', "
            "'2024-05-06 07:08:09.654321', 'x\U0001F600y', '');")
    n = 1
    while n < ROWS:
        src.sql("INSERT INTO p SELECT id + %d, d, f, fl, dt, ts, s, e FROM p WHERE id + %d <= %d"
                % (n, n, ROWS))
        n *= 2
    pgdb = "plant_" + flavor
    pg.sql("postgres", "CREATE DATABASE " + pgdb)
    base = ["--source-host", "127.0.0.1", "--source-port", str(src.port), "--source-user", "root",
            "--database", db, "--target", pg.dsn(pgdb)]
    r = subprocess.run([MIGRATE, "run"] + base + ["--server-id", "7390", "--stop-at", "now"],
                       env=env(), capture_output=True, text=True, timeout=300)
    check("%s: copied" % flavor, r.returncode == 0, r.stderr[-800:])
    vargs = [MIGRATE, "verify"] + base + ["--verify-workers", "3", "--chunk-rows", "100"]
    tbl = '"%s".p' % db

    def verify():
        v = subprocess.run(vargs, env=env(), capture_output=True, text=True, timeout=300)
        m = re.search(r"(\d+) of (\d+) chunks equal by their digests", v.stderr)
        return v, (int(m.group(1)), int(m.group(2))) if m else (None, None)

    v, (eq, tot) = verify()
    chunks = tot
    check("%s: identical, every chunk equal by its digest, 3 workers" % flavor,
          v.returncode == 0 and "verify: identical" in v.stdout and eq == tot and tot >= 10,
          v.stdout + v.stderr[-800:])
    for col, new, old in PLANTS:
        before = pg.sql(pgdb, "SELECT %s::text FROM %s WHERE id = %d" % (col, tbl, KEY))
        pg.sql(pgdb, "UPDATE %s SET %s = %s WHERE id = %d" % (tbl, col, new, KEY))
        after = pg.sql(pgdb, "SELECT %s::text FROM %s WHERE id = %d" % (col, tbl, KEY))
        # the target's own SELECT must show the planted change
        planted = before != after
        v, (eq, tot) = verify()
        check("%s: a changed %s (%s -> %s) is found by key, in its chunk only"
              % (flavor, col, before, after),
              planted and v.returncode == 4 and ("p key (%d): values differ" % KEY) in v.stdout
              and v.stdout.count("values differ") == 1 and eq == chunks - 1 and tot == chunks,
              "planted %s rc %d %s %s" % (planted, v.returncode, v.stdout, v.stderr[-600:]))
        pg.sql(pgdb, "UPDATE %s SET %s = %s WHERE id = %d" % (tbl, col, old, KEY))
        v, (eq, tot) = verify()
        check("%s: identical again after %s is put back" % (flavor, col),
              v.returncode == 0 and eq == tot == chunks, v.stdout + v.stderr[-600:])
    src.drop()


if __name__ == "__main__":
    sys.exit(main())
