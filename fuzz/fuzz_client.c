/*
 * fuzz_client: the client side of the protocol against a hostile server,
 * through the whole connection: greeting, authentication (auth switch,
 * caching_sha2 fast and full paths, sha256, ed25519, clear text),
 * compression, text result sets, COM_BINLOG_DUMP with event packets,
 * error packets, and either a bare connection (conn.c) or a whole
 * cdc_stream (replica checks, snapshot, schema reads, dump, reconnect).
 *
 * The server is in this process. The target is linked with
 * -Wl,--wrap=connect,recv,send,poll,nanosleep,close (fuzz/meson.build): a
 * connect() to the unix socket FAKE_SOCKET or to 127.0.0.254 opens a
 * fake session on the real (unconnected) socket, whose recv/send/poll
 * the server answers at once from the fuzz input; every other call goes
 * to the real function. Nothing blocks: when the script is used up the
 * server hangs up (recv returns 0), so a stalled server costs nothing.
 * The library is unchanged.
 *
 * Input:
 *   byte 0  bit 0 drive a cdc_stream (else a bare connection), bit 1
 *           compression, bit 2 TCP to 127.0.0.254 (else the unix socket),
 *           bits 3-4 snapshot.mode never/initial/no_data/initial_only,
 *           bit 5 allow.cleartext.password, bit 6 get.server.public.key,
 *           bit 7 the server sends at most 7 bytes per recv()
 *   byte 1  bits 0-1 start earliest/FILE:POS/MySQL gtid/MariaDB gtid,
 *           bit 2 zlib-compress packets (with compression), bit 3
 *           ssl.mode preferred (else disabled), bit 4 one reconnect,
 *           bit 5 stop.at=now, bit 6 empty password, bit 7 latin1
 *   records op(1) length(2, LE) data: one server packet each, see the
 *           OP_* list. Op bit 7 sends the packet together with the one
 *           before; otherwise it waits until the client reads again.
 *           OP_CONFIG records set stream options instead. OP_NEXT_CONN
 *           starts the script of the next connection the client opens
 *           (connections get scripts in connect() order, which is
 *           deterministic even with snapshot worker threads).
 *
 * Seeds: fuzz/tools/client_seeds.py (each authentication path, by hand)
 * and fuzz/tools/client_record.py (whole cdc streams against the real
 * MariaDB 10.11 and MySQL 9.7 test servers, recorded through a proxy).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>

#include <zlib.h>

#include <cdc/cdc.h>

#include "conn.h"
#include "decoder.h"
#include "output.h"
#include "util.h"
#include "binlog_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAKE_SOCKET "/nonexistent/cdc-fuzz.sock"
#define FAKE_ADDR 0x7f0000feu /* 127.0.0.254 */

enum {
    OP_RAW,        /* bytes on the wire as they are */
    OP_GREETING,   /* initial handshake: d[0] bit 0 MariaDB, bits 1-3 plugin, bit 4
                      version text from d[25..]; d[1..4] XORed into the caps; d[5..24] scramble */
    OP_SWITCH,     /* auth switch request: d[0] plugin, rest the plugin data */
    OP_MORE,       /* auth more data: 0x01 + d */
    OP_OK,         /* plain OK if d is empty, else 0x00 + d */
    OP_ERR,        /* d[0..1] errno, rest the message */
    OP_EOF,        /* EOF packet */
    OP_RESULT,     /* text result set: d[0] % 8 + 1 columns, then NUL-separated
                      names and row values ("\xfb" is NULL) */
    OP_PACKET,     /* one packet with payload d */
    OP_FDE,        /* 0x00 + fake ROTATE, 0x00 + FORMAT_DESCRIPTION; d[0] bit 0
                      MariaDB, bit 1 no checksums */
    OP_EVENT,      /* 0x00 + event of type d[0] with body d[1..], framed */
    OP_NEXT_CONN,
    OP_CONFIG,     /* not a packet: "key=value" set on the stream's config (keys
                      from an allow list; a rejected value is ignored) */
    OP_COUNT,
};

