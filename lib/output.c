/*
 * output.c: JSON lines for row changes and events. See output.h and
 * docs/output.md.
 */
#include "output.h"

#include <inttypes.h>
#include <limits.h>

#include <cdc/stream.h>

#include "decoder.h"
#include "decimal.h"
#include "jsonw.h"
#include "render.h"
#include "rows.h"
#include "tablemap.h"
#include "temporal.h"
#include "value.h"

static int put_str(cdc__buf *out, const char *s)
{
    return cdc__render_utf8_string(out, (const uint8_t *)s, strlen(s));
}

static inline int put(cdc__buf *out, const void *s, size_t n)
{
    if (!n) return CDC_OK;
    if (out->cap - out->len < n && cdc__buf_reserve(out, n)) return CDC_ERR_NOMEM;
    cdc__copy_short(out->data + out->len, s, n);
    out->len += n;
    return CDC_OK;
}

#define PUT_LIT(out, lit) put(out, lit, sizeof lit - 1)

/* Numbers are written in place (at most 20 or 21 bytes). */
static int put_u64(cdc__buf *out, uint64_t v)
{
    if (out->cap - out->len < 20 && cdc__buf_reserve(out, 20)) return CDC_ERR_NOMEM;
    out->len += cdc__fmt_u64((char *)out->data + out->len, v);
    return CDC_OK;
}

static int put_i64(cdc__buf *out, int64_t v)
{
    if (out->cap - out->len < 21 && cdc__buf_reserve(out, 21)) return CDC_ERR_NOMEM;
    out->len += cdc__fmt_i64((char *)out->data + out->len, v);
    return CDC_OK;
}

/* The "name": key of column i, after a comma unless it is the first,
 * escaped once per TABLE_MAP when the table has it (see tablemap.h),
 * else now. */
static int put_key(cdc__buf *out, const cdc_table *t, size_t i, bool first)
{
    const char *name = t->col_names[i];
    if (t->jkey && t->jkey_src[i] == name) {
        cdc_bytes k = t->jkey[i];
        /* short keys by one 16-byte copy: jtext has 16 bytes of padding
         * after its last key (tablemap.c) */
        if (k.len <= 16 && out->cap - out->len >= 17) {
            uint8_t *o = out->data + out->len;
            *o = ',';
            o += !first;
            memcpy(o, k.ptr, 16);
            out->len += !first + k.len;
            return CDC_OK;
        }
        if (!first && PUT_LIT(out, ",")) return CDC_ERR_NOMEM;
        return put(out, k.ptr, k.len);
    }
    if (!first && PUT_LIT(out, ",")) return CDC_ERR_NOMEM;
    int rc;
    if (name) {
        rc = put_str(out, name);
    } else {
        rc = PUT_LIT(out, "\"@") || put_u64(out, i + 1) || cdc__buf_putc(out, '"');
    }
    return rc || cdc__buf_putc(out, ':') ? CDC_ERR_NOMEM : CDC_OK;
}

/* Room for a key of up to 16 bytes after its comma, then any number's
 * text (cdc__fmt_double needs 40), an ENUM label of up to 48 bytes, a
 * DECIMAL of up to 18 digits (26 with sign, point and quotes) or a
 * temporal between its quotes (CDC__TEMPORAL_TEXT_MAX + 3). */
#define VALUE_ROOM (17 + CDC__TEMPORAL_TEXT_MAX + 3)
_Static_assert(CDC__TEMPORAL_TEXT_MAX + 3 >= 48, "VALUE_ROOM holds a number or label");

/* The JSON text of ENUM index u: its label, escaped at the TABLE_MAP,
 * when the column has one of at most 48 bytes (else false, nothing
 * written). */
static inline bool put_label(const cdc_column *col, uint64_t u, uint8_t *o, size_t *len_out)
{
    if (!col || !col->jlabels || u == 0 || u > col->n_labels) return false;
    const cdc_bytes *j = &col->jlabels[u - 1];
    if (j->len > 48) return false;
    cdc__copy_short(o, j->ptr, j->len);
    *len_out = j->len;
    return true;
}

