/*
 * cdc-migrate's Debezium value reader (examples/cdc-migrate/kdbz.c): the
 * values Debezium documents for each type and handling mode (the examples
 * of docs/debezium.md's type table, which come from Debezium's own
 * documentation), read back as the PostgreSQL text the direct apply
 * writes; with the field's Connect schema and without it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kdbz.h"

static mcol col(const char *data_type, conv cv, long long prec, long long scale, long long fsp)
{
    mcol c;
    memset(&c, 0, sizeof c);
    c.name = (char *)"c";
    c.data_type = (char *)data_type;
    c.column_type = (char *)data_type;
    c.cv = cv;
    c.prec = prec;
    c.scale = scale;
    c.fsp = fsp;
    return c;
}

/* The text of JSON value json for column c (schema: the field's schema
 * JSON or NULL); NULL for V_NULL, "ERR: message" for V_ERR. */
static char out[4096];
static const char *read_as(const dbz_modes *m, const mcol *c, const char *json, const char *schema)
{
    mopts o;
    memset(&o, 0, sizeof o);
    char err[512];
    kjson *v = kjson_parse(json, strlen(json), err, sizeof err);
    assert_non_null(v);
    kjson *fs = schema ? kjson_parse(schema, strlen(schema), err, sizeof err) : NULL;
    mbuf b = {0};
    vres r = dbz_value_text(&o, m, c, v, fs, &b, err, sizeof err);
    if (r == V_OK)
        snprintf(out, sizeof out, "%.*s", (int)b.len, b.p);
    else if (r == V_ERR)
        snprintf(out, sizeof out, "ERR: %s", err);
    mbuf_free(&b);
    kjson_free(v);
    kjson_free(fs);
    return r == V_NULL ? NULL : out;
}

static dbz_modes modes(const char *k, const char *v)
{
    dbz_modes m;
    memset(&m, 0, sizeof m);
    char err[256];
    if (k)
        assert_int_equal(dbz_mode_set(&m, k, v, err, sizeof err), 0);
    return m;
}

static void test_decimal(void **st)
{
    (void)st;
    dbz_modes m = modes(NULL, NULL);
    mcol c = col("decimal", CV_DECIMAL, 10, 2, 0);
    /* precise: Debezium's examples */
    assert_string_equal(read_as(&m, &c, "\"Opg=\"", NULL), "150.00");
    assert_string_equal(read_as(&m, &c, "\"LuA=\"", NULL), "120.00");
    assert_string_equal(read_as(&m, &c, "\"nA==\"", NULL), "-1.00");
    assert_string_equal(read_as(&m, &c, "\"AA==\"", NULL), "0.00");
    /* 65 digits: 10^64 - 1 with scale 30 */
    mcol big = col("decimal", CV_DECIMAL, 65, 30, 0);
    assert_string_equal(read_as(&m, &big, "\"GE8D6T/59Nqnl+1uOO1kv2ofAP//////////\"", NULL),
                        "9999999999999999999999999999999999.999999999999999999999999999999");
    /* string and double modes */
    dbz_modes s = modes("decimal.handling.mode", "string");
    assert_string_equal(read_as(&s, &c, "\"150.00\"", NULL), "150.00");
    assert_string_equal(read_as(&s, &c, "150.0", NULL), "150.0");
    /* the schema says precise whatever the option: scale from it */
    assert_string_equal(read_as(&s, &c, "\"Opg=\"",
                                "{\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data."
                                "Decimal\",\"parameters\":{\"scale\":\"2\"}}"), "150.00");
    assert_null(read_as(&m, &c, "null", NULL));
    assert_string_equal(read_as(&m, &c, "\"#!\"", NULL),
                        "ERR: column c (decimal): '#!' is not a precise decimal (base64 of the "
                        "unscaled value)");
    assert_string_equal(read_as(&s, &c, "\"1; DROP\"", NULL),
                        "ERR: column c (decimal): unexpected Debezium value 1; DROP");
}

static void test_integers(void **st)
{
    (void)st;
    dbz_modes m = modes(NULL, NULL);
    mcol u = col("bigint", CV_UINT, 20, 0, 0);
    assert_string_equal(read_as(&m, &u, "-1", NULL), "18446744073709551615");
    assert_string_equal(read_as(&m, &u, "42", NULL), "42");
    dbz_modes p = modes("bigint.unsigned.handling.mode", "precise");
    assert_string_equal(read_as(&p, &u, "\"AP//////////\"", NULL), "18446744073709551615");
    mcol i = col("tinyint", CV_INT, 3, 0, 0);
    assert_string_equal(read_as(&m, &i, "-128", NULL), "-128");
    assert_string_equal(read_as(&m, &i, "true", NULL), "1");
    assert_string_equal(read_as(&m, &i, "\"x\"", NULL),
                        "ERR: column c (tinyint): unexpected Debezium value x");
    mcol y = col("year", CV_YEAR, 0, 0, 0);
    assert_string_equal(read_as(&m, &y, "2024", NULL), "2024");
}

