/*
 * schema.c: the column-name fallback for binlog_row_metadata=MINIMAL and
 * MariaDB's JSON columns, from information_schema.
 */
#include "schema.h"

#include <ctype.h>
#include <inttypes.h>
#include <strings.h>

#include "replica.h"
#include "sqllex.h"

void cdc__schema_init(cdc__schema *s, const cdc_allocator *a)
{
    memset(s, 0, sizeof *s);
    s->alloc = cdc__allocator(a);
}

static void entry_free(cdc__schema *s, cdc__schema_entry *e)
{
    for (size_t i = 0; i < e->ncols; i++) cdc__free(s->alloc, e->names[i]);
    cdc__free(s->alloc, e->names);
    cdc__free(s->alloc, e->json);
    cdc__free(s->alloc, e->db);
    cdc__free(s->alloc, e->table);
}

void cdc__schema_clear(cdc__schema *s)
{
    for (size_t i = 0; i < s->n; i++) entry_free(s, &s->e[i]);
    s->n = 0;
}

void cdc__schema_free(cdc__schema *s)
{
    cdc__schema_clear(s);
    cdc__free(s->alloc, s->e);
    s->e = NULL;
    s->cap = 0;
}

static void drop(cdc__schema *s, const char *db, const char *table)
{
    for (size_t i = 0; i < s->n;) {
        if (!strcmp(s->e[i].db, db) && !strcmp(s->e[i].table, table)) {
            entry_free(s, &s->e[i]);
            s->e[i] = s->e[--s->n];
        } else {
            i++;
        }
    }
}

static int fetch(cdc__schema *s, cdc__conn *c, const char *db, const char *table, bool mariadb,
                 cdc__schema_entry *e, cdc__err *err)
{
    cdc__buf q;
    cdc__buf_init(&q, s->alloc);
    int rc = cdc__buf_puts(&q, mariadb ? "SELECT c.COLUMN_NAME, " CDC__SCHEMA_MARIADB_JSON_SQL : "SELECT c.COLUMN_NAME");
    if (rc == CDC_OK) rc = cdc__buf_puts(&q, " FROM information_schema.COLUMNS c");
    if (mariadb) {
        /* the constants let the server fill CHECK_CONSTRAINTS for this
         * table only */
        if (rc == CDC_OK) rc = cdc__buf_puts(&q, CDC__SCHEMA_MARIADB_JSON_JOIN " AND k.CONSTRAINT_SCHEMA = ");
        if (rc == CDC_OK) rc = cdc__sql_quote(&q, db, strlen(db));
        if (rc == CDC_OK) rc = cdc__buf_puts(&q, " AND k.TABLE_NAME = ");
        if (rc == CDC_OK) rc = cdc__sql_quote(&q, table, strlen(table));
    }
    if (rc == CDC_OK) rc = cdc__buf_puts(&q, " WHERE c.TABLE_SCHEMA = ");
    if (rc == CDC_OK) rc = cdc__sql_quote(&q, db, strlen(db));
    if (rc == CDC_OK) rc = cdc__buf_puts(&q, " AND c.TABLE_NAME = ");
    if (rc == CDC_OK) rc = cdc__sql_quote(&q, table, strlen(table));
    if (rc == CDC_OK) rc = cdc__buf_puts(&q, " ORDER BY c.ORDINAL_POSITION");
    if (rc == CDC_OK) rc = cdc__buf_terminate(&q);
    if (rc) {
        cdc__buf_free(&q);
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    cdc__result *r = NULL;
    s->fetches++;
    rc = cdc__conn_query_result(c, (const char *)q.data, &r, err);
    cdc__buf_free(&q);
    if (rc) {
        cdc__err_prefix(err, "columns of %s.%s from information_schema", db, table);
        return rc;
    }
    size_t n = cdc__result_rows(r);
    memset(e, 0, sizeof *e);
    e->db = cdc__strndup(s->alloc, db, strlen(db));
    e->table = cdc__strndup(s->alloc, table, strlen(table));
    e->names = n ? cdc__calloc(s->alloc, n, sizeof *e->names) : NULL;
    e->json = n && mariadb ? cdc__calloc(s->alloc, n, 1) : NULL;
    rc = e->db && e->table && (e->names || !n) && (e->json || !n || !mariadb) ? CDC_OK : CDC_ERR_NOMEM;
    for (size_t i = 0; i < n && rc == CDC_OK; i++) {
        const char *v = cdc__result_get(r, i, 0);
        e->names[i] = cdc__strndup(s->alloc, v ? v : "", v ? cdc__result_len(r, i, 0) : 0);
        if (!e->names[i]) rc = CDC_ERR_NOMEM;
        e->ncols = i + 1;
        if (e->json) {
            const char *j = cdc__result_get(r, i, 1);
            e->json[i] = j && !strcmp(j, "1");
        }
    }
    cdc__result_free(r);
    if (rc) {
        entry_free(s, e);
        return cdc__err_set(err, rc, "out of memory");
    }
    return CDC_OK;
}

bool cdc__schema_cached(const cdc__schema *s, const char *db, const char *table, size_t ncols,
                        const char *const **names)
{
    for (size_t i = 0; i < s->n; i++) {
        const cdc__schema_entry *e = &s->e[i];
        if (strcmp(e->db, db) || strcmp(e->table, table)) continue;
        if (e->ncols == 0 || e->ncols != ncols) return false;
        *names = (const char *const *)e->names;
        return true;
    }
    return false;
}

bool cdc__schema_json_checks(const cdc__conn *c)
{
    const cdc__server_version *v = cdc__conn_server_version(c);
    return v->flavour == CDC_FLAVOUR_MARIADB && cdc__server_version_num(v) >= 100403;
}

const cdc__schema_entry *cdc__schema_find(const cdc__schema *s, const char *db, const char *table)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->e[i].db, db) && !strcmp(s->e[i].table, table)) return &s->e[i];
    return NULL;
}

