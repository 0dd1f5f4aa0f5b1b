/*
 * transport.h: blocking reads and writes on a non-blocking socket with a
 * timeout: the one poll loop under both plain connections (conn.c) and
 * TLS (tls.c's mbedtls BIO callbacks). Internal; not installed.
 */
#ifndef CDC_TRANSPORT_H
#define CDC_TRANSPORT_H

#include "util.h"

/* Results besides a byte count. */
enum { CDC__IO_CLOSED = 0, CDC__IO_TIMEOUT = -1, CDC__IO_ERROR = -2 };

/* Waits until fd is ready for events (POLLIN, POLLOUT); timeout_ms <= 0
 * waits forever. 1 ready, 0 timed out, -1 error (errno). */
int cdc__io_wait(int fd, short events, int timeout_ms);
/* Receives 1..n bytes: the count, CDC__IO_CLOSED when the peer closed,
 * CDC__IO_TIMEOUT after timeout_ms without data, CDC__IO_ERROR with
 * *sys_errno set. */
ptrdiff_t cdc__io_recv(int fd, void *buf, size_t n, int timeout_ms, int *sys_errno);
/* cdc__io_recv for a socket with SO_RCVLOWAT set above 1: poll then
 * wakes only once that many bytes are queued, so it waits in short steps
 * (1 ms, doubling to 64 ms while nothing at all comes) and takes what is
 * there after each: the tail of a reply never waits for bytes that will
 * not come. timeout_ms as cdc__io_recv (counted in steps). */
ptrdiff_t cdc__io_recv_lowat(int fd, void *buf, size_t n, int timeout_ms, int *sys_errno);
/* Sets SO_RCVLOWAT (bytes; 1 is the kernel's default): 0, or -1 with errno. */
int cdc__io_set_lowat(int fd, int bytes);
/* Sends 1..n bytes (n > 0): the count, CDC__IO_TIMEOUT, or
 * CDC__IO_ERROR with *sys_errno set (EPIPE, ECONNRESET when the peer is
 * gone). Never raises SIGPIPE. */
ptrdiff_t cdc__io_send(int fd, const void *buf, size_t n, int timeout_ms, int *sys_errno);

#endif /* CDC_TRANSPORT_H */
