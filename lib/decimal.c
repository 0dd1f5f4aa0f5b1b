/*
 * decimal.c: NEWDECIMAL binary form <-> exact digit text.
 *
 * Layout (MySQL strings/decimal.cc, bin2decimal): the integer part's
 * digits are split into whole groups of nine from the point leftwards,
 * with a leading partial group of intg%9 digits; the fraction into whole
 * groups of nine from the point rightwards plus a trailing partial group.
 * A group of n digits takes dig2bytes[n] big-endian bytes. Positive
 * values have the top bit of the first byte set; negative values are
 * stored with every byte inverted.
 */
#include "decimal.h"

#include "jsonw.h"

static const uint8_t dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
static const uint32_t pow10_9[10] = {1, 10, 100, 1000, 10000, 100000, 1000000,
                                     10000000, 100000000, 1000000000};

size_t cdc__decimal_bin_size(unsigned prec, unsigned scale)
{
    if (prec < 1 || prec > CDC__DECIMAL_MAX_PREC || scale > CDC__DECIMAL_MAX_SCALE || scale > prec)
        return 0;
    unsigned intg = prec - scale;
    return (intg / 9) * 4 + dig2bytes[intg % 9] + (scale / 9) * 4 + dig2bytes[scale % 9];
}

/* Reads one group of `digits` digits (n bytes) with the sign mask applied. */
static uint32_t group(const uint8_t *p, size_t n, uint8_t mask, bool first)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (first && i == 0) b ^= 0x80; /* the sign bit is not a digit bit */
        v = (v << 8) | (uint8_t)(b ^ mask);
    }
    return v;
}

static char *put_digits(char *o, uint32_t v, unsigned digits)
{
    for (unsigned i = digits; i > 0; i--) {
        o[i - 1] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + digits;
}

int cdc__decimal_check(const uint8_t *p, unsigned prec, unsigned scale, cdc__err *err)
{
    if (!cdc__decimal_bin_size(prec, scale))
        return cdc__err_set(err, CDC_ERR_CORRUPT, "DECIMAL(%u,%u): precision/scale out of range", prec, scale);
    uint8_t mask = (p[0] & 0x80) ? 0 : 0xff;
    unsigned intg = prec - scale, lead = intg % 9, trail = scale % 9;
    unsigned ngroups = intg / 9 + (lead ? 1 : 0) + scale / 9 + (trail ? 1 : 0), ifirst = intg / 9 + (lead ? 1 : 0);
    size_t off = 0;
    for (unsigned g = 0; g < ngroups; g++) {
        unsigned nd = (g == 0 && lead) ? lead : (g == ngroups - 1 && g >= ifirst && trail) ? trail : 9;
        size_t nb = dig2bytes[nd];
        uint32_t v = group(p + off, nb, mask, g == 0);
        off += nb;
        if (v >= pow10_9[nd])
            return cdc__err_set(err, CDC_ERR_CORRUPT, "DECIMAL(%u,%u): digit group %u exceeds %u digits", prec,
                                scale, (unsigned)v, nd);
    }
    return CDC_OK;
}

bool cdc__decimal_to_i64(const uint8_t *p, unsigned prec, unsigned scale, int64_t *unscaled)
{
    if (prec > 18 || !cdc__decimal_bin_size(prec, scale)) return false;
    uint8_t mask = (p[0] & 0x80) ? 0 : 0xff;
    unsigned intg = prec - scale, lead = intg % 9, trail = scale % 9;
    unsigned ngroups = intg / 9 + (lead ? 1 : 0) + scale / 9 + (trail ? 1 : 0), ifirst = intg / 9 + (lead ? 1 : 0);
    static const uint32_t ones[5] = {0, 0xff, 0xffff, 0xffffff, 0xffffffff};
    size_t off = 0;
    uint64_t acc = 0; /* at most 18 digits: below 2^63 */
    for (unsigned g = 0; g < ngroups; g++) {
        unsigned nd = (g == 0 && lead) ? lead : (g == ngroups - 1 && g >= ifirst && trail) ? trail : 9;
        size_t nb = dig2bytes[nd];
        const uint8_t *q = p + off;
        uint32_t v = nb == 4 ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]
                   : nb == 3 ? (uint32_t)q[0] << 16 | (uint32_t)q[1] << 8 | q[2]
                   : nb == 2 ? (uint32_t)q[0] << 8 | q[1] : q[0];
        v ^= mask ? ones[nb] : 0;
        if (g == 0) v ^= 0x80u << (8 * (nb - 1)); /* the sign bit is not a digit bit */
        off += nb;
        if (v >= pow10_9[nd]) return false;
        acc = acc * pow10_9[nd] + v;
    }
    *unscaled = mask ? -(int64_t)acc : (int64_t)acc;
    return true;
}

