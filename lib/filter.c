/*
 * filter.c: include/exclude decisions for the change stream.
 */
#include "filter.h"

#include <stdlib.h>

#include "schema.h"

static int parse_ids(const char *const *items, size_t n, const char *key, const cdc_allocator *a,
                     uint32_t **out, cdc__err *err)
{
    *out = NULL;
    if (!n) return CDC_OK;
    uint32_t *ids = cdc__calloc(a, n, sizeof *ids);
    if (!ids) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        if (!cdc__parse_u64(items[i], strlen(items[i]), &v) || v > UINT32_MAX) {
            cdc__free(a, ids);
            return cdc__err_set(err, CDC_ERR_CONFIG, "%s: '%s' is not a server_id", key, items[i]);
        }
        ids[i] = (uint32_t)v;
    }
    *out = ids;
    return CDC_OK;
}

int cdc__filter_init(cdc__filter *f, const cdc_config *cfg, const cdc_allocator *a, cdc__err *err)
{
    memset(f, 0, sizeof *f);
    f->alloc = cdc__allocator(a);
    f->db_inc = cdc__config_list(cfg, CDC_CFG_DB_INCLUDE, &f->n_db_inc);
    f->db_exc = cdc__config_list(cfg, CDC_CFG_DB_EXCLUDE, &f->n_db_exc);
    f->tbl_inc = cdc__config_list(cfg, CDC_CFG_TABLE_INCLUDE, &f->n_tbl_inc);
    f->tbl_exc = cdc__config_list(cfg, CDC_CFG_TABLE_EXCLUDE, &f->n_tbl_exc);
    f->col_exc = cdc__config_list(cfg, CDC_CFG_COLUMN_EXCLUDE, &f->n_col_exc);
    f->marker = cdc__config_list(cfg, CDC_CFG_TXN_MARKER, &f->n_marker);
    /* A table or column rule without its dots can never match: say so
     * rather than filter nothing. */
    for (size_t pass = 0; pass < 4; pass++) {
        const char *const *l = pass == 0 ? f->tbl_inc : pass == 1 ? f->tbl_exc : pass == 2 ? f->col_exc : f->marker;
        size_t n = pass == 0 ? f->n_tbl_inc : pass == 1 ? f->n_tbl_exc : pass == 2 ? f->n_col_exc : f->n_marker;
        const char *key = pass == 0 ? "table.include.list" : pass == 1 ? "table.exclude.list" : pass == 2 ? "column.exclude.list" : "transaction.marker.table";
        for (size_t i = 0; i < n; i++) {
            const char *dot = strchr(l[i], '.');
            if (!dot || (pass == 2 && !strchr(dot + 1, '.')))
                return cdc__err_set(err, CDC_ERR_CONFIG, "%s: '%s' is not %s", key, l[i],
                                    pass == 2 ? "db.table.column" : "db.table");
        }
    }
    size_t n;
    const char *const *l = cdc__config_list(cfg, CDC_CFG_SERVER_ID_INCLUDE, &n);
    int rc = parse_ids(l, n, "server.id.include.list", f->alloc, &f->sid_inc, err);
    f->n_sid_inc = n;
    l = cdc__config_list(cfg, CDC_CFG_SERVER_ID_EXCLUDE, &n);
    if (rc == CDC_OK) rc = parse_ids(l, n, "server.id.exclude.list", f->alloc, &f->sid_exc, err);
    f->n_sid_exc = rc ? 0 : n;
    l = cdc__config_list(cfg, CDC_CFG_SKIPPED_OPS, &n);
    for (size_t i = 0; i < n && rc == CDC_OK; i++) {
        if (!strcmp(l[i], "c")) f->skip_c = true;
        else if (!strcmp(l[i], "u")) f->skip_u = true;
        else if (!strcmp(l[i], "d")) f->skip_d = true;
        else rc = cdc__err_set(err, CDC_ERR_CONFIG, "skipped.operations: '%s' is not one of c, u, d", l[i]);
    }
    if (rc) cdc__filter_free(f);
    return rc;
}

void cdc__filter_free(cdc__filter *f)
{
    cdc__free(f->alloc, f->sid_inc);
    cdc__free(f->alloc, f->sid_exc);
    f->sid_inc = f->sid_exc = NULL;
    f->n_sid_inc = f->n_sid_exc = 0;
}

static bool any_match(const char *const *pats, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (cdc__glob_match(pats[i], name, len)) return true;
    return false;
}

/* Matches "db.table[.column]" patterns part by part, so '*' never
 * crosses a dot: "shop.*" is every table of shop, not of shop_archive. */
