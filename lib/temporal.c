/*
 * temporal.c: MySQL's packed temporal formats and their ISO-8601 text.
 *
 * The "2" formats (MySQL 5.6.4+) are big-endian with an offset that makes
 * them sort as unsigned bytes: DATETIME2 is 1 sign bit, 17 bits of
 * year*13+month, 5 day, 5 hour, 6 minute, 6 second, then (fsp+1)/2
 * bytes of fraction; TIME2 is 1 sign bit, 1 unused, 10 hour, 6 minute,
 * 6 second, then the fraction, in two's complement around the offset.
 */
#include "temporal.h"

#include <stdio.h>

#define TIMEF_INT_OFS 0x800000LL
#define TIMEF_OFS 0x800000000000LL
#define DATETIMEF_INT_OFS 0x8000000000LL

void cdc__date_unpack(uint32_t v, cdc__temporal *tm)
{
    memset(tm, 0, sizeof *tm);
    tm->day = (uint8_t)(v & 31);
    tm->month = (uint8_t)((v >> 5) & 15);
    tm->year = (int32_t)(v >> 9);
}

void cdc__time_unpack_old(int32_t v, cdc__temporal *tm)
{
    memset(tm, 0, sizeof *tm);
    uint32_t a = v < 0 ? (uint32_t)(-(int64_t)v) : (uint32_t)v;
    tm->neg = v < 0;
    tm->hour = a / 10000;
    tm->minute = (uint8_t)(a / 100 % 100);
    tm->second = (uint8_t)(a % 100);
}

void cdc__datetime_unpack_old(uint64_t v, cdc__temporal *tm)
{
    memset(tm, 0, sizeof *tm);
    uint64_t date = v / 1000000, time = v % 1000000;
    tm->year = (int32_t)(date / 10000 % 10000);
    tm->month = (uint8_t)(date / 100 % 100);
    tm->day = (uint8_t)(date % 100);
    tm->hour = (uint32_t)(time / 10000);
    tm->minute = (uint8_t)(time / 100 % 100);
    tm->second = (uint8_t)(time % 100);
}

/* Fraction of a "2" format in microseconds, read as an unsigned number. */
static uint32_t frac_usec(const uint8_t *p, unsigned fsp)
{
    switch (cdc__frac_bytes(fsp)) {
    case 1: return (uint32_t)p[0] * 10000;
    case 2: return (uint32_t)cdc__beN(p, 2) * 100;
    case 3: return (uint32_t)cdc__beN(p, 3);
    default: return 0;
    }
}

void cdc__time_unpack_packed(int64_t v, cdc__temporal *tm)
{
    memset(tm, 0, sizeof *tm);
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    tm->neg = v < 0;
    tm->usec = (uint32_t)(a % (1u << 24));
    uint64_t hms = a >> 24;
    tm->hour = (uint32_t)((hms >> 12) % (1u << 10));
    tm->minute = (uint8_t)((hms >> 6) % (1u << 6));
    tm->second = (uint8_t)(hms % (1u << 6));
}

void cdc__datetime2_unpack(const uint8_t *p, unsigned fsp, cdc__temporal *tm)
{
    int64_t intpart = (int64_t)cdc__beN(p, 5) - DATETIMEF_INT_OFS;
    int64_t packed = intpart * (1LL << 24) + (int64_t)frac_usec(p + 5, fsp);
    cdc__datetime_unpack_packed(packed, tm);
}

void cdc__time2_unpack(const uint8_t *p, unsigned fsp, cdc__temporal *tm)
{
    int64_t intpart, frac, packed;
    switch (cdc__frac_bytes(fsp)) {
    case 0:
        intpart = (int64_t)cdc__beN(p, 3) - TIMEF_INT_OFS;
        packed = intpart * (1LL << 24);
        break;
    case 1:
        /* the fraction of a negative time is stored as its complement */
        intpart = (int64_t)cdc__beN(p, 3) - TIMEF_INT_OFS;
        frac = p[3];
        if (intpart < 0 && frac) { intpart++; frac -= 0x100; }
        packed = intpart * (1LL << 24) + frac * 10000;
        break;
    case 2:
        intpart = (int64_t)cdc__beN(p, 3) - TIMEF_INT_OFS;
        frac = (int64_t)cdc__beN(p + 3, 2);
        if (intpart < 0 && frac) { intpart++; frac -= 0x10000; }
        packed = intpart * (1LL << 24) + frac * 100;
        break;
    default:
        packed = (int64_t)cdc__beN(p, 6) - TIMEF_OFS;
        break;
    }
    cdc__time_unpack_packed(packed, tm);
}

