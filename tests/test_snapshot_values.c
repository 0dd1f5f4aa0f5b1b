/* Unit tests of lib/snapshot_values.c, what makes snapshot rows read like
 * binlog rows: information_schema -> cdc_column as TABLE_MAP with full
 * metadata describes it (checked field by field), every column type's
 * text-protocol value -> the cdc_value the binlog decoder (rowvalue.c)
 * gives for the same value in its row-image form (the images follow the
 * binlog format, docs/binlog-format.md), the text the server would never
 * send refused naming it, the binary-protocol form of the same values
 * (prepared-statement rows), and the literals and condition of keyset
 * pagination. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <string.h>

#include <cdc/cdc.h>

#include "resultset.h"
#include "snapshot_values.h"

/* One column, a value as SELECT returns it, and the same value as the
 * row image of a binlog event stores it (hex). */
typedef struct vcase {
    const char *data_type, *column_type;
    unsigned octets, prec, scale, fsp, coll;
    bool mariadb;
    const char *text;
    size_t text_len;   /* 0: strlen */
    const char *image; /* hex */
    uint8_t kind;
} vcase;

static const vcase cases[] = {
    {"tinyint", "tinyint", 0, 3, 0, 0, 0, 0, "-128", 0, "80", CDC_K_INT},
    {"tinyint", "tinyint unsigned", 0, 3, 0, 0, 0, 0, "255", 0, "ff", CDC_K_UINT},
    {"smallint", "smallint", 0, 5, 0, 0, 0, 0, "-2", 0, "feff", CDC_K_INT},
    {"mediumint", "mediumint unsigned", 0, 7, 0, 0, 0, 0, "16777215", 0, "ffffff", CDC_K_UINT},
    {"int", "int", 0, 10, 0, 0, 0, 0, "-2147483648", 0, "00000080", CDC_K_INT},
    {"bigint", "bigint unsigned", 0, 20, 0, 0, 0, 0, "18446744073709551615", 0, "ffffffffffffffff", CDC_K_UINT},
    {"bigint", "bigint", 0, 19, 0, 0, 0, 0, "-9223372036854775808", 0, "0000000000000080", CDC_K_INT},
    {"float", "float", 0, 12, 0, 0, 0, 0, "3.4028234663852886e38", 0, "ffff7f7f", CDC_K_FLOAT},
    {"double", "double", 0, 22, 0, 0, 0, 0, "0.1", 0, "9a9999999999b93f", CDC_K_DOUBLE},
    /* DECIMAL(5,2) -1.50: 3 integer digits in 2 bytes, 2 fraction digits
     * in 1 byte, sign bit flipped, negatives inverted */
    {"decimal", "decimal(5,2)", 0, 5, 2, 0, 0, 0, "-1.50", 0, "7ffecd", CDC_K_DECIMAL},
    {"decimal", "decimal(10,4)", 0, 10, 4, 0, 0, 0, "123456.7890", 0, "81e2401ed2", CDC_K_DECIMAL},
    {"year", "year", 0, 0, 0, 0, 0, 0, "2024", 0, "7c", CDC_K_YEAR},
    {"year", "year", 0, 0, 0, 0, 0, 0, "0000", 0, "00", CDC_K_YEAR},
    /* DATE: day | month << 5 | year << 9 */
    {"date", "date", 0, 0, 0, 0, 0, 0, "2024-02-29", 0, "5dd00f", CDC_K_DATE},
    {"date", "date", 0, 0, 0, 0, 0, 0, "0000-00-00", 0, "000000", CDC_K_DATE},
    {"time", "time", 0, 0, 0, 0, 0, 0, "-838:59:59", 0, "4b9105", CDC_K_TIME},
    {"time", "time(6)", 0, 0, 0, 6, 0, 0, "12:34:56.789012", 0, "80c8b80c0a14", CDC_K_TIME},
    {"datetime", "datetime", 0, 0, 0, 0, 0, 0, "2024-02-29 23:59:59", 0, "99b2bb7efb", CDC_K_DATETIME},
    {"datetime", "datetime(3)", 0, 0, 0, 3, 0, 0, "2024-02-29 23:59:59.123", 0, "99b2bb7efb04ce",
     CDC_K_DATETIME},
    /* TIMESTAMP: big-endian epoch seconds; the session is UTC */
    {"timestamp", "timestamp", 0, 0, 0, 0, 0, 0, "2038-01-19 03:14:07", 0, "7fffffff", CDC_K_TIMESTAMP},
    {"timestamp", "timestamp(2)", 0, 0, 0, 2, 0, 0, "1970-01-01 00:00:01.25", 0, "0000000119", CDC_K_TIMESTAMP},
    {"timestamp", "timestamp", 0, 0, 0, 0, 0, 0, "0000-00-00 00:00:00", 0, "00000000", CDC_K_TIMESTAMP},
    {"bit", "bit(17)", 0, 17, 0, 0, 0, 0, "\x01\x02\x03", 3, "010203", CDC_K_BIT},
    {"enum", "enum('a','it''s','c')", 0, 0, 0, 0, 45, 0, "it's", 0, "02", CDC_K_ENUM},
    {"set", "set('x','y','z')", 0, 0, 0, 0, 45, 0, "x,z", 0, "05", CDC_K_SET},
    {"char", "char(4)", 16, 0, 0, 0, 45, 0, "ab", 0, "026162", CDC_K_STRING},
    {"binary", "binary(4)", 4, 0, 0, 0, 63, 0, "a\0\0\0", 4, "0161", CDC_K_BYTES},
    {"varchar", "varchar(300)", 1200, 0, 0, 0, 45, 0, "h\xc3\xa9", 0, "030068c3a9", CDC_K_STRING},
    {"varbinary", "varbinary(10)", 10, 0, 0, 0, 63, 0, "\x00\xff", 2, "0200ff", CDC_K_BYTES},
    {"text", "text", 65535, 0, 0, 0, 45, 0, "t", 0, "010074", CDC_K_STRING},
    {"longblob", "longblob", 0, 0, 0, 0, 63, 0, "bb", 0, "02000000" "6262", CDC_K_BYTES},
    {"json", "json", 0, 0, 0, 0, 0, 0, "[1]", 0, NULL, CDC_K_JSON},
    {"geometry", "point", 0, 0, 0, 0, 0, 0, "\0\0\0\0\x01\x01\0\0\0\0\0\0\0\0\0\xf0?\0\0\0\0\0\0\0@", 25,
     "19000000" "00000000" "01" "01000000" "000000000000f03f" "0000000000000040", CDC_K_GEOMETRY},
    {"inet6", "inet6", 0, 0, 0, 0, 0, 1, "2001:db8::1", 0, "1020010db8000000000000000000000001", CDC_K_BYTES},
    {"inet4", "inet4", 0, 0, 0, 0, 0, 1, "10.0.0.0", 0, "010a", CDC_K_BYTES},
    {"uuid", "uuid", 0, 0, 0, 0, 0, 1, "123e4567-e89b-12d3-a456-426614174000", 0,
     "0f123e4567e89b12d3a4564266141740", CDC_K_BYTES},
    /* every other name information_schema gives a type, and the edges of each */
    {"integer", "integer", 0, 10, 0, 0, 0, 0, "-1", 0, "ffffffff", CDC_K_INT},
    {"mediumint", "mediumint", 0, 7, 0, 0, 0, 0, "-8388608", 0, "000080", CDC_K_INT},
    {"smallint", "smallint unsigned", 0, 5, 0, 0, 0, 0, "65535", 0, "ffff", CDC_K_UINT},
    {"int", "int unsigned", 0, 10, 0, 0, 0, 0, "4294967295", 0, "ffffffff", CDC_K_UINT},
    {"real", "double", 0, 22, 0, 0, 0, 0, "1.5", 0, "000000000000f83f", CDC_K_DOUBLE},
    /* FLOAT is selected as CAST(... AS DOUBLE): the double's text */
    {"float", "float", 0, 12, 0, 0, 0, 0, "1.5", 0, "0000c03f", CDC_K_FLOAT},
    /* NUMERIC(4,1) 123.4: 3 integer digits in 2 bytes, 1 fraction digit in 1 */
    {"numeric", "decimal(4,1)", 0, 4, 1, 0, 0, 0, "123.4", 0, "807b04", CDC_K_DECIMAL},
    {"year", "year", 0, 0, 0, 0, 0, 0, "1901", 0, "01", CDC_K_YEAR},
    {"date", "date", 0, 0, 0, 0, 0, 0, "1000-01-01", 0, "21d007", CDC_K_DATE},
    /* the binlog has no negative zero TIME */
    {"time", "time", 0, 0, 0, 0, 0, 0, "-00:00:00", 0, "800000", CDC_K_TIME},
    {"timestamp", "timestamp(6)", 0, 0, 0, 6, 0, 0, "2024-01-01 00:00:00.000001", 0, "65920080000001",
     CDC_K_TIMESTAMP},
    {"bit", "bit(1)", 0, 1, 0, 0, 0, 0, "\x01", 1, "01", CDC_K_BIT},
    {"bit", "bit(64)", 0, 64, 0, 0, 0, 0, "\xff\0\0\0\0\0\0\x01", 8, "ff00000000000001", CDC_K_BIT},
    /* 4-byte UTF-8 in a CHAR(1) of utf8mb4 (4 bytes): 1-byte length */
    {"char", "char(1)", 4, 0, 0, 0, 45, 0, "\xf0\x9f\x98\x80", 0, "04f09f9880", CDC_K_STRING},
    /* BINARY(4) keeps inner zero bytes and loses the padding; VARBINARY keeps all */
    {"binary", "binary(4)", 4, 0, 0, 0, 63, 0, "a\0b\0", 4, "03610062", CDC_K_BYTES},
    {"varbinary", "varbinary(4)", 4, 0, 0, 0, 63, 0, "\x01\0", 2, "020100", CDC_K_BYTES},
    {"tinytext", "tinytext", 255, 0, 0, 0, 45, 0, "x", 0, "0178", CDC_K_STRING},
    {"tinyblob", "tinyblob", 255, 0, 0, 0, 63, 0, "x", 0, "0178", CDC_K_BYTES},
    {"blob", "blob", 65535, 0, 0, 0, 63, 0, "\0x", 2, "0200" "0078", CDC_K_BYTES},
    {"mediumtext", "mediumtext", 0, 0, 0, 0, 45, 0, "x", 0, "010000" "78", CDC_K_STRING},
    {"mediumblob", "mediumblob", 0, 0, 0, 0, 63, 0, "x", 0, "010000" "78", CDC_K_BYTES},
    {"longtext", "longtext", 0, 0, 0, 0, 45, 0, "", 0, "00000000", CDC_K_STRING},
    /* VECTOR(2) of 1.0 and 2.0: the text protocol sends the float32 bytes */
    {"vector", "vector(2)", 8, 0, 0, 0, 0, 0, "\0\0\x80?\0\0\0@", 8, "08000000" "0000803f00000040", CDC_K_VECTOR},
    {"linestring", "linestring", 0, 0, 0, 0, 0, 0, "\0\0\0\0\x01\x02\0\0\0\0\0\0\0", 13,
     "0d000000" "00000000" "01" "02000000" "00000000", CDC_K_GEOMETRY},
    /* MariaDB's INET6 all zero: BINARY(16) with its zero bytes cut */
    {"inet6", "inet6", 0, 0, 0, 0, 0, 1, "::", 0, "00", CDC_K_BYTES},
    {"uuid", "uuid", 0, 0, 0, 0, 0, 1, "123E4567-E89B-12D3-A456-426614174000", 0,
     "0f123e4567e89b12d3a4564266141740", CDC_K_BYTES},
};

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static char *render(const cdc_value *v)
{
    cdc__buf b;
    cdc__err e;
    cdc__buf_init(&b, NULL);
    assert_int_equal(cdc__value_render_json(v, &b, &e), CDC_OK);
    cdc__buf_terminate(&b);
    return (char *)b.data;
}

