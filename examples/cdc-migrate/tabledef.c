/*
 * The migrated tables' source definitions, kept in the target
 * (cdc_migrate.tables) beside the checkpoint: written by the copy's
 * transaction and by each applied DDL's, read when a run starts from a
 * checkpoint. A run that starts behind DDL statements thus decodes the
 * rows before them with the definition they were written under, not with
 * the source's current one.
 *
 * Encoding: a sequence of fields, each "<length>:<bytes>", so any name
 * survives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "par.h"
#include "tabledef.h"

char *tabledef_setup_sql(const target *t)
{
    char *n = par_aux_table(t, "tables");
    mbuf b = {0};
    mbuf_printf(&b, "CREATE TABLE IF NOT EXISTS %s ("
                    " name varchar(200) NOT NULL, tbl varchar(200) NOT NULL, def %s NOT NULL,"
                    " PRIMARY KEY (name, tbl))", n,
                !strcmp(t->ops->kind, "postgresql") ? "text" : "longtext");
    free(n);
    mbuf_str(&b);
    return b.p;
}

static void put_s(mbuf *b, const char *s)
{
    if (!s) {
        mbuf_puts(b, "-1:");
        return;
    }
    mbuf_printf(b, "%zu:", strlen(s));
    mbuf_puts(b, s);
}

static void put_n(mbuf *b, long long n)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", n);
    put_s(b, tmp);
}

void tabledef_encode(const mtable *t, mbuf *b)
{
    put_s(b, "1");
    put_s(b, t->db);
    put_s(b, t->name);
    put_n(b, (long long)t->ncols);
    for (size_t i = 0; i < t->ncols; i++) {
        const mcol *c = &t->cols[i];
        put_s(b, c->name);
        put_s(b, c->data_type);
        put_s(b, c->column_type);
        put_s(b, c->charset);
        put_s(b, c->collation);
        put_n(b, c->is_unsigned);
        put_n(b, c->nullable);
        put_n(b, c->char_len);
        put_n(b, c->octet_len);
        put_n(b, c->prec);
        put_n(b, c->scale);
        put_n(b, c->fsp);
    }
    put_n(b, (long long)t->npk);
    for (size_t i = 0; i < t->npk; i++)
        put_n(b, (long long)t->pk[i]);
    put_n(b, (long long)t->nidx);
    for (size_t i = 0; i < t->nidx; i++) {
        put_s(b, t->idx[i].name);
        put_n(b, t->idx[i].unique);
        put_n(b, (long long)t->idx[i].ncols);
        for (size_t k = 0; k < t->idx[i].ncols; k++)
            put_n(b, (long long)t->idx[i].cols[k]);
    }
}

typedef struct rd {
    const char *p, *end;
    int bad;
} rd;

static char *get_s(rd *r)
{
    if (r->bad)
        return NULL;
    char *e;
    long long n = strtoll(r->p, &e, 10);
    if (e >= r->end || *e != ':' || n < -1 || (n >= 0 && (size_t)(r->end - e - 1) < (size_t)n)) {
        r->bad = 1;
        return NULL;
    }
    r->p = e + 1;
    if (n < 0)
        return NULL;
    char *s = xmalloc((size_t)n + 1);
    memcpy(s, r->p, (size_t)n);
    s[n] = 0;
    r->p += n;
    return s;
}

static long long get_n(rd *r)
{
    char *s = get_s(r);
    if (!s) {
        r->bad = 1;
        return 0;
    }
    char *e;
    long long n = strtoll(s, &e, 10);
    if (*e)
        r->bad = 1;
    free(s);
    return n;
}

int tabledef_decode(const char *p, size_t len, mtable *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    rd r = {p, p + len, 0};
    char *ver = get_s(&r);
    int ok = ver && !strcmp(ver, "1");
    free(ver);
    if (!ok) {
        snprintf(err, errlen, "cdc_migrate.tables: unknown definition format");
        return -1;
    }
    t->db = get_s(&r);
    t->name = get_s(&r);
    long long n = get_n(&r);
    if (r.bad || n < 1 || n > 4096 || !t->db || !t->name)
        goto bad;
    t->ncols = (size_t)n;
    t->cols = xcalloc(t->ncols, sizeof *t->cols);
    for (size_t i = 0; i < t->ncols && !r.bad; i++) {
        mcol *c = &t->cols[i];
        c->name = get_s(&r);
        c->data_type = get_s(&r);
        c->column_type = get_s(&r);
        c->charset = get_s(&r);
        c->collation = get_s(&r);
        c->is_unsigned = (int)get_n(&r);
        c->nullable = (int)get_n(&r);
        c->char_len = get_n(&r);
        c->octet_len = get_n(&r);
        c->prec = get_n(&r);
        c->scale = get_n(&r);
        c->fsp = get_n(&r);
        if (!c->name || !c->data_type || !c->column_type)
            r.bad = 1;
        else if (!r.bad && schema_map_column(t, c, err, errlen))
            goto fail;
    }
    n = get_n(&r);
    if (r.bad || n < 1 || (size_t)n > t->ncols)
        goto bad;
    t->npk = (size_t)n;
    t->pk = xcalloc(t->npk, sizeof *t->pk);
    for (size_t i = 0; i < t->npk; i++) {
        long long k = get_n(&r);
        if (k < 0 || (size_t)k >= t->ncols)
            r.bad = 1;
        t->pk[i] = (size_t)k;
    }
    n = get_n(&r);
    if (r.bad || n < 0 || n > 4096)
        goto bad;
    t->nidx = (size_t)n;
    t->idx = xcalloc(t->nidx, sizeof *t->idx);
    for (size_t i = 0; i < t->nidx && !r.bad; i++) {
        mindex *x = &t->idx[i];
        x->name = get_s(&r);
        x->unique = (int)get_n(&r);
        long long m = get_n(&r);
        if (!x->name || m < 1 || (size_t)m > t->ncols) {
            r.bad = 1;
            break;
        }
        x->ncols = (size_t)m;
        x->cols = xcalloc(x->ncols, sizeof *x->cols);
        for (size_t k = 0; k < x->ncols; k++) {
            long long ci = get_n(&r);
            if (ci < 0 || (size_t)ci >= t->ncols)
                r.bad = 1;
            x->cols[k] = (size_t)ci;
        }
    }
    if (r.bad || r.p != r.end)
        goto bad;
    return 0;
bad:
    snprintf(err, errlen, "cdc_migrate.tables: a damaged definition%s%s",
             t->name ? " of " : "", t->name ? t->name : "");
fail:
    return -1; /* the caller frees what t holds (schema_free) */
}

