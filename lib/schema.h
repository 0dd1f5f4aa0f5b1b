/*
 * schema.h: column names for tables whose TABLE_MAP carries none
 * (binlog_row_metadata=MINIMAL). Names come from information_schema over
 * a connection of their own, are cached per table, and are dropped when a
 * DDL statement names the table. The cache reflects the table as it is
 * when first asked, not as it was when the event was written: see
 * docs/stream.md for what that cannot guarantee. Internal; not installed.
 */
#ifndef CDC_SCHEMA_H
#define CDC_SCHEMA_H

#include "conn.h"

typedef struct cdc__schema_entry {
    char *db, *table;
    char **names;
    size_t ncols;
} cdc__schema_entry;

typedef struct cdc__schema {
    const cdc_allocator *alloc;
    cdc__schema_entry *e;
    size_t n, cap;
    uint64_t fetches;   /* queries run, for tests and logs */
} cdc__schema;

void cdc__schema_init(cdc__schema *s, const cdc_allocator *a);
void cdc__schema_free(cdc__schema *s);

/*
 * The column names of db.table, fetched through c when not cached.
 * CDC_ERR_SCHEMA when the table does not exist or has a column count
 * other than `ncols` (the row event's), naming both counts. Names stay
 * valid until the entry is invalidated or the cache freed.
 */
int cdc__schema_names(cdc__schema *s, cdc__conn *c, const char *db, const char *table, size_t ncols,
                      const char *const **names, cdc__err *err);

/* The cached names of db.table when they are there and have ncols
 * columns; false otherwise (then cdc__schema_names fetches them or says
 * what is wrong). No I/O: the decoder's column-name hook calls it. */
bool cdc__schema_cached(const cdc__schema *s, const char *db, const char *table, size_t ncols,
                        const char *const **names);

/* Whether a statement is DDL: it starts with ALTER, CREATE, DROP, RENAME,
 * TRUNCATE, GRANT or REVOKE (ROLLBACK, SAVEPOINT, XA and statement DML
 * are not). */
bool cdc__schema_is_ddl(const char *sql, size_t len);

/* Drops the cache entries a DDL statement may change. default_db is the
 * statement's default database. Statements it cannot read drop all. */
void cdc__schema_ddl(cdc__schema *s, const char *default_db, size_t dblen, const char *sql, size_t len);
/* Drops everything. */
void cdc__schema_clear(cdc__schema *s);

/* The tables a DDL statement names (ALTER/CREATE/DROP/RENAME/TRUNCATE
 * TABLE), each as db (default_db when unqualified) and table, unquoted,
 * written as "db\0table\0" pairs into out. Returns the count, or -1 when
 * the statement is DDL this parser cannot read, 0 when it is not table
 * DDL. For tests too. */
int cdc__schema_ddl_tables(const char *default_db, size_t dblen, const char *sql, size_t len, cdc__buf *out);

/* The database a CREATE/DROP/ALTER DATABASE (or SCHEMA) statement names,
 * unquoted and NUL-terminated into out; false for other statements. */
bool cdc__schema_ddl_database(const char *sql, size_t len, cdc__buf *out);

#endif /* CDC_SCHEMA_H */
