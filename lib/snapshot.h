/*
 * snapshot.h: the consistent initial snapshot. Opens N connections that
 * all see the database at one binlog point, reads the selected tables
 * (primary-key chunks with keyset pagination, or one streamed pass for
 * tables without a usable key) on N worker threads, and hands every row
 * to the caller's thread as cdc_value arrays in the same representation
 * the binlog decoder gives, together with that binlog point, so the
 * change stream can start exactly there. docs/snapshot.md explains how
 * the point is made consistent on each server and which privileges each
 * path needs. Internal; not installed.
 *
 * The modules: snapshot.c runs it (work items, worker threads, queue,
 * delivery, resume), snapshot_point.c fixes the point and locks the
 * tables, snapshot_table.c describes and reads one table (also for
 * incremental snapshots), snapshot_values.c converts values, and
 * snapshot_stream.c is the stream's entry point below.
 */
#ifndef CDC_SNAPSHOT_H
#define CDC_SNAPSHOT_H

#include <stdatomic.h>

#include <cdc/stream.h>

#include "conn.h"
#include "position.h"
#include "tablemap.h"
#include "value.h"

/* What cdc_snapshot_progress (cdc/stream.h) reads. */
struct cdc_snapshot_progress {
    const char *db, *table;
    uint64_t table_rows_done, table_rows_estimated, table_chunks_done, table_chunks_estimated;
    size_t tables_done, tables_total;
    uint64_t rows_done, rows_estimated, elapsed_ms;
    double rows_per_sec;
    int64_t eta_ms;
};

/* The binlog point the snapshot is consistent with: the first change
 * not in the snapshot starts at file:offset. gtid_set is the executed
 * GTID set at that point in the server's text form ("" without GTIDs);
 * on MariaDB it may be NULL while the snapshot runs (cdc__snap_gtid). */
typedef struct cdc__snap_point {
    char *file;
    uint64_t offset;
    char *gtid_set;
} cdc__snap_point;

void cdc__snap_point_free(const cdc_allocator *a, cdc__snap_point *p);

/*
 * Which tables and columns the snapshot reads. table() returns true to
 * capture db.table; column() returns true to leave a column out (it is
 * then absent from the row, as the stream leaves it out of change
 * events). NULL functions capture everything; the system schemas (mysql,
 * sys, information_schema, performance_schema) are never read. The
 * stream plugs its compiled filter (filter.h) in here, so both paths
 * select the same tables and columns.
 */
typedef struct cdc__snap_filter {
    bool (*table)(const char *db, const char *table, void *ud);
    bool (*column)(const char *db, const char *table, const char *column, void *ud);
    void *ud;
} cdc__snap_filter;

typedef struct cdc__snap_cbs {
    /* The point is fixed (and the schema read); called once, before any
     * row, so rows can carry the position. Non-zero aborts, as for row. */
    int (*point)(const cdc__snap_point *p, void *ud);
    /*
     * One row, on the thread that called cdc__snapshot_run. t describes
     * the table as a TABLE_MAP with full metadata would (names, types,
     * metadata, flags, charsets, ENUM/SET labels); vals[i] and present[i]
     * are indexed like t->cols (present[i] == 0 for excluded columns).
     * Views are valid until the callback returns. CDC_ERR_PAUSED makes
     * cdc__snap_run() return CDC_ERR_PAUSED after this row (the next call
     * goes on with the next row); any other non-zero value aborts the
     * snapshot, which then returns that value (or CDC_ERR_CALLBACK if it
     * is positive).
     */
    int (*row)(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, void *ud);
    /* As cdc_stream_progress_cb, after each chunk and each finished table;
     * may pause like row. */
    int (*progress)(const char *db, const char *table, uint64_t rows_done, uint64_t rows_estimated,
                    size_t tables_done, size_t tables_total, void *ud);
    /* As cdc_stream_snapshot_progress_cb, right after progress. */
    int (*progress_ex)(const cdc_snapshot_progress *p, void *ud);
    /* After each completed chunk and item whose rows were all delivered:
     * the progress (snapprog.h grammar, NUL-terminated, len bytes) a
     * restart continues from; may pause like row. */
    int (*checkpoint)(const char *progress, size_t len, void *ud);
    /* Fallbacks and retries worth logging (level 1 warning, 2 info). */
    void (*log)(int level, int code, const char *msg, void *ud);
    void *ud;
} cdc__snap_cbs;

