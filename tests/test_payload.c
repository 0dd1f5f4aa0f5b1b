/*
 * test_payload.c: TRANSACTION_PAYLOAD fields and the zstd stream
 * (payload.c).
 *
 * The fields follow MySQL's Transaction_payload_event: (type, length,
 * value) triples of length-encoded integers, type 1 the compressed size,
 * 2 the compression (0 zstd, 255 none), 3 the uncompressed size, 0 the
 * end mark. The real payloads are those of two fixtures written by MySQL
 * 8.0 servers (binlog_transaction_compression=ON): their fields must add
 * up with the event size from the event header (19 + fields + payload +
 * 4-byte CRC32), and the decompressed bytes must be exactly the announced
 * number of bytes and a chain of whole events (each header's size field
 * leading to the next), whose types the fixtures' EXPECTED.md gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <zstd.h>

#include "payload.h"
#include "valtest.h"

static int parse_hex(const char *hex, cdc__payload_fields *f, cdc__err *err)
{
    uint8_t b[128];
    size_t n = vt_unhex(hex, b, sizeof b);
    cdc__err_clear(err);
    return cdc__payload_fields_parse(b, n, f, err);
}

static void test_fields(void **state)
{
    (void)state;
    cdc__payload_fields f;
    cdc__err err;
    /* transaction_compression.000001 at 274: zstd, 179 bytes, 124 compressed */
    assert_int_equal(parse_hex("02 01 00 03 01 b3 01 01 7c 00", &f, &err), CDC_OK);
    assert_int_equal(f.compression, CDC__PAYLOAD_ZSTD);
    assert_int_equal(f.uncompressed_size, 179);
    assert_int_equal(f.payload_size, 124);
    assert_int_equal(f.fields_len, 10);
    /* 3-byte length-encoded values (0xfc prefix) */
    assert_int_equal(parse_hex("02 01 00 03 03 fc dc 4e 01 03 fc 18 03 00", &f, &err), CDC_OK);
    assert_int_equal(f.uncompressed_size, 0x4edc);
    assert_int_equal(f.payload_size, 0x318);
    assert_int_equal(f.fields_len, 14);
    /* no compression; an unknown field type is skipped by its length */
    assert_int_equal(parse_hex("09 02 aa bb 02 03 fc ff 00 01 01 05 00", &f, &err), CDC_OK);
    assert_int_equal(f.compression, CDC__PAYLOAD_NONE);
    assert_int_equal(f.payload_size, 5);

    /* every prefix of valid fields asks for more bytes */
    uint8_t b[16];
    size_t n = vt_unhex("02 01 00 03 03 fc dc 4e 01 03 fc 18 03 00", b, sizeof b);
    for (size_t k = 0; k < n; k++) {
        cdc__err_clear(&err);
        assert_int_equal(cdc__payload_fields_parse(b, k, &f, &err), CDC_ERR_TRUNCATED);
    }
    /* the end mark without a size or without a compression */
    assert_int_equal(parse_hex("02 01 00 00", &f, &err), CDC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "size or compression field missing"));
    assert_int_equal(parse_hex("01 01 05 00", &f, &err), CDC_ERR_CORRUPT);
    /* a compression MySQL does not write */
    assert_int_equal(parse_hex("02 01 07 01 01 05 00", &f, &err), CDC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "compression type 7"));
    /* a known field whose length disagrees with its value, or is absurd */
    assert_int_equal(parse_hex("01 02 05 00 02 01 00 00", &f, &err), CDC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "length mismatch"));
    assert_int_equal(parse_hex("01 0a 05 00", &f, &err), CDC_ERR_CORRUPT);
    /* no end mark in the first CDC__PAYLOAD_FIELDS_MAX bytes */
    uint8_t junk[CDC__PAYLOAD_FIELDS_MAX + 8];
    for (size_t i = 0; i + 2 < sizeof junk; i += 3) { junk[i] = 9; junk[i + 1] = 1; junk[i + 2] = 0; }
    cdc__err_clear(&err);
    int rc = cdc__payload_fields_parse(junk, sizeof junk, &f, &err);
    assert_int_equal(rc, CDC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "no end mark"));
}

/* Decompresses body[0..n) fed in pieces of `piece` bytes; returns the
 * stream's error or CDC_OK with the output in *out (test_malloc'd). */
static int run_stream(int compression, const uint8_t *body, size_t n, size_t piece, uint8_t **out, size_t *out_len,
                      cdc__err *err)
{
    cdc__payload_stream s;
    cdc__payload_init(&s, &vt_alloc);
    cdc__err_clear(err);
    int rc = cdc__payload_begin(&s, compression, err);
    size_t cap = 1 << 16, len = 0;
    uint8_t *o = test_malloc(cap);
    for (size_t off = 0; rc == CDC_OK && off <= n;) {
        const uint8_t *in = body + off;
        size_t k = n - off < piece ? n - off : piece, left = k;
        ptrdiff_t got;
        do {
            got = cdc__payload_step(&s, &in, &left, err);
            if (got < 0) { rc = (int)got; break; }
            /* take everything produced, as the decoder frames it */
            if (len + s.out.len - s.out_off > cap) {
                while (len + s.out.len - s.out_off > cap) cap *= 2;
                o = test_realloc(o, cap);
            }
            memcpy(o + len, s.out.data + s.out_off, s.out.len - s.out_off);
            len += s.out.len - s.out_off;
            s.out_off = s.out.len;
            cdc__payload_compact(&s);
        } while (got > 0 || (left && rc == CDC_OK));
        off += k;
        if (k == 0) break;
    }
    if (rc == CDC_OK) rc = cdc__payload_end(&s, err);
    cdc__payload_free(&s);
    *out = o;
    *out_len = len;
    return rc;
}

