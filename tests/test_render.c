/*
 * Unit tests for render.c, charset.c, value.c and textvalue.c: the
 * canonical forms, charset conversion, the public value API, and parity
 * between the binlog path and the text-protocol (SELECT) path.
 */
#include "valtest.h"

#include <cdc/value.h>
#include <float.h>
#include <math.h>

#include "charset.h"
#include "decimal.h"
#include "render.h"
#include "temporal.h"

/* The digit-pair formatters of temporal.c against snprintf, on random
 * fields in and out of their ranges (wide years and TIME hours take the
 * general road) and every fractional precision. */
static void test_temporal_text_vs_printf(void **state)
{
    (void)state;
    uint64_t r = 0x9e3779b97f4a7c15u;
    for (int round = 0; round < 200000; round++) {
        r ^= r << 13; r ^= r >> 7; r ^= r << 17;
        cdc__temporal tm = {0};
        bool wide = round % 8 == 0;
        tm.year = (int32_t)(r % (wide ? 100000u : 10000u));
        tm.month = (uint8_t)(r >> 17) % (wide ? 256 : 13);
        tm.day = (uint8_t)(r >> 21) % (wide ? 256 : 32);
        tm.hour = (uint32_t)(r >> 26) % (wide ? 100000u : 839u);
        tm.minute = (uint8_t)(r >> 40) % (wide ? 256 : 60);
        tm.second = (uint8_t)(r >> 46) % (wide ? 256 : 60);
        tm.usec = (uint32_t)(r >> 33) % (wide ? 3000000u : 1000000u);
        tm.neg = (uint8_t)(r >> 63);
        unsigned fsp = (unsigned)(r >> 52) % 7;
        char got[CDC__TEMPORAL_TEXT_MAX], want[80], frac[16] = "";
        if (fsp) snprintf(frac, sizeof frac, ".%0*u", (int)fsp, tm.usec % 1000000 / (unsigned)pow(10, 6 - fsp));
        snprintf(want, sizeof want, "%04d-%02u-%02u %02u:%02u:%02u%s", tm.year, tm.month, tm.day, tm.hour,
                 tm.minute, tm.second, frac);
        assert_int_equal(cdc__fmt_datetime(got, &tm, fsp, ' '), strlen(want));
        assert_string_equal(got, want);
        snprintf(want, sizeof want, "%04d-%02u-%02u", tm.year, tm.month, tm.day);
        assert_int_equal(cdc__fmt_date(got, &tm), strlen(want));
        assert_string_equal(got, want);
        snprintf(want, sizeof want, "%s%02u:%02u:%02u%s", tm.neg ? "-" : "", tm.hour, tm.minute, tm.second, frac);
        assert_int_equal(cdc__fmt_time(got, &tm, fsp), strlen(want));
        assert_string_equal(got, want);
    }
}

/* RFC 4648 section 10 test vectors. */
static void test_base64_rfc4648(void **state)
{
    (void)state;
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *want[] = {"\"\"", "\"Zg==\"", "\"Zm8=\"", "\"Zm9v\"", "\"Zm9vYg==\"", "\"Zm9vYmE=\"", "\"Zm9vYmFy\""};
    for (int i = 0; i < 7; i++) {
        cdc__buf b;
        cdc__buf_init(&b, &vt_alloc);
        assert_int_equal(cdc__render_base64(&b, (const uint8_t *)in[i], strlen(in[i])), CDC_OK);
        assert_int_equal(b.len, strlen(want[i]));
        assert_memory_equal(b.data, want[i], b.len);
        cdc__buf_free(&b);
    }
}

/* Significant digits of a number's text: no sign, point, exponent,
 * leading or trailing zeros. */
static int sig_digits(const char *s)
{
    char d[64];
    int n = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9') d[n++] = *s;
    int a = 0;
    while (a < n && d[a] == '0') a++;
    while (n > a && d[n - 1] == '0') n--;
    return n > a ? n - a : 1;
}

/* Shortest round-trip: known shortest texts, and for a sweep of values
 * the text reads back to the same bits. */
