/*
 * `cdc-migrate run`: copy the source's tables through libcdc's consistent
 * snapshot, then apply its change stream from exactly the snapshot point,
 * batching source transactions into target transactions that also write
 * the checkpoint. Every failure of the target ends in a rollback and a
 * restart from the checkpoint the target holds, so what the target holds
 * is always a prefix of the source's history: nothing lost, nothing twice.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "copyw.h"
#include "ddl.h"
#include "par.h"
#include "tabledef.h"
#include "run.h"
#include "target.h"

/* The multi-row statement open at the end of one statement buffer (the
 * strict batch, or one worker's part): consecutive upserts of a table
 * become one INSERT ... VALUES (..),(..) with the target's upsert tail,
 * consecutive deletes one DELETE ... WHERE key IN (..). A row is added
 * only while nothing else was written after the statement, and an upsert
 * of a key the statement holds already starts a new statement, so every
 * key's changes keep their order (PostgreSQL refuses one statement that
 * upserts a key twice). */
typedef struct rgroup {
    mbuf *buf;       /* the buffer it ends; NULL: none open */
    size_t start, end; /* its bytes in buf */
    const mtable *t;
    char kind;       /* 'u' upsert, 'd' delete */
    long rows;
    uint64_t *keys;  /* hashes of the keys an upsert statement holds */
    size_t nkeys, cap;
} rgroup;

typedef struct run {
    const mopts *o;
    mschema *s;
    target *tg;
    cdc_stream *st;
    char *qname;        /* the migration name as a SQL literal */
    /* copy */
    int copying;
    double copy_t0;
    copyw *cw;          /* --copy-workers: the connections loading the rows */
    /* apply */
    int in_pg_txn;      /* BEGIN sent */
    int in_src_txn;     /* between a source begin and commit */
    mbuf sql;           /* statements not yet sent */
    mbuf scratch;
    long batch_txns, batch_rows, total_rows_pending;
    double batch_t0;
    char ck[8192];      /* checkpoint of the last complete source transaction */
    char ck_file[512];  /* its binlog file and offset */
    uint64_t ck_off;
    int ck_dirty;       /* ck newer than what the target holds */
    double ck_written;
    int64_t last_ts_ms;
    /* throttle */
    double rate_t0;
    long rate_rows;
    long extra_sleep_us;
    double throttle_logged, replica_checked;
    /* failure */
    int retriable;      /* the callback failed because the target went away */
    int ddl_stop;
    char err[20480];
    /* dead letters: careful mode re-applies each row under a savepoint */
    int careful;        /* 1: row by row; 2: leaving at the next flush */
    /* A thread commits a batch that waits longer than --batch-ms: the
     * stream calls nothing while the source is quiet. */
    pthread_mutex_t mu;
    int streaming, async_fail, quit;
    int connected;      /* the last attempt reached the target */
    uint64_t done_txns, done_rows; /* committed to the target by this attempt */
    double apply_t0, apply_t1;
    double polled;
    char row_file[512]; /* the row being applied */
    uint64_t row_off;
    char until_file[512];
    uint64_t until_off;
    /* parallel apply (par.h): NULL in strict mode */
    par *par;
    par_skip skip;      /* rows an earlier run's workers committed already */
    char par_ck[8192];  /* the dispatched batch: its end, its counts */
    long par_txns, par_rows;
    double par_t0;
    mbuf kb, ka;        /* key texts of the row being routed */
    /* multi-row statements: [0] in sql, [1 + w] in worker w's part */
    rgroup *grp;
    int ngrp;
    mbuf tdel, tups;    /* the row's delete condition and upsert values */
} run;

static volatile sig_atomic_t g_stop, g_pause;
static cdc_stream *volatile g_stream;

static void on_signal(int sig)
{
    if (sig == SIGUSR1) {
        g_pause = 1;
        return;
    }
    if (sig == SIGUSR2) {
        g_pause = 0;
        return;
    }
    g_stop = 1;
    if (g_stream)
        cdc_stream_stop(g_stream);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) && errno == EINTR && !g_stop)
        ;
}

/* A target failure inside a callback: remember whether it is retriable. */
static int fail(run *r)
{
    r->retriable = r->retriable || r->tg->ops->lost(r->tg); /* a worker's loss counts too */
    return -1;
}

/* ---- copy --------------------------------------------------------------- */

/* t's buffered rows to a copy worker. */
static int copy_to_workers(run *r, mtable *t)
{
    uint64_t n = t->copyrows;
    int retr = 0;
    if (copyw_put(r->cw, t, &t->copybuf, r->err, sizeof r->err, &retr)) {
        r->retriable = retr;
        return -1;
    }
    t->rows_copied += n;
    t->copyrows = 0;
    return 0;
}

static int on_snapshot_row(const cdc_change *c, void *ud)
{
    run *r = ud;
    const cdc_table *ct = cdc_change_table(c);
    mtable *t = schema_find(r->s, cdc_table_db(ct), cdc_table_name(ct));
    if (!t)
        return 0;
    if (cdc_table_column_count(ct) != t->ncols) {
        snprintf(r->err, sizeof r->err, "%s.%s: the snapshot row has %zu columns, the schema %zu",
                 t->db, t->name, cdc_table_column_count(ct), t->ncols);
        return -1;
    }
    char e[512];
    if (r->tg->ops->copy_row(r->o, t, c, &r->scratch, e, sizeof e)) {
        snprintf(r->err, sizeof r->err, "copy %s.%s: %s", t->db, t->name, e);
        return -1;
    }
    if (t->copybuf.len >= (1u << 20)) {
        if (r->cw)
            return copy_to_workers(r, t);
        if (r->tg->ops->copy_flush(r->tg, t, r->err, sizeof r->err))
            return fail(r);
    }
    return 0;
}

static int on_progress(const char *db, const char *table, uint64_t done, uint64_t est,
                       size_t tdone, size_t ttotal, void *ud)
{
    run *r = ud;
    double el = now_s() - r->copy_t0;
    uint64_t all = cdc_stream_metric(r->st, CDC_METRIC_SNAPSHOT_ROWS);
    double rate = el > 0 ? (double)all / el : 0;
    double eta = rate > 0 && est > done ? (double)(est - done) / rate : 0;
    fprintf(stderr, "cdc-migrate: copy %s.%s %llu/~%llu rows, %.0f rows/s, table eta %.0fs; "
            "%zu/%zu tables\n", db, table, (unsigned long long)done, (unsigned long long)est,
            rate, eta, tdone, ttotal);
    return 0;
}

static void write_state(run *r, mbuf *q, const char *phase, const char *ck, const char *snap)
{
    r->tg->ops->state(r->tg, q, r->qname, phase, ck, snap, r->batch_txns, r->total_rows_pending,
                      r->last_ts_ms);
}

static int on_snapshot_done_locked(const cdc_position *pos, void *ud)
{
    run *r = ud;
    if (r->cw) {
        /* the workers commit every row first; the state row below makes
         * the copy count */
        int retr = 0;
        for (size_t i = 0; i < r->s->n; i++)
            if (copy_to_workers(r, &r->s->t[i]))
                return -1;
        if (copyw_commit(r->cw, r->err, sizeof r->err, &retr)) {
            r->retriable = retr;
            return -1;
        }
        copyw_close(r->cw);
        r->cw = NULL;
    }
    for (size_t i = 0; i < r->s->n; i++)
        if (r->tg->ops->copy_flush(r->tg, &r->s->t[i], r->err, sizeof r->err))
            return fail(r);
    if (r->o->indexes && r->tg->ops->indexes(r->tg, r->o, r->s, r->err, sizeof r->err))
        return fail(r);
    char ck[8192];
    size_t need;
    if (cdc_position_format(pos, ck, sizeof ck, &need)) {
        snprintf(r->err, sizeof r->err, "snapshot point too long");
        return -1;
    }
    mbuf q = {0};
    for (size_t i = 0; i < r->s->n; i++)
        tabledef_sql(r->tg, &q, r->qname, &r->s->t[i], NULL);
    write_state(r, &q, "streaming", ck, ck);
    mbuf_puts(&q, "COMMIT");
    long rc = r->tg->ops->exec(r->tg, mbuf_str(&q), r->err, sizeof r->err);
    mbuf_free(&q);
    if (rc < 0)
        return fail(r);
    r->in_pg_txn = 0;
    r->copying = 0;
    snprintf(r->ck, sizeof r->ck, "%s", ck);
    snprintf(r->ck_file, sizeof r->ck_file, "%s", cdc_position_file(pos));
    r->ck_off = cdc_position_offset(pos);
    if (r->o->workers > 1 && !r->par &&
        !(r->par = par_open(r->o, r->qname, r->o->workers, r->err, sizeof r->err))) {
        r->retriable = 1;
        return -1;
    }
    r->ck_written = now_s();
    uint64_t rows = 0;
    for (size_t i = 0; i < r->s->n; i++)
        rows += r->s->t[i].rows_copied;
    double el = now_s() - r->copy_t0;
    fprintf(stderr, "cdc-migrate: copy done: %llu rows in %.1fs (%.0f rows/s); streaming from %s\n",
            (unsigned long long)rows, el, el > 0 ? (double)rows / el : 0, ck);
    return 0;
}

