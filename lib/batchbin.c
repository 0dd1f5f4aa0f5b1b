/*
 * batchbin.c: records of a binary batch. See batchbin.h and
 * docs/output.md ("Binary batches"). Integers are little-endian whatever
 * the host; strings are a u32 length and their bytes.
 *
 * Every value keeps what its JSON form says, exactly: where a value has
 * no typed form here (zero dates, SET, GEOMETRY, INET, a FLOAT that is
 * not finite...) it is sent as that JSON form (CDC__BV_OTHER), rendered
 * by the same code as the lines.
 */
#include "batchbin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cdc/value.h>

#include "charset.h"
#include "jsonw.h"
#include "render.h"
#include "tablemap.h"
#include "value.h"

#define CDC__BIN_TABLE_SLOTS 64

struct cdc__bin_table {
    const cdc_table *t;
    size_t ncols;
    char *names; /* db \0 table \0 column names \0 ... ("" for an unnamed column) */
};

void cdc__bin_tables_init(cdc__bin_tables *ts, const cdc_allocator *a)
{
    memset(ts, 0, sizeof *ts);
    ts->alloc = a;
}

void cdc__bin_tables_forget(cdc__bin_tables *ts)
{
    for (size_t i = 0; i < ts->n; i++) cdc__free(ts->alloc, ts->t[i].names);
    ts->n = ts->next = 0;
}

void cdc__bin_tables_free(cdc__bin_tables *ts)
{
    cdc__bin_tables_forget(ts);
    cdc__free(ts->alloc, ts->t);
    ts->t = NULL;
}

/* ---- primitives ---------------------------------------------------------- */

static inline int room(cdc__buf *o, size_t n)
{
    if (o->cap - o->len >= n) return CDC_OK;
    return cdc__buf_reserve(o, n) ? CDC_ERR_NOMEM : CDC_OK;
}

/* The putN functions write into room already reserved. */
static inline void put8(cdc__buf *o, uint8_t v)
{
    o->data[o->len++] = v;
}

static inline void put16(cdc__buf *o, uint16_t v)
{
    uint8_t *p = o->data + o->len;
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    o->len += 2;
}

