/*
 * batch.c: many changes per call as JSON lines or binary records
 * (batchbin.c), for bindings. See include/cdc/batch.h and docs/output.md
 * ("Batches").
 *
 * The buffer holds, in order: the lines handed out by the last call
 * (`out` bytes, dropped at the next call), then lines of complete
 * transactions (up to `boundary`), then lines of the open transaction.
 */
#include <cdc/batch.h>
#include <cdc/debezium.h>
#include <cdc/value.h>

#include <inttypes.h>
#include <stdio.h>

#include "batchbin.h"
#include "decoder.h"
#include "output.h"
#include "render.h"
#include "util.h"


struct cdc_batch {
    const cdc_allocator *alloc;
    size_t limit;
    cdc_stream *s;
    cdc_decoder *d;
    cdc__buf buf;
    size_t out;      /* bytes handed out by the last call */
    size_t boundary; /* end of the last complete transaction's lines */
    bool pause;      /* our callback paused the stream */
    bool ended;      /* the stream ended with end_rc, not yet reported */
    bool types;      /* change lines carry "types" (cdc_batch_set_types) */
    int end_rc;
    cdc__err err;
    cdc_debezium *dz; /* cdc_batch_set_debezium: change lines as Debezium records */
    bool dz_cbs;      /* the decoder's begin, commit and query callbacks are ours */
    int format;       /* CDC_BATCH_JSON or CDC_BATCH_BINARY */
    cdc__bin_tables tables; /* binary: the tables the reader was sent */
};

int cdc_batch_new(cdc_batch **out, size_t limit, const cdc_allocator *alloc)
{
    if (!out) return CDC_ERR_INVALID;
    alloc = cdc__allocator(alloc);
    cdc_batch *b = cdc__calloc(alloc, 1, sizeof *b);
    *out = b;
    if (!b) return CDC_ERR_NOMEM;
    b->alloc = alloc;
    b->limit = limit ? limit : CDC_BATCH_DEFAULT_LIMIT;
    cdc__buf_init(&b->buf, alloc);
    cdc__bin_tables_init(&b->tables, alloc);
    return CDC_OK;
}

void cdc_batch_free(cdc_batch *b)
{
    if (!b) return;
    cdc__buf_free(&b->buf);
    cdc__bin_tables_free(&b->tables);
    cdc__free(b->alloc, b);
}

const char *cdc_batch_errmsg(const cdc_batch *b)
{
    if (!b) return "";
    if (b->err.code) return b->err.msg;
    if (b->s) return cdc_stream_errmsg(b->s);
    if (b->d) return cdc_decoder_errmsg(b->d);
    return "";
}

/* Drops the lines handed out last time; the rest moves to the front. */
static void take_back(cdc_batch *b)
{
    if (b->out) {
        memmove(b->buf.data, b->buf.data + b->out, b->buf.len - b->out);
        b->buf.len -= b->out;
        b->boundary = b->boundary > b->out ? b->boundary - b->out : 0;
        b->out = 0;
    }
}

/* Hands out the first n bytes (whole lines). */
static void hand_out(cdc_batch *b, size_t n, const char **data, size_t *len)
{
    b->out = n;
    *data = n ? (const char *)b->buf.data : "";
    *len = n;
}

static int nomem(cdc_batch *b)
{
    return cdc__err_set(&b->err, CDC_ERR_NOMEM, "batch: out of memory");
}

/* Drops what a failed record wrote; in binary, a table record among it
 * may be gone, so every table is sent again. */
static void cut(cdc_batch *b, size_t start)
{
    if (b->buf.len != start && b->format == CDC_BATCH_BINARY) cdc__bin_tables_forget(&b->tables);
    b->buf.len = start;
}

/* ---- lines ------------------------------------------------------------ */

static int put_str(cdc__buf *o, const char *s)
{
    return cdc__render_utf8_string(o, (const uint8_t *)s, strlen(s));
}

/* Ends a line; at a boundary the lines so far form complete
 * transactions. Returns CDC_ERR_PAUSED when the batch is ready. */
static int end_line_at(cdc_batch *b, size_t start, int rc, bool boundary, bool may_pause)
{
    if (rc == CDC_OK && b->format == CDC_BATCH_JSON) rc = cdc__buf_putc(&b->buf, '\n');
    if (rc) {
        cut(b, start);
        return b->err.code ? b->err.code : nomem(b);
    }
    if (boundary) b->boundary = b->buf.len;
    if (boundary || (may_pause && b->buf.len - b->out >= b->limit)) {
        b->pause = true;
        return CDC_ERR_PAUSED;
    }
    return CDC_OK;
}

