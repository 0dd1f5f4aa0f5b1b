/* The MySQL / MariaDB target of cdc-migrate (MariaDB Connector/C). */
#ifndef CDC_MIGRATE_MY_H
#define CDC_MIGRATE_MY_H

#include "target.h"

extern const target_ops my_target;
char *my_ident(const char *name); /* `name` with ` doubled; caller frees */

#endif
