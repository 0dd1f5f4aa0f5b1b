/* Unit tests of lib/snapshot_table.c: one table as a snapshot reads it,
 * from information_schema results built in memory as the servers return
 * them (byte order of schema and table, the columns the snapshot selects):
 * which tables are read, the select list (excluded columns, FLOAT as
 * DOUBLE, col+0 for ENUM labels the metadata may have lost), keyset chunk
 * SQL, text rows converted into values (NULLs, a repaired 4-byte label,
 * values that do not fit refused naming the column), and DDL detection by
 * comparing definitions. The snapshot against the servers is
 * itest_snapshot.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "snapshot_table.h"

#include "testalloc.h"

static const char *const col_names[] = {
    "TABLE_SCHEMA", "TABLE_NAME", "COLUMN_NAME", "DATA_TYPE", "COLUMN_TYPE", "CHARACTER_OCTET_LENGTH",
    "NUMERIC_PRECISION", "NUMERIC_SCALE", "DATETIME_PRECISION", "CHARACTER_SET_NAME", "COLLATION_NAME", "ID",
    "IS_NULLABLE", "COLUMN_KEY", "EXTRA", "TABLE_ROWS"};
enum { NCOLS = sizeof col_names / sizeof col_names[0] };

/* Rows of information_schema.COLUMNS (NULL: SQL NULL). */
typedef const char *colrow[NCOLS];

static const colrow columns_rows[] = {
    {"mysql", "user", "Host", "char", "char(255)", "1020", NULL, NULL, NULL, "ascii", "ascii_general_ci", "11",
     "NO", "PRI", "", "3"},
    {"shop", "nokey", "a", "int", "int", NULL, "10", "0", NULL, NULL, NULL, NULL, "YES", "", "", "5"},
    {"shop", "orders", "id", "int", "int", NULL, "10", "0", NULL, NULL, NULL, NULL, "NO", "PRI", "", "1000"},
    {"shop", "orders", "code", "varchar", "varchar(8)", "32", NULL, NULL, NULL, "utf8mb4", "utf8mb4_general_ci", "45",
     "NO", "PRI", "", "1000"},
    {"shop", "orders", "price", "float", "float", NULL, "12", NULL, NULL, NULL, NULL, NULL, "YES", "", "", "1000"},
    {"shop", "orders", "secret", "varchar", "varchar(10)", "40", NULL, NULL, NULL, "utf8mb4", "utf8mb4_general_ci",
     "45", "YES", "", "", "1000"},
    /* the second label is a 4-byte character the utf8mb3 metadata shows as '?' */
    {"shop", "orders", "mood", "enum", "enum('happy','?')", "20", NULL, NULL, NULL, "utf8mb4", "utf8mb4_general_ci",
     "45", "YES", "", "", "1000"},
    {"shop", "skipme", "x", "int", "int", NULL, "10", "0", NULL, NULL, NULL, NULL, "NO", "PRI", "", "1"},
};

static const char *const stat_names[] = {"TABLE_SCHEMA", "TABLE_NAME", "COLUMN_NAME", "SUB_PART"};
typedef const char *statrow[4];
static const statrow stat_rows[] = {
    {"shop", "orders", "id", NULL},
    {"shop", "orders", "code", NULL},
    {"shop", "skipme", "x", NULL},
};

static cdc__result *result_of(const char *const *names, size_t ncols, const char *const *cells, size_t nrows)
{
    cdc__result *r;
    assert_int_equal(cdc__result_new(&r, &test_alloc), CDC_OK);
    cdc__coldef defs[NCOLS];
    memset(defs, 0, sizeof defs);
    for (size_t i = 0; i < ncols; i++) defs[i].name = (cdc_bytes){(const uint8_t *)names[i], strlen(names[i])};
    assert_int_equal(cdc__result_on_columns(defs, ncols, r), 0);
    for (size_t k = 0; k < nrows; k++) {
        cdc_bytes vals[NCOLS];
        for (size_t i = 0; i < ncols; i++) {
            const char *v = cells[k * ncols + i];
            vals[i] = (cdc_bytes){(const uint8_t *)v, v ? strlen(v) : 0};
        }
        assert_int_equal(cdc__result_on_row(vals, ncols, r), 0);
    }
    assert_int_equal(cdc__result_on_end(NULL, false, r), 0);
    return r;
}

