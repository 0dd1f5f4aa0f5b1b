/* The connector: stream → Debezium records → Kafka (connector.h). */
#include "connector.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cdc/info.h>

#include "metrics.h"
#include "offsets.h"

#define POLL_EVERY 256 /* produce calls between two serves of delivery reports */

static connector *volatile g_conn;

/* Upper bounds (ms) of the acknowledgement latency histogram's buckets; one more for +Inf. */
static const int64_t k_ack_bounds[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
#define ACK_BOUNDS (sizeof k_ack_bounds / sizeof k_ack_bounds[0])
static bool g_restart; /* set when an aborted transaction must be re-read */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_signal(int sig)
{
    (void)sig;
    connector *c = g_conn;
    if (!c) return;
    atomic_store(&c->stopping, 1);
    if (c->stream) cdc_stream_stop(c->stream);
}

static void set_fatal(connector *c, const char *fmt, const char *a, const char *b)
{
    if (atomic_exchange(&c->fatal, 1)) return; /* keep the first cause */
    snprintf(c->fatal_msg, sizeof c->fatal_msg, fmt, a, b);
    if (c->stream) cdc_stream_stop(c->stream);
}

static char *pos_text(const cdc_position *pos)
{
    size_t need = 0;
    if (cdc_position_format(pos, NULL, 0, &need) != CDC_ERR_TOO_LARGE || !need) return NULL;
    char *s = malloc(need);
    if (s && cdc_position_format(pos, s, need, NULL)) {
        free(s);
        s = NULL;
    }
    return s;
}

/* ---- units and checkpoints ------------------------------------------------ */

static unit *open_unit(connector *c)
{
    if (c->cur) return c->cur;
    unit *u = calloc(1, sizeof *u);
    if (!u) return NULL;
    if (c->tail) c->tail->next = u;
    else c->head = u;
    c->tail = u;
    c->cur = u;
    return u;
}

/* Closes the open unit (making one if none) with checkpoint ck (taken). */
static int close_unit(connector *c, char *ck)
{
    unit *u = open_unit(c);
    if (!u) {
        free(ck);
        return CDC_ERR_NOMEM;
    }
    free(u->checkpoint);
    u->checkpoint = ck;
    u->closed = true;
    u->closed_ms = now_ms();
    c->cur = NULL;
    return 0;
}

/* Pops every leading unit that is closed and fully acknowledged. Never
 * after a failed delivery: the unit that lost a message must not count
 * as delivered when its other messages (or later units') are acknowledged,
 * or the checkpoint would pass the lost message. */
static void advance(connector *c)
{
    if (atomic_load(&c->fatal) || atomic_load(&c->replay)) return;
    while (c->head && c->head->closed && c->head->outstanding == 0) {
        unit *u = c->head;
        c->head = u->next;
        if (!c->head) c->tail = NULL;
        if (u->produced) {
            int64_t ms = now_ms() - u->closed_ms; /* its last record produced .. all acknowledged */
            size_t b = 0;
            while (b < ACK_BOUNDS && ms > k_ack_bounds[b]) b++;
            atomic_fetch_add(&c->m_ack_hist[b], 1);
            atomic_fetch_add(&c->m_ack_sum_ms, (uint64_t)(ms > 0 ? ms : 0));
        }
        if (u->checkpoint) {
            pthread_mutex_lock(&c->lock);
            free(c->acked);
            c->acked = u->checkpoint;
            pthread_mutex_unlock(&c->lock);
            u->checkpoint = NULL;
        }
        free(u);
    }
}

static void free_units(connector *c)
{
    while (c->head) {
        unit *u = c->head;
        c->head = u->next;
        free(u->checkpoint);
        free(u);
    }
    c->tail = c->cur = NULL;
}

/* At-least-once: saves the acknowledged checkpoint when it moved and the
 * flush interval passed (or force). */
static int store_checkpoint(connector *c, bool force)
{
    if (c->cfg->delivery == DELIVERY_EXACTLY_ONCE || !c->acked) return 0;
    if (c->saved && !strcmp(c->saved, c->acked)) return 0;
    int64_t t = now_ms();
    if (!force && t - c->saved_at_ms < c->cfg->flush_ms) return 0;
    char err[512];
    if (c->cfg->offsets_file) {
        if (offsets_file_write(c->cfg->offsets_file, c->acked, err, sizeof err)) {
            set_fatal(c, "%s%s", err, "");
            return CDC_ERR_IO;
        }
    } else {
        cdc_position *p = NULL;
        char *val = NULL;
        if (cdc_position_parse(&p, c->acked, NULL, err, sizeof err) == CDC_OK)
            val = offsets_record_value(c->acked, cdc_position_file(p), (unsigned long long)cdc_position_offset(p),
                                       cdc_position_gtid_set(p), NULL);
        cdc_position_free(p);
        if (!val) return CDC_ERR_NOMEM;
        rd_kafka_resp_err_t e = rd_kafka_producev(
            c->rk, RD_KAFKA_V_TOPIC(c->cfg->offsets_topic), RD_KAFKA_V_PARTITION(0),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(c->offsets_key, strlen(c->offsets_key)),
            RD_KAFKA_V_VALUE(val, strlen(val)), RD_KAFKA_V_OPAQUE(NULL), RD_KAFKA_V_END);
        free(val);
        if (e && e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            set_fatal(c, "cannot write the checkpoint to offsets topic %s: %s", c->cfg->offsets_topic,
                      rd_kafka_err2str(e));
            return CDC_ERR_IO;
        }
    }
    free(c->saved);
    c->saved = strdup(c->acked);
    c->saved_at_ms = t;
    return 0;
}

/* ---- librdkafka callbacks ------------------------------------------------- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    connector *c = opaque;
    unit *u = m->_private;
    if (m->err) {
        atomic_fetch_add(&c->m_errors, 1);
        char where[600];
        snprintf(where, sizeof where, "%s [partition %d]", rd_kafka_topic_name(m->rkt), (int)m->partition);
        /* The checkpoint stays at the last fully acknowledged transaction: safe to restart from. */
        set_fatal(c, "delivery to %s failed: %s", where, rd_kafka_err2str(m->err));
    } else if (m->offset < 0 && c->offsets_expected) {
        /* Success without an offset: no broker answered for this record.
         * librdkafka's idempotent producer reports it delivered because a
         * later batch of the same partition succeeded ("implicit ack"),
         * which proves it only if the broker checks producer sequence
         * numbers. A broker (or librdkafka's mock cluster) that does not
         * check them accepts the later batch after this one failed, and
         * the record is lost. So it does not count as acknowledged: the
         * checkpoint stays where it is and the stream re-reads from it
         * (duplicates, never a loss). Exactly-once aborts the transaction. */
        atomic_fetch_add(&c->m_inferred, 1);
        if (!atomic_exchange(&c->replay, 1)) {
            fprintf(stderr,
                    "cdc-kafka: %s [partition %d]: a record was acknowledged without an offset (delivery inferred "
                    "from a later batch); re-reading from the last checkpoint\n",
                    rd_kafka_topic_name(m->rkt), (int)m->partition);
            if (c->stream && c->cfg->delivery != DELIVERY_EXACTLY_ONCE) cdc_stream_stop(c->stream);
        }
    } else {
        atomic_fetch_add(&c->m_acked, 1);
    }
    if (u) c->reported++;
    if (u && c->cfg->delivery != DELIVERY_EXACTLY_ONCE) {
        u->outstanding--;
        if (!m->err) advance(c);
    }
}

