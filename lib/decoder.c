/*
 * decoder.c: the public binlog decoder (cdc/binlog.h): frames fed bytes
 * into events (in place when an event lies inside one chunk, gathered
 * otherwise, streamed for TRANSACTION_PAYLOAD), keeps the format, the
 * table maps and the transaction's GTID, and dispatches to callbacks.
 */
#include "decoder.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <zlib.h>

#include "crc32.h"
#include "event.h"
#include "jsonw.h"
#include "output.h"
#include "payload.h"
#include "rows.h"
#include "schema.h"
#include "tablemap.h"
#include "value.h"

enum { P_MAGIC, P_EVENT, P_PL_FIELDS, P_PL_BODY, P_PL_TAIL };

struct cdc_event {
    cdc__evhdr h;
    const uint8_t *raw;
    size_t raw_len;
    const uint8_t *body;
    size_t body_len;
    const char *file;
    cdc_bytes jfile;          /* file as a JSON string, when the decoder made it */
    uint64_t offset;
    bool unknown, inner;
    const char *gtid;
};

struct cdc_query {
    const cdc_event *ev;
    cdc__query_ev q;
};

struct cdc_decoder {
    const cdc_allocator *alloc;
    cdc__err err;
    int mode;
    bool started, verify, paused;
    size_t max_event;
    int lazy;                 /* CDC__LAZY_*: how row images are read */
    cdc__buf file;         /* NUL-terminated current file name */
    uint64_t offset;      /* position of the next input byte */

    cdc_event_cb event_cb; void *event_ud;
    cdc_table_cb table_cb; void *table_ud;
    cdc_change_cb change_cb; void *change_ud;
    cdc_txn_cb begin_cb; void *begin_ud;
    cdc_txn_cb commit_cb; void *commit_ud;
    cdc_query_cb query_cb; void *query_ud;
    cdc__names_hook names_fn; void *names_ud;
    uint64_t names_pending;  /* table id whose names the hook is still to give; 0: none */
    uint64_t names_offset;   /* where its TABLE_MAP is, for errors */

    int phase;
    uint8_t magic[4];
    size_t magic_n;
    cdc__buf ev;           /* an outer event being gathered */
    uint64_t ev_offset;   /* where it starts */
    cdc__fde fde;
    bool have_fde;
    uint64_t nevents;

    /* TRANSACTION_PAYLOAD being streamed */
    cdc__payload_stream pl;
    cdc__evhdr pl_hdr;
    uint64_t pl_offset, pl_left, pl_rows;
    uint32_t pl_crc;
    uint8_t pl_tail[4];
    size_t pl_tail_n, pl_crc_len;
    size_t pl_from;       /* compressed bytes gathered in ev start here */

    /* transaction state */
    char gtid[CDC__GTID_TEXT_MAX];   /* text of gtid_id */
    /* file and gtid as JSON strings (gtid: null when empty), made when
     * they change rather than for every row's JSON line; empty when
     * out of memory (output.c then escapes them itself) */
    cdc__buf jfile, jgtid;
    /* the JSON line's tail of the rows event being decoded (output.h) */
    cdc__line_tail line_tail;
    cdc__gtid gtid_id;
    uint64_t commit_us;
    bool in_txn;
    cdc__gtid_set prev;
    bool prev_ok;

    cdc__table_map tables;
    cdc_value *vb, *va;
    uint8_t *pb, *pa;
    cdc_cell *cb, *ca;      /* cells made with the images (cdc__rows_image_cells) */
    size_t vcap;
    cdc__buf *jbufs;
    size_t njbufs;
    cdc__buf zbuf;         /* MariaDB uncompressed bodies */
};

/* ---- errors ------------------------------------------------------------ */

static const char *type_name(int type)
{
    const char *s = cdc__event_type_name(type);
    return s ? s : "UNKNOWN";
}

/* Puts "file:offset EVENT" in front of the message already in d->err. */
static int fail_at(cdc_decoder *d, uint64_t off, int type, int code)
{
    char msg[CDC__ERRMSG_MAX];
    snprintf(msg, sizeof msg, "%s", d->err.msg);
    return cdc__err_set(&d->err, code, "%s:%" PRIu64 " %s: %s",
                        d->file.len ? (const char *)d->file.data : "(input)", off,
                        type_name(type), msg);
}

static int callback_rc(cdc_decoder *d, int rc, uint64_t off, int type)
{
    if (rc == 0) return 0;
    if (rc == CDC_ERR_PAUSED) { d->paused = true; return 0; }
    cdc__err_set(&d->err, CDC_ERR_CALLBACK, "callback returned %d (%s)", rc, cdc_err_name(rc));
    return fail_at(d, off, type, CDC_ERR_CALLBACK);
}

/* ---- lifecycle --------------------------------------------------------- */

int cdc_decoder_new(cdc_decoder **out, const cdc_allocator *alloc, char *err, size_t errlen)
{
    if (!out) {
        cdc__err e;
        cdc__err_set(&e, CDC_ERR_INVALID, "cdc_decoder_new: out is NULL");
        cdc__err_copy_out(&e, err, errlen);
        return CDC_ERR_INVALID;
    }
    *out = NULL;
    const cdc_allocator *a = cdc__allocator(alloc);
    cdc_decoder *d = cdc__calloc(a, 1, sizeof *d);
    if (!d) {
        cdc__err e;
        cdc__err_set(&e, CDC_ERR_NOMEM, "cdc_decoder_new: out of memory");
        cdc__err_copy_out(&e, err, errlen);
        return CDC_ERR_NOMEM;
    }
    /* the allocator struct is copied into the handle, so it need not outlive the call */
    cdc_allocator *ac = cdc__malloc(a, sizeof *ac);
    if (!ac) {
        cdc__free(a, d);
        cdc__err e;
        cdc__err_set(&e, CDC_ERR_NOMEM, "cdc_decoder_new: out of memory");
        cdc__err_copy_out(&e, err, errlen);
        return CDC_ERR_NOMEM;
    }
    *ac = *a;
    d->alloc = ac;
    d->verify = true;
    d->max_event = CDC__DECODER_MAX_EVENT_DEFAULT;
    cdc__buf_init(&d->file, d->alloc);
    cdc__buf_init(&d->jfile, d->alloc);
    cdc__buf_init(&d->jgtid, d->alloc);
    cdc__buf_init(&d->ev, d->alloc);
    cdc__buf_init(&d->zbuf, d->alloc);
    cdc__payload_init(&d->pl, d->alloc);
    cdc__gtid_set_init(&d->prev, d->alloc);
    cdc__table_map_init(&d->tables, d->alloc);
    cdc__fde_init_v4(&d->fde);
    *out = d;
    return CDC_OK;
}

void cdc_decoder_free(cdc_decoder *d)
{
    if (!d) return;
    const cdc_allocator *a = d->alloc;
    cdc__buf_free(&d->file);
    cdc__buf_free(&d->jfile);
    cdc__buf_free(&d->jgtid);
    cdc__buf_free(&d->ev);
    cdc__buf_free(&d->zbuf);
    cdc__payload_free(&d->pl);
    cdc__gtid_set_free(&d->prev);
    cdc__table_map_free(&d->tables);
    for (size_t i = 0; i < d->njbufs; i++) cdc__buf_free(&d->jbufs[i]);
    cdc__free(a, d->jbufs);
    cdc__free(a, d->vb);
    cdc__free(a, d->va);
    cdc__free(a, d->pb);
    cdc__free(a, d->pa);
    cdc__free(a, d->cb);
    cdc__free(a, d->ca);
    cdc__free(a, d);
    cdc__free(a, (void *)a);
}

int cdc_decoder_set_mode(cdc_decoder *d, cdc_decoder_mode mode)
{
    if (mode != CDC_DECODER_FILE && mode != CDC_DECODER_EVENTS) return CDC_ERR_INVALID;
    if (d->started) return CDC_ERR_STATE;
    d->mode = mode;
    d->phase = mode == CDC_DECODER_FILE ? P_MAGIC : P_EVENT;
    return CDC_OK;
}

static int set_file(cdc_decoder *d, const void *name, size_t n)
{
    cdc__buf_reset(&d->file);
    cdc__buf_reset(&d->jfile);
    if (cdc__buf_append(&d->file, name, n) || cdc__buf_terminate(&d->file) ||
        cdc__render_utf8_string(&d->jfile, name, n))
        return CDC_ERR_NOMEM;
    return CDC_OK;
}

/* After d->gtid changed: its JSON form. */
static void gtid_changed(cdc_decoder *d)
{
    cdc__buf_reset(&d->jgtid);
    int rc = d->gtid[0] ? cdc__render_utf8_string(&d->jgtid, (const uint8_t *)d->gtid, strlen(d->gtid))
                        : cdc__buf_append(&d->jgtid, "null", 4);
    if (rc) cdc__buf_reset(&d->jgtid);
}

