/*
 * test_batch.c: decoder batches over every fixture binlog equal the
 * concatenation of the changes rendered one by one through a plain
 * decoder (cdc_change_render_json), for several limits and feed sizes,
 * errors included; the single-change renderer's size protocol; misuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cdc/cdc.h>

#include "output.h"
#include "util.h"

#include "testalloc.h"


static const char *fixtures_root(void)
{
    const char *root = getenv("CDC_FIXTURES");
    return root ? root : "tests/fixtures";
}

/* ---- the reference: one change at a time ------------------------------ */

typedef struct ref {
    cdc__buf out;
    size_t changes;
} ref;

static int ref_change(const cdc_change *c, void *ud)
{
    ref *r = ud;
    size_t need = 0;
    /* Size first, then render: the documented two-step protocol. */
    assert_int_equal(cdc_change_render_json(c, NULL, 0, &need), CDC_ERR_TOO_LARGE);
    assert_true(need > 2);
    assert_int_equal(cdc__buf_reserve(&r->out, need), CDC_OK);
    size_t need2 = 0;
    int rc = cdc_change_render_json(c, (char *)r->out.data + r->out.len, need, &need2);
    assert_int_equal(rc, CDC_OK);
    assert_int_equal(need2, need);
    assert_int_equal(strlen((char *)r->out.data + r->out.len), need - 1);
    r->out.len += need - 1;
    assert_int_equal(cdc__buf_putc(&r->out, '\n'), CDC_OK);
    r->changes++;
    return 0;
}

/* Decodes a whole file one change per callback; returns the finish (or
 * feed) code. */
static int reference(const uint8_t *p, size_t n, ref *r)
{
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, NULL, NULL, 0), CDC_OK);
    cdc_decoder_set_change_cb(d, ref_change, r);
    ptrdiff_t used = cdc_decoder_feed(d, p, n);
    int rc = used < 0 ? (int)used : cdc_decoder_finish(d);
    cdc_decoder_free(d);
    return rc;
}

/* ---- batches ------------------------------------------------------------- */

typedef struct run {
    cdc__buf out;
    size_t batches, max_batch, lines;
    int rc;
} run;

static void take(run *r, const char *data, size_t len)
{
    if (!len) return;
    /* Whole lines only. */
    assert_int_equal(data[len - 1], '\n');
    assert_int_equal(data[0], '{');
    r->batches++;
    if (len > r->max_batch) r->max_batch = len;
    for (size_t i = 0; i < len; i++) r->lines += data[i] == '\n';
    assert_int_equal(cdc__buf_append(&r->out, data, len), CDC_OK);
}

static void batched(const uint8_t *p, size_t n, size_t limit, size_t chunk, run *r)
{
    cdc_decoder *d;
    cdc_batch *b;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    assert_int_equal(cdc_batch_new(&b, limit, &test_alloc), CDC_OK);
    assert_int_equal(cdc_batch_attach_decoder(b, d), CDC_OK);
    const char *data;
    size_t len, off = 0;
    r->rc = CDC_OK;
    while (off < n) {
        size_t want = n - off < chunk ? n - off : chunk;
        ptrdiff_t used = cdc_batch_feed(b, p + off, want, &data, &len);
        take(r, data, len);
        if (used < 0) {
            r->rc = (int)used;
            assert_string_not_equal(cdc_batch_errmsg(b), "");
            break;
        }
        off += (size_t)used;
        /* A call that consumes nothing must have produced lines: else the
         * loop would spin. */
        if (used == 0) assert_true(len > 0);
    }
    if (r->rc == CDC_OK) {
        r->rc = cdc_batch_finish(b, &data, &len);
        take(r, data, len);
    }
    cdc_batch_free(b);
    cdc_decoder_free(d);
}

static size_t count(const cdc__buf *b, const char *what)
{
    size_t k = 0, wl = strlen(what);
    for (size_t i = 0; i + wl <= b->len; i++) k += !memcmp(b->data + i, what, wl);
    return k;
}

