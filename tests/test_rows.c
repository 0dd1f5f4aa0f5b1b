/*
 * test_rows.c: rows events and row images on their own (rows.c), fed the
 * FORMAT_DESCRIPTION, TABLE_MAP and rows events of real binlogs:
 *   binlog-parser/mysql-bin.07 (MariaDB 10.0, WRITE_ROWS_V1, no checksum):
 *     mysqlbinlog says "Write_rows: table id 515 flags: STMT_END_F" at 723
 *     and 819 with @1='ABC' @2='DEF', then @1='RST' @2='XYZ'
 *   rust_mysql_common/mysql-enum-string-set.000001 (MySQL 8, v2 events,
 *     CRC32): insert, update, delete; EXPECTED.md gives ENUM index 1 -> 2
 *     and SET 5 -> 10 ... with a before image 'field1'
 * Every prefix of every rows event body is refused with a message, never
 * read past; hand-made headers check the v2 extra-data and bitmap limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rows.h"
#include "valtest.h"

typedef struct row { char op; cdc_value before[8], after[8]; uint8_t pb[8], pa[8]; uint64_t table_id; uint16_t flags; int type; } row;

/* Decodes every image of one rows event; CDC_OK or the first error. */
static int decode_rows(const cdc__fde *f, const struct cdc_table *t, int type, const uint8_t *body, size_t len,
                       row *out, size_t max, size_t *nrows, cdc__err *err)
{
    cdc__rows_ev ev;
    int rc = cdc__rows_parse(f, type, body, len, &ev, err);
    if (rc) return rc;
    if (ev.ncols != t->ncols || ev.ncols > 8)
        return cdc__err_set(err, CDC_ERR_SCHEMA, "%zu columns, table has %zu", ev.ncols, t->ncols);
    cdc__reader r = cdc__rd(ev.rows.ptr, ev.rows.len);
    cdc__buf jb[8];
    for (int i = 0; i < 8; i++) cdc__buf_init(&jb[i], &vt_alloc);
    *nrows = 0;
    while (rc == CDC_OK && cdc__rd_left(&r) > 0) {
        row *w = *nrows < max ? &out[*nrows] : NULL;
        row scratch;
        if (!w) w = &scratch;
        memset(w, 0, sizeof *w);
        w->op = ev.op;
        w->table_id = ev.table_id;
        w->flags = ev.flags;
        w->type = ev.type;
        cdc__rows_where where;
        if (ev.op == 'u') {
            rc = cdc__rows_image(t, &ev, ev.cols_before, false, &r, w->before, w->pb, NULL, NULL, jb, &where, err);
            if (rc == CDC_OK)
                rc = cdc__rows_image(t, &ev, ev.cols_after, ev.partial, &r, w->after, w->pa, w->before, w->pb, jb,
                                     &where, err);
        } else {
            rc = cdc__rows_image(t, &ev, ev.cols_before, false, &r, ev.op == 'd' ? w->before : w->after,
                                 ev.op == 'd' ? w->pb : w->pa, NULL, NULL, jb, &where, err);
        }
        (*nrows)++;
    }
    for (int i = 0; i < 8; i++) cdc__buf_free(&jb[i]);
    return rc;
}

typedef struct walk { row rows[16]; size_t n; int prefixes_refused; uint8_t *file; } walk; /* values borrow file */

/* Every rows event of the file, decoded whole and at every shorter length. */
static void walk_file(const char *rel, walk *w)
{
    memset(w, 0, sizeof *w);
    size_t n;
    uint8_t *file = vt_fixture(rel, &n);
    cdc__fde f;
    cdc__fde_init_v4(&f);
    struct cdc_table *t = NULL;
    cdc__err err;
    size_t crc = 0;
    for (size_t off = 4; off + 19 <= n;) {
        cdc__evhdr h;
        cdc__event_header(file + off, &h);
        assert_true(h.size >= 19 && off + h.size <= n);
        const uint8_t *body = file + off + 19;
        size_t blen = h.size - 19 - crc;
        cdc__err_clear(&err);
        if (h.type == 15) {
            assert_int_equal(cdc__fde_parse(&f, file + off, h.size, &err), CDC_OK);
            crc = f.checksum_alg == CDC__CHECKSUM_CRC32 ? 4 : 0;
        } else if (h.type == 19) {
            cdc__table_free(t);
            t = NULL;
            if (cdc__table_parse(&f, body, blen, &vt_alloc, &t, &err)) fail_msg("%s: TABLE_MAP: %s", rel, err.msg);
        } else if (cdc__rows_is_rows_event(h.type)) {
            assert_non_null(t);
            size_t got = 0;
            int rc = decode_rows(&f, t, h.type, body, blen, w->rows + w->n, 16 - w->n, &got, &err);
            if (rc) fail_msg("%s at %zu: %s", rel, off, err.msg);
            w->n += got;
            for (size_t k = 0; k < blen; k++) {
                row tmp[4];
                size_t g;
                cdc__err_clear(&err);
                rc = decode_rows(&f, t, h.type, body, k, tmp, 4, &g, &err);
                /* a prefix that ends between two whole rows is a valid event
                 * of fewer rows; any other is an error with a message */
                if (rc) {
                    assert_true(err.msg[0] != 0);
                    w->prefixes_refused++;
                }
            }
        }
        off += h.size;
    }
    cdc__table_free(t);
    w->file = file;
}

