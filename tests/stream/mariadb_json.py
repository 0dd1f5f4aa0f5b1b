"""MariaDB JSON columns as documents in `cdc stream`'s outputs (issue 13.4).

MariaDB declares JSON as LONGTEXT with CHECK (json_valid(col)) and logs it
as plain LONGTEXT. In the JSON lines (docs/output.md) such a column must be
the document itself ("j": {...}), and in Debezium records a string whose
field schema is io.debezium.data.Json, on the snapshot path and the binlog
path alike, while a plain LONGTEXT holding JSON-looking text stays a
string. Every value is compared with the server's own JSON_COMPACT() of the
column (read as HEX(), parsed here with exact decimals), not with our
earlier output: nested documents, 4-byte characters, every number form,
the JSON null document (whose line shows null, as SQL NULL's does; the
typed API tells them apart: tests/itest_mjson.c).

Usage: mariadb_json.py CDC_TOOL. Ends with "N passed, N failed".
"""
import json
import os
import subprocess
import sys
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402

diff = harness.diff

DB = "mjson_lines"
ROCKET, GRIN = "\U0001f680", "\U0001f600"
DOCS = [
    (1, '{"a": {"b": [1, 2.50, -0.0, 1E3, 18446744073709551616, -9.5e-7, true, false, null]},'
        ' "s": "\\u00e9 %s \\" x\\n", "e": {}, "l": [], "%s": {"k": [[], {}]}}' % (GRIN, ROCKET),
     '{"looks": "like json"}'),
    (2, "null", "null"),
    (3, None, None),
    (4, '"just a string %s"' % ROCKET, "[1, 2]"),
    (5, "-12.5e-3", "plain"),
    (6, '[[[[{"deep": [1, {"er": [[]]}]}]]]]', ""),
]


def lit(s):
    return "NULL" if s is None else "'%s'" % s.replace("\\", "\\\\").replace("'", "''")


def loads(s):
    return json.loads(s, parse_float=Decimal)


def run_cdc(cdc, srv, args):
    env = dict(os.environ, CDC_PASSWORD=srv.password)
    cmd = [cdc, "stream", "--host", "127.0.0.1", "--port", str(srv.port), "--user", "cdc_repl",
           "--server-id", str(harness.new_server_id()), "--tables", "%s.docs" % DB] + args
    p = subprocess.run(cmd, capture_output=True, env=env, timeout=300)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8", "replace")


def server_state(srv):
    """{id: (j document or None for SQL NULL, is_null, lt text or None)} from the server."""
    out = {}
    for i, j, lt, raw in srv.sql("SELECT id, HEX(JSON_COMPACT(j)), HEX(lt), HEX(j) FROM %s.docs ORDER BY id" % DB):
        jd = None if j is None else bytes.fromhex(j).decode("utf-8")
        out[int(i)] = (None if jd is None else loads(jd), jd is None,
                       None if lt is None else bytes.fromhex(lt).decode("utf-8"),
                       None if raw is None else bytes.fromhex(raw).decode("utf-8"))
    return out


def check_line_value(check, what, ident, col, got, want, want_null):
    if want_null:
        if got is not None:
            check.bad("%s id %s %s: %r, the server holds SQL NULL" % (what, ident, col, got))
    elif col == "j":
        if isinstance(got, str) and not isinstance(want, str):
            check.bad("%s id %s j: a string %r, want the document %r" % (what, ident, got, want))
        elif got != want or type(got) is not type(want):
            check.bad("%s id %s j: %r, JSON_COMPACT says %r" % (what, ident, got, want))
    elif got != want or not isinstance(got, str):
        check.bad("%s id %s lt: %r, want the text %r" % (what, ident, got, want))


def check_lines(check, what, out, want, op, image="after", n=None):
    seen = 0
    for line in out.splitlines():
        ev = loads(line)
        if ev.get("op") != op:
            continue
        seen += 1
        row = ev[image]
        w = want.get(row["id"])
        if w is None:
            check.bad("%s: row id %s not on the server" % (what, row["id"]))
            continue
        check_line_value(check, what, row["id"], "j", row["j"], w[0], w[1])
        check_line_value(check, what, row["id"], "lt", row["lt"], w[2], w[2] is None)
    want_n = len(want) if n is None else n
    if seen != want_n:
        check.bad("%s: %d %r lines, want %d" % (what, seen, op, want_n))


