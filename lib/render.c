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
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "charset.h"
#include "decimal.h"
#include "json.h"
#include "temporal.h"

static const char hexdig[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq(const uint8_t *s, size_t len)
{
    uint8_t c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) { n = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 4; cp = c & 0x07; }
    else return 0;
    if (len < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates and values past U+10FFFF are invalid */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

bool cdc__utf8_valid(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        if (s[i] < 0x80) { i++; continue; }
        size_t n = utf8_seq(s + i, len - i);
        if (!n) return false;
        i += n;
    }
    return true;
}

int cdc__utf8_sanitize(const uint8_t *s, size_t len, cdc_buf *out)
{
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len) {
            size_t n = utf8_seq(s + i, len - i);
            if (!n) break;
            i += n;
        }
        if (i > start && cdc__buf_append(out, s + start, i - start)) return CDC_ERR_NOMEM;
        if (i < len) {
            if (cdc__buf_append(out, "\xef\xbf\xbd", 3)) return CDC_ERR_NOMEM;
            i++;
        }
    }
    return CDC_OK;
}

int cdc__render_utf8_string(cdc_buf *out, const uint8_t *s, size_t len)
{
    /* worst case: every byte a \u00XX escape */
    if (cdc__buf_reserve(out, len + 2)) return CDC_ERR_NOMEM;
    out->data[out->len++] = '"';
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        /* copy the longest run that needs no escaping in one go */
        while (i < len) {
            uint8_t c = s[i];
            if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') { i++; continue; }
            if (c < 0x80) break;
            size_t n = utf8_seq(s + i, len - i);
            if (!n) break;
            i += n;
        }
        if (i > start && cdc__buf_append(out, s + start, i - start)) return CDC_ERR_NOMEM;
        if (i == len) break;
        uint8_t c = s[i++];
        char esc[8];
        const char *e = esc;
        size_t n = 2;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        default:
            if (c < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hexdig[c >> 4];
                esc[5] = hexdig[c & 15];
                n = 6;
            } else {
                e = "\xef\xbf\xbd"; /* invalid UTF-8 byte */
                n = 3;
            }
        }
        if (cdc__buf_append(out, e, n)) return CDC_ERR_NOMEM;
    }
    return cdc__buf_putc(out, '"');
}

int cdc__render_text(cdc_buf *out, const uint8_t *s, size_t len, unsigned charset, cdc_err *err)
{
    const cdc_charset *cs = cdc__charset_of(charset);
    if (cs->kind == CDC_CS_UTF8 || cs->kind == CDC_CS_ASCII || cs->kind == CDC_CS_UNKNOWN)
        return cdc__render_utf8_string(out, s, len) ? cdc__err_set(err, CDC_ERR_NOMEM, "out of memory") : CDC_OK;
    if (cs->kind == CDC_CS_BINARY) return cdc__render_base64(out, s, len);
    cdc_buf tmp;
    cdc__buf_init(&tmp, out->alloc);
    int rc = cdc__charset_to_utf8(cs, s, len, &tmp, err);
    if (rc == CDC_OK && cdc__render_utf8_string(out, tmp.data, tmp.len))
        rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    cdc__buf_free(&tmp);
    return rc;
}

