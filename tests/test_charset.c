/*
 * test_charset.c: collation ids to character sets, and text in those
 * sets to UTF-8 (charset.c).
 *
 * The truth is the servers': each collation id with its charset as
 * information_schema.COLLATIONS lists it on MySQL 9.7 and MariaDB 10.11,
 * and each conversion as HEX(CONVERT(_cs 0x... USING utf8mb4)) returns it
 * on both (the query is quoted beside each case). Bytes a server would
 * turn into '?' become U+FFFD here, as charset.h documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "charset.h"
#include "testalloc.h"
#include "valtest.h"

/* Converts hex bytes in collation `id` and returns the result as hex. */
static const char *conv(unsigned id, const char *hex)
{
    static char text[1024];
    uint8_t in[256];
    size_t n = vt_unhex(hex, in, sizeof in);
    cdc__buf b;
    cdc__buf_init(&b, &test_alloc);
    cdc__err err;
    cdc__err_clear(&err);
    int rc = cdc__charset_to_utf8(cdc__charset_of(id), in, n, &b, &err);
    if (rc) fail_msg("collation %u, %s: %s (%s)", id, hex, cdc_err_name(rc), err.msg);
    size_t k = 0;
    for (size_t i = 0; i < b.len && k + 3 < sizeof text; i++) k += (size_t)snprintf(text + k, 3, "%02X", b.data[i]);
    text[k] = 0;
    cdc__buf_free(&b);
    return text;
}

static void test_collation_ids(void **state)
{
    (void)state;
    /* SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS */
    static const struct { unsigned id; const char *cs; int kind; } ids[] = {
        {8, "latin1", CDC_CS_LATIN1},    /* latin1_swedish_ci */
        {33, "utf8mb3", CDC_CS_UTF8},    /* utf8mb3_general_ci */
        {45, "utf8mb4", CDC_CS_UTF8},    /* utf8mb4_general_ci */
        {63, "binary", CDC_CS_BINARY},
        {255, "utf8mb4", CDC_CS_UTF8},   /* utf8mb4_0900_ai_ci (MySQL) */
        {306, "utf8mb4", CDC_CS_UTF8},   /* utf8mb4_ru_0900_ai_ci (MySQL) */
        {13, "sjis", CDC_CS_ICONV},      /* sjis_japanese_ci */
        {12, "ujis", CDC_CS_ICONV},
        {26, "cp1250", CDC_CS_ICONV},
        {1, "big5", CDC_CS_ICONV},
        {95, "cp932", CDC_CS_ICONV},
        {248, "gb18030", CDC_CS_ICONV},  /* gb18030_chinese_ci (MySQL) */
        {11, "ascii", CDC_CS_ASCII},     /* ascii_general_ci */
        {1057, "utf8mb3", CDC_CS_UTF8},  /* utf8mb3_general_nopad_ci (MariaDB) */
        {576, "utf8mb3", CDC_CS_UTF8},   /* utf8mb3_croatian_ci (MariaDB) */
        {608, "utf8mb4", CDC_CS_UTF8},   /* utf8mb4_croatian_ci (MariaDB) */
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const cdc__charset *cs = cdc__charset_of(ids[i].id);
        if (strcmp(cs->name, ids[i].cs) || cs->kind != ids[i].kind)
            fail_msg("collation %u: %s kind %d, want %s kind %d", ids[i].id, cs->name, cs->kind, ids[i].cs,
                     ids[i].kind);
    }
    /* ids no server uses are "unknown" and passed through as UTF-8, never NULL */
    static const unsigned unknown[] = {0, 17, 100, 400, 2000, 65535};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_string_equal(cdc__charset_of(unknown[i])->name, "unknown");
        assert_int_equal(cdc__charset_of(unknown[i])->kind, CDC_CS_UNKNOWN);
    }
}