typedef struct rec { uint8_t op; bool join; const uint8_t *d; size_t n; } rec;

#define MAX_RECS 4096
#define MAX_CONNS 64
#define MAX_SESSIONS 16

static const char *const plugins[8] = {
    "mysql_native_password", "caching_sha2_password", "sha256_password", "client_ed25519",
    "mysql_clear_password", "dialog", "", "auth_gssapi_client",
};

typedef struct session {
    int fd;                 /* -1: free */
    size_t seg;             /* script: records [segs[seg], segs[seg + 1]) */
    size_t next;
    cdc__buf in, out;        /* from / to the client */
    size_t out_off;
    uint8_t seq, cseq;
    uint32_t caps;          /* the client's, from its handshake response */
    bool got_response, auth, compress, crc;
    uint32_t binpos;
} session;

static struct {
    pthread_mutex_t mu;
    rec cfg[16];
    size_t ncfg;
    rec recs[MAX_RECS];
    size_t nrecs;
    size_t segs[MAX_CONNS + 1]; /* start record of each connection's script */
    size_t nsegs, next_seg;
    session ss[MAX_SESSIONS];
    bool trickle, zlib;
} fs = {.mu = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local bool in_target;
static int debug = -1; /* FUZZ_CLIENT_DEBUG=1: print how each run ended */

/* ---- the server's packets ------------------------------------------- */

static void wire(session *s, const void *p, size_t n) { (void)cdc__buf_append(&s->out, p, n); }

/* One packet with the session's next sequence id, compressed if the
 * connection is. */
static void packet(session *s, const uint8_t *p, size_t n)
{
    if (n > 0xffffff) n = 0xffffff;
    uint8_t h[4];
    cdc__put_le24(h, (uint32_t)n);
    h[3] = s->seq++;
    if (!s->compress) {
        wire(s, h, 4);
        wire(s, p, n);
    } else {
        cdc__buf in;
        cdc__buf_init(&in, NULL);
        (void)cdc__buf_append(&in, h, 4);
        (void)cdc__buf_append(&in, p, n);
        uint8_t ch[7];
        uLongf zlen = compressBound((uLong)in.len);
        uint8_t *z = fs.zlib && in.len >= 50 ? malloc(zlen) : NULL;
        if (z && compress2(z, &zlen, in.data, (uLong)in.len, 1) == Z_OK && zlen < in.len) {
            cdc__put_le24(ch, (uint32_t)zlen);
            ch[3] = s->cseq++;
            cdc__put_le24(ch + 4, (uint32_t)in.len);
            wire(s, ch, 7);
            wire(s, z, zlen);
        } else {
            cdc__put_le24(ch, (uint32_t)in.len);
            ch[3] = s->cseq++;
            cdc__put_le24(ch + 4, 0);
            wire(s, ch, 7);
            wire(s, in.data, in.len);
        }
        free(z);
        cdc__buf_free(&in);
    }
    /* The OK that ends authentication switches compression on. */
    if (s->auth && n && (p[0] == 0x00 || p[0] == 0xff)) {
        s->auth = false;
        if (p[0] == 0x00 && (s->caps & CDC_CAP_COMPRESS)) {
            s->compress = true;
            s->cseq = s->seq = 0;
        }
    }
}

static void lenenc(cdc__buf *b, uint64_t v)
{
    uint8_t t[9];
    size_t n;
    if (v < 251) { t[0] = (uint8_t)v; n = 1; }
    else if (v < 65536) { t[0] = 0xfc; cdc__put_le16(t + 1, (uint16_t)v); n = 3; }
    else { t[0] = 0xfd; cdc__put_le24(t + 1, (uint32_t)v); n = 4; }
    (void)cdc__buf_append(b, t, n);
}

static void lenstr(cdc__buf *b, const void *p, size_t n)
{
    lenenc(b, n);
    (void)cdc__buf_append(b, p, n);
}

static void greeting(session *s, const uint8_t *d, size_t n)
{
    uint8_t fl = n ? d[0] : 0;
    bool maria = fl & 1;
    uint32_t caps = 0xffffffffu & ~(uint32_t)CDC_CAP_SSL;
    if (n >= 5) caps ^= cdc__le32(d + 1);
    uint8_t scr[20];
    for (size_t i = 0; i < 20; i++) scr[i] = 5 + i < n ? d[5 + i] : (uint8_t)('a' + i);
    const char *ver = maria ? "5.5.5-10.11.6-MariaDB-log" : "9.7.0";
    size_t vlen = strlen(ver);
    if ((fl & 0x10) && n > 25) {
        ver = (const char *)d + 25;
        vlen = strnlen(ver, n - 25);
    }
    const char *pl = plugins[(fl >> 1) & 7];
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    uint8_t t[32] = {10};
    (void)cdc__buf_append(&b, t, 1);
    (void)cdc__buf_append(&b, ver, vlen);
    (void)cdc__buf_append(&b, "", 1);
    cdc__put_le32(t, 42);
    (void)cdc__buf_append(&b, t, 4);
    (void)cdc__buf_append(&b, scr, 8);
    memset(t, 0, sizeof t);
    cdc__put_le16(t + 1, (uint16_t)caps);
    t[3] = maria ? 45 : 255;
    cdc__put_le16(t + 4, 2);
    cdc__put_le16(t + 6, (uint16_t)(caps >> 16));
    t[8] = 21;
    /* t[9..18]: reserved (MariaDB: extended capabilities in the last 4) */
    (void)cdc__buf_append(&b, t, 19);
    (void)cdc__buf_append(&b, scr + 8, 12);
    (void)cdc__buf_append(&b, "", 1);
    (void)cdc__buf_append(&b, pl, strlen(pl) + 1);
    packet(s, b.data, b.len);
    cdc__buf_free(&b);
}

static void eof_or_ok(session *s)
{
    static const uint8_t eof[] = {0xfe, 0, 0, 2, 0};
    static const uint8_t ok[] = {0xfe, 0, 0, 2, 0, 0, 0};
    if (s->caps & CDC_CAP_DEPRECATE_EOF) packet(s, ok, sizeof ok);
    else packet(s, eof, sizeof eof);
}

static void result(session *s, const uint8_t *d, size_t n)
{
    size_t ncols = n ? d[0] % 8 + 1 : 1;
    const uint8_t *p = n ? d + 1 : d, *end = d + n;
    /* NUL-separated strings */
    const uint8_t *str[512];
    size_t len[512], ns = 0;
    while (p < end && ns < 512) {
        const uint8_t *z = memchr(p, 0, (size_t)(end - p));
        size_t l = z ? (size_t)(z - p) : (size_t)(end - p);
        str[ns] = p;
        len[ns++] = l;
        p += l + 1;
    }
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    lenenc(&b, ncols);
    packet(s, b.data, b.len);
    for (size_t i = 0; i < ncols; i++) {
        cdc__buf_reset(&b);
        lenstr(&b, "def", 3);
        lenstr(&b, "db", 2);
        lenstr(&b, "t", 1);
        lenstr(&b, "t", 1);
        if (i < ns) lenstr(&b, str[i], len[i]);
        else lenstr(&b, "c", 1);
        lenstr(&b, "c", 1);
        uint8_t f[13] = {0x0c, 45, 0, 0, 1, 0, 0, 0xfd, 0, 0, 0, 0, 0};
        (void)cdc__buf_append(&b, f, sizeof f);
        packet(s, b.data, b.len);
    }
    if (!(s->caps & CDC_CAP_DEPRECATE_EOF)) {
        static const uint8_t eof[] = {0xfe, 0, 0, 2, 0};
        packet(s, eof, sizeof eof);
    }
    for (size_t r = ncols; r + ncols <= ns; r += ncols) {
        cdc__buf_reset(&b);
        for (size_t i = 0; i < ncols; i++) {
            if (len[r + i] == 1 && str[r + i][0] == 0xfb) (void)cdc__buf_append(&b, "\xfb", 1);
            else lenstr(&b, str[r + i], len[r + i]);
        }
        packet(s, b.data, b.len);
    }
    eof_or_ok(s);
    cdc__buf_free(&b);
}

static void binlog_packet(session *s, writer *w)
{
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    (void)cdc__buf_append(&b, "", 1);
    (void)cdc__buf_append(&b, w->out.data, w->out.len);
    packet(s, b.data, b.len);
    cdc__buf_free(&b);
    s->binpos += (uint32_t)w->out.len;
    cdc__buf_reset(&w->out);
    w->pos_base = s->binpos;
}

static void play(session *s, const rec *r)
{
    const uint8_t *d = r->d;
    size_t n = r->n;
    switch (r->op) {
    case OP_RAW: wire(s, d, n); break;
    case OP_GREETING: greeting(s, d, n); break;
    case OP_SWITCH: {
        cdc__buf b;
        cdc__buf_init(&b, NULL);
        const char *pl = plugins[n ? d[0] & 7 : 1];
        (void)cdc__buf_append(&b, "\xfe", 1);
        (void)cdc__buf_append(&b, pl, strlen(pl) + 1);
        if (n > 1) (void)cdc__buf_append(&b, d + 1, n - 1);
        packet(s, b.data, b.len);
        cdc__buf_free(&b);
        break;
    }
    case OP_MORE:
    case OP_OK: {
        static const uint8_t ok[] = {0, 0, 0, 2, 0, 0, 0};
        if (r->op == OP_OK && !n) { packet(s, ok, sizeof ok); break; }
        cdc__buf b;
        cdc__buf_init(&b, NULL);
        (void)cdc__buf_append(&b, r->op == OP_OK ? "\x00" : "\x01", 1);
        (void)cdc__buf_append(&b, d, n);
        packet(s, b.data, b.len);
        cdc__buf_free(&b);
        break;
    }
    case OP_ERR: {
        cdc__buf b;
        cdc__buf_init(&b, NULL);
        uint8_t h[9] = {0xff, 0x15, 0x04, '#', '2', '8', '0', '0', '0'};
        if (n >= 2) memcpy(h + 1, d, 2);
        (void)cdc__buf_append(&b, h, sizeof h);
        if (n > 2) (void)cdc__buf_append(&b, d + 2, n - 2);
        packet(s, b.data, b.len);
        cdc__buf_free(&b);
        break;
    }
    case OP_EOF: eof_or_ok(s); break;
    case OP_RESULT: result(s, d, n); break;
    case OP_FDE: {
        bool maria = n && (d[0] & 1);
        s->crc = !(n && (d[0] & 2));
        s->binpos = 4;
        writer w = {.crc = s->crc};
        cdc__buf_init(&w.out, NULL);
        uint8_t rot[8 + 13];
        cdc__put_le64(rot, 4);
        memcpy(rot + 8, "binlog.000001", 13);
        event(&w, TYPE_ROTATE, rot, sizeof rot, false);
        memset(w.out.data + 13, 0, 4); /* fake events have log_pos 0 */
        binlog_packet(s, &w);
        s->binpos = 4;
        w.pos_base = 4;
        fde(&w, maria, s->crc);
        binlog_packet(s, &w);
        cdc__buf_free(&w.out);
        break;
    }
    case OP_EVENT: {
        writer w = {.crc = s->crc, .pos_base = s->binpos};
        cdc__buf_init(&w.out, NULL);
        event(&w, n ? d[0] : 0, n ? d + 1 : d, n ? n - 1 : 0, s->crc);
        binlog_packet(s, &w);
        cdc__buf_free(&w.out);
        break;
    }
    default: packet(s, d, n); break;
    }
}

/* The client wants to read and nothing is pending: the next turn. */
static void release_turn(session *s)
{
    size_t end = fs.segs[s->seg + 1];
    if (s->next >= end) return;
    play(s, &fs.recs[s->next++]);
    while (s->next < end && fs.recs[s->next].join) play(s, &fs.recs[s->next++]);
}

/* Bytes from the client: track sequence ids and the capabilities. */
static void client_bytes(session *s, const uint8_t *p, size_t n)
{
    (void)cdc__buf_append(&s->in, p, n);
    size_t off = 0;
    for (;;) {
        size_t left = s->in.len - off;
        const uint8_t *q = s->in.data + off;
        if (s->compress) {
            if (left < 7 || left - 7 < cdc__le24(q)) break;
            s->cseq = (uint8_t)(q[3] + 1);
            s->seq = 1; /* the client starts every command at sequence id 0 */
            off += 7 + cdc__le24(q);
        } else {
            if (left < 4 || left - 4 < cdc__le24(q)) break;
            if (!s->got_response && cdc__le24(q) >= 4) {
                s->caps = cdc__le32(q + 4);
                s->got_response = true;
            }
            s->seq = (uint8_t)(q[3] + 1);
            off += 4 + cdc__le24(q);
        }
    }
    if (off) {
        memmove(s->in.data, s->in.data + off, s->in.len - off);
        s->in.len -= off;
    }
}

static session *find(int fd)
{
    for (size_t i = 0; i < MAX_SESSIONS; i++)
        if (fs.ss[i].fd == fd && fd >= 0) return &fs.ss[i];
    return NULL;
}

static void session_reset(session *s)
{
    cdc__buf_free(&s->in);
    cdc__buf_free(&s->out);
    memset(s, 0, sizeof *s);
    s->fd = -1;
}

/* ---- the wrapped calls --------------------------------------------- */

int __real_connect(int fd, const struct sockaddr *a, socklen_t len);
ssize_t __real_recv(int fd, void *buf, size_t n, int flags);
ssize_t __real_send(int fd, const void *buf, size_t n, int flags);
int __real_poll(struct pollfd *fds, nfds_t nfds, int timeout);
int __real_nanosleep(const struct timespec *req, struct timespec *rem);
int __real_close(int fd);

int __wrap_connect(int fd, const struct sockaddr *a, socklen_t len);
ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags);
ssize_t __wrap_send(int fd, const void *buf, size_t n, int flags);
int __wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout);
int __wrap_nanosleep(const struct timespec *req, struct timespec *rem);
int __wrap_close(int fd);

