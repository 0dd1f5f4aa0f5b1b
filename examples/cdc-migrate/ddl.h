/*
 * DDL on migrated tables (docs/migrate.md, "DDL"): the statements the
 * mapping covers become the target's statements (PostgreSQL, MySQL,
 * MariaDB); anything else is refused
 * with the reason, and the run stops naming the statement.
 */
#ifndef CDC_MIGRATE_DDL_H
#define CDC_MIGRATE_DDL_H

#include "target.h"

typedef struct ddl_plan {
    mtable *t;     /* the migrated table the statement changes */
    mschema fresh; /* its definition after the statement (one table) */
    mbuf sql;      /* the target's statements (MySQL/MariaDB: one ALTER or
                    * TRUNCATE, empty when the target has it already) */
} ddl_plan;

/* Plans the target's side of sql (default database db): reads the table's
 * new definition from the source and the target's columns, and checks
 * that the source's definition is the one the statement makes (a later
 * DDL already there is refused: rows between would not fit). On a
 * MySQL/MariaDB target a statement whose result the target's table has
 * already (applied before a crash) gives an empty p->sql. 0, or -1 with
 * why. */
int ddl_plan_make(const mopts *o, target *tg, mschema *s, const char *sql, size_t len,
                  const char *db, size_t dblen, ddl_plan *p, char *why, size_t whylen);
/* After the target committed p->sql: the table's new definition. */
void ddl_plan_commit(ddl_plan *p);
void ddl_plan_free(ddl_plan *p);

/* CREATE TABLE and DROP TABLE (default database db): kind 'C' or 'X' and
 * the tables it names, or kind 0 for other statements. temporary: a
 * TEMPORARY table (not the migration's); select: CREATE ... SELECT
 * (refused: row-based binlogs log it as a plain CREATE plus rows). */
typedef struct ddl_tables {
    int kind, temporary, select, replace; /* replace: CREATE OR REPLACE (MariaDB) */
    size_t n;
    char *db[64], *name[64];
} ddl_tables;
void ddl_tables_parse(const char *sql, size_t len, const char *db, size_t dblen, ddl_tables *out);
void ddl_tables_free(ddl_tables *x);

/* The new table db.name as the copy would make it: its source
 * definition (into fresh, prepared for the target) created on the target
 * with its primary key and (without --no-indexes) its secondary indexes.
 * Idempotent (IF NOT EXISTS, missing indexes only). 0, or -1 with why. */
int ddl_create_table(const mopts *o, target *tg, const char *db, const char *name,
                     mschema *fresh, char *why, size_t whylen);

#endif
