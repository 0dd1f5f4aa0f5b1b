/* Integration tests of the consistent snapshot (lib/snapshot.c) against
 * MariaDB 10.11 and MySQL 9.7 from testenv.sh:
 *  - handoff: a writer inserts, updates and deletes during the whole
 *    snapshot; snapshot rows plus the binlog changes from the snapshot
 *    point, applied in order, equal the final SELECT (parallelism 1, 4);
 *    every update and delete must find exactly the row image it names,
 *    and every insert a free key, so a gap or a repeat fails;
 *  - values: the type-coverage workload of tests/differential (imported,
 *    not copied) read by the snapshot equals the same rows rebuilt from
 *    the binlog by the decoder, value by value (rendered);
 *  - privileges: the documented fallback (LOCK TABLES) and a clear error
 *    without it; MariaDB needs no lock privilege at all;
 *  - filters, no_data and progress.
 * The oracle is always the server (SELECT, its binlog), never the
 * snapshot's own output. */
#define _DEFAULT_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cdc/binlog.h>
#include <cdc/value.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "decoder.h"
#include "filter.h"
#include "position.h"
#include "snapshot.h"
#include "snapshot_table.h"
#include "tablemap.h"
#include "testsupport.h"

#define DB "snapshot_it"

/* Lets WITH RECURSIVE generate many rows on either server. */
static void allow_recursion(cdc__conn *c, ts_server s)
{
    ts_exec(c, s == TS_MYSQL ? "SET SESSION cte_max_recursion_depth = 10000000"
                             : "SET SESSION max_recursive_iterations = 10000000");
}

/* ---- small utilities ---------------------------------------------------- */

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

/* JSON numbers spelled by value ("1.5e300" and "1.5e+300" are the same
 * double): MySQL's SELECT prints JSON doubles its own way and json.c
 * copies JSON text numbers as they are, while binary JSON doubles are
 * printed by cdc__fmt_double. Strings are left alone. */
static size_t json_numbers_by_value(const char *in, size_t n, cdc__buf *out)
{
    size_t changed = 0;
    bool str = false;
    for (size_t i = 0; i < n;) {
        char ch = in[i];
        if (str) {
            cdc__buf_putc(out, (uint8_t)ch);
            if (ch == '\\' && i + 1 < n) cdc__buf_putc(out, (uint8_t)in[++i]);
            else if (ch == '"') str = false;
            i++;
        } else if (ch == '"') {
            str = true;
            cdc__buf_putc(out, '"');
            i++;
        } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
            size_t j = i;
            bool real = false;
            while (j < n && strchr("0123456789+-.eE", in[j])) real |= strchr(".eE", in[j++]) != NULL;
            if (real) {
                char tmp[64];
                snprintf(tmp, sizeof tmp, "%.*s", (int)(j - i), in + i);
                char num[64];
                snprintf(num, sizeof num, "%.17g", strtod(tmp, NULL));
                cdc__buf_puts(out, num);
                changed += strcmp(tmp, num) != 0;
            } else {
                cdc__buf_append(out, in + i, j - i);
            }
            i = j;
        } else {
            cdc__buf_putc(out, (uint8_t)ch);
            i++;
        }
    }
    return changed;
}

/* Canonical text of a value, or "<absent>". */
static void render(const cdc_value *v, const uint8_t *present, size_t i, cdc__buf *out)
{
    if (present && !present[i]) {
        cdc__buf_puts(out, "<absent>");
        return;
    }
    cdc__err e;
    cdc__buf tmp;
    cdc__buf_init(&tmp, NULL);
    int rc = cdc__value_render_json(v, &tmp, &e);
    if (rc) fail_msg("render: %s", e.msg);
    if (cdc_value_kind(v) == CDC_KIND_JSON) json_numbers_by_value((const char *)tmp.data, tmp.len, out);
    else cdc__buf_append(out, tmp.data, tmp.len);
    cdc__buf_free(&tmp);
}

static void snap_opts(cdc__snap_opts *o, ts_server s, const char *user, unsigned par, uint64_t chunk)
{
    memset(o, 0, sizeof *o);
    ts_opts(&o->conn, s, user);
    o->conn.tls_mode = CDC_TLS_REQUIRED;
    o->parallelism = par;
    o->chunk_rows = chunk;
}

static bool only_db(const char *db, const char *table, void *ud)
{
    (void)table;
    return strcmp(db, (const char *)ud) == 0;
}

typedef struct logrec {
    char text[4096];
} logrec;

static void on_log(int level, int code, const char *msg, void *ud)
{
    (void)level;
    (void)code;
    logrec *l = ud;
    strncat(l->text, msg, sizeof l->text - strlen(l->text) - 2);
    strcat(l->text, "\n");
}

/* ---- binlog replay with the decoder -------------------------------------- */

typedef int (*change_fn)(const cdc_change *c, void *ud);

typedef struct replay {
    const char *db;
    const char *from_file;  /* skip changes before from_file:from_off */
    uint64_t from_off;
    const char *to_file;    /* and from to_file:to_off on (NULL: to the end) */
    uint64_t to_off;
    change_fn fn;
    void *ud;
    size_t changes;
    cdc__result *json;      /* MariaDB: "table.column" of r->db's JSON columns, or NULL */
} replay;

/* A file decoded alone cannot tell MariaDB's JSON columns (LONGTEXT in
 * the binlog): mark the ones the server's CHECKs name, as the stream does
 * from information_schema, so the replay reads documents like the
 * snapshot. */
static int replay_hook(struct cdc_table *t, void *ud)
{
    replay *r = ud;
    if (!r->json || strcmp(t->db, r->db)) return CDC_OK;
    for (size_t i = 0; i < t->ncols; i++) {
        char key[512];
        snprintf(key, sizeof key, "%s.%s", t->name, t->col_names[i] ? t->col_names[i] : "");
        for (size_t k = 0; k < cdc__result_rows(r->json); k++)
            if (!strcmp(cdc__result_get(r->json, k, 0), key)) cdc__table_set_json_text(t, i, true);
    }
    return CDC_OK;
}

static int replay_change(const cdc_change *c, void *ud)
{
    replay *r = ud;
    const char *f = cdc_change_file(c);
    uint64_t off = cdc_change_offset(c);
    if (strcmp(cdc_table_db(cdc_change_table(c)), r->db)) return 0;
    if (!strcmp(f, r->from_file) && off < r->from_off) return 0;
    if (r->to_file && !strcmp(f, r->to_file) && off >= r->to_off) return 0;
    r->changes++;
    return r->fn(c, r->ud);
}

/* Decodes every binlog file from r->from_file on (up to r->to_file). */
static void replay_binlog(ts_server s, cdc__conn *c, replay *r)
{
    const char *dir = ts_env(s == TS_MYSQL ? "CDC_TEST_MYSQL_DATADIR" : "CDC_TEST_MARIADB_DATADIR");
    cdc__result *logs = ts_query(c, "SHOW BINARY LOGS");
    bool on = false;
    for (size_t i = 0; i < cdc__result_rows(logs); i++) {
        const char *name = cdc__result_get(logs, i, 0);
        if (!strcmp(name, r->from_file)) on = true;
        if (!on) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *fp = fopen(path, "rb");
        if (!fp) fail_msg("cannot open %s", path);
        cdc_decoder *d;
        char err[256];
        assert_int_equal(cdc_decoder_new(&d, NULL, err, sizeof err), CDC_OK);
        cdc_decoder_set_position(d, name, 0);
        cdc_decoder_set_change_cb(d, replay_change, r);
        cdc__decoder_set_names_hook(d, replay_hook, r);
        uint8_t buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, fp)) > 0) {
            ptrdiff_t used = cdc_decoder_feed(d, buf, n);
            if (used != (ptrdiff_t)n) fail_msg("decoding %s: %s", name, cdc_decoder_errmsg(d));
        }
        fclose(fp);
        /* the active file may end inside an event being written: fine */
        cdc_decoder_free(d);
        if (r->to_file && !strcmp(name, r->to_file)) break;
    }
    cdc__result_free(logs);
    assert_true(on);
}

/* The server's current binlog file after FLUSH BINARY LOGS. */
static char *fresh_binlog(cdc__conn *c, ts_server s)
{
    ts_exec(c, "FLUSH BINARY LOGS");
    return ts_binlog_now(c, s, false);
}

/* ---- handoff under a concurrent writer ------------------------------------ */

#define H_ROWS 6000

typedef struct hrow {
    bool live;
    int64_t v;
    char s[40];
} hrow;

typedef struct hstate {
    logrec log;
    hrow *rows;      /* by id: 4 x the table's rows */
    size_t nrows;
    unsigned pause_one_in; /* 0: never pause */
    size_t snap_rows;
    const char *err;
    char errbuf[256];
    unsigned seed;   /* pauses at random rows */
    size_t pauses;
} hstate;

static int get_row(const cdc_value *const *vals, int64_t *id, int64_t *v, char *s, size_t cap)
{
    if (cdc_value_int64(vals[0], id) || cdc_value_int64(vals[1], v)) return -1;
    cdc_bytes b = cdc_value_bytes(vals[2]);
    if (b.len >= cap) return -1;
    memcpy(s, b.ptr, b.len);
    s[b.len] = 0;
    return 0;
}

static int h_snap_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, void *ud)
{
    hstate *h = ud;
    (void)present;
    if (strcmp(t->name, "h")) return 0;
    const cdc_value *p[3] = {&vals[0], &vals[1], &vals[2]};
    int64_t id, v;
    char s[40];
    if (get_row(p, &id, &v, s, sizeof s) || id < 0 || id >= (int64_t)h->nrows)
        return -1;
    if (h->rows[id].live) return -2; /* the snapshot gave a row twice */
    h->rows[id] = (hrow){true, v, ""};
    strcpy(h->rows[id].s, s);
    h->snap_rows++;
    return h->pause_one_in && rand_r(&h->seed) % h->pause_one_in == 0 ? CDC_ERR_PAUSED : 0;
}

