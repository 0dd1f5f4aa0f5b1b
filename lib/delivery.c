/*
 * delivery.c: the decoder's callbacks turned into the host's, exactly
 * once (delivery.h): transaction guard, skip-after-re-dump, stop.at and
 * checkpoint advance.
 */
#include "delivery.h"

#include <stdio.h>
#include <strings.h>

#include "decoder.h"
#include "tablemap.h"


static void metric_add(cdc__delivery *dv, cdc_metric m, uint64_t v)
{
    if (dv->hooks.metric_add) dv->hooks.metric_add(m, v, dv->hooks.ud);
}

static void metric_set(cdc__delivery *dv, cdc_metric m, uint64_t v)
{
    if (dv->hooks.metric_set) dv->hooks.metric_set(m, v, dv->hooks.ud);
}

static void set_lag(cdc__delivery *dv, int64_t ts_ms)
{
    int64_t lag = cdc__wall_ms() - ts_ms;
    metric_set(dv, CDC_METRIC_LAG_MS, lag > 0 ? (uint64_t)lag : 0);
    dv->lag_ts_ms = ts_ms;
    dv->lag_rows = 0;
}

/* The lag's wall-clock read was a tenth of cdc stream's CPU when taken
 * for every row change (clock_gettime through the vDSO, then the atomic
 * store). Rows of one commit time retake it every LAG_ROWS rows (tens of
 * microseconds apart at full speed); a row of another commit time, the
 * first after a heartbeat, and every commit take it at once. */
#define LAG_ROWS 64

static void row_lag(cdc__delivery *dv, int64_t ts_ms)
{
    if (ts_ms == dv->lag_ts_ms && ++dv->lag_rows < LAG_ROWS) return;
    set_lag(dv, ts_ms);
}

void cdc__delivery_init(cdc__delivery *dv, const cdc_allocator *a, const cdc__filter *f, cdc__schema *schema,
                        cdc__err *err)
{
    memset(dv, 0, sizeof *dv);
    dv->alloc = a;
    dv->filter = f;
    dv->schema = schema;
    dv->err = err;
    dv->lag_ts_ms = INT64_MIN;
    cdc__position_init(&dv->safe, a);
    cdc__position_init(&dv->stop, a);
}

static void txn_reset(cdc__delivery *dv)
{
    dv->in_txn = dv->txn_skip = dv->txn_announced = false;
    dv->txn_gtid[0] = 0;
    memset(&dv->txn_gid, 0, sizeof dv->txn_gid);
    dv->txn_sid = 0;
    dv->txn_ts_ms = 0;
    dv->txn_delivered = 0;
    dv->next_ts_ms = 0;
    for (size_t i = 0; i < dv->ntm; i++) cdc__free(dv->alloc, dv->tm[i].hide);
    dv->ntm = 0;
}

void cdc__delivery_free(cdc__delivery *dv)
{
    for (size_t i = 0; i < dv->ntm; i++) cdc__free(dv->alloc, dv->tm[i].hide);
    cdc__free(dv->alloc, dv->tm);
    dv->tm = NULL;
    dv->ntm = dv->captm = 0;
    cdc__position_clear(&dv->safe);
    cdc__position_clear(&dv->stop);
}

int cdc__delivery_publish(cdc__delivery *dv)
{
    return dv->hooks.publish ? dv->hooks.publish(&dv->safe, dv->hooks.ud) : CDC_OK;
}

void cdc__delivery_drop(cdc__delivery *dv)
{
    if (dv->in_txn) dv->skip += dv->txn_delivered;
    uint64_t skip = dv->skip;
    txn_reset(dv);
    dv->skip = skip;
    dv->names_wanted = false;
    dv->dec = NULL;
}

/* ---- bookkeeping ------------------------------------------------------ */

/* Records a failure met inside a decoder callback; the owner returns it. */
static int fail_cb(cdc__delivery *dv, int code)
{
    dv->failed = true;
    if (dv->err->code != code) dv->err->code = code;
    return CDC_ERR_CALLBACK;
}

static int nomem(cdc__delivery *dv)
{
    cdc__err_set(dv->err, CDC_ERR_NOMEM, "out of memory");
    return fail_cb(dv, CDC_ERR_NOMEM);
}

/* Whether a host callback may run now; a suppressed one still counts. */
static bool may_deliver(cdc__delivery *dv)
{
    if (dv->skip) {
        dv->skip--;
        dv->txn_delivered++;
        return false;
    }
    return true;
}

