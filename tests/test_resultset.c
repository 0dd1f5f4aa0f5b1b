/* Unit tests for resultset.c: replies captured from MariaDB 10.11 and
 * MySQL 9.7 (CLIENT_DEPRECATE_EOF), a hand-assembled pre-DEPRECATE_EOF
 * reply, and malformed packets: truncated lenenc, wrong value counts,
 * early EOF, error packets with and without SQLSTATE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "handshake.h"
#include "packet.h"
#include "resultset.h"

/* Packet streams (headers included) of query replies captured from the
 * test servers with cdc__conn_read_packet. */
/* MariaDB: SELECT 1 AS a, NULL AS b, 'xyz' AS c; SELECT @@version_comment */
static const char *const mariadb_reply =
    "010000010317000002036465660000000161000c3f000100000003810000000017000003036465660000000162000c3f00000000"
    "0006800000000017000004036465660000000163000c2d000c000000fd0100270000070000050131fb0378797a07000006fe0000"
    "0a0000000100000701270000080364656600000011404076657273696f6e5f636f6d6d656e74000c2d0024000000fd0000270000"
    "0a0000090944656269616e2031320700000afe000002000000";
/* MySQL: SELECT 1 AS a, NULL AS b, 'xyz' AS c, NOW(6) */
static const char *const mysql_reply =
    "010000010417000002036465660000000161000c3f000200000008810000000017000003036465660000000162000c3f00000000"
    "0006800000000017000004036465660000000163000c2d000c000000fd01001f00001c00000503646566000000066e6f77283629"
    "000c3f001a0000000c8100060000220000060131fb0378797a1a323032362d31312d32342032323a33363a35392e373335373934"
    "07000007fe000002000000";
/* MySQL: SELECT * FROM no_such_db.t */
static const char *const mysql_error = "26000001ff1904233432303030556e6b6e6f776e20646174616261736520276e6f5f737563685f646227";

/* Splits a hex packet stream into payloads; returns their count. */
static size_t payloads(const char *hex, uint8_t *buf, cdc_bytes *out, size_t max)
{
    size_t n = strlen(hex) / 2, off = 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        buf[i] = (uint8_t)v;
    }
    while (off < n) {
        assert_true(k < max);
        uint32_t len = cdc__le24(buf + off);
        out[k++] = (cdc_bytes){buf + off + 4, len};
        off += 4 + len;
    }
    assert_int_equal(off, n);
    return k;
}

static void assert_val(cdc_bytes v, const char *want)
{
    if (!want) {
        assert_null(v.ptr);
        return;
    }
    assert_non_null(v.ptr);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.ptr, want, v.len);
}

static void test_mariadb_two_results(void **state)
{
    (void)state;
    uint8_t buf[512];
    cdc_bytes p[16];
    size_t n = payloads(mariadb_reply, buf, p, 16);
    assert_int_equal(n, 10);
    cdc__rs rs;
    cdc__rs_init(&rs, NULL, CDC__CAPS_WANTED);
    cdc__err e;
    const int want[] = {CDC_RS_NEED_MORE, CDC_RS_NEED_MORE, CDC_RS_NEED_MORE, CDC_RS_COLUMNS, CDC_RS_ROW, CDC_RS_END,
                        CDC_RS_NEED_MORE, CDC_RS_COLUMNS, CDC_RS_ROW, CDC_RS_END};
    for (size_t i = 0; i < n; i++) {
        int ev = cdc__rs_feed(&rs, p[i].ptr, p[i].len, &e);
        assert_int_equal(ev, want[i]);
        if (i == 3) {
            assert_int_equal(rs.ncols, 3);
            assert_val(rs.cols[0].name, "a");
            assert_val(rs.cols[2].name, "c");
            assert_int_equal(rs.cols[0].type, 3); /* LONG on MariaDB (MySQL says LONGLONG) */
            assert_int_equal(rs.cols[1].type, 6); /* NULL */
            assert_int_equal(rs.cols[2].type, 253);
        }
        if (i == 4) {
            assert_val(rs.vals[0], "1");
            assert_val(rs.vals[1], NULL);
            assert_val(rs.vals[2], "xyz");
        }
        if (i == 5) assert_true(rs.more);
        if (i == 7) assert_val(rs.cols[0].name, "@@version_comment");
        if (i == 8) assert_val(rs.vals[0], "Debian 12");
        if (i == 9) assert_false(rs.more);
    }
    cdc__rs_free(&rs);
}

