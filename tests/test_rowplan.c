/*
 * Unit tests for the per-table decode plan of rows.c: a value read
 * through its column's plan must be the value cdc__value_decode gives
 * (rowvalue.c, the path every type has), with the same byte count and, for
 * short or malformed input, the same error and message. Checked on
 * columns of every type the plan reads and some it leaves to rowvalue.c,
 * over random bytes, valid DECIMALs of every precision, and every
 * shortened input; values compared field by field, by their JSON text
 * and through the public getters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <cdc/value.h>

#include "decimal.h"
#include "rows.h"
#include "tablemap.h"
#include "value.h"

static uint64_t rng = 0x243f6a8885a308d3u;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static cdc_column col(uint8_t type, uint16_t meta, uint32_t flags, uint16_t charset)
{
    cdc_column c;
    memset(&c, 0, sizeof c);
    c.type = c.real_type = type;
    c.meta = meta;
    c.flags = flags;
    c.charset = charset;
    return c;
}

static long compared, errors_compared, cells_compared, cop_compared;
static unsigned cops_seen; /* bit k: CELL_RAW8 + k compared */

static void same_value(const cdc_value *a, const cdc_value *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->fsp, b->fsp);
    assert_int_equal(a->flags, b->flags & ~CDC_VF_SCALED);
    assert_ptr_equal(a->col, b->col);
    switch (a->kind) {
    case CDC_K_INT: case CDC_K_YEAR: assert_int_equal(a->v.i, b->v.i); break;
    case CDC_K_UINT: case CDC_K_BIT: case CDC_K_ENUM: case CDC_K_SET: assert_int_equal(a->v.u, b->v.u); break;
    case CDC_K_FLOAT: assert_memory_equal(&a->v.f, &b->v.f, sizeof a->v.f); break;
    case CDC_K_DOUBLE: assert_memory_equal(&a->v.d, &b->v.d, sizeof a->v.d); break;
    case CDC_K_DATE: case CDC_K_TIME: case CDC_K_DATETIME:
        assert_int_equal(a->v.tm.year, b->v.tm.year);
        assert_int_equal(a->v.tm.month, b->v.tm.month);
        assert_int_equal(a->v.tm.day, b->v.tm.day);
        assert_int_equal(a->v.tm.hour, b->v.tm.hour);
        assert_int_equal(a->v.tm.minute, b->v.tm.minute);
        assert_int_equal(a->v.tm.second, b->v.tm.second);
        assert_int_equal(a->v.tm.usec, b->v.tm.usec);
        assert_int_equal(a->v.tm.neg, b->v.tm.neg);
        break;
    case CDC_K_TIMESTAMP:
        assert_int_equal(a->v.ts.sec, b->v.ts.sec);
        assert_int_equal(a->v.ts.usec, b->v.ts.usec);
        break;
    default: /* views into the input */
        assert_ptr_equal(a->v.b.ptr, b->v.b.ptr);
        assert_int_equal(a->v.b.len, b->v.b.len);
    }
    /* what a reader sees: the JSON text and the typed getters */
    char ta[256], tb[256];
    size_t na = 0, nb = 0;
    int ra = cdc_value_render(a, ta, sizeof ta, &na), rb = cdc_value_render(b, tb, sizeof tb, &nb);
    assert_int_equal(ra, rb);
    if (ra == CDC_OK) assert_string_equal(ta, tb);
    if (a->kind == CDC_K_DECIMAL) {
        int64_t ua = 0, ub = 0;
        unsigned sa = 0, sb = 0;
        assert_int_equal(cdc_value_decimal_scaled(a, &ua, &sa), cdc_value_decimal_scaled(b, &ub, &sb));
        assert_int_equal(ua, ub);
        assert_int_equal(sa, sb);
        char da[80], db[80];
        assert_int_equal(cdc_value_decimal(a, da, sizeof da, NULL), cdc_value_decimal(b, db, sizeof db, NULL));
        assert_string_equal(da, db);
    }
}

