#!/usr/bin/env python3
"""Proof of the live change stream (`cdc stream`) on real servers.

usage: run.py CDC_BINARY [--only NAME[,NAME...]] [--flavor mysql|mariadb] [--big-mb N]

Checks, on MariaDB 10.11 and MySQL 9.7 (tests/servers/testenv.sh and the
environment its env file sets), each printed as "[       OK ] name" or
"[  FAILED  ] name":
  concurrent  writer threads (inserts, updates, deletes on several tables
              and types, multi-statement transactions, rollbacks), a
              100k-row transaction and DDL run while `cdc stream` follows;
              the state rebuilt from its lines equals SELECT of every
              table, and its lines equal a bounded run over the same range;
  resume      the same range streamed in runs stopped by SIGINT at random
              moments (slow reader), and in runs ending --stop-at random
              commits, each restarted from the checkpoint file: the
              concatenated lines equal one uninterrupted run exactly;
  faults      KILL of the dump thread, server restart, connections cut at
              random byte counts and stalled by a loopback proxy (the
              heartbeat timeout): no line lost or repeated, state == SELECT;
  gtid        MySQL untagged and tagged GTIDs / MariaDB domains and server
              ids: each change carries the GTID the server's own binlog tool
              shows, a start from a GTID set resumes exactly there, and
              GTID checkpoints resume exactly;
  purged      --stop-at now with nothing to stream ends at once; a start
              position (file, GTID set, checkpoint) whose binlog was
              purged: exit 1 naming it;
  memory      a 1 GB transaction (--big-mb; 256 MB for ASan builds), with
              and without compression (MySQL binlog_transaction_compression:
              one huge payload event; MariaDB log_bin_compress), streamed in
              < 32 MB peak RSS.
It restarts the servers and purges their binlogs: never run it alongside
other tests. CDC_STREAM_SEED repeats a run's random choices; CDC_STREAM_ONLY
(like --only) and CDC_STREAM_BIG_MB (like --big-mb) narrow a `meson test` run.
docs/testing.md describes the servers; docs/performance.md the benchmark.
"""
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import streamload as W  # noqa: E402

SEED = int(os.environ.get("CDC_STREAM_SEED", "0")) or random.randrange(1, 10 ** 6)
rng = random.Random(SEED)
TMP = tempfile.mkdtemp(prefix="cdc-stream-test-")
RSS_LIMIT_KB = 32 * 1024
RESUME_SECONDS = 6
ASAN_BASE_KB = 32 * 1024  # ASan's own RSS allowance where no baseline run is made
FAST = ["--set", "heartbeat.interval.ms=500", "--set", "reconnect.backoff.initial.ms=50",
        "--set", "reconnect.backoff.max.ms=1000"]


class Ctx:
    def __init__(self, cdc, srv):
        self.cdc, self.srv = cdc, srv
        self.ref = None  # bounded run of the concurrent workload: (P0, E, lines)

    def name(self, check):
        return "stream/%s/%s" % (self.srv.flavor, check)


def bounded(ctx, start, stop, extra=(), timeout=600):
    """An uninterrupted `cdc stream --start start --stop-at stop`."""
    s, rc = H.run_stream(ctx.cdc, ctx.srv, ["--start", start, "--stop-at", stop] + FAST + list(extra),
                         timeout=timeout)
    return s, rc


def expect_rc(check, s, rc, want, what):
    if rc != want:
        check.bad("%s exited %s, want %s; stderr: %s" % (what, rc, want, s.stderr_tail()))
        return False
    return True


# ------------------------------------------------------------------ concurrent

