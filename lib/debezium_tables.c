/*
 * debezium_tables.c: the `tableChanges` of Debezium schema-change records.
 * Which tables a DDL statement creates, alters, renames or drops (a small
 * reader of the statement's head), and each table's definition after the
 * statement, read from information_schema over a connection of the
 * renderer's own (cdc_debezium_set_source()). debezium.c renders the
 * record around it; docs/debezium.md describes the fields.
 */
#include "debezium.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <cdc/config.h>

#include "conn.h"
#include "render.h"
#include "replica.h"
#include "resultset.h"
#include "sqllex.h"

/* ---- which tables a statement changes ------------------------------------ */

/* One change: kind, then table, then (renames) the old table. */
static bool change(cdc__buf *out, char kind)
{
    return cdc__buf_putc(out, (uint8_t)kind) == CDC_OK;
}

static bool no_old(cdc__buf *out)
{
    return cdc__buf_putc(out, 0) == CDC_OK && cdc__buf_putc(out, 0) == CDC_OK;
}

int cdc__dz_ddl_changes(const char *db, size_t dblen, const char *sql, size_t len, cdc__buf *out)
{
    cdc__lex l = {sql, sql + len};
    int n = 0;
    if (cdc__lex_kw(&l, "CREATE")) {
        if (cdc__lex_kw(&l, "OR")) cdc__lex_kw(&l, "REPLACE");
        cdc__lex_kw(&l, "TEMPORARY");
        if (cdc__lex_kw(&l, "TABLE")) {
            if (cdc__lex_kw(&l, "IF")) {
                cdc__lex_kw(&l, "NOT");
                cdc__lex_kw(&l, "EXISTS");
            }
            return change(out, 'C') && cdc__lex_table(&l, db, dblen, out) && no_old(out) ? 1 : -1;
        }
        cdc__lex_kw(&l, "ONLINE");
        cdc__lex_kw(&l, "OFFLINE");
        if (cdc__lex_kw(&l, "UNIQUE") || cdc__lex_kw(&l, "FULLTEXT") || cdc__lex_kw(&l, "SPATIAL")) {}
        if (!cdc__lex_kw(&l, "INDEX")) return 0;
        /* CREATE INDEX name [USING ...] ON table */
        cdc__buf skip;
        cdc__buf_init(&skip, out->alloc);
        if (cdc__lex_kw(&l, "IF")) {
            cdc__lex_kw(&l, "NOT");
            cdc__lex_kw(&l, "EXISTS");
        }
        bool ok = cdc__lex_ident(&l, &skip);
        cdc__buf_free(&skip);
        if (!ok) return -1;
        if (cdc__lex_kw(&l, "USING")) {
            if (!cdc__lex_kw(&l, "BTREE") && !cdc__lex_kw(&l, "HASH") && !cdc__lex_kw(&l, "RTREE")) return -1;
        }
        if (!cdc__lex_kw(&l, "ON")) return -1;
        return change(out, 'A') && cdc__lex_table(&l, db, dblen, out) && no_old(out) ? 1 : -1;
    }
    if (cdc__lex_kw(&l, "ALTER")) {
        cdc__lex_kw(&l, "ONLINE");
        cdc__lex_kw(&l, "OFFLINE");
        cdc__lex_kw(&l, "IGNORE");
        if (!cdc__lex_kw(&l, "TABLE")) return 0;
        if (cdc__lex_kw(&l, "IF")) cdc__lex_kw(&l, "EXISTS");
        cdc__buf t;
        cdc__buf_init(&t, out->alloc);
        if (!cdc__lex_table(&l, db, dblen, &t)) {
            cdc__buf_free(&t);
            return -1;
        }
        /* ALTER TABLE a ... RENAME [TO|AS] b (not RENAME COLUMN/INDEX/KEY): a
         * rename, written as the new name with the old one after it */
        int rc = -1;
        bool renamed = false;
        while (l.p < l.end) {
            if (*l.p == '\'' || *l.p == '"' || *l.p == '`') { /* skip quoted text */
                char q = *l.p++;
                while (l.p < l.end && *l.p != q) l.p += (*l.p == '\\' && l.p + 1 < l.end) ? 2 : 1;
                if (l.p < l.end) l.p++;
                continue;
            }
            const char *before = l.p;
            if ((before == sql || !(isalnum((unsigned char)before[-1]) || before[-1] == '_')) && cdc__lex_kw(&l, "RENAME")) {
                if (cdc__lex_kw(&l, "COLUMN") || cdc__lex_kw(&l, "INDEX") || cdc__lex_kw(&l, "KEY")) continue;
                if (!cdc__lex_kw(&l, "TO")) cdc__lex_kw(&l, "AS");
                size_t at = out->len;
                if (!change(out, 'A') || !cdc__lex_table(&l, db, dblen, out) ||
                    cdc__buf_append(out, t.data, t.len)) {
                    out->len = at;
                    cdc__buf_free(&t);
                    return -1;
                }
                renamed = true;
                break;
            }
            l.p = before + 1;
        }
        if (renamed) rc = 1;
        else rc = change(out, 'A') && cdc__buf_append(out, t.data, t.len) == CDC_OK && no_old(out) ? 1 : -1;
        cdc__buf_free(&t);
        return rc;
    }
    if (cdc__lex_kw(&l, "DROP")) {
        cdc__lex_kw(&l, "TEMPORARY");
        if (cdc__lex_kw(&l, "INDEX")) {
            cdc__lex_kw(&l, "ONLINE");
            cdc__lex_kw(&l, "OFFLINE");
            if (cdc__lex_kw(&l, "IF")) cdc__lex_kw(&l, "EXISTS");
            cdc__buf skip;
            cdc__buf_init(&skip, out->alloc);
            bool ok = cdc__lex_ident(&l, &skip);
            cdc__buf_free(&skip);
            if (!ok || !cdc__lex_kw(&l, "ON")) return -1;
            return change(out, 'A') && cdc__lex_table(&l, db, dblen, out) && no_old(out) ? 1 : -1;
        }
        if (!cdc__lex_kw(&l, "TABLE") && !cdc__lex_kw(&l, "TABLES")) return 0;
        if (cdc__lex_kw(&l, "IF")) cdc__lex_kw(&l, "EXISTS");
        do {
            if (!change(out, 'D') || !cdc__lex_table(&l, db, dblen, out) || !no_old(out)) return -1;
            n++;
        } while (cdc__lex_punct(&l, ','));
        return n;
    }
    if (cdc__lex_kw(&l, "RENAME")) {
        if (!cdc__lex_kw(&l, "TABLE") && !cdc__lex_kw(&l, "TABLES")) return 0;
        do {
            cdc__buf from;
            cdc__buf_init(&from, out->alloc);
            bool ok = cdc__lex_table(&l, db, dblen, &from) && cdc__lex_kw(&l, "TO") && change(out, 'A') &&
                      cdc__lex_table(&l, db, dblen, out) && cdc__buf_append(out, from.data, from.len) == CDC_OK;
            cdc__buf_free(&from);
            if (!ok) return -1;
            n++;
        } while (cdc__lex_punct(&l, ','));
        return n;
    }
    return 0;
}

