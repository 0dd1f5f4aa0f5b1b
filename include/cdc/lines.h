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

#ifdef __cplusplus
extern "C" {
#endif

/* {"op","db","table","before","after","pos":{"file","offset","row"},
 *  "gtid","server_id","ts_ms"}: a row change as docs/output.md shows it. */
CDC_EXTERN int cdc_change_json(const cdc_change *c, char *buf, size_t cap, size_t *need);

/* {"event":"QUERY","pos":{...},"server_id":..,"ts":..,"size":..}: any
 * binlog event, as `cdc dump --events` shows it. */
CDC_EXTERN int cdc_event_json(const cdc_event *e, char *buf, size_t cap, size_t *need);

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