def check_concurrent(ctx):
    srv, db = ctx.srv, "cdc_stream_conc"
    c = H.Check(ctx.name("concurrent/workload"))
    p0 = srv.position()
    W.setup(srv, db)
    live = H.Stream(ctx.cdc, srv, ["--start", H.pos_text(p0)] + FAST)
    writers = [W.Writer(srv, db, w + 1, 240, SEED * 10 + w) for w in range(3)]
    t0 = time.time()
    for w in writers:
        w.start()
    big_err = []

    def big():
        try:
            W.big_and_ddl(srv, db, 100000)
        except RuntimeError as e:
            big_err.append(str(e))
    bt = threading.Thread(target=big)
    time.sleep(1)
    bt.start()
    for w in writers:
        w.join()
    bt.join()
    c.notes.append("%d lines had arrived when the last writer finished" % live.count)
    for w in writers:
        for e in w.errors:
            if "ERROR 1213" in e or "ERROR 1205" in e:
                # Concurrent writers deadlock now and then; the server rolls
                # the victim back, which is what SELECT then shows.
                c.notes.append("writer %d: %s" % (w.wid, e.strip().split("\n")[-1]))
            else:
                c.bad("writer %d: %s" % (w.wid, e))
    for e in big_err:
        c.bad("large transaction / DDL: %s" % e)
    srv.sql("INSERT INTO `%s`.t_marker VALUES (1, 'end of workload')" % db)
    end = srv.position()
    c.notes.append("3 writers x 240 transactions + 100k-row insert, 50k update, 33k delete, "
                   "3 DDL in %.1fs; range %s .. %s" % (time.time() - t0, H.pos_text(p0), H.pos_text(end)))
    seen = live.wait_line(H.line_is("t_marker", db), 300)
    live.interrupt()
    rc = live.wait(60)
    if not seen:
        c.bad("the marker row written after the workload never arrived (%d lines so far)" % live.count)
    expect_rc(c, live, rc, 130, "cdc stream after SIGINT")
    if not live.checkpoint():
        c.bad("no 'checkpoint: ...' line on stderr at exit: %s" % live.stderr_tail())
    ok = c.finish()

    c = H.Check(ctx.name("concurrent/rebuild-vs-select"))
    events = H.parse_lines(c, live.lines, db)
    c.notes.append("%d row changes streamed live" % len(events))
    H.compare_with_select(c, srv, db, events)
    ok &= c.finish()

    c = H.Check(ctx.name("concurrent/live-equals-bounded-run"))
    s, rc = bounded(ctx, H.pos_text(p0), "now")
    expect_rc(c, s, rc, 0, "cdc stream --stop-at now")
    H.same_lines(c, H.lines_of(s.lines, db), H.lines_of(live.lines, db), "bounded run", "live run")
    ok &= c.finish()
    ctx.ref = (p0, end, s.lines, s)
    return ok


# ------------------------------------------------------------------ resume

def resume_runs(ctx, check, start, stop, ref_lines, label, min_stops=8):
    """Streams start..stop in runs stopped by SIGINT at random moments,
    each continuing from the checkpoint file; compares with ref_lines."""
    ck = os.path.join(TMP, "ckpt-%s-%s" % (ctx.srv.flavor, label))
    ref_bytes = sum(len(x) for x in ref_lines)
    if os.path.exists(ck):
        os.unlink(ck)
    got, stops, runs, fresh, early = [], 0, 0, 0, 0
    while True:
        runs += 1
        args = ["--stop-at", stop, "--checkpoint-file", ck] + FAST
        if not os.path.exists(ck):
            args += ["--start", start]
            fresh += 1
        # A slow reader stretches the range over ~RESUME_SECONDS, so the
        # random stops land all over it (and the stream must cope with a
        # consumer slower than the server).
        s = H.Stream(ctx.cdc, ctx.srv, args, throttle=max(1000, ref_bytes / RESUME_SECONDS))
        delay = rng.uniform(0.05, 0.6)
        try:
            s.p.wait(delay)
        except subprocess.TimeoutExpired:
            s.interrupt()
        rc = s.wait(300)
        got.extend(s.lines)
        if rc == 0:
            break
        if rc == -signal.SIGINT and not s.lines:
            # The signal beat the handler: killed at start-up, nothing done.
            early += 1
            continue
        if rc != 130:
            check.bad("run %d exited %s; stderr: %s" % (runs, rc, s.stderr_tail()))
            break
        stops += 1
        if runs > 200:
            check.bad("still not at the end after %d runs" % runs)
            break
    check.notes.append("%d runs, %d stopped by SIGINT (%d more before the handler was set), %d started "
                       "without a checkpoint file, %d lines" % (runs, stops, early, fresh, len(got)))
    if stops < min_stops:
        check.bad("only %d runs were interrupted (want >= %d): the range streams too fast to "
                  "prove anything" % (stops, min_stops))
    dups = H.duplicates(got)
    if dups:
        check.bad("%d lines delivered twice, first: %s" % (len(dups), dups[0][:300]))
    H.same_lines(check, ref_lines, got, "uninterrupted run", "concatenated runs")


