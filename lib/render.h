/*
 * render.h: pieces of the canonical JSON rendering (render.c) that the
 * JSON codec and the public value API share. Internal; not installed.
 */
#ifndef CDC_RENDER_H
#define CDC_RENDER_H

#include "jsonw.h" /* string, base64 and number writers, once declared here */
#include "value.h"

/* Appends a JSON string literal of text in collation `charset` (0:
 * unknown, taken as UTF-8); CDC_ERR_CHARSET if no converter exists. */
int cdc__render_text(cdc__buf *out, const uint8_t *s, size_t len, unsigned charset, cdc__err *err);

#endif /* CDC_RENDER_H */
