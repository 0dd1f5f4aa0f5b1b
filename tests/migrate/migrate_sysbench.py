#!/usr/bin/env python3
"""cdc-migrate under sysbench's OLTP load (meson test migrate-sysbench).

usage: migrate_sysbench.py CDC_MIGRATE [mysql|mariadb ...]

For each source server: sysbench (Debian's, 1.0) prepares its sbtest tables
in a database of their own; `cdc-migrate run` copies them into a
PostgreSQL 15 this test starts while `sysbench oltp_read_write` commits
transactions of point and range reads, updates of the indexed and the
unindexed column, and a delete followed by an insert of the same key
(so keys vanish and come back inside one transaction); the run is killed
with SIGKILL once while sysbench writes and started again. When sysbench
has ended:
  - `cdc-migrate cutover` must report the target equal to the source at
    the source's position;
  - every sbtest table dumped by each server's own client (PostgreSQL's
    bpchar compared as text, without CHAR's padding, as MySQL returns it)
    must be equal row for row;
  - sysbench must have committed transactions while the copy and the
    apply ran (its own report), so the load was real.
Then the cut-over as it is meant to run, on a MariaDB source of the test's
own (its own mariadbd with a binlog, so it may be frozen): sysbench writes
through an application account, `cdc-migrate cutover --read-only` sets the
source read-only while sysbench still writes, drains and verifies; its
report must say the target equals the source, sysbench must stop on the
server's read-only error, the application account must be refused a
write, and both sides dumped must be equal.
Ends with "N passed, N failed". Needs tests/servers/testenv.sh's servers
and sysbench; fails, never skips, without them.
"""
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from checks import Checks  # noqa: E402
import migrun  # noqa: E402
from migrun import phase  # noqa: E402
import myserver  # noqa: E402
import workload  # noqa: E402
from pgserver import PG  # noqa: E402

MIGRATE = os.path.abspath(sys.argv[1])
FLAVORS = sys.argv[2:] or ["mariadb", "mysql"]
TABLES = int(os.environ.get("CDC_SYSBENCH_TABLES", "4"))
ROWS = int(os.environ.get("CDC_SYSBENCH_ROWS", "20000"))
SECONDS = int(os.environ.get("CDC_SYSBENCH_SECONDS", "25"))
checks = Checks()
check = checks.check
RUNNER = migrun.Runner(MIGRATE, {"mysql": "7152", "mariadb": "7151"})


def sysbench(src, *extra):
    """sysbench oltp_read_write against src's database over the server's
    socket (MySQL's caching_sha2 needs a secure transport for a first login),
    as root."""
    return ["sysbench", "oltp_read_write", "--db-driver=mysql",
            "--mysql-socket=" + os.environ["CDC_TEST_%s_SOCKET" % src.flavor.upper()],
            "--mysql-user=root", "--mysql-password=" + os.environ["CDC_TEST_PASSWORD"],
            "--mysql-db=" + src.db, "--tables=%d" % TABLES, "--table-size=%d" % ROWS,
            "--rand-seed=%d" % random.randrange(1, 1 << 30)] + list(extra)


def dump(rows):
    """{id: (k, c, pad)} of rows given as strings."""
    return {r[0]: tuple(r[1:]) for r in rows}