static const char *const some_fixtures[] = {
    "rust_mysql_common/json.binlog.000001",
    "rust_mysql_common/transaction_compression.000001",
    "rust_mysql_common/mariadb-bin.000001",
    "rust_mysql_common/mysql-enum-string-set.000001",
    "mysql-binlog-connector-java/mysql-bin.compressed",
    "mysql-binlog-connector-java/mysql-bin.checksum-crc32",
    "mariadb-server-11.8.6/std_data/mdev6020-mysql-bin.000001",
    "mariadb-server-11.8.6/std_data/mdev35643_mysql_80_binlog.000001",
};

/* Every fixture of the manifest (uncompressed ones), every limit: the
 * same bytes as the reference, and small limits make many batches. */
static void test_fixtures_equal_reference(void **state)
{
    (void)state;
    char path[8192];
    snprintf(path, sizeof path, "%s/MANIFEST.tsv", fixtures_root());
    FILE *m = fopen(path, "r");
    assert_non_null(m);
    char line[2048];
    size_t files = 0, total_changes = 0, failing = 0;
    static const size_t limits[] = {1, 300, 4096, 0};
    static const size_t chunks[] = {SIZE_MAX, 4096, 977};
    while (fgets(line, sizeof line, m)) {
        char *tab = strchr(line, '\t');
        if (!tab || !strncmp(line, "dest\t", 5)) continue;
        *tab = 0;
        size_t nl = strlen(line);
        if (nl > 3 && !strcmp(line + nl - 3, ".gz")) continue;
        snprintf(path, sizeof path, "%s/%s", fixtures_root(), line);
        size_t n;
        uint8_t *p = read_file(path, &n);
        if (!p) continue; /* a directory entry or missing file: counted below */
        ref want = {0};
        cdc__buf_init(&want.out, NULL);
        int want_rc = reference(p, n, &want);
        files++;
        total_changes += want.changes;
        if (want_rc) failing++;
        for (size_t li = 0; li < sizeof limits / sizeof *limits; li++) {
            for (size_t ci = 0; ci < sizeof chunks / sizeof *chunks; ci++) {
                run got = {0};
                cdc__buf_init(&got.out, NULL);
                batched(p, n, limits[li], chunks[ci], &got);
                if (got.rc != want_rc || got.out.len != want.out.len ||
                    (want.out.len && memcmp(got.out.data, want.out.data, want.out.len)))
                    fail_msg("%s limit %zu chunk %zu: rc %d (want %d), %zu bytes (want %zu)", line, limits[li],
                             chunks[ci], got.rc, want_rc, got.out.len, want.out.len);
                assert_int_equal(got.lines, want.changes);
                /* Limit 1: a batch per rows event (a decoder pauses once
                 * the event is delivered whole); row 0 starts each one. */
                if (limits[li] == 1) {
                    assert_true(got.batches >= count(&want.out, "\"row\":0}"));
                    assert_true(got.batches <= want.changes);
                } else if (limits[li] == 0 && chunks[ci] == SIZE_MAX) {
                    assert_true(got.batches <= 1 + want.out.len / CDC_BATCH_DEFAULT_LIMIT + 1);
                }
                cdc__buf_free(&got.out);
            }
        }
        cdc__buf_free(&want.out);
        free(p);
    }
    fclose(m);
    /* The manifest is real: many files, thousands of changes. */
    assert_true(files >= 15);
    assert_true(total_changes >= 1000);
    print_message("%zu fixture files, %zu changes, %zu ending in an error\n", files, total_changes, failing);
}

/* A file cut in the middle: the lines before the cut come out, then
 * CDC_ERR_TRUNCATED from finish; a flipped byte: CDC_ERR_CHECKSUM with
 * the lines before it. */
