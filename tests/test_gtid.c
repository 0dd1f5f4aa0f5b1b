/*
 * test_gtid.c: GTIDs (gtid.c): text forms, sets, the set operations the
 * stream uses, GTID event bodies, and what the decoder hands on from the
 * GTID and PREVIOUS_GTIDS events of real binlogs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cdc/cdc.h>

#include "decoder.h"
#include "gtid.h"
#include "util.h"

#include "binlogtest.h"
#include "testalloc.h"

static int first_gtid(const cdc_event *e, void *ud)
{
    char *out = ud;
    if (cdc_event_type_of(e) == CDC_EV_WRITE_ROWS && !out[0]) snprintf(out, 128, "%s", cdc_event_gtid(e));
    return 0;
}

static void decode_file_gtid(const char *rel, char *gtid, const cdc_decoder **keep)
{
    size_t n;
    uint8_t *data = read_file(fixture(rel), &n);
    assert_non_null(data);
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    cdc_decoder_set_event_cb(d, first_gtid, gtid);
    assert_int_equal(cdc_decoder_feed(d, data, n), (ptrdiff_t)n);
    assert_int_equal(cdc_decoder_finish(d), CDC_OK);
    (void)keep;
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    cdc__gtid_set_format(cdc__decoder_previous_gtids(d), &b);
    cdc__buf_terminate(&b);
    snprintf(gtid + 128, 256, "%s", (const char *)b.data);
    cdc__buf_free(&b);
    cdc_decoder_free(d);
    free(data);
}

static void test_tagged_gtid(void **state)
{
    (void)state;
    char buf[128 + 256] = "";
    decode_file_gtid("rust_mysql_common/binlog_transaction_with_GTID_TAG.000001", buf, NULL);
    /* EXPECTED.md: tag "mytag", GNO 3; PREVIOUS_GTIDS [1,14) untagged, [1,3) mytag */
    assert_string_equal(buf, "55778904-0299-11f1-b1b8-4ef0c4956feb:mytag:3");
    assert_string_equal(buf + 128, "55778904-0299-11f1-b1b8-4ef0c4956feb:1-13:mytag:1-2");
}

static void test_gtid_set_text(void **state)
{
    (void)state;
    cdc__gtid_set s;
    cdc__gtid_set_init(&s, &test_alloc);
    cdc__err err;
    const char *in = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7:6, 3E11FA47-71CA-11E1-9E33-C80AA9429562:tag_b:3,0-1-5";
    assert_int_equal(cdc__gtid_set_parse(&s, in, strlen(in), &err), CDC_OK);
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    cdc__gtid_set_format(&s, &b);
    cdc__buf_terminate(&b);
    assert_string_equal((const char *)b.data,
                        "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-7:tag_b:3,0-1-5");
    cdc__gtid g = {.kind = CDC__GTID_MYSQL, .gno = 6};
    memcpy(g.uuid, s.sids[0].uuid, 16);
    assert_true(cdc__gtid_set_contains(&s, &g));
    g.gno = 8;
    assert_false(cdc__gtid_set_contains(&s, &g));
    assert_int_equal(cdc__gtid_set_parse(&s, "nope:1", 6, &err), CDC_ERR_INVALID);

    /* MariaDB GTID of a prepared XA transaction: the XID follows the flags */
    static const uint8_t mg[] = {7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 64, 1, 0, 0, 0, 3, 0, 'a', 'b', 'c'};
    cdc__maria_gtid_ev me;
    assert_int_equal(cdc__maria_gtid_ev_parse(mg, sizeof mg, 9, &me, &err), CDC_OK);
    char text[CDC__GTID_TEXT_MAX];
    cdc__gtid_format(&me.gtid, text, sizeof text);
    assert_string_equal(text, "1-9-7");
    assert_int_equal(me.xa_gtrid.len, 3);
    assert_memory_equal(me.xa_gtrid.ptr, "abc", 3);
    assert_int_equal(cdc__maria_gtid_ev_parse(mg, sizeof mg - 1, 9, &me, &err), CDC_ERR_CORRUPT);
    /* serialization-library integers: 1, 2 and 9 bytes */
    static const uint8_t vl[] = {0x0c, 0x25, 0x02, 0xff, 1, 2, 3, 4, 5, 6, 7, 8};
    cdc__reader r = cdc__rd(vl, sizeof vl);
    assert_int_equal(cdc__rd_varlen(&r), 6);
    assert_int_equal(cdc__rd_varlen(&r), 0x89);
    assert_int_equal(cdc__rd_varlen(&r), 0x0807060504030201ull);
    assert_false(r.bad);
    cdc__buf_free(&b);
    cdc__gtid_set_free(&s);
}

