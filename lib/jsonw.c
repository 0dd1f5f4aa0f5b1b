/*
 * jsonw.c: JSON text writing. See jsonw.h.
 *
 * This runs for every value of every line `cdc dump` prints, so the
 * common cases take the short road: strings are checked to be valid
 * UTF-8 and escaped in one pass over blocks of 32 bytes (AVX2, where the
 * CPU has it: UTF-8 by masks for two-byte letters, else by table
 * lookups) or 16 (SSE2; 8-byte words elsewhere), blocks of quotes
 * expanded by SSSE3 shuffles where the CPU has them, short plain text
 * without the block loop; doubles are formatted by the Schubfach
 * algorithm (R. Giulietti, "The Schubfach way to render doubles", 2020)
 * instead of printf-and-strtod searches, their digits by SSE2.
 */
#include "jsonw.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const char hexdig[] = "0123456789abcdef";

/* ---- UTF-8 -------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq(const uint8_t *s, size_t len)
{
    uint8_t c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) { n = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 4; cp = c & 0x07; }
    else return 0;
    if (len < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates and values past U+10FFFF are invalid */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

#define ONES 0x0101010101010101u
#define HIGH 0x8080808080808080u

static inline uint64_t load8(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* 1 if none of the 8 bytes is >= 0x80. */
static inline bool word_ascii(uint64_t w) { return (w & HIGH) == 0; }

/* The high bit of each byte of w that does not go into a JSON string as
 * it is (>= 0x80, a control character, '"', '\\'); 0 if none. (x - n*ONES)
 * & ~x & HIGH flags the bytes of x below n (bytes below 0x80; a borrow
 * may also flag bytes above a flagged one, never below); a byte equal
 * to c is a zero byte of x ^ c*ONES. */
static inline uint64_t word_special(uint64_t w)
{
    uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
    return (((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) | ((b - ONES) & ~b) | w) & HIGH;
}

/* ---- runs of plain bytes, 16 (SSE2) or 8 (portable) at a time ----------
 *
 * Both the validator and the escaper spend their time finding the first
 * byte of a run that needs a look. Each finder comes in two versions with
 * the same result: SSE2 (always there on x86-64) and 8-byte words (the
 * portable fallback); `simd` picks one at compile time in the callers,
 * and the `_portable` entry points let the tests compare the two.
 */

#if defined(__SSE2__)
#include <emmintrin.h>
#define HAVE_SSE2 1
#else
#define HAVE_SSE2 0
#endif

/* The high bit of each byte of w that is a control character, '"' or
 * '\\'. Bytes >= 0x80 are not flagged themselves; a borrow may flag bytes
 * above a flagged one, never below, so the lowest flag is a true one. */
static inline uint64_t word_escape(uint64_t w)
{
    uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
    return (((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGH;
}

#if HAVE_SSE2
static inline unsigned sse_high(__m128i x) { return (unsigned)_mm_movemask_epi8(x); }
static inline unsigned sse_escape(__m128i x)
{
    __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x); /* x <= 0x1f */
    __m128i q = _mm_cmpeq_epi8(x, _mm_set1_epi8('"'));
    __m128i b = _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(ctl, _mm_or_si128(q, b)));
}
/* The bytes of x that are '"' or '\\' (escaped by a backslash before them). */
static inline unsigned sse_quote(__m128i x)
{
    __m128i q = _mm_cmpeq_epi8(x, _mm_set1_epi8('"'));
    __m128i b = _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(q, b));
}
#endif

/* Number of bytes of s[0..n) before the first one >= 0x80. */
static inline __attribute__((always_inline)) size_t ascii_run(const uint8_t *s, size_t n, bool simd)
{
    size_t i = 0;
#if HAVE_SSE2
    if (simd) {
        for (; n - i >= 16; i += 16) {
            unsigned m = sse_high(_mm_loadu_si128((const __m128i *)(const void *)(s + i)));
            if (m) return i + (size_t)__builtin_ctz(m);
        }
    }
#else
    (void)simd;
#endif
    for (; n - i >= 8; i += 8) {
        uint64_t h = load8(s + i) & HIGH;
        if (h) return i + (size_t)__builtin_ctzll(h) / 8;
    }
    if (n >= 8 && i < n) {
        /* the word ending at n: its bytes before i were found ASCII above */
        uint64_t h = load8(s + n - 8) & HIGH;
        return h ? n - 8 + (size_t)__builtin_ctzll(h) / 8 : n;
    }
    while (i < n && s[i] < 0x80) i++;
    return i;
}

/*
 * Copies s[0..n) to o up to the first byte that needs escaping in a
 * JSON string and returns how many bytes that is (n if none). Whole
 * blocks are stored, so up to 15 bytes past the kept ones may be
 * written, never past o + n. The last block of a run of n >= 16 (or 8)
 * bytes is the one ending at n, overlapping the one before: bytes it
 * stores again are the same bytes at the same place.
 */
static inline __attribute__((always_inline)) size_t copy_plain(uint8_t *o, const uint8_t *s, size_t n,
                                                               bool simd)
{
#if HAVE_SSE2
    if (simd && n >= 16) {
        size_t i = 0;
        for (;;) {
            if (n - i < 16) i = n - 16;
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            _mm_storeu_si128((__m128i *)(void *)(o + i), x);
            unsigned m = sse_escape(x);
            if (m) return i + (size_t)__builtin_ctz(m);
            if (i + 16 == n) return n;
            i += 16;
        }
    }
#else
    (void)simd;
#endif
    if (n >= 8) {
        size_t i = 0;
        for (;;) {
            if (n - i < 8) i = n - 8;
            uint64_t w = load8(s + i), m = word_escape(w);
            memcpy(o + i, &w, 8);
            if (m) return i + (size_t)__builtin_ctzll(m) / 8;
            if (i + 8 == n) return n;
            i += 8;
        }
    }
    size_t i = 0;
    for (; i < n; i++) {
        uint8_t c = s[i];
        if (c < 0x20 || c == '"' || c == '\\') break;
        o[i] = c;
    }
    return i;
}

/* Length of the valid sequence at s[0] >= 0x80, or 0: two-byte ones
 * (most non-ASCII letters) without the general decoder. */
static inline size_t seq_valid(const uint8_t *s, size_t len)
{
    uint8_t c = s[0];
    if (c >= 0xc2 && c <= 0xdf) return len >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) { /* no overlong form, no surrogate */
        if (len < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80) return 0;
        uint32_t cp = (uint32_t)(c & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
        return cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff) ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) { /* U+10000..U+10FFFF */
        if (len < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80) return 0;
        uint32_t cp = (uint32_t)(c & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 | (uint32_t)(s[2] & 0x3f) << 6 |
                      (s[3] & 0x3f);
        return cp >= 0x10000 && cp <= 0x10ffff ? 4 : 0;
    }
    return 0; /* a continuation byte, 0xc0, 0xc1 or 0xf5.. */
}

static inline __attribute__((always_inline)) bool utf8_valid(const uint8_t *s, size_t len, bool simd)
{
    size_t i = 0;
#if HAVE_SSE2
    /* one load per 16 bytes. A block whose non-ASCII bytes are all
     * two-byte sequences (a lead 0xc2..0xdf, then a continuation byte) is
     * checked by its masks alone: the continuations are exactly the bytes
     * after the leads, counting a lead that ended the block before
     * (`carry`). Other blocks are walked a sequence at a time through
     * their mask, from where the last sequence ends. */
    unsigned carry = 0;
    while (simd && len - i >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned m = sse_high(x);
        if (!m && !carry) {
            i += 16;
            continue;
        }
        /* as signed bytes: leads are -62..-33, continuations -128..-65 */
        unsigned lead = sse_high(_mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(-63)),
                                               _mm_cmplt_epi8(x, _mm_set1_epi8(-32))));
        unsigned cont = sse_high(_mm_cmplt_epi8(x, _mm_set1_epi8(-64)));
        if ((lead | cont) == m && (((lead << 1) | carry) & 0xffff) == cont) {
            carry = lead >> 15;
            i += 16;
            continue;
        }
        size_t end = i + 16, j = i;
        if (carry) { /* the second byte of a sequence that began before */
            if ((s[i] & 0xc0) != 0x80) return false;
            j++;
            carry = 0;
            m &= ~1u;
        }
        if (m) {
            j = i + (size_t)__builtin_ctz(m);
            for (;;) {
                size_t n = seq_valid(s + j, len - j);
                if (!n) return false;
                j += n;
                if (j >= end) break;
                unsigned rest = m >> (j - (end - 16));
                if (!rest) {
                    j = end;
                    break;
                }
                j += (size_t)__builtin_ctz(rest);
            }
        } else {
            j = end;
        }
        i = j;
    }
    if (carry) {
        if (i == len || (s[i] & 0xc0) != 0x80) return false;
        i++;
    }
#endif
    for (;;) {
        i += ascii_run(s + i, len - i, simd);
        if (i == len) return true;
        size_t n = seq_valid(s + i, len - i);
        if (!n) return false;
        i += n;
    }
}

