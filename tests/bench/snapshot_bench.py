#!/usr/bin/env python3
"""The bindings' snapshot figures (issue 13): a table of ROWS rows read by
an initial_only snapshot through Python (native=True) and Go (SetNative),
with `cdc stream` beside them, on both test servers: seconds to the
first record, total seconds, rows/s and the process's peak RSS. A
program, not a test.

    tests/servers/testenv.sh start; . "$(tests/servers/testenv.sh envfile)"
    python3 tests/bench/snapshot_bench.py BUILD [--rows 2000000] [--db NAME]

It creates the database NAME (default bench_snapshot), fills NAME.big
(id INT PRIMARY KEY, pad VARCHAR(100): 60-99 bytes), runs each reader
once per server in a process of its own, and drops the database at the
end. Use a release build (a sanitized one measures the sanitizer).
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import gotree

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PY_READER = r"""
import os, resource, sys, time
import libcdc
cfg = dict(line.split("=", 1) for line in os.environ["CDC_BENCH_SNAPSHOT"].split("\n") if "=" in line)
rows, first = 0, None
t0 = time.time()
with libcdc.Stream(cfg, batch_bytes=256 * 1024, native=True) as s:
    for r in s:
        if first is None:
            first = time.time() - t0
        if r.op == "r":
            rows += 1
