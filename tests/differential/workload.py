"""The SQL workload the differential test runs on each server.

One function per server flavour returns a list of SQL statements. The
statements create a fresh database and cover every column type the
decoder must handle, with edge values, NULLs, multi-row statements (one
rows event holding many rows), rows over 8 KiB, ALTER TABLE mid-stream,
a table without a primary key, updates and deletes. Nothing here knows
the expected output: run.py reads it back from the server with SELECT.
"""
import json

# Sessions run in UTC so TIMESTAMP literals mean what they say.
PROLOGUE = ["SET time_zone = '+00:00'", "SET NAMES utf8mb4"]


def q(s):
    """SQL string literal for a Python str."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def x(b):
    """SQL hex literal for bytes."""
    return "X'" + b.hex() + "'" if b else "''"


def insert(table, cols, rows):
    """One INSERT with many rows: the server writes them in one rows event."""
    vals = ",\n".join("(" + ", ".join(r) + ")" for r in rows)
    return "INSERT INTO %s (%s) VALUES\n%s" % (table, ", ".join(cols), vals)


def _ints():
    cols = ["id", "ti", "tiu", "si", "siu", "mi", "miu", "i", "iu", "bi", "biu", "b"]
    ddl = ("CREATE TABLE t_int (id INT PRIMARY KEY, ti TINYINT, tiu TINYINT UNSIGNED,"
           " si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED,"
           " i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED, b BOOL)")
    rows = [
        ["1", "-128", "0", "-32768", "0", "-8388608", "0", "-2147483648", "0",
         "-9223372036854775808", "0", "0"],
        ["2", "127", "255", "32767", "65535", "8388607", "16777215", "2147483647",
         "4294967295", "9223372036854775807", "18446744073709551615", "1"],
        ["3", "0", "128", "0", "32768", "0", "8388608", "0", "2147483648", "0",
         "9223372036854775808", "NULL"],
        ["4", "-1", "1", "-1", "1", "-1", "1", "-1", "1", "-1", "1", "-1"],
        ["5"] + ["NULL"] * 11,
    ]
    return [ddl, insert("t_int", cols, rows),
            "UPDATE t_int SET ti = ti - 1, biu = 18446744073709551614, bi = NULL WHERE id = 2",
            "UPDATE t_int SET ti = 42, tiu = 200, mi = -77, iu = 3000000000 WHERE id = 5",
            "DELETE FROM t_int WHERE id = 4"]


def _floats():
    cols = ["id", "f", "d"]
    ddl = "CREATE TABLE t_float (id INT PRIMARY KEY, f FLOAT, d DOUBLE)"
    rows = [["1", "0", "0"],
            ["2", "3.4028234e38", "1.7976931348623157e308"],
            ["3", "-3.4028234e38", "-1.7976931348623157e308"],
            ["4", "1.17549435e-38", "2.2250738585072014e-308"],
            ["5", "0.1", "0.1"],
            ["6", "-123.456", "-123.456"],
            ["7", "16777217", "9007199254740993"],
            ["8", "1e-45", "5e-324"],
            ["9", "NULL", "NULL"],
            ["10", "2.5", "1e15"]]
    return [ddl, insert("t_float", cols, rows),
            "UPDATE t_float SET f = 1.5, d = 2.75 WHERE id = 9",
            "UPDATE t_float SET f = NULL, d = 0.3 WHERE id = 5",
            "DELETE FROM t_float WHERE id = 6"]


def _decimals():
    cols = ["id", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9"]
    ddl = ("CREATE TABLE t_dec (id INT PRIMARY KEY, d1 DECIMAL(1,0), d2 DECIMAL(5,2),"
           " d3 DECIMAL(10,4), d4 DECIMAL(18,9), d5 DECIMAL(20,0), d6 DECIMAL(65,30),"
           " d7 DECIMAL(65,0), d8 DECIMAL(9,9), d9 DECIMAL(10,2))")
    big = "9" * 35 + "." + "9" * 30
    rows = [
        ["1", "9", "999.99", "999999.9999", "999999999.999999999", "9" * 20, big, "9" * 65,
         "0.999999999", "12345678.12"],
        ["2", "-9", "-999.99", "-999999.9999", "-999999999.999999999", "-" + "9" * 20,
         "-" + big, "-" + "9" * 65, "-0.999999999", "-12345678.12"],
        ["3", "0", "0", "0", "0", "0", "0", "0", "0", "0"],
        ["4", "1", "-0.5", "0.0001", "0.000000001", "1", "0." + "0" * 29 + "1", "1",
         "0.000000001", "12.3"],
        ["5", "NULL", "1.05", "-1234.5678", "123456789.123456789", "12345678901234567890",
         "12345678901234567890123456789012345.123456789012345678901234567890",
         "-12345678901234567890123456789012345678901234567890123456789012345", "NULL", "NULL"],
    ]
    return [ddl, insert("t_dec", cols, rows),
            "UPDATE t_dec SET d2 = 0.01, d6 = -0.000000000000000000000000000001 WHERE id = 3",
            "UPDATE t_dec SET d1 = NULL, d9 = 99999999.99 WHERE id = 1",
            "DELETE FROM t_dec WHERE id = 4"]


def _temporal():
    dt = ["dt%d" % i for i in range(7)]
    ts = ["ts%d" % i for i in range(7)]
    tm = ["tm%d" % i for i in range(7)]
    cols = ["id", "d", "y"] + dt + ts + tm
    ddl = ("CREATE TABLE t_time (id INT PRIMARY KEY, d DATE, y YEAR, "
           + ", ".join("dt%d DATETIME(%d)" % (i, i) for i in range(7)) + ", "
           + ", ".join("ts%d TIMESTAMP(%d) NULL DEFAULT NULL" % (i, i) for i in range(7)) + ", "
           + ", ".join("tm%d TIME(%d)" % (i, i) for i in range(7)) + ")")

    def row(i, d, y, dtv, tsv, tmv):
        return [str(i), d, y] + [dtv] * 7 + [tsv] * 7 + [tmv] * 7

    rows = [
        row(1, "'2024-02-29'", "2024", "'2024-02-29 23:59:59.123456'",
            "'2038-01-19 03:14:07.499999'", "'-838:59:58.999999'"),
        row(2, "'1000-01-01'", "1901", "'1000-01-01 00:00:00'", "'1970-01-01 00:00:01'",
            "'838:59:58.5'"),
        row(3, "'9999-12-31'", "2155", "'9999-12-31 23:59:59.499999'", "'2000-01-01 12:00:00.000001'",
            "'-00:00:01.25'"),
        row(4, "'1970-01-01'", "1970", "'2020-06-15 08:09:10.654321'",
            "'2020-06-15 08:09:10.654321'", "'25:00:00.000001'"),
        row(5, "NULL", "NULL", "NULL", "NULL", "NULL"),
        row(6, "'2001-09-09'", "0", "'2001-09-09 01:46:40.1'", "'2001-09-09 01:46:40.1'",
            "'00:00:00'"),
    ]
    stmts = [ddl, insert("t_time", cols, rows)]
    # Zero dates need a permissive sql_mode; restored right after.
    stmts += ["SET @old_mode = @@sql_mode", "SET sql_mode = ''",
              insert("t_time", cols, [row(7, "'0000-00-00'", "0000", "'0000-00-00 00:00:00'",
                                          "'0000-00-00 00:00:00'", "'-12:34:56.789'"),
                                      row(8, "'2024-00-00'", "NULL", "'2024-05-00 10:00:00'",
                                          "NULL", "'100:00:00'")]),
              "SET sql_mode = @old_mode"]
    stmts += ["UPDATE t_time SET d = '2025-12-31', tm3 = '-01:02:03.456', ts6 = '2030-03-03 03:03:03.333333',"
              " dt6 = '1999-12-31 23:59:59.999999', y = 1999 WHERE id = 2",
              "UPDATE t_time SET dt0 = '2011-11-11 11:11:11', tm0 = '-838:59:59' WHERE id = 5",
              # Fractions are rounded to the column's fsp (MySQL): only fsp 6 holds the last microsecond.
              "UPDATE t_time SET ts6 = '2038-01-19 03:14:07.999999', dt6 = '9999-12-31 23:59:59.999999' WHERE id = 1",
              "DELETE FROM t_time WHERE id = 4"]
    return stmts


def _bits_enums():
    cols = ["id", "b1", "b8", "b17", "b63", "b64", "e", "s", "e2"]
    labels = ", ".join("'L%03d'" % i for i in range(300))  # > 255 labels: 2-byte ENUM
    ddl = ("CREATE TABLE t_bits (id INT PRIMARY KEY, b1 BIT(1), b8 BIT(8), b17 BIT(17),"
           " b63 BIT(63), b64 BIT(64), e ENUM('a','b','c'),"
           " s SET('x','y','z','w','v','u','t','s','r'), e2 ENUM(%s))" % labels)
    rows = [["1", "b'1'", "b'11111111'", "b'10000000000000001'", "b'" + "1" * 63 + "'",
             "b'" + "1" * 64 + "'", "'c'", "'x,z'", "'L299'"],
            ["2", "b'0'", "0", "0", "0", "0", "'a'", "''", "'L000'"],
            ["3", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"],
            ["4", "1", "170", "65537", "4611686018427387904", "9223372036854775808", "'b'",
             "'x,y,z,w,v,u,t,s,r'", "'L256'"]]
    return [ddl, insert("t_bits", cols, rows),
            "UPDATE t_bits SET b8 = 5, s = 'r', e = 'a', b64 = 1 WHERE id = 1",
            "UPDATE t_bits SET b1 = 1, e2 = 'L100' WHERE id = 3",
            "DELETE FROM t_bits WHERE id = 2"]


def _strings():
    cols = ["id", "c", "vc", "cl", "vcl", "c255", "vlong", "bn", "vb", "tt", "tx", "mt", "lt",
            "tb", "bl", "mb", "lb"]
    ddl = ("CREATE TABLE t_str (id INT PRIMARY KEY,"
           " c CHAR(10) CHARACTER SET utf8mb4, vc VARCHAR(100) CHARACTER SET utf8mb4,"
           " cl CHAR(20) CHARACTER SET latin1, vcl VARCHAR(300) CHARACTER SET latin1,"
           " c255 CHAR(255) CHARACTER SET utf8mb4, vlong VARCHAR(2000) CHARACTER SET utf8mb4,"
           " bn BINARY(8), vb VARBINARY(300), tt TINYTEXT, tx TEXT CHARACTER SET utf8mb4,"
           " mt MEDIUMTEXT, lt LONGTEXT CHARACTER SET utf8mb4, tb TINYBLOB, bl BLOB,"
           " mb MEDIUMBLOB, lb LONGBLOB) DEFAULT CHARSET utf8mb4")
    emoji = "h\u00e9llo \U0001F600 \u4e16\u754c"
    tricky = "quote' dq\" back\\slash\ttab\nnl"
    rows = [
        ["1", q("abc"), q(emoji), q("caf\u00e9"), q("na\u00efve \u00f1 " + "x" * 280),
         q("\U0001F600" * 255), q("\u00e9" * 2000), x(b"\x00\x01\xff"), x(bytes(range(256))),
         q(tricky), q(emoji * 100), q("m" * 70000), q("\u4e16" * 30000), x(b"\x00" * 10),
         x(bytes(range(256)) * 100), x(b"\xab" * 70000), x(b"\xcd\x00" * 40000)],
        ["2", q(""), q(""), q(""), q(""), q(""), q(""), x(b""), x(b""), q(""), q(""), q(""),
         q(""), x(b""), x(b""), x(b""), x(b"")],
        ["3"] + ["NULL"] * 16,
        ["4", q("trail  "), q("trail  "), q("sp  "), q("sp  "), q(" lead"), q(tricky),
         # lt holds text that parses as JSON: it must still come out as a string.
         x(b"12345678"), x(b"\x00\x00"), q("\u00e9"), q("a"), q("b"), q("[1, 2]"), x(b"\xff"),
         x(b"\x00"), x(b"\x01"), x(b"\x02")],
    ]
    return [ddl, insert("t_str", cols, rows),
            "UPDATE t_str SET vc = 'changed', mt = REPEAT('z', 9000), bl = NULL, cl = 'd\u00e9j\u00e0' WHERE id = 1",
            "UPDATE t_str SET c = 'x', tb = X'00FF00', lt = REPEAT('\u00fc', 5000) WHERE id = 3",
            "DELETE FROM t_str WHERE id = 2"]


def _multi_row():
    """A 300-row statement: several rows events and a large one."""
    ddl = ("CREATE TABLE t_many (id INT PRIMARY KEY, n BIGINT, s VARCHAR(64), d DECIMAL(12,3),"
           " t DATETIME(3))")
    rows = [[str(i), str(i * 1000003 - 7), q("row-%d-\u00e9" % i),
             "%d.%03d" % (i * 7 - 900, i % 1000), "'2024-01-01 00:00:00' + INTERVAL %d SECOND" % i]
            for i in range(1, 301)]
    return [ddl, insert("t_many", ["id", "n", "s", "d", "t"], rows),
            "UPDATE t_many SET n = -n, s = CONCAT(s, '!') WHERE id % 7 = 0",
            "DELETE FROM t_many WHERE id % 11 = 0"]


def _no_pk():
    cols = ["a", "b", "c"]
    ddl = "CREATE TABLE t_nopk (a INT, b VARCHAR(20), c DOUBLE)"
    rows = [["1", q("one"), "1.5"], ["1", q("one"), "1.5"], ["2", q("two"), "NULL"],
            ["NULL", "NULL", "NULL"], ["3", q("three"), "-0.25"]]
    return [ddl, insert("t_nopk", cols, rows),
            "UPDATE t_nopk SET b = 'uno' WHERE a = 1 LIMIT 1",
            "UPDATE t_nopk SET c = 2.5 WHERE b IS NULL",
            "DELETE FROM t_nopk WHERE a = 2",
            insert("t_nopk", cols, [["4", q("four"), "4"]])]


def _alter():
    """Columns added, dropped and reordered between row events."""
    return [
        "CREATE TABLE t_alter (id INT PRIMARY KEY, a INT, b VARCHAR(20))",
        insert("t_alter", ["id", "a", "b"], [["1", "10", q("x")], ["2", "20", q("y")]]),
        "ALTER TABLE t_alter ADD COLUMN c DECIMAL(6,2) NULL AFTER a",
        insert("t_alter", ["id", "a", "c", "b"], [["3", "30", "3.30", q("z")]]),
        "UPDATE t_alter SET c = 1.10 WHERE id = 1",
        "ALTER TABLE t_alter DROP COLUMN b",
        insert("t_alter", ["id", "a", "c"], [["4", "40", "4.40"]]),
        "ALTER TABLE t_alter MODIFY COLUMN c DECIMAL(6,2) NULL FIRST",
        "ALTER TABLE t_alter ADD COLUMN e VARCHAR(10) NULL",
        insert("t_alter", ["id", "a", "c", "e"], [["5", "50", "5.50", q("e5")]]),
        "UPDATE t_alter SET a = a + 1, e = 'upd' WHERE id = 2",
        "DELETE FROM t_alter WHERE id = 3",
    ]


def _json_mysql():
    scalars = {"null": None, "t": True, "f": False, "i": -42, "u": 18446744073709551615,
               "big": 9223372036854775807, "neg": -9223372036854775808, "d": 3.25,
               "e": 1.5e300, "s": "str \u00e9 \U0001F600 \"q\" \\", "empty_s": "",
               "arr": [], "obj": {}, "nested": {"a": [1, [2, [3, {"b": None}]]], "c": {"d": {"e": "f"}}}}
    large = {"arr": list(range(5000)), "text": "x" * 70000, "o": {"k%d" % i: i for i in range(200)}}
    ddl = "CREATE TABLE t_json (id INT PRIMARY KEY, j JSON, k JSON)"
    rows = [["1", q(json.dumps(scalars)), q("[1, 2.5, \"s\", null, true, false]")],
            ["2", q(json.dumps(large)), q("\"just a string\"")],
            ["3", "NULL", q("12")],
            ["4", "JSON_OBJECT('dec', CAST('12.30' AS DECIMAL(6,2)), 'dt',"
                  " CAST('2024-02-29 23:59:59.5' AS DATETIME(1)), 'date', CAST('2024-02-29' AS DATE),"
                  " 'time', CAST('-12:34:56.5' AS TIME(1)), 'pi', 3.14159)",
             "JSON_ARRAY(CAST('-0.001' AS DECIMAL(10,3)), CAST('09:00:00' AS TIME))"],
            ["5", q(json.dumps({"a": 1, "b": {"c": [1, 2, 3]}, "s": "abc"})), q("{}")],
            ["6", q("true"), q("null")],
            # Stays: a JSON null document, which the output shows as null like SQL NULL.
            ["7", q("[null]"), q("null")]]
    return [ddl, insert("t_json", ["id", "j", "k"], rows),
            # With PARTIAL_JSON these become JSON diffs in the binlog.
            "UPDATE t_json SET j = JSON_SET(j, '$.a', 2, '$.new', 'n') WHERE id = 5",
            "UPDATE t_json SET j = JSON_REPLACE(j, '$.b.c[1]', 'two') WHERE id = 5",
            "UPDATE t_json SET j = JSON_REMOVE(j, '$.s') WHERE id = 5",
            "UPDATE t_json SET j = JSON_SET(j, '$.arr[0]', -1) WHERE id = 2",
            "UPDATE t_json SET j = JSON_REPLACE(j, '$.i', 7), k = JSON_ARRAY(1) WHERE id = 1",
            "UPDATE t_json SET j = '{\"replaced\": [true]}' WHERE id = 3",
            "DELETE FROM t_json WHERE id = 6"]


def _json_mariadb():
    # MariaDB's JSON is LONGTEXT with a JSON_VALID check; the binlog holds text.
    ddl = "CREATE TABLE t_json (id INT PRIMARY KEY, j JSON)"
    rows = [["1", q(json.dumps({"a": [1, 2, {"b": None}], "s": "\u00e9\U0001F600"}))],
            ["2", q(json.dumps({"big": "y" * 70000}))], ["3", "NULL"]]
    return [ddl, insert("t_json", ["id", "j"], rows),
            "UPDATE t_json SET j = JSON_SET(j, '$.a[0]', 9) WHERE id = 1",
            "DELETE FROM t_json WHERE id = 3"]


def _geometry(flavor):
    srid_col = " SRID 4326" if flavor == "mysql" else " REF_SYSTEM_ID=4326"
    ddl = ("CREATE TABLE t_geo (id INT PRIMARY KEY, g GEOMETRY, p POINT%s, pg POLYGON)" % srid_col)
    poly = "'POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 3 2, 3 3, 2 2))'"
    rows = [["1", "ST_GeomFromText('LINESTRING(0 0, 1 1, 2 0.5)')",
             "ST_GeomFromText('POINT(45.5 -120.25)', 4326)", "ST_GeomFromText(%s, 3857)" % poly],
            ["2", "ST_GeomFromText('POINT(1 2)')", "NULL", "ST_GeomFromText(%s)" % poly],
            ["3", "NULL", "ST_GeomFromText('POINT(0 0)', 4326)", "NULL"]]
    # One row per statement: mysqlbinlog cannot print GEOMETRY and drops
    # the rest of the rows event where it meets one.
    return [ddl] + [insert("t_geo", ["id", "g", "p", "pg"], [r]) for r in rows] + [
            "UPDATE t_geo SET g = ST_GeomFromText('MULTIPOINT(1 1, 2 2)') WHERE id = 2",
            "DELETE FROM t_geo WHERE id = 3"]


def _vector():
    ddl = "CREATE TABLE t_vec (id INT PRIMARY KEY, v VECTOR(3), w VECTOR(16))"
    w = "[" + ",".join(str(i * 0.5 - 3) for i in range(16)) + "]"
    rows = [["1", "STRING_TO_VECTOR('[1.5,-2,3.4028234e38]')", "STRING_TO_VECTOR('%s')" % w],
            ["2", "STRING_TO_VECTOR('[0,0.1,-0.1]')", "NULL"]]
    return [ddl, insert("t_vec", ["id", "v", "w"], rows),
            "UPDATE t_vec SET v = STRING_TO_VECTOR('[7,8,9]') WHERE id = 2"]


def _inet():
    ddl = "CREATE TABLE t_inet (id INT PRIMARY KEY, i4 INET4, i6 INET6, u UUID)"
    rows = [["1", q("192.168.0.1"), q("2001:db8::ff00:42:8329"), q("123e4567-e89b-12d3-a456-426614174000")],
            ["2", q("0.0.0.0"), q("::ffff:10.0.0.1"), q("00000000-0000-0000-0000-000000000000")],
            ["3", q("255.255.255.255"), q("::"), q("ffffffff-ffff-ffff-ffff-ffffffffffff")],
            ["4", "NULL", "NULL", "NULL"]]
    return [ddl, insert("t_inet", ["id", "i4", "i6", "u"], rows),
            "UPDATE t_inet SET i4 = '10.1.2.3', u = '6ccd780c-baba-1026-9564-5b8c656024db' WHERE id = 4",
            "DELETE FROM t_inet WHERE id = 2"]


def statements(flavor, db, with_alter=True):
    """All statements for flavour 'mysql' or 'mariadb' in database db."""
    out = PROLOGUE + ["DROP DATABASE IF EXISTS %s" % db, "CREATE DATABASE %s" % db, "USE %s" % db]
    for part in (_ints(), _floats(), _decimals(), _temporal(), _bits_enums(), _strings(),
                 _multi_row(), _no_pk(), _geometry(flavor)):
        out += part
    if with_alter:
        out += _alter()
    if flavor == "mysql":
        out += _json_mysql() + _vector()
    else:
        out += _json_mariadb() + _inet()
    return out
