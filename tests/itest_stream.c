/* Integration tests of the change stream (stream.c and the modules under
 * it) against MariaDB 10.11 and MySQL 9.7 from testenv.sh: row changes
 * with before/after images, GTIDs and positions; resume from a commit
 * checkpoint; pause and resume; stop from another thread; filters by
 * table, column, originating server_id and operation; a killed dump
 * thread; a start position the server does not have; a missing
 * privilege; a missing server.id; column names from information_schema
 * under binlog_row_metadata=MINIMAL; DDL in the middle of the stream.
 *
 * Other tests may write to the same servers at the same time, so every
 * test works in its own tables and filters on them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cdc/cdc.h>

#include "gtid.h"
#include "replica.h"
#include "testsupport.h"

#define DB "h6_itest"

typedef struct rec {
    cdc__buf log;          /* one line per callback */
    int changes, commits;
    char first_ck[1024];  /* checkpoint of the first commit */
    int pause_change;     /* return PAUSED from this change (1-based), 0 never */
    int pause_commit;     /* return PAUSED from this commit, 0 never */
    int kill_commit;      /* KILL the dump thread at this commit */
    int stop_commits;     /* return PAUSED once this many commits arrived */
    ts_server srv;
    cdc__conn *root;       /* for SQL from inside callbacks */
    const char *after_kill_sql;
} rec;

static void rec_init(rec *r, ts_server s)
{
    memset(r, 0, sizeof *r);
    cdc__buf_init(&r->log, NULL);
    r->srv = s;
}

static void rec_free(rec *r)
{
    cdc__buf_free(&r->log);
    if (r->root) cdc__conn_free(r->root);
}

static const char *rec_text(rec *r)
{
    assert_int_equal(cdc__buf_terminate(&r->log), CDC_OK);
    return (const char *)r->log.data;
}

static void put_value(rec *r, const char *name, const cdc_value *v)
{
    char buf[256];
    if (!v) return;
    size_t need = 0;
    assert_int_equal(cdc_value_render(v, buf, sizeof buf, &need), CDC_OK);
    cdc__buf_printf(&r->log, " %s=%s", name, buf);
}

static int on_change(const cdc_change *c, void *ud)
{
    rec *r = ud;
    const cdc_table *t = cdc_change_table(c);
    r->changes++;
    /* every change carries its position and its transaction's GTID */
    assert_true(*cdc_change_file(c) != 0);
    assert_true(cdc_change_offset(c) >= 4);
    assert_true(*cdc_change_gtid(c) != 0);
    cdc__buf_printf(&r->log, "%c %s.%s", cdc_change_op(c), cdc_table_db(t), cdc_table_name(t));
    for (int img = 0; img < 2; img++) {
        cdc__buf_puts(&r->log, img ? " |" : "");
        for (size_t i = 0; i < cdc_table_column_count(t); i++) {
            const char *name = cdc_table_column_name(t, i);
            assert_non_null(name); /* from TABLE_MAP, or information_schema under MINIMAL */
            put_value(r, name, img ? cdc_change_after(c, i) : cdc_change_before(c, i));
        }
    }
    cdc__buf_putc(&r->log, '\n');
    return r->pause_change == r->changes ? CDC_ERR_PAUSED : 0;
}

static int on_begin(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    rec *r = ud;
    (void)pos;
    assert_true(ts > 0);
    cdc__buf_printf(&r->log, "begin sid=%u%s\n", sid, *gtid ? " gtid" : "");
    return 0;
}

/* Whether GTID set text `set` contains the GTID `gtid`. */
static bool set_has(const char *set, const char *gtid)
{
    cdc__gtid_set a, b;
    cdc__gtid_set_init(&a, NULL);
    cdc__gtid_set_init(&b, NULL);
    cdc__err e = {0};
    assert_int_equal(cdc__gtid_set_parse(&a, set, strlen(set), &e), CDC_OK);
    assert_int_equal(cdc__gtid_set_parse(&b, gtid, strlen(gtid), &e), CDC_OK);
    cdc__gtid g = {0};
    if (b.n_sids) {
        g.kind = CDC__GTID_MYSQL;
        memcpy(g.uuid, b.sids[0].uuid, 16);
        strcpy(g.tag, b.sids[0].tag);
        g.gno = b.sids[0].iv[0].start;
    } else {
        assert_int_equal(b.n_maria, 1);
        g = b.maria[0];
    }
    bool in = cdc__gtid_set_contains(&a, &g);
    cdc__gtid_set_free(&a);
    cdc__gtid_set_free(&b);
    return in;
}

static char *dump_thread_sql(ts_server s)
{
    (void)s;
    return "SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%' AND USER = 'cdc_repl' "
           "ORDER BY ID DESC LIMIT 1";
}

static int on_commit(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    rec *r = ud;
    (void)ts;
    (void)sid;
    r->commits++;
    char ck[1024];
    assert_int_equal(cdc_position_format(pos, ck, sizeof ck, NULL), CDC_OK);
    if (r->commits == 1) snprintf(r->first_ck, sizeof r->first_ck, "%s", ck);
    /* a commit position with a GTID set holds this transaction */
    if (*cdc_position_gtid_set(pos)) assert_true(set_has(cdc_position_gtid_set(pos), gtid));
    cdc__buf_printf(&r->log, "commit\n");
    if (r->kill_commit == r->commits) {
        char *id = ts_query_str(r->root, dump_thread_sql(r->srv));
        ts_exec(r->root, "KILL %s", id);
        free(id);
        if (r->after_kill_sql) ts_exec(r->root, "%s", r->after_kill_sql);
    }
    if (r->pause_commit == r->commits) return CDC_ERR_PAUSED;
    if (r->stop_commits && r->commits >= r->stop_commits) return CDC_ERR_PAUSED;
    return 0;
}

static int on_ddl(const cdc_query *q, const cdc_position *pos, void *ud)
{
    rec *r = ud;
    cdc_bytes sql = cdc_query_sql(q);
    assert_true(cdc_position_offset(pos) > 4);
    cdc__buf_printf(&r->log, "ddl %.*s\n", (int)sql.len, (const char *)sql.ptr);
    return 0;
}

/* A stream config for the replication account on server s. */
static cdc_config *stream_cfg(ts_server s, const char *user, unsigned server_id)
{
    cdc_config *c = ts_config(s, user ? user : "cdc_repl");
    char sid[16];
    snprintf(sid, sizeof sid, "%u", server_id);
    ts_config_set(c, "server.id", sid);
    ts_config_set(c, "snapshot.mode", "never");
    ts_config_set(c, "heartbeat.interval.ms", "500");
    ts_config_set(c, "reconnect.backoff.initial.ms", "50");
    return c;
}