static void test_shortest_floats(void **state)
{
    (void)state;
    char buf[40];
    /* what MySQL 9.7's SELECT printed for these doubles (same digits and
     * layout: plain for decimal exponents -14..15, else scientific) */
    static const struct { double d; const char *mysql; } oracle[] = {
        {1e-5, "0.00001"}, {1e-10, "0.0000000001"}, {1.5e-15, "0.0000000000000015"}, {1e-20, "1e-20"},
        {1.2345e-16, "1.2345e-16"}, {1.234567e-15, "0.000000000000001234567"}, {1e17, "1e17"},
        {1.2345e20, "1.2345e20"}, {123456789012345678e0, "1.2345678901234568e17"},
        {1.7976931348623157e308, "1.7976931348623157e308"}, {2.2250738585072014e-308, "2.2250738585072014e-308"},
        {5e-324, "5e-324"}, {1e-6, "0.000001"}, {1.5e-8, "0.000000015"}, {3.14159e-9, "0.00000000314159"},
        {1234567890123456789012e0, "1.2345678901234568e21"}, {12345678901234567e0, "1.2345678901234568e16"},
        {1e15, "1e15"}, {1e16, "1e16"}, {123456789012345e0, "123456789012345"},
        {1e15 + 0.3, "1000000000000000.2"}, {0.1 + 0.2, "0.30000000000000004"}, {-0.0, "-0"}, {1e21, "1e21"},
        {1.5e-7, "0.00000015"}, {0.1, "0.1"}, {100, "100"}, {-2.5, "-2.5"},
    };
    for (size_t i = 0; i < sizeof oracle / sizeof oracle[0]; i++) {
        cdc__fmt_double(buf, oracle[i].d);
        if (strcmp(buf, oracle[i].mysql)) fail_msg("%.17g: got %s, MySQL prints %s", oracle[i].d, buf, oracle[i].mysql);
    }
    cdc__fmt_float(buf, 0.1f);
    assert_string_equal(buf, "0.1");
    cdc__fmt_float(buf, FLT_MIN);
    assert_string_equal(buf, "1.1754944e-38");
    cdc__fmt_float(buf, 123456789.0f); /* the float is 123456792 */
    assert_string_equal(buf, "123456790");
    cdc__fmt_double(buf, INFINITY);
    assert_string_equal(buf, "null");
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        double d;
        memcpy(&d, &x, 8);
        if (!isfinite(d)) continue;
        size_t n = cdc__fmt_double(buf, d);
        double back = strtod(buf, NULL);
        assert_memory_equal(&back, &d, 8);
        /* no text with fewer significant digits reads back as d */
        char shorter[40];
        for (int prec = 1; prec < 17; prec++) {
            snprintf(shorter, sizeof shorter, "%.*e", prec - 1, d);
            if (strtod(shorter, NULL) == d) {
                if (sig_digits(buf) > prec) fail_msg("%s has more digits than %s", buf, shorter);
                break;
            }
        }
        (void)n;
        float f;
        uint32_t u = (uint32_t)x;
        memcpy(&f, &u, 4);
        if (!isfinite(f)) continue;
        n = cdc__fmt_float(buf, f);
        float fb = strtof(buf, NULL);
        assert_memory_equal(&fb, &f, 4);
        for (int prec = 1; prec < 9; prec++) {
            snprintf(shorter, sizeof shorter, "%.*e", prec - 1, (double)f);
            if (strtof(shorter, NULL) == f) {
                if (sig_digits(buf) > prec) fail_msg("%s has more digits than %s", buf, shorter);
                break;
            }
        }
    }
}