static void h_log(int level, int code, const char *msg, void *ud) { on_log(level, code, msg, &((hstate *)ud)->log); }

static int h_fail(hstate *h, const char *fmt, int64_t id)
{
    snprintf(h->errbuf, sizeof h->errbuf, fmt, (long long)id);
    h->err = h->errbuf;
    return -1;
}

static int h_change(const cdc_change *c, void *ud)
{
    hstate *h = ud;
    if (strcmp(cdc_table_name(cdc_change_table(c)), "h")) return 0;
    char op = cdc_change_op(c);
    int64_t id, v;
    char s[40];
    if (op != 'c') {
        const cdc_value *p[3] = {cdc_change_before(c, 0), cdc_change_before(c, 1), cdc_change_before(c, 2)};
        if (get_row(p, &id, &v, s, sizeof s) || id < 0 || id >= (int64_t)h->nrows)
            return h_fail(h, "bad before image %lld", 0);
        hrow *r = &h->rows[id];
        if (!r->live) return h_fail(h, "%s of row %lld, which the snapshot does not have (a change applied twice)", id);
        if (r->v != v || strcmp(r->s, s)) return h_fail(h, "before image of row %lld differs from the snapshot", id);
        r->live = false;
    }
    if (op != 'd') {
        const cdc_value *p[3] = {cdc_change_after(c, 0), cdc_change_after(c, 1), cdc_change_after(c, 2)};
        if (get_row(p, &id, &v, s, sizeof s) || id < 0 || id >= (int64_t)h->nrows)
            return h_fail(h, "bad after image %lld", 0);
        hrow *r = &h->rows[id];
        if (r->live) return h_fail(h, "insert of row %lld, which already exists (a change applied twice)", id);
        *r = (hrow){true, v, ""};
        strcpy(r->s, s);
    }
    return 0;
}

typedef struct writer {
    ts_server s;
    int rows;       /* the table's rows: ids below 2 x rows */
    atomic_int stop;
    unsigned seed;
    atomic_long ops;
} writer;

static void *writer_main(void *arg)
{
    writer *w = arg;
    cdc__conn *c = ts_connect(w->s, NULL);
    ts_exec(c, "USE " DB);
    while (!atomic_load(&w->stop)) {
        unsigned r = (unsigned)rand_r(&w->seed);
        int id = (int)(r % (unsigned)(w->rows * 2));
        switch (r >> 16 & 7) {
        case 0: case 1:
            ts_exec(c, "INSERT IGNORE INTO h VALUES (%d, %u, 'ins-%ld')", id, r & 0xffff, w->ops);
            break;
        case 2: case 3: case 4:
            ts_exec(c, "UPDATE h SET v = v + 1, s = 'upd-%ld' WHERE id = %d", w->ops, id);
            break;
        case 5:
            ts_exec(c, "DELETE FROM h WHERE id = %d", id);
            break;
        default:
            /* a multi-row transaction moving rows around */
            ts_exec(c, "BEGIN");
            ts_exec(c, "DELETE FROM h WHERE id = %d", id);
            ts_exec(c, "INSERT IGNORE INTO h VALUES (%d, 7, 'txn-%ld')", id, w->ops);
            ts_exec(c, "UPDATE h SET v = v * 2 WHERE id BETWEEN %d AND %d", id, id + 20);
            ts_exec(c, "COMMIT");
        }
        w->ops++;
    }
    cdc__conn_free(c);
    return NULL;
}

/* user NULL: root (the FTWRL path on MySQL); else an account made here
 * with only SELECT, LOCK TABLES and REPLICATION CLIENT: the MySQL
 * fallback must be just as exact. */
typedef struct handoff_run {
    int rows;               /* of table h: ids 0, 2, 4, ... */
    uint64_t chunk;
    unsigned pause_one_in;  /* a pause at 1 row in this many; 0: none */
} handoff_run;

static void handoff_with(ts_server srv, unsigned par, const char *user, bool maria_lock, handoff_run hr_);

static void handoff_as(ts_server srv, unsigned par, const char *user, bool maria_lock)
{
    /* small chunks: many pages while the writer runs */
    handoff_with(srv, par, user, maria_lock, (handoff_run){H_ROWS, 97, 50});
}

/* A snapshot (paused at random rows, or not) under a writer plus the
 * binlog from its point rebuilds SELECT exactly. */
static void handoff_with(ts_server srv, unsigned par, const char *user, bool maria_lock, handoff_run hr_)
{
    cdc__conn *c = ts_connect(srv, NULL);
    ts_exec(c, "DROP DATABASE IF EXISTS " DB);
    ts_exec(c, "CREATE DATABASE " DB);
    allow_recursion(c, srv);
    ts_exec(c, "CREATE TABLE " DB ".h (id INT PRIMARY KEY, v BIGINT NOT NULL, s VARCHAR(32) NOT NULL)");
    ts_exec(c, "CREATE TABLE " DB ".other (k VARCHAR(20) PRIMARY KEY, n INT)");
    for (int lo = 0; lo < hr_.rows; lo += 20000) /* in pieces: one big statement outlasts the read timeout */
        ts_exec(c, "INSERT INTO " DB ".h WITH RECURSIVE seq(n) AS (SELECT %d UNION ALL SELECT n + 2 FROM seq WHERE n + 2 < %d)"
                   " SELECT n, n * 3, CONCAT('row-', n) FROM seq", lo * 2, (lo + 20000 < hr_.rows ? lo + 20000 : hr_.rows) * 2);
    ts_exec(c, "ANALYZE TABLE " DB ".h");
    if (user) {
        ts_exec(c, "DROP USER IF EXISTS '%s'@'%%'", user);
        ts_exec(c, "CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, ts_env("CDC_TEST_PASSWORD"));
        ts_exec(c, "GRANT SELECT, LOCK TABLES, REPLICATION CLIENT ON *.* TO '%s'@'%%'", user);
    }

    writer w = {.s = srv, .seed = 1234u + par, .rows = hr_.rows};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
    while (w.ops < 50) usleep(1000);

    hstate *h = calloc(1, sizeof *h);
    assert_non_null(h);
    h->nrows = (size_t)hr_.rows * 4 + 64;
    h->rows = calloc(h->nrows, sizeof *h->rows);
    assert_non_null(h->rows);
    h->pause_one_in = hr_.pause_one_in;
    cdc__snap_opts o;
    snap_opts(&o, srv, user, par, hr_.chunk);
    o.filter = (cdc__snap_filter){only_db, NULL, (void *)DB};
    o.maria_lock = maria_lock;
    cdc__snap_cbs cb = {.row = h_snap_row, .log = h_log, .ud = h};
    cdc__snap_point pt;
    cdc__err err;
    long ops_before = w.ops;
    /* Paused at random rows (~1 in 50), every 20th pause long enough for
     * the workers to fill the queue and wait while the writer goes on:
     * the handoff must stay exact through pauses. */
    h->seed = 99u + par;
    cdc__snap *sn = NULL;
    int rc = cdc__snap_open(&sn, &o, &cb, NULL, &pt, &err);
    while (rc == CDC_OK && (rc = cdc__snap_run(sn, &err)) == CDC_ERR_PAUSED) {
        rc = CDC_OK;
        if (++h->pauses % 20 == 0) usleep(50 * 1000);
    }
    cdc__snap_free(sn);
    long ops_during = w.ops - ops_before;
    usleep(200000);
    atomic_store(&w.stop, 1);
    pthread_join(th, NULL);
    if (rc) fail_msg("%s snapshot (parallelism %u): %s", ts_server_name(srv), par, err.msg);
    print_message("%s%s parallelism %u: %zu snapshot rows at %s:%llu [%s], %zu pauses, %ld writes during the snapshot\n",
                  ts_server_name(srv), user ? " (LOCK TABLES path)" : "", par, h->snap_rows, pt.file, (unsigned long long)pt.offset, pt.gtid_set,
                  h->pauses, ops_during);
    print_message("%s", h->log.text);
    if (maria_lock) assert_non_null(strstr(h->log.text, "took FLUSH TABLES WITH READ LOCK"));
    assert_true(ops_during > 0); /* the writer really ran during the snapshot */
    if (hr_.pause_one_in) assert_true(h->pauses > 10);
    assert_true(pt.gtid_set[0] != 0);

    /* changes from the point on, in binlog order */
    free(fresh_binlog(c, srv)); /* so the last changes are in a closed file */
    replay r = {.db = DB, .from_file = pt.file, .from_off = pt.offset, .fn = h_change, .ud = h};
    replay_binlog(srv, c, &r);
    if (h->err) fail_msg("%s parallelism %u: %s", ts_server_name(srv), par, h->err);
    assert_true(r.changes > 0);

    /* == the final SELECT */
    cdc__result *fin = ts_query(c, "SELECT id, v, s FROM " DB ".h ORDER BY id");
    size_t live = 0;
    for (size_t i = 0; i < h->nrows; i++) live += h->rows[i].live;
    assert_int_equal(live, cdc__result_rows(fin));
    for (size_t i = 0; i < cdc__result_rows(fin); i++) {
        long id = strtol(cdc__result_get(fin, i, 0), NULL, 10);
        hrow *hr = &h->rows[id];
        if (!hr->live || hr->v != strtoll(cdc__result_get(fin, i, 1), NULL, 10) ||
            strcmp(hr->s, cdc__result_get(fin, i, 2)))
            fail_msg("row %ld: rebuilt (%d, %lld, %s) but SELECT has (%s, %s)", id, hr->live, (long long)hr->v,
                     hr->s, cdc__result_get(fin, i, 1), cdc__result_get(fin, i, 2));
    }
    print_message("%s parallelism %u: %zu binlog changes after the point; %zu rows equal SELECT\n",
                  ts_server_name(srv), par, r.changes, live);
    cdc__result_free(fin);
    cdc__snap_point_free(NULL, &pt);
    free(h->rows);
    free(h);
    if (user) ts_exec(c, "DROP USER '%s'@'%%'", user);
    cdc__conn_free(c);
}

static void handoff(ts_server srv, unsigned par) { handoff_as(srv, par, NULL, false); }

/* Pause anywhere under concurrent writers: on each server a 200,000-row
 * table read at parallelism 4 while a writer changes it, once paused at
 * ~200 random rows and once not; each snapshot plus the binlog from its
 * point must rebuild SELECT exactly, so the paused one gives what the
 * unpaused one gives. The soak (5M rows, ~1,000 pauses):
 * CDC_SNAPSHOT_SOAK=1 build/tests/itest_snapshot with
 * CDC_TEST_FILTER=test_pause_writers (docs/snapshot.md). */
static void test_pause_writers(void **state)
{
    (void)state;
    bool soak = getenv("CDC_SNAPSHOT_SOAK") != NULL;
    int rows = soak ? 5000000 : 200000;
    unsigned one_in = soak ? 5000 : 1000;
    for (int si = 0; si < 2; si++) {
        handoff_with((ts_server)si, 4, NULL, false, (handoff_run){rows, 5000, one_in});
        handoff_with((ts_server)si, 4, NULL, false, (handoff_run){rows, 5000, 0});
    }
}

static void test_handoff_lock_tables(void **state)
{
    (void)state;
    handoff_as(TS_MYSQL, 4, "cdc_h8_lt", false);
}

/* MariaDB's locked path (what busy writers force after 50 tries). */
static void test_handoff_mariadb_lock(void **state)
{
    (void)state;
    handoff_as(TS_MARIADB, 4, NULL, true);
}

static void test_handoff_p1(void **state)
{
    (void)state;
    handoff(TS_MARIADB, 1);
    handoff(TS_MYSQL, 1);
}

static void test_handoff_p4(void **state)
{
    (void)state;
    handoff(TS_MARIADB, 4);
    handoff(TS_MYSQL, 4);
}

/* ---- type coverage: snapshot vs binlog, value by value ------------------- */

#define VDB "cdc_snap_types"

typedef struct vrow {
    char *table;
    char *text; /* rendered values, tab-separated */
    bool live;
} vrow;

typedef struct vstate {
    vrow *rows;
    size_t n, cap;
    size_t binary_rows;     /* rows of tables read through the binary protocol */
} vstate;

static void vs_add(vstate *v, const char *table, const char *text)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->rows = realloc(v->rows, v->cap * sizeof *v->rows);
        assert_non_null(v->rows);
    }
    v->rows[v->n++] = (vrow){xstrdup(table), xstrdup(text), true};
}

