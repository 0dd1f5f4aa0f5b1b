/*
 * bench_decode [--getters|--copy] FILE [MAX_BYTES]: decodes a binlog file through
 * the public API only (cdc/cdc.h), reading every value of every row image,
 * and prints aggregates of what it read (so nothing can be skipped) with
 * the time and throughput. Used by decode_bench.py and by the
 * instruction-count check (icount.py).
 *
 * By default each image is read as cells (cdc/value.h) in place, through
 * one cdc_change_cells_view call (the decoder's own cells, no copy);
 * --copy copies them into the benchmark's array with one cdc_change_cells
 * call instead; --getters reads value by value, through
 * cdc_change_before/after, cdc_value_kind and a typed getter per value.
 * All three print the same aggregates.
 *
 * MAX_BYTES feeds only the first bytes of the file (a slice cut anywhere:
 * the unfinished last event is not an error here).
 *
 * With CDC_BENCH_COLUMNS=N in the environment only the first N columns
 * of each image are read, as a reader that wants the key does: the
 * others are never decoded (lazy row images). A view is of a whole image,
 * so the cells road then copies the N cells with cdc_change_cells.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cdc/cdc.h>

#include "bench_agg.h"

int main(int argc, char **argv)
{
    agg a;
    memset(&a, 0, sizeof a);
    cdc_change_cb reader = agg_reader(&a, &argc, &argv);
    if (argc < 2) {
        fprintf(stderr, "usage: bench_decode [--getters|--copy] FILE [MAX_BYTES]\n");
        return 2;
    }
    uint64_t max = argc > 2 ? strtoull(argv[2], NULL, 10) : UINT64_MAX;
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "bench_decode: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    cdc_decoder *d;
    char err[256];
    if (cdc_decoder_new(&d, NULL, err, sizeof err)) {
        fprintf(stderr, "bench_decode: %s\n", err);
        return 1;
    }
    const char *cols = getenv("CDC_BENCH_COLUMNS");
    a.columns = cols && *cols ? (size_t)strtoull(cols, NULL, 10) : SIZE_MAX;
    cdc_decoder_set_position(d, "bench", 0);
    cdc_decoder_set_change_cb(d, reader, &a);
    /* 256 KiB reads: the buffer stays in the L2 cache between the
     * kernel's copy and the decoder's pass (docs/performance.md,
     * "Quiet machine (session 9)": 4% above 1 MiB reads, 2 MiB 8% below) */
    size_t cap = (size_t)256 << 10;
    uint8_t *buf = malloc(cap);
    if (!buf) return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t total = 0;
    int status = 0;
    for (;;) {
        size_t want = cap;
        if (max - total < want) want = (size_t)(max - total);
        if (want == 0) break;
        ssize_t n = read(fd, buf, want);
        if (n < 0) {
            fprintf(stderr, "bench_decode: read: %s\n", strerror(errno));
            status = 1;
            break;
        }
        if (n == 0) break;
        total += (uint64_t)n;
        if (cdc_decoder_feed(d, buf, (size_t)n) < 0) {
            fprintf(stderr, "bench_decode: %s\n", cdc_decoder_errmsg(d));
            status = 1;
            break;
        }
    }
    if (status == 0 && max == UINT64_MAX && cdc_decoder_finish(d) != CDC_OK) {
        fprintf(stderr, "bench_decode: %s\n", cdc_decoder_errmsg(d));
        status = 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    agg_print(&a, total);
    printf("%.3f s, %.1f MB/s, %.0f rows/s\n", s, (double)total / 1e6 / s, (double)a.rows / s);
    cdc_decoder_free(d);
    free(a.cells);
    free(buf);
    close(fd);
    return status;
}
