/*
 * The source side of cdc-migrate: connecting with MariaDB Connector/C,
 * reading the migrated tables from information_schema, mapping each
 * column to its PostgreSQL type, and the source's current position.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "migrate.h"
#include "target.h"

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("cdc-migrate: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) {
        fputs("cdc-migrate: out of memory\n", stderr);
        abort();
    }
    return p;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = xmalloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

static void mbuf_grow(mbuf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        fputs("cdc-migrate: out of memory\n", stderr);
        abort();
    }
    b->p = p;
    b->cap = cap;
}

void mbuf_add(mbuf *b, const void *p, size_t n)
{
    mbuf_grow(b, n);
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

void mbuf_puts(mbuf *b, const char *s) { mbuf_add(b, s, strlen(s)); }

void mbuf_addc(mbuf *b, char c)
{
    mbuf_grow(b, 1);
    b->p[b->len++] = c;
}

void mbuf_printf(mbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    mbuf_grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *mbuf_str(mbuf *b)
{
    mbuf_grow(b, 0);
    b->p[b->len] = 0;
    return b->p;
}

void mbuf_free(mbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

MYSQL *src_connect(const mopts *o, char *err, size_t errlen)
{
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        snprintf(err, errlen, "source: out of memory");
        return NULL;
    }
    unsigned timeout = 10;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    /* TLS always: MySQL 9's caching_sha2_password needs it (or an RSA key)
     * for a full authentication; with a CA the server is verified. */
    mysql_ssl_set(m, NULL, NULL, o->src_ssl_ca, NULL, NULL);
    my_bool verify = o->src_ssl_ca ? 1 : 0;
    mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(m, o->src_host, o->src_user, o->src_password, NULL,
                            (unsigned)o->src_port, NULL, 0)) {
        snprintf(err, errlen, "source %s:%d: %s", o->src_host, o->src_port, mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    if (mysql_query(m, "SET SESSION time_zone = '+00:00', SESSION sql_mode = ''")) {
        snprintf(err, errlen, "source: %s", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* Appends s as a single-quoted MySQL string literal (utf8mb4 session). */
static void my_quote(MYSQL *m, mbuf *b, const char *s)
{
    size_t n = strlen(s);
    char *tmp = xmalloc(2 * n + 1);
    unsigned long k = mysql_real_escape_string(m, tmp, s, (unsigned long)n);
    mbuf_addc(b, '\'');
    mbuf_add(b, tmp, k);
    mbuf_addc(b, '\'');
    free(tmp);
}

char *sql_ident(const char *name, char q)
{
    mbuf b = {0};
    mbuf_addc(&b, q);
    for (const char *p = name; *p; p++) {
        if (*p == q)
            mbuf_addc(&b, q);
        mbuf_addc(&b, *p);
    }
    mbuf_addc(&b, q);
    mbuf_str(&b);
    return b.p;
}

static char *dupcol(MYSQL_ROW r, int i) { return r[i] ? xstrdup(r[i]) : NULL; }
static long long numcol(MYSQL_ROW r, int i) { return r[i] ? atoll(r[i]) : 0; }

static int charset_is_utf8(const char *cs)
{
    return cs && (!strcmp(cs, "utf8mb4") || !strcmp(cs, "utf8mb3") || !strcmp(cs, "utf8") ||
                  !strcmp(cs, "ascii"));
}

/* The documented MySQL -> PostgreSQL mapping (docs/migrate.md). Returns
 * 0, or -1 with a message for a type that has no mapping. */
int schema_map_column(mtable *t, mcol *c, char *err, size_t errlen)
{
    const char *d = c->data_type;
    char tmp[96];
    c->mytype = xstrdup(c->column_type);
    c->utf8 = charset_is_utf8(c->charset);
#define PG(s) (c->pgtype = xstrdup(s))
    if (!strcmp(d, "tinyint")) {
        c->cv = c->is_unsigned ? CV_UINT : CV_INT;
        PG("smallint");
    } else if (!strcmp(d, "smallint")) {
        c->cv = c->is_unsigned ? CV_UINT : CV_INT;
        PG(c->is_unsigned ? "integer" : "smallint");
    } else if (!strcmp(d, "mediumint")) {
        c->cv = c->is_unsigned ? CV_UINT : CV_INT;
        PG("integer");
    } else if (!strcmp(d, "int") || !strcmp(d, "integer")) {
        c->cv = c->is_unsigned ? CV_UINT : CV_INT;
        PG(c->is_unsigned ? "bigint" : "integer");
    } else if (!strcmp(d, "bigint")) {
        c->cv = c->is_unsigned ? CV_UINT : CV_INT;
        PG(c->is_unsigned ? "numeric(20,0)" : "bigint");
    } else if (!strcmp(d, "decimal")) {
        c->cv = CV_DECIMAL;
        snprintf(tmp, sizeof tmp, "numeric(%lld,%lld)", c->prec, c->scale);
        PG(tmp);
    } else if (!strcmp(d, "float")) {
        c->cv = CV_FLOAT;
        PG("real");
    } else if (!strcmp(d, "double")) {
        c->cv = CV_DOUBLE;
        PG("double precision");
    } else if (!strcmp(d, "date")) {
        c->cv = CV_DATE;
        PG("date");
    } else if (!strcmp(d, "datetime")) {
        c->cv = CV_DATETIME;
        snprintf(tmp, sizeof tmp, "timestamp(%lld) without time zone", c->fsp);
        PG(tmp);
    } else if (!strcmp(d, "timestamp")) {
        c->cv = CV_TIMESTAMP;
        snprintf(tmp, sizeof tmp, "timestamp(%lld) with time zone", c->fsp);
        PG(tmp);
    } else if (!strcmp(d, "time")) {
        c->cv = CV_TIME;
        snprintf(tmp, sizeof tmp, "interval(%lld)", c->fsp);
        PG(tmp);
    } else if (!strcmp(d, "year")) {
        c->cv = CV_YEAR;
        PG("smallint");
    } else if (!strcmp(d, "bit")) {
        c->cv = CV_BIT;
        snprintf(tmp, sizeof tmp, "bit(%lld)", c->prec ? c->prec : 1);
        PG(tmp);
    } else if (!strcmp(d, "enum")) {
        c->cv = CV_ENUM;
        PG("text");
    } else if (!strcmp(d, "set")) {
        c->cv = CV_SET;
        PG("text");
    } else if (!strcmp(d, "char") || !strcmp(d, "varchar")) {
        if (c->charset && !strcmp(c->charset, "binary")) {
            c->cv = CV_BLOB;
            PG("bytea");
        } else {
            c->cv = CV_TEXT;
            snprintf(tmp, sizeof tmp, "varchar(%lld)", c->char_len);
            PG(tmp);
        }
    } else if (!strcmp(d, "tinytext") || !strcmp(d, "text") || !strcmp(d, "mediumtext") ||
               !strcmp(d, "longtext")) {
        c->cv = CV_TEXT;
        PG("text");
    } else if (!strcmp(d, "binary")) {
        c->cv = CV_BINARY;
        PG("bytea");
    } else if (!strcmp(d, "varbinary") || !strcmp(d, "tinyblob") || !strcmp(d, "blob") ||
               !strcmp(d, "mediumblob") || !strcmp(d, "longblob")) {
        c->cv = CV_BLOB;
        PG("bytea");
    } else if (!strcmp(d, "json")) {
        c->cv = CV_JSON;
        PG("jsonb");
    } else if (!strcmp(d, "geometry") || !strcmp(d, "point") || !strcmp(d, "linestring") ||
               !strcmp(d, "polygon") || !strcmp(d, "multipoint") ||
               !strcmp(d, "multilinestring") || !strcmp(d, "multipolygon") ||
               !strcmp(d, "geomcollection") || !strcmp(d, "geometrycollection")) {
        c->cv = CV_GEOMETRY;
        PG("bytea");
    } else {
        snprintf(err, errlen, "%s.%s column %s: type %s has no mapping "
                 "(docs/migrate.md lists the supported types)", t->db, t->name, c->name,
                 c->column_type);
        return -1;
    }
#undef PG
    return 0;
}

static int query(MYSQL *m, const char *sql, MYSQL_RES **res, char *err, size_t errlen)
{
    if (mysql_query(m, sql) || !(*res = mysql_store_result(m))) {
        snprintf(err, errlen, "source: %s: %s", sql, mysql_error(m));
        return -1;
    }
    return 0;
}

static int table_wanted(const mopts *o, const char *name)
{
    if (!o->tables || !*o->tables)
        return 1;
    size_t n = strlen(name);
    for (const char *p = o->tables; *p;) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == n && !memcmp(p, name, n))
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

/* The labels of enum('a','b''c') or set(...): how many. */
static size_t label_count(const char *ct)
{
    size_t n = 0;
    const char *p = strchr(ct, '(');
    while (p && *p) {
        p = strchr(p, '\'');
        if (!p)
            break;
        for (p++; *p; p++) {
            if (*p == '\'' && p[1] == '\'')
                p++;
            else if (*p == '\'')
                break;
        }
        if (*p)
            p++;
        n++;
    }
    return n;
}

/* MySQL prints ENUM and SET labels through its utf8mb3 metadata charset,
 * so information_schema shows a 4-byte character as '?'. The exact labels
 * come from the values themselves: a temporary copy of the table holds
 * one row whose column is set to each index in turn. mytype becomes the
 * definition with the labels in UTF-8. */
static int exact_labels(MYSQL *m, mtable *t, mcol *c, char *err, size_t errlen)
{
    size_t n = label_count(c->column_type);
    char *qd = sql_ident(t->db, '`'), *qt = sql_ident(t->name, '`'), *qc = sql_ident(c->name, '`');
    mbuf q = {0}, ty = {0};
    int rc = -1;
    mbuf_printf(&q, "CREATE TEMPORARY TABLE %s.`cdc_migrate_labels` LIKE %s.%s", qd, qd, qt);
    int bad = mysql_query(m, mbuf_str(&q));
    q.len = 0;
    mbuf_printf(&q, "INSERT INTO %s.`cdc_migrate_labels` () VALUES ()", qd);
    if (bad || mysql_query(m, mbuf_str(&q))) {
        snprintf(err, errlen, "source: %s.%s column %s: reading its %s labels: %s", t->db, t->name,
                 c->name, c->data_type, mysql_error(m));
        goto out;
    }
    mbuf_printf(&ty, "%s(", c->data_type);
    for (size_t i = 0; i < n; i++) {
        q.len = 0;
        mbuf_printf(&q, "UPDATE %s.`cdc_migrate_labels` SET %s = %llu", qd, qc,
                    c->cv == CV_SET ? 1ULL << i : (unsigned long long)i + 1);
        MYSQL_RES *res = NULL;
        MYSQL_ROW r;
        if (mysql_query(m, mbuf_str(&q))) {
            snprintf(err, errlen, "source: %s.%s column %s: %s", t->db, t->name, c->name,
                     mysql_error(m));
            goto out;
        }
        q.len = 0;
        mbuf_printf(&q, "SELECT CONVERT(%s USING utf8mb4) FROM %s.`cdc_migrate_labels`", qc, qd);
        if (query(m, mbuf_str(&q), &res, err, errlen))
            goto out;
        r = mysql_fetch_row(res);
        unsigned long *len = mysql_fetch_lengths(res);
        mbuf_puts(&ty, i ? ",'" : "'");
        for (unsigned long j = 0; r && r[0] && j < len[0]; j++) {
            if (r[0][j] == '\'')
                mbuf_addc(&ty, '\'');
            mbuf_addc(&ty, r[0][j]);
        }
        mbuf_addc(&ty, '\'');
        mysql_free_result(res);
    }
    mbuf_addc(&ty, ')');
    free(c->mytype);
    c->mytype = xstrdup(mbuf_str(&ty));
    rc = 0;
out:
    q.len = 0;
    mbuf_printf(&q, "DROP TEMPORARY TABLE IF EXISTS %s.`cdc_migrate_labels`", qd);
    mysql_query(m, mbuf_str(&q));
    free(qd);
    free(qt);
    free(qc);
    mbuf_free(&q);
    mbuf_free(&ty);
    return rc;
}

int schema_load(MYSQL *m, const mopts *o, mschema *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    mbuf q = {0};
    MYSQL_RES *res = NULL;
    MYSQL_ROW r;
    mbuf_puts(&q, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ");
    my_quote(m, &q, o->database);
    mbuf_puts(&q, " AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME NOT LIKE 'cdc\\_migrate%' "
                  "ORDER BY TABLE_NAME");
    if (query(m, mbuf_str(&q), &res, err, errlen))
        goto fail;
    size_t cap = mysql_num_rows(res);
    s->t = xcalloc(cap, sizeof *s->t);
    while ((r = mysql_fetch_row(res))) {
        if (!table_wanted(o, r[0]))
            continue;
        mtable *t = &s->t[s->n++];
        t->db = xstrdup(o->database);
        t->name = xstrdup(r[0]);
    }
    mysql_free_result(res);
    res = NULL;
    if (s->n == 0) {
        snprintf(err, errlen, "source: database %s has no tables to migrate%s", o->database,
                 o->tables ? " (check --tables)" : "");
        goto fail;
    }
    for (size_t i = 0; i < s->n; i++) {
        mtable *t = &s->t[i];
        q.len = 0;
        mbuf_puts(&q, "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, "
                      "COLLATION_NAME, IS_NULLABLE, CHARACTER_MAXIMUM_LENGTH, "
                      "CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, "
                      "DATETIME_PRECISION FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ");
        my_quote(m, &q, t->db);
        mbuf_puts(&q, " AND TABLE_NAME = ");
        my_quote(m, &q, t->name);
        mbuf_puts(&q, " ORDER BY ORDINAL_POSITION");
        if (query(m, mbuf_str(&q), &res, err, errlen))
            goto fail;
        t->ncols = mysql_num_rows(res);
        t->cols = xcalloc(t->ncols, sizeof *t->cols);
        for (size_t k = 0; (r = mysql_fetch_row(res)); k++) {
            mcol *c = &t->cols[k];
            c->name = dupcol(r, 0);
            c->data_type = dupcol(r, 1);
            for (char *p = c->data_type; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            c->column_type = dupcol(r, 2);
            c->charset = dupcol(r, 3);
            c->collation = dupcol(r, 4);
            c->nullable = r[5] && !strcmp(r[5], "YES");
            c->char_len = numcol(r, 6);
            c->octet_len = numcol(r, 7);
            c->prec = numcol(r, 8);
            c->scale = numcol(r, 9);
            c->fsp = numcol(r, 10);
            c->is_unsigned = strstr(c->column_type, "unsigned") != NULL;
            if (schema_map_column(t, c, err, errlen)) {
                mysql_free_result(res);
                res = NULL; /* freed once: fail frees it too */
                goto fail;
            }
        }
        mysql_free_result(res);
        res = NULL;
        for (size_t k = 0; k < t->ncols; k++)
            if ((t->cols[k].cv == CV_ENUM || t->cols[k].cv == CV_SET) &&
                strchr(t->cols[k].column_type, '?') && exact_labels(m, t, &t->cols[k], err, errlen))
                goto fail;
        /* Keys: the primary key and the secondary indexes. */
        q.len = 0;
        mbuf_puts(&q, "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART FROM "
                      "information_schema.STATISTICS WHERE TABLE_SCHEMA = ");
        my_quote(m, &q, t->db);
        mbuf_puts(&q, " AND TABLE_NAME = ");
        my_quote(m, &q, t->name);
        mbuf_puts(&q, " ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX");
        if (query(m, mbuf_str(&q), &res, err, errlen))
            goto fail;
        size_t nstat = mysql_num_rows(res);
        t->pk = xcalloc(nstat, sizeof *t->pk);
        t->idx = xcalloc(nstat, sizeof *t->idx);
        while ((r = mysql_fetch_row(res))) {
            size_t ci = t->ncols;
            for (size_t k = 0; k < t->ncols; k++)
                if (r[2] && !strcmp(t->cols[k].name, r[2]))
                    ci = k;
            if (ci == t->ncols)
                continue; /* an expression index: not migrated */
            if (!strcmp(r[0], "PRIMARY")) {
                t->pk[t->npk++] = ci;
                continue;
            }
            mindex *x = t->nidx ? &t->idx[t->nidx - 1] : NULL;
            if (!x || strcmp(x->name, r[0])) {
                x = &t->idx[t->nidx++];
                x->name = xstrdup(r[0]);
                x->unique = r[1] && !strcmp(r[1], "0");
                x->cols = xcalloc(nstat, sizeof *x->cols);
                x->sub = xcalloc(nstat, sizeof *x->sub);
            }
            x->sub[x->ncols] = r[3] ? atoll(r[3]) : 0;
            x->cols[x->ncols++] = ci;
        }
        mysql_free_result(res);
        res = NULL;
        if (t->npk == 0) {
            snprintf(err, errlen, "source table %s.%s has no primary key: cdc-migrate needs "
                     "one to apply updates and deletes (add a key, or leave the table out "
                     "with --tables)", t->db, t->name);
            goto fail;
        }
    }
    mbuf_free(&q);
    return 0;
fail:
    if (res)
        mysql_free_result(res);
    mbuf_free(&q);
    schema_free(s);
    return -1;
}

static void table_free(mtable *t)
{
    {
        for (size_t k = 0; k < t->ncols; k++) {
            mcol *c = &t->cols[k];
            free(c->name);
            free(c->data_type);
            free(c->column_type);
            free(c->charset);
            free(c->collation);
            free(c->pgtype);
            free(c->mytype);
        }
        for (size_t k = 0; k < t->nidx; k++) {
            free(t->idx[k].name);
            free(t->idx[k].cols);
            free(t->idx[k].sub);
        }
        free(t->idx);
        free(t->cols);
        free(t->pk);
        free(t->db);
        free(t->name);
        free(t->tq);
        free(t->ins_head);
        free(t->ins_tail);
        mbuf_free(&t->copybuf);
    }
}

void schema_free(mschema *s)
{
    for (size_t i = 0; i < s->n; i++)
        table_free(&s->t[i]);
    free(s->t);
    memset(s, 0, sizeof *s);
}

void schema_remove(mschema *s, size_t i)
{
    table_free(&s->t[i]);
    memmove(s->t + i, s->t + i + 1, (s->n - i - 1) * sizeof *s->t);
    s->n--;
}

void schema_take(mschema *s, mschema *from)
{
    s->t = realloc(s->t, (s->n + from->n) * sizeof *s->t);
    if (!s->t)
        abort();
    memcpy(s->t + s->n, from->t, from->n * sizeof *s->t);
    s->n += from->n;
    free(from->t);
    memset(from, 0, sizeof *from);
}

mtable *schema_find(mschema *s, const char *db, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->t[i].name, name) && !strcmp(s->t[i].db, db))
            return &s->t[i];
    return NULL;
}

/* SHOW BINARY LOG STATUS (MySQL 8.2+) or SHOW MASTER STATUS as a
 * checkpoint string "cdc1:file=...;pos=..." (file and offset only: what
 * cutover compares against the target's checkpoint). */
int src_position(MYSQL *m, char *out, size_t cap, char *err, size_t errlen)
{
    MYSQL_RES *res = NULL;
    MYSQL_ROW r;
    int maria = strstr(mysql_get_server_info(m), "MariaDB") != NULL;
    if (mysql_query(m, maria ? "SHOW MASTER STATUS" : "SHOW BINARY LOG STATUS") ||
        !(res = mysql_store_result(m)) || !(r = mysql_fetch_row(res)) || !r[0] || !r[1]) {
        snprintf(err, errlen, "source: cannot read the binlog position: %s", mysql_error(m));
        if (res)
            mysql_free_result(res);
        return -1;
    }
    char text[4096];
    snprintf(text, sizeof text, "%s:%s", r[0], r[1]);
    mysql_free_result(res);
    cdc_position *p;
    if (cdc_position_parse(&p, text, NULL, err, errlen))
        return -1;
    size_t need;
    int rc = cdc_position_format(p, out, cap, &need);
    cdc_position_free(p);
    if (rc) {
        snprintf(err, errlen, "source position too long");
        return -1;
    }
    return 0;
}

int schema_prepare(const mopts *o, mschema *s)
{
    char err[2048];
    MYSQL *m = src_connect(o, err, sizeof err);
    if (!m) {
        fprintf(stderr, "cdc-migrate: %s\n", err);
        return 1;
    }
    int rc = schema_load(m, o, s, err, sizeof err);
    mysql_close(m);
    if (rc) {
        fprintf(stderr, "cdc-migrate: %s\n", err);
        return 1;
    }
    o->tops->prepare(o, s);
    return 0;
}
