/*
 * snapshot_table.c: one captured table as a snapshot reads it
 * (snapshot_table.h): its description from information_schema, its
 * SELECT and keyset chunk SQL, its text and binary rows as the
 * decoder's values, and the one-table reader incremental snapshots page through. The
 * value conversions themselves are snapshot_values.c's.
 */
#include <stdarg.h>
#include <stdio.h>

#include "snapshot_table.h"

#include "rowvalue.h"
#include "schema.h"

/* ---- helpers of the snapshot modules ------------------------------------ */

void cdc__snap_logf(void (*log)(int level, int code, const char *msg, void *ud), void *ud, int level,
                    const char *fmt, ...)
{
    if (!log) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log(level, CDC_OK, msg, ud);
}

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

char *cdc__snap_quote(const cdc_allocator *a, const char *name) { return quote_ident(a, name); }

static char *dup(const cdc_allocator *a, const char *s) { return s ? cdc__strndup(a, s, strlen(s)) : NULL; }

static const char *rget(const cdc__result *r, size_t row, const char *col)
{
    int i = cdc__result_col(r, col);
    return i < 0 ? NULL : cdc__result_get(r, row, (size_t)i);
}

const char *cdc__snap_rget(const cdc__result *r, size_t row, const char *col) { return rget(r, row, col); }

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

int cdc__snap_query(cdc__conn *c, const char *sql, cdc__result **out, cdc__err *err)
{
    return query_result(c, sql, out, err);
}

int cdc__snap_exec(cdc__conn *c, const char *sql, cdc__err *err)
{
    int rc = cdc__conn_exec(c, sql, err);
    if (rc) cdc__err_prefix(err, "snapshot: %s", sql);
    return rc;
}

/* ---- the description ---------------------------------------------------- */

static void table_free(const cdc_allocator *a, cdc__snap_table *t)
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
    cdc__free(a, t->bincls);
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
/* What read_tables() works with. */
typedef struct reading {
    const cdc_allocator *a;
    bool mariadb;
    const cdc__snap_filter *f;
} reading;

static int table_build(const reading *s, const cdc__result *r, size_t first, size_t last, cdc__snap_table *t,
                       cdc__err *err)
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
        if (s->f->column && s->f->column(t->t.db, t->t.name, name ? name : "", s->f->ud))
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
static int table_keys(const reading *s, cdc__snap_table *t, const cdc__result *st, size_t first, size_t last,
                      cdc__err *err)
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

/* Byte order, as strcmp() merges it with STATISTICS in cdc__snap_tables_read().
 * TABLES and COLLATIONS are joined as DISTINCT derived tables: MariaDB
 * then materializes each once with a key, where joining the
 * information_schema tables directly costs it a scan of one per row of
 * COLUMNS (0.16 s of server CPU for 576 columns, against 0.01 s). */
#define COLUMNS_SQL_(json, join) \
    "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE," \
    " c.CHARACTER_OCTET_LENGTH, c.NUMERIC_PRECISION, c.NUMERIC_SCALE, c.DATETIME_PRECISION," \
    " c.CHARACTER_SET_NAME, c.COLLATION_NAME, co.ID, c.IS_NULLABLE, c.COLUMN_KEY, c.EXTRA, t.TABLE_ROWS," \
    " " json " AS JSON_DOC" \
    " FROM information_schema.COLUMNS c JOIN (SELECT DISTINCT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS, TABLE_TYPE" \
    " FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN " SYS_SCHEMAS ") t" \
    " ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME" \
    " LEFT JOIN (SELECT DISTINCT ID, COLLATION_NAME FROM information_schema.COLLATIONS) co" \
    " ON co.COLLATION_NAME = c.COLLATION_NAME" join \
    " WHERE t.TABLE_TYPE IN ('BASE TABLE','SYSTEM VERSIONED') AND c.TABLE_SCHEMA NOT IN " SYS_SCHEMAS \
    " ORDER BY CAST(c.TABLE_SCHEMA AS BINARY), CAST(c.TABLE_NAME AS BINARY), c.ORDINAL_POSITION"
