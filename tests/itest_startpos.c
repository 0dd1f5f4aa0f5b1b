/* Integration test of a stream started at an offset inside an event, on
 * MariaDB 10.11 and MySQL 9.7 from testenv.sh (issue 9). The dump from
 * such an offset fails on what it reads there (the server's "bogus data",
 * "binlog truncated", "exceeded max_allowed_packet", or bytes that pass
 * the server and fail our CRC32 check); the stream must instead say that
 * the position is not the start of an event and name the events around
 * it, as the server's own SHOW BINLOG EVENTS lists them. A start at an
 * event's first byte must keep working.
 *
 * Other tests write to the same servers at the same time: the events are
 * found by their position in SHOW BINLOG EVENTS, never assumed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cdc/cdc.h>

#include "resultset.h"
#include "testsupport.h"

#define DB "struct9_startpos"

typedef struct ev { uint64_t pos, end; char type[64]; } ev;

/* Writes one transaction of our own and returns, from the server's event
 * list, the events between the binlog positions before and after it. */
static size_t write_and_list(cdc__conn *root, ts_server s, char *file, size_t filecap, ev *evs, size_t max)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        char *before = ts_binlog_now(root, s, true);
        ts_exec(root, "INSERT INTO " DB ".t(v) VALUES (REPEAT('x', 200)), ('second row')");
        char *after = ts_binlog_now(root, s, true);
        char *colon_b = strrchr(before, ':'), *colon_a = strrchr(after, ':');
        *colon_b = *colon_a = 0;
        bool same_file = !strcmp(before, after);
        snprintf(file, filecap, "%s", before);
        char sql[1024];
        snprintf(sql, sizeof sql, "SHOW BINLOG EVENTS IN '%s' FROM %s", before, colon_b + 1);
        uint64_t end_pos = strtoull(colon_a + 1, NULL, 10);
        free(before);
        free(after);
        if (!same_file) continue; /* someone rotated the binlog meanwhile */
        cdc__result *r = ts_query(root, sql);
        size_t n = 0;
        int pc = cdc__result_col(r, "Pos"), ec = cdc__result_col(r, "End_log_pos"), tc = cdc__result_col(r, "Event_type");
        assert_true(pc >= 0 && ec >= 0 && tc >= 0);
        for (size_t i = 0; i < cdc__result_rows(r) && n < max; i++) {
            uint64_t p = strtoull(cdc__result_get(r, i, (size_t)pc), NULL, 10);
            if (p >= end_pos) break;
            evs[n].pos = p;
            evs[n].end = strtoull(cdc__result_get(r, i, (size_t)ec), NULL, 10);
            snprintf(evs[n].type, sizeof evs[n].type, "%s", cdc__result_get(r, i, (size_t)tc));
            n++;
        }
        cdc__result_free(r);
        if (n) return n;
    }
    fail_msg("%s: no events of our own transaction found", ts_server_name(s));
    return 0;
}

static cdc_stream *stream_at(ts_server s, const char *file, uint64_t start, uint64_t stop)
{
    cdc_config *c = ts_config(s, "cdc_repl");
    ts_config_set(c, "server.id", "4909");
    ts_config_set(c, "snapshot.mode", "never");
    ts_config_set(c, "database.include.list", DB);
    char where[700];
    snprintf(where, sizeof where, "%s:%llu", file, (unsigned long long)start);
    ts_config_set(c, "start", where);
    snprintf(where, sizeof where, "%s:%llu", file, (unsigned long long)stop);
    ts_config_set(c, "stop.at", where);
    cdc_stream *st;
    char err[512];
    if (cdc_stream_new(&st, c, NULL, err, sizeof err)) fail_msg("cdc_stream_new: %s", err);
    cdc_config_free(c);
    return st;
}

static int count_change(const cdc_change *c, void *ud)
{
    (void)c;
    (*(int *)ud)++;
    return 0;
}

static void test_start_inside_an_event(void **state)
{
    (void)state;
    for (int sv = 0; sv < 2; sv++) {
        ts_server s = (ts_server)sv;
        cdc__conn *root = ts_connect(s, NULL);
        ts_exec(root, "CREATE DATABASE IF NOT EXISTS " DB);
        ts_exec(root, "CREATE TABLE IF NOT EXISTS " DB ".t(id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(300))");
        char file[512];
        ev evs[64];
        size_t n = write_and_list(root, s, file, sizeof file, evs, 64);

        /* a start at each event's first byte works: the transaction's two
         * rows arrive and the stream ends at its end */
        int changes = 0;
        cdc_stream *st = stream_at(s, file, evs[0].pos, evs[n - 1].end);
        cdc_stream_set_change_cb(st, count_change, &changes);
        int rc = cdc_stream_start(st);
        if (rc != CDC_OK) fail_msg("%s: start at %s:%llu: %s", ts_server_name(s), file,
                                   (unsigned long long)evs[0].pos, cdc_stream_errmsg(st));
        assert_int_equal(changes, 2);
        cdc_stream_free(st);

        /* the rows event: its first 48 offsets after the first byte, its
         * middle and its last byte */
        const ev *w = NULL;
        for (size_t i = 0; i < n; i++)
            if (strstr(evs[i].type, "Write_rows")) w = &evs[i];
        if (!w) fail_msg("%s: no Write_rows event in our transaction", ts_server_name(s));
        int by_crc = 0, by_server = 0, tried = 0;
        for (uint64_t k = 1; k <= 50; k++) {
            uint64_t at = k <= 48 ? w->pos + k : k == 49 ? (w->pos + w->end) / 2 : w->end - 1;
            st = stream_at(s, file, at, evs[n - 1].end);
            changes = 0;
            cdc_stream_set_change_cb(st, count_change, &changes);
            rc = cdc_stream_start(st);
            const char *msg = cdc_stream_errmsg(st);
            char want[1024];
            snprintf(want, sizeof want, "start: position %s:%llu is not the start of an event (the events around it "
                     "start at %llu and %llu)", file, (unsigned long long)at, (unsigned long long)w->pos,
                     (unsigned long long)w->end);
            if (rc != CDC_ERR_CONFIG || !strstr(msg, want))
                fail_msg("%s: start at %s:%llu: %s (%s), want CDC_ERR_CONFIG '%s'", ts_server_name(s), file,
                         (unsigned long long)at, cdc_err_name(rc), msg, want);
            assert_int_equal(changes, 0);
            if (strstr(msg, "CRC32 mismatch")) by_crc++;
            if (strstr(msg, "server error 1236")) by_server++;
            tried++;
            cdc_stream_free(st);
        }
        printf("%s: %d offsets inside %s at %s:%llu: %d failed at the server, %d at our CRC32 check, "
               "all reported as not the start of an event\n",
               ts_server_name(s), tried, w->type, file, (unsigned long long)w->pos, by_server, by_crc);
        ts_exec(root, "DROP DATABASE " DB);
        cdc__conn_free(root);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_inside_an_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
