/*
 * test_temporal.c: MySQL's packed temporal forms and their text
 * (temporal.c).
 *
 * The byte strings are built from the storage format MySQL documents
 * (sql-common/my_time.cc, "MySQL Internals: date and time data type
 * representation"), not from libcdc:
 *   DATETIME2  5 bytes big-endian, value + 0x8000000000 where value =
 *              ((year*13+month) << 5 | day) << 17 | hour << 12 | minute << 6 | second
 *   TIME2      3 bytes, (hour << 12 | minute << 6 | second) + 0x800000;
 *              with a fraction, packed = -/+((hms << 24) + usec) and
 *              fsp 1-2: int3(0x800000 + (packed >> 24)), 1 byte frac/10000
 *              fsp 3-4: the same with 2 bytes of frac/100
 *              fsp 5-6: 6 bytes, packed + 0x800000000000
 *              (the fraction of a negative time is C's truncating %, so
 *              -00:00:01.50 is 7F FF FE CE)
 *   TIMESTAMP2 4 bytes of seconds, then the fraction, big-endian
 *   fraction   (fsp+1)/2 bytes: usec/10000, usec/100 or usec
 *   old DATE   3 bytes little-endian, day | month << 5 | year << 9
 *   old TIME   HHMMSS as a signed integer; old DATETIME YYYYMMDDhhmmss
 * Texts are MySQL's own forms ('2024-02-29 23:59:59.123456', TIME up to
 * '838:59:59', '0000-00-00').
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "temporal.h"
#include "valtest.h"

static const char *dt2(const char *hex, unsigned fsp)
{
    static char text[CDC__TEMPORAL_TEXT_MAX];
    uint8_t b[16];
    size_t n = vt_unhex(hex, b, sizeof b);
    assert_int_equal(n, 5 + cdc__frac_bytes(fsp));
    cdc__temporal tm;
    cdc__datetime2_unpack(b, fsp, &tm);
    cdc__fmt_datetime(text, &tm, fsp, ' ');
    return text;
}

static const char *t2(const char *hex, unsigned fsp)
{
    static char text[CDC__TEMPORAL_TEXT_MAX];
    uint8_t b[16];
    size_t n = vt_unhex(hex, b, sizeof b);
    assert_int_equal(n, 3 + cdc__frac_bytes(fsp));
    cdc__temporal tm;
    cdc__time2_unpack(b, fsp, &tm);
    cdc__fmt_time(text, &tm, fsp);
    return text;
}

static void test_frac_bytes(void **state)
{
    (void)state;
    static const size_t want[7] = {0, 1, 1, 2, 2, 3, 3};
    for (unsigned f = 0; f <= 6; f++) assert_int_equal(cdc__frac_bytes(f), want[f]);
}

static void test_datetime2(void **state)
{
    (void)state;
    assert_string_equal(dt2("99 B2 BB 7E FB 01 E2 40", 6), "2024-02-29 23:59:59.123456");
    assert_string_equal(dt2("99 B2 BB 7E FB 04 CE", 3), "2024-02-29 23:59:59.123");
    assert_string_equal(dt2("99 B2 BB 7E FB 32", 1), "2024-02-29 23:59:59.5");
    assert_string_equal(dt2("99 B2 BB 7E FB", 0), "2024-02-29 23:59:59");
    assert_string_equal(dt2("FE F3 FF 7E FB 0F 42 3F", 6), "9999-12-31 23:59:59.999999");
    assert_string_equal(dt2("8C B2 42 00 00", 0), "1000-01-01 00:00:00");
    /* zero date and a zero-in-date value (NO_ZERO_IN_DATE off) */
    assert_string_equal(dt2("80 00 00 00 00", 0), "0000-00-00 00:00:00");
    assert_string_equal(dt2("99 B2 00 00 00", 0), "2024-00-00 00:00:00");
    /* the canonical form has a T */
    char text[CDC__TEMPORAL_TEXT_MAX];
    cdc__temporal tm;
    uint8_t b[8];
    vt_unhex("99 B2 BB 7E FB 01 E2 40", b, sizeof b);
    cdc__datetime2_unpack(b, 6, &tm);
    assert_int_equal(cdc__fmt_datetime(text, &tm, 6, 'T'), 26);
    assert_string_equal(text, "2024-02-29T23:59:59.123456");
    /* fewer digits than stored: fsp 2 prints .12 */
    cdc__fmt_datetime(text, &tm, 2, 'T');
    assert_string_equal(text, "2024-02-29T23:59:59.12");
}

