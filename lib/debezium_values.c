/*
 * debezium_values.c: one column as Debezium's MySQL connector writes it
 * through Kafka's JsonConverter: the Connect type a column maps to (with
 * the handling modes), that type's JSON schema, and each value's payload
 * JSON. The facts (type table, logical type names, the byte forms of
 * Decimal and Bits, zero dates) are Debezium's documented behaviour,
 * listed in docs/debezium.md.
 */
#include "debezium.h"

#include <cdc/value.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "charset.h"
#include "crypto.h"
#include "jsonw.h"
#include "render.h"
#include "temporal.h"

/* ---- planning ------------------------------------------------------------ */

void cdc__dz_plan_column(const cdc_column *c, const dz_modes *m, dz_col *out)
{
    memset(out, 0, sizeof *out);
    out->col = c;
    out->optional = (c->flags & CDC_COLF_NULLABLE) != 0;
    bool is_unsigned = (c->flags & CDC_COLF_UNSIGNED) != 0;
    int t = c->type == CDC_T_STRING ? c->real_type : c->type;
    switch (t) {
    case CDC_T_TINY: out->map = DZ_M_INT16; break;
    case CDC_T_SHORT: out->map = is_unsigned ? DZ_M_INT32 : DZ_M_INT16; break;
    case CDC_T_INT24: out->map = DZ_M_INT32; break;
    case CDC_T_LONG: out->map = is_unsigned ? DZ_M_INT64 : DZ_M_INT32; break;
    case CDC_T_LONGLONG:
        out->map = is_unsigned && m->bigint == DZ_BIGINT_PRECISE ? DZ_M_U64_DECIMAL : DZ_M_INT64;
        break;
    case CDC_T_FLOAT: out->map = DZ_M_FLOAT32; break;
    case CDC_T_DOUBLE: out->map = DZ_M_FLOAT64; break;
    case CDC_T_NEWDECIMAL:
    case CDC_T_DECIMAL:
        out->map = DZ_M_DECIMAL;
        out->prec = c->meta >> 8;
        out->scale = c->meta & 0xff;
        break;
    case CDC_T_DATE:
    case CDC_T_NEWDATE: out->map = DZ_M_DATE; break;
    case CDC_T_TIME:
    case CDC_T_TIME2:
        out->map = m->time == DZ_TIME_CONNECT ? DZ_M_TIME_MS : DZ_M_TIME_US;
        out->fsp = t == CDC_T_TIME2 ? c->meta : 0;
        break;
    case CDC_T_DATETIME:
    case CDC_T_DATETIME2:
        out->fsp = t == CDC_T_DATETIME2 ? c->meta : 0;
        out->map = m->time == DZ_TIME_ADAPTIVE_US && out->fsp > 3 ? DZ_M_DATETIME_US : DZ_M_DATETIME_MS;
        break;
    case CDC_T_TIMESTAMP:
    case CDC_T_TIMESTAMP2:
        out->map = DZ_M_ZONED;
        out->fsp = t == CDC_T_TIMESTAMP2 ? c->meta : 0;
        break;
    case CDC_T_YEAR: out->map = DZ_M_YEAR; break;
    case CDC_T_BIT:
        out->bits = (c->meta >> 8) * 8 + (c->meta & 0xff);
        out->map = out->bits == 1 ? DZ_M_BOOL : DZ_M_BITS;
        break;
    case CDC_T_ENUM: out->map = DZ_M_ENUM; break;
    case CDC_T_SET: out->map = DZ_M_SET; break;
    case CDC_T_JSON: out->map = DZ_M_JSON; break;
    case CDC_T_GEOMETRY: out->map = c->geometry_type == 1 ? DZ_M_POINT : DZ_M_GEOMETRY; break;
    case CDC_T_VECTOR: out->map = DZ_M_VECTOR; break;
    case CDC_T_VARCHAR:
    case CDC_T_VAR_STRING:
    case CDC_T_STRING:
        if (c->flags & (CDC_COLF_INET4 | CDC_COLF_INET6 | CDC_COLF_UUID)) {
            out->map = DZ_M_STRING;
        } else if (c->charset == CDC_CHARSET_BINARY) {
            out->map = DZ_M_BINARY;
            if (t == CDC_T_STRING) out->pad = c->meta; /* BINARY(n) comes back padded */
        } else {
            out->map = DZ_M_STRING;
        }
        break;
    case CDC_T_TINY_BLOB:
    case CDC_T_MEDIUM_BLOB:
    case CDC_T_LONG_BLOB:
    case CDC_T_BLOB:
        if (c->flags & CDC_COLF_JSON_TEXT) {
            out->map = DZ_M_JSON;
            out->json_text = true;
        } else if (c->charset == CDC_CHARSET_BINARY) out->map = DZ_M_BINARY;
        else out->map = DZ_M_STRING;
        break;
    default: out->map = DZ_M_STRING; break;
    }
}

