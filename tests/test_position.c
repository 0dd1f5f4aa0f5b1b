/* Unit tests for position.c: checkpoint strings (exact round trip, every
 * parse error names its problem), the start/stop.at forms, file order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "position.h"
#include "snapprog.h"

#include "testalloc.h"

#define UUID_A "3e11fa47-71ca-11e1-9e33-c80aa9429562"
#define UUID_B "b6eecdc5-e856-11f1-a74a-02fc00000001"

/* parse(text) then format() gives text back, byte for byte. */
static void round_trip(const char *text, const char *file, uint64_t off, const char *gtids)
{
    cdc_position *p = NULL;
    char err[256] = "";
    int rc = cdc_position_parse(&p, text, &test_alloc, err, sizeof err);
    if (rc) fail_msg("'%s': %s", text, err);
    assert_string_equal(cdc_position_file(p), file);
    assert_true(cdc_position_offset(p) == off);
    assert_string_equal(cdc_position_gtid_set(p), gtids);
    size_t need = 0;
    assert_int_equal(cdc_position_format(p, NULL, 0, &need), CDC_ERR_TOO_LARGE);
    assert_int_equal(need, strlen(text) + 1);
    char *buf = test_malloc(need);
    assert_int_equal(cdc_position_format(p, buf, need - 1, NULL), CDC_ERR_TOO_LARGE);
    assert_int_equal(cdc_position_format(p, buf, need, NULL), CDC_OK);
    assert_string_equal(buf, text);
    test_free(buf);
    cdc_position_free(p);
}

static void test_checkpoint_round_trip(void **state)
{
    (void)state;
    round_trip("cdc1:file=binlog.000042;pos=1337", "binlog.000042", 1337, "");
    round_trip("cdc1:file=binlog.000042;pos=1337;gtid=" UUID_A ":1-42", "binlog.000042", 1337, UUID_A ":1-42");
    round_trip("cdc1:file=binlog.000001;pos=4;gtid=" UUID_A ":1-5:7-9," UUID_B ":1-3", "binlog.000001", 4,
               UUID_A ":1-5:7-9," UUID_B ":1-3");
    round_trip("cdc1:file=binlog.000001;pos=4;gtid=" UUID_A ":1-5:tag_1:1-2", "binlog.000001", 4,
               UUID_A ":1-5:tag_1:1-2");
    round_trip("cdc1:file=mariadb-bin.000003;pos=18446744073709551615;gtid=0-1-42,1-2-7", "mariadb-bin.000003",
               UINT64_MAX, "0-1-42,1-2-7");
    /* a GTID-only position (from gtid:SET) */
    round_trip("cdc1:file=;pos=0;gtid=0-1-5", "", 0, "0-1-5");
    /* bytes outside [A-Za-z0-9._/-] are %XX in the file name */
    round_trip("cdc1:file=my%3Bbin%25%20log.000001;pos=4", "my;bin% log.000001", 4, "");
    round_trip("cdc1:file=/var/lib/mysql/bin.000002;pos=120", "/var/lib/mysql/bin.000002", 120, "");
}

static void test_short_forms(void **state)
{
    (void)state;
    cdc_position *p;
    char err[256];
    assert_int_equal(cdc_position_parse(&p, "binlog.000042:1337", &test_alloc, err, sizeof err), CDC_OK);
    assert_string_equal(cdc_position_file(p), "binlog.000042");
    assert_true(cdc_position_offset(p) == 1337);
    assert_string_equal(cdc_position_gtid_set(p), "");
    char buf[128];
    assert_int_equal(cdc_position_format(p, buf, sizeof buf, NULL), CDC_OK);
    assert_string_equal(buf, "cdc1:file=binlog.000042;pos=1337");
    cdc_position_free(p);

    /* the set as SHOW BINARY LOG STATUS prints it, newline included */
    assert_int_equal(cdc_position_parse(&p, "gtid:" UUID_B ":1-3,\n" UUID_A ":1-5", &test_alloc, err, sizeof err),
                     CDC_OK);
    assert_string_equal(cdc_position_file(p), "");
    assert_string_equal(cdc_position_gtid_set(p), UUID_A ":1-5," UUID_B ":1-3");
    assert_true(p->gtid_known);
    cdc_position_free(p);
}