static bool vs_del(vstate *v, const char *table, const char *text)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->rows[i].live && !strcmp(v->rows[i].table, table) && !strcmp(v->rows[i].text, text)) {
            v->rows[i].live = false;
            return true;
        }
    return false;
}

static void vs_free(vstate *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->rows[i].table);
        free(v->rows[i].text);
    }
    free(v->rows);
}

static int v_snap_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, void *ud)
{
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    for (size_t i = 0; i < t->ncols; i++) {
        if (i) cdc__buf_putc(&b, '\t');
        render(&vals[i], present, i, &b);
    }
    cdc__buf_terminate(&b);
    vs_add(ud, t->name, (const char *)b.data);
    cdc__buf_free(&b);
    /* the snapshot's tables are cdc__snap_table, t their first member */
    if (((const cdc__snap_table *)t)->binary) ((vstate *)ud)->binary_rows++;
    return 0;
}

static void image_text(const cdc_change *c, bool after, cdc__buf *b)
{
    const cdc_table *t = cdc_change_table(c);
    for (size_t i = 0; i < cdc_table_column_count(t); i++) {
        if (i) cdc__buf_putc(b, '\t');
        const cdc_value *v = after ? cdc_change_after(c, i) : cdc_change_before(c, i);
        if (!v) cdc__buf_puts(b, "<absent>");
        else render(v, NULL, i, b);
    }
    cdc__buf_terminate(b);
}

static int v_change(const cdc_change *c, void *ud)
{
    vstate *v = ud;
    const char *tn = cdc_table_name(cdc_change_table(c));
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    if (cdc_change_op(c) != 'c') {
        image_text(c, false, &b);
        if (!vs_del(v, tn, (const char *)b.data)) fail_msg("binlog %s of a row never inserted: %s", tn, b.data);
        cdc__buf_reset(&b);
    }
    if (cdc_change_op(c) != 'd') {
        image_text(c, true, &b);
        vs_add(v, tn, (const char *)b.data);
    }
    cdc__buf_free(&b);
    return 0;
}

static int cmp_vrow(const void *x, const void *y)
{
    const vrow *a = x, *b = y;
    int c = strcmp(a->table, b->table);
    return c ? c : strcmp(a->text, b->text);
}