/* MariaDB's JSON columns are LONGTEXT: JSON_DOC tells them (schema.h) */
#define COLUMNS_SQL(json_checks) \
    ((json_checks) ? COLUMNS_SQL_(CDC__SCHEMA_MARIADB_JSON_SQL, CDC__SCHEMA_MARIADB_JSON_JOIN) : COLUMNS_SQL_("0", ""))

int cdc__snap_tables_read(cdc__conn *c, bool mariadb, const cdc__snap_filter *f, const cdc_allocator *a,
                          cdc__snap_table **tables, size_t *ntables, cdc__err *err)
{
    *tables = NULL;
    *ntables = 0;
    cdc__result *cols = NULL, *st = NULL;
    int rc = query_result(c, COLUMNS_SQL(cdc__schema_json_checks(c)), &cols, err);
    if (!rc)
        rc = query_result(c,
                          "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS"
                          " WHERE INDEX_NAME = 'PRIMARY' AND TABLE_SCHEMA NOT IN " SYS_SCHEMAS
                          " ORDER BY CAST(TABLE_SCHEMA AS BINARY), CAST(TABLE_NAME AS BINARY), SEQ_IN_INDEX",
                          &st, err);
    if (!rc) rc = cdc__snap_tables_build(cols, st, mariadb, f, a, tables, ntables, err);
    cdc__result_free(cols);
    cdc__result_free(st);
    return rc;
}

