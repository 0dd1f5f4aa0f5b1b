/*
 * signal_data.h: Debezium's signal data, the JSON of a signal-table row's
 * data column (docs/snapshot.md, "Incremental snapshots"):
 *
 *     {"data-collections": ["db.table", ...],
 *      "additional-conditions": [{"data-collection": "db.table", "filter": "SQL"}, ...],
 *      "type": "incremental"}
 *
 * with the older single "additional-condition" (one filter for every
 * table) also read. Pure parsing, no I/O; incremental.c acts on it.
 * Internal; not installed.
 */
#ifndef CDC_SIGNAL_DATA_H
#define CDC_SIGNAL_DATA_H

#include "util.h"

/*
 * Parses json (len bytes): add() receives each table of
 * "data-collections" in order with its filter ("additional-conditions"
 * for that table, else "additional-condition", else NULL); a non-zero
 * return of add() ends the parse and is returned. type receives "type"
 * ("" when absent), truncated to type_cap. Empty text is no tables.
 * CDC_ERR_INVALID names what is wrong and the byte offset, for bad JSON
 * or members of the wrong type; CDC_ERR_NOMEM.
 */
int cdc__signal_data_parse(const char *json, size_t len, char *type, size_t type_cap,
                           int (*add)(const char *table, const char *cond, void *ud), void *ud,
                           const cdc_allocator *a, cdc__err *err);

#endif /* CDC_SIGNAL_DATA_H */