static int end_line(cdc_batch *b, size_t start, int rc, bool boundary)
{
    return end_line_at(b, start, rc, boundary, true);
}

/* The tag of a value whose JSON form does not say its type, or NULL. */
static const char *type_tag(const cdc_value *v)
{
    switch (cdc_value_kind(v)) {
    case CDC_KIND_FLOAT:
    case CDC_KIND_DOUBLE: return "float"; /* "0" would read as an integer */
    case CDC_KIND_DECIMAL: return "decimal";
    case CDC_KIND_DATE: return "date";
    case CDC_KIND_TIME: return "time";
    case CDC_KIND_DATETIME: return "datetime";
    case CDC_KIND_TIMESTAMP: return "timestamp";
    case CDC_KIND_BYTES: return "bytes";
    case CDC_KIND_JSON: return "json";
    default: return NULL;
    }
}

/* ,"types":{"before":{..},"after":{..}} for the line's images. */
static int put_types(cdc__buf *o, const cdc_change *c)
{
    const cdc_table *t = cdc_change_table(c);
    size_t n = cdc_table_column_count(t);
    int rc = cdc__buf_puts(o, ",\"types\":{");
    for (int img = 0; img < 2; img++) {
        rc |= cdc__buf_puts(o, img ? ",\"after\":{" : "\"before\":{");
        bool first = true;
        for (size_t i = 0; i < n; i++) {
            const cdc_value *v = img ? cdc_change_after(c, i) : cdc_change_before(c, i);
            const char *tag = v ? type_tag(v) : NULL;
            if (!tag) continue;
            if (!first) rc |= cdc__buf_putc(o, ',');
            first = false;
            const char *name = cdc_table_column_name(t, i);
            if (name) rc |= put_str(o, name);
            else rc |= cdc__buf_printf(o, "\"@%zu\"", i + 1);
            rc |= cdc__buf_printf(o, ":\"%s\"", tag);
        }
        rc |= cdc__buf_putc(o, '}');
    }
    rc |= cdc__buf_puts(o, "}}");
    return rc ? CDC_ERR_NOMEM : CDC_OK;
}

/* A change line without its newline; with types, its closing brace
 * gives way to "types". */
static int render_change(cdc_batch *b, const cdc_change *c)
{
    size_t start = b->buf.len;
    if (b->format == CDC_BATCH_BINARY) {
        int rc = cdc__bin_change(&b->buf, &b->tables, c, &b->err);
        if (rc) {
            cut(b, start);
            return b->err.code ? b->err.code : nomem(b);
        }
        return CDC_OK;
    }
    int rc = cdc__change_render_json(c, &b->buf, &b->err);
    if (rc == CDC_OK && b->types) {
        b->buf.len--; /* the object's '}' */
        rc = put_types(&b->buf, c);
        if (rc) cdc__err_set(&b->err, rc, "batch: out of memory");
    }
    if (rc) {
        b->buf.len = start; /* b->err says which value */
        return b->err.code ? b->err.code : nomem(b);
    }
    return CDC_OK;
}

int cdc_batch_set_types(cdc_batch *b, int on)
{
    if (!b) return CDC_ERR_INVALID;
    b->types = on != 0;
    return CDC_OK;
}

int cdc_batch_set_format(cdc_batch *b, int format)
{
    if (!b || (format != CDC_BATCH_JSON && format != CDC_BATCH_BINARY)) return CDC_ERR_INVALID;
    if (format == CDC_BATCH_BINARY && b->dz) return CDC_ERR_STATE;
    if (b->buf.len) return CDC_ERR_STATE; /* a batch holds records of the other format */
    b->format = format;
    cdc__bin_tables_forget(&b->tables);
    return CDC_OK;
}

/* {"topic":..,"key":..,"value":..}: one Debezium record, no newline. */
static int put_record(cdc_batch *b, cdc_bytes t, cdc_bytes k, cdc_bytes v)
{
    int rc = cdc__buf_puts(&b->buf, "{\"topic\":\"");
    if (!rc) rc = cdc__buf_append(&b->buf, t.ptr, t.len); /* [A-Za-z0-9._-] only */
    if (!rc) rc = cdc__buf_puts(&b->buf, "\",\"key\":");
    if (!rc) rc = k.ptr ? cdc__buf_append(&b->buf, k.ptr, k.len) : cdc__buf_puts(&b->buf, "null");
    if (!rc) rc = cdc__buf_puts(&b->buf, ",\"value\":");
    if (!rc) rc = v.ptr ? cdc__buf_append(&b->buf, v.ptr, v.len) : cdc__buf_puts(&b->buf, "null");
    if (!rc) rc = cdc__buf_putc(&b->buf, '}');
    return rc;
}

