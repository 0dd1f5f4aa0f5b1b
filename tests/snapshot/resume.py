#!/usr/bin/env python3
"""A snapshot killed (-9) again and again and restarted from its checkpoint
file converges to the source, and DDL during a snapshot is handled as
docs/snapshot.md says.

usage: resume.py CDC_BINARY [--rows N] [--kills N] [--pauses N [--only-pauses]]

On each server (MariaDB, MySQL), while writers insert, update and delete
rows of every captured table without pause:

  kill   `cdc stream --snapshot initial --checkpoint-file F` runs with stdout
         to a file of its own and is killed with SIGKILL once it has
         written a random number of snapshot rows, then started again from
         F, with a random snapshot.parallelism (1 or 4) each time. The
         kills follow the snapshot's own output, not the clock: each run
         gets at most 1/(kills still wanted + 1) of the rows left, so
         --kills (default 10) runs die inside the snapshot however fast the
         server reads (fewer is a failure); then one run finishes it and is
         killed while it streams. The writers stop and a last run streams
         to `--stop-at now`. The lines of all runs applied in order, idempotently by
         primary key (r/c/u set the row, d removes it), must equal SELECT
         of every table: no row lost. Rows that come again after a restart
         are counted for each killed run: they must stay within the bound
         docs/snapshot.md states (parallelism x snapshot.chunk.rows, plus
         the rows of a table read in one pass that was under way). Tables:
         an integer key split into ranges, a composite text key, a key the
         snapshot cannot page (ENUM, read in one pass), a small one.
  ddl    with a run blocked on a pipe nobody reads (the snapshot under way,
         its read views open), ALTER TABLE on the table being read and on
         one not read yet must both wait for the snapshot (lock_wait_timeout
         ends them with error 1205); every row has the old columns, the
         count matches; after the run the same ALTER goes through.

  pauses (only with --pauses N; tests/snapshot/soak.sh) a stream
         (tests/snapshot/pause_stream, built beside the tests) pauses its
         callback at about N random snapshot rows and goes on each time,
         and another never pauses, both under the writers: the state each
         rebuilds from its lines (snapshot, then changes) equals SELECT
         after the writers stopped, no snapshot row comes twice.

The checks hold the rebuilt state as one hash per key, so 5,000,000 rows
fit in about 1 GB of the test's memory. SNAPRES_TEST_DB names the database
(default snapres_resume), CDC_TEST_SERVER_ID_OFFSET is added to the
replication server ids (tests/snapshot/soak.sh sets both).
Peak RSS of every run is reported and must stay under 256 MiB (1 GiB for
a sanitizer build, whose shadow memory and quarantine dominate). Ends with "N passed, N failed". Needs the servers of
tests/servers/testenv.sh; fails, never skips, without them.
"""
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "differential"))
import run as diff  # noqa: E402  (its Server runs SQL through testenv.sh)

DB = os.environ.get("SNAPRES_TEST_DB", "snapres_resume")  # another name lets two runs share a server
# added to every replication server id, so that runs beside other sessions'
# streams never share one (the server ends the older connection of an id)
SID = int(os.environ.get("CDC_TEST_SERVER_ID_OFFSET", "0"))
CHUNK = 1000
RSS_LIMIT_KB = 256 * 1024
TABLES = {
    # name: (create, key columns)
    "big": ("CREATE TABLE big (id INT PRIMARY KEY, v BIGINT NOT NULL, s VARCHAR(40) NOT NULL)", ("id",)),
    "ck": ("CREATE TABLE ck (k1 VARCHAR(10) NOT NULL, k2 INT NOT NULL, v INT, PRIMARY KEY (k1, k2))",
           ("k1", "k2")),
    "ek": ("CREATE TABLE ek (e ENUM('x','y','z') NOT NULL, n INT NOT NULL, v INT, PRIMARY KEY (e, n))",
           ("e", "n")),
    "small": ("CREATE TABLE small (id INT PRIMARY KEY, v INT)", ("id",)),
}


