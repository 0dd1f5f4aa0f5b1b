"""Python binding against the real servers of tests/servers/testenv.sh
(MariaDB 10.11 and MySQL 9.7): inserts, updates, deletes and DDL between
two binlog positions come out of Stream as the server wrote them, the
state rebuilt from them equals SELECT, a commit's checkpoint resumes with
exactly the rest, and stop() from another thread ends a live stream.
Fails (never skips) when the servers are missing."""
import os
import json
import random
import struct
import subprocess
import threading
import time
import unittest

import libcdc


def env(name):
    v = os.environ.get(name)
    if not v:
        raise RuntimeError("%s is not set: source the env file of tests/servers/testenv.sh" % name)
    return v


class Server:
    def __init__(self, flavor):
        self.flavor = flavor
        self.testenv = env("CDC_TEST_TESTENV")
        self.host = env("CDC_TEST_%s_HOST" % flavor.upper())
        self.port = env("CDC_TEST_%s_PORT" % flavor.upper())
        self.password = env("CDC_TEST_PASSWORD")

    def sql(self, script):
        p = subprocess.run([self.testenv, self.flavor, "--batch", "--skip-column-names"],
                           input=script.encode("utf-8"), capture_output=True)
        if p.returncode != 0:
            raise RuntimeError("%s: %s" % (self.flavor, p.stderr.decode("utf-8", "replace")[-1000:]))
        return [line.split("\t") for line in p.stdout.decode("utf-8").split("\n") if line]

    def position(self):
        q = "SHOW BINARY LOG STATUS" if self.flavor == "mysql" else "SHOW MASTER STATUS"
        r = self.sql(q)[0]
        return "%s:%s" % (r[0], r[1])

    def config(self, **kw):
        c = {"host": self.host, "port": self.port, "user": "cdc_repl", "password": self.password,
             "server.id": random.randint(20000, 4000000), "snapshot.mode": "never"}
        c.update(kw)
        return libcdc.Config(c)


def servers():
    names = env("CDC_TEST_SERVERS").split()
    missing = {"mariadb", "mysql"} - set(names)
    if missing:
        raise RuntimeError("servers not running: %s" % " ".join(sorted(missing)))
    return [Server(n) for n in ("mariadb", "mysql")]


TABLE = "cdc_test.py_binding"
WRITES = """
DROP TABLE IF EXISTS {t};
CREATE TABLE {t} (id INT PRIMARY KEY, name VARCHAR(20), amount DECIMAL(10,2), big BIGINT UNSIGNED);
BEGIN;
INSERT INTO {t} VALUES (1,'one',1.50,18446744073709551615),(2,'two',2.25,0),(3,'three',NULL,7);
COMMIT;
UPDATE {t} SET name='TWO', amount=20.00 WHERE id=2;
DELETE FROM {t} WHERE id=1;
INSERT INTO {t} VALUES (4,'four',4.00,4);
"""


