/*
 * stream_int.h: the stream handle's insides, shared by stream.c (the
 * handle, its API and the read loop) and session.c (one replica session:
 * connect, check, resolve the start, register, dump; its end).
 */
#ifndef CDC_STREAM_INT_H
#define CDC_STREAM_INT_H

#include <cdc/stream.h>

#include <pthread.h>
#include <stdatomic.h>

#include "conn.h"
#include "delivery.h"
#include "filter.h"
#include "incremental.h"
#include "replica.h"
#include "schema.h"
#include "snapshot.h"
#include "util.h"

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

/* The host's log callback, if any (stream.c). */
void cdc__stream_log(cdc_stream *s, int level, int code, const char *fmt, ...) CDC__PRINTF(4, 5);

/* ---- session.c ---- */

/* Opens a session: connects (or keeps a snapshot's paused session),
 * checks the server, resolves the first session's start and stop points
 * (taking the snapshot if one is due), registers and starts the dump, and
 * attaches a fresh decoder. CDC_OK, FEED_DONE (the stop point is already
 * reached), CDC_ERR_PAUSED (inside the snapshot) or an error. */
int cdc__session_open(cdc_stream *s);
/* Closes the session's connection and decoder (no server round trip). */
void cdc__session_close(cdc_stream *s);
/* Closes the session; the unfinished transaction is re-read later. */
void cdc__session_drop(cdc_stream *s);
/* Closes the session and ends its dump thread on the server. */
void cdc__session_end(cdc_stream *s);
/* rc, or CDC_ERR_CONFIG with a message when the dump failed because its
 * start offset is not the start of an event. */
int cdc__session_explain_start(cdc_stream *s, int rc);
/* Reads what the decoder waits for (column names, MariaDB JSON columns)
 * from information_schema over the meta connection, between feeds. */
int cdc__session_fetch_names(cdc_stream *s);

#endif
