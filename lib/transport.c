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