void cdc__timestamp2_unpack(const uint8_t *p, unsigned fsp, int64_t *sec, uint32_t *usec)
{
    *sec = (int64_t)cdc__beN(p, 4);
    *usec = frac_usec(p + 4, fsp);
}

/* Days since 1970-01-01 to a proleptic Gregorian date (Hinnant's method). */
static void civil_from_days(int64_t z, int32_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int32_t)(yy + (*m <= 2));
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/*
 * Days since 1970-01-01 (0..49,710, the range of a 32-bit TIMESTAMP) to
 * a date in 32-bit arithmetic, with no division but by constants that
 * become multiplications (C. Neri and L. Schneider, "Euclidean affine
 * functions and their application to calendar algorithms", 2022): the
 * day counted from 0000-03-01 gives the century, then the year of the
 * century and day of the year through one 64-bit product, then month and
 * day through another. Tested equal to civil_from_days on every day of
 * the range (test_temporal).
 */
static void civil_from_days32(uint32_t days, int32_t *y, unsigned *m, unsigned *d)
{
    uint32_t n = days + 719468;
    uint32_t n1 = 4 * n + 3;
    uint32_t c = n1 / 146097, nc = n1 % 146097 / 4;
    uint64_t p2 = (uint64_t)2939745 * (4 * nc + 3);
    uint32_t z = (uint32_t)(p2 >> 32), ny = (uint32_t)p2 / 2939745 / 4;
    uint32_t n3 = 2141 * ny + 197913;
    uint32_t mm = n3 >> 16, dd = (n3 & 0xffff) / 2141;
    bool jan_feb = ny >= 306;
    *y = (int32_t)(100 * c + z + jan_feb);
    *m = jan_feb ? mm - 12 : mm;
    *d = dd + 1;
}

void cdc__epoch_to_tm(int64_t sec, uint32_t usec, cdc__temporal *tm)
{
    memset(tm, 0, sizeof *tm);
    int32_t y;
    unsigned m, d;
    if (sec >= 0 && sec <= UINT32_MAX) {
        /* TIMESTAMP's range: 32-bit arithmetic throughout */
        uint32_t s = (uint32_t)sec, days = s / 86400, rem = s - days * 86400;
        civil_from_days32(days, &y, &m, &d);
        tm->year = y;
        tm->month = (uint8_t)m;
        tm->day = (uint8_t)d;
        tm->hour = rem / 3600;
        rem -= tm->hour * 3600;
        tm->minute = (uint8_t)(rem / 60);
        tm->second = (uint8_t)(rem - tm->minute * 60u);
        tm->usec = usec;
        return;
    }
    cdc__epoch_to_tm_reference(sec, usec, tm);
}

/* The general road (outside TIMESTAMP's range, and for the tests):
 * civil_from_days in 64-bit arithmetic. */
void cdc__epoch_to_tm_reference(int64_t sec, uint32_t usec, cdc__temporal *tm)
{
    memset(tm, 0, sizeof *tm);
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) { rem += 86400; days--; }
    int32_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    tm->year = y;
    tm->month = (uint8_t)m;
    tm->day = (uint8_t)d;
    tm->hour = (uint32_t)(rem / 3600);
    tm->minute = (uint8_t)(rem / 60 % 60);
    tm->second = (uint8_t)(rem % 60);
    tm->usec = usec;
}

int64_t cdc__tm_to_epoch(const cdc__temporal *tm)
{
    return days_from_civil(tm->year, tm->month, tm->day) * 86400 + (int64_t)tm->hour * 3600 +
           tm->minute * 60 + tm->second;
}

static const uint32_t pow10_6[7] = {1000000, 100000, 10000, 1000, 100, 10, 1};

