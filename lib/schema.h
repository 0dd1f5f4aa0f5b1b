/*
 * schema.h: what a stream needs to know of a table beyond its TABLE_MAP:
 * the column names when the map carries none (binlog_row_metadata=
 * MINIMAL), and on MariaDB which LONGTEXT columns are declared JSON (the
 * binlog logs them as plain LONGTEXT). Both come from information_schema
 * over a connection of their own, in one query per table, are cached per
 * table, and are dropped when a DDL statement names the table. The cache
 * reflects the table as it is when first asked, not as it was when the
 * event was written: see docs/stream.md for what that cannot guarantee.
 * Internal; not installed.
 */
#ifndef CDC_SCHEMA_H
#define CDC_SCHEMA_H

#include "conn.h"

typedef struct cdc__schema_entry {
    char *db, *table;
    char **names;
    uint8_t *json;      /* per column: 1 = a MariaDB JSON column; NULL when not read (MySQL) */
    size_t ncols;       /* 0: the table is not in information_schema (dropped, or no privilege) */
} cdc__schema_entry;

/*
 * MariaDB's JSON columns, in a query over information_schema.COLUMNS
 * aliased c: CDC__SCHEMA_MARIADB_JSON_JOIN after its FROM (constraint names
 * are unique per table, so the join adds no rows) makes
 * CDC__SCHEMA_MARIADB_JSON_SQL 1 for a column MariaDB's JSON declaration
 * makes: a LONGTEXT in a UTF-8 character set with a CHECK named after it
 * whose clause is exactly json_valid(`col`) (as the server writes it;
 * json_valid("col") under sql_mode ANSI_QUOTES), and 0 (or NULL)
 * otherwise. A LONGTEXT with that CHECK written by hand reads the same, as
 * it does to MariaDB (its protocol calls both format=json); docs/values.md.
 * MariaDB only (MySQL's CHECK_CONSTRAINTS has no TABLE_NAME). A join, not
 * a subquery per column: MariaDB fills an information_schema table once
 * per query then, not once per row. The snapshot's column query uses it
 * too.
 */
/* Whether the server behind c writes JSON columns that way: MariaDB
 * 10.4.3 and later (before, JSON was a bare LONGTEXT alias, and
 * CHECK_CONSTRAINTS may be missing). */
bool cdc__schema_json_checks(const cdc__conn *c);
#define CDC__SCHEMA_MARIADB_JSON_JOIN \
    " LEFT JOIN information_schema.CHECK_CONSTRAINTS k ON k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA" \
    " AND k.TABLE_NAME = c.TABLE_NAME AND CAST(k.CONSTRAINT_NAME AS BINARY) = CAST(c.COLUMN_NAME AS BINARY)"
#define CDC__SCHEMA_MARIADB_JSON_SQL \
    "(c.DATA_TYPE = 'longtext' AND c.CHARACTER_SET_NAME IN ('utf8mb4','utf8mb3','utf8')" \
    " AND CAST(k.CHECK_CLAUSE AS BINARY) IN (" \
    "CAST(CONCAT('json_valid(`', REPLACE(c.COLUMN_NAME, '`', '``'), '`)') AS BINARY)," \
    "CAST(CONCAT('json_valid(\"', REPLACE(c.COLUMN_NAME, '\"', '\"\"'), '\")') AS BINARY)))"

typedef struct cdc__schema {
    const cdc_allocator *alloc;
    cdc__schema_entry *e;
    size_t n, cap;
    uint64_t fetches;   /* queries run, for tests and logs */
} cdc__schema;

void cdc__schema_init(cdc__schema *s, const cdc_allocator *a);
void cdc__schema_free(cdc__schema *s);

/*
 * The entry of db.table, fetched through c when not cached (with the JSON
 * columns when `mariadb`). An entry of 0 columns says information_schema
 * does not show the table. Valid until the entry is invalidated or the
 * cache freed. CDC_ERR_NOMEM or the query's error.
 */
int cdc__schema_fetch(cdc__schema *s, cdc__conn *c, const char *db, const char *table, bool mariadb,
                      const cdc__schema_entry **out, cdc__err *err);
/* The cached entry of db.table, or NULL. No I/O. */
const cdc__schema_entry *cdc__schema_find(const cdc__schema *s, const char *db, const char *table);

/*
 * The column names of db.table, fetched through c when not cached (as
 * cdc__schema_fetch). CDC_ERR_SCHEMA when the table does not exist or has
 * a column count other than `ncols` (the row event's), naming both
 * counts. Names stay valid until the entry is invalidated or the cache
 * freed.
 */
int cdc__schema_names(cdc__schema *s, cdc__conn *c, const char *db, const char *table, bool mariadb, size_t ncols,
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
 * TABLE, CREATE/DROP INDEX ... ON t, CREATE TRIGGER ... ON t), each as db
 * (default_db when unqualified) and table, unquoted,
 * written as "db\0table\0" pairs into out. Returns the count, or -1 when
 * the statement is DDL this parser cannot read, 0 when it is not table
 * DDL. For tests too. */
int cdc__schema_ddl_tables(const char *default_db, size_t dblen, const char *sql, size_t len, cdc__buf *out);

/* The database a CREATE/DROP/ALTER DATABASE (or SCHEMA) statement names,
 * unquoted and NUL-terminated into out; false for other statements. */
bool cdc__schema_ddl_database(const char *sql, size_t len, cdc__buf *out);

#endif /* CDC_SCHEMA_H */