/* Statements of tests/differential/workload.py for a flavour, NUL-separated. */
static char *workload_sql(ts_server s, size_t *len)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import sys; sys.path.insert(0, \"%s/tests/differential\"); import workload; "
             "sys.stdout.write(\"\\0\".join(workload.statements(\"%s\", \"%s\", with_alter=False)))'",
             ts_env("CDC_SOURCE_ROOT"), ts_server_name(s), VDB);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    size_t k;
    while ((k = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += k;
        if (n + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    assert_int_equal(pclose(p), 0);
    buf[n] = 0;
    *len = n;
    return buf;
}

static logrec refused_log; /* the warnings of a snapshot without prepared statements */

static void on_refused_log(int level, int code, const char *msg, void *ud)
{
    (void)ud;
    on_log(level, code, msg, &refused_log);
}

static void values_equal(ts_server srv)
{
    cdc__conn *c = ts_connect(srv, NULL);
    char *start = fresh_binlog(c, srv);
    size_t len;
    char *sql = workload_sql(srv, &len);
    for (char *p = sql; p < sql + len; p += strlen(p) + 1) {
        cdc__err e; /* ts_exec caps statements at 4 KiB; these are longer */
        if (cdc__conn_exec(c, p, &e)) fail_msg("%.200s: %s", p, e.msg);
    }
    free(sql);
    /* what the workload does not cover: generated and invisible columns,
     * a composite key of text and date paged through its collation */
    ts_exec(c, "CREATE TABLE " VDB ".t_gen (id INT PRIMARY KEY, a INT, v INT AS (a * 2) VIRTUAL,"
               " st INT AS (a + 1) STORED, h INT INVISIBLE DEFAULT 7)");
    ts_exec(c, "INSERT INTO " VDB ".t_gen (id, a) VALUES (1, 10), (2, NULL), (3, -4)");
    ts_exec(c, "UPDATE " VDB ".t_gen SET a = 11, h = 8 WHERE id = 1");
    ts_exec(c, "CREATE TABLE " VDB ".t_ckey (name VARCHAR(20) COLLATE utf8mb4_general_ci, d DATE, n INT,"
               " PRIMARY KEY (name, d))");
    ts_exec(c, "INSERT INTO " VDB ".t_ckey VALUES ('b', '2024-01-01', 1), ('B ', '2024-01-02', 2), ('a', '2024-01-01', 3),"
               " ('é', '2024-01-01', 4), ('c''q', '2023-12-31', 5), ('', '2000-01-01', 6), ('A', '2024-01-03', 7)");

    /* the snapshot twice: rows in the binary protocol where the table
     * allows it (the default), then all in the text protocol */
    vstate from_snap = {0}, from_text = {0}, from_refused = {0}, from_binlog = {0};
    cdc__snap_opts o;
    snap_opts(&o, srv, NULL, 2, 3); /* tiny chunks: keyset paging over every key type */
    o.filter = (cdc__snap_filter){only_db, NULL, (void *)VDB};
    cdc__snap_cbs cb = {.row = v_snap_row, .ud = &from_snap};
    cdc__snap_point pt, pt_text;
    cdc__err err;
    if (cdc__snapshot_run(&o, &cb, NULL, &pt, &err)) fail_msg("%s: %s", ts_server_name(srv), err.msg);
    o.text_protocol = true;
    cb.ud = &from_text;
    if (cdc__snapshot_run(&o, &cb, NULL, &pt_text, &err)) fail_msg("%s text: %s", ts_server_name(srv), err.msg);
    cdc__snap_point_free(NULL, &pt_text);
    /* and once more on a server that refuses prepared statements (as a
     * proxy may): the snapshot says so and reads every row as text */
    cdc__result *was = ts_query(c, "SELECT @@GLOBAL.max_prepared_stmt_count");
    assert_int_equal(cdc__result_rows(was), 1);
    char restore[128];
    snprintf(restore, sizeof restore, "SET GLOBAL max_prepared_stmt_count = %.40s",
             cdc__result_get(was, 0, 0) ? cdc__result_get(was, 0, 0) : "16382");
    cdc__result_free(was);
    ts_exec(c, "SET GLOBAL max_prepared_stmt_count = 0");
    o.text_protocol = false;
    cb.ud = &from_refused;
    refused_log.text[0] = 0;
    cb.log = on_refused_log;
    int refused_rc = cdc__snapshot_run(&o, &cb, NULL, &pt_text, &err);
    ts_exec(c, restore);
    if (refused_rc) fail_msg("%s without prepared statements: %s", ts_server_name(srv), err.msg);
    cdc__snap_point_free(NULL, &pt_text);
    print_message("%s: %zu of %zu snapshot rows read in the binary protocol, %zu with text_protocol, %zu where "
                  "the server refuses prepared statements (%s)\n",
                  ts_server_name(srv), from_snap.binary_rows, from_snap.n, from_text.binary_rows,
                  from_refused.binary_rows, refused_log.text);
    cb.log = NULL;
    assert_int_equal(from_text.binary_rows, 0);
    assert_int_equal(from_refused.binary_rows, 0);
    assert_non_null(strstr(refused_log.text, "refuses prepared statements"));
    assert_true(from_snap.binary_rows * 2 > from_snap.n);

    replay r = {.db = VDB, .from_file = start, .to_file = pt.file, .to_off = pt.offset, .fn = v_change,
                .ud = &from_binlog};
    /* the snapshot gives MariaDB's JSON columns (LONGTEXT with the CHECK
     * a JSON declaration writes) as documents; this test's own reading */
    if (srv == TS_MARIADB) {
        r.json = ts_query(c, "SELECT CONCAT(c.TABLE_NAME, '.', c.COLUMN_NAME) FROM information_schema.COLUMNS c"
                             " JOIN information_schema.CHECK_CONSTRAINTS k ON k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA"
                             " AND k.TABLE_NAME = c.TABLE_NAME AND k.CONSTRAINT_NAME = c.COLUMN_NAME"
                             " WHERE c.TABLE_SCHEMA = '" VDB "' AND c.DATA_TYPE = 'longtext'"
                             " AND k.CHECK_CLAUSE = CONCAT('json_valid(`', c.COLUMN_NAME, '`)')");
        assert_true(cdc__result_rows(r.json) >= 1); /* t_json.j */
    }
    replay_binlog(srv, c, &r);
    cdc__result_free(r.json);

    /* compact the binlog side to its live rows, sort both, compare */
    size_t k = 0;
    for (size_t i = 0; i < from_binlog.n; i++) {
        if (from_binlog.rows[i].live) from_binlog.rows[k++] = from_binlog.rows[i];
        else {
            free(from_binlog.rows[i].table);
            free(from_binlog.rows[i].text);
        }
    }
    from_binlog.n = k;
    qsort(from_binlog.rows, from_binlog.n, sizeof(vrow), cmp_vrow);
    for (int pass = 0; pass < 3; pass++) {
        vstate *snap = pass == 2 ? &from_refused : pass ? &from_text : &from_snap;
        const char *how = pass == 2 ? "prepared statements refused" : pass ? "text protocol" : "binary protocol";
        qsort(snap->rows, snap->n, sizeof(vrow), cmp_vrow);
        size_t bad = 0, tables = 0;
        for (size_t i = 0; i < snap->n || i < from_binlog.n; i++) {
            vrow *a = i < snap->n ? &snap->rows[i] : NULL, *b = i < from_binlog.n ? &from_binlog.rows[i] : NULL;
            if (!a || !b || cmp_vrow(a, b)) {
                if (bad++ < 10)
                    print_message("%s (%s) mismatch:\n  snapshot %s: %s\n  binlog   %s: %s\n", ts_server_name(srv),
                                  how, a ? a->table : "-", a ? a->text : "-", b ? b->table : "-", b ? b->text : "-");
            }
            if (a && (i == 0 || strcmp(a->table, snap->rows[i - 1].table))) tables++;
        }
        print_message("%s (%s): %zu rows in %zu tables, snapshot == binlog: %s\n", ts_server_name(srv), how, snap->n,
                      tables, bad ? "NO" : "yes");
        assert_int_equal(bad, 0);
        assert_true(tables >= 10);
    }
    vs_free(&from_text);
    vs_free(&from_refused);
    vs_free(&from_snap);
    vs_free(&from_binlog);
    cdc__snap_point_free(NULL, &pt);
    free(start);
    cdc__conn_free(c);
}

static void test_values_mariadb(void **state)
{
    (void)state;
    values_equal(TS_MARIADB);
}

static void test_values_mysql(void **state)
{
    (void)state;
    values_equal(TS_MYSQL);
}

/* ---- privileges ------------------------------------------------------- */

typedef struct prun {
    size_t rows;
    logrec log;
} prun;

static int count_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, void *ud)
{
    (void)t;
    (void)vals;
    (void)present;
    ((prun *)ud)->rows++;
    return 0;
}

static void p_log(int level, int code, const char *msg, void *ud) { on_log(level, code, msg, &((prun *)ud)->log); }

static void priv_setup(cdc__conn *root, const char *grants)
{
    ts_exec(root, "DROP DATABASE IF EXISTS " DB);
    ts_exec(root, "CREATE DATABASE " DB);
    ts_exec(root, "CREATE TABLE " DB ".p (id INT PRIMARY KEY, x INT)");
    ts_exec(root, "INSERT INTO " DB ".p VALUES (1, 1), (2, 2), (3, 3)");
    ts_exec(root, "DROP USER IF EXISTS 'cdc_h8_snap'@'%%'");
    ts_exec(root, "CREATE USER 'cdc_h8_snap'@'%%' IDENTIFIED BY '%s'", ts_env("CDC_TEST_PASSWORD"));
    ts_exec(root, "GRANT %s TO 'cdc_h8_snap'@'%%'", grants);
}

static int priv_run(ts_server s, unsigned par, prun *p, cdc__err *err)
{
    cdc__snap_opts o;
    snap_opts(&o, s, "cdc_h8_snap", par, 2);
    o.filter = (cdc__snap_filter){only_db, NULL, (void *)DB};
    memset(p, 0, sizeof *p);
    cdc__snap_point pt;
    int rc = cdc__snapshot_run(&o, &(cdc__snap_cbs){.row = count_row, .log = p_log, .ud = p}, NULL, &pt, err);
    cdc__snap_point_free(NULL, &pt);
    return rc;
}

static void test_privileges_mysql(void **state)
{
    (void)state;
    cdc__conn *root = ts_connect(TS_MYSQL, NULL);
    prun p;
    cdc__err err;
    /* no RELOAD, no LOCK TABLES: a clear error naming both */
    priv_setup(root, "SELECT, REPLICATION CLIENT ON *.*");
    int rc = priv_run(TS_MYSQL, 2, &p, &err);
    assert_int_equal(rc, CDC_ERR_PRIVILEGE);
    print_message("mysql without RELOAD/LOCK TABLES: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "RELOAD"));
    assert_non_null(strstr(err.msg, "LOCK TABLES"));
    /* LOCK TABLES but no RELOAD: the documented fallback, all rows */
    ts_exec(root, "GRANT LOCK TABLES ON *.* TO 'cdc_h8_snap'@'%%'");
    rc = priv_run(TS_MYSQL, 2, &p, &err);
    if (rc) fail_msg("fallback: %s", err.msg);
    assert_int_equal(p.rows, 3);
    print_message("mysql with LOCK TABLES, without RELOAD logs: %s", p.log.text);
    assert_non_null(strstr(p.log.text, "LOCK TABLES ... READ instead"));
    assert_non_null(strstr(p.log.text, "LOCK TABLES ... READ held for"));
    /* RELOAD: the FTWRL path */
    ts_exec(root, "REVOKE LOCK TABLES ON *.* FROM 'cdc_h8_snap'@'%%'");
    ts_exec(root, "GRANT RELOAD ON *.* TO 'cdc_h8_snap'@'%%'");
    rc = priv_run(TS_MYSQL, 2, &p, &err);
    if (rc) fail_msg("ftwrl: %s", err.msg);
    assert_int_equal(p.rows, 3);
    print_message("mysql with RELOAD logs: %s", p.log.text);
    assert_non_null(strstr(p.log.text, "FLUSH TABLES WITH READ LOCK held for"));
    assert_null(strstr(p.log.text, "refused"));
    /* no REPLICATION CLIENT: the position cannot be read */
    ts_exec(root, "REVOKE REPLICATION CLIENT ON *.* FROM 'cdc_h8_snap'@'%%'");
    rc = priv_run(TS_MYSQL, 1, &p, &err);
    assert_int_equal(rc, CDC_ERR_PRIVILEGE);
    print_message("mysql without REPLICATION CLIENT: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "REPLICATION CLIENT"));
    ts_exec(root, "DROP USER 'cdc_h8_snap'@'%%'");
    cdc__conn_free(root);
}

static void test_privileges_mariadb(void **state)
{
    (void)state;
    cdc__conn *root = ts_connect(TS_MARIADB, NULL);
    prun p;
    cdc__err err;
    /* SELECT alone is enough: the snapshot point needs no lock */
    priv_setup(root, "SELECT ON *.*");
    int rc = priv_run(TS_MARIADB, 4, &p, &err);
    if (rc) fail_msg("mariadb SELECT only: %s", err.msg);
    assert_int_equal(p.rows, 3);
    ts_exec(root, "DROP USER 'cdc_h8_snap'@'%%'");
    cdc__conn_free(root);
}

/* ---- filters, no_data, progress, log ------------------------------------ */

static bool skip_x(const char *db, const char *table, const char *col, void *ud)
{
    (void)db;
    (void)table;
    (void)ud;
    return !strcmp(col, "secret");
}

typedef struct fstate {
    size_t rows, absent, progress_calls, last_tables_done, tables_total, points, rows_before_point;
    char point_file[256];
    uint64_t last_done;
} fstate;

static int f_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, void *ud)
{
    fstate *f = ud;
    (void)vals;
    f->rows++;
    f->rows_before_point += f->points == 0;
    for (size_t i = 0; i < t->ncols; i++) f->absent += !present[i];
    return 0;
}

static int f_progress(const char *db, const char *table, uint64_t done, uint64_t est, size_t tdone, size_t ttotal,
                      void *ud)
{
    fstate *f = ud;
    (void)db;
    (void)table;
    (void)est;
    f->progress_calls++;
    f->last_done = done;
    f->last_tables_done = tdone;
    f->tables_total = ttotal;
    return 0;
}

static int f_point(const cdc__snap_point *p, void *ud)
{
    fstate *f = ud;
    f->points++;
    snprintf(f->point_file, sizeof f->point_file, "%s", p->file);
    return 0;
}

static void test_filters_progress(void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++) {
        cdc__conn *c = ts_connect((ts_server)s, NULL);
        ts_exec(c, "DROP DATABASE IF EXISTS " DB);
        ts_exec(c, "CREATE DATABASE " DB);
        allow_recursion(c, (ts_server)s);
        ts_exec(c, "CREATE TABLE " DB ".f (id INT PRIMARY KEY, secret VARCHAR(10), pub INT)");
        ts_exec(c, "CREATE TABLE " DB ".nokey (a INT, b INT)");
        ts_exec(c, "INSERT INTO " DB ".f WITH RECURSIVE q(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM q WHERE n < 50)"
                   " SELECT n, 'x', n FROM q");
        ts_exec(c, "INSERT INTO " DB ".nokey VALUES (1, 1), (1, 1), (2, NULL)");
        /* every column excluded, no key: rows still count, with nothing in them */
        ts_exec(c, "CREATE TABLE " DB ".onlysecret (secret VARCHAR(10))");
        ts_exec(c, "INSERT INTO " DB ".onlysecret VALUES ('a'), (NULL)");
        /* an excluded primary key is still read for paging, never delivered */
        ts_exec(c, "CREATE TABLE " DB ".sk (secret INT PRIMARY KEY, x INT)");
        ts_exec(c, "INSERT INTO " DB ".sk SELECT id + 1000, id FROM " DB ".f WHERE id <= 20");
        fstate f = {0};
        cdc__snap_opts o;
        snap_opts(&o, (ts_server)s, NULL, 3, 7);
        o.filter = (cdc__snap_filter){only_db, skip_x, (void *)DB};
        cdc__snap_point pt;
        cdc__err err;
        int rc = cdc__snapshot_run(
            &o, &(cdc__snap_cbs){.point = f_point, .row = f_row, .progress = f_progress, .ud = &f}, NULL, &pt, &err);
        if (rc) fail_msg("%s: %s", ts_server_name((ts_server)s), err.msg);
        assert_int_equal(f.rows, 75);
        /* the point is announced once, before any row, and is the one returned */
        assert_int_equal(f.points, 1);
        assert_int_equal(f.rows_before_point, 0);
        assert_string_equal(f.point_file, pt.file);
        assert_int_equal(f.absent, 72); /* secret left out of every row of f, onlysecret, sk */
        assert_int_equal(f.tables_total, 4);
        assert_int_equal(f.last_tables_done, 4);
        print_message("%s: %zu progress calls\n", ts_server_name((ts_server)s), f.progress_calls);
        assert_true(f.progress_calls >= 50 / 7 + 20 / 7 + 4); /* per chunk and per table */
        cdc__snap_point_free(NULL, &pt);

        /* no_data: the point, no rows */
        memset(&f, 0, sizeof f);
        o.no_data = true;
        rc = cdc__snapshot_run(&o, &(cdc__snap_cbs){.row = f_row, .ud = &f}, NULL, &pt, &err);
        if (rc) fail_msg("%s no_data: %s", ts_server_name((ts_server)s), err.msg);
        assert_int_equal(f.rows, 0);
        assert_non_null(pt.file);
        assert_true(pt.offset >= 4);
        cdc__snap_point_free(NULL, &pt);
        cdc__conn_free(c);
    }
}

/* A row callback error stops the snapshot with that code, workers joined. */
static int abort_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, void *ud)
{
    (void)t;
    (void)vals;
    (void)present;
    return ++*(size_t *)ud == 10 ? CDC_ERR_STOPPED : 0;
}

