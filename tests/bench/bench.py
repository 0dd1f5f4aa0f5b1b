#!/usr/bin/env python3
"""Latency and throughput of libcdc against the servers' own binlog tools.

usage: bench.py CDC_BINARY [--flavor mysql,mariadb] [--rate N] [--count N] [--rows N]
                [--only latency,throughput]

latency     A writer commits single-row transactions at a steady rate
            (default 100/s, 3000 of them), each row carrying the server's
            clock at the start of its INSERT (NOW(6); same host). Two consumers follow
            the binlog at once over loopback: `cdc stream` and the server's
            own tool (`mysqlbinlog --read-from-remote-source --stop-never
            -vv` on MySQL, `mariadb-binlog --read-from-remote-server
            --stop-never -vv` on MariaDB). Each one's stdout is a pty, so
            both flush lines as a terminal would; a line's latency is its
            arrival time minus the time in the row. Prints p50/p90/p99/max.
throughput  A binlog file of --rows single-row-event rows (6 columns of
            common types, 1000 rows per event) decoded from disk by
            `cdc dump FILE` and `mysqlbinlog -vv --base64-output=DECODE-ROWS
            FILE`, output to /dev/null; best of 3 runs; rows/s and ratio.

Needs the servers of tests/servers/testenv.sh and its environment.
docs/performance.md has the figures of one run and how to repeat it.
"""
import json
import os
import platform
import pty
import select
import signal
import subprocess
import sys
import threading
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "stream"))
import harness as H  # noqa: E402

DB = "cdc_bench"


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


class PtyReader:
    """Runs cmd with stdout on a pty; on_line(bytes line, arrival ns)."""

    def __init__(self, cmd, env, on_line):
        master, slave = pty.openpty()
        tty.setraw(slave)
        self.p = subprocess.Popen(cmd, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                  env=env, start_new_session=True)
        os.close(slave)
        self.master, self.on_line = master, on_line
        self.err = b""
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()
        threading.Thread(target=self._err, daemon=True).start()

    def _err(self):
        self.err = self.p.stderr.read()

    def _run(self):
        buf = b""
        while True:
            r, _, _ = select.select([self.master], [], [], 0.5)
            if not r:
                if self.p.poll() is not None:
                    return
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            now = time.time_ns()
            buf += data
            *lines, buf = buf.split(b"\n")
            for line in lines:
                self.on_line(line.rstrip(b"\r"), now)

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGINT)
            except OSError:
                pass
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self.t.join(5)
        os.close(self.master)


def peer_cmd(srv, start):
    pw = srv.password
    if srv.flavor == "mysql":
        return [srv.testenv, "mysqlbinlog", "--read-from-remote-source=BINLOG-DUMP-NON-GTIDS",
                "--stop-never", "--connection-server-id=%d" % H.new_server_id(), "-vv",
                "--base64-output=DECODE-ROWS", "--protocol=TCP", "-h127.0.0.1", "-P%d" % srv.port,
                "-ucdc_repl", "-p" + pw, "--start-position=%d" % start[1], start[0]]
    return [srv.testenv, "mariadb-binlog", "--read-from-remote-server", "--stop-never",
            "--stop-never-slave-server-id=%d" % H.new_server_id(), "-vv",
            "--base64-output=DECODE-ROWS", "--protocol=TCP", "-h127.0.0.1", "-P%d" % srv.port,
            "-ucdc_repl", "-p" + pw, "--start-position=%d" % start[1], start[0]]


def latency(cdc, srv, rate, count):
    srv.sql("CREATE DATABASE IF NOT EXISTS %s; DROP TABLE IF EXISTS %s.lat;"
            "CREATE TABLE %s.lat (id INT PRIMARY KEY, t_ns BIGINT)" % (DB, DB, DB))
    start = srv.position()
    got = {"cdc": {}, "peer": {}}
    env = dict(os.environ)
    env["CDC_PASSWORD"] = srv.password

    def on_cdc(line, now):
        if b'"table":"lat"' in line:
            a = json.loads(line)["after"]
            got["cdc"][a["id"]] = now - a["t_ns"]

    state = {"in": False, "id": None}

    def on_peer(line, now):
        if line.startswith(b"### INSERT INTO `%s`.`lat`" % DB.encode()):
            state["in"] = True
        elif state["in"] and line.startswith(b"###   @1="):
            state["id"] = int(line.split(b"=", 1)[1].split()[0])
        elif state["in"] and line.startswith(b"###   @2="):
            got["peer"][state["id"]] = now - int(line.split(b"=", 1)[1].split()[0])
            state["in"] = False

    a = PtyReader([cdc, "stream", "--host", "127.0.0.1", "--port", str(srv.port), "--user", "cdc_repl",
                   "--server-id", str(H.new_server_id()), "--start", H.pos_text(start)], env, on_cdc)
    b = PtyReader(peer_cmd(srv, start), env, on_peer)
    time.sleep(2.5)  # both connected and idle at the end of the binlog
    w = subprocess.Popen([srv.testenv, srv.flavor, "-n", "--batch", DB], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL)
    t0 = time.monotonic() + 0.5
    for i in range(count):
        d = t0 + i / rate - time.monotonic()
        if d > 0:
            time.sleep(d)
        # The server's clock at the statement's start (same host): what the
        # writer's client queues before that does not count.
        w.stdin.write(b"INSERT INTO lat VALUES (%d, CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000000 AS SIGNED));\n" % i)
        w.stdin.flush()
    w.stdin.close()
    w.wait()
    end = time.monotonic() + 30
    while time.monotonic() < end and (len(got["cdc"]) < count or len(got["peer"]) < count):
        time.sleep(0.1)
    a.stop()
    b.stop()
    res = {}
    for k, v in got.items():
        ms = [x / 1e6 for x in v.values()]
        res[k] = {"n": len(ms), "p50": pct(ms, 50), "p90": pct(ms, 90), "p99": pct(ms, 99),
                  "max": max(ms) if ms else float("nan")}
    # Paired: for each row, cdc's arrival minus the tool's. The commit
    # itself (fsync, scheduling of the writer) cancels out.
    d = [(got["cdc"][i] - got["peer"][i]) / 1e6 for i in got["cdc"] if i in got["peer"]]
    res["delta"] = {"n": len(d), "p50": pct(d, 50), "p1": pct(d, 1), "p99": pct(d, 99)}
    if res["cdc"]["n"] < count:
        print("  cdc stream saw %d of %d rows; stderr: %s" % (res["cdc"]["n"], count, a.err[-500:]))
    if res["peer"]["n"] < count:
        print("  %s saw %d of %d rows; stderr: %s" % (srv.tool, res["peer"]["n"], count, b.err[-500:]))
    return res


