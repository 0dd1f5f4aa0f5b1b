/*
 * `cdc-migrate verify`, `status`, `cutover` and the control commands.
 *
 * verify reads each table from both sides in chunks of the first primary
 * key column's range (tables whose key does not start with an integer are
 * one chunk), turns every value into one canonical text per type (the
 * same text whichever server it came from), compares a digest per chunk
 * and, where they differ, the rows key by key. Chunks that differ are
 * read again after a pause, up to five times, so rows that were changing
 * while verify ran (and that the running migration then applied) are not
 * reported as differences.
 *
 * The run's progress is kept in the target (vprog.h): after every batch of
 * chunks, each table's last completed chunk and the chunks that differed.
 * A verify that finds an unfinished run of its migration continues it
 * (--restart begins anew); the chunks that differed before the
 * interruption are rechecked and reported at the end like the others.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>
#include <pthread.h>

#include "par.h"
#include "run.h"
#include "target.h"
#include "vprog.h"
#ifdef CDC_MIGRATE_KAFKA
#include "kafka.h"
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


/* ---- canonical values ---------------------------------------------------- */

static void canon_temporal(const char *s, conv cv, mbuf *out)
{
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, neg = 0;
    long us = 0;
    const char *p = s;
    if (cv == CV_TIME) {
        if (*p == '-')
            neg = 1, p++;
        sscanf(p, "%d:%d:%d", &h, &mi, &se);
    } else {
        sscanf(p, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &se);
    }
    const char *dot = strchr(p, '.');
    if (dot) {
        int digits = 0;
        for (const char *q = dot + 1; *q >= '0' && *q <= '9' && digits < 6; q++, digits++)
            us = us * 10 + (*q - '0');
        for (; digits < 6; digits++)
            us *= 10;
    }
    if (cv == CV_TIME)
        mbuf_printf(out, "%s%d:%02d:%02d.%06ld", neg && (h || mi || se || us) ? "-" : "", h, mi,
                    se, us);
    else if (cv == CV_DATE)
        mbuf_printf(out, "%04d-%02d-%02d", y, mo, d);
    else
        mbuf_printf(out, "%04d-%02d-%02d %02d:%02d:%02d.%06ld", y, mo, d, h, mi, se, us);
}

static int zero_date_text(const char *s)
{
    int y = 0, mo = 0, d = 0;
    sscanf(s, "%d-%d-%d", &y, &mo, &d);
    return y == 0 || mo == 0 || d == 0;
}

/* One value (text as the server sent it, NULL for SQL NULL) as canonical
 * text, with a leading tag byte so NULL and '' differ. */
static void canon(const mopts *o, const mcol *c, const char *s, unsigned long n, int source,
                  mbuf *out)
{
    if (!s) {
        mbuf_addc(out, 'N');
        return;
    }
    if (source && (c->cv == CV_DATE || c->cv == CV_DATETIME || c->cv == CV_TIMESTAMP) &&
        zero_date_text(s) && o->zero_date_null) {
        mbuf_addc(out, 'N');
        return;
    }
    mbuf_addc(out, 'V');
    char tmp[64];
    switch (c->cv) {
    case CV_FLOAT:
        snprintf(tmp, sizeof tmp, "%.9g", (double)(float)strtod(s, NULL));
        mbuf_puts(out, tmp);
        return;
    case CV_DOUBLE:
        snprintf(tmp, sizeof tmp, "%.17g", strtod(s, NULL));
        mbuf_puts(out, tmp);
        return;
    case CV_DATE:
    case CV_DATETIME:
    case CV_TIMESTAMP:
    case CV_TIME:
        canon_temporal(s, c->cv, out);
        return;
    case CV_BINARY:
    case CV_BLOB:
    case CV_GEOMETRY:
        for (unsigned long i = 0; i < n; i++)
            mbuf_addc(out, (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]));
        return;
    case CV_JSON: {
        /* MySQL prints JSON with a space after ':' and ','; MariaDB keeps
         * the text as stored; PostgreSQL's jsonb prints MySQL's way */
        int in_str = 0;
        for (unsigned long i = 0; i < n; i++) {
            char ch = s[i];
            if (in_str) {
                mbuf_addc(out, ch);
                if (ch == '\\' && i + 1 < n)
                    mbuf_addc(out, s[++i]);
                else if (ch == '"')
                    in_str = 0;
            } else if (ch != ' ' && ch != '\n' && ch != '\t' && ch != '\r') {
                mbuf_addc(out, ch);
                in_str = ch == '"';
            }
        }
        return;
    }
    case CV_TEXT:
    case CV_ENUM:
    case CV_SET:
        for (unsigned long i = 0; i < n; i++)
            if (s[i] || !o->nul_strip)
                mbuf_addc(out, s[i]);
        return;
    default:
        mbuf_add(out, s, n);
    }
}

const char *src_verify_expr(const mcol *c, const char *qc, char *buf, size_t cap)
{
    switch (c->cv) {
    case CV_FLOAT: snprintf(buf, cap, "CAST(%s AS DOUBLE)", qc); break;
    case CV_BIT: snprintf(buf, cap, "LPAD(BIN(%s), %lld, '0')", qc, c->prec ? c->prec : 1); break;
    case CV_BINARY:
    case CV_BLOB: snprintf(buf, cap, "HEX(%s)", qc); break;
    case CV_GEOMETRY: snprintf(buf, cap, "HEX(SUBSTRING(%s, 5))", qc); break;
    default: snprintf(buf, cap, "%s", qc);
    }
    return buf;
}

/* ---- digests of one chunk (the fast path) -------------------------------- */

/* A FLOAT or DOUBLE as text both servers compute alike, whatever their
 * notation: "e:m" with x = m * 2^(e - 54), m an integer of 55 bits (a
 * double's mantissa times 4), or "0". e starts as floor(log2 |x|), which a
 * server's logarithm may miss by one near a power of two: one step of
 * normalisation puts |m| in [2^54, 2^55). Scaling by powers of two is
 * exact; the scale goes in two halves so that neither overflows. pg: the
 * PostgreSQL form (pg.c), which reads the same pair from the bits
 * (float_bits_expr; pg == 2: qc names those bits already). */
void float_bits_expr(const char *qc, char *buf, size_t cap)
{
    snprintf(buf, cap, "('x' || encode(float8send(%s::float8), 'hex'))::bit(64)::bigint", qc);
}