class TestStream(unittest.TestCase):
    def run_writes(self, srv):
        srv.sql("CREATE DATABASE IF NOT EXISTS cdc_test")
        start = srv.position()
        srv.sql(WRITES.format(t=TABLE))
        return start, srv.position()

    def check_server(self, srv):
        start, end = self.run_writes(srv)
        with libcdc.Stream(srv.config(start=start, **{"stop.at": end}), batch_bytes=64) as s:
            recs = list(s)
            self.assertGreater(s.metric("rows"), 0)
        mine = [r for r in recs if r.get("table") == "py_binding"]
        self.assertEqual([r["op"] for r in mine], ["c", "c", "c", "u", "d", "c"])
        ins = mine[0]["after"]
        # Exact integers and DECIMAL text, as docs/values.md says.
        self.assertEqual(ins, {"id": 1, "name": "one", "amount": "1.50", "big": 18446744073709551615})
        self.assertEqual(mine[3]["before"]["name"], "two")
        self.assertEqual(mine[3]["after"]["amount"], "20.00")
        self.assertIsNone(mine[4]["after"])
        # DDL lines for the DROP/CREATE, each with a checkpoint.
        ddl = [r for r in recs if r.event == "ddl" and "py_binding" in r["sql"]]
        self.assertTrue(any("CREATE TABLE" in r["sql"] for r in ddl), ddl)
        # Other writers share the servers: count our transactions' commits.
        gtids = {r["gtid"] for r in mine}
        commits = [r for r in recs if r.event == "commit" and r["gtid"] in gtids]
        self.assertEqual(len(commits), 4)
        for c in commits + ddl:
            self.assertTrue(c["checkpoint"])
        self.assertEqual(s.checkpoint, [r["checkpoint"] for r in recs if "checkpoint" in r][-1])

        # Rebuilt state equals SELECT.
        state = {}
        for r in mine:
            if r["op"] == "d":
                del state[r["before"]["id"]]
            else:
                state[r["after"]["id"]] = r["after"]
        rows = srv.sql("SELECT id, name, amount, big FROM %s ORDER BY id" % TABLE)
        want = {int(r[0]): {"id": int(r[0]), "name": r[1], "amount": None if r[2] == "NULL" else r[2],
                            "big": int(r[3])} for r in rows}
        self.assertEqual(state, want)

        # Resume from the first transaction's commit: exactly the rest.
        first = next(i for i, r in enumerate(recs) if r.event == "commit" and r["gtid"] == mine[0]["gtid"])
        rest = [r for r in recs[first + 1:] if "op" in r]  # other writers' rows too
        with libcdc.Stream(srv.config(start=recs[first]["checkpoint"], **{"stop.at": end})) as s2:
            again = [r for r in s2 if "op" in r]
        self.assertEqual(again, rest)
        self.assertEqual([r["op"] for r in again if r["table"] == "py_binding"], ["u", "d", "c"])

    def test_mariadb(self):
        self.check_server(servers()[0])

    def test_mysql(self):
        self.check_server(servers()[1])

    def test_stop_live_stream_from_thread(self):
        for srv in servers():
            srv.sql("CREATE DATABASE IF NOT EXISTS cdc_test;"
                    "CREATE TABLE IF NOT EXISTS cdc_test.py_live (id INT PRIMARY KEY)")
            s = libcdc.Stream(srv.config(start=srv.position()))
            seen = []
            errors = []

            def run():
                try:
                    for r in s.changes():
                        if r["table"] == "py_live":
                            seen.append(r["after"]["id"])
                except Exception as e:  # noqa: BLE001 - checked below
                    errors.append(e)

            t = threading.Thread(target=run)
            t.start()
            base = random.randint(1, 10**9)
            srv.sql("INSERT INTO cdc_test.py_live VALUES (%d),(%d)" % (base, base + 1))
            deadline = time.time() + 120  # other writers share the servers
            while len(seen) < 2 and time.time() < deadline and t.is_alive():
                time.sleep(0.05)
            s.stop()  # the stream now waits for the server: stop wakes it
            t.join(20)
            self.assertFalse(t.is_alive(), srv.flavor + ": stop() did not end the iteration")
            self.assertEqual(errors, [])
            self.assertEqual(seen, [base, base + 1], srv.flavor)
            self.assertTrue(s.checkpoint)
            s.close()

    def test_snapshot_larger_than_a_batch(self):
        # snapshot.mode=initial_only over a table much larger than the
        # 4 KiB batch limit: every row arrives once as "op":"r", then the
        # snapshot-done line, and the stream ends at the snapshot point.
        for srv in servers():
            srv.sql("CREATE DATABASE IF NOT EXISTS cdc_test; DROP TABLE IF EXISTS cdc_test.py_snap;"
                    "CREATE TABLE cdc_test.py_snap (id INT PRIMARY KEY, pad VARCHAR(60));"
                    "INSERT INTO cdc_test.py_snap WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL "
                    "SELECT n + 1 FROM c WHERE n < 900) SELECT n, REPEAT('y', 50) FROM c")
            cfg = srv.config(**{"snapshot.mode": "initial_only", "table.include.list": "cdc_test.py_snap",
                                "user": "root"})
            with libcdc.Stream(cfg, batch_bytes=4096, native=True) as s:
                recs = [r for b in s.batches() for r in b]
            rows = [r for r in recs if r.get("op") == "r"]
            self.assertEqual(sorted(r["after"]["id"] for r in rows), list(range(1, 901)), srv.flavor)
            done = [i for i, r in enumerate(recs) if r.event == "snapshot_done"]
            self.assertEqual(len(done), 1, srv.flavor)
            self.assertGreater(done[0], max(i for i, r in enumerate(recs) if r.get("op") == "r"))

    def test_large_transaction_batches_and_stop(self):
        # 900 rows in one transaction, 4 KiB batches: the transaction comes
        # in many batches (the stream pauses inside it), the commit after
        # its last row. A stop() after the first batch ends the iteration;
        # iterating again goes on from there: every row once, in order.
        for srv in servers():
            srv.sql("CREATE DATABASE IF NOT EXISTS cdc_test; DROP TABLE IF EXISTS cdc_test.py_big;"
                    "CREATE TABLE cdc_test.py_big (id INT PRIMARY KEY, pad VARCHAR(60))")
            for native in (False, True):  # JSON lines, binary batches
                srv.sql("DELETE FROM cdc_test.py_big")
                start = srv.position()
                srv.sql("INSERT INTO cdc_test.py_big WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL "
                        "SELECT n + 1 FROM c WHERE n < 900) SELECT n, REPEAT('x', 50) FROM c")
                end = srv.position()
                with libcdc.Stream(srv.config(start=start, **{"stop.at": end}), batch_bytes=4096,
                                   native=native) as s:
                    # Other writers share the servers: look only at our table.
                    recs, ours = [], 0
                    batches = s.batches()
                    for b in batches:
                        recs.extend(b)
                        if b and b[-1].get("table") == "py_big":
                            ours += 1
                            break  # inside our transaction
                    s.stop()
                    self.assertEqual(list(batches), [])
                    for b in s.batches():
                        recs.extend(b)
                        ours += any(r.get("table") == "py_big" for r in b)
                mine = [i for i, r in enumerate(recs) if r.get("table") == "py_big"]
                self.assertEqual([recs[i]["after"]["id"] for i in mine], list(range(1, 901)), srv.flavor)
                gtid = recs[mine[0]]["gtid"]
                self.assertTrue(all(recs[i]["gtid"] == gtid for i in mine))
                commits = [i for i, r in enumerate(recs) if r.event == "commit" and r["gtid"] == gtid]
                self.assertEqual(len(commits), 1, srv.flavor)
                self.assertGreater(commits[0], mine[-1])
                self.assertGreater(ours, 5, srv.flavor)