/* Quotes around the n bytes of text written at o + 1; returns n + 2. */
static inline size_t quoted(uint8_t *o, size_t n)
{
    o[0] = '"';
    o[n + 1] = '"';
    return n + 2;
}

/*
 * The usual values go straight into the line: with VALUE_ROOM left and a
 * key made at the TABLE_MAP, the key and an integer, double, ENUM label,
 * DECIMAL of up to 18 digits or a temporal are written here without a
 * call of cdc__value_render_json per value; text and everything else go
 * through it. Returns false when the value is not one of these (nothing
 * written).
 */
static inline bool put_value_inline(const cdc_value *v, uint8_t *o, size_t *len_out)
{
    char *at = (char *)o;
    switch (v->kind) {
    case CDC_K_INT:
    case CDC_K_YEAR: *len_out = cdc__fmt_i64(at, v->v.i); return true;
    case CDC_K_UINT:
    case CDC_K_BIT: *len_out = cdc__fmt_u64(at, v->v.u); return true;
    case CDC_K_DOUBLE: *len_out = cdc__fmt_double(at, v->v.d); return true;
    case CDC_K_ENUM: return put_label(v->col, v->v.u, o, len_out);
    case CDC_K_DECIMAL:
        /* as render.c's render_decimal writes it in place; other forms
         * (text, more than 18 digits, no column) go there */
        if ((v->flags & (CDC_VF_TEXT | CDC_VF_SCALED)) != CDC_VF_SCALED || !v->col || (v->col->meta & 0xff) > 18)
            return false;
        *len_out = quoted(o, cdc__decimal_i64_text(v->v.dec.unscaled, v->col->meta & 0xff, at + 1));
        return true;
    case CDC_K_DATE:
    case CDC_K_DATETIME:
    case CDC_K_TIME:
    case CDC_K_TIMESTAMP: *len_out = quoted(o, cdc__temporal_json_text(v, at + 1)); return true;
    default: return false;
    }
}

/*
 * put_value_inline for a cell the table's plan made straight from the
 * image's bytes (rows.c plan_cell: a pending value's cell): the same
 * text as the value it stands for, without making that value. False
 * (nothing written) for the kinds left to the value road: text (the
 * caller writes it), FLOAT, SET, BYTES, JSON, an ENUM without its
 * label, a DECIMAL of more than 18 digits.
 */
static inline bool put_cell_inline(const cdc_cell *cell, const cdc_column *col, uint8_t *o, size_t *len_out)
{
    char *at = (char *)o;
    switch (cell->kind) {
    case CDC_K_INT:
    case CDC_K_YEAR: *len_out = cdc__fmt_i64(at, cell->v.i); return true;
    case CDC_K_UINT:
    case CDC_K_BIT: *len_out = cdc__fmt_u64(at, cell->v.u); return true;
    case CDC_K_DOUBLE: *len_out = cdc__fmt_double(at, cell->v.d); return true;
    case CDC_K_ENUM: return put_label(col, cell->v.u, o, len_out);
    case CDC_K_DECIMAL:
        /* a plan cell of a DECIMAL is its value's CDC_VF_SCALED form */
        if ((cell->flags & CDC_CELL_DECIMAL_WIDE) || (col->meta & 0xff) > 18) return false;
        *len_out = quoted(o, cdc__decimal_i64_text(cell->v.i, col->meta & 0xff, at + 1));
        return true;
    case CDC_K_DATE:
    case CDC_K_DATETIME:
    case CDC_K_TIME:
    case CDC_K_TIMESTAMP: *len_out = quoted(o, cdc__temporal_cell_json_text(cell, at + 1)); return true;
    default: return false;
    }
}

