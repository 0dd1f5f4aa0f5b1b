/*
 * fuzz_protocol.c: the wire-protocol parsers on arbitrary bytes. The
 * first byte picks the target:
 *   0  initial handshake, auth switch request, server version string
 *   1  packet stream -> de-framer -> query reply reader (second byte:
 *      bit 0 = CLIENT_DEPRECATE_EOF), plus the single-packet parsers
 *      (binary-protocol rows and the COM_STMT_PREPARE reply too)
 *   2  compressed packet stream -> unpack (with a size limit) -> de-framer
 * Any input must give CDC_OK or a clean error, never a crash or a read
 * out of bounds.
 */
#include <stddef.h>
#include <stdint.h>

#include "handshake.h"
#include "packet.h"
#include "resultset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs every payload of a packet stream through the reply reader. */
static void replies(const uint8_t *s, size_t n, uint32_t caps)
{
    cdc__deframer d;
    cdc__rs rs;
    cdc__err e;
    cdc__deframer_init(&d, NULL, 1 << 20);
    d.check_seq = false;
    cdc__rs_init(&rs, NULL, caps);
    size_t off = 0;
    while (off < n) {
        ptrdiff_t used = cdc__deframer_feed(&d, s + off, n - off, &e);
        if (used < 0) break;
        off += (size_t)used;
        if (!d.done) break;
        const uint8_t *p = d.payload.data;
        size_t len = d.payload.len;
        int ev = cdc__rs_feed(&rs, p, len, &e);
        if (ev < 0) { /* start over, as conn.c would on a new query */
            cdc__rs_free(&rs);
            cdc__rs_init(&rs, NULL, caps);
        }
        /* the single-packet parsers see every payload too */
        cdc__ok ok;
        cdc__coldef col;
        cdc_bytes vals[4];
        (void)cdc__ok_parse(p, len, caps, &ok, &e);
        (void)cdc__coldef_parse(p, len, &col, &e);
        (void)cdc__row_parse(p, len, 4, vals, &e);
        /* binary rows, their column layouts taken from the payload's end */
        uint8_t cls[4];
        for (size_t i = 0; i < 4; i++) cls[i] = (uint8_t)(len > i ? p[len - 1 - i] % 7 : 0);
        (void)cdc__binrow_split(p, len, 4, cls, vals, &e);
        cdc__stmt_info st;
        (void)cdc__stmt_prepare_ok_parse(p, len, &st, &e);
        if (len && p[0] == 0xff) (void)cdc__err_packet(p, len, &e);
        cdc__deframer_next(&d);
    }
    cdc__rs_free(&rs);
    cdc__deframer_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    cdc__err e;
    switch (data[0] % 3) {
    case 0: {
        cdc__handshake hs;
        if (cdc__handshake_parse(p, n, &hs, &e) == CDC_OK)
            (void)cdc__server_version_parse((const char *)hs.server_version.ptr, hs.server_version.len);
        cdc_bytes plugin, sw;
        (void)cdc__auth_switch_parse(p, n, &plugin, &sw, &e);
        (void)cdc__server_version_parse((const char *)p, n);
        break;
    }
    case 1:
        if (n < 1) return 0;
        replies(p + 1, n - 1, CDC__CAPS_WANTED & ~((p[0] & 1) ? 0u : (uint32_t)CDC_CAP_DEPRECATE_EOF));
        break;
    case 2: {
        cdc__buf stream;
        cdc__buf_init(&stream, NULL);
        size_t off = 0;
        while (n - off >= CDC__ZPKT_HDR) {
            cdc__zhdr h = cdc__zhdr_parse(p + off);
            off += CDC__ZPKT_HDR;
            if (h.clen > n - off) break;
            if (cdc__zpacket_unpack(&h, p + off, &stream, 1 << 20, &e) != CDC_OK) break;
            off += h.clen;
        }
        replies(stream.data, stream.len, CDC__CAPS_WANTED);
        cdc__buf_free(&stream);
        break;
    }
    }
    return 0;
}
