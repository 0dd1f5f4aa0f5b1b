/*
 * render.h: pieces of the canonical JSON rendering (render.c) that the
 * JSON codec and the public value API share. Internal; not installed.
 */
#ifndef CDC_RENDER_H
#define CDC_RENDER_H

#include <cdc/value.h>

#include "jsonw.h" /* string, base64 and number writers, once declared here */
#include "value.h"

/* Appends a JSON string literal of text in collation `charset` (0:
 * unknown, taken as UTF-8); CDC_ERR_CHARSET if no converter exists. */
int cdc__render_text(cdc__buf *out, const uint8_t *s, size_t len, unsigned charset, cdc__err *err);
/* True when cdc__render_text renders text of collation `charset` by
 * cdc__render_utf8_string as it is (UTF-8, ASCII and unknown ids). */
bool cdc__charset_renders_as_utf8(unsigned charset);

/* The JSON text of a DATE, DATETIME, TIME or TIMESTAMP value, unquoted
 * (TIMESTAMP in UTC with its 'Z'): at most CDC__TEMPORAL_TEXT_MAX + 1
 * bytes written at t. */
size_t cdc__temporal_json_text(const cdc_value *v, char *t);
/* The same text for the value a cell of the table's plan stands for
 * (rows.c plan_cell: DATE, TIME2, DATETIME2, TIMESTAMP2 columns). */
size_t cdc__temporal_cell_json_text(const cdc_cell *cell, char *t);

#endif /* CDC_RENDER_H */