/* ---- apply -------------------------------------------------------------- */

/* Closes every open multi-row statement: its buffer was sent or emptied. */
static void groups_reset(run *r)
{
    for (int i = 0; i < r->ngrp; i++)
        r->grp[i].buf = NULL;
}

static int send_sql(run *r)
{
    groups_reset(r);
    if (!r->sql.len)
        return 0;
    long rc = r->tg->ops->exec(r->tg, mbuf_str(&r->sql), r->err, sizeof r->err);
    r->sql.len = 0;
    return rc < 0 ? -1 : 0;
}

static int control_poll(run *r);

/* Load control after each batch: a rows/s ceiling, and backing off while
 * the target's commits are slower than --latency-ms. */
/* The replay lag of the target's replicas in ms: what --replica-lag-query
 * returns on the target connection, or by default on PostgreSQL the
 * slowest streaming replica's lag in pg_stat_replication (0 without
 * replicas, or without the pg_monitor role that shows the lag columns).
 * -1 with r->err when the query fails. */
static long replica_lag_ms(run *r)
{
    const char *q = r->o->replica_lag_query;
    if (!q && strcmp(r->tg->ops->kind, "postgresql"))
        return 0;
    if (!q)
        q = "SELECT COALESCE(max(extract(epoch FROM greatest(replay_lag, write_lag, flush_lag)))"
            " * 1000, 0)::bigint FROM pg_stat_replication";
    char e[1024];
    int found;
    char *v = r->tg->ops->value1(r->tg, q, e, sizeof e, &found);
    if (!v) {
        snprintf(r->err, sizeof r->err, "the replica lag query (--replica-lag-query) failed: %s",
                 e);
        return -1;
    }
    long ms = atol(v);
    free(v);
    return ms;
}

static int throttle(run *r, double lat, long rows)
{
    if (r->o->latency_ms > 0) {
        if (lat * 1000 > (double)r->o->latency_ms)
            r->extra_sleep_us = r->extra_sleep_us ? r->extra_sleep_us * 2 : 10000;
        else
            r->extra_sleep_us /= 2;
        if (r->extra_sleep_us > 2000000)
            r->extra_sleep_us = 2000000;
        if (r->extra_sleep_us) {
            if (now_s() - r->throttle_logged > 5) {
                r->throttle_logged = now_s();
                fprintf(stderr, "cdc-migrate: target commit took %.0f ms (--latency-ms %ld): "
                        "waiting %ld ms after each batch\n", lat * 1000, r->o->latency_ms,
                        r->extra_sleep_us / 1000);
            }
            sleep_us(r->extra_sleep_us);
        }
    }
    /* Replicas of the target: hold while the slowest is further behind
     * than --max-replica-lag-ms (checked at most every 200 ms). */
    if (r->o->max_replica_lag_ms > 0 && now_s() - r->replica_checked > 0.2) {
        long lag = 0;
        int held = 0;
        while (!g_stop && (lag = replica_lag_ms(r)) > r->o->max_replica_lag_ms) {
            if (!held++)
                fprintf(stderr, "cdc-migrate: target replica %ld ms behind (--max-replica-lag-ms "
                        "%ld): holding\n", lag, r->o->max_replica_lag_ms);
            sleep_us(200000);
        }
        if (lag < 0)
            return -1;
        if (held)
            fprintf(stderr, "cdc-migrate: target replica %ld ms behind: going on\n", lag);
        r->replica_checked = now_s();
    }
    if (r->o->max_rows_per_sec > 0) {
        r->rate_rows += rows;
        double el = now_s() - r->rate_t0;
        double want = (double)r->rate_rows / (double)r->o->max_rows_per_sec;
        if (want > el)
            sleep_us((long)((want - el) * 1e6));
        if (el > 5) {
            r->rate_t0 = now_s();
            r->rate_rows = 0;
        }
    }
    return 0;
}

/* ---- parallel mode: batches through the workers (par.h) ---------------- */

/* The state row after a batch every worker committed. Its own commit need
 * not be durable: a state row lost in a target crash is behind the worker
 * rows, and the next run skips what they say was committed. */
static int par_state(run *r, const char *ck, long txns, long rows)
{
    mbuf q = {0};
    r->tg->ops->begin(r->tg, &q, r->qname);
    if (!strcmp(r->tg->ops->kind, "postgresql"))
        mbuf_puts(&q, "SET LOCAL synchronous_commit = off;");
    long bt = r->batch_txns, br = r->total_rows_pending;
    r->batch_txns = txns;
    r->total_rows_pending = rows;
    write_state(r, &q, "streaming", ck, NULL);
    r->batch_txns = bt;
    r->total_rows_pending = br;
    mbuf_puts(&q, "COMMIT");
    long rc = r->tg->ops->exec(r->tg, mbuf_str(&q), r->err, sizeof r->err);
    mbuf_free(&q);
    if (rc < 0) {
        r->retriable = r->tg->ops->lost(r->tg);
        return -1;
    }
    return 0;
}

/* Waits for the dispatched batch; then, and only then, its checkpoint. */
static int par_collect(run *r, double *lat)
{
    if (!par_inflight(r->par))
        return 0;
    int retr = 0;
    if (par_wait(r->par, r->err, sizeof r->err, &retr, r->row_file, sizeof r->row_file,
                 &r->row_off)) {
        r->retriable = retr;
        return -1;
    }
    if (par_commit_ms(r->par) / 1000 > *lat)
        *lat = par_commit_ms(r->par) / 1000;
    r->done_txns += (uint64_t)r->par_txns;
    r->done_rows += (uint64_t)r->par_rows;
    r->apply_t1 = now_s();
    if (par_state(r, r->par_ck, r->par_txns, r->par_rows))
        return -1;
    r->par_txns = r->par_rows = 0;
    return 1;
}

/* Hands the batch to the workers; with sync, waits until it is committed. */
static int par_flush(run *r, int sync, double *lat, long *rows)
{
    if (!r->in_pg_txn && !r->ck_dirty && !par_inflight(r->par))
        return 0;
    if (par_collect(r, lat) < 0)
        return -1;
    if (r->in_pg_txn && par_pending(r->par)) {
        par_dispatch(r->par, r->ck, r->ck_file, r->ck_off, r->row_file, r->row_off);
        groups_reset(r);
        snprintf(r->par_ck, sizeof r->par_ck, "%s", r->ck);
        r->par_txns = r->batch_txns;
        r->par_rows = *rows = r->total_rows_pending;
        r->par_t0 = now_s();
        if (sync && par_collect(r, lat) < 0)
            return -1;
    } else if (r->in_pg_txn || r->ck_dirty) {
        /* nothing to apply (heartbeats, rows committed before a crash) */
        if (par_state(r, r->ck, r->batch_txns, r->total_rows_pending))
            return -1;
        r->done_txns += (uint64_t)r->batch_txns;
    }
    r->batch_txns = r->batch_rows = r->total_rows_pending = 0;
    r->in_pg_txn = 0;
    r->ck_dirty = 0;
    r->ck_written = now_s();
    r->batch_t0 = now_s();
    return 1;
}

/* Commits the open batch with the checkpoint in the same transaction
 * (strict mode), or hands it to the workers (parallel mode; with sync,
 * returns once they committed it). */
