/* MariaDB's JSON columns as documents (issue 13.4), against MariaDB 10.11
 * from testenv.sh. MariaDB declares JSON as LONGTEXT with a
 * CHECK (json_valid(col)); the binlog says only LONGTEXT. Binlog rows
 * and snapshot rows must both give such a column as a document: kind
 * CDC_KIND_JSON, rendered exactly as the server's own JSON_COMPACT() of
 * the value, a JSON null document apart from SQL NULL, while a plain
 * LONGTEXT holding JSON-looking text stays a string. The stream reads
 * which columns are JSON from information_schema and reads it again
 * after DDL on the table (ALTER ... MODIFY to JSON and back). Text that
 * is not JSON (only with check_constraint_checks=0) renders as a JSON
 * string, never as broken JSON.
 *
 * Other tests may write to the server at the same time: this one works
 * in its own database and filters on its tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <cdc/cdc.h>

#include "testsupport.h"

#define DB "mjson_itest"
#define MAXROWS 64

/* One value as the typed API gives it. */
typedef struct val {
    int kind;  /* -1: the column is absent from the image */
    char *text; /* cdc_value_render */
} val;

typedef struct row {
    char op;
    int64_t id;
    val v[4]; /* j, lt, h, x */
} row;

typedef struct rec {
    row rows[MAXROWS];
    int n, commits, stop_commits;
} rec;

static const char *const COLS[4] = {"j", "lt", "h", "x"};

static void rec_free(rec *r)
{
    for (int i = 0; i < r->n; i++)
        for (int k = 0; k < 4; k++) free(r->rows[i].v[k].text);
    memset(r, 0, sizeof *r);
}

static void take(val *out, const cdc_value *v)
{
    out->kind = v ? (int)cdc_value_kind(v) : -1;
    out->text = NULL;
    if (!v) return;
    size_t need = 0;
    assert_int_equal(cdc_value_render(v, NULL, 0, &need), CDC_ERR_TOO_LARGE);
    out->text = malloc(need);
    assert_non_null(out->text);
    assert_int_equal(cdc_value_render(v, out->text, need, NULL), CDC_OK);
}

static int on_change(const cdc_change *c, void *ud)
{
    rec *r = ud;
    const cdc_table *t = cdc_change_table(c);
    assert_true(r->n < MAXROWS);
    row *w = &r->rows[r->n++];
    w->op = cdc_change_op(c);
    bool before = w->op == 'd';
    for (int k = 0; k < 4; k++) w->v[k].kind = -1;
    for (size_t i = 0; i < cdc_table_column_count(t); i++) {
        const char *name = cdc_table_column_name(t, i);
        const cdc_value *v = before ? cdc_change_before(c, i) : cdc_change_after(c, i);
        assert_non_null(name);
        if (!strcmp(name, "id")) {
            assert_int_equal(cdc_value_int64(v, &w->id), CDC_OK);
            continue;
        }
        for (int k = 0; k < 4; k++)
            if (!strcmp(name, COLS[k])) take(&w->v[k], v);
    }
    return 0;
}

static int on_commit(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    rec *r = ud;
    (void)gtid, (void)sid, (void)ts, (void)pos;
    r->commits++;
    return r->stop_commits && r->commits >= r->stop_commits ? CDC_ERR_PAUSED : 0;
}

static cdc_stream *make_stream(rec *r, const char *mode, const char *start, bool stop_now, unsigned sid)
{
    cdc_config *c = ts_config(TS_MARIADB, "cdc_repl");
    char s[16];
    snprintf(s, sizeof s, "%u", sid);
    ts_config_set(c, "server.id", s);
    ts_config_set(c, "snapshot.mode", mode);
    ts_config_set(c, "heartbeat.interval.ms", "500");
    ts_config_set(c, "table.include.list", DB ".docs");
    if (start) ts_config_set(c, "start", start);
    if (stop_now) ts_config_set(c, "stop.at", "now");
    cdc_stream *st;
    char err[512];
    if (cdc_stream_new(&st, c, NULL, err, sizeof err)) fail_msg("cdc_stream_new: %s", err);
    cdc_config_free(c);
    cdc_stream_set_change_cb(st, on_change, r);
    cdc_stream_set_snapshot_cb(st, on_change, r);
    cdc_stream_set_commit_cb(st, on_commit, r);
    return st;
}

