/*
 * Unit tests for delivery.c, the stream's exactly-once bookkeeping, with
 * no server: real binlog fixtures go through decoder + delivery driven
 * the way stream.c drives them, and the host's callbacks are logged.
 *
 * The oracle is the same file read without interruption: a run cut by
 * simulated disconnects (the session dropped at a byte offset and
 * re-dumped from the safe position: the file's header, then the bytes
 * from the safe offset), by host pauses (kept in the decoder, or dirty
 * and re-dumped) or ended by stop.at must log exactly the callbacks of
 * the uninterrupted run (or its prefix up to the stop), each once. The
 * row counts of the uninterrupted run are checked against the decoder
 * alone (no delivery), filters against the fixture's known tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "decoder.h"
#include "delivery.h"

#include "testalloc.h"

static char *fixture_path(const char *rel)
{
    static char path[4096];
    const char *root = getenv("CDC_FIXTURES");
    if (!root) fail_msg("CDC_FIXTURES is not set (run through meson test)");
    snprintf(path, sizeof path, "%s/%s", root, rel);
    return path;
}

static const char *base_name(const char *rel)
{
    const char *s = strrchr(rel, '/');
    return s ? s + 1 : rel;
}

/* ---- the host: every callback as a line --------------------------------- */

typedef struct host {
    cdc__buf log;
    size_t changes, commits, ddls, checkpoints;
    long pause_every;   /* the change callback pauses every Nth call (0: never) */
    long calls;
    uint64_t last_commit_offset;
} host;

static void logf_(host *h, const char *fmt, ...) CDC__PRINTF(2, 3);
static void logf_(host *h, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    assert_int_equal(cdc__buf_append(&h->log, line, strlen(line)), CDC_OK);
}

static int h_change(const cdc_change *c, void *ud)
{
    host *h = ud;
    const cdc_table *t = cdc_change_table(c);
    logf_(h, "change %c %s.%s %s:%" PRIu64 "#%" PRIu64 " cols", cdc_change_op(c), cdc_table_db(t),
          cdc_table_name(t), cdc_change_file(c), cdc_change_offset(c), cdc_change_row(c));
    for (size_t i = 0; i < cdc_table_column_count(t); i++) {
        const char *n = cdc_table_column_name(t, i);
        bool present = cdc_change_after(c, i) || cdc_change_before(c, i);
        logf_(h, " %s%s", n ? n : "?", present ? "" : "(hidden)");
    }
    logf_(h, "\n");
    h->changes++;
    h->calls++;
    return h->pause_every && h->calls % h->pause_every == 0 ? CDC_ERR_PAUSED : 0;
}

static int h_begin(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *at, void *ud)
{
    host *h = ud;
    logf_(h, "begin %s sid=%" PRIu32 " ts=%" PRId64 " after %s:%" PRIu64 "\n", gtid, sid, ts,
          cdc_position_file(at), cdc_position_offset(at));
    return 0;
}

static int h_commit(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *at, void *ud)
{
    host *h = ud;
    logf_(h, "commit %s sid=%" PRIu32 " ts=%" PRId64 " at %s:%" PRIu64 "\n", gtid, sid, ts, cdc_position_file(at),
          cdc_position_offset(at));
    assert_true(cdc_position_offset(at) > h->last_commit_offset); /* the safe position only moves on */
    h->last_commit_offset = cdc_position_offset(at);
    h->commits++;
    return 0;
}

static int h_ddl(const cdc_query *q, const cdc_position *at, void *ud)
{
    host *h = ud;
    cdc_bytes sql = cdc_query_sql(q);
    logf_(h, "ddl %.*s at %s:%" PRIu64 "\n", (int)(sql.len > 60 ? 60 : sql.len), (const char *)sql.ptr,
          cdc_position_file(at), cdc_position_offset(at));
    h->ddls++;
    return 0;
}

static int h_checkpoint(const cdc_position *at, void *ud)
{
    host *h = ud;
    logf_(h, "checkpoint %s:%" PRIu64 "\n", cdc_position_file(at), cdc_position_offset(at));
    h->checkpoints++;
    return 0;
}

