/*
 * charset.c: which character set a collation id names, and conversion
 * of a column's text to UTF-8.
 *
 * The id table follows the collation lists of MySQL 8/9
 * (INFORMATION_SCHEMA.COLLATIONS) and MariaDB 10.x/11.x: ids 1..323 as
 * MySQL numbers them (MariaDB agrees below 256), MariaDB's 576.. extras,
 * its NO PAD collations at 1024 + the PAD collation's id, and its
 * UCA-14.0.0 collations at 2048.. in blocks of 256 per charset.
 * UTF-8 and ASCII pass through (validated), latin1 uses a built-in table
 * (MySQL's latin1 is Windows-1252 with the five undefined bytes mapped
 * to the C1 controls), everything else goes through glibc's iconv().
 */
#include "charset.h"

#include <errno.h>
#include <iconv.h>

enum {
    CS_NONE, CS_BIG5, CS_LATIN2, CS_DEC8, CS_CP850, CS_LATIN1, CS_HP8, CS_KOI8R, CS_SWE7, CS_ASCII, CS_UJIS,
    CS_SJIS, CS_CP1251, CS_HEBREW, CS_TIS620, CS_EUCKR, CS_LATIN7, CS_KOI8U, CS_GB2312, CS_GREEK, CS_CP1250,
    CS_GBK, CS_CP1257, CS_LATIN5, CS_ARMSCII8, CS_UTF8MB3, CS_UCS2, CS_CP866, CS_KEYBCS2, CS_MACCE, CS_MACROMAN,
    CS_CP852, CS_UTF8MB4, CS_UTF16, CS_UTF16LE, CS_CP1256, CS_UTF32, CS_BINARY, CS_GEOSTD8, CS_CP932,
    CS_EUCJPMS, CS_GB18030, CS__COUNT
};