static void test_temporal(void **st)
{
    (void)st;
    dbz_modes m = modes(NULL, NULL);
    mcol d = col("date", CV_DATE, 0, 0, 0);
    assert_string_equal(read_as(&m, &d, "17702", NULL), "2018-06-20");
    assert_string_equal(read_as(&m, &d, "-719528", NULL), "0000-01-01");
    assert_string_equal(read_as(&m, &d, "2932896", NULL), "9999-12-31");
    mcol dt0 = col("datetime", CV_DATETIME, 0, 0, 0), dt6 = col("datetime", CV_DATETIME, 0, 0, 6);
    /* adaptive: DATETIME(0-3) milliseconds, DATETIME(4-6) microseconds */
    assert_string_equal(read_as(&m, &dt0, "1529476623000", NULL), "2018-06-20 06:37:03.000000");
    assert_string_equal(read_as(&m, &dt6, "1529476623123456", NULL),
                        "2018-06-20 06:37:03.123456");
    assert_string_equal(read_as(&m, &dt0, "-1", NULL), "1969-12-31 23:59:59.999000");
    /* the schema name decides over the column's precision */
    assert_string_equal(read_as(&m, &dt0, "1529476623123456",
                                "{\"type\":\"int64\",\"name\":\"io.debezium.time.MicroTimestamp\"}"),
                        "2018-06-20 06:37:03.123456");
    dbz_modes cn = modes("time.precision.mode", "connect");
    assert_string_equal(read_as(&cn, &dt6, "1529476623123", NULL), "2018-06-20 06:37:03.123000");
    mcol tm = col("time", CV_TIME, 0, 0, 6);
    assert_string_equal(read_as(&m, &tm, "-3020399000000", NULL), "-838:59:59.000000");
    assert_string_equal(read_as(&m, &tm, "3723000004", NULL), "1:02:03.000004");
    assert_string_equal(read_as(&cn, &tm, "3723004", NULL), "1:02:03.004000");
    mcol ts = col("timestamp", CV_TIMESTAMP, 0, 0, 3);
    assert_string_equal(read_as(&m, &ts, "\"2025-10-20T14:34:09.120Z\"", NULL),
                        "2025-10-20T14:34:09.120Z");
    assert_string_equal(read_as(&m, &ts, "1529476623000", NULL),
                        "ERR: column c (timestamp): unexpected Debezium value 1529476623000");
}

static void test_bytes_bits_geometry(void **st)
{
    (void)st;
    dbz_modes m = modes(NULL, NULL);
    mcol b = col("varbinary", CV_BLOB, 0, 0, 0);
    assert_string_equal(read_as(&m, &b, "\"CgsM\"", NULL), "\\x0a0b0c");
    mcol bin = col("binary", CV_BINARY, 0, 0, 0);
    bin.octet_len = 4;
    assert_string_equal(read_as(&m, &bin, "\"Cgs=\"", NULL), "\\x0a0b0000");
    dbz_modes h = modes("binary.handling.mode", "hex");
    assert_string_equal(read_as(&h, &b, "\"0a0b0c\"", NULL), "\\x0a0b0c");
    /* a Connect bytes field is base64 whatever the option */
    assert_string_equal(read_as(&h, &b, "\"CgsM\"", "{\"type\":\"bytes\"}"), "\\x0a0b0c");
    dbz_modes u = modes("binary.handling.mode", "base64-url-safe");
    assert_string_equal(read_as(&u, &b, "\"-_8=\"", NULL), "\\xfbff");
    assert_string_equal(read_as(&h, &b, "\"xyz\"", NULL),
                        "ERR: column c (varbinary): 'xyz' is not hex (binary.handling.mode=hex)");
    mcol bit10 = col("bit", CV_BIT, 10, 0, 0), bit1 = col("bit", CV_BIT, 1, 0, 0);
    assert_string_equal(read_as(&m, &bit10, "\"/wM=\"", NULL), "1111111111");
    assert_string_equal(read_as(&m, &bit10, "\"BQI=\"", NULL), "1000000101");
    assert_string_equal(read_as(&m, &bit1, "true", NULL), "1");
    assert_string_equal(read_as(&m, &bit1, "false", NULL), "0");
    mcol g = col("point", CV_GEOMETRY, 0, 0, 0);
    assert_string_equal(read_as(&m, &g, "{\"x\":1.0,\"y\":2.0,\"wkb\":"
                                "\"AQEAAAAAAAAAAADwPwAAAAAAAABA\",\"srid\":null}", NULL),
                        "\\x0101000000000000000000f03f0000000000000040");
}

static void test_text_and_modes(void **st)
{
    (void)st;
    dbz_modes m = modes(NULL, NULL);
    mcol t = col("varchar", CV_TEXT, 0, 0, 0);
    assert_string_equal(read_as(&m, &t, "\"caf\\u00e9 \\ud83d\\ude00\"", NULL),
                        "caf\xc3\xa9 \xf0\x9f\x98\x80");
    assert_string_equal(read_as(&m, &t, "\"a\\u0000b\"", NULL),
                        "ERR: column c: text holds a NUL byte, which PostgreSQL text cannot store "
                        "(--nul strip drops such bytes)");
    mcol e = col("enum", CV_ENUM, 0, 0, 0), j = col("json", CV_JSON, 0, 0, 0);
    assert_string_equal(read_as(&m, &e, "\"b\"", NULL), "b");
    assert_string_equal(read_as(&m, &j, "\"{\\\"a\\\":[1,2]}\"", NULL), "{\"a\":[1,2]}");
    dbz_modes x;
    memset(&x, 0, sizeof x);
    char err[256];
    assert_int_equal(dbz_mode_set(&x, "decimal.handling.mode", "exact", err, sizeof err), -1);
    assert_string_equal(err, "decimal.handling.mode: 'exact' is not one of its values "
                             "(docs/debezium.md)");
    assert_int_equal(dbz_mode_set(&x, "time.mode", "connect", err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown Debezium option 'time.mode'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_temporal),
        cmocka_unit_test(test_bytes_bits_geometry),
        cmocka_unit_test(test_text_and_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
