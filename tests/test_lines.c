/*
 * test_lines.c: the public JSON lines of cdc/lines.h. For every change and
 * event of several real binlogs the caller-buffer calls give exactly the
 * text of the internal renderer behind `cdc dump`, say TOO_LARGE with the
 * right size one byte short of it, and fit at that size; JSON strings
 * escape as docs/values.md says; cdc_server_info refuses a configuration
 * without a user before connecting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cdc/cdc.h>

#include "output.h"
#include "testalloc.h"
#include "util.h"

typedef struct ctx {
    size_t changes, events;
} ctx;

/* The public call at every interesting size against the internal text. */
static void check_sizes(const char *want, size_t wlen, int (*call)(const void *, char *, size_t, size_t *),
                        const void *what)
{
    size_t need = 0;
    assert_int_equal(call(what, NULL, 0, &need), CDC_ERR_TOO_LARGE);
    assert_int_equal(need, wlen + 1);
    char *buf = malloc(wlen + 1);
    assert_non_null(buf);
    need = 0;
    assert_int_equal(call(what, buf, wlen, &need), CDC_ERR_TOO_LARGE); /* no room for the NUL */
    assert_int_equal(need, wlen + 1);
    need = 0;
    assert_int_equal(call(what, buf, wlen + 1, &need), CDC_OK);
    assert_int_equal(need, wlen + 1);
    assert_int_equal(strlen(buf), wlen);
    assert_memory_equal(buf, want, wlen);
    free(buf);
}

static int call_change(const void *c, char *b, size_t cap, size_t *need) { return cdc_change_json(c, b, cap, need); }
static int call_event(const void *e, char *b, size_t cap, size_t *need) { return cdc_event_json(e, b, cap, need); }

static int on_change(const cdc_change *c, void *ud)
{
    ctx *x = ud;
    cdc__buf b;
    cdc__err err;
    cdc__buf_init(&b, NULL);
    cdc__err_clear(&err);
    int rc = cdc__change_render_json(c, &b, &err);
    if (rc == CDC_OK) {
        check_sizes((const char *)b.data, b.len, call_change, c);
    } else {
        size_t need;
        char small[16];
        assert_int_equal(cdc_change_json(c, small, sizeof small, &need), rc);
    }
    cdc__buf_free(&b);
    x->changes++;
    return 0;
}

static int on_event(const cdc_event *e, void *ud)
{
    ctx *x = ud;
    cdc__buf b;
    cdc__err err;
    cdc__buf_init(&b, NULL);
    cdc__err_clear(&err);
    assert_int_equal(cdc__event_render_json(e, &b, &err), CDC_OK);
    check_sizes((const char *)b.data, b.len, call_event, e);
    cdc__buf_free(&b);
    x->events++;
    return 0;
}

static void test_fixtures(void **state)
{
    (void)state;
    static const char *const files[] = {
        "rust_mysql_common/json.binlog.000001",
        "rust_mysql_common/mariadb-bin.000001",
        "rust_mysql_common/mysql-enum-string-set.000001",
        "mysql-binlog-connector-java/mysql-bin.checksum-crc32",
        "mariadb-server-11.8.6/std_data/mdev6020-mysql-bin.000001",
    };
    const char *root = getenv("CDC_FIXTURES");
    size_t total = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", root ? root : "tests/fixtures", files[i]);
        size_t n;
        uint8_t *data = read_file(path, &n);
        if (!data) fail_msg("cannot read fixture %s", path);
        cdc_decoder *d;
        char err[256];
        assert_int_equal(cdc_decoder_new(&d, &test_alloc, err, sizeof err), CDC_OK);
        ctx x = {0, 0};
        cdc_decoder_set_change_cb(d, on_change, &x);
        cdc_decoder_set_event_cb(d, on_event, &x);
        cdc_decoder_feed(d, data, n);
        cdc_decoder_finish(d);
        cdc_decoder_free(d);
        free(data);
        assert_true(x.events > 0);
        total += x.changes;
    }
    assert_true(total > 100);
}

static void string_is(const void *s, size_t n, const char *want)
{
    char buf[256];
    size_t need = 0;
    assert_int_equal(cdc_json_string(s, n, buf, sizeof buf, &need), CDC_OK);
    assert_string_equal(buf, want);
    assert_int_equal(need, strlen(want) + 1);
}

