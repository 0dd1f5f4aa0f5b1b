/*
 * crc32.c: CRC-32 of binlog events. See crc32.h.
 *
 * Every event of a binlog carries a CRC-32 of all its bytes, so checking
 * them reads the whole input once more: through zlib's byte-at-a-time
 * tables that cost about a fifth of all the decoder's instructions.
 * Carry-less multiplication folds 64 bytes per step instead.
 *
 * Folding (reflected bit order, as this CRC is defined): keep four
 * 128-bit lanes; lane X followed, 64 bytes later, by data Y is replaced
 * by X.lo * k1 ^ X.hi * k2 ^ Y, where k1 = x^(512+32) mod P and k2 =
 * x^(512-32) mod P (bit-reflected, shifted by one), which leaves the CRC
 * of the whole unchanged. The four lanes are then folded into one with
 * the 128-bit distance constants k3, k4. The CRC of those last 16 bytes
 * (with a zero register: the message so far is congruent to them) and
 * of the tail shorter than 16 bytes is left to the table path: a few
 * dozen bytes, whatever the event size.
 */
#include "crc32.h"

#include <zlib.h>

uint32_t cdc__crc32_portable(uint32_t crc, const void *p, size_t n)
{
    const uint8_t *s = p;
    /* zlib takes uInt lengths */
    while (n > 0) {
        uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;
        crc = (uint32_t)crc32(crc, s, k);
        s += k;
        n -= k;
    }
    return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

int cdc__crc32_has_clmul(void)
{
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}

__attribute__((target("pclmul,sse4.1"))) static uint32_t crc32_fold(uint32_t crc, const uint8_t *p,
                                                                    size_t n)
{
    /* n >= 64 */
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    __m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
    /* the register's start value counts as if xored into the first 4 bytes */
    x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)~crc));
    p += 64;
    n -= 64;
#define FOLD(x, k, y)                                                                             \
    _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), \
                  y)
    while (n >= 64) {
        x0 = FOLD(x0, k1k2, _mm_loadu_si128((const __m128i *)(const void *)p));
        x1 = FOLD(x1, k1k2, _mm_loadu_si128((const __m128i *)(const void *)(p + 16)));
        x2 = FOLD(x2, k1k2, _mm_loadu_si128((const __m128i *)(const void *)(p + 32)));
        x3 = FOLD(x3, k1k2, _mm_loadu_si128((const __m128i *)(const void *)(p + 48)));
        p += 64;
        n -= 64;
    }
    x0 = FOLD(x0, k3k4, x1);
    x0 = FOLD(x0, k3k4, x2);
    x0 = FOLD(x0, k3k4, x3);
    while (n >= 16) {
        x0 = FOLD(x0, k3k4, _mm_loadu_si128((const __m128i *)(const void *)p));
        p += 16;
        n -= 16;
    }
#undef FOLD
    uint8_t last[16];
    _mm_storeu_si128((__m128i *)(void *)last, x0);
    /* zlib's crc32(~0, ...) runs the table with a zero register */
    uint32_t c = cdc__crc32_portable(0xffffffffu, last, sizeof last);
    return cdc__crc32_portable(c, p, n);
}

uint32_t cdc__crc32_clmul(uint32_t crc, const void *p, size_t n)
{
    if (n < 64 || !cdc__crc32_has_clmul()) return cdc__crc32_portable(crc, p, n);
    return crc32_fold(crc, p, n);
}

uint32_t cdc__crc32(uint32_t crc, const void *p, size_t n)
{
    return cdc__crc32_clmul(crc, p, n);
}

#else

int cdc__crc32_has_clmul(void) { return 0; }
uint32_t cdc__crc32_clmul(uint32_t crc, const void *p, size_t n) { return cdc__crc32_portable(crc, p, n); }
uint32_t cdc__crc32(uint32_t crc, const void *p, size_t n) { return cdc__crc32_portable(crc, p, n); }

#endif
