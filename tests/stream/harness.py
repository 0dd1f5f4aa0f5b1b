"""What the stream tests share: servers, `cdc stream` processes, a fault
proxy, and a replay of JSON lines fast enough for 100k-row transactions.

The canonical value forms, the comparison with SELECT and the server
client come from tests/differential (imported, not copied).
"""
import importlib.util
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DIFF = os.path.join(os.path.dirname(HERE), "differential")
sys.path.insert(0, DIFF)
_spec = importlib.util.spec_from_file_location("diffrun", os.path.join(DIFF, "run.py"))
diff = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(diff)
canon = diff.canon
Check = diff.Check


def die(msg):
    print("stream: " + msg, file=sys.stderr)
    print("[  FAILED  ] stream/setup")
    sys.exit(1)


diff.die = die  # setup errors of the shared Server class name this test


class Server(diff.Server):
    """A test server: SQL as root through testenv.sh, plus positions,
    the process list and restarts."""

    def __init__(self, flavor):
        super().__init__(flavor)
        self.port = int(diff.env("CDC_TEST_%s_PORT" % flavor.upper()))
        self.password = diff.env("CDC_TEST_PASSWORD")

    def position(self):
        """(file, offset, gtid set) at the end of the binlog."""
        if self.flavor == "mysql":
            r = self.sql("SHOW BINARY LOG STATUS")[0]
            return r[0], int(r[1]), (r[4] or "").replace("\\n", "").replace("\n", "")
        r = self.sql("SHOW MASTER STATUS")[0]
        g = self.sql("SELECT @@GLOBAL.gtid_binlog_pos")[0][0] or ""
        return r[0], int(r[1]), g

    def gtid_executed(self):
        if self.flavor == "mysql":
            return (self.sql("SELECT @@GLOBAL.gtid_executed")[0][0] or "").replace("\n", "")
        return self.sql("SELECT @@GLOBAL.gtid_binlog_pos")[0][0] or ""

    def gtid_fragment(self, checkpoint):
        """True if the checkpoint text holds a GTID of this server's kind."""
        if self.flavor == "mysql":
            return re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:", checkpoint) is not None
        return re.search(r"\b\d+-\d+-\d+\b", checkpoint) is not None

    def binlog_bytes(self, a, b):
        """Bytes of binlog between positions a and b."""
        sizes = [(r[0], int(r[1])) for r in self.sql("SHOW BINARY LOGS")]
        names = [n for n, _ in sizes]
        i, j = names.index(a[0]), names.index(b[0])
        return sum(sz for _, sz in sizes[i:j]) - a[1] + b[1]

    def dump_threads(self):
        """[(id, host)] of the binlog dump threads (our streams' server side)."""
        return [(int(r[0]), r[2]) for r in self.sql("SHOW PROCESSLIST")
                if r[4] and r[4].startswith("Binlog Dump")]

    def restart(self):
        r = subprocess.run([self.testenv, "restart", self.flavor], capture_output=True)
        if r.returncode != 0:
            raise RuntimeError("testenv.sh restart %s: %s" % (
                self.flavor, r.stderr.decode("utf-8", "replace")[-1500:]))

    def sql_retry(self, script, tries=60):
        for i in range(tries):
            try:
                return self.sql(script)
            except RuntimeError:
                if i == tries - 1:
                    raise
                time.sleep(0.5)