void float_hash_expr(mbuf *q, const char *qc, int pg)
{
    char e[400], m0[2400];
    if (pg) {
        /* PostgreSQL gives the double's bits (float8send): the exponent
         * field less 1023 and the mantissa with its leading 1, times 4;
         * subnormals get a text of their own (their digests differ from
         * the source's, and verify compares their chunk by rows) */
        char b[300];
        if (pg == 2) /* qc is already the bits (pg_hash_sql computes them once a row) */
            snprintf(b, sizeof b, "%s", qc);
        else
            float_bits_expr(qc, b, sizeof b);
        mbuf_printf(q, "CASE WHEN %s & 9223372036854775807 = 0 THEN '0' WHEN (%s >> 52) & 2047 = 0 "
                    "THEN 'subnormal' ELSE (((%s >> 52) & 2047) - 1023)::text || ':' || ((CASE "
                    "WHEN %s < 0 THEN -4 ELSE 4 END) * ((%s & 4503599627370495) | "
                    "4503599627370496))::text END", b, b, b, b, b);
        return;
    }
    /* The servers evaluate every reference to e and m0 anew (no common
     * subexpressions), and m0 is referenced five times a value: the scale
     * is one POW of e, 2^(54 - e) being finite for every |x| >= 1e-250;
     * only smaller values take the two halves (measured on MySQL 9.7: a
     * third less server CPU for a DOUBLE column, the same texts for 4,200
     * doubles across every exponent, subnormals and powers of two) */
    snprintf(e, sizeof e, "CAST(FLOOR(LOG2(ABS(%s))) AS SIGNED)", qc);
    snprintf(m0, sizeof m0, "(CASE WHEN ABS(%s) >= 1e-250 THEN %s * POW(2, 54 - %s) ELSE %s * "
             "POW(2, (54 - %s) DIV 2) * POW(2, (54 - %s) - (54 - %s) DIV 2) END)", qc, qc, e, qc,
             e, e, e);
    mbuf_printf(q, "CASE WHEN %s = 0 THEN '0' ELSE CONCAT(CASE WHEN ABS(%s) >= POW(2, 55) THEN "
                "%s + 1 WHEN ABS(%s) < POW(2, 54) THEN %s - 1 ELSE %s END, ':', CAST(CASE WHEN "
                "ABS(%s) >= POW(2, 55) THEN %s / 2 WHEN ABS(%s) < POW(2, 54) THEN %s * 2 ELSE %s "
                "END AS SIGNED)) END", qc, m0, e, m0, e, e, m0, m0, m0, m0, m0);
}

int my_hash_sql(const mtable *t, const char *tbl, const char *where, mbuf *q)
{
    mbuf_puts(q, "SELECT COUNT(*), COALESCE(SUM(CAST(CONV(SUBSTRING(h, 1, 15), 16, 10) AS "
                 "UNSIGNED)), 0), COALESCE(BIT_XOR(CAST(CONV(SUBSTRING(h, 16, 15), 16, 10) AS "
                 "UNSIGNED)), 0) FROM (SELECT SHA2(CONCAT_WS(x'1f'");
    for (size_t i = 0; i < t->ncols; i++) {
        const mcol *c = &t->cols[i];
        char *qc = sql_ident(c->name, '`');
        mbuf_puts(q, ", IFNULL(CONCAT(_binary'V', CAST(");
        switch (c->cv) {
        case CV_DATE: mbuf_printf(q, "DATE_FORMAT(%s, '%%Y-%%m-%%d')", qc); break;
        case CV_DATETIME:
        case CV_TIMESTAMP: mbuf_printf(q, "DATE_FORMAT(%s, '%%Y-%%m-%%d %%H:%%i:%%s.%%f')", qc); break;
        case CV_YEAR: mbuf_printf(q, "%s + 0", qc); break;
        case CV_FLOAT:
        case CV_DOUBLE: float_hash_expr(q, qc, 0); break;
        case CV_BIT: mbuf_printf(q, "LPAD(BIN(%s), %lld, '0')", qc, c->prec ? c->prec : 1); break;
        case CV_TEXT:
        case CV_ENUM:
        case CV_SET: mbuf_printf(q, "CONVERT(%s USING utf8mb4)", qc); break;
        case CV_BINARY:
        case CV_BLOB: mbuf_printf(q, "LOWER(HEX(%s))", qc); break;
        case CV_GEOMETRY: mbuf_printf(q, "LOWER(HEX(SUBSTRING(%s, 5)))", qc); break;
        case CV_TIME:
        case CV_JSON: free(qc); return -1;
        default: mbuf_puts(q, qc);
        }
        mbuf_puts(q, " AS BINARY)), _binary'N')");
        free(qc);
    }
    /* The LIMIT keeps the derived table from being merged into the outer
     * query, where both aggregates would compute the row's SHA-256 again
     * (each reference to h re-evaluates it): materialised, every row is
     * digested once (measured: 40% less server CPU per row) */
    mbuf_printf(q, "), 256) AS h FROM %s%s LIMIT 18446744073709551615) x", tbl, where);
    return 0;
}

typedef struct digest3 {
    char v[3][48];
} digest3;

static int digest_row(char **vals, unsigned long *lens, size_t n, void *ud)
{
    digest3 *d = ud;
    for (size_t i = 0; i < 3 && i < n; i++)
        snprintf(d->v[i], sizeof d->v[i], "%.*s", vals[i] ? (int)lens[i] : 0,
                 vals[i] ? vals[i] : "");
    return 0;
}

/* ---- rows of one chunk --------------------------------------------------- */

typedef struct crow {
    char *key; /* canonical key */
    size_t keylen;
    char *all; /* canonical row */
    size_t alllen;
} crow;

typedef struct cset {
    crow *r;
    size_t n, cap;
} cset;

static void cset_free(cset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->r[i].key);
        free(s->r[i].all);
    }
    free(s->r);
    memset(s, 0, sizeof *s);
}

static void cset_add(cset *s, const mopts *o, const mtable *t, char **vals, unsigned long *lens,
                     int source)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        crow *p = realloc(s->r, s->cap * sizeof *p);
        if (!p)
            abort();
        s->r = p;
    }
    mbuf k = {0}, a = {0};
    for (size_t j = 0; j < t->npk; j++) {
        size_t i = t->pk[j];
        canon(o, &t->cols[i], vals[i], lens[i], source, &k);
        mbuf_addc(&k, 0x1f);
    }
    for (size_t i = 0; i < t->ncols; i++) {
        canon(o, &t->cols[i], vals[i], lens[i], source, &a);
        mbuf_addc(&a, 0x1f);
    }
    crow *r = &s->r[s->n++];
    r->key = k.p ? k.p : xstrdup("");
    r->keylen = k.len;
    r->all = a.p ? a.p : xstrdup("");
    r->alllen = a.len;
}

