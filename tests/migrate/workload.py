"""The source side of the cdc-migrate tests: a database with every mapped
type, a preload, concurrent writers (inserts, updates, primary-key changes,
deletes, large transactions, rollbacks) and a canonical dump of both sides
made by the test itself, with each server's own SQL functions, never with
cdc-migrate's code."""
import json
import os
import random
import subprocess
import threading
import time

TESTENV = os.environ.get("CDC_TEST_TESTENV", "")

SCHEMA = """
CREATE TABLE items (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  i INT, u BIGINT UNSIGNED, d DECIMAL(30,10), f DOUBLE, fl FLOAT,
  dt DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(6), dd DATE, y YEAR,
  s VARCHAR(100), txt TEXT, b BLOB, j JSON,
  e ENUM('a','b','\u00e7\U0001F600'), st SET('x','y','\U0001F600z'), bt BIT(10), g POINT, z DATETIME NULL,
  KEY (i), KEY (s(20))
) CHARACTER SET utf8mb4;
CREATE TABLE kv (k INT NOT NULL PRIMARY KEY, v VARCHAR(50), n BIGINT,
  `prénom ü` VARCHAR(20) DEFAULT 'é😀') CHARACTER SET utf8mb4;
CREATE TABLE ledger (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(64), n INT)
  CHARACTER SET utf8mb4;
"""

# PostgreSQL side of the ledger, made by the test before cdc-migrate runs
# (cdc-migrate uses an existing table as it is). Every source transaction
# inserts one ledger row and the source never updates or deletes one, so an
# UPDATE or DELETE reaching the target's ledger means a transaction was
# applied twice: the trigger records it in public.dupes.
PG_LEDGER = """
CREATE SCHEMA IF NOT EXISTS "{db}";
CREATE TABLE "{db}".ledger (id bigint NOT NULL PRIMARY KEY, tag varchar(64), n integer);
CREATE TABLE public.dupes (id bigint, op text, at timestamptz DEFAULT now());
CREATE FUNCTION public.dup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.dupes (id, op) VALUES (OLD.id, TG_OP);
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER ledger_dup BEFORE UPDATE OR DELETE ON "{db}".ledger
  FOR EACH ROW EXECUTE FUNCTION public.dup();
"""


def esc(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


def item_values(rnd, id_):
    """One row of items as SQL literals (exact values, chosen here)."""
    r = rnd.randrange(1, 10**9)
    secs = rnd.randrange(0, 838 * 3600 + 59 * 60 + 59)
    tm = "%s%d:%02d:%02d.%06d" % ("-" if r % 2 else "", secs // 3600, secs // 60 % 60, secs % 60,
                                  rnd.randrange(10**6))
    dt = "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (rnd.randrange(1000, 9999), rnd.randrange(1, 13),
                                                 rnd.randrange(1, 29), rnd.randrange(24),
                                                 rnd.randrange(60), rnd.randrange(60),
                                                 rnd.randrange(10**6))
    ts = "%04d-%02d-%02d %02d:%02d:%02d.%03d" % (rnd.randrange(1971, 2037), rnd.randrange(1, 13),
                                                 rnd.randrange(1, 29), rnd.randrange(24),
                                                 rnd.randrange(60), rnd.randrange(60),
                                                 rnd.randrange(1000))
    text = rnd.choice(["plain", "tab\there", "new\nline", "quote'q", "back\\slash",
                       "\U0001F600 four-byte", "\u00e7a va", "", "cr\rx"]) + str(r)
    blob = "".join("%02x" % rnd.randrange(256) for _ in range(rnd.randrange(0, 40)))
    j = json.dumps({"k": r, "a": [1, "\U0001F600", None, True], "s": "q\"uote", "n": {"x": r % 7}},
                   ensure_ascii=False)
    vals = [
        str(id_), str(-r), str(18446744073709551615 - r),
        "%d.%010d" % (r % 10**12, rnd.randrange(10**10)) if r % 5 else "-0.0000000001",
        repr(r / 3.0), repr(float(r % 100000) / 8.0),
        esc(dt), esc(ts), esc(tm), esc(dt[:10]), str(1901 + r % 255),
        esc(text), esc(text * (r % 4)), "x'%s'" % blob if blob else "''", esc(j),
        esc(rnd.choice(["a", "b", "\u00e7\U0001F600"])),
        esc(rnd.choice(["", "x", "x,\U0001F600z", "x,y,\U0001F600z"])),
        "b'%s'" % bin(r % 1024)[2:], "ST_GeomFromText('POINT(%d %d.5)')" % (r % 1000, r % 77),
        rnd.choice(["NULL", "'0000-00-00 00:00:00'", esc(dt[:19])]),
    ]
    if r % 11 == 0:  # some NULLs
        for k in (1, 3, 6, 11, 14, 18):
            vals[k] = "NULL"
    return "(" + ",".join(vals) + ")"


