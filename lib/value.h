/*
 * value.h: the contract between the row decoder (rows.c, which walks
 * row images) and the type codecs (rowvalue.c, decimal.c, json.c, render.c,
 * which know everything about one value). Internal; not installed.
 *
 * A cdc_column describes one column as a TABLE_MAP event (plus optional
 * metadata, or the schema tracker) knows it. A cdc_value is one decoded
 * column value: a small typed view whose pointers borrow the event
 * buffer (or the decoder's scratch space) and live until the callback
 * that received it returns. The public header exposes cdc_value as an
 * opaque type with getters; the struct below is not part of the ABI.
 */
#ifndef CDC_VALUE_H
#define CDC_VALUE_H

#include "util.h"

/* Column type codes as the binlog writes them (enum_field_types). */
enum {
    CDC_T_DECIMAL = 0, CDC_T_TINY = 1, CDC_T_SHORT = 2, CDC_T_LONG = 3,
    CDC_T_FLOAT = 4, CDC_T_DOUBLE = 5, CDC_T_NULL = 6, CDC_T_TIMESTAMP = 7,
    CDC_T_LONGLONG = 8, CDC_T_INT24 = 9, CDC_T_DATE = 10, CDC_T_TIME = 11,
    CDC_T_DATETIME = 12, CDC_T_YEAR = 13, CDC_T_NEWDATE = 14, CDC_T_VARCHAR = 15,
    CDC_T_BIT = 16, CDC_T_TIMESTAMP2 = 17, CDC_T_DATETIME2 = 18, CDC_T_TIME2 = 19,
    CDC_T_TYPED_ARRAY = 20, CDC_T_VECTOR = 242, CDC_T_INVALID = 243,
    CDC_T_BOOL = 244, CDC_T_JSON = 245, CDC_T_NEWDECIMAL = 246, CDC_T_ENUM = 247,
    CDC_T_SET = 248, CDC_T_TINY_BLOB = 249, CDC_T_MEDIUM_BLOB = 250,
    CDC_T_LONG_BLOB = 251, CDC_T_BLOB = 252, CDC_T_VAR_STRING = 253,
    CDC_T_STRING = 254, CDC_T_GEOMETRY = 255,
};

/* Collation id 63 is `binary`: such CHAR/VARCHAR/BLOB columns hold bytes. */
#define CDC_CHARSET_BINARY 63

/* What a column is known to be, beyond its type byte. */
enum {
    CDC_COLF_UNSIGNED = 1u << 0,       /* signedness metadata says UNSIGNED */
    CDC_COLF_SIGNEDNESS_KNOWN = 1u << 1, /* signedness metadata was present */
    CDC_COLF_NULLABLE = 1u << 2,
    CDC_COLF_PRIMARY_KEY = 1u << 3,
    CDC_COLF_INVISIBLE = 1u << 4,
    CDC_COLF_JSON_TEXT = 1u << 5,      /* MariaDB JSON: LONGTEXT holding JSON text */
    CDC_COLF_INET4 = 1u << 6,          /* MariaDB INET4/INET6/UUID, told by metadata */
    CDC_COLF_INET6 = 1u << 7,
    CDC_COLF_UUID = 1u << 8,
    CDC_COLF_UTF8_TEXT = 1u << 9,      /* its collation's text renders as UTF-8
                                        * (cdc__charset_renders_as_utf8); set by
                                        * the TABLE_MAP parser for output.c */
};

typedef struct cdc_column {
    cdc_bytes name;        /* empty when the binlog carries no names */
    uint8_t type;          /* type byte from TABLE_MAP */
    uint8_t real_type;     /* for CDC_T_STRING: ENUM/SET/STRING from the metadata; else = type */
    uint16_t meta;         /* type metadata, as decoded from TABLE_MAP (see docs/binlog-format.md) */
    uint32_t flags;        /* CDC_COLF_* */
    uint16_t charset;      /* collation id, 0 when unknown */
    uint8_t geometry_type; /* GEOMETRY subtype from metadata, 0 when unknown */
    uint32_t vector_dims;  /* VECTOR dimensionality from metadata, 0 when unknown */
    uint32_t n_labels;     /* ENUM/SET labels, 0 when unknown */
    const cdc_bytes *labels;
    const cdc_bytes *jlabels; /* each label as a JSON string (UTF-8, escaped), made once
                               * per TABLE_MAP (tablemap.c); NULL when not made */
} cdc_column;

/*
 * Value kinds; the public header repeats these numbers as cdc_kind.
 * The kind says how to read the union; the column says what the server
 * thinks the type is.
 */
enum {
    CDC_K_NULL = 0,
    CDC_K_INT = 1,       /* v.i: TINY..LONGLONG signed, or signedness unknown */
    CDC_K_UINT = 2,      /* v.u: unsigned integer types */
    CDC_K_FLOAT = 3,     /* v.f: FLOAT (kept as float so it renders shortest) */
    CDC_K_DOUBLE = 4,    /* v.d */
    CDC_K_DECIMAL = 5,   /* v.b: packed binary decimal; precision/scale from column meta */
    CDC_K_DATE = 6,      /* v.tm */
    CDC_K_TIME = 7,      /* v.tm: hour may exceed 23; neg set for negative times */
    CDC_K_DATETIME = 8,  /* v.tm */
    CDC_K_TIMESTAMP = 9, /* v.ts: seconds since the epoch, UTC */
    CDC_K_YEAR = 10,     /* v.i: 0 or 1901..2155 */
    CDC_K_BIT = 11,      /* v.u; bit width from column meta */
    CDC_K_ENUM = 12,     /* v.u: 1-based index, 0 for the '' error value */
    CDC_K_SET = 13,      /* v.u: bitmask */
    CDC_K_STRING = 14,   /* v.b: text in the column's charset */
    CDC_K_BYTES = 15,    /* v.b: binary data */
    CDC_K_JSON = 16,     /* v.b: MySQL binary JSON, or JSON text if CDC_VF_TEXT */
    CDC_K_GEOMETRY = 17, /* v.b: 4-byte SRID + WKB, as stored */
    CDC_K_VECTOR = 18,   /* v.b: little-endian float32 array */
    CDC_K_JSON_DIFF = 19,/* v.b: PARTIAL_JSON diff that could not be applied */
    CDC_K_INET4 = 20,    /* v.b: 4 bytes */
    CDC_K_INET6 = 21,    /* v.b: 16 bytes */
    CDC_K_UUID = 22,     /* v.b: 16 bytes */
};

