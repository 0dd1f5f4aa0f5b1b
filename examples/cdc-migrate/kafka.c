/*
 * `cdc-migrate apply --from-kafka` (kafka.h; docs/kafka.md, "Applying
 * from Kafka"). One thread: poll the consumer, turn each Debezium record
 * into a guarded statement, and every --batch-rows records or --batch-ms
 * commit them to the target together with the next offset of each
 * partition they came from. Rebalance callbacks run inside the poll, so
 * a revoke always finds the batch between two records: it is committed
 * (or rolled back) before the partitions go.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <mysql.h>

#include "kafka.h"
#include "kdbz.h"

typedef struct kpart {
    char *topic;
    int32_t part;
    int live;           /* assigned to this member */
    int need_seek;      /* the target's offset not read yet (target down) */
    int64_t expected;   /* next_offset the target holds; -1: no row yet */
    int64_t next;       /* after the last record taken into the batch; -1: none */
    long inbatch;       /* records of this partition in the batch */
    int64_t pend_ts_ms; /* source.ts_ms of the batch's last record */
    int64_t last_ts_ms; /* of the last committed record */
    int64_t hw;         /* high watermark, as last seen */
    uint64_t applied;   /* records this member committed */
} kpart;

typedef struct krec {
    size_t p;
    int64_t offset;
    char *sql;   /* guarded statement(s); NULL: nothing to apply (tombstone, ignored) */
    char *table; /* db.table, for dead letters */
    char op;
    char *pos;
    char *row;   /* the record's value, for dead letters */
} krec;

typedef struct ktable {
    char *topic;
    uint64_t applied;
} ktable;

typedef struct kapp {
    const mopts *o;
    const kopts *ko;
    mschema *s;
    target *tg;
    rd_kafka_t *rk;
    char *qname;
    dbz_modes modes;
    kpart *parts;
    size_t nparts;
    krec *recs;
    size_t nrecs;
    double batch_t0;
    int consuming_paused; /* rd_kafka_pause_partitions in force */
    int cmd_pause;        /* paused by command (state row / SIGUSR1) */
    char tok[400];        /* the record being turned into SQL: topic/part/offset */
    double down_since, next_connect, control_checked, metrics_built;
    long backoff_ms;
    double rate_t0;
    long rate_rows;
    uint64_t ignored, tombstones, dead;
    char err[4096];
    mbuf scratch;
    /* metrics endpoint */
    pthread_mutex_t mu;
    mbuf metrics;
    int msock;
    pthread_t mthread;
    int mrunning;
} kapp;

static volatile sig_atomic_t g_stop, g_pause, g_resume;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        g_pause = 1;
    else if (sig == SIGUSR2)
        g_resume = 1;
    else
        g_stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static kpart *part_get(kapp *a, const char *topic, int32_t part, int create)
{
    for (size_t i = 0; i < a->nparts; i++)
        if (a->parts[i].part == part && !strcmp(a->parts[i].topic, topic))
            return &a->parts[i];
    if (!create)
        return NULL;
    a->parts = realloc(a->parts, (a->nparts + 1) * sizeof *a->parts);
    if (!a->parts)
        abort();
    kpart *p = &a->parts[a->nparts++];
    memset(p, 0, sizeof *p);
    p->topic = xstrdup(topic);
    p->part = part;
    p->expected = p->next = -1;
    return p;
}

static void batch_clear(kapp *a)
{
    for (size_t i = 0; i < a->nrecs; i++) {
        free(a->recs[i].sql);
        free(a->recs[i].table);
        free(a->recs[i].pos);
        free(a->recs[i].row);
    }
    a->nrecs = 0;
    for (size_t i = 0; i < a->nparts; i++) {
        a->parts[i].inbatch = 0;
        a->parts[i].next = -1;
    }
}

/* ---- target ---------------------------------------------------------- */

static const char *setup_sql =
    "CREATE TABLE IF NOT EXISTS cdc_migrate.kafka_offsets ("
    " name text NOT NULL, topic text NOT NULL, part integer NOT NULL,"
    " next_offset bigint NOT NULL, records bigint NOT NULL DEFAULT 0,"
    " high_watermark bigint, last_source_ms bigint, member text,"
    " updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (name, topic, part));"
    "CREATE TABLE IF NOT EXISTS cdc_migrate.kafka_keys ("
    " name text NOT NULL, tbl text NOT NULL, k text NOT NULL, pos text NOT NULL,"
    " PRIMARY KEY (name, tbl, k));"
    /* Applies s only when p is newer than the key's last applied position. */
    "CREATE OR REPLACE FUNCTION cdc_migrate.kafka_apply(a_name text, a_tbl text, a_key text,"
    " a_pos text, a_sql text) RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN"
    " INSERT INTO cdc_migrate.kafka_keys AS x (name, tbl, k, pos)"
    "  VALUES (a_name, a_tbl, a_key, a_pos) ON CONFLICT (name, tbl, k)"
    "  DO UPDATE SET pos = EXCLUDED.pos WHERE x.pos < EXCLUDED.pos;"
    " IF NOT FOUND THEN RETURN false; END IF;"
    " EXECUTE a_sql; RETURN true; END $f$;";

/* The MySQL/MariaDB target's tables (no stored code): the key guard is a
 * row of kafka_keys upserted to the newer position, then the statement
 * conditioned on that row holding the record's own position (guard_my).
 * Binary names, keys and positions: byte order, case kept. */
static const char *setup_sql_my =
    "CREATE DATABASE IF NOT EXISTS cdc_migrate CHARACTER SET utf8mb4;"
    "CREATE TABLE IF NOT EXISTS cdc_migrate.kafka_offsets ("
    " name VARBINARY(191) NOT NULL, topic VARBINARY(255) NOT NULL, part INT NOT NULL,"
    " next_offset BIGINT NOT NULL, records BIGINT NOT NULL DEFAULT 0,"
    " high_watermark BIGINT, last_source_ms BIGINT, member VARCHAR(255),"
    " updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
    " PRIMARY KEY (name, topic, part)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;"
    "CREATE TABLE IF NOT EXISTS cdc_migrate.kafka_keys ("
    " name VARBINARY(191) NOT NULL, tbl VARBINARY(320) NOT NULL, k VARBINARY(2500) NOT NULL,"
    " pos VARBINARY(700) NOT NULL, tok VARBINARY(400) NOT NULL,"
    " PRIMARY KEY (name, tbl, k)) ENGINE=InnoDB;";

static int is_my(const kapp *a) { return strcmp(a->o->tops->kind, "postgresql") != 0; }

static int target_up(kapp *a)
{
    a->tg = target_connect(a->o, a->err, sizeof a->err);
    if (!a->tg)
        return -1;
    /* Members start together: one at a time creates what is missing. */
    mbuf q = {0};
    int my = is_my(a);
    mbuf_puts(&q, my ? "SELECT GET_LOCK('cdc_migrate_kafka', 60)" : "SELECT pg_advisory_lock(74015)");
    long rc = a->tg->ops->exec(a->tg, mbuf_str(&q), a->err, sizeof a->err);
    if (rc >= 0 && a->tg->ops->setup(a->tg, a->o, a->s, a->err, sizeof a->err))
        rc = -1;
    if (rc >= 0)
        rc = a->tg->ops->exec(a->tg, my ? setup_sql_my : setup_sql, a->err, sizeof a->err);
    if (rc >= 0) {
        q.len = 0;
        mbuf_printf(&q, "INSERT %sINTO %s (name, phase, checkpoint) VALUES (%s, 'streaming', ",
                    my ? "IGNORE " : "", a->tg->state_tbl, a->qname);
        char ck[600];
        snprintf(ck, sizeof ck, "kafka group %s", a->ko->group);
        sql_quote(&q, ck, strlen(ck));
        mbuf_puts(&q, my ? ")" : ") ON CONFLICT (name) DO NOTHING");
        rc = a->tg->ops->exec(a->tg, mbuf_str(&q), a->err, sizeof a->err);
    }
    char e[256];
    a->tg->ops->exec(a->tg, my ? "SELECT RELEASE_LOCK('cdc_migrate_kafka')" :
                     "SELECT pg_advisory_unlock(74015)", e, sizeof e);
    mbuf_free(&q);
    if (rc < 0) {
        target_close(a->tg);
        a->tg = NULL;
        return -1;
    }
    return 0;
}

