/* Unit tests for conn.c against a scripted fake server on loopback (a
 * thread): timeouts, a server that hangs up or sends garbage, an ERR in
 * place of the handshake, oversize and out-of-order packets, a whole
 * login + query checked byte by byte, and every allocation failing in
 * turn. The real servers are in itest_conn.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "conn.h"
#include "packet.h"
#include "position.h"
#include "replica.h"

/* A fake server's script: send bytes, read one packet into `got`, or
 * hang up at once (hangup). Without a hangup step the server lingers
 * until the client closes. */
typedef struct step {
    const uint8_t *send;
    size_t len;
    bool read;
    bool hangup;
} step;

typedef struct fake {
    int lfd;
    unsigned port;
    const step *steps;
    size_t nsteps;
    uint8_t got[8][1024]; /* payloads read, in order */
    size_t got_len[8];
    size_t ngot;
    pthread_t th;
} fake;

static bool read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = recv(fd, p, n, 0);
        if (r <= 0) return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static void *fake_run(void *arg)
{
    fake *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0) return NULL;
    for (size_t i = 0; i < f->nsteps; i++) {
        const step *s = &f->steps[i];
        if (s->hangup) {
            close(fd);
            return NULL;
        }
        if (s->read) {
            uint8_t h[4];
            if (!read_full(fd, h, 4)) break;
            size_t len = cdc__le24(h);
            if (len > sizeof f->got[0] || f->ngot == 8 || !read_full(fd, f->got[f->ngot], len)) break;
            f->got_len[f->ngot++] = len;
        } else if (s->len && send(fd, s->send, s->len, MSG_NOSIGNAL) < 0) {
            break;
        }
    }
    /* linger until the client hangs up, so it sees our bytes first */
    uint8_t sink[256];
    while (recv(fd, sink, sizeof sink, 0) > 0) {}
    close(fd);
    return NULL;
}

static void fake_start(fake *f, const step *steps, size_t n)
{
    memset(f, 0, sizeof *f);
    f->steps = steps;
    f->nsteps = n;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &sl), 0);
    f->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&f->th, NULL, fake_run, f), 0);
}

static void fake_stop(fake *f)
{
    /* wakes a thread still in accept() when the client never connected */
    shutdown(f->lfd, SHUT_RDWR);
    pthread_join(f->th, NULL);
    close(f->lfd);
}

static int run_connect(fake *f, cdc__conn_opts *o, cdc__err *e)
{
    cdc__conn *c;
    assert_int_equal(cdc__conn_new(&c, NULL), CDC_OK);
    o->host = "127.0.0.1";
    o->port = f->port;
    if (!o->user) o->user = "u";
    cdc__err_clear(e);
    int rc = cdc__conn_connect(c, o, e);
    cdc__conn_free(c);
    fake_stop(f);
    return rc;
}

/* A MySQL-like handshake: version 8.0.36, connection id 7, capabilities
 * 0x01ffffff (TLS, DEPRECATE_EOF, ...), nonce "0123456789abcdefghij",
 * plugin mysql_native_password. */
static const uint8_t hs_pkt[] = {
    74, 0, 0, 0, 10, '8', '.', '0', '.', '3', '6', 0, 7, 0, 0, 0, '0', '1', '2', '3', '4', '5', '6', '7', 0,
    0xff, 0xff, 0x2d, 2, 0, 0xff, 1, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '8', '9', 'a', 'b', 'c', 'd', 'e', 'f',
    'g', 'h', 'i', 'j', 0, 'm', 'y', 's', 'q', 'l', '_', 'n', 'a', 't', 'i', 'v', 'e', '_', 'p', 'a', 's', 's',
    'w', 'o', 'r', 'd', 0,};

static void test_silent_server_times_out(void **state)
{
    (void)state;
    fake f;
    fake_start(&f, NULL, 0);
    cdc__conn_opts o = {.connect_timeout_ms = 200};
    cdc__err e;
    assert_int_equal(run_connect(&f, &o, &e), CDC_ERR_TIMEOUT);
    assert_non_null(strstr(e.msg, "200 ms"));
}