class Writer(threading.Thread):
    """One client session fed random autocommit changes and small
    transactions on every table until stop()."""

    def __init__(self, server, seed, nbig):
        super().__init__(daemon=True)
        cmd = [server.testenv, server.flavor, "--batch", "--skip-column-names", DB]
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        self.rnd = random.Random(seed)
        self.halt = threading.Event()
        self.ops = 0
        self.nbig = nbig

    def stmt(self):
        r, n = self.rnd, self.ops
        k = r.randrange(self.nbig * 2)
        c = r.randrange(12)
        if c < 2:
            return "INSERT IGNORE INTO big VALUES (%d, %d, 'ins-%d');" % (k, r.randrange(10**6), n)
        if c < 4:
            return "UPDATE big SET v = v + 1, s = 'upd-%d' WHERE id = %d;" % (n, k)
        if c < 5:
            return "DELETE FROM big WHERE id = %d;" % k
        if c < 7:
            return ("INSERT INTO ck VALUES ('k%d', %d, %d) ON DUPLICATE KEY UPDATE v = v + 1;"
                    % (r.randrange(40), r.randrange(1000), n))
        if c < 8:
            return "DELETE FROM ck WHERE k1 = 'k%d' AND k2 = %d;" % (r.randrange(40), r.randrange(1000))
        if c < 10:
            return ("INSERT INTO ek VALUES ('%s', %d, %d) ON DUPLICATE KEY UPDATE v = v + 1;"
                    % (r.choice("xyz"), r.randrange(3000), n))
        if c < 11:
            return "UPDATE small SET v = v + 1 WHERE id = %d;" % r.randrange(50)
        return ("BEGIN; DELETE FROM big WHERE id = %d; INSERT IGNORE INTO big VALUES (%d, 7, 'txn-%d');"
                " UPDATE big SET v = v * 2 WHERE id BETWEEN %d AND %d; COMMIT;" % (k, k, n, k, k + 9))

    def run(self):
        while not self.halt.is_set():
            self.p.stdin.write((self.stmt() + "\n").encode())
            self.p.stdin.flush()
            self.ops += 1
            time.sleep(0.001)

    def stop(self):
        self.halt.set()
        self.join()
        self.p.stdin.close()
        if self.p.wait() != 0:
            raise RuntimeError("writer failed: " + self.p.stderr.read().decode()[-500:])


def base_cmd(binary, flavor, server_id):
    port = os.environ["CDC_TEST_%s_PORT" % flavor.upper()]
    return [binary, "stream", "--host", "127.0.0.1", "--port", port, "--user", "root",
            "--ssl-mode", "required", "--server-id", str(server_id), "--tables", DB + ".*"]


def env():
    return dict(os.environ, CDC_PASSWORD=os.environ["CDC_TEST_PASSWORD"])