/* Text as put_image writes a CDC_K_STRING value of column col: as UTF-8
 * when its collation renders so (looked up once per TABLE_MAP, else once
 * for the image's columns of the same collation, *utf8_cs), else
 * converted. */
static inline int put_text(cdc__buf *out, const uint8_t *s, size_t len, bool utf8_flag, const cdc_column *col,
                           unsigned *utf8_cs, cdc__err *err)
{
    unsigned cs = col ? col->charset : 0;
    bool as_utf8 = utf8_flag || (col && (col->flags & CDC_COLF_UTF8_TEXT)) || cs == *utf8_cs;
    if (!as_utf8 && cdc__charset_renders_as_utf8(cs)) {
        *utf8_cs = cs;
        as_utf8 = true;
    }
    if (as_utf8)
        return cdc__render_utf8_string(out, s, len) ? cdc__err_set(err, CDC_ERR_NOMEM, "out of memory") : CDC_OK;
    return cdc__render_text(out, s, len, cs, err);
}

/*
 * put_image from the image's cells (c->cb, c->ca: made with the image
 * when the table's rows are read as cells, see cdc__change_render_json):
 * a value still pending, or every value of an image read as cells alone,
 * is written from its cell, which the plan made from the image's bytes
 * (rows.c plan_cell), so the value itself is never made and stays
 * pending for any getter called after. A value the image already made
 * (NULL, partial JSON, a column without a plan) and the kinds
 * put_cell_inline leaves are written from the value, which
 * cdc_change_before/after make as they would for the callback
 * (settling an image read as cells alone first).
 */
/* A column of put_image_cells written from its value (see there); out
 * of line, so that the loop keeps its pointers in registers. */
static __attribute__((noinline)) int put_cell_value(const cdc_change *c, bool after, size_t i, cdc__buf *out,
                                                    cdc__err *err)
{
    const cdc_value *v = after ? cdc_change_after(c, i) : cdc_change_before(c, i);
    return cdc__value_render_json(v, out, err);
}

/* The loop of put_image_cells; present NULL (every value pending) and
 * short_keys true are passed as constants for the usual image of a
 * table read as cells alone, whose loop then tests neither per column. */