static cdc_stream *make_stream(cdc_config *c, rec *r)
{
    cdc_stream *s;
    char err[512];
    if (cdc_stream_new(&s, c, NULL, err, sizeof err)) fail_msg("cdc_stream_new: %s", err);
    cdc_stream_set_change_cb(s, on_change, r);
    cdc_stream_set_begin_cb(s, on_begin, r);
    cdc_stream_set_commit_cb(s, on_commit, r);
    cdc_stream_set_ddl_cb(s, on_ddl, r);
    return s;
}

static void expect_start(cdc_stream *s, int want)
{
    int rc = cdc_stream_start(s);
    if (rc != want)
        fail_msg("cdc_stream_start: %s (%s), expected %s", cdc_err_name(rc), cdc_stream_errmsg(s), cdc_err_name(want));
}

static cdc__conn *setup(ts_server s, const char *ddl)
{
    cdc__conn *root = ts_connect(s, NULL);
    ts_exec(root, "CREATE DATABASE IF NOT EXISTS " DB);
    ts_exec(root, "%s", ddl);
    return root;
}

/* Insert, update, delete: images, GTIDs, transaction boundaries; then
 * a second stream from the first commit's checkpoint sees exactly the
 * transactions after it. */
static void test_changes_and_resume(void **state)
{
    (void)state;
    for (int sv = 0; sv < 2; sv++) {
        ts_server s = (ts_server)sv;
        cdc__conn *root = setup(s, "DROP TABLE IF EXISTS " DB ".basic");
        ts_exec(root, "CREATE TABLE " DB ".basic (id INT PRIMARY KEY, v VARCHAR(20), d DECIMAL(6,2))");
        /* start by GTID, so positions carry the executed set */
        char *gset = ts_query_str(root, s == TS_MYSQL ? "SELECT @@gtid_executed" : "SELECT @@gtid_binlog_pos");
        char *from = malloc(strlen(gset) + 6);
        sprintf(from, "gtid:%s", gset);
        free(gset);
        ts_exec(root, "INSERT INTO " DB ".basic VALUES (1, 'one', 1.50), (2, 'two', NULL)");
        ts_exec(root, "UPDATE " DB ".basic SET v = 'uno', d = d * 2 WHERE id = 1");
        ts_exec(root, "DELETE FROM " DB ".basic WHERE id = 2");
        cdc_config *c = stream_cfg(s, NULL, 4701);
        ts_config_set(c, "start", from);
        ts_config_set(c, "stop.at", "now");
        ts_config_set(c, "table.include.list", DB ".basic");
        rec r;
        rec_init(&r, s);
        cdc_stream *st = make_stream(c, &r);
        expect_start(st, CDC_OK);
        char sid[64];
        snprintf(sid, sizeof sid, "begin sid=%u gtid\n", s == TS_MARIADB ? 1 : 2);
        char want[2048];
        snprintf(want, sizeof want,
                 "%sc " DB ".basic | id=1 v=\"one\" d=\"1.50\"\nc " DB ".basic | id=2 v=\"two\" d=null\ncommit\n"
                 "%su " DB ".basic id=1 v=\"one\" d=\"1.50\" | id=1 v=\"uno\" d=\"3.00\"\ncommit\n"
                 "%sd " DB ".basic id=2 v=\"two\" d=null |\ncommit\n",
                 sid, sid, sid);
        assert_string_equal(rec_text(&r), want);
        assert_int_equal(cdc_stream_metric(st, CDC_METRIC_ROWS), 4);
        assert_int_equal(cdc_stream_metric(st, CDC_METRIC_TRANSACTIONS), 3);
        assert_true(cdc_stream_metric(st, CDC_METRIC_EVENTS) >= 9);
        assert_true(cdc_stream_metric(st, CDC_METRIC_BYTES) > 0);
        /* lag: now minus the commit time of what was just written */
        assert_true(cdc_stream_metric(st, CDC_METRIC_LAG_MS) < 60000);
        /* the final checkpoint is where the server is now, or before it
         * if others wrote since: it parses and names a file */
        char ck[1024];
        assert_int_equal(cdc_stream_checkpoint(st, ck, sizeof ck, NULL), CDC_OK);
        cdc_position *p;
        char err[256];
        assert_int_equal(cdc_position_parse(&p, ck, NULL, err, sizeof err), CDC_OK);
        assert_true(*cdc_position_file(p));
        assert_true(*cdc_position_gtid_set(p));
        assert_true(cdc_stream_metric(st, CDC_METRIC_OFFSET) == cdc_position_offset(p));
        assert_non_null(strstr(r.first_ck, ";gtid="));
        cdc_position_free(p);
        cdc_stream_free(st);

        /* resume from the first commit: the update and the delete, once */
        rec r2;
        rec_init(&r2, s);
        ts_config_set(c, "start", r.first_ck);
        st = make_stream(c, &r2);
        expect_start(st, CDC_OK);
        const char *second = strstr(want, "commit\n") + 7;
        assert_string_equal(rec_text(&r2), second);
        cdc_stream_free(st);
        cdc_config_free(c);
        rec_free(&r);
        rec_free(&r2);
        free(from);
        cdc__conn_free(root);
    }
}

/* "begin sid=N gtid\n" for server s's own transactions. */
static const char *begin_line(ts_server s)
{
    return s == TS_MARIADB ? "begin sid=1 gtid\n" : "begin sid=2 gtid\n";
}

static void expect_log(rec *r, const char *fmt, ts_server s)
{
    /* fmt uses %1$s for each begin line */
    char want[4096];
    snprintf(want, sizeof want, fmt, begin_line(s));
    assert_string_equal(rec_text(r), want);
}

/* A callback pauses; the next start goes on with the very next callback,
 * both inside a rows event (the stream re-reads and skips) and at a
 * commit (the stream keeps its place). */
static void test_pause_resume(void **state)
{
    (void)state;
    for (int sv = 0; sv < 2; sv++) {
        ts_server s = (ts_server)sv;
        cdc__conn *root = setup(s, "DROP TABLE IF EXISTS " DB ".pause");
        ts_exec(root, "CREATE TABLE " DB ".pause (id INT PRIMARY KEY)");
        char *from = ts_binlog_now(root, s, true);
        ts_exec(root, "INSERT INTO " DB ".pause VALUES (1), (2), (3)");
        ts_exec(root, "INSERT INTO " DB ".pause VALUES (4)");
        ts_exec(root, "INSERT INTO " DB ".pause VALUES (5)");
        cdc_config *c = stream_cfg(s, NULL, 4702);
        ts_config_set(c, "start", from);
        ts_config_set(c, "stop.at", "now");
        ts_config_set(c, "table.include.list", DB ".pause");
        rec r;
        rec_init(&r, s);
        r.pause_change = 2;   /* inside the three-row event */
        r.pause_commit = 2;   /* at the second commit */
        cdc_stream *st = make_stream(c, &r);
        expect_start(st, CDC_ERR_PAUSED);
        expect_log(&r, "%1$sc " DB ".pause | id=1\nc " DB ".pause | id=2\n", s);
        expect_start(st, CDC_ERR_PAUSED);
        expect_log(&r, "%1$sc " DB ".pause | id=1\nc " DB ".pause | id=2\nc " DB ".pause | id=3\ncommit\n"
                       "%1$sc " DB ".pause | id=4\ncommit\n", s);
        expect_start(st, CDC_OK);
        expect_log(&r, "%1$sc " DB ".pause | id=1\nc " DB ".pause | id=2\nc " DB ".pause | id=3\ncommit\n"
                       "%1$sc " DB ".pause | id=4\ncommit\n%1$sc " DB ".pause | id=5\ncommit\n", s);
        assert_int_equal(cdc_stream_metric(st, CDC_METRIC_ROWS), 5);
        /* pausing re-reads internally, but that is no reconnect; the pause
         * inside the three-row event is the one re-read */
        assert_int_equal(cdc_stream_metric(st, CDC_METRIC_RECONNECTS), 0);
        assert_int_equal(cdc_stream_metric(st, CDC_METRIC_REREADS), 1);
        cdc_stream_free(st);
        cdc_config_free(c);
        rec_free(&r);
        free(from);
        cdc__conn_free(root);
    }
}

