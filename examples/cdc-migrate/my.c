/*
 * The MySQL / MariaDB target (MariaDB Connector/C): connection, schema
 * creation with the type and collation mapping between the two flavours,
 * the state, dead-letter and marker tables, multi-row INSERT for the bulk
 * load, INSERT ... ON DUPLICATE KEY UPDATE for the apply. Every
 * transaction cdc-migrate opens here writes its marker row first, so a
 * stream reading this server back (a reverse migration) can drop it
 * whole with the library's transaction.marker.table filter.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "my.h"

typedef struct myt {
    target base;
    MYSQL *m;
    int maria;      /* the target is MariaDB */
    int retriable;  /* the last failure was the target's, not the data's */
    char *qstate;   /* `state schema` */
    char **colls;   /* the target's collations, sorted */
    size_t ncolls;
} myt;

char *my_ident(const char *name) { return sql_ident(name, '`'); }

static const char *state_schema(const mopts *o)
{
    return o->state_schema ? o->state_schema : "cdc_migrate";
}

/* mysql://user@host:port/?ssl-ca=FILE (or mariadb://). The password comes
 * from $CDC_MIGRATE_TARGET_PASSWORD, never from the URL, so it is never
 * printed with it. */
typedef struct myurl {
    char user[128], host[256], ca[1024];
    unsigned port;
} myurl;

static int parse_url(const char *dsn, myurl *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    snprintf(u->user, sizeof u->user, "root");
    snprintf(u->host, sizeof u->host, "127.0.0.1");
    u->port = 3306;
    const char *p = strstr(dsn, "://");
    if (!p) {
        snprintf(err, errlen, "--target: not a mysql:// URL");
        return -1;
    }
    p += 3;
    const char *end = p + strcspn(p, "/?");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at) {
        if (memchr(p, ':', (size_t)(at - p))) {
            snprintf(err, errlen, "--target: put the target's password in "
                     "$CDC_MIGRATE_TARGET_PASSWORD, not in the URL");
            return -1;
        }
        snprintf(u->user, sizeof u->user, "%.*s", (int)(at - p), p);
        p = at + 1;
    }
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (colon) {
        char *e;
        long port = strtol(colon + 1, &e, 10);
        if (e != end || port <= 0 || port > 65535) {
            snprintf(err, errlen, "--target: the port in the URL is not a number 1-65535");
            return -1;
        }
        u->port = (unsigned)port;
    }
    size_t hl = (size_t)((colon ? colon : end) - p);
    if (hl)
        snprintf(u->host, sizeof u->host, "%.*s", (int)hl, p);
    const char *q = strchr(end, '?');
    while (q && *q) {
        q++;
        size_t n = strcspn(q, "&");
        if (!strncmp(q, "ssl-ca=", 7))
            snprintf(u->ca, sizeof u->ca, "%.*s", (int)(n - 7), q + 7);
        else {
            snprintf(err, errlen, "--target: unknown URL parameter '%.*s' (known: ssl-ca)",
                     (int)n, q);
            return -1;
        }
        q += n;
    }
    return 0;
}

