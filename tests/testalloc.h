/*
 * testalloc.h: cmocka's allocator behind libcdc's allocator hooks, so a
 * unit test that makes its handles with &test_alloc fails on any leak;
 * and reading a whole fixture file. Include after <cmocka.h>.
 */
#ifndef CDC_TESTALLOC_H
#define CDC_TESTALLOC_H

#include <stdio.h>
#include <stdlib.h>

#include <cdc/common.h>

static void *t_malloc(size_t n, void *ud) { (void)ud; return _test_malloc(n, __FILE__, __LINE__); }
static void *t_realloc(void *p, size_t n, void *ud) { (void)ud; return _test_realloc(p, n, __FILE__, __LINE__); }
static void t_free(void *p, void *ud) { (void)ud; _test_free(p, __FILE__, __LINE__); }
static const cdc_allocator test_alloc = {t_malloc, t_realloc, t_free, NULL};

/* The whole file in a malloc'd buffer (the caller frees it), or NULL. */
static inline uint8_t *read_file(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(sz > 0 ? (size_t)sz : 1);
    *n = p ? fread(p, 1, (size_t)(sz > 0 ? sz : 0), f) : 0;
    fclose(f);
    return p;
}

#endif /* CDC_TESTALLOC_H */
