/*
 * test_output.c: the JSON lines of docs/output.md (output.c) for real
 * binlogs, against what mysqlbinlog printed for the same file
 * (tests/fixtures/binlog-parser/plaintext-mysql-bin.07, MariaDB 10.0.15):
 * "# at" offsets, end_log_pos, server id 3704, GTID 0-3704-2816, the row
 * values, and SET TIMESTAMP=1494906269 for 3:44:29 (so the rows events at
 * 3:45:19 and 3:45:29 are 1494906319 and 1494906329). The key order and
 * forms are docs/output.md's. Then the images of inserts, updates and
 * deletes and the order of the keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cdc/cdc.h>

#include "output.h"
#include "valtest.h"

typedef struct lines { cdc__buf b; int changes; } lines;

static int on_event(const cdc_event *e, void *ud)
{
    lines *l = ud;
    cdc__err err;
    cdc__err_clear(&err);
    assert_int_equal(cdc__event_render_json(e, &l->b, &err), CDC_OK);
    return cdc__buf_putc(&l->b, '\n');
}

static int on_change(const cdc_change *c, void *ud)
{
    lines *l = ud;
    cdc__err err;
    cdc__err_clear(&err);
    int rc = cdc__change_render_json(c, &l->b, &err);
    if (rc) fail_msg("render: %s", err.msg);
    l->changes++;
    return cdc__buf_putc(&l->b, '\n');
}

static char *render_file(const char *rel, const char *name, bool events)
{
    size_t n;
    uint8_t *data = vt_fixture(rel, &n);
    lines l;
    memset(&l, 0, sizeof l);
    cdc__buf_init(&l.b, &vt_alloc);
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &vt_alloc, NULL, 0), CDC_OK);
    cdc_decoder_set_position(d, name, 0);
    if (events) cdc_decoder_set_event_cb(d, on_event, &l);
    cdc_decoder_set_change_cb(d, on_change, &l);
    assert_int_equal(cdc_decoder_feed(d, data, n), (ptrdiff_t)n);
    assert_int_equal(cdc_decoder_finish(d), CDC_OK);
    cdc_decoder_free(d);
    test_free(data);
    char *text = test_malloc(l.b.len + 1);
    memcpy(text, l.b.data, l.b.len);
    text[l.b.len] = 0;
    cdc__buf_free(&l.b);
    return text;
}

static void test_rows_against_mysqlbinlog(void **state)
{
    (void)state;
    char *text = render_file("binlog-parser/mysql-bin.07", "mysql-bin.07", false);
    /* the table has no column names in this binlog: @1, @2 as mysqlbinlog */
    assert_string_equal(text,
        "{\"op\":\"c\",\"db\":\"test_db\",\"table\":\"departments\",\"before\":null,"
        "\"after\":{\"@1\":\"ABC\",\"@2\":\"DEF\"},\"pos\":{\"file\":\"mysql-bin.07\",\"offset\":723,\"row\":0},"
        "\"gtid\":\"0-3704-2816\",\"server_id\":3704,\"ts_ms\":1494906319000}\n"
        "{\"op\":\"c\",\"db\":\"test_db\",\"table\":\"departments\",\"before\":null,"
        "\"after\":{\"@1\":\"RST\",\"@2\":\"XYZ\"},\"pos\":{\"file\":\"mysql-bin.07\",\"offset\":819,\"row\":0},"
        "\"gtid\":\"0-3704-2816\",\"server_id\":3704,\"ts_ms\":1494906329000}\n");
    test_free(text);
}

static void test_events_against_mysqlbinlog(void **state)
{
    (void)state;
    char *text = render_file("binlog-parser/mysql-bin.07", "mysql-bin.07", true);
    /* "# at" and end_log_pos of every event, as mysqlbinlog listed them */
    static const struct { const char *name; unsigned at, end; } ev[] = {
        {"FORMAT_DESCRIPTION", 4, 248}, {"GTID_LIST", 248, 287}, {"BINLOG_CHECKPOINT", 287, 326},
        {"MARIA_GTID", 326, 364},       {"QUERY", 364, 627},     {"MARIA_GTID", 627, 665},
        {"TABLE_MAP", 665, 723},        {"WRITE_ROWS_V1", 723, 761}, {"TABLE_MAP", 761, 819},
        {"WRITE_ROWS_V1", 819, 857},    {"XID", 857, 884},
    };
    const char *p = text;
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++) {
        char want[256];
        snprintf(want, sizeof want,
                 "{\"event\":\"%s\",\"type\":%%d,\"pos\":{\"file\":\"mysql-bin.07\",\"offset\":%u},\"server_id\":3704,"
                 "\"ts\":%%u,\"size\":%u,\"log_pos\":%u",
                 ev[i].name, ev[i].at, ev[i].end - ev[i].at, ev[i].end);
        int type;
        unsigned ts;
        char fmt[300];
        snprintf(fmt, sizeof fmt, "%s", want);
        int k = sscanf(p, fmt, &type, &ts);
        if (k != 2) fail_msg("event %zu: want %s\ngot %.200s", i, want, p);
        /* the GTID of the transaction, from its GTID event on */
        const char *eol = strchr(p, '\n');
        const char *g = strstr(p, "\"gtid\":");
        if (i >= 3) {
            assert_true(g && g < eol);
            assert_memory_equal(g, i < 5 ? "\"gtid\":\"0-3704-2815\"}" : "\"gtid\":\"0-3704-2816\"}", 21);
        }
        if (!strncmp(ev[i].name, "WRITE_ROWS", 10)) eol = strchr(eol + 1, '\n'); /* its row line */
        p = eol + 1;
    }
    assert_string_equal(p, "");
    test_free(text);
}

