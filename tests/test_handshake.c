/* Unit tests for handshake.c: initial handshakes captured from MariaDB
 * 10.11 and MySQL 9.7, every truncation of them, version/flavour
 * detection, the SSL request and handshake response layouts, and auth
 * switch requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "handshake.h"

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* Payloads of the first packet, read with a plain socket from the test
 * servers (tests/servers/testenv.sh). */
static const char *const mariadb_hs =
    "0a352e352e352d31302e31312e31392d4d6172696144422d302b646562313275312d6c6f6700b500000050245d2d663d3c5300feff"
    "080200ff81150000000000001d0000006c4965435b243d4834662b3e006d7973716c5f6e61746976655f70617373776f726400";
static const char *const mysql_hs =
    "0a392e372e342d32001701000045195f074f58143700ffffff0200ffdf150000000000000000000065404801392175787e0e1b7d00"
    "63616368696e675f736861325f70617373776f726400";

static void test_parse_mariadb(void **state)
{
    (void)state;
    uint8_t p[256];
    size_t n = unhex(mariadb_hs, p);
    cdc__handshake hs;
    cdc__err e;
    assert_int_equal(cdc__handshake_parse(p, n, &hs, &e), CDC_OK);
    assert_int_equal(hs.protocol, 10);
    assert_int_equal(hs.connection_id, 0xb5);
    assert_int_equal(hs.scramble_len, 20);
    assert_memory_equal(hs.scramble, "P$]-f=<S", 8);
    assert_memory_equal(hs.scramble + 8, "lIeC[$=H4f+>", 12);
    assert_true(hs.caps & CDC_CAP_PROTOCOL_41);
    assert_true(hs.caps & CDC_CAP_SSL);
    assert_false(hs.caps & CDC_CAP_LONG_PASSWORD); /* MariaDB clears CLIENT_MYSQL */
    assert_int_equal(hs.mariadb_caps, 0x1d);
    assert_int_equal(hs.charset, 8);
    assert_int_equal(hs.auth_plugin.len, 21);
    assert_memory_equal(hs.auth_plugin.ptr, "mysql_native_password", 21);
    cdc__server_version v = cdc__server_version_parse((const char *)hs.server_version.ptr, hs.server_version.len);
    assert_int_equal(v.flavour, CDC_FLAVOUR_MARIADB);
    assert_int_equal(v.major, 10);
    assert_int_equal(v.minor, 11);
    assert_int_equal(v.patch, 19);
    assert_int_equal(cdc__server_version_num(&v), 101119);
    assert_int_equal(v.text.len, strlen("10.11.19-MariaDB-0+deb12u1-log"));
    assert_memory_equal(v.text.ptr, "10.11.19-MariaDB", 16);
}

static void test_parse_mysql(void **state)
{
    (void)state;
    uint8_t p[256];
    size_t n = unhex(mysql_hs, p);
    cdc__handshake hs;
    cdc__err e;
    assert_int_equal(cdc__handshake_parse(p, n, &hs, &e), CDC_OK);
    assert_int_equal(hs.connection_id, 0x117);
    assert_int_equal(hs.scramble_len, 20);
    assert_true(hs.caps & CDC_CAP_LONG_PASSWORD);
    assert_true(hs.caps & CDC_CAP_DEPRECATE_EOF);
    assert_int_equal(hs.mariadb_caps, 0);
    assert_int_equal(hs.charset, 255);
    assert_int_equal(hs.auth_plugin.len, 21);
    assert_memory_equal(hs.auth_plugin.ptr, "caching_sha2_password", 21);
    cdc__server_version v = cdc__server_version_parse((const char *)hs.server_version.ptr, hs.server_version.len);
    assert_int_equal(v.flavour, CDC_FLAVOUR_MYSQL);
    assert_int_equal(cdc__server_version_num(&v), 90704);
    assert_int_equal(v.text.len, 7); /* "9.7.4-2" kept whole */
}

/* Every prefix of a real handshake fails cleanly (or, cut after the
 * short 4.0-style part, parses what is there). */
static void test_truncations(void **state)
{
    (void)state;
    const char *const all[] = {mariadb_hs, mysql_hs};
    for (int k = 0; k < 2; k++) {
        uint8_t p[256];
        size_t n = unhex(all[k], p);
        for (size_t cut = 0; cut < n; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, p, cut);
            cdc__handshake hs;
            cdc__err e;
            int rc = cdc__handshake_parse(copy, cut, &hs, &e);
            size_t short_end = strlen((const char *)p + 1) + 2 + 4 + 8 + 1 + 2;
            if (cut == short_end) assert_int_equal(rc, CDC_OK);
            else if (cut < short_end || cut < short_end + 16 + 13) assert_int_equal(rc, CDC_ERR_PROTOCOL);
            free(copy);
        }
    }
    uint8_t v9[] = {9, '4', '.', '0', 0, 1, 0, 0, 0};
    cdc__handshake hs;
    cdc__err e;
    assert_int_equal(cdc__handshake_parse(v9, sizeof v9, &hs, &e), CDC_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.msg, "protocol 9"));
}

