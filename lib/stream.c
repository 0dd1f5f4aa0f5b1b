/*
 * stream.c: the change stream of cdc/stream.h, a driven loop over one
 * replica connection: connect, check, register, dump, read packets and
 * feed them to the decoder, whose callbacks delivery (delivery.c) turns
 * into the host's. Here: the handle, its metrics and checkpoint text,
 * sessions and where the first one starts, reconnects, stop and pause,
 * and the column names binlog_row_metadata=MINIMAL leaves out, fetched
 * between feeds. The snapshot (snapshot_stream.c) and incremental
 * snapshots (incremental.c) are driven from here; replica.c knows the
 * dump's packets and checks the start point.
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
#include "delivery.h"
#include "filter.h"
#include "incremental.h"
#include "position.h"
#include "replica.h"
#include "schema.h"
#include "snapshot.h"

enum { ST_IDLE, ST_RUNNING, ST_PAUSED, ST_DONE, ST_FAILED };
enum { METRIC_COUNT = CDC_METRIC_REREADS + 1 };
/* What feed() and session_open() return besides CDC_OK and errors. */
enum { FEED_DONE = 1 /* stop.at reached */, FEED_ON = 2 /* after_feed(): keep reading */ };
#define PIECE_BYTES ((size_t)1 << 20)

struct cdc_stream {
    const cdc_allocator *alloc;
    cdc_config *cfg;
    cdc__filter filter;
    cdc__delivery dv;       /* exactly-once bookkeeping, the safe position */

    cdc_stream_log_cb log_cb;
    void *log_ud;
    cdc__stream_snap snap;    /* the snapshot: host callbacks, a run kept across pauses */
    cdc_stream_change_cb incr_cb;
    void *incr_ud;
    cdc__incr *incr;          /* incremental snapshots (incremental.c) */

    uint32_t server_id;
    int hb_ms, hb_timeout_ms, backoff_ms, backoff_max_ms, max_attempts;
    cdc__where start_kind;

    cdc__conn *conn, *meta;
    cdc__server_info info;
    char dump_file[512];    /* the session's dump started at dump_file:dump_offset ("" by GTID) */
    uint64_t dump_offset;
    bool opened_once;
    cdc_decoder *dec;

    int state;
    const uint8_t *rest;
    size_t rest_len;
    bool piece_cont;        /* the next piece continues an event payload */
    cdc__schema schema;
    cdc__err err;

    atomic_int stop_flag, wake_fd, wake_users;
    _Atomic uint64_t m[METRIC_COUNT];
    pthread_mutex_t ck_mu;
    cdc__buf ck_text;
    bool ck_valid;
};

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

static void metric_add(cdc_metric m, uint64_t v, void *ud) { atomic_fetch_add(&((cdc_stream *)ud)->m[m], v); }
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

static int publish(cdc_stream *s) { return cdc__delivery_publish(&s->dv); }

/* the snapshot's and incremental snapshots' log callback */
static void module_log(int level, int code, const char *msg, void *ud) { slog(ud, level, code, "%s", msg); }

/* delivery's hooks for incremental snapshots (incremental.h) */
static int incr_change_hook(const cdc_change *c, const cdc__gtid *gid, void *ud)
{
    return cdc__incr_change(((cdc_stream *)ud)->incr, c, gid);
}
static bool incr_boundary_hook(const cdc_position *safe, void *ud)
{
    return cdc__incr_boundary(((cdc_stream *)ud)->incr, safe);
}

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

static void conn_opts(cdc_stream *s, cdc__conn_opts *o) { cdc__conn_opts_from_config(s->cfg, o); }

static int open_meta(cdc_stream *s)
{
    cdc__conn_opts o;
    conn_opts(s, &o);
    int rc = cdc__conn_new(&s->meta, s->alloc);
    if (rc) return cdc__err_set(&s->err, rc, "out of memory");
    rc = cdc__conn_connect(s->meta, &o, &s->err);
    if (rc) {
        cdc__err_prefix(&s->err, "connection for information_schema (column names, MariaDB JSON columns)");
        cdc__conn_free(s->meta);
        s->meta = NULL;
        return rc;
    }
    if (s->dv.names_need)
        slog(s, 2, CDC_OK, "the binlog has no column names (binlog_row_metadata=MINIMAL): reading them from "
                           "information_schema");
    else
        slog(s, 2, CDC_OK, "reading which LONGTEXT columns are JSON from information_schema (MariaDB)");
    return CDC_OK;
}


/* Incremental snapshots between feeds: a ready chunk's rows to the
 * host (the incremental callback, or the snapshot's), the next chunk. */
static int incr_service(cdc_stream *s)
{
    return cdc__incr_serve(s->incr, s->incr_cb ? s->incr_cb : s->snap.st.row,
                           s->incr_cb ? s->incr_ud : s->snap.st.row_ud, &s->stop_flag, &s->err);
}

