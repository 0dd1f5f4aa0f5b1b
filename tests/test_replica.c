/* Unit tests for replica.c: the COM_REGISTER_SLAVE, COM_BINLOG_DUMP and
 * COM_BINLOG_DUMP_GTID payloads byte for byte against the layouts of the
 * MySQL client/server protocol documentation, the GTID set encoding read
 * back by the decoder's PREVIOUS_GTIDS reader, dump error mapping with the
 * servers' real messages, and the MariaDB connect state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "replica.h"

#include "testalloc.h"

static void expect_bytes(const cdc__buf *b, const uint8_t *want, size_t n)
{
    assert_int_equal(b->len, n);
    for (size_t i = 0; i < n; i++)
        if (b->data[i] != want[i]) fail_msg("byte %zu: 0x%02x, expected 0x%02x", i, b->data[i], want[i]);
}

static void test_register(void **state)
{
    (void)state;
    cdc__buf b;
    cdc__buf_init(&b, &test_alloc);
    assert_int_equal(cdc__replica_build_register(&b, 0x01020304, "h", "ab", "", 3306), CDC_OK);
    static const uint8_t want[] = {
        0x04, 0x03, 0x02, 0x01,   /* server_id */
        1, 'h',                   /* hostname */
        2, 'a', 'b',              /* user */
        0,                        /* password */
        0xea, 0x0c,               /* port 3306 */
        0, 0, 0, 0,               /* replication rank */
        0, 0, 0, 0,               /* master id */
    };
    expect_bytes(&b, want, sizeof want);
    cdc__buf_free(&b);
}

static void test_dump(void **state)
{
    (void)state;
    cdc__buf b;
    cdc__buf_init(&b, &test_alloc);
    assert_int_equal(cdc__replica_build_dump(&b, 4001, "binlog.000042", 1337, 0), CDC_OK);
    uint8_t want[10 + 13] = {0x39, 0x05, 0, 0, /* pos 1337 */ 0, 0, /* flags */ 0xa1, 0x0f, 0, 0 /* 4001 */};
    memcpy(want + 10, "binlog.000042", 13);
    expect_bytes(&b, want, sizeof want);
    cdc__buf_free(&b);
}

#define UUID_A "3e11fa47-71ca-11e1-9e33-c80aa9429562"

static void test_dump_gtid_untagged(void **state)
{
    (void)state;
    cdc__gtid_set s;
    cdc__gtid_set_init(&s, &test_alloc);
    cdc__err e = {0};
    const char *text = UUID_A ":1-5:7";
    assert_int_equal(cdc__gtid_set_parse(&s, text, strlen(text), &e), CDC_OK);
    cdc__buf b;
    cdc__buf_init(&b, &test_alloc);
    assert_int_equal(cdc__replica_build_dump_gtid(&b, 9, "", 4, &s, CDC__DUMP_THROUGH_GTID), CDC_OK);
    uint8_t want[2 + 4 + 4 + 8 + 4 + 8 + 16 + 8 + 32] = {
        0x04, 0x00,             /* flags: BINLOG_THROUGH_GTID */
        9, 0, 0, 0,             /* server_id */
        0, 0, 0, 0,             /* file name length, no name */
        4, 0, 0, 0, 0, 0, 0, 0, /* position */
        64, 0, 0, 0,            /* size of the encoded set: 8 + 16 + 8 + 2 * 16 */
        1, 0, 0, 0, 0, 0, 0, 0, /* one SID */
        0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62,
        2, 0, 0, 0, 0, 0, 0, 0, /* two intervals, [start, end) */
        1, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0,
        7, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0,
    };
    expect_bytes(&b, want, sizeof want);
    cdc__buf_free(&b);
    cdc__gtid_set_free(&s);
}

static void test_dump_gtid_tagged_reads_back(void **state)
{
    (void)state;
    cdc__gtid_set s, back;
    cdc__gtid_set_init(&s, &test_alloc);
    cdc__gtid_set_init(&back, &test_alloc);
    cdc__err e = {0};
    const char *text = UUID_A ":1-3:ab:1-2:zz_9:5";
    assert_int_equal(cdc__gtid_set_parse(&s, text, strlen(text), &e), CDC_OK);
    cdc__buf b;
    cdc__buf_init(&b, &test_alloc);
    assert_int_equal(cdc__replica_build_dump_gtid(&b, 9, "", 4, &s, CDC__DUMP_THROUGH_GTID), CDC_OK);
    /* the tagged format: top byte 1, SID count, low byte 1 */
    const uint8_t *set = b.data + 22;
    static const uint8_t head[] = {1, 3, 0, 0, 0, 0, 0, 1};
    assert_memory_equal(set, head, 8);
    /* untagged SID first: its tag is a zero length (var-length 0) */
    assert_int_equal(set[8 + 16], 0);
    assert_int_equal(cdc__le32(b.data + 18), b.len - 22);
    /* what the server reads is what PREVIOUS_GTIDS carries: read it back */
    assert_int_equal(cdc__gtid_set_parse_previous(&back, set, b.len - 22, &e), CDC_OK);
    cdc__buf t;
    cdc__buf_init(&t, &test_alloc);
    assert_int_equal(cdc__gtid_set_format(&back, &t), CDC_OK);
    assert_int_equal(cdc__buf_terminate(&t), CDC_OK);
    assert_string_equal((const char *)t.data, text);
    cdc__buf_free(&t);
    cdc__buf_free(&b);
    cdc__gtid_set_free(&s);
    cdc__gtid_set_free(&back);
}

