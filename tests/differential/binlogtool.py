"""Reads `mysqlbinlog -vv` / `mariadb-binlog -vv` row listings and compares
them with `cdc dump` rows.

The tools print each row change as pseudo-SQL comments:

  ### UPDATE `db`.`t`
  ### WHERE
  ###   @1=1 /* INT meta=0 nullable=0 is_null=0 */
  ###   @2='caf\xe9' /* VARSTRING(20) meta=20 nullable=1 is_null=0 */
  ### SET
  ###   @1=1 /* INT meta=0 nullable=0 is_null=0 */
  ...

Strings are printed between quotes with bytes below 0x20 as \\xHH; the
tools do not escape quotes or backslashes (MariaDB) so a value is
everything between '=' and the trailing type comment. Values the tools
print in a lossy or ambiguous way are compared only as far as they say
(FLOAT to 6 significant digits) or not at all (see docs).
"""
import calendar
import datetime
import re
import socket
import struct
from decimal import Decimal, InvalidOperation

from canon import FormError, apply_json_diff, norm_json, show
import json

HEAD = re.compile(rb"^### (INSERT INTO|UPDATE|DELETE FROM) `((?:[^`]|``)*)`\.`((?:[^`]|``)*)`$")
VALUE = re.compile(rb"^###   @(\d+)=(.*) /\* (.*?) \*/$")
UNHANDLED = re.compile(rb"^###   @\d+=!! Don't know how to handle column type=(\d+)")
OPS = {b"INSERT INTO": "c", b"UPDATE": "u", b"DELETE FROM": "d"}


class Change:
    def __init__(self, op, db, table):
        self.op, self.db, self.table = op, db, table
        self.before = None  # list of (index, raw value bytes, type text) or None
        self.after = None
        self.truncated = None  # type the tool could not print; it stops the row there
        self.meta = {}  # file, offset, row, gtid, server_id, ts_ms as the tool shows them


AT = re.compile(rb"^# at (\d+)$")
EVHEAD = re.compile(rb"^#(\d{6} [ \d]\d:\d\d:\d\d) server id (\d+) +end_log_pos \d+(?: CRC32 0x[0-9a-f]+)?\s+(.*)$")
ROWS_EVENT = re.compile(rb"^(Write|Update|Delete)_(?:compressed_)?rows(?:_partial|_compressed)?(?:_v1)?: ")


def parse(output, file=None):
    """Row changes in order from the tool's output (bytes) for one file.

    Besides the values, each change records where the tool says it is:
    the offset of its rows event (or of the TRANSACTION_PAYLOAD holding
    it), its row number in that event (or payload), the transaction's
    GTID, the server id and the commit time in ms (MySQL: the GTID event's
    immediate_commit_timestamp; MariaDB: the rows event's header time)."""
    changes, cur, image, pending = [], None, None, None
    at = payload_at = None
    ats = []
    gtid = commit_us = None
    ev = {}
    row = 0
    offsets, printed = [], False
    for line in output.split(b"\n"):
        m = AT.match(line)
        if m:
            ats.append(int(m.group(1)))
            continue
        m = EVHEAD.match(line)
        if m:
            # mariadb-binlog prints several "# at" lines before the headers
            # of the events they belong to: pair them up in order.
            at = ats.pop(0) if ats else None
            body = m.group(3)
            if body.startswith(b"GTID") or body.startswith(b"Anonymous_GTID"):
                payload_at = None
                g = re.match(rb"GTID (\d+-\d+-\d+)", body)
                gtid = g.group(1).decode() if g else None
                c = re.search(rb"immediate_commit_timestamp=(\d+)", body)
                commit_us = int(c.group(1)) if c else None
            elif body.startswith(b"Transaction_Payload"):
                payload_at, row = at, 0
            elif ROWS_EVENT.match(body):
                t = datetime.datetime.strptime(m.group(1).decode().replace("  ", " 0"), "%y%m%d %H:%M:%S")
                if payload_at is None and (printed or not ev):
                    # The tools print the rows of all events of a statement
                    # after its last event: such a group of events shares
                    # one listing, so each row's event is one of `offsets`.
                    offsets, printed = [], False
                if payload_at is None:
                    offsets.append(at)
                    row = None
                ev = {"file": file, "offset": payload_at if payload_at is not None else tuple(offsets),
                      "server_id": int(m.group(2)), "gtid": gtid,
                      "ts_ms": commit_us // 1000 if commit_us is not None
                      else calendar.timegm(t.timetuple()) * 1000}
            continue
        if line.startswith(b"SET @@SESSION.GTID_NEXT= '"):
            g = line.split(b"'")[1].decode()
            gtid = None if g == "ANONYMOUS" else g
            continue
        if not line.startswith(b"###"):
            continue
        if pending is not None:
            # A value printed over several lines (mysqlbinlog's PARTIAL_JSON
            # pseudo-SQL): join until the type comment closes it.
            pending += b" " + line[3:].strip()
            if not line.endswith(b"*/"):
                continue
            line, pending = pending, None
        m = HEAD.match(line)
        if m:
            cur = Change(OPS[m.group(1)], m.group(2).decode("utf-8", "replace"),
                         m.group(3).decode("utf-8", "replace"))
            cur.meta = dict(ev, row=row)
            if row is not None:
                row += 1
            printed = True
            changes.append(cur)
            image = None
            continue
        if cur is None:
            continue
        if line == b"### WHERE":
            cur.before, image = [], "before"
            continue
        if line == b"### SET":
            cur.after, image = [], "after"
            continue
        m = UNHANDLED.match(line)
        if m and image:
            cur.truncated = m.group(1).decode("ascii", "replace")
            continue
        m = VALUE.match(line)
        if m and image:
            getattr(cur, image).append((int(m.group(1)), m.group(2).rstrip(b" "),
                                        m.group(3).decode("ascii", "replace")))
        elif image and line.startswith(b"###   @") and not line.endswith(b"*/"):
            pending = line
    return changes