/* A batch of limit 1 over a transaction of many rows events: each batch
 * ends at the end of a rows event, so the stream never re-reads the
 * transaction (it used to once per batch: quadratic), and every row
 * arrives exactly once. */
static void test_batch_pauses_at_event_ends(void **state)
{
    (void)state;
    enum { N = 2000 };
    for (int sv = 0; sv < 2; sv++) {
        ts_server s = (ts_server)sv;
        cdc__conn *root = setup(s, "DROP TABLE IF EXISTS " DB ".batchev");
        ts_exec(root, "CREATE TABLE " DB ".batchev (id INT PRIMARY KEY, pad VARCHAR(200))");
        char *from = ts_binlog_now(root, s, true);
        cdc__buf sql;
        cdc__buf_init(&sql, NULL);
        cdc__buf_puts(&sql, "INSERT INTO " DB ".batchev VALUES ");
        for (int i = 1; i <= N; i++) cdc__buf_printf(&sql, "%s(%d, REPEAT('x', 190))", i > 1 ? "," : "", i);
        assert_int_equal(cdc__buf_terminate(&sql), CDC_OK);
        cdc__err e = {0}; /* (ts_exec's 4 KiB buffer is too small for this one) */
        if (cdc__conn_exec(root, (const char *)sql.data, &e)) fail_msg("INSERT %d rows: %s", N, e.msg);
        /* one transaction of ~50 rows events */
        cdc__buf_free(&sql);
        cdc_config *c = stream_cfg(s, NULL, 4712);
        ts_config_set(c, "start", from);
        ts_config_set(c, "stop.at", "now");
        ts_config_set(c, "table.include.list", DB ".batchev");
        cdc_stream *st;
        char err[512];
        if (cdc_stream_new(&st, c, NULL, err, sizeof err)) fail_msg("cdc_stream_new: %s", err);
        cdc_batch *b;
        assert_int_equal(cdc_batch_new(&b, 1, NULL), CDC_OK);
        assert_int_equal(cdc_batch_attach_stream(b, st), CDC_OK);
        static unsigned char seen[N + 1];
        memset(seen, 0, sizeof seen);
        int rc, batches = 0, rows = 0;
        const char *data;
        size_t len;
        while ((rc = cdc_batch_next(b, &data, &len)) == CDC_OK && len > 0) {
            batches++;
            for (const char *p = data, *end = data + len; p < end;) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                assert_non_null(nl);
                static const char key[] = "\"after\":{\"id\":";
                const char *a = memmem(p, (size_t)(nl - p), key, sizeof key - 1); /* lines are not NUL-terminated */
                if (a) {
                    int id = atoi(a + sizeof key - 1); /* digits end at ',' */
                    assert_true(id >= 1 && id <= N);
                    if (seen[id]++) fail_msg("row %d delivered twice", id);
                    rows++;
                }
                p = nl + 1;
            }
        }
        if (rc != CDC_OK) fail_msg("cdc_batch_next: %s (%s)", cdc_err_name(rc), cdc_batch_errmsg(b));
        assert_int_equal(rows, N);
        /* many batches (one per rows event and the commit), none re-read */
        assert_true(batches > 10);
        assert_int_equal(cdc_stream_metric(st, CDC_METRIC_REREADS), 0);
        assert_int_equal(cdc_stream_metric(st, CDC_METRIC_ROWS), N);
        cdc_batch_free(b);
        cdc_stream_free(st);
        cdc_config_free(c);
        free(from);
        cdc__conn_free(root);
    }
}

typedef struct stopper {
    cdc_stream *s;
    int ms;
} stopper;