static void test_time2(void **state)
{
    (void)state;
    assert_string_equal(t2("80 00 00", 0), "00:00:00");
    assert_string_equal(t2("B4 6E FB", 0), "838:59:59");
    assert_string_equal(t2("4B 91 05", 0), "-838:59:59");
    assert_string_equal(t2("4B 91 05 00 00 00", 6), "-838:59:59.000000");
    assert_string_equal(t2("80 C8 B8 1E D2", 3), "12:34:56.789");
    /* negative with a fraction: the stored fraction is a complement */
    assert_string_equal(t2("7F FF FE CE", 2), "-00:00:01.50");
    assert_string_equal(t2("7F FF FF FF", 2), "-00:00:00.01");
    assert_string_equal(t2("7F FF FF 00", 1), "-00:00:01.0");
    assert_string_equal(t2("7F EF 7C EE 29", 4), "-01:02:03.4567");
    assert_string_equal(t2("7F 37 47 FF FF FF", 6), "-12:34:56.000001");
}

static void test_timestamp2(void **state)
{
    (void)state;
    int64_t sec;
    uint32_t usec;
    uint8_t b[8];
    /* 2038-01-19 03:14:07.999999 UTC = 2147483647 s */
    vt_unhex("7F FF FF FF 0F 42 3F", b, sizeof b);
    cdc__timestamp2_unpack(b, 6, &sec, &usec);
    assert_int_equal(sec, 2147483647);
    assert_int_equal(usec, 999999);
    cdc__temporal tm;
    cdc__epoch_to_tm(sec, usec, &tm);
    char text[CDC__TEMPORAL_TEXT_MAX];
    cdc__fmt_datetime(text, &tm, 6, 'T');
    assert_string_equal(text, "2038-01-19T03:14:07.999999");
    /* fsp 3: 2 bytes of usec/100; 0 seconds is the zero TIMESTAMP */
    vt_unhex("00 00 00 00 04 CE", b, sizeof b);
    cdc__timestamp2_unpack(b, 3, &sec, &usec);
    assert_int_equal(sec, 0);
    assert_int_equal(usec, 123000);
}

static void test_old_formats(void **state)
{
    (void)state;
    cdc__temporal tm;
    char text[CDC__TEMPORAL_TEXT_MAX];
    /* DATE 2024-02-29: 29 | 2 << 5 | 2024 << 9 = 0x0FD05D */
    cdc__date_unpack(29 | 2 << 5 | 2024u << 9, &tm);
    cdc__fmt_date(text, &tm);
    assert_string_equal(text, "2024-02-29");
    cdc__date_unpack(0, &tm);
    cdc__fmt_date(text, &tm);
    assert_string_equal(text, "0000-00-00");
    /* TIME -838:59:59 and 12:34:56 as HHMMSS */
    cdc__time_unpack_old(-8385959, &tm);
    cdc__fmt_time(text, &tm, 0);
    assert_string_equal(text, "-838:59:59");
    cdc__time_unpack_old(123456, &tm);
    cdc__fmt_time(text, &tm, 0);
    assert_string_equal(text, "12:34:56");
    /* DATETIME as YYYYMMDDhhmmss */
    cdc__datetime_unpack_old(20240229235959ull, &tm);
    cdc__fmt_datetime(text, &tm, 0, ' ');
    assert_string_equal(text, "2024-02-29 23:59:59");
    cdc__datetime_unpack_old(0, &tm);
    cdc__fmt_datetime(text, &tm, 0, ' ');
    assert_string_equal(text, "0000-00-00 00:00:00");
}

static void test_packed_json_forms(void **state)
{
    (void)state;
    /* JSON opaque DATETIME: ((ymd << 17 | hms) << 24) + usec */
    int64_t ymd = (2012LL * 13 + 3) << 5 | 18, hms = 11 << 12 | 30 << 6 | 45;
    cdc__temporal tm;
    char text[CDC__TEMPORAL_TEXT_MAX];
    cdc__datetime_unpack_packed(((ymd << 17 | hms) << 24) + 250000, &tm);
    cdc__fmt_datetime(text, &tm, 6, ' ');
    assert_string_equal(text, "2012-03-18 11:30:45.250000");
    /* JSON opaque TIME: -/+((hms << 24) + usec) */
    hms = 87 << 12 | 31 << 6 | 46;
    cdc__time_unpack_packed(-((hms << 24) + 654321), &tm);
    cdc__fmt_time(text, &tm, 6);
    assert_string_equal(text, "-87:31:46.654321");
}

