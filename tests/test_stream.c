/* Unit tests for stream.c that need no server: the whole-configuration
 * checks of cdc_stream_new (each error names its key), state before the
 * first start, stop before start, and a first connection that fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cdc/cdc.h>

#include "testalloc.h"

static cdc_config *base(void)
{
    cdc_config *c;
    assert_int_equal(cdc_config_new(&c, &test_alloc), CDC_OK);
    char err[256];
    assert_int_equal(cdc_config_set(c, "user", "cdc", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_config_set(c, "server.id", "4001", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_config_set(c, "snapshot.mode", "never", err, sizeof err), CDC_OK);
    /* a port nothing listens on: 1 is reserved (tcpmux) and closed here */
    assert_int_equal(cdc_config_set(c, "port", "1", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_config_set(c, "ssl.mode", "disabled", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_config_set(c, "connect.timeout.ms", "2000", err, sizeof err), CDC_OK);
    return c;
}

static void expect_new_error(const char *key, const char *value, const char *msg)
{
    cdc_config *c = base();
    char err[256];
    assert_int_equal(cdc_config_set(c, key, value, err, sizeof err), CDC_OK);
    cdc_stream *s = (cdc_stream *)1;
    assert_int_equal(cdc_stream_new(&s, c, &test_alloc, err, sizeof err), CDC_ERR_CONFIG);
    assert_null(s);
    if (!strstr(err, msg)) fail_msg("%s=%s: '%s' lacks '%s'", key, value, err, msg);
    cdc_config_free(c);
}

static void test_config_errors_name_the_key(void **state)
{
    (void)state;
    expect_new_error("server.id", "0", "server.id: not set");
    expect_new_error("start", "binlog.000001", "start: position 'binlog.000001' is not FILE:OFFSET");
    expect_new_error("start", "cdc1:file=b.000001", "start: checkpoint: ");
    expect_new_error("stop.at", "earliest", "stop.at: 'earliest' is only a start");
    expect_new_error("stop.at", "gtid:", "stop.at: position 'gtid:'");
    expect_new_error("table.include.list", "orders", "table.include.list: 'orders' is not db.table");
    expect_new_error("column.exclude.list", "a.b", "column.exclude.list: 'a.b' is not db.table.column");
    expect_new_error("user", "", "user: not set");
}

static void test_state_before_start(void **state)
{
    (void)state;
    cdc_config *c = base();
    cdc_stream *s;
    char err[256];
    assert_int_equal(cdc_stream_new(&s, c, &test_alloc, err, sizeof err), CDC_OK);
    cdc_config_free(c); /* the stream keeps its own copy */
    char buf[64];
    size_t need = 0;
    assert_int_equal(cdc_stream_checkpoint(s, buf, sizeof buf, &need), CDC_ERR_STATE);
    for (int m = 0; m <= CDC_METRIC_SNAPSHOT_ROWS; m++) assert_int_equal(cdc_stream_metric(s, (cdc_metric)m), 0);
    assert_int_equal(cdc_stream_metric(s, (cdc_metric)99), 0);
    assert_string_equal(cdc_stream_errmsg(s), "");
    assert_int_equal(cdc_stream_server_errno(s), 0);
    /* stop before start: start returns at once, without connecting */
    cdc_stream_stop(s);
    assert_int_equal(cdc_stream_start(s), CDC_ERR_STOPPED);
    /* the flag is spent: the next start tries, and a first connection
     * that fails is reported, not retried */
    int rc = cdc_stream_start(s);
    assert_true(rc == CDC_ERR_CONNECT || rc == CDC_ERR_TIMEOUT);
    assert_true(strlen(cdc_stream_errmsg(s)) > 0);
    assert_int_equal(cdc_stream_start(s), rc); /* sticky */
    cdc_stream_free(s);
    cdc_stream_free(NULL);
    cdc_stream_stop(NULL);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(cdc_stream_new(NULL, NULL, NULL, err, sizeof err), CDC_ERR_INVALID);
    cdc_stream *s;
    assert_int_equal(cdc_stream_new(&s, NULL, NULL, err, sizeof err), CDC_ERR_INVALID);
    assert_string_equal(err, "cdc_stream_new: cfg is NULL");
    assert_int_equal(cdc_stream_start(NULL), CDC_ERR_INVALID);
    assert_int_equal(cdc_stream_checkpoint(NULL, err, sizeof err, NULL), CDC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors_name_the_key),
        cmocka_unit_test(test_state_before_start),
        cmocka_unit_test(test_invalid_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
