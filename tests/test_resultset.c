/* Unit tests for resultset.c: replies captured from MariaDB 10.11 and
 * MySQL 9.7 (CLIENT_DEPRECATE_EOF), a hand-assembled pre-DEPRECATE_EOF
 * reply, and malformed packets: truncated lenenc, wrong value counts,
 * early EOF, error packets with and without SQLSTATE; binary-protocol
 * rows (prepared statements) built from the protocol documentation,
 * well-formed and malformed, and the COM_STMT_PREPARE reply. */
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

/* ---- the binary protocol -------------------------------------------------
 * Rows assembled from the protocol documentation (Binary Protocol
 * Resultset Row): 0x00, a NULL bitmap of (ncols + 7 + 2) / 8 bytes whose
 * bits start at bit 2, then the non-NULL values. */

/* BIGINT 7, NULL INT, VARCHAR 'ab', DATETIME(3) 2020-01-02 03:04:05.006,
 * TIME -1 day 02:03:04, DATE zero (length 0), TINYINT -1 */
static const uint8_t binrow[] = {
    0x00, 0x08, 0x00,                                     /* column 1 (bit 3) is NULL */
    0x07, 0, 0, 0, 0, 0, 0, 0,                            /* BIGINT */
    0x02, 'a', 'b',                                       /* VARCHAR */
    11, 0xe4, 0x07, 1, 2, 3, 4, 5, 0x70, 0x17, 0, 0,      /* DATETIME, 6000 us */
    8, 1, 1, 0, 0, 0, 2, 3, 4,                            /* TIME */
    0,                                                    /* DATE 0000-00-00 */
    0xff,                                                 /* TINYINT */
};
static const uint8_t bincls[] = {CDC__BIN_8, CDC__BIN_4, CDC__BIN_LENENC, CDC__BIN_DATETIME, CDC__BIN_TIME,
                                 CDC__BIN_DATETIME, CDC__BIN_1};

static void test_binrow_split(void **state)
{
    (void)state;
    cdc_bytes v[7];
    cdc__err e;
    assert_int_equal(cdc__binrow_split(binrow, sizeof binrow, 7, bincls, v, &e), CDC_OK);
    assert_int_equal(v[0].len, 8);
    assert_int_equal(v[0].ptr[0], 7);
    assert_null(v[1].ptr);
    assert_int_equal(v[2].len, 2);
    assert_memory_equal(v[2].ptr, "ab", 2);
    assert_int_equal(v[3].len, 11);
    assert_int_equal(v[3].ptr[0], 0xe4);
    assert_int_equal(v[4].len, 8);
    assert_int_equal(v[4].ptr[0], 1);
    assert_non_null(v[5].ptr); /* zero date: present, no bytes */
    assert_int_equal(v[5].len, 0);
    assert_int_equal(v[6].len, 1);
    assert_int_equal(v[6].ptr[0], 0xff);
    /* the same classes from the wire types */
    assert_int_equal(cdc__bin_class(8), CDC__BIN_8);
    assert_int_equal(cdc__bin_class(3), CDC__BIN_4);
    assert_int_equal(cdc__bin_class(9), CDC__BIN_4);
    assert_int_equal(cdc__bin_class(15), CDC__BIN_LENENC);
    assert_int_equal(cdc__bin_class(246), CDC__BIN_LENENC);
    assert_int_equal(cdc__bin_class(12), CDC__BIN_DATETIME);
    assert_int_equal(cdc__bin_class(11), CDC__BIN_TIME);
    assert_int_equal(cdc__bin_class(13), CDC__BIN_2);
    assert_int_equal(cdc__bin_class(5), CDC__BIN_8);
}

/* Every truncation, a byte too many, a bad header, a bad temporal length
 * and a text-protocol NULL marker: each a clear error, never a read past
 * the packet (ASan watches). */
