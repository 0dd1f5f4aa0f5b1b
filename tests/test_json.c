/*
 * Unit tests for json.c: MySQL binary JSON -> text, MariaDB JSON text,
 * PARTIAL_JSON diffs (decode, render, apply). Documents are built by
 * hand from the binary format's description (sql-common/json_binary.h
 * in the server) or taken from real fixtures with their oracles.
 */
#include "valtest.h"

#include "json.h"

/* Renders a binary document given as hex; returns the rendering code. */
static int render_hex(const char *hex, char *text, size_t cap, cdc__err *err)
{
    static uint8_t doc[65536];
    size_t n = vt_unhex(hex, doc, sizeof doc);
    uint8_t *exact = test_malloc(n ? n : 1); /* exact size: ASan sees overreads */
    memcpy(exact, doc, n);
    cdc__buf b;
    cdc__buf_init(&b, &vt_alloc);
    cdc__err_clear(err);
    int rc = cdc__json_render(exact, n, &b, err);
    if (rc == CDC_OK) {
        assert_true(b.len < cap);
        memcpy(text, b.data, b.len);
        text[b.len] = 0;
    }
    cdc__buf_free(&b);
    test_free(exact);
    return rc;
}

static void expect_doc(const char *hex, const char *want)
{
    char text[4096];
    cdc__err err;
    int rc = render_hex(hex, text, sizeof text, &err);
    if (rc) fail_msg("%s: %s (%s)", hex, cdc_err_name(rc), err.msg);
    if (strcmp(text, want)) fail_msg("%s: got %s, want %s", hex, text, want);
}

static void test_scalars(void **state)
{
    (void)state;
    expect_doc("0400", "null");
    expect_doc("0401", "true");
    expect_doc("0402", "false");
    expect_doc("05ffff", "-1");                                 /* int16 */
    expect_doc("06ffff", "65535");                              /* uint16 */
    expect_doc("0700000080", "-2147483648");                    /* int32 */
    expect_doc("08ffffffff", "4294967295");                     /* uint32 */
    expect_doc("090000000000000080", "-9223372036854775808");   /* int64 */
    expect_doc("0affffffffffffffff", "18446744073709551615");   /* uint64 */
    expect_doc("0b000000000000f83f", "1.5");                    /* double */
    expect_doc("0b000000000000f03f", "1.0");                    /* a double stays a double */
    expect_doc("0b9a9999999999b93f", "0.1");
    /* as MySQL 9.7 printed CAST('[1.0, 1e21, 1.5e-7, -0.0]' AS JSON) */
    expect_doc("0b0000000000000000", "0.0");
    expect_doc("0b0000000000000080", "-0.0");
    expect_doc("0b50efe2d6e41a4b44", "1e21");
    expect_doc("0b76830df4f521843e", "0.00000015");
    expect_doc("0c03616263", "\"abc\"");                        /* string */
    expect_doc("0c00", "\"\"");
    expect_doc("0c04220a5c01", "\"\\\"\\n\\\\\\u0001\"");         /* escapes */
}

static void test_long_string_varlen(void **state)
{
    (void)state;
    /* a 128-byte string: its length takes two varlen bytes, 0x80 0x01 */
    char hex[600] = "0c8001", want[200] = "\"";
    for (int i = 0; i < 128; i++) {
        strcat(hex, "78");
        strcat(want, "x");
    }
    strcat(want, "\"");
    expect_doc(hex, want);
}

static void test_containers(void **state)
{
    (void)state;
    /* {"a":1}: count 1, size 12, key entry (off 11, len 1), value entry
     * int16 inlined, then the key */
    expect_doc("00 0100 0c00 0b000100 050100 61", "{\"a\":1}");
    /* [1,"x",null]: the string lives after the 13-byte header */
    expect_doc("02 0300 0f00 050100 0c0d00 040000 0178", "[1,\"x\",null]");
    /* {"a":[true]}: the array at offset 12 of the object */
    expect_doc("00 0100 1300 0b000100 020c00 61 0100 0700 040100", "{\"a\":[true]}");
    /* large object: 4-byte counts and offsets, int32 inlined */
    expect_doc("01 01000000 14000000 130000000100 0501000000 61", "{\"a\":1}");
    expect_doc("03 01000000 0d000000 07ffffffff", "[-1]");
    /* uint32 in a small container is not inlined: it sits at offset 7 */
    expect_doc("02 0100 0b00 080700 ffffffff", "[4294967295]");
    expect_doc("00 0000 0400", "{}");
    expect_doc("02 0000 0400", "[]");
    /* keys are rendered escaped, values in stored order */
    expect_doc("00 0100 0d00 0b000200 040100 2241", "{\"\\\"A\":true}");
}

