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

/* Our transaction in the server's event list: where its GTID event
 * starts, its rows event, and where its commit ends. Others write to the
 * same binlog meanwhile, so it is found by our table's TABLE_MAP. */
typedef struct txn { uint64_t start, end; ev rows; } txn;

static void write_and_find(cdc__conn *root, ts_server s, char *file, size_t filecap, txn *t)
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
        int pc = cdc__result_col(r, "Pos"), ec = cdc__result_col(r, "End_log_pos"), tc = cdc__result_col(r, "Event_type"),
            ic = cdc__result_col(r, "Info");
        assert_true(pc >= 0 && ec >= 0 && tc >= 0 && ic >= 0);
        uint64_t gtid = 0;
        int state = 0; /* 1: our TABLE_MAP seen, 2: our rows seen, 3: committed */
        memset(t, 0, sizeof *t);
        for (size_t i = 0; i < cdc__result_rows(r) && state < 3; i++) {
            uint64_t p = strtoull(cdc__result_get(r, i, (size_t)pc), NULL, 10);
            uint64_t e = strtoull(cdc__result_get(r, i, (size_t)ec), NULL, 10);
            const char *type = cdc__result_get(r, i, (size_t)tc), *info = cdc__result_get(r, i, (size_t)ic);
            if (p >= end_pos) break;
            if (!strcmp(type, "Gtid") && state == 0) gtid = p;
            if (state == 0 && !strcmp(type, "Table_map") && info && strstr(info, "(" DB ".t)")) state = 1;
            else if (state == 1 && strstr(type, "Write_rows")) {
                t->rows.pos = p;
                t->rows.end = e;
                snprintf(t->rows.type, sizeof t->rows.type, "%s", type);
                state = 2;
            } else if (state == 2 && !strcmp(type, "Xid")) {
                t->start = gtid;
                t->end = e;
                state = 3;
            }
        }
        cdc__result_free(r);
        if (state == 3 && t->start) return;
    }
    fail_msg("%s: our transaction not found in the server's event list", ts_server_name(s));
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
        /* a fresh binlog file, so that listing its events from the start
         * (what the error message needs) stays short; rotating is what
         * FLUSH does every day on a server, nothing is purged */
        ts_exec(root, "FLUSH BINARY LOGS");
        char file[512];
        txn t;
        write_and_find(root, s, file, sizeof file, &t);

        /* a start at the transaction's first byte works: its two rows
         * arrive and the stream ends at its end */
        int changes = 0;
        cdc_stream *st = stream_at(s, file, t.start, t.end);
        cdc_stream_set_change_cb(st, count_change, &changes);
        int rc = cdc_stream_start(st);
        if (rc != CDC_OK) fail_msg("%s: start at %s:%llu: %s", ts_server_name(s), file,
                                   (unsigned long long)t.start, cdc_stream_errmsg(st));
        assert_int_equal(changes, 2);
        cdc_stream_free(st);

        /* the rows event: its first 48 offsets after the first byte, its
         * middle and its last byte */
        const ev *w = &t.rows;
        int before_dump = 0, by_crc = 0, by_server = 0, tried = 0;
        for (uint64_t k = 1; k <= 50; k++) {
            uint64_t at = k <= 48 ? w->pos + k : k == 49 ? (w->pos + w->end) / 2 : w->end - 1;
            st = stream_at(s, file, at, t.end);
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
            if (strstr(msg, "SHOW BINLOG EVENTS FROM")) before_dump++;
            else if (strstr(msg, "CRC32 mismatch")) by_crc++;
            else if (strstr(msg, "server error 1236")) by_server++;
            tried++;
            cdc_stream_free(st);
        }
        printf("%s: %d offsets inside %s at %s:%llu: %d refused before the dump, %d by the dump at the server, "
               "%d at our CRC32 check, %d otherwise; all reported as not the start of an event\n",
               ts_server_name(s), tried, w->type, file, (unsigned long long)w->pos, before_dump, by_server, by_crc,
               tried - before_dump - by_server - by_crc);
        fflush(stdout);
        /* a file the server does not have stays CDC_ERR_PURGED (the check
         * before the dump leaves it to the dump), at any offset */
        st = stream_at(s, s == TS_MYSQL ? "binlog.999999" : "mariadb-bin.999999", 1000, 2000);
        rc = cdc_stream_start(st);
        if (rc != CDC_ERR_PURGED)
            fail_msg("%s: missing file: %s (%s)", ts_server_name(s), cdc_err_name(rc), cdc_stream_errmsg(st));
        cdc_stream_free(st);
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