typedef struct images { char ops[8]; int n; char line[8][1024]; } images;
static int on_image(const cdc_change *c, void *ud)
{
    images *im = ud;
    if (im->n >= 8) return 0;
    cdc__buf b;
    cdc__buf_init(&b, &vt_alloc);
    cdc__err err;
    cdc__err_clear(&err);
    assert_int_equal(cdc__change_render_json(c, &b, &err), CDC_OK);
    assert_true(b.len < 1024);
    memcpy(im->line[im->n], b.data, b.len);
    im->line[im->n][b.len] = 0;
    im->ops[im->n++] = cdc_change_op(c);
    cdc__buf_free(&b);
    return 0;
}

static void test_images_and_names(void **state)
{
    (void)state;
    /* mysql-enum-string-set.000001 (rust_mysql_common, EXPECTED.md): an
     * insert, an update and a delete of one row */
    size_t n;
    uint8_t *data = vt_fixture("rust_mysql_common/mysql-enum-string-set.000001", &n);
    images im;
    memset(&im, 0, sizeof im);
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &vt_alloc, NULL, 0), CDC_OK);
    cdc_decoder_set_change_cb(d, on_image, &im);
    assert_int_equal(cdc_decoder_feed(d, data, n), (ptrdiff_t)n);
    assert_int_equal(cdc_decoder_finish(d), CDC_OK);
    cdc_decoder_free(d);
    test_free(data);
    assert_int_equal(im.n, 3);
    assert_memory_equal(im.ops, "cud", 3);
    /* insert: no before image; update: both; delete: no after image */
    assert_non_null(strstr(im.line[0], "\"before\":null,\"after\":{"));
    assert_null(strstr(im.line[1], "null,\"after\""));
    assert_null(strstr(im.line[1], "\"after\":null"));
    assert_non_null(strstr(im.line[2], "\"after\":null,\"pos\":"));
    /* keys in the documented order */
    static const char *keys[] = {"{\"op\":", ",\"db\":", ",\"table\":", ",\"before\":", ",\"after\":",
                                 ",\"pos\":{\"file\":", ",\"offset\":", ",\"row\":", "},\"gtid\":",
                                 ",\"server_id\":", ",\"ts_ms\":"};
    for (int i = 0; i < 3; i++) {
        const char *p = im.line[i];
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            const char *q = strstr(p, keys[k]);
            if (!q) fail_msg("line %d: %s missing after %.40s", i, keys[k], p);
            p = q + strlen(keys[k]);
        }
        assert_int_equal(im.line[i][strlen(im.line[i]) - 1], '}');
    }
}

/* The golden lines of mysql-bin.07 (above), with the file named `name`. */
static char *golden_07(const char *name)
{
    char *t = test_malloc(2048);
    snprintf(t, 2048,
             "{\"op\":\"c\",\"db\":\"test_db\",\"table\":\"departments\",\"before\":null,"
             "\"after\":{\"@1\":\"ABC\",\"@2\":\"DEF\"},\"pos\":{\"file\":\"%s\",\"offset\":723,\"row\":0},"
             "\"gtid\":\"0-3704-2816\",\"server_id\":3704,\"ts_ms\":1494906319000}\n"
             "{\"op\":\"c\",\"db\":\"test_db\",\"table\":\"departments\",\"before\":null,"
             "\"after\":{\"@1\":\"RST\",\"@2\":\"XYZ\"},\"pos\":{\"file\":\"%s\",\"offset\":819,\"row\":0},"
             "\"gtid\":\"0-3704-2816\",\"server_id\":3704,\"ts_ms\":1494906329000}\n",
             name, name);
    return t;
}

/*
 * The tail of a line (pos, gtid, server_id, ts_ms) is made once per rows
 * event and kept by the decoder (output.h cdc__line_tail): two decoders
 * of different files fed by turns in one thread each print their own
 * tails, and a file name too long for it takes the piece-by-piece road
 * with the same text.
 */
