/* Integration tests of the wire-protocol client (conn.c and everything
 * under it) against MariaDB 10.11 and MySQL 9.7 from testenv.sh: every
 * auth plugin each server offers, TLS modes and verify failures,
 * compression, 16 MiB+ payloads, errors (wrong password, unknown host,
 * closed port, server gone, SQL errors), multiple result sets, NULLs,
 * the receive low-water mark of long results.
 * What the client reports is checked against what the server says in SQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <string.h>
#include <sys/socket.h>

#include "testsupport.h"

/* Connects; returns the code and leaves *out NULL on failure. */
static int try_connect(const cdc__conn_opts *o, cdc__conn **out, cdc__err *e)
{
    cdc__err_clear(e);
    assert_int_equal(cdc__conn_new(out, NULL), CDC_OK);
    int rc = cdc__conn_connect(*out, o, e);
    if (rc) {
        cdc__conn_free(*out);
        *out = NULL;
    }
    return rc;
}

static void expect_user(cdc__conn *c, const char *want)
{
    char *u = ts_query_str(c, "SELECT CURRENT_USER()");
    assert_non_null(u);
    assert_string_equal(u, want);
    free(u);
}

/* Flavour, version and connection id as the server reports them in SQL. */
static void test_server_info(void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++) {
        cdc__conn *c = ts_connect((ts_server)s, NULL);
        const cdc__server_version *v = cdc__conn_server_version(c);
        assert_int_equal(v->flavour, s == TS_MARIADB ? CDC_FLAVOUR_MARIADB : CDC_FLAVOUR_MYSQL);
        char *ver = ts_query_str(c, "SELECT VERSION()");
        assert_int_equal(v->text.len, strlen(ver));
        assert_memory_equal(v->text.ptr, ver, v->text.len);
        char want[32];
        snprintf(want, sizeof want, "%u.%u.%u", v->major, v->minor, v->patch);
        assert_memory_equal(ver, want, strlen(want));
        assert_true(s == TS_MARIADB ? v->major >= 10 : v->major >= 8);
        free(ver);
        char *id = ts_query_str(c, "SELECT CONNECTION_ID()");
        assert_int_equal(strtoul(id, NULL, 10), cdc__conn_id(c));
        free(id);
        /* the connection attributes reached the server (visible only
         * where performance_schema is on; testenv.sh turns it off) */
        char *ps = ts_query_str(c, "SELECT @@performance_schema");
        bool have_ps = strcmp(ps, "1") == 0;
        free(ps);
        if (have_ps) {
            char *name = ts_query_str(c, "SELECT ATTR_VALUE FROM performance_schema.session_connect_attrs "
                                         "WHERE PROCESSLIST_ID = CONNECTION_ID() AND ATTR_NAME = '_client_name'");
            assert_string_equal(name, "libcdc");
            free(name);
        }
        cdc__err e;
        assert_int_equal(cdc__conn_ping(c, &e), CDC_OK);
        cdc__conn_free(c);
    }
}

static void test_mariadb_native_and_ed25519(void **state)
{
    (void)state;
    cdc__conn_opts o;
    ts_opts(&o, TS_MARIADB, "cdc_native");
    cdc__conn *c = ts_connect_opts(&o);
    assert_string_equal(cdc__conn_auth_plugin(c), "mysql_native_password");
    assert_null(cdc__conn_tls_cipher(c));
    expect_user(c, "cdc_native@%");
    cdc__conn_free(c);

    /* the server switches us to client_ed25519; the signature is made by
     * crypto.c and checked by the server */
    ts_opts(&o, TS_MARIADB, "cdc_ed25519");
    c = ts_connect_opts(&o);
    assert_string_equal(cdc__conn_auth_plugin(c), "client_ed25519");
    expect_user(c, "cdc_ed25519@%");
    cdc__conn_free(c);
    cdc__err e;
    o.password = "wrong";
    assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_AUTH);
    assert_int_equal(e.server_errno, 1045);
}