/* ---- schemas -------------------------------------------------------------- */

/* inline so that strlen of a literal is folded */
static inline int put(cdc__buf *o, const char *s) { return cdc__dz_put_n(o, s, strlen(s)); }

/* {"type":T,"optional":B[,"name":N,"version":V] — the caller goes on. */
static int head(cdc__buf *o, const char *type, bool optional, const char *name, int version)
{
    int rc = cdc__buf_printf(o, "{\"type\":\"%s\",\"optional\":%s", type, optional ? "true" : "false");
    if (rc == CDC_OK && name) rc = cdc__buf_printf(o, ",\"name\":\"%s\",\"version\":%d", name, version);
    return rc;
}

/* Appends a JSON string literal of s[0..n) (UTF-8). */
static int put_str(cdc__buf *o, const char *s, size_t n)
{
    return cdc__render_utf8_string(o, (const uint8_t *)s, n);
}

/* The comma-separated labels of an ENUM/SET column, as a JSON string. */
static int put_allowed(cdc__buf *o, const cdc_column *c, cdc__buf *scratch)
{
    cdc__buf_reset(scratch);
    cdc__err err;
    for (uint32_t i = 0; i < c->n_labels; i++) {
        if (i && cdc__buf_putc(scratch, ',')) return CDC_ERR_NOMEM;
        cdc__err_clear(&err);
        /* labels are in the column's charset; render to UTF-8 then strip the quotes */
        cdc__buf one;
        cdc__buf_init(&one, scratch->alloc);
        int rc = cdc__charset_to_utf8(cdc__charset_of(c->charset), c->labels[i].ptr, c->labels[i].len, &one, &err);
        if (rc == CDC_OK) rc = cdc__buf_append(scratch, one.data, one.len);
        cdc__buf_free(&one);
        if (rc) return rc;
    }
    return put_str(o, (const char *)scratch->data, scratch->len);
}

int cdc__dz_schema_column(const dz_col *dc, const dz_modes *m, cdc__buf *o)
{
    bool opt = dc->optional;
    int rc = CDC_OK;
    switch (dc->map) {
    case DZ_M_BOOL: return head(o, "boolean", opt, NULL, 0);
    case DZ_M_INT16: return head(o, "int16", opt, NULL, 0);
    case DZ_M_INT32: return head(o, "int32", opt, NULL, 0);
    case DZ_M_INT64: return head(o, "int64", opt, NULL, 0);
    case DZ_M_FLOAT32: return head(o, "float", opt, NULL, 0);
    case DZ_M_FLOAT64: return head(o, "double", opt, NULL, 0);
    case DZ_M_U64_DECIMAL:
        rc = head(o, "bytes", opt, "org.apache.kafka.connect.data.Decimal", 1);
        return rc ? rc : put(o, ",\"parameters\":{\"scale\":\"0\",\"connect.decimal.precision\":\"20\"}");
    case DZ_M_DECIMAL:
        if (m->decimal == DZ_DEC_STRING) return head(o, "string", opt, NULL, 0);
        if (m->decimal == DZ_DEC_DOUBLE) return head(o, "double", opt, NULL, 0);
        rc = head(o, "bytes", opt, "org.apache.kafka.connect.data.Decimal", 1);
        return rc ? rc
                  : cdc__buf_printf(o, ",\"parameters\":{\"scale\":\"%u\",\"connect.decimal.precision\":\"%u\"}",
                                    dc->scale, dc->prec);
    case DZ_M_DATE:
        return head(o, "int32", opt,
                    m->time == DZ_TIME_CONNECT ? "org.apache.kafka.connect.data.Date" : "io.debezium.time.Date", 1);
    case DZ_M_TIME_US: return head(o, "int64", opt, "io.debezium.time.MicroTime", 1);
    case DZ_M_TIME_MS: return head(o, "int32", opt, "org.apache.kafka.connect.data.Time", 1);
    case DZ_M_DATETIME_MS:
        return head(o, "int64", opt,
                    m->time == DZ_TIME_CONNECT ? "org.apache.kafka.connect.data.Timestamp" : "io.debezium.time.Timestamp",
                    1);
    case DZ_M_DATETIME_US: return head(o, "int64", opt, "io.debezium.time.MicroTimestamp", 1);
    case DZ_M_ZONED: return head(o, "string", opt, "io.debezium.time.ZonedTimestamp", 1);
    case DZ_M_YEAR: return head(o, "int32", opt, "io.debezium.time.Year", 1);
    case DZ_M_STRING: return head(o, "string", opt, NULL, 0);
    case DZ_M_ENUM:
    case DZ_M_SET: {
        rc = head(o, "string", opt, dc->map == DZ_M_ENUM ? "io.debezium.data.Enum" : "io.debezium.data.EnumSet", 1);
        if (rc == CDC_OK) rc = put(o, ",\"parameters\":{\"allowed\":");
        cdc__buf scratch;
        cdc__buf_init(&scratch, o->alloc);
        if (rc == CDC_OK) rc = put_allowed(o, dc->col, &scratch);
        cdc__buf_free(&scratch);
        return rc ? rc : put(o, "}");
    }
    case DZ_M_BINARY: return head(o, m->binary == DZ_BIN_BYTES ? "bytes" : "string", opt, NULL, 0);
    case DZ_M_BITS:
        rc = head(o, "bytes", opt, "io.debezium.data.Bits", 1);
        return rc ? rc : cdc__buf_printf(o, ",\"parameters\":{\"length\":\"%u\"}", dc->bits);
    case DZ_M_JSON: return head(o, "string", opt, "io.debezium.data.Json", 1);
    case DZ_M_GEOMETRY:
        /* Debezium's Geometry schema is optional whatever the column says */
        return put(o, "{\"type\":\"struct\",\"fields\":[{\"type\":\"bytes\",\"optional\":false,\"field\":\"wkb\"},"
                      "{\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}],\"optional\":true,"
                      "\"name\":\"io.debezium.data.geometry.Geometry\",\"version\":1,\"doc\":\"Geometry\"");
    case DZ_M_POINT:
        return cdc__buf_printf(o,
                               "{\"type\":\"struct\",\"fields\":[{\"type\":\"double\",\"optional\":false,\"field\":\"x\"},"
                               "{\"type\":\"double\",\"optional\":false,\"field\":\"y\"},"
                               "{\"type\":\"bytes\",\"optional\":true,\"field\":\"wkb\"},"
                               "{\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}],\"optional\":%s,"
                               "\"name\":\"io.debezium.data.geometry.Point\",\"version\":1,\"doc\":\"Geometry (POINT)\"",
                               opt ? "true" : "false");
    case DZ_M_VECTOR:
        return cdc__buf_printf(o,
                               "{\"type\":\"array\",\"items\":{\"type\":\"float\",\"optional\":false},\"optional\":%s,"
                               "\"name\":\"io.debezium.data.FloatVector\",\"version\":1",
                               opt ? "true" : "false");
    }
    return CDC_ERR_INVALID;
}

