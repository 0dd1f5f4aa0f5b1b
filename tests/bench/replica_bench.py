#!/usr/bin/env python3
"""Decode throughput as a replica over loopback, with the CPU of both ends:
libcdc (typed and JSON lines) next to the server's own tool. A benchmark,
not a test.

usage: replica_bench.py BUILD_DIR [--mb N] [--runs N]

The binlog is decode_bench.py's workload (--mb MB, default 150), which
that script writes on the shared MariaDB test server (testenv.sh) and
caches in ~/.cache/libcdc; this script finds the server's own file with
the same bytes (written anew if the server no longer has it) and has it
sent from its first event to its end, over loopback TCP without TLS, to:

  typed    BUILD_DIR/tests/bench/bench_replica START STOP ...: every value
           of every row image read through cdc_change_cells_view, the
           aggregates of bench_decode (checked against bench_decode on the
           cached file); and bench_replica --getters
  json     BUILD_DIR/examples/cdc/cdc stream --start --stop-at > /dev/null
  peers    mariadb-binlog --read-from-remote-server -v > /dev/null, and
           mariadb-binlog --read-from-remote-server --raw (the events written
           to a file as they come, not decoded: what the server's dump thread
           gives a client that does next to nothing)

Readers interleaved, --runs times each (default 5), medians printed: wall
time, the client's CPU (user + system, getrusage of the child), and the
server's: the CPU of the mariadbd process over the run and of its busiest
thread, the Binlog Dump thread (from /proc/PID/task/*/schedstat). On 2
cores, client and server each have one.
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decode_bench  # noqa: E402  (the workload, env(), sql())

def server_pid():
    path = os.path.join(decode_bench.env("CDC_TEST_STATE"), "mariadb", "mariadbd.pid")
    with open(path) as f:
        return int(f.read().split()[0])


def task_ns(pid):
    """{tid: nanoseconds on a CPU} of every thread of pid (schedstat: exact,
    where stat's user and system times count 10 ms ticks)."""
    out = {}
    base = "/proc/%d/task" % pid
    for tid in os.listdir(base):
        try:
            with open("%s/%s/schedstat" % (base, tid)) as f:
                out[int(tid)] = int(f.read().split()[0])
        except OSError:
            continue  # the thread ended
    return out


def server_file(path):
    """The server's binlog file with the bytes of path, or None."""
    size = os.path.getsize(path)
    datadir = decode_bench.env("CDC_TEST_MARIADB_DATADIR")
    for name, fsize in ((r[0], int(r[1])) for r in decode_bench.sql("SHOW BINARY LOGS;")):
        if fsize != size:
            continue
        with open(os.path.join(datadir, name), "rb") as a, open(path, "rb") as b:
            if a.read() == b.read():
                return name
    return None


def run(cmd, pid, env, stdout):
    """(wall s, client CPU s, server CPU s, dump thread CPU s, stdout). The
    client's CPU (user + system) is what this process's waited-for
    children used meanwhile (getrusage, microseconds)."""
    before, ru0 = task_ns(pid), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    after, ru1 = task_ns(pid), resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit("replica_bench: %s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.decode()[-500:]))
    client = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    deltas = [t - before.get(tid, 0) for tid, t in after.items()]
    return (wall, client, sum(deltas) / 1e9, max(deltas) / 1e9,
            (p.stdout or b"").decode() if stdout == subprocess.PIPE else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--mb", type=int, default=150)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    cached = decode_bench.generate(a.mb)
    name = server_file(cached)
    if name is None:
        print("replica_bench: the server no longer has %s's file; writing the workload again" % cached,
              file=sys.stderr)
        os.remove(cached)
        cached = decode_bench.generate(a.mb)
        name = server_file(cached)
        if name is None:
            sys.exit("replica_bench: the new workload's file is not among the server's binlogs")
    size = os.path.getsize(cached)
    start, stop = "%s:4" % name, "%s:%d" % (name, size)
    host, port = decode_bench.env("CDC_TEST_MARIADB_HOST"), decode_bench.env("CDC_TEST_MARIADB_PORT")
    user, pw = decode_bench.env("CDC_TEST_ROOT_USER"), decode_bench.env("CDC_TEST_PASSWORD")
    env = dict(os.environ, CDC_BENCH_PASSWORD=pw, CDC_PASSWORD=pw, MYSQL_PWD=pw)
    bench = os.path.join(a.build, "tests", "bench", "bench_replica")
    cdc = os.path.join(a.build, "examples", "cdc", "cdc")
    keys = ["host=" + host, "port=" + port, "user=" + user, "ssl.mode=disabled", "server.id=4711"]
    tool = ["mariadb-binlog", "--read-from-remote-server", "--host=" + host, "--port=" + port, "--user=" + user,
            "--skip-ssl", "--start-position=4", "--stop-position=%d" % size]
    rawdir = tempfile.mkdtemp(prefix="replica_bench.")
    readers = [("libcdc typed (cdc_change_cells_view)", [bench, start, stop] + keys, subprocess.PIPE),
               ("libcdc typed (public getters)", [bench, "--getters", start, stop] + keys, subprocess.PIPE),
               ("cdc stream (JSON lines)", [cdc, "stream", "--host", host, "--port", port, "--user", user,
                                           "--ssl-mode", "disabled", "--server-id", "4712", "--start", start,
                                           "--stop-at", stop], subprocess.DEVNULL),
               ("mariadb-binlog --read-from-remote-server -v", tool + ["-v", name], subprocess.DEVNULL),
               ("mariadb-binlog --read-from-remote-server --raw", tool + ["--raw", "--result-file=%s/" % rawdir, name],
                subprocess.DEVNULL)]
    # the typed reader's sums against bench_decode's on the same bytes read from the file
    want = subprocess.run([os.path.join(a.build, "tests", "bench", "bench_decode"), cached],
                          stdout=subprocess.PIPE, check=True).stdout.decode()
    want_sums = re.search(r"^sums .*$", want, re.M).group(0)
    pid = server_pid()
    res = {r[0]: [] for r in readers}
    for _ in range(a.runs):
        for rname, cmd, out in readers:
            r = run(cmd, pid, env, out)
            if out == subprocess.PIPE:
                got = re.search(r"^sums .*$", r[4], re.M)
                if not got or got.group(0) != want_sums:
                    sys.exit("replica_bench: %s read other values than bench_decode on the file:\n  %s\n  %s" %
                             (rname, got.group(0) if got else r[4][-300:], want_sums))
            res[rname].append(r)
    subprocess.run(["rm", "-rf", rawdir])
    print("server file %s (the bytes of %s): %.1f MB sent over loopback TCP; %d runs each, interleaved; medians"
          % (name, cached, size / 1e6, a.runs))
    print("| reader | wall s | MB/s | client CPU s | server CPU s | dump thread CPU s | client CPU / wall |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for rname, _, _ in readers:
        med = [statistics.median(x[i] for x in res[rname]) for i in range(4)]
        print("| %s | %.3f | %.0f | %.3f | %.3f | %.3f | %.0f%% |" %
              (rname, med[0], size / 1e6 / med[0], med[1], med[2], med[3], 100 * med[1] / med[0]))
    print("(min/max wall s: " + "; ".join("%s %.3f/%.3f" % (n, min(x[0] for x in v), max(x[0] for x in v))
                                        for n, v in res.items()) + ")")


if __name__ == "__main__":
    main()