static void *stop_later(void *arg)
{
    stopper *x = arg;
    struct timespec ts = {x->ms / 1000, (x->ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    cdc_stream_stop(x->s);
    return NULL;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* cdc_stream_stop() from another thread ends a stream blocked in a read
 * at once (not at the next heartbeat); called before start, start
 * returns at once; the stream can start again afterwards. */
static void test_stop_from_thread(void **state)
{
    (void)state;
    for (int sv = 0; sv < 2; sv++) {
        ts_server s = (ts_server)sv;
        cdc_config *c = stream_cfg(s, NULL, 4703);
        ts_config_set(c, "start", "now");
        ts_config_set(c, "table.include.list", DB ".nothing");
        ts_config_set(c, "heartbeat.interval.ms", "30000");
        rec r;
        rec_init(&r, s);
        cdc_stream *st = make_stream(c, &r);
        cdc_stream_stop(st);
        expect_start(st, CDC_ERR_STOPPED);
        stopper x = {st, 700};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, stop_later, &x), 0);
        int64_t t0 = now_ms();
        expect_start(st, CDC_ERR_STOPPED);
        int64_t took = now_ms() - t0;
        pthread_join(th, NULL);
        assert_true(took >= 600 && took < 5000);
        char ck[1024];
        assert_int_equal(cdc_stream_checkpoint(st, ck, sizeof ck, NULL), CDC_OK);
        assert_int_equal(strncmp(ck, "cdc1:file=", 10), 0);
        cdc_stream_free(st);
        cdc_config_free(c);
        rec_free(&r);
    }
}

/* Filters: tables (include), a column (exclude), an originating
 * server_id (exclude; written with SET SESSION server_id) and an
 * operation (skip deletes). */
static void test_filters(void **state)
{
    (void)state;
    for (int sv = 0; sv < 2; sv++) {
        ts_server s = (ts_server)sv;
        cdc__conn *root = setup(s, "DROP TABLE IF EXISTS " DB ".f1, " DB ".f2");
        ts_exec(root, "CREATE TABLE " DB ".f1 (id INT PRIMARY KEY, secret VARCHAR(10), v INT)");
        ts_exec(root, "CREATE TABLE " DB ".f2 (id INT PRIMARY KEY)");
        char *from = ts_binlog_now(root, s, true);
        ts_exec(root, "INSERT INTO " DB ".f1 VALUES (1, 'pw', 10)");
        ts_exec(root, "INSERT INTO " DB ".f2 VALUES (1)");
        /* MariaDB lets a session write as another server_id; MySQL has
         * server_id global only, so there the row comes from us */
        if (s == TS_MARIADB) ts_exec(root, "SET SESSION server_id = 777");
        ts_exec(root, "INSERT INTO " DB ".f1 VALUES (2, 'pw', 20)");
        if (s == TS_MARIADB) ts_exec(root, "SET SESSION server_id = @@global.server_id");
        ts_exec(root, "DELETE FROM " DB ".f1 WHERE id = 1");
        ts_exec(root, "UPDATE " DB ".f1 SET v = 21 WHERE id = 2");
        ts_exec(root, "ALTER TABLE " DB ".f2 COMMENT 'excluded'");
        ts_exec(root, "ALTER TABLE " DB ".f1 COMMENT 'included'");
        /* database DDL of a database no included table lives in */
        ts_exec(root, "CREATE DATABASE IF NOT EXISTS " DB "_other");
        ts_exec(root, "DROP DATABASE " DB "_other");
        cdc_config *c = stream_cfg(s, NULL, 4704);
        ts_config_set(c, "start", from);
        ts_config_set(c, "stop.at", "now");
        ts_config_set(c, "table.include.list", DB ".f*");
        ts_config_set(c, "table.exclude.list", DB ".f2");
        ts_config_set(c, "column.exclude.list", DB ".f1.secret");
        ts_config_set(c, "server.id.exclude.list", "777");
        ts_config_set(c, "skipped.operations", "d");
        rec r;
        rec_init(&r, s);
        cdc_stream *st = make_stream(c, &r);
        expect_start(st, CDC_OK);
        if (s == TS_MARIADB)
            expect_log(&r, "%1$sc " DB ".f1 | id=1 v=10\ncommit\n%1$su " DB ".f1 id=2 v=20 | id=2 v=21\ncommit\n"
                           "ddl ALTER TABLE " DB ".f1 COMMENT 'included'\n", s);
        else
            expect_log(&r, "%1$sc " DB ".f1 | id=1 v=10\ncommit\n%1$sc " DB ".f1 | id=2 v=20\ncommit\n"
                           "%1$su " DB ".f1 id=2 v=20 | id=2 v=21\ncommit\nddl ALTER TABLE " DB ".f1 COMMENT 'included'\n", s);
        cdc_stream_free(st);
        rec_free(&r);
        /* only other servers' changes: nothing of ours, yet the stream
         * reaches stop.at and its checkpoint moves past our transactions */
        ts_config_set(c, "server.id.include.list", "12345");
        ts_config_set(c, "server.id.exclude.list", "");
        rec_init(&r, s);
        st = make_stream(c, &r);
        expect_start(st, CDC_OK);
        assert_string_equal(rec_text(&r), "");
        char ck[1024];
        assert_int_equal(cdc_stream_checkpoint(st, ck, sizeof ck, NULL), CDC_OK);
        assert_string_not_equal(ck, "");
        cdc_position *p0, *p1;
        char err[256];
        assert_int_equal(cdc_position_parse(&p1, ck, NULL, err, sizeof err), CDC_OK);
        assert_int_equal(cdc_position_parse(&p0, from, NULL, err, sizeof err), CDC_OK);
        assert_true(strcmp(cdc_position_file(p1), cdc_position_file(p0)) > 0 ||
                    cdc_position_offset(p1) > cdc_position_offset(p0));
        cdc_position_free(p0);
        cdc_position_free(p1);
        cdc_stream_free(st);
        cdc_config_free(c);
        rec_free(&r);
        free(from);
        cdc__conn_free(root);
    }
}

/* KILL of the dump thread at a commit: the stream reconnects from that
 * commit, says so to the log callback, and delivers everything once. */
static int logged;
static void on_log(int level, int code, const char *msg, void *ud)
{
    (void)code;
    (void)ud;
    if (level == 1 && strstr(msg, "reconnecting from cdc1:")) logged++;
}

static void test_kill_dump_thread(void **state)
{
    (void)state;
    for (int sv = 0; sv < 2; sv++) {
        ts_server s = (ts_server)sv;
        cdc__conn *root = setup(s, "DROP TABLE IF EXISTS " DB ".kill");
        ts_exec(root, "CREATE TABLE " DB ".kill (id INT PRIMARY KEY)");
        char *from = ts_binlog_now(root, s, true);
        ts_exec(root, "INSERT INTO " DB ".kill VALUES (1), (2)");
        cdc_config *c = stream_cfg(s, NULL, 4705);
        ts_config_set(c, "start", from);
        ts_config_set(c, "table.include.list", DB ".kill");
        rec r;
        rec_init(&r, s);
        r.root = ts_connect(s, NULL);
        r.kill_commit = 1;
        r.after_kill_sql = "INSERT INTO " DB ".kill VALUES (3)";
        r.stop_commits = 2;
        logged = 0;
        cdc_stream *st = make_stream(c, &r);
        cdc_stream_set_log_cb(st, on_log, NULL);
        expect_start(st, CDC_ERR_PAUSED);
        expect_log(&r, "%1$sc " DB ".kill | id=1\nc " DB ".kill | id=2\ncommit\n%1$sc " DB ".kill | id=3\ncommit\n", s);
        assert_int_equal(cdc_stream_metric(st, CDC_METRIC_RECONNECTS), 1);
        assert_int_equal(logged, 1);
        cdc_stream_free(st);
        cdc_config_free(c);
        rec_free(&r);
        free(from);
        cdc__conn_free(root);
    }
}

/* Errors a host must be able to tell apart. */
static void test_errors(void **state)
{
    (void)state;
    for (int sv = 0; sv < 2; sv++) {
        ts_server s = (ts_server)sv;
        rec r;
        rec_init(&r, s);
        /* no server.id */
        cdc_config *c = stream_cfg(s, NULL, 4706);
        ts_config_set(c, "server.id", "0");
        cdc_stream *st;
        char err[512];
        assert_int_equal(cdc_stream_new(&st, c, NULL, err, sizeof err), CDC_ERR_CONFIG);
        assert_non_null(strstr(err, "server.id: not set"));
        cdc_config_free(c);

        /* a binlog file the server does not have (as after PURGE) */
        c = stream_cfg(s, NULL, 4706);
        ts_config_set(c, "start", s == TS_MYSQL ? "binlog.999999:4" : "mariadb-bin.999999:4");
        st = make_stream(c, &r);
        expect_start(st, CDC_ERR_PURGED);
        assert_int_equal(cdc_stream_server_errno(st), 1236);
        assert_non_null(strstr(cdc_stream_errmsg(st), "binlog dump: "));
        assert_int_equal(cdc_stream_start(st), CDC_ERR_PURGED); /* sticky */
        cdc_stream_free(st);
        cdc_config_free(c);

        /* the same with stop.at=now: not a silent exit 0 having delivered
         * nothing, but an error that says the start is past the end */
        c = stream_cfg(s, NULL, 4706);
        ts_config_set(c, "start", s == TS_MYSQL ? "binlog.999999:4" : "mariadb-bin.999999:4");
        ts_config_set(c, "stop.at", "now");
        st = make_stream(c, &r);
        expect_start(st, CDC_ERR_CONFIG);
        if (!strstr(cdc_stream_errmsg(st), "lies past the end of the server's binlog"))
            fail_msg("want 'past the end' in: %s", cdc_stream_errmsg(st));
        cdc_stream_free(st);
        cdc_config_free(c);

        /* an account without REPLICATION SLAVE */
        cdc__conn *root = ts_connect(s, NULL);
        ts_exec(root, "DROP USER IF EXISTS 'cdc_h6_nopriv'@'%%'");
        ts_exec(root, "CREATE USER 'cdc_h6_nopriv'@'%%' IDENTIFIED BY '%s'", ts_env("CDC_TEST_PASSWORD"));
        ts_exec(root, "GRANT SELECT ON *.* TO 'cdc_h6_nopriv'@'%%'");
        c = stream_cfg(s, "cdc_h6_nopriv", 4706);
        st = make_stream(c, &r);
        expect_start(st, CDC_ERR_PRIVILEGE);
        assert_non_null(strstr(cdc_stream_errmsg(st), "REPLICATION SLAVE privilege is missing for 'cdc_h6_nopriv'@'%'"));
        cdc_stream_free(st);
        cdc_config_free(c);
        ts_exec(root, "DROP USER 'cdc_h6_nopriv'@'%%'");

        /* our server.id is the server's own */
        c = stream_cfg(s, NULL, s == TS_MARIADB ? 1 : 2);
        st = make_stream(c, &r);
        expect_start(st, CDC_ERR_CONFIG);
        assert_non_null(strstr(cdc_stream_errmsg(st), "is the server's own server_id"));
        cdc_stream_free(st);
        cdc_config_free(c);
        assert_int_equal(r.changes, 0);
        rec_free(&r);
        cdc__conn_free(root);
    }
}

/* binlog_row_metadata=MINIMAL: column names come from information_schema
 * and follow DDL; a row event whose column count no longer matches the
 * table is refused with CDC_ERR_SCHEMA, never decoded with wrong names.
 * With FULL metadata, DDL arrives between the transactions around it.
 *
 * Other streams may read the same binlog later without filters, so every
 * MINIMAL event written here matches the table as the test leaves it. */
static void minimal(cdc__conn *root, bool on)
{
    ts_exec(root, "SET GLOBAL binlog_row_metadata = %s", on ? "MINIMAL" : "FULL");
}

static void test_minimal_metadata_and_ddl(void **state)
{
    (void)state;
    for (int sv = 0; sv < 2; sv++) {
        ts_server s = (ts_server)sv;
        cdc__conn *root = setup(s, "DROP TABLE IF EXISTS " DB ".mini");
        ts_exec(root, "CREATE TABLE " DB ".mini (id INT PRIMARY KEY, a INT)");
        char *from = ts_binlog_now(root, s, true);
        /* other tests share the server: MINIMAL only around our writes */
        cdc__conn *w = ts_connect(s, NULL);
        minimal(root, true);
        ts_exec(w, "INSERT INTO " DB ".mini VALUES (1, 10)");
        minimal(root, false);
        cdc_config *c = stream_cfg(s, NULL, 4707);
        ts_config_set(c, "start", from);
        ts_config_set(c, "table.include.list", DB ".mini");
        rec r;
        rec_init(&r, s);
        r.stop_commits = 1;
        cdc_stream *st = make_stream(c, &r);
        expect_start(st, CDC_ERR_PAUSED);
        expect_log(&r, "%1$sc " DB ".mini | id=1 a=10\ncommit\n", s);

        /* a DDL statement drops the cached names: after a rename the
         * next row event of the table gets the new ones */
        ts_exec(w, "ALTER TABLE " DB ".mini RENAME COLUMN a TO a2");
        char *mid = ts_binlog_now(root, s, true);
        minimal(root, true);
        ts_exec(w, "INSERT INTO " DB ".mini VALUES (2, 20)");
        minimal(root, false);
        r.stop_commits = 2;
        expect_start(st, CDC_ERR_PAUSED);
        expect_log(&r, "%1$sc " DB ".mini | id=1 a=10\ncommit\nddl ALTER TABLE " DB ".mini RENAME COLUMN a TO a2\n"
                       "%1$sc " DB ".mini | id=2 a2=20\ncommit\n", s);
        cdc_stream_free(st);
        rec_free(&r);

        /* the table gains a column: its older MINIMAL events no longer fit */
        ts_exec(w, "ALTER TABLE " DB ".mini ADD COLUMN c INT");
        rec_init(&r, s);
        ts_config_set(c, "start", mid);
        st = make_stream(c, &r);
        expect_start(st, CDC_ERR_SCHEMA);
        assert_non_null(strstr(cdc_stream_errmsg(st), DB ".mini: the row event has 2 columns but information_schema "
                                                      "lists 3"));
        assert_int_equal(r.changes, 0);
        cdc_stream_free(st);
        rec_free(&r);
        ts_exec(w, "ALTER TABLE " DB ".mini DROP COLUMN c");
        cdc__conn_free(w);
        free(mid);

        /* DDL in the middle of a FULL stream */
        ts_exec(root, "DROP TABLE IF EXISTS " DB ".full");
        ts_exec(root, "CREATE TABLE " DB ".full (id INT PRIMARY KEY, a INT, b INT)");
        mid = ts_binlog_now(root, s, true);
        ts_exec(root, "INSERT INTO " DB ".full VALUES (3, 30, 300)");
        ts_exec(root, "ALTER TABLE " DB ".full DROP COLUMN a");
        ts_exec(root, "INSERT INTO " DB ".full VALUES (4, 400)");
        rec_init(&r, s);
        ts_config_set(c, "start", mid);
        ts_config_set(c, "stop.at", "now");
        ts_config_set(c, "table.include.list", DB ".full");
        st = make_stream(c, &r);
        expect_start(st, CDC_OK);
        expect_log(&r, "%1$sc " DB ".full | id=3 a=30 b=300\ncommit\nddl ALTER TABLE " DB ".full DROP COLUMN a\n"
                       "%1$sc " DB ".full | id=4 b=400\ncommit\n", s);
        cdc_stream_free(st);
        cdc_config_free(c);
        rec_free(&r);
        free(from);
        free(mid);
        cdc__conn_free(root);
    }
}

static int ck_calls;
static char ck_last[1024];
static int on_checkpoint(const cdc_position *pos, void *ud)
{
    (void)ud;
    ck_calls++;
    assert_int_equal(cdc_position_format(pos, ck_last, sizeof ck_last, NULL), CDC_OK);
    return 0;
}

/* GTID starts with the forms each server has: MySQL tagged GTIDs
 * (COM_BINLOG_DUMP_GTID with the tagged set encoding), MariaDB several
 * domains (@slave_connect_state); the changes carry their GTIDs, the
 * positions the executed set. Filtered-out transactions move the
 * checkpoint through the checkpoint callback. */
static void test_gtid_starts_and_checkpoints(void **state)
{
    (void)state;
    for (int sv = 0; sv < 2; sv++) {
        ts_server s = (ts_server)sv;
        cdc__conn *root = setup(s, "DROP TABLE IF EXISTS " DB ".g");
        ts_exec(root, "CREATE TABLE " DB ".g (id INT PRIMARY KEY)");
        if (s == TS_MYSQL) {
            ts_exec(root, "SET gtid_next = 'AUTOMATIC:h6_tag'");
            ts_exec(root, "INSERT INTO " DB ".g VALUES (1)");
            ts_exec(root, "SET gtid_next = 'AUTOMATIC'");
        } else {
            ts_exec(root, "SET SESSION gtid_domain_id = 7");
            ts_exec(root, "INSERT INTO " DB ".g VALUES (1)");
            ts_exec(root, "SET SESSION gtid_domain_id = 0");
        }
        char *gset = ts_query_str(root, s == TS_MYSQL ? "SELECT @@gtid_executed" : "SELECT @@gtid_binlog_pos");
        char from[4096];
        snprintf(from, sizeof from, "gtid:%s", gset);
        free(gset);
        if (s == TS_MYSQL) {
            ts_exec(root, "SET gtid_next = 'AUTOMATIC:h6_tag'");
            ts_exec(root, "INSERT INTO " DB ".g VALUES (2)");
            ts_exec(root, "SET gtid_next = 'AUTOMATIC'");
        } else {
            ts_exec(root, "SET SESSION gtid_domain_id = 7");
            ts_exec(root, "INSERT INTO " DB ".g VALUES (2)");
            ts_exec(root, "SET SESSION gtid_domain_id = 0");
        }
        char *after2 = ts_query_str(root, s == TS_MYSQL ? "SELECT @@gtid_executed" : "SELECT @@gtid_binlog_pos");
        ts_exec(root, "INSERT INTO " DB ".g VALUES (3)");
        char *want2 = ts_query_str(root, s == TS_MYSQL ? "SELECT @@gtid_executed" : "SELECT @@gtid_binlog_pos");
        cdc_config *c = stream_cfg(s, NULL, 4709);
        ts_config_set(c, "start", from);
        ts_config_set(c, "stop.at", "now");
        ts_config_set(c, "table.include.list", DB ".g");
        rec r;
        rec_init(&r, s);
        cdc_stream *st = make_stream(c, &r);
        expect_start(st, CDC_OK);
        expect_log(&r, "%1$sc " DB ".g | id=2\ncommit\n%1$sc " DB ".g | id=3\ncommit\n", s);
        /* the final position holds everything the server had executed */
        char ck[4096];
        assert_int_equal(cdc_stream_checkpoint(st, ck, sizeof ck, NULL), CDC_OK);
        cdc_position *p;
        char err[256];
        assert_int_equal(cdc_position_parse(&p, ck, NULL, err, sizeof err), CDC_OK);
        char *w = want2, *save = NULL;
        for (char *g = strtok_r(w, ",\n", &save); g; g = strtok_r(NULL, ",\n", &save)) {
            if (s == TS_MARIADB) assert_true(set_has(cdc_position_gtid_set(p), g));
        }
        if (s == TS_MYSQL) assert_non_null(strstr(cdc_position_gtid_set(p), ":h6_tag:1-"));
        cdc_position_free(p);
        cdc_stream_free(st);
        free(want2);
        rec_free(&r);

        /* stop.at a GTID set: ends once all of it has been seen */
        char stop[4096];
        snprintf(stop, sizeof stop, "gtid:%s", after2);
        free(after2);
        ts_config_set(c, "stop.at", stop);
        rec_init(&r, s);
        st = make_stream(c, &r);
        expect_start(st, CDC_OK);
        expect_log(&r, "%1$sc " DB ".g | id=2\ncommit\n", s);
        cdc_stream_free(st);
        rec_free(&r);
        ts_config_set(c, "stop.at", "now");

        /* only a table nobody writes: no callbacks but checkpoints, which
         * move past the transactions that were filtered out */
        char *mid = ts_binlog_now(root, s, true);
        ts_exec(root, "INSERT INTO " DB ".g VALUES (4)");
        char *end = ts_binlog_now(root, s, true);
        ts_config_set(c, "start", mid);
        ts_config_set(c, "table.include.list", DB ".nobody");
        ts_config_set(c, "heartbeat.interval.ms", "100");
        rec_init(&r, s);
        st = make_stream(c, &r);
        ck_calls = 0;
        cdc_stream_set_checkpoint_cb(st, on_checkpoint, NULL);
        expect_start(st, CDC_OK);
        assert_string_equal(rec_text(&r), "");
        assert_true(ck_calls >= 1);
        cdc_position *pe, *pl;
        assert_int_equal(cdc_position_parse(&pe, end, NULL, err, sizeof err), CDC_OK);
        assert_int_equal(cdc_position_parse(&pl, ck_last, NULL, err, sizeof err), CDC_OK);
        assert_string_equal(cdc_position_file(pl), cdc_position_file(pe));
        assert_true(cdc_position_offset(pl) >= cdc_position_offset(pe));
        cdc_position_free(pe);
        cdc_position_free(pl);
        cdc_stream_free(st);
        rec_free(&r);
        cdc_config_free(c);
        free(mid);
        free(end);
        cdc__conn_free(root);
    }
}

/* A server_id another live replica of the server holds is refused
 * (MySQL: cdc_repl may list replicas there); once that replica has ended,
 * the same server_id works at once. */
static void test_server_id_clash(void **state)
{
    (void)state;
    ts_server s = TS_MYSQL;
    cdc__conn *root = setup(s, "DROP TABLE IF EXISTS " DB ".clash");
    ts_exec(root, "CREATE TABLE " DB ".clash (id INT PRIMARY KEY)");
    char *from = ts_binlog_now(root, s, true);
    ts_exec(root, "INSERT INTO " DB ".clash VALUES (1)");
    cdc_config *c = stream_cfg(s, NULL, 4710);
    ts_config_set(c, "start", from);
    ts_config_set(c, "table.include.list", DB ".clash");
    rec r;
    rec_init(&r, s);
    r.pause_commit = 1; /* paused at a commit: connection and registration stay */
    cdc_stream *a = make_stream(c, &r);
    expect_start(a, CDC_ERR_PAUSED);
    rec r2;
    rec_init(&r2, s);
    cdc_stream *b = make_stream(c, &r2);
    expect_start(b, CDC_ERR_CONFIG);
    assert_non_null(strstr(cdc_stream_errmsg(b), "server.id 4710 is already used by a replica of this server"));
    cdc_stream_free(b);
    cdc_stream_free(a); /* ends its dump thread */
    rec_free(&r2);
    rec_init(&r2, s);
    ts_config_set(c, "stop.at", "now");
    b = make_stream(c, &r2);
    int64_t t0 = now_ms();
    expect_start(b, CDC_OK);
    assert_true(now_ms() - t0 < 2000); /* no waiting out a stale registration */
    expect_log(&r2, "%1$sc " DB ".clash | id=1\ncommit\n", s);
    cdc_stream_free(b);
    rec_free(&r);
    rec_free(&r2);
    cdc_config_free(c);
    free(from);
    cdc__conn_free(root);
}

/* start=earliest is the first binlog file the server has, at offset 4;
 * the stream moves over its header events to a stop.at just past them,
 * and learns the GTID set from the file's PREVIOUS_GTIDS / GTID_LIST. */
/* cdc_position_now (the public "where is the binlog now"): between what
 * the server says just before and just after, file/offset and GTID set,
 * on both servers (others may write meanwhile). */
static cdc_position *server_point(cdc__conn *root, ts_server s)
{
    char *fo = ts_binlog_now(root, s, true);
    char *g = ts_query_str(root, s == TS_MARIADB ? "SELECT @@gtid_binlog_pos" : "SELECT @@gtid_executed");
    char text[8192];
    /* the server breaks long sets into lines */
    size_t k = 0;
    for (const char *c = g ? g : ""; *c && k + 1 < sizeof text; c++)
        if (*c != '\n' && *c != ' ') text[k++] = *c;
    text[k] = 0;
    cdc_position *p;
    char e[256];
    assert_int_equal(cdc_position_parse(&p, fo, NULL, e, sizeof e), CDC_OK);
    cdc__gtid_set_clear(&p->gtids);
    cdc__err err;
    if (k) assert_int_equal(cdc__gtid_set_parse(&p->gtids, text, k, &err), CDC_OK);
    free(fo);
    free(g);
    return p;
}

static bool not_after(const cdc_position *a, const cdc_position *b)
{
    int c = cdc__binlog_name_cmp(cdc_position_file(a), cdc_position_file(b));
    return (c < 0 || (c == 0 && cdc_position_offset(a) <= cdc_position_offset(b))) &&
           cdc__gtid_set_is_subset(&a->gtids, &b->gtids);
}

static void test_position_now(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        ts_server s = (ts_server)i;
        cdc__conn *root = ts_connect(s, NULL);
        ts_exec(root, "CREATE DATABASE IF NOT EXISTS " DB);
        ts_exec(root, "CREATE TABLE IF NOT EXISTS " DB ".pnow (id INT PRIMARY KEY)");
        ts_exec(root, "REPLACE INTO " DB ".pnow VALUES (1)");
        cdc_position *before = server_point(root, s);
        cdc_config *cfg = ts_config(s, "cdc_repl");
        cdc_position *now = NULL;
        char e[512];
        int rc = cdc_position_now(&now, cfg, NULL, e, sizeof e);
        if (rc) fail_msg("%s: cdc_position_now: %s", ts_server_name(s), e);
        cdc_position *after = server_point(root, s);
        print_message("%s: now %s:%llu gtid %s\n", ts_server_name(s), cdc_position_file(now),
                      (unsigned long long)cdc_position_offset(now), cdc_position_gtid_set(now));
        assert_true(not_after(before, now));
        assert_true(not_after(now, after));
        assert_true(*cdc_position_gtid_set(now)); /* both servers run with GTIDs */
        /* the same as a checkpoint a stream would start from */
        char ck[4096];
        assert_int_equal(cdc_position_format(now, ck, sizeof ck, NULL), CDC_OK);
        assert_non_null(strstr(ck, cdc_position_file(now)));
        /* bad arguments and a wrong password are errors with a message */
        assert_int_equal(cdc_position_now(NULL, cfg, NULL, e, sizeof e), CDC_ERR_INVALID);
        ts_config_set(cfg, "password", "not the password");
        cdc_position *none = NULL;
        assert_int_equal(cdc_position_now(&none, cfg, NULL, e, sizeof e), CDC_ERR_AUTH);
        assert_null(none);
        assert_null(strstr(e, "not the password"));
        cdc_position_free(before);
        cdc_position_free(now);
        cdc_position_free(after);
        cdc_config_free(cfg);
        ts_exec(root, "DROP TABLE " DB ".pnow");
        cdc__conn_free(root);
    }
}

