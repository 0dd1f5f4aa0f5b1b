/*
 * filter.h: the stream's filters, compiled once from the configuration:
 * databases and tables to include or exclude (names or * ? patterns),
 * columns to leave out, originating server_ids to include or exclude and
 * operations to skip. Tables are judged once per TABLE_MAP, so rows of
 * filtered tables cost a bitmap lookup, not a pattern match.
 * Internal; not installed.
 */
#ifndef CDC_FILTER_H
#define CDC_FILTER_H

#include "config.h"

typedef struct cdc__filter {
    const cdc_allocator *alloc;
    const char *const *db_inc, *const *db_exc, *const *tbl_inc, *const *tbl_exc, *const *col_exc;
    size_t n_db_inc, n_db_exc, n_tbl_inc, n_tbl_exc, n_col_exc;
    uint32_t *sid_inc, *sid_exc;
    size_t n_sid_inc, n_sid_exc;
    bool skip_c, skip_u, skip_d;
    const char *const *marker; /* transaction.marker.table */
    size_t n_marker;
} cdc__filter;

/* Compiles the filter keys of cfg. The pattern strings are borrowed from
 * cfg, which must outlive the filter. CDC_ERR_CONFIG names a bad item. */
int cdc__filter_init(cdc__filter *f, const cdc_config *cfg, const cdc_allocator *a, cdc__err *err);
void cdc__filter_free(cdc__filter *f);

/* True when database db passes database.include/exclude.list. */
bool cdc__filter_db(const cdc__filter *f, const char *db);
/* True when changes of db.table are wanted. */
bool cdc__filter_table(const cdc__filter *f, const char *db, const char *table);
/* True when changes written by this originating server_id are wanted. */
bool cdc__filter_server(const cdc__filter *f, uint32_t server_id);
/* True when operation op ('c', 'u', 'd') is wanted. */
bool cdc__filter_op(const cdc__filter *f, char op);
/* Whether a DDL statement (default database db) concerns what the
 * filters let through: a table it names passes; a database it creates,
 * drops or alters passes and may hold included tables; a statement naming
 * neither (CREATE USER...) only when no table list narrows the stream.
 * Table DDL the reader cannot follow passes with its database. */
bool cdc__filter_ddl(const cdc__filter *f, const char *db, const char *sql, size_t len);
/* True when db.table is a transaction.marker.table: its rows are never
 * delivered, and a transaction whose first row change is on it is dropped. */
bool cdc__filter_marker(const cdc__filter *f, const char *db, const char *table);
/* True when column db.table.column is to be left out. */
bool cdc__filter_column_excluded(const cdc__filter *f, const char *db, const char *table, const char *column);
/* True when any column exclusion is configured. */
static inline bool cdc__filter_has_column_rules(const cdc__filter *f) { return f->n_col_exc > 0; }

#endif /* CDC_FILTER_H */
