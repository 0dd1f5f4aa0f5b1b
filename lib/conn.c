/* conn.c: blocking connection over a socket (see conn.h). */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "packet.h"
#include "transport.h"

#define IBUF_SIZE (64 * 1024) /* the input buffer at connect; see cdc__conn_grow_input */

struct cdc__conn {
    const cdc_allocator *alloc;
    int fd;
    bool unix_sock;
    bool broken;
    cdc__tls *tls;
    int timeout_ms;
    /* input: raw bytes from the socket, then (compressed) inflated stream */
    uint8_t *ibuf;
    size_t ipos, ilen, icap;
    bool compress;
    cdc__buf zin;        /* inflated stream */
    size_t zpos;
    cdc__buf zraw;       /* one compressed packet's body */
    uint8_t cseq;
    cdc__deframer df;    /* df.seq is the exchange's sequence id, both ways */
    /* read_piece: a payload is under way (df streams it); piece gathers
     * a non-event payload only */
    cdc__buf piece;
    bool pc_active;
    cdc__buf out, zout, cmd;
    /* what the server said */
    char *version_str;
    cdc__server_version version;
    uint32_t conn_id, caps, server_caps;
    uint8_t server_charset;
    cdc__auth_plugin plugin;
    bool fast_path;
    /* SO_RCVLOWAT while a result streams into a raw_row handler
     * (cdc__conn_set_stream_lowat); lowat_on: the socket has it now */
    int stream_lowat;
    bool lowat_on;
};

/* ---- transport --------------------------------------------------- */

static int broken(cdc__conn *c, int rc)
{
    c->broken = true;
    return rc;
}

/* Reads 1..n bytes from the socket or TLS. */
static ptrdiff_t raw_recv(cdc__conn *c, uint8_t *buf, size_t n, cdc__err *err)
{
    if (c->tls) {
        ptrdiff_t r = cdc__tls_read(c->tls, buf, n, err);
        return r < 0 ? broken(c, (int)r) : r;
    }
    int e = 0;
    ptrdiff_t r = c->lowat_on ? cdc__io_recv_lowat(c->fd, buf, n, c->timeout_ms, &e)
                              : cdc__io_recv(c->fd, buf, n, c->timeout_ms, &e);
    if (r > 0) return r;
    if (r == CDC__IO_CLOSED) return broken(c, cdc__err_set(err, CDC_ERR_CLOSED, "connection closed by server"));
    if (r == CDC__IO_TIMEOUT)
        return broken(c, cdc__err_set(err, CDC_ERR_TIMEOUT, "no data from the server for %d ms", c->timeout_ms));
    if (e == ECONNRESET) return broken(c, cdc__err_set(err, CDC_ERR_CLOSED, "connection reset by server"));
    return broken(c, cdc__err_set(err, CDC_ERR_IO, "read from server: %s", strerror(e)));
}

static int raw_send(cdc__conn *c, const uint8_t *p, size_t n, cdc__err *err)
{
    if (c->tls) {
        int rc = cdc__tls_write(c->tls, p, n, err);
        return rc ? broken(c, rc) : CDC_OK;
    }
    while (n) {
        int e = 0;
        ptrdiff_t w = cdc__io_send(c->fd, p, n, c->timeout_ms, &e);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w == CDC__IO_TIMEOUT)
            return broken(c, cdc__err_set(err, CDC_ERR_TIMEOUT, "server did not take data for %d ms", c->timeout_ms));
        if (e == EPIPE || e == ECONNRESET)
            return broken(c, cdc__err_set(err, CDC_ERR_CLOSED, "connection closed by server (%s)", strerror(e)));
        return broken(c, cdc__err_set(err, CDC_ERR_IO, "write to server: %s", strerror(e)));
    }
    return CDC_OK;
}

/* Exactly n raw bytes, through the input buffer. */
static int raw_read_exact(cdc__conn *c, uint8_t *dst, size_t n, cdc__err *err)
{
    while (n) {
        if (c->ipos == c->ilen) {
            /* Large bodies go straight to their destination. */
            if (n >= c->icap) {
                ptrdiff_t r = raw_recv(c, dst, n, err);
                if (r < 0) return (int)r;
                dst += r;
                n -= (size_t)r;
                continue;
            }
            ptrdiff_t r = raw_recv(c, c->ibuf, c->icap, err);
            if (r < 0) return (int)r;
            c->ipos = 0;
            c->ilen = (size_t)r;
        }
        size_t take = c->ilen - c->ipos < n ? c->ilen - c->ipos : n;
        memcpy(dst, c->ibuf + c->ipos, take);
        c->ipos += take;
        dst += take;
        n -= take;
    }
    return CDC_OK;
}

