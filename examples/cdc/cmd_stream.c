/*
 * cdc stream: follow a live server's binlog as a replica and print one
 * JSON object per row change per line, the same lines as `cdc dump`
 * (docs/output.md), until --stop-at, SIGINT/SIGTERM or an error.
 *
 * The rule (docs/stream.md, "What a checkpoint promises"): a checkpoint
 * this program saves or prints never lies past output that is not
 * completely written. Lines of a transaction are held back until its
 * commit (up to a limit, past which they are written as they come); the
 * checkpoint after a commit is saved only once every line up to that
 * commit has been written to stdout in full. Interrupted and short
 * writes are retried; a write that really fails (EPIPE, ENOSPC, EIO)
 * ends the run with the error and the checkpoint of the last
 * transaction whose lines are all out.
 *
 * Exit status: 0 at --stop-at, 130 on SIGINT (143 on SIGTERM), 1 on
 * error, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cdc/cdc.h>

#include "cli.h"
#include "commands.h"

#define SPILL_BYTES (1u << 20) /* a transaction's lines held back at most */
/* After a stop signal, how long a write may make no progress (a reader
 * that stopped reading) before the run gives up on it. */
#define DRAIN_STALL_MS 2000

typedef struct stream_ctx {
    cdc_stream *s;
    cli_buf txn;          /* lines of the open transaction not yet written */
    cli_buf line;
    bool spilled;         /* some lines of the open transaction are out */
    bool events;          /* --events: begin/commit/DDL lines too */
    bool verbose;
    bool fsync;           /* --fsync: output and checkpoint on disk before it counts */
    bool in_snapshot;     /* snapshot rows may come; its point is not yet saved */
    bool incr_lines;      /* lines of an incremental snapshot chunk wait for its checkpoint */
    bool snap_ck;         /* a checkpoint of the unfinished snapshot was saved */
    bool tty;             /* stderr is a terminal: progress is one updating line */
    bool progress_line;   /* that line is on the screen, unfinished */
    int64_t progress_ms;  /* when progress was last shown */
    size_t progress_tables; /* tables done then */
    bool wrote;           /* some line was written in this run */
    bool cut;             /* the output ends inside a line (gave up after a stop) */
    uint64_t snapshot_rows, emitted;
    /* --format debezium */
    cdc_debezium *dz;     /* it holds the last snapshot row back (cdc_debezium_snapshot_row) */
    const char *ckfile;
    char *durable;        /* the checkpoint of the last transaction wholly out */
    bool regular;         /* stdout is a regular file ... */
    off_t durable_off;    /* ... that ends here at the durable checkpoint */
    /* stdout is a pipe: a checkpoint counts once the reader has read every
     * byte before it, not when the bytes are in the pipe (a reader that
     * exits leaves them unread). Until then it waits here, in order. */
    bool pipe;
    uint64_t written;     /* bytes written to stdout by this run */
    struct pending { uint64_t end; char *ck; } *pend;
    size_t npend, cap_pend;
    int io_failed;
} stream_ctx;

static cdc_stream *volatile g_stream;
static volatile sig_atomic_t g_signal, g_signals;

