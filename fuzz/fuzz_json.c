/*
 * fuzz_json.c: MySQL binary JSON rendering, MariaDB JSON text, and
 * PARTIAL_JSON diffs (decode, render, apply to a before document).
 *
 * Input: byte 0 picks the mode; for the diff mode bytes 1-2 give the
 * length of the before document that follows, the rest is the diff
 * vector. Every path must end in CDC_OK or a clean error; a rendering
 * that succeeds must be well-formed enough to re-parse as JSON text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "value.h"

static void check_json_text(const cdc__buf *b)
{
    /* what we print must itself be JSON: the text renderer keeps valid
     * JSON as is, so a re-render must give the same bytes */
    cdc__buf again;
    cdc__buf_init(&again, NULL);
    cdc__err err;
    if (cdc__json_text_render(b->data, b->len, &again, &err) != CDC_OK) abort();
    if (again.len != b->len || memcmp(again.data, b->data, b->len) != 0) abort();
    cdc__buf_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t mode = data[0] % 3;
    data++;
    size--;
    cdc__err err;
    cdc__buf out;
    cdc__buf_init(&out, NULL);
    if (mode == 0) {
        if (cdc__json_render(data, size, &out, &err) == CDC_OK) check_json_text(&out);
    } else if (mode == 1) {
        if (cdc__json_text_render(data, size, &out, &err) == CDC_OK) check_json_text(&out);
    } else if (size >= 2) {
        size_t blen = cdc__le16(data);
        data += 2;
        size -= 2;
        if (blen > size) blen = size;
        cdc_value before = {.kind = CDC_K_JSON};
        before.v.b = (cdc_bytes){data, blen};
        /* the diff column value: 4-byte length, then the operations */
        size_t dlen = size - blen;
        uint8_t *col = malloc(dlen + 4);
        if (!col) abort();
        cdc__put_le32(col, (uint32_t)dlen);
        memcpy(col + 4, data + blen, dlen);
        static const cdc_column jc = {.type = CDC_T_JSON, .real_type = CDC_T_JSON, .meta = 4};
        cdc_value diff, after;
        size_t used;
        if (cdc__json_diff_decode(&jc, col, dlen + 4, &diff, &used, &err) == CDC_OK) {
            if (used != dlen + 4) abort();
            if (cdc__value_render_json(&diff, &out, &err) == CDC_OK) check_json_text(&out);
            cdc__buf scratch;
            cdc__buf_init(&scratch, NULL);
            if (cdc__json_diff_apply(&before, &diff, &scratch, &after, &err) == CDC_OK) {
                out.len = 0;
                if (cdc__value_render_json(&after, &out, &err) != CDC_OK) abort();
                check_json_text(&out);
            }
            cdc__buf_free(&scratch);
        }
        free(col);
    }
    cdc__buf_free(&out);
    return 0;
}