static void target_down(kapp *a, const char *why)
{
    fprintf(stderr, "cdc-migrate: %s; consumption paused, retrying the target\n", why);
    target_close(a->tg);
    a->tg = NULL;
    a->down_since = now_s();
    a->next_connect = now_s() + (double)a->backoff_ms / 1000;
}

/* Pauses or resumes fetching of every assigned partition; the member
 * stays in the group (the poll loop goes on). */
static void consume_pause(kapp *a, int pause)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(a->rk, &l) || !l)
        return;
    if (l->cnt && pause)
        rd_kafka_pause_partitions(a->rk, l);
    else if (l->cnt)
        rd_kafka_resume_partitions(a->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    a->consuming_paused = pause;
}

typedef struct offs_ud {
    kapp *a;
    rd_kafka_topic_partition_list_t *l;
} offs_ud;

static int offs_row(char **v, unsigned long *len, size_t n, void *ud)
{
    (void)len;
    offs_ud *u = ud;
    if (n < 3 || !v[0] || !v[1] || !v[2])
        return 0;
    for (int i = 0; i < u->l->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &u->l->elems[i];
        if (tp->partition == atoi(v[1]) && !strcmp(tp->topic, v[0]))
            tp->offset = atoll(v[2]);
    }
    return 0;
}

/* Sets each partition of l to the offset the target holds (the beginning
 * when it holds none) and the member's expectation to match. */
