/* Unit tests for filter.c (include/exclude by database, table, column,
 * originating server_id and operation) and for the DDL reader of
 * schema.c that decides which cached column names a statement drops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "filter.h"
#include "schema.h"

#include "testalloc.h"

/* A config with the given key=value pairs (NULL-terminated list). */
static cdc_config *cfg_with(const char *const *kv)
{
    cdc_config *c;
    assert_int_equal(cdc_config_new(&c, &test_alloc), CDC_OK);
    char err[256];
    for (; kv[0]; kv += 2)
        if (cdc_config_set(c, kv[0], kv[1], err, sizeof err)) fail_msg("%s", err);
    return c;
}

static void test_everything_passes_by_default(void **state)
{
    (void)state;
    cdc_config *c = cfg_with((const char *const[]){NULL});
    cdc__filter f;
    cdc__err e = {0};
    assert_int_equal(cdc__filter_init(&f, c, &test_alloc, &e), CDC_OK);
    assert_true(cdc__filter_table(&f, "shop", "orders"));
    assert_true(cdc__filter_server(&f, 1));
    assert_true(cdc__filter_op(&f, 'c') && cdc__filter_op(&f, 'u') && cdc__filter_op(&f, 'd'));
    assert_false(cdc__filter_has_column_rules(&f));
    assert_false(cdc__filter_column_excluded(&f, "shop", "orders", "id"));
    cdc__filter_free(&f);
    cdc_config_free(c);
}

static void test_databases_and_tables(void **state)
{
    (void)state;
    cdc_config *c = cfg_with((const char *const[]){
        "database.include.list", "shop,crm_*", "database.exclude.list", "crm_old",
        "table.include.list", "shop.*,crm_*.contacts,shop_archive.*", "table.exclude.list", "shop.tmp_?", NULL});
    cdc__filter f;
    cdc__err e = {0};
    assert_int_equal(cdc__filter_init(&f, c, &test_alloc, &e), CDC_OK);
    assert_true(cdc__filter_table(&f, "shop", "orders"));
    assert_false(cdc__filter_table(&f, "shop", "tmp_1"));        /* excluded table */
    assert_true(cdc__filter_table(&f, "shop", "tmp_12"));        /* ? is one character */
    assert_true(cdc__filter_table(&f, "crm_eu", "contacts"));
    assert_false(cdc__filter_table(&f, "crm_eu", "leads"));      /* not in the table list */
    assert_false(cdc__filter_table(&f, "crm_old", "contacts"));  /* excluded database */
    assert_false(cdc__filter_table(&f, "shop_archive", "x"));    /* database not included */
    assert_false(cdc__filter_table(&f, "mysql", "user"));
    /* '*' stays within its part: shop.* is not shopx.orders, nor shop.a.b as db "shop.a" */
    assert_false(cdc__filter_table(&f, "shopx", "orders"));
    cdc__filter_free(&f);
    cdc_config_free(c);
}

static void test_columns(void **state)
{
    (void)state;
    cdc_config *c = cfg_with((const char *const[]){
        "column.exclude.list", "shop.customers.card_*,*.*.password", NULL});
    cdc__filter f;
    cdc__err e = {0};
    assert_int_equal(cdc__filter_init(&f, c, &test_alloc, &e), CDC_OK);
    assert_true(cdc__filter_has_column_rules(&f));
    assert_true(cdc__filter_column_excluded(&f, "shop", "customers", "card_number"));
    assert_false(cdc__filter_column_excluded(&f, "shop", "customers", "name"));
    assert_false(cdc__filter_column_excluded(&f, "shop", "orders", "card_number"));
    assert_true(cdc__filter_column_excluded(&f, "crm", "users", "password"));
    assert_false(cdc__filter_column_excluded(&f, "crm", "users", NULL)); /* names unknown */
    cdc__filter_free(&f);
    cdc_config_free(c);
}

