/*
 * cdc dump FILE...: decode binlog files (plain or gzip) and print one JSON
 * object per row change per line, in binlog order (docs/output.md); with
 * --format=debezium, one line per Debezium record (docs/debezium.md).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cdc/cdc.h>

#include "cli.h"
#include "commands.h"

/* Lines are gathered into writes of about this size: one fwrite per line
 * cost more than rendering a short line. */
#define OUT_BYTES (1u << 20)

/* 256 KiB reads: the kernel's cost per byte read falls up to about there
 * (29 ms of CPU for a 147 MB file against 31 at 64 KiB), and the buffer
 * still sits in L2 between the copy and the decoder's pass; 2-3% faster
 * than 64 KiB (docs/performance.md). */
#define READ_BYTES (1u << 18)

/* Both buffers, the input's and the output's, are 2 MiB huge-page
 * blocks (cli_huge_block): every byte of the file and of the output
 * passes through them, and without the TLB misses of 4 KiB pages cdc
 * dump took 2-4% less CPU (docs/performance.md). */

typedef struct dump_ctx {
    cli_buf line;         /* a line being put together from pieces */
    cli_buf out;          /* finished lines not yet written */
    uint64_t start;       /* --start-position: skip what starts before */
    uint64_t ev_start, ev_end; /* the last outer event seen in this file */
    bool start_found;     /* an event starts at `start` (or it is the file's start) */
    char start_err[300];  /* why `start` is no event boundary of this file */
    bool events;          /* --events: also print every event */
    int failed;
    cdc_debezium *dz;     /* --format=debezium */
    char dzerr[600];
    uint8_t *rbuf;        /* READ_BYTES of input */
} dump_ctx;

static int write_out(dump_ctx *x)
{
    if (x->out.len && fwrite(x->out.p, 1, x->out.len, stdout) != x->out.len) return CDC_ERR_IO;
    cli_buf_reset(&x->out);
    return 0;
}

/* Ends the line at the end of x->out (a byte stored in place: a call
 * of cli_buf_append and memcpy per line cost more than the byte). */
static int end_line(dump_ctx *x)
{
    if (x->out.len == x->out.cap && cli_buf_reserve(&x->out, 1)) return CDC_ERR_NOMEM;
    x->out.p[x->out.len++] = '\n';
    return x->out.len >= OUT_BYTES ? write_out(x) : 0;
}

static int flush_line(dump_ctx *x)
{
    if (cli_buf_append(&x->out, x->line.p, x->line.len)) return CDC_ERR_NOMEM;
    cli_buf_reset(&x->line);
    return end_line(x);
}

/* Whether --start-position names the first byte of an event: the first
 * event that starts at or after it must start exactly there. Inner events
 * of a TRANSACTION_PAYLOAD report the payload's offset, so only a new
 * offset is a new event. */
static int check_start(dump_ctx *x, const cdc_event *e)
{
    uint64_t off = cdc_event_offset(e);
    if (off == x->ev_start && x->ev_end) return 0;
    if (!x->start_found && off >= x->start) {
        if (off == x->start || x->start <= 4) {
            x->start_found = true;
        } else {
            snprintf(x->start_err, sizeof x->start_err,
                     "--start-position=%" PRIu64 " is not the start of an event (the events around it start at %"
                     PRIu64 " and %" PRIu64 ")", x->start, x->ev_start, off);
            return CDC_ERR_CALLBACK;
        }
    }
    x->ev_start = off;
    x->ev_end = off + cdc_event_size(e);
    return 0;
}

static int on_event(const cdc_event *e, void *ud)
{
    dump_ctx *x = ud;
    int rc = check_start(x, e);
    if (rc) return rc;
    if (!x->events || cdc_event_offset(e) < x->start) return 0;
    cli_buf_reset(&x->line);
    rc = cli_event_json(&x->line, e);
    return rc ? rc : flush_line(x);
}

/* Prints the records the renderer holds, one {"topic","key","value"} line each. */
static int print_records(dump_ctx *x, ptrdiff_t n)
{
    if (n < 0) {
        snprintf(x->dzerr, sizeof x->dzerr, "%s", cdc_debezium_errmsg(x->dz));
        x->failed = (int)n;
        return (int)n;
    }
    for (size_t i = 0; i < (size_t)n; i++) {
        cdc_bytes t, k, v;
        cdc_debezium_record(x->dz, i, &t, &k, &v);
        cli_buf_reset(&x->line);
        int rc = cli_buf_puts(&x->line, "{\"topic\":\"");
        if (!rc) rc = cli_buf_append(&x->line, t.ptr, t.len); /* topic names are [A-Za-z0-9._-] */
        if (!rc) rc = cli_buf_puts(&x->line, "\",\"key\":");
        if (!rc) rc = k.ptr ? cli_buf_append(&x->line, k.ptr, k.len) : cli_buf_puts(&x->line, "null");
        if (!rc) rc = cli_buf_puts(&x->line, ",\"value\":");
        if (!rc) rc = v.ptr ? cli_buf_append(&x->line, v.ptr, v.len) : cli_buf_puts(&x->line, "null");
        if (!rc) rc = cli_buf_puts(&x->line, "}");
        if (!rc) rc = flush_line(x);
        if (rc) return rc;
    }
    return 0;
}

