/* Unit tests for config.c: typed keys, validation messages, cross-key checks, docs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "config.h"

#include "testalloc.h"

/* cmocka checks for leaks per test body, so each test makes and frees its own config. */
#define CONFIG_TEST(name)                                                  \
    static void name##_body(cdc_config *c);                                \
    static void name(void **state)                                         \
    {                                                                      \
        (void)state;                                                       \
        cdc_config *c;                                                     \
        assert_int_equal(cdc_config_new(&c, &test_alloc), CDC_OK);         \
        name##_body(c);                                                    \
        cdc_config_free(c);                                                \
    }                                                                      \
    static void name##_body(cdc_config *c)

CONFIG_TEST(test_defaults_and_types)
{
    assert_string_equal(cdc__config_str(c, CDC_CFG_HOST), "127.0.0.1");
    assert_int_equal(cdc__config_int(c, CDC_CFG_PORT), 3306);
    assert_false(cdc__config_bool(c, CDC_CFG_COMPRESSION));
    assert_int_equal(cdc__config_enum(c, CDC_CFG_SSL_MODE), CDC_SSL_PREFERRED);
    char err[256];
    assert_int_equal(cdc_config_set(c, "port", "3307", err, sizeof err), CDC_OK);
    assert_int_equal(cdc__config_int(c, CDC_CFG_PORT), 3307);
    assert_int_equal(cdc_config_set(c, "compression", "ON", err, sizeof err), CDC_OK);
    assert_true(cdc__config_bool(c, CDC_CFG_COMPRESSION));
    assert_int_equal(cdc_config_set(c, "ssl.mode", "VERIFY_IDENTITY", err, sizeof err), CDC_OK);
    assert_int_equal(cdc__config_enum(c, CDC_CFG_SSL_MODE), CDC_SSL_VERIFY_IDENTITY);
    assert_int_equal(cdc_config_set(c, "server.id", "4294967295", err, sizeof err), CDC_OK);
    assert_true(cdc__config_int(c, CDC_CFG_SERVER_ID) == 4294967295LL);
    /* NULL restores the default */
    assert_int_equal(cdc_config_set(c, "port", NULL, err, sizeof err), CDC_OK);
    assert_int_equal(cdc__config_int(c, CDC_CFG_PORT), 3306);
}

CONFIG_TEST(test_bad_values_name_key_and_value)
{
    char err[256];
    assert_int_equal(cdc_config_set(c, "port", "70000", err, sizeof err), CDC_ERR_CONFIG);
    assert_string_equal(err, "port: 70000 is out of range 1..65535");
    assert_int_equal(cdc__config_int(c, CDC_CFG_PORT), 3306); /* old value kept */
    assert_int_equal(cdc_config_set(c, "port", "33o6", err, sizeof err), CDC_ERR_CONFIG);
    assert_string_equal(err, "port: '33o6' is not an integer");
    assert_int_equal(cdc_config_set(c, "port", "", err, sizeof err), CDC_ERR_CONFIG);
    assert_int_equal(cdc_config_set(c, "compression", "maybe", err, sizeof err), CDC_ERR_CONFIG);
    assert_non_null(strstr(err, "compression: 'maybe' is not a boolean"));
    assert_int_equal(cdc_config_set(c, "ssl.mode", "strict", err, sizeof err), CDC_ERR_CONFIG);
    assert_string_equal(err, "ssl.mode: 'strict' is not one of disabled|preferred|required|verify_ca|verify_identity");
    assert_int_equal(cdc_config_set(c, "hots", "x", err, sizeof err), CDC_ERR_CONFIG);
    assert_string_equal(err, "unknown configuration key 'hots' (did you mean 'host'?)");
    assert_int_equal(cdc_config_set(c, "completely.unrelated", "x", err, sizeof err), CDC_ERR_CONFIG);
    assert_string_equal(err, "unknown configuration key 'completely.unrelated'");
    assert_int_equal(cdc_config_set(c, "ssl.ca", "/nonexistent/ca.pem", err, sizeof err), CDC_ERR_CONFIG);
    assert_string_equal(err, "ssl.ca: cannot read '/nonexistent/ca.pem': No such file or directory");
}

CONFIG_TEST(test_lists)
{
    char err[256];
    assert_int_equal(cdc_config_set(c, "table.include.list", " shop.orders, ,shop.items_* ,", err, sizeof err), CDC_OK);
    size_t n;
    const char *const *items = cdc__config_list(c, CDC_CFG_TABLE_INCLUDE, &n);
    assert_int_equal(n, 2);
    assert_string_equal(items[0], "shop.orders");
    assert_string_equal(items[1], "shop.items_*");
    assert_null(items[2]);
    cdc__config_list(c, CDC_CFG_DB_EXCLUDE, &n);
    assert_int_equal(n, 0);
}