/* Bookkeeping after a host callback returned rc. */
static int delivered(cdc__delivery *dv, const char *name, int rc)
{
    dv->txn_delivered++;
    if (rc == 0) return 0;
    if (rc == CDC_ERR_PAUSED) {
        dv->pausing = true;
        return CDC_ERR_PAUSED;
    }
    cdc__err_set(dv->err, CDC_ERR_CALLBACK, "the %s callback returned %d (%s)", name, rc, cdc_err_name(rc));
    return fail_cb(dv, CDC_ERR_CALLBACK);
}

/* Every decoder callback starts here: once the host paused, the stream
 * reached stop.at or failed, nothing more is delivered from this feed.
 * A callback that still arrives (the rest of a rows event) means the
 * place cannot be kept in the decoder: the resume re-dumps instead. */
#define GUARD(dv)                                                           \
    do {                                                                    \
        if ((dv)->failed) return CDC_ERR_CALLBACK;                          \
        if ((dv)->pausing || (dv)->stop_reached) {                          \
            if ((dv)->pausing) (dv)->pause_dirty = true;                    \
            return CDC_ERR_PAUSED;                                          \
        }                                                                   \
    } while (0)

bool cdc__delivery_at_stop(const cdc__delivery *dv)
{
    if (dv->stop_kind != CDC__WHERE_POSITION && dv->stop_kind != CDC__WHERE_NOW) return false;
    if (dv->stop.file.len && dv->safe_file_ok) {
        int c = cdc__binlog_name_cmp(cdc_position_file(&dv->safe), cdc_position_file(&dv->stop));
        return c > 0 || (c == 0 && dv->safe.offset >= dv->stop.offset);
    }
    /* A stream started from a GTID set learns no file position until its
     * first transaction; "now" also recorded the executed set, and having
     * delivered all of it is the same stop. */
    return dv->stop.gtid_known && dv->safe.gtid_known && cdc__gtid_set_is_subset(&dv->stop.gtids, &dv->safe.gtids);
}

static void check_stop(cdc__delivery *dv)
{
    if (!dv->stop_reached && cdc__delivery_at_stop(dv)) dv->stop_reached = true;
}

static int maybe_checkpoint(cdc__delivery *dv, bool heartbeat)
{
    if (!dv->ck_pending || !dv->host.checkpoint) return 0;
    int64_t now = cdc__mono_ms();
    if (!heartbeat && now - dv->last_ck_ms < dv->checkpoint_ms) return 0;
    dv->ck_pending = false;
    dv->last_ck_ms = now;
    int rc = dv->host.checkpoint(&dv->safe, dv->host.checkpoint_ud);
    if (rc == 0) return 0;
    if (rc == CDC_ERR_PAUSED) {
        dv->pausing = true;
        return CDC_ERR_PAUSED;
    }
    cdc__err_set(dv->err, CDC_ERR_CALLBACK, "the checkpoint callback returned %d (%s)", rc, cdc_err_name(rc));
    return fail_cb(dv, CDC_ERR_CALLBACK);
}

int cdc__delivery_checkpoint_now(cdc__delivery *dv)
{
    dv->ck_pending = true;
    int rc = maybe_checkpoint(dv, true);
    if (rc == CDC_ERR_CALLBACK) return dv->err->code ? dv->err->code : rc;
    return rc;
}

/* The owner has work at this boundary: end the feed here. */
static bool owner_boundary(cdc__delivery *dv)
{
    if (!dv->hooks.boundary || dv->in_txn || !dv->hooks.boundary(&dv->safe, dv->hooks.ud)) return false;
    dv->owner_wanted = true;
    return true;
}

int cdc__delivery_final_checkpoint(cdc__delivery *dv)
{
    if (!dv->ck_pending || !dv->host.checkpoint) return CDC_OK;
    dv->ck_pending = false;
    int r = dv->host.checkpoint(&dv->safe, dv->host.checkpoint_ud);
    if (r && r != CDC_ERR_PAUSED)
        return cdc__err_set(dv->err, CDC_ERR_CALLBACK, "the checkpoint callback returned %d (%s)", r,
                            cdc_err_name(r));
    return CDC_OK;
}

/* Moves the safe position to the end of a finished transaction whose
 * GTID was g. */