static void test_mariadb_clear_password(void **state)
{
    (void)state;
    if (strcmp(ts_env("CDC_TEST_MARIADB_PAM"), "1") != 0) {
        print_message("cdc_clear needs PAM, which testenv.sh could not set up (CDC_TEST_MARIADB_PAM=0)\n");
        skip();
    }
    cdc__conn_opts o;
    ts_opts(&o, TS_MARIADB, "cdc_clear");
    cdc__conn *c;
    cdc__err e;
    /* no TLS: the client refuses to send the password in the clear */
    assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_AUTH_PLUGIN);
    assert_non_null(strstr(e.msg, "mysql_clear_password"));
    o.tls_mode = CDC_TLS_REQUIRED;
    c = ts_connect_opts(&o);
    assert_string_equal(cdc__conn_auth_plugin(c), "mysql_clear_password");
    expect_user(c, "cdc_clear@%");
    cdc__conn_free(c);
    o.tls_mode = CDC_TLS_DISABLED;
    o.allow_cleartext_without_tls = true;
    c = ts_connect_opts(&o);
    expect_user(c, "cdc_clear@%");
    cdc__conn_free(c);
}

/* Empties the server's caching_sha2 cache entry for user, forcing the
 * full authentication path on the next login. */
static void forget_sha2(const char *user)
{
    cdc__conn *root = ts_connect(TS_MYSQL, NULL);
    ts_exec(root, "ALTER USER %s@'%%' IDENTIFIED WITH caching_sha2_password BY '%s'", user,
            ts_env("CDC_TEST_PASSWORD"));
    cdc__conn_free(root);
}

static void test_mysql_caching_sha2(void **state)
{
    (void)state;
    cdc__conn_opts o;
    cdc__conn *c;
    cdc__err e;
    ts_opts(&o, TS_MYSQL, "cdc_sha2");

    /* full path without TLS or key: refused by the client, with advice */
    forget_sha2("cdc_sha2");
    assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_AUTH_PLUGIN);
    assert_non_null(strstr(e.msg, "get_server_public_key"));

    /* full path, RSA with the key fetched from the server */
    o.get_server_public_key = true;
    c = ts_connect_opts(&o);
    assert_string_equal(cdc__conn_auth_plugin(c), "caching_sha2_password");
    assert_false(cdc__conn_auth_fast_path(c));
    assert_null(cdc__conn_tls_cipher(c));
    expect_user(c, "cdc_sha2@%");
    cdc__conn_free(c);
    /* second login: fast path, no key needed */
    o.get_server_public_key = false;
    c = ts_connect_opts(&o);
    assert_true(cdc__conn_auth_fast_path(c));
    cdc__conn_free(c);

    /* full path, RSA with the key given by path */
    forget_sha2("cdc_sha2");
    o.server_public_key_path = ts_env("CDC_TEST_MYSQL_RSA_PUBKEY");
    c = ts_connect_opts(&o);
    assert_false(cdc__conn_auth_fast_path(c));
    expect_user(c, "cdc_sha2@%");
    cdc__conn_free(c);
    o.server_public_key_path = "/nonexistent/key.pem";
    assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_CONFIG);
    assert_non_null(strstr(e.msg, "/nonexistent/key.pem"));
    o.server_public_key_path = NULL;

    /* full path over TLS: the password goes inside TLS */
    forget_sha2("cdc_sha2");
    o.tls_mode = CDC_TLS_REQUIRED;
    c = ts_connect_opts(&o);
    assert_false(cdc__conn_auth_fast_path(c));
    assert_non_null(cdc__conn_tls_cipher(c));
    cdc__conn_free(c);
    c = ts_connect_opts(&o);
    assert_true(cdc__conn_auth_fast_path(c));
    cdc__conn_free(c);

    /* wrong password: the server's 1045 with SQLSTATE */
    o.password = "wrong";
    assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_AUTH);
    assert_int_equal(e.server_errno, 1045);
    assert_string_equal(e.sqlstate, "28000");
    assert_non_null(strstr(e.msg, "Access denied for user 'cdc_sha2'"));
    assert_non_null(strstr(e.msg, "(server error 1045 28000)"));
}