/* ---- the driver: stream.c's session loop over a file --------------------- */

typedef struct drive {
    const char *rel;             /* fixture */
    const char *const *cfg;      /* filter keys, key/value pairs, NULL-terminated */
    const size_t *cuts;          /* byte offsets where the session drops (ascending, 0-ended) */
    long pause_every;
    const char *stop_at;         /* "FILE:OFFSET" or NULL */
    size_t chunk;                /* bytes per feed */
} drive;

typedef struct run {
    host h;
    size_t sessions, names_asked, dirty_pauses, clean_pauses;
    bool stopped;
    cdc_position safe;           /* copy of the final safe position */
} run;

static int publish_count;
static int count_publish(const cdc_position *p, void *ud)
{
    (void)p;
    (void)ud;
    publish_count++;
    return CDC_OK;
}

/* The metrics stream.c keeps, as the delivery sets them: row changes,
 * the lag's updates, and the most row changes delivered between two of
 * them (delivery.c retakes the lag at most every 64 rows of one commit
 * time). */
static struct {
    size_t rows, lag_sets, since_lag, most_since_lag;
} metrics;

static void count_metric_add(cdc_metric m, uint64_t v, void *ud)
{
    (void)ud;
    if (m != CDC_METRIC_ROWS) return;
    metrics.rows += v;
    metrics.since_lag += v;
}

static void count_metric_set(cdc_metric m, uint64_t v, void *ud)
{
    (void)ud;
    (void)v;
    if (m != CDC_METRIC_LAG_MS) return;
    metrics.lag_sets++;
    /* the rows counted since the last update, the one that asks for this
     * one included when it is a row's */
    if (metrics.since_lag > metrics.most_since_lag) metrics.most_since_lag = metrics.since_lag;
    metrics.since_lag = 0;
}

/* Column names the way stream.c fetches them, without a server: c1..cN
 * put in the schema cache. */
static void supply_names(cdc__schema *sc, const cdc__delivery *dv)
{
    if (sc->n == sc->cap) {
        size_t nc = sc->cap ? sc->cap * 2 : 8;
        sc->e = cdc__realloc(sc->alloc, sc->e, nc * sizeof *sc->e);
        assert_non_null(sc->e);
        sc->cap = nc;
    }
    cdc__schema_entry *e = &sc->e[sc->n++];
    e->db = cdc__malloc(sc->alloc, strlen(dv->names_db) + 1);
    e->table = cdc__malloc(sc->alloc, strlen(dv->names_table) + 1);
    e->names = cdc__calloc(sc->alloc, dv->names_ncols, sizeof *e->names);
    e->json = NULL;
    assert_true(e->db && e->table && e->names);
    strcpy(e->db, dv->names_db);
    strcpy(e->table, dv->names_table);
    for (size_t i = 0; i < dv->names_ncols; i++) {
        e->names[i] = cdc__malloc(sc->alloc, 24);
        assert_non_null(e->names[i]);
        snprintf(e->names[i], 24, "c%zu", i + 1);
    }
    e->ncols = dv->names_ncols;
}

/* Size of the file header a re-dump is sent first: magic and the FDE. */
static size_t header_len(const uint8_t *p, size_t n)
{
    assert_true(n >= 4 + 19);
    return 4 + cdc__le32(p + 4 + 9);
}

