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
import struct
from decimal import Decimal, InvalidOperation

from canon import FloatText, FormError, b64, f32, norm_json, show  # noqa: F401
import json

HEAD = re.compile(rb"^### (INSERT INTO|UPDATE|DELETE FROM) `((?:[^`]|``)*)`\.`((?:[^`]|``)*)`$")
VALUE = re.compile(rb"^###   @(\d+)=(.*) /\* (.*?) \*/$")
OPS = {b"INSERT INTO": "c", b"UPDATE": "u", b"DELETE FROM": "d"}


class Change:
    def __init__(self, op, db, table):
        self.op, self.db, self.table = op, db, table
        self.before = None  # list of (index, raw value bytes, type text) or None
        self.after = None


def parse(output):
    """Row changes in order from the tool's output (bytes)."""
    changes, cur, image = [], None, None
    for line in output.split(b"\n"):
        if not line.startswith(b"###"):
            continue
        m = HEAD.match(line)
        if m:
            cur = Change(OPS[m.group(1)], m.group(2).decode("utf-8", "replace"),
                         m.group(3).decode("utf-8", "replace"))
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
        m = VALUE.match(line)
        if m and image:
            getattr(cur, image).append((int(m.group(1)), m.group(2).rstrip(b" "),
                                        m.group(3).decode("ascii", "replace")))
    return changes


def unquote(raw):
    """Bytes of a quoted tool value: 'ab\\x00c' -> b'ab\\x00c'."""
    if len(raw) < 2 or raw[:1] != b"'" or raw[-1:] != b"'":
        raise ValueError("not a quoted value: %r" % raw[:40])
    body, out, i = raw[1:-1], bytearray(), 0
    while i < len(body):
        if body[i:i + 2] == b"\\x" and re.match(rb"[0-9a-fA-F]{2}", body[i + 2:i + 4]):
            out.append(int(body[i + 2:i + 4], 16))
            i += 4
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


def compare(col, raw, typ, cdc_value):
    """None when the tool's value agrees with the cdc value (or the tool's
    form cannot be compared), else a string describing the difference.
    Returns ("skip", reason) when the tool cannot decode the value."""
    if raw == b"NULL":
        return None if cdc_value is None else ("tool NULL", show(col.got(cdc_value)))
    if cdc_value is None:
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
        return eq(unquote(raw).decode().replace(":", "-"), got[1])
    if cls == "datetime":
        return eq(unquote(raw).decode().replace(" ", "T"), got[1])
    if cls == "time":
        return eq(unquote(raw).decode(), got[1])
    if cls == "timestamp":
        return eq(s, _epoch(got[1]))
    if cls == "enum":
        v = int(s)
        label = col.labels[v - 1] if 0 < v <= len(col.labels) else ""
        return eq(label, got[1])
    if cls == "set":
        m = re.match(r"^b'([01]*)'$", s)
        if not m:
            v = int(s)
        else:
            v = int(m.group(1), 2)
        labels = ",".join(l for i, l in enumerate(col.labels) if v >> i & 1)
        return eq(labels, got[1])
    if cls == "text":
        if not raw.startswith(b"'"):
            return ("skip", t)
        data = unquote(raw)
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
        data = unquote(raw)
        # BINARY(n): the binlog may drop the trailing zero padding.
        have = got[1]
        if col.data_type == "binary":
            data, have = data.rstrip(b"\0"), have.rstrip(b"\0")
        return None if data == have else (show(("bytes", data)), show(("bytes", have)))
    if cls == "geometry":
        if not raw.startswith(b"'"):
            return ("skip", t)
        data = unquote(raw)
        return eq((int.from_bytes(data[:4], "little"), data[4:].hex()), (got[1], got[2].hex()))
    if cls == "json":
        if not raw.startswith(b"'"):
            return ("skip", t)  # PARTIAL_JSON: JSON_SET(@2, ...) pseudo-SQL
        try:
            want = norm_json(json.loads(unquote(raw).decode("utf-8"), parse_float=Decimal))
        except ValueError:
            return ("skip", t)
        return eq(want, got[1])
    return ("skip", t)