static void expect_error(const char *text, const char *msg_part)
{
    cdc_position *p = (cdc_position *)1;
    char err[256] = "";
    int rc = cdc_position_parse(&p, text, &test_alloc, err, sizeof err);
    if (rc != CDC_ERR_INVALID) fail_msg("'%s' gave %d, expected CDC_ERR_INVALID", text, rc);
    assert_null(p);
    if (!strstr(err, msg_part)) fail_msg("'%s': message '%s' lacks '%s'", text, err, msg_part);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_error("", "empty");
    expect_error("binlog.000001", "is not FILE:OFFSET, gtid:SET or a checkpoint");
    expect_error(":1234", "is not FILE:OFFSET");
    expect_error("binlog.000001:12x", "offset '12x' is not a decimal number");
    expect_error("binlog.000001:-4", "offset '-4' is not a decimal number");
    expect_error("binlog.000001:99999999999999999999", "is not a decimal number");
    expect_error("binlog.000001:3", "inside the binlog magic");
    expect_error("gtid:", "GTID set is empty");
    expect_error("gtid:zzz", "gtid:SET");
    expect_error("gtid:\r\n", "the GTID set is empty"); /* found by fuzz_position */
    expect_error("cdc1:file=b.000001;pos=4;gtid= ", "the GTID set is empty");
    expect_error("gtid:" UUID_A ":1-5,0-1-5", "mixes MySQL");
    expect_error("cdc2:file=b;pos=4", "format version not supported");
    expect_error("cdc1:", "lacks the file field");
    expect_error("cdc1:file=b.000001", "lacks the pos field");
    expect_error("cdc1:file=b.000001;pos=", "pos '' is not a decimal offset");
    expect_error("cdc1:file=b.000001;pos=4;", "ends with ';'");
    expect_error("cdc1:pos=4;file=b.000001", "unexpected field 'pos'");
    expect_error("cdc1:file=b.000001;pos=4;color=red", "unexpected field 'color'");
    expect_error("cdc1:file=b.000001;pos=4;pos=5", "unexpected field 'pos'");
    expect_error("cdc1:file=b.000001;pos=4;gtid=", "gtid is empty");
    expect_error("cdc1:file=b.000001;pos=4;gtid=nonsense", "checkpoint: gtid");
    expect_error("cdc1:file=b;000001;pos=4", "has no '='");
    expect_error("cdc1:file=a b;pos=4", "must be written %20");
    expect_error("cdc1:file=a%2;pos=4", "bad %XX escape");
    expect_error("cdc1:file=a%zz;pos=4", "bad %XX escape");
    expect_error("cdc1:file=a%00;pos=4", "NUL byte");
    expect_error("cdc1:file=;pos=4", "neither a file name nor a GTID set");
}

static void test_where_forms(void **state)
{
    (void)state;
    cdc_position p;
    cdc__position_init(&p, &test_alloc);
    cdc__err e = {0};
    cdc__where k;
    assert_int_equal(cdc__where_parse("", "start", true, &k, &p, &e), CDC_OK);
    assert_int_equal(k, CDC__WHERE_NONE);
    assert_int_equal(cdc__where_parse("now", "start", true, &k, &p, &e), CDC_OK);
    assert_int_equal(k, CDC__WHERE_NOW);
    assert_int_equal(cdc__where_parse("earliest", "start", true, &k, &p, &e), CDC_OK);
    assert_int_equal(k, CDC__WHERE_EARLIEST);
    assert_int_equal(cdc__where_parse("earliest", "stop.at", false, &k, &p, &e), CDC_ERR_CONFIG);
    assert_string_equal(e.msg, "stop.at: 'earliest' is only a start");
    assert_int_equal(cdc__where_parse("b.000002:77", "stop.at", false, &k, &p, &e), CDC_OK);
    assert_int_equal(k, CDC__WHERE_POSITION);
    assert_string_equal(cdc_position_file(&p), "b.000002");
    assert_int_equal(cdc__where_parse("later", "start", true, &k, &p, &e), CDC_ERR_CONFIG);
    assert_int_equal(e.code, CDC_ERR_CONFIG);
    assert_non_null(strstr(e.msg, "start: position 'later' is not FILE:OFFSET"));
    cdc__position_clear(&p);
}

