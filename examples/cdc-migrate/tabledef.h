/* The migrated tables' source definitions, kept in the target (tabledef.c). */
#ifndef CDC_MIGRATE_TABLEDEF_H
#define CDC_MIGRATE_TABLEDEF_H

#include "target.h"

/* The CREATE TABLE of the definitions' table (portable SQL); caller frees. */
char *tabledef_setup_sql(const target *t);
void tabledef_encode(const mtable *t, mbuf *out);
/* Fills t from an encoded definition (the mapping applied again); -1
 * with a message, t then holding what it read (schema_free frees it). */
int tabledef_decode(const char *p, size_t len, mtable *t, char *err, size_t errlen);
/* Appends the statements that store t's definition (replacing the row
 * of old_name, or of t's own name when NULL). */
void tabledef_sql(target *tg, mbuf *q, const char *qname, const mtable *t, const char *old_name);
/* Appends the statement that forgets table name's definition. */
void tabledef_drop_sql(target *tg, mbuf *q, const char *qname, const char *name);
/* The definitions stored for migration qname; s->n == 0 when none. */
int tabledef_load(target *tg, const char *qname, mschema *s, char *err, size_t errlen);

#endif
