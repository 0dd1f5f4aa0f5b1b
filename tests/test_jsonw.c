/*
 * Unit tests for jsonw.c: shortest round-trip doubles (the Schubfach
 * path against strtod and against the printf/strtod reference, on
 * random and edge values), integers against printf, JSON string
 * escaping against a byte-at-a-time model on random byte strings (the
 * SSE2 path, the portable 8-byte path and the one-sequence-at-a-time
 * path), and the UTF-8 validators against a code-point model on random
 * and exhaustive short byte strings at every alignment.
 *
 * CDC_JSONW_DOUBLES=N sets how many random doubles (default 400,000;
 * a long run: 100000000 or more, on a release build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <iconv.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "jsonw.h"

static uint64_t rng = 0x2545f4914f6cdd1du;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static long failures;

/* The fast text (digits by SSE2 on x86-64) and the portable road's
 * equal the reference text and read back as d. */
static void check_double(double d)
{
    char a[48], b[48], c[48];
    size_t na = cdc__fmt_double(a, d), nb = cdc__fmt_double_reference(b, d), nc = cdc__fmt_double_portable(c, d);
    if (na != strlen(a) || nb != strlen(b) || strcmp(a, b) != 0) {
        if (failures++ < 20) printf("%a: fast \"%s\", reference \"%s\"\n", d, a, b);
        return;
    }
    if (nc != strlen(c) || strcmp(c, b) != 0) {
        if (failures++ < 20) printf("%a: portable \"%s\", reference \"%s\"\n", d, c, b);
        return;
    }
    if (isfinite(d) && strtod(a, NULL) != d) {
        if (failures++ < 20) printf("%a: \"%s\" reads back as %a\n", d, a, strtod(a, NULL));
    }
}

static void test_double_edges(void **state)
{
    (void)state;
    failures = 0;
    const double fixed[] = {0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.3, 1e15, 1e16, 1e17, 123456789012345.0,
                            1000000000000000.2, 1.2345678901234568e17, 1e-14, 1e-15, 1.5e-15, 5e-324,
                            -5e-324, DBL_MIN, DBL_MAX, -DBL_MAX, DBL_EPSILON, 9007199254740991.0,
                            9007199254740992.0, 9007199254740993.0, 4.35, 2.675, 1e23, 8.41e21,
                            5.764607523034235e39, 2.2250738585072011e-308, 2.2250738585072014e-308};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) check_double(fixed[i]);
    /* every power of two and ten, and their neighbours */
    for (int e = -1074; e <= 1023; e++) {
        double p = ldexp(1.0, e);
        check_double(p);
        check_double(nextafter(p, 0));
        check_double(nextafter(p, INFINITY));
        check_double(-p);
    }
    for (int e = -323; e <= 308; e++) {
        char s[32];
        snprintf(s, sizeof s, "1e%d", e);
        double p = strtod(s, NULL);
        check_double(p);
        check_double(nextafter(p, 0));
        check_double(nextafter(p, INFINITY));
    }
    /* integers around 2^53, subnormal boundaries */
    for (int64_t i = -100; i <= 100; i++) check_double((double)((INT64_C(1) << 53) + i));
    for (uint64_t f = 0; f < 2000; f++) {
        uint64_t bits = f;
        double d;
        memcpy(&d, &bits, 8);
        check_double(d);
        bits = (UINT64_C(0x0010000000000000) - 1000) + f;
        memcpy(&d, &bits, 8);
        check_double(d);
    }
    char buf[48];
    assert_int_equal(cdc__fmt_double(buf, INFINITY), 4);
    assert_string_equal(buf, "null");
    assert_int_equal(cdc__fmt_double(buf, NAN), 4);
    assert_string_equal(buf, "null");
    assert_int_equal(failures, 0);
}

/* The SSE2 road prints a double's digits as four groups of 4 by
 * multiply-highs: every value 0..9999 of each group (with other values
 * in the other groups), as integers below 2^53 (printed as they are)
 * and scaled by powers of ten (through Schubfach), and 17-digit texts
 * (the first digit apart) with each group value; against the reference
 * and the portable road (check_double). */
static void test_double_digit_groups(void **state)
{
    (void)state;
    failures = 0;
    long n = 0;
    for (uint64_t g = 0; g < 10000; g++) {
        const uint64_t parts[4] = {g, (g * 7 + 1) % 10000, (g * 13 + 5) % 10000, (g * 31 + 9) % 10000};
        for (int rot = 0; rot < 4; rot++) {
            uint64_t x = 0;
            for (int j = 0; j < 4; j++) x = x * 10000 + parts[(j + rot) % 4];
            x %= UINT64_C(9007199254740992); /* below 2^53: exact */
            if (!x) continue;
            check_double((double)x);
            check_double(-(double)x / 1e6);
            check_double((double)x * 1e-20);
            check_double((double)x * 1e5);
            /* 17 significant digits: doubles near 2^60 */
            check_double((double)((UINT64_C(1) << 60) + x * 128));
            n += 5;
        }
    }
    printf("%ld doubles with every 4-digit group: fast = portable = reference\n", n);
    assert_int_equal(failures, 0);
}

