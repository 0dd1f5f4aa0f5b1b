/* Unit tests for decimal.c: exact NEWDECIMAL binary <-> text. */
#include "valtest.h"

#include "decimal.h"

/* The real upstream vectors (go-mysql's row_event_test.go), one per line:
 * type, "precision=P scale=S", bytes, expected text, bytes_consumed. */
static void test_upstream_vectors(void **state)
{
    (void)state;
    size_t len;
    char *tsv = (char *)vt_fixture("go-mysql/captured/value_vectors.tsv", &len);
    unsigned checked = 0;
    for (char *line = strtok(tsv, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "NEWDECIMAL\t", 11) != 0) continue;
        unsigned prec, scale, consumed;
        char hex[256], want[128];
        assert_int_equal(sscanf(line, "NEWDECIMAL\tprecision=%u scale=%u\t%255[0-9a-f]\t%127[^\t]\tbytes_consumed=%u",
                                &prec, &scale, hex, want, &consumed),
                         5);
        uint8_t bin[64];
        size_t n = vt_unhex(hex, bin, sizeof bin);
        assert_true(n >= consumed);
        assert_int_equal(cdc__decimal_bin_size(prec, scale), consumed);
        char text[CDC__DECIMAL_TEXT_MAX];
        cdc__err err;
        int tn = cdc__decimal_to_text(bin, prec, scale, text, &err);
        assert_true(tn > 0);
        assert_string_equal(text, want);
        /* and back: the text parses to the very same bytes */
        uint8_t back[64];
        assert_int_equal(cdc__decimal_from_text(want, strlen(want), prec, scale, back, &err), CDC_OK);
        assert_memory_equal(back, bin, consumed);
        checked++;
    }
    test_free(tsv);
    assert_int_equal(checked, 187);
}

/* The example in MySQL's strings/decimal.cc comment: 1234567890.1234 as
 * DECIMAL(14,4) is 81 0D FB 38 D2 04 D2, and its negation inverts every
 * byte. */
static void test_mysql_documented_example(void **state)
{
    (void)state;
    const uint8_t pos[] = {0x81, 0x0d, 0xfb, 0x38, 0xd2, 0x04, 0xd2};
    const uint8_t neg[] = {0x7e, 0xf2, 0x04, 0xc7, 0x2d, 0xfb, 0x2d};
    char text[CDC__DECIMAL_TEXT_MAX];
    assert_int_equal(cdc__decimal_bin_size(14, 4), 7);
    assert_int_equal(cdc__decimal_to_text(pos, 14, 4, text, NULL), 15);
    assert_string_equal(text, "1234567890.1234");
    cdc__decimal_to_text(neg, 14, 4, text, NULL);
    assert_string_equal(text, "-1234567890.1234");
    uint8_t out[7];
    assert_int_equal(cdc__decimal_from_text("-1234567890.1234", 16, 14, 4, out, NULL), CDC_OK);
    assert_memory_equal(out, neg, 7);
}

/* Storage sizes from the MySQL manual ("Precision Math: DECIMAL Data
 * Type Characteristics"): 4 bytes per 9 digits, leftover 1-2 digits 1
 * byte, 3-4 2, 5-6 3, 7-8 4, on each side of the point. */
static void test_bin_sizes(void **state)
{
    (void)state;
    assert_int_equal(cdc__decimal_bin_size(1, 0), 1);
    assert_int_equal(cdc__decimal_bin_size(9, 0), 4);
    assert_int_equal(cdc__decimal_bin_size(10, 0), 5);
    assert_int_equal(cdc__decimal_bin_size(18, 9), 8);
    assert_int_equal(cdc__decimal_bin_size(20, 10), 10);
    assert_int_equal(cdc__decimal_bin_size(65, 30), 30); /* 35 int digits: 16, 30 frac: 14 */
    assert_int_equal(cdc__decimal_bin_size(65, 0), 29);
    assert_int_equal(cdc__decimal_bin_size(30, 30), 14);
    assert_int_equal(cdc__decimal_bin_size(0, 0), 0);
    assert_int_equal(cdc__decimal_bin_size(66, 0), 0);
    assert_int_equal(cdc__decimal_bin_size(40, 31), 0);
    assert_int_equal(cdc__decimal_bin_size(5, 6), 0);
}

/* Every precision and scale: the largest and smallest values, one unit
 * in the last place and zero survive text -> binary -> text unchanged,
 * and larger numbers order as larger byte strings (the format is
 * designed to compare with memcmp, which checks the digit placement). */