static bool is_fake(const struct sockaddr *a, socklen_t len)
{
    if (a->sa_family == AF_UNIX) {
        const struct sockaddr_un *u = (const struct sockaddr_un *)a;
        return len > offsetof(struct sockaddr_un, sun_path) && !strcmp(u->sun_path, FAKE_SOCKET);
    }
    if (a->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr == htonl(FAKE_ADDR);
    return false;
}

int __wrap_connect(int fd, const struct sockaddr *a, socklen_t len)
{
    if (!a || !is_fake(a, len)) return __real_connect(fd, a, len);
    pthread_mutex_lock(&fs.mu);
    session *s = find(fd);
    for (size_t i = 0; !s && i < MAX_SESSIONS; i++)
        if (fs.ss[i].fd < 0) s = &fs.ss[i];
    if (!s || fs.next_seg >= fs.nsegs) {
        pthread_mutex_unlock(&fs.mu);
        errno = ECONNREFUSED;
        return -1;
    }
    session_reset(s);
    s->fd = fd;
    s->seg = fs.next_seg++;
    s->next = fs.segs[s->seg];
    s->crc = true;
    s->auth = true; /* until the first OK or ERR */
    pthread_mutex_unlock(&fs.mu);
    return 0;
}

ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags)
{
    pthread_mutex_lock(&fs.mu);
    session *s = find(fd);
    if (!s) {
        pthread_mutex_unlock(&fs.mu);
        return __real_recv(fd, buf, n, flags);
    }
    if (s->out_off == s->out.len) {
        cdc__buf_reset(&s->out);
        s->out_off = 0;
        release_turn(s);
    }
    size_t k = s->out.len - s->out_off;
    if (k > n) k = n;
    if (fs.trickle && k > 7) k = 7;
    if (k) memcpy(buf, s->out.data + s->out_off, k);
    s->out_off += k;
    pthread_mutex_unlock(&fs.mu);
    return (ssize_t)k; /* 0: the server hung up */
}

