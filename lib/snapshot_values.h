/*
 * snapshot_values.h: what makes the snapshot's rows read exactly like
 * binlog rows (snapshot_values.c): a column from information_schema as
 * TABLE_MAP with full metadata describes it, a text-protocol value as
 * the decoder's cdc_value, and the SQL literals of keyset pagination.
 * Pure functions, no I/O; used by snapshot_table.c and unit-tested in
 * tests/test_snapshot_values.c. Internal; not installed.
 */
#ifndef CDC_SNAPSHOT_VALUES_H
#define CDC_SNAPSHOT_VALUES_H

#include "value.h"

/* A column as information_schema.COLUMNS describes it. */
typedef struct cdc__snap_colinfo {
    const char *name;
    const char *data_type;   /* DATA_TYPE: "int", "varchar", "enum"... */
    const char *column_type; /* COLUMN_TYPE: "int unsigned", "enum('a','b')"... */
    uint64_t octet_length;   /* CHARACTER_OCTET_LENGTH (0 if NULL) */
    unsigned precision;      /* NUMERIC_PRECISION, or bits for BIT */
    unsigned scale;          /* NUMERIC_SCALE */
    unsigned fsp;            /* DATETIME_PRECISION */
    unsigned collation;      /* collation id (0 if none) */
    bool nullable, primary, invisible;
    bool mariadb;            /* the server is MariaDB */
    bool json_doc;           /* MariaDB: a LONGTEXT declared JSON (CDC__SCHEMA_MARIADB_JSON_SQL) */
} cdc__snap_colinfo;

/*
 * Fills col as TABLE_MAP (binlog_row_metadata=FULL) describes the same
 * column. ENUM/SET labels are parsed from column_type into labels
 * (allocated with a; *labels receives the array whose views point into
 * *label_text, both freed by the caller). CDC_ERR_UNSUPPORTED names a
 * type the snapshot cannot read.
 */
int cdc__snap_column(const cdc__snap_colinfo *ci, const cdc_allocator *a, cdc_column *col,
                     cdc_bytes **labels, char **label_text, cdc__err *err);

/* MariaDB's INET4, INET6 and UUID columns: the binlog carries them as
 * BINARY(4)/BINARY(16) holding the storage bytes, SELECT returns text. */
enum { CDC__SNAP_PLAIN = 0, CDC__SNAP_INET4, CDC__SNAP_INET6, CDC__SNAP_UUID };

/* Which of the above a column is, from its information_schema DATA_TYPE. */
int cdc__snap_hint(const cdc__snap_colinfo *ci);

/*
 * Converts the text-protocol form of a non-NULL value of col (s, len;
 * the session runs with time_zone '+00:00' and binary results) into the
 * cdc_value the binlog decoder gives for the same value: H4's
 * cdc__value_from_text (value.h) plus what only the snapshot knows
 * (MariaDB's INET4/INET6/UUID by hint, BINARY padding). hint is
 * cdc__snap_hint() of the column. Bytes may point into s or be appended
 * to scratch (reserve CDC__FROM_TEXT_SCRATCH per column before a row so
 * nothing moves). CDC_ERR_CORRUPT names the type and the text when it
 * does not parse.
 */
int cdc__snap_value(const cdc_column *col, int hint, const uint8_t *s, size_t len, cdc__buf *scratch,
                    cdc_value *out, cdc__err *err);

/*
 * The layout class (resultset.h, CDC__BIN_*) of col's values in a binary
 * result row of the snapshot's SELECT (FLOAT is selected as DOUBLE), for
 * checking the result's column definitions and splitting its rows.
 */
int cdc__snap_bin_class(const cdc_column *col);

/*
 * As cdc__snap_value for a non-NULL value of a binary-protocol row: v
 * views its bytes as cdc__binrow_split() gives them, cls is the column's
 * layout class there (cdc__snap_bin_class, checked against the result's
 * column definitions). Integers, DOUBLE and temporal values are decoded
 * from their binary form; strings, DECIMAL, BIT and the rest come as
 * text in this protocol too and go through cdc__snap_value. The value
 * is the one the text path and the binlog decoder give.
 * CDC_ERR_CORRUPT names the type when the bytes do not fit it.
 */
int cdc__snap_value_bin(const cdc_column *col, int hint, int cls, const uint8_t *v, size_t len, cdc__buf *scratch,
                        cdc_value *out, cdc__err *err);

/*
 * The text a key value of col has in a text-protocol row, from its
 * binary form (v, len, class cls): integers in decimal, temporal values
 * as the server writes them (col's fractional digits), strings as they
 * are. *out views buf (CDC__SNAP_KEYTEXT_MAX bytes) or v. For the keyset
 * SQL and the checkpoint, which take key texts. CDC_ERR_CORRUPT when
 * the bytes do not fit.
 */
#define CDC__SNAP_KEYTEXT_MAX 48
int cdc__snap_key_text_bin(const cdc_column *col, int cls, const uint8_t *v, size_t len, char *buf, cdc_bytes *out,
                           cdc__err *err);

/* True when rows can be paged by this key column with keyset
 * comparisons that match ORDER BY (integers, DECIMAL, temporal types,
 * CHAR/VARCHAR/BINARY/VARBINARY). */
bool cdc__snap_key_pageable(const cdc_column *col);

/* One key column for the keyset SQL: its quoted name, and how a value
 * of it is written as a literal. */
typedef struct cdc__snap_keycol {
    const char *quoted;      /* `name` */
    const cdc_column *col;
    const char *charset;     /* character set name of text columns, else NULL */
    const char *collation;   /* collation name of text columns, else NULL */
} cdc__snap_keycol;

/*
 * Appends the SQL literal of key value v (text-protocol bytes) of column
 * k: numbers as they are, temporal values quoted, text as
 * _charset X'..' COLLATE collation, binary as X'..'.
 */
int cdc__snap_key_literal(cdc__buf *out, const cdc__snap_keycol *k, const cdc_bytes *v);

/*
 * Appends the keyset condition "rows after `last`" for the key columns
 * k[0..n): (k0 > v0) OR (k0 = v0 AND k1 > v1) OR ... , parenthesised.
 */
int cdc__snap_after_sql(cdc__buf *out, const cdc__snap_keycol *k, size_t n, const cdc_bytes *last);

#endif /* CDC_SNAPSHOT_VALUES_H */
