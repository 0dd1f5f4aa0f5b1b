/*
 * test_decoder.c: the binlog decoder against every fixture binlog (whole,
 * byte by byte and split at many offsets, with the same trace), against
 * mysqlbinlog's own output for the same files, on malformed input, with
 * pauses, and on a generated ~100 MB compressed transaction whose peak
 * memory must stay small.
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
#include <zstd.h>

#include <cmocka.h>

#include <cdc/cdc.h>

#include "decoder.h"
#include "gtid.h"
#include "output.h"
#include "util.h"
#include "value.h"

#include "binlogtest.h"

/* ---- cmocka's allocator, so every test checks for leaks -------------- */

#include "testalloc.h"

/* ---- helpers ----------------------------------------------------------- */


/* A trace of everything the callbacks saw, as text. */
typedef struct trace {
    cdc__buf b;
    int pause_every;  /* >0: every n-th callback pauses */
    int calls;
} trace;

static int pause_maybe(trace *t)
{
    t->calls++;
    return t->pause_every && t->calls % t->pause_every == 0 ? CDC_ERR_PAUSED : 0;
}

static int on_event(const cdc_event *e, void *ud)
{
    trace *t = ud;
    cdc__buf_printf(&t->b, "E %s %llu %u %s\n", cdc_event_name(e),
                    (unsigned long long)cdc_event_offset(e), cdc_event_size(e), cdc_event_gtid(e));
    return pause_maybe(t);
}

static int on_change(const cdc_change *c, void *ud)
{
    trace *t = ud;
    cdc__err err;
    cdc__err_clear(&err);
    int rc = cdc__change_render_json(c, &t->b, &err);
    cdc__buf_putc(&t->b, '\n');
    if (rc) cdc__buf_printf(&t->b, "RENDER ERROR %s\n", err.msg);
    return pause_maybe(t);
}

static int on_table(const cdc_table *tb, void *ud)
{
    trace *t = ud;
    cdc__buf_printf(&t->b, "T %s.%s %zu\n", cdc_table_db(tb), cdc_table_name(tb),
                    cdc_table_column_count(tb));
    return 0;
}

/* Feeds data in chunks of `chunk` bytes (0: whole), resuming after pauses.
 * Returns the final status and appends "END code msg" to the trace. */
static int decode(const uint8_t *data, size_t n, size_t chunk, trace *t, const char *name)
{
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    cdc_decoder_set_position(d, name, 0);
    cdc_decoder_set_event_cb(d, on_event, t);
    cdc_decoder_set_change_cb(d, on_change, t);
    cdc_decoder_set_table_cb(d, on_table, t);
    int rc = CDC_OK;
    size_t off = 0;
    int guard = 0;
    while (off < n) {
        size_t k = chunk ? (n - off < chunk ? n - off : chunk) : n - off;
        ptrdiff_t r = cdc_decoder_feed(d, data + off, k);
        if (r < 0) { rc = (int)r; break; }
        off += (size_t)r;
        if ((size_t)r < k) assert_true(++guard < 100000000); /* paused: resume */
    }
    if (rc == CDC_OK) rc = cdc_decoder_finish(d);
    cdc__buf_printf(&t->b, "END %s %s\n", cdc_err_name(rc), cdc_decoder_errmsg(d));
    cdc_decoder_free(d);
    return rc;
}

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

/* ---- against mysqlbinlog -v output of the same files ------------------- */

/* Collects "@N=value" lines of mysqlbinlog -v, in order. */
static size_t mysqlbinlog_values(const char *text, char vals[][128], size_t max)
{
    size_t k = 0;
    for (const char *p = text; (p = strstr(p, "###   @")) != NULL && k < max; p++) {
        const char *eq = strchr(p, '=');
        const char *end = strstr(eq, " /*");
        const char *nl = strchr(eq, '\n');
        if (!end || (nl && nl < end)) end = nl;
        size_t n = (size_t)(end - eq - 1);
        if (n >= 128) n = 127;
        memcpy(vals[k], eq + 1, n);
        vals[k][n] = 0;
        k++;
    }
    return k;
}

typedef struct vals_ctx { char (*v)[128]; size_t n, max; } vals_ctx;

static void add_value(vals_ctx *x, const cdc_value *v)
{
    if (x->n >= x->max) return;
    char *o = x->v[x->n++];
    switch (v->kind) {
    case CDC_K_INT: snprintf(o, 128, "%lld", (long long)v->v.i); break;
    case CDC_K_UINT: snprintf(o, 128, "%llu", (unsigned long long)v->v.u); break;
    case CDC_K_NULL: snprintf(o, 128, "NULL"); break;
    case CDC_K_STRING: case CDC_K_BYTES:
        snprintf(o, 128, "'%.*s'", (int)v->v.b.len, (const char *)v->v.b.ptr); break;
    default: snprintf(o, 128, "?"); /* compared below only where mysqlbinlog agrees on form */
    }
}