static int flush_batch_x(run *r, int sync)
{
    double lat = 0;
    long rows = 0;
    if (r->par && !r->careful) {
        int rc = par_flush(r, sync, &lat, &rows);
        if (rc <= 0)
            return rc;
        if (throttle(r, lat, rows))
            return -1;
        return control_poll(r);
    }
    if (!r->in_pg_txn && !r->ck_dirty)
        return 0;
    double t0 = now_s();
    if (!r->in_pg_txn)
        r->tg->ops->begin(r->tg, &r->sql, r->qname);
    write_state(r, &r->sql, "streaming", r->ck, NULL);
    mbuf_puts(&r->sql, "COMMIT");
    if (send_sql(r))
        return -1; /* the caller's failure path rolls back */
    lat = now_s() - t0;
    r->in_pg_txn = 0;
    r->ck_dirty = 0;
    r->ck_written = now_s();
    rows = r->total_rows_pending;
    r->done_txns += (uint64_t)r->batch_txns;
    r->done_rows += (uint64_t)rows;
    r->apply_t1 = now_s();
    r->batch_txns = r->batch_rows = r->total_rows_pending = 0;
    if (r->careful == 2)
        r->careful = 0; /* past the row that failed */
    if (throttle(r, lat, rows))
        return -1;
    return control_poll(r);
}

static int flush_batch(run *r) { return flush_batch_x(r, 0); }
static int flush_batch_sync(run *r) { return flush_batch_x(r, 1); }

static int ensure_txn(run *r)
{
    if (!r->in_pg_txn) {
        r->tg->ops->begin(r->tg, &r->sql, r->qname);
        r->in_pg_txn = 1;
        r->batch_t0 = now_s();
    }
    return 0;
}

/* Appends "col = 'v' AND ..." for the key of image (0 before, 1 after);
 * for a one-column key, with bare, the value's literal alone. */
static int key_where(run *r, mtable *t, const cdc_change *c, int after, int bare, mbuf *out,
                     char *e, size_t el)
{
    for (size_t k = 0; k < t->npk; k++) {
        size_t i = t->pk[k];
        const cdc_value *v = after ? cdc_change_after(c, i) : cdc_change_before(c, i);
        if (!bare || t->npk > 1) {
            char *qc = r->tg->ops->ident(t->cols[i].name);
            mbuf_printf(out, "%s%s = ", k ? " AND " : "", qc);
            free(qc);
        }
        vres vr = r->tg->ops->literal(r->o, &t->cols[i], v, out, &r->scratch, e, el);
        if (vr != V_OK) {
            if (vr == V_NULL)
                snprintf(e, el, "key column %s is NULL", t->cols[i].name);
            return -1;
        }
    }
    return 0;
}

/* The after image's values, "v1,v2,...", as the upsert's VALUES want them. */
static int upsert_values(run *r, mtable *t, const cdc_change *c, mbuf *out, char *e, size_t el)
{
    for (size_t i = 0; i < t->ncols; i++) {
        if (i)
            mbuf_addc(out, ',');
        vres vr = r->tg->ops->literal(r->o, &t->cols[i], cdc_change_after(c, i), out,
                                      &r->scratch, e, el);
        if (vr == V_ERR)
            return -1;
    }
    return 0;
}

/* Whether rows of t may share a statement: not in careful mode (one row
 * per savepoint), and not when a key column is FLOAT or DOUBLE, whose
 * text does not tell equal values apart (0 and -0). */
static int groupable(const run *r, const mtable *t)
{
    if (r->o->statement_rows <= 1 || r->careful)
        return 0;
    for (size_t k = 0; k < t->npk; k++)
        if (t->cols[t->pk[k]].cv == CV_FLOAT || t->cols[t->pk[k]].cv == CV_DOUBLE)
            return 0;
    return 1;
}

/* A statement's bytes stop growing here (a MySQL packet, PostgreSQL's
 * parse of one statement); the strict batch is sent at the same size. */
#define GROUP_BYTES (256u << 10)

static rgroup *group_for(run *r, int parallel, int w)
{
    int need = parallel ? 1 + par_workers(r->par) : 1;
    if (r->ngrp < need) {
        r->grp = realloc(r->grp, (size_t)need * sizeof *r->grp);
        if (!r->grp)
            abort();
        memset(r->grp + r->ngrp, 0, (size_t)(need - r->ngrp) * sizeof *r->grp);
        r->ngrp = need;
    }
    return &r->grp[parallel ? 1 + w : 0];
}

static int group_open(const run *r, const rgroup *g, const mbuf *out, const mtable *t, char kind)
{
    return g->buf == out && g->end == out->len && g->t == t && g->kind == kind &&
           g->rows < r->o->statement_rows && g->end - g->start < GROUP_BYTES;
}

static void group_start(rgroup *g, mbuf *out, size_t start, const mtable *t, char kind)
{
    g->buf = out;
    g->start = start;
    g->t = t;
    g->kind = kind;
    g->rows = 0;
    g->nkeys = 0;
}

/* DELETE FROM t WHERE k IN (v1,v2,...); or, for a key of several
 * columns, WHERE (a = 1 AND b = 2) OR (...); cond: the row's part. */
static void emit_delete(run *r, rgroup *g, mbuf *out, mtable *t, const mbuf *cond)
{
    int one = t->npk == 1;
    if (groupable(r, t) && group_open(r, g, out, t, 'd')) {
        out->len -= one ? 2 : 1; /* ");" or ";" */
        mbuf_puts(out, one ? "," : " OR (");
    } else {
        size_t start = out->len;
        mbuf_printf(out, "DELETE FROM %s WHERE ", t->tq);
        if (one) {
            char *qc = r->tg->ops->ident(t->cols[t->pk[0]].name);
            mbuf_printf(out, "%s IN (", qc);
            free(qc);
        } else {
            mbuf_addc(out, '(');
        }
        group_start(g, out, start, t, 'd');
    }
    mbuf_add(out, cond->p, cond->len);
    mbuf_puts(out, ");");
    g->rows++;
    g->end = out->len;
}

static uint64_t key_hash(const mbuf *k)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < k->len; i++)
        h = (h ^ (unsigned char)k->p[i]) * 1099511628211ull;
    return h;
}

/* INSERT INTO t (...) VALUES (...),(...) and the target's upsert tail. */
static void emit_upsert(run *r, rgroup *g, mbuf *out, mtable *t, const mbuf *vals, uint64_t h)
{
    int add = groupable(r, t) && group_open(r, g, out, t, 'u');
    for (size_t i = 0; add && i < g->nkeys; i++)
        add = g->keys[i] != h; /* a key twice: a new statement after this one */
    if (add) {
        out->len -= strlen(t->ins_tail) + 1;
        mbuf_puts(out, "),(");
    } else {
        group_start(g, out, out->len, t, 'u');
        mbuf_puts(out, t->ins_head);
    }
    mbuf_add(out, vals->p, vals->len);
    mbuf_puts(out, t->ins_tail);
    mbuf_addc(out, ';');
    if (g->nkeys == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 64;
        g->keys = realloc(g->keys, g->cap * sizeof *g->keys);
        if (!g->keys)
            abort();
    }
    g->keys[g->nkeys++] = h;
    g->rows++;
    g->end = out->len;
}

/* The key of image (0 before, 1 after) as text, each value followed by
 * \x1f: what routes a row to a worker and what compares keys. */
static int key_text(run *r, mtable *t, const cdc_change *c, int after, mbuf *out, char *e,
                    size_t el)
{
    out->len = 0;
    for (size_t k = 0; k < t->npk; k++) {
        size_t i = t->pk[k];
        const cdc_value *v = after ? cdc_change_after(c, i) : cdc_change_before(c, i);
        vres vr = value_text(r->o, &t->cols[i], v, out, e, el);
        if (vr != V_OK) {
            if (vr == V_NULL)
                snprintf(e, el, "key column %s is NULL", t->cols[i].name);
            return -1;
        }
        mbuf_addc(out, '\x1f');
    }
    return 0;
}

/* Tables with a unique secondary index go to one worker as a whole: two
 * rows with different primary keys can meet in such an index, so only
 * the source's order of all the table's rows keeps it satisfied. */
static int routed_by_table(const mtable *t)
{
    for (size_t i = 0; i < t->nidx; i++)
        if (t->idx[i].unique)
            return 1;
    return 0;
}

/* Which statements a row change needs: a delete of the old key (deletes,
 * primary-key changes), an upsert of the new one (inserts, updates); each
 * left out when an earlier run's worker committed it already (par_skip);
 * and the worker each goes to. */
