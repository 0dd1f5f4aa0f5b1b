/* Unit tests for cdc-kafka's JSON reader and its Debezium configuration
 * mapping (examples/cdc-kafka/json.c, settings.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"
#include "settings.h"

static kjson *parse(const char *s, char *err, size_t errlen)
{
    return kjson_parse(s, strlen(s), err, errlen);
}

static void test_json_values(void **state)
{
    (void)state;
    char err[256];
    kjson *v = parse("{\"a\": \"x\\u00e9\\ud83d\\ude00\\n\", \"n\": 184054, \"b\": true, \"z\": null, "
                     "\"o\": {\"k\": [1, 2.5e3, -0]}}", err, sizeof err);
    assert_non_null(v);
    const kjson *a = kjson_get(v, "a");
    assert_int_equal(a->type, KJSON_STRING);
    assert_string_equal(a->text, "x\xc3\xa9\xf0\x9f\x98\x80\n"); /* a 4-byte character from a surrogate pair */
    assert_string_equal(kjson_get(v, "n")->text, "184054");       /* numbers keep their text */
    assert_string_equal(kjson_get(v, "b")->text, "true");
    assert_int_equal(kjson_get(v, "z")->type, KJSON_NULL);
    const kjson *arr = kjson_get(kjson_get(v, "o"), "k");
    assert_int_equal(arr->type, KJSON_ARRAY);
    assert_string_equal(arr->child->next->text, "2.5e3");
    assert_null(kjson_get(v, "missing"));
    kjson_free(v);
}

