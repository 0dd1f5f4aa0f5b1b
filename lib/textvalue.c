/*
 * textvalue.c: a field of a text-protocol result row (SELECT) -> the
 * cdc_value the binlog path gives for the same column, so that snapshot
 * rows and change events render through the same code (docs/values.md).
 *
 * The server prints most types in the very form the canonical rendering
 * produces from binary, so the work is parsing back to the typed view:
 * numbers exactly, DECIMAL through its binary form (which normalises the
 * scale), temporal text to fields, ENUM/SET labels to index/bitmask.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "charset.h"
#include "decimal.h"
#include "temporal.h"
#include "rowvalue.h"
#include "value.h"

static int bad(const cdc_column *col, const char *s, size_t len, cdc__err *err)
{
    return cdc__err_set(err, CDC_ERR_INVALID, "%s: cannot read '%.*s' from the text protocol",
                        cdc__type_name(col->type), (int)(len > 80 ? 80 : len), s);
}

static bool parse_i64(const char *s, size_t len, int64_t *out)
{
    bool neg = len && s[0] == '-';
    uint64_t u;
    if (!cdc__parse_u64(s + neg, len - neg, &u)) return false;
    if (neg ? u > (uint64_t)INT64_MAX + 1 : u > INT64_MAX) return false;
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return true;
}

/* strtod/strtof want a NUL; numbers are short, so copy them. */
/* Exact doubles without strtod for the common text: at most 15
 * significant digits (the mantissa is below 2^53, an exact double) and a
 * decimal exponent within +-22 (10^e is an exact double): one IEEE
 * multiplication or division, correctly rounded, gives what strtod gives
 * (Clinger's fast path). false: not such text, use strtod. */
static bool fast_double(const char *s, size_t len, double *d)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    uint64_t m = 0;
    int digits = 0, frac = 0, e = 0;
    bool any = false, dot = false;
    for (; i < len; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            any = true;
            if (m || c != '0') {
                if (++digits > 15) return false;
                m = m * 10 + (uint64_t)(c - '0');
            }
            if (dot) frac++;
        } else if (c == '.' && !dot) {
            dot = true;
        } else {
            break;
        }
    }
    if (!any) return false;
    if (i < len) {
        if (s[i] != 'e' && s[i] != 'E') return false;
        i++;
        bool eneg = false;
        if (i < len && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
        if (i == len) return false;
        for (; i < len; i++) {
            if (s[i] < '0' || s[i] > '9' || e > 1000) return false;
            e = e * 10 + (s[i] - '0');
        }
        if (eneg) e = -e;
    }
    e -= frac;
    double v = (double)m;
    if (m == 0) v = 0;
    else if (e >= 0 && e <= 22) v *= p10[e];
    else if (e < 0 && e >= -22) v /= p10[-e];
    else return false;
    *d = neg ? -v : v;
    return true;
}

static bool parse_real(const char *s, size_t len, bool single, double *d, float *f)
{
    if (!single && len && fast_double(s, len, d)) return true;
    char tmp[64];
    if (len == 0 || len >= sizeof tmp) return false;
    memcpy(tmp, s, len);
    tmp[len] = 0;
    char *end;
    errno = 0;
    if (single) *f = strtof(tmp, &end);
    else *d = strtod(tmp, &end);
    return end == tmp + len;
}

/* Index (1-based) of a label equal to s, in the column's charset; the
 * text arrives as UTF-8, so labels of other charsets are converted. */
static uint32_t label_index(const cdc_column *col, const char *s, size_t len, bool utf8, cdc__err *err, int *rc)
{
    const cdc__charset *cs = cdc__charset_of(col->charset);
    bool convert = utf8 && (cs->kind == CDC_CS_LATIN1 || cs->kind == CDC_CS_ICONV);
    *rc = CDC_OK;
    for (uint32_t i = 0; i < col->n_labels; i++) {
        const cdc_bytes *l = &col->labels[i];
        if (!convert) {
            if (l->len == len && !memcmp(l->ptr, s, len)) return i + 1;
            continue;
        }
        cdc__buf tmp;
        cdc__buf_init(&tmp, NULL);
        *rc = cdc__charset_to_utf8(cs, l->ptr, l->len, &tmp, err);
        bool eq = *rc == CDC_OK && tmp.len == len && (len == 0 || !memcmp(tmp.data, s, len));
        cdc__buf_free(&tmp);
        if (*rc) return 0;
        if (eq) return i + 1;
    }
    return 0;
}

static int from_enum_set(const cdc_column *col, unsigned real, const char *s, size_t len, bool utf8,
                         cdc_value *out, cdc__err *err)
{
    int rc;
    if (real == CDC_T_ENUM) {
        uint32_t idx = label_index(col, s, len, utf8, err, &rc);
        if (rc) return rc;
        if (!idx && len) return bad(col, s, len, err);
        out->kind = CDC_K_ENUM;
        out->v.u = idx; /* '' is index 0, the error value */
        return CDC_OK;
    }
    uint64_t bits = 0;
    size_t i = 0;
    while (len && i <= len) {
        size_t j = i;
        while (j < len && s[j] != ',') j++;
        uint32_t idx = label_index(col, s + i, j - i, utf8, err, &rc);
        if (rc) return rc;
        if (!idx || idx > 64) return bad(col, s, len, err);
        bits |= 1ull << (idx - 1);
        i = j + 1;
    }
    out->kind = CDC_K_SET;
    out->v.u = bits;
    return CDC_OK;
}