class Source:
    def __init__(self, flavor, db):
        self.flavor = flavor
        self.db = db
        self.port = int(os.environ["CDC_TEST_%s_PORT" % flavor.upper()])

    def cli(self, *extra):
        return [TESTENV, self.flavor, "--default-character-set=utf8mb4", "--batch", "--raw",
                "--skip-column-names"] + list(extra)

    def sql(self, q, db=True):
        r = subprocess.run(self.cli(*([self.db] if db else [])), input=q.encode(),
                           capture_output=True)
        if r.returncode:
            raise RuntimeError("%s: %s: %s" % (self.flavor, q[:300], r.stderr.decode()[-800:]))
        out = r.stdout.decode("utf-8")
        return [line.split("\t") for line in out.split("\n") if line != ""]

    def create(self):
        self.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s CHARACTER SET utf8mb4;"
                 % (self.db, self.db), db=False)
        self.sql("SET SESSION sql_mode = '';" + SCHEMA)

    def preload(self, rows, seed=1):
        rnd = random.Random(seed)
        parts = ["SET SESSION sql_mode = ''; SET SESSION time_zone = '+00:00';"]
        for start in range(1, rows + 1, 500):
            ids = range(start, min(start + 500, rows + 1))
            parts.append("INSERT INTO items VALUES " +
                         ",".join(item_values(rnd, i) for i in ids) + ";")
            parts.append("INSERT INTO kv (k, v, n) VALUES " + ",".join(
                "(%d, 'v%d', %d)" % (i, i, i * 3) for i in ids) + ";")
        parts.append("INSERT INTO ledger (tag, n) VALUES ('preload', 0);")
        self.sql("\n".join(parts))

    def drop(self):
        self.sql("DROP DATABASE IF EXISTS %s" % self.db, db=False)


