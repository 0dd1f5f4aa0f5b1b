#!/usr/bin/env python3
"""cdc-migrate: DDL on migrated tables into MySQL and MariaDB targets.

usage: migrate_ddl_my.py CDC_MIGRATE [mysql-mariadb] [mariadb-mysql]

mysql-mariadb: MySQL 9.7 (shared test server) into a MariaDB of the test's
  own (tests/migrate/myserver.py).
mariadb-mysql: MariaDB 10.11 (shared) into the shared MySQL 9.7, in a
  database of our own, through an account of our own.
For each: two writers commit inserts, updates, deletes and rollbacks on the
source the whole time while `cdc-migrate run` follows and the test runs DDL
of every covered kind on the source: ADD COLUMN (FIRST, AFTER, string and
number defaults, NOT NULL), MODIFY (a wider type), CHANGE (rename and type),
RENAME COLUMN, DROP COLUMN, RENAME TABLE and ALTER TABLE ... RENAME TO,
TRUNCATE, index DDL (CREATE [UNIQUE] INDEX, ADD [UNIQUE] INDEX/KEY with
prefix lengths, unnamed, DESC, RENAME INDEX, DROP INDEX both ways),
CREATE TABLE and CREATE TABLE ... LIKE. Then the run is killed by the crash
hook right after the target took an ALTER and before the checkpoint past
it (the window MySQL's implicit DDL commit opens); started again, it must
find the ALTER applied and go on; the same for a CREATE INDEX and a CREATE
TABLE. A DROP TABLE stops the run by default and is applied with
--on-drop-table apply. After the writers stop, the tables' definitions
(column names, order, types, nullability from each server's
information_schema), secondary indexes (information_schema.STATISTICS) and
rows (each server's own SELECT) must be equal, and `cdc-migrate verify`
must say identical. A FULLTEXT index stops the run; `skip-ddl` past it lets
the run go on. Last, a statement the target cannot take exactly stops the
run (exit 3) with a message naming the statement, its binlog position and
why, and the target's table is left as it was.

Ends with "N passed, N failed". Needs tests/servers/testenv.sh's servers;
fails, never skips, without them.
"""
import os
import random
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from checks import Checks  # noqa: E402
import migrate_my as mm  # noqa: E402
import migrun  # noqa: E402
from myserver import MyServer, PASSWORD as OWN_PW  # noqa: E402

MIGRATE = os.path.abspath(sys.argv[1])
mm.MIGRATE = MIGRATE
CASES = sys.argv[2:] or ["mysql-mariadb", "mariadb-mysql"]
mm.TGT_USER = "migddl_tgt"  # an account of our own on the shared MySQL
mm.TGT_PW = "migddl-Tgt-pw-7"
checks = Checks()
check = checks.check