static void test_servers_and_ops(void **state)
{
    (void)state;
    cdc_config *c = cfg_with((const char *const[]){
        "server.id.exclude.list", "7, 4001", "skipped.operations", "d", NULL});
    cdc__filter f;
    cdc__err e = {0};
    assert_int_equal(cdc__filter_init(&f, c, &test_alloc, &e), CDC_OK);
    assert_true(cdc__filter_server(&f, 1));
    assert_false(cdc__filter_server(&f, 7));
    assert_false(cdc__filter_server(&f, 4001));
    assert_true(cdc__filter_op(&f, 'c'));
    assert_false(cdc__filter_op(&f, 'd'));
    cdc__filter_free(&f);
    cdc_config_free(c);

    c = cfg_with((const char *const[]){"server.id.include.list", "1,2", NULL});
    assert_int_equal(cdc__filter_init(&f, c, &test_alloc, &e), CDC_OK);
    assert_true(cdc__filter_server(&f, 2));
    assert_false(cdc__filter_server(&f, 3));
    cdc__filter_free(&f);
    cdc_config_free(c);
}

static void expect_config_error(const char *key, const char *value, const char *msg)
{
    cdc_config *c = cfg_with((const char *const[]){key, value, NULL});
    cdc__filter f;
    cdc__err e = {0};
    assert_int_equal(cdc__filter_init(&f, c, &test_alloc, &e), CDC_ERR_CONFIG);
    assert_string_equal(e.msg, msg);
    cdc_config_free(c);
}

static void test_bad_rules_are_named(void **state)
{
    (void)state;
    expect_config_error("table.include.list", "orders", "table.include.list: 'orders' is not db.table");
    expect_config_error("table.exclude.list", "shop.a,b", "table.exclude.list: 'b' is not db.table");
    expect_config_error("column.exclude.list", "shop.orders", "column.exclude.list: 'shop.orders' is not db.table.column");
    expect_config_error("server.id.exclude.list", "x1", "server.id.exclude.list: 'x1' is not a server_id");
    expect_config_error("server.id.include.list", "4294967296", "server.id.include.list: '4294967296' is not a server_id");
    expect_config_error("skipped.operations", "r", "skipped.operations: 'r' is not one of c, u, d");
}

/* The tables a DDL statement names, as "db.table" joined by spaces. */
static void expect_ddl(const char *sql, int n, const char *tables)
{
    cdc__buf out;
    cdc__buf_init(&out, &test_alloc);
    int got = cdc__schema_ddl_tables("cur", 3, sql, strlen(sql), &out);
    if (got != n) fail_msg("'%s': %d tables, expected %d", sql, got, n);
    char text[512] = "";
    const char *p = (const char *)out.data;
    for (int i = 0; i < got; i++) {
        const char *d = p, *t = d + strlen(d) + 1;
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s.%s", i ? " " : "", d, t);
        p = t + strlen(t) + 1;
    }
    assert_string_equal(text, tables);
    cdc__buf_free(&out);
}