static void test_double_random(void **state)
{
    (void)state;
    failures = 0;
    const char *e = getenv("CDC_JSONW_DOUBLES");
    long n = e ? atol(e) : 400000;
    for (long i = 0; i < n; i++) {
        double d;
        uint64_t bits = next();
        switch (i % 4) {
        case 0: memcpy(&d, &bits, 8); break; /* any bit pattern */
        case 1: d = (double)(int64_t)(bits % 2000000000000 - 1000000000000) / 100.0; break; /* money */
        case 2: d = (double)(bits % 1000000) * pow(10.0, (int)((bits >> 32) % 60) - 30); break;
        default: d = (double)(int64_t)(bits >> 12) / (double)((next() % 1000) + 1); break;
        }
        check_double(d);
    }
    printf("%ld random doubles: fast text = reference text, reads back exactly\n", n);
    assert_int_equal(failures, 0);
}

/* The float path against its printf/strtof reference, and the text
 * reads back as f. */
static void check_float(float f)
{
    char a[48], b[48];
    size_t na = cdc__fmt_float(a, f), nb = cdc__fmt_float_reference(b, f);
    if (na != nb || strcmp(a, b)) {
        if (failures++ < 10) printf("float %a: fast %s, reference %s\n", (double)f, a, b);
        return;
    }
    if (isfinite(f) && strtof(a, NULL) != f && failures++ < 10) printf("float %a: %s does not read back\n", (double)f, a);
}

/* Floats of several binades (subnormals, the smallest normals, around 1,
 * integers near 2^24, the largest) every CDC_JSONW_FLOAT_STRIDE-th
 * (default 127; 1 checks the eight binades whole, 134 million floats,
 * minutes), every power of two, and random bit patterns and
 * decimal-looking values (CDC_JSONW_FLOATS, default 100,000). */
static void test_float_shortest(void **state)
{
    (void)state;
    failures = 0;
    long n = 0;
    const char *st = getenv("CDC_JSONW_FLOAT_STRIDE");
    uint32_t stride = st && atol(st) > 0 ? (uint32_t)atol(st) : 127;
    static const unsigned binades[] = {0, 1, 2, 126, 127, 150, 151, 254};
    for (size_t b = 0; b < sizeof binades / sizeof binades[0]; b++)
        for (uint32_t m = 0; m < (1u << 23); m += stride) {
            uint32_t bits = (uint32_t)binades[b] << 23 | m;
            float f;
            memcpy(&f, &bits, 4);
            check_float(f);
            check_float(-f);
            n += 2;
        }
    for (int e = -149; e <= 127; e++) {
        check_float(ldexpf(1.0f, e));
        n++;
    }
    const char *env = getenv("CDC_JSONW_FLOATS");
    long r = env ? atol(env) : 100000;
    for (long i = 0; i < r; i++) {
        uint64_t bits = next();
        float f;
        if (i % 2) {
            uint32_t u = (uint32_t)bits;
            memcpy(&f, &u, 4);
        } else {
            f = (float)((double)(bits % 10000000) * pow(10.0, (int)((bits >> 32) % 50) - 30));
        }
        check_float(f);
        n++;
    }
    printf("%ld floats: fast text = reference text, reads back exactly\n", n);
    assert_int_equal(failures, 0);
}

/* cdc__fmt_u64 and cdc__fmt_i64 against printf on one value each. */
/* Also checks the promise of jsonw.h: nothing written past the first 20
 * bytes (the bytes after them keep their fill). */
static void expect_u64(uint64_t u)
{
    char a[32], b[32];
    memset(a, '#', sizeof a);
    size_t n = cdc__fmt_u64(a, u);
    for (size_t i = 20; i < sizeof a; i++) assert_int_equal(a[i], '#');
    a[n] = 0;
    snprintf(b, sizeof b, "%" PRIu64, u);
    assert_string_equal(a, b);
}

static void expect_i64(int64_t v)
{
    char a[32], b[32];
    a[cdc__fmt_i64(a, v)] = 0;
    snprintf(b, sizeof b, "%" PRId64, v);
    assert_string_equal(a, b);
}