enum {
    CDC_VF_TEXT = 1u << 0,      /* JSON kind: v.b is JSON text, not binary JSON */
    CDC_VF_ZERO_DATE = 1u << 1, /* DATE/DATETIME/TIMESTAMP of all zeros */
    CDC_VF_UTF8 = 1u << 2,      /* STRING kind: v.b is UTF-8 already, whatever the column charset */
    CDC_VF_SCALED = 1u << 3,    /* DECIMAL kind: v.dec.unscaled holds the value (column scale) */
};

typedef struct cdc__temporal {
    int32_t year;     /* 0..9999 */
    uint8_t month;    /* 0..12 (0 in zero dates) */
    uint8_t day;      /* 0..31 */
    uint32_t hour;    /* 0..23, or 0..838 for TIME */
    uint8_t minute;
    uint8_t second;
    uint32_t usec;    /* 0..999999 */
    uint8_t neg;      /* TIME only */
} cdc__temporal;

typedef struct cdc_value {
    uint8_t kind;             /* CDC_K_* */
    uint8_t fsp;              /* fractional digits of temporal kinds, 0..6 */
    uint16_t flags;           /* CDC_VF_* */
    const cdc_column *col;    /* the column; may be NULL for free-standing values */
    union {
        int64_t i;
        uint64_t u;
        float f;
        double d;
        cdc_bytes b;
        /* a binary DECIMAL of at most 18 digits, as decoded by rows.c:
         * b (same place) plus its digits as an integer */
        struct { cdc_bytes b; int64_t unscaled; } dec;
        cdc__temporal tm;
        struct { int64_t sec; uint32_t usec; } ts;
    } v;
} cdc_value;

/*
 * Decodes one non-NULL value of `col` from a row image starting at p
 * (avail bytes left in the image). Sets *used to the bytes it occupies.
 * Returns CDC_OK, or CDC_ERR_CORRUPT/CDC_ERR_UNSUPPORTED with a message
 * in err that names the type and the shortfall ("DATETIME2(6): need 8
 * bytes, 3 left"); the caller prefixes where (file, offset, table,
 * column). Implemented in rowvalue.c.
 */
int cdc__value_decode(const cdc_column *col, const uint8_t *p, size_t avail,
                      cdc_value *out, size_t *used, cdc__err *err);

/*
 * Byte length of a PARTIAL_JSON diff value at p (the column's length
 * bytes, then operations: op byte 0 replace / 1 insert / 2 remove, lenenc
 * path, lenenc binary JSON value unless remove) and a kind=JSON_DIFF view
 * of the operations. Every operation is checked here, so rendering and
 * applying never meet a malformed vector. Implemented in json.c.
 */
int cdc__json_diff_decode(const cdc_column *col, const uint8_t *p, size_t avail,
                          cdc_value *out, size_t *used, cdc__err *err);

/*
 * Applies a PARTIAL_JSON diff to the before image of the same column and
 * sets *out to the full after document (kind JSON, CDC_VF_TEXT, compact
 * JSON text appended to scratch; out points into scratch->data, so it
 * stays valid until scratch is next grown, reset or freed: use one
 * scratch buffer per JSON column of a row). Returns CDC_ERR_UNSUPPORTED
 * when the diff cannot be applied (no binary before image, a path not in
 * it; the caller then delivers the diff itself), CDC_ERR_CORRUPT for a
 * malformed before document or diff value, CDC_ERR_NOMEM. On error
 * scratch is left as it was. Implemented in json.c.
 */
int cdc__json_diff_apply(const cdc_value *before, const cdc_value *diff,
                         cdc__buf *scratch, cdc_value *out, cdc__err *err);

/*
 * Appends the canonical JSON form of v (docs/values.md) to out.
 * Implemented in render.c.
 */
int cdc__value_render_json(const cdc_value *v, cdc__buf *out, cdc__err *err);

/*
 * Converts one field of a text-protocol result row (what SELECT returns)
 * to the cdc_value the binlog path would give for the same column, so
 * both render identically. text == NULL is SQL NULL. `text_charset` is
 * the collation id the result column definition announces (utf8mb4 when
 * the session uses it; 63 for binary columns). Strings, blobs and JSON
 * text borrow `text`; DECIMAL and INET4/INET6 values are written to
 * scratch (at most CDC__FROM_TEXT_SCRATCH bytes per value): reserve
 * ncolumns * CDC__FROM_TEXT_SCRATCH in scratch before a row so earlier
 * values do not move. TIMESTAMP text must be in UTC (time_zone '+00:00').
 * Returns CDC_OK or CDC_ERR_INVALID naming the column type and the text.
 * Implemented in textvalue.c.
 */
#define CDC__FROM_TEXT_SCRATCH 80
int cdc__value_from_text(const cdc_column *col, const char *text, size_t len, unsigned text_charset,
                         cdc_value *out, cdc__buf *scratch, cdc__err *err);

#endif /* CDC_VALUE_H */
