"""Crash consistency of `cdc stream` (issue 8): the checkpoint it leaves
never lies past output that did not reach its reader, whatever stops it.

On each server, under a writer that keeps committing (small transactions,
primary-key changes, deletes, rollbacks and 4,000-row transactions whose
lines pass the 1 MiB hold-back), `cdc stream --snapshot initial
--checkpoint-file F` is run for many rounds, each stopped at a random
moment, and restarted from F:

  outputs   a file; a pipe read at once; a pipe read slowly; a pipe nobody
            reads until the run has ended; a pipe whose reader exits after
            some lines (EPIPE); a file on a tiny tmpfs that fills (ENOSPC)
  stops     SIGINT, SIGTERM, SIGKILL after a random delay, aimed at a write
            blocked on a full pipe, inside a large transaction, or inside
            the snapshot; the reader's exit; the full disk

The reader keeps exactly the bytes it read. Applying every round's complete
lines in order (keyed by primary key; a round that starts without a
checkpoint takes the snapshot again, so the consumer starts over) must give
exactly what SELECT shows at the end, value by value. And the contract:
  - SIGINT/SIGTERM with a reader that reads: exit 130/143, no half line,
    and the next round repeats nothing (no duplicate line);
  - a stop inside the snapshot says what a restart does: before the first
    completed chunk no checkpoint is saved (the next round takes a new
    snapshot); after one, the checkpoint records the snapshot's progress
    and the next round continues it (docs/snapshot.md);
  - EPIPE/ENOSPC: exit 1 naming the error; a file ends exactly at the
    checkpoint (no partial transaction, no half line);
  - duplicates only where the contract allows them: after SIGKILL, after a
    reader that stopped reading, after EPIPE (lines written but unread) —
    and then only lines at or after the checkpoint the next round starts
    from (the uncommitted tail).

Usage: run.py CDC_TOOL [mariadb|mysql ...]. Ends with "N passed, N failed".
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "stream"))
import harness  # noqa: E402

diff, canon = harness.diff, harness.canon

ROUNDS = int(os.environ.get("CDC_CRASH_ROUNDS", "14"))
PRELOAD = 30000
BIG = 4000
SEED = int(os.environ.get("CDC_CRASH_SEED", str(int(time.time()))))


class Writer(threading.Thread):
    """Commits until stopped: inserts, updates, PK changes, deletes,
    rollbacks, and now and then one 4,000-row transaction."""

    def __init__(self, srv, db, rnd):
        super().__init__(daemon=True)
        self.srv, self.db, self.rnd = srv, db, rnd
        self.stop = threading.Event()
        self.next_id = PRELOAD
        self.commits = self.bigs = 0
        self.error = None

    def run(self):
        r = self.rnd
        while not self.stop.is_set():
            sql = []
            for _ in range(r.randint(3, 8)):
                kind = r.random()
                lo = r.randrange(0, self.next_id)
                if kind < 0.35:
                    vals = []
                    for _ in range(r.randint(1, 4)):
                        vals.append("(%d, %d, CONCAT('ins-', REPEAT('\u00fc\U0001f680', %d)), %d.%06d, "
                                    "'2026-%02d-%02d 1%d:00:00.%06d', '%s')" % (
                                        self.next_id, r.randint(-10**6, 10**6), r.randint(1, 40),
                                        r.randint(-99999, 99999), r.randrange(10**6), r.randint(1, 12),
                                        r.randint(1, 28), r.randint(0, 9), r.randrange(10**6),
                                        r.choice(["a", "\U0001f680", "\u00fc"])))
                        self.next_id += 1
                    sql.append("INSERT INTO t VALUES %s;" % ",".join(vals))
                elif kind < 0.6:
                    sql.append("UPDATE t SET k = k + 1, d = d - 0.000001, e = '%s' WHERE id BETWEEN %d AND %d;" % (
                        r.choice(["a", "\U0001f680", "\u00fc"]), lo, lo + r.randint(0, 20)))
                elif kind < 0.7:
                    # a primary-key change: to a fresh id
                    sql.append("UPDATE t SET id = %d WHERE id = %d;" % (self.next_id, lo))
                    self.next_id += 1
                elif kind < 0.82:
                    sql.append("DELETE FROM t WHERE id BETWEEN %d AND %d;" % (lo, lo + r.randint(0, 5)))
                elif kind < 0.9:
                    sql.append("START TRANSACTION; INSERT INTO t VALUES (%d, 0, 'rolled back', 0, NULL, 'a');"
                               " UPDATE t SET v = 'never' WHERE id = %d; ROLLBACK;" % (self.next_id + 10**9, lo))
                elif kind < 0.96:
                    sql.append("START TRANSACTION; UPDATE t SET v = CONCAT('tx-', v) WHERE id = %d;"
                               " DELETE FROM t WHERE id = %d; COMMIT;" % (lo, lo + 1))
                else:
                    sql.append("UPDATE t SET v = CONCAT('big-', LEFT(v, 40)), k = k - 1 WHERE id BETWEEN %d AND %d;"
                               % (lo, lo + BIG))
                    self.bigs += 1
            try:
                self.srv.sql("\n".join(sql), db=self.db)
                self.commits += len(sql)
            except RuntimeError as e:
                if "Deadlock" in str(e) or "Lock wait" in str(e):
                    continue
                self.error = str(e)[:500]
                return
            time.sleep(r.uniform(0.0, 0.05))


class Reader:
    """The consumer of one run's stdout: keeps every byte it read."""

    def __init__(self, mode, rnd):
        self.mode, self.rnd = mode, rnd
        self.data = bytearray()
        self.lines_seen = 0
        self.big_seen = self.snap_seen = 0
        self.closed_early = False
        self.lock = threading.Lock()

    def start(self, fd):
        self.fd = fd
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def _took(self, d):
        with self.lock:
            self.data += d
            self.lines_seen += d.count(b"\n")
            self.big_seen += d.count(b'"big-')
            self.snap_seen += d.count(b'"op":"r"')

    def run(self):
        if self.mode == "pipe_stall":
            return  # reads nothing until finish()
        limit = self.rnd.randint(50, 1500) if self.mode == "pipe_epipe" else None
        while True:
            try:
                d = os.read(self.fd, 4096 if self.mode == "pipe_slow" else 65536)
            except OSError:
                break
            if not d:
                break
            self._took(d)
            if self.mode == "pipe_slow":
                time.sleep(len(d) / 3e6)
            if limit is not None and self.lines_seen >= limit:
                # like `head`: stop reading and go away; what is still in
                # the pipe was never read
                self.closed_early = True
                os.close(self.fd)
                return
        os.close(self.fd)

    def finish(self):
        if self.mode == "pipe_stall":
            # the reader wakes up after the run: it reads what is left
            os.set_blocking(self.fd, False)
            while True:
                try:
                    d = os.read(self.fd, 65536)
                except BlockingIOError:
                    break
                if not d:
                    break
                self._took(d)
            os.close(self.fd)
        else:
            self.t.join(60)
        return bytes(self.data)