/* ---- numbers as Java prints them ------------------------------------------ */

/*
 * Kafka's JsonConverter writes FLOAT32/FLOAT64 through Jackson, which
 * prints Float.toString/Double.toString: the shortest digits that read
 * back, plain between 10^-3 and 10^7 with at least one fraction digit
 * ("100.0", "0.001"), otherwise d.dddE<n> ("1.0E7", "1.5E-5").
 */
static size_t java_layout(char *buf, const char *mysql)
{
    /* mysql: the shortest text in MySQL's layout, from render.c */
    const char *p = mysql;
    bool neg = *p == '-';
    if (neg) p++;
    char d[40];
    int n = 0, point = -1;
    for (; *p && *p != 'e'; p++) {
        if (*p == '.') point = n;
        else if (n < 39) d[n++] = *p;
    }
    int exp = *p == 'e' ? atoi(p + 1) : 0;
    if (point < 0) point = n;
    int decpt = point + exp; /* value = 0.d[0..n) x 10^decpt */
    int lead = 0;
    while (lead < n && d[lead] == '0') lead++;
    char *o = buf;
    if (neg) *o++ = '-';
    if (lead == n) { memcpy(o, "0.0", 4); return (size_t)(o - buf) + 3; }
    memmove(d, d + lead, (size_t)(n - lead));
    n -= lead;
    decpt -= lead;
    while (n > 1 && d[n - 1] == '0') n--;
    if (decpt >= -2 && decpt <= 7) {
        if (decpt <= 0) {
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < -decpt; i++) *o++ = '0';
            memcpy(o, d, (size_t)n);
            o += n;
        } else {
            for (int i = 0; i < decpt; i++) *o++ = i < n ? d[i] : '0';
            *o++ = '.';
            if (n > decpt) {
                memcpy(o, d + decpt, (size_t)(n - decpt));
                o += n - decpt;
            } else {
                *o++ = '0';
            }
        }
    } else {
        *o++ = d[0];
        *o++ = '.';
        if (n > 1) {
            memcpy(o, d + 1, (size_t)(n - 1));
            o += n - 1;
        } else {
            *o++ = '0';
        }
        o += sprintf(o, "E%d", decpt - 1);
    }
    *o = 0;
    return (size_t)(o - buf);
}

/* Significant digits of a shortest text ("1e-20" 1, "0.25" 2). */
static int sig_digits(const char *s)
{
    int n = 0, lead = 1, zeros = 0;
    for (; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9') continue;
        if (lead && *s == '0') continue;
        lead = 0;
        n++;
        zeros = *s == '0' ? zeros + 1 : 0;
    }
    return n - zeros;
}

/*
 * When one digit would do, Java picks the closest decimal of one or two
 * digits (Double.MIN_VALUE prints 4.9E-324, not 5.0E-324): printf's
 * correctly rounded two digits, kept when they still read back.
 */