ssize_t __wrap_send(int fd, const void *buf, size_t n, int flags)
{
    pthread_mutex_lock(&fs.mu);
    session *s = find(fd);
    if (!s) {
        pthread_mutex_unlock(&fs.mu);
        return __real_send(fd, buf, n, flags);
    }
    client_bytes(s, buf, n);
    pthread_mutex_unlock(&fs.mu);
    return (ssize_t)n;
}

int __wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    pthread_mutex_lock(&fs.mu);
    bool fake = nfds == 1 && find(fds[0].fd);
    pthread_mutex_unlock(&fs.mu);
    if (!fake) return __real_poll(fds, nfds, timeout);
    fds[0].revents = fds[0].events & (POLLIN | POLLOUT);
    return 1;
}

int __wrap_close(int fd)
{
    pthread_mutex_lock(&fs.mu);
    session *s = find(fd);
    if (s) session_reset(s);
    pthread_mutex_unlock(&fs.mu);
    return __real_close(fd);
}

/* The library's waits (backoff, server-id clash retries) take no time
 * inside the target; libFuzzer's own threads sleep for real. */
int __wrap_nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (in_target) return 0;
    return __real_nanosleep(req, rem);
}

/* ---- the client ---------------------------------------------------- */

typedef struct ctx { cdc__buf out; } ctx;

