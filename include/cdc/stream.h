/*
 * libcdc: change data capture from MySQL and MariaDB binary logs.
 *
 * stream.h: the change stream. A cdc_stream connects to a server as a
 * replica, optionally takes a consistent snapshot of the chosen tables,
 * then follows the binary log from exactly that point and hands every
 * row change, transaction boundary, DDL statement and heartbeat to the
 * host through callbacks, each with a position the host can checkpoint.
 *
 *     cdc_config *cfg;
 *     cdc_config_new(&cfg, NULL);
 *     cdc_config_set(cfg, "host", "db1", err, sizeof err);
 *     cdc_config_set(cfg, "user", "cdc", err, sizeof err);
 *     cdc_config_set(cfg, "password", pw, err, sizeof err);
 *     cdc_config_set(cfg, "server.id", "4001", err, sizeof err);
 *     cdc_config_set(cfg, "start", saved_checkpoint, err, sizeof err);
 *
 *     cdc_stream *s;
 *     if (cdc_stream_new(&s, cfg, NULL, err, sizeof err)) ...
 *     cdc_stream_set_change_cb(s, on_change, app);
 *     cdc_stream_set_commit_cb(s, on_commit, app);   // save the checkpoint here
 *     int rc = cdc_stream_start(s);                   // blocks until stop/pause/error
 *
 * Delivery is exactly-once within one run, reconnects included, and
 * exactly-once across restarts for a host that saves the commit
 * callback's checkpoint together with what it applied: resuming from it
 * never skips a committed transaction and never repeats one. A host that
 * stops in the middle of a transaction sees that transaction again from
 * its beginning, with the same positions, so it can deduplicate by
 * (file, offset, row) or by GTID.
 *
 * Threads: one thread runs cdc_stream_start(); every callback runs on
 * that thread. cdc_stream_stop(), cdc_stream_metric() and
 * cdc_stream_checkpoint() may be called from any thread. Everything else
 * belongs to the thread that runs the stream.
 */
#ifndef CDC_STREAM_H
#define CDC_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <cdc/binlog.h>
#include <cdc/common.h>
#include <cdc/config.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdc_stream cdc_stream;
typedef struct cdc_position cdc_position;

/* ---- positions -------------------------------------------------------
 *
 * A position names a point between two transactions of one server's
 * binlog: a file and offset, and, when the server uses GTIDs, the set of
 * transactions executed up to that point (MySQL "uuid:1-42", MariaDB
 * "0-1-42,1-2-7"). Its checkpoint string is opaque text that the library
 * formats and parses; it round-trips exactly and is what the "start"
 * configuration key accepts. Views handed to callbacks are borrowed and
 * valid until the callback returns.
 */

/* Binlog file name (NUL-terminated) and offset of the next event. */
CDC_EXTERN const char *cdc_position_file(const cdc_position *p);
CDC_EXTERN uint64_t cdc_position_offset(const cdc_position *p);
/* The executed GTID set, NUL-terminated; "" when the server has no GTIDs. */
CDC_EXTERN const char *cdc_position_gtid_set(const cdc_position *p);
/*
 * 1 when p records an unfinished snapshot (a checkpoint handed to the
 * snapshot-checkpoint callback, or parsed from one): its file, offset
 * and GTID set are then the snapshot's point, and its checkpoint string
 * carries which tables and key ranges were already delivered, so a
 * stream started from it goes on with the rest of the snapshot
 * (docs/snapshot.md, "Resuming after a restart"). 0 otherwise.
 */
CDC_EXTERN int cdc_position_snapshot_pending(const cdc_position *p);
/*
 * The checkpoint string, NUL-terminated, into buf (cap bytes). *need (if
 * not NULL) receives the size including the NUL. Returns CDC_OK, or
 * CDC_ERR_TOO_LARGE when cap is too small (buf then holds nothing useful).
 */
CDC_EXTERN int cdc_position_format(const cdc_position *p, char *buf, size_t cap, size_t *need);
/*
 * Parses a checkpoint string (or the forms "FILE:OFFSET" and
 * "gtid:SET") into a new position the caller frees with
 * cdc_position_free(). CDC_ERR_INVALID with a message in err for text
 * that is not a position.
 */
CDC_EXTERN int cdc_position_parse(cdc_position **out, const char *text, const cdc_allocator *alloc,
                                  char *err, size_t errlen);
