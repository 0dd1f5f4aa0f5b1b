/*
 * fuzz_decimal.c: exact DECIMAL codec. Bytes 0-1 give precision and
 * scale; the rest is read both as binary digits and as decimal text.
 * Whatever binary renders must parse back to a value that renders the
 * same (text is the round-trip invariant; a stored "-0" normalises).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    unsigned prec = data[0] % 70, scale = data[1] % 34;
    data += 2;
    size -= 2;
    size_t bin = cdc__decimal_bin_size(prec, scale);
    char text[CDC__DECIMAL_TEXT_MAX], again[CDC__DECIMAL_TEXT_MAX];
    uint8_t back[40];
    cdc__err err;
    if (bin && size >= bin) {
        int n = cdc__decimal_to_text(data, prec, scale, text, &err);
        if ((cdc__decimal_check(data, prec, scale, &err) == CDC_OK) != (n >= 0)) abort();
        if (n >= 0) {
            if ((size_t)n != strlen(text) || (size_t)n >= sizeof text) abort();
            if (cdc__decimal_from_text(text, (size_t)n, prec, scale, back, &err) != CDC_OK) abort();
            if (cdc__decimal_to_text(back, prec, scale, again, &err) != n || strcmp(text, again)) abort();
        }
    }
    /* the same bytes as text */
    if (bin && cdc__decimal_from_text((const char *)data, size, prec, scale, back, &err) == CDC_OK) {
        int n = cdc__decimal_to_text(back, prec, scale, text, &err);
        if (n < 0) abort(); /* what we encode must decode */
        if (cdc__decimal_from_text(text, (size_t)n, prec, scale, back, &err) != CDC_OK) abort();
    }
    return 0;
}
