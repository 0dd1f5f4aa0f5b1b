/*
 * snapshot.c: the parallel run of the consistent initial snapshot
 * (docs/snapshot.md): work items, worker threads, the queue, delivery
 * on the caller's thread, progress and resuming from a checkpoint.
 *
 * The caller's thread connects N worker sessions plus a coordinator and
 * has snapshot_point.c read the schema and open a consistent snapshot on
 * every worker at one binlog point, then plans work items (a table, or
 * a primary-key range of a large one; a resumed snapshot takes them from
 * its checkpoint) and starts N threads. Each thread takes items, reads
 * them in keyset chunks (or one streamed pass when there is no usable
 * key; the SQL is snapshot_table.c's) and packs the rows (binary
 * protocol where the table allows it, text otherwise) into batches on
 * a bounded queue. The caller's thread pops the batches,
 * converts values (snapshot_table.c) and calls back, so callbacks never
 * run concurrently and a slow callback stalls the readers instead of
 * growing the queue.
 *
 * Pausing. The caller's side is resumable: a callback that returns
 * CDC_ERR_PAUSED (or a stop request) makes cdc__snap_run() return with
 * its place kept (the batch being delivered and the row in it). The
 * workers go on until the queue is full and then wait in push(), their
 * consistent-read transactions and half-read results open, so memory
 * stays at the queue's bound however long the pause lasts, and the next
 * cdc__snap_run() continues with the very next row.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "snapprog.h"
#include "snapshot.h"
#include "snapshot_point.h"
#include "snapshot_table.h"

#define QUEUE_BATCHES_PER_WORKER 2
#define BATCH_ROWS 512
#define BATCH_BYTES (256u * 1024u)

typedef struct snap_item {
    size_t table;
    bool has_lo, has_hi;
    int64_t lo, hi;             /* on the first key column: lo <= k0 < hi */
    uint64_t est;
    /* progress as the caller delivered it (CDC__SP_*), and for
     * CDC__SP_AFTER the escaped key of the last completed chunk's last row */
    int state;
    cdc__buf done_key;
    /* a resumed item: read from after this key (views into opts.resume) */
    const cdc_bytes *resume_key;
    size_t resume_nkey;
} snap_item;

typedef struct batch {
    struct batch *next;
    size_t table, item;
    uint32_t nrows;
    bool end_chunk, end_item;
    cdc__buf data;               /* per row: u32 length, then the text row */
    cdc__buf key;                /* end_chunk of a keyset chunk with rows: its last key, escaped */
} batch;

struct cdc__snap;
typedef struct cdc__snap snap;

typedef struct worker {
    snap *s;
    cdc__conn *conn;
    pthread_t thread;
    bool started;
    cdc__err err;
    batch *cur;                 /* batch being filled */
    cdc__snap_table *table;          /* of the item being read */
    size_t item_table;
    size_t item;                /* index of the item being read */
    cdc__buf lastkey;            /* key values of the last row, back to back */
    cdc_bytes *last;            /* views into lastkey */
    size_t *last_len;           /* take_last_key()'s lengths */
    size_t last_cap;
    uint64_t chunk_n;           /* rows in the current chunk */
    bool streamed;              /* the item is one ordered query, cut into chunks as it arrives */
    int rc;
    cdc__err cb_err;            /* check_columns()' refusal (the query overwrites err) */
    size_t last_row;            /* offset of the last row in cur, SIZE_MAX: taken */
    cdc_bytes *vals;            /* take_last_key()'s split of it */
    size_t vals_cap;
} worker;

typedef struct cdc__snap {
    const cdc__snap_opts *o;    /* &opts */
    const cdc__snap_cbs *cb;    /* &cbs */
    cdc__snap_opts opts;
    cdc__snap_cbs cbs;
    const cdc_allocator *a;
    cdc__conn *c0;
    cdc__conn **conns;          /* the workers' sessions, w[i].conn */
    cdc__snap_point *point;     /* the caller's */
    bool gtid_pending;          /* BINLOG_GTID_POS sent on c0, its reply not read yet */
    bool mariadb;
    cdc__snap_table *tables;
    size_t ntables, tables_done;
    snap_item *items;
    size_t *order;              /* items by size, largest first: the workers' order */
    size_t nitems, norder, next_item;
    /* figures for cdc_snapshot_progress */
    double t_open, rate_t0;
    uint64_t rows_run, rate_rows0;
    double rate;
    cdc__buf ck;                /* the progress text for the checkpoint callback */
    worker *w;
    size_t nw;
    /* the queue */
    pthread_mutex_t mu;
    pthread_cond_t nonempty, nonfull;
    batch *head, *tail, *free_list;
    size_t queued, cap;
    size_t running;
    atomic_bool abort; /* read without the mutex by workers */
    int err_code;
    cdc__err err;
    bool sync_ok;
    bool started;               /* worker threads were started */
    bool finished;              /* every row delivered, workers joined */
    /* the caller's side, kept across pauses */
    batch *cur;                 /* being delivered */
    size_t cur_off;             /* offset of its next row in cur->data */
    uint32_t cur_row;           /* index of that row */
    int cur_stage;              /* 0 rows, 1 progress, 2 checkpoint, 3 done with it */
    cdc__snap_row row;          /* the row being delivered */
} snap;

#define logf_(s, ...) cdc__snap_logf((s)->cb->log, (s)->cb->ud, __VA_ARGS__)

static bool stopped(const snap *s) { return s->o->stop && atomic_load(s->o->stop); }
static bool aborted(snap *s) { return atomic_load(&s->abort); }

/* ---- work items ------------------------------------------------------- */

typedef struct item_rank {
    uint64_t est;
    size_t idx;
} item_rank;