int cdc__schema_fetch(cdc__schema *s, cdc__conn *c, const char *db, const char *table, bool mariadb,
                      const cdc__schema_entry **out, cdc__err *err)
{
    const cdc__schema_entry *e = cdc__schema_find(s, db, table);
    if (!e) {
        if (s->n == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 16;
            cdc__schema_entry *ne = cdc__realloc(s->alloc, s->e, nc * sizeof *ne);
            if (!ne) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
            s->e = ne;
            s->cap = nc;
        }
        int rc = fetch(s, c, db, table, mariadb, &s->e[s->n], err);
        if (rc) return rc;
        e = &s->e[s->n++];
    }
    *out = e;
    return CDC_OK;
}

int cdc__schema_names(cdc__schema *s, cdc__conn *c, const char *db, const char *table, bool mariadb, size_t ncols,
                      const char *const **names, cdc__err *err)
{
    const cdc__schema_entry *e;
    int rc = cdc__schema_fetch(s, c, db, table, mariadb, &e, err);
    if (rc) return rc;
    if (e->ncols == 0)
        return cdc__err_set(err, CDC_ERR_SCHEMA,
                            "%s.%s: the binlog has no column names (binlog_row_metadata=MINIMAL) and the table "
                            "no longer exists in information_schema", db, table);
    if (e->ncols != ncols)
        return cdc__err_set(err, CDC_ERR_SCHEMA,
                            "%s.%s: the row event has %zu columns but information_schema lists %zu; the table "
                            "changed after this event was written (binlog_row_metadata=MINIMAL gives no names; "
                            "set it to FULL)", db, table, ncols, e->ncols);
    *names = (const char *const *)e->names;
    return CDC_OK;
}

/* ---- a rough reader of DDL statements -------------------------------- */

static bool starts_with_word(const char *sql, size_t len, const char *w)
{
    size_t i = 0, n = strlen(w);
    while (i < len && (sql[i] == ' ' || sql[i] == '\n' || sql[i] == '\t' || sql[i] == '\r')) i++;
    if (len - i < n) return false;
    for (size_t k = 0; k < n; k++)
        if ((sql[i + k] & 0xdf) != w[k]) return false;
    return len - i == n || !((sql[i + n] | 0x20) >= 'a' && (sql[i + n] | 0x20) <= 'z');
}

