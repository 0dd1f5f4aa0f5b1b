/*
 * value.c: the public getters of include/cdc/value.h over the internal
 * cdc_value of value.h.
 */
#include <cdc/value.h>

#include <stdlib.h>

#include "charset.h"
#include "decimal.h"
#include "temporal.h"
#include "rowvalue.h"
#include "value.h"

/* The public enum must keep the internal numbers. */
_Static_assert((int)CDC_KIND_UUID == (int)CDC_K_UUID && (int)CDC_KIND_JSON_DIFF == (int)CDC_K_JSON_DIFF &&
                   (int)CDC_KIND_DECIMAL == (int)CDC_K_DECIMAL && (int)CDC_KIND_TIMESTAMP == (int)CDC_K_TIMESTAMP,
               "cdc_kind and CDC_K_* disagree");

CDC_EXTERN cdc_kind cdc_value_kind(const cdc_value *v) { return v ? (cdc_kind)v->kind : CDC_KIND_NULL; }

CDC_EXTERN const char *cdc_kind_name(int kind)
{
    static const char *const names[] = {"NULL", "INT", "UINT", "FLOAT", "DOUBLE", "DECIMAL", "DATE", "TIME",
                                        "DATETIME", "TIMESTAMP", "YEAR", "BIT", "ENUM", "SET", "STRING", "BYTES",
                                        "JSON", "GEOMETRY", "VECTOR", "JSON_DIFF", "INET4", "INET6", "UUID"};
    if (kind < 0 || (size_t)kind >= sizeof names / sizeof names[0]) return "UNKNOWN";
    return names[kind];
}

CDC_EXTERN int cdc_value_is_null(const cdc_value *v) { return !v || v->kind == CDC_K_NULL; }

CDC_EXTERN int cdc_value_int64(const cdc_value *v, int64_t *out)
{
    if (!v || !out) return CDC_ERR_INVALID;
    switch (v->kind) {
    case CDC_K_INT:
    case CDC_K_YEAR: *out = v->v.i; return CDC_OK;
    case CDC_K_TIMESTAMP: *out = v->v.ts.sec; return CDC_OK;
    case CDC_K_UINT:
    case CDC_K_BIT:
    case CDC_K_ENUM:
    case CDC_K_SET:
        if (v->v.u > INT64_MAX) return CDC_ERR_TOO_LARGE;
        *out = (int64_t)v->v.u;
        return CDC_OK;
    default: return CDC_ERR_INVALID;
    }
}

CDC_EXTERN int cdc_value_uint64(const cdc_value *v, uint64_t *out)
{
    if (!v || !out) return CDC_ERR_INVALID;
    switch (v->kind) {
    case CDC_K_UINT:
    case CDC_K_BIT:
    case CDC_K_ENUM:
    case CDC_K_SET: *out = v->v.u; return CDC_OK;
    case CDC_K_INT:
    case CDC_K_YEAR:
        if (v->v.i < 0) return CDC_ERR_TOO_LARGE;
        *out = (uint64_t)v->v.i;
        return CDC_OK;
    default: return CDC_ERR_INVALID;
    }
}

CDC_EXTERN int cdc_value_double(const cdc_value *v, double *out)
{
    if (!v || !out) return CDC_ERR_INVALID;
    if (v->kind == CDC_K_FLOAT) { *out = (double)v->v.f; return CDC_OK; }
    if (v->kind == CDC_K_DOUBLE) { *out = v->v.d; return CDC_OK; }
    return CDC_ERR_INVALID;
}

CDC_EXTERN cdc_bytes cdc_value_bytes(const cdc_value *v)
{
    if (!v) return (cdc_bytes){NULL, 0};
    switch (v->kind) {
    case CDC_K_STRING: case CDC_K_BYTES: case CDC_K_JSON: case CDC_K_GEOMETRY: case CDC_K_VECTOR:
    case CDC_K_JSON_DIFF: case CDC_K_INET4: case CDC_K_INET6: case CDC_K_UUID:
        return v->v.b;
    default: return (cdc_bytes){NULL, 0};
    }
}

CDC_EXTERN int cdc_value_temporal(const cdc_value *v, cdc_datetime *out)
{
    if (!v || !out) return CDC_ERR_INVALID;
    cdc__temporal tm;
    switch (v->kind) {
    case CDC_K_DATE: case CDC_K_TIME: case CDC_K_DATETIME: tm = v->v.tm; break;
    case CDC_K_TIMESTAMP:
        if (v->flags & CDC_VF_ZERO_DATE) memset(&tm, 0, sizeof tm);
        else cdc__epoch_to_tm(v->v.ts.sec, v->v.ts.usec, &tm);
        break;
    default: return CDC_ERR_INVALID;
    }
    out->year = tm.year;
    out->month = tm.month;
    out->day = tm.day;
    out->hour = tm.hour;
    out->minute = tm.minute;
    out->second = tm.second;
    out->usec = tm.usec;
    out->fsp = v->fsp;
    out->negative = tm.neg;
    out->zero = (v->flags & CDC_VF_ZERO_DATE) != 0;
    return CDC_OK;
}

