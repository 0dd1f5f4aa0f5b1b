/*
 * stream.c: the change stream of cdc/stream.h, a driven loop over one
 * replica connection: connect, check, register, dump, read packets, feed
 * the decoder, and turn its callbacks into the host's, with filters,
 * positions, pause, stop, heartbeats and reconnects.
 *
 * Delivery bookkeeping. The safe position is the end of the last
 * transaction the stream has finished (delivered or filtered out); every
 * re-dump (reconnect, a stop, a pause that could not keep its place)
 * starts there. Host callbacks delivered inside the unfinished
 * transaction are counted, and after a re-dump that many are suppressed,
 * so the host sees each callback once within a run. Transactions whose
 * GTID is already in the executed set are skipped whole.
 */
#include <cdc/stream.h>

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "config.h"
#include "conn.h"
#include "filter.h"
#include "gtid.h"
#include "position.h"
#include "replica.h"
#include "schema.h"
#include "snapshot.h"
#include "tablemap.h"

/* In decoder.c, which owns cdc_change: marks the columns whose mask byte
 * is set as absent from both images (column.exclude.list). */
void cdc__change_hide_columns(const cdc_change *c, const uint8_t *mask);

enum { ST_IDLE, ST_RUNNING, ST_PAUSED, ST_DONE, ST_FAILED };
enum { METRIC_COUNT = 9 };
#define DONE_RC 1 /* internal: stop.at reached */
#define PIECE_BYTES ((size_t)1 << 20)

typedef struct tmap_ent {
    uint64_t id;
    bool want;
    uint8_t *hide; /* per column: 1 = excluded; NULL when none is */
} tmap_ent;

struct cdc_stream {
    const cdc_allocator *alloc;
    cdc_config *cfg;
    cdc__filter filter;

    cdc_stream_change_cb change_cb;
    void *change_ud;
    cdc_stream_txn_cb begin_cb, commit_cb;
    void *begin_ud, *commit_ud;
    cdc_stream_ddl_cb ddl_cb;
    void *ddl_ud;
    cdc_stream_checkpoint_cb ck_cb;
    void *ck_ud;
    cdc_stream_log_cb log_cb;
    void *log_ud;
    cdc_stream_change_cb snap_cb;
    void *snap_ud;
    cdc_stream_progress_cb progress_cb;
    void *progress_ud;
    cdc_stream_checkpoint_cb snap_done_cb;
    void *snap_done_ud;

    uint32_t server_id;
    int hb_ms, hb_timeout_ms, backoff_ms, backoff_max_ms, max_attempts;
    cdc__where start_kind, stop_kind;
    cdc_position stop;

    cdc_conn *conn, *meta;
    cdc__server_info info;
    bool opened_once;
    cdc_decoder *dec;

    cdc_position safe;
    bool safe_file_ok;      /* safe's file/offset can be dumped from */
    bool at_file_start;     /* the dump is at the start of a file */
    uint64_t pl_end;        /* end of the TRANSACTION_PAYLOAD being delivered */
    int64_t next_ts_ms;     /* commit time from the GTID event ahead of a transaction */
    int64_t last_ck_ms;
    bool ck_pending;

    bool in_txn, txn_skip, txn_announced;
    char txn_gtid[CDC__GTID_TEXT_MAX];
    uint32_t txn_sid;
    int64_t txn_ts_ms;
    uint64_t txn_delivered, skip;
    tmap_ent *tm;
    size_t ntm, captm;

    int state;
    bool pausing, pause_dirty, stop_reached, failed;
    bool snap_done_pause; /* the snapshot-done callback paused; pause once the session is open */
    cdc__snap_streamer *snap; /* a snapshot that paused or stopped mid-way, to go on with */
    const uint8_t *rest;
    size_t rest_len;
    bool piece_cont;        /* the next piece continues an event payload */
    cdc__schema schema;
    cdc_err err;

