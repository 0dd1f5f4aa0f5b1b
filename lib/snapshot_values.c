/*
 * snapshot_values.c: what the snapshot needs to make its rows read
 * exactly like binlog rows: cdc_column from information_schema (as a
 * TABLE_MAP with full metadata describes the column), text-protocol
 * values to cdc_value (as rowvalue.c decodes the row image), and the SQL of
 * keyset pagination.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include <stdio.h>

#include "decimal.h"
#include "resultset.h"
#include "snapshot_values.h"
#include "temporal.h"
#include "rowvalue.h"

/* ---- columns --------------------------------------------------------- */

static bool eq(const char *a, const char *b) { return strcmp(a, b) == 0; }

int cdc__snap_hint(const cdc__snap_colinfo *ci)
{
    if (!ci->mariadb) return CDC__SNAP_PLAIN;
    if (eq(ci->data_type, "inet4")) return CDC__SNAP_INET4;
    if (eq(ci->data_type, "inet6")) return CDC__SNAP_INET6;
    if (eq(ci->data_type, "uuid")) return CDC__SNAP_UUID;
    return CDC__SNAP_PLAIN;
}

/*
 * ENUM/SET labels from COLUMN_TYPE: enum('a','it''s','x\\y'). The server
 * writes a quote inside a label doubled and leaves backslashes alone.
 * Labels are written back to back (unescaped) into *text.
 */
static int parse_labels(const char *ct, const cdc_allocator *a, cdc_bytes **labels, uint32_t *n,
                        char **text, cdc__err *err)
{
    const char *p = strchr(ct, '(');
    size_t len = strlen(ct);
    *labels = NULL;
    *text = NULL;
    *n = 0;
    if (!p) return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "column type '%s': no label list", ct);
    size_t cap = 0;
    for (const char *q = p; *q; q++) cap += *q == ',';
    *labels = cdc__calloc(a, cap + 1, sizeof **labels);
    *text = cdc__malloc(a, len + 1);
    if (!*labels || !*text) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    char *o = *text;
    p++;
    while (*p == '\'') {
        const char *start = o;
        p++;
        for (;;) {
            if (!*p) return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "column type '%s': unterminated label", ct);
            if (*p == '\'' && p[1] == '\'') { *o++ = '\''; p += 2; continue; }
            if (*p == '\'') { p++; break; }
            *o++ = *p++;
        }
        if (*n > cap) return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "column type '%s': bad label list", ct);
        (*labels)[(*n)++] = (cdc_bytes){(const uint8_t *)start, (size_t)(o - start)};
        if (*p == ',') p++;
    }
    if (*p != ')') return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "column type '%s': bad label list", ct);
    return CDC_OK;
}

static const struct { const char *name; uint8_t type; uint16_t meta; } simple_types[] = {
    {"tinyint", CDC_T_TINY, 0},      {"smallint", CDC_T_SHORT, 0},   {"mediumint", CDC_T_INT24, 0},
    {"int", CDC_T_LONG, 0},          {"integer", CDC_T_LONG, 0},     {"bigint", CDC_T_LONGLONG, 0},
    {"float", CDC_T_FLOAT, 4},       {"double", CDC_T_DOUBLE, 8},    {"real", CDC_T_DOUBLE, 8},
    {"year", CDC_T_YEAR, 0},         {"date", CDC_T_DATE, 0},
    {"tinytext", CDC_T_BLOB, 1},     {"tinyblob", CDC_T_BLOB, 1},    {"text", CDC_T_BLOB, 2},
    {"blob", CDC_T_BLOB, 2},         {"mediumtext", CDC_T_BLOB, 3},  {"mediumblob", CDC_T_BLOB, 3},
    {"longtext", CDC_T_BLOB, 4},     {"longblob", CDC_T_BLOB, 4},    {"json", CDC_T_JSON, 4},
    {"geometry", CDC_T_GEOMETRY, 4}, {"point", CDC_T_GEOMETRY, 4},   {"linestring", CDC_T_GEOMETRY, 4},
    {"polygon", CDC_T_GEOMETRY, 4},  {"multipoint", CDC_T_GEOMETRY, 4},
    {"multilinestring", CDC_T_GEOMETRY, 4}, {"multipolygon", CDC_T_GEOMETRY, 4},
    {"geometrycollection", CDC_T_GEOMETRY, 4}, {"geomcollection", CDC_T_GEOMETRY, 4},
    {"vector", CDC_T_VECTOR, 4},
};