static void test_versions(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        cdc__flavour f;
        unsigned num;
        const char *text;
    } v[] = {
        {"8.0.36-log", CDC_FLAVOUR_MYSQL, 80036, "8.0.36-log"},
        {"9.7.0", CDC_FLAVOUR_MYSQL, 90700, "9.7.0"},
        {"5.5.5-10.11.6-MariaDB-0+deb12u1", CDC_FLAVOUR_MARIADB, 101106, "10.11.6-MariaDB-0+deb12u1"},
        {"11.4.2-MariaDB", CDC_FLAVOUR_MARIADB, 110402, "11.4.2-MariaDB"},
        {"5.5.5-not-maria", CDC_FLAVOUR_MYSQL, 50505, "5.5.5-not-maria"},
        {"garbage", CDC_FLAVOUR_MYSQL, 0, "garbage"},
        {"", CDC_FLAVOUR_MYSQL, 0, ""},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        cdc__server_version s = cdc__server_version_parse(v[i].s, strlen(v[i].s));
        assert_int_equal(s.flavour, v[i].f);
        assert_int_equal(cdc__server_version_num(&s), v[i].num);
        assert_int_equal(s.text.len, strlen(v[i].text));
        assert_memory_equal(s.text.ptr, v[i].text, s.text.len);
    }
}

static void test_ssl_request_and_response(void **state)
{
    (void)state;
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    uint32_t caps = CDC__CAPS_WANTED | CDC_CAP_CONNECT_WITH_DB;
    assert_int_equal(cdc__handshake_ssl_request(&b, caps, 0xffffff, 45), CDC_OK);
    assert_int_equal(b.len, 32);
    assert_int_equal(cdc__le32(b.data), caps | CDC_CAP_SSL);
    assert_int_equal(cdc__le32(b.data + 4), 0xffffff);
    assert_int_equal(b.data[8], 45);
    for (int i = 9; i < 32; i++) assert_int_equal(b.data[i], 0);

    cdc__buf_reset(&b);
    cdc__client_attrs attrs;
    cdc__handshake_attrs_init(&attrs);
    const uint8_t auth[3] = {0xaa, 0x00, 0xbb};
    cdc__hs_response r = {caps, 0xffffff, 45, "cdc_user", auth, 3, "shop", "caching_sha2_password", attrs.kv};
    cdc__err e;
    assert_int_equal(cdc__handshake_response(&b, &r, &e), CDC_OK);
    /* read it back field by field */
    cdc__reader rd = cdc__rd(b.data, b.len);
    assert_int_equal(cdc__rd_u32(&rd), caps); /* no CLIENT_SSL here */
    cdc__rd_skip(&rd, 28);
    cdc_bytes user = cdc__rd_cstr(&rd);
    assert_int_equal(user.len, 8);
    assert_memory_equal(user.ptr, "cdc_user", 8);
    cdc_bytes a = cdc__rd_lenenc_bytes(&rd, NULL); /* PLUGIN_AUTH_LENENC: binary-safe */
    assert_int_equal(a.len, 3);
    assert_memory_equal(a.ptr, auth, 3);
    cdc_bytes db = cdc__rd_cstr(&rd);
    assert_memory_equal(db.ptr, "shop", 4);
    cdc_bytes plugin = cdc__rd_cstr(&rd);
    assert_int_equal(plugin.len, 21);
    uint64_t alen = cdc__rd_lenenc(&rd, NULL);
    assert_int_equal(alen, cdc__rd_left(&rd));
    bool found = false;
    while (cdc__rd_left(&rd) && !rd.bad) {
        cdc_bytes k = cdc__rd_lenenc_bytes(&rd, NULL), v = cdc__rd_lenenc_bytes(&rd, NULL);
        if (k.len == 12 && !memcmp(k.ptr, "_client_name", 12)) {
            assert_int_equal(v.len, 6);
            assert_memory_equal(v.ptr, "libcdc", 6);
            found = true;
        }
    }
    assert_false(rd.bad);
    assert_true(found);

    /* a server without PLUGIN_AUTH_LENENC gets a 1-byte length, and a
     * reply that cannot fit is refused rather than cut */
    cdc__buf_reset(&b);
    r.caps = caps & ~(uint32_t)CDC_CAP_PLUGIN_AUTH_LENENC;
    uint8_t big[300] = {0};
    r.auth = big;
    r.auth_len = sizeof big;
    assert_int_equal(cdc__handshake_response(&b, &r, &e), CDC_ERR_TOO_LARGE);
    cdc__buf_free(&b);
}

static void test_auth_switch(void **state)
{
    (void)state;
    cdc_bytes plugin, data;
    cdc__err e;
    const uint8_t sw[] = "\xfe" "client_ed25519\0" "0123456789abcdef0123456789abcdef";
    assert_int_equal(cdc__auth_switch_parse(sw, sizeof sw, &plugin, &data, &e), CDC_OK); /* sizeof counts the NUL */
    assert_int_equal(plugin.len, 14);
    assert_int_equal(data.len, 32); /* trailing NUL dropped */
    const uint8_t old[] = {0xfe};
    assert_int_equal(cdc__auth_switch_parse(old, 1, &plugin, &data, &e), CDC_ERR_AUTH_PLUGIN);
    const uint8_t unterminated[] = {0xfe, 'a', 'b'};
    assert_int_equal(cdc__auth_switch_parse(unterminated, 3, &plugin, &data, &e), CDC_ERR_PROTOCOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_mariadb), cmocka_unit_test(test_parse_mysql),
        cmocka_unit_test(test_truncations),   cmocka_unit_test(test_versions),
        cmocka_unit_test(test_ssl_request_and_response), cmocka_unit_test(test_auth_switch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