/* Copies n bytes of text plus a NUL into buf, honouring the need rule. */
static int give(const void *text, size_t n, char *buf, size_t cap, size_t *need)
{
    if (need) *need = n + 1;
    if (cap < n + 1) return CDC_ERR_TOO_LARGE;
    memcpy(buf, text, n);
    buf[n] = 0;
    return CDC_OK;
}

CDC_EXTERN int cdc_value_decimal(const cdc_value *v, char *buf, size_t cap, size_t *need)
{
    if (!v || v->kind != CDC_K_DECIMAL || (cap && !buf)) return CDC_ERR_INVALID;
    if (v->flags & CDC_VF_TEXT) {
        /* the pre-5.0 form is already text, space-padded */
        const uint8_t *s = v->v.b.ptr;
        size_t n = v->v.b.len;
        while (n && *s == ' ') { s++; n--; }
        while (n && s[n - 1] == ' ') n--;
        return give(s, n, buf, cap, need);
    }
    if (!v->col) return CDC_ERR_INVALID;
    unsigned prec = v->col->meta >> 8, scale = v->col->meta & 0xff;
    size_t size = cdc__decimal_bin_size(prec, scale);
    if (!size || v->v.b.len < size) return CDC_ERR_CORRUPT;
    char text[CDC__DECIMAL_TEXT_MAX];
    int n = cdc__decimal_to_text(v->v.b.ptr, prec, scale, text, NULL);
    if (n < 0) return n;
    return give(text, (size_t)n, buf, cap, need);
}

/* A 128-bit magnitude as two halves, built digit group by digit group. */
typedef struct u128 { uint64_t hi, lo; } u128;

/* x = x * m + add (m, add < 2^30); 0 on overflow past 128 bits. */
static bool u128_muladd(u128 *x, uint32_t m, uint32_t add)
{
    uint64_t t0 = (x->lo & 0xffffffffu) * m + add;
    uint64_t t1 = (x->lo >> 32) * m + (t0 >> 32);
    uint64_t carry = t1 >> 32;
    if (x->hi > (UINT64_MAX - carry) / m) return false;
    x->hi = x->hi * m + carry;
    x->lo = (t1 << 32) | (t0 & 0xffffffffu);
    return true;
}

/* The magnitude, sign and scale of a DECIMAL value. */
static int decimal_parts(const cdc_value *v, u128 *mag, bool *neg, unsigned *scale)
{
    static const uint32_t p10[10] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
                                     1000000000};
    *mag = (u128){0, 0};
    *neg = false;
    if (v->flags & CDC_VF_TEXT) { /* pre-5.0: space-padded digits */
        const uint8_t *s = v->v.b.ptr;
        size_t n = v->v.b.len, i = 0;
        unsigned sc = 0;
        bool point = false, any = false;
        while (i < n && s[i] == ' ') i++;
        if (i < n && (s[i] == '-' || s[i] == '+')) *neg = s[i++] == '-';
        for (; i < n && s[i] != ' '; i++) {
            if (s[i] == '.' && !point) { point = true; continue; }
            if (s[i] < '0' || s[i] > '9') return CDC_ERR_CORRUPT;
            if (!u128_muladd(mag, 10, (uint32_t)(s[i] - '0'))) return CDC_ERR_TOO_LARGE;
            any = true;
            sc += point;
        }
        *scale = sc;
        return any ? CDC_OK : CDC_ERR_CORRUPT;
    }
    if (!v->col) return CDC_ERR_INVALID;
    unsigned prec = v->col->meta >> 8, sc = v->col->meta & 0xff;
    size_t size = cdc__decimal_bin_size(prec, sc);
    if (!size || v->v.b.len < size) return CDC_ERR_CORRUPT;
    /* groups as in decimal.c: a leading partial integer group, whole
     * groups of nine, a trailing partial fraction group */
    static const uint8_t dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
    const uint8_t *p = v->v.b.ptr;
    uint8_t mask = (p[0] & 0x80) ? 0 : 0xff;
    unsigned intg = prec - sc, lead = intg % 9, trail = sc % 9;
    unsigned ifirst = intg / 9 + (lead ? 1 : 0), ngroups = ifirst + sc / 9 + (trail ? 1 : 0);
    size_t off = 0;
    int rc = CDC_OK;
    for (unsigned g = 0; g < ngroups; g++) {
        unsigned nd = (g == 0 && lead) ? lead : (g == ngroups - 1 && g >= ifirst && trail) ? trail : 9;
        uint32_t x = 0;
        for (size_t i = 0; i < dig2bytes[nd]; i++) {
            uint8_t b = p[off + i];
            if (g == 0 && i == 0) b ^= 0x80; /* the sign bit is not a digit bit */
            x = (x << 8) | (uint8_t)(b ^ mask);
        }
        off += dig2bytes[nd];
        if (x >= p10[nd]) return CDC_ERR_CORRUPT;
        /* keep checking the digits after an overflow: corrupt wins */
        if (rc == CDC_OK && !u128_muladd(mag, p10[nd], x)) rc = CDC_ERR_TOO_LARGE;
    }
    *neg = mask != 0;
    *scale = sc;
    return rc;
}