static inline void put32_at(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void put32(cdc__buf *o, uint32_t v)
{
    put32_at(o->data + o->len, v);
    o->len += 4;
}

static inline void put64(cdc__buf *o, uint64_t v)
{
    uint8_t *p = o->data + o->len;
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
    o->len += 8;
}

/* A u32 length and n bytes, reserved here. */
static int put_bytes(cdc__buf *o, const void *s, size_t n)
{
    if (n > UINT32_MAX) return CDC_ERR_TOO_LARGE;
    if (room(o, 4 + n)) return CDC_ERR_NOMEM;
    put32(o, (uint32_t)n);
    if (n) memcpy(o->data + o->len, s, n);
    o->len += n;
    return CDC_OK;
}

static int put_cstr(cdc__buf *o, const char *s)
{
    return put_bytes(o, s, s ? strlen(s) : 0);
}

/* Opens a value of `tag` whose u32 length is patched by close_len(). */
static int open_len(cdc__buf *o, uint8_t tag, size_t *at)
{
    if (room(o, 5)) return CDC_ERR_NOMEM;
    put8(o, tag);
    *at = o->len;
    o->len += 4;
    return CDC_OK;
}

static int close_len(cdc__buf *o, size_t at)
{
    size_t n = o->len - at - 4;
    if (n > UINT32_MAX) return CDC_ERR_TOO_LARGE;
    put32_at(o->data + at, (uint32_t)n);
    return CDC_OK;
}

/* ---- values -------------------------------------------------------------- */

static int nomem(cdc__err *err)
{
    return cdc__err_set(err, CDC_ERR_NOMEM, "batch: out of memory");
}

/* The value's JSON form, as the lines have it. */
static int other(cdc__buf *o, const cdc_value *v, cdc__err *err)
{
    size_t at;
    if (open_len(o, CDC__BV_OTHER, &at)) return nomem(err);
    int rc = cdc__value_render_json(v, o, err);
    if (rc) return rc;
    return close_len(o, at);
}

/* Text s[0..n) in collation `charset` as UTF-8, converted the way the
 * lines convert it; a binary charset (base64 in the lines) goes as the
 * JSON form. */
static int text(cdc__buf *o, const cdc_value *v, const uint8_t *s, size_t n, unsigned charset, bool utf8,
                cdc__err *err)
{
    const cdc__charset *cs = cdc__charset_of(charset);
    if (!utf8 && cs->kind == CDC_CS_BINARY) return other(o, v, err);
    if (utf8 || cs->kind == CDC_CS_UTF8 || cs->kind == CDC_CS_ASCII || cs->kind == CDC_CS_UNKNOWN) {
        if (cdc__utf8_valid(s, n)) {
            if (room(o, 1)) return nomem(err);
            put8(o, CDC__BV_TEXT);
            return put_bytes(o, s, n) == CDC_OK ? CDC_OK : nomem(err);
        }
        size_t at;
        if (open_len(o, CDC__BV_TEXT, &at) || cdc__utf8_sanitize(s, n, o)) return nomem(err);
        return close_len(o, at);
    }
    size_t at;
    if (open_len(o, CDC__BV_TEXT, &at)) return nomem(err);
    int rc = cdc__charset_to_utf8(cs, s, n, o, err);
    return rc ? rc : close_len(o, at);
}

/* BINARY(n) values are stored without their trailing zero bytes; the
 * value is the column's full width (as render.c pads them). */
static size_t binary_width(const cdc_value *v)
{
    const cdc_column *c = v->col;
    if (!c || c->type != CDC_T_STRING || c->real_type == CDC_T_ENUM || c->real_type == CDC_T_SET ||
        c->charset != CDC_CHARSET_BINARY || v->v.b.len >= c->meta)
        return v->v.b.len;
    return c->meta;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* A date every language's date type holds: year 1-9999, a real day. */
static bool real_date(const cdc_datetime *d)
{
    static const uint8_t mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (d->zero || d->year < 1 || d->year > 9999 || d->month < 1 || d->month > 12 || d->day < 1) return false;
    unsigned last = mdays[d->month - 1] + (d->month == 2 && leap(d->year));
    return d->day <= last && d->hour < 24 && d->minute < 60 && d->second < 60 && d->usec < 1000000;
}

static int value(cdc__buf *o, const cdc_value *v, cdc__err *err)
{
    if (room(o, 16)) return nomem(err);
    switch (v->kind) {
    case CDC_K_NULL: put8(o, CDC__BV_NULL); return CDC_OK;
    case CDC_K_INT:
    case CDC_K_YEAR:
        put8(o, CDC__BV_INT);
        put64(o, (uint64_t)v->v.i);
        return CDC_OK;
    case CDC_K_UINT:
    case CDC_K_BIT:
        put8(o, CDC__BV_UINT);
        put64(o, v->v.u);
        return CDC_OK;
    case CDC_K_DOUBLE:
    case CDC_K_FLOAT: {
        double d = v->kind == CDC_K_DOUBLE ? v->v.d : (double)v->v.f;
        if (!isfinite(d)) return other(o, v, err);
        if (v->kind == CDC_K_FLOAT) {
            /* the float's shortest text, read as a double: what a reader
             * of the line (and SELECT's text) gets */
            char num[48];
            cdc__fmt_float(num, v->v.f);
            d = strtod(num, NULL);
        }
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        put8(o, CDC__BV_DOUBLE);
        put64(o, bits);
        return CDC_OK;
    }
    case CDC_K_DECIMAL: {
        char num[80];
        size_t need = 0;
        if (cdc_value_decimal(v, num, sizeof num, &need) != CDC_OK) return other(o, v, err);
        put8(o, CDC__BV_DECIMAL);
        return put_bytes(o, num, need - 1) ? nomem(err) : CDC_OK;
    }
    case CDC_K_DATE:
    case CDC_K_DATETIME:
    case CDC_K_TIMESTAMP: {
        cdc_datetime d;
        if (cdc_value_temporal(v, &d) != CDC_OK || !real_date(&d)) return other(o, v, err);
        put8(o, v->kind == CDC_K_DATE ? CDC__BV_DATE : v->kind == CDC_K_DATETIME ? CDC__BV_DATETIME
                                                                                 : CDC__BV_TIMESTAMP);
        put16(o, (uint16_t)d.year);
        put8(o, (uint8_t)d.month);
        put8(o, (uint8_t)d.day);
        if (v->kind != CDC_K_DATE) {
            put8(o, (uint8_t)d.hour);
            put8(o, (uint8_t)d.minute);
            put8(o, (uint8_t)d.second);
            put32(o, d.usec);
        }
        return CDC_OK;
    }
    case CDC_K_TIME: {
        cdc_datetime d;
        if (cdc_value_temporal(v, &d) != CDC_OK) return other(o, v, err);
        int64_t us = (((int64_t)d.hour * 60 + d.minute) * 60 + d.second) * 1000000 + d.usec;
        put8(o, CDC__BV_TIME);
        put64(o, (uint64_t)(d.negative ? -us : us));
        return CDC_OK;
    }
    case CDC_K_BYTES: {
        size_t n = v->v.b.len, w = binary_width(v);
        put8(o, CDC__BV_BYTES);
        if (room(o, 4 + w)) return nomem(err);
        put32(o, (uint32_t)w);
        if (n) memcpy(o->data + o->len, v->v.b.ptr, n);
        memset(o->data + o->len + n, 0, w - n);
        o->len += w;
        return CDC_OK;
    }
    case CDC_K_STRING:
        return text(o, v, v->v.b.ptr, v->v.b.len, v->col ? v->col->charset : 0, (v->flags & CDC_VF_UTF8) != 0,
                    err);
    case CDC_K_ENUM:
        if (v->col && v->col->n_labels && v->v.u <= v->col->n_labels) {
            if (v->v.u == 0) { /* the '' error value */
                put8(o, CDC__BV_TEXT);
                put32(o, 0);
                return CDC_OK;
            }
            const cdc_bytes *l = &v->col->labels[v->v.u - 1];
            return text(o, v, l->ptr, l->len, v->col->charset, false, err);
        }
        return other(o, v, err);
    case CDC_K_JSON: {
        size_t at;
        if (open_len(o, CDC__BV_JSON, &at)) return nomem(err);
        int rc = cdc__value_render_json(v, o, err);
        return rc ? rc : close_len(o, at);
    }
    default: return other(o, v, err);
    }
}

/* ---- tables -------------------------------------------------------------- */

static bool same_names(const struct cdc__bin_table *e, const cdc_table *t)
{
    const char *p = e->names;
    size_t n = strlen(p);
    if (strcmp(p, cdc_table_db(t))) return false;
    p += n + 1;
    n = strlen(p);
    if (strcmp(p, cdc_table_name(t))) return false;
    p += n + 1;
    for (size_t i = 0; i < e->ncols; i++) {
        const char *name = cdc_table_column_name(t, i);
        if (strcmp(p, name ? name : "")) return false;
        p += strlen(p) + 1;
    }
    return true;
}

/* The slot of t, sending its 'T' record first when the reader lacks it. */
static int table_slot(cdc__buf *o, cdc__bin_tables *ts, const cdc_table *t, uint32_t *slot, cdc__err *err)
{
    size_t ncols = cdc_table_column_count(t);
    for (size_t i = 0; i < ts->n; i++) {
        const struct cdc__bin_table *e = &ts->t[i];
        if (e->t == t && e->ncols == ncols && same_names(e, t)) {
            *slot = (uint32_t)i;
            return CDC_OK;
        }
    }
    /* the names, copied to recognise a table at a reused address */
    size_t len = strlen(cdc_table_db(t)) + strlen(cdc_table_name(t)) + 2;
    for (size_t i = 0; i < ncols; i++) {
        const char *name = cdc_table_column_name(t, i);
        len += (name ? strlen(name) : 0) + 1;
    }
    char *names = cdc__malloc(ts->alloc, len), *p = names;
    if (!names) return nomem(err);
    const char *parts[2] = {cdc_table_db(t), cdc_table_name(t)};
    for (int k = 0; k < 2; k++) {
        size_t n = strlen(parts[k]) + 1;
        memcpy(p, parts[k], n);
        p += n;
    }
    for (size_t i = 0; i < ncols; i++) {
        const char *name = cdc_table_column_name(t, i);
        size_t n = name ? strlen(name) + 1 : 1;
        memcpy(p, name ? name : "", n);
        p += n;
    }
    size_t i;
    if (ts->n < CDC__BIN_TABLE_SLOTS) {
        if (!ts->t && !(ts->t = cdc__calloc(ts->alloc, CDC__BIN_TABLE_SLOTS, sizeof *ts->t))) {
            cdc__free(ts->alloc, names);
            return nomem(err);
        }
        i = ts->n++;
    } else {
        i = ts->next;
        ts->next = (ts->next + 1) % CDC__BIN_TABLE_SLOTS;
        cdc__free(ts->alloc, ts->t[i].names);
    }
    ts->t[i] = (struct cdc__bin_table){t, ncols, names};
    *slot = (uint32_t)i;

    /* 'T' slot db table ncols names ("@N" for an unnamed column, as in
     * the lines) */
    if (room(o, 9)) return nomem(err);
    put8(o, CDC__BIN_TABLE);
    put32(o, (uint32_t)i);
    int rc = put_cstr(o, cdc_table_db(t));
    rc |= put_cstr(o, cdc_table_name(t));
    rc |= room(o, 4);
    if (rc) return nomem(err);
    put32(o, (uint32_t)ncols);
    for (size_t c = 0; c < ncols && !rc; c++) {
        const char *name = cdc_table_column_name(t, c);
        char anon[32];
        if (!name) {
            snprintf(anon, sizeof anon, "@%zu", c + 1);
            name = anon;
        }
        rc = put_cstr(o, name);
    }
    return rc ? nomem(err) : CDC_OK;
}

/* ---- records ------------------------------------------------------------- */

static int image(cdc__buf *o, const cdc_change *c, bool after, size_t n, cdc__err *err)
{
    const cdc_table *t = cdc_change_table(c);
    for (size_t i = 0; i < n; i++) {
        const cdc_value *v = after ? cdc_change_after(c, i) : cdc_change_before(c, i);
        if (!v) {
            if (room(o, 1)) return nomem(err);
            put8(o, CDC__BV_ABSENT);
            continue;
        }
        int rc = value(o, v, err);
        if (rc) {
            if (rc != CDC_ERR_NOMEM)
                cdc__err_prefix(err, "%s.%s column %zu", cdc_table_db(t), cdc_table_name(t), i + 1);
            return rc;
        }
    }
    return CDC_OK;
}

int cdc__bin_change(cdc__buf *o, cdc__bin_tables *ts, const cdc_change *c, cdc__err *err)
{
    const cdc_table *t = cdc_change_table(c);
    uint32_t slot = 0;
    int rc = table_slot(o, ts, t, &slot, err);
    if (rc) return rc;
    char op = cdc_change_op(c);
    if (room(o, 6)) return nomem(err);
    put8(o, CDC__BIN_CHANGE);
    put8(o, (uint8_t)op);
    put32(o, slot);
    rc = put_cstr(o, cdc_change_file(c));
    rc |= room(o, 16);
    if (rc) return nomem(err);
    put64(o, cdc_change_offset(c));
    put64(o, cdc_change_row(c));
    rc = put_cstr(o, cdc_change_gtid(c));
    rc |= room(o, 12);
    if (rc) return nomem(err);
    put32(o, cdc_change_server_id(c));
    put64(o, (uint64_t)cdc_change_ts_ms(c));
    size_t n = cdc_table_column_count(t);
    if ((op == 'u' || op == 'd') && (rc = image(o, c, false, n, err))) return rc;
    if (op != 'd' && (rc = image(o, c, true, n, err))) return rc;
    return CDC_OK;
}

static int put_pos(cdc__buf *o, const char *file, uint64_t offset, const char *checkpoint)
{
    int rc = put_cstr(o, file);
    rc |= room(o, 8);
    if (rc) return CDC_ERR_NOMEM;
    put64(o, offset);
    return put_cstr(o, checkpoint) ? CDC_ERR_NOMEM : CDC_OK;
}

int cdc__bin_commit(cdc__buf *o, const char *gtid, uint32_t sid, int64_t ts_ms, const char *file,
                    uint64_t offset, const char *checkpoint)
{
    if (room(o, 1)) return CDC_ERR_NOMEM;
    put8(o, CDC__BIN_COMMIT);
    int rc = put_cstr(o, gtid);
    rc |= room(o, 12);
    if (rc) return CDC_ERR_NOMEM;
    put32(o, sid);
    put64(o, (uint64_t)ts_ms);
    return put_pos(o, file, offset, checkpoint);
}

int cdc__bin_ddl(cdc__buf *o, cdc_bytes db, cdc_bytes sql, const char *gtid, const char *file, uint64_t offset,
                 const char *checkpoint)
{
    /* db and SQL as the lines give them: UTF-8, invalid bytes replaced */
    const cdc_bytes parts[2] = {db, sql};
    if (room(o, 1)) return CDC_ERR_NOMEM;
    put8(o, CDC__BIN_DDL);
    for (int k = 0; k < 2; k++) {
        if (room(o, 4)) return CDC_ERR_NOMEM;
        size_t at = o->len;
        o->len += 4;
        if (cdc__utf8_sanitize(parts[k].ptr, parts[k].len, o)) return CDC_ERR_NOMEM;
        if (close_len(o, at)) return CDC_ERR_TOO_LARGE;
    }
    if (put_cstr(o, gtid)) return CDC_ERR_NOMEM;
    return put_pos(o, file, offset, checkpoint);
}

int cdc__bin_position(cdc__buf *o, uint8_t tag, const char *file, uint64_t offset, const char *checkpoint)
{
    if (room(o, 1)) return CDC_ERR_NOMEM;
    put8(o, tag);
    return put_pos(o, file, offset, checkpoint);
}
