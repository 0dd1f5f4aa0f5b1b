/*
 * test_tablemap.c: TABLE_MAP events into column descriptions (tablemap.c),
 * through the decoder's table callback: go-mysql's captured TABLE_MAP
 * bodies with the facts upstream asserts, ENUM/SET widths, corrupt
 * metadata, and names supplied for a MINIMAL-metadata table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cdc/cdc.h>

#include "decoder.h"
#include "render.h"
#include "rows.h"
#include "tablemap.h"
#include "util.h"
#include "value.h"

#include "binlogtest.h"
#include "testalloc.h"

/* ---- go-mysql captured TABLE_MAP bodies -------------------------------- */

/* Columns seen with a collation, and those of them marked as text that
 * renders as UTF-8 (CDC_COLF_UTF8_TEXT, which output.c trusts instead of
 * looking the collation up per value). */
static int utf8_cols, other_cols;

static int keep_table(const cdc_table *t, void *ud)
{
    cdc__buf *b = ud;
    cdc__buf_printf(b, "%s.%s", cdc_table_db(t), cdc_table_name(t));
    for (size_t i = 0; i < cdc_table_column_count(t); i++) {
        const cdc_column *c = cdc_table_column(t, i);
        bool utf8 = cdc__charset_renders_as_utf8(c->charset);
        assert_int_equal((c->flags & CDC_COLF_UTF8_TEXT) != 0, utf8);
        if (c->charset) utf8 ? utf8_cols++ : other_cols++;
        const char *nm = cdc_table_column_name(t, i);
        cdc__buf_printf(b, " %s:%d%s%s", nm ? nm : "?", cdc_table_column_type(t, i),
                        cdc_table_column_is_pk(t, i) ? ":pk" : "",
                        (c->flags & CDC_COLF_INVISIBLE) ? ":invisible" : "");
        if (c->type == CDC_T_GEOMETRY) cdc__buf_printf(b, ":g%u", c->geometry_type);
    }
    return 0;
}

static const char *table_map_of(const char *rel, cdc__buf *b)
{
    size_t n;
    uint8_t *body = read_file(fixture(rel), &n);
    assert_non_null(body);
    uint8_t *ev = malloc(512 + n);
    size_t m = 0;
    static const char *maria[] = {"Names_03", "Names_04", "PrimaryKey_03", "PrimaryKey_04",
                                  "PrimaryKey_07", "PrimaryKey_08", "HelperMaps_02",
                                  "HelperMaps_04", "Nullable_03", "Nullable_04", "Visibility_04"};
    bool is_maria = false;
    for (size_t i = 0; i < sizeof maria / sizeof maria[0]; i++)
        if (strstr(rel, maria[i])) is_maria = true;
    if (is_maria) {
        /* the MariaDB captures: announce a MariaDB server first, as a real
         * binlog would (MariaDB counts GEOMETRY among character columns) */
        uint8_t fde[57 + 40 + 5];
        memset(fde, 0, sizeof fde);
        cdc__put_le16(fde, 4);
        memcpy(fde + 2, "10.5.15-MariaDB-log", 19);
        fde[56] = 19;
        m = put_event(ev, CDC_EV_FORMAT_DESCRIPTION, fde, sizeof fde);
    }
    m += put_event(ev + m, CDC_EV_TABLE_MAP, body, n);
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    assert_int_equal(cdc_decoder_set_mode(d, CDC_DECODER_EVENTS), CDC_OK);
    cdc_decoder_set_table_cb(d, keep_table, b);
    cdc__buf_reset(b);
    ptrdiff_t r = cdc_decoder_feed(d, ev, m);
    if (r < 0) print_error("%s: %s\n", rel, cdc_decoder_errmsg(d));
    assert_int_equal(r, (ptrdiff_t)m);
    cdc_decoder_free(d);
    free(ev);
    free(body);
    cdc__buf_terminate(b);
    return (const char *)b->data;
}