static const char digits2[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static inline char *put2(char *o, uint32_t v)
{
    memcpy(o, digits2 + 2 * v, 2);
    return o + 2;
}

/* v in decimal, zero-padded to width; every field of a valid date or
 * time fits its width and takes the digit-pair road. */
static inline char *put_num(char *o, uint32_t v, unsigned width)
{
    if (width == 2 && v < 100) return put2(o, v);
    if (width == 4 && v < 10000) return put2(put2(o, v / 100), v % 100);
    char tmp[12];
    unsigned n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n < width) tmp[n++] = '0';
    while (n) *o++ = tmp[--n];
    return o;
}

/*
 * The six digits of u < 10^6 as three pairs, by fixed-point
 * multiplication as jsonw.c's put_digits does: y = u * ceil(2^57 / 10^4)
 * holds u's first pair in its top 7 bits and the rest as a 57-bit
 * fraction, and each multiplication of the fraction by 100 brings the
 * next pair up (the rounding up adds less than 10^-11 of a pair; every u
 * is checked by test_temporal). One multiplication per pair and no
 * division.
 */
#define FRAC_SHIFT 57
#define FRAC_MASK ((UINT64_C(1) << FRAC_SHIFT) - 1)

static inline void put_six(char *o, uint32_t u)
{
    uint64_t y = (uint64_t)u * (((UINT64_C(1) << FRAC_SHIFT) + 9999) / 10000);
    put2(o, (uint32_t)(y >> FRAC_SHIFT));
    y = (y & FRAC_MASK) * 100;
    put2(o + 2, (uint32_t)(y >> FRAC_SHIFT));
    y = (y & FRAC_MASK) * 100;
    put2(o + 4, (uint32_t)(y >> FRAC_SHIFT));
}

/* The length of ".ffffff" kept for fsp: 0 for fsp 0, else 1 + fsp (at
 * most 6 digits). */
static inline size_t frac_len(unsigned fsp) { return fsp ? 1 + (fsp > 6 ? 6 : fsp) : 0; }

/* The first fsp of the six digits of usec: all six are written (the
 * callers' buffers have room), fsp of them kept. */
static char *put_frac(char *o, uint32_t usec, unsigned fsp)
{
    if (fsp == 0) return o;
    *o = '.';
    put_six(o + 1, usec < 1000000 ? usec : usec % 1000000);
    return o + frac_len(fsp);
}

size_t cdc__fmt_date(char *out, const cdc__temporal *tm)
{
    char *o = out;
    if (tm->year < 0) *o++ = '-';
    o = put_num(o, (uint32_t)(tm->year < 0 ? -(int64_t)tm->year : tm->year), 4);
    *o++ = '-';
    o = put_num(o, tm->month, 2);
    *o++ = '-';
    o = put_num(o, tm->day, 2);
    *o = 0;
    return (size_t)(o - out);
}

/* The date of a year 0..9999 and month and day below 100, "YYYY-MM-DD"
 * at fixed places (10 bytes, no NUL). */
static inline void put_ymd(char *out, uint32_t y, uint32_t mo, uint32_t d)
{
    put2(out, y / 100);
    put2(out + 2, y % 100);
    out[4] = '-';
    put2(out + 5, mo);
    out[7] = '-';
    put2(out + 8, d);
}

/* A time of day below 100 hours, then the fraction: "HH:MM:SS.ffffff"
 * at fixed places from out[11] on, after the separator at out[10]
 * (the point and all six digits are written, fsp of them kept). Returns
 * the length of the whole text, with the date. */
static inline size_t put_hms(char *out, uint32_t h, uint32_t mi, uint32_t s, uint32_t usec, unsigned fsp)
{
    put2(out + 11, h);
    out[13] = ':';
    put2(out + 14, mi);
    out[16] = ':';
    put2(out + 17, s);
    out[19] = '.';
    put_six(out + 20, usec < 1000000 ? usec : usec % 1000000);
    size_t n = 19 + frac_len(fsp);
    out[n] = 0;
    return n;
}

/* Any fields, each by put_num; apart, so that the fixed-place road in
 * cdc__fmt_datetime saves no registers. */
static __attribute__((noinline)) size_t fmt_datetime_general(char *out, const cdc__temporal *tm, unsigned fsp,
                                                             char sep)
{
    char *o = out + cdc__fmt_date(out, tm);
    *o++ = sep;
    o = put_num(o, tm->hour, 2);
    *o++ = ':';
    o = put_num(o, tm->minute, 2);
    *o++ = ':';
    o = put_num(o, tm->second, 2);
    o = put_frac(o, tm->usec, fsp);
    *o = 0;
    return (size_t)(o - out);
}

