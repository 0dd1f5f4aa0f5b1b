/*
 * json.h: MySQL's binary JSON format (sql-common/json_binary.cc) and
 * PARTIAL_JSON diffs: rendering to canonical JSON text, and applying a
 * diff to a before image. The diff entry points are declared in value.h.
 * Internal; not installed.
 */
#ifndef CDC_JSON_H
#define CDC_JSON_H

#include "value.h"

/* Deepest nesting of arrays/objects accepted; deeper documents are
 * refused with CDC_ERR_TOO_LARGE (MySQL itself stops at 100). */
#define CDC__JSON_MAX_DEPTH 100

/*
 * Appends the JSON text of the binary document p[0..len) to out. An
 * empty document renders as null (the server logs JSON NULL-like empty
 * values that way). Returns CDC_OK, CDC_ERR_CORRUPT (bad offsets, sizes
 * or types; the message names the byte offset), CDC_ERR_TOO_LARGE
 * (depth), or CDC_ERR_NOMEM.
 */
int cdc__json_render(const uint8_t *p, size_t len, cdc__buf *out, cdc__err *err);

/*
 * Appends JSON text (MariaDB's JSON columns are LONGTEXT) in canonical
 * compact form when it parses as JSON; text that is not JSON is
 * appended as a JSON string, so the output stays well-formed.
 */
int cdc__json_text_render(const uint8_t *p, size_t len, cdc__buf *out, cdc__err *err);

/* Appends {"json_diff":[...]} for a kind=JSON_DIFF value. */
int cdc__json_diff_render(const cdc_value *v, cdc__buf *out, cdc__err *err);

#endif /* CDC_JSON_H */
