/*
 * snapshot.c: the consistent initial snapshot (docs/snapshot.md).
 *
 * The caller's thread connects N worker sessions plus a coordinator,
 * reads the schema, opens a consistent snapshot on every worker at one
 * binlog point, then starts N threads. Each thread takes work items (a
 * table, or a primary-key range of a large one), reads them in keyset
 * chunks (or one streamed pass when there is no usable key) and packs
 * the text rows into batches on a bounded queue. The caller's thread
 * pops the batches, converts values (snapshot_values.c) and calls back,
 * so callbacks never run concurrently and a slow callback stalls the
 * readers instead of growing the queue.
 *
 * Pausing. The caller's side is resumable: a callback that returns
 * CDC_ERR_PAUSED (or a stop request) makes cdc__snap_run() return with
 * its place kept (the batch being delivered and the row in it). The
 * workers go on until the queue is full and then wait in push(), their
 * consistent-read transactions and half-read results open, so memory
 * stays at the queue's bound however long the pause lasts, and the next
 * cdc__snap_run() continues with the very next row.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "decoder.h"
#include "filter.h"
#include "position.h"
#include "replica.h"
#include "schema.h"
#include "snapprog.h"
#include "snapshot.h"

#define QUEUE_BATCHES_PER_WORKER 2
#define BATCH_ROWS 512
#define BATCH_BYTES (256u * 1024u)
/* MariaDB without RELOAD: times we reopen N snapshots hoping they all
 * land on the same binlog point before giving up. */
#define SAME_POINT_ATTEMPTS 50
/* Times the point is taken again when a captured table's definition
 * changed while it was being fixed. */
#define SCHEMA_ATTEMPTS 3

typedef struct snap_col {
    char *quoted;               /* `name` */
    char *charset, *collation;  /* names, NULL for non-text columns */
    int hint;                   /* CDC__SNAP_* */
    bool excluded;
    /* ENUM/SET whose labels from information_schema may have lost
     * characters: the servers show metadata in utf8mb3, so a 4-byte
     * character in a label reads as '?'. Such a column is also selected
     * as col+0 (index or bitmask) at this select position + 1 (0: not),
     * and the labels its rows use are repaired from their exact bytes. */
    size_t index_sel;
} snap_col;

typedef struct snap_table {
    struct cdc_table t;         /* as the row callback sees it */
    snap_col *sc;
    cdc_bytes **labels;         /* per column, NULL unless ENUM/SET */
    char **label_text;
    size_t *sel, nsel;          /* select position -> column index */
    size_t *key_sel, nkey;      /* key column k -> select position */
    cdc__snap_keycol *kc;
    bool pageable, has_key;
    char *select_sql;           /* SELECT ... FROM `db`.`t` */
    char *order_sql;            /* ORDER BY ... */
    uint64_t rows_est, rows_done;
    uint64_t chunks_done;
    size_t items_left;
    size_t item0, nitems;       /* its items: s->items[item0 .. item0+nitems), in key order */
    size_t nextra;              /* col+0 expressions after the columns */
    uint8_t **repaired;         /* label copies made by repair_labels() */
    uint64_t fp;                /* fingerprint of its definition (schema_fp) */
    size_t nrepaired;
} snap_table;

typedef struct snap_item {
    size_t table;
    bool has_lo, has_hi;
    int64_t lo, hi;             /* on the first key column: lo <= k0 < hi */
    uint64_t est;
    /* progress as the caller delivered it (CDC__SP_*), and for
     * CDC__SP_AFTER the escaped key of the last completed chunk's last row */
    int state;
    cdc__buf done_key;
    /* a resumed item: read from after this key (views into opts.resume) */
    const cdc_bytes *resume_key;
    size_t resume_nkey;
} snap_item;

typedef struct batch {
    struct batch *next;
    size_t table, item;
    uint32_t nrows;
    bool end_chunk, end_item;
    cdc__buf data;               /* per row: u32 length, then the text row */
    cdc__buf key;                /* end_chunk of a keyset chunk with rows: its last key, escaped */
} batch;

struct cdc__snap;
typedef struct cdc__snap snap;

typedef struct worker {
    snap *s;
    cdc__conn *conn;
    pthread_t thread;
    bool started;
    cdc__err err;
    batch *cur;                 /* batch being filled */
    snap_table *table;          /* of the item being read */
    size_t item_table;
    size_t item;                /* index of the item being read */
    cdc__buf lastkey;            /* key values of the last row, back to back */
    cdc_bytes *last;            /* views into lastkey */
    size_t last_cap;
    uint64_t chunk_n;           /* rows in the current chunk */
    int rc;
    cdc__err cb_err;            /* check_columns()' refusal (the query overwrites err) */
    size_t last_row;            /* offset of the last row in cur, SIZE_MAX: taken */
    cdc_bytes *vals;            /* take_last_key()'s split of it */
    size_t vals_cap;
} worker;

typedef struct cdc__snap {
    const cdc__snap_opts *o;    /* &opts */
    const cdc__snap_cbs *cb;    /* &cbs */
    cdc__snap_opts opts;
    cdc__snap_cbs cbs;
    const cdc_allocator *a;
    cdc__conn *c0;
    bool mariadb;
    snap_table *tables;
    size_t ntables, tables_done;
    snap_item *items;
    size_t *order;              /* items by size, largest first: the workers' order */
    size_t nitems, norder, next_item;
    /* figures for cdc_snapshot_progress */
    double t_open, rate_t0;
    uint64_t rows_run, rate_rows0;
    double rate;
    cdc__buf ck;                /* the progress text for the checkpoint callback */
    worker *w;
    size_t nw;
    /* the queue */
    pthread_mutex_t mu;
    pthread_cond_t nonempty, nonfull;
    batch *head, *tail, *free_list;
    size_t queued, cap;
    size_t running;
    atomic_bool abort; /* read without the mutex by workers */
    int err_code;
    cdc__err err;
    bool sync_ok;
    bool started;               /* worker threads were started */
    bool finished;              /* every row delivered, workers joined */
    /* the caller's side, kept across pauses */
    batch *cur;                 /* being delivered */
    size_t cur_off;             /* offset of its next row in cur->data */
    uint32_t cur_row;           /* index of that row */
    int cur_stage;              /* 0 rows, 1 progress, 2 checkpoint, 3 done with it */
    cdc_value *vals;
    uint8_t *present;
    cdc_bytes *texts;
    cdc__buf scratch;
} snap;

/* ---- small helpers ------------------------------------------------------ */

static void logf_(const snap *s, int level, const char *fmt, ...) CDC__PRINTF(3, 4);
static void logf_(const snap *s, int level, const char *fmt, ...)
{
    if (!s->cb || !s->cb->log) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->cb->log(level, CDC_OK, msg, s->cb->ud);
}

static bool stopped(const snap *s) { return s->o->stop && atomic_load(s->o->stop); }
static bool aborted(snap *s) { return atomic_load(&s->abort); }

static char *quote_ident(const cdc_allocator *a, const char *name)
{
    size_t n = strlen(name), k = 0;
    char *q = cdc__malloc(a, 2 * n + 3);
    if (!q) return NULL;
    q[k++] = '`';
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '`') q[k++] = '`';
        q[k++] = name[i];
    }
    q[k++] = '`';
    q[k] = 0;
    return q;
}

static char *dup(const cdc_allocator *a, const char *s) { return s ? cdc__strndup(a, s, strlen(s)) : NULL; }

static const char *rget(const cdc__result *r, size_t row, const char *col)
{
    int i = cdc__result_col(r, col);
    return i < 0 ? NULL : cdc__result_get(r, row, (size_t)i);
}

static uint64_t rnum(const cdc__result *r, size_t row, const char *col)
{
    const char *v = rget(r, row, col);
    uint64_t n;
    return v && cdc__parse_u64(v, strlen(v), &n) ? n : 0;
}

static int query_result(cdc__conn *c, const char *sql, cdc__result **out, cdc__err *err)
{
    int rc = cdc__conn_query_result(c, sql, out, err);
    if (rc) cdc__err_prefix(err, "snapshot: %.60s", sql);
    return rc;
}

static int exec(cdc__conn *c, const char *sql, cdc__err *err)
{
    int rc = cdc__conn_exec(c, sql, err);
    if (rc) cdc__err_prefix(err, "snapshot: %s", sql);
    return rc;
}

void cdc__snap_point_free(const cdc_allocator *a, cdc__snap_point *p)
{
    if (!p) return;
    cdc__free(a, p->file);
    cdc__free(a, p->gtid_set);
    p->file = p->gtid_set = NULL;
}

/* ---- schema ------------------------------------------------------------- */

static void table_free(const cdc_allocator *a, snap_table *t)
{
    for (size_t i = 0; i < t->t.ncols; i++) {
        if (t->sc) {
            cdc__free(a, t->sc[i].quoted);
            cdc__free(a, t->sc[i].charset);
            cdc__free(a, t->sc[i].collation);
        }
        if (t->t.col_names) cdc__free(a, t->t.col_names[i]);
        if (t->labels) cdc__free(a, t->labels[i]);
        if (t->label_text) cdc__free(a, t->label_text[i]);
    }
    for (size_t i = 0; i < t->nrepaired; i++) cdc__free(a, t->repaired[i]);
    cdc__free(a, t->repaired);
    cdc__free(a, t->sc);
    cdc__free(a, t->labels);
    cdc__free(a, t->label_text);
    cdc__free(a, t->t.col_names);
    cdc__free(a, t->t.cols);
    cdc__free(a, t->t.db);
    cdc__free(a, t->t.name);
    cdc__free(a, t->sel);
    cdc__free(a, t->key_sel);
    cdc__free(a, t->kc);
    cdc__free(a, t->select_sql);
    cdc__free(a, t->order_sql);
}

static bool system_schema(const char *db)
{
    return !strcmp(db, "mysql") || !strcmp(db, "sys") || !strcmp(db, "information_schema") ||
           !strcmp(db, "performance_schema");
}

#define SYS_SCHEMAS "('mysql','sys','information_schema','performance_schema')"

/* FNV-1a over what defines a table for the snapshot: its columns' names,
 * types, collations, nullability and key membership, in order. */
static uint64_t schema_fp(const cdc__result *r, size_t first, size_t last)
{
    static const char *const fields[] = {"COLUMN_NAME", "COLUMN_TYPE", "COLLATION_NAME", "IS_NULLABLE", "COLUMN_KEY",
                                         "JSON_DOC"};
    uint64_t h = 1469598103934665603ull;
    for (size_t i = first; i < last; i++)
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
            const char *v = rget(r, i, fields[f]);
            for (const char *c = v ? v : "\x01NULL"; *c; c++) h = (h ^ (uint8_t)*c) * 1099511628211ull;
            h = (h ^ 0xff) * 1099511628211ull;
        }
    return h;
}

