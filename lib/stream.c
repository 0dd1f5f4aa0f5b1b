/*
 * stream.c: the change stream of cdc/stream.h, a driven loop over one
 * replica connection: read packets and feed them to the decoder, whose
 * callbacks delivery (delivery.c) turns into the host's. Here: the
 * handle, its metrics and checkpoint text, the read loop, reconnects with
 * backoff, stop and pause. A session (connect, check, where the first one
 * starts, register, dump) is session.c's; the handle's insides are in
 * stream_int.h. The snapshot (snapshot_stream.c) and incremental
 * snapshots (incremental.c) are driven from here; replica.c knows the
 * dump's packets.
 */
#include "stream_int.h"

#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "config.h"
#include "position.h"

void cdc__stream_log(cdc_stream *s, int level, int code, const char *fmt, ...)
{
    if (!s->log_cb) return;
    char msg[CDC__ERRMSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->log_cb(level, code, msg, s->log_ud);
}

/* Every metric but CDC_METRIC_SNAPSHOT_ROWS (added to by the snapshot's
 * workers through rows_metric, atomically) has one writer, the thread in
 * cdc_stream_run: a plain load and store, each atomic for the readers of
 * cdc_stream_metric, with no locked read-modify-write. The locked add per
 * row, event and packet was 1.8% of cdc stream's CPU. */
static void metric_add(cdc_metric m, uint64_t v, void *ud)
{
    _Atomic uint64_t *a = &((cdc_stream *)ud)->m[m];
    atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + v, memory_order_relaxed);
}
static void metric_set(cdc_metric m, uint64_t v, void *ud) { atomic_store(&((cdc_stream *)ud)->m[m], v); }

/* delivery's publish hook: the checkpoint text for cdc_stream_checkpoint(). */
static int publish_hook(const cdc_position *safe, void *ud)
{
    cdc_stream *s = ud;
    pthread_mutex_lock(&s->ck_mu);
    cdc__buf_reset(&s->ck_text);
    int rc = cdc__position_format_buf(safe, &s->ck_text);
    if (rc == CDC_OK) rc = cdc__buf_terminate(&s->ck_text);
    s->ck_valid = rc == CDC_OK;
    pthread_mutex_unlock(&s->ck_mu);
    metric_set(CDC_METRIC_OFFSET, safe->offset, s);
    return rc;
}

/* the snapshot's and incremental snapshots' log callback */
static void module_log(int level, int code, const char *msg, void *ud) { cdc__stream_log(ud, level, code, "%s", msg); }

/* delivery's hooks for incremental snapshots (incremental.h) */
static int incr_change_hook(const cdc_change *c, const cdc__gtid *gid, void *ud)
{
    return cdc__incr_change(((cdc_stream *)ud)->incr, c, gid);
}
static bool incr_boundary_hook(const cdc_position *safe, void *ud)
{
    return cdc__incr_boundary(((cdc_stream *)ud)->incr, safe);
}
static void incr_query_hook(void *ud) { cdc__incr_query(((cdc_stream *)ud)->incr); }

/* ---- lifecycle ------------------------------------------------------- */