static void test_epoch(void **state)
{
    (void)state;
    static const struct { int64_t sec; const char *text; } cases[] = {
        {0, "1970-01-01T00:00:00"},
        {-1, "1969-12-31T23:59:59"},
        {951782400, "2000-02-29T00:00:00"},  /* a leap day of a year divisible by 400 */
        {4107542400LL, "2100-03-01T00:00:00"}, /* 2100 is no leap year */
        {2147483647, "2038-01-19T03:14:07"},
        {253402300799LL, "9999-12-31T23:59:59"},
        {-62135596800LL, "0001-01-01T00:00:00"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cdc__temporal tm;
        char text[CDC__TEMPORAL_TEXT_MAX];
        cdc__epoch_to_tm(cases[i].sec, 0, &tm);
        cdc__fmt_datetime(text, &tm, 0, 'T');
        assert_string_equal(text, cases[i].text);
        assert_int_equal(cdc__tm_to_epoch(&tm), cases[i].sec);
    }
}

static void test_parse(void **state)
{
    (void)state;
    cdc__temporal tm;
    char text[CDC__TEMPORAL_TEXT_MAX];
    /* what the text protocol returns, back to the same text */
    static const char *datetimes[] = {"2024-02-29 23:59:59.123456", "0000-00-00 00:00:00", "1000-01-01 00:00:00"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(cdc__datetime_parse(datetimes[i], strlen(datetimes[i]), &tm), CDC_OK);
        cdc__fmt_datetime(text, &tm, i == 0 ? 6 : 0, ' ');
        assert_string_equal(text, datetimes[i]);
    }
    static const char *times[] = {"-838:59:59.000000", "838:59:59", "-00:00:01.50", "00:00:00"};
    static const unsigned fsp[] = {6, 0, 2, 0};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(cdc__time_parse(times[i], strlen(times[i]), &tm), CDC_OK);
        cdc__fmt_time(text, &tm, fsp[i]);
        assert_string_equal(text, times[i]);
    }
    assert_int_equal(cdc__date_parse("2024-02-29", 10, &tm), CDC_OK);
    assert_int_equal(tm.year, 2024);
    assert_int_equal(tm.month, 2);
    assert_int_equal(tm.day, 29);
    /* malformed text is refused, never read past its length */
    static const char *bad_dt[] = {"", "2024", "2024-13-01", "2024-01-32", "2024-01-01 24:00:00",
                                   "2024-01-01 12:60:00", "2024-01-01 12:00:00.", "2024-01-01 12:00:00.1234567",
                                   "2024-01-01x12:00:00", "24-01-01"};
    for (size_t i = 0; i < sizeof bad_dt / sizeof bad_dt[0]; i++)
        if (cdc__datetime_parse(bad_dt[i], strlen(bad_dt[i]), &tm) != CDC_ERR_INVALID)
            fail_msg("'%s' parsed as a DATETIME", bad_dt[i]);
    static const char *bad_t[] = {"", "-", "839:00:00", "12:34", "12:34:60", "1:2:3", "--1:00:00"};
    for (size_t i = 0; i < sizeof bad_t / sizeof bad_t[0]; i++)
        if (cdc__time_parse(bad_t[i], strlen(bad_t[i]), &tm) != CDC_ERR_INVALID)
            fail_msg("'%s' parsed as a TIME", bad_t[i]);
    /* a length shorter than the text: only that much is read */
    assert_int_equal(cdc__date_parse("2024-02-29", 7, &tm), CDC_ERR_INVALID);
    /* trailing zeros beyond microseconds are exact, other digits are not */
    assert_int_equal(cdc__time_parse("00:00:01.1000000", 16, &tm), CDC_OK);
    assert_int_equal(tm.usec, 100000);
}

/* cdc__epoch_to_tm takes TIMESTAMP's range (0..2^32-1 s) in 32-bit
 * arithmetic: every day of it, both ends of each day and random seconds
 * give what the general 64-bit road gives; outside it the two are one. */
