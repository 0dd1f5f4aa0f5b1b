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

/* One 128-bit lane x moved forward over the distance of k's constants
 * and added to the data y there. */
#define LOAD(q) _mm_loadu_si128((const __m128i *)(const void *)(q))
#define FOLD(x, k, y)                                                                             \
    _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), \
                  y)

/* The end of every road: 16 bytes at a time into x0, the tail, and the
 * reduction of x0 to the CRC. At least 16 bytes of the message come
 * before p (the tail's load reaches back into them). */
__attribute__((target("pclmul,sse4.1"), always_inline)) static inline uint32_t crc32_finish(__m128i x0,
                                                                                             const uint8_t *p,
                                                                                             size_t n)
{
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    const uint8_t *const end = p + n;
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

/* The fold, inlined into two callers below: one compiled for SSE (where
 * each multiplication first copies its operand, SSE's instructions
 * overwriting one), one for AVX's three-operand forms. */
__attribute__((target("pclmul,sse4.1"), always_inline)) static inline uint32_t crc32_fold(uint32_t crc,
                                                                                           const uint8_t *p, size_t n)
{
    /* n >= 16 */
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
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
    return crc32_finish(x0, p, n);
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

/*
 * The wide roads (VPCLMULQDQ): the same folding with 256-bit registers
 * (two lanes each, AVX2) or 512-bit ones (four, AVX-512), four registers
 * at a time, so one multiplication instruction does the work of two or
 * four and a step covers 128 or 256 bytes. Each 128-bit lane moves
 * forward by the four registers' width: 1,024 bits (k = x^(1024+32),
 * x^(1024-32) mod P, as above) or 2,048. The four registers are then
 * folded into one at the distance of one register (256 or 512 bits), a
 * 512-bit one into 256 bits, and the two lanes of that into one 128-bit
 * lane, which the 16-byte road finishes.
 */
#define K1024 0x014a7fe880, 0x01e88ef372
#define K2048 0x01322d1430, 0x011542778a
#define K256 0x015a546366, 0x00f1da05aa
#define K512 0x01c6e41596, 0x0154442bd4
#define LOAD256(q) _mm256_loadu_si256((const __m256i *)(const void *)(q))
#define FOLD256(x, k, y)                                                                               \
    _mm256_xor_si256(_mm256_xor_si256(_mm256_clmulepi64_epi128(x, k, 0x00), _mm256_clmulepi64_epi128(x, k, 0x11)), \
                     y)
#define LOAD512(q) _mm512_loadu_si512((const void *)(q))
#define FOLD512(x, k, y) \
    _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11), y, 0x96)

/* 256 bits (two lanes, the first one lower) to the 128-bit lane of the
 * 16-byte road. */
__attribute__((target("avx2,vpclmulqdq,pclmul,sse4.1"), always_inline)) static inline __m128i crc32_lanes2(__m256i x)
{
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    return FOLD(_mm256_castsi256_si128(x), k3k4, _mm256_extracti128_si256(x, 1));
}

/* n >= 128 */
__attribute__((target("avx2,vpclmulqdq,pclmul,sse4.1"))) static uint32_t crc32_fold_256(uint32_t crc,
                                                                                         const uint8_t *p, size_t n)
{
    const __m256i k1024 = _mm256_set_epi64x(K1024, K1024), k256 = _mm256_set_epi64x(K256, K256);
    __m256i x0 = _mm256_xor_si256(LOAD256(p), _mm256_set_epi64x(0, 0, 0, (long long)(uint32_t)~crc));
    __m256i x1 = LOAD256(p + 32), x2 = LOAD256(p + 64), x3 = LOAD256(p + 96);
    p += 128;
    n -= 128;
    while (n >= 128) {
        x0 = FOLD256(x0, k1024, LOAD256(p));
        x1 = FOLD256(x1, k1024, LOAD256(p + 32));
        x2 = FOLD256(x2, k1024, LOAD256(p + 64));
        x3 = FOLD256(x3, k1024, LOAD256(p + 96));
        p += 128;
        n -= 128;
    }
    x0 = FOLD256(x0, k256, x1);
    x0 = FOLD256(x0, k256, x2);
    x0 = FOLD256(x0, k256, x3);
    return crc32_finish(crc32_lanes2(x0), p, n);
}