bool cdc__utf8_valid(const uint8_t *s, size_t len) { return utf8_valid(s, len, HAVE_SSE2); }
bool cdc__utf8_valid_portable(const uint8_t *s, size_t len) { return utf8_valid(s, len, false); }

bool cdc__utf8_valid_reference(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq(s + i, len - i);
        if (!n) return false;
        i += n;
    }
    return true;
}

int cdc__utf8_sanitize(const uint8_t *s, size_t len, cdc__buf *out)
{
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len) {
            if (i + 8 <= len && word_ascii(load8(s + i))) { i += 8; continue; }
            size_t n = utf8_seq(s + i, len - i);
            if (!n) break;
            i += n;
        }
        if (i > start && cdc__buf_append(out, s + start, i - start)) return CDC_ERR_NOMEM;
        if (i < len) {
            if (cdc__buf_append(out, "\xef\xbf\xbd", 3)) return CDC_ERR_NOMEM;
            i++;
        }
    }
    return CDC_OK;
}

/*
 * Room for the rest of the input as it is, plus slack: the 8-byte word
 * copies write up to 7 bytes past what they keep, and one escape adds at
 * most 5 bytes (1 byte in, up to 6 out). Checked before each byte that
 * needs a look, so the room asked for tracks the real output: a buffer
 * that cannot grow (cdc_change_json's caller buffer) is not refused for
 * a worst case that does not happen.
 */
#define ESC_SLACK 16

static inline int ensure_room(cdc__buf *out, uint8_t **o, size_t rest)
{
    size_t have = out->cap - (size_t)(*o - out->data);
    if (have >= rest + ESC_SLACK) return CDC_OK;
    out->len = (size_t)(*o - out->data);
    if (cdc__buf_reserve(out, rest + ESC_SLACK)) return CDC_ERR_NOMEM;
    *o = out->data + out->len;
    return CDC_OK;
}

/* The letter after '\\' for the characters with a short escape; 0: \u00XX. */
static const uint8_t short_escape[0x60] = {
    ['"'] = '"', ['\\'] = '\\', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't', ['\b'] = 'b', ['\f'] = 'f',
};

/* Writes the escape of c (a control character, '"' or '\\'): at most 6 bytes. */
static inline uint8_t *put_escape(uint8_t *o, uint8_t c)
{
    o[0] = '\\';
    if (c >= 0x20) { /* '"' and '\\' escape as themselves */
        o[1] = c;
        return o + 2;
    }
    if (short_escape[c]) {
        o[1] = short_escape[c];
        return o + 2;
    }
    memcpy(o + 1, "u00", 3);
    o[4] = (uint8_t)hexdig[c >> 4];
    o[5] = (uint8_t)hexdig[c & 15];
    return o + 6;
}

/* Any bytes: each one >= 0x80 is checked as it comes, invalid ones become
 * U+FFFD. Room for len + 2 + ESC_SLACK is reserved by the caller. */
static int render_any(cdc__buf *out, const uint8_t *s, size_t len)
{
    uint8_t *o = out->data + out->len;
    *o++ = '"';
    size_t i = 0;
    while (i < len) {
        if (i + 8 <= len) {
            /* copy the word, keep the bytes before the first one that
             * needs a look (the lowest flagged byte is a true one) */
            uint64_t w = load8(s + i), bad = word_special(w);
            memcpy(o, &w, 8);
            size_t k = bad ? (size_t)__builtin_ctzll(bad) / 8 : 8;
            o += k;
            i += k;
            if (k == 8) continue;
        }
        if (ensure_room(out, &o, len - i + 1)) return CDC_ERR_NOMEM;
        uint8_t c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *o++ = c;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf && i + 1 < len && (s[i + 1] & 0xc0) == 0x80) {
            o[0] = c; /* two-byte sequence: always valid in this range */
            o[1] = s[i + 1];
            o += 2;
            i += 2;
            continue;
        }
        if (c >= 0x80) {
            size_t n = utf8_seq(s + i, len - i);
            if (n) {
                memcpy(o, s + i, n);
                o += n;
                i += n;
            } else {
                memcpy(o, "\xef\xbf\xbd", 3); /* invalid UTF-8 byte */
                o += 3;
                i++;
            }
            continue;
        }
        i++;
        o = put_escape(o, c);
    }
    /* the slack left after the last look covers the closing quote */
    *o++ = '"';
    out->len = (size_t)(o - out->data);
    return CDC_OK;
}

/* Valid UTF-8: only '"', '\\' and control characters stop the copy. Room
 * for len + 2 + ESC_SLACK is reserved by the caller. */
static inline __attribute__((always_inline)) int render_valid(cdc__buf *out, const uint8_t *s, size_t len,
                                                              bool simd)
{
    uint8_t *o = out->data + out->len;
    *o++ = '"';
    size_t i = 0;
    for (;;) {
        size_t k = copy_plain(o, s + i, len - i, simd);
        o += k;
        i += k;
        if (i == len) break;
        if (ensure_room(out, &o, len - i + 1)) return CDC_ERR_NOMEM;
        o = put_escape(o, s[i++]);
    }
    *o++ = '"';
    out->len = (size_t)(o - out->data);
    return CDC_OK;
}


#if HAVE_SSE2
/*
 * One pass over 16-byte blocks that checks UTF-8 and escapes at once
 * (SSE2). A block without non-ASCII bytes or bytes to escape is one load
 * and one store. Non-ASCII bytes are checked as utf8_valid checks them:
 * a block of two-byte sequences by its masks (`carry`: a lead ended the
 * block before), others a sequence at a time through their mask (`skip`:
 * bytes of the next block that the last sequence took). Escapes are
 * walked through the block's mask: '"' and '\\' get a backslash before
 * them that the next copy carries the byte after, control characters
 * their escape. Blocks near the end are read from a copy padded with
 * plain bytes, so every load stays inside. Returns CDC_ERR_CHARSET (and
 * writes nothing that counts) on invalid UTF-8, which the caller renders
 * by the byte-at-a-time road.
 *
 * Room: before a block with escapes, the rest of the input, the closing
 * quote, 16 bytes of slack and the block's added bytes (exactly: 1 per
 * short escape, 5 per \u00XX). The text cannot take less, so a buffer
 * that cannot grow and holds the text plus 16 bytes never fails.
 */
static inline bool block_utf8(const uint8_t *s, size_t len, size_t i, __m128i x, unsigned hi, unsigned *carry,
                              unsigned *skip)
{
    if (!*skip) {
        /* as signed bytes: leads are -62..-33, continuations -128..-65 */
        unsigned lead = sse_high(_mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(-63)),
                                               _mm_cmplt_epi8(x, _mm_set1_epi8(-32))));
        unsigned cont = sse_high(_mm_cmplt_epi8(x, _mm_set1_epi8(-64)));
        if ((lead | cont) == hi && (((lead << 1) | *carry) & 0xffff) == cont) {
            *carry = lead >> 15;
            return true;
        }
    }
    size_t end = i + 16, j = i + *skip;
    if (*carry) { /* the second byte of a sequence that began before */
        if ((s[j] & 0xc0) != 0x80) return false;
        j++;
        *carry = 0;
    }
    unsigned m = hi & ~((1u << (j - i)) - 1);
    while (m) {
        j = i + (size_t)__builtin_ctz(m);
        size_t n = seq_valid(s + j, len - j);
        if (!n) return false;
        j += n;
        if (j >= end) break;
        m = hi & ~((1u << (j - i)) - 1);
    }
    *skip = j > end ? (unsigned)(j - end) : 0;
    return true;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <tmmintrin.h>

#include "jsonw_expand.h"
#define HAVE_SSSE3_ROAD 1

/*
 * A block whose escapes are all '"' or '\\' (the quote-dense text of a
 * JSON document kept as text), escaped by two shuffles instead of one
 * escape at a time: each 8-byte half goes into one register beside 8
 * backslashes, and jsonw_expand.h's mask for the half's flags lays out
 * the bytes with a backslash before each flagged one. Writes up to 16
 * bytes at o and, when nb > 8, 16 more after the first half's output;
 * returns the end of the nb bytes' escaped text. Bytes of the block past
 * nb are plain (the padded copy), so they come after it and count for
 * nothing. Only called (and only inlined) where SSSE3 is there.
 */
static inline __attribute__((target("ssse3"))) uint8_t *expand_quotes(uint8_t *o, __m128i x, unsigned esc,
                                                                       size_t nb)
{
    const __m128i bs = _mm_set1_epi8('\\');
    unsigned m0 = esc & 0xff, m1 = esc >> 8;
    __m128i lo = _mm_shuffle_epi8(_mm_unpacklo_epi64(x, bs),
                                  _mm_load_si128((const __m128i *)(const void *)expand_shuffle[m0]));
    _mm_storeu_si128((__m128i *)(void *)o, lo);
    if (nb > 8) {
        __m128i hi = _mm_shuffle_epi8(_mm_unpackhi_epi64(x, bs),
                                      _mm_load_si128((const __m128i *)(const void *)expand_shuffle[m1]));
        _mm_storeu_si128((__m128i *)(void *)(o + expand_len[m0]), hi);
    }
    return o + nb + (expand_len[m0] - 8) + (expand_len[m1] - 8);
}
#else
#define HAVE_SSSE3_ROAD 0
#endif

