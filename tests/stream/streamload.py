"""The concurrent workload the stream tests run against a live server.

Writers are threads, each feeding SQL scripts to its own client process
(testenv.sh mysql|mariadb), so transactions of different writers
interleave in the binlog the way independent applications' do. Every
writer owns a range of primary keys and never reuses a key, so a chunk
that fails half-way (a server restart, a killed connection) leaves no
duplicate-key trap for the next one: what the test checks is the state
the server ended with (SELECT), never what a writer believes it wrote.
"""
import random
import threading
import time

TABLES = """
CREATE TABLE t_int (id INT PRIMARY KEY, a BIGINT, b SMALLINT UNSIGNED, c DECIMAL(12,3), d DOUBLE);
CREATE TABLE t_str (id INT PRIMARY KEY, s VARCHAR(100) CHARACTER SET utf8mb4, t TEXT,
                    b VARBINARY(40), e ENUM('red','green','blue'));
CREATE TABLE t_time (id INT PRIMARY KEY, d DATE, dt DATETIME(6), ts TIMESTAMP(3) NULL DEFAULT NULL,
                     tm TIME(2), y YEAR);
CREATE TABLE t_json (id INT PRIMARY KEY, j JSON);
CREATE TABLE t_nopk (a INT, b VARCHAR(10));
CREATE TABLE t_big (id INT PRIMARY KEY, v VARCHAR(64), n INT);
CREATE TABLE t_marker (id INT PRIMARY KEY, note VARCHAR(40));
CREATE TABLE d10 (n INT PRIMARY KEY);
INSERT INTO d10 VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);
"""

WORDS = ["alpha", "beta", "gamma", "\u00e9t\u00e9", "\u65e5\u672c", "o'neil", "back\\slash", "tab\there",
         "emoji \U0001f600", "", "x" * 90]