class TestDebeziumStream(unittest.TestCase):
    """Stream(debezium={...}): a snapshot of two tables with source.snapshot
    marked as Debezium marks it, then changes with transaction BEGIN/END
    records around them, a tombstone after a delete, and a schema-change
    record whose tableChanges has the table's new column as
    information_schema does; the state rebuilt from the records equals
    SELECT."""

    OPTS = {"topic.prefix": "pyz", "provide.transaction.metadata": "true", "decimal.handling.mode": "string",
            "schemas.enable": "false"}

    def check(self, srv):
        db = "cdc_test_dz"
        srv.sql("SET NAMES utf8mb4; DROP DATABASE IF EXISTS {d}; CREATE DATABASE {d};"
                "CREATE TABLE {d}.a (id INT PRIMARY KEY, name VARCHAR(20), amount DECIMAL(10,2));"
                "CREATE TABLE {d}.b (id INT PRIMARY KEY, v VARCHAR(8)) DEFAULT CHARSET utf8mb4;"
                "INSERT INTO {d}.a VALUES (1,'one',1.50),(2,'two',NULL),(3,'drei',3.00);"
                "INSERT INTO {d}.b VALUES (10,'x'),(11,'y'),(12,'\U0001F600')".format(d=db))
        cfg = srv.config(**{"snapshot.mode": "initial_only", "table.include.list": db + ".a," + db + ".b",
                            "user": "root"})
        with libcdc.Stream(cfg, batch_bytes=256, debezium=self.OPTS) as s:
            recs = list(s)
        snap = [r for r in recs if isinstance(r, libcdc.DebeziumRecord)]
        self.assertEqual([r.topic for r in snap], ["pyz.%s.a" % db] * 3 + ["pyz.%s.b" % db] * 3, srv.flavor)
        marks = [r.value["source"]["snapshot"] for r in snap]
        self.assertEqual(marks, ["first", "true", "last_in_data_collection", "first_in_data_collection", "true",
                                 "last"], srv.flavor)
        self.assertEqual([r.op for r in snap], ["r"] * 6)
        self.assertEqual(snap[0].value["after"], {"id": 1, "name": "one", "amount": "1.50"})
        self.assertEqual(snap[5].value["after"], {"id": 12, "v": "\U0001F600"})
        self.assertEqual(json.loads(snap[5].key_bytes), {"id": 12})
        done = [i for i, r in enumerate(recs) if r.event == "snapshot_done"]
        self.assertEqual(done, [len(recs) - 1], srv.flavor)  # after the last row, marked last

        start = srv.position()
        srv.sql("BEGIN; INSERT INTO {d}.a VALUES (4,'four',4.00),(5,'five',5.55); COMMIT;"
                "UPDATE {d}.a SET amount = 20.00 WHERE id = 2;"
                "DELETE FROM {d}.a WHERE id = 1;"
                "ALTER TABLE {d}.a ADD COLUMN note VARCHAR(10) DEFAULT 'n';"
                "INSERT INTO {d}.a VALUES (6,'six',6.00,'z')".format(d=db))
        end = srv.position()
        cfg = srv.config(start=start, **{"stop.at": end, "table.include.list": db + ".a", "user": "root"})
        with libcdc.Stream(cfg, batch_bytes=300, debezium=self.OPTS) as s:
            recs = list(s)
        dz = [r for r in recs if isinstance(r, libcdc.DebeziumRecord)]
        changes = [r for r in dz if r.topic == "pyz.%s.a" % db]
        self.assertEqual([r.op for r in changes], ["c", "c", "u", "d", None, "c"], srv.flavor)
        self.assertIsNone(changes[4].value)                  # the tombstone
        self.assertEqual(changes[4].key, {"id": 1})
        self.assertIsNone(changes[4].value_bytes)
        # Each transaction: BEGIN, its changes, END with their count.
        txn = [r for r in dz if r.topic == "pyz.transaction"]
        begins = [r for r in txn if r.value["status"] == "BEGIN"]
        ends = [r for r in txn if r.value["status"] == "END"]
        self.assertEqual(len(begins), 4, srv.flavor)  # the DDL is no transaction of rows
        self.assertEqual([e.value["event_count"] for e in ends], [2, 1, 1, 1], srv.flavor)
        for b, e in zip(begins, ends):
            self.assertEqual(b.value["id"], e.value["id"])
            inside = dz[dz.index(b) + 1:dz.index(e)]
            self.assertTrue(inside and all(r.topic == "pyz.%s.a" % db for r in inside), srv.flavor)
            for r in inside:
                if r.value is not None:
                    self.assertEqual(r.value["transaction"]["id"], b.value["id"])
        # The ALTER: one schema-change record, its table with the new column.
        sc = [r for r in dz if r.topic == "pyz"]
        self.assertEqual(len(sc), 1, srv.flavor)
        self.assertIn("ADD COLUMN note", sc[0].value["ddl"])
        cols = [c["name"] for c in sc[0].value["tableChanges"][0]["table"]["columns"]]
        self.assertEqual(cols, ["id", "name", "amount", "note"], srv.flavor)
        # Every Debezium record is followed, in its transaction, by a commit
        # or DDL line with a checkpoint, as in the plain stream.
        self.assertTrue(recs[-1].get("checkpoint"), srv.flavor)
        # State from the snapshot and the changes equals SELECT.
        state = {r.value["after"]["id"]: dict(r.value["after"]) for r in snap if r.topic.endswith(".a")}
        for r in changes:
            if r.value is None:
                continue
            if r.op == "d":
                del state[r.value["before"]["id"]]
            else:
                state[r.value["after"]["id"]] = r.value["after"]
        for row in state.values():
            row.setdefault("note", "n")  # rows written before the column existed
        rows = srv.sql("SELECT id, name, amount, note FROM %s.a ORDER BY id" % db)
        want = {int(r[0]): {"id": int(r[0]), "name": r[1], "amount": None if r[2] == "NULL" else r[2],
                            "note": r[3]} for r in rows}
        self.assertEqual(state, want, srv.flavor)
        srv.sql("DROP DATABASE %s" % db)

    def test_mariadb_and_mysql(self):
        for srv in servers():
            self.check(srv)

    def test_native_and_debezium_exclude(self):
        srv = servers()[0]
        with self.assertRaises(ValueError):
            libcdc.Stream(srv.config(), native=True, debezium=self.OPTS)
        with self.assertRaises(libcdc.CdcError) as cm:
            libcdc.Stream(srv.config(), debezium={"topic.prefix": "p", "decimal.handling.mode": "nope"})
        self.assertEqual(cm.exception.name, "CDC_ERR_CONFIG")
        self.assertIn("nope", cm.exception.message)


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