/*
 * The escapes of one 16-byte block x read from p (nb of its bytes count,
 * the rest are plain padding): a block whose escapes are all '"' or
 * '\\' by expand_quotes (`shuffle`: only true in the roads compiled for
 * SSSE3 or later), others one escape at a time through the mask `esc`.
 * The walk loads up to 32 bytes from p: unless `padded` (p lies in a
 * buffer of at least 32 bytes), a block with fewer than 32 bytes of input
 * from p is first copied into pad (32 bytes). Room is reserved by the
 * caller. Returns the new end of the output.
 */
static inline __attribute__((always_inline)) uint8_t *escape_block(uint8_t *o, const uint8_t *p, size_t avail,
                                                                   __m128i x, unsigned esc, size_t nb,
                                                                   uint8_t *pad, bool padded, bool shuffle)
{
#if HAVE_SSSE3_ROAD
    if (shuffle && esc == sse_quote(x)) return expand_quotes(o, x, esc, nb);
#else
    (void)shuffle;
#endif
    if (!padded && avail < 32) {
        _mm_storeu_si128((__m128i *)(void *)pad, x);
        _mm_storeu_si128((__m128i *)(void *)(pad + 16), _mm_set1_epi8('a'));
        p = pad;
    }
    size_t k = 0;
    do {
        size_t j = (size_t)__builtin_ctz(esc);
        _mm_storeu_si128((__m128i *)(void *)o, _mm_loadu_si128((const __m128i *)(const void *)(p + k)));
        o += j - k;
        if (p[j] >= 0x20) { /* '"' or '\\': the byte itself goes with the next copy */
            *o++ = '\\';
            k = j;
        } else {
            o = put_escape(o, p[j]);
            k = j + 1;
        }
        esc &= esc - 1;
    } while (esc);
    _mm_storeu_si128((__m128i *)(void *)o, _mm_loadu_si128((const __m128i *)(const void *)(p + k)));
    return o + nb - k;
}

/* Makes room for a block of nb bytes with the escapes `esc` at p: every
 * escape adds at most 5, the exact count only when that much room is not
 * there (x86-64's baseline has no popcnt). rest: the input left from p. */
static inline __attribute__((always_inline)) int room_for_escapes(cdc__buf *out, uint8_t **o, const uint8_t *p,
                                                                  uint32_t esc, size_t rest)
{
    if (out->cap - (size_t)(*o - out->data) >= rest + 1 + ESC_SLACK + 160) return CDC_OK;
    size_t add = 0;
    for (uint32_t e = esc; e; e &= e - 1) {
        uint8_t c = p[__builtin_ctz(e)];
        add += c >= 0x20 || short_escape[c] ? 1 : 5;
    }
    size_t need = rest + 1 + ESC_SLACK + add;
    if (out->cap - (size_t)(*o - out->data) < need) {
        out->len = (size_t)(*o - out->data);
        if (cdc__buf_reserve(out, need)) return CDC_ERR_NOMEM;
        *o = out->data + out->len;
    }
    return CDC_OK;
}

/* `shuffle`: blocks of quotes go through expand_quotes (only true in
 * render_ssse3, compiled for SSSE3). */
static inline __attribute__((always_inline)) int render_sse(cdc__buf *out, const uint8_t *s, size_t len,
                                                            bool shuffle)
{
    size_t start = out->len;
    uint8_t *o = out->data + out->len;
    *o++ = '"';
    uint8_t pad[32];
    unsigned carry = 0, skip = 0;
    size_t i = 0;
    while (i < len) {
        const uint8_t *p = s + i;
        size_t rest = len - i, nb = 16;
        if (rest < 16) {
            _mm_storeu_si128((__m128i *)(void *)pad, _mm_set1_epi8('a'));
            _mm_storeu_si128((__m128i *)(void *)(pad + 16), _mm_set1_epi8('a'));
            cdc__copy_short(pad, p, rest);
            p = pad;
            nb = rest;
        }
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned hi = sse_high(x), esc = sse_escape(x);
        if ((hi | carry | skip) && !block_utf8(s, len, i, x, hi, &carry, &skip)) {
            out->len = start;
            return CDC_ERR_CHARSET;
        }
        if (!esc) {
            _mm_storeu_si128((__m128i *)(void *)o, x);
            o += nb;
            i += nb;
            continue;
        }
        if (room_for_escapes(out, &o, p, esc, rest)) {
            out->len = start;
            return CDC_ERR_NOMEM;
        }
        o = escape_block(o, p, rest, x, esc, nb, pad, p == pad, shuffle);
        i += nb;
    }
    if (carry) { /* a lead byte ended the text */
        out->len = start;
        return CDC_ERR_CHARSET;
    }
    *o++ = '"';
    out->len = (size_t)(o - out->data);
    return CDC_OK;
}

#if HAVE_SSSE3_ROAD
#include <immintrin.h>
#define HAVE_AVX2_ROAD 1

/*
 * The same pass over 32-byte blocks (AVX2): UTF-8 checked by table
 * lookups (utf8_block_errors, below) instead of masks and a walk over
 * sequences, and a block with escapes escaped as two 16-byte halves by
 * escape_block, as the 16-byte roads escape theirs. The last block is
 * read from a copy padded with plain bytes. Only called where the CPU
 * has AVX2.
 */
/* The constants of render_avx2, 32 bytes each (k below): the two-byte
 * check's bounds as signed bytes (above -63 and below -32 a lead, below
 * -64 a continuation), the last control character, the two escaped
 * printable bytes and the padding's plain byte. */
enum { K_M63, K_M32, K_M64, K_CTL, K_QUOTE, K_BSLASH, K_PLAIN };
#define X8(v) v, v, v, v, v, v, v, v
#define X32(v) X8(v), X8(v), X8(v), X8(v)
static const int8_t avx2_consts[7][32] __attribute__((aligned(32))) = {
    {X32(-63)}, {X32(-32)}, {X32(-64)}, {X32(0x1f)}, {X32('"')}, {X32('\\')}, {X32('a')}};
#undef X32
#undef X8

static inline __attribute__((target("avx2"))) unsigned avx_escape(__m256i x, const __m256i *k)
{
    __m256i ctl = _mm256_cmpeq_epi8(_mm256_min_epu8(x, _mm256_load_si256(k + K_CTL)), x); /* x <= 0x1f */
    __m256i q = _mm256_cmpeq_epi8(x, _mm256_load_si256(k + K_QUOTE));
    __m256i b = _mm256_cmpeq_epi8(x, _mm256_load_si256(k + K_BSLASH));
    return (unsigned)_mm256_movemask_epi8(_mm256_or_si256(ctl, _mm256_or_si256(q, b)));
}

/*
 * UTF-8 checked 32 bytes at a time by table lookups, without a branch or
 * a walk over sequences (the method of J. Keiser and D. Lemire,
 * "Validating UTF-8 in less than one instruction per byte", 2021). Each
 * error is a combination of the high and low nibbles of the byte before
 * (prev1) and the high nibble of the byte: each of three 16-entry tables
 * gives, per nibble, the errors it allows, and a bit set in all three is
 * an error. TWO_CONTS (a continuation after a continuation) is an error
 * exactly where the byte is not the third or fourth of a sequence (the
 * byte two back is a lead of 3 or 4 bytes, or three back of 4), so it is
 * compared with that instead. A text that ends inside a sequence is
 * caught by the padding of the last block, or, when the last block is
 * whole, by a look at its last three bytes.
 */
#define U8_TOO_SHORT 0x01  /* a lead, then no continuation */
#define U8_TOO_LONG 0x02   /* ASCII, then a continuation */
#define U8_OVERLONG_3 0x04 /* E0, then 80..9F */
#define U8_TOO_LARGE 0x08  /* F4, then 90..BF; F5..FF, then 90..BF */
#define U8_SURROGATE 0x10  /* ED, then A0..BF */
#define U8_OVERLONG_2 0x20 /* C0 or C1, then a continuation */
#define U8_TOO_LARGE_1000 0x40 /* F5..FF, then 80..8F */
#define U8_OVERLONG_4 0x40 /* F0, then 80..8F */
#define U8_TWO_CONTS 0x80  /* a continuation, then another */
#define U8_ANY (U8_TOO_SHORT | U8_TOO_LONG | U8_TWO_CONTS)

/* The three tables (broadcast to both 16-byte halves, within which
 * vpshufb looks up): by the high nibble of the byte before, by its low nibble, and by
 * the high nibble of the byte itself. */
#define U8_HIGH1                                                                                               \
    U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG,    \
        U8_TWO_CONTS, U8_TWO_CONTS, U8_TWO_CONTS, U8_TWO_CONTS, U8_TOO_SHORT | U8_OVERLONG_2, U8_TOO_SHORT,    \
        U8_TOO_SHORT | U8_OVERLONG_3 | U8_SURROGATE, U8_TOO_SHORT | U8_TOO_LARGE | U8_TOO_LARGE_1000 | U8_OVERLONG_4