static void test_epoch_fast(void **state)
{
    (void)state;
    cdc__temporal a, b;
    for (int64_t day = 0; day <= 49711; day++) {
        int64_t secs[] = {day * 86400, day * 86400 + 86399, day * 86400 + (day * 7919) % 86400};
        for (size_t k = 0; k < 3; k++) {
            cdc__epoch_to_tm(secs[k], 123456, &a);
            cdc__epoch_to_tm_reference(secs[k], 123456, &b);
            assert_memory_equal(&a, &b, sizeof a);
        }
    }
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t sec = i % 2 ? (int64_t)(x % ((uint64_t)1 << 32)) : (int64_t)(x % 400000000000u) - 200000000000;
        cdc__epoch_to_tm(sec, (uint32_t)(x >> 40) % 1000000, &a);
        cdc__epoch_to_tm_reference(sec, (uint32_t)(x >> 40) % 1000000, &b);
        assert_memory_equal(&a, &b, sizeof a);
    }
    int64_t edges[] = {0, 1, 86399, 86400, 951782400 /* 2000-02-29 */, 4102444800 /* 2100-01-01 */,
                       (int64_t)UINT32_MAX, (int64_t)UINT32_MAX + 1, -1, -86400};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        cdc__epoch_to_tm(edges[i], 0, &a);
        cdc__epoch_to_tm_reference(edges[i], 0, &b);
        assert_memory_equal(&a, &b, sizeof a);
    }
}

/* cdc__fmt_epoch (a TIMESTAMP's text without a cdc__temporal) writes
 * what the general 64-bit road and cdc__fmt_datetime write: every day of
 * TIMESTAMP's range at both ends and inside, with every fsp 0..7, random
 * seconds in and outside the range, and the edges. */
static void check_epoch_text(int64_t sec, uint32_t usec, unsigned fsp)
{
    cdc__temporal tm;
    char want[CDC__TEMPORAL_TEXT_MAX], got[CDC__TEMPORAL_TEXT_MAX];
    cdc__epoch_to_tm_reference(sec, usec, &tm);
    size_t n = cdc__fmt_datetime(want, &tm, fsp, 'T');
    assert_int_equal(cdc__fmt_epoch(got, sec, usec, fsp), n);
    assert_string_equal(got, want);
}
static void test_epoch_text(void **state)
{
    (void)state;
    long n = 0;
    for (int64_t day = 0; day <= 49711; day++) {
        int64_t secs[] = {day * 86400, day * 86400 + 86399, day * 86400 + (day * 7919) % 86400};
        for (size_t k = 0; k < 3; k++, n++)
            check_epoch_text(secs[k], (uint32_t)(day * 104729 % 1000000), (unsigned)(day + (int64_t)k) % 8);
    }
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 200000; i++, n++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t sec = i % 2 ? (int64_t)(x % ((uint64_t)1 << 32)) : (int64_t)(x % 400000000000u) - 200000000000;
        check_epoch_text(sec, (uint32_t)(x >> 40) % 1000000, (unsigned)(x >> 61));
    }
    int64_t edges[] = {0, 1, 86399, 86400, 951782400 /* 2000-02-29 */, 4102444800 /* 2100-01-01 */,
                       (int64_t)UINT32_MAX, (int64_t)UINT32_MAX + 1, -1, -86400};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++, n++) check_epoch_text(edges[i], 999999, 6);
    printf("%ld TIMESTAMP texts = cdc__fmt_datetime of the 64-bit road's fields\n", n);
}

/* cdc__fmt_datetime writes in-range fields at fixed places: the text is
 * printf's, for random fields and every fsp. */
static void test_datetime_text(void **state)
{
    (void)state;
    uint64_t x = 1234567;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        cdc__temporal tm = {0};
        tm.year = (int32_t)(x % 10000);
        tm.month = (uint8_t)(x >> 14) % 13;
        tm.day = (uint8_t)(x >> 18) % 32;
        tm.hour = (uint32_t)(x >> 23) % (i % 3 ? 24 : 100);
        tm.minute = (uint8_t)(x >> 30) % 60;
        tm.second = (uint8_t)(x >> 36) % 60;
        tm.usec = (uint32_t)(x >> 42) % 1000000;
        unsigned fsp = (unsigned)(x >> 62) * 2 + (unsigned)i % 2; /* 0..7 */
        char want[64], frac[16], got[CDC__TEMPORAL_TEXT_MAX];
        snprintf(frac, sizeof frac, ".%06u", (unsigned)tm.usec);
        int n = snprintf(want, sizeof want, "%04d-%02u-%02u%c%02u:%02u:%02u%.*s", (int)tm.year, tm.month, tm.day,
                         i % 2 ? 'T' : ' ', (unsigned)tm.hour, tm.minute, tm.second,
                         fsp ? (int)(fsp > 6 ? 7 : fsp + 1) : 0, frac);
        assert_int_equal(cdc__fmt_datetime(got, &tm, fsp, i % 2 ? 'T' : ' '), (size_t)n);
        assert_string_equal(got, want);
    }
}