/* n >= 256 */
__attribute__((target("avx512f,avx2,vpclmulqdq,pclmul,sse4.1"))) static uint32_t crc32_fold_512(uint32_t crc,
                                                                                                 const uint8_t *p,
                                                                                                 size_t n)
{
    const __m512i k2048 = _mm512_set_epi64(K2048, K2048, K2048, K2048);
    const __m512i k512 = _mm512_set_epi64(K512, K512, K512, K512);
    __m512i x0 = _mm512_xor_si512(LOAD512(p), _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, (long long)(uint32_t)~crc));
    __m512i x1 = LOAD512(p + 64), x2 = LOAD512(p + 128), x3 = LOAD512(p + 192);
    p += 256;
    n -= 256;
    while (n >= 256) {
        x0 = FOLD512(x0, k2048, LOAD512(p));
        x1 = FOLD512(x1, k2048, LOAD512(p + 64));
        x2 = FOLD512(x2, k2048, LOAD512(p + 128));
        x3 = FOLD512(x3, k2048, LOAD512(p + 192));
        p += 256;
        n -= 256;
    }
    x0 = FOLD512(x0, k512, x1);
    x0 = FOLD512(x0, k512, x2);
    x0 = FOLD512(x0, k512, x3);
    const __m256i k256 = _mm256_set_epi64x(K256, K256);
    __m256i y = FOLD256(_mm512_castsi512_si256(x0), k256, _mm512_extracti64x4_epi64(x0, 1));
    return crc32_finish(crc32_lanes2(y), p, n);
}

int cdc__crc32_has_wide(int bits)
{
    if (!cdc__crc32_has_avx() || !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("vpclmulqdq"))
        return 0;
    return bits == 256 || (bits == 512 && __builtin_cpu_supports("avx512f"));
}

/* 0 unknown, 1 neither (zlib), 2 SSE, 3 AVX, 4 and 256-bit VPCLMULQDQ,
 * 5 and 512-bit: the CPU asked once */
static int clmul_level;

uint32_t cdc__crc32_clmul(uint32_t crc, const void *p, size_t n)
{
    if (n >= 16) {
        int level = __atomic_load_n(&clmul_level, __ATOMIC_RELAXED);
        if (!level) {
            level = cdc__crc32_has_wide(512)   ? 5
                    : cdc__crc32_has_wide(256) ? 4
                    : cdc__crc32_has_avx()     ? 3
                    : cdc__crc32_has_clmul()   ? 2
                                               : 1;
            __atomic_store_n(&clmul_level, level, __ATOMIC_RELAXED);
        }
        if (level >= 3) {
            if (level == 5 && n >= 256) return crc32_fold_512(crc, p, n);
            if (level >= 4 && n >= 128) return crc32_fold_256(crc, p, n);
            return crc32_fold_avx(crc, p, n);
        }
        if (level == 2) return crc32_fold_sse(crc, p, n);
    }
    return cdc__crc32_portable(crc, p, n);
}

uint32_t cdc__crc32_clmul_wide(int bits, uint32_t crc, const void *p, size_t n)
{
    if (!cdc__crc32_has_wide(bits) || n < 128) return cdc__crc32_clmul(crc, p, n);
    if (bits == 512 && n >= 256) return crc32_fold_512(crc, p, n);
    return crc32_fold_256(crc, p, n);
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
int cdc__crc32_has_wide(int bits) { (void)bits; return 0; }
uint32_t cdc__crc32_clmul_wide(int bits, uint32_t crc, const void *p, size_t n)
{
    (void)bits;
    return cdc__crc32_portable(crc, p, n);
}
uint32_t cdc__crc32_clmul_sse(uint32_t crc, const void *p, size_t n) { return cdc__crc32_portable(crc, p, n); }
uint32_t cdc__crc32_clmul(uint32_t crc, const void *p, size_t n) { return cdc__crc32_portable(crc, p, n); }
uint32_t cdc__crc32(uint32_t crc, const void *p, size_t n) { return cdc__crc32_portable(crc, p, n); }

#endif