MYSQL_ESCAPES = {ord("b"): 8, ord("t"): 9, ord("n"): 10, ord("f"): 12, ord("r"): 13,
                 ord("'"): ord("'"), ord("\\"): ord("\\")}


def unquote(raw, flavor):
    """Bytes of a quoted tool value: 'ab\\x00c' -> b'ab\\x00c'.

    mysqlbinlog (MySQL 9) escapes \\b \\t \\n \\f \\r \\' \\\\ and other bytes
    below 0x20 as \\xHH; mariadb-binlog writes only \\xHH and leaves quotes
    and backslashes bare (so a literal backslash-x-hex-hex in the data
    reads back as one byte: the workload avoids that sequence)."""
    if len(raw) < 2 or raw[:1] != b"'" or raw[-1:] != b"'":
        raise ValueError("not a quoted value: %r" % raw[:40])
    body, out, i = raw[1:-1], bytearray(), 0
    while i < len(body):
        if body[i:i + 2] == b"\\x" and re.match(rb"[0-9a-fA-F]{2}", body[i + 2:i + 4]):
            out.append(int(body[i + 2:i + 4], 16))
            i += 4
        elif flavor == "mysql" and body[i] == 0x5c and i + 1 < len(body) and body[i + 1] in MYSQL_ESCAPES:
            out.append(MYSQL_ESCAPES[body[i + 1]])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return bytes(out)


def _epoch(ts):
    """'2038-01-19T03:14:07.99Z' -> '2147483647.99' as the tools print TIMESTAMP."""
    body = ts[:-1] if ts.endswith("Z") else ts
    frac = ""
    if "." in body:
        body, frac = body.split(".")
    if body.startswith("0000-00-00"):
        sec = 0
    else:
        sec = calendar.timegm(datetime.datetime.strptime(body, "%Y-%m-%dT%H:%M:%S").timetuple())
    return str(sec) + ("." + frac if frac else "")


