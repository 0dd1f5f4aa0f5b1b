#!/usr/bin/env python3
"""Debezium output against the servers' own SELECT, for every type and mode.

usage: run.py CDC_BINARY [mariadb|mysql...]

On MariaDB 10.11 and MySQL 9.7 this runs the differential type workload
(tests/differential/workload.py: every column type with edge values,
NULLs, zero dates, multi-row events, a table without a primary key, an
ALTER TABLE mid-stream, updates and deletes) in a database of its own,
then decodes the binlog with `cdc dump --format=debezium` once per set of
handling modes (decimal.handling.mode, time.precision.mode,
bigint.unsigned.handling.mode, binary.handling.mode, with and without
schemas), parses every record with Python's json, turns each Debezium
value back into the value it stands for, replays the changes and checks
that the rebuilt tables equal SELECT on the server, value by value. It
also checks topics, keys (= the primary key of the row), tombstones,
schema-change records for the DDL, and transaction BEGIN/END records
whose counts match the changes between them.

The binlog is only read: the script rotates it once after its workload
(FLUSH BINARY LOGS, so the file it reads is complete) and never purges.
It needs the servers of tests/servers/testenv.sh and their environment
(CDC_TEST_*), and fails, never skips, when they are missing. Ends with
"N passed, N failed".
"""
import base64
import datetime
import json
import os
import re
import subprocess
import sys
import traceback
from decimal import Context, Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "differential"))
import canon  # noqa: E402
import run as difrun  # noqa: E402  (the differential harness: Server, Replay, compare_tables)
import workload  # noqa: E402

EPOCH = datetime.date(1970, 1, 1)

_show = canon.show
canon.show = lambda k: repr(k) if isinstance(k, tuple) and len(k) < 2 else _show(k)  # ("bad form",)

# The handling modes each pass renders with (Debezium's option values).
MODES = [
    {"name": "defaults+schemas", "schemas.enable": "true", "provide.transaction.metadata": "true"},
    {"name": "string-connect-precise-base64", "decimal.handling.mode": "string",
     "time.precision.mode": "connect", "bigint.unsigned.handling.mode": "precise",
     "binary.handling.mode": "base64", "schemas.enable": "false"},
    {"name": "double-urlsafe", "decimal.handling.mode": "double",
     "binary.handling.mode": "base64-url-safe", "schemas.enable": "false"},
    {"name": "precise-hex", "bigint.unsigned.handling.mode": "precise", "binary.handling.mode": "hex",
     "schemas.enable": "false", "tombstones.on.delete": "false"},
]


def mode(m, key, default):
    return m.get(key, default)


def fsp_of(col):
    m = re.search(r"\((\d)\)", col.column_type)
    return int(m.group(1)) if m else 0


def scale_of(col):
    m = re.search(r"decimal\((\d+),(\d+)\)", col.column_type)
    return int(m.group(2)) if m else 0


def unb64(s, m):
    b = mode(m, "binary.handling.mode", "bytes")
    if b == "hex":
        return bytes.fromhex(s)
    if b == "base64-url-safe":
        return base64.urlsafe_b64decode(s)
    return base64.b64decode(s, validate=True)


def frac(us, fsp):
    return ("." + ("%06d" % us)[:fsp]) if fsp else ""


def datetime_text(us, fsp):
    d = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=us)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + frac(d.microsecond, fsp)


def time_text(us, fsp):
    neg = us < 0
    us = abs(us)
    s, u = divmod(us, 1000000)
    h, s = divmod(s, 3600)
    mi, s = divmod(s, 60)
    return "%s%02d:%02d:%02d%s" % ("-" if neg else "", h, mi, s, frac(u, fsp))


class Bad(Exception):
    pass


