/* Unit tests for util.c and error.c: reader bounds, lenenc, buffers, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "util.h"

static void test_reader_bounds(void **state)
{
    (void)state;
    const uint8_t in[] = {0x01, 0x02, 0x03, 0x04, 0x05};
    cdc__reader r = cdc__rd(in, sizeof in);
    assert_int_equal(cdc__rd_u16(&r), 0x0201);
    assert_int_equal(cdc__rd_u24(&r), 0x050403);
    assert_false(r.bad);
    assert_int_equal(cdc__rd_u8(&r), 0);
    assert_true(r.bad);
    /* once bad, stays bad and yields zeros */
    assert_int_equal(cdc__rd_u32(&r), 0);
    assert_true(r.bad);
}

static void test_lenenc_roundtrip(void **state)
{
    (void)state;
    const uint64_t vals[] = {0, 250, 251, 0xffff, 0x10000, 0xffffff, 0x1000000, UINT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        uint8_t buf[9];
        size_t n = cdc__lenenc_put(buf, vals[i]);
        cdc__reader r = cdc__rd(buf, n);
        assert_true(cdc__rd_lenenc(&r, NULL) == vals[i]);
        assert_false(r.bad);
        assert_int_equal(cdc__rd_left(&r), 0);
        /* every shorter prefix is a short read, never a wrong number */
        for (size_t cut = 0; cut < n; cut++) {
            cdc__reader s = cdc__rd(buf, cut);
            cdc__rd_lenenc(&s, NULL);
            assert_true(s.bad);
        }
    }
}

static void test_lenenc_null_and_error_marker(void **state)
{
    (void)state;
    const uint8_t null_marker[] = {0xfb};
    bool is_null = false;
    cdc__reader r = cdc__rd(null_marker, 1);
    cdc__rd_lenenc(&r, &is_null);
    assert_true(is_null);
    assert_false(r.bad);
    r = cdc__rd(null_marker, 1);
    cdc__rd_lenenc(&r, NULL);
    assert_true(r.bad); /* NULL where a number must be is malformed */
    const uint8_t ff[] = {0xff, 0, 0};
    r = cdc__rd(ff, sizeof ff);
    cdc__rd_lenenc(&r, &is_null);
    assert_true(r.bad);
}

static void test_lenenc_bytes_and_cstr(void **state)
{
    (void)state;
    const uint8_t in[] = {3, 'a', 'b', 'c', 'x', 'y', 0, 5, 'q'};
    cdc__reader r = cdc__rd(in, sizeof in);
    cdc_bytes s = cdc__rd_lenenc_bytes(&r, NULL);
    assert_int_equal(s.len, 3);
    assert_memory_equal(s.ptr, "abc", 3);
    cdc_bytes c = cdc__rd_cstr(&r);
    assert_int_equal(c.len, 2);
    assert_memory_equal(c.ptr, "xy", 2);
    s = cdc__rd_lenenc_bytes(&r, NULL); /* claims 5 bytes, 1 left */
    assert_true(r.bad);
    assert_null(s.ptr);
    const uint8_t unterminated[] = {'a', 'b'};
    r = cdc__rd(unterminated, 2);
    cdc__rd_cstr(&r);
    assert_true(r.bad);
}

static void test_buf_growth(void **state)
{
    (void)state;
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    for (int i = 0; i < 1000; i++) assert_int_equal(cdc__buf_printf(&b, "%d,", i), CDC_OK);
    assert_int_equal(cdc__buf_terminate(&b), CDC_OK);
    assert_true(strncmp((char *)b.data, "0,1,2,", 6) == 0);
    assert_non_null(strstr((char *)b.data, ",999,"));
    char big[300];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;
    size_t before = b.len;
    assert_int_equal(cdc__buf_printf(&b, "%s", big), CDC_OK); /* longer than printf's stack buffer */
    assert_int_equal(b.len, before + 299);
    cdc__buf_free(&b);
}

static int fail_after;
static void *counting_malloc(size_t n, void *ud) { (void)ud; return fail_after-- > 0 ? test_malloc(n) : NULL; }
static void *counting_realloc(void *p, size_t n, void *ud) { (void)ud; return fail_after-- > 0 ? test_realloc(p, n) : NULL; }
static void counting_free(void *p, void *ud) { (void)ud; test_free(p); }

static void test_buf_allocation_failure(void **state)
{
    (void)state;
    cdc_allocator a = {counting_malloc, counting_realloc, counting_free, NULL};
    for (int budget = 0; budget < 4; budget++) {
        fail_after = budget;
        cdc__buf b;
        cdc__buf_init(&b, &a);
        int rc = CDC_OK;
        for (int i = 0; i < 100 && rc == CDC_OK; i++) rc = cdc__buf_append(&b, "0123456789", 10);
        assert_int_equal(rc, CDC_ERR_NOMEM); /* growth needs more than `budget` allocations */
        cdc__buf_free(&b);                   /* and nothing leaks (cmocka checks) */
    }
}