#define U8_BIG (U8_ANY | U8_TOO_LARGE | U8_TOO_LARGE_1000) /* F5..FF */
#define U8_LOW1                                                                                                \
    U8_ANY | U8_OVERLONG_3 | U8_OVERLONG_2 | U8_OVERLONG_4, U8_ANY | U8_OVERLONG_2, U8_ANY, U8_ANY,           \
        U8_ANY | U8_TOO_LARGE, U8_BIG, U8_BIG, U8_BIG, U8_BIG, U8_BIG, U8_BIG, U8_BIG, U8_BIG,                 \
        U8_BIG | U8_SURROGATE, U8_BIG, U8_BIG
#define U8_CONT (U8_TOO_LONG | U8_OVERLONG_2 | U8_TWO_CONTS)
#define U8_HIGH2                                                                                               \
    U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT,          \
        U8_TOO_SHORT, U8_CONT | U8_OVERLONG_3 | U8_TOO_LARGE_1000 | U8_OVERLONG_4,                             \
        U8_CONT | U8_OVERLONG_3 | U8_TOO_LARGE, U8_CONT | U8_SURROGATE | U8_TOO_LARGE,                         \
        U8_CONT | U8_SURROGATE | U8_TOO_LARGE, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT
static const uint8_t u8_tables[3][16] __attribute__((aligned(16))) = {{U8_HIGH1}, {U8_LOW1}, {U8_HIGH2}};

/* The errors of block x whose 32 bytes before are prev: zero if none. */
static inline __attribute__((target("avx2"))) __m256i utf8_block_errors(__m256i x, __m256i prev, __m256i t_high1,
                                                                          __m256i t_low1, __m256i t_high2)
{
    const __m256i nib = _mm256_set1_epi8(0x0f);
    __m256i t = _mm256_permute2x128_si256(prev, x, 0x21); /* prev's high half, x's low half */
    __m256i p1 = _mm256_alignr_epi8(x, t, 15), p2 = _mm256_alignr_epi8(x, t, 14), p3 = _mm256_alignr_epi8(x, t, 13);
    __m256i e = _mm256_and_si256(
        _mm256_and_si256(_mm256_shuffle_epi8(t_high1, _mm256_and_si256(_mm256_srli_epi16(p1, 4), nib)),
                         _mm256_shuffle_epi8(t_low1, _mm256_and_si256(p1, nib))),
        _mm256_shuffle_epi8(t_high2, _mm256_and_si256(_mm256_srli_epi16(x, 4), nib)));
    /* >= 0x80 where p2 >= E0 or p3 >= F0: a third or fourth byte */
    __m256i must = _mm256_or_si256(_mm256_subs_epu8(p2, _mm256_set1_epi8(0x60)),
                                   _mm256_subs_epu8(p3, _mm256_set1_epi8(0x70)));
    return _mm256_xor_si256(e, _mm256_and_si256(must, _mm256_set1_epi8((char)0x80)));
}

__attribute__((target("avx2"))) static int render_avx2(cdc__buf *out, const uint8_t *s, size_t len)
{
    size_t start = out->len;
    uint8_t *o = out->data + out->len;
    *o++ = '"';
    uint8_t pad[64];
    size_t i = 0;
    /* The tables and the constants are read from memory where used,
     * through pointers the empty asm hides: kept in registers across the
     * loop, they were set up again on every call and spilled (some 20
     * instructions a string), and the tables are needed by few blocks. */
    const uint8_t(*tabs)[16] = u8_tables;
    const __m256i *k = (const __m256i *)(const void *)avx2_consts;
    __asm__("" : "+r"(tabs), "+r"(k));
    __m256i prev = _mm256_setzero_si256(), err = _mm256_setzero_si256();
    /* carry: the block before ended with the lead of a two-byte sequence;
     * open: it was checked by the lookups and its last 3 bytes are not
     * all ASCII (a longer sequence may run on into this block) */
    unsigned carry = 0;
    bool open = false;
    while (i < len) {
        const uint8_t *p = s + i;
        size_t rest = len - i, nb = 32;
        if (rest < 32) {
            const __m256i plain = _mm256_load_si256(k + K_PLAIN);
            _mm256_storeu_si256((__m256i *)(void *)pad, plain);
            _mm256_storeu_si256((__m256i *)(void *)(pad + 32), plain);
            if (rest >= 16) { /* two overlapping 16-byte moves */
                _mm_storeu_si128((__m128i *)(void *)pad, _mm_loadu_si128((const __m128i *)(const void *)p));
                _mm_storeu_si128((__m128i *)(void *)(pad + rest - 16),
                                 _mm_loadu_si128((const __m128i *)(const void *)(p + rest - 16)));
            } else {
                cdc__copy_short(pad, p, rest);
            }
            p = pad;
            nb = rest;
        }
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)p);
        unsigned hi = (unsigned)_mm256_movemask_epi8(x), esc = avx_escape(x, k);
        /* A block of ASCII and two-byte sequences after a block that
         * ended outside a longer one is checked by its masks, as the
         * 16-byte roads check theirs (the continuations are exactly the
         * bytes after the leads, counting a lead that ended the block
         * before); other blocks with non-ASCII bytes, or into which a
         * sequence may run, by the lookups. */
        if (hi | carry | open) {
            bool masks_ok = false;
            if (!open) {
                /* as signed bytes: leads are -62..-33, continuations -128..-65 */
                unsigned lead = (unsigned)_mm256_movemask_epi8(
                    _mm256_and_si256(_mm256_cmpgt_epi8(x, _mm256_load_si256(k + K_M63)),
                                     _mm256_cmpgt_epi8(_mm256_load_si256(k + K_M32), x)));
                unsigned cont = (unsigned)_mm256_movemask_epi8(_mm256_cmpgt_epi8(_mm256_load_si256(k + K_M64), x));
                if ((lead | cont) == hi && ((lead << 1) | carry) == cont) {
                    carry = lead >> 31;
                    masks_ok = true;
                }
            }
            if (!masks_ok) {
                const __m128i *t = (const __m128i *)(const void *)tabs;
                err = _mm256_or_si256(err, utf8_block_errors(x, prev, _mm256_broadcastsi128_si256(_mm_load_si128(t)),
                                                             _mm256_broadcastsi128_si256(_mm_load_si128(t + 1)),
                                                             _mm256_broadcastsi128_si256(_mm_load_si128(t + 2))));
                carry = 0;
                open = (hi >> 29) != 0;
            } else {
                open = false;
            }
        }
        prev = x;
        if (!esc) {
            /* the room: rest + 1 + ESC_SLACK, so a short last block stores 16 */
            if (nb > 16)
                _mm256_storeu_si256((__m256i *)(void *)o, x);
            else
                _mm_storeu_si128((__m128i *)(void *)o, _mm256_castsi256_si128(x));
            o += nb;
            i += nb;
            continue;
        }
        if (room_for_escapes(out, &o, p, esc, rest)) {
            out->len = start;
            return CDC_ERR_NOMEM;
        }
        bool padded = p == pad;
        if (esc & 0xffff)
            o = escape_block(o, p, rest, _mm256_castsi256_si128(x), esc & 0xffff, nb < 16 ? nb : 16, pad, padded,
                             true);
        else {
            _mm_storeu_si128((__m128i *)(void *)o, _mm256_castsi256_si128(x));
            o += nb < 16 ? nb : 16;
        }
        if (nb > 16) {
            __m128i h = _mm256_extracti128_si256(x, 1);
            if (esc >> 16)
                o = escape_block(o, p + 16, rest - 16, h, esc >> 16, nb - 16, pad, padded, true);
            else {
                _mm_storeu_si128((__m128i *)(void *)o, h);
                o += nb - 16;
            }
        }
        i += nb;
    }
    /* a whole last block ending inside a sequence (a padded one fails on
     * its padding) */
    bool cut = carry || (open && (s[len - 1] >= 0xc0 || (len >= 2 && s[len - 2] >= 0xe0) ||
                                  (len >= 3 && s[len - 3] >= 0xf0)));
    if (!_mm256_testz_si256(err, err) || cut) {
        out->len = start;
        return CDC_ERR_CHARSET;
    }
    *o++ = '"';
    out->len = (size_t)(o - out->data);
    return CDC_OK;
}

/*
 * The same pass over 64-byte blocks (AVX-512 with VBMI, VBMI2 and BMI2),
 * where the CPU has them. The last block is a masked load (bytes past
 * the text read as zero and never fault) and every store a masked one,
 * so there is no padded copy and nothing is written past the output
 * kept. UTF-8 is checked by the lookups of utf8_block_errors at 64
 * bytes: vpshufb and vpalignr work within 16-byte lanes, so the byte
 * before each lane comes from valignq, which shifts the block by one
 * lane with the last lane of the block before in front. Escapes:
 * control characters with a short escape (\n, \t, ...) are first
 * replaced by their letter (vpermb over short_escape), so that every
 * escape of the block is a backslash before one byte; then each 32-byte
 * half is laid out by one vpexpandb, which places the half's bytes at
 * the output positions that are not backslashes (the mask `keep`, from
 * the escape mask by pdep/pext: each byte takes two slots, a backslash
 * slot present only if it is escaped and a data slot; pext keeps the
 * data flags of the present slots). A block with a control character
 * that needs \u00XX (rare) is written a byte at a time.
 *
 * Room: as the 16-byte roads, before a block with escapes, the rest of
 * the input, the closing quote, 16 bytes of slack and the block's added
 * bytes (counted exactly by popcnt).
 */