static void do_run(const drive *dr, run *r)
{
    memset(r, 0, sizeof *r);
    size_t n;
    uint8_t *file = read_file(fixture_path(dr->rel), &n);
    assert_non_null(file);
    const char *name = base_name(dr->rel);

    cdc_config *cfg;
    char e[256];
    assert_int_equal(cdc_config_new(&cfg, &test_alloc), CDC_OK);
    for (const char *const *kv = dr->cfg; kv && kv[0]; kv += 2)
        if (cdc_config_set(cfg, kv[0], kv[1], e, sizeof e)) fail_msg("%s", e);
    cdc__err err = {0};
    cdc__filter f;
    assert_int_equal(cdc__filter_init(&f, cfg, &test_alloc, &err), CDC_OK);
    cdc__schema sc;
    cdc__schema_init(&sc, &test_alloc);
    cdc__delivery dv;
    cdc__delivery_init(&dv, &test_alloc, &f, &sc, &err);
    dv.hooks = (cdc__delivery_hooks){.publish = count_publish, .metric_add = count_metric_add,
                                     .metric_set = count_metric_set};
    memset(&metrics, 0, sizeof metrics);
    dv.host = (cdc__delivery_host){h_change, &r->h, h_begin, h_commit, &r->h, &r->h, h_ddl, &r->h,
                                   h_checkpoint, &r->h};
    dv.checkpoint_ms = 0;
    r->h.pause_every = dr->pause_every;
    cdc__buf_init(&r->h.log, &test_alloc);
    assert_int_equal(cdc__position_set_file(&dv.safe, name, strlen(name)), CDC_OK);
    dv.safe.offset = 4;
    dv.safe_file_ok = true;
    if (dr->stop_at) {
        assert_int_equal(cdc__where_parse(dr->stop_at, "stop.at", false, &dv.stop_kind, &dv.stop, &err), CDC_OK);
    }

    size_t hl = header_len(file, n), chunk = dr->chunk ? dr->chunk : 4096;
    const size_t *cut = dr->cuts;
    cdc_decoder *dec = NULL;
    size_t at = 0;              /* next file byte to feed */
    for (;;) {
        if (!dec) { /* session_open: a re-dump from the safe position */
            assert_int_equal(cdc_decoder_new(&dec, &test_alloc, e, sizeof e), CDC_OK);
            assert_int_equal(cdc_decoder_set_position(dec, name, 0), CDC_OK);
            cdc__delivery_attach(&dv, dec);
            r->sessions++;
            assert_int_equal(cdc_decoder_feed(dec, file, hl), (ptrdiff_t)hl);
            at = dv.safe.offset > hl ? (size_t)dv.safe.offset : hl;
            assert_int_equal(cdc_decoder_set_position(dec, name, at), CDC_OK);
        }
        if (at >= n) break;
        size_t end = at + chunk < n ? at + chunk : n;
        bool drop = false;
        if (cut && *cut && *cut <= end) {
            if (*cut > at) end = *cut;
            cut++;
            drop = true;
        }
        /* stream.c's feed() */
        const uint8_t *p = file + at;
        size_t len = end - at;
        for (;;) {
            ptrdiff_t used = cdc_decoder_feed(dec, p, len);
            assert_false(dv.failed);
            if (used < 0) fail_msg("%s", cdc_decoder_errmsg(dec));
            p += used;
            len -= (size_t)used;
            if (dv.stop_reached) {
                r->stopped = true;
                break;
            }
            if (dv.pausing) { /* the host paused; cdc_stream_start() resumes */
                dv.pausing = false;
                if (dv.pause_dirty) {
                    dv.pause_dirty = false;
                    r->dirty_pauses++;
                    drop = true;
                    break;
                }
                r->clean_pauses++;
                continue;
            }
            if (dv.names_wanted) {
                dv.names_wanted = false;
                r->names_asked++;
                supply_names(&sc, &dv);
                continue;
            }
            assert_int_equal(len, 0);
            break;
        }
        if (r->stopped) break;
        at = (size_t)(p - file);
        if (drop) { /* session_drop */
            cdc_decoder_free(dec);
            dec = NULL;
            cdc__delivery_drop(&dv);
        }
    }
    if (dec) {
        if (!r->stopped) assert_int_equal(cdc_decoder_finish(dec), CDC_OK);
        cdc_decoder_free(dec);
    }
    cdc__delivery_drop(&dv);
    if (r->stopped) assert_int_equal(cdc__delivery_final_checkpoint(&dv), CDC_OK);
    cdc__position_init(&r->safe, &test_alloc);
    assert_int_equal(cdc__position_copy(&r->safe, &dv.safe), CDC_OK);
    cdc__delivery_free(&dv);
    cdc__schema_free(&sc);
    cdc__filter_free(&f);
    cdc_config_free(cfg);
    free(file);
}

static void run_free(run *r)
{
    cdc__buf_free(&r->h.log);
    cdc__position_clear(&r->safe);
}

