/*
 * conn.h: a blocking connection to a MySQL or MariaDB server: connect
 * (TCP or unix socket, TLS, authentication, compression), text queries,
 * ping, quit, and raw packet I/O for the binlog dump that runs on top.
 * The protocol pieces live in packet.c, handshake.c, auth.c, tls.c and
 * resultset.c; this file moves their bytes over a socket with timeouts.
 *
 * Internal; not installed. One cdc__conn is used by one thread at a time.
 * After an I/O or protocol error the connection is broken: every later
 * call fails with CDC_ERR_STATE and the handle can only be freed.
 */
#ifndef CDC_CONN_H
#define CDC_CONN_H

#include "handshake.h"
#include "resultset.h"
#include "tls.h"

/* Commands (COM_*) used by libcdc. */
enum {
    CDC_COM_QUIT = 0x01,
    CDC_COM_QUERY = 0x03,
    CDC_COM_PING = 0x0e,
    CDC_COM_BINLOG_DUMP = 0x12,
    CDC_COM_REGISTER_SLAVE = 0x15,
    CDC_COM_BINLOG_DUMP_GTID = 0x1e,
    CDC_COM_STMT_PREPARE = 0x16,
    CDC_COM_STMT_EXECUTE = 0x17,
    CDC_COM_STMT_CLOSE = 0x19,
};

/* Default limit on one logical payload read from the server (1 GiB is
 * also the server's largest max_allowed_packet). */
#define CDC__CONN_DEFAULT_MAX_PACKET (1024u * 1024u * 1024u)

typedef struct cdc__conn_opts {
    const char *host;            /* name or address; default "127.0.0.1" */
    unsigned port;               /* default 3306 */
    const char *unix_socket;     /* if set, host/port are ignored */
    const char *user;
    const char *password;        /* may be NULL: empty */
    const char *database;        /* may be NULL */
    cdc__tls_mode tls_mode;       /* default (0) DISABLED */
    const char *tls_ca, *tls_cert, *tls_key;
    const char *tls_server_name; /* name to verify; default host */
    bool compress;               /* CLIENT_COMPRESS (zlib) if the server has it */
    int connect_timeout_ms;      /* TCP connect, then each wait of TLS and auth; 0 = 10 s */
    int read_timeout_ms;         /* each wait for data afterwards; 0 = none */
    const char *server_public_key_path; /* PEM RSA key for the RSA auth paths */
    bool get_server_public_key;  /* may ask the server for it instead */
    bool allow_cleartext_without_tls; /* mysql_clear_password over plain TCP */
    size_t max_packet;           /* limit on one payload; 0 = 1 GiB */
    const char *charset;         /* "utf8mb4" (default), "utf8mb3", "latin1", "binary" */
} cdc__conn_opts;

typedef struct cdc__conn cdc__conn;

/* The connection keys of a configuration (host, port, socket, user,
 * password, ssl.*, compression, timeouts, max.packet.bytes...) as options;
 * the strings are borrowed from cfg. The one mapping every connection of
 * the stream uses. */
struct cdc_config;
void cdc__conn_opts_from_config(const struct cdc_config *cfg, cdc__conn_opts *o);

/* New unconnected handle. CDC_OK or CDC_ERR_NOMEM. */
int cdc__conn_new(cdc__conn **out, const cdc_allocator *a);
/* Closes (COM_QUIT if connected) and frees; NULL is fine. */
void cdc__conn_free(cdc__conn *c);

/*
 * Connects and authenticates. Errors: CDC_ERR_RESOLVE (unknown host),
 * CDC_ERR_CONNECT (refused, unreachable, too many connections),
 * CDC_ERR_TIMEOUT, CDC_ERR_TLS / CDC_ERR_TLS_VERIFY / CDC_ERR_TLS_REQUIRED,
 * CDC_ERR_AUTH (wrong password: err keeps the server's 1045 and SQLSTATE),
 * CDC_ERR_AUTH_PLUGIN, CDC_ERR_CONFIG (bad option, unreadable file),
 * CDC_ERR_PROTOCOL, CDC_ERR_CLOSED, CDC_ERR_NOMEM. The options are read
 * during the call only.
 */