int cdc__render_base64(cdc_buf *out, const uint8_t *p, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (len > (SIZE_MAX - 8) / 4 * 3) return CDC_ERR_NOMEM;
    if (cdc__buf_reserve(out, (len + 2) / 3 * 4 + 2)) return CDC_ERR_NOMEM;
    uint8_t *o = out->data + out->len;
    *o++ = '"';
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = (uint8_t)tab[v >> 18];
        *o++ = (uint8_t)tab[(v >> 12) & 63];
        *o++ = (uint8_t)tab[(v >> 6) & 63];
        *o++ = (uint8_t)tab[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = (uint8_t)tab[v >> 18];
        *o++ = (uint8_t)tab[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = (uint8_t)tab[v >> 18];
        *o++ = (uint8_t)tab[(v >> 12) & 63];
        *o++ = (uint8_t)tab[(v >> 6) & 63];
        *o++ = '=';
    }
    *o++ = '"';
    out->len = (size_t)(o - out->data);
    return CDC_OK;
}

/*
 * Floating-point text: the shortest digits that read back as the same
 * value, laid out as MySQL's my_gcvt() lays out a DOUBLE for SELECT:
 * plain notation when the decimal exponent `decpt` (digits before the
 * point) is in -14..15, or larger but the number has digits after the
 * point; otherwise d.ddde[-]N. So 0.1, 1e-20, 0.0000000000000015,
 * 123456789012345, 1e15, 1000000000000000.2, 1.2345678901234568e17.
 *
 * Finding the digits: any decimal of at most DBL_DIG (15) digits
 * survives decimal -> double -> 15-digit decimal, so if a k-digit text
 * reads back (k <= 15), 15 digits with trailing zeros dropped give that
 * same text: starting at 15 finds the shortest in one or two tries.
 * Likewise FLT_DIG (6) for floats. Subnormals carry fewer digits and
 * search from one.
 */
static size_t layout(char *buf, const char *sci)
{
    /* sci is printf's %.Ne: [-]d[.ddd]e(+|-)XX */
    char digits[24];
    int len = 0;
    const char *p = sci;
    bool neg = *p == '-';
    if (neg) p++;
    for (; *p && *p != 'e' && len < (int)sizeof digits; p++)
        if (*p != '.') digits[len++] = *p;
    int decpt = atoi(p + 1) + 1;
    while (len > 1 && digits[len - 1] == '0') len--;
    if (len == 1 && digits[0] == '0') decpt = 1;
    char *o = buf;
    if (neg) *o++ = '-';
    if (decpt >= -14 && (decpt <= 15 || len > decpt)) {
        if (decpt <= 0) {
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < -decpt; i++) *o++ = '0';
            memcpy(o, digits, (size_t)len);
            o += len;
        } else if (decpt < len) {
            memcpy(o, digits, (size_t)decpt);
            o += decpt;
            *o++ = '.';
            memcpy(o, digits + decpt, (size_t)(len - decpt));
            o += len - decpt;
        } else {
            memcpy(o, digits, (size_t)len);
            o += len;
            for (int i = len; i < decpt; i++) *o++ = '0';
        }
    } else {
        *o++ = digits[0];
        if (len > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)(len - 1));
            o += len - 1;
        }
        o += sprintf(o, "e%d", decpt - 1);
    }
    *o = 0;
    return (size_t)(o - buf);
}

size_t cdc__fmt_double(char *buf, double d)
{
    if (!isfinite(d)) { memcpy(buf, "null", 5); return 4; }
    char sci[40];
    int prec = fabs(d) < DBL_MIN ? 1 : DBL_DIG;
    for (; prec < 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, d);
        if (strtod(sci, NULL) == d) break;
    }
    if (prec == 17) snprintf(sci, sizeof sci, "%.16e", d);
    return layout(buf, sci);
}

size_t cdc__fmt_float(char *buf, float f)
{
    if (!isfinite(f)) { memcpy(buf, "null", 5); return 4; }
    char sci[40];
    int prec = fabsf(f) < FLT_MIN ? 1 : FLT_DIG;
    for (; prec < 9; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, (double)f);
        if (strtof(sci, NULL) == f) break;
    }
    if (prec == 9) snprintf(sci, sizeof sci, "%.8e", (double)f);
    return layout(buf, sci);
}

/* Integers without printf: this runs for most columns of most rows. */
static size_t fmt_u64(char *buf, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    return n;
}

static size_t fmt_i64(char *buf, int64_t v)
{
    if (v >= 0) return fmt_u64(buf, (uint64_t)v);
    buf[0] = '-';
    return 1 + fmt_u64(buf + 1, (uint64_t)0 - (uint64_t)v);
}

static int put(cdc_buf *out, const char *s, size_t n, cdc_err *err)
{
    if (cdc__buf_append(out, s, n)) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    return CDC_OK;
}

static int put_quoted(cdc_buf *out, const char *s, size_t n, cdc_err *err)
{
    if (cdc__buf_reserve(out, n + 2)) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    out->data[out->len++] = '"';
    memcpy(out->data + out->len, s, n);
    out->len += n;
    out->data[out->len++] = '"';
    return CDC_OK;
}

static int render_decimal(const cdc_value *v, cdc_buf *out, cdc_err *err)
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
    unsigned prec = v->col->meta >> 8, scale = v->col->meta & 0xff;
    size_t need = cdc__decimal_bin_size(prec, scale);
    if (!need || v->v.b.len < need)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "DECIMAL(%u,%u): %zu bytes, need %zu", prec, scale, v->v.b.len,
                            need);
    char text[CDC__DECIMAL_TEXT_MAX];
    int n = cdc__decimal_to_text(v->v.b.ptr, prec, scale, text, err);
    if (n < 0) return n;
    return put_quoted(out, text, (size_t)n, err);
}