cdc_bytes cdc__event_file_json(const cdc_event *e) { return e->jfile; }

int cdc_decoder_set_position(cdc_decoder *d, const char *file, uint64_t offset)
{
    if (file && set_file(d, file, strlen(file))) return CDC_ERR_NOMEM;
    d->offset = offset;
    return CDC_OK;
}

void cdc_decoder_set_verify_checksums(cdc_decoder *d, int on) { d->verify = on != 0; }
void cdc_decoder_set_event_cb(cdc_decoder *d, cdc_event_cb cb, void *ud) { d->event_cb = cb; d->event_ud = ud; }
void cdc_decoder_set_table_cb(cdc_decoder *d, cdc_table_cb cb, void *ud) { d->table_cb = cb; d->table_ud = ud; }
void cdc_decoder_set_change_cb(cdc_decoder *d, cdc_change_cb cb, void *ud) { d->change_cb = cb; d->change_ud = ud; }
void cdc_decoder_set_begin_cb(cdc_decoder *d, cdc_txn_cb cb, void *ud) { d->begin_cb = cb; d->begin_ud = ud; }
void cdc_decoder_set_commit_cb(cdc_decoder *d, cdc_txn_cb cb, void *ud) { d->commit_cb = cb; d->commit_ud = ud; }
void cdc_decoder_set_query_cb(cdc_decoder *d, cdc_query_cb cb, void *ud) { d->query_cb = cb; d->query_ud = ud; }
void cdc__decoder_set_max_event(cdc_decoder *d, size_t max) { d->max_event = max; }
void cdc__decoder_set_lazy(cdc_decoder *d, int how) { d->lazy = how; }
const cdc__gtid_set *cdc__decoder_previous_gtids(const cdc_decoder *d) { return d->prev_ok ? &d->prev : NULL; }
const cdc__gtid *cdc__decoder_gtid(const cdc_decoder *d) { return &d->gtid_id; }
uint64_t cdc__decoder_commit_us(const cdc_decoder *d) { return d->commit_us; }
void cdc__decoder_set_names_hook(cdc_decoder *d, cdc__names_hook fn, void *ud)
{
    d->names_fn = fn;
    d->names_ud = ud;
}
const char *cdc_decoder_errmsg(const cdc_decoder *d) { return d->err.code ? d->err.msg : ""; }
int cdc_decoder_error(const cdc_decoder *d) { return d->err.code; }
uint64_t cdc_decoder_event_count(const cdc_decoder *d) { return d->nevents; }

/* ---- rows -------------------------------------------------------------- */

static int ensure_row_space(cdc_decoder *d, size_t ncols, size_t njson)
{
    if (ncols > d->vcap) {
        size_t n = ncols < 16 ? 16 : ncols;
        cdc__free(d->alloc, d->vb);
        cdc__free(d->alloc, d->va);
        cdc__free(d->alloc, d->pb);
        cdc__free(d->alloc, d->pa);
        cdc__free(d->alloc, d->cb);
        cdc__free(d->alloc, d->ca);
        d->vb = cdc__calloc(d->alloc, n, sizeof *d->vb);
        d->va = cdc__calloc(d->alloc, n, sizeof *d->va);
        d->pb = cdc__calloc(d->alloc, n, 1);
        d->pa = cdc__calloc(d->alloc, n, 1);
        d->cb = cdc__calloc(d->alloc, n, sizeof *d->cb);
        d->ca = cdc__calloc(d->alloc, n, sizeof *d->ca);
        d->vcap = (d->vb && d->va && d->pb && d->pa && d->cb && d->ca) ? n : 0;
        if (!d->vcap) return CDC_ERR_NOMEM;
    }
    if (njson > d->njbufs) {
        cdc__buf *j = cdc__realloc(d->alloc, d->jbufs, njson * sizeof *j);
        if (!j) return CDC_ERR_NOMEM;
        for (size_t i = d->njbufs; i < njson; i++) cdc__buf_init(&j[i], d->alloc);
        d->jbufs = j;
        d->njbufs = njson;
    }
    return CDC_OK;
}

static const cdc_column *first_old_temporal(const struct cdc_table *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t ty = t->cols[i].type;
        if (ty == CDC_T_TIMESTAMP || ty == CDC_T_DATETIME || ty == CDC_T_TIME) return &t->cols[i];
    }
    return NULL;
}

#define LAZY_PROBE_ROWS 64

