#!/usr/bin/env python3
"""cdc-migrate verify continues an interrupted run after its last completed
chunk, and its final report is the whole run's.

usage: verify_resume.py CDC_MIGRATE [mysql:pg mariadb:my ...]

For each SOURCE:TARGET pair (default: MySQL 9.7 into a PostgreSQL 15 this
script starts, MariaDB 10.11 into a MariaDB server of its own), three tables
(a BIGINT-keyed one of many chunks, a smaller one, and one with a VARCHAR
key, verified as one chunk) are copied with `run --stop-at now`; then four
differences are planted on the target (a changed value, a deleted row, an
extra row, a changed value in the VARCHAR-keyed table), each confirmed by the
target's own SELECT. The target logs every statement it receives
(PostgreSQL's log_statement, MariaDB's general log).

1. An uninterrupted `verify --restart` must exit 4 listing exactly the four
   planted keys.
2. A new run (`verify --restart`) is killed with SIGKILL at random moments,
   then `verify` (no option: it resumes) again and again until one ends.
   At least three kills must land while verify runs. After each kill the
   target's cdc_migrate.verify_table rows give each table's last completed
   chunk; the next invocation must say on stderr that it resumes from
   exactly there, and the target's statement log of that invocation must
   show no digest of a chunk at or below that key (and none at all of a
   table recorded as finished), and its first digest of the table must
   start at that key. The last invocation must exit 4 listing exactly the
   planted keys (found before and after the interruptions), and report
   the whole run's chunks (as many as the uninterrupted run's) and source
   rows (the source's SELECT COUNT(*)).
3. A verify after a finished run starts a new run (no "resuming").
Ends with "N passed, N failed". Fails, never skips, without the servers.
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
from checks import Checks  # noqa: E402
import workload  # noqa: E402
from pgserver import PG  # noqa: E402
from myserver import MyServer, PASSWORD as OWN_PW  # noqa: E402

MIGRATE = os.path.abspath(sys.argv[1])
PAIRS = sys.argv[2:] or ["mysql:pg", "mariadb:my"]
BIG = int(os.environ.get("CDC_VRESUME_ROWS", "24000"))
MID = BIG // 3
CHUNK = 200
KILLS = 3
DB = "vresume_db"
checks = Checks()
check = checks.check
rnd = random.Random(int(os.environ.get("CDC_VRESUME_SEED", str(int(time.time())))))


def env():
    e = dict(os.environ)
    e["CDC_MIGRATE_SOURCE_PASSWORD"] = os.environ["CDC_TEST_PASSWORD"]
    e["CDC_MIGRATE_TARGET_PASSWORD"] = OWN_PW
    return e


class PgTarget:
    """PostgreSQL, statements logged to its postgres.log."""
    kind = "pg"

    def __init__(self):
        self.pg = PG()
        self.pg.sql("postgres", "CREATE DATABASE vresume")
        self.pg.sql("postgres", "ALTER SYSTEM SET log_statement = 'all'")
        self.pg.sql("postgres", "SELECT pg_reload_conf()")
        self.log = os.path.join(self.pg.dir, "postgres.log")

    def dsn(self):
        return self.pg.dsn("vresume")

    def sql(self, q):
        return self.pg.sql("vresume", q)

    def tbl(self, t):
        return '"%s".%s' % (DB, t)

    def cleanup(self):
        checks.finish(self.pg, "CDC_VRESUME_KEEP")


class MyTarget:
    """A MariaDB server of the test's own, with its general log on."""
    kind = "my"

    def __init__(self):
        self.srv = MyServer()
        self.log = os.path.join(self.srv.dir, "general.log")
        self.srv.root_sql("SET GLOBAL general_log_file = '%s'; SET GLOBAL general_log = 1"
                          % self.log)

    def dsn(self):
        return self.srv.url()

    def sql(self, q):
        r = subprocess.run(self.srv.cli(), input=q.encode(), capture_output=True)
        if r.returncode:
            raise RuntimeError("target: %s: %s" % (q[:200], r.stderr.decode()[-500:]))
        return [[None if v == "NULL" else v for v in line.split("\t")]
                for line in r.stdout.decode().split("\n") if line]

    def tbl(self, t):
        return "`%s`.`%s`" % (DB, t)

    def cleanup(self):
        checks.finish(self.srv, "CDC_VRESUME_KEEP")