int cdc__snap_tables_build(const cdc__result *cols, const cdc__result *st, bool mariadb, const cdc__snap_filter *f,
                           const cdc_allocator *a, cdc__snap_table **tables, size_t *ntables, cdc__err *err)
{
    static const cdc__snap_filter all = {0};
    const reading rd = {a, mariadb, f ? f : &all}, *s = &rd;
    *tables = NULL;
    *ntables = 0;
    int rc = check_names(cols, "information_schema.COLUMNS", err);
    if (!rc) rc = check_names(st, "information_schema.STATISTICS", err);
    size_t nr = rc ? 0 : cdc__result_rows(cols), ns = rc ? 0 : cdc__result_rows(st);
    if (!rc) {
        *tables = cdc__calloc(s->a, nr ? nr : 1, sizeof **tables);
        if (!*tables) rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    size_t si = 0;
    for (size_t i = 0; i < nr && !rc;) {
        const char *db = rget(cols, i, "TABLE_SCHEMA"), *tn = rget(cols, i, "TABLE_NAME");
        size_t j = i + 1;
        while (j < nr && !strcmp(rget(cols, j, "TABLE_SCHEMA"), db) && !strcmp(rget(cols, j, "TABLE_NAME"), tn))
            j++;
        bool want = !system_schema(db) && (!s->f->table || s->f->table(db, tn, s->f->ud));
        if (want) {
            cdc__snap_table *t = &(*tables)[(*ntables)++];
            rc = table_build(s, cols, i, j, t, err);
            /* STATISTICS rows come in the same (schema, table) order */
            while (!rc && si < ns) {
                int cmp = strcmp(rget(st, si, "TABLE_SCHEMA"), db);
                if (!cmp) cmp = strcmp(rget(st, si, "TABLE_NAME"), tn);
                if (cmp >= 0) break;
                si++;
            }
            size_t sj = si;
            while (!rc && sj < ns && !strcmp(rget(st, sj, "TABLE_SCHEMA"), db) &&
                   !strcmp(rget(st, sj, "TABLE_NAME"), tn))
                sj++;
            if (!rc) rc = table_keys(s, t, st, si, sj, err);
            si = sj;
        }
        i = j;
    }
    if (rc) {
        cdc__snap_tables_free(a, *tables, *ntables);
        *tables = NULL;
        *ntables = 0;
    }
    return rc;
}

void cdc__snap_tables_free(const cdc_allocator *a, cdc__snap_table *tables, size_t ntables)
{
    for (size_t i = 0; i < ntables; i++) table_free(a, &tables[i]);
    cdc__free(a, tables);
}

int cdc__snap_tables_changed(cdc__conn *c, const cdc__snap_table *tables, size_t n,
                             bool (*skip)(const cdc__snap_table *t, void *ud), void *ud, size_t *changed, bool *gone,
                             cdc__err *err)
{
    cdc__result *cols = NULL;
    int rc = query_result(c, COLUMNS_SQL(cdc__schema_json_checks(c)), &cols, err);
    if (rc) return rc;
    cdc__snap_tables_compare(cols, tables, n, skip, ud, changed, gone);
    cdc__result_free(cols);
    return CDC_OK;
}

void cdc__snap_tables_compare(const cdc__result *cols, const cdc__snap_table *tables, size_t n,
                              bool (*skip)(const cdc__snap_table *t, void *ud), void *ud, size_t *changed, bool *gone)
{
    *changed = n;
    *gone = false;
    size_t nr = cdc__result_rows(cols), i = 0;
    for (size_t k = 0; k < n && *changed == n; k++) {
        const cdc__snap_table *t = &tables[k];
        if (skip && skip(t, ud)) continue;
        /* both in byte order of (schema, table) */
        int cmp = -1;
        while (i < nr) {
            const char *db = rget(cols, i, "TABLE_SCHEMA"), *tn = rget(cols, i, "TABLE_NAME");
            cmp = strcmp(db ? db : "", t->t.db);
            if (!cmp) cmp = strcmp(tn ? tn : "", t->t.name);
            if (cmp >= 0) break;
            i++;
        }
        size_t j = i;
        while (cmp == 0 && j < nr && !strcmp(rget(cols, j, "TABLE_SCHEMA"), t->t.db) &&
               !strcmp(rget(cols, j, "TABLE_NAME"), t->t.name))
            j++;
        if (cmp != 0 || schema_fp(cols, i, j) != t->fp) {
            *changed = k;
            *gone = cmp != 0;
        }
        i = j;
    }
}

/* ---- chunks and rows ---------------------------------------------------- */

size_t cdc__snap_table_fields(const cdc__snap_table *t) { return t->nsel ? t->nsel + t->nextra : 1; }

int cdc__snap_table_chunk_sql(const cdc__snap_table *t, const char *cond, const cdc_bytes *last, uint64_t limit,
                              cdc__buf *out)
{
    int rc = cdc__buf_puts(out, t->select_sql);
    const char *glue = " WHERE ";
    if (!rc && cond) {
        rc = cdc__buf_printf(out, "%s(%s)", glue, cond);
        glue = " AND ";
    }
    if (!t->pageable) return rc;
    if (!rc && last) {
        rc = cdc__buf_puts(out, glue);
        if (!rc) rc = cdc__snap_after_sql(out, t->kc, t->nkey, last);
    }
    if (!rc) rc = cdc__buf_puts(out, t->order_sql);
    if (!rc && limit) rc = cdc__buf_printf(out, " LIMIT %llu", (unsigned long long)limit);
    return rc;
}

bool cdc__snap_table_use_binary(cdc__snap_table *t)
{
    t->binary = false;
    if (!t->nsel || t->nextra) return false;
    if (!t->bincls && !(t->bincls = cdc__malloc(t->t.alloc, t->nsel))) return false;
    for (size_t j = 0; j < t->nsel; j++) t->bincls[j] = (uint8_t)cdc__snap_bin_class(&t->t.cols[t->sel[j]]);
    t->binary = true;
    return true;
}

int cdc__snap_table_check_bin(const cdc__snap_table *t, const cdc__coldef *cols, size_t ncols, cdc__err *err)
{
    for (size_t j = 0; j < ncols && j < t->nsel; j++)
        if (cdc__bin_class(cols[j].type) != t->bincls[j])
            return cdc__err_set(err, CDC_ERR_SCHEMA,
                                "snapshot of %s.%s: result column %zu (%s) has wire type %u, not the layout its type "
                                "%s has in binary rows",
                                t->t.db, t->t.name, j + 1, t->t.col_names[t->sel[j]], (unsigned)cols[j].type,
                                cdc__type_name(t->t.cols[t->sel[j]].type));
    return CDC_OK;
}

int cdc__snap_table_split(const cdc__snap_table *t, const uint8_t *row, size_t len, cdc_bytes *fields, cdc__err *err)
{
    if (t->binary) return cdc__binrow_split(row, len, t->nsel, t->bincls, fields, err);
    return cdc__row_parse(row, len, cdc__snap_table_fields(t), fields, err);
}

int cdc__snap_table_key_text(const cdc__snap_table *t, const cdc_bytes *fields, size_t k, char *buf, cdc_bytes *out,
                             cdc__err *err)
{
    size_t j = t->key_sel[k];
    const cdc_bytes *v = &fields[j];
    if (!v->ptr) return cdc__err_set(err, CDC_ERR_CORRUPT, "%s.%s: a NULL primary key value", t->t.db, t->t.name);
    if (!t->binary) {
        *out = *v;
        return CDC_OK;
    }
    return cdc__snap_key_text_bin(&t->t.cols[t->sel[j]], t->bincls[j], v->ptr, v->len, buf, out, err);
}

void cdc__snap_row_init(cdc__snap_row *r, const cdc_allocator *a)
{
    memset(r, 0, sizeof *r);
    r->a = a;
    cdc__buf_init(&r->scratch, a);
}

int cdc__snap_row_alloc(cdc__snap_row *r, size_t ncols)
{
    if (!ncols) ncols = 1;
    r->vals = cdc__calloc(r->a, ncols, sizeof *r->vals);
    r->present = cdc__calloc(r->a, ncols, 1);
    /* every column, and col+0 of some ENUM/SET columns */
    r->texts = cdc__calloc(r->a, 2 * ncols, sizeof *r->texts);
    return r->vals && r->present && r->texts ? CDC_OK : CDC_ERR_NOMEM;
}

void cdc__snap_row_free(cdc__snap_row *r)
{
    cdc__free(r->a, r->vals);
    cdc__free(r->a, r->present);
    cdc__free(r->a, r->texts);
    cdc__buf_free(&r->scratch);
    r->vals = NULL;
    r->present = NULL;
    r->texts = NULL;
}

/* Label idx (1-based) of column i is the exact text v: keep a copy of
 * v in its place when the metadata's label lost characters. */
static int repair_label(cdc__snap_table *t, size_t i, uint64_t idx, const uint8_t *v, size_t len, cdc__err *err)
{
    cdc_column *col = &t->t.cols[i];
    if (idx < 1 || idx > col->n_labels)
        return cdc__err_set(err, CDC_ERR_CORRUPT,
                            "snapshot of %s.%s column %s: the server sent label number %llu of %u",
                            t->t.db, t->t.name, t->t.col_names[i], (unsigned long long)idx, col->n_labels);
    cdc_bytes *l = &t->labels[i][idx - 1];
    if (l->len == len && !memcmp(l->ptr, v, len)) return CDC_OK;
    if (!memchr(l->ptr, '?', l->len)) return CDC_OK; /* another charset's spelling: from_text judges it */
    uint8_t **grown = cdc__realloc(t->t.alloc, t->repaired, (t->nrepaired + 1) * sizeof *grown);
    if (!grown) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    t->repaired = grown;
    uint8_t *copy = cdc__malloc(t->t.alloc, len ? len : 1);
    if (!copy) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    memcpy(copy, v, len);
    t->repaired[t->nrepaired++] = copy;
    *l = (cdc_bytes){copy, len};
    return CDC_OK;
}

/* Repairs the labels a row's ENUM/SET value uses from the value's text
 * and its col+0 number (see cdc__snap_col.index_sel). Runs on the caller's
 * thread, the only one that reads labels. */
static int repair_labels(cdc__snap_table *t, size_t i, const cdc_bytes *text, const cdc_bytes *num, cdc__err *err)
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
    if (t->t.cols[i].real_type == CDC_T_ENUM) return n ? repair_label(t, i, n, text->ptr, text->len, err) : CDC_OK;
    /* SET: the members are listed in label order, one per set bit; a
     * label cannot hold a comma */
    const uint8_t *p = text->ptr, *end = text->ptr + text->len;
    for (unsigned bit = 0; bit < 64 && n; bit++) {
        if (!(n & (1ull << bit))) continue;
        n &= ~(1ull << bit);
        const uint8_t *q = memchr(p, ',', (size_t)(end - p));
        if (!q) q = end;
        int rc = repair_label(t, i, bit + 1, p, (size_t)(q - p), err);
        if (rc) return rc;
        p = q < end ? q + 1 : end;
    }
    return CDC_OK;
}

