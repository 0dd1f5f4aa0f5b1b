#!/usr/bin/env python3
"""Decode throughput of libcdc (typed and JSON lines) next to the server's
own binlog tool, on one mixed-type binlog file. A benchmark, not a test.

usage: decode_bench.py BUILD_DIR [--mb N] [--runs N] [--repeat N] [--file BINLOG]
                       [--slice-mb N] [--no-callgrind] [--peers LIST]
                       [--page-cache reread|as-is]

The binlog: a MariaDB 10.11 table of BIGINT, VARCHAR utf8mb4,
DECIMAL(10,2), INT, DOUBLE, ENUM, TEXT, DATETIME(6), TIMESTAMP(3), BIT(8)
and JSON columns; multi-row INSERTs, multi-row UPDATEs, single-row
UPDATE statements (one TABLE_MAP per row) and DELETEs, about --mb MB
(default 150). It is written once in the database perf_bench of the
shared test server (testenv.sh), copied out of the data directory and
kept in ~/.cache/libcdc/perf-bench-<MB>mb.binlog; later runs reuse it.
Other sessions' events in the same file are decoded too (they are part
of the bytes), so rows/s counts every row change in the file.

Readers, interleaved, --runs times each (default 5), medians printed:
  typed   BUILD_DIR/tests/bench/bench_decode FILE: every value of every row
          read through cdc_change_cells_view (one call per image, the
          decoder's own cells, cdc/binlog.h; --copy would copy them),
          aggregates kept; and bench_decode --getters FILE, the same
          through the per-value getters
  json    BUILD_DIR/examples/cdc/cdc dump FILE > /dev/null
  peers   mariadb-binlog -v (and --base64-output=decode-rows -vv) > /dev/null
Each run's wall time, CPU time (user + system) and peak RSS
(/usr/bin/time) are taken; on a loaded machine CPU time is the steadier
of the two. --repeat N makes each run N readings of the file in a row
(times divided by N), for CPU times well above the 10 ms tick. These are
times of whole processes, so each reading also pays the program's start
and exit, a fixed cost that a larger file (--mb 600, near the issue's
565.6 MB) makes a smaller part; bench_decode's own clock around its
read-and-decode loop, which leaves them out, is printed after the table
(median over every reading). Then one callgrind
run of bench_decode and of cdc dump on the same workload written at
--slice-mb MB (default 8; or --slice-file) gives instructions per row,
the stable figure on a shared VM. --peers takes ';'-separated commands
(the file is appended), e.g. another build's cdc dump to compare.
--page-cache: reread (default) drops the file from the page cache and
reads it back before the runs, so that it is cached as a file just read
from disk is; as-is leaves it as it is (on these VMs a file cached hours
before cost every reader's read() up to 3x the kernel CPU).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DB = "perf_bench"
CACHE = os.path.expanduser("~/.cache/libcdc")


def env(name):
    v = os.environ.get(name)
    if not v:
        sys.exit("decode_bench: %s is not set; run `. \"$(tests/servers/testenv.sh envfile)\"` "
                 "after `tests/servers/testenv.sh start`" % name)
    return v


def sql(stmts, db=None):
    cmd = ["mariadb", "-h", env("CDC_TEST_MARIADB_HOST"), "-P", env("CDC_TEST_MARIADB_PORT"),
           "-u", env("CDC_TEST_ROOT_USER"), "-N", "-B",
           "--skip-ssl", "--default-character-set=utf8mb4"]
    if db:
        cmd.append(db)
    e = dict(os.environ, MYSQL_PWD=env("CDC_TEST_PASSWORD"))
    r = subprocess.run(cmd, input=stmts, capture_output=True, text=True, env=e)
    if r.returncode != 0:
        sys.exit("decode_bench: mariadb failed: " + r.stderr.strip())
    return [line.split("\t") for line in r.stdout.splitlines()]


SCHEMA = """
CREATE TABLE t (
  id BIGINT NOT NULL PRIMARY KEY,
  name VARCHAR(64) CHARACTER SET utf8mb4,
  price DECIMAL(10,2),
  qty INT,
  score DOUBLE,
  status ENUM('new','paid','shipped','cancelled','returned'),
  note TEXT CHARACTER SET utf8mb4,
  created DATETIME(6),
  updated TIMESTAMP(3) NULL,
  flags BIT(8),
  doc JSON
) ENGINE=InnoDB;
"""

ROW = """SELECT seq,
  CONCAT('name-', seq, IF(seq % 3 = 0, ' \u00fc\u20ac\U0001F600', ''), IF(seq % 7 = 0, ' "q"\\\\', '')),
  (CAST((seq * 7919) % 1000000 AS SIGNED) - 300000) / 100,
  CAST((seq * 31) % 100000 AS SIGNED) - 500,
  IF(seq % 5 = 0, seq / 7, (seq % 1000) * 1.25e-3 + seq * 3.3e5),
  1 + seq % 5,
  REPEAT(CONCAT('note ', seq, ' \u00e9t\u00e9 '), 4 + seq % 9),
  TIMESTAMP('2024-01-01 00:00:00') + INTERVAL seq * 1000003 MICROSECOND,
  FROM_UNIXTIME(1700000000 + seq + (seq % 1000) / 1000),
  seq % 256,
  JSON_OBJECT('k', seq, 'tags', JSON_ARRAY('a', 'b\u00e9', seq % 10), 'v', seq / 8, 'ok', seq % 2 = 0)