/* Makes some packet-stream bytes available: *p, *n. */
static int stream_peek(cdc__conn *c, const uint8_t **p, size_t *n, cdc__err *err)
{
    if (!c->compress) {
        if (c->ipos == c->ilen) {
            ptrdiff_t r = raw_recv(c, c->ibuf, c->icap, err);
            if (r < 0) return (int)r;
            c->ipos = 0;
            c->ilen = (size_t)r;
        }
        *p = c->ibuf + c->ipos;
        *n = c->ilen - c->ipos;
        return CDC_OK;
    }
    while (c->zpos == c->zin.len) {
        uint8_t h[CDC__ZPKT_HDR];
        int rc = raw_read_exact(c, h, sizeof h, err);
        if (rc) return rc;
        cdc__zhdr zh = cdc__zhdr_parse(h);
        c->cseq = (uint8_t)(zh.seq + 1);
        cdc__buf_reset(&c->zraw);
        cdc__buf_reset(&c->zin);
        c->zpos = 0;
        if ((rc = cdc__buf_reserve(&c->zraw, zh.clen)))
            return broken(c, cdc__err_set(err, rc, "out of memory for a compressed packet"));
        if ((rc = raw_read_exact(c, c->zraw.data, zh.clen, err))) return rc;
        if ((rc = cdc__zpacket_unpack(&zh, c->zraw.data, &c->zin, 0, err))) return broken(c, rc);
    }
    *p = c->zin.data + c->zpos;
    *n = c->zin.len - c->zpos;
    return CDC_OK;
}

static void stream_consume(cdc__conn *c, size_t n)
{
    if (c->compress) c->zpos += n;
    else c->ipos += n;
}

int cdc__conn_read_packet(cdc__conn *c, cdc_bytes *payload, cdc__err *err)
{
    if (c->broken || c->fd < 0) return cdc__err_set(err, CDC_ERR_STATE, "connection is not open");
    cdc__deframer_next(&c->df);
    while (!c->df.done) {
        size_t room;
        uint8_t *dst = cdc__deframer_direct(&c->df, &room);
        if (!c->compress && c->ipos == c->ilen && room >= c->icap) {
            /* The body of a big packet goes from the socket into place. */
            ptrdiff_t r = raw_recv(c, dst, room, err);
            if (r < 0) return (int)r;
            cdc__deframer_commit(&c->df, (size_t)r);
            continue;
        }
        const uint8_t *p = NULL;
        size_t n = 0;
        int rc = stream_peek(c, &p, &n, err);
        if (rc) return rc;
        ptrdiff_t used = cdc__deframer_feed(&c->df, p, n, err);
        if (used < 0) return broken(c, (int)used);
        stream_consume(c, (size_t)used);
    }
    *payload = (cdc_bytes){c->df.payload.data, c->df.payload.len};
    return CDC_OK;
}

int cdc__conn_read_piece(cdc__conn *c, size_t max, cdc_bytes *piece, bool *more, cdc__err *err)
{
    if (c->broken || c->fd < 0) return cdc__err_set(err, CDC_ERR_STATE, "connection is not open");
    if (!max) return cdc__err_set(err, CDC_ERR_INVALID, "read_piece: max is 0");
    /* Pieces are views into the input buffer (the de-framer's streaming
     * mode), so streamed bytes are not copied. Only a payload that does
     * not start with 0x00 (an ERR or EOF packet, which its reader needs
     * whole) is gathered when it straddles the buffer. */
    bool first = !c->pc_active, gather = false;
    cdc__buf_reset(&c->piece);
    for (;;) {
        const uint8_t *p = NULL;
        size_t n = 0;
        int rc = stream_peek(c, &p, &n, err);
        if (rc) return rc;
        cdc_bytes span;
        bool end;
        ptrdiff_t used = cdc__deframer_stream(&c->df, p, n, gather ? max - c->piece.len : max, &span, &end, err);
        if (used < 0) return broken(c, (int)used);
        stream_consume(c, (size_t)used);
        if (!span.len && !end) continue; /* a header, or part of one */
        c->pc_active = !end;
        if (first && !gather && !end && span.ptr[0] != 0x00) {
            gather = true;
            if ((rc = cdc__buf_reserve(&c->piece, max)))
                return cdc__err_set(err, rc, "out of memory for a %zu-byte piece", max);
        }
        if (!gather) {
            *piece = span;
            *more = !end;
            return CDC_OK;
        }
        if (span.len && cdc__buf_append(&c->piece, span.ptr, span.len))
            return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory for a %zu-byte piece", max);
        if (end || c->piece.len == max) {
            *piece = (cdc_bytes){c->piece.data, c->piece.len};
            *more = !end;
            return CDC_OK;
        }
    }
}

/* Sends one logical payload with the current sequence id. */
static int send_payload(cdc__conn *c, const uint8_t *p, size_t n, cdc__err *err)
{
    cdc__buf_reset(&c->out);
    int rc = cdc__packet_frame(&c->out, &c->df.seq, p, n);
    if (rc) return cdc__err_set(err, rc, "out of memory for a %zu-byte packet", n);
    if (!c->compress) return raw_send(c, c->out.data, c->out.len, err);
    cdc__buf_reset(&c->zout);
    if ((rc = cdc__zpacket_frame(&c->zout, &c->cseq, c->out.data, c->out.len, err))) return rc;
    return raw_send(c, c->zout.data, c->zout.len, err);
}