size_t cdc__dz_java_double(char *buf, double v)
{
    char t[40];
    if (!isfinite(v)) { memcpy(buf, "null", 5); return 4; }
    cdc__fmt_double(t, v);
    if (sig_digits(t) <= 1) {
        char two[40];
        snprintf(two, sizeof two, "%.1e", v);
        if (strtod(two, NULL) == v) return java_layout(buf, two);
    }
    return java_layout(buf, t);
}

size_t cdc__dz_java_float(char *buf, float v)
{
    char t[40];
    if (!isfinite(v)) { memcpy(buf, "null", 5); return 4; }
    cdc__fmt_float(t, v);
    if (sig_digits(t) <= 1) {
        char two[40];
        snprintf(two, sizeof two, "%.1e", (double)v);
        if (strtof(two, NULL) == v) return java_layout(buf, two);
    }
    return java_layout(buf, t);
}

/* ---- Connect Decimal ------------------------------------------------------- */

/* Up to 38 digits fit an __int128: the common DECIMALs take this path. */
static size_t unscaled_fast(const char *s, size_t n, uint8_t out[32])
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    unsigned __int128 m = 0;
    int digits = 0;
    for (; i < n; i++) {
        if (s[i] == '.') continue;
        if (s[i] < '0' || s[i] > '9') return 0;
        m = m * 10 + (unsigned)(s[i] - '0');
        digits++;
    }
    if (!digits) return 0;
    __int128 v = neg ? -(__int128)m : (__int128)m;
    uint8_t tc[16];
    for (int k = 15; k >= 0; k--) {
        tc[k] = (uint8_t)v;
        v >>= 8; /* arithmetic shift keeps the sign */
    }
    int start = 0;
    uint8_t fill = neg ? 0xff : 0x00;
    while (start < 15 && tc[start] == fill && ((tc[start + 1] & 0x80) != 0) == neg) start++;
    memcpy(out, tc + start, (size_t)(16 - start));
    return (size_t)(16 - start);
}

size_t cdc__dz_unscaled_bytes(const char *s, size_t n, uint8_t out[32])
{
    if (n <= 39) return unscaled_fast(s, n, out); /* sign, point and at most 37 digits */
    uint8_t mag[32] = {0}; /* big-endian magnitude; 10^70 < 2^233 fits */
    bool neg = false, any = false;
    size_t i = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    for (; i < n; i++) {
        if (s[i] == '.') continue;
        if (s[i] < '0' || s[i] > '9') return 0;
        any = true;
        unsigned carry = (unsigned)(s[i] - '0');
        for (int k = 31; k >= 0; k--) {
            unsigned x = mag[k] * 10u + carry;
            mag[k] = (uint8_t)x;
            carry = x >> 8;
        }
        if (carry) return 0;
    }
    if (!any) return 0;
    bool zero = true;
    for (int k = 0; k < 32; k++) zero = zero && mag[k] == 0;
    if (zero) { out[0] = 0; return 1; }
    uint8_t tc[32];
    if (neg) {
        unsigned carry = 1;
        for (int k = 31; k >= 0; k--) {
            unsigned x = (uint8_t)~mag[k] + carry;
            tc[k] = (uint8_t)x;
            carry = x >> 8;
        }
    } else {
        memcpy(tc, mag, 32);
    }
    /* minimal two's complement: drop a leading 0x00 (0xff) while the next
     * byte keeps the sign bit clear (set) */
    int start = 0;
    uint8_t fill = neg ? 0xff : 0x00;
    while (start < 31 && tc[start] == fill && ((tc[start + 1] & 0x80) != 0) == neg) start++;
    memcpy(out, tc + start, (size_t)(32 - start));
    return (size_t)(32 - start);
}

/* ---- values ------------------------------------------------------------------ */

static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* "<base64>" with the given alphabet, padded (Java's encoders pad). */
static int put_b64(cdc__buf *o, const uint8_t *p, size_t n, const char *alpha)
{
    if (cdc__buf_reserve(o, (n + 2) / 3 * 4 + 2)) return CDC_ERR_NOMEM;
    uint8_t *w = o->data + o->len;
    *w++ = '"';
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t x = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *w++ = (uint8_t)alpha[x >> 18];
        *w++ = (uint8_t)alpha[(x >> 12) & 63];
        *w++ = (uint8_t)alpha[(x >> 6) & 63];
        *w++ = (uint8_t)alpha[x & 63];
    }
    if (n - i == 1) {
        uint32_t x = (uint32_t)p[i] << 16;
        *w++ = (uint8_t)alpha[x >> 18];
        *w++ = (uint8_t)alpha[(x >> 12) & 63];
        *w++ = '=';
        *w++ = '=';
    } else if (n - i == 2) {
        uint32_t x = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *w++ = (uint8_t)alpha[x >> 18];
        *w++ = (uint8_t)alpha[(x >> 12) & 63];
        *w++ = (uint8_t)alpha[(x >> 6) & 63];
        *w++ = '=';
    }
    *w++ = '"';
    o->len = (size_t)(w - o->data);
    return CDC_OK;
}

