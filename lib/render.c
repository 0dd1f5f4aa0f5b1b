/*
 * render.c: the canonical JSON form of a value (docs/values.md).
 *
 * Every form is exact: integers never pass through a double, decimals
 * are printed from their digits, floating-point numbers use the
 * shortest text that reads back as the same float/double, temporal
 * values print exactly the column's fractional digits. The output of
 * this file is a documented interface: change it only on purpose.
 */
#include "render.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>

#include "charset.h"
#include "decimal.h"
#include "json.h"
#include "jsonw.h"
#include "temporal.h"

static const char hexdig[] = "0123456789abcdef";

/*
 * Scratch for text converted to UTF-8 before it is escaped: a block on
 * the stack, spilling to the output's allocator only past it. Rendering
 * into a buffer that cannot grow (cdc_change_json fills the caller's)
 * then needs no memory of its own for ENUM/SET labels and short latin1
 * or other non-UTF-8 text, and is not sent round a second time.
 */
typedef struct spill {
    uint8_t *stack;
    size_t size;
    const cdc_allocator *base;
    cdc_allocator a;
} spill;

static void *spill_malloc(size_t n, void *ud) { return cdc__malloc(((spill *)ud)->base, n); }
static void *spill_realloc(void *p, size_t n, void *ud)
{
    spill *s = ud;
    if (p != s->stack) return cdc__realloc(s->base, p, n);
    void *q = cdc__malloc(s->base, n);
    if (q) memcpy(q, s->stack, s->size < n ? s->size : n);
    return q;
}
static void spill_free(void *p, void *ud)
{
    spill *s = ud;
    if (p != s->stack) cdc__free(s->base, p);
}

static void spill_init(spill *s, cdc__buf *b, uint8_t *stack, size_t size, const cdc_allocator *base)
{
    *s = (spill){stack, size, base, {spill_malloc, spill_realloc, spill_free, NULL}};
    s->a.ud = s;
    *b = (cdc__buf){stack, 0, size, &s->a};
}

/* Text of another character set, converted first: kept out of
 * cdc__render_text so that the usual UTF-8 text does not pay for setting
 * up the 2 KiB block. */
static __attribute__((noinline)) int render_converted(cdc__buf *out, const uint8_t *s, size_t len,
                                                      const cdc__charset *cs, cdc__err *err)
{
    uint8_t stack[2048];
    spill sp;
    cdc__buf tmp;
    spill_init(&sp, &tmp, stack, sizeof stack, out->alloc);
    int rc = cdc__charset_to_utf8(cs, s, len, &tmp, err);
    if (rc == CDC_OK && cdc__render_utf8_string(out, tmp.data, tmp.len))
        rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    cdc__buf_free(&tmp);
    return rc;
}

static inline bool utf8_kind(const cdc__charset *cs)
{
    return cs->kind == CDC_CS_UTF8 || cs->kind == CDC_CS_ASCII || cs->kind == CDC_CS_UNKNOWN;
}
bool cdc__charset_renders_as_utf8(unsigned charset) { return utf8_kind(cdc__charset_of(charset)); }
int cdc__render_text(cdc__buf *out, const uint8_t *s, size_t len, unsigned charset, cdc__err *err)
{
    const cdc__charset *cs = cdc__charset_of(charset);
    if (utf8_kind(cs))
        return cdc__render_utf8_string(out, s, len) ? cdc__err_set(err, CDC_ERR_NOMEM, "out of memory") : CDC_OK;
    if (cs->kind == CDC_CS_BINARY) return cdc__render_base64(out, s, len);
    return render_converted(out, s, len, cs, err);
}

static inline int put(cdc__buf *out, const char *s, size_t n, cdc__err *err)
{
    if (!n) return CDC_OK;
    if (out->cap - out->len < n && cdc__buf_reserve(out, n))
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    cdc__copy_short(out->data + out->len, s, n);
    out->len += n;
    return CDC_OK;
}

static inline int put_quoted(cdc__buf *out, const char *s, size_t n, cdc__err *err)
{
    if (out->cap - out->len < n + 2 && cdc__buf_reserve(out, n + 2))
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    out->data[out->len++] = '"';
    cdc__copy_short(out->data + out->len, s, n);
    out->len += n;
    out->data[out->len++] = '"';
    return CDC_OK;
}

