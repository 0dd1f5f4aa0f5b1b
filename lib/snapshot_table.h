/*
 * snapshot_table.h: one captured table as a snapshot reads it
 * (snapshot_table.c). Its description comes from information_schema:
 * the columns as TABLE_MAP with full metadata would describe them, and
 * the primary key. From it come the table's SELECT, the SQL of one
 * keyset chunk, and the conversion of its rows (text, or binary through
 * a prepared statement) into the values the binlog decoder gives. The parallel snapshot (snapshot.c), the
 * consistency point (snapshot_point.c, which checks that definitions did
 * not change under it) and incremental snapshots (incremental.c, through
 * cdc__snap_one_*) all read tables this way. Internal; not installed.
 */
#ifndef CDC_SNAPSHOT_TABLE_H
#define CDC_SNAPSHOT_TABLE_H

#include "conn.h"
#include "snapshot.h"
#include "snapshot_values.h"

typedef struct cdc__snap_col {
    char *quoted;               /* `name` */
    char *charset, *collation;  /* names, NULL for non-text columns */
    int hint;                   /* CDC__SNAP_* */
    bool excluded;
    /* ENUM/SET whose labels from information_schema may have lost
     * characters: the servers show metadata in utf8mb3, so a 4-byte
     * character in a label reads as '?'. Such a column is also selected
     * as col+0 (index or bitmask) at this select position + 1 (0: not),
     * and the labels its rows use are repaired from their exact bytes. */
    size_t index_sel;
} cdc__snap_col;

typedef struct cdc__snap_table {
    struct cdc_table t;         /* as the row callback sees it */
    cdc__snap_col *sc;
    cdc_bytes **labels;         /* per column, NULL unless ENUM/SET */
    char **label_text;
    size_t *sel, nsel;          /* select position -> column index */
    size_t *key_sel, nkey;      /* key column k -> select position */
    cdc__snap_keycol *kc;
    bool pageable, has_key;
    char *select_sql;           /* SELECT ... FROM `db`.`t` */
    char *order_sql;            /* ORDER BY ... */
    uint64_t rows_est;          /* TABLE_ROWS */
    size_t nextra;              /* col+0 expressions after the columns */
    uint8_t **repaired;         /* label copies made while converting rows */
    size_t nrepaired;
    uint64_t fp;                /* fingerprint of its definition */
    /* rows come in the binary protocol (a prepared statement), each
     * select position j laid out as bincls[j] (CDC__BIN_*); set by
     * cdc__snap_table_use_binary() */
    bool binary;
    uint8_t *bincls;
    /* the parallel run's bookkeeping (snapshot.c); this module leaves it alone */
    uint64_t rows_done, chunks_done;
    size_t items_left;
    size_t item0, nitems;       /* its work items, in key order */
} cdc__snap_table;

/*
 * Reads, over c, the description of every base table outside the system
 * schemas that f->table selects (NULL: all), in byte order of (schema,
 * table); f->column marks columns left out. *tables (free with
 * cdc__snap_tables_free) has *ntables entries. mariadb: the server is
 * MariaDB (its INET4/INET6/UUID types). CDC_ERR_UNSUPPORTED names a
 * column type a snapshot cannot read; server errors as cdc__conn_* give
 * them.
 */
int cdc__snap_tables_read(cdc__conn *c, bool mariadb, const cdc__snap_filter *f, const cdc_allocator *a,
                          cdc__snap_table **tables, size_t *ntables, cdc__err *err);
void cdc__snap_tables_free(const cdc_allocator *a, cdc__snap_table *tables, size_t ntables);
/* The same from results already read: cols has the columns of
 * information_schema.COLUMNS joined with TABLES (TABLE_ROWS) and
 * COLLATIONS (ID), st the PRIMARY rows of STATISTICS, both in byte order
 * of (schema, table) as cdc__snap_tables_read() selects them (unit
 * tests build them in memory). CDC_ERR_PROTOCOL for a row without
 * TABLE_SCHEMA or TABLE_NAME. */
int cdc__snap_tables_build(const cdc__result *cols, const cdc__result *st, bool mariadb, const cdc__snap_filter *f,
                           const cdc_allocator *a, cdc__snap_table **tables, size_t *ntables, cdc__err *err);

/*
 * Reads the definitions again and compares them with tables[0..n) (those
 * skip() says yes to are not compared; skip may be NULL). *changed is
 * the index of the first table whose definition differs (*gone: it is
 * no longer there), or n when none does.
 */