def timed(cmd, runs=3):
    best = None
    for _ in range(runs):
        t = time.monotonic()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        d = time.monotonic() - t
        if r.returncode != 0:
            raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd[:3]), r.returncode, r.stderr[-500:]))
        best = d if best is None else min(best, d)
    return best


def throughput(cdc, srv, rows):
    srv.sql("CREATE DATABASE IF NOT EXISTS %s; USE %s; DROP TABLE IF EXISTS d10, tp;"
            "CREATE TABLE d10 (n INT PRIMARY KEY); INSERT INTO d10 VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);"
            "CREATE TABLE tp (id INT PRIMARY KEY, a BIGINT, s VARCHAR(40), d DATETIME(3), m DECIMAL(12,2),"
            " f DOUBLE)" % (DB, DB))
    srv.sql("FLUSH BINARY LOGS")
    first = srv.position()[0]
    digits = " CROSS JOIN ".join("d10 d%d" % i for i in range(3))
    num = " + ".join("d%d.n * %d" % (i, 10 ** i) for i in range(3))
    script = ["USE %s;" % DB, "SET SESSION binlog_row_image = FULL;"]
    for k in range(rows // 1000):
        # 1000 rows per statement, one transaction each; ids never repeat.
        script.append("INSERT INTO tp SELECT %d + %s, (%s) * 1234567, CONCAT('name-', %s, '-x'),"
                      " '2024-05-06 07:08:09.123' + INTERVAL (%s) SECOND, (%s) / 7, (%s) / 3.0 FROM %s;"
                      % (k * 1000, num, num, num, num, num, num, digits))
    for i in range(2, len(script), 200):
        srv.sql("\n".join(script[:2] + script[i:i + 200]))
    srv.sql("FLUSH BINARY LOGS")
    path = srv.path(first)
    size = os.path.getsize(path)
    n = subprocess.run([cdc, "dump", path], capture_output=True).stdout.count(b"\n")
    t_cdc = timed([cdc, "dump", path])
    t_tool = timed([srv.testenv, srv.tool, "-vv", "--base64-output=DECODE-ROWS", path])
    srv.sql("DROP TABLE %s.tp" % DB)
    return {"rows": n, "bytes": size, "cdc_s": t_cdc, "tool_s": t_tool}


def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return "%s, %d cores, %.0f GiB RAM, Linux %s" % (model, os.cpu_count(), mem, platform.release())


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cdc = os.path.abspath(args.pop(0))
    flavors, rate, count, rows, only = ["mysql", "mariadb"], 100, 3000, 1000000, ["latency", "throughput"]
    while args:
        a = args.pop(0)
        if a == "--flavor":
            flavors = args.pop(0).split(",")
        elif a == "--rate":
            rate = float(args.pop(0))
        elif a == "--count":
            count = int(args.pop(0))
        elif a == "--rows":
            rows = int(args.pop(0))
        elif a == "--only":
            only = args.pop(0).split(",")
        else:
            sys.exit("unknown argument " + a)
    print("machine: " + machine())
    for f in flavors:
        srv = H.Server(f)
        print("%s %s" % (f, H.diff.env("CDC_TEST_%s_VERSION" % f.upper())))
        if "latency" in only:
            r = latency(cdc, srv, rate, count)
            for k, name in (("cdc", "cdc stream"), ("peer", srv.tool)):
                v = r[k]
                print("  latency %-15s n=%d p50=%.2f ms p90=%.2f ms p99=%.2f ms max=%.2f ms" % (
                    name, v["n"], v["p50"], v["p90"], v["p99"], v["max"]))
            print("  latency ratio cdc/%s: p50 %.2f, p99 %.2f" % (
                srv.tool, r["cdc"]["p50"] / r["peer"]["p50"], r["cdc"]["p99"] / r["peer"]["p99"]))
            d = r["delta"]
            print("  per row, cdc arrival minus %s arrival: p1 %.2f ms, p50 %.2f ms, p99 %.2f ms "
                  "(negative: cdc first)" % (srv.tool, d["p1"], d["p50"], d["p99"]))
        if "throughput" in only:
            t = throughput(cdc, srv, rows)
            print("  throughput file %d bytes, %d rows: cdc dump %.2fs (%.0f rows/s, %.0f MB/s), "
                  "%s -vv %.2fs (%.0f rows/s); cdc is %.1fx faster" % (
                      t["bytes"], t["rows"], t["cdc_s"], t["rows"] / t["cdc_s"], t["bytes"] / t["cdc_s"] / 1e6,
                      srv.tool, t["tool_s"], t["rows"] / t["tool_s"], t["tool_s"] / t["cdc_s"]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