/* ---- a model for the tests below: a TIMESTAMP's text by counting whole
 * years and months from 1970, and printf ---- */
static bool model_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static size_t model_epoch_text(char *out, int64_t sec, uint32_t usec, unsigned fsp)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t days = sec / 86400, rem = sec % 86400;
    int64_t y = 1970;
    for (;;) {
        int64_t len = model_leap(y) ? 366 : 365;
        if (days < len) break;
        days -= len;
        y++;
    }
    int m = 0;
    for (;; m++) {
        int len = mdays[m] + (m == 1 && model_leap(y));
        if (days < len) break;
        days -= len;
    }
    char frac[16];
    snprintf(frac, sizeof frac, ".%06u", (unsigned)(usec % 1000000));
    return (size_t)snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d%.*s", (int)y, m + 1, (int)days + 1,
                            (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
                            fsp ? (int)(fsp > 6 ? 7 : fsp + 1) : 0, frac);
}

static void check_epoch_model(int64_t sec, uint32_t usec, unsigned fsp)
{
    char want[64], got[CDC__TEMPORAL_TEXT_MAX];
    size_t n = model_epoch_text(want, sec, usec, fsp);
    assert_int_equal(cdc__fmt_epoch(got, sec, usec, fsp), n);
    assert_string_equal(got, want);
}

/* cdc__fmt_epoch keeps the last minute and day it wrote (per thread):
 * runs of seconds across minute, day, month and year ends (leap and not:
 * 2000-02-29, 2100-02-28, 2104-02-29), the range's first and last
 * seconds, runs going backwards, and a hit and a miss alternating (the
 * same minute, then another day, then the first minute again) all give
 * the model's text. */
static void test_epoch_cache(void **state)
{
    (void)state;
    static const int64_t starts[] = {
        0,          /* 1970-01-01T00:00:00, the cache's first entry */
        951695880,  /* 2000-02-27T23:58:00 */
        1709164680, /* 2024-02-28T23:58:00 */
        4107456000 - 86400 - 120, /* 2100-02-27T23:58:00 */
        4233686400 - 86400 - 120, /* 2104-02-28T23:58:00 */
        (int64_t)UINT32_MAX - 2 * 86400 - 30,
        946684800 - 86400 - 120, /* 1999-12-30T23:58:00 */
    };
    long n = 0;
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        /* forwards a second at a time over two days (to the range's end) */
        for (int64_t s = starts[i]; s < starts[i] + 2 * 86400 + 240 && s <= (int64_t)UINT32_MAX; s++, n++)
            check_epoch_model(s, (uint32_t)(s * 7919 % 1000000), (unsigned)(s % 8));
        /* backwards, by steps that cross minutes and days */
        for (int64_t s = starts[i] + 2 * 86400; s >= starts[i]; s -= 59, n++)
            check_epoch_model(s, 999999, 6);
    }
    /* a hit and a miss alternating: two far days, each visited again */
    uint64_t x = 0x243f6a8885a308d3u;
    for (int i = 0; i < 100000; i++, n += 4) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t a = (int64_t)(x % ((uint64_t)1 << 32) - 120), b = (int64_t)((x >> 20) % ((uint64_t)1 << 32));
        if (a < 0) a = 0;
        check_epoch_model(a, (uint32_t)(x >> 8) % 1000000, 3);
        check_epoch_model(a + (int64_t)(x >> 58), 0, 0);  /* often the same minute */
        check_epoch_model(b, (uint32_t)(x >> 12) % 1000000, 6);
        check_epoch_model(a + 60, 5, 1);                  /* the next minute, often the same day */
    }
    /* the edges, and usec past 999999 (its remainder is printed) */
    int64_t edges[] = {0, 59, 60, 86399, 86400, 951782400, 951868799, 4102444800, (int64_t)UINT32_MAX, 0};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        for (unsigned fsp = 0; fsp <= 7; fsp++, n += 2) {
            check_epoch_model(edges[i], 123456, fsp);
            check_epoch_model(edges[i], 1999999, fsp);
        }
    printf("%ld TIMESTAMP texts = the model's, through the minute cache\n", n);
}

