/*
 * Unit tests for the Debezium renderer (lib/debezium.c,
 * lib/debezium_values.c): golden values and schemas from Debezium's
 * documentation, one test per type and handling mode, the envelope, keys,
 * tombstones, primary-key updates, transaction metadata, column options,
 * topic names, heartbeats and errors. Rows are built from the text a
 * SELECT returns (cdc__value_from_text), the same path snapshot rows take.
 */
#include "valtest.h"

#include "testalloc.h"

#include <cdc/batch.h>
#include <cdc/debezium.h>
#include <cdc/value.h>

#include "crypto.h"
#include "debezium.h"
#include "decoder.h"
#include "resultset.h"
#include "tablemap.h"

/* ---- a made-up table: `id INT NOT NULL PRIMARY KEY` then the columns under test */

#define MAXC 8
typedef struct tb {
    struct cdc_table t;
    cdc_column cols[MAXC];
    char *names[MAXC];
    cdc_value before[MAXC], after[MAXC];
    uint8_t pb[MAXC], pa[MAXC];
    cdc__buf scratch;
} tb;

static void tb_init(tb *x, const char *db, const char *name)
{
    memset(x, 0, sizeof *x);
    x->t.db = (char *)db;
    x->t.name = (char *)name;
    x->t.id = 7;
    x->t.cols = x->cols;
    x->t.col_names = x->names;
    x->t.has_meta = true;
    cdc__buf_init(&x->scratch, &vt_alloc);
    cdc__buf_reserve(&x->scratch, MAXC * 2 * CDC__FROM_TEXT_SCRATCH);
}

static void tb_free(tb *x) { cdc__buf_free(&x->scratch); }

/* Adds a column; returns it for extra fields. */
static cdc_column *tb_col(tb *x, const char *name, int type, unsigned meta, unsigned flags, unsigned charset)
{
    size_t i = x->t.ncols++;
    cdc_column *c = &x->cols[i];
    c->name = (cdc_bytes){(const uint8_t *)name, strlen(name)};
    c->type = (uint8_t)type;
    c->real_type = (uint8_t)type;
    c->meta = (uint16_t)meta;
    c->flags = flags | CDC_COLF_SIGNEDNESS_KNOWN;
    c->charset = (uint16_t)charset;
    x->names[i] = (char *)name;
    return c;
}

/* Sets column i of the before (img 0) or after (img 1) image from SELECT text (NULL: SQL NULL). */
static void tb_val(tb *x, int img, size_t i, const char *text)
{
    cdc__err err;
    cdc__err_clear(&err);
    cdc_value *v = img ? &x->after[i] : &x->before[i];
    const cdc_column *c = &x->cols[i];
    unsigned cs = c->charset ? c->charset : 255; /* SELECT in the column's own charset */
    size_t len = text ? strlen(text) : 0;
    if (c->type == CDC_T_GEOMETRY || c->type == CDC_T_BIT) len = text ? (size_t)(unsigned char)text[0] : 0, text = text ? text + 1 : NULL;
    int rc = cdc__value_from_text(c, text, len, cs, v, &x->scratch, &err);
    if (rc) fail_msg("value_from_text(%s): %s", text ? text : "NULL", err.msg);
    (img ? x->pa : x->pb)[i] = 1;
}

typedef struct run {
    cdc_debezium *dz;
    ptrdiff_t n;
} run;

static int on_change(const cdc_change *c, void *ud)
{
    run *r = ud;
    r->n = cdc_debezium_change(r->dz, c, CDC_DEBEZIUM_SNAPSHOT_FALSE);
    return 0;
}

static ptrdiff_t tb_render(tb *x, cdc_debezium *dz, char op)
{
    cdc__change_spec s = {
        .op = op, .t = &x->t, .file = "mysql-bin.000003", .offset = 154, .row = 0, .server_id = 223344,
        .ts_ms = 1465491411000, .gtid = "",
    };
    if (op != 'c' && op != 'r') { s.before = x->before; s.pb = x->pb; }
    if (op != 'd') { s.after = x->after; s.pa = x->pa; }
    run r = {dz, 0};
    cdc__change_synth(&s, on_change, &r);
    return r.n;
}

static int64_t fixed_clock(void *ud)
{
    (void)ud;
    return 1465491411815437158LL;
}

static cdc_debezium *dz_new(const char *const *opts)
{
    static const cdc_allocator a = {vt_malloc, vt_realloc, vt_free, NULL};
    cdc_debezium *dz = NULL;
    char err[256];
    assert_int_equal(cdc_debezium_new(&dz, &a, err, sizeof err), CDC_OK);
    cdc_debezium_set_clock(dz, fixed_clock, NULL);
    assert_int_equal(cdc_debezium_set(dz, "topic.prefix", "mysql-server-1", err, sizeof err), CDC_OK);
    for (; opts && *opts; opts += 2)
        if (cdc_debezium_set(dz, opts[0], opts[1], err, sizeof err) != CDC_OK) fail_msg("set %s: %s", opts[0], err);
    return dz;
}

static char *rec_text(cdc_debezium *dz, size_t i, int part)
{
    static char buf[3][65536];
    cdc_bytes t, k, v;
    assert_true(cdc_debezium_record(dz, i, &t, &k, &v) >= 0);
    cdc_bytes b = part == 0 ? t : part == 1 ? k : v;
    if (!b.ptr) { strcpy(buf[part], "NULL"); return buf[part]; }
    assert_true(b.len < sizeof buf[part]);
    memcpy(buf[part], b.ptr, b.len);
    buf[part][b.len] = 0;
    return buf[part];
}

/* The payload JSON of column `v` in the after image of record 0. */
static const char *after_v(cdc_debezium *dz)
{
    static char out[4096];
    const char *val = rec_text(dz, 0, 2);
    const char *p = strstr(val, "\"after\":{\"id\":1,\"v\":");
    if (!p) fail_msg("no after.v in %s", val);
    p += strlen("\"after\":{\"id\":1,\"v\":");
    const char *e = strstr(p, "},\"source\":");
    assert_non_null(e);
    snprintf(out, sizeof out, "%.*s", (int)(e - p), p);
    return out;
}

/* The schema of field "v" in record 0's value (schemas on). */
static const char *schema_v(cdc_debezium *dz)
{
    static char out[4096];
    const char *val = rec_text(dz, 0, 2);
    const char *p = strstr(val, "\"field\":\"id\"},");
    assert_non_null(p);
    p += strlen("\"field\":\"id\"},");
    const char *e = strstr(p, ",\"field\":\"v\"}");
    assert_non_null(e);
    snprintf(out, sizeof out, "%.*s", (int)(e - p), p);
    return out;
}

/* One column `v` of the given type holding `text`; returns after.v as rendered. */
typedef struct onecol {
    int type;
    unsigned meta, flags, charset;
} onecol;

/* When set, one() marks its DECIMAL value as the decoder marks one of up
 * to 18 digits: the unscaled integer read already (CDC_VF_SCALED). */
static bool g_scaled;
static int64_t g_unscaled;

static const char *one(const onecol *c, const char *text, const char *const *opts, const char **schema)
{
    tb x;
    tb_init(&x, "inventory", "t");
    tb_col(&x, "id", CDC_T_LONG, 0, CDC_COLF_PRIMARY_KEY, 0);
    cdc_column *col = tb_col(&x, "v", c->type, c->meta, c->flags, c->charset);
    static const cdc_bytes labels[] = {{(const uint8_t *)"a", 1}, {(const uint8_t *)"b", 1}, {(const uint8_t *)"c", 1}};
    if (c->type == CDC_T_ENUM || c->type == CDC_T_SET) {
        col->type = CDC_T_STRING;
        col->real_type = (uint8_t)c->type;
        col->labels = labels;
        col->n_labels = 3;
        col->meta = 1;
    }
    if (c->type == CDC_T_GEOMETRY) col->geometry_type = (uint8_t)(c->flags >> 16);
    tb_val(&x, 1, 0, "1");
    tb_val(&x, 1, 1, text);
    if (g_scaled) {
        x.after[1].flags |= CDC_VF_SCALED;
        x.after[1].v.dec.unscaled = g_unscaled;
    }
    cdc_debezium *dz = dz_new(opts);
    char err[256];
    assert_int_equal(cdc_debezium_set(dz, "schemas.enable", "false", err, sizeof err), CDC_OK);
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    static char v[4096];
    snprintf(v, sizeof v, "%s", after_v(dz));
    if (schema) {
        assert_int_equal(cdc_debezium_set(dz, "schemas.enable", "true", err, sizeof err), CDC_OK);
        assert_int_equal(tb_render(&x, dz, 'c'), 1);
        static char s[4096];
        snprintf(s, sizeof s, "%s", schema_v(dz));
        *schema = s;
    }
    cdc_debezium_free(dz);
    tb_free(&x);
    return v;
}

#define NULLABLE CDC_COLF_NULLABLE
#define UNSIGNED CDC_COLF_UNSIGNED

/* ---- numbers ------------------------------------------------------------------- */

static void test_decimal_precise(void **state)
{
    (void)state;
    onecol c = {CDC_T_NEWDECIMAL, 10 << 8 | 2, 0, 0};
    const char *schema;
    /* the values Debezium users post: DECIMAL(10,2) 150.00 and 120.00 */
    assert_string_equal(one(&c, "150.00", NULL, &schema), "\"Opg=\"");
    assert_string_equal(schema, "{\"type\":\"bytes\",\"optional\":false,\"name\":\"org.apache.kafka.connect.data.Decimal\","
                                "\"version\":1,\"parameters\":{\"scale\":\"2\",\"connect.decimal.precision\":\"10\"}");
    assert_string_equal(one(&c, "120.00", NULL, NULL), "\"LuA=\"");
    assert_string_equal(one(&c, "0.00", NULL, NULL), "\"AA==\"");
    assert_string_equal(one(&c, "-1.00", NULL, NULL), "\"nA==\"");     /* -100 = 9c */
    assert_string_equal(one(&c, "1.28", NULL, NULL), "\"AIA=\"");      /* 128 needs a sign byte */
    assert_string_equal(one(&c, "-1.28", NULL, NULL), "\"gA==\"");     /* -128 = 80 */
    assert_string_equal(one(&c, "-1.29", NULL, NULL), "\"/38=\"");     /* -129 = ff 7f */
    /* the decoder's path for up to 18 digits (the unscaled integer, no
     * text) gives the same bytes as the text path */
    static const struct { unsigned prec, scale; const char *text; int64_t unscaled; } sc[] = {
        {10, 2, "150.00", 15000}, {10, 2, "120.00", 12000}, {10, 2, "0.00", 0}, {10, 2, "-1.00", -100},
        {10, 2, "1.28", 128}, {10, 2, "-1.28", -128}, {10, 2, "-1.29", -129}, {10, 2, "327.67", 32767},
        {10, 2, "-327.68", -32768}, {10, 2, "83886.07", 8388607}, {10, 2, "-83886.09", -8388609},
        {18, 0, "999999999999999999", 999999999999999999LL}, {18, 0, "-999999999999999999", -999999999999999999LL},
        {18, 6, "-0.000001", -1}, {12, 2, "2147483648.00", 214748364800LL},
    };
    for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++) {
        onecol d = {CDC_T_NEWDECIMAL, sc[i].prec << 8 | sc[i].scale, 0, 0};
        char want[64];
        snprintf(want, sizeof want, "%s", one(&d, sc[i].text, NULL, NULL));
        g_scaled = true;
        g_unscaled = sc[i].unscaled;
        const char *got = one(&d, sc[i].text, NULL, NULL);
        g_scaled = false;
        if (strcmp(got, want)) fail_msg("DECIMAL(%u,%u) %s: %s from the integer, %s from the text", sc[i].prec,
                                        sc[i].scale, sc[i].text, got, want);
    }
    onecol big = {CDC_T_NEWDECIMAL, 65 << 8 | 30, 0, 0};
    uint8_t b[32];
    const char *d65 = "-99999999999999999999999999999999999.999999999999999999999999999999";
    size_t n = cdc__dz_unscaled_bytes(d65, strlen(d65), b);
    assert_int_equal(n, 28); /* -(10^65 - 1): 217 bits + sign */
    assert_int_equal(b[0] & 0x80, 0x80);
    (void)big;
}

