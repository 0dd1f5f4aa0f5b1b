/*
 * `cdc-migrate run`: copy the source's tables through libcdc's consistent
 * snapshot, then apply its change stream from exactly the snapshot point,
 * batching source transactions into target transactions that also write
 * the checkpoint. Every failure of the target ends in a rollback and a
 * restart from the checkpoint the target holds, so what the target holds
 * is always a prefix of the source's history: nothing lost, nothing twice.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "run.h"
#include "target.h"

typedef struct run {
    const mopts *o;
    mschema *s;
    target *tg;
    cdc_stream *st;
    char *qname;        /* the migration name as a SQL literal */
    /* copy */
    int copying;
    double copy_t0;
    /* apply */
    int in_pg_txn;      /* BEGIN sent */
    int in_src_txn;     /* between a source begin and commit */
    mbuf sql;           /* statements not yet sent */
    mbuf scratch;
    long batch_txns, batch_rows, total_rows_pending;
    double batch_t0;
    char ck[8192];      /* checkpoint of the last complete source transaction */
    int ck_dirty;       /* ck newer than what the target holds */
    double ck_written;
    int64_t last_ts_ms;
    /* throttle */
    double rate_t0;
    long rate_rows;
    long extra_sleep_us;
    /* failure */
    int retriable;      /* the callback failed because the target went away */
    int ddl_stop;
    char err[20480];
    /* dead letters: careful mode re-applies each row under a savepoint */
    int careful;        /* 1: row by row; 2: leaving at the next flush */
    /* A thread commits a batch that waits longer than --batch-ms: the
     * stream calls nothing while the source is quiet. */
    pthread_mutex_t mu;
    int streaming, async_fail, quit;
    int connected;      /* the last attempt reached the target */
    uint64_t done_txns, done_rows; /* committed to the target by this attempt */
    double apply_t0, apply_t1;
    double polled;
    char row_file[512]; /* the row being applied */
    uint64_t row_off;
    char until_file[512];
    uint64_t until_off;
} run;

static volatile sig_atomic_t g_stop, g_pause;
static cdc_stream *volatile g_stream;

static void on_signal(int sig)
{
    if (sig == SIGUSR1) {
        g_pause = 1;
        return;
    }
    if (sig == SIGUSR2) {
        g_pause = 0;
        return;
    }
    g_stop = 1;
    if (g_stream)
        cdc_stream_stop(g_stream);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) && errno == EINTR && !g_stop)
        ;
}

/* A target failure inside a callback: remember whether it is retriable. */
static int fail(run *r)
{
    r->retriable = r->tg->ops->lost(r->tg);
    return -1;
}

/* ---- copy --------------------------------------------------------------- */

static int on_snapshot_row(const cdc_change *c, void *ud)
{
    run *r = ud;
    const cdc_table *ct = cdc_change_table(c);
    mtable *t = schema_find(r->s, cdc_table_db(ct), cdc_table_name(ct));
    if (!t)
        return 0;
    if (cdc_table_column_count(ct) != t->ncols) {
        snprintf(r->err, sizeof r->err, "%s.%s: the snapshot row has %zu columns, the schema %zu",
                 t->db, t->name, cdc_table_column_count(ct), t->ncols);
        return -1;
    }
    char e[512];
    if (r->tg->ops->copy_row(r->o, t, c, &r->scratch, e, sizeof e)) {
        snprintf(r->err, sizeof r->err, "copy %s.%s: %s", t->db, t->name, e);
        return -1;
    }
    if (t->copybuf.len >= (1u << 20) && r->tg->ops->copy_flush(r->tg, t, r->err, sizeof r->err))
        return fail(r);
    return 0;
}

static int on_progress(const char *db, const char *table, uint64_t done, uint64_t est,
                       size_t tdone, size_t ttotal, void *ud)
{
    run *r = ud;
    double el = now_s() - r->copy_t0;
    uint64_t all = cdc_stream_metric(r->st, CDC_METRIC_SNAPSHOT_ROWS);
    double rate = el > 0 ? (double)all / el : 0;
    double eta = rate > 0 && est > done ? (double)(est - done) / rate : 0;
    fprintf(stderr, "cdc-migrate: copy %s.%s %llu/~%llu rows, %.0f rows/s, table eta %.0fs; "
            "%zu/%zu tables\n", db, table, (unsigned long long)done, (unsigned long long)est,
            rate, eta, tdone, ttotal);
    return 0;
}

static void write_state(run *r, mbuf *q, const char *phase, const char *ck, const char *snap)
{
    r->tg->ops->state(r->tg, q, r->qname, phase, ck, snap, r->batch_txns, r->total_rows_pending,
                      r->last_ts_ms);
}