static void test_gtid_tracking(void **state)
{
    (void)state;
    cdc_position p, q;
    cdc__position_init(&p, &test_alloc);
    cdc__position_init(&q, &test_alloc);
    cdc__err e = {0};
    assert_int_equal(cdc__position_parse_into(&p, "gtid:" UUID_A ":1-5", &e), CDC_OK);
    assert_int_equal(cdc__position_add_gtid_text(&p, UUID_A ":6", &e), CDC_OK);
    assert_int_equal(cdc__position_add_gtid_text(&p, UUID_A ":8", &e), CDC_OK);
    assert_int_equal(cdc__position_add_gtid_text(&p, UUID_B ":tag:1", &e), CDC_OK);
    assert_string_equal(cdc_position_gtid_set(&p), UUID_A ":1-6:8," UUID_B ":tag:1");
    assert_int_equal(cdc__position_set_file(&p, "b.000009", 8), CDC_OK);
    p.offset = 99;
    assert_int_equal(cdc__position_copy(&q, &p), CDC_OK);
    assert_string_equal(cdc_position_file(&q), "b.000009");
    assert_true(q.offset == 99);
    assert_string_equal(cdc_position_gtid_set(&q), cdc_position_gtid_set(&p));
    cdc__position_clear(&p);
    cdc__position_clear(&q);
}

static void test_binlog_name_order(void **state)
{
    (void)state;
    assert_int_equal(cdc__binlog_name_cmp("binlog.000009", "binlog.000010"), -1);
    assert_int_equal(cdc__binlog_name_cmp("binlog.999999", "binlog.1000000"), -1); /* past six digits */
    assert_int_equal(cdc__binlog_name_cmp("binlog.000010", "binlog.000010"), 0);
    assert_int_equal(cdc__binlog_name_cmp("binlog.000011", "binlog.000010"), 1);
    assert_int_equal(cdc__binlog_name_cmp("a.000002", "b.000001"), -1); /* other base: by text */
}

