#!/usr/bin/env python3
"""cdc-migrate throughput into PostgreSQL (docs/performance.md, "cdc-migrate").

usage: bench.py CDC_MIGRATE [mariadb|mysql] [ROWS] [UPDATES] [LAG_SECONDS]

On the chosen source (default mariadb), a 10-column table of ROWS rows
(default 262144) is copied into a PostgreSQL 15 this script starts (once
through one connection, once with `--copy-workers 2`), and,
as the peer in the same session, the same table through the source's own
client piped into psql's COPY (`mariadb --batch -e 'SELECT ...' | psql -c
'\copy ... FROM STDIN'`); then UPDATES single-row update transactions
(default 20000) are committed on the source and applied in strict mode
(`run --stop-at now`), first with one statement per row (`--statement-rows
1`), then with multi-row statements (the default); as many again twice in
parallel mode (`--workers 4`), the same two ways; then, with `run --workers 4` following, a generator
inserts 10,000 rows/s (100 transactions of 100 rows each second) for
LAG_SECONDS (default 20) into a table whose target copy records, by a
trigger, when each row arrived: the apply lag percentiles; then `verify`
compares the table, with the servers' chunk digests (the default, two
`--verify-workers`), with them on one connection pair (`--verify-workers 1`)
and reading every row (`--verify-rows`). For each phase: rows/s, and the CPU seconds used by
cdc-migrate and by PostgreSQL (the postmaster and all its backends) over the
phase. Use a build without sanitizers (-Dbuildtype=release).
"""
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import workload  # noqa: E402
from pgserver import PG  # noqa: E402

MIGRATE = os.path.abspath(sys.argv[1])
FLAVOR = sys.argv[2] if len(sys.argv) > 2 else "mariadb"
ROWS = int(sys.argv[3]) if len(sys.argv) > 3 else 262144
UPDATES = int(sys.argv[4]) if len(sys.argv) > 4 else 20000
LAG_S = int(sys.argv[5]) if len(sys.argv) > 5 else 20
TICK = os.sysconf("SC_CLK_TCK")


def pg_cpu(pg):
    """CPU seconds of the postmaster, its exited children and live ones."""
    total = 0
    pids = [pg.proc.pid]
    out = subprocess.run(["pgrep", "-P", str(pg.proc.pid)], capture_output=True, text=True).stdout
    # runuser is the Popen child; postgres is its child
    for p in out.split():
        pids.append(int(p))
        sub = subprocess.run(["pgrep", "-P", p], capture_output=True, text=True).stdout
        pids.extend(int(x) for x in sub.split())
    for pid in pids:
        try:
            f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in f[11:15])
        except (OSError, IndexError):
            pass
    return total / TICK


def env():
    e = dict(os.environ)
    e["CDC_MIGRATE_SOURCE_PASSWORD"] = os.environ["CDC_TEST_PASSWORD"]
    return e


def run_child(argv):
    """Runs argv; returns wall seconds, CPU seconds of the child, output."""
    t0 = time.time()
    r0 = os.times()
    p = subprocess.run(argv, env=env(), capture_output=True, text=True)
    r1 = os.times()
    cpu = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
    if p.returncode:
        raise SystemExit("FAIL: %s: %s" % (" ".join(argv[:2]), p.stderr[-2000:]))
    return time.time() - t0, cpu, p.stdout + p.stderr


def updates(src, first):
    stmts = "".join("UPDATE b SET c1 = c1 + 1, c7 = 'u%d' WHERE id = %d;\n" % (i, 1 + i * 7 % ROWS)
                    for i in range(first, first + UPDATES))
    t0 = time.time()
    src.sql(stmts)
    print("source: %d single-row update transactions committed in %.1fs"
          % (UPDATES, time.time() - t0), flush=True)


def apply(pg, base, label):
    c0 = pg_cpu(pg)
    wall, cpu, text = run_child(base)
    pgc = pg_cpu(pg) - c0
    m = re.search(r"applied (\d+) transactions, (\d+) rows in ([\d.]+)s \((\d+) rows/s\)", text)
    print("apply %s: %s transactions / %s rows in %ss = %s rows/s (whole run %.1fs); "
          "cdc-migrate CPU %.1fs, PostgreSQL CPU %.1fs"
          % (label, m.group(1), m.group(2), m.group(3), m.group(4), wall, cpu, pgc), flush=True)
    return int(m.group(4))


