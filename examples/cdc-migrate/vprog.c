/*
 * verify's progress in the target (vprog.h). Three tables beside the
 * migration's state row, in SQL that PostgreSQL, MySQL and MariaDB all
 * take:
 *   verify_run      one row per migration name: the run's id, when it
 *                   started, how often it was resumed, whether it finished;
 *   verify_table    per table: the upper key of the last completed chunk,
 *                   finished or not, chunks/rows/chunks equal by digest;
 *   verify_recheck  the chunks whose rows differed, rechecked (and their
 *                   keys reported) when the run ends.
 * A table's row and the chunks it adds are written in one transaction, so
 * the recorded position never passes a difference that is not recorded.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "par.h"
#include "vprog.h"

static void lit(vprog *p, mbuf *q, const char *s)
{
    if (s)
        p->tg->ops->quote(q, s, strlen(s));
    else
        mbuf_puts(q, "NULL");
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* Runs a "BEGIN; ...; COMMIT" batch; on failure rolls back, so the
 * connection is not left inside a failed (PostgreSQL) or open (MySQL)
 * transaction for the reads that follow. */
static int tx(vprog *p, const char *sql, char *err, size_t errlen)
{
    if (p->tg->ops->exec(p->tg, sql, err, errlen) >= 0)
        return 0;
    char e2[256];
    p->tg->ops->exec(p->tg, "ROLLBACK", e2, sizeof e2); /* the first error is the one to tell */
    return -1;
}

static int create_tables(vprog *p, char *err, size_t errlen)
{
    int pg = !strcmp(p->tg->ops->kind, "postgresql");
    const char *st = p->tg->state_tbl, *dot = strrchr(st, '.');
    mbuf q = {0};
    if (dot)
        mbuf_printf(&q, "%s %.*s%s;", pg ? "CREATE SCHEMA IF NOT EXISTS" :
                    "CREATE DATABASE IF NOT EXISTS", (int)(dot - st), st,
                    pg ? "" : " CHARACTER SET utf8mb4");
    mbuf_printf(&q, "CREATE TABLE IF NOT EXISTS %s (name varchar(191) NOT NULL PRIMARY KEY,"
                " run_id bigint NOT NULL, started_ms bigint NOT NULL, resumes bigint NOT NULL,"
                " finished integer NOT NULL);", p->trun);
    mbuf_printf(&q, "CREATE TABLE IF NOT EXISTS %s (name varchar(191) NOT NULL,"
                " tbl varchar(200) NOT NULL, last_hi varchar(64), finished integer NOT NULL,"
                " chunks bigint NOT NULL, by_digest bigint NOT NULL, nrows bigint NOT NULL,"
                " PRIMARY KEY (name, tbl));", p->ttab);
    mbuf_printf(&q, "CREATE TABLE IF NOT EXISTS %s (name varchar(191) NOT NULL,"
                " tbl varchar(200) NOT NULL, lo varchar(64), hi varchar(64))", p->trck);
    int rc = p->tg->ops->exec(p->tg, mbuf_str(&q), err, errlen) < 0 ? -1 : 0;
    mbuf_free(&q);
    return rc;
}

typedef struct runrow {
    int found;
    long long run_id, started_ms, resumes;
    int finished;
} runrow;

static int run_row(char **v, unsigned long *len, size_t n, void *ud)
{
    runrow *r = ud;
    (void)len;
    if (n < 4)
        return 0;
    r->found = 1;
    r->run_id = v[0] ? atoll(v[0]) : 0;
    r->started_ms = v[1] ? atoll(v[1]) : 0;
    r->resumes = v[2] ? atoll(v[2]) : 0;
    r->finished = v[3] ? atoi(v[3]) : 1;
    return 0;
}

static int table_row(char **v, unsigned long *len, size_t n, void *ud)
{
    vprog *p = ud;
    (void)len;
    if (n < 6 || !v[0])
        return 0;
    vprog_table *t = realloc(p->t, (p->nt + 1) * sizeof *t);
    if (!t)
        abort();
    p->t = t;
    p->t[p->nt++] = (vprog_table){xstrdup(v[0]), dup_or_null(v[1]), v[2] ? atoi(v[2]) : 0,
                                  v[3] ? strtoull(v[3], NULL, 10) : 0,
                                  v[4] ? strtoull(v[4], NULL, 10) : 0,
                                  v[5] ? strtoull(v[5], NULL, 10) : 0};
    return 0;
}

