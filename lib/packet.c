/* packet.c: packet framing and the compressed protocol (see packet.h). */
#include "packet.h"

#include <zlib.h>

int cdc__packet_frame(cdc__buf *out, uint8_t *seq, const void *p, size_t n)
{
    const uint8_t *s = p;
    /* Headers first counted, so the buffer grows once. */
    size_t pieces = n / CDC__PKT_MAX + 1;
    int rc = cdc__buf_reserve(out, n + pieces * CDC__PKT_HDR);
    if (rc) return rc;
    for (;;) {
        uint32_t len = n >= CDC__PKT_MAX ? CDC__PKT_MAX : (uint32_t)n;
        uint8_t *h = out->data + out->len;
        cdc__put_le24(h, len);
        h[3] = (*seq)++;
        if (len) { /* an empty payload may come as (NULL, 0): no arithmetic on it */
            memcpy(h + CDC__PKT_HDR, s, len);
            s += len;
        }
        out->len += CDC__PKT_HDR + len;
        n -= len;
        /* A full piece promises another packet, even an empty one. */
        if (len < CDC__PKT_MAX) return CDC_OK;
    }
}

void cdc__deframer_init(cdc__deframer *d, const cdc_allocator *a, size_t max)
{
    memset(d, 0, sizeof *d);
    cdc__buf_init(&d->payload, a);
    d->max = max;
    d->check_seq = true;
}

void cdc__deframer_free(cdc__deframer *d) { cdc__buf_free(&d->payload); }

void cdc__deframer_next(cdc__deframer *d)
{
    cdc__buf_reset(&d->payload);
    d->done = false;
    d->hdr_have = 0;
    d->in_seg = false;
    d->more = false;
}

/* The header of the next packet from in; false while incomplete. */
static bool take_header(cdc__deframer *d, const uint8_t *in, size_t len, size_t *used)
{
    size_t take = CDC__PKT_HDR - d->hdr_have;
    if (take > len) take = len;
    memcpy(d->hdr + d->hdr_have, in, take);
    d->hdr_have = (uint8_t)(d->hdr_have + take);
    *used += take;
    return d->hdr_have == CDC__PKT_HDR;
}

/* After a whole header: checks its sequence id and starts its segment. */
static int start_segment(cdc__deframer *d, cdc__err *err)
{
    uint8_t seq = d->hdr[3];
    if (d->check_seq && seq != d->seq)
        return cdc__err_set(err, CDC_ERR_PROTOCOL, "packet out of order: sequence id %u, expected %u", seq, d->seq);
    d->seq = (uint8_t)(seq + 1);
    d->hdr_have = 0;
    d->in_seg = true;
    d->seg_left = cdc__le24(d->hdr);
    d->more = d->seg_left == CDC__PKT_MAX;
    return CDC_OK;
}

ptrdiff_t cdc__deframer_feed(cdc__deframer *d, const uint8_t *in, size_t len, cdc__err *err)
{
    if (d->done) return cdc__err_set(err, CDC_ERR_STATE, "packet reader: previous payload not taken");
    size_t used = 0;
    while (used < len || (d->in_seg && d->seg_left == 0)) {
        if (!d->in_seg) {
            if (!take_header(d, in + used, len - used, &used)) break;
            int rc = start_segment(d, err);
            if (rc) return rc;
            uint32_t plen = d->seg_left;
            if (d->max && plen > d->max - d->payload.len)
                return cdc__err_set(err, CDC_ERR_TOO_LARGE,
                                    "packet payload of %zu+ bytes exceeds the limit of %zu bytes (max_packet)",
                                    d->payload.len + plen, d->max);
            rc = cdc__buf_reserve(&d->payload, plen);
            if (rc) return cdc__err_set(err, rc, "out of memory for a %u-byte packet", plen);
        }
        size_t take = d->seg_left;
        if (take > len - used) take = len - used;
        if (take) memcpy(d->payload.data + d->payload.len, in + used, take); /* data is NULL while empty */
        d->payload.len += take;
        d->seg_left -= (uint32_t)take;
        used += take;
        if (d->seg_left) break;
        d->in_seg = false;
        if (!d->more) {
            d->done = true;
            break;
        }
    }
    return (ptrdiff_t)used;
}

