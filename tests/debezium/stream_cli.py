"""`cdc stream --format debezium` on both servers (issue 10): a snapshot's
source.snapshot markers in Debezium's order (first, true...,
last_in_data_collection, first_in_data_collection, ..., last), across the
1 MiB point where the CLI starts writing a snapshot out before its end, then
changes from the binlog (c, u, d and the tombstone after a delete, snapshot
false). Every key and DECIMAL value is decoded back from Debezium's form
(big-endian two's complement in base64, scale from the schema) and compared
with SELECT on the server.

Usage: stream_cli.py CDC_TOOL. Ends with "N passed, N failed".
"""
import base64
import decimal
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "stream"))
import harness  # noqa: E402

diff = harness.diff
DB = "dbz_cli"
BIG = 6000  # rows of ~300 bytes: past the 1 MiB hold-back


def run(cdc, srv, args):
    env = dict(os.environ, CDC_PASSWORD=srv.password)
    cmd = [cdc, "stream", "--host", "127.0.0.1", "--port", str(srv.port), "--user", "root",
           "--server-id", str(harness.new_server_id()), "--tables", DB + ".*", "--format", "debezium",
           "-o", "topic.prefix=shop"] + args
    p = subprocess.run(cmd, capture_output=True, env=env, timeout=300)
    recs = [json.loads(x) for x in p.stdout.splitlines()]
    return p.returncode, recs, p.stderr.decode("utf-8", "replace")


def dec(b64, scale):
    n = int.from_bytes(base64.b64decode(b64), "big", signed=True)
    return decimal.Decimal(n).scaleb(-scale)


def scale_of(schema, field):
    for part in schema["fields"]:
        if part["field"] in ("after", "before"):
            for f in part["fields"]:
                if f["field"] == field:
                    return int(f["parameters"]["scale"])
    raise KeyError(field)


def run_flavor(cdc, flavor):
    check = diff.Check("debezium-stream/%s" % flavor)
    srv = harness.Server(flavor)
    srv.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s" % (DB, DB))
    srv.sql("CREATE TABLE a (id INT PRIMARY KEY, amount DECIMAL(10,2), pad VARCHAR(300));"
            "CREATE TABLE b (id INT PRIMARY KEY, amount DECIMAL(10,2));"
            "CREATE TABLE c (id INT PRIMARY KEY, amount DECIMAL(10,2));", db=DB)
    srv.sql("INSERT INTO a SELECT seq, seq * 1.25 - 3000, REPEAT('p', 250) FROM (SELECT a.n * 1000 + b.n * 100"
            " + c.n * 10 + d.n + 1 AS seq FROM (SELECT 0 n UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION"
            " SELECT 4 UNION SELECT 5) a, (SELECT 0 n UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4"
            " UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) b, (SELECT 0 n UNION"
            " SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5 UNION SELECT 6 UNION SELECT 7"
            " UNION SELECT 8 UNION SELECT 9) c, (SELECT 0 n UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION"
            " SELECT 4 UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) d) s;"
            "INSERT INTO b VALUES (1, 150.00);"
            "INSERT INTO c VALUES (1, 120.00), (2, -0.01);", db=DB)
    want = {}
    for t in ("a", "b", "c"):
        for r in srv.sql("SELECT id, amount FROM %s" % t, db=DB):
            want[(t, int(r[0]))] = decimal.Decimal(r[1])
    if len(want) != BIG + 3:
        check.bad("preload: %d rows, want %d" % (len(want), BIG + 3))

    rc, recs, err = run(cdc, srv, ["--snapshot", "initial_only", "--set", "snapshot.parallelism=1"])
    if rc != 0:
        check.bad("snapshot: exit %s: %s" % (rc, err[-400:]))
    marks, got, order = [], {}, []
    for r in recs:
        v = r["value"]["payload"]
        t = r["topic"].split(".")[-1]
        if r["topic"] != "shop.%s.%s" % (DB, t):
            check.bad("topic %r" % r["topic"])
        if v["op"] != "r":
            check.bad("snapshot record with op %r" % v["op"])
        if r["key"]["payload"] != {"id": v["after"]["id"]}:
            check.bad("key %r for row %r" % (r["key"]["payload"], v["after"]["id"]))
        got[(t, v["after"]["id"])] = dec(v["after"]["amount"], scale_of(r["value"]["schema"], "amount"))
        marks.append(v["source"]["snapshot"])
        order.append(t)
    # Debezium's order of markers over the tables as delivered
    expect = []
    for i, t in enumerate(order):
        first_of_table = i == 0 or order[i - 1] != t
        last_of_table = i == len(order) - 1 or order[i + 1] != t
        if i == len(order) - 1:
            expect.append("last")
        elif i == 0:
            expect.append("first")
        elif first_of_table:
            expect.append("first_in_data_collection")
        elif last_of_table:
            expect.append("last_in_data_collection")
        else:
            expect.append("true")
    if marks != expect:
        k = next(i for i in range(min(len(marks), len(expect))) if marks[i] != expect[i]) \
            if any(a != b for a, b in zip(marks, expect)) else min(len(marks), len(expect))
        check.bad("source.snapshot markers differ at record %d of %d: %r, want %r" % (
            k, len(marks), marks[k:k + 3], expect[k:k + 3]))
    if got != want:
        bad = [k for k in want if got.get(k) != want[k]][:5]
        check.bad("snapshot values differ from SELECT (%d rows vs %d), e.g. %s" % (
            len(got), len(want), [(k, got.get(k), want[k]) for k in bad]))

    f, off, _ = srv.position()
    srv.sql("INSERT INTO b VALUES (2, 99999999.99); UPDATE c SET amount = -12345678.91 WHERE id = 1;"
            " DELETE FROM c WHERE id = 2;", db=DB)
    rc, recs, err = run(cdc, srv, ["--start", "%s:%d" % (f, off), "--stop-at", "now"])
    if rc != 0:
        check.bad("stream: exit %s: %s" % (rc, err[-400:]))
    ops = [(r["topic"].split(".")[-1], r["value"]["payload"]["op"] if r["value"] else None) for r in recs]
    if ops != [("b", "c"), ("c", "u"), ("c", "d"), ("c", None)]:
        check.bad("stream records %r, want insert, update, delete and its tombstone" % ops)
    else:
        ins, upd = recs[0]["value"], recs[1]["value"]
        if dec(ins["payload"]["after"]["amount"], scale_of(ins["schema"], "amount")) != decimal.Decimal("99999999.99"):
            check.bad("insert amount %r" % ins["payload"]["after"]["amount"])
        if dec(upd["payload"]["after"]["amount"], scale_of(upd["schema"], "amount")) != decimal.Decimal("-12345678.91"):
            check.bad("update amount %r" % upd["payload"]["after"]["amount"])
        if any(r["value"] and r["value"]["payload"]["source"]["snapshot"] != "false" for r in recs):
            check.bad("a binlog change with source.snapshot other than false")
        if recs[3]["key"]["payload"] != {"id": 2}:
            check.bad("tombstone key %r" % recs[3]["key"])
    check.notes.append("%d snapshot records, markers %s" % (len(marks), sorted(set(marks))))
    srv.sql("DROP DATABASE IF EXISTS %s" % DB)
    return check.finish()


def main():
    cdc = sys.argv[1]
    harness.run_per_server("debezium-stream", ["mariadb", "mysql"], lambda fl: run_flavor(cdc, fl))


if __name__ == "__main__":
    main()
