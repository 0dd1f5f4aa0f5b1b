/*
 * libcdc: change data capture from MySQL and MariaDB binary logs.
 *
 * debezium.h: change events as Debezium's MySQL/MariaDB connector writes
 * them to Kafka (JsonConverter, with or without schemas), so that
 * consumers written for Debezium read libcdc's output unchanged: the same
 * topic names, keys, values, schema names and type mapping with every
 * handling mode. The format, every option and the type table are in
 * docs/debezium.md.
 *
 * A cdc_debezium is a renderer configured by string keys named as
 * Debezium names them (topic.prefix, decimal.handling.mode, ...). It does
 * no I/O: each call turns one thing the stream or decoder delivered (a
 * row change, a transaction boundary, a DDL statement, a heartbeat) into
 * zero or more records, each a topic name, a key and a value, which the
 * caller reads with cdc_debezium_record() and sends wherever it wants.
 *
 *     cdc_debezium *dz;
 *     cdc_debezium_new(&dz, NULL, err, sizeof err);
 *     cdc_debezium_set(dz, "topic.prefix", "shop", err, sizeof err);
 *     cdc_debezium_set(dz, "decimal.handling.mode", "string", err, sizeof err);
 *
 *     // in the change callback:
 *     ptrdiff_t n = cdc_debezium_change(dz, change, CDC_DEBEZIUM_SNAPSHOT_FALSE);
 *     if (n < 0) ...cdc_debezium_errmsg(dz)...
 *     for (size_t i = 0; i < (size_t)n; i++) {
 *         cdc_bytes topic, key, value;
 *         cdc_debezium_record(dz, i, &topic, &key, &value);
 *         produce(topic, key, value);   // value.ptr == NULL: a tombstone
 *     }
 *
 * Records are owned by the renderer and valid until the next rendering
 * call on it (cdc_debezium_change/begin/commit/schema_change/heartbeat)
 * or cdc_debezium_free(); copy what you keep. Keys and values are UTF-8
 * JSON text, not NUL-terminated; a NULL key (a table without a key) or a
 * NULL value (a tombstone) has ptr NULL and len 0.
 *
 * The schema part of each table's key and value (schemas.enable=true) is
 * rendered once per table definition and reused for every row; a table
 * whose columns change (a new TABLE_MAP with other columns) gets new ones.
 *
 * Threads: a renderer belongs to one thread at a time; different
 * renderers are independent. cdc_debezium_key_* are thread-safe.
 */
#ifndef CDC_DEBEZIUM_H
#define CDC_DEBEZIUM_H

#include <stddef.h>
#include <stdint.h>

#include <cdc/binlog.h>
#include <cdc/common.h>
#include <cdc/config.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdc_debezium cdc_debezium;

/*
 * What `source.snapshot` says, as Debezium's SnapshotRecord does. Change
 * events from the binlog are FALSE. Snapshot rows (op 'r') are marked by
 * Debezium's precedence: LAST for the very last row of the snapshot, else
 * FIRST for its very first row, else LAST_IN_DATA_COLLECTION for the last
 * row of a table, else FIRST_IN_DATA_COLLECTION for the first row of a
 * table, else TRUE. cdc_debezium_snapshot_row() below works these out; a
 * caller of cdc_debezium_change() who knows the order may pass them
 * itself. The numbers are stable.
 */
typedef enum cdc_debezium_snapshot {
    CDC_DEBEZIUM_SNAPSHOT_FALSE = 0,
    CDC_DEBEZIUM_SNAPSHOT_TRUE = 1,
    CDC_DEBEZIUM_SNAPSHOT_FIRST = 2,
    CDC_DEBEZIUM_SNAPSHOT_FIRST_IN_DATA_COLLECTION = 3,
    CDC_DEBEZIUM_SNAPSHOT_LAST_IN_DATA_COLLECTION = 4,
    CDC_DEBEZIUM_SNAPSHOT_LAST = 5,
    CDC_DEBEZIUM_SNAPSHOT_INCREMENTAL = 6,
} cdc_debezium_snapshot;

