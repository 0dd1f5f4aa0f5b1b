/*
 * test_lazy.c: lazy row images (rows.c cdc__rows_image_lazy, decoder.c).
 * Every binlog under $CDC_FIXTURES (140 files, 8,414 rows: both servers,
 * every column type, NULLs, MINIMAL images, partial JSON, compressed
 * events, corrupt files) is decoded through the public API:
 *   eager: every row image decoded whole (CDC__LAZY_NEVER), every value
 *          read in column order;
 *   lazy:  every row image read lazily (CDC__LAZY_ALWAYS), values
 *          read in reverse column order, and the states of the present
 *          arrays checked: a value not yet asked for is still pending;
 *   json:  cdc_change_json of each change, with no value asked for
 *          before, of eager and of lazy images.
 * The values' text (cdc_value_render), kinds, the JSON lines and the
 * decoder's error message must be the same; and values must really have
 * been left pending. Then the adaptive choice on the benchmark's binlog
 * (tests/bench/data): a reader of every value gets one lazy row in 64,
 * a reader of one column only lazy rows.
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cdc/cdc.h>

#include "decoder.h"
#include "rows.h"
#include "util.h"

enum { EAGER, LAZY, JSON_EAGER, JSON_LAZY, ADAPTIVE_ALL, ADAPTIVE_ONE };

typedef struct run {
    int mode;
    cdc__buf out;       /* what was read */
    long pending_seen;  /* values found pending before they were asked for */
    long values, rows, lazy_rows;
} run;

static void put_value(cdc__buf *o, size_t i, const cdc_value *v)
{
    char buf[512];
    size_t need = 0;
    int rc = cdc_value_render(v, buf, sizeof buf, &need);
    cdc__buf_printf(o, " %zu:%d:", i, (int)cdc_value_kind(v));
    if (rc == CDC_OK) cdc__buf_append(o, buf, need < sizeof buf ? need : sizeof buf - 1);
    else cdc__buf_printf(o, "<%d %zu>", rc, need);
}

/* Reads every value of an image (in reverse order when lazy) and writes
 * their text in column order. */
static void read_image(run *r, const cdc_change *c, bool after)
{
    const uint8_t *present = after ? c->pa : c->pb;
    size_t n = cdc_table_column_count(cdc_change_table(c));
    if (n > c->ncols) n = c->ncols;
    cdc__buf *col = calloc(n ? n : 1, sizeof *col);
    assert_non_null(col);
    for (size_t k = 0; k < n; k++) {
        size_t i = r->mode == LAZY ? n - 1 - k : k;
        cdc__buf_init(&col[i], NULL);
        if (present && r->mode == LAZY) {
            /* columns before i were not asked for yet */
            for (size_t j = 0; j < i; j++)
                if (present[j] == CDC__PRESENT_PENDING) r->pending_seen++;
        }
        const cdc_value *v = after ? cdc_change_after(c, i) : cdc_change_before(c, i);
        if (!v) {
            cdc__buf_printf(&col[i], " %zu:-", i);
            continue;
        }
        assert_int_equal(present[i], 1); /* made once asked for */
        put_value(&col[i], i, v);
        r->values++;
    }
    for (size_t i = 0; i < n; i++) {
        cdc__buf_append(&r->out, col[i].data, col[i].len);
        cdc__buf_free(&col[i]);
    }
    free(col);
}

static int on_change(const cdc_change *c, void *ud)
{
    run *r = ud;
    r->rows++;
    if (c->lazy) r->lazy_rows++;
    bool force_eager = r->mode == EAGER || r->mode == JSON_EAGER, force_lazy = r->mode == LAZY || r->mode == JSON_LAZY;
    if (force_eager && c->lazy) fail_msg("eager run, lazy row %" PRIu64 " at %" PRIu64, cdc_change_row(c), cdc_change_offset(c));
    if (force_lazy && !c->lazy) fail_msg("lazy run, eager row %" PRIu64 " at %" PRIu64, cdc_change_row(c), cdc_change_offset(c));
    cdc__buf_printf(&r->out, "\n%c", cdc_change_op(c));
    if (r->mode == ADAPTIVE_ONE) {
        if (cdc_change_after(c, 0)) put_value(&r->out, 0, cdc_change_after(c, 0));
    } else if (r->mode == JSON_EAGER || r->mode == JSON_LAZY) {
        size_t need = 0;
        cdc_change_json(c, NULL, 0, &need);
        char *line = malloc(need + 1);
        assert_non_null(line);
        assert_int_equal(cdc_change_json(c, line, need + 1, &need), CDC_OK);
        cdc__buf_append(&r->out, line, need);
        free(line);
    } else {
        read_image(r, c, false);
        cdc__buf_putc(&r->out, '|');
        read_image(r, c, true);
    }
    return 0;
}

