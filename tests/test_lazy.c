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
 * been left pending.
 * Cells (cdc_change_cells, cdc/value.h): on every fixture, with images
 * read lazily, whole and adaptively, every image is read as cells first
 * (whole, and one column at a time, and into a wider stride), then each
 * cell is compared with what the getters of cdc_change_before/after give
 * for the same column; pending values must stay pending after the cells
 * call. cdc_change_cells_view of each image, asked first, must equal
 * cdc_change_cells' copy cell by cell, give the same array again and not
 * change while the getters run; an image the change lacks gives NULL and
 * 0 with CDC_ERR_STATE; a cells run ends with the eager run's decoder
 * error (a malformed image fails the feed before any callback sees it).
 * JSON lines written from cells (output.c put_image_cells: lazy,
 * adaptive, between getters, with hidden columns) must equal those
 * written from values (eager), leave the values they wrote pending, and
 * the getters after them must give the eager values.
 * Bad arguments get their documented error and a message. Then the adaptive choice on the benchmark's binlog
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
#include "output.h"
#include "rows.h"
#include "util.h"

/* CELLS_JSON: each image's view, then the JSON line (of images read as
 * cells alone, after the first row of a table) */
/* JSON_HIDE_*: every third column hidden (cdc__change_hide_columns, the
 * stream's column.exclude.list) before the JSON line.
 * JSON_ADAPTIVE: JSON lines with the decoder's own choice (images made as
 * cells once a line was rendered: output.c put_image_cells).
 * JSON_GETTERS_*: the odd columns' values asked for first, then the JSON
 * line, then every value (the getters after the cells road) */
enum { EAGER, LAZY, JSON_EAGER, JSON_LAZY, ADAPTIVE_ALL, ADAPTIVE_ONE, CELLS_EAGER, CELLS_LAZY, CELLS_ADAPTIVE, CELLS_JSON,
       JSON_ADAPTIVE, JSON_GETTERS_EAGER, JSON_GETTERS_LAZY, JSON_GETTERS_ADAPTIVE, JSON_HIDE_EAGER, JSON_HIDE_LAZY };

