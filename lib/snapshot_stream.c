/*
 * snapshot_stream.c: the snapshot as a stream takes it (snapshot.h,
 * cdc__snapshot_stream): the stream's filter selects the tables, rows
 * become cdc_change values of op 'r' at the snapshot's point,
 * checkpoints carry that point plus the progress, and a checkpoint with
 * progress resumes. Also the public cdc_snapshot_progress getters.
 */
#include "decoder.h"
#include "delivery.h"
#include "filter.h"
#include "config.h"
#include "gtid.h"
#include "position.h"
#include "snapprog.h"
#include "replica.h"
#include "snapshot.h"
#include "snapshot_table.h"

/* ---- cdc_snapshot_progress (cdc/stream.h) ------------------------------ */

const char *cdc_snapshot_progress_db(const cdc_snapshot_progress *p) { return p && p->db ? p->db : ""; }
const char *cdc_snapshot_progress_table(const cdc_snapshot_progress *p) { return p && p->table ? p->table : ""; }

int64_t cdc_snapshot_progress_value(const cdc_snapshot_progress *p, cdc_progress_field f)
{
    if (!p) return 0;
    switch (f) {
    case CDC_PROGRESS_TABLE_ROWS_DONE: return (int64_t)p->table_rows_done;
    case CDC_PROGRESS_TABLE_ROWS_ESTIMATED: return (int64_t)p->table_rows_estimated;
    case CDC_PROGRESS_TABLE_CHUNKS_DONE: return (int64_t)p->table_chunks_done;
    case CDC_PROGRESS_TABLE_CHUNKS_ESTIMATED: return (int64_t)p->table_chunks_estimated;
    case CDC_PROGRESS_TABLES_DONE: return (int64_t)p->tables_done;
    case CDC_PROGRESS_TABLES_TOTAL: return (int64_t)p->tables_total;
    case CDC_PROGRESS_ROWS_DONE: return (int64_t)p->rows_done;
    case CDC_PROGRESS_ROWS_ESTIMATED: return (int64_t)p->rows_estimated;
    case CDC_PROGRESS_ELAPSED_MS: return (int64_t)p->elapsed_ms;
    case CDC_PROGRESS_ROWS_PER_SEC: return (int64_t)(p->rows_per_sec + 0.5);
    case CDC_PROGRESS_ETA_MS: return p->eta_ms;
    }
    return 0;
}

/* ---- the stream's entry point ------------------------------------------ */

/* What a stream's snapshot keeps between cdc__snapshot_stream() calls. */
struct cdc__snap_streamer {
    const cdc__snap_stream *st; /* the caller's, renewed by every call */
    const cdc_allocator *a;
    cdc__snap *snap;
    cdc__snap_point pt;         /* this run's read view */
    cdc_position origin;        /* the snapshot's point: pt, or a resumed checkpoint's */
    cdc_position ckpos;         /* origin plus progress, for the checkpoint callback */
    cdc__snapprog prog;         /* a resumed checkpoint's progress */
    bool ok;                    /* snapshot opened */
    bool resuming;              /* origin is a resumed checkpoint's */
    bool gtids_in;              /* origin has pt's GTID set (MariaDB: known after the open) */
    cdc__err gerr;              /* why the GTID set could not be had, for the checkpoint callback */
    uint64_t rows;              /* rows handed on: the next one's pos.row */
};

typedef struct cdc__snap_streamer stream_glue;

static bool glue_table(const char *db, const char *table, void *ud)
{
    return cdc__filter_table(((stream_glue *)ud)->st->filter, db, table);
}

static bool glue_column(const char *db, const char *table, const char *column, void *ud)
{
    return cdc__filter_column_excluded(((stream_glue *)ud)->st->filter, db, table, column);
}

static int glue_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, void *ud)
{
    stream_glue *g = ud;
    if (g->st->rows_metric) atomic_fetch_add(g->st->rows_metric, 1);
    if (!g->st->row) return 0;
    return cdc__change_snapshot_row(t, vals, present, cdc_position_file(&g->origin), g->origin.offset, g->rows++,
                                    g->st->row, g->st->row_ud);
}

static int glue_progress(const char *db, const char *table, uint64_t done, uint64_t est, size_t tdone,
                         size_t ttotal, void *ud)
{
    stream_glue *g = ud;
    return g->st->progress ? g->st->progress(db, table, done, est, tdone, ttotal, g->st->progress_ud) : 0;
}

static int glue_progress_ex(const cdc_snapshot_progress *p, void *ud)
{
    stream_glue *g = ud;
    return g->st->progress_ex ? g->st->progress_ex(p, g->st->progress_ex_ud) : 0;
}

static int origin_gtids(stream_glue *g, cdc__err *err);