/* ---- a table's definition from information_schema ------------------------- */

#define Q_COLUMNS                                                                                          \
    "SELECT COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, DATA_TYPE, COLUMN_TYPE,"            \
    " CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, CHARACTER_SET_NAME," \
    " EXTRA, COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
#define Q_TABLE                                                                                 \
    "SELECT co.CHARACTER_SET_NAME, t.TABLE_COMMENT FROM information_schema.TABLES t"           \
    " LEFT JOIN information_schema.COLLATIONS co ON co.COLLATION_NAME = t.TABLE_COLLATION"    \
    " WHERE t.TABLE_SCHEMA = "
#define Q_KEY "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE INDEX_NAME = 'PRIMARY' AND TABLE_SCHEMA = "

/* java.sql.Types of a DATA_TYPE, as Debezium's MySQL DDL parser assigns them. */
static int jdbc_type(const char *t)
{
    static const struct {
        const char *name;
        int type;
    } map[] = {
        {"tinyint", 5},     {"smallint", 5},      {"mediumint", 4},   {"int", 4},          {"integer", 4},
        {"bigint", -5},     {"float", 6},         {"double", 8},      {"real", 7},         {"decimal", 3},
        {"numeric", 2},     {"bit", -7},          {"bool", 16},       {"boolean", 16},     {"date", 91},
        {"time", 92},       {"datetime", 93},     {"timestamp", 2014}, {"year", 4},        {"char", 1},
        {"varchar", 12},    {"tinytext", 12},     {"text", 12},       {"mediumtext", 12},  {"longtext", 12},
        {"binary", -2},     {"varbinary", -3},    {"tinyblob", 2004}, {"blob", 2004},      {"mediumblob", 2004},
        {"longblob", 2004}, {"enum", 1},          {"set", 1},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcasecmp(t, map[i].name)) return map[i].type;
    return 1111; /* OTHER: JSON, the spatial types, VECTOR, MariaDB's INET4/INET6/UUID */
}