static void test_integers(void **state)
{
    (void)state;
    char a[32], b[32];
    const uint64_t fixed[] = {0, 1, 9, 10, 99, 100, 101, 999, 1000, UINT32_MAX, UINT64_MAX, UINT64_MAX / 10,
                              /* past 2^32: the low 8 digits split off first */
                              UINT32_MAX + UINT64_C(1), 100000000, 100000000000000000u, 4200000000000000017u};
    const int nfixed = (int)(sizeof fixed / sizeof fixed[0]);
    for (int i = 0; i < 200000; i++) {
        uint64_t u = i < nfixed ? fixed[i] : next() >> (next() % 64);
        expect_u64(u);
        expect_i64((int64_t)u);
    }
    /* the digit count changes at each power of ten: both sides of each */
    uint64_t p10 = 1;
    for (int k = 0; k < 20; k++, p10 *= 10) {
        for (int d = -1; d <= 1; d++) {
            expect_u64(p10 + (uint64_t)(int64_t)d);
        }
    }
    /* cdc__fmt_u64 jumps on the bit length, then compares with the power
     * of ten inside it: both sides of every bit length (2^k - 2 .. 2^k +
     * 2) and the 2,001 values around every power of ten, signed as well
     * (INT64_MIN, INT64_MAX and the negatives included) */
    for (int k = 0; k <= 64; k++) {
        uint64_t pk = k == 64 ? 0 : UINT64_C(1) << k;
        for (int d = -2; d <= 2; d++) {
            uint64_t u = pk + (uint64_t)(int64_t)d;
            expect_u64(u);
            expect_i64((int64_t)u);
        }
    }
    p10 = 1;
    for (int k = 0; k < 20; k++, p10 *= 10)
        for (int d = -1000; d <= 1000; d++) {
            uint64_t u = p10 + (uint64_t)(int64_t)d;
            expect_u64(u);
            expect_i64(-(int64_t)(u >> 1));
        }
    /* every value below 2^20, then 100,000 random values of each digit
     * count 1..20 (the pairs come from a fixed-point product whose error
     * grows with the value: the largest values of each count matter) */
    long checked = 0;
    for (uint64_t u = 0; u < (UINT64_C(1) << 20); u++, checked++) {
        size_t m = cdc__fmt_u64(a, u);
        a[m] = 0;
        snprintf(b, sizeof b, "%" PRIu64, u);
        if (strcmp(a, b) != 0 && failures++ < 20) printf("%" PRIu64 ": \"%s\"\n", u, a);
    }
    uint64_t lo = 1;
    for (int k = 1; k <= 20; k++, lo *= 10) {
        uint64_t span = k == 20 ? UINT64_MAX - lo : lo * 9; /* [10^(k-1), 10^k) */
        for (int i = 0; i < 100000; i++, checked++) {
            /* a third near the top of the range, where the error is largest */
            uint64_t u = i % 3 == 0 ? lo + span - 1 - next() % (span < 1000000 ? span : 1000000) : lo + next() % span;
            size_t m = cdc__fmt_u64(a, u);
            a[m] = 0;
            snprintf(b, sizeof b, "%" PRIu64, u);
            if (strcmp(a, b) != 0 && failures++ < 20) printf("%" PRIu64 ": \"%s\"\n", u, a);
        }
    }
    printf("%ld integers: digits = printf's\n", checked);
    assert_int_equal(failures, 0);
    /* every value below 10^8, the whole domain of put_digits, against
     * an odometer (printf would take minutes): its text is the odometer's
     * digits from the first that is not 0 */
    char odo[9] = "00000000";
    size_t first = 7;
    for (uint32_t u = 0; u < 100000000u; u++) {
        size_t m = cdc__fmt_u64(a, u);
        if ((m != 8 - first || memcmp(a, odo + first, m) != 0) && failures++ < 20)
            printf("%" PRIu32 ": \"%.*s\"\n", u, (int)m, a);
        int i = 7;
        while (i >= 0 && odo[i] == '9') odo[i--] = '0';
        if (i >= 0) odo[i]++;
        if (i >= 0 && (size_t)i < first) first = (size_t)i;
    }
    printf("every value below 10^8: digits = an odometer's\n");
    assert_int_equal(failures, 0);
    size_t n = cdc__fmt_i64(a, INT64_MIN);
    a[n] = 0;
    assert_string_equal(a, "-9223372036854775808");
}

/* DECIMAL text from an unscaled integer, against the digits printf gives
 * for |unscaled| with the point put in by hand: every scale a DECIMAL of
 * up to 18 digits can have, the powers of ten around each digit count,
 * and random values. */