static void on_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    connector *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
        char msg[600];
        snprintf(msg, sizeof msg, "%s (%s)", why, rd_kafka_err2name(orig));
        set_fatal(c, "fatal producer error: %s%s", msg, "");
        return;
    }
    if (c->verbose || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        fprintf(stderr, "cdc-kafka: kafka: %s: %s\n", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void on_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    connector *c = rd_kafka_opaque(rk);
    if (level <= 4 || (c && c->verbose)) fprintf(stderr, "cdc-kafka: kafka %s: %s\n", fac, buf);
}

/* ---- topics ----------------------------------------------------------------- */

/* Checks that topic exists, creating it when allowed. 0 or a cdc_error. */
static int ensure_topic(connector *c, const char *name, bool compact)
{
    /* All topics are listed: asking for this one by name could make the
     * brokers auto-create it with their defaults. */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(c->rk, 1, NULL, &md, 10000);
    int exists = 0;
    if (!e)
        for (int i = 0; i < md->topic_cnt; i++)
            if (!strcmp(md->topics[i].topic, name) && !md->topics[i].err && md->topics[i].partition_cnt > 0)
                exists = 1;
    if (md) rd_kafka_metadata_destroy(md);
    if (exists) return 0;
    if (e && e != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        set_fatal(c, "topic %s: cannot read metadata: %s", name, rd_kafka_err2str(e));
        return CDC_ERR_IO;
    }
    if (!c->cfg->create_topics) return 0; /* the brokers create it on first produce, or the delivery fails */
    char errstr[512];
    rd_kafka_NewTopic_t *nt =
        rd_kafka_NewTopic_new(name, c->cfg->partitions, c->cfg->replication, errstr, sizeof errstr);
    if (!nt) {
        set_fatal(c, "topic %s: %s", name, errstr);
        return CDC_ERR_CONFIG;
    }
    if (compact) rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(c->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opt, 15000, errstr, sizeof errstr);
    rd_kafka_CreateTopics(c->rk, &nt, 1, opt, q);
    rd_kafka_NewTopic_destroy(nt); /* the request holds a copy */
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    int rc = 0;
    char why[600] = "";
    if (!ev) {
        snprintf(why, sizeof why, "no answer from the brokers in 20 s");
    } else if (rd_kafka_event_error(ev)) {
        snprintf(why, sizeof why, "%s", rd_kafka_event_error_string(ev));
    } else {
        size_t n = 0;
        const rd_kafka_topic_result_t **res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t te = rd_kafka_topic_result_error(res[i]);
            if (te && te != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                snprintf(why, sizeof why, "%s", rd_kafka_topic_result_error_string(res[i])
                                                     ? rd_kafka_topic_result_error_string(res[i])
                                                     : rd_kafka_err2str(te));
        }
    }
    if (why[0]) {
        char what[800];
        snprintf(what, sizeof what, "%s (%d partitions, replication factor %d): %s", name, c->cfg->partitions,
                 c->cfg->replication, why);
        set_fatal(c,
                  "cannot create topic %s; create it yourself, or let the brokers create topics "
                  "(auto.create.topics.enable) and set topic.creation.enable=false%s",
                  what, "");
        rc = CDC_ERR_IO;
    } else if (c->verbose) {
        fprintf(stderr, "cdc-kafka: created topic %s\n", name);
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
    return rc;
}

static topic_entry *find_topic(connector *c, const uint8_t *name, size_t len)
{
    static __thread topic_entry *last;
    static __thread connector *last_c;
    if (last_c == c && last && strlen(last->name) == len && !memcmp(last->name, name, len)) return last;
    for (size_t i = 0; i < c->ntopics; i++) {
        topic_entry *t = &c->topics[i];
        if (strlen(t->name) == len && !memcmp(t->name, name, len)) {
            last = t;
            last_c = c;
            return t;
        }
    }
    char *nm = strndup((const char *)name, len);
    if (!nm) return NULL;
    if (ensure_topic(c, nm, false)) {
        free(nm);
        return NULL;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, nm, NULL);
    if (!rkt) {
        set_fatal(c, "topic %s: %s", nm, rd_kafka_err2str(rd_kafka_last_error()));
        free(nm);
        return NULL;
    }
    pthread_mutex_lock(&c->lock);
    if (c->ntopics == c->captopics) {
        size_t cap = c->captopics ? c->captopics * 2 : 16;
        topic_entry *nt = realloc(c->topics, cap * sizeof *nt);
        if (!nt) {
            pthread_mutex_unlock(&c->lock);
            rd_kafka_topic_destroy(rkt);
            free(nm);
            return NULL;
        }
        c->topics = nt;
        c->captopics = cap;
    }
    topic_entry *t = &c->topics[c->ntopics++];
    t->name = nm;
    t->rkt = rkt;
    atomic_init(&t->messages, 0);
    pthread_mutex_unlock(&c->lock);
    last = t;
    last_c = c;
    return t;
}

/* ---- producing -------------------------------------------------------------- */

static int eos_begin(connector *c);

/* Waits while more than max.queue.size messages are unacknowledged. The
 * count is the connector's own (records produced minus delivery reports
 * served): asking librdkafka (rd_kafka_outq_len) takes its locks on every
 * record. */
static int backpressure(connector *c)
{
    while (c->produced - c->reported > (uint64_t)c->cfg->queue_max) {
        if (atomic_load(&c->fatal) || atomic_load(&c->stopping)) return CDC_ERR_PAUSED;
        rd_kafka_poll(c->rk, 20);
    }
    return 0;
}

static int produce(connector *c, const cdc_bytes *topic, const cdc_bytes *key, const cdc_bytes *value)
{
    if (atomic_load(&c->fatal) || (atomic_load(&c->replay) && c->cfg->delivery != DELIVERY_EXACTLY_ONCE))
        return CDC_ERR_PAUSED;
    topic_entry *t = find_topic(c, topic->ptr, topic->len);
    if (!t) return atomic_load(&c->fatal) ? CDC_ERR_PAUSED : CDC_ERR_NOMEM;
    if (c->cfg->delivery == DELIVERY_EXACTLY_ONCE && !c->in_txn && eos_begin(c)) return CDC_ERR_PAUSED;
    unit *u = open_unit(c);
    if (!u) return CDC_ERR_NOMEM;
    for (;;) {
        rd_kafka_headers_t *hdrs = NULL;
        if (c->cfg->delivery == DELIVERY_EXACTLY_ONCE) {
            hdrs = rd_kafka_headers_new(1);
            rd_kafka_header_add(hdrs, "cdc-kafka.txn", 13, c->txn_tag, c->txn_tag_len);
        }
        void *kp = (void *)(uintptr_t)key->ptr, *vp = (void *)(uintptr_t)value->ptr;
        rd_kafka_resp_err_t e;
        if (hdrs) {
            e = rd_kafka_producev(c->rk, RD_KAFKA_V_RKT(t->rkt), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(kp, key->len),
                                  RD_KAFKA_V_VALUE(vp, value->len), RD_KAFKA_V_OPAQUE(u), RD_KAFKA_V_HEADERS(hdrs),
                                  RD_KAFKA_V_END);
        } else {
            /* the plain call: no argument list to walk for every record */
            e = rd_kafka_produce(t->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, vp, value->len, kp, key->len, u)
                    ? rd_kafka_last_error()
                    : RD_KAFKA_RESP_ERR_NO_ERROR;
        }
        if (!e) break;
        if (hdrs) rd_kafka_headers_destroy(hdrs);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (atomic_load(&c->fatal) || atomic_load(&c->stopping)) return CDC_ERR_PAUSED;
            rd_kafka_poll(c->rk, 20);
            continue;
        }
        char tn[400];
        snprintf(tn, sizeof tn, "%s", t->name);
        set_fatal(c, "cannot produce to %s: %s", tn, rd_kafka_err2str(e));
        return CDC_ERR_PAUSED;
    }
    u->outstanding++;
    u->produced = true;
    c->produced++;
    c->txn_messages++;
    c->at_boundary = false;
    atomic_fetch_add(&t->messages, 1);
    if ((atomic_fetch_add(&c->m_records, 1) & (POLL_EVERY - 1)) == 0) rd_kafka_poll(c->rk, 0);
    return backpressure(c);
}

/* Produces every record of the renderer's last call. */
static int produce_records(connector *c, ptrdiff_t n)
{
    if (n < 0) {
        char msg[800];
        snprintf(msg, sizeof msg, "%s", cdc_debezium_errmsg(c->dz));
        set_fatal(c, "cannot render a record: %s (%s)", msg, cdc_err_name((int)n));
        return CDC_ERR_PAUSED;
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        cdc_bytes topic, key, value;
        cdc_debezium_record(c->dz, (size_t)i, &topic, &key, &value);
        int rc = produce(c, &topic, &key, &value);
        if (rc) return rc;
    }
    return 0;
}

/* ---- exactly once --------------------------------------------------------- */

static int eos_error(connector *c, const char *what, rd_kafka_error_t *err)
{
    char msg[600];
    snprintf(msg, sizeof msg, "%s: %s", what, rd_kafka_error_string(err));
    int fatal = rd_kafka_error_is_fatal(err);
    int abortable = rd_kafka_error_txn_requires_abort(err);
    rd_kafka_error_destroy(err);
    if (fatal || !abortable) {
        set_fatal(c, "exactly-once: %s%s", msg, fatal ? " (fatal: another instance with the same transactional.id "
                                                        "may have fenced this one)" : "");
        return CDC_ERR_IO;
    }
    fprintf(stderr, "cdc-kafka: exactly-once: %s; aborting the transaction and re-reading from checkpoint %s\n", msg,
            c->acked ? c->acked : "(none)");
    rd_kafka_error_t *ae = rd_kafka_abort_transaction(c->rk, 60000);
    if (ae) {
        snprintf(msg, sizeof msg, "abort: %s", rd_kafka_error_string(ae));
        rd_kafka_error_destroy(ae);
        set_fatal(c, "exactly-once: %s%s", msg, "");
        return CDC_ERR_IO;
    }
    c->in_txn = false;
    return 1; /* aborted: the caller re-reads from the last committed checkpoint */
}

static int eos_begin(connector *c)
{
    rd_kafka_error_t *e = rd_kafka_begin_transaction(c->rk);
    if (e) {
        eos_error(c, "begin transaction", e);
        return CDC_ERR_IO;
    }
    c->in_txn = true;
    c->txn_seq++;
    c->txn_tag_len = snprintf(c->txn_tag, sizeof c->txn_tag, "%s:%llu", c->run_id, (unsigned long long)c->txn_seq);
    c->txn_messages = 0;
    c->txn_started_ms = now_ms();
    return 0;
}

/* Commits the open transaction with checkpoint ck (taken) in the offsets topic. */
static int eos_commit(connector *c, char *ck)
{
    if (!c->in_txn && eos_begin(c)) {
        free(ck);
        return CDC_ERR_PAUSED;
    }
    cdc_position *p = NULL;
    char err[512], tag[64];
    snprintf(tag, sizeof tag, "%s:%llu", c->run_id, (unsigned long long)c->txn_seq);
    char *val = NULL;
    if (cdc_position_parse(&p, ck, NULL, err, sizeof err) == CDC_OK)
        val = offsets_record_value(ck, cdc_position_file(p), (unsigned long long)cdc_position_offset(p),
                                   cdc_position_gtid_set(p), tag);
    cdc_position_free(p);
    if (!val) {
        free(ck);
        return CDC_ERR_NOMEM;
    }
    /* Every record of the transaction is acknowledged before its
     * checkpoint is produced, so no broker ever holds a checkpoint ahead
     * of its records, even one that writes no transaction markers. */
    rd_kafka_resp_err_t fe = rd_kafka_flush(c->rk, 60000);
    if (fe || atomic_load(&c->fatal) || atomic_load(&c->replay)) {
        free(val);
        if (!atomic_load(&c->fatal)) {
            char what[600];
            snprintf(what, sizeof what, "records of the transaction ending at %s %s", ck,
                     fe ? "not acknowledged in 60 s" : "not all acknowledged with an offset");
            fprintf(stderr, "cdc-kafka: exactly-once: %s; aborting it and re-reading\n", what);
            rd_kafka_error_t *ae = rd_kafka_abort_transaction(c->rk, 60000);
            if (ae) {
                set_fatal(c, "exactly-once: abort: %s%s", rd_kafka_error_string(ae), "");
                rd_kafka_error_destroy(ae);
            } else {
                c->in_txn = false;
                g_restart = true;
                cdc_stream_stop(c->stream);
            }
        }
        free(ck);
        return CDC_ERR_PAUSED;
    }
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);
    rd_kafka_header_add(hdrs, "cdc-kafka.txn", -1, tag, (ssize_t)strlen(tag));
    rd_kafka_resp_err_t pe;
    for (;;) {
        pe = rd_kafka_producev(c->rk, RD_KAFKA_V_TOPIC(c->cfg->offsets_topic), RD_KAFKA_V_PARTITION(0),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_KEY(c->offsets_key, strlen(c->offsets_key)),
                               RD_KAFKA_V_VALUE(val, strlen(val)), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (pe != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        rd_kafka_poll(c->rk, 20);
    }
    free(val);
    if (pe) {
        rd_kafka_headers_destroy(hdrs);
        free(ck);
        set_fatal(c, "exactly-once: cannot produce the checkpoint to %s: %s", c->cfg->offsets_topic,
                  rd_kafka_err2str(pe));
        return CDC_ERR_PAUSED;
    }
    for (int attempt = 0;; attempt++) {
        rd_kafka_error_t *e = rd_kafka_commit_transaction(c->rk, 60000);
        if (!e) break;
        if (rd_kafka_error_is_retriable(e) && attempt < 20 && !atomic_load(&c->stopping)) {
            fprintf(stderr, "cdc-kafka: exactly-once: commit at %s: %s; retrying\n", ck, rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            continue;
        }
        char what[600];
        snprintf(what, sizeof what, "commit of the transaction ending at %s", ck);
        free(ck);
        if (eos_error(c, what, e) == 1) {
            g_restart = true;
            cdc_stream_stop(c->stream);
        }
        return CDC_ERR_PAUSED;
    }
    c->in_txn = false;
    atomic_fetch_add(&c->m_txn_commits, 1);
    free_units(c);
    pthread_mutex_lock(&c->lock);
    free(c->acked);
    c->acked = ck;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* A safe point at the end of a binlog transaction (or heartbeat/DDL/snapshot end). */
static int safe_point(connector *c, const cdc_position *pos, bool force_commit)
{
    char *ck = pos_text(pos);
    if (!ck) return CDC_ERR_NOMEM;
    if (c->cfg->delivery == DELIVERY_EXACTLY_ONCE) {
        bool due = !c->cfg->boundary_interval || force_commit || now_ms() - c->txn_started_ms >= c->cfg->boundary_ms;
        if (!c->in_txn && !force_commit) {
            /* nothing produced: only a moved position; record it at the next commit */
            free(c->saved);
            c->saved = ck;
            return 0;
        }
        if (!due) {
            free(c->saved);
            c->saved = ck; /* the checkpoint to commit with the group */
            c->at_boundary = true;
            return 0;
        }
        int rc = eos_commit(c, ck);
        if (rc == 0) {
            free(c->saved);
            c->saved = NULL;
        }
        return rc;
    }
    int rc = close_unit(c, ck);
    if (rc) return rc;
    advance(c);
    rd_kafka_poll(c->rk, 0);
    return store_checkpoint(c, false);
}

/* ---- stream callbacks --------------------------------------------------------- */

/* source.connector: "mariadb" when the server's GTIDs look like MariaDB's
 * (domain-server-sequence), else "mysql" (the renderer's default). The
 * renderer is told only when the kind changes: setting an option clears
 * its per-table plans, which once happened for every row. */
static void set_connector(connector *c, const char *gtid)
{
    unsigned a, b;
    unsigned long long n;
    int used = 0;
    bool maria = *gtid && sscanf(gtid, "%u-%u-%llu%n", &a, &b, &n, &used) == 3 && (gtid[used] == 0 || gtid[used] == ',');
    c->connector_known = true;
    if (maria == c->connector_mariadb || kv_get(&c->cfg->render, "connector")) return;
    char err[256];
    if (cdc_debezium_set(c->dz, "connector", maria ? "mariadb" : "mysql", err, sizeof err) == CDC_OK)
        c->connector_mariadb = maria;
}

/* Before the first transaction's GTID (snapshot rows): from the checkpoint's GTID set. */
static void detect_connector(connector *c)
{
    if (c->connector_known) return;
    char buf[4096];
    cdc_position *p = NULL;
    char err[256];
    if (cdc_stream_checkpoint(c->stream, buf, sizeof buf, NULL) == CDC_OK &&
        cdc_position_parse(&p, buf, NULL, err, sizeof err) == CDC_OK && *cdc_position_gtid_set(p))
        set_connector(c, cdc_position_gtid_set(p));
    cdc_position_free(p);
    c->connector_known = true; /* decided, or left to the transactions' GTIDs (on_begin) */
}

static int on_change(const cdc_change *ch, void *ud)
{
    connector *c = ud;
    if (!c->connector_known) detect_connector(c);
    atomic_fetch_add(&c->m_rows, 1);
    return produce_records(c, cdc_debezium_change(c->dz, ch, CDC_DEBEZIUM_SNAPSHOT_FALSE));
}

/* Snapshot rows: the renderer holds each one back until the next shows
 * whether it was the last of its table, and sets source.snapshot. */
static int on_snapshot_row(const cdc_change *ch, void *ud)
{
    connector *c = ud;
    if (!c->connector_known) detect_connector(c);
    atomic_fetch_add(&c->m_snapshot_rows, 1);
    int rc = produce_records(c, cdc_debezium_snapshot_row(c->dz, ch));
    if (rc) return rc;
    if (c->cfg->delivery == DELIVERY_EXACTLY_ONCE && c->in_txn &&
        now_ms() - c->txn_started_ms >= c->cfg->boundary_ms * 10) {
        /* Bound a snapshot's transactions. There is no checkpoint until the
         * snapshot is done; the offsets record says a snapshot is under way
         * (a restart takes it again), after the rows are acknowledged. */
        rd_kafka_error_t *e = NULL;
        char tag[64];
        snprintf(tag, sizeof tag, "%s:%llu", c->run_id, (unsigned long long)c->txn_seq);
        char *val = NULL;
        if (asprintf(&val, "{\"checkpoint\":null,\"snapshot\":\"in progress\",\"txn\":\"%s\"}", tag) < 0)
            return CDC_ERR_NOMEM;
        rd_kafka_resp_err_t fe = rd_kafka_flush(c->rk, 60000);
        if (!fe && atomic_load(&c->replay)) {
            /* a row acknowledged without an offset: abort, take the snapshot again */
            free(val);
            rd_kafka_error_t *ae = rd_kafka_abort_transaction(c->rk, 60000);
            if (ae) {
                set_fatal(c, "exactly-once: abort: %s%s", rd_kafka_error_string(ae), "");
                rd_kafka_error_destroy(ae);
                return CDC_ERR_PAUSED;
            }
            c->in_txn = false;
            g_restart = true;
            cdc_stream_stop(c->stream);
            return CDC_ERR_PAUSED;
        }
        if (!fe) {
            rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);
            rd_kafka_header_add(hdrs, "cdc-kafka.txn", -1, tag, (ssize_t)strlen(tag));
            fe = rd_kafka_producev(c->rk, RD_KAFKA_V_TOPIC(c->cfg->offsets_topic), RD_KAFKA_V_PARTITION(0),
                                   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                   RD_KAFKA_V_KEY(c->offsets_key, strlen(c->offsets_key)),
                                   RD_KAFKA_V_VALUE(val, strlen(val)), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
            if (fe) rd_kafka_headers_destroy(hdrs);
        }
        free(val);
        if (fe) {
            set_fatal(c, "exactly-once: snapshot rows not acknowledged: %s%s", rd_kafka_err2str(fe), "");
            return CDC_ERR_PAUSED;
        }
        e = rd_kafka_commit_transaction(c->rk, 60000);
        if (e) {
            if (eos_error(c, "commit of snapshot rows", e) == 1) {
                g_restart = true;
                cdc_stream_stop(c->stream);
            }
            return CDC_ERR_PAUSED;
        }
        c->in_txn = false;
        free_units(c);
    }
    return 0;
}

static int on_snapshot_done(const cdc_position *pos, void *ud)
{
    connector *c = ud;
    int rc = produce_records(c, cdc_debezium_snapshot_end(c->dz)); /* the last row, marked last */
    if (rc) return rc;
    fprintf(stderr, "cdc-kafka: snapshot done: %llu rows\n", (unsigned long long)atomic_load(&c->m_snapshot_rows));
    return safe_point(c, pos, true);
}

static int on_progress(const char *db, const char *table, uint64_t done, uint64_t est, size_t tdone, size_t ttotal,
                       void *ud)
{
    (void)ud;
    fprintf(stderr, "cdc-kafka: snapshot %s.%s: %llu of ~%llu rows; %zu of %zu tables done\n", db, table,
            (unsigned long long)done, (unsigned long long)est, tdone, ttotal);
    return 0;
}

static int heartbeat_due(connector *c, int64_t ts)
{
    if (c->cfg->heartbeat_ms <= 0 || ts - c->last_heartbeat_ms < c->cfg->heartbeat_ms) return 0;
    c->last_heartbeat_ms = ts;
    return produce_records(c, cdc_debezium_heartbeat(c->dz, ts));
}

static int on_begin(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    connector *c = ud;
    (void)sid;
    if (*gtid) set_connector(c, gtid); /* a sscanf; the renderer is told only of a change */
    char id[1200];
    if (*gtid) snprintf(id, sizeof id, "%s", gtid);
    else snprintf(id, sizeof id, "file=%s,pos=%llu", cdc_position_file(pos), (unsigned long long)cdc_position_offset(pos));
    return produce_records(c, cdc_debezium_begin(c->dz, id, ts));
}

static int on_commit(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    connector *c = ud;
    (void)gtid;
    (void)sid;
    int rc = produce_records(c, cdc_debezium_commit(c->dz, ts));
    if (!rc) rc = heartbeat_due(c, now_ms());
    if (!rc) rc = safe_point(c, pos, false);
    return rc;
}

/* Glob match with * and ?, as libcdc's filter patterns. */
static bool glob(const char *p, const char *s, size_t n)
{
    if (!*p) return n == 0;
    if (*p == '*') {
        for (size_t i = 0; i <= n; i++)
            if (glob(p + 1, s + i, n - i)) return true;
        return false;
    }
    return n && (*p == '?' || *p == *s) && glob(p + 1, s + 1, n - 1);
}

static bool in_list(const char *list, const uint8_t *name, size_t n)
{
    char pat[512];
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, ",");
        if (k < sizeof pat) {
            memcpy(pat, p, k);
            pat[k] = 0;
            if (glob(pat, (const char *)name, n)) return true;
        }
        p += k + (p[k] == ',');
    }
    return false;
}

/* Schema changes go out for the captured databases only: the statement's
 * default database must pass database.include/exclude.list (statements
 * without one, such as CREATE USER, are left out when a list is set). */
static bool ddl_wanted(connector *c, const cdc_query *q)
{
    char inc[4096] = "", exc[4096] = "";
    cdc_config_get(c->cfg->cdc, "database.include.list", inc, sizeof inc, NULL);
    cdc_config_get(c->cfg->cdc, "database.exclude.list", exc, sizeof exc, NULL);
    cdc_bytes db = cdc_query_db(q);
    if (*inc && !in_list(inc, db.ptr, db.len)) return false;
    if (*exc && db.len && in_list(exc, db.ptr, db.len)) return false;
    return true;
}

static int on_ddl(const cdc_query *q, const cdc_position *pos, void *ud)
{
    connector *c = ud;
    int rc = ddl_wanted(c, q) ? produce_records(c, cdc_debezium_schema_change(c->dz, q, CDC_DEBEZIUM_SNAPSHOT_FALSE)) : 0;
    if (!rc) rc = safe_point(c, pos, false);
    return rc;
}

static int on_checkpoint(const cdc_position *pos, void *ud)
{
    connector *c = ud;
    int rc = heartbeat_due(c, now_ms());
    if (rc) return rc;
    if (c->cfg->delivery == DELIVERY_EXACTLY_ONCE) {
        /* idle: commit a pending group now rather than at the next binlog commit */
        bool pending = c->in_txn;
        char *ck = pos_text(pos);
        if (!ck) return CDC_ERR_NOMEM;
        if (!pending && c->acked && !strcmp(ck, c->acked)) {
            free(ck);
            return 0;
        }
        return eos_commit(c, ck);
    }
    return safe_point(c, pos, false);
}

static void on_log(int level, int code, const char *msg, void *ud)
{
    connector *c = ud;
    (void)code;
    if (level <= 1 || c->verbose)
        fprintf(stderr, "cdc-kafka: %s%s\n", level == 0 ? "error: " : level == 1 ? "warning: " : "", msg);
}

/* ---- one instance per name ------------------------------------------------------ */

/*
 * A second instance with the same name on this machine is refused: an
 * exclusive lock on <offsets file>.lock, or on
 * $TMPDIR/cdc-kafka.<name>.lock when the checkpoint is kept in a topic.
 * Across machines, exactly-once relies on the brokers fencing the older
 * transactional.id (init_transactions); docs/kafka.md says what is tested.
 * Returns the locked descriptor (held until exit) or -1 with err set.
 */
static int lock_instance(settings *cfg, char *err, size_t errlen)
{
    char path[4096];
    if (cfg->offsets_file) {
        snprintf(path, sizeof path, "%s.lock", cfg->offsets_file);
    } else {
        const char *tmp = getenv("TMPDIR");
        int n = snprintf(path, sizeof path, "%s/cdc-kafka.", tmp && *tmp ? tmp : "/tmp");
        for (const char *p = cfg->name; *p && n < (int)sizeof path - 8; p++)
            path[n++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                                       *p == '-' || *p == '_' || *p == '.'
                                   ? *p
                                   : '_');
        snprintf(path + n, sizeof path - (size_t)n, ".lock");
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the instance lock %.900s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        int e = errno;
        char other[32] = "";
        ssize_t k = pread(fd, other, sizeof other - 1, 0);
        other[k > 0 ? k : 0] = 0;
        other[strcspn(other, "\n")] = 0;
        if (e == EWOULDBLOCK)
            snprintf(err, errlen, "another cdc-kafka named %.200s is running (pid %s holds %.800s); stop it first", cfg->name,
                     other[0] ? other : "?", path);
        else
            snprintf(err, errlen, "cannot lock %.900s: %s", path, strerror(e));
        close(fd);
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)n, 0) != n) { /* the pid is only informative */ }
    return fd;
}