static bool str_is(const cdc_value *v, const char *s)
{
    return v->kind == CDC_K_STRING && v->v.b.len == strlen(s) && !memcmp(v->v.b.ptr, s, v->v.b.len);
}

static void test_mariadb_write_rows_v1(void **state)
{
    (void)state;
    walk w;
    walk_file("binlog-parser/mysql-bin.07", &w);
    assert_int_equal(w.n, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(w.rows[i].type, 23); /* WRITE_ROWS_V1 */
        assert_int_equal(w.rows[i].op, 'c');
        assert_int_equal(w.rows[i].table_id, 515);
        assert_int_equal(w.rows[i].flags, CDC__ROWS_STMT_END_F);
        assert_true(w.rows[i].pa[0] && w.rows[i].pa[1]);
        assert_false(w.rows[i].pb[0]);
    }
    assert_true(str_is(&w.rows[0].after[0], "ABC") && str_is(&w.rows[0].after[1], "DEF"));
    assert_true(str_is(&w.rows[1].after[0], "RST") && str_is(&w.rows[1].after[1], "XYZ"));
    assert_true(w.prefixes_refused > 0);
    test_free(w.file);
}

static void test_mysql_update_and_delete(void **state)
{
    (void)state;
    walk w;
    walk_file("rust_mysql_common/mysql-enum-string-set.000001", &w);
    assert_int_equal(w.n, 3);
    assert_int_equal(w.rows[0].type, 30);
    assert_int_equal(w.rows[1].type, 31);
    assert_int_equal(w.rows[2].type, 32);
    assert_int_equal(w.rows[0].op, 'c');
    assert_int_equal(w.rows[1].op, 'u');
    assert_int_equal(w.rows[2].op, 'd');
    /* ENUM index and SET bits through the three images */
    assert_int_equal(w.rows[0].after[2].kind, CDC_K_ENUM);
    assert_int_equal(w.rows[0].after[2].v.u, 1);
    assert_int_equal(w.rows[0].after[3].kind, CDC_K_SET);
    assert_int_equal(w.rows[0].after[3].v.u, 5);
    assert_int_equal(w.rows[1].before[2].v.u, 1);
    assert_int_equal(w.rows[1].after[2].v.u, 2);
    assert_int_equal(w.rows[1].after[3].v.u, 10);
    assert_true(w.rows[1].after[0].kind == CDC_K_STRING && w.rows[1].after[0].v.b.len == 6 &&
                !memcmp(w.rows[1].after[0].v.b.ptr, "field1", 6));
    assert_false(w.rows[2].pa[0]); /* a delete has a before image only */
    assert_true(w.rows[2].pb[0]);
    assert_int_equal(w.rows[2].before[3].v.u, 10);
    assert_true(w.prefixes_refused > 0);
    test_free(w.file);
}

static void test_headers(void **state)
{
    (void)state;
    cdc__fde f;
    cdc__fde_init_v4(&f);
    cdc__rows_ev ev;
    cdc__err err;
    /* v2 WRITE_ROWS: table id 6 bytes, flags, extra length 2 (none), 3 columns, bitmap */
    static const uint8_t ok[] = {7, 0, 0, 0, 0, 0, 1, 0, 2, 0, 3, 0x07};
    cdc__err_clear(&err);
    assert_int_equal(cdc__rows_parse(&f, 30, ok, sizeof ok, &ev, &err), CDC_OK);
    assert_int_equal(ev.table_id, 7);
    assert_int_equal(ev.ncols, 3);
    assert_int_equal(ev.op, 'c');
    assert_int_equal(ev.rows.len, 0);
    /* extra-data length below its own 2 bytes */
    static const uint8_t bad_extra[] = {7, 0, 0, 0, 0, 0, 1, 0, 1, 0, 3, 0x07};
    assert_int_equal(cdc__rows_parse(&f, 30, bad_extra, sizeof bad_extra, &ev, &err), CDC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "extra data length 1 < 2"));
    /* a column count the remaining bytes cannot hold bitmaps for */
    static const uint8_t many[] = {7, 0, 0, 0, 0, 0, 1, 0, 2, 0, 0xfc, 0xff, 0xff, 0x07};
    assert_int_equal(cdc__rows_parse(&f, 30, many, sizeof many, &ev, &err), CDC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "rows event"));
    /* an update needs two bitmaps */
    static const uint8_t upd[] = {7, 0, 0, 0, 0, 0, 1, 0, 2, 0, 9, 0xff, 0x01};
    assert_int_equal(cdc__rows_parse(&f, 31, upd, sizeof upd, &ev, &err), CDC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "bitmaps run past the end"));
    /* which types are rows events: v0, v1, v2, PARTIAL_UPDATE, MariaDB compressed */
    static const int yes[] = {20, 21, 22, 23, 24, 25, 30, 31, 32, 39, 166, 167, 168, 169, 170, 171};
    static const int no[] = {0, 2, 16, 19, 26, 29, 33, 38, 40, 165, 172};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) assert_true(cdc__rows_is_rows_event(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) assert_false(cdc__rows_is_rows_event(no[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mariadb_write_rows_v1),
        cmocka_unit_test(test_mysql_update_and_delete),
        cmocka_unit_test(test_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