static void test_latin1(void **state)
{
    (void)state;
    /* MySQL's latin1 is Windows-1252 with 0x81 0x8D 0x8F 0x90 0x9D as C1
     * controls: CONVERT(_latin1 0x80E9819F USING utf8mb4) = E282ACC3A9C281C5B8 */
    assert_string_equal(conv(8, "80 E9 81 9F"), "E282ACC3A9C281C5B8");
    assert_string_equal(conv(8, "41 00 7F"), "41007F");
    assert_string_equal(conv(8, "FF"), "C3BF");
    assert_string_equal(conv(8, ""), "");
}

static void test_single_byte_iconv(void **state)
{
    (void)state;
    /* CONVERT(_cp1250 0x8AB9 USING utf8mb4) = C5A0C485 (Š ą) */
    assert_string_equal(conv(26, "8A B9"), "C5A0C485");
    /* CONVERT(_cp1250 0x9A9E8E USING utf8mb4) = C5A1C5BEC5BD (š ž Ž) */
    assert_string_equal(conv(26, "9A 9E 8E"), "C5A1C5BEC5BD");
    /* 0x81 and 0x83 are unassigned in cp1250: the servers give '?', we U+FFFD,
     * and the bytes around them stay */
    assert_string_equal(conv(26, "41 81 42 83"), "41EFBFBD42EFBFBD");
    /* cp1251 0xCFF0E8E2E5F2 = "Привет"; koi8r 0xF0D2C9D7C5D4 the same */
    assert_string_equal(conv(51, "CF F0 E8 E2 E5 F2"), "D09FD180D0B8D0B2D0B5D182");
    assert_string_equal(conv(7, "F0 D2 C9 D7 C5 D4"), "D09FD180D0B8D0B2D0B5D182");
    /* latin2 0xB1E6EA = ą ć ę; greek 0xE1E2E3 = α β γ */
    assert_string_equal(conv(9, "B1 E6 EA"), "C485C487C499");
    assert_string_equal(conv(25, "E1 E2 E3"), "CEB1CEB2CEB3");
}

static void test_sjis_and_ujis(void **state)
{
    (void)state;
    /* CONVERT(_sjis 0x82A0939F967B USING utf8mb4) = E38182E891A3E69CAC */
    assert_string_equal(conv(13, "82 A0 93 9F 96 7B"), "E38182E891A3E69CAC");
    /* half-width katakana 0xB1 = U+FF71 */
    assert_string_equal(conv(13, "B1"), "EFBDB1");
    /* where MySQL's sjis differs from glibc's SHIFT_JIS: 0x5C 0x7E are
     * ASCII (5C7E, not YEN SIGN / OVERLINE), 0x815F is '\' (5C), 0x8160 〜 */
    assert_string_equal(conv(13, "5C 7E"), "5C7E");
    assert_string_equal(conv(13, "81 5F 81 60"), "5CE3809C");
    assert_string_equal(conv(13, "43 3A 5C 82 A0 5C 7E"), "433A5CE381825C7E");
    /* 0x817C 0x8191 0x8192 0x81CA 0x8161 = − ¢ £ ¬ ‖ (JIS, not CP932's) */
    assert_string_equal(conv(13, "81 7C 81 91 81 92 81 CA 81 61"), "E28892C2A2C2A3C2ACE28096");
    /* a lead byte at the end, and a byte no sjis character starts with */
    assert_string_equal(conv(13, "41 82"), "41EFBFBD");
    assert_string_equal(conv(13, "FF 41"), "EFBFBD41");
    /* cp932 keeps glibc's table: 0x5C7E815F = 5C7EEFBCBC on the servers */
    assert_string_equal(conv(95, "5C 7E 81 5F"), "5C7EEFBCBC");
    /* ujis: CONVERT(_ujis 0xA4A2C6FCCBDC8EB1 USING utf8mb4) = あ日本ｱ,
     * and 0x5C7EA1C0A1C1 = 5C7E5CE3809C (0xA1C0 is '\', as in sjis) */
    assert_string_equal(conv(12, "A4 A2 C6 FC CB DC 8E B1"), "E38182E697A5E69CACEFBDB1");
    assert_string_equal(conv(12, "5C 7E A1 C0 A1 C1"), "5C7E5CE3809C");
}