static bool is_type(const char *t, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (!strcasecmp(t, names[i])) return true;
    return false;
}

/* A non-negative decimal that fits int32, or -1. */
static long small_number(const char *s)
{
    if (!s || !*s) return -1;
    long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 214748364) return -1;
        v = v * 10 + (*s - '0');
    }
    return v <= 2147483647 ? v : -1;
}

static int put(cdc__buf *o, const char *s) { return cdc__buf_append(o, s, strlen(s)); }

static int put_jstr(cdc__buf *o, const char *s, size_t n)
{
    return s ? cdc__render_utf8_string(o, (const uint8_t *)s, n) : put(o, "null");
}

static int put_num_or_null(cdc__buf *o, long v)
{
    return v < 0 ? put(o, "null") : cdc__buf_printf(o, "%ld", v);
}

/* The labels of "enum('a','b''c')" / "set(...)" as a JSON array. */
static int put_labels(cdc__buf *o, const char *ct, cdc__buf *scratch)
{
    const char *p = strchr(ct, '(');
    if (!p) return put(o, "null");
    int rc = put(o, "[");
    bool first = true;
    p++;
    while (!rc && *p == '\'') {
        cdc__buf_reset(scratch);
        p++;
        while (*p && !rc) {
            if (*p == '\'' && p[1] == '\'') {
                rc = cdc__buf_putc(scratch, '\'');
                p += 2;
            } else if (*p == '\'') {
                p++;
                break;
            } else {
                rc = cdc__buf_putc(scratch, (uint8_t)*p++);
            }
        }
        if (!rc && !first) rc = put(o, ",");
        if (!rc) rc = put_jstr(o, (const char *)scratch->data, scratch->len);
        first = false;
        if (*p == ',') p++;
    }
    if (!rc) rc = put(o, "]");
    return rc;
}

/* "(M,D)" of COLUMN_TYPE into length and scale (FLOAT(M,D), DOUBLE(M,D)). */
static void paren_numbers(const char *ct, long *len, long *scale)
{
    const char *p = strchr(ct, '(');
    if (!p) return;
    char *e;
    long a = strtol(p + 1, &e, 10);
    if (e == p + 1 || a < 0) return;
    *len = a;
    if (*e == ',') {
        const char *s = e + 1;
        long b = strtol(s, &e, 10);
        if (e != s && b >= 0) *scale = b;
    }
}

/* s contains w, case-insensitively */
static bool contains(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = s; p && *p; p++)
        if (!strncasecmp(p, w, n)) return true;
    return false;
}