dt = time.time() - t0
print(rows, first, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, libcdc.EXTENSION)
"""


def env(name):
    v = os.environ.get(name)
    if not v:
        raise SystemExit("%s is not set: source the env file of tests/servers/testenv.sh" % name)
    return v


def sql(flavor, script):
    p = subprocess.run([env("CDC_TEST_TESTENV"), flavor, "--batch", "--skip-column-names"],
                       input=script.encode(), capture_output=True)
    if p.returncode != 0:
        raise SystemExit("%s: %s" % (flavor, p.stderr.decode()[-1000:]))
    return p.stdout.decode()


def fill(flavor, db, rows):
    sql(flavor, "DROP DATABASE IF EXISTS %s; CREATE DATABASE %s;"
                "CREATE TABLE %s.big (id INT PRIMARY KEY, pad VARCHAR(100))" % (db, db, db))
    rec = "SET SESSION cte_max_recursion_depth = 10000000;" if flavor == "mysql" else \
        "SET SESSION max_recursive_iterations = 10000000;"
    step = 200000
    for lo in range(1, rows + 1, step):
        sql(flavor, rec + "INSERT INTO %s.big WITH RECURSIVE c(n) AS (SELECT %d UNION ALL SELECT n + 1 FROM c "
                          "WHERE n < %d) SELECT n, REPEAT('p', 60 + n %% 40) FROM c" % (db, lo, min(lo + step - 1, rows)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rows", type=int, default=2000000)
    ap.add_argument("--db", default="bench_snapshot")
    ap.add_argument("--servers", default="mariadb mysql")
    ap.add_argument("--readers", default="py go cdc", help="any of py go cdc")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    tmp = tempfile.mkdtemp(prefix="snapshot-bench-")
    try:
        ext = os.path.join(tmp, "ext")
        subprocess.run([sys.executable, os.path.join(ROOT, "bindings", "python", "_build_backend.py"),
                        "build_ext", ext], check=True)
        script = os.path.join(tmp, "reader.py")
        with open(script, "w") as f:
            f.write(PY_READER)
        gowork = os.path.join(tmp, "go")
        goenv = gotree.go_env(ROOT, build, gowork)
        gobin = os.path.join(gowork, "cdc.test")
        subprocess.run(["go", "test", "-c", "-o", gobin, "."], check=True, env=goenv,
                       cwd=os.path.join(ROOT, "bindings", "go"))
        print("%d rows; load average %s" % (a.rows, " ".join("%.1f" % x for x in os.getloadavg())), flush=True)
        print("%-8s %-22s %10s %9s %10s %11s" % ("server", "reader", "first rec", "total", "rows/s", "peak RSS"))
        for flavor in a.servers.split():
            fill(flavor, a.db, a.rows)
            host, port = env("CDC_TEST_%s_HOST" % flavor.upper()), env("CDC_TEST_%s_PORT" % flavor.upper())
            pw = env("CDC_TEST_PASSWORD")
            settings = {"host": host, "port": port, "user": "root", "password": pw,
                        "server.id": str(random.randint(20000, 4000000)), "snapshot.mode": "initial_only",
                        "table.include.list": a.db + ".big"}
            conf = "\n".join("%s=%s" % kv for kv in settings.items())
            # Python
            if "py" in a.readers:
                pyenv = dict(os.environ, LIBCDC_PATH=os.path.join(build, "lib", "libcdc.so"), LIBCDC_EXT_DIR=ext,
                             PYTHONPATH=os.path.join(ROOT, "bindings", "python"), CDC_BENCH_SNAPSHOT=conf)
                out = subprocess.run([sys.executable, script], env=pyenv, capture_output=True, check=True).stdout
                rows, first, dt, rss, extension = out.decode().split()
                if int(rows) != a.rows or extension != "True":
                    raise SystemExit("python: %s rows (extension %s)" % (rows, extension))
                print("%-8s %-22s %9.2fs %8.1fs %10.0f %7.1f MiB" % (flavor, "Python native", float(first), float(dt),
                                                                     a.rows / float(dt), int(rss) / 1024), flush=True)
            # Go
            if "go" in a.readers:
                settings["server.id"] = str(random.randint(20000, 4000000))
                conf = "\n".join("%s=%s" % kv for kv in settings.items())
                t0 = time.time()
                out = subprocess.run([gobin, "-test.run", "XXX", "-test.bench", "Snapshot$", "-test.benchtime", "1x"],
                                     env=dict(goenv, CDC_BENCH_SNAPSHOT=conf), capture_output=True)
                if out.returncode != 0:
                    raise SystemExit("go: %s" % out.stdout.decode()[-2000:])
                f = out.stdout.decode().split()
                m = {f[i]: float(f[i - 1]) for i in range(1, len(f)) if f[i] in ("rows", "first-s", "rows/s",
                                                                                 "peak-rss-KiB")}
                if int(m["rows"]) != a.rows:
                    raise SystemExit("go: %d rows" % m["rows"])
                print("%-8s %-22s %9.2fs %8.1fs %10.0f %7.1f MiB" % (flavor, "Go native", m["first-s"],
                                                                     a.rows / m["rows/s"], m["rows/s"],
                                                                     m["peak-rss-KiB"] / 1024), flush=True)
            # cdc stream, JSON lines to a file (to a pipe it waits for the
            # reader before each checkpoint, docs/stream.md); the first
            # record is when the file first has bytes
            if "cdc" in a.readers:
                cmd = [os.path.join(build, "examples", "cdc", "cdc"), "stream", "--host", host, "--port", port,
                       "--user", "root", "--server-id", str(random.randint(20000, 4000000)), "--snapshot",
                       "initial_only", "--tables", a.db + ".big"]
                outfile = os.path.join(tmp, "stream.out")
                with open(outfile, "wb") as f:
                    t0 = time.time()
                    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.DEVNULL,
                                         env=dict(os.environ, CDC_PASSWORD=pw))
                    first = []

                    def watch():
                        while not first and p.returncode is None:
                            if os.path.getsize(outfile) > 0:
                                first.append(time.time() - t0)
                            time.sleep(0.01)
                    w = threading.Thread(target=watch)
                    w.start()
                    _, status, ru = os.wait4(p.pid, 0)
                    p.returncode = os.waitstatus_to_exitcode(status)
                    w.join()
                dt = time.time() - t0
                with open(outfile, "rb") as f:
                    lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
                os.unlink(outfile)
                if p.returncode != 0 or lines != a.rows:
                    raise SystemExit("cdc stream: exit %d, %d lines" % (p.returncode, lines))
                print("%-8s %-22s %9.2fs %8.1fs %10.0f %7.1f MiB" % (
                    flavor, "cdc stream (C, JSON)", first[0] if first else dt, dt, a.rows / dt, ru.ru_maxrss / 1024), flush=True)
            sql(flavor, "DROP DATABASE %s" % a.db)
        print("load average after: %s" % " ".join("%.1f" % x for x in os.getloadavg()))
    finally:
        for flavor in a.servers.split():
            try:
                sql(flavor, "DROP DATABASE IF EXISTS %s" % a.db)
            except SystemExit:
                pass
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