def check_debezium(check, what, out, want, n):
    seen = 0
    for line in out.splitlines():
        rec = json.loads(line)
        val = rec.get("value")
        if not val:
            continue
        schema, payload = val.get("schema"), val.get("payload", val)
        if payload.get("op") not in ("r", "c"):
            continue
        seen += 1
        after = payload["after"]
        w = want[after["id"]]
        j = after["j"]
        if w[1]:
            if j is not None:
                check.bad("%s id %s j: %r, the server holds SQL NULL" % (what, after["id"], j))
        elif not isinstance(j, str) or loads(j) != w[0]:
            check.bad("%s id %s j: %r, JSON_COMPACT says %r" % (what, after["id"], j, w[0]))
        elif j != w[3]:
            check.bad("%s id %s j: %r, the server stored the text %r" % (what, after["id"], j, w[3]))
        if after["lt"] != w[2]:
            check.bad("%s id %s lt: %r, want %r" % (what, after["id"], after["lt"], w[2]))
        if schema:
            fields = {f["field"]: f for f in schema["fields"] if f["field"] == "after"}
            cols = {f["field"]: f for f in fields["after"]["fields"]}
            if cols["j"].get("name") != "io.debezium.data.Json" or cols["j"].get("type") != "string":
                check.bad("%s: j's field schema %r, want a string named io.debezium.data.Json" % (what, cols["j"]))
            if "name" in cols["lt"]:
                check.bad("%s: lt's field schema %r, want a plain string" % (what, cols["lt"]))
    if seen != n:
        check.bad("%s: %d records, want %d" % (what, seen, n))


def run(cdc):
    check = diff.Check("mariadb_json")
    srv = harness.Server("mariadb")
    srv.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s" % (DB, DB))
    srv.sql("CREATE TABLE %s.docs (id INT PRIMARY KEY, j JSON, lt LONGTEXT CHARACTER SET utf8mb4)"
            " DEFAULT CHARSET latin1" % DB)
    half = 3
    ins = lambda rows: "SET NAMES utf8mb4; INSERT INTO %s.docs VALUES %s" % (DB, ",".join(
        "(%d,%s,%s)" % (i, lit(j), lit(lt)) for i, j, lt in rows))
    srv.sql(ins(DOCS[:half]))
    first = server_state(srv)
    if first[2][0] is not None or first[2][1] or not first[3][1]:
        check.bad("the server's view of the null document and SQL NULL: %r %r" % (first[2], first[3]))

    # snapshot rows
    rc, out, err = run_cdc(cdc, srv, ["--snapshot", "initial_only"])
    if rc != 0:
        check.bad("snapshot: exit %s: %s" % (rc, err.strip()[-500:]))
    else:
        check_lines(check, "snapshot", out, first, "r")

    # binlog rows: the rest, an update and a delete, streamed to now
    f, off, _ = srv.position()
    srv.sql(ins(DOCS[half:]))
    mid = server_state(srv)
    srv.sql("SET NAMES utf8mb4; UPDATE %s.docs SET j = JSON_SET(j, '$.a.n', 7, '$.t', 'x%s') WHERE id = 1;"
            "DELETE FROM %s.docs WHERE id = 4" % (DB, GRIN, DB))
    last = server_state(srv)
    rc, out, err = run_cdc(cdc, srv, ["--start", "%s:%d" % (f, off), "--stop-at", "now"])
    if rc != 0:
        check.bad("binlog: exit %s: %s" % (rc, err.strip()[-500:]))
    else:
        check_lines(check, "binlog insert", out, {k: v for k, v in mid.items() if k > half}, "c")
        check_lines(check, "binlog update", out, last, "u", n=1)
        check_lines(check, "binlog update before", out, first, "u", image="before", n=1)
        check_lines(check, "binlog delete", out, mid, "d", image="before", n=1)

    # Debezium records, snapshot and binlog, with field schemas
    rc, out, err = run_cdc(cdc, srv, ["--snapshot", "initial_only", "--format", "debezium",
                                      "-o", "schemas.enable=true"])
    if rc != 0:
        check.bad("debezium snapshot: exit %s: %s" % (rc, err.strip()[-500:]))
    else:
        check_debezium(check, "debezium snapshot", out, last, len(last))
    rc, out, err = run_cdc(cdc, srv, ["--start", "%s:%d" % (f, off), "--stop-at", "now", "--format", "debezium",
                                      "-o", "schemas.enable=true"])
    if rc != 0:
        check.bad("debezium binlog: exit %s: %s" % (rc, err.strip()[-500:]))
    else:
        check_debezium(check, "debezium binlog", out, mid, len(DOCS) - half)
    srv.sql("DROP DATABASE IF EXISTS %s" % DB)
    return check.finish()


def main():
    cdc = sys.argv[1]
    harness.run_per_server("mariadb_json", ["mariadb"], lambda fl: run(cdc))


if __name__ == "__main__":
    main()
