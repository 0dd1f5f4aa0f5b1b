/* Unit tests of lib/signal_data.c: Debezium's signal data, the JSON of a
 * signal-table row (execute-snapshot / stop-snapshot), in the forms
 * Debezium documents, with every escape, and bad JSON refused naming the
 * problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signal_data.h"

#include "testalloc.h"

typedef struct got {
    char table[8][64];
    char cond[8][128];
    int n;
} got;

static int collect(const char *table, const char *cond, void *ud)
{
    got *g = ud;
    if (g->n < 8) {
        snprintf(g->table[g->n], sizeof g->table[0], "%s", table);
        snprintf(g->cond[g->n], sizeof g->cond[0], "%s", cond ? cond : "(none)");
    }
    g->n++;
    return 0;
}

static int parse(const char *json, char *type, got *g, cdc__err *e)
{
    memset(g, 0, sizeof *g);
    return cdc__signal_data_parse(json, strlen(json), type, 32, collect, g, &test_alloc, e);
}

static void test_signal_debezium_forms(void **state)
{
    (void)state;
    char type[32];
    got g;
    cdc__err e = {0};
    /* Debezium's documented execute-snapshot with additional-conditions */
    assert_int_equal(parse("{\"data-collections\": [\"shop.orders\", \"shop.items\"], \"type\": \"incremental\","
                           " \"additional-conditions\": [{\"data-collection\": \"shop.orders\","
                           " \"filter\": \"color='blue' AND id > 10\"}]}",
                           type, &g, &e),
                     CDC_OK);
    assert_string_equal(type, "incremental");
    assert_int_equal(g.n, 2);
    assert_string_equal(g.table[0], "shop.orders");
    assert_string_equal(g.cond[0], "color='blue' AND id > 10");
    assert_string_equal(g.table[1], "shop.items");
    assert_string_equal(g.cond[1], "(none)");
    /* the older single additional-condition applies to every table */
    assert_int_equal(parse("{\"data-collections\":[\"a.b\",\"c.d\"],\"additional-condition\":\"x=1\"}", type, &g, &e),
                     CDC_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.cond[0], "x=1");
    assert_string_equal(g.cond[1], "x=1");
    assert_string_equal(type, "");
    /* unknown members of any shape are skipped; escapes, 4-byte UTF-8 */
    assert_int_equal(parse(" { \"x\": {\"y\": [1, -2.5e3, true, null, {\"z\": \"w\"}]}, \"data-collections\":"
                           " [\"d\\u00e9.t\\ud83d\\ude00\\\"q\"] } ",
                           type, &g, &e),
                     CDC_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.table[0], "d\xc3\xa9.t\xf0\x9f\x98\x80\"q");
    /* stop-snapshot without data: no tables (stop all) */
    assert_int_equal(parse("", type, &g, &e), CDC_OK);
    assert_int_equal(g.n, 0);
    assert_int_equal(parse("{\"type\":\"INCREMENTAL\"}", type, &g, &e), CDC_OK);
    assert_int_equal(g.n, 0);
    assert_string_equal(type, "INCREMENTAL");
}

static void test_signal_bad_json(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "[\"a.b\"]",
        "{\"data-collections\": [\"a.b\"",
        "{\"data-collections\": \"a.b\"}",
        "{\"data-collections\": [1]}",
        "{\"data-collections\": [\"a.b\"]} trailing",
        "{\"additional-conditions\": [{\"filter\": \"x\"}]}",
        "{\"additional-conditions\": [{\"data-collection\": 5}]}",
        "{\"data-collections\": [\"a\\x\"]}",
        "{\"data-collections\": [\"\\ud800\"]}",
        "{data-collections: []}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char type[32];
        got g;
        cdc__err e = {0};
        int rc = parse(bad[i], type, &g, &e);
        if (rc != CDC_ERR_INVALID) fail_msg("'%s': %d, want CDC_ERR_INVALID", bad[i], rc);
        assert_non_null(strstr(e.msg, "signal data:"));
        assert_int_equal(g.n, 0);
    }
}

/* add() can end the parse: its code comes back, later tables are not
 * offered. */
static int refuse_second(const char *table, const char *cond, void *ud)
{
    (void)table;
    (void)cond;
    return ++*(int *)ud == 2 ? CDC_ERR_INVALID : 0;
}

static void test_signal_add_ends_parse(void **state)
{
    (void)state;
    const char *json = "{\"data-collections\": [\"a.b\", \"c.d\", \"e.f\"]}";
    int calls = 0;
    char type[8];
    cdc__err e = {0};
    assert_int_equal(cdc__signal_data_parse(json, strlen(json), type, sizeof type, refuse_second, &calls, &test_alloc,
                                            &e), CDC_ERR_INVALID);
    assert_int_equal(calls, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signal_debezium_forms),
        cmocka_unit_test(test_signal_bad_json),
        cmocka_unit_test(test_signal_add_ends_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
