/*
 * test_event.c: event.c on its own: the common header, the format
 * description, CRC32 checks and the small bodies, over real binlogs, with
 * the facts upstream test suites assert (the fixtures' EXPECTED.md notes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cdc/binlog.h>

#include "event.h"
#include "util.h"

#include "binlogtest.h"
#include "testalloc.h"

/* rust_mysql_common/EXPECTED.md, binlog_transaction.000001 (MySQL
 * 5.0.86-debug): event 0 is the FDE (size 94, end 98); then headers. */
static void test_headers_and_fde(void **state)
{
    (void)state;
    size_t n;
    uint8_t *f = read_file(fixture("mysql-server-8.0.39/std_data/binlog_transaction.000001"), &n);
    assert_non_null(f);
    cdc__evhdr h;
    cdc__event_header(f + 4, &h);
    assert_int_equal(h.type, CDC_EV_FORMAT_DESCRIPTION);
    assert_int_equal(h.timestamp, 1253783036);
    assert_int_equal(h.size, 94);
    assert_int_equal(h.log_pos, 98);
    cdc__fde fde;
    cdc__err e;
    assert_int_equal(cdc__fde_parse(&fde, f + 4, h.size, &e), CDC_OK);
    assert_int_equal(fde.binlog_version, 4);
    assert_string_equal(fde.server_version, "5.0.86-debug-log");
    assert_int_equal(fde.header_len, 19);
    assert_int_equal(fde.checksum_alg, CDC__CHECKSUM_OFF);
    assert_false(fde.mariadb);
    static const struct { uint32_t ts; int type; uint32_t size, end; uint16_t flags; } want[] = {
        {1253783037, CDC_EV_QUERY, 100, 198, 0}, {1253783037, CDC_EV_QUERY, 101, 299, 0},
        {1253783037, CDC_EV_QUERY, 69, 368, 8},  {1253783037, CDC_EV_QUERY, 92, 460, 0},
        {1253783037, CDC_EV_QUERY, 93, 553, 0},  {1253783037, CDC_EV_XID, 27, 580, 0},
    };
    size_t off = 4 + h.size;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        cdc__event_header(f + off, &h);
        assert_int_equal(h.timestamp, want[i].ts);
        assert_int_equal(h.type, want[i].type);
        assert_int_equal(h.server_id, 1);
        assert_int_equal(h.size, want[i].size);
        assert_int_equal(h.log_pos, want[i].end);
        assert_int_equal(h.flags, want[i].flags);
        assert_int_equal(off + h.size, h.log_pos);
        if (h.type == CDC_EV_QUERY) {
            cdc__query_ev q;
            assert_int_equal(cdc__query_parse(&fde, h.type, f + off + 19, h.size - 19, &q, &e), CDC_OK);
            assert_true(q.sql.len > 0);
        }
        off += h.size;
    }
    assert_string_equal(cdc__event_type_name(CDC_EV_XID), "XID");
    assert_null(cdc__event_type_name(200));
    free(f);
}

/* CRC32 trailers: MariaDB 10.5 writes them; one flipped bit fails. The
 * FDE's own checksum is computed with the in-use flag clear. */
static void test_checksums(void **state)
{
    (void)state;
    size_t n;
    uint8_t *f = read_file(fixture("rust_mysql_common/mariadb-bin.000001"), &n);
    assert_non_null(f);
    cdc__evhdr h;
    cdc__event_header(f + 4, &h);
    cdc__fde fde;
    cdc__err e;
    assert_int_equal(cdc__fde_parse(&fde, f + 4, h.size, &e), CDC_OK);
    assert_true(fde.mariadb);
    assert_int_equal(fde.checksum_alg, CDC__CHECKSUM_CRC32);
    size_t off = 4, events = 0;
    while (off + 19 <= n) {
        cdc__event_header(f + off, &h);
        assert_true(cdc__event_crc_ok(f + off, h.size));
        off += h.size;
        events++;
    }
    assert_int_equal(off, n);
    assert_int_equal(events, 13);
    f[4 + 19 + 5] ^= 1; /* inside the FDE body */
    cdc__event_header(f + 4, &h);
    assert_false(cdc__event_crc_ok(f + 4, h.size));
    free(f);
}

/* ROTATE: position and next file name; a truncated body is refused. */
static void test_rotate(void **state)
{
    (void)state;
    uint8_t body[8 + 16];
    cdc__put_le64(body, 4);
    memcpy(body + 8, "binlog.000042", 13);
    cdc__fde fde;
    cdc__fde_init_v4(&fde);
    uint64_t pos;
    cdc_bytes name;
    cdc__err e;
    assert_int_equal(cdc__rotate_parse(&fde, body, 8 + 13, &pos, &name, &e), CDC_OK);
    assert_int_equal(pos, 4);
    assert_int_equal(name.len, 13);
    assert_memory_equal(name.ptr, "binlog.000042", 13);
    assert_int_not_equal(cdc__rotate_parse(&fde, body, 5, &pos, &name, &e), CDC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_and_fde),
        cmocka_unit_test(test_checksums),
        cmocka_unit_test(test_rotate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