FROM seq_{lo}_to_{hi}"""


def generate(mb):
    """Writes the workload into a fresh binlog file and returns a copy."""
    os.makedirs(CACHE, exist_ok=True)
    dest = os.path.join(CACHE, "perf-bench-%dmb.binlog" % mb)
    if os.path.exists(dest):
        return dest
    n = mb * 1600  # about 630 bytes of binlog per inserted row over all sections
    print("decode_bench: generating about %d MB (%d rows) in %s; this takes a few minutes" % (mb, n, DB),
          file=sys.stderr)
    sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s;" % (DB, DB))
    sql("SET SESSION binlog_format=ROW;" + SCHEMA, DB)
    sql("FLUSH BINARY LOGS;")
    first = sql("SHOW MASTER STATUS;")[0][0]
    chunk = 10000
    pre = "SET SESSION binlog_format=ROW; SET SESSION binlog_row_image=FULL; SET time_zone='+00:00';\n"
    stmts = [pre]
    for lo in range(1, n + 1, chunk):
        hi = min(n, lo + chunk - 1)
        stmts.append("INSERT INTO t " + ROW.format(lo=lo, hi=hi) + ";\n")
    # multi-row updates of every column but the key
    for lo in range(1, n // 2 + 1, chunk):
        hi = min(n // 2, lo + chunk - 1)
        stmts.append("UPDATE t SET name = CONCAT(name, '+'), price = -price, qty = qty + 1, "
                     "score = score * 1.5, status = 1 + (status %% 5), note = CONCAT('x', note), "
                     "created = created + INTERVAL 1 SECOND, flags = flags ^ 0x5a, "
                     "doc = JSON_SET(doc, '$.v', id * 0.5) WHERE id BETWEEN %d AND %d;\n" % (lo, hi))
    # single-row updates: one statement, one TABLE_MAP, per row
    ids = list(range(n // 2 + 1, n // 2 + 1 + n // 20))
    for i in range(0, len(ids), 200):
        stmts.append("BEGIN;\n")
        for k in ids[i:i + 200]:
            stmts.append("UPDATE t SET qty = qty - 1, price = price + 0.01 WHERE id = %d;\n" % k)
        stmts.append("COMMIT;\n")
    stmts.append("DELETE FROM t WHERE id > %d;\n" % (n - n // 10))
    sql("".join(stmts), DB)
    sql("FLUSH BINARY LOGS;")
    names = [r[0] for r in sql("SHOW BINARY LOGS;")]
    files = names[names.index(first):-1]
    if len(files) != 1:
        sys.exit("decode_bench: the workload spans %d binlog files (%s); raise max_binlog_size" %
                 (len(files), ", ".join(files)))
    src = os.path.join(env("CDC_TEST_MARIADB_DATADIR"), files[0])
    tmp = dest + ".tmp"
    shutil.copyfile(src, tmp)
    os.rename(tmp, dest)
    sql("DROP DATABASE %s;" % DB)
    return dest


def run(cmd, repeat=1):
    """(wall seconds, peak RSS KiB, stdout, CPU seconds) of cmd, run
    `repeat` times in a row (the times are per run). Peak RSS and CPU time
    come from /usr/bin/time: a child forked by this Python process would
    carry Python's own pages into its high-water mark. CPU time is counted
    in 10 ms ticks: repeating a reader that takes 0.15 s makes the tick
    a smaller part of it."""
    if repeat > 1:
        cmd = ["sh", "-c", 'i=0; while [ $i -lt %d ]; do "$@" || exit 1; i=$((i+1)); done' % repeat, "sh"] + cmd
    with tempfile.NamedTemporaryFile("r") as tf:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", tf.name] + cmd, stderr=subprocess.PIPE,
                           stdout=subprocess.PIPE if any("bench_decode" in c for c in cmd) else subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            sys.exit("decode_bench: %s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.decode()[-500:]))
        f = tf.read().split()
        peak, cpu = int(f[-3]), float(f[-2]) + float(f[-1])
    return wall / repeat, peak, (p.stdout or b"").decode(), cpu / repeat


def callgrind(cmd, tmpdir):
    log = os.path.join(tmpdir, "cg.out")
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + log] + cmd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit("decode_bench: callgrind failed: " + r.stderr.decode()[-500:])
    m = re.search(rb"Collected : (\d+)", r.stderr)
    return int(m.group(1)), r.stdout.decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--mb", type=int, default=150)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--file")
    ap.add_argument("--slice-mb", type=int, default=8)
    ap.add_argument("--slice-file")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--peers", default="mariadb-binlog -v;mariadb-binlog --base64-output=decode-rows -vv")
    ap.add_argument("--page-cache", choices=("reread", "as-is"), default="reread",
                    help="reread (default): drop the file from the page cache and read it back first; "
                         "as-is: only read it")
    a = ap.parse_args()
    bench = os.path.join(a.build, "tests", "bench", "bench_decode")
    cdc = os.path.join(a.build, "examples", "cdc", "cdc")
    path = a.file or generate(a.mb)
    size = os.path.getsize(path)
    readers = [("libcdc typed (cdc_change_cells_view)", [bench, path]),
               ("libcdc typed (public getters)", [bench, "--getters", path]),
               ("cdc dump (JSON lines)", [cdc, "dump", path])]
    for p in a.peers.split(";"):
        if p.strip():
            readers.append((p.strip(), p.split() + [path]))
    # The page cache's state changes every reader's cost of read(): on this
    # project's VMs a file cached hours before took the kernel 31 ms of CPU
    # to copy out (dd, 256 KiB reads), the same file dropped and read back
    # 11 ms (fresh copies 13 ms; docs/performance.md, session 10), likely
    # the host's backing of old guest pages. reread gives every run the
    # state of a file just read from disk.
    if a.page_cache == "reread":
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL)  # page cache
    times = {name: [] for name, _ in readers}
    cpus = {name: [] for name, _ in readers}
    rss = {name: 0 for name, _ in readers}
    inner = {name: [] for name, _ in readers}  # bench_decode's own clock, seconds per reading
    rows = None
    for _ in range(a.runs):
        for name, cmd in readers:
            wall, peak, out, cpu = run(cmd, a.repeat)
            times[name].append(wall)
            cpus[name].append(cpu)
            rss[name] = max(rss[name], peak)
            inner[name] += [float(x) for x in re.findall(r"^([\d.]+) s, [\d.]+ MB/s", out, re.M)]
            m = re.search(r"rows (\d+)", out)
            if m:
                rows = int(m.group(1))
    print("file %s: %.1f MB, %s row changes (page cache: %s); %d runs each of %d readings, interleaved; "
          "median times per reading" % (path, size / 1e6, rows, a.page_cache, a.runs, a.repeat))
    print("| reader | median wall s | MB/s | rows/s | median CPU s | MB/s of CPU | peak RSS MB | vs typed (CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    base = statistics.median(cpus[readers[0][0]])
    for name, _ in readers:
        med, cpu = statistics.median(times[name]), statistics.median(cpus[name])
        print("| %s | %.3f | %.0f | %s | %.3f | %.0f | %.1f | %s |" %
              (name, med, size / 1e6 / med, "%.0f" % (rows / med) if rows else "-", cpu, size / 1e6 / cpu,
               rss[name] / 1024, "1" if cpu == base else "%.1fx slower" % (cpu / base) if cpu > base
               else "%.1fx faster" % (base / cpu)))
    print("(min/max s: " + "; ".join("%s %.3f/%.3f" % (n, min(t), max(t)) for n, t in times.items()) + ")")
    # the wall times above are of whole processes: each reading also pays
    # the program's start (exec, the dynamic loader), its first touch of
    # the read buffer and its exit, which a larger file (--mb 600: the
    # issue's 565.6 MB) makes a smaller part; bench_decode's own clock
    # around its read-and-decode loop leaves them out
    for name, _ in readers:
        if inner[name]:
            med = statistics.median(inner[name])
            print("%s, bench_decode's own clock around its read-and-decode loop: median %.3f s, %.0f MB/s "
                  "(%d readings)" % (name, med, size / 1e6 / med, len(inner[name])))
    if a.no_callgrind or not shutil.which("valgrind"):
        return
    # instructions per row on the same workload at --slice-mb MB (a
    # complete small binlog, so every section of the workload is in it)
    small = a.slice_file or generate(a.slice_mb)
    nbytes = os.path.getsize(small)
    _, _, out, _ = run([bench, small])
    srows = int(re.search(r"rows (\d+)", out).group(1))
    with tempfile.TemporaryDirectory() as td:
        print("callgrind on %s (%.1f MB, %d row changes):" % (small, nbytes / 1e6, srows))
        for name, cmd in [("libcdc typed, cells", [bench, small]),
                          ("libcdc typed, getters", [bench, "--getters", small]),
                          ("cdc dump", [cdc, "dump", small])] + \
                [(n, c[:-1] + [small]) for n, c in readers[3:]
                 if os.path.basename(c[0]) in ("cdc", "bench_decode")]:
            ir, _ = callgrind(cmd, td)
            print("  %s: %.0f instructions/row (%.2f/byte)" % (name, ir / srows, ir / nbytes))

if __name__ == "__main__":
    main()