static int put_hex(cdc__buf *o, const uint8_t *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    if (cdc__buf_reserve(o, n * 2 + 2)) return CDC_ERR_NOMEM;
    uint8_t *w = o->data + o->len;
    *w++ = '"';
    for (size_t i = 0; i < n; i++) {
        *w++ = (uint8_t)hx[p[i] >> 4];
        *w++ = (uint8_t)hx[p[i] & 15];
    }
    *w++ = '"';
    o->len = (size_t)(w - o->data);
    return CDC_OK;
}

int cdc__dz_put_i64(cdc__buf *o, int64_t v)
{
    char t[24];
    return cdc__dz_put_n(o, t, cdc__fmt_i64(t, v));
}
#define put_i64 cdc__dz_put_i64

static int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/* Days from 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool bad_date(const cdc_datetime *tm) { return tm->zero || tm->year == 0 || tm->month == 0 || tm->day == 0; }

/* A zero or partial date: null when the column allows it, else the
 * epoch (Debezium's documented rule). */
static int put_zero(cdc__buf *o, const dz_col *dc, const char *epoch)
{
    return put(o, dc->optional ? "null" : epoch);
}

/* Canonical text of v (render.c) into scratch. */
static int canonical(const cdc_value *v, cdc__buf *scratch, cdc__err *err)
{
    cdc__buf_reset(scratch);
    return cdc__value_render_json(v, scratch, err);
}

static int put_decimal(const dz_col *dc, const dz_modes *m, const cdc_value *v, cdc__buf *o, cdc__err *err)
{
    if (m->decimal == DZ_DEC_PRECISE && (v->flags & CDC_VF_SCALED)) {
        /* up to 18 digits: the decoder read the unscaled integer already;
         * its minimal big-endian two's complement, without the text */
        int64_t u = v->v.dec.unscaled;
        uint8_t tc[8];
        for (int k = 7; k >= 0; k--) {
            tc[k] = (uint8_t)u;
            u >>= 8; /* arithmetic: keeps the sign */
        }
        int start = 0;
        bool neg = v->v.dec.unscaled < 0;
        uint8_t fill = neg ? 0xff : 0x00;
        while (start < 7 && tc[start] == fill && ((tc[start + 1] & 0x80) != 0) == neg) start++;
        return put_b64(o, tc + start, (size_t)(8 - start), b64std);
    }
    char text[80];
    size_t need = 0;
    int rc = cdc_value_decimal(v, text, sizeof text, &need);
    if (rc != CDC_OK) return cdc__err_set(err, rc, "DECIMAL(%u,%u): %s", dc->prec, dc->scale, cdc_strerror(rc));
    size_t n = need - 1;
    if (m->decimal == DZ_DEC_STRING) return put_str(o, text, n);
    if (m->decimal == DZ_DEC_DOUBLE) {
        char jb[40];
        size_t jn = cdc__dz_java_double(jb, strtod(text, NULL));
        return cdc__buf_append(o, jb, jn);
    }
    uint8_t b[32];
    size_t bn = cdc__dz_unscaled_bytes(text, n, b);
    if (!bn) return cdc__err_set(err, CDC_ERR_CORRUPT, "DECIMAL(%u,%u): malformed digits '%s'", dc->prec, dc->scale, text);
    return put_b64(o, b, bn, b64std);
}

static int put_binary(const dz_col *dc, const dz_modes *m, const cdc_value *v, cdc__buf *o, cdc__buf *scratch)
{
    cdc_bytes b = cdc_value_bytes(v);
    const uint8_t *p = b.ptr;
    size_t n = b.len;
    if (dc->pad > n) {
        cdc__buf_reset(scratch);
        if (cdc__buf_reserve(scratch, dc->pad)) return CDC_ERR_NOMEM;
        if (n) memcpy(scratch->data, p, n);
        memset(scratch->data + n, 0, dc->pad - n);
        scratch->len = dc->pad;
        p = scratch->data;
        n = dc->pad;
    }
    switch (m->binary) {
    case DZ_BIN_HEX: return put_hex(o, p, n);
    case DZ_BIN_BASE64_URL: return put_b64(o, p, n, b64url);
    default: return put_b64(o, p, n, b64std); /* bytes: JsonConverter writes base64 */
    }
}

/* UTF-8 text of a string value into scratch (charset converted). Reads
 * the internal value: whether its bytes are UTF-8 already (snapshot rows)
 * is not something the public getters say. Only the column.mask/truncate
 * options come here. */
