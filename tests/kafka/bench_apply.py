#!/usr/bin/env python3
"""Benchmark: `cdc-migrate apply --from-kafka` throughput with 1, 2 and 4
members of one group (docs/kafka.md, "Sizing the appliers").

    bench_apply.py CDC_MIGRATE CDC_KAFKA KAFKA_MOCK [ROWS]

cdc-kafka snapshots a MariaDB table of ROWS rows (default 40000) into a
12-partition topic of the mock cluster (schemaless JSON, Debezium's
default handling modes), and streams 5,000 updates of one row (a hot key)
into a second topic. For each member count N, a fresh PostgreSQL database
and a fresh group apply the topic: the time from the members' start until
the target's offsets reach the end of every partition gives records/s. The
hot-key topic is applied the same way. Use a release build
(meson setup build-rel -Dbuildtype=release); not a test: it asserts
nothing but that the target ends complete.
"""
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "migrate"))
import workload  # noqa: E402
from pgserver import PG, free_port  # noqa: E402
from migrate_apply import Mock, kcat_read  # noqa: E402

MIGRATE, KAFKA, MOCK = (os.path.abspath(p) for p in sys.argv[1:4])
ROWS = int(sys.argv[4]) if len(sys.argv) > 4 else 40000
RUN = "%d" % (os.getpid() % 100000)


def env():
    e = dict(os.environ)
    e["CDC_MIGRATE_SOURCE_PASSWORD"] = os.environ["CDC_TEST_PASSWORD"]
    return e


def ends(bootstrap, topic):
    out = {}
    for m in kcat_read(bootstrap, topic):
        out[m["partition"]] = max(out.get(m["partition"], 0), m["offset"] + 1)
    return out


def main():
    import migrate_apply
    migrate_apply.MOCK = MOCK
    src = workload.Source("mariadb", "kbench_" + RUN)
    src.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s;" % (src.db, src.db), db=False)
    src.sql("CREATE TABLE b (id INT PRIMARY KEY, v VARCHAR(40), n INT, d DECIMAL(12,2), "
            "t DATETIME(6)); CREATE TABLE hot (id INT PRIMARY KEY, n INT);")
    for s in range(0, ROWS, 5000):
        src.sql("INSERT INTO b VALUES " + ",".join(
            "(%d,'value %d',%d,%d.%02d,'2024-01-02 03:04:05.%06d')" % (i, i, i, i, i % 100, i)
            for i in range(s + 1, min(s + 5001, ROWS + 1))))
    src.sql("INSERT INTO hot VALUES (1, 0)")
    mock = Mock()
    prefix = "kb"
    topic_b, topic_hot = "%s.%s.b" % (prefix, src.db), "%s.%s.hot" % (prefix, src.db)
    mock.cmd("create %s 12 1" % topic_b)
    mock.cmd("create %s 12 1" % topic_hot)
    pg = PG(port=free_port(56000 + int(RUN) % 4000))
    work = pg.dir
    conf = {"name": "kbench", "config": {
        "database.hostname": "127.0.0.1", "database.port": str(src.port), "database.user": "root",
        "database.password": os.environ["CDC_TEST_PASSWORD"], "database.server.id": "48123",
        "topic.prefix": prefix, "database.include.list": src.db,
        "kafka.bootstrap.servers": mock.bootstrap, "topic.creation.enable": "false",
        "snapshot.mode": "initial", "key.converter.schemas.enable": "false",
        "value.converter.schemas.enable": "false",
        "offset.storage.file.filename": os.path.join(work, "kb.offsets")}}
    with open(os.path.join(work, "kb.json"), "w") as f:
        json.dump(conf, f)
    klog = open(os.path.join(work, "cdc-kafka.log"), "a")
    prod = subprocess.Popen([KAFKA, os.path.join(work, "kb.json")], stdout=klog, stderr=klog)
    try:
        while "snapshot done" not in open(os.path.join(work, "cdc-kafka.log")).read():
            time.sleep(0.5)
        src.sql("".join("UPDATE hot SET n = n + 1 WHERE id = 1;" for _ in range(5000)))
        while sum(ends(mock.bootstrap, topic_hot).values()) < 5001:
            time.sleep(1)
        eb = ends(mock.bootstrap, topic_b)
        eh = ends(mock.bootstrap, topic_hot)
        print("# %s: %d records in %d partitions; %s: %d records, all in partition %s"
              % (topic_b, sum(eb.values()), len(eb), topic_hot, sum(eh.values()),
                 sorted(p for p, n in eh.items() if n > 1)), flush=True)
        for what, topic, end in (("table of %d rows" % ROWS, topic_b, eb),
                                 ("hot key", topic_hot, eh)):
            for n in (1, 2, 4):
                pgdb = "kb_%s_%d" % ("hot" if topic == topic_hot else "b", n)
                pg.sql("postgres", "CREATE DATABASE %s" % pgdb)
                args = ["--source-host", "127.0.0.1", "--source-port", str(src.port),
                        "--source-user", "root", "--database", src.db,
                        "--target", pg.dsn(pgdb), "--from-kafka", mock.bootstrap,
                        "--group", pgdb, "--topics", topic, "--batch-rows", "2000",
                        # the mock's coordinator waits a session timeout for
                        # members that rejoined under a new id
                        "--kafka-conf", "session.timeout.ms=6000",
                        "--kafka-conf", "heartbeat.interval.ms=500"]
                logs = [open(os.path.join(work, "%s-%d.log" % (pgdb, i)), "a") for i in range(n)]
                t0 = time.time()
                ms = [subprocess.Popen([MIGRATE, "apply"] + args + ["--client-id", "m%d" % i],
                                       env=env(), stdout=lg, stderr=lg)
                      for i, lg in enumerate(logs)]
                total = sum(end.values())
                done = 0
                samples = []
                while time.time() - t0 < 600:
                    try:
                        r = pg.sql(pgdb, "SELECT coalesce(sum(next_offset), 0) FROM "
                                   "cdc_migrate.kafka_offsets")
                        done = int(r[0][0])
                    except RuntimeError:
                        done = 0
                    samples.append((time.time(), done))
                    if done >= total:
                        break
                    time.sleep(0.2)
                el = time.time() - t0
                for m in ms:
                    m.send_signal(signal.SIGTERM)
                for m in ms:
                    m.wait(60)
                # the steady rate: from 20% to 80% of the records, so that
                # process start, group join and the tail stay out
                a = next((x for x in samples if x[1] >= total * 0.2), None)
                b = next((x for x in samples if x[1] >= total * 0.8), None)
                rate = (b[1] - a[1]) / (b[0] - a[0]) if a and b and b[0] > a[0] else 0
                print("%-22s members %d: %6d records in %6.2fs from start; %7.0f records/s "
                      "steady (20%%-80%%)%s" % (what, n, done, el, rate,
                                                "" if done >= total else " (INCOMPLETE)"),
                      flush=True)
                pg.sql("postgres", "DROP DATABASE %s" % pgdb)
    finally:
        prod.send_signal(signal.SIGTERM)
        prod.wait(60)
        mock.stop()
        pg.cleanup()
        src.sql("DROP DATABASE IF EXISTS %s" % src.db, db=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