/* Both roads on p[0..avail): same result, same bytes used, same error. */
static void compare(const cdc_column *c, const uint8_t *p, size_t avail)
{
    cdc__col_plan pl;
    cdc__col_plan_make(c, &pl);
    cdc_value a, b;
    memset(&a, 0xa5, sizeof a);
    memset(&b, 0x5a, sizeof b);
    size_t ua = 777, ub = 999;
    cdc__err ea, eb;
    cdc__err_clear(&ea);
    cdc__err_clear(&eb);
    int ra = cdc__value_decode(c, p, avail, &a, &ua, &ea);
    int rb = cdc__value_decode_planned(&pl, c, p, avail, &b, &ub, &eb);
    /* the cells-only road's op (a CELL_* of one width for the common
     * columns) makes the cell of the general op and refuses the same
     * inputs, short ones too */
    cdc_cell co, cg;
    size_t uo = 333, ug = 444;
    memset(&co, 0x3c, sizeof co);
    memset(&cg, 0x3c, sizeof cg);
    bool oko = cdc__rows_plan_cell_only(&pl, p, avail, &co, &uo), okg = cdc__rows_plan_cell(&pl, p, avail, &cg, &ug);
    assert_int_equal(oko, okg);
    if (oko) {
        assert_int_equal(uo, ug);
        assert_memory_equal(&co, &cg, sizeof co);
        if (pl.cop != pl.op) {
            cop_compared++;
            cops_seen |= 1u << (pl.cop - CELL_RAW8);
        }
    }
    assert_int_equal(ra, rb);
    if (ra != CDC_OK) {
        assert_string_equal(ea.msg, eb.msg);
        errors_compared++;
        return;
    }
    assert_int_equal(ua, ub);
    same_value(&a, &b);
    compared++;
    /* the cells pass reads the bytes a third way: its cell must be the
     * decoded value's */
    cdc_cell ca, cb;
    size_t uc = 555;
    memset(&cb, 0x3c, sizeof cb);
    if (cdc__rows_plan_cell(&pl, p, avail, &cb, &uc)) {
        cdc__value_cell(&a, &ca);
        assert_int_equal(uc, ua);
        assert_memory_equal(&ca, &cb, sizeof ca);
        cells_compared++;
    } else {
        /* refused only where the plan cannot read it, or a DECIMAL too
         * wide for an unscaled integer */
        assert_true(pl.op == PLAN_SLOW || pl.op == PLAN_DECIMAL);
    }
}

static void random_bytes(const cdc_column *c, int rounds)
{
    uint8_t buf[80];
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)next();
        /* short length prefixes now and then, so some strings fit */
        if (r % 2) { buf[0] = (uint8_t)(next() % 60); buf[1] = 0; buf[2] = 0; buf[3] = 0; }
        size_t avail = (size_t)(next() % sizeof buf);
        compare(c, buf, avail);
        /* every cut of a value that fits: the shortfall errors */
        if (r % 16 == 0)
            for (size_t cut = 0; cut <= avail && cut <= 12; cut++) compare(c, buf, cut);
    }
}