def log_size(tg):
    try:
        return os.path.getsize(tg.log)
    except OSError:
        return 0


DIGEST = re.compile(r"sha2|sha256", re.I)
LO = re.compile(r"""[`"]?id[`"]? > (-?\d+)""")
HI = re.compile(r"""[`"]?id[`"]? <= (-?\d+)""")


def digests(tg, start, end):
    """(table, lo, hi) of each chunk digest the target received in the log's
    bytes [start, end): lo/hi None when unbounded."""
    with open(tg.log, "rb") as f:
        f.seek(start)
        text = f.read(end - start).decode("utf-8", "replace")
    out = []
    for line in text.split("\n"):
        if not DIGEST.search(line):
            continue
        m = re.search(r"""FROM [`"]?%s[`"]?\.[`"]?(vr_\w+)[`"]?""" % DB, line)
        if not m:
            continue
        lo, hi = LO.search(line), HI.search(line)
        out.append((m.group(1), int(lo.group(1)) if lo else None,
                    int(hi.group(1)) if hi else None))
    return out


def report(stdout):
    return sorted(re.findall(r"verify: (\S+) key \((.*?)\): (.+)", stdout))


def progress(tg):
    """(unfinished run?, {table: (last_hi or None, finished)}) as the
    target's verify_run and verify_table rows say."""
    run = tg.sql("SELECT finished FROM cdc_migrate.verify_run WHERE name = '%s'" % DB)
    rows = tg.sql("SELECT tbl, last_hi, finished FROM cdc_migrate.verify_table "
                  "WHERE name = '%s'" % DB)
    return (bool(run) and run[0][0] == "0",
            {r[0]: (int(r[1]) if r[1] is not None else None, int(r[2])) for r in rows})


def main():
    if not checks.have_testenv():
        return 1
    for pair in PAIRS:
        flavor, kind = pair.split(":")
        tg = PgTarget() if kind == "pg" else MyTarget()
        try:
            run(flavor, tg, "%s -> %s" % (flavor, "PostgreSQL" if kind == "pg" else "MariaDB"))
        finally:
            tg.cleanup()
    return checks.summary()