static void test_earliest(void **state)
{
    (void)state;
    for (int sv = 0; sv < 2; sv++) {
        ts_server s = (ts_server)sv;
        cdc__conn *root = ts_connect(s, NULL);
        cdc__result *res = ts_query(root, "SHOW BINARY LOGS");
        char first[256], stop[300];
        snprintf(first, sizeof first, "%s", cdc__result_get(res, 0, 0));
        cdc__result_free(res);
        snprintf(stop, sizeof stop, "%s:5", first);
        cdc_config *c = stream_cfg(s, NULL, 4711);
        ts_config_set(c, "start", "earliest");
        ts_config_set(c, "stop.at", stop);
        rec r;
        rec_init(&r, s);
        cdc_stream *st = make_stream(c, &r);
        expect_start(st, CDC_OK);
        char ck[4096];
        assert_int_equal(cdc_stream_checkpoint(st, ck, sizeof ck, NULL), CDC_OK);
        cdc_position *p;
        char err[256];
        assert_int_equal(cdc_position_parse(&p, ck, NULL, err, sizeof err), CDC_OK);
        assert_string_equal(cdc_position_file(p), first);
        assert_true(cdc_position_offset(p) > 4);
        cdc_position_free(p);
        assert_string_equal(rec_text(&r), "");
        cdc_stream_free(st);
        cdc_config_free(c);
        rec_free(&r);
        cdc__conn_free(root);
    }
}

