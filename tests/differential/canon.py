"""Canonical forms: what a column's value must look like in `cdc dump`.

For each column (as information_schema describes it) this module gives
  - the SQL expression that makes the server render the value itself
    (select_expr), so the expected value comes from the server, not from
    this file;
  - expected(): the server's rendering turned into a comparable key;
  - got(): the `cdc dump` JSON value turned into the same kind of key, or
    a FormError saying why the JSON form itself is wrong (a BIGINT
    rendered through a double, a DECIMAL as a number, a FLOAT that is not
    the shortest form...).
Keys compare with ==. docs/values.md is the contract being checked.
"""
import base64
import json
import socket
import struct
from decimal import Decimal


class FormError(Exception):
    """The cdc value has the wrong JSON form for its column."""


class FloatText(float):
    """A JSON number with a fraction or exponent, keeping its text."""

    def __new__(cls, text):
        f = float.__new__(cls, text)
        f.text = text
        return f


def load_json_line(line):
    return json.loads(line, parse_float=FloatText)


INT_TYPES = {"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "bigint": 64}
TEXT_TYPES = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext"}
BIN_TYPES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
GEO_TYPES = {"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
             "multipolygon", "geometrycollection", "geomcollection"}

# MySQL's latin1 is Windows-1252 (with the 5 holes mapped straight through).
CHARSETS = {"utf8mb4": "utf-8", "utf8mb3": "utf-8", "utf8": "utf-8", "latin1": "cp1252",
            "ascii": "ascii", "binary": None}


class Column:
    """One column as information_schema.COLUMNS describes it."""

    def __init__(self, name, data_type, column_type, charset, column_key, json_text=False):
        self.name = name
        self.data_type = data_type.lower()
        self.column_type = column_type.lower()
        self.column_type_raw = column_type  # keeps ENUM/SET label case
        self.charset = charset if charset and charset != "NULL" else None
        self.key = column_key == "PRI"
        self.unsigned = "unsigned" in self.column_type
        # MariaDB's JSON is LONGTEXT with a json_valid() check.
        self.json_text = json_text
        self.cls = self._classify()
        self.printed_as_bytes = 0  # INET4/INET6/UUID values cdc printed as base64
        self.labels = self._labels() if self.cls in ("enum", "set") else []

    def _classify(self):
        t = self.data_type
        if t in INT_TYPES:
            return "int"
        if t == "year":
            return "year"
        if t == "bit":
            return "bit"
        if t == "float":
            return "float"
        if t in ("double", "real"):
            return "double"
        if t == "decimal":
            return "decimal"
        if t in ("date", "time", "datetime", "timestamp", "enum", "set", "json"):
            return t
        if t in TEXT_TYPES:
            return "bytes" if self.charset == "binary" else "text"
        if t in BIN_TYPES:
            return "bytes"
        if t in GEO_TYPES:
            return "geometry"
        if t == "vector":
            return "vector"
        if t in ("inet4", "inet6", "uuid"):
            return "inettext"
        raise ValueError("column %s: type %s not covered by the differential test"
                         % (self.name, self.column_type))

    def _labels(self):
        # enum('a','b''c') -> ['a', "b'c"]
        ct = self.column_type_raw
        body = ct[ct.index("(") + 1:ct.rindex(")")]
        out, cur, i = [], None, 0
        while i < len(body):
            ch = body[i]
            if cur is None:
                if ch == "'":
                    cur = ""
            elif ch == "'" and body[i + 1:i + 2] == "'":
                cur += "'"
                i += 1
            elif ch == "'":
                out.append(cur)
                cur = None
            else:
                cur += ch
            i += 1
        return out

    def select_expr(self):
        """SQL giving the server's own canonical rendering, hex-encoded."""
        c = "`%s`" % self.name
        cls = self.cls
        if cls == "bit":
            e = "CAST(%s + 0 AS CHAR)" % c
        elif cls == "float":
            # The exact float widened to double prints in shortest form.
            e = "CAST(CAST(%s AS DOUBLE) AS CHAR)" % c
        elif cls in ("bytes", "geometry", "vector"):
            return "HEX(%s)" % c
        elif cls == "text":
            e = "CONVERT(%s USING utf8mb4)" % c
        else:
            e = "CAST(%s AS CHAR)" % c
        return "HEX(CONVERT(%s USING utf8mb4))" % e

    def expected(self, hexval):
        """Comparable key for the server's rendering (None for SQL NULL)."""
        if hexval is None:
            return None
        raw = bytes.fromhex(hexval)
        cls = self.cls
        if cls in ("bytes",):
            return ("bytes", raw)
        if cls == "geometry":
            return ("geometry", int.from_bytes(raw[:4], "little"), raw[4:])
        if cls == "vector":
            return ("vector", raw)
        s = raw.decode("utf-8")
        if cls in ("int", "year", "bit"):
            return ("int", int(s))
        if cls == "float":
            return ("float", f32(float(s)))
        if cls == "double":
            return ("double", float(s))
        if cls == "json" or (cls == "text" and self.json_text):
            return ("json", norm_json(json.loads(s, parse_float=Decimal)))
        if cls == "datetime":
            return ("str", s.replace(" ", "T"))
        if cls == "timestamp":
            # The zero TIMESTAMP is no instant: no zone suffix.
            return ("str", s.replace(" ", "T") + ("" if s.startswith("0000-00-00") else "Z"))
        return ("str", s)

    def got(self, v):
        """Comparable key for a `cdc dump` value; FormError if its form is wrong."""
        if v is None:
            return None
        cls = self.cls
        if cls in ("int", "year", "bit"):
            if type(v) is not int:
                raise FormError("want a JSON integer, got %s" % json_text(v))
            return ("int", v)
        if cls in ("float", "double"):
            if type(v) not in (int, FloatText):
                raise FormError("want a JSON number, got %s" % json_text(v))
            text = v.text if type(v) is FloatText else str(v)
            if cls == "float":
                best = shortest_f32(float(v))
                if sig_digits(text) > sig_digits(best):
                    raise FormError("FLOAT %s is not the shortest round-trip form (%s)" % (text, best))
                return ("float", f32(float(v)))
            if sig_digits(text) > sig_digits(repr(float(v))):
                raise FormError("DOUBLE %s is not the shortest round-trip form (%r)" % (text, float(v)))
            return ("double", float(v))
        if cls == "json" or (cls == "text" and self.json_text and not isinstance(v, str)):
            return ("json", norm_json(v))
        if cls == "text" and self.json_text:
            try:
                return ("json", norm_json(json.loads(v, parse_float=Decimal)))
            except ValueError:
                raise FormError("JSON column holds text that is not JSON: %s" % json_text(v)[:80])
        if cls == "bytes":
            return ("bytes", b64(v))
        if cls == "geometry":
            if not isinstance(v, dict) or set(v) != {"srid", "wkb"} or type(v["srid"]) is not int:
                raise FormError('want {"srid":N,"wkb":"<base64>"}, got %s' % json_text(v)[:80])
            return ("geometry", v["srid"], b64(v["wkb"]))
        if cls == "vector":
            if not isinstance(v, list) or not all(type(e) in (int, FloatText) for e in v):
                raise FormError("want an array of numbers, got %s" % json_text(v)[:80])
            return ("vector", b"".join(struct.pack("<f", float(e)) for e in v))
        if not isinstance(v, str):
            raise FormError("want a JSON string, got %s" % json_text(v)[:80])
        if cls == "inettext" and not inet_text_ok(self.data_type, v):
            # MariaDB 10.11 logs INET4/INET6/UUID as BINARY(4)/BINARY(16)
            # with no metadata saying what they are, so without a schema
            # `cdc dump` can only print the bytes (docs/binlog-format.md).
            # The bytes must still be exactly the value's.
            raw = b64(v)
            self.printed_as_bytes += 1
            return ("str", inet_text(self.data_type, raw))
        return ("str", v)


def inet_text(data_type, raw):
    """Text form of INET4/INET6/UUID storage bytes (the binlog drops
    trailing zero bytes, as for any BINARY(n))."""
    n = 4 if data_type == "inet4" else 16
    if len(raw) > n:
        raise FormError("%s: %d bytes" % (data_type.upper(), len(raw)))
    raw = raw.ljust(n, b"\0")
    if data_type == "inet4":
        return socket.inet_ntop(socket.AF_INET, raw)
    if data_type == "inet6":
        return socket.inet_ntop(socket.AF_INET6, raw)
    h = raw.hex()
    return "-".join((h[:8], h[8:12], h[12:16], h[16:20], h[20:]))


def inet_text_ok(data_type, v):
    try:
        if data_type == "inet4":
            socket.inet_pton(socket.AF_INET, v)
        elif data_type == "inet6":
            socket.inet_pton(socket.AF_INET6, v)
        else:
            return len(v) == 36 and v.count("-") == 4 and int(v.replace("-", ""), 16) >= 0
        return True
    except (OSError, ValueError):
        return False


def b64(v):
    if not isinstance(v, str):
        raise FormError("want a base64 string, got %s" % json_text(v)[:80])
    try:
        return base64.b64decode(v, validate=True)
    except ValueError:
        raise FormError("not base64: %s" % v[:80])


def f32(x):
    """The float32 nearest to x, as its bit pattern."""
    try:
        return struct.unpack("<I", struct.pack("<f", x))[0]
    except OverflowError:
        return ("overflow", x)


def shortest_f32(x):
    for p in range(1, 10):
        s = "%.*g" % (p, x)
        if f32(float(s)) == f32(x):
            return s
    return repr(x)


def sig_digits(text):
    mant = text.lower().split("e")[0].lstrip("-+").replace(".", "").lstrip("0").rstrip("0")
    return max(len(mant), 1)


def norm_json(v):
    """A hashable, order-independent form of a parsed JSON value."""
    if isinstance(v, dict):
        return ("{", tuple(sorted((k, norm_json(e)) for k, e in v.items())))
    if isinstance(v, list):
        return ("[", tuple(norm_json(e) for e in v))
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, FloatText):
        return Decimal(v.text)
    if isinstance(v, (int, Decimal)):
        return Decimal(v)
    if isinstance(v, float):
        return Decimal(repr(v))
    raise TypeError(type(v))