static void test_mysql_sha256_password(void **state)
{
    (void)state;
    cdc__conn *root = ts_connect(TS_MYSQL, NULL);
    char *n = ts_query_str(root, "SELECT COUNT(*) FROM mysql.user WHERE user = 'cdc_sha256'");
    cdc__conn_free(root);
    bool have = strcmp(n, "1") == 0;
    free(n);
    if (!have) {
        print_message("this MySQL has no sha256_password account (plugin removed)\n");
        skip();
    }
    cdc__conn_opts o;
    cdc__conn *c;
    cdc__err e;
    ts_opts(&o, TS_MYSQL, "cdc_sha256");
    assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_AUTH_PLUGIN);
    o.get_server_public_key = true;
    c = ts_connect_opts(&o);
    assert_string_equal(cdc__conn_auth_plugin(c), "sha256_password");
    expect_user(c, "cdc_sha256@%");
    cdc__conn_free(c);
    o.get_server_public_key = false;
    o.server_public_key_path = ts_env("CDC_TEST_MYSQL_RSA_PUBKEY");
    c = ts_connect_opts(&o);
    expect_user(c, "cdc_sha256@%");
    cdc__conn_free(c);
    o.server_public_key_path = NULL;
    o.tls_mode = CDC_TLS_REQUIRED;
    c = ts_connect_opts(&o);
    expect_user(c, "cdc_sha256@%");
    cdc__conn_free(c);
}

static void test_tls_modes(void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++) {
        cdc__conn_opts o;
        cdc__conn *c;
        cdc__err e;
        ts_opts(&o, (ts_server)s, NULL);
        o.tls_mode = CDC_TLS_PREFERRED;
        c = ts_connect_opts(&o);
        assert_non_null(cdc__conn_tls_cipher(c));
        /* the server agrees the session is encrypted */
        cdc__result *r = ts_query(c, "SHOW SESSION STATUS LIKE 'Ssl_cipher'");
        assert_int_equal(cdc__result_rows(r), 1);
        assert_true(strlen(cdc__result_get(r, 0, 1)) > 0);
        cdc__result_free(r);
        cdc__conn_free(c);

        o.tls_mode = CDC_TLS_DISABLED;
        o.user = "cdc_tls"; /* REQUIRE SSL */
        /* On MySQL, caching_sha2_password needs the RSA key for a full login
         * without TLS when the server's cache is cold (a fresh server); with
         * it the password is accepted and REQUIRE SSL alone refuses. */
        if (s == TS_MYSQL) o.server_public_key_path = ts_env("CDC_TEST_MYSQL_RSA_PUBKEY");
        assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_AUTH);
        assert_int_equal(e.server_errno, 1045);
        o.server_public_key_path = NULL;
        o.tls_mode = CDC_TLS_REQUIRED;
        c = ts_connect_opts(&o);
        expect_user(c, "cdc_tls@%");
        cdc__conn_free(c);

        /* verify_ca: right CA passes even though the name is 127.0.0.1 */
        o.tls_mode = CDC_TLS_VERIFY_CA;
        o.tls_ca = ts_env("CDC_TEST_TLS_CA");
        c = ts_connect_opts(&o);
        cdc__conn_free(c);
        o.tls_ca = ts_env("CDC_TEST_TLS_WRONG_CA");
        assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_TLS_VERIFY);
        assert_non_null(strstr(e.msg, "certificate verify failed"));
        o.tls_ca = NULL;
        assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_CONFIG);

        /* verify_identity: the cert is for DNS:localhost only */
        o.tls_mode = CDC_TLS_VERIFY_IDENTITY;
        o.tls_ca = ts_env("CDC_TEST_TLS_CA");
        assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_TLS_VERIFY);
        assert_non_null(strstr(e.msg, "name mismatch"));
        assert_non_null(strstr(e.msg, "localhost"));
        /* a CA that did not sign the cert, and a wrong name: both said,
         * the CA first */
        o.tls_ca = ts_env("CDC_TEST_TLS_WRONG_CA");
        assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_TLS_VERIFY);
        const char *ca = strstr(e.msg, "not signed by a CA in ssl.ca"), *cn = strstr(e.msg, "CN");
        if (!ca || !cn || cn < ca) fail_msg("want the untrusted CA, then the name, in: %s", e.msg);
        o.tls_ca = ts_env("CDC_TEST_TLS_CA");
        o.tls_server_name = "localhost";
        c = ts_connect_opts(&o);
        cdc__conn_free(c);
        o.tls_server_name = NULL;
        o.host = "localhost";
        c = ts_connect_opts(&o);
        assert_non_null(cdc__conn_tls_version(c));
        cdc__conn_free(c);

        /* REQUIRE X509: needs the client certificate */
        ts_opts(&o, (ts_server)s, "cdc_x509");
        o.tls_mode = CDC_TLS_VERIFY_CA;
        o.tls_ca = ts_env("CDC_TEST_TLS_CA");
        assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_AUTH);
        o.tls_cert = ts_env("CDC_TEST_TLS_CLIENT_CERT");
        o.tls_key = ts_env("CDC_TEST_TLS_CLIENT_KEY");
        c = ts_connect_opts(&o);
        expect_user(c, "cdc_x509@%");
        cdc__conn_free(c);
        o.tls_key = "/nonexistent.pem";
        assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_CONFIG);
        assert_non_null(strstr(e.msg, "/nonexistent.pem"));
    }
}