static int on_snapshot_done_locked(const cdc_position *pos, void *ud)
{
    run *r = ud;
    for (size_t i = 0; i < r->s->n; i++)
        if (r->tg->ops->copy_flush(r->tg, &r->s->t[i], r->err, sizeof r->err))
            return fail(r);
    if (r->o->indexes && r->tg->ops->indexes(r->tg, r->o, r->s, r->err, sizeof r->err))
        return fail(r);
    char ck[8192];
    size_t need;
    if (cdc_position_format(pos, ck, sizeof ck, &need)) {
        snprintf(r->err, sizeof r->err, "snapshot point too long");
        return -1;
    }
    mbuf q = {0};
    write_state(r, &q, "streaming", ck, ck);
    mbuf_puts(&q, "COMMIT");
    long rc = r->tg->ops->exec(r->tg, mbuf_str(&q), r->err, sizeof r->err);
    mbuf_free(&q);
    if (rc < 0)
        return fail(r);
    r->in_pg_txn = 0;
    r->copying = 0;
    snprintf(r->ck, sizeof r->ck, "%s", ck);
    r->ck_written = now_s();
    uint64_t rows = 0;
    for (size_t i = 0; i < r->s->n; i++)
        rows += r->s->t[i].rows_copied;
    double el = now_s() - r->copy_t0;
    fprintf(stderr, "cdc-migrate: copy done: %llu rows in %.1fs (%.0f rows/s); streaming from %s\n",
            (unsigned long long)rows, el, el > 0 ? (double)rows / el : 0, ck);
    return 0;
}

/* ---- apply -------------------------------------------------------------- */

static int send_sql(run *r)
{
    if (!r->sql.len)
        return 0;
    long rc = r->tg->ops->exec(r->tg, mbuf_str(&r->sql), r->err, sizeof r->err);
    r->sql.len = 0;
    return rc < 0 ? -1 : 0;
}

static int control_poll(run *r);

/* Commits the open batch with the checkpoint in the same transaction. */
static int flush_batch(run *r)
{
    if (!r->in_pg_txn && !r->ck_dirty)
        return 0;
    double t0 = now_s();
    if (!r->in_pg_txn)
        r->tg->ops->begin(r->tg, &r->sql, r->qname);
    write_state(r, &r->sql, "streaming", r->ck, NULL);
    mbuf_puts(&r->sql, "COMMIT");
    if (send_sql(r))
        return -1; /* the caller's failure path rolls back */
    double lat = now_s() - t0;
    r->in_pg_txn = 0;
    r->ck_dirty = 0;
    r->ck_written = now_s();
    long rows = r->total_rows_pending;
    r->done_txns += (uint64_t)r->batch_txns;
    r->done_rows += (uint64_t)rows;
    r->apply_t1 = now_s();
    r->batch_txns = r->batch_rows = r->total_rows_pending = 0;
    if (r->careful == 2)
        r->careful = 0; /* past the row that failed */
    /* Load control: a rows/s ceiling, and backing off while the target's
     * commits are slower than --latency-ms. */
    if (r->o->latency_ms > 0) {
        if (lat * 1000 > (double)r->o->latency_ms)
            r->extra_sleep_us = r->extra_sleep_us ? r->extra_sleep_us * 2 : 10000;
        else
            r->extra_sleep_us /= 2;
        if (r->extra_sleep_us > 2000000)
            r->extra_sleep_us = 2000000;
        if (r->extra_sleep_us)
            sleep_us(r->extra_sleep_us);
    }
    if (r->o->max_rows_per_sec > 0) {
        r->rate_rows += rows;
        double el = now_s() - r->rate_t0;
        double want = (double)r->rate_rows / (double)r->o->max_rows_per_sec;
        if (want > el)
            sleep_us((long)((want - el) * 1e6));
        if (el > 5) {
            r->rate_t0 = now_s();
            r->rate_rows = 0;
        }
    }
    return control_poll(r);
}

static int ensure_txn(run *r)
{
    if (!r->in_pg_txn) {
        r->tg->ops->begin(r->tg, &r->sql, r->qname);
        r->in_pg_txn = 1;
        r->batch_t0 = now_s();
    }
    return 0;
}

/* Appends "col = 'v' AND ..." for the key of image (0 before, 1 after). */
static int key_where(run *r, mtable *t, const cdc_change *c, int after, mbuf *out, char *e,
                     size_t el)
{
    for (size_t k = 0; k < t->npk; k++) {
        size_t i = t->pk[k];
        const cdc_value *v = after ? cdc_change_after(c, i) : cdc_change_before(c, i);
        char *qc = r->tg->ops->ident(t->cols[i].name);
        mbuf_printf(out, "%s%s = ", k ? " AND " : "", qc);
        free(qc);
        vres vr = r->tg->ops->literal(r->o, &t->cols[i], v, out, &r->scratch, e, el);
        if (vr != V_OK) {
            if (vr == V_NULL)
                snprintf(e, el, "key column %s is NULL", t->cols[i].name);
            return -1;
        }
    }
    return 0;
}