typedef struct cdc__snap_opts {
    cdc__conn_opts conn;      /* charset is forced to binary-safe results */
    unsigned parallelism;    /* worker connections, 1..64 */
    uint32_t lock_timeout_ms; /* the point's read lock may wait this long (0: 10 s) */
    uint64_t chunk_rows;     /* rows per keyset chunk */
    /* Benchmarks: one `... ORDER BY key LIMIT chunk_rows` query per chunk
     * instead of one ordered query per work item cut into chunks of
     * chunk_rows as its rows arrive (the default, fewer round trips). */
    bool limit_queries;
    /* Read rows with COM_QUERY's text protocol even where the binary
     * protocol (a prepared statement) could be used. */
    bool text_protocol;
    bool no_data;            /* take the point and the schema, read no rows */
    bool maria_lock;         /* MariaDB, N > 1: take the short read lock at once
                                instead of retrying lock-free (tests use it) */
    cdc__snap_filter filter;
    /* When *stop becomes nonzero (any thread) cdc__snap_run() returns
     * CDC_ERR_STOPPED soon, with its place kept like a pause. May be NULL. */
    const atomic_int *stop;
    /* Continue this progress (from a checkpoint; must outlive the
     * snapshot): its done tables and items are skipped, its items under
     * way go on after their key, in a new read view. NULL: from scratch. */
    const struct cdc__snapprog *resume;
    /* Tests: runs right after the point is fixed, before the tables are
     * locked against DDL (to land DDL in that window). */
    void (*test_after_point)(void *ud);
    void *test_ud;
    /* Benchmarks: MariaDB's GTID position read at the point, before any
     * row, instead of while the rows are read (cdc__snap_gtid). */
    bool gtid_at_point;
    /* Tests: the server sleeps this many seconds before it answers the
     * deferred BINLOG_GTID_POS (the same value, later). */
    unsigned test_gtid_delay_s;
} cdc__snap_opts;

/* A snapshot in progress: open, then run (as often as it pauses), then free. */
typedef struct cdc__snap cdc__snap;

/*
 * Connects, reads the schema, fixes the point (filled into *point, which
 * the caller frees with cdc__snap_point_free; the point callback runs
 * here), plans the work and starts the worker threads. o and cb are
 * copied; *point must stay where it is until cdc__snap_free. On MariaDB
 * without a point callback (and not no_data), point->gtid_set is NULL on
 * return: the server is still computing it (BINLOG_GTID_POS on the
 * coordinator connection, sent last) while the workers read rows, and
 * cdc__snap_gtid() or the run's end fills it. Errors: CDC_ERR_PRIVILEGE
 * naming what is missing when no consistency path is allowed, server and
 * connection errors as cdc__conn_* report them, CDC_ERR_STOPPED, or what
 * the point callback returned; *out is then NULL.
 */
int cdc__snap_open(cdc__snap **out, const cdc__snap_opts *o, const cdc__snap_cbs *cb, const cdc_allocator *a,
                   cdc__snap_point *point, cdc__err *err);
/*
 * Delivers rows on the calling thread. Returns CDC_OK when every row was
 * delivered (the workers are then joined and their transactions
 * committed; further calls return CDC_OK), CDC_ERR_PAUSED when a callback
 * paused and CDC_ERR_STOPPED when o->stop was set: both keep the place,
 * and the next call continues with the next row, never repeating one.
 * While it is not running, the workers fill the bounded queue and wait,
 * keeping their consistent reads open. Any other error ends the
 * snapshot (CDC_ERR_CORRUPT for a value that does not fit its column,
 * connection errors of a worker, what a callback returned).
 */
int cdc__snap_run(cdc__snap *s, cdc__err *err);
/*
 * MariaDB: waits for the point's GTID position cdc__snap_open() asked
 * for and sets the point's gtid_set; at once when it is already set (and
 * on MySQL). cdc__snap_run() calls it before it returns CDC_OK, so a
 * finished snapshot always has it; callers that need it earlier (a
 * checkpoint) call it first, on the thread that runs the snapshot.
 * When the coordinator connection fails meanwhile (lost, killed, timed
 * out) it asks once more on a new connection, with a warning. Errors:
 * that second try's, prefixed with the first's, or CDC_ERR_PURGED when
 * the point's binlog file was purged before the server read it; the
 * point's gtid_set then stays NULL, and the snapshot has failed (its
 * point has no exact GTID position any more).
 */
int cdc__snap_gtid(cdc__snap *s, cdc__err *err);
/* Ends the workers (interrupting their reads) and frees; NULL is fine. */
void cdc__snap_free(cdc__snap *s);

/*
 * open + run + free in one call; a pause is resumed at once. Returns
 * CDC_OK with *point filled, or an error as above (point then freed).
 */
int cdc__snapshot_run(const cdc__snap_opts *o, const cdc__snap_cbs *cb, const cdc_allocator *a,
                      cdc__snap_point *point, cdc__err *err);

/* ---- the stream's entry point ------------------------------------------ */

struct cdc__filter;

/* What cdc_stream hands the snapshot: its public callbacks and where to
 * count delivered rows (CDC_METRIC_SNAPSHOT_ROWS). */