/* GEOMETRY_TYPE metadata values (Field::geometry_type). */
static uint8_t geometry_subtype(const char *dt)
{
    static const char *const names[] = {"geometry", "point", "linestring", "polygon", "multipoint",
                                        "multilinestring", "multipolygon", "geometrycollection"};
    for (uint8_t i = 0; i < 8; i++)
        if (eq(dt, names[i])) return i;
    return eq(dt, "geomcollection") ? 7 : 0;
}

int cdc__snap_column(const cdc__snap_colinfo *ci, const cdc_allocator *a, cdc_column *col, cdc_bytes **labels,
                     char **label_text, cdc__err *err)
{
    memset(col, 0, sizeof *col);
    *labels = NULL;
    *label_text = NULL;
    col->name = (cdc_bytes){(const uint8_t *)ci->name, strlen(ci->name)};
    const char *dt = ci->data_type;
    bool found = false;
    for (size_t i = 0; i < sizeof simple_types / sizeof simple_types[0]; i++) {
        if (eq(dt, simple_types[i].name)) {
            col->type = simple_types[i].type;
            col->meta = simple_types[i].meta;
            found = true;
            break;
        }
    }
    bool numeric = false;
    if (found) {
        numeric = col->type <= CDC_T_DOUBLE || col->type == CDC_T_LONGLONG || col->type == CDC_T_INT24;
        if (col->type == CDC_T_GEOMETRY) col->geometry_type = geometry_subtype(dt);
        if (col->type == CDC_T_VECTOR) {
            const char *p = strchr(ci->column_type, '(');
            col->vector_dims = p ? (uint32_t)strtoul(p + 1, NULL, 10) : 0;
        }
        if (col->type == CDC_T_BLOB) col->charset = (uint16_t)ci->collation;
        /* MySQL's JSON is binary; MariaDB's is LONGTEXT, told by its CHECK
         * (json_doc), as the stream tells it (schema.h) */
        if (col->type == CDC_T_BLOB && col->meta == 4 && ci->json_doc) col->flags |= CDC_COLF_JSON_TEXT;
    } else if (eq(dt, "decimal") || eq(dt, "numeric")) {
        if (cdc__decimal_bin_size(ci->precision, ci->scale) == 0)
            return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "column %s: DECIMAL(%u,%u) out of range", ci->name,
                                ci->precision, ci->scale);
        col->type = CDC_T_NEWDECIMAL;
        col->meta = (uint16_t)(ci->precision << 8 | ci->scale);
        numeric = true;
    } else if (eq(dt, "time") || eq(dt, "datetime") || eq(dt, "timestamp")) {
        col->type = eq(dt, "time") ? CDC_T_TIME2 : eq(dt, "datetime") ? CDC_T_DATETIME2 : CDC_T_TIMESTAMP2;
        if (ci->fsp > 6) return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "column %s: fsp %u", ci->name, ci->fsp);
        col->meta = (uint16_t)ci->fsp;
    } else if (eq(dt, "bit")) {
        if (ci->precision < 1 || ci->precision > 64)
            return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "column %s: BIT(%u)", ci->name, ci->precision);
        col->type = CDC_T_BIT;
        col->meta = (uint16_t)((ci->precision / 8) << 8 | (ci->precision % 8));
    } else if (eq(dt, "char") || eq(dt, "binary") || eq(dt, "varchar") || eq(dt, "varbinary")) {
        col->type = dt[0] == 'v' ? CDC_T_VARCHAR : CDC_T_STRING;
        if (ci->octet_length > 65535)
            return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "column %s: %llu bytes", ci->name,
                                (unsigned long long)ci->octet_length);
        col->meta = (uint16_t)ci->octet_length;
        col->charset = (uint16_t)ci->collation;
    } else if (eq(dt, "inet4") || eq(dt, "inet6") || eq(dt, "uuid")) {
        /* MariaDB writes these as BINARY(4)/BINARY(16) in TABLE_MAP */
        col->type = CDC_T_STRING;
        col->meta = dt[4] == '4' ? 4 : 16;
        col->charset = CDC_CHARSET_BINARY;
    } else if (eq(dt, "enum") || eq(dt, "set")) {
        uint32_t n;
        char *text;
        int rc = parse_labels(ci->column_type, a, labels, &n, &text, err);
        *label_text = text;
        if (rc) return rc;
        col->type = CDC_T_STRING;
        col->real_type = dt[0] == 'e' ? CDC_T_ENUM : CDC_T_SET;
        if (dt[0] == 'e') {
            col->meta = n < 256 ? 1 : 2;
        } else {
            unsigned bytes = (n + 7) / 8;
            col->meta = (uint16_t)(bytes > 4 ? 8 : bytes);
        }
        col->n_labels = n;
        col->labels = *labels;
        col->charset = (uint16_t)ci->collation;
    } else {
        return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "column %s: type %s cannot be read by the snapshot",
                            ci->name, ci->column_type);
    }
    if (!col->real_type) col->real_type = col->type;
    if (numeric) {
        col->flags |= CDC_COLF_SIGNEDNESS_KNOWN;
        if (strstr(ci->column_type, "unsigned")) col->flags |= CDC_COLF_UNSIGNED;
    }
    if (ci->nullable) col->flags |= CDC_COLF_NULLABLE;
    if (ci->primary) col->flags |= CDC_COLF_PRIMARY_KEY;
    if (ci->invisible) col->flags |= CDC_COLF_INVISIBLE;
    return CDC_OK;
}