static int upsert(run *r, mtable *t, const cdc_change *c, mbuf *out, char *e, size_t el)
{
    mbuf_puts(out, t->ins_head);
    for (size_t i = 0; i < t->ncols; i++) {
        if (i)
            mbuf_addc(out, ',');
        vres vr = r->tg->ops->literal(r->o, &t->cols[i], cdc_change_after(c, i), out,
                                      &r->scratch, e, el);
        if (vr == V_ERR)
            return -1;
    }
    mbuf_puts(out, t->ins_tail);
    mbuf_addc(out, ';');
    return 0;
}

/* The statements for one row change. */
static int row_sql(run *r, mtable *t, const cdc_change *c, mbuf *out, char *e, size_t el)
{
    char op = cdc_change_op(c);
    if (op == 'd' || op == 'u') {
        int moved = 1;
        if (op == 'u') {
            mbuf a = {0}, b = {0};
            if (key_where(r, t, c, 0, &b, e, el) || key_where(r, t, c, 1, &a, e, el)) {
                mbuf_free(&a);
                mbuf_free(&b);
                return -1;
            }
            moved = a.len != b.len || memcmp(a.p, b.p, a.len) != 0;
            mbuf_free(&a);
            mbuf_free(&b);
        }
        if (moved) {
            mbuf_printf(out, "DELETE FROM %s WHERE ", t->tq);
            if (key_where(r, t, c, 0, out, e, el))
                return -1;
            mbuf_addc(out, ';');
        }
        if (op == 'd')
            return 0;
    }
    return upsert(r, t, c, out, e, el);
}

/* The row as text for the dead-letter table. */
static void row_text(run *r, const cdc_change *c, mbuf *out)
{
    const cdc_table *ct = cdc_change_table(c);
    char op = cdc_change_op(c);
    mbuf_addc(out, '{');
    for (size_t i = 0; i < cdc_table_column_count(ct); i++) {
        const cdc_value *v = op == 'd' ? cdc_change_before(c, i) : cdc_change_after(c, i);
        const char *n = cdc_table_column_name(ct, i);
        mbuf_printf(out, "%s\"%s\":", i ? "," : "", n ? n : "?");
        size_t need = 0;
        if (!v || cdc_value_render(v, NULL, 0, &need) != CDC_ERR_TOO_LARGE) {
            mbuf_puts(out, "null");
            continue;
        }
        char *tmp = xmalloc(need);
        if (cdc_value_render(v, tmp, need, &need) == CDC_OK)
            mbuf_puts(out, tmp);
        else
            mbuf_puts(out, "null");
        free(tmp);
    }
    mbuf_addc(out, '}');
    (void)r;
}

static void dead_letter_sql(run *r, mtable *t, const cdc_change *c, const char *error, mbuf *out)
{
    char pos[512];
    snprintf(pos, sizeof pos, "%s:%llu row %llu", cdc_change_file(c),
             (unsigned long long)cdc_change_offset(c), (unsigned long long)cdc_change_row(c));
    mbuf row = {0};
    row_text(r, c, &row);
    char tn[600];
    snprintf(tn, sizeof tn, "%s.%s", t->db, t->name);
    r->tg->ops->dead_letter(r->tg, out, r->qname, tn, cdc_change_op(c), pos, cdc_change_gtid(c),
                            error, &row);
    mbuf_free(&row);
}

