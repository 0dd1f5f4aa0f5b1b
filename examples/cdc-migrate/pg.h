/* The PostgreSQL target of cdc-migrate (libpq): target.h's operations. */
#ifndef CDC_MIGRATE_PG_H
#define CDC_MIGRATE_PG_H

#include "target.h"

extern const target_ops pg_target;
char *pg_ident(const char *name); /* "name" with " doubled; caller frees */

#endif
