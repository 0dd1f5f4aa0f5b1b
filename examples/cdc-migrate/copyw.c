/*
 * Copy workers: threads with a target connection each (copyw.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copyw.h"

typedef struct cworker {
    struct copyw *c;
    target *tg;
    pthread_t th;
    int started;
    mbuf buf;          /* the rows being loaded */
    const mtable *t;   /* their table */
    const mtable *open; /* the table of the worker's open COPY */
    int busy;
} cworker;

struct copyw {
    int n;
    cworker *w;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int quit, failed, retriable;
    char err[2048];
};

static void *cworker_main(void *ud)
{
    cworker *w = ud;
    copyw *c = w->c;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->quit && !w->busy)
            pthread_cond_wait(&c->cv, &c->mu);
        if (!w->busy)
            break;
        pthread_mutex_unlock(&c->mu);
        char e[2048];
        int rc = w->tg->ops->copy_put(w->tg, w->t, w->buf.p, w->buf.len, e, sizeof e);
        pthread_mutex_lock(&c->mu);
        if (rc && !c->failed) {
            c->failed = 1;
            c->retriable = w->tg->ops->lost(w->tg);
            snprintf(c->err, sizeof c->err, "%s", e);
        }
        w->open = w->t;
        w->buf.len = 0;
        w->busy = 0;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

copyw *copyw_open(const mopts *o, int n, char *err, size_t errlen)
{
    copyw *c = xcalloc(1, sizeof *c);
    c->n = n;
    c->w = xcalloc((size_t)n, sizeof *c->w);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    for (int i = 0; i < n; i++) {
        cworker *w = &c->w[i];
        w->c = c;
        if (!(w->tg = target_connect(o, err, errlen))) {
            copyw_close(c);
            return NULL;
        }
        /* The worker's transaction opens as the target's begin does (on
         * MySQL/MariaDB: the marker row, so a reverse migration's stream
         * drops the copy), under a name of its own: one marker row shared
         * by all workers would make each wait for the one before. */
        char raw[300];
        snprintf(raw, sizeof raw, "%s/copy%d", o->name, i);
        mbuf tag = {0}, q = {0};
        w->tg->ops->quote(&tag, raw, strlen(raw));
        w->tg->ops->begin(w->tg, &q, mbuf_str(&tag));
        long rc = w->tg->ops->exec(w->tg, mbuf_str(&q), err, errlen);
        mbuf_free(&tag);
        mbuf_free(&q);
        if (rc < 0) {
            copyw_close(c);
            return NULL;
        }
        if (pthread_create(&w->th, NULL, cworker_main, w)) {
            snprintf(err, errlen, "cannot start a copy worker thread");
            copyw_close(c);
            return NULL;
        }
        w->started = 1;
    }
    return c;
}

static int failed(copyw *c, char *err, size_t errlen, int *retriable)
{
    snprintf(err, errlen, "%s", c->err);
    *retriable = c->retriable;
    return -1;
}

int copyw_put(copyw *c, const mtable *t, mbuf *b, char *err, size_t errlen, int *retriable)
{
    if (!b->len)
        return 0;
    pthread_mutex_lock(&c->mu);
    cworker *pick = NULL;
    while (!c->failed && !pick) {
        /* an idle worker, one whose COPY is of this table if there is one */
        for (int i = 0; i < c->n; i++)
            if (!c->w[i].busy && (!pick || c->w[i].open == t))
                pick = &c->w[i];
        if (!pick)
            pthread_cond_wait(&c->cv, &c->mu);
    }
    if (c->failed) {
        int rc = failed(c, err, errlen, retriable);
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    mbuf tmp = pick->buf;
    pick->buf = *b;
    *b = tmp;
    b->len = 0;
    pick->t = t;
    pick->busy = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

int copyw_commit(copyw *c, char *err, size_t errlen, int *retriable)
{
    pthread_mutex_lock(&c->mu);
    for (;;) {
        int busy = 0;
        for (int i = 0; i < c->n; i++)
            busy |= c->w[i].busy;
        if (!busy || c->failed)
            break;
        pthread_cond_wait(&c->cv, &c->mu);
    }
    int rc = c->failed ? failed(c, err, errlen, retriable) : 0;
    pthread_mutex_unlock(&c->mu);
    /* The threads are idle: their connections are the caller's now. */
    for (int i = 0; i < c->n && !rc; i++) {
        target *tg = c->w[i].tg;
        if (tg->ops->exec(tg, "COMMIT", err, errlen) < 0) {
            *retriable = tg->ops->lost(tg);
            rc = -1;
        }
    }
    return rc;
}

void copyw_close(copyw *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->quit = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < c->n; i++) {
        if (c->w[i].started)
            pthread_join(c->w[i].th, NULL);
        target_close(c->w[i].tg);
        mbuf_free(&c->w[i].buf);
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c->w);
    free(c);
}