def back(col, v, m):
    """A Debezium payload value -> the `cdc dump` canonical value canon.Column.got() reads."""
    if v is None:
        return None
    cls = col.cls
    if cls == "int":
        if col.data_type == "bigint" and col.unsigned:
            if mode(m, "bigint.unsigned.handling.mode", "long") == "precise":
                if not isinstance(v, str):
                    raise Bad("BIGINT UNSIGNED precise: want base64, got %r" % (v,))
                return int.from_bytes(base64.b64decode(v), "big", signed=True)
            if type(v) is not int:
                raise Bad("BIGINT UNSIGNED long: want an integer, got %r" % (v,))
            return v + (1 << 64) if v < 0 else v
        return v
    if cls == "year":
        return v
    if cls == "bit":
        if isinstance(v, bool):
            return 1 if v else 0
        return int.from_bytes(base64.b64decode(v), "little")
    if cls == "float":
        f = float(v)
        return canon.FloatText(canon.shortest_f32(f))
    if cls == "double":
        return canon.FloatText(repr(float(v)))
    if cls == "decimal":
        dm = mode(m, "decimal.handling.mode", "precise")
        if dm == "string":
            return v
        if dm == "double":
            return repr(float(v))
        unscaled = int.from_bytes(base64.b64decode(v), "big", signed=True)
        s = scale_of(col)
        d = Decimal(unscaled).scaleb(-s, context=Context(prec=200))
        return format(d, "f")
    if cls == "date":
        return (EPOCH + datetime.timedelta(days=v)).isoformat()
    if cls == "datetime":
        if mode(m, "time.precision.mode", "adaptive_time_microseconds") == "connect" or fsp_of(col) <= 3:
            return datetime_text(v * 1000, fsp_of(col))
        return datetime_text(v, fsp_of(col))
    if cls == "timestamp":
        return v
    if cls == "time":
        if mode(m, "time.precision.mode", "adaptive_time_microseconds") == "connect":
            return time_text(v * 1000, fsp_of(col))
        return time_text(v, fsp_of(col))
    if cls == "inettext" and isinstance(v, str) and not canon.inet_text_ok(col.data_type, v):
        # MariaDB 10.11 logs INET4/INET6/UUID as BINARY(n) with nothing saying
        # what they are: they come as binary columns, in binary.handling.mode
        return base64.b64encode(unb64(v, m)).decode()
    if cls in ("enum", "set", "text", "inettext"):
        if not isinstance(v, str):
            raise Bad("want a string, got %r" % (v,))
        return v
    if cls == "json":
        return json.loads(v, parse_float=canon.FloatText)
    if cls == "bytes":
        return base64.b64encode(unb64(v, m)).decode()
    if cls == "geometry":
        if not isinstance(v, dict) or "wkb" not in v:
            raise Bad("GEOMETRY: want {wkb, srid}, got %r" % (v,))
        return {"srid": v.get("srid") or 0, "wkb": v["wkb"]}
    if cls == "vector":
        return [canon.FloatText(canon.shortest_f32(float(e))) for e in v]
    raise Bad("column class %s not handled" % cls)


def expect(col, key, nullable, m):
    """What Debezium's rules make of the server's value (zero dates, lossy modes)."""
    if key is None:
        return None
    cls = col.cls
    tpm = mode(m, "time.precision.mode", "adaptive_time_microseconds")
    if cls in ("date", "datetime", "timestamp") and key[0] == "str":
        s = key[1]
        if s[:4] == "0000" or s[5:7] == "00" or s[8:10] == "00":
            if nullable:
                return None
            if cls == "date":
                return ("str", "1970-01-01")
            if cls == "timestamp":
                return ("str", "1970-01-01T00:00:00Z")
            return ("str", "1970-01-01T00:00:00" + frac(0, fsp_of(col)))
        if tpm == "connect" and cls == "datetime" and fsp_of(col) > 3:
            return ("str", s[:23] + "000"[:fsp_of(col) - 3])  # connect keeps milliseconds
    if cls == "time" and tpm == "connect" and fsp_of(col) > 3 and key[0] == "str":
        s = key[1]
        neg = s.startswith("-")
        h, mi, rest = s.lstrip("-").split(":")
        sec, _, f = rest.partition(".")
        us = ((int(h) * 60 + int(mi)) * 60 + int(sec)) * 1000000 + int((f + "000000")[:6])
        us = -us if neg else us
        ms = us // 1000  # floor, as Duration.toMillis
        return ("str", time_text(ms * 1000, fsp_of(col)))
    if cls == "decimal" and mode(m, "decimal.handling.mode", "precise") == "double":
        return ("str", repr(float(Decimal(key[1]))))
    return key


CONNECT_TYPES = {
    "int8": int, "int16": int, "int32": int, "int64": int, "float": (int, float), "double": (int, float),
    "boolean": bool, "string": str, "bytes": str, "struct": dict, "array": list,
}