static int collect(const cdc_change *c, void *ud)
{
    vals_ctx *x = ud;
    size_t n = cdc_table_column_count(cdc_change_table(c));
    /* mysqlbinlog prints WHERE (before) then SET (after) */
    for (int img = 0; img < 2; img++)
        for (size_t i = 0; i < n; i++) {
            const cdc_value *v = img == 0 ? cdc_change_before(c, i) : cdc_change_after(c, i);
            if (v) add_value(x, v);
        }
    return 0;
}

static void test_against_mysqlbinlog(void **state)
{
    (void)state;
    static const char *files[] = {"01", "02", "03", "06", "07"};
    size_t compared = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char bin[64], txt[64];
        snprintf(bin, sizeof bin, "binlog-parser/mysql-bin.%s", files[f]);
        snprintf(txt, sizeof txt, "binlog-parser/plaintext-mysql-bin.%s", files[f]);
        size_t n, tn;
        uint8_t *data = read_file(fixture(bin), &n);
        char *text = (char *)read_file(fixture(txt), &tn);
        assert_non_null(data);
        assert_non_null(text);
        text = realloc(text, tn + 1);
        text[tn] = 0;
        static char want[4096][128], got[4096][128];
        size_t nw = mysqlbinlog_values(text, want, 4096);
        vals_ctx x = {got, 0, 4096};
        cdc_decoder *d;
        assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
        cdc_decoder_set_change_cb(d, collect, &x);
        assert_int_equal(cdc_decoder_feed(d, data, n), (ptrdiff_t)n);
        assert_int_equal(cdc_decoder_finish(d), CDC_OK);
        cdc_decoder_free(d);
        assert_int_equal(nw, x.n);
        assert_true(nw > 0);
        for (size_t i = 0; i < nw; i++) {
            if (!strcmp(got[i], "?")) continue; /* temporal etc.: forms differ */
            if (strcmp(want[i], got[i]) != 0) {
                print_error("%s value %zu: mysqlbinlog %s, we %s\n", bin, i, want[i], got[i]);
                fail();
            }
            compared++;
        }
        free(data);
        free(text);
    }
    assert_true(compared > 40);

    /* MySQL's own NDB captures with full and partial (MINIMAL) images, against
     * the mysqlbinlog --verbose output kept in MariaDB's suite */
    size_t tn;
    char *res = (char *)read_file(
        fixture("mariadb-server-11.8.6/expected/suite/binlog/r/binlog_row_mysqlbinlog_verbose.result"),
        &tn);
    assert_non_null(res);
    res = realloc(res, tn + 1);
    res[tn] = 0;
    static const char *names[] = {"write-partial-row.binlog", "write-full-row.binlog",
                                  "update-partial-row.binlog", "update-full-row.binlog"};
    size_t total = 0;
    for (size_t f = 0; f < 4; f++) {
        char hdr[128];
        snprintf(hdr, sizeof hdr, "Verbose statements from : %s", names[f]);
        char *sec = strstr(res, hdr);
        assert_non_null(sec);
        char *end = strstr(sec + 1, "Verbose statements from");
        char saved = 0;
        if (end) { saved = *end; *end = 0; }
        static char want[4096][128], got[4096][128];
        size_t nw = mysqlbinlog_values(sec, want, 4096);
        if (end) *end = saved;
        char rel[160];
        snprintf(rel, sizeof rel, "mysql-server-8.0.39/suite/binlog/std_data/%s", names[f]);
        size_t n;
        uint8_t *data = read_file(fixture(rel), &n);
        assert_non_null(data);
        vals_ctx x = {got, 0, 4096};
        cdc_decoder *d;
        assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
        cdc_decoder_set_change_cb(d, collect, &x);
        assert_int_equal(cdc_decoder_feed(d, data, n), (ptrdiff_t)n);
        assert_int_equal(cdc_decoder_finish(d), CDC_OK);
        cdc_decoder_free(d);
        free(data);
        assert_int_equal(nw, x.n);
        for (size_t i = 0; i < nw; i++) {
            if (!strcmp(got[i], "?")) continue;
            if (strcmp(want[i], got[i]) != 0) {
                print_error("%s value %zu: mysqlbinlog %s, we %s\n", names[f], i, want[i], got[i]);
                fail();
            }
            total++;
        }
    }
    free(res);
    assert_true(total >= 80);
}

/* ---- specific fixtures -------------------------------------------------- */