static void set_of(cdc__gtid_set *s, const char *text)
{
    cdc__err err;
    cdc__gtid_set_clear(s);
    assert_int_equal(cdc__gtid_set_parse(s, text, strlen(text), &err), CDC_OK);
}

static void test_subset(void **state)
{
    (void)state;
    cdc__gtid_set a, b;
    cdc__gtid_set_init(&a, &test_alloc);
    cdc__gtid_set_init(&b, &test_alloc);
    const char *u = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    char t1[256], t2[256];
    snprintf(t1, sizeof t1, "%s:1-5", u);
    snprintf(t2, sizeof t2, "%s:1-7:9", u);
    set_of(&a, t1);
    set_of(&b, t2);
    assert_true(cdc__gtid_set_is_subset(&a, &b));
    assert_false(cdc__gtid_set_is_subset(&b, &a));
    snprintf(t1, sizeof t1, "%s:5-9", u); /* 8 is missing from b */
    set_of(&a, t1);
    assert_false(cdc__gtid_set_is_subset(&a, &b));
    snprintf(t1, sizeof t1, "%s:tag:1", u); /* same uuid, another tag */
    set_of(&a, t1);
    assert_false(cdc__gtid_set_is_subset(&a, &b));
    /* MariaDB: per domain, the highest sequence number covers the lower */
    set_of(&a, "0-1-5,1-2-3");
    set_of(&b, "0-1-9,1-2-3");
    assert_true(cdc__gtid_set_is_subset(&a, &b));
    assert_false(cdc__gtid_set_is_subset(&b, &a));
    /* the empty set is in every set */
    cdc__gtid_set_clear(&a);
    assert_true(cdc__gtid_set_is_subset(&a, &b));
    cdc__gtid_set_free(&a);
    cdc__gtid_set_free(&b);
}

/* What the decoder keeps of a GTID event, as the stream's delivery reads
 * it (cdc__decoder_gtid, cdc__decoder_commit_us), against mysqlbinlog's
 * reading of the same file (EXPECTED.md: tag "mytag", GNO 3). */
typedef struct seen { cdc__gtid g; uint64_t us; bool prev; } seen;
static cdc_decoder *gdec;
static int grab_event(const cdc_event *e, void *ud)
{
    seen *s = ud;
    int t = cdc_event_type_of(e);
    if (t == CDC_EV_GTID_TAGGED || t == CDC_EV_GTID || t == CDC_EV_MARIA_GTID) {
        s->g = *cdc__decoder_gtid(gdec);
        s->us = cdc__decoder_commit_us(gdec);
    }
    /* the set is parsed before the event callback sees its event */
    if (t == CDC_EV_PREVIOUS_GTIDS) s->prev = cdc__decoder_previous_gtids(gdec) != NULL;
    return 0;
}