int cdc__snap_tables_changed(cdc__conn *c, const cdc__snap_table *tables, size_t n,
                             bool (*skip)(const cdc__snap_table *t, void *ud), void *ud, size_t *changed, bool *gone,
                             cdc__err *err);
/* The comparison itself, against a COLUMNS result as cdc__snap_tables_build() takes. */
void cdc__snap_tables_compare(const cdc__result *cols, const cdc__snap_table *tables, size_t n,
                              bool (*skip)(const cdc__snap_table *t, void *ud), void *ud, size_t *changed, bool *gone);

/* Fields of a row of t's SELECT (1 for SELECT 1 when every column is left out). */
size_t cdc__snap_table_fields(const cdc__snap_table *t);

/*
 * Appends t's SELECT with WHERE (cond) when cond is not NULL, the rows
 * after last (key texts of the previous chunk's last row; NULL for the
 * first chunk) when t is pageable, and, for a pageable table, ORDER BY
 * its key, and LIMIT limit unless limit is 0 (one ordered pass over the
 * rows from last on). Not terminated. CDC_ERR_INVALID when a key of
 * last cannot be written as a literal, CDC_ERR_NOMEM.
 */
int cdc__snap_table_chunk_sql(const cdc__snap_table *t, const char *cond, const cdc_bytes *last, uint64_t limit,
                              cdc__buf *out);

/*
 * Makes t's rows be read in the binary protocol when its columns allow
 * it (every select position has a known binary layout, no col+0 label
 * columns, at least one column); returns whether they will. CDC_ERR_NOMEM
 * leaves t on the text protocol.
 */
bool cdc__snap_table_use_binary(cdc__snap_table *t);
/* Checks a result's column definitions against t's binary layouts:
 * CDC_ERR_SCHEMA naming the column when one differs. */
int cdc__snap_table_check_bin(const cdc__snap_table *t, const cdc__coldef *cols, size_t ncols, cdc__err *err);
/*
 * Splits a row of t's SELECT, text or binary as t->binary says, into
 * fields[0..cdc__snap_table_fields(t)) (views into row). CDC_ERR_PROTOCOL
 * for a malformed row.
 */
int cdc__snap_table_split(const cdc__snap_table *t, const uint8_t *row, size_t len, cdc_bytes *fields, cdc__err *err);
/*
 * The text of key column k of a split row, as a text-protocol row has
 * it (for the keyset SQL and the checkpoint): fields' bytes, or written
 * into buf (CDC__SNAP_KEYTEXT_MAX bytes) for binary values.
 */
int cdc__snap_table_key_text(const cdc__snap_table *t, const cdc_bytes *fields, size_t k, char *buf, cdc_bytes *out,
                             cdc__err *err);

/* Where a row's values go, sized for the widest table it will hold. */
typedef struct cdc__snap_row {
    const cdc_allocator *a;
    cdc_value *vals;            /* indexed like the table's columns */
    uint8_t *present;           /* present[i] == 0: column i left out */
    cdc_bytes *texts;           /* the row's fields */
    cdc__buf scratch;           /* bytes of values that are not in the row */
} cdc__snap_row;

void cdc__snap_row_init(cdc__snap_row *r, const cdc_allocator *a);
/* Room for rows of up to ncols columns. CDC_ERR_NOMEM. */
int cdc__snap_row_alloc(cdc__snap_row *r, size_t ncols);
void cdc__snap_row_free(cdc__snap_row *r);

/*
 * Splits a row of t's SELECT (row, len: lenenc fields, or a binary row
 * when t->binary) into r->texts and converts it into r->vals and r->present, as the
 * binlog decoder would give the same row; values may point into row and
 * r->scratch and are valid until the next call. Repairs ENUM/SET labels
 * the metadata spelled lossily (see cdc__snap_col.index_sel), so t
 * changes: one thread at a time. CDC_ERR_CORRUPT names the column whose
 * value does not fit it.
 */
int cdc__snap_table_row(cdc__snap_table *t, const uint8_t *row, size_t len, cdc__snap_row *r, cdc__err *err);

/* ---- helpers of the snapshot modules ------------------------------------ */