static void test_decimal_string_double(void **state)
{
    (void)state;
    onecol c = {CDC_T_NEWDECIMAL, 10 << 8 | 2, NULLABLE, 0};
    const char *s_opts[] = {"decimal.handling.mode", "string", NULL};
    const char *d_opts[] = {"decimal.handling.mode", "double", NULL};
    const char *schema;
    assert_string_equal(one(&c, "150.00", s_opts, &schema), "\"150.00\"");
    assert_string_equal(schema, "{\"type\":\"string\",\"optional\":true");
    assert_string_equal(one(&c, "-0.50", s_opts, NULL), "\"-0.50\"");
    assert_string_equal(one(&c, "150.00", d_opts, &schema), "150.0");
    assert_string_equal(schema, "{\"type\":\"double\",\"optional\":true");
    assert_string_equal(one(&c, "12345678.91", d_opts, NULL), "1.234567891E7");
    assert_string_equal(one(&c, NULL, d_opts, NULL), "null");
}

static void test_bigint_unsigned(void **state)
{
    (void)state;
    onecol c = {CDC_T_LONGLONG, 0, UNSIGNED, 0};
    const char *p_opts[] = {"bigint.unsigned.handling.mode", "precise", NULL};
    const char *schema;
    assert_string_equal(one(&c, "18446744073709551615", NULL, &schema), "-1"); /* long: Java's long wraps */
    assert_string_equal(schema, "{\"type\":\"int64\",\"optional\":false");
    assert_string_equal(one(&c, "9223372036854775807", NULL, NULL), "9223372036854775807");
    assert_string_equal(one(&c, "18446744073709551615", p_opts, &schema), "\"AP//////////\"");
    assert_string_equal(schema, "{\"type\":\"bytes\",\"optional\":false,\"name\":\"org.apache.kafka.connect.data.Decimal\","
                                "\"version\":1,\"parameters\":{\"scale\":\"0\",\"connect.decimal.precision\":\"20\"}");
    assert_string_equal(one(&c, "0", p_opts, NULL), "\"AA==\"");
}

static void test_integers(void **state)
{
    (void)state;
    const char *schema;
    onecol ti = {CDC_T_TINY, 0, 0, 0}, tiu = {CDC_T_TINY, 0, UNSIGNED, 0};
    assert_string_equal(one(&ti, "-128", NULL, &schema), "-128");
    assert_string_equal(schema, "{\"type\":\"int16\",\"optional\":false");
    assert_string_equal(one(&tiu, "255", NULL, &schema), "255");
    assert_string_equal(schema, "{\"type\":\"int16\",\"optional\":false");
    onecol si = {CDC_T_SHORT, 0, 0, 0}, siu = {CDC_T_SHORT, 0, UNSIGNED, 0};
    assert_string_equal(one(&si, "-32768", NULL, &schema), "-32768");
    assert_string_equal(schema, "{\"type\":\"int16\",\"optional\":false");
    assert_string_equal(one(&siu, "65535", NULL, &schema), "65535");
    assert_string_equal(schema, "{\"type\":\"int32\",\"optional\":false");
    onecol mi = {CDC_T_INT24, 0, UNSIGNED, 0};
    assert_string_equal(one(&mi, "16777215", NULL, &schema), "16777215");
    assert_string_equal(schema, "{\"type\":\"int32\",\"optional\":false");
    onecol in = {CDC_T_LONG, 0, 0, 0}, inu = {CDC_T_LONG, 0, UNSIGNED, 0};
    assert_string_equal(one(&in, "-2147483648", NULL, &schema), "-2147483648");
    assert_string_equal(schema, "{\"type\":\"int32\",\"optional\":false");
    assert_string_equal(one(&inu, "4294967295", NULL, &schema), "4294967295");
    assert_string_equal(schema, "{\"type\":\"int64\",\"optional\":false");
    onecol bi = {CDC_T_LONGLONG, 0, 0, 0};
    assert_string_equal(one(&bi, "-9223372036854775808", NULL, &schema), "-9223372036854775808");
    assert_string_equal(schema, "{\"type\":\"int64\",\"optional\":false");
}

static void test_floats_as_java(void **state)
{
    (void)state;
    char b[48];
    static const struct { double d; const char *java; } dv[] = {
        {1.0, "1.0"}, {100, "100.0"}, {0.1, "0.1"}, {0.001, "0.001"}, {0.0001, "1.0E-4"}, {1e7, "1.0E7"},
        {9999999, "9999999.0"}, {1234567.5, "1234567.5"}, {1e20, "1.0E20"}, {-1.5e-5, "-1.5E-5"}, {0.0, "0.0"},
        {-0.0, "-0.0"}, {1.7976931348623157e308, "1.7976931348623157E308"}, {4.9e-324, "4.9E-324"},
        {123456789012345678.0, "1.2345678901234568E17"}, /* shortest digits, as JDK 19+ prints */
    };
    for (size_t i = 0; i < sizeof dv / sizeof dv[0]; i++) {
        cdc__dz_java_double(b, dv[i].d);
        assert_string_equal(b, dv[i].java);
    }
    cdc__dz_java_float(b, 1.4e-45f);
    assert_string_equal(b, "1.4E-45");
    cdc__dz_java_float(b, 1.1f);
    assert_string_equal(b, "1.1");
    cdc__dz_java_float(b, 3.4028235e38f);
    assert_string_equal(b, "3.4028235E38");
    onecol f = {CDC_T_FLOAT, 4, 0, 0}, d = {CDC_T_DOUBLE, 8, 0, 0};
    const char *schema;
    assert_string_equal(one(&f, "1.100000023841858", NULL, &schema), "1.1"); /* CAST(f AS DOUBLE) text */
    assert_string_equal(schema, "{\"type\":\"float\",\"optional\":false");
    assert_string_equal(one(&d, "1e20", NULL, &schema), "1.0E20");
    assert_string_equal(schema, "{\"type\":\"double\",\"optional\":false");
}

/* ---- temporal ------------------------------------------------------------------ */

static void test_date(void **state)
{
    (void)state;
    const char *c_opts[] = {"time.precision.mode", "connect", NULL};
    onecol c = {CDC_T_DATE, 0, 0, 0}, cn = {CDC_T_DATE, 0, NULLABLE, 0};
    const char *schema;
    assert_string_equal(one(&c, "2018-06-20", NULL, &schema), "17702");
    assert_string_equal(schema, "{\"type\":\"int32\",\"optional\":false,\"name\":\"io.debezium.time.Date\",\"version\":1");
    assert_string_equal(one(&c, "1969-12-31", NULL, NULL), "-1");
    assert_string_equal(one(&c, "0001-01-01", NULL, NULL), "-719162");
    assert_string_equal(one(&c, "2018-06-20", c_opts, &schema), "17702");
    assert_string_equal(schema,
                        "{\"type\":\"int32\",\"optional\":false,\"name\":\"org.apache.kafka.connect.data.Date\",\"version\":1");
    /* zero dates: null when the column allows it, else the epoch day */
    assert_string_equal(one(&c, "0000-00-00", NULL, NULL), "0");
    assert_string_equal(one(&cn, "0000-00-00", NULL, NULL), "null");
    assert_string_equal(one(&cn, "2016-00-28", NULL, NULL), "null");
}

static void test_datetime(void **state)
{
    (void)state;
    const char *c_opts[] = {"time.precision.mode", "connect", NULL};
    onecol d0 = {CDC_T_DATETIME2, 0, 0, 0}, d3 = {CDC_T_DATETIME2, 3, 0, 0}, d6 = {CDC_T_DATETIME2, 6, NULLABLE, 0};
    const char *schema;
    /* Debezium's documentation: DATETIME 2018-06-20 06:37:03 becomes 1529476623000 */
    assert_string_equal(one(&d0, "2018-06-20 06:37:03", NULL, &schema), "1529476623000");
    assert_string_equal(schema, "{\"type\":\"int64\",\"optional\":false,\"name\":\"io.debezium.time.Timestamp\",\"version\":1");
    assert_string_equal(one(&d3, "2018-06-20 06:37:03.125", NULL, NULL), "1529476623125");
    assert_string_equal(one(&d6, "2018-06-20 06:37:03.123456", NULL, &schema), "1529476623123456");
    assert_string_equal(schema,
                        "{\"type\":\"int64\",\"optional\":true,\"name\":\"io.debezium.time.MicroTimestamp\",\"version\":1");
    assert_string_equal(one(&d6, "2018-06-20 06:37:03.123456", c_opts, &schema), "1529476623123");
    assert_string_equal(schema,
                        "{\"type\":\"int64\",\"optional\":true,\"name\":\"org.apache.kafka.connect.data.Timestamp\",\"version\":1");
    assert_string_equal(one(&d6, "1969-12-31 23:59:59.999999", NULL, NULL), "-1");
    assert_string_equal(one(&d6, "0000-00-00 00:00:00.000000", NULL, NULL), "null");
    assert_string_equal(one(&d0, "0000-00-00 00:00:00", NULL, NULL), "0");
}

static void test_timestamp(void **state)
{
    (void)state;
    onecol t0 = {CDC_T_TIMESTAMP2, 0, 0, 0}, t3 = {CDC_T_TIMESTAMP2, 3, NULLABLE, 0}, t6 = {CDC_T_TIMESTAMP2, 6, 0, 0};
    const char *c_opts[] = {"time.precision.mode", "connect", NULL};
    const char *schema;
    assert_string_equal(one(&t0, "2025-10-20 14:34:09", NULL, &schema), "\"2025-10-20T14:34:09Z\"");
    assert_string_equal(schema,
                        "{\"type\":\"string\",\"optional\":false,\"name\":\"io.debezium.time.ZonedTimestamp\",\"version\":1");
    /* Debezium's documentation: a TIMESTAMP read as UTC 2018-06-20 13:37:03 */
    assert_string_equal(one(&t0, "2018-06-20 13:37:03", c_opts, NULL), "\"2018-06-20T13:37:03Z\"");
    /* the fraction has the column's width, as ZonedTimestamp pads it */
    assert_string_equal(one(&t3, "2025-10-20 14:34:09.120", NULL, NULL), "\"2025-10-20T14:34:09.120Z\"");
    assert_string_equal(one(&t6, "2038-01-19 03:14:07.999999", NULL, NULL), "\"2038-01-19T03:14:07.999999Z\"");
    assert_string_equal(one(&t0, "0000-00-00 00:00:00", NULL, NULL), "\"1970-01-01T00:00:00Z\"");
    assert_string_equal(one(&t3, "0000-00-00 00:00:00.000", NULL, NULL), "null");
}

static void test_time(void **state)
{
    (void)state;
    const char *c_opts[] = {"time.precision.mode", "connect", NULL};
    onecol t6 = {CDC_T_TIME2, 6, 0, 0}, t0 = {CDC_T_TIME2, 0, 0, 0};
    const char *schema;
    assert_string_equal(one(&t6, "-838:59:59.000000", NULL, &schema), "-3020399000000");
    assert_string_equal(schema, "{\"type\":\"int64\",\"optional\":false,\"name\":\"io.debezium.time.MicroTime\",\"version\":1");
    assert_string_equal(one(&t6, "12:34:56.789012", NULL, NULL), "45296789012");
    assert_string_equal(one(&t0, "12:00:00", c_opts, &schema), "43200000");
    assert_string_equal(schema,
                        "{\"type\":\"int32\",\"optional\":false,\"name\":\"org.apache.kafka.connect.data.Time\",\"version\":1");
}

static void test_year(void **state)
{
    (void)state;
    onecol y = {CDC_T_YEAR, 0, 0, 0};
    const char *schema;
    assert_string_equal(one(&y, "2024", NULL, &schema), "2024");
    assert_string_equal(schema, "{\"type\":\"int32\",\"optional\":false,\"name\":\"io.debezium.time.Year\",\"version\":1");
    assert_string_equal(one(&y, "1901", NULL, NULL), "1901");
}

/* ---- strings, bytes, bits, enums --------------------------------------------------- */

static void test_strings(void **state)
{
    (void)state;
    onecol v = {CDC_T_VARCHAR, 1020, NULLABLE, 255};
    const char *schema;
    assert_string_equal(one(&v, "Anne", NULL, &schema), "\"Anne\"");
    assert_string_equal(schema, "{\"type\":\"string\",\"optional\":true");
    assert_string_equal(one(&v, "\xf0\x9f\x98\x80 h\xc3\xa9", NULL, NULL), "\"\xf0\x9f\x98\x80 h\xc3\xa9\"");
    assert_string_equal(one(&v, "a\"b\\c\n", NULL, NULL), "\"a\\\"b\\\\c\\n\"");
    onecol l1 = {CDC_T_VARCHAR, 10, 0, 8}; /* latin1 */
    assert_string_equal(one(&l1, "caf\xe9", NULL, NULL), "\"caf\xc3\xa9\"");
}