int cdc__conn_write_command(cdc__conn *c, uint8_t cmd, const void *payload, size_t len, cdc__err *err)
{
    if (c->broken || c->fd < 0) return cdc__err_set(err, CDC_ERR_STATE, "connection is not open");
    c->df.seq = 0;
    c->cseq = 0;
    c->pc_active = false;
    cdc__deframer_next(&c->df); /* nor a payload half read */
    /* Anything unread belongs to an abandoned exchange. */
    c->ipos = c->ilen;
    c->zpos = c->zin.len;
    cdc__buf_reset(&c->cmd);
    int rc = cdc__buf_reserve(&c->cmd, len + 1);
    if (rc) return cdc__err_set(err, rc, "out of memory for a %zu-byte command", len);
    c->cmd.data[0] = cmd;
    if (len) memcpy(c->cmd.data + 1, payload, len);
    c->cmd.len = len + 1;
    return send_payload(c, c->cmd.data, c->cmd.len, err);
}

int cdc__conn_grow_input(cdc__conn *c, size_t bytes)
{
    if (!c->ibuf || bytes <= c->icap) return CDC_OK;
    uint8_t *p = bytes % CDC__HUGE_PAGE ? cdc__malloc(c->alloc, bytes) : cdc__malloc_huge(c->alloc, bytes);
    if (!p) return CDC_ERR_NOMEM;
    memcpy(p, c->ibuf + c->ipos, c->ilen - c->ipos); /* what is unread, in order */
    cdc__free(c->alloc, c->ibuf);
    c->ibuf = p;
    c->ilen -= c->ipos;
    c->ipos = 0;
    c->icap = bytes;
    return CDC_OK;
}

size_t cdc__conn_input_size(const cdc__conn *c) { return c->icap; }

void cdc__conn_set_stream_lowat(cdc__conn *c, int bytes) { c->stream_lowat = bytes > 1 ? bytes : 0; }

void cdc__conn_set_read_timeout(cdc__conn *c, int timeout_ms)
{
    c->timeout_ms = timeout_ms;
    if (c->tls) cdc__tls_set_timeout(c->tls, timeout_ms);
}

/* ---- lifecycle ---------------------------------------------------- */

int cdc__conn_new(cdc__conn **out, const cdc_allocator *a)
{
    cdc__conn *c = cdc__calloc(a, 1, sizeof *c);
    *out = c;
    if (!c) return CDC_ERR_NOMEM;
    c->alloc = cdc__allocator(a);
    c->fd = -1;
    cdc__buf_init(&c->zin, a);
    cdc__buf_init(&c->zraw, a);
    cdc__buf_init(&c->out, a);
    cdc__buf_init(&c->zout, a);
    cdc__buf_init(&c->cmd, a);
    cdc__buf_init(&c->piece, a);
    cdc__deframer_init(&c->df, a, CDC__CONN_DEFAULT_MAX_PACKET);
    return CDC_OK;
}

static void conn_drop(cdc__conn *c)
{
    cdc__tls_free(c->tls);
    c->tls = NULL;
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->ipos = c->ilen = 0;
    c->compress = false;
    cdc__buf_reset(&c->zin);
    c->zpos = 0;
    cdc__free(c->alloc, c->version_str);
    c->version_str = NULL;
    memset(&c->version, 0, sizeof c->version);
    c->broken = false;
}

void cdc__conn_close(cdc__conn *c)
{
    if (!c) return;
    if (c->fd >= 0 && !c->broken) {
        c->timeout_ms = 1000;
        if (c->tls) cdc__tls_set_timeout(c->tls, 1000);
        (void)cdc__conn_write_command(c, CDC_COM_QUIT, NULL, 0, NULL);
    }
    conn_drop(c);
}