static void test_mariadb_gtid_and_payload(void **state)
{
    (void)state;
    trace t = {0};
    cdc__buf_init(&t.b, NULL);
    size_t n;
    uint8_t *data = read_file(fixture("binlog-parser/mysql-bin.07"), &n);
    assert_int_equal(decode(data, n, 0, &t, "mysql-bin.07"), CDC_OK);
    cdc__buf_terminate(&t.b);
    /* mysqlbinlog: "GTID 0-3704-2816" at end_log_pos 665, the transaction of both rows */
    assert_non_null(strstr((const char *)t.b.data,
                           "\"pos\":{\"file\":\"mysql-bin.07\",\"offset\":819,\"row\":0},"
                           "\"gtid\":\"0-3704-2816\""));
    free(data);
    cdc__buf_free(&t.b);

    /* compressed transaction: rows come out with the payload's position */
    cdc__buf_init(&t.b, NULL);
    data = read_file(fixture("rust_mysql_common/transaction_compression.000001"), &n);
    assert_int_equal(decode(data, n, 0, &t, "tc"), CDC_OK);
    cdc__buf_terminate(&t.b);
    const char *s = (const char *)t.b.data;
    assert_non_null(strstr(s, "E TRANSACTION_PAYLOAD"));
    assert_non_null(strstr(s, "\"op\":\"c\""));
    free(data);
    cdc__buf_free(&t.b);
}

/* ---- oracle facts (fixtures' EXPECTED.md, from upstream test suites) ---- */

typedef struct oracle {
    int n_changes;
    char ops[64];
    cdc_value after0[8][8];   /* first 8 columns of the first 8 changes' after images */
    cdc_value before0[8][8];
    bool has_after[8][8], has_before[8][8];
    uint8_t bytes[8][8][64];  /* copies of byte views, which die with the callback */
    char names[8][32];
    unsigned charsets[8];
    int pk[8];
    uint32_t dims[8][8];
    char inner[16][32];
    int n_inner;
    uint32_t ev_size[32], ev_pos[32], ev_ts[32];
    uint16_t ev_flags[32];
    int ev_type[32];
    int n_ev;
} oracle;

static int oracle_change(const cdc_change *c, void *ud)
{
    oracle *o = ud;
    int k = o->n_changes++;
    if (k >= 8) return 0;
    o->ops[k] = cdc_change_op(c);
    const cdc_table *t = cdc_change_table(c);
    for (size_t i = 0; i < 8 && i < cdc_table_column_count(t); i++) {
        const cdc_value *a = cdc_change_after(c, i), *b = cdc_change_before(c, i);
        o->has_after[k][i] = a != NULL;
        o->has_before[k][i] = b != NULL;
        if (a) {
            o->after0[k][i] = *a;
            if ((a->kind == CDC_K_VECTOR || a->kind == CDC_K_STRING) && a->v.b.len <= 64)
                memcpy(o->bytes[k][i], a->v.b.ptr, a->v.b.len);
        }
        if (b) o->before0[k][i] = *b;
        const cdc_column *col = cdc_table_column(t, i);
        o->dims[k][i] = col->vector_dims;
        if (k == 0) {
            const char *nm = cdc_table_column_name(t, i);
            snprintf(o->names[i], sizeof o->names[i], "%s", nm ? nm : "");
            o->charsets[i] = cdc_table_column_charset(t, i);
            o->pk[i] = cdc_table_column_is_pk(t, i);
        }
    }
    return 0;
}

static int oracle_event(const cdc_event *e, void *ud)
{
    oracle *o = ud;
    if (cdc_event_is_inner(e) && o->n_inner < 16)
        snprintf(o->inner[o->n_inner++], 32, "%s", cdc_event_name(e));
    if (o->n_ev < 32) {
        o->ev_size[o->n_ev] = cdc_event_size(e);
        o->ev_pos[o->n_ev] = cdc_event_log_pos(e);
        o->ev_ts[o->n_ev] = cdc_event_timestamp(e);
        o->ev_flags[o->n_ev] = cdc_event_flags(e);
        o->ev_type[o->n_ev] = cdc_event_type_of(e);
        o->n_ev++;
    }
    return 0;
}

static oracle *run_oracle(const char *rel)
{
    static oracle o;
    memset(&o, 0, sizeof o);
    size_t n;
    uint8_t *data = read_file(fixture(rel), &n);
    assert_non_null(data);
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    cdc_decoder_set_change_cb(d, oracle_change, &o);
    cdc_decoder_set_event_cb(d, oracle_event, &o);
    assert_int_equal(cdc_decoder_feed(d, data, n), (ptrdiff_t)n);
    assert_int_equal(cdc_decoder_finish(d), CDC_OK);
    cdc_decoder_free(d);
    free(data);
    return &o;
}