static void test_binary_modes(void **state)
{
    (void)state;
    onecol vb = {CDC_T_VARCHAR, 16, 0, 63}, b4 = {CDC_T_STRING, 4, 0, 63};
    const char *schema;
    const char *b64[] = {"binary.handling.mode", "base64", NULL};
    const char *url[] = {"binary.handling.mode", "base64-url-safe", NULL};
    const char *hex[] = {"binary.handling.mode", "hex", NULL};
    assert_string_equal(one(&vb, "\x01\x02\x03", NULL, &schema), "\"AQID\"");
    assert_string_equal(schema, "{\"type\":\"bytes\",\"optional\":false");
    assert_string_equal(one(&vb, "\x01\x02\x03", b64, &schema), "\"AQID\"");
    assert_string_equal(schema, "{\"type\":\"string\",\"optional\":false");
    assert_string_equal(one(&vb, "\xfb\xff", url, NULL), "\"-_8=\"");
    assert_string_equal(one(&vb, "\xfb\xff", NULL, NULL), "\"+/8=\"");
    assert_string_equal(one(&vb, "\x01\xab", hex, &schema), "\"01ab\"");
    assert_string_equal(schema, "{\"type\":\"string\",\"optional\":false");
    /* BINARY(4) is right-padded with zero bytes, as Debezium does (DBZ-254) */
    assert_string_equal(one(&b4, "\x01", NULL, NULL), "\"AQAAAA==\"");
}

static void test_bits(void **state)
{
    (void)state;
    const char *schema;
    onecol b1 = {CDC_T_BIT, 1, 0, 0};
    assert_string_equal(one(&b1, "\x01\x01", NULL, &schema), "true");
    assert_string_equal(schema, "{\"type\":\"boolean\",\"optional\":false");
    assert_string_equal(one(&b1, "\x01\x00", NULL, NULL), "false");
    onecol b10 = {CDC_T_BIT, 1 << 8 | 2, 0, 0};
    /* BIT(10) b'1111111111' = 0x03ff: little-endian ff 03 */
    assert_string_equal(one(&b10, "\x02\x03\xff", NULL, &schema), "\"/wM=\"");
    assert_string_equal(schema, "{\"type\":\"bytes\",\"optional\":false,\"name\":\"io.debezium.data.Bits\",\"version\":1,"
                                "\"parameters\":{\"length\":\"10\"}");
    onecol b64 = {CDC_T_BIT, 8 << 8, 0, 0};
    assert_string_equal(one(&b64, "\x08\x80\x00\x00\x00\x00\x00\x00\x01", NULL, NULL), "\"AQAAAAAAAIA=\"");
}

static void test_enum_set(void **state)
{
    (void)state;
    const char *schema;
    onecol e = {CDC_T_ENUM, 0, NULLABLE, 255}, s = {CDC_T_SET, 0, 0, 255};
    assert_string_equal(one(&e, "b", NULL, &schema), "\"b\"");
    assert_string_equal(schema, "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Enum\",\"version\":1,"
                                "\"parameters\":{\"allowed\":\"a,b,c\"}");
    assert_string_equal(one(&s, "a,c", NULL, &schema), "\"a,c\"");
    assert_string_equal(schema, "{\"type\":\"string\",\"optional\":false,\"name\":\"io.debezium.data.EnumSet\",\"version\":1,"
                                "\"parameters\":{\"allowed\":\"a,b,c\"}");
    assert_string_equal(one(&s, "", NULL, NULL), "\"\"");
}

static void test_json(void **state)
{
    (void)state;
    const char *schema;
    onecol j = {CDC_T_JSON, 4, NULLABLE, 0};
    assert_string_equal(one(&j, "{\"a\": [1, 2.5, null], \"b\": \"\xf0\x9f\x98\x80\"}", NULL, &schema),
                        "\"{\\\"a\\\":[1,2.5,null],\\\"b\\\":\\\"\xf0\x9f\x98\x80\\\"}\"");
    assert_string_equal(schema, "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Json\",\"version\":1");
}

static void test_geometry(void **state)
{
    (void)state;
    const char *schema;
    /* SRID 0 + WKB POINT(1 2): srid null, as Debezium writes an unset SRID */
    static const char pt[] = "\x19\x00\x00\x00\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\xf0\x3f"
                             "\x00\x00\x00\x00\x00\x00\x00\x40";
    onecol g = {CDC_T_GEOMETRY, 4, NULLABLE, 0};
    assert_string_equal(one(&g, pt, NULL, &schema), "{\"wkb\":\"AQEAAAAAAAAAAADwPwAAAAAAAABA\",\"srid\":null}");
    assert_string_equal(schema, "{\"type\":\"struct\",\"fields\":[{\"type\":\"bytes\",\"optional\":false,\"field\":\"wkb\"},"
                                "{\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}],\"optional\":true,"
                                "\"name\":\"io.debezium.data.geometry.Geometry\",\"version\":1,\"doc\":\"Geometry\"");
    static const char pt4326[] = "\x19\xe6\x10\x00\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\xf0\x3f"
                                 "\x00\x00\x00\x00\x00\x00\x00\x40";
    onecol p = {CDC_T_GEOMETRY, 4, NULLABLE | (1u << 16), 0}; /* metadata says POINT */
    assert_string_equal(one(&p, pt4326, NULL, &schema),
                        "{\"x\":1.0,\"y\":2.0,\"wkb\":\"AQEAAAAAAAAAAADwPwAAAAAAAABA\",\"srid\":4326}");
    assert_non_null(strstr(schema, "\"name\":\"io.debezium.data.geometry.Point\""));
}

/* ---- the envelope, keys and records ------------------------------------------------ */

/* Debezium's customers example table. */
static void customers(tb *x)
{
    tb_init(x, "inventory", "customers");
    tb_col(x, "id", CDC_T_LONG, 0, CDC_COLF_PRIMARY_KEY, 0);
    tb_col(x, "first_name", CDC_T_VARCHAR, 1020, 0, 255);
    tb_col(x, "last_name", CDC_T_VARCHAR, 1020, 0, 255);
    tb_col(x, "email", CDC_T_VARCHAR, 1020, 0, 255);
}

static void set_row(tb *x, int img, const char *id, const char *f, const char *l, const char *e)
{
    tb_val(x, img, 0, id);
    tb_val(x, img, 1, f);
    tb_val(x, img, 2, l);
    tb_val(x, img, 3, e);
}

static const char k_source[] =
    "\"source\":{\"version\":\"2.7.3.Final\",\"connector\":\"mysql\",\"name\":\"mysql-server-1\",\"ts_ms\":1465491411000,"
    "\"snapshot\":\"false\",\"db\":\"inventory\",\"sequence\":null,\"ts_us\":1465491411000000,\"ts_ns\":1465491411000000000,"
    "\"table\":\"customers\",\"server_id\":223344,\"gtid\":null,\"file\":\"mysql-bin.000003\",\"pos\":154,\"row\":0,"
    "\"thread\":null,\"query\":null}";

static void test_create_event_golden(void **state)
{
    (void)state;
    tb x;
    customers(&x);
    set_row(&x, 1, "1004", "Anne", "Kretchmar", "annek@noanswer.org");
    const char *opts[] = {"schemas.enable", "false", "source.version", "2.7.3.Final", NULL};
    cdc_debezium *dz = dz_new(opts);
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    assert_string_equal(rec_text(dz, 0, 0), "mysql-server-1.inventory.customers");
    assert_string_equal(rec_text(dz, 0, 1), "{\"id\":1004}");
    char want[4096];
    snprintf(want, sizeof want,
             "{\"before\":null,\"after\":{\"id\":1004,\"first_name\":\"Anne\",\"last_name\":\"Kretchmar\","
             "\"email\":\"annek@noanswer.org\"},%s,\"transaction\":null,\"op\":\"c\",\"ts_ms\":1465491411815,"
             "\"ts_us\":1465491411815437,\"ts_ns\":1465491411815437158}",
             k_source);
    assert_string_equal(rec_text(dz, 0, 2), want);
    assert_int_equal(cdc_debezium_record(dz, 0, NULL, NULL, NULL), CDC_DEBEZIUM_RECORD_CHANGE);
    cdc_debezium_free(dz);
    tb_free(&x);
}

static void test_schemas_golden(void **state)
{
    (void)state;
    tb x;
    customers(&x);
    set_row(&x, 1, "1001", "Sally", "Thomas", "sally.thomas@acme.com");
    const char *opts[] = {"source.version", "2.7.3.Final", NULL};
    cdc_debezium *dz = dz_new(opts);
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    /* the key of Debezium's documentation, in JsonConverter's member order */
    assert_string_equal(rec_text(dz, 0, 1),
                        "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"id\"}],"
                        "\"optional\":false,\"name\":\"mysql-server-1.inventory.customers.Key\"},\"payload\":{\"id\":1001}}");
    const char *v = rec_text(dz, 0, 2);
    const char *row = "{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"id\"},"
                      "{\"type\":\"string\",\"optional\":false,\"field\":\"first_name\"},"
                      "{\"type\":\"string\",\"optional\":false,\"field\":\"last_name\"},"
                      "{\"type\":\"string\",\"optional\":false,\"field\":\"email\"}],\"optional\":true,"
                      "\"name\":\"mysql-server-1.inventory.customers.Value\",\"field\":\"before\"}";
    assert_non_null(strstr(v, row));
    assert_true(!strncmp(v, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"struct\"", 50));
    assert_non_null(strstr(v, "\"name\":\"io.debezium.connector.mysql.Source\",\"version\":1,\"field\":\"source\"}"));
    assert_non_null(strstr(v, "\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"}"));
    assert_non_null(strstr(v, "\"optional\":false,\"name\":\"mysql-server-1.inventory.customers.Envelope\",\"version\":2},"
                              "\"payload\":{\"before\":null,\"after\":{\"id\":1001,"));
    assert_int_equal(v[strlen(v) - 1], '}');
    assert_non_null(strstr(v, "\"ts_ns\":1465491411815437158}}"));
    /* the schema is cached: the next row renders the same prefix */
    set_row(&x, 1, "1002", "George", "Bailey", "gbailey@foobar.com");
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    assert_non_null(strstr(rec_text(dz, 0, 2), row));
    cdc_debezium_free(dz);
    tb_free(&x);
}

static void test_update_delete_tombstone(void **state)
{
    (void)state;
    tb x;
    customers(&x);
    set_row(&x, 0, "1004", "Anne", "Kretchmar", "annek@noanswer.org");
    set_row(&x, 1, "1004", "Anne Marie", "Kretchmar", "annek@noanswer.org");
    const char *opts[] = {"schemas.enable", "false", NULL};
    cdc_debezium *dz = dz_new(opts);
    assert_int_equal(tb_render(&x, dz, 'u'), 1);
    const char *v = rec_text(dz, 0, 2);
    assert_non_null(strstr(v, "{\"before\":{\"id\":1004,\"first_name\":\"Anne\","));
    assert_non_null(strstr(v, "\"after\":{\"id\":1004,\"first_name\":\"Anne Marie\","));
    assert_non_null(strstr(v, "\"op\":\"u\""));
    /* delete: the event, then a tombstone with the same key and a null value */
    assert_int_equal(tb_render(&x, dz, 'd'), 2);
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"after\":null"));
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"op\":\"d\""));
    assert_int_equal(cdc_debezium_record(dz, 1, NULL, NULL, NULL), CDC_DEBEZIUM_RECORD_TOMBSTONE);
    assert_string_equal(rec_text(dz, 1, 1), "{\"id\":1004}");
    assert_string_equal(rec_text(dz, 1, 2), "NULL");
    assert_string_equal(rec_text(dz, 1, 0), "mysql-server-1.inventory.customers");
    /* a primary-key update: delete of the old key, tombstone, create of the new */
    tb_val(&x, 1, 0, "1005");
    assert_int_equal(tb_render(&x, dz, 'u'), 3);
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"op\":\"d\""));
    assert_string_equal(rec_text(dz, 0, 1), "{\"id\":1004}");
    assert_string_equal(rec_text(dz, 1, 2), "NULL");
    assert_non_null(strstr(rec_text(dz, 2, 2), "\"op\":\"c\""));
    assert_string_equal(rec_text(dz, 2, 1), "{\"id\":1005}");
    char err[256];
    assert_int_equal(cdc_debezium_set(dz, "tombstones.on.delete", "false", err, sizeof err), CDC_OK);
    assert_int_equal(tb_render(&x, dz, 'd'), 1);
    assert_int_equal(cdc_debezium_set(dz, "skipped.operations", "c,d", err, sizeof err), CDC_OK);
    assert_int_equal(tb_render(&x, dz, 'd'), 0);
    assert_int_equal(tb_render(&x, dz, 'c'), 0);
    assert_int_equal(tb_render(&x, dz, 'u'), 2); /* pk update without tombstone */
    assert_int_equal(cdc_debezium_set(dz, "skipped.operations", "none", err, sizeof err), CDC_OK);
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    cdc_debezium_free(dz);
    tb_free(&x);
}