/* The n records of the renderer's last call as lines, the last without
 * its newline. */
static int put_records(cdc_batch *b, size_t n)
{
    int rc = CDC_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        cdc_bytes t, k, v;
        cdc_debezium_record(b->dz, i, &t, &k, &v);
        if (i) rc = cdc__buf_putc(&b->buf, '\n');
        if (!rc) rc = put_record(b, t, k, v);
    }
    return rc;
}

/* The Debezium records of c as {"topic":..,"key":..,"value":..} lines,
 * the last without its newline; *none set when c makes no record. */
static int debezium_lines(cdc_batch *b, const cdc_change *c, cdc_debezium_snapshot snap, bool *none)
{
    ptrdiff_t n = cdc_debezium_change(b->dz, c, snap);
    if (n < 0) return cdc__err_set(&b->err, (int)n, "debezium: %s", cdc_debezium_errmsg(b->dz));
    *none = n == 0;
    return put_records(b, (size_t)n);
}

/* Records a rendering call made (n < 0: its error) as lines, ended like
 * any line (boundary, may_pause); nothing when it made none. */
static int debezium_records(cdc_batch *b, ptrdiff_t n, bool boundary, bool may_pause)
{
    if (n < 0) return cdc__err_set(&b->err, (int)n, "debezium: %s", cdc_debezium_errmsg(b->dz));
    if (n == 0) return CDC_OK;
    size_t start = b->buf.len;
    return end_line_at(b, start, put_records(b, (size_t)n), boundary, may_pause);
}

static void decoder_debezium_cbs(cdc_batch *b);

int cdc_batch_set_debezium(cdc_batch *b, cdc_debezium *dz)
{
    if (!b) return CDC_ERR_INVALID;
    if (dz && b->format == CDC_BATCH_BINARY) return CDC_ERR_STATE;
    b->dz = dz;
    if (dz) cdc_debezium_snapshot_reset(dz); /* a snapshot from here starts with "first" */
    if (b->d) decoder_debezium_cbs(b);
    return CDC_OK;
}

static int change_line(cdc_batch *b, const cdc_change *c)
{
    size_t start = b->buf.len;
    if (b->dz) {
        bool none = false;
        int rc = debezium_lines(b, c, CDC_DEBEZIUM_SNAPSHOT_FALSE, &none);
        if (rc) {
            b->buf.len = start;
            return b->err.code ? b->err.code : nomem(b);
        }
        return none ? CDC_OK : end_line_at(b, start, CDC_OK, false, !c->more_in_event);
    }
    int rc = render_change(b, c);
    if (rc) return rc;
    /* The limit is checked at the end of a rows event: a pause inside one
     * would make the stream re-read its transaction from the start, once
     * per batch (quadratic in a large transaction). A batch so overshoots
     * its limit by at most one rows event's lines. */
    return end_line_at(b, start, CDC_OK, false, !c->more_in_event);
}

/* Streams pause at the limit or a boundary; decoders only at the limit,
 * since a decoder pauses after the event being dispatched is delivered
 * whole, so each of its batches ends on an event. */
static int on_change(const cdc_change *c, void *ud)
{
    return change_line(ud, c);
}

/* A snapshot row is complete on its own: a paused or stopped snapshot
 * goes on with the next row and never repeats one (lib/snapshot.c). So
 * every row's lines end at a boundary, and the batch is handed over at
 * the limit: memory stays at about one batch however large the snapshot. */
static int snapshot_line_end(cdc_batch *b, size_t start)
{
    if (b->format == CDC_BATCH_JSON && cdc__buf_putc(&b->buf, '\n')) {
        cut(b, start);
        return nomem(b);
    }
    b->boundary = b->buf.len;
    if (b->buf.len - b->out >= b->limit) {
        b->pause = true;
        return CDC_ERR_PAUSED;
    }
    return CDC_OK;
}

/* A row of the initial snapshot as Debezium records, source.snapshot as
 * Debezium sets it (first, first_in_data_collection, ..., last): the
 * renderer holds each row back until the next one (or the snapshot's end)
 * shows where it stands, so this writes the row before c. */