/* Checks a row of one column holding n copies of 'x'. */
static int big_row(const cdc_bytes *v, size_t n, void *ud)
{
    size_t *seen = ud;
    assert_int_equal(n, 1);
    for (size_t i = 0; i < v[0].len; i++)
        if (v[0].ptr[i] != 'x') fail_msg("byte %zu is 0x%02x", i, v[0].ptr[i]);
    *seen = v[0].len;
    return 0;
}

static void test_compression_and_large_payloads(void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++) {
        cdc__conn *root = ts_connect((ts_server)s, NULL);
        ts_exec(root, "SET GLOBAL max_allowed_packet = 64*1024*1024");
        cdc__conn_free(root);
        for (int z = 0; z < 2; z++) {
            for (int tls = 0; tls < 2; tls++) {
                cdc__conn_opts o;
                ts_opts(&o, (ts_server)s, NULL);
                o.compress = z;
                o.tls_mode = tls ? CDC_TLS_REQUIRED : CDC_TLS_DISABLED;
                if (s == TS_MYSQL && !tls) o.get_server_public_key = true;
                cdc__conn *c = ts_connect_opts(&o);
                assert_int_equal(cdc__conn_compressed(c), z);
                cdc__result *r = ts_query(c, "SHOW SESSION STATUS LIKE 'Compression'");
                assert_string_equal(cdc__result_get(r, 0, 1), z ? "ON" : "OFF");
                cdc__result_free(r);
                /* one row of 20 MiB: two packets of 0xffffff and the rest */
                size_t seen = 0;
                cdc__query_handler h = {.row = big_row};
                cdc__err e;
                const char *q = "SELECT REPEAT('x', 20*1024*1024)";
                int rc = cdc__conn_query(c, q, strlen(q), &h, &seen, &e);
                if (rc) fail_msg("%s: %s", cdc_err_name(rc), e.msg);
                assert_int_equal(seen, 20u * 1024 * 1024);
                /* and a 17 MiB statement going the other way */
                size_t n = 17u * 1024 * 1024;
                static const char head[] = "SELECT LENGTH('";
                size_t k = sizeof head - 1;
                char *sql = malloc(k + n + 3);
                assert_non_null(sql);
                memcpy(sql, head, k);
                memset(sql + k, 'y', n);
                memcpy(sql + k + n, "')", 3);
                cdc__result *len = NULL;
                rc = cdc__conn_query_result(c, sql, &len, &e);
                free(sql);
                if (rc) fail_msg("%s: %s", cdc_err_name(rc), e.msg);
                assert_int_equal(strtoul(cdc__result_get(len, 0, 0), NULL, 10), n);
                cdc__result_free(len);
                /* still in step */
                char *one = ts_query_str(c, "SELECT 1");
                assert_string_equal(one, "1");
                free(one);
                cdc__conn_free(c);
            }
        }
        /* a payload over max_packet is refused with a clear error */
        cdc__conn_opts o;
        ts_opts(&o, (ts_server)s, NULL);
        o.tls_mode = CDC_TLS_REQUIRED;
        o.max_packet = 1024 * 1024;
        cdc__conn *c = ts_connect_opts(&o);
        cdc__err e;
        assert_int_equal(cdc__conn_exec(c, "SELECT REPEAT('x', 2*1024*1024)", &e), CDC_ERR_TOO_LARGE);
        assert_non_null(strstr(e.msg, "max_packet"));
        cdc__conn_free(c);
    }
}