static void test_server_hangs_up(void **state)
{
    (void)state;
    fake f;
    /* half a handshake, then close */
    const step s[] = {{hs_pkt, 20, false, false}, {NULL, 0, false, true}};
    fake_start(&f, s, 2);
    cdc__conn_opts o = {.connect_timeout_ms = 2000};
    cdc__err e;
    assert_int_equal(run_connect(&f, &o, &e), CDC_ERR_CLOSED);
    assert_non_null(strstr(e.msg, "closed by server"));
}

static void test_handshake_errors(void **state)
{
    (void)state;
    static const uint8_t too_many[] = {23, 0, 0, 0, 0xff, 0x10, 0x04, 'T', 'o', 'o', ' ', 'm', 'a', 'n', 'y', ' ',
                                       'c', 'o', 'n', 'n', 'e', 'c', 't', 'i', 'o', 'n', 's'};
    static const uint8_t v9[] = {5, 0, 0, 0, 9, '3', '.', '2', 0};
    static const uint8_t bad_seq[] = {5, 0, 0, 3, 10, '8', '.', '0', 0};
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0};
    static const uint8_t truncated[] = {5, 0, 0, 0, 10, '8', '.', '0', 0};
    static const struct {
        const uint8_t *b;
        size_t n;
        int want;
        const char *msg;
        size_t max_packet;
    } cases[] = {
        {too_many, sizeof too_many, CDC_ERR_CONNECT, "Too many connections (server error 1040)", 0},
        {v9, sizeof v9, CDC_ERR_UNSUPPORTED, "protocol 9", 0},
        {bad_seq, sizeof bad_seq, CDC_ERR_PROTOCOL, "sequence id 3, expected 0", 0},
        {huge, sizeof huge, CDC_ERR_TOO_LARGE, "limit of 1000 bytes", 1000},
        {truncated, sizeof truncated, CDC_ERR_PROTOCOL, "initial handshake truncated", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake f;
        const step s[] = {{cases[i].b, cases[i].n, false, false}};
        fake_start(&f, s, 1);
        cdc__conn_opts o = {.connect_timeout_ms = 2000, .max_packet = cases[i].max_packet};
        cdc__err e;
        assert_int_equal(run_connect(&f, &o, &e), cases[i].want);
        if (!strstr(e.msg, cases[i].msg)) fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, cases[i].msg);
    }
    /* required TLS from a server without it: clear CLIENT_SSL (bit 11) */
    uint8_t no_ssl[sizeof hs_pkt];
    memcpy(no_ssl, hs_pkt, sizeof hs_pkt);
    no_ssl[26] = 0xff & ~0x08;
    const step s2[] = {{no_ssl, sizeof no_ssl, false, false}};
    fake f2;
    fake_start(&f2, s2, 1);
    cdc__conn_opts o = {.tls_mode = CDC_TLS_REQUIRED};
    cdc__err e;
    assert_int_equal(run_connect(&f2, &o, &e), CDC_ERR_TLS_REQUIRED);
    assert_non_null(strstr(e.msg, "does not offer TLS"));
}

/* ERR for the login; ok reply for COM_QUERY; a one-row result. */
static const uint8_t ok_pkt[] = {7, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0};
static const uint8_t reply[] = {
    1, 0, 0, 1, 2,                                                                              /* 2 columns */
    23, 0, 0, 2, 3, 'd', 'e', 'f', 0, 0, 0, 1, 'a', 0, 0x0c, 0x21, 0, 10, 0, 0, 0, 253, 0, 0, 0, 0, 0, /* a */
    23, 0, 0, 3, 3, 'd', 'e', 'f', 0, 0, 0, 1, 'b', 0, 0x0c, 0x21, 0, 10, 0, 0, 0, 253, 0, 0, 0, 0, 0, /* b */
    5, 0, 0, 4, 0xfe, 0, 0, 2, 0,                                                                /* EOF */
    4, 0, 0, 5, 2, 'h', 'i', 0xfb,                                                               /* 'hi', NULL */
    5, 0, 0, 6, 0xfe, 0, 0, 2, 0};                                                               /* EOF */

static int got_row(const cdc_bytes *v, size_t n, void *ud)
{
    assert_int_equal(n, 2);
    assert_int_equal(v[0].len, 2);
    assert_memory_equal(v[0].ptr, "hi", 2);
    assert_null(v[1].ptr);
    (*(int *)ud)++;
    return 0;
}

/* A fake server for one login and one query (the reply above, with EOF
 * packets: hs_pkt's DEPRECATE_EOF bit, capability byte 31, taken away),
 * and a connection logged in to it. */