static inline __attribute__((always_inline)) int cells_loop(const cdc_change *c, bool after, const cdc_cell *cells,
                                                            const uint8_t *present, bool short_keys, cdc__buf *out,
                                                            cdc__err *err)
{
    const cdc_table *t = c->t;
    size_t n = t->ncols < c->ncols ? t->ncols : c->ncols;
    /* every column's key goes after a comma; the first comma is made the
     * image's '{' at the end */
    size_t open = out->len;
    const cdc_bytes *jkey = t->jkey;
    const char *const *jkey_src = t->jkey_src, *const *names = (const char *const *)t->col_names;
    unsigned utf8_cs = UINT_MAX;
    const cdc_column *cols = t->cols;
    const cdc_cell *cell = cells;
    /* The line's end and its room are kept here, in registers, not in
     * *out: the formatters called per value write through a char pointer
     * the compiler cannot tell from out's fields, so out->len and
     * out->cap would otherwise be stored and loaded again around every
     * call. out->len is brought up to date (SYNC_OUT) before anything
     * that writes through out, and o and last read back (LOAD_OUT) after.
     * last is the last place with VALUE_ROOM after it (0 when there is
     * none): one compare per column tells the room. */
    uint8_t *o;
    uintptr_t last;
#define SYNC_OUT() (out->len = (size_t)(o - out->data))
#define LOAD_OUT()                                                                                          \
    (o = out->data + out->len,                                                                             \
     last = out->cap >= VALUE_ROOM ? (uintptr_t)(out->data + out->cap - VALUE_ROOM) : 0)
    LOAD_OUT();
    for (size_t i = 0; i < n; i++, cell++) {
        /* indexed, not stepped: only ENUM, DECIMAL and text read it */
        const cdc_column *col = &cols[i];
        uint8_t state = present ? present[i] : CDC__PRESENT_PENDING;
        if (!state) continue; /* absent from a MINIMAL/NOBLOB image, or hidden */
        if ((short_keys || (jkey && jkey_src[i] == names[i] && jkey[i].len <= 16)) &&
            (uintptr_t)o <= last) {
            /* the key by one 16-byte copy, as put_image writes it */
            *o = ',';
            memcpy(o + 1, jkey[i].ptr, 16);
            o += 1 + jkey[i].len;
        } else {
            SYNC_OUT();
            int kr = put_key(out, t, i, false) ||
                     (out->cap - out->len < VALUE_ROOM && cdc__buf_reserve(out, VALUE_ROOM));
            LOAD_OUT();
            if (kr) return CDC_ERR_NOMEM;
        }
        int vr;
        size_t vn;
        if (state == CDC__PRESENT_PENDING && put_cell_inline(cell, col, o, &vn)) {
            o += vn;
            continue;
        }
        SYNC_OUT();
        if (state == CDC__PRESENT_PENDING && cell->kind == CDC_K_STRING &&
            ((cell->flags & CDC_CELL_UTF8) || (col->flags & CDC_COLF_UTF8_TEXT))) {
            /* put_text's usual case, without its look-ups: text of a
             * column found at the TABLE_MAP to render as UTF-8 */
            vr = cdc__render_utf8_string(out, cell->v.b.ptr, cell->v.b.len)
                     ? cdc__err_set(err, CDC_ERR_NOMEM, "out of memory")
                     : CDC_OK;
        } else if (state == CDC__PRESENT_PENDING && cell->kind == CDC_K_STRING)
            vr = put_text(out, cell->v.b.ptr, cell->v.b.len, (cell->flags & CDC_CELL_UTF8) != 0, col, &utf8_cs, err);
        else
            vr = put_cell_value(c, after, i, out, err);
        LOAD_OUT();
        if (vr) {
            cdc__err_prefix(err, "%s.%s column %zu", cdc_table_db(t), cdc_table_name(t), i + 1);
            return vr;
        }
    }
    SYNC_OUT();
#undef SYNC_OUT
#undef LOAD_OUT
    if (out->len == open) return PUT_LIT(out, "{}") ? CDC_ERR_NOMEM : CDC_OK;
    out->data[open] = '{';
    return PUT_LIT(out, "}") ? CDC_ERR_NOMEM : CDC_OK;
}

static int put_image_cells(const cdc_change *c, bool after, const cdc_cell *cells, cdc__buf *out, cdc__err *err)
{
    /* NULL for an image read as cells alone: every value pending */
    const uint8_t *present = after ? c->pa : c->pb;
    if (!present && c->t->jkey && c->t->jkeys_short) return cells_loop(c, after, cells, NULL, true, out, err);
    return cells_loop(c, after, cells, present, c->t->jkey && c->t->jkeys_short, out, err);
}