static void test_errors_keep_lines_before(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fixtures_root(), some_fixtures[0]);
    size_t n;
    uint8_t *p = read_file(path, &n);
    assert_non_null(p);
    ref whole = {0};
    cdc__buf_init(&whole.out, NULL);
    assert_int_equal(reference(p, n, &whole), CDC_OK);
    assert_true(whole.changes > 4);

    for (size_t cut = n / 3; cut < n; cut += n / 3) {
        ref want = {0};
        cdc__buf_init(&want.out, NULL);
        int want_rc = reference(p, cut, &want);
        assert_int_equal(want_rc, CDC_ERR_TRUNCATED);
        run got = {0};
        cdc__buf_init(&got.out, NULL);
        batched(p, cut, 200, 1000, &got);
        assert_int_equal(got.rc, CDC_ERR_TRUNCATED);
        assert_int_equal(got.out.len, want.out.len);
        assert_memory_equal(got.out.data, want.out.data, want.out.len);
        assert_true(want.out.len < whole.out.len);
        assert_memory_equal(got.out.data, whole.out.data, got.out.len);
        cdc__buf_free(&got.out);
        cdc__buf_free(&want.out);
    }

    p[n - 10] ^= 0x55; /* inside the last event: its checksum fails */
    run got = {0};
    cdc__buf_init(&got.out, NULL);
    batched(p, n, 200, 1000, &got);
    assert_int_equal(got.rc, CDC_ERR_CHECKSUM);
    assert_true(got.out.len > 0 && got.out.len <= whole.out.len);
    assert_memory_equal(got.out.data, whole.out.data, got.out.len);
    cdc__buf_free(&got.out);
    cdc__buf_free(&whole.out);
    free(p);
}

static ref *g_cmp;
static int cmp_change(const cdc_change *c, void *ud)
{
    (void)ud;
    /* The public renderer equals the internal one `cdc dump` uses. */
    cdc__buf internal;
    cdc__err err;
    cdc__buf_init(&internal, NULL);
    assert_int_equal(cdc__change_render_json(c, &internal, &err), CDC_OK);
    char small[8];
    size_t need = 0;
    assert_int_equal(cdc_change_render_json(c, small, sizeof small, &need), CDC_ERR_TOO_LARGE);
    assert_int_equal(need, internal.len + 1);
    char *exact = malloc(need);
    assert_int_equal(cdc_change_render_json(c, exact, need, NULL), CDC_OK);
    assert_memory_equal(exact, internal.data, internal.len);
    assert_int_equal(exact[internal.len], 0);
    assert_int_equal(cdc_change_render_json(c, exact, need - 1, NULL), CDC_ERR_TOO_LARGE);
    free(exact);
    cdc__buf_free(&internal);
    g_cmp->changes++;
    return 0;
}

static void test_render_one_change(void **state)
{
    (void)state;
    assert_int_equal(cdc_change_render_json(NULL, NULL, 0, NULL), CDC_ERR_INVALID);
    for (size_t i = 0; i < sizeof some_fixtures / sizeof *some_fixtures; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", fixtures_root(), some_fixtures[i]);
        size_t n;
        uint8_t *p = read_file(path, &n);
        assert_non_null(p);
        ref r = {0};
        g_cmp = &r;
        cdc_decoder *d;
        assert_int_equal(cdc_decoder_new(&d, NULL, NULL, 0), CDC_OK);
        cdc_decoder_set_change_cb(d, cmp_change, NULL);
        assert_int_equal(cdc_decoder_feed(d, p, n), (ptrdiff_t)n);
        assert_int_equal(cdc_decoder_finish(d), CDC_OK);
        assert_true(r.changes > 0);
        cdc_decoder_free(d);
        free(p);
    }
}

/* The batch's allocator fails at every point in turn: each run ends in
 * CDC_ERR_NOMEM with the batch's message (or succeeds once nothing
 * fails), the lines handed out before are a prefix of the real ones, and
 * nothing leaks (cmocka's allocator checks). */
static int fail_after;
static void *fa_malloc(size_t n, void *ud) { (void)ud; return fail_after-- > 0 ? test_malloc(n) : NULL; }
static void *fa_realloc(void *p, size_t n, void *ud) { (void)ud; return fail_after-- > 0 ? test_realloc(p, n) : NULL; }
static void fa_free(void *p, void *ud) { (void)ud; test_free(p); }
static const cdc_allocator fail_alloc = {fa_malloc, fa_realloc, fa_free, NULL};

