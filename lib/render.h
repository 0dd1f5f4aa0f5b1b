/*
 * render.h: pieces of the canonical JSON rendering (render.c) that the
 * JSON codec and the public value API share. Internal; not installed.
 */
#ifndef CDC_RENDER_H
#define CDC_RENDER_H

#include "value.h"

/* Appends a JSON string literal of UTF-8 text, escaping '"', '\\' and
 * control characters and replacing invalid UTF-8 with U+FFFD. */
int cdc__render_utf8_string(cdc_buf *out, const uint8_t *s, size_t len);
/* True if s[0..len) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool cdc__utf8_valid(const uint8_t *s, size_t len);
/* Appends a JSON string literal of text in collation `charset` (0:
 * unknown, taken as UTF-8); CDC_ERR_CHARSET if no converter exists. */
int cdc__render_text(cdc_buf *out, const uint8_t *s, size_t len, unsigned charset, cdc_err *err);
/* Appends "<base64>" (standard alphabet, padded), quotes included. */
int cdc__render_base64(cdc_buf *out, const uint8_t *p, size_t len);
/* Shortest decimal text that reads back as the same double/float;
 * non-finite values give "null". buf needs 40 bytes. Returns length. */
size_t cdc__fmt_double(char *buf, double d);
size_t cdc__fmt_float(char *buf, float f);

#endif /* CDC_RENDER_H */
