/*
 * kafka_mock: a Kafka cluster for the cdc-kafka tests, from librdkafka's
 * mock cluster (rdkafka_mock.h): N brokers speaking the Kafka protocol on
 * loopback TCP, with idempotent and transactional producers.
 *
 *   kafka_mock [BROKERS]          (default 3)
 *
 * Prints "bootstrap.servers=HOST:PORT,..." on stdout, then reads commands
 * on stdin, one a line, and answers each with "ok" or "error: ...":
 *   down ID | up ID                 take broker ID (1..N) down / up
 *   rtt ID MS                       delay broker ID's responses
 *   err API COUNT CODE              the next COUNT requests of API key API
 *                                   (0 Produce, 26 EndTxn...) fail with CODE
 *   create TOPIC PARTITIONS RF      create a topic
 *   topicerr TOPIC CODE             errors for every request on TOPIC (0 clears)
 * Runs until SIGTERM/SIGINT (or "quit"); stdin reaching EOF does not stop it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static const char *run_command(rd_kafka_mock_cluster_t *mc, char *line, char *msg, size_t cap)
{
    char what[32] = "", a[256] = "";
    long n1 = 0, n2 = 0, n3 = 0;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (sscanf(line, "%31s", what) != 1) return "error: empty command";
    if (!strcmp(what, "down") && sscanf(line, "%*s %ld", &n1) == 1)
        err = rd_kafka_mock_broker_set_down(mc, (int32_t)n1);
    else if (!strcmp(what, "up") && sscanf(line, "%*s %ld", &n1) == 1)
        err = rd_kafka_mock_broker_set_up(mc, (int32_t)n1);
    else if (!strcmp(what, "rtt") && sscanf(line, "%*s %ld %ld", &n1, &n2) == 2)
        err = rd_kafka_mock_broker_set_rtt(mc, (int32_t)n1, (int)n2);
    else if (!strcmp(what, "err") && sscanf(line, "%*s %ld %ld %ld", &n1, &n2, &n3) == 3) {
        if (n2 < 1 || n2 > 1000) return "error: COUNT must be 1..1000";
        rd_kafka_resp_err_t *errs = calloc((size_t)n2, sizeof *errs);
        if (!errs) return "error: out of memory";
        for (long i = 0; i < n2; i++) errs[i] = (rd_kafka_resp_err_t)n3;
        rd_kafka_mock_push_request_errors_array(mc, (int16_t)n1, (size_t)n2, errs);
        free(errs);
    } else if (!strcmp(what, "create") && sscanf(line, "%*s %255s %ld %ld", a, &n1, &n2) == 3)
        err = rd_kafka_mock_topic_create(mc, a, (int)n1, (int)n2);
    else if (!strcmp(what, "topicerr") && sscanf(line, "%*s %255s %ld", a, &n1) == 2)
        rd_kafka_mock_topic_set_error(mc, a, (rd_kafka_resp_err_t)n1);
    else if (!strcmp(what, "quit")) {
        g_stop = 1;
    } else
        return "error: unknown command or arguments";
    if (err) {
        snprintf(msg, cap, "error: %s", rd_kafka_err2str(err));
        return msg;
    }
    return "ok";
}

int main(int argc, char **argv)
{
    int brokers = argc > 1 ? atoi(argv[1]) : 3;
    if (brokers < 1 || brokers > 16) {
        fprintf(stderr, "kafka_mock: BROKERS must be 1..16\n");
        return 2;
    }
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "kafka_mock: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: a blocked read returns */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("bootstrap.servers=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    char line[1024], msg[600];
    int eof = 0;
    while (!g_stop) {
        if (eof) {
            pause();
            continue;
        }
        if (!fgets(line, sizeof line, stdin)) {
            eof = 1;
            continue;
        }
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0]) continue;
        printf("%s\n", run_command(mc, line, msg, sizeof msg));
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
