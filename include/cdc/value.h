/*
 * libcdc: change data capture from MySQL and MariaDB binary logs.
 *
 * value.h: one column value, as handed to a change callback. A value is
 * a small typed view: its kind says which getter applies; strings,
 * blobs and documents point into the event buffer, nothing is copied.
 *
 * Lifetime: a `const cdc_value *` (and every pointer a getter returns
 * from it) is valid until the callback that received it returns. Copy
 * what you keep.
 *
 * Thread-safety: every function here only reads the value; different
 * threads may read the same value at once.
 *
 * The canonical text form of every kind (what cdc_value_render writes
 * and `cdc dump` prints) is documented in docs/values.md.
 */
#ifndef CDC_VALUE_H_PUBLIC
#define CDC_VALUE_H_PUBLIC

#include <cdc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a value holds. The numbers are stable. */
typedef enum cdc_kind {
    CDC_KIND_NULL = 0,      /* SQL NULL */
    CDC_KIND_INT = 1,       /* signed integer (or signedness unknown): cdc_value_int64 */
    CDC_KIND_UINT = 2,      /* unsigned integer column: cdc_value_uint64 */
    CDC_KIND_FLOAT = 3,     /* FLOAT: cdc_value_double (exactly the float's value) */
    CDC_KIND_DOUBLE = 4,    /* DOUBLE: cdc_value_double */
    CDC_KIND_DECIMAL = 5,   /* DECIMAL: cdc_value_decimal (exact digits), _scaled, 128 */
    CDC_KIND_DATE = 6,      /* cdc_value_temporal */
    CDC_KIND_TIME = 7,      /* cdc_value_temporal; hours up to 838, may be negative */
    CDC_KIND_DATETIME = 8,  /* cdc_value_temporal */
    CDC_KIND_TIMESTAMP = 9, /* cdc_value_temporal (UTC), cdc_value_timestamp, cdc_value_int64 (s) */
    CDC_KIND_YEAR = 10,     /* cdc_value_int64: 0 or 1901..2155 */
    CDC_KIND_BIT = 11,      /* cdc_value_uint64 */
    CDC_KIND_ENUM = 12,     /* cdc_value_uint64: 1-based index, 0 = '' */
    CDC_KIND_SET = 13,      /* cdc_value_uint64: bitmask, bit 0 = first member */
    CDC_KIND_STRING = 14,   /* cdc_value_bytes: text in the column's charset */
    CDC_KIND_BYTES = 15,    /* cdc_value_bytes: binary data */
    CDC_KIND_JSON = 16,     /* cdc_value_bytes: MySQL binary JSON, or JSON text (MariaDB,
                               rebuilt partial updates); render for text */
    CDC_KIND_GEOMETRY = 17, /* cdc_value_bytes: 4-byte little-endian SRID, then WKB */
    CDC_KIND_VECTOR = 18,   /* cdc_value_bytes: little-endian float32 array */
    CDC_KIND_JSON_DIFF = 19,/* a PARTIAL_JSON update that could not be rebuilt; render it */
    CDC_KIND_INET4 = 20,    /* cdc_value_bytes: 4 bytes, network order */
    CDC_KIND_INET6 = 21,    /* cdc_value_bytes: 16 bytes, network order */
    CDC_KIND_UUID = 22,     /* cdc_value_bytes: 16 bytes as MariaDB stores them */
} cdc_kind;

/* Calendar and clock fields of a DATE, TIME, DATETIME or TIMESTAMP. */
typedef struct cdc_datetime {
    int year;          /* 0..9999 (0 in zero dates) */
    unsigned month;    /* 1..12, 0 in zero dates */
    unsigned day;      /* 1..31, 0 in zero dates */
    unsigned hour;     /* 0..23; TIME: 0..838 */
    unsigned minute;
    unsigned second;
    unsigned usec;     /* microseconds, 0..999999 */
    unsigned fsp;      /* fractional digits the column declares, 0..6 */
    int negative;      /* TIME only: 1 for a negative interval */
    int zero;          /* 1 for the zero date '0000-00-00 ...' */
} cdc_datetime;