static void test_captured_table_maps(void **state)
{
    (void)state;
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    /* SIMPLE_PRIMARY_KEY (MySQL 8.0, MariaDB 10.5): primary key (id1, id2) */
    assert_string_equal(table_map_of("go-mysql/captured/TestTableMapOptMetaPrimaryKey_02.bin", &b),
                        "test._prim id2:3:pk col:15 id1:8:pk");
    assert_string_equal(table_map_of("go-mysql/captured/TestTableMapOptMetaPrimaryKey_04.bin", &b),
                        "test._prim id2:3:pk col:15 id1:8:pk");
    /* PRIMARY_KEY_WITH_PREFIX: (id1, id2(10)) */
    assert_string_equal(table_map_of("go-mysql/captured/TestTableMapOptMetaPrimaryKey_06.bin", &b),
                        "test._prim2 col1:3 id1:254:pk col2:3 id2:15:pk");
    /* 5.7 writes no optional metadata: no names, no key */
    assert_string_equal(table_map_of("go-mysql/captured/TestTableMapOptMetaPrimaryKey_01.bin", &b),
                        "test._prim ?:3 ?:15 ?:8");
    /* every other captured TABLE_MAP decodes (names, charsets, enum/set labels, geometry) */
    static const char *others[] = {
        "TestTableMapOptMetaNames_01.bin", "TestTableMapOptMetaNames_02.bin",
        "TestTableMapOptMetaNames_03.bin", "TestTableMapOptMetaNames_04.bin",
        "TestTableMapHelperMaps_01.bin", "TestTableMapHelperMaps_02.bin",
        "TestTableMapHelperMaps_03.bin", "TestTableMapHelperMaps_04.bin",
        "TestTableMapOptMetaVisibility_01.bin", "TestTableMapOptMetaVisibility_03.bin",
        "TestTableMapNullable_02.bin", "TestTableMapNullable_04.bin",
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "go-mysql/captured/%s", others[i]);
        print_message("%s: %s\n", others[i], table_map_of(rel, &b));
    }
    /* both kinds came up, each marked as its collation renders */
    print_message("%d columns of UTF-8 collations, %d of others\n", utf8_cols, other_cols);
    assert_true(utf8_cols > 0 && other_cols > 0);
    cdc__buf_free(&b);
}

/* go-mysql TestEnum / TestMultiBytesEnum / TestSet: TABLE_MAP bodies (split in
 * two captures) and WRITE_ROWS v2 bodies, with the values upstream asserts. */
typedef struct enum_rows { uint64_t v[4]; int kind[4]; int n; } enum_rows;
static int enum_row(const cdc_change *c, void *ud)
{
    enum_rows *x = ud;
    const cdc_value *v = cdc_change_after(c, 1);
    if (x->n < 4 && v) { x->v[x->n] = v->v.u; x->kind[x->n] = v->kind; x->n++; }
    return 0;
}

static void run_pair(const char *prefix, enum_rows *x)
{
    char rel[128];
    uint8_t body[512], ev[1024];
    size_t bl = 0, n;
    for (int part = 1; part <= 2; part++) {
        snprintf(rel, sizeof rel, "go-mysql/captured/%s_0%d.bin", prefix, part);
        uint8_t *p = read_file(fixture(rel), &n);
        assert_non_null(p);
        memcpy(body + bl, p, n);
        bl += n;
        free(p);
    }
    size_t m = put_event(ev, CDC_EV_TABLE_MAP, body, bl);
    snprintf(rel, sizeof rel, "go-mysql/captured/%s_03.bin", prefix);
    uint8_t *rows = read_file(fixture(rel), &n);
    assert_non_null(rows);
    m += put_event(ev + m, CDC_EV_WRITE_ROWS, rows, n);
    free(rows);
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    assert_int_equal(cdc_decoder_set_mode(d, CDC_DECODER_EVENTS), CDC_OK);
    cdc_decoder_set_change_cb(d, enum_row, x);
    ptrdiff_t r = cdc_decoder_feed(d, ev, m);
    if (r < 0) print_error("%s: %s\n", prefix, cdc_decoder_errmsg(d));
    assert_int_equal(r, (ptrdiff_t)m);
    cdc_decoder_free(d);
}