static int advance(cdc__delivery *dv, const char *file, uint64_t end, const cdc__gtid *g)
{
    int rc = CDC_OK;
    if (file && *file && end) {
        rc = cdc__position_set_file(&dv->safe, file, strlen(file));
        dv->safe.offset = end;
        dv->safe_file_ok = true;
    }
    if (rc == CDC_OK && g->kind != CDC__GTID_NONE && dv->safe.gtid_known) {
        rc = cdc__gtid_set_add(&dv->safe.gtids, g);
        if (rc == CDC_OK) rc = cdc__position_sync_text(&dv->safe);
    }
    if (rc == CDC_OK) rc = cdc__delivery_publish(dv);
    return rc ? nomem(dv) : 0;
}

/* ---- tables ----------------------------------------------------------- */

static cdc__delivery_table *tmap_find(cdc__delivery *dv, uint64_t id)
{
    for (size_t i = 0; i < dv->ntm; i++)
        if (dv->tm[i].id == id) return &dv->tm[i];
    return NULL;
}

/* Judges a table once per TABLE_MAP: wanted or not, and its hidden columns. */
static int judge_table(cdc__delivery *dv, const cdc_table *t, cdc__delivery_table **out)
{
    cdc__delivery_table *e = tmap_find(dv, cdc_table_id(t));
    if (!e) {
        if (dv->ntm == dv->captm) {
            size_t nc = dv->captm ? dv->captm * 2 : 8;
            cdc__delivery_table *n = cdc__realloc(dv->alloc, dv->tm, nc * sizeof *n);
            if (!n) return nomem(dv);
            dv->tm = n;
            dv->captm = nc;
        }
        e = &dv->tm[dv->ntm++];
        memset(e, 0, sizeof *e);
        e->id = cdc_table_id(t);
    }
    cdc__free(dv->alloc, e->hide);
    e->hide = NULL;
    const char *db = cdc_table_db(t), *name = cdc_table_name(t);
    e->want = cdc__filter_table(dv->filter, db, name);
    e->marker = cdc__filter_marker(dv->filter, db, name);
    *out = e;
    if (!e->want || !cdc__filter_has_column_rules(dv->filter)) return 0;
    size_t n = cdc_table_column_count(t);
    for (size_t i = 0; i < n; i++) {
        const char *col = cdc_table_column_name(t, i);
        if (!cdc__filter_column_excluded(dv->filter, db, name, col)) continue;
        if (!e->hide && !(e->hide = cdc__calloc(dv->alloc, n, 1))) return nomem(dv);
        e->hide[i] = 1;
    }
    return 0;
}

/* Whether an entry's column k is a JSON column, k found by name. */
static bool entry_json(const cdc__schema_entry *e, size_t i, const char *name)
{
    if (!e->json || !name) return false;
    if (i < e->ncols && !strcmp(e->names[i], name)) return e->json[i];
    for (size_t k = 0; k < e->ncols; k++)
        if (!strcmp(e->names[k], name)) return e->json[k];
    return false;
}

/* The decoder's table hook (decoder.h): names of wanted tables whose map
 * has none, and on MariaDB which LONGTEXT columns are JSON, from the
 * schema cache; a miss asks the owner to fetch the table's entry first. */
static int names_hook(struct cdc_table *t, void *ud)
{
    cdc__delivery *dv = ud;
    bool need_names = !t->col_names[0], json = false;
    for (size_t i = 0; dv->json_columns && i < t->ncols && !json; i++) json = cdc__column_maybe_json(&t->cols[i]);
    if (!need_names && !json) return CDC_OK;
    if (!cdc__filter_table(dv->filter, t->db, t->name)) return CDC_OK;
    const cdc__schema_entry *e = cdc__schema_find(dv->schema, t->db, t->name);
    if (!e || (need_names && (e->ncols == 0 || e->ncols != t->ncols))) {
        dv->names_wanted = true;
        dv->names_need = need_names;
        snprintf(dv->names_db, sizeof dv->names_db, "%s", t->db);
        snprintf(dv->names_table, sizeof dv->names_table, "%s", t->name);
        dv->names_ncols = t->ncols;
        return CDC_ERR_PAUSED;
    }
    if (need_names) cdc__table_borrow_names(t, (const char *const *)e->names);
    for (size_t i = 0; json && i < t->ncols; i++)
        if (cdc__column_maybe_json(&t->cols[i]))
            cdc__table_set_json_text(t, i, entry_json(e, i, t->col_names[i]));
    return CDC_OK;
}