static int from_inet_uuid(const cdc_column *col, const char *s, size_t len, cdc_value *out, cdc__buf *scratch,
                          cdc__err *err)
{
    char tmp[64];
    if (len >= sizeof tmp) return bad(col, s, len, err);
    memcpy(tmp, s, len);
    tmp[len] = 0;
    if (cdc__buf_reserve(scratch, 16)) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    uint8_t *o = scratch->data + scratch->len;
    size_t n;
    if (col->flags & CDC_COLF_INET4) {
        if (inet_pton(AF_INET, tmp, o) != 1) return bad(col, s, len, err);
        out->kind = CDC_K_INET4;
        n = 4;
    } else if (col->flags & CDC_COLF_INET6) {
        if (inet_pton(AF_INET6, tmp, o) != 1) return bad(col, s, len, err);
        out->kind = CDC_K_INET6;
        n = 16;
    } else {
        uint8_t m[16];
        size_t k = 0;
        for (size_t i = 0; i < len && k < 32; i++) {
            if (s[i] == '-') continue;
            int h = (s[i] >= '0' && s[i] <= '9') ? s[i] - '0'
                    : (s[i] >= 'a' && s[i] <= 'f') ? s[i] - 'a' + 10
                    : (s[i] >= 'A' && s[i] <= 'F') ? s[i] - 'A' + 10 : -1;
            if (h < 0) return bad(col, s, len, err);
            if (k % 2 == 0) m[k / 2] = (uint8_t)(h << 4);
            else m[k / 2] |= (uint8_t)h;
            k++;
        }
        if (k != 32) return bad(col, s, len, err);
        /* back to MariaDB's record form (see render.c): groups reversed
         * for version 1..5 with the variant bit set */
        if (m[6] > 0 && m[6] < 0x60 && (m[8] & 0x80)) {
            memcpy(o, m + 10, 6);
            memcpy(o + 6, m + 8, 2);
            memcpy(o + 8, m + 6, 2);
            memcpy(o + 10, m + 4, 2);
            memcpy(o + 12, m, 4);
        } else {
            memcpy(o, m, 16);
        }
        out->kind = CDC_K_UUID;
        n = 16;
    }
    out->v.b = (cdc_bytes){o, n};
    scratch->len += n;
    return CDC_OK;
}

/* Only text kinds ask: a table lookup per value otherwise. */
static bool text_is_utf8(unsigned charset) { return cdc__charset_of(charset)->kind == CDC_CS_UTF8; }