def one_flavor(flavor, pg):
    src = workload.Source(flavor, "migsb_" + flavor[:2])
    pgdb = "sb_" + flavor
    src.sql("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s" % (src.db, src.db), db=False)
    pg.sql("postgres", "DROP DATABASE IF EXISTS %s" % pgdb)
    pg.sql("postgres", "CREATE DATABASE %s" % pgdb)
    r = subprocess.run(sysbench(src, "prepare"), capture_output=True, text=True, timeout=600)
    check("%s: sysbench prepared %d tables of %d rows" % (flavor, TABLES, ROWS),
          r.returncode == 0, r.stdout[-500:] + r.stderr[-1500:])
    if r.returncode:
        return
    logpath = os.path.join(pg.dir, "run-%s.log" % flavor)
    log = open(logpath, "a")
    run = RUNNER.start_run(src, pg, pgdb, log, ["--copy-workers", "2"])
    load = subprocess.Popen(sysbench(src, "--threads=2", "--time=%d" % SECONDS,
                                     "--report-interval=5", "run"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # one kill -9 while sysbench writes, at a random moment of its first half
    time.sleep(random.uniform(3, SECONDS / 2))
    killed_in = phase(pg, pgdb)
    run.kill()
    run.wait()
    run = RUNNER.start_run(src, pg, pgdb, log, ["--copy-workers", "2"])
    out, _ = load.communicate(timeout=SECONDS + 300)
    m = re.search(r"transactions:\s+(\d+)", out)
    txns = int(m.group(1)) if m else 0
    check("%s: sysbench committed %d transactions over %d s (killed the run in phase %s)"
          % (flavor, txns, SECONDS, killed_in),
          load.returncode == 0 and txns >= 50, out[-1500:])
    r = RUNNER.migrate("cutover", src, pg, pgdb, ["--max-lag-ms", "3000", "--timeout", "240"], timeout=600)
    migrun.check_cutover(check, flavor, r, open(logpath).read())
    # caught up: status counts nothing behind, by GTIDs (MySQL's
    # GTID_SUBTRACT, MariaDB's domains) and by bytes
    deadline = time.time() + 60
    while True:
        st = RUNNER.migrate("status", src, pg, pgdb)
        f = status_fields(st.stdout)
        if (f.get("behind_transactions"), f.get("behind_bytes")) == ("0", "0") or \
                time.time() > deadline:
            break
        time.sleep(0.5)
    check("%s: status after the cutover: 0 transactions and 0 bytes behind" % flavor,
          (f.get("behind_transactions"), f.get("behind_bytes")) == ("0", "0"),
          st.stdout + st.stderr)
    migrun.check_stop(check, flavor, run)
    log.close()
    compare(flavor, src, pg, pgdb, TABLES)
    src.drop()
    pg.sql("postgres", "DROP DATABASE %s" % pgdb)


class OwnSource:
    """A myserver.MyServer as the source: what the dumps need of a
    workload.Source (flavor, db, port, sql)."""
    flavor = "mariadb"

    def __init__(self, srv, db):
        self.srv, self.db, self.port = srv, db, srv.port

    def sql(self, q, db=True):
        r = subprocess.run(self.srv.cli(*([self.db] if db else [])), input=q.encode(),
                           capture_output=True)
        if r.returncode:
            raise RuntimeError("own source: %s: %s" % (q[:300], r.stderr.decode()[-800:]))
        return [line.split("\t") for line in r.stdout.decode().split("\n") if line != ""]


def compare(name, src, pg, pgdb, tables):
    for i in range(1, tables + 1):
        t = "sbtest%d" % i
        a = dump(src.sql("SELECT id, k, c, pad FROM %s ORDER BY id" % t))
        b = dump(pg.sql(pgdb, 'SELECT id::text, k::text, c::text, pad::text FROM "%s"."%s"'
                        % (src.db, t)))
        if a == b:
            check("%s: %s identical (%d rows, dumped by each server)" % (name, t, len(a)), True)
        else:
            only_a = sorted(set(a) - set(b), key=int)[:5]
            only_b = sorted(set(b) - set(a), key=int)[:5]
            diff = [k for k in a if k in b and a[k] != b[k]][:3]
            check("%s: %s identical" % (name, t), False,
                  "source-only %s target-only %s differing %s" % (only_a, only_b, diff))


def status_fields(out):
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def status_behind(name, srv, base, env, pg, pgdb):
    """With the run paused, 3 transactions, a new binlog file, 4 more:
    status must say 7 transactions behind, and the bytes from the
    checkpoint to the source's position across the two files (by the
    sizes SHOW BINARY LOGS gives); after resume, 0 behind."""
    def status():
        r = subprocess.run([MIGRATE, "status"] + base, env=env, capture_output=True, text=True,
                           timeout=120)
        return r.returncode, status_fields(r.stdout), r.stdout + r.stderr

    def app_sql(q):
        subprocess.run(["mariadb", "--no-defaults", "-usbapp", "-psbapp-pw-1",
                        "--socket=" + srv.sock, "migsb_ro", "-e", q], check=True,
                       capture_output=True)

    r = subprocess.run([MIGRATE, "pause"] + base, env=env, capture_output=True, text=True)
    check("%s: pause accepted" % name, r.returncode == 0, r.stderr)
    time.sleep(2.5)  # the run reads the control within a second, then stops at a boundary
    for i in range(3):
        app_sql("UPDATE sbtest1 SET k = k + 1 WHERE id = %d" % (i + 1))
    srv.root_sql("FLUSH BINARY LOGS")
    for i in range(4):
        app_sql("UPDATE sbtest2 SET k = k + 1 WHERE id = %d" % (i + 1))
    rc, f, out = status()
    ck = re.search(r"file=([^;]+);pos=(\d+)", f.get("checkpoint", ""))
    at = re.search(r"file=([^;]+);pos=(\d+)", f.get("source at", ""))
    sizes = {}
    for line in subprocess.run(srv.cli("-e", "SHOW BINARY LOGS"), capture_output=True,
                               text=True).stdout.splitlines():
        parts = line.split("\t")
        sizes[parts[0]] = int(parts[1])
    want = None
    if ck and at and ck.group(1) != at.group(1) and ck.group(1) in sizes:
        names = sorted(sizes)
        between = names[names.index(ck.group(1)) + 1:names.index(at.group(1))]
        want = (sizes[ck.group(1)] - int(ck.group(2)) + sum(sizes[n] for n in between) +
                int(at.group(2)))
    check("%s: status while paused: 7 transactions behind, %s bytes across two binlog files"
          % (name, want), rc == 0 and f.get("behind_transactions") == "7" and want is not None
          and f.get("behind_bytes") == str(want), out)
    r = subprocess.run([MIGRATE, "resume"] + base, env=env, capture_output=True, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        rc, f, out = status()
        if f.get("behind_transactions") == "0" and f.get("behind_bytes") == "0":
            break
        time.sleep(0.5)
    check("%s: after resume, status says 0 transactions and 0 bytes behind" % name,
          f.get("behind_transactions") == "0" and f.get("behind_bytes") == "0", out)


def read_only_cutover(pg):
    certs = os.path.dirname(os.environ["CDC_TEST_TLS_CA"])
    srv = myserver.MyServer(log_bin=True, extra=[
        "--binlog-format=ROW", "--binlog-row-metadata=FULL",
        "--ssl-ca=" + os.environ["CDC_TEST_TLS_CA"],
        "--ssl-cert=" + os.path.join(certs, "server-cert.pem"),
        "--ssl-key=" + os.path.join(certs, "server-key.pem")])
    name = "read-only cutover"
    try:
        src = OwnSource(srv, "migsb_ro")
        srv.root_sql("CREATE DATABASE migsb_ro; CREATE USER 'sbapp'@'localhost' IDENTIFIED BY "
                     "'sbapp-pw-1'; GRANT ALL ON migsb_ro.* TO 'sbapp'@'localhost';")
        app = ["sysbench", "oltp_read_write", "--db-driver=mysql", "--mysql-socket=" + srv.sock,
               "--mysql-user=sbapp", "--mysql-password=sbapp-pw-1", "--mysql-db=migsb_ro",
               "--tables=2", "--table-size=%d" % ROWS]
        r = subprocess.run(app + ["prepare"], capture_output=True, text=True, timeout=600)
        check("%s: sysbench prepared its tables through the application account" % name,
              r.returncode == 0, r.stdout[-500:] + r.stderr[-1500:])
        if r.returncode:
            return
        pgdb = "sb_ro"
        pg.sql("postgres", "CREATE DATABASE %s" % pgdb)
        base = ["--source-host", "127.0.0.1", "--source-port", str(srv.port), "--source-user",
                "root", "--database", src.db,
                "--target", pg.dsn(pgdb), "--zero-date", "null"]
        env = migrun.env({"CDC_MIGRATE_SOURCE_PASSWORD": myserver.PASSWORD})
        logpath = os.path.join(pg.dir, "run-ro.log")
        log = open(logpath, "a")
        run = subprocess.Popen([MIGRATE, "run", "--server-id", "7153"] + base, env=env,
                               stdout=log, stderr=log)
        deadline = time.time() + 120
        while phase(pg, pgdb) != "streaming" and time.time() < deadline and run.poll() is None:
            time.sleep(0.2)
        status_behind(name, srv, base, env, pg, pgdb)
        load = subprocess.Popen(app + ["--threads=2", "--time=300", "run"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(5)  # the run applies sysbench's transactions for a while
        st = subprocess.run([MIGRATE, "status"] + base, env=env, capture_output=True, text=True,
                            timeout=120)
        m = re.search(r"^rate: (\d+) rows/s, (\d+) transactions/s", st.stdout, re.M)
        check("%s: status gives the apply rate while sysbench writes (%s)"
              % (name, m.group(0) if m else "none"),
              m is not None and int(m.group(1)) > 0 and int(m.group(2)) > 0, st.stdout + st.stderr)
        still = load.poll() is None
        r = subprocess.run([MIGRATE, "cutover", "--read-only", "--max-lag-ms", "3000",
                            "--timeout", "240"] + base, env=env, capture_output=True, text=True,
                           timeout=600)
        migrun.check_cutover(check, name, r, open(logpath).read())
        check("%s: the source was set read-only while sysbench wrote" % name,
              still and "source set read-only" in r.stderr, r.stderr[-1000:])
        try:
            out, _ = load.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            load.kill()
            out, _ = load.communicate()
        check("%s: sysbench stopped on the server's read-only error" % name,
              load.returncode != 0 and ("read-only" in out or "1290" in out), out[-1500:])
        w = subprocess.run(["mariadb", "--no-defaults", "-usbapp", "-psbapp-pw-1",
                            "--socket=" + srv.sock, "migsb_ro", "-e",
                            "UPDATE sbtest1 SET k = k + 1 WHERE id = 1"],
                           capture_output=True, text=True)
        check("%s: the application account is refused a write afterwards" % name,
              w.returncode != 0 and "read-only" in w.stderr, w.stderr)
        migrun.check_stop(check, name, run)
        log.close()
        compare(name, src, pg, pgdb, 2)
        pg.sql("postgres", "DROP DATABASE %s" % pgdb)
    finally:
        if checks.failed and os.environ.get("CDC_MIGRATE_KEEP"):
            srv.stop()
            print("kept: %s" % srv.dir)
        else:
            srv.cleanup()


def main():
    if not checks.have_testenv():
        return 1
    if not shutil.which("sysbench"):
        print("FAIL: sysbench not found (tests/install-deps.sh test installs it)")
        print("0 passed, 1 failed")
        return 1
    random.seed(os.environ.get("CDC_SYSBENCH_SEED") or None)
    pg = PG()
    try:
        for f in FLAVORS:
            one_flavor(f, pg)
        read_only_cutover(pg)
    finally:
        checks.finish(pg, "CDC_MIGRATE_KEEP")
    return checks.summary()


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
