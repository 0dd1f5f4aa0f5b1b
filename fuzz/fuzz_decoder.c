/*
 * fuzz_decoder: the whole binlog decoder on arbitrary bytes. The first
 * byte picks the options: bit 0 EVENTS mode (else FILE), bits 1-3 the
 * chunk size the rest is fed in, bit 4 checksum verification off, bit 5
 * pause in every callback. Rows are rendered to JSON as `cdc dump` does.
 */
#include <stddef.h>
#include <stdint.h>

#include <cdc/cdc.h>

#include "decoder.h"
#include "output.h"
#include "util.h"

typedef struct ctx { cdc__buf out; int pause; } ctx;

static int on_change(const cdc_change *c, void *ud)
{
    ctx *x = ud;
    cdc__err err;
    cdc__buf_reset(&x->out);
    cdc__change_render_json(c, &x->out, &err);
    return x->pause ? CDC_ERR_PAUSED : 0;
}

static int on_event(const cdc_event *e, void *ud)
{
    ctx *x = ud;
    cdc__err err;
    cdc__buf_reset(&x->out);
    cdc__event_render_json(e, &x->out, &err);
    return x->pause ? CDC_ERR_PAUSED : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const size_t chunks[8] = {0, 1, 2, 5, 19, 64, 512, 4096};
    uint8_t opt = data[0];
    data++;
    size--;
    ctx x = {.pause = (opt >> 5) & 1};
    cdc__buf_init(&x.out, NULL);
    cdc_decoder *d;
    if (cdc_decoder_new(&d, NULL, NULL, 0)) return 0;
    cdc__decoder_set_max_event(d, 1u << 20); /* no giant allocations from a forged length */
    cdc_decoder_set_mode(d, (opt & 1) ? CDC_DECODER_EVENTS : CDC_DECODER_FILE);
    cdc_decoder_set_verify_checksums(d, !((opt >> 4) & 1));
    cdc_decoder_set_position(d, "fuzz.000001", 0);
    cdc_decoder_set_change_cb(d, on_change, &x);
    cdc_decoder_set_event_cb(d, on_event, &x);
    size_t chunk = chunks[(opt >> 1) & 7];
    size_t off = 0;
    while (off < size) {
        size_t k = chunk && size - off > chunk ? chunk : size - off;
        ptrdiff_t r = cdc_decoder_feed(d, data + off, k);
        if (r < 0) break;
        off += (size_t)r;
    }
    cdc_decoder_finish(d);
    cdc_decoder_free(d);
    cdc__buf_free(&x.out);
    return 0;
}
