/*
 * valtest.h: helpers shared by the value-codec tests (test_rowvalue.c,
 * test_decimal.c, test_json.c, test_render.c): hex input, rendering into
 * a string through cmocka's leak-checking allocator, fixture files.
 */
#ifndef CDC_VALTEST_H
#define CDC_VALTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "value.h"

static __attribute__((unused)) void *vt_malloc(size_t n, void *ud) { (void)ud; return test_malloc(n); }
static __attribute__((unused)) void *vt_realloc(void *p, size_t n, void *ud) { (void)ud; return test_realloc(p, n); }
static __attribute__((unused)) void vt_free(void *p, void *ud) { (void)ud; test_free(p); }
static const cdc_allocator vt_alloc = {vt_malloc, vt_realloc, vt_free, NULL};

/* Hex text (spaces allowed) to bytes; returns the byte count. */
static __attribute__((unused)) size_t vt_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p >= '0' && *p <= '9') v = *p - '0';
        else if (*p >= 'a' && *p <= 'f') v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F') v = *p - 'A' + 10;
        else continue;
        if (hi < 0) { hi = v; continue; }
        assert_true(n < cap);
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    assert_int_equal(hi, -1);
    return n;
}

/* Renders v and returns the text in a static buffer (asserts success). */
static __attribute__((unused)) const char *vt_render(const cdc_value *v)
{
    static char text[8192];
    cdc__buf b;
    cdc__buf_init(&b, &vt_alloc);
    cdc__err err;
    cdc__err_clear(&err);
    int rc = cdc__value_render_json(v, &b, &err);
    if (rc != CDC_OK) fail_msg("render failed: %s (%s)", cdc_err_name(rc), err.msg);
    assert_true(b.len < sizeof text);
    memcpy(text, b.data, b.len);
    text[b.len] = 0;
    cdc__buf_free(&b);
    return text;
}

/* Decodes hex bytes as a value of col; asserts it consumes exactly all. */
static __attribute__((unused)) cdc_value vt_decode(const cdc_column *col, const char *hex)
{
    static uint8_t bytes[4096];
    size_t n = vt_unhex(hex, bytes, sizeof bytes);
    cdc_value v;
    size_t used = 0;
    cdc__err err;
    cdc__err_clear(&err);
    int rc = cdc__value_decode(col, bytes, n, &v, &used, &err);
    if (rc != CDC_OK) fail_msg("decode of %s failed: %s (%s)", hex, cdc_err_name(rc), err.msg);
    assert_int_equal(used, n);
    return v;
}

/* Decode + render in one go. */
static __attribute__((unused)) const char *vt_text(const cdc_column *col, const char *hex)
{
    cdc_value v = vt_decode(col, hex);
    return vt_render(&v);
}

/* Reads a whole fixture file (under $CDC_FIXTURES) into a test_malloc'd
 * buffer; a missing file fails the test, it is never skipped. */
static __attribute__((unused)) uint8_t *vt_fixture(const char *rel, size_t *len)
{
    const char *root = getenv("CDC_FIXTURES");
    if (!root) fail_msg("CDC_FIXTURES is not set (run through meson test)");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open fixture %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = test_malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

#endif /* CDC_VALTEST_H */
