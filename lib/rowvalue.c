/*
 * rowvalue.c: one column value of a row image -> cdc_value.
 *
 * Row images store each non-NULL column in the server's record ("pack")
 * format; how many bytes it takes depends on the type byte and on the
 * per-column metadata of TABLE_MAP, which rows.c packs into
 * cdc_column.meta as MySQL's own table_def does (docs/binlog-format.md,
 * "Column metadata"). Nothing is copied: strings, blobs, decimals and
 * JSON documents are views into the image.
 */
#include "decimal.h"
#include "temporal.h"
#include "rowvalue.h"

const char *cdc__type_name(unsigned type)
{
    switch (type) {
    case CDC_T_DECIMAL: return "DECIMAL";
    case CDC_T_TINY: return "TINYINT";
    case CDC_T_SHORT: return "SMALLINT";
    case CDC_T_LONG: return "INT";
    case CDC_T_FLOAT: return "FLOAT";
    case CDC_T_DOUBLE: return "DOUBLE";
    case CDC_T_NULL: return "NULL";
    case CDC_T_TIMESTAMP: return "TIMESTAMP";
    case CDC_T_LONGLONG: return "BIGINT";
    case CDC_T_INT24: return "MEDIUMINT";
    case CDC_T_DATE: return "DATE";
    case CDC_T_TIME: return "TIME";
    case CDC_T_DATETIME: return "DATETIME";
    case CDC_T_YEAR: return "YEAR";
    case CDC_T_NEWDATE: return "DATE";
    case CDC_T_VARCHAR: return "VARCHAR";
    case CDC_T_BIT: return "BIT";
    case CDC_T_TIMESTAMP2: return "TIMESTAMP";
    case CDC_T_DATETIME2: return "DATETIME";
    case CDC_T_TIME2: return "TIME";
    case CDC_T_TYPED_ARRAY: return "TYPED_ARRAY";
    case CDC_T_VECTOR: return "VECTOR";
    case CDC_T_INVALID: return "INVALID";
    case CDC_T_BOOL: return "BOOL";
    case CDC_T_JSON: return "JSON";
    case CDC_T_NEWDECIMAL: return "DECIMAL";
    case CDC_T_ENUM: return "ENUM";
    case CDC_T_SET: return "SET";
    case CDC_T_TINY_BLOB: return "TINYBLOB";
    case CDC_T_MEDIUM_BLOB: return "MEDIUMBLOB";
    case CDC_T_LONG_BLOB: return "LONGBLOB";
    case CDC_T_BLOB: return "BLOB";
    case CDC_T_VAR_STRING: return "VAR_STRING";
    case CDC_T_STRING: return "CHAR";
    case CDC_T_GEOMETRY: return "GEOMETRY";
    default: return "unknown type";
    }
}

void cdc__column_string_info(const cdc_column *col, unsigned *real_type, unsigned *length)
{
    /* rows.c has already undone the CHAR real-type/length folding
     * (docs/binlog-format.md): meta is the byte length, or the pack
     * length of ENUM/SET, and real_type tells which */
    if (col->type == CDC_T_ENUM || col->type == CDC_T_SET) *real_type = col->type;
    else if (col->real_type == CDC_T_ENUM || col->real_type == CDC_T_SET) *real_type = col->real_type;
    else *real_type = CDC_T_STRING;
    *length = col->meta;
}

static int short_err(const cdc_column *col, const char *what, size_t need, size_t avail, cdc__err *err)
{
    return cdc__err_set(err, CDC_ERR_CORRUPT, "%s%s: need %zu bytes, %zu left", cdc__type_name(col->type), what,
                        need, avail);
}

#define NEED(n)                                                                                                    \
    do {                                                                                                           \
        if ((size_t)(n) > avail) return short_err(col, "", (size_t)(n), avail, err);                               \
    } while (0)

static bool is_unsigned(const cdc_column *col) { return (col->flags & CDC_COLF_UNSIGNED) != 0; }

static int decode_int(const cdc_column *col, const uint8_t *p, size_t avail, size_t n, cdc_value *out,
                      size_t *used, cdc__err *err)
{
    NEED(n);
    uint64_t u = cdc__leN(p, n);
    *used = n;
    if (is_unsigned(col)) {
        out->kind = CDC_K_UINT;
        out->v.u = u;
    } else {
        /* sign-extend from n bytes; with signedness unknown this is the raw
         * signed reading, as the server's own tools print it first */
        unsigned shift = (unsigned)(64 - 8 * n);
        out->kind = CDC_K_INT;
        out->v.i = shift ? (int64_t)(u << shift) >> shift : (int64_t)u;
    }
    return CDC_OK;
}