class Writer(threading.Thread):
    """One client session fed transactions until stop(). Every committed
    transaction inserts one ledger row."""

    def __init__(self, src, wid, seed):
        super().__init__(daemon=True)
        self.p = subprocess.Popen(src.cli("--force", src.db), stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.p.stdin.write(b"SET SESSION sql_mode = ''; SET SESSION time_zone = '+00:00';\n")
        self.rnd = random.Random(seed)
        self.wid = wid
        self.halt = threading.Event()
        self.txns = 0
        self.next_id = 10**9 * (wid + 1)

    def txn(self):
        r = self.rnd
        c = r.randrange(20)
        tag = "w%d-%d" % (self.wid, self.txns)
        led = "INSERT INTO ledger (tag, n) VALUES ('%s', %d);" % (tag, c)
        if c < 6:
            n = r.randrange(1, 4)
            rows = []
            for _ in range(n):
                self.next_id += 1
                rows.append(item_values(r, self.next_id))
            body = "INSERT INTO items VALUES %s;" % ",".join(rows)
        elif c < 10:
            k = r.randrange(1, 3000)
            body = ("UPDATE items SET i = i + 1, s = %s, ts = ts + INTERVAL 1 SECOND, "
                    "d = d + 0.0000000001, j = JSON_SET(j, '$.u', %d) WHERE id = %d;"
                    % (esc("upd\U0001F600%d" % self.txns), self.txns, k))
        elif c < 13:
            k = r.randrange(1, 3000)
            # a primary-key change (and back again later, maybe)
            body = ("UPDATE kv SET k = k + %d, n = n + 1 WHERE k = %d;"
                    % (r.choice([5000, -5000 + 10**6, 10**6]), k))
        elif c < 15:
            body = "DELETE FROM items WHERE id = %d; DELETE FROM kv WHERE k = %d;" % (
                r.randrange(1, 3000), r.randrange(1, 3000))
        elif c < 16 and r.random() < 0.25:
            # a large transaction: about 1,600 rows
            a = r.randrange(1, 3000)
            body = ("UPDATE items SET i = i + 7, u = u - 1 WHERE id BETWEEN %d AND %d;"
                    "UPDATE kv SET n = n + 1 WHERE k BETWEEN %d AND %d;" % (a, a + 800, a, a + 800))
        elif c < 18:
            # rolled back: must never reach the target
            self.next_id += 1
            return ("BEGIN; INSERT INTO ledger (tag, n) VALUES ('rolledback', -1); "
                    "INSERT INTO items VALUES %s; UPDATE kv SET v = 'rolledback' WHERE k < 100; "
                    "ROLLBACK;" % item_values(r, self.next_id))
        else:
            body = "UPDATE kv SET v = %s WHERE k = %d;" % (esc("v\t%d\U0001F600" % self.txns),
                                                          r.randrange(1, 3000))
        return "BEGIN; %s %s COMMIT;" % (body, led)

    PAUSE = 0.008  # seconds between two transactions

    def run(self):
        try:
            while not self.halt.is_set():
                self.p.stdin.write((self.txn() + "\n").encode())
                self.p.stdin.flush()
                self.txns += 1
                time.sleep(self.PAUSE)
        except BrokenPipeError:
            pass

    def stop(self):
        self.halt.set()
        self.join()
        self.p.stdin.close()
        self.p.wait()


# Canonical dump: (source expression, PostgreSQL expression, python normaliser)
def _hex(v):
    return None if v is None else v.lower()


def _float(v):
    return None if v is None else float(v)


def _json(v):
    return None if v is None else json.loads(v)


def _time_us(v):
    if v is None:
        return None
    if ":" not in v:  # PostgreSQL side: microseconds already
        return int(v)
    neg = v.startswith("-")
    h, m, s = v.lstrip("-").split(":")
    us = (int(h) * 3600 + int(m) * 60) * 10**6 + round(float(s) * 10**6)
    return -us if neg else us


def _zero_null(v):
    return None if v is None or v.startswith("0000-00-00") else v


def _s(v):
    return v


COLUMNS = {
    "items": [
        ("id", "id::text", _s), ("i", "i::text", _s), ("u", "u::text", _s), ("d", "d::text", _s),
        ("f", "f::text", _float), ("CAST(fl AS DOUBLE)", "fl::float8::text", _float),
        ("DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s.%f')", "to_char(dt, 'YYYY-MM-DD HH24:MI:SS.US')", _s),
        ("DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f')",
         "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')", _s),
        ("CAST(tm AS CHAR)", "(EXTRACT(EPOCH FROM tm) * 1000000)::bigint::text", _time_us),
        ("CAST(dd AS CHAR)", "dd::text", _s), ("CAST(y AS CHAR)", "y::text", _s),
        ("HEX(s)", "encode(convert_to(s, 'UTF8'), 'hex')", _hex),
        ("HEX(txt)", "encode(convert_to(txt, 'UTF8'), 'hex')", _hex),
        ("HEX(b)", "encode(b, 'hex')", _hex), ("j", "j::text", _json),
        ("HEX(e)", "encode(convert_to(e, 'UTF8'), 'hex')", _hex),
        ("HEX(st)", "encode(convert_to(st, 'UTF8'), 'hex')", _hex),
        ("CAST(bt + 0 AS CHAR)", "bt::integer::text", _s),
        ("HEX(ST_AsBinary(g))", "encode(g, 'hex')", _hex),
        ("DATE_FORMAT(z, '%Y-%m-%d %H:%i:%s')", "to_char(z, 'YYYY-MM-DD HH24:MI:SS')", _zero_null),
    ],
    "kv": [("k", "k::text", _s), ("HEX(v)", "encode(convert_to(v, 'UTF8'), 'hex')", _hex),
           ("n", "n::text", _s),
           ("HEX(`prénom ü`)", "encode(convert_to(\"prénom ü\", 'UTF8'), 'hex')",
            _hex)],
    "ledger": [("id", "id::text", _s), ("HEX(tag)", "encode(convert_to(tag, 'UTF8'), 'hex')", _hex),
               ("n", "n::text", _s)],
}


def dump_source(src, table):
    cols = COLUMNS[table]
    rows = src.sql("SET SESSION time_zone = '+00:00'; SELECT %s FROM %s ORDER BY 1"
                   % (", ".join(c[0] for c in cols), table))
    out = {}
    for row in rows:
        vals = [None if v == "NULL" else v for v in row]
        out[vals[0]] = tuple(c[2](v) for c, v in zip(cols, vals))
    return out


def dump_pg(pg, pgdb, schema, table):
    cols = COLUMNS[table]
    rows = pg.sql(pgdb, 'SELECT %s FROM "%s"."%s"' % (", ".join(c[1] for c in cols), schema, table))
    out = {}
    for vals in rows:
        out[vals[0]] = tuple(c[2](v) for c, v in zip(cols, vals))
    return out