static int do_rows(cdc_decoder *d, const cdc_event *e, uint64_t *rowidx)
{
    cdc__rows_ev rv;
    int type = e->h.type;
    if (type >= CDC_EV_PRE_GA_WRITE_ROWS && type <= CDC_EV_PRE_GA_DELETE_ROWS)
        return cdc__err_set(&d->err, CDC_ERR_UNSUPPORTED,
                            "pre-GA MySQL 5.1 rows events (types 20-22) are not supported; "
                            "their layout predates the one every released server writes");
    if (cdc__rows_parse(&d->fde, type, e->body, e->body_len, &rv, &d->err)) return d->err.code;
    struct cdc_table *t = cdc__table_map_get(&d->tables, rv.table_id);
    if (!t)
        return cdc__err_set(&d->err, CDC_ERR_SCHEMA,
                            "no TABLE_MAP for table id %" PRIu64 " in this statement", rv.table_id);
    if (rv.ncols > t->ncols)
        return cdc__err_set(&d->err, CDC_ERR_SCHEMA,
                            "%s.%s: rows event has %zu columns, TABLE_MAP %zu", t->db, t->name,
                            rv.ncols, t->ncols);
    bool need_meta = false;
    if (!t->has_meta) /* looked at only when the map has no metadata */
        for (size_t i = 0; i < rv.ncols; i++)
            if (cdc__column_needs_meta(&t->cols[i])) need_meta = true;
    if (!t->has_meta && need_meta && rv.rows.len > 0)
        return cdc__err_set(&d->err, CDC_ERR_UNSUPPORTED,
                            "%s.%s: pre-GA 5.1 TABLE_MAP without column metadata; row values "
                            "cannot be decoded", t->db, t->name);
    if (rv.compressed) {
        if (cdc__maria_uncompress(rv.rows.ptr, rv.rows.len, d->max_event, &d->zbuf, &d->err))
            return d->err.code;
        rv.rows = (cdc_bytes){d->zbuf.data, d->zbuf.len};
    }
    if (ensure_row_space(d, rv.ncols, t->n_json) || cdc__rows_prepare(t))
        return cdc__err_set(&d->err, CDC_ERR_NOMEM, "rows event: out of memory");

    struct cdc_change c = {
        .op = rv.op, .t = t, .ev = e, .ncols = rv.ncols, .gtid = d->gtid,
        .jgtid = {d->jgtid.data, d->jgtid.len},
        .ts_ms = d->commit_us ? (int64_t)(d->commit_us / 1000) : (int64_t)e->h.timestamp * 1000,
        .tail = &d->line_tail,
    };
    d->line_tail.head_len = 0; /* a new event: its tail is made at its first line */
    cdc__reader r = cdc__rd(rv.rows.ptr, rv.rows.len);
    /* the same for every row of the event */
    const bool has_b = rv.op != 'c', has_a = rv.op != 'd';
    const bool dense_b = rv.n_before == rv.ncols, dense_a = !rv.partial && rv.n_after == rv.ncols;
    c.own_vb = has_b ? d->vb : NULL;
    c.own_pb = has_b ? d->pb : NULL;
    c.own_va = has_a ? d->va : NULL;
    c.own_pa = has_a ? d->pa : NULL;
    c.rows_end = r.p + r.len;
    /* images of every column that the plan can read as cells alone */
    const bool only_b = dense_b && t->plan_cells, only_a = dense_a && t->plan_cells;
    cdc_cell *const cb = has_b ? d->cb : NULL, *const ca = has_a ? d->ca : NULL;
    while (cdc__rd_left(&r) > 0) {
        size_t row_start = r.off;
        cdc__rows_where w = {0, false};
        int rc = CDC_OK;
        /* Values are made when the callback asks for them (lazy), unless
         * it asked for all of them last time: then making them at once
         * is cheaper (no second pass), and a lazy row every
         * LAZY_PROBE_ROWS rows watches whether that still holds. */
        bool lazy = d->lazy == CDC__LAZY_ALWAYS || (d->lazy == CDC__LAZY_ADAPTIVE && t->eager_rows == 0);
        if (d->lazy == CDC__LAZY_ADAPTIVE && !lazy) t->eager_rows--;
        int (*image)(const struct cdc_table *, const cdc__rows_ev *, const uint8_t *, bool, cdc__reader *,
                     cdc_value *, uint8_t *, const cdc_value *, const uint8_t *, cdc__buf *,
                     cdc__rows_where *, cdc__err *) = lazy ? cdc__rows_image_lazy : cdc__rows_image;
        /* a callback reading whole images as cells: make them in the same pass */
        bool cells = lazy && t->cells_rows;
        c.before = c.own_vb;
        c.pb = c.own_pb;
        c.after = c.own_va;
        c.pa = c.own_pa;
        c.unsettled_b = c.unsettled_a = NULL;
        if (has_b) {
            const uint8_t *at = r.p + r.off;
            rc = !cells    ? CDC__ROWS_NOT_DENSE
                 : only_b  ? cdc__rows_image_cells_only(t, rv.ncols, &r, d->cb)
                 : dense_b ? cdc__rows_image_cells_dense(t, rv.ncols, &r, d->vb, d->pb, d->cb, &w, &d->err)
                           : CDC__ROWS_NOT_DENSE;
            if (rc == CDC_OK && only_b) {
                c.unsettled_b = at;
                c.before = NULL;
                c.pb = NULL;
            }
            if (rc == CDC__ROWS_NOT_DENSE)
                rc = cells ? cdc__rows_image_cells(t, &rv, rv.cols_before, false, &r, d->vb, d->pb, NULL, NULL,
                                                   d->jbufs, d->cb, &w, &d->err)
                           : image(t, &rv, rv.cols_before, false, &r, d->vb, d->pb, NULL, NULL, d->jbufs, &w,
                                   &d->err);
        }
        if (rc == CDC_OK && has_a) {
            w.after = true;
            const cdc_value *bv = c.own_vb;
            const uint8_t *bp = c.own_pb;
            const uint8_t *at = r.p + r.off;
            rc = !cells    ? CDC__ROWS_NOT_DENSE
                 : only_a  ? cdc__rows_image_cells_only(t, rv.ncols, &r, d->ca)
                 : dense_a ? cdc__rows_image_cells_dense(t, rv.ncols, &r, d->va, d->pa, d->ca, &w, &d->err)
                           : CDC__ROWS_NOT_DENSE;
            if (rc == CDC_OK && only_a) {
                c.unsettled_a = at;
                c.after = NULL;
                c.pa = NULL;
            }
            if (rc == CDC__ROWS_NOT_DENSE) /* the general road may read the before image (partial JSON) */
                cdc__change_settle(&c);
            if (rc == CDC__ROWS_NOT_DENSE)
                rc = cells ? cdc__rows_image_cells(t, &rv, rv.cols_after, rv.partial, &r, d->va, d->pa, bv, bp,
                                                   d->jbufs, d->ca, &w, &d->err)
                           : image(t, &rv, rv.cols_after, rv.partial, &r, d->va, d->pa, bv, bp, d->jbufs, &w,
                                   &d->err);
        }
        if (rc && d->fde.mariadb && first_old_temporal(t, rv.ncols)) {
            /* MariaDB 5.3-format TIME/DATETIME/TIMESTAMP(n) keep their
             * precision out of the TABLE_MAP: widths are unknowable */
            char ty[64];
            cdc__err_set(&d->err, CDC_ERR_UNSUPPORTED,
                         "%s.%s row %" PRIu64 ": cannot decode; the table has MariaDB "
                         "old-format temporal columns (e.g. %s) whose fractional precision the "
                         "binlog does not record (mysql56_temporal_format=OFF)", t->db, t->name,
                         *rowidx, cdc__column_type_text(first_old_temporal(t, rv.ncols), ty,
                                                        sizeof ty));
            return CDC_ERR_UNSUPPORTED;
        }
        if (rc) {
            char ty[64];
            const cdc_column *col = &t->cols[w.column];
            cdc__err_prefix(&d->err, "%s.%s row %" PRIu64 " %s column %zu%s%.*s%s %s", t->db,
                            t->name, *rowidx, w.after ? "after" : "before", w.column + 1,
                            col->name.len ? " (" : "", (int)col->name.len,
                            (const char *)col->name.ptr, col->name.len ? ")" : "",
                            cdc__column_type_text(col, ty, sizeof ty));
            return rc;
        }
        if (r.off == row_start) /* no columns and no NULL bitmap: it would never end */
            return cdc__err_set(&d->err, CDC_ERR_CORRUPT,
                                "%s.%s: %zu bytes of rows data, but a row takes none", t->db,
                                t->name, cdc__rd_left(&r));
        c.row = (*rowidx)++;
        c.more_in_event = cdc__rd_left(&r) > 0;
        c.lazy = lazy;
        c.cb = cells ? cb : NULL;
        c.ca = cells ? ca : NULL;
        c.cells_read = 0;
        if (d->change_cb) {
            rc = callback_rc(d, d->change_cb(&c, d->change_ud), e->offset, type);
            if (rc) return rc;
        }
        /* whole images read as cells, or written as JSON lines (which
         * write them from their cells when they are made) */
        t->cells_rows = c.cells_read != 0;
        if (lazy && ((c.cells_read & CDC__READ_CELLS) || c.unsettled_b || c.unsettled_a || (c.cells_read && !cells))) {
            /* A lazy image read as cells: its values stay pending by
             * design (nothing to look for), and the cells pass needs the
             * lazy image. An image still read as cells alone was read by
             * nothing else (a JSON line leaves its values pending). A
             * JSON line of an image not made as cells made its values,
             * but the next image will be made as cells. */
            if (d->lazy == CDC__LAZY_ADAPTIVE) t->eager_rows = 0;
        } else if (d->lazy == CDC__LAZY_ADAPTIVE && lazy && rv.ncols) {
            /* a callback that also asks for every value reads images
             * whole, JSON lines or not */
            bool unread = (has_b && memchr(d->pb, CDC__PRESENT_PENDING, rv.ncols)) ||
                          (has_a && memchr(d->pa, CDC__PRESENT_PENDING, rv.ncols));
            t->eager_rows = unread ? 0 : LAZY_PROBE_ROWS - 1;
        }
    }
    if (rv.flags & CDC__ROWS_STMT_END_F) cdc__table_map_clear(&d->tables);
    return CDC_OK;
}

/* ---- one event --------------------------------------------------------- */

static int begin_txn(cdc_decoder *d, const cdc_event *e)
{
    /* MariaDB's GTID already began what its XA START / BEGIN repeats */
    if (d->in_txn) return 0;
    d->in_txn = true;
    return d->begin_cb ? callback_rc(d, d->begin_cb(e, d->begin_ud), e->offset, e->h.type) : 0;
}

static void end_txn(cdc_decoder *d)
{
    d->in_txn = false;
    d->gtid[0] = 0;
    gtid_changed(d);
    d->gtid_id.kind = CDC__GTID_NONE;
    d->commit_us = 0;
}

static int commit_txn(cdc_decoder *d, const cdc_event *e)
{
    int rc = d->commit_cb ? callback_rc(d, d->commit_cb(e, d->commit_ud), e->offset, e->h.type)
                          : 0;
    end_txn(d);
    return rc;
}

static bool sql_is(cdc_bytes s, const char *word)
{
    size_t n = strlen(word);
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == ';' || s.ptr[s.len - 1] == 0))
        s.len--;
    if (s.len != n) return false;
    for (size_t i = 0; i < n; i++)
        if ((s.ptr[i] | 0x20) != (word[i] | 0x20)) return false;
    return true;
}

static bool sql_starts(cdc_bytes s, const char *word)
{
    size_t n = strlen(word);
    if (s.len < n) return false;
    for (size_t i = 0; i < n; i++)
        if ((s.ptr[i] | 0x20) != (word[i] | 0x20)) return false;
    return true;
}

static int do_query(cdc_decoder *d, const cdc_event *e)
{
    struct cdc_query q = {.ev = e};
    if (cdc__query_parse(&d->fde, e->h.type, e->body, e->body_len, &q.q, &d->err))
        return d->err.code;
    if (e->h.type == CDC_EV_MARIA_QUERY_COMPRESSED) {
        if (cdc__maria_uncompress(q.q.sql.ptr, q.q.sql.len, d->max_event, &d->zbuf, &d->err))
            return d->err.code;
        q.q.sql = (cdc_bytes){d->zbuf.data, d->zbuf.len};
    }
    if (sql_is(q.q.sql, "BEGIN") || sql_starts(q.q.sql, "XA START ")) return begin_txn(d, e);
    if (sql_is(q.q.sql, "COMMIT")) return commit_txn(d, e);
    int rc = d->query_cb ? callback_rc(d, d->query_cb(&q, d->query_ud), e->offset, e->h.type) : 0;
    if (!d->in_txn) end_txn(d); /* a DDL statement is its own transaction */
    return rc;
}

/* What the TABLE_MAP does not say (names, MariaDB JSON): the names hook
 * (decoder.h). */
