#!/usr/bin/env python3
"""cdc-migrate's parallel apply, DDL and load control, into PostgreSQL.

usage: migrate_par.py CDC_MIGRATE [mysql|mariadb ...]

Against a PostgreSQL 15 this script starts itself (tests/migrate/pgserver.py)
and, for each source server (default both):
  - parallel apply (`run --workers 4`) under two writers (inserts, updates,
    primary-key changes, deletes, large transactions, rollbacks): kill -9
    at random moments, and kill -9 exactly between two workers' commits of
    one batch (CDC_MIGRATE_TEST_EXIT_AFTER_COMMIT, a test hook: the process
    _exit()s right after one worker's COMMIT while others have not
    committed yet); after each kill the run starts again. Then the writers
    stop, cutover must report the target equal to the source, both sides
    dumped by each server's own SQL must be equal, and the ledger trigger
    (tests/migrate/workload.py) must have seen no transaction applied twice;
  - DDL on migrated tables applied to the target: ADD, DROP, MODIFY,
    CHANGE, RENAME COLUMN, RENAME TABLE, each followed by rows that use
    the new definition, compared with the source; a DDL the mapping does not
    cover stops the run naming the statement and its position.
Ends with "N passed, N failed". Needs tests/servers/testenv.sh's servers;
fails, never skips, without them or without PostgreSQL.
"""
import os
import random
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import canon  # noqa: E402
from checks import Checks  # noqa: E402
import migrun  # noqa: E402
from migrun import env, args, phase  # noqa: E402
import workload  # noqa: E402
from pgserver import PG  # noqa: E402

MIGRATE = os.path.abspath(sys.argv[1])
FLAVORS = sys.argv[2:] or ["mysql", "mariadb"]
KILLS = int(os.environ.get("CDC_MIGRATE_KILLS", "6"))
PRELOAD = int(os.environ.get("CDC_MIGRATE_PRELOAD", "4000"))
SERVER_ID = {"mysql": "7112", "mariadb": "7111"}
checks = Checks()
check = checks.check


RUNNER = migrun.Runner(MIGRATE, SERVER_ID)
start_run, migrate = RUNNER.start_run, RUNNER.migrate