def resume_stop_at(ctx, check, start, stop, ref_lines, label, k=12):
    """Streams start..stop in runs each ending with --stop-at at a random
    commit (positions from an --events run), each continuing from the
    checkpoint file of the one before; compares with ref_lines."""
    s, rc = H.run_stream(ctx.cdc, ctx.srv, ["--start", start, "--stop-at", stop, "--events"] + FAST)
    if not expect_rc(check, s, rc, 0, "run with --events"):
        return None
    commits = []
    for line in s.lines:
        if line.startswith(b'{"event":"commit"'):
            p = H.canon.load_json_line(line.decode())["pos"]
            commits.append("%s:%d" % (p["file"], p["offset"]))
    if len(commits) < 2:
        check.bad("the --events run printed %d commit lines" % len(commits))
        return None
    stops = sorted(rng.sample(range(len(commits) - 1), min(k, len(commits) - 1)))
    ck = os.path.join(TMP, "ckpt-%s-%s-stopat" % (ctx.srv.flavor, label))
    if os.path.exists(ck):
        os.unlink(ck)
    got, cks = [], []
    for n, i in enumerate(stops + [None]):
        args = ["--stop-at", commits[i] if i is not None else stop, "--checkpoint-file", ck] + FAST
        if n == 0:
            args += ["--start", start]
        s2, rc2 = H.run_stream(ctx.cdc, ctx.srv, args)
        if not expect_rc(check, s2, rc2, 0, "run %d (--stop-at %s)" % (n + 1, args[1])):
            return None
        got.extend(s2.lines)
        try:
            cks.append(open(ck).read().strip())
        except OSError:
            check.bad("run %d left no checkpoint file" % (n + 1))
            return None
    check.notes.append("%d runs stopped at random commits of %d; checkpoints e.g. %s" % (
        len(stops) + 1, len(commits), cks[0][:160]))
    dups = H.duplicates(got)
    if dups:
        check.bad("%d lines delivered twice, first: %s" % (len(dups), dups[0][:300]))
    H.same_lines(check, ref_lines, got, "uninterrupted run", "concatenated runs")
    return cks


def check_resume(ctx):
    c = H.Check(ctx.name("resume/random-sigint"))
    if not ctx.ref:
        c.bad("needs the concurrent check's range")
        return c.finish()
    p0, end, _, _ = ctx.ref
    s, rc = bounded(ctx, H.pos_text(p0), H.pos_text(end))
    t = time.monotonic() - s.started
    if expect_rc(c, s, rc, 0, "uninterrupted run"):
        c.notes.append("uninterrupted run: %d lines in %.1fs" % (len(s.lines), t))
        # Nearly all of this range's bytes are the three 100k-row
        # transactions, and a stop inside one finishes it first: a few
        # stops are all it takes (the stop-at check below stops 12 times).
        resume_runs(ctx, c, H.pos_text(p0), H.pos_text(end), s.lines, "resume", min_stops=3)
    ok = c.finish()
    c = H.Check(ctx.name("resume/slow-reader-bounded-memory"))
    if rc == 0:
        # A reader ~8x slower than the server: the stream must wait for it
        # (backpressure), not buffer the range.
        total = sum(len(x) for x in s.lines)
        rssf = os.path.join(TMP, "rss-slow-%s" % ctx.srv.flavor)
        t0 = time.monotonic()
        slow = H.Stream(ctx.cdc, ctx.srv, ["--start", H.pos_text(p0), "--stop-at", H.pos_text(end)] + FAST,
                        throttle=total / 8.0, wrap=["/usr/bin/time", "-f", "%M", "-o", rssf])
        src = slow.wait(300)
        took = time.monotonic() - t0
        expect_rc(c, slow, src, 0, "slowly read run")
        H.same_lines(c, s.lines, slow.lines, "uninterrupted run", "slowly read run")
        try:
            rss = int(open(rssf).read().split()[-1])
        except (OSError, ValueError, IndexError):
            rss = None
        limit = RSS_LIMIT_KB + (ASAN_BASE_KB if sanitized(ctx.cdc) else 0)
        if rss is None or rss >= limit:
            c.bad("peak RSS %s KB with a slow reader, limit %d KB" % (rss, limit))
        c.notes.append("%d bytes read at %.0f KB/s in %.1fs; peak RSS %s KB" % (total, total / 8.0 / 1024, took, rss))
    ok &= c.finish()
    c = H.Check(ctx.name("resume/random-stop-at-commit"))
    if rc == 0:
        resume_stop_at(ctx, c, H.pos_text(p0), H.pos_text(end), s.lines, "resume")
    return c.finish() and ok


