/* The checkpoint store: a file or a compacted topic (offsets.h). */
#include "offsets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"

char *offsets_file_read(const char *path, char *err, size_t errlen)
{
    *err = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno != ENOENT) snprintf(err, errlen, "cannot read offsets file %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n = getline(&buf, &cap, f);
    fclose(f);
    if (n <= 0) {
        free(buf);
        return NULL; /* empty: as if none */
    }
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = 0;
    return buf;
}

int offsets_file_write(const char *path, const char *checkpoint, char *err, size_t errlen)
{
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (!tmp) return snprintf(err, errlen, "out of memory"), -1;
    snprintf(tmp, n, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = 0;
    if (fd < 0) {
        rc = -1;
    } else {
        size_t len = strlen(checkpoint);
        if (write(fd, checkpoint, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0) rc = -1;
        if (close(fd) != 0) rc = -1;
        if (rc == 0 && rename(tmp, path) != 0) rc = -1;
    }
    if (rc) snprintf(err, errlen, "cannot write offsets file %s: %s", path, strerror(errno));
    free(tmp);
    return rc;
}

/* JSON string literal of s into out (cap bytes); returns the length. */
static size_t json_str(char *out, size_t cap, const char *s)
{
    size_t n = 0;
#define PUT(c) do { if (n + 1 < cap) out[n] = (c); n++; } while (0)
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            PUT('\\');
            PUT((char)*p);
        } else if (*p < 0x20) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", *p);
            for (char *q = e; *q; q++) PUT(*q);
        } else {
            PUT((char)*p);
        }
    }
    PUT('"');
#undef PUT
    if (cap) out[n < cap ? n : cap - 1] = 0;
    return n;
}

static char *quoted(const char *s)
{
    size_t n = json_str(NULL, 0, s) + 1;
    char *q = malloc(n);
    if (q) json_str(q, n, s);
    return q;
}

char *offsets_record_key(const char *name, const char *prefix)
{
    char *a = quoted(name), *b = quoted(prefix), *out = NULL;
    if (a && b && asprintf(&out, "[%s,{\"server\":%s}]", a, b) < 0) out = NULL;
    free(a);
    free(b);
    return out;
}

char *offsets_record_value(const char *checkpoint, const char *file, unsigned long long pos, const char *gtids,
                           const char *txn)
{
    char *c = quoted(checkpoint), *f = quoted(file), *g = quoted(gtids), *t = quoted(txn ? txn : ""), *out = NULL;
    if (c && f && g && t &&
        asprintf(&out, "{\"checkpoint\":%s,\"file\":%s,\"pos\":%llu,\"gtids\":%s,\"txn\":%s}", c, f, pos, g, t) < 0)
        out = NULL;
    free(c);
    free(f);
    free(g);
    free(t);
    return out;
}

char *offsets_topic_read(rd_kafka_conf_t *kconf, const char *topic, const char *key, char *err, size_t errlen)
{
    *err = 0;
    char e[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(kconf);
    static const char *const unset[] = {"transactional.id", "enable.idempotence", "acks", "linger.ms",
                                        "compression.type", "partitioner", "queue.buffering.max.messages",
                                        "queue.buffering.max.kbytes", "batch.num.messages", "message.timeout.ms"};
    (void)unset; /* producer-only properties are ignored by a consumer with a warning */
    if (rd_kafka_conf_set(conf, "group.id", "cdc-kafka-offsets-reader", e, sizeof e) ||
        rd_kafka_conf_set(conf, "isolation.level", "read_committed", e, sizeof e) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", e, sizeof e) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", e, sizeof e)) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "offsets reader: %s", e);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "offsets reader: %s", e);
        return NULL;
    }
    char *found = NULL;
    /* Does the topic exist? A missing topic means no checkpoint yet. */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t merr = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    int exists = 0;
    if (merr) {
        snprintf(err, errlen, "offsets topic %s: metadata: %s", topic, rd_kafka_err2str(merr));
    } else {
        exists = md->topic_cnt == 1 && md->topics[0].err == 0 && md->topics[0].partition_cnt > 0;
        if (!exists && md->topic_cnt == 1 && md->topics[0].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART &&
            md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR)
            snprintf(err, errlen, "offsets topic %s: %s", topic, rd_kafka_err2str(md->topics[0].err));
    }
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    if (exists) {
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        if (aerr) snprintf(err, errlen, "offsets topic %s: %s", topic, rd_kafka_err2str(aerr));
        size_t klen = strlen(key);
        int idle = 0;
        while (!aerr && !*err) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
            if (!m) {
                if (++idle >= 30) snprintf(err, errlen, "offsets topic %s: no answer in 30 s", topic);
                continue;
            }
            idle = 0;
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                rd_kafka_message_destroy(m);
                break;
            }
            if (m->err) {
                snprintf(err, errlen, "offsets topic %s: %s", topic, rd_kafka_message_errstr(m));
            } else if (m->key_len == klen && !memcmp(m->key, key, klen)) {
                free(found);
                found = NULL;
                if (m->payload) {
                    kjson *v = kjson_parse(m->payload, m->len, e, sizeof e);
                    const kjson *ck = kjson_get(v, "checkpoint");
                    if (ck && ck->type == KJSON_STRING) found = strdup(ck->text);
                    else if (ck && ck->type == KJSON_NULL) found = NULL; /* a snapshot under way: none */
                    else
                        snprintf(err, errlen, "offsets topic %s offset %lld: not a cdc-kafka offsets record", topic,
                                 (long long)m->offset);
                    kjson_free(v);
                }
            }
            rd_kafka_message_destroy(m);
        }
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (*err) {
        free(found);
        return NULL;
    }
    return found;
}