static int on_change(const cdc_change *c, void *ud)
{
    ctx *x = ud;
    cdc__err err;
    cdc__buf_reset(&x->out);
    cdc__change_render_json(c, &x->out, &err);
    return 0;
}

static int on_txn(const char *gtid, uint32_t server_id, int64_t ts_ms, const cdc_position *pos, void *ud)
{
    (void)gtid; (void)server_id; (void)ts_ms; (void)ud;
    char buf[256];
    size_t need;
    (void)cdc_position_format(pos, buf, sizeof buf, &need);
    return 0;
}

static int on_ddl(const cdc_query *q, const cdc_position *pos, void *ud)
{
    (void)q; (void)pos; (void)ud;
    return 0;
}

static int on_checkpoint(const cdc_position *pos, void *ud)
{
    (void)ud;
    char buf[256];
    size_t need;
    (void)cdc_position_format(pos, buf, sizeof buf, &need);
    return 0;
}

static int on_progress(const char *db, const char *table, uint64_t done, uint64_t est, size_t td,
                       size_t tt, void *ud)
{
    (void)db; (void)table; (void)done; (void)est; (void)td; (void)tt; (void)ud;
    return 0;
}

static void on_log(int level, int code, const char *msg, void *ud)
{
    (void)ud;
    if (debug) fprintf(stderr, "log %d %d: %s\n", level, code, msg);
}

