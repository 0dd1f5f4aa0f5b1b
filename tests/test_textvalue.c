/*
 * test_textvalue.c: text-protocol fields to cdc_value (textvalue.c), the
 * edges test_snapshot.c's table of SELECT texts and row images does not
 * reach: each text must render exactly as the binlog form of the same
 * value (the byte layouts of test_temporal.c and test_value.c), and text
 * the server would never send (out of range, malformed, unknown labels)
 * is refused with CDC_ERR_INVALID naming the column type and the text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

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

/* Renders the text form of a value of c (session charset utf8mb4). */
static const char *from_text(const cdc_column *c, const char *text, int *rc, char *msg)
{
    static char out[256];
    cdc__buf scratch;
    cdc__buf_init(&scratch, &vt_alloc);
    assert_int_equal(cdc__buf_reserve(&scratch, CDC__FROM_TEXT_SCRATCH), CDC_OK);
    cdc_value v;
    cdc__err err;
    cdc__err_clear(&err);
    *rc = cdc__value_from_text(c, text, text ? strlen(text) : 0, 45, &v, &scratch, &err);
    out[0] = 0;
    if (*rc == CDC_OK) snprintf(out, sizeof out, "%s", vt_render(&v));
    if (msg) snprintf(msg, CDC__ERRMSG_MAX, "%s", err.msg);
    cdc__buf_free(&scratch);
    return out;
}

/* The text and the binlog bytes of one value render the same. */
static void same(const cdc_column *c, const char *text, const char *hex)
{
    int rc;
    char msg[CDC__ERRMSG_MAX];
    const char *a = from_text(c, text, &rc, msg);
    if (rc) fail_msg("'%s': %s", text, msg);
    char b[256];
    snprintf(b, sizeof b, "%s", vt_text(c, hex));
    if (strcmp(a, b)) fail_msg("'%s' renders %s, the binlog form %s", text, a, b);
}

static void refused(const cdc_column *c, const char *text, const char *type_name)
{
    int rc;
    char msg[CDC__ERRMSG_MAX];
    from_text(c, text, &rc, msg);
    if (rc != CDC_ERR_INVALID) fail_msg("'%s' as %s: %s, want CDC_ERR_INVALID", text, type_name, cdc_err_name(rc));
    if (!strstr(msg, type_name) || !strstr(msg, text)) fail_msg("'%s': message '%s' names neither", text, msg);
}

static void test_same_as_binlog(void **state)
{
    (void)state;
    cdc_column t2 = col(CDC_T_TIME2, 2, 0), t6 = col(CDC_T_TIME2, 6, 0), dt6 = col(CDC_T_DATETIME2, 6, 0);
    same(&t2, "-00:00:01.50", "7F FF FE CE");
    same(&t2, "-00:00:00.01", "7F FF FF FF");
    same(&t6, "-12:34:56.000001", "7F 37 47 FF FF FF");
    same(&t6, "-838:59:59.000000", "4B 91 05 00 00 00");
    same(&dt6, "9999-12-31 23:59:59.999999", "FE F3 FF 7E FB 0F 42 3F");
    same(&dt6, "0000-00-00 00:00:00.000000", "80 00 00 00 00 00 00 00");
    cdc_column ts6 = col(CDC_T_TIMESTAMP2, 6, 0);
    same(&ts6, "2038-01-19 03:14:07.999999", "7F FF FF FF 0F 42 3F");
    cdc_column d20 = col(CDC_T_NEWDECIMAL, 20 << 8 | 10, 0), d14 = col(CDC_T_NEWDECIMAL, 14 << 8 | 4, 0);
    same(&d20, "1234567890.0123456789", "81 0D FB 38 D2 00 BC 61 4E 09");
    same(&d20, "-1234567890.0123456789", "7E F2 04 C7 2D FF 43 9E B1 F6");
    same(&d14, "-1234567890.1234", "7E F2 04 C7 2D FB 2D");
    same(&d14, "0.0000", "80 00 00 00 00 00 00");
    cdc_column u64 = col(CDC_T_LONGLONG, 0, CDC_COLF_SIGNEDNESS_KNOWN | CDC_COLF_UNSIGNED);
    cdc_column s64 = col(CDC_T_LONGLONG, 0, CDC_COLF_SIGNEDNESS_KNOWN);
    same(&u64, "18446744073709551615", "FF FF FF FF FF FF FF FF");
    same(&s64, "-9223372036854775808", "00 00 00 00 00 00 00 80");
    cdc_column y = col(CDC_T_YEAR, 0, 0);
    same(&y, "2155", "FF");
    /* NULL text is SQL NULL */
    int rc;
    assert_string_equal(from_text(&y, NULL, &rc, NULL), "null");
    assert_int_equal(rc, CDC_OK);
}

