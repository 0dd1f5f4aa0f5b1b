/* cli.c: see cli.h. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

int cli_set(const char *cmd, cdc_config *cfg, const char *key, const char *val)
{
    char err[512];
    if (cdc_config_set(cfg, key, val, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", cmd, err);
        return -1;
    }
    return 0;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", cmd);
    return 2;
}

int cli_conn_option(cli_conn *cc, cdc_config *cfg, int opt, const char *arg)
{
    const char *key = NULL, *val = arg;
    switch (opt) {
    case CLI_O_HOST: key = "host"; break;
    case CLI_O_PORT: key = "port"; break;
    case CLI_O_SOCKET: key = "socket"; break;
    case CLI_O_USER: key = "user"; break;
    case CLI_O_SSLMODE: key = "ssl.mode"; break;
    case CLI_O_SSLCA: key = "ssl.ca"; break;
    case CLI_O_SSLCERT: key = "ssl.cert"; break;
    case CLI_O_SSLKEY: key = "ssl.key"; break;
    case CLI_O_SSLNAME: key = "ssl.server.name"; break;
    case CLI_O_PUBKEY: key = "server.public.key"; break;
    case CLI_O_GETKEY: key = "get.server.public.key"; val = "true"; break;
    case CLI_O_COMPRESS: key = "compression"; val = "true"; break;
    case CLI_O_CTIMEOUT: key = "connect.timeout.ms"; break;
    case CLI_O_PWFILE: cc->pwfile = arg; return 1;
    case CLI_O_PASSWORD:
        /* never echo what followed it: it may be the secret */
        fprintf(stderr,
                "%s: --password is not accepted: a password on the command line is visible to every "
                "user of this machine (ps, /proc). Set $CDC_PASSWORD, or use --password-file F.\n",
                cc->cmd);
        return -1;
    case CLI_O_SET: {
        const char *eq = strchr(arg, '=');
        if (!eq) {
            fprintf(stderr, "%s: --set needs KEY=VALUE, got '%s'\n", cc->cmd, arg);
            return -1;
        }
        char k[128];
        size_t n = (size_t)(eq - arg);
        if (n >= sizeof k) {
            fprintf(stderr, "%s: --set: no configuration key is that long\n", cc->cmd);
            return -1;
        }
        memcpy(k, arg, n);
        k[n] = 0;
        if (!strcmp(k, "password")) {
            fprintf(stderr, "%s: --set password=... is not accepted (visible in ps); set $CDC_PASSWORD, or use "
                            "--password-file F\n", cc->cmd);
            return -1;
        }
        return cli_set(cc->cmd, cfg, k, eq + 1) ? -1 : 1;
    }
    default: return 0;
    }
    return cli_set(cc->cmd, cfg, key, val) ? -1 : 1;
}

char *cli_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, f);
        if (n < cap - 1) break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
        } else {
            buf = nb;
            cap *= 2;
        }
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = 0;
    return buf;
}