static long my_exec(target *tt, const char *sql, char *err, size_t errlen);

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static target *my_connect(const mopts *o, char *err, size_t errlen)
{
    myurl u;
    if (parse_url(o->target_dsn, &u, err, errlen))
        return NULL;
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        snprintf(err, errlen, "target: out of memory");
        return NULL;
    }
    unsigned timeout = 10;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    /* A dead target must not hang a read: the apply retries instead. */
    unsigned rw = 60;
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
    mysql_ssl_set(m, NULL, NULL, u.ca[0] ? u.ca : NULL, NULL, NULL);
    my_bool verify = u.ca[0] ? 1 : 0;
    mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    const char *pw = getenv("CDC_MIGRATE_TARGET_PASSWORD");
    if (!mysql_real_connect(m, u.host, u.user, pw, NULL, u.port, NULL,
                            CLIENT_MULTI_STATEMENTS | CLIENT_FOUND_ROWS)) {
        snprintf(err, errlen, "target %s:%u: %s", u.host, u.port, mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    myt *t = xcalloc(1, sizeof *t);
    t->base.ops = &my_target;
    t->m = m;
    t->maria = strstr(mysql_get_server_info(m), "MariaDB") != NULL;
    t->qstate = my_ident(state_schema(o));
    mbuf b = {0};
    mbuf_printf(&b, "%s.`state`", t->qstate);
    t->base.state_tbl = xstrdup(mbuf_str(&b));
    b.len = 0;
    mbuf_printf(&b, "%s.`dead_letter`", t->qstate);
    t->base.dl_tbl = xstrdup(mbuf_str(&b));
    mbuf_free(&b);
    /* Exact values: UTC for TIMESTAMP, zero dates allowed, errors instead
     * of silent truncation, plain '' strings, 0 kept in AUTO_INCREMENT
     * columns; constraints were checked on the source. */
    if (my_exec(&t->base, "SET SESSION time_zone = '+00:00', SESSION sql_mode = "
                          "'STRICT_ALL_TABLES,NO_BACKSLASH_ESCAPES,NO_AUTO_VALUE_ON_ZERO,"
                          "NO_ENGINE_SUBSTITUTION', SESSION foreign_key_checks = 0",
                err, errlen) < 0) {
        target_close(&t->base);
        return NULL;
    }
    MYSQL_RES *res;
    if (mysql_query(m, "SELECT COLLATION_NAME FROM information_schema.COLLATIONS") ||
        !(res = mysql_store_result(m))) {
        snprintf(err, errlen, "target: %s", mysql_error(m));
        target_close(&t->base);
        return NULL;
    }
    t->colls = xcalloc(mysql_num_rows(res), sizeof *t->colls);
    MYSQL_ROW r;
    while ((r = mysql_fetch_row(res)))
        if (r[0])
            t->colls[t->ncolls++] = xstrdup(r[0]);
    mysql_free_result(res);
    qsort(t->colls, t->ncolls, sizeof *t->colls, cmp_str);
    return &t->base;
}

static void my_close(target *tt)
{
    myt *t = (myt *)tt;
    mysql_close(t->m);
    free(t->qstate);
    for (size_t i = 0; i < t->ncolls; i++)
        free(t->colls[i]);
    free(t->colls);
}

/* Client errors (2000-2999: connection gone, timeouts) and the server's transient
 * ones: deadlock, lock wait, shutdown, killed, read-only during a
 * switchover, too many connections. */
static int transient(unsigned e)
{
    return (e >= 2000 && e < 3000) || e == 1213 || e == 1205 || e == 1053 || e == 1317 || e == 1927 ||
           e == 1290 || e == 1836 || e == 1040 || e == 1159 || e == 1161 || e == 4031 ||
           e == 3169;
}

static void my_fail(myt *t, char *err, size_t errlen, const char *what)
{
    unsigned e = mysql_errno(t->m);
    t->retriable = e == 0 || transient(e);
    snprintf(err, errlen, "target%s%s: %s (%u)", what ? " " : "", what ? what : "",
             mysql_error(t->m), e);
}

static int my_lost(target *tt) { return ((myt *)tt)->retriable; }

static long my_exec(target *tt, const char *sql, char *err, size_t errlen)
{
    myt *t = (myt *)tt;
    if (mysql_real_query(t->m, sql, (unsigned long)strlen(sql))) {
        my_fail(t, err, errlen, NULL);
        return -1;
    }
    long n = 0;
    for (;;) {
        MYSQL_RES *res = mysql_store_result(t->m);
        if (res)
            mysql_free_result(res);
        else if (mysql_field_count(t->m) == 0)
            n = (long)mysql_affected_rows(t->m);
        else {
            my_fail(t, err, errlen, NULL);
            return -1;
        }
        int st = mysql_next_result(t->m);
        if (st < 0)
            break;
        if (st > 0) {
            my_fail(t, err, errlen, NULL);
            return -1;
        }
    }
    t->retriable = 0;
    return n;
}

static int my_select(target *tt, const char *sql, target_row_cb row, void *ud, char *err,
                     size_t errlen)
{
    myt *t = (myt *)tt;
    MYSQL_RES *res;
    if (mysql_real_query(t->m, sql, (unsigned long)strlen(sql)) ||
        !(res = mysql_use_result(t->m))) {
        my_fail(t, err, errlen, NULL);
        return -1;
    }
    size_t nf = mysql_num_fields(res);
    MYSQL_ROW r;
    int rc = 0;
    while ((r = mysql_fetch_row(res))) {
        if (!rc)
            rc = row(r, mysql_fetch_lengths(res), nf, ud);
    }
    if (mysql_errno(t->m)) {
        my_fail(t, err, errlen, NULL);
        rc = -1;
    }
    mysql_free_result(res);
    return rc;
}

typedef struct v1 {
    char *v;
    int found;
} v1;

static int v1_row(char **vals, unsigned long *lens, size_t n, void *ud)
{
    v1 *x = ud;
    if (!x->found && n) {
        x->found = 1;
        x->v = xmalloc(vals[0] ? lens[0] + 1 : 1);
        if (vals[0])
            memcpy(x->v, vals[0], lens[0]);
        x->v[vals[0] ? lens[0] : 0] = 0;
    }
    return 0;
}

static char *my_value1(target *tt, const char *sql, char *err, size_t errlen, int *found)
{
    v1 x = {0};
    *found = 0;
    if (my_select(tt, sql, v1_row, &x, err, errlen) < 0) {
        free(x.v);
        return NULL;
    }
    *found = x.found;
    return x.v ? x.v : xstrdup("");
}

/* tq, the column list for INSERT and the ON DUPLICATE KEY UPDATE clause
 * (VALUES(c): the form both MySQL and MariaDB read). */
static void my_prepare(const mopts *o, mschema *s)
{
    char *qs = my_ident(o->target_schema ? o->target_schema : o->database);
    for (size_t i = 0; i < s->n; i++) {
        mtable *t = &s->t[i];
        mbuf b = {0};
        target_statement_head(t, qs, my_ident, &b);
        mbuf_puts(&b, ") ON DUPLICATE KEY UPDATE ");
        int any = 0;
        for (size_t k = 0; k < t->ncols; k++) {
            int is_pk = 0;
            for (size_t j = 0; j < t->npk; j++)
                is_pk |= t->pk[j] == k;
            if (is_pk)
                continue;
            char *qc = my_ident(t->cols[k].name);
            mbuf_printf(&b, "%s%s=VALUES(%s)", any ? "," : "", qc, qc);
            any = 1;
            free(qc);
        }
        if (!any) {
            char *qc = my_ident(t->cols[t->pk[0]].name);
            mbuf_printf(&b, "%s=%s", qc, qc);
            free(qc);
        }
        free(t->ins_tail);
        t->ins_tail = xstrdup(mbuf_str(&b));
        mbuf_free(&b);
    }
    free(qs);
}

static int has_coll(const myt *t, const char *name)
{
    return bsearch(&name, t->colls, t->ncolls, sizeof *t->colls, cmp_str) != NULL;
}

/* A collation the target lacks, mapped (docs/migrate.md): MySQL's UCA 9.0
 * accent- and case-insensitive collations become MariaDB's UCA 5.2 NO PAD
 * one; every other missing collation becomes its charset's binary one
 * (NO PAD where there is one), which never makes two distinct keys equal. */
static const char *map_collation(const myt *t, const char *cs, const char *coll, char *buf,
                                 size_t cap)
{
    if (!coll || has_coll(t, coll))
        return coll;
    size_t n = strlen(coll);
    const char *cands[4];
    size_t nc = 0;
    char a[96], b2[96], c3[96];
    if (!strcmp(cs, "utf8mb4") && n > 9 && strstr(coll, "_0900_ai_ci")) {
        cands[nc++] = "utf8mb4_unicode_520_nopad_ci";
        cands[nc++] = "utf8mb4_0900_ai_ci";
    }
    if (strstr(coll, "_nopad_") || strstr(coll, "_0900_") || !strcmp(cs, "utf8mb4")) {
        snprintf(a, sizeof a, "%s_nopad_bin", cs);
        cands[nc++] = a;
        snprintf(b2, sizeof b2, "%s_0900_bin", cs);
        cands[nc++] = b2;
    }
    snprintf(c3, sizeof c3, "%s_bin", cs);
    if (nc < 4)
        cands[nc++] = c3;
    for (size_t i = 0; i < nc; i++)
        if (has_coll(t, cands[i])) {
            snprintf(buf, cap, "%s", cands[i]);
            return buf;
        }
    return NULL;
}

/* The target column type: the source's COLUMN_TYPE, the flavour's
 * spelling of JSON, and the charset and a collation the target has. */
static int column_def(myt *t, const mtable *mt, const mcol *c, mbuf *q, char *err, size_t errlen)
{
    char *qc = my_ident(c->name);
    mbuf_printf(q, "%s ", qc);
    free(qc);
    if (c->cv == CV_JSON) {
        /* MySQL's binary JSON; MariaDB's JSON is LONGTEXT with a check */
        mbuf_puts(q, "JSON");
    } else {
        mbuf_puts(q, c->mytype);
        if (c->charset && strcmp(c->charset, "binary") &&
            (c->cv == CV_TEXT || c->cv == CV_ENUM || c->cv == CV_SET)) {
            char buf[128];
            const char *coll = map_collation(t, c->charset, c->collation, buf, sizeof buf);
            if (!coll) {
                snprintf(err, errlen, "%s.%s column %s: the target has no collation %s and "
                         "none of its charset %s to map it to", mt->db, mt->name, c->name,
                         c->collation, c->charset);
                return -1;
            }
            if (c->collation && strcmp(coll, c->collation))
                fprintf(stderr, "cdc-migrate: %s.%s column %s: collation %s becomes %s on the "
                        "target (docs/migrate.md)\n", mt->db, mt->name, c->name, c->collation,
                        coll);
            mbuf_printf(q, " CHARACTER SET %s COLLATE %s", c->charset, coll);
        }
    }
    mbuf_puts(q, c->nullable ? " NULL" : " NOT NULL");
    return 0;
}

static int my_column_def(target *tt, const mtable *mt, const mcol *c, mbuf *q, char *err,
                         size_t errlen)
{
    return column_def((myt *)tt, mt, c, q, err, errlen);
}

static int my_setup(target *tt, const mopts *o, mschema *s, char *err, size_t errlen)
{
    myt *t = (myt *)tt;
    mbuf q = {0};
    mbuf_printf(&q, "CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4;"
                    "CREATE TABLE IF NOT EXISTS %s ("
                    " name VARCHAR(191) NOT NULL PRIMARY KEY, phase VARCHAR(32) NOT NULL,"
                    " checkpoint TEXT, snapshot_point TEXT, txns BIGINT NOT NULL DEFAULT 0,"
                    " `rows` BIGINT NOT NULL DEFAULT 0, dead_letters BIGINT NOT NULL DEFAULT 0,"
                    " last_commit_ms BIGINT, control VARCHAR(16) NOT NULL DEFAULT 'run',"
                    " updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
                    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;"
                    "CREATE TABLE IF NOT EXISTS %s ("
                    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(191) NOT NULL,"
                    " source_table VARCHAR(512) NOT NULL, op CHAR(1) NOT NULL,"
                    " position TEXT NOT NULL, gtid TEXT, error TEXT NOT NULL, row_data LONGTEXT,"
                    " at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
                    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;"
                    "CREATE TABLE IF NOT EXISTS %s.`marker` ("
                    " name VARCHAR(191) NOT NULL PRIMARY KEY, txns BIGINT NOT NULL"
                    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;",
                t->qstate, t->base.state_tbl, t->base.dl_tbl, t->qstate);
    char *qs = my_ident(o->target_schema ? o->target_schema : o->database);
    mbuf_printf(&q, "CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4;", qs);
    free(qs);
    int rc = 0;
    for (size_t i = 0; i < s->n && !rc; i++) {
        mtable *mt = &s->t[i];
        mbuf_printf(&q, "CREATE TABLE IF NOT EXISTS %s (", mt->tq);
        for (size_t k = 0; k < mt->ncols && !rc; k++) {
            if (k)
                mbuf_puts(&q, ", ");
            rc = column_def(t, mt, &mt->cols[k], &q, err, errlen);
        }
        mbuf_puts(&q, ", PRIMARY KEY (");
        for (size_t k = 0; k < mt->npk; k++) {
            char *qc = my_ident(mt->cols[mt->pk[k]].name);
            mbuf_printf(&q, "%s%s", k ? ", " : "", qc);
            free(qc);
        }
        mbuf_puts(&q, ")) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;");
    }
    if (!rc && my_exec(tt, mbuf_str(&q), err, errlen) < 0)
        rc = -1;
    mbuf_free(&q);
    return rc;
}

typedef struct names {
    char **v;
    size_t n, cap;
} names;

static int name_row(char **vals, unsigned long *lens, size_t n, void *ud)
{
    names *x = ud;
    (void)lens;
    if (!n || !vals[0])
        return 0;
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 16;
        x->v = realloc(x->v, x->cap * sizeof *x->v);
        if (!x->v)
            abort();
    }
    x->v[x->n++] = xstrdup(vals[0]);
    return 0;
}