static void test_callback_abort(void **state)
{
    (void)state;
    cdc__conn *c = ts_connect(TS_MYSQL, NULL);
    ts_exec(c, "DROP DATABASE IF EXISTS " DB);
    ts_exec(c, "CREATE DATABASE " DB);
    allow_recursion(c, TS_MYSQL);
    ts_exec(c, "CREATE TABLE " DB ".big (a INT, b VARCHAR(100))");
    ts_exec(c, "INSERT INTO " DB ".big WITH RECURSIVE q(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM q WHERE n < 200000)"
               " SELECT n, REPEAT('y', 100) FROM q");
    size_t n = 0;
    cdc__snap_opts o;
    snap_opts(&o, TS_MYSQL, NULL, 2, 1000);
    o.filter = (cdc__snap_filter){only_db, NULL, (void *)DB};
    cdc__snap_point pt;
    cdc__err err;
    int rc = cdc__snapshot_run(&o, &(cdc__snap_cbs){.row = abort_row, .ud = &n}, NULL, &pt, &err);
    assert_int_equal(rc, CDC_ERR_STOPPED);
    assert_int_equal(n, 10);
    print_message("aborted: %s\n", err.msg);
    ts_exec(c, "DROP DATABASE " DB);
    cdc__conn_free(c);
}

/* cdc__snap_opts.stop set from another thread (here: the callback's own,
 * as cdc_stream_stop would from anywhere) ends the snapshot. */
static atomic_int stop_flag;

static int stop_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, void *ud)
{
    (void)t;
    (void)vals;
    (void)present;
    if (++*(size_t *)ud == 5) atomic_store(&stop_flag, 1);
    return 0;
}

static void test_stop_flag(void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++) {
        cdc__conn *c = ts_connect((ts_server)s, NULL);
        ts_exec(c, "DROP DATABASE IF EXISTS " DB);
        ts_exec(c, "CREATE DATABASE " DB);
        allow_recursion(c, (ts_server)s);
        ts_exec(c, "CREATE TABLE " DB ".s (id INT PRIMARY KEY)");
        ts_exec(c, "INSERT INTO " DB ".s WITH RECURSIVE q(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM q WHERE n < 5000)"
                   " SELECT n FROM q");
        atomic_store(&stop_flag, 0);
        size_t n = 0;
        cdc__snap_opts o;
        snap_opts(&o, (ts_server)s, NULL, 2, 10);
        o.filter = (cdc__snap_filter){only_db, NULL, (void *)DB};
        o.stop = &stop_flag;
        cdc__snap_point pt;
        cdc__err err;
        int rc = cdc__snapshot_run(&o, &(cdc__snap_cbs){.row = stop_row, .ud = &n}, NULL, &pt, &err);
        assert_int_equal(rc, CDC_ERR_STOPPED);
        assert_true(n >= 5 && n < 5000);
        cdc__conn_free(c);
    }
}

/* The stream's entry point: config keys, the stream's compiled filter,
 * rows as cdc_change (op 'r', positioned at the point, excluded column
 * absent), the point as a cdc_position whose checkpoint round-trips. */
typedef struct sstate {
    size_t rows, bad;
    char file[256];
    uint64_t offset;
} sstate;

static int s_row(const cdc_change *c, void *ud)
{
    sstate *st = ud;
    const cdc_table *t = cdc_change_table(c);
    st->rows++;
    snprintf(st->file, sizeof st->file, "%s", cdc_change_file(c));
    st->offset = cdc_change_offset(c);
    /* id, secret (excluded), pub */
    if (cdc_change_op(c) != 'r' || strcmp(cdc_table_name(t), "f") || cdc_change_before(c, 0) ||
        !cdc_change_after(c, 0) || cdc_change_after(c, 1) || !cdc_change_after(c, 2))
        st->bad++;
    return 0;
}

static void test_stream_entry(void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++) {
        cdc__conn *c = ts_connect((ts_server)s, NULL);
        ts_exec(c, "DROP DATABASE IF EXISTS " DB);
        ts_exec(c, "CREATE DATABASE " DB);
        ts_exec(c, "CREATE TABLE " DB ".f (id INT PRIMARY KEY, secret VARCHAR(10), pub INT)");
        ts_exec(c, "CREATE TABLE " DB ".g (id INT PRIMARY KEY)");
        ts_exec(c, "INSERT INTO " DB ".f VALUES (1, 'x', 1), (2, 'y', 2), (3, NULL, NULL)");
        ts_exec(c, "INSERT INTO " DB ".g VALUES (1)");
        cdc_config *cfg;
        char e[256];
        assert_int_equal(cdc_config_new(&cfg, NULL), CDC_OK);
        ts_config_set(cfg, "table.include.list", DB ".f");
        ts_config_set(cfg, "column.exclude.list", DB ".f.secret");
        ts_config_set(cfg, "snapshot.parallelism", "2");
        ts_config_set(cfg, "snapshot.chunk.rows", "2");
        cdc__filter f;
        cdc__err err;
        assert_int_equal(cdc__filter_init(&f, cfg, NULL, &err), CDC_OK);
        cdc__conn_opts o;
        ts_opts(&o, (ts_server)s, NULL);
        o.tls_mode = CDC_TLS_REQUIRED;
        sstate st = {0};
        cdc__snap_stream ss = {.cfg = cfg, .conn = &o, .filter = &f, .row = s_row, .row_ud = &st};
        cdc_position pos;
        cdc__position_init(&pos, NULL);
        cdc__snap_streamer *state = NULL;
        int rc = cdc__snapshot_stream(&ss, NULL, &state, &pos, &err);
        assert_null(state);
        if (rc) fail_msg("%s: %s", ts_server_name((ts_server)s), err.msg);
        assert_int_equal(st.rows, 3);
        assert_int_equal(st.bad, 0);
        assert_string_equal(st.file, cdc_position_file(&pos));
        assert_int_equal(st.offset, cdc_position_offset(&pos));
        assert_true(pos.gtid_known);
        char ck[1024];
        assert_int_equal(cdc_position_format(&pos, ck, sizeof ck, NULL), CDC_OK);
        cdc_position *back;
        assert_int_equal(cdc_position_parse(&back, ck, NULL, e, sizeof e), CDC_OK);
        assert_string_equal(cdc_position_gtid_set(back), cdc_position_gtid_set(&pos));
        print_message("%s: snapshot point as a checkpoint: %s\n", ts_server_name((ts_server)s), ck);
        cdc_position_free(back);
        cdc__position_clear(&pos);
        cdc__filter_free(&f);
        cdc_config_free(cfg);
        cdc__conn_free(c);
    }
}