int cdc__snap_table_row(cdc__snap_table *t, const uint8_t *row, size_t len, cdc__snap_row *r, cdc__err *err)
{
    int rc = cdc__snap_table_split(t, row, len, r->texts, err);
    if (rc) return rc;
    const cdc_bytes *texts = r->texts;
    memset(r->present, 0, t->t.ncols);
    cdc__buf_reset(&r->scratch);
    if (cdc__buf_reserve(&r->scratch, t->t.ncols * CDC__FROM_TEXT_SCRATCH))
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < t->nsel; j++) {
        size_t i = t->sel[j];
        if (t->sc[i].excluded) continue;
        r->present[i] = 1;
        if (!texts[j].ptr) {
            memset(&r->vals[i], 0, sizeof r->vals[i]);
            r->vals[i].col = &t->t.cols[i];
            r->vals[i].kind = CDC_K_NULL;
            continue;
        }
        if (t->sc[i].index_sel && (rc = repair_labels(t, i, &texts[j], &texts[t->sc[i].index_sel - 1], err)))
            return rc;
        rc = t->binary ? cdc__snap_value_bin(&t->t.cols[i], t->sc[i].hint, t->bincls[j], texts[j].ptr, texts[j].len,
                                             &r->scratch, &r->vals[i], err)
                       : cdc__snap_value(&t->t.cols[i], t->sc[i].hint, texts[j].ptr, texts[j].len, &r->scratch,
                                         &r->vals[i], err);
        if (rc) {
            cdc__err_prefix(err, "snapshot of %s.%s column %s", t->t.db, t->t.name, t->t.col_names[i]);
            return rc;
        }
    }
    return CDC_OK;
}

