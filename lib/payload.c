/*
 * payload.c: TRANSACTION_PAYLOAD fields and streaming zstd. See payload.h.
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createDCtx_advanced: our allocator */
#include "payload.h"

#include <inttypes.h>
#include <zstd.h>
#include <zstd_errors.h>

int cdc__payload_fields_parse(const uint8_t *p, size_t n, cdc__payload_fields *f, cdc__err *err)
{
    memset(f, 0, sizeof *f);
    f->compression = CDC__PAYLOAD_NONE + 1; /* "not seen" */
    bool have_size = false;
    cdc__reader r = cdc__rd(p, n);
    for (;;) {
        uint64_t type = cdc__rd_lenenc(&r, NULL);
        if (r.bad) break;
        if (type == 0) {
            f->fields_len = r.off;
            if (!have_size || f->compression > CDC__PAYLOAD_NONE)
                return cdc__err_set(err, CDC_ERR_CORRUPT,
                                    "TRANSACTION_PAYLOAD: size or compression field missing");
            if (f->compression != CDC__PAYLOAD_ZSTD && f->compression != CDC__PAYLOAD_NONE)
                return cdc__err_set(err, CDC_ERR_UNSUPPORTED,
                                    "TRANSACTION_PAYLOAD: compression type %" PRIu64,
                                    f->compression);
            return CDC_OK;
        }
        uint64_t len = cdc__rd_lenenc(&r, NULL);
        if (r.bad) break;
        if (len > 9 && type <= 3)
            return cdc__err_set(err, CDC_ERR_CORRUPT,
                                "TRANSACTION_PAYLOAD: field %" PRIu64 " has length %" PRIu64,
                                type, len);
        if (type >= 1 && type <= 3) {
            size_t at = r.off;
            uint64_t v = cdc__rd_lenenc(&r, NULL);
            if (r.bad) break;
            if (r.off - at != len)
                return cdc__err_set(err, CDC_ERR_CORRUPT,
                                    "TRANSACTION_PAYLOAD: field %" PRIu64 " length mismatch", type);
            if (type == 1) { f->payload_size = v; have_size = true; }
            else if (type == 2) f->compression = v;
            else f->uncompressed_size = v;
        } else if (len > CDC__PAYLOAD_FIELDS_MAX || !cdc__rd_skip(&r, (size_t)len)) {
            break;
        }
    }
    if (n >= CDC__PAYLOAD_FIELDS_MAX)
        return cdc__err_set(err, CDC_ERR_CORRUPT,
                            "TRANSACTION_PAYLOAD: no end mark in the first %d bytes",
                            CDC__PAYLOAD_FIELDS_MAX);
    return CDC_ERR_TRUNCATED;
}

static void *z_alloc(void *opaque, size_t size) { return cdc__malloc(opaque, size); }
static void z_free(void *opaque, void *p) { cdc__free(opaque, p); }

void cdc__payload_init(cdc__payload_stream *s, const cdc_allocator *a)
{
    memset(s, 0, sizeof *s);
    s->alloc = a;
    cdc__buf_init(&s->out, a);
}

void cdc__payload_free(cdc__payload_stream *s)
{
    if (s->dctx) ZSTD_freeDCtx(s->dctx);
    s->dctx = NULL;
    cdc__buf_free(&s->out);
}

int cdc__payload_begin(cdc__payload_stream *s, int compression, cdc__err *err)
{
    s->compression = compression;
    s->flushing = false;
    s->frame_done = compression == CDC__PAYLOAD_NONE;
    cdc__buf_reset(&s->out);
    s->out_off = 0;
    if (compression == CDC__PAYLOAD_NONE) return CDC_OK;
    if (!s->dctx) {
        ZSTD_customMem cm = {z_alloc, z_free, (void *)s->alloc};
        s->dctx = ZSTD_createDCtx_advanced(cm);
        if (!s->dctx) return cdc__err_set(err, CDC_ERR_NOMEM, "zstd: out of memory");
        ZSTD_DCtx_setParameter(s->dctx, ZSTD_d_windowLogMax, CDC__PAYLOAD_WINDOW_LOG_MAX);
    }
    ZSTD_DCtx_reset(s->dctx, ZSTD_reset_session_only);
    return CDC_OK;
}

ptrdiff_t cdc__payload_step(cdc__payload_stream *s, const uint8_t **in, size_t *in_len,
                            cdc__err *err)
{
    if (cdc__buf_reserve(&s->out, CDC__PAYLOAD_CHUNK) != CDC_OK)
        return cdc__err_set(err, CDC_ERR_NOMEM, "TRANSACTION_PAYLOAD: out of memory");
    if (s->compression == CDC__PAYLOAD_NONE) {
        size_t k = *in_len < CDC__PAYLOAD_CHUNK ? *in_len : CDC__PAYLOAD_CHUNK;
        if (k == 0) return 0;
        memcpy(s->out.data + s->out.len, *in, k);
        s->out.len += k;
        *in += k;
        *in_len -= k;
        return (ptrdiff_t)k;
    }
    if (*in_len == 0 && !s->flushing) return 0;
    ZSTD_inBuffer ib = {*in, *in_len, 0};
    ZSTD_outBuffer ob = {s->out.data + s->out.len, CDC__PAYLOAD_CHUNK, 0};
    size_t zr = ZSTD_decompressStream(s->dctx, &ob, &ib);
    if (ZSTD_isError(zr))
        return cdc__err_set(err,
                            ZSTD_getErrorCode(zr) == ZSTD_error_memory_allocation ? CDC_ERR_NOMEM
                                                                                  : CDC_ERR_CORRUPT,
                            "TRANSACTION_PAYLOAD: zstd: %s", ZSTD_getErrorName(zr));
    *in += ib.pos;
    *in_len -= ib.pos;
    s->out.len += ob.pos;
    /* A full output buffer may mean zstd holds more for us. */
    s->flushing = ob.pos == ob.size;
    s->frame_done = zr == 0;
    return (ptrdiff_t)ob.pos;
}

void cdc__payload_compact(cdc__payload_stream *s)
{
    if (s->out_off == 0) return;
    memmove(s->out.data, s->out.data + s->out_off, s->out.len - s->out_off);
    s->out.len -= s->out_off;
    s->out_off = 0;
}

int cdc__payload_end(cdc__payload_stream *s, cdc__err *err)
{
    if (s->compression == CDC__PAYLOAD_NONE) return CDC_OK;
    /* zstd returns 0 exactly when a frame has been completely decoded and flushed */
    if (!s->frame_done)
        return cdc__err_set(err, CDC_ERR_CORRUPT,
                            "TRANSACTION_PAYLOAD: compressed data ends inside a zstd frame");
    return CDC_OK;
}
