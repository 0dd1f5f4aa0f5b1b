/*
 * incremental.c: incremental snapshots while the stream runs
 * (incremental.h; docs/snapshot.md explains the algorithm and why each
 * watermark is exact).
 *
 * One chunk at a time. Signal-table mode: INSERT a low watermark row
 * into the signal table, SELECT the next chunk (keyset, primary-key
 * order, chunk-size rows), INSERT a high watermark row; each statement
 * autocommits, so in the binlog the low row comes before every change
 * the SELECT could not see and the high row after every change it saw.
 * While the stream is between the two rows, every change of the table
 * drops its keys (before and after image) from the chunk; when the
 * transaction of the high row ends, the remaining rows go out as op 'r'.
 * The next chunk is then read at once, the stream held right after that
 * high row: it is the next chunk's low watermark too (everything before
 * it in the binlog is committed and visible to the SELECT, and the
 * stream delivers everything after it only once the chunk is in memory),
 * so a run of chunks costs one watermark commit each, plus one low row
 * whenever the stream moved on between two chunks (the first chunk, a
 * pause). An empty chunk (the table's end) needs no high row.
 *
 * Read-only mode writes nothing. MySQL: @@GLOBAL.gtid_executed before
 * the SELECT is the low watermark L (MySQL adds a GTID there only after
 * the transaction committed in the engine, so all of L is visible to the
 * SELECT), after it the high watermark H; a transaction whose GTID is
 * not in L is in the window; the chunk goes out once every GTID of H has
 * been delivered (H is a subset of the stream's executed set). MariaDB
 * moves @@gtid_binlog_pos when a transaction is written to the binlog,
 * before the engine commits it, so a GTID there may still be invisible
 * to a SELECT: instead the chunk is read in START TRANSACTION WITH
 * CONSISTENT SNAPSHOT, whose binlog point P (binlog_snapshot_file and
 * _position) is exactly the boundary of what it sees: the low watermark.
 * The high watermark E is the binlog's end (SHOW MASTER STATUS) read
 * after the SELECT, before COMMIT: every DDL the SELECT saw is before E
 * (metadata lock), so the chunk, handed out when the stream reaches E,
 * comes after it, and the lazy definition check (check_ready) covers it
 * as for the other variants; changes between P and E drop their keys.
 */
#include "incremental.h"

#include <inttypes.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "config.h"
#include "conn.h"
#include "decoder.h"
#include "delivery.h"
#include "position.h"
#include "resultset.h"
#include "snapprog.h"
#include "snapshot.h"
#include "signal_data.h"
#include "snapshot_table.h"
#include "value.h"

/* A chunk holds at most chunk-size rows and, past the first row, this
 * many bytes of row text: rows after that are left for the next chunk. */
#define CHUNK_BYTES ((size_t)16 << 20)

enum { ST_IDLE, ST_WAIT_LOW, ST_OPEN, ST_HIGH_SEEN, ST_WAIT_END, ST_WAIT_GTID, ST_READY, ST_EMIT };

typedef struct req {
    struct req *next;
    char *db, *table, *cond;
    char *resume;               /* from a checkpoint: the escaped key to go on after, or NULL */
} req;

struct cdc__incr {
    cdc__incr_env env;
    const cdc_allocator *a;
    char sig_db[256], sig_table[256];   /* "" when no signal table */
    bool read_only;
    uint64_t chunk_size;

    pthread_mutex_t mu;                 /* guards the inbox and the controls below */
    req *inbox, **inbox_tail;
    bool ctl_pause, ctl_resume;
    bool ctl_stop_all;
    req *ctl_stop;                      /* tables to stop (db, table) */
    /* set under mu with anything above, cleared by take_inbox: read
     * without the lock by cdc__incr_pending, which is asked for every
     * event (a lock and unlock there were 1% of a typed replica's CPU) */
    atomic_bool mail;

    /* the stream's thread only */
    req *queue, **queue_tail;           /* tables waiting; queue is the current one */
    bool paused;
    cdc__conn *conn;
    bool mariadb;
    cdc__snap_one *one;                 /* the current table's description */
    cdc__buf last;                      /* key texts of the last row read, back to back */
    cdc_bytes *lastv;                   /* views into last */
    bool have_last, table_done;
    uint64_t table_rows, table_dropped;
    cdc__buf done_key;                  /* escaped key of the last row handed out ("" none) */
    cdc__buf start;                     /* the key texts the current chunk starts after (a second reading) */
    size_t *start_len;                  /* their lengths (nkey of them) */
    size_t start_cap;
    bool start_had;                     /* whether there is such a key (else the table's start) */
    bool ddl_seen;                      /* a statement that may be DDL was streamed since the last check */
    bool changed;                       /* the progress for the checkpoint changed */
    char run_id[24];
    uint64_t chunk_no;
    char low_id[64], high_id[64];
    int state;
    /* Signal-table mode: the stream stands right after the transaction of
     * this run's last high watermark, at mark_file:mark_off, and has
     * delivered nothing since. That watermark is then also the low
     * watermark of the next chunk (read_chunk() writes none). */
    bool at_mark;
    char mark_file[512];
    uint64_t mark_off;
    uint64_t table_chunks, table_marks; /* chunks read, watermark rows written, for the log */
    uint64_t table_checks;              /* information_schema reads of the definition, for the log */

    /* the chunk */
    cdc__buf rows;                      /* per row: u32 length, then its lenenc fields */
    size_t *row_off;
    uint8_t *alive;
    size_t nrows, cap;
    bool full;                          /* CHUNK_BYTES reached: later rows are the next chunk's */
    cdc__buf keys;                      /* per row: its key bytes (encode_key) */
    size_t *key_off, *key_len;
    uint32_t *hash;                     /* row index + 1, open addressing; 0 empty */
    size_t hash_cap;
    size_t emit_next;                   /* next row to hand out */
    uint64_t emit_seq;                  /* pos.row of the next row handed out */
    cdc__buf kb;                        /* scratch key of a change */
    cdc_bytes *fields;                  /* a row's fields (fields_cap of them) */
    size_t fields_cap;
    bool no_binary;                     /* the server refuses prepared statements: text protocol */
    bool cols_changed;                  /* the chunk's result columns differ from the description */

    /* watermarks of read-only mode */
    char *point_file, *end_file;        /* MariaDB: P, the read view's point, and E, the binlog's end after the read */
    uint64_t point_off, end_off;
    bool win_open;                      /* MariaDB: the stream has passed P; its changes are in the window */
    char chg_file[512];                 /* where the last transaction that changed the current table */
    uint64_t chg_off;                   /* began (the stream's position before it); "" none */
    cdc__gtid_set lo, win;              /* L, and H minus L: the window's GTIDs */
    cdc__err qerr;
};