typedef struct writer {
    ts_server s;
    volatile int stop;
} writer;

static void *write_loop(void *arg)
{
    writer *w = arg;
    cdc__conn *c = ts_connect(w->s, NULL);
    for (int i = 0; !w->stop && i < 5000; i++) ts_exec(c, "INSERT INTO " DB ".busy VALUES (%d)", i);
    cdc__conn_free(c);
    return NULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Two comma lists with the same items in any order (MariaDB lists one
 * GTID per domain and server in no fixed order). */
static bool same_items(const char *a, const char *b)
{
    char *x = strdup(a), *y = strdup(b), *ix[64], *iy[64], *save;
    size_t nx = 0, ny = 0;
    for (char *t = strtok_r(x, ",", &save); t && nx < 64; t = strtok_r(NULL, ",", &save)) ix[nx++] = t;
    for (char *t = strtok_r(y, ",", &save); t && ny < 64; t = strtok_r(NULL, ",", &save)) iy[ny++] = t;
    bool same = nx == ny;
    qsort(ix, nx, sizeof *ix, cmp_str);
    qsort(iy, ny, sizeof *iy, cmp_str);
    for (size_t i = 0; same && i < nx; i++) same = !strcmp(ix[i], iy[i]);
    if (!same) fprintf(stderr, "'%s' != '%s'\n", a, b);
    free(x);
    free(y);
    return same;
}

/* 'now' on a busy MariaDB: the file position and the GTID position come
 * from different statements, yet they must name the same point. Checked
 * against the server's own BINLOG_GTID_POS(file, offset). */
static void test_now_on_busy_mariadb(void **state)
{
    (void)state;
    ts_server s = TS_MARIADB;
    cdc__conn *root = setup(s, "DROP TABLE IF EXISTS " DB ".busy");
    ts_exec(root, "CREATE TABLE " DB ".busy (id INT PRIMARY KEY)");
    cdc__conn *c = ts_connect(s, "cdc_repl");
    cdc__server_info info;
    cdc__err e = {0};
    assert_int_equal(cdc__replica_check(c, &info, &e), CDC_OK);
    writer w = {s, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, write_loop, &w), 0);
    for (int i = 0; i < 20; i++) {
        cdc_position p;
        cdc__position_init(&p, NULL);
        if (cdc__replica_now(c, &info, &p, &e)) fail_msg("now: %s", e.msg);
        char q[512];
        snprintf(q, sizeof q, "SELECT BINLOG_GTID_POS('%s', %llu)", cdc_position_file(&p),
                 (unsigned long long)p.offset);
        char *want = ts_query_str(root, q);
        cdc__gtid_set ws;
        cdc__gtid_set_init(&ws, NULL);
        assert_int_equal(cdc__gtid_set_parse(&ws, want, strlen(want), &e), CDC_OK);
        cdc__buf t;
        cdc__buf_init(&t, NULL);
        assert_int_equal(cdc__gtid_set_format(&ws, &t), CDC_OK);
        assert_int_equal(cdc__buf_terminate(&t), CDC_OK);
        assert_true(same_items(cdc_position_gtid_set(&p), (const char *)t.data));
        assert_true(p.gtid_known);
        cdc__buf_free(&t);
        cdc__gtid_set_free(&ws);
        free(want);
        cdc__position_clear(&p);
    }
    w.stop = 1;
    pthread_join(th, NULL);
    cdc__conn_free(c);
    cdc__conn_free(root);
}