#define HAVE_AVX512_ROAD 1
#define AVX512_TARGET "avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi2,popcnt"

/* The errors of the 64-byte block x whose 64 bytes before are prev:
 * zero if none (see the 32-byte utf8_block_errors). */
static inline __attribute__((target(AVX512_TARGET))) __m512i utf8_block_errors64(__m512i x, __m512i prev,
                                                                                  __m512i t_high1, __m512i t_low1,
                                                                                  __m512i t_high2)
{
    const __m512i nib = _mm512_set1_epi8(0x0f);
    __m512i t = _mm512_alignr_epi64(x, prev, 6); /* prev's last lane, then x's lanes 0..2 */
    __m512i p1 = _mm512_alignr_epi8(x, t, 15), p2 = _mm512_alignr_epi8(x, t, 14), p3 = _mm512_alignr_epi8(x, t, 13);
    __m512i e = _mm512_and_si512(
        _mm512_and_si512(_mm512_shuffle_epi8(t_high1, _mm512_and_si512(_mm512_srli_epi16(p1, 4), nib)),
                         _mm512_shuffle_epi8(t_low1, _mm512_and_si512(p1, nib))),
        _mm512_shuffle_epi8(t_high2, _mm512_and_si512(_mm512_srli_epi16(x, 4), nib)));
    __m512i must = _mm512_or_si512(_mm512_subs_epu8(p2, _mm512_set1_epi8(0x60)),
                                   _mm512_subs_epu8(p3, _mm512_set1_epi8(0x70)));
    return _mm512_xor_si512(e, _mm512_and_si512(must, _mm512_set1_epi8((char)0x80)));
}

__attribute__((target(AVX512_TARGET))) static int render_avx512(cdc__buf *out, const uint8_t *s, size_t len)
{
    size_t start = out->len;
    uint8_t *o = out->data + out->len;
    *o++ = '"';
    const __m512i t_high1 = _mm512_broadcast_i32x4(_mm_load_si128((const __m128i *)(const void *)u8_tables[0]));
    const __m512i t_low1 = _mm512_broadcast_i32x4(_mm_load_si128((const __m128i *)(const void *)u8_tables[1]));
    const __m512i t_high2 = _mm512_broadcast_i32x4(_mm_load_si128((const __m128i *)(const void *)u8_tables[2]));
    __m512i prev = _mm512_setzero_si512(), err = _mm512_setzero_si512();
    /* hi: the non-ASCII bytes of the block (of the last one after the
     * loop, for a text ending inside a sequence) */
    __mmask64 hi = 0;
    size_t i = 0;
    while (i < len) {
        const uint8_t *p = s + i;
        size_t rest = len - i, nb = rest < 64 ? rest : 64;
        __mmask64 m = _bzhi_u64(~UINT64_C(0), (unsigned)nb); /* all ones when nb is 64 */
        __m512i x = _mm512_maskz_loadu_epi8(m, p);
        hi = _mm512_movepi8_mask(x);
        /* Every block is looked up, ASCII or not: a branch on its
         * non-ASCII bytes (and a sequence running on from the block
         * before) was mispredicted on the short ASCII tails of accented
         * text, at more cost than the lookups. A cut sequence in a short
         * last block meets its zeros. */
        err = _mm512_or_si512(err, utf8_block_errors64(x, prev, t_high1, t_low1, t_high2));
        prev = x;
        __mmask64 ctl = _mm512_mask_cmple_epu8_mask(m, x, _mm512_set1_epi8(0x1f));
        __mmask64 esc = ctl | _mm512_mask_cmpeq_epi8_mask(m, x, _mm512_set1_epi8('"')) |
                        _mm512_mask_cmpeq_epi8_mask(m, x, _mm512_set1_epi8('\\'));
        if (!esc) {
            _mm512_mask_storeu_epi8(o, m, x);
            o += nb;
            i += nb;
            continue;
        }
        /* each escape adds 1 byte, each \u00XX 4 more */
        size_t add = (size_t)_mm_popcnt_u64(esc);
        __mmask64 longc = 0;
        __m512i y = x;
        if (ctl) {
            y = _mm512_mask_permutexvar_epi8(x, ctl, x, _mm512_loadu_si512((const void *)short_escape));
            longc = _mm512_mask_testn_epi8_mask(ctl, y, y);
            add += 4 * (size_t)_mm_popcnt_u64(longc);
        }
        size_t need = rest + 1 + ESC_SLACK + add;
        if (out->cap - (size_t)(o - out->data) < need) {
            out->len = (size_t)(o - out->data);
            if (cdc__buf_reserve(out, need)) {
                out->len = start;
                return CDC_ERR_NOMEM;
            }
            o = out->data + out->len;
        }
        if (longc) {
            uint8_t blk[64];
            _mm512_storeu_si512((void *)blk, x);
            for (size_t j = 0; j < nb; j++) {
                if (esc >> j & 1)
                    o = put_escape(o, blk[j]);
                else
                    *o++ = blk[j];
            }
            i += nb;
            continue;
        }
        /* Both halves, without a branch on whether a half has escapes
         * or is there: a half without escapes is expanded by an all-ones
         * mask (a plain copy), the second half of a block of 32 bytes or
         * fewer stores nothing. The branches were mispredicted on the
         * quote-dense JSON documents, whose short tails vary. */
        const __m512i bs = _mm512_set1_epi8('\\');
        uint32_t e0 = (uint32_t)esc, e1 = (uint32_t)(esc >> 32);
        size_t n0 = (nb < 32 ? nb : 32) + (size_t)_mm_popcnt_u32(e0);
        size_t n1 = (nb > 32 ? nb - 32 : 0) + (size_t)_mm_popcnt_u32(e1);
        uint64_t keep0 = _pext_u64(UINT64_C(0xaaaaaaaaaaaaaaaa),
                                   _pdep_u64(e0, UINT64_C(0x5555555555555555)) | UINT64_C(0xaaaaaaaaaaaaaaaa));
        uint64_t keep1 = _pext_u64(UINT64_C(0xaaaaaaaaaaaaaaaa),
                                   _pdep_u64(e1, UINT64_C(0x5555555555555555)) | UINT64_C(0xaaaaaaaaaaaaaaaa));
        __m512i v0 = _mm512_mask_expand_epi8(bs, keep0, y);
        __m512i v1 = _mm512_mask_expand_epi8(bs, keep1, _mm512_shuffle_i64x2(y, y, 0xee)); /* bytes 32..63 */
        _mm512_mask_storeu_epi8(o, _bzhi_u64(~UINT64_C(0), (unsigned)n0), v0);
        _mm512_mask_storeu_epi8(o + n0, _bzhi_u64(~UINT64_C(0), (unsigned)n1), v1);
        o += n0 + n1;
        i += nb;
    }
    /* a whole last block ending inside a sequence (a short one has met
     * its zeros) */
    bool cut = (hi >> 61) != 0 && (s[len - 1] >= 0xc0 || (len >= 2 && s[len - 2] >= 0xe0) || (len >= 3 && s[len - 3] >= 0xf0));
    if (_mm512_test_epi8_mask(err, err) || cut) {
        out->len = start;
        return CDC_ERR_CHARSET;
    }
    *o++ = '"';
    out->len = (size_t)(o - out->data);
    return CDC_OK;
}
#else
#define HAVE_AVX2_ROAD 0
#define HAVE_AVX512_ROAD 0
#endif

static int render_sse2(cdc__buf *out, const uint8_t *s, size_t len) { return render_sse(out, s, len, false); }
#if HAVE_SSSE3_ROAD
__attribute__((target("ssse3"))) static int render_ssse3(cdc__buf *out, const uint8_t *s, size_t len)
{
    return render_sse(out, s, len, true);
}
#endif
#endif

static inline int reserve_string(cdc__buf *out, size_t len)
{
    if (len > SIZE_MAX / 2) return CDC_ERR_NOMEM;
    if (out->cap - out->len < len + 2 + ESC_SLACK && cdc__buf_reserve(out, len + 2 + ESC_SLACK))
        return CDC_ERR_NOMEM;
    return CDC_OK;
}

#if HAVE_SSE2
/*
 * Short plain text (4 to 32 bytes of ASCII with nothing to escape: most
 * names and short values), without the block loop's set-up: the text as
 * two overlapping pieces of 4, 8 or 16 bytes, one check of both, and two
 * stores. Returns false (nothing written) for other text. Room for
 * len + 2 is there (reserve_string).
 */