static void test_ddl_tables(void **state)
{
    (void)state;
    expect_ddl("ALTER TABLE t ADD COLUMN x INT", 1, "cur.t");
    expect_ddl("alter online ignore table `shop`.`or``ders` drop x", 1, "shop.or`ders");
    expect_ddl("ALTER TABLE shop.t RENAME TO shop.u", -1, "");
    expect_ddl("CREATE TABLE IF NOT EXISTS shop.t (id INT)", 1, "shop.t");
    expect_ddl("CREATE OR REPLACE TEMPORARY TABLE t2 LIKE t", 1, "cur.t2");
    expect_ddl("DROP TABLE IF EXISTS `a`, b.c /* generated by server */", 2, "cur.a b.c");
    expect_ddl("RENAME TABLE a TO b, s.c TO s.d", 4, "cur.a cur.b s.c s.d");
    expect_ddl("TRUNCATE TABLE s.t", 1, "s.t");
    expect_ddl("/* a comment */ ALTER TABLE t FORCE", 1, "cur.t");
    expect_ddl("DROP DATABASE shop", -1, "");
    /* DDL that names its table after other words (issue 10: these were
     * dropped under table.include.list) */
    expect_ddl("CREATE INDEX i ON t (x)", 1, "cur.t");
    expect_ddl("create unique index `ux` using btree on `shop`.`orders` (a, b) ALGORITHM=INPLACE", 1, "shop.orders");
    expect_ddl("CREATE FULLTEXT INDEX ft ON docs (body)", 1, "cur.docs");
    expect_ddl("CREATE SPATIAL INDEX sp ON s.geo (g)", 1, "s.geo");
    expect_ddl("CREATE OR REPLACE INDEX IF NOT EXISTS i ON t (x)", 1, "cur.t");
    expect_ddl("CREATE ONLINE INDEX i ON t (x)", 1, "cur.t");
    expect_ddl("DROP INDEX i ON t", 1, "cur.t");
    expect_ddl("DROP INDEX `PRIMARY` ON s.t ALGORITHM=COPY", 1, "s.t");
    expect_ddl("drop index if exists i on `a`.`b`", 1, "a.b");
    expect_ddl("CREATE INDEX i t (x)", -1, "");
    expect_ddl("CREATE UNIQUE i ON t (x)", -1, "");
    expect_ddl("CREATE DEFINER=`root`@`localhost` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.x = 1", 1,
               "cur.t");
    expect_ddl("CREATE DEFINER=`u`@`%` TRIGGER IF NOT EXISTS s.tr AFTER DELETE ON s.t FOR EACH ROW DELETE FROM s.u", 1,
               "s.t");
    expect_ddl("CREATE DEFINER='u'@'h' TRIGGER tr AFTER UPDATE ON `x``y` FOR EACH ROW BEGIN END", 1, "cur.x`y");
    expect_ddl("CREATE /*!50017 DEFINER=`root`@`localhost`*/ TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW SET @a=1", 1,
               "cur.t");
    expect_ddl("CREATE DEFINER=CURRENT_USER() TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @a = 1", 1, "cur.t");
    expect_ddl("CREATE TRIGGER tr INSERT ON t FOR EACH ROW SET @a = 1", -1, "");
    expect_ddl("CREATE DEFINER=`root`@`localhost` PROCEDURE p() BEGIN END", 0, "");
    expect_ddl("DROP TRIGGER tr", 0, "");
    expect_ddl("ALTER TABLE IF EXISTS s.t ADD INDEX i (x)", 1, "s.t");
    expect_ddl("ALTER TABLE t ADD UNIQUE KEY k (x), DROP INDEX j", 1, "cur.t");
    expect_ddl("TRUNCATE s.t", 1, "s.t");
    expect_ddl("RENAME TABLE `a` TO s.b, c TO d, s.e TO s.f", 6, "cur.a s.b cur.c cur.d s.e s.f");
    expect_ddl("GRANT SELECT ON *.* TO x", 0, "");
    expect_ddl("ALTER TABLE", -1, "");
}