static cdc__result *columns_result(const colrow *rows, size_t n) { return result_of(col_names, NCOLS, *rows, n); }
static cdc__result *stats_result(void)
{
    return result_of(stat_names, 4, *stat_rows, sizeof stat_rows / sizeof stat_rows[0]);
}

static bool not_skipme(const char *db, const char *table, void *ud)
{
    (void)db;
    (void)ud;
    return strcmp(table, "skipme") != 0;
}

static bool secret_col(const char *db, const char *table, const char *column, void *ud)
{
    (void)db;
    (void)table;
    (void)ud;
    return !strcmp(column, "secret");
}

typedef struct fixture {
    cdc__snap_table *t;
    size_t n;
} fixture;

static void build(fixture *fx)
{
    cdc__result *cols = columns_result(columns_rows, sizeof columns_rows / sizeof columns_rows[0]);
    cdc__result *st = stats_result();
    cdc__snap_filter f = {not_skipme, secret_col, NULL};
    cdc__err e = {0};
    int rc = cdc__snap_tables_build(cols, st, false, &f, &test_alloc, &fx->t, &fx->n, &e);
    if (rc) fail_msg("build: %s", e.msg);
    cdc__result_free(cols);
    cdc__result_free(st);
}

static char *sql_of(const cdc__snap_table *t, const char *cond, const cdc_bytes *last, uint64_t limit, int *rc)
{
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    *rc = cdc__snap_table_chunk_sql(t, cond, last, limit, &b);
    cdc__buf_terminate(&b);
    return (char *)b.data;
}

/* The system schema and the filtered table are not read; the select
 * list and the key are what the snapshot's SQL needs. */
static void test_tables_and_select_lists(void **state)
{
    (void)state;
    fixture fx;
    build(&fx);
    assert_int_equal(fx.n, 2);
    const cdc__snap_table *nokey = &fx.t[0], *orders = &fx.t[1];
    assert_string_equal(nokey->t.db, "shop");
    assert_string_equal(nokey->t.name, "nokey");
    assert_false(nokey->has_key);
    assert_false(nokey->pageable);
    assert_int_equal(nokey->rows_est, 5);
    assert_string_equal(nokey->select_sql, "SELECT `a` FROM `shop`.`nokey`");

    assert_string_equal(orders->t.name, "orders");
    assert_int_equal(orders->t.ncols, 5); /* described whole; secret is left out of the rows */
    assert_true(orders->has_key);
    assert_true(orders->pageable);
    assert_int_equal(orders->nkey, 2);
    assert_string_equal(orders->select_sql,
                        "SELECT `id`,`code`,CAST(`price` AS DOUBLE),`mood`,`mood`+0 FROM `shop`.`orders`");
    assert_string_equal(orders->order_sql, " ORDER BY `id`,`code`");
    assert_int_equal(cdc__snap_table_fields(orders), 5);
    assert_true(orders->sc[3].excluded);
    assert_int_equal(orders->sc[4].index_sel, 5);
    assert_true(orders->t.cols[0].flags & CDC_COLF_PRIMARY_KEY);
    assert_false(orders->t.cols[2].flags & CDC_COLF_PRIMARY_KEY);
    assert_true(orders->t.cols[2].flags & CDC_COLF_NULLABLE);
    assert_int_equal(orders->t.cols[1].charset, 45);
    assert_int_equal(orders->t.cols[4].real_type, CDC_T_ENUM);
    cdc__snap_tables_free(&test_alloc, fx.t, fx.n);
}