int cdc_stream_new(cdc_stream **out, const cdc_config *cfg, const cdc_allocator *alloc, char *errbuf,
                   size_t errlen)
{
    cdc__err err = {0};
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
    cdc__schema_init(&s->schema, a);
    cdc__delivery_init(&s->dv, a, &s->filter, &s->schema, &s->err);
    s->dv.hooks = (cdc__delivery_hooks){
        .publish = publish_hook, .metric_add = metric_add, .metric_set = metric_set, .ud = s};
    cdc__buf_init(&s->ck_text, a);
    cdc__stream_snap_init(&s->snap, a);
    pthread_mutex_init(&s->ck_mu, NULL);
    atomic_init(&s->stop_flag, 0);
    atomic_init(&s->wake_fd, -1);
    atomic_init(&s->wake_users, 0);
    for (int i = 0; i < METRIC_COUNT; i++) atomic_init(&s->m[i], 0);

    int rc = cdc_config_copy(&s->cfg, cfg);
    if (rc) cdc__err_set(&err, rc, "out of memory");
    if (rc == CDC_OK) rc = cdc__config_check(s->cfg, CDC__CFG_FOR_STREAM, &err);
    if (rc == CDC_OK)
        rc = cdc__where_parse(cdc__config_str(s->cfg, CDC_CFG_START), "start", true, &s->start_kind, &s->dv.safe,
                              &err);
    if (rc == CDC_OK)
        rc = cdc__where_parse(cdc__config_str(s->cfg, CDC_CFG_STOP_AT), "stop.at", false, &s->dv.stop_kind, &s->dv.stop,
                              &err);
    if (rc == CDC_OK) rc = cdc__filter_init(&s->filter, s->cfg, a, &err);
    if (rc == CDC_OK) {
        cdc__incr_env ie = {.alloc = a, .cfg = s->cfg, .filter = &s->filter, .log = module_log, .log_ud = s,
                            .rows_metric = &s->m[CDC_METRIC_SNAPSHOT_ROWS], .dv = &s->dv};
        rc = cdc__incr_new(&s->incr, &ie, &err);
        s->dv.hooks.change = incr_change_hook;
        s->dv.hooks.boundary = incr_boundary_hook;
        s->dv.hooks.query = incr_query_hook;
    }
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
    s->snap.st = (cdc__snap_stream){.cfg = s->cfg, .filter = &s->filter, .stop = &s->stop_flag, .log = module_log,
                                    .log_ud = s, .rows_metric = &s->m[CDC_METRIC_SNAPSHOT_ROWS]};
    s->server_id = (uint32_t)cdc__config_int(s->cfg, CDC_CFG_SERVER_ID);
    s->hb_ms = (int)cdc__config_int(s->cfg, CDC_CFG_HEARTBEAT_MS);
    s->dv.checkpoint_ms = s->hb_ms;
    int64_t hbt = cdc__config_int(s->cfg, CDC_CFG_HEARTBEAT_TIMEOUT_MS);
    s->hb_timeout_ms = hbt ? (int)hbt : 3 * s->hb_ms;
    s->backoff_ms = (int)cdc__config_int(s->cfg, CDC_CFG_RECONNECT_BACKOFF_MS);
    s->backoff_max_ms = (int)cdc__config_int(s->cfg, CDC_CFG_RECONNECT_BACKOFF_MAX_MS);
    s->max_attempts = (int)cdc__config_int(s->cfg, CDC_CFG_RECONNECT_MAX_ATTEMPTS);
    *out = s;
    return CDC_OK;
}


void cdc_stream_free(cdc_stream *s)
{
    if (!s) return;
    cdc__session_end(s);
    cdc__stream_snap_free(&s->snap);
    cdc__incr_free(s->incr);
    cdc__conn_free(s->meta);
    cdc__delivery_free(&s->dv);
    cdc__filter_free(&s->filter);
    cdc__schema_free(&s->schema);
    cdc__buf_free(&s->ck_text);
    pthread_mutex_destroy(&s->ck_mu);
    cdc_config_free(s->cfg);
    cdc__free(s->alloc, s);
}

void cdc_stream_set_change_cb(cdc_stream *s, cdc_stream_change_cb cb, void *ud) { s->dv.host.change = cb; s->dv.host.change_ud = ud; }
void cdc_stream_set_begin_cb(cdc_stream *s, cdc_stream_txn_cb cb, void *ud) { s->dv.host.begin = cb; s->dv.host.begin_ud = ud; }
void cdc_stream_set_commit_cb(cdc_stream *s, cdc_stream_txn_cb cb, void *ud) { s->dv.host.commit = cb; s->dv.host.commit_ud = ud; }
void cdc_stream_set_ddl_cb(cdc_stream *s, cdc_stream_ddl_cb cb, void *ud) { s->dv.host.ddl = cb; s->dv.host.ddl_ud = ud; }
void cdc_stream_set_checkpoint_cb(cdc_stream *s, cdc_stream_checkpoint_cb cb, void *ud)
{
    s->dv.host.checkpoint = cb;
    s->dv.host.checkpoint_ud = ud;
}
void cdc_stream_set_log_cb(cdc_stream *s, cdc_stream_log_cb cb, void *ud) { s->log_cb = cb; s->log_ud = ud; }
void cdc_stream_set_snapshot_cb(cdc_stream *s, cdc_stream_change_cb cb, void *ud)
{
    s->snap.st.row = cb;
    s->snap.st.row_ud = ud;
}
void cdc_stream_set_progress_cb(cdc_stream *s, cdc_stream_progress_cb cb, void *ud)
{
    s->snap.st.progress = cb;
    s->snap.st.progress_ud = ud;
}
void cdc_stream_set_snapshot_progress_cb(cdc_stream *s, cdc_stream_snapshot_progress_cb cb, void *ud)
{
    s->snap.st.progress_ex = cb;
    s->snap.st.progress_ex_ud = ud;
}
void cdc_stream_set_snapshot_checkpoint_cb(cdc_stream *s, cdc_stream_checkpoint_cb cb, void *ud)
{
    s->snap.st.checkpoint = cb;
    s->snap.st.checkpoint_ud = ud;
}
void cdc_stream_set_snapshot_done_cb(cdc_stream *s, cdc_stream_checkpoint_cb cb, void *ud)
{
    s->snap.done = cb;
    s->snap.done_ud = ud;
}

