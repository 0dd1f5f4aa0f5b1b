/*
 * test_decoder.c: the binlog decoder's framing and dispatch: every fixture
 * binlog decoded whole, byte by byte, split at many offsets and paused in
 * every callback, with the same trace and the expected status; begin,
 * commit and query callbacks; EVENTS mode as a replication stream
 * delivers a file; malformed input; allocation failure at every point.
 * Values against outside oracles are in test_decoder_oracle.c, compressed
 * events in test_decoder_compressed.c.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <cmocka.h>

#include <cdc/cdc.h>

#include "decoder.h"
#include "util.h"
#include "value.h"

#include "binlogtest.h"
#include "testalloc.h"
#include "decodertest.h"

/* Files that must fail, and how (SOURCES.md quirk 8 and old formats). */
static const struct { const char *name; int code; } expected_errors[] = {
    {"bug11747416_32228_binlog.000001", CDC_ERR_TRUNCATED},
    {"binlog_truncated_event.000001", CDC_ERR_TRUNCATED},
    {"binlog_truncated_prev_gtid_event.000001", CDC_ERR_TRUNCATED},
    {"binlog_no_fd_event.000001", CDC_ERR_CORRUPT},
    {"corrupt-relay-bin.000624", CDC_ERR_CORRUPT},
    {"duplicate_xid.000001", CDC_ERR_CHECKSUM},
    {"duplicate_xid_ddl.000001", CDC_ERR_CHECKSUM},
    {"duplicate_xid_xa_prepare.000001", CDC_ERR_CHECKSUM},
    {"malformed_xid_xa_commit.000001", CDC_ERR_CHECKSUM},
    {"malformed_xid_xa_rollback.000001", CDC_ERR_CHECKSUM},
    {"rpl_nogtid_encryption_master-bin.000002", CDC_ERR_ENCRYPTED},
    {"binlog_before_20574.bin", CDC_ERR_ENCRYPTED},
    /* pre-GA 5.1 row format: rejected with a clear error */
    {"ver_5_1-telco.001", CDC_ERR_UNSUPPORTED},
    {"ver_5_1_17.001", CDC_ERR_UNSUPPORTED},
    {"mysql-server-5.6.21/suite/binlog/std_data/bug32407.001", CDC_ERR_UNSUPPORTED},
    {"ver_5_1-wl2325_s.001", CDC_ERR_UNSUPPORTED},
    /* MariaDB 10.0 TIMESTAMP(n) in the 5.3 format: widths not in the binlog */
    {"tiflow/mysql-bin.000001", CDC_ERR_UNSUPPORTED},
};

static int expected_code(const char *path)
{
    for (size_t i = 0; i < sizeof expected_errors / sizeof expected_errors[0]; i++) {
        size_t a = strlen(path), b = strlen(expected_errors[i].name);
        if (a >= b && !strcmp(path + a - b, expected_errors[i].name) &&
            (a == b || path[a - b - 1] == '/'))
            return expected_errors[i].code;
    }
    return CDC_OK;
}

static int n_files, n_checked;

/* Traces too long for a message go to files in the build directory. */
static void dump_traces(const char *path, const char *what, const trace *a, const trace *b)
{
    FILE *f = fopen("decoder-trace-whole.txt", "w");
    if (f) { fwrite(a->b.data, 1, a->b.len, f); fclose(f); }
    f = fopen("decoder-trace-other.txt", "w");
    if (f) { fwrite(b->b.data, 1, b->b.len, f); fclose(f); }
    print_error("%s: %s trace differs; see decoder-trace-{whole,other}.txt\n", path, what);
}

/* A gzip file's contents (the sakila fixture is a gzipped binlog). */
static uint8_t *read_gz(const char *path, size_t *n)
{
    gzFile f = gzopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 20, len = 0;
    uint8_t *p = malloc(cap);
    int k;
    while ((k = gzread(f, p + len, (unsigned)(cap - len))) > 0) {
        len += (size_t)k;
        if (len == cap) p = realloc(p, cap *= 2);
    }
    gzclose(f);
    *n = len;
    return p;
}

