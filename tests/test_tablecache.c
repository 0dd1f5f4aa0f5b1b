/*
 * Unit tests for the TABLE_MAP cache of tablemap.c (test_tablemap.c
 * tests the parsing): an unchanged TABLE_MAP is served from the cache, a changed one (same id, other
 * bytes) is parsed again, maps without column names are never cached,
 * a new format description empties the cache, and the JSON name keys
 * equal what escaping the names gives. Leaks fail through test_alloc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "jsonw.h"
#include "tablemap.h"
#include "testalloc.h"

/* A TABLE_MAP body (v4 post-header: 6-byte id, 2-byte flags) of
 * db.tbl (INT, VARCHAR(10)) with column names n1, n2 unless NULL. */
static size_t map_body(uint8_t *b, uint64_t id, const char *db, const char *tbl, const char *n1,
                       const char *n2)
{
    size_t k = 0;
    for (int i = 0; i < 6; i++) b[k++] = (uint8_t)(id >> (8 * i));
    b[k++] = 1; b[k++] = 0; /* flags */
    b[k++] = (uint8_t)strlen(db); memcpy(b + k, db, strlen(db) + 1); k += strlen(db) + 1;
    b[k++] = (uint8_t)strlen(tbl); memcpy(b + k, tbl, strlen(tbl) + 1); k += strlen(tbl) + 1;
    b[k++] = 2;                           /* columns */
    b[k++] = 3; b[k++] = 15;              /* LONG, VARCHAR */
    b[k++] = 2; b[k++] = 40; b[k++] = 0;  /* metadata: VARCHAR max 40 bytes */
    b[k++] = 0x02;                        /* nullable: column 2 */
    if (n1) {
        b[k++] = 4; /* COLUMN_NAME */
        b[k++] = (uint8_t)(2 + strlen(n1) + strlen(n2));
        b[k++] = (uint8_t)strlen(n1); memcpy(b + k, n1, strlen(n1)); k += strlen(n1);
        b[k++] = (uint8_t)strlen(n2); memcpy(b + k, n2, strlen(n2)); k += strlen(n2);
    }
    return k;
}

static void expect_json(cdc_bytes got, const char *s, bool key)
{
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    assert_int_equal(cdc__render_utf8_string(&b, (const uint8_t *)s, strlen(s)), CDC_OK);
    if (key) cdc__buf_putc(&b, ':');
    assert_int_equal(got.len, b.len);
    assert_memory_equal(got.ptr, b.data, b.len);
    cdc__buf_free(&b);
}

static void test_cache(void **state)
{
    (void)state;
    cdc__fde f;
    cdc__fde_init_v4(&f);
    cdc__table_map m;
    cdc__table_map_init(&m, &test_alloc);
    cdc__err err;
    uint8_t a[256], b[256], c[256];
    size_t na = map_body(a, 42, "shop", "or\"ders", "id", "n\xc3\xa9");
    size_t nb = map_body(b, 42, "shop", "or\"ders", "id", "name");
    size_t nc = map_body(c, 43, "shop", "anon", NULL, NULL);

    struct cdc_table *t1, *t2, *t3, *u;
    assert_int_equal(cdc__table_map_load(&m, &f, a, na, &t1, &err), CDC_OK);
    assert_string_equal(t1->col_names[1], "n\xc3\xa9");
    expect_json(t1->jdb, "shop", false);
    expect_json(t1->jname, "or\"ders", false);
    expect_json(t1->jkey[0], "id", true);
    expect_json(t1->jkey[1], "n\xc3\xa9", true);
    assert_ptr_equal(t1->jkey_src[1], t1->col_names[1]);
    assert_int_equal(cdc__table_map_load(&m, &f, c, nc, &t3, &err), CDC_OK);
    assert_null(t3->col_names[0]);
    expect_json(t3->jkey[1], "@2", true);
    assert_ptr_equal(cdc__table_map_get(&m, 42), t1);

    /* names supplied later (a stream's information_schema names, which
     * DDL may change under the same map bytes) do not make it cacheable */
    static const char *const later[] = {"a", "b"};
    cdc__table_borrow_names(t3, later);
    expect_json(t3->jkey[1], "@2", true); /* output.c sees jkey_src != col_names */
    assert_true(t3->jkey_src[1] != t3->col_names[1]);
    /* statement end: the named map is kept, the unnamed one is not */
    cdc__table_map_clear(&m);
    assert_null(cdc__table_map_get(&m, 42));
    assert_int_equal(m.ncache, 1);
    assert_int_equal(cdc__table_map_load(&m, &f, a, na, &u, &err), CDC_OK);
    assert_ptr_equal(u, t1); /* same bytes: the cached table */
    assert_int_equal(m.ncache, 0);
    cdc__table_map_clear(&m);

    /* same id, other bytes (a renamed column): parsed again */
    assert_int_equal(cdc__table_map_load(&m, &f, b, nb, &t2, &err), CDC_OK);
    assert_string_equal(t2->col_names[1], "name");
    expect_json(t2->jkey[1], "name", true);
    cdc__table_map_clear(&m);
    assert_int_equal(m.ncache, 1); /* the newer map of id 42 replaced the older */
    assert_int_equal(cdc__table_map_load(&m, &f, a, na, &u, &err), CDC_OK);
    assert_string_equal(u->col_names[1], "n\xc3\xa9");
    cdc__table_map_clear(&m);

    /* more tables than the cache holds: the oldest go */
    for (uint64_t id = 100; id < 100 + CDC__TABLE_CACHE_MAX + 5; id++) {
        size_t n = map_body(b, id, "db", "t", "x", "y");
        assert_int_equal(cdc__table_map_load(&m, &f, b, n, &u, &err), CDC_OK);
        cdc__table_map_clear(&m);
    }
    assert_int_equal(m.ncache, CDC__TABLE_CACHE_MAX);

    /* a new format description: nothing cached survives */
    cdc__table_map_flush(&m);
    assert_int_equal(m.ncache, 0);
    assert_int_equal(cdc__table_map_load(&m, &f, a, na, &u, &err), CDC_OK);
    cdc__table_map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