def sqlq(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


def setup(srv, db):
    """Drops and creates db with the workload's tables."""
    srv.sql("DROP DATABASE IF EXISTS `%s`;\nCREATE DATABASE `%s` CHARACTER SET utf8mb4;\nUSE `%s`;\n%s" % (db, db, db, TABLES))


class Gate:
    """Lets the test hold writers between chunks (around a server restart)."""

    def __init__(self):
        self.cv = threading.Condition()
        self.held = False
        self.busy = 0

    def enter(self):
        with self.cv:
            while self.held:
                self.cv.wait()
            self.busy += 1

    def leave(self):
        with self.cv:
            self.busy -= 1
            self.cv.notify_all()

    def hold(self):
        """Returns once no writer is inside a chunk; new chunks wait."""
        with self.cv:
            self.held = True
            while self.busy:
                self.cv.wait()

    def release(self):
        with self.cv:
            self.held = False
            self.cv.notify_all()


class Writer(threading.Thread):
    """ntx transactions (or more, until `until` is set) of mixed DML on
    every table, in chunks of `chunk`."""

    def __init__(self, srv, db, wid, ntx, seed, gate=None, chunk=15, pace=0.0, until=None):
        super().__init__(daemon=True)
        self.srv, self.db, self.wid, self.ntx = srv, db, wid, ntx
        self.rng = random.Random(seed)
        self.gate = gate or Gate()
        self.chunk, self.pace = chunk, pace
        self.until = until  # an Event: keep writing past ntx until it is set
        self.next_id = wid * 1000000 + 1
        self.live = {t: [] for t in ("t_int", "t_str", "t_time", "t_json")}
        self.errors = []
        self.committed_chunks = 0

    def _new_id(self, table):
        i = self.next_id
        self.next_id += 1
        self.live[table].append(i)
        return i

    def _pick(self, table):
        ids = self.live[table]
        return self.rng.choice(ids) if ids else self.wid * 1000000

    def _row(self, table):
        r = self.rng
        i = self._new_id(table)
        if table == "t_int":
            return "INSERT INTO t_int (id,a,b,c,d) VALUES (%d,%d,%d,%s,%r)" % (
                i, r.randint(-2 ** 63, 2 ** 63 - 1), r.randint(0, 65535),
                "%d.%03d" % (r.randint(-10 ** 8, 10 ** 8), r.randint(0, 999)), r.uniform(-1e6, 1e6))
        if table == "t_str":
            return "INSERT INTO t_str (id,s,t,b,e) VALUES (%d,%s,%s,X'%s',%s)" % (
                i, sqlq(r.choice(WORDS)), sqlq(r.choice(WORDS) * r.randint(0, 40)),
                bytes(r.randrange(256) for _ in range(r.randint(0, 40))).hex(),
                r.choice(["'red'", "'green'", "'blue'", "NULL"]))
        if table == "t_time":
            return ("INSERT INTO t_time (id,d,dt,ts,tm,y) VALUES (%d,'%04d-%02d-%02d',"
                    "'2024-%02d-%02d %02d:%02d:%02d.%06d',%s,'%s%02d:%02d:%02d.%02d',%d)") % (
                i, r.randint(1000, 9999), r.randint(1, 12), r.randint(1, 28), r.randint(1, 12),
                r.randint(1, 28), r.randint(0, 23), r.randint(0, 59), r.randint(0, 59), r.randint(0, 999999),
                r.choice(["NULL", "'2021-06-01 10:20:30.123'", "'1999-12-31 23:59:59.999'"]),
                r.choice(["", "-"]), r.randint(0, 838), r.randint(0, 59), r.randint(0, 59), r.randint(0, 99),
                r.randint(1901, 2155))
        return "INSERT INTO t_json (id,j) VALUES (%d,'%s')" % (
            i, '{"n": %d, "s": "%s", "a": [1, 2.5, null, true], "o": {"k": "v"}}' % (
                r.randint(-1000, 1000), r.choice(["x", "y z", "\u00fc"])))

    def _update(self, table):
        r, i = self.rng, self._pick(table)
        if table == "t_int":
            return "UPDATE t_int SET a = a DIV 2 + %d, c = %d.5 WHERE id = %d" % (r.randint(0, 9), r.randint(0, 99999), i)
        if table == "t_str":
            if r.random() < 0.3:
                lo = self._pick(table)
                return "UPDATE t_str SET s = CONCAT(LEFT(s, 80), '+') WHERE id BETWEEN %d AND %d" % (lo, lo + 5)
            return "UPDATE t_str SET t = %s, e = 'green' WHERE id = %d" % (sqlq(r.choice(WORDS)), i)
        if table == "t_time":
            return "UPDATE t_time SET dt = dt + INTERVAL 1 SECOND, ts = '2030-01-01 00:00:00.5' WHERE id = %d" % i
        return "UPDATE t_json SET j = JSON_SET(j, '$.n', %d, '$.new', 'v') WHERE id = %d" % (r.randint(0, 9), i)

    def _del_row(self, table):
        ids = self.live[table]
        if not ids:
            return self._row(table)
        i = ids.pop(self.rng.randrange(len(ids)))
        return "DELETE FROM %s WHERE id = %d" % (table, i)

    def _nopk(self):
        r = self.rng
        if r.random() < 0.6:
            return "INSERT INTO t_nopk VALUES (%d, %s), (%d, NULL)" % (
                r.randint(0, 20), sqlq(r.choice(["a", "b", "c"])), r.randint(0, 20))
        return "DELETE FROM t_nopk WHERE a = %d LIMIT 1" % r.randint(0, 20)

    def transaction(self):
        r = self.rng
        stmts = []
        for _ in range(r.randint(1, 6)):
            table = r.choice(["t_int", "t_str", "t_time", "t_json"])
            x = r.random()
            if r.random() < 0.1:
                stmts.append(self._nopk())
            elif x < 0.5:
                stmts.append(self._row(table))
            elif x < 0.85:
                stmts.append(self._update(table))
            else:
                stmts.append(self._del_row(table))
        end = "ROLLBACK" if r.random() < 0.1 else "COMMIT"
        return "BEGIN;\n" + ";\n".join(stmts) + ";\n" + end + ";\n"

    def run(self):
        done = 0
        while done < self.ntx or (self.until is not None and not self.until.is_set()):
            n = max(1, min(self.chunk, self.ntx - done))
            script = "USE `%s`;\n" % self.db + "".join(self.transaction() for _ in range(n))
            self.gate.enter()
            try:
                self.srv.sql(script)
                self.committed_chunks += 1
            except RuntimeError as e:
                # A fault the test injected on purpose; the chunk's ids are
                # spent either way.
                self.errors.append(str(e)[-300:])
            finally:
                self.gate.leave()
            done += n
            if self.pace:
                time.sleep(self.pace)


def _retry(srv, db, stmt, tries=5):
    """One statement; again if the server chose it as a deadlock victim
    (rolled back whole, so running it again is safe)."""
    for i in range(tries):
        try:
            return srv.sql("USE `%s`;\n%s;" % (db, stmt))
        except RuntimeError as e:
            if i == tries - 1 or not ("ERROR 1213" in str(e) or "ERROR 1205" in str(e)):
                raise
            time.sleep(0.2)


def big_and_ddl(srv, db, rows=100000, ddl=True):
    """The large transaction (rows inserted at once, then half updated and
    a third deleted, each in one transaction) and DDL between them."""
    digits = " CROSS JOIN ".join("d10 d%d" % i for i in range(len(str(rows - 1))))
    num = " + ".join("d%d.n * %d" % (i, 10 ** i) for i in range(len(str(rows - 1))))
    _retry(srv, db, "INSERT INTO t_big (id, v, n) SELECT %s, CONCAT('v', %s), 0 FROM %s WHERE %s < %d"
           % (num, num, digits, num, rows))
    if ddl:
        _retry(srv, db, "ALTER TABLE t_int ADD COLUMN extra INT NULL")
        _retry(srv, db, "UPDATE t_int SET extra = id MOD 7 WHERE id MOD 3 = 0")
    _retry(srv, db, "UPDATE t_big SET v = CONCAT(v, 'u'), n = n + 1 WHERE id MOD 2 = 0")
    if ddl:
        _retry(srv, db, "ALTER TABLE t_str ADD COLUMN note VARCHAR(20) NULL AFTER s")
        _retry(srv, db, "UPDATE t_str SET note = 'n' WHERE id MOD 4 = 1")
        _retry(srv, db, "CREATE TABLE t_late (id INT PRIMARY KEY, v VARCHAR(10))")
        _retry(srv, db, "INSERT INTO t_late VALUES (1, 'a'), (2, 'b')")
    _retry(srv, db, "DELETE FROM t_big WHERE id MOD 3 = 0")