# ------------------------------------------------------------------ faults

def check_faults(ctx):
    srv, db = ctx.srv, "cdc_stream_fault"
    c = H.Check(ctx.name("faults/recover"))
    p0 = srv.position()
    W.setup(srv, db)
    proxy = H.Proxy(srv.port)
    live = H.Stream(ctx.cdc, srv, ["--start", H.pos_text(p0), "--set", "heartbeat.interval.ms=300",
                                   "--set", "heartbeat.timeout.ms=1500",
                                   "--set", "reconnect.backoff.initial.ms=50",
                                   "--set", "reconnect.backoff.max.ms=500"], port=proxy.port)
    gate = W.Gate()
    # The writers go on until the last fault: a cut armed at a byte count
    # needs traffic to reach it.
    faults_done = threading.Event()
    writers = [W.Writer(srv, db, w + 1, 100, SEED * 20 + w, gate=gate, chunk=5, pace=0.05, until=faults_done)
               for w in range(3)]
    for w in writers:
        w.start()
    big_err = []

    def big():
        gate.enter()
        try:
            W.big_and_ddl(srv, db, 30000)
        except RuntimeError as e:
            big_err.append(str(e))
        finally:
            gate.leave()
    threading.Thread(target=big, daemon=True).start()
    log = []

    def step(what, fn):
        time.sleep(rng.uniform(0.8, 1.6))
        before = proxy.accepted
        fn()
        log.append(what)
        end = time.monotonic() + 60
        while proxy.budget is not None and time.monotonic() < end:
            time.sleep(0.05)
        if proxy.budget is not None:
            c.bad("%s: the armed cut did not happen within 60 s" % what)
            proxy.arm_cut(None)
        # Wait until the stream is back (a new upstream connection).
        while proxy.accepted == before and time.monotonic() < end and live.p.poll() is None:
            time.sleep(0.05)
        if proxy.accepted == before:
            c.bad("%s: no new connection within 60 s (stream %s)" % (
                what, "exited %s" % live.p.poll() if live.p.poll() is not None else "still running"))

    def kill_dump():
        ports = set(proxy.upstream_ports)
        ids = [i for i, host in srv.dump_threads() if host and int(host.rsplit(":", 1)[1]) in ports]
        if not ids:
            c.bad("no Binlog Dump thread of the stream in SHOW PROCESSLIST")
            return
        for i in ids:
            srv.sql("KILL %d" % i)

    def stall():
        proxy.stalled.set()
        time.sleep(3.5)  # > heartbeat.timeout.ms
        proxy.stalled.clear()

    def restart():
        gate.hold()
        try:
            srv.restart()
        finally:
            gate.release()

    plan = [("KILL dump thread", kill_dump),
            ("cut at a random byte", lambda: proxy.arm_cut(rng.randint(1, 300000))),
            ("cut now", proxy.cut_all),
            ("stall past the heartbeat timeout", stall),
            ("server restart", restart),
            ("cut early in a connection", lambda: proxy.arm_cut(rng.randint(1, 3000))),
            ("KILL dump thread", kill_dump),
            ("cut at a random byte", lambda: proxy.arm_cut(rng.randint(1, 100000)))]
    for what, fn in plan:
        step(what, fn)
    faults_done.set()
    for w in writers:
        w.join()
    gate.hold()
    gate.release()
    for e in big_err:
        c.bad("large transaction / DDL: %s" % e)
    srv.sql_retry("INSERT INTO `%s`.t_marker VALUES (1, 'end of workload')" % db)
    end = srv.position()
    seen = live.wait_line(H.line_is("t_marker", db), 300)
    live.interrupt()
    rc = live.wait(60)
    proxy.close()
    c.notes.append("faults: %s; %d connections through the proxy, %d cut; writer chunks failed "
                   "by the faults: %d" % (", ".join(log), proxy.accepted, proxy.cuts,
                                          sum(len(w.errors) for w in writers)))
    c.notes.append("stream's stderr: %d lines, e.g. %s" % (len(live.err), " | ".join(live.err[:2])[:300]))
    if not seen:
        c.bad("the marker row written after the workload never arrived (%d lines); stderr: %s" % (
            live.count, live.stderr_tail()))
    expect_rc(c, live, rc, 130, "cdc stream after SIGINT")
    ok = c.finish()

    c = H.Check(ctx.name("faults/no-loss-no-duplicate"))
    mine = H.lines_of(live.lines, db)
    dups = H.duplicates(mine)
    if dups:
        c.bad("%d lines delivered twice, first: %s" % (len(dups), dups[0][:300]))
    s, rc = bounded(ctx, H.pos_text(p0), H.pos_text(end))
    if expect_rc(c, s, rc, 0, "bounded run without faults"):
        H.same_lines(c, H.lines_of(s.lines, db), mine, "run without faults", "run with faults")
    ok &= c.finish()

    c = H.Check(ctx.name("faults/rebuild-vs-select"))
    events = H.parse_lines(c, live.lines, db)
    c.notes.append("%d row changes" % len(events))
    H.compare_with_select(c, srv, db, events)
    return c.finish() and ok