def lag(src, pg, base):
    """10,000 rows/s for LAG_S seconds while `run --workers 4` follows."""
    pg.sql("bench", "CREATE TABLE migrate_bench.lagt_applied (id bigint PRIMARY KEY, "
           "applied timestamp(6) NOT NULL);"
           "CREATE FUNCTION migrate_bench.arrived() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
           "INSERT INTO migrate_bench.lagt_applied VALUES (NEW.id, clock_timestamp() AT TIME "
           "ZONE 'UTC') ON CONFLICT DO NOTHING; RETURN NEW; END $$;"
           "CREATE TRIGGER arrived AFTER INSERT ON migrate_bench.lagt FOR EACH ROW EXECUTE "
           "FUNCTION migrate_bench.arrived();")
    p = subprocess.Popen(base[:-2] + ["--workers", "4", "--batch-ms", "50"], env=env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    gen = subprocess.Popen(src.cli("migrate_bench"), stdin=subprocess.PIPE,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    gen.stdin.write(b"SET SESSION time_zone = '+00:00';\n")
    row = "(NOW(6), 'pad-pad-pad')"
    stmt = ("INSERT INTO lagt (t_src, pad) VALUES " + ",".join([row] * 100) + ";\n").encode()
    c0 = pg_cpu(pg)
    r0 = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()
    t0 = time.time()
    sent = 0
    while time.time() - t0 < LAG_S:
        due = t0 + sent / 100.0
        if due > time.time():
            time.sleep(due - time.time())
        gen.stdin.write(stmt)
        gen.stdin.flush()
        sent += 1
    gen.stdin.close()
    gen.wait()
    gen_s = time.time() - t0
    want = sent * 100
    deadline = time.time() + 120
    got = 0
    while time.time() < deadline:
        got = int(pg.sql("bench", "SELECT count(*) FROM migrate_bench.lagt_applied")[0][0])
        if got >= want:
            break
        time.sleep(0.2)
    r1 = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()
    cpu = (sum(int(x) for x in r1[11:13]) - sum(int(x) for x in r0[11:13])) / TICK
    pgc = pg_cpu(pg) - c0
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
    q = pg.sql("bench", "SELECT percentile_cont(ARRAY[0.5, 0.99, 1.0]) WITHIN GROUP (ORDER BY "
               "extract(epoch FROM a.applied - l.t_src)) FROM migrate_bench.lagt l JOIN "
               "migrate_bench.lagt_applied a USING (id)")[0][0]
    p50, p99, pmax = (float(x) for x in q.strip("{}").split(","))
    print("lag: %d rows in %.1fs from the source (%.0f rows/s offered), %d arrived; apply lag "
          "p50 %.3fs p99 %.3fs max %.3fs; cdc-migrate CPU %.1fs, PostgreSQL CPU %.1fs"
          % (want, gen_s, want / gen_s, got, p50, p99, pmax, cpu, pgc), flush=True)


def peer_copy(src, pg):
    """The source's client piped into psql's COPY: the reference for the copy."""
    pg.sql("bench", "CREATE TABLE public.peer (LIKE migrate_bench.b)")
    cmd = ("%s --batch --skip-column-names migrate_bench -e 'SELECT * FROM b' | "
           "psql -X -q -h 127.0.0.1 -p %d -U postgres -d bench -c "
           "\"\\copy public.peer FROM STDIN WITH (NULL 'NULL')\""
           % (" ".join(src.cli()[:2]), pg.port))
    c0 = pg_cpu(pg)
    r0 = os.times()
    t0 = time.time()
    r = subprocess.run(["bash", "-c", "set -o pipefail; " + cmd], env=env(), capture_output=True,
                       text=True)
    wall = time.time() - t0
    r1 = os.times()
    cpu = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
    pgc = pg_cpu(pg) - c0
    if r.returncode:
        raise SystemExit("FAIL: peer copy: " + r.stderr[-1500:])
    n = int(pg.sql("bench", "SELECT count(*) FROM public.peer")[0][0])
    print("peer copy (client | psql \\copy): %d rows in %.1fs = %.0f rows/s; client+psql CPU "
          "%.1fs, PostgreSQL CPU %.1fs" % (n, wall, n / wall, cpu, pgc), flush=True)


def main():
    src = workload.Source(FLAVOR, "migrate_bench")
    src.sql("DROP DATABASE IF EXISTS migrate_bench; CREATE DATABASE migrate_bench;", db=False)
    src.sql("CREATE TABLE b (id BIGINT PRIMARY KEY, c1 INT, c2 INT, c3 BIGINT, c4 DECIMAL(12,2),"
            " c5 DOUBLE, c6 DATETIME(6), c7 VARCHAR(40), c8 VARCHAR(40), c9 TIMESTAMP NULL);"
            "CREATE TABLE lagt (id BIGINT AUTO_INCREMENT PRIMARY KEY, t_src DATETIME(6),"
            " pad VARCHAR(20));"
            "INSERT INTO b VALUES (1, 1, 2, 3, 4.50, 6.25, '2024-01-02 03:04:05.123456',"
            " 'alpha-0001', 'beta-0001', '2024-01-02 03:04:05');")
    n = 1
    while n < ROWS:
        src.sql("INSERT INTO b SELECT id + %d, c1 + id, c2, c3 * 3, c4 + 1, c5 / 3, c6 + INTERVAL id "
                "SECOND, CONCAT('alpha-', id), CONCAT('beta-', id), c9 FROM b WHERE id + %d <= %d"
                % (n, n, ROWS))
        n *= 2
    pg = PG()
    try:
        pg.sql("postgres", "CREATE DATABASE bench")
        base = [MIGRATE, "run", "--source-port", str(src.port), "--database", "migrate_bench",
                "--target", pg.dsn("bench"), "--server-id", "7190", "--stop-at", "now"]
        c0 = pg_cpu(pg)
        wall, cpu, text = run_child(base)
        pgc = pg_cpu(pg) - c0
        m = re.search(r"copy done: (\d+) rows in ([\d.]+)s \((\d+) rows/s\)", text)
        print("copy: %s rows in %ss = %s rows/s (whole run %.1fs); cdc-migrate CPU %.1fs, "
              "PostgreSQL CPU %.1fs" % (m.group(1), m.group(2), m.group(3), wall, cpu, pgc),
              flush=True)
        # the same copy through two copy workers, into a second database
        pg.sql("postgres", "CREATE DATABASE bench2")
        c0 = pg_cpu(pg)
        wall, cpu, text = run_child([MIGRATE, "run", "--source-port", str(src.port), "--database",
                                     "migrate_bench", "--target", pg.dsn("bench2"),
                                     "--server-id", "7191", "--stop-at", "now",
                                     "--copy-workers", "2"])
        pgc = pg_cpu(pg) - c0
        m2 = re.search(r"copy done: (\d+) rows in ([\d.]+)s \((\d+) rows/s\)", text)
        print("copy, --copy-workers 2: %s rows in %ss = %s rows/s (whole run %.1fs); cdc-migrate "
              "CPU %.1fs, PostgreSQL CPU %.1fs; / one connection: %.2f"
              % (m2.group(1), m2.group(2), m2.group(3), wall, cpu, pgc,
                 int(m2.group(3)) / int(m.group(3))), flush=True)
        pg.sql("postgres", "DROP DATABASE bench2")
        peer_copy(src, pg)
        # one statement per row (--statement-rows 1, the apply before
        # multi-row statements) against the default, in the same session
        updates(src, 0)
        strict1 = apply(pg, base + ["--statement-rows", "1"], "strict, one statement per row")
        updates(src, UPDATES)
        strict = apply(pg, base, "strict")
        print("strict multi-row / one per row: %.2f" % (strict / strict1 if strict1 else 0),
              flush=True)
        updates(src, 2 * UPDATES)
        par1 = apply(pg, base + ["--workers", "4", "--statement-rows", "1"],
                     "parallel, 4 workers, one statement per row")
        updates(src, 3 * UPDATES)
        par = apply(pg, base + ["--workers", "4"], "parallel, 4 workers")
        print("parallel multi-row / one per row: %.2f" % (par / par1 if par1 else 0), flush=True)
        print("parallel / strict: %.2f" % (par / strict if strict else 0), flush=True)
        if LAG_S:
            lag(src, pg, base)
        # verify with the servers' digests (the default), then reading rows
        rates = []
        for extra in ([], ["--verify-workers", "1"], ["--verify-rows"]):
            c0 = pg_cpu(pg)
            wall, cpu, text = run_child([MIGRATE, "verify", "--source-port", str(src.port),
                                         "--database", "migrate_bench", "--target",
                                         pg.dsn("bench"), "--chunk-rows", "20000", "--tables",
                                         "b"] + extra)
            pgc = pg_cpu(pg) - c0
            m = re.search(r"verify: (\d+) source rows in ([\d.]+)s \((\d+) rows/s\), (\d+) of "
                          r"(\d+) chunks", text)
            ok = "verify: identical" in text
            print("verify%s: %s rows in %ss = %s rows/s, %s, %s of %s chunks equal by digests; "
                  "cdc-migrate CPU %.1fs, PostgreSQL CPU %.1fs"
                  % (" " + " ".join(extra) if extra else "", m.group(1), m.group(2), m.group(3),
                     "identical" if ok else "DIFFERENT", m.group(4), m.group(5), cpu, pgc),
                  flush=True)
            rates.append(int(m.group(3)))
        print("verify digests / rows: %.2f" % (rates[0] / rates[-1] if rates[-1] else 0))
    finally:
        pg.cleanup()
        src.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