typedef struct cdc__snap_stream {
    const cdc_config *cfg;              /* snapshot.parallelism, snapshot.chunk.rows */
    const cdc__conn_opts *conn;
    const struct cdc__filter *filter;   /* the stream's compiled filter */
    bool no_data;                       /* snapshot.mode=no_data */
    const atomic_int *stop;             /* the stream's stop flag */
    cdc_stream_change_cb row;           /* rows as cdc_change, op 'r' */
    void *row_ud;
    cdc_stream_progress_cb progress;
    void *progress_ud;
    cdc_stream_snapshot_progress_cb progress_ex;
    void *progress_ex_ud;
    /* snapshot checkpoints (the point plus progress), NULL: none */
    cdc_stream_checkpoint_cb checkpoint;
    void *checkpoint_ud;
    /* a checkpoint with progress to continue (its point is the point), or NULL */
    const cdc_position *resume;
    void (*log)(int level, int code, const char *msg, void *ud);
    void *log_ud;
    _Atomic uint64_t *rows_metric;      /* may be NULL */
} cdc__snap_stream;

/* A stream's snapshot kept across pauses. */
typedef struct cdc__snap_streamer cdc__snap_streamer;

/*
 * Takes (*state NULL) or continues (*state from a paused call) the
 * snapshot for a stream. On CDC_OK sets *out (initialised by the caller)
 * to its point: file, offset and the executed GTID set, which is where
 * the change stream must start and a valid checkpoint. Rows reach st->row
 * as cdc_change values with op 'r' whose file and offset are that point
 * (through cdc__change_snapshot_row() in decoder.h, which owns
 * cdc_change). CDC_ERR_PAUSED (st->row or st->progress paused) and
 * CDC_ERR_STOPPED (*st->stop was set) leave *state holding the open
 * snapshot: call again, with st's callbacks as they are then, to go on
 * with the next row. Any other result frees *state and sets it to NULL;
 * errors as cdc__snap_open()/cdc__snap_run().
 */
int cdc__snapshot_stream(const cdc__snap_stream *st, const cdc_allocator *a, cdc__snap_streamer **state,
                         cdc_position *out, cdc__err *err);
/* Abandons a paused snapshot; NULL is fine. */
void cdc__snapshot_stream_free(cdc__snap_streamer *state);

/* ---- the stream's snapshot, across sessions ------------------------------ */

struct cdc__delivery;

/* What a stream keeps of its snapshot: what it hands it (st: the stream
 * fills cfg, filter, stop, log and rows_metric once, its setters the
 * callbacks), the snapshot-done callback, and the state kept across
 * pauses and sessions. */
typedef struct cdc__stream_snap {
    const cdc_allocator *a;
    cdc__snap_stream st;
    cdc_stream_checkpoint_cb done;  /* cdc_stream_set_snapshot_done_cb */
    void *done_ud;
    cdc__snap_streamer *run;        /* paused or stopped mid-way: the next take goes on with it */
    cdc_position resume_pos;        /* the checkpoint of an unfinished snapshot being continued */
    bool resuming;                  /* the next take continues the snapshot of dv->safe's checkpoint */
    bool done_pause;                /* the done callback paused: the stream pauses once its session is open */
} cdc__stream_snap;

void cdc__stream_snap_init(cdc__stream_snap *ss, const cdc_allocator *a);
void cdc__stream_snap_free(cdc__stream_snap *ss);

/*
 * A stream that starts from a checkpoint (dv->safe), before it resolves
 * its start: with snapshot.mode (mode) when_needed and the checkpoint's
 * binlog file purged on c, sets *fresh (take a new snapshot instead);
 * otherwise a checkpoint of an unfinished snapshot is continued by the
 * next take (ss->resuming) when mode takes snapshots, or else loses its
 * progress and the stream goes on from its point. Both are logged.
 * Errors of reading the earliest binlog on c.
 */
int cdc__stream_snap_at_checkpoint(cdc__stream_snap *ss, cdc__conn *c, int mode, struct cdc__delivery *dv,
                                   bool *fresh, cdc__err *err);
/*
 * Takes the stream's snapshot (mode: CDC_SNAPSHOT_*; no_data reads no
 * rows), or continues one that paused, or (ss->resuming) continues the
 * unfinished snapshot whose checkpoint is dv->safe. On CDC_OK dv->safe
 * is the snapshot's point, published; initial_only makes it dv's stop
 * point too; then the done callback runs (a pause there sets
 * ss->done_pause and counts as CDC_OK). CDC_ERR_PAUSED and
 * CDC_ERR_STOPPED keep the run in ss->run for the next call; other
 * errors as cdc__snapshot_stream(), or CDC_ERR_CALLBACK from the done
 * callback. conn is used during the call only.
 */
int cdc__stream_snap_take(cdc__stream_snap *ss, const cdc__conn_opts *conn, int mode, struct cdc__delivery *dv,
                          cdc__err *err);

#endif /* CDC_SNAPSHOT_H */