static int ask_names(cdc_decoder *d, struct cdc_table *t, uint64_t off)
{
    if (!d->names_fn || !t->ncols) return CDC_OK;
    int rc = d->names_fn(t, d->names_ud);
    if (rc == CDC_ERR_PAUSED) {
        d->names_pending = t->id;
        d->names_offset = off;
        d->paused = true;
        return CDC_OK;
    }
    d->names_pending = 0;
    if (rc) return callback_rc(d, rc, off, CDC_EV_TABLE_MAP);
    return CDC_OK;
}

/* At the start of a feed: the names a paused TABLE_MAP waited for, then
 * its table callback. */
static int resume_names(cdc_decoder *d)
{
    struct cdc_table *t = cdc__table_map_get(&d->tables, d->names_pending);
    uint64_t off = d->names_offset;
    if (!t) {
        d->names_pending = 0;
        return CDC_OK;
    }
    int rc = ask_names(d, t, off);
    if (rc || d->names_pending) return rc;
    return d->table_cb ? callback_rc(d, d->table_cb(t, d->table_ud), off, CDC_EV_TABLE_MAP) : 0;
}

static int do_event(cdc_decoder *d, cdc_event *e, uint64_t *rowidx)
{
    int type = e->h.type;
    switch (type) {
    case CDC_EV_FORMAT_DESCRIPTION:
        if (e->inner) break;
        /* parsed before the checksum check in dispatch(); cached table
         * maps were parsed with the old one */
        cdc__table_map_flush(&d->tables);
        return CDC_OK;
    case CDC_EV_START_V3:
        if (e->body_len < 2) return cdc__err_set(&d->err, CDC_ERR_CORRUPT, "START_V3: truncated");
        cdc__fde_init_v3(&d->fde, cdc__le16(e->body));
        d->have_fde = true;
        return CDC_OK;
    case CDC_EV_ROTATE: {
        uint64_t pos;
        cdc_bytes name;
        if (cdc__rotate_parse(&d->fde, e->body, e->body_len, &pos, &name, &d->err))
            return d->err.code;
        if (d->mode == CDC_DECODER_EVENTS && !e->inner) {
            if (set_file(d, name.ptr, name.len))
                return cdc__err_set(&d->err, CDC_ERR_NOMEM, "ROTATE: out of memory");
            d->offset = pos;
        }
        return CDC_OK;
    }
    case CDC_EV_QUERY: case CDC_EV_MARIA_QUERY_COMPRESSED:
        return do_query(d, e);
    case CDC_EV_XID: case CDC_EV_XA_PREPARE:
        if (type == CDC_EV_XID && e->body_len < 8)
            return cdc__err_set(&d->err, CDC_ERR_CORRUPT, "XID: %zu-byte body, need 8",
                                e->body_len);
        return commit_txn(d, e);
    case CDC_EV_TABLE_MAP: {
        struct cdc_table *t;
        if (cdc__table_map_load(&d->tables, &d->fde, e->body, e->body_len, &t, &d->err))
            return d->err.code;
        int rc = ask_names(d, t, e->offset);
        if (rc || d->names_pending) return rc;
        return d->table_cb ? callback_rc(d, d->table_cb(t, d->table_ud), e->offset, type) : 0;
    }
    case CDC_EV_GTID: case CDC_EV_ANONYMOUS_GTID: case CDC_EV_GTID_TAGGED: {
        cdc__gtid_ev g;
        if (cdc__gtid_ev_parse(type, e->body, e->body_len, &g, &d->err)) return d->err.code;
        d->gtid_id = g.gtid;
        cdc__gtid_format(&g.gtid, d->gtid, sizeof d->gtid);
        gtid_changed(d);
        d->commit_us = g.immediate_commit_us;
        return CDC_OK;
    }
    case CDC_EV_MARIA_GTID: {
        cdc__maria_gtid_ev g;
        if (cdc__maria_gtid_ev_parse(e->body, e->body_len, e->h.server_id, &g, &d->err))
            return d->err.code;
        d->gtid_id = g.gtid;
        cdc__gtid_format(&g.gtid, d->gtid, sizeof d->gtid);
        gtid_changed(d);
        d->commit_us = 0;
        if (!(g.flags & CDC__MARIA_FL_STANDALONE)) return begin_txn(d, e);
        return CDC_OK;
    }
    case CDC_EV_PREVIOUS_GTIDS: case CDC_EV_MARIA_GTID_LIST: {
        cdc__gtid_set_clear(&d->prev);
        int rc = type == CDC_EV_PREVIOUS_GTIDS
                     ? cdc__gtid_set_parse_previous(&d->prev, e->body, e->body_len, &d->err)
                     : cdc__gtid_set_parse_maria_list(&d->prev, e->body, e->body_len, &d->err);
        d->prev_ok = rc == CDC_OK;
        return rc;
    }
    case CDC_EV_INTVAR: case CDC_EV_RAND: {
        size_t need = type == CDC_EV_INTVAR ? 9 : 16;
        if (e->body_len < need)
            return cdc__err_set(&d->err, CDC_ERR_CORRUPT, "%zu-byte body, need %zu",
                                e->body_len, need);
        return CDC_OK;
    }
    case CDC_EV_ROWS_QUERY: case CDC_EV_INCIDENT: {
        /* ROWS_QUERY: a length byte (ignored by servers) then the text;
         * INCIDENT: a 2-byte number, then a length-prefixed message */
        cdc__reader r = cdc__rd(e->body, e->body_len);
        if (type == CDC_EV_INCIDENT) {
            cdc__rd_u16(&r);
            uint8_t l = cdc__rd_u8(&r);
            cdc__rd_skip(&r, l);
        } else {
            cdc__rd_skip(&r, 1);
        }
        if (r.bad) return cdc__err_set(&d->err, CDC_ERR_CORRUPT, "truncated %zu-byte body",
                                       e->body_len);
        return CDC_OK;
    }
    case CDC_EV_MARIA_START_ENCRYPTION:
        return cdc__err_set(&d->err, CDC_ERR_ENCRYPTED,
                            "MariaDB encrypted binlog (START_ENCRYPTION): the events that follow "
                            "cannot be read without the server's encryption key");
    default:
        if (cdc__rows_is_rows_event(type)) return do_rows(d, e, rowidx);
        return CDC_OK; /* delivered through the event callback only */
    }
    return CDC_OK;
}

/* Decodes one whole event at ev (len bytes). Inner events of a payload
 * carry no checksum and report the payload's position. */
static int dispatch(cdc_decoder *d, const uint8_t *ev, size_t len, uint64_t off, bool inner,
                    uint64_t *rowidx)
{
    cdc_event e;
    memset(&e, 0, sizeof e);
    cdc__event_header(ev, &e.h);
    int type = e.h.type;
    size_t hl = d->fde.header_len;
    bool crc = !inner && d->fde.checksum_alg == CDC__CHECKSUM_CRC32;

    if (!inner && type == CDC_EV_FORMAT_DESCRIPTION) {
        cdc__fde f;
        if (cdc__fde_parse(&f, ev, len, &d->err)) return fail_at(d, off, type, d->err.code);
        d->fde = f;
        d->have_fde = true;
        hl = f.header_len;
        crc = f.checksum_alg == CDC__CHECKSUM_CRC32;
    } else if (!inner && !d->have_fde && d->mode == CDC_DECODER_FILE) {
        if (type == CDC_EV_START_V3 && len >= CDC__EV_HEADER_LEN + 2) {
            uint16_t v = cdc__le16(ev + CDC__EV_HEADER_LEN);
            if (v < 2) {
                cdc__err_set(&d->err, CDC_ERR_UNSUPPORTED,
                             "binlog version %u (MySQL 3.23) is not supported", v);
                return fail_at(d, off, type, CDC_ERR_UNSUPPORTED);
            }
        } else {
            cdc__err_set(&d->err, CDC_ERR_CORRUPT,
                         "first event is type %d, not FORMAT_DESCRIPTION or START_V3", type);
            return fail_at(d, off, type, CDC_ERR_CORRUPT);
        }
    } else if (!inner && d->fde.checksum_alg == CDC__CHECKSUM_UNDEF && len >= hl + 4 &&
               cdc__event_crc_ok(ev, len)) {
        crc = true; /* stream events before the FDE (the fake ROTATE) may carry one */
    }
    if (len < hl + (crc ? 4u : 0u)) {
        cdc__err_set(&d->err, CDC_ERR_CORRUPT, "event size %zu is below the header size %zu", len,
                     hl + (crc ? 4u : 0u));
        return fail_at(d, off, type, CDC_ERR_CORRUPT);
    }
    if (crc && d->verify && !cdc__event_crc_ok(ev, len)) {
        cdc__err_set(&d->err, CDC_ERR_CHECKSUM, "CRC32 mismatch (stored %08" PRIx32 ")",
                     cdc__le32(ev + len - 4));
        return fail_at(d, off, type, CDC_ERR_CHECKSUM);
    }
    e.raw = ev;
    e.raw_len = len;
    e.body = ev + hl;
    e.body_len = len - hl - (crc ? 4 : 0);
    e.file = d->file.len ? (const char *)d->file.data : "";
    e.jfile = d->file.len ? (cdc_bytes){d->jfile.data, d->jfile.len} : (cdc_bytes){NULL, 0};
    e.offset = off;
    e.inner = inner;
    e.unknown = cdc__event_type_name(type) == NULL || type == 0;
    e.gtid = d->gtid;
    d->nevents++;

    /* GTID events name the transaction they start: decode them before the
     * event callback so that it sees the new GTID. */
    bool early = type == CDC_EV_GTID || type == CDC_EV_ANONYMOUS_GTID ||
                 type == CDC_EV_GTID_TAGGED || type == CDC_EV_MARIA_GTID;
    /* GTID sets too, so that the callback can read the parsed set
     * (cdc__decoder_previous_gtids); a parse failure is still reported
     * after the callback, as for every other event. */
    bool set = type == CDC_EV_PREVIOUS_GTIDS || type == CDC_EV_MARIA_GTID_LIST;
    int rc = CDC_OK, set_rc = set ? do_event(d, &e, rowidx) : CDC_OK;
    if (early && (rc = do_event(d, &e, rowidx)) != CDC_OK) goto fail;
    if (d->event_cb) {
        rc = callback_rc(d, d->event_cb(&e, d->event_ud), off, type);
        if (rc) return rc;
    }
    if ((rc = set ? set_rc : early ? CDC_OK : do_event(d, &e, rowidx)) != CDC_OK) goto fail;
    return CDC_OK;
fail:
    if (rc == CDC_ERR_CALLBACK || d->err.code == CDC_ERR_CALLBACK) return rc;
    return fail_at(d, off, type, d->err.code ? d->err.code : rc);
}