static void expect_start(cdc_stream *s, int want)
{
    int rc = cdc_stream_start(s);
    if (rc != want)
        fail_msg("cdc_stream_start: %s (%s), expected %s", cdc_err_name(rc), cdc_stream_errmsg(s), cdc_err_name(want));
}

/* The server's view of row id: per column NULL (SQL NULL) or, for JSON
 * columns (want_json[k]), JSON_COMPACT() of the value, else the text. */
typedef struct srow {
    int64_t id;
    char *v[4];
} srow;

static int server_rows(cdc__conn *root, srow *out, const bool want_json[4])
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT id, %s, %s, %s, %s FROM " DB ".docs ORDER BY id",
             want_json[0] ? "JSON_COMPACT(j)" : "j", want_json[1] ? "JSON_COMPACT(lt)" : "lt",
             want_json[2] ? "JSON_COMPACT(h)" : "h", want_json[3] ? "JSON_COMPACT(x)" : "x");
    cdc__result *r = ts_query(root, sql);
    int n = (int)cdc__result_rows(r);
    assert_true(n <= MAXROWS);
    for (int i = 0; i < n; i++) {
        out[i].id = strtoll(cdc__result_get(r, (size_t)i, 0), NULL, 10);
        for (int k = 0; k < 4; k++) {
            const char *v = cdc__result_get(r, (size_t)i, (size_t)k + 1);
            out[i].v[k] = v ? strdup(v) : NULL;
        }
    }
    cdc__result_free(r);
    return n;
}

static void srows_free(srow *s, int n)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 4; k++) free(s[i].v[k]);
}

static const srow *srow_of(const srow *s, int n, int64_t id)
{
    for (int i = 0; i < n; i++)
        if (s[i].id == id) return &s[i];
    fail_msg("row id %lld not on the server", (long long)id);
    return NULL;
}

/* The plain text t as a JSON string (the tests' texts need escaping of
 * '"' and '\' only). */
static char *json_string(const char *t)
{
    char *o = malloc(2 * strlen(t) + 3), *p = o;
    *p++ = '"';
    for (; *t; t++) {
        if (*t == '"' || *t == '\\') *p++ = '\\';
        *p++ = *t;
    }
    *p++ = '"';
    *p = 0;
    return o;
}

/* A change's value against the server's: SQL NULL is kind NULL; a JSON
 * column's value is a document rendered as JSON_COMPACT; another column's
 * is a string holding the text. */
static void check_value(const row *g, int k, const char *server, bool json, const char *what)
{
    const val *v = &g->v[k];
    if (!server) {
        if (v->kind != CDC_KIND_NULL)
            fail_msg("%s id %lld %s: kind %s, the server holds SQL NULL", what, (long long)g->id, COLS[k],
                     cdc_kind_name(v->kind));
        return;
    }
    int want_kind = json ? CDC_KIND_JSON : CDC_KIND_STRING;
    if (v->kind != want_kind)
        fail_msg("%s id %lld %s: kind %s, want %s (%s)", what, (long long)g->id, COLS[k], cdc_kind_name(v->kind),
                 cdc_kind_name(want_kind), v->text ? v->text : "");
    char *want = json ? strdup(server) : json_string(server);
    if (strcmp(v->text, want))
        fail_msg("%s id %lld %s: rendered %s, the server says %s", what, (long long)g->id, COLS[k], v->text, want);
    free(want);
}

static void check_rows(const rec *r, char op, const srow *s, int ns, const bool json[4], const char *what,
                       int want_n)
{
    int seen = 0;
    for (int i = 0; i < r->n; i++) {
        const row *g = &r->rows[i];
        if (g->op != op) continue;
        seen++;
        const srow *w = srow_of(s, ns, g->id);
        for (int k = 0; k < 4; k++) check_value(g, k, w->v[k], json[k], what);
    }
    if (seen != want_n) fail_msg("%s: %d changes of op %c, want %d", what, seen, op, want_n);
}

