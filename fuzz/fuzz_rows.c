/*
 * fuzz_rows: one TABLE_MAP and one rows event, so the fuzzer spends its
 * time in table metadata and row images rather than in framing. Input:
 * byte 0 picks the rows event type, bytes 1-2 the TABLE_MAP body length
 * (little-endian), then the TABLE_MAP body, then the rows event body.
 * The events are framed in EVENTS mode without checksums.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cdc/cdc.h>

#include "decoder.h"
#include "output.h"
#include "util.h"

static int on_change(const cdc_change *c, void *ud)
{
    cdc__buf *out = ud;
    cdc__err err;
    cdc__buf_reset(out);
    cdc__change_render_json(c, out, &err);
    return 0;
}

static size_t frame(uint8_t *out, uint8_t type, const uint8_t *body, size_t n)
{
    memset(out, 0, 19);
    out[4] = type;
    cdc__put_le32(out + 9, (uint32_t)(19 + n));
    if (n) memcpy(out + 19, body, n);
    return 19 + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t types[8] = {30, 31, 32, 39, 23, 24, 25, 169};
    if (size < 3 || size > (1u << 20)) return 0;
    uint8_t type = types[data[0] & 7];
    size_t tlen = cdc__le16(data + 1);
    if (tlen > size - 3) tlen = size - 3;
    const uint8_t *tm = data + 3, *rows = tm + tlen;
    size_t rlen = size - 3 - tlen;
    uint8_t *buf = malloc(2 * 19 + size);
    if (!buf) return 0;
    size_t n = frame(buf, 19, tm, tlen);
    n += frame(buf + n, type, rows, rlen);
    cdc__buf out;
    cdc__buf_init(&out, NULL);
    cdc_decoder *d;
    if (cdc_decoder_new(&d, NULL, NULL, 0) == CDC_OK) {
        cdc__decoder_set_max_event(d, 1u << 20);
        cdc_decoder_set_mode(d, CDC_DECODER_EVENTS);
        cdc_decoder_set_change_cb(d, on_change, &out);
        if (cdc_decoder_feed(d, buf, n) >= 0) cdc_decoder_finish(d);
        cdc_decoder_free(d);
    }
    cdc__buf_free(&out);
    free(buf);
    return 0;
}