static int put_image(const cdc_change *c, bool after, cdc__buf *out, cdc__err *err)
{
    const cdc_table *t = c->t;
    size_t n = t->ncols;
    char op = c->op; /* 'r' snapshot reads have an after image only */
    bool exists = after ? op != 'd' : op == 'u' || op == 'd';
    if (!exists) return PUT_LIT(out, "null");
    const cdc_cell *cells = after ? c->ca : c->cb;
    if (cells && c->lazy) return put_image_cells(c, after, cells, out, err);
    cdc__change_settle(c); /* an image read as cells alone (decoder.h) */
    int rc = PUT_LIT(out, "{");
    bool first = true;
    /* what cdc_change_before/after give, without a call per column */
    const cdc_value *vals = after ? c->after : c->before;
    const uint8_t *present = after ? c->pa : c->pb;
    if (!vals) n = 0;
    if (n > c->ncols) n = c->ncols;
    /* values not made yet (cdc__rows_image_lazy): the decoder's own arrays */
    if (c->lazy && n) cdc__rows_materialize_image(t, n, (cdc_value *)vals, (uint8_t *)present);
    const cdc_bytes *jkey = t->jkey;
    const char *const *jkey_src = t->jkey_src, *const *names = (const char *const *)t->col_names;
    unsigned utf8_cs = UINT_MAX; /* a collation found to render as UTF-8 */
    /* every key valid and short (tablemap.h): no check per column */
    bool short_keys = jkey && t->jkeys_short;
    for (size_t i = 0; i < n && rc == CDC_OK; i++) {
        if (!present[i]) continue; /* absent from a MINIMAL/NOBLOB image */
        const cdc_value *v = &vals[i];
        if ((short_keys || (jkey && jkey_src[i] == names[i] && jkey[i].len <= 16)) &&
            out->cap - out->len >= VALUE_ROOM) {
            /* the key by one 16-byte copy: jtext has 16 bytes of padding
             * after its last key (tablemap.c) */
            uint8_t *o = out->data + out->len;
            *o = ',';
            o += !first;
            memcpy(o, jkey[i].ptr, 16);
            o += jkey[i].len;
            first = false;
            size_t vn;
            if (put_value_inline(v, o, &vn)) {
                out->len = (size_t)(o + vn - out->data);
                continue;
            }
            out->len = (size_t)(o - out->data);
            if (v->kind == CDC_K_STRING) {
                /* text, as cdc__value_render_json renders it, without its
                 * frame; the character set looked up once per TABLE_MAP
                 * (CDC_COLF_UTF8_TEXT), else once for the image's columns
                 * of the same collation */
                int vr = put_text(out, v->v.b.ptr, v->v.b.len, (v->flags & CDC_VF_UTF8) != 0, v->col, &utf8_cs, err);
                if (vr) {
                    cdc__err_prefix(err, "%s.%s column %zu", cdc_table_db(t), cdc_table_name(t), i + 1);
                    return vr;
                }
                continue;
            }
        } else {
            rc |= put_key(out, t, i, first);
            first = false;
            if (rc) break;
        }
        int vr = cdc__value_render_json(v, out, err);
        if (vr) {
            cdc__err_prefix(err, "%s.%s column %zu", cdc_table_db(t), cdc_table_name(t), i + 1);
            return vr;
        }
    }
    rc |= PUT_LIT(out, "}");
    return rc ? CDC_ERR_NOMEM : CDC_OK;
}

/* The end of a change's line after its images:
 *   ,"pos":{"file":F,"offset":O,"row":R},"gtid":G,"server_id":S,"ts_ms":T}
 * written piece by piece. */
static int put_tail_slow(const cdc_change *c, cdc__buf *out)
{
    int rc = PUT_LIT(out, ",\"pos\":{\"file\":");
    cdc_bytes jfile = cdc__event_file_json(c->ev); /* escaped once per file */
    rc |= jfile.len ? put(out, jfile.ptr, jfile.len) : put_str(out, cdc_change_file(c));
    rc |= PUT_LIT(out, ",\"offset\":");
    rc |= put_u64(out, cdc_change_offset(c));
    rc |= PUT_LIT(out, ",\"row\":");
    rc |= put_u64(out, c->row);
    rc |= PUT_LIT(out, "},\"gtid\":");
    const char *g = cdc_change_gtid(c);
    if (c->jgtid.len) rc |= put(out, c->jgtid.ptr, c->jgtid.len); /* escaped once per transaction */
    else rc |= g[0] ? put_str(out, g) : PUT_LIT(out, "null");
    rc |= PUT_LIT(out, ",\"server_id\":");
    rc |= put_u64(out, cdc_change_server_id(c));
    rc |= PUT_LIT(out, ",\"ts_ms\":");
    rc |= put_i64(out, c->ts_ms);
    rc |= PUT_LIT(out, "}");
    return rc;
}

