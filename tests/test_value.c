/*
 * test_value.c: the public value and column getters of cdc/value.h
 * (value.c) over values decoded from their documented binlog forms:
 *   integers     little-endian two's complement (LONG -1 = FF FF FF FF)
 *   DECIMAL      MySQL's decimal2bin (strings/decimal.cc): 9 digits per
 *                4 bytes, leftover digits in 1-4 bytes at the front of the
 *                integer part and the back of the fraction, the first bit
 *                flipped, every byte inverted for negatives; the source's
 *                own example: DECIMAL(14,4) 1234567890.1234 =
 *                81 0D FB 38 D2 04 D2 and its negative 7E F2 04 C7 2D FB 2D
 *   temporal     as in test_temporal.c
 * Each getter's documented returns: kinds it refuses, numbers too large
 * for the type asked, buffers too small (with the size needed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cdc/value.h>

#include "valtest.h"

static cdc_column col(uint8_t type, uint16_t meta, uint32_t flags)
{
    cdc_column c;
    memset(&c, 0, sizeof c);
    c.type = c.real_type = type;
    c.meta = meta;
    c.flags = flags;
    return c;
}

static void test_integers(void **state)
{
    (void)state;
    cdc_column s32 = col(CDC_T_LONG, 0, CDC_COLF_SIGNEDNESS_KNOWN);
    cdc_column u64 = col(CDC_T_LONGLONG, 0, CDC_COLF_SIGNEDNESS_KNOWN | CDC_COLF_UNSIGNED);
    int64_t i;
    uint64_t u;
    cdc_value v = vt_decode(&s32, "FF FF FF FF");
    assert_int_equal(cdc_value_kind(&v), CDC_KIND_INT);
    assert_int_equal(cdc_value_int64(&v, &i), CDC_OK);
    assert_int_equal(i, -1);
    assert_int_equal(cdc_value_uint64(&v, &u), CDC_ERR_TOO_LARGE); /* negative */
    assert_int_equal(cdc_value_double(&v, &(double){0}), CDC_ERR_INVALID); /* not rounded */
    v = vt_decode(&u64, "FF FF FF FF FF FF FF FF");
    assert_int_equal(cdc_value_kind(&v), CDC_KIND_UINT);
    assert_int_equal(cdc_value_uint64(&v, &u), CDC_OK);
    assert_true(u == UINT64_MAX);
    assert_int_equal(cdc_value_int64(&v, &i), CDC_ERR_TOO_LARGE);
    v = vt_decode(&u64, "FF FF FF FF FF FF FF 7F");
    assert_int_equal(cdc_value_int64(&v, &i), CDC_OK);
    assert_true(i == INT64_MAX);
    char text[32];
    size_t need = 0;
    v = vt_decode(&u64, "FF FF FF FF FF FF FF FF");
    assert_int_equal(cdc_value_render(&v, text, sizeof text, &need), CDC_OK);
    assert_string_equal(text, "18446744073709551615");
    assert_int_equal(need, 21);
    /* NULL arguments */
    assert_int_equal(cdc_value_int64(NULL, &i), CDC_ERR_INVALID);
    assert_int_equal(cdc_value_uint64(&v, NULL), CDC_ERR_INVALID);
    assert_true(cdc_value_is_null(NULL));
    assert_false(cdc_value_is_null(&v));
}

