/* testsupport.c: integration-test helpers (see testsupport.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "testsupport.h"

const char *ts_server_name(ts_server s) { return s == TS_MARIADB ? "mariadb" : "mysql"; }

const char *ts_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("environment variable %s is not set: start the servers with tests/servers/testenv.sh start "
                 "and source the file that `tests/servers/testenv.sh envfile` names",
                 name);
    return v;
}

void ts_opts(cdc__conn_opts *o, ts_server s, const char *user)
{
    memset(o, 0, sizeof *o);
    char name[64];
    snprintf(name, sizeof name, "CDC_TEST_%s_HOST", s == TS_MARIADB ? "MARIADB" : "MYSQL");
    o->host = ts_env(name);
    snprintf(name, sizeof name, "CDC_TEST_%s_PORT", s == TS_MARIADB ? "MARIADB" : "MYSQL");
    o->port = (unsigned)atoi(ts_env(name));
    o->user = user ? user : ts_env("CDC_TEST_ROOT_USER");
    o->password = ts_env("CDC_TEST_PASSWORD");
    o->connect_timeout_ms = 10000;
    o->read_timeout_ms = 120000;
}

cdc__conn *ts_connect_opts(const cdc__conn_opts *o)
{
    cdc__conn *c = NULL;
    assert_int_equal(cdc__conn_new(&c, NULL), CDC_OK);
    cdc__err e;
    cdc__err_clear(&e);
    int rc = cdc__conn_connect(c, o, &e);
    if (rc) {
        cdc__conn_free(c);
        fail_msg("connect to %s:%u as %s: %s: %s", o->unix_socket ? o->unix_socket : o->host, o->port, o->user,
                 cdc_err_name(rc), e.msg);
    }
    return c;
}

cdc__conn *ts_connect(ts_server s, const char *user)
{
    cdc__conn_opts o;
    ts_opts(&o, s, user);
    o.tls_mode = CDC_TLS_REQUIRED;
    return ts_connect_opts(&o);
}

void ts_exec(cdc__conn *c, const char *fmt, ...)
{
    char sql[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    cdc__err e;
    cdc__err_clear(&e);
    int rc = cdc__conn_exec(c, sql, &e);
    if (rc) fail_msg("%s: %s: %s", sql, cdc_err_name(rc), e.msg);
}

cdc__result *ts_query(cdc__conn *c, const char *sql)
{
    cdc__result *r = NULL;
    cdc__err e;
    cdc__err_clear(&e);
    int rc = cdc__conn_query_result(c, sql, &r, &e);
    if (rc) fail_msg("%s: %s: %s", sql, cdc_err_name(rc), e.msg);
    return r;
}

char *ts_query_str(cdc__conn *c, const char *sql)
{
    cdc__result *r = ts_query(c, sql);
    if (cdc__result_rows(r) < 1 || cdc__result_cols(r) < 1) {
        cdc__result_free(r);
        fail_msg("%s: no rows", sql);
    }
    const char *v = cdc__result_get(r, 0, 0);
    char *out = v ? strdup(v) : NULL;
    cdc__result_free(r);
    return out;
}

char *ts_binlog_now(cdc__conn *c, ts_server s, bool with_offset)
{
    cdc__result *r = ts_query(c, s == TS_MYSQL ? "SHOW BINARY LOG STATUS" : "SHOW MASTER STATUS");
    if (cdc__result_rows(r) == 0) fail_msg("%s: the binary log is off", ts_server_name(s));
    char *out = malloc(600);
    assert_non_null(out);
    if (with_offset)
        snprintf(out, 600, "%s:%s", cdc__result_get(r, 0, 0), cdc__result_get(r, 0, 1));
    else
        snprintf(out, 600, "%s", cdc__result_get(r, 0, 0));
    cdc__result_free(r);
    return out;
}

void ts_config_set(cdc_config *c, const char *key, const char *value)
{
    char err[512];
    if (cdc_config_set(c, key, value, err, sizeof err)) fail_msg("%s=%s: %s", key, value, err);
}

cdc_config *ts_config(ts_server s, const char *user)
{
    cdc_config *c;
    assert_int_equal(cdc_config_new(&c, NULL), CDC_OK);
    cdc__conn_opts o;
    ts_opts(&o, s, user);
    char port[16];
    snprintf(port, sizeof port, "%u", o.port);
    ts_config_set(c, "host", o.host);
    ts_config_set(c, "port", port);
    ts_config_set(c, "user", o.user);
    ts_config_set(c, "password", o.password);
    ts_config_set(c, "ssl.mode", "required");
    return c;
}