def local_ports(pid):
    """Local TCP ports of the sockets process pid has open."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if t.startswith("socket:["):
                inodes.add(t[8:-1])
    except OSError:
        return set()
    ports = set()
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(f) as fh:
                next(fh)
                for line in fh:
                    parts = line.split()
                    if parts[9] in inodes:
                        ports.add(int(parts[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


_server_ids = random.Random(os.getpid()).sample(range(20000, 60000), 2000)


def new_server_id():
    return _server_ids.pop()


class Stream:
    """One `cdc stream` process; its stdout lines are collected by a thread
    (keep=False only counts them and keeps the last one)."""

    def __init__(self, cdc, srv, args, port=None, keep=True, user="cdc_repl", server_id=None,
                 wrap=(), throttle=None, on_line=None):
        self.server_id = server_id or new_server_id()
        self.cmd = list(wrap) + [cdc, "stream", "--host", "127.0.0.1", "--port", str(port or srv.port),
                                 "--user", user, "--server-id", str(self.server_id)] + list(args)
        e = dict(os.environ)
        e["CDC_PASSWORD"] = srv.password
        self.lines, self.count, self.last = [], 0, None
        self.err = []
        self.keep = keep
        self.throttle = throttle  # bytes/s this reader takes at most: a slow consumer
        self.on_line = on_line    # called with each line, on the reader thread
        self.started = time.monotonic()
        self.p = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
        self.cv = threading.Condition()
        self.t_out = threading.Thread(target=self._out, daemon=True)
        self.t_err = threading.Thread(target=self._err, daemon=True)
        self.t_out.start()
        self.t_err.start()

    def _out(self):
        if self.throttle:
            return self._out_slow()
        for line in self.p.stdout:
            self._took([line])

    def _took(self, lines):
        if self.on_line:
            for line in lines:
                self.on_line(line)
        with self.cv:
            self.count += len(lines)
            self.last = lines[-1]
            if self.keep:
                self.lines.extend(lines)
            self.cv.notify_all()

    def _out_slow(self):
        fd, buf, chunk = self.p.stdout.fileno(), b"", 4096
        while True:
            t = time.monotonic()
            data = os.read(fd, chunk)
            if not data:
                break
            buf += data
            *lines, buf = buf.split(b"\n")
            if lines:
                self._took([x + b"\n" for x in lines])
            time.sleep(max(0.0, len(data) / self.throttle - (time.monotonic() - t)))
        if buf:
            self._took([buf])

    def _err(self):
        for line in self.p.stderr:
            self.err.append(line.decode("utf-8", "replace").rstrip("\n"))

    def wait_line(self, pred, timeout):
        """Waits until some line satisfies pred(line bytes); False on timeout/exit."""
        end = time.monotonic() + timeout
        seen = 0
        while True:
            with self.cv:
                while seen < len(self.lines):
                    if pred(self.lines[seen]):
                        return True
                    seen += 1
                if self.p.poll() is not None and not self.t_out.is_alive():
                    return False
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cv.wait(min(left, 0.2))

    def interrupt(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)

    def wait(self, timeout=300):
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            rc = "timeout after %ds" % timeout
        self.t_out.join(30)
        self.t_err.join(30)
        return rc

    def checkpoint(self):
        """The "checkpoint: ..." line printed at exit, or None."""
        for line in reversed(self.err):
            if line.startswith("checkpoint: "):
                return line[len("checkpoint: "):]
        return None

    def stderr_tail(self, n=12):
        return " | ".join(self.err[-n:])


def run_stream(cdc, srv, args, timeout=600, **kw):
    s = Stream(cdc, srv, args, **kw)
    rc = s.wait(timeout)
    return s, rc


# ------------------------------------------------------------------ proxy

class Proxy:
    """A loopback TCP proxy in front of a server, which the test can make
    cut every connection after a random number of server bytes, cut them
    now, or stall (stop forwarding without closing, as a dead peer does)."""

    def __init__(self, target_port):
        self.target = target_port
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []          # [client, upstream] pairs alive
        self.upstream_ports = set()
        self.budget = None       # server bytes left before the cut, when armed
        self.stalled = threading.Event()
        self.cuts = 0
        self.accepted = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            pair = [c, u]
            with self.lock:
                self.conns.append(pair)
                self.upstream_ports.add(u.getsockname()[1])
                self.accepted += 1
            threading.Thread(target=self._pump, args=(c, u, pair, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, pair, True), daemon=True).start()

    def _close(self, pair, rst=False):
        with self.lock:
            if pair in self.conns:
                self.conns.remove(pair)
        for s in pair:
            try:
                if rst:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    def _pump(self, src, dst, pair, from_server):
        try:
            while True:
                while self.stalled.is_set() and pair in self.conns:
                    time.sleep(0.05)
                data = src.recv(65536)
                if not data:
                    break
                if from_server:
                    with self.lock:
                        b = self.budget
                        if b is not None:
                            if len(data) >= b:
                                data = data[:b]
                                self.budget = None
                                cut = True
                            else:
                                self.budget = b - len(data)
                                cut = False
                        else:
                            cut = False
                    if data:
                        dst.sendall(data)
                    if cut:
                        self.cuts += 1
                        self._close(pair, rst=random.random() < 0.5)
                        return
                else:
                    dst.sendall(data)
        except OSError:
            pass
        self._close(pair)

    def arm_cut(self, nbytes):
        """Cuts the connection carrying the server's next nbytes-th byte."""
        with self.lock:
            self.budget = nbytes

    def cut_all(self):
        with self.lock:
            pairs = list(self.conns)
        for p in pairs:
            self._close(p, rst=True)
        self.cuts += len(pairs)

    def close(self):
        self.closed = True
        self.stalled.clear()
        try:
            self.ls.close()
        except OSError:
            pass
        self.cut_all()


# ------------------------------------------------------------------ replay