static int on_change_locked(const cdc_change *c, void *ud)
{
    run *r = ud;
    const cdc_table *ct = cdc_change_table(c);
    mtable *t = schema_find(r->s, cdc_table_db(ct), cdc_table_name(ct));
    if (!t)
        return 0;
    if (cdc_table_column_count(ct) != t->ncols) {
        snprintf(r->err, sizeof r->err, "%s.%s at %s:%llu: the row event has %zu columns, the "
                 "migrated table %zu (a DDL statement the migration did not see?)", t->db,
                 t->name, cdc_change_file(c), (unsigned long long)cdc_change_offset(c),
                 cdc_table_column_count(ct), t->ncols);
        return -1;
    }
    ensure_txn(r);
    if (!r->apply_t0) {
        r->apply_t0 = r->rate_t0 = now_s(); /* the ceiling counts from the first row */
        r->rate_rows = 0;
    }
    snprintf(r->row_file, sizeof r->row_file, "%s", cdc_change_file(c));
    r->row_off = cdc_change_offset(c);
    char e[1024];
    size_t mark = r->sql.len;
    if (row_sql(r, t, c, &r->sql, e, sizeof e)) {
        r->sql.len = mark;
        if (!r->o->dead_letter) {
            snprintf(r->err, sizeof r->err, "%s.%s at %s:%llu: %s (--dead-letter keeps going)",
                     t->db, t->name, cdc_change_file(c), (unsigned long long)cdc_change_offset(c),
                     e);
            return -1;
        }
        dead_letter_sql(r, t, c, e, &r->sql);
    } else if (r->careful) {
        /* Each row under a savepoint: a refused row goes to the dead letters. */
        mbuf one = {0};
        mbuf_add(&one, r->sql.p + mark, r->sql.len - mark);
        r->sql.len = mark;
        if (send_sql(r))
            return fail(r);
        mbuf q = {0};
        mbuf_puts(&q, "SAVEPOINT r;");
        mbuf_add(&q, one.p, one.len);
        mbuf_puts(&q, "RELEASE SAVEPOINT r;");
        if (r->tg->ops->exec(r->tg, mbuf_str(&q), e, sizeof e) < 0) {
            if (r->tg->ops->lost(r->tg)) {
                mbuf_free(&q);
                mbuf_free(&one);
                snprintf(r->err, sizeof r->err, "%s", e);
                return fail(r);
            }
            q.len = 0;
            mbuf_puts(&q, "ROLLBACK TO SAVEPOINT r;");
            dead_letter_sql(r, t, c, e, &q);
            if (r->tg->ops->exec(r->tg, mbuf_str(&q), r->err, sizeof r->err) < 0) {
                mbuf_free(&q);
                mbuf_free(&one);
                return fail(r);
            }
        }
        mbuf_free(&q);
        mbuf_free(&one);
    }
    r->batch_rows++;
    r->total_rows_pending++;
    if (r->sql.len >= (256u << 10) && send_sql(r))
        return fail(r);
    return 0;
}

static int on_begin_locked(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    run *r = ud;
    (void)gtid, (void)sid, (void)ts, (void)pos;
    if (g_pause && !r->copying) {
        /* Pause before any row of this transaction: commit what came before. */
        if (flush_batch(r))
            return fail(r);
        r->in_src_txn = 1;
        return CDC_ERR_PAUSED;
    }
    r->in_src_txn = 1;
    return 0;
}

static int on_commit_locked(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    run *r = ud;
    (void)gtid, (void)sid;
    size_t need;
    if (cdc_position_format(pos, r->ck, sizeof r->ck, &need)) {
        snprintf(r->err, sizeof r->err, "checkpoint too long");
        return -1;
    }
    r->in_src_txn = 0;
    if (!r->ck_dirty && !r->in_pg_txn)
        r->batch_t0 = now_s();
    r->ck_dirty = 1;
    r->last_ts_ms = ts;
    r->batch_txns++;
    if (r->careful == 1) {
        int c = strcmp(cdc_position_file(pos), r->until_file);
        if (c > 0 || (c == 0 && cdc_position_offset(pos) > r->until_off))
            r->careful = 2;
    }
    if (r->careful == 2 || r->batch_txns >= r->o->batch_txns || r->batch_rows >= r->o->batch_rows ||
        (now_s() - r->batch_t0) * 1000 >= (double)r->o->batch_ms || g_pause) {
        if (flush_batch(r))
            return fail(r);
        if (g_pause)
            return CDC_ERR_PAUSED;
    }
    return 0;
}

/* Heartbeats and filtered transactions move the safe position. */
static int on_checkpoint_locked(const cdc_position *pos, void *ud)
{
    run *r = ud;
    if (r->in_src_txn)
        return 0;
    size_t need;
    if (cdc_position_format(pos, r->ck, sizeof r->ck, &need))
        return 0;
    r->ck_dirty = 1;
    if (flush_batch(r))
        return fail(r);
    return g_pause ? CDC_ERR_PAUSED : 0;
}

/* Reads one identifier at *p (plain or `quoted`) into out; 0 if none. */
static int ident_at(const char **p, const char *end, mbuf *out)
{
    const char *q = *p;
    out->len = 0;
    if (q < end && *q == '`') {
        for (q++; q < end; q++) {
            if (*q == '`') {
                if (q + 1 < end && q[1] == '`') {
                    mbuf_addc(out, '`');
                    q++;
                    continue;
                }
                *p = q + 1;
                mbuf_str(out);
                return 1;
            }
            mbuf_addc(out, *q);
        }
        return 0;
    }
    while (q < end && (isalnum((unsigned char)*q) || *q == '_' || *q == '$' ||
                       (unsigned char)*q >= 0x80))
        mbuf_addc(out, *q++);
    if (q == *p)
        return 0;
    *p = q;
    mbuf_str(out);
    return 1;
}