static cdc__conn *login_for_one_query(fake *f, const char *database)
{
    static uint8_t hs[sizeof hs_pkt];
    memcpy(hs, hs_pkt, sizeof hs);
    hs[31] = 0x00;
    static const step s[] = {{hs, sizeof hs, false, false}, {NULL, 0, true, false},
                             {ok_pkt, sizeof ok_pkt, false, false}, {NULL, 0, true, false},
                             {reply, sizeof reply, false, false}};
    fake_start(f, s, 5);
    cdc__conn *c;
    assert_int_equal(cdc__conn_new(&c, NULL), CDC_OK);
    cdc__conn_opts o = {.host = "127.0.0.1", .port = f->port, .user = "cdc", .password = "secret",
                        .database = database};
    cdc__err e;
    cdc__err_clear(&e);
    if (cdc__conn_connect(c, &o, &e)) fail_msg("%s", e.msg);
    return c;
}

/* The whole exchange, and what the client sent, byte by byte. */
static void test_login_and_query(void **state)
{
    (void)state;
    fake f;
    cdc__conn *c = login_for_one_query(&f, "db");
    cdc__err e;
    cdc__err_clear(&e);
    assert_int_equal(cdc__conn_id(c), 7);
    assert_int_equal(cdc__conn_server_version(c)->flavour, CDC_FLAVOUR_MYSQL);
    assert_string_equal(cdc__conn_auth_plugin(c), "mysql_native_password");
    int rows = 0;
    cdc__query_handler h = {.row = got_row};
    assert_int_equal(cdc__conn_query(c, "SELECT x", 8, &h, &rows, &e), CDC_OK);
    assert_int_equal(rows, 1);
    cdc__conn_free(c);
    fake_stop(&f);

    /* the handshake response */
    assert_int_equal(f.ngot, 2);
    cdc__reader r = cdc__rd(f.got[0], f.got_len[0]);
    uint32_t caps = cdc__rd_u32(&r);
    assert_true(caps & CDC_CAP_CONNECT_WITH_DB);
    assert_false(caps & CDC_CAP_SSL);
    assert_false(caps & CDC_CAP_DEPRECATE_EOF); /* not offered, not taken */
    cdc__rd_skip(&r, 28);
    cdc_bytes user = cdc__rd_cstr(&r);
    assert_int_equal(user.len, 3);
    cdc_bytes auth = cdc__rd_lenenc_bytes(&r, NULL);
    uint8_t want[20];
    cdc__auth_native_scramble("secret", 6, (const uint8_t *)"0123456789abcdefghij", want);
    assert_int_equal(auth.len, 20);
    assert_memory_equal(auth.ptr, want, 20);
    cdc_bytes db = cdc__rd_cstr(&r);
    assert_memory_equal(db.ptr, "db", 2);
    cdc_bytes plugin = cdc__rd_cstr(&r);
    assert_int_equal(plugin.len, 21);
    assert_false(r.bad);
    /* the query: COM_QUERY + text */
    assert_int_equal(f.got_len[1], 9);
    assert_memory_equal(f.got[1], "\x03SELECT x", 9);
}

/* A query sent now and its reply read later (cdc__conn_send_query, then
 * cdc__conn_read_result): the same bytes on the wire as a plain query,
 * and the same stored result. */
static void test_send_then_read(void **state)
{
    (void)state;
    fake f;
    cdc__conn *c = login_for_one_query(&f, NULL);
    cdc__err e;
    cdc__err_clear(&e);
    assert_int_equal(cdc__conn_send_query(c, "SELECT x", &e), CDC_OK);
    cdc__result *r = NULL;
    assert_int_equal(cdc__conn_read_result(c, &r, &e), CDC_OK);
    assert_int_equal(cdc__result_rows(r), 1);
    assert_string_equal(cdc__result_get(r, 0, 0), "hi");
    assert_null(cdc__result_get(r, 0, 1));
    cdc__result_free(r);
    cdc__conn_free(c);
    fake_stop(&f);
    assert_int_equal(f.ngot, 2);
    assert_int_equal(f.got_len[1], 9);
    assert_memory_equal(f.got[1], "\x03SELECT x", 9);
}