def wchan(pid):
    try:
        with open("/proc/%d/wchan" % pid) as f:
            return f.read()
    except OSError:
        return ""


class Tmpfs:
    def __init__(self, size_kb):
        self.dir = tempfile.mkdtemp(prefix="cdc-crash-")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dk" % size_kb, "tmpfs", self.dir],
                           capture_output=True)
        if r.returncode != 0:
            raise RuntimeError("cannot mount a small tmpfs for the ENOSPC case (needs root): %s" %
                               r.stderr.decode(errors="replace").strip())

    def close(self):
        subprocess.run(["umount", self.dir], capture_output=True)
        os.rmdir(self.dir)


class Round:
    pass


def one_round(cdc, srv, db, ck, start, rnd, mode, sig, moment, tmp):
    """Runs `cdc stream` once, stops it as told; returns a Round."""
    rd = Round()
    rd.mode, rd.sig, rd.moment = mode, sig, moment
    rd.fresh = not os.path.exists(ck)
    rd.start_ck = None if rd.fresh else open(ck).read().strip()
    args = [cdc, "stream", "--host", "127.0.0.1", "--port", str(srv.port), "--user", "cdc_repl",
            "--server-id", str(harness.new_server_id()), "--tables", db + ".t", "--checkpoint-file", ck,
            "--snapshot", "initial", "--set", "snapshot.parallelism=%d" % rnd.choice([1, 2])]
    # no --start: the checkpoint file's, or (none yet) a new snapshot
    if sig is None:
        args += ["--stop-at", "now"]
    env = dict(os.environ, CDC_PASSWORD=srv.password)
    reader = None
    fs = None
    out_path = None
    if mode.startswith("pipe"):
        r, w = os.pipe()
        reader = Reader(mode, rnd)
        p = subprocess.Popen(args, stdout=w, stderr=subprocess.PIPE, env=env)
        os.close(w)
        reader.start(r)
    else:
        if mode == "enospc":
            fs = Tmpfs(rnd.choice([128, 512, 1536]))
            out_path = os.path.join(fs.dir, "out.jsonl")
        else:
            out_path = os.path.join(tmp, "out.jsonl")
        with open(out_path, "wb") as out:
            p = subprocess.Popen(args, stdout=out, stderr=subprocess.PIPE, env=env)
    errs = []
    te = threading.Thread(target=lambda: errs.extend(p.stderr.read().decode("utf-8", "replace").splitlines()),
                          daemon=True)
    te.start()

    rd.aimed = None
    t0 = time.monotonic()
    if sig is not None:
        deadline = t0 + 25
        if moment == "snapshot" and not rd.fresh:
            moment = rd.moment = "random"  # no snapshot in this round
        if moment == "late40":
            while time.monotonic() < t0 + 40 and p.poll() is None:
                time.sleep(0.05)
            if p.poll() is not None:
                sig = rd.sig = None
        elif moment == "blocked":
            while time.monotonic() < deadline and p.poll() is None and "pipe" not in wchan(p.pid):
                time.sleep(0.02)
            rd.aimed = "pipe" in wchan(p.pid)
        elif moment == "big" and reader:
            n = rnd.randint(1, 600)
            while time.monotonic() < t0 + 12 and p.poll() is None and reader.big_seen < n:
                time.sleep(0.005)
            rd.aimed = reader.big_seen > 0
        elif moment == "snapshot" and reader:
            n = rnd.randint(1, 20000)
            while time.monotonic() < deadline and p.poll() is None and reader.snap_seen < n:
                time.sleep(0.005)
            rd.aimed = reader.snap_seen >= n
        else:
            time.sleep(rnd.uniform(0.2, 4.0))
        if sig is not None and p.poll() is None:
            p.send_signal(sig)
    try:
        rd.rc = p.wait(90 if sig is not None else 300)
    except subprocess.TimeoutExpired:
        p.kill()
        rd.rc = "hung (killed after the limit)"
        p.wait()
    rd.stop_s = time.monotonic() - t0
    te.join(30)
    rd.err = errs
    if reader:
        rd.data = reader.finish()
        rd.epipe_reader = reader.closed_early
    else:
        with open(out_path, "rb") as f:
            rd.data = f.read()
        os.unlink(out_path)
        rd.epipe_reader = False
    if fs:
        fs.close()
    rd.end_ck = open(ck).read().strip() if os.path.exists(ck) else None
    return rd


