/*
 * bench_server_probe: what one statement costs the server's thread that
 * runs it, on a shared server.
 *
 * usage: bench_server_probe [mariadb|mysql] REPS [--lowat BYTES] {B|T} SQL ...
 *
 * Opens one connection with the snapshot workers' session settings and a
 * consistent-snapshot transaction, finds the server thread that serves it
 * (the task of the server process whose CPU grows most during a
 * `SELECT BENCHMARK(...)` of ours), then runs each statement once to warm
 * up and REPS times, in the binary protocol (B: prepare, execute, close)
 * or the text one (T), reading the rows and throwing them away. Per
 * statement it prints that thread's CPU (min and mean of the runs, from
 * /proc/PID/task/TID/schedstat; user and system from its stat), rows, ns a
 * row, bytes sent and the session's Handler_read_*, Sort_rows and
 * Created_tmp_tables per run (SHOW SESSION STATUS). Other sessions'
 * queries run on other threads, so they do not count, but they still take
 * the CPU: compare runs made close together. --lowat sets
 * cdc__conn_set_stream_lowat on the connection, as the snapshot does.
 * Not a test. Needs the environment of tests/servers/testenv.sh.
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_proc.h"
#include "conn.h"
#include "resultset.h"

static const char *env(const char *n)
{
    const char *v = getenv(n);
    if (!v) {
        fprintf(stderr, "bench_server_probe: %s is not set; source the file `tests/servers/testenv.sh envfile`\n", n);
        exit(2);
    }
    return v;
}

static long server_pid, thread_id;

static double thread_cpu(long tid)
{
    char p[256];
    snprintf(p, sizeof p, "/proc/%ld/task/%ld/schedstat", server_pid, tid);
    FILE *f = fopen(p, "r");
    unsigned long long ns = 0;
    if (!f) return -1;
    if (fscanf(f, "%llu", &ns) != 1) ns = 0;
    fclose(f);
    return (double)ns / 1e9;
}

/* user (0) or system (1) seconds of the thread, in clock ticks' precision */
static double thread_time(int sys)
{
    char p[256];
    unsigned long ut = 0, st = 0;
    snprintf(p, sizeof p, "/proc/%ld/task/%ld/stat", server_pid, thread_id);
    if (bench_proc_ticks(p, &ut, &st)) return -1;
    return bench_ticks_seconds(sys ? st : ut);
}

static unsigned long long nrows;

static int on_raw_row(const uint8_t *p, size_t n, void *ud)
{
    (void)p, (void)n, (void)ud;
    nrows++;
    return 0;
}

static int on_row(const cdc_bytes *v, size_t n, void *ud)
{
    (void)v, (void)n, (void)ud;
    nrows++;
    return 0;
}

static cdc__conn *c;
static cdc__err e;

static void die(const char *what)
{
    fprintf(stderr, "bench_server_probe: %s: %s\n", what, e.msg);
    exit(1);
}

static void exec(const char *sql)
{
    if (cdc__conn_exec(c, sql, &e)) die(sql);
}

#define NSTAT 8
static const char *const stat_names[NSTAT] = {"Bytes_sent",         "Created_tmp_tables", "Handler_read_first",
                                              "Handler_read_key",   "Handler_read_next",  "Handler_read_rnd_next",
                                              "Sort_rows",          "Sort_scan"};

static void status(unsigned long long *out)
{
    cdc__result *r;
    if (cdc__conn_query_result(c, "SHOW SESSION STATUS", &r, &e)) die("SHOW SESSION STATUS");
    memset(out, 0, NSTAT * sizeof *out);
    for (size_t i = 0; i < cdc__result_rows(r); i++)
        for (int k = 0; k < NSTAT; k++)
            if (!strcmp(cdc__result_get(r, i, 0), stat_names[k]))
                out[k] = strtoull(cdc__result_get(r, i, 1) ? cdc__result_get(r, i, 1) : "0", NULL, 10);
    cdc__result_free(r);
}

static void run(bool binary, const char *sql)
{
    static const cdc__query_handler hb = {.raw_row = on_raw_row}, ht = {.row = on_row};
    nrows = 0;
    int rc = binary ? cdc__conn_query_binary(c, sql, strlen(sql), &hb, NULL, &e)
                    : cdc__conn_query(c, sql, strlen(sql), &ht, NULL, &e);
    if (rc) die(sql);
}