static void test_oracle_event_headers(void **state)
{
    (void)state;
    /* binlog_transaction.000001 (MySQL 5.0.86): sizes, end positions, flags */
    oracle *o = run_oracle("mysql-server-8.0.39/std_data/binlog_transaction.000001");
    static const uint32_t size[] = {94, 100, 101, 69, 92, 93, 27, 100, 101, 69, 92,
                                    93, 72, 97, 98, 69, 92, 93, 70, 44};
    static const uint32_t pos[] = {98, 198, 299, 368, 460, 553, 580, 680, 781, 850, 942,
                                   1035, 1107, 1204, 1302, 1371, 1463, 1556, 1626, 1670};
    assert_int_equal(o->n_ev, 20);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(o->ev_size[i], size[i]);
        assert_int_equal(o->ev_pos[i], pos[i]);
        assert_int_equal(o->ev_ts[i], i == 0 ? 1253783036u : 1253783037u);
        bool suppress = i == 3 || i == 9 || i == 12 || i == 15 || i == 18;
        if (i > 0) assert_int_equal(o->ev_flags[i], suppress ? 8 : 0);
    }
    assert_int_equal(o->ev_type[6], CDC_EV_XID);
    assert_int_equal(o->ev_type[19], CDC_EV_ROTATE);

    /* transaction_compression.000001: the payload holds exactly these */
    o = run_oracle("rust_mysql_common/transaction_compression.000001");
    assert_int_equal(o->n_inner, 4);
    assert_string_equal(o->inner[0], "QUERY");
    assert_string_equal(o->inner[1], "TABLE_MAP");
    assert_string_equal(o->inner[2], "WRITE_ROWS");
    assert_string_equal(o->inner[3], "XID");
}

static void test_oracle_values(void **state)
{
    (void)state;
    /* vector.binlog: float32 [1.1, 2.2, 3.3] and [1.0, -1.0, 0.0]; dims 3 / 2,4 */
    oracle *o = run_oracle("rust_mysql_common/vector.binlog");
    static const uint8_t v1[] = {0xcd, 0xcc, 0x8c, 0x3f, 0xcd, 0xcc, 0x0c, 0x40, 0x33, 0x33, 0x53, 0x40};
    static const uint8_t v2[] = {0, 0, 0x80, 0x3f, 0, 0, 0x80, 0xbf, 0, 0, 0, 0};
    assert_int_equal(o->after0[0][1].kind, CDC_K_VECTOR);
    assert_int_equal(o->after0[0][1].v.b.len, 12);
    assert_memory_equal(o->bytes[0][1], v1, 12);
    assert_memory_equal(o->bytes[1][1], v2, 12);
    assert_int_equal(o->dims[0][1], 3);
    assert_int_equal(o->dims[2][1], 2);
    assert_int_equal(o->dims[2][3], 4);

    /* mysql_type_bit.000001: BIT 0b100, "foo", BIT 0b100000 */
    o = run_oracle("rust_mysql_common/mysql_type_bit.000001");
    assert_int_equal(o->after0[0][0].kind, CDC_K_BIT);
    assert_int_equal(o->after0[0][0].v.u, 4);
    assert_memory_equal(o->bytes[0][1], "foo", 3);
    assert_int_equal(o->after0[0][2].v.u, 32);

    /* mariadb-bin.000001: names, primary key, charsets */
    o = run_oracle("rust_mysql_common/mariadb-bin.000001");
    static const char *names[] = {"id", "topic", "event_type", "event", "created"};
    static const unsigned cs[] = {0, 45, 45, 63, 0};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(o->names[i], names[i]);
        assert_int_equal(o->charsets[i], cs[i]);
        assert_int_equal(o->pk[i], i == 0);
    }

    /* minimal_row_metadata.000001: 0-based column 4 INT UNSIGNED 3230202323,
     * column 2 collation 255; a MINIMAL image: columns 1 and 3 absent */
    o = run_oracle("rust_mysql_common/minimal_row_metadata.000001");
    assert_int_equal(o->after0[0][4].kind, CDC_K_UINT);
    assert_int_equal(o->after0[0][4].v.u, 3230202323u);
    assert_int_equal(o->charsets[2], 255);
    assert_false(o->has_after[0][1]);
    assert_false(o->has_after[0][3]);

    /* time_issue.000001: TIME -507:48:27 */
    o = run_oracle("rust_mysql_common/time_issue.000001");
    assert_int_equal(o->after0[0][0].kind, CDC_K_TIME);
    assert_true(o->after0[0][0].v.tm.neg);
    assert_int_equal(o->after0[0][0].v.tm.hour, 507);
    assert_int_equal(o->after0[0][0].v.tm.minute, 48);
    assert_int_equal(o->after0[0][0].v.tm.second, 27);

    /* mysql-enum-string-set.000001: ENUM index / SET bits through c, u, d */
    o = run_oracle("rust_mysql_common/mysql-enum-string-set.000001");
    assert_int_equal(o->n_changes, 3);
    assert_string_equal(o->ops, "cud");
    assert_int_equal(o->after0[0][2].kind, CDC_K_ENUM);
    assert_int_equal(o->after0[0][2].v.u, 1);
    assert_int_equal(o->after0[0][3].kind, CDC_K_SET);
    assert_int_equal(o->after0[0][3].v.u, 5);
    assert_int_equal(o->before0[1][2].v.u, 1);
    assert_int_equal(o->after0[1][2].v.u, 2);
    assert_int_equal(o->after0[1][3].v.u, 10);
    assert_memory_equal(o->bytes[1][0], "field1", 6);
    assert_false(o->has_after[2][0]);
    assert_int_equal(o->before0[2][3].v.u, 10);
}

