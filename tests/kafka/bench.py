#!/usr/bin/env python3
"""cdc-kafka throughput into the mock cluster, beside `cdc stream > /dev/null`
on the same binlog range in the same run (docs/performance.md, "Kafka").

  bench.py BUILD_DIR [--rows N] [--flavor mariadb|mysql] [--only I,J] [--keep | --range START END]
  bench.py BUILD_DIR --latency [--seconds S] [--flavor mariadb|mysql]

BUILD_DIR: a release build (cdc, cdc-kafka, kafka_mock). Writes N rows
(default 200,000) in transactions of 1,000 rows to a fresh table, notes the
binlog range they occupy, then times on that range:
  cdc stream > /dev/null                    (the ceiling: decode only)
  cdc-kafka at-least-once, no schemas       (acks=all, idempotent, lz4)
  cdc-kafka exactly-once, no schemas        (transaction.boundary=interval, 100 ms)
  cdc-kafka at-least-once, with schemas
each with its peak RSS, its CPU time and the mock cluster's CPU time, and
prints rows/s and ratios. --only 0,1 runs only those cdc-kafka modes (0
at-least-once, 1 exactly-once, 2 with schemas); --keep leaves the table and
user in place and --range START END times an earlier run's range again
(with the same --rows) without writing rows.

--latency: a writer commits 1,000 rows/s (100 transactions of 10 rows) for
S seconds (default 20) while cdc-kafka (at-least-once, no schemas) streams
them; each row carries NOW(6) taken in its transaction. Prints the p50/p99
of commit-to-produce (the record's CreateTime, read back with kcat, minus
the row's NOW(6)) and of produce-to-acknowledgement (cdc-kafka's
cdc_kafka_ack_latency_ms histogram), and the p99 of their sum per record
bounded by the two. Not a test.
"""
import json
import os
import subprocess
import sys
import time
import importlib.util

HERE = os.path.dirname(os.path.abspath(__file__))
DIFF = os.path.join(os.path.dirname(HERE), "differential")
sys.path.insert(0, DIFF)
_spec = importlib.util.spec_from_file_location("diffrun", os.path.join(DIFF, "run.py"))
diff = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(diff)

RSS = ("import resource, subprocess, sys\n"
       "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
       "sys.stderr.write(r.stderr.decode('utf-8', 'replace')[-2000:])\n"
       "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
       "print(u.ru_maxrss, r.returncode, u.ru_utime + u.ru_stime)\n")


def timed(args, env=None):
    t = time.monotonic()
    r = subprocess.run([sys.executable, "-c", RSS] + args, capture_output=True, text=True, env=env)
    dt = time.monotonic() - t
    out = r.stdout.split()
    if len(out) != 3 or out[1] != "0":
        sys.exit("bench: %s failed: %s" % (" ".join(args[:2]), r.stderr[-1500:]))
    return dt, int(out[0]) // 1024, float(out[2])


def run_mode(i, name, extra, mock, port, user, pw, db, rng_start, rng_end, work, kafka):
    bootstrap = mock.stdout.readline().strip().split("=", 1)[1]
    offsets = os.path.join(work, "offsets-%d" % i)
    conf = {"database.hostname": "127.0.0.1", "database.port": str(port), "database.user": user,
            "database.password": pw, "database.server.id": str(47002 + i), "topic.prefix": "bench%d" % i,
            "table.include.list": db + ".orders", "snapshot.mode": "never", "include.schema.changes": "false",
            "kafka.bootstrap.servers": bootstrap, "kafka.compression.type": "lz4", "kafka.acks": "all",
            "kafka.enable.idempotence": "true", "kafka.linger.ms": "20", "kafka.batch.num.messages": "10000",
            "topic.creation.enable": "false", "cdc.stop.at": rng_end,
            "key.converter.schemas.enable": "false", "value.converter.schemas.enable": "false"}
    conf.update(extra)
    if "exactly.once.support" in extra:
        conf["offset.storage.topic"] = "bench-offsets-%d" % i
        # an offsets record holding the start: the transactional path reads it like any checkpoint
        key = '["%s-bench",{"server":"%s"}]' % (conf["topic.prefix"], conf["topic.prefix"])
        conf["name"] = conf["topic.prefix"] + "-bench"
        val = json.dumps({"checkpoint": rng_start})
        subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", conf["offset.storage.topic"], "-p", "0", "-K", "\t"],
                       input="%s\t%s\n" % (key, val), text=True, check=True)
    else:
        conf["offset.storage.file.filename"] = offsets
        with open(offsets, "w") as f:
            f.write(rng_start + "\n")
    path = os.path.join(work, "conf-%d.json" % i)
    with open(path, "w") as f:
        json.dump(conf, f)
    # CDC_KAFKA_BENCH_WRAP: a command to run cdc-kafka under (a profiler: "valgrind --tool=callgrind")
    wrap = os.environ.get("CDC_KAFKA_BENCH_WRAP", "").split()
    if wrap and "callgrind" in " ".join(wrap):
        wrap.append("--callgrind-out-file=%s/callgrind.%d" % (work, i))
    dt, rss, cpu = timed(wrap + [kafka, path])
    return (name, dt, rss, cpu, proc_cpu(mock.pid))