static int render_decimal(const cdc_value *v, cdc__buf *out, cdc__err *err)
{
    if (v->flags & CDC_VF_TEXT) {
        /* pre-5.0 DECIMAL: fixed-width ASCII, padded with spaces */
        const uint8_t *s = v->v.b.ptr;
        size_t n = v->v.b.len;
        while (n && (*s == ' ' || *s == 0)) { s++; n--; }
        while (n && (s[n - 1] == ' ' || s[n - 1] == 0)) n--;
        return put_quoted(out, (const char *)s, n, err);
    }
    if (!v->col) return cdc__err_set(err, CDC_ERR_INVALID, "DECIMAL value without its column");
    char text[CDC__DECIMAL_TEXT_MAX];
    if (v->flags & CDC_VF_SCALED) {
        /* between its quotes in place when there is room (at most a sign,
         * 19 digits or "0." and 18, and the point) */
        unsigned scale = v->col->meta & 0xff;
        if (scale <= 18 && out->cap - out->len >= 26) {
            char *at = (char *)out->data + out->len;
            size_t n = cdc__decimal_i64_text(v->v.dec.unscaled, scale, at + 1);
            at[0] = '"';
            at[n + 1] = '"';
            out->len += n + 2;
            return CDC_OK;
        }
        return put_quoted(out, text, cdc__decimal_i64_text(v->v.dec.unscaled, scale, text), err);
    }
    unsigned prec = v->col->meta >> 8, scale = v->col->meta & 0xff;
    size_t need = cdc__decimal_bin_size(prec, scale);
    if (!need || v->v.b.len < need)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "DECIMAL(%u,%u): %zu bytes, need %zu", prec, scale, v->v.b.len,
                            need);
    int n = cdc__decimal_to_text(v->v.b.ptr, prec, scale, text, err);
    if (n < 0) return n;
    return put_quoted(out, text, (size_t)n, err);
}

static int render_set(const cdc_value *v, cdc__buf *out, cdc__err *err)
{
    const cdc_column *c = v->col;
    uint64_t bits = v->v.u;
    if (c->n_labels < 64 && (bits >> c->n_labels) != 0) {
        char num[24];
        return put(out, num, cdc__fmt_u64(num, bits), err);
    }
    /* labels in bit order, comma-joined, as SELECT prints a SET */
    const cdc__charset *cs = cdc__charset_of(c->charset);
    uint8_t stack[2048];
    spill sp;
    cdc__buf tmp;
    spill_init(&sp, &tmp, stack, sizeof stack, out->alloc);
    int rc = CDC_OK;
    bool first = true;
    for (unsigned i = 0; i < c->n_labels && i < 64 && rc == CDC_OK; i++) {
        if (!(bits >> i & 1)) continue;
        if (!first && cdc__buf_putc(&tmp, ',')) rc = CDC_ERR_NOMEM;
        first = false;
        if (rc == CDC_OK) {
            if (cs->kind == CDC_CS_ICONV || cs->kind == CDC_CS_LATIN1)
                rc = cdc__charset_to_utf8(cs, c->labels[i].ptr, c->labels[i].len, &tmp, err);
            else if (cdc__buf_append(&tmp, c->labels[i].ptr, c->labels[i].len))
                rc = CDC_ERR_NOMEM;
        }
    }
    if (rc == CDC_OK && cdc__render_utf8_string(out, tmp.data, tmp.len)) rc = CDC_ERR_NOMEM;
    cdc__buf_free(&tmp);
    if (rc == CDC_ERR_NOMEM) return cdc__err_set(err, rc, "out of memory");
    return rc;
}

static int render_geometry(const cdc_value *v, cdc__buf *out, cdc__err *err)
{
    if (v->v.b.len < 4) return cdc__err_set(err, CDC_ERR_CORRUPT, "GEOMETRY: %zu bytes, no SRID", v->v.b.len);
    char head[48];
    int n = snprintf(head, sizeof head, "{\"srid\":%" PRIu32 ",\"wkb\":", cdc__le32(v->v.b.ptr));
    if (cdc__buf_append(out, head, (size_t)n) || cdc__render_base64(out, v->v.b.ptr + 4, v->v.b.len - 4) ||
        cdc__buf_putc(out, '}'))
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    return CDC_OK;
}

static int render_vector(const cdc_value *v, cdc__buf *out, cdc__err *err)
{
    if (v->v.b.len % 4) return cdc__err_set(err, CDC_ERR_CORRUPT, "VECTOR: %zu bytes", v->v.b.len);
    if (cdc__buf_putc(out, '[')) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < v->v.b.len; i += 4) {
        char num[40];
        size_t n = 0;
        if (i) num[n++] = ',';
        uint32_t u = cdc__le32(v->v.b.ptr + i);
        float f;
        memcpy(&f, &u, 4);
        n += cdc__fmt_float(num + n, f);
        if (cdc__buf_append(out, num, n)) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    if (cdc__buf_putc(out, ']')) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    return CDC_OK;
}

