/*
 * Parallel apply: N worker threads, each with its own target connection,
 * and a two-phase barrier per batch (par.h says why a crash between the
 * commits loses nothing and repeats nothing).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "par.h"

typedef struct worker {
    par *p;
    int id;
    target *c;
    pthread_t th;
    int started;
    mbuf build; /* the part being built by the coordinator */
    mbuf run;   /* the dispatched part */
    char *tag;  /* this worker's name for the target's begin (a marker row of its own) */
    uint64_t seq_done;
} worker;

struct par {
    const mopts *o;
    int n;
    worker *w;
    char *qname; /* the migration's name as a SQL literal */
    char *wtbl;  /* the quoted worker table */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t seq;   /* batches dispatched */
    int active;     /* workers with a part in the dispatched batch */
    int executed, finished, failed, retriable, quit, inflight;
    char err[2200];
    char last_file[512];
    uint64_t last_off;
    double commit_ms; /* the slowest COMMIT of the last batch */
    /* Test hook ($CDC_MIGRATE_TEST_EXIT_AFTER_COMMIT=K): in the K-th or a
     * later batch with two or more parts, one worker commits and the
     * process ends with _exit(9) before any other worker commits: the
     * crash between commits, made certain (tests/migrate/migrate_par.py). */
    uint64_t hook;
    int hook_taken;
};

char *par_aux_table(const target *t, const char *name)
{
    const char *st = t->state_tbl, *dot = strrchr(st, '.');
    mbuf b = {0};
    if (!dot) {
        mbuf_puts(&b, name);
    } else {
        mbuf_add(&b, st, (size_t)(dot - st) + 1);
        char q = dot[1] == '`' || dot[1] == '"' ? dot[1] : 0;
        if (q)
            mbuf_addc(&b, q);
        mbuf_puts(&b, name);
        if (q)
            mbuf_addc(&b, q);
    }
    mbuf_str(&b);
    return b.p;
}

/* Portable SQL (PostgreSQL, MySQL, MariaDB): the worker rows live beside
 * the state row. */
char *par_setup_sql(const target *t)
{
    char *w = par_aux_table(t, "worker");
    mbuf b = {0};
    mbuf_printf(&b, "CREATE TABLE IF NOT EXISTS %s ("
                    " name varchar(200) NOT NULL, worker integer NOT NULL, nworkers integer NOT NULL,"
                    " checkpoint text NOT NULL, file varchar(255) NOT NULL, pos bigint NOT NULL,"
                    " PRIMARY KEY (name, worker))", w);
    free(w);
    mbuf_str(&b);
    return b.p;
}

int par_poscmp(const char *fa, uint64_t oa, const char *fb, uint64_t ob)
{
    int c = strcmp(fa, fb);
    if (c)
        return c;
    return oa < ob ? -1 : oa > ob;
}

int par_route(const char *table, const char *key, size_t keylen, int n)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *s = table; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (size_t i = 0; i < keylen; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
    h ^= h >> 29;
    return (int)(h % (uint64_t)n);
}

