/*
 * The PostgreSQL target: connection, schema creation, the state and
 * dead-letter tables, COPY for the bulk load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

static void quiet(void *ud, const char *msg) { (void)ud, (void)msg; }

PGconn *pg_connect(const mopts *o, char *err, size_t errlen)
{
    PGconn *c = PQconnectdb(o->target_dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "target: %s", PQerrorMessage(c));
        pg_trim(err);
        PQfinish(c);
        return NULL;
    }
    PQsetClientEncoding(c, "UTF8");
    PQsetNoticeProcessor(c, quiet, NULL); /* "already exists, skipping" */
    if (pg_exec(c, "SET TIME ZONE 'UTC'; SET standard_conforming_strings = on; "
                   "SET intervalstyle = 'postgres'; SET synchronous_commit = on",
                err, errlen)) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

void pg_trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = 0;
}

/* Whether the last failed statement failed for want of a working target
 * (connection gone, server shutting down or recovering, out of resources,
 * a serialization failure or deadlock) rather than because of the data. */
static _Thread_local int g_retriable; /* per thread: parallel workers */

static void classify(PGresult *r)
{
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    g_retriable = !st || !strncmp(st, "08", 2) || !strncmp(st, "57P", 3) ||
                  !strncmp(st, "53", 2) || !strcmp(st, "40001") || !strcmp(st, "40P01");
}

int pg_lost(PGconn *c) { return PQstatus(c) != CONNECTION_OK || g_retriable; }

int pg_exec(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(r);
        g_retriable = 0;
        return 0;
    }
    classify(r);
    const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
    if (!m || !*m)
        m = PQerrorMessage(c);
    snprintf(err, errlen, "target: %s", m);
    pg_trim(err);
    PQclear(r);
    return -1;
}

char *pg_value1(PGconn *c, const char *sql, char *err, size_t errlen, int *found)
{
    *found = 0;
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        classify(r);
        snprintf(err, errlen, "target: %s", PQerrorMessage(c));
        pg_trim(err);
        PQclear(r);
        return NULL;
    }
    char *v = NULL;
    if (PQntuples(r) > 0) {
        *found = 1;
        v = xstrdup(PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0));
    } else {
        v = xstrdup("");
    }
    PQclear(r);
    return v;
}

int pg_setup(PGconn *c, const mopts *o, mschema *s, char *err, size_t errlen)
{
    mbuf q = {0};
    mbuf_puts(&q, "CREATE SCHEMA IF NOT EXISTS cdc_migrate;"
                  "CREATE TABLE IF NOT EXISTS cdc_migrate.state ("
                  " name text PRIMARY KEY, phase text NOT NULL, checkpoint text,"
                  " snapshot_point text, txns bigint NOT NULL DEFAULT 0,"
                  " rows bigint NOT NULL DEFAULT 0, dead_letters bigint NOT NULL DEFAULT 0,"
                  " last_commit_ms bigint, control text NOT NULL DEFAULT 'run',"
                  " updated_at timestamptz NOT NULL DEFAULT now());"
                  "CREATE TABLE IF NOT EXISTS cdc_migrate.dead_letter ("
                  " id bigserial PRIMARY KEY, name text NOT NULL, source_table text NOT NULL,"
                  " op text NOT NULL, position text NOT NULL, gtid text, error text NOT NULL,"
                  " row_data text, at timestamptz NOT NULL DEFAULT now());");
    char *qs = pg_ident(o->target_schema ? o->target_schema : o->database);
    mbuf_printf(&q, "CREATE SCHEMA IF NOT EXISTS %s;", qs);
    free(qs);
    for (size_t i = 0; i < s->n; i++) {
        mtable *t = &s->t[i];
        mbuf_printf(&q, "CREATE TABLE IF NOT EXISTS %s (", t->tq);
        for (size_t k = 0; k < t->ncols; k++) {
            char *qc = pg_ident(t->cols[k].name);
            mbuf_printf(&q, "%s%s %s%s", k ? ", " : "", qc, t->cols[k].pgtype,
                        t->cols[k].nullable ? "" : " NOT NULL");
            free(qc);
        }
        mbuf_puts(&q, ", PRIMARY KEY (");
        for (size_t k = 0; k < t->npk; k++) {
            char *qc = pg_ident(t->cols[t->pk[k]].name);
            mbuf_printf(&q, "%s%s", k ? ", " : "", qc);
            free(qc);
        }
        mbuf_puts(&q, "));");
    }
    int rc = pg_exec(c, mbuf_str(&q), err, errlen);
    mbuf_free(&q);
    return rc;
}

int pg_indexes(PGconn *c, const mopts *o, mschema *s, char *err, size_t errlen)
{
    mbuf q = {0};
    char *qs = pg_ident(o->target_schema ? o->target_schema : o->database);
    for (size_t i = 0; i < s->n; i++) {
        mtable *t = &s->t[i];
        for (size_t k = 0; k < t->nidx; k++) {
            mindex *x = &t->idx[k];
            char name[64];
            /* Index names are per schema in PostgreSQL, per table in MySQL. */
            snprintf(name, sizeof name, "%.30s_%.30s", t->name, x->name);
            char *qn = pg_ident(name);
            mbuf_printf(&q, "CREATE %sINDEX IF NOT EXISTS %s ON %s (", x->unique ? "UNIQUE " : "",
                        qn, t->tq);
            free(qn);
            for (size_t j = 0; j < x->ncols; j++) {
                char *qc = pg_ident(t->cols[x->cols[j]].name);
                mbuf_printf(&q, "%s%s", j ? ", " : "", qc);
                free(qc);
            }
            mbuf_puts(&q, ");");
        }
    }
    free(qs);
    int rc = q.len ? pg_exec(c, mbuf_str(&q), err, errlen) : 0;
    mbuf_free(&q);
    return rc;
}

int pg_copy(PGconn *c, mtable *t, char *err, size_t errlen)
{
    if (!t->copybuf.len)
        return 0;
    mbuf q = {0};
    mbuf_printf(&q, "COPY %s FROM STDIN", t->tq);
    PGresult *r = PQexec(c, mbuf_str(&q));
    mbuf_free(&q);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        classify(r);
        snprintf(err, errlen, "target: COPY %s: %s", t->tq, PQerrorMessage(c));
        pg_trim(err);
        PQclear(r);
        return -1;
    }
    PQclear(r);
    if (PQputCopyData(c, t->copybuf.p, (int)t->copybuf.len) != 1 || PQputCopyEnd(c, NULL) != 1) {
        g_retriable = 1;
        snprintf(err, errlen, "target: COPY %s: %s", t->tq, PQerrorMessage(c));
        pg_trim(err);
        return -1;
    }
    int rc = 0;
    while ((r = PQgetResult(c))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            classify(r);
            snprintf(err, errlen, "target: COPY %s: %s", t->tq, PQresultErrorMessage(r));
            pg_trim(err);
            rc = -1;
        }
        PQclear(r);
    }
    t->rows_copied += t->copyrows;
    t->copybuf.len = 0;
    t->copyrows = 0;
    return rc;
}
