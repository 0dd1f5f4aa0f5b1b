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

/*
 * The end of a change's line after its images,
 *   ,"pos":{"file":F,"offset":O,"row":R},"gtid":G,"server_id":S,"ts_ms":T}
 * is the same for every row of a rows event but R, so cdc__change_render_json
 * makes it once per event into the decoder's cdc__line_tail (cdc_change's
 * tail): `head` is the text up to the row number, `rest` the text after
 * it. The decoder sets head_len to 0 (nothing made) for each rows event;
 * a change without one has its tail written piece by piece.
 */
#define CDC__LINE_TAIL_MAX 320
typedef struct cdc__line_tail {
    uint16_t head_len, rest_len; /* head_len 0: not made for this event yet */
    uint8_t text[CDC__LINE_TAIL_MAX]; /* head then rest */
} cdc__line_tail;
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