/* One chunk: range condition, after the previous chunk's last key, in
 * key order; a table without a key is one pass. */
static void test_chunk_sql(void **state)
{
    (void)state;
    fixture fx;
    build(&fx);
    int rc;
    char *sql = sql_of(&fx.t[1], NULL, NULL, 100, &rc);
    assert_int_equal(rc, CDC_OK);
    assert_string_equal(sql, "SELECT `id`,`code`,CAST(`price` AS DOUBLE),`mood`,`mood`+0 FROM `shop`.`orders` "
                             "ORDER BY `id`,`code` LIMIT 100");
    free(sql);
    cdc_bytes last[2] = {{(const uint8_t *)"7", 1}, {(const uint8_t *)"a'b", 3}};
    sql = sql_of(&fx.t[1], "`id` >= 5 AND `id` < 10", last, 50, &rc);
    assert_int_equal(rc, CDC_OK);
    assert_string_equal(sql, "SELECT `id`,`code`,CAST(`price` AS DOUBLE),`mood`,`mood`+0 FROM `shop`.`orders` "
                             "WHERE (`id` >= 5 AND `id` < 10) AND ((`id` > 7) OR (`id` = 7 AND `code` > "
                             "_utf8mb4 X'612762' COLLATE utf8mb4_general_ci)) ORDER BY `id`,`code` LIMIT 50");
    free(sql);
    /* a key text that is not a number never becomes SQL */
    cdc_bytes evil[2] = {{(const uint8_t *)"7 OR 1=1", 8}, {(const uint8_t *)"x", 1}};
    sql = sql_of(&fx.t[1], NULL, evil, 50, &rc);
    assert_int_equal(rc, CDC_ERR_INVALID);
    free(sql);
    sql = sql_of(&fx.t[0], NULL, NULL, 100, &rc);
    assert_int_equal(rc, CDC_OK);
    assert_string_equal(sql, "SELECT `a` FROM `shop`.`nokey`");
    free(sql);
    cdc__snap_tables_free(&test_alloc, fx.t, fx.n);
}

/* A text-protocol row: lenenc fields, NULL as 0xfb. */
static size_t row_of(uint8_t *out, const char *const *f, const size_t *len, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!f[i]) {
            out[k++] = 0xfb;
            continue;
        }
        size_t l = len && len[i] ? len[i] : strlen(f[i]);
        out[k++] = (uint8_t)l;
        memcpy(out + k, f[i], l);
        k += l;
    }
    return k;
}

/* Rows become the decoder's values; a label the metadata lost is
 * repaired from the row's exact bytes; what does not fit is refused. */