def pk_replay(check, rounds):
    """Applies the complete lines of every round in order, keyed by id.
    Returns ({id: after image}, events applied)."""
    state, n = {}, 0
    for i, rd in enumerate(rounds):
        if rd.fresh:
            state = {}  # a new snapshot: the consumer starts over
        for line in rd.lines:
            try:
                ev = canon.load_json_line(line.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                check.bad("round %d: a line is not JSON (%s): %r" % (i + 1, e, line[:200]))
                continue
            op, before, after = ev.get("op"), ev.get("before"), ev.get("after")
            if op in ("c", "r"):
                state[after["id"]] = after
            elif op == "u":
                state.pop(before["id"], None)
                state[after["id"]] = after
            elif op == "d":
                state.pop(before["id"], None)
            else:
                check.bad("round %d: unknown op %r" % (i + 1, op))
            n += 1
    return state, n


def line_pos(line):
    ev = json.loads(line)
    p = ev.get("pos") or {}
    return (p.get("file"), p.get("offset"), p.get("row"))


def ck_pos(ck):
    """(file, offset) of a cdc1: checkpoint string."""
    parts = dict(x.split("=", 1) for x in ck[len("cdc1:"):].split(";") if "=" in x)
    return parts.get("file"), int(parts.get("pos", "0"))


def run_flavor(cdc, flavor, rnd):
    check = diff.Check("crash/%s" % flavor)
    srv = harness.Server(flavor)
    db = "crash_%s" % flavor
    srv.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s CHARACTER SET utf8mb4;" % (db, db))
    srv.sql("CREATE TABLE t (id BIGINT PRIMARY KEY, k INT, v VARCHAR(200) CHARACTER SET utf8mb4,"
            " d DECIMAL(20,6), ts TIMESTAMP(6) NULL, e ENUM('a','\U0001f680','\u00fc') CHARACTER SET utf8mb4)"
            " CHARACTER SET utf8mb4", db=db)
    for lo in range(0, PRELOAD, 5000):
        srv.sql("INSERT INTO t SELECT seq, seq %% 977, CONCAT('pre-', REPEAT('x', 100), seq), seq / 7,"
                " '2020-01-01 00:00:00' + INTERVAL seq SECOND, ELT(1 + seq %% 3, 'a', '\U0001f680', '\u00fc')"
                " FROM (SELECT a.n * 1000 + b.n * 100 + c.n * 10 + d.n + %d AS seq FROM"
                " (SELECT 0 n UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4) a,"
                " (SELECT 0 n UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5"
                "  UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) b,"
                " (SELECT 0 n UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5"
                "  UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) c,"
                " (SELECT 0 n UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5"
                "  UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) d) s" % lo, db=db)
    if flavor == "mysql":
        # MySQL fixes the snapshot's point under a brief lock: RELOAD (FLUSH
        # TABLES WITH READ LOCK) or, as here, LOCK TABLES on the tables
        srv.sql("GRANT LOCK TABLES ON %s.* TO cdc_repl@'%%'" % db)
    f, off, _ = srv.position()
    start = "%s:%d" % (f, off)
    tmp = tempfile.mkdtemp(prefix="cdc-crash-")
    ck = os.path.join(tmp, "ck")
    writer = Writer(srv, db, rnd)
    writer.start()

    modes = ["file", "pipe_fast", "pipe_slow", "pipe_stall", "pipe_epipe", "enospc"]
    sigs = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]
    plan = []
    # every output with every signal at least once over the flavours, the
    # snapshot and a blocked write aimed at explicitly, the rest at random
    plan.append(("pipe_slow", signal.SIGINT, "snapshot"))
    plan.append(("pipe_stall", signal.SIGINT, "blocked"))
    plan.append(("pipe_fast", signal.SIGTERM, "snapshot"))
    plan.append(("file", signal.SIGKILL, "random"))
    plan.append(("enospc", None, "disk"))
    plan.append(("pipe_epipe", None, "reader"))
    plan.append(("pipe_fast", signal.SIGINT, "big"))
    plan.append(("pipe_stall", signal.SIGKILL, "blocked"))
    plan.append(("pipe_slow", signal.SIGTERM, "big"))
    while len(plan) < ROUNDS:
        m = rnd.choice(modes)
        if m == "enospc":
            plan.append((m, None, "disk"))
        elif m == "pipe_epipe":
            plan.append((m, None, "reader"))
        else:
            plan.append((m, rnd.choice(sigs), rnd.choice(
                ["random", "random", "big"] + (["blocked"] if m == "pipe_stall" else []) +
                (["snapshot"] if m != "file" else []))))

    rounds = []
    stops = []
    for i, (mode, sig, moment) in enumerate(plan):
        if writer.error:
            check.bad("the writer failed: %s" % writer.error)
            break
        if mode in ("enospc", "pipe_epipe"):
            # the disk or the reader ends these runs; SIGINT only if they
            # have not after 40 s (the round then says so)
            sig, moment = signal.SIGINT, "late40"
        rd = one_round(cdc, srv, db, ck, start, rnd, mode, sig, moment, tmp)
        rounds.append(rd)
        stops.append("%s/%s/%s->%s" % (mode, signal.Signals(sig).name if sig else "-", moment, rd.rc))
        judge_round(check, i + 1, rd)
    writer.stop.set()
    writer.join(120)
    if writer.error:
        check.bad("the writer failed: %s" % writer.error)
    # the last round: no signal, up to the end of the binlog
    rd = one_round(cdc, srv, db, ck, start, rnd, "file", None, "none", tmp)
    rounds.append(rd)
    judge_round(check, len(rounds), rd)
    if rd.rc != 0:
        check.bad("the last round (--stop-at now) exited %s: %s" % (rd.rc, " | ".join(rd.err[-5:])))

    for i, r in enumerate(rounds):
        nr = sum(1 for x in r.lines if b'"op":"r"' in x)
        check.notes.append("round %d: %s%s, %d lines (%d snapshot rows), checkpoint %s -> %s; %s" % (
            i + 1, "fresh, " if r.fresh else "", r.mode, len(r.lines), nr, r.start_ck, r.end_ck,
            " | ".join(r.err[-3:])[:400]))
    judge_duplicates(check, rounds)
    state, napplied = pk_replay(check, rounds)
    cols = diff.table_columns(srv, db)["t"]
    selected = diff.select_table(srv, db, "t", cols)

    class R:
        pass
    rep = R()
    rep.tables = {"t": list(state.values())}
    rep.order = {}
    diff.compare_tables(check, rep, {"t": selected}, {"t": cols})
    check.notes.append("seed %d; %d rounds: %s" % (SEED, len(rounds), ", ".join(stops)))
    check.notes.append("writer: %d statements, %d large transactions; %d lines applied; %d rows at the end" % (
        writer.commits, writer.bigs, napplied, len(selected)))
    aimed = [r for r in rounds if r.aimed]
    check.notes.append("%d signals landed where aimed (blocked write / large transaction / snapshot)" % len(aimed))
    if not any(r.moment == "blocked" and r.aimed for r in rounds):
        check.bad("no signal reached a write blocked on a full pipe: the case of the issue was not tested")
    shutil.rmtree(tmp, ignore_errors=True)
    srv.sql("DROP DATABASE IF EXISTS %s" % db)
    return check.finish()