/* ---- values ---------------------------------------------------------- */

static int inet_value(int hint, const uint8_t *s, size_t len, uint8_t *scratch, cdc_value *out)
{
    char text[64];
    size_t n;
    if (len == 0 || len >= sizeof text) return -1;
    memcpy(text, s, len);
    text[len] = 0;
    if (hint == CDC__SNAP_INET4) {
        if (inet_pton(AF_INET, text, scratch) != 1) return -1;
        n = 4;
    } else if (hint == CDC__SNAP_INET6) {
        if (inet_pton(AF_INET6, text, scratch) != 1) return -1;
        n = 16;
    } else {
        uint8_t u[16];
        size_t k = 0;
        for (size_t i = 0; i < len; i++) {
            if (text[i] == '-') continue;
            int hi = text[i], v;
            if (hi >= '0' && hi <= '9') v = hi - '0';
            else if (hi >= 'a' && hi <= 'f') v = hi - 'a' + 10;
            else if (hi >= 'A' && hi <= 'F') v = hi - 'A' + 10;
            else return -1;
            if (k >= 32) return -1;
            if (k % 2 == 0) u[k / 2] = (uint8_t)(v << 4);
            else u[k / 2] |= (uint8_t)v;
            k++;
        }
        if (k != 32) return -1;
        /* MariaDB 10.11 logs a UUID column's bytes in text order
         * (checked against its binlog by tests/itest_snapshot.c) */
        memcpy(scratch, u, 16);
        n = 16;
    }
    /* BINARY(n) in the binlog: trailing zero bytes cut */
    while (n && scratch[n - 1] == 0) n--;
    out->kind = CDC_K_BYTES;
    out->v.b = (cdc_bytes){scratch, n};
    return 0;
}