static void test_connect_errors(void **state)
{
    (void)state;
    cdc__conn_opts o;
    cdc__conn *c;
    cdc__err e;
    ts_opts(&o, TS_MARIADB, "cdc_native");
    o.password = "wrong";
    assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_AUTH);
    assert_int_equal(e.server_errno, 1045);
    assert_string_equal(e.sqlstate, "28000");
    assert_non_null(strstr(e.msg, "Access denied for user 'cdc_native'@"));

    ts_opts(&o, TS_MARIADB, NULL);
    o.host = "no-such-host.invalid";
    assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_RESOLVE);
    assert_non_null(strstr(e.msg, "no-such-host.invalid"));

    ts_opts(&o, TS_MARIADB, NULL);
    o.port = 1; /* nothing listens there */
    assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_CONNECT);
    assert_non_null(strstr(e.msg, ":1:"));

    ts_opts(&o, TS_MARIADB, NULL);
    o.unix_socket = "/nonexistent/mysqld.sock";
    assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_CONNECT);

    ts_opts(&o, TS_MARIADB, NULL);
    o.database = "no_such_database";
    assert_int_equal(try_connect(&o, &c, &e), CDC_ERR_SERVER);
    assert_int_equal(e.server_errno, 1049);
}

static void test_unix_socket(void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++) {
        cdc__conn_opts o;
        ts_opts(&o, (ts_server)s, s == TS_MARIADB ? "cdc_native" : "cdc_sha2");
        o.tls_mode = CDC_TLS_PREFERRED;
        o.unix_socket = ts_env(s == TS_MARIADB ? "CDC_TEST_MARIADB_SOCKET" : "CDC_TEST_MYSQL_SOCKET");
        if (s == TS_MYSQL) forget_sha2("cdc_sha2");
        /* a unix socket is secure: caching_sha2's full path sends the
         * password without TLS or RSA */
        cdc__conn *c = ts_connect_opts(&o);
        assert_true(cdc__conn_is_unix(c));
        assert_null(cdc__conn_tls_cipher(c)); /* preferred skips TLS on a socket */
        char *host = ts_query_str(c, "SELECT SUBSTRING_INDEX(USER(), '@', -1)");
        assert_string_equal(host, "localhost");
        free(host);
        cdc__conn_free(c);
        /* TLS works over the socket too when required */
        o.tls_mode = CDC_TLS_REQUIRED;
        c = ts_connect_opts(&o);
        assert_non_null(cdc__conn_tls_cipher(c));
        cdc__conn_free(c);
    }
}

static void test_sql_errors_and_gone(void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++) {
        cdc__conn *c = ts_connect((ts_server)s, NULL);
        cdc__err e;
        assert_int_equal(cdc__conn_exec(c, "SELECT * FROM mysql.no_such_table", &e), CDC_ERR_SERVER);
        assert_int_equal(e.server_errno, 1146);
        assert_string_equal(e.sqlstate, "42S02");
        assert_non_null(strstr(e.msg, "no_such_table"));
        assert_int_equal(cdc__conn_exec(c, "SELEC 1", &e), CDC_ERR_SERVER);
        assert_int_equal(e.server_errno, 1064);
        assert_string_equal(e.sqlstate, "42000");
        /* the connection stays usable */
        char *one = ts_query_str(c, "SELECT 1");
        assert_string_equal(one, "1");
        free(one);

        /* killed from another connection: the next query sees it */
        cdc__conn *killer = ts_connect((ts_server)s, NULL);
        ts_exec(killer, "KILL %u", cdc__conn_id(c));
        cdc__conn_free(killer);
        int rc = cdc__conn_exec(c, "SELECT 1", &e);
        assert_int_equal(rc, CDC_ERR_CLOSED);
        assert_int_equal(cdc__conn_exec(c, "SELECT 1", &e), CDC_ERR_STATE);
        cdc__conn_free(c);

        /* read timeout */
        cdc__conn_opts o;
        ts_opts(&o, (ts_server)s, NULL);
        o.tls_mode = CDC_TLS_REQUIRED;
        o.read_timeout_ms = 300;
        c = ts_connect_opts(&o);
        assert_int_equal(cdc__conn_exec(c, "SELECT SLEEP(3)", &e), CDC_ERR_TIMEOUT);
        cdc__conn_free(c);
    }
}