size_t cdc__fmt_datetime(char *out, const cdc__temporal *tm, unsigned fsp, char sep)
{
    /* every field at its fixed place when the year is 0..9999 and the
     * others below 100 (valid minutes, seconds, days and months are
     * below 64, so one compare of their OR tells them; one at 64..99
     * takes the general road, which writes the same) */
    if ((uint32_t)tm->year <= 9999 && (tm->month | tm->day | tm->minute | tm->second) < 64 && tm->hour < 100) {
        put_ymd(out, (uint32_t)tm->year, tm->month, tm->day);
        out[10] = sep;
        return put_hms(out, tm->hour, tm->minute, tm->second, tm->usec, fsp);
    }
    return fmt_datetime_general(out, tm, fsp, sep);
}

/*
 * The last minute cdc__fmt_epoch wrote, per thread: rows written one
 * after another mostly share their day and often their minute. min0 is
 * the minute's first second and text its "YYYY-MM-DDTHH:MM"; day0 the
 * first second of text's day. A second in [min0, min0 + 60) takes the
 * text and writes only its seconds; one in [day0, day0 + 86400) keeps
 * the date and writes the hour and minute. Per thread, so no thread
 * sees another's half-written entry; it starts valid, at the epoch.
 */
typedef struct {
    uint32_t min0, day0;
    char text[16];
} epoch_cache;

static _Thread_local epoch_cache last_minute = {0, 0, "1970-01-01T00:00"};

/* Points ec at the minute of s (s outside it), the date kept when s is
 * in the same day; returns s's second in the minute. Apart, so that
 * the usual road in cdc__fmt_epoch stays a leaf without saved
 * registers. */
static __attribute__((noinline)) uint32_t epoch_cache_fill(epoch_cache *ec, uint32_t s)
{
    uint64_t rem = (uint64_t)s - ec->day0; /* 64 bits: the last day ends past 2^32 */
    if (rem >= 86400) {
        uint32_t days = s / 86400;
        int32_t y;
        unsigned m, d;
        civil_from_days32(days, &y, &m, &d);
        put_ymd(ec->text, (uint32_t)y, m, d);
        ec->text[10] = 'T';
        ec->day0 = days * 86400;
        rem = s - ec->day0;
    }
    uint32_t h = (uint32_t)rem / 3600, mi = ((uint32_t)rem - h * 3600) / 60;
    put2(ec->text + 11, h);
    ec->text[13] = ':';
    put2(ec->text + 14, mi);
    ec->min0 = ec->day0 + h * 3600 + mi * 60;
    return s - ec->min0;
}

/* Seconds outside TIMESTAMP's range, through a cdc__temporal; apart, so
 * that cdc__fmt_epoch keeps no cdc__temporal on its stack. */
static __attribute__((noinline)) size_t fmt_epoch_wide(char *out, int64_t sec, uint32_t usec, unsigned fsp)
{
    cdc__temporal tm;
    cdc__epoch_to_tm(sec, usec, &tm);
    return cdc__fmt_datetime(out, &tm, fsp, 'T');
}

/* TIMESTAMP's range as cdc__epoch_to_tm takes it; years 1970..2106 and
 * hours below 24 always take put_ymd and put_hms. */
size_t cdc__fmt_epoch(char *out, int64_t sec, uint32_t usec, unsigned fsp)
{
    if (sec >= 0 && sec <= UINT32_MAX) {
        epoch_cache *ec = &last_minute;
        /* the empty asm keeps the address in a register: the compiler
         * would otherwise ask __tls_get_addr for it again on each road */
        __asm__("" : "+r"(ec));
        /* in 64 bits: the range's last minute ends past 2^32, and a
         * second after the wrap must not look inside it */
        uint64_t r = (uint64_t)sec - ec->min0;
        if (r >= 60) r = epoch_cache_fill(ec, (uint32_t)sec);
        memcpy(out, ec->text, 16);
        out[16] = ':';
        put2(out + 17, (uint32_t)r);
        out[19] = '.';
        put_six(out + 20, usec < 1000000 ? usec : usec % 1000000);
        size_t n = 19 + frac_len(fsp);
        out[n] = 0;
        return n;
    }
    return fmt_epoch_wide(out, sec, usec, fsp);
}