int cdc__snap_value(const cdc_column *col, int hint, const uint8_t *s, size_t len, cdc__buf *scratch,
                    cdc_value *out, cdc__err *err)
{
    if (hint != CDC__SNAP_PLAIN) {
        memset(out, 0, sizeof *out);
        out->col = col;
        if (cdc__buf_reserve(scratch, 16)) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
        if (inet_value(hint, s, len, scratch->data + scratch->len, out))
            return cdc__err_set(err, CDC_ERR_CORRUPT, "%s: the server sent '%.*s', which is not such a value",
                                hint == CDC__SNAP_INET4 ? "INET4" : hint == CDC__SNAP_INET6 ? "INET6" : "UUID",
                                (int)(len > 64 ? 64 : len), (const char *)s);
        scratch->len += 16;
        return CDC_OK;
    }
    /* the session sends column bytes unconverted (character_set_results
     * NULL), so the text is in the column's own charset */
    int rc = cdc__value_from_text(col, (const char *)s, len, col->charset, out, scratch, err);
    if (rc == CDC_ERR_INVALID) {
        err->code = CDC_ERR_CORRUPT; /* the server sent it: bad data, not a bad argument */
        return CDC_ERR_CORRUPT;
    }
    if (rc) return rc;
    /* the text is in the column's own charset, as in a row image, where
     * the decoder never marks it converted */
    out->flags &= (uint16_t)~CDC_VF_UTF8;
    /* BINARY(n): SELECT pads with zero bytes, the row image does not */
    if (out->kind == CDC_K_BYTES && col->type == CDC_T_STRING)
        while (out->v.b.len && out->v.b.ptr[out->v.b.len - 1] == 0) out->v.b.len--;
    /* the binlog has no negative zero TIME */
    if (out->kind == CDC_K_TIME && !out->v.tm.hour && !out->v.tm.minute && !out->v.tm.second && !out->v.tm.usec)
        out->v.tm.neg = 0;
    return CDC_OK;
}

/* ---- binary-protocol values ------------------------------------------ */

int cdc__snap_bin_class(const cdc_column *col)
{
    switch (col->type) {
    case CDC_T_TINY: return CDC__BIN_1;
    case CDC_T_SHORT: case CDC_T_YEAR: return CDC__BIN_2;
    case CDC_T_INT24: case CDC_T_LONG: return CDC__BIN_4;
    case CDC_T_LONGLONG: case CDC_T_DOUBLE: case CDC_T_FLOAT: return CDC__BIN_8; /* FLOAT: CAST(... AS DOUBLE) */
    case CDC_T_DATE: case CDC_T_DATETIME2: case CDC_T_TIMESTAMP2: return CDC__BIN_DATETIME;
    case CDC_T_TIME2: return CDC__BIN_TIME;
    default: return CDC__BIN_LENENC;
    }
}

static int bin_bad(const cdc_column *col, const char *why, cdc__err *err)
{
    return cdc__err_set(err, CDC_ERR_CORRUPT, "%s: the server sent a binary value that %s", cdc__type_name(col->type),
                        why);
}

/* A binary DATE/DATETIME/TIMESTAMP (the bytes after its length byte) or
 * TIME into calendar fields, checked as the text parsers check. */