/* The kind of v; CDC_KIND_NULL for NULL. Never fails. */
CDC_EXTERN cdc_kind cdc_value_kind(const cdc_value *v);
/* A static name for a kind ("DECIMAL"), "UNKNOWN" if out of range. */
CDC_EXTERN const char *cdc_kind_name(int kind);
/* 1 if v is SQL NULL (or v itself is NULL), else 0. */
CDC_EXTERN int cdc_value_is_null(const cdc_value *v);

/*
 * Integer getters. cdc_value_int64 accepts INT, YEAR and TIMESTAMP
 * (epoch seconds), and UINT/BIT/ENUM/SET up to INT64_MAX;
 * cdc_value_uint64 accepts UINT, BIT, ENUM, SET and non-negative INT.
 * Return CDC_OK, CDC_ERR_INVALID (another kind, or a NULL argument) or
 * CDC_ERR_TOO_LARGE (the number does not fit the type asked for).
 */
CDC_EXTERN int cdc_value_int64(const cdc_value *v, int64_t *out);
CDC_EXTERN int cdc_value_uint64(const cdc_value *v, uint64_t *out);
/* FLOAT or DOUBLE as a double (a FLOAT converts exactly). CDC_OK or
 * CDC_ERR_INVALID. Integers and decimals are refused, not rounded. */
CDC_EXTERN int cdc_value_double(const cdc_value *v, double *out);
/* The bytes of a STRING, BYTES, JSON, GEOMETRY, VECTOR, INET4/6, UUID or
 * JSON_DIFF value, borrowed from the event; {NULL, 0} for other kinds. */
CDC_EXTERN cdc_bytes cdc_value_bytes(const cdc_value *v);
/* Fields of DATE, TIME, DATETIME, TIMESTAMP (in UTC). CDC_OK or
 * CDC_ERR_INVALID for other kinds. */
CDC_EXTERN int cdc_value_temporal(const cdc_value *v, cdc_datetime *out);

/*
 * The exact digits of a DECIMAL with the column's scale ("-12.30"),
 * NUL-terminated, into buf[0..cap). *need (if not NULL) gets the bytes
 * required including the NUL, whether or not they fit. Returns CDC_OK,
 * CDC_ERR_TOO_LARGE when cap is too small (buf untouched), CDC_ERR_INVALID
 * for another kind, or CDC_ERR_CORRUPT for malformed digits.
 * At most 70 bytes are ever needed.
 */
CDC_EXTERN int cdc_value_decimal(const cdc_value *v, char *buf, size_t cap, size_t *need);

/*
 * DECIMAL without text: the value is unscaled / 10^scale, scale being
 * the column's (DECIMAL(10,2) -12.30: unscaled -1230, scale 2). Returns
 * CDC_OK, CDC_ERR_TOO_LARGE when the unscaled number does not fit an
 * int64_t (more than 18 digits; use cdc_value_decimal128 or the text),
 * CDC_ERR_INVALID for another kind or a NULL argument, CDC_ERR_CORRUPT
 * for malformed digits. Outputs are untouched unless CDC_OK.
 */
CDC_EXTERN int cdc_value_decimal_scaled(const cdc_value *v, int64_t *unscaled, unsigned *scale);
/*
 * The same as a 128-bit two's-complement integer, hi * 2^64 + lo: exact
 * for every DECIMAL of up to 38 digits; CDC_ERR_TOO_LARGE beyond
 * (DECIMAL goes to 65 digits: use cdc_value_decimal's text). Other
 * returns as cdc_value_decimal_scaled.
 */
CDC_EXTERN int cdc_value_decimal128(const cdc_value *v, int64_t *hi, uint64_t *lo, unsigned *scale);
/*
 * TIMESTAMP as seconds since 1970-01-01 UTC and microseconds (0..999999),
 * without calendar fields. The zero TIMESTAMP gives 0 and 0
 * (cdc_value_temporal's `zero` tells it apart). CDC_OK or CDC_ERR_INVALID
 * (another kind, a NULL argument).
 */