static void test_snapshot_marker_and_no_key(void **state)
{
    (void)state;
    tb x;
    tb_init(&x, "inventory", "nokey");
    tb_col(&x, "a", CDC_T_LONG, 0, 0, 0);
    tb_val(&x, 1, 0, "5");
    const char *opts[] = {"schemas.enable", "false", NULL};
    cdc_debezium *dz = dz_new(opts);
    cdc__change_spec s = {.op = 'r', .t = &x.t, .after = x.after, .pa = x.pa, .file = "binlog.000001", .offset = 4};
    run r = {dz, 0};
    cdc__change_synth(&s, on_change, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(rec_text(dz, 0, 1), "NULL"); /* no primary key: null key */
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"op\":\"r\""));
    cdc_debezium_free(dz);
    tb_free(&x);
}

static int on_change_last(const cdc_change *c, void *ud)
{
    run *r = ud;
    r->n = cdc_debezium_change(r->dz, c, CDC_DEBEZIUM_SNAPSHOT_LAST_IN_DATA_COLLECTION);
    return 0;
}

static void test_snapshot_marker(void **state)
{
    (void)state;
    tb x;
    customers(&x);
    set_row(&x, 1, "1", "a", "b", "c");
    const char *opts[] = {"schemas.enable", "false", NULL};
    cdc_debezium *dz = dz_new(opts);
    cdc__change_spec s = {.op = 'r', .t = &x.t, .after = x.after, .pa = x.pa, .file = "binlog.000001", .offset = 4};
    run r = {dz, 0};
    cdc__change_synth(&s, on_change_last, &r);
    assert_int_equal(r.n, 1);
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"snapshot\":\"last_in_data_collection\""));
    /* a snapshot row without a commit time takes the clock's */
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"ts_ms\":1465491411815,\"snapshot\""));
    cdc_debezium_free(dz);
    tb_free(&x);
}

/* ---- snapshot markers worked out by the renderer (cdc_debezium_snapshot_row) ---- */

typedef struct snaprun {
    cdc_debezium *dz;
    char out[16][8192]; /* values released so far, in order */
    char direct[16][8192]; /* the same rows rendered by cdc_debezium_change with the expected marker */
    size_t n, ndirect;
    cdc_debezium_snapshot want; /* marker for the direct rendering */
    ptrdiff_t rc;
} snaprun;

static void snap_collect(snaprun *r, ptrdiff_t n)
{
    r->rc = n;
    for (ptrdiff_t i = 0; i < n; i++) {
        assert_true(r->n < 16);
        snprintf(r->out[r->n++], sizeof r->out[0], "%s", rec_text(r->dz, (size_t)i, 2));
    }
}

static int on_snap_row(const cdc_change *c, void *ud)
{
    snaprun *r = ud;
    snap_collect(r, cdc_debezium_snapshot_row(r->dz, c));
    return 0;
}

static int on_direct(const cdc_change *c, void *ud)
{
    snaprun *r = ud;
    assert_int_equal(cdc_debezium_change(r->dz, c, r->want), 1);
    snprintf(r->direct[r->ndirect++], sizeof r->direct[0], "%s", rec_text(r->dz, 0, 2));
    return 0;
}

static const char *marker_of(const char *value)
{
    static char m[64];
    const char *p = strstr(value, "\"snapshot\":\"");
    assert_non_null(p);
    p += 12;
    size_t n = strcspn(p, "\"");
    assert_true(n < sizeof m);
    memcpy(m, p, n);
    m[n] = 0;
    return m;
}

/* Tables A (3 rows), B (1 row), C (2 rows): Debezium's precedence gives
 * first, true, last_in_data_collection | last_in_data_collection |
 * first_in_data_collection, last; each value byte for byte what
 * cdc_debezium_change renders with that marker. */
static void snapshot_sequence(bool schemas)
{
    static const struct { const char *table, *id; cdc_debezium_snapshot want; } rows[] = {
        {"a", "1", CDC_DEBEZIUM_SNAPSHOT_FIRST},
        {"a", "2", CDC_DEBEZIUM_SNAPSHOT_TRUE},
        {"a", "3", CDC_DEBEZIUM_SNAPSHOT_LAST_IN_DATA_COLLECTION},
        {"b", "4", CDC_DEBEZIUM_SNAPSHOT_LAST_IN_DATA_COLLECTION},
        {"c", "5", CDC_DEBEZIUM_SNAPSHOT_FIRST_IN_DATA_COLLECTION},
        {"c", "6", CDC_DEBEZIUM_SNAPSHOT_LAST},
    };
    static const char *const names[] = {"false", "true", "first", "first_in_data_collection",
                                        "last_in_data_collection", "last"};
    const char *opts[] = {"schemas.enable", schemas ? "true" : "false", NULL};
    static snaprun r;
    memset(&r, 0, sizeof r);
    r.dz = dz_new(opts);
    tb x[3];
    for (int t = 0; t < 3; t++) {
        tb_init(&x[t], "inventory", t == 0 ? "a" : t == 1 ? "b" : "c");
        tb_col(&x[t], "id", CDC_T_LONG, 0, CDC_COLF_PRIMARY_KEY, 0);
        tb_col(&x[t], "name", CDC_T_VARCHAR, 1020, 0, 255);
    }
    size_t nrows = sizeof rows / sizeof rows[0];
    for (size_t i = 0; i < nrows; i++) {
        tb *t = &x[rows[i].table[0] - 'a'];
        tb_val(t, 1, 0, rows[i].id);
        tb_val(t, 1, 1, "snapshot row with a longer text, \xF0\x9F\x98\x80");
        cdc__change_spec s = {.op = 'r', .t = &t->t, .after = t->after, .pa = t->pa, .file = "binlog.000001",
                              .offset = 4};
        size_t before = r.n;
        cdc__change_synth(&s, on_snap_row, &r);
        assert_int_equal(r.rc, i == 0 ? 0 : 1); /* the first row is held; each later one releases one */
        assert_int_equal(r.n, before + (i == 0 ? 0 : 1));
        if (i == 2) {
            /* other calls between two snapshot rows leave the held row alone */
            assert_int_equal(cdc_debezium_heartbeat(r.dz, 5), 1);
            assert_int_equal(cdc_debezium_change(r.dz, NULL, CDC_DEBEZIUM_SNAPSHOT_FALSE), CDC_ERR_INVALID);
            assert_int_equal(cdc_debezium_snapshot_row(r.dz, NULL), CDC_ERR_INVALID);
        }
        r.want = rows[i].want;
        cdc__change_synth(&s, on_direct, &r);
    }
    snap_collect(&r, cdc_debezium_snapshot_end(r.dz));
    assert_int_equal(r.rc, 1);
    assert_int_equal(r.n, nrows);
    for (size_t i = 0; i < nrows; i++) {
        assert_string_equal(marker_of(r.out[i]), names[rows[i].want]);
        assert_string_equal(r.out[i], r.direct[i]);
    }
    /* ended: nothing held; a new snapshot starts with "first" */
    assert_int_equal(cdc_debezium_snapshot_end(r.dz), 0);
    cdc__change_spec s = {.op = 'r', .t = &x[1].t, .after = x[1].after, .pa = x[1].pa, .file = "f", .offset = 4};
    r.n = 0;
    cdc__change_synth(&s, on_snap_row, &r);
    assert_int_equal(r.rc, 0);
    snap_collect(&r, cdc_debezium_snapshot_end(r.dz));
    assert_int_equal(r.n, 1);
    assert_string_equal(marker_of(r.out[0]), "last"); /* a one-row snapshot: last wins over first */
    /* reset forgets a held row */
    r.n = 0;
    cdc__change_synth(&s, on_snap_row, &r);
    cdc_debezium_snapshot_reset(r.dz);
    assert_int_equal(cdc_debezium_snapshot_end(r.dz), 0);
    cdc__change_synth(&s, on_snap_row, &r);
    cdc__change_synth(&s, on_snap_row, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(marker_of(r.out[0]), "first"); /* after a reset the snapshot starts again */
    cdc_debezium_free(r.dz);
    for (int t = 0; t < 3; t++) tb_free(&x[t]);
}

static void test_snapshot_sequence(void **state)
{
    (void)state;
    snapshot_sequence(false);
    snapshot_sequence(true);
}

static void test_transaction_metadata(void **state)
{
    (void)state;
    tb x, y;
    customers(&x);
    set_row(&x, 1, "1", "a", "b", "c");
    tb_init(&y, "s2", "a");
    tb_col(&y, "id", CDC_T_LONG, 0, CDC_COLF_PRIMARY_KEY, 0);
    tb_val(&y, 1, 0, "9");
    const char *opts[] = {"schemas.enable", "false", "provide.transaction.metadata", "true", NULL};
    cdc_debezium *dz = dz_new(opts);
    const char *id = "0e4d5dcd-a33b-11ea-80f1-02010a22a99e:10";
    assert_int_equal(cdc_debezium_begin(dz, id, 1486500577125), 1);
    assert_string_equal(rec_text(dz, 0, 0), "mysql-server-1.transaction");
    assert_string_equal(rec_text(dz, 0, 1), "{\"id\":\"0e4d5dcd-a33b-11ea-80f1-02010a22a99e:10\"}");
    /* Debezium's documented BEGIN record */
    assert_string_equal(rec_text(dz, 0, 2),
                        "{\"status\":\"BEGIN\",\"id\":\"0e4d5dcd-a33b-11ea-80f1-02010a22a99e:10\",\"event_count\":null,"
                        "\"data_collections\":null,\"ts_ms\":1486500577125}");
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"transaction\":{\"id\":\"0e4d5dcd-a33b-11ea-80f1-02010a22a99e:10\","
                                               "\"total_order\":1,\"data_collection_order\":1}"));
    assert_int_equal(tb_render(&y, dz, 'c'), 1);
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"total_order\":2,\"data_collection_order\":1}"));
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"total_order\":3,\"data_collection_order\":2}"));
    assert_int_equal(cdc_debezium_commit(dz, 1486500577691), 1);
    assert_string_equal(rec_text(dz, 0, 2),
                        "{\"status\":\"END\",\"id\":\"0e4d5dcd-a33b-11ea-80f1-02010a22a99e:10\",\"event_count\":3,"
                        "\"data_collections\":[{\"data_collection\":\"inventory.customers\",\"event_count\":2},"
                        "{\"data_collection\":\"s2.a\",\"event_count\":1}],\"ts_ms\":1486500577691}");
    /* outside a transaction: no block */
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"transaction\":null"));
    assert_int_equal(cdc_debezium_commit(dz, 1), 0);
    /* with schemas: the documented schema names */
    char err[256];
    assert_int_equal(cdc_debezium_set(dz, "schemas.enable", "true", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_debezium_begin(dz, "file=mysql-bin.000003,pos=154", 5), 1);
    assert_non_null(strstr(rec_text(dz, 0, 1), "\"name\":\"io.debezium.connector.common.TransactionMetadataKey\""));
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"name\":\"io.debezium.connector.common.TransactionMetadataValue\""));
    assert_int_equal(cdc_debezium_begin(dz, "", 5), CDC_ERR_INVALID);
    assert_non_null(strstr(cdc_debezium_errmsg(dz), "transaction id is empty"));
    cdc_debezium_free(dz);
    tb_free(&x);
    tb_free(&y);
}