struct collect {
    int sets, ends, rows, nulls, empties;
    size_t cols[8];
    char first[8][16];
};

static int col_cb(const cdc__coldef *cols, size_t n, void *ud)
{
    (void)cols;
    struct collect *k = ud;
    if (k->sets < 8) k->cols[k->sets] = n;
    k->sets++;
    return 0;
}

static int row_cb(const cdc_bytes *v, size_t n, void *ud)
{
    struct collect *k = ud;
    for (size_t i = 0; i < n; i++) {
        if (!v[i].ptr) k->nulls++;
        else if (!v[i].len) k->empties++;
    }
    if (k->sets >= 1 && k->sets <= 8 && v[0].ptr) snprintf(k->first[k->sets - 1], 16, "%.*s", (int)v[0].len, v[0].ptr);
    k->rows++;
    return 0;
}

static int end_cb(const cdc__ok *ok, bool more, void *ud)
{
    (void)ok;
    (void)more;
    struct collect *k = ud;
    k->ends++;
    return 0;
}

static void test_multi_results_and_nulls(void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++) {
        cdc__conn *c = ts_connect((ts_server)s, NULL);
        cdc__query_handler h = {.columns = col_cb, .row = row_cb, .end = end_cb};
        cdc__err e;
        struct collect k = {0};
        const char *q = "SELECT 1; SELECT 'two', NULL, ''; DO 1; SELECT NULL";
        assert_int_equal(cdc__conn_query(c, q, strlen(q), &h, &k, &e), CDC_OK);
        assert_int_equal(k.sets, 3);
        assert_int_equal(k.ends, 4); /* DO gives an OK without columns */
        assert_int_equal(k.cols[0], 1);
        assert_int_equal(k.cols[1], 3);
        assert_string_equal(k.first[1], "two");
        assert_int_equal(k.nulls, 2);
        assert_int_equal(k.empties, 1);

        /* CALL: two result sets and the CALL's own OK */
        ts_exec(c, "CREATE DATABASE IF NOT EXISTS cdc_h2_itest");
        ts_exec(c, "DROP PROCEDURE IF EXISTS cdc_h2_itest.two_sets");
        ts_exec(c, "CREATE PROCEDURE cdc_h2_itest.two_sets() BEGIN SELECT 'a' UNION SELECT 'b'; SELECT 42; END");
        memset(&k, 0, sizeof k);
        q = "CALL cdc_h2_itest.two_sets()";
        assert_int_equal(cdc__conn_query(c, q, strlen(q), &h, &k, &e), CDC_OK);
        assert_int_equal(k.sets, 2);
        assert_int_equal(k.ends, 3);
        assert_int_equal(k.rows, 3);
        assert_string_equal(k.first[1], "42");

        /* a failing statement in the middle stops the batch with its error */
        memset(&k, 0, sizeof k);
        q = "SELECT 1; SELECT * FROM mysql.no_such_table; SELECT 3";
        assert_int_equal(cdc__conn_query(c, q, strlen(q), &h, &k, &e), CDC_ERR_SERVER);
        assert_int_equal(e.server_errno, 1146);
        assert_int_equal(k.sets, 1);

        /* a callback error drains the reply and keeps the connection */
        cdc__result *r = ts_query(c, "SELECT 'x' UNION SELECT NULL UNION SELECT ''");
        assert_int_equal(cdc__result_rows(r), 3);
        assert_string_equal(cdc__result_get(r, 0, 0), "x");
        assert_null(cdc__result_get(r, 1, 0));
        assert_string_equal(cdc__result_get(r, 2, 0), "");
        assert_string_equal(cdc__result_name(r, 0), "x");
        cdc__result_free(r);
        ts_exec(c, "DROP DATABASE cdc_h2_itest");
        cdc__conn_free(c);
    }
}

static int stop_cb(const cdc_bytes *v, size_t n, void *ud)
{
    (void)v;
    (void)n;
    (*(int *)ud)++;
    return 1;
}

