#!/usr/bin/env python3
"""cdc-migrate apply --from-kafka: a consumer group of appliers into
PostgreSQL, fed by cdc-kafka from MariaDB under a concurrent workload
(docs/kafka.md, "Applying from Kafka").

    migrate_apply.py CDC_MIGRATE CDC_KAFKA KAFKA_MOCK [mariadb|mysql ...]

librdkafka's mock cluster (tests/kafka/mock_cluster.c, 3 brokers) holds
the topics, created with 8 and 6 partitions. cdc-kafka snapshots the
source (every mapped type: tests/migrate/workload.py) and streams while
two writers run inserts, updates, primary-key changes, deletes, large and
rolled-back transactions. Appliers join and leave one group: 1, then 2,
then 4 members; two are killed with -9, one more joins; the group is
paused and resumed on command. Then the test produces records of its own
(a stale snapshot row, a tombstone, a record that is not JSON, a record
without `op`). At the end:

- the target equals the source: `cdc-migrate verify`, and the test's own
  canonical dump of both sides made by each server's SQL (workload.py);
- nothing applied twice: for every partition the target's
  cdc_migrate.kafka_offsets holds next_offset = the partition's end as
  kcat reads it, and records (incremented by each committed batch by the
  number of records it consumed) = next_offset; the ledger trigger saw no
  row updated or deleted (each ledger row is inserted once at the source);
- the stale snapshot row did not overwrite the newer change, the bad
  record is a dead letter, status and the metrics show per-partition and
  per-table lag.
Ends with "N passed, N failed".
"""
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "migrate"))
import canon  # noqa: E402
from checks import Checks  # noqa: E402
import workload  # noqa: E402
from pgserver import PG, free_port  # noqa: E402

MIGRATE, KAFKA, MOCK = (os.path.abspath(p) for p in sys.argv[1:4])
FLAVORS = sys.argv[4:] or ["mariadb", "mysql"]
PRELOAD = int(os.environ.get("CDC_KAPPLY_PRELOAD", "1500"))
RUN = "%d" % (os.getpid() % 100000)
RNG = random.Random(int(os.environ.get("CDC_KAPPLY_SEED", RUN)))
checks = Checks(3000)
check = checks.check
LIVE = []  # processes this test started, killed by PID if it ends early


T0 = time.time()


def log(msg):
    print("# %5.1fs %s" % (time.time() - T0, msg), flush=True)


class Mock:
    def __init__(self):
        self.p = subprocess.Popen([MOCK, "3"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        line = self.p.stdout.readline().strip()
        if not line.startswith("bootstrap.servers="):
            raise SystemExit("FAIL: kafka_mock did not start: %r" % line)
        self.bootstrap = line.split("=", 1)[1]

    def cmd(self, text):
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()
        r = self.p.stdout.readline().strip()
        if r != "ok":
            raise RuntimeError("kafka_mock %r: %s" % (text, r))

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()


def stop_all(live, mock):
    """Kills the processes of live that still run, stops the mock cluster."""
    for p in live:
        if p.poll() is None:
            p.kill()
            p.wait()
    mock.stop()


def kcat_read(bootstrap, topic):
    r = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", topic, "-e", "-J", "-o", "beginning",
                        "-q"], capture_output=True, text=True, timeout=120)
    if r.returncode:
        raise RuntimeError("kcat -C %s: %s" % (topic, r.stderr[-500:]))
    return [json.loads(x) for x in r.stdout.split("\n") if x.strip()]


def kcat_produce(bootstrap, topic, partition, key, value):
    """value None: a tombstone (kcat -Z turns the empty value into NULL)."""
    line = "%s\x1d%s\n" % (key, "" if value is None else value)
    r = subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", topic, "-p", str(partition), "-K",
                        "\x1d", "-Z"], input=line, capture_output=True, text=True, timeout=60)
    if r.returncode:
        raise RuntimeError("kcat -P: " + r.stderr)


