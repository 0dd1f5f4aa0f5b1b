/*
 * kafka_fence_probe: does a cluster fence an older producer by its
 * transactional.id? Two transactional producers with the same id: the
 * first begins a transaction and produces, the second initialises (which
 * on a real broker bumps the id's epoch and aborts the first's open
 * transaction), then the first produces again and commits.
 *
 *   kafka_fence_probe BOOTSTRAP TOPIC
 *
 * Prints one line and exits 0 when the first producer's commit fails
 * with a fatal fencing error ("fenced: ERR fatal"), 3 when it is
 * accepted ("not fenced: ..."), 1 on any other failure. docs/kafka.md,
 * "One instance per name".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

static rd_kafka_t *producer(const char *bootstrap, const char *txid)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) ||
        rd_kafka_conf_set(conf, "transactional.id", txid, err, sizeof err) ||
        rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err)) {
        fprintf(stderr, "fence_probe: %s\n", err);
        exit(1);
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "fence_probe: %s\n", err);
        exit(1);
    }
    return rk;
}

static void must(rd_kafka_error_t *e, const char *what)
{
    if (!e) return;
    printf("error: %s: %s\n", what, rd_kafka_error_string(e));
    exit(1);
}

static rd_kafka_resp_err_t produce(rd_kafka_t *rk, const char *topic, const char *v)
{
    rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                                              RD_KAFKA_V_VALUE((void *)v, strlen(v)), RD_KAFKA_V_END);
    if (!e) rd_kafka_flush(rk, 10000);
    return e;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: kafka_fence_probe BOOTSTRAP TOPIC\n");
        return 1;
    }
    const char *txid = "cdc-fence-probe";
    rd_kafka_t *a = producer(argv[1], txid);
    must(rd_kafka_init_transactions(a, 30000), "first producer: init");
    must(rd_kafka_begin_transaction(a), "first producer: begin");
    if (produce(a, argv[2], "a1")) {
        printf("error: first producer: produce failed\n");
        return 1;
    }
    rd_kafka_t *b = producer(argv[1], txid);
    must(rd_kafka_init_transactions(b, 30000), "second producer: init");
    rd_kafka_resp_err_t pe = produce(a, argv[2], "a2");
    rd_kafka_error_t *e = rd_kafka_commit_transaction(a, 30000);
    char fatal[512] = "";
    rd_kafka_resp_err_t fe = rd_kafka_fatal_error(a, fatal, sizeof fatal);
    int rc;
    if (!e && !pe && !fe) {
        printf("not fenced: the first producer committed after the second initialised the same transactional.id\n");
        rc = 3;
    } else if (fe == RD_KAFKA_RESP_ERR__FENCED || fe == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
               fe == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH) {
        printf("fenced: %s fatal (%s)\n", rd_kafka_err2name(fe), fatal);
        rc = 0;
    } else {
        printf("error: commit %s, produce %s, fatal %s\n", e ? rd_kafka_error_string(e) : "ok",
               rd_kafka_err2name(pe), rd_kafka_err2name(fe));
        rc = 1;
    }
    if (e) rd_kafka_error_destroy(e);
    /* b's transaction: the fenced-out one's successor must still work */
    must(rd_kafka_begin_transaction(b), "second producer: begin");
    if (produce(b, argv[2], "b1")) {
        printf("error: second producer: produce failed\n");
        rc = 1;
    }
    must(rd_kafka_commit_transaction(b, 30000), "second producer: commit");
    rd_kafka_destroy(a);
    rd_kafka_destroy(b);
    return rc;
}