/* What a record is. The numbers are stable. */
typedef enum cdc_debezium_record_kind {
    CDC_DEBEZIUM_RECORD_CHANGE = 0,        /* a row change: <prefix>.<db>.<table> */
    CDC_DEBEZIUM_RECORD_TOMBSTONE = 1,     /* after a delete: same topic and key, NULL value */
    CDC_DEBEZIUM_RECORD_TRANSACTION = 2,   /* BEGIN/END: <prefix>.transaction */
    CDC_DEBEZIUM_RECORD_SCHEMA_CHANGE = 3, /* DDL: <prefix> */
    CDC_DEBEZIUM_RECORD_HEARTBEAT = 4,     /* __debezium-heartbeat.<prefix> */
} cdc_debezium_record_kind;

/*
 * Makes a renderer with every option at its default (docs/debezium.md).
 * topic.prefix has no default: it must be set before the first rendering
 * call, which otherwise fails with CDC_ERR_CONFIG. alloc may be NULL.
 * Returns CDC_OK, CDC_ERR_INVALID (out is NULL) or CDC_ERR_NOMEM, with a
 * message in err (errlen bytes; may be NULL/0).
 */
CDC_EXTERN int cdc_debezium_new(cdc_debezium **out, const cdc_allocator *alloc, char *err,
                                size_t errlen);
/* Frees the renderer and its records. NULL is fine. */
CDC_EXTERN void cdc_debezium_free(cdc_debezium *dz);

/*
 * Sets one option, by Debezium's name, to a NUL-terminated value; NULL
 * restores the default. The options (docs/debezium.md has the full
 * table): topic.prefix, topic.delimiter, topic.transaction,
 * topic.heartbeat.prefix, connector (mysql|mariadb), source.version,
 * decimal.handling.mode (precise|string|double), time.precision.mode
 * (adaptive_time_microseconds|connect), bigint.unsigned.handling.mode
 * (long|precise), binary.handling.mode (bytes|base64|base64-url-safe|hex),
 * schemas.enable (the JsonConverter's; for keys and values; or
 * key.converter.schemas.enable / value.converter.schemas.enable alone),
 * tombstones.on.delete, provide.transaction.metadata,
 * include.schema.changes, include.schema.comments (column and table
 * comments in tableChanges; default false), skipped.operations (c,u,d,t or none),
 * column.exclude.list, column.include.list, column.truncate.to.N.chars,
 * column.mask.with.N.chars, column.mask.hash[.v2].ALG.with.salt.SALT
 * (ALG SHA-1, SHA-256 or SHA-512), message.key.columns.
 * Booleans take true/false. Column lists are comma-separated regular
 * expressions (POSIX extended, case-insensitive) matched against the whole of
 * "<db>.<table>.<column>"; message.key.columns is
 * "<db>.<table>:<col>,<col>;..." with the table part a regular expression.
 *
 * Options may be set at any time; a change clears the cached schemas.
 * Returns CDC_OK, CDC_ERR_CONFIG (unknown key or a bad value: the message
 * in err names both, and the choices) or CDC_ERR_NOMEM. On error the old
 * value is kept.
 */
CDC_EXTERN int cdc_debezium_set(cdc_debezium *dz, const char *key, const char *value, char *err,
                                size_t errlen);

/*
 * 1 if key is an option cdc_debezium_set() accepts (the family keys
 * column.truncate.to.N.chars, column.mask.with.N.chars and
 * column.mask.hash.ALG.with.salt.SALT included), else 0. For hosts that
 * take a whole Debezium connector configuration and route each key.
 * Thread-safe.
 */
CDC_EXTERN int cdc_debezium_is_option(const char *key);