static void test_captured_enum_set(void **state)
{
    (void)state;
    enum_rows x = {0};
    run_pair("TestEnum", &x);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.kind[0], CDC_K_ENUM);
    assert_int_equal(x.v[0], 1);
    memset(&x, 0, sizeof x);
    run_pair("TestMultiBytesEnum", &x); /* 2-byte ENUM index */
    assert_int_equal(x.n, 2);
    assert_int_equal(x.v[0], 1);
    assert_int_equal(x.v[1], 257);
    memset(&x, 0, sizeof x);
    run_pair("TestSet", &x);            /* 3-byte SET of 18 members: '1,3' */
    assert_int_equal(x.n, 1);
    assert_int_equal(x.kind[0], CDC_K_SET);
    assert_int_equal(x.v[0], 5);
}

static void test_corrupt_table_map(void **state)
{
    (void)state;
    /* id, flags, "db", "t", 2 columns LONG VARCHAR, metadata length 5 (needs 2) */
    static const uint8_t tm[] = {1, 0, 0, 0, 0, 0, 0, 0, 2, 'd', 'b', 0, 1, 't', 0, 2, 3, 15,
                                 5, 0xff, 0, 0x03};
    uint8_t ev[128];
    size_t n = put_event(ev, CDC_EV_TABLE_MAP, tm, sizeof tm);
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    assert_int_equal(cdc_decoder_set_mode(d, CDC_DECODER_EVENTS), CDC_OK);
    assert_true(cdc_decoder_feed(d, ev, n) < 0);
    assert_int_equal(cdc_decoder_error(d), CDC_ERR_CORRUPT);
    assert_non_null(strstr(cdc_decoder_errmsg(d), "TABLE_MAP"));
    cdc_decoder_free(d);

    /* a row image with no present columns takes no bytes: rows data left
     * over must be an error, not an endless loop (a fuzzer find) */
    static const uint8_t tm1[] = {3, 0, 0, 0, 0, 0, 0, 0, 2, 'd', 'b', 0, 1, 't', 0, 1, 3, 0, 0};
    static const uint8_t rows0[] = {3, 0, 0, 0, 0, 0, 1, 0, 2, 0, 1, 0x00, 0xaa, 0xbb};
    n = put_event(ev, CDC_EV_TABLE_MAP, tm1, sizeof tm1);
    n += put_event(ev + n, CDC_EV_WRITE_ROWS, rows0, sizeof rows0);
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    assert_int_equal(cdc_decoder_set_mode(d, CDC_DECODER_EVENTS), CDC_OK);
    assert_true(cdc_decoder_feed(d, ev, n) < 0);
    assert_int_equal(cdc_decoder_error(d), CDC_ERR_CORRUPT);
    assert_non_null(strstr(cdc_decoder_errmsg(d), "a row takes none"));
    cdc_decoder_free(d);

    /* a rows event for a table that was never mapped */
    static const uint8_t rows[] = {9, 0, 0, 0, 0, 0, 1, 0, 2, 0, 1, 0xff, 0xfc, 1, 0, 0, 0};
    n = put_event(ev, CDC_EV_WRITE_ROWS, rows, sizeof rows);
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    assert_int_equal(cdc_decoder_set_mode(d, CDC_DECODER_EVENTS), CDC_OK);
    assert_true(cdc_decoder_feed(d, ev, n) < 0);
    assert_int_equal(cdc_decoder_error(d), CDC_ERR_SCHEMA);
    cdc_decoder_free(d);
}

/* binlog_row_metadata=MINIMAL: a TABLE_MAP without names gets the names
 * the decoder's hook supplies (decoder.h), borrowed, before the table
 * callback; a hook that pauses makes the feed return and the next feed
 * ask again. */
typedef struct hookst { int calls; bool pause_first; } hookst;
static const char *const two_names[] = {"id", "label"};
static int names_hook(struct cdc_table *t, void *ud)
{
    hookst *h = ud;
    h->calls++;
    assert_string_equal(t->db, "db");
    assert_string_equal(t->name, "t");
    assert_int_equal(t->ncols, 2);
    if (h->pause_first && h->calls == 1) return CDC_ERR_PAUSED;
    cdc__table_borrow_names(t, two_names);
    return CDC_OK;
}

