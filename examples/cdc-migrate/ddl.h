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

#endif