static const char *log_text(run *r)
{
    assert_int_equal(cdc__buf_terminate(&r->h.log), CDC_OK);
    return (const char *)r->h.log.data;
}

/* Rows the decoder alone reports for a file: the oracle of row counts. */
static int count_cb(const cdc_change *c, void *ud)
{
    (void)c;
    (*(size_t *)ud)++;
    return 0;
}

static size_t decoder_rows(const char *rel)
{
    size_t n, rows = 0;
    uint8_t *file = read_file(fixture_path(rel), &n);
    assert_non_null(file);
    cdc_decoder *d;
    char e[128];
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, e, sizeof e), CDC_OK);
    assert_int_equal(cdc_decoder_set_mode(d, CDC_DECODER_FILE), CDC_OK);
    cdc_decoder_set_change_cb(d, count_cb, &rows);
    assert_int_equal(cdc_decoder_feed(d, file, n), (ptrdiff_t)n);
    assert_int_equal(cdc_decoder_finish(d), CDC_OK);
    cdc_decoder_free(d);
    free(file);
    return rows;
}

/* The fixtures: a MariaDB binlog with GTIDs and no column names (8,006
 * rows over many tables), a MySQL 8.0.40 one whose rows sit in a
 * compressed TRANSACTION_PAYLOAD, and a MariaDB one with column names. */
static const char *const MDEV6020 = "mariadb-server-11.8.6/std_data/mdev6020-mysql-bin.000001";
static const char *const PAYLOAD = "mariadb-server-11.8.6/std_data/mdev35643_mysql_80_binlog.000001";
static const char *const NAMED = "rust_mysql_common/mariadb-bin.000001";
static const char *const COMPRESSED = "mysql-binlog-connector-rust/mysql-bin.000057";