static int crow_cmp(const void *a, const void *b)
{
    const crow *x = a, *y = b;
    size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

typedef struct vctx {
    const mopts *o;
    MYSQL *m;
    target *tg;
    uint64_t rows;
    int nohash;      /* the target cannot digest: rows only */
    size_t chunks, by_digest; /* chunks compared; of them, equal by their digests */
    char err[2048];
} vctx;

typedef struct fetch_tgt {
    vctx *v;
    const mtable *t;
    cset *set;
} fetch_tgt;

static int tgt_row(char **vals, unsigned long *lens, size_t n, void *ud)
{
    fetch_tgt *f = ud;
    (void)n;
    cset_add(f->set, f->v->o, f->t, vals, lens, 0);
    return 0;
}

/* The WHERE clauses for lo < key1 <= hi (NULL: unbounded) on the source
 * (w) and the target (pw). */
static void chunk_where(vctx *v, const mtable *t, const char *lo, const char *hi, mbuf *w,
                        mbuf *pw)
{
    char *k1m = sql_ident(t->cols[t->pk[0]].name, '`'), *k1p = v->tg->ops->ident(t->cols[t->pk[0]].name);
    if (lo) {
        mbuf_printf(w, " WHERE %s > %s", k1m, lo);
        mbuf_printf(pw, " WHERE %s > %s", k1p, lo);
    }
    if (hi) {
        mbuf_printf(w, "%s %s <= %s", lo ? " AND" : " WHERE", k1m, hi);
        mbuf_printf(pw, "%s %s <= %s", lo ? " AND" : " WHERE", k1p, hi);
    }
    mbuf_str(w);
    mbuf_str(pw);
    free(k1m);
    free(k1p);
}

/* The fast path: both servers digest the chunk's rows themselves (count,
 * sum and xor of the SHA-256s of the rows' texts), the source's query running
 * while the target's does. 1: the digests agree; 0: they differ, or the
 * target could not run its query (the caller compares the rows, which
 * decides); 2: t has a column without a common text; -1: error. */
static int hash_chunk(vctx *v, const mtable *t, const char *lo, const char *hi)
{
    mbuf q = {0}, pq = {0}, w = {0}, pw = {0};
    chunk_where(v, t, lo, hi, &w, &pw);
    char *sq = sql_ident(t->name, '`'), *sd = sql_ident(t->db, '`');
    mbuf tbl = {0};
    mbuf_printf(&tbl, "%s.%s", sd, sq);
    free(sq);
    free(sd);
    int rc = 2;
    if (!v->tg->ops->hash_sql || my_hash_sql(t, mbuf_str(&tbl), w.p, &q) ||
        v->tg->ops->hash_sql(t, pw.p, &pq))
        goto out;
    if (mysql_send_query(v->m, q.p, (unsigned long)q.len)) {
        snprintf(v->err, sizeof v->err, "source: %s", mysql_error(v->m));
        rc = -1;
        goto out;
    }
    digest3 dt = {0}, ds = {0};
    char te[1024];
    int trc = v->tg->ops->select(v->tg, mbuf_str(&pq), digest_row, &dt, te, sizeof te);
    MYSQL_RES *res = NULL;
    if (mysql_read_query_result(v->m) || !(res = mysql_store_result(v->m))) {
        snprintf(v->err, sizeof v->err, "source: %s", mysql_error(v->m));
        rc = -1;
        goto out;
    }
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row) {
        unsigned long *len = mysql_fetch_lengths(res);
        digest_row(row, len, mysql_num_fields(res), &ds);
    }
    mysql_free_result(res);
    if (trc) {
        if (v->tg->ops->lost(v->tg)) {
            snprintf(v->err, sizeof v->err, "%s", te);
            rc = -1;
        } else {
            if (v->o->verbose)
                fprintf(stderr, "cdc-migrate: verify: the target's digest failed (%s): "
                        "comparing rows\n", te);
            v->nohash = 1;
            rc = 0;
        }
        goto out;
    }
    rc = memcmp(&ds, &dt, sizeof ds) == 0;
    if (rc)
        v->rows += (uint64_t)strtoull(ds.v[0], NULL, 10);
out:
    mbuf_free(&q);
    mbuf_free(&pq);
    mbuf_free(&w);
    mbuf_free(&pw);
    mbuf_free(&tbl);
    return rc;
}

/* Reads the rows of t with lo < key1 <= hi (NULL: unbounded) from both. */
static int fetch_chunk(vctx *v, const mtable *t, const char *lo, const char *hi, cset *src,
                       cset *tgt)
{
    mbuf q = {0}, w = {0}, pw = {0};
    char buf[600];
    char *sq = sql_ident(t->name, '`'), *sd = sql_ident(t->db, '`');
    chunk_where(v, t, lo, hi, &w, &pw);
    mbuf_puts(&q, "SELECT ");
    for (size_t i = 0; i < t->ncols; i++) {
        char *qc = sql_ident(t->cols[i].name, '`');
        mbuf_printf(&q, "%s%s", i ? "," : "", src_verify_expr(&t->cols[i], qc, buf, sizeof buf));
        free(qc);
    }
    mbuf_printf(&q, " FROM %s.%s%s", sd, sq, w.len ? mbuf_str(&w) : "");
    int rc = 0;
    if (mysql_real_query(v->m, q.p, (unsigned long)q.len)) {
        snprintf(v->err, sizeof v->err, "source: %s", mysql_error(v->m));
        rc = -1;
        goto out;
    }
    MYSQL_RES *res = mysql_use_result(v->m);
    MYSQL_ROW row;
    while (res && (row = mysql_fetch_row(res)))
        cset_add(src, v->o, t, row, mysql_fetch_lengths(res), 1);
    if (res)
        mysql_free_result(res);
    if (mysql_errno(v->m)) {
        snprintf(v->err, sizeof v->err, "source: %s", mysql_error(v->m));
        rc = -1;
        goto out;
    }
    q.len = 0;
    mbuf_puts(&q, "SELECT ");
    for (size_t i = 0; i < t->ncols; i++) {
        char *qc = v->tg->ops->ident(t->cols[i].name);
        mbuf_printf(&q, "%s%s", i ? "," : "",
                    v->tg->ops->verify_expr(&t->cols[i], qc, buf, sizeof buf));
        free(qc);
    }
    mbuf_printf(&q, " FROM %s%s", t->tq, pw.len ? mbuf_str(&pw) : "");
    fetch_tgt ft = {v, t, tgt};
    if (v->tg->ops->select(v->tg, mbuf_str(&q), tgt_row, &ft, v->err, sizeof v->err)) {
        rc = -1;
        goto out;
    }
    if (src->n)
        qsort(src->r, src->n, sizeof *src->r, crow_cmp);
    if (tgt->n)
        qsort(tgt->r, tgt->n, sizeof *tgt->r, crow_cmp);
out:
    free(sq);
    free(sd);
    mbuf_free(&q);
    mbuf_free(&w);
    mbuf_free(&pw);
    return rc;
}