static void test_rows(void **state)
{
    (void)state;
    fixture fx;
    build(&fx);
    cdc__snap_table *t = &fx.t[1];
    cdc__snap_row r;
    cdc__snap_row_init(&r, &test_alloc);
    assert_int_equal(cdc__snap_row_alloc(&r, t->t.ncols), CDC_OK);
    uint8_t row[256];
    const char *emoji = "\xf0\x9f\x98\x80";
    const char *f1[] = {"7", "ab", "1.5", emoji, "2"};
    size_t n = row_of(row, f1, NULL, 5);
    cdc__err e = {0};
    assert_int_equal(cdc__snap_table_row(t, row, n, &r, &e), CDC_OK);
    assert_int_equal(r.vals[0].kind, CDC_K_INT);
    assert_true(r.vals[0].v.i == 7);
    assert_int_equal(r.vals[1].kind, CDC_K_STRING);
    assert_int_equal(r.vals[1].v.b.len, 2);
    assert_memory_equal(r.vals[1].v.b.ptr, "ab", 2);
    assert_int_equal(r.vals[2].kind, CDC_K_FLOAT);
    assert_int_equal(r.present[3], 0); /* secret: excluded */
    assert_int_equal(r.present[4], 1);
    assert_int_equal(r.vals[4].kind, CDC_K_ENUM);
    assert_true(r.vals[4].v.u == 2);
    /* label 2 now holds the exact bytes, for this and every later row */
    assert_int_equal(t->t.cols[4].labels[1].len, 4);
    assert_memory_equal(t->t.cols[4].labels[1].ptr, emoji, 4);

    const char *f2[] = {"8", "c", NULL, "happy", "1"};
    n = row_of(row, f2, NULL, 5);
    assert_int_equal(cdc__snap_table_row(t, row, n, &r, &e), CDC_OK);
    assert_int_equal(r.vals[2].kind, CDC_K_NULL);
    assert_int_equal(r.present[2], 1);
    assert_true(r.vals[4].v.u == 1);

    /* a FLOAT the server would never send, a label number that is none */
    const char *f3[] = {"9", "d", "abc", "happy", "1"};
    n = row_of(row, f3, NULL, 5);
    assert_int_equal(cdc__snap_table_row(t, row, n, &r, &e), CDC_ERR_CORRUPT);
    assert_non_null(strstr(e.msg, "snapshot of shop.orders column price"));
    const char *f4[] = {"9", "d", "1", "happy", "x"};
    n = row_of(row, f4, NULL, 5);
    assert_int_equal(cdc__snap_table_row(t, row, n, &r, &e), CDC_ERR_CORRUPT);
    assert_non_null(strstr(e.msg, "is not a label number"));
    const char *f5[] = {"9", "d", "1", "happy", "3"};
    n = row_of(row, f5, NULL, 5);
    assert_int_equal(cdc__snap_table_row(t, row, n, &r, &e), CDC_ERR_CORRUPT);
    assert_non_null(strstr(e.msg, "label number 3 of 2"));
    /* a row with fewer fields than the select list */
    n = row_of(row, f1, NULL, 3);
    assert_int_equal(cdc__snap_table_row(t, row, n, &r, &e), CDC_ERR_PROTOCOL);
    cdc__snap_row_free(&r);
    cdc__snap_tables_free(&test_alloc, fx.t, fx.n);
}

static bool skip_orders(const cdc__snap_table *t, void *ud)
{
    (void)ud;
    return !strcmp(t->t.name, "orders");
}

/* DDL between reading the schema and locking the tables shows as a
 * different definition, or a table gone. */
static void test_changed_definitions(void **state)
{
    (void)state;
    fixture fx;
    build(&fx);
    size_t nrows = sizeof columns_rows / sizeof columns_rows[0], changed;
    bool gone;
    cdc__result *same = columns_result(columns_rows, nrows);
    cdc__snap_tables_compare(same, fx.t, fx.n, NULL, NULL, &changed, &gone);
    assert_int_equal(changed, fx.n);
    cdc__result_free(same);

    colrow altered[sizeof columns_rows / sizeof columns_rows[0]];
    memcpy(altered, columns_rows, sizeof altered);
    altered[4][4] = "double"; /* ALTER TABLE orders MODIFY price DOUBLE */
    cdc__result *alt = columns_result(altered, nrows);
    cdc__snap_tables_compare(alt, fx.t, fx.n, NULL, NULL, &changed, &gone);
    assert_int_equal(changed, 1);
    assert_false(gone);
    /* a table the caller does not check (done before a resume) is not compared */
    cdc__snap_tables_compare(alt, fx.t, fx.n, skip_orders, NULL, &changed, &gone);
    assert_int_equal(changed, fx.n);
    cdc__result_free(alt);

    /* DROP TABLE nokey: its rows are gone from COLUMNS */
    colrow dropped[sizeof columns_rows / sizeof columns_rows[0]];
    size_t k = 0;
    for (size_t i = 0; i < nrows; i++)
        if (strcmp(columns_rows[i][1], "nokey")) memcpy(dropped[k++], columns_rows[i], sizeof(colrow));
    cdc__result *drop = columns_result(dropped, k);
    cdc__snap_tables_compare(drop, fx.t, fx.n, NULL, NULL, &changed, &gone);
    assert_int_equal(changed, 0);
    assert_true(gone);
    cdc__result_free(drop);
    cdc__snap_tables_free(&test_alloc, fx.t, fx.n);
}