/* A length-prefixed run: `lb` little-endian length bytes, then the data. */
static int decode_lenpref(const cdc_column *col, const uint8_t *p, size_t avail, unsigned lb, cdc_bytes *b,
                          size_t *used, cdc__err *err)
{
    if (lb < 1 || lb > 4)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "%s: metadata gives %u length bytes (must be 1..4)",
                            cdc__type_name(col->type), lb);
    NEED(lb);
    uint64_t n = cdc__leN(p, lb);
    if (n > avail - lb)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "%s: value of %llu bytes, %zu left", cdc__type_name(col->type),
                            (unsigned long long)n, avail - lb);
    b->ptr = p + lb;
    b->len = (size_t)n;
    *used = lb + (size_t)n;
    return CDC_OK;
}

static uint8_t text_or_bytes(const cdc_column *col)
{
    return col->charset == CDC_CHARSET_BINARY ? CDC_K_BYTES : CDC_K_STRING;
}

static int decode_fixed_binary(const cdc_column *col, cdc_value *out)
{
    /* MariaDB INET4/INET6/UUID travel as fixed-length binary strings;
     * only the metadata tells them apart from BINARY(4)/BINARY(16). */
    size_t want = 0;
    if (col->flags & CDC_COLF_INET4) { out->kind = CDC_K_INET4; want = 4; }
    else if (col->flags & CDC_COLF_INET6) { out->kind = CDC_K_INET6; want = 16; }
    else if (col->flags & CDC_COLF_UUID) { out->kind = CDC_K_UUID; want = 16; }
    else return 0;
    /* trailing zero bytes are cut like BINARY's (render pads them back);
     * anything longer is not what the flag promised: keep the bytes */
    if (out->v.b.len > want) out->kind = CDC_K_BYTES;
    return 1;
}

static int decode_string(const cdc_column *col, const uint8_t *p, size_t avail, cdc_value *out, size_t *used,
                         cdc__err *err)
{
    unsigned real, len;
    cdc__column_string_info(col, &real, &len);
    if (real == CDC_T_ENUM) {
        if (len != 1 && len != 2)
            return cdc__err_set(err, CDC_ERR_CORRUPT, "ENUM: pack length %u (must be 1 or 2)", len);
        NEED(len);
        out->kind = CDC_K_ENUM;
        out->v.u = cdc__leN(p, len);
        *used = len;
        return CDC_OK;
    }
    if (real == CDC_T_SET) {
        if (len < 1 || len > 8)
            return cdc__err_set(err, CDC_ERR_CORRUPT, "SET: pack length %u (must be 1..8)", len);
        NEED(len);
        out->kind = CDC_K_SET;
        out->v.u = cdc__leN(p, len);
        *used = len;
        return CDC_OK;
    }
    int rc = decode_lenpref(col, p, avail, len > 255 ? 2 : 1, &out->v.b, used, err);
    if (rc) return rc;
    out->kind = text_or_bytes(col);
    decode_fixed_binary(col, out);
    return CDC_OK;
}

static int decode_decimal(const cdc_column *col, const uint8_t *p, size_t avail, cdc_value *out, size_t *used,
                          cdc__err *err)
{
    unsigned prec = col->meta >> 8, scale = col->meta & 0xff;
    size_t n = cdc__decimal_bin_size(prec, scale);
    if (!n)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "DECIMAL(%u,%u): precision/scale out of range", prec, scale);
    if (n > avail)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "DECIMAL(%u,%u): need %zu bytes, %zu left", prec, scale, n,
                            avail);
    /* validate the digit groups now, so a bad value is reported where it is
     * decoded rather than when someone renders it */
    int rc = cdc__decimal_check(p, prec, scale, err);
    if (rc < 0) return rc;
    out->kind = CDC_K_DECIMAL;
    out->v.b = (cdc_bytes){p, n};
    *used = n;
    return CDC_OK;
}

static int check_fsp(const cdc_column *col, unsigned fsp, cdc__err *err)
{
    if (fsp > 6)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "%s: fractional digits %u in metadata (must be 0..6)",
                            cdc__type_name(col->type), fsp);
    return CDC_OK;
}