static void test_every_precision_class(void **state)
{
    (void)state;
    for (unsigned prec = 1; prec <= 65; prec++) {
        for (unsigned scale = 0; scale <= prec && scale <= 30; scale++) {
            size_t size = cdc__decimal_bin_size(prec, scale);
            char in[4][96], text[CDC__DECIMAL_TEXT_MAX];
            unsigned intg = prec - scale;
            /* max: all nines */
            char *o = in[0];
            if (!intg) *o++ = '0';
            for (unsigned i = 0; i < intg; i++) *o++ = '9';
            if (scale) { *o++ = '.'; for (unsigned i = 0; i < scale; i++) *o++ = '9'; }
            *o = 0;
            in[1][0] = '-';
            memcpy(in[1] + 1, in[0], strlen(in[0]) + 1);
            /* smallest positive */
            o = in[2];
            *o++ = '0';
            if (scale) { *o++ = '.'; for (unsigned i = 1; i < scale; i++) *o++ = '0'; *o++ = '1'; }
            else { in[2][0] = '1'; }
            *o = 0;
            o = in[3];
            *o++ = '0';
            if (scale) { *o++ = '.'; for (unsigned i = 0; i < scale; i++) *o++ = '0'; }
            *o = 0;
            uint8_t bin[4][32];
            for (int k = 0; k < 4; k++) {
                cdc__err err;
                int rc = cdc__decimal_from_text(in[k], strlen(in[k]), prec, scale, bin[k], &err);
                if (rc) fail_msg("DECIMAL(%u,%u) %s: %s", prec, scale, in[k], err.msg);
                assert_true(cdc__decimal_to_text(bin[k], prec, scale, text, NULL) > 0);
                assert_string_equal(text, in[k]);
            }
            assert_true(memcmp(bin[1], bin[3], size) < 0); /* -max < 0 */
            assert_true(memcmp(bin[3], bin[2], size) < 0); /* 0 < ulp */
            assert_true(memcmp(bin[2], bin[0], size) <= 0); /* ulp <= max */
        }
    }
}

static void test_text_forms(void **state)
{
    (void)state;
    uint8_t bin[32];
    char text[CDC__DECIMAL_TEXT_MAX];
    cdc__err err;
    /* the column's scale always shows, leading zeros never do */
    assert_int_equal(cdc__decimal_from_text("+0012.3", 7, 10, 2, bin, &err), CDC_OK);
    cdc__decimal_to_text(bin, 10, 2, text, NULL);
    assert_string_equal(text, "12.30");
    assert_int_equal(cdc__decimal_from_text(".5", 2, 10, 2, bin, &err), CDC_OK);
    cdc__decimal_to_text(bin, 10, 2, text, NULL);
    assert_string_equal(text, "0.50");
    assert_int_equal(cdc__decimal_from_text("-0", 2, 10, 2, bin, &err), CDC_OK);
    cdc__decimal_to_text(bin, 10, 2, text, NULL);
    assert_string_equal(text, "0.00");
    assert_int_equal(cdc__decimal_from_text("5.000", 5, 3, 0, bin, &err), CDC_OK);
    cdc__decimal_to_text(bin, 3, 0, text, NULL);
    assert_string_equal(text, "5");
    /* refused: too many integer digits, digits beyond the scale, junk */
    assert_int_equal(cdc__decimal_from_text("1000", 4, 5, 2, bin, &err), CDC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "integer digits"));
    assert_int_equal(cdc__decimal_from_text("1.234", 5, 5, 2, bin, &err), CDC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "fractional digits"));
    const char *bad[] = {"", "-", ".", "1e3", "1.2.3", " 1", "0x10", "1,5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cdc__decimal_from_text(bad[i], strlen(bad[i]), 10, 2, bin, &err), CDC_ERR_INVALID);
    assert_int_equal(cdc__decimal_from_text("1", 1, 66, 2, bin, &err), CDC_ERR_INVALID);
}

/* A stored "negative zero" (every byte inverted zero) prints as 0, and a
 * digit group of 10^9 or more is corruption, not a number. */
static void test_odd_binary(void **state)
{
    (void)state;
    char text[CDC__DECIMAL_TEXT_MAX];
    const uint8_t negzero[] = {0x7f, 0xff, 0xff, 0xff, 0xff}; /* DECIMAL(10,0): 1 + 4 bytes */
    assert_int_equal(cdc__decimal_bin_size(10, 0), 5);
    cdc__decimal_to_text(negzero, 10, 0, text, NULL);
    assert_string_equal(text, "0");
    const uint8_t big[] = {0x80, 0x3b, 0x9a, 0xca, 0x00}; /* group = 1000000000 */
    cdc__err err;
    assert_int_equal(cdc__decimal_to_text(big, 10, 0, text, &err), CDC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "exceeds 9 digits"));
    const uint8_t lead[] = {0x8a, 0x00, 0x00, 0x00, 0x00}; /* leading 1-digit group = 10 */
    assert_int_equal(cdc__decimal_to_text(lead, 10, 0, text, &err), CDC_ERR_CORRUPT);
    const uint8_t trail[] = {0x80, 0x00, 0x00, 0x00, 0x64}; /* DECIMAL(10,2): fraction group = 100 */
    assert_int_equal(cdc__decimal_to_text(trail, 10, 2, text, &err), CDC_ERR_CORRUPT);
    /* the cheap check the row decoder uses agrees */
    assert_int_equal(cdc__decimal_check(negzero, 10, 0, &err), CDC_OK);
    assert_int_equal(cdc__decimal_check(big, 10, 0, &err), CDC_ERR_CORRUPT);
    assert_int_equal(cdc__decimal_check(lead, 10, 0, &err), CDC_ERR_CORRUPT);
    assert_int_equal(cdc__decimal_check(trail, 10, 2, &err), CDC_ERR_CORRUPT);
    const uint8_t ok[] = {0x80, 0x00, 0x00, 0x00, 0x63};
    assert_int_equal(cdc__decimal_check(ok, 10, 2, &err), CDC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_vectors),
        cmocka_unit_test(test_mysql_documented_example),
        cmocka_unit_test(test_bin_sizes),
        cmocka_unit_test(test_every_precision_class),
        cmocka_unit_test(test_text_forms),
        cmocka_unit_test(test_odd_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
