/* Unit tests of the snapshot's configuration (snapshot.mode and its
 * Debezium spellings). The value conversions are in
 * test_snapshot_values.c; the snapshot itself needs a server
 * (itest_snapshot.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <string.h>

#include <cdc/cdc.h>

#include "config.h"
#include "snapshot.h"

/* snapshot.mode: Debezium's spellings are accepted and mean the modes
 * they were renamed to; recovery needs a start position, said at once. */
static void test_snapshot_mode_names(void **state)
{
    (void)state;
    static const struct { const char *name; int mode; } names[] = {
        {"initial", CDC_SNAPSHOT_INITIAL}, {"initial_only", CDC_SNAPSHOT_INITIAL_ONLY},
        {"no_data", CDC_SNAPSHOT_NO_DATA}, {"schema_only", CDC_SNAPSHOT_NO_DATA},
        {"never", CDC_SNAPSHOT_NEVER}, {"when_needed", CDC_SNAPSHOT_WHEN_NEEDED},
        {"recovery", CDC_SNAPSHOT_RECOVERY}, {"schema_only_recovery", CDC_SNAPSHOT_RECOVERY},
    };
    char e[512];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        cdc_config *cfg;
        assert_int_equal(cdc_config_new(&cfg, NULL), CDC_OK);
        assert_int_equal(cdc_config_set(cfg, "snapshot.mode", names[i].name, e, sizeof e), CDC_OK);
        assert_int_equal(cdc__snapshot_mode(cdc__config_enum(cfg, CDC_CFG_SNAPSHOT_MODE)), names[i].mode);
        assert_int_equal(cdc_config_set(cfg, "server.id", "7", e, sizeof e), CDC_OK);
        assert_int_equal(cdc_config_set(cfg, "user", "cdc", e, sizeof e), CDC_OK);
        cdc_stream *st = NULL;
        int rc = cdc_stream_new(&st, cfg, NULL, e, sizeof e);
        if (names[i].mode == CDC_SNAPSHOT_RECOVERY) {
            assert_int_equal(rc, CDC_ERR_CONFIG);
            assert_non_null(strstr(e, "snapshot.mode=recovery"));
            assert_non_null(strstr(e, "start"));
            assert_int_equal(cdc_config_set(cfg, "start", "binlog.000001:4", e, sizeof e), CDC_OK);
            rc = cdc_stream_new(&st, cfg, NULL, e, sizeof e);
        }
        if (rc) fail_msg("%s: %s", names[i].name, e);
        cdc_stream_free(st);
        cdc_config_free(cfg);
    }
    cdc_config *cfg;
    assert_int_equal(cdc_config_new(&cfg, NULL), CDC_OK);
    assert_int_equal(cdc_config_set(cfg, "snapshot.mode", "schema_history", e, sizeof e), CDC_ERR_CONFIG);
    assert_non_null(strstr(e, "schema_only_recovery"));
    cdc_config_free(cfg);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_mode_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