/* tls_mode preferred against a server without TLS goes on in the clear. */
static void test_preferred_without_tls(void **state)
{
    (void)state;
    uint8_t hs[sizeof hs_pkt];
    memcpy(hs, hs_pkt, sizeof hs);
    hs[26] = 0xff & ~0x08; /* no CLIENT_SSL */
    const step s[] = {{hs, sizeof hs, false, false}, {NULL, 0, true, false}, {ok_pkt, sizeof ok_pkt, false, false}};
    fake f;
    fake_start(&f, s, 3);
    cdc__conn *c;
    assert_int_equal(cdc__conn_new(&c, NULL), CDC_OK);
    cdc__conn_opts o = {.host = "127.0.0.1", .port = f.port, .user = "u", .tls_mode = CDC_TLS_PREFERRED};
    cdc__err e;
    assert_int_equal(cdc__conn_connect(c, &o, &e), CDC_OK);
    assert_null(cdc__conn_tls_cipher(c));
    cdc__conn_free(c);
    fake_stop(&f);
    assert_int_equal(f.ngot, 1);
    assert_int_equal(f.got_len[0] > 32, true); /* a full response, not a 32-byte SSL request */
    assert_false(cdc__le32(f.got[0]) & CDC_CAP_SSL);
}

/* A connection logged in to a fake server that runs steps s (allocator
 * a; NULL: libc's). */
static cdc__conn *connect_fake(fake *f, const step *s, size_t n, const cdc_allocator *a)
{
    fake_start(f, s, n);
    cdc__conn *c;
    assert_int_equal(cdc__conn_new(&c, a), CDC_OK);
    cdc__conn_opts o = {.host = "127.0.0.1", .port = f->port, .user = "u"};
    cdc__err e;
    cdc__err_clear(&e);
    if (cdc__conn_connect(c, &o, &e)) fail_msg("%s", e.msg);
    return c;
}

/* Payloads read in bounded pieces: one of 0xffffff + 10 bytes (two
 * packets), one of exactly 0xffffff (with its empty trailer), then an
 * ordinary packet through read_packet. Pieces are views into the input
 * buffer, so there may be more of them than max-sized ones would be. */
static void test_read_piece(void **state)
{
    (void)state;
    uint8_t hs[sizeof hs_pkt];
    memcpy(hs, hs_pkt, sizeof hs);
    size_t n1 = (size_t)CDC__PKT_MAX + 10, n2 = CDC__PKT_MAX;
    uint8_t *payload = malloc(n1);
    assert_non_null(payload);
    for (size_t i = 0; i < n1; i++) payload[i] = (uint8_t)(i * 7 + (i >> 20));
    cdc__buf wire;
    cdc__buf_init(&wire, NULL);
    uint8_t seq = 3; /* after the handshake (0), response (1) and OK (2) */
    assert_int_equal(cdc__packet_frame(&wire, &seq, payload, n1), CDC_OK);
    assert_int_equal(cdc__packet_frame(&wire, &seq, payload, n2), CDC_OK);
    assert_int_equal(cdc__packet_frame(&wire, &seq, "tail!", 5), CDC_OK);
    const step s[] = {{hs, sizeof hs, false, false}, {NULL, 0, true, false}, {ok_pkt, sizeof ok_pkt, false, false},
                      {wire.data, wire.len, false, false}};
    fake f;
    cdc__conn *c = connect_fake(&f, s, 4, NULL);
    cdc__err e;
    const size_t want_n[2] = {n1, n2}, want_pieces[2] = {17, 16};
    for (int k = 0; k < 2; k++) {
        size_t got = 0, pieces = 0;
        bool more = true;
        while (more) {
            cdc_bytes pc;
            int rc = cdc__conn_read_piece(c, 1 << 20, &pc, &more, &e);
            if (rc) fail_msg("%s", e.msg);
            assert_true(pc.len <= (1u << 20));
            assert_true(got + pc.len <= want_n[k]);
            if (pc.len) assert_memory_equal(pc.ptr, payload + got, pc.len);
            got += pc.len;
            pieces++;
        }
        assert_int_equal(got, want_n[k]);
        /* pieces are views into the input buffer: at least the count
         * max-sized pieces would take */
        assert_true(pieces >= want_pieces[k]);
    }
    cdc_bytes p;
    assert_int_equal(cdc__conn_read_packet(c, &p, &e), CDC_OK);
    assert_int_equal(p.len, 5);
    assert_memory_equal(p.ptr, "tail!", 5);
    cdc__conn_free(c);
    fake_stop(&f);
    cdc__buf_free(&wire);
    free(payload);
}