def judge_round(check, n, rd):
    where = "round %d (%s, %s, %s)" % (n, rd.mode, signal.Signals(rd.sig).name if rd.sig else "no signal",
                                        rd.moment)
    text = " | ".join(rd.err[-6:])
    if "AddressSanitizer" in "\n".join(rd.err) or "runtime error:" in "\n".join(rd.err):
        check.bad("%s: sanitizer report: %s" % (where, "\n".join(rd.err)[:3000]))
    complete = rd.data.endswith(b"\n") or not rd.data
    lines = rd.data.split(b"\n")
    if not complete:
        lines = lines[:-1]  # an incomplete last line is discarded by the consumer
    rd.lines = [x for x in lines if x]
    killed = rd.rc == -signal.SIGKILL
    rd.may_repeat = killed or rd.mode in ("pipe_stall", "pipe_epipe") or any("not being read" in e for e in rd.err)
    graceful = rd.sig in (signal.SIGINT, signal.SIGTERM) and rd.mode in ("file", "pipe_fast", "pipe_slow")
    if isinstance(rd.rc, str):
        check.bad("%s: %s; stderr: %s" % (where, rd.rc, text))
        return
    if rd.mode == "enospc" or (rd.mode == "pipe_epipe" and rd.epipe_reader):
        want = "No space left on device" if rd.mode == "enospc" else "Broken pipe"
        if rd.rc == 1:
            if not any(want in e for e in rd.err):
                check.bad("%s: exit 1 without naming '%s': %s" % (where, want, text))
        elif rd.rc not in (130, 0):
            check.bad("%s: exit %s; stderr: %s" % (where, rd.rc, text))
        if rd.mode == "enospc" and not complete:
            check.bad("%s: the output file was not cut back to the checkpoint: it ends inside a line" % where)
        if rd.mode == "enospc" and rd.rc == 1:
            rd.may_repeat = False  # the file ends at the checkpoint
    elif rd.sig in (signal.SIGINT, signal.SIGTERM):
        want = 130 if rd.sig == signal.SIGINT else 143
        if rd.rc != want:
            check.bad("%s: exit %s, want %d; stderr: %s" % (where, rd.rc, want, text))
        if rd.stop_s > 30:
            check.bad("%s: took %.1f s to stop after the signal" % (where, rd.stop_s))
        if graceful and not complete:
            check.bad("%s: the output ends inside a line although the reader read" % where)
        if not complete and rd.mode != "pipe_stall" and not any("incomplete" in e for e in rd.err):
            check.bad("%s: the output ends inside a line and stderr does not say so: %s" % (where, text))
    elif rd.sig is None:
        pass
    elif not killed:
        check.bad("%s: exit %s after SIGKILL" % (where, rd.rc))
    rd.snapshot_cut = any("snapshot was stopped" in e for e in rd.err)
    no_ck = any("no checkpoint was saved" in e for e in rd.err)
    if rd.snapshot_cut and no_ck and rd.end_ck != rd.start_ck:
        check.bad("%s: stopped inside the snapshot, saying no checkpoint was saved, but the checkpoint file "
                  "changed" % where)
    if rd.snapshot_cut and not no_ck and (rd.end_ck is None or ";snap=" not in rd.end_ck):
        check.bad("%s: stopped inside the snapshot, saying a restart continues it, but the checkpoint %s has no "
                  "snapshot progress" % (where, rd.end_ck))
    if rd.rc != 0 and not killed and not rd.snapshot_cut and any(b'"op":"r"' in x for x in rd.lines[-1:]) \
            and rd.end_ck is None:
        check.bad("%s: ended inside the snapshot without saying what a restart does: %s" % (where, text))
    if any("Interrupted system call" in e for e in rd.err):
        check.bad("%s: %s" % (where, text))