/* ---- pause anywhere ------------------------------------------------------
 * A snapshot paused at ~1,000 random rows (some pauses long enough for the
 * workers to fill the queue and wait) delivers exactly the rows of an
 * unpaused one, each once, and as many as SELECT COUNT(*) has; memory the
 * library holds (counted through the allocator hooks) stays bounded during
 * pauses. Tables: a large one split into key ranges, one read in one pass
 * (no key), one with a composite text key. */

typedef struct counting {
    _Atomic size_t live, peak;
} counting;

static void *c_malloc(size_t n, void *ud)
{
    counting *c = ud;
    size_t *p = malloc(n + 16);
    if (!p) return NULL;
    *p = n;
    size_t now = atomic_fetch_add(&c->live, n) + n, pk = atomic_load(&c->peak);
    while (now > pk && !atomic_compare_exchange_weak(&c->peak, &pk, now)) {
    }
    return (char *)p + 16;
}

static void c_free(void *q, void *ud)
{
    if (!q) return;
    counting *c = ud;
    size_t *p = (size_t *)((char *)q - 16);
    atomic_fetch_sub(&c->live, *p);
    free(p);
}

static void *c_realloc(void *q, size_t n, void *ud)
{
    if (!q) return c_malloc(n, ud);
    size_t old = *(size_t *)((char *)q - 16);
    void *d = c_malloc(n, ud);
    if (!d) return NULL;
    memcpy(d, q, old < n ? old : n);
    c_free(q, ud);
    return d;
}

typedef struct pstate {
    uint64_t *h;
    size_t n, cap;
    unsigned seed;
    bool pausing;
    size_t pauses;
} pstate;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ ((const uint8_t *)p)[i]) * 1099511628211ull;
    return h;
}

static int p_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, void *ud)
{
    pstate *p = ud;
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    cdc__buf_puts(&b, t->name);
    for (size_t i = 0; i < t->ncols; i++) {
        cdc__buf_putc(&b, '|');
        render(&vals[i], present, i, &b);
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 1024;
        p->h = realloc(p->h, p->cap * sizeof *p->h);
        assert_non_null(p->h);
    }
    p->h[p->n++] = fnv(1469598103934665603ull, b.data, b.len);
    cdc__buf_free(&b);
    if (p->pausing && rand_r(&p->seed) % 200 == 0) {
        p->pauses++;
        return CDC_ERR_PAUSED;
    }
    return 0;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static void test_pause_anywhere(void **state)
{
    (void)state;
    for (int si = 0; si < 2; si++) {
        ts_server srv = (ts_server)si;
        cdc__conn *c = ts_connect(srv, NULL);
        ts_exec(c, "DROP DATABASE IF EXISTS " DB);
        ts_exec(c, "CREATE DATABASE " DB);
        allow_recursion(c, srv);
        ts_exec(c, "CREATE TABLE " DB ".big (id INT PRIMARY KEY, a VARCHAR(100), d DECIMAL(20,6), t DATETIME(3))");
        for (int k = 0; k < 10; k++) /* in pieces: one 200k-row statement outlasts the read timeout on a busy box */
            ts_exec(c, "INSERT INTO " DB ".big WITH RECURSIVE q(n) AS (SELECT %d UNION ALL SELECT n + 1 FROM q WHERE n < %d)"
                       " SELECT n, CONCAT('row-', n, REPEAT('x', n %% 50)), n / 7, '2024-01-01 00:00:00' + INTERVAL n SECOND"
                       " FROM q", k * 20000 + 1, (k + 1) * 20000);
        ts_exec(c, "CREATE TABLE " DB ".nokey (a INT, b VARCHAR(20))");
        ts_exec(c, "INSERT INTO " DB ".nokey WITH RECURSIVE q(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM q WHERE n < 20000)"
                   " SELECT n %% 1000, CONCAT('n', n) FROM q");
        ts_exec(c, "CREATE TABLE " DB ".ck (k1 VARCHAR(10), k2 INT, v INT, PRIMARY KEY (k1, k2))");
        ts_exec(c, "INSERT INTO " DB ".ck WITH RECURSIVE q(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM q WHERE n < 10000)"
                   " SELECT CONCAT('k', n %% 37), n, n FROM q");
        ts_exec(c, "ANALYZE TABLE " DB ".big");
        char *cnt = ts_query_str(c, "SELECT (SELECT COUNT(*) FROM " DB ".big) + (SELECT COUNT(*) FROM " DB
                                    ".nokey) + (SELECT COUNT(*) FROM " DB ".ck)");
        size_t expect = strtoull(cnt, NULL, 10);
        free(cnt);

        cdc__snap_opts o;
        snap_opts(&o, srv, NULL, 4, 5000);
        o.filter = (cdc__snap_filter){only_db, NULL, (void *)DB};
        cdc__err err;
        cdc__snap_point pt;

        pstate plain = {0};
        if (cdc__snapshot_run(&o, &(cdc__snap_cbs){.row = p_row, .ud = &plain}, NULL, &pt, &err))
            fail_msg("%s: %s", ts_server_name(srv), err.msg);
        cdc__snap_point_free(NULL, &pt);

        counting cnts = {0};
        cdc_allocator ca = {c_malloc, c_realloc, c_free, &cnts};
        pstate paused = {.pausing = true, .seed = (unsigned)time(NULL) + (unsigned)si};
        print_message("%s: pause seed %u\n", ts_server_name(srv), paused.seed);
        cdc__snap *sn;
        if (cdc__snap_open(&sn, &o, &(cdc__snap_cbs){.row = p_row, .ud = &paused}, &ca, &pt, &err))
            fail_msg("%s: %s", ts_server_name(srv), err.msg);
        size_t peak_pause = 0;
        int rc;
        size_t runs = 0;
        while ((rc = cdc__snap_run(sn, &err)) == CDC_ERR_PAUSED) {
            runs++;
            if (runs % 100 == 1) {
                /* long enough for every worker to fill the queue and wait */
                usleep(300 * 1000);
                size_t live = atomic_load(&cnts.live);
                if (live > peak_pause) peak_pause = live;
            }
        }
        if (rc) fail_msg("%s: %s", ts_server_name(srv), err.msg);
        cdc__snap_free(sn);
        cdc__snap_point_free(&ca, &pt);
        assert_int_equal(atomic_load(&cnts.live), 0);

        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        print_message("%s: %zu rows, %zu pauses; library memory: peak %zu KiB, %zu KiB while paused; "
                      "process peak RSS %ld MiB\n",
                      ts_server_name(srv), paused.n, paused.pauses, atomic_load(&cnts.peak) / 1024, peak_pause / 1024,
                      ru.ru_maxrss / 1024);
        assert_true(paused.pauses > 500);
        assert_int_equal(plain.n, expect);
        assert_int_equal(paused.n, expect);
        qsort(plain.h, plain.n, sizeof *plain.h, cmp_u64);
        qsort(paused.h, paused.n, sizeof *paused.h, cmp_u64);
        for (size_t i = 0; i < paused.n; i++) {
            if (i && paused.h[i] == paused.h[i - 1]) fail_msg("%s: a row delivered twice", ts_server_name(srv));
            if (paused.h[i] != plain.h[i]) fail_msg("%s: paused and unpaused rows differ", ts_server_name(srv));
        }
        /* 4 workers: a queue of 9 batches of <= 256 KiB, 4 being filled, one
         * being delivered; the rows themselves are ~20 MB */
        assert_true(atomic_load(&cnts.peak) < 8u * 1024 * 1024);
        free(plain.h);
        free(paused.h);
        ts_exec(c, "DROP DATABASE " DB);
        cdc__conn_free(c);
    }
}

/* ---- DDL between reading the schema and locking the tables ------------------ */

#define DDLW "snapres_ddlw"

typedef struct ddlw {
    ts_server srv;
    int times;          /* ALTERs still to land in the window */
    int done;
    size_t rows, cols_seen;
} ddlw;

static void ddlw_hook(void *ud)
{
    ddlw *d = ud;
    if (d->times-- <= 0) return;
    static int seq; /* column names unique over the whole test */
    cdc__conn *c = ts_connect(d->srv, NULL);
    seq++;
    ts_exec(c, "ALTER TABLE " DDLW ".t ADD COLUMN c%d INT NOT NULL DEFAULT %d", seq, seq);
    d->done++;
    cdc__conn_free(c);
}

static int ddlw_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, void *ud)
{
    ddlw *d = ud;
    (void)vals;
    (void)present;
    d->rows++;
    d->cols_seen = t->ncols;
    return 0;
}

/* DDL that lands right after the point, before the tables are locked, is
 * found and the point taken again: the rows have the new definition; DDL
 * landing every time ends the snapshot with CDC_ERR_SCHEMA naming the
 * table and the statement. (DDL after the lock waits for the snapshot:
 * tests/snapshot/resume.py.) */