static inline bool render_short_plain(cdc__buf *out, const uint8_t *s, size_t len)
{
    uint8_t *o = out->data + out->len;
    if (len > 16) {
        if (len > 32) return false;
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)s);
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + len - 16));
        if (sse_high(_mm_or_si128(a, b)) || (sse_escape(a) | sse_escape(b))) return false;
        _mm_storeu_si128((__m128i *)(void *)(o + 1), a);
        _mm_storeu_si128((__m128i *)(void *)(o + 1 + len - 16), b);
    } else if (len >= 8) {
        uint64_t a = load8(s), b = load8(s + len - 8);
        if (!word_ascii(a | b)) return false;
        __m128i x = _mm_set_epi64x((long long)b, (long long)a);
        if (sse_escape(x)) return false;
        memcpy(o + 1, &a, 8);
        memcpy(o + 1 + len - 8, &b, 8);
    } else if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + len - 4, 4);
        if ((a | b) & 0x80808080u) return false;
        if (sse_escape(_mm_cvtsi64_si128((long long)((uint64_t)b << 32 | a)))) return false;
        memcpy(o + 1, &a, 4);
        memcpy(o + 1 + len - 4, &b, 4);
    } else {
        return false;
    }
    o[0] = '"';
    o[len + 1] = '"';
    out->len += len + 2;
    return true;
}
#endif

#if HAVE_SSE2
enum { ROAD_AVX512, ROAD_AVX2, ROAD_SSSE3, ROAD_SSE2 };

static bool cpu_has_avx512_road(void)
{
#if HAVE_AVX512_ROAD
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vbmi2") &&
           __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
#else
    return false;
#endif
}

typedef int (*block_pass)(cdc__buf *out, const uint8_t *s, size_t len);

/* The block pass of the widest road this CPU has, picked on the first
 * call (a race picks the same) and called through a pointer: one load
 * and a call per string, as few as one feature test. */
static block_pass widest_pass(void)
{
    static block_pass pass;
    block_pass f = __atomic_load_n(&pass, __ATOMIC_RELAXED);
    if (!f) {
#if HAVE_SSSE3_ROAD
        f = cpu_has_avx512_road()              ? render_avx512
            : __builtin_cpu_supports("avx2")  ? render_avx2
            : __builtin_cpu_supports("ssse3") ? render_ssse3
                                              : render_sse2;
#else
        f = render_sse2;
#endif
        __atomic_store_n(&pass, f, __ATOMIC_RELAXED);
    }
    return f;
}

/* The block pass of `road`, then the byte-at-a-time road if the text is
 * not valid UTF-8. Room for len + 2 + ESC_SLACK is reserved. */
static inline __attribute__((always_inline)) int render_by(int road, cdc__buf *out, const uint8_t *s, size_t len)
{
#if HAVE_SSSE3_ROAD
    int rc = road == ROAD_AVX512 ? render_avx512(out, s, len)
             : road == ROAD_AVX2 ? render_avx2(out, s, len)
             : road == ROAD_SSSE3 ? render_ssse3(out, s, len)
                                  : render_sse2(out, s, len);
#else
    (void)road;
    int rc = render_sse2(out, s, len);
#endif
    return rc == CDC_ERR_CHARSET ? render_any(out, s, len) : rc;
}
#endif

/* Text is almost always valid: checking that first lets the copy stop at
 * ASCII specials only, instead of at every non-ASCII character. */
int cdc__render_utf8_string(cdc__buf *out, const uint8_t *s, size_t len)
{
    if (reserve_string(out, len)) return CDC_ERR_NOMEM;
#if HAVE_SSE2
    if (render_short_plain(out, s, len)) return CDC_OK;
    int rc = widest_pass()(out, s, len);
    return rc == CDC_ERR_CHARSET ? render_any(out, s, len) : rc;
#else
    return utf8_valid(s, len, false) ? render_valid(out, s, len, false) : render_any(out, s, len);
#endif
}

int cdc__render_utf8_string_sse2(cdc__buf *out, const uint8_t *s, size_t len)
{
#if HAVE_SSE2
    if (reserve_string(out, len)) return CDC_ERR_NOMEM;
    return render_by(ROAD_SSE2, out, s, len);
#else
    return cdc__render_utf8_string_portable(out, s, len);
#endif
}

int cdc__render_utf8_string_ssse3(cdc__buf *out, const uint8_t *s, size_t len)
{
#if HAVE_SSE2 && HAVE_SSSE3_ROAD
    if (__builtin_cpu_supports("ssse3")) {
        if (reserve_string(out, len)) return CDC_ERR_NOMEM;
        return render_by(ROAD_SSSE3, out, s, len);
    }
#endif
    return cdc__render_utf8_string_sse2(out, s, len);
}

int cdc__render_utf8_string_avx2(cdc__buf *out, const uint8_t *s, size_t len)
{
#if HAVE_SSE2 && HAVE_AVX2_ROAD
    if (__builtin_cpu_supports("avx2")) {
        if (reserve_string(out, len)) return CDC_ERR_NOMEM;
        return render_by(ROAD_AVX2, out, s, len);
    }
#endif
    return cdc__render_utf8_string_ssse3(out, s, len);
}

int cdc__render_utf8_string_avx512(cdc__buf *out, const uint8_t *s, size_t len)
{
#if HAVE_SSE2 && HAVE_AVX512_ROAD
    if (cpu_has_avx512_road()) {
        if (reserve_string(out, len)) return CDC_ERR_NOMEM;
        return render_by(ROAD_AVX512, out, s, len);
    }
#endif
    return cdc__render_utf8_string_avx2(out, s, len);
}

bool cdc__render_has_avx512(void)
{
#if HAVE_SSE2 && HAVE_AVX512_ROAD
    return cpu_has_avx512_road();
#else
    return false;
#endif
}

bool cdc__render_has_avx2(void)
{
#if HAVE_SSE2 && HAVE_AVX2_ROAD
    return __builtin_cpu_supports("avx2");
#else
    return false;
#endif
}

bool cdc__render_has_ssse3(void)
{
#if HAVE_SSE2 && HAVE_SSSE3_ROAD
    return __builtin_cpu_supports("ssse3");
#else
    return false;
#endif
}

int cdc__render_utf8_string_portable(cdc__buf *out, const uint8_t *s, size_t len)
{
    if (reserve_string(out, len)) return CDC_ERR_NOMEM;
    return utf8_valid(s, len, false) ? render_valid(out, s, len, false) : render_any(out, s, len);
}

int cdc__render_utf8_string_reference(cdc__buf *out, const uint8_t *s, size_t len)
{
    if (reserve_string(out, len)) return CDC_ERR_NOMEM;
    return render_any(out, s, len);
}