CDC_EXTERN int cdc_value_decimal_scaled(const cdc_value *v, int64_t *unscaled, unsigned *scale)
{
    if (!v || !unscaled || !scale || v->kind != CDC_K_DECIMAL) return CDC_ERR_INVALID;
    if (v->flags & CDC_VF_SCALED) { /* read at decode time (rows.c) */
        *unscaled = v->v.dec.unscaled;
        *scale = v->col->meta & 0xff;
        return CDC_OK;
    }
    u128 m;
    bool neg;
    unsigned sc;
    int rc = decimal_parts(v, &m, &neg, &sc);
    if (rc) return rc;
    if (m.hi || m.lo > (uint64_t)INT64_MAX + neg) return CDC_ERR_TOO_LARGE;
    *unscaled = neg ? (int64_t)(0 - m.lo) : (int64_t)m.lo;
    *scale = sc;
    return CDC_OK;
}

CDC_EXTERN int cdc_value_decimal128(const cdc_value *v, int64_t *hi, uint64_t *lo, unsigned *scale)
{
    if (!v || !hi || !lo || !scale || v->kind != CDC_K_DECIMAL) return CDC_ERR_INVALID;
    u128 m;
    bool neg;
    unsigned sc;
    int rc = decimal_parts(v, &m, &neg, &sc);
    if (rc) return rc;
    /* |x| < 2^127, or exactly 2^127 when negative */
    if (m.hi > (uint64_t)INT64_MAX && !(neg && m.hi == (uint64_t)1 << 63 && m.lo == 0))
        return CDC_ERR_TOO_LARGE;
    if (neg) { /* two's complement: invert, add one */
        m.lo = ~m.lo + 1;
        m.hi = ~m.hi + (m.lo == 0);
    }
    *hi = (int64_t)m.hi;
    *lo = m.lo;
    *scale = sc;
    return CDC_OK;
}

CDC_EXTERN int cdc_value_timestamp(const cdc_value *v, int64_t *sec, uint32_t *usec)
{
    if (!v || !sec || !usec || v->kind != CDC_K_TIMESTAMP) return CDC_ERR_INVALID;
    bool zero = (v->flags & CDC_VF_ZERO_DATE) != 0;
    *sec = zero ? 0 : v->v.ts.sec;
    *usec = zero ? 0 : v->v.ts.usec;
    return CDC_OK;
}

CDC_EXTERN int cdc_value_render(const cdc_value *v, char *buf, size_t cap, size_t *need)
{
    if (!v || (cap && !buf)) return CDC_ERR_INVALID;
    cdc__buf out;
    cdc__buf_init(&out, NULL);
    cdc__err err;
    cdc__err_clear(&err);
    int rc;
    rc = cdc__value_render_json(v, &out, &err);
    if (rc == CDC_OK) rc = give(out.data, out.len, buf, cap, need);
    cdc__buf_free(&out);
    return rc;
}

CDC_EXTERN const cdc_column *cdc_value_column(const cdc_value *v) { return v ? v->col : NULL; }

CDC_EXTERN const char *cdc_column_name(const cdc_column *c, size_t *len)
{
    if (len) *len = c ? c->name.len : 0;
    return c && c->name.ptr ? (const char *)c->name.ptr : "";
}

CDC_EXTERN int cdc_column_type(const cdc_column *c) { return c ? c->type : -1; }

CDC_EXTERN const char *cdc_column_type_name(const cdc_column *c)
{
    if (!c) return "unknown type";
    if (c->type == CDC_T_STRING && (c->real_type == CDC_T_ENUM || c->real_type == CDC_T_SET))
        return cdc__type_name(c->real_type);
    if (c->charset == CDC_CHARSET_BINARY) {
        switch (c->type) {
        case CDC_T_STRING: return "BINARY";
        case CDC_T_VARCHAR: case CDC_T_VAR_STRING: return "VARBINARY";
        default: break;
        }
    } else if (c->charset) {
        switch (c->type) {
        case CDC_T_TINY_BLOB: return "TINYTEXT";
        case CDC_T_BLOB: return "TEXT";
        case CDC_T_MEDIUM_BLOB: return "MEDIUMTEXT";
        case CDC_T_LONG_BLOB: return "LONGTEXT";
        default: break;
        }
    }
    return cdc__type_name(c->type);
}

CDC_EXTERN unsigned cdc_column_collation(const cdc_column *c) { return c ? c->charset : 0; }

CDC_EXTERN const char *cdc_collation_charset(unsigned collation) { return cdc__charset_of(collation)->name; }
