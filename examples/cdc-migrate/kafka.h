/*
 * `cdc-migrate apply --from-kafka`: a member of a Kafka consumer group
 * that applies Debezium change events (from cdc-kafka or a Debezium
 * connector) to the target (docs/kafka.md, "Applying from Kafka").
 *
 * Exactly once: each target transaction holds the rows of a batch of
 * records and, in the same transaction, the next offset of every
 * partition they came from (cdc_migrate.kafka_offsets). On every
 * assignment the member starts each partition at the offset the target
 * holds, not at the group's committed offset (committed too, for
 * monitoring only). The offsets update is conditional on the value the
 * member last read or wrote, so a member that lost a partition without
 * noticing (a zombie) cannot commit over its new owner: its transaction
 * rolls back and it re-reads the offsets.
 *
 * Convergence of snapshot and change records: each applied row's source
 * position (binlog file, offset, snapshot-or-change, row index) is kept
 * per key (cdc_migrate.kafka_keys); a record whose position is not newer
 * than the key's is skipped, so an older snapshot row never overwrites a
 * newer change, and a deleted key stays deleted.
 */
#ifndef CDC_MIGRATE_KAFKA_H
#define CDC_MIGRATE_KAFKA_H

#include "migrate.h"
#include "target.h"

/* Options of the Kafka source, set by main.c. */
typedef struct kopts {
    const char *brokers;
    const char *group;
    const char *topics;       /* comma-separated, or NULL */
    const char *prefix;       /* topic.prefix: topics <prefix>.<db>.<table> */
    const char **conf;        /* librdkafka key=value pairs */
    size_t nconf;
    const char **dbz;         /* Debezium handling modes key=value */
    size_t ndbz;
    int metrics_port;
    const char *client_id;
} kopts;

/* Runs the consumer until SIGINT/SIGTERM. The exit status. */
int cmd_kafka_apply(const mopts *o, const kopts *k);
/* The Kafka part of `status`: per partition and per table, consumer lag
 * and apply lag as the members last wrote them. Prints nothing when the
 * migration has no Kafka offsets. */
void kafka_status(target *tg, const mopts *o);

#endif