/* Copies n bytes: a part of the tail, mostly 32 to 64 bytes, by four
 * overlapping 16-byte moves inline, which cost less than a call of
 * memcpy (the length is the same for every line of an event, so its
 * branches are foreseen). */
static inline void copy_part(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n >= 32 && n <= 64) {
        memcpy(dst, src, 16);
        memcpy(dst + 16, src + 16, 16);
        memcpy(dst + n - 32, src + n - 32, 16);
        memcpy(dst + n - 16, src + n - 16, 16);
    } else {
        cdc__copy_short(dst, src, n);
    }
}

/* Makes c's tail (output.h) in lt; false when it does not fit (then
 * nothing is made). */
static bool tail_make(cdc__line_tail *lt, const cdc_change *c, cdc_bytes jfile)
{
    /* the names, 64 bytes of fixed text, offset and ts_ms of at most 20
     * characters each, server_id of at most 10 */
    if (jfile.len + c->jgtid.len + 64 + 20 + 20 + 10 > CDC__LINE_TAIL_MAX) return false;
    uint8_t *o = lt->text;
#define TAIL_LIT(lit) (memcpy(o, lit, sizeof lit - 1), o += sizeof lit - 1)
    TAIL_LIT(",\"pos\":{\"file\":");
    memcpy(o, jfile.ptr, jfile.len);
    o += jfile.len;
    TAIL_LIT(",\"offset\":");
    o += cdc__fmt_u64((char *)o, cdc_change_offset(c));
    TAIL_LIT(",\"row\":");
    lt->head_len = (uint16_t)(o - lt->text);
    TAIL_LIT("},\"gtid\":");
    memcpy(o, c->jgtid.ptr, c->jgtid.len);
    o += c->jgtid.len;
    TAIL_LIT(",\"server_id\":");
    o += cdc__fmt_u64((char *)o, cdc_change_server_id(c));
    TAIL_LIT(",\"ts_ms\":");
    o += cdc__fmt_i64((char *)o, c->ts_ms);
    *o++ = '}';
#undef TAIL_LIT
    lt->rest_len = (uint16_t)(o - lt->text - lt->head_len);
    return true;
}

/* The tail from c's cdc__line_tail, made at the event's first line, with
 * the row number written between its two parts. */
static int put_tail(const cdc_change *c, cdc__buf *out)
{
    cdc__line_tail *lt = c->tail;
    if (!lt || !c->jgtid.len) return put_tail_slow(c, out);
    if (!lt->head_len) {
        cdc_bytes jfile = cdc__event_file_json(c->ev);
        if (!jfile.len || !tail_make(lt, c, jfile)) return put_tail_slow(c, out);
    }
    size_t head = lt->head_len, rest = lt->rest_len;
    size_t need = head + rest + 20;
    if (out->cap - out->len < need && cdc__buf_reserve(out, need)) return CDC_ERR_NOMEM;
    uint8_t *o = out->data + out->len;
    copy_part(o, lt->text, head);
    o += head;
    o += cdc__fmt_u64((char *)o, c->row);
    copy_part(o, lt->text + head, rest);
    out->len = (size_t)(o + rest - out->data);
    return CDC_OK;
}

/* The JSON of the table's database or name, from its jtext: one 16-byte
 * copy when it is that short, as the keys are (at least 16 bytes of
 * jtext follow either: the keys, then 16 bytes of padding), so up to 15
 * bytes more are written to o. */
static inline void copy_name(uint8_t *o, cdc_bytes name)
{
    if (name.len <= 16) memcpy(o, name.ptr, 16);
    else memcpy(o, name.ptr, name.len);
}

