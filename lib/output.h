/*
 * output.h: the JSON-lines form of a row change that `cdc dump` and
 * `cdc stream` print (docs/output.md, a documented interface). Internal.
 */
#ifndef CDC_OUTPUT_H
#define CDC_OUTPUT_H

#include <cdc/binlog.h>

#include "util.h"

/* Appends one JSON object (no newline) for the change c to out:
 * {"op","db","table","before","after","pos":{"file","offset","row"},
 *  "gtid","server_id","ts_ms"} in that order. */
int cdc__change_render_json(const cdc_change *c, cdc__buf *out, cdc__err *err);
/* Appends a one-line JSON object describing any event (--events):
 * {"event":"QUERY","type":2,"pos":{"file","offset"},"server_id":..,"ts":..,
 *  "size":..,"log_pos":..[,"inner":true][,"unknown":true][,"gtid":".."]}. */
int cdc__event_render_json(const cdc_event *e, cdc__buf *out, cdc__err *err);

#endif /* CDC_OUTPUT_H */