/* n packets (sequence ids from *seq) whose payloads are 0x00 then
 * 20..219 bytes of a pattern of their index: the shape of a binlog dump. */
static void dump_wire(cdc__buf *wire, uint8_t *seq, size_t n)
{
    uint8_t p[256];
    for (size_t i = 0; i < n; i++) {
        size_t len = 21 + i % 200;
        p[0] = 0x00;
        for (size_t j = 1; j < len; j++) p[j] = (uint8_t)(i * 31 + j);
        assert_int_equal(cdc__packet_frame(wire, seq, p, len), CDC_OK);
    }
}

static void expect_dump_packet(cdc__conn *c, size_t i)
{
    cdc__err e;
    cdc__err_clear(&e);
    cdc_bytes p;
    if (cdc__conn_read_packet(c, &p, &e)) fail_msg("packet %zu: %s", i, e.msg);
    assert_int_equal(p.len, 21 + i % 200);
    assert_int_equal(p.ptr[0], 0x00);
    for (size_t j = 1; j < p.len; j++)
        if (p.ptr[j] != (uint8_t)(i * 31 + j)) fail_msg("packet %zu byte %zu: %u", i, j, p.ptr[j]);
}

/* COM_BINLOG_DUMP grows the input buffer to CDC__DUMP_INPUT_BYTES with
 * bytes already read from the socket and not yet taken (the packets sent
 * with the first, in one send) kept, in order; a later grow to a size
 * that is no multiple of a huge page keeps them too. */
static void test_dump_grows_input(void **state)
{
    (void)state;
    uint8_t hs[sizeof hs_pkt];
    memcpy(hs, hs_pkt, sizeof hs);
    const size_t n = 3000; /* about 360 KB: more than one 64 KiB read */
    cdc__buf wire;
    cdc__buf_init(&wire, NULL);
    uint8_t seq = 1; /* after the command (0) */
    dump_wire(&wire, &seq, n);
    const step s[] = {{hs, sizeof hs, false, false}, {NULL, 0, true, false}, {ok_pkt, sizeof ok_pkt, false, false},
                      {NULL, 0, true, false}, {wire.data, wire.len, false, false}};
    fake f;
    cdc__conn *c = connect_fake(&f, s, 5, NULL);
    cdc__err e;
    cdc__err_clear(&e);
    assert_int_equal(cdc__conn_input_size(c), 64 * 1024);
    cdc__server_info info = {.mariadb = true};
    cdc_position pos;
    cdc__position_init(&pos, NULL);
    assert_int_equal(cdc__position_set_file(&pos, "bin.000001", 10), CDC_OK);
    pos.offset = 4;
    if (cdc__replica_dump(c, &info, 4711, &pos, &e)) fail_msg("%s", e.msg);
    assert_int_equal(cdc__conn_input_size(c), CDC__DUMP_INPUT_BYTES);
    /* the first packet read: the rest of that read stays unread... */
    expect_dump_packet(c, 0);
    /* ...across a second grow, through the portable allocation */
    assert_int_equal(cdc__conn_grow_input(c, CDC__DUMP_INPUT_BYTES + 12345), CDC_OK);
    assert_int_equal(cdc__conn_input_size(c), CDC__DUMP_INPUT_BYTES + 12345);
    for (size_t i = 1; i < n; i++) expect_dump_packet(c, i);
    /* a smaller size changes nothing */
    assert_int_equal(cdc__conn_grow_input(c, 1000), CDC_OK);
    assert_int_equal(cdc__conn_input_size(c), CDC__DUMP_INPUT_BYTES + 12345);
    cdc__conn_free(c);
    fake_stop(&f);
    /* what the client sent for the dump: COM_BINLOG_DUMP, offset 4, the
     * server id, the file */
    assert_int_equal(f.ngot, 2);
    assert_int_equal(f.got[1][0], CDC_COM_BINLOG_DUMP);
    assert_int_equal(cdc__le32(f.got[1] + 1), 4);
    assert_int_equal(cdc__le32(f.got[1] + 7), 4711);
    assert_memory_equal(f.got[1] + 11, "bin.000001", 10);
    cdc__position_clear(&pos);
    cdc__buf_free(&wire);
}