/* The secondary indexes each table lacks, by name (MySQL has no ADD
 * INDEX IF NOT EXISTS). */
static int my_indexes(target *tt, const mopts *o, mschema *s, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; i < s->n && !rc; i++) {
        mtable *mt = &s->t[i];
        if (!mt->nidx)
            continue;
        mbuf q = {0};
        mbuf_puts(&q, "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE "
                      "TABLE_SCHEMA = ");
        const char *db = o->target_schema ? o->target_schema : o->database;
        sql_quote(&q, db, strlen(db));
        mbuf_puts(&q, " AND TABLE_NAME = ");
        sql_quote(&q, mt->name, strlen(mt->name));
        names have = {0};
        rc = my_select(tt, mbuf_str(&q), name_row, &have, err, errlen) < 0 ? -1 : 0;
        q.len = 0;
        int any = 0;
        for (size_t k = 0; k < mt->nidx && !rc; k++) {
            mindex *x = &mt->idx[k];
            int exists = 0;
            for (size_t j = 0; j < have.n; j++)
                exists |= !strcmp(have.v[j], x->name);
            if (exists)
                continue;
            char *qn = my_ident(x->name);
            mbuf_printf(&q, "%s ADD %sINDEX %s (", any ? "," : "", x->unique ? "UNIQUE " : "", qn);
            free(qn);
            for (size_t j = 0; j < x->ncols; j++) {
                char *qc = my_ident(mt->cols[x->cols[j]].name);
                mbuf_printf(&q, "%s%s", j ? ", " : "", qc);
                if (x->sub && x->sub[j])
                    mbuf_printf(&q, "(%lld)", x->sub[j]);
                free(qc);
            }
            mbuf_puts(&q, ")");
            any = 1;
        }
        for (size_t j = 0; j < have.n; j++)
            free(have.v[j]);
        free(have.v);
        if (any && !rc) {
            mbuf a = {0};
            mbuf_printf(&a, "ALTER TABLE %s%s", mt->tq, mbuf_str(&q));
            rc = my_exec(tt, mbuf_str(&a), err, errlen) < 0 ? -1 : 0;
            mbuf_free(&a);
        }
        mbuf_free(&q);
    }
    return rc;
}

