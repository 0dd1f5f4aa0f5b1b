#!/usr/bin/env python3
"""cdc-migrate end to end into PostgreSQL, from MySQL 9.7 and MariaDB 10.11.

usage: migrate_pg.py CDC_MIGRATE [mysql|mariadb ...]

For each source server, against a PostgreSQL 15 this script starts itself
(initdb in a temporary directory, its own port, stopped by PID):
  - preload a database with every mapped type (tests/migrate/workload.py);
  - with two writers committing inserts, updates, primary-key changes,
    deletes, large transactions and rollbacks the whole time:
    start `cdc-migrate run` and kill -9 it at random moments, at least 10
    times per server (during the copy, during the apply, inside a batch),
    starting it again after each kill; then leave it running and crash the
    target with `pg_ctl -m immediate` and start it again: the run must
    retry and go on by itself;
  - stop the writers; `cdc-migrate cutover` must report the target equal
    to the source at the source's position;
  - compare both sides dumped in canonical form with each server's own SQL
    (exact DECIMAL digits, microseconds, TIMESTAMP in UTC, unsigned 64-bit,
    4-byte Unicode, JSON by value, WKB, BIT, zero dates as NULL);
  - nothing applied twice: every source transaction inserts one ledger
    row and never updates or deletes one; a trigger on the target's ledger
    records any UPDATE/DELETE (a replayed insert becomes an ON CONFLICT
    update), and must have recorded none;
  - the type mapping as PostgreSQL's catalog shows it;
  - verify finds a difference made on the target and names its key;
  - a DDL statement on a migrated table stops the run (exit 3) naming the
    statement; a source table without a primary key is refused by name.
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
KILLS = int(os.environ.get("CDC_MIGRATE_KILLS", "11"))
PRELOAD = int(os.environ.get("CDC_MIGRATE_PRELOAD", "20000"))
checks = Checks()
check = checks.check


SERVER_ID = {"mysql": "7102", "mariadb": "7101"}
RUNNER = migrun.Runner(MIGRATE, SERVER_ID)
start_run, migrate = RUNNER.start_run, RUNNER.migrate


def in_batch(pg, pgdb):
    """Has cdc-migrate an open transaction on the target right now?"""
    try:
        rows = pg.sql(pgdb, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                      "'cdc-migrate' AND xact_start IS NOT NULL AND pid <> pg_backend_pid()")
        return int(rows[0][0]) > 0
    except RuntimeError:
        return False


def one_flavor(flavor, pg):
    name = flavor
    db = "migrate_pg_" + ("my" if flavor == "mysql" else "ma")
    pgdb = "t_" + flavor
    src = workload.Source(flavor, db)
    src.create()
    t0 = time.time()
    src.preload(PRELOAD, seed=7)
    print("# %s: preloaded %d rows in %.1fs" % (name, PRELOAD, time.time() - t0), flush=True)
    pg.sql("postgres", "CREATE DATABASE %s" % pgdb)
    pg.sql(pgdb, workload.PG_LEDGER.format(db=db))
    logpath = os.path.join(pg.dir, "run-%s.log" % flavor)
    log = open(logpath, "a")
    writers = [workload.Writer(src, w, seed=100 + w) for w in range(2)]
    for w in writers:
        w.start()
    rnd = random.Random(42)
    kills = {"copy": 0, "apply": 0, "batch": 0}
    # MySQL's copy loads through two copy workers, MariaDB's through the
    # main connection
    cw = ["--copy-workers", "2"] if flavor == "mysql" else []
    for i in range(KILLS):
        p = start_run(src, pg, pgdb, log, cw)
        # The first kills land in the copy; the others once the run streams
        # (the copy is done), at a random moment after that.
        if i < 2:
            time.sleep(rnd.uniform(0.1, 0.8))
        else:
            deadline = time.time() + 120
            while phase(pg, pgdb) != "streaming" and time.time() < deadline and p.poll() is None:
                time.sleep(0.1)
            time.sleep(rnd.uniform(0.2, 2.5))
        ph = phase(pg, pgdb)
        batch = in_batch(pg, pgdb)
        if p.poll() is not None:
            check("%s: run %d still running before its kill" % (name, i), False,
                  "exit %s; log %s" % (p.returncode, open(logpath).read()[-2000:]))
            continue
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills["copy" if ph != "streaming" else "apply"] += 1
        kills["batch"] += batch
    print("# %s: kill -9 during copy %d, during apply %d (inside an open target transaction %d)"
          % (name, kills["copy"], kills["apply"], kills["batch"]), flush=True)
    check("%s: %d kill -9, some during the copy, most during the apply" % (name, KILLS),
          kills["copy"] >= 1 and kills["apply"] >= KILLS // 2, str(kills))
    check("%s: the copy loaded through %s" % (name, "2 copy workers" if cw else "one connection"),
          ("(2 target connections)" if cw else "(1 target connection)") in open(logpath).read())
    # The last run stays; the target crashes under it and comes back.
    p = start_run(src, pg, pgdb, log, cw)
    time.sleep(4)
    pg.crash()
    time.sleep(2)
    pg.start()
    time.sleep(3)
    check("%s: run lives through pg_ctl -m immediate" % name, p.poll() is None,
          open(logpath).read()[-1500:])
    for w in writers:
        w.stop()
    txns = sum(w.txns for w in writers)
    print("# %s: writers sent %d transactions" % (name, txns), flush=True)
    r = migrate("cutover", src, pg, pgdb, ["--max-lag-ms", "3000", "--timeout", "240"])
    migrun.check_cutover(check, name, r, open(logpath).read())
    print("# " + r.stdout.strip(), flush=True)
    migrun.check_stop(check, name, p)
    log.close()
    text = open(logpath).read()
    check("%s: the run retried while the target was down" % name, "retrying in" in text,
          text[-1500:])
    canon.compare_pg(check, name, src, pg, pgdb)
    d = pg.sql(pgdb, "SELECT count(*) FROM public.dupes")[0][0]
    check("%s: no transaction applied twice (ledger trigger saw %s updates/deletes)" % (name, d),
          d == "0")
    rb = pg.sql(pgdb, "SELECT count(*) FROM \"%s\".ledger WHERE tag = 'rolledback'" % db)[0][0]
    check("%s: rolled-back transactions absent" % name, rb == "0")
    # The mapping, as PostgreSQL's catalog has it.
    types = dict(pg.sql(pgdb, "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM "
                        "pg_attribute a WHERE a.attrelid = '\"%s\".items'::regclass AND "
                        "a.attnum > 0" % db))
    want = {"id": "numeric(20,0)", "i": "integer", "u": "numeric(20,0)", "d": "numeric(30,10)",
            "f": "double precision", "fl": "real", "dt": "timestamp(6) without time zone",
            "ts": "timestamp(3) with time zone", "tm": "interval(6)", "dd": "date",
            "y": "smallint", "s": "character varying(100)", "txt": "text", "b": "bytea",
            "j": "jsonb" if flavor == "mysql" else "text", "e": "text", "st": "text",
            "bt": "bit(10)", "g": "bytea", "z": "timestamp(0) without time zone"}
    check("%s: column types follow the documented mapping" % name, types == want,
          "%r" % {k: (types.get(k), v) for k, v in want.items() if types.get(k) != v})
    idx = pg.sql(pgdb, "SELECT count(*) FROM pg_indexes WHERE schemaname = '%s' AND "
                 "tablename = 'items'" % db)[0][0]
    check("%s: primary key and secondary indexes created" % name, idx == "3", idx)
    st = migrate("status", src, pg, pgdb)
    check("%s: status shows the state, lag and dead letters" % name,
          st.returncode == 0 and "lag_ms:" in st.stdout and "dead_letters: 0" in st.stdout
          and "behind_bytes:" in st.stdout,
          st.stdout + st.stderr)
    # verify finds a difference made behind its back, by key.
    k = pg.sql(pgdb, 'SELECT min(k) FROM "%s".kv' % db)[0][0]
    pg.sql(pgdb, "UPDATE \"%s\".kv SET n = n + 1 WHERE k = %s" % (db, k))
    v = migrate("verify", src, pg, pgdb)
    check("%s: verify reports a changed row by its key" % name,
          v.returncode == 4 and ("kv key (%s): values differ" % k) in v.stdout, v.stdout + v.stderr)
    pg.sql(pgdb, "UPDATE \"%s\".kv SET n = n - 1 WHERE k = %s" % (db, k))
    v = migrate("verify", src, pg, pgdb)
    check("%s: verify says identical again" % name,
          v.returncode == 0 and "verify: identical" in v.stdout, v.stdout + v.stderr)
    # kv and ledger (integers, 4-byte UTF-8 text and names) compare by the
    # servers' digests; items (TIME, JSON) by rows
    m = re.search(r"(\d+) of (\d+) chunks equal by their digests", v.stderr)
    check("%s: verify's chunk digests agree where the servers can compute them" % name,
          m is not None and int(m.group(1)) >= 2, v.stderr[-500:])
    # DDL of another database's table, issued from ours (the stream passes
    # it: it cannot always read the names), does not stop the run.
    other = db + "_other"
    src.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s; CREATE TABLE %s.kv (k INT PRIMARY KEY, "
            "v INT)" % (other, other, other), db=False)
    src.sql("ALTER TABLE %s.kv RENAME COLUMN v TO v2; INSERT INTO kv (k, v, n) VALUES (-7, 'after', 1)" % other)
    r = subprocess.run([MIGRATE, "run"] + args(src, pg, pgdb, ["--server-id", SERVER_ID[flavor],
                                                               "--stop-at", "now"]),
                       env=env(), capture_output=True, text=True, timeout=120)
    got = pg.sql(pgdb, 'SELECT v FROM "%s".kv WHERE k = -7' % db)
    check("%s: DDL of another database's same-named table passes" % name,
          r.returncode == 0 and got == [["after"]], "rc %d %s %s" % (r.returncode, got, r.stderr[-800:]))
    src.sql("DROP DATABASE %s" % other, db=False)
    # DDL on a migrated table that the mapping does not cover (a CHECK
    # constraint; tests/migrate/migrate_par.py and migrate_ddl_my.py have the
    # statements it applies, index DDL among them) stops the run with the
    # statement and position.
    src.sql("ALTER TABLE kv ADD CONSTRAINT kv_id_set CHECK (k IS NOT NULL)")
    r = subprocess.run([MIGRATE, "run"] + args(src, pg, pgdb, ["--server-id", SERVER_ID[flavor],
                                                               "--stop-at", "now"]),
                       env=env(), capture_output=True, text=True, timeout=120)
    check("%s: DDL stops the run naming the statement" % name,
          r.returncode == 3 and "ALTER TABLE kv ADD CONSTRAINT kv_id_set CHECK (k IS NOT NULL)" in r.stderr and
          "skip-ddl --checkpoint 'cdc1:" in r.stderr, "rc %d %s" % (r.returncode, r.stderr[-800:]))
    src.drop()
    pg.sql("postgres", "DROP DATABASE %s" % pgdb)


def no_pk(pg):
    src = workload.Source("mariadb", "migrate_pg_nopk")
    src.sql("DROP DATABASE IF EXISTS migrate_pg_nopk; CREATE DATABASE migrate_pg_nopk;"
            "CREATE TABLE migrate_pg_nopk.heap (a INT, b TEXT);", db=False)
    r = subprocess.run([MIGRATE, "run"] + args(src, pg, "postgres", ["--server-id", "7103"]),
                       env=env(), capture_output=True, text=True, timeout=60)
    check("table without a primary key refused by name",
          r.returncode == 1 and "migrate_pg_nopk.heap has no primary key" in r.stderr, r.stderr)
    r = subprocess.run([MIGRATE, "run"] + args(src, pg, "postgres", ["--server-id", "7103",
                                                                     "--zero-date", "maybe"]),
                       env=env(), capture_output=True, text=True, timeout=60)
    check("bad option value named", r.returncode == 2 and "--zero-date" in r.stderr, r.stderr)
    src.drop()


def wait_caught_up(src, pg, pgdb, extra=(), timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = migrate("status", src, pg, pgdb, extra)
        if st.returncode == 0 and "lag_ms: 0" in st.stdout:
            return st.stdout
        time.sleep(0.5)
    return None


def dead_letters_and_pause(pg):
    """Rows the target refuses go to cdc_migrate.dead_letter with the error,
    the rest goes on; pause and resume through the control command."""
    src = workload.Source("mariadb", "migrate_pg_dl")
    src.sql("DROP DATABASE IF EXISTS migrate_pg_dl; CREATE DATABASE migrate_pg_dl;"
            "CREATE TABLE migrate_pg_dl.t (id INT PRIMARY KEY, n INT, dt DATETIME);"
            "INSERT INTO migrate_pg_dl.t VALUES (1, 1, '2020-01-01 00:00:00');", db=False)
    pgdb = "t_dl"
    pg.sql("postgres", "CREATE DATABASE %s" % pgdb)
    log = open(os.path.join(pg.dir, "run-dl.log"), "a")
    extra = ["--zero-date", "error"]
    p = subprocess.Popen([MIGRATE, "run"] + args(src, pg, pgdb, ["--server-id", "7104",
                                                                 "--dead-letter"]) + extra,
                         env=env(), stdout=log, stderr=log)
    deadline = time.time() + 120
    while phase(pg, pgdb) != "streaming" and time.time() < deadline:
        time.sleep(0.2)
    pg.sql(pgdb, 'ALTER TABLE "migrate_pg_dl".t ADD CONSTRAINT n_nonneg CHECK (n >= 0)')
    src.sql("SET SESSION sql_mode = '';"
            "INSERT INTO t VALUES (11, 5, NULL); INSERT INTO t VALUES (12, -1, NULL);"
            "INSERT INTO t VALUES (13, 7, NULL);"
            "BEGIN; INSERT INTO t VALUES (14, -2, NULL); INSERT INTO t VALUES (15, 3, NULL); COMMIT;"
            "INSERT INTO t VALUES (16, 1, '0000-00-00 00:00:00'); UPDATE t SET n = 9 WHERE id = 1;")
    caught = wait_caught_up(src, pg, pgdb, extra)
    ids = [r[0] for r in pg.sql(pgdb, 'SELECT id FROM "migrate_pg_dl".t ORDER BY id')]
    check("dead letters: the accepted rows are applied", ids == ["1", "11", "13", "15"], str(ids))
    dl = pg.sql(pgdb, "SELECT row_data, error FROM cdc_migrate.dead_letter ORDER BY id")
    ok = (len(dl) == 3 and '"id":12' in dl[0][0] and "n_nonneg" in dl[0][1] and
          '"id":14' in dl[1][0] and "n_nonneg" in dl[1][1] and '"id":16' in dl[2][0] and
          "zero or partial date" in dl[2][1])
    check("dead letters: refused rows kept with their error", ok, str(dl))
    check("dead letters: status counts them", caught is not None and "dead_letters: 3" in caught,
          str(caught))
    n = pg.sql(pgdb, 'SELECT n FROM "migrate_pg_dl".t WHERE id = 1')[0][0]
    check("dead letters: the stream goes on after them", n == "9", n)
    # pause / resume by the control command
    r = migrate("pause", src, pg, pgdb, extra)
    check("pause command accepted", r.returncode == 0, r.stderr)
    time.sleep(2.5)
    src.sql("INSERT INTO t VALUES (20, 20, NULL)")
    time.sleep(3)
    got = pg.sql(pgdb, 'SELECT count(*) FROM "migrate_pg_dl".t WHERE id = 20')[0][0]
    check("paused: nothing applied", got == "0", got)
    migrate("resume", src, pg, pgdb, extra)
    deadline = time.time() + 30
    while time.time() < deadline and got == "0":
        time.sleep(0.3)
        got = pg.sql(pgdb, 'SELECT count(*) FROM "migrate_pg_dl".t WHERE id = 20')[0][0]
    check("resumed: applied", got == "1", got)
    # pause / resume by signal: SIGUSR1 pauses at the next batch boundary
    # (the log says where), SIGUSR2 resumes; the process stays up throughout
    with open(log.name) as f:
        before = f.read().count("cdc-migrate: paused at ")
    p.send_signal(signal.SIGUSR1)
    time.sleep(1.5)
    src.sql("INSERT INTO t VALUES (21, 21, NULL); UPDATE t SET n = 22 WHERE id = 20")
    time.sleep(3)
    got = pg.sql(pgdb, 'SELECT count(*) FROM "migrate_pg_dl".t WHERE id = 21')[0][0]
    with open(log.name) as f:
        said = f.read().count("cdc-migrate: paused at ") - before
    check("SIGUSR1: paused, nothing applied, the run says so (%d line(s))" % said,
          got == "0" and said >= 1 and p.poll() is None, "%s rows; %d lines" % (got, said))
    p.send_signal(signal.SIGUSR2)
    want = [["20", "22"], ["21", "21"]]
    deadline = time.time() + 30
    while time.time() < deadline:
        rows = pg.sql(pgdb, 'SELECT id, n FROM "migrate_pg_dl".t WHERE id IN (20, 21) ORDER BY id')
        if rows == want:
            break
        time.sleep(0.3)
    check("SIGUSR2: resumed, everything written meanwhile applied", rows == want and
          p.poll() is None, str(rows))
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
    log.close()
    # The rows/s ceiling: 400 rows in 8 transactions at 100 rows/s take at
    # least 3.5 s to apply (the wait comes after each batch of 50).
    src.sql("".join("INSERT INTO t VALUES %s;" % ",".join(
        "(%d, 1, NULL)" % (5000 + 100 * i + k) for k in range(50)) for i in range(8)))
    r = subprocess.run([MIGRATE, "run"] + args(src, pg, pgdb, ["--server-id", "7104",
                                                               "--stop-at", "now",
                                                               "--max-rows-per-sec", "100",
                                                               "--batch-rows", "50"]) + extra,
                       env=env(), capture_output=True, text=True, timeout=120)
    m = re.search(r"applied (\d+) transactions, (\d+) rows in ([\d.]+)s", r.stderr)
    ok = m is not None and int(m.group(2)) >= 400 and float(m.group(3)) >= 3.4
    check("rows/s ceiling holds the apply to 100 rows/s", ok, r.stderr[-600:])
    multi_row(src, pg, pgdb, extra)
    replica_lag(src, pg, pgdb, extra)
    src.drop()
    pg.sql("postgres", "DROP DATABASE %s" % pgdb)


def multi_row(src, pg, pgdb, extra):
    """Consecutive upserts and deletes of a table go as multi-row statements
    (PostgreSQL's log shows them), and a key changed twice in one batch keeps
    its order: the target equals SELECT on the source."""
    pg.sql(pgdb, "ALTER DATABASE %s SET log_statement = 'all'" % pgdb)
    q = "BEGIN;"
    q += "".join("INSERT INTO t VALUES (%d, %d, NULL);" % (7000 + i, i) for i in range(30))
    q += ("UPDATE t SET n = 50 WHERE id = 7005; UPDATE t SET n = 51 WHERE id = 7005;"
          "DELETE FROM t WHERE id = 7010; INSERT INTO t VALUES (7010, 77, NULL);"
          "UPDATE t SET id = 7100 WHERE id = 7011; UPDATE t SET n = 52 WHERE id = 7005;")
    q += "".join("DELETE FROM t WHERE id = %d;" % (7020 + i) for i in range(6))
    q += "INSERT INTO t VALUES (7020, 5, NULL); COMMIT;"
    q += "".join("UPDATE t SET n = n + 1 WHERE id = %d;" % (7000 + i % 4) for i in range(12))
    src.sql(q)
    r = subprocess.run([MIGRATE, "run"] + args(src, pg, pgdb, ["--server-id", "7104",
                                                               "--stop-at", "now"]) + extra,
                       env=env(), capture_output=True, text=True, timeout=120)
    pg.sql(pgdb, "ALTER DATABASE %s RESET log_statement" % pgdb)
    want = src.sql("SELECT id, n FROM t WHERE id >= 7000 ORDER BY id")
    got = pg.sql(pgdb, 'SELECT id, n FROM "migrate_pg_dl".t WHERE id >= 7000 ORDER BY id')
    check("multi-row statements: the target equals SELECT on the source (%d rows)" % len(want),
          r.returncode == 0 and [list(x) for x in want] == [list(x) for x in got],
          "%s\nsource %s\ntarget %s" % (r.stderr[-400:], want, got))
    text = open(os.path.join(pg.dir, "postgres.log"), errors="replace").read()
    ins = re.search(r'INSERT INTO "migrate_pg_dl"\."t" \([^)]*\) VALUES \([^)]*\),\(', text)
    dele = re.search(r'DELETE FROM "migrate_pg_dl"\."t" WHERE "id" IN \([^)]*,', text)
    check("multi-row statements: several rows per INSERT and per DELETE (PostgreSQL's log)",
          ins is not None and dele is not None, "insert %s delete %s" % (ins, dele))


def replica_lag(src, pg, pgdb, extra):
    """--max-replica-lag-ms holds the apply while the lag the target reports
    is above it (here from --replica-lag-query, the same code path as
    pg_stat_replication's default query), and goes on when it drops."""
    pg.sql(pgdb, "CREATE TABLE public.lagsim (ms bigint); INSERT INTO public.lagsim VALUES (5000)")
    src.sql("".join("INSERT INTO t VALUES (%d, 1, NULL);" % (8001 + i) for i in range(3)))
    logpath = os.path.join(pg.dir, "run-lag.log")
    log = open(logpath, "w")
    p = subprocess.Popen([MIGRATE, "run"] + args(src, pg, pgdb, [
        "--server-id", "7104", "--stop-at", "now", "--batch-txns", "1",
        "--max-replica-lag-ms", "1000", "--replica-lag-query", "SELECT ms FROM public.lagsim"]) +
        extra, env=env(), stdout=log, stderr=log)
    deadline = time.time() + 60
    while time.time() < deadline and "holding" not in open(logpath).read():
        time.sleep(0.2)
    time.sleep(2)
    n = int(pg.sql(pgdb, 'SELECT count(*) FROM "migrate_pg_dl".t WHERE id > 8000')[0][0])
    held = "5000 ms behind" in open(logpath).read() and p.poll() is None and n <= 1
    check("replica lag above the limit: the apply holds (%d of 3 rows applied)" % n, held,
          open(logpath).read()[-600:])
    pg.sql(pgdb, "UPDATE public.lagsim SET ms = 0")
    try:
        rc = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = -9
    log.close()
    n = int(pg.sql(pgdb, 'SELECT count(*) FROM "migrate_pg_dl".t WHERE id > 8000')[0][0])
    check("replica lag back under the limit: the apply goes on to the end",
          rc == 0 and n == 3 and "going on" in open(logpath).read(), "rc %d rows %d" % (rc, n))
    src.sql("INSERT INTO t VALUES (8004, 1, NULL)")
    r = subprocess.run([MIGRATE, "run"] + args(src, pg, pgdb, [
        "--server-id", "7104", "--stop-at", "now", "--max-replica-lag-ms", "1000",
        "--replica-lag-query", "SELECT ms FROM public.nowhere"]) + extra,
        env=env(), capture_output=True, text=True, timeout=120)
    check("a failing --replica-lag-query stops the run naming it",
          r.returncode != 0 and "--replica-lag-query" in r.stderr and "nowhere" in r.stderr,
          r.stderr[-500:])


def main():
    if not checks.have_testenv():
        return 1
    pg = PG()
    try:
        no_pk(pg)
        dead_letters_and_pause(pg)
        for f in ([] if os.environ.get("CDC_MIGRATE_QUICK") else FLAVORS):
            one_flavor(f, pg)
    finally:
        checks.finish(pg, "CDC_MIGRATE_KEEP")
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