static void test_json_errors(void **state)
{
    (void)state;
    static const struct { const char *in, *msg; } cases[] = {
        {"{\"a\": 1,\n \"b\" 2}", "line 2 column 6: expected ':'"},
        {"{\"a\": \"x", "unterminated string"},
        {"{\"a\": \"\\ud800\"}", "bad escape"},
        {"{\"a\": \"\\q\"}", "bad escape"},
        {"{\"a\": 1} x", "text after the JSON value"},
        {"[1, 2", "expected ',' or ']'"},
        {"{\"a\": tru}", "unexpected character"},
        {"", "unexpected end of input"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[256] = "";
        kjson *v = parse(cases[i].in, err, sizeof err);
        assert_null(v);
        if (!strstr(err, cases[i].msg)) fail_msg("%s: got '%s', want '%s'", cases[i].in, err, cases[i].msg);
    }
    char deep[200];
    memset(deep, '[', 100);
    deep[100] = 0;
    char err[256];
    assert_null(parse(deep, err, sizeof err));
    assert_non_null(strstr(err, "nested too deeply"));
}

static void test_regex_patterns(void **state)
{
    (void)state;
    static const struct { const char *in; int qualified; const char *out; } ok[] = {
        {"inventory\\.orders", 1, "inventory.orders"},
        {"shop.items,app_.*\\.t.", 1, "shop.items,app_*.t?"},
        {"x\\..+", 1, "x.?*"},
        {"app_.*, other", 0, "app_*,other"},
        {"db.", 0, "db?"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char out[128], err[256];
        assert_int_equal(regex_list_to_patterns(ok[i].in, ok[i].qualified, out, sizeof out, err, sizeof err), 0);
        assert_string_equal(out, ok[i].out);
    }
    static const char *const bad[] = {"db\\.(a|b)", "db\\.[ab]", "^db$", "db\\.a+"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char out[128], err[256];
        assert_int_equal(regex_list_to_patterns(bad[i], 1, out, sizeof out, err, sizeof err), -1);
        assert_non_null(strstr(err, bad[i]));
    }
}

static void test_settings_mapping(void **state)
{
    (void)state;
    settings s;
    settings_init(&s);
    char err[1024], v[256];
    assert_int_equal(settings_apply(&s, "database.hostname", "db1", err, sizeof err), 0);
    assert_int_equal(settings_apply(&s, "database.server.id", "184054", err, sizeof err), 0);
    assert_int_equal(settings_apply(&s, "database.password", "s3cret", err, sizeof err), 0);
    assert_int_equal(settings_apply(&s, "table.include.list", "inventory\\.orders", err, sizeof err), 0);
    assert_int_equal(settings_apply(&s, "snapshot.mode", "schema_only", err, sizeof err), 0);
    assert_int_equal(settings_apply(&s, "skipped.operations", "t,d", err, sizeof err), 0);
    assert_int_equal(settings_apply(&s, "topic.prefix", "dbserver1", err, sizeof err), 0);
    assert_int_equal(settings_apply(&s, "kafka.bootstrap.servers", "k:9092", err, sizeof err), 0);
    assert_int_equal(settings_apply(&s, "decimal.handling.mode", "string", err, sizeof err), 0);
    assert_int_equal(settings_apply(&s, "connector.class", "io.debezium.connector.mysql.MySqlConnector", err,
                                    sizeof err), 1);
    assert_int_equal(settings_apply(&s, "schema.history.internal.kafka.topic", "h", err, sizeof err), 1);
    assert_int_equal(settings_finish(&s, err, sizeof err), 0);
    cdc_config_get(s.cdc, "host", v, sizeof v, NULL);
    assert_string_equal(v, "db1");
    cdc_config_get(s.cdc, "server.id", v, sizeof v, NULL);
    assert_string_equal(v, "184054");
    cdc_config_get(s.cdc, "table.include.list", v, sizeof v, NULL);
    assert_string_equal(v, "inventory.orders");
    cdc_config_get(s.cdc, "snapshot.mode", v, sizeof v, NULL);
    assert_string_equal(v, "no_data");
    cdc_config_get(s.cdc, "skipped.operations", v, sizeof v, NULL);
    assert_string_equal(v, "d");
    assert_string_equal(kv_get(&s.kafka, "bootstrap.servers"), "k:9092");
    assert_string_equal(kv_get(&s.render, "decimal.handling.mode"), "string");
    assert_string_equal(kv_get(&s.render, "topic.prefix"), "dbserver1");
    assert_string_equal(s.name, "dbserver1");
    assert_string_equal(s.offsets_topic, "cdc-kafka-offsets");
    assert_int_equal(s.delivery, DELIVERY_AT_LEAST_ONCE);
    /* errors name the key and never the password */
    assert_int_equal(settings_apply(&s, "database.nonsense", "s3cret", err, sizeof err), -1);
    assert_non_null(strstr(err, "database.nonsense"));
    assert_null(strstr(err, "s3cret"));
    assert_int_equal(settings_apply(&s, "transforms.unwrap.type", "x", err, sizeof err), -1);
    assert_non_null(strstr(err, "transforms"));
    assert_int_equal(settings_apply(&s, "value.converter", "io.confluent.connect.avro.AvroConverter", err,
                                    sizeof err), -1);
    assert_int_equal(settings_apply(&s, "snapshot.mode", "recovery", err, sizeof err), -1);
    assert_non_null(strstr(err, "recovery"));
    settings_free(&s);

    /* exactly once: offsets in a topic, transactional.id from the name */
    settings_init(&s);
    assert_int_equal(settings_apply(&s, "topic.prefix", "p", err, sizeof err), 0);
    assert_int_equal(settings_apply(&s, "name", "inv", err, sizeof err), 0);
    assert_int_equal(settings_apply(&s, "database.server.id", "7", err, sizeof err), 0);
    assert_int_equal(settings_apply(&s, "kafka.bootstrap.servers", "k:9092", err, sizeof err), 0);
    assert_int_equal(settings_apply(&s, "exactly.once.support", "required", err, sizeof err), 0);
    assert_int_equal(settings_finish(&s, err, sizeof err), 0);
    assert_string_equal(s.transactional_id, "cdc-kafka-inv");
    assert_string_equal(s.offsets_topic, "cdc-kafka-offsets");
    settings_free(&s);

    /* missing essentials are named */
    settings_init(&s);
    assert_int_equal(settings_finish(&s, err, sizeof err), -1);
    assert_non_null(strstr(err, "topic.prefix"));
    settings_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_values),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_regex_patterns),
        cmocka_unit_test(test_settings_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