static void check_one(const char *path)
{
    size_t n;
    size_t pl = strlen(path);
    bool gz = pl > 3 && !strcmp(path + pl - 3, ".gz");
    uint8_t *data = gz ? read_gz(path, &n) : read_file(path, &n);
    if (!data) return;
    bool binlog = n >= 4 && (data[0] == 0xfe || data[0] == 0xfd) && !memcmp(data + 1, "bin", 3);
    if (!binlog) { free(data); return; }
    n_files++;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    trace whole = {0}, split = {0};
    cdc__buf_init(&whole.b, NULL);
    int rc = decode(data, n, 0, &whole, base);
    int want = expected_code(path);
    if (rc != want) {
        print_error("%s: got %s, want %s\n%s\n", path, cdc_err_name(rc), cdc_err_name(want),
                    (const char *)whole.b.data);
        fail();
    }
    /* no render errors either */
    cdc__buf_terminate(&whole.b);
    if (strstr((const char *)whole.b.data, "RENDER ERROR")) {
        print_error("%s:\n%s\n", path, strstr((const char *)whole.b.data, "RENDER ERROR"));
        fail();
    }
    static const size_t chunks[] = {1, 2, 3, 7, 19, 64, 333, 4096};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        cdc__buf_init(&split.b, NULL);
        decode(data, n, chunks[c], &split, base);
        if (split.b.len != whole.b.len || memcmp(split.b.data, whole.b.data, whole.b.len)) {
            cdc__buf_terminate(&split.b);
            print_error("%s: chunk %zu:\n", path, chunks[c]);
            dump_traces(path, "split", &whole, &split);
            fail();
        }
        cdc__buf_free(&split.b);
    }
    /* pausing in every callback must not change the trace either */
    trace paused = {0};
    paused.pause_every = 1;
    cdc__buf_init(&paused.b, NULL);
    decode(data, n, 1000, &paused, base);
    if (paused.b.len != whole.b.len || memcmp(paused.b.data, whole.b.data, whole.b.len)) {
        cdc__buf_terminate(&paused.b);
        dump_traces(path, "paused", &whole, &paused);
        fail();
    }
    cdc__buf_free(&paused.b);
    cdc__buf_free(&whole.b);
    free(data);
    n_checked++;
}

static void walk(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) walk(p);
        else if (S_ISREG(st.st_mode)) check_one(p);
    }
    closedir(d);
}

static void test_all_fixtures(void **state)
{
    (void)state;
    const char *root = getenv("CDC_FIXTURES");
    assert_non_null(root);
    walk(root);
    /* SOURCES.md: 145 binlogs: 141 start with a binlog magic, one is gzipped */
    print_message("%d binlog fixtures\n", n_files);
    assert_true(n_files >= 142);
    assert_int_equal(n_files, n_checked);
}

/* ---- transactions -------------------------------------------------------- */

typedef struct txns { cdc__buf log; } txns;
static int t_begin(const cdc_event *e, void *ud)
{
    txns *x = ud;
    cdc__buf_printf(&x->log, "B%s(%s,t%u) ", cdc_event_name(e), cdc_event_gtid(e), (unsigned)cdc_event_thread_id(e));
    return 0;
}
static int t_commit(const cdc_event *e, void *ud)
{
    txns *x = ud;
    cdc__buf_printf(&x->log, "C%s ", cdc_event_name(e));
    return 0;
}
static int t_query(const cdc_query *q, void *ud)
{
    txns *x = ud;
    cdc_bytes sql = cdc_query_sql(q);
    cdc__buf_printf(&x->log, "Q%.6s(%s,t%u%s) ", (const char *)sql.ptr, cdc_event_gtid(cdc_query_event(q)),
                    (unsigned)cdc_query_thread_id(q), cdc_query_is_ddl(q) ? ",ddl" : "");
    return 0;
}

static const char *txn_log(const char *rel, txns *x)
{
    size_t n;
    uint8_t *data = read_file(fixture(rel), &n);
    assert_non_null(data);
    cdc__buf_reset(&x->log);
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    cdc_decoder_set_begin_cb(d, t_begin, x);
    cdc_decoder_set_commit_cb(d, t_commit, x);
    cdc_decoder_set_query_cb(d, t_query, x);
    assert_int_equal(cdc_decoder_feed(d, data, n), (ptrdiff_t)n);
    assert_int_equal(cdc_decoder_finish(d), CDC_OK);
    cdc_decoder_free(d);
    free(data);
    cdc__buf_terminate(&x->log);
    return (const char *)x->log.data;
}