def compare(col, raw, typ, cdc_value, flavor, tool_before=None):
    """None when the tool's value agrees with the cdc value (or the tool's
    form cannot be compared), else a string describing the difference.
    Returns ("skip", reason) when the tool cannot decode the value."""
    if raw == b"NULL":
        return None if cdc_value is None else ("tool NULL", show(col.got(cdc_value)))
    if cdc_value is None:
        if col.cls == "json" and raw == b"'null'":
            # A JSON null document and SQL NULL both print as null.
            return ("skip", "JSON null document (null, same as SQL NULL)")
        return (raw[:60].decode("utf-8", "replace"), "NULL")
    cls = col.cls
    try:
        got = col.got(cdc_value)
    except FormError as e:
        return ("(form)", str(e))
    t = typ.split(" ")[0]
    s = raw.decode("utf-8", "replace")

    def eq(want, have):
        return None if want == have else (want, have)

    if cls == "int":
        m = re.match(r"^(-?\d+)(?: \((\d+)\))?$", s)
        if not m:
            return (s, "unparsed")
        v = int(m.group(1))
        if col.unsigned:
            if m.group(2):
                v = int(m.group(2))
            elif v < 0:
                v += 1 << 64  # the tool gave no unsigned reading
        return eq(v, got[1])
    if cls == "year":
        v = int(s)
        return eq(0 if v == 1900 else v, got[1])  # the tools print YEAR 0 as 1900
    if cls == "bit":
        m = re.match(r"^b'([01]*)'$", s)
        return eq(int(m.group(1), 2), got[1]) if m else (s, "unparsed")
    if cls == "float":
        # The tools print FLOAT with 6 significant digits.
        have = struct.unpack("<f", struct.pack("<I", got[1]))[0] if isinstance(got[1], int) else got[1]
        return eq("%.6g" % float(s), "%.6g" % have)
    if cls == "double":
        return eq(float(s), got[1])
    if cls == "decimal":
        try:
            return eq(Decimal(s), Decimal(got[1]))
        except InvalidOperation:
            return (s, got[1])
    if cls == "date":
        return eq(unquote(raw, flavor).decode().replace(":", "-"), got[1])
    if cls == "datetime":
        return eq(unquote(raw, flavor).decode().replace(" ", "T"), got[1])
    if cls == "time":
        return eq(unquote(raw, flavor).decode(), got[1])
    if cls == "timestamp":
        return eq(s, _epoch(got[1]))
    if cls == "enum":
        v = int(s)
        label = col.labels[v - 1] if 0 < v <= len(col.labels) else ""
        return eq(label, got[1])
    if cls == "set":
        # The tools print a SET's bytes in storage (little-endian) order,
        # each byte most significant bit first.
        m = re.match(r"^b'([01]*)'$", s)
        if not m:
            v = int(s)
        else:
            bits = m.group(1)
            v = sum(int(bits[i:i + 8], 2) << i for i in range(0, len(bits), 8))
        labels = ",".join(l for i, l in enumerate(col.labels) if v >> i & 1)
        return eq(labels, got[1])
    if cls == "text":
        if not raw.startswith(b"'"):
            return ("skip", t)
        data = unquote(raw, flavor)
        if col.json_text:
            return eq(norm_json(json.loads(data.decode("utf-8"), parse_float=Decimal)), got[1])
        enc = {"latin1": "cp1252"}.get(col.charset, "utf-8")
        try:
            return eq(data.decode(enc), got[1])
        except UnicodeDecodeError:
            return (show(("bytes", data)), got[1])
    if cls == "bytes":
        if not raw.startswith(b"'"):
            return ("skip", t)
        data = unquote(raw, flavor)
        # BINARY(n): the binlog may drop the trailing zero padding.
        have = got[1]
        if col.data_type == "binary":
            data, have = data.rstrip(b"\0"), have.rstrip(b"\0")
        return None if data == have else (show(("bytes", data)), show(("bytes", have)))
    if cls == "geometry":
        if not raw.startswith(b"'"):
            return ("skip", t)
        data = unquote(raw, flavor)
        return eq((int.from_bytes(data[:4], "little"), data[4:].hex()), (got[1], got[2].hex()))
    if cls == "json" and re.match(rb"^@\d+$", raw):
        # PARTIAL_JSON, column unchanged: "@3=@3" means the before value.
        if tool_before is None:
            return ("skip", t + " unchanged, no before document")
        return compare(col, tool_before, typ, cdc_value, flavor)
    if cls == "json" and raw.startswith(b"JSON_"):
        # PARTIAL_JSON: the tool prints the diff as nested JSON_REPLACE /
        # JSON_INSERT / JSON_REMOVE calls on @N; cdc prints {"json_diff":[...]}
        # when it could not apply the diff (no before document in MINIMAL).
        ops = parse_json_calls(raw, flavor)
        if ops is None:
            return ("skip", t + " diff")
        if isinstance(cdc_value, dict) and set(cdc_value) == {"json_diff"}:
            have = [(o.get("op"), o.get("path"), norm_json(o["value"]) if "value" in o else None)
                    for o in cdc_value["json_diff"]]
            return eq([(o, p, norm_json(v) if o != "remove" else None) for o, p, v in ops], have)
        # cdc rebuilt the document from the before image: so must the tool's diff.
        if tool_before is None or not tool_before.startswith(b"'"):
            return ("skip", t + " diff, no before document")
        doc = json.loads(unquote(tool_before, flavor).decode("utf-8"), parse_float=Decimal)
        doc = apply_json_diff(doc, [{"op": o, "path": p, "value": v} for o, p, v in ops])
        return eq(norm_json(doc), got[1])
    if cls == "json":
        if not raw.startswith(b"'"):
            return ("skip", t + " " + s[:20])
        text = unquote(raw, flavor).decode("utf-8")
        try:
            want = norm_json(json.loads(text, parse_float=Decimal))
        except ValueError:
            want = text  # mysqlbinlog prints a top-level string scalar without JSON quotes
        return eq(want, got[1])
    if cls == "inettext" and raw.startswith(b"'"):
        # Stored as the 4/16 address bytes (UUID: its 16 bytes in text
        # order, as MariaDB 10.11 stores it); the tool prints them raw.
        try:
            if col.data_type == "uuid":
                have = bytes.fromhex(got[1].replace("-", ""))
            else:
                fam = socket.AF_INET if col.data_type == "inet4" else socket.AF_INET6
                have = socket.inet_pton(fam, got[1])
        except (OSError, ValueError):
            return (show(("bytes", unquote(raw, flavor))), got[1])
        # Like BINARY(n), the row image lacks the trailing zero bytes.
        data = unquote(raw, flavor)
        return None if data.rstrip(b"\0") == have.rstrip(b"\0") else (show(("bytes", data)), got[1])
    if cls == "vector":
        # mysqlbinlog prints VECTOR elements with 6 significant digits.
        if not raw.startswith(b"["):
            return ("skip", t)
        want = ["%.5e" % float(e) for e in s.strip("[]").split(",") if e]
        n = len(got[1]) // 4
        have = ["%.5e" % e for e in struct.unpack("<%df" % n, got[1])]
        return eq(want, have)
    return ("skip", t)


