/* Unit tests for incremental.c without a server: the checks made when an
 * incremental snapshot is asked for (names, filters, configuration),
 * through the internal entry points and the public API, and its progress
 * in checkpoints. The signal data it reads is test_signal_data.c's; the
 * algorithm itself needs a server: tests/snapshot/incremental.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "incremental.h"
#include "position.h"

#include "testalloc.h"

static cdc_config *cfg_with(const char *const *kv)
{
    cdc_config *c;
    assert_int_equal(cdc_config_new(&c, &test_alloc), CDC_OK);
    char err[256];
    for (; kv[0]; kv += 2)
        if (cdc_config_set(c, kv[0], kv[1], err, sizeof err)) fail_msg("%s", err);
    return c;
}

static void test_requests_are_checked(void **state)
{
    (void)state;
    cdc_config *c = cfg_with((const char *const[]){"table.include.list", "shop.*", "signal.data.collection",
                                                    "ops.signals", NULL});
    cdc__filter f;
    cdc__err e = {0};
    assert_int_equal(cdc__filter_init(&f, c, &test_alloc, &e), CDC_OK);
    cdc__incr_env env = {.alloc = &test_alloc, .cfg = c, .filter = &f};
    cdc__incr *in;
    assert_int_equal(cdc__incr_new(&in, &env, &e), CDC_OK);
    assert_int_equal(cdc__incr_request(in, "shop.orders", "id > 5", &e), CDC_OK);
    assert_int_equal(cdc__incr_request(in, "orders", NULL, &e), CDC_ERR_INVALID);
    assert_non_null(strstr(e.msg, "'orders' is not db.table"));
    assert_int_equal(cdc__incr_request(in, ".orders", NULL, &e), CDC_ERR_INVALID);
    assert_int_equal(cdc__incr_request(in, "shop.", NULL, &e), CDC_ERR_INVALID);
    assert_int_equal(cdc__incr_request(in, "other.t", NULL, &e), CDC_ERR_INVALID);
    assert_non_null(strstr(e.msg, "other.t is not captured"));
    assert_true(cdc__incr_pending(in)); /* the queued request */
    assert_int_equal(cdc__incr_control(in, CDC_SNAPSHOT_CTL_STOP, "nodot"), CDC_ERR_INVALID);
    assert_int_equal(cdc__incr_control(in, 42, NULL), CDC_ERR_INVALID);
    assert_int_equal(cdc__incr_control(in, CDC_SNAPSHOT_CTL_PAUSE, NULL), CDC_OK);
    cdc__incr_free(in);
    cdc__filter_free(&f);
    cdc_config_free(c);

    /* neither a signal table nor read.only: nowhere to put watermarks */
    c = cfg_with((const char *const[]){NULL});
    assert_int_equal(cdc__filter_init(&f, c, &test_alloc, &e), CDC_OK);
    env.cfg = c;
    assert_int_equal(cdc__incr_new(&in, &env, &e), CDC_OK);
    assert_int_equal(cdc__incr_request(in, "shop.orders", NULL, &e), CDC_ERR_CONFIG);
    assert_non_null(strstr(e.msg, "signal.data.collection"));
    assert_false(cdc__incr_pending(in));
    cdc__incr_free(in);
    cdc_config_free(c);
    /* read.only is enough */
    c = cfg_with((const char *const[]){"read.only", "true", NULL});
    env.cfg = c;
    assert_int_equal(cdc__incr_new(&in, &env, &e), CDC_OK);
    assert_int_equal(cdc__incr_request(in, "shop.orders", NULL, &e), CDC_OK);
    cdc__incr_free(in);
    cdc_config_free(c);
    cdc__filter_free(&f);
}