static void test_oracle_json_opaque(void **state)
{
    (void)state;
    /* json-opaque.binlog: the JSON column of each insert, rendered */
    trace t = {0};
    cdc__buf_init(&t.b, NULL);
    size_t n;
    uint8_t *data = read_file(fixture("rust_mysql_common/json-opaque.binlog"), &n);
    assert_int_equal(decode(data, n, 0, &t, "j"), CDC_OK);
    cdc__buf_terminate(&t.b);
    const char *s = (const char *)t.b.data;
    static const char *want[] = {
        "\"after\":{\"a\":{\"a\":\"base64:type15:VQ==\"}}", "\"after\":{\"a\":{\"b\":\"2012-03-18\"}}",
        "\"after\":{\"a\":{\"c\":\"2012-03-18 11:30:45.000000\"}}",
        "\"after\":{\"a\":{\"c\":\"87:31:46.654321\"}}", "\"after\":{\"a\":{\"e\":[0,1,true,false]}}",
        "\"after\":{\"a\":{\"e\":null}}",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!strstr(s, want[i])) {
            print_error("missing %s in\n%s\n", want[i], s);
            fail();
        }
    }
    free(data);
    cdc__buf_free(&t.b);
}

/* mdev35643_mysql_80_binlog.000001 (MySQL 8.0.40; EXPECTED.md gives the SQL):
 * a compressed transaction of 100 inserts a=1000+i, b=i,
 * c=CONCAT('--', i, '--', REPEAT('\/', 100), '--'), where '\/' is not a
 * MySQL escape and reads as '/', then a PARTIAL_JSON update
 * b = JSON_REPLACE(b, '$.b', REPEAT('oOo', 50)) with the before image. */
typedef struct mdev { int payload_rows; int bad; char after_json[1024]; uint64_t last_row; } mdev;
static int mdev_change(const cdc_change *c, void *ud)
{
    mdev *m = ud;
    const cdc_table *t = cdc_change_table(c);
    if (!strcmp(cdc_table_name(t), "t1") && cdc_event_is_inner(cdc_change_event(c))) {
        int i = m->payload_rows++;
        const cdc_value *a = cdc_change_after(c, 0), *b = cdc_change_after(c, 1),
                        *cc = cdc_change_after(c, 2);
        char want[300];
        int k = snprintf(want, sizeof want, "--%d--", i);
        for (int j = 0; j < 100; j++) k += snprintf(want + k, sizeof want - k, "/");
        snprintf(want + k, sizeof want - k, "--");
        if (!a || a->v.i != 1000 + i || !b || b->v.i != i || !cc ||
            cc->v.b.len != strlen(want) || memcmp(cc->v.b.ptr, want, cc->v.b.len) ||
            cdc_change_row(c) != (uint64_t)i)
            m->bad++;
        m->last_row = cdc_change_row(c);
    }
    if (cdc_change_op(c) == 'u' && !strcmp(cdc_table_name(t), "t2")) {
        cdc__buf b;
        cdc__err err;
        cdc__buf_init(&b, NULL);
        const cdc_value *v = cdc_change_after(c, 1);
        if (v && cdc__value_render_json(v, &b, &err) == CDC_OK && b.len < sizeof m->after_json)
            memcpy(m->after_json, b.data, b.len);
        cdc__buf_free(&b);
    }
    return 0;
}

static void test_oracle_payload_and_partial_json(void **state)
{
    (void)state;
    size_t n;
    uint8_t *data = read_file(fixture("mariadb-server-11.8.6/std_data/mdev35643_mysql_80_binlog.000001"), &n);
    assert_non_null(data);
    mdev m;
    memset(&m, 0, sizeof m);
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    cdc_decoder_set_change_cb(d, mdev_change, &m);
    for (size_t off = 0; off < n; off += 100) /* in pieces: the payload streams */
        assert_true(cdc_decoder_feed(d, data + off, n - off < 100 ? n - off : 100) >= 0);
    assert_int_equal(cdc_decoder_finish(d), CDC_OK);
    cdc_decoder_free(d);
    free(data);
    assert_int_equal(m.payload_rows, 100);
    assert_int_equal(m.bad, 0);
    assert_int_equal(m.last_row, 99);
    char want[400];
    int k = snprintf(want, sizeof want, "{\"a\":\"hulu\",\"b\":\"");
    for (int j = 0; j < 50; j++) k += snprintf(want + k, sizeof want - k, "oOo");
    snprintf(want + k, sizeof want - k, "\",\"c\":\"bulu\"}");
    assert_string_equal(m.after_json, want);
}