static void test_decimal(void **state)
{
    (void)state;
    char buf[80];
    size_t need = 0;
    int64_t unscaled;
    unsigned scale;
    int64_t hi;
    uint64_t lo;
    cdc_column d14 = col(CDC_T_NEWDECIMAL, 14 << 8 | 4, 0);
    cdc_value v = vt_decode(&d14, "81 0D FB 38 D2 04 D2");
    assert_int_equal(cdc_value_kind(&v), CDC_KIND_DECIMAL);
    assert_int_equal(cdc_value_decimal(&v, buf, sizeof buf, &need), CDC_OK);
    assert_string_equal(buf, "1234567890.1234");
    assert_int_equal(need, 16);
    assert_int_equal(cdc_value_decimal_scaled(&v, &unscaled, &scale), CDC_OK);
    assert_true(unscaled == 12345678901234LL);
    assert_int_equal(scale, 4);
    /* a buffer one byte short: refused, untouched, the size said */
    memset(buf, 'x', sizeof buf);
    assert_int_equal(cdc_value_decimal(&v, buf, 15, &need), CDC_ERR_TOO_LARGE);
    assert_int_equal(need, 16);
    assert_int_equal(buf[0], 'x');

    v = vt_decode(&d14, "7E F2 04 C7 2D FB 2D");
    assert_int_equal(cdc_value_decimal(&v, buf, sizeof buf, NULL), CDC_OK);
    assert_string_equal(buf, "-1234567890.1234");
    assert_int_equal(cdc_value_decimal_scaled(&v, &unscaled, &scale), CDC_OK);
    assert_true(unscaled == -12345678901234LL);

    /* DECIMAL(20,10): a 1-digit leading group (1 byte), a 9-digit group,
     * a 9-digit fraction group with a leading zero, a 1-digit trailing one */
    cdc_column d20 = col(CDC_T_NEWDECIMAL, 20 << 8 | 10, 0);
    v = vt_decode(&d20, "81 0D FB 38 D2 00 BC 61 4E 09");
    assert_int_equal(cdc_value_decimal(&v, buf, sizeof buf, NULL), CDC_OK);
    assert_string_equal(buf, "1234567890.0123456789");
    /* 20 digits do not fit an int64; they do fit 128 bits */
    assert_int_equal(cdc_value_decimal_scaled(&v, &unscaled, &scale), CDC_ERR_TOO_LARGE);
    assert_int_equal(cdc_value_decimal128(&v, &hi, &lo, &scale), CDC_OK);
    assert_true(hi == 0 && lo == 12345678900123456789ull && scale == 10);
    /* its negative: every byte inverted; two's complement of the same */
    v = vt_decode(&d20, "7E F2 04 C7 2D FF 43 9E B1 F6");
    assert_int_equal(cdc_value_decimal(&v, buf, sizeof buf, NULL), CDC_OK);
    assert_string_equal(buf, "-1234567890.0123456789");
    assert_int_equal(cdc_value_decimal128(&v, &hi, &lo, &scale), CDC_OK);
    assert_true(hi == -1 && lo == (uint64_t)0 - 12345678900123456789ull);

    /* zero with its scale; DECIMAL(10,2) -0.05 */
    cdc_column d10 = col(CDC_T_NEWDECIMAL, 10 << 8 | 2, 0);
    v = vt_decode(&d10, "80 00 00 00 00");
    assert_int_equal(cdc_value_decimal(&v, buf, sizeof buf, NULL), CDC_OK);
    assert_string_equal(buf, "0.00");
    v = vt_decode(&d10, "7F FF FF FF FA");
    assert_int_equal(cdc_value_decimal(&v, buf, sizeof buf, NULL), CDC_OK);
    assert_string_equal(buf, "-0.05");
    assert_int_equal(cdc_value_decimal_scaled(&v, &unscaled, &scale), CDC_OK);
    assert_true(unscaled == -5 && scale == 2);

    /* truncated: an error that names the type and the shortfall */
    uint8_t b[4] = {0x81, 0x0D, 0xFB, 0x38};
    cdc_value out;
    size_t used;
    cdc__err err;
    cdc__err_clear(&err);
    assert_int_equal(cdc__value_decode(&d14, b, 4, &out, &used, &err), CDC_ERR_CORRUPT);
    assert_string_equal(err.msg, "DECIMAL(14,4): need 7 bytes, 4 left");
    /* other kinds are refused */
    cdc_column s32 = col(CDC_T_LONG, 0, 0);
    v = vt_decode(&s32, "01 00 00 00");
    assert_int_equal(cdc_value_decimal(&v, buf, sizeof buf, NULL), CDC_ERR_INVALID);
    assert_int_equal(cdc_value_decimal_scaled(&v, &unscaled, &scale), CDC_ERR_INVALID);
}