/*
 * Where the `tableChanges` of schema-change records come from. With a
 * configuration set (its connection keys: host, port, user, password,
 * ssl.*, timeouts; docs/configuration.md), cdc_debezium_schema_change()
 * reads the definition of each table the statement creates, alters or
 * renames from the server's information_schema, over a connection of the
 * renderer's own, opened at the first such statement and kept (a broken
 * one is opened again once per statement). This is the renderer's only
 * I/O; without a source (the default, or cfg NULL) tableChanges is an
 * empty array and no call does I/O. The definition is the table as it is
 * when the record is rendered, not as it was right after the statement:
 * a host that renders a backlog holding later DDL of the same table sees
 * the later definition (docs/debezium.md). cfg is copied. Returns CDC_OK,
 * CDC_ERR_INVALID (dz NULL) or CDC_ERR_NOMEM.
 */
CDC_EXTERN int cdc_debezium_set_source(cdc_debezium *dz, const cdc_config *cfg, char *err, size_t errlen);

/*
 * A clock for the envelope's ts_ms/ts_us/ts_ns (Debezium: when the
 * connector processed the event) and for heartbeats: nanoseconds since
 * the epoch. NULL restores the system clock (CLOCK_REALTIME). Tests use it
 * to make output reproducible.
 */
typedef int64_t (*cdc_debezium_clock_cb)(void *ud);
CDC_EXTERN void cdc_debezium_set_clock(cdc_debezium *dz, cdc_debezium_clock_cb cb, void *ud);

/* ---- rendering ------------------------------------------------------------
 *
 * Each call replaces the renderer's records with those it makes and
 * returns how many (>= 0), or a negative cdc_error with
 * cdc_debezium_errmsg() naming what failed (the table, the column and its
 * type, the value's problem). After an error the renderer holds no
 * records and stays usable.
 */

/*
 * The records of one row change (cdc/binlog.h; snapshot rows have op
 * 'r'), with `snapshot` for source.snapshot:
 *   op c, u, r: one CHANGE record;
 *   op u where the key columns changed: a DELETE record for the old key,
 *     a tombstone (tombstones.on.delete), then a CREATE record for the new
 *     key, as Debezium does for primary-key updates;
 *   op d: a CHANGE record, then a TOMBSTONE (tombstones.on.delete);
 *   an operation listed in skipped.operations: none.
 * Inside a transaction opened with cdc_debezium_begin() and with
 * provide.transaction.metadata=true, the value carries the transaction
 * block and the change is counted for the END record.
 * Errors: CDC_ERR_CONFIG (topic.prefix not set), CDC_ERR_INVALID (c is
 * NULL, has an op this renderer does not know, or an unknown snapshot
 * marker), CDC_ERR_SCHEMA (a value of another kind than its column's
 * type), CDC_ERR_CORRUPT (a value that cannot be rendered: malformed
 * decimal digits, a POINT whose WKB is no point), CDC_ERR_CHARSET,
 * CDC_ERR_NOMEM.
 */
CDC_EXTERN ptrdiff_t cdc_debezium_change(cdc_debezium *dz, const cdc_change *c,
                                         cdc_debezium_snapshot snapshot);

/*
 * Snapshot rows with source.snapshot set as Debezium sets it (see
 * cdc_debezium_snapshot above). Whether a row is the last of its table,
 * or of the snapshot, is known only when the next row (or the end) comes,
 * so the renderer holds each snapshot row back:
 *
 *   cdc_debezium_snapshot_row(dz, c)  renders row c (op 'r', the stream's
 *       snapshot callback) and keeps its records; returns the records of
 *       the row before it, its marker now final (0 records for the
 *       snapshot's first row).
 *   cdc_debezium_snapshot_end(dz)     returns the held row's records,
 *       marked LAST (0 when no row was held), and forgets the snapshot:
 *       the next snapshot_row() starts a new one. Call it from the
 *       stream's snapshot-done callback, before that point's checkpoint.
 *   cdc_debezium_snapshot_reset(dz)   forgets the held row and the
 *       snapshot without returning anything (a snapshot that is taken
 *       again from its start).
 *
 * Rows of one table must come together; tables are told apart by database
 * and table name. The held records live in the renderer, apart from the
 * records of other calls: cdc_debezium_change(), begin, commit, ... may
 * be called between two snapshot rows. Errors as cdc_debezium_change();
 * after an error the held row is still held.
 */