static const cdc__charset charsets[CS__COUNT] = {
    [CS_NONE] = {"unknown", NULL, CDC_CS_UNKNOWN},
    [CS_BIG5] = {"big5", "BIG5", CDC_CS_ICONV},
    [CS_LATIN2] = {"latin2", "ISO-8859-2", CDC_CS_ICONV},
    [CS_DEC8] = {"dec8", "DEC-MCS", CDC_CS_ICONV},
    [CS_CP850] = {"cp850", "CP850", CDC_CS_ICONV},
    [CS_LATIN1] = {"latin1", NULL, CDC_CS_LATIN1},
    [CS_HP8] = {"hp8", "HP-ROMAN8", CDC_CS_ICONV},
    [CS_KOI8R] = {"koi8r", "KOI8-R", CDC_CS_ICONV},
    [CS_SWE7] = {"swe7", "ISO646-SE", CDC_CS_ICONV},
    [CS_ASCII] = {"ascii", NULL, CDC_CS_ASCII},
    [CS_UJIS] = {"ujis", "EUC-JP", CDC_CS_ICONV},   /* with jis_run() */
    [CS_SJIS] = {"sjis", "SHIFT_JIS", CDC_CS_ICONV}, /* with jis_run() */
    [CS_CP1251] = {"cp1251", "CP1251", CDC_CS_ICONV},
    [CS_HEBREW] = {"hebrew", "ISO-8859-8", CDC_CS_ICONV},
    [CS_TIS620] = {"tis620", "TIS-620", CDC_CS_ICONV},
    [CS_EUCKR] = {"euckr", "EUC-KR", CDC_CS_ICONV},
    [CS_LATIN7] = {"latin7", "ISO-8859-13", CDC_CS_ICONV},
    [CS_KOI8U] = {"koi8u", "KOI8-U", CDC_CS_ICONV},
    [CS_GB2312] = {"gb2312", "GB2312", CDC_CS_ICONV},
    [CS_GREEK] = {"greek", "ISO-8859-7", CDC_CS_ICONV},
    [CS_CP1250] = {"cp1250", "CP1250", CDC_CS_ICONV},
    [CS_GBK] = {"gbk", "GBK", CDC_CS_ICONV},
    [CS_CP1257] = {"cp1257", "CP1257", CDC_CS_ICONV},
    [CS_LATIN5] = {"latin5", "ISO-8859-9", CDC_CS_ICONV},
    [CS_ARMSCII8] = {"armscii8", "ARMSCII-8", CDC_CS_ICONV},
    [CS_UTF8MB3] = {"utf8mb3", NULL, CDC_CS_UTF8},
    [CS_UCS2] = {"ucs2", "UCS-2BE", CDC_CS_ICONV},
    [CS_CP866] = {"cp866", "CP866", CDC_CS_ICONV},
    [CS_KEYBCS2] = {"keybcs2", "KEYBCS2", CDC_CS_ICONV}, /* glibc has no converter: reported as CHARSET */
    [CS_MACCE] = {"macce", "MAC-CENTRALEUROPE", CDC_CS_ICONV},
    [CS_MACROMAN] = {"macroman", "MACINTOSH", CDC_CS_ICONV},
    [CS_CP852] = {"cp852", "CP852", CDC_CS_ICONV},
    [CS_UTF8MB4] = {"utf8mb4", NULL, CDC_CS_UTF8},
    [CS_UTF16] = {"utf16", "UTF-16BE", CDC_CS_ICONV},
    [CS_UTF16LE] = {"utf16le", "UTF-16LE", CDC_CS_ICONV},
    [CS_CP1256] = {"cp1256", "CP1256", CDC_CS_ICONV},
    [CS_UTF32] = {"utf32", "UTF-32BE", CDC_CS_ICONV},
    [CS_BINARY] = {"binary", NULL, CDC_CS_BINARY},
    [CS_GEOSTD8] = {"geostd8", "GEORGIAN-PS", CDC_CS_ICONV},
    [CS_CP932] = {"cp932", "CP932", CDC_CS_ICONV},
    [CS_EUCJPMS] = {"eucjpms", "EUC-JP-MS", CDC_CS_ICONV},
    [CS_GB18030] = {"gb18030", "GB18030", CDC_CS_ICONV},
};

/* Collation ids 0..99 one by one (0 and 17, the internal "filename"
 * charset, and 100 are not real column collations). */
static const uint8_t low_ids[100] = {
    CS_NONE, CS_BIG5, CS_LATIN2, CS_DEC8, CS_CP850, CS_LATIN1, CS_HP8, CS_KOI8R, CS_LATIN1, CS_LATIN2,
    CS_SWE7, CS_ASCII, CS_UJIS, CS_SJIS, CS_CP1251, CS_LATIN1, CS_HEBREW, CS_NONE, CS_TIS620, CS_EUCKR,
    CS_LATIN7, CS_LATIN2, CS_KOI8U, CS_CP1251, CS_GB2312, CS_GREEK, CS_CP1250, CS_LATIN2, CS_GBK, CS_CP1257,
    CS_LATIN5, CS_LATIN1, CS_ARMSCII8, CS_UTF8MB3, CS_CP1250, CS_UCS2, CS_CP866, CS_KEYBCS2, CS_MACCE,
    CS_MACROMAN, CS_CP852, CS_LATIN7, CS_LATIN7, CS_MACCE, CS_CP1250, CS_UTF8MB4, CS_UTF8MB4, CS_LATIN1,
    CS_LATIN1, CS_LATIN1, CS_CP1251, CS_CP1251, CS_CP1251, CS_MACROMAN, CS_UTF16, CS_UTF16, CS_UTF16LE,
    CS_CP1256, CS_CP1257, CS_CP1257, CS_UTF32, CS_UTF32, CS_UTF16LE, CS_BINARY, CS_ARMSCII8, CS_ASCII,
    CS_CP1250, CS_CP1256, CS_CP866, CS_DEC8, CS_GREEK, CS_HEBREW, CS_HP8, CS_KEYBCS2, CS_KOI8R, CS_KOI8U,
    CS_UTF8MB3, CS_LATIN2, CS_LATIN5, CS_LATIN7, CS_CP850, CS_CP852, CS_SWE7, CS_UTF8MB3, CS_BIG5, CS_EUCKR,
    CS_GB2312, CS_GBK, CS_SJIS, CS_TIS620, CS_UCS2, CS_UJIS, CS_GEOSTD8, CS_GEOSTD8, CS_LATIN1, CS_CP932,
    CS_CP932, CS_EUCJPMS, CS_EUCJPMS, CS_CP1250,
};