static int on_table(const cdc_table *t, void *ud)
{
    cdc__delivery *dv = ud;
    GUARD(dv);
    cdc__delivery_table *e;
    return judge_table(dv, t, &e);
}

/* ---- transactions ----------------------------------------------------- */

static void txn_open(cdc__delivery *dv, const char *gtid, uint32_t sid, int64_t ts_ms)
{
    dv->in_txn = true;
    dv->at_file_start = false;
    dv->txn_announced = false;
    dv->txn_delivered = 0;
    snprintf(dv->txn_gtid, sizeof dv->txn_gtid, "%s", gtid ? gtid : "");
    dv->txn_gid = *cdc__decoder_gtid(dv->dec);
    dv->txn_sid = sid;
    dv->txn_ts_ms = ts_ms;
    dv->txn_skip = !cdc__filter_server(dv->filter, sid);
    /* Already executed: a GTID start whose set has holes, or a re-dump
     * by GTID that the server began before our position. */
    if (!dv->txn_skip && dv->safe.gtid_known && dv->txn_gid.kind != CDC__GTID_NONE &&
        cdc__gtid_set_contains(&dv->safe.gtids, &dv->txn_gid))
        dv->txn_skip = true;
}

static int64_t event_ts_ms(cdc__delivery *dv, const cdc_event *ev)
{
    return dv->next_ts_ms ? dv->next_ts_ms : (int64_t)cdc_event_timestamp(ev) * 1000;
}

static int on_begin(const cdc_event *ev, void *ud)
{
    cdc__delivery *dv = ud;
    GUARD(dv);
    if (dv->in_txn) return 0; /* GTID event, then BEGIN: one transaction */
    /* MariaDB begins at its GTID event: stop before the transaction when
     * the owner has work here; its first change opens it then */
    if (owner_boundary(dv)) return CDC_ERR_PAUSED;
    txn_open(dv, cdc_event_gtid(ev), cdc_event_server_id(ev), event_ts_ms(dv, ev));
    return 0;
}

static int announce(cdc__delivery *dv)
{
    if (dv->txn_announced) return 0;
    dv->txn_announced = true;
    if (!dv->host.begin || !may_deliver(dv)) return 0;
    return delivered(dv, "begin",
                     dv->host.begin(dv->txn_gtid, dv->txn_sid, dv->txn_ts_ms, &dv->safe, dv->host.begin_ud));
}

static int on_change(const cdc_change *c, void *ud)
{
    cdc__delivery *dv = ud;
    GUARD(dv);
    if (!dv->in_txn) txn_open(dv, cdc_change_gtid(c), cdc_change_server_id(c), cdc_change_ts_ms(c));
    if (dv->txn_skip) return 0;
    if (dv->hooks.change && dv->hooks.change(c, &dv->txn_gid, dv->hooks.ud)) return 0;
    const cdc_table *t = cdc_change_table(c);
    cdc__delivery_table *e = tmap_find(dv, cdc_table_id(t));
    if (!e) {
        int rc = judge_table(dv, t, &e);
        if (rc) return rc;
    }
    if (e->marker) {
        /* A tagged transaction (loop prevention): dropped whole when the
         * marker is its first row change, as the applier writes it. After a
         * re-dump the transaction is read from its start again, so the
         * same decision is made. */
        if (!dv->txn_announced) dv->txn_skip = true;
        return 0;
    }
    if (!e->want || !cdc__filter_op(dv->filter, cdc_change_op(c))) return 0;
    int rc = announce(dv);
    if (rc) {
        if (rc == CDC_ERR_PAUSED) dv->pause_dirty = true; /* this change is still owed */
        return rc;
    }
    if (!dv->host.change || !may_deliver(dv)) return 0;
    if (e->hide) cdc__change_hide_columns(c, e->hide);
    metric_add(dv, CDC_METRIC_ROWS, 1);
    row_lag(dv, cdc_change_ts_ms(c));
    return delivered(dv, "change", dv->host.change(c, dv->host.change_ud));
}