static void test_allocation_failure(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fixtures_root(), some_fixtures[0]);
    size_t n;
    uint8_t *p = read_file(path, &n);
    assert_non_null(p);
    ref whole = {0};
    cdc__buf_init(&whole.out, NULL);
    assert_int_equal(reference(p, n, &whole), CDC_OK);
    bool succeeded = false;
    for (int i = 0; !succeeded && i < 10000; i++) {
        fail_after = i;
        cdc_batch *b;
        int rc = cdc_batch_new(&b, 64, &fail_alloc);
        if (rc) {
            assert_int_equal(rc, CDC_ERR_NOMEM);
            assert_null(b);
            continue;
        }
        cdc_decoder *d;
        assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
        assert_int_equal(cdc_batch_attach_decoder(b, d), CDC_OK);
        cdc__buf got;
        cdc__buf_init(&got, NULL);
        const char *data;
        size_t len, off = 0;
        ptrdiff_t used = 0;
        while (off < n && (used = cdc_batch_feed(b, p + off, n - off, &data, &len)) >= 0) {
            cdc__buf_append(&got, data, len);
            off += (size_t)used;
        }
        if (used < 0) {
            cdc__buf_append(&got, data, len);
            assert_int_equal(used, CDC_ERR_NOMEM);
            assert_non_null(strstr(cdc_batch_errmsg(b), "out of memory"));
        } else {
            rc = cdc_batch_finish(b, &data, &len);
            cdc__buf_append(&got, data, len);
            assert_int_equal(rc, CDC_OK);
            assert_int_equal(got.len, whole.out.len);
            succeeded = true;
        }
        assert_true(got.len <= whole.out.len);
        if (got.len) assert_memory_equal(got.data, whole.out.data, got.len);
        cdc__buf_free(&got);
        cdc_decoder_free(d);
        cdc_batch_free(b);
    }
    assert_true(succeeded);
    cdc__buf_free(&whole.out);
    free(p);
}

static void test_misuse(void **state)
{
    (void)state;
    cdc_batch *b;
    const char *data = NULL;
    size_t len = 99;
    assert_int_equal(cdc_batch_new(NULL, 0, NULL), CDC_ERR_INVALID);
    assert_int_equal(cdc_batch_new(&b, 0, &test_alloc), CDC_OK);
    /* Nothing attached: a state error, and an empty result. */
    assert_int_equal(cdc_batch_next(b, &data, &len), CDC_ERR_STATE);
    assert_int_equal(len, 0);
    assert_non_null(data);
    assert_int_equal(cdc_batch_feed(b, (const uint8_t *)"x", 1, &data, &len), CDC_ERR_STATE);
    assert_int_equal(cdc_batch_finish(b, &data, &len), CDC_ERR_STATE);
    assert_int_equal(cdc_batch_next(b, NULL, &len), CDC_ERR_INVALID);
    assert_int_equal(cdc_batch_feed(b, NULL, 3, &data, &len), CDC_ERR_INVALID);
    assert_int_equal(cdc_batch_attach_stream(b, NULL), CDC_ERR_INVALID);
    assert_int_equal(cdc_batch_attach_decoder(NULL, NULL), CDC_ERR_INVALID);
    assert_string_equal(cdc_batch_errmsg(b), "");
    assert_string_equal(cdc_batch_errmsg(NULL), "");
    /* A decoder batch is not a stream batch. */
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    assert_int_equal(cdc_batch_attach_decoder(b, d), CDC_OK);
    assert_int_equal(cdc_batch_next(b, &data, &len), CDC_ERR_STATE);
    /* Not a binlog: the decoder's error and its message. */
    ptrdiff_t used = cdc_batch_feed(b, (const uint8_t *)"not a binlog", 12, &data, &len);
    assert_true(used < 0);
    assert_int_equal(len, 0);
    assert_string_not_equal(cdc_batch_errmsg(b), "");
    cdc_decoder_free(d);
    cdc_batch_free(b);
    cdc_batch_free(NULL);
}

/* A binary batch of the whole file (cdc_batch_set_format) fed at once,
 * through alloc; returns the feed/finish code, the bytes in *out. */
static int binary_batch(const uint8_t *p, size_t n, size_t limit, const cdc_allocator *alloc, cdc__buf *out)
{
    cdc_batch *b;
    int rc = cdc_batch_new(&b, limit, alloc);
    if (rc) return rc;
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    assert_int_equal(cdc_batch_set_format(b, CDC_BATCH_BINARY), CDC_OK);
    assert_int_equal(cdc_batch_attach_decoder(b, d), CDC_OK);
    const char *data;
    size_t len, off = 0;
    ptrdiff_t used = 0;
    while (off < n && (used = cdc_batch_feed(b, p + off, n - off, &data, &len)) >= 0) {
        assert_int_equal(cdc__buf_append(out, data, len), CDC_OK);
        off += (size_t)used;
    }
    if (used < 0) {
        assert_int_equal(cdc__buf_append(out, data, len), CDC_OK);
        rc = (int)used;
    } else {
        rc = cdc_batch_finish(b, &data, &len);
        assert_int_equal(cdc__buf_append(out, data, len), CDC_OK);
    }
    cdc_decoder_free(d);
    cdc_batch_free(b);
    return rc;
}

