/*
 * Where cdc-kafka keeps its checkpoint: a local file (rewritten atomically)
 * or a record in a compacted Kafka topic, keyed like Kafka Connect's
 * offsets (["<name>",{"server":"<prefix>"}]).
 */
#ifndef CDC_KAFKA_OFFSETS_H
#define CDC_KAFKA_OFFSETS_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

/* The checkpoint saved in path, malloc'd; NULL with *err empty when the file
 * does not exist, NULL with a message when it cannot be read. */
char *offsets_file_read(const char *path, char *err, size_t errlen);
/* Replaces the file's content by checkpoint (write, fsync, rename).
 * 0 or -1 with a message. */
int offsets_file_write(const char *path, const char *checkpoint, char *err, size_t errlen);

/* The JSON key and value of an offsets record. malloc'd. */
char *offsets_record_key(const char *name, const char *prefix);
char *offsets_record_value(const char *checkpoint, const char *file, unsigned long long pos, const char *gtids,
                           const char *txn);

/*
 * Reads the last checkpoint of key from partition 0 of topic, as a
 * read_committed consumer (kconf: the connector's Kafka properties, copied).
 * Returns the checkpoint (malloc'd), or NULL: with *err empty when there
 * is none (or the topic does not exist yet), else with a message.
 */
char *offsets_topic_read(rd_kafka_conf_t *kconf, const char *topic, const char *key, char *err, size_t errlen);

#endif