int cdc__conn_connect(cdc__conn *c, const cdc__conn_opts *o, cdc__err *err);

/* Sends COM_QUIT and closes the socket; the handle may connect again. */
void cdc__conn_close(cdc__conn *c);

/* Callbacks for a query's reply; any may be NULL. A nonzero return stops
 * delivery: the rest of the reply is read and dropped and the query
 * returns CDC_ERR_CALLBACK (or the callback's value if it is a negative
 * cdc_error). Views are valid until the callback returns. */
typedef struct cdc__query_handler {
    int (*columns)(const cdc__coldef *cols, size_t ncols, void *ud);
    int (*row)(const cdc_bytes *vals, size_t ncols, void *ud);   /* NULL value: ptr == NULL */
    int (*end)(const cdc__ok *ok, bool more, void *ud);           /* each result's end */
    /* Instead of row: the row packet as it came (lenenc values, 0xfb for
     * NULL), not split into values; the handler checks it (cdc__row_parse). */
    int (*raw_row)(const uint8_t *p, size_t n, void *ud);
} cdc__query_handler;

/*
 * COM_QUERY with the text protocol; every result set of the reply is
 * delivered (multi-statements and CALL give several). A server error
 * returns its mapped code with err->server_errno and err->sqlstate set;
 * results before it were delivered. The connection stays usable after
 * server and callback errors.
 */
int cdc__conn_query(cdc__conn *c, const char *sql, size_t len, const cdc__query_handler *h, void *ud, cdc__err *err);

/*
 * The same reply through a prepared statement: COM_STMT_PREPARE of sql
 * (no parameters), COM_STMT_EXECUTE without a cursor, COM_STMT_CLOSE.
 * Rows come in the binary protocol (resultset.h, cdc__binrow_split), so
 * only raw_row makes sense in h (row is not called for them). Errors as
 * cdc__conn_query; a server error at prepare (a statement that cannot
 * be prepared) leaves the connection usable.
 */
int cdc__conn_query_binary(cdc__conn *c, const char *sql, size_t len, const cdc__query_handler *h, void *ud,
                           cdc__err *err);
/* Its steps: prepare (st receives the id and counts), execute, close. */
int cdc__conn_prepare(cdc__conn *c, const char *sql, size_t len, cdc__stmt_info *st, cdc__err *err);
int cdc__conn_execute(cdc__conn *c, uint32_t stmt_id, const cdc__query_handler *h, void *ud, cdc__err *err);
int cdc__conn_stmt_close(cdc__conn *c, uint32_t stmt_id, cdc__err *err);

/* A query's first result set with columns, stored whole (cdc__result,
 * resultset.h). */
int cdc__conn_query_result(cdc__conn *c, const char *sql, cdc__result **out, cdc__err *err);
/* Its two halves, for a query whose reply is wanted later: send_query
 * writes the COM_QUERY and returns at once (the server runs it
 * meanwhile); read_result reads that reply as query_result does. Nothing
 * else may be sent on c in between. */
int cdc__conn_send_query(cdc__conn *c, const char *sql, cdc__err *err);
int cdc__conn_read_result(cdc__conn *c, cdc__result **out, cdc__err *err);

/* Runs sql and drops any rows. */
int cdc__conn_exec(cdc__conn *c, const char *sql, cdc__err *err);
/* COM_PING. */
int cdc__conn_ping(cdc__conn *c, cdc__err *err);

/*
 * Raw packet I/O for commands libcdc drives itself (binlog dump).
 * write_command starts a new exchange (sequence ids restart) with
 * cmd + payload. read_packet returns one joined logical payload, valid
 * until the next read or write on c; ERR packets are returned as data
 * (the caller knows what a 0xff means in its context; cdc__err_packet
 * decodes it). CDC_ERR_TOO_LARGE past max_packet, CDC_ERR_CLOSED,
 * CDC_ERR_TIMEOUT, CDC_ERR_IO, CDC_ERR_PROTOCOL.
 */