/* Decodes the file; the decoder's error message goes into r->out. */
static void decode(const uint8_t *p, size_t n, run *r)
{
    cdc_decoder *d;
    char err[256];
    assert_int_equal(cdc_decoder_new(&d, NULL, err, sizeof err), CDC_OK);
    cdc_decoder_set_position(d, "f", 0);
    if (r->mode == EAGER || r->mode == JSON_EAGER) cdc__decoder_set_lazy(d, CDC__LAZY_NEVER);
    if (r->mode == LAZY || r->mode == JSON_LAZY) cdc__decoder_set_lazy(d, CDC__LAZY_ALWAYS);
    cdc_decoder_set_change_cb(d, on_change, r);
    int rc = cdc_decoder_feed(d, p, n) < 0 ? cdc_decoder_error(d) : cdc_decoder_finish(d);
    cdc__buf_printf(&r->out, "\nend %d %s\n", rc, rc ? cdc_decoder_errmsg(d) : "");
    cdc_decoder_free(d);
}

static long files, total_rows, total_pending;

static void same(const char *path, const char *what, const run *a, const run *b)
{
    if (a->out.len == b->out.len && memcmp(a->out.data, b->out.data, a->out.len) == 0) return;
    size_t i = 0;
    while (i < a->out.len && i < b->out.len && a->out.data[i] == b->out.data[i]) i++;
    size_t from = i > 300 ? i - 300 : 0;
    fail_msg("%s: %s differ at byte %zu:\n--- eager\n%.*s\n--- lazy\n%.*s", path, what, i,
             (int)((a->out.len - from) > 600 ? 600 : a->out.len - from), (const char *)a->out.data + from,
             (int)((b->out.len - from) > 600 ? 600 : b->out.len - from), (const char *)b->out.data + from);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int one_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag != FTW_F) return 0;
    size_t n = 0;
    uint8_t *p = slurp(path, &n);
    if (!p) fail_msg("cannot read %s", path);
    if (n < 4 || memcmp(p, "\xfe" "bin", 4) != 0) {
        free(p);
        return 0;
    }
    run e = {.mode = EAGER}, l = {.mode = LAZY}, je = {.mode = JSON_EAGER}, jl = {.mode = JSON_LAZY};
    run *all[] = {&e, &l, &je, &jl};
    for (int k = 0; k < 4; k++) {
        cdc__buf_init(&all[k]->out, NULL);
        decode(p, n, all[k]);
    }
    same(path, "values", &e, &l);
    same(path, "JSON lines", &je, &jl);
    assert_int_equal(e.rows, l.rows);
    files++;
    total_rows += e.rows;
    total_pending += l.pending_seen;
    for (int k = 0; k < 4; k++) cdc__buf_free(&all[k]->out);
    free(p);
    return 0;
}

static void test_lazy_equals_eager(void **state)
{
    (void)state;
    const char *root = getenv("CDC_FIXTURES");
    if (!root) fail_msg("CDC_FIXTURES is not set (run through meson test)");
    assert_int_equal(nftw(root, one_file, 16, FTW_PHYS), 0);
    printf("lazy: %ld binlogs, %ld rows, %ld values seen pending\n", files, total_rows, total_pending);
    assert_true(files >= 100);
    assert_true(total_rows >= 8000);
    assert_true(total_pending >= 10000); /* lazily read values really waited */
}

/* The benchmark's binlog (2,751 rows of one table, MariaDB 10.11). */
static uint8_t *bench_binlog(size_t *len)
{
    const char *root = getenv("CDC_SOURCE_ROOT");
    if (!root) fail_msg("CDC_SOURCE_ROOT is not set (run through meson test)");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/bench/data/mixed-mariadb-10.11.binlog.gz", root);
    gzFile g = gzopen(path, "rb");
    if (!g) fail_msg("cannot open %s", path);
    size_t cap = 1 << 20, n = 0;
    uint8_t *p = malloc(cap);
    int got;
    while (p && (got = gzread(g, p + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)got;
        if (n == cap) p = realloc(p, cap *= 2);
    }
    gzclose(g);
    assert_non_null(p);
    *len = n;
    return p;
}

static void test_adaptive(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *p = bench_binlog(&n);
    run a = {.mode = ADAPTIVE_ALL}, o = {.mode = ADAPTIVE_ONE};
    cdc__buf_init(&a.out, NULL);
    cdc__buf_init(&o.out, NULL);
    decode(p, n, &a);
    decode(p, n, &o);
    printf("adaptive: %ld rows; reading every value %ld lazy, reading one column %ld lazy\n", a.rows, a.lazy_rows,
           o.lazy_rows);
    assert_true(a.rows > 2000);
    /* one row in 64, and the first of each table */
    assert_true(a.lazy_rows <= a.rows / 64 + 8);
    assert_true(a.lazy_rows >= a.rows / 64);
    assert_int_equal(o.lazy_rows, o.rows);
    cdc__buf_free(&a.out);
    cdc__buf_free(&o.out);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lazy_equals_eager),
        cmocka_unit_test(test_adaptive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
