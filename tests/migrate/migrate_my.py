#!/usr/bin/env python3
"""cdc-migrate end to end into MySQL and MariaDB targets, and two-way.

usage: migrate_my.py CDC_MIGRATE [mysql-mariadb] [mariadb-mysql] [twoway] [dead-letters]

mysql-mariadb: MySQL 9.7 (shared test server) into a MariaDB of the test's
  own (Debian's mariadbd, own datadir and port, killed by PID).
mariadb-mysql: MariaDB 10.11 (shared) into the shared MySQL 9.7, in a
  database of our own, through an account of our own that logs in with
  caching_sha2_password; its connections are cut with KILL.
For each: preload a database with every mapped type (workload.py); with two
writers committing inserts, updates, primary-key changes, deletes, large
transactions and rollbacks the whole time, start `cdc-migrate run` and
kill -9 it at random moments (during the copy, during the apply), starting
it again each time; then crash the target (own MariaDB: kill -9 and start
again) or cut the target connections (shared MySQL: KILL), and the run must
go on by itself; stop the writers; `cdc-migrate cutover` must report the
target equal to the source; both sides dumped in canonical form by each
server's own SQL (HEX(), DATE_FORMAT, ST_AsBinary, JSON by value) must be
equal; a trigger on the target's ledger must have seen no UPDATE/DELETE
(nothing applied twice); the target's column types and collations follow
the documented mapping (ENUM/SET labels with 4-byte characters exact);
verify names a row changed behind its back. MySQL -> MariaDB copies
through `--copy-workers 2` (the own MariaDB has a binlog: the finished
copy's INSERTs must come from two connections, not the one writing the
state row, and hold exactly the rows copied), MariaDB -> MySQL through
`--copy-workers 3`; in both a kill -9 must land while the workers load,
and the progress lines must add up to the copy's total.

twoway: MariaDB 10.11 <-> MySQL 9.7 (shared servers, databases of our
own): a forward migration copies MariaDB into MySQL, a reverse one streams
MySQL back into MariaDB from MySQL's position (--start-at); writers on both
sides write different keys; both converge, and no transaction echoes: the
reverse applied exactly the MySQL writers' transactions and the forward
exactly the MariaDB writers', while every transaction the other direction
applied carried a marker row that the stream dropped.

dead-letters: rows the MySQL target refuses (a CHECK constraint made on
the target) land in the dead-letter table with the target's error; the
rest, in the same source transaction too, is applied. Then `cdc-migrate
pause`: nothing of the migration in MySQL's binlog while paused, and after
`resume` the rows written meanwhile, equal to the source's.

Ends with "N passed, N failed". Needs tests/servers/testenv.sh's servers;
fails, never skips, without them. CDC_MIGRATE_KILLS (default 11: 11 kills
MySQL -> MariaDB, 9 MariaDB -> MySQL) and CDC_MIGRATE_PRELOAD (3000) make it
a longer soak.
"""
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from checks import Checks  # noqa: E402
import canon  # noqa: E402
import workload  # noqa: E402
from myserver import MyServer, PASSWORD as OWN_PW  # noqa: E402

MIGRATE = os.path.abspath(sys.argv[1])
CASES = sys.argv[2:] or ["mysql-mariadb", "mariadb-mysql", "twoway", "dead-letters"]
KILLS = int(os.environ.get("CDC_MIGRATE_KILLS", "11"))
PRELOAD = int(os.environ.get("CDC_MIGRATE_PRELOAD", "3000"))
TGT_USER = "migmy_tgt"
TGT_PW = "migmy-Tgt-pw-9"
checks = Checks()
check = checks.check


class Shared:
    """A database on a shared test server, through its client."""

    def __init__(self, flavor, db):
        self.src = workload.Source(flavor, db)
        self.flavor, self.db, self.port = flavor, db, self.src.port

    def sql(self, q, db=True):
        # Debian's client straight over TCP: half the time of the wrapper
        cli = ["mariadb", "--no-defaults", "-h127.0.0.1", "-P%d" % self.port, "-uroot",
               "-p" + os.environ["CDC_TEST_PASSWORD"], "--ssl", "--default-character-set=utf8mb4",
               "--batch", "--raw", "--skip-column-names"] + ([self.db] if db else [])
        r = subprocess.run(cli, input=q.encode(), capture_output=True)
        if r.returncode:
            raise RuntimeError("%s: %s: %s" % (self.flavor, q[:300], r.stderr.decode()[-800:]))
        return [line.split("\t") for line in r.stdout.decode("utf-8").split("\n") if line != ""]


class Own:
    """A database on the test's own MariaDB."""

    def __init__(self, server, db):
        self.server, self.db, self.flavor, self.port = server, db, "mariadb", server.port

    def sql(self, q, db=True):
        r = subprocess.run(self.server.cli(*([self.db] if db else [])), input=q.encode(),
                           capture_output=True)
        if r.returncode:
            raise RuntimeError("own mariadbd: %s: %s" % (q[:300], r.stderr.decode()[-800:]))
        return [line.split("\t") for line in r.stdout.decode().split("\n") if line != ""]


