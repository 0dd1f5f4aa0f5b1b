/* Unit tests of the snapshot's pieces (lib/snapshot_values.c):
 * information_schema -> cdc_column as TABLE_MAP describes it, every
 * column type's text-protocol value -> the cdc_value the binlog decoder
 * (rowvalue.c) gives for the same value in its row-image form, and the SQL
 * of keyset pagination. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <string.h>

#include <cdc/cdc.h>

#include "config.h"
#include "snapshot.h"
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
    {"longblob", "longblob", 0, 0, 0, 0, 63, 0, "bb", 0, "026262", CDC_K_BYTES}, /* 4-byte length: see below */
    {"json", "json", 0, 0, 0, 0, 0, 0, "[1]", 0, NULL, CDC_K_JSON},
    {"geometry", "point", 0, 0, 0, 0, 0, 0, "\0\0\0\0\x01\x01\0\0\0\0\0\0\0\0\0\xf0?\0\0\0\0\0\0\0@", 25,
     "19" "00000000" "01" "01000000" "000000000000f03f" "0000000000000040", CDC_K_GEOMETRY},
    {"inet6", "inet6", 0, 0, 0, 0, 0, 1, "2001:db8::1", 0, "1020010db8000000000000000000000001", CDC_K_BYTES},
    {"inet4", "inet4", 0, 0, 0, 0, 0, 1, "10.0.0.0", 0, "010a", CDC_K_BYTES},
    {"uuid", "uuid", 0, 0, 0, 0, 0, 1, "123e4567-e89b-12d3-a456-426614174000", 0,
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
            /* LONGBLOB's image has a 4-byte length; the table keeps it short */
            if (col.type == CDC_T_BLOB && col.meta == 4) {
                memmove(img + 4, img + 1, n - 1);
                img[1] = img[2] = img[3] = 0;
                n += 3;
            }
            if (col.type == CDC_T_GEOMETRY) { /* 4-byte length prefix too */
                memmove(img + 4, img + 1, n - 1);
                img[1] = img[2] = img[3] = 0;
                n += 3;
            }
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

/* snapshot.mode: Debezium's spellings are accepted and mean the modes
 * they were renamed to; recovery needs a start position, said at once. */
static void test_snapshot_mode_names(void **state)
{
    (void)state;
    static const struct { const char *name; int mode; } names[] = {
        {"initial", CDC_SNAPSHOT_INITIAL}, {"initial_only", CDC_SNAPSHOT_INITIAL_ONLY},
        {"no_data", CDC_SNAPSHOT_NO_DATA}, {"schema_only", CDC_SNAPSHOT_NO_DATA},
        {"never", CDC_SNAPSHOT_NEVER}, {"when_needed", CDC_SNAPSHOT_WHEN_NEEDED},
        {"recovery", CDC_SNAPSHOT_RECOVERY}, {"schema_only_recovery", CDC_SNAPSHOT_RECOVERY},
    };
    char e[512];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        cdc_config *cfg;
        assert_int_equal(cdc_config_new(&cfg, NULL), CDC_OK);
        assert_int_equal(cdc_config_set(cfg, "snapshot.mode", names[i].name, e, sizeof e), CDC_OK);
        assert_int_equal(cdc__snapshot_mode(cdc__config_enum(cfg, CDC_CFG_SNAPSHOT_MODE)), names[i].mode);
        assert_int_equal(cdc_config_set(cfg, "server.id", "7", e, sizeof e), CDC_OK);
        assert_int_equal(cdc_config_set(cfg, "user", "cdc", e, sizeof e), CDC_OK);
        cdc_stream *st = NULL;
        int rc = cdc_stream_new(&st, cfg, NULL, e, sizeof e);
        if (names[i].mode == CDC_SNAPSHOT_RECOVERY) {
            assert_int_equal(rc, CDC_ERR_CONFIG);
            assert_non_null(strstr(e, "snapshot.mode=recovery"));
            assert_non_null(strstr(e, "start"));
            assert_int_equal(cdc_config_set(cfg, "start", "binlog.000001:4", e, sizeof e), CDC_OK);
            rc = cdc_stream_new(&st, cfg, NULL, e, sizeof e);
        }
        if (rc) fail_msg("%s: %s", names[i].name, e);
        cdc_stream_free(st);
        cdc_config_free(cfg);
    }
    cdc_config *cfg;
    assert_int_equal(cdc_config_new(&cfg, NULL), CDC_OK);
    assert_int_equal(cdc_config_set(cfg, "snapshot.mode", "schema_history", e, sizeof e), CDC_ERR_CONFIG);
    assert_non_null(strstr(e, "schema_only_recovery"));
    cdc_config_free(cfg);
}