static uint64_t digest(const cset *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < s->n; i++) {
        for (size_t j = 0; j < s->r[i].alllen; j++)
            h = (h ^ (uint8_t)s->r[i].all[j]) * 1099511628211ULL;
        h = (h ^ 0x1e) * 1099511628211ULL;
    }
    return h;
}

static void print_key(FILE *f, const crow *r)
{
    for (size_t i = 0; i < r->keylen; i++) {
        char ch = r->key[i];
        if (ch == 0x1f)
            fputs(i + 1 < r->keylen ? "," : "", f);
        else if (ch == 'N' && (i == 0 || r->key[i - 1] == 0x1f))
            fputs("NULL", f);
        else if (ch == 'V' && (i == 0 || r->key[i - 1] == 0x1f))
            ;
        else
            fputc(ch, f);
    }
}

/* Compares one chunk; returns the number of differing keys (-1 on error).
 * report: print them. */
static long compare_chunk(vctx *v, const mtable *t, const char *lo, const char *hi, int report)
{
    cset s = {0}, g = {0};
    if (fetch_chunk(v, t, lo, hi, &s, &g)) {
        cset_free(&s);
        cset_free(&g);
        return -1;
    }
    v->rows += s.n;
    long diff = 0;
    if (s.n != g.n || digest(&s) != digest(&g)) {
        size_t i = 0, j = 0;
        while (i < s.n || j < g.n) {
            int c = i == s.n ? 1 : j == g.n ? -1 : crow_cmp(&s.r[i], &g.r[j]);
            const char *what = NULL;
            const crow *r = NULL;
            if (c < 0) {
                what = "missing on the target", r = &s.r[i++];
            } else if (c > 0) {
                what = "only on the target", r = &g.r[j++];
            } else {
                if (s.r[i].alllen != g.r[j].alllen ||
                    memcmp(s.r[i].all, g.r[j].all, s.r[i].alllen))
                    what = "values differ", r = &s.r[i];
                i++, j++;
            }
            if (what) {
                diff++;
                if (report && diff <= 20) {
                    printf("verify: %s.%s key (", t->db, t->name);
                    print_key(stdout, r);
                    printf("): %s\n", what);
                }
            }
        }
    }
    cset_free(&s);
    cset_free(&g);
    return diff;
}

/* The upper bound of the chunk after lo: the chunk_rows-th key (NULL: the
 * rest of the table). */
static char *next_bound(vctx *v, const mtable *t, const char *lo, int *err)
{
    char *sq = sql_ident(t->name, '`'), *sd = sql_ident(t->db, '`');
    char *k1 = sql_ident(t->cols[t->pk[0]].name, '`');
    mbuf q = {0};
    mbuf_printf(&q, "SELECT %s FROM %s.%s", k1, sd, sq);
    if (lo)
        mbuf_printf(&q, " WHERE %s > %s", k1, lo);
    mbuf_printf(&q, " ORDER BY %s LIMIT 1 OFFSET %ld", k1, v->o->chunk_rows - 1);
    char *out = NULL;
    *err = 0;
    MYSQL_RES *res;
    if (mysql_query(v->m, mbuf_str(&q)) || !(res = mysql_store_result(v->m))) {
        snprintf(v->err, sizeof v->err, "source: %s", mysql_error(v->m));
        *err = 1;
    } else {
        MYSQL_ROW r = mysql_fetch_row(res);
        if (r && r[0])
            out = xstrdup(r[0]);
        mysql_free_result(res);
    }
    free(sq);
    free(sd);
    free(k1);
    mbuf_free(&q);
    return out;
}

/* A chunk whose rows differed: compared again at the end of the run. */
typedef struct pending {
    char *lo, *hi;
    const mtable *t;
} pending;

/* One chunk of a table and what its digests said (hash_chunk's result). */
typedef struct vchunk {
    char *lo, *hi;
    int h;
} vchunk;

/* --verify-workers: each worker, on its own source and target
 * connections, takes the next chunk not yet digested; the digests of
 * different chunks run at once on both servers (the source's and the
 * target's digest of one chunk already run side by side in hash_chunk).
 * The connections are opened once a verify; each batch of chunks runs on
 * them in threads of its own. */
typedef struct vworker vworker;

typedef struct vpool {
    const mtable *t;
    vchunk *c;
    size_t n, next;
    pthread_mutex_t mu;
    int failed;
    char err[2048];
    vworker *w;
    int nw;
} vpool;

struct vworker {
    vpool *p;
    vctx v;
    pthread_t th;
    int up; /* connected (worker 0: the main connections) */
};

static void *verify_worker(void *arg)
{
    vworker *w = arg;
    vpool *p = w->p;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t i = p->failed || w->v.nohash ? p->n : p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n)
            break;
        int h = hash_chunk(&w->v, p->t, p->c[i].lo, p->c[i].hi);
        p->c[i].h = h;
        if (h < 0) {
            pthread_mutex_lock(&p->mu);
            if (!p->failed)
                snprintf(p->err, sizeof p->err, "%s", w->v.err);
            p->failed = 1;
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

/* Worker 0 digests on the main connections, nw - 1 more pairs are opened
 * (those that fail to connect are left out: fewer workers, same result). */
static void pool_open(vctx *v, vpool *p, int nw)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->nw = nw < 1 ? 1 : nw;
    p->w = xcalloc((size_t)p->nw, sizeof *p->w);
    p->w[0] = (vworker){.p = p, .v = {.o = v->o, .m = v->m, .tg = v->tg}, .up = 1};
    for (int i = 1; i < p->nw; i++) {
        char err[2048];
        vworker *w = &p->w[i];
        w->p = p;
        w->v = (vctx){.o = v->o};
        w->v.m = src_connect(v->o, err, sizeof err);
        w->v.tg = w->v.m ? target_connect(v->o, err, sizeof err) : NULL;
        if (!w->v.tg) {
            if (v->o->verbose)
                fprintf(stderr, "cdc-migrate: verify: worker %d: %s\n", i, err);
            if (w->v.m)
                mysql_close(w->v.m);
            w->v.m = NULL;
            continue;
        }
        w->up = 1;
    }
}

static void pool_close(vpool *p)
{
    for (int i = 1; i < p->nw; i++) {
        if (!p->w[i].up)
            continue;
        mysql_close(p->w[i].v.m);
        target_close(p->w[i].v.tg);
    }
    free(p->w);
    pthread_mutex_destroy(&p->mu);
}

/* Digests t's chunks c[0..n) (c[i].h: hash_chunk's result, -3 when not
 * digested) on the pool's connections. */
