/*
 * bench_snapshot: snapshot throughput next to the server's own dump tool.
 *
 * usage: bench_snapshot [mariadb|mysql] [ROWS] [RUNS]
 *
 * Makes (or reuses) cdc_snapbench.t (the database CDC_SNAPBENCH_DB names,
 * when set, so benchmarks on a shared server keep apart) with ROWS rows (default 2,000,000;
 * six columns of common types), then reads the whole table with
 *   - mariadb-dump / mysqldump --single-transaction --quick (output
 *     counted and thrown away), and
 *   - the snapshot (lib/snapshot.c) with parallelism 1, 2 and 4, every
 *     value converted to its cdc_value (what a consumer gets),
 * all over loopback without TLS, in one run. Prints a Markdown table:
 * seconds, rows/s, MB/s (the dump's byte count, so both columns measure
 * the same data), the ratio to the dump tool, client CPU (in all and per
 * row) and the server process's CPU (other sessions' queries included).
 * The snapshot runs at parallelism 1, 2 and 4 with its default query
 * shape, then at 1 and 4 with one LIMIT query per chunk. RUNS (e.g.
 * "1,4,1L") picks snapshot runs instead: a parallelism, L for the LIMIT
 * shape, T for the text protocol where the binary one is the default;
 * "-" skips the dump tool; S asks MariaDB's GTID position at the point,
 * before any row, as before it was read while the rows are (for a
 * comparison in one run). Each row also gives the seconds from the start
 * to the first row delivered. A last line gives the server CPU of the
 * snapshot's setup alone (sessions, point, schema; no rows read), which
 * each snapshot row includes. Not a test: the figures
 * depend on the machine. Needs the environment of tests/servers/testenv.sh.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_proc.h"
#include "snapshot.h"

static const char *env(const char *n)
{
    const char *v = getenv(n);
    if (!v || !*v) {
        fprintf(stderr, "bench_snapshot: %s is not set; source the file `tests/servers/testenv.sh envfile` "
                        "prints\n", n);
        exit(2);
    }
    return v;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system) of this process or of its waited-for children. */
static double cpu(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds of the server process (its pid file under CDC_TEST_STATE),
 * -1 when it cannot be read. Other sessions' queries count too. */
static double server_cpu(bool mysql)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", env("CDC_TEST_STATE"), mysql ? "mysql/mysqld.pid" : "mariadb/mariadbd.pid");
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (!f) return -1;
    if (fscanf(f, "%ld", &pid) != 1) pid = 0;
    fclose(f);
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    unsigned long ut = 0, st = 0;
    if (!pid || bench_proc_ticks(path, &ut, &st)) return -1;
    return bench_ticks_seconds(ut + st);
}

static double load1(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1;
        fclose(f);
    }
    return l;
}

static void die(const char *what, const cdc__err *e)
{
    fprintf(stderr, "bench_snapshot: %s: %s\n", what, e ? e->msg : "");
    exit(1);
}

static void exec(cdc__conn *c, const char *sql)
{
    cdc__err e;
    if (cdc__conn_exec(c, sql, &e)) die(sql, &e);
}

static const char *bench_db = "cdc_snapbench";

static void execf(cdc__conn *c, const char *fmt, const char *arg)
{
    char sql[512];
    snprintf(sql, sizeof sql, fmt, arg);
    exec(c, sql);
}

static bool only_bench(const char *db, const char *t, void *ud)
{
    (void)t;
    (void)ud;
    return !strcmp(db, bench_db);
}

typedef struct counted {
    uint64_t n, sum;
    double t_first; /* now() at the first row */
} counted;

static int count_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, void *ud)
{
    (void)t;
    (void)present;
    /* look at the values the way a consumer would */
    counted *n = ud;
    if (!n->n++) n->t_first = now();
    n->sum += vals[0].v.u;
    return 0;
}