/* Binary batches: out of memory at every allocation fails cleanly (no
 * crash, no leak, CDC_ERR_NOMEM) and what came before the failure is a
 * prefix of the whole; a change's table record comes before it; the
 * format is refused with Debezium records, and once the batch holds
 * records. (Values are checked against the lines for every fixture by
 * the bindings' tests: TestNativeFile, TestUnitNativeEveryFixture.) */
static void test_binary(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fixtures_root(), some_fixtures[0]);
    size_t n;
    uint8_t *p = read_file(path, &n);
    assert_non_null(p);
    cdc__buf whole;
    cdc__buf_init(&whole, NULL);
    assert_int_equal(binary_batch(p, n, 64, &test_alloc, &whole), CDC_OK);
    assert_true(whole.len > 0);
    assert_int_equal(whole.data[0], 'T'); /* the first change's table first */
    bool succeeded = false;
    for (int i = 0; !succeeded && i < 10000; i++) {
        fail_after = i;
        cdc__buf got;
        cdc__buf_init(&got, NULL);
        int rc = binary_batch(p, n, 64, &fail_alloc, &got);
        if (rc == CDC_OK) {
            succeeded = true;
            assert_int_equal(got.len, whole.len);
        } else {
            assert_int_equal(rc, CDC_ERR_NOMEM);
        }
        assert_true(got.len <= whole.len);
        if (got.len) assert_memory_equal(got.data, whole.data, got.len);
        cdc__buf_free(&got);
    }
    assert_true(succeeded);
    /* the same records whatever the limit, when tables fit their slots */
    cdc__buf big;
    cdc__buf_init(&big, NULL);
    assert_int_equal(binary_batch(p, n, 0, &test_alloc, &big), CDC_OK);
    assert_int_equal(big.len, whole.len);
    assert_memory_equal(big.data, whole.data, whole.len);
    cdc__buf_free(&big);
    cdc__buf_free(&whole);
    free(p);

    cdc_batch *b;
    assert_int_equal(cdc_batch_new(&b, 0, &test_alloc), CDC_OK);
    assert_int_equal(cdc_batch_set_format(b, 7), CDC_ERR_INVALID);
    assert_int_equal(cdc_batch_set_format(NULL, CDC_BATCH_BINARY), CDC_ERR_INVALID);
    cdc_debezium *dz;
    assert_int_equal(cdc_debezium_new(&dz, NULL, NULL, 0), CDC_OK);
    assert_int_equal(cdc_batch_set_debezium(b, dz), CDC_OK);
    assert_int_equal(cdc_batch_set_format(b, CDC_BATCH_BINARY), CDC_ERR_STATE);
    assert_int_equal(cdc_batch_set_debezium(b, NULL), CDC_OK);
    assert_int_equal(cdc_batch_set_format(b, CDC_BATCH_BINARY), CDC_OK);
    assert_int_equal(cdc_batch_set_debezium(b, dz), CDC_ERR_STATE);
    cdc_debezium_free(dz);
    cdc_batch_free(b);
}

/* cdc_batch_set_types: each change line is the plain line with its '}'
 * replaced by "types" naming, per image, the kind of every value whose
 * JSON form does not say it (the kinds read here through cdc/value.h). */
static const char *kind_tag(int k)
{
    switch (k) {
    case CDC_KIND_FLOAT: case CDC_KIND_DOUBLE: return "float";
    case CDC_KIND_DECIMAL: return "decimal";
    case CDC_KIND_DATE: return "date";
    case CDC_KIND_TIME: return "time";
    case CDC_KIND_DATETIME: return "datetime";
    case CDC_KIND_TIMESTAMP: return "timestamp";
    case CDC_KIND_BYTES: return "bytes";
    case CDC_KIND_JSON: return "json";
    default: return NULL;
    }
}