static int names_seen(const cdc_table *t, void *ud)
{
    cdc__buf *b = ud;
    for (size_t i = 0; i < cdc_table_column_count(t); i++) {
        const char *n = cdc_table_column_name(t, i);
        cdc__buf_printf(b, "%s%s", i ? "," : "", n ? n : "?");
        assert_int_equal(cdc_table_column(t, i)->name.len, n ? strlen(n) : 0);
    }
    return 0;
}

static void test_names_hook(void **state)
{
    (void)state;
    /* id, flags, "db", "t", 2 columns LONG + VARCHAR(20), metadata, null bitmap */
    static const uint8_t tm[] = {1, 0, 0, 0, 0, 0, 0, 0, 2, 'd', 'b', 0, 1, 't', 0, 2, 3, 15, 2, 20, 0, 0x03};
    uint8_t ev[128];
    size_t n = put_event(ev, CDC_EV_TABLE_MAP, tm, sizeof tm);
    for (int pause = 0; pause < 2; pause++) {
        hookst h = {0, pause == 1};
        cdc__buf b;
        cdc__buf_init(&b, NULL);
        cdc_decoder *d;
        assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
        assert_int_equal(cdc_decoder_set_mode(d, CDC_DECODER_EVENTS), CDC_OK);
        cdc_decoder_set_table_cb(d, names_seen, &b);
        cdc__decoder_set_names_hook(d, names_hook, &h);
        assert_int_equal(cdc_decoder_feed(d, ev, n), (ptrdiff_t)n);
        if (pause) {
            /* the event is consumed, its table callback waits */
            assert_int_equal(h.calls, 1);
            assert_int_equal(b.len, 0);
            assert_int_equal(cdc_decoder_feed(d, ev + n, 0), 0);
        }
        assert_int_equal(h.calls, pause + 1);
        cdc__buf_terminate(&b);
        assert_string_equal((const char *)b.data, "id,label");
        cdc_decoder_free(d);
        cdc__buf_free(&b);
    }
    /* without a hook the names stay unknown */
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    assert_int_equal(cdc_decoder_set_mode(d, CDC_DECODER_EVENTS), CDC_OK);
    cdc_decoder_set_table_cb(d, names_seen, &b);
    assert_int_equal(cdc_decoder_feed(d, ev, n), (ptrdiff_t)n);
    cdc__buf_terminate(&b);
    assert_string_equal((const char *)b.data, "?,?");
    cdc_decoder_free(d);
    cdc__buf_free(&b);
}

/* The JSON line's keys follow the names a hook lends (output.c skips its
 * per-column key check while the keys made at the TABLE_MAP are valid,
 * tablemap.h's jkeys_short, which lending names clears): "@1"/"@2"
 * without names, "id"/"label" with the hook's. */
static int json_of_change(const cdc_change *c, void *ud)
{
    char *buf = ud;
    size_t need = 0;
    assert_int_equal(cdc_change_json(c, buf, 512, &need), CDC_OK);
    return 0;
}

static void test_names_hook_keys(void **state)
{
    (void)state;
    static const uint8_t tm[] = {1, 0, 0, 0, 0, 0, 0, 0, 2, 'd', 'b', 0, 1, 't', 0, 2, 3, 15, 2, 20, 0, 0x03};
    /* table 1, STMT_END, no extra data, 2 columns, both present, no NULLs: 7, "abc" */
    static const uint8_t rows[] = {1, 0, 0, 0, 0, 0, 1, 0, 2, 0, 2, 0x03, 0xfc, 7, 0, 0, 0, 3, 'a', 'b', 'c'};
    uint8_t ev[256];
    size_t n = put_event(ev, CDC_EV_TABLE_MAP, tm, sizeof tm);
    n += put_event(ev + n, CDC_EV_WRITE_ROWS, rows, sizeof rows);
    for (int hook = 0; hook < 2; hook++) {
        char line[512] = "";
        hookst h = {0, false};
        cdc_decoder *d;
        assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
        assert_int_equal(cdc_decoder_set_mode(d, CDC_DECODER_EVENTS), CDC_OK);
        cdc_decoder_set_change_cb(d, json_of_change, line);
        if (hook) cdc__decoder_set_names_hook(d, names_hook, &h);
        ptrdiff_t fed = cdc_decoder_feed(d, ev, n);
        if (fed != (ptrdiff_t)n) printf("feed: %s\n", cdc_decoder_errmsg(d));
        assert_int_equal(fed, (ptrdiff_t)n);
        assert_non_null(strstr(line, hook ? "\"after\":{\"id\":7,\"label\":" : "\"after\":{\"@1\":7,\"@2\":"));
        cdc_decoder_free(d);
    }
}