def parallel(flavor, pg):
    name = flavor + " parallel"
    db = "migpar_" + ("my" if flavor == "mysql" else "ma")
    pgdb = "p_" + flavor
    src = workload.Source(flavor, db)
    src.create()
    src.preload(PRELOAD, seed=11)
    pg.sql("postgres", "CREATE DATABASE %s" % pgdb)
    pg.sql(pgdb, workload.PG_LEDGER.format(db=db))
    logpath = os.path.join(pg.dir, "par-%s.log" % flavor)
    log = open(logpath, "a")
    writers = [workload.Writer(src, w, seed=200 + w) for w in range(2)]
    for w in writers:
        w.start()
    rnd = random.Random(4242)
    par = ["--workers", "4", "--batch-ms", "50"]
    random_kills = between = 0
    for i in range(KILLS):
        hook = i % 3 == 2
        envx = {"CDC_MIGRATE_TEST_EXIT_AFTER_COMMIT": str(rnd.randrange(2, 12))} if hook else None
        p = start_run(src, pg, pgdb, log, par, envx)
        deadline = time.time() + 120
        while phase(pg, pgdb) != "streaming" and time.time() < deadline and p.poll() is None:
            time.sleep(0.1)
        if hook:
            rc = migrun.exit_status(p)
            # 9: the hook ended the process between two workers' commits
            between += rc == 9
            if rc != 9:
                check("%s: the test hook ended run %d between commits" % (name, i), False,
                      "rc %s; log %s" % (rc, open(logpath).read()[-1500:]))
            continue
        time.sleep(rnd.uniform(0.3, 2.0))
        if p.poll() is not None:
            check("%s: run %d still running before its kill" % (name, i), False,
                  "exit %s; log %s" % (p.returncode, open(logpath).read()[-2000:]))
            continue
        p.send_signal(signal.SIGKILL)
        p.wait()
        random_kills += 1
    print("# %s: %d kill -9 at random, %d exits between two workers' commits"
          % (name, random_kills, between), flush=True)
    check("%s: kill -9 at random and between worker commits" % name,
          random_kills >= KILLS // 2 and between >= 1, "%d %d" % (random_kills, between))
    text = open(logpath).read()
    check("%s: a restart found a half-committed batch" % name,
          "left a batch half committed" in text, text[-1500:])
    p = start_run(src, pg, pgdb, log, par)
    time.sleep(2)
    for w in writers:
        w.stop()
    r = migrate("cutover", src, pg, pgdb, ["--max-lag-ms", "3000", "--timeout", "180"])
    migrun.check_cutover(check, name, r, open(logpath).read())
    migrun.check_stop(check, name, p)
    log.close()
    canon.compare_pg(check, name, src, pg, pgdb)
    d = pg.sql(pgdb, "SELECT count(*) FROM public.dupes")[0][0]
    check("%s: no transaction applied twice (ledger trigger saw %s updates/deletes)" % (name, d),
          d == "0", str(pg.sql(pgdb, "SELECT * FROM public.dupes LIMIT 5")))
    w = pg.sql(pgdb, "SELECT count(DISTINCT worker) FROM cdc_migrate.worker")[0][0]
    check("%s: the batches went through several workers" % name, int(w) >= 2, w)
    src.drop()
    pg.sql("postgres", "DROP DATABASE %s" % pgdb)


def src_pos(src):
    r = src.sql("SHOW MASTER STATUS" if src.flavor == "mariadb" else "SHOW BINARY LOG STATUS")
    return (r[0][0], int(r[0][1]))


def wait_caught_up(src, pg, pgdb, timeout=90):
    """Until the target's checkpoint is at or past the source's position
    now (other sessions write to the shared servers all the time, so a lag
    of exactly 0 may never be seen)."""
    want = src_pos(src)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            ck = pg.sql(pgdb, "SELECT checkpoint FROM cdc_migrate.state")[0][0]
            m = re.search(r"file=([^;]+);pos=(\d+)", ck or "")
            if m and (m.group(1), int(m.group(2))) >= want:
                return True
        except (RuntimeError, IndexError):
            pass
        time.sleep(0.2)
    return False


def run_caught_up(src, pg, pgdb, steps):
    """Runs each statement at the source once the target has caught up with
    the one before: a statement is applied only while the source's table is
    still as the statement left it (docs/migrate.md, DDL). False if the
    target did not catch up (the statements after it run without waiting)."""
    ok = True
    for q in steps:
        src.sql(q)
        ok = ok and wait_caught_up(src, pg, pgdb)
    return ok


def same_rows(src, pg, pgdb, table, cols, name):
    a = src.sql("SELECT %s FROM %s ORDER BY id" % (", ".join("CAST(%s AS CHAR)" % c for c in cols),
                                                    table))
    a = [[None if v == "NULL" else v for v in r] for r in a]
    b = pg.sql(pgdb, 'SELECT %s FROM "%s"."%s" ORDER BY id' % (
        ", ".join('"%s"::text' % c for c in cols), src.db, table))
    check("%s: %s equal on both sides (%d rows)" % (name, table, len(a)), a == b,
          "\n source %r\n target %r" % (a[:6], b[:6]))


def src_indexes(src, db):
    """[table, index, non_unique, columns] of the source's secondary indexes."""
    return [list(r) for r in src.sql(
        "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, GROUP_CONCAT(COLUMN_NAME ORDER BY "
        "SEQ_IN_INDEX) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '%s' AND "
        "INDEX_NAME <> 'PRIMARY' GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE ORDER BY 1, 2" % db)]


def pg_indexes(pg, pgdb, schema):
    """The same from pg_index; the index's name without the copy's table
    prefix (the table's name when the index was made: a renamed table's
    indexes keep theirs)."""
    rows = pg.sql(pgdb, "SELECT t.relname, c.relname, CASE WHEN i.indisunique THEN '0' ELSE '1' "
                  "END, array_to_string(ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH "
                  "ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum "
                  "= k.n ORDER BY k.o), ',') FROM pg_index i JOIN pg_class c ON c.oid = "
                  "i.indexrelid JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON "
                  "n.oid = t.relnamespace WHERE n.nspname = '%s' AND NOT i.indisprimary "
                  "ORDER BY 1, 2" % schema)
    out = []
    for t, i, u, c in rows:
        for pre in ("t_", "u_", "u2_", "u3_", "n1_"):
            if i.startswith(pre):
                i = i[len(pre):]
                break
        out.append([t, i, u, c])
    return sorted(out)


def pg_types(pg, pgdb, schema, table):
    return pg.sql(pgdb, "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                  "WHERE a.attrelid = '\"%s\".\"%s\"'::regclass AND a.attnum > 0 AND NOT "
                  "a.attisdropped ORDER BY a.attnum" % (schema, table))


def ddl(flavor, pg):
    """DDL the mapping covers is applied to the target (in parallel mode, so
    the DDL is a barrier for the workers too); other DDL stops the run with
    the statement, its position and the reason."""
    name = flavor + " ddl"
    db = "migddl_" + ("my" if flavor == "mysql" else "ma")
    pgdb = "d_" + flavor
    src = workload.Source(flavor, db)
    src.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s CHARACTER SET utf8mb4;" % (db, db),
            db=False)
    src.sql("CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(20), c DECIMAL(10,2));"
            "CREATE TABLE u (id INT PRIMARY KEY, v TEXT);"
            "INSERT INTO t VALUES (1, 1, 'one', 1.10), (2, 2, 'two', 2.20), (3, NULL, NULL, NULL);"
            "INSERT INTO u VALUES (1, 'u1'), (2, 'u2');")
    pg.sql("postgres", "CREATE DATABASE %s" % pgdb)
    logpath = os.path.join(pg.dir, "ddl-%s.log" % flavor)
    log = open(logpath, "a")
    extra = ["--workers", "2", "--batch-ms", "50", "--unmapped-index-ddl", "skip",
             "--on-drop-table", "apply"]
    # MariaDB's run without secondary indexes: its index DDL is left out
    noidx = flavor == "mariadb"
    if noidx:
        extra.append("--no-indexes")
    p = start_run(src, pg, pgdb, log, extra)
    deadline = time.time() + 60
    while phase(pg, pgdb) != "streaming" and time.time() < deadline:
        time.sleep(0.1)
    steps = [
        "ALTER TABLE t ADD COLUMN d INT NOT NULL DEFAULT 7",
        "INSERT INTO t (id, a, b, c, d) VALUES (4, 4, 'four', 4.40, 44)",
        "ALTER TABLE t ADD COLUMN e VARCHAR(10) NULL AFTER a, ADD COLUMN f INT NOT NULL",
        "UPDATE t SET e = 'e1', f = 5 WHERE id = 1; INSERT INTO t VALUES (5, 5, 'e5', 'five', 5.5, 5, 6)",
        "ALTER TABLE t MODIFY COLUMN a BIGINT",
        "UPDATE t SET a = 5000000000 WHERE id = 1",
        "ALTER TABLE t CHANGE COLUMN b bb VARCHAR(40)",
        "CREATE INDEX ia ON t (a)",
        "CREATE INDEX iv ON u (v(20))",
        "ALTER TABLE t ADD UNIQUE KEY ub (bb(10), d), ADD INDEX (c)",
        "INSERT INTO t (id, a, bb, c, d, f) VALUES (7, 7, 'seven', 7.7, 77, 7)",
    ]
    ok = run_caught_up(src, pg, pgdb, steps)
    check("%s: caught up after ADD, ADD AFTER, MODIFY, CHANGE" % name, ok,
          open(logpath).read()[-2000:])
    # a restart behind nothing: the definitions come from the source again
    p.send_signal(signal.SIGKILL)
    p.wait()
    p = start_run(src, pg, pgdb, log, extra)
    steps = [
        "UPDATE t SET bb = 'a value longer than twenty' WHERE id = 2",
        "ALTER TABLE t RENAME COLUMN c TO cc",
        "UPDATE t SET cc = 1.25 WHERE id = 1",
        "ALTER TABLE t DROP COLUMN e",
        "INSERT INTO t (id, a, bb, cc, d, f) VALUES (6, 6, 'six', 6.6, 66, 6)",
        "ALTER TABLE t RENAME INDEX ia TO ia2",
        "ALTER TABLE t ADD FULLTEXT INDEX ft (bb)",
        "DROP INDEX c ON t",
        "RENAME TABLE u TO u2",
        "INSERT INTO u2 VALUES (3, 'u3')",
        "ALTER TABLE u2 RENAME TO u3, ADD COLUMN w INT",
        "ALTER TABLE u3 ADD INDEX iw (w, id), RENAME INDEX iv TO iv2",
        "CREATE TABLE n1 (id INT PRIMARY KEY, v VARCHAR(10), KEY kv (v))",
        "INSERT INTO n1 VALUES (1, 'a'), (2, 'b'); UPDATE n1 SET v = 'c' WHERE id = 2",
        "CREATE TABLE n2 LIKE n1",
        "INSERT INTO n2 VALUES (5, 'x'); INSERT INTO n1 VALUES (3, 'd')",
        "DROP TABLE n2",
        "DELETE FROM n1 WHERE id = 1",
        "INSERT INTO u3 VALUES (4, 'u4', 44); UPDATE u3 SET w = 1 WHERE id = 1",
        "TRUNCATE TABLE u3",
        "INSERT INTO u3 VALUES (9, 'u9', 99)",
    ]
    ok = run_caught_up(src, pg, pgdb, steps)
    check("%s: caught up after RENAME COLUMN, DROP, RENAME TABLE, TRUNCATE, index DDL" % name, ok,
          open(logpath).read()[-2000:])
    same_rows(src, pg, pgdb, "t", ["id", "a", "bb", "cc", "d", "f"], name)
    same_rows(src, pg, pgdb, "u3", ["id", "v", "w"], name)
    same_rows(src, pg, pgdb, "n1", ["id", "v"], name)
    tabs = pg.sql(pgdb, "SELECT tablename FROM pg_tables WHERE schemaname = '%s' ORDER BY 1" % db)
    check("%s: CREATE TABLE, CREATE TABLE LIKE and DROP TABLE applied" % name,
          tabs == [["n1"], ["t"], ["u3"]], str(tabs))
    types = pg_types(pg, pgdb, db, "t")
    want = [["id", "integer"], ["a", "bigint"], ["bb", "character varying(40)"],
            ["cc", "numeric(10,2)"], ["d", "integer"], ["f", "integer"]]
    check("%s: the target's columns follow the source's new definition" % name, types == want,
          str(types))
    gone = pg.sql(pgdb, "SELECT count(*) FROM pg_tables WHERE schemaname = '%s' AND tablename "
                  "IN ('u', 'u2')" % db)[0][0]
    check("%s: renamed table renamed on the target" % name, gone == "0", gone)
    a, b = src_indexes(src, db), pg_indexes(pg, pgdb, db)
    want = [["n1", "kv", "1", "v"], ["t", "ia2", "1", "a"], ["t", "ub", "0", "bb,d"], ["u3", "iv2", "1", "v"],
            ["u3", "iw", "1", "w,id"]]
    check("%s: index DDL applied: the target's indexes are the source's (FULLTEXT left out)"
          % name, a == sorted(want + [["t", "ft", "1", "bb"]]) and b == ([] if noidx else want),
          "\n source %s\n target %s" % (a, b))
    if noidx:
        text = open(logpath).read()
        check("%s: --no-indexes: index DDL skipped and logged" % name,
              "skipped (--no-indexes)" in text, text[-1500:])
    # not covered: an expression default the target cannot give the old rows
    bad = "ALTER TABLE t ADD COLUMN at DATETIME DEFAULT CURRENT_TIMESTAMP"
    src.sql(bad)
    rc = migrun.exit_status(p)
    log.close()
    text = open(logpath).read()
    check("%s: uncovered DDL stops the run (exit 3) naming statement, position and reason" % name,
          rc == 3 and ("not applied: \"%s\" ending at cdc1:" % bad) in text and
          "new column at" in text.split(bad)[-1] and
          "current_timestamp" in text.split(bad)[-1].lower() and "skip-ddl --checkpoint" in text,
          "rc %s %s" % (rc, text[-1500:]))
    cols = [c for c, _ in pg_types(pg, pgdb, db, "t")]
    check("%s: nothing of the uncovered DDL reached the target" % name, "at" not in cols, str(cols))
    src.drop()
    pg.sql("postgres", "DROP DATABASE %s" % pgdb)