int main(int argc, char **argv)
{
    bool mysql = argc > 1 && !strcmp(argv[1], "mysql");
    unsigned long rows = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000000ul;
    const char *pw = env("CDC_TEST_PASSWORD");
    cdc__conn_opts o = {
        .host = "127.0.0.1",
        .port = (unsigned)atoi(env(mysql ? "CDC_TEST_MYSQL_PORT" : "CDC_TEST_MARIADB_PORT")),
        .user = "root",
        .password = pw,
        .tls_mode = CDC_TLS_DISABLED,
        .server_public_key_path = mysql ? env("CDC_TEST_MYSQL_RSA_PUBKEY") : NULL,
    };
    cdc__conn *c;
    cdc__err e;
    if (getenv("CDC_SNAPBENCH_DB") && *getenv("CDC_SNAPBENCH_DB")) bench_db = getenv("CDC_SNAPBENCH_DB");
    if (cdc__conn_new(&c, NULL) || cdc__conn_connect(c, &o, &e)) die("connect", &e);
    execf(c, "CREATE DATABASE IF NOT EXISTS `%s`", bench_db);
    execf(c, "CREATE TABLE IF NOT EXISTS `%s`.t (id BIGINT PRIMARY KEY, a INT, b VARCHAR(64),"
             " c DECIMAL(12,2), d DATETIME(3), e DOUBLE)", bench_db);
    cdc__result *r;
    char count_sql[256];
    snprintf(count_sql, sizeof count_sql, "SELECT COUNT(*) FROM `%s`.t", bench_db);
    if (cdc__conn_query_result(c, count_sql, &r, &e)) die("count", &e);
    unsigned long have = strtoul(cdc__result_get(r, 0, 0), NULL, 10);
    cdc__result_free(r);
    if (have != rows) {
        fprintf(stderr, "loading %lu rows...\n", rows);
        execf(c, "TRUNCATE `%s`.t", bench_db);
        execf(c, "USE `%s`", bench_db);
        exec(c, mysql ? "SET SESSION cte_max_recursion_depth = 100000000"
                      : "SET SESSION max_recursive_iterations = 100000000");
        char sql[512];
        for (unsigned long lo = 0; lo < rows; lo += 200000) {
            unsigned long hi = lo + 200000 < rows ? lo + 200000 : rows;
            snprintf(sql, sizeof sql,
                     "INSERT INTO t WITH RECURSIVE q(n) AS (SELECT %lu UNION ALL SELECT n + 1 FROM q"
                     " WHERE n + 1 < %lu) SELECT n, n %% 100000, CONCAT('name-', n, '-', LPAD(HEX(n * 2654435761 %% 4294967291), 24, 'x')),"
                     " n / 7, TIMESTAMP('2020-01-01') + INTERVAL n SECOND, n * 1.25 FROM q",
                     lo, hi);
            exec(c, sql);
        }
        execf(c, "ANALYZE TABLE `%s`.t", bench_db);
    }

    /* the snapshot runs: parallelism, LIMIT shape, text protocol */
    struct run {
        unsigned par;
        bool limit, text, sync_gtid;
    } runs[16] = {{1, false, false, false}, {2, false, false, false}, {4, false, false, false},
                  {1, true, false, false}, {4, true, false, false}};
    size_t nruns = 5;
    bool dump = true;
    if (argc > 3) {
        nruns = 0;
        for (const char *q = argv[3]; *q && nruns < 16;) {
            if (*q == '-') {
                dump = false;
                q++;
            } else {
                char *e;
                struct run r = {(unsigned)strtoul(q, &e, 10), false, false, false};
                if (e == q || !r.par) die("RUNS: want e.g. 1,4,1L,1T,1S,-", NULL);
                for (q = e; *q == 'L' || *q == 'T' || *q == 'S'; q++)
                    *(*q == 'L' ? &r.limit : *q == 'T' ? &r.text : &r.sync_gtid) = true;
                runs[nruns++] = r;
            }
            if (*q == ',') q++;
        }
    }

    /* the dump tool */
    char cmd[1024];
    if (mysql)
        snprintf(cmd, sizeof cmd,
                 "chroot '%s' mysqldump -h127.0.0.1 -P%s -uroot -p'%s' --ssl-mode=DISABLED "
                 "--get-server-public-key --single-transaction --quick --skip-lock-tables --set-gtid-purged=OFF "
                 "%s t 2>/dev/null",
                 env("CDC_TEST_MYSQL_CHROOT"), env("CDC_TEST_MYSQL_PORT"), pw, bench_db);
    else
        snprintf(cmd, sizeof cmd,
                 "mariadb-dump -h127.0.0.1 -P%s -uroot -p'%s' --skip-ssl --single-transaction --quick "
                 "%s t 2>/dev/null",
                 env("CDC_TEST_MARIADB_PORT"), pw, bench_db);
    double l0 = load1();
    const char *tool = mysql ? "mysqldump" : "mariadb-dump";
    double tdump = 0, mb = 0;
    double t0;
    if (dump) {
        t0 = now();
        double c0 = cpu(RUSAGE_CHILDREN), s0 = server_cpu(mysql);
        FILE *p = popen(cmd, "r");
        if (!p) die("popen", NULL);
        static char buf[1 << 16];
        size_t n, bytes = 0;
        while ((n = fread(buf, 1, sizeof buf, p)) > 0) bytes += n;
        if (pclose(p) != 0 || bytes < rows) die("the dump tool failed", NULL);
        tdump = now() - t0;
        double cdump = cpu(RUSAGE_CHILDREN) - c0, sdump = server_cpu(mysql) - s0;
        mb = (double)bytes / 1e6;
        printf("\n%s %s, table of %lu rows (%.0f MB as dump text), loopback, no TLS:\n\n", mysql ? "MySQL" : "MariaDB",
               env(mysql ? "CDC_TEST_MYSQL_VERSION" : "CDC_TEST_MARIADB_VERSION"), rows, mb);
        printf("| reader | seconds | rows/s | MB/s | vs %s | client CPU s | client CPU ns/row | server CPU s "
               "| first row s |\n"
               "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
               tool);
        printf("| %s --single-transaction --quick | %.2f | %.0f | %.1f | 1.00 | %.2f | %.0f | %.2f | |\n", tool,
               tdump, rows / tdump, mb / tdump, cdump, cdump * 1e9 / rows, sdump);
    } else {
        printf("\n%s %s, table of %lu rows, loopback, no TLS (no dump tool run):\n\n", mysql ? "MySQL" : "MariaDB",
               env(mysql ? "CDC_TEST_MYSQL_VERSION" : "CDC_TEST_MARIADB_VERSION"), rows);
        printf("| reader | seconds | rows/s | client CPU s | client CPU ns/row | server CPU s | first row s |\n"
               "|---|---:|---:|---:|---:|---:|---:|\n");
    }
    fflush(stdout);
    for (size_t ri = 0; ri < nruns; ri++) {
        unsigned par = runs[ri].par;
        cdc__snap_opts so = {.conn = o,
                             .parallelism = par,
                             .chunk_rows = 10000,
                             .limit_queries = runs[ri].limit,
                             .text_protocol = runs[ri].text,
                             .gtid_at_point = runs[ri].sync_gtid};
        so.filter.table = only_bench;
        counted cnt = {0};
        cdc__snap_cbs cb = {.row = count_row, .ud = &cnt};
        cdc__snap_point pt;
        t0 = now();
        double cs = cpu(RUSAGE_SELF), ss = server_cpu(mysql);
        if (cdc__snapshot_run(&so, &cb, NULL, &pt, &e)) die("snapshot", &e);
        double ts = now() - t0;
        cs = cpu(RUSAGE_SELF) - cs;
        ss = server_cpu(mysql) - ss;
        cdc__snap_point_free(NULL, &pt);
        if (cnt.n != rows) die("snapshot row count differs", NULL);
        double tfirst = cnt.t_first - t0;
        char name[160];
        snprintf(name, sizeof name, "libcdc snapshot, parallelism %u%s%s%s", par,
                 runs[ri].limit ? ", LIMIT query per chunk" : "", runs[ri].text ? ", text protocol" : "",
                 runs[ri].sync_gtid ? ", GTID position at the point" : "");
        if (dump)
            printf("| %s | %.2f | %.0f | %.1f | %.2f | %.2f | %.0f | %.2f | %.3f |\n", name, ts, rows / ts, mb / ts,
                   tdump / ts, cs, cs * 1e9 / rows, ss, tfirst);
        else
            printf("| %s | %.2f | %.0f | %.2f | %.0f | %.2f | %.3f |\n", name, ts, rows / ts, cs, cs * 1e9 / rows, ss,
                   tfirst);
        fflush(stdout);
    }
    /* what a snapshot costs the server before it reads a row */
    {
        cdc__snap_opts so = {.conn = o, .parallelism = 1, .chunk_rows = 10000, .no_data = true};
        so.filter.table = only_bench;
        cdc__snap_point pt;
        double ss = server_cpu(mysql), cs = cpu(RUSAGE_SELF);
        t0 = now();
        if (cdc__snapshot_run(&so, NULL, NULL, &pt, &e)) die("snapshot setup", &e);
        printf("\nSetup alone (sessions, point, schema, no rows): %.3f s, client CPU %.3f s, server CPU %.2f s; the "
               "point %s:%llu\n",
               now() - t0, cpu(RUSAGE_SELF) - cs, server_cpu(mysql) - ss, pt.file, (unsigned long long)pt.offset);
        cdc__snap_point_free(NULL, &pt);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\nPeak RSS of this process (all snapshot runs): %.1f MB; load average %.1f at the start, %.1f at the "
           "end\n",
           ru.ru_maxrss / 1024.0, l0, load1());
    cdc__conn_free(c);
    return 0;
}
