/*
 * jsonw.h: writing JSON text: string literals from UTF-8 (validated,
 * escaped), base64 strings, integers and shortest round-trip doubles.
 * A leaf module (it uses only util.c): charset.c, json.c, render.c and
 * output.c all write through it, none of them through each other.
 * Internal; not installed.
 */
#ifndef CDC_JSONW_H
#define CDC_JSONW_H

#include "util.h"

/* Appends a JSON string literal of UTF-8 text, escaping '"', '\\' and
 * control characters and replacing invalid UTF-8 with U+FFFD. */
int cdc__render_utf8_string(cdc__buf *out, const uint8_t *s, size_t len);
/* True if s[0..len) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool cdc__utf8_valid(const uint8_t *s, size_t len);
/* Appends code point cp (<= 0x10FFFF, no surrogate: the caller checks)
 * as UTF-8; 0 or CDC_ERR_NOMEM. */
int cdc__utf8_put(cdc__buf *b, uint32_t cp);
/* The same results by other roads, for the tests: _portable without SSE2
 * (the path of other architectures), _sse2 without SSSE3's shuffles (the
 * road of x86-64 CPUs without SSSE3; _portable elsewhere), _ssse3 16-byte
 * blocks with the shuffles (the road of x86-64 CPUs without AVX2; _sse2
 * where the CPU lacks SSSE3), _reference one sequence at a time (the
 * definition); cdc__render_utf8_string_reference never takes the
 * valid-text shortcut; _avx2 32-byte blocks (where the CPU lacks AVX2,
 * _ssse3) and _avx512 64-byte blocks (where it lacks AVX-512 BW, VBMI,
 * VBMI2 or BMI2, _avx2): cdc__render_utf8_string takes the widest of
 * them the CPU has. cdc__render_has_avx512 / _avx2 / _ssse3: whether this
 * CPU has the AVX-512 road / the AVX2 road / SSSE3. */
bool cdc__utf8_valid_portable(const uint8_t *s, size_t len);
bool cdc__utf8_valid_reference(const uint8_t *s, size_t len);
int cdc__render_utf8_string_portable(cdc__buf *out, const uint8_t *s, size_t len);
int cdc__render_utf8_string_reference(cdc__buf *out, const uint8_t *s, size_t len);
int cdc__render_utf8_string_sse2(cdc__buf *out, const uint8_t *s, size_t len);
int cdc__render_utf8_string_ssse3(cdc__buf *out, const uint8_t *s, size_t len);
int cdc__render_utf8_string_avx2(cdc__buf *out, const uint8_t *s, size_t len);
int cdc__render_utf8_string_avx512(cdc__buf *out, const uint8_t *s, size_t len);
bool cdc__render_has_avx512(void);
bool cdc__render_has_avx2(void);
bool cdc__render_has_ssse3(void);
/* Appends s as UTF-8 with every invalid sequence replaced by U+FFFD.
 * Returns CDC_OK or CDC_ERR_NOMEM. */
int cdc__utf8_sanitize(const uint8_t *s, size_t len, cdc__buf *out);
/* Appends "<base64>" (standard alphabet, padded), quotes included. */
int cdc__render_base64(cdc__buf *out, const uint8_t *p, size_t len);

/* Copies n bytes: up to 16 by two overlapping moves inline, because
 * for the short pieces of a line (names, numbers, metadata) a call to
 * memcpy costs more than the copy itself. */
static inline void cdc__copy_short(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (n > 16) {
        memcpy(d, s, n);
    } else if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; i++) d[i] = s[i];
    }
}

/* Decimal text of an integer, no NUL; buf needs 20 (u64) or 21 (i64)
 * bytes. Return the length. */
size_t cdc__fmt_u64(char *buf, uint64_t v);
/* Inline: its sign costs a compare at the caller, not a second call. */
static inline size_t cdc__fmt_i64(char *buf, int64_t v)
{
    if (v >= 0) return cdc__fmt_u64(buf, (uint64_t)v);
    buf[0] = '-';
    return 1 + cdc__fmt_u64(buf + 1, (uint64_t)0 - (uint64_t)v);
}

/*
 * Shortest decimal text that reads back as the same double/float, laid
 * out as docs/values.md says (plain notation for decimal exponents
 * -14..15, else d.ddde[-]N); non-finite values give "null". buf needs 40
 * bytes. Returns the length (no NUL is counted; one is written).
 */
size_t cdc__fmt_double(char *buf, double d);
size_t cdc__fmt_float(char *buf, float f);
/* The same text without SSE2 (the road of other architectures), for the
 * tests. */
size_t cdc__fmt_double_portable(char *buf, double d);
/* The same text as cdc__fmt_double, found by printf and strtod round
 * trips (the slow definition the fast path is tested against). */
size_t cdc__fmt_double_reference(char *buf, double d);
size_t cdc__fmt_float_reference(char *buf, float f);

#endif /* CDC_JSONW_H */