static void ilog(cdc__incr *in, int level, int code, const char *fmt, ...) CDC__PRINTF(4, 5);
static void ilog(cdc__incr *in, int level, int code, const char *fmt, ...)
{
    if (!in->env.log) return;
    char msg[CDC__ERRMSG_MAX + 512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    in->env.log(level, code, msg, in->env.log_ud);
}

/* ---- requests ------------------------------------------------------------ */

static void req_free(const cdc_allocator *a, req *r)
{
    while (r) {
        req *n = r->next;
        cdc__free(a, r->db);
        cdc__free(a, r->table);
        cdc__free(a, r->cond);
        cdc__free(a, r->resume);
        cdc__free(a, r);
        r = n;
    }
}

/* "db.table" split at its first dot; both parts non-empty. */
static req *req_make(const cdc_allocator *a, const char *name, const char *cond)
{
    const char *dot = name ? strchr(name, '.') : NULL;
    if (!dot || dot == name || !dot[1] || (size_t)(dot - name) >= 256 || strlen(dot + 1) >= 256) return NULL;
    req *r = cdc__calloc(a, 1, sizeof *r);
    if (!r) return NULL;
    r->db = cdc__strndup(a, name, (size_t)(dot - name));
    r->table = cdc__strndup(a, dot + 1, strlen(dot + 1));
    r->cond = cond && *cond ? cdc__strndup(a, cond, strlen(cond)) : NULL;
    if (!r->db || !r->table || (cond && *cond && !r->cond)) {
        req_free(a, r);
        return NULL;
    }
    return r;
}

int cdc__incr_new(cdc__incr **out, const cdc__incr_env *env, cdc__err *err)
{
    *out = NULL;
    const cdc_allocator *a = cdc__allocator(env->alloc);
    cdc__incr *in = cdc__calloc(a, 1, sizeof *in);
    if (!in) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    in->env = *env;
    in->a = a;
    pthread_mutex_init(&in->mu, NULL);
    atomic_init(&in->mail, false);
    in->inbox_tail = &in->inbox;
    in->queue_tail = &in->queue;
    cdc__buf_init(&in->last, a);
    cdc__buf_init(&in->start, a);
    cdc__buf_init(&in->rows, a);
    cdc__buf_init(&in->keys, a);
    cdc__buf_init(&in->kb, a);
    cdc__buf_init(&in->done_key, a);
    cdc__gtid_set_init(&in->lo, a);
    cdc__gtid_set_init(&in->win, a);
    in->read_only = cdc__config_bool(env->cfg, CDC_CFG_READ_ONLY);
    in->chunk_size = (uint64_t)cdc__config_int(env->cfg, CDC_CFG_INCREMENTAL_CHUNK_SIZE);
    const char *sig = cdc__config_str(env->cfg, CDC_CFG_SIGNAL_DATA_COLLECTION);
    if (sig && *sig) {
        const char *dot = strchr(sig, '.');
        if (!dot || dot == sig || !dot[1] || (size_t)(dot - sig) >= sizeof in->sig_db ||
            strlen(dot + 1) >= sizeof in->sig_table) {
            cdc__incr_free(in);
            return cdc__err_set(err, CDC_ERR_CONFIG, "signal.data.collection: '%s' is not db.table", sig);
        }
        snprintf(in->sig_db, sizeof in->sig_db, "%.*s", (int)(dot - sig), sig);
        snprintf(in->sig_table, sizeof in->sig_table, "%s", dot + 1);
    }
    /* the watermark ids of this run: unique enough among runs */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(in->run_id, sizeof in->run_id, "%08llx%06lx", (unsigned long long)(ts.tv_sec & 0xffffffff),
             (unsigned long)((ts.tv_nsec / 1000) ^ ((uintptr_t)in >> 4)) & 0xffffff);
    *out = in;
    return CDC_OK;
}

static void chunk_clear(cdc__incr *in)
{
    cdc__buf_reset(&in->rows);
    cdc__buf_reset(&in->keys);
    in->nrows = 0;
    in->emit_next = 0;
    if (in->hash) memset(in->hash, 0, in->hash_cap * sizeof *in->hash);
}

/* The current table is over (done, stopped or failed). */
static void table_end(cdc__incr *in)
{
    cdc__snap_one_free(in->one);
    in->one = NULL;
    in->have_last = in->table_done = false;
    in->table_rows = in->table_dropped = in->table_chunks = in->table_marks = in->table_checks = 0;
    in->state = ST_IDLE;
    in->changed = true;
    in->chg_file[0] = 0;
    cdc__buf_reset(&in->done_key);
    chunk_clear(in);
    req *r = in->queue;
    if (r) {
        in->queue = r->next;
        if (!in->queue) in->queue_tail = &in->queue;
        r->next = NULL;
        req_free(in->a, r);
    }
}

void cdc__incr_free(cdc__incr *in)
{
    if (!in) return;
    cdc__snap_one_free(in->one);
    cdc__conn_free(in->conn);
    req_free(in->a, in->inbox);
    req_free(in->a, in->queue);
    req_free(in->a, in->ctl_stop);
    cdc__buf_free(&in->last);
    cdc__buf_free(&in->start);
    cdc__free(in->a, in->start_len);
    cdc__free(in->a, in->fields);
    cdc__buf_free(&in->rows);
    cdc__buf_free(&in->keys);
    cdc__buf_free(&in->kb);
    cdc__buf_free(&in->done_key);
    cdc__free(in->a, in->lastv);
    cdc__free(in->a, in->row_off);
    cdc__free(in->a, in->alive);
    cdc__free(in->a, in->key_off);
    cdc__free(in->a, in->key_len);
    cdc__free(in->a, in->hash);
    cdc__free(in->a, in->point_file);
    cdc__free(in->a, in->end_file);
    cdc__gtid_set_free(&in->lo);
    cdc__gtid_set_free(&in->win);
    pthread_mutex_destroy(&in->mu);
    cdc__free(in->a, in);
}

int cdc__incr_request(cdc__incr *in, const char *table, const char *cond, cdc__err *err)
{
    const char *dot = table ? strchr(table, '.') : NULL;
    if (!dot || dot == table || !dot[1] || (size_t)(dot - table) >= 256 || strlen(dot + 1) >= 256)
        return cdc__err_set(err, CDC_ERR_INVALID, "incremental snapshot: '%s' is not db.table",
                            table ? table : "(null)");
    req *r = req_make(in->a, table, cond);
    if (!r) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    if (!in->read_only && !in->sig_db[0]) {
        req_free(in->a, r);
        return cdc__err_set(err, CDC_ERR_CONFIG, "incremental snapshot: set signal.data.collection (the table the "
                                                 "watermarks are written to) or read.only=true");
    }
    if (!cdc__filter_table(in->env.filter, r->db, r->table)) {
        cdc__err_set(err, CDC_ERR_INVALID,
                     "incremental snapshot: %s.%s is not captured by the stream's filters (table.include.list...)",
                     r->db, r->table);
        req_free(in->a, r);
        return CDC_ERR_INVALID;
    }
    pthread_mutex_lock(&in->mu);
    *in->inbox_tail = r;
    in->inbox_tail = &r->next;
    atomic_store(&in->mail, true);
    pthread_mutex_unlock(&in->mu);
    return CDC_OK;
}

int cdc__incr_control(cdc__incr *in, int what, const char *table)
{
    req *r = NULL;
    if (what == CDC_SNAPSHOT_CTL_STOP && table && !(r = req_make(in->a, table, NULL))) return CDC_ERR_INVALID;
    pthread_mutex_lock(&in->mu);
    switch (what) {
    case CDC_SNAPSHOT_CTL_PAUSE: in->ctl_pause = true; in->ctl_resume = false; break;
    case CDC_SNAPSHOT_CTL_RESUME: in->ctl_resume = true; in->ctl_pause = false; break;
    case CDC_SNAPSHOT_CTL_STOP:
        if (r) {
            r->next = in->ctl_stop;
            in->ctl_stop = r;
        } else {
            in->ctl_stop_all = true;
        }
        break;
    default:
        pthread_mutex_unlock(&in->mu);
        return CDC_ERR_INVALID;
    }
    atomic_store(&in->mail, true);
    pthread_mutex_unlock(&in->mu);
    return CDC_OK;
}

/* Stops the snapshot of db.table (NULL: all): queued or in progress. A
 * chunk already read is dropped; its rows are never handed out. */
static void stop_tables(cdc__incr *in, const char *db, const char *table)
{
    if (!in->queue) return;
    in->changed = true;
    bool all = !db;
    if (all || (!strcmp(in->queue->db, db) && !strcmp(in->queue->table, table))) {
        ilog(in, 2, CDC_OK, "incremental snapshot of %s.%s stopped after %" PRIu64 " rows", in->queue->db,
             in->queue->table, in->table_rows);
        table_end(in);
    }
    for (req **pp = &in->queue; *pp;) {
        req *r = *pp;
        if (all || (!strcmp(r->db, db) && !strcmp(r->table, table))) {
            *pp = r->next;
            r->next = NULL;
            req_free(in->a, r);
        } else {
            pp = &r->next;
        }
    }
    in->queue_tail = &in->queue;
    while (*in->queue_tail) in->queue_tail = &(*in->queue_tail)->next;
}

/* Takes what other threads sent: new tables and controls. */
static void take_inbox(cdc__incr *in)
{
    pthread_mutex_lock(&in->mu);
    req *r = in->inbox, *stops = in->ctl_stop;
    bool all = in->ctl_stop_all, pause = in->ctl_pause, resume = in->ctl_resume;
    in->inbox = NULL;
    in->inbox_tail = &in->inbox;
    in->ctl_stop = NULL;
    in->ctl_stop_all = in->ctl_pause = in->ctl_resume = false;
    atomic_store(&in->mail, false);
    pthread_mutex_unlock(&in->mu);
    if (all) stop_tables(in, NULL, NULL);
    for (req *s = stops; s; s = s->next) stop_tables(in, s->db, s->table);
    req_free(in->a, stops);
    if (pause) in->paused = true;
    if (resume) in->paused = false;
    if (r || all || stops) in->changed = true;
    while (r) {
        req *n = r->next;
        r->next = NULL;
        *in->queue_tail = r;
        in->queue_tail = &r->next;
        r = n;
    }
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* ---- progress in the checkpoint ---------------------------------------------- */

static int unesc(const char *s, size_t n, cdc__buf *out);

bool cdc__incr_progress_changed(cdc__incr *in)
{
    take_inbox(in);
    bool c = in->changed;
    in->changed = false;
    return c;
}

int cdc__incr_progress(cdc__incr *in, cdc__buf *out)
{
    cdc__buf_reset(out);
    int rc = CDC_OK;
    for (const req *r = in->queue; r && !rc; r = r->next) {
        if (r != in->queue) rc |= cdc__buf_putc(out, ',');
        rc |= cdc__snapprog_put_esc(out, (const uint8_t *)r->db, strlen(r->db));
        rc |= cdc__buf_putc(out, '.');
        rc |= cdc__snapprog_put_esc(out, (const uint8_t *)r->table, strlen(r->table));
        bool mine = r == in->queue && in->done_key.len; /* else what a checkpoint gave, if anything */
        const char *key = mine ? (const char *)in->done_key.data : r->resume;
        size_t klen = mine ? in->done_key.len : r->resume ? strlen(r->resume) : 0;
        if (klen) {
            rc |= cdc__buf_puts(out, "~k");
            rc |= cdc__buf_append(out, key, klen);
        }
        if (r->cond) {
            rc |= cdc__buf_puts(out, "~w");
            rc |= cdc__snapprog_put_esc(out, (const uint8_t *)r->cond, strlen(r->cond));
        }
    }
    return rc ? CDC_ERR_NOMEM : CDC_OK;
}

int cdc__incr_restore(cdc__incr *in, const char *text, size_t len, cdc__err *err)
{
    cdc__buf db, tb, cond, key;
    cdc__buf_init(&db, in->a);
    cdc__buf_init(&tb, in->a);
    cdc__buf_init(&cond, in->a);
    cdc__buf_init(&key, in->a);
    int rc = CDC_OK;
    const char *p = text, *end = text + len;
    while (p < end && !rc) {
        const char *e = memchr(p, ',', (size_t)(end - p));
        if (!e) e = end;
        /* name "." name, then ~k and ~w parts */
        const char *t = memchr(p, '~', (size_t)(e - p));
        if (!t) t = e;
        const char *dot = memchr(p, '.', (size_t)(t - p));
        cdc__buf_reset(&db);
        cdc__buf_reset(&tb);
        cdc__buf_reset(&cond);
        cdc__buf_reset(&key);
        bool has_cond = false;
        if (!dot || unesc(p, (size_t)(dot - p), &db) || unesc(dot + 1, (size_t)(t - dot - 1), &tb) || !db.len ||
            !tb.len)
            rc = CDC_ERR_INVALID;
        while (!rc && t < e) {
            const char *n = memchr(t + 1, '~', (size_t)(e - t - 1));
            if (!n) n = e;
            if (n - t < 2) rc = CDC_ERR_INVALID;
            else if (t[1] == 'k' && !key.len) rc = cdc__buf_append(&key, t + 2, (size_t)(n - t - 2)) ? CDC_ERR_NOMEM : 0;
            else if (t[1] == 'w' && !has_cond) rc = unesc(t + 2, (size_t)(n - t - 2), &cond), has_cond = true;
            else rc = CDC_ERR_INVALID;
            t = n;
        }
        if (!rc && (cdc__buf_terminate(&db) || cdc__buf_terminate(&tb) || cdc__buf_terminate(&cond) ||
                    cdc__buf_terminate(&key)))
            rc = CDC_ERR_NOMEM;
        if (!rc && (memchr(db.data, 0, db.len) || memchr(tb.data, 0, tb.len) || memchr(cond.data, 0, cond.len)))
            rc = CDC_ERR_INVALID;
        req *r = NULL;
        if (!rc && !(r = cdc__calloc(in->a, 1, sizeof *r))) rc = CDC_ERR_NOMEM;
        if (r) {
            r->db = cdc__strndup(in->a, (const char *)db.data, db.len);
            r->table = cdc__strndup(in->a, (const char *)tb.data, tb.len);
            r->cond = has_cond ? cdc__strndup(in->a, (const char *)cond.data, cond.len) : NULL;
            r->resume = key.len ? cdc__strndup(in->a, (const char *)key.data, key.len) : NULL;
            if (!r->db || !r->table || (has_cond && !r->cond) || (key.len && !r->resume)) rc = CDC_ERR_NOMEM;
            if (!rc && !cdc__filter_table(in->env.filter, r->db, r->table)) {
                ilog(in, 1, CDC_OK, "the checkpoint's incremental snapshot of %s.%s is dropped: the filters no "
                                    "longer capture the table", r->db, r->table);
                req_free(in->a, r);
                r = NULL;
            }
            if (r && rc) {
                req_free(in->a, r);
                r = NULL;
            }
            if (r) {
                *in->queue_tail = r;
                in->queue_tail = &r->next;
            }
        }
        p = e + 1;
    }
    cdc__buf_free(&db);
    cdc__buf_free(&tb);
    cdc__buf_free(&cond);
    cdc__buf_free(&key);
    if (rc == CDC_ERR_NOMEM) return cdc__err_set(err, rc, "out of memory");
    if (rc) return cdc__err_set(err, CDC_ERR_INVALID, "checkpoint: incr: '%.*s' is not a list of "
                                                      "db.table[~kKEY][~wCONDITION]", (int)(len > 200 ? 200 : len), text);
    in->changed = true;
    return CDC_OK;
}

/* ---- keys ------------------------------------------------------------------ */

/* A key value as bytes that are equal exactly when the values are: the
 * snapshot's and the binlog's forms of one value are the same cdc_value. */
static int encode_key(cdc__buf *out, const cdc_value *v)
{
    uint8_t hdr[2] = {v->kind, (uint8_t)(v->flags & CDC_VF_ZERO_DATE)};
    int rc = cdc__buf_append(out, hdr, sizeof hdr);
    switch (v->kind) {
    case CDC_K_INT: case CDC_K_YEAR: rc |= cdc__buf_append(out, &v->v.i, sizeof v->v.i); break;
    case CDC_K_UINT: case CDC_K_BIT: case CDC_K_ENUM: case CDC_K_SET:
        rc |= cdc__buf_append(out, &v->v.u, sizeof v->v.u);
        break;
    case CDC_K_FLOAT: rc |= cdc__buf_append(out, &v->v.f, sizeof v->v.f); break;
    case CDC_K_DOUBLE: rc |= cdc__buf_append(out, &v->v.d, sizeof v->v.d); break;
    case CDC_K_DATE: case CDC_K_TIME: case CDC_K_DATETIME: {
        const cdc__temporal *t = &v->v.tm;
        int64_t f[8] = {t->year, t->month, t->day, t->hour, t->minute, t->second, t->usec, t->neg};
        rc |= cdc__buf_append(out, f, sizeof f);
        break;
    }
    case CDC_K_TIMESTAMP: {
        int64_t f[2] = {v->v.ts.sec, v->v.ts.usec};
        rc |= cdc__buf_append(out, f, sizeof f);
        break;
    }
    case CDC_K_NULL: break;
    default: {
        uint64_t n = v->v.b.len;
        rc |= cdc__buf_append(out, &n, sizeof n);
        if (n) rc |= cdc__buf_append(out, v->v.b.ptr, v->v.b.len);
        break;
    }
    }
    return rc;
}

static uint32_t hash_bytes(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static int chunk_reserve(cdc__incr *in)
{
    size_t want = (size_t)in->chunk_size;
    if (in->cap >= want) return CDC_OK;
    size_t hc = 16;
    while (hc < 2 * want) hc *= 2;
    in->row_off = cdc__realloc(in->a, in->row_off, want * sizeof *in->row_off);
    in->alive = in->row_off ? cdc__realloc(in->a, in->alive, want) : NULL;
    in->key_off = in->alive ? cdc__realloc(in->a, in->key_off, want * sizeof *in->key_off) : NULL;
    in->key_len = in->key_off ? cdc__realloc(in->a, in->key_len, want * sizeof *in->key_len) : NULL;
    cdc__free(in->a, in->hash);
    in->hash = in->key_len ? cdc__calloc(in->a, hc, sizeof *in->hash) : NULL;
    if (!in->hash) return CDC_ERR_NOMEM;
    in->cap = want;
    in->hash_cap = hc;
    return CDC_OK;
}

/* Drops the chunk row whose key bytes are k (if any). */
static void drop_key(cdc__incr *in, const uint8_t *k, size_t n)
{
    size_t m = in->hash_cap - 1;
    for (size_t i = hash_bytes(k, n) & m;; i = (i + 1) & m) {
        uint32_t e = in->hash[i];
        if (!e) return;
        size_t r = e - 1;
        if (in->key_len[r] == n && !memcmp(in->keys.data + in->key_off[r], k, n)) {
            if (in->alive[r]) in->table_dropped++;
            in->alive[r] = 0;
            return;
        }
    }
}

/* The key of one image of a change of the current table into in->kb;
 * false when the image lacks a key column. */
static bool change_key(cdc__incr *in, const cdc_change *c, bool after)
{
    cdc__buf_reset(&in->kb);
    size_t nk = cdc__snap_one_nkey(in->one), ncols = cdc_table_column_count(cdc_change_table(c));
    for (size_t k = 0; k < nk; k++) {
        size_t i = cdc__snap_one_key_column(in->one, k);
        if (i >= ncols) return false;
        const cdc_value *v = after ? cdc_change_after(c, i) : cdc_change_before(c, i);
        if (!v || encode_key(&in->kb, v)) return false;
    }
    return true;
}

/* ---- the stream's hooks ---------------------------------------------------- */

/* A column of a signal row as text ("" when absent or not a string). */
static void sig_field(const cdc_change *c, size_t i, char *out, size_t cap)
{
    out[0] = 0;
    if (i >= cdc_table_column_count(cdc_change_table(c))) return;
    const cdc_value *v = cdc_change_after(c, i);
    if (!v || (v->kind != CDC_K_STRING && v->kind != CDC_K_BYTES && v->kind != CDC_K_JSON)) return;
    size_t n = v->v.b.len < cap - 1 ? v->v.b.len : cap - 1;
    if (n) memcpy(out, v->v.b.ptr, n);
    out[n] = 0;
}

typedef struct sig_ctx {
    cdc__incr *in;
    const char *id, *type;
    int count;
} sig_ctx;

static int connect(cdc__incr *in);
static int sig_add_name(sig_ctx *x, const char *table, const char *cond);

/* A data-collections entry with a character of regular-expression syntax
 * besides '.' is a pattern (Debezium's entries are all patterns; a plain
 * db.table stays an exact name, so its dot only matches a dot). */
static bool is_pattern(const char *s) { return strpbrk(s, "\\^$*+?()[]{}|") != NULL; }

/* The captured base tables whose "db.table" the POSIX extended regular
 * expression pat matches whole (anchored at both ends, as Debezium),
 * each through sig_add_name() with cond; queued snapshots only for
 * stop-snapshot. Reported on the log callback when it matches none. */
static int sig_add_pattern(sig_ctx *x, const char *pat, const char *cond)
{
    cdc__incr *in = x->in;
    size_t pl = strlen(pat);
    char *anchored = cdc__malloc(in->a, pl + 5);
    if (!anchored) return CDC_ERR_NOMEM;
    snprintf(anchored, pl + 5, "^(%s)$", pat);
    regex_t re;
    int rerr = regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB);
    cdc__free(in->a, anchored);
    if (rerr) {
        char why[128];
        regerror(rerr, &re, why, sizeof why);
        ilog(in, 0, CDC_ERR_INVALID, "signal %s (%s): data-collections entry '%s' is not a regular expression: %s",
             x->id, x->type, pat, why);
        return 0;
    }
    int before = x->count, rc = 0;
    char name[520];
    if (!strcmp(x->type, "stop-snapshot")) {
        /* the queue changes as tables stop: look again from its head */
        for (bool again = true; again;) {
            again = false;
            for (const req *r = in->queue; r; r = r->next) {
                snprintf(name, sizeof name, "%s.%s", r->db, r->table);
                if (regexec(&re, name, 0, NULL, 0)) continue;
                /* stop_tables() frees r: its names are copied first */
                char db[260], tn[260];
                snprintf(db, sizeof db, "%s", r->db);
                snprintf(tn, sizeof tn, "%s", r->table);
                stop_tables(in, db, tn);
                x->count++;
                again = true;
                break;
            }
        }
    } else {
        cdc__result *res = NULL;
        rc = connect(in);
        if (!rc)
            rc = cdc__conn_query_result(in->conn,
                                        "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES"
                                        " WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY 1, 2",
                                        &res, &in->qerr);
        if (rc) {
            ilog(in, 0, rc, "signal %s (execute-snapshot): listing the tables for '%s': %s", x->id, pat,
                 in->qerr.msg);
            rc = 0;
        }
        for (size_t i = 0; res && i < cdc__result_rows(res) && !rc; i++) {
            const char *db = cdc__result_get(res, i, 0), *tn = cdc__result_get(res, i, 1);
            if (!db || !tn || (in->sig_db[0] && !strcmp(db, in->sig_db) && !strcmp(tn, in->sig_table)) ||
                !cdc__filter_table(in->env.filter, db, tn))
                continue;
            if ((size_t)snprintf(name, sizeof name, "%s.%s", db, tn) >= sizeof name ||
                regexec(&re, name, 0, NULL, 0))
                continue;
            rc = sig_add_name(x, name, cond); /* an exact name, whatever characters it has */
        }
        cdc__result_free(res);
    }
    regfree(&re);
    if (!rc && x->count == before)
        ilog(in, 1, CDC_OK, "signal %s (%s): data-collections pattern '%s' matches no %s table", x->id, x->type,
             pat, strcmp(x->type, "stop-snapshot") ? "captured" : "queued");
    if (x->count == before) x->count++; /* an entry was given: not "no data-collections" */
    return rc;
}

static int sig_add(const char *table, const char *cond, void *ud)
{
    sig_ctx *x = ud;
    return is_pattern(table) ? sig_add_pattern(x, table, cond) : sig_add_name(x, table, cond);
}

static int sig_add_name(sig_ctx *x, const char *table, const char *cond)
{
    cdc__incr *in = x->in;
    x->count++;
    if (!strcmp(x->type, "stop-snapshot")) {
        req *r = req_make(in->a, table, NULL);
        if (r) stop_tables(in, r->db, r->table);
        req_free(in->a, r);
        return 0;
    }
    cdc__err e = {0};
    if (cdc__incr_request(in, table, cond, &e))
        ilog(in, 0, e.code, "signal %s (execute-snapshot): %s", x->id, e.msg);
    else
        ilog(in, 2, CDC_OK, "signal %s: incremental snapshot of %s%s%s queued", x->id, table, cond ? " where " : "",
             cond ? cond : "");
    return 0;
}

/* A row inserted into the signal table by someone: a Debezium signal. */
static void on_signal(cdc__incr *in, const char *id, const char *type, const char *data)
{
    if (!strcmp(type, "pause-snapshot")) {
        in->paused = true;
        ilog(in, 2, CDC_OK, "signal %s: incremental snapshots paused", id);
    } else if (!strcmp(type, "resume-snapshot")) {
        in->paused = false;
        ilog(in, 2, CDC_OK, "signal %s: incremental snapshots resumed", id);
    } else if (!strcmp(type, "execute-snapshot") || !strcmp(type, "stop-snapshot")) {
        char kind[32];
        sig_ctx x = {in, id, type, 0};
        cdc__err e = {0};
        if (cdc__signal_data_parse(data, strlen(data), kind, sizeof kind, sig_add, &x, in->a, &e)) {
            ilog(in, 0, e.code, "signal %s (%s): %s", id, type, e.msg);
            return;
        }
        if (*kind && strcmp(kind, "incremental") && strcmp(kind, "INCREMENTAL"))
            ilog(in, 1, CDC_OK, "signal %s: snapshot type '%s' is not supported (only incremental); %s", id, kind,
                 !strcmp(type, "stop-snapshot") ? "stopped anyway" : "taken as incremental");
        if (!strcmp(type, "stop-snapshot") && x.count == 0) {
            stop_tables(in, NULL, NULL);
            ilog(in, 2, CDC_OK, "signal %s: all incremental snapshots stopped", id);
        } else if (!strcmp(type, "execute-snapshot") && x.count == 0) {
            ilog(in, 0, CDC_ERR_INVALID, "signal %s (execute-snapshot): no data-collections", id);
        }
    }
    /* other types (log, snapshot-window-* of other readers...) are not ours */
}

/* Whether the position is at or after file:off (false while its file is unknown). */
static bool pos_at_least(const cdc_position *pos, const char *file, uint64_t off)
{
    if (!pos->file.len || !file) return false;
    int c = cdc__binlog_name_cmp(cdc_position_file(pos), file);
    return c > 0 || (c == 0 && pos->offset >= off);
}

static int on_change(cdc__incr *in, const cdc_change *c, const cdc__gtid *gid)
{
    in->at_mark = false; /* the stream has gone past it */
    /* no signal table, no snapshot under way: nothing below applies (the
     * usual case, for every row change of a stream) */
    if (!in->sig_db[0] && in->state == ST_IDLE && !in->queue) return 0;
    const cdc_table *t = cdc_change_table(c);
    const char *db = cdc_table_db(t), *name = cdc_table_name(t);
    if (in->sig_db[0] && !strcmp(db, in->sig_db) && !strcmp(name, in->sig_table)) {
        if (cdc_change_op(c) != 'c') return 1;
        char id[128], type[64], data[16384]; /* data VARCHAR(2048) of 4-byte characters fits */
        sig_field(c, 0, id, sizeof id);
        sig_field(c, 1, type, sizeof type);
        if (in->state == ST_WAIT_LOW && !strcmp(id, in->low_id)) {
            in->state = ST_OPEN;
        } else if (in->state == ST_OPEN && !strcmp(id, in->high_id)) {
            in->state = ST_HIGH_SEEN;
        } else if (strncmp(type, "snapshot-window-", 16)) {
            sig_field(c, 2, data, sizeof data);
            on_signal(in, id, type, data);
        }
        return 1;
    }
    /* MariaDB read-only: a transaction that starts at or after P (the
     * stream's safe position, the end of the one before, has reached P)
     * is after the read view; cdc__incr_boundary() says so too */
    if (in->state == ST_WAIT_END && !in->win_open && in->env.dv)
        in->win_open = pos_at_least(&in->env.dv->safe, in->point_file, in->point_off);
    if (in->env.dv && in->queue && !strcmp(db, in->queue->db) && !strcmp(name, in->queue->table)) {
        const char *f = cdc_position_file(&in->env.dv->safe);
        size_t n = strlen(f);
        if (n < sizeof in->chg_file) {
            memcpy(in->chg_file, f, n + 1);
            in->chg_off = in->env.dv->safe.offset;
        }
    }
    bool window = in->state == ST_OPEN || (in->state == ST_WAIT_END && in->win_open) ||
                  (in->state == ST_WAIT_GTID && gid->kind != CDC__GTID_NONE && !cdc__gtid_set_contains(&in->lo, gid));
    if (!window || !in->nrows || !in->queue || strcmp(db, in->queue->db) || strcmp(name, in->queue->table)) return 0;
    char op = cdc_change_op(c);
    if (op != 'c' && change_key(in, c, false)) drop_key(in, in->kb.data, in->kb.len);
    if (op != 'd' && change_key(in, c, true)) drop_key(in, in->kb.data, in->kb.len);
    return 0;
}

static bool point_reached(const cdc__incr *in, const cdc_position *safe)
{
    /* every transaction up to the binlog's end after the read delivered */
    if (in->state == ST_WAIT_END) return pos_at_least(safe, in->end_file, in->end_off);
    /* every transaction of the window delivered: those of H not in L
     * (the rest of H is in L, delivered or not, and visible to the read) */
    if (in->state == ST_WAIT_GTID) return safe->gtid_known && cdc__gtid_set_is_subset(&in->win, &safe->gtids);
    return in->state == ST_HIGH_SEEN;
}

/* The stream stands at the end of the transaction of a high watermark
 * row (state ST_HIGH_SEEN): remember where, so that the next chunk read
 * before the stream moves on can open its window there. */
static void set_mark(cdc__incr *in, const cdc_position *safe)
{
    const char *f = cdc_position_file(safe);
    size_t n = strlen(f);
    in->at_mark = n && n < sizeof in->mark_file;
    if (!in->at_mark) return;
    memcpy(in->mark_file, f, n + 1);
    in->mark_off = safe->offset;
}

/* Whether the stream still stands where set_mark() saw it: nothing
 * delivered since (on_change() clears at_mark) and the same position. */
static bool still_at_mark(const cdc__incr *in, const cdc_position *safe)
{
    return in->at_mark && safe->offset == in->mark_off && !strcmp(cdc_position_file(safe), in->mark_file);
}

bool cdc__incr_boundary(cdc__incr *in, const cdc_position *safe)
{
    if (in->state == ST_READY || in->state == ST_EMIT) return true;
    if (in->state == ST_WAIT_END && !in->win_open) in->win_open = pos_at_least(safe, in->point_file, in->point_off);
    if (!point_reached(in, safe)) return false;
    if (in->state == ST_HIGH_SEEN) set_mark(in, safe);
    in->state = ST_READY;
    return true;
}

void cdc__incr_query(cdc__incr *in) { in->ddl_seen = true; }

bool cdc__incr_pending(cdc__incr *in)
{
    if (in->state == ST_READY || in->state == ST_EMIT) return true;
    if (in->state == ST_WAIT_END || in->state == ST_WAIT_GTID) return true; /* checked against the position */
    if (in->state != ST_IDLE) return false;
    return atomic_load(&in->mail) || (in->queue && !in->paused);
}

/* ---- reading a chunk ---------------------------------------------------------- */

static int run_sql(cdc__incr *in, const char *sql)
{
    int rc = cdc__conn_exec(in->conn, sql, &in->qerr);
    if (rc) cdc__err_prefix(&in->qerr, "%.80s", sql);
    return rc;
}

static int connect(cdc__incr *in)
{
    if (in->conn) return CDC_OK;
    cdc__conn_opts o;
    cdc__conn_opts_from_config(in->env.cfg, &o);
    int rc = cdc__conn_new(&in->conn, in->a);
    if (rc) return cdc__err_set(&in->qerr, rc, "out of memory");
    rc = cdc__conn_connect(in->conn, &o, &in->qerr);
    /* as the snapshot's workers: UTC, bytes as stored, no padding, and a
     * read that sees everything committed before it */
    if (!rc)
        rc = run_sql(in, "SET SESSION time_zone = '+00:00', character_set_results = NULL, sql_mode = '',"
                         " autocommit = 1");
    if (!rc) rc = run_sql(in, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    if (!rc) {
        /* chunks in the binary protocol, unless the server (or a proxy
         * before it) cannot prepare statements: one prepare tells */
        cdc__stmt_info st;
        cdc__err e;
        cdc__err_clear(&e);
        int p = cdc__conn_prepare(in->conn, "SELECT 1", 8, &st, &e);
        if (p == CDC_OK) {
            rc = cdc__conn_stmt_close(in->conn, st.id, &in->qerr);
        } else if (e.server_errno) {
            in->no_binary = true;
            ilog(in, 1, p, "incremental snapshots: the server refuses prepared statements (error %u: %.200s); "
                           "chunks are read in the text protocol", e.server_errno, e.msg);
        } else {
            in->qerr = e;
            rc = p;
        }
    }
    if (!rc) in->mariadb = cdc__conn_server_version(in->conn)->flavour == CDC_FLAVOUR_MARIADB;
    if (!rc && !in->mariadb && !in->read_only) {
        /* the signal-table watermarks rely on engine commits in binlog order */
        cdc__result *r = NULL;
        if (cdc__conn_query_result(in->conn, "SELECT @@GLOBAL.binlog_order_commits", &r, &in->qerr) == CDC_OK &&
            cdc__result_rows(r) && cdc__result_get(r, 0, 0) && !strcmp(cdc__result_get(r, 0, 0), "0"))
            ilog(in, 1, CDC_OK, "binlog_order_commits is OFF: a transaction before a low watermark in the binlog "
                                "may commit after it, and an incremental snapshot row may then be older than a "
                                "change delivered before it; set it ON or use read.only=true");
        cdc__result_free(r);
    }
    if (rc) {
        cdc__conn_free(in->conn);
        in->conn = NULL;
    }
    return rc;
}

/* The chunk's result columns: a definition that changed under the
 * description makes the chunk be checked and read again (next_chunk). */
static int on_chunk_columns(const cdc__coldef *cols, size_t ncols, void *ud)
{
    cdc__incr *in = ud;
    int rc = cdc__snap_one_check_columns(in->one, cols, ncols, &in->qerr);
    if (rc) in->cols_changed = true;
    return rc;
}

static int on_chunk_row(const uint8_t *p, size_t n, void *ud)
{
    cdc__incr *in = ud;
    if (in->nrows >= in->cap) return CDC_ERR_CORRUPT; /* the LIMIT holds it */
    if (in->full || (in->nrows && in->rows.len >= CHUNK_BYTES)) {
        in->full = true; /* the rest of the result is read and left out */
        return 0;
    }
    const cdc_bytes *vals = in->fields;
    int rc = cdc__snap_one_split(in->one, p, n, in->fields, &in->qerr);
    if (rc) return rc;
    /* the row packet as it came (text or binary), as the snapshot's batches hold rows */
    cdc__buf *d = &in->rows;
    if (n > UINT32_MAX || cdc__buf_reserve(d, 4 + n)) return CDC_ERR_NOMEM;
    size_t start = d->len;
    cdc__put_le32(d->data + start, (uint32_t)n);
    memcpy(d->data + start + 4, p, n);
    d->len += 4 + n;
    size_t r = in->nrows++;
    in->row_off[r] = start;
    in->alive[r] = 1;
    /* its key, for the window, and as the last key for the next chunk */
    const cdc_value *kv;
    size_t nk = cdc__snap_one_nkey(in->one);
    if (cdc__snap_one_keyvals(in->one, vals, &kv, &in->qerr)) return CDC_ERR_CORRUPT;
    in->key_off[r] = in->keys.len;
    for (size_t k = 0; k < nk; k++)
        if (encode_key(&in->keys, &kv[k])) return CDC_ERR_NOMEM;
    in->key_len[r] = in->keys.len - in->key_off[r];
    size_t m = in->hash_cap - 1;
    size_t h = hash_bytes(in->keys.data + in->key_off[r], in->key_len[r]) & m;
    while (in->hash[h]) h = (h + 1) & m;
    in->hash[h] = (uint32_t)(r + 1);
    return 0;
}

/* The key texts of the chunk's last row into last/lastv: where the next
 * chunk starts (once per chunk: from binary rows they are formatted). */
static int take_last_key(cdc__incr *in)
{
    const uint8_t *p = in->rows.data + in->row_off[in->nrows - 1];
    if (cdc__snap_one_split(in->one, p + 4, cdc__le32(p), in->fields, &in->qerr)) return CDC_ERR_CORRUPT;
    size_t nk = cdc__snap_one_nkey(in->one);
    cdc__buf_reset(&in->last);
    for (size_t k = 0; k < nk; k++) {
        char buf[CDC__SNAP_KEYTEXT_MAX];
        cdc_bytes t;
        if (cdc__snap_one_key_text_of(in->one, in->fields, k, buf, &t, &in->qerr)) return CDC_ERR_CORRUPT;
        in->lastv[k].len = t.len; /* the views are set below, once last stops moving */
        if (cdc__buf_append(&in->last, t.ptr, t.len))
            return cdc__err_set(&in->qerr, CDC_ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0, off = 0; k < nk; off += in->lastv[k].len, k++) in->lastv[k].ptr = in->last.data + off;
    return CDC_OK;
}

static int select_chunk(cdc__incr *in)
{
    cdc__buf sql;
    cdc__buf_init(&sql, in->a);
    int rc = cdc__snap_one_sql(in->one, in->have_last ? in->lastv : NULL, in->queue->cond, in->chunk_size, &sql);
    if (rc) {
        cdc__buf_free(&sql);
        return cdc__err_set(&in->qerr, rc == CDC_ERR_INVALID ? CDC_ERR_CORRUPT : CDC_ERR_NOMEM,
                            "cannot write the key of the last row into SQL");
    }
    chunk_clear(in);
    in->full = false;
    in->cols_changed = false;
    size_t nf = cdc__snap_one_fields(in->one);
    if (nf > in->fields_cap) {
        cdc_bytes *f = cdc__realloc(in->a, in->fields, nf * sizeof *f);
        if (!f) {
            cdc__buf_free(&sql);
            return cdc__err_set(&in->qerr, CDC_ERR_NOMEM, "out of memory");
        }
        in->fields = f;
        in->fields_cap = nf;
    }
    /* rows as the plain snapshot reads them: the binary protocol spares
     * the server (and us) writing and parsing numbers and times as text */
    cdc__query_handler h = {.columns = on_chunk_columns, .raw_row = on_chunk_row};
    rc = cdc__snap_one_binary(in->one) ? cdc__conn_query_binary(in->conn, (const char *)sql.data, sql.len, &h, in,
                                                               &in->qerr)
                                       : cdc__conn_query(in->conn, (const char *)sql.data, sql.len, &h, in, &in->qerr);
    cdc__buf_free(&sql);
    if (!rc && in->nrows) rc = take_last_key(in);
    if (rc) return rc;
    if (in->nrows) in->have_last = true;
    in->table_done = in->nrows < in->chunk_size && !in->full;
    return CDC_OK;
}

/* One watermark row into the signal table. */
static int watermark(cdc__incr *in, const char *id, bool open)
{
    cdc__buf sql;
    cdc__buf_init(&sql, in->a);
    int rc = cdc__buf_puts(&sql, "INSERT INTO `");
    for (const char *p = in->sig_db; *p && !rc; p++) rc = *p == '`' ? cdc__buf_puts(&sql, "``") : cdc__buf_putc(&sql, (uint8_t)*p);
    rc |= cdc__buf_puts(&sql, "`.`");
    for (const char *p = in->sig_table; *p && !rc; p++) rc = *p == '`' ? cdc__buf_puts(&sql, "``") : cdc__buf_putc(&sql, (uint8_t)*p);
    rc |= cdc__buf_printf(&sql, "` (id, type, data) VALUES ('%s', 'snapshot-window-%s', '{\"chunk\":%" PRIu64 "}')",
                          id, open ? "open" : "close", in->chunk_no);
    if (!rc) rc = cdc__buf_terminate(&sql);
    if (rc) {
        cdc__buf_free(&sql);
        return cdc__err_set(&in->qerr, CDC_ERR_NOMEM, "out of memory");
    }
    rc = run_sql(in, (const char *)sql.data);
    cdc__buf_free(&sql);
    return rc;
}

static int gtid_now(cdc__incr *in, cdc__gtid_set *out)
{
    cdc__result *r = NULL;
    int rc = cdc__conn_query_result(in->conn, "SELECT @@GLOBAL.gtid_executed", &r, &in->qerr);
    const char *v = rc ? NULL : cdc__result_rows(r) ? cdc__result_get(r, 0, 0) : NULL;
    cdc__gtid_set_clear(out);
    if (!rc && (!v || !*v))
        rc = cdc__err_set(&in->qerr, CDC_ERR_UNSUPPORTED,
                          "read.only incremental snapshots on MySQL need gtid_mode=ON (@@gtid_executed is empty)");
    if (!rc) rc = cdc__gtid_set_parse(out, v, strlen(v), &in->qerr);
    cdc__result_free(r);
    return rc;
}

/* out = h minus l (MySQL sets). */
static int gtid_minus(cdc__gtid_set *out, const cdc__gtid_set *h, const cdc__gtid_set *l)
{
    cdc__gtid_set_clear(out);
    for (size_t i = 0; i < h->n_sids; i++) {
        const cdc__gtid_sid *hs = &h->sids[i], *ls = NULL;
        for (size_t j = 0; j < l->n_sids && !ls; j++)
            if (!memcmp(l->sids[j].uuid, hs->uuid, 16) && !strcmp(l->sids[j].tag, hs->tag)) ls = &l->sids[j];
        for (size_t k = 0; k < hs->n_iv; k++) {
            uint64_t a = hs->iv[k].start, b = hs->iv[k].end;
            for (size_t m = 0; ls && m < ls->n_iv && a < b; m++) {
                uint64_t la = ls->iv[m].start, lb = ls->iv[m].end;
                if (lb <= a || la >= b) continue;
                if (la > a && cdc__gtid_set_add_interval(out, hs->uuid, hs->tag, a, la)) return CDC_ERR_NOMEM;
                a = lb;
            }
            if (a < b && cdc__gtid_set_add_interval(out, hs->uuid, hs->tag, a, b)) return CDC_ERR_NOMEM;
        }
    }
    return CDC_OK;
}

/* A binlog position the server showed (file name and offset as text),
 * kept in *to_file and *to_off; what names the columns in the error. */
static int keep_pos(cdc__incr *in, const char *file, const char *pos, char **to_file, uint64_t *to_off,
                    const char *what)
{
    uint64_t off = 0;
    if (!file || !*file || !pos || !cdc__parse_u64(pos, strlen(pos), &off))
        return cdc__err_set(&in->qerr, CDC_ERR_SERVER, "the server shows no %s (is the binary log on?)", what);
    cdc__free(in->a, *to_file);
    if (!(*to_file = cdc__strndup(in->a, file, strlen(file))))
        return cdc__err_set(&in->qerr, CDC_ERR_NOMEM, "out of memory");
    *to_off = off;
    return CDC_OK;
}

static int maria_point(cdc__incr *in)
{
    cdc__result *r = NULL;
    int rc = cdc__conn_query_result(in->conn, "SHOW SESSION STATUS LIKE 'binlog_snapshot_%'", &r, &in->qerr);
    const char *file = NULL, *pos = NULL;
    for (size_t i = 0; !rc && i < cdc__result_rows(r); i++) {
        const char *k = cdc__result_get(r, i, 0);
        if (k && !strcasecmp(k, "binlog_snapshot_file")) file = cdc__result_get(r, i, 1);
        if (k && !strcasecmp(k, "binlog_snapshot_position")) pos = cdc__result_get(r, i, 1);
    }
    if (!rc) rc = keep_pos(in, file, pos, &in->point_file, &in->point_off, "binlog_snapshot_file/_position");
    cdc__result_free(r);
    return rc;
}

/* E: the binlog's end (SHOW MASTER STATUS, BINLOG MONITOR on MariaDB
 * 10.5 and later, as the stream's start from "now" needs), exact: the
 * server reads it under the binlog's lock, between two writes. */
static int maria_end(cdc__incr *in)
{
    cdc__result *r = NULL;
    int rc = cdc__conn_query_result(in->conn, "SHOW MASTER STATUS", &r, &in->qerr);
    if (rc) {
        cdc__err_prefix(&in->qerr, "SHOW MASTER STATUS (read-only incremental snapshots on MariaDB need BINLOG "
                                   "MONITOR)");
        return rc;
    }
    int fcol = cdc__result_col(r, "File"), pcol = cdc__result_col(r, "Position");
    const char *file = cdc__result_rows(r) && fcol >= 0 ? cdc__result_get(r, 0, (size_t)fcol) : NULL;
    const char *pos = cdc__result_rows(r) && pcol >= 0 ? cdc__result_get(r, 0, (size_t)pcol) : NULL;
    rc = keep_pos(in, file, pos, &in->end_file, &in->end_off, "binlog file and position in SHOW MASTER STATUS");
    cdc__result_free(r);
    return rc;
}

static int unesc(const char *s, size_t n, cdc__buf *out)
{
    for (size_t i = 0; i < n; i++) {
        int c = (uint8_t)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexv(s[i + 1]) : -1, lo = hi >= 0 ? hexv(s[i + 2]) : -1;
            if (lo < 0) return CDC_ERR_INVALID;
            c = hi * 16 + lo;
            i += 2;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) {
            return CDC_ERR_INVALID;
        }
        if (cdc__buf_putc(out, (uint8_t)c)) return CDC_ERR_NOMEM;
    }
    return CDC_OK;
}

/* The key a checkpoint recorded for the current table: its rows after it come next. */
static int restore_key(cdc__incr *in, const char *text)
{
    size_t nk = cdc__snap_one_nkey(in->one), got = 0;
    size_t *len = cdc__calloc(in->a, nk ? nk : 1, sizeof *len);
    if (!len) return cdc__err_set(&in->qerr, CDC_ERR_NOMEM, "out of memory");
    cdc__buf_reset(&in->last);
    int rc = CDC_OK;
    for (const char *p = text; !rc;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        size_t before = in->last.len;
        if (got == nk || (rc = unesc(p, n, &in->last))) break;
        len[got++] = in->last.len - before;
        if (!dot) break;
        p = dot + 1;
    }
    if (!rc && got != nk)
        rc = cdc__err_set(&in->qerr, CDC_ERR_SCHEMA, "the checkpoint's key for %s.%s has %s values than the primary "
                                                    "key has columns (%zu)", in->queue->db, in->queue->table,
                          got < nk ? "fewer" : "more", nk);
    else if (rc)
        rc = cdc__err_set(&in->qerr, rc, "the checkpoint's key for %s.%s is not escaped text", in->queue->db,
                          in->queue->table);
    size_t off = 0;
    for (size_t k = 0; !rc && k < nk; k++) {
        in->lastv[k] = (cdc_bytes){in->last.data + off, len[k]};
        off += len[k];
    }
    cdc__free(in->a, len);
    if (!rc) {
        in->have_last = true;
        cdc__buf_reset(&in->done_key);
        if (cdc__buf_puts(&in->done_key, text)) rc = cdc__err_set(&in->qerr, CDC_ERR_NOMEM, "out of memory");
        ilog(in, 2, CDC_OK, "incremental snapshot of %s.%s goes on from a checkpoint", in->queue->db,
             in->queue->table);
    }
    return rc;
}

static bool column_excluded(const char *db, const char *table, const char *column, void *ud)
{
    return cdc__filter_column_excluded(ud, db, table, column);
}

/* Keeps the key the chunk about to be read starts after (reread()). */
static int save_start(cdc__incr *in)
{
    size_t nk = cdc__snap_one_nkey(in->one);
    if (nk > in->start_cap) {
        size_t *n = cdc__realloc(in->a, in->start_len, nk * sizeof *n);
        if (!n) return cdc__err_set(&in->qerr, CDC_ERR_NOMEM, "out of memory");
        in->start_len = n;
        in->start_cap = nk;
    }
    cdc__buf_reset(&in->start);
    in->start_had = in->have_last;
    for (size_t k = 0; k < nk; k++) {
        in->start_len[k] = in->have_last ? in->lastv[k].len : 0;
        if (in->start_len[k] && cdc__buf_append(&in->start, in->lastv[k].ptr, in->lastv[k].len))
            return cdc__err_set(&in->qerr, CDC_ERR_NOMEM, "out of memory");
    }
    return CDC_OK;
}

/* Reads the next chunk of the current table between its watermarks. */
static int read_chunk(cdc__incr *in, const cdc_position *safe)
{
    req *q = in->queue;
    int rc = connect(in);
    if (!rc && !in->one) {
        cdc__snap_filter f = {NULL, column_excluded, (void *)in->env.filter};
        in->ddl_seen = false; /* the definition read now is the one to check against */
        rc = cdc__snap_one_open(&in->one, in->conn, q->db, q->table, &f, in->a, &in->qerr);
        if (!rc && !in->no_binary) (void)cdc__snap_one_use_binary(in->one);
        if (!rc) {
            size_t nk = cdc__snap_one_nkey(in->one);
            cdc__free(in->a, in->lastv);
            if (!(in->lastv = cdc__calloc(in->a, nk, sizeof *in->lastv)))
                rc = cdc__err_set(&in->qerr, CDC_ERR_NOMEM, "out of memory");
        }
        if (!rc && chunk_reserve(in)) rc = cdc__err_set(&in->qerr, CDC_ERR_NOMEM, "out of memory");
        if (!rc && q->resume) rc = restore_key(in, q->resume);
        if (!rc)
            ilog(in, 2, CDC_OK, "incremental snapshot of %s.%s%s%s: chunks of %" PRIu64 " rows, %s", q->db, q->table,
                 q->cond ? " where " : "", q->cond ? q->cond : "", in->chunk_size,
                 !in->read_only ? "watermarks in the signal table"
                 : in->mariadb  ? "read-only (consistent-snapshot point and binlog end watermarks)"
                                : "read-only (gtid_executed watermarks)");
    }
    if (!rc) rc = save_start(in);
    if (rc) return rc;
    in->chunk_no++;
    in->table_chunks++;
    if (!in->read_only) {
        /* Standing at the previous chunk's high watermark, the stream has
         * delivered nothing after it: it is this chunk's low watermark
         * too (docs/snapshot.md, "How a chunk is read"). Else a low
         * watermark row first. */
        bool open = still_at_mark(in, safe);
        in->at_mark = false;
        snprintf(in->low_id, sizeof in->low_id, "cdc-%s-%" PRIu64 "-open", in->run_id, in->chunk_no);
        snprintf(in->high_id, sizeof in->high_id, "cdc-%s-%" PRIu64 "-close", in->run_id, in->chunk_no);
        if (!open && !(rc = watermark(in, in->low_id, true))) in->table_marks++;
        if (!rc) rc = select_chunk(in);
        /* an empty chunk has no rows to hold back: no high watermark */
        if (!rc && !in->nrows) {
            in->state = ST_READY;
            in->at_mark = open; /* the stream still stands there */
        } else if (!rc && !(rc = watermark(in, in->high_id, false))) {
            in->table_marks++;
            in->state = open ? ST_OPEN : ST_WAIT_LOW;
        }
        if (rc) in->at_mark = open; /* a failed read moves nothing: the next try may start there */
    } else if (in->mariadb) {
        /* The read view's point P is the low watermark: every transaction
         * before it in the binlog is visible to the SELECT, none after it.
         * MariaDB sends a transaction to the stream once it is in the
         * binlog, before the engine commits it: if the stream has already
         * delivered a change of the table from a transaction that begins
         * at or after P, the read cannot see that change, which came
         * before the chunk; read again a moment later (P moves on as the
         * engine commits). Other transactions after P (other tables,
         * binlog checkpoints, a rotation) do not matter: the stream is
         * held while the chunk is read, and they change no row of it. */
        for (int i = 0; !rc; i++) {
            rc = run_sql(in, "START TRANSACTION WITH CONSISTENT SNAPSHOT");
            if (!rc) rc = maria_point(in);
            if (rc || !in->chg_file[0] || cdc__binlog_name_cmp(in->chg_file, in->point_file) < 0 ||
                (!cdc__binlog_name_cmp(in->chg_file, in->point_file) && in->chg_off < in->point_off))
                break;
            rc = run_sql(in, "COMMIT");
            if (!rc && i == 5000)
                rc = cdc__err_set(&in->qerr, CDC_ERR_TIMEOUT, "transactions the stream delivered did not reach a "
                                                              "consistent snapshot's binlog point within 5 s");
            struct timespec ts = {0, 1000000L};
            if (!rc) nanosleep(&ts, NULL);
        }
        if (!rc) rc = select_chunk(in);
        /* The high watermark E: the binlog's end, read after the SELECT
         * and before COMMIT. A DDL holds the table's metadata lock until
         * it is written to the binlog, and the SELECT takes a lock that
         * conflicts with it, kept until COMMIT: a DDL the SELECT saw is
         * before E, one it did not see waits for the COMMIT and comes
         * after E. */
        if (!rc) rc = maria_end(in);
        int c = run_sql(in, "COMMIT");
        if (!rc) rc = c;
        if (!rc) {
            in->win_open = pos_at_least(safe, in->point_file, in->point_off);
            in->state = ST_WAIT_END;
        }
    } else {
        /* MySQL streams a transaction once it is in the binlog, which is
         * before the engine commits it; it is in gtid_executed only after.
         * Every transaction delivered so far must be visible to the read,
         * or its change could be older than the chunk's row yet come
         * first: wait until gtid_executed holds all of them. */
        if (!safe->gtid_known)
            rc = cdc__err_set(&in->qerr, CDC_ERR_UNSUPPORTED,
                              "read.only incremental snapshots on MySQL need the stream's GTID set (start from "
                              "now, a GTID set or a checkpoint with one)");
        for (int i = 0; !rc; i++) {
            rc = gtid_now(in, &in->lo);
            if (rc || cdc__gtid_set_is_subset(&safe->gtids, &in->lo)) break;
            if (i == 5000) {
                rc = cdc__err_set(&in->qerr, CDC_ERR_TIMEOUT, "transactions the stream delivered did not appear "
                                                              "in @@gtid_executed within 5 s");
                break;
            }
            struct timespec ts = {0, 1000000L};
            nanosleep(&ts, NULL);
        }
        if (!rc) rc = select_chunk(in);
        cdc__gtid_set hi;
        cdc__gtid_set_init(&hi, in->a);
        if (!rc) rc = gtid_now(in, &hi);
        if (!rc && gtid_minus(&in->win, &hi, &in->lo)) rc = cdc__err_set(&in->qerr, CDC_ERR_NOMEM, "out of memory");
        cdc__gtid_set_free(&hi);
        if (!rc) in->state = ST_WAIT_GTID;
    }
    return rc;
}

/* Drops the chunk and the table's description after a DDL: the chunk is
 * read again from the key it started after, with the new definition. */
static int reread(cdc__incr *in)
{
    size_t nk = cdc__snap_one_nkey(in->one);
    chunk_clear(in);
    in->state = ST_IDLE;
    in->table_done = false;
    cdc__snap_one_free(in->one);
    in->one = NULL;
    cdc__snap_filter f = {NULL, column_excluded, (void *)in->env.filter};
    in->ddl_seen = false;
    int rc = cdc__snap_one_open(&in->one, in->conn, in->queue->db, in->queue->table, &f, in->a, &in->qerr);
    if (!rc && !in->no_binary) (void)cdc__snap_one_use_binary(in->one);
    if (!rc && cdc__snap_one_nkey(in->one) != nk)
        rc = cdc__err_set(&in->qerr, CDC_ERR_SCHEMA, "the table's primary key changed (%zu columns, now %zu)", nk,
                          cdc__snap_one_nkey(in->one));
    if (!rc && chunk_reserve(in)) rc = cdc__err_set(&in->qerr, CDC_ERR_NOMEM, "out of memory");
    if (!rc) {
        cdc__buf_reset(&in->last);
        if (cdc__buf_append(&in->last, in->start.data, in->start.len))
            rc = cdc__err_set(&in->qerr, CDC_ERR_NOMEM, "out of memory");
        for (size_t k = 0, off = 0; !rc && k < nk; off += in->start_len[k], k++)
            in->lastv[k] = (cdc_bytes){in->last.data + off, in->start_len[k]};
        in->have_last = in->start_had;
    }
    return rc;
}

/* read_chunk(), and on a server error of a changed definition (1054
 * unknown column, 1412, 1146 no such table) or result columns unlike the
 * description, the table's definition read again: an ALTER that
 * committed before that makes the chunk go again from the same key with
 * the new definition, so no row of the old columns comes after the DDL
 * in the stream; one that commits later comes after the chunk.
 * Otherwise the definition is checked only when the chunk is ready and
 * a statement that may be DDL was streamed (check_ready): in every
 * variant a DDL the chunk's SELECT could see is in the binlog before the
 * chunk's high watermark (signal table: the high row; MySQL read-only:
 * its GTID set H; MariaDB read-only: the binlog's end E read after the
 * SELECT), because a DDL holds the table's metadata lock until it is
 * written to the binlog and the SELECT waits for that lock. The stream
 * therefore streams the DDL (cdc__incr_query) before the chunk is
 * ready. One query of information_schema per chunk cost the server more
 * than the chunk's rows (docs/performance.md, "Incremental snapshots"). */
static int next_chunk(cdc__incr *in, const cdc_position *safe)
{
    for (int attempt = 0;; attempt++) {
        int rc = read_chunk(in, safe);
        unsigned se = rc ? in->qerr.server_errno : 0;
        if (rc && !in->cols_changed && se != 1054 && se != 1412 && se != 1146) return rc;
        if (!in->one || !rc) return rc;
        in->ddl_seen = false;
        bool changed = false;
        cdc__err ce = {0};
        in->table_checks++;
        int c2 = cdc__snap_one_changed(in->one, in->conn, &changed, &ce);
        if (c2) {
            if (!rc) in->qerr = ce;
            return rc ? rc : c2;
        }
        if (!changed) return rc;
        if (attempt == 3)
            return cdc__err_set(&in->qerr, CDC_ERR_SCHEMA, "the table's definition changed while each of 4 readings "
                                                          "of a chunk was under way");
        ilog(in, 1, CDC_OK, "incremental snapshot of %s.%s: the table's definition changed (DDL) while chunk %" PRIu64
             " was read; it is read again from the same key with the new definition", in->queue->db,
             in->queue->table, in->chunk_no);
        if ((rc = reread(in))) return rc;
    }
}

/* A chunk at its watermark after a statement that may be DDL streamed
 * (every DDL the SELECT could see is behind the stream now): the table's
 * definition read again; a changed one drops the chunk (*again), which is
 * then read again from the same key with the new definition. */
static int check_ready(cdc__incr *in, bool *again)
{
    *again = false;
    in->ddl_seen = false;
    bool changed = false;
    int rc = connect(in);
    in->table_checks++;
    if (!rc) rc = cdc__snap_one_changed(in->one, in->conn, &changed, &in->qerr);
    if (rc || !changed) return rc;
    ilog(in, 1, CDC_OK, "incremental snapshot of %s.%s: the table's definition changed (DDL) before chunk %" PRIu64
         " went out; it is read again from the same key with the new definition", in->queue->db, in->queue->table,
         in->chunk_no);
    *again = true;
    return reread(in);
}

/* A table's snapshot ends on a failed query or read. */
static void table_failed(cdc__incr *in, int rc)
{
    ilog(in, 0, rc, "incremental snapshot of %s.%s: %s; the table's snapshot ends", in->queue->db, in->queue->table,
         in->qerr.msg);
    if (cdc_is_retriable(rc) || rc == CDC_ERR_SERVER) {
        cdc__conn_free(in->conn);
        in->conn = NULL;
    }
    table_end(in);
}

/* Hands out the chunk's remaining rows from emit_next on. */
static int emit(cdc__incr *in, const cdc_position *safe, cdc_stream_change_cb cb, void *ud, cdc__err *err)
{
    const struct cdc_table *t = cdc__snap_one_table(in->one);
    while (in->emit_next < in->nrows) {
        size_t r = in->emit_next++;
        if (!in->alive[r]) continue;
        const uint8_t *p = in->rows.data + in->row_off[r];
        uint32_t len = cdc__le32(p);
        const cdc_value *vals;
        const uint8_t *present;
        cdc__err e = {0};
        int rc = cdc__snap_one_row(in->one, p + 4, len, &vals, &present, &e);
        if (rc) {
            ilog(in, 0, rc, "incremental snapshot of %s.%s: %s; the table's snapshot ends", in->queue->db,
                 in->queue->table, e.msg);
            table_end(in);
            return CDC_OK;
        }
        in->table_rows++;
        if (in->env.rows_metric) atomic_fetch_add(in->env.rows_metric, 1);
        if (!cb) continue;
        rc = cdc__change_snapshot_row(t, vals, present, cdc_position_file(safe), safe->offset, in->emit_seq++, cb,
                                      ud);
        if (rc == CDC_ERR_PAUSED) return rc;
        if (rc) return cdc__err_set(err, CDC_ERR_CALLBACK, "the incremental snapshot callback returned %d (%s)", rc,
                                    cdc_err_name(rc));
    }
    return CDC_OK;
}

/* Hands out a ready chunk, then starts the next one if one is due:
 * CDC_OK, CHUNK_OUT when a chunk's rows were all handed out,
 * CDC_ERR_PAUSED or a callback error. */
enum { CHUNK_OUT = 1 };
static int service(cdc__incr *in, const cdc_position *safe, bool in_txn, cdc_stream_change_cb cb, void *ud,
                   cdc__err *err)
{
    take_inbox(in);
    if (in_txn) return CDC_OK;
    for (;;) {
        if ((in->state == ST_WAIT_END || in->state == ST_WAIT_GTID) && point_reached(in, safe))
            in->state = ST_READY;
        if (in->state == ST_READY && in->ddl_seen && in->nrows) {
            bool again;
            int rc = check_ready(in, &again);
            if (rc) {
                table_failed(in, rc);
                return CDC_OK;
            }
            if (again) continue;
        }
        if (in->state == ST_READY) {
            in->state = ST_EMIT;
            in->emit_next = 0;
            in->emit_seq = 0;
        }
        if (in->state == ST_EMIT) {
            int rc = emit(in, safe, cb, ud, err);
            if (rc) return rc;
            if (!in->one) return CHUNK_OUT; /* ended on a bad row */
            chunk_clear(in);
            in->state = ST_IDLE;
            /* the progress a restart goes on from: after the last key read,
             * whether its row was handed out or dropped */
            if (in->have_last) {
                cdc__buf_reset(&in->done_key);
                for (size_t k = 0; k < cdc__snap_one_nkey(in->one); k++)
                    if ((k && cdc__buf_putc(&in->done_key, '.')) ||
                        cdc__snapprog_put_esc(&in->done_key, in->lastv[k].ptr, in->lastv[k].len))
                        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
            }
            in->changed = true;
            if (in->table_done) {
                ilog(in, 2, CDC_OK, "incremental snapshot of %s.%s done: %" PRIu64 " rows (%" PRIu64 " rows read "
                                    "were dropped: their keys changed while their chunk was read); %" PRIu64
                                    " chunks, %" PRIu64 " watermark rows written, %" PRIu64 " definition checks",
                     in->queue->db, in->queue->table, in->table_rows, in->table_dropped, in->table_chunks,
                     in->table_marks, in->table_checks);
                table_end(in);
            }
            return CHUNK_OUT;
        }
        if (in->state != ST_IDLE || in->paused || !in->queue) return CDC_OK;
        int rc = next_chunk(in, safe);
        if (rc) {
            table_failed(in, rc);
            return CDC_OK;
        }
        /* read-only: a stream with nothing to read is at the watermark
         * already, and no event would wake it: hand the chunk out now;
         * an empty chunk at once */
        if (in->state != ST_READY && !point_reached(in, safe)) return CDC_OK;
    }
}

/* ---- the stream's side -------------------------------------------------------- */

/* The progress into delivery's safe position, so that every checkpoint
 * from here on carries it. */
static int sync_progress(cdc__incr *in, cdc__err *err)
{
    if (!cdc__incr_progress_changed(in)) return CDC_OK;
    cdc__buf b;
    cdc__buf_init(&b, in->a);
    int rc = cdc__incr_progress(in, &b);
    if (!rc) rc = cdc__position_set_incr(&in->env.dv->safe, (const char *)b.data, b.len);
    cdc__buf_free(&b);
    if (!rc) rc = cdc__delivery_publish(in->env.dv);
    return rc ? cdc__err_set(err, CDC_ERR_NOMEM, "out of memory") : CDC_OK;
}

int cdc__incr_change(cdc__incr *in, const cdc_change *c, const cdc__gtid *gid)
{
    int r = on_change(in, c, gid);
    cdc__err e;
    /* a signal: in the checkpoint of its own transaction already */
    if (r == 1 && in->env.dv) (void)sync_progress(in, &e);
    return r;
}

int cdc__incr_serve(cdc__incr *in, cdc_stream_change_cb cb, void *ud, const atomic_int *stop, cdc__err *err)
{
    cdc__delivery *dv = in->env.dv;
    dv->owner_wanted = false;
    for (;;) {
        int rc = service(in, &dv->safe, dv->in_txn, cb, ud, err);
        bool out = rc == CHUNK_OUT;
        if (out) rc = CDC_OK;
        if (!rc && !dv->in_txn) rc = sync_progress(in, err);
        if (!rc && out) rc = cdc__delivery_checkpoint_now(dv);
        /* after a chunk, the next one at once (read-only on an idle
         * server: nothing else would come to wake the stream) */
        if (rc || !out || atomic_load(stop)) return rc;
    }
}