static int cmp_items(const void *x, const void *y)
{
    const item_rank *a = x, *b = y;
    if (a->est != b->est) return a->est < b->est ? 1 : -1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool int_key(const cdc_column *c)
{
    return c->type == CDC_T_TINY || c->type == CDC_T_SHORT || c->type == CDC_T_INT24 || c->type == CDC_T_LONG ||
           c->type == CDC_T_LONGLONG;
}

static snap_item *add_items(snap *s, size_t *cap, size_t n, cdc__err *err)
{
    if (s->nitems + n > *cap) {
        size_t c = (s->nitems + n) * 2;
        snap_item *m = cdc__realloc(s->a, s->items, c * sizeof *m);
        if (!m) {
            cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
            return NULL;
        }
        s->items = m;
        *cap = c;
    }
    snap_item *it = &s->items[s->nitems];
    memset(it, 0, n * sizeof *it);
    for (size_t k = 0; k < n; k++) cdc__buf_init(&it[k].done_key, s->a);
    s->nitems += n;
    return it;
}

/* A resumed table's items as the checkpoint recorded them, when they
 * still fit the table: false (with a warning) to read it from the start. */
static bool resume_fits(snap *s, const cdc__snap_table *t, const cdc__sp_table *e)
{
    const char *why = NULL;
    for (size_t k = 0; k < e->nitems && !why; k++) {
        const cdc__sp_item *it = &e->items[k];
        if ((it->has_lo || it->has_hi) && !(t->pageable && int_key(t->kc[0].col)))
            why = "its first key column is no longer an integer";
        else if (it->state == CDC__SP_AFTER && !t->pageable)
            why = "it can no longer be read in key order";
        else if (it->state == CDC__SP_AFTER && it->nkey != t->nkey)
            why = "its primary key has a different number of columns now";
    }
    if (why) logf_(s, 1, "snapshot: resuming %s.%s from the start: %s", t->t.db, t->t.name, why);
    return !why;
}

/* Splits large tables with an integer first key column into ranges so
 * several workers share them. Bounds come from MIN/MAX read outside the
 * snapshot: they only partition the key space, so any values do. A
 * resumed snapshot takes the ranges and their progress from the
 * checkpoint instead. */
static int plan_items(snap *s, cdc__err *err)
{
    size_t cap = s->ntables + 1;
    s->items = cdc__calloc(s->a, cap, sizeof *s->items);
    if (!s->items) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    size_t resumed_done = 0, resumed_part = 0;
    for (size_t i = 0; i < s->ntables; i++) {
        cdc__snap_table *t = &s->tables[i];
        t->item0 = s->nitems;
        const cdc__sp_table *e = s->o->resume ? cdc__snapprog_find(s->o->resume, t->t.db, t->t.name) : NULL;
        if (e && e->done) {
            t->nitems = t->items_left = 0;
            s->tables_done++;
            resumed_done++;
            continue;
        }
        if (e && resume_fits(s, t, e)) {
            snap_item *it = add_items(s, &cap, e->nitems, err);
            if (!it) return err->code;
            t->nitems = e->nitems;
            for (size_t k = 0; k < e->nitems; k++) {
                const cdc__sp_item *r = &e->items[k];
                it[k] = (snap_item){.table = i, .has_lo = r->has_lo, .lo = r->lo, .has_hi = r->has_hi, .hi = r->hi,
                                    .est = t->rows_est / e->nitems, .state = r->state, .done_key = it[k].done_key};
                if (r->state == CDC__SP_AFTER) {
                    it[k].resume_key = r->key;
                    it[k].resume_nkey = r->nkey;
                    if (cdc__snapprog_put_esc(&it[k].done_key, r->key[0].ptr, r->key[0].len))
                        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
                    for (size_t c = 1; c < r->nkey; c++)
                        if (cdc__buf_putc(&it[k].done_key, '.') ||
                            cdc__snapprog_put_esc(&it[k].done_key, r->key[c].ptr, r->key[c].len))
                            return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
                }
                if (r->state != CDC__SP_DONE) t->items_left++;
            }
            if (!t->items_left) s->tables_done++;
            resumed_part++;
            continue;
        }
        size_t parts = 1;
        int64_t lo = 0, hi = 0;
        if (s->nw > 1 && t->pageable && int_key(t->kc[0].col) && t->rows_est > 2 * s->o->chunk_rows) {
            char sql[1024];
            snprintf(sql, sizeof sql, "SELECT MIN(%s), MAX(%s) %s", t->kc[0].quoted, t->kc[0].quoted,
                     strstr(t->select_sql, " FROM "));
            cdc__result *r = NULL;
            int rc = cdc__snap_query(s->c0, sql, &r, err);
            if (rc) return rc;
            const char *a = cdc__result_get(r, 0, 0), *b = cdc__result_get(r, 0, 1);
            if (a && b) {
                char *e1, *e2;
                errno = 0;
                lo = strtoll(a, &e1, 10);
                hi = strtoll(b, &e2, 10);
                if (!*e1 && !*e2 && !errno && hi > lo) {
                    uint64_t want = t->rows_est / s->o->chunk_rows;
                    parts = s->nw * 4 < want ? s->nw * 4 : (size_t)want;
                    if ((uint64_t)hi - (uint64_t)lo < parts) parts = 1;
                }
            }
            cdc__result_free(r);
        }
        if (parts < 1) parts = 1;
        snap_item *its = add_items(s, &cap, parts, err);
        if (!its) return err->code;
        uint64_t span = (uint64_t)hi - (uint64_t)lo, step = span / parts + 1;
        for (size_t k = 0; k < parts; k++) {
            snap_item *it = &its[k];
            it->table = i;
            it->est = t->rows_est / parts;
            if (parts > 1) {
                it->has_lo = k > 0;
                it->lo = (int64_t)((uint64_t)lo + k * step);
                it->has_hi = k + 1 < parts;
                it->hi = (int64_t)((uint64_t)lo + (k + 1) * step);
            }
        }
        t->nitems = t->items_left = parts;
    }
    /* the workers take the largest items first; items already done are not theirs */
    s->order = cdc__calloc(s->a, s->nitems + 1, sizeof *s->order);
    item_rank *rank = cdc__calloc(s->a, s->nitems + 1, sizeof *rank);
    if (!s->order || !rank) {
        cdc__free(s->a, rank);
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    size_t n = 0;
    for (size_t k = 0; k < s->nitems; k++)
        if (s->items[k].state != CDC__SP_DONE) rank[n++] = (item_rank){s->items[k].est, k};
    qsort(rank, n, sizeof *rank, cmp_items);
    for (size_t k = 0; k < n; k++) s->order[k] = rank[k].idx;
    cdc__free(s->a, rank);
    s->norder = n;
    if (s->o->resume)
        logf_(s, 2, "snapshot: resuming: %zu of %zu tables were done, %zu under way; rows read now are as of a new "
                    "read view, newer than the snapshot's point, and the stream from the point brings them up to date",
              resumed_done, s->ntables, resumed_part);
    return CDC_OK;
}

/* ---- the queue -------------------------------------------------------- */

static void fail(snap *s, int code, const cdc__err *e)
{
    pthread_mutex_lock(&s->mu);
    if (!s->err_code) {
        s->err_code = code;
        if (e) s->err = *e;
        s->err.code = code;
    }
    atomic_store(&s->abort, true);
    pthread_cond_broadcast(&s->nonempty);
    pthread_cond_broadcast(&s->nonfull);
    pthread_mutex_unlock(&s->mu);
}

static batch *batch_get(snap *s)
{
    pthread_mutex_lock(&s->mu);
    batch *b = s->free_list;
    if (b) s->free_list = b->next;
    pthread_mutex_unlock(&s->mu);
    if (!b) {
        b = cdc__calloc(s->a, 1, sizeof *b);
        if (!b) return NULL;
        cdc__buf_init(&b->data, s->a);
        cdc__buf_init(&b->key, s->a);
    }
    b->next = NULL;
    b->nrows = 0;
    b->end_chunk = b->end_item = false;
    cdc__buf_reset(&b->data);
    cdc__buf_reset(&b->key);
    return b;
}

static void batch_put(snap *s, batch *b)
{
    pthread_mutex_lock(&s->mu);
    b->next = s->free_list;
    s->free_list = b;
    pthread_mutex_unlock(&s->mu);
}

/* Blocks while the queue is full. CDC_ERR_STOPPED once aborted. */
static int push(snap *s, batch *b)
{
    pthread_mutex_lock(&s->mu);
    while (s->queued >= s->cap && !aborted(s)) pthread_cond_wait(&s->nonfull, &s->mu);
    if (aborted(s)) {
        b->next = s->free_list;
        s->free_list = b;
        pthread_mutex_unlock(&s->mu);
        return CDC_ERR_STOPPED;
    }
    if (s->tail) s->tail->next = b;
    else s->head = b;
    s->tail = b;
    s->queued++;
    pthread_cond_signal(&s->nonempty);
    pthread_mutex_unlock(&s->mu);
    return CDC_OK;
}

/* NULL when every worker is done and the queue is empty, or aborted,
 * or (*stop_seen set) a stop was asked for while waiting. */
static batch *pop(snap *s, bool *stop_seen)
{
    pthread_mutex_lock(&s->mu);
    while (!s->head && s->running && !aborted(s)) {
        if (stopped(s)) {
            *stop_seen = true;
            break;
        }
        /* wake now and then to see a stop (cdc_stream_stop cannot signal us) */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->nonempty, &s->mu, &ts);
    }
    batch *b = aborted(s) ? NULL : s->head;
    if (b) {
        s->head = b->next;
        if (!s->head) s->tail = NULL;
        s->queued--;
        pthread_cond_signal(&s->nonfull);
    }
    pthread_mutex_unlock(&s->mu);
    return b;
}

/* ---- workers ---------------------------------------------------------- */

static int take_last_key(worker *w, batch *b);

static int flush_batch(worker *w, bool end_chunk, bool end_item)
{
    batch *b = w->cur;
    if (!b) {
        if (!end_chunk && !end_item) return CDC_OK;
        if (!(b = batch_get(w->s))) return CDC_ERR_NOMEM;
        b->table = w->item_table;
        b->item = w->item;
    }
    w->cur = NULL;
    b->end_chunk = end_chunk;
    b->end_item = end_item;
    int rc = take_last_key(w, b);
    if (rc) {
        batch_put(w->s, b);
        return rc;
    }
    if (end_chunk && !end_item && w->table->pageable && w->chunk_n) {
        /* where a restart would go on: after this chunk's last key */
        for (size_t k = 0; k < w->table->nkey; k++) {
            if ((k && cdc__buf_putc(&b->key, '.')) || cdc__snapprog_put_esc(&b->key, w->last[k].ptr, w->last[k].len)) {
                batch_put(w->s, b);
                return CDC_ERR_NOMEM;
            }
        }
    }
    return push(w->s, b);
}

/* The key of the batch's last row (at its offset w->last_row) becomes
 * the last key seen, for the next chunk's WHERE and the checkpoint. Once
 * per batch, not per row. */
static int take_last_key(worker *w, batch *b)
{
    cdc__snap_table *t = w->table;
    if (!t->pageable || !b->nrows || w->last_row == SIZE_MAX) return CDC_OK;
    const uint8_t *p = b->data.data + w->last_row;
    uint32_t len = cdc__le32(p);
    cdc__err e;
    if (cdc__snap_table_split(t, p + 4, len, w->vals, &e)) {
        w->err = e;
        return e.code;
    }
    cdc__buf_reset(&w->lastkey);
    size_t *lens = w->last_len;
    for (size_t k = 0; k < t->nkey; k++) {
        char buf[CDC__SNAP_KEYTEXT_MAX];
        cdc_bytes v;
        if (cdc__snap_table_key_text(t, w->vals, k, buf, &v, &e)) {
            w->err = e;
            return e.code;
        }
        if (cdc__buf_append(&w->lastkey, v.ptr ? v.ptr : (const uint8_t *)"", v.len)) return CDC_ERR_NOMEM;
        lens[k] = v.len;
    }
    for (size_t k = 0, off = 0; k < t->nkey; off += lens[k], k++)
        w->last[k] = (cdc_bytes){w->lastkey.data + off, lens[k]};
    w->last_row = SIZE_MAX;
    return CDC_OK;
}

/* A row as the server sent it (lenenc values): the batch keeps it as is,
 * behind its length; the caller's thread splits it when it delivers. */
static int on_raw_row(const uint8_t *p, size_t n, void *ud)
{
    worker *w = ud;
    if (aborted(w->s)) return CDC_ERR_STOPPED;
    if (!w->cur) {
        if (!(w->cur = batch_get(w->s))) return CDC_ERR_NOMEM;
        w->cur->table = w->item_table;
        w->cur->item = w->item;
    }
    cdc__buf *d = &w->cur->data;
    if (n > UINT32_MAX) return CDC_ERR_TOO_LARGE;
    if (cdc__buf_reserve(d, 4 + n)) return CDC_ERR_NOMEM;
    w->last_row = d->len;
    cdc__put_le32(d->data + d->len, (uint32_t)n);
    memcpy(d->data + d->len + 4, p, n);
    d->len += 4 + n;
    w->cur->nrows++;
    w->chunk_n++;
    if (w->streamed && w->chunk_n == w->s->o->chunk_rows) {
        /* a chunk boundary inside the item's one ordered query: a restart
         * goes on after this row's key */
        int rc = flush_batch(w, true, false);
        w->chunk_n = 0;
        return rc;
    }
    if (w->cur->nrows >= BATCH_ROWS || d->len >= BATCH_BYTES) return flush_batch(w, false, false);
    return 0;
}

/* Each chunk's result has the columns asked for, by name: a definition
 * that changed under the snapshot would be refused here rather than
 * delivered as rows of mismatched columns (snapshot_point.c's table locks make it
 * unreachable on the servers tested; this is the guard). */
static int check_columns(const cdc__coldef *cols, size_t ncols, void *ud)
{
    worker *w = ud;
    cdc__snap_table *t = w->table;
    size_t want = t->nsel ? t->nsel + t->nextra : 1;
    const char *why = NULL;
    size_t bad = 0;
    if (ncols != want) why = "column count";
    for (size_t j = 0; !why && j < t->nsel; j++) {
        const char *name = t->t.col_names[t->sel[j]];
        if (t->t.cols[t->sel[j]].type == CDC_T_FLOAT) continue; /* CAST(... AS DOUBLE): no org_name */
        if (cols[j].org_name.len && (cols[j].org_name.len != strlen(name) ||
                                     strncasecmp((const char *)cols[j].org_name.ptr, name, cols[j].org_name.len))) {
            why = "column name";
            bad = j;
        }
    }
    if (why)
        return cdc__err_set(&w->cb_err, CDC_ERR_SCHEMA,
                            "snapshot of %s.%s: the table's definition changed under the snapshot (%s differs: "
                            "result column %zu); no row of the new definition is delivered",
                            t->t.db, t->t.name, why, bad + 1);
    if (t->binary) return cdc__snap_table_check_bin(t, cols, ncols, &w->cb_err);
    return CDC_OK;
}

static int read_item(worker *w, const snap_item *it)
{
    snap *s = w->s;
    cdc__snap_table *t = &s->tables[it->table];
    w->table = t;
    w->item_table = it->table;
    w->item = (size_t)(it - s->items);
    if (t->nkey > w->last_cap) {
        cdc_bytes *n = cdc__realloc(s->a, w->last, t->nkey * sizeof *n);
        if (n) w->last = n;
        size_t *l = n ? cdc__realloc(s->a, w->last_len, t->nkey * sizeof *l) : NULL;
        if (l) w->last_len = l;
        if (!n || !l) return cdc__err_set(&w->err, CDC_ERR_NOMEM, "out of memory");
        w->last_cap = t->nkey;
    }
    size_t nv = t->nsel + t->nextra + 1;
    if (nv > w->vals_cap) {
        cdc_bytes *n = cdc__realloc(s->a, w->vals, nv * sizeof *n);
        if (!n) return cdc__err_set(&w->err, CDC_ERR_NOMEM, "out of memory");
        w->vals = n;
        w->vals_cap = nv;
    }
    w->last_row = SIZE_MAX;
    bool first = true;
    if (it->resume_key) {
        /* a resumed item goes on after the key of its last completed chunk */
        cdc__buf_reset(&w->lastkey);
        for (size_t k = 0; k < t->nkey; k++)
            if (cdc__buf_append(&w->lastkey, it->resume_key[k].ptr ? it->resume_key[k].ptr : (const uint8_t *)"",
                                it->resume_key[k].len))
                return cdc__err_set(&w->err, CDC_ERR_NOMEM, "out of memory");
        for (size_t k = 0, off = 0; k < t->nkey; off += it->resume_key[k].len, k++)
            w->last[k] = (cdc_bytes){w->lastkey.data + off, it->resume_key[k].len};
        first = false;
    }
    cdc__query_handler h = {.columns = check_columns, .raw_row = on_raw_row};
    /* the item's range of the first key column */
    cdc__buf range, sql;
    cdc__buf_init(&range, s->a);
    cdc__buf_init(&sql, s->a);
    int rc = CDC_OK;
    if (it->has_lo) rc |= cdc__buf_printf(&range, "%s >= %lld", t->kc[0].quoted, (long long)it->lo);
    if (it->has_hi)
        rc |= cdc__buf_printf(&range, "%s%s < %lld", it->has_lo ? " AND " : "", t->kc[0].quoted, (long long)it->hi);
    rc |= cdc__buf_terminate(&range);
    /* A keyed item is one query ordered by its key, cut into chunks of
     * chunk_rows rows as they arrive (on_raw_row), so the server scans
     * the range once instead of starting a query per chunk; the chunks'
     * last keys are what a restart continues after, as with LIMIT. */
    w->streamed = t->pageable && !s->o->limit_queries;
    for (;;) {
        cdc__buf_reset(&sql);
        if (!rc)
            rc = cdc__snap_table_chunk_sql(t, range.len ? (const char *)range.data : NULL, first ? NULL : w->last,
                                           w->streamed ? 0 : s->o->chunk_rows, &sql);
        if (rc) {
            rc = cdc__err_set(&w->err, rc == CDC_ERR_INVALID ? CDC_ERR_CORRUPT : CDC_ERR_NOMEM,
                              "snapshot of %s.%s: cannot write the key of the last row into SQL", t->t.db, t->t.name);
            break;
        }
        w->chunk_n = 0;
        w->cb_err.code = 0;
        /* the binary protocol spares the server formatting numbers and
         * times as text (docs/performance.md) */
        rc = t->binary ? cdc__conn_query_binary(w->conn, (const char *)sql.data, sql.len, &h, w, &w->err)
                       : cdc__conn_query(w->conn, (const char *)sql.data, sql.len, &h, w, &w->err);
        if (rc == CDC_ERR_SCHEMA && w->cb_err.code) {
            w->err = w->cb_err;
            break;
        }
        unsigned se = w->err.server_errno;
        if (rc && (se == 1412 || se == 1054 || se == 1146)) {
            /* Table definition has changed / unknown column / no such table */
            char msg[CDC__ERRMSG_MAX];
            snprintf(msg, sizeof msg, "%s", w->err.msg);
            rc = cdc__err_set(&w->err, CDC_ERR_SCHEMA,
                              "snapshot of %s.%s: the table's definition changed under the snapshot (server error "
                              "%u: %.200s); no row of the new definition is delivered",
                              t->t.db, t->t.name, se, msg);
            w->err.server_errno = se;
            break;
        }
        if (rc) {
            if (rc != CDC_ERR_STOPPED) cdc__err_prefix(&w->err, "snapshot of %s.%s", t->t.db, t->t.name);
            break;
        }
        first = false;
        bool more = !w->streamed && t->pageable && w->chunk_n == s->o->chunk_rows;
        if ((rc = flush_batch(w, true, !more))) break;
        if (!more) break;
    }
    cdc__buf_free(&sql);
    cdc__buf_free(&range);
    if (rc && w->cur) {
        batch_put(s, w->cur);
        w->cur = NULL;
    }
    return rc;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    snap *s = w->s;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        const snap_item *it = aborted(s) || s->next_item >= s->norder ? NULL : &s->items[s->order[s->next_item++]];
        pthread_mutex_unlock(&s->mu);
        if (!it) break;
        int rc = read_item(w, it);
        if (rc) {
            if (!aborted(s)) fail(s, rc, &w->err);
            break;
        }
    }
    pthread_mutex_lock(&s->mu);
    s->running--;
    pthread_cond_broadcast(&s->nonempty);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- the caller's side ------------------------------------------------- */

static int cb_error(cdc__err *err, const char *which, int rc)
{
    if (rc > 0) rc = CDC_ERR_CALLBACK;
    return cdc__err_set(err, rc, "snapshot: the %s callback returned %d", which, rc);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The figures of cdc_snapshot_progress for a boundary of table t. The
 * rate is over a window of at least RATE_WINDOW_S seconds (the run's
 * start before the first window closes). */
#define RATE_WINDOW_S 5.0
static void progress_figures(snap *s, const cdc__snap_table *t, cdc_snapshot_progress *p)
{
    double now = now_s();
    if (now - s->rate_t0 >= 2 * RATE_WINDOW_S) {
        /* slide: the rate of the last window becomes the base */
        s->rate = (double)(s->rows_run - s->rate_rows0) / (now - s->rate_t0);
        s->rate_t0 = now;
        s->rate_rows0 = s->rows_run;
    }
    double el = now - s->t_open;
    double rate = s->rate > 0 ? s->rate : el > 0 ? (double)s->rows_run / el : 0;
    if (now - s->rate_t0 >= RATE_WINDOW_S && now > s->rate_t0)
        rate = (double)(s->rows_run - s->rate_rows0) / (now - s->rate_t0);
    uint64_t left = 0;
    for (size_t i = 0; i < s->ntables; i++) {
        const cdc__snap_table *x = &s->tables[i];
        if (x->items_left && x->rows_est > x->rows_done) left += x->rows_est - x->rows_done;
    }
    /* a chunk is one keyset query: each item ends with one that comes back short */
    uint64_t chunks = 0;
    for (size_t k = 0; k < t->nitems; k++) chunks += s->items[t->item0 + k].est / s->o->chunk_rows + 1;
    *p = (cdc_snapshot_progress){
        .db = t->t.db,
        .table = t->t.name,
        .table_rows_done = t->rows_done,
        .table_rows_estimated = t->rows_est,
        .table_chunks_done = t->chunks_done,
        .table_chunks_estimated = chunks ? chunks : 1,
        .tables_done = s->tables_done,
        .tables_total = s->ntables,
        .rows_done = s->rows_run,
        .rows_estimated = s->rows_run + left,
        .elapsed_ms = (uint64_t)(el * 1000),
        .rows_per_sec = rate,
        .eta_ms = rate > 0 ? (int64_t)((double)left / rate * 1000) : left ? -1 : 0,
    };
}

/* The progress for a checkpoint (grammar in snapprog.h): done tables by
 * name, tables under way with each item's range and state. */
static int progress_text(snap *s, cdc__buf *out)
{
    cdc__buf_reset(out);
    int rc = CDC_OK;
    bool any = false;
    for (size_t i = 0; i < s->ntables && !rc; i++) {
        const cdc__snap_table *t = &s->tables[i];
        bool started = !t->items_left;
        for (size_t k = 0; k < t->nitems && !started; k++) started = s->items[t->item0 + k].state != CDC__SP_TODO;
        if (!started) continue;
        if (any) rc |= cdc__buf_putc(out, ',');
        any = true;
        rc |= cdc__snapprog_put_esc(out, (const uint8_t *)t->t.db, strlen(t->t.db));
        rc |= cdc__buf_putc(out, '.');
        rc |= cdc__snapprog_put_esc(out, (const uint8_t *)t->t.name, strlen(t->t.name));
        if (!t->items_left) continue;
        for (size_t k = 0; k < t->nitems && !rc; k++) {
            const snap_item *it = &s->items[t->item0 + k];
            rc |= cdc__buf_putc(out, '~');
            rc |= cdc__snapprog_put_range(out, it->has_lo, it->lo, it->has_hi, it->hi);
            if (it->state == CDC__SP_TODO) rc |= cdc__buf_putc(out, '-');
            else if (it->state == CDC__SP_DONE) rc |= cdc__buf_putc(out, '+');
            else rc |= cdc__buf_putc(out, 'k') | cdc__buf_append(out, it->done_key.data, it->done_key.len);
        }
    }
    if (!rc) rc = cdc__buf_terminate(out);
    return rc ? CDC_ERR_NOMEM : CDC_OK;
}

/* Delivers the rows of s->cur from s->cur_row on, then its progress.
 * CDC_ERR_PAUSED leaves the place in s->cur_* for the next call. */
static int deliver(snap *s, cdc__err *err)
{
    batch *b = s->cur;
    cdc__snap_table *t = &s->tables[b->table];
    cdc__reader r = cdc__rd(b->data.data + s->cur_off, b->data.len - s->cur_off);
    while (s->cur_stage == 0 && s->cur_row < b->nrows) {
        if (stopped(s)) return cdc__err_set(err, CDC_ERR_STOPPED, "snapshot: stopped on request");
        uint32_t len = cdc__rd_u32(&r);
        const uint8_t *p = cdc__rd_take(&r, len);
        if (!p) return cdc__err_set(err, CDC_ERR_PROTOCOL, "snapshot: batch truncated");
        int rc = cdc__snap_table_row(t, p, len, &s->row, err);
        if (rc) return rc;
        /* the row counts as delivered whatever the callback says: a pause
         * resumes after it */
        s->cur_row++;
        s->cur_off = b->data.len - cdc__rd_left(&r);
        t->rows_done++;
        s->rows_run++;
        if (s->cb->row && (rc = s->cb->row(&t->t, s->row.vals, s->row.present, s->cb->ud))) {
            if (rc == CDC_ERR_PAUSED) return rc;
            return cb_error(err, "row", rc);
        }
    }
    bool boundary = b->end_chunk || b->end_item;
    if (s->cur_stage == 0) {
        s->cur_stage = 1;
        snap_item *it = &s->items[b->item];
        if (b->end_item) {
            it->state = CDC__SP_DONE;
            if (--t->items_left == 0) s->tables_done++;
        } else if (b->end_chunk && b->key.len) {
            it->state = CDC__SP_AFTER;
            cdc__buf_reset(&it->done_key);
            if (cdc__buf_append(&it->done_key, b->key.data, b->key.len))
                return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
        }
        if (boundary) t->chunks_done++;
        if (boundary && s->cb->progress) {
            int rc = s->cb->progress(t->t.db, t->t.name, t->rows_done, t->rows_est, s->tables_done, s->ntables,
                                     s->cb->ud);
            if (rc == CDC_ERR_PAUSED) return rc;
            if (rc) return cb_error(err, "progress", rc);
        }
    }
    if (s->cur_stage == 1) {
        s->cur_stage = 2;
        if (boundary && s->cb->progress_ex) {
            cdc_snapshot_progress p;
            progress_figures(s, t, &p);
            int rc = s->cb->progress_ex(&p, s->cb->ud);
            if (rc == CDC_ERR_PAUSED) return rc;
            if (rc) return cb_error(err, "snapshot progress", rc);
        }
    }
    if (s->cur_stage == 2) {
        s->cur_stage = 3;
        if (boundary && s->cb->checkpoint) {
            int rc = progress_text(s, &s->ck);
            if (rc) return cdc__err_set(err, rc, "out of memory");
            rc = s->cb->checkpoint((const char *)s->ck.data, s->ck.len, s->cb->ud);
            if (rc == CDC_ERR_PAUSED) return rc;
            if (rc) return cb_error(err, "snapshot checkpoint", rc);
        }
    }
    return CDC_OK;
}

/* Interrupts what the workers are reading (a one-pass read of a big
 * table would otherwise drain its whole result first, and a paused
 * worker may be in the middle of one). Shutting the sockets down needs
 * no second connection and works however long the pause lasted. */
static void kill_workers(snap *s)
{
    for (size_t i = 0; i < s->nw; i++) {
        int fd = s->w[i].conn ? cdc__conn_fd(s->w[i].conn) : -1;
        if (fd >= 0) shutdown(fd, SHUT_RDWR);
    }
}

/* Stops and joins the workers (once). */
static void join_workers(snap *s)
{
    if (!s->started) return;
    if (s->err_code) kill_workers(s);
    for (size_t i = 0; i < s->nw; i++)
        if (s->w[i].started) pthread_join(s->w[i].thread, NULL);
    s->started = false;
}

int cdc__snap_run(snap *s, cdc__err *err)
{
    if (s->finished) return CDC_OK;
    if (s->err_code) {
        *err = s->err;
        return s->err_code;
    }
    int rc = CDC_OK;
    for (;;) {
        if (!s->cur) {
            bool stop_seen = false;
            if (!(s->cur = s->started ? pop(s, &stop_seen) : NULL)) {
                if (stop_seen) return cdc__err_set(err, CDC_ERR_STOPPED, "snapshot: stopped on request");
                break;
            }
            s->cur_off = 0;
            s->cur_row = 0;
            s->cur_stage = 0;
        }
        rc = deliver(s, err);
        if (rc == CDC_ERR_PAUSED || rc == CDC_ERR_STOPPED) return rc; /* the place is kept */
        if (rc) {
            fail(s, rc, err);
            break;
        }
        batch_put(s, s->cur);
        s->cur = NULL;
    }
    join_workers(s);
    if (s->err_code) {
        /* the first failure, whoever had it */
        *err = s->err;
        rc = s->err_code;
        if (!err->msg[0]) cdc__err_set(err, rc, "snapshot: %s", cdc_strerror(rc));
        return rc;
    }
    cdc__err e;
    for (size_t i = 0; i < s->nw; i++) cdc__conn_exec(s->w[i].conn, "COMMIT", &e);
    if ((rc = cdc__snap_gtid(s, err))) {
        fail(s, rc, err);
        return rc;
    }
    s->finished = true;
    return CDC_OK;
}

static int connect_one(snap *s, cdc__conn **c, bool worker_session, cdc__err *err);

int cdc__snap_gtid(snap *s, cdc__err *err)
{
    if (!s->gtid_pending) return CDC_OK;
    s->gtid_pending = false;
    int rc = cdc__snap_gtid_read(s->c0, s->a, s->point, s->cb->log, s->cb->ud, err);
    if (!rc || rc == CDC_ERR_NOMEM || rc == CDC_ERR_PURGED) return rc;
    /* The coordinator connection failed (lost, killed, timed out) while
     * the server worked out the position. The position is a function of
     * file:offset, which the server keeps until the file is purged (then
     * the new query says so): ask once more, on a new connection. */
    logf_(s, 1, "%s; asking again on a new connection", err->msg);
    cdc__conn_free(s->c0);
    s->c0 = NULL;
    cdc__err first = *err;
    rc = connect_one(s, &s->c0, false, err);
    if (!rc) rc = cdc__snap_gtid_send(s->c0, s->a, s->point, 0, err);
    if (!rc) rc = cdc__snap_gtid_read(s->c0, s->a, s->point, s->cb->log, s->cb->ud, err);
    if (rc) cdc__err_prefix(err, "%.300s; and again on a new connection", first.msg);
    return rc;
}

/* ---- the whole run ------------------------------------------------------ */

static int connect_one(snap *s, cdc__conn **c, bool worker_session, cdc__err *err)
{
    int rc = cdc__conn_new(c, s->a);
    if (rc) return cdc__err_set(err, rc, "out of memory");
    rc = cdc__conn_connect(*c, &s->o->conn, err);
    if (rc) return rc;
    if (!worker_session) return cdc__snap_exec(*c, "SET SESSION time_zone = '+00:00'", err);
    /* rows in 256 KiB wakeups instead of up to one per 16 KB the server
     * writes: fewer wakeups done by the server's thread and by ours, less
     * CPU on both sides (docs/performance.md, "the server's work per row") */
    cdc__conn_set_stream_lowat(*c, 256 * 1024);
    /* UTC for TIMESTAMP; column bytes as stored (no charset conversion),
     * as the binlog has them; no PAD_CHAR_TO_FULL_LENGTH; a consumer that
     * stalls (or pauses) must not make the server give up writing a long
     * result, nor drop a session waiting between chunks */
    rc = cdc__snap_exec(*c,
              "SET SESSION time_zone = '+00:00', character_set_results = NULL, sql_mode = '',"
              " net_write_timeout = 31536000, wait_timeout = 31536000",
              err);
    if (!rc) rc = cdc__snap_exec(*c, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", err);
    return rc;
}

/* A server (or a proxy before it) that cannot prepare statements gets the
 * text protocol for the whole snapshot, with a warning, instead of a
 * failed snapshot: one COM_STMT_PREPARE of "SELECT 1" on the first
 * connection tells, before any worker reads. */
static int probe_binary(snap *s, cdc__err *err)
{
    cdc__stmt_info st;
    cdc__err e;
    cdc__err_clear(&e);
    int rc = cdc__conn_prepare(s->conns[0], "SELECT 1", 8, &st, &e);
    if (rc == CDC_OK) return cdc__conn_stmt_close(s->conns[0], st.id, err);
    if (!e.server_errno) { /* the connection failed, not the statement */
        *err = e;
        return rc;
    }
    for (size_t i = 0; i < s->ntables; i++) s->tables[i].binary = false;
    if (s->cb->log) {
        char msg[CDC__ERRMSG_MAX + 96];
        snprintf(msg, sizeof msg, "snapshot: the server refuses prepared statements (error %u: %.200s); rows are "
                 "read in the text protocol", e.server_errno, e.msg);
        s->cb->log(1, rc, msg, s->cb->ud);
    }
    return CDC_OK;
}

void cdc__snap_free(snap *s)
{
    if (!s) return;
    if (s->started) {
        fail(s, CDC_ERR_STOPPED, NULL); /* wakes workers waiting on the queue */
        join_workers(s);
    }
    if (s->cur) batch_put(s, s->cur);
    for (size_t i = 0; s->conns && i < s->nw; i++) cdc__conn_free(s->conns[i]);
    for (size_t i = 0; i < s->nw; i++) {
        cdc__buf_free(&s->w[i].lastkey);
        cdc__free(s->a, s->w[i].last);
        cdc__free(s->a, s->w[i].last_len);
        cdc__free(s->a, s->w[i].vals);
        if (s->w[i].cur) batch_put(s, s->w[i].cur);
    }
    cdc__conn_free(s->c0);
    for (batch *b = s->head; b;) {
        batch *n = b->next;
        b->next = s->free_list;
        s->free_list = b;
        b = n;
    }
    while (s->free_list) {
        batch *n = s->free_list->next;
        cdc__buf_free(&s->free_list->data);
        cdc__buf_free(&s->free_list->key);
        cdc__free(s->a, s->free_list);
        s->free_list = n;
    }
    cdc__snap_tables_free(s->a, s->tables, s->ntables);
    for (size_t i = 0; i < s->nitems; i++) cdc__buf_free(&s->items[i].done_key);
    cdc__free(s->a, s->items);
    cdc__free(s->a, s->order);
    cdc__buf_free(&s->ck);
    cdc__free(s->a, s->w);
    cdc__free(s->a, s->conns);
    cdc__snap_row_free(&s->row);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->nonempty);
    pthread_cond_destroy(&s->nonfull);
    cdc__free(s->a, s);
}

int cdc__snap_open(snap **out, const cdc__snap_opts *o, const cdc__snap_cbs *cb, const cdc_allocator *a,
                   cdc__snap_point *point, cdc__err *err)
{
    *out = NULL;
    memset(point, 0, sizeof *point);
    a = cdc__allocator(a);
    if (o->parallelism < 1 || o->parallelism > 64 || o->chunk_rows < 1)
        return cdc__err_set(err, CDC_ERR_CONFIG, "snapshot: parallelism must be 1..64 and chunk rows at least 1");
    snap *s = cdc__calloc(a, 1, sizeof *s);
    if (!s) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    s->opts = *o;
    if (cb) s->cbs = *cb;
    s->o = &s->opts;
    s->cb = &s->cbs;
    s->a = a;
    s->point = point;
    cdc__snap_row_init(&s->row, a);
    cdc__buf_init(&s->ck, a);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->nonempty, NULL);
    pthread_cond_init(&s->nonfull, NULL);
    s->nw = o->no_data ? 1 : o->parallelism;
    s->cap = s->nw * QUEUE_BATCHES_PER_WORKER + 1;
    s->w = cdc__calloc(s->a, s->nw, sizeof *s->w);
    s->conns = cdc__calloc(s->a, s->nw, sizeof *s->conns);
    if (!s->w || !s->conns) {
        s->nw = 0;
        cdc__snap_free(s);
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }

    int rc = connect_one(s, &s->c0, false, err);
    if (!rc) s->mariadb = cdc__conn_server_version(s->c0)->flavour == CDC_FLAVOUR_MARIADB;
    for (size_t i = 0; i < s->nw; i++) {
        s->w[i].s = s;
        cdc__buf_init(&s->w[i].lastkey, s->a);
    }
    for (size_t i = 0; i < s->nw && !rc; i++) {
        rc = connect_one(s, &s->conns[i], true, err);
        s->w[i].conn = s->conns[i];
    }
    if (!rc) {
        cdc__snap_fixer fx = {
            .a = a,
            .coord = s->c0,
            .sessions = s->conns,
            .nsessions = s->nw,
            .mariadb = s->mariadb,
            .maria_lock = o->maria_lock,
            .no_data = o->no_data,
            /* MariaDB: BINLOG_GTID_POS reads the binlog up to the point,
             * which takes the server a while deep into a big file: it
             * runs while the rows are read, unless the point callback
             * (or no_data, or a benchmark) wants it now */
            .defer_gtid = s->mariadb && !s->cb->point && !o->no_data && !o->gtid_at_point,
            .lock_timeout_s = (o->lock_timeout_ms + 999) / 1000,
            .filter = &s->o->filter,
            .resume = o->resume,
            .test_after_point = o->test_after_point,
            .test_ud = o->test_ud,
            .log = s->cb->log,
            .log_ud = s->cb->ud,
        };
        rc = cdc__snap_fix_point(&fx, &s->tables, &s->ntables, point, err);
    }
    s->t_open = s->rate_t0 = now_s();
    if (!rc && s->cb->point) {
        rc = s->cb->point(point, s->cb->ud);
        if (rc) rc = cdc__err_set(err, rc > 0 ? CDC_ERR_CALLBACK : rc, "snapshot: the point callback returned %d", rc);
    }
    if (!rc && !o->no_data) rc = plan_items(s, err);
    bool binary = false;
    for (size_t i = 0; !rc && !o->text_protocol && i < s->ntables; i++)
        binary |= cdc__snap_table_use_binary(&s->tables[i]);
    if (!rc && binary) rc = probe_binary(s, err);
    if (!rc) {
        size_t maxcols = 1;
        for (size_t i = 0; i < s->ntables; i++)
            if (s->tables[i].t.ncols > maxcols) maxcols = s->tables[i].t.ncols;
        if (cdc__snap_row_alloc(&s->row, maxcols)) rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    if (!rc && s->mariadb && !point->gtid_set) {
        /* sent last on c0, which nothing else uses from here on;
         * cdc__snap_gtid() reads the reply */
        rc = cdc__snap_gtid_send(s->c0, s->a, point, o->test_gtid_delay_s, err);
        s->gtid_pending = rc == CDC_OK;
    }
    if (!rc && !o->no_data && s->nitems) {
        s->running = s->nw;
        s->started = true;
        for (size_t i = 0; i < s->nw; i++) {
            if (pthread_create(&s->w[i].thread, NULL, worker_main, &s->w[i])) {
                pthread_mutex_lock(&s->mu);
                s->running -= s->nw - i;
                pthread_mutex_unlock(&s->mu);
                cdc__err e;
                cdc__err_set(&e, CDC_ERR_NOMEM, "snapshot: cannot start a worker thread");
                fail(s, CDC_ERR_NOMEM, &e);
                break;
            }
            s->w[i].started = true;
        }
    }
    if (rc) {
        cdc__snap_free(s);
        cdc__snap_point_free(a, point);
        return rc;
    }
    *out = s;
    return CDC_OK;
}

int cdc__snapshot_run(const cdc__snap_opts *o, const cdc__snap_cbs *cb, const cdc_allocator *a,
                      cdc__snap_point *point, cdc__err *err)
{
    snap *s;
    int rc = cdc__snap_open(&s, o, cb, a, point, err);
    if (rc) return rc;
    while ((rc = cdc__snap_run(s, err)) == CDC_ERR_PAUSED) {
        /* nobody to resume later: go on at once */
    }
    cdc__snap_free(s);
    if (rc) cdc__snap_point_free(cdc__allocator(a), point);
    return rc;
}