static void test_decimal_text(void **state)
{
    (void)state;
    long n = 0;
    for (int i = 0; i < 400000; i++) {
        /* scales past 18 (the wider road) too, and past 19 */
        unsigned scale = (unsigned)(i % 19 + (i % 7 == 6 ? i / 7 % 13 : 0));
        int64_t u;
        if (i < 19 * 40) {
            int64_t p = 1;
            for (int k = 0; k < (i / 19) % 19; k++) p *= 10;
            u = p + (i / 19 / 19) - 1;
            if (i & 1) u = -u;
        } else {
            u = (int64_t)(next() >> (next() % 64));
            if (next() & 1) u = u == INT64_MIN ? u : -u;
            if (i % 1000 == 999) u = INT64_MIN;
            if (i % 1000 == 998) u = INT64_MAX;
            if (i % 1000 == 997) u = 0;
        }
        uint64_t m = u < 0 ? (uint64_t)0 - (uint64_t)u : (uint64_t)u;
        char digits[48], want[64], got[CDC__DECIMAL_TEXT_MAX];
        int nd = snprintf(digits, sizeof digits, "%0*" PRIu64, (int)scale + 1, m);
        int w = snprintf(want, sizeof want, "%s%.*s", u < 0 ? "-" : "", nd - (int)scale, digits);
        if (scale) snprintf(want + w, sizeof want - (size_t)w, ".%s", digits + nd - (int)scale);
        size_t len = cdc__decimal_i64_text(u, scale, got);
        got[len] = 0;
        assert_string_equal(got, want);
        n++;
    }
    printf("%ld DECIMAL texts equal printf's digits\n", n);
}

/* The Unicode definition, one code point at a time: shortest form only,
 * no surrogates, nothing past U+10FFFF. Shares no code with jsonw.c. */
static bool model_valid(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        uint32_t c = s[i], min;
        size_t n;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xe0) == 0xc0) { n = 2; c &= 0x1f; min = 0x80; }
        else if ((c & 0xf0) == 0xe0) { n = 3; c &= 0x0f; min = 0x800; }
        else if ((c & 0xf8) == 0xf0) { n = 4; c &= 0x07; min = 0x10000; }
        else return false;
        if (len - i < n) return false;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            c = (c << 6) | (s[i + k] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return false;
        i += n;
    }
    return true;
}

static long validated;

/* Every validator agrees with the model on s, and on s placed at each
 * offset 0..17 after ASCII and followed by 0 or 7 bytes of ASCII (so each
 * byte meets every position in a 16-byte block and an 8-byte word). */
static void check_valid(const uint8_t *s, size_t len)
{
    bool want = model_valid(s, len);
    assert_int_equal(cdc__utf8_valid(s, len), want);
    assert_int_equal(cdc__utf8_valid_portable(s, len), want);
    assert_int_equal(cdc__utf8_valid_reference(s, len), want);
    uint8_t buf[128];
    if (len > 48) return;
    for (size_t off = 0; off <= 17; off++) {
        memset(buf, 'a', sizeof buf);
        memcpy(buf + off, s, len);
        for (size_t tail = 0; tail <= 7; tail += 7) {
            size_t n = off + len + tail;
            assert_int_equal(cdc__utf8_valid(buf, n), want);
            assert_int_equal(cdc__utf8_valid_portable(buf, n), want);
        }
    }
    validated++;
}