static int map_error(unsigned code, const char *msg, cdc__err *e)
{
    uint8_t pkt[600];
    size_t n = 0;
    pkt[n++] = 0xff;
    pkt[n++] = (uint8_t)code;
    pkt[n++] = (uint8_t)(code >> 8);
    memcpy(pkt + n, "#HY000", 6);
    n += 6;
    memcpy(pkt + n, msg, strlen(msg));
    n += strlen(msg);
    return cdc__replica_dump_error(pkt, n, e);
}

static void test_dump_errors(void **state)
{
    (void)state;
    cdc__err e = {0};
    /* MySQL 9.7, start file purged */
    assert_int_equal(map_error(1236, "Could not find first log file name in binary log index file", &e), CDC_ERR_PURGED);
    assert_int_equal(e.server_errno, 1236);
    assert_string_equal(e.sqlstate, "HY000");
    assert_non_null(strstr(e.msg, "Could not find first log file name"));
    /* MySQL, GTIDs purged */
    assert_int_equal(map_error(1236, "Cannot replicate because the source purged required binary logs. Replicate "
                                     "the missing transactions from elsewhere, or provision a new replica from backup.",
                               &e), CDC_ERR_PURGED);
    /* MariaDB, GTID state too old */
    assert_int_equal(map_error(1236, "Could not find GTID state requested by slave in any binlog files. Probably the "
                                     "slave state is too old and required binlog files have been purged.", &e),
                     CDC_ERR_PURGED);
    /* a second replica with our server_id took over */
    assert_int_equal(map_error(1236, "A replica with the same server_uuid/server_id as this replica has connected to "
                                     "the source", &e), CDC_ERR_CONFIG);
    /* other 1236: the server's error, unchanged */
    assert_int_equal(map_error(1236, "Client requested master to start replication from position > file size", &e),
                     CDC_ERR_SERVER);
    /* killed: a dropped connection, retriable */
    assert_int_equal(map_error(1927, "Connection was killed", &e), CDC_ERR_CLOSED);
    assert_true(cdc_is_retriable(e.code));
    assert_int_equal(map_error(1227, "Access denied; you need (at least one of) the REPLICATION SLAVE privilege(s)", &e),
                     CDC_ERR_PRIVILEGE);
}

static void test_maria_state_and_quote(void **state)
{
    (void)state;
    cdc__gtid_set s;
    cdc__gtid_set_init(&s, &test_alloc);
    cdc__err e = {0};
    const char *text = "0-1-5,0-2-9,1-1-3";
    assert_int_equal(cdc__gtid_set_parse(&s, text, strlen(text), &e), CDC_OK);
    cdc__buf b;
    cdc__buf_init(&b, &test_alloc);
    assert_int_equal(cdc__replica_maria_state(&s, &b), CDC_OK);
    assert_int_equal(cdc__buf_terminate(&b), CDC_OK);
    assert_string_equal((const char *)b.data, "0-2-9,1-1-3"); /* one per domain: the latest */
    cdc__buf_reset(&b);
    assert_int_equal(cdc__sql_quote(&b, "a'b\\c", 5), CDC_OK);
    assert_int_equal(cdc__buf_terminate(&b), CDC_OK);
    assert_string_equal((const char *)b.data, "'a\\'b\\\\c'");
    cdc__buf_free(&b);
    cdc__gtid_set_free(&s);
}

/* What each packet of the dump is: an event, the server's error, the end
 * of the dump, or a protocol error naming the packet. */
