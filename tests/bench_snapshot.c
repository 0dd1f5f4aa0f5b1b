/*
 * bench_snapshot: snapshot throughput next to the server's own dump tool.
 *
 * usage: bench_snapshot [mariadb|mysql] [ROWS]
 *
 * Makes (or reuses) cdc_snapbench.t with ROWS rows (default 2,000,000;
 * six columns of common types), then reads the whole table with
 *   - mariadb-dump / mysqldump --single-transaction --quick (output
 *     counted and thrown away), and
 *   - the snapshot (lib/snapshot.c) with parallelism 1, 2 and 4, every
 *     value converted to its cdc_value (what a consumer gets),
 * all over loopback without TLS, in one run. Prints a Markdown table:
 * seconds, rows/s, MB/s (the dump's byte count, so both columns measure
 * the same data) and the ratio to the dump tool. Not a test: the figures
 * depend on the machine. Needs the environment of tests/servers/testenv.sh.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

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

static bool only_bench(const char *db, const char *t, void *ud)
{
    (void)t;
    (void)ud;
    return !strcmp(db, "cdc_snapbench");
}

static int count_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, void *ud)
{
    (void)t;
    (void)present;
    /* look at the values the way a consumer would */
    uint64_t *n = ud;
    n[0]++;
    n[1] += vals[0].v.u;
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
    if (cdc__conn_new(&c, NULL) || cdc__conn_connect(c, &o, &e)) die("connect", &e);
    exec(c, "CREATE DATABASE IF NOT EXISTS cdc_snapbench");
    exec(c, "CREATE TABLE IF NOT EXISTS cdc_snapbench.t (id BIGINT PRIMARY KEY, a INT, b VARCHAR(64),"
            " c DECIMAL(12,2), d DATETIME(3), e DOUBLE)");
    cdc__result *r;
    if (cdc__conn_query_result(c, "SELECT COUNT(*) FROM cdc_snapbench.t", &r, &e)) die("count", &e);
    unsigned long have = strtoul(cdc__result_get(r, 0, 0), NULL, 10);
    cdc__result_free(r);
    if (have != rows) {
        fprintf(stderr, "loading %lu rows...\n", rows);
        exec(c, "TRUNCATE cdc_snapbench.t");
        exec(c, "USE cdc_snapbench");
        exec(c, mysql ? "SET SESSION cte_max_recursion_depth = 100000000"
                      : "SET SESSION max_recursive_iterations = 100000000");
        char sql[512];
        for (unsigned long lo = 0; lo < rows; lo += 200000) {
            unsigned long hi = lo + 200000 < rows ? lo + 200000 : rows;
            snprintf(sql, sizeof sql,
                     "INSERT INTO cdc_snapbench.t WITH RECURSIVE q(n) AS (SELECT %lu UNION ALL SELECT n + 1 FROM q"
                     " WHERE n + 1 < %lu) SELECT n, n %% 100000, CONCAT('name-', n, '-', LPAD(HEX(n * 2654435761 %% 4294967291), 24, 'x')),"
                     " n / 7, TIMESTAMP('2020-01-01') + INTERVAL n SECOND, n * 1.25 FROM q",
                     lo, hi);
            exec(c, sql);
        }
        exec(c, "ANALYZE TABLE cdc_snapbench.t");
    }

    /* the dump tool */
    char cmd[1024];
    if (mysql)
        snprintf(cmd, sizeof cmd,
                 "chroot '%s' mysqldump -h127.0.0.1 -P%s -uroot -p'%s' --ssl-mode=DISABLED "
                 "--get-server-public-key --single-transaction --quick --skip-lock-tables --set-gtid-purged=OFF "
                 "cdc_snapbench t 2>/dev/null",
                 env("CDC_TEST_MYSQL_CHROOT"), env("CDC_TEST_MYSQL_PORT"), pw);
    else
        snprintf(cmd, sizeof cmd,
                 "mariadb-dump -h127.0.0.1 -P%s -uroot -p'%s' --skip-ssl --single-transaction --quick "
                 "cdc_snapbench t 2>/dev/null",
                 env("CDC_TEST_MARIADB_PORT"), pw);
    double t0 = now(), c0 = cpu(RUSAGE_CHILDREN);
    FILE *p = popen(cmd, "r");
    if (!p) die("popen", NULL);
    static char buf[1 << 16];
    size_t n, bytes = 0;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) bytes += n;
    if (pclose(p) != 0 || bytes < rows) die("the dump tool failed", NULL);
    double tdump = now() - t0, cdump = cpu(RUSAGE_CHILDREN) - c0;
    const char *tool = mysql ? "mysqldump" : "mariadb-dump";
    double mb = (double)bytes / 1e6;

    printf("\n%s %s, table of %lu rows (%.0f MB as dump text), loopback, no TLS:\n\n", mysql ? "MySQL" : "MariaDB",
           env(mysql ? "CDC_TEST_MYSQL_VERSION" : "CDC_TEST_MARIADB_VERSION"), rows, mb);
    printf("| reader | seconds | rows/s | MB/s | vs %s | client CPU s |\n|---|---:|---:|---:|---:|---:|\n", tool);
    printf("| %s --single-transaction --quick | %.2f | %.0f | %.1f | 1.00 | %.2f |\n", tool, tdump, rows / tdump,
           mb / tdump, cdump);
    fflush(stdout);
    for (unsigned par = 1; par <= 4; par *= 2) {
        cdc__snap_opts so = {.conn = o, .parallelism = par, .chunk_rows = 10000};
        so.filter.table = only_bench;
        uint64_t cnt[2] = {0, 0};
        cdc__snap_cbs cb = {.row = count_row, .ud = cnt};
        cdc__snap_point pt;
        t0 = now();
        double cs = cpu(RUSAGE_SELF);
        if (cdc__snapshot_run(&so, &cb, NULL, &pt, &e)) die("snapshot", &e);
        double ts = now() - t0;
        cs = cpu(RUSAGE_SELF) - cs;
        cdc__snap_point_free(NULL, &pt);
        if (cnt[0] != rows) die("snapshot row count differs", NULL);
        printf("| libcdc snapshot, parallelism %u | %.2f | %.0f | %.1f | %.2f | %.2f |\n", par, ts, rows / ts, mb / ts,
               tdump / ts, cs);
        fflush(stdout);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\nPeak RSS of this process (all snapshot runs): %.1f MB\n", ru.ru_maxrss / 1024.0);
    cdc__conn_free(c);
    return 0;
}
