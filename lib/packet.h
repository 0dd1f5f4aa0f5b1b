/*
 * packet.h: framing of the MySQL client/server protocol, without I/O.
 *
 * A logical payload travels as packets of a 3-byte length and a 1-byte
 * sequence id. A payload of 0xffffff bytes or more is cut into 0xffffff
 * pieces; a piece of exactly 0xffffff bytes says "more follows", so a
 * payload whose length is a multiple of 0xffffff ends with an empty
 * packet. Sequence ids count up (mod 256) within one command exchange.
 *
 * With CLIENT_COMPRESS the packet stream is carried inside compressed
 * packets: 3-byte compressed length, 1-byte compressed sequence id,
 * 3-byte uncompressed length (0 = stored as is), then the (z)data.
 *
 * Internal; not installed. Nothing here keeps global state.
 */
#ifndef CDC_PACKET_H
#define CDC_PACKET_H

#include "util.h"

#define CDC__PKT_MAX 0xffffffu   /* largest payload of one packet */
#define CDC__PKT_HDR 4
#define CDC__ZPKT_HDR 7
/* Below this many bytes the client sends compressed packets stored; zlib
 * would only add overhead. */
#define CDC__ZPKT_MIN_COMPRESS 50

/*
 * Appends payload p[0..n) to out as one or more packets starting with
 * sequence id *seq, and advances *seq past the last packet.
 * CDC_OK or CDC_ERR_NOMEM.
 */
int cdc__packet_frame(cdc__buf *out, uint8_t *seq, const void *p, size_t n);

/*
 * Incremental de-framer: feed it wire bytes in any chunks; it joins the
 * pieces of one logical payload into `payload`, checking sequence ids and
 * a size limit as it goes, so a 1 GiB claim is refused before memory is
 * spent on it.
 */
typedef struct cdc__deframer {
    cdc__buf payload;    /* the logical payload once `done` */
    size_t max;         /* limit on the joined payload; 0 = none */
    uint8_t seq;        /* id the next packet must carry */
    bool check_seq;
    bool done;          /* a whole payload is in `payload` */
    uint8_t hdr[CDC__PKT_HDR];
    uint8_t hdr_have;
    uint32_t seg_left;  /* payload bytes of the current packet still due */
    bool in_seg;
    bool more;          /* current packet was 0xffffff: another follows */
} cdc__deframer;

void cdc__deframer_init(cdc__deframer *d, const cdc_allocator *a, size_t max);
void cdc__deframer_free(cdc__deframer *d);
/* Forget a completed payload and get ready for the next one (keeps the
 * buffer's memory and the expected sequence id). */
void cdc__deframer_next(cdc__deframer *d);
/*
 * Consumes up to len bytes; returns how many were used (stops right after
 * a payload completes, setting d->done), or a negative error:
 * CDC_ERR_PROTOCOL (sequence id out of order), CDC_ERR_TOO_LARGE (over
 * max), CDC_ERR_NOMEM. Feeding while done is CDC_ERR_STATE.
 */
ptrdiff_t cdc__deframer_feed(cdc__deframer *d, const uint8_t *in, size_t len, cdc__err *err);
/* Where the rest of the current packet's payload goes and how many bytes
 * that is (*room = 0 between packets), so a reader can receive large
 * payloads straight into place; cdc__deframer_commit records what it put
 * there (n <= *room). */
static inline uint8_t *cdc__deframer_direct(cdc__deframer *d, size_t *room)
{
    *room = d->in_seg && !d->done ? d->seg_left : 0;
    return *room ? d->payload.data + d->payload.len : NULL;
}
void cdc__deframer_commit(cdc__deframer *d, size_t n);
/*
 * Streaming de-framing, for payloads too large to join: consumes header
 * bytes and hands back the payload bytes of the current packet found in
 * in[0..len), at most max of them, as *span: a view into `in`, nothing
 * copied. Returns the bytes used (header and span) and sets *end when the
 * span finishes a logical payload (a span may be empty: after a header
 * that is not complete yet, or for the empty packet that ends a payload
 * whose length is a multiple of 0xffffff). CDC_ERR_PROTOCOL for a
 * sequence id out of order. The joined `payload` and `max` are not used;
 * do not mix with cdc__deframer_feed inside one payload.
 */
ptrdiff_t cdc__deframer_stream(cdc__deframer *d, const uint8_t *in, size_t len, size_t max, cdc_bytes *span,
                               bool *end, cdc__err *err);

/* ---- compressed protocol ------------------------------------------- */

typedef struct cdc__zhdr {
    uint32_t clen;  /* bytes following the 7-byte header */
    uint8_t seq;
    uint32_t ulen;  /* uncompressed size; 0 means the data is stored */
} cdc__zhdr;

static inline cdc__zhdr cdc__zhdr_parse(const uint8_t h[CDC__ZPKT_HDR])
{
    return (cdc__zhdr){cdc__le24(h), h[3], cdc__le24(h + 4)};
}

/*
 * Wraps the (already framed) packet stream s[0..n) into compressed
 * packets appended to out, starting at compressed sequence *seq. Runs
 * shorter than CDC__ZPKT_MIN_COMPRESS, or that zlib cannot shrink, are
 * stored. CDC_OK, CDC_ERR_NOMEM.
 */
int cdc__zpacket_frame(cdc__buf *out, uint8_t *seq, const uint8_t *s, size_t n, cdc__err *err);

/*
 * Appends the content of one compressed packet (header h, body
 * body[0..h->clen)) to out: inflated when h->ulen > 0, copied otherwise.
 * CDC_ERR_PROTOCOL when the data does not inflate to exactly ulen bytes,
 * CDC_ERR_TOO_LARGE when out would exceed max (0 = no limit), CDC_ERR_NOMEM.
 */
int cdc__zpacket_unpack(const cdc__zhdr *h, const uint8_t *body, cdc__buf *out, size_t max, cdc__err *err);

#endif /* CDC_PACKET_H */