static void test_opaque(void **state)
{
    (void)state;
    /* DECIMAL(6,3) 123.456: precision, scale, 80 7b 01 c8 */
    expect_doc("0f f6 06 0603807b01c8", "123.456");
    expect_doc("0f 0f 01 55", "\"base64:type15:VQ==\"");
    expect_doc("0f fc 00", "\"base64:type252:\"");
}

/* Walks a binlog file's v4 events; returns the body (after the 19-byte
 * header, before the CRC32) of the n-th event of the given type. */
static const uint8_t *nth_event(const uint8_t *f, size_t len, unsigned type, unsigned n, size_t *blen)
{
    size_t pos = 4;
    while (pos + 19 <= len) {
        uint32_t size = cdc__le32(f + pos + 9);
        assert_true(size >= 23 && pos + size <= len);
        if (f[pos + 4] == type && n-- == 0) {
            *blen = size - 19 - 4;
            return f + pos + 19;
        }
        pos += size;
    }
    fail_msg("event type %u not found", type);
    return NULL;
}

/* json-opaque.binlog (MySQL 9.0.1): one JSON column per row; oracle in
 * rust_mysql_common/EXPECTED.md (there with MySQL's ", "/": " spacing). */
static void test_fixture_opaque_scalars(void **state)
{
    (void)state;
    static const char *const want[] = {
        "{\"a\":\"base64:type15:VQ==\"}", "{\"b\":\"2012-03-18\"}", "{\"c\":\"2012-03-18 11:30:45.000000\"}",
        "{\"c\":\"87:31:46.654321\"}", "{\"d\":123.456}", "{\"e\":9.00}", "{\"e\":[0,1,true,false]}",
        "{\"e\":null}",
    };
    size_t len;
    uint8_t *f = vt_fixture("rust_mysql_common/json-opaque.binlog", &len);
    cdc_column col = {.type = CDC_T_JSON, .real_type = CDC_T_JSON, .meta = 4};
    for (unsigned i = 0; i < 8; i++) {
        size_t blen;
        const uint8_t *b = nth_event(f, len, 30 /* WRITE_ROWS v2 */, i, &blen);
        /* table id 6, flags 2, extra-data length 2 (=2), 1 column,
         * present bitmap, NULL bitmap: the value starts at 13 */
        assert_true(blen > 13);
        cdc_value v;
        size_t used;
        cdc__err err;
        assert_int_equal(cdc__value_decode(&col, b + 13, blen - 13, &v, &used, &err), CDC_OK);
        assert_int_equal(used, blen - 13);
        assert_string_equal(vt_render(&v), want[i]);
    }
    test_free(f);
}