/* ---- TRANSACTION_PAYLOAD streaming ------------------------------------- */

/* Frames and dispatches whole inner events from the decompressed bytes,
 * decompressing more from `in` as needed. Returns input bytes used. */
static ptrdiff_t pl_push(cdc_decoder *d, const uint8_t *in, size_t n)
{
    const uint8_t *p = in;
    size_t left = n;
    size_t hl = d->fde.header_len;
    for (;;) {
        for (;;) {
            size_t avail = d->pl.out.len - d->pl.out_off;
            if (avail < hl || d->paused) break; /* before any arithmetic on a buffer that may be NULL */
            const uint8_t *q = d->pl.out.data + d->pl.out_off;
            uint32_t sz = cdc__le32(q + 9);
            if (sz < hl || sz > d->max_event) {
                cdc__err_set(&d->err, CDC_ERR_CORRUPT, "inner event of %s has size %" PRIu32,
                             type_name(q[4]), sz);
                return fail_at(d, d->pl_offset, CDC_EV_TRANSACTION_PAYLOAD, CDC_ERR_CORRUPT);
            }
            if (avail < sz) break;
            int rc = dispatch(d, q, sz, d->pl_offset, true, &d->pl_rows);
            d->pl.out_off += sz;
            if (rc) return rc;
        }
        if (d->paused) break;
        cdc__payload_compact(&d->pl);
        if (left == 0 && !d->pl.flushing) break;
        ptrdiff_t got = cdc__payload_step(&d->pl, &p, &left, &d->err);
        if (got < 0) return fail_at(d, d->pl_offset, CDC_EV_TRANSACTION_PAYLOAD, (int)got);
        if (got == 0 && left == 0) break;
    }
    size_t used = n - left;
    if (used) d->pl_crc = cdc__crc32(d->pl_crc, in, used);
    return (ptrdiff_t)used;
}

/* The header and payload fields are in d->ev: announce the event and
 * start the stream with whatever compressed bytes came along. */
static int pl_start(cdc_decoder *d, const cdc__payload_fields *pf, size_t hl)
{
    cdc_event e;
    memset(&e, 0, sizeof e);
    cdc__event_header(d->ev.data, &e.h);
    d->pl_hdr = e.h;
    e.raw = d->ev.data;
    e.raw_len = hl + pf->fields_len;
    e.body = d->ev.data + hl;
    e.body_len = pf->fields_len;
    e.file = d->file.len ? (const char *)d->file.data : "";
    e.jfile = d->file.len ? (cdc_bytes){d->jfile.data, d->jfile.len} : (cdc_bytes){NULL, 0};
    e.offset = d->ev_offset;
    e.gtid = d->gtid;
    d->nevents++;
    d->pl_offset = d->ev_offset;
    d->pl_rows = 0;
    if (d->event_cb) {
        int rc = callback_rc(d, d->event_cb(&e, d->event_ud), e.offset, e.h.type);
        if (rc) return rc;
    }
    if (cdc__payload_begin(&d->pl, (int)pf->compression, &d->err))
        return fail_at(d, d->ev_offset, CDC_EV_TRANSACTION_PAYLOAD, d->err.code);
    size_t body_end = e.h.size - d->pl_crc_len;
    if (hl + pf->fields_len + pf->payload_size != body_end) {
        cdc__err_set(&d->err, CDC_ERR_CORRUPT,
                     "payload size %" PRIu64 " does not fill the %" PRIu32 "-byte event",
                     pf->payload_size, e.h.size);
        return fail_at(d, d->ev_offset, CDC_EV_TRANSACTION_PAYLOAD, CDC_ERR_CORRUPT);
    }
    d->pl_crc = cdc__crc32(0, d->ev.data, hl + pf->fields_len);
    d->pl_left = pf->payload_size;
    d->pl_tail_n = 0;
    /* Compressed bytes already gathered: keep them in ev and push from there. */
    d->phase = P_PL_BODY;
    return CDC_OK;
}

/* ---- framing ----------------------------------------------------------- */

static int bad_size(cdc_decoder *d, uint32_t size, int type)
{
    if (size > d->max_event) {
        cdc__err_set(&d->err, CDC_ERR_TOO_LARGE, "event size %" PRIu32 " exceeds the limit %zu",
                     size, d->max_event);
        return fail_at(d, d->ev_offset, type, CDC_ERR_TOO_LARGE);
    }
    cdc__err_set(&d->err, CDC_ERR_CORRUPT, "event size %" PRIu32 " is below the %u-byte header",
                 size, d->fde.header_len);
    return fail_at(d, d->ev_offset, type, CDC_ERR_CORRUPT);
}

static uint64_t event_offset(cdc_decoder *d, const uint8_t *hdr, uint64_t fallback)
{
    /* a heartbeat's log_pos is the sender's position, not this event's end */
    if (d->mode == CDC_DECODER_EVENTS && hdr[4] != CDC_EV_HEARTBEAT &&
        hdr[4] != CDC_EV_HEARTBEAT_V2) {
        uint32_t size = cdc__le32(hdr + 9), pos = cdc__le32(hdr + 13);
        if (pos >= size && pos != 0) return pos - size;
    }
    return fallback;
}

static int gather(cdc_decoder *d, const uint8_t *in, size_t k)
{
    if (cdc__buf_append(&d->ev, in, k)) {
        cdc__err_set(&d->err, CDC_ERR_NOMEM, "out of memory gathering an event");
        return fail_at(d, d->ev_offset, d->ev.len > 4 ? d->ev.data[4] : 0, CDC_ERR_NOMEM);
    }
    return CDC_OK;
}

/* Pushes compressed bytes gathered in d->ev (from d->pl_from on). */
static int pl_push_gathered(cdc_decoder *d)
{
    size_t extra = d->ev.len - d->pl_from;
    if (extra > d->pl_left) extra = (size_t)d->pl_left;
    if (extra) {
        ptrdiff_t u = pl_push(d, d->ev.data + d->pl_from, extra);
        if (u < 0) return (int)u;
        d->pl_from += (size_t)u;
        d->pl_left -= (uint64_t)u;
        if ((size_t)u < extra) return CDC_OK; /* paused; resume from the buffer */
    }
    cdc__buf_reset(&d->ev);
    d->pl_from = 0;
    return CDC_OK;
}

