/* Debezium values read back as PostgreSQL text (kdbz.h). */
#define _POSIX_C_SOURCE 200809L
#include "kdbz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dbz_mode_set(dbz_modes *m, const char *key, const char *value, char *err, size_t errlen)
{
    if (!strcmp(key, "decimal.handling.mode")) {
        if (!strcmp(value, "precise")) m->decimal = DBZ_DEC_PRECISE;
        else if (!strcmp(value, "string")) m->decimal = DBZ_DEC_STRING;
        else if (!strcmp(value, "double")) m->decimal = DBZ_DEC_DOUBLE;
        else goto bad;
    } else if (!strcmp(key, "time.precision.mode")) {
        if (!strcmp(value, "connect")) m->time_connect = 1;
        else if (!strcmp(value, "adaptive_time_microseconds")) m->time_connect = 0;
        else goto bad;
    } else if (!strcmp(key, "binary.handling.mode")) {
        if (!strcmp(value, "bytes") || !strcmp(value, "base64")) m->binary = DBZ_BIN_BASE64;
        else if (!strcmp(value, "base64-url-safe")) m->binary = DBZ_BIN_URLSAFE;
        else if (!strcmp(value, "hex")) m->binary = DBZ_BIN_HEX;
        else goto bad;
    } else if (!strcmp(key, "bigint.unsigned.handling.mode")) {
        if (!strcmp(value, "precise")) m->bigint_precise = 1;
        else if (!strcmp(value, "long")) m->bigint_precise = 0;
        else goto bad;
    } else {
        snprintf(err, errlen, "unknown Debezium option '%s' (decimal.handling.mode, "
                 "time.precision.mode, binary.handling.mode, bigint.unsigned.handling.mode)", key);
        return -1;
    }
    return 0;
bad:
    snprintf(err, errlen, "%s: '%s' is not one of its values (docs/debezium.md)", key, value);
    return -1;
}

static int b64val(int ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+' || ch == '-') return 62;
    if (ch == '/' || ch == '_') return 63;
    return -1;
}

int dbz_base64(const char *s, size_t n, mbuf *out)
{
    while (n && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            mbuf_addc(out, (char)((acc >> bits) & 0xff));
        }
    }
    return 0;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static int hex_decode(const char *s, size_t n, mbuf *out)
{
    if (n % 2)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int a = hexval((unsigned char)s[i]), b = hexval((unsigned char)s[i + 1]);
        if (a < 0 || b < 0)
            return -1;
        mbuf_addc(out, (char)(a << 4 | b));
    }
    return 0;
}

static void pg_hex(mbuf *out, const char *p, size_t n, size_t pad_to)
{
    static const char hd[] = "0123456789abcdef";
    mbuf_puts(out, "\\x");
    for (size_t i = 0; i < n; i++) {
        mbuf_addc(out, hd[(unsigned char)p[i] >> 4]);
        mbuf_addc(out, hd[(unsigned char)p[i] & 15]);
    }
    for (size_t i = n; i < pad_to; i++)
        mbuf_puts(out, "00");
}

/* Big-endian two's-complement bytes (Connect's Decimal) with scale as
 * decimal text: digits by repeated division of the magnitude by 10. */
static void decimal_text(const unsigned char *b, size_t n, long scale, mbuf *out)
{
    int neg = n && (b[0] & 0x80);
    unsigned char *m = xmalloc(n ? n : 1);
    memcpy(m, b, n);
    if (neg) { /* magnitude: invert and add one */
        for (size_t i = 0; i < n; i++)
            m[i] = (unsigned char)~m[i];
        for (size_t i = n; i-- > 0;)
            if (++m[i])
                break;
    }
    mbuf d = {0}; /* digits, least significant first */
    for (;;) {
        int nz = 0;
        unsigned rem = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned cur = rem << 8 | m[i];
            m[i] = (unsigned char)(cur / 10);
            rem = cur % 10;
            nz |= m[i];
        }
        mbuf_addc(&d, (char)('0' + rem));
        if (!nz)
            break;
    }
    free(m);
    while ((long)d.len <= scale)
        mbuf_addc(&d, '0');
    if (neg)
        mbuf_addc(out, '-');
    for (size_t i = d.len; i-- > 0;) {
        mbuf_addc(out, d.p[i]);
        if (scale > 0 && (long)i == scale)
            mbuf_addc(out, '.');
    }
    mbuf_free(&d);
}

static const char *schema_name(const kjson *fs)
{
    const kjson *n = fs ? kjson_get(fs, "name") : NULL;
    return n && n->type == KJSON_STRING ? n->text : "";
}

static const char *schema_type(const kjson *fs)
{
    const kjson *n = fs ? kjson_get(fs, "type") : NULL;
    return n && n->type == KJSON_STRING ? n->text : "";
}

static int parse_i64(const kjson *v, long long *out)
{
    if (v->type != KJSON_NUMBER)
        return -1;
    char *end;
    errno = 0;
    *out = strtoll(v->text, &end, 10);
    return errno || *end ? -1 : 0;
}