static void test_callback_stop_and_reuse(void **state)
{
    (void)state;
    cdc__conn *c = ts_connect(TS_MYSQL, NULL);
    int calls = 0;
    cdc__query_handler h = {.row = stop_cb};
    cdc__err e;
    const char *q = "SELECT 1 UNION SELECT 2 UNION SELECT 3";
    assert_int_equal(cdc__conn_query(c, q, strlen(q), &h, &calls, &e), CDC_ERR_CALLBACK);
    assert_int_equal(calls, 1);
    char *two = ts_query_str(c, "SELECT 2");
    assert_string_equal(two, "2");
    free(two);
    /* close, then connect the same handle again */
    cdc__conn_close(c);
    assert_int_equal(cdc__conn_exec(c, "SELECT 1", &e), CDC_ERR_STATE);
    cdc__conn_opts o;
    ts_opts(&o, TS_MYSQL, NULL);
    o.tls_mode = CDC_TLS_REQUIRED;
    assert_int_equal(cdc__conn_connect(c, &o, &e), CDC_OK);
    assert_int_equal(cdc__conn_ping(c, &e), CDC_OK);
    cdc__conn_free(c);
}

/* `cdc info` prints what SQL on the same server says. */
static void test_cdc_info_tool(void **state)
{
    (void)state;
    const char *tool = ts_env("CDC_TOOL");
    for (int s = 0; s < 2; s++) {
        cdc__conn_opts o;
        ts_opts(&o, (ts_server)s, "cdc_repl");
        cdc__conn *c = ts_connect((ts_server)s, NULL);
        bool maria = s == TS_MARIADB;
        char *gtid = ts_query_str(c, maria ? "SELECT @@gtid_binlog_pos" : "SELECT @@gtid_executed");
        cdc__result *st = ts_query(c, maria ? "SHOW MASTER STATUS" : "SHOW BINARY LOG STATUS");
        char *rowimg = ts_query_str(c, "SELECT @@binlog_row_image");
        char *sid = ts_query_str(c, "SELECT @@server_id");
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "CDC_PASSWORD='%s' '%s' info --host %s --port %u --user cdc_repl --ssl-mode required 2>&1",
                 o.password, tool, o.host, o.port);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        char out[8192];
        size_t n = fread(out, 1, sizeof out - 1, p);
        out[n] = 0;
        int status = pclose(p);
        if (status != 0) fail_msg("%s exited with %d:\n%s", cmd, status, out);
        char want[512];
        snprintf(want, sizeof want, "flavour              %s\n", maria ? "MariaDB" : "MySQL");
        assert_non_null(strstr(out, want));
        snprintf(want, sizeof want, "server_id            %s\n", sid);
        assert_non_null(strstr(out, want));
        snprintf(want, sizeof want, "binlog_row_image     %s\n", rowimg);
        assert_non_null(strstr(out, want));
        snprintf(want, sizeof want, "%-20s %s\n", maria ? "gtid_binlog_pos" : "gtid_executed", gtid);
        if (!strstr(out, want)) fail_msg("want '%s' in:\n%s", want, out);
        snprintf(want, sizeof want, "binlog_file          %s\n", cdc__result_get(st, 0, 0));
        assert_non_null(strstr(out, want));
        assert_non_null(strstr(out, "tls                  TLSv1.2"));
        /* cdc stream's option names work too: --ssl-mode verify_identity
         * against 127.0.0.1 must fail on the name (the cert is for localhost) */
        snprintf(cmd, sizeof cmd,
                 "CDC_PASSWORD='%s' '%s' info --host %s --port %u --user cdc_repl --ssl-mode verify_identity "
                 "--ssl-ca '%s' 2>&1", o.password, tool, o.host, o.port, ts_env("CDC_TEST_TLS_CA"));
        p = popen(cmd, "r");
        assert_non_null(p);
        n = fread(out, 1, sizeof out - 1, p);
        out[n] = 0;
        status = pclose(p);
        if (status == 0 || !strstr(out, "name mismatch") || !strstr(out, "CDC_ERR_TLS_VERIFY"))
            fail_msg("%s should fail verification (exit %d):\n%s", cmd, status, out);
        free(gtid);
        free(rowimg);
        free(sid);
        cdc__result_free(st);
        cdc__conn_free(c);
    }
}

