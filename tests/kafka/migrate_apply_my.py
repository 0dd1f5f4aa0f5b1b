#!/usr/bin/env python3
"""cdc-migrate apply --from-kafka into a MySQL/MariaDB target (the test's
own mariadbd, tests/migrate/myserver.py), fed by cdc-kafka from the shared
MariaDB under a concurrent workload (docs/kafka.md, "Applying from Kafka").

    migrate_apply_my.py CDC_MIGRATE CDC_KAFKA KAFKA_MOCK

Two members of one group on librdkafka's mock cluster (topics of 8, 6 and
4 partitions); one is killed with -9 mid-run and a third joins; a stale
snapshot row is produced into another partition than its key's. At the
end:

- the target equals the source: `cdc-migrate verify`, and the test's own
  canonical dump of both sides made by each server's SQL (workload.py);
- nothing applied twice: for every partition the target's
  cdc_migrate.kafka_offsets holds next_offset = the partition's end as
  kcat reads it and records = next_offset; the ledger triggers (each
  source ledger row is inserted once, never changed) saw no row updated
  or deleted on the target;
- the stale snapshot row did not overwrite the newer change; status shows
  the partitions' lag.
Ends with "N passed, N failed".
"""
import json
import os
import random
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "migrate"))
sys.path.insert(0, HERE)
import canon  # noqa: E402
from checks import Checks  # noqa: E402
import workload  # noqa: E402
from myserver import MyServer, PASSWORD as OWN_PW  # noqa: E402
import migrate_apply as ka  # noqa: E402  (its Mock, kcat helpers, paced Writer, group)

MIGRATE, KAFKA, MOCK = (os.path.abspath(p) for p in sys.argv[1:4])
RUN = "%d" % (os.getpid() % 100000)
RNG = random.Random(int(os.environ.get("CDC_KAPPLY_SEED", RUN)))
checks = Checks(3000)
check = checks.check
LIVE = []
T0 = time.time()


def log(msg):
    print("# %5.1fs %s" % (time.time() - T0, msg), flush=True)


LEDGER = """
CREATE DATABASE {tdb} CHARACTER SET utf8mb4;
CREATE TABLE {tdb}.ledger (id bigint NOT NULL PRIMARY KEY, tag varchar(64), n int)
  CHARACTER SET utf8mb4;
CREATE TABLE {tdb}.dupes (id bigint, op char(1));
CREATE TRIGGER {tdb}.ledger_upd BEFORE UPDATE ON {tdb}.ledger FOR EACH ROW
  INSERT INTO {tdb}.dupes VALUES (OLD.id, 'U');
CREATE TRIGGER {tdb}.ledger_del BEFORE DELETE ON {tdb}.ledger FOR EACH ROW
  INSERT INTO {tdb}.dupes VALUES (OLD.id, 'D');
"""


class Own:
    """The target database on the test's own mariadbd."""

    def __init__(self, server, db):
        self.server, self.db = server, db

    def sql(self, q, db=True):
        r = subprocess.run(self.server.cli(*([self.db] if db else [])), input=q.encode(),
                           capture_output=True)
        if r.returncode:
            raise RuntimeError("own mariadbd: %s: %s" % (q[:300], r.stderr.decode()[-800:]))
        return [line.split("\t") for line in r.stdout.decode().split("\n") if line != ""]


class T(ka.Group):
    PARTITIONS = (("items", 8), ("kv", 6), ("ledger", 4))
    POLL = 1

    def __init__(self, own, mock):
        self.own, self.mock = own, mock
        self.db = "kapply2_%s" % RUN
        self.tdb = "kapply2_t"
        self.prefix = "kam"
        self.group = "appliers-my"
        self.work = own.dir
        self.src = workload.Source("mariadb", self.db)
        self.tgt = Own(own, self.tdb)

    def env(self):
        e = dict(os.environ)
        e["CDC_MIGRATE_SOURCE_PASSWORD"] = os.environ["CDC_TEST_PASSWORD"]
        e["CDC_MIGRATE_TARGET_PASSWORD"] = OWN_PW
        return e

    def args(self):
        return ["--source-host", "127.0.0.1", "--source-port", str(self.src.port), "--source-user",
                "root", "--database", self.db, "--target", self.own.url(), "--target-schema",
                self.tdb, "--zero-date", "null"]

    def offsets(self):
        rows = self.tgt.sql("SELECT topic, part, next_offset, records FROM "
                            "cdc_migrate.kafka_offsets", db=False)
        return {(r[0], int(r[1])): (int(r[2]), int(r[3])) for r in rows}

    def offsets_now(self):
        """None committed yet: no cdc_migrate.kafka_offsets table yet."""
        try:
            return self.offsets()
        except RuntimeError:
            return {}


class Member(ka.Applier):
    def __init__(self, t, n):
        self.n = n
        self.logpath = os.path.join(t.work, "member%d.log" % n)
        self.log = open(self.logpath, "a")
        self.p = subprocess.Popen(
            [MIGRATE, "apply"] + t.args() +
            ["--from-kafka", t.mock.bootstrap, "--group", t.group, "--topic-prefix", t.prefix,
             "--client-id", "member%d" % n, "--batch-ms", "100", "--batch-rows", "300",
             "--kafka-conf", "session.timeout.ms=6000", "--kafka-conf", "heartbeat.interval.ms=500"],
            env=t.env(), stdout=self.log, stderr=self.log)
        LIVE.append(self.p)