int cdc__dz_table_json(cdc__buf *o, const cdc__result *cols, const cdc__result *tab, const cdc__result *pk,
                       bool comments)
{
    enum { NAME, POS, DEF, NULLABLE, DTYPE, CTYPE, CHARLEN, NPREC, NSCALE, DTPREC, CHARSET, EXTRA, COMMENT, NF };
    static const char *const names[NF] = {"COLUMN_NAME",  "ORDINAL_POSITION", "COLUMN_DEFAULT",
                                          "IS_NULLABLE",  "DATA_TYPE",        "COLUMN_TYPE",
                                          "CHARACTER_MAXIMUM_LENGTH", "NUMERIC_PRECISION", "NUMERIC_SCALE",
                                          "DATETIME_PRECISION", "CHARACTER_SET_NAME", "EXTRA",
                                          "COLUMN_COMMENT"};
    int at[NF];
    for (int i = 0; i < NF; i++) {
        at[i] = cdc__result_col(cols, names[i]);
        if (at[i] < 0) return CDC_ERR_PROTOCOL;
    }
    static const char *const text_len[] = {"char", "varchar", "binary", "varbinary", NULL};
    static const char *const temporal[] = {"time", "datetime", "timestamp", NULL};
    static const char *const floating[] = {"float", "double", "real", NULL};
    static const char *const numeric[] = {"decimal", "numeric", NULL};
    cdc__buf scratch;
    cdc__buf_init(&scratch, o->alloc);
    const char *cs = cdc__result_rows(tab) ? cdc__result_get(tab, 0, 0) : NULL;
    const char *tcomment = cdc__result_rows(tab) && cdc__result_cols(tab) > 1 ? cdc__result_get(tab, 0, 1) : NULL;
    int rc = put(o, "{\"defaultCharsetName\":");
    if (!rc) rc = put_jstr(o, cs, cs ? strlen(cs) : 0);
    if (!rc) rc = put(o, ",\"primaryKeyColumnNames\":[");
    for (size_t i = 0; i < cdc__result_rows(pk) && !rc; i++) {
        if (i) rc = put(o, ",");
        if (!rc) rc = put_jstr(o, cdc__result_get(pk, i, 0), cdc__result_len(pk, i, 0));
    }
    if (!rc) rc = put(o, "],\"columns\":[");
    for (size_t r = 0; r < cdc__result_rows(cols) && !rc; r++) {
        const char *v[NF];
        for (int i = 0; i < NF; i++) v[i] = cdc__result_get(cols, r, (size_t)at[i]);
        const char *dt = v[DTYPE] ? v[DTYPE] : "", *ct = v[CTYPE] ? v[CTYPE] : "", *extra = v[EXTRA] ? v[EXTRA] : "";
        long len = -1, scale = -1;
        if (is_type(dt, text_len)) len = small_number(v[CHARLEN]);
        else if (is_type(dt, numeric)) {
            len = small_number(v[NPREC]);
            scale = small_number(v[NSCALE]);
        } else if (!strcasecmp(dt, "bit")) len = small_number(v[NPREC]);
        else if (is_type(dt, temporal)) {
            len = small_number(v[DTPREC]);
            if (len == 0) len = -1; /* no (fsp) written */
        } else if (is_type(dt, floating)) paren_numbers(ct, &len, &scale);
        /* the type as written: upper case, with UNSIGNED / ZEROFILL */
        cdc__buf_reset(&scratch);
        for (const char *p = dt; *p && !rc; p++) rc = cdc__buf_putc(&scratch, (uint8_t)toupper((unsigned char)*p));
        if (!rc && contains(ct, "unsigned")) rc = put(&scratch, " UNSIGNED");
        if (!rc && contains(ct, "zerofill")) rc = put(&scratch, " ZEROFILL");
        bool autoinc = contains(extra, "auto_increment");
        /* EXTRA says VIRTUAL/STORED GENERATED for a generated column on
         * both servers (MySQL's DEFAULT_GENERATED is an expression default) */
        bool generated = autoinc || contains(extra, "VIRTUAL GENERATED") || contains(extra, "STORED GENERATED");
        /* No default: SQL NULL (MySQL), or the text NULL (MariaDB, which
         * quotes string defaults: 'NULL' is the string). MariaDB's quoted
         * strings are unquoted, as MySQL reports them. */
        const char *def = v[DEF];
        size_t deflen = def ? cdc__result_len(cols, r, (size_t)at[DEF]) : 0;
        if (def && !strcmp(def, "NULL")) def = NULL;
        if (!rc) rc = put(o, r ? ",{\"name\":" : "{\"name\":");
        if (!rc) rc = put_jstr(o, v[NAME] ? v[NAME] : "", v[NAME] ? cdc__result_len(cols, r, (size_t)at[NAME]) : 0);
        if (!rc) rc = cdc__buf_printf(o, ",\"jdbcType\":%d,\"nativeType\":null,\"typeName\":", jdbc_type(dt));
        if (!rc) rc = put_jstr(o, (const char *)scratch.data, scratch.len);
        if (!rc) rc = put(o, ",\"typeExpression\":");
        if (!rc) rc = put_jstr(o, (const char *)scratch.data, scratch.len);
        if (!rc) rc = put(o, ",\"charsetName\":");
        if (!rc) rc = put_jstr(o, v[CHARSET], v[CHARSET] ? strlen(v[CHARSET]) : 0);
        if (!rc) rc = put(o, ",\"length\":");
        if (!rc) rc = put_num_or_null(o, len);
        if (!rc) rc = put(o, ",\"scale\":");
        if (!rc) rc = put_num_or_null(o, scale);
        if (!rc) rc = cdc__buf_printf(o, ",\"position\":%ld,\"optional\":%s,\"autoIncremented\":%s,\"generated\":%s"
                                      ",\"comment\":", small_number(v[POS]) < 0 ? 0 : small_number(v[POS]),
                                      v[NULLABLE] && !strcasecmp(v[NULLABLE], "YES") ? "true" : "false",
                                      autoinc ? "true" : "false", generated ? "true" : "false");
        const char *cm = comments && v[COMMENT] && *v[COMMENT] ? v[COMMENT] : NULL;
        if (!rc) rc = put_jstr(o, cm, cm ? strlen(cm) : 0);
        if (!rc) rc = cdc__buf_printf(o, ",\"hasDefaultValue\":%s,\"defaultValueExpression\":", def ? "true" : "false");
        if (!rc && def && deflen >= 2 && def[0] == '\'' && def[deflen - 1] == '\'') {
            cdc__buf_reset(&scratch);
            for (size_t k = 1; k + 1 < deflen && !rc; k++) {
                if (def[k] == '\'' && def[k + 1] == '\'') k++;
                else if (def[k] == '\\' && k + 2 < deflen) k++;
                rc = cdc__buf_putc(&scratch, (uint8_t)def[k]);
            }
            if (!rc) rc = put_jstr(o, (const char *)scratch.data, scratch.len);
        } else if (!rc) {
            rc = put_jstr(o, def, deflen);
        }
        if (!rc) rc = put(o, ",\"enumValues\":");
        if (!rc) rc = !strcasecmp(dt, "enum") || !strcasecmp(dt, "set") ? put_labels(o, ct, &scratch) : put(o, "null");
        if (!rc) rc = put(o, "}");
    }
    const char *tc = comments && tcomment && *tcomment ? tcomment : NULL;
    if (!rc) rc = put(o, "],\"comment\":");
    if (!rc) rc = put_jstr(o, tc, tc ? strlen(tc) : 0);
    if (!rc) rc = put(o, ",\"attributes\":[]}");
    cdc__buf_free(&scratch);
    return rc;
}