static void my_begin(target *tt, mbuf *q, const char *qname)
{
    myt *t = (myt *)tt;
    mbuf_printf(q, "BEGIN; INSERT INTO %s.`marker` (name, txns) VALUES (%s, 1) "
                   "ON DUPLICATE KEY UPDATE txns = txns + 1;", t->qstate, qname);
}

/* The copy is one transaction, opened with the marker and emptying the
 * tables with DELETE (TRUNCATE would commit, and would reach a reverse
 * migration's stream as DDL). */
static int my_copy_begin(target *tt, mschema *s, const char *qname, char *err, size_t errlen)
{
    mbuf q = {0};
    my_begin(tt, &q, qname);
    for (size_t i = 0; i < s->n; i++)
        mbuf_printf(&q, "DELETE FROM %s;", s->t[i].tq);
    long rc = my_exec(tt, mbuf_str(&q), err, errlen);
    mbuf_free(&q);
    return rc < 0 ? -1 : 0;
}

static int my_copy_row(const mopts *o, mtable *t, const cdc_change *c, mbuf *scratch, char *err,
                       size_t errlen)
{
    mbuf *b = &t->copybuf;
    size_t mark = b->len;
    mbuf_puts(b, b->len ? ",(" : "(");
    for (size_t i = 0; i < t->ncols; i++) {
        if (i)
            mbuf_addc(b, ',');
        if (value_mysql(o, &t->cols[i], cdc_change_after(c, i), b, scratch, err, errlen) ==
            V_ERR) {
            b->len = mark;
            return -1;
        }
    }
    mbuf_addc(b, ')');
    t->copyrows++;
    return 0;
}