/* An allocator whose allocations fail once fail_after more have been
 * made, checked by cmocka for leaks. */
static int fail_after;
static void *t_malloc(size_t n, void *ud) { (void)ud; return fail_after-- > 0 ? test_malloc(n) : NULL; }
static void *t_realloc(void *p, size_t n, void *ud) { (void)ud; return fail_after-- > 0 ? test_realloc(p, n) : NULL; }
static void t_free(void *p, void *ud) { (void)ud; test_free(p); }

/* A grow without the memory: CDC_ERR_NOMEM, and the connection reads on
 * from the buffer it had, nothing lost. */

static void test_grow_input_without_memory(void **state)
{
    (void)state;
    cdc_allocator a = {t_malloc, t_realloc, t_free, NULL};
    uint8_t hs[sizeof hs_pkt];
    memcpy(hs, hs_pkt, sizeof hs);
    const size_t n = 3000;
    cdc__buf wire;
    cdc__buf_init(&wire, NULL);
    uint8_t seq = 3; /* after the handshake (0), response (1) and OK (2) */
    dump_wire(&wire, &seq, n);
    const step s[] = {{hs, sizeof hs, false, false}, {NULL, 0, true, false}, {ok_pkt, sizeof ok_pkt, false, false},
                      {wire.data, wire.len, false, false}};
    fake f;
    fail_after = 1000000;
    cdc__conn *c = connect_fake(&f, s, 4, &a);
    expect_dump_packet(c, 0);
    fail_after = 0;
    assert_int_equal(cdc__conn_grow_input(c, CDC__HUGE_PAGE), CDC_ERR_NOMEM);
    fail_after = 1000000;
    assert_int_equal(cdc__conn_input_size(c), 64 * 1024);
    for (size_t i = 1; i < n; i++) expect_dump_packet(c, i);
    /* with the memory, another allocator's malloc makes the buffer (no
     * huge-page block outside libc's) and cmocka sees it freed */
    assert_int_equal(cdc__conn_grow_input(c, CDC__HUGE_PAGE), CDC_OK);
    assert_int_equal(cdc__conn_input_size(c), CDC__HUGE_PAGE);
    cdc__conn_free(c);
    fake_stop(&f);
    cdc__buf_free(&wire);
}

/* Every allocation failing in turn: NOMEM or success, never a crash or a
 * leak (cmocka's allocator checks). */

static void test_allocation_failures(void **state)
{
    (void)state;
    cdc_allocator a = {t_malloc, t_realloc, t_free, NULL};
    uint8_t hs[sizeof hs_pkt];
    memcpy(hs, hs_pkt, sizeof hs);
    hs[31] = 0x00;
    bool done = false;
    for (int budget = 0; budget < 200 && !done; budget++) {
        const step s[] = {{hs, sizeof hs, false, false}, {NULL, 0, true, false}, {ok_pkt, sizeof ok_pkt, false, false},
                          {NULL, 0, true, false}, {reply, sizeof reply, false, false}};
        fake f;
        fake_start(&f, s, 5);
        fail_after = budget;
        cdc__conn *c = NULL;
        int rc = cdc__conn_new(&c, &a);
        cdc__err e;
        if (rc == CDC_OK) {
            cdc__conn_opts o = {.host = "127.0.0.1", .port = f.port, .user = "cdc", .password = "secret"};
            rc = cdc__conn_connect(c, &o, &e);
            int rows = 0;
            cdc__query_handler h = {.row = got_row};
            if (rc == CDC_OK) rc = cdc__conn_query(c, "SELECT x", 8, &h, &rows, &e);
            if (rc == CDC_OK) {
                assert_int_equal(rows, 1);
                done = true;
            }
        }
        if (!done) assert_int_equal(rc, CDC_ERR_NOMEM);
        cdc__conn_free(c);
        fake_stop(&f);
    }
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_silent_server_times_out), cmocka_unit_test(test_server_hangs_up),
        cmocka_unit_test(test_handshake_errors),       cmocka_unit_test(test_login_and_query),
        cmocka_unit_test(test_preferred_without_tls),
        cmocka_unit_test(test_send_then_read),
        cmocka_unit_test(test_read_piece),
        cmocka_unit_test(test_dump_grows_input),
        cmocka_unit_test(test_grow_input_without_memory),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