static void test_transactions(void **state)
{
    (void)state;
    txns x;
    cdc__buf_init(&x.log, NULL);
    /* MariaDB 10.0 (mariadb-binlog: GTID 0-3704-2815 a standalone CREATE
     * TABLE from thread_id=3, GTID 0-3704-2816 a transaction of two inserts
     * begun by its GTID event, so no thread id, ending in Xid) */
    assert_string_equal(txn_log("binlog-parser/mysql-bin.07", &x),
                        "QCREATE(0-3704-2815,t3,ddl) BMARIA_GTID(0-3704-2816,t0) CXID ");
    /* MySQL 9.6 (mysqlbinlog: a BEGIN query from thread_id=11 after the
     * tagged GTID, commit by Xid) */
    assert_string_equal(txn_log("rust_mysql_common/binlog_transaction_with_GTID_TAG.000001", &x),
                        "BQUERY(55778904-0299-11f1-b1b8-4ef0c4956feb:mytag:3,t11) CXID ");
    cdc__buf_free(&x.log);
}

/* ---- malformed input ---------------------------------------------------- */

static void test_malformed(void **state)
{
    (void)state;
    size_t n;
    uint8_t *data = read_file(fixture("binlog-parser/mysql-bin.01"), &n);
    assert_non_null(data);
    char msg[512];
    assert_int_equal(decode_status(data, n, msg, sizeof msg), CDC_OK);

    /* a flipped byte inside the second event: checksum error naming where */
    uint8_t *bad = malloc(n);
    memcpy(bad, data, n);
    uint32_t fde = cdc__le32(data + 4 + 9);
    bad[4 + fde + 25] ^= 0x40;
    assert_int_equal(decode_status(bad, n, msg, sizeof msg), CDC_ERR_CHECKSUM);
    char where[64];
    snprintf(where, sizeof where, "x.000001:%u ", 4 + fde);
    assert_non_null(strstr(msg, where));

    /* cut in the middle of an event */
    assert_int_equal(decode_status(data, n - 7, msg, sizeof msg), CDC_ERR_TRUNCATED);
    assert_non_null(strstr(msg, "input ends inside"));
    /* cut inside the magic */
    assert_int_equal(decode_status(data, 2, msg, sizeof msg), CDC_ERR_TRUNCATED);
    /* not a binlog */
    assert_int_equal(decode_status((const uint8_t *)"GIF89a", 6, msg, sizeof msg), CDC_ERR_CORRUPT);
    /* an event length below the header size */
    memcpy(bad, data, n);
    cdc__put_le32(bad + 4 + 9, 5);
    assert_int_equal(decode_status(bad, n, msg, sizeof msg), CDC_ERR_CORRUPT);
    assert_non_null(strstr(msg, "below"));
    /* a huge event length: bounded by the limit, not allocated */
    memcpy(bad, data, n);
    cdc__put_le32(bad + 4 + fde + 9, 0xfffffff0u);
    assert_int_equal(decode_status(bad, n, msg, sizeof msg), CDC_ERR_TOO_LARGE);
    free(bad);
    free(data);
}

/* ---- EVENTS mode, as a replication stream delivers a file -------------- */