def json_text(v):
    def conv(o):
        if isinstance(o, FloatText):
            return float(o)
        raise TypeError(type(o))
    try:
        return json.dumps(v, ensure_ascii=False, default=conv)
    except (TypeError, ValueError):
        return repr(v)


def show(key):
    """Short human form of a comparable key for mismatch messages."""
    if key is None:
        return "NULL"
    if key[0] == "bytes":
        b = key[1]
        return "bytes(%d) %s%s" % (len(b), b[:24].hex(), "..." if len(b) > 24 else "")
    if key[0] == "geometry":
        return "srid=%d wkb=%s" % (key[1], key[2].hex())
    if key[0] == "vector":
        n = len(key[1]) // 4
        return "vector%r" % (list(struct.unpack("<%df" % n, key[1][:4 * n])),)
    if key[0] == "float":
        return "float32 %s" % (shortest_f32(struct.unpack("<f", struct.pack("<I", key[1]))[0])
                               if isinstance(key[1], int) else key[1])
    s = repr(key[1])
    return s if len(s) < 120 else s[:117] + "..."


def parse_path(path):
    """'$.a.b[2]."x y"' -> ['a', 'b', 2, 'x y']"""
    if not path.startswith("$"):
        raise ValueError("bad JSON path %r" % path)
    out, i = [], 1
    while i < len(path):
        if path[i] == ".":
            i += 1
            if path[i] == '"':
                j = path.index('"', i + 1)
                out.append(json.loads(path[i:j + 1]))
                i = j + 1
            else:
                j = i
                while j < len(path) and path[j] not in ".[":
                    j += 1
                out.append(path[i:j])
                i = j
        elif path[i] == "[":
            j = path.index("]", i)
            out.append(int(path[i + 1:j]))
            i = j + 1
        else:
            raise ValueError("bad JSON path %r" % path)
    return out


def apply_json_diff(doc, ops):
    """Applies PARTIAL_JSON diff operations as MySQL defines them."""
    for op in ops:
        steps = parse_path(op["path"])
        parent = doc
        for s in steps[:-1]:
            parent = parent[s]
        last = steps[-1] if steps else None
        kind = op["op"]
        if last is None:
            if kind != "replace":
                raise ValueError("%s at $" % kind)
            doc = op["value"]
        elif kind == "replace":
            parent[last] = op["value"]
        elif kind == "insert":
            if isinstance(parent, list):
                parent.insert(last, op["value"])
            else:
                parent[last] = op["value"]
        elif kind == "remove":
            del parent[last]
        else:
            raise ValueError("unknown JSON diff op %r" % kind)
    return doc
