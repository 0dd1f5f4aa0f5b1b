/*
 * The cdc-kafka connector: a libcdc stream whose changes become Debezium
 * records (cdc/debezium.h) produced to Kafka with librdkafka, with the
 * checkpoint advanced only behind what the brokers acknowledged
 * (at-least-once) or committed in the same Kafka transaction as the
 * records (exactly-once). docs/kafka.md describes what each promises.
 */
#ifndef CDC_KAFKA_CONNECTOR_H
#define CDC_KAFKA_CONNECTOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <cdc/cdc.h>
#include <cdc/debezium.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>

#include "settings.h"

typedef struct topic_entry {
    char *name;
    rd_kafka_topic_t *rkt;
    atomic_uint_least64_t messages;
} topic_entry;

/* A run of messages whose acknowledgement gates one checkpoint. */
typedef struct unit {
    struct unit *next;
    long outstanding;   /* messages produced and not yet acknowledged */
    bool closed;        /* no more messages will join it */
    bool produced;      /* some message joined it */
    char *checkpoint;   /* saved once it and every unit before it are acknowledged; NULL: none */
    int64_t closed_ms;  /* when it was closed (its last record produced) */
} unit;

typedef struct connector {
    settings *cfg;
    cdc_stream *stream;
    cdc_debezium *dz;
    rd_kafka_t *rk;
    rd_kafka_conf_t *user_conf; /* kafka.* only: for the offsets reader */

    topic_entry *topics;
    size_t ntopics, captopics;
    pthread_mutex_t lock; /* topics array growth and checkpoint text, for the metrics thread */

    unit *head, *tail, *cur; /* unacknowledged units, oldest first; cur: the open one */
    uint64_t produced, reported; /* records of units produced / delivery-reported: the backpressure count */
    char *acked;             /* newest checkpoint whose messages are all acknowledged */
    char *saved;             /* newest checkpoint written to the store */
    int64_t saved_at_ms;
    char *offsets_key;

    /* exactly once */
    bool in_txn;
    bool at_boundary;       /* nothing produced since the last binlog transaction ended */
    uint64_t txn_seq;
    char run_id[24];
    char txn_tag[64];        /* "<run_id>:<txn_seq>": the header of each record of the open transaction */
    int txn_tag_len;
    int64_t txn_started_ms;
    long txn_messages;

    int64_t last_heartbeat_ms;
    bool connector_known;    /* source.connector decided (or left to the GTIDs) */
    bool connector_mariadb;  /* what the renderer was told */

    atomic_int fatal;        /* a producer or store error stops the run */
    /* A record was acknowledged without an offset: librdkafka inferred its
     * persistence from a later batch's success (see on_delivery). The
     * checkpoint stops and the stream re-reads from it. */
    atomic_int replay;
    bool offsets_expected;   /* acks is not 0: every real acknowledgement carries an offset */
    char fatal_msg[1024];
    atomic_int stopping;

    /* metrics */
    atomic_uint_least64_t m_records, m_rows, m_snapshot_rows, m_txn_commits, m_acked, m_errors, m_inferred, m_replays;
    /* at-least-once: from a unit's close to its last acknowledgement, a
     * histogram with the bounds of connector.c's k_ack_bounds */
    atomic_uint_least64_t m_ack_hist[14];
    atomic_uint_least64_t m_ack_sum_ms;
    bool verbose;
} connector;

/* Runs the connector until it is stopped (signal), reaches cdc.stop.at, or
 * fails. Returns the process exit status. */
int connector_run(settings *cfg, int metrics_port, bool verbose);

/* Checks what can be checked without connecting: renderer options,
 * Kafka properties, the stream configuration. 0 or -1 with err. */
int connector_check(settings *cfg, char *err, size_t errlen);

/* For the metrics endpoint: writes Prometheus text into buf. */
size_t connector_metrics(connector *c, char *buf, size_t cap);

#endif