static int utf8_text(const cdc_value *v, cdc__buf *scratch, cdc__err *err)
{
    cdc__buf_reset(scratch);
    cdc_bytes b = cdc_value_bytes(v);
    if (v->kind != CDC_K_STRING) {
        /* INET/UUID and others: the canonical string without its quotes */
        int rc = cdc__value_render_json(v, scratch, err);
        if (rc) return rc;
        if (scratch->len >= 2 && scratch->data[0] == '"') {
            memmove(scratch->data, scratch->data + 1, scratch->len - 2);
            scratch->len -= 2;
        }
        return CDC_OK;
    }
    if (v->flags & CDC_VF_UTF8 || !v->col) return cdc__utf8_sanitize(b.ptr, b.len, scratch);
    return cdc__charset_to_utf8(cdc__charset_of(v->col->charset), b.ptr, b.len, scratch, err);
}

/* Bytes of the first n Java chars (UTF-16 units) of UTF-8 s. */
static size_t utf16_prefix(const uint8_t *s, size_t len, unsigned n)
{
    size_t i = 0;
    unsigned units = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        unsigned u = k == 4 ? 2 : 1;
        if (units + u > n || i + k > len) break;
        units += u;
        i += k;
    }
    return i;
}

/* Java's ObjectOutputStream form of a String (hash strategy V1): stream
 * header, TC_STRING/TC_LONGSTRING, length, modified UTF-8. */
static int java_serialized(const uint8_t *s, size_t len, cdc__buf *out)
{
    cdc__buf mu;
    cdc__buf_init(&mu, out->alloc);
    int rc = CDC_OK;
    for (size_t i = 0; i < len && rc == CDC_OK;) {
        uint8_t c = s[i];
        if (c == 0) { rc = cdc__buf_append(&mu, "\xc0\x80", 2); i++; continue; }
        if (c >= 0xf0 && i + 4 <= len) {
            /* supplementary: two surrogates, each as 3-byte UTF-8 */
            uint32_t cp = (uint32_t)(c & 7) << 18 | (uint32_t)(s[i + 1] & 63) << 12 |
                          (uint32_t)(s[i + 2] & 63) << 6 | (s[i + 3] & 63);
            cp -= 0x10000;
            uint32_t hs = 0xd800 + (cp >> 10), ls = 0xdc00 + (cp & 0x3ff);
            uint8_t e[6] = {(uint8_t)(0xe0 | hs >> 12), (uint8_t)(0x80 | ((hs >> 6) & 63)), (uint8_t)(0x80 | (hs & 63)),
                            (uint8_t)(0xe0 | ls >> 12), (uint8_t)(0x80 | ((ls >> 6) & 63)), (uint8_t)(0x80 | (ls & 63))};
            rc = cdc__buf_append(&mu, e, 6);
            i += 4;
            continue;
        }
        rc = cdc__buf_putc(&mu, c);
        i++;
    }
    if (rc == CDC_OK) rc = cdc__buf_append(out, "\xac\xed\x00\x05", 4);
    if (rc == CDC_OK && mu.len <= 0xffff) {
        uint8_t h[3] = {0x74, (uint8_t)(mu.len >> 8), (uint8_t)mu.len};
        rc = cdc__buf_append(out, h, 3);
    } else if (rc == CDC_OK) {
        uint8_t h[9] = {0x7c};
        for (int k = 0; k < 8; k++) h[1 + k] = (uint8_t)((uint64_t)mu.len >> (56 - 8 * k));
        rc = cdc__buf_append(out, h, 9);
    }
    if (rc == CDC_OK) rc = cdc__buf_append(out, mu.data, mu.len);
    cdc__buf_free(&mu);
    return rc;
}

/* A string column with column.mask/truncate options applied. */
static int put_masked(const dz_col *dc, const cdc_value *v, cdc__buf *o, cdc__buf *scratch, cdc__err *err)
{
    if (dc->mask == 1) {
        if (cdc__buf_reserve(o, dc->mask_n + 2)) return CDC_ERR_NOMEM;
        o->data[o->len++] = '"';
        memset(o->data + o->len, '*', dc->mask_n);
        o->len += dc->mask_n;
        o->data[o->len++] = '"';
        return CDC_OK;
    }
    int rc = utf8_text(v, scratch, err);
    if (rc) return rc;
    if (dc->mask == 2 || dc->mask == 3) {
        cdc__buf in;
        cdc__buf_init(&in, o->alloc);
        if (dc->mask == 2) rc = java_serialized(scratch->data, scratch->len, &in);
        else rc = cdc__buf_append(&in, scratch->data, scratch->len);
        uint8_t h[CDC__SHA512_LEN];
        size_t hn = 0;
        if (rc == CDC_OK) {
            const uint8_t *p = in.data ? in.data : (const uint8_t *)"";
            if (dc->hash_alg == 1) { cdc__crypto_sha1(dc->salt, dc->salt_len, p, in.len, h); hn = CDC__SHA1_LEN; }
            else if (dc->hash_alg == 256) { cdc__crypto_sha256(dc->salt, dc->salt_len, p, in.len, h); hn = CDC__SHA256_LEN; }
            else { cdc__crypto_sha512(dc->salt, dc->salt_len, p, in.len, h); hn = CDC__SHA512_LEN; }
        }
        cdc__buf_free(&in);
        if (rc) return rc;
        size_t keep = hn * 2;
        if (dc->char_len && dc->char_len < keep) keep = dc->char_len; /* cut to the column's length */
        char hx[CDC__SHA512_LEN * 2];
        for (size_t i = 0; i < hn; i++) sprintf(hx + 2 * i, "%02x", h[i]);
        return put_str(o, hx, keep);
    }
    size_t n = scratch->len;
    if (dc->trunc_n) n = utf16_prefix(scratch->data, scratch->len, dc->trunc_n);
    return put_str(o, (const char *)scratch->data, n);
}