/* `name`, with backticks doubled; NULL when out of memory. */
char *cdc__snap_quote(const cdc_allocator *a, const char *name);
/* Column col of row row of r by name; NULL for SQL NULL or no such column. */
const char *cdc__snap_rget(const cdc__result *r, size_t row, const char *col);
/* As cdc__conn_query_result / cdc__conn_exec, the error prefixed with the SQL. */
int cdc__snap_query(cdc__conn *c, const char *sql, cdc__result **out, cdc__err *err);
int cdc__snap_exec(cdc__conn *c, const char *sql, cdc__err *err);
/* Formats a message for a cdc__snap_cbs-style log callback (NULL: none). */
void cdc__snap_logf(void (*log)(int level, int code, const char *msg, void *ud), void *ud, int level,
                    const char *fmt, ...) CDC__PRINTF(4, 5);

/* ---- one table, for incremental snapshots (incremental.c) -------------- */

/* One table described as the snapshot describes it (the same value
 * representation), read in primary-key chunks by incremental.c. */
typedef struct cdc__snap_one cdc__snap_one;

/* Reads db.table's description over c (a session set up as the
 * snapshot's workers are: UTC, binary results). f->column leaves
 * columns out as for the snapshot. CDC_ERR_SCHEMA when there is no such
 * base table, CDC_ERR_UNSUPPORTED when it has no pageable primary key. */
int cdc__snap_one_open(cdc__snap_one **out, cdc__conn *c, const char *db, const char *table,
                       const cdc__snap_filter *f, const cdc_allocator *a, cdc__err *err);
void cdc__snap_one_free(cdc__snap_one *o);
/* Reads the table's definition again: *changed when it differs from
 * the one o was opened with (columns, types, collations, nullability,
 * key; or the table is gone). */
int cdc__snap_one_changed(const cdc__snap_one *o, cdc__conn *c, bool *changed, cdc__err *err);
const struct cdc_table *cdc__snap_one_table(const cdc__snap_one *o);
/* Fields of a row of the chunk SELECT. */
size_t cdc__snap_one_fields(const cdc__snap_one *o);
size_t cdc__snap_one_nkey(const cdc__snap_one *o);
/* The table column index of key column k. */
size_t cdc__snap_one_key_column(const cdc__snap_one *o, size_t k);
/* The text of key column k among a row's fields. */
const cdc_bytes *cdc__snap_one_key_text(const cdc__snap_one *o, const cdc_bytes *texts, size_t k);
/* Appends (terminated) SELECT ... [WHERE (cond) AND after last] ORDER BY key LIMIT limit;
 * last: key texts of the previous chunk's last row, NULL for the first. */
int cdc__snap_one_sql(const cdc__snap_one *o, const cdc_bytes *last, const char *cond, uint64_t limit, cdc__buf *out);
/* Makes o's chunks be read in the binary protocol when its columns allow
 * it (cdc__snap_table_use_binary); false leaves them in the text protocol. */
bool cdc__snap_one_use_binary(cdc__snap_one *o);
bool cdc__snap_one_binary(const cdc__snap_one *o);
/* Checks a binary result's column definitions against o's layouts
 * (CDC_ERR_SCHEMA when one differs: the definition changed). */
int cdc__snap_one_check_columns(const cdc__snap_one *o, const cdc__coldef *cols, size_t ncols, cdc__err *err);
/* Splits a row packet of the chunk SELECT (text or binary, as o reads)
 * into its cdc__snap_one_fields() fields. */
int cdc__snap_one_split(const cdc__snap_one *o, const uint8_t *row, size_t len, cdc_bytes *fields, cdc__err *err);
/* The text of key column k among a row's fields (split), as the keyset
 * SQL takes it; *out views buf (CDC__SNAP_KEYTEXT_MAX bytes) or the row. */
int cdc__snap_one_key_text_of(const cdc__snap_one *o, const cdc_bytes *fields, size_t k, char *buf, cdc_bytes *out,
                              cdc__err *err);
/* The key columns of a row's fields as values (*vals[k], valid until the next call). */
int cdc__snap_one_keyvals(cdc__snap_one *o, const cdc_bytes *texts, const cdc_value **vals, cdc__err *err);
/* A stored row (a row packet of the chunk SELECT, text or binary) as values
 * indexed like the table's columns, as the snapshot's row callback gets
 * them; valid until the next call. */
int cdc__snap_one_row(cdc__snap_one *o, const uint8_t *row, size_t len, const cdc_value **vals,
                      const uint8_t **present, cdc__err *err);

#endif /* CDC_SNAPSHOT_TABLE_H */
