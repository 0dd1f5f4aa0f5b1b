/*
 * decimal.h: exact DECIMAL values. MySQL stores NEWDECIMAL as groups of
 * nine decimal digits in big-endian words with the sign folded into the
 * first bit; we convert between that form and digit text with integer
 * arithmetic only, so no value is ever rounded. Internal; not installed.
 */
#ifndef CDC_DECIMAL_H
#define CDC_DECIMAL_H

#include "util.h"

#define CDC__DECIMAL_MAX_PREC 65
#define CDC__DECIMAL_MAX_SCALE 30
/* Longest text: sign, 65 digits, point, a leading "0." digit: 68 + NUL. */
#define CDC__DECIMAL_TEXT_MAX 72

/* Bytes of a DECIMAL(prec,scale) in binary form, or 0 when prec/scale
 * are out of range (prec 1..65, scale 0..30, scale <= prec). */
size_t cdc__decimal_bin_size(unsigned prec, unsigned scale);

/*
 * Renders the binary decimal at p (exactly cdc__decimal_bin_size bytes)
 * as text with exactly `scale` fractional digits ("-12.30", "0.00",
 * "12"); out needs CDC__DECIMAL_TEXT_MAX bytes and is NUL-terminated.
 * Returns the text length, or a negative cdc_error (CDC_ERR_CORRUPT when
 * a digit group exceeds its digit count) with a message in err.
 */
int cdc__decimal_to_text(const uint8_t *p, unsigned prec, unsigned scale,
                         char *out, cdc__err *err);

/* Checks that every digit group of the binary decimal at p is in range;
 * CDC_OK or CDC_ERR_CORRUPT, without producing text. */
int cdc__decimal_check(const uint8_t *p, unsigned prec, unsigned scale, cdc__err *err);

/* For prec <= 18: checks the digit groups as cdc__decimal_check does and
 * sets *unscaled to the value times 10^scale. False when a group is out
 * of range (cdc__decimal_check then says which) or prec > 18. */
bool cdc__decimal_to_i64(const uint8_t *p, unsigned prec, unsigned scale, int64_t *unscaled);

/*
 * The digit groups of a DECIMAL(prec,scale) with prec <= 18, worked out
 * once per column (rows.c keeps them in the table's plan) so that
 * cdc__decimal_groups_to_i64 reads a value without redoing it.
 */
typedef struct cdc__decimal_groups {
    uint8_t n;         /* groups, 1..4 */
    uint8_t nb[4];     /* bytes of each */
    uint32_t limit[4]; /* 10^digits of each: a group value must be below it */
} cdc__decimal_groups;

/* False when prec > 18 or prec/scale are out of range. */
bool cdc__decimal_groups_make(unsigned prec, unsigned scale, cdc__decimal_groups *g);

/* cdc__decimal_to_i64 through groups made for its prec and scale: the
 * same result and the same checks. */
static inline bool cdc__decimal_groups_to_i64(const uint8_t *p, const cdc__decimal_groups *g,
                                              int64_t *unscaled)
{
    uint32_t flip = (p[0] & 0x80) ? 0 : 0xffffffffu; /* negative: digits stored inverted */
    uint32_t sign = 0x80u << (8 * (g->nb[0] - 1));   /* the sign bit is not a digit bit */
    uint64_t acc = 0;                                /* at most 18 digits: below 2^63 */
    for (unsigned k = 0; k < g->n; k++) {
        unsigned nb = g->nb[k];
        uint32_t v = (uint32_t)cdc__beN(p, nb) ^ (flip >> (32 - 8 * nb)) ^ sign;
        sign = 0;
        p += nb;
        if (v >= g->limit[k]) return false;
        acc = acc * g->limit[k] + v;
    }
    *unscaled = flip ? -(int64_t)acc : (int64_t)acc;
    return true;
}

/* The same when the value's bytes (at most 8) are the top bytes of u, a
 * big-endian load of 8 bytes from its start: no load per digit group. */
static inline bool cdc__decimal_groups_to_i64_be(uint64_t u, const cdc__decimal_groups *g, int64_t *unscaled)
{
    uint64_t flip = (u >> 63) ? 0 : ~UINT64_C(0); /* negative: digits stored inverted */
    u ^= flip ^ (UINT64_C(1) << 63);               /* the sign bit is not a digit bit */
    uint64_t acc = 0;
    for (unsigned k = 0; k < g->n; k++) {
        unsigned bits = 8u * g->nb[k];
        uint32_t v = (uint32_t)(u >> (64 - bits));
        u <<= bits; /* bits <= 32 */
        if (v >= g->limit[k]) return false;
        acc = acc * g->limit[k] + v;
    }
    *unscaled = flip ? -(int64_t)acc : (int64_t)acc;
    return true;
}

/* Text of unscaled / 10^scale exactly as cdc__decimal_to_text writes it
 * ("-12.30", "0.05", "7"); out needs CDC__DECIMAL_TEXT_MAX bytes, is not
 * NUL-terminated. Returns the length. */
size_t cdc__decimal_i64_text(int64_t unscaled, unsigned scale, char *out);

/*
 * Parses decimal text ("-12.3", "+0012.300", "1e3" is refused) into the
 * binary form of DECIMAL(prec,scale) at out (cdc__decimal_bin_size
 * bytes). Fractional digits beyond scale must be zeros (the server never
 * sends more). Returns CDC_OK, or CDC_ERR_INVALID naming the problem.
 */
int cdc__decimal_from_text(const char *s, size_t len, unsigned prec, unsigned scale,
                           uint8_t *out, cdc__err *err);

#endif /* CDC_DECIMAL_H */