static void test_dump_packets(void **state)
{
    (void)state;
    cdc__err e = {0};
    cdc_bytes ev = {0};
    const uint8_t event[] = {0x00, 1, 2, 3};
    assert_int_equal(cdc__replica_dump_packet(event, sizeof event, false, &ev, &e), CDC_OK);
    assert_ptr_equal(ev.ptr, event + 1);
    assert_int_equal(ev.len, 3);
    /* the first piece of an event larger than a piece */
    assert_int_equal(cdc__replica_dump_packet(event, sizeof event, true, &ev, &e), CDC_OK);
    /* an ERR packet: the server's error, mapped as cdc__replica_dump_error does */
    uint8_t err[128] = {0xff, 0xd4, 0x04, '#', 'H', 'Y', '0', '0', '0'}; /* 1236 */
    const char *msg = "Could not find first log file name in binary log index file";
    memcpy(err + 9, msg, strlen(msg));
    assert_int_equal(cdc__replica_dump_packet(err, 9 + strlen(msg), false, &ev, &e), CDC_ERR_PURGED);
    assert_int_equal(e.server_errno, 1236);
    /* ER_QUERY_INTERRUPTED (1317): the dump thread was killed, a dropped connection */
    uint8_t killed[] = {0xff, 0x25, 0x05, '#', '7', '0', '1', '0', '0', 'x'};
    assert_int_equal(cdc__replica_dump_packet(killed, sizeof killed, false, &ev, &e), CDC_ERR_CLOSED);
    assert_int_equal(e.code, CDC_ERR_CLOSED);
    assert_true(cdc_is_retriable(e.code));
    /* EOF: the server ended the dump */
    const uint8_t eof[] = {0xfe, 0, 0, 2, 0};
    assert_int_equal(cdc__replica_dump_packet(eof, sizeof eof, false, &ev, &e), CDC_ERR_CLOSED);
    assert_non_null(strstr(e.msg, "ended the binlog dump"));
    /* 0xfe of 9 bytes or more is no EOF, and nothing else is an event */
    const uint8_t long_fe[9] = {0xfe};
    assert_int_equal(cdc__replica_dump_packet(long_fe, sizeof long_fe, false, &ev, &e), CDC_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "0xfe of 9 bytes"));
    const uint8_t odd[] = {0x42, 1};
    assert_int_equal(cdc__replica_dump_packet(odd, sizeof odd, false, &ev, &e), CDC_ERR_PROTOCOL);
    assert_int_equal(cdc__replica_dump_packet(odd, 0, false, &ev, &e), CDC_ERR_PROTOCOL);
    /* a packet longer than a piece that is not an event */
    assert_int_equal(cdc__replica_dump_packet(err, 9, true, &ev, &e), CDC_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "a 9-byte packet of type 0xff"));
}

/* A start past the end of the server's binlog, or with the other
 * flavour's GTIDs, is no position of this server. */
static void test_start_point(void **state)
{
    (void)state;
    cdc__server_info maria = {.mariadb = true}, mysql = {.mariadb = false};
    cdc_position start, now;
    cdc__position_init(&start, &test_alloc);
    cdc__position_init(&now, &test_alloc);
    cdc__err e = {0};
    assert_int_equal(cdc__position_set_file(&now, "binlog.000007", 13), CDC_OK);
    now.offset = 1000;
    static const struct { const char *file; uint64_t offset; int rc; } t[] = {
        {"binlog.000007", 1000, CDC_OK}, {"binlog.000007", 4, CDC_OK}, {"binlog.000002", 99999, CDC_OK},
        {"binlog.000007", 1001, CDC_ERR_CONFIG}, {"binlog.000010", 4, CDC_ERR_CONFIG},
        {"binlog.999999", 4, CDC_ERR_CONFIG},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        assert_int_equal(cdc__position_set_file(&start, t[i].file, strlen(t[i].file)), CDC_OK);
        start.offset = t[i].offset;
        cdc__err_clear(&e);
        assert_int_equal(cdc__replica_check_start_point(&mysql, &start, true, &now, &e), t[i].rc);
        if (t[i].rc) {
            assert_non_null(strstr(e.msg, "lies past the end of the server's binlog"));
            assert_non_null(strstr(e.msg, t[i].file));
        }
        /* without "now" (no stop.at=now) or a dumpable file, nothing to compare */
        assert_int_equal(cdc__replica_check_start_point(&mysql, &start, true, NULL, &e), CDC_OK);
        assert_int_equal(cdc__replica_check_start_point(&mysql, &start, false, &now, &e), CDC_OK);
    }
    cdc__gtid_set g;
    cdc__gtid_set_init(&g, &test_alloc);
    const char *uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5";
    assert_int_equal(cdc__gtid_set_parse(&g, uuid, strlen(uuid), &e), CDC_OK);
    assert_int_equal(cdc__position_set_gtids(&start, &g), CDC_OK);
    start.gtid_known = true;
    assert_int_equal(cdc__replica_check_start_point(&mysql, &start, false, NULL, &e), CDC_OK);
    assert_int_equal(cdc__replica_check_start_point(&maria, &start, false, NULL, &e), CDC_ERR_CONFIG);
    assert_non_null(strstr(e.msg, "MySQL GTID set cannot position a MariaDB server"));
    cdc__gtid_set_free(&g);
    cdc__gtid_set_init(&g, &test_alloc);
    assert_int_equal(cdc__gtid_set_parse(&g, "0-1-5", 5, &e), CDC_OK);
    assert_int_equal(cdc__position_set_gtids(&start, &g), CDC_OK);
    assert_int_equal(cdc__replica_check_start_point(&maria, &start, false, NULL, &e), CDC_OK);
    assert_int_equal(cdc__replica_check_start_point(&mysql, &start, false, NULL, &e), CDC_ERR_CONFIG);
    assert_non_null(strstr(e.msg, "MariaDB GTID position cannot position a MySQL server"));
    cdc__gtid_set_free(&g);
    cdc__position_clear(&start);
    cdc__position_clear(&now);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register),           cmocka_unit_test(test_dump),
        cmocka_unit_test(test_dump_gtid_untagged), cmocka_unit_test(test_dump_gtid_tagged_reads_back),
        cmocka_unit_test(test_dump_errors),        cmocka_unit_test(test_maria_state_and_quote),
        cmocka_unit_test(test_dump_packets),       cmocka_unit_test(test_start_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
