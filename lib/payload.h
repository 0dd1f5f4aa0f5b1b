/*
 * payload.h: TRANSACTION_PAYLOAD (MySQL 8.0.20+ binlog_transaction_
 * compression): the payload fields and a zstd stream that turns the
 * compressed body, fed in pieces, into inner events, through a buffer
 * bounded by the largest inner event plus one decompression chunk.
 * Internal.
 */
#ifndef CDC_PAYLOAD_H
#define CDC_PAYLOAD_H

#include "util.h"

#define CDC__PAYLOAD_FIELDS_MAX 64   /* the fields take ~20 bytes; more is corrupt */
#define CDC__PAYLOAD_CHUNK 65536     /* decompressed bytes produced per step */
#define CDC__PAYLOAD_WINDOW_LOG_MAX 27 /* refuse zstd windows above 128 MiB */

enum { CDC__PAYLOAD_ZSTD = 0, CDC__PAYLOAD_NONE = 255 };

typedef struct cdc__payload_fields {
    uint64_t compression;       /* CDC__PAYLOAD_* */
    uint64_t payload_size;      /* compressed bytes after the fields */
    uint64_t uncompressed_size;
    size_t fields_len;          /* bytes the fields took, end mark included */
} cdc__payload_fields;

/* Parses the fields at the start of the body. Returns CDC_OK,
 * CDC_ERR_TRUNCATED when more bytes are needed, or CDC_ERR_CORRUPT /
 * CDC_ERR_UNSUPPORTED with a message. */
int cdc__payload_fields_parse(const uint8_t *p, size_t n, cdc__payload_fields *f, cdc__err *err);

typedef struct cdc__payload_stream {
    const cdc_allocator *alloc;
    void *dctx;                 /* ZSTD_DCtx, created on first use */
    int compression;
    cdc__buf out;                /* decompressed bytes not yet framed into events */
    size_t out_off;             /* start of the unframed bytes in out */
    bool flushing;              /* zstd may hold output without more input */
    bool frame_done;            /* the last step ended a zstd frame */
} cdc__payload_stream;

void cdc__payload_init(cdc__payload_stream *s, const cdc_allocator *a);
void cdc__payload_free(cdc__payload_stream *s);
/* Starts a new payload body. */
int cdc__payload_begin(cdc__payload_stream *s, int compression, cdc__err *err);
/*
 * Decompresses from *in (advancing it and *in_len) into s->out until
 * either one chunk has been produced or the input is used up. Returns
 * the bytes produced (0 when it needs more input) or a negative error.
 */
ptrdiff_t cdc__payload_step(cdc__payload_stream *s, const uint8_t **in, size_t *in_len,
                            cdc__err *err);
/* Drops framed bytes from the front of out. */
void cdc__payload_compact(cdc__payload_stream *s);
/* Checks that the stream ended at the end of a zstd frame. */
int cdc__payload_end(cdc__payload_stream *s, cdc__err *err);

#endif /* CDC_PAYLOAD_H */