/* cdc__conn_set_stream_lowat: a result's rows, as the server sent them,
 * with SO_RCVLOWAT on the socket only once the rows passed twice the mark
 * (a short result never has it, so its tail never waits a step), and 1
 * again after the result. Rows must be the same either way. */
struct lw {
    int fd;
    size_t rows, bytes;
    int first_mark, last_mark, max_small;
    bool small;
};

static int mark_of(int fd)
{
    int v = -1;
    socklen_t l = sizeof v;
    assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, &l), 0);
    return v;
}

static int lw_row(const uint8_t *p, size_t n, void *ud)
{
    (void)p;
    struct lw *w = ud;
    int m = mark_of(w->fd);
    if (!w->rows) w->first_mark = m;
    w->last_mark = m;
    if (m > w->max_small) w->max_small = m;
    w->rows++;
    w->bytes += n;
    return 0;
}

static void test_stream_lowat(void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++) {
        cdc__conn_opts o;
        ts_opts(&o, (ts_server)s, NULL);
        o.tls_mode = CDC_TLS_DISABLED;
        cdc__conn *c = ts_connect_opts(&o);
        ts_exec(c, s == TS_MYSQL ? "SET SESSION cte_max_recursion_depth = 100000"
                                 : "SET SESSION max_recursive_iterations = 100000");
        cdc__conn_set_stream_lowat(c, 64 * 1024);
        cdc__query_handler h = {.raw_row = lw_row};
        cdc__err e;
        /* about 4 MB: 4,000 rows of 1,000 bytes, and a 20-row result */
        const char *big = "WITH RECURSIVE q(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM q WHERE n < 4000)"
                          " SELECT n, REPEAT(CHAR(65 + n % 26), 1000) FROM q";
        const char *small = "WITH RECURSIVE q(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM q WHERE n < 20)"
                            " SELECT n, REPEAT('s', 100) FROM q";
        for (int binary = 0; binary < 2; binary++) {
            struct lw w0 = {.fd = cdc__conn_fd(c)}, w = w0, ws = w0;
            cdc__conn_set_stream_lowat(c, 0);
            int rc = binary ? cdc__conn_query_binary(c, big, strlen(big), &h, &w0, &e)
                            : cdc__conn_query(c, big, strlen(big), &h, &w0, &e);
            if (rc) fail_msg("%s: %s", ts_server_name((ts_server)s), e.msg);
            assert_int_equal(w0.rows, 4000);
            assert_true(w0.bytes > 4000 * 1000);
            assert_int_equal(w0.max_small, 1);
            cdc__conn_set_stream_lowat(c, 64 * 1024);
            rc = binary ? cdc__conn_query_binary(c, big, strlen(big), &h, &w, &e)
                        : cdc__conn_query(c, big, strlen(big), &h, &w, &e);
            if (rc) fail_msg("%s: %s", ts_server_name((ts_server)s), e.msg);
            assert_int_equal(w.rows, w0.rows);
            assert_int_equal(w.bytes, w0.bytes);
            assert_int_equal(w.first_mark, 1);
            assert_int_equal(w.last_mark, 64 * 1024);
            assert_int_equal(mark_of(w.fd), 1);
            rc = binary ? cdc__conn_query_binary(c, small, strlen(small), &h, &ws, &e)
                        : cdc__conn_query(c, small, strlen(small), &h, &ws, &e);
            if (rc) fail_msg("%s: %s", ts_server_name((ts_server)s), e.msg);
            assert_int_equal(ws.rows, 20);
            assert_int_equal(ws.max_small, 1);
        }
        cdc__conn_free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_info),
        cmocka_unit_test(test_mariadb_native_and_ed25519),
        cmocka_unit_test(test_mariadb_clear_password),
        cmocka_unit_test(test_mysql_caching_sha2),
        cmocka_unit_test(test_mysql_sha256_password),
        cmocka_unit_test(test_tls_modes),
        cmocka_unit_test(test_compression_and_large_payloads),
        cmocka_unit_test(test_connect_errors),
        cmocka_unit_test(test_unix_socket),
        cmocka_unit_test(test_sql_errors_and_gone),
        cmocka_unit_test(test_multi_results_and_nulls),
        cmocka_unit_test(test_callback_stop_and_reuse),
        cmocka_unit_test(test_cdc_info_tool),
        cmocka_unit_test(test_stream_lowat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