/* Ranges of the unicode collations (inclusive). */
static const struct { uint16_t lo, hi; uint8_t cs; } ranges[] = {
    {101, 124, CS_UTF16},   {128, 151, CS_UCS2},      {159, 159, CS_UCS2},     {160, 183, CS_UTF32},
    {192, 215, CS_UTF8MB3}, {223, 223, CS_UTF8MB3},   {224, 247, CS_UTF8MB4},  {248, 250, CS_GB18030},
    {255, 323, CS_UTF8MB4}, /* MySQL 8 utf8mb4_*_0900_* */
    {576, 607, CS_UTF8MB3}, {608, 639, CS_UTF8MB4},   {640, 671, CS_UCS2},     {672, 703, CS_UTF16},
    {736, 767, CS_UTF32},   /* MariaDB extras */
    {2048, 2303, CS_UTF8MB3}, {2304, 2559, CS_UTF8MB4}, {2560, 2815, CS_UCS2}, {2816, 3071, CS_UTF16},
    {3072, 3327, CS_UTF32}, /* MariaDB uca1400 */
};

const cdc__charset *cdc__charset_of(unsigned id)
{
    if (id >= 1024 && id < 2048) id -= 1024; /* MariaDB NO PAD twin */
    if (id < 100) return &charsets[low_ids[id]];
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (id >= ranges[i].lo && id <= ranges[i].hi) return &charsets[ranges[i].cs];
    return &charsets[CS_NONE];
}

