/*
 * test_decoder_compressed.c: compressed events. MariaDB's log_bin_compress
 * events (QUERY_COMPRESSED, *_ROWS_COMPRESSED_V1) give the same values as
 * their plain originals and a corrupt block is an error naming the event;
 * a generated ~100 MB MySQL TRANSACTION_PAYLOAD decodes every row with
 * peak decoder memory under 4 MiB.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <cmocka.h>

#include <cdc/cdc.h>

#include "decoder.h"
#include "util.h"
#include "value.h"

#include "binlogtest.h"
#include "testalloc.h"
#include "decodertest.h"

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
        cmocka_unit_test(test_maria_compressed),
        cmocka_unit_test(test_large_payload_bounded_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