static int glue_checkpoint(const char *progress, size_t len, void *ud)
{
    stream_glue *g = ud;
    if (!g->st->checkpoint) return 0;
    /* a checkpoint carries the point's GTID set: wait for it here (the
     * rows before did not need it) */
    int rc = origin_gtids(g, &g->gerr);
    if (rc) return rc;
    if (cdc__position_copy(&g->ckpos, &g->origin) || cdc__position_set_snap(&g->ckpos, progress, len))
        return CDC_ERR_NOMEM;
    return g->st->checkpoint(&g->ckpos, g->st->checkpoint_ud);
}

static void glue_log(int level, int code, const char *msg, void *ud)
{
    stream_glue *g = ud;
    if (g->st->log) g->st->log(level, code, msg, g->st->log_ud);
}

void cdc__snapshot_stream_free(cdc__snap_streamer *g)
{
    if (!g) return;
    cdc__snap_free(g->snap);
    cdc__snap_point_free(g->a, &g->pt);
    cdc__position_clear(&g->origin);
    cdc__position_clear(&g->ckpos);
    cdc__snapprog_free(&g->prog);
    cdc__free(g->a, g);
}

/* The point's file and offset into out; its GTID set when the point
 * has it (MariaDB gives it later: origin_gtids). */
static int point_to_position(const cdc__snap_point *pt, const cdc_allocator *a, cdc_position *out, cdc__err *err)
{
    cdc__gtid_set set;
    cdc__gtid_set_init(&set, a);
    int rc = cdc__position_set_file(out, pt->file, strlen(pt->file));
    out->offset = pt->offset;
    if (!rc && pt->gtid_set && pt->gtid_set[0]) {
        rc = cdc__gtid_set_parse(&set, pt->gtid_set, strlen(pt->gtid_set), err);
        if (rc) cdc__err_prefix(err, "snapshot: the server's GTID set at %s:%llu", pt->file,
                                (unsigned long long)pt->offset);
        else rc = cdc__position_set_gtids(out, &set);
        out->gtid_known = rc == CDC_OK;
    } else if (rc) {
        rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    cdc__gtid_set_free(&set);
    return rc;
}

/* Once, before the origin is used whole (a checkpoint, the end): the
 * point's GTID set, waiting for the server if it is still at it. A
 * resumed snapshot's origin is its checkpoint's and needs none. */
static int origin_gtids(stream_glue *g, cdc__err *err)
{
    if (g->gtids_in || g->resuming) return CDC_OK;
    int rc = cdc__snap_gtid(g->snap, err);
    if (!rc) rc = point_to_position(&g->pt, g->a, &g->origin, err);
    g->gtids_in = rc == CDC_OK;
    return rc;
}

int cdc__snapshot_stream(const cdc__snap_stream *st, const cdc_allocator *a, cdc__snap_streamer **state,
                         cdc_position *out, cdc__err *err)
{
    a = cdc__allocator(a);
    stream_glue *g = *state;
    if (!g) {
        if (!(g = cdc__calloc(a, 1, sizeof *g))) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
        g->a = a;
        cdc__position_init(&g->origin, a);
        cdc__position_init(&g->ckpos, a);
        *state = g;
    }
    g->st = st;
    int rc = CDC_OK;
    if (!g->ok) {
        cdc__snap_opts o = {
            .conn = *st->conn,
            .parallelism = (unsigned)cdc__config_int(st->cfg, CDC_CFG_SNAPSHOT_PARALLELISM),
            .chunk_rows = (uint64_t)cdc__config_int(st->cfg, CDC_CFG_SNAPSHOT_CHUNK_ROWS),
            .lock_timeout_ms = (uint32_t)cdc__config_int(st->cfg, CDC_CFG_SNAPSHOT_LOCK_TIMEOUT_MS),
            .no_data = st->no_data,
            .filter = {st->filter ? glue_table : NULL, st->filter ? glue_column : NULL, g},
            .stop = st->stop,
        };
        bool resuming = g->resuming = st->resume && st->resume->snap.len && !st->no_data;
        if (resuming) {
            rc = cdc__snapprog_parse(&g->prog, (const char *)st->resume->snap.data, st->resume->snap.len, a, err);
            if (!rc && (cdc__position_copy(&g->origin, st->resume) || cdc__position_set_snap(&g->origin, NULL, 0)))
                rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
            o.resume = &g->prog;
        }
        cdc__snap_cbs cb = {.row = glue_row, .progress = glue_progress, .progress_ex = glue_progress_ex,
                            .checkpoint = glue_checkpoint, .log = glue_log, .ud = g};
        if (!rc) rc = cdc__snap_open(&g->snap, &o, &cb, a, &g->pt, err);
        if (!rc && !resuming) {
            rc = point_to_position(&g->pt, a, &g->origin, err);
            g->gtids_in = g->pt.gtid_set != NULL;
        }
        g->ok = rc == CDC_OK;
    }
    if (rc == CDC_OK) rc = cdc__snap_run(g->snap, err);
    if (rc == CDC_ERR_PAUSED || rc == CDC_ERR_STOPPED) return rc; /* resumable */
    if (rc && g->gerr.code) *err = g->gerr; /* the checkpoint callback could not get the GTID set */
    if (rc == CDC_OK) rc = origin_gtids(g, err);
    if (rc == CDC_OK && cdc__position_copy(out, &g->origin)) rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    cdc__snapshot_stream_free(g);
    *state = NULL;
    return rc;
}

/* ---- the stream's snapshot, across sessions ------------------------------ */

void cdc__stream_snap_init(cdc__stream_snap *ss, const cdc_allocator *a)
{
    memset(ss, 0, sizeof *ss);
    ss->a = cdc__allocator(a);
    cdc__position_init(&ss->resume_pos, ss->a);
}

void cdc__stream_snap_free(cdc__stream_snap *ss)
{
    cdc__snapshot_stream_free(ss->run);
    ss->run = NULL;
    cdc__position_clear(&ss->resume_pos);
}

static int take(cdc__stream_snap *ss, const cdc__conn_opts *conn, int mode, cdc__delivery *dv, cdc__err *err)
{
    ss->st.conn = conn;
    ss->st.no_data = mode == CDC_SNAPSHOT_NO_DATA;
    ss->st.resume = NULL;
    if (ss->resuming) {
        /* the first call keeps the checkpoint; later ones (after a pause) find it kept */
        if (dv->safe.snap.len && cdc__position_copy(&ss->resume_pos, &dv->safe))
            return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
        ss->st.resume = &ss->resume_pos;
    }
    cdc__position_clear(&dv->safe);
    cdc__position_init(&dv->safe, ss->a);
    /* CDC_ERR_PAUSED / CDC_ERR_STOPPED keep the snapshot in ss->run; the
     * next call continues it with the next row */
    int rc = cdc__snapshot_stream(&ss->st, ss->a, &ss->run, &dv->safe, err);
    if (rc) return rc;
    if ((rc = cdc__delivery_publish(dv))) return cdc__err_set(err, rc, "out of memory");
    if (mode == CDC_SNAPSHOT_INITIAL_ONLY) {
        dv->stop_kind = CDC__WHERE_POSITION;
        if (cdc__position_copy(&dv->stop, &dv->safe)) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    if (ss->done && (rc = ss->done(&dv->safe, ss->done_ud))) {
        /* The snapshot is complete and its point known: a pause here is
         * honoured once the binlog session is open (cdc_stream_start). */
        if (rc == CDC_ERR_PAUSED) {
            ss->done_pause = true;
            return CDC_OK;
        }
        return cdc__err_set(err, CDC_ERR_CALLBACK, "the snapshot-done callback returned %d", rc);
    }
    return CDC_OK;
}

int cdc__stream_snap_take(cdc__stream_snap *ss, const cdc__conn_opts *conn, int mode, cdc__delivery *dv,
                          cdc__err *err)
{
    int rc = take(ss, conn, mode, dv, err);
    if (rc == CDC_OK) ss->resuming = false;
    return rc;
}

int cdc__stream_snap_at_checkpoint(cdc__stream_snap *ss, cdc__conn *c, int mode, cdc__delivery *dv, bool *fresh,
                                   cdc__err *err)
{
    *fresh = false;
    if (mode == CDC_SNAPSHOT_WHEN_NEEDED && dv->safe.file.len) {
        /* when_needed: a checkpoint whose binlog file is gone takes a new snapshot */
        cdc_position first;
        cdc__position_init(&first, ss->a);
        int rc = cdc__replica_earliest(c, &first, err);
        *fresh = rc == CDC_OK && cdc__binlog_name_cmp(cdc_position_file(&dv->safe), cdc_position_file(&first)) < 0;
        if (*fresh)
            cdc__snap_logf(ss->st.log, ss->st.log_ud, 1,
                           "snapshot.mode=when_needed: the checkpoint's binlog %s is purged (earliest is %s); "
                           "taking a snapshot", cdc_position_file(&dv->safe), cdc_position_file(&first));
        cdc__position_clear(&first);
        if (rc || *fresh) return rc;
    }
    if (dv->safe.snap.len && !ss->resuming) {
        if (mode == CDC_SNAPSHOT_INITIAL || mode == CDC_SNAPSHOT_INITIAL_ONLY || mode == CDC_SNAPSHOT_WHEN_NEEDED) {
            ss->resuming = true;
        } else {
            cdc__snap_logf(ss->st.log, ss->st.log_ud, 1,
                           "start: the checkpoint is of an unfinished snapshot, and snapshot.mode=%s does not "
                           "continue it: streaming from its point without the rest of its rows",
                           cdc__config_str(ss->st.cfg, CDC_CFG_SNAPSHOT_MODE));
            cdc__position_set_snap(&dv->safe, NULL, 0);
        }
    }
    return CDC_OK;
}