void cdc__conn_free(cdc__conn *c)
{
    if (!c) return;
    cdc__conn_close(c);
    cdc__free(c->alloc, c->ibuf);
    cdc__buf_free(&c->zin);
    cdc__buf_free(&c->zraw);
    cdc__buf_free(&c->out);
    cdc__buf_free(&c->zout);
    cdc__buf_free(&c->cmd);
    cdc__buf_free(&c->piece);
    cdc__deframer_free(&c->df);
    cdc__free(c->alloc, c);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_unix(cdc__conn *c, const char *path, cdc__err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return cdc__err_set(err, CDC_ERR_CONFIG, "unix socket path '%s' is too long", path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return cdc__err_set(err, CDC_ERR_IO, "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        return cdc__err_set(err, CDC_ERR_CONNECT, "cannot connect to unix socket '%s': %s", path, strerror(e));
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    c->fd = fd;
    c->unix_sock = true;
    return CDC_OK;
}

static int connect_tcp(cdc__conn *c, const char *host, unsigned port, int timeout_ms, cdc__err *err)
{
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(host, portstr, &hints, &res);
    if (g != 0)
        return cdc__err_set(err, g == EAI_MEMORY ? CDC_ERR_NOMEM : (g == EAI_AGAIN ? CDC_ERR_CONNECT : CDC_ERR_RESOLVE),
                            "cannot resolve host '%s': %s", host, gai_strerror(g));
    long long deadline = now_ms() + timeout_ms;
    int last = 0;
    bool timed_out = false;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) { last = errno; continue; }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) { last = errno; close(fd); continue; }
            long long left = deadline - now_ms();
            int w = left > 0 ? cdc__io_wait(fd, POLLOUT, (int)left) : 0;
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (w == 0) { timed_out = true; close(fd); continue; }
            if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
                last = soerr ? soerr : errno;
                close(fd);
                continue;
            }
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        c->fd = fd;
        c->unix_sock = false;
        freeaddrinfo(res);
        return CDC_OK;
    }
    freeaddrinfo(res);
    if (timed_out && !last)
        return cdc__err_set(err, CDC_ERR_TIMEOUT, "cannot connect to %s:%u: no answer within %d ms", host, port, timeout_ms);
    return cdc__err_set(err, CDC_ERR_CONNECT, "cannot connect to %s:%u: %s", host, port, strerror(last));
}

static int charset_id(const char *name)
{
    /* Collations both servers know; MySQL's 255 (utf8mb4_0900_ai_ci) is
     * unknown to MariaDB. The session collation does not matter to CDC. */
    if (!name || !*name || !strcasecmp(name, "utf8mb4")) return 45;
    if (!strcasecmp(name, "utf8mb3") || !strcasecmp(name, "utf8")) return 33;
    if (!strcasecmp(name, "latin1")) return 8;
    if (!strcasecmp(name, "binary")) return 63;
    return -1;
}