static void column_of(const vcase *c, cdc_column *col, cdc_bytes **labels, char **text)
{
    cdc__snap_colinfo ci = {.name = "c", .data_type = c->data_type, .column_type = c->column_type,
                            .octet_length = c->octets, .precision = c->prec, .scale = c->scale,
                            .fsp = c->fsp, .collation = c->coll, .mariadb = c->mariadb};
    cdc__err e;
    int rc = cdc__snap_column(&ci, NULL, col, labels, text, &e);
    if (rc) fail_msg("%s: %s", c->column_type, e.msg);
}

/* Each text value converts to what rowvalue.c decodes from the image. */
static void test_values_match_row_images(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const vcase *c = &cases[i];
        cdc_column col;
        cdc_bytes *labels;
        char *ltext;
        column_of(c, &col, &labels, &ltext);
        cdc__snap_colinfo ci = {.data_type = c->data_type, .mariadb = c->mariadb};
        size_t tl = c->text_len ? c->text_len : strlen(c->text);
        cdc__buf scratch;
        cdc__buf_init(&scratch, NULL);
        cdc__buf_reserve(&scratch, CDC__FROM_TEXT_SCRATCH);
        cdc_value sv;
        cdc__err e;
        int rc = cdc__snap_value(&col, cdc__snap_hint(&ci), (const uint8_t *)c->text, tl, &scratch, &sv, &e);
        if (rc) fail_msg("%s '%s': %s", c->column_type, c->text, e.msg);
        assert_int_equal(sv.kind, c->kind);
        char *got = render(&sv);
        if (c->image) {
            uint8_t img[128];
            size_t n = unhex(c->image, img);
            cdc_value bv;
            size_t used;
            rc = cdc__value_decode(&col, img, n, &bv, &used, &e);
            if (rc) fail_msg("%s image: %s", c->column_type, e.msg);
            assert_int_equal(used, n);
            char *want = render(&bv);
            if (strcmp(got, want) || bv.kind != sv.kind || bv.fsp != sv.fsp || bv.flags != sv.flags)
                fail_msg("%s '%s': snapshot %s (kind %d fsp %d flags %d), binlog %s (kind %d fsp %d flags %d)",
                         c->column_type, c->text, got, sv.kind, sv.fsp, sv.flags, want, bv.kind, bv.fsp, bv.flags);
            if (bv.kind == CDC_K_BYTES || bv.kind == CDC_K_STRING || bv.kind == CDC_K_DECIMAL) {
                assert_int_equal(bv.v.b.len, sv.v.b.len);
                assert_memory_equal(bv.v.b.ptr, sv.v.b.ptr, bv.v.b.len);
            }
            free(want);
        } else {
            assert_string_equal(got, "[1]");
        }
        free(got);
        cdc__buf_free(&scratch);
        free(labels);
        free(ltext);
    }
}