size_t cdc__fmt_time(char *out, const cdc__temporal *tm, unsigned fsp)
{
    char *o = out;
    if (tm->neg) *o++ = '-';
    o = put_num(o, tm->hour, 2);
    *o++ = ':';
    o = put_num(o, tm->minute, 2);
    *o++ = ':';
    o = put_num(o, tm->second, 2);
    o = put_frac(o, tm->usec, fsp);
    *o = 0;
    return (size_t)(o - out);
}

/* ---- text protocol parsing --------------------------------------- */

/* Reads exactly n digits (n == 0: one or more) at s[*i]; -1 if none. */
static int64_t digits(const char *s, size_t len, size_t *i, unsigned n)
{
    int64_t v = 0;
    unsigned k = 0;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9' && (n == 0 || k < n) && k < 10) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    if (k == 0 || (n && k != n)) return -1;
    return v;
}

static int parse_frac(const char *s, size_t len, size_t *i, uint32_t *usec)
{
    *usec = 0;
    if (*i == len) return CDC_OK;
    if (s[*i] != '.') return CDC_ERR_INVALID;
    (*i)++;
    unsigned k = 0;
    uint32_t v = 0;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        if (k < 6) { v = v * 10 + (uint32_t)(s[*i] - '0'); k++; }
        else if (s[*i] != '0') return CDC_ERR_INVALID;
        (*i)++;
    }
    if (k == 0) return CDC_ERR_INVALID;
    *usec = v * pow10_6[k];
    return CDC_OK;
}

static int parse_date(const char *s, size_t len, size_t *i, cdc__temporal *tm)
{
    int64_t y = digits(s, len, i, 4);
    if (y < 0 || *i >= len || s[(*i)++] != '-') return CDC_ERR_INVALID;
    int64_t m = digits(s, len, i, 2);
    if (m < 0 || m > 12 || *i >= len || s[(*i)++] != '-') return CDC_ERR_INVALID;
    int64_t d = digits(s, len, i, 2);
    if (d < 0 || d > 31) return CDC_ERR_INVALID;
    tm->year = (int32_t)y;
    tm->month = (uint8_t)m;
    tm->day = (uint8_t)d;
    return CDC_OK;
}

static int parse_hms(const char *s, size_t len, size_t *i, cdc__temporal *tm, unsigned hour_digits)
{
    int64_t h = digits(s, len, i, hour_digits);
    if (h < 0 || *i >= len || s[(*i)++] != ':') return CDC_ERR_INVALID;
    int64_t mi = digits(s, len, i, 2);
    if (mi < 0 || mi > 59 || *i >= len || s[(*i)++] != ':') return CDC_ERR_INVALID;
    int64_t se = digits(s, len, i, 2);
    if (se < 0 || se > 59) return CDC_ERR_INVALID;
    tm->hour = (uint32_t)h;
    tm->minute = (uint8_t)mi;
    tm->second = (uint8_t)se;
    return parse_frac(s, len, i, &tm->usec);
}

int cdc__date_parse(const char *s, size_t len, cdc__temporal *tm)
{
    memset(tm, 0, sizeof *tm);
    size_t i = 0;
    if (parse_date(s, len, &i, tm) || i != len) return CDC_ERR_INVALID;
    return CDC_OK;
}

int cdc__datetime_parse(const char *s, size_t len, cdc__temporal *tm)
{
    memset(tm, 0, sizeof *tm);
    size_t i = 0;
    if (parse_date(s, len, &i, tm)) return CDC_ERR_INVALID;
    if (i == len) return CDC_OK;
    if (s[i] != ' ' && s[i] != 'T') return CDC_ERR_INVALID;
    i++;
    if (parse_hms(s, len, &i, tm, 2) || i != len || tm->hour > 23) return CDC_ERR_INVALID;
    return CDC_OK;
}

int cdc__time_parse(const char *s, size_t len, cdc__temporal *tm)
{
    memset(tm, 0, sizeof *tm);
    size_t i = 0;
    if (i < len && s[i] == '-') { tm->neg = 1; i++; }
    if (parse_hms(s, len, &i, tm, 0) || i != len || tm->hour > 838) return CDC_ERR_INVALID;
    return CDC_OK;
}