CDC_EXTERN void cdc_position_free(cdc_position *p);
/*
 * Where the server's binlog ends now: connects with the connection keys
 * of cfg (host, port, socket, user, password, ssl.*, timeouts; the other
 * keys are ignored), reads SHOW BINARY LOG STATUS (SHOW MASTER STATUS
 * before MySQL 8.2) and, on MariaDB, @@gtid_binlog_pos, retrying while
 * commits come between the two, and returns the position with the
 * executed GTID set at that point: the point "start=now" and
 * "stop.at=now" resolve to. The caller frees *out with
 * cdc_position_free(). Needs REPLICATION CLIENT (or BINLOG MONITOR on
 * MariaDB). Errors: those of connecting (CDC_ERR_CONNECT, CDC_ERR_AUTH,
 * CDC_ERR_TLS...), CDC_ERR_SERVER when the binary log is off,
 * CDC_ERR_INVALID for NULL arguments, CDC_ERR_NOMEM; the message is
 * copied into err. Opens and closes a connection of its own; thread-safe.
 */
CDC_EXTERN int cdc_position_now(cdc_position **out, const cdc_config *cfg, const cdc_allocator *alloc, char *err,
                                size_t errlen);

/* ---- callbacks -------------------------------------------------------
 *
 * Every callback returns one of:
 *   0               continue;
 *   CDC_ERR_PAUSED  pause: cdc_stream_start() returns CDC_ERR_PAUSED once
 *                   the current callback returns. Nothing is lost: the
 *                   server keeps the binlog, and the next
 *                   cdc_stream_start() continues with the very next
 *                   callback. Use it when the target is down;
 *   any other negative value: stop with an error; cdc_stream_start()
 *                   returns CDC_ERR_CALLBACK and the message names the
 *                   callback and the value.
 */

/* A row change: op 'c', 'u' or 'd' from the binlog, 'r' for snapshot
 * rows. The accessors of cdc/binlog.h apply; positions of snapshot rows
 * are the snapshot point. */
typedef int (*cdc_stream_change_cb)(const cdc_change *c, void *ud);
/*
 * Transaction begin and commit. gtid: "" when anonymous. At commit, pos
 * is the position right after the transaction: the checkpoint to save
 * once the host has durably applied the transaction's changes.
 * Transactions whose every change was filtered out are not announced;
 * their end still advances the checkpoint (see cdc_stream_checkpoint_cb).
 */
typedef int (*cdc_stream_txn_cb)(const char *gtid, uint32_t server_id, int64_t ts_ms,
                                 const cdc_position *pos, void *ud);
/* A DDL statement (a QUERY event that is not BEGIN/COMMIT/DML), after the
 * stream has updated its own view of the schema. pos is the position
 * after the statement. */
typedef int (*cdc_stream_ddl_cb)(const cdc_query *q, const cdc_position *pos, void *ud);
/* The safe position advanced without a commit callback: on a server
 * heartbeat while idle, or after transactions that were filtered out.
 * Called at most once per heartbeat interval, and once more when the
 * stream reaches stop.at with such an advance not yet reported. */
typedef int (*cdc_stream_checkpoint_cb)(const cdc_position *pos, void *ud);
/* Something the host may want to log: reconnects, fallbacks, warnings.
 * level: 0 error, 1 warning, 2 info. code: the cdc_error behind it, or
 * CDC_OK. Cannot pause or stop the stream. */
typedef void (*cdc_stream_log_cb)(int level, int code, const char *msg, void *ud);

/*
 * Snapshot progress (snapshot.mode initial, initial_only, when_needed):
 * after each chunk and at the end of each table. rows_estimated comes from
 * the server's statistics (information_schema.TABLES.TABLE_ROWS) and may
 * be off either way; tables_total counts the tables selected by the
 * filters.
 */
typedef int (*cdc_stream_progress_cb)(const char *db, const char *table, uint64_t rows_done,
                                      uint64_t rows_estimated, size_t tables_done,
                                      size_t tables_total, void *ud);

/*
 * Snapshot progress with rates, for people watching a long snapshot: an
 * opaque view handed to cdc_stream_snapshot_progress_cb after each chunk
 * and at the end of each table, valid until the callback returns; read it
 * with the functions below. Estimates come from
 * information_schema.TABLES.TABLE_ROWS (InnoDB statistics) and may be off
 * either way; the figures count this run only (after a restart the
 * tables and ranges done before are done, and are not counted again).
 */