/* Every type name the snapshot reads: the column it makes, and a value
 * case above for each (geometry subtypes share GEOMETRY's values and
 * differ in their subtype, checked here). */
static void test_every_type(void **state)
{
    (void)state;
    static const struct { const char *dt, *ct; uint8_t type; int geometry; } types[] = {
        {"tinyint", "tinyint", CDC_T_TINY, -1},       {"smallint", "smallint", CDC_T_SHORT, -1},
        {"mediumint", "mediumint", CDC_T_INT24, -1},  {"int", "int", CDC_T_LONG, -1},
        {"integer", "integer", CDC_T_LONG, -1},       {"bigint", "bigint", CDC_T_LONGLONG, -1},
        {"float", "float", CDC_T_FLOAT, -1},          {"double", "double", CDC_T_DOUBLE, -1},
        {"real", "double", CDC_T_DOUBLE, -1},         {"decimal", "decimal(5,2)", CDC_T_NEWDECIMAL, -1},
        {"numeric", "decimal(4,1)", CDC_T_NEWDECIMAL, -1},
        {"year", "year", CDC_T_YEAR, -1},             {"date", "date", CDC_T_DATE, -1},
        {"time", "time", CDC_T_TIME2, -1},            {"datetime", "datetime", CDC_T_DATETIME2, -1},
        {"timestamp", "timestamp", CDC_T_TIMESTAMP2, -1},
        {"bit", "bit(17)", CDC_T_BIT, -1},
        {"char", "char(4)", CDC_T_STRING, -1},        {"binary", "binary(4)", CDC_T_STRING, -1},
        {"varchar", "varchar(300)", CDC_T_VARCHAR, -1}, {"varbinary", "varbinary(10)", CDC_T_VARCHAR, -1},
        {"tinytext", "tinytext", CDC_T_BLOB, -1},     {"tinyblob", "tinyblob", CDC_T_BLOB, -1},
        {"text", "text", CDC_T_BLOB, -1},             {"blob", "blob", CDC_T_BLOB, -1},
        {"mediumtext", "mediumtext", CDC_T_BLOB, -1}, {"mediumblob", "mediumblob", CDC_T_BLOB, -1},
        {"longtext", "longtext", CDC_T_BLOB, -1},     {"longblob", "longblob", CDC_T_BLOB, -1},
        {"json", "json", CDC_T_JSON, -1},             {"vector", "vector(2)", CDC_T_VECTOR, -1},
        {"enum", "enum('a')", CDC_T_STRING, -1},      {"set", "set('a')", CDC_T_STRING, -1},
        {"inet4", "inet4", CDC_T_STRING, -1},         {"inet6", "inet6", CDC_T_STRING, -1},
        {"uuid", "uuid", CDC_T_STRING, -1},
        {"geometry", "geometry", CDC_T_GEOMETRY, 0},  {"point", "point", CDC_T_GEOMETRY, 1},
        {"linestring", "linestring", CDC_T_GEOMETRY, 2}, {"polygon", "polygon", CDC_T_GEOMETRY, 3},
        {"multipoint", "multipoint", CDC_T_GEOMETRY, 4},
        {"multilinestring", "multilinestring", CDC_T_GEOMETRY, 5},
        {"multipolygon", "multipolygon", CDC_T_GEOMETRY, 6},
        {"geometrycollection", "geometrycollection", CDC_T_GEOMETRY, 7},
        {"geomcollection", "geomcollection", CDC_T_GEOMETRY, 7},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        vcase c = {.data_type = types[i].dt, .column_type = types[i].ct, .prec = 5, .scale = 2, .octets = 4};
        if (!strcmp(types[i].dt, "bit")) c.prec = 17;
        if (!strcmp(types[i].dt, "numeric")) c.prec = 4, c.scale = 1;
        cdc_column col;
        cdc_bytes *labels;
        char *lt;
        column_of(&c, &col, &labels, &lt);
        if (col.type != types[i].type) fail_msg("%s: type %u, want %u", types[i].dt, col.type, types[i].type);
        if (types[i].geometry >= 0) assert_int_equal(col.geometry_type, types[i].geometry);
        free(labels);
        free(lt);
        if (types[i].geometry > 0 && strcmp(types[i].dt, "linestring")) continue;
        bool has_case = false;
        for (size_t k = 0; k < sizeof cases / sizeof cases[0] && !has_case; k++)
            has_case = !strcmp(cases[k].data_type, types[i].dt);
        if (!has_case) fail_msg("%s: no value case", types[i].dt);
    }
}