static int row_plan(run *r, mtable *t, const cdc_change *c, int *del, int *ups, int *wd, int *wu,
                    char *e, size_t el)
{
    char op = cdc_change_op(c);
    *del = op == 'd';
    *ups = op != 'd';
    *wd = *wu = 0;
    /* strict mode without skip rules or multi-row statements needs the
     * keys of updates only */
    int keys = r->par || r->skip.n || op == 'u' || r->o->statement_rows > 1;
    if (keys && op != 'c' && key_text(r, t, c, 0, &r->kb, e, el))
        return -1;
    if (keys && op != 'd' && key_text(r, t, c, 1, &r->ka, e, el))
        return -1;
    if (op == 'u')
        *del = r->kb.len != r->ka.len || memcmp(r->kb.p, r->ka.p, r->ka.len) != 0;
    int whole = routed_by_table(t);
    const char *kd = whole ? "" : r->kb.p, *ku = whole ? "" : r->ka.p;
    size_t kdl = whole ? 0 : r->kb.len, kul = whole ? 0 : r->ka.len;
    const char *f = cdc_change_file(c);
    uint64_t off = cdc_change_offset(c);
    if (*del && par_skip_row(&r->skip, t->name, kd, kdl, f, off))
        *del = 0;
    if (*ups && par_skip_row(&r->skip, t->name, ku, kul, f, off))
        *ups = 0;
    if (r->par) {
        *wd = par_route(t->name, kd, kdl, par_workers(r->par));
        *wu = par_route(t->name, ku, kul, par_workers(r->par));
    }
    return 0;
}

/* The statements for one row change: the delete to worker wd's part,
 * the upsert to wu's (both to the strict batch unless parallel). Both
 * are built before either is written, so a refused value writes nothing. */
static int row_sql(run *r, mtable *t, const cdc_change *c, int del, int ups, int parallel,
                   int wd, int wu, char *e, size_t el)
{
    r->tdel.len = r->tups.len = 0;
    if (del && key_where(r, t, c, 0, 1, &r->tdel, e, el))
        return -1;
    if (ups && upsert_values(r, t, c, &r->tups, e, el))
        return -1;
    if (del)
        emit_delete(r, group_for(r, parallel, wd), parallel ? par_part(r->par, wd) : &r->sql, t,
                    &r->tdel);
    if (ups)
        emit_upsert(r, group_for(r, parallel, wu), parallel ? par_part(r->par, wu) : &r->sql, t,
                    &r->tups, key_hash(&r->ka));
    return 0;
}

/* The row as text for the dead-letter table. */
static void row_text(run *r, const cdc_change *c, mbuf *out)
{
    const cdc_table *ct = cdc_change_table(c);
    char op = cdc_change_op(c);
    mbuf_addc(out, '{');
    for (size_t i = 0; i < cdc_table_column_count(ct); i++) {
        const cdc_value *v = op == 'd' ? cdc_change_before(c, i) : cdc_change_after(c, i);
        const char *n = cdc_table_column_name(ct, i);
        mbuf_printf(out, "%s\"%s\":", i ? "," : "", n ? n : "?");
        size_t need = 0;
        if (!v || cdc_value_render(v, NULL, 0, &need) != CDC_ERR_TOO_LARGE) {
            mbuf_puts(out, "null");
            continue;
        }
        char *tmp = xmalloc(need);
        if (cdc_value_render(v, tmp, need, &need) == CDC_OK)
            mbuf_puts(out, tmp);
        else
            mbuf_puts(out, "null");
        free(tmp);
    }
    mbuf_addc(out, '}');
    (void)r;
}

static void dead_letter_sql(run *r, mtable *t, const cdc_change *c, const char *error, mbuf *out)
{
    char pos[512];
    snprintf(pos, sizeof pos, "%s:%llu row %llu", cdc_change_file(c),
             (unsigned long long)cdc_change_offset(c), (unsigned long long)cdc_change_row(c));
    mbuf row = {0};
    row_text(r, c, &row);
    char tn[600];
    snprintf(tn, sizeof tn, "%s.%s", t->db, t->name);
    r->tg->ops->dead_letter(r->tg, out, r->qname, tn, cdc_change_op(c), pos, cdc_change_gtid(c),
                            error, &row);
    mbuf_free(&row);
}

static int on_change_locked(const cdc_change *c, void *ud)
{
    run *r = ud;
    const cdc_table *ct = cdc_change_table(c);
    mtable *t = schema_find(r->s, cdc_table_db(ct), cdc_table_name(ct));
    if (!t)
        return 0;
    if (cdc_table_column_count(ct) != t->ncols) {
        snprintf(r->err, sizeof r->err, "%s.%s at %s:%llu: the row event has %zu columns, the "
                 "migrated table %zu (a DDL statement the migration did not see?)", t->db,
                 t->name, cdc_change_file(c), (unsigned long long)cdc_change_offset(c),
                 cdc_table_column_count(ct), t->ncols);
        return -1;
    }
    int parallel = r->par && !r->careful;
    if (!parallel)
        ensure_txn(r);
    else if (!r->in_pg_txn) {
        r->in_pg_txn = 1;
        r->batch_t0 = now_s();
    }
    if (!r->apply_t0) {
        r->apply_t0 = r->rate_t0 = now_s(); /* the ceiling counts from the first row */
        r->rate_rows = 0;
    }
    snprintf(r->row_file, sizeof r->row_file, "%s", cdc_change_file(c));
    r->row_off = cdc_change_offset(c);
    char e[1024];
    size_t mark = r->sql.len;
    int del, ups, wd, wu;
    int bad = row_plan(r, t, c, &del, &ups, &wd, &wu, e, sizeof e);
    if (!bad && (del || ups))
        bad = row_sql(r, t, c, del, ups, parallel, wd, wu, e, sizeof e);
    if (bad) {
        if (!r->o->dead_letter) {
            snprintf(r->err, sizeof r->err, "%s.%s at %s:%llu: %s (--dead-letter keeps going)",
                     t->db, t->name, cdc_change_file(c), (unsigned long long)cdc_change_offset(c),
                     e);
            return -1;
        }
        dead_letter_sql(r, t, c, e, parallel ? par_part(r->par, 0) : &r->sql);
    } else if (r->careful && r->sql.len > mark) {
        /* Each row under a savepoint: a refused row goes to the dead letters. */
        mbuf one = {0};
        mbuf_add(&one, r->sql.p + mark, r->sql.len - mark);
        r->sql.len = mark;
        if (send_sql(r))
            return fail(r);
        mbuf q = {0};
        mbuf_puts(&q, "SAVEPOINT r;");
        mbuf_add(&q, one.p, one.len);
        mbuf_puts(&q, "RELEASE SAVEPOINT r;");
        if (r->tg->ops->exec(r->tg, mbuf_str(&q), e, sizeof e) < 0) {
            if (r->tg->ops->lost(r->tg)) {
                mbuf_free(&q);
                mbuf_free(&one);
                snprintf(r->err, sizeof r->err, "%s", e);
                return fail(r);
            }
            q.len = 0;
            mbuf_puts(&q, "ROLLBACK TO SAVEPOINT r;");
            dead_letter_sql(r, t, c, e, &q);
            if (r->tg->ops->exec(r->tg, mbuf_str(&q), r->err, sizeof r->err) < 0) {
                mbuf_free(&q);
                mbuf_free(&one);
                return fail(r);
            }
        }
        mbuf_free(&q);
        mbuf_free(&one);
    }
    r->batch_rows++;
    r->total_rows_pending++;
    if (!parallel && r->sql.len >= (256u << 10) && send_sql(r))
        return fail(r);
    return 0;
}

static int on_begin_locked(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    run *r = ud;
    (void)gtid, (void)sid, (void)ts, (void)pos;
    if (g_pause && !r->copying) {
        /* Pause before any row of this transaction: commit what came before. */
        if (flush_batch_sync(r))
            return fail(r);
        r->in_src_txn = 1;
        return CDC_ERR_PAUSED;
    }
    r->in_src_txn = 1;
    return 0;
}

static int on_commit_locked(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    run *r = ud;
    (void)gtid, (void)sid;
    size_t need;
    if (cdc_position_format(pos, r->ck, sizeof r->ck, &need)) {
        snprintf(r->err, sizeof r->err, "checkpoint too long");
        return -1;
    }
    snprintf(r->ck_file, sizeof r->ck_file, "%s", cdc_position_file(pos));
    r->ck_off = cdc_position_offset(pos);
    r->in_src_txn = 0;
    if (!r->ck_dirty && !r->in_pg_txn)
        r->batch_t0 = now_s();
    r->ck_dirty = 1;
    r->last_ts_ms = ts;
    r->batch_txns++;
    if (r->careful == 1) {
        int c = strcmp(cdc_position_file(pos), r->until_file);
        if (c > 0 || (c == 0 && cdc_position_offset(pos) > r->until_off))
            r->careful = 2;
    }
    if (r->careful == 2 || r->batch_txns >= r->o->batch_txns || r->batch_rows >= r->o->batch_rows ||
        (now_s() - r->batch_t0) * 1000 >= (double)r->o->batch_ms || g_pause) {
        if (g_pause ? flush_batch_sync(r) : flush_batch(r))
            return fail(r);
        if (g_pause)
            return CDC_ERR_PAUSED;
    }
    return 0;
}