/* ---- setup and the run ------------------------------------------------------- */

static rd_kafka_conf_t *user_kafka_conf(settings *cfg, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char e[512];
    for (size_t i = 0; i < cfg->kafka.n; i++) {
        if (rd_kafka_conf_set(conf, cfg->kafka.items[i].key, cfg->kafka.items[i].value, e, sizeof e) !=
            RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka.%s: %s", cfg->kafka.items[i].key, e);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    return conf;
}

static int set_default(rd_kafka_conf_t *conf, settings *cfg, const char *key, const char *value, char *err,
                       size_t errlen)
{
    if (kv_get(&cfg->kafka, key)) return 0; /* the user's choice wins */
    char e[512];
    if (rd_kafka_conf_set(conf, key, value, e, sizeof e) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "%s=%s: %s", key, value, e);
        return -1;
    }
    return 0;
}

static int make_producer(connector *c, char *err, size_t errlen)
{
    settings *cfg = c->cfg;
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(c->user_conf);
    char qmax[32];
    snprintf(qmax, sizeof qmax, "%ld", cfg->queue_max * 2 + 10000);
    if (set_default(conf, cfg, "enable.idempotence", "true", err, errlen) ||
        set_default(conf, cfg, "acks", "all", err, errlen) ||
        set_default(conf, cfg, "partitioner", "murmur2_random", err, errlen) ||
        set_default(conf, cfg, "queue.buffering.max.messages", qmax, err, errlen) ||
        /* bytes too, whatever the size of the records: memory stays bounded
         * (a full queue makes produce wait, as max.queue.size does) */
        set_default(conf, cfg, "queue.buffering.max.kbytes", "32768", err, errlen) ||
        set_default(conf, cfg, "linger.ms", "10", err, errlen) ||
        /* with topic creation on, looking a topic up must not create it
         * with the brokers' defaults before the Admin API can */
        (cfg->create_topics && set_default(conf, cfg, "allow.auto.create.topics", "false", err, errlen))) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    const char *acks = kv_get(&cfg->kafka, "acks");
    if (!acks) acks = kv_get(&cfg->kafka, "request.required.acks");
    c->offsets_expected = !acks || strcmp(acks, "0");
    const char *idem = kv_get(&cfg->kafka, "enable.idempotence");
    if (idem && strcmp(idem, "true"))
        fprintf(stderr, "cdc-kafka: warning: kafka.enable.idempotence=%s: retries may reorder or duplicate records\n",
                idem);
    char e[512];
    if (cfg->delivery == DELIVERY_EXACTLY_ONCE &&
        rd_kafka_conf_set(conf, "transactional.id", cfg->transactional_id, e, sizeof e) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "transactional.id: %s", e);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_kafka_error);
    rd_kafka_conf_set_log_cb(conf, on_kafka_log);
    rd_kafka_conf_set_opaque(conf, c);
    c->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    if (!c->rk) {
        snprintf(err, errlen, "cannot make the Kafka producer: %s", e);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    return 0;
}

static int make_renderer(connector *c, char *err, size_t errlen)
{
    if (cdc_debezium_new(&c->dz, NULL, err, errlen)) return -1;
    char e[512];
    for (size_t i = 0; i < c->cfg->render.n; i++) {
        if (cdc_debezium_set(c->dz, c->cfg->render.items[i].key, c->cfg->render.items[i].value, e, sizeof e)) {
            snprintf(err, errlen, "%s", e);
            return -1;
        }
    }
    if (kv_get(&c->cfg->render, "connector")) c->connector_known = true;
    /* tableChanges: table definitions from the source server's information_schema */
    if (cdc_debezium_set_source(c->dz, c->cfg->cdc, err, errlen)) return -1;
    return 0;
}

static int make_stream(connector *c, char *err, size_t errlen)
{
    cdc_config *cfg;
    if (cdc_config_copy(&cfg, c->cfg->cdc)) return snprintf(err, errlen, "out of memory"), -1;
    char e[512];
    if (c->acked && cdc_config_set(cfg, "start", c->acked, e, sizeof e)) {
        snprintf(err, errlen, "the saved checkpoint: %s", e);
        cdc_config_free(cfg);
        return -1;
    }
    if (c->cfg->heartbeat_ms > 0 && c->cfg->heartbeat_ms < 10000) {
        char hb[32];
        snprintf(hb, sizeof hb, "%ld", c->cfg->heartbeat_ms < 100 ? 100 : c->cfg->heartbeat_ms);
        cdc_config_set(cfg, "heartbeat.interval.ms", hb, e, sizeof e);
    }
    cdc_stream *s = NULL;
    int rc = cdc_stream_new(&s, cfg, NULL, err, errlen);
    cdc_config_free(cfg);
    pthread_mutex_lock(&c->lock);
    c->stream = s;
    pthread_mutex_unlock(&c->lock);
    if (rc) return -1;
    cdc_stream_set_change_cb(c->stream, on_change, c);
    cdc_stream_set_begin_cb(c->stream, on_begin, c);
    cdc_stream_set_commit_cb(c->stream, on_commit, c);
    cdc_stream_set_ddl_cb(c->stream, on_ddl, c);
    cdc_stream_set_checkpoint_cb(c->stream, on_checkpoint, c);
    cdc_stream_set_log_cb(c->stream, on_log, c);
    cdc_stream_set_snapshot_cb(c->stream, on_snapshot_row, c);
    cdc_stream_set_snapshot_done_cb(c->stream, on_snapshot_done, c);
    cdc_stream_set_progress_cb(c->stream, on_progress, c);
    cdc_debezium_snapshot_reset(c->dz); /* a snapshot taken again starts with "first" */
    return 0;
}

static char *load_checkpoint(connector *c, char *err, size_t errlen)
{
    if (c->cfg->offsets_file) return offsets_file_read(c->cfg->offsets_file, err, errlen);
    return offsets_topic_read(c->user_conf, c->cfg->offsets_topic, c->offsets_key, err, errlen);
}

int connector_check(settings *cfg, char *err, size_t errlen)
{
    connector c;
    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    int rc = make_renderer(&c, err, errlen);
    cdc_debezium_free(c.dz);
    if (rc) return -1;
    rd_kafka_conf_t *kc = user_kafka_conf(cfg, err, errlen);
    if (!kc) return -1;
    rd_kafka_conf_destroy(kc);
    cdc_stream *s = NULL;
    rc = cdc_stream_new(&s, cfg->cdc, NULL, err, errlen);
    cdc_stream_free(s);
    return rc ? -1 : 0;
}

int connector_run(settings *cfg, int metrics_port, bool verbose)
{
    connector c;
    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    c.verbose = verbose;
    pthread_mutex_init(&c.lock, NULL);
    char err[1200];
    int status = 1;
    metrics_server *ms = NULL;
    int lock_fd = -1;
    snprintf(c.run_id, sizeof c.run_id, "%lx-%x", (unsigned long)now_ms(), (unsigned)getpid());
    c.offsets_key = offsets_record_key(cfg->name, cfg->prefix);
    if (!c.offsets_key) goto out;
    if ((lock_fd = lock_instance(cfg, err, sizeof err)) < 0) {
        fprintf(stderr, "cdc-kafka: %s\n", err);
        goto out;
    }
    if (!(c.user_conf = user_kafka_conf(cfg, err, sizeof err)) || make_renderer(&c, err, sizeof err) ||
        make_producer(&c, err, sizeof err)) {
        fprintf(stderr, "cdc-kafka: %s\n", err);
        goto out;
    }
    if (cfg->offsets_topic) {
        if (ensure_topic(&c, cfg->offsets_topic, true)) {
            fprintf(stderr, "cdc-kafka: %s\n", c.fatal_msg);
            goto out;
        }
    }
    if (cfg->delivery == DELIVERY_EXACTLY_ONCE) {
        /* Fences an older instance and ends (aborts) its open transaction
         * before the committed checkpoint is read. */
        rd_kafka_error_t *e = rd_kafka_init_transactions(c.rk, 60000);
        if (e) {
            fprintf(stderr, "cdc-kafka: exactly-once: init transactions (transactional.id %s): %s\n",
                    cfg->transactional_id, rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            goto out;
        }
    }
    if (!c.connector_known) {
        /* source.connector from the server's flavour, before the first
         * record (snapshot rows come before any transaction's GTID) */
        cdc_server_info *info = NULL;
        char ie[512];
        if (cdc_server_info_get(&info, cfg->cdc, NULL, ie, sizeof ie) == CDC_OK) {
            const char *f = cdc_server_info_find(info, "flavour");
            if (f) {
                bool maria = strcasecmp(f, "MariaDB") == 0;
                if (maria == c.connector_mariadb ||
                    cdc_debezium_set(c.dz, "connector", maria ? "mariadb" : "mysql", ie, sizeof ie) == CDC_OK) {
                    c.connector_mariadb = maria;
                    c.connector_known = true;
                }
            }
        }
        cdc_server_info_free(info); /* not reachable now: the stream says so itself */
    }
    c.acked = load_checkpoint(&c, err, sizeof err);
    if (!c.acked && err[0]) {
        fprintf(stderr, "cdc-kafka: %s\n", err);
        goto out;
    }
    if (c.acked) {
        fprintf(stderr, "cdc-kafka: resuming from checkpoint %s\n", c.acked);
        c.saved = strdup(c.acked);
    }
    c.saved_at_ms = now_ms();
    if (metrics_port > 0 && !(ms = metrics_start(&c, metrics_port, err, sizeof err))) {
        fprintf(stderr, "cdc-kafka: %s\n", err);
        goto out;
    }

    g_conn = &c;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc;
    for (;;) {
        g_restart = false;
        if (make_stream(&c, err, sizeof err)) {
            fprintf(stderr, "cdc-kafka: %s\n", err);
            goto out;
        }
        if (atomic_load(&c.stopping)) cdc_stream_stop(c.stream);
        rc = cdc_stream_start(c.stream);
        bool replay = cfg->delivery != DELIVERY_EXACTLY_ONCE && atomic_load(&c.replay);
        if (replay && !atomic_load(&c.stopping) && !atomic_load(&c.fatal)) {
            /* Every delivery report must come before the units go. */
            while (rd_kafka_outq_len(c.rk) > 0 && !atomic_load(&c.stopping) && !atomic_load(&c.fatal))
                rd_kafka_poll(c.rk, 100);
            if (rd_kafka_outq_len(c.rk) > 0) break;
        }
        if ((g_restart || replay) && !atomic_load(&c.stopping) && !atomic_load(&c.fatal)) {
            if (atomic_exchange(&c.replay, 0)) atomic_fetch_add(&c.m_replays, 1);
            c.in_txn = false;
            pthread_mutex_lock(&c.lock); /* the metrics thread reads c.stream */
            cdc_stream_free(c.stream);
            c.stream = NULL;
            pthread_mutex_unlock(&c.lock);
            free_units(&c);
            continue;
        }
        break;
    }
    /* Wind down: what is acknowledged becomes the checkpoint. */
    if (cfg->delivery == DELIVERY_EXACTLY_ONCE) {
        /* A group that ends on a transaction boundary is committed; records
         * of a binlog transaction the stop cut are aborted (read again next time). */
        if (c.in_txn && !atomic_load(&c.fatal) && c.at_boundary && c.saved) {
            char *ck = c.saved;
            c.saved = NULL;
            eos_commit(&c, ck);
        } else if (c.in_txn) {
            rd_kafka_error_t *e = rd_kafka_abort_transaction(c.rk, 30000);
            if (e) rd_kafka_error_destroy(e);
        }
    } else {
        if (c.cur) c.cur = NULL; /* an open transaction never checkpoints */
        rd_kafka_resp_err_t fe = rd_kafka_flush(c.rk, 30000);
        if (fe && !atomic_load(&c.fatal))
            set_fatal(&c, "%d messages still unacknowledged after 30 s: %s", "", rd_kafka_err2str(fe));
        advance(&c);
        store_checkpoint(&c, true);
        rd_kafka_flush(c.rk, 10000); /* the offsets record, when kept in a topic */
    }
    if (atomic_load(&c.fatal)) {
        fprintf(stderr, "cdc-kafka: %s\n", c.fatal_msg);
        status = 1;
    } else if (rc == CDC_OK || rc == CDC_ERR_STOPPED || rc == CDC_ERR_PAUSED) {
        status = 0;
    } else {
        fprintf(stderr, "cdc-kafka: %s (%s)\n", cdc_stream_errmsg(c.stream), cdc_err_name(rc));
        status = 1;
    }
    fprintf(stderr, "cdc-kafka: checkpoint: %s\n", c.acked ? c.acked : "(none)");
out:
    g_conn = NULL;
    metrics_stop(ms);
    cdc_stream_free(c.stream);
    free_units(&c);
    if (c.rk) {
        for (size_t i = 0; i < c.ntopics; i++) rd_kafka_topic_destroy(c.topics[i].rkt);
        rd_kafka_destroy(c.rk);
    }
    for (size_t i = 0; i < c.ntopics; i++) free(c.topics[i].name);
    free(c.topics);
    if (c.user_conf) rd_kafka_conf_destroy(c.user_conf);
    cdc_debezium_free(c.dz);
    free(c.acked);
    free(c.saved);
    free(c.offsets_key);
    pthread_mutex_destroy(&c.lock);
    if (lock_fd >= 0) close(lock_fd); /* after the last checkpoint write */
    return status;
}

size_t connector_metrics(connector *c, char *buf, size_t cap)
{
    size_t n = 0;
#define OUT(...) do { int k_ = snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__); if (k_ > 0) n += (size_t)k_; } while (0)
    OUT("# HELP cdc_kafka_rows_total Row changes read from the binlog.\n# TYPE cdc_kafka_rows_total counter\n");
    OUT("cdc_kafka_rows_total %llu\n", (unsigned long long)atomic_load(&c->m_rows));
    OUT("# TYPE cdc_kafka_snapshot_rows_total counter\ncdc_kafka_snapshot_rows_total %llu\n",
        (unsigned long long)atomic_load(&c->m_snapshot_rows));
    OUT("# TYPE cdc_kafka_records_total counter\ncdc_kafka_records_total %llu\n",
        (unsigned long long)atomic_load(&c->m_records));
    OUT("# TYPE cdc_kafka_records_acked_total counter\ncdc_kafka_records_acked_total %llu\n",
        (unsigned long long)atomic_load(&c->m_acked));
    OUT("# TYPE cdc_kafka_delivery_errors_total counter\ncdc_kafka_delivery_errors_total %llu\n",
        (unsigned long long)atomic_load(&c->m_errors));
    OUT("# HELP cdc_kafka_records_inferred_total Records reported delivered without an offset (not counted as "
        "acknowledged).\n# TYPE cdc_kafka_records_inferred_total counter\ncdc_kafka_records_inferred_total %llu\n",
        (unsigned long long)atomic_load(&c->m_inferred));
    OUT("# HELP cdc_kafka_replays_total Times the stream re-read from the checkpoint after such a record.\n"
        "# TYPE cdc_kafka_replays_total counter\ncdc_kafka_replays_total %llu\n",
        (unsigned long long)atomic_load(&c->m_replays));
    OUT("# HELP cdc_kafka_ack_latency_ms At-least-once: from a binlog transaction's last record produced to all "
        "its records acknowledged.\n"
        "# TYPE cdc_kafka_ack_latency_ms histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b <= ACK_BOUNDS; b++) {
        cum += atomic_load(&c->m_ack_hist[b]);
        if (b < ACK_BOUNDS) OUT("cdc_kafka_ack_latency_ms_bucket{le=\"%lld\"} %llu\n", (long long)k_ack_bounds[b],
                                (unsigned long long)cum);
        else OUT("cdc_kafka_ack_latency_ms_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    OUT("cdc_kafka_ack_latency_ms_sum %llu\ncdc_kafka_ack_latency_ms_count %llu\n",
        (unsigned long long)atomic_load(&c->m_ack_sum_ms), (unsigned long long)cum);
    OUT("# TYPE cdc_kafka_transactions_committed_total counter\ncdc_kafka_transactions_committed_total %llu\n",
        (unsigned long long)atomic_load(&c->m_txn_commits));
    OUT("# HELP cdc_kafka_queue_depth Records produced and not yet acknowledged.\n# TYPE cdc_kafka_queue_depth gauge\n");
    OUT("cdc_kafka_queue_depth %d\n", c->rk ? rd_kafka_outq_len(c->rk) : 0);
    pthread_mutex_lock(&c->lock);
    cdc_stream *s = c->stream;
    OUT("# HELP cdc_kafka_lag_ms Now minus the commit time of the last binlog event read.\n# TYPE cdc_kafka_lag_ms gauge\n");
    OUT("cdc_kafka_lag_ms %llu\n", s ? (unsigned long long)cdc_stream_metric(s, CDC_METRIC_LAG_MS) : 0ULL);
    OUT("# HELP cdc_kafka_checkpoint_info The last checkpoint whose records are all acknowledged (committed).\n");
    OUT("# TYPE cdc_kafka_checkpoint_info gauge\ncdc_kafka_checkpoint_info{checkpoint=\"");
    for (const char *p = c->acked ? c->acked : ""; *p; p++) {
        if (*p == '"' || *p == '\\') OUT("\\%c", *p);
        else if (*p == '\n') OUT("\\n");
        else OUT("%c", *p);
    }
    OUT("\"} 1\n# TYPE cdc_kafka_topic_records_total counter\n");
    for (size_t i = 0; i < c->ntopics; i++)
        OUT("cdc_kafka_topic_records_total{topic=\"%s\"} %llu\n", c->topics[i].name,
            (unsigned long long)atomic_load(&c->topics[i].messages));
    pthread_mutex_unlock(&c->lock);
#undef OUT
    return n < cap ? n : cap;
}