static int bin_temporal(const cdc_column *col, int cls, const uint8_t *v, size_t len, cdc__temporal *tm,
                        cdc__err *err)
{
    memset(tm, 0, sizeof *tm);
    if (cls == CDC__BIN_TIME) {
        if (len != 0 && len != 8 && len != 12) return bin_bad(col, "has a bad length", err);
        if (!len) return CDC_OK;
        uint32_t days = cdc__le32(v + 1);
        if (v[0] > 1 || days > 34 || v[5] > 23 || v[6] > 59 || v[7] > 59)
            return bin_bad(col, "is out of range", err);
        tm->neg = v[0];
        tm->hour = days * 24 + v[5];
        tm->minute = v[6];
        tm->second = v[7];
        if (len == 12) tm->usec = cdc__le32(v + 8);
    } else {
        if (len != 0 && len != 4 && len != 7 && len != 11) return bin_bad(col, "has a bad length", err);
        if (!len) return CDC_OK;
        tm->year = cdc__le16(v);
        tm->month = v[2];
        tm->day = v[3];
        if (len >= 7) {
            tm->hour = v[4];
            tm->minute = v[5];
            tm->second = v[6];
        }
        if (len == 11) tm->usec = cdc__le32(v + 7);
        if (tm->year > 9999 || tm->month > 12 || tm->day > 31 || tm->hour > 23 || tm->minute > 59 || tm->second > 59)
            return bin_bad(col, "is out of range", err);
    }
    if (tm->usec > 999999) return bin_bad(col, "has more than 999999 microseconds", err);
    return CDC_OK;
}

int cdc__snap_value_bin(const cdc_column *col, int hint, int cls, const uint8_t *v, size_t len, cdc__buf *scratch,
                        cdc_value *out, cdc__err *err)
{
    if (cls == CDC__BIN_LENENC) return cdc__snap_value(col, hint, v, len, scratch, out, err);
    memset(out, 0, sizeof *out);
    out->col = col;
    static const uint8_t width[] = {0, 1, 2, 4, 8};
    if (cls >= CDC__BIN_1 && cls <= CDC__BIN_8 && len != width[cls]) return bin_bad(col, "has a bad length", err);
    bool uns = (col->flags & CDC_COLF_UNSIGNED) != 0;
    switch (col->type) {
    case CDC_T_TINY: case CDC_T_SHORT: case CDC_T_INT24: case CDC_T_LONG: case CDC_T_LONGLONG: {
        if (cls < CDC__BIN_1 || cls > CDC__BIN_8) break;
        uint64_t u = cdc__leN(v, len);
        if (uns) {
            out->kind = CDC_K_UINT;
            out->v.u = u;
        } else {
            /* sign-extend from the value's width */
            unsigned shift = 64 - 8 * (unsigned)len;
            out->kind = CDC_K_INT;
            out->v.i = shift ? (int64_t)(u << shift) >> shift : (int64_t)u;
        }
        return CDC_OK;
    }
    case CDC_T_YEAR: {
        if (cls != CDC__BIN_2) break;
        uint16_t y = cdc__le16(v);
        if (y > 2155) return bin_bad(col, "is not a year", err);
        out->kind = CDC_K_YEAR;
        out->v.i = y;
        return CDC_OK;
    }
    case CDC_T_FLOAT:
    case CDC_T_DOUBLE: {
        double d;
        if (cls == CDC__BIN_8) {
            uint64_t bits = cdc__le64(v);
            memcpy(&d, &bits, sizeof d);
        } else if (cls == CDC__BIN_4) {
            uint32_t bits = cdc__le32(v);
            float f;
            memcpy(&f, &bits, sizeof f);
            d = f;
        } else {
            break;
        }
        if (!isfinite(d)) return bin_bad(col, "is not a finite number", err);
        if (col->type == CDC_T_FLOAT) {
            /* a FLOAT selected as DOUBLE holds a float exactly */
            out->kind = CDC_K_FLOAT;
            out->v.f = (float)d;
        } else {
            out->kind = CDC_K_DOUBLE;
            out->v.d = d;
        }
        return CDC_OK;
    }
    case CDC_T_DATE: case CDC_T_DATETIME2: case CDC_T_TIMESTAMP2: case CDC_T_TIME2: {
        if (cls != cdc__snap_bin_class(col)) break;
        cdc__temporal tm;
        int rc = bin_temporal(col, cls, v, len, &tm, err);
        if (rc) return rc;
        bool zero = !tm.year && !tm.month && !tm.day;
        if (col->type == CDC_T_TIME2) {
            out->kind = CDC_K_TIME;
            out->fsp = (uint8_t)col->meta;
            out->v.tm = tm;
            /* the binlog has no negative zero TIME */
            if (!tm.hour && !tm.minute && !tm.second && !tm.usec) out->v.tm.neg = 0;
        } else if (col->type == CDC_T_DATE) {
            out->kind = CDC_K_DATE;
            out->v.tm = tm;
            if (zero) out->flags |= CDC_VF_ZERO_DATE;
        } else if (col->type == CDC_T_DATETIME2) {
            out->kind = CDC_K_DATETIME;
            out->fsp = (uint8_t)col->meta;
            out->v.tm = tm;
            if (zero && !tm.hour && !tm.minute && !tm.second && !tm.usec) out->flags |= CDC_VF_ZERO_DATE;
        } else {
            out->kind = CDC_K_TIMESTAMP;
            out->fsp = (uint8_t)col->meta;
            if (zero) {
                out->flags |= CDC_VF_ZERO_DATE;
                return CDC_OK;
            }
            if (!tm.month || !tm.day) return bin_bad(col, "is not a timestamp", err);
            out->v.ts.sec = cdc__tm_to_epoch(&tm);
            out->v.ts.usec = tm.usec;
        }
        return CDC_OK;
    }
    default:
        break;
    }
    return cdc__err_set(err, CDC_ERR_CORRUPT, "%s: the server sent a binary value of layout %d, which it does not have",
                        cdc__type_name(col->type), cls);
}