/* ---- transactions -------------------------------------------------------- */

typedef struct txns { cdc__buf log; } txns;
static int t_begin(const cdc_event *e, void *ud)
{
    txns *x = ud;
    cdc__buf_printf(&x->log, "B%s(%s) ", cdc_event_name(e), cdc_event_gtid(e));
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
    cdc__buf_printf(&x->log, "Q%.6s(%s) ", (const char *)sql.ptr, cdc_event_gtid(cdc_query_event(q)));
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
    /* MariaDB 10.0 (mysqlbinlog: GTID 0-3704-2815 a standalone CREATE TABLE,
     * GTID 0-3704-2816 a transaction of two inserts ending in Xid) */
    assert_string_equal(txn_log("binlog-parser/mysql-bin.07", &x),
                        "QCREATE(0-3704-2815) BMARIA_GTID(0-3704-2816) CXID ");
    /* MySQL 9.6: a BEGIN query after the tagged GTID, commit by Xid */
    assert_string_equal(txn_log("rust_mysql_common/binlog_transaction_with_GTID_TAG.000001", &x),
                        "BQUERY(55778904-0299-11f1-b1b8-4ef0c4956feb:mytag:3) CXID ");
    cdc__buf_free(&x.log);
}

/* ---- malformed input ---------------------------------------------------- */

/* decode_status is below; declared here for the compressed-event test */
static int decode_status(const uint8_t *p, size_t n, char *msg, size_t msglen);

/* ---- MariaDB compressed events (log_bin_compress) ----------------------- */

/* MariaDB's block: 0x80 | zlib(0) << 4 | n, n big-endian length bytes, zlib data. */
static size_t maria_compress(const uint8_t *p, size_t n, uint8_t *out)
{
    out[0] = 0x80 | 4;
    out[1] = (uint8_t)(n >> 24); out[2] = (uint8_t)(n >> 16);
    out[3] = (uint8_t)(n >> 8); out[4] = (uint8_t)n;
    uLongf cl = compressBound(n);
    assert_int_equal(compress(out + 5, &cl, p, n), Z_OK);
    return 5 + cl;
}

/* Replaces the event at `at` (no checksum in this file) with a rebuilt one. */
static uint8_t *splice_event(const uint8_t *file, size_t n, size_t at, const uint8_t *ev,
                             size_t evlen, size_t *out_n)
{
    uint32_t old = cdc__le32(file + at + 9);
    uint8_t *o = malloc(n - old + evlen);
    memcpy(o, file, at);
    memcpy(o + at, ev, evlen);
    memcpy(o + at + evlen, file + at + old, n - at - old);
    *out_n = n - old + evlen;
    return o;
}

typedef struct sqls { char text[2][512]; int n; } sqls;
static int grab_sql(const cdc_query *q, void *ud)
{
    sqls *x = ud;
    cdc_bytes b = cdc_query_sql(q);
    if (x->n < 2) snprintf(x->text[x->n++], 512, "%.*s", (int)b.len, (const char *)b.ptr);
    return 0;
}

static void values_of(const uint8_t *data, size_t n, vals_ctx *x, sqls *q)
{
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    cdc_decoder_set_change_cb(d, collect, x);
    cdc_decoder_set_query_cb(d, grab_sql, q);
    ptrdiff_t r = cdc_decoder_feed(d, data, n);
    if (r < 0) print_error("%s\n", cdc_decoder_errmsg(d));
    assert_int_equal(r, (ptrdiff_t)n);
    assert_int_equal(cdc_decoder_finish(d), CDC_OK);
    cdc_decoder_free(d);
}