CDC_EXTERN int cdc_value_timestamp(const cdc_value *v, int64_t *sec, uint32_t *usec);
/* Defined since these getters exist. */
#define CDC_VALUE_HAS_DECIMAL_SCALED 1

/* ---- cells: a whole row image in one call ------------------------------
 *
 * cdc_change_cells() (below) fills a caller's array with one cdc_cell per
 * column: what the getters above would return, in a small public struct
 * the caller reads directly, without a library call per value. It is the
 * fast path for a reader of every column; the getters stay for everything
 * (and for what a cell does not carry, below).
 *
 * A cell holds exactly what the getters give:
 *   kind                 cdc_value_kind (CDC_KIND_NULL for SQL NULL, and
 *                        for a column absent from the image: CDC_CELL_ABSENT)
 *   INT, YEAR            v.i = cdc_value_int64
 *   UINT, BIT, ENUM, SET v.u = cdc_value_uint64
 *   FLOAT, DOUBLE        v.d = cdc_value_double (a FLOAT exactly)
 *   DECIMAL              v.i = unscaled, scale = scale, as
 *                        cdc_value_decimal_scaled gives them; when that
 *                        getter would not return CDC_OK (more than 18
 *                        digits that do not fit an int64_t), the cell has
 *                        CDC_CELL_DECIMAL_WIDE, v.i = 0, and the caller
 *                        reads the value's cdc_value_decimal128 or text
 *   TIMESTAMP            v.i = microseconds since 1970-01-01 UTC (seconds
 *                        * 1000000 + usec of cdc_value_timestamp), usec =
 *                        the microseconds, fsp; the zero TIMESTAMP is 0
 *                        with CDC_CELL_ZERO_DATE. Calendar fields (UTC):
 *                        cdc_value_temporal on the value
 *   DATE, TIME, DATETIME v.tm and usec = cdc_value_temporal's fields, fsp;
 *                        CDC_CELL_NEGATIVE (TIME), CDC_CELL_ZERO_DATE
 *   STRING ... UUID      v.b = cdc_value_bytes (borrowed, as there);
 *                        CDC_CELL_JSON_TEXT when a JSON value is JSON text
 *                        rather than MySQL binary JSON; CDC_CELL_UTF8 when
 *                        a STRING is UTF-8 whatever the column's charset
 *
 * ABI: the layout below is fixed for CDC_CELL_VERSION 1 (24 bytes on
 * every platform with 64-bit pointers, 16 with 32-bit ones). Later
 * versions only append fields and flags; existing ones never move or
 * change meaning. The caller passes the sizeof(cdc_cell) it was compiled
 * with: the library steps through the array by that size, fills the
 * fields it knows and zeroes any tail it does not, so a program built
 * against an older header keeps working with a newer library, and one
 * built against a newer header with an older library reads zeros (each
 * appended field will say what zero means). New kinds may appear, as for
 * cdc_value_kind: treat an unknown kind like one without a cell form and
 * use the getters.
 */
#define CDC_CELL_VERSION 1

/* cdc_cell.flags */
enum {
    CDC_CELL_ABSENT = 1u << 0,       /* the column is not in this image (kind NULL) */
    CDC_CELL_ZERO_DATE = 1u << 1,    /* DATE, DATETIME, TIMESTAMP of all zeros */
    CDC_CELL_NEGATIVE = 1u << 2,     /* TIME: a negative interval */
    CDC_CELL_DECIMAL_WIDE = 1u << 3, /* DECIMAL that does not fit v.i: use the getters */
    CDC_CELL_JSON_TEXT = 1u << 4,    /* JSON: v.b is JSON text, not MySQL binary JSON */
    CDC_CELL_UTF8 = 1u << 5,         /* STRING: v.b is UTF-8, whatever the column's charset */
};