int cdc__value_from_text(const cdc_column *col, const char *s, size_t len, unsigned text_charset,
                         cdc_value *out, cdc__buf *scratch, cdc__err *err)
{
    memset(out, 0, sizeof *out);
    out->col = col;
    if (!s) {
        out->kind = CDC_K_NULL;
        return CDC_OK;
    }
    unsigned fsp = 0;
    switch (col->type) {
    case CDC_T_TINY: case CDC_T_SHORT: case CDC_T_INT24: case CDC_T_LONG: case CDC_T_LONGLONG:
        if (col->flags & CDC_COLF_UNSIGNED) {
            if (!cdc__parse_u64(s, len, &out->v.u)) return bad(col, s, len, err);
            out->kind = CDC_K_UINT;
        } else {
            if (!parse_i64(s, len, &out->v.i)) return bad(col, s, len, err);
            out->kind = CDC_K_INT;
        }
        return CDC_OK;
    case CDC_T_FLOAT:
        if (!parse_real(s, len, true, NULL, &out->v.f)) return bad(col, s, len, err);
        out->kind = CDC_K_FLOAT;
        return CDC_OK;
    case CDC_T_DOUBLE:
        if (!parse_real(s, len, false, &out->v.d, NULL)) return bad(col, s, len, err);
        out->kind = CDC_K_DOUBLE;
        return CDC_OK;
    case CDC_T_NEWDECIMAL: {
        unsigned prec = col->meta >> 8, scale = col->meta & 0xff;
        size_t n = cdc__decimal_bin_size(prec, scale);
        if (!n) return cdc__err_set(err, CDC_ERR_INVALID, "DECIMAL(%u,%u): precision/scale out of range", prec, scale);
        if (cdc__buf_reserve(scratch, n)) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
        uint8_t *o = scratch->data + scratch->len;
        int rc = cdc__decimal_from_text(s, len, prec, scale, o, err);
        if (rc) return rc;
        scratch->len += n;
        out->kind = CDC_K_DECIMAL;
        out->v.b = (cdc_bytes){o, n};
        return CDC_OK;
    }
    case CDC_T_YEAR: {
        uint64_t y;
        if (!cdc__parse_u64(s, len, &y) || y > 2155) return bad(col, s, len, err);
        out->kind = CDC_K_YEAR;
        out->v.i = (int64_t)y;
        return CDC_OK;
    }
    case CDC_T_DATE:
    case CDC_T_NEWDATE:
        if (cdc__date_parse(s, len, &out->v.tm)) return bad(col, s, len, err);
        out->kind = CDC_K_DATE;
        if (!out->v.tm.year && !out->v.tm.month && !out->v.tm.day) out->flags |= CDC_VF_ZERO_DATE;
        return CDC_OK;
    case CDC_T_DATETIME2: fsp = col->meta; /* fall through */
    case CDC_T_DATETIME:
        if (fsp > 6 || cdc__datetime_parse(s, len, &out->v.tm)) return bad(col, s, len, err);
        out->kind = CDC_K_DATETIME;
        out->fsp = (uint8_t)fsp;
        if (!out->v.tm.year && !out->v.tm.month && !out->v.tm.day && !out->v.tm.hour && !out->v.tm.minute &&
            !out->v.tm.second && !out->v.tm.usec)
            out->flags |= CDC_VF_ZERO_DATE;
        return CDC_OK;
    case CDC_T_TIMESTAMP2: fsp = col->meta; /* fall through */
    case CDC_T_TIMESTAMP: {
        cdc__temporal tm;
        if (fsp > 6 || cdc__datetime_parse(s, len, &tm)) return bad(col, s, len, err);
        out->kind = CDC_K_TIMESTAMP;
        out->fsp = (uint8_t)fsp;
        if (!tm.year && !tm.month && !tm.day) {
            out->flags |= CDC_VF_ZERO_DATE;
            return CDC_OK;
        }
        if (!tm.month || !tm.day) return bad(col, s, len, err);
        out->v.ts.sec = cdc__tm_to_epoch(&tm);
        out->v.ts.usec = tm.usec;
        return CDC_OK;
    }
    case CDC_T_TIME2: fsp = col->meta; /* fall through */
    case CDC_T_TIME:
        if (fsp > 6 || cdc__time_parse(s, len, &out->v.tm)) return bad(col, s, len, err);
        out->kind = CDC_K_TIME;
        out->fsp = (uint8_t)fsp;
        return CDC_OK;
    case CDC_T_BIT:
        /* the text protocol sends BIT as its raw big-endian bytes */
        if (len < 1 || len > 8) return bad(col, s, len, err);
        out->kind = CDC_K_BIT;
        out->v.u = cdc__beN((const uint8_t *)s, len);
        return CDC_OK;
    case CDC_T_JSON:
        out->kind = CDC_K_JSON;
        out->flags = CDC_VF_TEXT;
        out->v.b = (cdc_bytes){(const uint8_t *)s, len};
        return CDC_OK;
    case CDC_T_GEOMETRY:
        if (len < 4) return bad(col, s, len, err);
        out->kind = CDC_K_GEOMETRY;
        out->v.b = (cdc_bytes){(const uint8_t *)s, len};
        return CDC_OK;
    case CDC_T_VECTOR:
        if (len % 4) return bad(col, s, len, err);
        out->kind = CDC_K_VECTOR;
        out->v.b = (cdc_bytes){(const uint8_t *)s, len};
        return CDC_OK;
    case CDC_T_ENUM: case CDC_T_SET: case CDC_T_STRING: {
        unsigned real, plen;
        cdc__column_string_info(col, &real, &plen);
        if (real == CDC_T_ENUM || real == CDC_T_SET) {
            if (col->n_labels) return from_enum_set(col, real, s, len, text_is_utf8(text_charset), out, err);
            /* no labels to map back: the label itself, which is what the
             * binlog side renders once it knows them */
            out->kind = CDC_K_STRING;
            out->flags = text_is_utf8(text_charset) ? CDC_VF_UTF8 : 0;
            out->v.b = (cdc_bytes){(const uint8_t *)s, len};
            return CDC_OK;
        }
        if (col->flags & (CDC_COLF_INET4 | CDC_COLF_INET6 | CDC_COLF_UUID))
            return from_inet_uuid(col, s, len, out, scratch, err);
    }
        /* fall through */
    case CDC_T_VARCHAR: case CDC_T_VAR_STRING:
    case CDC_T_TINY_BLOB: case CDC_T_MEDIUM_BLOB: case CDC_T_LONG_BLOB: case CDC_T_BLOB:
        out->v.b = (cdc_bytes){(const uint8_t *)s, len};
        if (col->flags & CDC_COLF_JSON_TEXT) {
            out->kind = CDC_K_JSON;
            out->flags = CDC_VF_TEXT;
        } else if (col->charset == CDC_CHARSET_BINARY) {
            out->kind = CDC_K_BYTES;
        } else {
            out->kind = CDC_K_STRING;
            if (text_is_utf8(text_charset)) out->flags = CDC_VF_UTF8;
        }
        return CDC_OK;
    default:
        return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "%s (type %u): no text form known",
                            cdc__type_name(col->type), (unsigned)col->type);
    }
}