void cdc_stream_set_incremental_cb(cdc_stream *s, cdc_stream_change_cb cb, void *ud)
{
    s->incr_cb = cb;
    s->incr_ud = ud;
}

int cdc_stream_snapshot_table(cdc_stream *s, const char *table, const char *filter)
{
    if (!s || !table) return CDC_ERR_INVALID;
    cdc__err e = {0}; /* the code says it; the log callback belongs to the stream's thread */
    return cdc__incr_request(s->incr, table, filter, &e);
}

int cdc_stream_snapshot_control(cdc_stream *s, cdc_snapshot_ctl what, const char *table)
{
    if (!s) return CDC_ERR_INVALID;
    return cdc__incr_control(s->incr, (int)what, table);
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

/* ---- sessions -------------------------------------------------------- */




/* Incremental snapshots between feeds: a ready chunk's rows to the
 * host (the incremental callback, or the snapshot's), the next chunk. */
static int incr_service(cdc_stream *s)
{
    return cdc__incr_serve(s->incr, s->incr_cb ? s->incr_cb : s->snap.st.row,
                           s->incr_cb ? s->incr_ud : s->snap.st.row_ud, &s->stop_flag, &s->err);
}







static int fail(cdc_stream *s, int rc)
{
    rc = cdc__session_explain_start(s, rc);
    if (!s->err.msg[0]) cdc__err_set(&s->err, rc, "%s", cdc_strerror(rc));
    s->err.code = rc;
    s->state = ST_FAILED;
    cdc__session_end(s);
    return rc;
}

static int stopped(cdc_stream *s)
{
    atomic_store(&s->stop_flag, 0);
    cdc__session_end(s);
    cdc__session_drop(s);
    s->state = ST_IDLE;
    cdc__err_set(&s->err, CDC_ERR_STOPPED, "stopped on request");
    return CDC_ERR_STOPPED;
}

/* Waits ms, waking early for a stop. */
static bool backoff_wait(cdc_stream *s, int ms)
{
    int64_t until = cdc__mono_ms() + ms;
    while (!atomic_load(&s->stop_flag)) {
        int64_t left = until - cdc__mono_ms();
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
    cdc__stream_log(s, 1, why, "connection lost (%s); reconnecting from %s", s->err.msg, ck);
    cdc__session_drop(s);
    cdc__err last = s->err;
    int wait = s->backoff_ms;
    for (int attempt = 1;; attempt++) {
        if (s->max_attempts >= 0 && attempt > s->max_attempts) {
            s->err = last;
            cdc__err_prefix(&s->err, "gave up after %d reconnect attempt%s", attempt - 1, attempt == 2 ? "" : "s");
            return fail(s, last.code ? last.code : why);
        }
        if (!backoff_wait(s, wait)) return stopped(s);
        int rc = cdc__session_open(s);
        if (rc == CDC_OK || rc == FEED_DONE) {
            metric_add(CDC_METRIC_RECONNECTS, 1, s);
            cdc__stream_log(s, 2, CDC_OK, "reconnected after %d attempt%s", attempt, attempt == 1 ? "" : "s");
            return rc;
        }
        if (atomic_load(&s->stop_flag)) return stopped(s);
        if (!cdc_is_retriable(rc)) return fail(s, rc);
        last = s->err;
        cdc__stream_log(s, 1, rc, "reconnect attempt %d failed: %s", attempt, s->err.msg);
        wait = wait * 2 > s->backoff_max_ms ? s->backoff_max_ms : wait * 2;
        if (wait <= 0) wait = 1;
    }
}


/* Feeds event bytes; 0, CDC_ERR_PAUSED, FEED_DONE or an error. */
static int feed(cdc_stream *s, const uint8_t *p, size_t n)
{
    for (;;) {
        /* a chunk to hand out before the bytes after its boundary */
        if (s->dv.owner_wanted || cdc__incr_pending(s->incr)) {
            int rc = incr_service(s);
            if (rc == CDC_ERR_PAUSED) {
                s->dv.pausing = true;
                s->rest = p;
                s->rest_len = n;
                return rc;
            }
            if (rc) return rc;
            if (n == 0) return 0;
        }
        ptrdiff_t used = cdc_decoder_feed(s->dec, p, n);
        if (s->dv.failed) return s->err.code ? s->err.code : CDC_ERR_CALLBACK;
        if (used < 0) {
            cdc__err_set(&s->err, (int)used, "%s", cdc_decoder_errmsg(s->dec));
            return (int)used;
        }
        if (s->dv.stop_reached) return FEED_DONE;
        if (s->dv.pausing) {
            s->rest = p + used;
            s->rest_len = n - (size_t)used;
            return CDC_ERR_PAUSED;
        }
        if (s->dv.owner_wanted) {
            p += used;
            n -= (size_t)used;
            continue; /* served at the top */
        }
        if (s->dv.names_wanted) {
            int rc = cdc__session_fetch_names(s);
            if (rc) return rc;
            p += used;
            n -= (size_t)used;
            continue; /* the decoder asks again first */
        }
        if ((size_t)used != n) return cdc__err_set(&s->err, CDC_ERR_STATE, "decoder stopped without a reason");
        return 0;
    }
}

/* What start() does with feed()'s answer: FEED_ON to read on, or what
 * start() returns. */
static int after_feed(cdc_stream *s, int rc)
{
    if (rc == 0) return FEED_ON;
    if (rc == FEED_DONE) {
        s->state = ST_DONE;
        cdc__session_end(s);
        cdc__err_clear(&s->err);
        /* The host hears of the final position even within an interval. */
        if (cdc__delivery_final_checkpoint(&s->dv)) {
            s->state = ST_FAILED;
            return CDC_ERR_CALLBACK;
        }
        return CDC_OK;
    }
    if (rc == CDC_ERR_PAUSED) {
        s->state = ST_PAUSED;
        return CDC_ERR_PAUSED;
    }
    if (cdc_is_retriable(rc)) {
        s->dv.failed = false;
        int r = reconnect(s, rc);
        if (r == FEED_DONE) return after_feed(s, FEED_DONE);
        return r ? r : FEED_ON;
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
    s->dv.pausing = false;
    if (prev == ST_PAUSED) {
        if (s->dv.pause_dirty) {
            s->dv.pause_dirty = false;
            metric_add(CDC_METRIC_REREADS, 1, s);
            cdc__session_drop(s);
        } else if (s->rest_len) {
            const uint8_t *p = s->rest;
            size_t n = s->rest_len;
            s->rest = NULL;
            s->rest_len = 0;
            int r = after_feed(s, feed(s, p, n));
            if (r != FEED_ON) return r;
        }
    }
    for (;;) {
        if (atomic_load(&s->stop_flag)) return stopped(s);
        if (!s->conn || s->snap.run) {
            bool first = !s->opened_once;
            int rc = cdc__session_open(s);
            if (rc == FEED_DONE) return after_feed(s, FEED_DONE);
            if (rc == CDC_ERR_PAUSED) { /* a snapshot row or progress callback paused */
                s->state = ST_PAUSED;
                return CDC_ERR_PAUSED;
            }
            if (rc == CDC_OK && s->snap.done_pause) {
                s->snap.done_pause = false;
                s->state = ST_PAUSED;
                return CDC_ERR_PAUSED;
            }
            if (rc) {
                if (atomic_load(&s->stop_flag)) return stopped(s);
                /* A first connection that fails is a setup problem to
                 * report, not to retry; later ones retry. */
                if (first || !cdc_is_retriable(rc)) return fail(s, rc);
                int r = after_feed(s, rc);
                if (r != FEED_ON) return r;
                continue;
            }
        }
        if (!s->piece_cont && cdc__incr_pending(s->incr)) {
            int r = incr_service(s);
            if (r == CDC_ERR_PAUSED) {
                s->state = ST_PAUSED;
                return r;
            }
            if (r) return fail(s, r);
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
            if (r != FEED_ON) return r;
            continue;
        }
        metric_add(CDC_METRIC_BYTES, pkt.len + (cont ? 0 : 4), s);
        /* the rest of an event, or an event, an error, the end of the dump */
        cdc_bytes ev = pkt;
        if (!cont) rc = cdc__replica_dump_packet(pkt.ptr, pkt.len, more, &ev, &s->err);
        int r = after_feed(s, rc ? rc : feed(s, ev.ptr, ev.len));
        if (r != FEED_ON) return r;
    }
}