int cdc__change_render_json(const cdc_change *c, cdc__buf *out, cdc__err *err)
{
    const cdc_table *t = c->t;
    int rc;
    if (t->jtext) {
        /* the line's head up to its before image, with the table's names
         * escaped once per TABLE_MAP: one room check for all of it; for
         * a change without a before image (an insert, a snapshot read:
         * as put_image tells) its null and the after image's key too */
#define HEAD_OP "{\"op\":\"?\",\"db\":"
#define HEAD_TABLE ",\"table\":"
#define HEAD_BEFORE ",\"before\":"
#define HEAD_NULL_AFTER "null,\"after\":"
        bool no_before = c->op != 'u' && c->op != 'd';
        size_t need = sizeof HEAD_OP - 1 + t->jdb.len + sizeof HEAD_TABLE - 1 + t->jname.len + sizeof HEAD_BEFORE -
                      1 + sizeof HEAD_NULL_AFTER - 1 + 16 /* copy_name's slack */;
        if (out->cap - out->len < need && cdc__buf_reserve(out, need))
            return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
        uint8_t *o = out->data + out->len;
        memcpy(o, HEAD_OP, sizeof HEAD_OP - 1);
        o[7] = (uint8_t)c->op;
        o += sizeof HEAD_OP - 1;
        copy_name(o, t->jdb);
        o += t->jdb.len;
        memcpy(o, HEAD_TABLE, sizeof HEAD_TABLE - 1);
        o += sizeof HEAD_TABLE - 1;
        copy_name(o, t->jname);
        o += t->jname.len;
        memcpy(o, HEAD_BEFORE, sizeof HEAD_BEFORE - 1);
        o += sizeof HEAD_BEFORE - 1;
        /* written either way, counted only without a before image */
        memcpy(o, HEAD_NULL_AFTER, sizeof HEAD_NULL_AFTER - 1);
        o += no_before ? sizeof HEAD_NULL_AFTER - 1 : 0;
        out->len = (size_t)(o - out->data);
#undef HEAD_OP
#undef HEAD_TABLE
#undef HEAD_BEFORE
#undef HEAD_NULL_AFTER
        if (no_before) goto after_image;
        goto images;
    }
    char head[] = "{\"op\":\"?\",\"db\":";
    head[7] = cdc_change_op(c);
    rc = put(out, head, sizeof head - 1);
    rc |= put_str(out, cdc_table_db(t));
    rc |= PUT_LIT(out, ",\"table\":");
    rc |= put_str(out, cdc_table_name(t));
    rc |= PUT_LIT(out, ",\"before\":");
    if (rc) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
images:
    if ((rc = put_image(c, false, out, err))) return rc;
    rc = PUT_LIT(out, ",\"after\":");
    if (rc) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
after_image:
    if ((rc = put_image(c, true, out, err))) return rc;
    rc = put_tail(c, out);
    if (rc) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    /* Whole images were read: the decoder then makes the table's next
     * images as cells (decoder.c, as for cdc_change_cells), which
     * put_image_cells writes without making their values. */
    ((cdc_change *)c)->cells_read |= CDC__READ_JSON;
    return CDC_OK;
}

int cdc__event_render_json(const cdc_event *e, cdc__buf *out, cdc__err *err)
{
    int rc = cdc__buf_puts(out, "{\"event\":");
    rc |= put_str(out, cdc_event_name(e));
    rc |= cdc__buf_printf(out, ",\"type\":%d,\"pos\":{\"file\":", cdc_event_type_of(e));
    rc |= put_str(out, cdc_event_file(e));
    rc |= cdc__buf_printf(out,
                          ",\"offset\":%" PRIu64 "},\"server_id\":%" PRIu32 ",\"ts\":%" PRIu32
                          ",\"size\":%" PRIu32 ",\"log_pos\":%" PRIu32,
                          cdc_event_offset(e), cdc_event_server_id(e), cdc_event_timestamp(e),
                          cdc_event_size(e), cdc_event_log_pos(e));
    if (cdc_event_is_inner(e)) rc |= cdc__buf_puts(out, ",\"inner\":true");
    if (cdc_event_is_unknown(e)) rc |= cdc__buf_puts(out, ",\"unknown\":true");
    const char *g = cdc_event_gtid(e);
    if (g[0]) {
        rc |= cdc__buf_puts(out, ",\"gtid\":");
        rc |= put_str(out, g);
    }
    rc |= cdc__buf_putc(out, '}');
    return rc ? cdc__err_set(err, CDC_ERR_NOMEM, "out of memory") : CDC_OK;
}