ptrdiff_t cdc_decoder_feed(cdc_decoder *d, const uint8_t *p, size_t n)
{
    if (d->err.code) return d->err.code;
    if (!p && n) return CDC_ERR_INVALID;
    d->started = true;
    d->paused = false;
    if (d->names_pending) {
        int rc = resume_names(d);
        if (rc) return rc;
        if (d->paused) return 0;
    }
    size_t used = 0;
    const size_t HL = CDC__EV_HEADER_LEN;
    while (!d->paused) {
        size_t avail = n - used;
        const uint8_t *in = p ? p + used : p; /* finish() feeds (NULL, 0) */
        switch (d->phase) {
        case P_MAGIC: {
            if (avail == 0) return (ptrdiff_t)used;
            size_t k = 4 - d->magic_n < avail ? 4 - d->magic_n : avail;
            memcpy(d->magic + d->magic_n, in, k);
            d->magic_n += k;
            used += k;
            d->offset += k;
            if (d->magic_n < 4) break;
            if (memcmp(d->magic, "\xfe" "bin", 4) == 0) {
                d->phase = P_EVENT;
            } else if (memcmp(d->magic, "\xfd" "bin", 4) == 0) {
                cdc__err_set(&d->err, CDC_ERR_ENCRYPTED,
                             "MySQL encrypted binlog file (magic fd 62 69 6e): it cannot be read "
                             "without the keyring's file key");
                return fail_at(d, 0, 0, CDC_ERR_ENCRYPTED);
            } else {
                cdc__err_set(&d->err, CDC_ERR_CORRUPT,
                             "not a binlog file: magic %02x %02x %02x %02x, expected fe 62 69 6e",
                             d->magic[0], d->magic[1], d->magic[2], d->magic[3]);
                return fail_at(d, 0, 0, CDC_ERR_CORRUPT);
            }
            break;
        }
        case P_EVENT: {
            if (avail == 0) return (ptrdiff_t)used;
            if (d->ev.len == 0) {
                d->ev_offset = d->offset;
                if (avail >= HL) {
                    uint32_t size = cdc__le32(in + 9);
                    d->ev_offset = event_offset(d, in, d->offset);
                    if (size < HL || size > d->max_event) return bad_size(d, size, in[4]);
                    if (avail >= size && in[4] != CDC_EV_TRANSACTION_PAYLOAD) {
                        uint64_t rows = 0;
                        d->offset += size; /* before dispatch: a ROTATE may reset it */
                        used += size;
                        int rc = dispatch(d, in, size, d->ev_offset, false, &rows);
                        if (rc) return rc;
                        break;
                    }
                }
            }
            if (d->ev.len < HL) {
                size_t k = HL - d->ev.len < avail ? HL - d->ev.len : avail;
                int rc = gather(d, in, k);
                if (rc) return rc;
                used += k;
                d->offset += k;
                if (d->ev.len < HL) return (ptrdiff_t)used;
                uint32_t size = cdc__le32(d->ev.data + 9);
                d->ev_offset = event_offset(d, d->ev.data, d->ev_offset);
                if (size < HL || size > d->max_event) return bad_size(d, size, d->ev.data[4]);
                if (d->ev.data[4] == CDC_EV_TRANSACTION_PAYLOAD) {
                    d->pl_crc_len = d->fde.checksum_alg == CDC__CHECKSUM_CRC32 ? 4 : 0;
                    if (size < d->fde.header_len + d->pl_crc_len) return bad_size(d, size, CDC_EV_TRANSACTION_PAYLOAD);
                    d->phase = P_PL_FIELDS;
                    break;
                }
            } else {
                uint32_t size = cdc__le32(d->ev.data + 9);
                size_t k = size - d->ev.len < avail ? size - d->ev.len : avail;
                int rc = gather(d, in, k);
                if (rc) return rc;
                used += k;
                d->offset += k;
            }
            if (d->ev.len == cdc__le32(d->ev.data + 9)) {
                uint64_t rows = 0;
                int rc = dispatch(d, d->ev.data, d->ev.len, d->ev_offset, false, &rows);
                cdc__buf_reset(&d->ev);
                if (rc) return rc;
            }
            break;
        }
        case P_PL_FIELDS: {
            size_t hl = d->fde.header_len;
            uint32_t size = cdc__le32(d->ev.data + 9);
            size_t body_end = size - d->pl_crc_len;
            if (d->ev.len < hl) { /* header longer than 19 bytes (Google builds) */
                if (avail == 0) return (ptrdiff_t)used;
                size_t k = hl - d->ev.len < avail ? hl - d->ev.len : avail;
                int rc = gather(d, in, k);
                if (rc) return rc;
                used += k;
                d->offset += k;
                break;
            }
            cdc__payload_fields pf;
            int rc = cdc__payload_fields_parse(d->ev.data + hl, d->ev.len - hl, &pf, &d->err);
            if (rc == CDC_OK) {
                rc = pl_start(d, &pf, hl);
                if (rc) return rc;
                d->pl_from = hl + pf.fields_len;
                rc = pl_push_gathered(d);
                if (rc) return rc;
                if (d->pl_left == 0 && d->ev.len == 0) d->phase = P_PL_TAIL;
                break;
            }
            if (rc != CDC_ERR_TRUNCATED) return fail_at(d, d->ev_offset, CDC_EV_TRANSACTION_PAYLOAD, rc);
            if (d->ev.len >= body_end) {
                cdc__err_set(&d->err, CDC_ERR_CORRUPT, "payload fields run past the body");
                return fail_at(d, d->ev_offset, CDC_EV_TRANSACTION_PAYLOAD, CDC_ERR_CORRUPT);
            }
            if (avail == 0) return (ptrdiff_t)used;
            size_t k = body_end - d->ev.len;
            if (k > avail) k = avail;
            if (k > CDC__PAYLOAD_FIELDS_MAX) k = CDC__PAYLOAD_FIELDS_MAX;
            rc = gather(d, in, k);
            if (rc) return rc;
            used += k;
            d->offset += k;
            break;
        }
        case P_PL_BODY: {
            if (d->ev.len > 0) { /* bytes gathered with the fields, left by a pause */
                int rc = pl_push_gathered(d);
                if (rc) return rc;
                if (d->ev.len > 0) break;
            }
            if (d->pl_left == 0) { d->phase = P_PL_TAIL; break; }
            size_t k = d->pl_left < avail ? (size_t)d->pl_left : avail;
            ptrdiff_t u = pl_push(d, in, k);
            if (u < 0) return u;
            used += (size_t)u;
            d->offset += (size_t)u;
            d->pl_left -= (uint64_t)u;
            if (d->pl_left == 0) { d->phase = P_PL_TAIL; break; }
            if (!d->paused && (size_t)u == avail) return (ptrdiff_t)used;
            break;
        }
        case P_PL_TAIL: {
            if (d->pl_tail_n < d->pl_crc_len) {
                if (avail == 0) return (ptrdiff_t)used;
                size_t k = d->pl_crc_len - d->pl_tail_n < avail ? d->pl_crc_len - d->pl_tail_n
                                                                 : avail;
                memcpy(d->pl_tail + d->pl_tail_n, in, k);
                d->pl_tail_n += k;
                used += k;
                d->offset += k;
                break;
            }
            ptrdiff_t u = pl_push(d, NULL, 0); /* drain what zstd still holds */
            if (u < 0) return u;
            if (d->paused) break;
            if (cdc__payload_end(&d->pl, &d->err))
                return fail_at(d, d->pl_offset, CDC_EV_TRANSACTION_PAYLOAD, d->err.code);
            if (d->pl.out.len != d->pl.out_off) {
                cdc__err_set(&d->err, CDC_ERR_CORRUPT,
                             "payload ends inside an inner event (%zu bytes left over)",
                             d->pl.out.len - d->pl.out_off);
                return fail_at(d, d->pl_offset, CDC_EV_TRANSACTION_PAYLOAD, CDC_ERR_CORRUPT);
            }
            if (d->pl_crc_len && d->verify && (uint32_t)d->pl_crc != cdc__le32(d->pl_tail)) {
                cdc__err_set(&d->err, CDC_ERR_CHECKSUM,
                             "CRC32 mismatch (stored %08" PRIx32 ", computed %08" PRIx32 ")",
                             cdc__le32(d->pl_tail), (uint32_t)d->pl_crc);
                return fail_at(d, d->pl_offset, CDC_EV_TRANSACTION_PAYLOAD, CDC_ERR_CHECKSUM);
            }
            cdc__buf_reset(&d->ev);
            d->phase = P_EVENT;
            break;
        }
        }
    }
    return (ptrdiff_t)used;
}

int cdc_decoder_finish(cdc_decoder *d)
{
    if (d->err.code) return d->err.code;
    bool inside = (d->phase == P_MAGIC && d->magic_n > 0 && d->magic_n < 4) ||
                  (d->phase == P_EVENT && d->ev.len > 0) || d->phase >= P_PL_FIELDS;
    /* Events decoded from bytes already consumed may wait behind a pause:
     * deliver them; a pause means nothing once the input has ended. */
    if (d->phase >= P_PL_FIELDS) {
        do {
            ptrdiff_t r = cdc_decoder_feed(d, NULL, 0);
            if (r < 0) return (int)r;
        } while (d->paused);
        inside = d->phase != P_EVENT || d->ev.len > 0;
    }
    if (!inside) return CDC_OK;
    if (d->phase == P_MAGIC)
        cdc__err_set(&d->err, CDC_ERR_TRUNCATED, "input ends inside the 4-byte magic");
    else if (d->ev.len >= CDC__EV_HEADER_LEN || d->phase >= P_PL_FIELDS)
        cdc__err_set(&d->err, CDC_ERR_TRUNCATED, "input ends inside a %" PRIu32 "-byte event",
                     d->phase >= P_PL_BODY ? d->pl_hdr.size : cdc__le32(d->ev.data + 9));
    else
        cdc__err_set(&d->err, CDC_ERR_TRUNCATED, "input ends inside an event header (%zu of 19 bytes)",
                     d->ev.len);
    int type = d->ev.len > 4 ? d->ev.data[4] : d->phase >= P_PL_FIELDS ? CDC_EV_TRANSACTION_PAYLOAD : 0;
    return fail_at(d, d->ev_offset, type, CDC_ERR_TRUNCATED);
}