class Writer(threading.Thread):
    """One session committing small transactions on t and w through the
    columns no DDL touches (id, n), on keys of its own (id % 2 == wid);
    some roll back."""

    def __init__(self, cli, wid):
        super().__init__(daemon=True)
        self.p = subprocess.Popen(cli, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        self.rnd = random.Random(wid)
        self.wid = wid
        self.halt = threading.Event()
        self.txns = 0

    def txn(self):
        r = self.rnd
        parts = ["BEGIN;"]
        for _ in range(r.randint(1, 3)):
            tbl = r.choice(["t", "w"])
            i = r.randint(0, 150) * 2 + self.wid  # keys of its own: no deadlocks
            k = r.random()
            if k < 0.45:
                parts.append("INSERT INTO %s (id, n) VALUES (%d, %d) ON DUPLICATE KEY UPDATE "
                             "n = n + 1;" % (tbl, i, r.randint(0, 10**6)))
            elif k < 0.85:
                parts.append("UPDATE %s SET n = n + %d WHERE id = %d;" % (tbl, r.randint(1, 9), i))
            else:
                parts.append("DELETE FROM %s WHERE id = %d;" % (tbl, i))
        parts.append("ROLLBACK;" if r.random() < 0.1 else "COMMIT;")
        return " ".join(parts)

    def run(self):
        try:
            # a column added NOT NULL without a default gets its implicit one
            self.p.stdin.write(b"SET SESSION sql_mode = ''; SET SESSION TRANSACTION ISOLATION "
                               b"LEVEL READ COMMITTED;\n")
            while not self.halt.is_set():
                self.p.stdin.write((self.txn() + "\n").encode())
                self.p.stdin.flush()
                self.txns += 1
                time.sleep(0.03)
        except BrokenPipeError:
            pass

    def stop(self):
        self.halt.set()
        self.join()
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        self.p.wait()
        return self.p.returncode, self.p.stderr.read().decode()[-500:]


def definition(side, db, table):
    return side.sql("SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE, COALESCE(CHARACTER_MAXIMUM_LENGTH,"
                    " ''), COALESCE(NUMERIC_PRECISION, ''), COALESCE(NUMERIC_SCALE, '') FROM "
                    "information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s' AND TABLE_NAME = '%s' "
                    "ORDER BY ORDINAL_POSITION" % (db, table), db=False)


def indexes(side, db, table):
    """Secondary index rows: name, non-unique, position, column, prefix."""
    return side.sql("SELECT INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, COALESCE(SUB_PART,"
                    " '') FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '%s' AND "
                    "TABLE_NAME = '%s' AND INDEX_NAME <> 'PRIMARY' ORDER BY 1, 3" % (db, table),
                    db=False)


def rows(side, table):
    return side.sql("SELECT * FROM %s ORDER BY id" % table)


def tables(side, db):
    return [r[0] for r in side.sql("SELECT TABLE_NAME FROM information_schema.TABLES WHERE "
                                   "TABLE_SCHEMA = '%s' ORDER BY 1" % db, db=False)]


def converge(src, tgt, names, timeout=120):
    """Waits until the target's rows of every table equal the source's."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if all(rows(src, t) == rows(tgt, t) for t in names):
                return True
        except RuntimeError:
            pass
        time.sleep(0.5)
    return False


def crash_after_ddl(mig, p, src, stmt):
    """Stops the run p, starts it again with the test hook that exits (9)
    right after the target took a DDL, runs stmt on the source; the exit
    status ("hung" after a minute)."""
    p.terminate()
    p.wait()
    mig.env["CDC_MIGRATE_TEST_EXIT_AFTER_DDL"] = "1"
    p = mig.start()
    time.sleep(1)
    src.sql(stmt)
    rc = migrun.exit_status(p)
    del mig.env["CDC_MIGRATE_TEST_EXIT_AFTER_DDL"]
    return rc


def scenario(label, src, tgt, mig, state, unsupported):
    t0 = time.time()
    src.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s CHARACTER SET utf8mb4;"
            % (src.db, src.db), db=False)
    tgt.sql("DROP DATABASE IF EXISTS %s; DROP DATABASE IF EXISTS %s;" % (tgt.db, state), db=False)
    # ids above 1000: rows no writer touches, so they keep what each DDL
    # gave the existing rows (a default, a converted value) on each side
    vals = ",".join("(%d, %d, %d, 's%d', %d.25)" % (i, i * 7, i, i, i)
                    for i in list(range(1, 201)) + list(range(1001, 1021)))
    src.sql("CREATE TABLE t (id INT NOT NULL PRIMARY KEY, n INT, a INT NOT NULL, "
            "s VARCHAR(20), d DECIMAL(10,2)) CHARACTER SET utf8mb4;"
            "CREATE TABLE w (id INT NOT NULL PRIMARY KEY, n INT) CHARACTER SET utf8mb4;"
            "CREATE TABLE r (id INT NOT NULL PRIMARY KEY, v VARCHAR(10)) CHARACTER SET utf8mb4;"
            "INSERT INTO t VALUES %s; INSERT INTO w (id, n) SELECT id, n FROM t;"
            "INSERT INTO r VALUES (1, 'one'), (2, 'two');" % vals)
    writers = [Writer(src.cli(), w) for w in range(2)]
    for w in writers:
        w.start()
    p = mig.start()
    deadline = time.time() + 120
    while mm.phase(tgt, state, "ddl") != "streaming" and time.time() < deadline:
        time.sleep(0.2)
    check("%s: copy done, streaming" % label, mm.phase(tgt, state, "ddl") == "streaming",
          mig.tail())
    ddl = [
        "ALTER TABLE t ADD COLUMN c1 VARCHAR(30) NOT NULL DEFAULT 'it''s a \\\\ b' AFTER id",
        "ALTER TABLE t ADD COLUMN c0 INT FIRST, ADD COLUMN c2 DECIMAL(12,3) DEFAULT 1.5",
        "UPDATE t SET c2 = id / 7, c1 = CONCAT('x', id) WHERE id % 3 = 0",
        "ALTER TABLE t MODIFY COLUMN s VARCHAR(100)",
        "UPDATE t SET s = REPEAT('y', 90) WHERE id % 5 = 0",
        "CREATE INDEX in1 ON t (n)",
        "ALTER TABLE t ADD UNIQUE KEY us (s(8), id), ADD INDEX (c1(5))",
        "ALTER TABLE t RENAME INDEX in1 TO in2",
        "DROP INDEX c1 ON t",
        "ALTER TABLE w ADD INDEX wn (n), ALGORITHM=INPLACE, LOCK=NONE",
        "ALTER TABLE w DROP INDEX wn, ADD INDEX wn2 (n DESC, id)",
        "CREATE UNIQUE INDEX rv ON r (v)",
        "CREATE TABLE nt (id INT NOT NULL PRIMARY KEY, v VARCHAR(20), KEY kv (v)) "
        "CHARACTER SET utf8mb4",
        "INSERT INTO nt VALUES (1, 'a'), (2, 'b'); UPDATE nt SET v = 'c' WHERE id = 1",
        "CREATE TABLE nl LIKE nt",
        "INSERT INTO nl VALUES (7, 'z')",
        "ALTER TABLE t CHANGE COLUMN a a2 BIGINT NOT NULL",
        "UPDATE t SET a2 = a2 * 10000000000 WHERE id % 4 = 0",
        "ALTER TABLE t RENAME COLUMN s TO s2",
        "ALTER TABLE t DROP COLUMN c0",
        "ALTER TABLE t ADD COLUMN e INT NOT NULL",
        "RENAME TABLE r TO r2",
        "INSERT INTO r2 VALUES (3, 'three')",
        "ALTER TABLE r2 RENAME TO r3, ADD COLUMN z INT DEFAULT 42",
        "INSERT INTO r3 (id, v) VALUES (4, 'four')",
        "TRUNCATE TABLE r3",
        "INSERT INTO r3 VALUES (5, 'five', 5)",
    ]
    # The run reads a DDL's new definition from the source's catalog, so
    # each statement waits until the run applied the one before it
    # (docs/migrate.md, DDL); the writers go on meanwhile.
    for q in ddl:
        n0 = mig.tail(10**7).count("cdc-migrate: DDL applied at")
        src.sql(q)
        if q.startswith(("ALTER", "RENAME", "TRUNCATE", "CREATE", "DROP")):
            deadline = time.time() + 60
            while (mig.tail(10**7).count("cdc-migrate: DDL applied at") == n0 and
                   time.time() < deadline and p.poll() is None):
                time.sleep(0.1)
        time.sleep(0.2)
    check("%s: run follows every DDL" % label, p.poll() is None, mig.tail())
    log = mig.tail(10**7)
    applied = log.count("cdc-migrate: DDL applied at")
    check("%s: 19 DDL statements applied" % label, applied == 19, "%d; %s" % (applied, log[-3000:]))

    # kill -9 between the target's ALTER and the checkpoint past it
    rc = crash_after_ddl(mig, p, src, "ALTER TABLE t ADD COLUMN k1 INT DEFAULT 7 AFTER n, "
                         "MODIFY COLUMN d DECIMAL(14,4)")
    has = [r[0] for r in definition(tgt, tgt.db, "t")]
    check("%s: crash hook fired after the target took the ALTER" % label,
          rc == 9 and "k1" in has, "rc %s cols %s %s" % (rc, has, mig.tail()))
    p = mig.start()
    deadline = time.time() + 90
    while ("has the definition the statement makes already" not in mig.tail() and
           time.time() < deadline and p.poll() is None):
        time.sleep(0.2)
    time.sleep(1)
    check("%s: the re-run finds the ALTER applied and goes on" % label,
          p.poll() is None and "has the definition the statement makes already" in mig.tail(),
          mig.tail())
    # rows no writer touches: a scan of all rows under REPEATABLE READ locks
    # the writers' rows in key order and can deadlock with them
    src.sql("UPDATE t SET k1 = id, d = d + 0.0001 WHERE id > 1000 AND id % 2 = 0")

    # kill -9 between the target's index DDL and the checkpoint past it
    rc = crash_after_ddl(mig, p, src, "CREATE INDEX ik ON t (k1, n)")
    check("%s: crash hook fired after the target took CREATE INDEX" % label,
          rc == 9 and ["ik", "1", "1", "k1", ""] in indexes(tgt, tgt.db, "t"),
          "rc %s %s %s" % (rc, indexes(tgt, tgt.db, "t"), mig.tail()))
    n0 = mig.tail(10**7).count("has the definition the statement makes already")
    p = mig.start()
    deadline = time.time() + 90
    while (mig.tail(10**7).count("has the definition the statement makes already") == n0 and
           time.time() < deadline and p.poll() is None):
        time.sleep(0.2)
    # d is in no index: no lock on an index the writers change
    src.sql("UPDATE t SET d = d + 1 WHERE id > 1000")
    check("%s: the re-run finds the index made and goes on" % label,
          p.poll() is None and
          mig.tail(10**7).count("has the definition the statement makes already") == n0 + 1,
          mig.tail())

    # DROP TABLE of a migrated table: stops by default, the target's
    # table intact; applied when started again with --on-drop-table apply
    src.sql("DROP TABLE nl")
    rc = migrun.exit_status(p)
    check("%s: DROP TABLE stops the run by default, the target's table kept" % label,
          rc == 3 and "DROP TABLE of a migrated table stops the run" in mig.tail() and
          "nl" in tables(tgt, tgt.db), "rc %s %s" % (rc, mig.tail()))
    p = mig.start(["--on-drop-table", "apply"])
    deadline = time.time() + 60
    while "nl" in tables(tgt, tgt.db) and time.time() < deadline and p.poll() is None:
        time.sleep(0.2)
    check("%s: with --on-drop-table apply the target's table is dropped" % label,
          "nl" not in tables(tgt, tgt.db) and p.poll() is None, mig.tail())

    # kill -9 between the target's CREATE TABLE and the checkpoint past it
    rc = crash_after_ddl(mig, p, src,
                         "CREATE TABLE nk (id INT NOT NULL PRIMARY KEY, v INT, UNIQUE KEY uv (v))")
    check("%s: crash hook fired after the target took CREATE TABLE" % label,
          rc == 9 and "nk" in tables(tgt, tgt.db), "rc %s %s" % (rc, mig.tail()))
    p = mig.start()
    src.sql("INSERT INTO nk VALUES (1, 10), (2, 20); UPDATE nk SET v = 21 WHERE id = 2;"
            "INSERT INTO nt VALUES (3, 'd')")

    outs = [w.stop() for w in writers]
    check("%s: writers ran without errors" % label, all(o[0] == 0 for o in outs), str(outs))
    print("# %s: writers sent %d transactions (%.0fs)" % (label, sum(w.txns for w in writers),
                                                         time.time() - t0), flush=True)
    names = ["t", "w", "r3", "nt", "nk"]
    check("%s: target caught up" % label, converge(src, tgt, names), mig.tail())
    check("%s: same tables" % label, tables(src, src.db) == tables(tgt, tgt.db),
          "%s %s" % (tables(src, src.db), tables(tgt, tgt.db)))
    for t in names:
        a, b = definition(src, src.db, t), definition(tgt, tgt.db, t)
        check("%s: %s definition equal (names, order, types, nullability)" % (label, t), a == b,
              "\n source %s\n target %s" % (a, b))
        a, b = indexes(src, src.db, t), indexes(tgt, tgt.db, t)
        check("%s: %s indexes equal (information_schema.STATISTICS)" % (label, t), a == b,
              "\n source %s\n target %s" % (a, b))
        a, b = rows(src, t), rows(tgt, t)
        check("%s: %s rows equal (%d, each server's SELECT)" % (label, t, len(a)), a == b,
              "first differences %s" % [(x, y) for x, y in zip(a, b) if x != y][:3])
    v = mig.cmd("verify")
    check("%s: verify says identical" % label,
          v.returncode == 0 and "verify: identical" in v.stdout, v.stdout + v.stderr)

    # an index the target cannot have: the run stops (the default); the
    # runbook's skip-ddl moves the checkpoint past it and the run goes on
    fts = "ALTER TABLE t ADD FULLTEXT INDEX fs (s2)"
    src.sql(fts)
    rc = migrun.exit_status(p)
    log = mig.tail(3000)
    check("%s: FULLTEXT index stops the run by default (exit 3)" % label,
          rc == 3 and "not applied: \"%s\" ending at cdc1:" % fts in log and
          "a FULLTEXT index" in log and "--unmapped-index-ddl skip" in log, "rc %s %s" % (rc, log))
    ck = log.split("skip-ddl --checkpoint '")[-1].split("'")[0]
    sk = mig.cmd("skip-ddl", ["--checkpoint", ck])
    now = tgt.sql("SELECT checkpoint FROM %s.state WHERE name = 'ddl'" % state, db=False)
    check("%s: skip-ddl sets the checkpoint to the DDL's end" % label,
          sk.returncode == 0 and now == [[ck]], "%s %s %s" % (now, ck, sk.stdout + sk.stderr))
    p = mig.start()
    src.sql("UPDATE t SET n = n + 3 WHERE id > 1000; INSERT INTO w VALUES (5000, 1)")
    check("%s: after skip-ddl the run goes on and catches up" % label,
          converge(src, tgt, names) and p.poll() is None, mig.tail())
    check("%s: the skipped index is only on the source" % label,
          "fs" in [r[0] for r in indexes(src, src.db, "t")] and
          "fs" not in [r[0] for r in indexes(tgt, tgt.db, "t")])

    # a statement the target cannot take exactly: the run stops naming it
    before = definition(tgt, tgt.db, "t")
    src.sql(unsupported)
    rc = migrun.exit_status(p)
    log = mig.tail(3000)
    check("%s: unsupported DDL stops the run (exit 3)" % label, rc == 3, "rc %s %s" % (rc, log))
    check("%s: the message names the statement and its position" % label,
          "DDL on a migrated table, not applied: \"%s\" ending at cdc1:" % unsupported in log and
          "skip-ddl" in log, log)
    check("%s: the target's table is unchanged" % label, definition(tgt, tgt.db, "t") == before)
    src.sql("DROP DATABASE IF EXISTS %s" % src.db, db=False)
    tgt.sql("DROP DATABASE IF EXISTS %s; DROP DATABASE IF EXISTS %s" % (tgt.db, state), db=False)


def case_mysql_mariadb():
    own = MyServer()
    try:
        src = mm.Shared("mysql", "migddl_a")
        src.cli = lambda: src.src.cli(src.db)
        tgt = mm.Own(own, "migddl_at")
        log = os.path.join(own.dir, "run.log")
        mig = mm.Mig(src.port, src.db, own.url(), OWN_PW, tgt.db, "migddl_astate", "ddl", "7321",
                     log)
        scenario("mysql->mariadb", src, tgt, mig, "migddl_astate",
                 "ALTER TABLE t ADD COLUMN ts DATETIME DEFAULT CURRENT_TIMESTAMP")
    finally:
        checks.finish(own, "CDC_MIGRATE_KEEP")


def case_mariadb_mysql():
    src = mm.Shared("mariadb", "migddl_b")
    src.cli = lambda: src.src.cli(src.db)
    mysql = mm.Shared("mysql", "migddl_bt")
    mm.mysql_target_account(mysql)
    log = "/tmp/migddl-b-run.%d.log" % os.getpid()
    mig = mm.Mig(src.port, src.db, "mysql://%s@127.0.0.1:%d" % (mm.TGT_USER, mysql.port),
                 mm.TGT_PW, mysql.db, "migddl_bstate", "ddl", "7322", log)
    try:
        # MariaDB's INET6 has no MySQL type
        scenario("mariadb->mysql", src, mysql, mig, "migddl_bstate",
                 "ALTER TABLE t ADD COLUMN ip INET6")
    finally:
        mysql.sql("DROP USER IF EXISTS '%s'@'%%'" % mm.TGT_USER, db=False)
        if os.path.exists(log) and not (checks.failed and os.environ.get("CDC_MIGRATE_KEEP")):
            os.unlink(log)


def main():
    if not checks.have_testenv():
        return 1
    t0 = time.time()
    for c in CASES:
        try:
            {"mysql-mariadb": case_mysql_mariadb, "mariadb-mysql": case_mariadb_mysql}[c]()
        except Exception as e:  # a broken case fails loudly, the others still run
            check("%s: ran to the end" % c, False, repr(e))
        print("# %s done at %.0fs" % (c, time.time() - t0), flush=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