/* A result row without the names it is merged by is refused, naming it. */
static void test_rows_without_names(void **state)
{
    (void)state;
    colrow bad[2];
    memcpy(bad, &columns_rows[1], sizeof bad);
    bad[1][0] = NULL;
    cdc__result *cols = columns_result(bad, 2);
    cdc__result *st = stats_result();
    cdc__snap_table *t = NULL;
    size_t n = 7;
    cdc__err e = {0};
    assert_int_equal(cdc__snap_tables_build(cols, st, false, NULL, &test_alloc, &t, &n, &e), CDC_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "information_schema.COLUMNS row 2 has no TABLE_SCHEMA"));
    assert_null(t);
    assert_int_equal(n, 0);
    cdc__result_free(cols);
    cdc__result_free(st);

    /* a column type the snapshot cannot read names the table */
    colrow odd[1];
    memcpy(odd, &columns_rows[1], sizeof odd);
    odd[0][3] = "weird";
    odd[0][4] = "weird(1)";
    cols = columns_result(odd, 1);
    st = stats_result();
    assert_int_equal(cdc__snap_tables_build(cols, st, false, NULL, &test_alloc, &t, &n, &e), CDC_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.msg, "snapshot of shop.nokey"));
    assert_non_null(strstr(e.msg, "weird(1)"));
    assert_null(t);
    cdc__result_free(cols);
    cdc__result_free(st);
}

/* The binary protocol: a table with a lossy ENUM stays on text; one
 * without reads binary rows into the values its text rows give, its
 * key texts are the text protocol's, and result columns of another
 * layout are refused. */
