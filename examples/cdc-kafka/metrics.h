/* A Prometheus text endpoint on 127.0.0.1:PORT (any path), served by a thread. */
#ifndef CDC_KAFKA_METRICS_H
#define CDC_KAFKA_METRICS_H

#include <stddef.h>

typedef struct metrics_server metrics_server;
struct connector;

/* Starts serving; NULL with a message in err when the port cannot be bound. */
metrics_server *metrics_start(struct connector *c, int port, char *err, size_t errlen);
/* Stops the thread and closes the socket; NULL is fine. */
void metrics_stop(metrics_server *m);

#endif