def schema_problems(schema, payload, where):
    """Every value must have the JSON type its Kafka Connect schema says."""
    if payload is None:
        if not schema.get("optional"):
            yield "%s: null for a non-optional %s" % (where, schema.get("type"))
        return
    want = CONNECT_TYPES.get(schema.get("type"))
    if want is None:
        yield "%s: unknown Connect type %r" % (where, schema.get("type"))
        return
    if not isinstance(payload, want) or (want is int and isinstance(payload, bool)):
        yield "%s: %s value %r" % (where, schema["type"], str(payload)[:60])
        return
    if schema["type"] == "struct":
        names = [f["field"] for f in schema["fields"]]
        if list(payload) != names:
            yield "%s: fields %s, schema has %s" % (where, list(payload), names)
        for f in schema["fields"]:
            yield from schema_problems(f, payload.get(f["field"]), where + "." + f["field"])
    elif schema["type"] == "array":
        for i, e in enumerate(payload):
            yield from schema_problems(schema["items"], e, "%s[%d]" % (where, i))


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cdc = os.path.abspath(sys.argv[1])
    passed = failed = 0
    for flavor in sys.argv[2:] or ("mariadb", "mysql"):
        try:
            ok_n, bad_n = one_server(flavor, cdc)
        except SystemExit:  # the harness's die(): no server, no environment; it said why
            print("[  FAILED  ] debezium/%s/setup" % flavor)
            ok_n, bad_n = 0, 1
        except Exception:
            traceback.print_exc(file=sys.stdout)
            print("[  FAILED  ] debezium/%s/internal-error" % flavor)
            ok_n, bad_n = 0, 1
        passed += ok_n
        failed += bad_n
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def one_server(flavor, cdc):
    srv = difrun.Server(flavor)
    db = "debezium_wl_" + flavor
    passed = failed = 0
    setup = difrun.Check("debezium/%s/workload" % flavor)
    fmt, meta = srv.sql("SELECT @@GLOBAL.binlog_format, @@GLOBAL.binlog_row_metadata")[0]
    if (fmt, meta) != ("ROW", "FULL"):
        setup.bad("binlog_format=%s binlog_row_metadata=%s: the test needs ROW and FULL" % (fmt, meta))
        setup.finish()
        return 0, 1
    logs = srv.sql("SHOW BINARY LOGS")
    first, start = logs[-1][0], int(logs[-1][1])
    stmts = workload.statements(flavor, db, True)
    srv.sql(";\n".join(["SET SESSION binlog_row_image = FULL"] + stmts) + ";\n")
    srv.sql("FLUSH BINARY LOGS")
    names = srv.binlogs()
    if first not in names:
        setup.bad("binlog %s vanished during the run: another client purged the binary logs" % first)
        setup.finish()
        return 0, 1
    files = names[names.index(first):-1]
    setup.notes.append("%d statements, binlogs %s from offset %d" % (len(stmts), ", ".join(files), start))
    passed += setup.finish()

    columns = difrun.table_columns(srv, db)
    nullable = {(t, c): n == "YES" for t, c, n in srv.sql(
        "SELECT TABLE_NAME, COLUMN_NAME, IS_NULLABLE FROM information_schema.COLUMNS"
        " WHERE TABLE_SCHEMA = '%s'" % db)}
    selected = {t: difrun.select_table(srv, db, t, cols) for t, cols in columns.items()}

    for m in MODES:
        ok = check_mode(srv, cdc, db, files, start, columns, nullable, selected, m, flavor)
        passed += ok
        failed += not ok
    srv.sql("DROP DATABASE IF EXISTS %s" % db)
    return passed, failed


def dump(cdc, srv, files, start, m):
    lines = []
    for i, f in enumerate(files):
        args = [cdc, "dump", "--format=debezium", "-o", "topic.prefix=dbz"]
        for k, v in m.items():
            if k != "name":
                args += ["-o", "%s=%s" % (k, v)]
        if i == 0:
            args.append("--start-position=%d" % start)
        p = subprocess.run(args + [srv.path(f)], capture_output=True)
        if p.returncode != 0:
            raise RuntimeError("cdc dump exited %d: %s" % (p.returncode, p.stderr.decode("utf-8", "replace")[-1500:]))
        lines += p.stdout.decode("utf-8").split("\n")
    return [ln for ln in lines if ln]