bool cdc__decimal_groups_make(unsigned prec, unsigned scale, cdc__decimal_groups *g)
{
    memset(g, 0, sizeof *g);
    if (prec > 18 || !cdc__decimal_bin_size(prec, scale)) return false;
    unsigned intg = prec - scale, lead = intg % 9, trail = scale % 9;
    unsigned nd[4], n = 0; /* at most 3 groups in 18 digits */
    if (lead) nd[n++] = lead;
    for (unsigned i = 0; i < intg / 9; i++) nd[n++] = 9;
    for (unsigned i = 0; i < scale / 9; i++) nd[n++] = 9;
    if (trail) nd[n++] = trail;
    for (unsigned k = 0; k < n; k++) {
        g->nb[k] = dig2bytes[nd[k]];
        g->limit[k] = pow10_9[nd[k]];
    }
    g->n = (uint8_t)n;
    return true;
}

size_t cdc__decimal_i64_text(int64_t unscaled, unsigned scale, char *out)
{
    uint64_t m = unscaled < 0 ? (uint64_t)0 - (uint64_t)unscaled : (uint64_t)unscaled;
    char *o = out;
    if (unscaled < 0) *o++ = '-';
    /* the digits by pairs, then the point let in: the fraction's digits
     * move one byte right (after zeros in front when |value| < 1) */
    size_t n = cdc__fmt_u64(o, m);
    if (!scale) return (size_t)(o + n - out);
    if (n <= scale) {
        size_t pad = scale + 1 - n;
        memmove(o + pad, o, n);
        memset(o, '0', pad);
        n = scale + 1;
    }
    if (scale <= 8 && n <= 16) {
        /* the fraction's digits one byte right by one 8-byte copy: at
         * most sign + 16 digits + 9 bytes, inside the 26 bytes that
         * render.c's in-place road leaves (out needs 72) */
        char frac[8];
        memcpy(frac, o + n - scale, 8);
        memcpy(o + n - scale + 1, frac, 8);
    } else {
        for (size_t i = n; i > n - scale; i--) o[i] = o[i - 1];
    }
    o[n - scale] = '.';
    return (size_t)(o + n + 1 - out);
}

int cdc__decimal_to_text(const uint8_t *p, unsigned prec, unsigned scale, char *out, cdc__err *err)
{
    size_t size = cdc__decimal_bin_size(prec, scale);
    if (!size)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "DECIMAL(%u,%u): precision/scale out of range", prec, scale);
    uint8_t mask = (p[0] & 0x80) ? 0 : 0xff;
    unsigned intg = prec - scale;
    unsigned lead = intg % 9, ifull = intg / 9, ffull = scale / 9, trail = scale % 9;
    char digits[CDC__DECIMAL_TEXT_MAX];
    char *d = digits;
    size_t off = 0;
    bool first = true;
    /* integer groups */
    for (unsigned g = 0; g < ifull + (lead ? 1 : 0); g++) {
        unsigned nd = (g == 0 && lead) ? lead : 9;
        size_t nb = dig2bytes[nd];
        uint32_t v = group(p + off, nb, mask, first);
        first = false;
        off += nb;
        if (v >= pow10_9[nd])
            return cdc__err_set(err, CDC_ERR_CORRUPT, "DECIMAL(%u,%u): digit group %u exceeds %u digits",
                                prec, scale, (unsigned)v, nd);
        d = put_digits(d, v, nd);
    }
    char *point = d;
    for (unsigned g = 0; g < ffull + (trail ? 1 : 0); g++) {
        unsigned nd = g < ffull ? 9 : trail;
        size_t nb = dig2bytes[nd];
        uint32_t v = group(p + off, nb, mask, first);
        first = false;
        off += nb;
        if (v >= pow10_9[nd])
            return cdc__err_set(err, CDC_ERR_CORRUPT, "DECIMAL(%u,%u): digit group %u exceeds %u digits",
                                prec, scale, (unsigned)v, nd);
        d = put_digits(d, v, nd);
    }
    /* strip leading zeros of the integer part, keep one */
    char *s = digits;
    while (s < point && *s == '0') s++;
    bool zero = true;
    for (char *q = s; q < d; q++)
        if (*q != '0') { zero = false; break; }
    char *o = out;
    if (mask && !zero) *o++ = '-'; /* a stored "-0" prints as 0, as SELECT does */
    if (s == point) *o++ = '0';
    memcpy(o, s, (size_t)(point - s));
    o += point - s;
    if (scale) {
        *o++ = '.';
        memcpy(o, point, (size_t)(d - point));
        o += d - point;
    }
    *o = 0;
    return (int)(o - out);
}