static void test_mysql_reply_and_error(void **state)
{
    (void)state;
    uint8_t buf[512];
    cdc_bytes p[16];
    size_t n = payloads(mysql_reply, buf, p, 16);
    cdc__rs rs;
    cdc__rs_init(&rs, NULL, CDC__CAPS_WANTED);
    cdc__err e;
    int ev = 0;
    size_t rows = 0;
    for (size_t i = 0; i < n; i++) {
        ev = cdc__rs_feed(&rs, p[i].ptr, p[i].len, &e);
        assert_true(ev >= 0);
        if (ev == CDC_RS_ROW) {
            rows++;
            assert_val(rs.vals[1], NULL);
            assert_int_equal(rs.vals[3].len, 26); /* NOW(6) */
            assert_int_equal(rs.cols[3].decimals, 6);
        }
    }
    assert_int_equal(ev, CDC_RS_END);
    assert_int_equal(rows, 1);
    assert_false(rs.more);
    /* an error reply */
    n = payloads(mysql_error, buf, p, 16);
    cdc__err_clear(&e);
    assert_int_equal(cdc__rs_feed(&rs, p[0].ptr, p[0].len, &e), CDC_ERR_SERVER);
    assert_int_equal(e.server_errno, 1049);
    assert_string_equal(e.sqlstate, "42000");
    assert_string_equal(e.msg, "Unknown database 'no_such_db' (server error 1049 42000)");
    cdc__rs_free(&rs);
}

/* Builds one payload from a byte list. */
#define PKT(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

static const uint8_t coldef_x[] = {3, 'd', 'e', 'f', 0, 0, 0, 1, 'x', 0, 0x0c, 0x21, 0, 10, 0, 0, 0, 253, 0, 0, 0, 0, 0};

static void test_old_eof_reply(void **state)
{
    (void)state;
    /* without DEPRECATE_EOF: count, coldef, EOF, row, row, EOF */
    uint32_t caps = CDC__CAPS_WANTED & ~(uint32_t)CDC_CAP_DEPRECATE_EOF;
    cdc__rs rs;
    cdc__rs_init(&rs, NULL, caps);
    cdc__err e;
    assert_int_equal(cdc__rs_feed(&rs, PKT(1), &e), CDC_RS_NEED_MORE);
    assert_int_equal(cdc__rs_feed(&rs, coldef_x, sizeof coldef_x, &e), CDC_RS_NEED_MORE);
    assert_int_equal(cdc__rs_feed(&rs, PKT(0xfe, 0, 0, 2, 0), &e), CDC_RS_COLUMNS);
    assert_val(rs.cols[0].name, "x");
    assert_int_equal(rs.cols[0].length, 10);
    assert_int_equal(cdc__rs_feed(&rs, PKT(0), &e), CDC_RS_ROW); /* empty string, not NULL */
    assert_val(rs.vals[0], "");
    assert_int_equal(cdc__rs_feed(&rs, PKT(0xfb), &e), CDC_RS_ROW);
    assert_val(rs.vals[0], NULL);
    assert_int_equal(cdc__rs_feed(&rs, PKT(0xfe, 1, 0, 0x22, 0), &e), CDC_RS_END);
    assert_int_equal(rs.ok.warnings, 1);
    assert_int_equal(rs.ok.status, 0x22);
    assert_false(rs.more);
    /* an OK reply with lenenc counts: 300 rows affected, insert id 70000 */
    assert_int_equal(cdc__rs_feed(&rs, PKT(0, 0xfc, 0x2c, 0x01, 0xfd, 0x70, 0x11, 0x01, 2, 0, 0, 0), &e), CDC_RS_END);
    assert_int_equal(rs.ok.affected_rows, 300);
    assert_int_equal(rs.ok.last_insert_id, 70000);
    assert_int_equal(rs.ok.status, 2);
    /* an early EOF where a column definition is due */
    assert_int_equal(cdc__rs_feed(&rs, PKT(2), &e), CDC_RS_NEED_MORE);
    assert_int_equal(cdc__rs_feed(&rs, coldef_x, sizeof coldef_x, &e), CDC_RS_NEED_MORE);
    assert_int_equal(cdc__rs_feed(&rs, PKT(0xfe, 0, 0, 2, 0), &e), CDC_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "after 1 of 2 columns"));
    cdc__rs_free(&rs);
}