/*
 * BINARY(n) loses its trailing 0x00 bytes in row images (the server packs
 * CHAR columns without their pad character, and binary's pad is 0x00);
 * SELECT returns all n bytes, so put them back.
 */
static size_t binary_pad_to(const cdc_value *v)
{
    const cdc_column *c = v->col;
    if (!c || c->type != CDC_T_STRING || c->real_type == CDC_T_ENUM || c->real_type == CDC_T_SET ||
        c->charset != CDC_CHARSET_BINARY || v->v.b.len >= c->meta)
        return 0;
    return c->meta;
}

static int render_bytes(const cdc_value *v, cdc__buf *out, cdc__err *err)
{
    size_t pad = binary_pad_to(v);
    if (!pad) {
        if (cdc__render_base64(out, v->v.b.ptr, v->v.b.len)) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
        return CDC_OK;
    }
    uint8_t full[1024]; /* CHAR is at most 255 characters, BINARY 255 bytes */
    if (pad > sizeof full) pad = sizeof full;
    memset(full, 0, pad);
    memcpy(full, v->v.b.ptr, v->v.b.len);
    if (cdc__render_base64(out, full, pad)) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    return CDC_OK;
}

static int render_inet_uuid(const cdc_value *v, cdc__buf *out, cdc__err *err)
{
    char text[64];
    /* stored as BINARY(4)/BINARY(16), so trailing zero bytes may be cut */
    uint8_t full[16] = {0};
    size_t want = v->kind == CDC_K_INET4 ? 4 : 16;
    if (v->v.b.len > want)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "%s: %zu bytes, at most %zu", v->kind == CDC_K_INET4 ? "INET4" :
                            v->kind == CDC_K_INET6 ? "INET6" : "UUID", v->v.b.len, want);
    if (v->v.b.len) memcpy(full, v->v.b.ptr, v->v.b.len);
    const uint8_t *p = full;
    size_t n;
    if (v->kind == CDC_K_INET4) {
        n = (size_t)snprintf(text, sizeof text, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
    } else if (v->kind == CDC_K_INET6) {
        if (!inet_ntop(AF_INET6, p, text, sizeof text))
            return cdc__err_set(err, CDC_ERR_CORRUPT, "INET6: cannot format address");
        n = strlen(text);
    } else {
        /*
         * MariaDB (10.10+) stores a UUID whose version is 1..5 and variant
         * bit is set with its groups in reverse order, node first and
         * time_low last, so time-based UUIDs sort by time. Record layout
         * then: [0..6) node, [6..8) clock_seq, [8..10) time_hi+version,
         * [10..12) time_mid, [12..16) time_low. A record is in that form
         * when byte 6 has its top bit set and byte 8 is 0x01..0x7f;
         * other UUIDs are stored as written. (MariaDB 10.11 logs UUIDs as
         * written, checked on a 10.11.19 server; a written v1..v5 UUID
         * has the version nibble, top bit clear, in byte 6, so the two
         * forms cannot be mistaken for each other.)
         */
        uint8_t u[16];
        if ((p[6] & 0x80) && p[8] >= 0x01 && p[8] <= 0x7f) {
            memcpy(u, p + 12, 4);
            memcpy(u + 4, p + 10, 2);
            memcpy(u + 6, p + 8, 2);
            memcpy(u + 8, p + 6, 2);
            memcpy(u + 10, p, 6);
        } else {
            memcpy(u, p, 16);
        }
        char *o = text;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) *o++ = '-';
            *o++ = hexdig[u[i] >> 4];
            *o++ = hexdig[u[i] & 15];
        }
        n = (size_t)(o - text);
    }
    return put_quoted(out, text, n, err);
}

/* Room for any number's text (cdc__fmt_double needs 40): numbers are
 * then written in place; with less room (a caller's fixed buffer near its
 * end) they go through num[] and put(), which asks for what they take. */
#define NUM_ROOM 48

/* The text of a DATE, DATETIME, TIME or TIMESTAMP value (at most
 * CDC__TEMPORAL_TEXT_MAX + 1 bytes with the 'Z'), unquoted. */
static inline size_t temporal_text(const cdc_value *v, char *t)
{
    cdc__temporal tm;
    size_t n;
    switch (v->kind) {
    case CDC_K_DATE: return cdc__fmt_date(t, &v->v.tm);
    case CDC_K_DATETIME: return cdc__fmt_datetime(t, &v->v.tm, v->fsp, 'T');
    case CDC_K_TIME: return cdc__fmt_time(t, &v->v.tm, v->fsp);
    default: /* TIMESTAMP */
        if (v->flags & CDC_VF_ZERO_DATE) {
            /* the zero TIMESTAMP is no instant: no zone suffix */
            memset(&tm, 0, sizeof tm);
            return cdc__fmt_datetime(t, &tm, v->fsp, 'T');
        }
        n = cdc__fmt_epoch(t, v->v.ts.sec, v->v.ts.usec, v->fsp);
        t[n++] = 'Z';
        return n;
    }
}