static void expect_same(const drive *base, const drive *other)
{
    run a, b;
    do_run(base, &a);
    do_run(other, &b);
    if (strcmp(log_text(&a), log_text(&b))) {
        /* print the first difference */
        const char *x = log_text(&a), *y = log_text(&b);
        size_t i = 0;
        while (x[i] && x[i] == y[i]) i++;
        while (i && x[i - 1] != '\n') i--;
        fail_msg("%s: logs differ at byte %zu:\nuninterrupted: %.200s\ninterrupted:   %.200s", base->rel, i, x + i,
                 y + i);
    }
    assert_int_equal(cdc_position_offset(&a.safe), cdc_position_offset(&b.safe));
    assert_string_equal(a.safe.gtid_text.len ? (const char *)a.safe.gtid_text.data : "",
                        b.safe.gtid_text.len ? (const char *)b.safe.gtid_text.data : "");
    run_free(&a);
    run_free(&b);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_every_row_once_uninterrupted(void **state)
{
    (void)state;
    const char *const files[] = {MDEV6020, PAYLOAD, NAMED, COMPRESSED};
    for (size_t i = 0; i < 4; i++) {
        drive d = {.rel = files[i]};
        run r;
        do_run(&d, &r);
        assert_int_equal(r.h.changes, decoder_rows(files[i]));
        assert_int_equal(r.sessions, 1);
        assert_true(r.h.commits > 0);
        run_free(&r);
    }
}

/* CDC_METRIC_LAG_MS is a wall-clock read: taken for the first row of
 * every commit time and at every commit, but within one commit time at
 * most every 64 row changes, not for each (a tenth of cdc stream's CPU). */
static void test_lag_taken_every_64_rows_of_a_commit_time(void **state)
{
    (void)state;
    const char *const files[] = {MDEV6020, PAYLOAD, NAMED, COMPRESSED};
    size_t all_rows = 0, all_sets = 0, all_commits = 0;
    for (size_t i = 0; i < 4; i++) {
        drive d = {.rel = files[i]};
        run r;
        do_run(&d, &r);
        assert_int_equal(metrics.rows, r.h.changes);
        assert_true(metrics.lag_sets >= r.h.commits); /* every commit */
        assert_true(metrics.most_since_lag <= 64);
        all_rows += metrics.rows;
        all_sets += metrics.lag_sets;
        all_commits += r.h.commits;
        run_free(&r);
    }
    /* once per row change and commit would be rows + commits */
    printf("lag taken %zu times for %zu row changes and %zu commits\n", all_sets, all_rows, all_commits);
    assert_true(all_sets + 1000 < all_rows + all_commits);
}

static void test_disconnects_deliver_each_callback_once(void **state)
{
    (void)state;
    /* cuts inside events, inside transactions, right at boundaries */
    static const size_t cuts_big[] = {3000, 3001, 7777, 20000, 20019, 65536, 200003, 350000, 515000, 0};
    static const size_t cuts_small[] = {300, 301, 555, 600, 1000, 1200, 2000, 0};
    drive base = {.rel = MDEV6020}, cut = {.rel = MDEV6020, .cuts = cuts_big, .chunk = 1000};
    expect_same(&base, &cut);
    const char *const small[] = {PAYLOAD, NAMED, COMPRESSED};
    for (size_t i = 0; i < 3; i++) {
        drive b = {.rel = small[i]}, c = {.rel = small[i], .cuts = cuts_small, .chunk = 97};
        expect_same(&b, &c);
    }
}

static void test_pauses_deliver_each_callback_once(void **state)
{
    (void)state;
    const char *const files[] = {MDEV6020, PAYLOAD, NAMED};
    const long every[] = {7, 1, 1};
    for (size_t i = 0; i < 3; i++) {
        drive b = {.rel = files[i]}, p = {.rel = files[i], .pause_every = every[i], .chunk = 513};
        expect_same(&b, &p);
        run r;
        do_run(&p, &r);
        /* pauses between rows events keep their place; a pause inside a
         * multi-row event (or a payload) cannot and re-dumps */
        assert_true(r.clean_pauses + r.dirty_pauses > 0);
        run_free(&r);
    }
    run r;
    drive p = {.rel = PAYLOAD, .pause_every = 1};
    do_run(&p, &r);
    /* 100 one-row events inside one compressed payload: each pause keeps its place */
    assert_true(r.clean_pauses >= 100);
    run_free(&r);
    drive m = {.rel = MDEV6020, .pause_every = 1};
    do_run(&m, &r);
    assert_true(r.dirty_pauses > 0); /* multi-row events: a pause after row 0 re-dumps */
    run_free(&r);
}

static void test_pauses_and_disconnects_together(void **state)
{
    (void)state;
    static const size_t cuts[] = {4000, 90000, 90001, 300000, 0};
    drive b = {.rel = MDEV6020, .cfg = (const char *const[]){"table.exclude.list", "test.table1_*", NULL}};
    drive c = b;
    c.cuts = cuts;
    c.pause_every = 13;
    c.chunk = 333;
    expect_same(&b, &c);
}

static void test_stop_at_ends_at_a_transaction_boundary(void **state)
{
    (void)state;
    run full;
    drive b = {.rel = MDEV6020};
    do_run(&b, &full);
    /* stop points: inside the first transactions, mid-file, past the end */
    const char *const stops[] = {"mdev6020-mysql-bin.000001:3000", "mdev6020-mysql-bin.000001:250000",
                                 "mdev6020-mysql-bin.000001:999999999"};
    for (size_t i = 0; i < 3; i++) {
        drive d = {.rel = MDEV6020, .stop_at = stops[i], .chunk = 777};
        run r;
        do_run(&d, &r);
        uint64_t stop = strtoull(strchr(stops[i], ':') + 1, NULL, 10);
        const char *lt = log_text(&r), *ft = log_text(&full);
        /* what was delivered is a prefix of the full run, ending at a commit
         * (or the checkpoint at stop.at) */
        assert_int_equal(strncmp(lt, ft, strlen(lt)), 0);
        if (i < 2) {
            assert_true(r.stopped);
            assert_true(cdc_position_offset(&r.safe) >= stop);
            /* and no further: the last transaction is the first that ends at or after the stop */
            assert_true(r.h.last_commit_offset < stop || r.h.last_commit_offset == cdc_position_offset(&r.safe));
            assert_true(r.h.changes < full.h.changes);
        } else {
            assert_false(r.stopped);
            assert_int_equal(r.h.changes, full.h.changes);
        }
        /* with disconnects on the way, the same */
        static const size_t cuts[] = {2900, 3100, 100000, 0};
        drive c = d;
        c.cuts = cuts;
        expect_same(&d, &c);
        run_free(&r);
    }
    run_free(&full);
}

static void test_filters_and_column_names(void **state)
{
    (void)state;
    /* MINIMAL metadata: names asked once per table (cached across
     * sessions), only for wanted tables, and excluded columns hidden */
    drive d = {.rel = MDEV6020,
               .cfg = (const char *const[]){"table.include.list", "test.table10_int_autoinc,test.table2_int_autoinc",
                                            "column.exclude.list", "test.table10_int_autoinc.c2", NULL}};
    run r;
    do_run(&d, &r);
    /* each table once, and once more after its ALTER TABLE ... ENABLE
     * KEYS (DDL drops the cached names; rows follow it in this file) */
    assert_int_equal(r.names_asked, 4);
    const char *t = log_text(&r);
    assert_non_null(strstr(t, "change c test.table10_int_autoinc "));
    assert_non_null(strstr(t, " c1 c2(hidden) c3"));
    assert_null(strstr(t, "table1_int_autoinc"));
    assert_null(strstr(t, "table2_int_autoinc c1 c2(hidden)"));
    assert_true(r.h.checkpoints > 0); /* filtered transactions move the position */
    static const size_t cuts[] = {10000, 10001, 260000, 0};
    drive c = d;
    c.cuts = cuts;
    c.pause_every = 3;
    expect_same(&d, &c);
    run_free(&r);

    /* skipped operations and an excluded originating server */
    drive ops = {.rel = MDEV6020, .cfg = (const char *const[]){"skipped.operations", "c", NULL}};
    do_run(&ops, &r);
    assert_null(strstr(log_text(&r), "change c "));
    assert_non_null(strstr(log_text(&r), "change u "));
    run_free(&r);
    drive sid = {.rel = MDEV6020, .cfg = (const char *const[]){"server.id.exclude.list", "1", NULL}};
    do_run(&sid, &r);
    assert_int_equal(r.h.changes, 0);
    assert_true(r.h.checkpoints > 0);
    run_free(&r);
}

/* The baseline log as the marker filter must change it: a transaction
 * whose first change is on the marker table disappears whole (begin,
 * rows, commit), rows of the marker table disappear elsewhere, checkpoint
 * lines are left out of both sides. Returns the number dropped whole. */
static size_t expect_marked(const char *base, const char *marker, cdc__buf *out)
{
    size_t dropped = 0;
    const char *p = base;
    bool drop = false;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
        bool keep = true;
        if (!strncmp(p, "checkpoint ", 11)) {
            keep = false;
        } else if (!strncmp(p, "begin ", 6)) {
            drop = false;
            /* the begin line is written when the first wanted change comes */
            const char *c = p + len;
            if (!strncmp(c, "change ", 7)) {
                const char *sp = strchr(c + 9, ' ');
                drop = (size_t)(sp - (c + 9)) == strlen(marker) && !strncmp(c + 9, marker, strlen(marker));
            }
            if (drop) dropped++;
            keep = !drop;
        } else if (!strncmp(p, "change ", 7)) {
            const char *sp = strchr(p + 9, ' ');
            bool on_marker = (size_t)(sp - (p + 9)) == strlen(marker) && !strncmp(p + 9, marker, strlen(marker));
            keep = !drop && !on_marker;
        } else if (!strncmp(p, "commit ", 7)) {
            keep = !drop;
            drop = false;
        }
        if (keep) assert_int_equal(cdc__buf_append(out, p, len), CDC_OK);
        p += len;
    }
    assert_int_equal(cdc__buf_terminate(out), CDC_OK);
    return dropped;
}