typedef struct cdc_snapshot_progress cdc_snapshot_progress;
typedef enum cdc_progress_field {
    CDC_PROGRESS_TABLE_ROWS_DONE = 0,       /* rows of the table delivered in this run */
    CDC_PROGRESS_TABLE_ROWS_ESTIMATED = 1,  /* its TABLE_ROWS */
    CDC_PROGRESS_TABLE_CHUNKS_DONE = 2,     /* its keyset queries done in this run */
    CDC_PROGRESS_TABLE_CHUNKS_ESTIMATED = 3,/* per key range, estimate / snapshot.chunk.rows + 1 */
    CDC_PROGRESS_TABLES_DONE = 4,
    CDC_PROGRESS_TABLES_TOTAL = 5,
    CDC_PROGRESS_ROWS_DONE = 6,             /* all tables, this run */
    CDC_PROGRESS_ROWS_ESTIMATED = 7,        /* rows done plus what the estimates leave */
    CDC_PROGRESS_ELAPSED_MS = 8,            /* since this run's snapshot opened */
    CDC_PROGRESS_ROWS_PER_SEC = 9,          /* over the last ~5 seconds (the run before that), rounded */
    CDC_PROGRESS_ETA_MS = 10                /* remaining estimate at that rate; -1 when unknown */
} cdc_progress_field;
/* The table the last chunk belonged to (NUL-terminated; "" for NULL p). */
CDC_EXTERN const char *cdc_snapshot_progress_db(const cdc_snapshot_progress *p);
CDC_EXTERN const char *cdc_snapshot_progress_table(const cdc_snapshot_progress *p);
/* A figure; 0 for NULL p or an unknown field. Thread: the callback's. */
CDC_EXTERN int64_t cdc_snapshot_progress_value(const cdc_snapshot_progress *p, cdc_progress_field f);
typedef int (*cdc_stream_snapshot_progress_cb)(const cdc_snapshot_progress *p, void *ud);

/* ---- the stream --------------------------------------------------------- */

/*
 * Makes a stream from a configuration (copied; cfg may be freed after).
 * Checks the configuration as a whole: CDC_ERR_CONFIG with a message in
 * err names the key (a missing server.id, ssl.mode=verify_ca without
 * ssl.ca, an unparsable start position...). Does not connect.
 */
CDC_EXTERN int cdc_stream_new(cdc_stream **out, const cdc_config *cfg, const cdc_allocator *alloc,
                              char *err, size_t errlen);
/* Frees the stream; closes its connection, first ending its dump thread
 * on the server if one is open (a short second connection, at most 2 s),
 * so the server.id is free again at once. NULL is fine. Not while
 * cdc_stream_start() runs. */
CDC_EXTERN void cdc_stream_free(cdc_stream *s);

/* Callback setters; NULL disables one. Before cdc_stream_start(), or from
 * a callback (takes effect at the next event). */
CDC_EXTERN void cdc_stream_set_change_cb(cdc_stream *s, cdc_stream_change_cb cb, void *ud);
CDC_EXTERN void cdc_stream_set_begin_cb(cdc_stream *s, cdc_stream_txn_cb cb, void *ud);
CDC_EXTERN void cdc_stream_set_commit_cb(cdc_stream *s, cdc_stream_txn_cb cb, void *ud);
CDC_EXTERN void cdc_stream_set_ddl_cb(cdc_stream *s, cdc_stream_ddl_cb cb, void *ud);
CDC_EXTERN void cdc_stream_set_checkpoint_cb(cdc_stream *s, cdc_stream_checkpoint_cb cb, void *ud);
CDC_EXTERN void cdc_stream_set_log_cb(cdc_stream *s, cdc_stream_log_cb cb, void *ud);
/* Snapshot rows (op 'r'), in the same value representation as binlog
 * rows: the same row reads the same from either path. */
CDC_EXTERN void cdc_stream_set_snapshot_cb(cdc_stream *s, cdc_stream_change_cb cb, void *ud);
CDC_EXTERN void cdc_stream_set_progress_cb(cdc_stream *s, cdc_stream_progress_cb cb, void *ud);
/* Progress with rows/s and ETA (cdc_snapshot_progress), at the same
 * moments as the progress callback (which is called first); returns as
 * every callback. */