/* Builds tables [first, last) of the COLUMNS result r as one table. */
static int table_build(snap *s, const cdc__result *r, size_t first, size_t last, snap_table *t, cdc__err *err)
{
    const cdc_allocator *a = s->a;
    size_t n = last - first;
    t->t.alloc = a;
    t->t.has_meta = true;
    t->t.db = dup(a, rget(r, first, "TABLE_SCHEMA"));
    t->t.name = dup(a, rget(r, first, "TABLE_NAME"));
    t->t.ncols = n;
    t->t.cols = cdc__calloc(a, n, sizeof *t->t.cols);
    t->t.col_names = cdc__calloc(a, n, sizeof *t->t.col_names);
    t->sc = cdc__calloc(a, n, sizeof *t->sc);
    t->labels = cdc__calloc(a, n, sizeof *t->labels);
    t->label_text = cdc__calloc(a, n, sizeof *t->label_text);
    t->sel = cdc__calloc(a, n, sizeof *t->sel);
    t->rows_est = rnum(r, first, "TABLE_ROWS");
    t->fp = schema_fp(r, first, last);
    if (!t->t.db || !t->t.name || !t->t.cols || !t->t.col_names || !t->sc || !t->labels || !t->label_text || !t->sel)
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t row = first + i;
        const char *name = rget(r, row, "COLUMN_NAME");
        const char *extra = rget(r, row, "EXTRA");
        const char *key = rget(r, row, "COLUMN_KEY");
        const char *nullable = rget(r, row, "IS_NULLABLE");
        t->t.col_names[i] = dup(a, name ? name : "");
        if (!t->t.col_names[i]) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
        cdc__snap_colinfo ci = {
            .name = t->t.col_names[i],
            .data_type = rget(r, row, "DATA_TYPE") ? rget(r, row, "DATA_TYPE") : "",
            .column_type = rget(r, row, "COLUMN_TYPE") ? rget(r, row, "COLUMN_TYPE") : "",
            .octet_length = rnum(r, row, "CHARACTER_OCTET_LENGTH"),
            .precision = (unsigned)rnum(r, row, "NUMERIC_PRECISION"),
            .scale = (unsigned)rnum(r, row, "NUMERIC_SCALE"),
            .fsp = (unsigned)rnum(r, row, "DATETIME_PRECISION"),
            .collation = (unsigned)rnum(r, row, "ID"),
            .nullable = nullable && !strcmp(nullable, "YES"),
            .primary = key && !strcmp(key, "PRI"),
            .invisible = extra && strstr(extra, "INVISIBLE"),
            .mariadb = s->mariadb,
            .json_doc = rnum(r, row, "JSON_DOC") == 1,
        };
        const char *dt = ci.data_type;
        if (!strcmp(dt, "binary") || !strcmp(dt, "varbinary") || strstr(dt, "blob")) ci.collation = CDC_CHARSET_BINARY;
        int rc = cdc__snap_column(&ci, a, &t->t.cols[i], &t->labels[i], &t->label_text[i], err);
        if (rc) {
            cdc__err_prefix(err, "snapshot of %s.%s", t->t.db, t->t.name);
            return rc;
        }
        if (t->t.cols[i].type == CDC_T_JSON) t->t.n_json++;
        t->sc[i].hint = cdc__snap_hint(&ci);
        t->sc[i].quoted = quote_ident(a, name ? name : "");
        if (!t->sc[i].quoted) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
        if (rget(r, row, "CHARACTER_SET_NAME") && ci.collation != CDC_CHARSET_BINARY) {
            t->sc[i].charset = dup(a, rget(r, row, "CHARACTER_SET_NAME"));
            t->sc[i].collation = dup(a, rget(r, row, "COLLATION_NAME"));
        }
        if (s->o->filter.column && s->o->filter.column(t->t.db, t->t.name, name ? name : "", s->o->filter.ud))
            t->sc[i].excluded = true;
    }
    return CDC_OK;
}

/* An ENUM/SET with a '?' in a label: possibly a character the server
 * could not show in utf8mb3 metadata (or a real '?', which costs only
 * the extra col+0 in the select list). */
static bool lossy_labels(const cdc_column *col)
{
    if (col->real_type != CDC_T_ENUM && col->real_type != CDC_T_SET) return false;
    for (uint32_t i = 0; i < col->n_labels; i++)
        if (memchr(col->labels[i].ptr, '?', col->labels[i].len)) return true;
    return false;
}

/* Key columns from the PRIMARY index rows [first, last) of STATISTICS. */
static int table_keys(snap *s, snap_table *t, const cdc__result *st, size_t first, size_t last, cdc__err *err)
{
    size_t nk = last - first;
    t->has_key = nk > 0;
    t->pageable = nk > 0;
    size_t *kidx = cdc__calloc(s->a, nk ? nk : 1, sizeof *kidx);
    t->key_sel = cdc__calloc(s->a, nk ? nk : 1, sizeof *t->key_sel);
    t->kc = cdc__calloc(s->a, nk ? nk : 1, sizeof *t->kc);
    if (!kidx || !t->key_sel || !t->kc) {
        cdc__free(s->a, kidx);
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; k < nk; k++) {
        const char *cn = rget(st, first + k, "COLUMN_NAME");
        size_t i = 0;
        while (i < t->t.ncols && strcmp(t->t.col_names[i], cn ? cn : "")) i++;
        if (i == t->t.ncols) {
            t->has_key = t->pageable = false;
            break;
        }
        kidx[k] = i;
        if (rget(st, first + k, "SUB_PART") || !cdc__snap_key_pageable(&t->t.cols[i]) || t->sc[i].hint)
            t->pageable = false;
    }
    if (!t->has_key) nk = 0;
    t->nkey = nk;
    /* select list: every column not excluded, and key columns always (an
     * excluded key column is read for paging but not delivered) */
    cdc__buf b;
    cdc__buf_init(&b, s->a);
    int rc = cdc__buf_puts(&b, "SELECT ");
    for (size_t i = 0; i < t->t.ncols && !rc; i++) {
        bool is_key = false;
        for (size_t k = 0; k < nk; k++) is_key |= kidx[k] == i;
        if (t->sc[i].excluded && !is_key) continue;
        if (t->nsel) rc |= cdc__buf_putc(&b, ',');
        /* FLOAT comes back with 6 significant digits; as a DOUBLE it is
         * exact, and the double's shortest text reads back as the float */
        if (t->t.cols[i].type == CDC_T_FLOAT) rc |= cdc__buf_printf(&b, "CAST(%s AS DOUBLE)", t->sc[i].quoted);
        else rc |= cdc__buf_puts(&b, t->sc[i].quoted);
        for (size_t k = 0; k < nk; k++)
            if (kidx[k] == i) t->key_sel[k] = t->nsel;
        t->sel[t->nsel++] = i;
    }
    if (t->nsel == 0) rc |= cdc__buf_puts(&b, "1");
    for (size_t j = 0; j < t->nsel && !rc; j++) {
        size_t i = t->sel[j];
        if (t->sc[i].excluded || !lossy_labels(&t->t.cols[i])) continue;
        rc |= cdc__buf_printf(&b, ",%s+0", t->sc[i].quoted);
        t->sc[i].index_sel = t->nsel + ++t->nextra;
    }
    char *qd = quote_ident(s->a, t->t.db), *qt = quote_ident(s->a, t->t.name);
    if (!qd || !qt) rc = CDC_ERR_NOMEM;
    else rc |= cdc__buf_printf(&b, " FROM %s.%s", qd, qt);
    cdc__free(s->a, qd);
    cdc__free(s->a, qt);
    rc |= cdc__buf_terminate(&b);
    t->select_sql = (char *)b.data;
    cdc__buf_init(&b, s->a);
    rc |= cdc__buf_puts(&b, " ORDER BY ");
    for (size_t k = 0; k < nk; k++) {
        t->kc[k] = (cdc__snap_keycol){t->sc[kidx[k]].quoted, &t->t.cols[kidx[k]], t->sc[kidx[k]].charset,
                                      t->sc[kidx[k]].collation};
        rc |= cdc__buf_printf(&b, "%s%s", k ? "," : "", t->sc[kidx[k]].quoted);
    }
    rc |= cdc__buf_terminate(&b);
    t->order_sql = (char *)b.data;
    cdc__free(s->a, kidx);
    return rc ? cdc__err_set(err, CDC_ERR_NOMEM, "out of memory") : CDC_OK;
}

/* Every row names its table: the merge below compares them with strcmp. */
static int check_names(const cdc__result *r, const char *what, cdc__err *err)
{
    for (size_t i = 0; i < cdc__result_rows(r); i++)
        if (!rget(r, i, "TABLE_SCHEMA") || !rget(r, i, "TABLE_NAME"))
            return cdc__err_set(err, CDC_ERR_PROTOCOL, "snapshot: %s row %zu has no TABLE_SCHEMA or TABLE_NAME",
                                what, i + 1);
    return CDC_OK;
}

/* byte order, as strcmp() merges it with STATISTICS in read_schema() */
#define COLUMNS_SQL_(json, join) \
    "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE," \
    " c.CHARACTER_OCTET_LENGTH, c.NUMERIC_PRECISION, c.NUMERIC_SCALE, c.DATETIME_PRECISION," \
    " c.CHARACTER_SET_NAME, c.COLLATION_NAME, co.ID, c.IS_NULLABLE, c.COLUMN_KEY, c.EXTRA, t.TABLE_ROWS," \
    " " json " AS JSON_DOC" \
    " FROM information_schema.COLUMNS c JOIN information_schema.TABLES t" \
    " ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME" \
    " LEFT JOIN information_schema.COLLATIONS co ON co.COLLATION_NAME = c.COLLATION_NAME" join \
    " WHERE t.TABLE_TYPE IN ('BASE TABLE','SYSTEM VERSIONED') AND c.TABLE_SCHEMA NOT IN " SYS_SCHEMAS \
    " ORDER BY CAST(c.TABLE_SCHEMA AS BINARY), CAST(c.TABLE_NAME AS BINARY), c.ORDINAL_POSITION"
/* MariaDB's JSON columns are LONGTEXT: JSON_DOC tells them (schema.h) */
#define COLUMNS_SQL(json_checks) \
    ((json_checks) ? COLUMNS_SQL_(CDC__SCHEMA_MARIADB_JSON_SQL, CDC__SCHEMA_MARIADB_JSON_JOIN) : COLUMNS_SQL_("0", ""))