static const char *const ROWS_SQL =
    "INSERT INTO " DB ".docs (id, j, lt, h, x) VALUES"
    /* nested, every number form, 4-byte and escaped characters */
    " (1, '{\"a\": {\"b\": [1, 2.50, -0.0, 1E3, 18446744073709551616, true, false, null]},"
    "  \"s\": \"\\\\u00e9 \xf0\x9f\x98\x80 \\\\\" x\", \"e\": {}, \"l\": [], \"\xf0\x9f\x9a\x80\": 1}',"
    "  '[1, 2]', '{\"h\": \"\xf0\x9f\x98\x80\"}', '[\"x\"]'),"
    /* the JSON null document, next to SQL NULL */
    " (2, 'null', 'null', 'null', 'null'),"
    " (3, NULL, NULL, NULL, NULL),"
    " (4, '\"just a string\"', '\"q\"', '-12.5e-3', '7'),"
    " (5, '[[[[{\"deep\": [1, {\"er\": [[]]}]}]]]]', 'plain', '{ }', '{}'),"
    " (6, ' 42 ', '  ', 'true', 'false')";

/* j: JSON; lt: LONGTEXT; h: LONGTEXT with a CHECK written by hand that is
 * the one JSON writes (indistinguishable, so a document too); x: VARCHAR
 * with the same CHECK (not LONGTEXT: stays text) */
static const bool JSON_COLS[4] = {true, false, true, false};

static void setup(cdc__conn *root)
{
    ts_exec(root, "SET NAMES utf8mb4");
    ts_exec(root, "CREATE DATABASE IF NOT EXISTS " DB);
    ts_exec(root, "DROP TABLE IF EXISTS " DB ".docs");
    ts_exec(root, "CREATE TABLE " DB ".docs (id INT PRIMARY KEY, j JSON, lt LONGTEXT CHARACTER SET utf8mb4,"
                  " h LONGTEXT CHARACTER SET utf8mb4 CHECK (json_valid(h)),"
                  " x VARCHAR(200) CHARACTER SET utf8mb4 CHECK (json_valid(x))) DEFAULT CHARSET latin1");
}

/* Inserts, an update and a delete from the binlog, then a snapshot: the
 * same values both ways, each equal to the server's. */
static void test_stream_and_snapshot(void **state)
{
    (void)state;
    cdc__conn *root = ts_connect(TS_MARIADB, NULL);
    setup(root);
    char *from = ts_binlog_now(root, TS_MARIADB, true);
    ts_exec(root, "%s", ROWS_SQL);
    srow s1[MAXROWS], s2[MAXROWS];
    int n1 = server_rows(root, s1, JSON_COLS);
    assert_int_equal(n1, 6);
    /* the server's own JSON_COMPACT and what the test wrote agree */
    assert_string_equal(srow_of(s1, n1, 2)->v[0], "null");
    ts_exec(root, "UPDATE " DB ".docs SET j = JSON_SET(j, '$.a.n', 7, '$.t', 'x\xf0\x9f\x98\x80') WHERE id = 1");
    ts_exec(root, "DELETE FROM " DB ".docs WHERE id = 4");
    int n2 = server_rows(root, s2, JSON_COLS);

    rec r = {0};
    cdc_stream *st = make_stream(&r, "never", from, true, 4791);
    expect_start(st, CDC_OK);
    cdc_stream_free(st);
    check_rows(&r, 'c', s1, n1, JSON_COLS, "binlog insert", 6);
    check_rows(&r, 'u', s2, n2, JSON_COLS, "binlog update", 1);
    check_rows(&r, 'd', s1, n1, JSON_COLS, "binlog delete", 1);
    /* the null document is a document; SQL NULL is no value */
    for (int i = 0; i < r.n; i++) {
        if (r.rows[i].op != 'c' || r.rows[i].id > 3 || r.rows[i].id < 2) continue;
        assert_int_equal(r.rows[i].v[0].kind, r.rows[i].id == 2 ? CDC_KIND_JSON : CDC_KIND_NULL);
        assert_string_equal(r.rows[i].v[0].text, "null");
    }
    rec_free(&r);

    st = make_stream(&r, "initial_only", NULL, false, 4792);
    expect_start(st, CDC_OK);
    cdc_stream_free(st);
    check_rows(&r, 'r', s2, n2, JSON_COLS, "snapshot", n2);
    rec_free(&r);

    srows_free(s1, n1);
    srows_free(s2, n2);
    free(from);
    cdc__conn_free(root);
}

