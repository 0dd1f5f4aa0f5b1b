/* Unit tests for crc32.c: the folding path, the portable path and zlib's
 * crc32() agree on random lengths, alignments and start values, and on
 * every tail length after each number of folded blocks; the folding path
 * in both its encodings (AVX where the CPU has it, and SSE), and its wide
 * roads (256- and 512-bit VPCLMULQDQ) where the CPU has them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "crc32.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* Every road on one message, against zlib. */
static void check_roads(uint32_t start, const uint8_t *m, size_t len)
{
    uint32_t z = (uint32_t)crc32(start, m, (uInt)len);
    assert_int_equal(cdc__crc32_portable(start, m, len), z);
    assert_int_equal(cdc__crc32_clmul(start, m, len), z);
    assert_int_equal(cdc__crc32_clmul_sse(start, m, len), z);
    assert_int_equal(cdc__crc32_clmul_wide(256, start, m, len), z);
    assert_int_equal(cdc__crc32_clmul_wide(512, start, m, len), z);
}

static void test_known_values(void **state)
{
    (void)state;
    /* the CRC-32 check value, and the empty message */
    assert_int_equal(cdc__crc32(0, "123456789", 9), 0xcbf43926u);
    assert_int_equal(cdc__crc32_clmul(0, "123456789", 9), 0xcbf43926u);
    assert_int_equal(cdc__crc32(0, "", 0), 0);
    assert_int_equal(cdc__crc32(0x12345678u, NULL, 0), 0x12345678u);
    /* 1 KiB of zeros and of 0xff, through the folding path */
    static uint8_t z[1024], f[1024];
    memset(f, 0xff, sizeof f);
    assert_int_equal(cdc__crc32(0, z, sizeof z), (uint32_t)crc32(0, z, sizeof z));
    assert_int_equal(cdc__crc32(0, f, sizeof f), (uint32_t)crc32(0, f, sizeof f));
}

static void test_random_lengths_and_alignments(void **state)
{
    (void)state;
    enum { N = 70000 };
    uint8_t *buf = malloc(N + 64);
    assert_non_null(buf);
    for (size_t i = 0; i < N + 64; i++) buf[i] = (uint8_t)next();
    printf("carry-less multiplication: %s\n",
           cdc__crc32_has_avx() ? "used, SSE and AVX encodings" : cdc__crc32_has_clmul() ? "used, SSE encoding"
                                                                                    : "not available here");
    /* the wide roads fall back to the 16-byte one where the CPU lacks
     * them: say so, the test then checks that fallback only */
    printf("VPCLMULQDQ: 256-bit road %s, 512-bit road %s\n",
           cdc__crc32_has_wide(256) ? "tested" : "NOT TESTED (not on this CPU)",
           cdc__crc32_has_wide(512) ? "tested" : "NOT TESTED (not on this CPU)");
    size_t checked = 0;
    for (int round = 0; round < 4000; round++) {
        size_t off = next() % 64;
        /* short lengths often (the tail paths), long ones sometimes */
        size_t len = round % 4 == 0 ? next() % N : next() % 300;
        uint32_t start = round % 3 == 0 ? 0 : next();
        uint32_t z = (uint32_t)crc32(start, buf + off, (uInt)len);
        check_roads(start, buf + off, len);
        assert_int_equal(cdc__crc32(start, buf + off, len), z);
        /* split anywhere, the running CRC is the same */
        size_t cut = len ? next() % len : 0;
        assert_int_equal(cdc__crc32(cdc__crc32(start, buf + off, cut), buf + off + cut, len - cut), z);
        checked += len;
    }
    /* every length 0..600 at every alignment 0..15 (600: the 512-bit
     * road's first fold, its loop and each count of 16-byte steps after) */
    for (size_t off = 0; off < 16; off++)
        for (size_t len = 0; len <= 600; len++) check_roads(0xffffffffu, buf + off, len);
    printf("%zu random bytes checked\n", checked);
    free(buf);
}

/* The fold's last steps: every count of whole 16-byte blocks after the
 * 64-byte lanes (or none) followed by every tail length 0..15, each
 * message in an allocation of exactly its size (the tail's 16-byte load
 * ends at the message's last byte: ASan sees any read past it), random
 * start values; the folding path, the portable path and zlib agree. */
static void test_tails_exact_buffers(void **state)
{
    (void)state;
    size_t n = 0;
    /* up to two steps of the 512-bit road, then 7 16-byte blocks and a tail */
    for (size_t len = 0; len <= 512 + 7 * 16 + 15; len++) {
        for (int round = 0; round < 8; round++) {
            uint8_t *m = malloc(len ? len : 1);
            assert_non_null(m);
            for (size_t i = 0; i < len; i++) m[i] = (uint8_t)next();
            uint32_t start = round == 0 ? 0 : round == 1 ? 0xffffffffu : next();
            check_roads(start, m, len);
            free(m);
            n++;
        }
    }
    /* all-ones and all-zeros tails (the shuffles' zero bytes must not leak) */
    for (size_t len = 16; len < 48; len++) {
        size_t at[] = {len, len + 128, len + 256}; /* also after the wide roads */
        for (size_t j = 0; j < 3; j++) {
            uint8_t *m = malloc(at[j]);
            assert_non_null(m);
            memset(m, 0xff, at[j]);
            check_roads(0, m, at[j]);
            memset(m, 0, at[j]);
            check_roads(0x5a5a5a5au, m, at[j]);
            free(m);
        }
    }
    printf("%zu exact-size messages checked\n", n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_random_lengths_and_alignments),
        cmocka_unit_test(test_tails_exact_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