static int recheck_row(char **v, unsigned long *len, size_t n, void *ud)
{
    vprog *p = ud;
    (void)len;
    if (n < 3 || !v[0])
        return 0;
    vprog_chunk *r = realloc(p->r, (p->nr + 1) * sizeof *r);
    if (!r)
        abort();
    p->r = r;
    p->r[p->nr++] = (vprog_chunk){xstrdup(v[0]), dup_or_null(v[1]), dup_or_null(v[2])};
    return 0;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vprog_open(vprog *p, target *tg, const mopts *o, int restart, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->tg = tg;
    p->name = o->name;
    p->trun = par_aux_table(tg, "verify_run");
    p->ttab = par_aux_table(tg, "verify_table");
    p->trck = par_aux_table(tg, "verify_recheck");
    if (create_tables(p, err, errlen))
        return -1;
    mbuf q = {0}, wn = {0};
    mbuf_puts(&wn, " WHERE name = ");
    lit(p, &wn, o->name);
    mbuf_printf(&q, "SELECT run_id, started_ms, resumes, finished FROM %s%s", p->trun,
                mbuf_str(&wn));
    runrow rr = {0};
    int rc = -1;
    if (tg->ops->select(tg, mbuf_str(&q), run_row, &rr, err, errlen) < 0)
        goto out;
    if (rr.found && !rr.finished && !restart) {
        p->resumed = 1;
        p->run_id = rr.run_id;
        p->started_ms = rr.started_ms;
        p->resumes = rr.resumes + 1;
        q.len = 0;
        mbuf_printf(&q, "SELECT tbl, last_hi, finished, chunks, by_digest, nrows FROM %s%s",
                    p->ttab, mbuf_str(&wn));
        if (tg->ops->select(tg, mbuf_str(&q), table_row, p, err, errlen) < 0)
            goto out;
        q.len = 0;
        mbuf_printf(&q, "SELECT tbl, lo, hi FROM %s%s", p->trck, mbuf_str(&wn));
        if (tg->ops->select(tg, mbuf_str(&q), recheck_row, p, err, errlen) < 0)
            goto out;
        q.len = 0;
        mbuf_printf(&q, "UPDATE %s SET resumes = %lld%s", p->trun, p->resumes, mbuf_str(&wn));
    } else {
        p->run_id = rr.found ? rr.run_id + 1 : 1;
        p->started_ms = wall_ms();
        q.len = 0;
        mbuf_printf(&q, "BEGIN; DELETE FROM %s%s; DELETE FROM %s%s; DELETE FROM %s%s; "
                    "INSERT INTO %s (name, run_id, started_ms, resumes, finished) VALUES (",
                    p->ttab, mbuf_str(&wn), p->trck, mbuf_str(&wn), p->trun, mbuf_str(&wn),
                    p->trun);
        lit(p, &q, o->name);
        mbuf_printf(&q, ", %lld, %lld, 0, 0); COMMIT", p->run_id, p->started_ms);
    }
    if (tx(p, mbuf_str(&q), err, errlen))
        goto out;
    rc = 0;
out:
    mbuf_free(&q);
    mbuf_free(&wn);
    return rc;
}

const vprog_table *vprog_find(const vprog *p, const char *tbl)
{
    for (size_t i = 0; i < p->nt; i++)
        if (!strcmp(p->t[i].tbl, tbl))
            return &p->t[i];
    return NULL;
}

int vprog_save(vprog *p, const vprog_table *t, const vprog_chunk *add, size_t n, char *err,
               size_t errlen)
{
    mbuf q = {0};
    mbuf_printf(&q, "BEGIN; DELETE FROM %s WHERE name = ", p->ttab);
    lit(p, &q, p->name);
    mbuf_puts(&q, " AND tbl = ");
    lit(p, &q, t->tbl);
    mbuf_printf(&q, "; INSERT INTO %s (name, tbl, last_hi, finished, chunks, by_digest, nrows) "
                "VALUES (", p->ttab);
    lit(p, &q, p->name);
    mbuf_puts(&q, ", ");
    lit(p, &q, t->tbl);
    mbuf_puts(&q, ", ");
    lit(p, &q, t->last_hi);
    mbuf_printf(&q, ", %d, %llu, %llu, %llu);", t->finished, (unsigned long long)t->chunks,
                (unsigned long long)t->by_digest, (unsigned long long)t->rows);
    if (n) {
        mbuf_printf(&q, " INSERT INTO %s (name, tbl, lo, hi) VALUES ", p->trck);
        for (size_t i = 0; i < n; i++) {
            mbuf_puts(&q, i ? ", (" : "(");
            lit(p, &q, p->name);
            mbuf_puts(&q, ", ");
            lit(p, &q, add[i].tbl);
            mbuf_puts(&q, ", ");
            lit(p, &q, add[i].lo);
            mbuf_puts(&q, ", ");
            lit(p, &q, add[i].hi);
            mbuf_puts(&q, ")");
        }
        mbuf_puts(&q, ";");
    }
    mbuf_puts(&q, " COMMIT");
    int rc = tx(p, mbuf_str(&q), err, errlen);
    mbuf_free(&q);
    return rc;
}

int vprog_finish(vprog *p, char *err, size_t errlen)
{
    mbuf q = {0};
    mbuf_printf(&q, "UPDATE %s SET finished = 1 WHERE name = ", p->trun);
    lit(p, &q, p->name);
    int rc = p->tg->ops->exec(p->tg, mbuf_str(&q), err, errlen) < 0 ? -1 : 0;
    mbuf_free(&q);
    return rc;
}

void vprog_free(vprog *p)
{
    for (size_t i = 0; i < p->nt; i++) {
        free(p->t[i].tbl);
        free(p->t[i].last_hi);
    }
    for (size_t i = 0; i < p->nr; i++) {
        free(p->r[i].tbl);
        free(p->r[i].lo);
        free(p->r[i].hi);
    }
    free(p->t);
    free(p->r);
    free(p->trun);
    free(p->ttab);
    free(p->trck);
    memset(p, 0, sizeof *p);
}