CDC_EXTERN void cdc_stream_set_snapshot_progress_cb(cdc_stream *s, cdc_stream_snapshot_progress_cb cb,
                                                    void *ud);
/*
 * A snapshot's resumable checkpoint: after every chunk of keyset rows
 * (and every table) whose rows were all handed to the snapshot callback,
 * pos is the snapshot's point plus its progress
 * (cdc_position_snapshot_pending() is 1). A host that saves it once
 * those rows are durable and later starts a stream from it (the "start"
 * key) continues the snapshot after the last completed chunk of each
 * key range instead of taking it again; docs/snapshot.md ("Resuming
 * after a restart") states what that guarantees and how many rows may
 * come twice. Not set: no such checkpoints, a restart begins anew.
 * Returns as every callback (CDC_ERR_PAUSED pauses after this chunk).
 */
CDC_EXTERN void cdc_stream_set_snapshot_checkpoint_cb(cdc_stream *s, cdc_stream_checkpoint_cb cb, void *ud);
/* The snapshot is complete; pos is its consistent point, where the change
 * stream starts, and a valid checkpoint (save it: a restart from it does
 * not take the snapshot again). */
CDC_EXTERN void cdc_stream_set_snapshot_done_cb(cdc_stream *s, cdc_stream_checkpoint_cb cb, void *ud);

/* ---- incremental snapshots (docs/snapshot.md, "Incremental snapshots") ----
 *
 * While the stream runs, a captured table can be read again, whole or
 * only the rows matching a condition, in primary-key chunks of
 * incremental.snapshot.chunk.size rows, without locks and without
 * stopping the stream (the watermark algorithm of Netflix's DBLog, as
 * Debezium's incremental snapshots). Its rows reach the host as op 'r'
 * changes in the middle of the stream, each chunk at a transaction
 * boundary, never ahead of a change that is newer than the row: applied
 * by key in delivery order, the stream's changes and these rows give the
 * table's current contents. After each chunk the checkpoint callback gets
 * the position (the rows are then out).
 *
 * Needs a signal table (signal.data.collection: the low and high
 * watermark of each chunk are rows written there) or read.only=true (no
 * writes: GTID watermarks on MySQL, which needs gtid_mode=ON; each
 * chunk's consistent-snapshot point on MariaDB). Rows inserted into the
 * signal table trigger the same: Debezium's execute-snapshot,
 * pause-snapshot, resume-snapshot and stop-snapshot signals. The signal
 * table's rows are never delivered as changes. Every checkpoint carries the
 * incremental snapshots still to do (its "incr" field): a restart from it
 * goes on after the last chunk handed out.
 */

/*
 * Queues an incremental snapshot of table ("db.table", captured by the
 * stream's filters); filter, when not NULL or "", is an SQL condition on
 * its rows (Debezium's additional-conditions), pasted into the chunk
 * queries as WHERE (filter). Tables are read one after the other, in the
 * order asked. Thread-safe; may be called before cdc_stream_start(). The
 * stream starts on it at its next event or heartbeat. CDC_ERR_INVALID
 * (not db.table, or not captured), CDC_ERR_CONFIG (neither
 * signal.data.collection nor read.only is set), CDC_ERR_NOMEM. Problems
 * found later (no such table, no usable primary key, a failing query)
 * end that table's snapshot with an error on the log callback (level 0);
 * the stream goes on.
 */
CDC_EXTERN int cdc_stream_snapshot_table(cdc_stream *s, const char *table, const char *filter);

typedef enum cdc_snapshot_ctl {
    CDC_SNAPSHOT_CTL_PAUSE = 1,  /* no new chunk is read until resumed (the chunk in flight completes) */
    CDC_SNAPSHOT_CTL_RESUME = 2,
    CDC_SNAPSHOT_CTL_STOP = 3    /* drop table's snapshot (NULL: every one), queued or in progress */
} cdc_snapshot_ctl;
/* Pauses, resumes or stops incremental snapshots, as the pause-snapshot,
 * resume-snapshot and stop-snapshot signals do. Thread-safe.
 * CDC_ERR_INVALID for an unknown what or a table that is not db.table. */