/* One multi-row INSERT of n bytes of t's rows as my_copy_row writes them
 * ("(..),(..)"): the copy workers' path, and the main connection's. */
static int my_copy_put(target *tt, const mtable *t, const char *data, size_t n, char *err,
                       size_t errlen)
{
    if (!n)
        return 0;
    mbuf q = {0};
    size_t hl = strlen(t->ins_head);
    mbuf_add(&q, t->ins_head, hl - 1); /* "INSERT INTO t (a,b) VALUES " */
    mbuf_add(&q, data, n);
    long rc = my_exec(tt, mbuf_str(&q), err, errlen);
    mbuf_free(&q);
    if (rc < 0) {
        size_t l = strlen(err);
        snprintf(err + l, errlen > l ? errlen - l : 0, " (INSERT INTO %s)", t->tq);
        return -1;
    }
    return 0;
}

/* The buffered rows (about 1 MiB: the caller flushes at that size, well
 * under max_allowed_packet). */
static int my_copy(target *tt, mtable *t, char *err, size_t errlen)
{
    if (my_copy_put(tt, t, t->copybuf.p, t->copybuf.len, err, errlen))
        return -1;
    t->rows_copied += t->copyrows;
    t->copybuf.len = 0;
    t->copyrows = 0;
    return 0;
}