bool cdc__schema_is_ddl(const char *sql, size_t len)
{
    static const char *const words[] = {"ALTER", "CREATE", "DROP", "RENAME", "TRUNCATE", "GRANT", "REVOKE"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (starts_with_word(sql, len, words[i])) return true;
    return false;
}

/* Skips one name (an index's or a trigger's); false when none comes. */
static bool skip_name(cdc__lex *l, const cdc_allocator *alloc)
{
    cdc__buf skip;
    cdc__buf_init(&skip, alloc);
    bool ok = cdc__lex_ident(l, &skip);
    if (ok && cdc__lex_punct(l, '.')) ok = cdc__lex_ident(l, &skip); /* db.trigger */
    cdc__buf_free(&skip);
    return ok;
}

/* DEFINER = user[@host] (CURRENT_USER[()]) as the server writes it into
 * CREATE TRIGGER/VIEW/PROCEDURE statements. */
static bool skip_definer(cdc__lex *l, const cdc_allocator *alloc)
{
    if (!cdc__lex_kw(l, "DEFINER")) return true;
    if (!cdc__lex_punct(l, '=')) return false;
    if (cdc__lex_kw(l, "CURRENT_USER")) {
        if (cdc__lex_punct(l, '(') && !cdc__lex_punct(l, ')')) return false;
        return true;
    }
    cdc__buf skip;
    cdc__buf_init(&skip, alloc);
    bool ok = true;
    /* 'user'@'host' or `user`@`host`: a quoted user and host, or bare words */
    for (int part = 0; ok && part < 2; part++) {
        cdc__lex_space(l);
        if (l->p < l->end && *l->p == '\'') {
            l->p++;
            while (l->p < l->end && *l->p != '\'') l->p += (*l->p == '\\' && l->p + 1 < l->end) ? 2 : 1;
            ok = l->p < l->end;
            if (ok) l->p++;
        } else {
            ok = cdc__lex_ident(l, &skip);
        }
        if (part == 0 && (l->p >= l->end || *l->p != '@')) break;
        if (part == 0) l->p++;
    }
    cdc__buf_free(&skip);
    return ok;
}

int cdc__schema_ddl_tables(const char *db, size_t dblen, const char *sql, size_t len, cdc__buf *out)
{
    cdc__lex l = {sql, sql + len};
    int n = 0;
    if (cdc__lex_kw(&l, "ALTER")) {
        cdc__lex_kw(&l, "ONLINE");
        cdc__lex_kw(&l, "OFFLINE");
        cdc__lex_kw(&l, "IGNORE");
        if (!cdc__lex_kw(&l, "TABLE")) return cdc__lex_kw(&l, "DATABASE") || cdc__lex_kw(&l, "SCHEMA") ? -1 : 0;
        if (cdc__lex_kw(&l, "IF")) cdc__lex_kw(&l, "EXISTS"); /* MariaDB */
        if (!cdc__lex_table(&l, db, dblen, out)) return -1;
        /* ALTER ... RENAME moves the table: drop everything instead */
        for (const char *q = l.p; q + 6 <= l.end; q++)
            if (!strncasecmp(q, "RENAME", 6)) return -1;
        return 1;
    }
    if (cdc__lex_kw(&l, "CREATE")) {
        if (cdc__lex_kw(&l, "OR")) cdc__lex_kw(&l, "REPLACE");
        cdc__lex_kw(&l, "TEMPORARY");
        if (cdc__lex_kw(&l, "TABLE")) {
            if (cdc__lex_kw(&l, "IF")) {
                cdc__lex_kw(&l, "NOT");
                cdc__lex_kw(&l, "EXISTS");
            }
            return cdc__lex_table(&l, db, dblen, out) ? 1 : -1;
        }
        if (cdc__lex_kw(&l, "DATABASE") || cdc__lex_kw(&l, "SCHEMA")) return -1;
        /* CREATE [ONLINE|OFFLINE] [UNIQUE|FULLTEXT|SPATIAL] INDEX [IF NOT EXISTS]
         * name [USING type] ON table (MySQL 9 writes ALGORITHM/LOCK after
         * the column list, MariaDB ONLINE before INDEX) */
        cdc__lex_kw(&l, "ONLINE");
        cdc__lex_kw(&l, "OFFLINE");
        bool index_kind = cdc__lex_kw(&l, "UNIQUE") || cdc__lex_kw(&l, "FULLTEXT") || cdc__lex_kw(&l, "SPATIAL");
        if (cdc__lex_kw(&l, "INDEX")) {
            if (cdc__lex_kw(&l, "IF")) {
                cdc__lex_kw(&l, "NOT");
                cdc__lex_kw(&l, "EXISTS");
            }
            if (!skip_name(&l, out->alloc)) return -1;
            if (cdc__lex_kw(&l, "USING") && !cdc__lex_kw(&l, "BTREE") && !cdc__lex_kw(&l, "HASH") &&
                !cdc__lex_kw(&l, "RTREE"))
                return -1;
            if (!cdc__lex_kw(&l, "ON")) return -1;
            return cdc__lex_table(&l, db, dblen, out) ? 1 : -1;
        }
        if (index_kind) return -1;
        /* CREATE [DEFINER = u@h] TRIGGER [IF NOT EXISTS] name {BEFORE|AFTER}
         * {INSERT|UPDATE|DELETE} ON table: it changes what writes to the
         * table do, so it belongs to the table */
        if (!skip_definer(&l, out->alloc)) return -1;
        if (cdc__lex_kw(&l, "TRIGGER")) {
            if (cdc__lex_kw(&l, "IF")) {
                cdc__lex_kw(&l, "NOT");
                cdc__lex_kw(&l, "EXISTS");
            }
            if (!skip_name(&l, out->alloc)) return -1;
            if (!cdc__lex_kw(&l, "BEFORE") && !cdc__lex_kw(&l, "AFTER")) return -1;
            if (!cdc__lex_kw(&l, "INSERT") && !cdc__lex_kw(&l, "UPDATE") && !cdc__lex_kw(&l, "DELETE")) return -1;
            if (!cdc__lex_kw(&l, "ON")) return -1;
            return cdc__lex_table(&l, db, dblen, out) ? 1 : -1;
        }
        return 0;
    }
    if (cdc__lex_kw(&l, "DROP")) {
        cdc__lex_kw(&l, "TEMPORARY");
        /* DROP INDEX [ONLINE|OFFLINE] [IF EXISTS] name ON table */
        if (cdc__lex_kw(&l, "INDEX")) {
            cdc__lex_kw(&l, "ONLINE");
            cdc__lex_kw(&l, "OFFLINE");
            if (cdc__lex_kw(&l, "IF")) cdc__lex_kw(&l, "EXISTS");
            if (!skip_name(&l, out->alloc) || !cdc__lex_kw(&l, "ON")) return -1;
            return cdc__lex_table(&l, db, dblen, out) ? 1 : -1;
        }
        if (!cdc__lex_kw(&l, "TABLE") && !cdc__lex_kw(&l, "TABLES")) return cdc__lex_kw(&l, "DATABASE") || cdc__lex_kw(&l, "SCHEMA") ? -1 : 0;
        if (cdc__lex_kw(&l, "IF")) cdc__lex_kw(&l, "EXISTS");
        do {
            if (!cdc__lex_table(&l, db, dblen, out)) return -1;
            n++;
        } while (cdc__lex_punct(&l, ','));
        return n;
    }
    if (cdc__lex_kw(&l, "RENAME")) {
        if (!cdc__lex_kw(&l, "TABLE") && !cdc__lex_kw(&l, "TABLES")) return -1;
        do {
            if (!cdc__lex_table(&l, db, dblen, out) || !cdc__lex_kw(&l, "TO") || !cdc__lex_table(&l, db, dblen, out)) return -1;
            n += 2;
        } while (cdc__lex_punct(&l, ','));
        return n;
    }
    if (cdc__lex_kw(&l, "TRUNCATE")) {
        cdc__lex_kw(&l, "TABLE");
        return cdc__lex_table(&l, db, dblen, out) ? 1 : -1;
    }
    return 0;
}

bool cdc__schema_ddl_database(const char *sql, size_t len, cdc__buf *out)
{
    cdc__lex l = {sql, sql + len};
    if (!cdc__lex_kw(&l, "CREATE") && !cdc__lex_kw(&l, "DROP") && !cdc__lex_kw(&l, "ALTER")) return false;
    if (cdc__lex_kw(&l, "OR")) cdc__lex_kw(&l, "REPLACE");
    if (!cdc__lex_kw(&l, "DATABASE") && !cdc__lex_kw(&l, "SCHEMA")) return false;
    if (cdc__lex_kw(&l, "IF")) {
        cdc__lex_kw(&l, "NOT");
        cdc__lex_kw(&l, "EXISTS");
    }
    return cdc__lex_ident(&l, out);
}

void cdc__schema_ddl(cdc__schema *s, const char *db, size_t dblen, const char *sql, size_t len)
{
    if (!s->n) return;
    cdc__buf t;
    cdc__buf_init(&t, s->alloc);
    int n = cdc__schema_ddl_tables(db, dblen, sql, len, &t);
    if (n < 0) {
        cdc__schema_clear(s);
    } else {
        const char *p = (const char *)t.data;
        for (int i = 0; i < n; i++) {
            const char *d = p, *tb = d + strlen(d) + 1;
            drop(s, d, tb);
            p = tb + strlen(tb) + 1;
        }
    }
    cdc__buf_free(&t);
}