static void test_plan_equals_types(void **state)
{
    (void)state;
    const uint32_t U = CDC_COLF_UNSIGNED | CDC_COLF_SIGNEDNESS_KNOWN;
    cdc_column cols[] = {
        col(CDC_T_TINY, 0, 0, 0), col(CDC_T_TINY, 0, U, 0), col(CDC_T_SHORT, 0, 0, 0), col(CDC_T_SHORT, 0, U, 0),
        col(CDC_T_INT24, 0, 0, 0), col(CDC_T_INT24, 0, U, 0), col(CDC_T_LONG, 0, 0, 0), col(CDC_T_LONG, 0, U, 0),
        col(CDC_T_LONGLONG, 0, 0, 0), col(CDC_T_LONGLONG, 0, U, 0), col(CDC_T_FLOAT, 4, 0, 0),
        col(CDC_T_DOUBLE, 8, 0, 0), col(CDC_T_YEAR, 0, 0, 0), col(CDC_T_DATE, 0, 0, 0), col(CDC_T_NEWDATE, 0, 0, 0),
        col(CDC_T_TIME2, 0, 0, 0), col(CDC_T_TIME2, 3, 0, 0), col(CDC_T_TIME2, 6, 0, 0), col(CDC_T_TIME2, 7, 0, 0),
        col(CDC_T_DATETIME2, 0, 0, 0), col(CDC_T_DATETIME2, 1, 0, 0), col(CDC_T_DATETIME2, 6, 0, 0),
        col(CDC_T_DATETIME2, 9, 0, 0), col(CDC_T_DATETIME2, 4, 0, 0), col(CDC_T_TIMESTAMP2, 0, 0, 0),
        col(CDC_T_TIMESTAMP2, 2, 0, 0), col(CDC_T_TIMESTAMP2, 3, 0, 0),
        col(CDC_T_TIMESTAMP2, 5, 0, 0), col(CDC_T_TIMESTAMP2, 8, 0, 0), col(CDC_T_BIT, 0x0001, 0, 0),
        col(CDC_T_BIT, 0x0100, 0, 0), col(CDC_T_BIT, 0x0203, 0, 0), col(CDC_T_BIT, 0x0800, 0, 0),
        col(CDC_T_BIT, 0x0900, 0, 0), col(CDC_T_BIT, 0, 0, 0), col(CDC_T_VARCHAR, 64, 0, 45),
        col(CDC_T_VARCHAR, 300, 0, 45), col(CDC_T_VARCHAR, 16, 0, 63), col(CDC_T_VARCHAR, 16, CDC_COLF_INET4, 63),
        col(CDC_T_VAR_STRING, 20, 0, 8), col(CDC_T_STRING, 10, 0, 33), col(CDC_T_STRING, 400, 0, 33),
        col(CDC_T_STRING, 16, CDC_COLF_UUID, 63), col(CDC_T_STRING, 16, CDC_COLF_INET6, 63),
        col(CDC_T_ENUM, 1, 0, 45), col(CDC_T_ENUM, 2, 0, 45), col(CDC_T_ENUM, 3, 0, 45), col(CDC_T_SET, 1, 0, 45),
        col(CDC_T_SET, 8, 0, 45), col(CDC_T_SET, 9, 0, 45), col(CDC_T_BLOB, 1, 0, 63), col(CDC_T_BLOB, 2, 0, 45),
        col(CDC_T_BLOB, 3, 0, 45), col(CDC_T_BLOB, 4, CDC_COLF_JSON_TEXT, 45), col(CDC_T_BLOB, 0, 0, 45),
        col(CDC_T_BLOB, 5, 0, 45), col(CDC_T_TINY_BLOB, 1, 0, 45), col(CDC_T_MEDIUM_BLOB, 3, 0, 63),
        col(CDC_T_LONG_BLOB, 4, 0, 45), col(CDC_T_JSON, 4, 0, 63), col(CDC_T_JSON, 0, 0, 63),
        col(CDC_T_JSON, 2, CDC_COLF_JSON_TEXT, 45), col(CDC_T_JSON, 6, 0, 63), col(CDC_T_GEOMETRY, 4, 0, 63),
        col(CDC_T_VECTOR, 4, 0, 63), col(CDC_T_TIMESTAMP, 0, 0, 0), col(CDC_T_DATETIME, 0, 0, 0),
        col(CDC_T_TIME, 0, 0, 0), col(CDC_T_DECIMAL, 6, 0, 0), col(CDC_T_NULL, 0, 0, 0),
        col(CDC_T_NEWDECIMAL, (10 << 8) | 2, 0, 0), col(CDC_T_NEWDECIMAL, (18 << 8) | 0, 0, 0),
        col(CDC_T_NEWDECIMAL, (18 << 8) | 18, 0, 0), col(CDC_T_NEWDECIMAL, (19 << 8) | 4, 0, 0),
        col(CDC_T_NEWDECIMAL, (65 << 8) | 30, 0, 0), col(CDC_T_NEWDECIMAL, (5 << 8) | 9, 0, 0),
        col(200, 0, 0, 0),
    };
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) random_bytes(&cols[i], 3000);
    /* CHAR columns whose metadata says ENUM or SET */
    for (uint16_t len = 0; len <= 9; len++) {
        cdc_column e = col(CDC_T_STRING, len, 0, 45), s = col(CDC_T_STRING, len, 0, 45);
        e.real_type = CDC_T_ENUM;
        s.real_type = CDC_T_SET;
        random_bytes(&e, 500);
        random_bytes(&s, 500);
    }
    printf("%ld values and %ld errors the same by both roads, %ld cells, %ld by a CELL_* op\n", compared,
           errors_compared, cells_compared, cop_compared);
    assert_int_equal(cops_seen, (1u << (CELL_TS3 - CELL_RAW8 + 1)) - 1); /* every CELL_* op */
}