static void my_state(target *tt, mbuf *q, const char *qname, const char *phase, const char *ck,
                     const char *snap, long txns, long rows, int64_t last_ms)
{
    myt *t = (myt *)tt;
    mbuf_printf(q, "INSERT INTO %s (name, phase, checkpoint, snapshot_point, txns, `rows`, "
                   "last_commit_ms) VALUES (%s, '%s', ", t->base.state_tbl, qname, phase);
    sql_quote(q, ck, strlen(ck));
    mbuf_puts(q, ", ");
    if (snap)
        sql_quote(q, snap, strlen(snap));
    else
        mbuf_puts(q, "NULL");
    mbuf_printf(q, ", %ld, %ld, ", txns, rows);
    if (last_ms)
        mbuf_printf(q, "%lld", (long long)last_ms);
    else
        mbuf_puts(q, "NULL");
    mbuf_printf(q, ") ON DUPLICATE KEY UPDATE phase = VALUES(phase), checkpoint = "
                   "VALUES(checkpoint), snapshot_point = COALESCE(VALUES(snapshot_point), "
                   "snapshot_point), txns = txns + %ld, `rows` = `rows` + %ld, last_commit_ms = "
                   "COALESCE(VALUES(last_commit_ms), last_commit_ms), updated_at = "
                   "CURRENT_TIMESTAMP(6);", txns, rows);
}

static void my_dead_letter(target *tt, mbuf *out, const char *qname, const char *table, char op,
                           const char *pos, const char *gtid, const char *error, mbuf *row)
{
    myt *t = (myt *)tt;
    char ops[2] = {op, 0};
    mbuf_printf(out, "INSERT INTO %s (name, source_table, op, position, gtid, error, row_data) "
                     "VALUES (%s, ", t->base.dl_tbl, qname);
    sql_quote(out, table, strlen(table));
    mbuf_puts(out, ",");
    sql_quote(out, ops, 1);
    mbuf_puts(out, ",");
    sql_quote(out, pos, strlen(pos));
    mbuf_puts(out, ",");
    sql_quote(out, gtid, strlen(gtid));
    mbuf_puts(out, ",");
    sql_quote(out, error, strlen(error));
    mbuf_puts(out, ",");
    for (size_t i = 0; i < row->len; i++) /* statements travel as C strings */
        if (!row->p[i])
            row->p[i] = '?';
    sql_quote(out, row->p, row->len);
    mbuf_printf(out, "); UPDATE %s SET dead_letters = dead_letters + 1 WHERE name = %s;",
                t->base.state_tbl, qname);
}

