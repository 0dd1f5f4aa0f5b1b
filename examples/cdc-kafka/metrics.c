/* The metrics endpoint (metrics.h). */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "connector.h"

struct metrics_server {
    connector *c;
    int fd;
    atomic_int stop;
    pthread_t thread;
    uint64_t last_rows;
    struct timespec last_at;
    double rate;
};

static void serve(metrics_server *m, int fd)
{
    char req[2048];
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 2000) <= 0) return;
    ssize_t r = read(fd, req, sizeof req - 1); /* the request itself does not matter */
    if (r <= 0) return;
    size_t cap = 1 << 16;
    char *body = malloc(cap);
    if (!body) return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t rows = atomic_load(&m->c->m_rows) + atomic_load(&m->c->m_snapshot_rows);
    double dt = (double)(now.tv_sec - m->last_at.tv_sec) + (double)(now.tv_nsec - m->last_at.tv_nsec) / 1e9;
    if (dt >= 0.5) {
        m->rate = (double)(rows - m->last_rows) / dt;
        m->last_rows = rows;
        m->last_at = now;
    }
    size_t n = (size_t)snprintf(body, cap,
                                "# HELP cdc_kafka_rows_per_second Rows (snapshot and binlog) per second since the "
                                "previous scrape.\n# TYPE cdc_kafka_rows_per_second gauge\n"
                                "cdc_kafka_rows_per_second %.1f\n", m->rate);
    n += connector_metrics(m->c, body + n, cap - n);
    char head[256];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n", n);
    if (write(fd, head, (size_t)h) == h) {
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(fd, body + off, n - off);
            if (w <= 0) break;
            off += (size_t)w;
        }
    }
    free(body);
}

static void *run(void *arg)
{
    metrics_server *m = arg;
    while (!atomic_load(&m->stop)) {
        struct pollfd p = {m->fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0) continue;
        int fd = accept(m->fd, NULL, NULL);
        if (fd < 0) continue;
        serve(m, fd);
        close(fd);
    }
    return NULL;
}

metrics_server *metrics_start(connector *c, int port, char *err, size_t errlen)
{
    metrics_server *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->c = c;
    clock_gettime(CLOCK_MONOTONIC, &m->last_at);
    m->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(m->fd, (struct sockaddr *)&a, sizeof a) || listen(m->fd, 16)) {
        snprintf(err, errlen, "--metrics-port %d: %s", port, strerror(errno));
        if (m->fd >= 0) close(m->fd);
        free(m);
        return NULL;
    }
    if (pthread_create(&m->thread, NULL, run, m)) {
        snprintf(err, errlen, "cannot start the metrics thread");
        close(m->fd);
        free(m);
        return NULL;
    }
    return m;
}

void metrics_stop(metrics_server *m)
{
    if (!m) return;
    atomic_store(&m->stop, 1);
    pthread_join(m->thread, NULL);
    close(m->fd);
    free(m);
}