static int read_file(const cdc_allocator *a, const char *path, cdc__buf *out, cdc__err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return cdc__err_set(err, CDC_ERR_CONFIG, "cannot open '%s': %s", path, strerror(errno));
    cdc__buf_init(out, a);
    char tmp[4096];
    size_t n;
    int rc = CDC_OK;
    while (!rc && (n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (out->len + n > 1024 * 1024) rc = cdc__err_set(err, CDC_ERR_CONFIG, "'%s' is too large for a key file", path);
        else if (cdc__buf_append(out, tmp, n)) rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory reading '%s'", path);
    }
    if (!rc && ferror(f)) rc = cdc__err_set(err, CDC_ERR_CONFIG, "cannot read '%s'", path);
    fclose(f);
    if (rc) cdc__buf_free(out);
    return rc;
}

/* The authentication exchange after the handshake response is sent. */
static int auth_loop(cdc__conn *c, cdc__auth *a, cdc__err *err)
{
    for (;;) {
        cdc_bytes p;
        int rc = cdc__conn_read_packet(c, &p, err);
        if (rc) return rc;
        if (p.len == 0) return broken(c, cdc__err_set(err, CDC_ERR_PROTOCOL, "empty packet during authentication"));
        switch (p.ptr[0]) {
        case 0x00:
            c->plugin = a->plugin;
            c->fast_path = a->fast_ok;
            return CDC_OK;
        case 0xff:
            rc = cdc__err_packet(p.ptr, p.len, err);
            return broken(c, rc);
        case 0xfe: {
            cdc_bytes name, data;
            if ((rc = cdc__auth_switch_parse(p.ptr, p.len, &name, &data, err))) return broken(c, rc);
            cdc__auth_plugin pl = cdc__auth_plugin_find(name.ptr, name.len);
            if (pl == CDC_AUTH_UNKNOWN)
                return broken(c, cdc__err_set(err, CDC_ERR_AUTH_PLUGIN,
                                              "server asks for authentication plugin '%.*s', which libcdc does not support",
                                              (int)name.len, (const char *)name.ptr));
            /* data borrows the packet buffer, which send_payload leaves alone. */
            cdc__buf reply;
            cdc__buf_init(&reply, c->alloc);
            rc = cdc__auth_start(a, pl, data.ptr, data.len, &reply, err);
            if (!rc) rc = send_payload(c, reply.data, reply.len, err);
            cdc__buf_free(&reply);
            if (rc) return broken(c, rc);
            break;
        }
        case 0x01: {
            cdc__buf reply;
            bool send = false;
            cdc__buf_init(&reply, c->alloc);
            rc = cdc__auth_more(a, p.ptr + 1, p.len - 1, &reply, &send, err);
            if (!rc && send) rc = send_payload(c, reply.data, reply.len, err);
            cdc__buf_free(&reply);
            if (rc) return broken(c, rc);
            break;
        }
        default:
            return broken(c, cdc__err_set(err, CDC_ERR_PROTOCOL,
                                          "unexpected packet (first byte 0x%02x, %zu bytes) during authentication",
                                          p.ptr[0], p.len));
        }
    }
}

static int conn_handshake(cdc__conn *c, const cdc__conn_opts *o, const char *host, cdc__buf *key, cdc__err *err)
{
    cdc_bytes p;
    int rc = cdc__conn_read_packet(c, &p, err);
    if (rc == CDC_ERR_TIMEOUT) /* the socket is up, but nothing speaks MySQL on it */
        return cdc__err_set(err, rc, "connected to %s, but no server greeting came within %d ms "
                                     "(connect.timeout.ms): is it a MySQL or MariaDB server?", host, c->timeout_ms);
    if (rc) return rc;
    if (p.len && p.ptr[0] == 0xff) return broken(c, cdc__err_packet(p.ptr, p.len, err));
    cdc__handshake hs;
    if ((rc = cdc__handshake_parse(p.ptr, p.len, &hs, err))) return broken(c, rc);
    if (!(hs.caps & CDC_CAP_PROTOCOL_41))
        return broken(c, cdc__err_set(err, CDC_ERR_UNSUPPORTED, "server does not speak protocol 4.1"));
    c->version_str = cdc__strndup(c->alloc, (const char *)hs.server_version.ptr, hs.server_version.len);
    if (!c->version_str) return broken(c, cdc__err_set(err, CDC_ERR_NOMEM, "out of memory"));
    c->version = cdc__server_version_parse(c->version_str, hs.server_version.len);
    c->conn_id = hs.connection_id;
    c->server_caps = hs.caps;
    c->server_charset = hs.charset;

    int cs = charset_id(o->charset);
    if (cs < 0) return broken(c, cdc__err_set(err, CDC_ERR_CONFIG, "unknown charset '%s'", o->charset));
    uint32_t caps = CDC__CAPS_WANTED & hs.caps;
    if (o->database && *o->database) caps |= CDC_CAP_CONNECT_WITH_DB & hs.caps;
    if (o->compress) caps |= CDC_CAP_COMPRESS & hs.caps;
    if (o->compress && !(hs.caps & CDC_CAP_COMPRESS))
        return broken(c, cdc__err_set(err, CDC_ERR_UNSUPPORTED, "compression requested but the server does not offer it"));
    bool use_tls = false;
    if (o->tls_mode >= CDC_TLS_REQUIRED) {
        if (!(hs.caps & CDC_CAP_SSL))
            return broken(c, cdc__err_set(err, CDC_ERR_TLS_REQUIRED, "ssl.mode=%s, but the server at %s does not offer TLS",
                                          cdc__tls_mode_name(o->tls_mode), host));
        use_tls = true;
    } else if (o->tls_mode == CDC_TLS_PREFERRED) {
        use_tls = (hs.caps & CDC_CAP_SSL) && !c->unix_sock;
    }
    uint32_t max_packet = CDC__PKT_MAX;
    if (use_tls) {
        caps |= CDC_CAP_SSL;
        cdc__buf_reset(&c->out);
        if ((rc = cdc__handshake_ssl_request(&c->out, caps, max_packet, (uint8_t)cs)))
            return broken(c, cdc__err_set(err, rc, "out of memory"));
        cdc__buf req = c->out;
        cdc__buf_init(&c->out, c->alloc);
        rc = send_payload(c, req.data, req.len, err);
        cdc__buf_free(&req);
        if (rc) return rc;
        cdc__tls_opts to = {o->tls_mode, o->tls_ca, o->tls_cert, o->tls_key, o->tls_server_name, host};
        if ((rc = cdc__tls_connect(&c->tls, c->alloc, &to, c->fd, c->timeout_ms, err))) return broken(c, rc);
    }
    c->caps = caps;

    cdc__auth a = {0};
    a.password = o->password ? o->password : "";
    a.password_len = strlen(a.password);
    a.tls = use_tls;
    a.secure = use_tls || c->unix_sock;
    a.allow_cleartext = o->allow_cleartext_without_tls;
    a.get_server_key = o->get_server_public_key;
    if (key->len) {
        a.server_key = (const char *)key->data;
        a.server_key_len = key->len;
    }
    cdc__auth_plugin pl = cdc__auth_plugin_find(hs.auth_plugin.ptr, hs.auth_plugin.len);
    if (pl == CDC_AUTH_UNKNOWN || (pl == CDC_AUTH_CLEAR && !use_tls && !a.allow_cleartext))
        /* The server will switch us to what the account needs. */
        pl = c->version.flavour == CDC_FLAVOUR_MYSQL && c->version.major >= 8 ? CDC_AUTH_CACHING_SHA2 : CDC_AUTH_NATIVE;
    cdc__buf first;
    cdc__buf_init(&first, c->alloc);
    if ((rc = cdc__auth_start(&a, pl, hs.scramble, hs.scramble_len, &first, err))) {
        cdc__buf_free(&first);
        return broken(c, rc);
    }
    cdc__client_attrs attrs;
    cdc__handshake_attrs_init(&attrs);
    cdc__hs_response r = {caps, max_packet, (uint8_t)cs, o->user ? o->user : "", first.data, first.len,
                                o->database, cdc__auth_plugin_name(pl), attrs.kv};
    cdc__buf resp;
    cdc__buf_init(&resp, c->alloc);
    rc = cdc__handshake_response(&resp, &r, err);
    cdc__buf_free(&first);
    if (!rc) rc = send_payload(c, resp.data, resp.len, err);
    cdc__buf_free(&resp);
    if (rc) return broken(c, rc);
    if ((rc = auth_loop(c, &a, err))) return rc;
    if (caps & CDC_CAP_COMPRESS) {
        c->compress = true;
        c->df.check_seq = false; /* ids live in the compressed headers now */
    }
    return CDC_OK;
}

void cdc__conn_opts_from_config(const cdc_config *c, cdc__conn_opts *o)
{
    memset(o, 0, sizeof *o);
    o->host = cdc__config_str(c, CDC_CFG_HOST);
    o->port = (unsigned)cdc__config_int(c, CDC_CFG_PORT);
    o->unix_socket = *cdc__config_str(c, CDC_CFG_SOCKET) ? cdc__config_str(c, CDC_CFG_SOCKET) : NULL;
    o->user = cdc__config_str(c, CDC_CFG_USER);
    o->password = cdc__config_str(c, CDC_CFG_PASSWORD);
    o->tls_mode = (cdc__tls_mode)cdc__config_enum(c, CDC_CFG_SSL_MODE);
#define OPT_PATH(field, id) o->field = *cdc__config_str(c, id) ? cdc__config_str(c, id) : NULL
    OPT_PATH(tls_ca, CDC_CFG_SSL_CA);
    OPT_PATH(tls_cert, CDC_CFG_SSL_CERT);
    OPT_PATH(tls_key, CDC_CFG_SSL_KEY);
    OPT_PATH(tls_server_name, CDC_CFG_SSL_SERVER_NAME);
    OPT_PATH(server_public_key_path, CDC_CFG_SERVER_PUBLIC_KEY);
#undef OPT_PATH
    o->compress = cdc__config_bool(c, CDC_CFG_COMPRESSION);
    o->connect_timeout_ms = (int)cdc__config_int(c, CDC_CFG_CONNECT_TIMEOUT_MS);
    o->read_timeout_ms = (int)cdc__config_int(c, CDC_CFG_READ_TIMEOUT_MS);
    o->get_server_public_key = cdc__config_bool(c, CDC_CFG_GET_SERVER_PUBLIC_KEY);
    o->allow_cleartext_without_tls = cdc__config_bool(c, CDC_CFG_ALLOW_CLEARTEXT);
    o->max_packet = (size_t)cdc__config_int(c, CDC_CFG_MAX_PACKET_BYTES);
}

int cdc__conn_connect(cdc__conn *c, const cdc__conn_opts *o, cdc__err *err)
{
    if (c->fd >= 0) return cdc__err_set(err, CDC_ERR_STATE, "connection is already open");
    if (!o->user || !*o->user) return cdc__err_set(err, CDC_ERR_CONFIG, "no user name given");
    if ((unsigned)o->tls_mode > CDC_TLS_VERIFY_IDENTITY)
        return cdc__err_set(err, CDC_ERR_CONFIG, "ssl.mode: %d is not a valid mode", (int)o->tls_mode);
    if (!c->ibuf) {
        if (!(c->ibuf = cdc__malloc(c->alloc, IBUF_SIZE)))
            return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory for the input buffer");
        c->icap = IBUF_SIZE;
    }
    c->df.max = o->max_packet ? o->max_packet : CDC__CONN_DEFAULT_MAX_PACKET;
    cdc__deframer_next(&c->df); /* a handle reused after close starts afresh */
    c->df.check_seq = true;
    c->df.seq = 0;
    c->cseq = 0;
    c->broken = false;
    c->compress = false;
    c->plugin = CDC_AUTH_UNKNOWN;
    c->fast_path = false;
    cdc__buf key;
    cdc__buf_init(&key, c->alloc);
    int rc;
    if (o->server_public_key_path && *o->server_public_key_path &&
        (rc = read_file(c->alloc, o->server_public_key_path, &key, err)))
        return rc;
    const char *host = o->host && *o->host ? o->host : "127.0.0.1";
    unsigned port = o->port ? o->port : 3306;
    int ctimeout = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000;
    c->timeout_ms = ctimeout;
    if (o->unix_socket && *o->unix_socket) {
        rc = connect_unix(c, o->unix_socket, err);
        host = "localhost";
    } else {
        rc = connect_tcp(c, host, port, ctimeout, err);
    }
    if (!rc) rc = conn_handshake(c, o, host, &key, err);
    cdc__buf_free(&key);
    if (rc) {
        conn_drop(c);
        return rc;
    }
    cdc__conn_set_read_timeout(c, o->read_timeout_ms > 0 ? o->read_timeout_ms : 0);
    return CDC_OK;
}

/* ---- queries ------------------------------------------------------ */

/* Reads a command's reply (result sets or OK/ERR) into h. */
static int read_reply(cdc__conn *c, const cdc__query_handler *h, void *ud, cdc__err *err)
{
    cdc__rs rs;
    cdc__rs_init(&rs, c->alloc, c->caps);
    rs.raw_rows = h && h->raw_row;
    /* A long result arrives in the server's 16 KB writes; woken for each,
     * this thread costs the server's too (on loopback its send runs our
     * side's TCP receive and wakeup). With the mark, one wakeup per
     * stream_lowat bytes (docs/performance.md, "the server's work per
     * row"). Armed once the rows passed twice the mark, so a short result
     * (a small table) never waits out a step for its tail. TLS reads poll
     * in tls.c, without the steps: not there. */
    bool want_lowat = rs.raw_rows && c->stream_lowat && !c->tls;
    size_t row_bytes = 0;
    int cbrc = 0, result = CDC_OK, rc;
    for (;;) {
        cdc_bytes p;
        if ((rc = cdc__conn_read_packet(c, &p, err))) { result = rc; break; }
        int ev = cdc__rs_feed(&rs, p.ptr, p.len, err);
        if (ev < 0) {
            /* A server error ends the reply; anything else leaves the
             * stream at an unknown place. */
            if (p.len == 0 || p.ptr[0] != 0xff) c->broken = true;
            result = ev;
            break;
        }
        if (!cbrc && h) {
            if (ev == CDC_RS_COLUMNS && h->columns) cbrc = h->columns(rs.cols, rs.ncols, ud);
            else if (ev == CDC_RS_ROW && h->raw_row) cbrc = h->raw_row(p.ptr, p.len, ud);
            else if (ev == CDC_RS_ROW && h->row) cbrc = h->row(rs.vals, rs.ncols, ud);
            else if (ev == CDC_RS_END && h->end) cbrc = h->end(&rs.ok, rs.more, ud);
        }
        if (ev == CDC_RS_END && !rs.more) break;
        if (want_lowat && ev == CDC_RS_ROW && !c->lowat_on && (row_bytes += p.len) >= 2 * (size_t)c->stream_lowat &&
            !cdc__io_set_lowat(c->fd, c->stream_lowat))
            c->lowat_on = true;
    }
    cdc__rs_free(&rs);
    /* the next replies are small: plain waits again (if the kernel
     * refuses, the stepped waits stay, which is only slower) */
    if (c->lowat_on && !cdc__io_set_lowat(c->fd, 1)) c->lowat_on = false;
    if (result) return result;
    if (cbrc)
        return cdc__err_set(err, cbrc < 0 ? cbrc : CDC_ERR_CALLBACK, "query callback returned %d", cbrc);
    return CDC_OK;
}

int cdc__conn_query(cdc__conn *c, const char *sql, size_t len, const cdc__query_handler *h, void *ud, cdc__err *err)
{
    int rc = cdc__conn_write_command(c, CDC_COM_QUERY, sql, len, err);
    if (rc) return rc;
    return read_reply(c, h, ud, err);
}

/* ---- prepared statements (binary protocol) ------------------------ */

int cdc__conn_prepare(cdc__conn *c, const char *sql, size_t len, cdc__stmt_info *st, cdc__err *err)
{
    memset(st, 0, sizeof *st);
    int rc = cdc__conn_write_command(c, CDC_COM_STMT_PREPARE, sql, len, err);
    if (rc) return rc;
    cdc_bytes p;
    if ((rc = cdc__conn_read_packet(c, &p, err))) return rc;
    if (p.len && p.ptr[0] == 0xff) return cdc__err_packet(p.ptr, p.len, err);
    if ((rc = cdc__stmt_prepare_ok_parse(p.ptr, p.len, st, err))) return broken(c, rc);
    /* parameter, then column definitions, each list ended by an EOF
     * packet unless DEPRECATE_EOF; the execute reply repeats the columns */
    for (int list = 0; list < 2; list++) {
        unsigned n = list ? st->ncols : st->nparams;
        for (unsigned i = 0; i < n; i++) {
            if ((rc = cdc__conn_read_packet(c, &p, err))) return rc;
            cdc__coldef cd;
            if ((rc = cdc__coldef_parse(p.ptr, p.len, &cd, err))) return broken(c, rc);
        }
        if (n && !(c->caps & CDC_CAP_DEPRECATE_EOF)) {
            if ((rc = cdc__conn_read_packet(c, &p, err))) return rc;
            if (!cdc__is_eof(p.ptr, p.len))
                return broken(c, cdc__err_set(err, CDC_ERR_PROTOCOL,
                                              "COM_STMT_PREPARE: expected EOF after %u definitions, got 0x%02x", n,
                                              p.len ? p.ptr[0] : 0));
        }
    }
    return CDC_OK;
}

int cdc__conn_execute(cdc__conn *c, uint32_t stmt_id, const cdc__query_handler *h, void *ud, cdc__err *err)
{
    /* statement id, flags (no cursor), iteration count 1; no parameters */
    uint8_t b[9] = {0};
    cdc__put_le32(b, stmt_id);
    cdc__put_le32(b + 5, 1);
    int rc = cdc__conn_write_command(c, CDC_COM_STMT_EXECUTE, b, sizeof b, err);
    if (rc) return rc;
    return read_reply(c, h, ud, err);
}

int cdc__conn_stmt_close(cdc__conn *c, uint32_t stmt_id, cdc__err *err)
{
    uint8_t b[4];
    cdc__put_le32(b, stmt_id);
    /* the server sends no reply */
    return cdc__conn_write_command(c, CDC_COM_STMT_CLOSE, b, sizeof b, err);
}

int cdc__conn_query_binary(cdc__conn *c, const char *sql, size_t len, const cdc__query_handler *h, void *ud,
                           cdc__err *err)
{
    cdc__stmt_info st;
    int rc = cdc__conn_prepare(c, sql, len, &st, err);
    if (rc) return rc;
    rc = cdc__conn_execute(c, st.id, h, ud, err);
    if (!c->broken) {
        cdc__err e;
        int crc = cdc__conn_stmt_close(c, st.id, &e);
        if (!rc && crc) {
            *err = e;
            rc = crc;
        }
    }
    return rc;
}

int cdc__conn_exec(cdc__conn *c, const char *sql, cdc__err *err)
{
    return cdc__conn_query(c, sql, strlen(sql), NULL, NULL, err);
}

int cdc__conn_ping(cdc__conn *c, cdc__err *err)
{
    int rc = cdc__conn_write_command(c, CDC_COM_PING, NULL, 0, err);
    if (rc) return rc;
    cdc_bytes p;
    if ((rc = cdc__conn_read_packet(c, &p, err))) return rc;
    if (p.len && p.ptr[0] == 0xff) return cdc__err_packet(p.ptr, p.len, err);
    cdc__ok ok;
    return cdc__ok_parse(p.ptr, p.len, c->caps, &ok, err);
}

int cdc__conn_query_result(cdc__conn *c, const char *sql, cdc__result **out, cdc__err *err)
{
    *out = NULL;
    int rc = cdc__conn_send_query(c, sql, err);
    return rc ? rc : cdc__conn_read_result(c, out, err);
}

int cdc__conn_send_query(cdc__conn *c, const char *sql, cdc__err *err)
{
    return cdc__conn_write_command(c, CDC_COM_QUERY, sql, strlen(sql), err);
}

int cdc__conn_read_result(cdc__conn *c, cdc__result **out, cdc__err *err)
{
    *out = NULL;
    cdc__result *r;
    if (cdc__result_new(&r, c->alloc)) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    static const cdc__query_handler h = {.columns = cdc__result_on_columns, .row = cdc__result_on_row, .end = cdc__result_on_end};
    int rc = read_reply(c, &h, r, err);
    if (rc) {
        if (rc == CDC_ERR_NOMEM) cdc__err_set(err, rc, "out of memory storing a result");
        cdc__result_free(r);
        return rc;
    }
    *out = r;
    return CDC_OK;
}

/* ---- getters ------------------------------------------------------ */

const cdc__server_version *cdc__conn_server_version(const cdc__conn *c) { return &c->version; }
const char *cdc__conn_server_version_string(const cdc__conn *c) { return c->version_str ? c->version_str : ""; }
uint32_t cdc__conn_id(const cdc__conn *c) { return c->conn_id; }
uint32_t cdc__conn_caps(const cdc__conn *c) { return c->caps; }
uint32_t cdc__conn_server_caps(const cdc__conn *c) { return c->server_caps; }
uint8_t cdc__conn_server_charset(const cdc__conn *c) { return c->server_charset; }
const char *cdc__conn_auth_plugin(const cdc__conn *c) { return cdc__auth_plugin_name(c->plugin); }
bool cdc__conn_auth_fast_path(const cdc__conn *c) { return c->fast_path; }
const char *cdc__conn_tls_cipher(const cdc__conn *c) { return c->tls ? cdc__tls_cipher(c->tls) : NULL; }
const char *cdc__conn_tls_version(const cdc__conn *c) { return c->tls ? cdc__tls_version(c->tls) : NULL; }
bool cdc__conn_compressed(const cdc__conn *c) { return c->compress; }
bool cdc__conn_is_unix(const cdc__conn *c) { return c->unix_sock; }
int cdc__conn_fd(const cdc__conn *c) { return c->fd; }