static bool tm_is_zero(const cdc__temporal *tm)
{
    return !tm->year && !tm->month && !tm->day && !tm->hour && !tm->minute && !tm->second && !tm->usec;
}

int cdc__value_decode(const cdc_column *col, const uint8_t *p, size_t avail, cdc_value *out, size_t *used,
                      cdc__err *err)
{
    memset(out, 0, sizeof *out);
    out->col = col;
    *used = 0;
    unsigned fsp;
    int rc;
    switch (col->type) {
    case CDC_T_TINY: return decode_int(col, p, avail, 1, out, used, err);
    case CDC_T_SHORT: return decode_int(col, p, avail, 2, out, used, err);
    case CDC_T_INT24: return decode_int(col, p, avail, 3, out, used, err);
    case CDC_T_LONG: return decode_int(col, p, avail, 4, out, used, err);
    case CDC_T_LONGLONG: return decode_int(col, p, avail, 8, out, used, err);
    case CDC_T_FLOAT: {
        NEED(4);
        uint32_t u = cdc__le32(p);
        memcpy(&out->v.f, &u, 4);
        out->kind = CDC_K_FLOAT;
        *used = 4;
        return CDC_OK;
    }
    case CDC_T_DOUBLE: {
        NEED(8);
        uint64_t u = cdc__le64(p);
        memcpy(&out->v.d, &u, 8);
        out->kind = CDC_K_DOUBLE;
        *used = 8;
        return CDC_OK;
    }
    case CDC_T_NULL:
        out->kind = CDC_K_NULL;
        return CDC_OK;
    case CDC_T_NEWDECIMAL: return decode_decimal(col, p, avail, out, used, err);
    case CDC_T_DECIMAL: {
        /* Pre-5.0 DECIMAL is space-padded ASCII of a fixed width; TABLE_MAP
         * does not record that width, so only a schema can supply it. */
        if (col->meta == 0)
            return cdc__err_set(err, CDC_ERR_UNSUPPORTED,
                                "DECIMAL (pre-5.0 string form): the binlog does not record its width");
        NEED(col->meta);
        out->kind = CDC_K_DECIMAL;
        out->flags = CDC_VF_TEXT;
        out->v.b = (cdc_bytes){p, col->meta};
        *used = col->meta;
        return CDC_OK;
    }
    case CDC_T_YEAR:
        NEED(1);
        out->kind = CDC_K_YEAR;
        out->v.i = p[0] ? 1900 + p[0] : 0;
        *used = 1;
        return CDC_OK;
    case CDC_T_DATE:
    case CDC_T_NEWDATE:
        NEED(3);
        out->kind = CDC_K_DATE;
        cdc__date_unpack(cdc__le24(p), &out->v.tm);
        if (tm_is_zero(&out->v.tm)) out->flags |= CDC_VF_ZERO_DATE;
        *used = 3;
        return CDC_OK;
    case CDC_T_TIME: {
        NEED(3);
        uint32_t u = cdc__le24(p);
        int32_t v = (u & 0x800000) ? (int32_t)(u | 0xff000000u) : (int32_t)u;
        out->kind = CDC_K_TIME;
        cdc__time_unpack_old(v, &out->v.tm);
        *used = 3;
        return CDC_OK;
    }
    case CDC_T_TIME2:
        fsp = col->meta;
        if ((rc = check_fsp(col, fsp, err))) return rc;
        NEED(3 + cdc__frac_bytes(fsp));
        out->kind = CDC_K_TIME;
        out->fsp = (uint8_t)fsp;
        cdc__time2_unpack(p, fsp, &out->v.tm);
        *used = 3 + cdc__frac_bytes(fsp);
        return CDC_OK;
    case CDC_T_DATETIME:
        NEED(8);
        out->kind = CDC_K_DATETIME;
        cdc__datetime_unpack_old(cdc__le64(p), &out->v.tm);
        if (tm_is_zero(&out->v.tm)) out->flags |= CDC_VF_ZERO_DATE;
        *used = 8;
        return CDC_OK;
    case CDC_T_DATETIME2:
        fsp = col->meta;
        if ((rc = check_fsp(col, fsp, err))) return rc;
        NEED(5 + cdc__frac_bytes(fsp));
        out->kind = CDC_K_DATETIME;
        out->fsp = (uint8_t)fsp;
        cdc__datetime2_unpack(p, fsp, &out->v.tm);
        if (tm_is_zero(&out->v.tm)) out->flags |= CDC_VF_ZERO_DATE;
        *used = 5 + cdc__frac_bytes(fsp);
        return CDC_OK;
    case CDC_T_TIMESTAMP:
        NEED(4);
        out->kind = CDC_K_TIMESTAMP;
        out->v.ts.sec = cdc__le32(p);
        out->v.ts.usec = 0;
        if (!out->v.ts.sec) out->flags |= CDC_VF_ZERO_DATE;
        *used = 4;
        return CDC_OK;
    case CDC_T_TIMESTAMP2: {
        fsp = col->meta;
        if ((rc = check_fsp(col, fsp, err))) return rc;
        NEED(4 + cdc__frac_bytes(fsp));
        out->kind = CDC_K_TIMESTAMP;
        out->fsp = (uint8_t)fsp;
        int64_t sec;
        uint32_t usec;
        cdc__timestamp2_unpack(p, fsp, &sec, &usec);
        out->v.ts.sec = sec;
        out->v.ts.usec = usec;
        /* TIMESTAMP 0 is the zero date '0000-00-00 00:00:00', not 1970 */
        if (!sec && !usec) out->flags |= CDC_VF_ZERO_DATE;
        *used = 4 + cdc__frac_bytes(fsp);
        return CDC_OK;
    }
    case CDC_T_BIT: {
        unsigned bits = (col->meta >> 8) * 8 + (col->meta & 0xff);
        if (bits < 1 || bits > 64)
            return cdc__err_set(err, CDC_ERR_CORRUPT, "BIT: metadata gives %u bits (must be 1..64)", bits);
        size_t n = (bits + 7) / 8;
        NEED(n);
        out->kind = CDC_K_BIT;
        out->v.u = cdc__beN(p, n);
        *used = n;
        return CDC_OK;
    }
    case CDC_T_ENUM:
    case CDC_T_SET:
    case CDC_T_STRING: return decode_string(col, p, avail, out, used, err);
    case CDC_T_VARCHAR:
    case CDC_T_VAR_STRING:
        rc = decode_lenpref(col, p, avail, col->meta > 255 ? 2 : 1, &out->v.b, used, err);
        if (rc) return rc;
        out->kind = text_or_bytes(col);
        decode_fixed_binary(col, out);
        return CDC_OK;
    case CDC_T_TINY_BLOB:
    case CDC_T_MEDIUM_BLOB:
    case CDC_T_LONG_BLOB:
    case CDC_T_BLOB:
        rc = decode_lenpref(col, p, avail, col->meta, &out->v.b, used, err);
        if (rc) return rc;
        if (col->flags & CDC_COLF_JSON_TEXT) {
            out->kind = CDC_K_JSON;
            out->flags = CDC_VF_TEXT;
        } else {
            out->kind = text_or_bytes(col);
        }
        return CDC_OK;
    case CDC_T_JSON:
        rc = decode_lenpref(col, p, avail, col->meta ? col->meta : 4, &out->v.b, used, err);
        if (rc) return rc;
        out->kind = CDC_K_JSON;
        if (col->flags & CDC_COLF_JSON_TEXT) out->flags = CDC_VF_TEXT;
        return CDC_OK;
    case CDC_T_GEOMETRY:
        rc = decode_lenpref(col, p, avail, col->meta ? col->meta : 4, &out->v.b, used, err);
        if (rc) return rc;
        if (out->v.b.len < 4)
            return cdc__err_set(err, CDC_ERR_CORRUPT, "GEOMETRY: value of %zu bytes has no SRID", out->v.b.len);
        out->kind = CDC_K_GEOMETRY;
        return CDC_OK;
    case CDC_T_VECTOR:
        rc = decode_lenpref(col, p, avail, col->meta ? col->meta : 4, &out->v.b, used, err);
        if (rc) return rc;
        if (out->v.b.len % 4)
            return cdc__err_set(err, CDC_ERR_CORRUPT, "VECTOR: %zu bytes is not a whole number of floats",
                                out->v.b.len);
        out->kind = CDC_K_VECTOR;
        return CDC_OK;
    default:
        return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "%s (type %u): no row format known",
                            cdc__type_name(col->type), (unsigned)col->type);
    }
}