/* The payload of the fixture event at `at`, its fields checked against
 * the event header; the decompressed events' types into types[]. */
static void check_fixture(const char *rel, size_t at, const int *types, size_t ntypes)
{
    size_t n;
    uint8_t *file = vt_fixture(rel, &n);
    const uint8_t *ev = file + at;
    assert_int_equal(ev[4], 40); /* TRANSACTION_PAYLOAD */
    uint32_t size = cdc__le32(ev + 9);
    cdc__payload_fields f;
    cdc__err err;
    cdc__err_clear(&err);
    assert_int_equal(cdc__payload_fields_parse(ev + 19, size - 19 - 4, &f, &err), CDC_OK);
    assert_int_equal(19 + f.fields_len + f.payload_size + 4, size);
    assert_int_equal(f.compression, CDC__PAYLOAD_ZSTD);
    static const size_t pieces[] = {1, 7, 100, 1 << 20};
    for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
        uint8_t *out;
        size_t len;
        int rc = run_stream((int)f.compression, ev + 19 + f.fields_len, f.payload_size, pieces[p], &out, &len, &err);
        if (rc) fail_msg("%s, pieces of %zu: %s", rel, pieces[p], err.msg);
        assert_int_equal(len, f.uncompressed_size);
        size_t off = 0, k = 0;
        while (off < len) {
            assert_true(off + 19 <= len);
            uint32_t esz = cdc__le32(out + off + 9);
            assert_true(esz >= 19 && off + esz <= len);
            if (k < ntypes) assert_int_equal(out[off + 4], types[k]);
            k++;
            off += esz;
        }
        assert_int_equal(off, len);
        assert_int_equal(k, ntypes);
        /* independent of us: zstd's one-shot decompression agrees */
        uint8_t *one = test_malloc(len);
        assert_int_equal(ZSTD_decompress(one, len, ev + 19 + f.fields_len, f.payload_size), len);
        assert_memory_equal(one, out, len);
        test_free(one);
        test_free(out);
    }
    test_free(file);
}

static void test_fixture_payloads(void **state)
{
    (void)state;
    /* EXPECTED.md: QUERY (BEGIN), TABLE_MAP, WRITE_ROWS, XID */
    static const int tc[] = {2, 19, 30, 16};
    check_fixture("rust_mysql_common/transaction_compression.000001", 274, tc, 4);
    /* 100 inserts into t1 in one transaction: BEGIN, then TABLE_MAP and
     * WRITE_ROWS per statement, then XID */
    int md[202];
    md[0] = 2;
    for (int i = 0; i < 100; i++) { md[1 + 2 * i] = 19; md[2 + 2 * i] = 30; }
    md[201] = 16;
    check_fixture("mariadb-server-11.8.6/std_data/mdev35643_mysql_80_binlog.000001", 1468, md, 202);
}

static void test_stream_errors(void **state)
{
    (void)state;
    cdc__err err;
    uint8_t *out;
    size_t len;
    /* compression NONE passes the bytes through */
    static const uint8_t plain[] = "not compressed at all";
    assert_int_equal(run_stream(CDC__PAYLOAD_NONE, plain, sizeof plain, 5, &out, &len, &err), CDC_OK);
    assert_int_equal(len, sizeof plain);
    assert_memory_equal(out, plain, len);
    test_free(out);
    /* bytes that are no zstd frame */
    assert_int_equal(run_stream(CDC__PAYLOAD_ZSTD, plain, sizeof plain, 5, &out, &len, &err), CDC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "TRANSACTION_PAYLOAD: zstd:"));
    test_free(out);
    /* a frame cut short: the stream ends inside it */
    uint8_t src[4000], comp[4096];
    for (size_t i = 0; i < sizeof src; i++) src[i] = (uint8_t)(i * 7 % 251);
    size_t cl = ZSTD_compress(comp, sizeof comp, src, sizeof src, 3);
    assert_false(ZSTD_isError(cl));
    assert_int_equal(run_stream(CDC__PAYLOAD_ZSTD, comp, cl, 64, &out, &len, &err), CDC_OK);
    assert_int_equal(len, sizeof src);
    assert_memory_equal(out, src, len);
    test_free(out);
    assert_int_equal(run_stream(CDC__PAYLOAD_ZSTD, comp, cl - 3, 64, &out, &len, &err), CDC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "ends inside a zstd frame"));
    test_free(out);
    /* a window larger than CDC__PAYLOAD_WINDOW_LOG_MAX is refused, not allocated */
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, CDC__PAYLOAD_WINDOW_LOG_MAX + 1);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0); /* no single-segment frame */
    ZSTD_inBuffer ib = {src, sizeof src, 0};
    ZSTD_outBuffer ob = {comp, sizeof comp, 0};
    assert_false(ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue))); /* size unknown */
    ZSTD_inBuffer none = {NULL, 0, 0};
    assert_int_equal(ZSTD_compressStream2(cc, &ob, &none, ZSTD_e_end), 0);
    size_t big = ob.pos;
    ZSTD_freeCCtx(cc);
    assert_int_equal(run_stream(CDC__PAYLOAD_ZSTD, comp, big, 4096, &out, &len, &err), CDC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "zstd"));
    test_free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_fixture_payloads),
        cmocka_unit_test(test_stream_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