void tabledef_sql(target *tg, mbuf *q, const char *qname, const mtable *t, const char *old_name)
{
    char *tt = par_aux_table(tg, "tables");
    mbuf_printf(q, "DELETE FROM %s WHERE name = %s AND tbl = ", tt, qname);
    const char *n = old_name ? old_name : t->name;
    tg->ops->quote(q, n, strlen(n));
    mbuf_printf(q, "; INSERT INTO %s (name, tbl, def) VALUES (%s, ", tt, qname);
    free(tt);
    tg->ops->quote(q, t->name, strlen(t->name));
    mbuf_puts(q, ", ");
    mbuf d = {0};
    tabledef_encode(t, &d);
    tg->ops->quote(q, d.p, d.len);
    mbuf_free(&d);
    mbuf_puts(q, ");");
}

void tabledef_drop_sql(target *tg, mbuf *q, const char *qname, const char *name)
{
    char *tt = par_aux_table(tg, "tables");
    mbuf_printf(q, "DELETE FROM %s WHERE name = %s AND tbl = ", tt, qname);
    free(tt);
    tg->ops->quote(q, name, strlen(name));
    mbuf_puts(q, ";");
}

typedef struct loadctx {
    mschema *s;
    size_t cap;
    char *err;
    size_t errlen;
    int failed;
} loadctx;

static int load_cb(char **v, unsigned long *lens, size_t n, void *ud)
{
    loadctx *x = ud;
    if (n < 1 || !v[0])
        return 0;
    if (x->s->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 8;
        x->s->t = realloc(x->s->t, x->cap * sizeof *x->s->t);
        if (!x->s->t)
            abort();
    }
    int bad = tabledef_decode(v[0], lens[0], &x->s->t[x->s->n], x->err, x->errlen);
    x->s->n++;
    if (bad) {
        x->failed = 1;
        return 1;
    }
    return 0;
}

int tabledef_load(target *tg, const char *qname, mschema *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    mbuf q = {0};
    char *tt = par_aux_table(tg, "tables");
    mbuf_printf(&q, "SELECT def FROM %s WHERE name = %s ORDER BY tbl", tt, qname);
    free(tt);
    loadctx x = {s, 0, err, errlen, 0};
    int rc = tg->ops->select(tg, mbuf_str(&q), load_cb, &x, err, errlen);
    mbuf_free(&q);
    if (rc || x.failed) {
        schema_free(s);
        return -1;
    }
    return 0;
}