size_t cdc__temporal_json_text(const cdc_value *v, char *t) { return temporal_text(v, t); }

int cdc__value_render_json(const cdc_value *v, cdc__buf *out, cdc__err *err)
{
    char num[CDC__TEMPORAL_TEXT_MAX + 1 > 40 ? CDC__TEMPORAL_TEXT_MAX + 1 : 40];
    size_t n;
    char *at = out->cap - out->len >= NUM_ROOM ? (char *)out->data + out->len : NULL;
    switch (v->kind) {
    case CDC_K_NULL: return put(out, "null", 4, err);
    case CDC_K_INT:
    case CDC_K_YEAR:
        if (at) { out->len += cdc__fmt_i64(at, v->v.i); return CDC_OK; }
        n = cdc__fmt_i64(num, v->v.i);
        return put(out, num, n, err);
    case CDC_K_UINT:
    case CDC_K_BIT:
        if (at) { out->len += cdc__fmt_u64(at, v->v.u); return CDC_OK; }
        n = cdc__fmt_u64(num, v->v.u);
        return put(out, num, n, err);
    case CDC_K_FLOAT:
        if (at) { out->len += cdc__fmt_float(at, v->v.f); return CDC_OK; }
        n = cdc__fmt_float(num, v->v.f);
        return put(out, num, n, err);
    case CDC_K_DOUBLE:
        if (at) { out->len += cdc__fmt_double(at, v->v.d); return CDC_OK; }
        n = cdc__fmt_double(num, v->v.d);
        return put(out, num, n, err);
    case CDC_K_DECIMAL: return render_decimal(v, out, err);
    case CDC_K_DATE:
    case CDC_K_DATETIME:
    case CDC_K_TIME:
    case CDC_K_TIMESTAMP: {
        /* in place between its quotes when the room is there */
        bool in_place = out->cap - out->len >= CDC__TEMPORAL_TEXT_MAX + 3;
        char *t = in_place ? (char *)out->data + out->len + 1 : num;
        n = temporal_text(v, t);
        if (!in_place) return put_quoted(out, num, n, err);
        t[-1] = '"';
        t[n] = '"';
        out->len += n + 2;
        return CDC_OK;
    }
    case CDC_K_ENUM:
        if (v->col && v->col->n_labels && v->v.u <= v->col->n_labels) {
            if (v->v.u == 0) return put(out, "\"\"", 2, err); /* the '' error value */
            if (v->col->jlabels) { /* converted and escaped once per TABLE_MAP */
                const cdc_bytes *j = &v->col->jlabels[v->v.u - 1];
                return put(out, (const char *)j->ptr, j->len, err);
            }
            const cdc_bytes *l = &v->col->labels[v->v.u - 1];
            return cdc__render_text(out, l->ptr, l->len, v->col->charset, err);
        }
        n = cdc__fmt_u64(num, v->v.u);
        return put(out, num, n, err);
    case CDC_K_SET:
        if (v->col && v->col->n_labels) return render_set(v, out, err);
        n = cdc__fmt_u64(num, v->v.u);
        return put(out, num, n, err);
    case CDC_K_STRING:
        if (v->flags & CDC_VF_UTF8)
            return cdc__render_utf8_string(out, v->v.b.ptr, v->v.b.len) ? cdc__err_set(err, CDC_ERR_NOMEM,
                                                                                        "out of memory")
                                                                         : CDC_OK;
        return cdc__render_text(out, v->v.b.ptr, v->v.b.len, v->col ? v->col->charset : 0, err);
    case CDC_K_BYTES: return render_bytes(v, out, err);
    case CDC_K_JSON:
        if (v->flags & CDC_VF_TEXT) return cdc__json_text_render(v->v.b.ptr, v->v.b.len, out, err);
        return cdc__json_render(v->v.b.ptr, v->v.b.len, out, err);
    case CDC_K_JSON_DIFF: return cdc__json_diff_render(v, out, err);
    case CDC_K_GEOMETRY: return render_geometry(v, out, err);
    case CDC_K_VECTOR: return render_vector(v, out, err);
    case CDC_K_INET4:
    case CDC_K_INET6:
    case CDC_K_UUID: return render_inet_uuid(v, out, err);
    default: return cdc__err_set(err, CDC_ERR_INVALID, "value of unknown kind %u", v->kind);
    }
}
