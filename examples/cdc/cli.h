/*
 * cli.h: what the cdc subcommands share, on the public API only: the
 * connection options (the configuration keys' vocabulary), the password
 * (environment, file or prompt; never the command line), and a growable
 * line buffer filled through cdc/lines.h.
 */
#ifndef CDC_CLI_H
#define CDC_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include <cdc/cdc.h>

/* ---- connection options ---------------------------------------------- */

enum {
    CLI_O_HOST = 256, CLI_O_PORT, CLI_O_SOCKET, CLI_O_USER, CLI_O_PWFILE, CLI_O_PASSWORD, CLI_O_SSLMODE,
    CLI_O_SSLCA, CLI_O_SSLCERT, CLI_O_SSLKEY, CLI_O_SSLNAME, CLI_O_PUBKEY, CLI_O_GETKEY, CLI_O_COMPRESS,
    CLI_O_CTIMEOUT, CLI_O_SET,
    CLI_O__NEXT /* a subcommand's own options start here */
};

/* The getopt_long entries of the connection options (no terminator). */
#define CLI_CONN_OPTIONS                                                                                  \
    {"host", required_argument, NULL, CLI_O_HOST}, {"port", required_argument, NULL, CLI_O_PORT},         \
    {"socket", required_argument, NULL, CLI_O_SOCKET}, {"user", required_argument, NULL, CLI_O_USER},     \
    {"password-file", required_argument, NULL, CLI_O_PWFILE},                                            \
    {"password", optional_argument, NULL, CLI_O_PASSWORD},                                               \
    {"ssl-mode", required_argument, NULL, CLI_O_SSLMODE}, {"ssl-ca", required_argument, NULL, CLI_O_SSLCA}, \
    {"ssl-cert", required_argument, NULL, CLI_O_SSLCERT}, {"ssl-key", required_argument, NULL, CLI_O_SSLKEY}, \
    {"ssl-server-name", required_argument, NULL, CLI_O_SSLNAME},                                         \
    {"server-public-key", required_argument, NULL, CLI_O_PUBKEY},                                        \
    {"get-server-public-key", no_argument, NULL, CLI_O_GETKEY},                                          \
    {"compress", no_argument, NULL, CLI_O_COMPRESS},                                                     \
    {"connect-timeout", required_argument, NULL, CLI_O_CTIMEOUT},                                         \
    {"set", required_argument, NULL, CLI_O_SET}

/* Their lines for a usage text. */
#define CLI_CONN_USAGE                                                                                    \
    "  --host H, --port P, --socket PATH, --user U   where and who (127.0.0.1, port 3306)\n"              \
    "  --password-file F       the password from file F (default: $CDC_PASSWORD, else a prompt\n"        \
    "                          on the terminal; set CDC_PASSWORD= for an account without one)\n"        \
    "  --ssl-mode M            disabled|preferred|required|verify_ca|verify_identity\n"                   \
    "  --ssl-ca F, --ssl-cert F, --ssl-key F, --ssl-server-name NAME\n"                                   \
    "  --server-public-key F, --get-server-public-key   RSA key for caching_sha2 without TLS\n"          \
    "  --compress              zlib protocol compression\n"                                               \
    "  --connect-timeout MS    how long to wait for the connection\n"                                     \
    "  --set KEY=VALUE         any configuration key (docs/configuration.md)\n"

typedef struct cli_conn {
    const char *cmd;     /* "cdc stream", for messages */
    const char *pwfile;
} cli_conn;

/*
 * Handles opt if it is a connection option: 1 when handled, 0 when it is
 * not one, -1 after printing the error (a bad value, or --password, which
 * is refused without repeating its value).
 */
int cli_conn_option(cli_conn *cc, cdc_config *cfg, int opt, const char *arg);
/*
 * Sets "password" from --password-file, $CDC_PASSWORD or a prompt on the
 * terminal. Without any of them (no terminal), an error that says how to
 * give one. 0, or 1 after printing the error.
 */
int cli_password(cli_conn *cc, cdc_config *cfg);
/* cdc_config_set with the error printed as "<cmd>: <message>"; 0 or -1. */
int cli_set(const char *cmd, cdc_config *cfg, const char *key, const char *val);
/* Prints "<cmd>: <what>" and a pointer to --help; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The whole file, trailing newlines and spaces cut; NULL if unreadable. */
char *cli_read_file(const char *path);

/* ---- lines ------------------------------------------------------------- */

typedef struct cli_buf {
    char *p;
    size_t len, cap;
} cli_buf;

void cli_buf_free(cli_buf *b);
/* A CLI_HUGE_BYTES block, aligned to it and advised as a transparent huge
 * page (Linux's "madvise" mode), for a buffer every byte of input or
 * output passes through: one page fault and no TLB misses where 4 KiB
 * pages cost 512 faults. NULL when out of memory; a refused advice
 * leaves 4 KiB pages. Freed by free(), grown by realloc(): a cli_buf
 * may start in one (p = the block, cap = CLI_HUGE_BYTES). */
#define CLI_HUGE_BYTES ((size_t)2 << 20)
void *cli_huge_block(void);
static inline void cli_buf_reset(cli_buf *b) { b->len = 0; }
int cli_buf_reserve(cli_buf *b, size_t extra);          /* CDC_OK or CDC_ERR_NOMEM */
int cli_buf_append(cli_buf *b, const void *p, size_t n);
int cli_buf_puts(cli_buf *b, const char *s);
int cli_buf_printf(cli_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a change's line, an event's line, or a JSON string (cdc/lines.h). */
int cli_change_json(cli_buf *b, const cdc_change *c);
int cli_event_json(cli_buf *b, const cdc_event *e);
/* The transaction lines of docs/output.md (cdc/lines.h). */
int cli_txn_json(cli_buf *b, const char *event, const char *gtid, uint32_t sid, int64_t ts, const cdc_position *pos);
int cli_ddl_json(cli_buf *b, const cdc_query *q, const cdc_position *pos);
int cli_json_string(cli_buf *b, const void *s, size_t n);

#endif /* CDC_CLI_H */