static void run_stream(uint8_t o0, uint8_t o1)
{
    static const char *const modes[4] = {"never", "initial", "no_data", "initial_only"};
    static const char *const starts[4] = {
        "earliest", "binlog.000001:4",
        "gtid:3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5",
        "gtid:0-1-100",
    };
    cdc_config *cfg;
    if (cdc_config_new(&cfg, NULL)) return;
    const char *kv[][2] = {
        {"user", "fuzz"},
        {"password", (o1 & 0x40) ? "" : "secret"},
        {"server.id", "4242"},
        {"connect.timeout.ms", "200"},
        {"read.timeout.ms", "200"},
        {"heartbeat.interval.ms", "100"},
        {"reconnect.backoff.initial.ms", "0"},
        {"reconnect.backoff.max.ms", "0"},
        {"reconnect.max.attempts", (o1 & 0x10) ? "1" : "0"},
        {"snapshot.mode", modes[(o0 >> 3) & 3]},
        {"compression", (o0 & 2) ? "true" : "false"},
        {"allow.cleartext.password", (o0 & 0x20) ? "true" : "false"},
        {"get.server.public.key", (o0 & 0x40) ? "true" : "false"},
        {"ssl.mode", (o1 & 8) ? "preferred" : "disabled"},
        {"start", (o0 >> 3) & 3 ? "" : starts[o1 & 3]},
        {"stop.at", (o1 & 0x20) ? "now" : ""},
        {(o0 & 4) ? "host" : "socket", (o0 & 4) ? "127.0.0.254" : FAKE_SOCKET},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (*kv[i][1] && cdc_config_set(cfg, kv[i][0], kv[i][1], NULL, 0)) abort();
    static const char *const allowed[] = {
        "start", "stop.at", "database.include.list", "database.exclude.list", "table.include.list",
        "table.exclude.list", "column.exclude.list", "server.id.include.list",
        "server.id.exclude.list", "skipped.operations", "snapshot.chunk.rows", "heartbeat.timeout.ms",
    };
    for (size_t i = 0; i < fs.ncfg; i++) {
        char kvs[512];
        size_t n = fs.cfg[i].n < sizeof kvs - 1 ? fs.cfg[i].n : sizeof kvs - 1;
        memcpy(kvs, fs.cfg[i].d, n);
        kvs[n] = 0;
        char *eq = strchr(kvs, '=');
        if (!eq) continue;
        *eq = 0;
        for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++)
            if (!strcmp(kvs, allowed[k])) (void)cdc_config_set(cfg, kvs, eq + 1, NULL, 0);
    }
    cdc_stream *st;
    if (cdc_stream_new(&st, cfg, NULL, NULL, 0) == CDC_OK) {
        ctx x;
        cdc__buf_init(&x.out, NULL);
        cdc_stream_set_change_cb(st, on_change, &x);
        cdc_stream_set_snapshot_cb(st, on_change, &x);
        cdc_stream_set_begin_cb(st, on_txn, &x);
        cdc_stream_set_commit_cb(st, on_txn, &x);
        cdc_stream_set_ddl_cb(st, on_ddl, &x);
        cdc_stream_set_checkpoint_cb(st, on_checkpoint, &x);
        cdc_stream_set_snapshot_done_cb(st, on_checkpoint, &x);
        cdc_stream_set_progress_cb(st, on_progress, &x);
        cdc_stream_set_log_cb(st, on_log, &x);
        int rc = cdc_stream_start(st);
        if (debug) fprintf(stderr, "stream: %d %s\n", rc, cdc_stream_errmsg(st));
        char buf[512];
        size_t need;
        (void)cdc_stream_checkpoint(st, buf, sizeof buf, &need);
        cdc_stream_free(st);
        cdc__buf_free(&x.out);
    }
    cdc_config_free(cfg);
}

