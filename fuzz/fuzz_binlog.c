/*
 * fuzz_binlog: the decoder behind valid framing. The input is a list of
 * event bodies; the harness writes the magic, a FORMAT_DESCRIPTION and
 * each body inside a correct header (size, log_pos) with a correct CRC32,
 * so a mutation of a body reaches the table-map, row and type decoders
 * instead of dying at the checksum or the size check.
 *
 * Input:
 *   byte 0     options: bit 0 MariaDB 10.5 FDE (else MySQL 8.0.31),
 *              bit 1 no checksums (FDE algorithm OFF, no trailers),
 *              bit 2 EVENTS mode with a leading fake ROTATE (else FILE),
 *              bits 3-5 the chunk size the stream is fed in,
 *              bit 6 every callback pauses
 *   records    type(1) length(2, LE) body(length; cut at the end of input)
 *              Type 40 (TRANSACTION_PAYLOAD): body byte 0 bit 0 picks
 *              compression NONE (else zstd), the rest is a list of records
 *              framed as inner events (no checksum) and compressed.
 *
 * fuzz/tools/binlog_seeds.py turns real binlog files into such inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include <cdc/cdc.h>

#include "decoder.h"
#include "output.h"
#include "util.h"
#include "binlog_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lenenc(cdc__buf *b, uint64_t v, bool *failed)
{
    uint8_t t[9];
    size_t n;
    if (v < 251) { t[0] = (uint8_t)v; n = 1; }
    else if (v < 65536) { t[0] = 0xfc; cdc__put_le16(t + 1, (uint16_t)v); n = 3; }
    else if (v < 16777216) { t[0] = 0xfd; cdc__put_le24(t + 1, (uint32_t)v); n = 4; }
    else { t[0] = 0xfe; cdc__put_le64(t + 1, v); n = 9; }
    if (cdc__buf_append(b, t, n)) *failed = true;
}

static void field(cdc__buf *b, uint64_t type, uint64_t v, bool *failed)
{
    cdc__buf tmp;
    cdc__buf_init(&tmp, NULL);
    lenenc(&tmp, v, failed);
    lenenc(b, type, failed);
    lenenc(b, tmp.len, failed);
    if (cdc__buf_append(b, tmp.data, tmp.len)) *failed = true;
    cdc__buf_free(&tmp);
}

static void records(writer *w, const uint8_t *p, size_t n, bool crc, int depth);

/* TRANSACTION_PAYLOAD: the inner events compressed behind the fields. */
static void payload(writer *w, const uint8_t *p, size_t n, bool crc, int depth)
{
    bool none = n && (p[0] & 1);
    writer inner = {.crc = false};
    cdc__buf_init(&inner.out, NULL);
    if (n) records(&inner, p + 1, n - 1, false, depth + 1);
    const uint8_t *raw = inner.out.data;
    size_t raw_len = inner.out.len;
    uint8_t *z = NULL;
    size_t zlen = raw_len;
    if (!none) {
        size_t cap = ZSTD_compressBound(raw_len);
        z = malloc(cap ? cap : 1);
        if (z) zlen = ZSTD_compress(z, cap, raw, raw_len, 1);
        if (!z || ZSTD_isError(zlen)) w->failed = true;
    }
    cdc__buf body;
    cdc__buf_init(&body, NULL);
    bool failed = inner.failed;
    field(&body, 1, zlen, &failed);
    field(&body, 2, none ? 255 : 0, &failed);
    field(&body, 3, raw_len, &failed);
    lenenc(&body, 0, &failed);
    if (!w->failed && !failed && cdc__buf_append(&body, none ? raw : z, zlen)) failed = true;
    if (failed) w->failed = true;
    else event(w, TYPE_PAYLOAD, body.data, body.len, crc);
    cdc__buf_free(&body);
    cdc__buf_free(&inner.out);
    free(z);
}

static void records(writer *w, const uint8_t *p, size_t n, bool crc, int depth)
{
    size_t off = 0;
    while (n - off >= 3 && !w->failed) {
        uint8_t type = p[off];
        size_t len = cdc__le16(p + off + 1);
        off += 3;
        if (len > n - off) len = n - off;
        if (type == TYPE_PAYLOAD && depth < MAX_DEPTH) payload(w, p + off, len, crc, depth);
        else event(w, type, p + off, len, crc);
        off += len;
    }
}

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

static int on_txn(const cdc_event *e, void *ud)
{
    (void)e;
    return ((ctx *)ud)->pause ? CDC_ERR_PAUSED : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t chunks[8] = {0, 1, 3, 7, 19, 64, 512, 4096};
    if (size < 1 || size > (1u << 20)) return 0;
    uint8_t opt = data[0];
    bool maria = opt & 1, crc = !(opt & 2), events = opt & 4;
    writer w = {.crc = crc};
    cdc__buf_init(&w.out, NULL);
    if (!events) put(&w, "\xfe" "bin", 4);
    if (events) {
        /* The fake ROTATE a dump starts with: position 4, then the name. */
        uint8_t rot[8 + 11];
        cdc__put_le64(rot, 4);
        memcpy(rot + 8, "fuzz.000001", 11);
        event(&w, TYPE_ROTATE, rot, sizeof rot, false);
        memset(w.out.data + 13, 0, 4); /* fake events have log_pos 0 */
    }
    fde(&w, maria, crc);
    records(&w, data + 1, size - 1, crc, 0);
    if (w.failed) {
        cdc__buf_free(&w.out);
        return 0;
    }

    ctx x = {.pause = (opt >> 6) & 1};
    cdc__buf_init(&x.out, NULL);
    cdc_decoder *d;
    if (cdc_decoder_new(&d, NULL, NULL, 0)) {
        cdc__buf_free(&w.out);
        return 0;
    }
    cdc__decoder_set_max_event(d, 1u << 20);
    cdc_decoder_set_mode(d, events ? CDC_DECODER_EVENTS : CDC_DECODER_FILE);
    cdc_decoder_set_position(d, "fuzz.000001", 0);
    cdc_decoder_set_change_cb(d, on_change, &x);
    cdc_decoder_set_event_cb(d, on_event, &x);
    cdc_decoder_set_begin_cb(d, on_txn, &x);
    cdc_decoder_set_commit_cb(d, on_txn, &x);
    size_t chunk = chunks[(opt >> 3) & 7];
    const uint8_t *s = w.out.data;
    size_t n = w.out.len, off = 0;
    while (off < n) {
        size_t k = chunk && n - off > chunk ? chunk : n - off;
        ptrdiff_t r = cdc_decoder_feed(d, s + off, k);
        if (r < 0) break;
        off += (size_t)r;
    }
    cdc_decoder_finish(d);
    cdc_decoder_free(d);
    cdc__buf_free(&x.out);
    cdc__buf_free(&w.out);
    return 0;
}