MYDB = "snapshot_py"  # this file's own database for the tests below


class TestBoundedAndSafe(unittest.TestCase):
    """Issue 13, items 1-3: a snapshot in bounded memory, break-and-resume
    without loss, Ctrl-C on an idle stream, close() from another thread."""

    ROWS = int(os.environ.get("CDC_TEST_SNAPSHOT_ROWS", "2000000"))  # issue 13: a 2M-row table

    def test_snapshot_bounded_memory(self):
        # ROWS rows (~30 MB of JSON lines, hundreds of MB as dicts) through
        # 256 KiB batches: every row once, and the process grows by a
        # bounded amount, not by the table.
        for srv in servers():
            srv.sql("CREATE DATABASE IF NOT EXISTS %s; DROP TABLE IF EXISTS %s.big;"
                    "CREATE TABLE %s.big (id INT PRIMARY KEY, pad VARCHAR(100))" % (MYDB, MYDB, MYDB))
            # The fill is not in the binlog (sql_log_bin = 0): a snapshot
            # reads the table, and 200 MB of binlog would double the time.
            rec = "SET SESSION sql_log_bin = 0;" + (
                "SET SESSION cte_max_recursion_depth = 10000000;" if srv.flavor == "mysql" else
                "SET SESSION max_recursive_iterations = 10000000;")
            step = 250000
            for lo in range(1, self.ROWS + 1, step):
                srv.sql(rec + "INSERT INTO %s.big WITH RECURSIVE c(n) AS (SELECT %d UNION ALL SELECT n + 1 FROM c "
                        "WHERE n < %d) SELECT n, REPEAT('p', 60 + n %% 40) FROM c"
                        % (MYDB, lo, min(lo + step - 1, self.ROWS)))
            cfg = srv.config(**{"snapshot.mode": "initial_only", "table.include.list": MYDB + ".big",
                                "user": "root", "snapshot.parallelism": 2})
            base = peak = rss_kib()
            seen = bytearray(self.ROWS + 1)
            n = 0
            first = None
            t0 = time.time()
            with libcdc.Stream(cfg, batch_bytes=256 * 1024, native=True) as s:
                for r in s:
                    if first is None:
                        first = time.time() - t0
                    if r.op == "r":
                        i = r["after"]["id"]
                        self.assertEqual(seen[i], 0, "row %d twice" % i)
                        seen[i] = 1
                        n += 1
                        if n % 5000 == 0:
                            peak = max(peak, rss_kib())
            dt = time.time() - t0
            peak = max(peak, rss_kib())
            print("%s: %d snapshot rows in %.1f s (%.0f rows/s), first record after %.2f s, "
                  "RSS %d -> peak %d KiB (+%d KiB)"
                  % (srv.flavor, n, dt, n / dt, first or 0, base, peak, peak - base), flush=True)
            self.assertEqual(n, self.ROWS, srv.flavor)
            # a whole-snapshot batch would hold every row's dict at once
            self.assertLess(peak - base, 80 * 1024, srv.flavor)
            srv.sql("DROP TABLE %s.big" % MYDB)

    def test_break_and_resume(self):
        # Breaking out of the loop after the first change of a 5-row
        # transaction, then iterating again, yields the other 4 and the
        # commit; random breaks over a longer run lose and repeat nothing.
        for srv in servers():
            srv.sql("CREATE DATABASE IF NOT EXISTS %s; DROP TABLE IF EXISTS %s.br;"
                    "CREATE TABLE %s.br (id INT PRIMARY KEY)" % (MYDB, MYDB, MYDB))
            start = srv.position()
            srv.sql("BEGIN; INSERT INTO %s.br VALUES (1),(2),(3),(4),(5); COMMIT;" % MYDB +
                    "".join("INSERT INTO %s.br VALUES (%d);" % (MYDB, i) for i in range(6, 40)))
            end = srv.position()
            kw = {"start": start, "stop.at": end, "table.include.list": MYDB + ".br"}
            native = random.choice([False, True])
            with libcdc.Stream(srv.config(**kw), native=native) as s:
                want = list(s)
            got = []
            with libcdc.Stream(srv.config(**kw), batch_bytes=random.choice([64, 512, 0]), native=native) as s:
                for r in s:
                    got.append(r)
                    if "op" in r:
                        break
                self.assertEqual(got[-1]["after"], {"id": 1})
                for r in s:
                    got.append(r)
                    if r.get("op") == "c" and r["after"]["id"] == 5:
                        break
                ids = [r["after"]["id"] for r in got if "op" in r]
                self.assertEqual(ids, [1, 2, 3, 4, 5], srv.flavor)
                while True:
                    k = 0
                    for r in s:
                        got.append(r)
                        k += 1
                        if random.random() < 0.3:
                            break
                    if k == 0:
                        break
            self.assertEqual(got, want, srv.flavor)

    def test_ctrl_c_idle_stream(self):
        # An idle stream (a table nobody writes) waits in the C call; a
        # SIGINT raises KeyboardInterrupt within a second, and iterating
        # again goes on without losing a change.
        import signal
        for srv in servers():
            srv.sql("CREATE DATABASE IF NOT EXISTS %s; CREATE TABLE IF NOT EXISTS %s.quiet (id INT PRIMARY KEY)"
                    % (MYDB, MYDB))
            cfg = srv.config(start=srv.position(), **{"table.include.list": MYDB + ".quiet",
                                                      "heartbeat.interval.ms": 30000})
            with libcdc.Stream(cfg) as s:
                sent = []
                timer = threading.Timer(1.0, lambda: (sent.append(time.time()), os.kill(os.getpid(), signal.SIGINT)))
                timer.start()
                try:
                    with self.assertRaises(KeyboardInterrupt):
                        for _ in s:
                            pass
                    took = time.time() - sent[0]
                finally:
                    timer.cancel()
                print("%s: KeyboardInterrupt %.0f ms after SIGINT" % (srv.flavor, took * 1000), flush=True)
                self.assertLess(took, 1.0, srv.flavor)
                base = random.randint(1, 10**9)
                srv.sql("INSERT INTO %s.quiet VALUES (%d)" % (MYDB, base))
                for r in s:
                    if r.get("op") == "c":
                        self.assertEqual(r["after"]["id"], base, srv.flavor)
                        break

    def test_close_from_another_thread(self):
        # close() while another thread iterates: the iteration raises
        # CdcError (CDC_ERR_STATE), never a crash; 10 times per server.
        for srv in servers():
            srv.sql("CREATE DATABASE IF NOT EXISTS %s; CREATE TABLE IF NOT EXISTS %s.quiet (id INT PRIMARY KEY)"
                    % (MYDB, MYDB))
            for k in range(10):
                s = libcdc.Stream(srv.config(start=srv.position(), **{"table.include.list": MYDB + ".quiet"}))
                errors = []

                def run():
                    try:
                        for _ in s:
                            pass
                    except libcdc.CdcError as e:
                        errors.append(e)

                t = threading.Thread(target=run)
                t.start()
                time.sleep(random.uniform(0.0, 0.5))
                s.close()
                t.join(20)
                self.assertFalse(t.is_alive(), srv.flavor)
                # the iteration either raised, or (closed before it began
                # its first call) raised too: never a silent end
                self.assertEqual(len(errors), 1, srv.flavor)
                self.assertEqual(errors[0].name, "CDC_ERR_STATE")
                s.close()  # twice is fine