static int put_geometry(const dz_col *dc, const cdc_value *v, cdc__buf *o, cdc__err *err)
{
    cdc_bytes b = cdc_value_bytes(v);
    if (b.len < 4) return cdc__err_set(err, CDC_ERR_CORRUPT, "GEOMETRY: %zu bytes, need at least 4 for the SRID", b.len);
    uint32_t srid = cdc__le32(b.ptr);
    const uint8_t *wkb = b.ptr + 4;
    size_t wn = b.len - 4;
    int rc = CDC_OK;
    if (dc->map == DZ_M_POINT) {
        /* byte order, type 1, x, y */
        if (wn < 21 || wkb[0] > 1)
            return cdc__err_set(err, CDC_ERR_CORRUPT, "POINT: WKB of %zu bytes is not a point", wn);
        bool le = wkb[0] == 1;
        uint32_t type = le ? cdc__le32(wkb + 1) : (uint32_t)cdc__beN(wkb + 1, 4);
        if (type != 1) return cdc__err_set(err, CDC_ERR_CORRUPT, "POINT: WKB type %u is not a point", type);
        double xy[2];
        for (int k = 0; k < 2; k++) {
            uint64_t bits = le ? cdc__le64(wkb + 5 + 8 * k) : cdc__beN(wkb + 5 + 8 * k, 8);
            memcpy(&xy[k], &bits, 8);
        }
        char jb[40];
        rc = put(o, "{\"x\":");
        if (rc == CDC_OK) rc = cdc__buf_append(o, jb, cdc__dz_java_double(jb, xy[0]));
        if (rc == CDC_OK) rc = put(o, ",\"y\":");
        if (rc == CDC_OK) rc = cdc__buf_append(o, jb, cdc__dz_java_double(jb, xy[1]));
        if (rc == CDC_OK) rc = put(o, ",");
    } else {
        rc = put(o, "{");
    }
    if (rc == CDC_OK) rc = put(o, "\"wkb\":");
    if (rc == CDC_OK) rc = put_b64(o, wkb, wn, b64std);
    if (rc == CDC_OK) rc = srid ? cdc__buf_printf(o, ",\"srid\":%u}", srid) : put(o, ",\"srid\":null}");
    return rc;
}