/* The snap field: round trip, what it decodes to, and every refusal. */
static void test_snapshot_progress(void **state)
{
    (void)state;
    const char *ck = "cdc1:file=binlog.000003;pos=1234;gtid=0-1-5;snap=shop.orders,shop.big~_1000_+"
                     "~1000_2000_k1534~2000__-,a%2Eb.t%20x~__k2024-01-01%2010%3A00%3A00.abc%2C";
    round_trip(ck, "binlog.000003", 1234, "0-1-5");
    cdc_position *p = NULL;
    char err[256] = "";
    assert_int_equal(cdc_position_parse(&p, ck, &test_alloc, err, sizeof err), CDC_OK);
    assert_int_equal(cdc_position_snapshot_pending(p), 1);
    cdc_position_free(p);
    assert_int_equal(cdc_position_parse(&p, "cdc1:file=b.1;pos=4", &test_alloc, err, sizeof err), CDC_OK);
    assert_int_equal(cdc_position_snapshot_pending(p), 0);
    cdc_position_free(p);

    const char *text = strstr(ck, "snap=") + 5;
    cdc__snapprog sp;
    cdc__err e = {0};
    assert_int_equal(cdc__snapprog_parse(&sp, text, strlen(text), &test_alloc, &e), CDC_OK);
    assert_int_equal(sp.n, 3);
    assert_true(sp.t[0].done);
    assert_string_equal(sp.t[0].db, "shop");
    assert_string_equal(sp.t[0].name, "orders");
    const cdc__sp_table *big = cdc__snapprog_find(&sp, "shop", "big");
    assert_non_null(big);
    assert_false(big->done);
    assert_int_equal(big->nitems, 3);
    assert_false(big->items[0].has_lo);
    assert_true(big->items[0].has_hi && big->items[0].hi == 1000);
    assert_int_equal(big->items[0].state, CDC__SP_DONE);
    assert_int_equal(big->items[1].state, CDC__SP_AFTER);
    assert_int_equal(big->items[1].nkey, 1);
    assert_memory_equal(big->items[1].key[0].ptr, "1534", 4);
    assert_int_equal(big->items[2].state, CDC__SP_TODO);
    assert_false(big->items[2].has_hi);
    const cdc__sp_table *odd = cdc__snapprog_find(&sp, "a.b", "t x");
    assert_non_null(odd);
    assert_int_equal(odd->items[0].nkey, 2);
    assert_int_equal(odd->items[0].key[0].len, 19);
    assert_memory_equal(odd->items[0].key[0].ptr, "2024-01-01 10:00:00", 19);
    assert_memory_equal(odd->items[0].key[1].ptr, "abc,", 4);
    assert_null(cdc__snapprog_find(&sp, "shop", "nope"));
    cdc__snapprog_free(&sp);

    /* writing: names and keys escaped so that they read back */
    cdc__buf b;
    cdc__buf_init(&b, &test_alloc);
    assert_int_equal(cdc__snapprog_put_esc(&b, (const uint8_t *)"a.b~c_d\xf0\x9f\x98\x80", 11), CDC_OK);
    assert_int_equal(cdc__snapprog_put_range(&b, true, -5, false, 0), CDC_OK);
    assert_int_equal(cdc__buf_terminate(&b), CDC_OK);
    assert_string_equal((const char *)b.data, "a%2Eb%7Ec%5Fd%F0%9F%98%80-5__");
    cdc__buf_free(&b);

    static const struct { const char *snap, *msg; } bad[] = {
        {"shop", "without '.'"},
        {"shop.", "empty name"},
        {"shop.t~", "without '_'"},
        {"shop.t~__x", "not '-', '+' or 'k'"},
        {"shop.t~__", "without a state"},
        {"shop.t~5_5_-", "empty range"},
        {"shop.t~_5_-~__-", "unbounded item among several"},
        {"shop.t~99999999999999999999__-", "not a 64-bit integer"},
        {"shop.t~__k%zz", "bad %XX"},
        {"shop.t,shop.t", "listed twice"},
        {"shop.t;x", "unexpected character"},
        {"shop.t x", "unexpected character"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&e, 0, sizeof e);
        int rc = cdc__snapprog_parse(&sp, bad[i].snap, strlen(bad[i].snap), &test_alloc, &e);
        cdc__snapprog_free(&sp);
        if (rc != CDC_ERR_INVALID || !strstr(e.msg, bad[i].msg))
            fail_msg("'%s': rc %d, '%s' (wanted '%s')", bad[i].snap, rc, e.msg, bad[i].msg);
    }
    expect_error("cdc1:file=b.1;pos=4;snap=", "snap is empty");
    expect_error("cdc1:file=b.1;pos=4;snap=a.b;gtid=0-1-2", "unexpected field 'gtid'");
    expect_error("cdc1:file=b.1;pos=4;snap=a", "without '.'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoint_round_trip), cmocka_unit_test(test_short_forms),
        cmocka_unit_test(test_parse_errors),          cmocka_unit_test(test_where_forms),
        cmocka_unit_test(test_gtid_tracking),         cmocka_unit_test(test_binlog_name_order),
        cmocka_unit_test(test_snapshot_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