static void *worker_main(void *ud)
{
    worker *w = ud;
    par *p = w->p;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->quit && w->seq_done == p->seq)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->quit) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        uint64_t seq = p->seq;
        int mine = w->run.len > 0;
        pthread_mutex_unlock(&p->mu);
        if (!mine) {
            pthread_mutex_lock(&p->mu);
            w->seq_done = seq;
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        /* Phase 1: the part and the worker row, in an open transaction. */
        char e[2000];
        int rc = w->c->ops->exec(w->c, mbuf_str(&w->run), e, sizeof e) < 0;
        int lost = rc ? w->c->ops->lost(w->c) : 0;
        pthread_mutex_lock(&p->mu);
        if (rc && !p->failed) {
            p->failed = 1;
            p->retriable = lost;
            snprintf(p->err, sizeof p->err, "worker %d: %s", w->id, e);
        }
        p->executed++;
        pthread_cond_broadcast(&p->cv);
        while (!p->failed && p->executed < p->active)
            pthread_cond_wait(&p->cv, &p->mu);
        int failed = p->failed;
        pthread_mutex_unlock(&p->mu);
        /* Phase 2: every part ran, so every worker commits; or none. */
        char e2[2000];
        int crc = 0, clost = 0;
        if (failed) {
            w->c->ops->exec(w->c, "ROLLBACK", e2, sizeof e2);
        } else {
            if (p->hook && seq >= p->hook && p->active >= 2) {
                pthread_mutex_lock(&p->mu);
                int first = !p->hook_taken;
                p->hook_taken = 1;
                pthread_mutex_unlock(&p->mu);
                if (!first)
                    for (;;)
                        sleep(1);
                w->c->ops->exec(w->c, "COMMIT", e2, sizeof e2);
                fprintf(stderr, "cdc-migrate: test hook: exit after worker %d committed its "
                        "part of batch %llu\n", w->id, (unsigned long long)seq);
                _exit(9);
            }
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            crc = w->c->ops->exec(w->c, "COMMIT", e2, sizeof e2) < 0;
            clock_gettime(CLOCK_MONOTONIC, &t1);
            double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                        (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
            pthread_mutex_lock(&p->mu);
            if (ms > p->commit_ms)
                p->commit_ms = ms;
            pthread_mutex_unlock(&p->mu);
            clost = crc ? w->c->ops->lost(w->c) : 0;
        }
        pthread_mutex_lock(&p->mu);
        if (crc && !p->failed) {
            p->failed = 1;
            p->retriable = clost;
            snprintf(p->err, sizeof p->err, "worker %d: commit: %s", w->id, e2);
        }
        w->run.len = 0;
        w->seq_done = seq;
        p->finished++;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

par *par_open(const mopts *o, const char *qname, int n, char *err, size_t errlen)
{
    par *p = xcalloc(1, sizeof *p);
    p->qname = xstrdup(qname);
    p->o = o;
    p->n = n;
    const char *hook = getenv("CDC_MIGRATE_TEST_EXIT_AFTER_COMMIT");
    p->hook = hook ? strtoull(hook, NULL, 10) : 0;
    p->w = xcalloc((size_t)n, sizeof *p->w);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (int i = 0; i < n; i++) {
        worker *w = &p->w[i];
        w->p = p;
        w->id = i;
        w->c = target_connect(o, err, errlen);
        if (!w->c) {
            par_close(p);
            return NULL;
        }
        if (pthread_create(&w->th, NULL, worker_main, w)) {
            snprintf(err, errlen, "cannot start a worker thread");
            par_close(p);
            return NULL;
        }
        w->started = 1;
    }
    p->wtbl = par_aux_table(p->w[0].c, "worker");
    /* Each worker's row exists before any batch: a batch then only
     * UPDATEs its own row (by primary key), so no two workers' open
     * transactions lock the same row or gap. Each worker also opens its
     * transactions under a name of its own: a MySQL/MariaDB target writes a
     * marker row per name (loop prevention), and one row shared by all
     * workers would make them wait for each other inside the barrier. */
    for (int i = 0; i < n; i++) {
        worker *w = &p->w[i];
        char raw[300];
        snprintf(raw, sizeof raw, "%s/worker%d", o->name, i);
        mbuf t = {0};
        w->c->ops->quote(&t, raw, strlen(raw));
        w->tag = xstrdup(mbuf_str(&t));
        t.len = 0;
        mbuf_printf(&t, "INSERT INTO %s (name, worker, nworkers, checkpoint, file, pos) SELECT "
                        "%s, %d, %d, '', '', 0 FROM (SELECT 1 AS one) AS x WHERE NOT EXISTS "
                        "(SELECT 1 FROM %s WHERE name = %s AND worker = %d)",
                    p->wtbl, qname, i, n, p->wtbl, qname, i);
        long rc = w->c->ops->exec(w->c, mbuf_str(&t), err, errlen);
        mbuf_free(&t);
        if (rc < 0) {
            par_close(p);
            return NULL;
        }
    }
    return p;
}

void par_close(par *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    /* a dispatched batch ends first (committed or rolled back whole) */
    while (p->inflight && p->finished < p->active)
        pthread_cond_wait(&p->cv, &p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++) {
        worker *w = &p->w[i];
        if (w->started)
            pthread_join(w->th, NULL);
        target_close(w->c);
        free(w->tag);
        mbuf_free(&w->build);
        mbuf_free(&w->run);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->w);
    free(p->qname);
    free(p->wtbl);
    free(p);
}

int par_workers(const par *p) { return p->n; }

mbuf *par_part(par *p, int w)
{
    mbuf *b = &p->w[w].build;
    if (!b->len) {
        p->w[w].c->ops->begin(p->w[w].c, b, p->w[w].tag); /* tagged as the target wants */
        if (!b->len)
            mbuf_puts(b, "BEGIN;");
    }
    return b;
}

int par_pending(const par *p)
{
    for (int i = 0; i < p->n; i++)
        if (p->w[i].build.len)
            return 1;
    return 0;
}

void par_discard(par *p)
{
    for (int i = 0; i < p->n; i++)
        p->w[i].build.len = 0;
}

int par_inflight(const par *p) { return p->inflight; }

double par_commit_ms(par *p)
{
    pthread_mutex_lock(&p->mu);
    double ms = p->commit_ms;
    pthread_mutex_unlock(&p->mu);
    return ms;
}

void par_dispatch(par *p, const char *ck, const char *file, uint64_t off,
                  const char *last_file, uint64_t last_off)
{
    pthread_mutex_lock(&p->mu);
    int active = 0;
    for (int i = 0; i < p->n; i++) {
        worker *w = &p->w[i];
        if (!w->build.len)
            continue;
        /* The worker row: the end of the batch this part belongs to. */
        mbuf *b = &w->build;
        mbuf_printf(b, "UPDATE %s SET nworkers = %d, checkpoint = ", p->wtbl, p->n);
        w->c->ops->quote(b, ck, strlen(ck));
        mbuf_puts(b, ", file = ");
        w->c->ops->quote(b, file, strlen(file));
        mbuf_printf(b, ", pos = %llu WHERE name = %s AND worker = %d", (unsigned long long)off,
                    p->qname, i);
        mbuf t = w->run;
        w->run = w->build;
        w->build = t;
        w->build.len = 0;
        active++;
    }
    p->active = active;
    p->executed = p->finished = p->failed = p->retriable = 0;
    p->err[0] = 0;
    p->commit_ms = 0;
    snprintf(p->last_file, sizeof p->last_file, "%s", last_file ? last_file : "");
    p->last_off = last_off;
    p->inflight = 1;
    p->seq++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int par_wait(par *p, char *err, size_t errlen, int *retriable, char *last_file, size_t lfcap,
             uint64_t *last_off)
{
    pthread_mutex_lock(&p->mu);
    if (!p->inflight) {
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    while (p->finished < p->active)
        pthread_cond_wait(&p->cv, &p->mu);
    p->inflight = 0;
    int rc = p->failed ? -1 : 0;
    if (rc) {
        snprintf(err, errlen, "%s", p->err);
        *retriable = p->retriable;
        if (last_file)
            snprintf(last_file, lfcap, "%s", p->last_file);
        if (last_off)
            *last_off = p->last_off;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void par_skip_free(par_skip *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->file[i]);
    free(s->file);
    free(s->off);
    memset(s, 0, sizeof *s);
}

typedef struct skip_rows {
    par_skip *s;
    const char *file;
    uint64_t off;
    int ahead;
    int w[256], n[256];
    char *f[256];
    uint64_t o[256];
    size_t k;
} skip_rows;

static int skip_row_cb(char **v, unsigned long *lens, size_t n, void *ud)
{
    skip_rows *x = ud;
    (void)lens;
    if (n < 4 || !v[0] || !v[1] || !v[2] || !v[3] || x->k >= 256)
        return 0;
    uint64_t pos = strtoull(v[3], NULL, 10);
    x->w[x->k] = atoi(v[0]);
    x->n[x->k] = atoi(v[1]);
    x->f[x->k] = xstrdup(v[2]);
    x->o[x->k] = pos;
    if (par_poscmp(v[2], pos, x->file, x->off) > 0)
        x->ahead = x->n[x->k];
    x->k++;
    return 0;
}

int par_skip_load(target *c, const char *qname, const char *file, uint64_t off, par_skip *s,
                  char *err, size_t errlen)
{
    par_skip_free(s);
    mbuf q = {0};
    char *wt = par_aux_table(c, "worker");
    mbuf_printf(&q, "SELECT worker, nworkers, file, pos FROM %s WHERE name = %s", wt, qname);
    skip_rows x = {.s = s, .file = file, .off = off};
    int rc = c->ops->select(c, mbuf_str(&q), skip_row_cb, &x, err, errlen);
    if (!rc && x.ahead > 0) {
        int n = x.ahead;
        s->n = n;
        s->file = xcalloc((size_t)n, sizeof *s->file);
        s->off = xcalloc((size_t)n, sizeof *s->off);
        for (size_t i = 0; i < x.k; i++) {
            if (x.w[i] < 0 || x.w[i] >= n || x.n[i] != n)
                continue;
            s->file[x.w[i]] = xstrdup(x.f[i]);
            s->off[x.w[i]] = x.o[i];
        }
    } else if (!rc) {
        /* every worker's part is behind the checkpoint: the rows say nothing */
        q.len = 0;
        mbuf_printf(&q, "DELETE FROM %s WHERE name = %s", wt, qname);
        rc = c->ops->exec(c, mbuf_str(&q), err, errlen) < 0 ? -1 : 0;
    }
    for (size_t i = 0; i < x.k; i++)
        free(x.f[i]);
    free(wt);
    mbuf_free(&q);
    return rc ? -1 : 0;
}

int par_skip_row(const par_skip *s, const char *table, const char *key, size_t keylen,
                 const char *file, uint64_t off)
{
    if (!s->n)
        return 0;
    int w = par_route(table, key, keylen, s->n);
    return s->file[w] && par_poscmp(file, off, s->file[w], s->off[w]) < 0;
}
