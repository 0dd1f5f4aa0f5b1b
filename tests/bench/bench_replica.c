/*
 * bench_replica [--getters|--copy] START STOP [KEY=VALUE...]: follows a
 * server's binlog as a replica from START to STOP (FILE:OFFSET each),
 * through the public API only (cdc/cdc.h), reading every value of every
 * row image as bench_decode does (bench_agg.h), and prints the same
 * aggregates, the time, the throughput and the process's own CPU time.
 *
 * The connection's keys come from KEY=VALUE arguments (docs/configuration.md:
 * host, port, user, ssl.mode, server.id...); the password from the
 * environment, CDC_BENCH_PASSWORD, so that it is never on a command line.
 * The throughput counts the bytes from START's offset to STOP's, which
 * must be in one file. Used by replica_bench.py; not a test.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cdc/cdc.h>

#include "bench_agg.h"

static double seconds(struct timeval t)
{
    return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

/* The offset of FILE:OFFSET, or -1. */
static long long offset_of(const char *pos)
{
    const char *colon = strrchr(pos, ':');
    if (!colon || !colon[1]) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(colon + 1, &end, 10);
    return errno || *end || v < 0 ? -1 : v;
}

int main(int argc, char **argv)
{
    agg a;
    memset(&a, 0, sizeof a);
    cdc_change_cb reader = agg_reader(&a, &argc, &argv);
    if (argc < 3) {
        fprintf(stderr, "usage: bench_replica [--getters|--copy] FILE:OFFSET FILE:OFFSET [KEY=VALUE...]\n");
        return 2;
    }
    long long from = offset_of(argv[1]), to = offset_of(argv[2]);
    if (from < 0 || to < from) {
        fprintf(stderr, "bench_replica: START and STOP must be FILE:OFFSET, STOP after START\n");
        return 2;
    }
    cdc_config *cfg;
    char err[512];
    if (cdc_config_new(&cfg, NULL)) return 1;
    const char *pw = getenv("CDC_BENCH_PASSWORD");
    int rc = cdc_config_set(cfg, "start", argv[1], err, sizeof err);
    if (!rc) rc = cdc_config_set(cfg, "stop.at", argv[2], err, sizeof err);
    if (!rc) rc = cdc_config_set(cfg, "snapshot.mode", "never", err, sizeof err);
    if (!rc && pw) rc = cdc_config_set(cfg, "password", pw, err, sizeof err);
    for (int i = 3; i < argc && !rc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "bench_replica: %s is not KEY=VALUE\n", argv[i]);
            return 2;
        }
        *eq = 0;
        rc = cdc_config_set(cfg, argv[i], eq + 1, err, sizeof err);
    }
    cdc_stream *s = NULL;
    if (!rc) rc = cdc_stream_new(&s, cfg, NULL, err, sizeof err);
    cdc_config_free(cfg);
    if (rc) {
        fprintf(stderr, "bench_replica: %s\n", err);
        return 1;
    }
    a.columns = SIZE_MAX;
    cdc_stream_set_change_cb(s, reader, &a);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = cdc_stream_start(s);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc) {
        fprintf(stderr, "bench_replica: %s\n", cdc_stream_errmsg(s));
        cdc_stream_free(s);
        free(a.cells);
        return 1;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    uint64_t bytes = (uint64_t)(to - from);
    agg_print(&a, bytes);
    printf("%.3f s, %.1f MB/s, %.0f rows/s\n", wall, (double)bytes / 1e6 / wall, (double)a.rows / wall);
    printf("cpu user %.3f s sys %.3f s\n", seconds(ru.ru_utime), seconds(ru.ru_stime));
    cdc_stream_free(s);
    free(a.cells);
    return 0;
}