static int typed_ref_change(const cdc_change *c, void *ud)
{
    ref *r = ud;
    size_t need = 0;
    cdc_change_render_json(c, NULL, 0, &need);
    assert_int_equal(cdc__buf_reserve(&r->out, need), CDC_OK);
    assert_int_equal(cdc_change_render_json(c, (char *)r->out.data + r->out.len, need, NULL), CDC_OK);
    r->out.len += need - 2; /* without the '}' */
    const cdc_table *t = cdc_change_table(c);
    cdc__buf_puts(&r->out, ",\"types\":{");
    for (int img = 0; img < 2; img++) {
        cdc__buf_puts(&r->out, img ? ",\"after\":{" : "\"before\":{");
        const char *sep = "";
        for (size_t i = 0; i < cdc_table_column_count(t); i++) {
            const cdc_value *v = img ? cdc_change_after(c, i) : cdc_change_before(c, i);
            const char *tag = v ? kind_tag(cdc_value_kind(v)) : NULL;
            if (!tag) continue;
            const char *name = cdc_table_column_name(t, i);
            if (name) cdc__buf_printf(&r->out, "%s\"%s\":\"%s\"", sep, name, tag);
            else cdc__buf_printf(&r->out, "%s\"@%zu\":\"%s\"", sep, i + 1, tag);
            sep = ",";
        }
        cdc__buf_putc(&r->out, '}');
    }
    cdc__buf_puts(&r->out, "}}\n");
    r->changes++;
    return 0;
}

static void test_types(void **state)
{
    (void)state;
    size_t tagged = 0;
    for (size_t f = 0; f < sizeof some_fixtures / sizeof *some_fixtures; f++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", fixtures_root(), some_fixtures[f]);
        size_t n;
        uint8_t *p = read_file(path, &n);
        ref want = {0};
        cdc__buf_init(&want.out, NULL);
        cdc_decoder *d;
        assert_int_equal(cdc_decoder_new(&d, NULL, NULL, 0), CDC_OK);
        cdc_decoder_set_change_cb(d, typed_ref_change, &want);
        ptrdiff_t used = cdc_decoder_feed(d, p, n);
        int wrc = used < 0 ? (int)used : cdc_decoder_finish(d);
        cdc_decoder_free(d);

        cdc_decoder *d2;
        cdc_batch *b;
        assert_int_equal(cdc_decoder_new(&d2, &test_alloc, NULL, 0), CDC_OK);
        assert_int_equal(cdc_batch_new(&b, 4096, &test_alloc), CDC_OK);
        assert_int_equal(cdc_batch_set_types(b, 1), CDC_OK);
        assert_int_equal(cdc_batch_attach_decoder(b, d2), CDC_OK);
        run got = {0};
        cdc__buf_init(&got.out, NULL);
        const char *data;
        size_t len, off = 0;
        int grc = CDC_OK;
        while (off < n) {
            ptrdiff_t u = cdc_batch_feed(b, p + off, n - off, &data, &len);
            take(&got, data, len);
            if (u < 0) {
                grc = (int)u;
                break;
            }
            off += (size_t)u;
        }
        if (grc == CDC_OK) {
            grc = cdc_batch_finish(b, &data, &len);
            take(&got, data, len);
        }
        cdc_batch_free(b);
        cdc_decoder_free(d2);
        assert_int_equal(grc, wrc);
        assert_int_equal(got.out.len, want.out.len);
        assert_memory_equal(got.out.data, want.out.data, want.out.len);
        tagged += count(&got.out, "\":\"decimal\"") + count(&got.out, "\":\"json\"") +
                  count(&got.out, "\":\"datetime\"") + count(&got.out, "\":\"bytes\"");
        cdc__buf_free(&want.out);
        cdc__buf_free(&got.out);
        free(p);
    }
    assert_true(tagged > 0);
    assert_int_equal(cdc_batch_set_types(NULL, 1), CDC_ERR_INVALID);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_equal_reference),
        cmocka_unit_test(test_errors_keep_lines_before),
        cmocka_unit_test(test_render_one_change),
        cmocka_unit_test(test_allocation_failure),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
