/*
 * decoder.h: internal knobs of the binlog decoder (cdc/binlog.h) for
 * tests, fuzzers and the stream. Internal; not installed.
 */
#ifndef CDC_DECODER_H
#define CDC_DECODER_H

#include <cdc/binlog.h>

#include "gtid.h"
#include "util.h"

#define CDC__DECODER_MAX_EVENT_DEFAULT ((size_t)1 << 30) /* max_allowed_packet's ceiling */

/* Caps the size of one event (outer, inner or MariaDB-uncompressed). */
void cdc__decoder_set_max_event(cdc_decoder *d, size_t max);
/* GTID set of the last PREVIOUS_GTIDS / GTID_LIST event seen. */
const cdc__gtid_set *cdc__decoder_previous_gtids(const cdc_decoder *d);

/*
 * A snapshot row as a cdc_change (op 'r', after image only: vals and
 * present[i] as a row image has them) positioned at file:offset, handed
 * to cb; returns what cb returns. The snapshot (snapshot.c) uses it so
 * snapshot rows reach the same getters and JSON form as binlog rows.
 */
struct cdc_table;
int cdc__change_snapshot_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present,
                             const char *file, uint64_t offset, int (*cb)(const cdc_change *c, void *ud),
                             void *ud);

/*
 * A made-up row change for tests and tools that need one without a
 * binlog: op 'c', 'u', 'd' or 'r', images as cdc_change_before/after read
 * them (NULL when absent; `pb`/`pa` flag the columns present), position,
 * GTID, server id and commit time as the accessors return them.
 */
typedef struct cdc__change_spec {
    char op;
    const struct cdc_table *t;
    const cdc_value *before, *after;
    const uint8_t *pb, *pa;
    const char *file, *gtid;
    uint64_t offset, row;
    uint32_t server_id;
    int64_t ts_ms;
} cdc__change_spec;
int cdc__change_synth(const cdc__change_spec *spec, int (*cb)(const cdc_change *c, void *ud), void *ud);


#endif /* CDC_DECODER_H */