static void test_binrow_malformed(void **state)
{
    (void)state;
    cdc_bytes v[7];
    cdc__err e;
    for (size_t n = 0; n < sizeof binrow; n++) {
        /* a copy of exactly n bytes, so ASan sees any read past it */
        uint8_t *p = malloc(n ? n : 1);
        memcpy(p, binrow, n);
        cdc__err_clear(&e);
        int rc = cdc__binrow_split(p, n, 7, bincls, v, &e);
        if (rc != CDC_ERR_PROTOCOL) fail_msg("%zu of %zu bytes: rc %d", n, sizeof binrow, rc);
        if (!strstr(e.msg, "binary row")) fail_msg("%zu bytes: '%s'", n, e.msg);
        free(p);
    }
    uint8_t longer[sizeof binrow + 1];
    memcpy(longer, binrow, sizeof binrow);
    longer[sizeof binrow] = 0;
    assert_int_equal(cdc__binrow_split(longer, sizeof longer, 7, bincls, v, &e), CDC_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "after its 7 columns"));
    uint8_t bad[sizeof binrow];
    memcpy(bad, binrow, sizeof binrow);
    bad[0] = 0xfe;
    assert_int_equal(cdc__binrow_split(bad, sizeof bad, 7, bincls, v, &e), CDC_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "0x00"));
    memcpy(bad, binrow, sizeof binrow);
    bad[14] = 5; /* DATETIME length 5 */
    assert_int_equal(cdc__binrow_split(bad, sizeof bad, 7, bincls, v, &e), CDC_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "column 4"));
    memcpy(bad, binrow, sizeof binrow);
    bad[26] = 7; /* TIME length 7 */
    assert_int_equal(cdc__binrow_split(bad, sizeof bad, 7, bincls, v, &e), CDC_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "TIME"));
    memcpy(bad, binrow, sizeof binrow);
    bad[11] = 0xfb; /* the VARCHAR's length byte as a text-protocol NULL */
    assert_int_equal(cdc__binrow_split(bad, sizeof bad, 7, bincls, v, &e), CDC_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "column 3"));
    /* a lenenc length past the packet */
    memcpy(bad, binrow, sizeof binrow);
    bad[11] = 0xfc;
    assert_int_equal(cdc__binrow_split(bad, sizeof bad, 7, bincls, v, &e), CDC_ERR_PROTOCOL);
    /* every byte flipped: an error or a split, never a crash */
    for (size_t i = 0; i < sizeof binrow; i++)
        for (unsigned x = 1; x < 256; x <<= 1) {
            memcpy(bad, binrow, sizeof binrow);
            bad[i] ^= (uint8_t)x;
            int rc = cdc__binrow_split(bad, sizeof bad, 7, bincls, v, &e);
            assert_true(rc == CDC_OK || rc == CDC_ERR_PROTOCOL);
        }
    /* every column NULL: the bitmap alone */
    const uint8_t nulls[] = {0x00, 0xfc, 0x01};
    assert_int_equal(cdc__binrow_split(nulls, sizeof nulls, 7, bincls, v, &e), CDC_OK);
    for (size_t i = 0; i < 7; i++) assert_null(v[i].ptr);
}

/* The COM_STMT_PREPARE OK packet; MySQL 9.7's reply to "SELECT 1, 2"
 * (statement 1, 2 columns, 0 parameters). */
static void test_prepare_ok(void **state)
{
    (void)state;
    const uint8_t ok[] = {0x00, 0x01, 0, 0, 0, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    cdc__stmt_info st;
    cdc__err e;
    assert_int_equal(cdc__stmt_prepare_ok_parse(ok, sizeof ok, &st, &e), CDC_OK);
    assert_int_equal(st.id, 1);
    assert_int_equal(st.ncols, 2);
    assert_int_equal(st.nparams, 0);
    for (size_t n = 0; n < sizeof ok; n++)
        assert_int_equal(cdc__stmt_prepare_ok_parse(ok, n, &st, &e), CDC_ERR_PROTOCOL);
    const uint8_t notok[] = {0xfe, 0x01, 0, 0, 0, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(cdc__stmt_prepare_ok_parse(notok, sizeof notok, &st, &e), CDC_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "COM_STMT_PREPARE"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mariadb_two_results), cmocka_unit_test(test_mysql_reply_and_error),
        cmocka_unit_test(test_old_eof_reply),       cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_errno_map),
        cmocka_unit_test(test_binrow_split),
        cmocka_unit_test(test_binrow_malformed),
        cmocka_unit_test(test_prepare_ok),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