static void test_binary_rows(void **state)
{
    (void)state;
    fixture fx;
    build(&fx);
    assert_false(cdc__snap_table_use_binary(&fx.t[1])); /* orders: mood needs col+0 */
    assert_false(fx.t[1].binary);
    cdc__snap_tables_free(&test_alloc, fx.t, fx.n);

    static const colrow rows[] = {
        {"shop", "bin", "id", "int", "int", NULL, "10", "0", NULL, NULL, NULL, NULL, "NO", "PRI", "", "10"},
        {"shop", "bin", "code", "varchar", "varchar(8)", "32", NULL, NULL, NULL, "utf8mb4", "utf8mb4_general_ci",
         "45", "NO", "PRI", "", "10"},
        {"shop", "bin", "price", "float", "float", NULL, "12", NULL, NULL, NULL, NULL, NULL, "YES", "", "", "10"},
        {"shop", "bin", "d", "datetime", "datetime(3)", NULL, NULL, NULL, "3", NULL, NULL, NULL, "YES", "", "", "10"},
    };
    static const statrow keys[] = {{"shop", "bin", "id", NULL}, {"shop", "bin", "code", NULL}};
    cdc__result *cols = columns_result(rows, 4), *st = result_of(stat_names, 4, *keys, 2);
    cdc__snap_table *tb, *tt;
    size_t nb, nt;
    cdc__err e = {0};
    assert_int_equal(cdc__snap_tables_build(cols, st, false, NULL, &test_alloc, &tb, &nb, &e), CDC_OK);
    assert_int_equal(cdc__snap_tables_build(cols, st, false, NULL, &test_alloc, &tt, &nt, &e), CDC_OK);
    cdc__result_free(cols);
    cdc__result_free(st);
    assert_int_equal(nb, 1);
    assert_true(cdc__snap_table_use_binary(tb));
    /* the result's wire types: LONG, VAR_STRING, DOUBLE, DATETIME */
    cdc__coldef cd[4] = {{.type = 3}, {.type = 253}, {.type = 5}, {.type = 12}};
    assert_int_equal(cdc__snap_table_check_bin(tb, cd, 4, &e), CDC_OK);
    cd[0].type = 8; /* LONGLONG: 8 bytes where 4 are expected */
    assert_int_equal(cdc__snap_table_check_bin(tb, cd, 4, &e), CDC_ERR_SCHEMA);
    assert_non_null(strstr(e.msg, "result column 1 (id)"));

    /* 7, 'ab', 1.5 (as DOUBLE), 2024-02-29 23:59:59.123 */
    const uint8_t bin[] = {0x00, 0x00, 7, 0, 0, 0, 2, 'a', 'b', 0, 0, 0, 0, 0, 0, 0xf8, 0x3f,
                           11, 0xe8, 0x07, 2, 29, 23, 59, 59, 0x78, 0xe0, 0x01, 0x00};
    uint8_t text[128];
    const char *f[] = {"7", "ab", "1.5", "2024-02-29 23:59:59.123"};
    size_t tn = row_of(text, f, NULL, 4);
    cdc__snap_row rb, rt;
    cdc__snap_row_init(&rb, &test_alloc);
    cdc__snap_row_init(&rt, &test_alloc);
    assert_int_equal(cdc__snap_row_alloc(&rb, 4), CDC_OK);
    assert_int_equal(cdc__snap_row_alloc(&rt, 4), CDC_OK);
    assert_int_equal(cdc__snap_table_row(tb, bin, sizeof bin, &rb, &e), CDC_OK);
    assert_int_equal(cdc__snap_table_row(tt, text, tn, &rt, &e), CDC_OK);
    for (size_t i = 0; i < 4; i++) {
        cdc__buf x, y;
        cdc__buf_init(&x, NULL);
        cdc__buf_init(&y, NULL);
        assert_int_equal(cdc__value_render_json(&rb.vals[i], &x, &e), CDC_OK);
        assert_int_equal(cdc__value_render_json(&rt.vals[i], &y, &e), CDC_OK);
        assert_int_equal(rb.vals[i].kind, rt.vals[i].kind);
        assert_int_equal(x.len, y.len);
        assert_memory_equal(x.data, y.data, x.len);
        cdc__buf_free(&x);
        cdc__buf_free(&y);
    }
    /* the keys as the text protocol has them */
    cdc_bytes fields[4], kt;
    char buf[CDC__SNAP_KEYTEXT_MAX];
    assert_int_equal(cdc__snap_table_split(tb, bin, sizeof bin, fields, &e), CDC_OK);
    assert_int_equal(cdc__snap_table_key_text(tb, fields, 0, buf, &kt, &e), CDC_OK);
    assert_int_equal(kt.len, 1);
    assert_memory_equal(kt.ptr, "7", 1);
    assert_int_equal(cdc__snap_table_key_text(tb, fields, 1, buf, &kt, &e), CDC_OK);
    assert_int_equal(kt.len, 2);
    assert_memory_equal(kt.ptr, "ab", 2);
    /* a text row where a binary one is due, and a binary row cut short */
    assert_int_equal(cdc__snap_table_row(tb, text, tn, &rb, &e), CDC_ERR_PROTOCOL);
    assert_int_equal(cdc__snap_table_row(tb, bin, sizeof bin - 1, &rb, &e), CDC_ERR_PROTOCOL);
    cdc__snap_row_free(&rb);
    cdc__snap_row_free(&rt);
    cdc__snap_tables_free(&test_alloc, tb, nb);
    cdc__snap_tables_free(&test_alloc, tt, nt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_and_select_lists),
        cmocka_unit_test(test_chunk_sql),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_changed_definitions),
        cmocka_unit_test(test_rows_without_names),
        cmocka_unit_test(test_binary_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
