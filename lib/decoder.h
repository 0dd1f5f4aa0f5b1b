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

#endif /* CDC_DECODER_H */