/* Valid DECIMALs of every precision and scale up to 22 digits, from
 * random digit text, both signs, zero and "-0" included. */
static void test_plan_decimals(void **state)
{
    (void)state;
    long n = 0;
    for (unsigned prec = 1; prec <= 22; prec++) {
        for (unsigned scale = 0; scale <= prec; scale++) {
            cdc_column c = col(CDC_T_NEWDECIMAL, (uint16_t)(prec << 8 | scale), 0, 0);
            for (int r = 0; r < 300; r++) {
                char text[80];
                size_t k = 0;
                if (r % 2) text[k++] = '-';
                unsigned intd = prec - scale;
                for (unsigned d = 0; d < intd; d++) text[k++] = (char)('0' + (r < 4 ? (r < 2 ? 0 : 9) : next() % 10));
                if (!intd) text[k++] = '0';
                if (scale) {
                    text[k++] = '.';
                    for (unsigned d = 0; d < scale; d++) text[k++] = (char)('0' + (r < 4 ? (r < 2 ? 0 : 9) : next() % 10));
                }
                uint8_t bin[40];
                cdc__err err;
                assert_int_equal(cdc__decimal_from_text(text, k, prec, scale, bin, &err), CDC_OK);
                size_t size = cdc__decimal_bin_size(prec, scale);
                compare(&c, bin, size);
                if (r == 0) compare(&c, bin, size - 1);
                /* with bytes after it, as inside a row image (the plan
                 * then reads 8 bytes at once) */
                for (size_t i = size; i < sizeof bin; i++) bin[i] = (uint8_t)next();
                compare(&c, bin, sizeof bin);
                n++;
            }
        }
    }
    printf("%ld DECIMAL values the same by both roads (%ld cells in all)\n", n, cells_compared);
}

/* The NULL bitmap decides whether an image takes the dense loops (no
 * NULL, no absent column): images of 1..80 TINYINT columns with no NULL
 * or one NULL at every position (past 64 columns the bitmap is read a
 * word at a time), by the whole, lazy and cells roads and the dense cells
 * entry (which must refuse every image with a NULL, reading nothing);
 * every column must come out NULL exactly where its bit is set, and the
 * others their byte. */