static int state_row(char **v, unsigned long *lens, size_t n, void *ud)
{
    tstate *st = ud;
    (void)lens;
    if (n < 8)
        return -1;
    snprintf(st->phase, sizeof st->phase, "%s", v[0] ? v[0] : "");
    snprintf(st->ck, sizeof st->ck, "%s", v[1] ? v[1] : "");
    st->txns = v[2] ? atoll(v[2]) : 0;
    st->rows = v[3] ? atoll(v[3]) : 0;
    st->dead = v[4] ? atoll(v[4]) : 0;
    st->last_ms = v[5] ? atoll(v[5]) : 0;
    snprintf(st->control, sizeof st->control, "%s", v[6] ? v[6] : "");
    st->age_s = v[7] ? atoll(v[7]) : 0;
    return 1;
}

static int my_read_state(target *tt, const char *name, tstate *st, char *err, size_t errlen)
{
    mbuf q = {0};
    mbuf_printf(&q, "SELECT phase, COALESCE(checkpoint, ''), txns, `rows`, dead_letters, "
                    "COALESCE(last_commit_ms, 0), control, TIMESTAMPDIFF(SECOND, updated_at, "
                    "CURRENT_TIMESTAMP(6)) FROM %s WHERE name = ", tt->state_tbl);
    sql_quote(&q, name, strlen(name));
    int rc = my_select(tt, mbuf_str(&q), state_row, st, err, errlen);
    mbuf_free(&q);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        snprintf(err, errlen, "target: no migration named '%s' (has `run` started?)", name);
        return -1;
    }
    return 0;
}

static int table_row(char **v, unsigned long *lens, size_t n, void *ud)
{
    (void)lens, (void)ud;
    if (n >= 2)
        printf("table %s: ~%s rows\n", v[0] ? v[0] : "?", v[1] ? v[1] : "0");
    return 0;
}

static void my_tables(target *tt, const mopts *o)
{
    mbuf q = {0};
    const char *db = o->target_schema ? o->target_schema : o->database;
    mbuf_puts(&q, "SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME), COALESCE(TABLE_ROWS, 0) FROM "
                  "information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND "
                  "TABLE_SCHEMA = ");
    sql_quote(&q, db, strlen(db));
    mbuf_puts(&q, " ORDER BY 1");
    char err[512];
    my_select(tt, mbuf_str(&q), table_row, NULL, err, sizeof err);
    mbuf_free(&q);
}

/* The same text the source's side of verify reads (verify.c). */
static int my_target_hash_sql(const mtable *t, const char *where, mbuf *q)
{
    return my_hash_sql(t, t->tq, where, q);
}

static const char *my_verify_expr(const mcol *c, const char *qc, char *buf, size_t cap)
{
    return src_verify_expr(c, qc, buf, cap);
}

const target_ops my_target = {
    .kind = "mysql",
    .connect = my_connect,
    .close = my_close,
    .exec = my_exec,
    .value1 = my_value1,
    .select = my_select,
    .lost = my_lost,
    .prepare = my_prepare,
    .setup = my_setup,
    .indexes = my_indexes,
    .copy_begin = my_copy_begin,
    .copy_row = my_copy_row,
    .copy_flush = my_copy,
    .copy_put = my_copy_put,
    .ident = my_ident,
    .literal = value_mysql,
    .quote = sql_quote,
    .begin = my_begin,
    .state = my_state,
    .dead_letter = my_dead_letter,
    .verify_expr = my_verify_expr,
    .hash_sql = my_target_hash_sql,
    .read_state = my_read_state,
    .tables = my_tables,
    .column_def = my_column_def,
};