/* Debezium's transaction id: the GTID, else file=<file>,pos=<offset>. */
static int on_begin(const cdc_event *e, void *ud)
{
    dump_ctx *x = ud;
    if (cdc_event_offset(e) < x->start) return 0;
    char id[600];
    const char *g = cdc_event_gtid(e);
    if (g && *g) snprintf(id, sizeof id, "%s", g);
    else snprintf(id, sizeof id, "file=%s,pos=%" PRIu64, cdc_event_file(e), cdc_event_offset(e));
    int rc = print_records(x, cdc_debezium_begin(x->dz, id, (int64_t)cdc_event_timestamp(e) * 1000));
    if (cdc_event_type_of(e) == CDC_EV_QUERY) cdc_debezium_set_thread(x->dz, cdc_event_thread_id(e));
    return rc;
}

static int on_commit(const cdc_event *e, void *ud)
{
    dump_ctx *x = ud;
    if (cdc_event_offset(e) < x->start) return 0;
    return print_records(x, cdc_debezium_commit(x->dz, (int64_t)cdc_event_timestamp(e) * 1000));
}

/* DDL statements become schema-change records; other statements
 * (statement-based DML, SAVEPOINT, XA...) do not: the library's test,
 * the same one the stream applies. */
static int on_query(const cdc_query *q, void *ud)
{
    dump_ctx *x = ud;
    if (cdc_event_offset(cdc_query_event(q)) < x->start || cdc_query_error_code(q) || !cdc_query_is_ddl(q)) return 0;
    return print_records(x, cdc_debezium_schema_change(x->dz, q, CDC_DEBEZIUM_SNAPSHOT_FALSE));
}

static int on_change(const cdc_change *c, void *ud)
{
    dump_ctx *x = ud;
    /* without --start-position (0), no call per row to ask */
    if (x->start && cdc_change_offset(c) < x->start) return 0;
    if (x->dz) return print_records(x, cdc_debezium_change(x->dz, c, CDC_DEBEZIUM_SNAPSHOT_FALSE));
    int rc = cli_change_json(&x->out, c); /* rendered in place; appends nothing on failure */
    if (rc) {
        x->failed = rc;
        return rc;
    }
    return end_line(x);
}

/* "dir/binlog.000042.gz" -> "binlog.000042" */
static void pos_name(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, n, "%s", b);
    size_t l = strlen(out);
    if (l > 3 && !strcmp(out + l - 3, ".gz")) out[l - 3] = 0;
}

static int dump_file(const char *path, dump_ctx *x, bool verify)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cdc dump: %s: %s\n", path, strerror(errno ? errno : ENOENT));
        return 1;
    }
    cdc_decoder *d;
    char err[256];
    if (cdc_decoder_new(&d, NULL, err, sizeof err)) {
        fprintf(stderr, "cdc dump: %s\n", err);
        gzclose(f);
        return 1;
    }
    char name[512];
    pos_name(path, name, sizeof name);
    x->ev_start = x->ev_end = 0;
    x->start_found = x->start <= 4;
    x->start_err[0] = 0;
    cdc_decoder_set_position(d, name, 0);
    cdc_decoder_set_verify_checksums(d, verify);
    cdc_decoder_set_event_cb(d, on_event, x);
    cdc_decoder_set_change_cb(d, on_change, x);
    if (x->dz) {
        cdc_decoder_set_begin_cb(d, on_begin, x);
        cdc_decoder_set_commit_cb(d, on_commit, x);
        cdc_decoder_set_query_cb(d, on_query, x);
    }
    uint8_t *buf = x->rbuf;
    int status = 0, n;
    while ((n = gzread(f, buf, READ_BYTES)) > 0) {
        if (cdc_decoder_feed(d, buf, (size_t)n) < 0) break;
    }
    if (n < 0) {
        int zerr;
        const char *m = gzerror(f, &zerr);
        fprintf(stderr, "cdc dump: %s: read error: %s\n", path, m);
        status = 1;
    } else if (x->start_err[0]) {
        fprintf(stderr, "cdc dump: %s: %s\n", path, x->start_err);
        status = 1;
    } else if (cdc_decoder_finish(d) != CDC_OK) {
        if (x->failed && x->dzerr[0])
            fprintf(stderr, "cdc dump: %s: %s (%s)\n", path, cdc_decoder_errmsg(d), x->dzerr);
        else if (x->failed)
            fprintf(stderr, "cdc dump: %s: %s (rendering the change: %s)\n", path, cdc_decoder_errmsg(d),
                    cdc_strerror(x->failed));
        else
            fprintf(stderr, "cdc dump: %s: %s\n", path, cdc_decoder_errmsg(d));
        status = 1;
    } else if (!x->start_found && x->start != x->ev_end) {
        /* the file's end is a boundary too: nothing after it to print */
        fprintf(stderr, "cdc dump: %s: --start-position=%" PRIu64 " is %s (the last event starts at %" PRIu64
                " and ends at %" PRIu64 ")\n", path, x->start,
                x->start > x->ev_end ? "past the end of the file" : "not the start of an event", x->ev_start,
                x->ev_end);
        status = 1;
    }
    cdc_decoder_free(d);
    gzclose(f);
    return status;
}