static void test_temporal_getters(void **state)
{
    (void)state;
    cdc_datetime dt;
    cdc_column c = col(CDC_T_DATETIME2, 6, 0);
    cdc_value v = vt_decode(&c, "99 B2 BB 7E FB 01 E2 40");
    assert_int_equal(cdc_value_kind(&v), CDC_KIND_DATETIME);
    assert_int_equal(cdc_value_temporal(&v, &dt), CDC_OK);
    assert_true(dt.year == 2024 && dt.month == 2 && dt.day == 29 && dt.hour == 23 && dt.minute == 59 &&
                dt.second == 59 && dt.usec == 123456 && dt.fsp == 6 && !dt.zero && !dt.negative);
    v = vt_decode(&c, "80 00 00 00 00 00 00 00");
    assert_int_equal(cdc_value_temporal(&v, &dt), CDC_OK);
    assert_true(dt.zero);
    /* TIME2(2) -00:00:01.50 */
    c = col(CDC_T_TIME2, 2, 0);
    v = vt_decode(&c, "7F FF FE CE");
    assert_int_equal(cdc_value_temporal(&v, &dt), CDC_OK);
    assert_true(dt.negative && dt.hour == 0 && dt.second == 1 && dt.usec == 500000);
    /* TIMESTAMP2(6): 2147483647.999999 */
    c = col(CDC_T_TIMESTAMP2, 6, 0);
    v = vt_decode(&c, "7F FF FF FF 0F 42 3F");
    int64_t sec;
    uint32_t usec;
    assert_int_equal(cdc_value_timestamp(&v, &sec, &usec), CDC_OK);
    assert_true(sec == 2147483647 && usec == 999999);
    assert_int_equal(cdc_value_temporal(&v, &dt), CDC_OK);
    assert_true(dt.year == 2038 && dt.month == 1 && dt.day == 19 && dt.hour == 3);
    char text[64];
    assert_int_equal(cdc_value_render(&v, text, sizeof text, NULL), CDC_OK);
    assert_string_equal(text, "\"2038-01-19T03:14:07.999999Z\"");
    /* truncated TIMESTAMP2: need 7 bytes */
    uint8_t b[3] = {0x7f, 0xff, 0xff};
    cdc_value out;
    size_t used;
    cdc__err err;
    cdc__err_clear(&err);
    assert_int_equal(cdc__value_decode(&c, b, 3, &out, &used, &err), CDC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "need 7 bytes, 3 left"));
    /* a datetime is no timestamp */
    c = col(CDC_T_DATETIME2, 0, 0);
    v = vt_decode(&c, "99 B2 BB 7E FB");
    assert_int_equal(cdc_value_timestamp(&v, &sec, &usec), CDC_ERR_INVALID);
}

static void test_render_sizes_and_names(void **state)
{
    (void)state;
    cdc_column c = col(CDC_T_VARCHAR, 40, 0);
    c.charset = 8; /* latin1: 0xE9 is é */
    cdc_value v = vt_decode(&c, "04 63 61 66 E9");
    size_t need = 0;
    assert_int_equal(cdc_value_render(&v, NULL, 0, &need), CDC_ERR_TOO_LARGE);
    assert_int_equal(need, 8); /* "café" with quotes and NUL: 1+5+1+1 */
    char text[8];
    assert_int_equal(cdc_value_render(&v, text, sizeof text, &need), CDC_OK);
    assert_string_equal(text, "\"caf\xc3\xa9\"");
    assert_int_equal(cdc_value_bytes(&v).len, 4);
    assert_int_equal(cdc_column_collation(cdc_value_column(&v)), 8);
    assert_string_equal(cdc_collation_charset(8), "latin1");
    assert_string_equal(cdc_collation_charset(255), "utf8mb4");
    assert_string_equal(cdc_collation_charset(5000), "unknown");
    assert_string_equal(cdc_column_type_name(&c), "VARCHAR");
    assert_int_equal(cdc_column_type(&c), CDC_T_VARCHAR);
    assert_int_equal(cdc_column_geometry_type(&c), -1);
    assert_int_equal(cdc_column_label_count(&c), 0);
    assert_null(cdc_column_label(&c, 0, &need));
    assert_string_equal(cdc_kind_name(CDC_KIND_DECIMAL), "DECIMAL");
    assert_string_equal(cdc_kind_name(99), "UNKNOWN");
    /* a free-standing value has no column */
    cdc_value n;
    memset(&n, 0, sizeof n);
    assert_null(cdc_value_column(&n));
    assert_true(cdc_value_is_null(&n));
    assert_int_equal(cdc_value_bytes(&n).len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_temporal_getters),
        cmocka_unit_test(test_render_sizes_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