CDC_EXTERN int cdc_stream_snapshot_control(cdc_stream *s, cdc_snapshot_ctl what, const char *table);
/* Rows of incremental snapshots (op 'r', the values of the initial
 * snapshot's rows, positioned where they are handed out). NULL (the
 * default): they go to the snapshot callback. */
CDC_EXTERN void cdc_stream_set_incremental_cb(cdc_stream *s, cdc_stream_change_cb cb, void *ud);

/*
 * Runs the stream on the calling thread until it ends:
 *   CDC_OK           the configured stop.at position was reached
 *                    (snapshot.mode=initial_only: the snapshot is done);
 *   CDC_ERR_STOPPED  cdc_stream_stop() was called;
 *   CDC_ERR_PAUSED   a callback paused; call cdc_stream_start() again to
 *                    go on exactly where it paused;
 *   another error    fatal, or retriable errors that outlasted
 *                    reconnect.max.attempts: CDC_ERR_AUTH, CDC_ERR_PURGED
 *                    (the start position is no longer on the server),
 *                    CDC_ERR_CONFIG (also a FILE:OFFSET start that is not
 *                    where an event starts: the message names the events
 *                    around it), CDC_ERR_PRIVILEGE, CDC_ERR_CORRUPT, CDC_ERR_SCHEMA,
 *                    CDC_ERR_CALLBACK, ... with cdc_stream_errmsg().
 * Retriable errors (a dropped connection, a server restart, a heartbeat
 * timeout) reconnect with backoff and re-read from the last commit,
 * skipping what was already delivered, so within one run no callback is
 * delivered twice and none is lost. Each reconnect is reported to the log
 * callback. After any other error the stream can only be freed.
 */
CDC_EXTERN int cdc_stream_start(cdc_stream *s);
/* Asks a running cdc_stream_start() to return CDC_ERR_STOPPED soon (it
 * interrupts a blocking read). Thread-safe and async-signal-safe; may
 * also be called before start, which then returns at once. */
CDC_EXTERN void cdc_stream_stop(cdc_stream *s);

/* The last error's message ("" when none); owned by the stream. */
CDC_EXTERN const char *cdc_stream_errmsg(const cdc_stream *s);
/* The server's error number and SQLSTATE behind the last error, if any:
 * 0 and "" otherwise. */
CDC_EXTERN unsigned cdc_stream_server_errno(const cdc_stream *s);
CDC_EXTERN const char *cdc_stream_sqlstate(const cdc_stream *s);

/*
 * The checkpoint string of the last safe position (the end of the last
 * commit delivered, or a later heartbeat position), as
 * cdc_position_format() writes it. Thread-safe. CDC_ERR_STATE before the
 * stream knows any position.
 */
CDC_EXTERN int cdc_stream_checkpoint(cdc_stream *s, char *buf, size_t cap, size_t *need);

/* Counters and gauges the host can read at any time, from any thread. */
typedef enum cdc_metric {
    CDC_METRIC_EVENTS = 0,       /* binlog events decoded */
    CDC_METRIC_ROWS = 1,         /* row changes delivered */
    CDC_METRIC_TRANSACTIONS = 2, /* commits delivered */
    CDC_METRIC_BYTES = 3,        /* bytes read from the server */
    CDC_METRIC_RECONNECTS = 4,   /* successful reconnects */
    CDC_METRIC_LAG_MS = 5,       /* now minus the commit time of the last event, ms:
                                  * taken at each commit, at the first row change
                                  * of each commit time and then every 64 row
                                  * changes of it (the wall clock is not read for
                                  * every row); 0 after a heartbeat */
    CDC_METRIC_HEARTBEATS = 6,   /* heartbeats received */
    CDC_METRIC_OFFSET = 7,       /* offset of the current position in its file */
    CDC_METRIC_SNAPSHOT_ROWS = 8, /* snapshot rows delivered */
    CDC_METRIC_REREADS = 9        /* pauses inside a rows event, after which the
                                   * transaction was read again from its start */
} cdc_metric;
/* The value of a metric; 0 for unknown ones. Thread-safe. */
CDC_EXTERN uint64_t cdc_stream_metric(const cdc_stream *s, cdc_metric m);

#ifdef __cplusplus
}
#endif
#endif /* CDC_STREAM_H */