static void test_json_string(void **state)
{
    (void)state;
    string_is("", 0, "\"\"");
    string_is("plain", 5, "\"plain\"");
    string_is("q\"b\\", 4, "\"q\\\"b\\\\\"");
    string_is("a\nb\tc\x01", 6, "\"a\\nb\\tc\\u0001\"");
    string_is("\xf0\x9f\x9a\x80 \xc3\xbc", 7, "\"\xf0\x9f\x9a\x80 \xc3\xbc\"");      /* 4- and 2-byte UTF-8 kept */
    string_is("x\xff" "y", 3, "\"x\xef\xbf\xbdy\"");                                 /* invalid byte: U+FFFD */
    string_is("nul\0in", 6, "\"nul\\u0000in\"");
    char small[4];
    size_t need = 0;
    assert_int_equal(cdc_json_string("abcdef", 6, small, sizeof small, &need), CDC_ERR_TOO_LARGE);
    assert_int_equal(need, 9);
    assert_int_equal(cdc_json_string(NULL, 3, small, sizeof small, &need), CDC_ERR_INVALID);
    assert_int_equal(cdc_change_json(NULL, small, sizeof small, &need), CDC_ERR_INVALID);
}

/* The transaction lines (docs/output.md): the exact text, and the size
 * protocol. */
static void test_txn_lines(void **state)
{
    (void)state;
    cdc_position *pos;
    char err[256];
    assert_int_equal(cdc_position_parse(&pos, "binlog.000007:1234", NULL, err, sizeof err), CDC_OK);
    char ck[256];
    assert_int_equal(cdc_position_format(pos, ck, sizeof ck, NULL), CDC_OK);
    char want[1024], buf[1024];
    size_t need = 0;

    snprintf(want, sizeof want,
             "{\"event\":\"commit\",\"gtid\":\"0-1-42\",\"server_id\":7,\"ts_ms\":-5,"
             "\"pos\":{\"file\":\"binlog.000007\",\"offset\":1234},\"checkpoint\":\"%s\"}", ck);
    assert_int_equal(cdc_txn_json("commit", "0-1-42", 7, -5, pos, buf, sizeof buf, &need), CDC_OK);
    assert_string_equal(buf, want);
    assert_int_equal(need, strlen(want) + 1);
    char small[8];
    assert_int_equal(cdc_txn_json("commit", "0-1-42", 7, -5, pos, small, sizeof small, &need), CDC_ERR_TOO_LARGE);
    assert_int_equal(need, strlen(want) + 1);

    /* an anonymous transaction: null, whether "" or NULL */
    snprintf(want, sizeof want,
             "{\"event\":\"begin\",\"gtid\":null,\"server_id\":4294967295,\"ts_ms\":1795560981000,"
             "\"pos\":{\"file\":\"binlog.000007\",\"offset\":1234},\"checkpoint\":\"%s\"}", ck);
    assert_int_equal(cdc_txn_json("begin", "", UINT32_MAX, 1795560981000, pos, buf, sizeof buf, NULL), CDC_OK);
    assert_string_equal(buf, want);
    assert_int_equal(cdc_txn_json("begin", NULL, UINT32_MAX, 1795560981000, pos, buf, sizeof buf, NULL), CDC_OK);
    assert_string_equal(buf, want);

    snprintf(want, sizeof want,
             "{\"event\":\"snapshot_done\",\"pos\":{\"file\":\"binlog.000007\",\"offset\":1234},"
             "\"checkpoint\":\"%s\"}", ck);
    assert_int_equal(cdc_position_json("snapshot_done", pos, buf, sizeof buf, NULL), CDC_OK);
    assert_string_equal(buf, want);

    assert_int_equal(cdc_txn_json(NULL, "", 0, 0, pos, buf, sizeof buf, NULL), CDC_ERR_INVALID);
    assert_int_equal(cdc_txn_json("commit", "", 0, 0, NULL, buf, sizeof buf, NULL), CDC_ERR_INVALID);
    assert_int_equal(cdc_ddl_json(NULL, pos, buf, sizeof buf, NULL), CDC_ERR_INVALID);
    assert_int_equal(cdc_position_json("checkpoint", NULL, buf, sizeof buf, NULL), CDC_ERR_INVALID);
    cdc_position_free(pos);
}

static void test_info_needs_user(void **state)
{
    (void)state;
    cdc_config *cfg;
    assert_int_equal(cdc_config_new(&cfg, NULL), CDC_OK);
    cdc_server_info *info = (cdc_server_info *)1;
    char err[256] = "";
    assert_int_equal(cdc_server_info_get(&info, cfg, NULL, err, sizeof err), CDC_ERR_CONFIG);
    assert_null(info);
    assert_non_null(strstr(err, "user"));
    cdc_config_free(cfg);
    assert_int_equal(cdc_server_info_count(NULL), 0);
    assert_null(cdc_server_info_find(NULL, "flavour"));
    cdc_server_info_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_txn_lines),
        cmocka_unit_test(test_info_needs_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