int cdc__dz_value(const dz_col *dc, const dz_modes *m, const cdc_value *v, cdc__buf *o, cdc__buf *scratch,
                  cdc__err *err)
{
    /* through the public getters of cdc/value.h, which own the value's layout */
    cdc_kind kind = cdc_value_kind(v);
    if (!v || kind == CDC_KIND_NULL) return put(o, "null");
    int64_t i;
    uint64_t u;
    double d;
    cdc_datetime tm;
    char jb[48];
    switch (dc->map) {
    case DZ_M_BOOL:
        if (cdc_value_uint64(v, &u) != CDC_OK) break;
        return put(o, u ? "true" : "false");
    case DZ_M_INT16:
    case DZ_M_INT32:
    case DZ_M_INT64:
    case DZ_M_YEAR:
        if (kind == CDC_KIND_UINT && cdc_value_uint64(v, &u) == CDC_OK)
            return put_i64(o, (int64_t)u); /* long mode: Java's long wraps */
        if (cdc_value_int64(v, &i) != CDC_OK) break;
        return put_i64(o, i);
    case DZ_M_U64_DECIMAL: {
        if (cdc_value_uint64(v, &u) != CDC_OK) {
            if (cdc_value_int64(v, &i) != CDC_OK) break;
            u = (uint64_t)i; /* signedness unknown: the stored bits */
        }
        char digits[24];
        int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)u);
        uint8_t b[32];
        size_t bn = cdc__dz_unscaled_bytes(digits, (size_t)n, b);
        return put_b64(o, b, bn, b64std);
    }
    case DZ_M_FLOAT32:
        if (cdc_value_double(v, &d) != CDC_OK) break;
        if (kind == CDC_KIND_FLOAT) return cdc__buf_append(o, jb, cdc__dz_java_float(jb, (float)d)); /* exact */
        return cdc__buf_append(o, jb, cdc__dz_java_double(jb, d));
    case DZ_M_FLOAT64:
        if (cdc_value_double(v, &d) != CDC_OK) break;
        return cdc__buf_append(o, jb, cdc__dz_java_double(jb, d));
    case DZ_M_DECIMAL:
        if (kind != CDC_KIND_DECIMAL) break;
        return put_decimal(dc, m, v, o, err);
    case DZ_M_DATE:
        if (cdc_value_temporal(v, &tm) != CDC_OK) break;
        if (bad_date(&tm)) return put_zero(o, dc, "0");
        return put_i64(o, days_from_civil(tm.year, tm.month, tm.day));
    case DZ_M_TIME_US:
    case DZ_M_TIME_MS: {
        if (cdc_value_temporal(v, &tm) != CDC_OK) break;
        int64_t us = ((int64_t)tm.hour * 3600 + tm.minute * 60 + tm.second) * 1000000 + tm.usec;
        if (tm.negative) us = -us;
        return put_i64(o, dc->map == DZ_M_TIME_US ? us : floor_div(us, 1000));
    }
    case DZ_M_DATETIME_MS:
    case DZ_M_DATETIME_US: {
        if (cdc_value_temporal(v, &tm) != CDC_OK) break;
        if (bad_date(&tm)) return put_zero(o, dc, "0");
        int64_t us = (days_from_civil(tm.year, tm.month, tm.day) * 86400 + (int64_t)tm.hour * 3600 + tm.minute * 60 +
                      tm.second) * 1000000 + tm.usec;
        return put_i64(o, dc->map == DZ_M_DATETIME_US ? us : floor_div(us, 1000));
    }
    case DZ_M_ZONED: {
        if (kind != CDC_KIND_TIMESTAMP || cdc_value_temporal(v, &tm) != CDC_OK) break;
        if (tm.zero) return put_zero(o, dc, "\"1970-01-01T00:00:00Z\"");
        return cdc__value_render_json(v, o, err); /* "YYYY-MM-DDThh:mm:ss[.f{fsp}]Z", as Debezium pads it */
    }
    case DZ_M_ENUM:
    case DZ_M_SET:
        if ((kind == CDC_KIND_ENUM || kind == CDC_KIND_SET) && cdc_value_uint64(v, &u) == CDC_OK) {
            if (cdc_column_label_count(cdc_value_column(v)) == 0) /* labels unknown: the number, as a string */
                return cdc__buf_printf(o, "\"%llu\"", (unsigned long long)u);
            return cdc__value_render_json(v, o, err);
        }
        if (kind == CDC_KIND_STRING) return cdc__value_render_json(v, o, err);
        break;
    case DZ_M_STRING:
        if (dc->mask || dc->trunc_n) return put_masked(dc, v, o, scratch, err);
        return cdc__value_render_json(v, o, err);
    case DZ_M_BINARY:
        if (kind != CDC_KIND_BYTES && kind != CDC_KIND_STRING) break;
        return put_binary(dc, m, v, o, scratch);
    case DZ_M_BITS: {
        if (cdc_value_uint64(v, &u) != CDC_OK) break;
        uint8_t b[8];
        size_t nb = (dc->bits + 7) / 8;
        if (nb > 8) nb = 8;
        for (size_t k = 0; k < nb; k++) b[k] = (uint8_t)(u >> (8 * k));
        return put_b64(o, b, nb, b64std);
    }
    case DZ_M_JSON: {
        if (kind == CDC_KIND_JSON && cdc_value_bytes(v).len == 0) return put_zero(o, dc, "\"{}\"");
        /* A MariaDB JSON column's value is the text the server stored; the
         * string carries it as stored, as Debezium's does, so an applier
         * writes back the same bytes (valid JSON or not). */
        if (dc->json_text && kind == CDC_KIND_JSON)
            return put_str(o, (const char *)cdc_value_bytes(v).ptr, cdc_value_bytes(v).len);
        int rc = canonical(v, scratch, err);
        if (rc) return rc;
        return put_str(o, (const char *)scratch->data, scratch->len);
    }
    case DZ_M_GEOMETRY:
    case DZ_M_POINT:
        if (kind != CDC_KIND_GEOMETRY) break;
        return put_geometry(dc, v, o, err);
    case DZ_M_VECTOR: {
        if (kind != CDC_KIND_VECTOR) break;
        cdc_bytes b = cdc_value_bytes(v);
        int rc = put(o, "[");
        for (size_t k = 0; rc == CDC_OK && k + 4 <= b.len; k += 4) {
            uint32_t bits = cdc__le32(b.ptr + k);
            float f;
            memcpy(&f, &bits, 4);
            if (k) rc = put(o, ",");
            if (rc == CDC_OK) rc = cdc__buf_append(o, jb, cdc__dz_java_float(jb, f));
        }
        return rc ? rc : put(o, "]");
    }
    }
    return cdc__err_set(err, CDC_ERR_SCHEMA, "a %s value where %s was expected", cdc_kind_name(kind),
                        cdc_column_type_name(dc->col));
}