static void test_hostile_documents(void **state)
{
    (void)state;
    char text[4096];
    cdc__err err;
    /* 100 nested arrays render; 101 are refused by the depth limit */
    static char hex[2][8192];
    for (int depth = 100; depth <= 101; depth++) {
        uint8_t doc[2048];
        size_t n = 4;
        memcpy(doc, "\x00\x00\x04\x00", 4); /* innermost: [] */
        for (int k = 1; k < depth; k++) {
            memmove(doc + 7, doc, n);
            uint16_t size = (uint16_t)(n + 7);
            uint8_t head[7] = {1, 0, (uint8_t)size, (uint8_t)(size >> 8), 2, 7, 0};
            memcpy(doc, head, 7);
            n += 7;
        }
        char *h = hex[depth - 100];
        strcpy(h, "02");
        for (size_t k = 0; k < n; k++) sprintf(h + 2 + 2 * k, "%02x", doc[k]);
    }
    assert_int_equal(render_hex(hex[0], text, sizeof text, &err), CDC_OK);
    assert_int_equal(strlen(text), 200);
    assert_int_equal(render_hex(hex[1], text, sizeof text, &err), CDC_ERR_TOO_LARGE);
    assert_non_null(strstr(err.msg, "deeper than 100"));
    /* an array whose two entries point back at itself: without the
     * overlap budget this is 2^100 work; it must fail fast instead */
    int rc = render_hex("02 0200 0a00 020000 020000", text, sizeof text, &err);
    assert_true(rc == CDC_ERR_CORRUPT || rc == CDC_ERR_TOO_LARGE);
    /* offsets and sizes past the container, bad types and literals */
    const char *bad[] = {
        "02 0100 0b00 080b00 ffffffff", /* offset == size */
        "02 0100 0f00 080700 ffffffff", /* size beyond the document */
        "02 0500 0700 040100",          /* entries exceed the size */
        "00 0100 0c00 0b000500 050100 61", /* key runs past the object */
        "0c05616263",                   /* string longer than the document */
        "0c ffffffffff0f",              /* varlen over 32 bits */
        "0403",                         /* unknown literal */
        "0d00",                         /* unknown type */
        "0f f6 02 0603",                /* opaque DECIMAL too short */
        "0f 0c 02 0000",                /* opaque DATETIME under 8 bytes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = render_hex(bad[i], text, sizeof text, &err);
        if (rc != CDC_ERR_CORRUPT) fail_msg("%s: %s", bad[i], cdc_err_name(rc));
        assert_non_null(strstr(err.msg, "JSON"));
    }
    /* every truncation of a valid document is an error, never a crash */
    const char *good = "00 0100 1300 0b000100 020c00 61 0100 0700 040100";
    uint8_t full[64];
    size_t n = vt_unhex(good, full, sizeof full);
    for (size_t cut = 1; cut < n; cut++) {
        uint8_t *exact = test_malloc(cut);
        memcpy(exact, full, cut);
        cdc__buf b;
        cdc__buf_init(&b, &vt_alloc);
        assert_int_not_equal(cdc__json_render(exact, cut, &b, &err), CDC_OK);
        assert_int_equal(b.len, 0); /* nothing half-written */
        cdc__buf_free(&b);
        test_free(exact);
    }
}

static void test_json_text(void **state)
{
    (void)state;
    cdc_column col = {.type = CDC_T_BLOB, .real_type = CDC_T_BLOB, .meta = 4, .flags = CDC_COLF_JSON_TEXT,
                      .charset = 45};
    struct { const char *in, *want; } t[] = {
        {" {\"a\" : [1, 2.5e3, -0.5, true, null] , \"b\":\"x y\"} ", "{\"a\":[1,2.5e3,-0.5,true,null],\"b\":\"x y\"}"},
        {"\"\\u00e9\\n\"", "\"\\u00e9\\n\""},
        {"[]", "[]"},
        {"01", "\"01\""},          /* not JSON: a string */
        {"{\"a\":1,}", "\"{\\\"a\\\":1,}\""},
        {"[1] x", "\"[1] x\""},
        {"\"a\xff\"", "\"a\xef\xbf\xbd\""}, /* invalid UTF-8 repaired */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t n = strlen(t[i].in);
        char hex[512];
        snprintf(hex, sizeof hex, "%08x", 0);
        sprintf(hex, "%02x%02x%02x%02x", (unsigned)(n & 0xff), (unsigned)(n >> 8), 0u, 0u);
        for (size_t k = 0; k < n; k++) sprintf(hex + 8 + 2 * k, "%02x", (uint8_t)t[i].in[k]);
        const char *got = vt_text(&col, hex);
        if (strcmp(got, t[i].want)) fail_msg("%s: got %s, want %s", t[i].in, got, t[i].want);
    }
}

/* ---- diffs ---- */

/* A diff column value: 4-byte length, then the operations. */
static cdc_value diff_of(const char *ops_hex, uint8_t *buf, size_t cap)
{
    uint8_t ops[1024];
    size_t n = vt_unhex(ops_hex, ops, sizeof ops);
    assert_true(n + 4 <= cap);
    cdc__put_le32(buf, (uint32_t)n);
    memcpy(buf + 4, ops, n);
    static const cdc_column col = {.type = CDC_T_JSON, .real_type = CDC_T_JSON, .meta = 4};
    cdc_value v;
    size_t used;
    cdc__err err;
    int rc = cdc__json_diff_decode(&col, buf, n + 4, &v, &used, &err);
    if (rc) fail_msg("diff %s: %s", ops_hex, err.msg);
    assert_int_equal(used, n + 4);
    assert_int_equal(v.kind, CDC_K_JSON_DIFF);
    return v;
}

/* Applies ops to the binary before document; returns code, text in out. */
static int apply(const char *before_hex, const char *ops_hex, char *out, size_t cap, cdc__err *err)
{
    uint8_t dbuf[1100], bdoc[1024];
    cdc_value diff = diff_of(ops_hex, dbuf, sizeof dbuf);
    cdc_value before = {.kind = CDC_K_JSON};
    before.v.b.ptr = bdoc;
    before.v.b.len = vt_unhex(before_hex, bdoc, sizeof bdoc);
    cdc__buf scratch;
    cdc__buf_init(&scratch, &vt_alloc);
    cdc_value after;
    cdc__err_clear(err);
    int rc = cdc__json_diff_apply(&before, &diff, &scratch, &after, err);
    if (rc == CDC_OK) {
        assert_int_equal(after.kind, CDC_K_JSON);
        assert_true(after.flags & CDC_VF_TEXT);
        const char *t = vt_render(&after);
        assert_true(strlen(t) < cap);
        strcpy(out, t);
    }
    cdc__buf_free(&scratch);
    return rc;
}

static void expect_apply(const char *before, const char *ops, const char *want)
{
    char out[2048];
    cdc__err err;
    int rc = apply(before, ops, out, sizeof out, &err);
    if (rc) fail_msg("apply %s: %s", ops, err.msg);
    if (strcmp(out, want)) fail_msg("apply %s: got %s, want %s", ops, out, want);
}

#define OBJ_A1 "00 0100 0c00 0b000100 050100 61"             /* {"a":1} */
#define OBJ_A1_BB2 "00 0200 1500 12000100 13000200 050100 050200 616262" /* {"a":1,"bb":2} */
#define ARR_1 "02 0100 0700 050100"                          /* [1] */

static void test_diff_apply(void **state)
{
    (void)state;
    /* op, lenenc path, lenenc binary value */
    expect_apply(OBJ_A1, "00 03 242e61 03 050200", "{\"a\":2}");                 /* replace $.a 2 */
    expect_apply(OBJ_A1, "01 03 242e62 03 0c0178", "{\"a\":1,\"b\":\"x\"}");      /* insert $.b "x" */
    expect_apply(OBJ_A1, "02 03 242e61", "{}");                                  /* remove $.a */
    /* an inserted member goes where the server sorts it: by length, then bytes */
    expect_apply(OBJ_A1_BB2, "01 03 242e63 02 0401", "{\"a\":1,\"c\":true,\"bb\":2}");
    expect_apply(ARR_1, "01 04 245b305d 02 0402", "[false,1]");                  /* insert $[0] */
    expect_apply(ARR_1, "01 04 245b395d 02 0402", "[1,false]");                  /* insert past the end */
    expect_apply(ARR_1, "00 04 245b305d 02 0400", "[null]");                     /* replace $[0] */
    expect_apply(ARR_1, "00 01 24 02 0401", "true");                             /* replace $ */
    /* two operations in one diff, nested and quoted paths */
    expect_apply("00 0100 1300 0b000100 020c00 61 0100 0700 040100", /* {"a":[true]} */
                 "00 06 242e615b305d 02 0402  01 07 242e2261206222 02 0400",
                 "{\"a\":[false],\"a b\":null}");
    /* cannot apply: path missing -> UNSUPPORTED, so the diff itself is delivered */
    char out[256];
    cdc__err err;
    assert_int_equal(apply(OBJ_A1, "00 03 242e7a 03 050200", out, sizeof out, &err), CDC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "$.z"));
    assert_int_equal(apply(ARR_1, "02 04 245b335d", out, sizeof out, &err), CDC_ERR_UNSUPPORTED);
    assert_int_equal(apply(OBJ_A1, "00 03 242e2a 02 0401", out, sizeof out, &err), CDC_ERR_UNSUPPORTED);
    /* no before image */
    uint8_t dbuf[64];
    cdc_value diff = diff_of("02 03 242e61", dbuf, sizeof dbuf);
    cdc_value none = {.kind = CDC_K_NULL};
    cdc__buf scratch;
    cdc__buf_init(&scratch, &vt_alloc);
    cdc_value after;
    assert_int_equal(cdc__json_diff_apply(&none, &diff, &scratch, &after, &err), CDC_ERR_UNSUPPORTED);
    cdc__buf_free(&scratch);
}