/* Allocator that counts live and peak bytes. */
typedef struct counting {
    size_t live, peak;
} counting;

static void *c_malloc(size_t n, void *ud)
{
    counting *k = ud;
    size_t *p = malloc(n + 16);
    if (!p) return NULL;
    *p = n;
    k->live += n;
    if (k->live > k->peak) k->peak = k->live;
    return (char *)p + 16;
}

static void c_free(void *q, void *ud)
{
    counting *k = ud;
    if (!q) return;
    size_t *p = (size_t *)((char *)q - 16);
    k->live -= *p;
    free(p);
}

static void *c_realloc(void *q, size_t n, void *ud)
{
    counting *k = ud;
    if (!q) return c_malloc(n, ud);
    size_t *p = (size_t *)((char *)q - 16);
    size_t old = *p;
    size_t *np = realloc(p, n + 16);
    if (!np) return NULL;
    *np = n;
    k->live = k->live - old + n;
    if (k->live > k->peak) k->peak = k->live;
    return (char *)np + 16;
}

typedef struct bigrec {
    uint64_t rows, idsum;
    size_t bytes;
} bigrec;

static int big_change(const cdc_change *c, void *ud)
{
    bigrec *b = ud;
    int64_t id = 0;
    assert_int_equal(cdc_value_int64(cdc_change_after(c, 0), &id), CDC_OK);
    b->rows++;
    b->idsum += (uint64_t)id;
    b->bytes += cdc_value_bytes(cdc_change_after(c, 1)).len;
    return 0;
}