ptrdiff_t cdc__deframer_stream(cdc__deframer *d, const uint8_t *in, size_t len, size_t max, cdc_bytes *span,
                               bool *end, cdc__err *err)
{
    size_t used = 0;
    *span = (cdc_bytes){in, 0};
    *end = false;
    if (!d->in_seg) {
        if (!take_header(d, in, len, &used)) return (ptrdiff_t)used;
        int rc = start_segment(d, err);
        if (rc) return rc;
    }
    size_t take = d->seg_left;
    if (take > len - used) take = len - used;
    if (take > max) take = max;
    *span = (cdc_bytes){in + used, take};
    used += take;
    d->seg_left -= (uint32_t)take;
    if (!d->seg_left) {
        d->in_seg = false;
        *end = !d->more;
    }
    return (ptrdiff_t)used;
}

void cdc__deframer_commit(cdc__deframer *d, size_t n)
{
    d->payload.len += n;
    d->seg_left -= (uint32_t)n;
    if (d->seg_left) return;
    d->in_seg = false;
    d->done = !d->more;
}

int cdc__zpacket_frame(cdc__buf *out, uint8_t *seq, const uint8_t *s, size_t n, cdc__err *err)
{
    do {
        size_t chunk = n > CDC__PKT_MAX ? CDC__PKT_MAX : n;
        uLongf bound = compressBound((uLong)chunk);
        int rc = cdc__buf_reserve(out, CDC__ZPKT_HDR + (bound > chunk ? bound : chunk));
        if (rc) return cdc__err_set(err, rc, "out of memory compressing a packet");
        uint8_t *h = out->data + out->len;
        uLongf clen = bound;
        bool stored = chunk < CDC__ZPKT_MIN_COMPRESS;
        if (!stored) {
            int zrc = compress2(h + CDC__ZPKT_HDR, &clen, s, (uLong)chunk, Z_DEFAULT_COMPRESSION);
            if (zrc == Z_MEM_ERROR) return cdc__err_set(err, CDC_ERR_NOMEM, "zlib: out of memory");
            /* Incompressible data (or an impossible zlib failure) goes stored;
             * the peer cannot tell the difference. */
            stored = zrc != Z_OK || clen >= chunk || clen > CDC__PKT_MAX;
        }
        if (stored) {
            memcpy(h + CDC__ZPKT_HDR, s, chunk);
            clen = chunk;
        }
        cdc__put_le24(h, (uint32_t)clen);
        h[3] = (*seq)++;
        cdc__put_le24(h + 4, stored ? 0 : (uint32_t)chunk);
        out->len += CDC__ZPKT_HDR + clen;
        s += chunk;
        n -= chunk;
    } while (n);
    return CDC_OK;
}

int cdc__zpacket_unpack(const cdc__zhdr *h, const uint8_t *body, cdc__buf *out, size_t max, cdc__err *err)
{
    size_t want = h->ulen ? h->ulen : h->clen;
    if (max && want > max - (out->len < max ? out->len : max))
        return cdc__err_set(err, CDC_ERR_TOO_LARGE, "compressed packet of %zu bytes exceeds the limit of %zu bytes",
                            want, max);
    int rc = cdc__buf_reserve(out, want);
    if (rc) return cdc__err_set(err, rc, "out of memory for a %zu-byte compressed packet", want);
    if (!h->ulen) {
        if (h->clen) memcpy(out->data + out->len, body, h->clen);
        out->len += h->clen;
        return CDC_OK;
    }
    uLongf got = (uLongf)want;
    int zrc = uncompress(out->data + out->len, &got, body, (uLong)h->clen);
    if (zrc == Z_MEM_ERROR) return cdc__err_set(err, CDC_ERR_NOMEM, "zlib: out of memory");
    if (zrc != Z_OK || got != want)
        return cdc__err_set(err, CDC_ERR_PROTOCOL,
                            "compressed packet (seq %u) does not inflate to its announced %u bytes (zlib %d)",
                            h->seq, h->ulen, zrc);
    out->len += got;
    return CDC_OK;
}