def parse_json_calls(raw, flavor):
    """[(op, path, value)] from "JSON_INSERT(JSON_REPLACE(@2, '$.a', 2), '$.b', 'n')",
    innermost call first; None when the text has another shape."""
    pos = [0]

    def ws():
        while pos[0] < len(raw) and raw[pos[0]] in b" \t":
            pos[0] += 1

    def quoted():
        ws()
        if raw[pos[0]:pos[0] + 1] != b"'":
            raise ValueError("quote")
        j = pos[0] + 1
        while raw[j:j + 1] != b"'":
            j += 2 if raw[j:j + 1] == b"\\" else 1
            if j >= len(raw):
                raise ValueError("unterminated")
        text = unquote(raw[pos[0]:j + 1], flavor).decode("utf-8")
        pos[0] = j + 1
        return text

    def value():
        ws()
        if raw[pos[0]:pos[0] + 1] == b"'":
            return quoted()
        if raw.startswith(b"CAST(", pos[0]):
            pos[0] += 5
            text = quoted()
            ws()
            if not raw.startswith(b"AS JSON)", pos[0]):
                raise ValueError("cast")
            pos[0] += 8
            return json.loads(text, parse_float=Decimal)
        m = re.compile(rb"-?[0-9][0-9.eE+-]*|true|false|null").match(raw, pos[0])
        if not m:
            raise ValueError("value")
        pos[0] = m.end()
        return json.loads(m.group(0), parse_float=Decimal)

    def call():
        ws()
        if raw[pos[0]:pos[0] + 1] == b"@":
            m = re.compile(rb"@\d+").match(raw, pos[0])
            pos[0] = m.end()
            return []
        m = re.compile(rb"JSON_(REPLACE|INSERT|REMOVE)\(").match(raw, pos[0])
        if not m:
            raise ValueError("call")
        pos[0] = m.end()
        op = m.group(1).decode().lower()
        ops = call()
        while True:
            ws()
            c = raw[pos[0]:pos[0] + 1]
            pos[0] += 1
            if c == b")":
                return ops
            if c != b",":
                raise ValueError("sep")
            path = quoted()
            if op == "remove":
                ops.append((op, path, None))
            else:
                ws()
                if raw[pos[0]:pos[0] + 1] != b",":
                    raise ValueError("sep2")
                pos[0] += 1
                ops.append((op, path, value()))

    try:
        ops = call()
        ws()
        return ops if pos[0] == len(raw) else None
    except (ValueError, IndexError, AttributeError):
        return None