static void test_utf8_valid(void **state)
{
    (void)state;
    uint8_t s[64];
    /* every 1- and 2-byte string */
    for (unsigned a = 0; a < 256; a++) {
        s[0] = (uint8_t)a;
        check_valid(s, 1);
        for (unsigned b = 0; b < 256; b++) {
            s[1] = (uint8_t)b;
            bool want = model_valid(s, 2);
            assert_int_equal(cdc__utf8_valid(s, 2), want);
            assert_int_equal(cdc__utf8_valid_portable(s, 2), want);
        }
    }
    /* every lead byte from 0xc0 with every second byte, and third and
     * fourth bytes at the edges of the continuation range: overlongs,
     * surrogates, U+10FFFF and past it, truncated sequences */
    static const uint8_t edge[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xf5, 0xff};
    for (unsigned a = 0xc0; a < 256; a++)
        for (unsigned b = 0; b < 256; b++)
            for (size_t c = 0; c < sizeof edge; c++)
                for (size_t d = 0; d < sizeof edge; d++) {
                    s[0] = (uint8_t)a;
                    s[1] = (uint8_t)b;
                    s[2] = edge[c];
                    s[3] = edge[d];
                    if ((edge[d] == 0x80 || edge[d] == 0xbf) &&
                        (b % 16 == 0 || b == 0x8f || b == 0x9f || b == 0xbf))
                        for (size_t n = 1; n <= 4; n++) check_valid(s, n);
                    bool want = model_valid(s, 4);
                    assert_int_equal(cdc__utf8_valid(s, 4), want);
                    assert_int_equal(cdc__utf8_valid_portable(s, 4), want);
                }
    /* random strings: mostly valid text with a broken byte now and then,
     * and plain random bytes */
    static const char *pieces[] = {"a", "abcdefghijklmnopq", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                   "\xf4\x8f\xbf\xbf", "\xef\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80", " ", "\x7f"};
    static const char *broken[] = {"\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xed\xa0\x80", "\xc0\xaf", "\xc1\xbf",
                                   "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
                                   "\xff", "\x80", "\xbf"};
    uint8_t r[300];
    for (int round = 0; round < 200000; round++) {
        size_t n = 0, want = next() % 280;
        while (n < want) {
            const char *p = (next() % 50 == 0) ? broken[next() % (sizeof broken / sizeof broken[0])]
                                               : pieces[next() % (sizeof pieces / sizeof pieces[0])];
            size_t k = strlen(p);
            if (n + k > sizeof r) break;
            memcpy(r + n, p, k);
            n += k;
        }
        if (round % 4 == 0)
            for (size_t i = 0; i < n; i++) r[i] = (uint8_t)next();
        bool m = model_valid(r, n);
        assert_int_equal(cdc__utf8_valid(r, n), m);
        assert_int_equal(cdc__utf8_valid_portable(r, n), m);
        assert_int_equal(cdc__utf8_valid_reference(r, n), m);
        if (round % 64 == 0) check_valid(r, n);
    }
    printf("UTF-8 validators (SSE2, portable, reference) = model; %ld strings at 18 offsets\n", validated);
}

/* Byte at a time: what the escaper must produce. */
static void model_escape(const uint8_t *s, size_t len, cdc__buf *out)
{
    cdc__buf_putc(out, '"');
    for (size_t i = 0; i < len;) {
        uint8_t c = s[i];
        size_t n = 0;
        if (c >= 0x80) {
            /* decode one sequence and accept it only if cdc__utf8_valid does */
            size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
            if (want && i + want <= len && model_valid(s + i, want)) n = want;
            if (n) cdc__buf_append(out, s + i, n);
            else cdc__buf_append(out, "\xef\xbf\xbd", 3);
            i += n ? n : 1;
            continue;
        }
        char esc[8];
        if (c == '"') cdc__buf_puts(out, "\\\"");
        else if (c == '\\') cdc__buf_puts(out, "\\\\");
        else if (c == '\n') cdc__buf_puts(out, "\\n");
        else if (c == '\r') cdc__buf_puts(out, "\\r");
        else if (c == '\t') cdc__buf_puts(out, "\\t");
        else if (c == '\b') cdc__buf_puts(out, "\\b");
        else if (c == '\f') cdc__buf_puts(out, "\\f");
        else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); cdc__buf_puts(out, esc); }
        else cdc__buf_putc(out, c);
        i++;
    }
    cdc__buf_putc(out, '"');
}

static void *ng_malloc(size_t n, void *ud) { (void)n; (void)ud; return NULL; }
static void *ng_realloc(void *p, size_t n, void *ud) { (void)p; (void)n; (void)ud; return NULL; }
static void ng_free(void *p, void *ud) { (void)p; (void)ud; }
static const cdc_allocator no_grow = {ng_malloc, ng_realloc, ng_free, NULL};

/* The escaper's roads: the one cdc dump takes (the widest the CPU has),
 * 64-byte AVX-512 blocks (where the CPU has them; else the AVX2 road),
 * 32-byte AVX2 blocks (where it has AVX2; else the SSSE3 road), 16-byte
 * blocks with SSSE3's shuffles for blocks of quotes, SSE2 alone, and the
 * portable one of other architectures. */
typedef int (*escaper)(cdc__buf *, const uint8_t *, size_t);
static const escaper roads[] = {cdc__render_utf8_string,      cdc__render_utf8_string_avx512,
                                cdc__render_utf8_string_avx2, cdc__render_utf8_string_ssse3,
                                cdc__render_utf8_string_sse2, cdc__render_utf8_string_portable};
static const char *const road_names[] = {"dispatched", "avx512", "avx2", "ssse3", "sse2", "portable"};

/* Each road against the model's text: into a growing buffer (got, reused),
 * into one of exactly the text's room plus 16, and into one a byte short,
 * which must refuse (CDC_ERR_NOMEM) rather than write past it. */