def judge_duplicates(check, rounds):
    """Lines seen in two rounds: none after a graceful stop; otherwise only
    lines at or after the checkpoint the next round started from."""
    for i in range(1, len(rounds)):
        prev, cur = rounds[i - 1], rounds[i]
        if cur.fresh:
            continue  # a new snapshot: the consumer started over
        seen = set(prev.lines)
        dups = [x for x in cur.lines if x in seen]
        if not dups:
            continue
        where = "rounds %d and %d" % (i, i + 1)
        if not prev.may_repeat:
            check.bad("%s: %d lines repeated after a stop that allows none (%s, %s), first %s" % (
                where, len(dups), prev.mode, prev.rc, dups[0][:200]))
            continue
        cp = ck_pos(cur.start_ck)
        early = [x for x in dups if line_pos(x)[:2] < cp and line_pos(x)[2] is not None]
        if early:
            check.bad("%s: %d repeated lines lie before the checkpoint %s, first %s" % (
                where, len(early), cur.start_ck, early[0][:200]))


def main():
    if len(sys.argv) < 2:
        print("usage: run.py CDC_TOOL [mariadb|mysql ...]", file=sys.stderr)
        sys.exit(2)
    cdc = sys.argv[1]
    flavors = sys.argv[2:] or ["mariadb", "mysql"]
    rnd = random.Random(SEED)
    print("crash: seed %d (CDC_CRASH_SEED repeats a run)" % SEED)
    harness.run_per_server("crash", flavors, lambda fl: run_flavor(cdc, fl, rnd))


if __name__ == "__main__":
    main()