class Replay:
    """Applies `cdc dump`/`cdc stream` row changes to in-memory tables.

    Rows are found by their whole before image through a hash index, so
    a 100k-row UPDATE takes seconds, not hours. ADD/DROP COLUMN: when an
    image's column list differs from the table's, existing rows gain NULL
    in new columns and lose dropped ones (the workload adds only nullable
    columns without defaults, so SELECT agrees). The result feeds the
    differential test's compare_tables()."""

    def __init__(self, check):
        self.check = check
        self.rows = {}    # table -> {rid: row dict}
        self.index = {}   # table -> {frozen image: set(rid)}
        self.order = {}   # table -> column list of the last image
        self.rid = 0

    @staticmethod
    def _frz(row):
        return tuple(sorted((k, diff.freeze(v)) for k, v in row.items()))

    def _reshape(self, t, cols):
        rows = self.rows.setdefault(t, {})
        idx = {}
        for rid, r in rows.items():
            for k in list(r):
                if k not in cols:
                    del r[k]
            for k in cols:
                r.setdefault(k, None)
            idx.setdefault(self._frz(r), set()).add(rid)
        self.index[t] = idx
        self.order[t] = list(cols)

    def apply(self, ev):
        t, op = ev["table"], ev["op"]
        before, after = ev.get("before"), ev.get("after")
        img = after if op == "c" else before
        if not isinstance(img, dict):
            self.check.bad("%s %s at %s: no %s image" % (t, op, diff.pos(ev), "after" if op == "c" else "before"))
            return
        cols = list(img)
        if self.order.get(t) != cols:
            self._reshape(t, cols)
        rows, idx = self.rows[t], self.index[t]
        if op == "c":
            if before is not None:
                self.check.bad("%s insert at %s has a before image" % (t, diff.pos(ev)))
            self.rid += 1
            rows[self.rid] = dict(after)
            idx.setdefault(self._frz(after), set()).add(self.rid)
            return
        if op not in ("u", "d"):
            self.check.bad("%s: unknown op %r at %s" % (t, op, diff.pos(ev)))
            return
        key = self._frz(before)
        ids = idx.get(key)
        if not ids:
            self.check.bad("%s %s at %s: no row matches the before image %s" % (
                t, op, diff.pos(ev), canon.json_text(before)[:200]))
            return
        rid = min(ids)
        ids.discard(rid)
        if not ids:
            del idx[key]
        if op == "d":
            if after is not None:
                self.check.bad("%s delete at %s has an after image" % (t, diff.pos(ev)))
            del rows[rid]
            return
        if not isinstance(after, dict) or list(after) != cols:
            self.check.bad("%s update at %s: after image columns %s, before %s" % (
                t, diff.pos(ev), list(after or {}), cols))
            return
        rows[rid] = dict(after)
        idx.setdefault(self._frz(after), set()).add(rid)

    @property
    def tables(self):
        return {t: list(r.values()) for t, r in self.rows.items()}


def parse_lines(check, lines, db=None):
    """JSON lines (bytes) -> events, those of db only when given."""
    out = []
    for i, line in enumerate(lines):
        try:
            ev = canon.load_json_line(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            check.bad("output line %d is not JSON (%s): %r" % (i + 1, e, line[:200]))
            continue
        if db is None or ev.get("db") == db:
            out.append(ev)
    return out


def compare_with_select(check, srv, db, events):
    """Rebuilds db's tables from events and compares them with SELECT."""
    replay = Replay(check)
    for ev in events:
        replay.apply(ev)
    columns = diff.table_columns(srv, db)
    columns.pop("d10", None)
    replay.rows.pop("d10", None)
    selected = {t: diff.select_table(srv, db, t, cols) for t, cols in columns.items()}
    diff.compare_tables(check, replay, selected, columns)
    for t in replay.rows:
        if t not in columns:
            check.bad("%s: in the stream but not on the server" % t)


def duplicates(lines):
    seen, dups = set(), []
    for line in lines:
        if line in seen:
            dups.append(line)
        seen.add(line)
    return dups


def same_lines(check, want, got, what_want, what_got):
    """Exact line equality, reporting the first difference."""
    if want == got:
        return True
    n = min(len(want), len(got))
    i = next((k for k in range(n) if want[k] != got[k]), n)
    check.bad("%s has %d lines, %s %d; first difference at line %d:\n    %s: %s\n    %s: %s" % (
        what_want, len(want), what_got, len(got), i + 1,
        what_want, want[i][:300] if i < len(want) else "(end)",
        what_got, got[i][:300] if i < len(got) else "(end)"))
    return False


def pos_text(p):
    return "%s:%d" % (p[0], p[1])


def line_is(table, db):
    """Predicate on a raw JSON line: a change of db.table."""
    tb = table.encode()

    def pred(line):
        if tb not in line:
            return False
        try:
            ev = json.loads(line)
        except ValueError:
            return False
        return ev.get("db") == db and ev.get("table") == table
    return pred


def lines_of(lines, db):
    """The raw lines whose change belongs to db."""
    out = []
    for line in lines:
        try:
            if json.loads(line).get("db") == db:
                out.append(line)
        except ValueError:
            out.append(line)  # kept: the comparison then shows it
    return out


def run_per_server(name, flavors, run):
    """Calls run(flavor) -> bool for each flavour, a server that is not up
    counting as a failure (never a skip), prints "N passed, N failed" and
    exits with the outcome."""
    up = diff.env("CDC_TEST_SERVERS").split()
    passed = failed = 0
    for fl in flavors:
        if fl not in up:
            print("[  FAILED  ] %s/%s: the %s test server is not running" % (name, fl, fl))
            failed += 1
        elif run(fl):
            passed += 1
        else:
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