static int hash_chunks(vctx *v, vpool *p, const mtable *t, vchunk *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        c[i].h = -3;
    p->t = t;
    p->c = c;
    p->n = n;
    p->next = 0;
    int started[64] = {0};
    size_t busy = 1;
    for (int i = 1; i < p->nw && busy < n; i++) {
        vworker *w = &p->w[i];
        if (!w->up || w->v.nohash)
            continue;
        if (!pthread_create(&w->th, NULL, verify_worker, w)) {
            started[i] = 1;
            busy++;
        }
    }
    p->w[0].v.nohash = v->nohash;
    verify_worker(&p->w[0]);
    for (int i = 1; i < p->nw; i++)
        if (started[i])
            pthread_join(p->w[i].th, NULL);
    for (int i = 0; i < p->nw; i++) {
        v->rows += p->w[i].v.rows;
        p->w[i].v.rows = 0;
        v->nohash |= p->w[i].v.nohash;
    }
    if (p->failed) {
        snprintf(v->err, sizeof v->err, "%s", p->err);
        return -1;
    }
    return 0;
}

static void chunks_clear(vchunk *c, size_t *n)
{
    for (size_t i = 0; i < *n; i++) {
        free(c[i].lo);
        free(c[i].hi);
    }
    *n = 0;
}

static void pend_add(pending **pend, size_t *npend, size_t *cpend, const mtable *t,
                     const char *lo, const char *hi)
{
    if (*npend == *cpend) {
        *cpend = *cpend ? *cpend * 2 : 16;
        pending *p = realloc(*pend, *cpend * sizeof *p);
        if (!p)
            abort();
        *pend = p;
    }
    (*pend)[(*npend)++] = (pending){lo ? xstrdup(lo) : NULL, hi ? xstrdup(hi) : NULL, t};
}

static void pend_free(pending *pend, size_t npend)
{
    for (size_t i = 0; i < npend; i++) {
        free(pend[i].lo);
        free(pend[i].hi);
    }
    free(pend);
}

/* Chunks compared between two saves of the progress: enough to keep every
 * worker busy, few enough that a resumed run reads little twice. */
#define VERIFY_BATCH_PER_WORKER 4

/* Compares every table of s. vp: the run's progress in the target
 * (vprog.h), NULL for none (cutover: a verify at the drained position
 * never continues an older one). */
static int verify_all(const mopts *o, mschema *s, MYSQL *m, target *tg, vprog *vp,
                      long *differences)
{
    vctx v = {.o = o, .m = m, .tg = tg};
    pending *pend = NULL;
    size_t npend = 0, cpend = 0;
    double t0 = now_s();
    uint64_t run_rows = 0, run_chunks = 0, run_digest = 0; /* the whole run's */
    int rc = -1;
    *differences = 0;
    if (vp) {
        /* the chunks earlier invocations found differing */
        for (size_t i = 0; i < vp->nr; i++) {
            mtable *t = schema_find(s, o->database, vp->r[i].tbl);
            if (t)
                pend_add(&pend, &npend, &cpend, t, vp->r[i].lo, vp->r[i].hi);
        }
        if (vp->resumed) {
            size_t done = 0;
            uint64_t rows = 0, chunks = 0;
            for (size_t i = 0; i < vp->nt; i++) {
                done += vp->t[i].finished;
                rows += vp->t[i].rows;
                chunks += vp->t[i].chunks;
            }
            fprintf(stderr, "cdc-migrate: verify: resuming run %lld (resumed %lld times): %zu "
                    "of %zu tables done, %llu chunks and %llu source rows compared before, %zu "
                    "chunks to recheck (--restart begins anew)\n", vp->run_id, vp->resumes,
                    done, s->n, (unsigned long long)chunks, (unsigned long long)rows, npend);
        } else {
            fprintf(stderr, "cdc-migrate: verify: run %lld\n", vp->run_id);
        }
    }
    vpool pool;
    pool_open(&v, &pool, o->verify_rows ? 1 : o->verify_workers); /* rows only: no pool */
    size_t batch = (size_t)pool.nw * VERIFY_BATCH_PER_WORKER, nc = 0;
    vchunk *c = xcalloc(batch, sizeof *c);
    for (size_t ti = 0; ti < s->n; ti++) {
        const mtable *t = &s->t[ti];
        int chunked = t->cols[t->pk[0]].cv == CV_INT || t->cols[t->pk[0]].cv == CV_UINT;
        int hash = !o->verify_rows, misses = 0;
        vprog_table tp = {.tbl = t->name};
        const vprog_table *prev = vp ? vprog_find(vp, t->name) : NULL;
        if (prev) {
            tp = *prev;
            tp.last_hi = prev->last_hi ? xstrdup(prev->last_hi) : NULL;
        }
        if (tp.finished) {
            run_rows += tp.rows;
            run_chunks += tp.chunks;
            run_digest += tp.by_digest;
            free(tp.last_hi);
            continue;
        }
        if (tp.last_hi)
            fprintf(stderr, "cdc-migrate: verify: %s.%s: resuming after key %s (%llu chunks, "
                    "%llu source rows done)\n", t->db, t->name, tp.last_hi,
                    (unsigned long long)tp.chunks, (unsigned long long)tp.rows);
        /* lo: the upper bound of the last completed chunk */
        char *lo = tp.last_hi;
        tp.last_hi = NULL;
        int end = 0;
        while (!end) {
            /* a batch's bounds (cheap index reads on the source), then its
             * digests on the pool, then rows where they differ */
            nc = 0;
            while (nc < batch && !end) {
                int e = 0;
                char *hi = chunked ? next_bound(&v, t, lo, &e) : NULL;
                if (e) {
                    fprintf(stderr, "cdc-migrate: verify: %s\n", v.err);
                    free(lo);
                    goto out;
                }
                c[nc++] = (vchunk){lo, hi ? xstrdup(hi) : NULL, -3};
                lo = hi;
                end = !hi;
            }
            uint64_t rows0 = v.rows;
            size_t chunks0 = v.chunks, digest0 = v.by_digest, npend0 = npend;
            if (hash && !v.nohash && hash_chunks(&v, &pool, t, c, nc)) {
                fprintf(stderr, "cdc-migrate: verify: %s\n", v.err);
                free(lo);
                goto out;
            }
            for (size_t ci = 0; ci < nc; ci++) {
                int h = hash && !v.nohash ? c[ci].h : 0;
                if (h == -3)
                    h = 0; /* not digested (the target's digest failed): rows */
                v.chunks++;
                v.by_digest += h == 1;
                if (h == 2)
                    hash = 0;
                long d = h == 1 ? 0 : compare_chunk(&v, t, c[ci].lo, c[ci].hi, 0);
                /* digests that differ where the rows agree (a value the two
                 * servers print differently): rows only for this table */
                if (h == 0 && d == 0 && hash && ++misses >= 3) {
                    hash = 0;
                    if (o->verbose)
                        fprintf(stderr, "cdc-migrate: verify: %s.%s: digests differ where rows "
                                "agree; comparing rows\n", t->db, t->name);
                }
                if (d < 0) {
                    fprintf(stderr, "cdc-migrate: verify: %s\n", v.err);
                    free(lo);
                    goto out;
                }
                if (d > 0)
                    pend_add(&pend, &npend, &cpend, t, c[ci].lo, c[ci].hi);
            }
            tp.chunks += v.chunks - chunks0;
            tp.by_digest += v.by_digest - digest0;
            tp.rows += v.rows - rows0;
            tp.finished = end;
            tp.last_hi = lo;
            if (vp) {
                char err[2048];
                size_t nadd = npend - npend0;
                vprog_chunk *add = xcalloc(nadd ? nadd : 1, sizeof *add);
                for (size_t i = 0; i < nadd; i++)
                    add[i] = (vprog_chunk){t->name, pend[npend0 + i].lo, pend[npend0 + i].hi};
                int e = vprog_save(vp, &tp, add, nadd, err, sizeof err);
                free(add);
                if (e) {
                    fprintf(stderr, "cdc-migrate: verify: keeping the progress: %s\n", err);
                    free(lo);
                    goto out;
                }
            }
            tp.last_hi = NULL;
            chunks_clear(c, &nc);
        }
        run_rows += tp.rows;
        run_chunks += tp.chunks;
        run_digest += tp.by_digest;
    }
    /* Recheck what differed: rows may have been changing while we read. */
    for (int round = 0; round < 5 && npend; round++) {
        sleep(1);
        size_t k = 0;
        for (size_t i = 0; i < npend; i++) {
            long d = compare_chunk(&v, pend[i].t, pend[i].lo, pend[i].hi, round == 4);
            if (d < 0) {
                fprintf(stderr, "cdc-migrate: verify: %s\n", v.err);
                memmove(pend + k, pend + i, (npend - i) * sizeof *pend);
                npend = k + (npend - i);
                goto out;
            }
            if (d > 0) {
                if (round == 4)
                    *differences += d;
                pend[k++] = pend[i];
            } else {
                free(pend[i].lo);
                free(pend[i].hi);
            }
        }
        npend = k;
    }
    if (vp) {
        char err[2048];
        if (vprog_finish(vp, err, sizeof err)) {
            fprintf(stderr, "cdc-migrate: verify: keeping the progress: %s\n", err);
            goto out;
        }
    }
    double el = now_s() - t0;
    fprintf(stderr, "cdc-migrate: verify: %llu source rows in %.2fs (%.0f rows/s), %zu of %zu "
            "chunks equal by their digests\n", (unsigned long long)v.rows, el,
            el > 0 ? (double)v.rows / el : 0, v.by_digest, v.chunks);
    if (vp && vp->resumed)
        fprintf(stderr, "cdc-migrate: verify: run %lld as a whole (resumed %lld times): %llu "
                "source rows, %llu of %llu chunks equal by their digests\n", vp->run_id,
                vp->resumes, (unsigned long long)run_rows, (unsigned long long)run_digest,
                (unsigned long long)run_chunks);
    rc = 0;
out:
    pool_close(&pool);
    chunks_clear(c, &nc);
    free(c);
    pend_free(pend, npend);
    return rc;
}