def latency_backoff(pg):
    """--latency-ms: commits made slow on the target (a deferred trigger that
    sleeps 30 ms per row at COMMIT) must make the run wait after each batch,
    doubling; the same run without it is not held back."""
    name = "latency backoff"
    src = workload.Source("mariadb", "migpar_lat")
    src.sql("DROP DATABASE IF EXISTS migpar_lat; CREATE DATABASE migpar_lat;"
            "CREATE TABLE migpar_lat.t (id INT PRIMARY KEY, n INT);", db=False)
    pgdb = "l_mariadb"
    pg.sql("postgres", "CREATE DATABASE %s" % pgdb)
    base = ["--server-id", "7113", "--stop-at", "now", "--batch-txns", "1"]
    r = subprocess.run([MIGRATE, "run"] + args(src, pg, pgdb, base), env=env(),
                       capture_output=True, text=True, timeout=120)
    check("%s: copy" % name, r.returncode == 0, r.stderr[-800:])
    pg.sql(pgdb, "CREATE FUNCTION public.slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
           "PERFORM pg_sleep(0.03); RETURN NULL; END $$; CREATE CONSTRAINT TRIGGER slow AFTER "
           "INSERT OR UPDATE ON migpar_lat.t DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE "
           "FUNCTION public.slow()")
    times = {}
    for label, extra in (("without", []), ("with", ["--latency-ms", "5"])):
        base_id = 100 if label == "with" else 0
        src.sql("".join("INSERT INTO t VALUES (%d, 1);" % (base_id + i) for i in range(8)))
        t0 = time.time()
        r = subprocess.run([MIGRATE, "run"] + args(src, pg, pgdb, base + extra), env=env(),
                           capture_output=True, text=True, timeout=120)
        times[label] = time.time() - t0
        check("%s: run %s --latency-ms exits 0" % (name, label), r.returncode == 0,
              r.stderr[-800:])
        if label == "with":
            check("%s: the run says it waits for the slow commits" % name,
                  "target commit took" in r.stderr and "--latency-ms 5" in r.stderr,
                  r.stderr[-800:])
    # 8 batches: waits of 10, 20, ... 1280 ms = 2.55 s more
    check("%s: the waits double (%.1fs with, %.1fs without)" % (name, times["with"],
                                                                times["without"]),
          times["with"] - times["without"] >= 1.0, str(times))
    n = pg.sql(pgdb, "SELECT count(*) FROM migpar_lat.t")[0][0]
    check("%s: every row applied" % name, n == "16", n)
    src.drop()
    pg.sql("postgres", "DROP DATABASE %s" % pgdb)