static int q_cols(const cdc__coldef *cols, size_t n, void *ud) { (void)cols; (void)n; (void)ud; return 0; }
static int q_row(const cdc_bytes *v, size_t n, void *ud)
{
    size_t *sum = ud;
    for (size_t i = 0; i < n; i++) *sum += v[i].len;
    return 0;
}
static int q_end(const cdc__ok *ok, bool more, void *ud) { (void)ok; (void)more; (void)ud; return 0; }

static void run_conn(uint8_t o0, uint8_t o1)
{
    cdc__conn *c;
    if (cdc__conn_new(&c, NULL)) return;
    cdc__conn_opts o = {0};
    if (o0 & 4) {
        o.host = "127.0.0.254";
        o.port = 3306;
    } else {
        o.unix_socket = FAKE_SOCKET;
    }
    o.user = "fuzz";
    o.password = (o1 & 0x40) ? "" : "secret";
    o.database = (o1 & 1) ? "db" : NULL;
    o.tls_mode = (o1 & 8) ? CDC_TLS_PREFERRED : CDC_TLS_DISABLED;
    o.compress = o0 & 2;
    o.connect_timeout_ms = 200;
    o.read_timeout_ms = 200;
    o.allow_cleartext_without_tls = o0 & 0x20;
    o.get_server_public_key = o0 & 0x40;
    o.max_packet = 1u << 20;
    o.charset = (o1 & 0x80) ? "latin1" : "utf8mb4";
    cdc__err err;
    int rc = cdc__conn_connect(c, &o, &err);
    if (debug) fprintf(stderr, "connect: %d %s\n", rc, rc ? err.msg : "");
    if (rc == CDC_OK) {
        (void)cdc__conn_server_version(c);
        cdc__result *r;
        if (cdc__conn_query_result(c, "SELECT 1", &r, &err) == CDC_OK) {
            for (size_t i = 0; i < cdc__result_rows(r); i++)
                for (size_t j = 0; j < cdc__result_cols(r); j++) (void)cdc__result_get(r, i, j);
            cdc__result_free(r);
        }
        size_t sum = 0;
        cdc__query_handler h = {.columns = q_cols, .row = q_row, .end = q_end};
        (void)cdc__conn_query(c, "SELECT 2; SELECT 3", 18, &h, &sum, &err);
        (void)cdc__conn_ping(c, &err);
        uint8_t dump[4 + 2 + 4 + 13];
        cdc__put_le32(dump, 4);
        cdc__put_le16(dump + 4, 0);
        cdc__put_le32(dump + 6, 4242);
        memcpy(dump + 10, "binlog.000001", 13);
        if (cdc__conn_write_command(c, CDC_COM_BINLOG_DUMP, dump, sizeof dump, &err) == CDC_OK) {
            cdc_decoder *d;
            if (cdc_decoder_new(&d, NULL, NULL, 0) == CDC_OK) {
                cdc_decoder_set_mode(d, CDC_DECODER_EVENTS);
                for (int i = 0; i < 256; i++) {
                    cdc_bytes p;
                    bool more = false;
                    rc = (o1 & 2) ? cdc__conn_read_piece(c, 1000, &p, &more, &err)
                                      : cdc__conn_read_packet(c, &p, &err);
                    if (debug) fprintf(stderr, "dump: %d %zu %s\n", rc, rc ? 0 : p.len, rc ? err.msg : "");
                    if (rc) break;
                    if (!(o1 & 2) && (!p.len || p.ptr[0] != 0)) break;
                    if (!(o1 & 2) && cdc_decoder_feed(d, p.ptr + 1, p.len - 1) < 0) break;
                }
                cdc_decoder_free(d);
            }
        }
    }
    cdc__conn_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > (1u << 20)) return 0;
    if (debug < 0) debug = getenv("FUZZ_CLIENT_DEBUG") != NULL;
    uint8_t o0 = data[0], o1 = data[1];
    fs.trickle = o0 & 0x80;
    fs.zlib = o1 & 4;
    fs.nrecs = 0;
    fs.ncfg = 0;
    fs.nsegs = 0;
    fs.next_seg = 0;
    fs.segs[fs.nsegs++] = 0;
    size_t off = 2;
    while (size - off >= 3 && fs.nrecs < MAX_RECS) {
        uint8_t op = data[off];
        size_t n = cdc__le16(data + off + 1);
        off += 3;
        if (n > size - off) n = size - off;
        if ((op & 0x7f) % OP_COUNT == OP_CONFIG) {
            if (fs.ncfg < sizeof fs.cfg / sizeof fs.cfg[0]) fs.cfg[fs.ncfg++] = (rec){OP_CONFIG, false, data + off, n};
        } else if ((op & 0x7f) % OP_COUNT == OP_NEXT_CONN) {
            if (fs.nsegs > MAX_CONNS - 1) break;
            fs.segs[fs.nsegs++] = fs.nrecs;
        } else {
            fs.recs[fs.nrecs++] = (rec){(uint8_t)((op & 0x7f) % OP_COUNT), (op & 0x80) != 0,
                                        data + off, n};
        }
        off += n;
    }
    fs.segs[fs.nsegs] = fs.nrecs;
    for (size_t i = 0; i < MAX_SESSIONS; i++) {
        fs.ss[i].fd = -1;
        cdc__buf_init(&fs.ss[i].in, NULL);
        cdc__buf_init(&fs.ss[i].out, NULL);
    }
    in_target = true;
    if (o0 & 1) run_stream(o0, o1);
    else run_conn(o0, o1);
    in_target = false;
    pthread_mutex_lock(&fs.mu);
    for (size_t i = 0; i < MAX_SESSIONS; i++) session_reset(&fs.ss[i]);
    pthread_mutex_unlock(&fs.mu);
    return 0;
}