static int open_both(const mopts *o, MYSQL **m, target **tg, mschema *s)
{
    char err[2048];
    *m = src_connect(o, err, sizeof err);
    if (!*m) {
        fprintf(stderr, "cdc-migrate: %s\n", err);
        return -1;
    }
    if (schema_load(*m, o, s, err, sizeof err)) {
        fprintf(stderr, "cdc-migrate: %s\n", err);
        mysql_close(*m);
        return -1;
    }
    o->tops->prepare(o, s);
    *tg = target_connect(o, err, sizeof err);
    if (!*tg) {
        fprintf(stderr, "cdc-migrate: %s\n", err);
        schema_free(s);
        mysql_close(*m);
        return -1;
    }
    return 0;
}

int cmd_verify(const mopts *o)
{
    MYSQL *m;
    target *tg;
    mschema s;
    if (open_both(o, &m, &tg, &s))
        return 1;
    long diff = 0;
    vprog vp;
    char err[2048];
    int keep = !vprog_open(&vp, tg, o, o->verify_restart, err, sizeof err);
    if (!keep) /* e.g. an account that may only read the target */
        fprintf(stderr, "cdc-migrate: verify: progress not kept, this run cannot be resumed: "
                "%s\n", err);
    int rc = verify_all(o, &s, m, tg, keep ? &vp : NULL, &diff);
    vprog_free(&vp);
    if (rc == 0) {
        if (diff == 0)
            printf("verify: identical (%zu tables)\n", s.n);
        else
            printf("verify: DIFFERENT: %ld rows differ\n", diff);
    }
    schema_free(&s);
    mysql_close(m);
    target_close(tg);
    return rc ? 1 : diff ? 4 : 0;
}

/* ---- status and cutover --------------------------------------------------- */

/* -1, 0, 1 as a's file:offset is before, at, after b's; -2 when unreadable. */
static int pos_cmp(const char *a, const char *b)
{
    cdc_position *pa = NULL, *pb = NULL;
    char e[256];
    if (cdc_position_parse(&pa, a, NULL, e, sizeof e) ||
        cdc_position_parse(&pb, b, NULL, e, sizeof e)) {
        cdc_position_free(pa);
        return -2;
    }
    int c = strcmp(cdc_position_file(pa), cdc_position_file(pb));
    if (!c)
        c = (cdc_position_offset(pa) > cdc_position_offset(pb)) -
            (cdc_position_offset(pa) < cdc_position_offset(pb));
    cdc_position_free(pa);
    cdc_position_free(pb);
    return c < 0 ? -1 : c > 0;
}

/* Lag: 0 when the target's checkpoint is at the source's position, else
 * the age of the last applied commit (at least the time since the
 * checkpoint was written). */
static long long lag_ms(const tstate *st, const char *srcpos)
{
    if (pos_cmp(st->ck, srcpos) >= 0)
        return 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    long long l = st->last_ms ? now - st->last_ms : st->age_s * 1000;
    return l < 0 ? 0 : l;
}

/* One text value of a source query (NULL on error or no row; free()). */
static char *src_value1(MYSQL *m, const char *sql)
{
    MYSQL_RES *res;
    MYSQL_ROW r;
    char *v = NULL;
    if (mysql_query(m, sql) || !(res = mysql_store_result(m)))
        return NULL;
    if ((r = mysql_fetch_row(res)) && r[0])
        v = strdup(r[0]);
    mysql_free_result(res);
    return v;
}