/* ---- the source connection ----------------------------------------------- */

struct cdc__dz_source {
    const cdc_allocator *a;
    cdc_config *cfg;
    cdc__conn *conn;
    bool connected;
};

int cdc__dz_source_new(cdc__dz_source **out, const cdc_config *cfg, const cdc_allocator *a)
{
    cdc__dz_source *s = cdc__calloc(a, 1, sizeof *s);
    if (!s) return CDC_ERR_NOMEM;
    s->a = a;
    if (cdc_config_copy(&s->cfg, cfg) != CDC_OK) {
        cdc__free(a, s);
        return CDC_ERR_NOMEM;
    }
    *out = s;
    return CDC_OK;
}

void cdc__dz_source_free(cdc__dz_source *s)
{
    if (!s) return;
    cdc__conn_free(s->conn);
    cdc_config_free(s->cfg);
    cdc__free(s->a, s);
}

/* head, then 'db', then " AND <name_col> = 'table'", then tail */
static int query(cdc__dz_source *s, const char *head, const char *db, const char *name_col, const char *table,
                 const char *tail, cdc__result **r, cdc__err *err)
{
    cdc__buf q;
    cdc__buf_init(&q, s->a);
    int rc = put(&q, head);
    if (!rc) rc = cdc__sql_quote(&q, db, strlen(db));
    if (!rc) rc = put(&q, " AND ");
    if (!rc) rc = put(&q, name_col);
    if (!rc) rc = put(&q, " = ");
    if (!rc) rc = cdc__sql_quote(&q, table, strlen(table));
    if (!rc) rc = put(&q, tail);
    if (!rc) rc = cdc__buf_terminate(&q);
    if (rc) {
        cdc__buf_free(&q);
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    rc = cdc__conn_query_result(s->conn, (const char *)q.data, r, err);
    cdc__buf_free(&q);
    return rc;
}

/* The definition of db.table, or rc 0 with *found false when it does not exist. */
static int describe(cdc__dz_source *s, const char *db, const char *table, bool comments, cdc__buf *o, bool *found,
                    cdc__err *err)
{
    *found = false;
    if (!s->connected) {
        cdc__conn_free(s->conn);
        s->conn = NULL;
        if (cdc__conn_new(&s->conn, s->a)) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
        cdc__conn_opts co;
        cdc__conn_opts_from_config(s->cfg, &co);
        int rc = cdc__conn_connect(s->conn, &co, err);
        if (rc) return rc;
        s->connected = true;
    }
    cdc__result *cols = NULL, *tab = NULL, *pk = NULL;
    int rc = query(s, Q_TABLE, db, "t.TABLE_NAME", table, "", &tab, err);
    if (!rc && cdc__result_rows(tab)) {
        rc = query(s, Q_COLUMNS, db, "TABLE_NAME", table, " ORDER BY ORDINAL_POSITION", &cols, err);
        if (!rc) rc = query(s, Q_KEY, db, "TABLE_NAME", table, " ORDER BY SEQ_IN_INDEX", &pk, err);
        if (!rc) {
            *found = true;
            rc = cdc__dz_table_json(o, cols, tab, pk, comments);
            if (rc == CDC_ERR_PROTOCOL)
                cdc__err_set(err, rc, "information_schema.COLUMNS lacks a column this reader needs");
            else if (rc)
                cdc__err_set(err, rc, "out of memory");
        }
    }
    if (rc && rc != CDC_ERR_NOMEM && rc != CDC_ERR_PROTOCOL) s->connected = false; /* reconnect next time */
    cdc__result_free(cols);
    cdc__result_free(tab);
    cdc__result_free(pk);
    return rc;
}

/* "db"."table" as Debezium's TableId.toDoubleQuotedString() writes it. */
static int put_id_part(cdc__buf *o, const char *db, const char *table)
{
    int rc = cdc__buf_putc(o, '"');
    for (const char *p = db; *p && !rc; p++) rc = cdc__buf_putc(o, (uint8_t)*p);
    if (!rc) rc = put(o, "\".\"");
    for (const char *p = table; *p && !rc; p++) rc = cdc__buf_putc(o, (uint8_t)*p);
    if (!rc) rc = cdc__buf_putc(o, '"');
    return rc;
}

int cdc__dz_table_changes(cdc__dz_source *s, bool comments, const char *db, size_t dblen, const char *sql,
                          size_t len, cdc__buf *out, cdc__err *err)
{
    int rc = put(out, "[");
    if (rc || !s) return rc ? rc : put(out, "]");
    cdc__buf ch, id, def;
    cdc__buf_init(&ch, s->a);
    cdc__buf_init(&id, s->a);
    cdc__buf_init(&def, s->a);
    int n = cdc__dz_ddl_changes(db, dblen, sql, len, &ch);
    const char *p = (const char *)ch.data;
    bool first = true;
    for (int i = 0; i < n && !rc; i++) {
        char kind = *p++;
        const char *d = p, *t = d + strlen(d) + 1, *od = t + strlen(t) + 1, *ot = od + strlen(od) + 1;
        p = ot + strlen(ot) + 1;
        cdc__buf_reset(&id);
        if (*ot) rc = put_id_part(&id, od, ot);
        if (!rc && *ot) rc = put(&id, ",");
        if (!rc) rc = put_id_part(&id, d, t);
        if (rc) break;
        bool found = true;
        cdc__buf_reset(&def);
        if (kind == 'D') {
            rc = put(&def, "null");
        } else {
            for (int attempt = 0;; attempt++) {
                bool was = s->connected;
                rc = describe(s, d, t, comments, &def, &found, err);
                if (!rc || !was || attempt) break; /* a kept connection that failed: once more on a new one */
                cdc__buf_reset(&def);
            }
            if (rc) {
                cdc__err_prefix(err, "tableChanges: the definition of %s.%s from information_schema", d, t);
                break;
            }
        }
        /* a table that is gone when the statement is rendered (dropped
         * since, or TEMPORARY) has no definition to give: left out */
        if (!found) continue;
        rc = put(out, first ? "{\"type\":" : ",{\"type\":");
        first = false;
        if (!rc) rc = put(out, kind == 'C' ? "\"CREATE\"" : kind == 'D' ? "\"DROP\"" : "\"ALTER\"");
        if (!rc) rc = put(out, ",\"id\":");
        if (!rc) rc = put_jstr(out, (const char *)id.data, id.len);
        if (!rc) rc = put(out, ",\"table\":");
        if (!rc) rc = cdc__buf_append(out, def.data, def.len);
        if (!rc) rc = put(out, "}");
    }
    if (rc == CDC_ERR_NOMEM && err->code != CDC_ERR_NOMEM) cdc__err_set(err, rc, "out of memory");
    if (!rc) rc = put(out, "]");
    cdc__buf_free(&ch);
    cdc__buf_free(&id);
    cdc__buf_free(&def);
    return rc;
}