/* End of a transaction at file:end. */
static int finish(cdc__delivery *dv, const char *file, uint64_t end, bool deliver_commit)
{
    char gtid[CDC__GTID_TEXT_MAX];
    snprintf(gtid, sizeof gtid, "%s", dv->txn_gtid);
    cdc__gtid gid = dv->txn_gid;
    uint32_t sid = dv->txn_sid;
    int64_t ts = dv->txn_ts_ms;
    bool announced = dv->txn_announced;
    dv->skip = 0;
    txn_reset(dv);
    int rc = advance(dv, file, end, &gid);
    if (rc) return rc;
    check_stop(dv);
    if (announced && deliver_commit) {
        metric_add(dv, CDC_METRIC_TRANSACTIONS, 1);
        set_lag(dv, ts);
        if (dv->host.commit)
            rc = delivered(dv, "commit", dv->host.commit(gtid, sid, ts, &dv->safe, dv->host.commit_ud));
        dv->txn_delivered = 0;
        dv->ck_pending = false;
        dv->last_ck_ms = cdc__mono_ms();
    } else if (!announced) {
        dv->ck_pending = true;
        rc = maybe_checkpoint(dv, false);
    }
    if (rc == 0 && dv->stop_reached) return CDC_ERR_PAUSED; /* ends this feed */
    if (rc == 0 && owner_boundary(dv)) return CDC_ERR_PAUSED;
    return rc;
}

static uint64_t end_of(cdc__delivery *dv, const cdc_event *ev)
{
    return cdc_event_is_inner(ev) ? dv->pl_end : cdc_event_log_pos(ev);
}

static int on_commit(const cdc_event *ev, void *ud)
{
    cdc__delivery *dv = ud;
    GUARD(dv);
    if (!dv->in_txn) return 0;
    return finish(dv, cdc_event_file(ev), end_of(dv, ev), true);
}

/* BEGIN, COMMIT, ROLLBACK [TO], SAVEPOINT, RELEASE SAVEPOINT, XA ...:
 * statements that change no table's definition. */
static bool txn_control(const char *sql, size_t len)
{
    static const char *const words[] = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "XA"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i]);
        if (len >= n && !strncasecmp(sql, words[i], n) &&
            (len == n || !((sql[n] >= 'A' && sql[n] <= 'Z') || (sql[n] >= 'a' && sql[n] <= 'z') || sql[n] == '_')))
            return true;
    }
    return false;
}

static int on_query(const cdc_query *q, void *ud)
{
    cdc__delivery *dv = ud;
    GUARD(dv);
    cdc_bytes sql = cdc_query_sql(q), db = cdc_query_db(q);
    if (dv->hooks.query && !txn_control((const char *)sql.ptr, sql.len)) dv->hooks.query(dv->hooks.ud);
    if (!cdc__schema_is_ddl((const char *)sql.ptr, sql.len)) return 0; /* ROLLBACK, SAVEPOINT, XA, DML: not DDL */
    const cdc_event *ev = cdc_query_event(q);
    char dbz[256];
    snprintf(dbz, sizeof dbz, "%.*s", (int)db.len, (const char *)db.ptr);
    cdc__schema_ddl(dv->schema, dbz, strlen(dbz), (const char *)sql.ptr, sql.len);
    bool want = cdc__filter_ddl(dv->filter, dbz, (const char *)sql.ptr, sql.len);
    if (dv->in_txn) {
        /* DDL inside a transaction (temporary tables): part of it. */
        if (dv->txn_skip || !want || !dv->host.ddl) return 0;
        int rc = announce(dv);
        if (rc) {
            if (rc == CDC_ERR_PAUSED) dv->pause_dirty = true;
            return rc;
        }
        if (!may_deliver(dv)) return 0;
        return delivered(dv, "ddl", dv->host.ddl(q, &dv->safe, dv->host.ddl_ud));
    }
    /* A DDL statement is a transaction of its own. */
    txn_open(dv, cdc_event_gtid(ev), cdc_event_server_id(ev), event_ts_ms(dv, ev));
    bool skip = dv->txn_skip || !want || !dv->host.ddl;
    cdc__gtid gid = dv->txn_gid;
    dv->skip = 0;
    txn_reset(dv);
    int rc = advance(dv, cdc_event_file(ev), end_of(dv, ev), &gid);
    if (rc) return rc;
    check_stop(dv);
    if (skip) {
        dv->ck_pending = true;
        rc = maybe_checkpoint(dv, false);
    } else {
        rc = delivered(dv, "ddl", dv->host.ddl(q, &dv->safe, dv->host.ddl_ud));
        dv->txn_delivered = 0;
        dv->ck_pending = false;
    }
    if (rc == 0 && dv->stop_reached) return CDC_ERR_PAUSED;
    return rc;
}