def env():
    e = dict(os.environ)
    e["CDC_MIGRATE_SOURCE_PASSWORD"] = os.environ["CDC_TEST_PASSWORD"]
    return e


class Writer(workload.Writer):
    """workload's writer, slower and without its 1,600-row transactions:
    the mock cluster keeps about 5 MB per partition and drops older
    records (a broker's retention), which must not happen before the
    appliers read them (that case is detected: the appliers stop)."""

    PAUSE = 0.03

    def txn(self):
        while True:
            t = super().txn()
            if "BETWEEN" not in t:
                return t


def start_producer(t, mock, server_id):
    """Creates the topics of t (a Group) on the mock cluster and starts
    cdc-kafka on t's source database, its config and log in t.work."""
    for topic, n in t.topics().items():
        mock.cmd("create %s %d 1" % (topic, n))
    conf = {"name": t.prefix + "-connector", "config": {
        "database.hostname": "127.0.0.1", "database.port": str(t.src.port),
        "database.user": "root", "database.password": os.environ["CDC_TEST_PASSWORD"],
        "database.server.id": str(server_id), "topic.prefix": t.prefix,
        "database.include.list": t.db, "kafka.bootstrap.servers": mock.bootstrap,
        "topic.creation.enable": "false", "snapshot.mode": "initial",
        "offset.storage.file.filename": os.path.join(t.work, t.prefix + ".offsets"),
        # Debezium's defaults otherwise: precise decimals,
        # adaptive_time_microseconds, bytes (schemas: kdbz's unit test)
        "key.converter.schemas.enable": "false", "value.converter.schemas.enable": "false",
    }}
    cpath = os.path.join(t.work, t.prefix + ".json")
    with open(cpath, "w") as f:
        json.dump(conf, f)
    klog = open(os.path.join(t.work, "cdc-kafka.log"), "a")
    return subprocess.Popen([KAFKA, cpath], stdout=klog, stderr=klog)


def stale_candidates(bootstrap, items, src):
    """The items topic's snapshot records by id, and the ids that have a
    snapshot record and a later update and are still at the source."""
    snap, changed = {}, {}
    for m in kcat_read(bootstrap, items):
        v = json.loads(m["payload"]) if m.get("payload") else None
        if not v:
            continue
        pl = v.get("payload", v)
        if pl["op"] == "r":
            snap[pl["after"]["id"]] = m
        elif pl["op"] == "u":
            changed[pl["after"]["id"]] = m
    present = {int(r[0]) for r in src.sql("SELECT id FROM items")}
    return snap, [k for k in changed if k in snap and int(k) in present]


class Group:
    """The topics an appliers' group reads and what it committed. A
    subclass sets prefix, db, mock, PARTITIONS ((table, partitions), ...)
    and offsets(): {(topic, partition): (next_offset, records)}."""

    POLL = 2  # seconds between two looks in caught_up()

    def topics(self):
        return {"%s.%s.%s" % (self.prefix, self.db, t): n for t, n in self.PARTITIONS}

    def offsets_now(self):
        """offsets() while the group runs."""
        return self.offsets()

    def ends(self):
        """The end offset of every partition, as kcat reads the topics."""
        out = {}
        for t, n in self.topics().items():
            for p in range(n):
                out[(t, p)] = 0
            for m in kcat_read(self.mock.bootstrap, t):
                out[(t, m["partition"])] = max(out[(t, m["partition"])], m["offset"] + 1)
        return out

    def caught_up(self, timeout):
        """(ends, offsets) once every partition's committed offset is at its
        end and the ends held still for one poll, or after timeout."""
        end = time.time() + timeout
        last = None
        while time.time() < end:
            e = self.ends()
            o = self.offsets_now()
            if e == last and all(o.get(k, (0, 0))[0] == v for k, v in e.items()):
                return e, o
            last = e
            time.sleep(self.POLL)
        return self.ends(), self.offsets()