static void test_column_options(void **state)
{
    (void)state;
    tb x;
    customers(&x);
    set_row(&x, 1, "7", "\xf0\x9f\x98\x80" "bcdef", "Kretchmar", "annek@noanswer.org");
    const char *opts[] = {"schemas.enable", "false",
                          "column.exclude.list", "inventory\\.customers\\.email",
                          "column.truncate.to.3.chars", "inventory.customers.first_name",
                          "column.mask.with.5.chars", "INVENTORY.CUSTOMERS.LAST_NAME", NULL};
    cdc_debezium *dz = dz_new(opts);
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    /* truncation counts Java chars: the emoji is two */
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"after\":{\"id\":7,\"first_name\":\"\xf0\x9f\x98\x80" "b\","
                                               "\"last_name\":\"*****\"},"));
    char err[256];
    assert_int_equal(cdc_debezium_set(dz, "column.exclude.list", NULL, err, sizeof err), CDC_OK);
    assert_int_equal(cdc_debezium_set(dz, "column.mask.hash.v2.SHA-256.with.salt.CzQMA0cB5K", "inventory.customers.email",
                                      err, sizeof err), CDC_OK);
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    uint8_t h[32];
    cdc__crypto_sha256("CzQMA0cB5K", 10, "annek@noanswer.org", 18, h);
    char want[80] = "\"email\":\"";
    for (int i = 0; i < 32; i++) sprintf(want + 9 + 2 * i, "%02x", h[i]);
    strcat(want, "\"}");
    assert_non_null(strstr(rec_text(dz, 0, 2), want));
    /* v1 hashes Java's serialized String: ac ed 00 05 74 <len> <bytes> */
    assert_int_equal(cdc_debezium_set(dz, "column.mask.hash.v2.SHA-256.with.salt.CzQMA0cB5K", NULL, err, sizeof err), CDC_OK);
    assert_int_equal(cdc_debezium_set(dz, "column.mask.hash.SHA-256.with.salt.CzQMA0cB5K", "inventory.customers.email",
                                      err, sizeof err), CDC_OK);
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    uint8_t ser[64] = {0xac, 0xed, 0x00, 0x05, 0x74, 0x00, 18};
    memcpy(ser + 7, "annek@noanswer.org", 18);
    cdc__crypto_sha256("CzQMA0cB5K", 10, ser, 25, h);
    for (int i = 0; i < 32; i++) sprintf(want + 9 + 2 * i, "%02x", h[i]);
    assert_non_null(strstr(rec_text(dz, 0, 2), want));
    /* message.key.columns overrides the primary key */
    assert_int_equal(cdc_debezium_set(dz, "message.key.columns", "inventory.cust.*:last_name,id", err, sizeof err), CDC_OK);
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    assert_string_equal(rec_text(dz, 0, 1), "{\"id\":7,\"last_name\":\"*****\"}");
    /* bad values name the key and the problem */
    assert_int_equal(cdc_debezium_set(dz, "column.mask.hash.MD4.with.salt.x", "a.b.c", err, sizeof err), CDC_ERR_CONFIG);
    assert_non_null(strstr(err, "MD4"));
    assert_int_equal(cdc_debezium_set(dz, "column.exclude.list", "a.b.(c", err, sizeof err), CDC_ERR_CONFIG);
    assert_non_null(strstr(err, "not a valid regular expression"));
    assert_int_equal(cdc_debezium_set(dz, "message.key.columns", "nocolon", err, sizeof err), CDC_ERR_CONFIG);
    assert_non_null(strstr(err, "message.key.columns"));
    cdc_debezium_free(dz);
    tb_free(&x);
}

static void test_topics_and_heartbeat(void **state)
{
    (void)state;
    tb x;
    tb_init(&x, "my-db", "ta$bl\xc3\xa9");
    tb_col(&x, "id", CDC_T_LONG, 0, CDC_COLF_PRIMARY_KEY, 0);
    tb_val(&x, 1, 0, "1");
    const char *opts[] = {"schemas.enable", "false", NULL};
    cdc_debezium *dz = dz_new(opts);
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    assert_string_equal(rec_text(dz, 0, 0), "mysql-server-1.my-db.ta_bl_");
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"db\":\"my-db\",")); /* the source keeps the real names */
    assert_int_equal(cdc_debezium_heartbeat(dz, 1700000000000), 1);
    assert_string_equal(rec_text(dz, 0, 0), "__debezium-heartbeat.mysql-server-1");
    assert_string_equal(rec_text(dz, 0, 1), "{\"serverName\":\"mysql-server-1\"}");
    assert_string_equal(rec_text(dz, 0, 2), "{\"ts_ms\":1700000000000}");
    assert_int_equal(cdc_debezium_record(dz, 0, NULL, NULL, NULL), CDC_DEBEZIUM_RECORD_HEARTBEAT);
    assert_int_equal(cdc_debezium_record(dz, 1, NULL, NULL, NULL), CDC_ERR_INVALID);
    char err[256];
    assert_int_equal(cdc_debezium_set(dz, "schemas.enable", "true", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_debezium_heartbeat(dz, 5), 1);
    assert_non_null(strstr(rec_text(dz, 0, 1), "\"name\":\"io.debezium.connector.common.ServerNameKey\""));
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"name\":\"io.debezium.connector.common.Heartbeat\""));
    cdc_debezium_free(dz);
    tb_free(&x);
}