/* Floor division, for instants before the epoch. */
static long long fdiv(long long a, long long b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil(long long z, long long *y, unsigned *m, unsigned *d)
{
    z += 719468;
    long long era = fdiv(z, 146097);
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static vres bytes_of(const dbz_modes *m, const mcol *c, const kjson *v, const kjson *fs, mbuf *raw,
                     char *err, size_t errlen)
{
    if (v->type != KJSON_STRING) {
        snprintf(err, errlen, "column %s (%s): expected a string of bytes", c->name,
                 c->column_type);
        return V_ERR;
    }
    /* Connect bytes are base64 in JSON; a string field is the handling
     * mode's text (hex or base64). */
    int hex = m->binary == DBZ_BIN_HEX && strcmp(schema_type(fs), "bytes");
    int bad = hex ? hex_decode(v->text, v->len, raw) : dbz_base64(v->text, v->len, raw);
    if (bad) {
        snprintf(err, errlen, "column %s (%s): '%.40s' is not %s", c->name, c->column_type,
                 v->text, hex ? "hex (binary.handling.mode=hex)" : "base64");
        return V_ERR;
    }
    return V_OK;
}

static vres text_of(const mopts *o, const mcol *c, const kjson *v, mbuf *out, char *err,
                    size_t errlen)
{
    if (v->type != KJSON_STRING) {
        snprintf(err, errlen, "column %s (%s): expected a string", c->name, c->column_type);
        return V_ERR;
    }
    int nul = memchr(v->text, 0, v->len) != NULL;
    if (nul && !o->nul_keep) {
        if (!o->nul_strip) {
            snprintf(err, errlen, "column %s: text holds a NUL byte, which PostgreSQL text "
                     "cannot store (--nul strip drops such bytes)", c->name);
            return V_ERR;
        }
        for (size_t i = 0; i < v->len; i++)
            if (v->text[i])
                mbuf_addc(out, v->text[i]);
        return V_OK;
    }
    mbuf_add(out, v->text, v->len);
    return V_OK;
}

vres dbz_value_text(const mopts *o, const dbz_modes *m, const mcol *c, const kjson *v,
                    const kjson *fs, mbuf *out, char *err, size_t errlen)
{
    if (!v) {
        snprintf(err, errlen, "column %s is missing from the record (a column.exclude.list "
                 "or column.include.list on the producer leaves it out)", c->name);
        return V_ERR;
    }
    if (v->type == KJSON_NULL)
        return V_NULL;
    const char *sn = schema_name(fs);
    long long i;
    mbuf raw = {0};
    vres rc = V_ERR;
    switch (c->cv) {
    case CV_INT:
    case CV_YEAR:
        if (v->type == KJSON_BOOL) { /* a converter that writes TINYINT(1) as boolean */
            mbuf_puts(out, v->text[0] == 't' ? "1" : "0");
            return V_OK;
        }
        if (parse_i64(v, &i))
            break;
        mbuf_printf(out, "%lld", i);
        return V_OK;
    case CV_UINT:
        if (v->type == KJSON_STRING) { /* bigint.unsigned.handling.mode=precise */
            if (dbz_base64(v->text, v->len, &raw) || raw.len > 16)
                break;
            decimal_text((const unsigned char *)raw.p, raw.len, 0, out);
            mbuf_free(&raw);
            return V_OK;
        }
        if (parse_i64(v, &i))
            break;
        /* long mode: BIGINT UNSIGNED over 2^63-1 wraps like Java's long */
        if (i < 0 && !strcmp(c->data_type, "bigint"))
            mbuf_printf(out, "%llu", (unsigned long long)i);
        else
            mbuf_printf(out, "%lld", i);
        return V_OK;
    case CV_FLOAT:
    case CV_DOUBLE:
        if (v->type != KJSON_NUMBER)
            break;
        mbuf_add(out, v->text, v->len);
        return V_OK;
    case CV_DECIMAL:
        if (v->type == KJSON_NUMBER) { /* double mode (inexact by nature) */
            mbuf_add(out, v->text, v->len);
            return V_OK;
        }
        if (v->type != KJSON_STRING)
            break;
        if (!strcmp(sn, "org.apache.kafka.connect.data.Decimal") ||
            (!fs && m->decimal == DBZ_DEC_PRECISE)) {
            long scale = c->scale;
            const kjson *pa = fs ? kjson_get(fs, "parameters") : NULL;
            const kjson *sc = pa ? kjson_get(pa, "scale") : NULL;
            if (sc && sc->type == KJSON_STRING)
                scale = atol(sc->text);
            if (dbz_base64(v->text, v->len, &raw) || !raw.len) {
                snprintf(err, errlen, "column %s (%s): '%.40s' is not a precise decimal (base64 "
                         "of the unscaled value)", c->name, c->column_type, v->text);
                mbuf_free(&raw);
                return V_ERR;
            }
            decimal_text((const unsigned char *)raw.p, raw.len, scale, out);
            mbuf_free(&raw);
            return V_OK;
        }
        /* string mode: the digits as they are */
        for (size_t k = 0; k < v->len; k++)
            if (!strchr("0123456789.-+eE", v->text[k]))
                goto bad;
        mbuf_add(out, v->text, v->len);
        return V_OK;
    case CV_DATE: {
        if (parse_i64(v, &i))
            break;
        long long y;
        unsigned mo, d;
        civil(i, &y, &mo, &d);
        mbuf_printf(out, "%04lld-%02u-%02u", y, mo, d);
        return V_OK;
    }
    case CV_DATETIME: {
        if (parse_i64(v, &i))
            break;
        long long per_s = 1000; /* Timestamp, connect's Timestamp */
        if (!strcmp(sn, "io.debezium.time.MicroTimestamp"))
            per_s = 1000000;
        else if (!strcmp(sn, "io.debezium.time.NanoTimestamp"))
            per_s = 1000000000;
        else if (!*sn && !m->time_connect && c->fsp > 3)
            per_s = 1000000;
        long long sec = fdiv(i, per_s), frac = i - sec * per_s;
        long long us = per_s == 1000 ? frac * 1000 : per_s == 1000000 ? frac : frac / 1000;
        long long y;
        unsigned mo, d;
        civil(fdiv(sec, 86400), &y, &mo, &d);
        long long sod = sec - fdiv(sec, 86400) * 86400;
        mbuf_printf(out, "%04lld-%02u-%02u %02lld:%02lld:%02lld.%06lld", y, mo, d, sod / 3600,
                    sod / 60 % 60, sod % 60, us);
        return V_OK;
    }
    case CV_TIMESTAMP:
        /* ZonedTimestamp: ISO 8601 in UTC, which PostgreSQL reads as it is */
        if (v->type != KJSON_STRING || v->len < 20 || v->text[4] != '-' || v->text[10] != 'T')
            break;
        for (size_t k = 0; k < v->len; k++)
            if (!strchr("0123456789-:.TZ+", v->text[k]))
                goto bad;
        mbuf_add(out, v->text, v->len);
        return V_OK;
    case CV_TIME: {
        if (parse_i64(v, &i))
            break;
        long long per_s = 1000000; /* MicroTime */
        if (!strcmp(sn, "org.apache.kafka.connect.data.Time") || (!*sn && m->time_connect))
            per_s = 1000;
        else if (!strcmp(sn, "io.debezium.time.NanoTime"))
            per_s = 1000000000;
        int neg = i < 0;
        unsigned long long a = neg ? (unsigned long long)-(i + 1) + 1 : (unsigned long long)i;
        unsigned long long sec = a / (unsigned long long)per_s, fr = a % (unsigned long long)per_s;
        unsigned long long us = per_s == 1000 ? fr * 1000 : per_s == 1000000 ? fr : fr / 1000;
        mbuf_printf(out, "%s%llu:%02llu:%02llu.%06llu", neg ? "-" : "", sec / 3600, sec / 60 % 60,
                    sec % 60, us);
        return V_OK;
    }
    case CV_BIT: {
        long long n = c->prec ? c->prec : 1;
        if (v->type == KJSON_BOOL) {
            mbuf_puts(out, v->text[0] == 't' ? "1" : "0");
            return V_OK;
        }
        /* io.debezium.data.Bits: (n+7)/8 bytes, little-endian */
        if (v->type != KJSON_STRING || dbz_base64(v->text, v->len, &raw))
            break;
        for (long long b = n - 1; b >= 0; b--) {
            size_t byte = (size_t)(b / 8);
            int on = byte < raw.len && ((unsigned char)raw.p[byte] >> (b % 8)) & 1;
            mbuf_addc(out, on ? '1' : '0');
        }
        mbuf_free(&raw);
        return V_OK;
    }
    case CV_ENUM:
    case CV_SET:
    case CV_TEXT:
    case CV_JSON:
        return text_of(o, c, v, out, err, errlen);
    case CV_BINARY:
    case CV_BLOB:
        rc = bytes_of(m, c, v, fs, &raw, err, errlen);
        if (rc == V_OK)
            pg_hex(out, raw.p, raw.len, c->cv == CV_BINARY ? (size_t)c->octet_len : 0);
        mbuf_free(&raw);
        return rc;
    case CV_GEOMETRY: {
        /* io.debezium.data.geometry.Geometry/Point: {"wkb": base64, "srid": n} */
        const kjson *w = v->type == KJSON_OBJECT ? kjson_get(v, "wkb") : NULL;
        if (!w || w->type != KJSON_STRING || dbz_base64(w->text, w->len, &raw))
            break;
        pg_hex(out, raw.p, raw.len, 0);
        mbuf_free(&raw);
        return V_OK;
    }
    }
bad:
    mbuf_free(&raw);
    snprintf(err, errlen, "column %s (%s): unexpected Debezium value %.*s%s", c->name,
             c->column_type, v->text ? (int)(v->len > 40 ? 40 : v->len) : 11,
             v->text ? v->text : "(structure)", v->len > 40 ? "..." : "");
    return V_ERR;
}