int cdc__change_snapshot_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present,
                             const char *file, uint64_t offset, uint64_t row,
                             int (*cb)(const cdc_change *c, void *ud), void *ud)
{
    cdc_event e;
    memset(&e, 0, sizeof e);
    e.file = file ? file : "";
    e.offset = offset;
    e.gtid = "";
    struct cdc_change c = {
        .op = 'r', .t = t, .ev = &e, .after = vals, .pa = present, .ncols = t->ncols,
        .gtid = "", .row = row,
    };
    return cb(&c, ud);
}

int cdc__change_synth(const cdc__change_spec *spec, int (*cb)(const cdc_change *c, void *ud), void *ud)
{
    cdc_event e;
    memset(&e, 0, sizeof e);
    e.file = spec->file ? spec->file : "";
    e.offset = spec->offset;
    e.gtid = spec->gtid ? spec->gtid : "";
    e.h.server_id = spec->server_id;
    struct cdc_change c = {
        .op = spec->op, .t = spec->t, .ev = &e, .before = spec->before, .after = spec->after, .pb = spec->pb,
        .pa = spec->pa, .ncols = spec->t->ncols, .row = spec->row, .gtid = e.gtid, .ts_ms = spec->ts_ms,
    };
    return cb(&c, ud);
}

/* ---- views ------------------------------------------------------------- */

int cdc_event_type_of(const cdc_event *ev) { return ev->h.type; }
const char *cdc_event_name(const cdc_event *ev) { return type_name(ev->h.type); }
const char *cdc_event_type_name(int type) { return type_name(type); }
uint32_t cdc_event_timestamp(const cdc_event *ev) { return ev->h.timestamp; }
uint32_t cdc_event_server_id(const cdc_event *ev) { return ev->h.server_id; }
uint32_t cdc_event_log_pos(const cdc_event *ev) { return ev->h.log_pos; }
uint32_t cdc_event_size(const cdc_event *ev) { return ev->h.size; }
uint16_t cdc_event_flags(const cdc_event *ev) { return ev->h.flags; }
const char *cdc_event_file(const cdc_event *ev) { return ev->file; }
uint64_t cdc_event_offset(const cdc_event *ev) { return ev->offset; }
cdc_bytes cdc_event_raw(const cdc_event *ev) { return (cdc_bytes){ev->raw, ev->raw_len}; }
cdc_bytes cdc_event_body(const cdc_event *ev) { return (cdc_bytes){ev->body, ev->body_len}; }
int cdc_event_is_unknown(const cdc_event *ev) { return ev->unknown; }
int cdc_event_is_inner(const cdc_event *ev) { return ev->inner; }
const char *cdc_event_gtid(const cdc_event *ev) { return ev->gtid; }

/* QUERY_EVENT's post-header starts with the thread id (4 bytes LE). */
uint32_t cdc_event_thread_id(const cdc_event *ev)
{
    if (ev->h.type != CDC_EV_QUERY || ev->body_len < 4) return 0;
    return cdc__le32(ev->body);
}

uint64_t cdc_table_id(const cdc_table *t) { return t->id; }
const char *cdc_table_db(const cdc_table *t) { return t->db; }
const char *cdc_table_name(const cdc_table *t) { return t->name; }
size_t cdc_table_column_count(const cdc_table *t) { return t->ncols; }
const char *cdc_table_column_name(const cdc_table *t, size_t i)
{
    return i < t->ncols ? t->col_names[i] : NULL;
}
int cdc_table_column_type(const cdc_table *t, size_t i)
{
    return i < t->ncols ? t->cols[i].real_type : -1;
}
unsigned cdc_table_column_meta(const cdc_table *t, size_t i)
{
    return i < t->ncols ? t->cols[i].meta : 0;
}
int cdc_table_column_unsigned(const cdc_table *t, size_t i)
{
    if (i >= t->ncols || !(t->cols[i].flags & CDC_COLF_SIGNEDNESS_KNOWN)) return -1;
    return (t->cols[i].flags & CDC_COLF_UNSIGNED) ? 1 : 0;
}
int cdc_table_column_nullable(const cdc_table *t, size_t i)
{
    return i < t->ncols && (t->cols[i].flags & CDC_COLF_NULLABLE);
}
int cdc_table_column_is_pk(const cdc_table *t, size_t i)
{
    return i < t->ncols && (t->cols[i].flags & CDC_COLF_PRIMARY_KEY);
}
unsigned cdc_table_column_charset(const cdc_table *t, size_t i)
{
    return i < t->ncols ? t->cols[i].charset : 0;
}
const cdc_column *cdc_table_column(const cdc_table *t, size_t i)
{
    return i < t->ncols ? &t->cols[i] : NULL;
}

char cdc_change_op(const cdc_change *c) { return c->op; }
const cdc_table *cdc_change_table(const cdc_change *c) { return c->t; }
const cdc_event *cdc_change_event(const cdc_change *c) { return c->ev; }
static const cdc_value *settled_value(const cdc_change *c, bool after, size_t i);

/* A pending value made (out of line, so that the usual call keeps no
 * frame). */
static __attribute__((noinline)) const cdc_value *made_value(const cdc_change *c, const cdc_value *vals,
                                                             const uint8_t *present, size_t i)
{
    cdc__rows_materialize(c->t, i, (cdc_value *)&vals[i], (uint8_t *)&present[i]);
    return &vals[i];
}

/* A value of a row image is made the first time it is asked for
 * (cdc__rows_image_lazy); the arrays are the decoder's own. */
static inline const cdc_value *image_value(const cdc_change *c, bool after, size_t i)
{
    const cdc_value *vals = after ? c->after : c->before;
    const uint8_t *present = after ? c->pa : c->pb;
    if (__builtin_expect(!vals, 0)) /* no such image, or one read as cells alone */
        return (after ? c->unsettled_a : c->unsettled_b) ? settled_value(c, after, i) : NULL;
    if (i >= c->ncols) return NULL;
    uint8_t state = present[i];
    if (__builtin_expect(state == 1, 1)) return &vals[i];
    if (!state) return NULL;
    return made_value(c, vals, present, i);
}
/* image_value of an image read as cells alone: settled first (out of
 * line, so that the usual call keeps no frame) */
static __attribute__((noinline)) const cdc_value *settled_value(const cdc_change *c, bool after, size_t i)
{
    cdc__change_settle_images(c);
    return image_value(c, after, i);
}
const cdc_value *cdc_change_before(const cdc_change *c, size_t i) { return image_value(c, false, i); }
const cdc_value *cdc_change_after(const cdc_change *c, size_t i) { return image_value(c, true, i); }

/* decoder.h */
void cdc__change_settle_images(const cdc_change *c)
{
    cdc_change *m = (cdc_change *)c; /* decoder-owned */
    if (c->unsettled_b) {
        cdc__rows_cells_settle(c->t, c->ncols, c->unsettled_b, c->rows_end, c->own_vb, c->own_pb);
        m->before = c->own_vb;
        m->pb = c->own_pb;
        m->unsettled_b = NULL;
    }
    if (c->unsettled_a) {
        cdc__rows_cells_settle(c->t, c->ncols, c->unsettled_a, c->rows_end, c->own_va, c->own_pa);
        m->after = c->own_va;
        m->pa = c->own_pa;
        m->unsettled_a = NULL;
    }
}

/* The first version of cdc_cell, the smallest stride a caller may use. */
#define CELL_V1_SIZE (offsetof(cdc_cell, v) + sizeof(((cdc_cell *)0)->v))
_Static_assert(CELL_V1_SIZE == sizeof(cdc_cell), "cdc_cell grew: CELL_V1_SIZE must stay version 1's size");

