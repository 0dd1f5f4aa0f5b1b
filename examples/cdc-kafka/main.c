/*
 * cdc-kafka: a Debezium-compatible MySQL/MariaDB source connector for Kafka
 * without Kafka Connect. Reads a Debezium MySQL connector configuration
 * (docs/kafka.md) and writes the same topics, keys and values.
 *
 * Exit status: 0 after a clean stop (SIGINT/SIGTERM, cdc.stop.at,
 * snapshot.mode=initial_only), 1 on error, 2 on bad usage or configuration.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "settings.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cdc-kafka [options] CONFIG\n"
            "Streams a MySQL/MariaDB binlog to Kafka as Debezium's MySQL connector does.\n"
            "CONFIG: the connector JSON posted to Kafka Connect ({\"name\":..,\"config\":{..}} or the\n"
            "config object), or a .properties file. Kafka client settings: kafka.<librdkafka property>.\n\n"
            "  --set KEY=VALUE     one more configuration key (after CONFIG's; repeatable)\n"
            "  --metrics-port N    Prometheus metrics on http://127.0.0.1:N/metrics\n"
            "  --check             check the configuration and exit\n"
            "  --verbose           informational messages too\n"
            "Exit status: 0 after a clean stop (SIGINT, SIGTERM, cdc.stop.at), 1 on error, 2 on bad usage.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"set", required_argument, NULL, 's'},
                                         {"metrics-port", required_argument, NULL, 'm'},
                                         {"check", no_argument, NULL, 'c'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int metrics_port = 0, o;
    bool verbose = false, check = false;
    char **sets = calloc((size_t)argc, sizeof *sets);
    size_t nsets = 0;
    if (!sets) return 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 's': sets[nsets++] = optarg; break;
        case 'm': {
            char *end;
            long p = strtol(optarg, &end, 10);
            if (*end || p < 1 || p > 65535) {
                fprintf(stderr, "cdc-kafka: --metrics-port: '%s' is not a port number\n", optarg);
                free(sets);
                return 2;
            }
            metrics_port = (int)p;
            break;
        }
        case 'c': check = true; break;
        case 'v': verbose = true; break;
        case 'h': usage(stdout); free(sets); return 0;
        default: usage(stderr); free(sets); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        free(sets);
        return 2;
    }
    settings cfg;
    settings_init(&cfg);
    char err[1200];
    int status = 0;
    if (!cfg.cdc || settings_load(&cfg, argv[optind], err, sizeof err)) status = 2;
    for (size_t i = 0; !status && i < nsets; i++) {
        char *eq = strchr(sets[i], '=');
        if (!eq) {
            snprintf(err, sizeof err, "--set needs KEY=VALUE, got '%s'", sets[i]);
            status = 2;
            break;
        }
        *eq = 0;
        if (settings_apply(&cfg, sets[i], eq + 1, err, sizeof err) < 0) status = 2;
        *eq = '=';
    }
    if (!status && settings_finish(&cfg, err, sizeof err)) status = 2;
    free(sets);
    if (status) {
        fprintf(stderr, "cdc-kafka: %s\n", cfg.cdc ? err : "out of memory");
        settings_free(&cfg);
        return status;
    }
    if (check) {
        if (connector_check(&cfg, err, sizeof err)) {
            fprintf(stderr, "cdc-kafka: %s\n", err);
            settings_free(&cfg);
            return 2;
        }
        static const char *const filters[] = {"database.include.list", "database.exclude.list",
                                              "table.include.list", "table.exclude.list"};
        for (size_t i = 0; i < sizeof filters / sizeof *filters; i++) {
            char v[4096];
            if (cdc_config_get(cfg.cdc, filters[i], v, sizeof v, NULL) == CDC_OK && *v)
                fprintf(stderr, "cdc-kafka: %s as libcdc patterns: %s\n", filters[i], v);
        }
        fprintf(stderr, "cdc-kafka: configuration is valid\n");
        settings_free(&cfg);
        return 0;
    }
    status = connector_run(&cfg, metrics_port, verbose);
    settings_free(&cfg);
    return status;
}