int cdc__snap_key_text_bin(const cdc_column *col, int cls, const uint8_t *v, size_t len, char *buf, cdc_bytes *out,
                           cdc__err *err)
{
    if (cls == CDC__BIN_LENENC) {
        *out = (cdc_bytes){v, len};
        return CDC_OK;
    }
    cdc_value x;
    cdc__buf none;
    cdc__buf_init(&none, NULL);
    int rc = cdc__snap_value_bin(col, CDC__SNAP_PLAIN, cls, v, len, &none, &x, err);
    cdc__buf_free(&none);
    if (rc) return rc;
    size_t n = 0;
    switch (x.kind) {
    case CDC_K_INT: n = (size_t)snprintf(buf, CDC__SNAP_KEYTEXT_MAX, "%lld", (long long)x.v.i); break;
    case CDC_K_UINT: n = (size_t)snprintf(buf, CDC__SNAP_KEYTEXT_MAX, "%llu", (unsigned long long)x.v.u); break;
    case CDC_K_YEAR: n = (size_t)snprintf(buf, CDC__SNAP_KEYTEXT_MAX, "%04lld", (long long)x.v.i); break;
    case CDC_K_DATE: n = cdc__fmt_date(buf, &x.v.tm); break;
    case CDC_K_DATETIME: n = cdc__fmt_datetime(buf, &x.v.tm, x.fsp, ' '); break;
    case CDC_K_TIME: n = cdc__fmt_time(buf, &x.v.tm, x.fsp); break;
    case CDC_K_TIMESTAMP: {
        cdc__temporal tm;
        memset(&tm, 0, sizeof tm);
        if (!(x.flags & CDC_VF_ZERO_DATE)) cdc__epoch_to_tm(x.v.ts.sec, x.v.ts.usec, &tm);
        n = cdc__fmt_datetime(buf, &tm, x.fsp, ' ');
        break;
    }
    default:
        return cdc__err_set(err, CDC_ERR_CORRUPT, "%s: no key text for a binary value", cdc__type_name(col->type));
    }
    *out = (cdc_bytes){(const uint8_t *)buf, n};
    return CDC_OK;
}

/* ---- keyset SQL ------------------------------------------------------ */

