/*
 * One source value (a libcdc cdc_value from a snapshot row or a binlog
 * row) as PostgreSQL input text, exactly: integers and DECIMAL digits as
 * they are, FLOAT/DOUBLE with enough digits to round-trip, temporal
 * values with all their microseconds, TIMESTAMP in UTC, text as UTF-8.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"

static const char hexd[] = "0123456789abcdef";

static void hex_bytes(mbuf *out, const uint8_t *p, size_t n, size_t pad_to)
{
    mbuf_puts(out, "\\x");
    for (size_t i = 0; i < n; i++) {
        mbuf_addc(out, hexd[p[i] >> 4]);
        mbuf_addc(out, hexd[p[i] & 15]);
    }
    for (size_t i = n; i < pad_to; i++)
        mbuf_puts(out, "00");
}

static int put_utf8(mbuf *out, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else if (cp < 0x110000) {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    } else {
        return -1;
    }
    mbuf_add(out, b, n);
    return 0;
}

static int hex4(const char *p, unsigned long *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v * 16 + (unsigned long)d;
    }
    return 0;
}

/* The JSON string the library rendered ("...") back to raw UTF-8. *nul is
 * set when the text holds U+0000. */
static int json_unquote(const char *s, size_t n, mbuf *out, int *nul)
{
    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return -1;
    for (size_t i = 1; i + 1 < n; i++) {
        char c = s[i];
        if (c != '\\') {
            mbuf_addc(out, c);
            continue;
        }
        if (++i + 1 >= n)
            return -1;
        switch (s[i]) {
        case '"': mbuf_addc(out, '"'); break;
        case '\\': mbuf_addc(out, '\\'); break;
        case '/': mbuf_addc(out, '/'); break;
        case 'b': mbuf_addc(out, '\b'); break;
        case 'f': mbuf_addc(out, '\f'); break;
        case 'n': mbuf_addc(out, '\n'); break;
        case 'r': mbuf_addc(out, '\r'); break;
        case 't': mbuf_addc(out, '\t'); break;
        case 'u': {
            unsigned long cp, lo;
            if (i + 5 > n - 1 || hex4(s + i + 1, &cp))
                return -1;
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && i + 7 <= n - 1 && s[i + 1] == '\\' &&
                s[i + 2] == 'u' && !hex4(s + i + 3, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            if (cp == 0) {
                *nul = 1;
                mbuf_addc(out, 0);
            } else if (put_utf8(out, cp)) {
                return -1;
            }
            break;
        }
        default: return -1;
        }
    }
    return 0;
}

/* The library's canonical JSON rendering of v into out. */
static int render(const cdc_value *v, mbuf *out, char *err, size_t errlen)
{
    size_t need = 0;
    char small[256];
    int rc = cdc_value_render(v, small, sizeof small, &need);
    if (rc == CDC_OK) {
        mbuf_add(out, small, need - 1);
        return 0;
    }
    if (rc != CDC_ERR_TOO_LARGE) {
        snprintf(err, errlen, "%s", cdc_strerror(rc));
        return -1;
    }
    char *big = xmalloc(need);
    rc = cdc_value_render(v, big, need, &need);
    if (rc == CDC_OK)
        mbuf_add(out, big, need - 1);
    else
        snprintf(err, errlen, "%s", cdc_strerror(rc));
    free(big);
    return rc == CDC_OK ? 0 : -1;
}

/* A text value as UTF-8 without NUL bytes (stripped or refused). */
static vres text_value(const mopts *o, const mcol *c, const cdc_value *v, mbuf *out, char *err,
                       size_t errlen)
{
    size_t start = out->len;
    int nul = 0;
    cdc_kind k = cdc_value_kind(v);
    /* A MariaDB JSON column is LONGTEXT here and a document in the stream,
     * whose bytes are the stored UTF-8 text: copied byte for byte. */
    if ((c->utf8 && k == CDC_KIND_STRING) || k == CDC_KIND_JSON) {
        cdc_bytes b = cdc_value_bytes(v);
        mbuf_add(out, b.ptr, b.len);
        nul = memchr(b.ptr, 0, b.len) != NULL;
    } else {
        mbuf js = {0};
        if (render(v, &js, err, errlen)) {
            mbuf_free(&js);
            return V_ERR;
        }
        if (js.len && js.p[0] != '"') {
            snprintf(err, errlen, "column %s: expected text, the library gave %.*s", c->name,
                     (int)(js.len > 40 ? 40 : js.len), js.p);
            mbuf_free(&js);
            return V_ERR;
        }
        int bad = json_unquote(js.p, js.len, out, &nul);
        mbuf_free(&js);
        if (bad) {
            snprintf(err, errlen, "column %s: cannot read the rendered text", c->name);
            return V_ERR;
        }
    }
    if (nul && !o->nul_keep) {
        if (!o->nul_strip) {
            snprintf(err, errlen, "column %s: text holds a NUL byte, which PostgreSQL text "
                     "cannot store (--nul strip drops such bytes)", c->name);
            return V_ERR;
        }
        size_t k = start;
        for (size_t i = start; i < out->len; i++)
            if (out->p[i])
                out->p[k++] = out->p[i];
        out->len = k;
    }
    return V_OK;
}

static vres zero_date(const mopts *o, const mcol *c, char *err, size_t errlen)
{
    if (o->zero_date_null)
        return V_NULL;
    snprintf(err, errlen, "column %s: zero or partial date has no PostgreSQL equivalent "
             "(--zero-date null stores NULL)", c->name);
    return V_ERR;
}

vres value_text(const mopts *o, const mcol *c, const cdc_value *v, mbuf *out, char *err,
                size_t errlen)
{
    if (!v) {
        snprintf(err, errlen, "column %s is missing from the row image (the source needs "
                 "binlog_row_image=FULL)", c->name);
        return V_ERR;
    }
    cdc_kind k = cdc_value_kind(v);
    if (k == CDC_KIND_NULL)
        return V_NULL;
    int64_t i64;
    uint64_t u64;
    double d;
    cdc_datetime t;
    char tmp[128];
    switch (c->cv) {
    case CV_INT:
    case CV_UINT:
    case CV_YEAR:
        if (k == CDC_KIND_UINT || (k == CDC_KIND_BIT)) {
            if (cdc_value_uint64(v, &u64))
                break;
            mbuf_printf(out, "%llu", (unsigned long long)u64);
            return V_OK;
        }
        if (cdc_value_int64(v, &i64))
            break;
        mbuf_printf(out, "%lld", (long long)i64);
        return V_OK;
    case CV_FLOAT:
    case CV_DOUBLE:
        if (cdc_value_double(v, &d))
            break;
        mbuf_printf(out, c->cv == CV_FLOAT ? "%.9g" : "%.17g", d);
        return V_OK;
    case CV_DECIMAL: {
        size_t need;
        if (cdc_value_decimal(v, tmp, sizeof tmp, &need))
            break;
        mbuf_puts(out, tmp);
        return V_OK;
    }
    case CV_DATE:
    case CV_DATETIME:
    case CV_TIMESTAMP:
        if (cdc_value_temporal(v, &t))
            break;
        if (t.zero || t.month == 0 || t.day == 0 || t.year == 0)
            return zero_date(o, c, err, errlen);
        mbuf_printf(out, "%04d-%02u-%02u", t.year, t.month, t.day);
        if (c->cv != CV_DATE)
            mbuf_printf(out, " %02u:%02u:%02u.%06u%s", t.hour, t.minute, t.second, t.usec,
                        c->cv == CV_TIMESTAMP ? "+00" : "");
        return V_OK;
    case CV_TIME:
        if (cdc_value_temporal(v, &t))
            break;
        mbuf_printf(out, "%s%u:%02u:%02u.%06u", t.negative ? "-" : "", t.hour, t.minute, t.second,
                    t.usec);
        return V_OK;
    case CV_BIT: {
        if (cdc_value_uint64(v, &u64))
            break;
        long long n = c->prec ? c->prec : 1;
        for (long long b = n - 1; b >= 0; b--)
            mbuf_addc(out, (b < 64 && (u64 >> b) & 1) ? '1' : '0');
        return V_OK;
    }
    case CV_ENUM:
    case CV_SET:
    case CV_TEXT:
        return text_value(o, c, v, out, err, errlen);
    case CV_BINARY:
    case CV_BLOB: {
        cdc_bytes b = cdc_value_bytes(v);
        if (k != CDC_KIND_BYTES && k != CDC_KIND_STRING)
            break;
        /* The row image cuts BINARY(n)'s trailing zero bytes; the column
         * holds them. */
        hex_bytes(out, b.ptr, b.len, c->cv == CV_BINARY ? (size_t)c->octet_len : 0);
        return V_OK;
    }
    case CV_JSON:
        if (k != CDC_KIND_JSON && k != CDC_KIND_STRING)
            break;
        if (k == CDC_KIND_STRING)
            return text_value(o, c, v, out, err, errlen);
        if (render(v, out, err, errlen))
            return V_ERR;
        return V_OK;
    case CV_GEOMETRY: {
        cdc_bytes b = cdc_value_bytes(v);
        if (k != CDC_KIND_GEOMETRY || b.len < 4)
            break;
        hex_bytes(out, b.ptr + 4, b.len - 4, 0); /* the WKB after the SRID */
        return V_OK;
    }
    }
    snprintf(err, errlen, "column %s (%s): unexpected value of kind %s", c->name, c->column_type,
             cdc_kind_name(k));
    return V_ERR;
}

void copy_escape(mbuf *out, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        switch (c) {
        case '\\': mbuf_puts(out, "\\\\"); break;
        case '\t': mbuf_puts(out, "\\t"); break;
        case '\n': mbuf_puts(out, "\\n"); break;
        case '\r': mbuf_puts(out, "\\r"); break;
        default: mbuf_addc(out, c);
        }
    }
}