def proc_cpu(pid):
    """user+system seconds of a running process, from /proc."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def latency(build, flavor, seconds):
    import threading
    import urllib.request
    srv = diff.Server(flavor)
    port = int(diff.env("CDC_TEST_%s_PORT" % flavor.upper()))
    pw = diff.env("CDC_TEST_PASSWORD")
    db, user = "kafka_lat", "kafka_lat"
    srv.sql("DROP USER IF EXISTS '%s'@'%%'; CREATE USER '%s'@'%%' IDENTIFIED BY '%s'; GRANT SELECT, RELOAD, SHOW "
            "DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES ON *.* TO '%s'@'%%';" % (user, user, pw, user))
    srv.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s; CREATE TABLE %s.lat (id BIGINT PRIMARY KEY, "
            "t DATETIME(6) NOT NULL);" % (db, db, db))
    kafka = os.path.join(build, "examples", "cdc-kafka", "cdc-kafka")
    mock = subprocess.Popen([os.path.join(build, "tests", "kafka", "kafka_mock"), "3"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    bootstrap = mock.stdout.readline().strip().split("=", 1)[1]
    work = "/tmp/cdc-kafka-lat-%d" % os.getpid()
    os.makedirs(work, exist_ok=True)
    mport = 19500 + os.getpid() % 400
    conf = {"database.hostname": "127.0.0.1", "database.port": str(port), "database.user": user,
            "database.password": pw, "database.server.id": "47101", "topic.prefix": "lat",
            "table.include.list": db + ".lat", "snapshot.mode": "never", "include.schema.changes": "false",
            "kafka.bootstrap.servers": bootstrap, "kafka.compression.type": "lz4", "topic.creation.enable": "false",
            "offset.storage.file.filename": os.path.join(work, "offsets"),
            "key.converter.schemas.enable": "false", "value.converter.schemas.enable": "false"}
    path = os.path.join(work, "conf.json")
    with open(path, "w") as f:
        json.dump(conf, f)
    err = open(os.path.join(work, "stderr"), "w")
    conn = subprocess.Popen([kafka, "--metrics-port", str(mport), path], stdout=subprocess.DEVNULL, stderr=err)
    time.sleep(3)
    pipe = subprocess.Popen([srv.testenv, flavor, "--batch", "--skip-column-names", db], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pipe.stdin.write(b"SET time_zone='+00:00';\n")
    t0 = time.monotonic()
    n = 0
    for i in range(seconds * 100):  # 100 transactions a second of 10 rows
        rows = ",".join("(%d,NOW(6))" % (n + j) for j in range(10))
        n += 10
        pipe.stdin.write(("BEGIN; INSERT INTO lat VALUES %s; COMMIT;\n" % rows).encode())
        pipe.stdin.flush()
        wait = t0 + (i + 1) / 100.0 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    pipe.stdin.close()
    pipe.wait()
    rate = n / (time.monotonic() - t0)
    time.sleep(3)
    metrics = urllib.request.urlopen("http://127.0.0.1:%d/" % mport, timeout=5).read().decode()
    conn.terminate()
    conn.wait(60)
    r = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", "lat.%s.lat" % db, "-e", "-J", "-q", "-o", "beginning"],
                       capture_output=True, text=True, timeout=120)
    c2p = []
    for line in r.stdout.splitlines():
        m = json.loads(line)
        v = json.loads(m["payload"]) if m.get("payload") else None
        if v and v.get("after"):
            c2p.append(m["ts"] - v["after"]["t"] / 1000.0)
    buckets = []
    for line in metrics.splitlines():
        if line.startswith("cdc_kafka_ack_latency_ms_bucket"):
            le = line.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), int(line.split()[-1])))
    total = buckets[-1][1] if buckets else 0
    p99_ack = next((le for le, cnt in buckets if cnt >= 0.99 * total), float("nan"))
    p50_ack = next((le for le, cnt in buckets if cnt >= 0.50 * total), float("nan"))
    print("latency: %d rows at %.0f rows/s, %d read back; commit-to-produce p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
          "produce-to-ack p50 <= %g ms, p99 <= %g ms (histogram bucket, %d acks); commit-to-ack p99 <= %.1f ms"
          % (n, rate, len(c2p), pct(c2p, 0.5), pct(c2p, 0.99), max(c2p) if c2p else float("nan"), p50_ack, p99_ack,
             total, pct(c2p, 0.99) + p99_ack))
    mock.terminate()
    mock.wait()
    srv.sql("DROP DATABASE IF EXISTS %s; DROP USER IF EXISTS '%s'@'%%';" % (db, user))


def main():
    build = sys.argv[1]
    if "--latency" in sys.argv:
        flavor = sys.argv[sys.argv.index("--flavor") + 1] if "--flavor" in sys.argv else "mariadb"
        secs = int(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 20
        return latency(build, flavor, secs)
    rows = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 200000
    flavor = sys.argv[sys.argv.index("--flavor") + 1] if "--flavor" in sys.argv else "mariadb"
    srv = diff.Server(flavor)
    port = int(diff.env("CDC_TEST_%s_PORT" % flavor.upper()))
    pw = diff.env("CDC_TEST_PASSWORD")
    db = "kafka_bench"
    user = "kafka_bench"
    how = ("IDENTIFIED BY '%s'" % pw)
    if "--range" in sys.argv:
        k = sys.argv.index("--range")
        rng_start, rng_end = sys.argv[k + 1], sys.argv[k + 2]
    else:
        srv.sql("DROP USER IF EXISTS '%s'@'%%'; CREATE USER '%s'@'%%' %s; GRANT SELECT, RELOAD, SHOW DATABASES, "
                "REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES ON *.* TO '%s'@'%%';" % (user, user, how, user))
        srv.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s; CREATE TABLE %s.orders (id BIGINT PRIMARY KEY, "
                "customer INT, amount DECIMAL(12,2), status VARCHAR(16), note VARCHAR(64), created DATETIME(3));"
                % (db, db, db))
        status = "SHOW BINARY LOG STATUS" if flavor == "mysql" else "SHOW MASTER STATUS"
        start = srv.sql(status)[0][:2]
        step = 1000
        script = []
        for b in range(0, rows, step):
            script.append("INSERT INTO orders SELECT %d + seq, seq %% 977, seq * 1.25, 'new', CONCAT('order ', seq), "
                          "'2025-10-20 14:34:09.123' FROM (WITH RECURSIVE s(seq) AS (SELECT 1 UNION ALL SELECT seq+1 "
                          "FROM s WHERE seq < %d) SELECT seq FROM s) t;" % (b, step))
        srv.sql("SET SESSION cte_max_recursion_depth=100000;" if flavor == "mysql" else "SELECT 1;")
        srv.sql(("SET SESSION cte_max_recursion_depth=100000;\n" if flavor == "mysql" else "") + "\n".join(script), db)
        end = srv.sql(status)[0][:2]
        rng_start, rng_end = "%s:%s" % tuple(start), "%s:%s" % tuple(end)
    print("bench: %d rows in %s, binlog %s .. %s" % (rows, flavor, rng_start, rng_end), flush=True)

    cdc = os.path.join(build, "examples", "cdc", "cdc")
    kafka = os.path.join(build, "examples", "cdc-kafka", "cdc-kafka")
    mock_exe = os.path.join(build, "tests", "kafka", "kafka_mock")
    env = dict(os.environ, CDC_PASSWORD=pw)
    results = []
    dt, rss, cpu = timed([cdc, "stream", "--port", str(port), "--user", user, "--server-id", "47001", "--start", rng_start,
                     "--stop-at", rng_end, "--tables", db + ".*"], env)
    results.append(("cdc stream > /dev/null", dt, rss, cpu, float("nan")))
    only = [int(x) for x in sys.argv[sys.argv.index("--only") + 1].split(",")] if "--only" in sys.argv else None
    work = os.environ.get("CDC_KAFKA_BENCH_WORK") or "/tmp/cdc-kafka-bench-%d" % os.getpid()
    os.makedirs(work, exist_ok=True)
    modes = [("cdc-kafka at-least-once, JSON without schemas", {}),
             ("cdc-kafka exactly-once, JSON without schemas", {"exactly.once.support": "required",
                                                              "transaction.boundary": "interval",
                                                              "transaction.boundary.interval.ms": "100"}),
             ("cdc-kafka at-least-once, JSON with schemas", {"key.converter.schemas.enable": "true",
                                                            "value.converter.schemas.enable": "true"})]
    for i, (name, extra) in enumerate(modes):
        if only is not None and i not in only:
            continue
        mock = subprocess.Popen([mock_exe, "3"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        try:
            results.append(run_mode(i, name, extra, mock, port, user, pw, db, rng_start, rng_end, work, kafka))
        finally:
            mock.terminate()
            mock.wait()
    base = results[0][1]
    print("| run | seconds | rows/s | ratio to cdc stream | CPU seconds (user+sys) | mock CPU s | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for name, dt, rss, cpu, mcpu in results:
        print("| %s | %.2f | %d | %.2f | %.2f | %.2f | %d MiB |" % (name, dt, rows / dt, base / dt, cpu, mcpu, rss))
    if "--keep" in sys.argv:
        print("bench: kept; again with --range %s %s" % (rng_start, rng_end))
    elif "--range" not in sys.argv:
        srv.sql("DROP DATABASE IF EXISTS %s; DROP USER IF EXISTS '%s'@'%%';" % (db, user))


if __name__ == "__main__":
    main()
