/*
 * temporal.h: the packed forms of MySQL's DATE, TIME, DATETIME and
 * TIMESTAMP (old and fractional-second "2" formats, and the 64-bit
 * packed integers JSON opaque values use) to cdc__temporal, and the
 * canonical ISO-8601 text of each. Internal; not installed.
 */
#ifndef CDC_TEMPORAL_H
#define CDC_TEMPORAL_H

#include "value.h"

/* Longest text a formatter writes, NUL included:
 * "-2147483648-12-31T838:59:59.999999Z" fits comfortably. */
#define CDC__TEMPORAL_TEXT_MAX 48

/* Bytes of the fractional part for fsp 0..6: (fsp + 1) / 2. */
static inline size_t cdc__frac_bytes(unsigned fsp) { return (fsp + 1) / 2; }

/* 3-byte little-endian DATE (day:5 month:4 year:15). */
void cdc__date_unpack(uint32_t v, cdc__temporal *tm);
/* Old 3-byte TIME: a signed integer HHMMSS. */
void cdc__time_unpack_old(int32_t v, cdc__temporal *tm);
/* Old 8-byte DATETIME: YYYYMMDDhhmmss as an integer. */
void cdc__datetime_unpack_old(uint64_t v, cdc__temporal *tm);
/* The packed 64-bit form of JSON opaque DATETIME/DATE/TIMESTAMP;
 * inline: the row images' DATETIME2 ends in it. */
static inline void cdc__datetime_unpack_packed(int64_t v, cdc__temporal *tm)
{
    memset(tm, 0, sizeof *tm);
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    tm->usec = (uint32_t)(a % (1u << 24));
    uint64_t ymdhms = a >> 24;
    uint64_t ymd = ymdhms >> 17, ym = ymd >> 5, hms = ymdhms % (1u << 17);
    tm->day = (uint8_t)(ymd % (1u << 5));
    tm->month = (uint8_t)(ym % 13);
    tm->year = (int32_t)(ym / 13);
    tm->second = (uint8_t)(hms % (1u << 6));
    tm->minute = (uint8_t)((hms >> 6) % (1u << 6));
    tm->hour = (uint32_t)(hms >> 12);
}

/* Microseconds of a "2" format's fraction of fb = frac_bytes(fsp) bytes,
 * read as one unsigned big-endian number raw. */
static inline uint32_t cdc__frac_usec_raw(uint32_t raw, size_t fb)
{
    static const uint32_t mul[4] = {0, 10000, 100, 1};
    return raw * mul[fb & 3];
}

/* DATETIME2 from its 5 + fb bytes read as one big-endian number x (what
 * cdc__datetime2_unpack does with the bytes themselves). */
static inline void cdc__datetime2_unpack_be(uint64_t x, size_t fb, cdc__temporal *tm)
{
    unsigned fbits = (unsigned)(8 * fb);
    int64_t intpart = (int64_t)(x >> fbits) - 0x8000000000LL;
    uint32_t frac = (uint32_t)(x & ((UINT64_C(1) << fbits) - 1));
    cdc__datetime_unpack_packed(intpart * (1LL << 24) + (int64_t)cdc__frac_usec_raw(frac, fb), tm);
}

/* TIME2/DATETIME2 bodies: p holds 3 (5) + frac_bytes(fsp) bytes. */
void cdc__time2_unpack(const uint8_t *p, unsigned fsp, cdc__temporal *tm);
void cdc__datetime2_unpack(const uint8_t *p, unsigned fsp, cdc__temporal *tm);
/* TIMESTAMP2 body: 4 bytes of seconds, then the fraction, big-endian. */
void cdc__timestamp2_unpack(const uint8_t *p, unsigned fsp, int64_t *sec, uint32_t *usec);
/* The packed 64-bit form of JSON opaque TIME. */
void cdc__time_unpack_packed(int64_t v, cdc__temporal *tm);
/* Seconds since the epoch (UTC) to calendar fields. */
void cdc__epoch_to_tm(int64_t sec, uint32_t usec, cdc__temporal *tm);
/* The same by the general 64-bit road (what the tests compare with). */
void cdc__epoch_to_tm_reference(int64_t sec, uint32_t usec, cdc__temporal *tm);

/*
 * Formatters; each writes NUL-terminated text into out (at least
 * CDC__TEMPORAL_TEXT_MAX bytes) and returns its length. fsp is the
 * number of fractional digits to print (0..6; 0 prints no point).
 * sep is 'T' for the canonical form, ' ' for MySQL's own.
 */
size_t cdc__fmt_date(char *out, const cdc__temporal *tm);
size_t cdc__fmt_datetime(char *out, const cdc__temporal *tm, unsigned fsp, char sep);
/* The same text as cdc__epoch_to_tm(sec, usec) then cdc__fmt_datetime
 * with sep 'T' (a TIMESTAMP in UTC, without the 'Z'), without the
 * cdc__temporal in between for TIMESTAMP's range. */
size_t cdc__fmt_epoch(char *out, int64_t sec, uint32_t usec, unsigned fsp);
size_t cdc__fmt_time(char *out, const cdc__temporal *tm, unsigned fsp);

/*
 * Parses what the text protocol returns ("2024-02-29", "2024-02-29
 * 23:59:59.123", "-838:59:59.000000") into tm. Returns CDC_OK or
 * CDC_ERR_INVALID. Used for snapshot rows.
 */
int cdc__date_parse(const char *s, size_t len, cdc__temporal *tm);
int cdc__datetime_parse(const char *s, size_t len, cdc__temporal *tm);
int cdc__time_parse(const char *s, size_t len, cdc__temporal *tm);
/* Calendar fields (taken as UTC) to seconds since the epoch. */
int64_t cdc__tm_to_epoch(const cdc__temporal *tm);

#endif /* CDC_TEMPORAL_H */