static void strip_checkpoints(const char *in, cdc__buf *out)
{
    for (const char *p = in; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
        if (strncmp(p, "checkpoint ", 11)) assert_int_equal(cdc__buf_append(out, p, len), CDC_OK);
        p += len;
    }
    assert_int_equal(cdc__buf_terminate(out), CDC_OK);
}

static void test_marker_table_drops_tagged_transactions(void **state)
{
    (void)state;
    /* Loop prevention (transaction.marker.table): checked against the
     * same file read without the filter. */
    static const char *const MARK = "test.table10_int_autoinc";
    drive base = {.rel = MDEV6020};
    drive m = {.rel = MDEV6020, .cfg = (const char *const[]){"transaction.marker.table", MARK, NULL}};
    run a, b;
    do_run(&base, &a);
    do_run(&m, &b);
    cdc__buf want, got;
    cdc__buf_init(&want, &test_alloc);
    cdc__buf_init(&got, &test_alloc);
    size_t dropped = expect_marked(log_text(&a), MARK, &want);
    strip_checkpoints(log_text(&b), &got);
    assert_true(dropped > 0);
    assert_null(strstr((const char *)got.data, MARK));
    assert_string_equal((const char *)got.data, (const char *)want.data);
    /* the position still moves past the dropped transactions */
    assert_int_equal(cdc_position_offset(&a.safe), cdc_position_offset(&b.safe));
    assert_true(b.h.checkpoints > 0);
    cdc__buf_free(&want);
    cdc__buf_free(&got);
    run_free(&a);
    run_free(&b);
    /* the same decisions when sessions drop and the host pauses */
    static const size_t cuts[] = {5000, 90001, 260000, 0};
    drive c = m;
    c.cuts = cuts;
    c.pause_every = 5;
    expect_same(&m, &c);
    /* a marker rule must name db.table */
    cdc_config *cfg;
    char e[256];
    assert_int_equal(cdc_config_new(&cfg, &test_alloc), CDC_OK);
    assert_int_equal(cdc_config_set(cfg, "transaction.marker.table", "nodot", e, sizeof e), CDC_OK);
    cdc__err err = {0};
    cdc__filter f;
    assert_int_equal(cdc__filter_init(&f, cfg, &test_alloc, &err), CDC_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "transaction.marker.table: 'nodot'"));
    cdc_config_free(cfg);
}