static void test_ddl_database(void **state)
{
    (void)state;
    static const struct { const char *sql, *db; } cases[] = {
        {"CREATE DATABASE shop", "shop"},
        {"create schema if not exists `a``b`", "a`b"},
        {"DROP DATABASE IF EXISTS crm /* generated */", "crm"},
        {"ALTER DATABASE shop CHARACTER SET utf8mb4", "shop"},
        {"CREATE OR REPLACE DATABASE x", "x"},
        {"CREATE TABLE shop.t (id INT)", NULL},
        {"CREATE USER u", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cdc__buf out;
        cdc__buf_init(&out, &test_alloc);
        bool got = cdc__schema_ddl_database(cases[i].sql, strlen(cases[i].sql), &out);
        if (got != (cases[i].db != NULL)) fail_msg("'%s': %d", cases[i].sql, got);
        if (got) assert_string_equal((const char *)out.data, cases[i].db);
        cdc__buf_free(&out);
    }
}

/* Which statements are DDL (schema.c), as the stream decides whether a
 * QUERY event is a schema change. */
static void test_is_ddl(void **state)
{
    (void)state;
    static const struct { const char *sql; bool ddl; } cases[] = {
        {"ALTER TABLE t ADD c INT", true}, {"  create table x (a int)", true}, {"\n\tDROP TABLE t", true},
        {"RENAME TABLE a TO b", true},    {"truncate t", true},               {"GRANT SELECT ON *.* TO u", true},
        {"REVOKE ALL ON *.* FROM u", true}, {"BEGIN", false},                 {"ROLLBACK", false},
        {"SAVEPOINT s", false},           {"XA START 'x'", false},            {"INSERT INTO t VALUES (1)", false},
        {"ALTERNATIVE", false},           {"DROPx", false},                   {"", false},
        {"CREATE", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (cdc__schema_is_ddl(cases[i].sql, strlen(cases[i].sql)) != cases[i].ddl)
            fail_msg("'%s': expected %s", cases[i].sql, cases[i].ddl ? "DDL" : "not DDL");
}

/* The cache-only lookup the decoder's names hook uses: a hit only for a
 * cached table with the row event's column count; a DDL drops it. */
static void test_schema_cached(void **state)
{
    (void)state;
    cdc__schema sc;
    cdc__schema_init(&sc, &test_alloc);
    const char *const *names = NULL;
    assert_false(cdc__schema_cached(&sc, "shop", "orders", 2, &names));
    sc.e = test_calloc(4, sizeof *sc.e);
    sc.cap = 4;
    cdc__schema_entry *e = &sc.e[sc.n++];
    e->db = test_malloc(5);
    strcpy(e->db, "shop");
    e->table = test_malloc(7);
    strcpy(e->table, "orders");
    e->names = test_calloc(2, sizeof *e->names);
    e->names[0] = test_malloc(3);
    strcpy(e->names[0], "id");
    e->names[1] = test_malloc(4);
    strcpy(e->names[1], "qty");
    e->ncols = 2;
    assert_true(cdc__schema_cached(&sc, "shop", "orders", 2, &names));
    assert_string_equal(names[1], "qty");
    assert_false(cdc__schema_cached(&sc, "shop", "orders", 3, &names)); /* the table changed: ask the server */
    assert_false(cdc__schema_cached(&sc, "shop", "other", 2, &names));
    const char *ddl = "ALTER TABLE orders ADD note TEXT";
    cdc__schema_ddl(&sc, "shop", 4, ddl, strlen(ddl));
    assert_false(cdc__schema_cached(&sc, "shop", "orders", 2, &names));
    cdc__schema_free(&sc);
}

/* Which DDL a filtered stream delivers (filter.c). */
static void test_filter_ddl(void **state)
{
    (void)state;
    cdc_config *c = cfg_with((const char *const[]){"table.include.list", "shop.orders,log*.events", NULL});
    cdc__filter f;
    cdc__err e = {0};
    assert_int_equal(cdc__filter_init(&f, c, &test_alloc, &e), CDC_OK);
    static const struct { const char *db, *sql; bool want; } cases[] = {
        {"shop", "ALTER TABLE orders ADD c INT", true},
        {"shop", "ALTER TABLE customers ADD c INT", false},
        {"", "DROP TABLE shop.orders, shop.x", true},      /* one named table passes */
        {"shop", "CREATE DATABASE logs2025", true},        /* may hold log*.events */
        {"shop", "CREATE DATABASE other", false},
        {"shop", "CREATE USER u", false},                  /* a table list narrows the stream */
        {"shop", "CREATE INDEX i ON orders (c)", true},     /* the table comes after ON */
        {"x", "CREATE UNIQUE INDEX i ON shop.orders (c)", true},
        {"shop", "CREATE INDEX i ON customers (c)", false},
        {"shop", "DROP INDEX i ON orders", true},
        {"shop", "DROP INDEX i ON customers", false},
        {"logs1", "CREATE DEFINER=`r`@`%` TRIGGER tr AFTER INSERT ON events FOR EACH ROW SET @a = 1", true},
        {"logs1", "CREATE TRIGGER tr AFTER INSERT ON other FOR EACH ROW SET @a = 1", false},
        {"x", "RENAME TABLE shop.tmp TO shop.orders", true}, /* the second name passes */
        {"shop", "TRUNCATE orders", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (cdc__filter_ddl(&f, cases[i].db, cases[i].sql, strlen(cases[i].sql)) != cases[i].want)
            fail_msg("'%s' in %s: expected %s", cases[i].sql, cases[i].db, cases[i].want ? "wanted" : "filtered");
    cdc__filter_free(&f);
    cdc_config_free(c);
    c = cfg_with((const char *const[]){NULL});
    assert_int_equal(cdc__filter_init(&f, c, &test_alloc, &e), CDC_OK);
    assert_true(cdc__filter_ddl(&f, "", "CREATE USER u", 13)); /* nothing narrows: everything */
    cdc__filter_free(&f);
    cdc_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_everything_passes_by_default), cmocka_unit_test(test_databases_and_tables),
        cmocka_unit_test(test_columns),                      cmocka_unit_test(test_servers_and_ops),
        cmocka_unit_test(test_bad_rules_are_named),          cmocka_unit_test(test_ddl_tables),
        cmocka_unit_test(test_ddl_database),                 cmocka_unit_test(test_is_ddl),
        cmocka_unit_test(test_schema_cached),                cmocka_unit_test(test_filter_ddl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