# ------------------------------------------------------------------ gtid

def tool_gtids(srv, files, db):
    """{row id: gtid} from the server's own binlog tool, for inserts into db.g."""
    out = srv.decode_tool([srv.path(f) for f in files])
    if isinstance(out, list):  # [(file, output)] in later versions of the differential test
        out = b"\n".join(o for _, o in out)
    out = out.decode("utf-8", "replace")
    cur, want_id, m = None, False, {}
    for line in out.split("\n"):
        if "GTID_NEXT=" in line:
            cur = line.split("'")[1]
        elif srv.flavor == "mariadb" and line.startswith("#") and re.search(r"\sGTID \d+-\d+-\d+", line):
            cur = re.search(r"\sGTID (\d+-\d+-\d+)", line).group(1)
        elif line.startswith("### INSERT INTO `%s`.`g`" % db):
            want_id = True
        elif want_id and line.startswith("###   @1="):
            m[int(line.split("=", 1)[1].split()[0])] = cur
            want_id = False
    return m


def check_gtid(ctx):
    srv, db = ctx.srv, "cdc_stream_gtid"
    c = H.Check(ctx.name("gtid/per-change"))
    srv.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s;"
            "CREATE TABLE %s.g (id INT PRIMARY KEY, v VARCHAR(20));" % (db, db, db))
    srv.sql("FLUSH BINARY LOGS")
    p0 = srv.position()
    g0 = p0[2]
    first_file = p0[0]
    n, half = 60, 30
    want_sid = {}

    def txn(i):
        if srv.flavor == "mysql":
            tag = ["AUTOMATIC", "AUTOMATIC:tagone", "AUTOMATIC:tag_two"][i % 3]
            pre = "SET gtid_next = '%s';\n" % tag
            want_sid[i] = None
        else:
            dom, sid = i % 3, [1, 7][i % 2]
            pre = "SET SESSION gtid_domain_id = %d; SET SESSION server_id = %d;\n" % (dom, sid)
            want_sid[i] = sid
        body = "INSERT INTO %s.g VALUES (%d, 'v%d');" % (db, i, i)
        if i % 4 == 0:
            body += " UPDATE %s.g SET v = 'u' WHERE id = %d;" % (db, i - 1)
        if i % 5 == 0:
            body += " DELETE FROM %s.g WHERE id = %d;" % (db, i - 2)
        return pre + "BEGIN; " + body + " COMMIT;\n"
    srv.sql("".join(txn(i) for i in range(1, half + 1)))
    mid = srv.gtid_executed()
    srv.sql("".join(txn(i) for i in range(half + 1, n + 1)))
    end = srv.position()
    logs = srv.binlogs()
    files = logs[logs.index(first_file):logs.index(end[0]) + 1]
    s, rc = bounded(ctx, H.pos_text(p0), H.pos_text(end))
    ok = True
    if expect_rc(c, s, rc, 0, "bounded run"):
        ref = H.lines_of(s.lines, db)
        evs = H.parse_lines(c, ref)
        got = {}
        for ev in evs:
            if ev["op"] == "c":
                got[ev["after"]["id"]] = ev.get("gtid")
                sid = want_sid.get(ev["after"]["id"])
                if sid is not None and ev.get("server_id") != sid:
                    c.bad("row %d: server_id %s, written with session server_id %d" % (
                        ev["after"]["id"], ev.get("server_id"), sid))
        tool = tool_gtids(srv, files, db)
        if len(tool) != n:
            c.bad("%s shows %d inserts into %s.g, want %d" % (srv.tool, len(tool), db, n))
        for i in sorted(set(tool) | set(got)):
            if tool.get(i) != got.get(i):
                c.bad("row %d: %s says GTID %s, cdc %s" % (i, srv.tool, tool.get(i), got.get(i)))
        if srv.flavor == "mysql":
            tagged = sum(1 for g in got.values() if g and g.count(":") == 2)
            if tagged != 2 * n // 3:
                c.bad("%d changes carry a tagged GTID, want %d" % (tagged, 2 * n // 3))
        else:
            doms = {g.split("-")[0] for g in got.values() if g}
            if doms != {"0", "1", "2"}:
                c.bad("domains seen %s, want 0, 1, 2" % sorted(doms))
        c.notes.append("%d changes, GTIDs e.g. %s" % (len(evs), ", ".join(sorted({str(g) for g in got.values()})[:3])))
    ok &= c.finish()
    if rc != 0:
        return False

    c = H.Check(ctx.name("gtid/start-from-set"))
    first_after = next((k for k, line in enumerate(ref)
                        if b'"id":%d,' % (half + 1) in line and b'"op":"c"' in line), None)
    if first_after is None:
        c.bad("row %d not in the bounded run" % (half + 1))
    else:
        s2, rc2 = bounded(ctx, "gtid:" + mid, H.pos_text(end))
        if expect_rc(c, s2, rc2, 0, "cdc stream --start gtid:%s" % mid):
            H.same_lines(c, ref[first_after:], H.lines_of(s2.lines, db),
                         "lines after the set", "run from the set")
    ok &= c.finish()

    c = H.Check(ctx.name("gtid/resume-from-gtid-checkpoints"))
    # Started from a GTID set, the checkpoints carry the executed set, so
    # every later run resumes by GTID.
    s3, rc3 = bounded(ctx, "gtid:" + g0, H.pos_text(end))
    if expect_rc(c, s3, rc3, 0, "cdc stream --start gtid:%s" % g0):
        H.same_lines(c, ref, H.lines_of(s3.lines, db), "run from the file position", "run from gtid:" + g0)
        cks = resume_stop_at(ctx, c, "gtid:" + g0, H.pos_text(end), s3.lines, "gtid")
        if cks and not all(srv.gtid_fragment(ck) for ck in cks):
            c.bad("a checkpoint without the executed GTID set: %s" % cks)
    return c.finish() and ok


# ------------------------------------------------------------------ purged

def check_purged(ctx):
    srv = ctx.srv
    ok = True
    srv.sql("FLUSH BINARY LOGS")
    old = srv.position()
    ck = os.path.join(TMP, "ckpt-purged-%s" % srv.flavor)
    # Nothing to stream: --stop-at now must end at once, from a file
    # position and from a GTID set (whose checkpoint then holds a set).
    for label, start, extra in (("from-file-position", H.pos_text(old), []),
                                ("from-gtid-set", "gtid:" + old[2], ["--checkpoint-file", ck])):
        c = H.Check(ctx.name("idle/stop-at-now-" + label))
        s, rc = bounded(ctx, start, "now", extra, timeout=60)
        if rc != 0:
            c.bad("cdc stream --start %s --stop-at now with nothing to stream exited %s, want 0 at "
                  "once; stderr: %s" % (start, rc, s.stderr_tail()))
        if extra and rc == 0 and not os.path.exists(ck):
            c.bad("no checkpoint file written")
        ok &= c.finish()
    srv.sql("CREATE DATABASE IF NOT EXISTS cdc_stream_purge; CREATE TABLE IF NOT EXISTS"
            " cdc_stream_purge.p (id INT PRIMARY KEY); REPLACE INTO cdc_stream_purge.p VALUES (1);"
            "FLUSH BINARY LOGS; REPLACE INTO cdc_stream_purge.p VALUES (2); FLUSH BINARY LOGS;")
    cur = srv.position()[0]
    srv.sql("PURGE BINARY LOGS TO '%s'" % cur)
    cases = [("file-offset", ["--start", H.pos_text(old)]), ("gtid-set", ["--start", "gtid:" + old[2]])]
    if os.path.exists(ck):
        cases.append(("checkpoint-file", ["--checkpoint-file", ck]))
    for label, args in cases:
        c = H.Check(ctx.name("purged/" + label))
        s2, rc2 = H.run_stream(ctx.cdc, srv, args + ["--stop-at", "now"], timeout=120)
        msg = " ".join(s2.err)
        if rc2 != 1:
            c.bad("exit %s, want 1; stderr: %s" % (rc2, s2.stderr_tail()))
        if "purged" not in msg.lower():
            c.bad("stderr does not say the position was purged: %s" % s2.stderr_tail())
        c.notes.append("stderr: %s" % msg[-300:])
        ok &= c.finish()
    return ok


# ------------------------------------------------------------------ memory

def sanitized(cdc):
    """True for a cdc binary built with ASan (CI's build): its RSS is
    shadow memory and quarantine more than the program's own."""
    with open(cdc, "rb") as f:
        return b"__asan_init" in f.read()


def peak_rss(ctx, start, stop, rssf, on_line=None, env_asan=False):
    wrap = ["/usr/bin/time", "-f", "%M", "-o", rssf]
    if env_asan:
        # Freed blocks go back at once, so the peak follows live memory.
        wrap = ["env", "ASAN_OPTIONS=%s:quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
                % os.environ.get("ASAN_OPTIONS", "")] + wrap
    s, rc = H.run_stream(ctx.cdc, ctx.srv, ["--start", start, "--stop-at", stop] + FAST,
                         keep=False, wrap=wrap, timeout=900, on_line=on_line)
    try:
        rss = int(open(rssf).read().split()[-1])
    except (OSError, ValueError, IndexError):
        rss = None
    return s, rc, rss


def check_memory(ctx, mb):
    srv, db = ctx.srv, "cdc_stream_mem"
    ok = True
    asan = sanitized(ctx.cdc)
    side = 1
    while side * side * 1024 < mb * 1024 * 1024:
        side *= 2
    rows = side * side
    # A BLACKHOLE table keeps nothing but binlogs every row, so the 1 GB
    # costs the server binlog writes only; side x side rows of 1 KB.
    if srv.flavor == "mariadb" and not any(r[0] == "BLACKHOLE" for r in srv.sql("SHOW ENGINES")):
        srv.sql("INSTALL SONAME 'ha_blackhole'")
    srv.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s; USE %s;"
            "CREATE TABLE d10 (n INT PRIMARY KEY); INSERT INTO d10 VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);"
            "CREATE TABLE src (id INT PRIMARY KEY, pad VARCHAR(1100));"
            "CREATE TABLE bh (id BIGINT PRIMARY KEY, pad VARCHAR(1100)) ENGINE=BLACKHOLE;"
            "INSERT INTO src SELECT a.n*1000+b.n*100+c.n*10+d.n, REPEAT(CHAR(65 + (a.n+b.n+c.n+d.n) MOD 26), 1000)"
            " FROM d10 a, d10 b, d10 c, d10 d WHERE a.n*1000+b.n*100+c.n*10+d.n < %d" % (db, db, db, side))
    def txn(comp, n):
        """One transaction of n x n rows; returns its start and end positions."""
        p0 = srv.position()
        if srv.flavor == "mysql":
            # One TRANSACTION_PAYLOAD event holding the whole transaction.
            srv.sql("SET SESSION binlog_transaction_compression = %s; USE %s; BEGIN; INSERT INTO bh"
                    " SELECT a.id * %d + b.id, a.pad FROM src a CROSS JOIN src b WHERE a.id < %d AND b.id < %d;"
                    " COMMIT;" % (comp, db, n, n, n))
        else:
            # MariaDB compresses each row event on its own (a global setting).
            old = srv.sql("SELECT @@GLOBAL.log_bin_compress, @@GLOBAL.log_bin_compress_min_len")[0]
            srv.sql("SET GLOBAL log_bin_compress = %s, GLOBAL log_bin_compress_min_len = 10" % comp)
            try:
                srv.sql("USE %s; BEGIN; INSERT INTO bh SELECT a.id * %d + b.id, a.pad FROM src a"
                        " CROSS JOIN src b WHERE a.id < %d AND b.id < %d; COMMIT;" % (db, n, n, n))
            finally:
                srv.sql("SET GLOBAL log_bin_compress = %s, GLOBAL log_bin_compress_min_len = %s" % (
                    old[0], old[1]))
        return p0, srv.position()

    for label, comp in (("plain", "OFF"), ("compressed", "ON")):
        c = H.Check(ctx.name("memory/%dMB-%s" % (mb, label)))
        base = None
        if asan:
            # Under ASan the limit applies to the growth over the peak of
            # a 1 MB transaction; release builds are held to it absolutely.
            b0, b1 = txn(comp, 32)
            _, brc, base = peak_rss(ctx, H.pos_text(b0), H.pos_text(b1),
                                    os.path.join(TMP, "rss-base"), env_asan=True)
            if brc != 0 or base is None:
                c.bad("baseline run (1 MB transaction) exited %s, RSS %s" % (brc, base))
                ok &= c.finish()
                continue
        t0 = time.time()
        p0, end = txn(comp, side)
        gen = time.time() - t0
        size = srv.binlog_bytes(p0, end)
        rssf = os.path.join(TMP, "rss-%s-%s" % (srv.flavor, label))
        t1 = time.time()
        seen = {"ids": 0, "bad": []}
        row_re = re.compile(rb'"after":\{"id":(\d+),"pad":"([A-Z]{1000})"\}')

        def tally(line):
            m = row_re.search(line)
            if m:
                seen["ids"] += int(m.group(1))
            elif len(seen["bad"]) < 3:
                seen["bad"].append(line[:200])
        s, rc, rss = peak_rss(ctx, H.pos_text(p0), H.pos_text(end), rssf, tally, env_asan=asan)
        took = time.time() - t1
        expect_rc(c, s, rc, 0, "cdc stream")
        if s.count != rows:
            c.bad("%d lines, want %d rows" % (s.count, rows))
        if seen["bad"]:
            c.bad("lines that are not a bh row with a 1000-letter pad: %s" % seen["bad"])
        if seen["ids"] != rows * (rows - 1) // 2:
            c.bad("the ids streamed sum to %d, want %d (the sum of 0..%d)" % (
                seen["ids"], rows * (rows - 1) // 2, rows - 1))
        if rss is None:
            c.bad("no peak RSS from /usr/bin/time")
        elif rss - (base or 0) >= RSS_LIMIT_KB:
            c.bad("peak RSS %d KB%s, limit %d KB" % (
                rss, " (%d KB over the baseline)" % (rss - base) if base else "", RSS_LIMIT_KB))
        c.notes.append("%d rows x 1 KB in one transaction, binlog %s bytes (written in %.0fs); streamed in "
                       "%.0fs, peak RSS %s KB%s" % (rows, size, gen, took, rss,
                                                     ", ASan build: baseline %s KB" % base if asan else ""))
        ok &= c.finish()
    return ok


CHECKS = ["concurrent", "resume", "faults", "gtid", "memory", "purged"]


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cdc = os.path.abspath(args.pop(0))
    if not os.access(cdc, os.X_OK):
        H.die("%s is not an executable cdc binary" % cdc)
    # 1 GB takes about a minute a case here, more under ASan, where the
    # CI budget is: sanitized builds default to 256 MB (docs/performance.md).
    only = os.environ.get("CDC_STREAM_ONLY", "").split(",") if os.environ.get("CDC_STREAM_ONLY") else CHECKS
    flavors = ["mariadb", "mysql"]
    mb = int(os.environ.get("CDC_STREAM_BIG_MB", "0")) or (256 if sanitized(cdc) else 1024)
    while args:
        a = args.pop(0)
        if a == "--only":
            only = args.pop(0).split(",")
        elif a == "--flavor":
            flavors = args.pop(0).split(",")
        elif a == "--big-mb":
            mb = int(args.pop(0))
        else:
            H.die("unknown argument %s" % a)
    if not os.access(cdc, os.X_OK):
        H.die("%s is not an executable cdc binary" % cdc)
    print("stream: seed %d (CDC_STREAM_SEED=%d repeats this run)" % (SEED, SEED))
    failed = 0
    for f in flavors:
        ctx = Ctx(cdc, H.Server(f))
        for name in CHECKS:
            if name not in only:
                continue
            if name == "resume" and "concurrent" not in only:
                continue
            t0 = time.time()
            try:
                if name == "memory":
                    r = check_memory(ctx, mb)
                else:
                    r = globals()["check_" + name](ctx)
            except (RuntimeError, ValueError, KeyError, IndexError, OSError) as e:
                c = H.Check(ctx.name(name))
                c.bad("%s: %s" % (type(e).__name__, e))
                r = c.finish()
            print("  (%s/%s took %.0fs)" % (f, name, time.time() - t0))
            sys.stdout.flush()
            failed += 0 if r else 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