static void test_ddl_window(void **state)
{
    (void)state;
    for (int si = 0; si < 2; si++) {
        ts_server srv = (ts_server)si;
        cdc__conn *c = ts_connect(srv, NULL);
        ts_exec(c, "DROP DATABASE IF EXISTS " DDLW);
        ts_exec(c, "CREATE DATABASE " DDLW);
        ts_exec(c, "CREATE TABLE " DDLW ".t (id INT PRIMARY KEY, v INT)");
        ts_exec(c, "INSERT INTO " DDLW ".t VALUES (1, 1), (2, 2), (3, 3)");
        for (int always = 0; always < 2; always++) {
            cdc__snap_opts o;
            snap_opts(&o, srv, NULL, 2, 100);
            o.filter = (cdc__snap_filter){only_db, NULL, (void *)DDLW};
            ddlw d = {.srv = srv, .times = always ? 100 : 1};
            o.test_after_point = ddlw_hook;
            o.test_ud = &d;
            cdc__err err = {0};
            cdc__snap_point pt;
            int rc = cdc__snapshot_run(&o, &(cdc__snap_cbs){.row = ddlw_row, .ud = &d}, NULL, &pt, &err);
            if (!always) {
                if (rc) fail_msg("%s: %s", ts_server_name(srv), err.msg);
                cdc__snap_point_free(NULL, &pt);
                char *n = ts_query_str(c, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '" DDLW
                                          "' AND TABLE_NAME = 't'");
                print_message("%s: ALTER after the point: retaken; %zu rows of %zu columns (SELECT: %s)\n",
                              ts_server_name(srv), d.rows, d.cols_seen, n);
                assert_int_equal(d.rows, 3);
                assert_int_equal(d.cols_seen, (size_t)strtoull(n, NULL, 10));
                free(n);
            } else {
                print_message("%s: ALTER after every point: %s\n", ts_server_name(srv), err.msg);
                assert_int_equal(rc, CDC_ERR_SCHEMA);
                assert_int_equal(d.rows, 0);
                assert_non_null(strstr(err.msg, DDLW ".t"));
                assert_non_null(strstr(err.msg, "ALTER TABLE"));
                assert_non_null(strstr(err.msg, "3 attempts"));
            }
        }
        ts_exec(c, "DROP DATABASE " DDLW);
        cdc__conn_free(c);
    }
}

/* The one-table definition check of incremental snapshots
 * (cdc__snap_one_changed): it must agree with the snapshot's own reading
 * (a JSON column on MariaDB included: no change reported for an unchanged
 * table, one for an added column), and it must look the one table up
 * rather than open every table of the server: a check may open a few
 * tables, not the 40 the test adds beside it (MariaDB's CHECK_CONSTRAINTS
 * join read every database, 6.4 ms a check on the test server). */
#define ONECK "snapshot_it_onecheck"
static uint64_t opened_tables(cdc__conn *c)
{
    char *v = ts_query_str(c, "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = "
                              "'TABLE_OPEN_CACHE_HITS'");
    char *w = ts_query_str(c, "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = "
                              "'TABLE_OPEN_CACHE_MISSES'");
    uint64_t n = strtoull(v, NULL, 10) + strtoull(w, NULL, 10);
    free(v);
    free(w);
    return n;
}

static void test_one_table_check(void **state)
{
    (void)state;
    ts_server srv = TS_MARIADB; /* the CHECK_CONSTRAINTS join is MariaDB's */
    cdc__conn *c = ts_connect(srv, NULL);
    ts_exec(c, "DROP DATABASE IF EXISTS " ONECK);
    ts_exec(c, "CREATE DATABASE " ONECK);
    ts_exec(c, "CREATE TABLE " ONECK ".t (id INT PRIMARY KEY, j JSON, v INT)");
    for (int i = 0; i < 40; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "CREATE TABLE " ONECK ".other%d (id INT PRIMARY KEY, CHECK (id > 0))", i);
        ts_exec(c, sql);
    }
    cdc__conn *q = ts_connect(srv, NULL);
    cdc__snap_one *o = NULL;
    cdc__err err = {0};
    int rc = cdc__snap_one_open(&o, q, ONECK, "t", NULL, NULL, &err);
    if (rc) fail_msg("cdc__snap_one_open: %s", err.msg);
    bool changed = true;
    uint64_t before = opened_tables(q);
    rc = cdc__snap_one_changed(o, q, &changed, &err);
    uint64_t opened = opened_tables(q) - before;
    if (rc) fail_msg("cdc__snap_one_changed: %s", err.msg);
    print_message("the check opened %" PRIu64 " tables (the server has over 40)\n", opened);
    assert_false(changed);
    assert_true(opened < 10);
    ts_exec(c, "ALTER TABLE " ONECK ".t ADD COLUMN w INT");
    rc = cdc__snap_one_changed(o, q, &changed, &err);
    if (rc) fail_msg("cdc__snap_one_changed: %s", err.msg);
    assert_true(changed);
    cdc__snap_one_free(o);
    cdc__conn_free(q);
    ts_exec(c, "DROP DATABASE " ONECK);
    cdc__conn_free(c);
}

/* The workers' sockets: on a plain connection a worker reads its rows with
 * a receive low-water mark (SO_RCVLOWAT 256 KiB: the kernel wakes it once
 * per 256 KiB instead of for every 16 KB the server writes, which spares
 * the server's thread work per row; docs/performance.md), and the rows are
 * the same as over TLS, which reads without it, and as SQL's aggregates. */
typedef struct lw_state {
    size_t rows;
    int64_t sum_a;
    uint64_t len_b;
    int max_lowat; /* largest SO_RCVLOWAT of the process's sockets seen mid-stream */
} lw_state;

static int max_socket_lowat(void)
{
    int best = 0;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        int fd = atoi(de->d_name), v = 0;
        struct stat st;
        socklen_t l = sizeof v;
        if (fstat(fd, &st) || !S_ISSOCK(st.st_mode)) continue;
        if (!getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, &l) && v > best) best = v;
    }
    closedir(d);
    return best;
}

static int lw_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, void *ud)
{
    (void)t;
    (void)present;
    lw_state *s = ud;
    /* every 1,000th row, while the worker is inside the 15 MB result (the
     * mark comes once 512 KiB of rows have) */
    if (s->rows++ % 1000 == 999) {
        int m = max_socket_lowat();
        if (m > s->max_lowat) s->max_lowat = m;
    }
    int64_t a = 0;
    if (cdc_value_int64(&vals[0], &a)) return -1;
    s->sum_a += a;
    s->len_b += cdc_value_bytes(&vals[1]).len;
    return 0;
}

static void test_worker_lowat(void **state)
{
    (void)state;
    for (int srv = 0; srv < 2; srv++) {
        cdc__conn *c = ts_connect((ts_server)srv, NULL);
        ts_exec(c, "DROP DATABASE IF EXISTS " DB);
        ts_exec(c, "CREATE DATABASE " DB);
        allow_recursion(c, (ts_server)srv);
        ts_exec(c, "CREATE TABLE " DB ".lw (a INT PRIMARY KEY, b VARCHAR(200))");
        ts_exec(c, "INSERT INTO " DB ".lw WITH RECURSIVE q(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM q WHERE n < 100000)"
                   " SELECT n, REPEAT(CHAR(65 + n %% 26), 100 + n %% 50) FROM q");
        cdc__result *r = ts_query(c, "SELECT COUNT(*), SUM(a), SUM(LENGTH(b)) FROM " DB ".lw");
        size_t want_rows = strtoull(cdc__result_get(r, 0, 0), NULL, 10);
        int64_t want_a = strtoll(cdc__result_get(r, 0, 1), NULL, 10);
        uint64_t want_b = strtoull(cdc__result_get(r, 0, 2), NULL, 10);
        cdc__result_free(r);
        for (int tls = 0; tls < 2; tls++) {
            lw_state st = {0};
            cdc__snap_opts o;
            snap_opts(&o, (ts_server)srv, NULL, 1, 10000);
            if (!tls) o.conn.tls_mode = CDC_TLS_DISABLED;
            o.filter = (cdc__snap_filter){only_db, NULL, (void *)DB};
            cdc__snap_point pt;
            cdc__err err;
            if (cdc__snapshot_run(&o, &(cdc__snap_cbs){.row = lw_row, .ud = &st}, NULL, &pt, &err))
                fail_msg("%s%s: %s", ts_server_name((ts_server)srv), tls ? " over TLS" : "", err.msg);
            print_message("%s%s: %zu rows, SO_RCVLOWAT mid-stream %d\n", ts_server_name((ts_server)srv),
                          tls ? " over TLS" : "", st.rows, st.max_lowat);
            assert_int_equal(st.rows, want_rows);
            assert_int_equal(st.sum_a, want_a);
            assert_int_equal(st.len_b, want_b);
            cdc__snap_point_free(NULL, &pt);
            if (tls) assert_true(st.max_lowat <= 1);
            else assert_int_equal(st.max_lowat, 256 * 1024);
        }
        /* after the snapshot no socket of ours keeps a mark */
        assert_true(max_socket_lowat() <= 1);
        ts_exec(c, "DROP DATABASE " DB);
        cdc__conn_free(c);
    }
}

/* ---- MariaDB: the point's GTID position while rows are read --------------
 * BINLOG_GTID_POS(file, offset) makes the server read the binlog file up
 * to the point, which takes it a while deep into a big file. The snapshot
 * sends it last on its coordinator connection and reads the answer only
 * when it needs it (a checkpoint, the end), so the rows flow meanwhile. A
 * test delay (the server sleeps first, then answers the same value) makes
 * the order visible: the first row is delivered while that query is still
 * in the server's process list. Writes after the point make the binlog
 * move on, so only the point's own position can match: the GTID position
 * the snapshot ends with (and every checkpoint's) must equal
 * BINLOG_GTID_POS of the point asked by the test on its own connection,
 * and differ from @@gtid_binlog_pos at the end. */

#define GDB "snapgtid_it"

