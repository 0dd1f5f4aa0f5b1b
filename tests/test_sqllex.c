/*
 * Unit tests for sqllex.c, the tokens DDL readers take from a statement
 * (schema.c for the filter and caches, debezium_tables.c for
 * tableChanges): comments and white space, whole-word keywords, quoted
 * identifiers with doubled quotes, and [db.]table with the default
 * database filled in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sqllex.h"

static cdc__lex lx(const char *s) { return (cdc__lex){s, s + strlen(s)}; }

static void test_space_and_comments(void **state)
{
    (void)state;
    cdc__lex l = lx("  /* a */ # line\n -- dash\n\tALTER");
    assert_true(cdc__lex_kw(&l, "ALTER"));
    assert_ptr_equal(l.p, l.end);
    /* "--" without a space after it is not a comment (MySQL's rule) */
    l = lx("--x");
    cdc__lex_space(&l);
    assert_int_equal(l.end - l.p, 3);
    /* an unterminated comment runs to the end */
    l = lx("/* open");
    cdc__lex_space(&l);
    assert_ptr_equal(l.p, l.end);
}

static void test_keywords_whole_words(void **state)
{
    (void)state;
    cdc__lex l = lx("alter table t");
    assert_true(cdc__lex_kw(&l, "ALTER"));
    assert_false(cdc__lex_kw(&l, "TAB"));
    assert_true(cdc__lex_kw(&l, "TABLE"));
    const char *bad[] = {"ALTERx", "ALTER_", "ALTER$", "ALTER1", "ALTE"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        l = lx(bad[i]);
        assert_false(cdc__lex_kw(&l, "ALTER"));
        assert_ptr_equal(l.p, bad[i]); /* nothing consumed but white space */
    }
    l = lx(" ( x");
    assert_true(cdc__lex_punct(&l, '('));
    assert_false(cdc__lex_punct(&l, ')'));
}

static void test_identifiers(void **state)
{
    (void)state;
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    cdc__lex l = lx(" `we``ird` \"dq\"\"x\" plain$1 `caf\xc3\xa9 \xf0\x9f\x98\x80`");
    assert_true(cdc__lex_ident(&l, &b));
    assert_true(cdc__lex_ident(&l, &b));
    assert_true(cdc__lex_ident(&l, &b));
    assert_true(cdc__lex_ident(&l, &b));
    const char want[] = "we`ird\0dq\"x\0plain$1\0caf\xc3\xa9 \xf0\x9f\x98\x80";
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    cdc__buf_reset(&b);
    l = lx("`unterminated");
    assert_false(cdc__lex_ident(&l, &b));
    l = lx(" ;");
    assert_false(cdc__lex_ident(&l, &b));
    cdc__buf_free(&b);
}

static void test_table_names(void **state)
{
    (void)state;
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    cdc__lex l = lx("`s`.`t` , u /**/ . `v w`, x");
    assert_true(cdc__lex_table(&l, "def", 3, &b));
    assert_true(cdc__lex_punct(&l, ','));
    assert_true(cdc__lex_table(&l, "def", 3, &b));
    assert_true(cdc__lex_punct(&l, ','));
    assert_true(cdc__lex_table(&l, "def", 3, &b));
    const char want[] = "s\0t\0u\0v w\0def\0x";
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    cdc__buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_space_and_comments),
        cmocka_unit_test(test_keywords_whole_words),
        cmocka_unit_test(test_identifiers),
        cmocka_unit_test(test_table_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