/* Events outside transactions that move the position: rotation, format
 * description, GTID sets, checkpoints and stops. */
static int on_position_event(cdc__delivery *dv, const cdc_event *ev)
{
    if (cdc_event_is_inner(ev) || dv->in_txn || !dv->safe_file_ok) return 0;
    uint64_t end = cdc_event_log_pos(ev);
    const char *f = cdc_event_file(ev);
    bool same = !strcmp(f, cdc_position_file(&dv->safe));
    if (*f && end && (!same || end > dv->safe.offset)) {
        /* max within a file: a dump that starts mid-file is sent the
         * file's FDE, which lies before the start */
        if (!same && cdc__position_set_file(&dv->safe, f, strlen(f))) end = 0;
        dv->safe.offset = end;
        if (!end || cdc__delivery_publish(dv)) return nomem(dv);
        check_stop(dv);
        if (dv->stop_reached) return CDC_ERR_PAUSED;
    }
    return 0;
}

static int on_event(const cdc_event *ev, void *ud)
{
    cdc__delivery *dv = ud;
    GUARD(dv);
    metric_add(dv, CDC_METRIC_EVENTS, 1);
    int type = cdc_event_type_of(ev);
    bool inner = cdc_event_is_inner(ev);
    switch (type) {
    case CDC_EV_TRANSACTION_PAYLOAD:
        if (!inner) dv->pl_end = cdc_event_log_pos(ev);
        return 0;
    case CDC_EV_GTID: case CDC_EV_ANONYMOUS_GTID: case CDC_EV_GTID_TAGGED: case CDC_EV_MARIA_GTID: {
        /* the decoder has parsed it already (GTID events come early) */
        uint64_t us = cdc__decoder_commit_us(dv->dec);
        dv->next_ts_ms = us ? (int64_t)(us / 1000) : (int64_t)cdc_event_timestamp(ev) * 1000;
        /* before the transaction it starts: the decoder stops after it */
        return !inner && owner_boundary(dv) ? CDC_ERR_PAUSED : 0;
    }
    case CDC_EV_HEARTBEAT: case CDC_EV_HEARTBEAT_V2:
        metric_add(dv, CDC_METRIC_HEARTBEATS, 1);
        if (dv->in_txn) return 0;
        metric_set(dv, CDC_METRIC_LAG_MS, 0); /* the server sends them only when it has nothing else */
        dv->lag_ts_ms = INT64_MIN;             /* so the next row change takes it again */
        return maybe_checkpoint(dv, true);
    case CDC_EV_ROTATE: {
        /* The decoder renames the file once this returns; the position
         * moves with the next event of the new file (its FDE). */
        cdc_bytes body = cdc_event_body(ev);
        if (!inner && !dv->in_txn && body.len >= 8) dv->at_file_start = cdc__le64(body.ptr) <= 4;
        return 0;
    }
    case CDC_EV_PREVIOUS_GTIDS: case CDC_EV_MARIA_GTID_LIST: {
        if (inner || dv->in_txn) return 0;
        /* parsed by the decoder before this callback; NULL if it could not be */
        const cdc__gtid_set *set = cdc__decoder_previous_gtids(dv->dec);
        if (dv->at_file_start && set && (set->n_sids || set->n_maria || !dv->safe.gtid_known)) {
            if (cdc__position_union(&dv->safe, set) == CDC_ERR_NOMEM) return nomem(dv);
            dv->safe.gtid_known = true;
        }
        return on_position_event(dv, ev);
    }
    case CDC_EV_FORMAT_DESCRIPTION: case CDC_EV_MARIA_BINLOG_CHECKPOINT: case CDC_EV_STOP:
        return on_position_event(dv, ev);
    default:
        return 0;
    }
}

void cdc__delivery_attach(cdc__delivery *dv, cdc_decoder *dec)
{
    dv->dec = dec;
    dv->names_wanted = false;
    dv->at_file_start = dv->safe_file_ok && dv->safe.offset <= 4;
    cdc_decoder_set_event_cb(dec, on_event, dv);
    cdc_decoder_set_table_cb(dec, on_table, dv);
    cdc_decoder_set_change_cb(dec, on_change, dv);
    cdc_decoder_set_begin_cb(dec, on_begin, dv);
    cdc_decoder_set_commit_cb(dec, on_commit, dv);
    cdc_decoder_set_query_cb(dec, on_query, dv);
    cdc__decoder_set_names_hook(dec, names_hook, dv);
}