    atomic_int stop_flag, wake_fd, wake_users;
    _Atomic uint64_t m[METRIC_COUNT];
    pthread_mutex_t ck_mu;
    cdc_buf ck_text;
    bool ck_valid;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void slog(cdc_stream *s, int level, int code, const char *fmt, ...) CDC__PRINTF(4, 5);
static void slog(cdc_stream *s, int level, int code, const char *fmt, ...)
{
    if (!s->log_cb) return;
    char msg[CDC__ERRMSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->log_cb(level, code, msg, s->log_ud);
}

static void metric_add(cdc_stream *s, cdc_metric m, uint64_t v) { atomic_fetch_add(&s->m[m], v); }
static void metric_set(cdc_stream *s, cdc_metric m, uint64_t v) { atomic_store(&s->m[m], v); }

/* Publishes the safe position's checkpoint for cdc_stream_checkpoint(). */
static int publish(cdc_stream *s)
{
    pthread_mutex_lock(&s->ck_mu);
    cdc__buf_reset(&s->ck_text);
    int rc = cdc__position_format_buf(&s->safe, &s->ck_text);
    if (rc == CDC_OK) rc = cdc__buf_terminate(&s->ck_text);
    s->ck_valid = rc == CDC_OK;
    pthread_mutex_unlock(&s->ck_mu);
    metric_set(s, CDC_METRIC_OFFSET, s->safe.offset);
    return rc;
}

/* ---- lifecycle ------------------------------------------------------- */

int cdc_stream_new(cdc_stream **out, const cdc_config *cfg, const cdc_allocator *alloc, char *errbuf,
                   size_t errlen)
{
    cdc_err err = {0};
    if (!out || !cfg) {
        cdc__err_set(&err, CDC_ERR_INVALID, "cdc_stream_new: %s is NULL", out ? "cfg" : "out");
        cdc__err_copy_out(&err, errbuf, errlen);
        return CDC_ERR_INVALID;
    }
    *out = NULL;
    const cdc_allocator *a = cdc__allocator(alloc);
    cdc_stream *s = cdc__calloc(a, 1, sizeof *s);
    if (!s) {
        cdc__err_set(&err, CDC_ERR_NOMEM, "out of memory");
        cdc__err_copy_out(&err, errbuf, errlen);
        return CDC_ERR_NOMEM;
    }
    s->alloc = a;
    cdc__position_init(&s->safe, a);
    cdc__position_init(&s->stop, a);
    cdc__schema_init(&s->schema, a);
    cdc__buf_init(&s->ck_text, a);
    pthread_mutex_init(&s->ck_mu, NULL);
    atomic_init(&s->stop_flag, 0);
    atomic_init(&s->wake_fd, -1);
    atomic_init(&s->wake_users, 0);
    for (int i = 0; i < METRIC_COUNT; i++) atomic_init(&s->m[i], 0);

    int rc = cdc_config_copy(&s->cfg, cfg);
    if (rc) cdc__err_set(&err, rc, "out of memory");
    if (rc == CDC_OK) rc = cdc__config_check(s->cfg, CDC__CFG_FOR_STREAM, &err);
    if (rc == CDC_OK)
        rc = cdc__where_parse(cdc__config_str(s->cfg, CDC_CFG_START), "start", true, &s->start_kind, &s->safe,
                              &err);
    if (rc == CDC_OK)
        rc = cdc__where_parse(cdc__config_str(s->cfg, CDC_CFG_STOP_AT), "stop.at", false, &s->stop_kind, &s->stop,
                              &err);
    if (rc == CDC_OK) rc = cdc__filter_init(&s->filter, s->cfg, a, &err);
    if (rc == CDC_OK && s->start_kind == CDC__WHERE_NONE &&
        cdc__snapshot_mode(cdc__config_enum(s->cfg, CDC_CFG_SNAPSHOT_MODE)) == CDC_SNAPSHOT_RECOVERY)
        rc = cdc__err_set(&err, CDC_ERR_CONFIG, "snapshot.mode=recovery streams from a start position, and start is "
                                                "empty: set start to the checkpoint to recover from");
    if (rc) {
        cdc__err_copy_out(&err, errbuf, errlen);
        if (s->cfg) cdc_config_free(s->cfg);
        s->cfg = NULL;
        cdc_stream_free(s);
        return rc;
    }
    s->server_id = (uint32_t)cdc__config_int(s->cfg, CDC_CFG_SERVER_ID);
    s->hb_ms = (int)cdc__config_int(s->cfg, CDC_CFG_HEARTBEAT_MS);
    int64_t hbt = cdc__config_int(s->cfg, CDC_CFG_HEARTBEAT_TIMEOUT_MS);
    s->hb_timeout_ms = hbt ? (int)hbt : 3 * s->hb_ms;
    s->backoff_ms = (int)cdc__config_int(s->cfg, CDC_CFG_RECONNECT_BACKOFF_MS);
    s->backoff_max_ms = (int)cdc__config_int(s->cfg, CDC_CFG_RECONNECT_BACKOFF_MAX_MS);
    s->max_attempts = (int)cdc__config_int(s->cfg, CDC_CFG_RECONNECT_MAX_ATTEMPTS);
    *out = s;
    return CDC_OK;
}

static void session_close(cdc_stream *s)
{
    /* Withdraw the descriptor from cdc_stream_stop() before closing it,
     * and wait out a stop() that may be using it right now. */
    atomic_store(&s->wake_fd, -1);
    while (atomic_load(&s->wake_users)) sched_yield();
    cdc__conn_free(s->conn);
    s->conn = NULL;
    cdc_decoder_free(s->dec);
    s->dec = NULL;
    s->rest = NULL;
    s->rest_len = 0;
    s->piece_cont = false;
}

static void session_end(cdc_stream *s);

void cdc_stream_free(cdc_stream *s)
{
    if (!s) return;
    session_end(s);
    cdc__snapshot_stream_free(s->snap);
    cdc__conn_free(s->meta);
    for (size_t i = 0; i < s->ntm; i++) cdc__free(s->alloc, s->tm[i].hide);
    cdc__free(s->alloc, s->tm);
    cdc__filter_free(&s->filter);
    cdc__schema_free(&s->schema);
    cdc__position_clear(&s->safe);
    cdc__position_clear(&s->stop);
    cdc__buf_free(&s->ck_text);
    pthread_mutex_destroy(&s->ck_mu);
    cdc_config_free(s->cfg);
    cdc__free(s->alloc, s);
}

void cdc_stream_set_change_cb(cdc_stream *s, cdc_stream_change_cb cb, void *ud) { s->change_cb = cb; s->change_ud = ud; }
void cdc_stream_set_begin_cb(cdc_stream *s, cdc_stream_txn_cb cb, void *ud) { s->begin_cb = cb; s->begin_ud = ud; }
void cdc_stream_set_commit_cb(cdc_stream *s, cdc_stream_txn_cb cb, void *ud) { s->commit_cb = cb; s->commit_ud = ud; }
void cdc_stream_set_ddl_cb(cdc_stream *s, cdc_stream_ddl_cb cb, void *ud) { s->ddl_cb = cb; s->ddl_ud = ud; }
void cdc_stream_set_checkpoint_cb(cdc_stream *s, cdc_stream_checkpoint_cb cb, void *ud) { s->ck_cb = cb; s->ck_ud = ud; }
void cdc_stream_set_log_cb(cdc_stream *s, cdc_stream_log_cb cb, void *ud) { s->log_cb = cb; s->log_ud = ud; }
void cdc_stream_set_snapshot_cb(cdc_stream *s, cdc_stream_change_cb cb, void *ud) { s->snap_cb = cb; s->snap_ud = ud; }
void cdc_stream_set_progress_cb(cdc_stream *s, cdc_stream_progress_cb cb, void *ud) { s->progress_cb = cb; s->progress_ud = ud; }
void cdc_stream_set_snapshot_done_cb(cdc_stream *s, cdc_stream_checkpoint_cb cb, void *ud)
{
    s->snap_done_cb = cb;
    s->snap_done_ud = ud;
}

void cdc_stream_stop(cdc_stream *s)
{
    if (!s) return;
    atomic_store(&s->stop_flag, 1);
    atomic_fetch_add(&s->wake_users, 1);
    int fd = atomic_load(&s->wake_fd);
    if (fd >= 0) shutdown(fd, SHUT_RDWR); /* async-signal-safe; wakes a blocked read */
    atomic_fetch_sub(&s->wake_users, 1);
}

const char *cdc_stream_errmsg(const cdc_stream *s) { return s ? s->err.msg : ""; }
unsigned cdc_stream_server_errno(const cdc_stream *s) { return s ? s->err.server_errno : 0; }
const char *cdc_stream_sqlstate(const cdc_stream *s) { return s ? s->err.sqlstate : ""; }

int cdc_stream_checkpoint(cdc_stream *s, char *buf, size_t cap, size_t *need)
{
    if (!s) return CDC_ERR_INVALID;
    pthread_mutex_lock(&s->ck_mu);
    int rc = CDC_OK;
    if (!s->ck_valid) {
        rc = CDC_ERR_STATE;
    } else {
        if (need) *need = s->ck_text.len + 1;
        if (!buf || cap < s->ck_text.len + 1) {
            if (buf && cap) buf[0] = 0;
            rc = CDC_ERR_TOO_LARGE;
        } else {
            memcpy(buf, s->ck_text.data, s->ck_text.len + 1);
        }
    }
    pthread_mutex_unlock(&s->ck_mu);
    return rc;
}

uint64_t cdc_stream_metric(const cdc_stream *s, cdc_metric m)
{
    if (!s || (int)m < 0 || (int)m >= METRIC_COUNT) return 0;
    return atomic_load(&((cdc_stream *)s)->m[m]);
}

/* ---- delivery helpers ------------------------------------------------ */

/* Records a failure met inside a decoder callback; the loop returns it. */
static int fail_cb(cdc_stream *s, int code)
{
    s->failed = true;
    if (s->err.code != code) s->err.code = code;
    return CDC_ERR_CALLBACK;
}

/* Whether a host callback may run now; a suppressed one still counts. */
static bool may_deliver(cdc_stream *s)
{
    if (s->skip) {
        s->skip--;
        s->txn_delivered++;
        return false;
    }
    return true;
}

/* Bookkeeping after a host callback returned rc. */
static int delivered(cdc_stream *s, const char *name, int rc)
{
    s->txn_delivered++;
    if (rc == 0) return 0;
    if (rc == CDC_ERR_PAUSED) {
        s->pausing = true;
        return CDC_ERR_PAUSED;
    }
    cdc__err_set(&s->err, CDC_ERR_CALLBACK, "the %s callback returned %d (%s)", name, rc, cdc_err_name(rc));
    return fail_cb(s, CDC_ERR_CALLBACK);
}

/* Every decoder callback starts here: once the host paused, the stream
 * reached stop.at or failed, nothing more is delivered from this feed.
 * A callback that still arrives (the rest of a rows event) means the
 * place cannot be kept in the decoder: the resume re-dumps instead. */
#define GUARD(s)                                                            \
    do {                                                                    \
        if ((s)->failed) return CDC_ERR_CALLBACK;                           \
        if ((s)->pausing || (s)->stop_reached) {                            \
            if ((s)->pausing) (s)->pause_dirty = true;                      \
            return CDC_ERR_PAUSED;                                          \
        }                                                                   \
    } while (0)

static void txn_reset(cdc_stream *s)
{
    s->in_txn = s->txn_skip = s->txn_announced = false;
    s->txn_gtid[0] = 0;
    s->txn_sid = 0;
    s->txn_ts_ms = 0;
    s->txn_delivered = 0;
    s->next_ts_ms = 0;
    for (size_t i = 0; i < s->ntm; i++) cdc__free(s->alloc, s->tm[i].hide);
    s->ntm = 0;
}

/* Text GTID ("uuid:5", "uuid:tag:5", "0-1-5") to a cdc__gtid. */
static bool gtid_from_text(const char *t, cdc__gtid *g)
{
    memset(g, 0, sizeof *g);
    if (!*t) return false;
    size_t n = strlen(t);
    if (n > 37 && t[36] == ':' && cdc__uuid_parse(t, 36, g->uuid)) {
        const char *rest = t + 37, *colon = strchr(rest, ':');
        if (colon) {
            size_t tl = (size_t)(colon - rest);
            if (tl > CDC__GTID_TAG_MAX) return false;
            memcpy(g->tag, rest, tl);
            g->tag[tl] = 0;
            rest = colon + 1;
        }
        char *end;
        g->gno = strtoull(rest, &end, 10);
        g->kind = CDC__GTID_MYSQL;
        return !*end && end != rest;
    }
    unsigned long d, sv;
    unsigned long long q;
    int used = 0;
    if (sscanf(t, "%lu-%lu-%llu%n", &d, &sv, &q, &used) == 3 && (size_t)used == n) {
        g->kind = CDC__GTID_MARIADB;
        g->domain = (uint32_t)d;
        g->server_id = (uint32_t)sv;
        g->seq = q;
        return true;
    }
    return false;
}

/* Every GTID of `sub` is in `set`. */
static bool gtid_subset(const cdc__gtid_set *sub, const cdc__gtid_set *set)
{
    for (size_t i = 0; i < sub->n_sids; i++) {
        const cdc__gtid_sid *a = &sub->sids[i];
        const cdc__gtid_sid *b = NULL;
        for (size_t j = 0; j < set->n_sids; j++)
            if (!memcmp(set->sids[j].uuid, a->uuid, 16) && !strcmp(set->sids[j].tag, a->tag)) b = &set->sids[j];
        for (size_t k = 0; k < a->n_iv; k++) {
            bool in = false;
            for (size_t j = 0; b && j < b->n_iv && !in; j++)
                in = b->iv[j].start <= a->iv[k].start && a->iv[k].end <= b->iv[j].end;
            if (!in) return false;
        }
    }
    for (size_t i = 0; i < sub->n_maria; i++)
        if (!cdc__gtid_set_contains(set, &sub->maria[i])) return false;
    return true;
}

static bool stop_reached(cdc_stream *s)
{
    if (s->stop_kind != CDC__WHERE_POSITION && s->stop_kind != CDC__WHERE_NOW) return false;
    if (s->stop.file.len && s->safe_file_ok) {
        int c = cdc__binlog_name_cmp(cdc_position_file(&s->safe), cdc_position_file(&s->stop));
        return c > 0 || (c == 0 && s->safe.offset >= s->stop.offset);
    }
    /* A stream started from a GTID set learns no file position until its
     * first transaction; "now" also recorded the executed set, and having
     * delivered all of it is the same stop. */
    return s->stop.gtid_known && s->safe.gtid_known && gtid_subset(&s->stop.gtids, &s->safe.gtids);
}

static void check_stop(cdc_stream *s)
{
    if (!s->stop_reached && stop_reached(s)) s->stop_reached = true;
}

static int maybe_checkpoint(cdc_stream *s, bool heartbeat)
{
    if (!s->ck_pending || !s->ck_cb) return 0;
    int64_t now = mono_ms();
    if (!heartbeat && now - s->last_ck_ms < s->hb_ms) return 0;
    s->ck_pending = false;
    s->last_ck_ms = now;
    int rc = s->ck_cb(&s->safe, s->ck_ud);
    if (rc == 0) return 0;
    if (rc == CDC_ERR_PAUSED) {
        s->pausing = true;
        return CDC_ERR_PAUSED;
    }
    cdc__err_set(&s->err, CDC_ERR_CALLBACK, "the checkpoint callback returned %d (%s)", rc, cdc_err_name(rc));
    return fail_cb(s, CDC_ERR_CALLBACK);
}

/* Moves the safe position to the end of a finished transaction. */
static int advance(cdc_stream *s, const char *file, uint64_t end, const char *gtid)
{
    int rc = CDC_OK;
    if (file && *file && end) {
        rc = cdc__position_set_file(&s->safe, file, strlen(file));
        s->safe.offset = end;
        s->safe_file_ok = true;
    }
    if (rc == CDC_OK && gtid && *gtid && s->safe.gtid_known) {
        cdc__gtid g;
        if (gtid_from_text(gtid, &g)) {
            rc = cdc__gtid_set_add(&s->safe.gtids, &g);
            if (rc == CDC_OK) rc = cdc__position_sync_text(&s->safe);
        }
    }
    if (rc == CDC_OK) rc = publish(s);
    if (rc) {
        cdc__err_set(&s->err, CDC_ERR_NOMEM, "out of memory");
        return fail_cb(s, CDC_ERR_NOMEM);
    }
    return 0;
}

/* ---- decoder callbacks ----------------------------------------------- */

static tmap_ent *tmap_find(cdc_stream *s, uint64_t id)
{
    for (size_t i = 0; i < s->ntm; i++)
        if (s->tm[i].id == id) return &s->tm[i];
    return NULL;
}

static int open_meta(cdc_stream *s);

/* Judges a table once per TABLE_MAP: wanted or not, its hidden columns,
 * and its column names from information_schema when the binlog has none. */
static int judge_table(cdc_stream *s, const cdc_table *ct, tmap_ent **out)
{
    struct cdc_table *t = (struct cdc_table *)ct;
    tmap_ent *e = tmap_find(s, t->id);
    if (!e) {
        if (s->ntm == s->captm) {
            size_t nc = s->captm ? s->captm * 2 : 8;
            tmap_ent *n = cdc__realloc(s->alloc, s->tm, nc * sizeof *n);
            if (!n) goto nomem;
            s->tm = n;
            s->captm = nc;
        }
        e = &s->tm[s->ntm++];
        memset(e, 0, sizeof *e);
        e->id = t->id;
    }
    cdc__free(s->alloc, e->hide);
    e->hide = NULL;
    e->want = cdc__filter_table(&s->filter, t->db, t->name);
    *out = e;
    if (!e->want) return 0;
    if (t->ncols && !t->col_names[0]) {
        /* binlog_row_metadata=MINIMAL: names from information_schema.
         * The table borrows them from the cache, which keeps them until
         * a DDL statement for the table, after this transaction. */
        int rc = s->meta ? CDC_OK : open_meta(s);
        const char *const *names = NULL;
        if (rc == CDC_OK) rc = cdc__schema_names(&s->schema, s->meta, t->db, t->name, t->ncols, &names, &s->err);
        if (rc) {
            if (cdc_is_retriable(rc)) {
                cdc__conn_free(s->meta);
                s->meta = NULL;
            }
            return fail_cb(s, rc);
        }
        for (size_t i = 0; i < t->ncols; i++) {
            t->col_names[i] = (char *)names[i];
            t->cols[i].name = (cdc_bytes){(const uint8_t *)names[i], strlen(names[i])};
        }
    }
    if (cdc__filter_has_column_rules(&s->filter)) {
        for (size_t i = 0; i < t->ncols; i++) {
            if (!cdc__filter_column_excluded(&s->filter, t->db, t->name, t->col_names[i])) continue;
            if (!e->hide && !(e->hide = cdc__calloc(s->alloc, t->ncols, 1))) goto nomem;
            e->hide[i] = 1;
        }
    }
    return 0;
nomem:
    cdc__err_set(&s->err, CDC_ERR_NOMEM, "out of memory");
    return fail_cb(s, CDC_ERR_NOMEM);
}

static int on_table(const cdc_table *t, void *ud)
{
    cdc_stream *s = ud;
    GUARD(s);
    tmap_ent *e;
    return judge_table(s, t, &e);
}

static void txn_open(cdc_stream *s, const char *gtid, uint32_t sid, int64_t ts_ms)
{
    s->in_txn = true;
    s->at_file_start = false;
    s->txn_announced = false;
    s->txn_delivered = 0;
    snprintf(s->txn_gtid, sizeof s->txn_gtid, "%s", gtid ? gtid : "");
    s->txn_sid = sid;
    s->txn_ts_ms = ts_ms;
    s->txn_skip = !cdc__filter_server(&s->filter, sid);
    cdc__gtid g;
    /* Already executed: a GTID start whose set has holes, or a re-dump
     * by GTID that the server began before our position. */
    if (!s->txn_skip && s->safe.gtid_known && gtid_from_text(s->txn_gtid, &g) &&
        cdc__gtid_set_contains(&s->safe.gtids, &g))
        s->txn_skip = true;
}

static int on_begin(const cdc_event *ev, void *ud)
{
    cdc_stream *s = ud;
    GUARD(s);
    if (s->in_txn) return 0; /* GTID event, then BEGIN: one transaction */
    int64_t ts = s->next_ts_ms ? s->next_ts_ms : (int64_t)cdc_event_timestamp(ev) * 1000;
    txn_open(s, cdc_event_gtid(ev), cdc_event_server_id(ev), ts);
    return 0;
}

static int announce(cdc_stream *s)
{
    if (s->txn_announced) return 0;
    s->txn_announced = true;
    if (!s->begin_cb || !may_deliver(s)) return 0;
    return delivered(s, "begin", s->begin_cb(s->txn_gtid, s->txn_sid, s->txn_ts_ms, &s->safe, s->begin_ud));
}

static int on_change(const cdc_change *c, void *ud)
{
    cdc_stream *s = ud;
    GUARD(s);
    if (!s->in_txn) txn_open(s, cdc_change_gtid(c), cdc_change_server_id(c), cdc_change_ts_ms(c));
    if (s->txn_skip) return 0;
    const cdc_table *t = cdc_change_table(c);
    tmap_ent *e = tmap_find(s, cdc_table_id(t));
    if (!e) {
        int rc = judge_table(s, t, &e);
        if (rc) return rc;
    }
    if (!e->want || !cdc__filter_op(&s->filter, cdc_change_op(c))) return 0;
    int rc = announce(s);
    if (rc) {
        if (rc == CDC_ERR_PAUSED) s->pause_dirty = true; /* this change is still owed */
        return rc;
    }
    if (!s->change_cb || !may_deliver(s)) return 0;
    if (e->hide) cdc__change_hide_columns(c, e->hide);
    metric_add(s, CDC_METRIC_ROWS, 1);
    int64_t lag = wall_ms() - cdc_change_ts_ms(c);
    metric_set(s, CDC_METRIC_LAG_MS, lag > 0 ? (uint64_t)lag : 0);
    return delivered(s, "change", s->change_cb(c, s->change_ud));
}

/* End of a transaction at file:end. */
static int finish(cdc_stream *s, const char *file, uint64_t end, bool deliver_commit)
{
    char gtid[CDC__GTID_TEXT_MAX];
    snprintf(gtid, sizeof gtid, "%s", s->txn_gtid);
    uint32_t sid = s->txn_sid;
    int64_t ts = s->txn_ts_ms;
    bool announced = s->txn_announced;
    s->skip = 0;
    txn_reset(s);
    int rc = advance(s, file, end, gtid);
    if (rc) return rc;
    check_stop(s);
    if (announced && deliver_commit) {
        metric_add(s, CDC_METRIC_TRANSACTIONS, 1);
        int64_t lag = wall_ms() - ts;
        metric_set(s, CDC_METRIC_LAG_MS, lag > 0 ? (uint64_t)lag : 0);
        if (s->commit_cb) rc = delivered(s, "commit", s->commit_cb(gtid, sid, ts, &s->safe, s->commit_ud));
        s->txn_delivered = 0;
        s->ck_pending = false;
        s->last_ck_ms = mono_ms();
    } else if (!announced) {
        s->ck_pending = true;
        rc = maybe_checkpoint(s, false);
    }
    if (rc == 0 && s->stop_reached) return CDC_ERR_PAUSED; /* ends this feed */
    return rc;
}

static uint64_t end_of(cdc_stream *s, const cdc_event *ev)
{
    return cdc_event_is_inner(ev) ? s->pl_end : cdc_event_log_pos(ev);
}

static int on_commit(const cdc_event *ev, void *ud)
{
    cdc_stream *s = ud;
    GUARD(s);
    if (!s->in_txn) return 0;
    return finish(s, cdc_event_file(ev), end_of(s, ev), true);
}

static bool starts_with_word(cdc_bytes sql, const char *w)
{
    size_t i = 0, n = strlen(w);
    while (i < sql.len && (sql.ptr[i] == ' ' || sql.ptr[i] == '\n' || sql.ptr[i] == '\t' || sql.ptr[i] == '\r'))
        i++;
    if (sql.len - i < n) return false;
    for (size_t k = 0; k < n; k++)
        if ((sql.ptr[i + k] & 0xdf) != w[k]) return false;
    return sql.len - i == n || !((sql.ptr[i + n] | 0x20) >= 'a' && (sql.ptr[i + n] | 0x20) <= 'z');
}

static bool is_ddl(cdc_bytes sql)
{
    static const char *const words[] = {"ALTER", "CREATE", "DROP", "RENAME", "TRUNCATE", "GRANT", "REVOKE"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (starts_with_word(sql, words[i])) return true;
    return false;
}

/* Whether database db can hold a table the table.include.list takes. */
static bool db_has_included_tables(const cdc__filter *f, const char *db)
{
    if (!f->n_tbl_inc) return true;
    for (size_t i = 0; i < f->n_tbl_inc; i++) {
        const char *dot = strchr(f->tbl_inc[i], '.');
        char pat[256];
        size_t n = dot ? (size_t)(dot - f->tbl_inc[i]) : 0;
        if (!dot || n >= sizeof pat) continue;
        memcpy(pat, f->tbl_inc[i], n);
        pat[n] = 0;
        if (cdc__glob_match(pat, db, strlen(db))) return true;
    }
    return false;
}

/* Whether a DDL statement concerns what the filters let through: a
 * table it names passes; a database it creates, drops or alters passes
 * and may hold included tables; a statement naming neither (CREATE
 * USER...) only when no table list narrows the stream. */
static bool ddl_wanted(cdc_stream *s, const char *db, cdc_bytes sql)
{
    cdc_buf t;
    cdc__buf_init(&t, s->alloc);
    bool want;
    int n = cdc__schema_ddl_tables(db, strlen(db), (const char *)sql.ptr, sql.len, &t);
    if (n > 0) {
        want = false;
        const char *p = (const char *)t.data;
        for (int i = 0; i < n && !want; i++) {
            const char *d = p, *tb = d + strlen(d) + 1;
            want = cdc__filter_table(&s->filter, d, tb);
            p = tb + strlen(tb) + 1;
        }
    } else {
        cdc__buf_reset(&t);
        if (cdc__schema_ddl_database((const char *)sql.ptr, sql.len, &t)) {
            const char *target = (const char *)t.data;
            want = cdc__filter_db(&s->filter, target) && db_has_included_tables(&s->filter, target);
        } else if (n < 0) {
            /* table DDL this reader cannot follow (ALTER ... RENAME):
             * rather delivered once too often than missed */
            want = !*db || cdc__filter_db(&s->filter, db);
        } else {
            want = (!*db || cdc__filter_db(&s->filter, db)) && !s->filter.n_tbl_inc;
        }
    }
    cdc__buf_free(&t);
    return want;
}

static int on_query(const cdc_query *q, void *ud)
{
    cdc_stream *s = ud;
    GUARD(s);
    cdc_bytes sql = cdc_query_sql(q), db = cdc_query_db(q);
    if (!is_ddl(sql)) return 0; /* ROLLBACK, SAVEPOINT, XA, statement DML: not DDL */
    const cdc_event *ev = cdc_query_event(q);
    char dbz[256];
    snprintf(dbz, sizeof dbz, "%.*s", (int)db.len, (const char *)db.ptr);
    cdc__schema_ddl(&s->schema, dbz, strlen(dbz), (const char *)sql.ptr, sql.len);
    bool want = ddl_wanted(s, dbz, sql);
    if (s->in_txn) {
        /* DDL inside a transaction (temporary tables): part of it. */
        if (s->txn_skip || !want || !s->ddl_cb) return 0;
        int rc = announce(s);
        if (rc) {
            if (rc == CDC_ERR_PAUSED) s->pause_dirty = true;
            return rc;
        }
        if (!may_deliver(s)) return 0;
        return delivered(s, "ddl", s->ddl_cb(q, &s->safe, s->ddl_ud));
    }
    /* A DDL statement is a transaction of its own. */
    txn_open(s, cdc_event_gtid(ev), cdc_event_server_id(ev),
             s->next_ts_ms ? s->next_ts_ms : (int64_t)cdc_event_timestamp(ev) * 1000);
    bool skip = s->txn_skip || !want || !s->ddl_cb;
    char gtid[CDC__GTID_TEXT_MAX];
    snprintf(gtid, sizeof gtid, "%s", s->txn_gtid);
    s->skip = 0;
    txn_reset(s);
    int rc = advance(s, cdc_event_file(ev), end_of(s, ev), gtid);
    if (rc) return rc;
    check_stop(s);
    if (skip) {
        s->ck_pending = true;
        rc = maybe_checkpoint(s, false);
    } else {
        rc = delivered(s, "ddl", s->ddl_cb(q, &s->safe, s->ddl_ud));
        s->txn_delivered = 0;
        s->ck_pending = false;
    }
    if (rc == 0 && s->stop_reached) return CDC_ERR_PAUSED;
    return rc;
}

static int on_event(const cdc_event *ev, void *ud)
{
    cdc_stream *s = ud;
    GUARD(s);
    metric_add(s, CDC_METRIC_EVENTS, 1);
    int type = cdc_event_type_of(ev);
    bool inner = cdc_event_is_inner(ev);
    cdc_bytes body = cdc_event_body(ev);
    switch (type) {
    case CDC_EV_TRANSACTION_PAYLOAD:
        if (!inner) s->pl_end = cdc_event_log_pos(ev);
        return 0;
    case CDC_EV_GTID: case CDC_EV_ANONYMOUS_GTID: case CDC_EV_GTID_TAGGED: {
        cdc__gtid_ev g;
        s->next_ts_ms = cdc__gtid_ev_parse(type, body.ptr, body.len, &g, NULL) == CDC_OK && g.immediate_commit_us
                            ? (int64_t)(g.immediate_commit_us / 1000)
                            : (int64_t)cdc_event_timestamp(ev) * 1000;
        return 0;
    }
    case CDC_EV_MARIA_GTID:
        s->next_ts_ms = (int64_t)cdc_event_timestamp(ev) * 1000;
        return 0;
    case CDC_EV_HEARTBEAT: case CDC_EV_HEARTBEAT_V2:
        metric_add(s, CDC_METRIC_HEARTBEATS, 1);
        if (s->in_txn) return 0;
        metric_set(s, CDC_METRIC_LAG_MS, 0); /* the server sends them only when it has nothing else */
        return maybe_checkpoint(s, true);
    case CDC_EV_ROTATE:
        /* The decoder renames the file once this returns; the position
         * moves with the next event of the new file (its FDE). */
        if (!inner && !s->in_txn && body.len >= 8) s->at_file_start = cdc__le64(body.ptr) <= 4;
        return 0;
    case CDC_EV_PREVIOUS_GTIDS: case CDC_EV_MARIA_GTID_LIST: {
        if (inner || s->in_txn) return 0;
        if (s->at_file_start) {
            cdc__gtid_set set;
            cdc__gtid_set_init(&set, s->alloc);
            int rc = type == CDC_EV_PREVIOUS_GTIDS ? cdc__gtid_set_parse_previous(&set, body.ptr, body.len, NULL)
                                                   : cdc__gtid_set_parse_maria_list(&set, body.ptr, body.len, NULL);
            if (rc == CDC_OK && (set.n_sids || set.n_maria || !s->safe.gtid_known)) {
                rc = cdc__position_union(&s->safe, &set);
                s->safe.gtid_known = true;
            }
            cdc__gtid_set_free(&set);
            if (rc == CDC_ERR_NOMEM) {
                cdc__err_set(&s->err, CDC_ERR_NOMEM, "out of memory");
                return fail_cb(s, rc);
            }
        }
    }
        __attribute__((fallthrough)); /* also moves the position */
    case CDC_EV_FORMAT_DESCRIPTION: case CDC_EV_MARIA_BINLOG_CHECKPOINT: case CDC_EV_STOP: {
        if (inner || s->in_txn || !s->safe_file_ok) return 0;
        uint64_t end = cdc_event_log_pos(ev);
        const char *f = cdc_event_file(ev);
        bool same = !strcmp(f, cdc_position_file(&s->safe));
        if (*f && end && (!same || end > s->safe.offset)) {
            /* max within a file: a dump that starts mid-file is sent the
             * file's FDE, which lies before the start */
            if (!same && cdc__position_set_file(&s->safe, f, strlen(f))) end = 0;
            s->safe.offset = end;
            if (!end || publish(s)) {
                cdc__err_set(&s->err, CDC_ERR_NOMEM, "out of memory");
                return fail_cb(s, CDC_ERR_NOMEM);
            }
            check_stop(s);
            if (s->stop_reached) return CDC_ERR_PAUSED;
        }
        return 0;
    }
    default:
        return 0;
    }
}

/* ---- sessions -------------------------------------------------------- */

static void conn_opts(cdc_stream *s, cdc_conn_opts *o)
{
    const cdc_config *c = s->cfg;
    memset(o, 0, sizeof *o);
    o->host = cdc__config_str(c, CDC_CFG_HOST);
    o->port = (unsigned)cdc__config_int(c, CDC_CFG_PORT);
    o->unix_socket = *cdc__config_str(c, CDC_CFG_SOCKET) ? cdc__config_str(c, CDC_CFG_SOCKET) : NULL;
    o->user = cdc__config_str(c, CDC_CFG_USER);
    o->password = cdc__config_str(c, CDC_CFG_PASSWORD);
    o->tls_mode = (cdc_tls_mode)cdc__config_enum(c, CDC_CFG_SSL_MODE);
#define OPT_PATH(field, id) o->field = *cdc__config_str(c, id) ? cdc__config_str(c, id) : NULL
    OPT_PATH(tls_ca, CDC_CFG_SSL_CA);
    OPT_PATH(tls_cert, CDC_CFG_SSL_CERT);
    OPT_PATH(tls_key, CDC_CFG_SSL_KEY);
    OPT_PATH(tls_server_name, CDC_CFG_SSL_SERVER_NAME);
    OPT_PATH(server_public_key_path, CDC_CFG_SERVER_PUBLIC_KEY);
#undef OPT_PATH
    o->compress = cdc__config_bool(c, CDC_CFG_COMPRESSION);
    o->connect_timeout_ms = (int)cdc__config_int(c, CDC_CFG_CONNECT_TIMEOUT_MS);
    o->read_timeout_ms = (int)cdc__config_int(c, CDC_CFG_READ_TIMEOUT_MS);
    o->get_server_public_key = cdc__config_bool(c, CDC_CFG_GET_SERVER_PUBLIC_KEY);
    o->allow_cleartext_without_tls = cdc__config_bool(c, CDC_CFG_ALLOW_CLEARTEXT);
    o->max_packet = (size_t)cdc__config_int(c, CDC_CFG_MAX_PACKET_BYTES);
}

static int open_meta(cdc_stream *s)
{
    cdc_conn_opts o;
    conn_opts(s, &o);
    int rc = cdc__conn_new(&s->meta, s->alloc);
    if (rc) return cdc__err_set(&s->err, rc, "out of memory");
    rc = cdc__conn_connect(s->meta, &o, &s->err);
    if (rc) {
        cdc__err_prefix(&s->err, "connection for column names (binlog_row_metadata=MINIMAL)");
        cdc__conn_free(s->meta);
        s->meta = NULL;
        return rc;
    }
    slog(s, 2, CDC_OK, "the binlog has no column names (binlog_row_metadata=MINIMAL): reading them from "
                       "information_schema");
    return CDC_OK;
}

static void snap_log(int level, int code, const char *msg, void *ud) { slog(ud, level, code, "%s", msg); }

/*
 * Takes the snapshot (lib/snapshot.c, docs/snapshot.md) on connections of
 * its own and starts the stream at its point, which is also announced as
 * a checkpoint. initial_only then ends the stream there.
 */
static int take_snapshot(cdc_stream *s, int mode)
{
    cdc_conn_opts o;
    conn_opts(s, &o);
    cdc__snap_stream st = {
        .cfg = s->cfg, .conn = &o, .filter = &s->filter, .no_data = mode == CDC_SNAPSHOT_NO_DATA,
        .stop = &s->stop_flag, .row = s->snap_cb, .row_ud = s->snap_ud, .progress = s->progress_cb,
        .progress_ud = s->progress_ud, .log = snap_log, .log_ud = s,
        .rows_metric = &s->m[CDC_METRIC_SNAPSHOT_ROWS],
    };
    cdc__position_clear(&s->safe);
    cdc__position_init(&s->safe, s->alloc);
    /* CDC_ERR_PAUSED / CDC_ERR_STOPPED keep the snapshot in s->snap; the
     * next session_open() continues it with the next row */
    int rc = cdc__snapshot_stream(&st, s->alloc, &s->snap, &s->safe, &s->err);
    if (rc) return rc;
    if ((rc = publish(s))) return cdc__err_set(&s->err, rc, "out of memory");
    if (mode == CDC_SNAPSHOT_INITIAL_ONLY) {
        s->stop_kind = CDC__WHERE_POSITION;
        if (cdc__position_copy(&s->stop, &s->safe)) return cdc__err_set(&s->err, CDC_ERR_NOMEM, "out of memory");
    }
    if (s->snap_done_cb && (rc = s->snap_done_cb(&s->safe, s->snap_done_ud))) {
        /* The snapshot is complete and its point known: a pause here is
         * honoured once the binlog session is open (cdc_stream_start). */
        if (rc == CDC_ERR_PAUSED) {
            s->snap_done_pause = true;
            return CDC_OK;
        }
        return cdc__err_set(&s->err, CDC_ERR_CALLBACK, "the snapshot-done callback returned %d", rc);
    }
    return CDC_OK;
}

/* The first session of a stream resolves its start and stop points. */
static int resolve(cdc_stream *s)
{
    int rc = CDC_OK;
    int mode = cdc__snapshot_mode(cdc__config_enum(s->cfg, CDC_CFG_SNAPSHOT_MODE));
    if (s->start_kind == CDC__WHERE_POSITION && mode == CDC_SNAPSHOT_WHEN_NEEDED && s->safe.file.len) {
        /* when_needed: a checkpoint whose binlog file is gone takes a new snapshot */
        cdc_position first;
        cdc__position_init(&first, s->alloc);
        rc = cdc__replica_earliest(s->conn, &first, &s->err);
        bool purged = rc == CDC_OK && cdc__binlog_name_cmp(cdc_position_file(&s->safe), cdc_position_file(&first)) < 0;
        if (purged)
            slog(s, 1, CDC_OK, "snapshot.mode=when_needed: the checkpoint's binlog %s is purged (earliest is %s); "
                               "taking a snapshot", cdc_position_file(&s->safe), cdc_position_file(&first));
        cdc__position_clear(&first);
        if (rc) return rc;
        if (purged) s->start_kind = CDC__WHERE_NONE;
    }
    switch (s->start_kind) {
    case CDC__WHERE_NONE:
        if (mode != CDC_SNAPSHOT_NEVER) {
            rc = take_snapshot(s, mode);
            break;
        }
        /* fall through */
    case CDC__WHERE_NOW:
        rc = cdc__replica_now(s->conn, &s->info, &s->safe, &s->err);
        break;
    case CDC__WHERE_EARLIEST:
        rc = cdc__replica_earliest(s->conn, &s->safe, &s->err);
        break;
    default:
        break;
    }
    if (rc) return rc;
    s->safe_file_ok = s->safe.file.len > 0;
    if (s->stop_kind == CDC__WHERE_NOW && (rc = cdc__replica_now(s->conn, &s->info, &s->stop, &s->err))) return rc;
    if (s->safe.gtid_known && s->safe.gtids.n_sids && s->info.mariadb)
        return cdc__err_set(&s->err, CDC_ERR_CONFIG, "start: a MySQL GTID set cannot position a MariaDB server");
    if (s->safe.gtid_known && s->safe.gtids.n_maria && !s->info.mariadb)
        return cdc__err_set(&s->err, CDC_ERR_CONFIG, "start: a MariaDB GTID position cannot position a MySQL server");
    return publish(s);
}

static int session_open(cdc_stream *s)
{
    cdc_conn_opts o;
    conn_opts(s, &o);
    /* A snapshot that paused inside resolve() kept its checked session. */
    bool resume = s->snap && s->conn;
    int rc = resume ? CDC_OK : cdc__conn_new(&s->conn, s->alloc);
    if (rc) return cdc__err_set(&s->err, rc, "out of memory");
    if (!resume) {
        cdc__err_clear(&s->err);
        rc = cdc__conn_connect(s->conn, &o, &s->err);
        if (rc == CDC_OK) rc = cdc__replica_check(s->conn, &s->info, &s->err);
    }
    if (rc == CDC_OK && !s->opened_once) {
        bool checked = true;
        if (!resume) rc = cdc__replica_check_server_id(s->conn, &s->info, s->server_id, &checked, &s->err);
        /* A replica that just went away (a previous run of this host)
         * stays registered until its dump thread next writes, at most a
         * heartbeat later: give it that long before calling it a clash. */
        for (int64_t until = mono_ms() + 2 * s->hb_ms + 2000;
             rc == CDC_ERR_CONFIG && mono_ms() < until && !atomic_load(&s->stop_flag);) {
            struct timespec ts = {0, 250 * 1000000L};
            nanosleep(&ts, NULL);
            rc = cdc__replica_check_server_id(s->conn, &s->info, s->server_id, &checked, &s->err);
        }
        if (rc == CDC_OK && !checked)
            slog(s, 2, CDC_OK, "cannot list the server's replicas to check that server.id %" PRIu32
                               " is unique (SHOW REPLICAS needs more privileges)", s->server_id);
        if (rc == CDC_OK && !resume && strcmp(s->info.row_image, "FULL"))
            slog(s, 1, CDC_OK, "binlog_row_image=%s: changes carry only some columns", s->info.row_image);
        if (rc == CDC_OK) rc = resolve(s);
        if (rc == CDC_ERR_PAUSED) return rc; /* inside the snapshot: the session waits with it */
        if (rc == CDC_OK) s->opened_once = true;
        if (rc == CDC_OK && stop_reached(s)) return DONE_RC;
    }
    cdc_buf state;
    cdc__buf_init(&state, s->alloc);
    bool by_gtid = !s->safe_file_ok;
    if (rc == CDC_OK && by_gtid && s->info.mariadb) {
        if (cdc__replica_maria_state(&s->safe.gtids, &state) || cdc__buf_terminate(&state))
            rc = cdc__err_set(&s->err, CDC_ERR_NOMEM, "out of memory");
    }
    if (rc == CDC_OK)
        rc = cdc__replica_prepare(s->conn, &s->info, (uint32_t)s->hb_ms,
                                  by_gtid && s->info.mariadb ? (const char *)state.data : NULL, &s->err);
    cdc__buf_free(&state);
    if (rc == CDC_OK) rc = cdc__replica_register(s->conn, s->server_id, &s->err);
    if (rc == CDC_OK) {
        cdc_position from;
        cdc__position_init(&from, s->alloc);
        rc = cdc__position_copy(&from, &s->safe);
        if (by_gtid) cdc__buf_reset(&from.file);
        if (rc == CDC_OK) rc = cdc__replica_dump(s->conn, &s->info, s->server_id, &from, &s->err);
        cdc__position_clear(&from);
    }
    if (rc == CDC_OK) {
        char e[CDC__ERRMSG_MAX];
        rc = cdc_decoder_new(&s->dec, s->alloc, e, sizeof e);
        if (rc == CDC_OK) rc = cdc_decoder_set_mode(s->dec, CDC_DECODER_EVENTS);
        if (rc == CDC_OK) rc = cdc_decoder_set_position(s->dec, cdc_position_file(&s->safe), s->safe.offset);
        if (rc) {
            cdc__err_set(&s->err, rc, "decoder: %s", cdc_strerror(rc));
        } else {
            cdc_decoder_set_event_cb(s->dec, on_event, s);
            cdc_decoder_set_table_cb(s->dec, on_table, s);
            cdc_decoder_set_change_cb(s->dec, on_change, s);
            cdc_decoder_set_begin_cb(s->dec, on_begin, s);
            cdc_decoder_set_commit_cb(s->dec, on_commit, s);
            cdc_decoder_set_query_cb(s->dec, on_query, s);
        }
    }
    if (rc) {
        session_close(s);
        return rc;
    }
    s->at_file_start = s->safe_file_ok && s->safe.offset <= 4;
    /* The dump waits for events as long as it takes; silence longer than
     * the heartbeat timeout means the server or the path is gone. */
    cdc__conn_set_read_timeout(s->conn, s->hb_timeout_ms);
    atomic_store(&s->wake_fd, cdc__conn_fd(s->conn));
    if (atomic_load(&s->stop_flag)) cdc_stream_stop(s); /* a stop that came while connecting */
    return CDC_OK;
}

/* Drops the session; the unfinished transaction is re-read from the safe
 * position later, with what was already delivered suppressed. */
static void session_drop(cdc_stream *s)
{
    session_close(s);
    if (s->in_txn) s->skip += s->txn_delivered;
    uint64_t skip = s->skip;
    txn_reset(s);
    s->skip = skip;
}

/* Closes the session and ends its dump thread on the server with a short
 * second connection (a user may KILL its own threads). Otherwise the
 * server keeps our server_id registered until the thread next writes,
 * and a host that restarts at once would find it taken. */
static void session_end(cdc_stream *s)
{
    if (!s->conn) return;
    uint32_t id = cdc__conn_id(s->conn);
    session_close(s);
    cdc_conn_opts o;
    conn_opts(s, &o);
    o.connect_timeout_ms = 2000;
    o.read_timeout_ms = 2000;
    cdc_conn *k = NULL;
    cdc_err e = {0};
    if (cdc__conn_new(&k, s->alloc) == CDC_OK && cdc__conn_connect(k, &o, &e) == CDC_OK) {
        char sql[32];
        snprintf(sql, sizeof sql, "KILL %" PRIu32, id);
        (void)cdc__conn_exec(k, sql, &e); /* gone already is fine */
    }
    cdc__conn_free(k);
}

static int fail(cdc_stream *s, int rc)
{
    if (!s->err.msg[0]) cdc__err_set(&s->err, rc, "%s", cdc_strerror(rc));
    s->err.code = rc;
    s->state = ST_FAILED;
    session_end(s);
    return rc;
}

static int stopped(cdc_stream *s)
{
    atomic_store(&s->stop_flag, 0);
    session_end(s);
    session_drop(s);
    s->state = ST_IDLE;
    cdc__err_set(&s->err, CDC_ERR_STOPPED, "stopped on request");
    return CDC_ERR_STOPPED;
}

/* Waits ms, waking early for a stop. */
static bool backoff_wait(cdc_stream *s, int ms)
{
    int64_t until = mono_ms() + ms;
    while (!atomic_load(&s->stop_flag)) {
        int64_t left = until - mono_ms();
        if (left <= 0) return true;
        struct timespec ts = {0, (left > 20 ? 20 : left) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return false;
}

static int reconnect(cdc_stream *s, int why)
{
    char ck[512] = "";
    cdc_stream_checkpoint(s, ck, sizeof ck, NULL);
    slog(s, 1, why, "connection lost (%s); reconnecting from %s", s->err.msg, ck);
    session_drop(s);
    cdc_err last = s->err;
    int wait = s->backoff_ms;
    for (int attempt = 1;; attempt++) {
        if (s->max_attempts >= 0 && attempt > s->max_attempts) {
            s->err = last;
            cdc__err_prefix(&s->err, "gave up after %d reconnect attempt%s", attempt - 1, attempt == 2 ? "" : "s");
            return fail(s, last.code ? last.code : why);
        }
        if (!backoff_wait(s, wait)) return stopped(s);
        int rc = session_open(s);
        if (rc == CDC_OK || rc == DONE_RC) {
            metric_add(s, CDC_METRIC_RECONNECTS, 1);
            slog(s, 2, CDC_OK, "reconnected after %d attempt%s", attempt, attempt == 1 ? "" : "s");
            return rc;
        }
        if (atomic_load(&s->stop_flag)) return stopped(s);
        if (!cdc_is_retriable(rc)) return fail(s, rc);
        last = s->err;
        slog(s, 1, rc, "reconnect attempt %d failed: %s", attempt, s->err.msg);
        wait = wait * 2 > s->backoff_max_ms ? s->backoff_max_ms : wait * 2;
        if (wait <= 0) wait = 1;
    }
}

/* Feeds event bytes; 0, CDC_ERR_PAUSED, DONE_RC or an error. */
static int feed(cdc_stream *s, const uint8_t *p, size_t n)
{
    ptrdiff_t used = cdc_decoder_feed(s->dec, p, n);
    if (s->failed) return s->err.code ? s->err.code : CDC_ERR_CALLBACK;
    if (used < 0) {
        cdc__err_set(&s->err, (int)used, "%s", cdc_decoder_errmsg(s->dec));
        return (int)used;
    }
    if (s->stop_reached) return DONE_RC;
    if (s->pausing) {
        s->rest = p + used;
        s->rest_len = n - (size_t)used;
        return CDC_ERR_PAUSED;
    }
    if ((size_t)used != n) return cdc__err_set(&s->err, CDC_ERR_STATE, "decoder stopped without a reason");
    return 0;
}

/* What start() does with feed()'s answer; -1000 means go on. */
static int after_feed(cdc_stream *s, int rc)
{
    if (rc == 0) return -1000;
    if (rc == DONE_RC) {
        s->state = ST_DONE;
        session_end(s);
        cdc__err_clear(&s->err);
        /* The host hears of the final position even within an interval. */
        if (s->ck_pending && s->ck_cb) {
            s->ck_pending = false;
            int r = s->ck_cb(&s->safe, s->ck_ud);
            if (r && r != CDC_ERR_PAUSED) {
                cdc__err_set(&s->err, CDC_ERR_CALLBACK, "the checkpoint callback returned %d (%s)", r, cdc_err_name(r));
                s->state = ST_FAILED;
                return CDC_ERR_CALLBACK;
            }
        }
        return CDC_OK;
    }
    if (rc == CDC_ERR_PAUSED) {
        s->state = ST_PAUSED;
        return CDC_ERR_PAUSED;
    }
    if (cdc_is_retriable(rc)) {
        s->failed = false;
        int r = reconnect(s, rc);
        if (r == DONE_RC) return after_feed(s, DONE_RC);
        return r ? r : -1000;
    }
    return fail(s, rc);
}

int cdc_stream_start(cdc_stream *s)
{
    if (!s) return CDC_ERR_INVALID;
    if (s->state == ST_FAILED) return s->err.code ? s->err.code : CDC_ERR_STATE;
    if (s->state == ST_DONE) return CDC_OK;
    if (s->state == ST_RUNNING) return cdc__err_set(&s->err, CDC_ERR_STATE, "cdc_stream_start: already running");
    if (atomic_load(&s->stop_flag)) return stopped(s);
    int prev = s->state;
    s->state = ST_RUNNING;
    s->pausing = false;
    if (prev == ST_PAUSED) {
        if (s->pause_dirty) {
            s->pause_dirty = false;
            session_drop(s);
        } else if (s->rest_len) {
            const uint8_t *p = s->rest;
            size_t n = s->rest_len;
            s->rest = NULL;
            s->rest_len = 0;
            int r = after_feed(s, feed(s, p, n));
            if (r != -1000) return r;
        }
    }
    for (;;) {
        if (atomic_load(&s->stop_flag)) return stopped(s);
        if (!s->conn || s->snap) {
            bool first = !s->opened_once;
            int rc = session_open(s);
            if (rc == DONE_RC) return after_feed(s, DONE_RC);
            if (rc == CDC_ERR_PAUSED) { /* a snapshot row or progress callback paused */
                s->state = ST_PAUSED;
                return CDC_ERR_PAUSED;
            }
            if (rc == CDC_OK && s->snap_done_pause) {
                s->snap_done_pause = false;
                s->state = ST_PAUSED;
                return CDC_ERR_PAUSED;
            }
            if (rc) {
                if (atomic_load(&s->stop_flag)) return stopped(s);
                /* A first connection that fails is a setup problem to
                 * report, not to retry; later ones retry. */
                if (first || !cdc_is_retriable(rc)) return fail(s, rc);
                int r = after_feed(s, rc);
                if (r != -1000) return r;
                continue;
            }
        }
        cdc_bytes pkt;
        bool more = false, cont = s->piece_cont;
        /* Pieces of at most PIECE_BYTES: an event larger than a protocol
         * packet (a big compressed transaction) reaches the decoder, which
         * streams it, without ever being whole in memory. */
        int rc = cdc__conn_read_piece(s->conn, PIECE_BYTES, &pkt, &more, &s->err);
        s->piece_cont = more;
        if (rc) {
            if (atomic_load(&s->stop_flag)) return stopped(s);
            if (rc == CDC_ERR_TIMEOUT)
                cdc__err_set(&s->err, rc, "no event or heartbeat from the server for %d ms (heartbeat.timeout.ms)",
                             s->hb_timeout_ms);
            int r = after_feed(s, rc);
            if (r != -1000) return r;
            continue;
        }
        metric_add(s, CDC_METRIC_BYTES, pkt.len + (cont ? 0 : 4));
        if (cont) {
            int r = after_feed(s, feed(s, pkt.ptr, pkt.len));
            if (r != -1000) return r;
        } else if (pkt.len && pkt.ptr[0] == 0x00) {
            int r = after_feed(s, feed(s, pkt.ptr + 1, pkt.len - 1));
            if (r != -1000) return r;
        } else if (more) {
            cdc__err_set(&s->err, CDC_ERR_PROTOCOL, "binlog dump: a %zu-byte packet of type 0x%02x",
                         pkt.len, pkt.len ? pkt.ptr[0] : 0);
            return fail(s, CDC_ERR_PROTOCOL);
        } else if (pkt.len && pkt.ptr[0] == 0xff) {
            rc = cdc__replica_dump_error(pkt.ptr, pkt.len, &s->err);
            /* A killed dump thread or a server going down is a dropped
             * connection; ER_QUERY_INTERRUPTED (1317) too. */
            if (s->err.server_errno == 1317) rc = s->err.code = CDC_ERR_CLOSED;
            int r = after_feed(s, rc);
            if (r != -1000) return r;
        } else if (pkt.len && pkt.len < 9 && pkt.ptr[0] == 0xfe) {
            cdc__err_set(&s->err, CDC_ERR_CLOSED, "the server ended the binlog dump");
            int r = after_feed(s, CDC_ERR_CLOSED);
            if (r != -1000) return r;
        } else {
            cdc__err_set(&s->err, CDC_ERR_PROTOCOL, "binlog dump: unexpected packet 0x%02x of %zu bytes",
                         pkt.len ? pkt.ptr[0] : 0, pkt.len);
            return fail(s, CDC_ERR_PROTOCOL);
        }
    }
}