static void test_maria_compressed(void **state)
{
    (void)state;
    /* mysql-bin.07 (MariaDB 10.0.15, no checksums): QUERY at 364, WRITE_ROWS_V1
     * at 723 with table id(6) flags(2) ncols(1) bitmap(1), then the row */
    size_t n;
    uint8_t *file = read_file(fixture("binlog-parser/mysql-bin.07"), &n);
    assert_non_null(file);
    assert_int_equal(file[723 + 4], CDC_EV_WRITE_ROWS_V1);
    assert_int_equal(file[364 + 4], CDC_EV_QUERY);

    static char want[64][128], got[64][128];
    vals_ctx a = {want, 0, 64}, b = {got, 0, 64};
    sqls qa = {0}, qb = {0};
    values_of(file, n, &a, &qa);

    /* WRITE_ROWS_COMPRESSED_V1 (166): the row data compressed */
    uint8_t ev[4096];
    uint32_t sz = cdc__le32(file + 723 + 9);
    size_t head = 19 + 8 + 1 + 1;
    memcpy(ev, file + 723, head);
    size_t m = head + maria_compress(file + 723 + head, sz - head, ev + head);
    ev[4] = CDC_EV_MARIA_WRITE_ROWS_COMPRESSED_V1;
    cdc__put_le32(ev + 9, (uint32_t)m);
    size_t n2;
    uint8_t *f2 = splice_event(file, n, 723, ev, m, &n2);

    /* QUERY_COMPRESSED (165): the statement text compressed */
    uint32_t qsz = cdc__le32(file + 364 + 9);
    const uint8_t *qb0 = file + 364 + 19;
    size_t qhead = 19 + 13 + cdc__le16(qb0 + 11) + qb0[8] + 1;
    memcpy(ev, file + 364, qhead);
    m = qhead + maria_compress(file + 364 + qhead, qsz - qhead, ev + qhead);
    ev[4] = CDC_EV_MARIA_QUERY_COMPRESSED;
    cdc__put_le32(ev + 9, (uint32_t)m);
    size_t n3;
    uint8_t *f3 = splice_event(f2, n2, 364, ev, m, &n3);

    values_of(f3, n3, &b, &qb);
    assert_int_equal(a.n, b.n);
    assert_true(a.n > 0);
    for (size_t i = 0; i < a.n; i++) assert_string_equal(want[i], got[i]);
    assert_int_equal(qa.n, qb.n);
    assert_true(qa.n > 0);
    assert_string_equal(qa.text[0], qb.text[0]);
    assert_non_null(strstr(qb.text[0], "CREATE"));

    /* a corrupt compressed block is an error naming the event */
    f3[364 + qhead + 7] ^= 0xff;
    char msg[512];
    assert_int_equal(decode_status(f3, n3, msg, sizeof msg), CDC_ERR_CORRUPT);
    assert_non_null(strstr(msg, "QUERY_COMPRESSED"));
    free(f3);
    free(f2);
    free(file);
}



static int decode_status(const uint8_t *p, size_t n, char *msg, size_t msglen)
{
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    cdc_decoder_set_position(d, "x.000001", 0);
    ptrdiff_t r = cdc_decoder_feed(d, p, n);
    int rc = r < 0 ? (int)r : cdc_decoder_finish(d);
    snprintf(msg, msglen, "%s", cdc_decoder_errmsg(d));
    /* errors are sticky */
    if (rc) assert_int_equal(cdc_decoder_feed(d, p, 1), rc);
    cdc_decoder_free(d);
    return rc;
}

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

/* TABLE_MAP with corrupt metadata, built by hand in EVENTS mode, no checksum. */
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

/* ---- a large compressed transaction, bounded memory ------------------- */

static size_t live, peak;
typedef struct hdr { size_t n; max_align_t pad; } hdr;
static void *c_malloc(size_t n, void *ud)
{
    (void)ud;
    hdr *h = malloc(sizeof *h + n);
    if (!h) return NULL;
    h->n = n;
    live += n;
    if (live > peak) peak = live;
    return h + 1;
}
static void c_free(void *p, void *ud)
{
    (void)ud;
    if (!p) return;
    hdr *h = (hdr *)p - 1;
    live -= h->n;
    free(h);
}
static void *c_realloc(void *p, size_t n, void *ud)
{
    void *q = c_malloc(n, ud);
    if (!q) return NULL;
    if (p) {
        hdr *h = (hdr *)p - 1;
        memcpy(q, p, h->n < n ? h->n : n);
        c_free(p, ud);
    }
    return q;
}
static const cdc_allocator count_alloc = {c_malloc, c_realloc, c_free, NULL};

static uint64_t rows_seen, last_row;
static int count_rows(const cdc_change *c, void *ud)
{
    (void)ud;
    const cdc_value *v = cdc_change_after(c, 0);
    if (!v || v->kind != CDC_K_INT || v->v.i != (int64_t)rows_seen) return -1;
    last_row = cdc_change_row(c);
    rows_seen++;
    return 0;
}

static size_t lenenc(uint8_t *p, uint64_t v) { return cdc__lenenc_put(p, v); }