int cdc__conn_write_command(cdc__conn *c, uint8_t cmd, const void *payload, size_t len, cdc__err *err);
int cdc__conn_read_packet(cdc__conn *c, cdc_bytes *payload, cdc__err *err);
/*
 * The same payloads in bounded pieces, for payloads too large to hold
 * (a huge binlog event): returns the next at most `max` bytes of the
 * current payload in *piece (valid until the next read or write on c),
 * with *more set while bytes of the same payload remain. The first piece
 * of a payload starts with its first byte; a payload ends with a piece
 * that has *more false (possibly empty). Pieces are views into the input
 * buffer (packet.c's streaming de-framer), so they may be shorter than
 * max and nothing is copied; a payload whose first byte is not 0x00 (ERR,
 * EOF) comes whole in its first piece when it fits in max. Do not mix
 * with read_packet in the middle of a payload. Errors as read_packet (no
 * max_packet limit: memory stays bounded).
 */
int cdc__conn_read_piece(cdc__conn *c, size_t max, cdc_bytes *piece, bool *more, cdc__err *err);
/* While a result streams into a raw_row handler, from its first 2 x
 * `bytes` of rows on, wake the reading thread only once `bytes` are
 * queued (SO_RCVLOWAT; plain sockets, not TLS), and read the tail of the
 * result after at most a few ms of quiet.
 * 0 (the default) turns it off. For readers of large results (snapshot
 * workers): fewer wakeups of this thread and less work for the server's. */
void cdc__conn_set_stream_lowat(cdc__conn *c, int bytes);
/* Grows the input buffer (64 KiB at connect) to `bytes`, keeping what
 * is unread; the handle keeps it until freed. Socket reads ask for up to
 * the buffer's size: for a binlog dump, which the server sends as fast as
 * it can, fewer and larger reads mean fewer window updates, and on
 * loopback less of the server's sending done in this thread; a multiple
 * of CDC__HUGE_PAGE is a huge-page block (cdc__malloc_huge), without the
 * page faults and TLB misses of 4 KiB pages (docs/performance.md,
 * session 11). CDC_ERR_NOMEM leaves it as it was. */
int cdc__conn_grow_input(cdc__conn *c, size_t bytes);
/* The input buffer's size: the most one socket read asks for. */
size_t cdc__conn_input_size(const cdc__conn *c);
/* Changes the read timeout (0 = wait forever). */
void cdc__conn_set_read_timeout(cdc__conn *c, int timeout_ms);

/* What the server said about itself (valid while connected). */
const cdc__server_version *cdc__conn_server_version(const cdc__conn *c);
const char *cdc__conn_server_version_string(const cdc__conn *c); /* as sent, with any prefix */
uint32_t cdc__conn_id(const cdc__conn *c);
uint32_t cdc__conn_caps(const cdc__conn *c);        /* negotiated capabilities */
uint32_t cdc__conn_server_caps(const cdc__conn *c);
uint8_t cdc__conn_server_charset(const cdc__conn *c);
const char *cdc__conn_auth_plugin(const cdc__conn *c);  /* the plugin that succeeded */
bool cdc__conn_auth_fast_path(const cdc__conn *c);      /* caching_sha2 fast auth */
const char *cdc__conn_tls_cipher(const cdc__conn *c);   /* NULL without TLS */
const char *cdc__conn_tls_version(const cdc__conn *c);
bool cdc__conn_compressed(const cdc__conn *c);
bool cdc__conn_is_unix(const cdc__conn *c);
/* The socket, or -1; for a stream's stop() to shutdown() a blocked read
 * from another thread. Do not read, write or close it. */
int cdc__conn_fd(const cdc__conn *c);

#endif /* CDC_CONN_H */
