#!/usr/bin/env python3
"""`cdc stream --snapshot` hands off to the change stream with no gap and no
duplicate, through the command line and its checkpoint file.

usage: cli_handoff.py CDC_BINARY

On each server, while a writer inserts, updates and deletes rows of a table
without pause:
  run 1  cdc stream --snapshot initial_only --checkpoint-file F
         prints the table as "op":"r" lines at the snapshot point and leaves
         that point in F;
then the writer stops, and
  run 2  cdc stream --checkpoint-file F --stop-at now
         prints the changes from that point to the end.
The "r" rows plus the changes, applied in order (an insert must find its key
free, an update or delete must find exactly its before image), must equal
SELECT of the table. Runs with snapshot.parallelism 1 and 4. Also checks
the modes no_data, when_needed (no checkpoint), never and initial, and
(MySQL) that a long statement does not stall the snapshot's read lock
past snapshot.lock.timeout.ms. Prints
"[       OK ] name" or "[  FAILED  ] name". Needs tests/servers/testenv.sh's
servers and environment; fails, never skips, without them.
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "differential"))
import run as diff  # noqa: E402  (its Server runs SQL through testenv.sh)

DB = "cdc_snap_cli"
ROWS = 3000


class Writer(threading.Thread):
    """One client session fed statements until stop(): autocommit inserts,
    updates, deletes and small multi-statement transactions."""

    def __init__(self, server, seed):
        super().__init__(daemon=True)
        cmd = [server.testenv, server.flavor, "--batch", "--skip-column-names", DB]
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        self.rnd = random.Random(seed)
        self.halt = threading.Event()
        self.ops = 0

    def run(self):
        r = self.rnd
        while not self.halt.is_set():
            k = r.randrange(ROWS * 2)
            c = r.randrange(8)
            if c < 2:
                s = "INSERT IGNORE INTO t VALUES (%d, %d, 'ins-%d');" % (k, r.randrange(1000), self.ops)
            elif c < 5:
                s = "UPDATE t SET v = v + 1, s = 'upd-%d' WHERE id = %d;" % (self.ops, k)
            elif c < 6:
                s = "DELETE FROM t WHERE id = %d;" % k
            else:
                s = ("BEGIN; DELETE FROM t WHERE id = %d; INSERT IGNORE INTO t VALUES (%d, 7, 'txn-%d');"
                     " UPDATE t SET v = v * 2 WHERE id BETWEEN %d AND %d; COMMIT;" % (k, k, self.ops, k, k + 9))
            self.p.stdin.write((s + "\n").encode())
            self.p.stdin.flush()
            self.ops += 1
            time.sleep(0.002)

    def stop(self):
        self.halt.set()
        self.join()
        self.p.stdin.close()
        if self.p.wait() != 0:
            raise RuntimeError("writer failed: " + self.p.stderr.read().decode()[-500:])


def cdc_stream(binary, server, args):
    port = os.environ["CDC_TEST_%s_PORT" % server.flavor.upper()]
    env = dict(os.environ, CDC_PASSWORD=os.environ["CDC_TEST_PASSWORD"])
    cmd = [binary, "stream", "--host", "127.0.0.1", "--port", port, "--user", "root",
           "--ssl-mode", "required", "--server-id", str(4800 + random.randrange(100)),
           "--tables", DB + ".t"] + args
    p = subprocess.run(cmd, capture_output=True, env=env, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), p.returncode, p.stderr.decode()[-2000:]))
    return [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()], p.stderr.decode()


def check(binary, flavor, par):
    name = "cli_handoff/%s/parallelism_%d" % (flavor, par)
    srv = diff.Server(flavor)
    srv.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s;"
            " CREATE TABLE %s.t (id INT PRIMARY KEY, v BIGINT NOT NULL, s VARCHAR(32) NOT NULL);" % (DB, DB, DB))
    srv.sql("".join("INSERT INTO %s.t VALUES (%d, %d, 'row-%d');\n" % (DB, i, i * 3, i)
                    for i in range(0, ROWS * 2, 2)))
    w = Writer(srv, 1000 + par)
    w.start()
    time.sleep(0.3)
    with tempfile.TemporaryDirectory() as tmp:
        ck = os.path.join(tmp, "checkpoint")
        ops0 = w.ops
        snap, err1 = cdc_stream(binary, srv, ["--snapshot", "initial_only", "--checkpoint-file", ck,
                                              "--set", "snapshot.parallelism=%d" % par,
                                              "--set", "snapshot.chunk.rows=100"])
        during = w.ops - ops0
        time.sleep(0.3)
        w.stop()
        with open(ck) as f:
            point = f.read().strip()
        changes, _ = cdc_stream(binary, srv, ["--checkpoint-file", ck, "--stop-at", "now"])

    state, problems = {}, []
    for r in snap:
        if r["op"] != "r" or r["before"] is not None:
            problems.append("snapshot line is not a read: %s" % r)
            continue
        if r["after"]["id"] in state:
            problems.append("snapshot row %s twice" % r["after"]["id"])
        state[r["after"]["id"]] = r["after"]
        p = r["pos"]
        if not point.startswith("cdc1:file=%s;pos=%d" % (p["file"], p["offset"])):
            problems.append("snapshot row pos %s is not the checkpoint %s" % (p, point))
    for c in changes:
        b, a = c["before"], c["after"]
        if c["op"] in ("u", "d"):
            if state.get(b["id"]) != b:
                problems.append("%s of %s finds %s (gap or repeat)" % (c["op"], b, state.get(b["id"])))
            state.pop(b["id"], None)
        if c["op"] in ("c", "u"):
            if a["id"] in state:
                problems.append("insert of existing %s (repeat)" % a)
            state[a["id"]] = a
    final = {int(r[0]): {"id": int(r[0]), "v": int(r[1]), "s": r[2]}
             for r in srv.sql("SELECT id, v, s FROM %s.t" % DB)}
    if state != final:
        diffs = [k for k in set(state) | set(final) if state.get(k) != final.get(k)]
        problems.append("%d rows differ from SELECT, e.g. %s: rebuilt %s, SELECT %s" % (
            len(diffs), diffs[0], state.get(diffs[0]), final.get(diffs[0])))
    if during == 0:
        problems.append("the writer did not write during the snapshot")
    print("%s: %d snapshot rows, %d writes during the snapshot, %d changes after %s" % (
        name, len(snap), during, len(changes), point))
    for p in problems[:10]:
        print("  " + p)
    print("[  FAILED  ] " + name if problems else "[       OK ] " + name)
    return not problems


def modes(binary, flavor):
    """no_data: the point and no rows; when_needed without a checkpoint:
    a snapshot; never: no rows."""
    name = "cli_modes/" + flavor
    srv = diff.Server(flavor)
    srv.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s; CREATE TABLE %s.t (id INT PRIMARY KEY,"
            " v BIGINT NOT NULL, s VARCHAR(32) NOT NULL); INSERT INTO %s.t VALUES (1, 2, 'a'), (3, 4, 'b');"
            % (DB, DB, DB, DB))
    problems = []
    for mode, want in (("no_data", 0), ("when_needed", 2), ("never", 0), ("initial", 2)):
        lines, err = cdc_stream(binary, srv, ["--snapshot", mode, "--stop-at", "now"])
        reads = [l for l in lines if l["op"] == "r"]
        if len(reads) != want or len(lines) != want:
            problems.append("--snapshot %s: %d lines, %d reads, want %d reads" % (mode, len(lines), len(reads), want))
        if "checkpoint: cdc1:" not in err:
            problems.append("--snapshot %s: no checkpoint on stderr" % mode)
    for p in problems:
        print("  " + p)
    print("[  FAILED  ] " + name if problems else "[       OK ] " + name)
    return not problems


def lock_wait(binary, flavor):
    """A long statement on another table must not stall the snapshot: the
    point's FLUSH TABLES WITH READ LOCK waits snapshot.lock.timeout.ms,
    then LOCK TABLES ... READ on the captured table takes the point. A
    long statement on the captured table itself ends the snapshot with an
    error naming it, after the same wait (MySQL: the lock is taken there
    at every snapshot)."""
    name = "cli_lock_wait/" + flavor
    srv = diff.Server(flavor)
    srv.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s; CREATE TABLE %s.t (id INT PRIMARY KEY,"
            " v BIGINT NOT NULL, s VARCHAR(32) NOT NULL); INSERT INTO %s.t VALUES (1, 2, 'a'), (3, 4, 'b');"
            " CREATE TABLE %s.other (id INT PRIMARY KEY); INSERT INTO %s.other VALUES (1);" % ((DB,) * 6))
    problems = []
    for target, want_ok in (("other", True), ("t", False)):
        slow = subprocess.Popen([os.environ["CDC_TEST_TESTENV"], flavor, "-e",
                                 "UPDATE %s.%s SET id = id WHERE id = 1 AND SLEEP(8) = 0" % (DB, target)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)
        t0 = time.time()
        try:
            lines, err = cdc_stream(binary, srv, ["--snapshot", "initial_only",
                                                  "--set", "snapshot.lock.timeout.ms=1000"])
            ok, took = True, time.time() - t0
        except RuntimeError as e:
            ok, took, lines, err = False, time.time() - t0, [], str(e)
        slow.wait()
        if want_ok:
            if not ok or len([l for l in lines if l["op"] == "r"]) != 2:
                problems.append("long statement on another table: the snapshot failed or lost rows: %s" % err[-500:])
            elif "waited 1 s" not in err or "LOCK TABLES ... READ instead" not in err:
                problems.append("long statement on another table: no warning of the fallback: %s" % err[-500:])
        else:
            if ok:
                problems.append("long statement on the captured table: the snapshot did not fail")
            elif "waited 1 s for running statements" not in err or "SLEEP(8)" not in err:
                problems.append("long statement on the captured table: the error does not name the wait and the "
                                "statement: %s" % err[-800:])
        if took > 6:
            problems.append("%s: the snapshot took %.1f s, not about the 1 s lock timeout" % (target, took))
    for p in problems:
        print("  " + p)
    print("[  FAILED  ] " + name if problems else "[       OK ] " + name)
    return not problems


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    ok = True
    ok &= lock_wait(sys.argv[1], "mysql")
    for flavor in ("mariadb", "mysql"):
        ok &= modes(sys.argv[1], flavor)
        for par in (1, 4):
            ok &= check(sys.argv[1], flavor, par)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