static void test_multibyte_iconv(void **state)
{
    (void)state;
    /* big5 0xA4A4A4E5 and gbk 0xD6D0CEC4 = 中文; euckr 0xC7D1B1DB = 한글 */
    assert_string_equal(conv(1, "A4 A4 A4 E5"), "E4B8ADE69687");
    assert_string_equal(conv(28, "D6 D0 CE C4"), "E4B8ADE69687");
    assert_string_equal(conv(19, "C7 D1 B1 DB"), "ED959CEAB880");
    /* gb18030's four-byte form: 0x8139EF30 = U+3401 */
    assert_string_equal(conv(248, "81 39 EF 30"), "E39081");
    /* ucs2 0x00410416 = "AЖ"; utf16 D83D DE00, utf16le, utf32: U+1F600 */
    assert_string_equal(conv(35, "00 41 04 16"), "41D096");
    assert_string_equal(conv(54, "D8 3D DE 00"), "F09F9880");
    assert_string_equal(conv(56, "3D D8 00 DE"), "F09F9880");
    assert_string_equal(conv(60, "00 01 F6 00"), "F09F9880");
    /* a lone high surrogate is one bad code unit: one U+FFFD, and the
     * text after it stays aligned (not read as U+3D00 from a shifted byte) */
    assert_string_equal(conv(54, "D8 3D 00 41"), "EFBFBD41");
    assert_string_equal(conv(60, "00 11 00 00 00 00 00 42"), "EFBFBD42"); /* > U+10FFFF in utf32 */
}

static void test_utf8_validation(void **state)
{
    (void)state;
    /* valid text passes unchanged: ASCII, é, €, 😀 (4 bytes, utf8mb4) */
    assert_string_equal(conv(45, "41 C3 A9 E2 82 AC F0 9F 98 80"), "41C3A9E282ACF09F9880");
    assert_string_equal(conv(255, "F0 9F 98 80"), "F09F9880");
    /* invalid sequences become U+FFFD, the valid bytes after them stay:
     * a lone continuation byte, a truncated 2-byte sequence, an overlong
     * '/', a surrogate, a code point above U+10FFFF */
    const char *r = conv(33, "41 80 42");
    assert_string_equal(r, "41EFBFBD42");
    r = conv(33, "C3 28");
    assert_non_null(strstr(r, "EFBFBD"));
    assert_string_equal(r + strlen(r) - 2, "28");
    assert_null(strstr(conv(45, "C0 AF"), "2F"));
    assert_non_null(strstr(conv(45, "ED A0 80"), "EFBFBD"));
    assert_non_null(strstr(conv(45, "F4 90 80 80"), "EFBFBD"));
    /* ascii is validated the same way */
    assert_string_equal(conv(11, "41 42"), "4142");
    assert_non_null(strstr(conv(11, "41 FF"), "EFBFBD"));
}

static void test_no_converter(void **state)
{
    (void)state;
    /* keybcs2 (collation 37): glibc has no converter; the error names it */
    cdc__buf b;
    cdc__buf_init(&b, &test_alloc);
    cdc__err err;
    cdc__err_clear(&err);
    const cdc__charset *cs = cdc__charset_of(37);
    assert_string_equal(cs->name, "keybcs2");
    assert_int_equal(cdc__charset_to_utf8(cs, (const uint8_t *)"abc", 3, &b, &err), CDC_ERR_CHARSET);
    assert_non_null(strstr(err.msg, "keybcs2"));
    cdc__buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collation_ids),
        cmocka_unit_test(test_latin1),
        cmocka_unit_test(test_single_byte_iconv),
        cmocka_unit_test(test_sjis_and_ujis),
        cmocka_unit_test(test_multibyte_iconv),
        cmocka_unit_test(test_utf8_validation),
        cmocka_unit_test(test_no_converter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