def check_mode(srv, cdc, db, files, start, columns, nullable, selected, m, flavor):
    check = difrun.Check("debezium/%s/%s" % (flavor, m["name"]))
    schemas = m.get("schemas.enable", "true") == "true"
    records = []
    for i, line in enumerate(dump(cdc, srv, files, start, m)):
        try:
            records.append(json.loads(line, parse_float=canon.FloatText))
        except ValueError as e:
            check.bad("line %d is not JSON (%s): %s" % (i + 1, e, line[:200]))
    prefix = "dbz.%s." % db
    changes, tomb, ddl, txn = [], 0, [], []
    open_txn = None
    for r in records:
        key, val, topic = r["key"], r["value"], r["topic"]
        if schemas:
            if key is not None:
                if set(key) != {"schema", "payload"}:
                    check.bad("%s: key without schema/payload: %s" % (topic, str(key)[:200]))
                    continue
                for problem in schema_problems(key["schema"], key["payload"], "key"):
                    check.bad("%s: %s" % (topic, problem))
                key = key["payload"]
            if val is not None:
                if set(val) != {"schema", "payload"}:
                    check.bad("%s: value without schema/payload: %s" % (topic, str(val)[:200]))
                    continue
                if topic.startswith(prefix) and val["schema"].get("name") != topic + ".Envelope":
                    check.bad("%s: envelope schema named %r" % (topic, val["schema"].get("name")))
                for problem in schema_problems(val["schema"], val["payload"], "value"):
                    check.bad("%s: %s" % (topic, problem))
                val = val["payload"]
        if topic == "dbz.transaction":
            if val["status"] == "BEGIN":
                open_txn = {"id": val["id"], "n": 0, "per": {}}
            else:
                if open_txn is None or open_txn["id"] != val["id"]:
                    check.bad("END %s without its BEGIN" % val["id"])
                elif open_txn["n"] and val["event_count"] != open_txn["n"]:
                    pass  # counted below against changes of every database
                txn.append((open_txn, val))
                open_txn = None
            continue
        if topic == "dbz":
            if val["databaseName"] == db:
                ddl.append(val["ddl"])
            continue
        if open_txn is not None and val is not None and "op" in val:
            open_txn["n"] += 1
            t = val.get("transaction")
            if not t or t.get("id") != open_txn["id"] or t.get("total_order") != open_txn["n"]:
                check.bad("%s: transaction block %r, expected id %s total_order %d" % (
                    topic, t, open_txn["id"], open_txn["n"]))
        if not topic.startswith(prefix):
            continue
        table = topic[len(prefix):]
        if val is None:
            tomb += 1
            continue
        cols = {c.name: c for c in columns.get(table, [])}
        if val["source"]["db"] != db or val["source"]["table"] != table:
            check.bad("%s: source names %s.%s" % (topic, val["source"]["db"], val["source"]["table"]))
        ev = {"op": val["op"], "table": table, "pos": {"file": val["source"]["file"],
                                                       "offset": val["source"]["pos"],
                                                       "row": val["source"]["row"]}}
        try:
            for img in ("before", "after"):
                v = val[img]
                # a column a later ALTER dropped is not in information_schema any more:
                # the replay drops it again, so its value need not be turned back
                ev[img] = None if v is None else {k: back(cols[k], x, m) if k in cols else x
                                                  for k, x in v.items()}
        except (Bad, KeyError, ValueError) as e:
            check.bad("%s: %s: %s" % (topic, type(e).__name__, e))
            continue
        # the key is the primary key of the row the event is about
        pk = [c.name for c in columns.get(table, []) if c.key]
        img = val["after"] if val["op"] != "d" else val["before"]
        want_key = {k: img[k] for k in pk} if pk else None
        if key != want_key:
            check.bad("%s: key %s, the row's primary key is %s" % (topic, key, want_key))
        changes.append(ev)
    for opened, end in txn:
        if end["event_count"] != opened["n"]:
            check.bad("transaction %s: END says %d events, %d change records came between" % (
                end["id"], end["event_count"], opened["n"]))
    deletes = sum(1 for e in changes if e["op"] == "d")
    want_tomb = 0 if m.get("tombstones.on.delete") == "false" else deletes
    if tomb != want_tomb:
        check.bad("%d tombstones for %d deletes (tombstones.on.delete=%s)" % (
            tomb, deletes, m.get("tombstones.on.delete", "true")))
    if not any("ALTER TABLE" in d.upper() for d in ddl) or not any("CREATE TABLE" in d.upper() for d in ddl):
        check.bad("schema-change records: want the workload's CREATE and ALTER TABLE, got %d: %s" % (
            len(ddl), [d[:40] for d in ddl]))
    if m.get("provide.transaction.metadata") == "true" and not txn:
        check.bad("no transaction metadata records")
    exp = {t: [{c.name: expect(c, r[c.name], nullable[(t, c.name)], m) for c in cols} for r in rows]
           for t, rows in selected.items() for cols in [columns[t]]}
    replay = difrun.Replay(check)
    for ev in changes:
        replay.apply(ev)
    difrun.compare_tables(check, replay, exp, columns)
    check.notes.append("%d records: %d changes, %d tombstones, %d DDL, %d transactions" % (
        len(records), len(changes), tomb, len(ddl), len(txn)))
    return check.finish()


if __name__ == "__main__":
    main()