/* Heartbeats and filtered transactions move the safe position. */
static int on_checkpoint_locked(const cdc_position *pos, void *ud)
{
    run *r = ud;
    if (r->in_src_txn)
        return 0;
    size_t need;
    if (cdc_position_format(pos, r->ck, sizeof r->ck, &need))
        return 0;
    snprintf(r->ck_file, sizeof r->ck_file, "%s", cdc_position_file(pos));
    r->ck_off = cdc_position_offset(pos);
    r->ck_dirty = 1;
    if (flush_batch(r))
        return fail(r);
    return g_pause ? CDC_ERR_PAUSED : 0;
}

/* Reads one identifier at *p (plain or `quoted`) into out; 0 if none. */
static int ident_at(const char **p, const char *end, mbuf *out)
{
    const char *q = *p;
    out->len = 0;
    if (q < end && *q == '`') {
        for (q++; q < end; q++) {
            if (*q == '`') {
                if (q + 1 < end && q[1] == '`') {
                    mbuf_addc(out, '`');
                    q++;
                    continue;
                }
                *p = q + 1;
                mbuf_str(out);
                return 1;
            }
            mbuf_addc(out, *q);
        }
        return 0;
    }
    while (q < end && (isalnum((unsigned char)*q) || *q == '_' || *q == '$' ||
                       (unsigned char)*q >= 0x80))
        mbuf_addc(out, *q++);
    if (q == *p)
        return 0;
    *p = q;
    mbuf_str(out);
    return 1;
}

/* Whether a DDL statement names a migrated table: `db`.`t` with our
 * database, or t alone with our database as the statement's default. The
 * stream passes some statements of other databases (those it cannot read
 * the names from); names compare case-insensitively, so a doubt stops. */
static int ddl_is_ours(run *r, const cdc_query *q)
{
    cdc_bytes sql = cdc_query_sql(q), db = cdc_query_db(q);
    const char *p = (const char *)sql.ptr, *end = p + sql.len;
    int default_ours = db.len == strlen(r->o->database) &&
                       !strncasecmp((const char *)db.ptr, r->o->database, db.len);
    mbuf a = {0}, b = {0};
    int ours = 0;
    while (p < end && !ours) {
        if (*p == '\'' || *p == '"') { /* skip string literals */
            char c = *p++;
            while (p < end && *p != c)
                p += *p == '\\' ? 2 : 1;
            p++;
            continue;
        }
        if (!ident_at(&p, end, &a)) {
            p++;
            continue;
        }
        if (p < end && *p == '.') {
            const char *save = ++p;
            if (ident_at(&p, end, &b)) {
                if (!strcasecmp(a.p, r->o->database))
                    for (size_t i = 0; i < r->s->n && !ours; i++)
                        ours = !strcasecmp(b.p, r->s->t[i].name);
                continue;
            }
            p = save;
        }
        if (default_ours)
            for (size_t i = 0; i < r->s->n && !ours; i++)
                ours = !strcasecmp(a.p, r->s->t[i].name);
    }
    mbuf_free(&a);
    mbuf_free(&b);
    return ours;
}

/* Whether the migration's table selection takes db.name: the migrated
 * database, and one of --tables (all of the database without it). */
static int table_selected(run *r, const char *db, const char *name)
{
    if (strcmp(db, r->o->database))
        return 0;
    const char *p = r->o->tables;
    if (!p || !*p)
        return 1;
    size_t n = strlen(name);
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !strncasecmp(p, name, n))
            return 1;
        p += l + (e != NULL);
    }
    return 0;
}

static void ddl_refused(run *r, cdc_bytes sql, const char *ck, const char *why)
{
    snprintf(r->err, sizeof r->err, "DDL on a migrated table, not applied: \"%.*s\" ending at %s: "
             "%s. Apply the equivalent change to the target, then run `cdc-migrate skip-ddl "
             "--checkpoint '%s'` and start again (docs/migrate.md, runbook)",
             (int)(sql.len > 1000 ? 1000 : sql.len), (const char *)sql.ptr, ck, why, ck);
    r->ddl_stop = 1;
}

/* The target failed the statements of a DDL (what: "it", or the
 * statements): retried when the connection was lost, else rolled back
 * and the run stops. */
static void ddl_target_failed(run *r, cdc_bytes sql, const char *ck, const char *what,
                              const char *e)
{
    char none[1];
    r->retriable = r->tg->ops->lost(r->tg);
    if (!r->retriable) {
        r->tg->ops->exec(r->tg, "ROLLBACK", none, 0);
        r->ddl_stop = 1;
    }
    snprintf(r->err, sizeof r->err, "DDL \"%.*s\" ending at %s: the target refused %s: %s",
             (int)(sql.len > 1000 ? 1000 : sql.len), (const char *)sql.ptr, ck, what, e);
}

/* CREATE TABLE of a table the selection takes: made on the target as the
 * copy makes it, its rows applied from here on. DROP TABLE of migrated
 * tables: per --on-drop-table. The target's statements go first (they
 * are idempotent: IF [NOT] EXISTS), then the definitions and the
 * checkpoint past the DDL in one target transaction, so a crash between
 * the two repeats only the idempotent part. */
static int on_table_ddl(run *r, const cdc_query *q, const cdc_position *pos, const char *ck,
                        const ddl_tables *dt)
{
    cdc_bytes sql = cdc_query_sql(q);
    size_t mine = 0;
    for (size_t i = 0; i < dt->n; i++)
        mine += dt->kind == 'C' ? table_selected(r, dt->db[i], dt->name[i]) &&
                                      !schema_find(r->s, dt->db[i], dt->name[i])
                                : schema_find(r->s, dt->db[i], dt->name[i]) != NULL;
    if (dt->temporary && dt->kind == 'C')
        return 0; /* a session's own table: never in a row-based binlog's rows */
    if (!mine)
        return 0; /* not the migration's (or CREATE ... IF NOT EXISTS of one it has) */
    if (flush_batch_sync(r))
        return fail(r);
    char why[1200];
    /* MariaDB logs CREATE ... SELECT as a plain CREATE TABLE inside the
     * transaction that writes its rows */
    if (dt->kind == 'C' && (dt->select || dt->replace || r->in_src_txn)) {
        ddl_refused(r, sql, ck, dt->replace ? "CREATE OR REPLACE TABLE: not covered"
                    : "CREATE TABLE ... SELECT (the table's rows in the same transaction): "
                    "not covered: to migrate the new table, copy again (after skip-ddl it "
                    "is not followed)");
        return -1;
    }
    if (dt->kind == 'X' && !r->o->drop_table_apply) {
        ddl_refused(r, sql, ck, "DROP TABLE of a migrated table stops the run "
                    "(--on-drop-table stop, the default): the target's table still holds the "
                    "rows the source dropped. To drop it on the target too, start again with "
                    "--on-drop-table apply instead of skip-ddl");
        return -1;
    }
    int my = r->tg->ops->column_def != NULL;
    mschema fresh = {0};
    mbuf d = {0}, x = {0};
    char e[2048];
    long rc = 0;
    if (dt->kind == 'C') {
        if (ddl_create_table(r->o, r->tg, dt->db[0], dt->name[0], &fresh, why, sizeof why)) {
            ddl_refused(r, sql, ck, why);
            return -1;
        }
    } else {
        for (size_t i = 0; i < dt->n; i++) {
            mtable *t = schema_find(r->s, dt->db[i], dt->name[i]);
            if (t)
                mbuf_printf(&d, "DROP TABLE IF EXISTS %s;", t->tq);
        }
        if (my)
            rc = r->tg->ops->exec(r->tg, mbuf_str(&d), e, sizeof e);
    }
    const char *hook = getenv("CDC_MIGRATE_TEST_EXIT_AFTER_DDL");
    if (rc >= 0 && hook && *hook == '1' && (dt->kind == 'C' || my))
        _exit(9); /* tests: the crash between the target's statement and the checkpoint */
    if (rc >= 0) {
        r->tg->ops->begin(r->tg, &x, r->qname);
        if (dt->kind == 'C') {
            tabledef_sql(r->tg, &x, r->qname, &fresh.t[0], NULL);
        } else {
            if (!my)
                mbuf_add(&x, d.p, d.len);
            for (size_t i = 0; i < dt->n; i++)
                if (schema_find(r->s, dt->db[i], dt->name[i]))
                    tabledef_drop_sql(r->tg, &x, r->qname, dt->name[i]);
        }
        write_state(r, &x, "streaming", ck, NULL);
        mbuf_puts(&x, "COMMIT");
        rc = r->tg->ops->exec(r->tg, mbuf_str(&x), e, sizeof e);
    }
    mbuf_free(&x);
    if (rc < 0) {
        ddl_target_failed(r, sql, ck, "it", e);
        mbuf_free(&d);
        schema_free(&fresh);
        return -1;
    }
    mbuf_free(&d);
    fprintf(stderr, "cdc-migrate: DDL applied at %s: %.*s\n", ck,
            (int)(sql.len > 1000 ? 1000 : sql.len), (const char *)sql.ptr);
    if (dt->kind == 'C') {
        schema_take(r->s, &fresh);
    } else {
        for (size_t i = 0; i < dt->n; i++) {
            mtable *t = schema_find(r->s, dt->db[i], dt->name[i]);
            if (t)
                schema_remove(r->s, (size_t)(t - r->s->t));
        }
    }
    snprintf(r->ck, sizeof r->ck, "%s", ck);
    snprintf(r->ck_file, sizeof r->ck_file, "%s", cdc_position_file(pos));
    r->ck_off = cdc_position_offset(pos);
    r->ck_dirty = 0;
    return 0;
}