static void test_large_payload_bounded_memory(void **state)
{
    (void)state;
    /* inner events: TABLE_MAP + WRITE_ROWS (100 rows of INT, VARCHAR(200)) */
    enum { ROWS_PER_EVENT = 100, EVENTS = 22000 };
    static const uint8_t tm[] = {7, 0, 0, 0, 0, 0, 1, 0, 2, 'd', 'b', 0, 1, 't', 0, 2, 3, 15,
                                 2, 200, 0, 0x03};
    uint8_t *rows = malloc(70000);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
    size_t cap = 4u << 20, clen = 0;
    uint8_t *comp = malloc(cap);
    uint64_t total = 0, id = 0;
    uint8_t ev[100000];
    for (int e = 0; e < EVENTS; e++) {
        size_t n = put_event(ev, CDC_EV_TABLE_MAP, tm, sizeof tm);
        size_t rl = 0;
        static const uint8_t rh[] = {7, 0, 0, 0, 0, 0, 1, 0, 2, 0, 2, 0x03};
        memcpy(rows, rh, sizeof rh);
        rl = sizeof rh;
        for (int r = 0; r < ROWS_PER_EVENT; r++) {
            rows[rl++] = 0xfc;
            cdc__put_le32(rows + rl, (uint32_t)id++);
            rl += 4;
            int len = snprintf((char *)rows + rl + 1, 200, "row %llu of a long generated transaction",
                               (unsigned long long)id);
            rows[rl] = (uint8_t)len;
            rl += 1 + (size_t)len;
        }
        n += put_event(ev + n, CDC_EV_WRITE_ROWS, rows, rl);
        total += n;
        ZSTD_inBuffer ib = {ev, n, 0};
        while (ib.pos < ib.size) {
            ZSTD_outBuffer ob = {comp + clen, cap - clen, 0};
            ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue);
            clen += ob.pos;
            if (cap - clen < 65536) comp = realloc(comp, cap *= 2);
        }
    }
    for (;;) {
        ZSTD_inBuffer ib = {NULL, 0, 0};
        ZSTD_outBuffer ob = {comp + clen, cap - clen, 0};
        size_t left = ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end);
        clen += ob.pos;
        if (left == 0) break;
        comp = realloc(comp, cap *= 2);
    }
    ZSTD_freeCCtx(cc);
    assert_true(total > 100u * 1000 * 1000);

    /* the payload event: fields, then the compressed bytes (EVENTS mode, no CRC) */
    uint8_t fields[64];
    size_t fl = 0;
    fields[fl++] = 2; fl += lenenc(fields + fl, 1); fields[fl++] = 0;  /* zstd */
    uint8_t tmp[9];
    size_t l = lenenc(tmp, total);
    fields[fl++] = 3; fields[fl++] = (uint8_t)l; memcpy(fields + fl, tmp, l); fl += l;
    l = lenenc(tmp, clen);
    fields[fl++] = 1; fields[fl++] = (uint8_t)l; memcpy(fields + fl, tmp, l); fl += l;
    fields[fl++] = 0;
    size_t evlen = 19 + fl + clen;
    uint8_t *pev = malloc(evlen);
    memset(pev, 0, 19);
    pev[4] = CDC_EV_TRANSACTION_PAYLOAD;
    cdc__put_le32(pev + 9, (uint32_t)evlen);
    memcpy(pev + 19, fields, fl);
    memcpy(pev + 19 + fl, comp, clen);
    free(comp);

    live = peak = 0;
    rows_seen = 0;
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &count_alloc, NULL, 0), CDC_OK);
    assert_int_equal(cdc_decoder_set_mode(d, CDC_DECODER_EVENTS), CDC_OK);
    cdc_decoder_set_change_cb(d, count_rows, NULL);
    for (size_t off = 0; off < evlen;) {
        size_t k = evlen - off < 65536 ? evlen - off : 65536;
        ptrdiff_t r = cdc_decoder_feed(d, pev + off, k);
        if (r < 0) print_error("%s\n", cdc_decoder_errmsg(d));
        assert_int_equal(r, (ptrdiff_t)k);
        off += k;
    }
    assert_int_equal(cdc_decoder_finish(d), CDC_OK);
    cdc_decoder_free(d);
    assert_int_equal(rows_seen, (uint64_t)EVENTS * ROWS_PER_EVENT);
    assert_int_equal(last_row, rows_seen - 1); /* running row index across the payload */
    print_message("payload: %llu bytes of events, %zu compressed, peak decoder memory %zu\n",
                  (unsigned long long)total, clen, peak);
    assert_true(peak < 4u << 20);
    assert_int_equal(live, 0);
    free(pev);
    free(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_fixtures),
        cmocka_unit_test(test_against_mysqlbinlog),
        cmocka_unit_test(test_mariadb_gtid_and_payload),
        cmocka_unit_test(test_oracle_event_headers),
        cmocka_unit_test(test_oracle_values),
        cmocka_unit_test(test_oracle_json_opaque),
        cmocka_unit_test(test_oracle_payload_and_partial_json),
        cmocka_unit_test(test_maria_compressed),
        cmocka_unit_test(test_events_mode_positions),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_large_payload_bounded_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
