/*
 * test_transport.c: the socket poll loop (transport.c) over a socketpair:
 * data, partial reads, a timeout that names no data, the peer closing,
 * a reset, and sends that wait for room; and over TCP loopback, the
 * reads under a receive low-water mark (SO_RCVLOWAT).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transport.h"

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    for (int i = 0; i < 2; i++) fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_recv(void **state)
{
    (void)state;
    int sv[2], e = 0;
    pair(sv);
    uint8_t buf[16];
    /* nothing there: a timeout after about the time asked */
    long long t0 = now_ms();
    assert_int_equal(cdc__io_recv(sv[0], buf, sizeof buf, 50, &e), CDC__IO_TIMEOUT);
    assert_true(now_ms() - t0 >= 45);
    /* data: what is there, at most n */
    assert_int_equal(write(sv[1], "hello world", 11), 11);
    assert_int_equal(cdc__io_recv(sv[0], buf, 5, 50, &e), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(cdc__io_recv(sv[0], buf, sizeof buf, 50, &e), 6);
    assert_memory_equal(buf, " world", 6);
    /* the peer closes: CLOSED, not an error */
    close(sv[1]);
    assert_int_equal(cdc__io_recv(sv[0], buf, sizeof buf, 50, &e), CDC__IO_CLOSED);
    close(sv[0]);
    /* a bad descriptor: an error with errno */
    e = 0;
    assert_int_equal(cdc__io_recv(sv[0], buf, sizeof buf, 50, &e), CDC__IO_ERROR);
    assert_int_equal(e, EBADF);
}

static void test_send(void **state)
{
    (void)state;
    int sv[2], e = 0;
    pair(sv);
    /* fill the socket until it takes no more: then a timeout */
    static uint8_t big[1 << 16];
    memset(big, 'x', sizeof big);
    ptrdiff_t w;
    size_t total = 0;
    while ((w = cdc__io_send(sv[0], big, sizeof big, 30, &e)) > 0) total += (size_t)w;
    assert_int_equal(w, CDC__IO_TIMEOUT);
    assert_true(total > 0);
    /* room again once the peer reads */
    uint8_t sink[1 << 16];
    while (read(sv[1], sink, sizeof sink) > 0) {
    }
    assert_true(cdc__io_send(sv[0], "y", 1, 30, &e) == 1);
    /* the peer gone: EPIPE (no SIGPIPE) */
    close(sv[1]);
    while ((w = cdc__io_send(sv[0], big, sizeof big, 30, &e)) > 0) {
    }
    assert_int_equal(w, CDC__IO_ERROR);
    assert_true(e == EPIPE || e == ECONNRESET);
    close(sv[0]);
}

static void test_wait(void **state)
{
    (void)state;
    int sv[2];
    pair(sv);
    assert_int_equal(cdc__io_wait(sv[0], POLLIN, 20), 0);
    assert_int_equal(cdc__io_wait(sv[0], POLLOUT, 20), 1);
    assert_int_equal(write(sv[1], "z", 1), 1);
    assert_int_equal(cdc__io_wait(sv[0], POLLIN, 20), 1);
    close(sv[0]);
    close(sv[1]);
}

/* A connected TCP pair on 127.0.0.1 (SO_RCVLOWAT holds poll back only on
 * TCP, not on AF_UNIX), both ends non-blocking. */
static void tcp_pair(int sv[2])
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(l >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
    sv[1] = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(sv[1], (struct sockaddr *)&a, sizeof a), 0);
    sv[0] = accept(l, NULL, NULL);
    assert_true(sv[0] >= 0);
    close(l);
    for (int i = 0; i < 2; i++) fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK);
}

static void test_recv_lowat(void **state)
{
    (void)state;
    int sv[2], e = 0;
    tcp_pair(sv);
    assert_int_equal(cdc__io_set_lowat(sv[0], 64 * 1024), 0);
    /* fewer bytes than the mark: queued, but poll does not report them
     * (what makes the kernel skip the wakeups), so the plain read would
     * wait for its whole timeout; the stepped read takes them at once */
    assert_int_equal(write(sv[1], "tail of a reply", 15), 15);
    struct pollfd p = {sv[0], POLLIN, 0};
    assert_int_equal(poll(&p, 1, 50), 0);
    uint8_t buf[256 * 1024];
    long long t0 = now_ms();
    assert_int_equal(cdc__io_recv_lowat(sv[0], buf, sizeof buf, 5000, &e), 15);
    assert_true(now_ms() - t0 < 1000);
    assert_memory_equal(buf, "tail of a reply", 15);
    /* nothing comes: a timeout after about the time asked, not a hang */
    t0 = now_ms();
    assert_int_equal(cdc__io_recv_lowat(sv[0], buf, sizeof buf, 100, &e), CDC__IO_TIMEOUT);
    assert_true(now_ms() - t0 >= 95);
    /* a byte after a quiet spell (the step has grown): still read */
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(cdc__io_recv_lowat(sv[0], buf, sizeof buf, 5000, &e), 1);
    /* at or above the mark, poll reports it and the read returns it */
    static uint8_t big[96 * 1024];
    memset(big, 'b', sizeof big);
    size_t sent = 0, got = 0;
    while (sent < sizeof big) {
        ptrdiff_t w = cdc__io_send(sv[1], big + sent, sizeof big - sent, 5000, &e);
        assert_true(w > 0);
        sent += (size_t)w;
    }
    assert_int_equal(poll(&p, 1, 5000), 1);
    while (got < sizeof big) {
        ptrdiff_t r = cdc__io_recv_lowat(sv[0], buf, sizeof buf, 5000, &e);
        assert_true(r > 0);
        got += (size_t)r;
    }
    /* back to 1: poll reports a single byte again */
    assert_int_equal(cdc__io_set_lowat(sv[0], 1), 0);
    assert_int_equal(write(sv[1], "y", 1), 1);
    assert_int_equal(poll(&p, 1, 5000), 1);
    /* the peer closes: CLOSED */
    close(sv[1]);
    assert_int_equal(cdc__io_recv_lowat(sv[0], buf, sizeof buf, 5000, &e), 1);
    assert_int_equal(cdc__io_recv_lowat(sv[0], buf, sizeof buf, 5000, &e), CDC__IO_CLOSED);
    close(sv[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recv),
        cmocka_unit_test(test_send),
        cmocka_unit_test(test_wait),
        cmocka_unit_test(test_recv_lowat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