static void on_signal(int sig)
{
    g_signal = sig;
    g_signals++;
    if (g_stream) cdc_stream_stop(g_stream);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Writes all of p to stdout (fd 1, unbuffered: the bytes are with the
 * reader or the file when this returns 0). EINTR and short writes are
 * retried. Once a stop signal has come, a reader that takes no bytes for
 * DRAIN_STALL_MS (or a second signal) makes it give up: the run then
 * ends at the last checkpoint that was wholly written.
 */
static int write_all(stream_ctx *x, const uint8_t *p, size_t n)
{
    int64_t stall_since = -1;
    while (n) {
        if (g_signal) {
            if (g_signals > 1) goto give_up;
            if (stall_since < 0) stall_since = now_ms();
            int64_t left = DRAIN_STALL_MS - (now_ms() - stall_since);
            if (left <= 0) goto give_up;
            struct pollfd pfd = {.fd = STDOUT_FILENO, .events = POLLOUT};
            int pr = poll(&pfd, 1, (int)left);
            if (pr < 0 && errno != EINTR) {
                x->io_failed = errno;
                return CDC_ERR_IO;
            }
            if (pr <= 0) continue; /* interrupted or timed out: judged above */
        }
        /* after a signal, at most PIPE_BUF per write: poll said that much fits */
        size_t chunk = g_signal && n > PIPE_BUF ? PIPE_BUF : n;
        ssize_t k = write(STDOUT_FILENO, p, chunk);
        if (k < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            x->io_failed = errno;
            return CDC_ERR_IO;
        }
        x->wrote = true;
        x->written += (uint64_t)k;
        x->cut = p[k - 1] != '\n';
        p += k;
        n -= (size_t)k;
        stall_since = -1;
    }
    return 0;
give_up:
    x->io_failed = ETIMEDOUT;
    return CDC_ERR_IO;
}

static int write_out(stream_ctx *x, const cli_buf *b)
{
    if (x->io_failed) return CDC_ERR_IO; /* the output is already broken */
    return b->len ? write_all(x, (const uint8_t *)b->p, b->len) : 0;
}

/* Ends the line at the end of the transaction's lines, writing them out
 * once they pass the limit. */
static int line_done(stream_ctx *x)
{
    x->emitted++;
    /* after a render there is room: the byte of its terminating NUL */
    if (x->txn.len < x->txn.cap) x->txn.p[x->txn.len++] = '\n';
    else if (cli_buf_append(&x->txn, "\n", 1)) return CDC_ERR_NOMEM;
    if (x->txn.len >= SPILL_BYTES) {
        x->spilled = true;
        int rc = write_out(x, &x->txn);
        if (rc) return rc;
        x->txn.len = 0;
    }
    return 0;
}

/* Adds the line put together in x->line to the transaction's lines. */
static int emit(stream_ctx *x)
{
    if (cli_buf_append(&x->txn, x->line.p, x->line.len)) return CDC_ERR_NOMEM;
    cli_buf_reset(&x->line);
    return line_done(x);
}

/* A row change's JSON line, rendered in place at the end of the
 * transaction's lines (cli_change_json appends nothing on failure): no
 * copy through x->line, which was 6% of cdc stream's CPU. */
static int emit_change(stream_ctx *x, const cdc_change *c)
{
    int rc = cli_change_json(&x->txn, c);
    return rc ? rc : line_done(x);
}

/* One {"topic","key","value"} line per record the renderer holds (the
 * same lines as `cdc dump --format debezium`); n < 0: its error. */
static int emit_records(stream_ctx *x, ptrdiff_t n)
{
    if (n < 0) {
        fprintf(stderr, "cdc stream: debezium: %s\n", cdc_debezium_errmsg(x->dz));
        return (int)n;
    }
    for (size_t i = 0; i < (size_t)n; i++) {
        cdc_bytes t, k, v;
        cdc_debezium_record(x->dz, i, &t, &k, &v);
        cli_buf_reset(&x->line);
        int rc = cli_buf_puts(&x->line, "{\"topic\":");
        if (!rc) rc = cli_json_string(&x->line, t.ptr, t.len);
        if (!rc) rc = cli_buf_puts(&x->line, ",\"key\":");
        if (!rc) rc = k.ptr ? cli_buf_append(&x->line, k.ptr, k.len) : cli_buf_puts(&x->line, "null");
        if (!rc) rc = cli_buf_puts(&x->line, ",\"value\":");
        if (!rc) rc = v.ptr ? cli_buf_append(&x->line, v.ptr, v.len) : cli_buf_puts(&x->line, "null");
        if (!rc) rc = cli_buf_puts(&x->line, "}");
        if (rc) return rc;
        if ((rc = emit(x))) return rc;
    }
    return 0;
}

/* The checkpoint string of pos (NULL: the stream's latest), malloc'd;
 * NULL when there is none yet. GTID sets make it any length. */
static char *checkpoint_text(stream_ctx *x, const cdc_position *pos)
{
    size_t need = 0;
    int rc = pos ? cdc_position_format(pos, NULL, 0, &need) : cdc_stream_checkpoint(x->s, NULL, 0, &need);
    if (rc != CDC_ERR_TOO_LARGE || !need) return NULL;
    char *ck = malloc(need);
    if (ck && (pos ? cdc_position_format(pos, ck, need, NULL) : cdc_stream_checkpoint(x->s, ck, need, NULL))) {
        free(ck);
        ck = NULL;
    }
    return ck;
}

/* Writes a checkpoint file atomically: a temporary file, flushed to
 * disk, renamed over it. */
static int write_checkpoint_file(stream_ctx *x, const char *ck)
{
    size_t n = strlen(x->ckfile) + 5;
    char *tmp = malloc(n);
    if (!tmp) return CDC_ERR_NOMEM;
    snprintf(tmp, n, "%s.tmp", x->ckfile);
    FILE *f = fopen(tmp, "w");
    bool ok = f != NULL;
    if (ok) {
        ok = fprintf(f, "%s\n", ck) >= 0 && fflush(f) == 0 && (!x->fsync || fsync(fileno(f)) == 0);
        ok = fclose(f) == 0 && ok;
    }
    ok = ok && rename(tmp, x->ckfile) == 0;
    int rc = 0;
    if (!ok) {
        int e = errno ? errno : EIO;
        unlink(tmp);
        fprintf(stderr, "cdc stream: cannot write checkpoint file '%s': %s\n", x->ckfile, strerror(e));
        x->io_failed = e;
        rc = CDC_ERR_IO;
    }
    free(tmp);
    return rc;
}

/* ck (malloc'd, taken) is now the checkpoint: in memory and in the file. */
static int set_durable(stream_ctx *x, char *ck)
{
    free(x->durable);
    x->durable = ck;
    return x->ckfile ? write_checkpoint_file(x, ck) : 0;
}

/* Bytes written to the pipe that its reader has not read yet. */
static uint64_t unread(void)
{
    int n = 0;
    return ioctl(STDOUT_FILENO, FIONREAD, &n) == 0 && n > 0 ? (uint64_t)n : 0;
}

/* Pending checkpoints whose bytes the reader has read become durable. */
static int advance_pipe(stream_ctx *x)
{
    uint64_t consumed = x->written - unread();
    size_t k = 0;
    while (k < x->npend && x->pend[k].end <= consumed) k++;
    if (!k) return 0;
    for (size_t i = 0; i + 1 < k; i++) free(x->pend[i].ck);
    char *ck = x->pend[k - 1].ck;
    memmove(x->pend, x->pend + k, (x->npend - k) * sizeof *x->pend);
    x->npend -= k;
    return set_durable(x, ck);
}

/* pos is the end of a transaction (or a quiet advance) whose lines are
 * all written: it becomes the checkpoint, in the file and on exit (for a
 * pipe, once the reader has read them). */
static int save_checkpoint(stream_ctx *x, const cdc_position *pos)
{
    if (x->txn.len || x->spilled || x->io_failed) return 0; /* not all out: keep the older one */
    /* stdout on disk first (a file; fsync of a pipe or terminal says EINVAL) */
    if (x->fsync && x->wrote && fsync(STDOUT_FILENO) != 0 && errno != EINVAL && errno != EROFS) {
        x->io_failed = errno;
        return CDC_ERR_IO;
    }
    char *ck = checkpoint_text(x, pos);
    if (!ck) return CDC_ERR_NOMEM;
    if (x->regular) {
        off_t off = lseek(STDOUT_FILENO, 0, SEEK_CUR);
        if (off >= 0) x->durable_off = off;
    }
    if (!x->pipe) return set_durable(x, ck);
    if (x->npend && x->pend[x->npend - 1].end == x->written) {
        /* nothing written since the last one: it only moves further */
        free(x->pend[x->npend - 1].ck);
        x->pend[x->npend - 1].ck = ck;
    } else {
        if (x->npend == x->cap_pend) {
            size_t cap = x->cap_pend ? x->cap_pend * 2 : 64;
            struct pending *np = realloc(x->pend, cap * sizeof *np);
            if (!np) {
                free(ck);
                return CDC_ERR_NOMEM;
            }
            x->pend = np;
            x->cap_pend = cap;
        }
        x->pend[x->npend++] = (struct pending){x->written, ck};
    }
    return advance_pipe(x);
}

/* At exit: gives the pipe's reader time to read what is written (until
 * it stops making progress, or a second signal), then takes the
 * checkpoints it has read. */
static void drain_pipe(stream_ctx *x)
{
    uint64_t left = unread(), was = left;
    int64_t since = now_ms();
    /* a reader that already stalled a write got its time */
    while (x->npend && left && g_signals < 2 && x->io_failed != ETIMEDOUT && now_ms() - since < DRAIN_STALL_MS) {
        advance_pipe(x);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        left = unread();
        if (left < was) since = now_ms();
        was = left;
    }
    advance_pipe(x);
}

/* Ends a transaction: its lines written, then the checkpoint. */
static int flush_txn(stream_ctx *x, const cdc_position *pos)
{
    int rc = write_out(x, &x->txn);
    if (rc) return rc; /* the lines stay unwritten: no checkpoint past them */
    cli_buf_reset(&x->txn);
    x->spilled = false;
    return save_checkpoint(x, pos);
}

static int txn_line(stream_ctx *x, const char *what, const char *gtid, uint32_t sid, int64_t ts,
                    const cdc_position *pos)
{
    cli_buf_reset(&x->line);
    int rc = cli_txn_json(&x->line, what, gtid, sid, ts, pos);
    return rc ? rc : emit(x);
}

static int on_begin(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    stream_ctx *x = ud;
    if (x->dz) {
        /* Debezium's transaction id: the GTID, else file=<file>,pos=<offset> */
        char id[600];
        if (*gtid) snprintf(id, sizeof id, "%s", gtid);
        else snprintf(id, sizeof id, "file=%s,pos=%llu", cdc_position_file(pos),
                      (unsigned long long)cdc_position_offset(pos));
        return emit_records(x, cdc_debezium_begin(x->dz, id, ts));
    }
    return x->events ? txn_line(x, "begin", gtid, sid, ts, pos) : 0;
}

static int on_commit(const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos, void *ud)
{
    stream_ctx *x = ud;
    int rc = x->dz ? emit_records(x, cdc_debezium_commit(x->dz, ts))
                   : x->events ? txn_line(x, "commit", gtid, sid, ts, pos) : 0;
    if (rc == 0) rc = flush_txn(x, pos);
    /* A signal that came while a spilled transaction had to be finished. */
    if (rc == 0 && g_signal) return CDC_ERR_PAUSED;
    return rc;
}

static int on_change(const cdc_change *c, void *ud)
{
    stream_ctx *x = ud;
    if (x->dz) return emit_records(x, cdc_debezium_change(x->dz, c, CDC_DEBEZIUM_SNAPSHOT_FALSE));
    return emit_change(x, c);
}

static int on_snapshot_row(const cdc_change *c, void *ud)
{
    stream_ctx *x = ud;
    x->in_snapshot = true;
    x->snapshot_rows++;
    if (!x->dz) return on_change(c, ud);
    /* source.snapshot as Debezium sets it: the renderer holds each row
     * back until the next one (or the end) shows where it stands */
    return emit_records(x, cdc_debezium_snapshot_row(x->dz, c));
}

/* A row of an incremental snapshot: an "op":"r" line (Debezium:
 * source.snapshot "incremental"), out with its chunk's checkpoint. */
static int on_incremental_row(const cdc_change *c, void *ud)
{
    stream_ctx *x = ud;
    x->incr_lines = true;
    if (x->dz) return emit_records(x, cdc_debezium_change(x->dz, c, CDC_DEBEZIUM_SNAPSHOT_INCREMENTAL));
    return emit_change(x, c);
}

static int on_ddl(const cdc_query *q, const cdc_position *pos, void *ud)
{
    stream_ctx *x = ud;
    if (x->dz) {
        int rc = emit_records(x, cdc_debezium_schema_change(x->dz, q, CDC_DEBEZIUM_SNAPSHOT_FALSE));
        if (rc) return rc;
    } else if (x->events) {
        cli_buf_reset(&x->line);
        int rc = cli_ddl_json(&x->line, q, pos);
        if (rc || (rc = emit(x))) return rc ? rc : CDC_ERR_NOMEM;
    }
    int rc = flush_txn(x, pos);
    if (rc == 0 && g_signal) return CDC_ERR_PAUSED;
    return rc;
}

static int on_checkpoint(const cdc_position *pos, void *ud)
{
    stream_ctx *x = ud;
    /* after an incremental snapshot chunk: its lines first */
    int rc = x->incr_lines ? flush_txn(x, pos) : save_checkpoint(x, pos);
    if (rc == 0) x->incr_lines = false;
    if (rc == 0 && g_signal) return CDC_ERR_PAUSED;
    return rc;
}

/* The snapshot is done: its rows are out; its point is the checkpoint. */
static int on_snapshot_done(const cdc_position *pos, void *ud)
{
    stream_ctx *x = ud;
    int rc = x->dz ? emit_records(x, cdc_debezium_snapshot_end(x->dz)) : 0; /* the very last row, marked last */
    if (rc == 0) rc = flush_txn(x, pos);
    if (rc == 0) x->in_snapshot = false;
    if (rc == 0 && g_signal) return CDC_ERR_PAUSED;
    return rc;
}

/* A chunk of the snapshot is delivered: its rows are written out and the
 * snapshot's progress becomes the checkpoint, so a restart goes on from
 * here (docs/snapshot.md). Not with --format debezium, whose last row of
 * each table is held back until its marker is known: such a run keeps no
 * checkpoint before the snapshot's end. */
static int on_snapshot_checkpoint(const cdc_position *pos, void *ud)
{
    stream_ctx *x = ud;
    if (x->dz) return 0;
    int rc = flush_txn(x, pos);
    if (rc == 0) x->snap_ck = true;
    if (rc == 0 && g_signal) return CDC_ERR_PAUSED;
    return rc;
}

static void fmt_eta(char *b, size_t n, int64_t ms)
{
    if (ms < 0) {
        snprintf(b, n, "?");
        return;
    }
    int64_t sec = (ms + 999) / 1000;
    if (sec >= 3600) snprintf(b, n, "%lldh%02lldm", (long long)(sec / 3600), (long long)(sec / 60 % 60));
    else snprintf(b, n, "%lldm%02llds", (long long)(sec / 60), (long long)(sec % 60));
}

/* Progress on stderr: on a terminal one line rewritten in place (at most
 * 5 times a second), otherwise a plain line at most once a second and at
 * the end of each table. */
static int on_snapshot_progress(const cdc_snapshot_progress *p, void *ud)
{
    stream_ctx *x = ud;
    int64_t now = now_ms();
#define PV(f) cdc_snapshot_progress_value(p, CDC_PROGRESS_##f)
    size_t tdone = (size_t)PV(TABLES_DONE);
    bool table_end = tdone != x->progress_tables;
    x->progress_tables = tdone;
    if (now - x->progress_ms < (x->tty ? 200 : 1000) && !(table_end && !x->tty)) return 0;
    x->progress_ms = now;
    char eta[32];
    fmt_eta(eta, sizeof eta, PV(ETA_MS));
    double pct = PV(ROWS_ESTIMATED) ? 100.0 * (double)PV(ROWS_DONE) / (double)PV(ROWS_ESTIMATED) : 100.0;
    if (pct > 100) pct = 100;
    fprintf(stderr,
            "%scdc stream: snapshot %.1f%%: %lld of ~%lld rows, %lld rows/s, ETA %s; %s.%s %lld of ~%lld rows, "
            "chunk %lld of ~%lld; %zu of %lld tables done%s",
            x->tty ? "\r" : "", pct, (long long)PV(ROWS_DONE), (long long)PV(ROWS_ESTIMATED),
            (long long)PV(ROWS_PER_SEC), eta, cdc_snapshot_progress_db(p), cdc_snapshot_progress_table(p),
            (long long)PV(TABLE_ROWS_DONE), (long long)PV(TABLE_ROWS_ESTIMATED), (long long)PV(TABLE_CHUNKS_DONE),
            (long long)PV(TABLE_CHUNKS_ESTIMATED), tdone, (long long)PV(TABLES_TOTAL), x->tty ? "\033[K" : "\n");
#undef PV
    x->progress_line = x->tty;
    return 0;
}

/* Ends an updating progress line before other output on stderr. */
static void progress_end(stream_ctx *x)
{
    if (x->progress_line) fputc('\n', stderr);
    x->progress_line = false;
}

static void on_log(int level, int code, const char *msg, void *ud)
{
    stream_ctx *x = ud;
    (void)code;
    if (level <= 1 || x->verbose) progress_end(x);
    if (level <= 1 || x->verbose)
        fprintf(stderr, "cdc stream: %s%s\n", level == 0 ? "error: " : level == 1 ? "warning: " : "", msg);
}

static void stream_usage(FILE *f)
{
    fprintf(f,
            "usage: cdc stream --user U --server-id N [options]\n"
            "Follows a server's binlog as a replica and prints one JSON object per row change\n"
            "per line (the lines of `cdc dump`, docs/output.md), written out per transaction.\n\n"
            CLI_CONN_USAGE
            "  --server-id N           replica server_id, unique among the server's replicas\n"
            "  --start WHERE           earliest | now | FILE:OFFSET | gtid:SET | a checkpoint\n"
            "                          (default: the checkpoint file if it exists, else now)\n"
            "  --stop-at WHERE         FILE:OFFSET | gtid:SET | now: exit 0 once reached\n"
            "  --checkpoint-file F     read the start from F; rewrite F after every commit whose lines are\n"
            "                          all written (read, on a pipe), never past them, and on exit; in a\n"
            "                          snapshot after every chunk, so a restart continues it\n"
            "  --fsync                 output file and checkpoint on disk (fsync) before a checkpoint counts\n"
            "  --tables LIST           db.table,... to capture (patterns with * ?)\n"
            "  --exclude-tables LIST   db.table,... not to capture\n"
            "  --exclude-columns LIST  db.table.column,... left out of the lines\n"
            "  --events                also print begin, commit and DDL lines with checkpoints\n"
            "  --format json|debezium  json (default): docs/output.md; debezium: one {\"topic\",\"key\",\"value\"}\n"
            "                          line per Debezium record (docs/debezium.md), topic.prefix cdc\n"
            "  -o, --option KEY=VALUE  a Debezium renderer option (topic.prefix, decimal.handling.mode,\n"
            "                          schemas.enable, ...; docs/debezium.md)\n"
            "  --snapshot MODE         never (default) | initial | initial_only | no_data | when_needed:\n"
            "                          rows as \"op\":\"r\" lines first (docs/snapshot.md), progress on stderr\n"
            "  --snapshot-table DB.T   an incremental snapshot of DB.T while streaming (repeatable; needs\n"
            "                          --signal-table or --set read.only=true; docs/snapshot.md)\n"
            "  --snapshot-where COND   only rows matching the SQL condition COND, for the --snapshot-table\n"
            "                          before it\n"
            "  --signal-table DB.T     the signal table (signal.data.collection): Debezium signals, and the\n"
            "                          watermarks of incremental snapshots\n"
            "  --verbose               also print informational log messages\n"
            "On exit the last checkpoint goes to stderr as \"checkpoint: <string>\".\n"
            "Exit status: 0 at --stop-at, 130 on SIGINT, 143 on SIGTERM, 1 on error, 2 on bad usage.\n");
}

int cmd_stream(int argc, char **argv)
{
    enum { O_SID = CLI_O__NEXT, O_START, O_STOP, O_CKFILE, O_TABLES, O_XTABLES, O_XCOLS, O_EVENTS, O_VERBOSE,
           O_HELP, O_SNAPSHOT, O_FSYNC, O_FORMAT, O_OPTION, O_SNAP_TABLE, O_SNAP_WHERE, O_SIGNAL };
    static const struct option opts[] = {
        CLI_CONN_OPTIONS,
        {"server-id", required_argument, NULL, O_SID}, {"start", required_argument, NULL, O_START},
        {"stop-at", required_argument, NULL, O_STOP}, {"checkpoint-file", required_argument, NULL, O_CKFILE},
        {"tables", required_argument, NULL, O_TABLES}, {"exclude-tables", required_argument, NULL, O_XTABLES},
        {"exclude-columns", required_argument, NULL, O_XCOLS}, {"events", no_argument, NULL, O_EVENTS},
        {"verbose", no_argument, NULL, O_VERBOSE}, {"help", no_argument, NULL, O_HELP},
        {"snapshot", required_argument, NULL, O_SNAPSHOT}, {"fsync", no_argument, NULL, O_FSYNC},
        {"format", required_argument, NULL, O_FORMAT}, {"option", required_argument, NULL, O_OPTION},
        {"snapshot-table", required_argument, NULL, O_SNAP_TABLE},
        {"snapshot-where", required_argument, NULL, O_SNAP_WHERE},
        {"signal-table", required_argument, NULL, O_SIGNAL}, {NULL, 0, NULL, 0}};
    static const char cmd[] = "cdc stream";
    stream_ctx x;
    memset(&x, 0, sizeof x);
    /* the transaction's lines (at most SPILL_BYTES and a line) in a huge
     * page: 2.5% less CPU than 4 KiB pages (docs/performance.md) */
    if ((x.txn.p = cli_huge_block())) x.txn.cap = CLI_HUGE_BYTES;
    /* Handlers first, so a signal at any moment is a clean stop. No
     * SA_RESTART: a blocked write must return and look at the signal. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    cdc_config *cfg;
    if (cdc_config_new(&cfg, NULL)) return 1;
    /* The CLI streams only unless --snapshot asks for one. */
    cli_set(cmd, cfg, "snapshot.mode", "never");
    cli_conn cc = {cmd, NULL};
    const char *start = NULL, *dzopts[64], *snap_tables[64], *snap_where[64];
    size_t ndzopts = 0, nsnap = 0;
    bool debezium = false;
    int status = 0, c;
    opterr = 0; /* our messages: getopt's would repeat an unknown option's value */
    optind = 1;
    while (status == 0 && (c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
        int h = cli_conn_option(&cc, cfg, c, optarg);
        if (h < 0) status = 2;
        if (h) continue;
        switch (c) {
        case O_SID: status = cli_set(cmd, cfg, "server.id", optarg) ? 2 : 0; break;
        case O_START: start = optarg; break;
        case O_STOP: status = cli_set(cmd, cfg, "stop.at", optarg) ? 2 : 0; break;
        case O_CKFILE: x.ckfile = optarg; break;
        case O_TABLES: status = cli_set(cmd, cfg, "table.include.list", optarg) ? 2 : 0; break;
        case O_XTABLES: status = cli_set(cmd, cfg, "table.exclude.list", optarg) ? 2 : 0; break;
        case O_XCOLS: status = cli_set(cmd, cfg, "column.exclude.list", optarg) ? 2 : 0; break;
        case O_EVENTS: x.events = true; break;
        case O_SNAPSHOT: status = cli_set(cmd, cfg, "snapshot.mode", optarg) ? 2 : 0; break;
        case O_VERBOSE: x.verbose = true; break;
        case O_SNAP_TABLE:
            if (nsnap == sizeof snap_tables / sizeof snap_tables[0]) {
                status = cli_usage_error(cmd, "too many --snapshot-table");
            } else {
                snap_where[nsnap] = NULL;
                snap_tables[nsnap++] = optarg;
            }
            break;
        case O_SNAP_WHERE:
            if (!nsnap || snap_where[nsnap - 1]) status = cli_usage_error(cmd, "--snapshot-where follows a --snapshot-table");
            else snap_where[nsnap - 1] = optarg;
            break;
        case O_SIGNAL: status = cli_set(cmd, cfg, "signal.data.collection", optarg) ? 2 : 0; break;
        case O_FSYNC: x.fsync = true; break;
        case O_FORMAT:
            if (!strcmp(optarg, "debezium")) debezium = true;
            else if (!strcmp(optarg, "json")) debezium = false;
            else status = cli_usage_error(cmd, "--format: '%s' is not json or debezium", optarg);
            break;
        case 'o':
        case O_OPTION:
            if (ndzopts == sizeof dzopts / sizeof dzopts[0])
                status = cli_usage_error(cmd, "too many --option");
            else
                dzopts[ndzopts++] = optarg;
            break;
        case O_HELP: stream_usage(stdout); cdc_config_free(cfg); return 0;
        case ':': status = cli_usage_error(cmd, "%s needs a value", argv[optind - 1]); break;
        default: status = cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]); break;
        }
    }
    if (status == 0 && optind < argc) status = cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (status == 0 && ndzopts && !debezium) status = cli_usage_error(cmd, "--option applies to --format debezium only");
    if (status == 0 && debezium && x.events)
        status = cli_usage_error(cmd, "--events and --format debezium do not mix (transaction metadata: "
                                      "--option provide.transaction.metadata=true)");
    if (status == 0 && debezium) {
        char err[512];
        if (cdc_debezium_new(&x.dz, NULL, err, sizeof err) ||
            cdc_debezium_set(x.dz, "topic.prefix", "cdc", err, sizeof err)) {
            fprintf(stderr, "%s: %s\n", cmd, err);
            status = 1;
        }
        for (size_t i = 0; i < ndzopts && status == 0; i++) {
            char key[256];
            const char *eq = strchr(dzopts[i], '=');
            size_t n = eq ? (size_t)(eq - dzopts[i]) : 0;
            if (!eq || n >= sizeof key) {
                status = cli_usage_error(cmd, "--option needs KEY=VALUE, got '%s'", dzopts[i]);
                break;
            }
            memcpy(key, dzopts[i], n);
            key[n] = 0;
            if (cdc_debezium_set(x.dz, key, eq + 1, err, sizeof err)) {
                fprintf(stderr, "%s: --option %s: %s\n", cmd, key, err);
                status = 2;
            }
        }
    }
    if (status) {
        cdc_debezium_free(x.dz);
        cdc_config_free(cfg);
        return status;
    }
    char *saved = NULL;
    if (!start && x.ckfile && (saved = cli_read_file(x.ckfile)) && *saved) start = saved;
    if (start && cli_set(cmd, cfg, "start", start)) {
        free(saved);
        cdc_config_free(cfg);
        return 1;
    }
    free(saved);
    if (cli_password(&cc, cfg)) {
        cdc_config_free(cfg);
        return 1;
    }

    char err[1024];
    /* tableChanges of schema-change records: definitions read from the same server */
    if (x.dz && cdc_debezium_set_source(x.dz, cfg, err, sizeof err)) {
        fprintf(stderr, "cdc stream: %s\n", err);
        cdc_debezium_free(x.dz);
        cdc_config_free(cfg);
        return 1;
    }
    if (cdc_stream_new(&x.s, cfg, NULL, err, sizeof err)) {
        fprintf(stderr, "cdc stream: %s\n", err);
        cdc_config_free(cfg);
        return 1;
    }
    cdc_config_free(cfg);
    cdc_stream_set_change_cb(x.s, on_change, &x);
    cdc_stream_set_begin_cb(x.s, on_begin, &x);
    cdc_stream_set_commit_cb(x.s, on_commit, &x);
    cdc_stream_set_ddl_cb(x.s, on_ddl, &x);
    cdc_stream_set_checkpoint_cb(x.s, on_checkpoint, &x);
    cdc_stream_set_log_cb(x.s, on_log, &x);
    cdc_stream_set_snapshot_cb(x.s, on_snapshot_row, &x);
    cdc_stream_set_snapshot_done_cb(x.s, on_snapshot_done, &x);
    cdc_stream_set_snapshot_progress_cb(x.s, on_snapshot_progress, &x);
    cdc_stream_set_snapshot_checkpoint_cb(x.s, on_snapshot_checkpoint, &x);
    x.tty = isatty(STDERR_FILENO);
    cdc_stream_set_incremental_cb(x.s, on_incremental_row, &x);
    for (size_t i = 0; i < nsnap; i++) {
        int rc = cdc_stream_snapshot_table(x.s, snap_tables[i], snap_where[i]);
        if (rc) {
            fprintf(stderr, "cdc stream: --snapshot-table %s: %s\n", snap_tables[i],
                    rc == CDC_ERR_CONFIG ? "needs --signal-table or --set read.only=true"
                    : rc == CDC_ERR_INVALID ? "not db.table, or not captured by --tables/--exclude-tables"
                                            : cdc_err_name(rc));
            cdc_stream_free(x.s);
            cdc_debezium_free(x.dz);
            return 2;
        }
    }

    struct stat st;
    if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode)) {
        x.regular = true;
        x.durable_off = lseek(STDOUT_FILENO, 0, SEEK_CUR);
        if (x.durable_off < 0) x.regular = false;
    } else if (fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode)) {
        x.pipe = true;
    }

    g_stream = x.s;
    /* a signal that came while connecting: stop before starting */
    if (g_signal) cdc_stream_stop(x.s);

    int rc;
    for (;;) {
        rc = cdc_stream_start(x.s);
        /* Stopped inside a transaction whose first lines are already out:
         * finish it (the stream re-reads it and skips what it delivered),
         * then stop at its commit, unless a second signal insists. In a
         * snapshot the same holds for a chunk whose first lines are out:
         * the stream goes on with its next row, and the chunk's snapshot
         * checkpoint pauses it (not with --format debezium, which keeps no
         * snapshot checkpoints: there a restart takes a new snapshot). */
        if (rc == CDC_ERR_STOPPED && x.spilled && !x.io_failed && (!x.in_snapshot || !x.dz) && g_signals < 2)
            continue;
        break;
    }
    g_stream = NULL;
    progress_end(&x);
    const char *signame = g_signal == SIGTERM ? "SIGTERM" : "SIGINT";
    bool by_signal = g_signal && (rc == CDC_ERR_STOPPED || rc == CDC_ERR_PAUSED || x.io_failed == ETIMEDOUT);
    if (rc == CDC_OK) {
        status = 0;
    } else if (by_signal) {
        status = g_signal == SIGTERM ? 143 : 130;
        if (x.io_failed == ETIMEDOUT)
            fprintf(stderr,
                    "cdc stream: stopped by %s while the output was not being read; lines after the last "
                    "checkpoint were not all written%s\n",
                    signame, x.cut ? " (the last line has no newline: it is incomplete, discard it)" : "");
    } else {
        status = 1;
        if (x.io_failed)
            fprintf(stderr, "cdc stream: writing output: %s\n", strerror(x.io_failed));
        else
            fprintf(stderr, "cdc stream: %s (%s)\n", cdc_stream_errmsg(x.s), cdc_err_name(rc));
    }
    /* A file keeps no part of what the checkpoint does not cover: the
     * next run appends right after the last transaction wholly out. */
    if (x.io_failed && x.regular && ftruncate(STDOUT_FILENO, x.durable_off) != 0)
        fprintf(stderr, "cdc stream: cannot cut the output file back to the checkpoint: %s\n", strerror(errno));
    if (rc != CDC_OK && x.in_snapshot && x.snap_ck)
        fprintf(stderr,
                "cdc stream: the snapshot was stopped after %llu rows in this run, before its end; the checkpoint "
                "records its progress, so a restart continues it after the last completed chunk (rows read then "
                "are newer than the snapshot's point; the stream from the point brings them up to date: "
                "docs/snapshot.md)\n",
                (unsigned long long)x.snapshot_rows);
    else if (rc != CDC_OK && x.in_snapshot)
        fprintf(stderr,
                "cdc stream: the snapshot was stopped after %llu rows, before its end; no checkpoint was saved, "
                "so a restart takes the snapshot again from the beginning (the rows printed by this run are not "
                "a consistent state: start the consumer over)\n",
                (unsigned long long)x.snapshot_rows);
    /* Lines of an unfinished transaction are dropped: the checkpoint comes
     * before it, and the next run prints it whole. The checkpoint is the
     * last one whose lines are all out; with nothing delivered at all, the
     * stream's own position (the start, or a later quiet advance). */
    if (x.pipe) drain_pipe(&x);
    char *ck = NULL;
    bool from_stream = false;
    if (x.durable) {
        ck = strdup(x.durable);
    } else if (!x.emitted && !x.in_snapshot) {
        ck = checkpoint_text(&x, NULL);
        from_stream = true;
    }
    if (ck) {
        fprintf(stderr, "checkpoint: %s\n", ck);
        if (from_stream && x.ckfile && write_checkpoint_file(&x, ck) && status == 0) status = 1;
        free(ck);
    }
    free(x.durable);
    for (size_t i = 0; i < x.npend; i++) free(x.pend[i].ck);
    cdc_debezium_free(x.dz);
    free(x.pend);
    cli_buf_free(&x.txn);
    cli_buf_free(&x.line);
    cdc_stream_free(x.s);
    return status;
}