/* Transactions in a MySQL GTID set text ("uuid[:tag]:1-5:7,uuid2:3"): the
 * sum of its intervals' lengths. Tags and source ids are skipped. */
static long long gtid_set_count(const char *s)
{
    long long n = 0;
    const char *p = s;
    while (*p) {
        const char *e = p;
        while (*e && *e != ':' && *e != ',')
            e++;
        /* a token of digits, or digits-digits, is an interval */
        const char *q = p;
        while (q < e && (*q == ' ' || *q == '\n' || *q == '\t'))
            q++;
        if (q < e && *q >= '0' && *q <= '9' && p != s && p[-1] == ':') {
            char *end;
            long long a = strtoll(q, &end, 10), b = a;
            if (end < e && *end == '-')
                b = strtoll(end + 1, &end, 10);
            if (b >= a)
                n += b - a + 1;
        }
        p = *e ? e + 1 : e;
    }
    return n;
}

/* One "d-s-n" element of a MariaDB GTID list at *p (separators before it
 * skipped); *p moves past it. 0 at the list's end or where it is not
 * "d-s-n". */
static int maria_gtid_next(const char **p, unsigned long *dom, long long *seq)
{
    const char *s = *p;
    while (*s == ' ' || *s == ',' || *s == '\n')
        s++;
    char *e;
    *dom = strtoul(s, &e, 10);
    if (e == s || *e != '-')
        return 0;
    strtoul(e + 1, &e, 10); /* server id */
    if (*e != '-')
        return 0;
    *seq = strtoll(e + 1, &e, 10);
    *p = e;
    return 1;
}

/* The sequence number of domain d in a MariaDB GTID list "d-s-n,...";
 * -1 when the list has none for d. */
static long long maria_seq(const char *list, unsigned long d)
{
    unsigned long dom;
    long long seq;
    while (list && maria_gtid_next(&list, &dom, &seq))
        if (dom == d)
            return seq;
    return -1;
}

/* How many transactions the source committed after the checkpoint, by
 * GTIDs (every database's); -1 with a reason in why when it cannot say. */
static long long behind_txns(MYSQL *m, const char *ckgtid, char *why, size_t wl)
{
    int maria = strstr(mysql_get_server_info(m), "MariaDB") != NULL;
    if (!ckgtid || !*ckgtid) {
        snprintf(why, wl, "the checkpoint has no GTIDs%s", maria ? "" : " (gtid_mode OFF)");
        return -1;
    }
    if (maria) {
        char *pos = src_value1(m, "SELECT @@GLOBAL.gtid_binlog_pos");
        if (!pos) {
            snprintf(why, wl, "@@gtid_binlog_pos: %s", mysql_error(m));
            return -1;
        }
        long long n = 0, seq;
        unsigned long d;
        for (const char *p = pos; maria_gtid_next(&p, &d, &seq);) {
            long long at = maria_seq(ckgtid, d);
            n += seq > at ? seq - (at < 0 ? 0 : at) : 0;
        }
        free(pos);
        return n;
    }
    size_t l = strlen(ckgtid);
    char *esc = malloc(2 * l + 1), *q = malloc(2 * l + 128);
    if (!esc || !q) {
        free(esc), free(q);
        snprintf(why, wl, "out of memory");
        return -1;
    }
    mysql_real_escape_string(m, esc, ckgtid, (unsigned long)l);
    sprintf(q, "SELECT GTID_SUBTRACT(@@GLOBAL.gtid_executed, '%s')", esc);
    char *rest = src_value1(m, q);
    free(esc), free(q);
    if (!rest) {
        snprintf(why, wl, "GTID_SUBTRACT: %s", mysql_error(m));
        return -1;
    }
    long long n = gtid_set_count(rest);
    free(rest);
    return n;
}

/* Binlog bytes from the checkpoint to the source's position, across
 * files by SHOW BINARY LOGS' sizes; -1 with a reason when a file between
 * them is gone (purged) or the list cannot be read. */
static long long behind_bytes(MYSQL *m, const cdc_position *ck, const cdc_position *at, char *why,
                              size_t wl)
{
    const char *fa = cdc_position_file(ck), *fb = cdc_position_file(at);
    unsigned long long oa = cdc_position_offset(ck), ob = cdc_position_offset(at);
    if (!strcmp(fa, fb))
        return ob > oa ? (long long)(ob - oa) : 0;
    MYSQL_RES *res;
    MYSQL_ROW r;
    if (mysql_query(m, "SHOW BINARY LOGS") || !(res = mysql_store_result(m))) {
        snprintf(why, wl, "SHOW BINARY LOGS: %s", mysql_error(m));
        return -1;
    }
    long long n = 0;
    int in = 0, seen_a = 0, seen_b = 0;
    while ((r = mysql_fetch_row(res))) {
        if (!r[0] || !r[1])
            continue;
        unsigned long long size = strtoull(r[1], NULL, 10);
        if (!strcmp(r[0], fa)) {
            seen_a = in = 1;
            n += size > oa ? (long long)(size - oa) : 0;
        } else if (!strcmp(r[0], fb)) {
            seen_b = 1;
            n += (long long)ob;
            break;
        } else if (in) {
            n += (long long)size;
        }
    }
    mysql_free_result(res);
    if (!seen_a || !seen_b) {
        snprintf(why, wl, "%s is no longer in the source's binlog list",
                 seen_a ? fb : fa);
        return -1;
    }
    return n;
}