/* The server thread whose CPU grows most while ours computes. */
static long find_thread(void)
{
    enum { MAXT = 4096 };
    static long tids[MAXT];
    static double before[MAXT];
    int nt = 0;
    char d[256];
    snprintf(d, sizeof d, "/proc/%ld/task", server_pid);
    DIR *dd = opendir(d);
    if (!dd) {
        fprintf(stderr, "bench_server_probe: cannot read %s (run on the server's machine)\n", d);
        exit(1);
    }
    struct dirent *de;
    while ((de = readdir(dd)) && nt < MAXT) {
        if (de->d_name[0] == '.') continue;
        tids[nt] = atol(de->d_name);
        before[nt] = thread_cpu(tids[nt]);
        nt++;
    }
    closedir(dd);
    exec("DO BENCHMARK(20000000, 1 + 1)");
    double best = 0;
    long tid = 0;
    for (int i = 0; i < nt; i++) {
        double x = thread_cpu(tids[i]) - before[i];
        if (x > best) best = x, tid = tids[i];
    }
    if (!tid) {
        fprintf(stderr, "bench_server_probe: no server thread found\n");
        exit(1);
    }
    return tid;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_server_probe [mariadb|mysql] REPS [--lowat BYTES] {B|T} SQL ...\n");
        return 2;
    }
    bool mysql = !strcmp(argv[1], "mysql");
    int reps = atoi(argv[2]), a = 3, lowat = 0;
    if (reps < 1) reps = 1;
    if (!strcmp(argv[a], "--lowat") && a + 1 < argc) {
        lowat = atoi(argv[a + 1]);
        a += 2;
    }
    cdc__conn_opts o = {
        .host = "127.0.0.1",
        .port = (unsigned)atoi(env(mysql ? "CDC_TEST_MYSQL_PORT" : "CDC_TEST_MARIADB_PORT")),
        .user = "root",
        .password = env("CDC_TEST_PASSWORD"),
        .tls_mode = CDC_TLS_DISABLED,
        .server_public_key_path = mysql ? env("CDC_TEST_MYSQL_RSA_PUBKEY") : NULL,
    };
    if (cdc__conn_new(&c, NULL) || cdc__conn_connect(c, &o, &e)) die("connect");
    cdc__conn_set_stream_lowat(c, lowat);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", env("CDC_TEST_STATE"), mysql ? "mysql/mysqld.pid" : "mariadb/mariadbd.pid");
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%ld", &server_pid) != 1) {
        fprintf(stderr, "bench_server_probe: cannot read %s\n", path);
        return 1;
    }
    fclose(f);
    thread_id = find_thread();
    exec("SET SESSION time_zone = '+00:00', character_set_results = NULL, sql_mode = '', net_write_timeout = 31536000");
    exec("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    exec("START TRANSACTION WITH CONSISTENT SNAPSHOT");
    printf("server thread %ld of pid %ld; %d runs each\n", thread_id, server_pid, reps);
    for (; a + 1 < argc; a += 2) {
        bool binary = argv[a][0] == 'B';
        const char *sql = argv[a + 1];
        run(binary, sql);
        unsigned long long s0[NSTAT], s1[NSTAT];
        status(s0);
        double best = 1e9, sum = 0, u0 = thread_time(0), k0 = thread_time(1);
        for (int i = 0; i < reps; i++) {
            double t0 = thread_cpu(thread_id);
            run(binary, sql);
            double d = thread_cpu(thread_id) - t0;
            sum += d;
            if (d < best) best = d;
        }
        double u1 = thread_time(0), k1 = thread_time(1);
        status(s1);
        printf("%s: %s\n  server thread CPU min %.3f s, mean %.3f s (user %.2f, system %.2f a run); %llu rows, %.0f "
               "ns a row\n ",
               binary ? "binary" : "text", sql, best, sum / reps, (u1 - u0) / reps, (k1 - k0) / reps, nrows,
               nrows ? best * 1e9 / (double)nrows : 0.0);
        /* the SHOW STATUS between the runs counts too: a few key reads */
        for (int k = 0; k < NSTAT; k++) printf(" %s %llu", stat_names[k], (s1[k] - s0[k]) / (unsigned)reps);
        printf("\n");
        fflush(stdout);
    }
    cdc__conn_free(c);
    return 0;
}