int cdc__decimal_from_text(const char *s, size_t len, unsigned prec, unsigned scale, uint8_t *out, cdc__err *err)
{
    size_t size = cdc__decimal_bin_size(prec, scale);
    if (!size)
        return cdc__err_set(err, CDC_ERR_INVALID, "DECIMAL(%u,%u): precision/scale out of range", prec, scale);
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    size_t istart = i;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
    size_t iend = i, fstart = i, fend = i;
    if (i < len && s[i] == '.') {
        fstart = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        fend = i;
    }
    if (i != len || (iend == istart && fend == fstart))
        return cdc__err_set(err, CDC_ERR_INVALID, "DECIMAL(%u,%u): not a decimal number: '%.*s'", prec, scale,
                            (int)(len > 80 ? 80 : len), s);
    while (istart < iend && s[istart] == '0') istart++;
    unsigned intg = prec - scale;
    if (iend - istart > intg)
        return cdc__err_set(err, CDC_ERR_INVALID, "DECIMAL(%u,%u): '%.*s' has more than %u integer digits", prec,
                            scale, (int)(len > 80 ? 80 : len), s, intg);
    for (size_t k = fstart + scale; k < fend; k++)
        if (s[k] != '0')
            return cdc__err_set(err, CDC_ERR_INVALID, "DECIMAL(%u,%u): '%.*s' has more than %u fractional digits",
                                prec, scale, (int)(len > 80 ? 80 : len), s, scale);
    /* digits right-aligned in intg places and left-aligned in scale places */
    char dig[CDC__DECIMAL_MAX_PREC];
    memset(dig, '0', sizeof dig);
    memcpy(dig + intg - (iend - istart), s + istart, iend - istart);
    size_t nf = fend - fstart < scale ? fend - fstart : scale;
    memcpy(dig + intg, s + fstart, nf);
    unsigned lead = intg % 9, trail = scale % 9;
    size_t off = 0, di = 0;
    unsigned ngroups = intg / 9 + (lead ? 1 : 0) + scale / 9 + (trail ? 1 : 0);
    for (unsigned g = 0; g < ngroups; g++) {
        unsigned nd;
        if (g == 0 && lead) nd = lead;
        else if (di >= intg && g == ngroups - 1 && trail) nd = trail;
        else nd = 9;
        uint32_t v = 0;
        for (unsigned k = 0; k < nd; k++) v = v * 10 + (uint32_t)(dig[di++] - '0');
        size_t nb = dig2bytes[nd];
        for (size_t k = 0; k < nb; k++) out[off + k] = (uint8_t)(v >> (8 * (nb - 1 - k)));
        off += nb;
    }
    bool zero = true;
    for (unsigned k = 0; k < prec; k++)
        if (dig[k] != '0') { zero = false; break; }
    if (neg && !zero)
        for (size_t k = 0; k < size; k++) out[k] ^= 0xff;
    out[0] ^= 0x80;
    return CDC_OK;
}
