/*
 * incremental.h: incremental snapshots while the stream runs (the DBLog
 * watermark algorithm, Debezium's "incremental snapshot";
 * docs/snapshot.md, "Incremental snapshots"). A table is re-read in
 * primary-key chunks on a connection of its own, without locks; each
 * chunk sits between a low and a high watermark, and the rows whose keys
 * change between the two in the binlog are dropped from the chunk; the
 * rest reach the host as op 'r' rows once the stream has passed the
 * high watermark. The stream (stream.c) drives it: delivery (delivery.c)
 * shows it every change and every transaction end through two hooks that
 * call cdc__incr_change() and cdc__incr_boundary(), and between feeds of
 * the decoder stream.c calls cdc__incr_serve(), which does the module's
 * I/O, hands out chunks and keeps the progress in delivery's safe
 * position and checkpoints.
 * Internal; not installed.
 */
#ifndef CDC_INCREMENTAL_H
#define CDC_INCREMENTAL_H

#include <stdatomic.h>

#include <cdc/stream.h>

#include "filter.h"
#include "gtid.h"
#include "util.h"

typedef struct cdc__incr cdc__incr;
struct cdc__delivery;

/* What the module needs from the stream; every pointer lives as long
 * as the module. */
typedef struct cdc__incr_env {
    const cdc_allocator *alloc;
    const cdc_config *cfg;          /* connection keys, signal.data.collection, chunk size, read.only */
    const cdc__filter *filter;      /* tables that may be snapshotted, excluded columns */
    void (*log)(int level, int code, const char *msg, void *ud);
    void *log_ud;
    _Atomic uint64_t *rows_metric;  /* CDC_METRIC_SNAPSHOT_ROWS; may be NULL */
    /* The stream's delivery: its safe position carries the progress, its
     * checkpoints follow each chunk. May be NULL (no stream, unit tests). */
    struct cdc__delivery *dv;
} cdc__incr_env;

int cdc__incr_new(cdc__incr **out, const cdc__incr_env *env, cdc__err *err);
void cdc__incr_free(cdc__incr *in);

/* Queues db.table (cond: an SQL condition on its rows, or NULL).
 * Thread-safe. CDC_ERR_INVALID for a name that is not db.table or a table
 * the stream's filters do not capture. */
int cdc__incr_request(cdc__incr *in, const char *table, const char *cond, cdc__err *err);
/* CDC_SNAPSHOT_CTL_*; table NULL: all. Thread-safe. */
int cdc__incr_control(cdc__incr *in, int what, const char *table);

/*
 * Delivery's hook for every row change of a transaction it does not
 * skip, before filters: gid is the transaction's GTID. Returns 1 when the
 * change belongs to the signal table (it is then not delivered, and the
 * progress it changed is put in env->dv's safe position), 0 otherwise.
 */
int cdc__incr_change(cdc__incr *in, const cdc_change *c, const cdc__gtid *gid);
/* Delivery's hook after a transaction (or a position event) moved the
 * safe position: true when a chunk is ready to hand out here, before
 * anything after this point is delivered. */
bool cdc__incr_boundary(cdc__incr *in, const cdc_position *safe);
/* Delivery's hook for a statement event that may be DDL (any db): the
 * next chunk that reaches its high watermark checks the table's
 * definition before its rows go out. */
void cdc__incr_query(cdc__incr *in);
/* Whether cdc__incr_serve() has something to do now. */
bool cdc__incr_pending(cdc__incr *in);

/*
 * Between feeds (env->dv required): at a transaction boundary of
 * delivery, hands out a ready chunk's rows to cb as op 'r' changes
 * positioned at the safe position (a pause there returns CDC_ERR_PAUSED
 * and the next call goes on with the next row), puts the progress in the
 * safe position, has delivery report a checkpoint after each chunk, and
 * starts the next chunk (watermarks and the chunk's SELECT), going on at
 * once while *stop is 0 and chunks come out. Clears delivery's
 * owner_wanted. Returns CDC_OK, CDC_ERR_PAUSED, a callback error
 * (CDC_ERR_CALLBACK, message in err) or CDC_ERR_NOMEM. Problems with a
 * table (no such table, a failed query) end that table's snapshot with
 * an error on the log callback, not the stream.
 */
int cdc__incr_serve(cdc__incr *in, cdc_stream_change_cb cb, void *ud, const atomic_int *stop, cdc__err *err);

/*
 * Progress in the checkpoint ("incr" field, position.h): the incremental
 * snapshots still to do, the current one with the key of the last row
 * read in the last chunk handed out, so that a restart goes on after it:
 *
 *     incr  = entry *( "," entry )
 *     entry = esc "." esc [ "~k" key ] [ "~w" esc ]   db.table, key, condition
 *     key   = esc *( "." esc )                        one per key column
 *     esc   = bytes, each outside [A-Za-z0-9-] written %XX (snapprog.h)
 *
 * cdc__incr_progress_changed() (also takes what other threads sent) says
 * whether cdc__incr_progress() would write something new; the stream then
 * puts it in its safe position. cdc__incr_restore() queues a checkpoint's
 * entries at the start of a stream (CDC_ERR_INVALID for bad text; tables
 * the filters no longer capture are dropped with a warning).
 */
bool cdc__incr_progress_changed(cdc__incr *in);
int cdc__incr_progress(cdc__incr *in, cdc__buf *out);
int cdc__incr_restore(cdc__incr *in, const char *text, size_t len, cdc__err *err);

#endif /* CDC_INCREMENTAL_H */