static int offsets_read(kapp *a, rd_kafka_topic_partition_list_t *l)
{
    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = -1;
    mbuf q = {0};
    mbuf_printf(&q, "SELECT topic, part, next_offset FROM cdc_migrate.kafka_offsets WHERE name = %s",
                a->qname);
    offs_ud u = {a, l};
    int rc = a->tg->ops->select(a->tg, mbuf_str(&q), offs_row, &u, a->err, sizeof a->err);
    mbuf_free(&q);
    if (rc)
        return -1;
    for (int i = 0; i < l->cnt; i++) {
        kpart *p = part_get(a, l->elems[i].topic, l->elems[i].partition, 1);
        p->expected = l->elems[i].offset;
        p->next = -1;
        p->need_seek = 0;
        if (l->elems[i].offset < 0)
            l->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    return 0;
}

/* After a rolled-back batch, a fence or the target's return: every
 * assigned partition starts again at the target's offset. */
static int resync(kapp *a)
{
    batch_clear(a);
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(a->rk, &l) || !l)
        return -1;
    int rc = 0;
    if (l->cnt) {
        if (offsets_read(a, l)) {
            rc = -1;
        } else {
            rd_kafka_error_t *e = rd_kafka_seek_partitions(a->rk, l, 10000);
            if (e) {
                fprintf(stderr, "cdc-migrate: seek: %s\n", rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                rc = -1;
            }
            for (int i = 0; !rc && i < l->cnt; i++)
                if (l->elems[i].err) {
                    fprintf(stderr, "cdc-migrate: seek %s[%d]: %s\n", l->elems[i].topic,
                            (int)l->elems[i].partition, rd_kafka_err2str(l->elems[i].err));
                    rc = -1;
                }
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

/* ---- records ----------------------------------------------------------- */

static const kjson *field_schema(const kjson *schema, const char *image, const char *col)
{
    const kjson *fl = schema ? kjson_get(schema, "fields") : NULL;
    for (const kjson *f = fl ? fl->child : NULL; f; f = f->next) {
        const kjson *fn = kjson_get(f, "field");
        if (!fn || fn->type != KJSON_STRING || strcmp(fn->text, image))
            continue;
        const kjson *cols = kjson_get(f, "fields");
        for (const kjson *c = cols ? cols->child : NULL; c; c = c->next) {
            const kjson *cn = kjson_get(c, "field");
            if (cn && cn->type == KJSON_STRING && !strcmp(cn->text, col))
                return c;
        }
    }
    return NULL;
}

/* Appends value v (kdbz's PostgreSQL text form of column c) as the
 * target's literal. MySQL/MariaDB read the same text except for bytes
 * (\x hex: X'hex'), geometry (WKB: ST_GeomFromWKB), BIT ('0101': b'0101')
 * and TIMESTAMP (ISO 8601 in UTC: the session's UTC 'YYYY-MM-DD hh:mm:ss').
 * JSON: MySQL's JSON type and PostgreSQL's jsonb store their own form of
 * the document; a MariaDB source's JSON column (LONGTEXT) gets the text
 * the record carries, which is the source's stored text byte for byte
 * (docs/debezium.md). */
static void lit(const kapp *a, const mcol *c, const char *v, size_t n, mbuf *out)
{
    if (!is_my(a)) {
        sql_quote(out, v, n);
        return;
    }
    switch (c->cv) {
    case CV_BINARY:
    case CV_BLOB:
    case CV_GEOMETRY:
        if (n >= 2 && v[0] == '\\' && v[1] == 'x') {
            if (n == 2) {
                mbuf_puts(out, c->cv == CV_GEOMETRY ? "NULL" : "''");
                return;
            }
            mbuf_puts(out, c->cv == CV_GEOMETRY ? "ST_GeomFromWKB(X'" : "X'");
            mbuf_add(out, v + 2, n - 2);
            mbuf_puts(out, c->cv == CV_GEOMETRY ? "')" : "'");
            return;
        }
        break;
    case CV_BIT:
        mbuf_puts(out, "b");
        break;
    case CV_TIMESTAMP: {
        size_t m = n;
        if (m && v[m - 1] == 'Z')
            m--;
        else if (m > 6 && !strcmp(v + m - 6, "+00:00"))
            m -= 6;
        mbuf_addc(out, '\'');
        for (size_t i = 0; i < m; i++)
            mbuf_addc(out, v[i] == 'T' ? ' ' : v[i]);
        mbuf_addc(out, '\'');
        return;
    }
    default:
        break;
    }
    sql_quote(out, v, n);
}

/* The key of image img as text: each key column's value, length-prefixed. */
static int key_text(kapp *a, mtable *t, const kjson *img, const kjson *schema, const char *iname,
                    mbuf *out, mbuf *where, char *e, size_t el)
{
    for (size_t k = 0; k < t->npk; k++) {
        const mcol *c = &t->cols[t->pk[k]];
        a->scratch.len = 0;
        vres r = dbz_value_text(a->o, &a->modes, c, kjson_get(img, c->name),
                                field_schema(schema, iname, c->name), &a->scratch, e, el);
        if (r != V_OK) {
            if (r == V_NULL)
                snprintf(e, el, "key column %s is null", c->name);
            return -1;
        }
        mbuf_printf(out, "%zu:", a->scratch.len);
        mbuf_add(out, a->scratch.p, a->scratch.len);
        if (where) {
            char *qc = a->o->tops->ident(c->name);
            mbuf_printf(where, "%s%s = ", k ? " AND " : "", qc);
            free(qc);
            lit(a, c, a->scratch.p, a->scratch.len, where);
        }
    }
    return 0;
}

/* One guarded statement: SELECT cdc_migrate.kafka_apply(name, table, key, pos, stmt); */
static void guarded(kapp *a, mbuf *out, const char *table, mbuf *key, const char *pos, mbuf *stmt)
{
    mbuf_printf(out, "SELECT cdc_migrate.kafka_apply(%s,", a->qname);
    sql_quote(out, table, strlen(table));
    mbuf_addc(out, ',');
    for (size_t i = 0; i < key->len; i++) /* text cannot hold NUL */
        if (!key->p[i])
            key->p[i] = '?';
    sql_quote(out, key->p, key->len);
    mbuf_addc(out, ',');
    sql_quote(out, pos, strlen(pos));
    mbuf_addc(out, ',');
    sql_quote(out, stmt->p, stmt->len);
    mbuf_puts(out, ");");
}

/* MySQL/MariaDB: the key's row moves to pos, with the record's token
 * (topic/partition/offset), when pos is newer (it stays otherwise); the
 * statement that follows runs only where the row then holds this very
 * token (guard_my): an older record, or one at the same position, leaves
 * both alone. tok is assigned before pos (ON DUPLICATE KEY UPDATE
 * assigns left to right). */
static void keyrow_my(kapp *a, mbuf *out, const char *table, mbuf *key, const char *pos)
{
    mbuf_printf(out, "INSERT INTO cdc_migrate.kafka_keys (name, tbl, k, pos, tok) VALUES (%s,",
                a->qname);
    sql_quote(out, table, strlen(table));
    mbuf_addc(out, ',');
    for (size_t i = 0; i < key->len; i++) /* the statement is NUL-terminated text */
        if (!key->p[i])
            key->p[i] = '?';
    sql_quote(out, key->p, key->len);
    mbuf_addc(out, ',');
    sql_quote(out, pos, strlen(pos));
    mbuf_addc(out, ',');
    sql_quote(out, a->tok, strlen(a->tok));
    mbuf_puts(out, ") ON DUPLICATE KEY UPDATE tok = IF(VALUES(pos) > pos, VALUES(tok), tok), "
                   "pos = IF(VALUES(pos) > pos, VALUES(pos), pos);");
}

static void guard_my(kapp *a, mbuf *out, const char *table, mbuf *key, const char *pos)
{
    for (size_t i = 0; i < key->len; i++)
        if (!key->p[i])
            key->p[i] = '?';
    mbuf_printf(out, "EXISTS (SELECT 1 FROM cdc_migrate.kafka_keys WHERE name = %s AND tbl = ",
                a->qname);
    sql_quote(out, table, strlen(table));
    mbuf_puts(out, " AND k = ");
    sql_quote(out, key->p, key->len);
    mbuf_puts(out, " AND tok = ");
    sql_quote(out, a->tok, strlen(a->tok));
    (void)pos;
    mbuf_addc(out, ')');
}

/* A guarded DELETE of where's row, either dialect. */
static void guarded_delete(kapp *a, mbuf *out, const mtable *t, const char *table, mbuf *key,
                           const char *pos, const char *where)
{
    mbuf stmt = {0};
    mbuf_printf(&stmt, "DELETE FROM %s WHERE %s", t->tq, where);
    if (is_my(a)) {
        keyrow_my(a, out, table, key, pos);
        mbuf_puts(&stmt, " AND ");
        guard_my(a, &stmt, table, key, pos);
        mbuf_puts(out, mbuf_str(&stmt));
        mbuf_addc(out, ';');
    } else {
        guarded(a, out, table, key, pos, &stmt);
    }
    mbuf_free(&stmt);
}

static int64_t jint(const kjson *o, const char *k, int64_t dflt)
{
    const kjson *v = o ? kjson_get(o, k) : NULL;
    return v && v->type == KJSON_NUMBER ? atoll(v->text) : dflt;
}

static const char *jstr(const kjson *o, const char *k)
{
    const kjson *v = o ? kjson_get(o, k) : NULL;
    return v && v->type == KJSON_STRING ? v->text : NULL;
}

/* Turns one record's value into r->sql. 0; 1 when the record is ignored
 * (not a row change, or a table not migrated); -1 with a message; -2 for
 * a record that must stop the member even with dead letters on. */
static int record_sql(kapp *a, krec *r, const char *val, size_t len, int64_t *ts_ms, char *e,
                      size_t el)
{
    kjson *root = kjson_parse(val, len, e, el);
    if (!root)
        return -1;
    int rc = -1;
    const kjson *payload = root, *schema = NULL;
    if (kjson_get(root, "schema") && kjson_get(root, "payload")) {
        payload = kjson_get(root, "payload");
        schema = kjson_get(root, "schema");
    }
    const char *op = jstr(payload, "op");
    const kjson *src = kjson_get(payload, "source");
    if (!op) {
        /* schema change (ddl), transaction BEGIN/END, heartbeat */
        rc = 1;
        goto out;
    }
    const char *db = jstr(src, "db"), *tn = jstr(src, "table"), *file = jstr(src, "file");
    if (!db || !tn || !file) {
        snprintf(e, el, "the record's source block lacks db, table or file");
        goto out;
    }
    r->op = op[0];
    snprintf(a->tok, sizeof a->tok, "%s/%d/%lld", a->parts[r->p].topic, (int)a->parts[r->p].part,
             (long long)r->offset);
    mbuf tname = {0};
    mbuf_printf(&tname, "%s.%s", db, tn);
    r->table = xstrdup(mbuf_str(&tname));
    mbuf_free(&tname);
    mtable *t = schema_find(a->s, db, tn);
    if (!t) {
        rc = 1;
        goto out;
    }
    const char *snap = jstr(src, "snapshot");
    int is_snap = r->op == 'r' || (snap && strcmp(snap, "false"));
    char pos[700];
    snprintf(pos, sizeof pos, "%s/%020lld/%d/%010lld", file, (long long)jint(src, "pos", 0),
             is_snap ? 0 : 1, (long long)jint(src, "row", 0));
    r->pos = xstrdup(pos);
    *ts_ms = jint(src, "ts_ms", 0);
    const kjson *before = kjson_get(payload, "before"), *after = kjson_get(payload, "after");
    mbuf out = {0}, key = {0}, stmt = {0}, okey = {0}, where = {0};
    if (r->op == 't') {
        snprintf(e, el, "%s: a TRUNCATE record; its table's rows are in every partition, so "
                 "it cannot be ordered with them: truncate the target table yourself and "
                 "restart (docs/kafka.md)", r->table);
        rc = -2; /* never a dead letter: the table would silently differ */
        goto out2;
    }
    if (r->op == 'd' || (r->op == 'u' && before && before->type == KJSON_OBJECT)) {
        if (!before || before->type != KJSON_OBJECT) {
            snprintf(e, el, "a delete without a before image");
            goto out2;
        }
        if (key_text(a, t, before, schema, "before", &okey, &where, e, el))
            goto out2;
    }
    if (r->op == 'c' || r->op == 'r' || r->op == 'u') {
        if (!after || after->type != KJSON_OBJECT) {
            snprintf(e, el, "op %c without an after image", r->op);
            goto out2;
        }
        if (key_text(a, t, after, schema, "after", &key, NULL, e, el))
            goto out2;
        if (okey.len && (okey.len != key.len || memcmp(okey.p, key.p, key.len)))
            /* the key changed inside one record: the old key goes first */
            guarded_delete(a, &out, t, r->table, &okey, pos, mbuf_str(&where));
        int my = is_my(a);
        if (my) {
            /* INSERT INTO t (cols) SELECT values FROM DUAL WHERE guard ON DUPLICATE ... */
            size_t hl = strlen(t->ins_head);
            const char *vp = strstr(t->ins_head, ") VALUES (");
            mbuf_add(&stmt, t->ins_head, vp ? (size_t)(vp - t->ins_head) + 2 : hl);
            mbuf_puts(&stmt, "SELECT ");
        } else {
            mbuf_puts(&stmt, t->ins_head);
        }
        for (size_t i = 0; i < t->ncols; i++) {
            const mcol *c = &t->cols[i];
            a->scratch.len = 0;
            vres v = dbz_value_text(a->o, &a->modes, c, kjson_get(after, c->name),
                                    field_schema(schema, "after", c->name), &a->scratch, e, el);
            if (v == V_ERR)
                goto out2;
            if (i)
                mbuf_addc(&stmt, ',');
            if (v == V_NULL)
                mbuf_puts(&stmt, "NULL");
            else
                lit(a, c, a->scratch.p, a->scratch.len, &stmt);
        }
        if (my) {
            mbuf_puts(&stmt, " FROM DUAL WHERE ");
            guard_my(a, &stmt, r->table, &key, pos);
            mbuf_puts(&stmt, t->ins_tail[0] == ')' ? t->ins_tail + 1 : t->ins_tail);
            keyrow_my(a, &out, r->table, &key, pos);
            mbuf_puts(&out, mbuf_str(&stmt));
            mbuf_addc(&out, ';');
        } else {
            mbuf_puts(&stmt, t->ins_tail);
            guarded(a, &out, r->table, &key, pos, &stmt);
        }
    } else if (r->op == 'd') {
        guarded_delete(a, &out, t, r->table, &okey, pos, mbuf_str(&where));
    } else {
        snprintf(e, el, "unknown op '%s'", op);
        goto out2;
    }
    r->sql = xstrdup(mbuf_str(&out));
    rc = 0;
out2:
    mbuf_free(&out);
    mbuf_free(&key);
    mbuf_free(&okey);
    mbuf_free(&stmt);
    mbuf_free(&where);
out:
    kjson_free(root);
    return rc;
}

static void dead_letter_sql(kapp *a, mbuf *q, krec *r, const char *error)
{
    mbuf row = {0};
    if (r->row)
        mbuf_puts(&row, r->row);
    char where[700];
    snprintf(where, sizeof where, "%s[%d]@%lld %s", a->parts[r->p].topic,
             (int)a->parts[r->p].part, (long long)r->offset, r->pos ? r->pos : "");
    a->tg->ops->dead_letter(a->tg, q, a->qname, r->table ? r->table : "?", r->op ? r->op : '?',
                            where, "", error, &row);
    mbuf_free(&row);
}

/* ---- batches ----------------------------------------------------------- */

static int fail_target(kapp *a)
{
    if (!a->tg || a->tg->ops->lost(a->tg)) {
        target_down(a, a->err);
        consume_pause(a, 1);
        batch_clear(a);
        return 1;
    }
    return -1;
}

/* begin_fenced's offsets for MySQL/MariaDB (no UPDATE ... FROM VALUES):
 * new partitions with one INSERT IGNORE (a row another member inserted
 * meanwhile is not counted), the others one conditional UPDATE each.
 * The number of rows written, or -1. */
static long offsets_my(kapp *a, const char *member, long *want)
{
    mbuf q = {0};
    long got = 0, nins = 0;
    *want = 0;
    mbuf_puts(&q, "INSERT IGNORE INTO cdc_migrate.kafka_offsets (name, topic, part, next_offset, "
                  "records, high_watermark, last_source_ms, member) VALUES ");
    for (size_t i = 0; i < a->nparts; i++) {
        kpart *p = &a->parts[i];
        if (!p->inbatch || p->expected >= 0)
            continue;
        mbuf_printf(&q, "%s(%s,", nins++ ? "," : "", a->qname);
        sql_quote(&q, p->topic, strlen(p->topic));
        mbuf_printf(&q, ",%d,%lld,%ld,%lld,%lld,", (int)p->part, (long long)p->next, p->inbatch,
                    (long long)p->hw, (long long)p->pend_ts_ms);
        sql_quote(&q, member, strlen(member));
        mbuf_addc(&q, ')');
    }
    if (nins) {
        long n = a->tg->ops->exec(a->tg, mbuf_str(&q), a->err, sizeof a->err);
        if (n < 0)
            goto fail;
        got += n;
        *want += nins;
    }
    for (size_t i = 0; i < a->nparts; i++) {
        kpart *p = &a->parts[i];
        if (!p->inbatch || p->expected < 0)
            continue;
        q.len = 0;
        mbuf_printf(&q, "UPDATE cdc_migrate.kafka_offsets SET next_offset = %lld, records = "
                    "records + %ld, high_watermark = %lld, last_source_ms = %lld, updated_at = "
                    "CURRENT_TIMESTAMP(6), member = ", (long long)p->next, p->inbatch,
                    (long long)p->hw, (long long)p->pend_ts_ms);
        sql_quote(&q, member, strlen(member));
        mbuf_printf(&q, " WHERE name = %s AND topic = ", a->qname);
        sql_quote(&q, p->topic, strlen(p->topic));
        mbuf_printf(&q, " AND part = %d AND next_offset = %lld", (int)p->part,
                    (long long)p->expected);
        long n = a->tg->ops->exec(a->tg, mbuf_str(&q), a->err, sizeof a->err);
        if (n < 0)
            goto fail;
        got += n; /* rows matched: the connection reports found rows */
        ++*want;
    }
    mbuf_free(&q);
    return got;
fail:
    mbuf_free(&q);
    return -1;
}

/* BEGIN and the conditional offsets update: 0, 1 when another member
 * moved an offset (the batch is not ours to commit), -1 on error. */
static int begin_fenced(kapp *a)
{
    char e[512];
    if (a->tg->ops->exec(a->tg, "BEGIN", a->err, sizeof a->err) < 0)
        return -1;
    if (is_my(a)) {
        char mem[300];
        long want;
        snprintf(mem, sizeof mem, "%s", a->ko->client_id ? a->ko->client_id : "");
        long got = offsets_my(a, mem, &want);
        if (got < 0)
            return -1;
        if (got != want) {
            a->tg->ops->exec(a->tg, "ROLLBACK", e, sizeof e);
            return 1;
        }
        return 0;
    }
    mbuf ins = {0}, upd = {0};
    long nins = 0, nupd = 0;
    char member[300];
    snprintf(member, sizeof member, "%s", a->ko->client_id ? a->ko->client_id : "");
    for (size_t i = 0; i < a->nparts; i++) {
        kpart *p = &a->parts[i];
        if (!p->inbatch)
            continue;
        mbuf *b = p->expected < 0 ? &ins : &upd;
        mbuf_puts(b, (p->expected < 0 ? nins++ : nupd++) ? ",(" : "(");
        sql_quote(b, p->topic, strlen(p->topic));
        mbuf_printf(b, ",%d,%lld,%ld,%lld,%lld,%lld)", (int)p->part, (long long)p->next,
                    p->inbatch, (long long)p->hw, (long long)p->pend_ts_ms,
                    (long long)p->expected);
    }
    long got = 0;
    int rc = 0;
    mbuf q = {0};
    if (nins) {
        mbuf_printf(&q, "INSERT INTO cdc_migrate.kafka_offsets (name, topic, part, next_offset, "
                    "records, high_watermark, last_source_ms, member) SELECT %s, t, p, n, c, h, s, ",
                    a->qname);
        sql_quote(&q, member, strlen(member));
        mbuf_printf(&q, " FROM (VALUES %s) v(t, p, n, c, h, s, e) ON CONFLICT DO NOTHING",
                    mbuf_str(&ins));
        long n = a->tg->ops->exec(a->tg, mbuf_str(&q), a->err, sizeof a->err);
        rc = n < 0 ? -1 : 0;
        got += n;
    }
    if (!rc && nupd) {
        q.len = 0;
        mbuf_printf(&q, "UPDATE cdc_migrate.kafka_offsets o SET next_offset = v.n, "
                    "records = o.records + v.c, high_watermark = v.h, last_source_ms = v.s, "
                    "updated_at = now(), member = ");
        sql_quote(&q, member, strlen(member));
        mbuf_printf(&q, " FROM (VALUES %s) v(t, p, n, c, h, s, e) WHERE o.name = %s AND "
                    "o.topic = v.t AND o.part = v.p AND o.next_offset = v.e", mbuf_str(&upd),
                    a->qname);
        long n = a->tg->ops->exec(a->tg, mbuf_str(&q), a->err, sizeof a->err);
        rc = n < 0 ? -1 : 0;
        got += n;
    }
    mbuf_free(&q);
    mbuf_free(&ins);
    mbuf_free(&upd);
    if (!rc && got != nins + nupd) {
        a->tg->ops->exec(a->tg, "ROLLBACK", e, sizeof e);
        return 1;
    }
    return rc;
}

/* Row by row under savepoints: refused rows become dead letters. */
static int apply_careful(kapp *a)
{
    char e[2048];
    int f = begin_fenced(a);
    if (f)
        return f;
    for (size_t i = 0; i < a->nrecs; i++) {
        krec *r = &a->recs[i];
        if (!r->sql)
            continue;
        mbuf q = {0};
        mbuf_printf(&q, "SAVEPOINT r; %s RELEASE SAVEPOINT r", r->sql);
        long n = a->tg->ops->exec(a->tg, mbuf_str(&q), e, sizeof e);
        mbuf_free(&q);
        if (n >= 0)
            continue;
        if (a->tg->ops->lost(a->tg)) {
            snprintf(a->err, sizeof a->err, "%s", e);
            return -1;
        }
        q.len = 0;
        mbuf_puts(&q, "ROLLBACK TO SAVEPOINT r;");
        dead_letter_sql(a, &q, r, e);
        fprintf(stderr, "cdc-migrate: %s[%d]@%lld %s: dead letter: %s\n", a->parts[r->p].topic,
                (int)a->parts[r->p].part, (long long)r->offset, r->table, e);
        if (a->tg->ops->exec(a->tg, mbuf_str(&q), a->err, sizeof a->err) < 0) {
            mbuf_free(&q);
            return -1;
        }
        mbuf_free(&q);
        a->dead++;
    }
    return 0;
}

static void commit_group(kapp *a)
{
    /* The group's offsets follow the target's, for monitoring (kafka-
     * consumer-groups, lag exporters); the member never starts from them. */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    for (size_t i = 0; i < a->nparts; i++)
        if (a->parts[i].live && a->parts[i].inbatch)
            rd_kafka_topic_partition_list_add(l, a->parts[i].topic, a->parts[i].part)->offset =
                a->parts[i].next;
    if (l->cnt)
        rd_kafka_commit(a->rk, l, 1);
    rd_kafka_topic_partition_list_destroy(l);
}

/* Commits the batch with its offsets. 0 (committed, or fenced and
 * re-synced), 1 (the target went away: consumption paused), -1 (stop). */
static int flush(kapp *a)
{
    if (!a->nrecs)
        return 0;
    if (!a->tg)
        return 1;
    char e[512];
    int f = begin_fenced(a);
    if (f == 0) {
        mbuf q = {0};
        for (size_t i = 0; i < a->nrecs; i++)
            if (a->recs[i].sql)
                mbuf_puts(&q, a->recs[i].sql);
        long n = q.len ? a->tg->ops->exec(a->tg, mbuf_str(&q), a->err, sizeof a->err) : 0;
        mbuf_free(&q);
        if (n < 0 && !a->tg->ops->lost(a->tg)) {
            a->tg->ops->exec(a->tg, "ROLLBACK", e, sizeof e);
            if (!a->o->dead_letter) {
                fprintf(stderr, "cdc-migrate: the target refused a row of the batch (--dead-letter "
                        "sends such rows to cdc_migrate.dead_letter)\n");
                return -1;
            }
            f = apply_careful(a);
            n = f ? -1 : 0;
        }
        if (n >= 0 && a->tg->ops->exec(a->tg, "COMMIT", a->err, sizeof a->err) >= 0) {
            for (size_t i = 0; i < a->nparts; i++) {
                kpart *p = &a->parts[i];
                if (!p->inbatch)
                    continue;
                p->expected = p->next;
                p->last_ts_ms = p->pend_ts_ms;
                p->applied += (uint64_t)p->inbatch;
            }
            a->rate_rows += (long)a->nrecs;
            commit_group(a);
            batch_clear(a);
            a->batch_t0 = now_s();
            return 0;
        }
        if (f == 1)
            goto fenced;
    }
    if (f == 1) {
fenced:
        fprintf(stderr, "cdc-migrate: a partition's offset in the target moved (another member "
                "applied it): batch rolled back, re-reading the target's offsets\n");
        if (resync(a))
            return fail_target(a);
        return 0;
    }
    /* The COMMIT's fate is unknown when the connection broke: the target's
     * offsets say, once it is back (resync). */
    int rc = fail_target(a);
    if (rc < 0)
        fprintf(stderr, "cdc-migrate: %s\n", a->err);
    return rc;
}

/* ---- consumer ---------------------------------------------------------- */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *l, void *opaque)
{
    kapp *a = opaque;
    int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        int seeked = a->tg && offsets_read(a, l) == 0;
        for (int i = 0; i < l->cnt; i++) {
            kpart *p = part_get(a, l->elems[i].topic, l->elems[i].partition, 1);
            p->live = 1;
            if (!seeked) {
                p->need_seek = 1;
                l->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
            }
            fprintf(stderr, "cdc-migrate: assigned %s[%d] from offset %lld%s\n", p->topic,
                    (int)p->part, (long long)p->expected,
                    seeked ? " (the target's)" : " (target down: paused)");
        }
        if (coop) {
            rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, l);
            if (e)
                rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(rk, l);
        }
        /* librdkafka keeps a partition's pause across an unassign: one
         * paused while the target was down and lost in a rebalance comes
         * back paused unless resumed here. */
        if (!seeked || a->cmd_pause || a->consuming_paused)
            rd_kafka_pause_partitions(rk, l);
        else
            rd_kafka_resume_partitions(rk, l);
        return;
    }
    /* Revoked (or lost): the batch ends here, committed or rolled back;
     * the conditional offsets update keeps a late commit harmless. */
    if (flush(a) < 0)
        g_stop = 1;
    for (int i = 0; i < l->cnt; i++) {
        kpart *p = part_get(a, l->elems[i].topic, l->elems[i].partition, 0);
        if (p) {
            p->live = 0;
            p->need_seek = 0;
            p->expected = p->next = -1;
            fprintf(stderr, "cdc-migrate: revoked %s[%d]%s\n", p->topic, (int)p->part,
                    rd_kafka_assignment_lost(rk) ? " (lost)" : "");
        }
    }
    if (coop) {
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, l);
        if (e)
            rd_kafka_error_destroy(e);
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

static int take(kapp *a, rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    kpart *p = part_get(a, topic, m->partition, 0);
    if (!p || !p->live || p->need_seek || !a->tg)
        return 0; /* read again from the target's offset later */
    if (p->next >= 0 ? m->offset < p->next : (p->expected >= 0 && m->offset < p->expected))
        return 0; /* fetched before a seek */
    if (p->next < 0 && m->offset > (p->expected < 0 ? 0 : p->expected)) {
        /* A gap after the target's offset: transaction markers or
         * compaction are fine; records deleted by retention before they
         * were applied are not (the target cannot become equal any more). */
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t we = rd_kafka_query_watermark_offsets(a->rk, topic, m->partition, &lo,
                                                                  &hi, 5000);
        if (!we && p->expected >= 0 && lo > p->expected) {
            fprintf(stderr, "cdc-migrate: %s[%d]: the target holds offset %lld but the "
                    "partition now starts at %lld: records %lld..%lld were deleted (retention) "
                    "before they were applied; the target cannot be made equal from this topic "
                    "(docs/kafka.md: take a new snapshot)\n", topic, (int)m->partition,
                    (long long)p->expected, (long long)lo, (long long)p->expected,
                    (long long)lo - 1);
            return -1;
        }
    }
    krec r;
    memset(&r, 0, sizeof r);
    r.p = (size_t)(p - a->parts);
    r.offset = m->offset;
    int64_t ts = 0;
    if (m->payload) {
        char e[1024];
        int rc = record_sql(a, &r, m->payload, m->len, &ts, e, sizeof e);
        if (rc < 0) {
            r.row = xmalloc(m->len + 1);
            memcpy(r.row, m->payload, m->len);
            r.row[m->len] = 0;
            if (!a->o->dead_letter || rc == -2) {
                fprintf(stderr, "cdc-migrate: %s[%d]@%lld: %s\n", topic, (int)m->partition,
                        (long long)m->offset, e);
                free(r.row);
                free(r.table);
                free(r.pos);
                return -1;
            }
            /* the dead letter goes into the batch's transaction */
            mbuf q = {0};
            krec tmp = r;
            a->recs = realloc(a->recs, (a->nrecs + 1) * sizeof *a->recs);
            if (!a->recs)
                abort();
            a->recs[a->nrecs] = tmp;
            if (a->tg) {
                dead_letter_sql(a, &q, &a->recs[a->nrecs], e);
                a->recs[a->nrecs].sql = xstrdup(mbuf_str(&q));
            }
            mbuf_free(&q);
            fprintf(stderr, "cdc-migrate: %s[%d]@%lld: dead letter: %s\n", topic,
                    (int)m->partition, (long long)m->offset, e);
            a->dead++;
            goto added;
        }
        if (rc == 1)
            a->ignored++;
    } else {
        a->tombstones++; /* a tombstone: the delete before it did the work */
    }
    a->recs = realloc(a->recs, (a->nrecs + 1) * sizeof *a->recs);
    if (!a->recs)
        abort();
    a->recs[a->nrecs] = r;
added:
    if (!a->nrecs)
        a->batch_t0 = now_s();
    a->nrecs++;
    p->next = m->offset + 1;
    p->inbatch++;
    if (ts)
        p->pend_ts_ms = ts;
    return 0;
}

/* ---- control, lag, metrics --------------------------------------------- */

static void control_poll(kapp *a)
{
    int want = a->cmd_pause;
    if (g_pause) {
        g_pause = 0;
        want = 1;
    }
    if (g_resume) {
        g_resume = 0;
        want = 0;
    }
    if (a->tg && now_s() - a->control_checked > 1) {
        a->control_checked = now_s();
        mbuf q = {0};
        mbuf_printf(&q, "SELECT control FROM %s WHERE name = %s", a->tg->state_tbl, a->qname);
        int found;
        char e[512];
        char *v = a->tg->ops->value1(a->tg, mbuf_str(&q), e, sizeof e, &found);
        mbuf_free(&q);
        if (v && found)
            want = !strcmp(v, "pause") ? 1 : (a->cmd_pause && !strcmp(v, "run") ? 0 : want);
        free(v);
        if (!v && a->tg->ops->lost(a->tg)) {
            /* noticed while idle: the open batch is read again later */
            snprintf(a->err, sizeof a->err, "%s", e);
            fail_target(a);
        }
    }
    if (want != a->cmd_pause) {
        if (want && flush(a) < 0)
            g_stop = 1;
        a->cmd_pause = want;
        fprintf(stderr, "cdc-migrate: %s (still in the group)\n",
                want ? "paused on command" : "resumed");
        if (a->tg)
            consume_pause(a, want);
    }
}

static void watermarks(kapp *a)
{
    for (size_t i = 0; i < a->nparts; i++) {
        kpart *p = &a->parts[i];
        int64_t lo, hi;
        if (p->live && !rd_kafka_get_watermark_offsets(a->rk, p->topic, p->part, &lo, &hi))
            p->hw = hi;
    }
}

/* The text the metrics endpoint serves, rebuilt once a second. */
static void metrics_build(kapp *a)
{
    mbuf m = {0};
    int64_t now = wall_ms();
    mbuf_puts(&m, "# TYPE cdc_migrate_kafka_consumer_lag gauge\n"
                  "# HELP cdc_migrate_kafka_consumer_lag records in the partition not yet "
                  "applied (high watermark - applied offset)\n");
    for (size_t i = 0; i < a->nparts; i++) {
        kpart *p = &a->parts[i];
        if (!p->live)
            continue;
        long long applied = p->expected < 0 ? 0 : p->expected;
        mbuf_printf(&m, "cdc_migrate_kafka_consumer_lag{topic=\"%s\",partition=\"%d\"} %lld\n",
                    p->topic, (int)p->part, p->hw > applied ? (long long)p->hw - applied : 0);
    }
    mbuf_puts(&m, "# TYPE cdc_migrate_kafka_apply_lag_ms gauge\n"
                  "# HELP cdc_migrate_kafka_apply_lag_ms now - source commit time of the last "
                  "applied record while records wait, else 0\n");
    for (size_t i = 0; i < a->nparts; i++) {
        kpart *p = &a->parts[i];
        if (!p->live)
            continue;
        long long applied = p->expected < 0 ? 0 : p->expected;
        long long lag = p->hw > applied && p->last_ts_ms ? (long long)(now - p->last_ts_ms) : 0;
        mbuf_printf(&m, "cdc_migrate_kafka_apply_lag_ms{topic=\"%s\",partition=\"%d\"} %lld\n",
                    p->topic, (int)p->part, lag < 0 ? 0 : lag);
    }
    mbuf_puts(&m, "# TYPE cdc_migrate_kafka_records_applied_total counter\n");
    for (size_t i = 0; i < a->nparts; i++)
        mbuf_printf(&m, "cdc_migrate_kafka_records_applied_total{topic=\"%s\",partition=\"%d\"} "
                    "%llu\n", a->parts[i].topic, (int)a->parts[i].part,
                    (unsigned long long)a->parts[i].applied);
    /* per table: topics are tables */
    mbuf_puts(&m, "# TYPE cdc_migrate_kafka_table_consumer_lag gauge\n");
    for (size_t i = 0; i < a->nparts; i++) {
        int first = 1;
        for (size_t j = 0; j < i; j++)
            first &= !!strcmp(a->parts[j].topic, a->parts[i].topic);
        if (!first)
            continue;
        long long lag = 0, alag = 0;
        for (size_t j = i; j < a->nparts; j++) {
            kpart *p = &a->parts[j];
            if (!p->live || strcmp(p->topic, a->parts[i].topic))
                continue;
            long long applied = p->expected < 0 ? 0 : p->expected;
            if (p->hw > applied) {
                lag += p->hw - applied;
                if (p->last_ts_ms && now - p->last_ts_ms > alag)
                    alag = now - p->last_ts_ms;
            }
        }
        mbuf_printf(&m, "cdc_migrate_kafka_table_consumer_lag{topic=\"%s\"} %lld\n"
                    "cdc_migrate_kafka_table_apply_lag_ms{topic=\"%s\"} %lld\n",
                    a->parts[i].topic, lag, a->parts[i].topic, alag);
    }
    mbuf_printf(&m, "cdc_migrate_kafka_paused %d\ncdc_migrate_kafka_target_up %d\n"
                "cdc_migrate_kafka_dead_letters_total %llu\n"
                "cdc_migrate_kafka_ignored_total %llu\ncdc_migrate_kafka_tombstones_total %llu\n",
                a->consuming_paused, a->tg != NULL, (unsigned long long)a->dead,
                (unsigned long long)a->ignored, (unsigned long long)a->tombstones);
    pthread_mutex_lock(&a->mu);
    mbuf_free(&a->metrics);
    a->metrics = m;
    pthread_mutex_unlock(&a->mu);
}

static void *metrics_thread(void *ud)
{
    kapp *a = ud;
    while (a->mrunning) {
        struct pollfd pf = {a->msock, POLLIN, 0};
        if (poll(&pf, 1, 200) <= 0)
            continue;
        int c = accept(a->msock, NULL, NULL);
        if (c < 0)
            continue;
        char req[2048];
        struct pollfd pc = {c, POLLIN, 0};
        if (poll(&pc, 1, 1000) > 0 && read(c, req, sizeof req) < 0) {
            close(c);
            continue;
        }
        pthread_mutex_lock(&a->mu);
        mbuf r = {0};
        mbuf_printf(&r, "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                    "Content-Length: %zu\r\nConnection: close\r\n\r\n", a->metrics.len);
        mbuf_add(&r, a->metrics.p, a->metrics.len);
        pthread_mutex_unlock(&a->mu);
        for (size_t off = 0; off < r.len;) {
            ssize_t n = write(c, r.p + off, r.len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        mbuf_free(&r);
        close(c);
    }
    return NULL;
}

static int metrics_open(kapp *a, int port)
{
    a->msock = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(a->msock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (a->msock < 0 || bind(a->msock, (struct sockaddr *)&sa, sizeof sa) ||
        listen(a->msock, 8)) {
        fprintf(stderr, "cdc-migrate: --metrics-port %d: %s\n", port, strerror(errno));
        if (a->msock >= 0)
            close(a->msock);
        return -1;
    }
    a->mrunning = 1;
    if (pthread_create(&a->mthread, NULL, metrics_thread, a)) {
        a->mrunning = 0;
        close(a->msock);
        return -1;
    }
    return 0;
}

/* ---- setup and the loop ------------------------------------------------ */

static rd_kafka_t *consumer_new(kapp *a, char *err, size_t errlen)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    const char *kv[][2] = {
        {"bootstrap.servers", a->ko->brokers}, {"group.id", a->ko->group},
        {"enable.auto.commit", "false"}, {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"}, {"isolation.level", "read_committed"},
        /* bounded memory: what the member fetches ahead of the apply */
        {"queued.max.messages.kbytes", "16384"}, {"fetch.max.bytes", "8388608"},
        {"client.id", a->ko->client_id},
    };
    char e[512];
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (kv[i][1] && rd_kafka_conf_set(c, kv[i][0], kv[i][1], e, sizeof e)) {
            snprintf(err, errlen, "%s: %s", kv[i][0], e);
            rd_kafka_conf_destroy(c);
            return NULL;
        }
    for (size_t i = 0; i < a->ko->nconf; i++) {
        const char *s = a->ko->conf[i], *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "--kafka-conf wants KEY=VALUE, not '%s'", s);
            rd_kafka_conf_destroy(c);
            return NULL;
        }
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - s), s);
        if (!strcmp(key, "enable.auto.commit") || !strcmp(key, "group.id")) {
            snprintf(err, errlen, "--kafka-conf %s: set by cdc-migrate (the offsets live in "
                     "the target)", key);
            rd_kafka_conf_destroy(c);
            return NULL;
        }
        if (rd_kafka_conf_set(c, key, eq + 1, e, sizeof e)) {
            /* librdkafka's message names the key; values of password-like keys stay out */
            snprintf(err, errlen, "--kafka-conf %s: %s", key, e);
            rd_kafka_conf_destroy(c);
            return NULL;
        }
    }
    rd_kafka_conf_set_rebalance_cb(c, on_rebalance);
    rd_kafka_conf_set_opaque(c, a);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof e);
    if (!rk) {
        snprintf(err, errlen, "%s", e);
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

static void signals(void);

int cmd_kafka_apply(const mopts *o, const kopts *ko)
{
    kapp a;
    memset(&a, 0, sizeof a);
    a.o = o;
    a.ko = ko;
    a.backoff_ms = 250;
    pthread_mutex_init(&a.mu, NULL);
    char err[2048];
    for (size_t i = 0; i < ko->ndbz; i++) {
        const char *s = ko->dbz[i], *eq = strchr(s, '=');
        char key[128];
        snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - s) : (int)strlen(s), s);
        if (!eq || dbz_mode_set(&a.modes, key, eq + 1, err, sizeof err)) {
            fprintf(stderr, "cdc-migrate: --debezium %s: %s\n", s,
                    eq ? err : "wants KEY=VALUE");
            return 2;
        }
    }
    mschema s;
    if (schema_prepare(o, &s))
        return 1;
    a.s = &s;
    signals();
    mbuf qn = {0};
    o->tops->quote(&qn, o->name, strlen(o->name));
    a.qname = xstrdup(mbuf_str(&qn));
    mbuf_free(&qn);
    int status = 1;
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(8);
    if (ko->topics) {
        char *t = xstrdup(ko->topics), *save = NULL;
        for (char *x = strtok_r(t, ",", &save); x; x = strtok_r(NULL, ",", &save))
            rd_kafka_topic_partition_list_add(subs, x, RD_KAFKA_PARTITION_UA);
        free(t);
    } else {
        for (size_t i = 0; i < s.n; i++) {
            char tn[600];
            snprintf(tn, sizeof tn, "%s.%s.%s", ko->prefix, s.t[i].db, s.t[i].name);
            rd_kafka_topic_partition_list_add(subs, tn, RD_KAFKA_PARTITION_UA);
        }
    }
    while (!g_stop && target_up(&a)) {
        fprintf(stderr, "cdc-migrate: %s; retrying in %ld ms\n", a.err, a.backoff_ms);
        sleep_ms(a.backoff_ms);
        a.backoff_ms = a.backoff_ms * 2 > 2000 ? 2000 : a.backoff_ms * 2;
    }
    a.backoff_ms = 250;
    if (g_stop)
        goto out;
    if (!(a.rk = consumer_new(&a, err, sizeof err))) {
        fprintf(stderr, "cdc-migrate: Kafka: %s\n", err);
        status = 2;
        goto out;
    }
    rd_kafka_resp_err_t se = rd_kafka_subscribe(a.rk, subs);
    if (se) {
        fprintf(stderr, "cdc-migrate: subscribe: %s\n", rd_kafka_err2str(se));
        goto out;
    }
    if (ko->metrics_port && metrics_open(&a, ko->metrics_port))
        goto out;
    fprintf(stderr, "cdc-migrate: consuming %d topics as a member of group %s\n", subs->cnt,
            ko->group);
    a.rate_t0 = now_s();
    status = 0;
    while (!g_stop) {
        if (!a.tg && now_s() >= a.next_connect) {
            if (target_up(&a)) {
                a.backoff_ms = a.backoff_ms * 2 > 2000 ? 2000 : a.backoff_ms * 2;
                a.next_connect = now_s() + (double)a.backoff_ms / 1000;
            } else if (resync(&a)) {
                target_down(&a, "re-reading the target's offsets failed");
            } else {
                fprintf(stderr, "cdc-migrate: target back after %.1fs: resuming from its "
                        "offsets\n", now_s() - a.down_since);
                a.backoff_ms = 250;
                if (!a.cmd_pause)
                    consume_pause(&a, 0);
            }
        }
        control_poll(&a);
        if (now_s() - a.metrics_built > 1) {
            watermarks(&a);
            metrics_build(&a);
            a.metrics_built = now_s();
        }
        /* the rows/s ceiling: hold the poll, not the group membership */
        if (o->max_rows_per_sec > 0) {
            double el = now_s() - a.rate_t0;
            if ((double)(a.rate_rows + (long)a.nrecs) > (double)o->max_rows_per_sec * el) {
                if (a.nrecs && flush(&a) < 0)
                    break;
                /* no rd_kafka_poll here: on a consumer it would serve (and
                 * drop) messages; a short sleep keeps rebalances served */
                sleep_ms(20);
                if (el > 5) {
                    a.rate_t0 = now_s();
                    a.rate_rows = 0;
                }
                continue;
            }
        }
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(a.rk, 100);
        if (msg) {
            if (msg->err) {
                if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    fprintf(stderr, "cdc-migrate: Kafka: %s\n", rd_kafka_message_errstr(msg));
                if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
                    status = 1;
                    rd_kafka_message_destroy(msg);
                    break;
                }
            } else if (take(&a, msg)) {
                status = 1;
                rd_kafka_message_destroy(msg);
                break;
            }
            rd_kafka_message_destroy(msg);
        }
        if (a.nrecs && ((long)a.nrecs >= o->batch_rows || now_s() - a.batch_t0 >=
                        (double)o->batch_ms / 1000)) {
            if (flush(&a) < 0) {
                status = 1;
                break;
            }
        }
    }
    if (status == 0 && flush(&a) < 0)
        status = 1;
    if (status != 0 && a.tg && !a.tg->ops->lost(a.tg)) {
        char e[64];
        a.tg->ops->exec(a.tg, "ROLLBACK", e, sizeof e);
        batch_clear(&a);
    }
    if (status != 0)
        batch_clear(&a); /* nothing of it is committed: the next owner reads it again */
    rd_kafka_consumer_close(a.rk); /* the last revoke: flushes what is left */
out:
    if (a.mrunning) {
        a.mrunning = 0;
        pthread_join(a.mthread, NULL);
        close(a.msock);
    }
    if (a.rk)
        rd_kafka_destroy(a.rk);
    rd_kafka_topic_partition_list_destroy(subs);
    batch_clear(&a);
    free(a.recs);
    for (size_t i = 0; i < a.nparts; i++)
        free(a.parts[i].topic);
    free(a.parts);
    target_close(a.tg);
    free(a.qname);
    mbuf_free(&a.scratch);
    mbuf_free(&a.metrics);
    schema_free(&s);
    pthread_mutex_destroy(&a.mu);
    return status;
}

