/*
 * output.h: the JSON-lines form of a row change that `cdc dump` and
 * `cdc stream` print (docs/output.md, a documented interface). Internal.
 */
#ifndef CDC_OUTPUT_H
#define CDC_OUTPUT_H

#include <cdc/binlog.h>
#include <cdc/stream.h>

#include "util.h"

/* Appends one JSON object (no newline) for the change c to out:
 * {"op","db","table","before","after","pos":{"file","offset","row"},
 *  "gtid","server_id","ts_ms"} in that order. */
int cdc__change_render_json(const cdc_change *c, cdc__buf *out, cdc__err *err);
/* Appends a one-line JSON object describing any event (--events):
 * {"event":"QUERY","type":2,"pos":{"file","offset"},"server_id":..,"ts":..,
 *  "size":..,"log_pos":..[,"inner":true][,"unknown":true][,"gtid":".."]}. */
int cdc__event_render_json(const cdc_event *e, cdc__buf *out, cdc__err *err);

/*
 * The transaction and position lines (docs/output.md, "Transaction
 * lines"), one form for `cdc stream --events` and batches:
 *   {"event":"begin"|"commit","gtid":G|null,"server_id":N,"ts_ms":N,"pos":P,"checkpoint":C}
 *   {"event":"ddl","db":D,"sql":S,"gtid":G|null,"pos":P,"checkpoint":C}
 *   {"event":"checkpoint"|"snapshot_done","pos":P,"checkpoint":C}
 * P is {"file":F,"offset":N}; C is cdc_position_format()'s text.
 */
int cdc__txn_render_json(cdc__buf *out, const char *event, const char *gtid, uint32_t server_id, int64_t ts_ms,
                         const cdc_position *pos, cdc__err *err);
int cdc__ddl_render_json(cdc__buf *out, const cdc_query *q, const cdc_position *pos, cdc__err *err);
int cdc__position_render_json(cdc__buf *out, const char *event, const cdc_position *pos, cdc__err *err);
#endif /* CDC_OUTPUT_H */