static void test_diff_decode_errors(void **state)
{
    (void)state;
    cdc_column col = {.type = CDC_T_JSON, .real_type = CDC_T_JSON, .meta = 4};
    struct { const char *hex; const char *msg; } bad[] = {
        {"0300", "need 4 bytes"},
        {"05000000 0003", "5 bytes"},
        {"02000000 0503", "unknown operation 5"},
        {"05000000 0003242e61", "runs past"},     /* replace without a value */
        {"07000000 0003242e6105 0401", "runs past"}, /* value length beyond */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[64];
        size_t n = vt_unhex(bad[i].hex, b, sizeof b);
        cdc_value v;
        size_t used;
        cdc__err err;
        assert_int_equal(cdc__json_diff_decode(&col, b, n, &v, &used, &err), CDC_ERR_CORRUPT);
        if (!strstr(err.msg, bad[i].msg)) fail_msg("'%s' lacks '%s'", err.msg, bad[i].msg);
    }
}

/* json.binlog.000001 (MySQL 8.0.22, binlog_row_image=MINIMAL): the
 * PARTIAL_UPDATE_ROWS before image has only the key, so the diff is
 * delivered as is. Row 1: REPLACE $.age 26 (the table's generated age
 * column in the same row says 26). */
static void test_fixture_partial_update_unapplied(void **state)
{
    (void)state;
    size_t len, blen;
    uint8_t *f = vt_fixture("rust_mysql_common/json.binlog.000001", &len);
    const uint8_t *b = nth_event(f, len, 39, 0, &blen);
    /* table id 6, flags 2, extra 2, 4 columns, before bitmap 01, after
     * bitmap 0e, before row: NULL bitmap + INT (5 bytes), value options
     * 01, partial bits 01, after row NULL bitmap: the diff is at 21 */
    assert_true(blen > 21);
    cdc_column col = {.type = CDC_T_JSON, .real_type = CDC_T_JSON, .meta = 4};
    cdc_value v;
    size_t used;
    cdc__err err;
    assert_int_equal(cdc__json_diff_decode(&col, b + 21, blen - 21, &v, &used, &err), CDC_OK);
    assert_int_equal(used, 4 + 11);
    assert_string_equal(vt_render(&v), "{\"json_diff\":[{\"op\":\"replace\",\"path\":\"$.age\",\"value\":26}]}");
    test_free(f);
}