/*
 * Takes the snapshot (snapshot_stream.c, docs/snapshot.md) on connections
 * of its own and starts the stream at its point, which is also announced
 * as a checkpoint. initial_only then ends the stream there.
 */
static int take_snapshot(cdc_stream *s, int mode)
{
    cdc__conn_opts o;
    conn_opts(s, &o);
    return cdc__stream_snap_take(&s->snap, &o, mode, &s->dv, &s->err);
}

/* The first session of a stream resolves its start and stop points. */
static int resolve(cdc_stream *s)
{
    int rc = CDC_OK;
    int mode = cdc__snapshot_mode(cdc__config_enum(s->cfg, CDC_CFG_SNAPSHOT_MODE));
    if (s->start_kind == CDC__WHERE_POSITION) {
        bool fresh = false;
        rc = cdc__stream_snap_at_checkpoint(&s->snap, s->conn, mode, &s->dv, &fresh, &s->err);
        if (rc) return rc;
        if (fresh) s->start_kind = CDC__WHERE_NONE;
    }
    if (s->snap.resuming && (rc = take_snapshot(s, mode))) return rc;
    switch (s->start_kind) {
    case CDC__WHERE_NONE:
        if (mode != CDC_SNAPSHOT_NEVER) {
            rc = take_snapshot(s, mode);
            break;
        }
        /* fall through */
    case CDC__WHERE_NOW:
        rc = cdc__replica_now(s->conn, &s->info, &s->dv.safe, &s->err);
        break;
    case CDC__WHERE_EARLIEST:
        rc = cdc__replica_earliest(s->conn, &s->dv.safe, &s->err);
        break;
    default:
        break;
    }
    if (rc) return rc;
    s->dv.safe_file_ok = s->dv.safe.file.len > 0;
    bool to_now = s->dv.stop_kind == CDC__WHERE_NOW;
    if (to_now && (rc = cdc__replica_now(s->conn, &s->info, &s->dv.stop, &s->err))) return rc;
    rc = cdc__replica_check_start_point(&s->info, &s->dv.safe, s->dv.safe_file_ok, to_now ? &s->dv.stop : NULL,
                                        &s->err);
    return rc ? rc : publish(s);
}

static int session_open(cdc_stream *s)
{
    cdc__conn_opts o;
    conn_opts(s, &o);
    /* A snapshot that paused inside resolve() kept its checked session. */
    bool resume = s->snap.run && s->conn;
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
        for (int64_t until = cdc__mono_ms() + 2 * s->hb_ms + 2000;
             rc == CDC_ERR_CONFIG && cdc__mono_ms() < until && !atomic_load(&s->stop_flag);) {
            struct timespec ts = {0, 250 * 1000000L};
            nanosleep(&ts, NULL);
            rc = cdc__replica_check_server_id(s->conn, &s->info, s->server_id, &checked, &s->err);
        }
        if (rc == CDC_OK && !checked)
            slog(s, 1, CDC_OK, "cannot list the server's replicas to check that server.id %" PRIu32
                               " is unique (SHOW REPLICAS needs more privileges)", s->server_id);
        if (rc == CDC_OK && !resume && strcmp(s->info.row_image, "FULL"))
            slog(s, 1, CDC_OK, "binlog_row_image=%s: changes carry only some columns", s->info.row_image);
        if (rc == CDC_OK) rc = resolve(s);
        /* incremental snapshots a checkpoint recorded go on */
        if (rc == CDC_OK && s->dv.safe.incr.len)
            rc = cdc__incr_restore(s->incr, (const char *)s->dv.safe.incr.data, s->dv.safe.incr.len, &s->err);
        if (rc == CDC_ERR_PAUSED) return rc; /* inside the snapshot: the session waits with it */
        if (rc == CDC_OK && s->dv.safe_file_ok && s->dv.safe.offset > 4)
            rc = cdc__replica_check_start(s->conn, cdc_position_file(&s->dv.safe), s->dv.safe.offset, &s->err);
        if (rc == CDC_OK) s->opened_once = true;
        if (rc == CDC_OK && cdc__delivery_at_stop(&s->dv)) return FEED_DONE;
    }
    cdc__buf state;
    cdc__buf_init(&state, s->alloc);
    bool by_gtid = !s->dv.safe_file_ok;
    if (rc == CDC_OK && by_gtid && s->info.mariadb) {
        if (cdc__replica_maria_state(&s->dv.safe.gtids, &state) || cdc__buf_terminate(&state))
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
        rc = cdc__position_copy(&from, &s->dv.safe);
        if (by_gtid) cdc__buf_reset(&from.file);
        snprintf(s->dump_file, sizeof s->dump_file, "%s", by_gtid ? "" : cdc_position_file(&from));
        s->dump_offset = from.offset;
        if (rc == CDC_OK) rc = cdc__replica_dump(s->conn, &s->info, s->server_id, &from, &s->err);
        cdc__position_clear(&from);
    }
    if (rc == CDC_OK) {
        char e[CDC__ERRMSG_MAX];
        rc = cdc_decoder_new(&s->dec, s->alloc, e, sizeof e);
        if (rc == CDC_OK) rc = cdc_decoder_set_mode(s->dec, CDC_DECODER_EVENTS);
        if (rc == CDC_OK) rc = cdc_decoder_set_position(s->dec, cdc_position_file(&s->dv.safe), s->dv.safe.offset);
        if (rc) {
            cdc__err_set(&s->err, rc, "decoder: %s", cdc_strerror(rc));
        } else {
            s->dv.json_columns = cdc__schema_json_checks(s->conn);
            cdc__delivery_attach(&s->dv, s->dec);
        }
    }
    if (rc) {
        session_close(s);
        return rc;
    }
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
    cdc__delivery_drop(&s->dv);
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
    cdc__conn_opts o;
    conn_opts(s, &o);
    cdc__replica_end_dump(&o, s->alloc, id);
}