/* Whether a DDL statement names a migrated table: `db`.`t` with our
 * database, or t alone with our database as the statement's default. The
 * stream passes some statements of other databases (those it cannot read
 * the names from); names compare case-insensitively, so a doubt stops. */
static int ddl_is_ours(run *r, const cdc_query *q)
{
    cdc_bytes sql = cdc_query_sql(q), db = cdc_query_db(q);
    const char *p = (const char *)sql.ptr, *end = p + sql.len;
    int default_ours = db.len == strlen(r->o->database) &&
                       !strncasecmp((const char *)db.ptr, r->o->database, db.len);
    mbuf a = {0}, b = {0};
    int ours = 0;
    while (p < end && !ours) {
        if (*p == '\'' || *p == '"') { /* skip string literals */
            char c = *p++;
            while (p < end && *p != c)
                p += *p == '\\' ? 2 : 1;
            p++;
            continue;
        }
        if (!ident_at(&p, end, &a)) {
            p++;
            continue;
        }
        if (p < end && *p == '.') {
            const char *save = ++p;
            if (ident_at(&p, end, &b)) {
                if (!strcasecmp(a.p, r->o->database))
                    for (size_t i = 0; i < r->s->n && !ours; i++)
                        ours = !strcasecmp(b.p, r->s->t[i].name);
                continue;
            }
            p = save;
        }
        if (default_ours)
            for (size_t i = 0; i < r->s->n && !ours; i++)
                ours = !strcasecmp(a.p, r->s->t[i].name);
    }
    mbuf_free(&a);
    mbuf_free(&b);
    return ours;
}

static int on_ddl_locked(const cdc_query *q, const cdc_position *pos, void *ud)
{
    run *r = ud;
    cdc_bytes sql = cdc_query_sql(q);
    if (!ddl_is_ours(r, q))
        return 0; /* its position is passed by the next commit or checkpoint */
    char ck[8192];
    size_t need;
    if (cdc_position_format(pos, ck, sizeof ck, &need))
        ck[0] = 0;
    if (flush_batch(r))
        return fail(r);
    snprintf(r->err, sizeof r->err, "DDL on a migrated table, not applied: \"%.*s\" ending at %s. "
             "Apply the equivalent change to the target, then run `cdc-migrate skip-ddl "
             "--checkpoint '%s'` and start again (docs/migrate.md, runbook)",
             (int)(sql.len > 1000 ? 1000 : sql.len), (const char *)sql.ptr, ck, ck);
    r->ddl_stop = 1;
    return -1;
}