static int render_set(const cdc_value *v, cdc_buf *out, cdc_err *err)
{
    const cdc_column *c = v->col;
    uint64_t bits = v->v.u;
    if (c->n_labels < 64 && (bits >> c->n_labels) != 0) {
        char num[24];
        int n = snprintf(num, sizeof num, "%" PRIu64, bits);
        return put(out, num, (size_t)n, err);
    }
    /* labels in bit order, comma-joined, as SELECT prints a SET */
    const cdc_charset *cs = cdc__charset_of(c->charset);
    cdc_buf tmp;
    cdc__buf_init(&tmp, out->alloc);
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

static int render_geometry(const cdc_value *v, cdc_buf *out, cdc_err *err)
{
    if (v->v.b.len < 4) return cdc__err_set(err, CDC_ERR_CORRUPT, "GEOMETRY: %zu bytes, no SRID", v->v.b.len);
    char head[48];
    int n = snprintf(head, sizeof head, "{\"srid\":%" PRIu32 ",\"wkb\":", cdc__le32(v->v.b.ptr));
    if (cdc__buf_append(out, head, (size_t)n) || cdc__render_base64(out, v->v.b.ptr + 4, v->v.b.len - 4) ||
        cdc__buf_putc(out, '}'))
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    return CDC_OK;
}

static int render_vector(const cdc_value *v, cdc_buf *out, cdc_err *err)
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

static int render_bytes(const cdc_value *v, cdc_buf *out, cdc_err *err)
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

static int render_inet_uuid(const cdc_value *v, cdc_buf *out, cdc_err *err)
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

int cdc__value_render_json(const cdc_value *v, cdc_buf *out, cdc_err *err)
{
    char num[CDC__TEMPORAL_TEXT_MAX > 40 ? CDC__TEMPORAL_TEXT_MAX : 40];
    size_t n;
    cdc_temporal tm;
    switch (v->kind) {
    case CDC_K_NULL: return put(out, "null", 4, err);
    case CDC_K_INT:
    case CDC_K_YEAR: n = fmt_i64(num, v->v.i); return put(out, num, n, err);
    case CDC_K_UINT:
    case CDC_K_BIT: n = fmt_u64(num, v->v.u); return put(out, num, n, err);
    case CDC_K_FLOAT: n = cdc__fmt_float(num, v->v.f); return put(out, num, n, err);
    case CDC_K_DOUBLE: n = cdc__fmt_double(num, v->v.d); return put(out, num, n, err);
    case CDC_K_DECIMAL: return render_decimal(v, out, err);
    case CDC_K_DATE: n = cdc__fmt_date(num, &v->v.tm); return put_quoted(out, num, n, err);
    case CDC_K_DATETIME: n = cdc__fmt_datetime(num, &v->v.tm, v->fsp, 'T'); return put_quoted(out, num, n, err);
    case CDC_K_TIME: n = cdc__fmt_time(num, &v->v.tm, v->fsp); return put_quoted(out, num, n, err);
    case CDC_K_TIMESTAMP:
        if (v->flags & CDC_VF_ZERO_DATE) {
            /* the zero TIMESTAMP is no instant: no zone suffix */
            memset(&tm, 0, sizeof tm);
            n = cdc__fmt_datetime(num, &tm, v->fsp, 'T');
        } else {
            cdc__epoch_to_tm(v->v.ts.sec, v->v.ts.usec, &tm);
            n = cdc__fmt_datetime(num, &tm, v->fsp, 'T');
            num[n++] = 'Z';
        }
        return put_quoted(out, num, n, err);
    case CDC_K_ENUM:
        if (v->col && v->col->n_labels && v->v.u <= v->col->n_labels) {
            if (v->v.u == 0) return put(out, "\"\"", 2, err); /* the '' error value */
            const cdc_bytes *l = &v->col->labels[v->v.u - 1];
            return cdc__render_text(out, l->ptr, l->len, v->col->charset, err);
        }
        n = (size_t)snprintf(num, sizeof num, "%" PRIu64, v->v.u);
        return put(out, num, n, err);
    case CDC_K_SET:
        if (v->col && v->col->n_labels) return render_set(v, out, err);
        n = (size_t)snprintf(num, sizeof num, "%" PRIu64, v->v.u);
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