static bool match_parts(const char *pat, const char *const *parts, size_t nparts)
{
    for (size_t k = 0; k < nparts; k++) {
        /* the last part takes the rest, dots included */
        const char *dot = k + 1 < nparts ? strchr(pat, '.') : NULL;
        if (k + 1 < nparts && !dot) return false;
        size_t plen = dot ? (size_t)(dot - pat) : strlen(pat);
        char buf[256];
        if (plen >= sizeof buf) return false;
        memcpy(buf, pat, plen);
        buf[plen] = 0;
        if (!cdc__glob_match(buf, parts[k], strlen(parts[k]))) return false;
        pat += plen + (dot ? 1 : 0);
    }
    return true;
}

static bool any_match_parts(const char *const *pats, size_t n, const char *const *parts, size_t nparts)
{
    for (size_t i = 0; i < n; i++)
        if (match_parts(pats[i], parts, nparts)) return true;
    return false;
}

bool cdc__filter_db(const cdc__filter *f, const char *db)
{
    size_t dl = strlen(db);
    if (f->n_db_inc && !any_match(f->db_inc, f->n_db_inc, db, dl)) return false;
    return !any_match(f->db_exc, f->n_db_exc, db, dl);
}

bool cdc__filter_table(const cdc__filter *f, const char *db, const char *table)
{
    if (!cdc__filter_db(f, db)) return false;
    const char *parts[2] = {db, table};
    if (f->n_tbl_inc && !any_match_parts(f->tbl_inc, f->n_tbl_inc, parts, 2)) return false;
    if (any_match_parts(f->tbl_exc, f->n_tbl_exc, parts, 2)) return false;
    return true;
}

bool cdc__filter_server(const cdc__filter *f, uint32_t id)
{
    if (f->n_sid_inc) {
        bool in = false;
        for (size_t i = 0; i < f->n_sid_inc; i++) in |= f->sid_inc[i] == id;
        if (!in) return false;
    }
    for (size_t i = 0; i < f->n_sid_exc; i++)
        if (f->sid_exc[i] == id) return false;
    return true;
}

bool cdc__filter_op(const cdc__filter *f, char op)
{
    return !((op == 'c' && f->skip_c) || (op == 'u' && f->skip_u) || (op == 'd' && f->skip_d));
}

bool cdc__filter_marker(const cdc__filter *f, const char *db, const char *table)
{
    const char *parts[2] = {db, table};
    return f->n_marker && any_match_parts(f->marker, f->n_marker, parts, 2);
}

bool cdc__filter_column_excluded(const cdc__filter *f, const char *db, const char *table, const char *column)
{
    if (!column) return false;
    const char *parts[3] = {db, table, column};
    return any_match_parts(f->col_exc, f->n_col_exc, parts, 3);
}

/* Whether database db can hold a table the table.include.list takes. */
static bool db_has_included_tables(const cdc__filter *f, const char *db)
{
    if (!f->n_tbl_inc) return true;
    for (size_t i = 0; i < f->n_tbl_inc; i++) {
        const char *dot = strchr(f->tbl_inc[i], '.');
        char pat[256];
        size_t n = dot ? (size_t)(dot - f->tbl_inc[i]) : 0;
        if (!dot || n >= sizeof pat) continue;
        memcpy(pat, f->tbl_inc[i], n);
        pat[n] = 0;
        if (cdc__glob_match(pat, db, strlen(db))) return true;
    }
    return false;
}

bool cdc__filter_ddl(const cdc__filter *f, const char *db, const char *sql, size_t len)
{
    cdc__buf t;
    cdc__buf_init(&t, f->alloc);
    bool want;
    int n = cdc__schema_ddl_tables(db, strlen(db), sql, len, &t);
    if (n > 0) {
        want = false;
        const char *p = (const char *)t.data;
        for (int i = 0; i < n && !want; i++) {
            const char *d = p, *tb = d + strlen(d) + 1;
            want = cdc__filter_table(f, d, tb);
            p = tb + strlen(tb) + 1;
        }
    } else {
        cdc__buf_reset(&t);
        if (cdc__schema_ddl_database(sql, len, &t)) {
            const char *target = (const char *)t.data;
            want = cdc__filter_db(f, target) && db_has_included_tables(f, target);
        } else if (n < 0) {
            /* table DDL this reader cannot follow (ALTER ... RENAME):
             * rather delivered once too often than missed */
            want = !*db || cdc__filter_db(f, db);
        } else {
            want = (!*db || cdc__filter_db(f, db)) && !f->n_tbl_inc;
        }
    }
    cdc__buf_free(&t);
    return want;
}