typedef struct cdc_cell {
    uint8_t kind;  /* cdc_kind */
    uint8_t flags; /* CDC_CELL_* */
    uint8_t fsp;   /* DATE..TIMESTAMP: fractional digits the column declares, 0..6 */
    uint8_t scale; /* DECIMAL: digits after the point */
    uint32_t usec; /* TIME, DATETIME, TIMESTAMP: microseconds, 0..999999 */
    union {
        int64_t i;   /* INT, YEAR; DECIMAL unscaled; TIMESTAMP epoch microseconds */
        uint64_t u;  /* UINT, BIT, ENUM, SET */
        double d;    /* FLOAT, DOUBLE */
        cdc_bytes b; /* STRING, BYTES, JSON, GEOMETRY, VECTOR, JSON_DIFF, INET4/6, UUID */
        struct {
            int16_t year;   /* 0..9999 */
            uint8_t month;  /* 0..12 (0 in zero dates) */
            uint8_t day;    /* 0..31 */
            uint16_t hour;  /* 0..23; TIME: 0..838 */
            uint8_t minute;
            uint8_t second;
        } tm;          /* DATE, TIME, DATETIME */
    } v;
} cdc_cell;

/* Which image of a change cdc_change_cells reads. */
typedef enum cdc_image {
    CDC_IMAGE_BEFORE = 0, /* updates and deletes */
    CDC_IMAGE_AFTER = 1,  /* inserts, updates and snapshot rows */
} cdc_image;

/* Defined since cdc_change_cells exists. */
#define CDC_VALUE_HAS_CELLS 1
/* Defined since cdc_change_cells_view (cdc/binlog.h) exists. */
#define CDC_VALUE_HAS_CELLS_VIEW 1

/*
 * The canonical JSON text of v (docs/values.md), NUL-terminated, into
 * buf[0..cap); *need (if not NULL) gets the bytes required including the
 * NUL. Call with cap 0 to learn the size. Returns CDC_OK,
 * CDC_ERR_TOO_LARGE (buffer too small; buf untouched), CDC_ERR_NOMEM,
 * CDC_ERR_CORRUPT (malformed JSON document or decimal) or
 * CDC_ERR_CHARSET (no converter for the column's charset).
 * Nothing is returned for the caller to free.
 */
CDC_EXTERN int cdc_value_render(const cdc_value *v, char *buf, size_t cap, size_t *need);

/* The column a value belongs to; NULL for free-standing values. */
CDC_EXTERN const cdc_column *cdc_value_column(const cdc_value *v);

/* Column getters. The name is not NUL-terminated; *len gets its length
 * (0 when the binlog carries no names). */
CDC_EXTERN const char *cdc_column_name(const cdc_column *c, size_t *len);
/* The binlog type byte (MYSQL_TYPE_*: 3 = LONG, 246 = NEWDECIMAL, ...). */
CDC_EXTERN int cdc_column_type(const cdc_column *c);
/* The SQL name of the column's type ("DECIMAL", "MEDIUMBLOB"). */
CDC_EXTERN const char *cdc_column_type_name(const cdc_column *c);
/* The collation id of a character column, 0 when unknown, 63 = binary. */
CDC_EXTERN unsigned cdc_column_collation(const cdc_column *c);
/* The character set name of a collation id ("utf8mb4", "latin1");
 * "unknown" for ids libcdc does not know. */
CDC_EXTERN const char *cdc_collation_charset(unsigned collation);

/* ENUM and SET columns: how many labels the binlog carries for the column
 * (binlog_row_metadata=FULL), 0 when it carries none or for other types;
 * and label i, not NUL-terminated (*len gets its length), NULL when i is
 * out of range. Labels are in the column's charset, as the table defines
 * them; index 1 of an ENUM value is label 0. */
CDC_EXTERN size_t cdc_column_label_count(const cdc_column *c);
CDC_EXTERN const char *cdc_column_label(const cdc_column *c, size_t i, size_t *len);
/* GEOMETRY columns: the subtype the binlog metadata names (MySQL's
 * numbering: 0 GEOMETRY, 1 POINT, 2 LINESTRING, 3 POLYGON, 4 MULTIPOINT,
 * 5 MULTILINESTRING, 6 MULTIPOLYGON, 7 GEOMETRYCOLLECTION); 0 also when
 * unknown; -1 for other types. */
CDC_EXTERN int cdc_column_geometry_type(const cdc_column *c);

#ifdef __cplusplus
}
#endif
#endif /* CDC_VALUE_H_PUBLIC */