void sql_quote(mbuf *out, const char *p, size_t n)
{
    mbuf_addc(out, '\'');
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\'')
            mbuf_addc(out, '\'');
        mbuf_addc(out, p[i]);
    }
    mbuf_addc(out, '\'');
}

/* ---- MySQL / MariaDB literals -------------------------------------------- */

static void hex_literal(mbuf *out, const uint8_t *p, size_t n, size_t pad_to)
{
    mbuf_puts(out, "X'");
    for (size_t i = 0; i < n; i++) {
        mbuf_addc(out, hexd[p[i] >> 4]);
        mbuf_addc(out, hexd[p[i] & 15]);
    }
    for (size_t i = n; i < pad_to; i++)
        mbuf_puts(out, "00");
    mbuf_addc(out, '\'');
}

/* Text for a session with NO_BACKSLASH_ESCAPES: quotes doubled; text with
 * a NUL byte as a hex string in utf8mb4, since statements travel as C
 * strings. */
static void my_text(mbuf *out, const char *p, size_t n)
{
    if (memchr(p, 0, n)) {
        mbuf_puts(out, "_utf8mb4 ");
        hex_literal(out, (const uint8_t *)p, n, 0);
        return;
    }
    sql_quote(out, p, n);
}

vres value_mysql(const mopts *o, const mcol *c, const cdc_value *v, mbuf *out, mbuf *scratch,
                 char *err, size_t errlen)
{
    if (!v) {
        snprintf(err, errlen, "column %s is missing from the row image (the source needs "
                 "binlog_row_image=FULL)", c->name);
        return V_ERR;
    }
    cdc_kind k = cdc_value_kind(v);
    if (k == CDC_KIND_NULL) {
        mbuf_puts(out, "NULL");
        return V_NULL;
    }
    cdc_datetime t;
    uint64_t u64;
    scratch->len = 0;
    switch (c->cv) {
    case CV_DATE:
    case CV_DATETIME:
    case CV_TIMESTAMP:
        /* zero and partial dates are kept as they are (NULL with
         * --zero-date null); TIMESTAMP in UTC, the session's time zone */
        if (cdc_value_temporal(v, &t))
            break;
        if (o->zero_date_null && (t.zero || t.month == 0 || t.day == 0 || t.year == 0)) {
            mbuf_puts(out, "NULL");
            return V_NULL;
        }
        mbuf_printf(out, "'%04d-%02u-%02u", t.zero ? 0 : t.year, t.zero ? 0 : t.month,
                    t.zero ? 0 : t.day);
        if (c->cv != CV_DATE)
            mbuf_printf(out, " %02u:%02u:%02u.%06u", t.zero ? 0 : t.hour, t.zero ? 0 : t.minute,
                        t.zero ? 0 : t.second, t.zero ? 0 : t.usec);
        mbuf_addc(out, '\'');
        return V_OK;
    case CV_BIT:
        if (cdc_value_uint64(v, &u64))
            break;
        mbuf_printf(out, "%llu", (unsigned long long)u64);
        return V_OK;
    case CV_BINARY:
    case CV_BLOB: {
        cdc_bytes b = cdc_value_bytes(v);
        if (k != CDC_KIND_BYTES && k != CDC_KIND_STRING)
            break;
        hex_literal(out, b.ptr, b.len, c->cv == CV_BINARY ? (size_t)c->octet_len : 0);
        return V_OK;
    }
    case CV_GEOMETRY: {
        /* the server's own form: SRID then WKB, which keeps the SRID and
         * axis order as they were */
        cdc_bytes b = cdc_value_bytes(v);
        if (k != CDC_KIND_GEOMETRY)
            break;
        hex_literal(out, b.ptr, b.len, 0);
        return V_OK;
    }
    default: {
        vres vr = value_text(o, c, v, scratch, err, errlen);
        if (vr == V_ERR)
            return V_ERR;
        if (vr == V_NULL) {
            mbuf_puts(out, "NULL");
            return V_NULL;
        }
        if (c->cv == CV_TEXT || c->cv == CV_ENUM || c->cv == CV_SET || c->cv == CV_JSON ||
            c->cv == CV_TIME)
            my_text(out, scratch->p, scratch->len);
        else
            mbuf_add(out, scratch->p, scratch->len); /* digits */
        return V_OK;
    }
    }
    snprintf(err, errlen, "column %s (%s): unexpected value of kind %s", c->name, c->column_type,
             cdc_kind_name(k));
    return V_ERR;
}