def hwm_kb(pid):
    """VmHWM of a running process (KiB), 0 when it cannot be read."""
    try:
        with open("/proc/%d/status" % pid) as st:
            for l in st:
                if l.startswith("VmHWM:"):
                    return int(l.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def wait_rss(p, block=True):
    """Reaps p (waiting for it when block); returns (exit status, peak RSS
    in KiB), or None when it still runs. The peak is VmHWM sampled while
    it runs (on every call, every 20 ms while blocking), not the rusage's
    ru_maxrss: Linux keeps that across exec, so a child forked from this
    test, which holds every run's lines, would report the test's size."""
    if p.returncode is not None:
        return p.returncode, getattr(p, "hwm", 0)
    while True:
        p.hwm = max(getattr(p, "hwm", 0), hwm_kb(p.pid))
        pid, status, _ = os.wait4(p.pid, os.WNOHANG)
        if pid != 0:
            p.returncode = os.waitstatus_to_exitcode(status)
            return p.returncode, p.hwm
        if not block:
            return None
        time.sleep(0.02)


def rss_limit_kb(binary):
    """256 MiB; a sanitizer build's shadow memory and quarantine take far
    more whatever the library does, so there the limit is 1 GiB."""
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    return 1024 * 1024 if ("libasan" in ldd or "libubsan" in ldd) else RSS_LIMIT_KB


def lines_of(path):
    """The JSON lines of one run's output, one at a time; a last line
    without its newline (cut by the kill) is incomplete and dropped, as
    docs/stream.md says."""
    with open(path, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                return
            if raw.strip():
                yield json.loads(raw)


def key_of(row, table):
    """A row's key as one string (table and key values): millions of them
    are held at once, so no tuples."""
    return "\x1f".join([table] + [str(row[c]) for c in TABLES[table][1]])


def row_hash(row):
    """The row's values (as text; NULL as None) reduced to one integer: the
    state of a 5,000,000-row table must fit in memory beside the test."""
    return hash(tuple(sorted((c, None if v is None else str(v)) for c, v in row.items())))


class Rebuild:
    """The state the lines of all runs give, applied in order idempotently by
    primary key (r/c/u set the row, a u that changes the key removes the old
    one, d removes it): key -> row_hash. Also counts, for each run, its op r
    rows that a later run read again (again), op r rows one run delivered
    twice (twice) and its rows of the one-pass table ek (onepass)."""

    def __init__(self):
        self.state = {}
        self.last_run = {}
        self.again, self.onepass, self.snap = [], [], []
        self.twice = 0

    def apply(self, path, run):
        while len(self.again) <= run:
            self.again.append(0)
            self.onepass.append(0)
            self.snap.append(0)
        for l in lines_of(path):
            t, op = l["table"], l["op"]
            if op in ("r", "c", "u"):
                if op == "u":
                    self.state.pop(key_of(l["before"], t), None)
                k = key_of(l["after"], t)
                self.state[k] = row_hash(l["after"])
                if op == "r":
                    self.snap[run] += 1
                    if t == "ek":
                        self.onepass[run] += 1
                    prev = self.last_run.get(k)
                    if prev == run:
                        self.twice += 1
                    elif prev is not None:
                        self.again[prev] += 1
                    self.last_run[k] = run
            elif op == "d":
                self.state.pop(key_of(l["before"], t), None)

    def compare(self, final, paths):
        """Problems (empty when the state equals SELECT's final)."""
        if self.state == final:
            return []
        diffs = sorted(k for k in set(self.state) | set(final) if self.state.get(k) != final.get(k))
        lost = [k for k in diffs if k in final and k not in self.state]
        out = ["%d rows differ from SELECT, e.g. %r (%s); its lines: %s" % (
            len(diffs), diffs[0], "missing" if diffs[0] in lost else "extra" if diffs[0] not in final
            else "other values", history(paths, diffs[0]))]
        if lost:
            out.append("%d rows of SELECT never delivered (lost), e.g. %s" % (len(lost), lost[:3]))
        return out


def history(paths, key):
    """The last lines of all runs that touch key (for a failure's report)."""
    t = key.split("\x1f")[0]
    hits = []
    for i, p in enumerate(paths):
        for l in lines_of(p):
            if l["table"] == t and key in (l["before"] and key_of(l["before"], t), l["after"] and key_of(l["after"], t)):
                hits.append("run %d: %s" % (i, json.dumps(l)))
    return hits[-6:]


class Checker:
    def __init__(self):
        self.passed = self.failed = 0

    def result(self, name, problems, notes=()):
        for n in notes:
            print("  " + n)
        for p in problems[:12]:
            print("  problem: " + p)
        if problems:
            self.failed += 1
            print("[  FAILED  ] " + name)
        else:
            self.passed += 1
            print("[       OK ] " + name)
        sys.stdout.flush()


def load(srv, nbig):
    srv.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s;" % (DB, DB))
    srv.sql(";\n".join(c for c, _ in TABLES.values()) + ";", db=DB)
    step = 20000
    sql = ["SET SESSION max_recursive_iterations = 100000000;" if srv.flavor == "mariadb"
           else "SET SESSION cte_max_recursion_depth = 100000000;"]
    for lo in range(0, nbig, step):
        hi = min(nbig, lo + step) - 1
        sql.append("INSERT INTO big WITH RECURSIVE q(n) AS (SELECT %d UNION ALL SELECT n + 1 FROM q WHERE n < %d)"
                   " SELECT 2 * n, n * 3, CONCAT('row-', n, REPEAT('x', n %% 20)) FROM q;" % (lo, hi))
    sql.append("INSERT INTO ck WITH RECURSIVE q(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM q WHERE n < 29999)"
               " SELECT CONCAT('k', n % 40), n, n FROM q;")
    sql.append("INSERT INTO ek WITH RECURSIVE q(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM q WHERE n < 5999)"
               " SELECT ELT(1 + n % 3, 'x', 'y', 'z'), n, n FROM q;")
    sql.append("INSERT INTO small WITH RECURSIVE q(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM q WHERE n < 49)"
               " SELECT n, n FROM q;")
    sql.append("ANALYZE TABLE big, ck, ek, small;")
    srv.sql("\n".join(sql), db=DB)


def select_state(srv):
    """SELECT of every table as key -> row_hash, read as the client prints
    it (one row at a time: the big table has millions)."""
    state = {}
    for t in TABLES:
        cols = [r[0] for r in srv.sql("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s'"
                                      " AND TABLE_NAME = '%s' ORDER BY ORDINAL_POSITION" % (DB, t))]
        cmd = [srv.testenv, srv.flavor, "--batch", "--skip-column-names", "--quick",
               "--default-character-set=utf8mb4", DB, "-e", "SELECT * FROM %s" % t]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for line in p.stdout:
            vals = line.decode("utf-8").rstrip("\n").split("\t")
            row = dict(zip(cols, (None if v == "NULL" else v for v in vals)))
            state[key_of(row, t)] = row_hash(row)
        err = p.stderr.read()
        if p.wait() != 0:
            raise RuntimeError("SELECT * FROM %s failed: %s" % (t, err.decode()[-500:]))
    return state


def kill_rounds(binary, flavor, nbig, kills, seed, chk):
    name = "resume/%s/kill9" % flavor
    rnd = random.Random(seed)
    srv = diff.Server(flavor)
    load(srv, nbig)
    w = Writer(srv, seed, nbig)
    w.start()
    problems, notes, runs = [], [], []
    died_in_snapshot, died_after, peak_rss = 0, 0, 0
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        ck = os.path.join(tmp, "checkpoint")
        total_rows = nbig + 30000 + 6000 + 50
        # Kills are placed by the snapshot's own output, not by time: each
        # run is killed after a random number of its snapshot rows, at most
        # 1/(kills still wanted + 1) of the rows left (by the rows earlier
        # runs delivered, less what a restart reads again), so that every
        # one lands inside the snapshot however fast the server reads. Once
        # enough did, a run finishes the snapshot and is killed while it
        # streams changes.
        left = total_rows
        for r in range(kills * 3 + 10):
            par = rnd.choice([1, 4])
            out = os.path.join(tmp, "out.%d" % r)
            cmd = base_cmd(binary, flavor, SID + 5100 + r % 50) + [
                "--snapshot", "initial", "--checkpoint-file", ck,
                "--set", "snapshot.parallelism=%d" % par, "--set", "snapshot.chunk.rows=%d" % CHUNK]
            want = kills - died_in_snapshot
            target = None
            if want > 0:
                hi = max(left // (want + 1), 4 * CHUNK)
                target = rnd.randrange(hi // 4, hi)
            with open(out, "wb") as f, open(out + ".err", "wb") as e:
                p = subprocess.Popen(cmd, stdout=f, stderr=e, env=env())
            deadline = time.time() + 1800
            n, off = 0, 0
            while time.time() < deadline:
                time.sleep(0.005)
                if wait_rss(p, block=False) is not None:
                    break
                with open(out, "rb") as f:  # only what came since the last look: a big table's output is large
                    f.seek(off)
                    data = f.read()
                off += len(data)
                n += data.count(b"\n")  # all op r while the snapshot runs
                if target is not None and n >= target:
                    break
                if target is None and os.path.exists(ck) and ";snap=" not in open(ck).read():
                    time.sleep(0.3)  # the snapshot is done: a few changes, then the kill
                    break
            if p.returncode is None:
                p.send_signal(signal.SIGKILL)
            rc, rss = wait_rss(p)
            peak_rss = max(peak_rss, rss)
            after = open(ck).read().strip() if os.path.exists(ck) else ""
            in_snap = ";snap=" in after or not after
            runs.append({"par": par, "path": out, "target": target, "in_snap": in_snap})
            left -= max(0, n - par * CHUNK)
            if rc != -signal.SIGKILL:
                problems.append("run %d ended by itself (%d): %s" % (r, rc, open(out + ".err").read()[-300:]))
                break
            if in_snap:
                died_in_snapshot += 1
            else:
                died_after += 1
                if died_in_snapshot < kills:
                    problems.append("run %d (to be killed after %s snapshot rows) finished the snapshot first"
                                    % (r, target))
                break
        snapshot_s = time.time() - t0
        ops = w.ops
        w.stop()
        # the last run: the rest of the snapshot if any, then the changes up to now
        out = os.path.join(tmp, "out.final")
        cmd = base_cmd(binary, flavor, SID + 5199) + ["--snapshot", "initial", "--checkpoint-file", ck,
                                                      "--stop-at", "now", "--set", "snapshot.chunk.rows=%d" % CHUNK]
        with open(out, "wb") as f, open(out + ".err", "wb") as e:
            p = subprocess.Popen(cmd, stdout=f, stderr=e, env=env())
        rc, rss = wait_rss(p)
        peak_rss = max(peak_rss, rss)
        if rc != 0:
            problems.append("the last run exited %d: %s" % (rc, open(out + ".err").read()[-500:]))
        runs.append({"par": 1, "path": out, "target": None, "in_snap": False})

        # every run's lines, in order, applied idempotently by key
        rb = Rebuild()
        for i, run in enumerate(runs):
            rb.apply(run["path"], i)
        final = select_state(srv)
        problems += rb.compare(final, [run["path"] for run in runs])

    # duplicates: rows a killed run delivered that a later run read again
    worst, worst_bound = 0, 0
    for i, run in enumerate(runs[:-1]):
        bound = run["par"] * CHUNK + rb.onepass[i]
        if rb.again[i] > worst:
            worst, worst_bound = rb.again[i], bound
        if rb.again[i] > bound:
            problems.append("run %d (parallelism %d): %d rows read again after the restart, above the bound %d" % (
                i, run["par"], rb.again[i], bound))
    if rb.twice:
        problems.append("%d snapshot rows delivered twice by one run" % rb.twice)
    if died_in_snapshot < kills:
        problems.append("only %d runs died inside the snapshot (wanted %d)" % (died_in_snapshot, kills))
    if peak_rss > rss_limit_kb(binary):
        problems.append("peak RSS %d KiB above %d KiB" % (peak_rss, rss_limit_kb(binary)))
    notes.append("%d runs, %d killed inside the snapshot (after %s of their rows), %d after it; %d writer statements,"
                 " %.1f s; %d snapshot lines for %d rows at the end (the rest repeats and rows deleted since); rows"
                 " read again per killed run %s; most: %d (bound for that run %d); peak RSS %d MiB" % (
                     len(runs), died_in_snapshot, [run["target"] for run in runs if run["in_snap"]], died_after,
                     ops, snapshot_s, sum(rb.snap), len(final), rb.again[:len(runs) - 1], worst, worst_bound,
                     peak_rss // 1024))
    chk.result(name, problems, notes)
    srv.sql("DROP DATABASE IF EXISTS %s" % DB)


def pause_round(binary, flavor, nbig, pauses, seed, chk):
    """One stream (tests/snapshot/pause_stream: the snapshot, then the
    binlog) that pauses about `pauses` times at random snapshot rows, and
    one that never pauses, both under the writers: the state each rebuilds
    (snapshot rows, then the changes after its point) equals SELECT once
    the writers stopped and a last row was streamed."""
    name = "resume/%s/pauses" % flavor
    srv = diff.Server(flavor)
    load(srv, nbig)
    helper = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(binary))), "..", "tests", "pause_stream")
    helper = os.path.normpath(helper)
    port = os.environ["CDC_TEST_%s_PORT" % flavor.upper()]
    total_rows = nbig + 30000 + 6000 + 50
    problems, notes = [], []
    rnd = random.Random(seed)
    for want in (pauses, 0):
        w = Writer(srv, seed + want, nbig)
        w.start()
        par = rnd.choice([1, 4])
        t0 = time.time()
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out")
            cmd = [helper, str(want), str(total_rows), str(seed), "host=127.0.0.1", "port=" + port, "user=root",
                   "ssl.mode=required", "server.id=%d" % (SID + 6000 + rnd.randrange(2000)), "table.include.list=%s.*" % DB,
                   "snapshot.mode=initial", "snapshot.parallelism=%d" % par, "snapshot.chunk.rows=%d" % CHUNK]
            with open(out, "wb") as f, open(out + ".err", "wb") as e:
                p = subprocess.Popen(cmd, stdout=f, stderr=e, env=env())

            pos = [0]

            def seen(pred):
                """pred true of a line written since the last call (complete lines only)."""
                with open(out, "rb") as f:
                    f.seek(pos[0])
                    data = f.read()
                end = data.rfind(b"\n") + 1
                pos[0] += end
                for raw in data[:end].split(b"\n"):
                    if raw.strip() and not raw.startswith(b'{"op":"r"') and pred(json.loads(raw)):
                        return True
                return False

            deadline = time.time() + 3600
            while time.time() < deadline and wait_rss(p, block=False) is None:
                time.sleep(1.0)
                if seen(lambda l: l["op"] != "r"):
                    break  # the snapshot is done: changes stream
            snap_s = time.time() - t0
            ops = w.ops
            w.stop()
            sentinel = 900000 + (1 if want else 0)
            srv.sql("INSERT INTO small VALUES (%d, 0)" % sentinel, db=DB)
            while time.time() < deadline and wait_rss(p, block=False) is None:
                if seen(lambda l: l["table"] == "small" and l["op"] == "c" and l["after"]["id"] == sentinel):
                    break
                time.sleep(0.5)
            if p.returncode is None:
                p.send_signal(signal.SIGINT)
            rc, rss = wait_rss(p)
            err = open(out + ".err").read()
            if rc != 0:
                problems.append("pauses %d: pause_stream exited %d: %s" % (want, rc, err[-500:]))
            rb = Rebuild()
            rb.apply(out, 0)
            final = select_state(srv)
            equal = rb.state == final
            problems += ["pauses %d: %s" % (want, x) for x in rb.compare(final, [out])]
        if rb.twice:
            problems.append("pauses %d: %d snapshot rows delivered twice" % (want, rb.twice))
        snap = rb.snap
        got = [x for x in err.split("\n") if x.startswith("pauses ")]
        n_paused = int(got[-1].split()[1].rstrip(",")) if got else -1
        if want and n_paused < pauses:
            problems.append("only %d pauses (wanted %d)" % (n_paused, pauses))
        notes.append("%s: parallelism %d, %d snapshot rows, %d pauses, snapshot %.1f s, %d writer statements, "
                     "%d rows at the end equal SELECT: %s; peak RSS %d MiB" % (
                         "paused" if want else "unpaused", par, snap[0], n_paused, snap_s, ops, len(final),
                         "yes" if equal else "NO", rss // 1024))
        if rss > rss_limit_kb(binary):
            problems.append("peak RSS %d KiB above %d KiB" % (rss, rss_limit_kb(binary)))
    chk.result(name, problems, notes)
    srv.sql("DROP DATABASE IF EXISTS %s" % DB)


def ddl_round(binary, flavor, chk):
    name = "resume/%s/ddl_waits" % flavor
    srv = diff.Server(flavor)
    srv.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s;" % (DB, DB))
    srv.sql("CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(64) NOT NULL); CREATE TABLE z (id INT PRIMARY KEY, w INT);"
            "SET SESSION %s = 100000000;"
            "INSERT INTO a WITH RECURSIVE q(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM q WHERE n < 59999)"
            " SELECT n, CONCAT('value-', n, REPEAT('v', 40)) FROM q;"
            "INSERT INTO z VALUES (1, 1), (2, 2); ANALYZE TABLE a, z;"
            % ("max_recursive_iterations" if flavor == "mariadb" else "cte_max_recursion_depth"), db=DB)
    problems, notes = [], []
    # a is larger, so it is read first; z is captured but not read yet
    cmd = base_cmd(binary, flavor, SID + 5200) + ["--snapshot", "initial_only", "--set", "snapshot.chunk.rows=500",
                                            "--set", "snapshot.parallelism=2"]
    errf = tempfile.TemporaryFile()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, env=env())
    try:
        ddl_check(srv, p, errf, problems, notes)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    chk.result(name, problems, notes)
    srv.sql("DROP DATABASE IF EXISTS %s" % DB)


def ddl_check(srv, p, errf, problems, notes):
    first = [p.stdout.readline() for _ in range(100)]
    time.sleep(0.5)  # the pipe and the CLI's buffer fill; the snapshot waits with its read views open
    for t, alter in (("a", "ALTER TABLE a ADD COLUMN extra INT DEFAULT 5"),
                     ("z", "ALTER TABLE z ADD COLUMN extra INT DEFAULT 5")):
        cl = subprocess.run([srv.testenv, srv.flavor, DB], input=("SET SESSION lock_wait_timeout = 2; %s;" % alter)
                            .encode(), capture_output=True)
        err = cl.stderr.decode()
        if cl.returncode == 0 or "1205" not in err:
            problems.append("%s during the snapshot: exit %d, %r (wanted error 1205, lock wait timeout)" % (
                alter, cl.returncode, err[-200:]))
        else:
            notes.append("%s during the snapshot: waits (%s)" % (alter, err.strip().splitlines()[-1][:80]))
    rest = p.stdout.read()  # not communicate(): it would skip what readline() buffered
    p.wait(timeout=300)
    errf.seek(0)
    errs = errf.read()
    lines = [json.loads(l) for l in first + rest.splitlines() if l.strip()]
    if p.returncode != 0:
        problems.append("the run exited %d: %s" % (p.returncode, errs.decode()[-300:]))
    # progress on stderr (not a terminal: plain lines), the last one at the end
    prog = [l for l in errs.decode().splitlines() if l.startswith("cdc stream: snapshot ")]
    if not prog or "rows/s, ETA" not in prog[0] or not prog[-1].startswith("cdc stream: snapshot 100.0%") \
            or "2 of 2 tables done" not in prog[-1]:
        problems.append("progress lines on stderr: %r" % prog[-3:])
    else:
        notes.append("progress: %s" % prog[-1])
    cols = {"a": {"id", "v"}, "z": {"id", "w"}}
    bad = [l for l in lines if set(l["after"]) != cols[l["table"]]]
    if bad:
        problems.append("%d rows with other columns, e.g. %s" % (len(bad), bad[0]))
    want = int(srv.sql("SELECT (SELECT COUNT(*) FROM a) + (SELECT COUNT(*) FROM z)", db=DB)[0][0])
    if len(lines) != want:
        problems.append("%d rows, SELECT COUNT(*) says %d" % (len(lines), want))
    try:
        srv.sql("SET SESSION lock_wait_timeout = 10; ALTER TABLE a ADD COLUMN extra INT DEFAULT 5;", db=DB)
        notes.append("after the snapshot the ALTER goes through")
    except RuntimeError as e:
        problems.append("ALTER after the snapshot failed: %s" % e)


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    binary, rows, kills, pauses, only_pauses = args[0], 100000, 10, 0, False
    i = 1
    while i < len(args):
        if args[i] == "--rows":
            rows = int(args[i + 1])
        elif args[i] == "--kills":
            kills = int(args[i + 1])
        elif args[i] == "--pauses":
            pauses = int(args[i + 1])
        elif args[i] == "--only-pauses":
            only_pauses, i = True, i - 1
        else:
            print(__doc__, file=sys.stderr)
            sys.exit(2)
        i += 2
    seed = int(os.environ.get("CDC_TEST_SEED", time.time()))
    print("seed %d (CDC_TEST_SEED to repeat)" % seed)
    chk = Checker()
    for k, flavor in enumerate(("mariadb", "mysql")):
        if pauses:
            try:
                pause_round(binary, flavor, rows, pauses, seed + k, chk)
            except Exception as e:  # noqa: BLE001
                chk.result("resume/%s/pauses" % flavor, ["%s: %s" % (type(e).__name__, e)])
        if only_pauses:
            continue
        try:
            ddl_round(binary, flavor, chk)
        except Exception as e:  # noqa: BLE001  (a crash of the test is a failure, with its reason)
            chk.result("resume/%s/ddl_waits" % flavor, ["%s: %s" % (type(e).__name__, e)])
        try:
            kill_rounds(binary, flavor, rows, kills, seed + k, chk)
        except Exception as e:  # noqa: BLE001
            chk.result("resume/%s/kill9" % flavor, ["%s: %s" % (type(e).__name__, e)])
    print("%d passed, %d failed" % (chk.passed, chk.failed))
    sys.exit(1 if chk.failed else 0)


if __name__ == "__main__":
    main()
