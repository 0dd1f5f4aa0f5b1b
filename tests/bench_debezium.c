/*
 * bench_debezium: rows per second of the Debezium renderer over binlog
 * files, next to the canonical JSON line of the same rows (the decoder's
 * own cost is in both). Public API only. Not a test: a program for
 * docs/debezium.md ("Performance").
 *
 *     bench_debezium FILE... [-o KEY=VALUE]...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cdc/cdc.h>

typedef struct bench {
    int mode; /* 0 decode only, 1 JSON line, 2 Debezium */
    cdc_debezium *dz;
    uint64_t rows, bytes;
    char *buf;
    size_t cap;
} bench;

static int on_change(const cdc_change *c, void *ud)
{
    bench *b = ud;
    b->rows++;
    if (b->mode == 1) {
        size_t need = 0;
        while (cdc_change_render_json(c, b->buf, b->cap, &need) == CDC_ERR_TOO_LARGE) {
            b->cap = need * 2;
            b->buf = realloc(b->buf, b->cap);
            if (!b->buf) return CDC_ERR_NOMEM;
        }
        b->bytes += need;
    } else if (b->mode == 2) {
        ptrdiff_t n = cdc_debezium_change(b->dz, c, CDC_DEBEZIUM_SNAPSHOT_FALSE);
        if (n < 0) {
            fprintf(stderr, "bench_debezium: %s\n", cdc_debezium_errmsg(b->dz));
            return (int)n;
        }
        for (size_t i = 0; i < (size_t)n; i++) {
            cdc_bytes t, k, v;
            cdc_debezium_record(b->dz, i, &t, &k, &v);
            b->bytes += t.len + k.len + v.len;
        }
    }
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run(bench *b, uint8_t **data, size_t *len, int nfiles)
{
    for (int f = 0; f < nfiles; f++) {
        cdc_decoder *d;
        char err[256];
        if (cdc_decoder_new(&d, NULL, err, sizeof err)) return 1;
        cdc_decoder_set_change_cb(d, on_change, b);
        if (cdc_decoder_feed(d, data[f], len[f]) < 0 || cdc_decoder_finish(d) != CDC_OK) {
            fprintf(stderr, "bench_debezium: %s\n", cdc_decoder_errmsg(d));
            cdc_decoder_free(d);
            return 1;
        }
        cdc_decoder_free(d);
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint8_t *data[64];
    size_t len[64];
    int nfiles = 0;
    const char *opts[32];
    int nopts = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc && nopts < 32) { opts[nopts++] = argv[++i]; continue; }
        if (nfiles == 64) break;
        FILE *f = fopen(argv[i], "rb");
        if (!f) { perror(argv[i]); return 1; }
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        data[nfiles] = malloc((size_t)n);
        if (!data[nfiles] || fread(data[nfiles], 1, (size_t)n, f) != (size_t)n) return 1;
        len[nfiles++] = (size_t)n;
        fclose(f);
    }
    if (!nfiles) {
        fprintf(stderr, "usage: bench_debezium FILE... [-o KEY=VALUE]...\n");
        return 2;
    }
    static const char *const names[] = {"decode only", "JSON line (cdc_change_render_json)",
                                         "Debezium, schemas.enable=false", "Debezium, schemas.enable=true"};
    double base = 0;
    for (int m = 0; m < 4; m++) {
        bench b = {m < 3 ? m : 2, NULL, 0, 0, NULL, 0};
        char err[256];
        if (m >= 2) {
            if (cdc_debezium_new(&b.dz, NULL, err, sizeof err) ||
                cdc_debezium_set(b.dz, "topic.prefix", "bench", err, sizeof err) ||
                cdc_debezium_set(b.dz, "schemas.enable", m == 3 ? "true" : "false", err, sizeof err)) {
                fprintf(stderr, "bench_debezium: %s\n", err);
                return 1;
            }
            for (int k = 0; k < nopts; k++) {
                char key[128];
                const char *eq = strchr(opts[k], '=');
                if (!eq) return 2;
                snprintf(key, sizeof key, "%.*s", (int)(eq - opts[k]), opts[k]);
                if (cdc_debezium_set(b.dz, key, eq + 1, err, sizeof err)) {
                    fprintf(stderr, "bench_debezium: %s\n", err);
                    return 1;
                }
            }
        }
        double best = 1e9;
        for (int rep = 0; rep < 3; rep++) {
            b.rows = b.bytes = 0;
            double t0 = now();
            if (run(&b, data, len, nfiles)) return 1;
            double t = now() - t0;
            if (t < best) best = t;
        }
        if (m == 0) base = best;
        printf("%-36s %9.0f rows/s  %6.2f us/row (%+.2f over decoding)  %8.0f bytes/row\n", names[m],
               b.rows / best, best * 1e6 / b.rows, (best - base) * 1e6 / b.rows,
               b.rows ? (double)b.bytes / b.rows : 0.0);
        cdc_debezium_free(b.dz);
        free(b.buf);
    }
    for (int f = 0; f < nfiles; f++) free(data[f]);
    return 0;
}
