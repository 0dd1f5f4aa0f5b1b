/*
 * cdc dump FILE...: decode binlog files (plain or gzip) and print one JSON
 * object per row change per line, in binlog order (docs/output.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cdc/cdc.h>

#include "cli.h"
#include "commands.h"

typedef struct dump_ctx {
    cli_buf line;
    uint64_t start;       /* --start-position: skip what starts before */
    bool events;          /* --events: also print every event */
    int failed;
} dump_ctx;

static int flush_line(dump_ctx *x)
{
    if (cli_buf_append(&x->line, "\n", 1)) return CDC_ERR_NOMEM;
    if (fwrite(x->line.p, 1, x->line.len, stdout) != x->line.len) return CDC_ERR_IO;
    cli_buf_reset(&x->line);
    return 0;
}

static int on_event(const cdc_event *e, void *ud)
{
    dump_ctx *x = ud;
    if (!x->events || cdc_event_offset(e) < x->start) return 0;
    cli_buf_reset(&x->line);
    int rc = cli_event_json(&x->line, e);
    return rc ? rc : flush_line(x);
}

static int on_change(const cdc_change *c, void *ud)
{
    dump_ctx *x = ud;
    if (cdc_change_offset(c) < x->start) return 0;
    cli_buf_reset(&x->line);
    int rc = cli_change_json(&x->line, c);
    if (rc) {
        x->failed = rc;
        return rc;
    }
    return flush_line(x);
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
    cdc_decoder_set_position(d, name, 0);
    cdc_decoder_set_verify_checksums(d, verify);
    cdc_decoder_set_event_cb(d, on_event, x);
    cdc_decoder_set_change_cb(d, on_change, x);
    static uint8_t buf[1 << 16];
    int status = 0, n;
    while ((n = gzread(f, buf, sizeof buf)) > 0) {
        if (cdc_decoder_feed(d, buf, (size_t)n) < 0) break;
    }
    if (n < 0) {
        int zerr;
        const char *m = gzerror(f, &zerr);
        fprintf(stderr, "cdc dump: %s: read error: %s\n", path, m);
        status = 1;
    } else if (cdc_decoder_finish(d) != CDC_OK) {
        if (x->failed)
            fprintf(stderr, "cdc dump: %s: %s (rendering the change: %s)\n", path, cdc_decoder_errmsg(d),
                    cdc_strerror(x->failed));
        else
            fprintf(stderr, "cdc dump: %s: %s\n", path, cdc_decoder_errmsg(d));
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
            "  --events              also print one JSON line per event (for debugging)\n"
            "  --start-position=N    skip events that start before byte offset N\n"
            "  --no-verify-checksum  do not check CRC32 trailers\n");
}

int cmd_dump(int argc, char **argv)
{
    dump_ctx x;
    memset(&x, 0, sizeof x);
    bool verify = true;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (!strcmp(argv[i], "--")) { i++; break; }
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { dump_usage(stdout); return 0; }
        if (!strcmp(argv[i], "--events")) { x.events = true; continue; }
        if (!strcmp(argv[i], "--no-verify-checksum")) { verify = false; continue; }
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
    int status = 0;
    for (; i < argc && status == 0; i++) status = dump_file(argv[i], &x, verify);
    if (fflush(stdout) != 0) status = 1;
    cli_buf_free(&x.line);
    return status;
}