/* ENUM and SET labels from COLUMN_TYPE: a doubled quote is one quote,
 * backslashes and commas are the label's own; sizes follow the count. */
static void test_labels(void **state)
{
    (void)state;
    vcase c = {.data_type = "enum", .column_type = "enum('a,b','it''s','x\\\\y','')", .coll = 45};
    cdc_column col;
    cdc_bytes *labels;
    char *lt;
    column_of(&c, &col, &labels, &lt);
    assert_int_equal(col.n_labels, 4);
    static const char *const want[] = {"a,b", "it's", "x\\\\y", ""};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(col.labels[i].len, strlen(want[i]));
        assert_memory_equal(col.labels[i].ptr, want[i], strlen(want[i]));
    }
    assert_int_equal(col.meta, 1);
    free(labels);
    free(lt);

    /* 300 ENUM labels take 2 bytes, 40 SET members 8; the last label of
     * each reads back as the row image stores it */
    char ct[4096];
    for (int set = 0; set < 2; set++) {
        int n = set ? 40 : 300;
        size_t k = (size_t)snprintf(ct, sizeof ct, "%s(", set ? "set" : "enum");
        for (int i = 1; i <= n; i++) k += (size_t)snprintf(ct + k, sizeof ct - k, "%s'l%d'", i > 1 ? "," : "", i);
        snprintf(ct + k, sizeof ct - k, ")");
        vcase e = {.data_type = set ? "set" : "enum", .column_type = ct, .coll = 45};
        column_of(&e, &col, &labels, &lt);
        assert_int_equal(col.n_labels, (uint32_t)n);
        assert_int_equal(col.meta, set ? 8 : 2);
        const char *text = set ? "l1,l40" : "l300";
        const char *image = set ? "0100000080000000" : "2c01";
        cdc__buf scratch;
        cdc__buf_init(&scratch, NULL);
        cdc__buf_reserve(&scratch, CDC__FROM_TEXT_SCRATCH);
        cdc_value sv, bv;
        cdc__err err;
        assert_int_equal(cdc__snap_value(&col, CDC__SNAP_PLAIN, (const uint8_t *)text, strlen(text), &scratch, &sv,
                                         &err), CDC_OK);
        uint8_t img[8];
        size_t len = unhex(image, img), used;
        assert_int_equal(cdc__value_decode(&col, img, len, &bv, &used, &err), CDC_OK);
        assert_int_equal(sv.kind, set ? CDC_K_SET : CDC_K_ENUM);
        assert_int_equal(bv.kind, sv.kind);
        assert_true(sv.v.u == bv.v.u);
        assert_true(sv.v.u == (set ? (1ull | 1ull << 39) : 300u));
        cdc__buf_free(&scratch);
        free(labels);
        free(lt);
    }
}

/* Only MariaDB's INET4, INET6 and UUID read as their storage bytes. */
static void test_hints(void **state)
{
    (void)state;
    static const struct { const char *dt; bool mariadb; int hint; } h[] = {
        {"inet4", true, CDC__SNAP_INET4}, {"inet6", true, CDC__SNAP_INET6}, {"uuid", true, CDC__SNAP_UUID},
        {"inet6", false, CDC__SNAP_PLAIN}, {"binary", true, CDC__SNAP_PLAIN}, {"char", true, CDC__SNAP_PLAIN},
    };
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++) {
        cdc__snap_colinfo ci = {.name = "c", .data_type = h[i].dt, .column_type = h[i].dt, .mariadb = h[i].mariadb};
        assert_int_equal(cdc__snap_hint(&ci), h[i].hint);
    }
}