static void test_decoder_gtid_struct(void **state)
{
    (void)state;
    size_t n;
    uint8_t *data = read_file(fixture("rust_mysql_common/binlog_transaction_with_GTID_TAG.000001"), &n);
    assert_non_null(data);
    seen s;
    memset(&s, 0, sizeof s);
    assert_int_equal(cdc_decoder_new(&gdec, &test_alloc, NULL, 0), CDC_OK);
    cdc_decoder_set_event_cb(gdec, grab_event, &s);
    assert_int_equal(cdc_decoder_feed(gdec, data, n), (ptrdiff_t)n);
    assert_int_equal(cdc_decoder_finish(gdec), CDC_OK);
    char text[CDC__GTID_TEXT_MAX];
    cdc__gtid_format(&s.g, text, sizeof text);
    assert_string_equal(text, "55778904-0299-11f1-b1b8-4ef0c4956feb:mytag:3");
    assert_int_equal(s.g.kind, CDC__GTID_MYSQL);
    assert_true(s.us > 0);
    assert_true(s.prev);
    /* after the commit the decoder holds no GTID */
    assert_int_equal(cdc__decoder_gtid(gdec)->kind, CDC__GTID_NONE);
    cdc_decoder_free(gdec);
    free(data);
}

/* cdc__gtid_format (digits written without snprintf) against snprintf's
 * text of the same fields: random MariaDB and MySQL GTIDs, tags of every
 * length 0..32, numbers of every digit count and the limits, into every
 * buffer size from 0 to 2 past the text (cut as snprintf cuts). */
static void test_gtid_format_matches_snprintf(void **state)
{
    (void)state;
    uint64_t x = 0x2545f4914f6cdd1du;
    long checked = 0;
    for (int round = 0; round < 3000; round++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        cdc__gtid g;
        memset(&g, 0, sizeof g);
        /* a number of round % 21 digits, or a limit */
        uint64_t num = round % 21 == 0 ? 0 : round % 50 == 1 ? UINT64_MAX : x % (uint64_t)1e19;
        for (int d = round % 21; d < 19 && num >= 10; d++) num /= 10;
        char want[160];
        if (round % 2) {
            g.kind = CDC__GTID_MARIADB;
            g.domain = round % 7 == 0 ? UINT32_MAX : (uint32_t)(x >> 40);
            g.server_id = (uint32_t)x;
            g.seq = num;
            snprintf(want, sizeof want, "%u-%u-%llu", g.domain, g.server_id, (unsigned long long)g.seq);
        } else {
            g.kind = CDC__GTID_MYSQL;
            for (int i = 0; i < 16; i++) g.uuid[i] = (uint8_t)(x >> (i * 4));
            size_t tl = (size_t)(round / 2) % (CDC__GTID_TAG_MAX + 1);
            for (size_t i = 0; i < tl; i++) g.tag[i] = (char)('a' + (i + (size_t)round) % 26);
            g.gno = num;
            char u[37];
            cdc__uuid_format(g.uuid, u);
            if (tl) snprintf(want, sizeof want, "%s:%s:%llu", u, g.tag, (unsigned long long)g.gno);
            else snprintf(want, sizeof want, "%s:%llu", u, (unsigned long long)g.gno);
        }
        size_t wl = strlen(want);
        for (size_t n = 0; n <= wl + 2; n++) {
            char got[160], ref[160];
            memset(got, 'x', sizeof got);
            size_t r = cdc__gtid_format(&g, got, n);
            if (n == 0) {
                assert_int_equal(r, 0);
                assert_int_equal(got[0], 'x'); /* nothing written */
                continue;
            }
            snprintf(ref, n, "%s", want);
            assert_string_equal(got, ref);
            assert_int_equal(r, strlen(ref));
            checked++;
        }
    }
    cdc__gtid none;
    memset(&none, 0, sizeof none);
    char t[8];
    assert_int_equal(cdc__gtid_format(&none, t, sizeof t), 0);
    assert_string_equal(t, "");
    printf("%ld formatted GTIDs compared with snprintf\n", checked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tagged_gtid),
        cmocka_unit_test(test_gtid_set_text),
        cmocka_unit_test(test_subset),
        cmocka_unit_test(test_decoder_gtid_struct),
        cmocka_unit_test(test_gtid_format_matches_snprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