int cmd_status(const mopts *o)
{
    char err[2048], srcpos[8192];
    MYSQL *m = src_connect(o, err, sizeof err);
    if (!m) {
        fprintf(stderr, "cdc-migrate: %s\n", err);
        return 1;
    }
    target *tg = target_connect(o, err, sizeof err);
    tstate st;
    int rc = 1;
    if (!tg || src_position(m, srcpos, sizeof srcpos, err, sizeof err) ||
        tg->ops->read_state(tg, o->name, &st, err, sizeof err)) {
        fprintf(stderr, "cdc-migrate: %s\n", err);
        goto out;
    }
    printf("migration %s: %s%s\n", o->name, st.phase,
           !strcmp(st.control, "pause") ? " (paused)" : "");
    printf("checkpoint: %s\n", st.ck);
    printf("source at:  %s\n", srcpos);
    printf("lag_ms: %lld\n", lag_ms(&st, srcpos));
    /* How far behind in transactions (by GTIDs) and binlog bytes; all
     * databases' transactions count, as the run reads past them too. */
    cdc_position *pa = NULL, *pb = NULL;
    char e[256];
    if (!cdc_position_parse(&pa, st.ck, NULL, e, sizeof e) &&
        !cdc_position_parse(&pb, srcpos, NULL, e, sizeof e)) {
        long long n = behind_txns(m, cdc_position_gtid_set(pa), e, sizeof e);
        if (n >= 0)
            printf("behind_transactions: %lld\n", n);
        else
            printf("behind_transactions: unknown (%s)\n", e);
        n = behind_bytes(m, pa, pb, e, sizeof e);
        if (n >= 0)
            printf("behind_bytes: %lld\n", n);
        else
            printf("behind_bytes: unknown (%s)\n", e);
    }
    cdc_position_free(pa);
    cdc_position_free(pb);
    printf("applied: %lld transactions, %lld rows since the copy\n", st.txns, st.rows);
    /* The apply rate: the state row's counters a second apart. */
    tstate st2;
    usleep(1000000);
    if (!tg->ops->read_state(tg, o->name, &st2, err, sizeof err))
        printf("rate: %lld rows/s, %lld transactions/s (over the last second)\n",
               st2.rows - st.rows, st2.txns - st.txns);
    printf("dead_letters: %lld\n", st.dead);
    printf("state written %llds ago\n", st.age_s);
    tg->ops->tables(tg, o);
#ifdef CDC_MIGRATE_KAFKA
    kafka_status(tg, o);
#endif
    rc = 0;
out:
    mysql_close(m);
    target_close(tg);
    return rc;
}

int cmd_cutover(const mopts *o)
{
    char err[2048], srcpos[8192];
    MYSQL *m;
    target *tg;
    mschema s;
    if (open_both(o, &m, &tg, &s))
        return 1;
    int rc = 1;
    tstate st;
    double t0 = now_s();
    int maria = strstr(mysql_get_server_info(m), "MariaDB") != NULL;
    /* 1. lag under the threshold */
    for (;;) {
        if (src_position(m, srcpos, sizeof srcpos, err, sizeof err) ||
            tg->ops->read_state(tg, o->name, &st, err, sizeof err)) {
            fprintf(stderr, "cdc-migrate: cutover: %s\n", err);
            goto out;
        }
        long long l = lag_ms(&st, srcpos);
        if (l <= o->max_lag_ms)
            break;
        if (now_s() - t0 > (double)o->timeout_s) {
            fprintf(stderr, "cdc-migrate: cutover: lag still %lld ms after %lds\n", l,
                    o->timeout_s);
            goto out;
        }
        usleep(200000);
    }
    fprintf(stderr, "cdc-migrate: cutover: lag under %ld ms\n", o->max_lag_ms);
    /* 2. freeze the source, or trust the application to have stopped */
    if (o->read_only) {
        const char *sql = maria ? "SET GLOBAL read_only = ON" : "SET GLOBAL super_read_only = ON";
        if (mysql_query(m, sql)) {
            fprintf(stderr, "cdc-migrate: cutover: %s: %s\n", sql, mysql_error(m));
            goto out;
        }
        fprintf(stderr, "cdc-migrate: cutover: source set read-only (%s)\n", sql);
    }
    /* 3. drain to the source's exact current position */
    if (src_position(m, srcpos, sizeof srcpos, err, sizeof err)) {
        fprintf(stderr, "cdc-migrate: cutover: %s\n", err);
        goto out;
    }
    for (;;) {
        if (tg->ops->read_state(tg, o->name, &st, err, sizeof err)) {
            fprintf(stderr, "cdc-migrate: cutover: %s\n", err);
            goto out;
        }
        if (pos_cmp(st.ck, srcpos) >= 0)
            break;
        if (now_s() - t0 > (double)o->timeout_s) {
            fprintf(stderr, "cdc-migrate: cutover: target at %s, not yet at %s after %lds\n",
                    st.ck, srcpos, o->timeout_s);
            goto out;
        }
        usleep(100000);
    }
    fprintf(stderr, "cdc-migrate: cutover: target drained to %s\n", srcpos);
    /* 4. verify */
    long diff;
    if (verify_all(o, &s, m, tg, NULL, &diff))
        goto out;
    if (diff) {
        printf("cutover: target DIFFERS from the source at %s: %ld rows\n", srcpos, diff);
        rc = 4;
        goto out;
    }
    printf("cutover: target equals source at %s (%zu tables verified)\n", srcpos, s.n);
    rc = 0;
out:
    schema_free(&s);
    mysql_close(m);
    target_close(tg);
    return rc;
}

int cmd_control(const mopts *o, const char *what, const char *checkpoint)
{
    char err[2048];
    target *tg = target_connect(o, err, sizeof err);
    if (!tg) {
        fprintf(stderr, "cdc-migrate: %s\n", err);
        return 1;
    }
    mbuf q = {0};
    if (!strcmp(what, "skip-ddl")) {
        cdc_position *p;
        if (cdc_position_parse(&p, checkpoint, NULL, err, sizeof err)) {
            fprintf(stderr, "cdc-migrate: --checkpoint: %s\n", err);
            target_close(tg);
            return 2;
        }
        cdc_position_free(p);
        mbuf_printf(&q, "UPDATE %s SET checkpoint = ", tg->state_tbl);
        tg->ops->quote(&q, checkpoint, strlen(checkpoint));
    } else {
        mbuf_printf(&q, "UPDATE %s SET control = '%s'", tg->state_tbl,
                    !strcmp(what, "pause") ? "pause" : "run");
    }
    mbuf_puts(&q, " WHERE name = ");
    tg->ops->quote(&q, o->name, strlen(o->name));
    mbuf_puts(&q, " AND phase = 'streaming'");
    long n = tg->ops->exec(tg, mbuf_str(&q), err, sizeof err);
    int rc = 0;
    if (n < 0) {
        fprintf(stderr, "cdc-migrate: %s\n", err);
        rc = 1;
    } else if (n != 1) {
        fprintf(stderr, "cdc-migrate: no streaming migration named '%s'\n", o->name);
        rc = 1;
    } else {
        if (!strcmp(what, "skip-ddl")) {
            /* The stored table definitions predate the skipped statement:
             * the next run reads the source's (docs/migrate.md, runbook). */
            char *tt = par_aux_table(tg, "tables");
            q.len = 0;
            mbuf_printf(&q, "DELETE FROM %s WHERE name = ", tt);
            tg->ops->quote(&q, o->name, strlen(o->name));
            tg->ops->exec(tg, mbuf_str(&q), err, sizeof err); /* none kept: nothing to do */
            free(tt);
        }
        printf("%s: done\n", what);
    }
    mbuf_free(&q);
    target_close(tg);
    return rc;
}