/* mdev35643_mysql_80_binlog.000001 (MySQL 8.0.40, FULL before image):
 * the before document is {"a":"hulu","b":"[zyzzy]" x 100,"c":"bulu"}
 * and the diff replaces $.b with "oOo" x 50: the rebuilt after image. */
static void test_fixture_partial_update_applied(void **state)
{
    (void)state;
    size_t len, blen;
    uint8_t *f = vt_fixture("mariadb-server-11.8.6/std_data/mdev35643_mysql_80_binlog.000001", &len);
    const uint8_t *b = nth_event(f, len, 39, 0, &blen);
    /* table id 6, flags 2, extra 2, 2 columns, bitmaps ff ff; before row:
     * NULL bitmap, INT, then the JSON value at 18 */
    cdc_column col = {.type = CDC_T_JSON, .real_type = CDC_T_JSON, .meta = 4};
    cdc_value before, diff, after;
    size_t used, off = 18;
    cdc__err err;
    assert_int_equal(cdc__value_decode(&col, b + off, blen - off, &before, &used, &err), CDC_OK);
    off += used;
    /* value options 01, partial bits 01, after NULL bitmap, INT */
    off += 1 + 1 + 1 + 4;
    assert_int_equal(cdc__json_diff_decode(&col, b + off, blen - off, &diff, &used, &err), CDC_OK);
    assert_int_equal(off + used, blen);
    cdc__buf scratch;
    cdc__buf_init(&scratch, &vt_alloc);
    assert_int_equal(cdc__json_diff_apply(&before, &diff, &scratch, &after, &err), CDC_OK);
    char want[1024] = "{\"a\":\"hulu\",\"b\":\"";
    for (int i = 0; i < 50; i++) strcat(want, "oOo");
    strcat(want, "\",\"c\":\"bulu\"}");
    assert_string_equal(vt_render(&after), want);
    /* and the before image itself */
    char bwant[1024] = "{\"a\":\"hulu\",\"b\":\"";
    for (int i = 0; i < 100; i++) strcat(bwant, "[zyzzy]");
    strcat(bwant, "\",\"c\":\"bulu\"}");
    assert_string_equal(vt_render(&before), bwant);
    cdc__buf_free(&scratch);
    test_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_long_string_varlen),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_opaque),
        cmocka_unit_test(test_fixture_opaque_scalars),
        cmocka_unit_test(test_hostile_documents),
        cmocka_unit_test(test_json_text),
        cmocka_unit_test(test_diff_apply),
        cmocka_unit_test(test_diff_decode_errors),
        cmocka_unit_test(test_fixture_partial_update_unapplied),
        cmocka_unit_test(test_fixture_partial_update_applied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