static void test_null_bitmaps(void **state)
{
    (void)state;
    enum { MAXC = 80 };
    cdc_column cols[MAXC];
    for (size_t i = 0; i < MAXC; i++) cols[i] = col(CDC_T_TINY, 0, CDC_COLF_NULLABLE, 0);
    uint8_t all[MAXC / 8 + 1];
    memset(all, 0xff, sizeof all);
    long images = 0;
    for (size_t n = 1; n <= MAXC; n++) {
        struct cdc_table t;
        memset(&t, 0, sizeof t);
        t.cols = cols;
        t.ncols = n;
        assert_int_equal(cdc__rows_prepare(&t), CDC_OK);
        cdc__rows_ev ev;
        memset(&ev, 0, sizeof ev);
        ev.op = 'c';
        ev.ncols = n;
        ev.cols_before = ev.cols_after = all;
        ev.n_before = ev.n_after = n;
        /* pad: the bitmap's bits past n set (not NULLs: no column has
         * them); tail: 8 more bytes after the image, so that the bitmap
         * of a narrow image is read by one 8-byte load too */
        for (int variant = 0; variant < 4; variant++)
        for (size_t nullcol = 0; nullcol <= n; nullcol++) { /* nullcol == n: none */
            bool pad = variant & 1, tail = variant & 2;
            uint8_t img[MAXC / 8 + 1 + MAXC + 8];
            size_t nb = (n + 7) / 8, len = nb;
            memset(img, 0, nb);
            if (pad && n % 8) img[nb - 1] |= (uint8_t)(0xff << (n % 8));
            if (nullcol < n) img[nullcol / 8] |= (uint8_t)(1u << (nullcol % 8));
            for (size_t i = 0; i < n; i++)
                if (i != nullcol) img[len++] = (uint8_t)(i + 1);
            size_t end = len;
            if (tail) {
                memset(img + len, 0xff, 8);
                end += 8;
            }
            for (int road = 0; road < 5; road++) {
                cdc_value vals[MAXC];
                uint8_t present[MAXC];
                cdc_cell cells[MAXC];
                cdc__reader r = cdc__rd(img, end);
                cdc__rows_where where;
                cdc__err err;
                int rc = road == 0   ? cdc__rows_image(&t, &ev, all, false, &r, vals, present, NULL, NULL, NULL,
                                                       &where, &err)
                         : road == 1 ? cdc__rows_image_lazy(&t, &ev, all, false, &r, vals, present, NULL, NULL,
                                                            NULL, &where, &err)
                         : road == 2 ? cdc__rows_image_cells(&t, &ev, all, false, &r, vals, present, NULL, NULL,
                                                             NULL, cells, &where, &err)
                         : road == 3 ? cdc__rows_image_cells_dense(&t, n, &r, vals, present, cells, &where, &err)
                                     : cdc__rows_image_cells_only(&t, n, &r, cells);
                if (road >= 3 && nullcol < n) { /* a NULL: not the dense roads', and nothing read */
                    assert_int_equal(rc, CDC__ROWS_NOT_DENSE);
                    assert_int_equal(r.off, 0);
                    continue;
                }
                assert_int_equal(rc, CDC_OK);
                assert_int_equal(r.off, len);
                if (road == 4) { /* cells alone: the values' pending state written after */
                    assert_true(t.plan_cells);
                    memset(present, 0, sizeof present);
                    cdc__rows_cells_settle(&t, n, img, img + end, vals, present);
                }
                for (size_t i = 0; i < n; i++) {
                    if (present[i] == CDC__PRESENT_PENDING) cdc__rows_materialize(&t, i, &vals[i], &present[i]);
                    assert_int_equal(present[i], 1);
                    if (i == nullcol) {
                        assert_int_equal(vals[i].kind, CDC_K_NULL);
                        if (road >= 2) assert_int_equal(cells[i].kind, CDC_K_NULL);
                    } else {
                        assert_int_equal(vals[i].kind, CDC_K_INT);
                        assert_int_equal(vals[i].v.i, (int64_t)(i + 1));
                        if (road >= 2) {
                            assert_int_equal(cells[i].kind, CDC_K_INT);
                            assert_int_equal(cells[i].v.i, (int64_t)(i + 1));
                        }
                    }
                }
                images++;
            }
        }
        cdc__free(NULL, t.plan);
    }
    printf("%ld images with and without a NULL\n", images);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_equals_types),
        cmocka_unit_test(test_plan_decimals),
        cmocka_unit_test(test_null_bitmaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
