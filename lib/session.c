/*
 * session.c: one replica session of a stream (stream_int.h): connect and
 * check the server, resolve where the first session starts (a checkpoint,
 * now, the earliest binlog, or a snapshot's point) and where it stops,
 * register as a replica and start the dump; close, drop or end it; and
 * the information_schema reads between feeds (column names that
 * binlog_row_metadata=MINIMAL leaves out, MariaDB's JSON columns).
 */
#include "stream_int.h"

#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "position.h"

void cdc__session_close(cdc_stream *s)
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
        cdc__stream_log(s, 2, CDC_OK, "the binlog has no column names (binlog_row_metadata=MINIMAL): reading them from "
                           "information_schema");
    else
        cdc__stream_log(s, 2, CDC_OK, "reading which LONGTEXT columns are JSON from information_schema (MariaDB)");
    return CDC_OK;
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
    return rc ? rc : cdc__delivery_publish(&s->dv);
}

int cdc__session_open(cdc_stream *s)
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
            cdc__stream_log(s, 1, CDC_OK, "cannot list the server's replicas to check that server.id %" PRIu32
                               " is unique (SHOW REPLICAS needs more privileges)", s->server_id);
        if (rc == CDC_OK && !resume && strcmp(s->info.row_image, "FULL"))
            cdc__stream_log(s, 1, CDC_OK, "binlog_row_image=%s: changes carry only some columns", s->info.row_image);
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
        cdc__session_close(s);
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
void cdc__session_drop(cdc_stream *s)
{
    cdc__session_close(s);
    cdc__delivery_drop(&s->dv);
}

/* Closes the session and ends its dump thread on the server with a short
 * second connection (a user may KILL its own threads). Otherwise the
 * server keeps our server_id registered until the thread next writes,
 * and a host that restarts at once would find it taken. */
void cdc__session_end(cdc_stream *s)
{
    if (!s->conn) return;
    uint32_t id = cdc__conn_id(s->conn);
    cdc__session_close(s);
    cdc__conn_opts o;
    conn_opts(s, &o);
    cdc__replica_end_dump(&o, s->alloc, id);
}

/* A dump from an offset inside an event fails on what it reads there;
 * before anything was delivered, replica.c can tell whether that was it. */
int cdc__session_explain_start(cdc_stream *s, int rc)
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
        cdc__stream_log(s, 1, qrc, "cannot tell whether %s:%" PRIu64 " is the start of an event: %s", s->dump_file,
             s->dump_offset, e.msg);
    return s->err.code == CDC_ERR_CONFIG && was != CDC_ERR_CONFIG ? CDC_ERR_CONFIG : rc;
}

/* What the decoder waits for: column names (binlog_row_metadata=MINIMAL)
 * or which MariaDB LONGTEXT columns are JSON, from information_schema
 * over a connection of their own: I/O between feeds, never inside a
 * decoder callback. They stay in the schema cache, which the decoder's
 * hook reads, until a DDL statement for the table. */
int cdc__session_fetch_names(cdc_stream *s)
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
            cdc__stream_log(s, 1, CDC_OK, "%s.%s: information_schema does not show the table (dropped since, or no privilege "
                               "on it): its LONGTEXT columns come as text even if declared JSON",
                 dv->names_db, dv->names_table);
    }
    if (rc && cdc_is_retriable(rc)) {
        cdc__conn_free(s->meta);
        s->meta = NULL;
    }
    return rc;
}