static int cells_fail(int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int cells_fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* The error of a change asked for an image it does not have (an insert's
 * before image, a delete's after image), named for the call fn. */
static int no_image_fail(const cdc_change *c, int image, const char *fn, char *err, size_t errlen)
{
    return cells_fail(CDC_ERR_STATE, err, errlen, "%s: %s ('%c') has no %s image", fn,
                      c->op == 'c'   ? "an insert"
                      : c->op == 'd' ? "a delete"
                      : c->op == 'r' ? "a snapshot row"
                                     : "this change",
                      c->op, image == CDC_IMAGE_AFTER ? "after" : "before");
}

/* cdc_change_cells past its usual call: the checks, and the cells of a
 * range or of an image not made as cells. Out of line, so that the usual
 * call needs no stack frame. */
static __attribute__((noinline)) int change_cells(const cdc_change *c, int image, size_t first, size_t count,
                                                  cdc_cell *cells, size_t cell_size, char *err, size_t errlen)
{
    if (!c || (!cells && count))
        return cells_fail(CDC_ERR_INVALID, err, errlen, "cdc_change_cells: %s is NULL", c ? "cells" : "change");
    cdc__change_settle(c);
    if (image != CDC_IMAGE_BEFORE && image != CDC_IMAGE_AFTER)
        return cells_fail(CDC_ERR_INVALID, err, errlen,
                          "cdc_change_cells: image %d is neither CDC_IMAGE_BEFORE (0) nor CDC_IMAGE_AFTER (1)",
                          image);
    if (cell_size < CELL_V1_SIZE)
        return cells_fail(CDC_ERR_INVALID, err, errlen,
                          "cdc_change_cells: cell_size %zu is smaller than a cdc_cell (%zu bytes): pass "
                          "sizeof(cdc_cell)", cell_size, (size_t)CELL_V1_SIZE);
    size_t ncols = c->t->ncols;
    if (first > ncols || count > ncols - first)
        return cells_fail(CDC_ERR_INVALID, err, errlen,
                          "cdc_change_cells: columns %zu..%zu asked for, %s.%s has %zu (0..%zu)", first,
                          count ? first + count - 1 : first, c->t->db, c->t->name, ncols,
                          ncols ? ncols - 1 : 0);
    const cdc_value *vals = image == CDC_IMAGE_AFTER ? c->after : c->before;
    const uint8_t *present = image == CDC_IMAGE_AFTER ? c->pa : c->pb;
    if (!vals)
        return no_image_fail(c, image, "cdc_change_cells", err, errlen);
    if (first == 0 && count >= c->ncols) ((cdc_change *)c)->cells_read = CDC__READ_CELLS; /* decoder-owned */
    const cdc_cell *made = image == CDC_IMAGE_AFTER ? c->ca : c->cb;
    if (made && cell_size == sizeof(cdc_cell) && first + count <= c->ncols) {
        memcpy(cells, made + first, count * sizeof *cells);
        return CDC_OK;
    }
    cdc__rows_cells(c->t, vals, present, c->ncols, first, count, cells, cell_size);
    return CDC_OK;
}

int cdc_change_cells(const cdc_change *c, int image, size_t first, size_t count, cdc_cell *cells,
                     size_t cell_size, char *err, size_t errlen)
{
    /* the usual call: a whole image the decoder made as cells (c->ncols
     * <= the table's columns, so none of change_cells' checks can fail) */
    if (c && cells && cell_size == sizeof(cdc_cell) && first == 0 && count == c->ncols) {
        const cdc_cell *made = image == CDC_IMAGE_AFTER ? c->ca : image == CDC_IMAGE_BEFORE ? c->cb : NULL;
        if (made) {
            ((cdc_change *)c)->cells_read = CDC__READ_CELLS; /* decoder-owned */
            memcpy(cells, made, count * sizeof *cells);
            return CDC_OK;
        }
    }
    return change_cells(c, image, first, count, cells, cell_size, err, errlen);
}

/* cdc_change_cells_view past its usual call: the checks, and an image the
 * decoder did not make as cells of every one of the table's columns. */
static __attribute__((noinline)) int change_cells_view(const cdc_change *c, int image, const cdc_cell **cells,
                                                       size_t *ncells, char *err, size_t errlen)
{
    if (cells) *cells = NULL;
    if (ncells) *ncells = 0;
    if (!c || !cells || !ncells)
        return cells_fail(CDC_ERR_INVALID, err, errlen, "cdc_change_cells_view: %s is NULL",
                          !c ? "change" : !cells ? "cells" : "ncells");
    cdc__change_settle(c);
    if (image != CDC_IMAGE_BEFORE && image != CDC_IMAGE_AFTER)
        return cells_fail(CDC_ERR_INVALID, err, errlen,
                          "cdc_change_cells_view: image %d is neither CDC_IMAGE_BEFORE (0) nor CDC_IMAGE_AFTER (1)",
                          image);
    const cdc_value *vals = image == CDC_IMAGE_AFTER ? c->after : c->before;
    const uint8_t *present = image == CDC_IMAGE_AFTER ? c->pa : c->pb;
    if (!vals)
        return no_image_fail(c, image, "cdc_change_cells_view", err, errlen);
    ((cdc_change *)c)->cells_read = CDC__READ_CELLS; /* decoder-owned: a whole image read as cells */
    struct cdc_table *t = (struct cdc_table *)c->t; /* its view cells are the decoder's scratch */
    size_t n = t->ncols;
    const cdc_cell *made = image == CDC_IMAGE_AFTER ? c->ca : c->cb;
    if (made && c->ncols == n) {
        *cells = made;
        *ncells = n;
        return CDC_OK;
    }
    if (!n) return CDC_OK;
    if (!t->view_cells) {
        t->view_cells = cdc__calloc(t->alloc, 2 * n, sizeof *t->view_cells);
        if (!t->view_cells)
            return cells_fail(CDC_ERR_NOMEM, err, errlen, "cdc_change_cells_view: out of memory for %zu cells of %s.%s",
                              n, t->db, t->name);
    }
    cdc_cell *out = t->view_cells + (image == CDC_IMAGE_AFTER ? n : 0);
    if (made) { /* the rows event carries fewer columns than the table: the rest are absent */
        memcpy(out, made, c->ncols * sizeof *out);
        for (size_t i = c->ncols; i < n; i++) out[i] = (cdc_cell){.flags = CDC_CELL_ABSENT};
    } else {
        cdc__rows_cells(t, vals, present, c->ncols, 0, n, out, sizeof *out);
    }
    *cells = out;
    *ncells = n;
    return CDC_OK;
}

int cdc_change_cells_view(const cdc_change *c, int image, const cdc_cell **cells, size_t *ncells, char *err,
                          size_t errlen)
{
    /* the usual call: a whole image the decoder made as cells, of every
     * one of the table's columns */
    if (c && cells && ncells && c->ncols == c->t->ncols) {
        const cdc_cell *made = image == CDC_IMAGE_AFTER ? c->ca : image == CDC_IMAGE_BEFORE ? c->cb : NULL;
        if (made) {
            ((cdc_change *)c)->cells_read = CDC__READ_CELLS; /* decoder-owned */
            *cells = made;
            *ncells = c->ncols;
            return CDC_OK;
        }
    }
    return change_cells_view(c, image, cells, ncells, err, errlen);
}

/* decoder.h. pb/pa point into the decoder's own arrays, rebuilt for every row. */
void cdc__change_hide_columns(const cdc_change *c, const uint8_t *mask)
{
    cdc__change_settle(c); /* from the cells, before they are hidden */
    for (size_t i = 0; i < c->ncols; i++) {
        if (!mask[i]) continue;
        if (c->pb) ((uint8_t *)c->pb)[i] = 0;
        if (c->pa) ((uint8_t *)c->pa)[i] = 0;
        if (c->cb) ((cdc_cell *)c->cb)[i] = (cdc_cell){.flags = CDC_CELL_ABSENT};
        if (c->ca) ((cdc_cell *)c->ca)[i] = (cdc_cell){.flags = CDC_CELL_ABSENT};
    }
}
const char *cdc_change_file(const cdc_change *c) { return c->ev->file; }
uint64_t cdc_change_offset(const cdc_change *c) { return c->ev->offset; }
uint64_t cdc_change_row(const cdc_change *c) { return c->row; }
const char *cdc_change_gtid(const cdc_change *c) { return c->gtid; }
uint32_t cdc_change_server_id(const cdc_change *c) { return c->ev->h.server_id; }
int64_t cdc_change_ts_ms(const cdc_change *c) { return c->ts_ms; }

const cdc_event *cdc_query_event(const cdc_query *q) { return q->ev; }
cdc_bytes cdc_query_db(const cdc_query *q) { return q->q.db; }
cdc_bytes cdc_query_sql(const cdc_query *q) { return q->q.sql; }
unsigned cdc_query_charset(const cdc_query *q) { return q->q.charset_client; }
uint32_t cdc_query_thread_id(const cdc_query *q) { return q->q.thread_id; }
uint16_t cdc_query_error_code(const cdc_query *q) { return q->q.error_code; }
int cdc_query_is_ddl(const cdc_query *q)
{
    cdc_bytes sql = cdc_query_sql(q);
    return cdc__schema_is_ddl((const char *)sql.ptr, sql.len);
}