static void check_roads(const uint8_t *in, size_t len, const cdc__buf *want, cdc__buf *got)
{
    static uint8_t fixed[4096];
    assert_true(want->len + 16 <= sizeof fixed);
    for (size_t r = 0; r < sizeof roads / sizeof roads[0]; r++) {
        cdc__buf_reset(got);
        assert_int_equal(roads[r](got, in, len), CDC_OK);
        if (got->len != want->len || memcmp(got->data, want->data, got->len) != 0) {
            printf("%s road differs from the model at length %zu\n", road_names[r], len);
            fail();
        }
        cdc__buf fb = {fixed, 0, want->len + 16, &no_grow};
        assert_int_equal(roads[r](&fb, in, len), CDC_OK);
        assert_int_equal(fb.len, want->len);
        assert_memory_equal(fb.data, want->data, want->len);
        cdc__buf small = {fixed, 0, want->len - 1, &no_grow};
        assert_int_equal(roads[r](&small, in, len), CDC_ERR_NOMEM);
    }
}

/* Quote-dense text (JSON kept in a TEXT column): every length up to 80
 * with '"' and '\\' at random places (every pattern of them in a block
 * half comes up), some with a control character or a two-byte letter
 * too, so that the block loop, the shuffles, the padded tail and the
 * one-escape road all run (up to 140: past the AVX-512 road's second
 * 64-byte block); by each road, into a growing buffer, one of
 * exactly the room the text needs plus 16, and one a byte short. */
static void test_quote_dense(void **state)
{
    (void)state;
    static const char alphabet[] = "\"\\abcdefgh: ,[]{}0123";
    long n = 0;
    printf("SSSE3 road: %s\n", cdc__render_has_ssse3() ? "yes" : "no (this CPU lacks SSSE3)");
    printf("AVX2 road: %s\n", cdc__render_has_avx2() ? "yes" : "no (this CPU lacks AVX2)");
    printf("AVX-512 road: %s\n",
           cdc__render_has_avx512() ? "yes" : "no (this CPU lacks AVX-512 BW/VBMI/VBMI2 or BMI2: not tested)");
    for (size_t len = 0; len <= 140; len++) {
        for (int round = 0; round < 300; round++) {
            uint8_t in[144];
            for (size_t i = 0; i < len; i++) {
                /* half the rounds quotes only: every mask of a half */
                /* a quarter with short-escaped control characters among them */
                in[i] = round & 1        ? (uint8_t)"\"\\ab"[next() % 4]
                        : round % 4 == 2 ? (uint8_t)"\"\\ab\n\t\r\b\f"[next() % 9]
                                         : (uint8_t)alphabet[next() % (sizeof alphabet - 1)];
            }
            if (len && round % 7 == 0) in[next() % len] = '\n';
            if (len > 1 && round % 5 == 0) {
                size_t at = next() % (len - 1);
                in[at] = 0xc3;
                in[at + 1] = 0xa9;
            }
            cdc__buf want, got;
            cdc__buf_init(&want, NULL);
            cdc__buf_init(&got, NULL);
            model_escape(in, len, &want);
            check_roads(in, len, &want, &got);
            n += (long)(sizeof roads / sizeof roads[0]);
            cdc__buf_free(&got);
            cdc__buf_free(&want);
        }
    }
    printf("%ld quote-dense strings escaped as the model escapes them (%zu roads)\n", n,
           sizeof roads / sizeof roads[0]);
}

/* The one-pass escaper (SSE2) checks and escapes 16-byte blocks, reads
 * the last ones from a padded copy and carries a sequence across a block
 * edge: every piece that needs a look (valid and broken sequences of 2 to
 * 4 bytes, quotes, control characters) at every offset of ASCII text of
 * every length up to 136 (past two 64-byte blocks), alone and in pairs, against the model and the
 * portable road, into a growing buffer, one of the text's size plus 16
 * and one a byte short. */