static void test_refused(void **state)
{
    (void)state;
    cdc_column u64 = col(CDC_T_LONGLONG, 0, CDC_COLF_SIGNEDNESS_KNOWN | CDC_COLF_UNSIGNED);
    cdc_column s64 = col(CDC_T_LONGLONG, 0, CDC_COLF_SIGNEDNESS_KNOWN);
    refused(&u64, "18446744073709551616", "BIGINT");
    refused(&u64, "-1", "BIGINT");
    refused(&s64, "9223372036854775808", "BIGINT");
    refused(&s64, "12x", "BIGINT");
    refused(&s64, "", "BIGINT");
    cdc_column y = col(CDC_T_YEAR, 0, 0);
    refused(&y, "2156", "YEAR");
    cdc_column t0 = col(CDC_T_TIME2, 0, 0), dt0 = col(CDC_T_DATETIME2, 0, 0), ts0 = col(CDC_T_TIMESTAMP2, 0, 0);
    refused(&t0, "839:00:00", "TIME");
    refused(&dt0, "2024-13-01 00:00:00", "DATETIME");
    refused(&ts0, "2024-00-10 00:00:00", "TIMESTAMP");
    cdc_column dbl = col(CDC_T_DOUBLE, 8, 0);
    refused(&dbl, "1.5e", "DOUBLE");
    cdc_column bit = col(CDC_T_BIT, 0, 0);
    refused(&bit, "", "BIT");
    refused(&bit, "123456789", "BIT");
    /* DECIMAL: too many digits for the precision, or no number at all */
    cdc_column d5 = col(CDC_T_NEWDECIMAL, 5 << 8 | 2, 0);
    int rc;
    char msg[CDC__ERRMSG_MAX];
    from_text(&d5, "1234.5", &rc, msg);
    assert_int_not_equal(rc, CDC_OK);
    assert_true(msg[0] != 0);
    from_text(&d5, "1.2.3", &rc, msg);
    assert_int_not_equal(rc, CDC_OK);
    /* ENUM/SET with labels: a label the column does not have */
    static const cdc_bytes labels[] = {{(const uint8_t *)"a", 1}, {(const uint8_t *)"b", 1}};
    cdc_column e = col(CDC_T_STRING, CDC_T_ENUM << 8 | 1, 0);
    e.real_type = CDC_T_ENUM;
    e.n_labels = 2;
    e.labels = labels;
    e.charset = 45;
    assert_string_equal(from_text(&e, "b", &rc, msg), "\"b\"");
    assert_int_equal(rc, CDC_OK);
    from_text(&e, "c", &rc, msg);
    assert_int_not_equal(rc, CDC_OK);
    assert_non_null(strstr(msg, "c"));
}

/* DOUBLE text takes a fast path (textvalue.c) for short mantissas: every
 * result must be bit for bit what strtod gives, on the servers' spellings
 * (shortest round-trip text, 6 and 15 digits, exponents) and on edges. */
static void test_double_fast_path(void **state)
{
    (void)state;
    cdc_column col = {.type = CDC_T_DOUBLE, .real_type = CDC_T_DOUBLE};
    cdc__buf scratch;
    cdc__buf_init(&scratch, NULL);
    unsigned seed = 12345;
    char txt[64];
    static const char *const edge[] = {"0", "-0", "1", "-1", "0.1", "1e22", "1e23", "1e-22", "1e-23", "123456789012345",
                                       "1234567890123456", "0.000001", "9007199254740993", "1.5e300", "-2.5e-300",
                                       "3.4028234663852886e38", "4.9406564584124654e-324", "1.7976931348623157e308",
                                       "00012.5000", "1.", ".5", "1e+5", "1E5", "12345678901234.5"};
    for (size_t k = 0; k < 200000 + sizeof edge / sizeof edge[0]; k++) {
        if (k < sizeof edge / sizeof edge[0]) {
            snprintf(txt, sizeof txt, "%s", edge[k]);
        } else {
            uint64_t bits = ((uint64_t)rand_r(&seed) << 42) ^ ((uint64_t)rand_r(&seed) << 21) ^ (uint64_t)rand_r(&seed);
            double x;
            int form = rand_r(&seed) % 4;
            if (form == 0) {
                memcpy(&x, &bits, sizeof x);
                if (x != x || x - x != 0) continue; /* NaN, inf: no such column values */
                snprintf(txt, sizeof txt, "%.17g", x);
            } else if (form == 1) {
                snprintf(txt, sizeof txt, "%.*g", 1 + rand_r(&seed) % 15, (double)(int64_t)bits / (1 << (rand_r(&seed) % 30)));
            } else if (form == 2) {
                snprintf(txt, sizeof txt, "%lld.%0*d", (long long)(rand_r(&seed) % 100000) - 50000, 1 + rand_r(&seed) % 6,
                         rand_r(&seed) % 100000);
            } else {
                snprintf(txt, sizeof txt, "%de%d", rand_r(&seed) % 1000000, rand_r(&seed) % 60 - 30);
            }
        }
        cdc_value v;
        cdc__err e = {0};
        char *end;
        double want = strtod(txt, &end);
        int rc = cdc__value_from_text(&col, txt, strlen(txt), 63, &v, &scratch, &e);
        if (*end) {
            assert_int_not_equal(rc, CDC_OK);
            continue;
        }
        if (rc) fail_msg("'%s': %s", txt, e.msg);
        if (memcmp(&v.v.d, &want, sizeof want)) fail_msg("'%s': %.17g, strtod %.17g", txt, v.v.d, want);
    }
    cdc__buf_free(&scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_binlog),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_double_fast_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