static void test_charset_table(void **state)
{
    (void)state;
    struct { unsigned id; const char *name; } t[] = {
        {8, "latin1"}, {5, "latin1"}, {33, "utf8mb3"}, {45, "utf8mb4"}, {46, "utf8mb4"}, {63, "binary"},
        {83, "utf8mb3"}, {192, "utf8mb3"}, {224, "utf8mb4"}, {255, "utf8mb4"}, {309, "utf8mb4"},
        {51, "cp1251"}, {35, "ucs2"}, {54, "utf16"}, {56, "utf16le"}, {60, "utf32"}, {95, "cp932"},
        {248, "gb18030"}, {28, "gbk"}, {11, "ascii"}, {65, "ascii"},
        {1057, "utf8mb3"}, {1069, "utf8mb4"}, {1071, "latin1"}, {2304, "utf8mb4"}, {2048, "utf8mb3"},
        {0, "unknown"}, {17, "unknown"}, {9999, "unknown"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (strcmp(cdc_collation_charset(t[i].id), t[i].name))
            fail_msg("collation %u: %s, want %s", t[i].id, cdc_collation_charset(t[i].id), t[i].name);
    }
    /* every charset routed through iconv has a converter on this system,
     * except keybcs2, which glibc lacks (documented) */
    for (unsigned id = 1; id < 3400; id++) {
        const cdc__charset *cs = cdc__charset_of(id);
        if (cs->kind != CDC_CS_ICONV || !strcmp(cs->name, "keybcs2")) continue;
        cdc__buf b;
        cdc__buf_init(&b, &vt_alloc);
        cdc__err err;
        const uint8_t A[4] = {0, 0, 0, 'A'}; /* 'A' in every width and byte order */
        int rc = cdc__charset_to_utf8(cs, cs->iconv && !strncmp(cs->iconv, "UTF-32", 6) ? A
                                           : !strcmp(cs->iconv, "UCS-2BE") || !strcmp(cs->iconv, "UTF-16BE") ? A + 2
                                                                                                             : A + 3,
                                      !strncmp(cs->iconv, "UTF-32", 6) ? 4 : !strcmp(cs->iconv, "UTF-16LE") ? 1
                                      : (!strcmp(cs->iconv, "UCS-2BE") || !strcmp(cs->iconv, "UTF-16BE")) ? 2 : 1,
                                      &b, &err);
        if (rc) fail_msg("collation %u (%s): %s", id, cs->name, err.msg);
        cdc__buf_free(&b);
    }
    /* keybcs2 fails cleanly, naming the charset */
    cdc_column col = {.type = CDC_T_VARCHAR, .real_type = CDC_T_VARCHAR, .meta = 10, .charset = 37};
    uint8_t bytes[] = {1, 'a'};
    cdc_value v;
    size_t used;
    cdc__err err;
    assert_int_equal(cdc__value_decode(&col, bytes, 2, &v, &used, &err), CDC_OK);
    cdc__buf b;
    cdc__buf_init(&b, &vt_alloc);
    assert_int_equal(cdc__value_render_json(&v, &b, &err), CDC_ERR_CHARSET);
    assert_non_null(strstr(err.msg, "keybcs2"));
    cdc__buf_free(&b);
}

static void test_invalid_text_replaced(void **state)
{
    (void)state;
    struct { const char *in; size_t n; const char *want; } t[] = {
        {"a\xc3", 2, "\"a\xef\xbf\xbd\""},                   /* truncated sequence */
        {"\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\""},     /* overlong '/' */
        {"\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* surrogate */
        {"\xf4\x90\x80\x80", 4, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* > U+10FFFF */
        {"\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\""},     /* a valid 4-byte one stays */
        {"\x7f\x1f", 2, "\"\x7f\\u001f\""},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        cdc__buf b;
        cdc__buf_init(&b, &vt_alloc);
        assert_int_equal(cdc__render_utf8_string(&b, (const uint8_t *)t[i].in, t[i].n), CDC_OK);
        assert_int_equal(b.len, strlen(t[i].want));
        assert_memory_equal(b.data, t[i].want, b.len);
        cdc__buf_free(&b);
    }
}

static void test_public_getters(void **state)
{
    (void)state;
    cdc_column ucol = {.type = CDC_T_LONGLONG, .real_type = CDC_T_LONGLONG, .flags = CDC_COLF_UNSIGNED};
    cdc_value v = vt_decode(&ucol, "ffffffffffffffff");
    assert_int_equal(cdc_value_kind(&v), CDC_KIND_UINT);
    assert_string_equal(cdc_kind_name(cdc_value_kind(&v)), "UINT");
    uint64_t u;
    int64_t i;
    assert_int_equal(cdc_value_uint64(&v, &u), CDC_OK);
    assert_true(u == UINT64_MAX);
    assert_int_equal(cdc_value_int64(&v, &i), CDC_ERR_TOO_LARGE);
    double d;
    assert_int_equal(cdc_value_double(&v, &d), CDC_ERR_INVALID); /* never silently rounded */
    assert_false(cdc_value_is_null(&v));
    assert_true(cdc_value_is_null(NULL));
    /* render with the need protocol: ask, then fill */
    size_t need = 0;
    char small[4];
    assert_int_equal(cdc_value_render(&v, small, sizeof small, &need), CDC_ERR_TOO_LARGE);
    assert_int_equal(need, 21);
    char buf[32];
    assert_int_equal(cdc_value_render(&v, NULL, 0, &need), CDC_ERR_TOO_LARGE);
    assert_int_equal(cdc_value_render(&v, buf, need, &need), CDC_OK);
    assert_string_equal(buf, "18446744073709551615");
    /* decimal digits */
    cdc_column dcol = {.type = CDC_T_NEWDECIMAL, .real_type = CDC_T_NEWDECIMAL, .meta = 14 << 8 | 4};
    v = vt_decode(&dcol, "7ef204c72dfb2d");
    assert_int_equal(cdc_value_kind(&v), CDC_KIND_DECIMAL);
    assert_int_equal(cdc_value_decimal(&v, buf, 5, &need), CDC_ERR_TOO_LARGE);
    assert_int_equal(need, 17);
    assert_int_equal(cdc_value_decimal(&v, buf, sizeof buf, &need), CDC_OK);
    assert_string_equal(buf, "-1234567890.1234");
    /* temporal fields */
    cdc_column tcol = {.type = CDC_T_TIMESTAMP2, .real_type = CDC_T_TIMESTAMP2, .meta = 3};
    v = vt_decode(&tcol, "7fffffff2706");
    cdc_datetime dt;
    assert_int_equal(cdc_value_temporal(&v, &dt), CDC_OK);
    assert_int_equal(dt.year, 2038);
    assert_int_equal(dt.month, 1);
    assert_int_equal(dt.day, 19);
    assert_int_equal(dt.hour, 3);
    assert_int_equal(dt.minute, 14);
    assert_int_equal(dt.second, 7);
    assert_int_equal(dt.usec, 999000);
    assert_int_equal(dt.fsp, 3);
    assert_int_equal(cdc_value_int64(&v, &i), CDC_OK);
    assert_true(i == 2147483647);
    cdc_column t2 = {.type = CDC_T_TIME2, .real_type = CDC_T_TIME2, .meta = 2};
    v = vt_decode(&t2, "4b9105f4");
    assert_int_equal(cdc_value_temporal(&v, &dt), CDC_OK);
    assert_int_equal(dt.negative, 1);
    assert_int_equal(dt.hour, 838);
    assert_int_equal(dt.usec, 120000);
    /* bytes: a borrowed view */
    cdc_column scol = {.type = CDC_T_VARCHAR, .real_type = CDC_T_VARCHAR, .meta = 10, .charset = 45,
                       .name = {(const uint8_t *)"title", 5}};
    v = vt_decode(&scol, "03616263");
    cdc_bytes bv = cdc_value_bytes(&v);
    assert_int_equal(bv.len, 3);
    assert_memory_equal(bv.ptr, "abc", 3);
    assert_int_equal(cdc_value_temporal(&v, &dt), CDC_ERR_INVALID);
    size_t nl;
    assert_memory_equal(cdc_column_name(cdc_value_column(&v), &nl), "title", 5);
    assert_int_equal(nl, 5);
    assert_string_equal(cdc_column_type_name(&scol), "VARCHAR");
    scol.charset = 63;
    assert_string_equal(cdc_column_type_name(&scol), "VARBINARY");
    cdc_column text = {.type = CDC_T_BLOB, .real_type = CDC_T_BLOB, .meta = 2, .charset = 45};
    assert_string_equal(cdc_column_type_name(&text), "TEXT");
    assert_int_equal(cdc_column_type(&text), 252);
}

/* Parity: the binlog bytes of a value and what SELECT returns for the
 * same value (text protocol, utf8mb4 results, time_zone '+00:00')
 * render to the same canonical text. */
/* The integer getters of DECIMAL and TIMESTAMP say what the text says:
 * random DECIMAL(p,s) values (binary form made from digit text) read
 * back through cdc_value_decimal_scaled / cdc_value_decimal128 and
 * printed with the scale equal cdc_value_decimal's text. */
static void scaled_text(bool neg, uint64_t hi, uint64_t lo, unsigned scale, char *out)
{
    char d[48];
    int n = 0;
    while (hi || lo) { /* divide the 128-bit magnitude by 10 */
        uint64_t rh = hi % 10, q_hi = hi / 10;
        unsigned __int128 cur = ((unsigned __int128)rh << 64) | lo;
        lo = (uint64_t)(cur / 10);
        d[n++] = (char)('0' + (int)(cur % 10));
        hi = q_hi;
    }
    while (n <= (int)scale) d[n++] = '0';
    char *o = out;
    if (neg) *o++ = '-';
    for (int i = n - 1; i >= 0; i--) {
        *o++ = d[i];
        if (i == (int)scale && scale) *o++ = '.';
    }
    *o = 0;
}

static void test_decimal_and_timestamp_getters(void **state)
{
    (void)state;
    uint64_t r = 0x853c49e6748fea9bu;
    int fits64 = 0, fits128 = 0, wider = 0;
    for (int round = 0; round < 20000; round++) {
        r ^= r << 13; r ^= r >> 7; r ^= r << 17;
        unsigned prec = 1 + (unsigned)(r % 65), scale = (unsigned)((r >> 8) % (prec < 30 ? prec + 1 : 31));
        char text[80];
        size_t n = 0;
        if ((r >> 20) & 1) text[n++] = '-';
        unsigned intg = prec - scale, ni = intg ? (unsigned)((r >> 24) % (intg + 1)) : 0;
        uint64_t x = r;
        for (unsigned i = 0; i < ni; i++) { x = x * 6364136223846793005u + 1442695040888963407u; text[n++] = (char)('0' + (x >> 60) % 10); }
        if (!ni) text[n++] = '0';
        if (scale) {
            text[n++] = '.';
            for (unsigned i = 0; i < scale; i++) { x = x * 6364136223846793005u + 1442695040888963407u; text[n++] = (char)('0' + (x >> 60) % 10); }
        }
        uint8_t bin[40];
        cdc__err err;
        assert_int_equal(cdc__decimal_from_text(text, n, prec, scale, bin, &err), CDC_OK);
        cdc_column col = {.type = CDC_T_NEWDECIMAL, .real_type = CDC_T_NEWDECIMAL, .meta = (uint16_t)(prec << 8 | scale)};
        cdc_value v = {.kind = CDC_K_DECIMAL, .col = &col, .v.b = {bin, cdc__decimal_bin_size(prec, scale)}};
        char want[80], got[80];
        assert_int_equal(cdc_value_decimal(&v, want, sizeof want, NULL), CDC_OK);
        int64_t u64 = 0, hi = 0;
        uint64_t lo = 0;
        unsigned sc = 99;
        int rc = cdc_value_decimal_scaled(&v, &u64, &sc);
        bool neg = want[0] == '-';
        if (rc == CDC_OK) {
            fits64++;
            assert_int_equal(sc, scale);
            uint64_t mag = u64 < 0 ? 0 - (uint64_t)u64 : (uint64_t)u64;
            scaled_text(neg && mag, 0, mag, sc, got);
            /* "-0.00": the text keeps the sign of a negative zero */
            if (!mag && neg) scaled_text(true, 0, 0, sc, got);
            assert_string_equal(got, want);
        } else {
            assert_int_equal(rc, CDC_ERR_TOO_LARGE);
        }
        rc = cdc_value_decimal128(&v, &hi, &lo, &sc);
        if (rc == CDC_OK) {
            fits128++;
            unsigned __int128 m = ((unsigned __int128)(uint64_t)hi << 64) | lo;
            if (hi < 0) m = 0 - m;
            scaled_text(neg, (uint64_t)(m >> 64), (uint64_t)m, sc, got);
            assert_string_equal(got, want);
        } else {
            assert_int_equal(rc, CDC_ERR_TOO_LARGE);
            assert_true(prec > 38);
            wider++;
        }
    }
    printf("decimals: %d fit int64, %d fit 128 bits, %d wider\n", fits64, fits128, wider);
    assert_true(fits64 > 1000 && wider > 100);
    /* edges: the largest 18-digit and 19-digit values, 38 nines */
    const struct { unsigned p, s; const char *t; int rc64, rc128; } e[] = {
        {18, 0, "999999999999999999", CDC_OK, CDC_OK},
        {19, 0, "9223372036854775807", CDC_OK, CDC_OK},
        {19, 0, "-9223372036854775808", CDC_OK, CDC_OK},
        {19, 0, "9223372036854775808", CDC_ERR_TOO_LARGE, CDC_OK},
        {38, 0, "99999999999999999999999999999999999999", CDC_ERR_TOO_LARGE, CDC_OK},
        {38, 10, "-9999999999999999999999999999.9999999999", CDC_ERR_TOO_LARGE, CDC_OK},
        {39, 0, "999999999999999999999999999999999999999", CDC_ERR_TOO_LARGE, CDC_ERR_TOO_LARGE},
    };
    for (size_t i = 0; i < sizeof e / sizeof e[0]; i++) {
        uint8_t bin[40];
        cdc__err err;
        assert_int_equal(cdc__decimal_from_text(e[i].t, strlen(e[i].t), e[i].p, e[i].s, bin, &err), CDC_OK);
        cdc_column col = {.type = CDC_T_NEWDECIMAL, .real_type = CDC_T_NEWDECIMAL, .meta = (uint16_t)(e[i].p << 8 | e[i].s)};
        cdc_value v = {.kind = CDC_K_DECIMAL, .col = &col, .v.b = {bin, cdc__decimal_bin_size(e[i].p, e[i].s)}};
        int64_t u, hi;
        uint64_t lo;
        unsigned sc;
        assert_int_equal(cdc_value_decimal_scaled(&v, &u, &sc), e[i].rc64);
        assert_int_equal(cdc_value_decimal128(&v, &hi, &lo, &sc), e[i].rc128);
    }
    /* malformed digits: a group past its digit count */
    cdc_column col = {.type = CDC_T_NEWDECIMAL, .real_type = CDC_T_NEWDECIMAL, .meta = 10 << 8 | 2};
    uint8_t bad[5] = {0x80 | 0x7f, 0xff, 0xff, 0xff, 0x00};
    cdc_value v = {.kind = CDC_K_DECIMAL, .col = &col, .v.b = {bad, 5}};
    int64_t u;
    unsigned sc;
    assert_int_equal(cdc_value_decimal_scaled(&v, &u, &sc), CDC_ERR_CORRUPT);
    cdc_value iv = {.kind = CDC_K_INT};
    assert_int_equal(cdc_value_decimal_scaled(&iv, &u, &sc), CDC_ERR_INVALID);

    /* TIMESTAMP: epoch seconds and microseconds as the fields say */
    cdc_value ts = {.kind = CDC_K_TIMESTAMP, .fsp = 3, .v.ts = {1700000000, 123000}};
    int64_t sec;
    uint32_t usec;
    assert_int_equal(cdc_value_timestamp(&ts, &sec, &usec), CDC_OK);
    assert_true(sec == 1700000000 && usec == 123000);
    cdc_datetime dt;
    assert_int_equal(cdc_value_temporal(&ts, &dt), CDC_OK);
    assert_true(dt.year == 2023 && dt.month == 11 && dt.day == 14 && dt.hour == 22 && dt.minute == 13 &&
                dt.second == 20 && dt.usec == 123000);
    ts.flags = CDC_VF_ZERO_DATE;
    assert_int_equal(cdc_value_timestamp(&ts, &sec, &usec), CDC_OK);
    assert_true(sec == 0 && usec == 0);
    assert_int_equal(cdc_value_timestamp(&iv, &sec, &usec), CDC_ERR_INVALID);
}

static void *ng_malloc(size_t n, void *ud) { (void)n; (void)ud; return NULL; }
static void *ng_realloc(void *p, size_t n, void *ud) { (void)p; (void)n; (void)ud; return NULL; }
static void ng_free(void *p, void *ud) { (void)p; (void)ud; }

/* The image loop of output.c renders text of a collation that
 * cdc__charset_renders_as_utf8 names by cdc__render_utf8_string alone:
 * for every collation id (and MariaDB's NO PAD twins, and ids past the
 * tables) that must be exactly when cdc__render_text gives the same
 * bytes for text that other character sets read otherwise ("café" in
 * UTF-8 reads as "cafÃ©" in latin1, as base64 in binary). */
static void test_text_road_of_image_loop(void **state)
{
    (void)state;
    static const uint8_t probe[] = "caf\xc3\xa9 \"q\"";
    size_t plen = sizeof probe - 1;
    cdc__buf want, got;
    cdc__buf_init(&want, NULL);
    cdc__buf_init(&got, NULL);
    assert_int_equal(cdc__render_utf8_string(&want, probe, plen), CDC_OK);
    int as_utf8 = 0;
    for (unsigned id = 0; id < 2400; id++) {
        cdc__err err;
        cdc__err_clear(&err);
        cdc__buf_reset(&got);
        bool same = cdc__render_text(&got, probe, plen, id, &err) == CDC_OK && got.len == want.len &&
                    memcmp(got.data, want.data, want.len) == 0;
        if (same != cdc__charset_renders_as_utf8(id))
            fail_msg("collation %u: renders as UTF-8 %d, cdc__charset_renders_as_utf8 says %d", id, same, !same);
        as_utf8 += same;
    }
    /* utf8mb4_general_ci, utf8mb4_bin, utf8mb3_general_ci, ascii, an unknown id; latin1, binary */
    assert_true(cdc__charset_renders_as_utf8(45) && cdc__charset_renders_as_utf8(46) && cdc__charset_renders_as_utf8(33));
    assert_true(cdc__charset_renders_as_utf8(11) && cdc__charset_renders_as_utf8(5000));
    assert_false(cdc__charset_renders_as_utf8(8) || cdc__charset_renders_as_utf8(63));
    printf("%d of 2400 collation ids render as UTF-8 as they are, as cdc__render_text renders them\n", as_utf8);
    cdc__buf_free(&want);
    cdc__buf_free(&got);
}

/* Converting latin1 text needs scratch memory; into a buffer that cannot
 * grow (cdc_change_json's) short text still renders in one pass, and
 * long text that needs the heap fails cleanly with NOMEM. */
static void test_text_into_fixed_buffer(void **state)
{
    (void)state;
    static const cdc_allocator no_grow = {ng_malloc, ng_realloc, ng_free, NULL};
    char fixed[8192];
    cdc__buf b = {(uint8_t *)fixed, 0, sizeof fixed, &no_grow};
    cdc__err err;
    assert_int_equal(cdc__render_text(&b, (const uint8_t *)"caf\xe9 \x80", 6, 8 /* latin1 */, &err), CDC_OK);
    assert_int_equal(b.len, strlen("\"caf\xc3\xa9 \xe2\x82\xac\""));
    assert_memory_equal(b.data, "\"caf\xc3\xa9 \xe2\x82\xac\"", b.len);
    uint8_t big[3000];
    memset(big, 0xe9, sizeof big);
    b.len = 0;
    assert_int_equal(cdc__render_text(&b, big, sizeof big, 8, &err), CDC_ERR_NOMEM);
    /* with a growing buffer the same text converts through the heap */
    cdc__buf h;
    cdc__buf_init(&h, NULL);
    assert_int_equal(cdc__render_text(&h, big, sizeof big, 8, &err), CDC_OK);
    assert_int_equal(h.len, 2 + 2 * sizeof big);
    cdc__buf_free(&h);
}

static void test_binlog_and_select_agree(void **state)
{
    (void)state;
    static const cdc_bytes labels[] = {{(const uint8_t *)"a", 1}, {(const uint8_t *)"b", 1},
                                       {(const uint8_t *)"c", 1}};
    struct {
        cdc_column col;
        const char *hex;  /* row-image bytes */
        const char *text; /* SELECT's text */
        size_t tlen;      /* 0: strlen */
        const char *want;
    } t[] = {
        {{.type = CDC_T_LONG}, "feffffff", "-2", 0, "-2"},
        {{.type = CDC_T_LONGLONG, .flags = CDC_COLF_UNSIGNED}, "ffffffffffffffff", "18446744073709551615", 0,
         "18446744073709551615"},
        {{.type = CDC_T_FLOAT, .meta = 4}, "cdcc8c3f", "1.1", 0, "1.1"},
        {{.type = CDC_T_DOUBLE, .meta = 8}, "9a9999999999b93f", "0.1", 0, "0.1"},
        {{.type = CDC_T_NEWDECIMAL, .meta = 14 << 8 | 4}, "810dfb38d204d2", "1234567890.1234", 0,
         "\"1234567890.1234\""},
        {{.type = CDC_T_NEWDECIMAL, .meta = 4 << 8 | 2}, "8000", "0.00", 0, "\"0.00\""},
        {{.type = CDC_T_YEAR}, "7c", "2024", 0, "2024"},
        {{.type = CDC_T_DATE}, "5dd00f", "2024-02-29", 0, "\"2024-02-29\""},
        {{.type = CDC_T_DATE}, "000000", "0000-00-00", 0, "\"0000-00-00\""},
        {{.type = CDC_T_DATETIME2, .meta = 6}, "800382000001e240", "0001-01-01 00:00:00.123456", 0,
         "\"0001-01-01T00:00:00.123456\""},
        {{.type = CDC_T_DATETIME2, .meta = 0}, "8000000000", "0000-00-00 00:00:00", 0, "\"0000-00-00T00:00:00\""},
        {{.type = CDC_T_TIMESTAMP2, .meta = 3}, "7fffffff2706", "2038-01-19 03:14:07.999", 0,
         "\"2038-01-19T03:14:07.999Z\""},
        {{.type = CDC_T_TIMESTAMP2, .meta = 0}, "00000000", "0000-00-00 00:00:00", 0, "\"0000-00-00T00:00:00\""},
        {{.type = CDC_T_TIME2, .meta = 2}, "4b9105f4", "-838:59:58.12", 0, "\"-838:59:58.12\""},
        {{.type = CDC_T_TIME2, .meta = 0}, "80f105", "15:04:05", 0, "\"15:04:05\""},
        {{.type = CDC_T_BIT, .meta = 0x0102}, "03ff", "\x03\xff", 2, "1023"},
        {{.type = CDC_T_STRING, .real_type = CDC_T_ENUM, .meta = 1, .n_labels = 3, .labels = labels}, "02", "b", 0,
         "\"b\""},
        {{.type = CDC_T_STRING, .real_type = CDC_T_SET, .meta = 1, .n_labels = 3, .labels = labels}, "05", "a,c", 0,
         "\"a,c\""},
        {{.type = CDC_T_STRING, .real_type = CDC_T_SET, .meta = 1, .n_labels = 3, .labels = labels}, "00", "", 0,
         "\"\""},
        {{.type = CDC_T_STRING, .real_type = CDC_T_STRING, .meta = 10, .charset = 8}, "02e980",
         "\xc3\xa9\xe2\x82\xac", 0, "\"\xc3\xa9\xe2\x82\xac\""}, /* latin1 column, utf8mb4 results */
        {{.type = CDC_T_STRING, .real_type = CDC_T_STRING, .meta = 4, .charset = 63}, "020102", "\x01\x02\x00\x00",
         4, "\"AQIAAA==\""}, /* BINARY(4): SELECT pads, the binlog does not */
        {{.type = CDC_T_BLOB, .meta = 2, .charset = 63}, "0300666f6f", "foo", 0, "\"Zm9v\""},
        {{.type = CDC_T_JSON, .meta = 4}, "0d000000 00 0100 0c00 0b000100 050100 61", "{\"a\": 1}", 0,
         "{\"a\":1}"},
        {{.type = CDC_T_STRING, .real_type = CDC_T_STRING, .meta = 16, .charset = 63, .flags = CDC_COLF_UUID},
         "10 5b8c656024db 9564 1026 baba 6ccd780c", "6ccd780c-baba-1026-9564-5b8c656024db", 0,
         "\"6ccd780c-baba-1026-9564-5b8c656024db\""},
        {{.type = CDC_T_STRING, .real_type = CDC_T_STRING, .meta = 16, .charset = 63, .flags = CDC_COLF_INET6},
         "10 20010db8000000000000000000000001", "2001:db8::1", 0, "\"2001:db8::1\""},
        {{.type = CDC_T_STRING, .real_type = CDC_T_STRING, .meta = 4, .charset = 63, .flags = CDC_COLF_INET4},
         "04 0a000001", "10.0.0.1", 0, "\"10.0.0.1\""},
    };
    cdc__buf scratch;
    cdc__buf_init(&scratch, &vt_alloc);
    assert_int_equal(cdc__buf_reserve(&scratch, 64 * CDC__FROM_TEXT_SCRATCH), CDC_OK);
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        cdc_column *c = &t[k].col;
        if (!c->real_type) c->real_type = c->type;
        char from_binlog[256];
        strcpy(from_binlog, vt_text(c, t[k].hex));
        cdc_value v;
        cdc__err err;
        size_t tlen = t[k].tlen ? t[k].tlen : strlen(t[k].text);
        int rc = cdc__value_from_text(c, t[k].text, tlen, 45, &v, &scratch, &err);
        if (rc) fail_msg("case %zu: from_text: %s", k, err.msg);
        const char *from_select = vt_render(&v);
        if (strcmp(from_binlog, t[k].want) || strcmp(from_select, t[k].want))
            fail_msg("case %zu: binlog %s, select %s, want %s", k, from_binlog, from_select, t[k].want);
    }
    /* NULL, and text that is not a value of the column */
    cdc_value v;
    cdc__err err;
    cdc_column ic = {.type = CDC_T_LONG, .real_type = CDC_T_LONG};
    assert_int_equal(cdc__value_from_text(&ic, NULL, 0, 45, &v, &scratch, &err), CDC_OK);
    assert_int_equal(v.kind, CDC_K_NULL);
    assert_int_equal(cdc__value_from_text(&ic, "12x", 3, 45, &v, &scratch, &err), CDC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "INT: cannot read '12x'"));
    assert_int_equal(cdc__value_from_text(&ic, "9223372036854775808", 19, 45, &v, &scratch, &err),
                     CDC_ERR_INVALID);
    cdc_column dc = {.type = CDC_T_DATETIME2, .real_type = CDC_T_DATETIME2};
    assert_int_equal(cdc__value_from_text(&dc, "2024-13-01 00:00:00", 19, 45, &v, &scratch, &err),
                     CDC_ERR_INVALID);
    cdc_column ec = {.type = CDC_T_STRING, .real_type = CDC_T_ENUM, .meta = 1, .n_labels = 3, .labels = labels};
    assert_int_equal(cdc__value_from_text(&ec, "z", 1, 45, &v, &scratch, &err), CDC_ERR_INVALID);
    cdc__buf_free(&scratch);
}


/* Allocation failure at every point: each operation either succeeds or
 * says CDC_ERR_NOMEM, never crashes or leaks (cmocka checks leaks). */
static int fail_after;
static void *fa_malloc(size_t n, void *ud) { (void)ud; return fail_after-- > 0 ? test_malloc(n) : NULL; }
static void *fa_realloc(void *p, size_t n, void *ud) { (void)ud; return fail_after-- > 0 ? test_realloc(p, n) : NULL; }
static void fa_free(void *p, void *ud) { (void)ud; test_free(p); }

static void test_allocation_failures(void **state)
{
    (void)state;
    static const cdc_allocator fa = {fa_malloc, fa_realloc, fa_free, NULL};
    static const cdc_bytes labels[] = {{(const uint8_t *)"\xe9t\xe9", 3}, {(const uint8_t *)"hiver", 5}};
    static uint8_t bin[4][256];
    struct { cdc_column col; const char *hex; } t[] = {
        {{.type = CDC_T_JSON, .meta = 4}, "14000000 00 0100 1300 0b000100 020c00 61 0100 0700 040100"},
        {{.type = CDC_T_VARCHAR, .meta = 100, .charset = 8}, "05e9e9e9e9e9"},
        {{.type = CDC_T_VARCHAR, .meta = 100, .charset = 51}, "05c0c1c2c3c4"},
        {{.type = CDC_T_STRING, .real_type = CDC_T_SET, .meta = 1, .charset = 8, .n_labels = 2, .labels = labels},
         "03"},
    };
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        if (!t[k].col.real_type) t[k].col.real_type = t[k].col.type;
        size_t n = vt_unhex(t[k].hex, bin[k], sizeof bin[k]);
        cdc_value v;
        size_t used;
        cdc__err err;
        assert_int_equal(cdc__value_decode(&t[k].col, bin[k], n, &v, &used, &err), CDC_OK);
        int rc = CDC_ERR_NOMEM;
        for (int i = 0; rc == CDC_ERR_NOMEM; i++) {
            assert_true(i < 100);
            fail_after = i;
            cdc__buf b;
            cdc__buf_init(&b, &fa);
            rc = cdc__value_render_json(&v, &b, &err);
            if (rc != CDC_OK && rc != CDC_ERR_NOMEM) fail_msg("case %zu, failing at %d: %s (%s)", k, i, cdc_err_name(rc), err.msg);
            cdc__buf_free(&b);
        }
    }
    /* diff apply: the DOM, the key arena and the output all allocate */
    const char *before_hex = "00 0100 1300 0b000100 020c00 61 0100 0700 040100";
    uint8_t before[64], ops[64], col[80];
    size_t bn = vt_unhex(before_hex, before, sizeof before);
    size_t on = vt_unhex("00 06 242e615b305d 02 0402  01 07 242e2261206222 02 0400", ops, sizeof ops);
    cdc__put_le32(col, (uint32_t)on);
    memcpy(col + 4, ops, on);
    cdc_column jc = {.type = CDC_T_JSON, .real_type = CDC_T_JSON, .meta = 4};
    cdc_value bv = {.kind = CDC_K_JSON}, dv, av;
    bv.v.b = (cdc_bytes){before, bn};
    size_t used;
    cdc__err err;
    assert_int_equal(cdc__json_diff_decode(&jc, col, on + 4, &dv, &used, &err), CDC_OK);
    int rc = CDC_ERR_NOMEM;
    for (int i = 0; rc == CDC_ERR_NOMEM; i++) {
        assert_true(i < 100);
        fail_after = i;
        cdc__buf scratch;
        cdc__buf_init(&scratch, &fa);
        rc = cdc__json_diff_apply(&bv, &dv, &scratch, &av, &err);
        assert_true(rc == CDC_OK || rc == CDC_ERR_NOMEM);
        if (rc == CDC_OK) assert_int_equal(av.v.b.len, strlen("{\"a\":[false],\"a b\":null}"));
        cdc__buf_free(&scratch);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648),
        cmocka_unit_test(test_shortest_floats),
        cmocka_unit_test(test_charset_table),
        cmocka_unit_test(test_invalid_text_replaced),
        cmocka_unit_test(test_public_getters),
        cmocka_unit_test(test_decimal_and_timestamp_getters),
        cmocka_unit_test(test_text_into_fixed_buffer),
        cmocka_unit_test(test_text_road_of_image_loop),
        cmocka_unit_test(test_binlog_and_select_agree),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_temporal_text_vs_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