static void test_options_and_errors(void **state)
{
    (void)state;
    cdc_debezium *dz = NULL;
    char err[256];
    assert_int_equal(cdc_debezium_new(&dz, &vt_alloc, err, sizeof err), CDC_OK);
    /* no topic.prefix yet */
    assert_int_equal(cdc_debezium_heartbeat(dz, 1), CDC_ERR_CONFIG);
    assert_non_null(strstr(cdc_debezium_errmsg(dz), "topic.prefix"));
    assert_int_equal(cdc_debezium_set(dz, "decimal.handling.mode", "exact", err, sizeof err), CDC_ERR_CONFIG);
    assert_non_null(strstr(err, "decimal.handling.mode: 'exact' is not one of precise, string, double"));
    assert_int_equal(cdc_debezium_set(dz, "time.precision.mode", "adaptive", err, sizeof err), CDC_ERR_CONFIG);
    assert_non_null(strstr(err, "not supported"));
    assert_int_equal(cdc_debezium_set(dz, "tombstones.on.delete", "maybe", err, sizeof err), CDC_ERR_CONFIG);
    assert_int_equal(cdc_debezium_set(dz, "database.hostname", "x", err, sizeof err), CDC_ERR_CONFIG);
    assert_non_null(strstr(err, "unknown option 'database.hostname'"));
    assert_int_equal(cdc_debezium_set(dz, "skipped.operations", "c,x", err, sizeof err), CDC_ERR_CONFIG);
    assert_int_equal(cdc_debezium_set(dz, "column.truncate.to.0.chars", "a", err, sizeof err), CDC_ERR_CONFIG);
    assert_int_equal(cdc_debezium_set(dz, "column.include.list", "a.b.c", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_debezium_set(dz, "column.exclude.list", "a.b.d", err, sizeof err), CDC_ERR_CONFIG);
    assert_int_equal(cdc_debezium_set(dz, "topic.prefix", "", err, sizeof err), CDC_ERR_CONFIG);
    assert_int_equal(cdc_debezium_set(dz, "connector", "mariadb", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_debezium_set(dz, "topic.prefix", "p", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_debezium_set(dz, "topic.prefix", "p", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_debezium_set(dz, "schemas.enable", "false", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_debezium_set(dz, "topic.heartbeat.prefix", "hb", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_debezium_heartbeat(dz, 1), 1);
    assert_string_equal(rec_text(dz, 0, 0), "hb.p");
    assert_int_equal(cdc_debezium_change(dz, NULL, CDC_DEBEZIUM_SNAPSHOT_FALSE), CDC_ERR_INVALID);
    assert_int_equal(cdc_debezium_record_count(dz), 0);
    assert_true(cdc_debezium_is_option("column.mask.hash.SHA-256.with.salt.abc"));
    assert_true(cdc_debezium_is_option("decimal.handling.mode"));
    assert_false(cdc_debezium_is_option("database.hostname"));
    cdc_debezium_free(dz);
    cdc_debezium_free(NULL);
}

static void test_mariadb_source(void **state)
{
    (void)state;
    tb x;
    customers(&x);
    set_row(&x, 1, "1", "a", "b", "c");
    const char *opts[] = {"connector", "mariadb", NULL};
    cdc_debezium *dz = dz_new(opts);
    cdc__change_spec s = {.op = 'c', .t = &x.t, .after = x.after, .pa = x.pa, .file = "mariadb-bin.000002",
                          .offset = 330, .row = 2, .gtid = "0-1-42", .server_id = 1, .ts_ms = 1700000000123};
    run r = {dz, 0};
    cdc__change_synth(&s, on_change, &r);
    assert_int_equal(r.n, 1);
    const char *v = rec_text(dz, 0, 2);
    assert_non_null(strstr(v, "\"name\":\"io.debezium.connector.mariadb.Source\""));
    assert_non_null(strstr(v, "\"connector\":\"mariadb\""));
    assert_non_null(strstr(v, "\"ts_ms\":1700000000123,\"snapshot\":\"false\""));
    assert_non_null(strstr(v, "\"gtid\":\"0-1-42\",\"file\":\"mariadb-bin.000002\",\"pos\":330,\"row\":2,"
                              "\"thread\":null,"));
    /* the thread the host read from the BEGIN event, until the next begin */
    assert_int_equal(cdc_debezium_begin(dz, "0-1-43", 5), 0);
    cdc_debezium_set_thread(dz, 4711);
    cdc__change_synth(&s, on_change, &r);
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"row\":2,\"thread\":4711,\"query\":null}"));
    assert_int_equal(cdc_debezium_begin(dz, "0-1-44", 5), 0);
    cdc__change_synth(&s, on_change, &r);
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"row\":2,\"thread\":null,\"query\":null}"));
    cdc_debezium_free(dz);
    tb_free(&x);
}

/* ---- every fixture binlog: each record is valid JSON ------------------------------ */

/* A strict JSON syntax check (RFC 8259): returns the end of the value at
 * p, or NULL. */
static const char *js_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static const char *js_value(const char *p, const char *e, int depth);

static const char *js_string(const char *p, const char *e)
{
    if (p >= e || *p != '"') return NULL;
    for (p++; p < e; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c < 0x20) return NULL;
        if (c == '\\') {
            if (++p >= e) return NULL;
            if (*p == 'u') {
                for (int k = 0; k < 4; k++)
                    if (++p >= e || !strchr("0123456789abcdefABCDEF", *p)) return NULL;
            } else if (!strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
    }
    return NULL;
}

static const char *js_number(const char *p, const char *e)
{
    const char *s = p;
    if (p < e && *p == '-') p++;
    if (p >= e) return NULL;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (p < e && *p >= '0' && *p <= '9') p++;
    else return NULL;
    if (p < e && *p == '.') {
        if (++p >= e || *p < '0' || *p > '9') return NULL;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || *p < '0' || *p > '9') return NULL;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    return p > s ? p : NULL;
}

static const char *js_value(const char *p, const char *e, int depth)
{
    if (depth > 200) return NULL;
    p = js_ws(p, e);
    if (p >= e) return NULL;
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        bool obj = *p == '{';
        p = js_ws(p + 1, e);
        if (p < e && *p == close) return p + 1;
        for (;;) {
            if (obj) {
                if (!(p = js_string(js_ws(p, e), e))) return NULL;
                p = js_ws(p, e);
                if (p >= e || *p != ':') return NULL;
                p++;
            }
            if (!(p = js_value(p, e, depth + 1))) return NULL;
            p = js_ws(p, e);
            if (p < e && *p == ',') { p++; continue; }
            if (p < e && *p == close) return p + 1;
            return NULL;
        }
    }
    if (*p == '"') return js_string(p, e);
    if (e - p >= 4 && !memcmp(p, "true", 4)) return p + 4;
    if (e - p >= 5 && !memcmp(p, "false", 5)) return p + 5;
    if (e - p >= 4 && !memcmp(p, "null", 4)) return p + 4;
    return js_number(p, e);
}

static bool json_ok(cdc_bytes b)
{
    const char *e = (const char *)b.ptr + b.len;
    const char *p = js_value((const char *)b.ptr, e, 0);
    return p && js_ws(p, e) == e;
}

typedef struct fx_run {
    cdc_debezium *dz[2];
    size_t records, errors;
    const char *file;
} fx_run;

static void fx_check(fx_run *r, cdc_debezium *dz, ptrdiff_t n)
{
    if (n < 0) {
        /* only what a value itself can be wrong with, never a crash or a bad record */
        if (n != CDC_ERR_SCHEMA && n != CDC_ERR_CORRUPT && n != CDC_ERR_CHARSET)
            fail_msg("%s: %s: %s", r->file, cdc_err_name((int)n), cdc_debezium_errmsg(dz));
        r->errors++;
        return;
    }
    for (size_t i = 0; i < (size_t)n; i++) {
        cdc_bytes t, k, v;
        cdc_debezium_record(dz, i, &t, &k, &v);
        for (size_t j = 0; j < t.len; j++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", t.ptr[j]))
                fail_msg("%s: topic %.*s", r->file, (int)t.len, t.ptr);
        if (k.ptr && !json_ok(k)) fail_msg("%s: key is not JSON: %.*s", r->file, (int)(k.len > 300 ? 300 : k.len), k.ptr);
        if (v.ptr && !json_ok(v)) fail_msg("%s: value is not JSON: %.*s", r->file, (int)(v.len > 300 ? 300 : v.len), v.ptr);
        r->records++;
    }
}

static int fx_change(const cdc_change *c, void *ud)
{
    fx_run *r = ud;
    for (int i = 0; i < 2; i++) fx_check(r, r->dz[i], cdc_debezium_change(r->dz[i], c, CDC_DEBEZIUM_SNAPSHOT_FALSE));
    return 0;
}

static int fx_begin(const cdc_event *ev, void *ud)
{
    fx_run *r = ud;
    const char *g = cdc_event_gtid(ev);
    for (int i = 0; i < 2; i++) fx_check(r, r->dz[i], cdc_debezium_begin(r->dz[i], *g ? g : "file=x,pos=4", 1));
    return 0;
}

static int fx_commit(const cdc_event *ev, void *ud)
{
    fx_run *r = ud;
    (void)ev;
    for (int i = 0; i < 2; i++) fx_check(r, r->dz[i], cdc_debezium_commit(r->dz[i], 2));
    return 0;
}

static int fx_query(const cdc_query *q, void *ud)
{
    fx_run *r = ud;
    for (int i = 0; i < 2; i++) fx_check(r, r->dz[i], cdc_debezium_schema_change(r->dz[i], q, CDC_DEBEZIUM_SNAPSHOT_FALSE));
    return 0;
}

static void test_fixtures_valid_json(void **state)
{
    (void)state;
    const char *root = getenv("CDC_FIXTURES");
    if (!root) fail_msg("CDC_FIXTURES is not set (run through meson test)");
    char path[4096];
    snprintf(path, sizeof path, "%s/MANIFEST.tsv", root);
    FILE *m = fopen(path, "r");
    if (!m) fail_msg("cannot open %s", path);
    char line[2048];
    size_t files = 0, records = 0, errors = 0;
    const char *o1[] = {"provide.transaction.metadata", "true", NULL};
    const char *o2[] = {"schemas.enable", "false", "decimal.handling.mode", "double", "time.precision.mode", "connect",
                        "bigint.unsigned.handling.mode", "precise", "binary.handling.mode", "hex",
                        "column.truncate.to.2.chars", ".*", NULL};
    while (fgets(line, sizeof line, m)) {
        char *tab = strchr(line, '\t');
        if (!tab || !strncmp(line, "dest\t", 5)) continue;
        *tab = 0;
        size_t nl = strlen(line);
        if (nl > 3 && !strcmp(line + nl - 3, ".gz")) continue;
        snprintf(path, sizeof path, "%s/%s", root, line);
        size_t n;
        uint8_t *p = read_file(path, &n);
        if (!p) continue;
        fx_run r = {{dz_new(o1), dz_new(o2)}, 0, 0, line};
        cdc_decoder *d;
        char err[256];
        assert_int_equal(cdc_decoder_new(&d, &vt_alloc, err, sizeof err), CDC_OK);
        cdc_decoder_set_position(d, line, 0);
        cdc_decoder_set_change_cb(d, fx_change, &r);
        cdc_decoder_set_begin_cb(d, fx_begin, &r);
        cdc_decoder_set_commit_cb(d, fx_commit, &r);
        cdc_decoder_set_query_cb(d, fx_query, &r);
        if (cdc_decoder_feed(d, p, n) >= 0) cdc_decoder_finish(d); /* decoder errors are test_decoder's */
        cdc_decoder_free(d);
        cdc_debezium_free(r.dz[0]);
        cdc_debezium_free(r.dz[1]);
        free(p);
        files++;
        records += r.records;
        errors += r.errors;
    }
    fclose(m);
    assert_true(files >= 15);
    assert_true(records >= 1000);
    print_message("%zu fixture files, %zu records, all valid JSON; %zu values refused\n", files, records, errors);
}

/* A value that does not fit its column's type is refused, and the
 * message names the table, the column and both types. */
static void test_value_errors(void **state)
{
    (void)state;
    tb x;
    tb_init(&x, "inventory", "t");
    tb_col(&x, "id", CDC_T_LONG, 0, CDC_COLF_PRIMARY_KEY, 0);
    cdc_column *c = tb_col(&x, "v", CDC_T_LONG, 0, 0, 0);
    tb_val(&x, 1, 0, "1");
    tb_val(&x, 1, 1, "5");
    c->type = c->real_type = CDC_T_DATE; /* the value stays an INT */
    const char *opts[] = {"schemas.enable", "false", NULL};
    cdc_debezium *dz = dz_new(opts);
    assert_int_equal(tb_render(&x, dz, 'c'), CDC_ERR_SCHEMA);
    assert_string_equal(cdc_debezium_errmsg(dz), "inventory.t column 2 `v` DATE: a INT value where DATE was expected");
    assert_int_equal(cdc_debezium_record_count(dz), 0);
    /* the renderer stays usable; a new TABLE_MAP (another id) is planned again */
    c->type = c->real_type = CDC_T_LONG;
    x.t.id++;
    tb_val(&x, 1, 1, "6");
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    assert_non_null(strstr(rec_text(dz, 0, 2), "\"after\":{\"id\":1,\"v\":6}"));
    cdc_debezium_free(dz);
    tb_free(&x);
}

/* What the decoder delivers without a renderer, counted by the host's own
 * callbacks (which a batch without a renderer must leave in place). */
typedef struct {
    int begins, commits, ddl;
} bl_counts;

static int bl_begin(const cdc_event *e, void *ud)
{
    (void)e;
    ((bl_counts *)ud)->begins++;
    return 0;
}

static int bl_commit(const cdc_event *e, void *ud)
{
    (void)e;
    ((bl_counts *)ud)->commits++;
    return 0;
}

static int bl_query(const cdc_query *q, void *ud)
{
    if (!cdc_query_error_code(q) && cdc_query_is_ddl(q)) ((bl_counts *)ud)->ddl++;
    return 0;
}

/* A batch with a renderer: each change line becomes its Debezium records,
 * each DDL statement its schema-change record, and each transaction its
 * BEGIN and END records (provide.transaction.metadata), in binlog order:
 * a transaction's changes between its BEGIN and its END. */
static void test_batch_lines(void **state)
{
    (void)state;
    size_t n;
    uint8_t *bin = vt_fixture("rust-mysql-binlog/bin-log.000001", &n);
    int changes = 0, begins = 0, ends = 0, schema = 0;
    bl_counts host = {0, 0, 0};
    for (int with = 0; with < 2; with++) {
        cdc_decoder *d;
        cdc_batch *b;
        char err[256];
        assert_int_equal(cdc_decoder_new(&d, &vt_alloc, err, sizeof err), CDC_OK);
        assert_int_equal(cdc_batch_new(&b, 0, &vt_alloc), CDC_OK);
        if (!with) {
            cdc_decoder_set_begin_cb(d, bl_begin, &host);
            cdc_decoder_set_commit_cb(d, bl_commit, &host);
            cdc_decoder_set_query_cb(d, bl_query, &host);
        }
        assert_int_equal(cdc_batch_attach_decoder(b, d), CDC_OK);
        cdc_debezium *dz = NULL;
        if (with) {
            const char *opts[] = {"schemas.enable", "false", "provide.transaction.metadata", "true", NULL};
            dz = dz_new(opts);
            assert_int_equal(cdc_batch_set_debezium(b, dz), CDC_OK);
        }
        const char *data;
        size_t len;
        assert_int_equal(cdc_batch_feed(b, bin, n, &data, &len), (ptrdiff_t)n);
        bool open = false;
        for (const char *p = data; p < data + len;) {
            const char *e = memchr(p, '\n', (size_t)(data + len - p));
            assert_non_null(e);
            size_t l = (size_t)(e - p);
            if (!with) {
                assert_true(!strncmp(p, "{\"op\":", sizeof "{\"op\":" - 1));
                changes++;
            } else if (!strncmp(p, "{\"topic\":\"mysql-server-1.bltest.foo\",\"key\":", sizeof "{\"topic\":\"mysql-server-1.bltest.foo\",\"key\":" - 1)) {
                assert_non_null(memmem(p, l, "\"op\":\"c\"", sizeof "\"op\":\"c\"" - 1));
                assert_non_null(memmem(p, l, "\"transaction\":{\"id\":", sizeof "\"transaction\":{\"id\":" - 1));
                assert_true(open);
                changes--;
            } else if (!strncmp(p, "{\"topic\":\"mysql-server-1.transaction\",", sizeof "{\"topic\":\"mysql-server-1.transaction\"," - 1)) {
                if (memmem(p, l, "\"status\":\"BEGIN\"", sizeof "\"status\":\"BEGIN\"" - 1)) {
                    assert_false(open);
                    open = true;
                    begins++;
                } else {
                    assert_non_null(memmem(p, l, "\"status\":\"END\"", sizeof "\"status\":\"END\"" - 1));
                    assert_true(open);
                    open = false;
                    ends++;
                }
            } else if (!strncmp(p, "{\"topic\":\"mysql-server-1\",", sizeof "{\"topic\":\"mysql-server-1\"," - 1)) {
                assert_non_null(memmem(p, l, "\"ddl\":\"", sizeof "\"ddl\":\"" - 1));
                schema++;
            } else {
                fail_msg("line %.*s", (int)l, p);
            }
            p = e + 1;
        }
        assert_false(open);
        assert_int_equal(cdc_batch_finish(b, &data, &len), CDC_OK);
        cdc_batch_free(b);
        cdc_decoder_free(d);
        cdc_debezium_free(dz);
    }
    assert_true(host.begins > 0 && host.ddl > 0);
    assert_int_equal(changes, 0); /* inserts only: one record each */
    assert_int_equal(begins, host.begins);
    assert_int_equal(ends, host.commits);
    assert_int_equal(schema, host.ddl);
    test_free(bin);
}


/* ---- tableChanges ---------------------------------------------------------- */

static bool json_ok(cdc_bytes b);

/* A stored result as the server would return it: names, then rows of
 * ncols values each (NULL: SQL NULL). */
static cdc__result *fake_result(const char *const *names, size_t ncols, const char *const *vals, size_t nrows)
{
    cdc__result *r = NULL;
    assert_int_equal(cdc__result_new(&r, &vt_alloc), CDC_OK);
    cdc__coldef defs[16];
    assert_true(ncols <= 16);
    memset(defs, 0, sizeof defs);
    for (size_t i = 0; i < ncols; i++) defs[i].name = (cdc_bytes){(const uint8_t *)names[i], strlen(names[i])};
    assert_int_equal(cdc__result_on_columns(defs, ncols, r), 0);
    for (size_t k = 0; k < nrows; k++) {
        cdc_bytes row[16];
        for (size_t i = 0; i < ncols; i++) {
            const char *v = vals[k * ncols + i];
            row[i] = (cdc_bytes){(const uint8_t *)v, v ? strlen(v) : 0};
        }
        assert_int_equal(cdc__result_on_row(row, ncols, r), 0);
    }
    return r;
}

static const char *const k_is_cols[] = {"COLUMN_NAME", "ORDINAL_POSITION", "COLUMN_DEFAULT", "IS_NULLABLE",
                                        "DATA_TYPE", "COLUMN_TYPE", "CHARACTER_MAXIMUM_LENGTH",
                                        "NUMERIC_PRECISION", "NUMERIC_SCALE", "DATETIME_PRECISION",
                                        "CHARACTER_SET_NAME", "EXTRA", "COLUMN_COMMENT"};

/* Debezium's documented schema-change example (MySQL connector docs,
 * "Schema change topic"): inventory.customers after
 * `ALTER TABLE customers ADD middle_name varchar(255) AFTER first_name`.
 * The information_schema rows are what MySQL 8 answers for that table;
 * every value the example shows must come out as it shows it. */
static void test_table_changes_golden(void **state)
{
    (void)state;
    static const char *const cols[] = {
        "id", "1", NULL, "NO", "int", "int", NULL, "10", "0", NULL, NULL, "auto_increment", "",
        "first_name", "2", NULL, "NO", "varchar", "varchar(255)", "255", NULL, NULL, NULL, "utf8mb4", "", "",
        "middle_name", "3", NULL, "YES", "varchar", "varchar(255)", "255", NULL, NULL, NULL, "utf8mb4", "", "",
        "last_name", "4", NULL, "NO", "varchar", "varchar(255)", "255", NULL, NULL, NULL, "utf8mb4", "", "",
        "email", "5", NULL, "NO", "varchar", "varchar(255)", "255", NULL, NULL, NULL, "utf8mb4", "", "",
    };
    static const char *const tabn[] = {"CHARACTER_SET_NAME", "TABLE_COMMENT"};
    static const char *const tabv[] = {"utf8mb4", ""};
    static const char *const pkn[] = {"COLUMN_NAME"};
    static const char *const pkv[] = {"id"};
    cdc__result *c = fake_result(k_is_cols, 13, cols, 5), *t = fake_result(tabn, 2, tabv, 1),
                *k = fake_result(pkn, 1, pkv, 1);
    cdc__buf o;
    cdc__buf_init(&o, &vt_alloc);
    assert_int_equal(cdc__dz_table_json(&o, c, t, k, false), CDC_OK);
    assert_int_equal(cdc__buf_terminate(&o), CDC_OK);
#define COL(name, jdbc, type, cs, len, pos, opt, ai)                                                             \
    "{\"name\":\"" name "\",\"jdbcType\":" jdbc ",\"nativeType\":null,\"typeName\":\"" type "\","              \
    "\"typeExpression\":\"" type "\",\"charsetName\":" cs ",\"length\":" len ",\"scale\":null,\"position\":" pos \
    ",\"optional\":" opt ",\"autoIncremented\":" ai ",\"generated\":" ai ",\"comment\":null,"                    \
    "\"hasDefaultValue\":false,\"defaultValueExpression\":null,\"enumValues\":null}"
    assert_string_equal((const char *)o.data,
                        "{\"defaultCharsetName\":\"utf8mb4\",\"primaryKeyColumnNames\":[\"id\"],\"columns\":["
                        COL("id", "4", "INT", "null", "null", "1", "false", "true") ","
                        COL("first_name", "12", "VARCHAR", "\"utf8mb4\"", "255", "2", "false", "false") ","
                        COL("middle_name", "12", "VARCHAR", "\"utf8mb4\"", "255", "3", "true", "false") ","
                        COL("last_name", "12", "VARCHAR", "\"utf8mb4\"", "255", "4", "false", "false") ","
                        COL("email", "12", "VARCHAR", "\"utf8mb4\"", "255", "5", "false", "false")
                        "],\"comment\":null,\"attributes\":[]}");
#undef COL
    assert_true(json_ok((cdc_bytes){o.data, o.len}));
    cdc__buf_free(&o);
    cdc__result_free(c);
    cdc__result_free(t);
    cdc__result_free(k);
}

/* Types, lengths, defaults, enum labels and comments as MariaDB and MySQL
 * report them: MariaDB quotes string defaults and writes NULL for none. */
static void test_table_changes_columns(void **state)
{
    (void)state;
    static const char *const cols[] = {
        "a", "1", "'x''y'", "NO", "varchar", "varchar(40)", "40", NULL, NULL, NULL, "latin1", "", "the name",
        "b", "2", "NULL", "YES", "decimal", "decimal(10,2) unsigned zerofill", NULL, "10", "2", NULL, NULL, "", "",
        "c", "3", "1.50", "YES", "decimal", "decimal(10,2)", NULL, "10", "2", NULL, NULL, "", "",
        "d", "4", "'a'", "YES", "enum", "enum('a','b''c','')", "3", NULL, NULL, NULL, "utf8mb4", "", "",
        "e", "5", NULL, "YES", "timestamp", "timestamp(3)", NULL, NULL, NULL, "3", NULL, "", "",
        "f", "6", NULL, "YES", "datetime", "datetime", NULL, NULL, NULL, "0", NULL, "", "",
        "g", "7", NULL, "YES", "int", "int(11)", NULL, "10", "0", NULL, NULL, "VIRTUAL GENERATED", "",
        "h", "8", NULL, "YES", "float", "float(7,3)", NULL, "7", "3", NULL, NULL, "", "",
        "i", "9", NULL, "YES", "bit", "bit(5)", NULL, "5", NULL, NULL, NULL, "", "",
        "j", "10", NULL, "YES", "json", "json", NULL, NULL, NULL, NULL, NULL, "", "",
        "k", "11", NULL, "YES", "longtext", "longtext", "4294967295", NULL, NULL, NULL, "utf8mb4", "", "",
        "l", "12", "CURRENT_TIMESTAMP", "NO", "datetime", "datetime(6)", NULL, NULL, NULL, "6", NULL,
        "DEFAULT_GENERATED", "",
    };
    static const char *const tabn[] = {"CHARACTER_SET_NAME", "TABLE_COMMENT"};
    static const char *const tabv[] = {"latin1", "tc"};
    static const char *const pkn[] = {"COLUMN_NAME"};
    static const char *const pkv[] = {"c", "a"};
    cdc__result *c = fake_result(k_is_cols, 13, cols, 12), *t = fake_result(tabn, 2, tabv, 1),
                *k = fake_result(pkn, 1, pkv, 2);
    cdc__buf o;
    cdc__buf_init(&o, &vt_alloc);
    for (int comments = 0; comments < 2; comments++) {
        cdc__buf_reset(&o);
        assert_int_equal(cdc__dz_table_json(&o, c, t, k, comments), CDC_OK);
        assert_int_equal(cdc__buf_terminate(&o), CDC_OK);
        const char *j = (const char *)o.data;
        assert_true(json_ok((cdc_bytes){o.data, o.len}));
        assert_non_null(strstr(j, "\"primaryKeyColumnNames\":[\"c\",\"a\"]"));
        assert_non_null(strstr(j, "\"name\":\"a\",\"jdbcType\":12,\"nativeType\":null,\"typeName\":\"VARCHAR\","
                                  "\"typeExpression\":\"VARCHAR\",\"charsetName\":\"latin1\",\"length\":40,"));
        assert_non_null(strstr(j, comments ? "\"comment\":\"the name\",\"hasDefaultValue\":true,"
                                             "\"defaultValueExpression\":\"x'y\","
                                           : "\"comment\":null,\"hasDefaultValue\":true,"
                                             "\"defaultValueExpression\":\"x'y\","));
        assert_non_null(strstr(j, "\"typeName\":\"DECIMAL UNSIGNED ZEROFILL\",\"typeExpression\":\"DECIMAL UNSIGNED "
                                  "ZEROFILL\",\"charsetName\":null,\"length\":10,\"scale\":2,\"position\":2,"
                                  "\"optional\":true,\"autoIncremented\":false,\"generated\":false,"));
        assert_non_null(strstr(j, "\"position\":2,\"optional\":true,\"autoIncremented\":false,\"generated\":false,"
                                  "\"comment\":null,\"hasDefaultValue\":false,\"defaultValueExpression\":null"));
        assert_non_null(strstr(j, "\"hasDefaultValue\":true,\"defaultValueExpression\":\"1.50\""));
        assert_non_null(strstr(j, "\"jdbcType\":1,\"nativeType\":null,\"typeName\":\"ENUM\""));
        assert_non_null(strstr(j, "\"defaultValueExpression\":\"a\",\"enumValues\":[\"a\",\"b'c\",\"\"]"));
        assert_non_null(strstr(j, "\"jdbcType\":2014,\"nativeType\":null,\"typeName\":\"TIMESTAMP\","
                                  "\"typeExpression\":\"TIMESTAMP\",\"charsetName\":null,\"length\":3,"));
        assert_non_null(strstr(j, "\"jdbcType\":93,\"nativeType\":null,\"typeName\":\"DATETIME\","
                                  "\"typeExpression\":\"DATETIME\",\"charsetName\":null,\"length\":null,"));
        assert_non_null(strstr(j, "\"name\":\"g\",\"jdbcType\":4,\"nativeType\":null,\"typeName\":\"INT\","
                                  "\"typeExpression\":\"INT\",\"charsetName\":null,\"length\":null,\"scale\":null,"
                                  "\"position\":7,\"optional\":true,\"autoIncremented\":false,\"generated\":true,"));
        assert_non_null(strstr(j, "\"jdbcType\":6,\"nativeType\":null,\"typeName\":\"FLOAT\","
                                  "\"typeExpression\":\"FLOAT\",\"charsetName\":null,\"length\":7,\"scale\":3,"));
        assert_non_null(strstr(j, "\"jdbcType\":-7,\"nativeType\":null,\"typeName\":\"BIT\","
                                  "\"typeExpression\":\"BIT\",\"charsetName\":null,\"length\":5,"));
        assert_non_null(strstr(j, "\"jdbcType\":1111,\"nativeType\":null,\"typeName\":\"JSON\""));
        assert_non_null(strstr(j, "\"typeName\":\"LONGTEXT\",\"typeExpression\":\"LONGTEXT\",\"charsetName\":"
                                  "\"utf8mb4\",\"length\":null,"));
        /* MySQL's expression default (DEFAULT_GENERATED) is no generated column */
        assert_non_null(strstr(j, "\"typeName\":\"DATETIME\",\"typeExpression\":\"DATETIME\",\"charsetName\":null,"
                                  "\"length\":6,\"scale\":null,\"position\":12,\"optional\":false,"
                                  "\"autoIncremented\":false,\"generated\":false,"));
        assert_non_null(strstr(j, "\"defaultValueExpression\":\"CURRENT_TIMESTAMP\""));
        assert_non_null(strstr(j, comments ? "],\"comment\":\"tc\",\"attributes\":[]}"
                                           : "],\"comment\":null,\"attributes\":[]}"));
    }
    /* a COLUMNS result without a column the reader needs */
    cdc__result *bad = fake_result(pkn, 1, pkv, 1);
    cdc__buf_reset(&o);
    assert_int_equal(cdc__dz_table_json(&o, bad, t, k, false), CDC_ERR_PROTOCOL);
    cdc__result_free(bad);
    cdc__buf_free(&o);
    cdc__result_free(c);
    cdc__result_free(t);
    cdc__result_free(k);
}

/* A TABLE_MAP without metadata (binlog_row_metadata=MINIMAL for a while)
 * keeps the key of the table's previous plan when the column names (from
 * information_schema) still match: records keep their key and partition.
 * A table first seen that way has no key. */
static void test_minimal_map_keeps_key(void **state)
{
    (void)state;
    const char *opts[] = {"schemas.enable", "false", NULL};
    cdc_debezium *dz = dz_new(opts);
    tb x;
    tb_init(&x, "inventory", "kv");
    tb_col(&x, "id", CDC_T_LONG, 0, CDC_COLF_PRIMARY_KEY, 0);
    tb_col(&x, "n", CDC_T_LONG, 0, 0, 0);
    tb_val(&x, 1, 0, "21");
    tb_val(&x, 1, 1, "250");
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    assert_string_equal(rec_text(dz, 0, 1), "{\"id\":21}");
    /* the same table from a MINIMAL map: no key flag, names borrowed */
    static uint8_t raw[1];
    x.t.raw = raw;
    x.t.cacheable = false;
    x.cols[0].flags &= ~(unsigned)CDC_COLF_PRIMARY_KEY;
    x.t.id = 8;
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    assert_string_equal(rec_text(dz, 0, 1), "{\"id\":21}");
    /* back to FULL, then MINIMAL with the key column renamed: no key */
    x.t.raw = NULL;
    x.t.cacheable = true;
    x.cols[0].flags |= CDC_COLF_PRIMARY_KEY;
    x.t.id = 9;
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    assert_string_equal(rec_text(dz, 0, 1), "{\"id\":21}");
    x.t.raw = raw;
    x.t.cacheable = false;
    x.cols[0].flags &= ~(unsigned)CDC_COLF_PRIMARY_KEY;
    x.names[0] = (char *)"ident";
    x.t.id = 10;
    assert_int_equal(tb_render(&x, dz, 'c'), 1);
    cdc_bytes key;
    cdc_debezium_record(dz, 0, NULL, &key, NULL);
    assert_null(key.ptr);
    tb_free(&x);
    /* a table first seen from a MINIMAL map */
    tb y;
    tb_init(&y, "inventory", "other");
    tb_col(&y, "id", CDC_T_LONG, 0, 0, 0);
    y.t.raw = raw;
    y.t.cacheable = false;
    tb_val(&y, 1, 0, "1");
    assert_int_equal(tb_render(&y, dz, 'c'), 1);
    cdc_debezium_record(dz, 0, NULL, &key, NULL);
    assert_null(key.ptr);
    tb_free(&y);
    cdc_debezium_free(dz);
}

/* The integer writer every row uses, against printf, at the edges. */
static void test_i64_digits(void **state)
{
    (void)state;
    static const int64_t vals[] = {0, 1, 9, 10, 99, 100, 101, 999, 1000, -1, -9, -10, -100, 1465491411815437158LL,
                                   INT64_MAX, INT64_MIN, INT64_MIN + 1, 1000000, 999999, 123456789012LL};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char want[32];
        snprintf(want, sizeof want, "%lld", (long long)vals[i]);
        cdc__buf o;
        cdc__buf_init(&o, &vt_alloc);
        assert_int_equal(cdc__dz_put_i64(&o, vals[i]), CDC_OK);
        assert_int_equal(o.len, strlen(want));
        assert_memory_equal(o.data, want, o.len);
        cdc__buf_free(&o);
    }
}

/* Which tables a statement changes, and how. */
static void test_table_changes_statements(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        int n;
        const char *want; /* kind db.table[<old db.table] ... */
    } cases[] = {
        {"CREATE TABLE t (a INT)", 1, "C d.t"},
        {"/* x */ create temporary table if not exists `o`.`w``x` (a int)", 1, "C o.w`x"},
        {"CREATE OR REPLACE TABLE s.t LIKE u", 1, "C s.t"},
        {"ALTER TABLE t ADD COLUMN b INT", 1, "A d.t"},
        {"ALTER ONLINE IGNORE TABLE IF EXISTS x.t DROP COLUMN b", 1, "A x.t"},
        {"ALTER TABLE t RENAME COLUMN a TO b", 1, "A d.t"},
        {"ALTER TABLE t ADD c VARCHAR(9) DEFAULT 'rename to x', RENAME TO u", 1, "A d.u<d.t"},
        {"ALTER TABLE t RENAME AS o.u", 1, "A o.u<d.t"},
        {"RENAME TABLE a TO b, x.c TO y.c", 2, "A d.b<d.a A y.c<x.c"},
        {"DROP TABLE IF EXISTS a, `x`.b", 2, "D d.a D x.b"},
        {"DROP TEMPORARY TABLE a", 1, "D d.a"},
        {"CREATE UNIQUE INDEX ix ON t (a)", 1, "A d.t"},
        {"DROP INDEX ix ON x.t", 1, "A x.t"},
        {"CREATE DATABASE z", 0, ""},
        {"DROP DATABASE z", 0, ""},
        {"TRUNCATE TABLE t", 0, ""},
        {"GRANT SELECT ON *.* TO u", 0, ""},
        {"ALTER DATABASE z CHARACTER SET utf8mb4", 0, ""},
        {"CREATE TABLE", -1, ""},
        {"RENAME TABLE a b", -1, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cdc__buf o;
        cdc__buf_init(&o, &vt_alloc);
        int n = cdc__dz_ddl_changes("d", 1, cases[i].sql, strlen(cases[i].sql), &o);
        if (n != cases[i].n) fail_msg("%s: %d changes, want %d", cases[i].sql, n, cases[i].n);
        char got[256] = "";
        const char *p = (const char *)o.data;
        for (int k = 0; k < n; k++) {
            char kind = *p++;
            const char *d = p, *t = d + strlen(d) + 1, *od = t + strlen(t) + 1, *ot = od + strlen(od) + 1;
            p = ot + strlen(ot) + 1;
            size_t at = strlen(got);
            snprintf(got + at, sizeof got - at, "%s%c %s.%s%s%s%s%s", k ? " " : "", kind, d, t, *ot ? "<" : "",
                     od, *ot ? "." : "", ot);
        }
        if (n > 0 && strcmp(got, cases[i].want)) fail_msg("%s: %s, want %s", cases[i].sql, got, cases[i].want);
        cdc__buf_free(&o);
    }
}

/* A DDL statement of a real binlog as a schema-change record. */
typedef struct ddl_run {
    cdc_debezium *dz;
    int seen;
    char key[512], value[16384];
    bool no_server; /* a source that cannot be reached */
} ddl_run;

static int on_query(const cdc_query *q, void *ud)
{
    ddl_run *r = ud;
    if (r->seen++) return 0;
    if (r->no_server) {
        ptrdiff_t n = cdc_debezium_schema_change(r->dz, q, CDC_DEBEZIUM_SNAPSHOT_FALSE);
        assert_int_equal(n, CDC_ERR_CONNECT);
        assert_non_null(strstr(cdc_debezium_errmsg(r->dz), "the definition of bltest.foo from information_schema"));
        assert_int_equal(cdc_debezium_record_count(r->dz), 0);
        assert_int_equal(cdc_debezium_heartbeat(r->dz, 5), 1); /* still usable */
        return 0;
    }
    assert_int_equal(cdc_debezium_schema_change(r->dz, q, CDC_DEBEZIUM_SNAPSHOT_FALSE), 1);
    assert_int_equal(cdc_debezium_record(r->dz, 0, NULL, NULL, NULL), CDC_DEBEZIUM_RECORD_SCHEMA_CHANGE);
    assert_string_equal(rec_text(r->dz, 0, 0), "mysql-server-1");
    snprintf(r->key, sizeof r->key, "%s", rec_text(r->dz, 0, 1));
    snprintf(r->value, sizeof r->value, "%s", rec_text(r->dz, 0, 2));
    return 0;
}

static void test_schema_change(void **state)
{
    (void)state;
    size_t n;
    uint8_t *bin = vt_fixture("rust-mysql-binlog/bin-log.000001", &n);
    for (int schemas = 0; schemas < 2; schemas++) {
        const char *opts[] = {"schemas.enable", schemas ? "true" : "false", NULL};
        ddl_run r = {dz_new(opts), 0, "", "", false};
        cdc_decoder *d;
        char err[256];
        assert_int_equal(cdc_decoder_new(&d, &vt_alloc, err, sizeof err), CDC_OK);
        cdc_decoder_set_position(d, "bin-log.000001", 0);
        cdc_decoder_set_query_cb(d, on_query, &r);
        assert_int_equal(cdc_decoder_feed(d, bin, n), (ptrdiff_t)n);
        assert_int_equal(cdc_decoder_finish(d), CDC_OK);
        assert_true(r.seen >= 1);
        if (!schemas) {
            assert_string_equal(r.key, "{\"databaseName\":\"bltest\"}");
            assert_non_null(strstr(r.value, "\"db\":\"bltest\",\"sequence\":null,"));
            assert_non_null(strstr(r.value, "\"table\":null,\"server_id\":36431,"
                                            "\"gtid\":\"87cee3a4-6b31-11e7-bdfd-0d98d6698870:14917\","
                                            "\"file\":\"bin-log.000001\",\"pos\":259,\"row\":0,\"thread\":472,"
                                            "\"query\":null}"));
            assert_non_null(strstr(r.value, ",\"databaseName\":\"bltest\",\"schemaName\":null,"
                                            "\"ddl\":\"CREATE TABLE foo(id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                                            "val_decimal DECIMAL(10, 5) NOT NULL, comment VARCHAR(255) NOT NULL)\","
                                            "\"tableChanges\":[]}"));
        } else {
            assert_non_null(strstr(r.key, "\"name\":\"io.debezium.connector.mysql.SchemaChangeKey\",\"version\":1}"));
            assert_non_null(strstr(r.value, "\"name\":\"io.debezium.connector.mysql.SchemaChangeValue\",\"version\":1},"
                                            "\"payload\":{\"source\":"));
            assert_non_null(strstr(r.value, "\"name\":\"io.debezium.connector.schema.Column\",\"version\":1}"));
        }
        cdc_decoder_free(d);
        cdc_debezium_free(r.dz);
    }
    /* With a source that cannot be reached the record fails, naming the
     * table (CREATE TABLE foo); the renderer stays usable. */
    ddl_run r = {dz_new(NULL), 0, "", "", true};
    cdc_config *cfg;
    char err[256];
    assert_int_equal(cdc_config_new(&cfg, &vt_alloc), CDC_OK);
    assert_int_equal(cdc_config_set(cfg, "host", "127.0.0.1", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_config_set(cfg, "port", "1", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_config_set(cfg, "user", "nobody", err, sizeof err), CDC_OK);
    assert_int_equal(cdc_debezium_set_source(r.dz, cfg, err, sizeof err), CDC_OK);
    cdc_config_free(cfg); /* copied */
    assert_int_equal(cdc_debezium_set_source(NULL, NULL, err, sizeof err), CDC_ERR_INVALID);
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &vt_alloc, err, sizeof err), CDC_OK);
    cdc_decoder_set_position(d, "bin-log.000001", 0);
    cdc_decoder_set_query_cb(d, on_query, &r);
    assert_int_equal(cdc_decoder_feed(d, bin, n), (ptrdiff_t)n);
    assert_int_equal(cdc_decoder_finish(d), CDC_OK);
    assert_true(r.seen >= 1);
    cdc_decoder_free(d);
    cdc_debezium_free(r.dz);
    test_free(bin);
}

/* Every allocation failing in turn: each call fails cleanly with
 * CDC_ERR_NOMEM (or succeeds), nothing leaks, the renderer stays usable. */
static long fail_at, allocs;
static void *f_malloc(size_t n, void *ud) { (void)ud; return allocs++ == fail_at ? NULL : test_malloc(n); }
static void *f_realloc(void *p, size_t n, void *ud) { (void)ud; return allocs++ == fail_at ? NULL : test_realloc(p, n); }
static void f_free(void *p, void *ud) { (void)ud; test_free(p); }

static void test_alloc_failures(void **state)
{
    (void)state;
    static const cdc_allocator fa = {f_malloc, f_realloc, f_free, NULL};
    tb x;
    customers(&x);
    set_row(&x, 0, "1004", "Anne", "Kretchmar", "annek@noanswer.org");
    set_row(&x, 1, "1005", "Anne", "K", "a@b.c");
    bool clean = false;
    for (fail_at = 0; !clean && fail_at < 2000; fail_at++) {
        allocs = 0;
        cdc_debezium *dz = NULL;
        char err[256];
        int rc = cdc_debezium_new(&dz, &fa, err, sizeof err);
        if (rc) { assert_int_equal(rc, CDC_ERR_NOMEM); continue; }
        clean = true;
        static const char *const opts[] = {"topic.prefix", "p", "provide.transaction.metadata", "true",
                                           "column.mask.with.3.chars", "inventory.customers.email",
                                           "message.key.columns", "inventory.customers:id,email", NULL};
        for (const char *const *o = opts; *o; o += 2) {
            rc = cdc_debezium_set(dz, o[0], o[1], err, sizeof err);
            if (rc) { assert_int_equal(rc, CDC_ERR_NOMEM); clean = false; }
        }
        if (!clean) { /* an option is missing: the renderer would say so (CDC_ERR_CONFIG) */
            cdc_debezium_free(dz);
            continue;
        }
        ptrdiff_t n = cdc_debezium_begin(dz, "g:1", 1);
        if (n < 0) { assert_int_equal(n, CDC_ERR_NOMEM); clean = false; }
        n = tb_render(&x, dz, 'u');
        if (n < 0) { assert_int_equal(n, CDC_ERR_NOMEM); clean = false; }
        n = cdc_debezium_commit(dz, 2);
        if (n < 0) { assert_int_equal(n, CDC_ERR_NOMEM); clean = false; }
        n = cdc_debezium_heartbeat(dz, 3);
        if (n < 0) { assert_int_equal(n, CDC_ERR_NOMEM); clean = false; }
        cdc_debezium_free(dz);
    }
    assert_true(clean);
    tb_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal_precise),
        cmocka_unit_test(test_decimal_string_double),
        cmocka_unit_test(test_bigint_unsigned),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_floats_as_java),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_datetime),
        cmocka_unit_test(test_timestamp),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_year),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_binary_modes),
        cmocka_unit_test(test_bits),
        cmocka_unit_test(test_enum_set),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_create_event_golden),
        cmocka_unit_test(test_schemas_golden),
        cmocka_unit_test(test_update_delete_tombstone),
        cmocka_unit_test(test_snapshot_marker_and_no_key),
        cmocka_unit_test(test_snapshot_marker),
        cmocka_unit_test(test_snapshot_sequence),
        cmocka_unit_test(test_transaction_metadata),
        cmocka_unit_test(test_column_options),
        cmocka_unit_test(test_topics_and_heartbeat),
        cmocka_unit_test(test_options_and_errors),
        cmocka_unit_test(test_mariadb_source),
        cmocka_unit_test(test_value_errors),
        cmocka_unit_test(test_batch_lines),
        cmocka_unit_test(test_schema_change),
        cmocka_unit_test(test_table_changes_golden),
        cmocka_unit_test(test_table_changes_columns),
        cmocka_unit_test(test_table_changes_statements),
        cmocka_unit_test(test_i64_digits),
        cmocka_unit_test(test_minimal_map_keeps_key),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_fixtures_valid_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