bool cdc__snap_key_pageable(const cdc_column *col)
{
    switch (col->type) {
    case CDC_T_TINY: case CDC_T_SHORT: case CDC_T_INT24: case CDC_T_LONG: case CDC_T_LONGLONG:
    case CDC_T_NEWDECIMAL: case CDC_T_YEAR: case CDC_T_DATE: case CDC_T_TIME2: case CDC_T_DATETIME2:
    case CDC_T_TIMESTAMP2: case CDC_T_VARCHAR:
        return true;
    case CDC_T_STRING: return col->real_type == CDC_T_STRING;
    default: return false;
    }
}

static int put_hex(cdc__buf *out, const cdc_bytes *v)
{
    static const char hexdig[] = "0123456789ABCDEF";
    if (cdc__buf_reserve(out, v->len * 2 + 4)) return CDC_ERR_NOMEM;
    out->data[out->len++] = 'X';
    out->data[out->len++] = '\'';
    for (size_t i = 0; i < v->len; i++) {
        out->data[out->len++] = (uint8_t)hexdig[v->ptr[i] >> 4];
        out->data[out->len++] = (uint8_t)hexdig[v->ptr[i] & 15];
    }
    out->data[out->len++] = '\'';
    return CDC_OK;
}

int cdc__snap_key_literal(cdc__buf *out, const cdc__snap_keycol *k, const cdc_bytes *v)
{
    const cdc_column *col = k->col;
    switch (col->type) {
    case CDC_T_DATE: case CDC_T_TIME2: case CDC_T_DATETIME2: case CDC_T_TIMESTAMP2:
        /* digits, '-', ':', '.', ' ': nothing to escape, but check */
        for (size_t i = 0; i < v->len; i++)
            if (!strchr("0123456789-:. ", v->ptr[i])) return CDC_ERR_INVALID;
        if (cdc__buf_putc(out, '\'') || cdc__buf_append(out, v->ptr, v->len) || cdc__buf_putc(out, '\''))
            return CDC_ERR_NOMEM;
        return CDC_OK;
    case CDC_T_STRING:
    case CDC_T_VARCHAR:
        if (col->charset != CDC_CHARSET_BINARY && k->charset && k->collation) {
            if (cdc__buf_printf(out, "_%s ", k->charset) || put_hex(out, v) ||
                cdc__buf_printf(out, " COLLATE %s", k->collation))
                return CDC_ERR_NOMEM;
            return CDC_OK;
        }
        return put_hex(out, v);
    default:
        for (size_t i = 0; i < v->len; i++)
            if (!strchr("0123456789-+.", v->ptr[i])) return CDC_ERR_INVALID;
        return cdc__buf_append(out, v->ptr, v->len) ? CDC_ERR_NOMEM : CDC_OK;
    }
}

int cdc__snap_after_sql(cdc__buf *out, const cdc__snap_keycol *k, size_t n, const cdc_bytes *last)
{
    /* expanded instead of a row comparison (a,b) > (x,y): MariaDB does
     * not turn row comparisons into index ranges, both servers do this */
    int rc = 0;
    rc |= cdc__buf_putc(out, '(');
    for (size_t i = 0; i < n && !rc; i++) {
        if (i) rc |= cdc__buf_puts(out, " OR ");
        rc |= cdc__buf_putc(out, '(');
        for (size_t j = 0; j < i && !rc; j++) {
            rc |= cdc__buf_printf(out, "%s = ", k[j].quoted);
            if (!rc) rc = cdc__snap_key_literal(out, &k[j], &last[j]);
            rc |= cdc__buf_puts(out, " AND ");
        }
        if (rc) break;
        rc |= cdc__buf_printf(out, "%s > ", k[i].quoted);
        if (!rc) rc = cdc__snap_key_literal(out, &k[i], &last[i]);
        rc |= cdc__buf_putc(out, ')');
    }
    rc |= cdc__buf_putc(out, ')');
    return rc ? (rc == CDC_ERR_INVALID ? CDC_ERR_INVALID : CDC_ERR_NOMEM) : CDC_OK;
}