def run(flavor, tg, label):
    src = workload.Source(flavor, DB)
    src.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s CHARACTER SET utf8mb4;" % (DB, DB),
            db=False)
    src.sql("CREATE TABLE vr_big (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(40), d DECIMAL(20,6),"
            " t DATETIME(6)) CHARACTER SET utf8mb4;"
            "CREATE TABLE vr_mid (id INT NOT NULL PRIMARY KEY, v VARCHAR(40), n BIGINT)"
            " CHARACTER SET utf8mb4;"
            "CREATE TABLE vr_str (k VARCHAR(20) NOT NULL PRIMARY KEY, v VARCHAR(40))"
            " CHARACTER SET utf8mb4;"
            "INSERT INTO vr_big VALUES (1, 'row 1', 1.5, '2024-01-02 03:04:05.000006');"
            "INSERT INTO vr_mid VALUES (1, 'mid 1', 3);"
            "INSERT INTO vr_str VALUES ('k0001', 'str 1');")
    n = 1
    while n < BIG:
        src.sql("INSERT INTO vr_big SELECT id + %d, CONCAT('row ', id + %d), d + id, "
                "t + INTERVAL id SECOND FROM vr_big WHERE id + %d <= %d;"
                "INSERT INTO vr_mid SELECT id + %d, CONCAT('mid ', id + %d), n * 7 + id FROM vr_mid"
                " WHERE id + %d <= %d;"
                "INSERT INTO vr_str SELECT CONCAT('k', LPAD(CAST(SUBSTRING(k, 2) AS UNSIGNED) + %d,"
                " 4, '0')), v FROM vr_str WHERE CAST(SUBSTRING(k, 2) AS UNSIGNED) + %d <= 500;"
                % (n, n, n, BIG, n, n, n, MID, n, n))
        n *= 2
    total = sum(int(src.sql("SELECT COUNT(*) FROM %s" % t)[0][0])
                for t in ("vr_big", "vr_mid", "vr_str"))
    base = ["--source-host", "127.0.0.1", "--source-port", str(src.port), "--source-user", "root",
            "--database", DB, "--target", tg.dsn()]
    r = subprocess.run([MIGRATE, "run"] + base + ["--server-id", "7391", "--stop-at", "now"],
                       env=env(), capture_output=True, text=True, timeout=600)
    check("%s: copied" % label, r.returncode == 0, r.stderr[-800:])
    if r.returncode:
        src.drop()
        return

    # the planted differences, each seen by the target's own SELECT
    a, b = BIG // 5 + 3, BIG - 17
    tg.sql("UPDATE %s SET v = 'planted' WHERE id = %d" % (tg.tbl("vr_big"), a))
    tg.sql("DELETE FROM %s WHERE id = %d" % (tg.tbl("vr_big"), b))
    tg.sql("INSERT INTO %s (id, v, n) VALUES (-7, 'extra', 0)" % tg.tbl("vr_mid"))
    tg.sql("UPDATE %s SET v = 'planted' WHERE k = 'k0123'" % tg.tbl("vr_str"))
    seen = (tg.sql("SELECT v FROM %s WHERE id = %d" % (tg.tbl("vr_big"), a)) == [["planted"]] and
            tg.sql("SELECT COUNT(*) FROM %s WHERE id = %d" % (tg.tbl("vr_big"), b)) == [["0"]] and
            tg.sql("SELECT v FROM %s WHERE id = -7" % tg.tbl("vr_mid")) == [["extra"]] and
            tg.sql("SELECT v FROM %s WHERE k = 'k0123'" % tg.tbl("vr_str")) == [["planted"]] and
            src.sql("SELECT v FROM vr_big WHERE id = %d" % a) == [["row %d" % a]] and
            src.sql("SELECT COUNT(*) FROM vr_big WHERE id = %d" % b) == [["1"]])
    check("%s: four differences planted (the target's SELECT shows them)" % label, seen)
    planted = sorted([("%s.vr_big" % DB, str(a), "values differ"),
                      ("%s.vr_big" % DB, str(b), "missing on the target"),
                      ("%s.vr_mid" % DB, "-7", "only on the target"),
                      ("%s.vr_str" % DB, "k0123", "values differ")])

    vargs = [MIGRATE, "verify"] + base + ["--chunk-rows", str(CHUNK), "--verify-workers", "2"]

    # 1. uninterrupted
    t0 = time.time()
    start = log_size(tg)
    v = subprocess.run(vargs + ["--restart"], env=env(), capture_output=True, text=True,
                       timeout=900)
    dur = time.time() - t0
    time.sleep(0.3)
    once = digests(tg, start, log_size(tg))
    m = re.search(r"(\d+) of (\d+) chunks equal by their digests", v.stderr)
    chunks = int(m.group(2)) if m else -1
    check("%s: uninterrupted verify lists exactly the planted differences (%.1fs, %d chunks)"
          % (label, dur, chunks),
          v.returncode == 4 and report(v.stdout) == planted and
          "DIFFERENT: 4 rows differ" in v.stdout and "resuming" not in v.stderr and
          chunks > 3 * 2 * 4, v.stdout + v.stderr[-1500:])
    check("%s: the target's log shows each chunk's digest once in it (%d)" % (label, len(once)),
          len(once) == chunks and len(set(once)) == chunks, str(once[:5]))

    # 2. killed and resumed
    kills = 0
    inv = 0
    last = None
    prev_state = None
    problems = []
    resumes = 0  # invocations started while an unfinished run existed
    said = 0  # of them, those that got as far as saying they resume
    all_digests = []
    landed = 0  # kills that left an unfinished run behind
    while inv < 30:
        extra = ["--restart"] if inv == 0 else []
        start = log_size(tg)
        p = subprocess.Popen(vargs + extra, env=env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        killed = False
        if landed < KILLS:
            # a random moment of what is left of the run
            left = dur * (1 - 0.22 * landed)
            try:
                p.wait(timeout=rnd.uniform(0.25, 0.5) * left)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                killed = True
        out, err = p.communicate(timeout=900)
        time.sleep(0.3)  # the target logs what it had received
        end = log_size(tg)
        seen_digests = digests(tg, start, end)
        all_digests.append(seen_digests)
        reached = not killed or bool(seen_digests)  # got past its start-up
        if inv > 0 and prev_state[0]:
            # an unfinished run: resumed from exactly what the target holds,
            # and nothing below it read again
            resumes += 1
            said += "resuming run" in err
            if reached and "resuming run" not in err:
                problems.append("invocation %d did not say it resumes: %s" % (inv, err[-600:]))
            for t, (hi, fin) in prev_state[1].items():
                mine = [d for d in seen_digests if d[0] == t]
                if fin and mine:
                    problems.append("invocation %d digested finished table %s again: %s"
                                    % (inv, t, mine[:3]))
                if hi is None or fin:
                    continue
                if (not killed or mine) and \
                   ("%s.%s: resuming after key %d" % (DB, t, hi)) not in err:
                    problems.append("invocation %d: no 'resuming after key %d' for %s: %s"
                                    % (inv, hi, t, err[-600:]))
                below = [d for d in mine if d[1] is None or d[1] < hi]
                if below:
                    problems.append("invocation %d re-read %s chunks at or below %d: %s"
                                    % (inv, t, hi, below[:3]))
                if mine and not any(d[1] == hi for d in mine):
                    problems.append("invocation %d: no chunk of %s starts at %d: %s"
                                    % (inv, t, hi, mine[:3]))
        elif inv > 0 and "resuming" in err:
            problems.append("invocation %d resumed a finished run: %s" % (inv, err[-600:]))
        if killed and p.returncode == -signal.SIGKILL:
            kills += 1
            state = progress(tg)
            landed += state[0]
            if prev_state is not None and state[0] and prev_state[0]:
                for t, (hi, fin) in prev_state[1].items():
                    nhi, nfin = state[1].get(t, (None, 0))
                    if not nfin and (fin or (hi is not None and (nhi is None or nhi < hi))):
                        problems.append("progress of %s went back: %s -> %s"
                                        % (t, prev_state, state))
            prev_state = state
            inv += 1
            continue
        last = (p.returncode, out, err)
        break
    check("%s: verify killed %d times at random moments (%d inside the run) and resumed to the "
          "end (%d invocations)" % (label, kills, landed, inv + 1),
          landed >= KILLS and resumes >= KILLS and said >= 2 and last is not None,
          str(prev_state))
    check("%s: each resumed invocation continued from the target's recorded chunk and re-read "
          "none below it (target's statement log)" % label, not problems and landed >= KILLS,
          "\n".join(problems)[:3000])
    # every chunk digested, and twice only those in flight at a kill (a
    # batch: 4 per worker, 2 workers)
    counts = {}
    for inv_d in all_digests:
        for d in set(inv_d):
            counts[d] = counts.get(d, 0) + 1
    twice = sum(c - 1 for c in counts.values())
    check("%s: across the invocations every chunk was digested, %d again (at most a batch a "
          "kill)" % (label, twice),
          set(counts) == set(once) and twice <= 8 * landed, "%d of %d chunks" % (
              len(set(counts) & set(once)), len(once)))
    if last:
        rc, out, err = last
        m = re.search(r"run \d+ as a whole \(resumed (\d+) times\): (\d+) source rows, (\d+) of "
                      r"(\d+) chunks", err)
        check("%s: the resumed run lists exactly the planted differences" % label,
              rc == 4 and report(out) == planted and "DIFFERENT: 4 rows differ" in out,
              out + err[-1500:])
        check("%s: the run as a whole covers every chunk once and every source row (%d)"
              % (label, total),
              m is not None and said <= int(m.group(1)) <= resumes and said >= 1 and
              int(m.group(2)) == total and
              int(m.group(4)) == chunks, err[-1500:])

    # 3. a finished run is not resumed
    v = subprocess.run(vargs, env=env(), capture_output=True, text=True, timeout=900)
    check("%s: a verify after a finished run starts anew and agrees" % label,
          v.returncode == 4 and report(v.stdout) == planted and "resuming" not in v.stderr,
          v.stdout + v.stderr[-800:])
    src.drop()


if __name__ == "__main__":
    sys.exit(main())