/* A stream that knows the table keeps up with DDL: ALTER TABLE ... MODIFY
 * lt JSON turns its values into documents from the next row event on, and
 * MODIFY back to LONGTEXT into text again. */
static void test_ddl_rereads(void **state)
{
    (void)state;
    cdc__conn *root = ts_connect(TS_MARIADB, NULL);
    setup(root);
    char *from = ts_binlog_now(root, TS_MARIADB, true);
    ts_exec(root, "INSERT INTO " DB ".docs (id, lt) VALUES (1, '{\"a\": [1]}')");
    rec r = {0};
    r.stop_commits = 1;
    cdc_stream *st = make_stream(&r, "never", from, false, 4793);
    expect_start(st, CDC_ERR_PAUSED);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.rows[0].v[1].kind, CDC_KIND_STRING);
    assert_string_equal(r.rows[0].v[1].text, "\"{\\\"a\\\": [1]}\"");

    /* the cache holds what information_schema says when asked, so each
     * change is read before the next DDL lands */
    ts_exec(root, "ALTER TABLE " DB ".docs MODIFY lt JSON");
    ts_exec(root, "INSERT INTO " DB ".docs (id, lt) VALUES (2, '{\"b\": [2, {\"c\": null}]}')");
    r.stop_commits = 2;
    expect_start(st, CDC_ERR_PAUSED);
    assert_int_equal(r.n, 2);
    ts_exec(root, "ALTER TABLE " DB ".docs MODIFY lt LONGTEXT CHARACTER SET utf8mb4");
    ts_exec(root, "INSERT INTO " DB ".docs (id, lt) VALUES (3, '[3]')");
    r.stop_commits = 3;
    expect_start(st, CDC_ERR_PAUSED);
    cdc_stream_free(st);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.rows[1].id, 2);
    assert_int_equal(r.rows[1].v[1].kind, CDC_KIND_JSON);
    char *want = ts_query_str(root, "SELECT JSON_COMPACT(lt) FROM " DB ".docs WHERE id = 2");
    assert_string_equal(r.rows[1].v[1].text, want);
    free(want);
    assert_int_equal(r.rows[2].id, 3);
    assert_int_equal(r.rows[2].v[1].kind, CDC_KIND_STRING);
    assert_string_equal(r.rows[2].v[1].text, "\"[3]\"");
    rec_free(&r);
    free(from);
    cdc__conn_free(root);
}

/* Text that is not JSON in a JSON column (the CHECK skipped with
 * check_constraint_checks=0) renders as a JSON string of the text, from
 * the binlog and from the snapshot: the line stays valid JSON. */
static void test_invalid_json_text(void **state)
{
    (void)state;
    cdc__conn *root = ts_connect(TS_MARIADB, NULL);
    setup(root);
    char *from = ts_binlog_now(root, TS_MARIADB, true);
    ts_exec(root, "SET SESSION check_constraint_checks = 0");
    ts_exec(root, "INSERT INTO " DB ".docs (id, j) VALUES (1, 'not \"json'), (2, '{\"a\": 1')");
    ts_exec(root, "SET SESSION check_constraint_checks = 1");
    char *valid = ts_query_str(root, "SELECT SUM(JSON_VALID(j)) FROM " DB ".docs");
    assert_string_equal(valid, "0");
    free(valid);
    static const char *const want[] = {"\"not \\\"json\"", "\"{\\\"a\\\": 1\""};
    for (int snap = 0; snap < 2; snap++) {
        rec r = {0};
        cdc_stream *st = make_stream(&r, snap ? "initial_only" : "never", snap ? NULL : from, !snap, 4794);
        expect_start(st, CDC_OK);
        cdc_stream_free(st);
        assert_int_equal(r.n, 2);
        for (int i = 0; i < 2; i++) {
            assert_int_equal(r.rows[i].v[0].kind, CDC_KIND_JSON);
            assert_string_equal(r.rows[i].v[0].text, want[r.rows[i].id - 1]);
        }
        rec_free(&r);
    }
    free(from);
    ts_exec(root, "DROP DATABASE " DB);
    cdc__conn_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_and_snapshot),
        cmocka_unit_test(test_ddl_rereads),
        cmocka_unit_test(test_invalid_json_text),
    };
    return cmocka_run_group_tests_name("itest_mjson", tests, NULL, NULL);
}