static void test_error_table(void **state)
{
    (void)state;
    assert_string_equal(cdc_err_name(CDC_ERR_AUTH), "CDC_ERR_AUTH");
    assert_string_equal(cdc_strerror(CDC_OK), "success");
    assert_string_equal(cdc_err_name(12345), "CDC_ERR_UNKNOWN");
    assert_true(cdc_is_retriable(CDC_ERR_CLOSED));
    assert_false(cdc_is_retriable(CDC_ERR_AUTH));
    cdc__err e;
    cdc__err_clear(&e);
    assert_int_equal(cdc__err_set(&e, CDC_ERR_CORRUPT, "need %d bytes, %d left", 5, 2), CDC_ERR_CORRUPT);
    cdc__err_prefix(&e, "binlog.000001:%u", 1337u);
    assert_string_equal(e.msg, "binlog.000001:1337: need 5 bytes, 2 left");
    char out[16];
    cdc__err_copy_out(&e, out, sizeof out);
    assert_string_equal(out, "binlog.000001:1");
    assert_string_equal(cdc_version(), CDC_VERSION_STRING);
}

/* cdc__parse_u64: every digit count up to 20, the overflow edge, junk. */
static void test_parse_u64_edges(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_true(cdc__parse_u64("18446744073709551615", 20, &v) && v == UINT64_MAX);
    assert_false(cdc__parse_u64("18446744073709551616", 20, &v));
    assert_false(cdc__parse_u64("99999999999999999999", 20, &v));
    assert_true(cdc__parse_u64("9999999999999999999", 19, &v) && v == 9999999999999999999ull);
    assert_true(cdc__parse_u64("00000000000000000001", 20, &v) && v == 1);
    assert_false(cdc__parse_u64("123456789012345678901", 21, &v));
    assert_false(cdc__parse_u64("", 0, &v));
    assert_false(cdc__parse_u64("1x", 2, &v));
    assert_false(cdc__parse_u64("-1", 2, &v));
    assert_false(cdc__parse_u64("1844674407370955161/", 20, &v));
    char buf[32];
    for (int n = 1; n <= 19; n++) {
        uint64_t want = 0;
        for (int i = 0; i < n; i++) {
            buf[i] = (char)('1' + i % 9);
            want = want * 10 + (uint64_t)(1 + i % 9);
        }
        assert_true(cdc__parse_u64(buf, (size_t)n, &v));
        assert_true(v == want);
    }
}

/* cdc__malloc_huge: with libc's allocator a block aligned to a huge page
 * that grows and frees as any other; a size that is no multiple of one,
 * or another allocator, gets a plain allocation from that allocator. */
static size_t huge_mallocs;
static void *h_malloc(size_t n, void *ud) { (void)ud; huge_mallocs++; return test_malloc(n); }
static void *h_realloc(void *p, size_t n, void *ud) { (void)ud; return test_realloc(p, n); }
static void h_free(void *p, void *ud) { (void)ud; test_free(p); }

static void test_malloc_huge(void **state)
{
    (void)state;
    uint8_t *p = cdc__malloc_huge(NULL, 2 * CDC__HUGE_PAGE);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % CDC__HUGE_PAGE, 0);
    memset(p, 0xa5, 2 * CDC__HUGE_PAGE); /* all of it usable (ASan checks) */
    p = cdc__realloc(NULL, p, 3 * CDC__HUGE_PAGE);
    assert_non_null(p);
    assert_int_equal(p[2 * CDC__HUGE_PAGE - 1], 0xa5);
    cdc__free(NULL, p);
    uint8_t *q = cdc__malloc_huge(NULL, 100);
    assert_non_null(q);
    q[99] = 1;
    cdc__free(NULL, q);
    cdc_allocator a = {h_malloc, h_realloc, h_free, NULL};
    huge_mallocs = 0;
    void *r = cdc__malloc_huge(&a, CDC__HUGE_PAGE);
    assert_non_null(r);
    assert_int_equal(huge_mallocs, 1);
    cdc__free(&a, r); /* cmocka would report it leaked or freed wrongly */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_bounds),
        cmocka_unit_test(test_parse_u64_edges),
        cmocka_unit_test(test_lenenc_roundtrip),
        cmocka_unit_test(test_lenenc_null_and_error_marker),
        cmocka_unit_test(test_lenenc_bytes_and_cstr),
        cmocka_unit_test(test_buf_growth),
        cmocka_unit_test(test_buf_allocation_failure),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_malloc_huge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
