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
 * the 128-bit distance constants k3, k4, and 16 bytes at a time after
 * that. A tail shorter than 16 bytes is one more fold: the last 16 bytes
 * of the message supply the tail, byte shuffles the lane's part. The 128
 * bits left are reduced to the 32-bit CRC by two more multiplications and
 * Barrett's reduction (the quotient by x^64 / P, then the remainder by
 * P), so no table is read for events of 16 bytes or more.
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

/* pshufb masks: 16 bytes from offset n move a register's bytes up by
 * 16 - n places (zeros below), from offset 16 + n down by n places
 * (zeros above); 0x80 makes a zero byte. */
static const uint8_t shift_masks[48] = {
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0,    1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11,   12,   13,   14,   15,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
};

/* The fold, inlined into two callers below: one compiled for SSE (where
 * each multiplication first copies its operand, SSE's instructions
 * overwriting one), one for AVX's three-operand forms. */
__attribute__((target("pclmul,sse4.1"), always_inline)) static inline uint32_t crc32_fold(uint32_t crc,
                                                                                           const uint8_t *p, size_t n)
{
    /* n >= 16 */
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    const uint8_t *const end = p + n;
#define LOAD(q) _mm_loadu_si128((const __m128i *)(const void *)(q))
#define FOLD(x, k, y)                                                                             \
    _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), \
                  y)
    /* the register's start value counts as if xored into the first 4 bytes */
    __m128i x0 = _mm_xor_si128(LOAD(p), _mm_cvtsi32_si128((int)~crc));
    if (n >= 64) {
        __m128i x1 = LOAD(p + 16), x2 = LOAD(p + 32), x3 = LOAD(p + 48);
        p += 64;
        n -= 64;
        while (n >= 64) {
            x0 = FOLD(x0, k1k2, LOAD(p));
            x1 = FOLD(x1, k1k2, LOAD(p + 16));
            x2 = FOLD(x2, k1k2, LOAD(p + 32));
            x3 = FOLD(x3, k1k2, LOAD(p + 48));
            p += 64;
            n -= 64;
        }
        x0 = FOLD(x0, k3k4, x1);
        x0 = FOLD(x0, k3k4, x2);
        x0 = FOLD(x0, k3k4, x3);
    } else {
        p += 16;
        n -= 16;
    }
    while (n >= 16) {
        x0 = FOLD(x0, k3k4, LOAD(p));
        p += 16;
        n -= 16;
    }
    if (n) {
        /* x0 followed by n more bytes: the first n bytes of x0 (as a block
         * of their own, zeros in front) are folded over the 16 bytes that
         * are the rest of x0 followed by the tail; the tail is the end of
         * the 16 bytes before `end`, which the message holds */
        __m128i up = LOAD(shift_masks + n), down = LOAD(shift_masks + 16 + n);
        __m128i head = _mm_shuffle_epi8(x0, up);
        __m128i rest = _mm_blendv_epi8(LOAD(end - 16), _mm_shuffle_epi8(x0, down), up);
        x0 = FOLD(head, k3k4, rest);
    }
#undef FOLD
#undef LOAD
    /* 128 bits to 64 (k4: x^64 mod P), to 32 more (k5), then Barrett's
     * reduction by P (bit-reflected, 33 bits) and mu = x^64 / P */
    const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
    const __m128i k5 = _mm_set_epi64x(0, 0x0163cd6124);
    const __m128i pmu = _mm_set_epi64x(0x01f7011641, 0x01db710641);
    x0 = _mm_xor_si128(_mm_srli_si128(x0, 8), _mm_clmulepi64_si128(k3k4, x0, 0x01));
    x0 = _mm_xor_si128(_mm_srli_si128(x0, 4), _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), k5, 0x00));
    __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x0, mask32), pmu, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), pmu, 0x00);
    return ~(uint32_t)_mm_extract_epi32(_mm_xor_si128(x0, t), 1);
}

__attribute__((target("pclmul,sse4.1"))) static uint32_t crc32_fold_sse(uint32_t crc, const uint8_t *p, size_t n)
{
    return crc32_fold(crc, p, n);
}

__attribute__((target("avx,pclmul,sse4.1"))) static uint32_t crc32_fold_avx(uint32_t crc, const uint8_t *p, size_t n)
{
    return crc32_fold(crc, p, n);
}

int cdc__crc32_has_avx(void)
{
    return cdc__crc32_has_clmul() && __builtin_cpu_supports("avx");
}

/* 0 unknown, 1 neither (zlib), 2 SSE, 3 AVX: the CPU asked once */
static int clmul_level;

uint32_t cdc__crc32_clmul(uint32_t crc, const void *p, size_t n)
{
    if (n >= 16) {
        int level = __atomic_load_n(&clmul_level, __ATOMIC_RELAXED);
        if (!level) {
            level = cdc__crc32_has_avx() ? 3 : cdc__crc32_has_clmul() ? 2 : 1;
            __atomic_store_n(&clmul_level, level, __ATOMIC_RELAXED);
        }
        if (level == 3) return crc32_fold_avx(crc, p, n);
        if (level == 2) return crc32_fold_sse(crc, p, n);
    }
    return cdc__crc32_portable(crc, p, n);
}

uint32_t cdc__crc32_clmul_sse(uint32_t crc, const void *p, size_t n)
{
    if (n < 16 || !cdc__crc32_has_clmul()) return cdc__crc32_portable(crc, p, n);
    return crc32_fold_sse(crc, p, n);
}

uint32_t cdc__crc32(uint32_t crc, const void *p, size_t n)
{
    return cdc__crc32_clmul(crc, p, n);
}

#else

int cdc__crc32_has_clmul(void) { return 0; }
int cdc__crc32_has_avx(void) { return 0; }
uint32_t cdc__crc32_clmul_sse(uint32_t crc, const void *p, size_t n) { return cdc__crc32_portable(crc, p, n); }
uint32_t cdc__crc32_clmul(uint32_t crc, const void *p, size_t n) { return cdc__crc32_portable(crc, p, n); }
uint32_t cdc__crc32(uint32_t crc, const void *p, size_t n) { return cdc__crc32_portable(crc, p, n); }

#endif