static int snapshot_row_debezium(cdc_batch *b, const cdc_change *c)
{
    ptrdiff_t n = cdc_debezium_snapshot_row(b->dz, c);
    if (n < 0) return cdc__err_set(&b->err, (int)n, "debezium: %s", cdc_debezium_errmsg(b->dz));
    size_t start = b->buf.len;
    if (put_records(b, (size_t)n)) {
        b->buf.len = start;
        return nomem(b);
    }
    return n ? snapshot_line_end(b, start) : CDC_OK;
}

static int on_snapshot_row(const cdc_change *c, void *ud)
{
    cdc_batch *b = ud;
    if (b->dz) return snapshot_row_debezium(b, c);
    size_t start = b->buf.len;
    int rc = render_change(b, c);
    return rc ? rc : snapshot_line_end(b, start);
}

/* A row of an incremental snapshot: as a snapshot row, but Debezium
 * marks it source.snapshot "incremental" and holds nothing back. */
static int on_incremental_row(const cdc_change *c, void *ud)
{
    cdc_batch *b = ud;
    size_t start = b->buf.len;
    int rc;
    if (b->dz) {
        bool none = false;
        rc = debezium_lines(b, c, CDC_DEBEZIUM_SNAPSHOT_INCREMENTAL, &none);
        if (rc) {
            b->buf.len = start;
            return b->err.code ? b->err.code : nomem(b);
        }
        if (none) return CDC_OK;
    } else if ((rc = render_change(b, c))) {
        return rc;
    }
    return snapshot_line_end(b, start);
}

/* The checkpoint text of pos into small (or the heap: *txt != small). */
static int checkpoint_text(cdc_batch *b, const cdc_position *pos, char *small, size_t cap, char **txt)
{
    size_t need = 0;
    *txt = small;
    cdc_position_format(pos, NULL, 0, &need);
    if (need > cap && !(*txt = cdc__malloc(b->alloc, need))) return CDC_ERR_NOMEM;
    return cdc_position_format(pos, *txt, need > cap ? need : cap, NULL) ? CDC_ERR_NOMEM : CDC_OK;
}

/* A transaction or position record, binary or JSON: kind 'K' commit,
 * 'D' DDL (q), 'P' checkpoint, 'S' snapshot end. */
static int boundary_record(cdc_batch *b, int kind, const char *gtid, uint32_t sid, int64_t ts,
                           const cdc_query *q, const cdc_position *pos)
{
    size_t start = b->buf.len;
    int rc;
    if (b->format == CDC_BATCH_BINARY) {
        char small[512], *ck;
        rc = checkpoint_text(b, pos, small, sizeof small, &ck);
        const char *file = cdc_position_file(pos);
        uint64_t off = cdc_position_offset(pos);
        if (rc) {
        } else if (kind == 'K') {
            rc = cdc__bin_commit(&b->buf, gtid, sid, ts, file, off, ck);
        } else if (kind == 'D') {
            rc = cdc__bin_ddl(&b->buf, cdc_query_db(q), cdc_query_sql(q), cdc_event_gtid(cdc_query_event(q)),
                              file, off, ck);
        } else {
            rc = cdc__bin_position(&b->buf, kind == 'P' ? CDC__BIN_CHECKPOINT : CDC__BIN_SNAPSHOT_DONE, file, off,
                                   ck);
        }
        if (ck != small) cdc__free(b->alloc, ck);
        if (rc) rc = nomem(b);
    } else if (kind == 'K') {
        rc = cdc__txn_render_json(&b->buf, "commit", gtid, sid, ts, pos, &b->err);
    } else if (kind == 'D') {
        rc = cdc__ddl_render_json(&b->buf, q, pos, &b->err);
    } else {
        rc = cdc__position_render_json(&b->buf, kind == 'P' ? "checkpoint" : "snapshot_done", pos, &b->err);
    }
    return end_line(b, start, rc, true);
}

/* A BEGIN record (provide.transaction.metadata), Debezium's transaction
 * id being the GTID, else file=<file>,pos=<offset of its first event>. */
