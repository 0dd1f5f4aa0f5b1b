/*
 * Golden traces of the decoder: every binlog fixture (tests/fixtures,
 * MANIFEST.tsv) decoded through the public API, the callbacks written as
 * text (one line per event: offset, type, size, GTID; one JSON line per
 * row change, cdc_change_render_json), compared byte for byte with
 * tests/golden/<fixture>.trace.
 *
 * To keep the files small, a trace shows the first MAX_EVENTS events and
 * MAX_ROWS rows in full and then the counts and an FNV-1a hash of the
 * whole trace, so a change anywhere in a file still fails the test. The
 * values themselves are checked against mysqlbinlog and the servers'
 * SELECT in test_decoder_oracle.c and the differential tests; this test pins
 * down everything else the callbacks show, so that a refactoring that
 * changes any of it is seen.
 *
 * After an intended change: CDC_UPDATE_GOLDEN=1 meson test -C build golden,
 * then review `git diff tests/golden`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cdc/batch.h>
#include <cdc/binlog.h>

#include "testalloc.h"

enum { MAX_EVENTS = 60, MAX_ROWS = 40 };

typedef struct trace {
    FILE *out;        /* the readable part */
    uint64_t hash;    /* FNV-1a over every line, shown or not */
    uint64_t events, rows;
    char *buf;
    size_t cap;
} trace;

static void line(trace *t, bool show, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void line(trace *t, bool show, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof small);
    for (int i = 0; i < n; i++) t->hash = (t->hash ^ (uint8_t)small[i]) * 0x100000001b3ull;
    if (show) fputs(small, t->out);
}

static int on_event(const cdc_event *ev, void *ud)
{
    trace *t = ud;
    t->events++;
    line(t, t->events <= MAX_EVENTS, "event %" PRIu64 "%s %s size=%" PRIu32 " log_pos=%" PRIu32 " gtid=%s\n",
         cdc_event_offset(ev), cdc_event_is_inner(ev) ? " inner" : "", cdc_event_name(ev), cdc_event_size(ev),
         cdc_event_log_pos(ev), cdc_event_gtid(ev));
    return 0;
}

static int on_change(const cdc_change *c, void *ud)
{
    trace *t = ud;
    t->rows++;
    size_t need = 0;
    int rc = cdc_change_render_json(c, t->buf, t->cap, &need);
    if (rc == CDC_ERR_TOO_LARGE) {
        free(t->buf);
        t->cap = need * 2;
        t->buf = malloc(t->cap);
        assert_non_null(t->buf);
        rc = cdc_change_render_json(c, t->buf, t->cap, &need);
    }
    assert_int_equal(rc, CDC_OK);
    /* the JSON line can be long: hash it whole, show a bounded prefix */
    for (size_t i = 0; t->buf[i]; i++) t->hash = (t->hash ^ (uint8_t)t->buf[i]) * 0x100000001b3ull;
    if (t->rows <= MAX_ROWS) fprintf(t->out, "row %.400s%s\n", t->buf, strlen(t->buf) > 400 ? "..." : "");
    return 0;
}

/* The trace of one file into a malloc'd string. */
static char *trace_file(const char *path, const char *name)
{
    size_t n;
    uint8_t *data = read_file(path, &n);
    assert_non_null(data);
    char *text = NULL;
    size_t len = 0;
    trace t = {.out = open_memstream(&text, &len), .hash = 0xcbf29ce484222325ull};
    assert_non_null(t.out);
    cdc_decoder *d;
    char e[256];
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, e, sizeof e), CDC_OK);
    assert_int_equal(cdc_decoder_set_mode(d, CDC_DECODER_FILE), CDC_OK);
    assert_int_equal(cdc_decoder_set_position(d, name, 0), CDC_OK);
    cdc_decoder_set_event_cb(d, on_event, &t);
    cdc_decoder_set_change_cb(d, on_change, &t);
    ptrdiff_t used = cdc_decoder_feed(d, data, n);
    int rc = used < 0 ? (int)used : cdc_decoder_finish(d);
    fprintf(t.out, "events %" PRIu64 " rows %" PRIu64 " hash %016" PRIx64 "\n", t.events, t.rows, t.hash);
    fprintf(t.out, "end %s%s%s\n", rc ? cdc_err_name(rc) : "ok", rc ? ": " : "", rc ? cdc_decoder_errmsg(d) : "");
    cdc_decoder_free(d);
    fclose(t.out);
    free(t.buf);
    free(data);
    return text;
}

static bool is_binlog(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    unsigned char m[4] = {0};
    size_t got = fread(m, 1, 4, f);
    fclose(f);
    return got == 4 && (m[0] == 0xfe || m[0] == 0xfd) && m[1] == 'b' && m[2] == 'i' && m[3] == 'n';
}

static void test_golden_traces(void **state)
{
    (void)state;
    const char *root = getenv("CDC_FIXTURES"), *src = getenv("CDC_SOURCE_ROOT");
    if (!root || !src) fail_msg("CDC_FIXTURES and CDC_SOURCE_ROOT must be set (run through meson test)");
    bool update = getenv("CDC_UPDATE_GOLDEN") && *getenv("CDC_UPDATE_GOLDEN") == '1';
    char path[8192], gold[8192];
    snprintf(path, sizeof path, "%s/MANIFEST.tsv", root);
    FILE *m = fopen(path, "r");
    assert_non_null(m);
    char ln[1000];
    int files = 0, bad = 0;
    while (fgets(ln, sizeof ln, m)) {
        char *tab = strchr(ln, '\t');
        if (!tab) continue;
        *tab = 0;
        if (!strcmp(ln, "dest")) continue;
        snprintf(path, sizeof path, "%s/%s", root, ln);
        if (!is_binlog(path)) continue;
        char flat[1000];
        snprintf(flat, sizeof flat, "%s", ln);
        for (char *p = flat; *p; p++)
            if (*p == '/') *p = '@';
        snprintf(gold, sizeof gold, "%s/tests/golden/%s.trace", src, flat);
        const char *slash = strrchr(ln, '/');
        char *got = trace_file(path, slash ? slash + 1 : ln);
        files++;
        if (update) {
            FILE *g = fopen(gold, "w");
            assert_non_null(g);
            fputs(got, g);
            fclose(g);
        } else {
            size_t wn;
            char *want = (char *)read_file(gold, &wn);
            if (!want) {
                print_error("%s: no golden trace %s (CDC_UPDATE_GOLDEN=1 writes it)\n", ln, gold);
                bad++;
            } else if (wn != strlen(got) || memcmp(want, got, wn)) {
                size_t i = 0;
                while (i < wn && got[i] && want[i] == got[i]) i++;
                while (i && want[i - 1] != '\n') i--;
                print_error("%s differs from %s at byte %zu:\nwant: %.200s\ngot:  %.200s\n", ln, gold, i,
                            i < wn ? want + i : "", got + i);
                bad++;
            }
            free(want);
        }
        free(got);
    }
    fclose(m);
    print_message("%d binlog fixtures traced%s\n", files, update ? " (golden files written)" : "");
    assert_true(files >= 140);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_traces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
