/* Unit tests for packet.c: framing exact bytes, the 0xffffff split with
 * its empty trailer, de-framing fed whole, byte by byte and in odd
 * chunks, sequence and size errors, and the compressed protocol. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "packet.h"

static void test_frame_small(void **state)
{
    (void)state;
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    uint8_t seq = 7;
    assert_int_equal(cdc__packet_frame(&b, &seq, "\x03SELECT 1", 9), CDC_OK);
    const uint8_t want[] = {9, 0, 0, 7, 3, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1'};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    assert_int_equal(seq, 8);
    /* an empty payload is one empty packet; ids wrap at 256 */
    seq = 255;
    cdc__buf_reset(&b);
    assert_int_equal(cdc__packet_frame(&b, &seq, NULL, 0), CDC_OK);
    const uint8_t empty[] = {0, 0, 0, 255};
    assert_memory_equal(b.data, empty, 4);
    assert_int_equal(b.len, 4);
    assert_int_equal(seq, 0);
    cdc__buf_free(&b);
}

/* Header (len, seq) of each packet in a framed buffer. */
static size_t headers(const cdc__buf *b, uint32_t *lens, uint8_t *seqs, size_t max)
{
    size_t n = 0, off = 0;
    while (off < b->len && n < max) {
        lens[n] = cdc__le24(b->data + off);
        seqs[n] = b->data[off + 3];
        off += 4 + lens[n];
        n++;
    }
    assert_int_equal(off, b->len);
    return n;
}

static void test_frame_large(void **state)
{
    (void)state;
    const size_t sizes[] = {CDC__PKT_MAX - 1, CDC__PKT_MAX, CDC__PKT_MAX + 1, 2 * (size_t)CDC__PKT_MAX,
                            20u * 1024 * 1024};
    /* expected packet lengths for each size */
    const uint32_t want[][3] = {{CDC__PKT_MAX - 1}, {CDC__PKT_MAX, 0}, {CDC__PKT_MAX, 1},
                                {CDC__PKT_MAX, CDC__PKT_MAX, 0}, {CDC__PKT_MAX, 20u * 1024 * 1024 - CDC__PKT_MAX}};
    const size_t want_n[] = {1, 2, 2, 3, 2};
    uint8_t *payload = malloc(2 * (size_t)CDC__PKT_MAX);
    assert_non_null(payload);
    for (size_t i = 0; i < 2 * (size_t)CDC__PKT_MAX; i++) payload[i] = (uint8_t)(i * 31 + (i >> 16));
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        cdc__buf b;
        cdc__buf_init(&b, NULL);
        uint8_t seq = 0;
        assert_int_equal(cdc__packet_frame(&b, &seq, payload, sizes[k]), CDC_OK);
        uint32_t lens[4];
        uint8_t seqs[4];
        size_t n = headers(&b, lens, seqs, 4);
        assert_int_equal(n, want_n[k]);
        for (size_t j = 0; j < n; j++) {
            assert_int_equal(lens[j], want[k][j]);
            assert_int_equal(seqs[j], j);
        }
        assert_int_equal(seq, n);
        /* and back, in chunks of 4093 bytes (never aligned to a header) */
        cdc__deframer d;
        cdc__deframer_init(&d, NULL, 0);
        size_t off = 0;
        while (!d.done) {
            size_t chunk = b.len - off < 4093 ? b.len - off : 4093;
            ptrdiff_t used = cdc__deframer_feed(&d, b.data + off, chunk, NULL);
            assert_true(used >= 0);
            off += (size_t)used;
        }
        assert_int_equal(off, b.len);
        assert_int_equal(d.payload.len, sizes[k]);
        assert_memory_equal(d.payload.data, payload, sizes[k]);
        assert_int_equal(d.seq, n);
        cdc__deframer_free(&d);
        cdc__buf_free(&b);
    }
    free(payload);
}

static void test_deframe_byte_by_byte(void **state)
{
    (void)state;
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    uint8_t seq = 0;
    assert_int_equal(cdc__packet_frame(&b, &seq, "hello", 5), CDC_OK);
    assert_int_equal(cdc__packet_frame(&b, &seq, "", 0), CDC_OK);
    assert_int_equal(cdc__packet_frame(&b, &seq, "world!", 6), CDC_OK);
    const char *want[] = {"hello", "", "world!"};
    cdc__deframer d;
    cdc__deframer_init(&d, NULL, 0);
    size_t off = 0;
    for (int k = 0; k < 3; k++) {
        cdc__deframer_next(&d);
        while (!d.done) {
            assert_true(off < b.len);
            ptrdiff_t used = cdc__deframer_feed(&d, b.data + off, 1, NULL);
            assert_true(used == 0 || used == 1);
            off += (size_t)used;
        }
        assert_int_equal(d.payload.len, strlen(want[k]));
        if (d.payload.len) assert_memory_equal(d.payload.data, want[k], d.payload.len);
    }
    assert_int_equal(off, b.len);
    /* fed all at once, it stops after each payload */
    cdc__deframer_next(&d);
    d.seq = 0;
    ptrdiff_t used = cdc__deframer_feed(&d, b.data, b.len, NULL);
    assert_int_equal(used, 9);
    assert_true(d.done);
    cdc__err e;
    assert_int_equal(cdc__deframer_feed(&d, b.data + 9, 1, &e), CDC_ERR_STATE);
    cdc__deframer_free(&d);
    cdc__buf_free(&b);
}