typedef struct run {
    int mode;
    cdc__buf out;       /* what was read */
    long pending_seen;  /* values found pending before they were asked for */
    long values, rows, lazy_rows;
    long cells, cells_pending, cells_wide; /* cells compared; of them pending when read; wide DECIMALs */
    long cells_made;                       /* images whose cells the decoder made with the image */
    long cells_only;                       /* of them read as cells alone (cdc__rows_image_cells_only) */
    long views_made, views_own;            /* cdc_change_cells_view: the decoder's made cells; made on the call */
    long views_absent;                     /* views of an image the change lacks */
    long json_cells;                       /* JSON images written from their cells */
    long json_pending;                     /* values still pending after the JSON line */
    long json_room;                        /* lines written again into a buffer with little room */
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
    size_t n = cdc_table_column_count(cdc_change_table(c));
    if (n > c->ncols) n = c->ncols;
    cdc__buf *col = calloc(n ? n : 1, sizeof *col);
    assert_non_null(col);
    for (size_t k = 0; k < n; k++) {
        size_t i = r->mode == LAZY ? n - 1 - k : k;
        cdc__buf_init(&col[i], NULL);
        const uint8_t *present = after ? c->pa : c->pb; /* NULL: read as cells alone, not settled yet */
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
        present = after ? c->pa : c->pb;
        assert_non_null(present);
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

/* One cell against the getters of the same value (absent: no value). */
static void check_cell(run *r, const cdc_change *c, int image, size_t i, const cdc_cell *cell)
{
    const cdc_value *v = image == CDC_IMAGE_AFTER ? cdc_change_after(c, i) : cdc_change_before(c, i);
    char where[160];
    snprintf(where, sizeof where, "%s row %" PRIu64 " %s column %zu", cdc_change_file(c), cdc_change_row(c),
             image == CDC_IMAGE_AFTER ? "after" : "before", i);
    r->cells++;
    if (!v) {
        if (cell->kind != CDC_KIND_NULL || cell->flags != CDC_CELL_ABSENT)
            fail_msg("%s: absent value, cell kind %d flags %d", where, cell->kind, cell->flags);
        return;
    }
    if (cell->kind != (int)cdc_value_kind(v))
        fail_msg("%s: cell kind %d, value kind %d", where, cell->kind, (int)cdc_value_kind(v));
    if (cell->flags & CDC_CELL_ABSENT) fail_msg("%s: present value, cell says absent", where);
    int64_t i64;
    uint64_t u64;
    double d;
    cdc_datetime tm;
    switch (cdc_value_kind(v)) {
    case CDC_KIND_NULL: assert_int_equal(cell->flags, 0); break;
    case CDC_KIND_INT: case CDC_KIND_YEAR:
        assert_int_equal(cdc_value_int64(v, &i64), CDC_OK);
        if (cell->v.i != i64) fail_msg("%s: cell %" PRId64 ", getter %" PRId64, where, cell->v.i, i64);
        break;
    case CDC_KIND_UINT: case CDC_KIND_BIT: case CDC_KIND_ENUM: case CDC_KIND_SET:
        assert_int_equal(cdc_value_uint64(v, &u64), CDC_OK);
        if (cell->v.u != u64) fail_msg("%s: cell %" PRIu64 ", getter %" PRIu64, where, cell->v.u, u64);
        break;
    case CDC_KIND_FLOAT: case CDC_KIND_DOUBLE:
        assert_int_equal(cdc_value_double(v, &d), CDC_OK);
        if (memcmp(&cell->v.d, &d, sizeof d) != 0) fail_msg("%s: cell %.17g, getter %.17g", where, cell->v.d, d);
        break;
    case CDC_KIND_DECIMAL: {
        unsigned scale = 0;
        int rc = cdc_value_decimal_scaled(v, &i64, &scale);
        if (rc == CDC_OK) {
            if ((cell->flags & CDC_CELL_DECIMAL_WIDE) || cell->v.i != i64 || cell->scale != scale)
                fail_msg("%s: cell %" PRId64 " scale %u flags %d, getter %" PRId64 " scale %u", where, cell->v.i,
                         cell->scale, cell->flags, i64, scale);
        } else {
            r->cells_wide++;
            if (!(cell->flags & CDC_CELL_DECIMAL_WIDE) || cell->v.i != 0)
                fail_msg("%s: getter says %d, cell is not wide", where, rc);
        }
        break;
    }
    case CDC_KIND_TIMESTAMP: {
        uint32_t usec;
        assert_int_equal(cdc_value_timestamp(v, &i64, &usec), CDC_OK);
        assert_int_equal(cdc_value_temporal(v, &tm), CDC_OK);
        if (cell->v.i != i64 * 1000000 + usec || cell->usec != usec || cell->fsp != tm.fsp ||
            !!(cell->flags & CDC_CELL_ZERO_DATE) != tm.zero)
            fail_msg("%s: cell %" PRId64 " us %u fsp %u flags %d, getter %" PRId64 ".%06u fsp %u zero %d", where,
                     cell->v.i, cell->usec, cell->fsp, cell->flags, i64, usec, tm.fsp, tm.zero);
        break;
    }
    case CDC_KIND_DATE: case CDC_KIND_TIME: case CDC_KIND_DATETIME:
        assert_int_equal(cdc_value_temporal(v, &tm), CDC_OK);
        if (cell->v.tm.year != tm.year || cell->v.tm.month != tm.month || cell->v.tm.day != tm.day ||
            cell->v.tm.hour != tm.hour || cell->v.tm.minute != tm.minute || cell->v.tm.second != tm.second ||
            cell->usec != tm.usec || cell->fsp != tm.fsp || !!(cell->flags & CDC_CELL_NEGATIVE) != tm.negative ||
            !!(cell->flags & CDC_CELL_ZERO_DATE) != tm.zero)
            fail_msg("%s: cell %d-%u-%u %u:%u:%u.%u fsp %u flags %d, getter %d-%u-%u %u:%u:%u.%u fsp %u neg %d "
                     "zero %d", where, cell->v.tm.year, cell->v.tm.month, cell->v.tm.day, cell->v.tm.hour,
                     cell->v.tm.minute, cell->v.tm.second, cell->usec, cell->fsp, cell->flags, tm.year, tm.month,
                     tm.day, tm.hour, tm.minute, tm.second, tm.usec, tm.fsp, tm.negative, tm.zero);
        break;
    default: {
        cdc_bytes b = cdc_value_bytes(v);
        if (cell->v.b.ptr != b.ptr || cell->v.b.len != b.len)
            fail_msg("%s: cell %p+%zu, getter %p+%zu", where, (const void *)cell->v.b.ptr, cell->v.b.len,
                     (const void *)b.ptr, b.len);
        bool text = v->kind == CDC_KIND_JSON && (v->flags & CDC_VF_TEXT);
        bool utf8 = v->kind == CDC_KIND_STRING && (v->flags & CDC_VF_UTF8);
        if (!!(cell->flags & CDC_CELL_JSON_TEXT) != text || !!(cell->flags & CDC_CELL_UTF8) != utf8)
            fail_msg("%s: cell flags %d, value flags %d", where, cell->flags, v->flags);
        break;
    }
    }
}

/* An image as cells, three ways, before any getter runs; then each cell
 * against the getters. */
static void cells_image(run *r, const cdc_change *c, int image)
{
    /* an image read as cells alone has no pending state until something
     * else reads it (decoder.h): write it now, to compare below */
    const uint8_t *unsettled = image == CDC_IMAGE_AFTER ? c->unsettled_a : c->unsettled_b;
    if (unsettled) {
        assert_null(image == CDC_IMAGE_AFTER ? c->pa : c->pb);
        r->cells_only++;
        cdc__change_settle(c);
    }
    const uint8_t *present = image == CDC_IMAGE_AFTER ? c->pa : c->pb;
    size_t n = cdc_table_column_count(cdc_change_table(c));
    char err[256];
    if (image == CDC_IMAGE_AFTER ? c->ca : c->cb) r->cells_made++;
    cdc_cell *all = calloc(n + 1, sizeof *all), *one = calloc(n + 1, sizeof *one);
    uint8_t *pend = calloc(n + 1, 1);
    size_t wide = sizeof(cdc_cell) + 8;
    uint8_t *w = malloc((n + 1) * wide);
    assert_true(all && one && pend && w);
    memset(w, 0xa5, (n + 1) * wide);
    for (size_t i = 0; i < n && i < c->ncols; i++) {
        pend[i] = present[i] == CDC__PRESENT_PENDING;
        if (unsettled && !pend[i]) fail_msg("column %zu of an image read as cells alone is not pending", i);
    }
    /* the view first, before anything else reads the image */
    const cdc_cell *view = NULL, *again = NULL;
    size_t nview = SIZE_MAX, nagain = SIZE_MAX;
    assert_int_equal(cdc_change_cells_view(c, image, &view, &nview, err, sizeof err), CDC_OK);
    assert_int_equal(nview, n);
    if (n) assert_non_null(view);
    if (view && view == (image == CDC_IMAGE_AFTER ? c->ca : c->cb)) r->views_made++;
    else r->views_own++;
    cdc_cell *vcopy = calloc(n + 1, sizeof *vcopy);
    assert_non_null(vcopy);
    if (n) memcpy(vcopy, view, n * sizeof *view);
    assert_int_equal(cdc_change_cells(c, image, 0, n, all, sizeof *all, err, sizeof err), CDC_OK);
    /* the view is the copy, cell by cell, and a second call gives the same array */
    for (size_t i = 0; i < n; i++)
        if (memcmp(&view[i], &all[i], sizeof all[i]) != 0)
            fail_msg("%s row %" PRIu64 " %s column %zu: view cell differs from cdc_change_cells'", cdc_change_file(c),
                     cdc_change_row(c), image == CDC_IMAGE_AFTER ? "after" : "before", i);
    assert_int_equal(cdc_change_cells_view(c, image, &again, &nagain, NULL, 0), CDC_OK);
    assert_ptr_equal(again, view);
    assert_int_equal(nagain, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(cdc_change_cells(c, image, i, 1, &one[i], sizeof *one, err, sizeof err), CDC_OK);
    assert_int_equal(cdc_change_cells(c, image, 0, n, (cdc_cell *)w, wide, err, sizeof err), CDC_OK);
    for (size_t i = 0; i < n && i < c->ncols; i++) {
        /* reading cells makes nothing: a pending value is still pending */
        if (pend[i] && present[i] != CDC__PRESENT_PENDING) fail_msg("cells made value %zu", i);
        r->cells_pending += pend[i];
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *wi = w + i * wide;
        if (memcmp(&all[i], &one[i], sizeof all[i]) != 0) fail_msg("column %zu: one cell differs from the image's", i);
        if (memcmp(&all[i], wi, sizeof all[i]) != 0) {
            char hex[2][3 * sizeof(cdc_cell) + 1];
            for (size_t k = 0; k < sizeof(cdc_cell); k++) {
                snprintf(hex[0] + 3 * k, 4, "%02x ", ((const uint8_t *)&all[i])[k]);
                snprintf(hex[1] + 3 * k, 4, "%02x ", wi[k]);
            }
            fail_msg("%s row %" PRIu64 " column %zu: wide-stride cell differs:\n%s\n%s", cdc_change_file(c),
                     cdc_change_row(c), i, hex[0], hex[1]);
        }
        for (size_t k = sizeof(cdc_cell); k < wide; k++)
            if (wi[k] != 0) fail_msg("column %zu: tail byte %zu of a wide cell not zeroed", i, k);
    }
    assert_int_equal(w[n * wide], 0xa5); /* nothing past the last cell */
    for (size_t i = 0; i < n; i++) check_cell(r, c, image, i, &all[i]);
    /* the view's cells did not change while the getters made values */
    if (n && memcmp(vcopy, view, n * sizeof *view) != 0) fail_msg("view cells changed within the callback");
    free(vcopy);
    free(all);
    free(one);
    free(pend);
    free(w);
}

static int on_change(const cdc_change *c, void *ud)
{
    run *r = ud;
    r->rows++;
    if (c->lazy) r->lazy_rows++;
    bool force_eager = r->mode == EAGER || r->mode == JSON_EAGER || r->mode == CELLS_EAGER ||
                       r->mode == JSON_GETTERS_EAGER || r->mode == JSON_HIDE_EAGER,
         force_lazy = r->mode == LAZY || r->mode == JSON_LAZY || r->mode == CELLS_LAZY ||
                      r->mode == JSON_GETTERS_LAZY || r->mode == JSON_HIDE_LAZY;
    if (force_eager && c->lazy) fail_msg("eager run, lazy row %" PRIu64 " at %" PRIu64, cdc_change_row(c), cdc_change_offset(c));
    if (force_lazy && !c->lazy) fail_msg("lazy run, eager row %" PRIu64 " at %" PRIu64, cdc_change_row(c), cdc_change_offset(c));
    cdc__buf_printf(&r->out, "\n%c", cdc_change_op(c));
    if (r->mode == CELLS_EAGER || r->mode == CELLS_LAZY || r->mode == CELLS_ADAPTIVE) {
        if (cdc_change_op(c) != 'c' && cdc_change_op(c) != 'r') cells_image(r, c, CDC_IMAGE_BEFORE);
        if (cdc_change_op(c) != 'd') cells_image(r, c, CDC_IMAGE_AFTER);
        /* an image the change lacks: NULL and 0 from the view, as cdc_change_cells refuses it */
        int absent = cdc_change_op(c) == 'd' ? CDC_IMAGE_AFTER
                     : cdc_change_op(c) == 'c' || cdc_change_op(c) == 'r' ? CDC_IMAGE_BEFORE : -1;
        if (absent >= 0) {
            const cdc_cell *view = (const cdc_cell *)c;
            size_t nview = 77;
            cdc_cell one;
            assert_int_equal(cdc_change_cells_view(c, absent, &view, &nview, NULL, 0), CDC_ERR_STATE);
            assert_int_equal(cdc_change_cells(c, absent, 0, 1, &one, sizeof one, NULL, 0), CDC_ERR_STATE);
            assert_null(view);
            assert_int_equal(nview, 0);
            r->views_absent++;
        }
        return 0;
    }
    if (r->mode == CELLS_JSON) {
        for (int image = CDC_IMAGE_BEFORE; image <= CDC_IMAGE_AFTER; image++) {
            const cdc_cell *view;
            size_t nview;
            if (image == CDC_IMAGE_AFTER ? c->unsettled_a : c->unsettled_b) r->cells_only++;
            if (image == CDC_IMAGE_BEFORE ? cdc_change_op(c) != 'c' : cdc_change_op(c) != 'd')
                assert_int_equal(cdc_change_cells_view(c, image, &view, &nview, NULL, 0), CDC_OK);
        }
    }
    bool getters = r->mode == JSON_GETTERS_EAGER || r->mode == JSON_GETTERS_LAZY || r->mode == JSON_GETTERS_ADAPTIVE;
    bool hide = r->mode == JSON_HIDE_EAGER || r->mode == JSON_HIDE_LAZY;
    if (hide) {
        uint8_t mask[4096] = {0};
        for (size_t i = 2; i < c->ncols && i < sizeof mask; i += 3) mask[i] = 1;
        cdc__change_hide_columns(c, mask);
    }
    if (getters) { /* some values made before the line */
        size_t n = cdc_table_column_count(cdc_change_table(c));
        for (size_t i = 1; i < n && i < c->ncols; i += 2) {
            const cdc_value *b = cdc_change_before(c, i), *a = cdc_change_after(c, i);
            if (b) put_value(&r->out, i, b);
            if (a) put_value(&r->out, i, a);
        }
        cdc__buf_putc(&r->out, '#');
    }
    if (r->mode == ADAPTIVE_ONE) {
        if (cdc_change_after(c, 0)) put_value(&r->out, 0, cdc_change_after(c, 0));
    } else if (r->mode == JSON_EAGER || r->mode == JSON_LAZY || r->mode == CELLS_JSON || r->mode == JSON_ADAPTIVE ||
               getters || hide) {
        if (c->lazy) r->json_cells += (cdc_change_op(c) != 'c' && c->cb) + (cdc_change_op(c) != 'd' && c->ca);
        size_t need = 0;
        cdc_change_json(c, NULL, 0, &need);
        char *line = malloc(need + 1);
        assert_non_null(line);
        assert_int_equal(cdc_change_json(c, line, need + 1, &need), CDC_OK);
        /* The same line written again into a buffer with only k bytes of
         * room left (k from 0 to 159, varying over the changes and runs):
         * the head's one room check, the cells loop's checks per value
         * (its cursor kept apart from the buffer, output.c cells_loop) and
         * the tail's must grow the buffer wherever a piece would not fit,
         * and give the same text after what was there. The last pass
         * starts from an empty buffer, grown from 64 bytes by doubling:
         * several times within one line, between any two pieces. */
        for (int j = 0; j < 4; j++) {
            size_t k = (size_t)(r->json_room * 37 + j * 53) % 160;
            cdc__buf b;
            cdc__buf_init(&b, NULL);
            if (j < 3) assert_int_equal(cdc__buf_reserve(&b, k + 64), CDC_OK);
            size_t pre = j < 3 ? b.cap - k : 0;
            if (pre) memset(b.data, 'x', pre);
            b.len = pre;
            cdc__err err;
            cdc__err_clear(&err);
            assert_int_equal(cdc__change_render_json(c, &b, &err), CDC_OK);
            assert_int_equal(b.len - pre, need - 1); /* need counts the NUL */
            assert_memory_equal(b.data + pre, line, need - 1);
            cdc__buf_free(&b);
        }
        r->json_room++;
        cdc__buf_append(&r->out, line, need);
        free(line);
        /* the cells road makes no value: what was pending still is */
        size_t n = cdc_table_column_count(cdc_change_table(c));
        if (n > c->ncols) n = c->ncols;
        for (int image = 0; image < 2; image++) {
            const uint8_t *pr = image ? c->pa : c->pb;
            if (image ? c->unsettled_a : c->unsettled_b) r->json_pending += (long)n;
            else if (pr)
                for (size_t i = 0; i < n; i++) r->json_pending += pr[i] == CDC__PRESENT_PENDING;
        }
        if (getters) {
            cdc__buf_putc(&r->out, '#');
            read_image(r, c, false);
            cdc__buf_putc(&r->out, '|');
            read_image(r, c, true);
        }
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
    if (r->mode == EAGER || r->mode == JSON_EAGER || r->mode == CELLS_EAGER || r->mode == JSON_GETTERS_EAGER ||
        r->mode == JSON_HIDE_EAGER)
        cdc__decoder_set_lazy(d, CDC__LAZY_NEVER);
    if (r->mode == LAZY || r->mode == JSON_LAZY || r->mode == CELLS_LAZY || r->mode == JSON_GETTERS_LAZY ||
        r->mode == JSON_HIDE_LAZY)
        cdc__decoder_set_lazy(d, CDC__LAZY_ALWAYS);
    cdc_decoder_set_change_cb(d, on_change, r);
    int rc = cdc_decoder_feed(d, p, n) < 0 ? cdc_decoder_error(d) : cdc_decoder_finish(d);
    cdc__buf_printf(&r->out, "\nend %d %s\n", rc, rc ? cdc_decoder_errmsg(d) : "");
    cdc_decoder_free(d);
}

static long files, total_rows, total_pending, total_cells, total_cells_pending, total_cells_wide, total_cells_made;
static long total_cells_only, total_json_cells_only, total_json_cells, total_json_pending;
static long total_views_made, total_views_own, total_views_absent;

/* The decoder's last line of a run's output ("end <rc> <message>"), as
 * a NUL-terminated copy in buf. */
static const char *end_line(const run *r, char *buf, size_t cap)
{
    const char *s = (const char *)r->out.data, *e = s + r->out.len;
    while (e > s && e[-1] == '\n') e--;
    const char *p = e;
    while (p > s && p[-1] != '\n') p--;
    snprintf(buf, cap, "%.*s", (int)(e - p), p);
    return buf;
}

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
    run ce = {.mode = CELLS_EAGER}, cl = {.mode = CELLS_LAZY}, ca = {.mode = CELLS_ADAPTIVE};
    run *cruns[] = {&ce, &cl, &ca};
    for (int k = 0; k < 3; k++) {
        cdc__buf_init(&cruns[k]->out, NULL);
        decode(p, n, cruns[k]);
        assert_int_equal(cruns[k]->rows, e.rows);
        total_cells += cruns[k]->cells;
        total_cells_wide += cruns[k]->cells_wide;
        total_cells_made += cruns[k]->cells_made;
        total_cells_only += cruns[k]->cells_only;
        if (k == 0) assert_int_equal(cruns[k]->cells_made, 0); /* whole images: no cells pass */
        total_views_made += cruns[k]->views_made;
        total_views_own += cruns[k]->views_own;
        total_views_absent += cruns[k]->views_absent;
        /* a malformed image fails the feed the same way when callbacks
         * read views and cells: same rows before it, same message */
        char ce_end[512], e_end[512];
        end_line(cruns[k], ce_end, sizeof ce_end);
        end_line(&e, e_end, sizeof e_end);
        if (strcmp(ce_end, e_end) != 0) fail_msg("%s: cells run %d ends \"%s\", eager \"%s\"", path, k, ce_end, e_end);
        cdc__buf_free(&cruns[k]->out);
    }
    total_cells_pending += cl.cells_pending;
    run cj = {.mode = CELLS_JSON}; /* JSON lines of images read as cells alone */
    cdc__buf_init(&cj.out, NULL);
    decode(p, n, &cj);
    total_json_cells_only += cj.cells_only;
    same(path, "values", &e, &l);
    same(path, "JSON lines", &je, &jl);
    same(path, "JSON lines after views", &je, &cj);
    cdc__buf_free(&cj.out);
    /* the JSON lines written from cells (lazy, adaptive) and from values
     * (eager), alone and between getters */
    run ja = {.mode = JSON_ADAPTIVE}, ge = {.mode = JSON_GETTERS_EAGER}, gl = {.mode = JSON_GETTERS_LAZY},
        ga = {.mode = JSON_GETTERS_ADAPTIVE}, he = {.mode = JSON_HIDE_EAGER}, hl = {.mode = JSON_HIDE_LAZY};
    run *jruns[] = {&ja, &ge, &gl, &ga, &he, &hl};
    for (int k = 0; k < 6; k++) {
        cdc__buf_init(&jruns[k]->out, NULL);
        decode(p, n, jruns[k]);
    }
    assert_int_equal(je.json_cells + ge.json_cells + he.json_cells, 0); /* eager: the value road only */
    total_json_cells += jl.json_cells + ja.json_cells + gl.json_cells + ga.json_cells + hl.json_cells;
    total_json_pending += jl.json_pending + ja.json_pending;
    same(path, "JSON lines (adaptive)", &je, &ja);
    same(path, "getters and JSON lines (lazy)", &ge, &gl);
    same(path, "getters and JSON lines (adaptive)", &ge, &ga);
    same(path, "JSON lines with hidden columns", &he, &hl);
    for (int k = 0; k < 6; k++) cdc__buf_free(&jruns[k]->out);
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
    printf("cells: %ld compared with the getters (%ld read pending, %ld wide DECIMALs; %ld images made "
           "with their cells, %ld of them as cells alone)\n", total_cells, total_cells_pending, total_cells_wide,
           total_cells_made, total_cells_only);
    printf("JSON lines of %ld images read as cells alone\n", total_json_cells_only);
    printf("JSON: %ld images written from their cells, %ld values left pending by them\n", total_json_cells,
           total_json_pending);
    printf("views: %ld images the decoder made as cells, %ld made on the call, %ld absent images\n",
           total_views_made, total_views_own, total_views_absent);
    assert_true(total_cells_made >= 5000);
    assert_true(total_cells_only >= 1500);
    assert_true(total_json_cells_only >= 500);
    assert_true(total_json_cells >= 10000);
    assert_true(total_json_pending >= 40000);
    assert_true(total_views_made >= 5000);
    assert_true(total_views_own >= 5000);
    assert_true(total_views_absent >= 1000);
    assert_true(total_cells >= 100000);
    assert_true(total_cells_pending >= 10000);
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
    /* a writer of JSON lines reads whole images, yet only lazy rows, made
     * as cells after each table's first line (output.c put_image_cells) */
    run j = {.mode = JSON_ADAPTIVE};
    cdc__buf_init(&j.out, NULL);
    decode(p, n, &j);
    printf("adaptive: writing JSON lines %ld lazy, %ld images written from cells\n", j.lazy_rows, j.json_cells);
    assert_int_equal(j.lazy_rows, j.rows);
    assert_true(j.json_cells >= j.rows - 8);
    cdc__buf_free(&j.out);
    /* ... but one that also asks for every value is read whole, as a
     * reader of every value is */
    run jg = {.mode = JSON_GETTERS_ADAPTIVE};
    cdc__buf_init(&jg.out, NULL);
    decode(p, n, &jg);
    printf("adaptive: writing JSON lines and reading every value %ld lazy\n", jg.lazy_rows);
    assert_true(jg.lazy_rows <= jg.rows / 64 + 8);
    cdc__buf_free(&jg.out);
    cdc__buf_free(&a.out);
    cdc__buf_free(&o.out);
    free(p);
}

static int bad_args_cb(const cdc_change *c, void *ud)
{
    int *seen = ud;
    if (*seen) return 0;
    char op = cdc_change_op(c);
    if (op != 'c') return 0;
    (*seen)++;
    size_t n = cdc_table_column_count(cdc_change_table(c));
    cdc_cell cells[64];
    char err[256];
    assert_true(n > 0 && n < 64);
    err[0] = 0;
    assert_int_equal(cdc_change_cells(c, CDC_IMAGE_BEFORE, 0, n, cells, sizeof *cells, err, sizeof err),
                     CDC_ERR_STATE);
    assert_non_null(strstr(err, "an insert ('c') has no before image"));
    assert_int_equal(cdc_change_cells(c, 2, 0, n, cells, sizeof *cells, err, sizeof err), CDC_ERR_INVALID);
    assert_non_null(strstr(err, "image 2 is neither"));
    assert_int_equal(cdc_change_cells(c, -1, 0, n, cells, sizeof *cells, NULL, 0), CDC_ERR_INVALID);
    assert_int_equal(cdc_change_cells(c, CDC_IMAGE_AFTER, 0, n + 1, cells, sizeof *cells, err, sizeof err),
                     CDC_ERR_INVALID);
    assert_non_null(strstr(err, "asked for"));
    assert_int_equal(cdc_change_cells(c, CDC_IMAGE_AFTER, n, 1, cells, sizeof *cells, err, sizeof err),
                     CDC_ERR_INVALID);
    assert_int_equal(cdc_change_cells(c, CDC_IMAGE_AFTER, SIZE_MAX, 2, cells, sizeof *cells, err, sizeof err),
                     CDC_ERR_INVALID);
    assert_int_equal(cdc_change_cells(c, CDC_IMAGE_AFTER, 1, SIZE_MAX, cells, sizeof *cells, err, sizeof err),
                     CDC_ERR_INVALID);
    assert_int_equal(cdc_change_cells(c, CDC_IMAGE_AFTER, 0, n, cells, sizeof *cells - 1, err, sizeof err),
                     CDC_ERR_INVALID);
    assert_non_null(strstr(err, "pass sizeof(cdc_cell)"));
    assert_int_equal(cdc_change_cells(c, CDC_IMAGE_AFTER, 0, n, NULL, sizeof *cells, err, sizeof err),
                     CDC_ERR_INVALID);
    assert_int_equal(cdc_change_cells(NULL, CDC_IMAGE_AFTER, 0, 0, NULL, sizeof *cells, err, sizeof err),
                     CDC_ERR_INVALID);
    /* nothing written by a refused call; an empty range is fine */
    memset(cells, 0x5a, sizeof cells);
    assert_int_equal(cdc_change_cells(c, CDC_IMAGE_AFTER, 0, n + 1, cells, sizeof *cells, NULL, 0), CDC_ERR_INVALID);
    assert_int_equal(((uint8_t *)cells)[0], 0x5a);
    assert_int_equal(cdc_change_cells(c, CDC_IMAGE_AFTER, n, 0, NULL, sizeof *cells, NULL, 0), CDC_OK);
    assert_int_equal(cdc_change_cells(c, CDC_IMAGE_AFTER, 0, n, cells, sizeof *cells, NULL, 0), CDC_OK);

    /* cdc_change_cells_view: the same errors; the pointer NULL and the
     * count 0 on every one */
    const cdc_cell *view = cells;
    size_t nview = 77;
    err[0] = 0;
    assert_int_equal(cdc_change_cells_view(c, CDC_IMAGE_BEFORE, &view, &nview, err, sizeof err), CDC_ERR_STATE);
    assert_non_null(strstr(err, "cdc_change_cells_view: an insert ('c') has no before image"));
    assert_null(view);
    assert_int_equal(nview, 0);
    view = cells, nview = 77;
    assert_int_equal(cdc_change_cells_view(c, 2, &view, &nview, err, sizeof err), CDC_ERR_INVALID);
    assert_non_null(strstr(err, "image 2 is neither"));
    assert_null(view);
    assert_int_equal(nview, 0);
    assert_int_equal(cdc_change_cells_view(c, -1, &view, &nview, NULL, 0), CDC_ERR_INVALID);
    assert_int_equal(cdc_change_cells_view(c, CDC_IMAGE_AFTER, NULL, &nview, err, sizeof err), CDC_ERR_INVALID);
    assert_non_null(strstr(err, "cells is NULL"));
    view = cells;
    assert_int_equal(cdc_change_cells_view(c, CDC_IMAGE_AFTER, &view, NULL, err, sizeof err), CDC_ERR_INVALID);
    assert_non_null(strstr(err, "ncells is NULL"));
    assert_null(view);
    assert_int_equal(cdc_change_cells_view(NULL, CDC_IMAGE_AFTER, &view, &nview, err, sizeof err), CDC_ERR_INVALID);
    assert_non_null(strstr(err, "change is NULL"));
    assert_int_equal(cdc_change_cells_view(c, CDC_IMAGE_AFTER, &view, &nview, err, sizeof err), CDC_OK);
    assert_int_equal(nview, n);
    assert_memory_equal(view, cells, n * sizeof *cells);
    return 0;
}

static void test_cells_bad_args(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *p = bench_binlog(&n);
    cdc_decoder *d;
    char err[256];
    int seen = 0;
    assert_int_equal(cdc_decoder_new(&d, NULL, err, sizeof err), CDC_OK);
    cdc_decoder_set_change_cb(d, bad_args_cb, &seen);
    assert_true(cdc_decoder_feed(d, p, n) >= 0);
    assert_int_equal(cdc_decoder_finish(d), CDC_OK);
    assert_int_equal(seen, 1);
    cdc_decoder_free(d);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lazy_equals_eager),
        cmocka_unit_test(test_adaptive),
        cmocka_unit_test(test_cells_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