CDC_EXTERN ptrdiff_t cdc_debezium_snapshot_row(cdc_debezium *dz, const cdc_change *c);
CDC_EXTERN ptrdiff_t cdc_debezium_snapshot_end(cdc_debezium *dz);
CDC_EXTERN void cdc_debezium_snapshot_reset(cdc_debezium *dz);

/*
 * A transaction begins. id is Debezium's transaction id: the GTID when
 * the server has one ("3e11fa47-71ca-11e1-9e33-c80aa9429562:23",
 * "0-1-42"), else "file=<binlog file>,pos=<offset of the transaction's
 * first event>". ts_ms: the commit time the binlog records. Returns 1
 * (a BEGIN record) with provide.transaction.metadata=true, else 0.
 * CDC_ERR_INVALID for a NULL or empty id; a begin inside an open
 * transaction ends that one silently first.
 */
CDC_EXTERN ptrdiff_t cdc_debezium_begin(cdc_debezium *dz, const char *id, int64_t ts_ms);

/*
 * source.thread of the changes that follow, until the next
 * cdc_debezium_begin() (which forgets it): the thread id of the
 * transaction's BEGIN query event (its body's first 4 bytes, little-endian).
 * -1, the default, writes null.
 */
CDC_EXTERN void cdc_debezium_set_thread(cdc_debezium *dz, int64_t thread);

/*
 * The open transaction commits: 1 (an END record with event_count and
 * per-table data_collections) with provide.transaction.metadata=true,
 * else 0. Without an open transaction: 0.
 */
CDC_EXTERN ptrdiff_t cdc_debezium_commit(cdc_debezium *dz, int64_t ts_ms);

/*
 * A DDL statement (the stream's DDL callback, or a decoder's query
 * callback): one SCHEMA_CHANGE record keyed by databaseName, with the
 * statement in `ddl` and the source block of the query event; 0 records
 * with include.schema.changes=false. `tableChanges` has one entry per
 * table the statement creates (CREATE), alters, renames or indexes
 * (ALTER; a rename's id is "old","new") or drops (DROP, table null),
 * each table's definition read from information_schema when a source is
 * set (cdc_debezium_set_source()); without one, and for statements that
 * change no table, it is an empty array. Besides the errors of
 * cdc_debezium_change(): the connection's or query's error
 * (CDC_ERR_CONNECT, CDC_ERR_AUTH, CDC_ERR_PRIVILEGE, ...) when a
 * definition cannot be read, naming the table.
 */
CDC_EXTERN ptrdiff_t cdc_debezium_schema_change(cdc_debezium *dz, const cdc_query *q,
                                                cdc_debezium_snapshot snapshot);

/* A heartbeat: one HEARTBEAT record, key {"serverName": prefix}, value
 * {"ts_ms": ts_ms} (ts_ms <= 0: the renderer's clock). */
CDC_EXTERN ptrdiff_t cdc_debezium_heartbeat(cdc_debezium *dz, int64_t ts_ms);

/*
 * Record i of the last rendering call: its topic, key and value (any out
 * pointer may be NULL). Returns the record's cdc_debezium_record_kind
 * (>= 0), or CDC_ERR_INVALID when i is out of range. Valid until the next
 * rendering call.
 */
CDC_EXTERN int cdc_debezium_record(const cdc_debezium *dz, size_t i, cdc_bytes *topic,
                                   cdc_bytes *key, cdc_bytes *value);
/* How many records the last rendering call made. */
CDC_EXTERN size_t cdc_debezium_record_count(const cdc_debezium *dz);

/* The last error's message ("" when none). Valid until the next call on dz. */
CDC_EXTERN const char *cdc_debezium_errmsg(const cdc_debezium *dz);

#ifdef __cplusplus
}
#endif
#endif /* CDC_DEBEZIUM_H */