def env(target_pw):
    e = dict(os.environ)
    e["CDC_MIGRATE_SOURCE_PASSWORD"] = os.environ["CDC_TEST_PASSWORD"]
    e["CDC_MIGRATE_TARGET_PASSWORD"] = target_pw
    return e


class Mig:
    """One migration: its source, target URL and options."""

    def __init__(self, src_port, src_db, url, target_pw, tdb, state, name, server_id, log):
        self.base = ["--source-host", "127.0.0.1", "--source-port", str(src_port),
                     "--source-user", "root", "--database", src_db, "--target", url,
                     "--target-schema", tdb, "--state-schema", state, "--name", name]
        self.env = env(target_pw)
        self.server_id = server_id
        self.logpath = log
        self.log = open(log, "a")

    def start(self, extra=()):
        return subprocess.Popen([MIGRATE, "run"] + self.base + ["--server-id", self.server_id] +
                                list(extra), env=self.env, stdout=self.log, stderr=self.log)

    def cmd(self, c, extra=(), timeout=300):
        return subprocess.run([MIGRATE, c] + self.base + list(extra), env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def tail(self, n=2500):
        self.log.flush()
        return open(self.logpath).read()[-n:]


def phase(tgt, state, name):
    try:
        rows = tgt.sql("SELECT phase FROM %s.state WHERE name = '%s'" % (state, name), db=False)
        return rows[0][0] if rows else "none"
    except RuntimeError:
        return "none"


def compare(src, tgt, label, tables=canon.TABLES):
    """One check per table: source and target (both MySQL/MariaDB) dumped
    by their own servers (canon.py)."""
    canon.compare(check, label + ": ", src, lambda t: workload.dump_source(tgt, t), tables)


LEDGER = """
CREATE DATABASE IF NOT EXISTS {tdb} CHARACTER SET utf8mb4;
CREATE TABLE {tdb}.ledger (id bigint NOT NULL PRIMARY KEY, tag varchar(64), n int)
  CHARACTER SET utf8mb4;
CREATE DATABASE IF NOT EXISTS {dupes};
CREATE TABLE {dupes}.dupes (id bigint, op char(1));
CREATE TRIGGER {tdb}.ledger_upd BEFORE UPDATE ON {tdb}.ledger FOR EACH ROW
  INSERT INTO {dupes}.dupes VALUES (OLD.id, 'U');
CREATE TRIGGER {tdb}.ledger_del BEFORE DELETE ON {tdb}.ledger FOR EACH ROW
  INSERT INTO {dupes}.dupes VALUES (OLD.id, 'D');
"""


class SlowWriter(workload.Writer):
    """workload.py's writer at a pace that keeps the test within its time."""

    def run(self):
        try:
            while not self.halt.is_set():
                self.p.stdin.write((self.txn() + "\n").encode())
                self.p.stdin.flush()
                self.txns += 1
                time.sleep(self.pace)
        except BrokenPipeError:
            pass


def one_way(label, src, tgt, mig, fault, state, kills_n, pace, extra=()):
    """Preload, kills, a target fault, cutover, comparisons. extra: more
    `run` options; with --copy-workers the first kills wait for the copy
    through the workers to start, and one must land inside it."""
    workers = "--copy-workers" in extra
    wcopy = "(%s target connections)" % (extra[list(extra).index("--copy-workers") + 1]
                                         if workers else "")
    t0 = time.time()
    src.src.create()
    src.src.preload(PRELOAD, seed=11)
    print("# %s: preloaded %d rows in %.1fs" % (label, PRELOAD, time.time() - t0), flush=True)
    dupes = tgt.db + "_dupes"
    tgt.sql("DROP DATABASE IF EXISTS %s; DROP DATABASE IF EXISTS %s; DROP DATABASE IF EXISTS %s;"
            % (tgt.db, dupes, state) + LEGDER_FMT(tgt.db, dupes), db=False)
    writers = [SlowWriter(src.src, w, seed=200 + w) for w in range(2)]
    for w in writers:
        w.pace = pace
    for w in writers:
        w.start()
    rnd = random.Random(99)
    kills = {"copy": 0, "apply": 0}
    streaming = False  # once the copy is committed the phase stays "streaming"
    in_wcopy = 0  # kills inside a copy through the copy workers
    copied = None  # the finished copy's rows (with --copy-workers)
    for i in range(kills_n):
        at = len(mig.tail(10**9))
        p = mig.start(extra)
        if i < 2 and workers:
            # kill once the workers load rows (progress lines follow the
            # "copying" line), before the copy is done
            deadline = time.time() + 120
            while p.poll() is None and time.time() < deadline and \
                    "cdc-migrate: copy " not in mig.tail(10**9)[at:]:
                time.sleep(0.01)
            time.sleep(rnd.uniform(0.0, 0.02))
        elif i < 2:
            time.sleep(rnd.uniform(0.2, 1.0))
        else:
            deadline = time.time() + 120
            while (not streaming and phase(tgt, state, mig_name(mig)) != "streaming" and
                   time.time() < deadline and p.poll() is None):
                time.sleep(0.1)
            streaming = True
            time.sleep(rnd.uniform(0.2, 2.0))
        ph = "streaming" if streaming else phase(tgt, state, mig_name(mig))
        if p.poll() is not None:
            check("%s: run %d still running before its kill" % (label, i), False,
                  "exit %s; log %s" % (p.returncode, mig.tail()))
            continue
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills["copy" if ph != "streaming" else "apply"] += 1
        seg = mig.tail(10**9)[at:]
        in_wcopy += wcopy in seg and "copy done" not in seg
        if i < 2 and workers:
            print("# %s: kill %d: %s, %d progress lines, %s" % (
                label, i, "copy through workers started" if wcopy in seg else "no copy yet",
                len(PROGRESS.findall(seg)),
                "copy done" if "copy done" in seg else "copy unfinished"),
                flush=True)
    print("# %s: kill -9 during copy %d, during apply %d (%.0fs)" % (label, kills["copy"],
                                                                    kills["apply"], time.time() - t0),
          flush=True)
    check("%s: %d kill -9, during the copy and during the apply" % (label, kills_n),
          kills["copy"] >= 1 and kills["apply"] >= kills_n // 2, str(kills))
    if workers:
        check("%s: a kill -9 landed while the copy workers loaded rows %s" % (label, wcopy),
              in_wcopy >= 1, "%d; log %s" % (in_wcopy, mig.tail()))
        copied = copy_progress(label, mig.tail(10**9), wcopy)
    p = mig.start(extra)
    deadline = time.time() + 120
    while phase(tgt, state, mig_name(mig)) != "streaming" and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(2)
    fault()
    time.sleep(3)
    check("%s: run lives through the target fault" % label, p.poll() is None, mig.tail())
    for w in writers:
        w.stop()
    txns = sum(w.txns for w in writers)
    print("# %s: writers sent %d transactions (%.0fs)" % (label, txns, time.time() - t0), flush=True)
    r = mig.cmd("cutover", ["--max-lag-ms", "3000", "--timeout", "240"])
    print("# %s: cutover took until %.0fs" % (label, time.time() - t0), flush=True)
    ok = r.returncode == 0 and "target equals source at cdc1:" in r.stdout
    check("%s: cutover reports the target equal to the source" % label, ok,
          r.stdout + r.stderr[-2000:] + "\nrun log:\n" + mig.tail())
    print("# " + r.stdout.strip(), flush=True)
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = "hung"
    check("%s: run exits 0 on SIGTERM" % label, rc == 0, "rc %s" % rc)
    print("# %s: run stopped at %.0fs" % (label, time.time() - t0), flush=True)
    text = mig.tail(10**7)
    check("%s: the run retried through the target fault" % label, "retrying in" in text,
          text[-1500:])
    compare(src, tgt, label)
    print("# %s: dumps compared at %.0fs" % (label, time.time() - t0), flush=True)
    d = tgt.sql("SELECT count(*) FROM %s.dupes" % dupes, db=False)[0][0]
    check("%s: no transaction applied twice (ledger trigger saw %s updates/deletes)" % (label, d),
          d == "0")
    rb = tgt.sql("SELECT count(*) FROM ledger WHERE tag = 'rolledback'")[0][0]
    check("%s: rolled-back transactions absent" % label, rb == "0")
    # The mapping as the target's catalog has it.
    cols = {r[0]: r[1:] for r in tgt.sql(
        "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COALESCE(COLLATION_NAME, '-'), "
        "HEX(COLUMN_TYPE) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s' AND "
        "TABLE_NAME = 'items'" % tgt.db, db=False)}
    srccols = {r[0]: r[1:] for r in src.sql(
        "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COALESCE(COLLATION_NAME, '-') FROM "
        "information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s' AND TABLE_NAME = 'items'"
        % src.db, db=False)}
    bad = {}
    for c, (dt, ct, coll) in srccols.items():
        want_dt = dt
        if src.flavor == "mysql" and dt == "json":
            want_dt = "longtext"  # MariaDB's JSON
        want_coll = coll
        if src.flavor == "mysql" and coll == "utf8mb4_0900_ai_ci":
            want_coll = "utf8mb4_unicode_520_nopad_ci"
        if src.flavor == "mysql" and dt == "json":
            want_coll = "utf8mb4_bin"
        got = cols.get(c)
        if not got or got[0] != want_dt or got[2] != want_coll:
            bad[c] = (got, want_dt, want_coll)
    check("%s: column types and collations follow the documented mapping" % label, not bad,
          str(bad))
    # ENUM/SET labels exact (each server's own output of a stored value).
    lab = tgt.sql("SELECT HEX(e) FROM items WHERE e LIKE 'ç%' LIMIT 1")
    srclab = src.sql("SELECT HEX(e) FROM items WHERE e LIKE 'ç%' LIMIT 1")
    check("%s: ENUM label with a 4-byte character exact" % label,
          lab == srclab and lab and lab[0][0] == "C3A7F09F9880", "%s %s" % (lab, srclab))
    idx = tgt.sql("SELECT COUNT(DISTINCT INDEX_NAME) FROM information_schema.STATISTICS "
                  "WHERE TABLE_SCHEMA = '%s' AND TABLE_NAME = 'items'" % tgt.db, db=False)[0][0]
    check("%s: primary key and secondary indexes created" % label, idx == "3", idx)
    print("# %s: catalog checked at %.0fs" % (label, time.time() - t0), flush=True)
    st = mig.cmd("status")
    check("%s: status shows the state, lag and dead letters" % label,
          st.returncode == 0 and "lag_ms:" in st.stdout and "dead_letters: 0" in st.stdout,
          st.stdout + st.stderr)
    k = tgt.sql("SELECT MIN(k) FROM kv")[0][0]
    tgt.sql("UPDATE kv SET n = n + 1 WHERE k = %s" % k)
    v = mig.cmd("verify")
    check("%s: verify reports a changed row by its key" % label,
          v.returncode == 4 and ("kv key (%s): values differ" % k) in v.stdout, v.stdout + v.stderr)
    tgt.sql("UPDATE kv SET n = n - 1 WHERE k = %s" % k)
    v = mig.cmd("verify")
    check("%s: verify says identical again" % label,
          v.returncode == 0 and "verify: identical" in v.stdout, v.stdout + v.stderr)
    src.src.drop()
    tgt.sql("DROP DATABASE IF EXISTS %s; DROP DATABASE IF EXISTS %s; DROP DATABASE IF EXISTS %s"
            % (tgt.db, dupes, state), db=False)
    return copied


def LEGDER_FMT(tdb, dupes):
    return LEDGER.format(tdb=tdb, dupes=dupes)


def mig_name(mig):
    return mig.base[mig.base.index("--name") + 1]


def mysql_target_account(mysql):
    mysql.sql("DROP USER IF EXISTS '%s'@'%%'; CREATE USER '%s'@'%%' IDENTIFIED WITH "
              "caching_sha2_password BY '%s'; GRANT ALL ON *.* TO '%s'@'%%';"
              % (TGT_USER, TGT_USER, TGT_PW, TGT_USER), db=False)


def kill_target_connections(mysql):
    # SHOW PROCESSLIST: information_schema.PROCESSLIST cannot show other
    # sessions' 4-byte characters and fails the whole query
    ids = [r[0] for r in mysql.sql("SHOW PROCESSLIST", db=False) if len(r) > 1 and r[1] == TGT_USER]
    for i in ids:
        try:
            mysql.sql("KILL %s" % i, db=False)
        except RuntimeError:
            pass
    return len(ids)


PROGRESS = re.compile(r"cdc-migrate: copy (\S+) (\d+)/~(\d+) rows, (\d+) rows/s, "
                      r"table eta (\d+)s; (\d+)/(\d+) tables")


def copy_progress(label, log, wcopy):
    """The progress of the copy that finished (through the workers): per
    table, rows counted up to the total the copy reports, a rate, an ETA."""
    done = log.rfind("copy done: ")
    start = log.rfind("cdc-migrate: copying", 0, done)
    seg = log[start:done]
    m = re.match(r"copy done: (\d+) rows in ([\d.]+)s \((\d+) rows/s\)", log[done:])
    lines = [(g[0], int(g[1]), int(g[2]), int(g[3]), int(g[4])) for g in PROGRESS.findall(seg)]
    last, mono = {}, True
    for t, n, est, rate, eta in lines:
        mono &= n >= last.get(t, 0)
        last[t] = n
    total = int(m.group(1)) if m else -1
    print("# %s: copy progress %d lines, last per table %s; copy done: %d rows" %
          (label, len(lines), last, total), flush=True)
    check("%s: copy progress through the workers: per table rows rising, rows/s > 0, an ETA, "
          "the tables' rows summing to the copy's total" % label,
          wcopy in seg and m and lines and mono and all(ln[3] > 0 for ln in lines) and
          len(last) == 3 and sum(last.values()) == total and int(m.group(3)) > 0,
          seg[-1500:] + log[done:done + 200])
    return total


def value_rows(stmt):
    """The rows of a multi-row INSERT's VALUES: its parenthesised lists
    outside string literals ('' inside a literal is two quotes, which
    toggling twice passes; the target runs with NO_BACKSLASH_ESCAPES)."""
    body = stmt[stmt.index(" VALUES ") + 8:]
    n, depth, quoted = 0, 0, False
    for ch in body:
        if ch == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            n += depth == 0
            depth += 1
        elif ch == ")":
            depth -= 1
    return n


def copy_connections(own, tdb, state, total):
    """The target's own record of who wrote the copy: its binlog (MIXED:
    the copy's multi-row INSERTs are statements, each with the id of the
    connection that ran it; only committed transactions are there). The
    INSERTs into the migrated tables after the last copy's DELETE and before
    the first write of the state row are the finished copy: with
    --copy-workers 2 they must come from two connections, hold exactly the
    rows the run reported copied, and the main connection (which writes the
    state row) must have written none of them."""
    text = own.binlog_text()
    if os.environ.get("CDC_MIGRATE_BINLOG_OUT"):
        open(os.environ["CDC_MIGRATE_BINLOG_OUT"], "w").write(text)
    rows_by, state_tid, row_events = {}, None, 0
    # one Query event: "# at N", header with thread_id, statement up to /*!*/;
    for ev in text.split("\n# at ")[1:]:
        m = re.search(r"\tQuery\tthread_id=(\d+)", ev)
        if "### INSERT INTO `%s`." % tdb in ev:
            row_events += 1
        if not m:
            continue
        tid = m.group(1)
        stmt = ev[ev.index("\n", m.end()) + 1:].split("/*!*/;\n")
        stmt = [x for x in stmt if not x.startswith("SET ")]
        stmt = stmt[0] if stmt else ""
        if stmt.startswith("INSERT INTO `%s`.`state`" % state):
            state_tid = tid
            break
        if re.match(r"DELETE FROM `%s`\.`[^`]+`\s*$" % tdb, stmt):
            rows_by = {}  # a copy (re)starts
        elif stmt.startswith("INSERT INTO `%s`." % tdb):
            rows_by[tid] = rows_by.get(tid, 0) + value_rows(stmt)
    print("# mysql->mariadb: the finished copy's rows by target connection (binlog): %s; "
          "state row by connection %s" % (rows_by, state_tid), flush=True)
    check("mysql->mariadb: the copy's %d rows were written by 2 target connections, none by the "
          "main one (target's binlog)" % total,
          len([t for t, n in rows_by.items() if n > 0]) == 2 and state_tid is not None and
          state_tid not in rows_by and row_events == 0 and sum(rows_by.values()) == total,
          "%s, state by %s, %d row events" % (rows_by, state_tid, row_events))


def case_mysql_mariadb():
    own = MyServer(log_bin=True)
    try:
        src = Shared("mysql", "migmy_a")
        tgt = Own(own, "migmy_at")
        log = os.path.join(own.dir, "run.log")
        mig = Mig(src.port, src.db, own.url(), OWN_PW, tgt.db, "migmy_astate", "a", "7311", log)

        def fault():
            own.crash()
            time.sleep(2)
            own.start()
        total = one_way("mysql->mariadb", src, tgt, mig, fault, "migmy_astate", KILLS, 0.06,
                        ["--copy-workers", "2"])
        copy_connections(own, tgt.db, "migmy_astate", total)
    finally:
        checks.finish(own, "CDC_MIGRATE_KEEP")


def case_mariadb_mysql():
    src = Shared("mariadb", "migmy_b")
    mysql = Shared("mysql", "migmy_bt")
    mysql_target_account(mysql)
    log = "/tmp/migmy-b-run.%d.log" % os.getpid()
    mig = Mig(src.port, src.db, "mysql://%s@127.0.0.1:%d" % (TGT_USER, mysql.port), TGT_PW,
              mysql.db, "migmy_bstate", "b", "7312", log)
    cut = []

    def fault():
        # the shared MySQL is never stopped: its connections to us are cut
        for _ in range(3):
            cut.append(kill_target_connections(mysql))
            time.sleep(1.0)
    try:
        # fewer kills here: each restart on the shared MariaDB finds its GTID
        # position by reading the binlog file (20 in all with the case above)
        # the copy through three copy workers into MySQL 9.7 (its binlog
        # has no connection ids to check: the own MariaDB case does that)
        one_way("mariadb->mysql", src, mysql, mig, fault, "migmy_bstate", max(KILLS - 2, 1), 0.12,
                ["--copy-workers", "3"])
        check("mariadb->mysql: target connections were cut", sum(cut) >= 2, str(cut))
    finally:
        mysql.sql("DROP USER IF EXISTS '%s'@'%%'" % TGT_USER, db=False)
        os.unlink(log)


def case_dead_letters():
    """Rows the MySQL target refuses (a CHECK constraint made there) go to
    the dead-letter table with the error; the rest is applied."""
    src = Shared("mariadb", "migmy_dl")
    mysql = Shared("mysql", "migmy_dlt")
    state = "migmy_dlstate"
    mysql_target_account(mysql)
    log = "/tmp/migmy-dl-run.%d.log" % os.getpid()
    mig = Mig(src.port, src.db, "mysql://%s@127.0.0.1:%d" % (TGT_USER, mysql.port), TGT_PW,
              mysql.db, state, "dl", "7315", log)
    p = None
    try:
        src.sql("DROP DATABASE IF EXISTS migmy_dl; CREATE DATABASE migmy_dl;"
                "CREATE TABLE migmy_dl.t (id INT PRIMARY KEY, n INT, s VARCHAR(20));"
                "INSERT INTO migmy_dl.t VALUES (1, 1, 'a');", db=False)
        mysql.sql("DROP DATABASE IF EXISTS migmy_dlt; DROP DATABASE IF EXISTS %s;"
                  "CREATE DATABASE migmy_dlt; CREATE TABLE migmy_dlt.t (id INT NOT NULL PRIMARY KEY,"
                  " n INT, s VARCHAR(20), CONSTRAINT n_nonneg CHECK (n >= 0))" % state, db=False)
        p = mig.start(["--dead-letter"])
        deadline = time.time() + 60
        while phase(mysql, state, "dl") != "streaming" and time.time() < deadline:
            time.sleep(0.2)
        src.sql("INSERT INTO t VALUES (11, 5, 'x'); INSERT INTO t VALUES (12, -1, 'bad');"
                "BEGIN; INSERT INTO t VALUES (14, -2, 'bad2'); INSERT INTO t VALUES (15, 3, 'y');"
                " COMMIT; UPDATE t SET n = 9 WHERE id = 1;")
        deadline = time.time() + 60
        ids = []
        while time.time() < deadline:
            ids = [r[0] for r in mysql.sql("SELECT id FROM t ORDER BY id")]
            n1 = mysql.sql("SELECT n FROM t WHERE id = 1")
            if ids == ["1", "11", "15"] and n1 == [["9"]]:
                break
            time.sleep(0.5)
        check("dead letters (MySQL target): the accepted rows are applied, the stream goes on",
              ids == ["1", "11", "15"], "%s\n%s" % (ids, mig.tail()))
        dl = mysql.sql("SELECT row_data, error FROM %s.dead_letter ORDER BY id" % state, db=False)
        ok = (len(dl) == 2 and '"id":12' in dl[0][0] and "n_nonneg" in dl[0][1] and
              '"id":14' in dl[1][0] and "n_nonneg" in dl[1][1])
        check("dead letters (MySQL target): refused rows kept with the target's error", ok, str(dl))
        st = mig.cmd("status")
        check("dead letters (MySQL target): status counts them", "dead_letters: 2" in st.stdout,
              st.stdout + st.stderr)
        pause_resume(src, mysql, mig, state)
    finally:
        if p and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=60)
        src.sql("DROP DATABASE IF EXISTS migmy_dl", db=False)
        mysql.sql("DROP DATABASE IF EXISTS migmy_dlt; DROP DATABASE IF EXISTS %s; DROP USER IF "
                  "EXISTS '%s'@'%%'" % (state, TGT_USER), db=False)
        if os.path.exists(log):
            os.unlink(log)


def binlog_pos(mysql):
    r = mysql.sql("SHOW BINARY LOG STATUS", db=False)[0]
    return r[0], int(r[1])


def writes_since(mysql, pos, dbs):
    """The target's own record of what was committed since pos: the
    Table_map events of MySQL's binlog (row format) naming a table of one
    of dbs, from pos to now, across rotations (the shared server's binlog
    holds other sessions' writes too)."""
    files = [r[0] for r in mysql.sql("SHOW BINARY LOGS", db=False)]
    n = 0
    for f in files[files.index(pos[0]):]:
        q = "SHOW BINLOG EVENTS IN '%s'" % f + (" FROM %d" % pos[1] if f == pos[0] else "")
        for ev in mysql.sql(q, db=False):
            if len(ev) > 5 and ev[2] == "Table_map" and any("(%s." % d in ev[5] for d in dbs):
                n += 1
    return n


def pause_resume(src, mysql, mig, state):
    """`cdc-migrate pause` on a MySQL target: while paused the target's
    binlog gets no write to the migrated table or the state database (the
    shared MySQL runs without performance_schema) and the table none of the
    source's new rows; after `resume` all of them, equal to the source's."""
    r = mig.cmd("pause")
    check("pause (MySQL target): command accepted", r.returncode == 0, r.stdout + r.stderr)
    time.sleep(2.5)  # the run reads the control within a second
    p0 = binlog_pos(mysql)
    src.sql("INSERT INTO t VALUES (20, 20, 'p1'); BEGIN; INSERT INTO t VALUES (21, 21, 'p2');"
            " UPDATE t SET s = 'p3' WHERE id = 11; DELETE FROM t WHERE id = 15; COMMIT;")
    time.sleep(4)
    w = writes_since(mysql, p0, [mysql.db, state])
    p1 = binlog_pos(mysql)
    got = mysql.sql("SELECT id, n, s FROM t ORDER BY id")
    check("pause (MySQL target): nothing reaches the target while paused (its binlog: %d "
          "writes to the migration's tables or state; rows %s)" % (w, got),
          w == 0 and [r[0] for r in got] == ["1", "11", "15"] and got[1][2] == "x",
          "%d writes; %s" % (w, mig.tail()))
    r = mig.cmd("resume")
    check("resume (MySQL target): command accepted", r.returncode == 0, r.stdout + r.stderr)
    want = src.sql("SELECT id, n, s FROM t WHERE id NOT IN (12, 14) ORDER BY id")
    deadline = time.time() + 30
    while time.time() < deadline:
        got = mysql.sql("SELECT id, n, s FROM t ORDER BY id")
        if got == want:
            break
        time.sleep(0.3)
    w = writes_since(mysql, p1, [mysql.db])
    check("resume (MySQL target): everything written meanwhile applied, equal to the source "
          "(its binlog: %d writes to the migrated table)" % w,
          got == want and [r[0] for r in got] == ["1", "11", "20", "21"] and w > 0,
          "%s vs %s" % (got, want))


# ---- two-way -----------------------------------------------------------------

TW_SCHEMA = """
CREATE TABLE acct (id INT NOT NULL PRIMARY KEY, side CHAR(1) NOT NULL, v BIGINT UNSIGNED,
  d DECIMAL(20,6), note VARCHAR(40), ts TIMESTAMP(6) NULL) CHARACTER SET utf8mb4;
"""


class TwWriter(threading.Thread):
    """Writes keys of its own range on one side; counts committed
    transactions (rollbacks are not counted)."""

    def __init__(self, side, lo, hi, tag, seed):
        super().__init__(daemon=True)
        self.side, self.lo, self.hi, self.tag = side, lo, hi, tag
        self.rnd = random.Random(seed)
        self.halt = threading.Event()
        self.committed = 0
        self.live = set()
        self.next = lo

    def txn(self):
        r = self.rnd
        stmts = []
        for _ in range(r.randrange(1, 4)):
            c = r.randrange(10)
            if c < 4 or not self.live:
                self.next += 1
                k = self.next
                self.live.add(k)
                stmts.append("INSERT INTO acct VALUES (%d, '%s', %d, %d.%06d, 'n\U0001F600%d', "
                             "'2024-02-29 12:34:56.%06d')" % (k, self.tag, 2**64 - 1 - k, k,
                                                              r.randrange(10**6), k,
                                                              r.randrange(10**6)))
            elif c < 7:
                k = r.choice(sorted(self.live))
                stmts.append("UPDATE acct SET v = v - 1, note = 'u%d' WHERE id = %d" % (c, k))
            elif c < 8:
                k = r.choice(sorted(self.live))
                self.next += 1
                stmts.append("UPDATE acct SET id = %d WHERE id = %d" % (self.next, k))
                self.live.discard(k)
                self.live.add(self.next)
            else:
                k = r.choice(sorted(self.live))
                self.live.discard(k)
                stmts.append("DELETE FROM acct WHERE id = %d" % k)
        return stmts

    def run(self):
        p = subprocess.Popen(self.side.src.cli("--force", self.side.db) if isinstance(
            self.side, Shared) else self.side.server.cli(self.side.db),
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        p.stdin.write(b"SET SESSION time_zone = '+00:00';\n")
        while not self.halt.is_set():
            if self.rnd.random() < 0.1:
                self.next += 1
                q = ("BEGIN; INSERT INTO acct VALUES (%d, '%s', 1, 1, 'rolledback', NULL); "
                     "ROLLBACK;" % (self.next, self.tag))
            else:
                q = "BEGIN; %s; COMMIT;" % "; ".join(self.txn())
                self.committed += 1
            p.stdin.write((q + "\n").encode())
            p.stdin.flush()
            time.sleep(0.01)
        p.stdin.close()
        p.wait()
        self.err = p.stderr.read().decode()

    def stop(self):
        self.halt.set()
        self.join()


def dump_acct(side):
    return side.sql("SET SESSION time_zone = '+00:00'; SELECT id, side, v, d, HEX(note), "
                    "DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f') FROM acct ORDER BY id")


def state_txns(side, state, name):
    rows = side.sql("SELECT txns FROM %s.state WHERE name = '%s'" % (state, name), db=False)
    return int(rows[0][0]) if rows else -1


def marker_txns(side, state, name):
    rows = side.sql("SELECT txns FROM %s.marker WHERE name = '%s'" % (state, name), db=False)
    return int(rows[0][0]) if rows else 0


def case_twoway():
    a = Shared("mariadb", "migmy_tw")
    b = Shared("mysql", "migmy_tw")
    state = "migmy_twstate"
    mysql_target_account(b)
    for s in (a, b):
        s.sql("DROP DATABASE IF EXISTS migmy_tw; DROP DATABASE IF EXISTS %s" % state, db=False)
    a.sql("CREATE DATABASE migmy_tw CHARACTER SET utf8mb4", db=False)
    a.sql(TW_SCHEMA)
    a.sql("INSERT INTO acct VALUES " + ",".join(
        "(%d, 'p', %d, 0.5, 'pre', NULL)" % (i, i) for i in range(1, 501)))
    logf = "/tmp/migmy-tw-fwd.%d.log" % os.getpid()
    logr = "/tmp/migmy-tw-rev.%d.log" % os.getpid()
    fwd = Mig(a.port, "migmy_tw", "mysql://%s@127.0.0.1:%d" % (TGT_USER, b.port), TGT_PW,
              "migmy_tw", state, "fwd", "7313", logf)
    rev = Mig(b.port, "migmy_tw", "mariadb://root@127.0.0.1:%d" % a.port,
              os.environ["CDC_TEST_PASSWORD"], "migmy_tw", state, "rev", "7314", logr)
    pf = pr = None
    try:
        pf = fwd.start()
        deadline = time.time() + 120
        while phase(b, state, "fwd") != "streaming" and time.time() < deadline:
            time.sleep(0.2)
        # MySQL's position once the copy is in: the reverse streams from there
        pos = b.sql("SHOW BINARY LOG STATUS", db=False)[0]
        start = "%s:%s" % (pos[0], pos[1])
        pr = rev.start(["--start-at", start])
        deadline = time.time() + 60
        while phase(a, state, "rev") != "streaming" and time.time() < deadline:
            time.sleep(0.2)
        check("two-way: both directions streaming",
              phase(b, state, "fwd") == "streaming" and phase(a, state, "rev") == "streaming",
              fwd.tail() + rev.tail())
        fwd0, rev0 = state_txns(b, state, "fwd"), state_txns(a, state, "rev")
        mk0 = marker_txns(b, state, "fwd")
        wa = TwWriter(a, 100000, 199999, "a", 1)
        wb = TwWriter(b, 200000, 299999, "b", 2)
        wa.start()
        wb.start()
        time.sleep(12)
        wa.stop()
        wb.stop()
        print("# two-way: MariaDB writers committed %d, MySQL writers %d transactions"
              % (wa.committed, wb.committed), flush=True)
        # converge: both sides equal and both state rows still
        deadline = time.time() + 120
        same = False
        while time.time() < deadline:
            da, db_ = dump_acct(a), dump_acct(b)
            if da == db_ and state_txns(b, state, "fwd") - fwd0 >= wa.committed and \
                    state_txns(a, state, "rev") - rev0 >= wb.committed:
                same = True
                break
            time.sleep(1)
        time.sleep(3)  # anything echoing would show up now
        da, db_ = dump_acct(a), dump_acct(b)
        check("two-way: both sides converge (%d rows, dumped by each server)" % len(da),
              same and da == db_ and len(da) > 500,
              "%d vs %d rows\n%s\n%s" % (len(da), len(db_), fwd.tail(800), rev.tail(800)))
        fwd_n = state_txns(b, state, "fwd") - fwd0
        rev_n = state_txns(a, state, "rev") - rev0
        check("two-way: the forward applied exactly the MariaDB writers' transactions "
              "(%d of %d): no echo" % (fwd_n, wa.committed), fwd_n == wa.committed)
        check("two-way: the reverse applied exactly the MySQL writers' transactions "
              "(%d of %d): no echo" % (rev_n, wb.committed), rev_n == wb.committed)
        tagged = marker_txns(b, state, "fwd") - mk0
        check("two-way: the forward's %d marker-tagged transactions on MySQL reached the "
              "reverse's stream and none was re-applied" % tagged, tagged > 0 and rev_n == wb.committed)
        side_a = a.sql("SELECT COUNT(*) FROM acct WHERE side = 'a'")[0][0]
        side_b = b.sql("SELECT COUNT(*) FROM acct WHERE side = 'b'")[0][0]
        check("two-way: writes of each side present on the other", int(side_a) > 0 and
              int(side_b) > 0 and a.sql("SELECT COUNT(*) FROM acct WHERE side = 'b'")[0][0] == side_b,
              "%s %s" % (side_a, side_b))
        v = fwd.cmd("verify")
        check("two-way: verify (forward) says identical", v.returncode == 0 and
              "verify: identical" in v.stdout, v.stdout + v.stderr)
        # the reverse's checkpoint moves past the dropped transactions: it
        # reaches MySQL's position of now (other sessions write there too)
        pos = b.sql("SHOW BINARY LOG STATUS", db=False)[0]
        want = (pos[0], int(pos[1]))
        deadline = time.time() + 30
        got = None
        while time.time() < deadline:
            st = rev.cmd("status")
            m = re.search(r"checkpoint: cdc1:file=([^;]+);pos=(\d+)", st.stdout)
            got = (m.group(1), int(m.group(2))) if m else None
            if got and got >= want:
                break
            time.sleep(0.5)
        check("two-way: the reverse's checkpoint passes MySQL's position %s:%d (tagged "
              "transactions skipped, not stuck)" % want, got is not None and got >= want,
              "at %s" % (got,))
    finally:
        for p in (pf, pr):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
        for s in (a, b):
            s.sql("DROP DATABASE IF EXISTS migmy_tw; DROP DATABASE IF EXISTS %s" % state, db=False)
        b.sql("DROP USER IF EXISTS '%s'@'%%'" % TGT_USER, db=False)
        for f in (logf, logr):
            if os.path.exists(f):
                if checks.failed and os.environ.get("CDC_MIGRATE_KEEP"):
                    print("# kept " + f)
                else:
                    os.unlink(f)


def main():
    if not checks.have_testenv():
        return 1
    t0 = time.time()
    for c in CASES:
        try:
            {"mysql-mariadb": case_mysql_mariadb, "mariadb-mysql": case_mariadb_mysql,
             "twoway": case_twoway, "dead-letters": case_dead_letters}[c]()
        except Exception as e:  # a broken case fails loudly, the others still run
            check("%s: ran to the end" % c, False, repr(e))
        print("# %s done at %.0fs" % (c, time.time() - t0), flush=True)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