/* ---- one table, for incremental snapshots (incremental.c) -------------- */

struct cdc__snap_one {
    const cdc_allocator *a;
    cdc__snap_table *tables;    /* the one table, tables[0] */
    size_t ntables;
    cdc__snap_row row;
    cdc_value *keyvals;
    const char *db, *table;     /* during open only */
    cdc__snap_filter user;
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
    cdc__snap_tables_free(o->a, o->tables, o->ntables);
    cdc__snap_row_free(&o->row);
    cdc__free(o->a, o->keyvals);
    cdc__free(o->a, o);
}

int cdc__snap_one_open(cdc__snap_one **out, cdc__conn *c, const char *db, const char *table,
                       const cdc__snap_filter *f, const cdc_allocator *a, cdc__err *err)
{
    *out = NULL;
    a = cdc__allocator(a);
    cdc__snap_one *o = cdc__calloc(a, 1, sizeof *o);
    if (!o) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    o->a = a;
    cdc__snap_row_init(&o->row, a);
    o->db = db;
    o->table = table;
    if (f) o->user = *f;
    const cdc__snap_filter only = {one_table, one_column, o};
    bool mariadb = cdc__conn_server_version(c)->flavour == CDC_FLAVOUR_MARIADB;
    int rc = cdc__snap_tables_read(c, mariadb, &only, a, &o->tables, &o->ntables, err);
    if (!rc && o->ntables != 1)
        rc = cdc__err_set(err, CDC_ERR_SCHEMA, "%s.%s: no such table (information_schema lists no base table of that "
                                               "name)", db, table);
    cdc__snap_table *t = rc ? NULL : &o->tables[0];
    if (!rc && !t->pageable)
        rc = cdc__err_set(err, CDC_ERR_UNSUPPORTED,
                          "%s.%s: an incremental snapshot reads in primary-key order and this table has %s", db,
                          table, t->has_key ? "a primary key of a type that cannot be paged (ENUM, FLOAT, a prefix...)"
                                            : "no primary key");
    if (!rc) {
        o->keyvals = cdc__calloc(a, t->nkey, sizeof *o->keyvals);
        if (cdc__snap_row_alloc(&o->row, t->t.ncols) || !o->keyvals)
            rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    o->db = o->table = NULL;
    if (rc) {
        cdc__snap_one_free(o);
        return rc;
    }
    *out = o;
    return CDC_OK;
}

/* " AND <p>TABLE_SCHEMA = _utf8mb3 X'..' AND <p>TABLE_NAME = ..." (the
 * literals take the column's collation, as the join's comparison does). */
static int names_filter_as(cdc__buf *out, const char *schema_col, const char *p, const char *db, const char *table)
{
    int rc = cdc__buf_printf(out, " AND %s%s = _utf8mb3 X'", p, schema_col);
    for (const char *q = db; *q && !rc; q++) rc = cdc__buf_printf(out, "%02x", (uint8_t)*q);
    rc |= cdc__buf_printf(out, "' AND %sTABLE_NAME = _utf8mb3 X'", p);
    for (const char *q = table; *q && !rc; q++) rc = cdc__buf_printf(out, "%02x", (uint8_t)*q);
    return rc | cdc__buf_puts(out, "'");
}

static int names_filter(cdc__buf *out, const char *p, const char *db, const char *table)
{
    return names_filter_as(out, "TABLE_SCHEMA", p, db, table);
}

int cdc__snap_one_changed(const cdc__snap_one *o, cdc__conn *c, bool *changed, cdc__err *err)
{
    const cdc__snap_table *t = &o->tables[0];
    *changed = false;
    /* the snapshot's COLUMNS query (so the same fingerprint), for this table only */
    const char *all = COLUMNS_SQL(cdc__schema_json_checks(c)), *order = strstr(all, " ORDER BY ");
    const char *tables_end = strstr(all, ") t ON ");
    cdc__buf sql;
    cdc__buf_init(&sql, o->a);
    /* the same rows: the names also narrow the derived table of TABLES and
     * the columns in the names' own collation, which lets the server look
     * the one table up instead of listing all (MariaDB: 2 ms a check
     * instead of 7; the check runs after chunks of incremental snapshots) */
    int rc = cdc__buf_append(&sql, all, (size_t)(tables_end - all));
    rc |= names_filter(&sql, "", t->t.db, t->t.name);
    /* MariaDB's JSON check joins CHECK_CONSTRAINTS, which a join reads for
     * every database (6.4 ms of server CPU a check on a server of a few
     * hundred tables): a DISTINCT derived table of the one table's
     * constraints, which the server materializes by looking the table up
     * (1.8 ms, the same rows) */
    const char *k = strstr(tables_end, " LEFT JOIN information_schema.CHECK_CONSTRAINTS k ON ");
    if (k && k < order) {
        rc |= cdc__buf_append(&sql, tables_end, (size_t)(k - tables_end));
        rc |= cdc__buf_puts(&sql, " LEFT JOIN (SELECT DISTINCT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME,"
                                  " CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE 1");
        rc |= names_filter_as(&sql, "CONSTRAINT_SCHEMA", "", t->t.db, t->t.name);
        rc |= cdc__buf_puts(&sql, ") k ON ");
        const char *on = k + strlen(" LEFT JOIN information_schema.CHECK_CONSTRAINTS k ON ");
        rc |= cdc__buf_append(&sql, on, (size_t)(order - on));
    } else {
        rc |= cdc__buf_append(&sql, tables_end, (size_t)(order - tables_end));
    }
    rc |= names_filter(&sql, "c.", t->t.db, t->t.name);
    rc |= cdc__buf_puts(&sql, " AND CAST(c.TABLE_SCHEMA AS BINARY) = X'");
    for (const char *p = t->t.db; *p && !rc; p++) rc = cdc__buf_printf(&sql, "%02x", (uint8_t)*p);
    rc |= cdc__buf_puts(&sql, "' AND CAST(c.TABLE_NAME AS BINARY) = X'");
    for (const char *p = t->t.name; *p && !rc; p++) rc = cdc__buf_printf(&sql, "%02x", (uint8_t)*p);
    rc |= cdc__buf_puts(&sql, "'");
    rc |= cdc__buf_puts(&sql, order);
    rc |= cdc__buf_terminate(&sql);
    if (rc) {
        cdc__buf_free(&sql);
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    cdc__result *r = NULL;
    rc = query_result(c, (const char *)sql.data, &r, err);
    cdc__buf_free(&sql);
    if (rc) return rc;
    size_t n = cdc__result_rows(r);
    *changed = n == 0 || schema_fp(r, 0, n) != t->fp;
    cdc__result_free(r);
    return CDC_OK;
}

const struct cdc_table *cdc__snap_one_table(const cdc__snap_one *o) { return &o->tables[0].t; }

size_t cdc__snap_one_fields(const cdc__snap_one *o) { return cdc__snap_table_fields(&o->tables[0]); }

size_t cdc__snap_one_nkey(const cdc__snap_one *o) { return o->tables[0].nkey; }

size_t cdc__snap_one_key_column(const cdc__snap_one *o, size_t k)
{
    const cdc__snap_table *t = &o->tables[0];
    return t->sel[t->key_sel[k]];
}

const cdc_bytes *cdc__snap_one_key_text(const cdc__snap_one *o, const cdc_bytes *texts, size_t k)
{
    return &texts[o->tables[0].key_sel[k]];
}

int cdc__snap_one_sql(const cdc__snap_one *o, const cdc_bytes *last, const char *cond, uint64_t limit, cdc__buf *out)
{
    int rc = cdc__snap_table_chunk_sql(&o->tables[0], cond && *cond ? cond : NULL, last, limit, out);
    if (!rc) rc = cdc__buf_terminate(out);
    return rc;
}

bool cdc__snap_one_use_binary(cdc__snap_one *o) { return cdc__snap_table_use_binary(&o->tables[0]); }

bool cdc__snap_one_binary(const cdc__snap_one *o) { return o->tables[0].binary; }

int cdc__snap_one_check_columns(const cdc__snap_one *o, const cdc__coldef *cols, size_t ncols, cdc__err *err)
{
    const cdc__snap_table *t = &o->tables[0];
    if (ncols != cdc__snap_table_fields(t))
        return cdc__err_set(err, CDC_ERR_SCHEMA, "%s.%s: the chunk's result has %zu columns, not %zu", t->t.db,
                            t->t.name, ncols, cdc__snap_table_fields(t));
    return t->binary ? cdc__snap_table_check_bin(t, cols, ncols, err) : CDC_OK;
}

int cdc__snap_one_split(const cdc__snap_one *o, const uint8_t *row, size_t len, cdc_bytes *fields, cdc__err *err)
{
    return cdc__snap_table_split(&o->tables[0], row, len, fields, err);
}

int cdc__snap_one_key_text_of(const cdc__snap_one *o, const cdc_bytes *fields, size_t k, char *buf, cdc_bytes *out,
                              cdc__err *err)
{
    return cdc__snap_table_key_text(&o->tables[0], fields, k, buf, out, err);
}

int cdc__snap_one_keyvals(cdc__snap_one *o, const cdc_bytes *texts, const cdc_value **vals, cdc__err *err)
{
    cdc__snap_table *t = &o->tables[0];
    cdc__buf *scratch = &o->row.scratch;
    cdc__buf_reset(scratch);
    if (cdc__buf_reserve(scratch, t->nkey * CDC__FROM_TEXT_SCRATCH))
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < t->nkey; k++) {
        size_t i = t->sel[t->key_sel[k]];
        const cdc_bytes *v = &texts[t->key_sel[k]];
        if (!v->ptr) return cdc__err_set(err, CDC_ERR_CORRUPT, "%s.%s: a NULL primary key value", t->t.db, t->t.name);
        size_t j = t->key_sel[k];
        int rc = t->binary ? cdc__snap_value_bin(&t->t.cols[i], t->sc[i].hint, t->bincls[j], v->ptr, v->len, scratch,
                                                 &o->keyvals[k], err)
                           : cdc__snap_value(&t->t.cols[i], t->sc[i].hint, v->ptr, v->len, scratch, &o->keyvals[k],
                                             err);
        if (rc) return rc;
    }
    *vals = o->keyvals;
    return CDC_OK;
}

int cdc__snap_one_row(cdc__snap_one *o, const uint8_t *row, size_t len, const cdc_value **vals,
                      const uint8_t **present, cdc__err *err)
{
    int rc = cdc__snap_table_row(&o->tables[0], row, len, &o->row, err);
    if (rc) return rc;
    *vals = o->row.vals;
    *present = o->row.present;
    return CDC_OK;
}
