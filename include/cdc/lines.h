/*
 * libcdc: change data capture from MySQL and MariaDB binary logs.
 *
 * lines.h: the JSON lines of docs/output.md, the form `cdc dump` and
 * `cdc stream` print, for any host that wants the same text: one JSON
 * object per row change, exact values (docs/values.md).
 *
 * Every call writes into a caller's buffer: buf (cap bytes) receives the
 * text, NUL-terminated, without a newline; *need (if not NULL) receives
 * its size including the NUL. Returns CDC_OK; CDC_ERR_TOO_LARGE when cap
 * is too small (call again with *need bytes; buf then holds nothing
 * useful); CDC_ERR_CHARSET when a text value is in a character set the
 * library cannot convert; CDC_ERR_NOMEM. Rendering reuses no state: the
 * calls are thread-safe for distinct arguments, and take a borrowed
 * change or event only for their duration.
 */
#ifndef CDC_LINES_H
#define CDC_LINES_H

#include <stddef.h>

#include <cdc/binlog.h>
#include <cdc/common.h>
#include <cdc/stream.h>

#ifdef __cplusplus
extern "C" {
#endif

/* {"op","db","table","before","after","pos":{"file","offset","row"},
 *  "gtid","server_id","ts_ms"}: a row change as docs/output.md shows it. */
CDC_EXTERN int cdc_change_json(const cdc_change *c, char *buf, size_t cap, size_t *need);

/* {"event":"QUERY","pos":{...},"server_id":..,"ts":..,"size":..}: any
 * binlog event, as `cdc dump --events` shows it. */
CDC_EXTERN int cdc_event_json(const cdc_event *e, char *buf, size_t cap, size_t *need);

/*
 * The transaction lines of `cdc stream --events` and of batches
 * (docs/output.md, "Transaction lines"), each with the position pos and
 * its checkpoint text (cdc_position_format):
 *   cdc_txn_json: {"event":<event>,"gtid":G|null,"server_id":N,"ts_ms":N,
 *                  "pos":{"file":F,"offset":N},"checkpoint":C}
 *     for event "begin" or "commit" (gtid "" or NULL: null);
 *   cdc_ddl_json: {"event":"ddl","db":D,"sql":S,"gtid":G|null,"pos":..,"checkpoint":C};
 *   cdc_position_json: {"event":<event>,"pos":..,"checkpoint":C}
 *     for "checkpoint" (the safe position moved without a commit) and
 *     "snapshot_done".
 */
CDC_EXTERN int cdc_txn_json(const char *event, const char *gtid, uint32_t server_id, int64_t ts_ms,
                            const cdc_position *pos, char *buf, size_t cap, size_t *need);
CDC_EXTERN int cdc_ddl_json(const cdc_query *q, const cdc_position *pos, char *buf, size_t cap, size_t *need);
CDC_EXTERN int cdc_position_json(const char *event, const cdc_position *pos, char *buf, size_t cap, size_t *need);

/* s[0..len) as a JSON string literal, quotes included, escaped the way the
 * lines escape text (docs/values.md): valid UTF-8 as is, '"' and '\\'
 * escaped, \n \r \t \b \f and \u00XX for the other controls, and U+FFFD
 * for each byte that is not part of valid UTF-8. For names, GTIDs and SQL
 * text a host puts into lines of its own. */
CDC_EXTERN int cdc_json_string(const void *s, size_t len, char *buf, size_t cap, size_t *need);

#ifdef __cplusplus
}
#endif
#endif /* CDC_LINES_H */