static void test_gtids_and_payload_positions(void **state)
{
    (void)state;
    /* MariaDB: each commit carries its GTID; the safe position after the
     * file is its end */
    run r;
    drive d = {.rel = NAMED};
    do_run(&d, &r);
    assert_non_null(strstr(log_text(&r), "commit 0-1-1 sid=1"));
    run_free(&r);
    /* MySQL compressed transactions: the commit of an inner XID is at the
     * end of the payload event, not inside it: every commit position is
     * the end of an outer event of the file */
    drive p = {.rel = PAYLOAD};
    do_run(&p, &r);
    size_t n, nends = 0;
    uint8_t *file = read_file(fixture_path(PAYLOAD), &n);
    static uint64_t ends[4096];
    for (size_t off = 4; off + 19 <= n && nends < 4096; off += cdc__le32(file + off + 9)) ends[nends++] = off + cdc__le32(file + off + 9);
    size_t commits = 0;
    for (const char *c = log_text(&r); (c = strstr(c, "\ncommit ")) != NULL; c++) {
        uint64_t at = strtoull(strchr(strstr(c, " at "), ':') + 1, NULL, 10);
        bool found = false;
        for (size_t i = 0; i < nends && !found; i++) found = ends[i] == at;
        if (!found) fail_msg("commit at %" PRIu64 " is not the end of an event", at);
        commits++;
    }
    assert_true(commits > 0);
    free(file);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_row_once_uninterrupted),
        cmocka_unit_test(test_lag_taken_every_64_rows_of_a_commit_time),
        cmocka_unit_test(test_disconnects_deliver_each_callback_once),
        cmocka_unit_test(test_pauses_deliver_each_callback_once),
        cmocka_unit_test(test_pauses_and_disconnects_together),
        cmocka_unit_test(test_stop_at_ends_at_a_transaction_boundary),
        cmocka_unit_test(test_filters_and_column_names),
        cmocka_unit_test(test_marker_table_drops_tagged_transactions),
        cmocka_unit_test(test_gtids_and_payload_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