CONFIG_TEST(test_get_and_secret)
{
    char buf[8], err[64];
    size_t need;
    assert_int_equal(cdc_config_get(c, "password", buf, sizeof buf, &need), CDC_OK);
    assert_string_equal(buf, "");
    assert_int_equal(cdc_config_set(c, "password", "hunter2", err, sizeof err), CDC_OK);
    char big[32];
    assert_int_equal(cdc_config_get(c, "password", big, sizeof big, &need), CDC_OK);
    assert_string_equal(big, "********");
    assert_int_equal(cdc_config_get(c, "max.packet.bytes", buf, sizeof buf, &need), CDC_ERR_TOO_LARGE);
    assert_int_equal(need, strlen("1073741824") + 1);
    assert_string_equal(buf, "1073741");
    assert_int_equal(cdc_config_get(c, "max.packet.bytes", NULL, 0, &need), CDC_ERR_TOO_LARGE);
    assert_int_equal(cdc_config_get(c, "nope", buf, sizeof buf, &need), CDC_ERR_CONFIG);
    cdc_config *copy;
    assert_int_equal(cdc_config_copy(&copy, c), CDC_OK);
    assert_string_equal(cdc__config_str(copy, CDC_CFG_PASSWORD), "hunter2");
    cdc_config_free(copy);
}

CONFIG_TEST(test_cross_key_checks)
{
    cdc__err e;
    char err[256];
    assert_int_equal(cdc__config_check(c, CDC__CFG_FOR_CONNECT, &e), CDC_ERR_CONFIG);
    assert_non_null(strstr(e.msg, "user: not set"));
    assert_int_equal(cdc_config_set(c, "user", "cdc", err, sizeof err), CDC_OK);
    assert_int_equal(cdc__config_check(c, CDC__CFG_FOR_CONNECT, &e), CDC_OK);
    assert_int_equal(cdc__config_check(c, CDC__CFG_FOR_STREAM, &e), CDC_ERR_CONFIG);
    assert_non_null(strstr(e.msg, "server.id: not set"));
    assert_int_equal(cdc_config_set(c, "server.id", "1001", err, sizeof err), CDC_OK);
    assert_int_equal(cdc__config_check(c, CDC__CFG_FOR_STREAM, &e), CDC_OK);
    assert_int_equal(cdc_config_set(c, "ssl.mode", "verify_ca", err, sizeof err), CDC_OK);
    assert_int_equal(cdc__config_check(c, CDC__CFG_FOR_CONNECT, &e), CDC_ERR_CONFIG);
    assert_string_equal(e.msg, "ssl.mode=verify_ca needs ssl.ca, the CA certificates to verify against");
    assert_int_equal(cdc_config_set(c, "ssl.mode", "required", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_config_set(c, "ssl.cert", "/dev/null", err, sizeof err), CDC_OK);
    assert_int_equal(cdc__config_check(c, CDC__CFG_FOR_CONNECT, &e), CDC_ERR_CONFIG);
    assert_string_equal(e.msg, "ssl.cert is set but ssl.key is not; a client certificate needs both");
    assert_int_equal(cdc_config_set(c, "ssl.cert", NULL, err, sizeof err), CDC_OK);
    assert_int_equal(cdc_config_set(c, "skipped.operations", "c,x", err, sizeof err), CDC_OK);
    assert_int_equal(cdc__config_check(c, CDC__CFG_FOR_STREAM, &e), CDC_ERR_CONFIG);
    assert_string_equal(e.msg, "skipped.operations: 'x' is not one of c, u, d");
    assert_int_equal(cdc_config_set(c, "skipped.operations", "d", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_config_set(c, "server.id.exclude.list", "5,-1", err, sizeof err), CDC_OK);
    assert_int_equal(cdc__config_check(c, CDC__CFG_FOR_STREAM, &e), CDC_ERR_CONFIG);
    assert_string_equal(e.msg, "server.id.exclude.list: '-1' is not a server_id");
}

static void test_glob(void **state)
{
    (void)state;
    struct { const char *pat, *name; bool match; } cases[] = {
        {"shop.*", "shop.orders", true}, {"shop.*", "shopx.orders", false},
        {"*.orders", "a.orders", true},  {"s?op.o*s", "shop.orders", true},
        {"shop", "shop.orders", false},  {"*", "", true},
        {"a*b*c", "aXbYbZc", true},      {"a*b*c", "aXbYbZ", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(cdc__glob_match(cases[i].pat, cases[i].name, strlen(cases[i].name)), cases[i].match);
}

static void test_doc_is_current(void **state)
{
    (void)state;
    const char *root = getenv("CDC_SOURCE_ROOT");
    assert_non_null(root);
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/configuration.md", root);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char file[65536];
    size_t n = fread(file, 1, sizeof file, f);
    fclose(f);
    cdc__buf b;
    cdc__buf_init(&b, &test_alloc);
    assert_int_equal(cdc__config_doc_markdown(&b), CDC_OK);
    /* regenerate with: build/examples/cdc/cdc config-doc > docs/configuration.md */
    assert_int_equal(n, b.len);
    assert_memory_equal(file, b.data, n);
    cdc__buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_types),
        cmocka_unit_test(test_bad_values_name_key_and_value),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_get_and_secret),
        cmocka_unit_test(test_cross_key_checks),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_doc_is_current),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