static void signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
}

/* ---- status ------------------------------------------------------------ */

static int status_row(char **v, unsigned long *len, size_t n, void *ud)
{
    (void)len;
    (void)ud;
    if (n < 8)
        return 0;
    printf("  %-40s %3s  applied %-10s high %-10s consumer_lag %-8s apply_lag_ms %-8s "
           "member %s (%ss ago)\n", v[0] ? v[0] : "", v[1] ? v[1] : "", v[2] ? v[2] : "",
           v[3] ? v[3] : "?", v[4] ? v[4] : "?", v[5] ? v[5] : "?", v[6] ? v[6] : "",
           v[7] ? v[7] : "?");
    return 0;
}

static int status_table(char **v, unsigned long *len, size_t n, void *ud)
{
    (void)len;
    (void)ud;
    if (n < 5)
        return 0;
    printf("  %-40s records %-10s consumer_lag %-8s apply_lag_ms %-8s partitions %s\n",
           v[0] ? v[0] : "", v[1] ? v[1] : "", v[2] ? v[2] : "?", v[3] ? v[3] : "?",
           v[4] ? v[4] : "");
    return 0;
}

void kafka_status(target *tg, const mopts *o)
{
    int my = strcmp(tg->ops->kind, "postgresql") != 0;
    mbuf qn = {0}, q = {0};
    tg->ops->quote(&qn, o->name, strlen(o->name));
    char e[512];
    int found;
    mbuf_printf(&q, "SELECT count(*) FROM cdc_migrate.kafka_offsets WHERE name = %s",
                mbuf_str(&qn));
    char *n = tg->ops->value1(tg, mbuf_str(&q), e, sizeof e, &found);
    if (!n || atol(n) == 0) {
        free(n);
        mbuf_free(&qn);
        mbuf_free(&q);
        return;
    }
    free(n);
    /* consumer lag: records the partition held (as of the member's last
     * commit) that are not applied; apply lag: how old the last applied
     * record's source commit is while records still wait, else 0. */
    const char *lag = "greatest(coalesce(high_watermark, next_offset) - next_offset, 0)";
    const char *alag = my ? "CASE WHEN coalesce(high_watermark, 0) > next_offset AND "
                            "last_source_ms > 0 THEN greatest(CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 "
                            "AS SIGNED) - last_source_ms, 0) ELSE 0 END"
                          : "CASE WHEN coalesce(high_watermark, 0) > next_offset AND "
                            "last_source_ms > 0 THEN greatest((extract(epoch FROM now()) * 1000)"
                            "::bigint - last_source_ms, 0) ELSE 0 END";
    const char *age = my ? "TIMESTAMPDIFF(SECOND, updated_at, CURRENT_TIMESTAMP(6))"
                         : "(extract(epoch FROM now() - updated_at))::bigint";
    printf("kafka partitions:\n");
    q.len = 0;
    mbuf_printf(&q, "SELECT topic, part, next_offset, high_watermark, %s, %s, member, %s "
                "FROM cdc_migrate.kafka_offsets WHERE name = %s ORDER BY topic, part", lag, alag,
                age, mbuf_str(&qn));
    if (tg->ops->select(tg, mbuf_str(&q), status_row, NULL, e, sizeof e))
        printf("  (%s)\n", e);
    printf("kafka tables (topics):\n");
    q.len = 0;
    mbuf_printf(&q, "SELECT topic, sum(records), sum(%s), max(%s), count(*) FROM "
                "cdc_migrate.kafka_offsets WHERE name = %s GROUP BY topic ORDER BY topic", lag,
                alag, mbuf_str(&qn));
    if (tg->ops->select(tg, mbuf_str(&q), status_table, NULL, e, sizeof e))
        printf("  (%s)\n", e);
    mbuf_free(&qn);
    mbuf_free(&q);
}
