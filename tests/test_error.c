/*
 * test_error.c: error.c, the names, messages and retriable flags of the
 * error codes (one X-macro list in cdc/common.h) and the version.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <cdc/cdc.h>

static void test_every_code_named(void **state)
{
    (void)state;
    int n = 0;
#define CHECK(name, value, retriable, msg)                                  \
    assert_int_equal(name, value);                                          \
    assert_string_equal(cdc_err_name(value), #name);                        \
    assert_string_equal(cdc_strerror(value), msg);                          \
    assert_int_equal(cdc_is_retriable(value), retriable);                   \
    n++;
    CDC_ERROR_LIST(CHECK)
#undef CHECK
    assert_int_equal(n, 30); /* CDC_OK and 29 errors */
    n--;
    /* errors are -1..-n without gaps, with distinct names */
    for (int c = -1; c >= -n; c--) {
        assert_string_not_equal(cdc_err_name(c), "CDC_ERR_UNKNOWN");
        for (int d = c - 1; d >= -n; d--) assert_string_not_equal(cdc_err_name(c), cdc_err_name(d));
    }
    /* only connection trouble is retriable */
    const int retry[] = {CDC_ERR_IO, CDC_ERR_TIMEOUT, CDC_ERR_CONNECT, CDC_ERR_CLOSED};
    int count = 0;
    for (int c = -1; c >= -n; c--) count += cdc_is_retriable(c);
    assert_int_equal(count, 4);
    for (size_t i = 0; i < 4; i++) assert_true(cdc_is_retriable(retry[i]));
}

static void test_unknown_codes(void **state)
{
    (void)state;
    const int odd[] = {1, -30, -1000, 12345};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        assert_string_equal(cdc_err_name(odd[i]), "CDC_ERR_UNKNOWN");
        assert_string_equal(cdc_strerror(odd[i]), "unknown error");
        assert_false(cdc_is_retriable(odd[i]));
    }
}

static void test_version(void **state)
{
    (void)state;
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", CDC_VERSION_MAJOR, CDC_VERSION_MINOR, CDC_VERSION_PATCH);
    assert_string_equal(cdc_version(), want);
    assert_int_equal(cdc_version_num(), ((unsigned)CDC_VERSION_MAJOR << 16) | (CDC_VERSION_MINOR << 8) | CDC_VERSION_PATCH);
    assert_string_equal(cdc_version(), CDC_VERSION_STRING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_named),
        cmocka_unit_test(test_unknown_codes),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