static int on_ddl_locked(const cdc_query *q, const cdc_position *pos, void *ud)
{
    run *r = ud;
    cdc_bytes sql = cdc_query_sql(q);
    char ck[8192];
    size_t need;
    if (cdc_position_format(pos, ck, sizeof ck, &need))
        ck[0] = 0;
    ddl_tables dt;
    cdc_bytes qdb = cdc_query_db(q);
    ddl_tables_parse((const char *)sql.ptr, sql.len, (const char *)qdb.ptr, qdb.len, &dt);
    if (dt.kind) {
        int rc = on_table_ddl(r, q, pos, ck, &dt);
        ddl_tables_free(&dt);
        return rc;
    }
    if (!ddl_is_ours(r, q))
        return 0; /* its position is passed by the next commit or checkpoint */
    if (flush_batch_sync(r))
        return fail(r);
    /* Covered by the mapping: the target's statements and the checkpoint
     * past the DDL in one target transaction (PostgreSQL's DDL is
     * transactional), so it is applied exactly once. */
    ddl_plan p;
    char why[1200];
    cdc_bytes db = cdc_query_db(q);
    if (!ddl_plan_make(r->o, r->tg, r->s, (const char *)sql.ptr, sql.len, (const char *)db.ptr,
                       db.len, &p, why, sizeof why)) {
        mbuf x = {0};
        char e[2048];
        long rc = 0;
        int my = r->tg->ops->column_def != NULL;
        if (my && p.sql.len) {
            /* MySQL/MariaDB commit DDL implicitly: the statement first, on
             * its own, then the checkpoint. A crash between the two starts
             * again before the statement, and ddl_plan_make finds it
             * applied (the target's definition is the one it makes). */
            rc = r->tg->ops->exec(r->tg, mbuf_str(&p.sql), e, sizeof e);
            const char *hook = getenv("CDC_MIGRATE_TEST_EXIT_AFTER_DDL");
            if (rc >= 0 && hook && *hook == '1')
                _exit(9); /* tests: the crash between the DDL and its checkpoint */
        }
        if (rc >= 0) {
            r->tg->ops->begin(r->tg, &x, r->qname);
            if (!my)
                mbuf_add(&x, p.sql.p, p.sql.len);
            tabledef_sql(r->tg, &x, r->qname, &p.fresh.t[0], p.t->name);
            write_state(r, &x, "streaming", ck, NULL);
            mbuf_puts(&x, "COMMIT");
            rc = r->tg->ops->exec(r->tg, mbuf_str(&x), e, sizeof e);
        }
        mbuf_free(&x);
        if (rc < 0) {
            ddl_target_failed(r, sql, ck, mbuf_str(&p.sql), e);
            ddl_plan_free(&p);
            return -1;
        }
        fprintf(stderr, "cdc-migrate: DDL applied at %s: %.*s\n", ck,
                (int)(sql.len > 1000 ? 1000 : sql.len), (const char *)sql.ptr);
        ddl_plan_commit(&p);
        ddl_plan_free(&p);
        snprintf(r->ck, sizeof r->ck, "%s", ck);
        snprintf(r->ck_file, sizeof r->ck_file, "%s", cdc_position_file(pos));
        r->ck_off = cdc_position_offset(pos);
        r->ck_dirty = 0;
        return 0;
    }
    ddl_refused(r, sql, ck, why);
    return -1;
}