static int begin_records(cdc_batch *b, const char *gtid, const char *file, uint64_t off, int64_t ts_ms,
                         bool may_pause)
{
    char small[600], *id = small;
    size_t need = gtid && *gtid ? strlen(gtid) + 1 : strlen(file) + 32;
    if (need > sizeof small && !(id = cdc__malloc(b->alloc, need))) return nomem(b);
    if (gtid && *gtid) memcpy(id, gtid, need);
    else snprintf(id, need, "file=%s,pos=%" PRIu64, file, off);
    int rc = debezium_records(b, cdc_debezium_begin(b->dz, id, ts_ms), false, may_pause);
    if (id != small) cdc__free(b->alloc, id);
    return rc;
}

static int on_begin(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    (void)sid;
    cdc_batch *b = ud;
    if (!b->dz) return CDC_OK;
    return begin_records(b, gtid, cdc_position_file(pos), cdc_position_offset(pos), ts, false);
}

/* The END record (provide.transaction.metadata) goes before the commit
 * line, inside the transaction's lines. */
static int on_commit(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    cdc_batch *b = ud;
    if (b->dz) {
        int rc = debezium_records(b, cdc_debezium_commit(b->dz, ts), false, false);
        if (rc) return rc;
    }
    return boundary_record(b, 'K', gtid, sid, ts, NULL, pos);
}

/* The schema-change record (include.schema.changes) goes before the DDL
 * line, whose checkpoint covers both. */
static int on_ddl(const cdc_query *q, const cdc_position *pos, void *ud)
{
    cdc_batch *b = ud;
    if (b->dz) {
        int rc = debezium_records(b, cdc_debezium_schema_change(b->dz, q, CDC_DEBEZIUM_SNAPSHOT_FALSE), false,
                                  false);
        if (rc) return rc;
    }
    return boundary_record(b, 'D', NULL, 0, 0, q, pos);
}

/* The safe position advanced without a commit: a heartbeat, or
 * transactions the filters dropped. */
static int on_checkpoint(const cdc_position *pos, void *ud)
{
    return boundary_record(ud, 'P', NULL, 0, 0, NULL, pos);
}

/* The snapshot's last row (held back by the renderer, now marked last)
 * goes out before the snapshot-done line. */
static int on_snapshot_done(const cdc_position *pos, void *ud)
{
    cdc_batch *b = ud;
    if (b->dz) {
        int rc = debezium_records(b, cdc_debezium_snapshot_end(b->dz), false, false);
        if (rc) return rc;
    }
    return boundary_record(b, 'S', NULL, 0, 0, NULL, pos);
}

/* ---- streams ------------------------------------------------------------ */

int cdc_batch_attach_stream(cdc_batch *b, cdc_stream *s)
{
    if (!b || !s) return CDC_ERR_INVALID;
    cdc_stream_set_change_cb(s, on_change, b);
    cdc_stream_set_begin_cb(s, on_begin, b);
    cdc_stream_set_commit_cb(s, on_commit, b);
    cdc_stream_set_ddl_cb(s, on_ddl, b);
    cdc_stream_set_checkpoint_cb(s, on_checkpoint, b);
    cdc_stream_set_snapshot_cb(s, on_snapshot_row, b);
    cdc_stream_set_snapshot_done_cb(s, on_snapshot_done, b);
    cdc_stream_set_incremental_cb(s, on_incremental_row, b);
    if (b->dz) cdc_debezium_snapshot_reset(b->dz);
    b->s = s;
    b->d = NULL;
    b->buf.len = b->out = b->boundary = 0;
    b->pause = b->ended = false;
    cdc__bin_tables_forget(&b->tables);
    cdc__err_clear(&b->err);
    return CDC_OK;
}

int cdc_batch_next(cdc_batch *b, const char **data, size_t *len)
{
    if (!b || !data || !len) return CDC_ERR_INVALID;
    *data = "";
    *len = 0;
    if (!b->s) return CDC_ERR_STATE;
    take_back(b);
    if (b->ended) { /* the end that came after the last lines */
        b->ended = false;
        return b->end_rc;
    }
    for (;;) {
        b->pause = false;
        int rc = cdc_stream_start(b->s);
        if (rc == CDC_ERR_PAUSED) {
            /* Paused by us: the batch is ready. Paused by a callback of
             * the host's (which should not): go on if there is nothing. */
            if (b->buf.len == 0 && !b->pause) continue;
            hand_out(b, b->buf.len, data, len);
            return CDC_OK;
        }
        if (rc == CDC_ERR_CALLBACK && b->err.code) rc = b->err.code;
        /* The end. Lines of a transaction it cut stay: after a stop, the
         * next call restarts the stream, which skips what it delivered. */
        size_t n = rc == CDC_OK ? b->buf.len : b->boundary;
        if (n == 0) return rc;
        b->ended = true;
        b->end_rc = rc;
        hand_out(b, n, data, len);
        return CDC_OK;
    }
}

