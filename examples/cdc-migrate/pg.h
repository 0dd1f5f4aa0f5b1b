/* The PostgreSQL target of cdc-migrate (libpq). */
#ifndef CDC_MIGRATE_PG_H
#define CDC_MIGRATE_PG_H

#include <libpq-fe.h>

#include "migrate.h"

PGconn *pg_connect(const mopts *o, char *err, size_t errlen);
/* Runs sql (several statements allowed). 0, or -1 with the message. */
int pg_exec(PGconn *c, const char *sql, char *err, size_t errlen);
/* First column of the first row as a new string ("" when NULL or no row;
 * *found says which); NULL on error. */
char *pg_value1(PGconn *c, const char *sql, char *err, size_t errlen, int *found);
/* 1 when the connection is gone (retry), 0 when the error was the data's. */
int pg_lost(PGconn *c);
void pg_trim(char *s);
/* The state and dead-letter tables, the target schema and tables with
 * their primary keys (CREATE ... IF NOT EXISTS: existing tables are used). */
int pg_setup(PGconn *c, const mopts *o, mschema *s, char *err, size_t errlen);
/* The secondary indexes, after the copy. */
int pg_indexes(PGconn *c, const mopts *o, mschema *s, char *err, size_t errlen);
/* Sends the table's buffered COPY text. */
int pg_copy(PGconn *c, mtable *t, char *err, size_t errlen);

#endif