class TestAsyncio(unittest.TestCase):
    def test_async_iterator(self):
        # `async for` yields exactly what `for` yields; while the stream
        # waits for an idle server the event loop keeps running (a ticker
        # task advances); cancelling the awaiting task loses nothing.
        import asyncio
        for srv in servers():
            srv.sql("CREATE DATABASE IF NOT EXISTS %s; DROP TABLE IF EXISTS %s.aio;"
                    "CREATE TABLE %s.aio (id INT PRIMARY KEY)" % (MYDB, MYDB, MYDB))
            start = srv.position()
            srv.sql("".join("INSERT INTO %s.aio VALUES (%d);" % (MYDB, i) for i in range(1, 20)))
            end = srv.position()
            kw = {"start": start, "stop.at": end, "table.include.list": MYDB + ".aio"}
            with libcdc.Stream(srv.config(**kw)) as s:
                want = list(s)

            async def collect():
                async with libcdc.Stream(srv.config(**kw), batch_bytes=128) as s:
                    return [r async for r in s]

            self.assertEqual(asyncio.run(collect()), want, srv.flavor)

            async def idle():
                ticks = 0

                async def ticker():
                    nonlocal ticks
                    while True:
                        await asyncio.sleep(0.01)
                        ticks += 1

                tick = asyncio.create_task(ticker())
                s = libcdc.Stream(srv.config(start=srv.position(), **{"table.include.list": MYDB + ".aio"}))
                try:
                    it = s.__aiter__()
                    with self.assertRaises(asyncio.TimeoutError):
                        while True:
                            await asyncio.wait_for(it.__anext__(), 1.0)
                    self.assertGreater(ticks, 50)  # the loop ran while the stream waited
                    base = random.randint(1, 10**9)
                    srv.sql("INSERT INTO %s.aio VALUES (%d)" % (MYDB, base))
                    while True:
                        r = await asyncio.wait_for(it.__anext__(), 60)
                        if r.get("op") == "c":
                            self.assertEqual(r["after"]["id"], base)
                            break
                finally:
                    tick.cancel()
                    await s.__aexit__(None, None, None)

            asyncio.run(idle())