/* The six digits of a fraction (put_six's multiplications): every usec
 * with every fsp, a DATETIME's and a negative TIME's, as printf writes
 * them; years 0000, 0001 and 9999, the zero date, and fields of 64..99
 * (the general road) too. */
static void test_frac_and_fields(void **state)
{
    (void)state;
    char want[64], frac[16], got[CDC__TEMPORAL_TEXT_MAX];
    for (uint32_t u = 0; u < 1000000; u++) {
        unsigned fsp = u % 8;
        cdc__temporal tm = {0};
        tm.year = 2024;
        tm.month = 1;
        tm.day = 1;
        tm.hour = 1;
        tm.minute = 23;
        tm.second = 20;
        tm.usec = u;
        snprintf(frac, sizeof frac, ".%06u", (unsigned)u);
        int fl = fsp ? (int)(fsp > 6 ? 7 : fsp + 1) : 0;
        int n = snprintf(want, sizeof want, "2024-01-01T01:23:20%.*s", fl, frac);
        assert_int_equal(cdc__fmt_datetime(got, &tm, fsp, 'T'), (size_t)n);
        assert_string_equal(got, want);
        snprintf(frac, sizeof frac, ".%06u", (unsigned)u);
        n = snprintf(want, sizeof want, "2024-01-01T01:23:20.%06u", (unsigned)u);
        assert_int_equal(cdc__fmt_datetime(got, &tm, 6, 'T'), (size_t)n);
        assert_string_equal(got, want);
        tm.neg = true;
        tm.hour = u % 839;
        tm.minute = (uint8_t)(u % 60);
        tm.second = (uint8_t)(u / 60 % 60);
        n = snprintf(want, sizeof want, "-%02u:%02u:%02u%.*s", (unsigned)tm.hour, tm.minute, tm.second, fl, frac);
        assert_int_equal(cdc__fmt_time(got, &tm, fsp), (size_t)n);
        assert_string_equal(got, want);
    }
    static const struct { int32_t y; uint8_t mo, d; uint32_t h; uint8_t mi, s; } f[] = {
        {0, 0, 0, 0, 0, 0},      {1, 1, 1, 0, 0, 0},     {9999, 12, 31, 23, 59, 59}, {0, 1, 1, 0, 0, 0},
        {2024, 2, 29, 23, 59, 59}, {2024, 64, 1, 0, 0, 0}, {2024, 1, 99, 0, 0, 0},    {2024, 1, 1, 99, 64, 99},
        {2024, 1, 1, 24, 63, 63},  {2024, 63, 63, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        for (unsigned fsp = 0; fsp <= 6; fsp++) {
            cdc__temporal tm = {0};
            tm.year = f[i].y;
            tm.month = f[i].mo;
            tm.day = f[i].d;
            tm.hour = f[i].h;
            tm.minute = f[i].mi;
            tm.second = f[i].s;
            tm.usec = 10;
            int n = snprintf(want, sizeof want, "%04d-%02u-%02u %02u:%02u:%02u%.*s", (int)tm.year, tm.month, tm.day,
                             (unsigned)tm.hour, tm.minute, tm.second, fsp ? (int)fsp + 1 : 0, ".000010");
            assert_int_equal(cdc__fmt_datetime(got, &tm, fsp, ' '), (size_t)n);
            assert_string_equal(got, want);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frac_bytes),     cmocka_unit_test(test_datetime2),
        cmocka_unit_test(test_time2),          cmocka_unit_test(test_timestamp2),
        cmocka_unit_test(test_old_formats),    cmocka_unit_test(test_packed_json_forms),
        cmocka_unit_test(test_epoch),          cmocka_unit_test(test_epoch_fast),
        cmocka_unit_test(test_datetime_text),  cmocka_unit_test(test_epoch_text),
        cmocka_unit_test(test_parse),          cmocka_unit_test(test_epoch_cache),
        cmocka_unit_test(test_frac_and_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