def parallel_mysql_target():
    """Parallel apply into a MySQL-protocol target (a mariadbd the test
    starts, tests/migrate/myserver.py): the worker rows live in the state
    database there; kill -9 at random and between two workers' commits,
    then both sides dumped by each server's SQL and compared."""
    from myserver import MyServer, PASSWORD
    name = "mariadb -> own mariadbd parallel"
    src = workload.Source("mariadb", "migpar_tgt")
    src.create()
    src.preload(1000, seed=5)
    own = MyServer()
    try:
        log = open(os.path.join(own.dir, "run.log"), "a")
        envx = {"CDC_MIGRATE_TARGET_PASSWORD": PASSWORD}
        base = ["--source-host", "127.0.0.1", "--source-port", str(src.port), "--source-user",
                "root", "--database", src.db, "--target", own.url(), "--target-schema",
                "migpar_t", "--state-schema", "migpar_state", "--server-id", "7114",
                "--workers", "3", "--batch-ms", "50"]
        writers = [workload.Writer(src, w, seed=300 + w) for w in range(2)]
        for w in writers:
            w.start()
        between = 0
        for i in range(3):
            hook = {"CDC_MIGRATE_TEST_EXIT_AFTER_COMMIT": "3"} if i == 1 else {}
            p = subprocess.Popen([MIGRATE, "run"] + base, env=env(dict(envx, **hook)),
                                 stdout=log, stderr=log)
            if hook:
                try:
                    between += p.wait(timeout=90) == 9
                except subprocess.TimeoutExpired:
                    p.kill()
                continue
            time.sleep(4)
            p.send_signal(signal.SIGKILL)
            p.wait()
        p = subprocess.Popen([MIGRATE, "run"] + base, env=env(envx), stdout=log, stderr=log)
        time.sleep(2)
        for w in writers:
            w.stop()
        r = subprocess.run([MIGRATE, "cutover"] + base[:-6] + ["--max-lag-ms", "3000",
                                                               "--timeout", "180"],
                           env=env(envx), capture_output=True, text=True, timeout=240)
        check("%s: cutover reports the target equal" % name,
              r.returncode == 0 and "target equals source" in r.stdout,
              r.stdout + r.stderr[-1500:] + open(os.path.join(own.dir, "run.log")).read()[-2000:])
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=60)
        log.close()
        check("%s: a run ended between two workers' commits" % name, between == 1, str(between))
        text = open(os.path.join(own.dir, "run.log")).read()
        check("%s: the next run found the half-committed batch" % name,
              "left a batch half committed" in text, text[-1500:])
        for t, cols in (("ledger", "id, HEX(tag), n"), ("kv", "k, HEX(v), n"),
                        ("items", "id, i, HEX(s), d, HEX(b)")):
            q = "SELECT %s FROM %s ORDER BY 1" % (cols, t)
            a = src.sql(q)
            rr = subprocess.run(own.cli("migpar_t"), input=q.encode(), capture_output=True)
            b = [ln.split("\t") for ln in rr.stdout.decode().split("\n") if ln]
            check("%s: %s identical (%d rows, dumped by each server)" % (name, t, len(a)),
                  a == b, "%d vs %d rows" % (len(a), len(b)))
        w = subprocess.run(own.cli("migpar_state"), input=b"SELECT count(*) FROM worker",
                           capture_output=True).stdout.decode().strip()
        check("%s: worker rows in the state database" % name, w not in ("", "0"), w)
    finally:
        own.cleanup()
        src.drop()


def main():
    if not checks.have_testenv():
        return 1
    pg = PG()
    try:
        latency_backoff(pg)
        for f in FLAVORS:
            ddl(f, pg)
        for f in ([] if os.environ.get("CDC_MIGRATE_QUICK") else FLAVORS):
            parallel(f, pg)
        if not os.environ.get("CDC_MIGRATE_QUICK"):
            parallel_mysql_target()
    finally:
        checks.finish(pg, "CDC_MIGRATE_KEEP")
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