/* MariaDB JSON columns (LONGTEXT in the map): the hook marks them, and a
 * mark changed after the row plan was made drops the plan, so the next
 * row image reads documents (or text again). */
static int json_hook(struct cdc_table *t, void *ud)
{
    int *calls = ud;
    (*calls)++;
    for (size_t i = 0; i < t->ncols; i++)
        if (cdc__column_maybe_json(&t->cols[i])) cdc__table_set_json_text(t, i, true);
    return CDC_OK;
}

static int json_seen(const cdc_table *t, void *ud)
{
    cdc__buf *b = ud;
    for (size_t i = 0; i < cdc_table_column_count(t); i++)
        cdc__buf_printf(b, "%s%d", i ? "," : "", (cdc_table_column(t, i)->flags & CDC_COLF_JSON_TEXT) != 0);
    return 0;
}

static void test_json_text_columns(void **state)
{
    (void)state;
    /* id, flags, "db", "t", 4 columns: LONG, BLOB (4 length bytes:
     * LONGTEXT/LONGBLOB), BLOB (2: TEXT), VARCHAR(20); metadata; nulls */
    static const uint8_t tm[] = {1, 0, 0, 0, 0, 0, 0, 0, 2, 'd', 'b', 0, 1, 't', 0, 4, 3, 252, 252, 15,
                                 4, 4, 2, 20, 0, 0x0e};
    uint8_t ev[128];
    size_t n = put_event(ev, CDC_EV_TABLE_MAP, tm, sizeof tm);
    int calls = 0;
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    assert_int_equal(cdc_decoder_set_mode(d, CDC_DECODER_EVENTS), CDC_OK);
    cdc_decoder_set_table_cb(d, json_seen, &b);
    cdc__decoder_set_names_hook(d, json_hook, &calls);
    assert_int_equal(cdc_decoder_feed(d, ev, n), (ptrdiff_t)n);
    assert_int_equal(calls, 1);
    cdc__buf_terminate(&b);
    /* only the 4-byte-length BLOB can be LONGTEXT */
    assert_string_equal((const char *)b.data, "0,1,0,0");
    cdc_decoder_free(d);
    cdc__buf_free(&b);

    /* a changed mark drops the plan; an unchanged one keeps it */
    cdc__fde f;
    cdc__fde_init_v4(&f);
    struct cdc_table *t;
    cdc__err err;
    cdc__err_clear(&err);
    assert_int_equal(cdc__table_parse(&f, tm, sizeof tm, &test_alloc, &t, &err), CDC_OK);
    assert_true(cdc__column_maybe_json(&t->cols[1]));
    assert_false(cdc__column_maybe_json(&t->cols[0]));
    assert_int_equal(cdc__rows_prepare(t), CDC_OK);
    assert_int_equal(t->plan[1].kind, CDC_K_STRING);
    cdc__table_set_json_text(t, 1, false);
    assert_non_null(t->plan);
    cdc__table_set_json_text(t, 1, true);
    assert_null(t->plan);
    assert_int_equal(cdc__rows_prepare(t), CDC_OK);
    assert_int_equal(t->plan[1].kind, CDC_K_JSON);
    assert_int_equal(t->plan[1].vflags, CDC_VF_TEXT);
    cdc__table_set_json_text(t, 1, false);
    assert_null(t->plan);
    assert_int_equal(t->cols[1].flags & CDC_COLF_JSON_TEXT, 0);
    cdc__table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_captured_table_maps),
        cmocka_unit_test(test_captured_enum_set),
        cmocka_unit_test(test_corrupt_table_map),
        cmocka_unit_test(test_names_hook),
        cmocka_unit_test(test_names_hook_keys),
        cmocka_unit_test(test_json_text_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