static void test_malformed(void **state)
{
    (void)state;
    cdc__err e;
    cdc_bytes v[2];
    /* a lenenc length claiming more than is there */
    assert_int_equal(cdc__row_parse(PKT(5, 'a', 'b'), 1, v, &e), CDC_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "column 1 of 1"));
    /* a 3-byte lenenc cut short */
    assert_int_equal(cdc__row_parse(PKT(0xfd, 1), 1, v, &e), CDC_ERR_PROTOCOL);
    /* more values than columns */
    assert_int_equal(cdc__row_parse(PKT(1, 'a', 1, 'b'), 1, v, &e), CDC_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "after its 1 columns"));
    /* fewer values than columns */
    assert_int_equal(cdc__row_parse(PKT(1, 'a'), 2, v, &e), CDC_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "column 2 of 2"));
    /* 0xff is never a length */
    assert_int_equal(cdc__row_parse(PKT(0xff), 1, v, &e), CDC_ERR_PROTOCOL);
    /* column definition cut in its fixed part */
    cdc__coldef c;
    assert_int_equal(cdc__coldef_parse(coldef_x, sizeof coldef_x - 3, &c, &e), CDC_ERR_PROTOCOL);
    assert_int_equal(cdc__coldef_parse(coldef_x, sizeof coldef_x, &c, &e), CDC_OK);
    /* result-level: bad column count, LOCAL INFILE, empty packet */
    cdc__rs rs;
    cdc__rs_init(&rs, NULL, CDC__CAPS_WANTED);
    assert_int_equal(cdc__rs_feed(&rs, PKT(0xfc, 1), &e), CDC_ERR_PROTOCOL);
    assert_int_equal(cdc__rs_feed(&rs, PKT(0xfb, 'f'), &e), CDC_ERR_UNSUPPORTED);
    assert_int_equal(cdc__rs_feed(&rs, NULL, 0, &e), CDC_ERR_PROTOCOL);
    assert_int_equal(cdc__rs_feed(&rs, PKT(0xfd, 0x00, 0x00, 0x01), &e), CDC_ERR_TOO_LARGE); /* 65536 columns */
    /* a row with the wrong number of values mid-result */
    assert_int_equal(cdc__rs_feed(&rs, PKT(1), &e), CDC_RS_NEED_MORE);
    assert_int_equal(cdc__rs_feed(&rs, coldef_x, sizeof coldef_x, &e), CDC_RS_COLUMNS);
    assert_int_equal(cdc__rs_feed(&rs, PKT(1, 'a', 0xfb), &e), CDC_ERR_PROTOCOL);
    /* an error in the middle of rows ends the reply with the server's code */
    assert_int_equal(cdc__rs_feed(&rs, PKT(0xff, 0x15, 0x04, '#', '2', '8', '0', '0', '0', 'n', 'o'), &e), CDC_ERR_AUTH);
    assert_int_equal(e.server_errno, 1045);
    assert_string_equal(e.sqlstate, "28000");
    assert_string_equal(e.msg, "no (server error 1045 28000)");
    cdc__rs_free(&rs);
    /* pre-handshake error packets carry no SQLSTATE */
    assert_int_equal(cdc__err_packet(PKT(0xff, 0x10, 0x04, 'T', 'o', 'o'), &e), CDC_ERR_CONNECT);
    assert_int_equal(e.server_errno, 1040);
    assert_string_equal(e.sqlstate, "");
    assert_string_equal(e.msg, "Too (server error 1040)");
    assert_int_equal(cdc__err_packet(PKT(0xff, 0x10), &e), CDC_ERR_PROTOCOL);
}

static void test_errno_map(void **state)
{
    (void)state;
    assert_int_equal(cdc__server_errno_map(1045), CDC_ERR_AUTH);
    assert_int_equal(cdc__server_errno_map(1227), CDC_ERR_PRIVILEGE);
    assert_int_equal(cdc__server_errno_map(1927), CDC_ERR_CLOSED);
    assert_int_equal(cdc__server_errno_map(1153), CDC_ERR_TOO_LARGE);
    assert_int_equal(cdc__server_errno_map(1064), CDC_ERR_SERVER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mariadb_two_results), cmocka_unit_test(test_mysql_reply_and_error),
        cmocka_unit_test(test_old_eof_reply),       cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_errno_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