int cdc__render_base64(cdc__buf *out, const uint8_t *p, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (len > (SIZE_MAX - 8) / 4 * 3) return CDC_ERR_NOMEM;
    if (cdc__buf_reserve(out, (len + 2) / 3 * 4 + 2)) return CDC_ERR_NOMEM;
    uint8_t *o = out->data + out->len;
    *o++ = '"';
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = (uint8_t)tab[v >> 18];
        *o++ = (uint8_t)tab[(v >> 12) & 63];
        *o++ = (uint8_t)tab[(v >> 6) & 63];
        *o++ = (uint8_t)tab[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = (uint8_t)tab[v >> 18];
        *o++ = (uint8_t)tab[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = (uint8_t)tab[v >> 18];
        *o++ = (uint8_t)tab[(v >> 12) & 63];
        *o++ = (uint8_t)tab[(v >> 6) & 63];
        *o++ = '=';
    }
    *o++ = '"';
    out->len = (size_t)(o - out->data);
    return CDC_OK;
}

/* ---- integers ----------------------------------------------------------- */

static const char digits2[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Decimal digits of v (1..20): from its bit length, bits * 1233 / 4096
 * being floor(log10(2^bits)) for bits 1..64, and one compare. pow10[0]
 * is 0 so that 0 counts one digit. */
static inline size_t digits10(uint64_t v)
{
    static const uint64_t pow10[20] = {
        0, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
        10000000000u, 100000000000u, 1000000000000u, 10000000000000u, 100000000000000u,
        1000000000000000u, 10000000000000000u, 100000000000000000u, 1000000000000000000u,
        10000000000000000000u};
    unsigned bits = 64 - (unsigned)__builtin_clzll(v | 1);
    size_t n = (bits * 1233) >> 12;
    return n + (v >= pow10[n]);
}

/*
 * Digits by fixed-point multiplication (the method of J. Anhalt's
 * integer printer): y = v * ceil(2^57 / 100^(pairs-1)) holds v's first
 * pair in its top 7 bits and the rest as a 57-bit fraction; each
 * multiplication of the fraction by 100 brings the next pair up. For
 * v < 10^8 the rounding up of the multiplier adds less than 10^-10 to
 * v / 10^(2 pairs - 2), so less than 10^-4 after the last step: every
 * pair comes out exact (test_integers checks all lengths and every
 * power of ten either side against printf). No division, and one
 * multiplication per pair instead of two.
 */
#define PAIR_SHIFT 57
#define PAIR_FRAC ((UINT64_C(1) << PAIR_SHIFT) - 1)

static const uint64_t pair_mul[5] = {
    0,
    UINT64_C(1) << PAIR_SHIFT,                             /* 1 pair: v < 100 */
    ((UINT64_C(1) << PAIR_SHIFT) + 99) / 100,              /* 2 pairs */
    ((UINT64_C(1) << PAIR_SHIFT) + 9999) / 10000,          /* 3 pairs */
    ((UINT64_C(1) << PAIR_SHIFT) + 999999) / 1000000,      /* 4 pairs: v < 10^8 */
};

/* The n digits of v (n 1..8, v < 10^n), leading zeros included. */
static inline __attribute__((always_inline)) void put_digits(char *p, uint32_t v, size_t n)
{
    size_t pairs = (n + 1) / 2;
    uint64_t y = (uint64_t)v * pair_mul[pairs];
    if (n & 1) { /* the first pair is 0d: its d alone */
        *p++ = (char)('0' + (y >> PAIR_SHIFT));
    } else {
        memcpy(p, digits2 + 2 * (y >> PAIR_SHIFT), 2);
        p += 2;
    }
    for (size_t j = 1; j < pairs; j++) {
        y = (y & PAIR_FRAC) * 100;
        memcpy(p, digits2 + 2 * (y >> PAIR_SHIFT), 2);
        p += 2;
    }
}

/* v's n digits (n 1..8), by a copy of put_digits unrolled for each n. */
static inline void put_upto8(char *p, uint32_t v, size_t n)
{
    switch (n) {
    case 1: *p = (char)('0' + v); break;
    case 2: memcpy(p, digits2 + 2 * v, 2); break;
    case 3: put_digits(p, v, 3); break;
    case 4: put_digits(p, v, 4); break;
    case 5: put_digits(p, v, 5); break;
    case 6: put_digits(p, v, 6); break;
    case 7: put_digits(p, v, 7); break;
    default: put_digits(p, v, 8); break;
    }
}

/* Values of 9 digits and more are split at 10^8 (the compiler turns the
 * divisions by a constant into multiplications). */
size_t cdc__fmt_u64(char *buf, uint64_t v)
{
    size_t n = digits10(v);
    if (n <= 8) {
        put_upto8(buf, (uint32_t)v, n);
        return n;
    }
    uint32_t lo = (uint32_t)(v % 100000000u);
    uint64_t hi = v / 100000000u;
    if (n <= 16) {
        put_upto8(buf, (uint32_t)hi, n - 8);
    } else {
        put_upto8(buf, (uint32_t)(hi / 100000000u), n - 16);
        put_digits(buf + n - 16, (uint32_t)(hi % 100000000u), 8);
    }
    put_digits(buf + n - 8, lo, 8);
    return n;
}

/* ---- floating point ----------------------------------------------------- */

/*
 * Layout, as MySQL's my_gcvt() lays out a DOUBLE for SELECT: `digits`
 * (len of them, no trailing zeros) times 10^(decpt - len). Plain
 * notation when the decimal exponent `decpt` (digits before the point)
 * is in -14..15, or larger but the number has digits after the point;
 * otherwise d.ddde[-]N. So 0.1, 1e-20, 0.0000000000000015,
 * 123456789012345, 1e15, 1000000000000000.2, 1.2345678901234568e17.
 */
static size_t layout(char *buf, bool neg, const char *digits, int len, int decpt)
{
    char *o = buf;
    if (neg) *o++ = '-';
    if (decpt >= -14 && (decpt <= 15 || len > decpt)) {
        if (decpt <= 0) {
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < -decpt; i++) *o++ = '0';
            memcpy(o, digits, (size_t)len);
            o += len;
        } else if (decpt < len) {
            memcpy(o, digits, (size_t)decpt);
            o += decpt;
            *o++ = '.';
            memcpy(o, digits + decpt, (size_t)(len - decpt));
            o += len - decpt;
        } else {
            memcpy(o, digits, (size_t)len);
            o += len;
            for (int i = len; i < decpt; i++) *o++ = '0';
        }
    } else {
        *o++ = digits[0];
        if (len > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)(len - 1));
            o += len - 1;
        }
        *o++ = 'e';
        o += cdc__fmt_i64(o, decpt - 1);
    }
    *o = 0;
    return (size_t)(o - buf);
}

/* printf's %.Ne text ([-]d[.ddd]e(+|-)XX) through layout(). */
static size_t layout_sci(char *buf, const char *sci)
{
    char digits[24];
    int len = 0;
    const char *p = sci;
    bool neg = *p == '-';
    if (neg) p++;
    for (; *p && *p != 'e' && len < (int)sizeof digits; p++)
        if (*p != '.') digits[len++] = *p;
    int decpt = atoi(p + 1) + 1;
    while (len > 1 && digits[len - 1] == '0') len--;
    if (len == 1 && digits[0] == '0') decpt = 1;
    return layout(buf, neg, digits, len, decpt);
}

/*
 * The reference: any decimal of at most DBL_DIG (15) digits survives
 * decimal -> double -> 15-digit decimal, so if a k-digit text reads back
 * (k <= 15), 15 digits with trailing zeros dropped give that same text:
 * starting at 15 finds the shortest in one or two tries. Likewise
 * FLT_DIG (6) for floats. Subnormals carry fewer digits and search from
 * one.
 */
size_t cdc__fmt_double_reference(char *buf, double d)
{
    if (!isfinite(d)) { memcpy(buf, "null", 5); return 4; }
    char sci[40];
    int prec = fabs(d) < DBL_MIN ? 1 : DBL_DIG;
    for (; prec < 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, d);
        if (strtod(sci, NULL) == d) break;
    }
    if (prec == 17) snprintf(sci, sizeof sci, "%.16e", d);
    return layout_sci(buf, sci);
}

size_t cdc__fmt_float_reference(char *buf, float f)
{
    if (!isfinite(f)) { memcpy(buf, "null", 5); return 4; }
    char sci[40];
    int prec = fabsf(f) < FLT_MIN ? 1 : FLT_DIG;
    for (; prec < 9; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, (double)f);
        if (strtof(sci, NULL) == f) break;
    }
    if (prec == 9) snprintf(sci, sizeof sci, "%.8e", (double)f);
    return layout_sci(buf, sci);
}

#if defined(__SIZEOF_INT128__)
#include "jsonw_pow10.h"

/*
 * Schubfach. A finite double is c * 2^q. Its rounding interval (what
 * reads back as it) is bounded by (4c - 2) * 2^(q-2) and (4c + 2) *
 * 2^(q-2), inclusive when c is even. With k = floor(log10(2^q)), scaled
 * by 10^-k the interval is narrow enough to hold at most one multiple of
 * 10 and to decide between s and s + 1 (s = floor(v * 10^-k)). The
 * scaled bounds are computed from a 128-bit approximation g of 10^-k,
 * rounded to odd so that comparisons stay exact.
 */
static inline uint64_t round_to_odd(const uint64_t g[2], uint64_t cp)
{
    unsigned __int128 x = (unsigned __int128)g[1] * cp;
    unsigned __int128 y = (unsigned __int128)g[0] * cp + (uint64_t)(x >> 64);
    return (uint64_t)(y >> 64) | ((uint64_t)y > 1);
}

static inline int floor_log10_pow2(int e) { return (e * 1262611) >> 22; }
static inline int floor_log2_pow10(int e) { return (e * 1741647) >> 19; }

/* v = c * 2^q (c >= 1, not a power of two above the subnormals) as the
 * shortest, closest *s * 10^*k. */
static inline __attribute__((always_inline)) void schubfach(uint64_t c, int q, uint64_t *s_out, int *k_out)
{
    bool even = (c & 1) == 0;
    uint64_t cbl = 4 * c - 2, cb = 4 * c, cbr = 4 * c + 2;
    int k = floor_log10_pow2(q);
    int h = q + floor_log2_pow10(-k) + 1;
    const uint64_t *g = cdc__pow10_g[-k - CDC__POW10_MIN];
    uint64_t vbl = round_to_odd(g, cbl << h);
    uint64_t vb = round_to_odd(g, cb << h);
    uint64_t vbr = round_to_odd(g, cbr << h);
    uint64_t lower = vbl + !even, upper = vbr - !even;
    uint64_t s = vb / 4;
    if (s >= 10) {
        uint64_t sp = s / 10;
        bool up_in = lower <= 40 * sp, wp_in = 40 * sp + 40 <= upper;
        if (up_in != wp_in) {
            *s_out = sp + wp_in;
            *k_out = k + 1;
            return;
        }
    }
    bool u_in = lower <= 4 * s, w_in = 4 * s + 4 <= upper;
    if (u_in != w_in) {
        *s_out = s + w_in;
        *k_out = k;
        return;
    }
    uint64_t mid = 4 * s + 2;
    bool up = vb > mid || (vb == mid && (s & 1) != 0);
    *s_out = s + up;
    *k_out = k;
}

/*
 * The text of s * 10^k (s > 0). Trailing zeros are divided off first, four
 * at a time (Schubfach's s has 16 or 17 digits, often ending in zeros),
 * so fewer digits are printed. In the usual plain case, d.ddd, the digits
 * are printed one byte to the right and the integer ones moved left over
 * the gap for the point, with no copy through a second buffer.
 */