/* Every callback holds the lock the flusher thread takes. */
static int on_change(const cdc_change *c, void *ud)
{
    run *r = ud;
    pthread_mutex_lock(&r->mu);
    int rc = on_change_locked(c, ud);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int on_commit(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    run *r = ud;
    pthread_mutex_lock(&r->mu);
    int rc = on_commit_locked(gtid, sid, ts, pos, ud);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int on_begin(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    run *r = ud;
    pthread_mutex_lock(&r->mu);
    int rc = on_begin_locked(gtid, sid, ts, pos, ud);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int on_checkpoint(const cdc_position *pos, void *ud)
{
    run *r = ud;
    pthread_mutex_lock(&r->mu);
    int rc = on_checkpoint_locked(pos, ud);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int on_ddl(const cdc_query *q, const cdc_position *pos, void *ud)
{
    run *r = ud;
    pthread_mutex_lock(&r->mu);
    int rc = on_ddl_locked(q, pos, ud);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int on_snapshot_done(const cdc_position *pos, void *ud)
{
    run *r = ud;
    pthread_mutex_lock(&r->mu);
    int rc = on_snapshot_done_locked(pos, ud);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static void *flusher(void *ud)
{
    run *r = ud;
    long step = r->o->batch_ms / 2 > 10 ? r->o->batch_ms / 2 : 10;
    for (;;) {
        sleep_us(step * 1000);
        pthread_mutex_lock(&r->mu);
        if (r->quit) {
            pthread_mutex_unlock(&r->mu);
            return NULL;
        }
        if (r->streaming && !r->copying && !r->async_fail)
            control_poll(r); /* at most once a second */
        if (r->streaming && !r->copying && !r->in_src_txn && !r->async_fail &&
            (r->in_pg_txn || r->ck_dirty || (r->par && par_inflight(r->par))) &&
            (now_s() - r->batch_t0) * 1000 >= (double)r->o->batch_ms) {
            if (flush_batch(r)) {
                r->async_fail = 1;
                r->retriable = r->retriable || r->tg->ops->lost(r->tg);
                if (r->st)
                    cdc_stream_stop(r->st);
            }
        }
        pthread_mutex_unlock(&r->mu);
    }
}

static void on_log(int level, int code, const char *msg, void *ud)
{
    run *r = ud;
    if (level <= 1 || r->o->verbose)
        fprintf(stderr, "cdc-migrate: source: %s%s\n", level == 0 ? "error: " : "", msg);
    (void)code;
}

/* The control column of the state row: 'pause' pauses, 'run' resumes. */
static int control_poll(run *r)
{
    char q[512], e[256];
    int found;
    if (now_s() - r->polled < 1.0)
        return 0;
    r->polled = now_s();
    snprintf(q, sizeof q, "SELECT control FROM %s WHERE name = %s", r->tg->state_tbl, r->qname);
    char *v = r->tg->ops->value1(r->tg, q, e, sizeof e, &found);
    if (v && !strcmp(v, "pause"))
        g_pause = 2; /* 2: by the control command, 1: by SIGUSR1 */
    else if (v && !strcmp(v, "run") && g_pause == 2)
        g_pause = 0;
    free(v);
    return 0;
}

static int stream_config(run *r, cdc_config *cfg, const char *start)
{
    const mopts *o = r->o;
    char port[16], hb[32], par[16], err[512];
    snprintf(port, sizeof port, "%d", o->src_port);
    snprintf(hb, sizeof hb, "%ld", o->heartbeat_ms);
    snprintf(par, sizeof par, "%d", o->parallelism);
    mbuf tl = {0};
    for (size_t i = 0; i < r->s->n; i++)
        mbuf_printf(&tl, "%s%s.%s", i ? "," : "", r->s->t[i].db, r->s->t[i].name);
    /* and those of --tables it has not (yet): a CREATE TABLE of one is applied */
    for (const char *p = o->tables; p && *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        char nm[256];
        snprintf(nm, sizeof nm, "%.*s", (int)(l < 255 ? l : 255), p);
        if (*nm && !schema_find(r->s, o->database, nm))
            mbuf_printf(&tl, "%s%s.%s", tl.len ? "," : "", o->database, nm);
        p += l + (e != NULL);
    }
    /* Loop prevention: what a reverse migration applied to this source
     * carries its marker row first; the stream drops it whole. */
    char marker[300];
    snprintf(marker, sizeof marker, "%s.marker", o->state_schema ? o->state_schema : "cdc_migrate");
    const char *kv[][2] = {
        {"host", o->src_host}, {"port", port}, {"user", o->src_user},
        {"password", o->src_password ? o->src_password : ""}, {"server.id", o->server_id},
        {"heartbeat.interval.ms", hb}, {"reconnect.max.attempts", "-1"},
        {"snapshot.parallelism", par},
        /* without --tables, the whole database: a table renamed by a DDL
         * the run applies keeps coming */
        {"table.include.list", o->tables && *o->tables ? mbuf_str(&tl) : NULL},
        {"database.include.list", o->database},
        {"snapshot.mode", start ? "never" : "initial"}, {"start", start ? start : ""},
        {"stop.at", o->stop_at}, {"ssl.ca", o->src_ssl_ca},
        {"ssl.mode", o->src_ssl_ca ? "verify_ca" : NULL},
        {"transaction.marker.table", marker},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof kv / sizeof kv[0] && !rc; i++) {
        if (!kv[i][1])
            continue;
        if (cdc_config_set(cfg, kv[i][0], kv[i][1], err, sizeof err)) {
            snprintf(r->err, sizeof r->err, "source configuration: %s", err);
            rc = -1;
        }
    }
    mbuf_free(&tl);
    return rc;
}

/* The tables as the target's checkpoint knows them (the definitions the
 * copy and each applied DDL stored): rows between the checkpoint and a
 * later DDL are decoded with the definition they were written under. */
static int load_defs(run *r)
{
    mschema d;
    if (tabledef_load(r->tg, r->qname, &d, r->err, sizeof r->err))
        return -1;
    if (!d.n) {
        /* None kept (a migration from before they were, or after
         * skip-ddl): the source's current ones, kept from now on. */
        mbuf q = {0};
        r->tg->ops->begin(r->tg, &q, r->qname);
        for (size_t i = 0; i < r->s->n; i++)
            tabledef_sql(r->tg, &q, r->qname, &r->s->t[i], NULL);
        mbuf_puts(&q, "COMMIT");
        long rc = r->tg->ops->exec(r->tg, mbuf_str(&q), r->err, sizeof r->err);
        mbuf_free(&q);
        return rc < 0 ? -1 : 0;
    }
    r->tg->ops->prepare(r->o, &d);
    schema_free(r->s);
    *r->s = d;
    return 0;
}

/* Before streaming from checkpoint ck: the rows an earlier run's workers
 * committed past it (par.h), and the workers of this run. */
static int par_start(run *r, const char *ck)
{
    cdc_position *p;
    char e[512];
    if (cdc_position_parse(&p, ck, NULL, e, sizeof e)) {
        snprintf(r->err, sizeof r->err, "the target's checkpoint: %s", e);
        return -1;
    }
    int rc = par_skip_load(r->tg, r->qname, cdc_position_file(p), cdc_position_offset(p),
                           &r->skip, r->err, sizeof r->err);
    cdc_position_free(p);
    if (rc)
        return -1;
    if (r->skip.n)
        fprintf(stderr, "cdc-migrate: the last run left a batch half committed (%d workers): "
                "rows their workers committed are skipped\n", r->skip.n);
    int n = r->o->workers;
    if (r->skip.n && n > 1 && r->skip.n != n) {
        /* the rows to skip are known per the earlier run's routing */
        fprintf(stderr, "cdc-migrate: %d workers in this attempt, as in the last run\n",
                r->skip.n);
        n = r->skip.n;
    }
    if (n > 1 && !(r->par = par_open(r->o, r->qname, n, r->err, sizeof r->err)))
        return -1;
    return 0;
}

/* One attempt: connect to the target, learn where it stands, stream until
 * the stream ends. Returns 0 (stop.at reached or stopped), 1 (the target
 * went away: retry after a backoff), 2 (again at once, row by row), -1. */
static int attempt(run *r)
{
    char *st_phase = NULL, *st_ck = NULL;
    int found, rc = -1;
    r->in_pg_txn = r->in_src_txn = 0;
    r->sql.len = 0;
    groups_reset(r);
    r->batch_txns = r->batch_rows = r->total_rows_pending = 0;
    r->ck_dirty = 0;
    r->retriable = 0;
    r->async_fail = 0;
    r->tg = target_connect(r->o, r->err, sizeof r->err);
    if (!r->tg)
        return 1;
    r->connected = 1;
    if (r->tg->ops->setup(r->tg, r->o, r->s, r->err, sizeof r->err))
        goto out;
    char *wsql = par_setup_sql(r->tg), *tsql = tabledef_setup_sql(r->tg);
    long wrc = r->tg->ops->exec(r->tg, wsql, r->err, sizeof r->err);
    if (wrc >= 0)
        wrc = r->tg->ops->exec(r->tg, tsql, r->err, sizeof r->err);
    free(wsql);
    free(tsql);
    if (wrc < 0)
        goto out;
    char q[1024];
    snprintf(q, sizeof q, "SELECT CONCAT(phase, ' ', COALESCE(checkpoint, '')) FROM %s "
             "WHERE name = %s", r->tg->state_tbl, r->qname);
    st_phase = r->tg->ops->value1(r->tg, q, r->err, sizeof r->err, &found);
    if (!st_phase)
        goto out;
    const char *start = NULL;
    if (!found && r->o->start_at) {
        /* A migration whose two sides are equal already (the reverse one
         * after a cutover): no copy, streaming from the given position. */
        mbuf q0 = {0};
        r->tg->ops->begin(r->tg, &q0, r->qname);
        write_state(r, &q0, "streaming", r->o->start_at, r->o->start_at);
        mbuf_puts(&q0, "COMMIT");
        long e0 = r->tg->ops->exec(r->tg, mbuf_str(&q0), r->err, sizeof r->err);
        mbuf_free(&q0);
        if (e0 < 0)
            goto out;
        free(st_phase);
        st_phase = xmalloc(strlen(r->o->start_at) + 11);
        sprintf(st_phase, "streaming %s", r->o->start_at);
        found = 1;
        fprintf(stderr, "cdc-migrate: no copy (--start-at): streaming from %s\n", r->o->start_at);
    }
    if (found && !strncmp(st_phase, "streaming ", 10)) {
        st_ck = xstrdup(st_phase + 10);
        start = st_ck;
        snprintf(r->ck, sizeof r->ck, "%s", start);
        r->copying = 0;
        if (load_defs(r) || par_start(r, start))
            goto out;
    } else {
        /* (Re)start the copy: the state row says "streaming" only once
         * the copy is committed, so a crash starts it again. The worker
         * rows of an earlier migration of this name go in the same
         * transaction. */
        char wq[1024];
        char *wt = par_aux_table(r->tg, "worker"), *tt = par_aux_table(r->tg, "tables");
        snprintf(wq, sizeof wq, "DELETE FROM %s WHERE name = %s; DELETE FROM %s WHERE name = %s",
                 wt, r->qname, tt, r->qname);
        free(wt);
        free(tt);
        if (r->tg->ops->copy_begin(r->tg, r->s, r->qname, r->err, sizeof r->err) ||
            r->tg->ops->exec(r->tg, wq, r->err, sizeof r->err) < 0)
            goto out;
        if (r->o->copy_workers > 1 && r->tg->ops->copy_put) {
            /* The emptying (PostgreSQL's TRUNCATE, MySQL's DELETE) commits
             * now (other connections must write the tables); the state
             * row is not "streaming" yet, so a crash still copies again.
             * The main connection's next transaction opens tagged as
             * every one of it does. */
            mbuf cq = {0};
            mbuf_puts(&cq, "COMMIT;");
            r->tg->ops->begin(r->tg, &cq, r->qname);
            long crc = r->tg->ops->exec(r->tg, mbuf_str(&cq), r->err, sizeof r->err);
            mbuf_free(&cq);
            if (crc < 0 ||
                !(r->cw = copyw_open(r->o, r->o->copy_workers, r->err, sizeof r->err)))
                goto out;
        }
        r->in_pg_txn = 1;
        r->copying = 1;
        r->copy_t0 = now_s();
        for (size_t i = 0; i < r->s->n; i++) {
            r->s->t[i].copybuf.len = 0;
            r->s->t[i].copyrows = 0;
            r->s->t[i].rows_copied = 0;
        }
        fprintf(stderr, "cdc-migrate: copying %zu tables (%d target connection%s)\n", r->s->n,
                r->cw ? r->o->copy_workers : 1, r->cw ? "s" : "");
    }
    cdc_config *cfg;
    if (cdc_config_new(&cfg, NULL)) {
        snprintf(r->err, sizeof r->err, "out of memory");
        goto out;
    }
    if (stream_config(r, cfg, start)) {
        cdc_config_free(cfg);
        goto out;
    }
    char err[1024];
    if (cdc_stream_new(&r->st, cfg, NULL, err, sizeof err)) {
        snprintf(r->err, sizeof r->err, "source: %s", err);
        cdc_config_free(cfg);
        goto out;
    }
    cdc_config_free(cfg);
    cdc_stream_set_snapshot_cb(r->st, on_snapshot_row, r);
    cdc_stream_set_progress_cb(r->st, on_progress, r);
    cdc_stream_set_snapshot_done_cb(r->st, on_snapshot_done, r);
    cdc_stream_set_change_cb(r->st, on_change, r);
    cdc_stream_set_begin_cb(r->st, on_begin, r);
    cdc_stream_set_commit_cb(r->st, on_commit, r);
    cdc_stream_set_checkpoint_cb(r->st, on_checkpoint, r);
    cdc_stream_set_ddl_cb(r->st, on_ddl, r);
    cdc_stream_set_log_cb(r->st, on_log, r);
    g_stream = r->st;
    if (g_stop)
        cdc_stream_stop(r->st);
    r->rate_t0 = now_s();
    for (;;) {
        pthread_mutex_lock(&r->mu);
        r->streaming = 1;
        pthread_mutex_unlock(&r->mu);
        int src = cdc_stream_start(r->st);
        pthread_mutex_lock(&r->mu);
        r->streaming = 0;
        pthread_mutex_unlock(&r->mu);
        if (src == CDC_ERR_STOPPED && r->async_fail) {
            if (r->retriable) {
                rc = 1;
                break;
            }
            src = CDC_ERR_CALLBACK; /* the batch the flusher sent was refused */
        }
        if (src == CDC_ERR_PAUSED) {
            /* Paused: the batch is committed; wait for resume. */
            fprintf(stderr, "cdc-migrate: paused at %s\n", r->ck);
            while (g_pause && !g_stop) {
                sleep_us(500000);
                if (control_poll(r) || r->tg->ops->lost(r->tg))
                    break;
            }
            if (r->tg->ops->lost(r->tg)) {
                snprintf(r->err, sizeof r->err, "target connection lost while paused");
                rc = 1;
                break;
            }
            if (!g_stop) {
                fprintf(stderr, "cdc-migrate: resumed\n");
                continue;
            }
            rc = 0;
            break;
        }
        if (src == CDC_OK || src == CDC_ERR_STOPPED) {
            /* Commit what is complete; a half-applied source transaction is
             * rolled back and comes again from the checkpoint. */
            if (r->copying) {
                r->tg->ops->exec(r->tg, "ROLLBACK", err, sizeof err);
                snprintf(r->err, sizeof r->err, "stopped during the copy: the copy starts "
                         "again on the next run");
                rc = src == CDC_OK ? -1 : 0;
            } else if (r->in_src_txn && r->par && !r->careful) {
                /* Nothing of the batch being built is applied, not even its
                 * complete transactions: the checkpoint stays before them. */
                double lat = 0;
                par_discard(r->par);
                groups_reset(r);
                r->in_pg_txn = r->ck_dirty = 0;
                r->batch_txns = r->batch_rows = r->total_rows_pending = 0;
                rc = par_collect(r, &lat) < 0 ? (r->retriable ? 1 : -1) : 0;
            } else if (r->in_src_txn) {
                r->tg->ops->exec(r->tg, "ROLLBACK", err, sizeof err);
                rc = 0;
            } else if (flush_batch_sync(r)) {
                rc = r->retriable || r->tg->ops->lost(r->tg) ? 1 : -1;
            } else {
                rc = 0;
            }
            if (src == CDC_OK && rc == 0)
                fprintf(stderr, "cdc-migrate: reached %s\n", r->ck);
            break;
        }
        if (src == CDC_ERR_CALLBACK && r->retriable) {
            rc = 1;
            break;
        }
        if (src != CDC_ERR_CALLBACK)
            snprintf(r->err, sizeof r->err, "source: %s", cdc_stream_errmsg(r->st));
        /* A refused row with dead letters on: start again from the
         * checkpoint, row by row under savepoints up to the refused row. */
        if (src == CDC_ERR_CALLBACK && !r->ddl_stop && r->o->dead_letter && !r->copying &&
            !r->careful) {
            fprintf(stderr, "cdc-migrate: %s; re-applying from %s row by row\n", r->err, r->ck);
            r->careful = 1;
            snprintf(r->until_file, sizeof r->until_file, "%s", r->row_file);
            r->until_off = r->row_off;
            r->err[0] = 0;
            rc = 2;
            break;
        }
        rc = -1;
        break;
    }
    g_stream = NULL;
    if (r->done_rows) {
        double el = r->apply_t1 - r->apply_t0;
        fprintf(stderr, "cdc-migrate: applied %llu transactions, %llu rows in %.2fs "
                "(%.0f rows/s)\n", (unsigned long long)r->done_txns,
                (unsigned long long)r->done_rows, el, el > 0 ? (double)r->done_rows / el : 0);
    }
    r->done_txns = r->done_rows = 0;
    r->apply_t0 = 0;
    cdc_stream_free(r->st);
    r->st = NULL;
out:
    copyw_close(r->cw); /* an unfinished copy's rows roll back */
    r->cw = NULL;
    par_close(r->par); /* a dispatched batch ends first, committed or not */
    r->par = NULL;
    par_skip_free(&r->skip);
    /* A failure of the target itself (not of the data) is retried. */
    if (rc == -1 && !r->ddl_stop && (!r->tg || r->tg->ops->lost(r->tg)))
        rc = 1;
    if (rc != 0 && r->tg && !r->tg->ops->lost(r->tg))
        r->tg->ops->exec(r->tg, "ROLLBACK", err, 0);
    target_close(r->tg);
    r->tg = NULL;
    free(st_phase);
    free(st_ck);
    return rc;
}

int cmd_run(const mopts *o)
{
    mschema s;
    if (schema_prepare(o, &s))
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.s = &s;
    mbuf qn = {0};
    o->tops->quote(&qn, o->name, strlen(o->name));
    r.qname = xstrdup(mbuf_str(&qn));
    mbuf_free(&qn);
    pthread_mutex_init(&r.mu, NULL);
    pthread_t fl;
    if (pthread_create(&fl, NULL, flusher, &r)) {
        fprintf(stderr, "cdc-migrate: cannot start a thread\n");
        return 1;
    }
    long backoff_ms = 250;
    int status;
    for (;;) {
        r.err[0] = 0;
        r.ddl_stop = 0;
        int a = attempt(&r);
        if (a == 0) {
            status = 0;
            if (r.err[0])
                fprintf(stderr, "cdc-migrate: %s\n", r.err);
            break;
        }
        if (a < 0) {
            fprintf(stderr, "cdc-migrate: %s\n", r.err);
            status = r.ddl_stop ? 3 : 1;
            break;
        }
        if (g_stop) {
            status = 0;
            break;
        }
        if (a == 2)
            continue;
        if (r.connected)
            backoff_ms = 250; /* it worked for a while: start the backoff again */
        r.connected = 0;
        fprintf(stderr, "cdc-migrate: %s; retrying in %ld ms\n", r.err, backoff_ms);
        sleep_us(backoff_ms * 1000);
        backoff_ms = backoff_ms * 2 > 8000 ? 8000 : backoff_ms * 2;
    }
    pthread_mutex_lock(&r.mu);
    r.quit = 1;
    pthread_mutex_unlock(&r.mu);
    pthread_join(fl, NULL);
    pthread_mutex_destroy(&r.mu);
    free(r.qname);
    mbuf_free(&r.sql);
    mbuf_free(&r.scratch);
    mbuf_free(&r.kb);
    mbuf_free(&r.ka);
    mbuf_free(&r.tdel);
    mbuf_free(&r.tups);
    for (int i = 0; i < r.ngrp; i++)
        free(r.grp[i].keys);
    free(r.grp);
    schema_free(&s);
    return status;
}