static void dump_usage(FILE *f)
{
    fprintf(f,
            "usage: cdc dump [options] FILE...\n"
            "Decodes binlog files (plain or .gz) and prints one JSON object per row change\n"
            "per line, in binlog order (docs/output.md).\n\n"
            "  --format json|debezium  json (default): the lines of docs/output.md; debezium:\n"
            "                        one line per Debezium record, {\"topic\":..,\"key\":..,\"value\":..}\n"
            "                        (docs/debezium.md)\n"
            "  -o, --option KEY=VALUE  a Debezium option (topic.prefix=cdc by default,\n"
            "                        decimal.handling.mode, schemas.enable, ...; docs/debezium.md)\n"
            "  --events              also print one JSON line per event (for debugging)\n"
            "  --start-position=N    skip events that start before byte offset N, which must be\n"
            "                        where an event starts (or 0..4, the file's start)\n"
            "  --no-verify-checksum  do not check CRC32 trailers\n");
}

int cmd_dump(int argc, char **argv)
{
    dump_ctx x;
    memset(&x, 0, sizeof x);
    bool verify = true;
    bool debezium = false;
    char err[600];
    const char *dzopts[64][2];
    size_t ndzopts = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (!strcmp(argv[i], "--")) { i++; break; }
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { dump_usage(stdout); return 0; }
        if (!strcmp(argv[i], "--events")) { x.events = true; continue; }
        if (!strcmp(argv[i], "--no-verify-checksum")) { verify = false; continue; }
        if (!strncmp(argv[i], "--format=", 9) || !strcmp(argv[i], "--format")) {
            const char *f = argv[i][8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[++i] : "");
            if (!strcmp(f, "debezium")) debezium = true;
            else if (!strcmp(f, "json")) debezium = false;
            else {
                fprintf(stderr, "cdc dump: --format: '%s' is not json or debezium\n", f);
                return 2;
            }
            continue;
        }
        if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--option") || !strncmp(argv[i], "--option=", 9)) {
            const char *kv = argv[i][2] == 'o' && argv[i][8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[++i] : NULL);
            const char *eq = kv ? strchr(kv, '=') : NULL;
            if (!eq || eq == kv || ndzopts == 64) {
                fprintf(stderr, "cdc dump: --option needs KEY=VALUE\n");
                return 2;
            }
            dzopts[ndzopts][0] = kv;
            dzopts[ndzopts][1] = eq + 1;
            ndzopts++;
            continue;
        }
        if (!strncmp(argv[i], "--start-position=", 17)) {
            char *end;
            errno = 0;
            x.start = strtoull(argv[i] + 17, &end, 10);
            if (errno || *end || end == argv[i] + 17) {
                fprintf(stderr, "cdc dump: bad --start-position '%s'\n", argv[i] + 17);
                return 2;
            }
            continue;
        }
        fprintf(stderr, "cdc dump: unknown option '%s'\n", argv[i]);
        dump_usage(stderr);
        return 2;
    }
    if (i >= argc) {
        dump_usage(stderr);
        return 2;
    }
    if (ndzopts && !debezium) {
        fprintf(stderr, "cdc dump: --option applies to --format=debezium only\n");
        return 2;
    }
    if (debezium) {
        if (cdc_debezium_new(&x.dz, NULL, err, sizeof err) ||
            cdc_debezium_set(x.dz, "topic.prefix", "cdc", err, sizeof err)) {
            fprintf(stderr, "cdc dump: %s\n", err);
            cdc_debezium_free(x.dz);
            return 1;
        }
        for (size_t k = 0; k < ndzopts; k++) {
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)(dzopts[k][1] - 1 - dzopts[k][0]), dzopts[k][0]);
            if (cdc_debezium_set(x.dz, key, dzopts[k][1], err, sizeof err)) {
                fprintf(stderr, "cdc dump: %s\n", err);
                cdc_debezium_free(x.dz);
                return 2;
            }
        }
    }
    /* lines go out in writes of OUT_BYTES from x.out; stdio passes writes
     * that large straight to write(), without copying them into its buffer
     * (a line that does not fit the block moves it by realloc) */
    void *hb = cli_huge_block();
    if (hb) {
        x.out.p = hb;
        x.out.cap = CLI_HUGE_BYTES;
    }
    void *rb = cli_huge_block();
    x.rbuf = rb ? rb : malloc(READ_BYTES);
    if (!x.rbuf) {
        fprintf(stderr, "cdc dump: out of memory\n");
        cli_buf_free(&x.out);
        cdc_debezium_free(x.dz);
        return 1;
    }
    int status = 0;
    for (; i < argc && status == 0; i++) status = dump_file(argv[i], &x, verify);
    if (write_out(&x) || fflush(stdout) != 0) status = 1;
    cli_buf_free(&x.line);
    cli_buf_free(&x.out);
    free(x.rbuf);
    cdc_debezium_free(x.dz);
    return status;
}