/* ---- binlog files -------------------------------------------------------- */

int cdc_batch_attach_decoder(cdc_batch *b, cdc_decoder *d)
{
    if (!b || !d) return CDC_ERR_INVALID;
    cdc_decoder_set_change_cb(d, on_change, b);
    b->d = d;
    b->s = NULL;
    b->dz_cbs = false;
    decoder_debezium_cbs(b);
    b->buf.len = b->out = b->boundary = 0;
    b->pause = b->ended = false;
    cdc__bin_tables_forget(&b->tables);
    cdc__err_clear(&b->err);
    return CDC_OK;
}

/* A binlog file with a Debezium renderer: transaction metadata from its
 * transaction boundaries, schema-change records from its DDL statements
 * (as `cdc dump --format=debezium` makes them). */
static int dec_begin(const cdc_event *e, void *ud)
{
    cdc_batch *b = ud;
    int rc = begin_records(b, cdc_event_gtid(e), cdc_event_file(e), cdc_event_offset(e),
                           (int64_t)cdc_event_timestamp(e) * 1000, true);
    if (rc == CDC_OK && cdc_event_type_of(e) == CDC_EV_QUERY) cdc_debezium_set_thread(b->dz, cdc_event_thread_id(e));
    return rc;
}

static int dec_commit(const cdc_event *e, void *ud)
{
    cdc_batch *b = ud;
    return debezium_records(b, cdc_debezium_commit(b->dz, (int64_t)cdc_event_timestamp(e) * 1000), false, true);
}

/* DDL only: other statements (statement-based DML, SAVEPOINT, XA ...)
 * make no record, by the test the stream applies. */
static int dec_query(const cdc_query *q, void *ud)
{
    cdc_batch *b = ud;
    if (cdc_query_error_code(q) || !cdc_query_is_ddl(q)) return CDC_OK;
    return debezium_records(b, cdc_debezium_schema_change(b->dz, q, CDC_DEBEZIUM_SNAPSHOT_FALSE), false, true);
}

static void decoder_debezium_cbs(cdc_batch *b)
{
    bool on = b->dz != NULL;
    if (!on && !b->dz_cbs) return; /* a host's own callbacks stay */
    b->dz_cbs = on;
    cdc_decoder_set_begin_cb(b->d, on ? dec_begin : NULL, b);
    cdc_decoder_set_commit_cb(b->d, on ? dec_commit : NULL, b);
    cdc_decoder_set_query_cb(b->d, on ? dec_query : NULL, b);
}

ptrdiff_t cdc_batch_feed(cdc_batch *b, const uint8_t *p, size_t n, const char **data, size_t *len)
{
    if (!b || !data || !len || (!p && n)) return CDC_ERR_INVALID;
    *data = "";
    *len = 0;
    if (!b->d) return CDC_ERR_STATE;
    take_back(b);
    ptrdiff_t used = cdc_decoder_feed(b->d, p, n);
    if (used < 0 && b->err.code) used = b->err.code;
    hand_out(b, b->buf.len, data, len);
    return used;
}

int cdc_batch_finish(cdc_batch *b, const char **data, size_t *len)
{
    if (!b || !data || !len) return CDC_ERR_INVALID;
    *data = "";
    *len = 0;
    if (!b->d) return CDC_ERR_STATE;
    take_back(b);
    int rc = cdc_decoder_finish(b->d);
    if (rc < 0 && b->err.code) rc = b->err.code;
    hand_out(b, b->buf.len, data, len);
    return rc;
}

/* ---- one change ---------------------------------------------------------- */

int cdc_change_render_json(const cdc_change *c, char *buf, size_t cap, size_t *need)
{
    if (need) *need = 0;
    if (!c || (!buf && cap)) return CDC_ERR_INVALID;
    cdc__buf o;
    cdc__err err;
    cdc__buf_init(&o, NULL);
    cdc__err_clear(&err);
    int rc = cdc__change_render_json(c, &o, &err);
    if (rc == CDC_OK) {
        if (need) *need = o.len + 1;
        if (o.len + 1 > cap) {
            rc = CDC_ERR_TOO_LARGE;
        } else {
            memcpy(buf, o.data, o.len);
            buf[o.len] = 0;
        }
    }
    cdc__buf_free(&o);
    return rc;
}