/* DOUBLE text takes a fast path (textvalue.c) for short mantissas: every
 * result must be bit for bit what strtod gives, on the servers' spellings
 * (shortest round-trip text, 6 and 15 digits, exponents) and on edges. */
static void test_double_fast_path(void **state)
{
    (void)state;
    cdc_column col = {.type = CDC_T_DOUBLE, .real_type = CDC_T_DOUBLE};
    cdc__buf scratch;
    cdc__buf_init(&scratch, NULL);
    unsigned seed = 12345;
    char txt[64];
    static const char *const edge[] = {"0", "-0", "1", "-1", "0.1", "1e22", "1e23", "1e-22", "1e-23", "123456789012345",
                                       "1234567890123456", "0.000001", "9007199254740993", "1.5e300", "-2.5e-300",
                                       "3.4028234663852886e38", "4.9406564584124654e-324", "1.7976931348623157e308",
                                       "00012.5000", "1.", ".5", "1e+5", "1E5", "12345678901234.5"};
    for (size_t k = 0; k < 200000 + sizeof edge / sizeof edge[0]; k++) {
        if (k < sizeof edge / sizeof edge[0]) {
            snprintf(txt, sizeof txt, "%s", edge[k]);
        } else {
            uint64_t bits = ((uint64_t)rand_r(&seed) << 42) ^ ((uint64_t)rand_r(&seed) << 21) ^ (uint64_t)rand_r(&seed);
            double x;
            int form = rand_r(&seed) % 4;
            if (form == 0) {
                memcpy(&x, &bits, sizeof x);
                if (x != x || x - x != 0) continue; /* NaN, inf: no such column values */
                snprintf(txt, sizeof txt, "%.17g", x);
            } else if (form == 1) {
                snprintf(txt, sizeof txt, "%.*g", 1 + rand_r(&seed) % 15, (double)(int64_t)bits / (1 << (rand_r(&seed) % 30)));
            } else if (form == 2) {
                snprintf(txt, sizeof txt, "%lld.%0*d", (long long)(rand_r(&seed) % 100000) - 50000, 1 + rand_r(&seed) % 6,
                         rand_r(&seed) % 100000);
            } else {
                snprintf(txt, sizeof txt, "%de%d", rand_r(&seed) % 1000000, rand_r(&seed) % 60 - 30);
            }
        }
        cdc_value v;
        cdc__err e = {0};
        char *end;
        double want = strtod(txt, &end);
        int rc = cdc__value_from_text(&col, txt, strlen(txt), 63, &v, &scratch, &e);
        if (*end) {
            assert_int_not_equal(rc, CDC_OK);
            continue;
        }
        if (rc) fail_msg("'%s': %s", txt, e.msg);
        if (memcmp(&v.v.d, &want, sizeof want)) fail_msg("'%s': %.17g, strtod %.17g", txt, v.v.d, want);
    }
    cdc__buf_free(&scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_match_row_images),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_keyset_sql),
        cmocka_unit_test(test_double_fast_path),
        cmocka_unit_test(test_snapshot_mode_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