static void test_public_api(void **state)
{
    (void)state;
    char err[256];
    cdc_config *c = cfg_with((const char *const[]){"server.id", "77", "user", "cdc", "signal.data.collection", "nodot", NULL});
    cdc_stream *s = NULL;
    assert_int_equal(cdc_stream_new(&s, c, &test_alloc, err, sizeof err), CDC_ERR_CONFIG);
    if (!strstr(err, "signal.data.collection: 'nodot' is not db.table")) fail_msg("%s", err);
    assert_null(s);
    cdc_config_free(c);

    c = cfg_with((const char *const[]){"server.id", "77", "user", "cdc", "table.include.list", "shop.orders", NULL});
    assert_int_equal(cdc_stream_new(&s, c, &test_alloc, err, sizeof err), CDC_OK);
    assert_int_equal(cdc_stream_snapshot_table(s, "shop.orders", NULL), CDC_ERR_CONFIG);
    assert_int_equal(cdc_stream_snapshot_table(NULL, "shop.orders", NULL), CDC_ERR_INVALID);
    assert_int_equal(cdc_stream_snapshot_table(s, NULL, NULL), CDC_ERR_INVALID);
    assert_int_equal(cdc_stream_snapshot_control(s, (cdc_snapshot_ctl)9, NULL), CDC_ERR_INVALID);
    assert_int_equal(cdc_stream_snapshot_control(s, CDC_SNAPSHOT_CTL_RESUME, NULL), CDC_OK);
    cdc_stream_free(s);
    cdc_config_free(c);

    c = cfg_with((const char *const[]){"server.id", "77", "user", "cdc", "table.include.list", "shop.orders",
                                       "signal.data.collection", "ops.signals", NULL});
    assert_int_equal(cdc_stream_new(&s, c, &test_alloc, err, sizeof err), CDC_OK);
    assert_int_equal(cdc_stream_snapshot_table(s, "shop.orders", "id < 100"), CDC_OK);
    assert_int_equal(cdc_stream_snapshot_table(s, "shop.items", NULL), CDC_ERR_INVALID);
    cdc_stream_free(s); /* frees the queued request */
    cdc_config_free(c);
}

static void test_progress_in_checkpoint(void **state)
{
    (void)state;
    cdc_config *c = cfg_with((const char *const[]){"table.include.list", "shop.*", "read.only", "true", NULL});
    cdc__filter f;
    cdc__err e = {0};
    assert_int_equal(cdc__filter_init(&f, c, &test_alloc, &e), CDC_OK);
    cdc__incr_env env = {.alloc = &test_alloc, .cfg = c, .filter = &f};
    cdc__incr *in;
    assert_int_equal(cdc__incr_new(&in, &env, &e), CDC_OK);
    /* what a checkpoint recorded comes back as it was; a table no longer
     * captured is dropped */
    const char *text = "shop.orders~k15.a%2Eb~wid%3E5,shop.items,other.t~k3,shop.x~wcolor%3D%27blue%27";
    assert_int_equal(cdc__incr_restore(in, text, strlen(text), &e), CDC_OK);
    assert_true(cdc__incr_progress_changed(in));
    assert_false(cdc__incr_progress_changed(in));
    cdc__buf b;
    cdc__buf_init(&b, &test_alloc);
    assert_int_equal(cdc__incr_progress(in, &b), CDC_OK);
    assert_int_equal(cdc__buf_terminate(&b), CDC_OK);
    assert_string_equal((const char *)b.data, "shop.orders~k15.a%2Eb~wid%3E5,shop.items,shop.x~wcolor%3D%27blue%27");
    /* a stop empties it */
    assert_int_equal(cdc__incr_control(in, CDC_SNAPSHOT_CTL_STOP, NULL), CDC_OK);
    assert_true(cdc__incr_progress_changed(in));
    assert_int_equal(cdc__incr_progress(in, &b), CDC_OK);
    assert_int_equal(b.len, 0);
    /* bad text */
    static const char *const bad[] = {"shop", "shop.", ".t", "shop.t~", "shop.t~x1", "shop.t~k1~k2", "sh%4.t",
                                      "shop.t~wa b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = cdc__incr_restore(in, bad[i], strlen(bad[i]), &e);
        if (rc != CDC_ERR_INVALID) fail_msg("'%s': %d", bad[i], rc);
    }
    cdc__buf_free(&b);
    cdc__incr_free(in);
    cdc__filter_free(&f);
    cdc_config_free(c);

    /* the checkpoint string carries it after the other fields, exactly */
    cdc_position *p;
    const char *ck = "cdc1:file=binlog.000042;pos=1337;gtid=0-1-5;incr=shop.orders~k15,shop.items~wid%3E5";
    char err[256], out[256];
    assert_int_equal(cdc_position_parse(&p, ck, &test_alloc, err, sizeof err), CDC_OK);
    assert_int_equal(cdc_position_format(p, out, sizeof out, NULL), CDC_OK);
    assert_string_equal(out, ck);
    cdc_position_free(p);
    assert_int_equal(cdc_position_parse(&p, "cdc1:file=b.1;pos=4;incr=", &test_alloc, err, sizeof err),
                     CDC_ERR_INVALID);
    assert_int_equal(cdc_position_parse(&p, "cdc1:file=b.1;pos=4;incr=a.b c", &test_alloc, err, sizeof err),
                     CDC_ERR_INVALID);
    assert_non_null(strstr(err, "incr"));
    assert_int_equal(cdc_position_parse(&p, "cdc1:file=b.1;pos=4;incr=a.b;gtid=0-1-5", &test_alloc, err, sizeof err),
                     CDC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_are_checked),
        cmocka_unit_test(test_public_api),
        cmocka_unit_test(test_progress_in_checkpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
