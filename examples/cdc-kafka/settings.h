/*
 * cdc-kafka's configuration: a Debezium MySQL connector configuration as
 * written for Kafka Connect (the REST body {"name":..,"config":{..}}, the
 * bare config object, or a .properties file), mapped onto libcdc's
 * configuration keys, the Debezium renderer's options, librdkafka's
 * properties and the connector's own settings (docs/kafka.md).
 */
#ifndef CDC_KAFKA_SETTINGS_H
#define CDC_KAFKA_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include <cdc/cdc.h>

typedef struct kv {
    char *key, *value;
} kv;

typedef struct kv_list {
    kv *items;
    size_t n, cap;
} kv_list;

typedef enum delivery_mode { DELIVERY_AT_LEAST_ONCE, DELIVERY_EXACTLY_ONCE } delivery_mode;

typedef struct settings {
    cdc_config *cdc;        /* the library's stream configuration */
    kv_list kafka;          /* librdkafka properties (kafka.* and producer.override.*) */
    kv_list render;         /* Debezium renderer options (decimal.handling.mode, ...) */
    char *name;             /* connector name: offsets key, transactional.id */
    char *prefix;           /* topic.prefix */
    char *heartbeat_prefix; /* heartbeat.topics.prefix */
    bool tombstones;        /* tombstones.on.delete */
    bool txn_metadata;      /* provide.transaction.metadata */
    bool schema_changes;    /* include.schema.changes */
    long heartbeat_ms;      /* heartbeat.interval.ms; 0 = no heartbeat messages */
    delivery_mode delivery; /* exactly.once.support=required: exactly once */
    bool boundary_interval; /* transaction.boundary=interval */
    long boundary_ms;       /* transaction.boundary.interval.ms */
    char *offsets_file;     /* offset.storage.file.filename */
    char *offsets_topic;    /* offset.storage.topic */
    long flush_ms;          /* offset.flush.interval.ms */
    bool create_topics;     /* topic.creation.enable */
    int partitions;         /* topic.creation.default.partitions */
    int replication;        /* topic.creation.default.replication.factor */
    long queue_max;         /* max.queue.size: messages produced and not yet acknowledged */
    char *transactional_id; /* exactly.once.transactional.id */
} settings;

void settings_init(settings *s);
void settings_free(settings *s);

/*
 * Applies one key. Returns 0, 1 when the key was accepted but has no
 * effect here (a note was printed), or -1 with a message in err naming
 * the key (unknown key, bad value). Never copies a secret into err.
 */
int settings_apply(settings *s, const char *key, const char *value, char *err, size_t errlen);

/* Reads a file: JSON (Connect's REST body or its config object) or
 * properties. 0, or -1 with err naming the file, line, or key. */
int settings_load(settings *s, const char *path, char *err, size_t errlen);

/* Cross-key checks and defaults after every key is set; 0 or -1 + err. */
int settings_finish(settings *s, char *err, size_t errlen);

/* Turns a Debezium include/exclude regex list ("inventory\\.orders,app_.*")
 * into libcdc's pattern list ("inventory.orders,app_*"). qualified: items are
 * db.table, and the first plain '.' of each is the separator. -1 with err for
 * a regex the patterns cannot express. out has cap bytes. */
int regex_list_to_patterns(const char *in, bool qualified, char *out, size_t cap, char *err, size_t errlen);

int kv_set(kv_list *l, const char *key, const char *value);
const char *kv_get(const kv_list *l, const char *key);

#endif