static void test_tail_per_event(void **state)
{
    (void)state;
    const char *rel[2] = {"binlog-parser/mysql-bin.07", "rust_mysql_common/mysql-enum-string-set.000001"};
    const char *names[2] = {"mysql-bin.07", "other.000001"};
    char *alone1 = render_file(rel[1], names[1], false);
    lines l[2];
    cdc_decoder *d[2];
    uint8_t *data[2];
    size_t n[2], at[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        data[k] = vt_fixture(rel[k], &n[k]);
        memset(&l[k], 0, sizeof l[k]);
        cdc__buf_init(&l[k].b, &vt_alloc);
        assert_int_equal(cdc_decoder_new(&d[k], &vt_alloc, NULL, 0), CDC_OK);
        cdc_decoder_set_position(d[k], names[k], 0);
        cdc_decoder_set_change_cb(d[k], on_change, &l[k]);
    }
    while (at[0] < n[0] || at[1] < n[1])
        for (int k = 0; k < 2; k++) {
            size_t step = n[k] - at[k] < 37 ? n[k] - at[k] : 37;
            if (!step) continue;
            assert_int_equal(cdc_decoder_feed(d[k], data[k] + at[k], step), (ptrdiff_t)step);
            at[k] += step;
        }
    for (int k = 0; k < 2; k++) {
        assert_int_equal(cdc_decoder_finish(d[k]), CDC_OK);
        cdc_decoder_free(d[k]);
        test_free(data[k]);
        assert_int_equal(cdc__buf_putc(&l[k].b, 0), CDC_OK);
    }
    char *want0 = golden_07("mysql-bin.07");
    assert_string_equal((char *)l[0].b.data, want0);
    assert_true(l[1].changes > 0);
    assert_string_equal((char *)l[1].b.data, alone1);
    test_free(want0);
    test_free(alone1);
    cdc__buf_free(&l[0].b);
    cdc__buf_free(&l[1].b);

    /* names around the cache's size (320 bytes of tail: 114 of text and
     * numbers, the file's and GTID's JSON) and past it */
    char longname[300];
    for (size_t len = 170; len <= 280; len += len < 230 ? 1 : 25) {
        memset(longname, 'f', len);
        longname[len] = 0;
        char *text = render_file(rel[0], longname, false);
        char *want = golden_07(longname);
        assert_string_equal(text, want);
        test_free(text);
        test_free(want);
    }
}

/*
 * Two decoders of the same file fed by turns in one thread, named alike
 * but for one byte: every number of their tails is the same, so a tail
 * kept anywhere but with its own decoder (a cache per thread keyed by
 * those numbers) would print the other's file name.
 */
static void test_tail_same_length_names(void **state)
{
    (void)state;
    const char *rel = "binlog-parser/mysql-bin.07";
    size_t n;
    uint8_t *data = vt_fixture(rel, &n);
    static const size_t lens[] = {1, 5, 6, 7, 12, 14, 15, 16, 20, 29, 30, 31, 40};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t len = lens[li];
        size_t poss[3] = {0, len / 2, len - 1};
        for (int pi = 0; pi < 3; pi++) {
            char names[2][64];
            memset(names[0], 'a', len);
            names[0][len] = 0;
            memcpy(names[1], names[0], len + 1);
            names[1][poss[pi]] = 'b';
            lines l[2];
            cdc_decoder *d[2];
            size_t at[2] = {0, 0};
            for (int k = 0; k < 2; k++) {
                memset(&l[k], 0, sizeof l[k]);
                cdc__buf_init(&l[k].b, &vt_alloc);
                assert_int_equal(cdc_decoder_new(&d[k], &vt_alloc, NULL, 0), CDC_OK);
                cdc_decoder_set_position(d[k], names[k], 0);
                cdc_decoder_set_change_cb(d[k], on_change, &l[k]);
            }
            while (at[0] < n || at[1] < n)
                for (int k = 0; k < 2; k++) {
                    size_t step = n - at[k] < 37 ? n - at[k] : 37;
                    if (!step) continue;
                    assert_int_equal(cdc_decoder_feed(d[k], data + at[k], step), (ptrdiff_t)step);
                    at[k] += step;
                }
            for (int k = 0; k < 2; k++) {
                assert_int_equal(cdc_decoder_finish(d[k]), CDC_OK);
                cdc_decoder_free(d[k]);
                assert_int_equal(cdc__buf_putc(&l[k].b, 0), CDC_OK);
                char *want = golden_07(names[k]);
                assert_string_equal((char *)l[k].b.data, want);
                test_free(want);
                cdc__buf_free(&l[k].b);
            }
        }
    }
    test_free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_against_mysqlbinlog),
        cmocka_unit_test(test_events_against_mysqlbinlog),
        cmocka_unit_test(test_images_and_names),
        cmocka_unit_test(test_tail_per_event),
        cmocka_unit_test(test_tail_same_length_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