static void test_events_mode_positions(void **state)
{
    (void)state;
    size_t n;
    uint8_t *file = read_file(fixture("binlog-parser/mysql-bin.01"), &n);
    assert_non_null(file);
    trace a = {0}, b = {0};
    cdc__buf_init(&a.b, NULL);
    cdc__buf_init(&b.b, NULL);
    assert_int_equal(decode(file, n, 0, &a, "mysql-bin.01"), CDC_OK);

    /* the stream: a fake ROTATE (timestamp 0, log_pos 0) carrying a CRC32,
     * as a server with binlog_checksum=CRC32 sends it, then the file's events */
    uint8_t *st = malloc(n + 64);
    static const char name[] = "mysql-bin.01";
    uint8_t body[8 + sizeof name - 1];
    cdc__put_le64(body, 4);
    memcpy(body + 8, name, sizeof name - 1);
    size_t m = put_event(st, CDC_EV_ROTATE, body, sizeof body);
    cdc__put_le32(st + 9, (uint32_t)(m + 4));
    cdc__put_le32(st + m, (uint32_t)crc32(0L, st, (uInt)m));
    m += 4;
    memcpy(st + m, file + 4, n - 4);
    m += n - 4;

    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    assert_int_equal(cdc_decoder_set_mode(d, CDC_DECODER_EVENTS), CDC_OK);
    cdc_decoder_set_change_cb(d, on_change, &b);
    for (size_t off = 0; off < m; off += 7)
        assert_true(cdc_decoder_feed(d, st + off, m - off < 7 ? m - off : 7) >= 0);
    assert_int_equal(cdc_decoder_finish(d), CDC_OK);
    assert_int_equal(cdc_decoder_set_mode(d, CDC_DECODER_FILE), CDC_ERR_STATE);
    cdc_decoder_free(d);
    /* the row lines are the same: file named by the ROTATE, offsets from log_pos */
    cdc__buf_terminate(&a.b);
    cdc__buf_terminate(&b.b);
    cdc__buf rows_a;
    cdc__buf_init(&rows_a, NULL);
    for (const char *l = (const char *)a.b.data; *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) + 1 : strlen(l);
        if (l[0] == '{') cdc__buf_append(&rows_a, l, len);
        l += len;
    }
    assert_true(rows_a.len > 0);
    assert_int_equal(b.b.len, rows_a.len);
    assert_memory_equal(b.b.data, rows_a.data, rows_a.len);
    cdc__buf_free(&rows_a);
    free(st);
    free(file);
    cdc__buf_free(&a.b);
    cdc__buf_free(&b.b);
}

/* ---- allocation failure at every point ---------------------------------- */

static long fail_countdown; /* the allocation that fails; -1: none */
static void *f_malloc(size_t n, void *ud)
{
    (void)ud;
    if (fail_countdown >= 0 && fail_countdown-- == 0) return NULL;
    return _test_malloc(n, __FILE__, __LINE__);
}
static void *f_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    if (fail_countdown >= 0 && fail_countdown-- == 0) return NULL;
    return _test_realloc(p, n, __FILE__, __LINE__);
}
static const cdc_allocator fail_alloc = {f_malloc, f_realloc, t_free, NULL};

static void test_allocation_failures(void **state)
{
    (void)state;
    static const char *files[] = {"binlog-parser/mysql-bin.07",
                                  "rust_mysql_common/transaction_compression.000001",
                                  "rust_mysql_common/mysql-enum-string-set.000001"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t n;
        uint8_t *data = read_file(fixture(files[f]), &n);
        assert_non_null(data);
        bool done = false;
        for (long i = 0; !done && i < 100000; i++) {
            fail_countdown = i;
            cdc_decoder *d;
            int rc = cdc_decoder_new(&d, &fail_alloc, NULL, 0);
            if (rc) { assert_int_equal(rc, CDC_ERR_NOMEM); continue; }
            cdc_decoder_set_position(d, "f", 0);
            trace t = {0};
            cdc__buf_init(&t.b, NULL);
            cdc_decoder_set_change_cb(d, on_change, &t);
            /* in pieces, so events are gathered (allocating) as well as in place */
            ptrdiff_t r = 0;
            for (size_t off = 0; off < n && r >= 0; off += 50)
                r = cdc_decoder_feed(d, data + off, n - off < 50 ? n - off : 50);
            rc = r < 0 ? (int)r : cdc_decoder_finish(d);
            if (rc != CDC_OK) {
                if (rc != CDC_ERR_NOMEM) print_error("%s at %ld: %s\n", files[f], i, cdc_decoder_errmsg(d));
                assert_int_equal(rc, CDC_ERR_NOMEM);
            }
            done = rc == CDC_OK && fail_countdown >= 0; /* the failure point was never reached */
            cdc_decoder_free(d);
            cdc__buf_free(&t.b);
        }
        fail_countdown = -1;
        assert_true(done);
        free(data);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_fixtures),
        cmocka_unit_test(test_events_mode_positions),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