static int read_schema(snap *s, cdc__err *err)
{
    cdc__result *cols = NULL, *st = NULL;
    int rc = query_result(s->c0, COLUMNS_SQL(cdc__schema_json_checks(s->c0)), &cols, err);
    if (!rc)
        rc = query_result(s->c0,
                          "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS"
                          " WHERE INDEX_NAME = 'PRIMARY' AND TABLE_SCHEMA NOT IN " SYS_SCHEMAS
                          " ORDER BY CAST(TABLE_SCHEMA AS BINARY), CAST(TABLE_NAME AS BINARY), SEQ_IN_INDEX",
                          &st, err);
    if (!rc) rc = check_names(cols, "information_schema.COLUMNS", err);
    if (!rc) rc = check_names(st, "information_schema.STATISTICS", err);
    size_t nr = rc ? 0 : cdc__result_rows(cols), ns = rc ? 0 : cdc__result_rows(st);
    if (!rc) {
        s->tables = cdc__calloc(s->a, nr ? nr : 1, sizeof *s->tables);
        if (!s->tables) rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    size_t si = 0;
    for (size_t i = 0; i < nr && !rc;) {
        const char *db = rget(cols, i, "TABLE_SCHEMA"), *tn = rget(cols, i, "TABLE_NAME");
        size_t j = i + 1;
        while (j < nr && !strcmp(rget(cols, j, "TABLE_SCHEMA"), db) && !strcmp(rget(cols, j, "TABLE_NAME"), tn)) j++;
        bool want = !system_schema(db) && (!s->o->filter.table || s->o->filter.table(db, tn, s->o->filter.ud));
        if (want) {
            snap_table *t = &s->tables[s->ntables++];
            rc = table_build(s, cols, i, j, t, err);
            /* STATISTICS rows come in the same (schema, table) order */
            while (!rc && si < ns) {
                int c = strcmp(rget(st, si, "TABLE_SCHEMA"), db);
                if (!c) c = strcmp(rget(st, si, "TABLE_NAME"), tn);
                if (c >= 0) break;
                si++;
            }
            size_t sj = si;
            while (!rc && sj < ns && !strcmp(rget(st, sj, "TABLE_SCHEMA"), db) && !strcmp(rget(st, sj, "TABLE_NAME"), tn))
                sj++;
            if (!rc) rc = table_keys(s, t, st, si, sj, err);
            si = sj;
        }
        i = j;
    }
    cdc__result_free(cols);
    cdc__result_free(st);
    return rc;
}

/* ---- the consistency point -------------------------------------------- */

static int start_snapshot(worker *w, cdc__err *err)
{
    return exec(w->conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT", err);
}

/* MariaDB: the binlog point of the session's snapshot. */
static int maria_point(snap *s, cdc__conn *c, char **file, uint64_t *pos, cdc__err *err)
{
    cdc__result *r = NULL;
    int rc = query_result(c, "SHOW STATUS LIKE 'binlog_snapshot_%'", &r, err);
    if (rc) return rc;
    *file = NULL;
    *pos = 0;
    for (size_t i = 0; i < cdc__result_rows(r); i++) {
        const char *k = cdc__result_get(r, i, 0), *v = cdc__result_get(r, i, 1);
        if (!k || !v) continue;
        if (!strcasecmp(k, "Binlog_snapshot_file")) *file = dup(s->a, v);
        else if (!strcasecmp(k, "Binlog_snapshot_position") && !cdc__parse_u64(v, strlen(v), pos)) *pos = 0;
    }
    cdc__result_free(r);
    if (!*file || !**file) {
        cdc__free(s->a, *file);
        *file = NULL;
        return cdc__err_set(err, CDC_ERR_UNSUPPORTED,
                            "snapshot: the server reports no binlog_snapshot_file (is the binary log enabled?)");
    }
    if (*pos < 4) {
        cdc__free(s->a, *file);
        *file = NULL;
        return cdc__err_set(err, CDC_ERR_PROTOCOL, "snapshot: the server reports no valid binlog_snapshot_position");
    }
    return CDC_OK;
}

static void rollback_all(snap *s)
{
    cdc__err e;
    for (size_t i = 0; i < s->nw; i++) cdc__conn_exec(s->w[i].conn, "ROLLBACK", &e);
}

static int point_mariadb(snap *s, cdc__snap_point *p, cdc__err *err)
{
    int rc = CDC_OK;
    bool locked = false;
    for (int attempt = s->o->maria_lock && s->nw > 1 ? SAME_POINT_ATTEMPTS : 0;; attempt++) {
        if (attempt == SAME_POINT_ATTEMPTS) {
            /* writers are too busy for N lock-free snapshots to agree; a
             * read lock held for the few milliseconds it takes to open
             * them makes the point exact */
            rc = exec(s->c0, "FLUSH TABLES WITH READ LOCK", err);
            if (rc == CDC_ERR_PRIVILEGE)
                return cdc__err_set(err, CDC_ERR_PRIVILEGE,
                                    "snapshot: %zu connections did not reach the same binlog point in %d tries "
                                    "and FLUSH TABLES WITH READ LOCK needs RELOAD, which this account lacks; "
                                    "grant RELOAD or use snapshot.parallelism=1",
                                    s->nw, SAME_POINT_ATTEMPTS);
            if (rc) return rc;
            locked = true;
            logf_(s, 2, "snapshot: took FLUSH TABLES WITH READ LOCK to open %zu snapshots at one point", s->nw);
        }
        char *first = NULL;
        uint64_t first_pos = 0;
        bool same = true;
        for (size_t i = 0; i < s->nw && !rc; i++) rc = start_snapshot(&s->w[i], err);
        for (size_t i = 0; i < s->nw && !rc && same; i++) {
            char *f;
            uint64_t pos;
            rc = maria_point(s, s->w[i].conn, &f, &pos, err);
            if (rc) break;
            if (i == 0) {
                first = f;
                first_pos = pos;
            } else {
                same = !strcmp(f, first) && pos == first_pos;
                cdc__free(s->a, f);
            }
        }
        if (locked) {
            cdc__err e;
            int urc = exec(s->c0, "UNLOCK TABLES", &e);
            if (!rc && urc) {
                *err = e;
                rc = urc;
            }
        }
        if (!rc && same) {
            p->file = first;
            p->offset = first_pos;
            break;
        }
        cdc__free(s->a, first);
        if (rc) return rc;
        rollback_all(s);
        if (attempt == 0) logf_(s, 2, "snapshot: worker snapshots opened at different binlog points; retrying");
    }
    /* the GTID state at exactly that point, from the binlog itself */
    char sql[1024];
    char *q = quote_ident(s->a, p->file); /* file names have no quotes; still, never splice raw text */
    if (!q) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    for (char *c = q; *c; c++)
        if (*c == '`' || *c == '\'' || *c == '\\') *c = '_';
    q[0] = q[strlen(q) - 1] = '\'';
    snprintf(sql, sizeof sql, "SELECT BINLOG_GTID_POS(%s, %llu)", q, (unsigned long long)p->offset);
    cdc__free(s->a, q);
    cdc__result *r = NULL;
    rc = query_result(s->c0, sql, &r, err);
    if (rc) return rc;
    const char *g = cdc__result_rows(r) ? cdc__result_get(r, 0, 0) : NULL;
    p->gtid_set = dup(s->a, g ? g : "");
    cdc__result_free(r);
    if (!p->gtid_set) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    if (!g) logf_(s, 1, "snapshot: BINLOG_GTID_POS(%s, %llu) is NULL; the point has no GTID position", p->file,
                  (unsigned long long)p->offset);
    return CDC_OK;
}

/* MySQL: file, position and executed GTID set under the lock on c0. */
static int mysql_status(snap *s, cdc__snap_point *p, cdc__err *err)
{
    cdc__binlog_status st;
    int rc = cdc__replica_binlog_status(s->c0, s->a, &st, err);
    if (rc) {
        cdc__err_prefix(err, "snapshot: SHOW BINARY LOG STATUS (needs REPLICATION CLIENT)");
        return rc;
    }
    if (!st.file)
        return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "snapshot: SHOW BINARY LOG STATUS is empty: the binary log is off");
    /* the point takes the strings */
    p->file = st.file;
    p->offset = st.offset;
    p->gtid_set = st.gtids;
    return CDC_OK;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int point_mysql(snap *s, cdc__snap_point *p, cdc__err *err)
{
    cdc__err ftwrl;
    double t0 = mono_ms();
    const char *how = "FLUSH TABLES WITH READ LOCK";
    int rc = cdc__conn_exec(s->c0, "FLUSH TABLES WITH READ LOCK", &ftwrl);
    if (rc == CDC_ERR_PRIVILEGE) {
        /* Without RELOAD: LOCK TABLES ... READ on the captured tables
         * waits for every transaction writing them to commit and holds
         * new ones off, which is all the point needs (changes to other
         * tables are filtered out anyway). */
        logf_(s, 1,
              "snapshot: FLUSH TABLES WITH READ LOCK refused (%s); locking the %zu captured tables with "
              "LOCK TABLES ... READ instead",
              ftwrl.msg, s->ntables);
        how = "LOCK TABLES ... READ";
        t0 = mono_ms();
        if (s->ntables) {
            cdc__buf b;
            cdc__buf_init(&b, s->a);
            rc = cdc__buf_puts(&b, "LOCK TABLES ");
            for (size_t i = 0; i < s->ntables && !rc; i++) {
                char *qd = quote_ident(s->a, s->tables[i].t.db), *qt = quote_ident(s->a, s->tables[i].t.name);
                rc = !qd || !qt ? CDC_ERR_NOMEM : cdc__buf_printf(&b, "%s%s.%s READ", i ? ", " : "", qd, qt);
                cdc__free(s->a, qd);
                cdc__free(s->a, qt);
            }
            if (!rc) rc = cdc__buf_terminate(&b);
            if (!rc) rc = cdc__conn_exec(s->c0, (const char *)b.data, err);
            cdc__buf_free(&b);
            if (rc == CDC_ERR_PRIVILEGE) {
                cdc__err lt = *err;
                return cdc__err_set(err, CDC_ERR_PRIVILEGE,
                                    "snapshot: no way to fix a consistent binlog point: FLUSH TABLES WITH READ "
                                    "LOCK needs RELOAD and LOCK TABLES needs the LOCK TABLES privilege on the "
                                    "captured tables; this account has neither (%.200s)",
                                    lt.msg);
            }
            if (rc) return rc;
        }
    } else if (rc) {
        *err = ftwrl;
        return rc;
    }
    for (size_t i = 0; i < s->nw && !rc; i++) rc = start_snapshot(&s->w[i], err);
    if (!rc) rc = mysql_status(s, p, err);
    cdc__err e;
    int urc = exec(s->c0, "UNLOCK TABLES", &e);
    if (!rc && urc) {
        *err = e;
        rc = urc;
    }
    if (!rc) logf_(s, 2, "snapshot: %s held for %.1f ms to open %zu snapshots at %s:%llu", how, mono_ms() - t0, s->nw,
                   p->file, (unsigned long long)p->offset);
    return rc;
}

/* ---- DDL on captured tables ------------------------------------------ */

static bool resumed_done(const snap *s, const snap_table *t)
{
    const cdc__sp_table *e = s->o->resume ? cdc__snapprog_find(s->o->resume, t->t.db, t->t.name) : NULL;
    return e && e->done;
}

/*
 * Every worker opens every captured table in its transaction, which
 * takes the table's metadata lock until the snapshot commits: from here
 * on DDL on a captured table waits for the snapshot (on both servers),
 * so no worker can meet a definition newer than the one read, and none
 * waits behind a queued ALTER for a lock it would only ask for later
 * while another worker holds the lock that ALTER waits for.
 */
static int touch_tables(snap *s, cdc__err *err)
{
    enum { PER_STATEMENT = 32 };
    cdc__buf b;
    cdc__buf_init(&b, s->a);
    int rc = CDC_OK;
    for (size_t first = 0; first < s->ntables && !rc; first += PER_STATEMENT) {
        cdc__buf_reset(&b);
        size_t n = 0;
        for (size_t i = first; i < s->ntables && i < first + PER_STATEMENT && !rc; i++) {
            if (resumed_done(s, &s->tables[i])) continue;
            rc = cdc__buf_printf(&b, "%sSELECT 1%s WHERE 0", n++ ? " UNION ALL " : "",
                                 strstr(s->tables[i].select_sql, " FROM "));
        }
        if (!n) continue;
        if (!rc) rc = cdc__buf_puts(&b, " LIMIT 0");
        if (!rc) rc = cdc__buf_terminate(&b);
        if (rc) {
            rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
            break;
        }
        for (size_t w = 0; w < s->nw && !rc; w++) rc = exec(s->w[w].conn, (const char *)b.data, err);
    }
    cdc__buf_free(&b);
    return rc;
}

/* The first DDL statement naming t in the binlog after the point (a
 * best effort for the message: SHOW BINLOG EVENTS may be refused). */
static void find_ddl(snap *s, const snap_table *t, const cdc__snap_point *p, char *out, size_t cap)
{
    snprintf(out, cap, "the statement is not in %s after the point", p->file);
    char sql[512];
    char *q = quote_ident(s->a, p->file);
    if (!q) return;
    for (char *c = q; *c; c++)
        if (*c == '`' || *c == '\'' || *c == '\\') *c = '_';
    q[0] = q[strlen(q) - 1] = '\'';
    snprintf(sql, sizeof sql, "SHOW BINLOG EVENTS IN %s FROM %llu LIMIT 20000", q, (unsigned long long)p->offset);
    cdc__free(s->a, q);
    cdc__result *r = NULL;
    cdc__err e;
    if (cdc__conn_query_result(s->c0, sql, &r, &e)) return;
    for (size_t i = 0; i < cdc__result_rows(r); i++) {
        const char *type = rget(r, i, "Event_type"), *info = rget(r, i, "Info");
        if (!type || !info || strcmp(type, "Query") || !strstr(info, t->t.name)) continue;
        const char *stmt = strstr(info, "; ") && !strncasecmp(info, "use ", 4) ? strstr(info, "; ") + 2 : info;
        while (*stmt == ' ' || *stmt == '/') stmt++;
        static const char *const ddl[] = {"ALTER", "DROP", "RENAME", "TRUNCATE", "CREATE", "OPTIMIZE", "REPAIR"};
        for (size_t k = 0; k < sizeof ddl / sizeof ddl[0]; k++)
            if (!strncasecmp(stmt, ddl[k], strlen(ddl[k]))) {
                snprintf(out, cap, "%.300s (%s:%s)", stmt, p->file, rget(r, i, "Pos") ? rget(r, i, "Pos") : "?");
                cdc__result_free(r);
                return;
            }
    }
    cdc__result_free(r);
}

/*
 * After touch_tables(): the definitions now (which can no longer change)
 * against those read before the point. A difference is DDL that landed
 * between reading the schema and locking the tables: CDC_ERR_SCHEMA, and
 * the caller takes the point again.
 */
static int verify_schema(snap *s, const cdc__snap_point *p, cdc__err *err)
{
    cdc__result *cols = NULL;
    int rc = query_result(s->c0, COLUMNS_SQL(cdc__schema_json_checks(s->c0)), &cols, err);
    if (rc) return rc;
    size_t nr = cdc__result_rows(cols), i = 0;
    for (size_t k = 0; k < s->ntables && !rc; k++) {
        snap_table *t = &s->tables[k];
        if (resumed_done(s, t)) continue;
        /* both in byte order of (schema, table) */
        int c = -1;
        while (i < nr) {
            const char *db = rget(cols, i, "TABLE_SCHEMA"), *tn = rget(cols, i, "TABLE_NAME");
            c = strcmp(db ? db : "", t->t.db);
            if (!c) c = strcmp(tn ? tn : "", t->t.name);
            if (c >= 0) break;
            i++;
        }
        size_t j = i;
        while (c == 0 && j < nr && !strcmp(rget(cols, j, "TABLE_SCHEMA"), t->t.db) &&
               !strcmp(rget(cols, j, "TABLE_NAME"), t->t.name))
            j++;
        if (c != 0 || schema_fp(cols, i, j) != t->fp) {
            char stmt[400];
            find_ddl(s, t, p, stmt, sizeof stmt);
            rc = cdc__err_set(err, CDC_ERR_SCHEMA,
                              "snapshot of %s.%s: the table was %s while the snapshot's point was being fixed: %s",
                              t->t.db, t->t.name, c != 0 ? "dropped or renamed" : "altered", stmt);
        }
        i = j;
    }
    cdc__result_free(cols);
    return rc;
}

/* ---- work items ------------------------------------------------------- */

typedef struct item_rank {
    uint64_t est;
    size_t idx;
} item_rank;

static int cmp_items(const void *x, const void *y)
{
    const item_rank *a = x, *b = y;
    if (a->est != b->est) return a->est < b->est ? 1 : -1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool int_key(const cdc_column *c)
{
    return c->type == CDC_T_TINY || c->type == CDC_T_SHORT || c->type == CDC_T_INT24 || c->type == CDC_T_LONG ||
           c->type == CDC_T_LONGLONG;
}

static snap_item *add_items(snap *s, size_t *cap, size_t n, cdc__err *err)
{
    if (s->nitems + n > *cap) {
        size_t c = (s->nitems + n) * 2;
        snap_item *m = cdc__realloc(s->a, s->items, c * sizeof *m);
        if (!m) {
            cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
            return NULL;
        }
        s->items = m;
        *cap = c;
    }
    snap_item *it = &s->items[s->nitems];
    memset(it, 0, n * sizeof *it);
    for (size_t k = 0; k < n; k++) cdc__buf_init(&it[k].done_key, s->a);
    s->nitems += n;
    return it;
}

/* A resumed table's items as the checkpoint recorded them, when they
 * still fit the table: false (with a warning) to read it from the start. */
static bool resume_fits(snap *s, const snap_table *t, const cdc__sp_table *e)
{
    const char *why = NULL;
    for (size_t k = 0; k < e->nitems && !why; k++) {
        const cdc__sp_item *it = &e->items[k];
        if ((it->has_lo || it->has_hi) && !(t->pageable && int_key(t->kc[0].col)))
            why = "its first key column is no longer an integer";
        else if (it->state == CDC__SP_AFTER && !t->pageable)
            why = "it can no longer be read in key order";
        else if (it->state == CDC__SP_AFTER && it->nkey != t->nkey)
            why = "its primary key has a different number of columns now";
    }
    if (why) logf_(s, 1, "snapshot: resuming %s.%s from the start: %s", t->t.db, t->t.name, why);
    return !why;
}

/* Splits large tables with an integer first key column into ranges so
 * several workers share them. Bounds come from MIN/MAX read outside the
 * snapshot: they only partition the key space, so any values do. A
 * resumed snapshot takes the ranges and their progress from the
 * checkpoint instead. */
static int plan_items(snap *s, cdc__err *err)
{
    size_t cap = s->ntables + 1;
    s->items = cdc__calloc(s->a, cap, sizeof *s->items);
    if (!s->items) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    size_t resumed_done = 0, resumed_part = 0;
    for (size_t i = 0; i < s->ntables; i++) {
        snap_table *t = &s->tables[i];
        t->item0 = s->nitems;
        const cdc__sp_table *e = s->o->resume ? cdc__snapprog_find(s->o->resume, t->t.db, t->t.name) : NULL;
        if (e && e->done) {
            t->nitems = t->items_left = 0;
            s->tables_done++;
            resumed_done++;
            continue;
        }
        if (e && resume_fits(s, t, e)) {
            snap_item *it = add_items(s, &cap, e->nitems, err);
            if (!it) return err->code;
            t->nitems = e->nitems;
            for (size_t k = 0; k < e->nitems; k++) {
                const cdc__sp_item *r = &e->items[k];
                it[k] = (snap_item){.table = i, .has_lo = r->has_lo, .lo = r->lo, .has_hi = r->has_hi, .hi = r->hi,
                                    .est = t->rows_est / e->nitems, .state = r->state, .done_key = it[k].done_key};
                if (r->state == CDC__SP_AFTER) {
                    it[k].resume_key = r->key;
                    it[k].resume_nkey = r->nkey;
                    if (cdc__snapprog_put_esc(&it[k].done_key, r->key[0].ptr, r->key[0].len))
                        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
                    for (size_t c = 1; c < r->nkey; c++)
                        if (cdc__buf_putc(&it[k].done_key, '.') ||
                            cdc__snapprog_put_esc(&it[k].done_key, r->key[c].ptr, r->key[c].len))
                            return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
                }
                if (r->state != CDC__SP_DONE) t->items_left++;
            }
            if (!t->items_left) s->tables_done++;
            resumed_part++;
            continue;
        }
        size_t parts = 1;
        int64_t lo = 0, hi = 0;
        if (s->nw > 1 && t->pageable && int_key(t->kc[0].col) && t->rows_est > 2 * s->o->chunk_rows) {
            char sql[1024];
            snprintf(sql, sizeof sql, "SELECT MIN(%s), MAX(%s) %s", t->kc[0].quoted, t->kc[0].quoted,
                     strstr(t->select_sql, " FROM "));
            cdc__result *r = NULL;
            int rc = query_result(s->c0, sql, &r, err);
            if (rc) return rc;
            const char *a = cdc__result_get(r, 0, 0), *b = cdc__result_get(r, 0, 1);
            if (a && b) {
                char *e1, *e2;
                errno = 0;
                lo = strtoll(a, &e1, 10);
                hi = strtoll(b, &e2, 10);
                if (!*e1 && !*e2 && !errno && hi > lo) {
                    uint64_t want = t->rows_est / s->o->chunk_rows;
                    parts = s->nw * 4 < want ? s->nw * 4 : (size_t)want;
                    if ((uint64_t)hi - (uint64_t)lo < parts) parts = 1;
                }
            }
            cdc__result_free(r);
        }
        if (parts < 1) parts = 1;
        snap_item *its = add_items(s, &cap, parts, err);
        if (!its) return err->code;
        uint64_t span = (uint64_t)hi - (uint64_t)lo, step = span / parts + 1;
        for (size_t k = 0; k < parts; k++) {
            snap_item *it = &its[k];
            it->table = i;
            it->est = t->rows_est / parts;
            if (parts > 1) {
                it->has_lo = k > 0;
                it->lo = (int64_t)((uint64_t)lo + k * step);
                it->has_hi = k + 1 < parts;
                it->hi = (int64_t)((uint64_t)lo + (k + 1) * step);
            }
        }
        t->nitems = t->items_left = parts;
    }
    /* the workers take the largest items first; items already done are not theirs */
    s->order = cdc__calloc(s->a, s->nitems + 1, sizeof *s->order);
    item_rank *rank = cdc__calloc(s->a, s->nitems + 1, sizeof *rank);
    if (!s->order || !rank) {
        cdc__free(s->a, rank);
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    size_t n = 0;
    for (size_t k = 0; k < s->nitems; k++)
        if (s->items[k].state != CDC__SP_DONE) rank[n++] = (item_rank){s->items[k].est, k};
    qsort(rank, n, sizeof *rank, cmp_items);
    for (size_t k = 0; k < n; k++) s->order[k] = rank[k].idx;
    cdc__free(s->a, rank);
    s->norder = n;
    if (s->o->resume)
        logf_(s, 2, "snapshot: resuming: %zu of %zu tables were done, %zu under way; rows read now are as of a new "
                    "read view, newer than the snapshot's point, and the stream from the point brings them up to date",
              resumed_done, s->ntables, resumed_part);
    return CDC_OK;
}

/* ---- the queue -------------------------------------------------------- */

static void fail(snap *s, int code, const cdc__err *e)
{
    pthread_mutex_lock(&s->mu);
    if (!s->err_code) {
        s->err_code = code;
        if (e) s->err = *e;
        s->err.code = code;
    }
    atomic_store(&s->abort, true);
    pthread_cond_broadcast(&s->nonempty);
    pthread_cond_broadcast(&s->nonfull);
    pthread_mutex_unlock(&s->mu);
}

static batch *batch_get(snap *s)
{
    pthread_mutex_lock(&s->mu);
    batch *b = s->free_list;
    if (b) s->free_list = b->next;
    pthread_mutex_unlock(&s->mu);
    if (!b) {
        b = cdc__calloc(s->a, 1, sizeof *b);
        if (!b) return NULL;
        cdc__buf_init(&b->data, s->a);
        cdc__buf_init(&b->key, s->a);
    }
    b->next = NULL;
    b->nrows = 0;
    b->end_chunk = b->end_item = false;
    cdc__buf_reset(&b->data);
    cdc__buf_reset(&b->key);
    return b;
}

static void batch_put(snap *s, batch *b)
{
    pthread_mutex_lock(&s->mu);
    b->next = s->free_list;
    s->free_list = b;
    pthread_mutex_unlock(&s->mu);
}

/* Blocks while the queue is full. CDC_ERR_STOPPED once aborted. */
static int push(snap *s, batch *b)
{
    pthread_mutex_lock(&s->mu);
    while (s->queued >= s->cap && !aborted(s)) pthread_cond_wait(&s->nonfull, &s->mu);
    if (aborted(s)) {
        b->next = s->free_list;
        s->free_list = b;
        pthread_mutex_unlock(&s->mu);
        return CDC_ERR_STOPPED;
    }
    if (s->tail) s->tail->next = b;
    else s->head = b;
    s->tail = b;
    s->queued++;
    pthread_cond_signal(&s->nonempty);
    pthread_mutex_unlock(&s->mu);
    return CDC_OK;
}

/* NULL when every worker is done and the queue is empty, or aborted,
 * or (*stop_seen set) a stop was asked for while waiting. */
static batch *pop(snap *s, bool *stop_seen)
{
    pthread_mutex_lock(&s->mu);
    while (!s->head && s->running && !aborted(s)) {
        if (stopped(s)) {
            *stop_seen = true;
            break;
        }
        /* wake now and then to see a stop (cdc_stream_stop cannot signal us) */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->nonempty, &s->mu, &ts);
    }
    batch *b = aborted(s) ? NULL : s->head;
    if (b) {
        s->head = b->next;
        if (!s->head) s->tail = NULL;
        s->queued--;
        pthread_cond_signal(&s->nonfull);
    }
    pthread_mutex_unlock(&s->mu);
    return b;
}

/* ---- workers ---------------------------------------------------------- */

static int take_last_key(worker *w, batch *b);

static int flush_batch(worker *w, bool end_chunk, bool end_item)
{
    batch *b = w->cur;
    if (!b) {
        if (!end_chunk && !end_item) return CDC_OK;
        if (!(b = batch_get(w->s))) return CDC_ERR_NOMEM;
        b->table = w->item_table;
        b->item = w->item;
    }
    w->cur = NULL;
    b->end_chunk = end_chunk;
    b->end_item = end_item;
    int rc = take_last_key(w, b);
    if (rc) {
        batch_put(w->s, b);
        return rc;
    }
    if (end_chunk && !end_item && w->table->pageable && w->chunk_n) {
        /* where a restart would go on: after this chunk's last key */
        for (size_t k = 0; k < w->table->nkey; k++) {
            if ((k && cdc__buf_putc(&b->key, '.')) || cdc__snapprog_put_esc(&b->key, w->last[k].ptr, w->last[k].len)) {
                batch_put(w->s, b);
                return CDC_ERR_NOMEM;
            }
        }
    }
    return push(w->s, b);
}

/* The key of the batch's last row (at its offset w->last_row) becomes
 * the last key seen, for the next chunk's WHERE and the checkpoint. Once
 * per batch, not per row. */
static int take_last_key(worker *w, batch *b)
{
    snap_table *t = w->table;
    if (!t->pageable || !b->nrows || w->last_row == SIZE_MAX) return CDC_OK;
    const uint8_t *p = b->data.data + w->last_row;
    uint32_t len = cdc__le32(p);
    cdc__err e;
    if (cdc__row_parse(p + 4, len, t->nsel + t->nextra, w->vals, &e)) {
        w->err = e;
        return e.code;
    }
    cdc__buf_reset(&w->lastkey);
    for (size_t k = 0; k < t->nkey; k++) {
        const cdc_bytes *v = &w->vals[t->key_sel[k]];
        if (cdc__buf_append(&w->lastkey, v->ptr ? v->ptr : (const uint8_t *)"", v->len)) return CDC_ERR_NOMEM;
    }
    for (size_t k = 0, off = 0; k < t->nkey; off += w->vals[t->key_sel[k]].len, k++)
        w->last[k] = (cdc_bytes){w->lastkey.data + off, w->vals[t->key_sel[k]].len};
    w->last_row = SIZE_MAX;
    return CDC_OK;
}

/* A row as the server sent it (lenenc values): the batch keeps it as is,
 * behind its length; the caller's thread splits it when it delivers. */
static int on_raw_row(const uint8_t *p, size_t n, void *ud)
{
    worker *w = ud;
    if (aborted(w->s)) return CDC_ERR_STOPPED;
    if (!w->cur) {
        if (!(w->cur = batch_get(w->s))) return CDC_ERR_NOMEM;
        w->cur->table = w->item_table;
        w->cur->item = w->item;
    }
    cdc__buf *d = &w->cur->data;
    if (n > UINT32_MAX) return CDC_ERR_TOO_LARGE;
    if (cdc__buf_reserve(d, 4 + n)) return CDC_ERR_NOMEM;
    w->last_row = d->len;
    cdc__put_le32(d->data + d->len, (uint32_t)n);
    memcpy(d->data + d->len + 4, p, n);
    d->len += 4 + n;
    w->cur->nrows++;
    w->chunk_n++;
    if (w->cur->nrows >= BATCH_ROWS || d->len >= BATCH_BYTES) return flush_batch(w, false, false);
    return 0;
}

/* Each chunk's result has the columns asked for, by name: a definition
 * that changed under the snapshot would be refused here rather than
 * delivered as rows of mismatched columns (touch_tables() makes it
 * unreachable on the servers tested; this is the guard). */
static int check_columns(const cdc__coldef *cols, size_t ncols, void *ud)
{
    worker *w = ud;
    snap_table *t = w->table;
    size_t want = t->nsel ? t->nsel + t->nextra : 1;
    const char *why = NULL;
    size_t bad = 0;
    if (ncols != want) why = "column count";
    for (size_t j = 0; !why && j < t->nsel; j++) {
        const char *name = t->t.col_names[t->sel[j]];
        if (t->t.cols[t->sel[j]].type == CDC_T_FLOAT) continue; /* CAST(... AS DOUBLE): no org_name */
        if (cols[j].org_name.len && (cols[j].org_name.len != strlen(name) ||
                                     strncasecmp((const char *)cols[j].org_name.ptr, name, cols[j].org_name.len))) {
            why = "column name";
            bad = j;
        }
    }
    if (why)
        return cdc__err_set(&w->cb_err, CDC_ERR_SCHEMA,
                            "snapshot of %s.%s: the table's definition changed under the snapshot (%s differs: "
                            "result column %zu); no row of the new definition is delivered",
                            t->t.db, t->t.name, why, bad + 1);
    return CDC_OK;
}

static int read_item(worker *w, const snap_item *it)
{
    snap *s = w->s;
    snap_table *t = &s->tables[it->table];
    w->table = t;
    w->item_table = it->table;
    w->item = (size_t)(it - s->items);
    if (t->nkey > w->last_cap) {
        cdc_bytes *n = cdc__realloc(s->a, w->last, t->nkey * sizeof *n);
        if (!n) return cdc__err_set(&w->err, CDC_ERR_NOMEM, "out of memory");
        w->last = n;
        w->last_cap = t->nkey;
    }
    size_t nv = t->nsel + t->nextra + 1;
    if (nv > w->vals_cap) {
        cdc_bytes *n = cdc__realloc(s->a, w->vals, nv * sizeof *n);
        if (!n) return cdc__err_set(&w->err, CDC_ERR_NOMEM, "out of memory");
        w->vals = n;
        w->vals_cap = nv;
    }
    w->last_row = SIZE_MAX;
    bool first = true;
    if (it->resume_key) {
        /* a resumed item goes on after the key of its last completed chunk */
        cdc__buf_reset(&w->lastkey);
        for (size_t k = 0; k < t->nkey; k++)
            if (cdc__buf_append(&w->lastkey, it->resume_key[k].ptr ? it->resume_key[k].ptr : (const uint8_t *)"",
                                it->resume_key[k].len))
                return cdc__err_set(&w->err, CDC_ERR_NOMEM, "out of memory");
        for (size_t k = 0, off = 0; k < t->nkey; off += it->resume_key[k].len, k++)
            w->last[k] = (cdc_bytes){w->lastkey.data + off, it->resume_key[k].len};
        first = false;
    }
    cdc__query_handler h = {.columns = check_columns, .raw_row = on_raw_row};
    cdc__buf sql;
    cdc__buf_init(&sql, s->a);
    int rc = CDC_OK;
    for (;;) {
        cdc__buf_reset(&sql);
        rc = cdc__buf_puts(&sql, t->select_sql);
        const char *glue = " WHERE ";
        if (it->has_lo) {
            rc |= cdc__buf_printf(&sql, "%s%s >= %lld", glue, t->kc[0].quoted, (long long)it->lo);
            glue = " AND ";
        }
        if (it->has_hi) {
            rc |= cdc__buf_printf(&sql, "%s%s < %lld", glue, t->kc[0].quoted, (long long)it->hi);
            glue = " AND ";
        }
        if (t->pageable && !first) {
            rc |= cdc__buf_puts(&sql, glue);
            if (!rc) rc = cdc__snap_after_sql(&sql, t->kc, t->nkey, w->last);
        }
        if (t->pageable)
            rc |= cdc__buf_printf(&sql, "%s LIMIT %llu", t->order_sql, (unsigned long long)s->o->chunk_rows);
        if (rc) {
            rc = cdc__err_set(&w->err, rc == CDC_ERR_INVALID ? CDC_ERR_CORRUPT : CDC_ERR_NOMEM,
                              "snapshot of %s.%s: cannot write the key of the last row into SQL", t->t.db, t->t.name);
            break;
        }
        w->chunk_n = 0;
        w->cb_err.code = 0;
        rc = cdc__conn_query(w->conn, (const char *)sql.data, sql.len, &h, w, &w->err);
        if (rc == CDC_ERR_SCHEMA && w->cb_err.code) {
            w->err = w->cb_err;
            break;
        }
        unsigned se = w->err.server_errno;
        if (rc && (se == 1412 || se == 1054 || se == 1146)) {
            /* Table definition has changed / unknown column / no such table */
            char msg[CDC__ERRMSG_MAX];
            snprintf(msg, sizeof msg, "%s", w->err.msg);
            rc = cdc__err_set(&w->err, CDC_ERR_SCHEMA,
                              "snapshot of %s.%s: the table's definition changed under the snapshot (server error "
                              "%u: %.200s); no row of the new definition is delivered",
                              t->t.db, t->t.name, se, msg);
            w->err.server_errno = se;
            break;
        }
        if (rc) {
            if (rc != CDC_ERR_STOPPED) cdc__err_prefix(&w->err, "snapshot of %s.%s", t->t.db, t->t.name);
            break;
        }
        first = false;
        bool more = t->pageable && w->chunk_n == s->o->chunk_rows;
        if ((rc = flush_batch(w, true, !more))) break;
        if (!more) break;
    }
    cdc__buf_free(&sql);
    if (rc && w->cur) {
        batch_put(s, w->cur);
        w->cur = NULL;
    }
    return rc;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    snap *s = w->s;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        const snap_item *it = aborted(s) || s->next_item >= s->norder ? NULL : &s->items[s->order[s->next_item++]];
        pthread_mutex_unlock(&s->mu);
        if (!it) break;
        int rc = read_item(w, it);
        if (rc) {
            if (!aborted(s)) fail(s, rc, &w->err);
            break;
        }
    }
    pthread_mutex_lock(&s->mu);
    s->running--;
    pthread_cond_broadcast(&s->nonempty);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- the caller's side ------------------------------------------------- */

/* Label idx (1-based) of column i is the exact text v: keep a copy of
 * v in its place when the metadata's label lost characters. */
static int repair_label(snap *s, snap_table *t, size_t i, uint64_t idx, const uint8_t *v, size_t len, cdc__err *err)
{
    cdc_column *col = &t->t.cols[i];
    if (idx < 1 || idx > col->n_labels)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "snapshot of %s.%s column %s: the server sent label number %llu of %u",
                            t->t.db, t->t.name, t->t.col_names[i], (unsigned long long)idx, col->n_labels);
    cdc_bytes *l = &t->labels[i][idx - 1];
    if (l->len == len && !memcmp(l->ptr, v, len)) return CDC_OK;
    if (!memchr(l->ptr, '?', l->len)) return CDC_OK; /* another charset's spelling: from_text judges it */
    uint8_t **grown = cdc__realloc(s->a, t->repaired, (t->nrepaired + 1) * sizeof *grown);
    if (!grown) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    t->repaired = grown;
    uint8_t *copy = cdc__malloc(s->a, len ? len : 1);
    if (!copy) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    memcpy(copy, v, len);
    t->repaired[t->nrepaired++] = copy;
    *l = (cdc_bytes){copy, len};
    return CDC_OK;
}

/* Repairs the labels a row's ENUM/SET value uses from the value's text
 * and its col+0 number (see snap_col.index_sel). Runs on the caller's
 * thread, the only one that reads labels. */
static int repair_labels(snap *s, snap_table *t, size_t i, const cdc_bytes *text, const cdc_bytes *num,
                         cdc__err *err)
{
    if (!text->ptr || !num->ptr) return CDC_OK;
    uint64_t n = 0;
    for (size_t k = 0; k < num->len; k++) {
        if (num->ptr[k] < '0' || num->ptr[k] > '9' || n > (UINT64_MAX - 9) / 10)
            return cdc__err_set(err, CDC_ERR_CORRUPT, "snapshot of %s.%s column %s: '%.*s' is not a label number",
                                t->t.db, t->t.name, t->t.col_names[i], (int)(num->len > 32 ? 32 : num->len),
                                (const char *)num->ptr);
        n = n * 10 + (uint64_t)(num->ptr[k] - '0');
    }
    if (t->t.cols[i].real_type == CDC_T_ENUM) return n ? repair_label(s, t, i, n, text->ptr, text->len, err) : CDC_OK;
    /* SET: the members are listed in label order, one per set bit; a
     * label cannot hold a comma */
    const uint8_t *p = text->ptr, *end = text->ptr + text->len;
    for (unsigned bit = 0; bit < 64 && n; bit++) {
        if (!(n & (1ull << bit))) continue;
        n &= ~(1ull << bit);
        const uint8_t *q = memchr(p, ',', (size_t)(end - p));
        if (!q) q = end;
        int rc = repair_label(s, t, i, bit + 1, p, (size_t)(q - p), err);
        if (rc) return rc;
        p = q < end ? q + 1 : end;
    }
    return CDC_OK;
}

static int cb_error(cdc__err *err, const char *which, int rc)
{
    if (rc > 0) rc = CDC_ERR_CALLBACK;
    return cdc__err_set(err, rc, "snapshot: the %s callback returned %d", which, rc);
}

/* Fills s->vals and s->present from the text fields of one row of t
 * (its select list); values may point into texts and s->scratch. */
static int convert_row(snap *s, snap_table *t, const cdc_bytes *texts, cdc__err *err)
{
    memset(s->present, 0, t->t.ncols);
    cdc__buf_reset(&s->scratch);
    if (cdc__buf_reserve(&s->scratch, t->t.ncols * CDC__FROM_TEXT_SCRATCH))
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < t->nsel; j++) {
        size_t i = t->sel[j];
        if (t->sc[i].excluded) continue;
        s->present[i] = 1;
        if (!texts[j].ptr) {
            memset(&s->vals[i], 0, sizeof s->vals[i]);
            s->vals[i].col = &t->t.cols[i];
            s->vals[i].kind = CDC_K_NULL;
            continue;
        }
        int rc;
        if (t->sc[i].index_sel && (rc = repair_labels(s, t, i, &texts[j], &texts[t->sc[i].index_sel - 1], err)))
            return rc;
        rc = cdc__snap_value(&t->t.cols[i], t->sc[i].hint, texts[j].ptr, texts[j].len, &s->scratch, &s->vals[i], err);
        if (rc) {
            cdc__err_prefix(err, "snapshot of %s.%s column %s", t->t.db, t->t.name, t->t.col_names[i]);
            return rc;
        }
    }
    return CDC_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The figures of cdc_snapshot_progress for a boundary of table t. The
 * rate is over a window of at least RATE_WINDOW_S seconds (the run's
 * start before the first window closes). */
#define RATE_WINDOW_S 5.0
static void progress_figures(snap *s, const snap_table *t, cdc_snapshot_progress *p)
{
    double now = now_s();
    if (now - s->rate_t0 >= 2 * RATE_WINDOW_S) {
        /* slide: the rate of the last window becomes the base */
        s->rate = (double)(s->rows_run - s->rate_rows0) / (now - s->rate_t0);
        s->rate_t0 = now;
        s->rate_rows0 = s->rows_run;
    }
    double el = now - s->t_open;
    double rate = s->rate > 0 ? s->rate : el > 0 ? (double)s->rows_run / el : 0;
    if (now - s->rate_t0 >= RATE_WINDOW_S && now > s->rate_t0)
        rate = (double)(s->rows_run - s->rate_rows0) / (now - s->rate_t0);
    uint64_t left = 0;
    for (size_t i = 0; i < s->ntables; i++) {
        const snap_table *x = &s->tables[i];
        if (x->items_left && x->rows_est > x->rows_done) left += x->rows_est - x->rows_done;
    }
    /* a chunk is one keyset query: each item ends with one that comes back short */
    uint64_t chunks = 0;
    for (size_t k = 0; k < t->nitems; k++) chunks += s->items[t->item0 + k].est / s->o->chunk_rows + 1;
    *p = (cdc_snapshot_progress){
        .db = t->t.db,
        .table = t->t.name,
        .table_rows_done = t->rows_done,
        .table_rows_estimated = t->rows_est,
        .table_chunks_done = t->chunks_done,
        .table_chunks_estimated = chunks ? chunks : 1,
        .tables_done = s->tables_done,
        .tables_total = s->ntables,
        .rows_done = s->rows_run,
        .rows_estimated = s->rows_run + left,
        .elapsed_ms = (uint64_t)(el * 1000),
        .rows_per_sec = rate,
        .eta_ms = rate > 0 ? (int64_t)((double)left / rate * 1000) : left ? -1 : 0,
    };
}

/* The progress for a checkpoint (grammar in snapprog.h): done tables by
 * name, tables under way with each item's range and state. */
static int progress_text(snap *s, cdc__buf *out)
{
    cdc__buf_reset(out);
    int rc = CDC_OK;
    bool any = false;
    for (size_t i = 0; i < s->ntables && !rc; i++) {
        const snap_table *t = &s->tables[i];
        bool started = !t->items_left;
        for (size_t k = 0; k < t->nitems && !started; k++) started = s->items[t->item0 + k].state != CDC__SP_TODO;
        if (!started) continue;
        if (any) rc |= cdc__buf_putc(out, ',');
        any = true;
        rc |= cdc__snapprog_put_esc(out, (const uint8_t *)t->t.db, strlen(t->t.db));
        rc |= cdc__buf_putc(out, '.');
        rc |= cdc__snapprog_put_esc(out, (const uint8_t *)t->t.name, strlen(t->t.name));
        if (!t->items_left) continue;
        for (size_t k = 0; k < t->nitems && !rc; k++) {
            const snap_item *it = &s->items[t->item0 + k];
            rc |= cdc__buf_putc(out, '~');
            rc |= cdc__snapprog_put_range(out, it->has_lo, it->lo, it->has_hi, it->hi);
            if (it->state == CDC__SP_TODO) rc |= cdc__buf_putc(out, '-');
            else if (it->state == CDC__SP_DONE) rc |= cdc__buf_putc(out, '+');
            else rc |= cdc__buf_putc(out, 'k') | cdc__buf_append(out, it->done_key.data, it->done_key.len);
        }
    }
    if (!rc) rc = cdc__buf_terminate(out);
    return rc ? CDC_ERR_NOMEM : CDC_OK;
}

/* Delivers the rows of s->cur from s->cur_row on, then its progress.
 * CDC_ERR_PAUSED leaves the place in s->cur_* for the next call. */
static int deliver(snap *s, cdc__err *err)
{
    batch *b = s->cur;
    snap_table *t = &s->tables[b->table];
    cdc__reader r = cdc__rd(b->data.data + s->cur_off, b->data.len - s->cur_off);
    while (s->cur_stage == 0 && s->cur_row < b->nrows) {
        if (stopped(s)) return cdc__err_set(err, CDC_ERR_STOPPED, "snapshot: stopped on request");
        uint32_t len = cdc__rd_u32(&r);
        const uint8_t *p = cdc__rd_take(&r, len);
        if (!p) return cdc__err_set(err, CDC_ERR_PROTOCOL, "snapshot: batch truncated");
        int rc = cdc__row_parse(p, len, t->nsel ? t->nsel + t->nextra : 1 /* SELECT 1 */, s->texts, err);
        if (rc || (rc = convert_row(s, t, s->texts, err))) return rc;
        /* the row counts as delivered whatever the callback says: a pause
         * resumes after it */
        s->cur_row++;
        s->cur_off = b->data.len - cdc__rd_left(&r);
        t->rows_done++;
        s->rows_run++;
        if (s->cb->row && (rc = s->cb->row(&t->t, s->vals, s->present, s->cb->ud))) {
            if (rc == CDC_ERR_PAUSED) return rc;
            return cb_error(err, "row", rc);
        }
    }
    bool boundary = b->end_chunk || b->end_item;
    if (s->cur_stage == 0) {
        s->cur_stage = 1;
        snap_item *it = &s->items[b->item];
        if (b->end_item) {
            it->state = CDC__SP_DONE;
            if (--t->items_left == 0) s->tables_done++;
        } else if (b->end_chunk && b->key.len) {
            it->state = CDC__SP_AFTER;
            cdc__buf_reset(&it->done_key);
            if (cdc__buf_append(&it->done_key, b->key.data, b->key.len))
                return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
        }
        if (boundary) t->chunks_done++;
        if (boundary && s->cb->progress) {
            int rc = s->cb->progress(t->t.db, t->t.name, t->rows_done, t->rows_est, s->tables_done, s->ntables,
                                     s->cb->ud);
            if (rc == CDC_ERR_PAUSED) return rc;
            if (rc) return cb_error(err, "progress", rc);
        }
    }
    if (s->cur_stage == 1) {
        s->cur_stage = 2;
        if (boundary && s->cb->progress_ex) {
            cdc_snapshot_progress p;
            progress_figures(s, t, &p);
            int rc = s->cb->progress_ex(&p, s->cb->ud);
            if (rc == CDC_ERR_PAUSED) return rc;
            if (rc) return cb_error(err, "snapshot progress", rc);
        }
    }
    if (s->cur_stage == 2) {
        s->cur_stage = 3;
        if (boundary && s->cb->checkpoint) {
            int rc = progress_text(s, &s->ck);
            if (rc) return cdc__err_set(err, rc, "out of memory");
            rc = s->cb->checkpoint((const char *)s->ck.data, s->ck.len, s->cb->ud);
            if (rc == CDC_ERR_PAUSED) return rc;
            if (rc) return cb_error(err, "snapshot checkpoint", rc);
        }
    }
    return CDC_OK;
}

/* Interrupts what the workers are reading (a one-pass read of a big
 * table would otherwise drain its whole result first, and a paused
 * worker may be in the middle of one). Shutting the sockets down needs
 * no second connection and works however long the pause lasted. */
static void kill_workers(snap *s)
{
    for (size_t i = 0; i < s->nw; i++) {
        int fd = s->w[i].conn ? cdc__conn_fd(s->w[i].conn) : -1;
        if (fd >= 0) shutdown(fd, SHUT_RDWR);
    }
}

/* Stops and joins the workers (once). */
static void join_workers(snap *s)
{
    if (!s->started) return;
    if (s->err_code) kill_workers(s);
    for (size_t i = 0; i < s->nw; i++)
        if (s->w[i].started) pthread_join(s->w[i].thread, NULL);
    s->started = false;
}

int cdc__snap_run(snap *s, cdc__err *err)
{
    if (s->finished) return CDC_OK;
    if (s->err_code) {
        *err = s->err;
        return s->err_code;
    }
    int rc = CDC_OK;
    for (;;) {
        if (!s->cur) {
            bool stop_seen = false;
            if (!(s->cur = s->started ? pop(s, &stop_seen) : NULL)) {
                if (stop_seen) return cdc__err_set(err, CDC_ERR_STOPPED, "snapshot: stopped on request");
                break;
            }
            s->cur_off = 0;
            s->cur_row = 0;
            s->cur_stage = 0;
        }
        rc = deliver(s, err);
        if (rc == CDC_ERR_PAUSED || rc == CDC_ERR_STOPPED) return rc; /* the place is kept */
        if (rc) {
            fail(s, rc, err);
            break;
        }
        batch_put(s, s->cur);
        s->cur = NULL;
    }
    join_workers(s);
    if (s->err_code) {
        /* the first failure, whoever had it */
        *err = s->err;
        rc = s->err_code;
        if (!err->msg[0]) cdc__err_set(err, rc, "snapshot: %s", cdc_strerror(rc));
        return rc;
    }
    cdc__err e;
    for (size_t i = 0; i < s->nw; i++) cdc__conn_exec(s->w[i].conn, "COMMIT", &e);
    s->finished = true;
    return CDC_OK;
}

/* ---- the whole run ------------------------------------------------------ */

static int connect_one(snap *s, cdc__conn **c, bool worker_session, cdc__err *err)
{
    int rc = cdc__conn_new(c, s->a);
    if (rc) return cdc__err_set(err, rc, "out of memory");
    rc = cdc__conn_connect(*c, &s->o->conn, err);
    if (rc) return rc;
    if (!worker_session) return exec(*c, "SET SESSION time_zone = '+00:00'", err);
    /* UTC for TIMESTAMP; column bytes as stored (no charset conversion),
     * as the binlog has them; no PAD_CHAR_TO_FULL_LENGTH; a consumer that
     * stalls (or pauses) must not make the server give up writing a long
     * result, nor drop a session waiting between chunks */
    rc = exec(*c,
              "SET SESSION time_zone = '+00:00', character_set_results = NULL, sql_mode = '',"
              " net_write_timeout = 31536000, wait_timeout = 31536000",
              err);
    if (!rc) rc = exec(*c, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", err);
    return rc;
}

void cdc__snap_free(snap *s)
{
    if (!s) return;
    if (s->started) {
        fail(s, CDC_ERR_STOPPED, NULL); /* wakes workers waiting on the queue */
        join_workers(s);
    }
    if (s->cur) batch_put(s, s->cur);
    for (size_t i = 0; i < s->nw; i++) {
        cdc__conn_free(s->w[i].conn);
        cdc__buf_free(&s->w[i].lastkey);
        cdc__free(s->a, s->w[i].last);
        cdc__free(s->a, s->w[i].vals);
        if (s->w[i].cur) batch_put(s, s->w[i].cur);
    }
    cdc__conn_free(s->c0);
    for (batch *b = s->head; b;) {
        batch *n = b->next;
        b->next = s->free_list;
        s->free_list = b;
        b = n;
    }
    while (s->free_list) {
        batch *n = s->free_list->next;
        cdc__buf_free(&s->free_list->data);
        cdc__buf_free(&s->free_list->key);
        cdc__free(s->a, s->free_list);
        s->free_list = n;
    }
    for (size_t i = 0; i < s->ntables; i++) table_free(s->a, &s->tables[i]);
    cdc__free(s->a, s->tables);
    for (size_t i = 0; i < s->nitems; i++) cdc__buf_free(&s->items[i].done_key);
    cdc__free(s->a, s->items);
    cdc__free(s->a, s->order);
    cdc__buf_free(&s->ck);
    cdc__free(s->a, s->w);
    cdc__free(s->a, s->vals);
    cdc__free(s->a, s->present);
    cdc__free(s->a, s->texts);
    cdc__buf_free(&s->scratch);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->nonempty);
    pthread_cond_destroy(&s->nonfull);
    cdc__free(s->a, s);
}

int cdc__snap_open(snap **out, const cdc__snap_opts *o, const cdc__snap_cbs *cb, const cdc_allocator *a,
                   cdc__snap_point *point, cdc__err *err)
{
    *out = NULL;
    memset(point, 0, sizeof *point);
    a = cdc__allocator(a);
    if (o->parallelism < 1 || o->parallelism > 64 || o->chunk_rows < 1)
        return cdc__err_set(err, CDC_ERR_CONFIG, "snapshot: parallelism must be 1..64 and chunk rows at least 1");
    snap *s = cdc__calloc(a, 1, sizeof *s);
    if (!s) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    s->opts = *o;
    if (cb) s->cbs = *cb;
    s->o = &s->opts;
    s->cb = &s->cbs;
    s->a = a;
    cdc__buf_init(&s->scratch, a);
    cdc__buf_init(&s->ck, a);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->nonempty, NULL);
    pthread_cond_init(&s->nonfull, NULL);
    s->nw = o->no_data ? 1 : o->parallelism;
    s->cap = s->nw * QUEUE_BATCHES_PER_WORKER + 1;
    s->w = cdc__calloc(s->a, s->nw, sizeof *s->w);
    if (!s->w) {
        cdc__snap_free(s);
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }

    int rc = connect_one(s, &s->c0, false, err);
    if (!rc) s->mariadb = cdc__conn_server_version(s->c0)->flavour == CDC_FLAVOUR_MARIADB;
    for (size_t i = 0; i < s->nw; i++) {
        s->w[i].s = s;
        cdc__buf_init(&s->w[i].lastkey, s->a);
    }
    for (size_t i = 0; i < s->nw && !rc; i++) rc = connect_one(s, &s->w[i].conn, true, err);
    /* DDL between reading the schema and locking the tables (touch_tables)
     * shows in verify_schema(): then the point is taken again */
    for (int attempt = 1; !rc; attempt++) {
        rc = read_schema(s, err);
        if (!rc) rc = s->mariadb ? point_mariadb(s, point, err) : point_mysql(s, point, err);
        if (!rc && o->test_after_point) o->test_after_point(o->test_ud);
        if (!rc && !o->no_data) rc = touch_tables(s, err);
        if (!rc && !o->no_data) rc = verify_schema(s, point, err);
        if (rc != CDC_ERR_SCHEMA) break;
        if (attempt == SCHEMA_ATTEMPTS) {
            cdc__err_prefix(err, "snapshot: %d attempts", SCHEMA_ATTEMPTS);
            break;
        }
        logf_(s, 1, "%s; taking the point again", err->msg);
        rollback_all(s);
        for (size_t i = 0; i < s->ntables; i++) table_free(s->a, &s->tables[i]);
        cdc__free(s->a, s->tables);
        s->tables = NULL;
        s->ntables = 0;
        cdc__snap_point_free(a, point);
        rc = CDC_OK;
    }
    s->t_open = s->rate_t0 = now_s();
    if (!rc && s->cb->point) {
        rc = s->cb->point(point, s->cb->ud);
        if (rc) rc = cdc__err_set(err, rc > 0 ? CDC_ERR_CALLBACK : rc, "snapshot: the point callback returned %d", rc);
    }
    if (!rc && !o->no_data) rc = plan_items(s, err);
    if (!rc) {
        size_t maxcols = 1;
        for (size_t i = 0; i < s->ntables; i++)
            if (s->tables[i].t.ncols > maxcols) maxcols = s->tables[i].t.ncols;
        s->vals = cdc__calloc(s->a, maxcols, sizeof *s->vals);
        s->present = cdc__calloc(s->a, maxcols, 1);
        /* every column, and col+0 of some ENUM/SET columns */
        s->texts = cdc__calloc(s->a, 2 * maxcols, sizeof *s->texts);
        if (!s->vals || !s->present || !s->texts) rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    if (!rc && !o->no_data && s->nitems) {
        s->running = s->nw;
        s->started = true;
        for (size_t i = 0; i < s->nw; i++) {
            if (pthread_create(&s->w[i].thread, NULL, worker_main, &s->w[i])) {
                pthread_mutex_lock(&s->mu);
                s->running -= s->nw - i;
                pthread_mutex_unlock(&s->mu);
                cdc__err e;
                cdc__err_set(&e, CDC_ERR_NOMEM, "snapshot: cannot start a worker thread");
                fail(s, CDC_ERR_NOMEM, &e);
                break;
            }
            s->w[i].started = true;
        }
    }
    if (rc) {
        cdc__snap_free(s);
        cdc__snap_point_free(a, point);
        return rc;
    }
    *out = s;
    return CDC_OK;
}

int cdc__snapshot_run(const cdc__snap_opts *o, const cdc__snap_cbs *cb, const cdc_allocator *a,
                      cdc__snap_point *point, cdc__err *err)
{
    snap *s;
    int rc = cdc__snap_open(&s, o, cb, a, point, err);
    if (rc) return rc;
    while ((rc = cdc__snap_run(s, err)) == CDC_ERR_PAUSED) {
        /* nobody to resume later: go on at once */
    }
    cdc__snap_free(s);
    if (rc) cdc__snap_point_free(cdc__allocator(a), point);
    return rc;
}

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
    snap *snap;
    cdc__snap_point pt;         /* this run's read view */
    cdc_position origin;        /* the snapshot's point: pt, or a resumed checkpoint's */
    cdc_position ckpos;         /* origin plus progress, for the checkpoint callback */
    cdc__snapprog prog;         /* a resumed checkpoint's progress */
    bool ok;                    /* snapshot opened */
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

static int glue_checkpoint(const char *progress, size_t len, void *ud)
{
    stream_glue *g = ud;
    if (!g->st->checkpoint) return 0;
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

static int point_to_position(const cdc__snap_point *pt, const cdc_allocator *a, cdc_position *out, cdc__err *err)
{
    cdc__gtid_set set;
    cdc__gtid_set_init(&set, a);
    int rc = cdc__position_set_file(out, pt->file, strlen(pt->file));
    out->offset = pt->offset;
    if (!rc && pt->gtid_set[0]) {
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
            .no_data = st->no_data,
            .filter = {st->filter ? glue_table : NULL, st->filter ? glue_column : NULL, g},
            .stop = st->stop,
        };
        bool resuming = st->resume && st->resume->snap.len && !st->no_data;
        if (resuming) {
            rc = cdc__snapprog_parse(&g->prog, (const char *)st->resume->snap.data, st->resume->snap.len, a, err);
            if (!rc && (cdc__position_copy(&g->origin, st->resume) || cdc__position_set_snap(&g->origin, NULL, 0)))
                rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
            o.resume = &g->prog;
        }
        cdc__snap_cbs cb = {.row = glue_row, .progress = glue_progress, .progress_ex = glue_progress_ex,
                            .checkpoint = glue_checkpoint, .log = glue_log, .ud = g};
        if (!rc) rc = cdc__snap_open(&g->snap, &o, &cb, a, &g->pt, err);
        if (!rc && !resuming) rc = point_to_position(&g->pt, a, &g->origin, err);
        g->ok = rc == CDC_OK;
    }
    if (rc == CDC_OK) rc = cdc__snap_run(g->snap, err);
    if (rc == CDC_ERR_PAUSED || rc == CDC_ERR_STOPPED) return rc; /* resumable */
    if (rc == CDC_OK && cdc__position_copy(out, &g->origin)) rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    cdc__snapshot_stream_free(g);
    *state = NULL;
    return rc;
}

/* ---- one table, for incremental snapshots (incremental.c) -------------- */

struct cdc__snap_one {
    snap s;                     /* its tables[0], vals, present, scratch */
    const char *db, *table;     /* during open only */
    cdc__snap_filter user;
    cdc_value *keyvals;
};

static bool one_table(const char *db, const char *table, void *ud)
{
    const cdc__snap_one *o = ud;
    return !strcmp(db, o->db) && !strcmp(table, o->table);
}

static bool one_column(const char *db, const char *table, const char *column, void *ud)
{
    const cdc__snap_one *o = ud;
    return o->user.column && o->user.column(db, table, column, o->user.ud);
}

void cdc__snap_one_free(cdc__snap_one *o)
{
    if (!o) return;
    snap *s = &o->s;
    for (size_t i = 0; i < s->ntables; i++) table_free(s->a, &s->tables[i]);
    cdc__free(s->a, s->tables);
    cdc__free(s->a, s->vals);
    cdc__free(s->a, s->present);
    cdc__free(s->a, s->texts);
    cdc__free(s->a, o->keyvals);
    cdc__buf_free(&s->scratch);
    cdc__free(s->a, o);
}

int cdc__snap_one_open(cdc__snap_one **out, cdc__conn *c, const char *db, const char *table,
                       const cdc__snap_filter *f, const cdc_allocator *a, cdc__err *err)
{
    *out = NULL;
    a = cdc__allocator(a);
    cdc__snap_one *o = cdc__calloc(a, 1, sizeof *o);
    if (!o) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    snap *s = &o->s;
    s->a = a;
    s->o = &s->opts;
    s->cb = &s->cbs;
    cdc__buf_init(&s->scratch, a);
    o->db = db;
    o->table = table;
    if (f) o->user = *f;
    s->opts.filter = (cdc__snap_filter){one_table, one_column, o};
    s->c0 = c;
    s->mariadb = cdc__conn_server_version(c)->flavour == CDC_FLAVOUR_MARIADB;
    int rc = read_schema(s, err);
    s->c0 = NULL;
    s->opts.filter = (cdc__snap_filter){0};
    if (!rc && s->ntables != 1)
        rc = cdc__err_set(err, CDC_ERR_SCHEMA, "%s.%s: no such table (information_schema lists no base table of that "
                                               "name)", db, table);
    snap_table *t = rc ? NULL : &s->tables[0];
    if (!rc && !t->pageable)
        rc = cdc__err_set(err, CDC_ERR_UNSUPPORTED,
                          "%s.%s: an incremental snapshot reads in primary-key order and this table has %s", db,
                          table, t->has_key ? "a primary key of a type that cannot be paged (ENUM, FLOAT, a prefix...)"
                                            : "no primary key");
    if (!rc) {
        size_t n = t->t.ncols ? t->t.ncols : 1;
        s->vals = cdc__calloc(a, n, sizeof *s->vals);
        s->present = cdc__calloc(a, n, 1);
        s->texts = cdc__calloc(a, 2 * n, sizeof *s->texts);
        o->keyvals = cdc__calloc(a, t->nkey, sizeof *o->keyvals);
        if (!s->vals || !s->present || !s->texts || !o->keyvals) rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    o->db = o->table = NULL;
    if (rc) {
        cdc__snap_one_free(o);
        return rc;
    }
    *out = o;
    return CDC_OK;
}

const struct cdc_table *cdc__snap_one_table(const cdc__snap_one *o) { return &o->s.tables[0].t; }

size_t cdc__snap_one_fields(const cdc__snap_one *o)
{
    const snap_table *t = &o->s.tables[0];
    return t->nsel ? t->nsel + t->nextra : 1;
}

size_t cdc__snap_one_nkey(const cdc__snap_one *o) { return o->s.tables[0].nkey; }

size_t cdc__snap_one_key_column(const cdc__snap_one *o, size_t k)
{
    const snap_table *t = &o->s.tables[0];
    return t->sel[t->key_sel[k]];
}

const cdc_bytes *cdc__snap_one_key_text(const cdc__snap_one *o, const cdc_bytes *texts, size_t k)
{
    return &texts[o->s.tables[0].key_sel[k]];
}

int cdc__snap_one_sql(const cdc__snap_one *o, const cdc_bytes *last, const char *cond, uint64_t limit, cdc__buf *out)
{
    const snap_table *t = &o->s.tables[0];
    int rc = cdc__buf_puts(out, t->select_sql);
    const char *glue = " WHERE ";
    if (!rc && cond && *cond) {
        rc = cdc__buf_printf(out, "%s(%s)", glue, cond);
        glue = " AND ";
    }
    if (!rc && last) {
        rc = cdc__buf_puts(out, glue);
        if (!rc) rc = cdc__snap_after_sql(out, t->kc, t->nkey, last);
    }
    if (!rc) rc = cdc__buf_printf(out, "%s LIMIT %llu", t->order_sql, (unsigned long long)limit);
    if (!rc) rc = cdc__buf_terminate(out);
    return rc;
}

int cdc__snap_one_keyvals(cdc__snap_one *o, const cdc_bytes *texts, const cdc_value **vals, cdc__err *err)
{
    snap *s = &o->s;
    snap_table *t = &s->tables[0];
    cdc__buf_reset(&s->scratch);
    if (cdc__buf_reserve(&s->scratch, t->nkey * CDC__FROM_TEXT_SCRATCH))
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < t->nkey; k++) {
        size_t i = t->sel[t->key_sel[k]];
        const cdc_bytes *v = &texts[t->key_sel[k]];
        if (!v->ptr) return cdc__err_set(err, CDC_ERR_CORRUPT, "%s.%s: a NULL primary key value", t->t.db, t->t.name);
        int rc = cdc__snap_value(&t->t.cols[i], t->sc[i].hint, v->ptr, v->len, &s->scratch, &o->keyvals[k], err);
        if (rc) return rc;
    }
    *vals = o->keyvals;
    return CDC_OK;
}

int cdc__snap_one_row(cdc__snap_one *o, const uint8_t *row, size_t len, const cdc_value **vals,
                      const uint8_t **present, cdc__err *err)
{
    snap *s = &o->s;
    snap_table *t = &s->tables[0];
    int rc = cdc__row_parse(row, len, cdc__snap_one_fields(o), s->texts, err);
    if (!rc) rc = convert_row(s, t, s->texts, err);
    if (rc) return rc;
    *vals = s->vals;
    *present = s->present;
    return CDC_OK;
}
