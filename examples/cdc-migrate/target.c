/*
 * Choosing the target cdc-migrate writes to, from --target.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"
#ifdef CDC_MIGRATE_PG
#include "pg.h"
#endif
#ifdef CDC_MIGRATE_MY
#include "my.h"
#endif

const target_ops *target_for(const char *dsn, char *err, size_t errlen)
{
    if (!strncmp(dsn, "mysql://", 8) || !strncmp(dsn, "mariadb://", 10)) {
#ifdef CDC_MIGRATE_MY
        return &my_target;
#endif
        snprintf(err, errlen, "--target %.*s: this cdc-migrate was built without the MySQL/"
                 "MariaDB target", (int)(strchr(dsn, ':') - dsn), dsn);
        return NULL;
    }
#ifdef CDC_MIGRATE_PG
    return &pg_target;
#else
    snprintf(err, errlen, "--target: this cdc-migrate was built without the PostgreSQL target "
             "(libpq); a MySQL or MariaDB target is a mysql:// URL");
    return NULL;
#endif
}

target *target_connect(const mopts *o, char *err, size_t errlen)
{
    return o->tops->connect(o, err, errlen);
}

void target_close(target *t)
{
    if (!t)
        return;
    t->ops->close(t);
    free(t->state_tbl);
    free(t->dl_tbl);
    free(t);
}

void target_statement_head(mtable *t, const char *qs, char *(*ident)(const char *name), mbuf *b)
{
    char *qt = ident(t->name);
    b->len = 0;
    mbuf_printf(b, "%s.%s", qs, qt);
    free(qt);
    free(t->tq);
    t->tq = xstrdup(mbuf_str(b));
    b->len = 0;
    mbuf_printf(b, "INSERT INTO %s (", t->tq);
    for (size_t k = 0; k < t->ncols; k++) {
        char *qc = ident(t->cols[k].name);
        mbuf_printf(b, "%s%s", k ? "," : "", qc);
        free(qc);
    }
    mbuf_puts(b, ") VALUES (");
    free(t->ins_head);
    t->ins_head = xstrdup(mbuf_str(b));
    b->len = 0;
}