/* A dump from an offset inside an event fails on what it reads there;
 * before anything was delivered, replica.c can tell whether that was it. */
static int explain_start(cdc_stream *s, int rc)
{
    bool suspect = rc == CDC_ERR_CHECKSUM || rc == CDC_ERR_CORRUPT || rc == CDC_ERR_TRUNCATED ||
                   (rc == CDC_ERR_SERVER && s->err.server_errno == 1236);
    if (!suspect || !s->dump_file[0] || s->dump_offset <= 4 || s->dv.safe.offset != s->dump_offset ||
        strcmp(cdc_position_file(&s->dv.safe), s->dump_file))
        return rc;
    int was = s->err.code;
    cdc__conn_opts o;
    conn_opts(s, &o);
    cdc__conn *c = NULL;
    cdc__err e = {0};
    int qrc = cdc__conn_new(&c, s->alloc);
    if (qrc == CDC_OK) qrc = cdc__conn_connect(c, &o, &e);
    if (qrc == CDC_OK) qrc = cdc__replica_explain_start(c, s->dump_file, s->dump_offset, &s->err, &e);
    cdc__conn_free(c);
    if (qrc)
        slog(s, 1, qrc, "cannot tell whether %s:%" PRIu64 " is the start of an event: %s", s->dump_file,
             s->dump_offset, e.msg);
    return s->err.code == CDC_ERR_CONFIG && was != CDC_ERR_CONFIG ? CDC_ERR_CONFIG : rc;
}

static int fail(cdc_stream *s, int rc)
{
    rc = explain_start(s, rc);
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
    slog(s, 1, why, "connection lost (%s); reconnecting from %s", s->err.msg, ck);
    session_drop(s);
    cdc__err last = s->err;
    int wait = s->backoff_ms;
    for (int attempt = 1;; attempt++) {
        if (s->max_attempts >= 0 && attempt > s->max_attempts) {
            s->err = last;
            cdc__err_prefix(&s->err, "gave up after %d reconnect attempt%s", attempt - 1, attempt == 2 ? "" : "s");
            return fail(s, last.code ? last.code : why);
        }
        if (!backoff_wait(s, wait)) return stopped(s);
        int rc = session_open(s);
        if (rc == CDC_OK || rc == FEED_DONE) {
            metric_add(CDC_METRIC_RECONNECTS, 1, s);
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

/* What the decoder waits for: column names (binlog_row_metadata=MINIMAL)
 * or which MariaDB LONGTEXT columns are JSON, from information_schema
 * over a connection of their own: I/O between feeds, never inside a
 * decoder callback. They stay in the schema cache, which the decoder's
 * hook reads, until a DDL statement for the table. */
static int fetch_names(cdc_stream *s)
{
    cdc__delivery *dv = &s->dv;
    dv->names_wanted = false;
    int rc = s->meta ? CDC_OK : open_meta(s);
    const char *const *names = NULL;
    const cdc__schema_entry *e = NULL;
    if (rc == CDC_OK && dv->names_need)
        rc = cdc__schema_names(&s->schema, s->meta, dv->names_db, dv->names_table, dv->json_columns,
                               dv->names_ncols, &names, &s->err);
    else if (rc == CDC_OK) {
        rc = cdc__schema_fetch(&s->schema, s->meta, dv->names_db, dv->names_table, dv->json_columns, &e, &s->err);
        /* the values stay text: nothing is lost, but say why */
        if (rc == CDC_OK && e->ncols == 0)
            slog(s, 1, CDC_OK, "%s.%s: information_schema does not show the table (dropped since, or no privilege "
                               "on it): its LONGTEXT columns come as text even if declared JSON",
                 dv->names_db, dv->names_table);
    }
    if (rc && cdc_is_retriable(rc)) {
        cdc__conn_free(s->meta);
        s->meta = NULL;
    }
    return rc;
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
            int rc = fetch_names(s);
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
        session_end(s);
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
            session_drop(s);
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
            int rc = session_open(s);
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
