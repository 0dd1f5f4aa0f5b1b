/*
 * pause_stream: a stream (snapshot, then binlog) whose change callback
 * pauses (CDC_ERR_PAUSED) after random snapshot rows, for the pause soak
 * of tests/snapshot/resume.py (--pauses). Public API only.
 *
 * usage: pause_stream PAUSES ROWS SEED key=value...
 *
 * Sets each key=value on a cdc_config (the password from CDC_PASSWORD),
 * then runs cdc_stream_start() again after every pause. During the
 * snapshot it pauses after a random row, on average every
 * ROWS / (1.25 PAUSES) snapshot rows, so more than PAUSES times for a
 * snapshot of ROWS rows (PAUSES 0: never); every
 * 50th pause waits 50 ms first (long enough for the snapshot's workers to
 * fill their queue and wait). Prints each change as cdc_change_json()
 * renders it, one per line, until SIGINT or SIGTERM stops it; then
 * "pauses N, snapshot rows N" on stderr. Exit status 0 when stopped by
 * the signal, 1 on an error (its message on stderr).
 */
#define _DEFAULT_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cdc/cdc.h>

static cdc_stream *g_stream;

static void on_signal(int sig)
{
    (void)sig;
    if (g_stream) cdc_stream_stop(g_stream);
}

typedef struct run {
    unsigned long long mean, rows, pauses, next;
    unsigned seed;
    char *buf;
    size_t cap;
} run;

static unsigned long long draw(run *r)
{
    /* uniform in [1, 2 * mean): pauses at random rows, mean apart */
    r->seed = r->seed * 1103515245u + 12345u;
    unsigned long long x = ((unsigned long long)(r->seed >> 8) << 24) ^ (unsigned long long)rand_r(&r->seed);
    return 1 + x % (2 * r->mean);
}

static int on_change(const cdc_change *c, void *ud)
{
    run *r = ud;
    size_t need = 0;
    int rc = cdc_change_json(c, r->buf, r->cap, &need);
    if (rc == CDC_ERR_TOO_LARGE) {
        char *n = realloc(r->buf, need);
        if (!n) return CDC_ERR_NOMEM;
        r->buf = n;
        r->cap = need;
        rc = cdc_change_json(c, r->buf, r->cap, &need);
    }
    if (rc) return rc;
    fputs(r->buf, stdout);
    fputc('\n', stdout);
    if (cdc_change_op(c) != 'r') {
        fflush(stdout); /* the binlog's changes: the soak waits for one */
        return 0;
    }
    r->rows++;
    if (!r->mean || --r->next) return 0;
    r->next = draw(r);
    return CDC_ERR_PAUSED;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: pause_stream PAUSES ROWS SEED key=value...\n");
        return 2;
    }
    unsigned long long pauses = strtoull(argv[1], NULL, 10), rows = strtoull(argv[2], NULL, 10);
    /* a little more often than ROWS / PAUSES, so that a table that lost
     * rows to the writers still sees PAUSES pauses; PAUSES 0: never */
    run r = {.mean = pauses ? rows / (pauses + pauses / 4 + 1) : 0, .seed = (unsigned)strtoul(argv[3], NULL, 10)};
    if (pauses && !r.mean) r.mean = 1;
    if (r.mean) r.next = draw(&r);
    cdc_config *cfg;
    char err[512];
    if (cdc_config_new(&cfg, NULL)) return 1;
    const char *pw = getenv("CDC_PASSWORD");
    if (pw && cdc_config_set(cfg, "password", pw, err, sizeof err)) {
        fprintf(stderr, "pause_stream: %s\n", err);
        return 1;
    }
    for (int i = 4; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "pause_stream: '%s' is not key=value\n", argv[i]);
            return 2;
        }
        *eq = 0;
        if (cdc_config_set(cfg, argv[i], eq + 1, err, sizeof err)) {
            fprintf(stderr, "pause_stream: %s\n", err);
            return 2;
        }
    }
    if (cdc_stream_new(&g_stream, cfg, NULL, err, sizeof err)) {
        fprintf(stderr, "pause_stream: %s\n", err);
        return 1;
    }
    cdc_stream_set_change_cb(g_stream, on_change, &r);
    cdc_stream_set_snapshot_cb(g_stream, on_change, &r);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc;
    while ((rc = cdc_stream_start(g_stream)) == CDC_ERR_PAUSED) {
        r.pauses++;
        if (r.pauses % 50 == 0) {
            fflush(stdout);
            nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
        }
    }
    fflush(stdout);
    fprintf(stderr, "pauses %llu, snapshot rows %llu\n", r.pauses, r.rows);
    if (rc != CDC_ERR_STOPPED && rc != CDC_OK) fprintf(stderr, "pause_stream: %s\n", cdc_stream_errmsg(g_stream));
    cdc_stream_free(g_stream);
    cdc_config_free(cfg);
    free(r.buf);
    return rc == CDC_ERR_STOPPED || rc == CDC_OK ? 0 : 1;
}