static const uint16_t cp1252_80[32] = {
    0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008d, 0x017d, 0x008f, 0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

static int latin1_to_utf8(const uint8_t *s, size_t len, cdc__buf *out)
{
    if (len == 0) return CDC_OK;
    if (len > SIZE_MAX / 3 || cdc__buf_reserve(out, len * 3)) return CDC_ERR_NOMEM;
    uint8_t *o = out->data + out->len;
    for (size_t i = 0; i < len; i++) {
        uint32_t c = s[i];
        if (c < 0x80) { *o++ = (uint8_t)c; continue; }
        if (c < 0xa0) c = cp1252_80[c - 0x80];
        if (c < 0x800) {
            *o++ = (uint8_t)(0xc0 | c >> 6);
            *o++ = (uint8_t)(0x80 | (c & 0x3f));
        } else {
            *o++ = (uint8_t)(0xe0 | c >> 12);
            *o++ = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
            *o++ = (uint8_t)(0x80 | (c & 0x3f));
        }
    }
    out->len = (size_t)(o - out->data);
    return CDC_OK;
}

/* Converts s[0..len) through cd, U+FFFD for each code unit (`unit`
 * bytes: 2 in UCS-2/UTF-16, 4 in UTF-32, else 1) iconv refuses, so that
 * the text after a bad unit stays aligned. */
static int iconv_run(iconv_t cd, size_t unit, const uint8_t *s, size_t len, cdc__buf *out)
{
    char *in = (char *)s;
    size_t inleft = len;
    int rc = CDC_OK;
    while (inleft) {
        if (cdc__buf_reserve(out, inleft * 4 + 16)) { rc = CDC_ERR_NOMEM; break; }
        char *o = (char *)out->data + out->len;
        size_t oleft = out->cap - out->len;
        size_t r = iconv(cd, &in, &inleft, &o, &oleft);
        out->len = (size_t)((uint8_t *)o - out->data);
        if (r != (size_t)-1) break;
        if (errno == E2BIG) continue;
        /* EILSEQ or EINVAL: an invalid or truncated character */
        if (cdc__buf_append(out, "\xef\xbf\xbd", 3)) { rc = CDC_ERR_NOMEM; break; }
        size_t skip = inleft < unit ? inleft : unit;
        in += skip;
        inleft -= skip;
        iconv(cd, NULL, NULL, NULL, NULL); /* back to the initial state */
    }
    return rc;
}

/*
 * MySQL's sjis and ujis tables differ from glibc's SHIFT_JIS and EUC-JP
 * in three places (checked with CONVERT(... USING utf8mb4) on MySQL 9.7
 * and MariaDB 10.11): sjis 0x5C and 0x7E are ASCII '\' and '~' (glibc:
 * YEN SIGN, OVERLINE), and sjis 0x815F and ujis 0xA1C0 are '\' (glibc:
 * FULLWIDTH REVERSE SOLIDUS). Those characters are written here; the
 * runs between them go through iconv().
 */
static int jis_run(iconv_t cd, bool sjis, const uint8_t *s, size_t len, cdc__buf *out)
{
    size_t run = 0, i = 0;
    while (i < len) {
        uint8_t b = s[i];
        size_t w = 1;
        if (sjis && ((b >= 0x81 && b <= 0x9f) || (b >= 0xe0 && b <= 0xfc))) w = 2;
        else if (!sjis && b == 0x8f) w = 3;
        else if (!sjis && (b == 0x8e || (b >= 0xa1 && b <= 0xfe))) w = 2;
        if (w > len - i) w = len - i;
        bool ascii = b < 0x80;
        bool backslash = w == 2 && ((sjis && b == 0x81 && s[i + 1] == 0x5f) || (!sjis && b == 0xa1 && s[i + 1] == 0xc0));
        if (ascii || backslash) {
            if (iconv_run(cd, 1, s + run, i - run, out) || cdc__buf_putc(out, ascii ? (char)b : '\\'))
                return CDC_ERR_NOMEM;
            run = i + w;
        }
        i += w;
    }
    return iconv_run(cd, 1, s + run, len - run, out);
}

static int iconv_to_utf8(const cdc__charset *cs, const uint8_t *s, size_t len, cdc__buf *out, cdc__err *err)
{
    /* a fresh descriptor per call: iconv_t is not safe to share between
     * threads, and text in such charsets is rare enough not to matter */
    iconv_t cd = iconv_open("UTF-8", cs->iconv);
    if (cd == (iconv_t)-1)
        return cdc__err_set(err, CDC_ERR_CHARSET, "no converter from charset %s to UTF-8 on this system", cs->name);
    bool sjis = cs == &charsets[CS_SJIS];
    size_t unit = cs == &charsets[CS_UTF32] ? 4
                  : cs == &charsets[CS_UCS2] || cs == &charsets[CS_UTF16] || cs == &charsets[CS_UTF16LE] ? 2 : 1;
    int rc = sjis || cs == &charsets[CS_UJIS] ? jis_run(cd, sjis, s, len, out) : iconv_run(cd, unit, s, len, out);
    iconv_close(cd);
    if (rc == CDC_ERR_NOMEM) return cdc__err_set(err, rc, "out of memory");
    return rc;
}

int cdc__charset_to_utf8(const cdc__charset *cs, const uint8_t *s, size_t len, cdc__buf *out, cdc__err *err)
{
    int rc;
    switch (cs->kind) {
    case CDC_CS_LATIN1: rc = latin1_to_utf8(s, len, out); break;
    case CDC_CS_ICONV: return iconv_to_utf8(cs, s, len, out, err);
    default: rc = cdc__utf8_sanitize(s, len, out); break;
    }
    if (rc) return cdc__err_set(err, rc, "out of memory");
    return CDC_OK;
}