/* Column definitions the snapshot cannot read are refused, naming them. */
static void test_bad_columns(void **state)
{
    (void)state;
    static const struct { const char *dt, *ct; unsigned octets, prec, scale, fsp; const char *says; } bad[] = {
        {"weird", "weird(1)", 0, 0, 0, 0, "weird(1)"},
        {"decimal", "decimal(66,0)", 0, 66, 0, 0, "DECIMAL(66,0)"},
        {"time", "time(7)", 0, 0, 0, 7, "fsp 7"},
        {"bit", "bit(0)", 0, 0, 0, 0, "BIT(0)"},
        {"bit", "bit(65)", 0, 65, 0, 0, "BIT(65)"},
        {"varchar", "varchar(70000)", 70000, 0, 0, 0, "70000 bytes"},
        {"enum", "enum", 0, 0, 0, 0, "no label list"},
        {"enum", "enum('a", 0, 0, 0, 0, "unterminated label"},
        {"set", "set('a'x)", 0, 0, 0, 0, "bad label list"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cdc__snap_colinfo ci = {.name = "z", .data_type = bad[i].dt, .column_type = bad[i].ct,
                                .octet_length = bad[i].octets, .precision = bad[i].prec, .scale = bad[i].scale,
                                .fsp = bad[i].fsp};
        cdc_column col;
        cdc_bytes *labels;
        char *lt;
        cdc__err e;
        cdc__err_clear(&e);
        assert_int_equal(cdc__snap_column(&ci, NULL, &col, &labels, &lt, &e), CDC_ERR_UNSUPPORTED);
        if (!strstr(e.msg, bad[i].says)) fail_msg("%s: '%s' does not say '%s'", bad[i].ct, e.msg, bad[i].says);
        free(labels);
        free(lt);
    }
}
/* Text the server would never send for the column is refused, naming it. */
static void test_bad_values(void **state)
{
    (void)state;
    static const struct { const char *dt, *ct; unsigned prec, scale; const char *text; } bad[] = {
        {"int", "int", 10, 0, "12x"},      {"int", "int unsigned", 10, 0, "-1"},
        {"decimal", "decimal(5,2)", 5, 2, "1234.5"}, {"date", "date", 0, 0, "2024-13-01"},
        {"enum", "enum('a')", 0, 0, "b"},  {"set", "set('a','b')", 0, 0, "a,c"},
        {"double", "double", 0, 0, "1.5abc"}, {"timestamp", "timestamp", 0, 0, "2024-00-10 00:00:00"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vcase c = {.data_type = bad[i].dt, .column_type = bad[i].ct, .prec = bad[i].prec, .scale = bad[i].scale};
        cdc_column col;
        cdc_bytes *labels;
        char *lt;
        column_of(&c, &col, &labels, &lt);
        cdc__buf scratch;
        cdc__buf_init(&scratch, NULL);
        cdc__buf_reserve(&scratch, CDC__FROM_TEXT_SCRATCH);
        cdc_value v;
        cdc__err e;
        cdc__err_clear(&e);
        int rc = cdc__snap_value(&col, 0, (const uint8_t *)bad[i].text, strlen(bad[i].text), &scratch, &v, &e);
        assert_int_equal(rc, CDC_ERR_CORRUPT);
        assert_non_null(strstr(e.msg, bad[i].text));
        cdc__buf_free(&scratch);
        free(labels);
        free(lt);
    }
}


/* MariaDB's INET4/INET6/UUID text that is no such value, and values of
 * the wrong size, are refused naming the type and the text. */
static void test_bad_binary_values(void **state)
{
    (void)state;
    static const struct { const char *dt; const char *text; size_t len; const char *says; } bad[] = {
        {"inet4", "10.0.0.256", 0, "INET4"},
        {"inet4", "", 0, "INET4"},
        {"inet6", "2001:::1", 0, "INET6"},
        {"uuid", "123e4567-e89b-12d3-a456-42661417400", 0, "UUID"},
        {"uuid", "123e4567-e89b-12d3-a456-4266141740g0", 0, "UUID"},
        {"uuid", "123e4567-e89b-12d3-a456-4266141740000", 0, "UUID"},
        {"vector", "\0\0\x80?\0\0\0", 7, "VECTOR"},
        {"geometry", "\0\0\0", 3, "GEOMETRY"},
        {"bit", "\1\2\3\4\5\6\7\x08\x09", 9, "BIT"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vcase c = {.data_type = bad[i].dt, .column_type = !strcmp(bad[i].dt, "bit") ? "bit(64)" : bad[i].dt,
                   .prec = 64, .mariadb = true};
        cdc_column col;
        cdc_bytes *labels;
        char *lt;
        column_of(&c, &col, &labels, &lt);
        cdc__snap_colinfo ci = {.data_type = bad[i].dt, .mariadb = true};
        cdc__buf scratch;
        cdc__buf_init(&scratch, NULL);
        cdc__buf_reserve(&scratch, CDC__FROM_TEXT_SCRATCH);
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
        cdc_value v;
        cdc__err e;
        cdc__err_clear(&e);
        int rc = cdc__snap_value(&col, cdc__snap_hint(&ci), (const uint8_t *)bad[i].text, len, &scratch, &v, &e);
        if (rc != CDC_ERR_CORRUPT) fail_msg("%s '%s': rc %d (%s)", bad[i].dt, bad[i].text, rc, e.msg);
        if (!strstr(e.msg, bad[i].says)) fail_msg("%s: '%s' does not say '%s'", bad[i].dt, e.msg, bad[i].says);
        if (!bad[i].len && bad[i].text[0] && !strstr(e.msg, bad[i].text))
            fail_msg("%s: '%s' does not name '%s'", bad[i].dt, e.msg, bad[i].text);
        cdc__buf_free(&scratch);
        free(labels);
        free(lt);
    }
}
/* information_schema -> cdc_column, field by field, as TABLE_MAP has it
 * (docs/binlog-format.md). */
static void test_columns(void **state)
{
    (void)state;
    static const struct {
        const char *dt, *ct;
        unsigned octets, prec, scale, fsp, coll;
        uint8_t type, real;
        uint16_t meta;
        uint32_t flags, labels;
    } t[] = {
        {"int", "int unsigned", 0, 10, 0, 0, 0, CDC_T_LONG, CDC_T_LONG, 0,
         CDC_COLF_SIGNEDNESS_KNOWN | CDC_COLF_UNSIGNED, 0},
        {"decimal", "decimal(65,30)", 0, 65, 30, 0, 0, CDC_T_NEWDECIMAL, CDC_T_NEWDECIMAL, 65 << 8 | 30,
         CDC_COLF_SIGNEDNESS_KNOWN, 0},
        {"bit", "bit(17)", 0, 17, 0, 0, 0, CDC_T_BIT, CDC_T_BIT, 2 << 8 | 1, 0, 0},
        {"char", "char(10)", 40, 0, 0, 0, 45, CDC_T_STRING, CDC_T_STRING, 40, 0, 0},
        {"varchar", "varchar(300)", 1200, 0, 0, 0, 45, CDC_T_VARCHAR, CDC_T_VARCHAR, 1200, 0, 0},
        {"mediumblob", "mediumblob", 0, 0, 0, 0, 63, CDC_T_BLOB, CDC_T_BLOB, 3, 0, 0},
        {"datetime", "datetime(4)", 0, 0, 0, 4, 0, CDC_T_DATETIME2, CDC_T_DATETIME2, 4, 0, 0},
        {"enum", "enum('a','b')", 0, 0, 0, 0, 8, CDC_T_STRING, CDC_T_ENUM, 1, 0, 2},
        {"set", "set('a','b','c','d','e','f','g','h','i')", 0, 0, 0, 0, 8, CDC_T_STRING, CDC_T_SET, 2, 0, 9},
        {"json", "json", 0, 0, 0, 0, 0, CDC_T_JSON, CDC_T_JSON, 4, 0, 0},
        {"vector", "vector(3)", 12, 0, 0, 0, 0, CDC_T_VECTOR, CDC_T_VECTOR, 4, 0, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        vcase c = {.data_type = t[i].dt, .column_type = t[i].ct, .octets = t[i].octets, .prec = t[i].prec,
                   .scale = t[i].scale, .fsp = t[i].fsp, .coll = t[i].coll};
        cdc_column col;
        cdc_bytes *labels;
        char *lt;
        column_of(&c, &col, &labels, &lt);
        assert_int_equal(col.type, t[i].type);
        assert_int_equal(col.real_type, t[i].real);
        assert_int_equal(col.meta, t[i].meta);
        assert_int_equal(col.flags, t[i].flags);
        assert_int_equal(col.n_labels, t[i].labels);
        assert_int_equal(col.charset, t[i].coll);
        free(labels);
        free(lt);
    }
    vcase g = {.data_type = "multipolygon", .column_type = "multipolygon"};
    cdc_column col;
    cdc_bytes *labels;
    char *lt;
    column_of(&g, &col, &labels, &lt);
    assert_int_equal(col.geometry_type, 6);
    vcase v = {.data_type = "vector", .column_type = "vector(16)"};
    column_of(&v, &col, &labels, &lt);
    assert_int_equal(col.vector_dims, 16);
    /* a type the snapshot cannot read is an error naming it */
    cdc__snap_colinfo ci = {.name = "z", .data_type = "weird", .column_type = "weird(1)"};
    cdc__err e;
    assert_int_equal(cdc__snap_column(&ci, NULL, &col, &labels, &lt, &e), CDC_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.msg, "weird(1)"));
}

/* Keyset condition and literals for each kind of key column. */
static void test_keyset_sql(void **state)
{
    (void)state;
    cdc_column ci = {.type = CDC_T_LONG, .real_type = CDC_T_LONG};
    cdc_column cs = {.type = CDC_T_VARCHAR, .real_type = CDC_T_VARCHAR, .charset = 45};
    cdc_column cb = {.type = CDC_T_STRING, .real_type = CDC_T_STRING, .charset = 63};
    cdc_column cd = {.type = CDC_T_DATETIME2, .real_type = CDC_T_DATETIME2};
    cdc__snap_keycol k[4] = {{"`a`", &ci, NULL, NULL},
                             {"`b`", &cs, "utf8mb4", "utf8mb4_general_ci"},
                             {"`c`", &cb, NULL, NULL},
                             {"`d`", &cd, NULL, NULL}};
    cdc_bytes last[4] = {{(const uint8_t *)"-5", 2}, {(const uint8_t *)"x'y", 3}, {(const uint8_t *)"\0\1", 2},
                         {(const uint8_t *)"2024-01-02 03:04:05.5", 21}};
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    assert_int_equal(cdc__snap_after_sql(&b, k, 1, last), CDC_OK);
    cdc__buf_terminate(&b);
    assert_string_equal((char *)b.data, "((`a` > -5))");
    cdc__buf_reset(&b);
    assert_int_equal(cdc__snap_after_sql(&b, k, 4, last), CDC_OK);
    cdc__buf_terminate(&b);
    assert_string_equal((char *)b.data,
                        "((`a` > -5) OR (`a` = -5 AND `b` > _utf8mb4 X'782779' COLLATE utf8mb4_general_ci) OR "
                        "(`a` = -5 AND `b` = _utf8mb4 X'782779' COLLATE utf8mb4_general_ci AND `c` > X'0001') OR "
                        "(`a` = -5 AND `b` = _utf8mb4 X'782779' COLLATE utf8mb4_general_ci AND `c` = X'0001' AND "
                        "`d` > '2024-01-02 03:04:05.5'))");
    /* text that is not a number never reaches the SQL */
    cdc_bytes evil = {(const uint8_t *)"1 OR 1=1", 8};
    cdc__buf_reset(&b);
    assert_int_equal(cdc__snap_after_sql(&b, k, 1, &evil), CDC_ERR_INVALID);
    cdc__buf_free(&b);
    /* pageable key types */
    assert_true(cdc__snap_key_pageable(&ci));
    assert_true(cdc__snap_key_pageable(&cb));
    cdc_column ce = {.type = CDC_T_STRING, .real_type = CDC_T_ENUM};
    cdc_column cf = {.type = CDC_T_FLOAT, .real_type = CDC_T_FLOAT};
    cdc_column cbl = {.type = CDC_T_BLOB, .real_type = CDC_T_BLOB};
    assert_false(cdc__snap_key_pageable(&ce));
    assert_false(cdc__snap_key_pageable(&cf));
    assert_false(cdc__snap_key_pageable(&cbl));
}

/* A key value that is not what its column's literal may hold never
 * reaches the SQL; binary keys are hex whatever the charset names say. */
static void test_key_literals(void **state)
{
    (void)state;
    cdc_column cdec = {.type = CDC_T_NEWDECIMAL, .real_type = CDC_T_NEWDECIMAL};
    cdc_column cdate = {.type = CDC_T_DATE, .real_type = CDC_T_DATE};
    cdc_column cbin = {.type = CDC_T_VARCHAR, .real_type = CDC_T_VARCHAR, .charset = CDC_CHARSET_BINARY};
    static const struct { int col; const char *v; const char *want; } t[] = {
        {0, "-1.50", "-1.50"},
        {0, "1e5", NULL},
        {0, "1;DROP", NULL},
        {1, "2024-01-02", "'2024-01-02'"},
        {1, "2024-01-02' OR '1", NULL},
        {2, "a'", "X'6127'"},
    };
    cdc__snap_keycol k[3] = {{"`d`", &cdec, NULL, NULL}, {"`t`", &cdate, NULL, NULL},
                             {"`b`", &cbin, "binary", "binary"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        cdc__buf b;
        cdc__buf_init(&b, NULL);
        cdc_bytes v = {(const uint8_t *)t[i].v, strlen(t[i].v)};
        int rc = cdc__snap_key_literal(&b, &k[t[i].col], &v);
        if (!t[i].want) {
            assert_int_equal(rc, CDC_ERR_INVALID);
        } else {
            assert_int_equal(rc, CDC_OK);
            cdc__buf_terminate(&b);
            assert_string_equal((char *)b.data, t[i].want);
        }
        cdc__buf_free(&b);
    }
}

/* ---- the binary protocol ------------------------------------------------
 * Values of a binary result row (COM_STMT_EXECUTE), laid out as the
 * MySQL protocol documentation gives them (Binary Protocol Value):
 * integers little-endian in 1, 2, 4 (INT24 too) or 8 bytes, DOUBLE as
 * its 8 IEEE bytes, YEAR in 2 bytes, DATE/DATETIME/TIMESTAMP as a length
 * byte 0/4/7/11 then year (2), month, day, hour, minute, second,
 * microseconds (4), TIME as a length byte 0/8/12 then is_negative, days
 * (4), hour, minute, second, microseconds (4); the rest (DECIMAL,
 * strings, BIT...) as length-encoded text. Hex here is what follows the
 * length byte; each must give what the binlog image gives. */
typedef struct bcase {
    const char *data_type, *column_type;
    unsigned prec, fsp;
    const char *bin;   /* hex of the binary value */
    const char *image; /* hex of the binlog row image of the same value */
    const char *text;  /* the text-protocol form: the key text it must give */
} bcase;

static const bcase bcases[] = {
    {"tinyint", "tinyint", 3, 0, "80", "80", "-128"},
    {"tinyint", "tinyint unsigned", 3, 0, "ff", "ff", "255"},
    {"smallint", "smallint", 5, 0, "feff", "feff", "-2"},
    {"smallint", "smallint unsigned", 5, 0, "ffff", "ffff", "65535"},
    /* MEDIUMINT travels in 4 bytes */
    {"mediumint", "mediumint unsigned", 7, 0, "ffffff00", "ffffff", "16777215"},
    {"mediumint", "mediumint", 7, 0, "000080ff", "000080", "-8388608"},
    {"int", "int", 10, 0, "00000080", "00000080", "-2147483648"},
    {"int", "int unsigned", 10, 0, "ffffffff", "ffffffff", "4294967295"},
    {"bigint", "bigint unsigned", 20, 0, "ffffffffffffffff", "ffffffffffffffff", "18446744073709551615"},
    {"bigint", "bigint", 19, 0, "0000000000000080", "0000000000000080", "-9223372036854775808"},
    /* FLOAT selected as CAST(... AS DOUBLE): the double holding the float */
    {"float", "float", 12, 0, "000000e0ffffef47", "ffff7f7f", NULL},
    {"float", "float", 12, 0, "000000000000f83f", "0000c03f", NULL},
    {"double", "double", 22, 0, "9a9999999999b93f", "9a9999999999b93f", NULL},
    {"year", "year", 0, 0, "e807", "7c", "2024"},
    {"year", "year", 0, 0, "0000", "00", "0000"},
    {"year", "year", 0, 0, "6d07", "01", "1901"},
    {"date", "date", 0, 0, "e807021d", "5dd00f", "2024-02-29"},
    {"date", "date", 0, 0, "", "000000", "0000-00-00"},
    {"date", "date", 0, 0, "e8030101", "21d007", "1000-01-01"},
    {"time", "time", 0, 0, "0122000000163b3b", "4b9105", "-838:59:59"},
    {"time", "time(6)", 0, 6, "00000000000c2238140a0c00", "80c8b80c0a14", "12:34:56.789012"},
    {"time", "time", 0, 0, "", "800000", "00:00:00"},
    /* the binlog has no negative zero TIME */
    {"time", "time", 0, 0, "0100000000000000", "800000", NULL},
    {"datetime", "datetime", 0, 0, "e807021d173b3b", "99b2bb7efb", "2024-02-29 23:59:59"},
    {"datetime", "datetime(3)", 0, 3, "e807021d173b3b78e00100", "99b2bb7efb04ce", "2024-02-29 23:59:59.123"},
    {"datetime", "datetime", 0, 0, "e8070101", "99b2420000", "2024-01-01 00:00:00"},
    /* TIMESTAMP in the session's UTC; the image holds epoch seconds */
    {"timestamp", "timestamp", 0, 0, "f6070113030e07", "7fffffff", "2038-01-19 03:14:07"},
    {"timestamp", "timestamp(2)", 0, 2, "b207010100000190d00300", "0000000119", "1970-01-01 00:00:01.25"},
    {"timestamp", "timestamp", 0, 0, "", "00000000", "0000-00-00 00:00:00"},
    {"timestamp", "timestamp(6)", 0, 6, "e80701010000000100000000", "65920080000001", NULL},
    {"timestamp", "timestamp(6)", 0, 6, "e807010100000001000000", "65920080000001", "2024-01-01 00:00:00.000001"},
};

static void bcase_column(const bcase *c, cdc_column *col)
{
    vcase v = {.data_type = c->data_type, .column_type = c->column_type, .prec = c->prec, .fsp = c->fsp};
    cdc_bytes *labels;
    char *text;
    column_of(&v, col, &labels, &text);
    free(labels);
    free(text);
}

/* Each binary value converts to what rowvalue.c decodes from the image,
 * and a key gives the text the text protocol has. */
static void test_binary_values_match_row_images(void **state)
{
    (void)state;
    size_t checked = 0;
    for (size_t i = 0; i < sizeof bcases / sizeof bcases[0]; i++) {
        const bcase *c = &bcases[i];
        cdc_column col;
        bcase_column(c, &col);
        uint8_t bin[64], img[64];
        size_t bn = unhex(c->bin, bin), in = unhex(c->image, img);
        int cls = cdc__snap_bin_class(&col);
        cdc__buf scratch;
        cdc__buf_init(&scratch, NULL);
        cdc_value sv, bv;
        cdc__err e;
        size_t used;
        /* a 12-byte TIMESTAMP value is not in the protocol: refused */
        if (bn == 12 && cls == CDC__BIN_DATETIME) {
            assert_int_equal(cdc__snap_value_bin(&col, 0, cls, bin, bn, &scratch, &sv, &e), CDC_ERR_CORRUPT);
            cdc__buf_free(&scratch);
            continue;
        }
        int rc = cdc__snap_value_bin(&col, 0, cls, bin, bn, &scratch, &sv, &e);
        if (rc) fail_msg("%s %s: %s", c->column_type, c->bin, e.msg);
        rc = cdc__value_decode(&col, img, in, &bv, &used, &e);
        if (rc) fail_msg("%s image: %s", c->column_type, e.msg);
        char *got = render(&sv), *want = render(&bv);
        if (strcmp(got, want) || bv.kind != sv.kind || bv.fsp != sv.fsp || bv.flags != sv.flags)
            fail_msg("%s %s: binary protocol %s (kind %d fsp %d flags %d), binlog %s (kind %d fsp %d flags %d)",
                     c->column_type, c->bin, got, sv.kind, sv.fsp, sv.flags, want, bv.kind, bv.fsp, bv.flags);
        if (sv.kind == CDC_K_FLOAT) assert_memory_equal(&sv.v.f, &bv.v.f, sizeof sv.v.f);
        if (sv.kind == CDC_K_DOUBLE) assert_memory_equal(&sv.v.d, &bv.v.d, sizeof sv.v.d);
        if (c->text) {
            char buf[CDC__SNAP_KEYTEXT_MAX];
            cdc_bytes kt;
            assert_int_equal(cdc__snap_key_text_bin(&col, cls, bin, bn, buf, &kt, &e), CDC_OK);
            if (kt.len != strlen(c->text) || memcmp(kt.ptr, c->text, kt.len))
                fail_msg("%s %s: key text '%.*s', the text protocol has '%s'", c->column_type, c->bin, (int)kt.len,
                         (const char *)kt.ptr, c->text);
        }
        free(got);
        free(want);
        cdc__buf_free(&scratch);
        checked++;
    }
    assert_true(checked >= 30);
    /* the types sent as text in the binary protocol too take the text
     * path: every text case above gives the same value through it */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const vcase *c = &cases[i];
        cdc_column col;
        cdc_bytes *labels;
        char *ltext;
        column_of(c, &col, &labels, &ltext);
        if (cdc__snap_bin_class(&col) == CDC__BIN_LENENC) {
            cdc__snap_colinfo ci = {.data_type = c->data_type, .mariadb = c->mariadb};
            size_t tl = c->text_len ? c->text_len : strlen(c->text);
            cdc__buf s1, s2;
            cdc__buf_init(&s1, NULL);
            cdc__buf_init(&s2, NULL);
            cdc__buf_reserve(&s1, CDC__FROM_TEXT_SCRATCH);
            cdc__buf_reserve(&s2, CDC__FROM_TEXT_SCRATCH);
            cdc_value a, b;
            cdc__err e;
            assert_int_equal(cdc__snap_value(&col, cdc__snap_hint(&ci), (const uint8_t *)c->text, tl, &s1, &a, &e), 0);
            assert_int_equal(cdc__snap_value_bin(&col, cdc__snap_hint(&ci), CDC__BIN_LENENC, (const uint8_t *)c->text,
                                                 tl, &s2, &b, &e),
                             0);
            char *x = render(&a), *y = render(&b);
            assert_string_equal(x, y);
            assert_int_equal(a.kind, b.kind);
            free(x);
            free(y);
            cdc__buf_free(&s1);
            cdc__buf_free(&s2);
        }
        free(labels);
        free(ltext);
    }
}

/* Binary values the server would never send: refused with the type named. */
static void test_bad_binary_protocol_values(void **state)
{
    (void)state;
    static const struct { const char *dt, *ct, *bin; } bad[] = {
        {"int", "int", "000000"},                       /* 3 bytes for a 4-byte class */
        {"year", "year", "0909"},                       /* 2313 */
        {"date", "date", "e8070d01"},                   /* month 13 */
        {"date", "date", "e807010120"},                 /* 5 bytes */
        {"datetime", "datetime", "e80701011800ff"},     /* hour 24 */
        {"datetime", "datetime(6)", "e8070101000000" "40420f00"}, /* 1,000,000 us */
        {"time", "time", "0223000000000000"},           /* is_negative 2 */
        {"time", "time", "0023000000000000"},           /* 35 days */
        {"time", "time", "00000000001800"},             /* 7 bytes */
        {"timestamp", "timestamp", "e8070001000000"},   /* month 0 of a non-zero date */
        {"double", "double", "000000000000f07f"},       /* infinity */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bcase c = {.data_type = bad[i].dt, .column_type = bad[i].ct, .prec = 10,
                   .fsp = strchr(bad[i].ct, '(') ? 6 : 0};
        cdc_column col;
        bcase_column(&c, &col);
        uint8_t bin[32];
        size_t bn = unhex(bad[i].bin, bin);
        cdc__buf scratch;
        cdc__buf_init(&scratch, NULL);
        cdc_value v;
        cdc__err e;
        cdc__err_clear(&e);
        int rc = cdc__snap_value_bin(&col, 0, cdc__snap_bin_class(&col), bin, bn, &scratch, &v, &e);
        if (rc != CDC_ERR_CORRUPT) fail_msg("%s %s: rc %d (%s)", bad[i].ct, bad[i].bin, rc, e.msg);
        if (!strstr(e.msg, "binary value")) fail_msg("%s: '%s' does not say what", bad[i].ct, e.msg);
        cdc__buf_free(&scratch);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_match_row_images),
        cmocka_unit_test(test_every_type),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_hints),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_bad_binary_values),
        cmocka_unit_test(test_binary_values_match_row_images),
        cmocka_unit_test(test_bad_binary_protocol_values),
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_bad_columns),
        cmocka_unit_test(test_keyset_sql),
        cmocka_unit_test(test_key_literals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