/* A compressed transaction of ~24 MB of incompressible rows is one
 * TRANSACTION_PAYLOAD event spread over two 16 MiB protocol packets; the
 * stream hands it to the decoder in pieces, so the library's memory stays
 * a small fraction of the event (MySQL only: MariaDB has no such event). */
static void test_huge_event_bounded_memory(void **state)
{
    (void)state;
    ts_server s = TS_MYSQL;
    cdc__conn *root = setup(s, "DROP TABLE IF EXISTS " DB ".big");
    ts_exec(root, "CREATE TABLE " DB ".big (id INT PRIMARY KEY, b MEDIUMBLOB)");
    char *from = ts_binlog_now(root, s, true);
    ts_exec(root, "SET SESSION binlog_transaction_compression = ON");
    ts_exec(root, "SET SESSION cte_max_recursion_depth = 10000");
    const int n = 3000;
    ts_exec(root, "INSERT INTO " DB ".big WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq "
                  "WHERE i < %d) SELECT i, CONCAT(RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024), "
                  "RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024), "
                  "RANDOM_BYTES(1024)) FROM seq", n);
    cdc_config *c = stream_cfg(s, NULL, 4708);
    ts_config_set(c, "start", from);
    ts_config_set(c, "stop.at", "now");
    ts_config_set(c, "table.include.list", DB ".big");
    counting k = {0, 0};
    cdc_allocator a = {c_malloc, c_realloc, c_free, &k};
    cdc_stream *st;
    char err[512];
    if (cdc_stream_new(&st, c, &a, err, sizeof err)) fail_msg("%s", err);
    bigrec b = {0, 0, 0};
    cdc_stream_set_change_cb(st, big_change, &b);
    expect_start(st, CDC_OK);
    assert_int_equal(b.rows, (uint64_t)n);
    assert_true(b.idsum == (uint64_t)n * (n + 1) / 2);
    assert_int_equal(b.bytes, (size_t)n * 8192);
    /* the event was over 16 MiB: the bytes read say so */
    assert_true(cdc_stream_metric(st, CDC_METRIC_BYTES) > (uint64_t)n * 8192);
    if (k.peak >= 8u << 20) fail_msg("peak %zu bytes for a %d-byte event", k.peak, n * 8192);
    cdc_stream_free(st);
    assert_int_equal(k.live, 0);
    cdc_config_free(c);
    free(from);
    ts_exec(root, "DROP TABLE " DB ".big");
    cdc__conn_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changes_and_resume),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_batch_pauses_at_event_ends),
        cmocka_unit_test(test_stop_from_thread),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_kill_dump_thread),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_minimal_metadata_and_ddl),
        cmocka_unit_test(test_gtid_starts_and_checkpoints),
        cmocka_unit_test(test_server_id_clash),
        cmocka_unit_test(test_earliest),
        cmocka_unit_test(test_position_now),
        cmocka_unit_test(test_now_on_busy_mariadb),
        cmocka_unit_test(test_huge_event_bounded_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