/* Reads a password from the terminal without echo; NULL without one. */
static char *prompt_password(void)
{
    FILE *tty = fopen("/dev/tty", "r+");
    if (!tty) return NULL;
    struct termios old, quiet;
    int fd = fileno(tty);
    bool restore = tcgetattr(fd, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    fputs("Password: ", tty);
    fflush(tty);
    char buf[1024];
    char *r = fgets(buf, sizeof buf, tty);
    if (restore) tcsetattr(fd, TCSAFLUSH, &old);
    fputs("\n", tty);
    fclose(tty);
    if (!r) return NULL;
    buf[strcspn(buf, "\r\n")] = 0;
    char *pw = strdup(buf);
    memset(buf, 0, sizeof buf);
    return pw;
}

int cli_password(cli_conn *cc, cdc_config *cfg)
{
    char *pw = NULL;
    if (cc->pwfile) {
        if (!(pw = cli_read_file(cc->pwfile))) {
            fprintf(stderr, "%s: cannot read password file '%s': %s\n", cc->cmd, cc->pwfile, strerror(errno));
            return 1;
        }
    } else if (getenv("CDC_PASSWORD")) {
        pw = strdup(getenv("CDC_PASSWORD"));
    } else if (isatty(STDIN_FILENO) && (pw = prompt_password())) {
        /* typed */
    } else {
        fprintf(stderr,
                "%s: no password given and no terminal to ask on: set $CDC_PASSWORD (CDC_PASSWORD= for an "
                "account without a password) or use --password-file F\n",
                cc->cmd);
        return 1;
    }
    if (!pw) {
        fprintf(stderr, "%s: out of memory\n", cc->cmd);
        return 1;
    }
    int rc = cli_set(cc->cmd, cfg, "password", pw);
    memset(pw, 0, strlen(pw));
    free(pw);
    return rc ? 1 : 0;
}

/* ---- lines ------------------------------------------------------------- */

void cli_buf_free(cli_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void *cli_huge_block(void)
{
    void *p = NULL;
    if (posix_memalign(&p, CLI_HUGE_BYTES, CLI_HUGE_BYTES)) return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, CLI_HUGE_BYTES, MADV_HUGEPAGE);
#endif
    return p;
}

int cli_buf_reserve(cli_buf *b, size_t extra)
{
    if (extra <= b->cap - b->len) return CDC_OK;
    size_t want = b->len + extra, cap = b->cap ? b->cap : 4096;
    while (cap < want) {
        if (cap > SIZE_MAX / 2) return CDC_ERR_NOMEM;
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) return CDC_ERR_NOMEM;
    b->p = p;
    b->cap = cap;
    return CDC_OK;
}

int cli_buf_append(cli_buf *b, const void *p, size_t n)
{
    if (cli_buf_reserve(b, n)) return CDC_ERR_NOMEM;
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
    return CDC_OK;
}

int cli_buf_puts(cli_buf *b, const char *s) { return cli_buf_append(b, s, strlen(s)); }

int cli_buf_printf(cli_buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) return CDC_ERR_INVALID;
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return CDC_OK;
        }
        if (cli_buf_reserve(b, (size_t)n + 1)) return CDC_ERR_NOMEM;
    }
}

/* Appends what fn renders, growing the buffer when it says TOO_LARGE. */
#define RENDER_INTO(b, call)                                                        \
    do {                                                                           \
        size_t need = 0;                                                           \
        if ((b)->cap - (b)->len < 256 && cli_buf_reserve((b), 256)) return CDC_ERR_NOMEM; \
        for (;;) {                                                                 \
            char *buf = (b)->p + (b)->len;                                         \
            size_t cap = (b)->cap - (b)->len;                                      \
            int rc_ = call;                                                        \
            if (rc_ == CDC_OK) {                                                   \
                (b)->len += need - 1;                                              \
                return CDC_OK;                                                     \
            }                                                                      \
            if (rc_ != CDC_ERR_TOO_LARGE) return rc_;                              \
            if (cli_buf_reserve((b), need)) return CDC_ERR_NOMEM;                 \
        }                                                                          \
    } while (0)

int cli_change_json(cli_buf *b, const cdc_change *c) { RENDER_INTO(b, cdc_change_json(c, buf, cap, &need)); }
int cli_event_json(cli_buf *b, const cdc_event *e) { RENDER_INTO(b, cdc_event_json(e, buf, cap, &need)); }
int cli_json_string(cli_buf *b, const void *s, size_t n) { RENDER_INTO(b, cdc_json_string(s, n, buf, cap, &need)); }
int cli_txn_json(cli_buf *b, const char *event, const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos)
{
    RENDER_INTO(b, cdc_txn_json(event, gtid, sid, ts, pos, buf, cap, &need));
}
int cli_ddl_json(cli_buf *b, const cdc_query *q, const cdc_position *pos)
{
    RENDER_INTO(b, cdc_ddl_json(q, pos, buf, cap, &need));
}