static void test_block_edges(void **state)
{
    (void)state;
    static const char *pieces[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xc3",
                                   "\xe2\x82", "\xf0\x9f\x98", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80",
                                   "\x80", "\xff", "\"", "\\", "\n", "\x01", "\x1f", "\x7f",
                                   /* each edge of the lookups' error classes, valid and not */
                                   "\xe0\xa0\x80", "\xe0\x9f\xbf", "\xed\x9f\xbf", "\xee\x80\x80",
                                   "\xf0\x90\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xf5\x80\x80\x80",
                                   "\xc1\xbf", "\xc2\x80", "\xdf\xbf", "\xf8\x88\x80\x80\x80", "\xe2\x82\xac\xac",
                                   "\xf1\x80\x80", "\xef\xbf\xbf"};
    size_t np = sizeof pieces / sizeof pieces[0];
    long n = 0;
    uint8_t in[144];
    cdc__buf want, got;
    cdc__buf_init(&want, NULL);
    cdc__buf_init(&got, NULL);
    for (size_t len = 1; len <= 136; len++) {
        for (size_t at = 0; at < len; at++) {
            for (size_t a = 0; a < np; a++) {
                size_t b = (a * 7 + len + at) % np; /* a second piece further on */
                memset(in, 'a' + (int)(len % 20), sizeof in);
                size_t k = strlen(pieces[a]);
                if (at + k > len) continue;
                memcpy(in + at, pieces[a], k);
                size_t at2 = at + k + (len * 3 + a) % 17;
                if (at2 + strlen(pieces[b]) <= len) memcpy(in + at2, pieces[b], strlen(pieces[b]));
                cdc__buf_reset(&want);
                model_escape(in, len, &want);
                check_roads(in, len, &want, &got);
                n++;
            }
        }
    }
    cdc__buf_free(&want);
    cdc__buf_free(&got);
    printf("%ld strings with a piece at each block offset escaped as the model escapes them\n", n);
}

/* Text of two-byte letters (the TEXT column of accented words), which
 * the AVX2 road checks 32 bytes at a time by its masks: random runs of
 * two-byte letters and ASCII, with now and then a 3- or 4-byte letter,
 * an invalid byte or sequence (a lone lead, a stray continuation, an
 * overlong, a surrogate, a lead at the very end), a quote or a control
 * character, at every length up to 300 and from 4 start offsets (so
 * letters straddle every 16- and 32-byte edge); each road against the
 * model, into a growing buffer, one of the text's size plus 16 and one
 * a byte short; and cdc__utf8_valid against the reference validator. */
static void test_letter_blocks(void **state)
{
    (void)state;
    static const char *rare[] = {"\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3", "\x80", "\xc0\xaf", "\xed\xa0\x80",
                                 "\xf4\x90\x80\x80", "\xe2\x82", "\"", "\\", "\n", "\x01", "\xdf\xbf", "\xc2\x80",
                                 "\xe0\x80\x80", "\xf0\x80\x80\x80", "\xf5\x80\x80\x80", "\xed\x9f\xbf",
                                 "\xf4\x8f\xbf\xbf", "\xe0\xa0\x80", "\xf0\x9f\x98"};
    static const char *letters[] = {"\xc3\xa9", "\xc3\xbc", "\xd0\x96", "\xc2\xa0", "\xdf\xbf"};
    uint8_t in[320];
    cdc__buf want, got;
    cdc__buf_init(&want, NULL);
    cdc__buf_init(&got, NULL);
    long n = 0, invalid = 0;
    for (size_t len = 0; len <= 300; len++) {
        for (int round = 0; round < 40; round++) {
            size_t off = (size_t)round % 4, k = 0;
            uint8_t *t = in + off;
            while (k < len) {
                uint64_t r = next();
                const char *piece = r % 3 == 0 ? "a" : r % 3 == 1 ? " " : letters[(r >> 8) % 5];
                if (round % 3 && (r >> 16) % 97 == 0) piece = rare[(r >> 24) % (sizeof rare / sizeof rare[0])];
                if (round % 5 == 4 && (r >> 16) % 3 == 0) piece = "\xe2\x82\xac"; /* runs of 3- and 4-byte letters */
                if (round % 5 == 4 && (r >> 16) % 3 == 1) piece = "\xf0\x9f\x98\x80";
                size_t pl = strlen(piece);
                if (k + pl > len) piece = "b", pl = 1;
                memcpy(t + k, piece, pl);
                k += pl;
            }
            if (round == 39 && len) t[len - 1] = 0xc3; /* a lead at the very end */
            cdc__buf_reset(&want);
            model_escape(t, len, &want);
            bool valid = cdc__utf8_valid_reference(t, len);
            invalid += !valid;
            assert_int_equal(cdc__utf8_valid(t, len), valid);
            assert_int_equal(cdc__utf8_valid_portable(t, len), valid);
            check_roads(t, len, &want, &got);
            n += (long)(sizeof roads / sizeof roads[0]);
        }
    }
    cdc__buf_free(&want);
    cdc__buf_free(&got);
    printf("%ld texts of two-byte letters escaped as the model escapes them (%ld invalid)\n", n, invalid);
}