def run(own, mock):
    t = T(own, mock)
    t.src.create()
    t.src.preload(1000, seed=7)
    t.tgt.sql(LEDGER.format(tdb=t.tdb), db=False)
    producer = ka.start_producer(t, mock, 52000 + RNG.randrange(9000))
    LIVE.append(producer)
    members = [Member(t, 1), Member(t, 2)]
    writers = [ka.Writer(t.src, w, seed=500 + w) for w in range(2)]
    for w in writers:
        w.start()
    # member2 is killed once it has committed batches, mid-stream
    end = time.time() + 60
    while time.time() < end:
        try:
            n = t.tgt.sql("SELECT count(*) FROM cdc_migrate.kafka_offsets WHERE member = "
                          "'member2'", db=False)[0][0]
        except RuntimeError:
            n = "0"
        if n != "0":
            break
        time.sleep(0.5)
    check("member2 committed batches before it is killed", n != "0")
    time.sleep(1.5)
    members[1].p.send_signal(signal.SIGKILL)
    members[1].p.wait()
    log("killed member2 with -9")
    time.sleep(3)
    members.append(Member(t, 3))
    log("member3 joins")
    time.sleep(8)
    for w in writers:
        w.stop()
    log("writers stopped after %d transactions" % sum(w.txns for w in writers))
    e, o = t.caught_up(60)
    # a stale snapshot row of a key changed later, into another partition
    items = "%s.%s.items" % (t.prefix, t.db)
    snap, stale = ka.stale_candidates(mock.bootstrap, items, t.src)
    check("a key with a snapshot row and a later update", bool(stale))
    if stale:
        m = snap[stale[0]]
        rec = json.loads(m["payload"])
        (rec.get("payload") or rec)["after"]["s"] = "STALE SNAPSHOT ROW"
        ka.kcat_produce(mock.bootstrap, items, (m["partition"] + 1) % 8, m["key"],
                        json.dumps(rec))
    e, o = t.caught_up(60)
    log("caught up")
    for m in members:
        if m.n != 2:
            rc = m.stop()
            check("member%d exits 0 on SIGTERM" % m.n, rc == 0,
                  "rc %s: %s" % (rc, m.text()[-1500:]))
    producer.send_signal(signal.SIGTERM)
    producer.wait(60)
    texts = "".join(m.text() for m in members)
    check("a partition moved to a member that started at the target's offset",
          any("the target's" in x and "from offset -1" not in x for x in texts.split("\n")
              if "assigned" in x), texts[-1500:])
    missing = [k for k, v in e.items() if o.get(k, (0, 0))[0] != v]
    check("every partition applied to its end (%d partitions, %d records)" %
          (len(e), sum(e.values())), not missing and len(e) == 18,
          "behind: %s" % [(k, e[k], o.get(k)) for k in missing[:5]])
    twice = {k: v for k, v in o.items() if v[1] != v[0]}
    check("each record counted once in a committed batch (records = next_offset)",
          not twice and bool(o), str(list(twice.items())[:5]))
    d = t.tgt.sql("SELECT count(*) FROM dupes")[0][0]
    check("ledger triggers saw no row applied twice", d == "0", d)
    if stale:
        s = t.tgt.sql("SELECT s FROM items WHERE id = %d" % stale[0])
        want = t.src.sql("SELECT s FROM items WHERE id = %d" % stale[0])
        check("a stale snapshot row did not overwrite the newer change",
              s and s[0][0] != "STALE SNAPSHOT ROW" and s == want, "%s %s" % (s, want))
    canon.compare(check, "", t.src, lambda tb: workload.dump_source(t.tgt, tb))
    r = subprocess.run([MIGRATE, "verify"] + t.args(), env=t.env(), capture_output=True,
                       text=True, timeout=300)
    check("cdc-migrate verify says identical", r.returncode == 0 and "identical" in r.stdout,
          r.stdout[-1500:] + r.stderr[-1500:])
    r = subprocess.run([MIGRATE, "status"] + t.args(), env=t.env(), capture_output=True,
                       text=True, timeout=60)
    check("status shows consumer and apply lag per partition and per table",
          "kafka partitions:" in r.stdout and "consumer_lag" in r.stdout and
          "kafka tables" in r.stdout, r.stdout + r.stderr)
    if not (checks.failed and os.environ.get("CDC_KAPPLY_KEEP")):
        t.src.drop()


def main():
    if not checks.have_testenv():
        return 1
    try:
        own = MyServer()
    except RuntimeError as e:
        print("FAIL: the target mariadbd: %s" % e)
        print("0 passed, 1 failed")
        return 1
    mock = ka.Mock()
    try:
        run(own, mock)
    finally:
        ka.stop_all(LIVE, mock)
        checks.finish(own, "CDC_KAPPLY_KEEP")
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