static size_t put_scaled_portable(char *buf, bool neg, uint64_t s, int k)
{
    while (s % 10000 == 0) { s /= 10000; k += 4; }
    if (s % 100 == 0) { s /= 100; k += 2; }
    if (s % 10 == 0) { s /= 10; k += 1; }
    char *o = buf + neg;
    int n = (int)cdc__fmt_u64(o, s), decpt = n + k;
    if (decpt > 0 && decpt < n) {
        /* the point let in: the fraction's (at most 16) digits move one
         * byte right by one 16-byte copy, inside the 40 bytes of buf */
        char frac[16];
        memcpy(frac, o + decpt, 16);
        memcpy(o + decpt + 1, frac, 16);
        if (neg) buf[0] = '-';
        o[decpt] = '.';
        o[n + 1] = 0;
        return (size_t)(neg + n + 1);
    }
    char digits[24];
    memcpy(digits, o, (size_t)n);
    return layout(buf, neg, digits, n, decpt);
}

#if HAVE_SSE2
/*
 * The 16 digits of r < 10^16 (leading zeros included) as ASCII, by SSE2:
 * r's four groups of 4 digits (divisions by constants), each group g
 * four times in a 64-bit half as 4g; per 16-bit lane, floor(g / 1000),
 * floor(g / 100), floor(g / 10) and g come out of two multiply-highs,
 * the first by about 2^(16+e) / 10^j (8389 = ceil(2^23 / 1000), 5243 =
 * ceil(2^19 / 100), 13108 = ceil(2^17 / 10), 2^15), the second by
 * 2^(16-e') as a right shift by e' (exact for every g < 10^4; checked for
 * all of them when this was written, and test_double_* compare each
 * text with the portable and the printf roads). Each digit is then its
 * lane less 10 times the lane before it, in the same group.
 */
static inline __m128i digits16_sse2(uint64_t r)
{
    uint64_t hi8 = r / 100000000u, lo8 = r - hi8 * 100000000u;
    uint32_t a = (uint32_t)hi8 / 10000u, b = (uint32_t)hi8 - a * 10000u;
    uint32_t c = (uint32_t)lo8 / 10000u, d = (uint32_t)lo8 - c * 10000u;
    /* 4a, 4b, 4c, 4d in 16-bit lanes 0..3, then each four times */
    uint64_t w = (uint64_t)(a | b << 16) << 2 | (uint64_t)(c | d << 16) << 34;
    __m128i t = _mm_cvtsi64_si128((long long)w);
    t = _mm_unpacklo_epi16(t, t);
    __m128i x0 = _mm_unpacklo_epi32(t, t), x1 = _mm_unpackhi_epi32(t, t);
    const __m128i mul = _mm_setr_epi16(8389, 5243, 13108, -32768, 8389, 5243, 13108, -32768);
    const __m128i shift = _mm_setr_epi16(128, 2048, 8192, -32768, 128, 2048, 8192, -32768);
    __m128i q0 = _mm_mulhi_epu16(_mm_mulhi_epu16(x0, mul), shift);
    __m128i q1 = _mm_mulhi_epu16(_mm_mulhi_epu16(x1, mul), shift);
    const __m128i ten = _mm_set1_epi16(10);
    __m128i d0 = _mm_sub_epi16(q0, _mm_mullo_epi16(_mm_slli_epi64(q0, 16), ten));
    __m128i d1 = _mm_sub_epi16(q1, _mm_mullo_epi16(_mm_slli_epi64(q1, 16), ten));
    return _mm_add_epi8(_mm_packus_epi16(d0, d1), _mm_set1_epi8('0'));
}

/*
 * put_scaled_portable's text, the digits by digits16_sse2: s's first
 * digit apart when it has 17, its leading and trailing zeros counted
 * from one compare of the 16 digits with '0' (no division loop for the
 * trailing zeros). The digits are kept in tmp, with 16 more bytes after
 * them so that the fraction's move reads inside it.
 */
static inline __attribute__((always_inline)) size_t put_scaled_sse2(char *buf, bool neg, uint64_t s, int k)
{
    if (s >= UINT64_C(100000000000000000)) return put_scaled_portable(buf, neg, s, k);
    char tmp[48];
    uint64_t r = s;
    unsigned d0 = 0;
    if (s >= UINT64_C(10000000000000000)) {
        d0 = (unsigned)(s / UINT64_C(10000000000000000));
        r = s - d0 * UINT64_C(10000000000000000);
    }
    __m128i dig = digits16_sse2(r);
    _mm_storeu_si128((__m128i *)(void *)(tmp + 16), dig);
    _mm_storeu_si128((__m128i *)(void *)(tmp + 32), _mm_setzero_si128());
    unsigned nz = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(dig, _mm_set1_epi8('0'))) & 0xffff;
    int tz = nz ? __builtin_clz(nz << 16) : 16, n;
    const char *digits;
    if (d0) {
        tmp[15] = (char)('0' + d0);
        digits = tmp + 15;
        n = 17;
    } else {
        n = 16 - __builtin_ctz(nz); /* s > 0: some digit is not 0 */
        digits = tmp + 32 - n;
    }
    int len = n - tz, decpt = n + k;
    char *o = buf + neg;
    if (decpt > 0 && decpt < len) {
        /* d.ddd: the integer digits, then the fraction's (at most 16)
         * one byte further, inside the 40 bytes of buf */
        memcpy(o, digits, 16);
        memcpy(o + decpt + 1, digits + decpt, 16);
        if (neg) buf[0] = '-';
        o[decpt] = '.';
        o[len + 1] = 0;
        return (size_t)(neg + len + 1);
    }
    return layout(buf, neg, digits, len, decpt);
}
#endif

static inline __attribute__((always_inline)) size_t put_scaled(char *buf, bool neg, uint64_t s, int k, bool simd)
{
#if HAVE_SSE2
    if (simd) return put_scaled_sse2(buf, neg, s, k);
#else
    (void)simd;
#endif
    return put_scaled_portable(buf, neg, s, k);
}

static inline __attribute__((always_inline)) size_t fmt_double(char *buf, double d, bool simd)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    bool neg = bits >> 63;
    uint64_t frac = bits & ((UINT64_C(1) << 52) - 1);
    int bexp = (int)(bits >> 52) & 0x7ff;
    if (bexp == 0x7ff) { memcpy(buf, "null", 5); return 4; }
    if (bexp == 0 && frac == 0) return layout(buf, neg, "0", 1, 1);
    /* Powers of two have a narrower interval below than above; the
     * shortest text in it may then differ from the correctly rounded one
     * the reference picks. Rare in data: leave them to the reference. */
    if (frac == 0 && bexp > 1) return cdc__fmt_double_reference(buf, d);
    uint64_t c = bexp ? frac | (UINT64_C(1) << 52) : frac;
    int q = bexp ? bexp - 1075 : -1074;
    uint64_t s;
    int k;
    if (q <= 0 && q > -53 && (c & ((UINT64_C(1) << -q) - 1)) == 0) {
        s = c >> -q; /* an integer below 2^53: its own digits are the shortest */
        k = 0;
    } else {
        schubfach(c, q, &s, &k);
    }
    return put_scaled(buf, neg, s, k, simd);
}

size_t cdc__fmt_double(char *buf, double d) { return fmt_double(buf, d, true); }
size_t cdc__fmt_double_portable(char *buf, double d) { return fmt_double(buf, d, false); }

/* A float is c * 2^q with c < 2^24: the same search, whose 128-bit
 * powers of ten are more than a float needs (k stays in -45..31). */
size_t cdc__fmt_float(char *buf, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    bool neg = bits >> 31;
    uint32_t frac = bits & ((UINT32_C(1) << 23) - 1);
    int bexp = (int)(bits >> 23) & 0xff;
    if (bexp == 0xff) { memcpy(buf, "null", 5); return 4; }
    if (bexp == 0 && frac == 0) return layout(buf, neg, "0", 1, 1);
    if (frac == 0 && bexp > 1) return cdc__fmt_float_reference(buf, f); /* as for doubles */
    uint64_t c = bexp ? frac | (UINT32_C(1) << 23) : frac;
    int q = bexp ? bexp - 150 : -149;
    uint64_t s;
    int k;
    if (q <= 0 && q > -24 && (c & ((UINT64_C(1) << -q) - 1)) == 0) {
        s = c >> -q; /* an integer below 2^24 */
        k = 0;
    } else {
        schubfach(c, q, &s, &k);
    }
    return put_scaled(buf, neg, s, k, true);
}

#else

size_t cdc__fmt_double(char *buf, double d) { return cdc__fmt_double_reference(buf, d); }
size_t cdc__fmt_double_portable(char *buf, double d) { return cdc__fmt_double_reference(buf, d); }
size_t cdc__fmt_float(char *buf, float f) { return cdc__fmt_float_reference(buf, f); }

#endif

int cdc__utf8_put(cdc__buf *b, uint32_t cp)
{
    uint8_t u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xc0 | cp >> 6);
        u[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xe0 | cp >> 12);
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xf0 | cp >> 18);
        u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return cdc__buf_append(b, u, n);
}
