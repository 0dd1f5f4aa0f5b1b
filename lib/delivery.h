/*
 * delivery.h: exactly-once delivery of one server's decoded binlog to the
 * host's callbacks (cdc/stream.h): transactions and their boundaries,
 * filters, the safe position (the end of the last finished transaction)
 * and its checkpoints, stop.at, and the suppression of what a re-read
 * transaction already delivered. It sits on the decoder's callbacks and
 * does no I/O; the stream (stream.c) owns connections and sessions and
 * drives it. Internal; not installed.
 *
 * The safe position is the end of the last transaction delivery has
 * finished (delivered or filtered out); every re-dump (reconnect, a stop,
 * a pause that could not keep its place) starts there. Host callbacks
 * delivered inside the unfinished transaction are counted, and after a
 * re-dump that many are suppressed, so the host sees each callback once
 * within a run. Transactions whose GTID is already in the executed set
 * are skipped whole.
 */
#ifndef CDC_DELIVERY_H
#define CDC_DELIVERY_H

#include <cdc/stream.h>

#include "filter.h"
#include "gtid.h"
#include "position.h"
#include "schema.h"

/* What delivery needs from its owner. Every pointer may be NULL. */
typedef struct cdc__delivery_hooks {
    /* The safe position moved: make it what cdc_stream_checkpoint()
     * returns. CDC_OK or CDC_ERR_NOMEM. */
    int (*publish)(const cdc_position *safe, void *ud);
    void (*metric_add)(cdc_metric m, uint64_t v, void *ud);
    void (*metric_set)(cdc_metric m, uint64_t v, void *ud);
    /* Incremental snapshots (incremental.h): every row change of a
     * transaction that is not skipped, before the filters, with the
     * transaction's GTID; 1 keeps it from the host (a signal-table row). */
    int (*change)(const cdc_change *c, const cdc__gtid *gid, void *ud);
    /* Between transactions (the end of one, the GTID event of the next):
     * true ends the feed here, with owner_wanted set, so that the owner
     * can hand out rows at this point before anything after it. */
    bool (*boundary)(const cdc_position *safe, void *ud);
    /* A statement event that may change a table's definition (every one
     * but BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE and XA), before the
     * filters: incremental snapshots check the table's definition again. */
    void (*query)(void *ud);
    void *ud;
} cdc__delivery_hooks;

/* The host's callbacks (cdc/stream.h), set by the stream's setters. */
typedef struct cdc__delivery_host {
    cdc_stream_change_cb change;
    void *change_ud;
    cdc_stream_txn_cb begin, commit;
    void *begin_ud, *commit_ud;
    cdc_stream_ddl_cb ddl;
    void *ddl_ud;
    cdc_stream_checkpoint_cb checkpoint;
    void *checkpoint_ud;
} cdc__delivery_host;

typedef struct cdc__delivery_table {
    uint64_t id;
    bool want;
    bool marker;   /* a transaction.marker.table */
    uint8_t *hide; /* per column: 1 = excluded; NULL when none is */
} cdc__delivery_table;

typedef struct cdc__delivery {
    const cdc_allocator *alloc;
    const cdc__filter *filter;
    cdc__schema *schema;      /* column names; dropped entries on DDL */
    cdc__err *err;             /* the owner's error, set on failure */
    cdc__delivery_hooks hooks;
    cdc__delivery_host host;
    int checkpoint_ms;        /* least interval between checkpoint callbacks */
    cdc_decoder *dec;         /* the decoder of the current session, or NULL */

    cdc_position safe;        /* where a re-dump starts */
    bool safe_file_ok;        /* safe's file/offset can be dumped from */
    cdc__where stop_kind;     /* stop.at: NONE, NOW or POSITION */
    cdc_position stop;

    bool at_file_start;       /* the dump is at the start of a file */
    uint64_t pl_end;          /* end of the TRANSACTION_PAYLOAD being delivered */
    int64_t next_ts_ms;       /* commit time from the GTID event ahead of a transaction */
    int64_t lag_ts_ms;        /* the commit time CDC_METRIC_LAG_MS was last taken from */
    unsigned lag_rows;        /* row changes of that commit time since (delivery.c, row_lag) */
    int64_t last_ck_ms;
    bool ck_pending;          /* a checkpoint is owed to the host */

    bool in_txn, txn_skip, txn_announced;
    char txn_gtid[CDC__GTID_TEXT_MAX];
    cdc__gtid txn_gid;
    uint32_t txn_sid;
    int64_t txn_ts_ms;
    uint64_t txn_delivered;   /* host callbacks made inside the open transaction */
    uint64_t skip;            /* host callbacks still to suppress after a re-dump */
    cdc__delivery_table *tm;
    size_t ntm, captm;

    bool pausing;             /* the host paused: nothing more from this feed */
    bool pause_dirty;         /* ...and the decoder cannot keep the place: re-dump */
    bool stop_reached;        /* stop.at reached */
    bool failed;              /* a failure is in *err */
    bool owner_wanted;        /* the boundary hook ended the feed */

    /* The decoder asked for what the schema cache does not have yet:
     * column names (binlog_row_metadata=MINIMAL; names_need) or MariaDB's
     * JSON columns. The owner fetches the table's entry into the schema
     * cache before it feeds on. */
    bool names_wanted, names_need;
    char names_db[256], names_table[256];
    size_t names_ncols;
    /* Set by the owner: the server is MariaDB, whose JSON columns the
     * binlog shows as LONGTEXT; the schema cache says which they are. */
    bool json_columns;
} cdc__delivery;

void cdc__delivery_init(cdc__delivery *dv, const cdc_allocator *a, const cdc__filter *f, cdc__schema *schema,
                        cdc__err *err);
void cdc__delivery_free(cdc__delivery *dv);

/* Sets the decoder's callbacks and column-name hook to delivery's, for a
 * new session whose dump starts at the safe position. */
void cdc__delivery_attach(cdc__delivery *dv, cdc_decoder *dec);
/* The session ended: the unfinished transaction will be re-read from the
 * safe position, with what was already delivered suppressed. */
void cdc__delivery_drop(cdc__delivery *dv);

/* Publishes the safe position through the hook. */
int cdc__delivery_publish(cdc__delivery *dv);
/* Whether the safe position is at or past stop.at. */
bool cdc__delivery_at_stop(const cdc__delivery *dv);
/* At stop.at: the host hears of the final position even within an
 * interval. CDC_OK, or CDC_ERR_CALLBACK with *err set. */
int cdc__delivery_final_checkpoint(cdc__delivery *dv);
/* The checkpoint callback with the safe position now, whatever the
 * interval (an incremental snapshot chunk is out). CDC_OK,
 * CDC_ERR_PAUSED, or CDC_ERR_CALLBACK with *err set. */
int cdc__delivery_checkpoint_now(cdc__delivery *dv);

#endif /* CDC_DELIVERY_H */
