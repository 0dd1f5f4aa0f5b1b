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

#endif /* CDC_DECODER_H */