static void test_deframe_errors(void **state)
{
    (void)state;
    cdc__err e;
    cdc__deframer d;
    cdc__deframer_init(&d, NULL, 100);
    /* sequence id 5 where 0 is due */
    const uint8_t bad_seq[] = {1, 0, 0, 5, 'x'};
    assert_int_equal(cdc__deframer_feed(&d, bad_seq, sizeof bad_seq, &e), CDC_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "sequence id 5, expected 0"));
    /* a packet claiming 16 MiB with a 100-byte limit: refused at the header,
     * before any memory is spent */
    cdc__deframer_next(&d);
    d.seq = 0;
    const uint8_t huge[] = {0xff, 0xff, 0xff, 0};
    assert_int_equal(cdc__deframer_feed(&d, huge, sizeof huge, &e), CDC_ERR_TOO_LARGE);
    assert_non_null(strstr(e.msg, "max_packet"));
    assert_null(d.payload.data);
    /* unchecked ids (compressed protocol) pass */
    cdc__deframer_next(&d);
    d.check_seq = false;
    assert_int_equal(cdc__deframer_feed(&d, bad_seq, sizeof bad_seq, &e), 5);
    assert_true(d.done);
    cdc__deframer_free(&d);
}

/* A reader may put a packet's body straight into the payload buffer. */
static void test_deframe_direct(void **state)
{
    (void)state;
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    uint8_t seq = 0;
    size_t n = (size_t)CDC__PKT_MAX + 10;
    uint8_t *payload = malloc(n);
    assert_non_null(payload);
    for (size_t i = 0; i < n; i++) payload[i] = (uint8_t)(i % 251);
    assert_int_equal(cdc__packet_frame(&b, &seq, payload, n), CDC_OK);
    cdc__deframer d;
    cdc__deframer_init(&d, NULL, 0);
    size_t room, off = 0;
    assert_null(cdc__deframer_direct(&d, &room)); /* at a header: nowhere to write */
    assert_int_equal(room, 0);
    while (!d.done) {
        uint8_t *dst = cdc__deframer_direct(&d, &room);
        if (room) {
            size_t k = room > 100000 ? 100000 : room; /* a short read */
            memcpy(dst, b.data + off, k);
            cdc__deframer_commit(&d, k);
            off += k;
        } else {
            ptrdiff_t used = cdc__deframer_feed(&d, b.data + off, 4, NULL); /* one header */
            assert_int_equal(used, 4);
            off += 4;
        }
    }
    assert_int_equal(off, b.len);
    assert_int_equal(d.payload.len, n);
    assert_memory_equal(d.payload.data, payload, n);
    cdc__deframer_direct(&d, &room);
    assert_int_equal(room, 0);
    cdc__deframer_free(&d);
    cdc__buf_free(&b);
    free(payload);
}

static void test_compressed_roundtrip(void **state)
{
    (void)state;
    cdc__err e;
    /* a framed stream: one small packet (stored) and one compressible */
    cdc__buf stream, z, back;
    cdc__buf_init(&stream, NULL);
    cdc__buf_init(&z, NULL);
    cdc__buf_init(&back, NULL);
    uint8_t seq = 0, cseq = 0;
    assert_int_equal(cdc__packet_frame(&stream, &seq, "\x0e", 1), CDC_OK);
    assert_int_equal(cdc__zpacket_frame(&z, &cseq, stream.data, stream.len, &e), CDC_OK);
    /* short: stored, uncompressed length 0 */
    assert_int_equal(z.len, 7 + 5);
    cdc__zhdr h = cdc__zhdr_parse(z.data);
    assert_int_equal(h.clen, 5);
    assert_int_equal(h.seq, 0);
    assert_int_equal(h.ulen, 0);
    assert_int_equal(cseq, 1);
    assert_int_equal(cdc__zpacket_unpack(&h, z.data + 7, &back, 0, &e), CDC_OK);
    assert_int_equal(back.len, stream.len);
    assert_memory_equal(back.data, stream.data, stream.len);

    char big[5000];
    memset(big, 'q', sizeof big);
    cdc__buf_reset(&stream);
    cdc__buf_reset(&z);
    cdc__buf_reset(&back);
    assert_int_equal(cdc__packet_frame(&stream, &seq, big, sizeof big), CDC_OK);
    assert_int_equal(cdc__zpacket_frame(&z, &cseq, stream.data, stream.len, &e), CDC_OK);
    h = cdc__zhdr_parse(z.data);
    assert_int_equal(h.ulen, stream.len);
    assert_true(h.clen < 200); /* really compressed */
    assert_int_equal(h.seq, 1);
    assert_int_equal(z.len, 7 + h.clen);
    assert_int_equal(cdc__zpacket_unpack(&h, z.data + 7, &back, 0, &e), CDC_OK);
    assert_memory_equal(back.data, stream.data, stream.len);

    /* a limit */
    cdc__buf_reset(&back);
    assert_int_equal(cdc__zpacket_unpack(&h, z.data + 7, &back, 100, &e), CDC_ERR_TOO_LARGE);
    /* announced size wrong */
    cdc__zhdr lie = h;
    lie.ulen = h.ulen + 1;
    assert_int_equal(cdc__zpacket_unpack(&lie, z.data + 7, &back, 0, &e), CDC_ERR_PROTOCOL);
    /* corrupt data */
    z.data[7 + 3] ^= 0x55;
    z.data[7 + 4] ^= 0x55;
    cdc__buf_reset(&back);
    assert_int_equal(cdc__zpacket_unpack(&h, z.data + 7, &back, 0, &e), CDC_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "does not inflate"));
    cdc__buf_free(&stream);
    cdc__buf_free(&z);
    cdc__buf_free(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_small),          cmocka_unit_test(test_frame_large),
        cmocka_unit_test(test_deframe_byte_by_byte), cmocka_unit_test(test_deframe_errors),
        cmocka_unit_test(test_deframe_direct),
        cmocka_unit_test(test_compressed_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