/* "pos":{"file":F,"offset":N},"checkpoint":"..." (no leading comma). */
static int put_pos(cdc__buf *out, const cdc_position *pos)
{
    int rc = PUT_LIT(out, "\"pos\":{\"file\":");
    rc |= put_str(out, cdc_position_file(pos));
    rc |= PUT_LIT(out, ",\"offset\":");
    rc |= put_u64(out, cdc_position_offset(pos));
    rc |= PUT_LIT(out, "},\"checkpoint\":");
    if (rc) return CDC_ERR_NOMEM;
    char small[512], *txt = small;
    size_t need = 0;
    cdc_position_format(pos, NULL, 0, &need);
    if (need > sizeof small && !(txt = cdc__malloc(out->alloc, need))) return CDC_ERR_NOMEM;
    rc = cdc_position_format(pos, txt, need > sizeof small ? need : sizeof small, NULL);
    if (rc == CDC_OK) rc = put_str(out, txt);
    if (txt != small) cdc__free(out->alloc, txt);
    return rc ? CDC_ERR_NOMEM : CDC_OK;
}

static int put_gtid(cdc__buf *out, const char *g)
{
    return g && g[0] ? put_str(out, g) : PUT_LIT(out, "null");
}

int cdc__txn_render_json(cdc__buf *out, const char *event, const char *gtid, uint32_t server_id, int64_t ts_ms,
                         const cdc_position *pos, cdc__err *err)
{
    int rc = PUT_LIT(out, "{\"event\":");
    rc |= put_str(out, event);
    rc |= PUT_LIT(out, ",\"gtid\":");
    rc |= put_gtid(out, gtid);
    rc |= PUT_LIT(out, ",\"server_id\":");
    rc |= put_u64(out, server_id);
    rc |= PUT_LIT(out, ",\"ts_ms\":");
    rc |= put_i64(out, ts_ms);
    rc |= cdc__buf_putc(out, ',');
    if (!rc) rc = put_pos(out, pos);
    if (!rc) rc = cdc__buf_putc(out, '}');
    return rc ? cdc__err_set(err, CDC_ERR_NOMEM, "out of memory") : CDC_OK;
}

int cdc__ddl_render_json(cdc__buf *out, const cdc_query *q, const cdc_position *pos, cdc__err *err)
{
    cdc_bytes db = cdc_query_db(q), sql = cdc_query_sql(q);
    int rc = PUT_LIT(out, "{\"event\":\"ddl\",\"db\":");
    rc |= cdc__render_utf8_string(out, db.ptr, db.len);
    rc |= PUT_LIT(out, ",\"sql\":");
    rc |= cdc__render_utf8_string(out, sql.ptr, sql.len);
    rc |= PUT_LIT(out, ",\"gtid\":");
    rc |= put_gtid(out, cdc_event_gtid(cdc_query_event(q)));
    rc |= cdc__buf_putc(out, ',');
    if (!rc) rc = put_pos(out, pos);
    if (!rc) rc = cdc__buf_putc(out, '}');
    return rc ? cdc__err_set(err, CDC_ERR_NOMEM, "out of memory") : CDC_OK;
}

int cdc__position_render_json(cdc__buf *out, const char *event, const cdc_position *pos, cdc__err *err)
{
    int rc = PUT_LIT(out, "{\"event\":");
    rc |= put_str(out, event);
    rc |= cdc__buf_putc(out, ',');
    if (!rc) rc = put_pos(out, pos);
    if (!rc) rc = cdc__buf_putc(out, '}');
    return rc ? cdc__err_set(err, CDC_ERR_NOMEM, "out of memory") : CDC_OK;
}
