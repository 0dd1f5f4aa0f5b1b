/* transport.c: the poll loop for socket reads and writes (see transport.h). */
#include "transport.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

int cdc__io_wait(int fd, short events, int timeout_ms)
{
    struct pollfd p = {fd, events, 0};
    for (;;) {
        int n = poll(&p, 1, timeout_ms > 0 ? timeout_ms : -1);
        if (n < 0 && errno == EINTR) continue;
        return n;
    }
}

ptrdiff_t cdc__io_recv(int fd, void *buf, size_t n, int timeout_ms, int *sys_errno)
{
    for (;;) {
        ssize_t r = recv(fd, buf, n, 0);
        if (r > 0) return r;
        if (r == 0) return CDC__IO_CLOSED;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = cdc__io_wait(fd, POLLIN, timeout_ms);
            if (w == 0) return CDC__IO_TIMEOUT;
            if (w > 0) continue;
        }
        *sys_errno = errno;
        return CDC__IO_ERROR;
    }
}

ptrdiff_t cdc__io_recv_lowat(int fd, void *buf, size_t n, int timeout_ms, int *sys_errno)
{
    int step = 1;
    long waited = 0;
    for (;;) {
        ssize_t r = recv(fd, buf, n, 0);
        if (r > 0) return r;
        if (r == 0) return CDC__IO_CLOSED;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) break;
        if (timeout_ms > 0 && waited >= timeout_ms) return CDC__IO_TIMEOUT;
        /* a non-blocking recv returns fewer bytes than the mark; poll does
         * not report them, hence the bounded steps */
        int w = cdc__io_wait(fd, POLLIN, step);
        if (w < 0) break;
        if (w == 0) {
            waited += step;
            if (step < 64) step *= 2;
        }
    }
    *sys_errno = errno;
    return CDC__IO_ERROR;
}

int cdc__io_set_lowat(int fd, int bytes)
{
    return setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes);
}

ptrdiff_t cdc__io_send(int fd, const void *buf, size_t n, int timeout_ms, int *sys_errno)
{
    for (;;) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w > 0) return w;
        if (w < 0 && errno == EINTR) continue;
        if (w == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
            int r = cdc__io_wait(fd, POLLOUT, timeout_ms);
            if (r == 0) return CDC__IO_TIMEOUT;
            if (r > 0) continue;
        }
        *sys_errno = errno;
        return CDC__IO_ERROR;
    }
}
