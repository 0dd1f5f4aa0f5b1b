/*
 * bench_json FILE [OUT]: the JSON lines `cdc dump FILE` prints (the
 * library's renderer, lib/output.c), written to OUT (default /dev/null)
 * in 1 MiB writes, with rows and time on stderr. It isolates the
 * library's share of `cdc dump` for the instruction-count check
 * (icount.py); its output equals cdc dump's.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cdc/cdc.h>

#include "output.h"
#include "util.h"

typedef struct ctx {
    cdc__buf out;
    cdc__err err;
    int fd;
    uint64_t rows;
    int failed;
} ctx;

static int flush_out(ctx *x)
{
    size_t off = 0;
    while (off < x->out.len) {
        ssize_t n = write(x->fd, x->out.data + off, x->out.len - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return CDC_ERR_IO;
        }
        off += (size_t)n;
    }
    cdc__buf_reset(&x->out);
    return 0;
}

static int on_change(const cdc_change *c, void *ud)
{
    ctx *x = ud;
    x->rows++;
    int rc = cdc__change_render_json(c, &x->out, &x->err);
    if (rc == 0) rc = cdc__buf_putc(&x->out, '\n');
    if (rc) {
        x->failed = rc;
        return rc;
    }
    return x->out.len >= ((size_t)1 << 20) ? flush_out(x) : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_json FILE [OUT]\n");
        return 2;
    }
    int in = open(argv[1], O_RDONLY);
    if (in < 0) {
        fprintf(stderr, "bench_json: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    ctx x;
    memset(&x, 0, sizeof x);
    cdc__buf_init(&x.out, NULL);
    x.fd = open(argc > 2 ? argv[2] : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (x.fd < 0) {
        fprintf(stderr, "bench_json: output: %s\n", strerror(errno));
        return 1;
    }
    cdc_decoder *d;
    char err[256];
    if (cdc_decoder_new(&d, NULL, err, sizeof err)) {
        fprintf(stderr, "bench_json: %s\n", err);
        return 1;
    }
    /* the position file name cdc dump would print */
    const char *base = strrchr(argv[1], '/');
    cdc_decoder_set_position(d, base ? base + 1 : argv[1], 0);
    cdc_decoder_set_change_cb(d, on_change, &x);
    static uint8_t buf[1 << 20];
    int status = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n <= 0) break;
        if (cdc_decoder_feed(d, buf, (size_t)n) < 0) break;
    }
    if (cdc_decoder_finish(d) != CDC_OK) {
        fprintf(stderr, "bench_json: %s (%s)\n", cdc_decoder_errmsg(d), x.failed ? x.err.msg : "");
        status = 1;
    }
    if (flush_out(&x)) status = 1;
    printf("rows %" PRIu64 "\n", x.rows);
    cdc_decoder_free(d);
    cdc__buf_free(&x.out);
    close(x.fd);
    close(in);
    return status;
}
