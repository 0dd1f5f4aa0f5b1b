/*
 * test_transport.c: the socket poll loop (transport.c) over a socketpair:
 * data, partial reads, a timeout that names no data, the peer closing,
 * a reset, and sends that wait for room.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recv),
        cmocka_unit_test(test_send),
        cmocka_unit_test(test_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
