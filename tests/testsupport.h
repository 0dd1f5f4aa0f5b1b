/*
 * testsupport.h: helpers for integration tests (tests/itest_*.c) that run
 * against the servers of tests/servers/testenv.sh. Source its env file
 * first:  . "$(tests/servers/testenv.sh envfile)"
 *
 * Every helper fails the running cmocka test (never skips) when an
 * environment variable is missing or the server does not answer, with a
 * message saying what is missing. Use them inside cmocka tests only.
 */
#ifndef CDC_TESTSUPPORT_H
#define CDC_TESTSUPPORT_H

#include <cdc/config.h>

#include "conn.h"

typedef enum ts_server { TS_MARIADB = 0, TS_MYSQL = 1 } ts_server;

/* "mariadb" / "mysql". */
const char *ts_server_name(ts_server s);

/* The value of environment variable `name`; fails the test if unset or
 * empty. */
const char *ts_env(const char *name);

/* Options for `user` on server s: host, port and the shared test
 * password from the environment, TLS disabled, everything else default.
 * user NULL means the root account (CDC_TEST_ROOT_USER). */
void ts_opts(cdc__conn_opts *o, ts_server s, const char *user);

/* Connects with o; fails the test with the library's message if that
 * does not work. Free with cdc__conn_free. */
cdc__conn *ts_connect_opts(const cdc__conn_opts *o);

/* Connects as user (NULL: root) with TLS required (so any auth plugin
 * works without an RSA key). */
cdc__conn *ts_connect(ts_server s, const char *user);

/* Runs SQL (printf-style) and fails the test on error. */
void ts_exec(cdc__conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs a query and returns its first result set; fails on error. */
cdc__result *ts_query(cdc__conn *c, const char *sql);

/* First column of the first row as a malloc'd string (free it), or NULL
 * for SQL NULL; fails the test when there is no row. */
char *ts_query_str(cdc__conn *c, const char *sql);

/* Where the server's binlog ends now, from the server itself (SHOW BINARY
 * LOG STATUS / SHOW MASTER STATUS): "FILE:OFFSET", or only the file name
 * when with_offset is false. malloc'd; free it. */
char *ts_binlog_now(cdc__conn *c, ts_server s, bool with_offset);

/* cdc_config_set that fails the test with the library's message. */
void ts_config_set(cdc_config *c, const char *key, const char *value);

/* A configuration with the connection keys for `user` on server s (host,
 * port, user, password, ssl.mode=required); user NULL means root. Free
 * with cdc_config_free. */
cdc_config *ts_config(ts_server s, const char *user);

#endif /* CDC_TESTSUPPORT_H */