/* Every callback holds the lock the flusher thread takes. */
static int on_change(const cdc_change *c, void *ud)
{
    run *r = ud;
    pthread_mutex_lock(&r->mu);
    int rc = on_change_locked(c, ud);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int on_commit(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    run *r = ud;
    pthread_mutex_lock(&r->mu);
    int rc = on_commit_locked(gtid, sid, ts, pos, ud);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int on_begin(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    run *r = ud;
    pthread_mutex_lock(&r->mu);
    int rc = on_begin_locked(gtid, sid, ts, pos, ud);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int on_checkpoint(const cdc_position *pos, void *ud)
{
    run *r = ud;
    pthread_mutex_lock(&r->mu);
    int rc = on_checkpoint_locked(pos, ud);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int on_ddl(const cdc_query *q, const cdc_position *pos, void *ud)
{
    run *r = ud;
    pthread_mutex_lock(&r->mu);
    int rc = on_ddl_locked(q, pos, ud);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int on_snapshot_done(const cdc_position *pos, void *ud)
{
    run *r = ud;
    pthread_mutex_lock(&r->mu);
    int rc = on_snapshot_done_locked(pos, ud);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static void *flusher(void *ud)
{
    run *r = ud;
    long step = r->o->batch_ms / 2 > 10 ? r->o->batch_ms / 2 : 10;
    for (;;) {
        sleep_us(step * 1000);
        pthread_mutex_lock(&r->mu);
        if (r->quit) {
            pthread_mutex_unlock(&r->mu);
            return NULL;
        }
        if (r->streaming && !r->copying && !r->async_fail)
            control_poll(r); /* at most once a second */
        if (r->streaming && !r->copying && !r->in_src_txn && !r->async_fail &&
            (r->in_pg_txn || r->ck_dirty) &&
            (now_s() - r->batch_t0) * 1000 >= (double)r->o->batch_ms) {
            if (flush_batch(r)) {
                r->async_fail = 1;
                r->retriable = r->tg->ops->lost(r->tg);
                if (r->st)
                    cdc_stream_stop(r->st);
            }
        }
        pthread_mutex_unlock(&r->mu);
    }
}

static void on_log(int level, int code, const char *msg, void *ud)
{
    run *r = ud;
    if (level <= 1 || r->o->verbose)
        fprintf(stderr, "cdc-migrate: source: %s%s\n", level == 0 ? "error: " : "", msg);
    (void)code;
}

/* The control column of the state row: 'pause' pauses, 'run' resumes. */
static int control_poll(run *r)
{
    char q[512], e[256];
    int found;
    if (now_s() - r->polled < 1.0)
        return 0;
    r->polled = now_s();
    snprintf(q, sizeof q, "SELECT control FROM %s WHERE name = %s", r->tg->state_tbl, r->qname);
    char *v = r->tg->ops->value1(r->tg, q, e, sizeof e, &found);
    if (v && !strcmp(v, "pause"))
        g_pause = 2; /* 2: by the control command, 1: by SIGUSR1 */
    else if (v && !strcmp(v, "run") && g_pause == 2)
        g_pause = 0;
    free(v);
    return 0;
}

static int stream_config(run *r, cdc_config *cfg, const char *start)
{
    const mopts *o = r->o;
    char port[16], hb[32], par[16], err[512];
    snprintf(port, sizeof port, "%d", o->src_port);
    snprintf(hb, sizeof hb, "%ld", o->heartbeat_ms);
    snprintf(par, sizeof par, "%d", o->parallelism);
    mbuf tl = {0};
    for (size_t i = 0; i < r->s->n; i++)
        mbuf_printf(&tl, "%s%s.%s", i ? "," : "", r->s->t[i].db, r->s->t[i].name);
    /* Loop prevention: what a reverse migration applied to this source
     * carries its marker row first; the stream drops it whole. */
    char marker[300];
    snprintf(marker, sizeof marker, "%s.marker", o->state_schema ? o->state_schema : "cdc_migrate");
    const char *kv[][2] = {
        {"host", o->src_host}, {"port", port}, {"user", o->src_user},
        {"password", o->src_password ? o->src_password : ""}, {"server.id", o->server_id},
        {"heartbeat.interval.ms", hb}, {"reconnect.max.attempts", "-1"},
        {"snapshot.parallelism", par}, {"table.include.list", mbuf_str(&tl)},
        {"database.include.list", o->database},
        {"snapshot.mode", start ? "never" : "initial"}, {"start", start ? start : ""},
        {"stop.at", o->stop_at}, {"ssl.ca", o->src_ssl_ca},
        {"ssl.mode", o->src_ssl_ca ? "verify_ca" : NULL},
        {"transaction.marker.table", marker},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof kv / sizeof kv[0] && !rc; i++) {
        if (!kv[i][1])
            continue;
        if (cdc_config_set(cfg, kv[i][0], kv[i][1], err, sizeof err)) {
            snprintf(r->err, sizeof r->err, "source configuration: %s", err);
            rc = -1;
        }
    }
    mbuf_free(&tl);
    return rc;
}

/* One attempt: connect to the target, learn where it stands, stream until
 * the stream ends. Returns 0 (stop.at reached or stopped), 1 (the target
 * went away: retry after a backoff), 2 (again at once, row by row), -1. */
static int attempt(run *r)
{
    char *st_phase = NULL, *st_ck = NULL;
    int found, rc = -1;
    r->in_pg_txn = r->in_src_txn = 0;
    r->sql.len = 0;
    r->batch_txns = r->batch_rows = r->total_rows_pending = 0;
    r->ck_dirty = 0;
    r->retriable = 0;
    r->async_fail = 0;
    r->tg = target_connect(r->o, r->err, sizeof r->err);
    if (!r->tg)
        return 1;
    r->connected = 1;
    if (r->tg->ops->setup(r->tg, r->o, r->s, r->err, sizeof r->err))
        goto out;
    char q[1024];
    snprintf(q, sizeof q, "SELECT CONCAT(phase, ' ', COALESCE(checkpoint, '')) FROM %s "
             "WHERE name = %s", r->tg->state_tbl, r->qname);
    st_phase = r->tg->ops->value1(r->tg, q, r->err, sizeof r->err, &found);
    if (!st_phase)
        goto out;
    const char *start = NULL;
    if (!found && r->o->start_at) {
        /* A migration whose two sides are equal already (the reverse one
         * after a cutover): no copy, streaming from the given position. */
        mbuf q0 = {0};
        r->tg->ops->begin(r->tg, &q0, r->qname);
        write_state(r, &q0, "streaming", r->o->start_at, r->o->start_at);
        mbuf_puts(&q0, "COMMIT");
        long e0 = r->tg->ops->exec(r->tg, mbuf_str(&q0), r->err, sizeof r->err);
        mbuf_free(&q0);
        if (e0 < 0)
            goto out;
        free(st_phase);
        st_phase = xmalloc(strlen(r->o->start_at) + 11);
        sprintf(st_phase, "streaming %s", r->o->start_at);
        found = 1;
        fprintf(stderr, "cdc-migrate: no copy (--start-at): streaming from %s\n", r->o->start_at);
    }
    if (found && !strncmp(st_phase, "streaming ", 10)) {
        st_ck = xstrdup(st_phase + 10);
        start = st_ck;
        snprintf(r->ck, sizeof r->ck, "%s", start);
        r->copying = 0;
    } else {
        /* (Re)start the copy: the state row says "streaming" only once
         * the copy is committed, so a crash starts it again. */
        if (r->tg->ops->copy_begin(r->tg, r->s, r->qname, r->err, sizeof r->err))
            goto out;
        r->in_pg_txn = 1;
        r->copying = 1;
        r->copy_t0 = now_s();
        for (size_t i = 0; i < r->s->n; i++) {
            r->s->t[i].copybuf.len = 0;
            r->s->t[i].copyrows = 0;
            r->s->t[i].rows_copied = 0;
        }
        fprintf(stderr, "cdc-migrate: copying %zu tables\n", r->s->n);
    }
    cdc_config *cfg;
    if (cdc_config_new(&cfg, NULL)) {
        snprintf(r->err, sizeof r->err, "out of memory");
        goto out;
    }
    if (stream_config(r, cfg, start)) {
        cdc_config_free(cfg);
        goto out;
    }
    char err[1024];
    if (cdc_stream_new(&r->st, cfg, NULL, err, sizeof err)) {
        snprintf(r->err, sizeof r->err, "source: %s", err);
        cdc_config_free(cfg);
        goto out;
    }
    cdc_config_free(cfg);
    cdc_stream_set_snapshot_cb(r->st, on_snapshot_row, r);
    cdc_stream_set_progress_cb(r->st, on_progress, r);
    cdc_stream_set_snapshot_done_cb(r->st, on_snapshot_done, r);
    cdc_stream_set_change_cb(r->st, on_change, r);
    cdc_stream_set_begin_cb(r->st, on_begin, r);
    cdc_stream_set_commit_cb(r->st, on_commit, r);
    cdc_stream_set_checkpoint_cb(r->st, on_checkpoint, r);
    cdc_stream_set_ddl_cb(r->st, on_ddl, r);
    cdc_stream_set_log_cb(r->st, on_log, r);
    g_stream = r->st;
    if (g_stop)
        cdc_stream_stop(r->st);
    r->rate_t0 = now_s();
    for (;;) {
        pthread_mutex_lock(&r->mu);
        r->streaming = 1;
        pthread_mutex_unlock(&r->mu);
        int src = cdc_stream_start(r->st);
        pthread_mutex_lock(&r->mu);
        r->streaming = 0;
        pthread_mutex_unlock(&r->mu);
        if (src == CDC_ERR_STOPPED && r->async_fail) {
            if (r->retriable) {
                rc = 1;
                break;
            }
            src = CDC_ERR_CALLBACK; /* the batch the flusher sent was refused */
        }
        if (src == CDC_ERR_PAUSED) {
            /* Paused: the batch is committed; wait for resume. */
            fprintf(stderr, "cdc-migrate: paused at %s\n", r->ck);
            while (g_pause && !g_stop) {
                sleep_us(500000);
                if (control_poll(r) || r->tg->ops->lost(r->tg))
                    break;
            }
            if (r->tg->ops->lost(r->tg)) {
                snprintf(r->err, sizeof r->err, "target connection lost while paused");
                rc = 1;
                break;
            }
            if (!g_stop) {
                fprintf(stderr, "cdc-migrate: resumed\n");
                continue;
            }
            rc = 0;
            break;
        }
        if (src == CDC_OK || src == CDC_ERR_STOPPED) {
            /* Commit what is complete; a half-applied source transaction is
             * rolled back and comes again from the checkpoint. */
            if (r->copying) {
                r->tg->ops->exec(r->tg, "ROLLBACK", err, sizeof err);
                snprintf(r->err, sizeof r->err, "stopped during the copy: the copy starts "
                         "again on the next run");
                rc = src == CDC_OK ? -1 : 0;
            } else if (r->in_src_txn) {
                r->tg->ops->exec(r->tg, "ROLLBACK", err, sizeof err);
                rc = 0;
            } else if (flush_batch(r)) {
                rc = r->tg->ops->lost(r->tg) ? 1 : -1;
            } else {
                rc = 0;
            }
            if (src == CDC_OK && rc == 0)
                fprintf(stderr, "cdc-migrate: reached %s\n", r->ck);
            break;
        }
        if (src == CDC_ERR_CALLBACK && r->retriable) {
            rc = 1;
            break;
        }
        if (src != CDC_ERR_CALLBACK)
            snprintf(r->err, sizeof r->err, "source: %s", cdc_stream_errmsg(r->st));
        /* A refused row with dead letters on: start again from the
         * checkpoint, row by row under savepoints up to the refused row. */
        if (src == CDC_ERR_CALLBACK && !r->ddl_stop && r->o->dead_letter && !r->copying &&
            !r->careful) {
            fprintf(stderr, "cdc-migrate: %s; re-applying from %s row by row\n", r->err, r->ck);
            r->careful = 1;
            snprintf(r->until_file, sizeof r->until_file, "%s", r->row_file);
            r->until_off = r->row_off;
            r->err[0] = 0;
            rc = 2;
            break;
        }
        rc = -1;
        break;
    }
    g_stream = NULL;
    if (r->done_rows) {
        double el = r->apply_t1 - r->apply_t0;
        fprintf(stderr, "cdc-migrate: applied %llu transactions, %llu rows in %.2fs "
                "(%.0f rows/s)\n", (unsigned long long)r->done_txns,
                (unsigned long long)r->done_rows, el, el > 0 ? (double)r->done_rows / el : 0);
    }
    r->done_txns = r->done_rows = 0;
    r->apply_t0 = 0;
    cdc_stream_free(r->st);
    r->st = NULL;
out:
    /* A failure of the target itself (not of the data) is retried. */
    if (rc == -1 && !r->ddl_stop && (!r->tg || r->tg->ops->lost(r->tg)))
        rc = 1;
    if (rc != 0 && r->tg && !r->tg->ops->lost(r->tg))
        r->tg->ops->exec(r->tg, "ROLLBACK", err, 0);
    target_close(r->tg);
    r->tg = NULL;
    free(st_phase);
    free(st_ck);
    return rc;
}

int cmd_run(const mopts *o)
{
    char err[2048];
    MYSQL *m = src_connect(o, err, sizeof err);
    if (!m) {
        fprintf(stderr, "cdc-migrate: %s\n", err);
        return 1;
    }
    mschema s;
    int rc = schema_load(m, o, &s, err, sizeof err);
    mysql_close(m);
    if (rc) {
        fprintf(stderr, "cdc-migrate: %s\n", err);
        return 1;
    }
    o->tops->prepare(o, &s);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.s = &s;
    mbuf qn = {0};
    o->tops->quote(&qn, o->name, strlen(o->name));
    r.qname = xstrdup(mbuf_str(&qn));
    mbuf_free(&qn);
    pthread_mutex_init(&r.mu, NULL);
    pthread_t fl;
    if (pthread_create(&fl, NULL, flusher, &r)) {
        fprintf(stderr, "cdc-migrate: cannot start a thread\n");
        return 1;
    }
    long backoff_ms = 250;
    int status;
    for (;;) {
        r.err[0] = 0;
        r.ddl_stop = 0;
        int a = attempt(&r);
        if (a == 0) {
            status = 0;
            if (r.err[0])
                fprintf(stderr, "cdc-migrate: %s\n", r.err);
            break;
        }
        if (a < 0) {
            fprintf(stderr, "cdc-migrate: %s\n", r.err);
            status = r.ddl_stop ? 3 : 1;
            break;
        }
        if (g_stop) {
            status = 0;
            break;
        }
        if (a == 2)
            continue;
        if (r.connected)
            backoff_ms = 250; /* it worked for a while: start the backoff again */
        r.connected = 0;
        fprintf(stderr, "cdc-migrate: %s; retrying in %ld ms\n", r.err, backoff_ms);
        sleep_us(backoff_ms * 1000);
        backoff_ms = backoff_ms * 2 > 8000 ? 8000 : backoff_ms * 2;
    }
    pthread_mutex_lock(&r.mu);
    r.quit = 1;
    pthread_mutex_unlock(&r.mu);
    pthread_join(fl, NULL);
    pthread_mutex_destroy(&r.mu);
    free(r.qname);
    mbuf_free(&r.sql);
    mbuf_free(&r.scratch);
    schema_free(&s);
    return status;
}