class Applier:
    """A `cdc-migrate apply` process, its output in self.logpath."""

    def text(self):
        with open(self.logpath) as f:
            return f.read()

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return "hung"


class Member(Applier):
    """One `cdc-migrate apply` process of the group."""

    def __init__(self, t, n):
        self.n = n
        self.port = 20000 + RNG.randrange(20000)
        self.logpath = os.path.join(t.work, "member%d.log" % n)
        self.log = open(self.logpath, "a")
        self.p = subprocess.Popen(
            [MIGRATE, "apply"] + t.args() +
            ["--from-kafka", t.mock.bootstrap, "--group", t.group, "--topic-prefix", t.prefix,
             "--client-id", "member%d" % n, "--metrics-port", str(self.port), "--batch-ms", "100",
             "--batch-rows", "400", "--dead-letter",
             "--kafka-conf", "session.timeout.ms=6000", "--kafka-conf", "heartbeat.interval.ms=500",
             "--kafka-conf", "partition.assignment.strategy=" + t.strategy],
            env=env(), stdout=self.log, stderr=self.log)
        LIVE.append(self.p)

    def metrics(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.port, timeout=5) as r:
            return r.read().decode()

    def kill(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()


class Test(Group):
    PARTITIONS = (("items", 12), ("kv", 8), ("ledger", 6))

    def __init__(self, flavor, pg, mock):
        self.flavor = flavor
        self.pg = pg
        self.mock = mock
        self.db = "kapply_%s_%s" % (flavor[:2], RUN)
        self.pgdb = "k_" + flavor
        self.prefix = "ka%s" % flavor
        self.group = "appliers-" + flavor
        self.work = pg.dir
        self.src = workload.Source(flavor, self.db)
        # MariaDB's group rebalances eagerly (revoke all, assign all), MySQL's
        # incrementally (KIP-429: only moved partitions are revoked)
        self.strategy = "range,roundrobin" if flavor == "mariadb" else "cooperative-sticky"

    def args(self):
        return ["--source-host", "127.0.0.1", "--source-port", str(self.src.port), "--source-user",
                "root", "--database", self.db, "--target", self.pg.dsn(self.pgdb),
                "--zero-date", "null"]

    def offsets(self):
        rows = self.pg.sql(self.pgdb, "SELECT topic, part, next_offset, records "
                           "FROM cdc_migrate.kafka_offsets")
        return {(r[0], int(r[1])): (int(r[2]), int(r[3])) for r in rows}


def run(flavor, pg, mock):
    t = Test(flavor, pg, mock)
    name = flavor
    t.src.create()
    t.src.preload(PRELOAD, seed=5)
    pg.sql("postgres", "CREATE DATABASE %s" % t.pgdb)
    pg.sql(t.pgdb, workload.PG_LEDGER.format(db=t.db))
    producer = start_producer(t, mock, 43000 + RNG.randrange(9000))
    LIVE.append(producer)
    members = [Member(t, 1)]
    writers = [Writer(t.src, w, seed=300 + w) for w in range(2)]
    for w in writers:
        w.start()
    t0 = time.time()

    def at(sec):
        time.sleep(max(0, t0 + sec - time.time()))

    at(4)
    members.append(Member(t, 2))
    log("2 members")
    at(8)
    members += [Member(t, 3), Member(t, 4)]
    log("4 members")
    at(13)
    for m in (members[1], members[2]):
        m.kill()
    log("killed member2 and member3 with -9")
    at(15)
    members.append(Member(t, 5))
    log("member5 joins")
    at(24)  # the killed members' session timeout (6 s) has passed
    # ... but a cooperative rebalance moves partitions in two rounds, the
    # second some seconds after the first: the pause below must start from
    # a group at rest (no assignment or revocation for 4 s), or a move still
    # due from the kills and the join is counted against the pause.
    def churn():
        return {m.n: (m.text().count("revoked"), m.text().count("assigned"))
                for m in members if m.p.poll() is None}
    quiet_since, last = time.time(), churn()
    while time.time() - quiet_since < 4 and time.time() - t0 < 70:
        time.sleep(0.5)
        now = churn()
        if now != last:
            quiet_since, last = time.time(), now
    log("group at rest")
    # pause on command: the members keep polling, stay in the group
    r = subprocess.run([MIGRATE, "pause"] + t.args(), env=env(), capture_output=True, text=True)
    check("%s: cdc-migrate pause" % name, r.returncode == 0, r.stdout + r.stderr)
    live = [m for m in members if m.p.poll() is None]
    time.sleep(2)
    before = {m.n: m.text().count("revoked") for m in live}
    o1 = t.offsets()
    time.sleep(3)
    o2 = t.offsets()
    paused = all("cdc_migrate_kafka_paused 1" in m.metrics() for m in live)
    check("%s: paused members report paused and commit nothing" % name, paused and o1 == o2,
          "paused %s, offsets moved %s" % (paused, o1 != o2))
    r = subprocess.run([MIGRATE, "resume"] + t.args(), env=env(), capture_output=True, text=True)
    check("%s: cdc-migrate resume" % name, r.returncode == 0, r.stdout + r.stderr)
    time.sleep(2)
    after = {m.n: m.text().count("revoked") for m in live}
    check("%s: no rebalance while paused (members stayed in the group)" % name, before == after,
          "%s -> %s" % (before, after))
    at(32)
    # the target goes away (pg_ctl -m immediate) and comes back: members
    # pause fetching, stay in the group, reconnect, resume from its offsets
    live = [m for m in members if m.p.poll() is None]
    before = {m.n: m.text().count("revoked") for m in live}
    pg.crash()
    time.sleep(3)
    pg.start()
    log("target crashed and restarted")
    end = time.time() + 20  # the members' reconnect backoff doubles up to 2 s
    while time.time() < end and not all("target back after" in m.text() for m in live):
        time.sleep(0.5)
    after = {m.n: m.text().count("revoked") for m in live}
    texts = [m.text() for m in live]
    check("%s: target crash: members paused, stayed in the group, resumed" % name,
          before == after and all("consumption paused, retrying the target" in x and
                                  "target back after" in x for x in texts),
          "%s -> %s\n%s" % (before, after, texts[0][-1500:]))
    at(40)
    for w in writers:
        w.stop()
    log("writers stopped after %d transactions" % sum(w.txns for w in writers))
    # Records of the test's own, into the items topic.
    items = "%s.%s.items" % (t.prefix, t.db)
    e, o = t.caught_up(90)
    snap, stale = stale_candidates(mock.bootstrap, items, t.src)
    check("%s: a key with a snapshot row and a later update" % name, bool(stale))
    if stale:
        k = stale[0]
        rec = json.loads(snap[k]["payload"])
        (rec.get("payload") or rec)["after"]["s"] = "STALE SNAPSHOT ROW"
        kcat_produce(mock.bootstrap, items, 0, snap[k]["key"], json.dumps(rec))
    kcat_produce(mock.bootstrap, items, 1, '{"id":1}', None)  # a tombstone
    kcat_produce(mock.bootstrap, items, 2, '{"id":2}', "this is not JSON {")
    kcat_produce(mock.bootstrap, items, 3, '{"id":3}', json.dumps(
        {"source": {"db": t.db}, "ddl": "ALTER TABLE x", "databaseName": t.db}))
    e, o = t.caught_up(120)
    log("caught up")
    for m in members:
        rc = m.stop()
        if m.n not in (2, 3):
            check("%s: member%d exits 0 on SIGTERM" % (name, m.n), rc == 0, "rc %s: %s" %
                  (rc, m.text()[-1500:]))
    producer.send_signal(signal.SIGTERM)
    producer.wait(60)
    # exactly once
    missing = [k for k, v in e.items() if o.get(k, (0, 0))[0] != v]
    check("%s: every partition applied to its end (%d partitions, %d records)" %
          (name, len(e), sum(e.values())), not missing and len(e) == 26,
          "behind: %s" % [(k, e[k], o.get(k)) for k in missing[:5]])
    twice = {k: v for k, v in o.items() if v[1] != v[0]}
    check("%s: each record counted once in a committed batch (records = next_offset in every "
          "partition)" % name, not twice and o, str(list(twice.items())[:5]))
    d = pg.sql(t.pgdb, "SELECT count(*) FROM public.dupes")[0][0]
    check("%s: ledger trigger saw no row applied twice" % name, d == "0", d)
    texts = "".join(m.text() for m in members)
    moved = [x for x in texts.split("\n") if "assigned" in x and "the target's" in x
             and "from offset -1" not in x]
    check("%s: rebalanced partitions started at the target's offsets" % name, len(moved) > 0,
          texts[-1500:])
    # the test's own records
    if stale:
        s = pg.sql(t.pgdb, 'SELECT s FROM "%s".items WHERE id = %d' % (t.db, stale[0]))
        want = t.src.sql("SELECT s FROM items WHERE id = %d" % stale[0])
        check("%s: a stale snapshot row did not overwrite the newer change" % name,
              s and s[0][0] != "STALE SNAPSHOT ROW" and s[0][0] == want[0][0], "%s %s" % (s, want))
    dl = pg.sql(t.pgdb, "SELECT source_table, error FROM cdc_migrate.dead_letter")
    check("%s: the record that is not JSON is a dead letter" % name,
          len(dl) == 1 and dl[0][0] == "?" and dl[0][1], str(dl)[:1500])
    # the target equals the source
    canon.compare_pg(check, name, t.src, pg, t.pgdb)
    r = subprocess.run([MIGRATE, "verify"] + t.args(), env=env(), capture_output=True, text=True,
                       timeout=300)
    check("%s: cdc-migrate verify says identical" % name,
          r.returncode == 0 and "identical" in r.stdout, r.stdout[-1500:] + r.stderr[-1500:])
    r = subprocess.run([MIGRATE, "status"] + t.args(), env=env(), capture_output=True, text=True,
                       timeout=60)
    check("%s: status shows consumer and apply lag per partition and per table" % name,
          "kafka partitions:" in r.stdout and "consumer_lag" in r.stdout and
          "apply_lag_ms" in r.stdout and "kafka tables" in r.stdout, r.stdout + r.stderr)
    # a truncate record cannot be ordered with its table's other
    # partitions: a member stops on it, --dead-letter or not
    kcat_produce(mock.bootstrap, items, 0, '{"id":1}', json.dumps(
        {"before": None, "after": None, "op": "t", "ts_ms": 1,
         "source": {"db": t.db, "table": "items", "file": "f.000001", "pos": 4, "row": 0,
                    "snapshot": "false", "ts_ms": 1}}))
    m = Member(t, 9)
    try:
        rc = m.p.wait(90)
    except subprocess.TimeoutExpired:
        m.kill()
        rc = "hung"
    check("%s: a truncate record stops the member" % name,
          rc == 1 and "a TRUNCATE record" in m.text(), "rc %s: %s" % (rc, m.text()[-800:]))
    t.src.drop()
    pg.sql("postgres", "DROP DATABASE %s" % t.pgdb)


def main():
    if not checks.have_testenv():
        return 1
    # a port of our own: other sessions start PostgreSQL servers from 55400 too
    pg = PG(port=free_port(56000 + RNG.randrange(4000)))
    time.sleep(0.5)
    if pg.proc.poll() is not None:
        print("FAIL: PostgreSQL did not start on port %d" % pg.port)
        print("0 passed, 1 failed")
        return 1
    mock = Mock()
    try:
        for f in FLAVORS:
            run(f, pg, mock)
    finally:
        stop_all(LIVE, mock)
        checks.finish(pg, "CDC_KAPPLY_KEEP")
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