def _workload():
    import importlib.util
    root = os.environ.get("CDC_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
    spec = importlib.util.spec_from_file_location("workload", os.path.join(root, "tests", "differential", "workload.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class TestNativeValues(unittest.TestCase):
    """Issue 13.4: every type of the differential workload
    (tests/differential/workload.py) streamed with native=True rebuilds,
    value by value, the native values that SELECT's text gives, parsed
    here independently of the library: Decimal, date, naive datetime for
    DATETIME, aware UTC datetime for TIMESTAMP, timedelta for TIME, bytes,
    int for unsigned and BIT, documents for JSON (JSON_NULL apart from
    None). Geometry, vectors and MariaDB INET/UUID keep their text forms
    and are not compared here."""

    DB = "snapshot_types"
    SKIP = {"t_geo", "t_vec", "t_inet", "t_nopk"}

    @staticmethod
    def _expected(data_type, column_type, text, flavor):
        import datetime as dt
        from decimal import Decimal
        if text == "NULL":
            return None
        if data_type in ("tinyint", "smallint", "mediumint", "int", "bigint", "year", "bit"):
            return int(text)
        if data_type in ("float", "double"):
            return float(text)
        if data_type == "decimal":
            return Decimal(text)
        if data_type == "date":
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                return text
        if data_type in ("datetime", "timestamp"):
            try:
                v = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S")
            except ValueError:
                return text.replace(" ", "T")
            return v.replace(tzinfo=dt.timezone.utc) if data_type == "timestamp" else v
        if data_type == "time":
            neg = text.startswith("-")
            h, m, s = text.lstrip("-").split(":")
            sec, _, frac = s.partition(".")
            v = dt.timedelta(hours=int(h), minutes=int(m), seconds=int(sec),
                             microseconds=int((frac + "000000")[:6]) if frac else 0)
            return -v if neg else v
        raw = bytes.fromhex(text)  # HEX() of everything else
        if data_type in ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"):
            return raw
        if data_type == "json":
            doc = json.loads(raw.decode("utf-8"))
            return libcdc.JSON_NULL if doc is None else doc
        return raw.decode("utf-8")  # text, ENUM, SET

    @staticmethod
    def _select_expr(data_type, name):
        if data_type == "bit":
            return "`%s` + 0" % name
        if data_type == "float":  # SELECT prints 6 digits; the double holds the float exactly
            return "CAST(`%s` AS DOUBLE)" % name
        if data_type in ("tinyint", "smallint", "mediumint", "int", "bigint", "year", "double", "decimal",
                         "date", "datetime", "timestamp", "time"):
            return "`%s`" % name
        if data_type in ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "json"):
            return "HEX(`%s`)" % name
        return "HEX(CONVERT(`%s` USING utf8mb4))" % name

    def test_workload_round_trip(self):
        wl = _workload()
        for srv in servers():
            start = srv.position()
            srv.sql(";\n".join(wl.statements(srv.flavor, self.DB, with_alter=False)) + ";")
            end = srv.position()
            cols = srv.sql("SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS "
                           "WHERE TABLE_SCHEMA = '%s' ORDER BY TABLE_NAME, ORDINAL_POSITION" % self.DB)
            # MariaDB's JSON is LONGTEXT with the CHECK a JSON declaration
            # writes: those columns are documents too
            jcols = set()
            if srv.flavor == "mariadb":
                jcols = {(t, c) for t, c in srv.sql(
                    "SELECT c.TABLE_NAME, c.COLUMN_NAME FROM information_schema.COLUMNS c"
                    " JOIN information_schema.CHECK_CONSTRAINTS k ON k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA"
                    " AND k.TABLE_NAME = c.TABLE_NAME AND k.CONSTRAINT_NAME = c.COLUMN_NAME"
                    " WHERE c.TABLE_SCHEMA = '%s' AND c.DATA_TYPE = 'longtext'"
                    " AND k.CHECK_CLAUSE = CONCAT('json_valid(`', c.COLUMN_NAME, '`)')" % self.DB)}
                self.assertIn(("t_json", "j"), jcols)
            tables = {}
            for t, c, d, ct in cols:
                if t not in self.SKIP:
                    tables.setdefault(t, []).append((c, "json" if (t, c) in jcols else d, ct))
            state = {t: {} for t in tables}
            with libcdc.Stream(srv.config(start=start, **{"stop.at": end, "database.include.list": self.DB}),
                               native=True) as s:
                for r in s:
                    if r.op is None or r.table not in state:
                        continue
                    self.assertIsInstance(r, libcdc.Record)
                    self.assertEqual(r.db, self.DB)
                    self.assertTrue(r.position["file"])
                    if r.op == "d":
                        del state[r.table][r.before["id"]]
                    else:
                        state[r.table][r.after["id"]] = r.after
            checked = 0
            for t, cs in tables.items():
                exprs = ", ".join(self._select_expr(d, c) for c, d, _ in cs)
                rows = srv.sql("SET time_zone = '+00:00'; SELECT %s FROM %s.%s ORDER BY id" % (exprs, self.DB, t))
                want = {}
                for row in rows:
                    vals = {c: self._expected(d, ct, v, srv.flavor) for (c, d, ct), v in zip(cs, row)}
                    want[vals["id"]] = vals
                self.assertEqual(sorted(state[t]), sorted(want), "%s %s: keys" % (srv.flavor, t))
                for k, w in want.items():
                    got = state[t][k]
                    for (c, d, _), in zip(cs):
                        g, e = got.get(c), w[c]
                        if d == "float" and e is not None:  # the same float32
                            self.assertEqual(struct.pack("<f", g), struct.pack("<f", e), "%s %s.%s" % (srv.flavor, t, c))
                        else:
                            self.assertEqual((type(g), g), (type(e), e), "%s %s id %s column %s"
                                             % (srv.flavor, t, k, c))
                        checked += 1
            print("%s: %d values in %d tables equal SELECT as native values" % (srv.flavor, checked, len(tables)),
                  flush=True)
            srv.sql("DROP DATABASE %s" % self.DB)


class TestMariaDBJSON(unittest.TestCase):
    """Issue 13.4: a MariaDB column declared JSON (LONGTEXT with a
    json_valid CHECK) comes as dict/list like MySQL's JSON, from the binlog
    and from the snapshot, equal to json.loads of the server's own
    JSON_COMPACT(); the JSON null document is JSON_NULL, SQL NULL is None;
    a plain LONGTEXT stays str."""

    DB = "mjson_py"
    DOCS = [(1, '{"a": {"b": [1, 2.5, -3, 18446744073709551615, true, null]}, "s": "\\u00e9 😀", "e": {}}'),
            (2, "null"), (3, None), (4, '[[{"deep": []}], "x🚀"]'), (5, '"a string"'), (6, "-12.5e-3")]

    def rows(self, srv):
        got = srv.sql("SELECT id, HEX(JSON_COMPACT(j)) FROM %s.docs ORDER BY id" % self.DB)
        return {int(i): None if h == "NULL" else json.loads(bytes.fromhex(h).decode("utf-8")) for i, h in got}

    def check(self, recs, want, what):
        self.assertEqual(sorted(r.after["id"] for r in recs), sorted(want), what)
        for r in recs:
            i, j = r.after["id"], r.after["j"]
            w = want[i]
            if w is None and i == 2:  # the null document
                self.assertIs(j, libcdc.JSON_NULL, "%s id %d" % (what, i))
            elif w is None:
                self.assertIsNone(j, "%s id %d" % (what, i))
            else:
                self.assertEqual((type(j), j), (type(w), w), "%s id %d" % (what, i))
            lt = r.after["lt"]
            self.assertEqual((type(lt), lt), (str, "[%d]" % i), "%s id %d lt" % (what, i))

    def test_documents_on_mariadb(self):
        srv = Server("mariadb")
        srv.sql("DROP DATABASE IF EXISTS {d}; CREATE DATABASE {d}; CREATE TABLE {d}.docs (id INT PRIMARY KEY,"
                " j JSON, lt LONGTEXT)".format(d=self.DB))
        start = srv.position()
        srv.sql("SET NAMES utf8mb4; INSERT INTO %s.docs VALUES %s" % (self.DB, ",".join(
            "(%d, %s, '[%d]')" % (i, "NULL" if j is None else "'%s'" % j.replace("\\", "\\\\"), i)
            for i, j in self.DOCS)))
        end = srv.position()
        want = self.rows(srv)
        self.assertEqual(want[4], [[{"deep": []}], "x\U0001F680"])
        cfg = {"table.include.list": self.DB + ".docs"}
        with libcdc.Stream(srv.config(start=start, **{"stop.at": end}, **cfg), native=True) as s:
            self.check([r for r in s if r.op == "c"], want, "binlog")
        with libcdc.Stream(srv.config(**{"snapshot.mode": "initial_only"}, **cfg), native=True) as s:
            self.check([r for r in s if r.op == "r"], want, "snapshot")
        srv.sql("DROP DATABASE %s" % self.DB)


class TestSnapshotStopResume(unittest.TestCase):
    def test_stop_inside_snapshot_and_close(self):
        # stop() in the middle of a snapshot, then iterating again: the
        # snapshot goes on where it stopped (same read view): every row
        # once. close() of a stream whose snapshot is paused returns at once.
        for srv in servers():
            rec = "SET SESSION cte_max_recursion_depth = 10000000;" if srv.flavor == "mysql" else \
                "SET SESSION max_recursive_iterations = 10000000;"
            srv.sql("CREATE DATABASE IF NOT EXISTS %s; DROP TABLE IF EXISTS %s.ss;"
                    "CREATE TABLE %s.ss (id INT PRIMARY KEY, pad VARCHAR(50));" % (MYDB, MYDB, MYDB) + rec +
                    "INSERT INTO %s.ss WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 20000)"
                    " SELECT n, REPEAT('s', 40) FROM c" % MYDB)
            cfg = srv.config(**{"snapshot.mode": "initial_only", "table.include.list": MYDB + ".ss", "user": "root",
                                "snapshot.parallelism": 3, "snapshot.chunk.rows": 1000})
            with libcdc.Stream(cfg, batch_bytes=16384) as s:
                ids = []
                for i, r in enumerate(s):
                    if r.get("op") == "r":
                        ids.append(r["after"]["id"])
                    if i == 5000:
                        s.stop()
                first = len(ids)
                for r in s:
                    if r.get("op") == "r":
                        ids.append(r["after"]["id"])
            self.assertTrue(5000 <= first < 20000, (srv.flavor, first))
            self.assertEqual(sorted(ids), list(range(1, 20001)), srv.flavor)
            s = libcdc.Stream(cfg, batch_bytes=16384)
            next(s.batches())
            t0 = time.time()
            s.close()
            self.assertLess(time.time() - t0, 5.0, srv.flavor)
            srv.sql("DROP TABLE %s.ss" % MYDB)