static void test_string_escaping(void **state)
{
    (void)state;
    /* pieces that random strings are made of: plain runs, every class of
     * byte that needs a look, valid and broken multi-byte sequences */
    static const char *pieces[] = {"abcdefgh", "0123456789abcdefXYZ", "\"", "\\", "\n", "\x01", "\x1f",
                                   " ", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3",
                                   "\xe2\x82", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "\xff",
                                   "\x80", "q"};
    cdc__buf in, got, want;
    cdc__buf_init(&in, NULL);
    cdc__buf_init(&got, NULL);
    cdc__buf_init(&want, NULL);
    for (int round = 0; round < 20000; round++) {
        cdc__buf_reset(&in);
        size_t k = next() % (round % 100 == 0 ? 3000 : 40);
        for (size_t i = 0; i < k; i++) cdc__buf_puts(&in, pieces[next() % (sizeof pieces / sizeof pieces[0])]);
        for (size_t off = 0; off < 3 && off <= in.len; off++) {
            cdc__buf_reset(&got);
            cdc__buf_reset(&want);
            model_escape(in.data + off, in.len - off, &want);
            int (*const esc[])(cdc__buf *, const uint8_t *, size_t) = {
                cdc__render_utf8_string,       cdc__render_utf8_string_avx512, cdc__render_utf8_string_avx2,
                cdc__render_utf8_string_ssse3, cdc__render_utf8_string_sse2,   cdc__render_utf8_string_portable,
                cdc__render_utf8_string_reference};
            for (size_t e = 0; e < sizeof esc / sizeof esc[0]; e++) {
                cdc__buf_reset(&got);
                assert_int_equal(esc[e](&got, in.data + off, in.len - off), CDC_OK);
                assert_int_equal(got.len, want.len);
                assert_memory_equal(got.data, want.data, got.len);
            }
            /* into a buffer that cannot grow (cdc_change_json's caller
             * buffer): the real size plus 16 bytes of slack is enough */
            uint8_t fixed[32768];
            if (want.len + 16 <= sizeof fixed) {
                cdc__buf fb = {fixed, 0, want.len + 16, &no_grow};
                assert_int_equal(cdc__render_utf8_string(&fb, in.data + off, in.len - off), CDC_OK);
                assert_int_equal(fb.len, want.len);
                assert_memory_equal(fb.data, want.data, want.len);
                fb.len = 0;
                assert_int_equal(cdc__render_utf8_string_portable(&fb, in.data + off, in.len - off), CDC_OK);
                assert_int_equal(fb.len, want.len);
                assert_memory_equal(fb.data, want.data, want.len);
                cdc__buf small = {fixed, 0, want.len > 0 ? want.len - 1 : 0, &no_grow};
                assert_int_equal(cdc__render_utf8_string(&small, in.data + off, in.len - off), CDC_ERR_NOMEM);
            }
            /* sanitizing and validating agree with the escaper */
            cdc__buf san;
            cdc__buf_init(&san, NULL);
            assert_int_equal(cdc__utf8_sanitize(in.data + off, in.len - off, &san), CDC_OK);
            assert_true(cdc__utf8_valid(san.data, san.len));
            bool same = san.len == in.len - off && (san.len == 0 || !memcmp(san.data, in.data + off, san.len));
            assert_int_equal(cdc__utf8_valid(in.data + off, in.len - off), same);
            cdc__buf_free(&san);
        }
    }
    cdc__buf_free(&in);
    cdc__buf_free(&got);
    cdc__buf_free(&want);
}

/* cdc__utf8_put against glibc's iconv (UTF-32LE -> UTF-8) for every
 * scalar value, and the result is valid UTF-8 by cdc__utf8_valid. */
static void test_utf8_put(void **state)
{
    (void)state;
    iconv_t cv = iconv_open("UTF-8", "UTF-32LE");
    assert_true(cv != (iconv_t)-1);
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp < 0xE000) continue;
        uint8_t in[4] = {(uint8_t)cp, (uint8_t)(cp >> 8), (uint8_t)(cp >> 16), 0};
        char out[8], *ip = (char *)in, *op = out;
        size_t il = 4, ol = sizeof out;
        assert_true(iconv(cv, &ip, &il, &op, &ol) != (size_t)-1);
        cdc__buf_reset(&b);
        assert_int_equal(cdc__utf8_put(&b, cp), 0);
        if (b.len != (size_t)(op - out) || memcmp(b.data, out, b.len)) fail_msg("U+%04X", (unsigned)cp);
        assert_true(cdc__utf8_valid(b.data, b.len));
    }
    cdc__buf_free(&b);
    iconv_close(cv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_double_edges),
        cmocka_unit_test(test_double_random),
        cmocka_unit_test(test_double_digit_groups),
        cmocka_unit_test(test_float_shortest),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_decimal_text),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_put),
        cmocka_unit_test(test_string_escaping),
        cmocka_unit_test(test_quote_dense),
        cmocka_unit_test(test_block_edges),
        cmocka_unit_test(test_letter_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