typedef struct gstate {
    cdc__conn *watch;           /* the test's own connection */
    const cdc__snap_point *pt;  /* the snapshot's (NULL through the stream) */
    size_t rows;
    size_t running_at_first;    /* the delayed GTID query, running when the first row came */
    bool unknown_at_first;      /* the point's gtid_set was not known at the first row */
    bool kill;                  /* kill the coordinator connection at the first row */
    size_t checkpoints, ck_bad;
    char ck_first_bad[512];
    logrec log;
} gstate;

static void g_setup(cdc__conn *c, int rows)
{
    ts_exec(c, "DROP DATABASE IF EXISTS " GDB);
    ts_exec(c, "CREATE DATABASE " GDB);
    allow_recursion(c, TS_MARIADB);
    ts_exec(c, "CREATE TABLE " GDB ".t (id INT PRIMARY KEY, v VARCHAR(40))");
    ts_exec(c, "CREATE TABLE " GDB ".w (id INT AUTO_INCREMENT PRIMARY KEY, n INT)");
    ts_exec(c, "INSERT INTO " GDB ".t WITH RECURSIVE q(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM q WHERE n < %d)"
               " SELECT n, CONCAT('row-', n) FROM q", rows);
}

/* Writes (own transactions, own GTIDs) after the point. */
static void g_write(cdc__conn *c)
{
    for (int i = 0; i < 5; i++) ts_exec(c, "INSERT INTO " GDB ".w (n) VALUES (%d)", i);
}

/* The server's own GTID position of file:offset, asked now. */
static char *g_server_pos(cdc__conn *c, const char *file, uint64_t offset)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT BINLOG_GTID_POS('%s', %llu)", file, (unsigned long long)offset);
    char *v = ts_query_str(c, sql);
    assert_non_null(v);
    return v;
}

static int g_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, void *ud)
{
    (void)t;
    (void)vals;
    (void)present;
    gstate *g = ud;
    if (g->rows++) return 0;
    g->unknown_at_first = g->pt->gtid_set == NULL;
    /* the snapshot's exact statement (cdc__snap_gtid_send), in the process list */
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT BINLOG_GTID_POS(''%s'', %llu) "
             "FROM (SELECT SLEEP(3) AS cdc_test_gtid_delay) AS d'",
             g->pt->file, (unsigned long long)g->pt->offset);
    cdc__result *r = ts_query(g->watch, sql);
    g->running_at_first = cdc__result_rows(r);
    if (g->kill && cdc__result_rows(r) == 1) ts_exec(g->watch, "KILL CONNECTION %s", cdc__result_get(r, 0, 0));
    cdc__result_free(r);
    g_write(g->watch);
    return 0;
}

static void g_log(int level, int code, const char *msg, void *ud) { on_log(level, code, msg, &((gstate *)ud)->log); }

static void gtid_delayed(bool kill)
{
    cdc__conn *c = ts_connect(TS_MARIADB, NULL);
    g_setup(c, 3000);
    cdc__snap_opts o;
    snap_opts(&o, TS_MARIADB, NULL, 1, 500);
    o.filter = (cdc__snap_filter){only_db, NULL, (void *)GDB};
    o.test_gtid_delay_s = 3;
    cdc__snap_point pt;
    gstate g = {.watch = ts_connect(TS_MARIADB, NULL), .pt = &pt, .kill = kill};
    cdc__err err;
    int rc = cdc__snapshot_run(&o, &(cdc__snap_cbs){.row = g_row, .log = g_log, .ud = &g}, NULL, &pt, &err);
    if (rc) fail_msg("%s", err.msg);
    print_message("%zu rows at %s:%llu, GTID position [%s]; at the first row: GTID %s, %zu delayed query running%s\n",
                  g.rows, pt.file, (unsigned long long)pt.offset, pt.gtid_set,
                  g.unknown_at_first ? "not known yet" : "known", g.running_at_first, kill ? " (killed)" : "");
    print_message("%s", g.log.text);
    assert_int_equal(g.rows, 3000);
    /* rows were delivered before the GTID position was known */
    assert_true(g.unknown_at_first);
    assert_int_equal(g.running_at_first, 1);
    /* and it is the server's own for the point, not the position after the writes */
    char *want = g_server_pos(c, pt.file, pt.offset), *now = ts_query_str(c, "SELECT @@gtid_binlog_pos");
    assert_non_null(pt.gtid_set);
    assert_string_equal(pt.gtid_set, want);
    assert_string_not_equal(pt.gtid_set, now);
    if (kill) assert_non_null(strstr(g.log.text, "asking again on a new connection"));
    else assert_int_equal(g.log.text[0], 0);
    free(want);
    free(now);
    cdc__snap_point_free(NULL, &pt);
    ts_exec(c, "DROP DATABASE " GDB);
    cdc__conn_free(g.watch);
    cdc__conn_free(c);
}

static void test_gtid_while_rows(void **state)
{
    (void)state;
    gtid_delayed(false);
}

/* The coordinator connection killed while the server works out the
 * position: asked again on a new connection, the same exact position. */
static void test_gtid_conn_killed(void **state)
{
    (void)state;
    gtid_delayed(true);
}

static int gs_row(const cdc_change *ch, void *ud)
{
    (void)ch;
    gstate *g = ud;
    if (g->rows++ == 0) g_write(g->watch);
    return 0;
}

static int gs_checkpoint(const cdc_position *pos, void *ud)
{
    gstate *g = ud;
    g->checkpoints++;
    char *want = g_server_pos(g->watch, cdc_position_file(pos), cdc_position_offset(pos));
    if (!pos->gtid_known || strcmp(cdc_position_gtid_set(pos), want)) {
        if (!g->ck_bad++)
            snprintf(g->ck_first_bad, sizeof g->ck_first_bad, "checkpoint %zu: [%s], the server says [%s]",
                     g->checkpoints, pos->gtid_known ? cdc_position_gtid_set(pos) : "(unknown)", want);
    }
    free(want);
    return 0;
}

/* Through the stream's entry: every checkpoint (after the first chunk,
 * while the writes go on) and the end carry the point's exact position. */
static void test_gtid_stream_checkpoints(void **state)
{
    (void)state;
    cdc__conn *c = ts_connect(TS_MARIADB, NULL);
    g_setup(c, 3000);
    cdc_config *cfg;
    assert_int_equal(cdc_config_new(&cfg, NULL), CDC_OK);
    ts_config_set(cfg, "table.include.list", GDB ".t");
    ts_config_set(cfg, "snapshot.parallelism", "1");
    ts_config_set(cfg, "snapshot.chunk.rows", "500");
    cdc__filter f;
    cdc__err err;
    assert_int_equal(cdc__filter_init(&f, cfg, NULL, &err), CDC_OK);
    cdc__conn_opts o;
    ts_opts(&o, TS_MARIADB, NULL);
    gstate g = {.watch = ts_connect(TS_MARIADB, NULL)};
    cdc__snap_stream ss = {.cfg = cfg, .conn = &o, .filter = &f, .row = gs_row, .row_ud = &g,
                           .checkpoint = gs_checkpoint, .checkpoint_ud = &g};
    cdc_position pos;
    cdc__position_init(&pos, NULL);
    cdc__snap_streamer *st = NULL;
    int rc = cdc__snapshot_stream(&ss, NULL, &st, &pos, &err);
    if (rc) fail_msg("%s", err.msg);
    assert_int_equal(g.rows, 3000);
    print_message("%zu checkpoints; the end at %s:%llu [%s]\n", g.checkpoints, cdc_position_file(&pos),
                  (unsigned long long)cdc_position_offset(&pos), cdc_position_gtid_set(&pos));
    assert_true(g.checkpoints >= 6);
    if (g.ck_bad) fail_msg("%zu checkpoints with a wrong GTID position, the first: %s", g.ck_bad, g.ck_first_bad);
    char *want = g_server_pos(c, cdc_position_file(&pos), cdc_position_offset(&pos)),
         *now = ts_query_str(c, "SELECT @@gtid_binlog_pos");
    assert_true(pos.gtid_known);
    assert_string_equal(cdc_position_gtid_set(&pos), want);
    assert_string_not_equal(cdc_position_gtid_set(&pos), now);
    free(want);
    free(now);
    cdc__position_clear(&pos);
    cdc__filter_free(&f);
    cdc_config_free(cfg);
    ts_exec(c, "DROP DATABASE " GDB);
    cdc__conn_free(g.watch);
    cdc__conn_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_table_check),
        cmocka_unit_test(test_filters_progress),
        cmocka_unit_test(test_privileges_mysql),
        cmocka_unit_test(test_privileges_mariadb),
        cmocka_unit_test(test_values_mariadb),
        cmocka_unit_test(test_values_mysql),
        cmocka_unit_test(test_handoff_p1),
        cmocka_unit_test(test_handoff_p4),
        cmocka_unit_test(test_handoff_lock_tables),
        cmocka_unit_test(test_handoff_mariadb_lock),
        cmocka_unit_test(test_callback_abort),
        cmocka_unit_test(test_stop_flag),
        cmocka_unit_test(test_stream_entry),
        cmocka_unit_test(test_pause_anywhere),
        cmocka_unit_test(test_ddl_window),
        cmocka_unit_test(test_pause_writers),
        cmocka_unit_test(test_worker_lowat),
        cmocka_unit_test(test_gtid_while_rows),
        cmocka_unit_test(test_gtid_conn_killed),
        cmocka_unit_test(test_gtid_stream_checkpoints),
    };
    if (getenv("CDC_TEST_FILTER")) cmocka_set_test_filter(getenv("CDC_TEST_FILTER")); /* e.g. test_pause* */
    /* CDC_TEST_FILTER=test_ddl_window runs one test (cmocka's pattern) */
    if (getenv("CDC_TEST_FILTER")) cmocka_set_test_filter(getenv("CDC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
