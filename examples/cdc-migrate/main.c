/*
 * cdc-migrate: move a live MySQL/MariaDB database into PostgreSQL.
 *
 *   cdc-migrate run      copy (consistent snapshot) then follow the binlog
 *   cdc-migrate status   per-table state, lag, dead letters
 *   cdc-migrate verify   chunked comparison of source and target
 *   cdc-migrate cutover  wait for a small lag, freeze, drain, verify
 *   cdc-migrate pause | resume | skip-ddl
 *
 * docs/migrate.md is the manual.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "target.h"
#ifdef CDC_MIGRATE_KAFKA
#include "kafka.h"
#endif

static void usage(FILE *f)
{
    fputs("usage: cdc-migrate run|apply|status|verify|cutover|pause|resume|skip-ddl [options]\n"
          "source (password in $CDC_MIGRATE_SOURCE_PASSWORD):\n"
          "  --source-host H --source-port P --source-user U [--source-ssl-ca FILE]\n"
          "  --database DB [--tables t1,t2] --server-id N (run: a replica id unique on the source)\n"
          "target: PostgreSQL (libpq; password in $PGPASSWORD or ~/.pgpass), or MySQL/MariaDB\n"
          "  (mysql://USER@HOST:PORT[/?ssl-ca=FILE], password in $CDC_MIGRATE_TARGET_PASSWORD):\n"
          "  --target CONNINFO|URL [--target-schema S] (default schema/database: the source's)\n"
          "  --state-schema S       MySQL/MariaDB: database of the state tables (cdc_migrate)\n"
          "  --name NAME            migration name, the state row (default: the database)\n"
          "mapping:\n"
          "  --zero-date null|error (default error)  --nul strip|error (default error)\n"
          "  --no-indexes           no secondary indexes after the copy\n"
          "apply and load control:\n"
          "  --batch-txns N (500) --batch-rows N (5000) --batch-ms N (200)\n"
          "  --max-rows-per-sec N   ceiling (0: none)  --latency-ms N  back off above it\n"
          "  --statement-rows N (256) consecutive upserts/deletes of a table per statement\n"
          "  --workers N            1: strict commit order (default); N > 1: parallel\n"
          "                         apply hashed by key over N target connections\n"
          "  --max-replica-lag-ms N hold while a replica of the target is further behind:\n"
          "                         PostgreSQL's pg_stat_replication, or --replica-lag-query\n"
          "  --replica-lag-query SQL  a query on the target giving the lag in ms\n"
          "  --dead-letter          refused rows go to cdc_migrate.dead_letter (default: stop)\n"
          "  --stop-at now|CHECKPOINT   stop there (run)  --parallelism N snapshot readers (2)\n"
          "  --copy-workers N (1)   N more target connections load the copy at once\n"
          "  --start-at CHECKPOINT  no copy: a new migration streams from there (reverse)\n"
          "  --heartbeat-ms N (500)\n"
          "verify / cutover:\n"
          "  --chunk-rows N (5000) --max-lag-ms N (2000) --read-only --timeout S (300)\n"
          "  --verify-rows          compare every row (no server-side chunk digests)\n"
          "  --verify-workers N (2) connection pairs digesting chunks at once\n"
          "  --restart              verify: begin a new run; without it, verify continues\n"
          "                         an interrupted run after its last completed chunk\n"
          "skip-ddl: --checkpoint CHECKPOINT (the position the DDL error printed)\n"
          "apply (Debezium topics from Kafka, docs/kafka.md; PostgreSQL target):\n"
          "  --from-kafka BROKERS --group GROUP (--topic-prefix P | --topics t1,t2)\n"
          "  --kafka-conf KEY=VALUE   a librdkafka setting (repeatable)\n"
          "  --debezium KEY=VALUE     the producer's decimal.handling.mode,\n"
          "                           time.precision.mode, binary.handling.mode,\n"
          "                           bigint.unsigned.handling.mode (records without schemas)\n"
          "  --client-id ID --metrics-port N\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    mopts o;
    memset(&o, 0, sizeof o);
    o.cmd = argv[1];
    o.src_host = "127.0.0.1";
    o.src_port = 3306;
    o.src_user = "root";
    o.src_password = getenv("CDC_MIGRATE_SOURCE_PASSWORD");
    o.indexes = 1;
    o.batch_txns = 500;
    o.batch_rows = 5000;
    o.batch_ms = 200;
    o.parallelism = 2;
    o.copy_workers = 1;
    o.workers = 1;
    o.statement_rows = 256;
    o.heartbeat_ms = 500;
    o.chunk_rows = 5000;
    o.verify_workers = 2;
    o.max_lag_ms = 2000;
    o.timeout_s = 300;
    const char *checkpoint = NULL;
    enum { O_SH = 256, O_SP, O_SU, O_SCA, O_DB, O_TABLES, O_SID, O_TARGET, O_TSCHEMA, O_NAME,
           O_ZERO, O_NUL, O_NOIDX, O_BT, O_BR, O_BMS, O_RATE, O_LAT, O_DL, O_STOP, O_PAR, O_HB,
           O_CHUNK, O_LAG, O_RO, O_TIMEOUT, O_CK, O_V, O_HELP, O_SSCHEMA, O_START, O_WORKERS,
           O_RLAG, O_SROWS, O_VROWS, O_VW, O_RLAGQ, O_CW, O_KAFKA, O_GROUP, O_TOPICS, O_TPREFIX,
           O_KCONF, O_DBZ, O_MPORT, O_CLIENT, O_RESTART };
    static const struct option lo[] = {
        {"source-host", 1, 0, O_SH}, {"source-port", 1, 0, O_SP}, {"source-user", 1, 0, O_SU},
        {"source-ssl-ca", 1, 0, O_SCA}, {"database", 1, 0, O_DB}, {"tables", 1, 0, O_TABLES},
        {"server-id", 1, 0, O_SID}, {"target", 1, 0, O_TARGET}, {"target-schema", 1, 0, O_TSCHEMA},
        {"name", 1, 0, O_NAME}, {"zero-date", 1, 0, O_ZERO}, {"nul", 1, 0, O_NUL},
        {"no-indexes", 0, 0, O_NOIDX}, {"batch-txns", 1, 0, O_BT}, {"batch-rows", 1, 0, O_BR},
        {"batch-ms", 1, 0, O_BMS}, {"max-rows-per-sec", 1, 0, O_RATE},
        {"latency-ms", 1, 0, O_LAT}, {"dead-letter", 0, 0, O_DL}, {"stop-at", 1, 0, O_STOP},
        {"parallelism", 1, 0, O_PAR}, {"heartbeat-ms", 1, 0, O_HB},
        {"chunk-rows", 1, 0, O_CHUNK}, {"max-lag-ms", 1, 0, O_LAG}, {"read-only", 0, 0, O_RO},
        {"timeout", 1, 0, O_TIMEOUT}, {"checkpoint", 1, 0, O_CK}, {"verbose", 0, 0, O_V},
        {"help", 0, 0, O_HELP}, {"state-schema", 1, 0, O_SSCHEMA}, {"start-at", 1, 0, O_START},
        {"workers", 1, 0, O_WORKERS}, {"max-replica-lag-ms", 1, 0, O_RLAG},
        {"statement-rows", 1, 0, O_SROWS}, {"verify-rows", 0, 0, O_VROWS},
        {"verify-workers", 1, 0, O_VW},
        {"replica-lag-query", 1, 0, O_RLAGQ}, {"copy-workers", 1, 0, O_CW},
        {"from-kafka", 1, 0, O_KAFKA}, {"group", 1, 0, O_GROUP}, {"topics", 1, 0, O_TOPICS},
        {"topic-prefix", 1, 0, O_TPREFIX}, {"kafka-conf", 1, 0, O_KCONF},
        {"debezium", 1, 0, O_DBZ}, {"metrics-port", 1, 0, O_MPORT},
        {"client-id", 1, 0, O_CLIENT}, {"restart", 0, 0, O_RESTART},
        {0, 0, 0, 0}};
    const char *kbrokers = NULL, *kgroup = NULL, *ktopics = NULL, *kprefix = NULL;
    const char *kclient = NULL;
    const char *kconf[64], *kdbz[16];
    size_t nkconf = 0, nkdbz = 0;
    int kport = 0;
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        char *end = NULL;
        long n = optarg ? strtol(optarg, &end, 10) : 0;
        int numeric = c == O_SP || c == O_BT || c == O_BR || c == O_BMS || c == O_RATE ||
                      c == O_LAT || c == O_PAR || c == O_HB || c == O_CHUNK || c == O_LAG ||
                      c == O_TIMEOUT || c == O_WORKERS || c == O_RLAG || c == O_SROWS ||
                      c == O_CW || c == O_MPORT;
        if (numeric && (!optarg || !*optarg || *end || n < 0)) {
            fprintf(stderr, "cdc-migrate: --%s wants a non-negative number, not '%s'\n",
                    lo[c - O_SH].name, optarg ? optarg : "");
            return 2;
        }
        switch (c) {
        case O_SH: o.src_host = optarg; break;
        case O_SP: o.src_port = (int)n; break;
        case O_SU: o.src_user = optarg; break;
        case O_SCA: o.src_ssl_ca = optarg; break;
        case O_DB: o.database = optarg; break;
        case O_TABLES: o.tables = optarg; break;
        case O_SID: o.server_id = optarg; break;
        case O_TARGET: o.target_dsn = optarg; break;
        case O_TSCHEMA: o.target_schema = optarg; break;
        case O_NAME: o.name = optarg; break;
        case O_ZERO:
            if (strcmp(optarg, "null") && strcmp(optarg, "error")) {
                fprintf(stderr, "cdc-migrate: --zero-date is null or error, not '%s'\n", optarg);
                return 2;
            }
            o.zero_date_null = !strcmp(optarg, "null");
            break;
        case O_NUL:
            if (strcmp(optarg, "strip") && strcmp(optarg, "error")) {
                fprintf(stderr, "cdc-migrate: --nul is strip or error, not '%s'\n", optarg);
                return 2;
            }
            o.nul_strip = !strcmp(optarg, "strip");
            break;
        case O_NOIDX: o.indexes = 0; break;
        case O_BT: o.batch_txns = n ? n : 1; break;
        case O_BR: o.batch_rows = n ? n : 1; break;
        case O_BMS: o.batch_ms = n; break;
        case O_RATE: o.max_rows_per_sec = n; break;
        case O_LAT: o.latency_ms = n; break;
        case O_RLAG: o.max_replica_lag_ms = n; break;
        case O_SROWS: o.statement_rows = n ? n : 1; break;
        case O_VROWS: o.verify_rows = 1; break;
        case O_RESTART: o.verify_restart = 1; break;
        case O_RLAGQ: o.replica_lag_query = optarg; break;
        case O_CW:
            if (n < 1 || n > 32) {
                fprintf(stderr, "cdc-migrate: --copy-workers is 1..32, not '%s'\n", optarg);
                return 2;
            }
            o.copy_workers = (int)n;
            break;
        case O_DL: o.dead_letter = 1; break;
        case O_STOP: o.stop_at = optarg; break;
        case O_PAR: o.parallelism = n ? (int)n : 1; break;
        case O_HB: o.heartbeat_ms = n; break;
        case O_CHUNK: o.chunk_rows = n ? n : 1; break;
        case O_LAG: o.max_lag_ms = n; break;
        case O_RO: o.read_only = 1; break;
        case O_TIMEOUT: o.timeout_s = n; break;
        case O_CK: checkpoint = optarg; break;
        case O_V: o.verbose = 1; break;
        case O_VW:
            if (n < 1 || n > 64) {
                fprintf(stderr, "cdc-migrate: --verify-workers is 1..64, not '%s'\n", optarg);
                return 2;
            }
            o.verify_workers = (int)n;
            break;
        case O_WORKERS:
            if (n < 1 || n > 64) {
                fprintf(stderr, "cdc-migrate: --workers is 1..64, not '%s'\n", optarg);
                return 2;
            }
            o.workers = (int)n;
            break;
        case O_HELP: usage(stdout); return 0;
        case O_KAFKA: kbrokers = optarg; break;
        case O_GROUP: kgroup = optarg; break;
        case O_TOPICS: ktopics = optarg; break;
        case O_TPREFIX: kprefix = optarg; break;
        case O_CLIENT: kclient = optarg; break;
        case O_MPORT: kport = (int)n; break;
        case O_KCONF:
            if (nkconf == sizeof kconf / sizeof kconf[0]) {
                fprintf(stderr, "cdc-migrate: too many --kafka-conf\n");
                return 2;
            }
            kconf[nkconf++] = optarg;
            break;
        case O_DBZ:
            if (nkdbz == sizeof kdbz / sizeof kdbz[0]) {
                fprintf(stderr, "cdc-migrate: too many --debezium\n");
                return 2;
            }
            kdbz[nkdbz++] = optarg;
            break;
        case O_SSCHEMA: o.state_schema = optarg; break;
        case O_START: o.start_at = optarg; break;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cdc-migrate: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!o.database || !o.target_dsn) {
        fprintf(stderr, "cdc-migrate: --database and --target are required\n");
        return 2;
    }
    if (!o.name)
        o.name = o.database;
    char terr[256];
    o.tops = target_for(o.target_dsn, terr, sizeof terr);
    if (!o.tops) {
        fprintf(stderr, "cdc-migrate: %s\n", terr);
        return 2;
    }
    if (strcmp(o.tops->kind, "postgresql")) {
        /* MySQL/MariaDB store zero dates and NUL bytes as they are
         * (--zero-date null still asks for NULL: a Kafka record carries
         * a zero date as null, docs/kafka.md) */
        o.nul_strip = 0;
        o.nul_keep = 1;
    }
    if (o.start_at) {
        cdc_position *p;
        if (cdc_position_parse(&p, o.start_at, NULL, terr, sizeof terr)) {
            fprintf(stderr, "cdc-migrate: --start-at: %s\n", terr);
            return 2;
        }
        cdc_position_free(p);
    }
    if (!strcmp(o.cmd, "run")) {
        if (!o.server_id) {
            fprintf(stderr, "cdc-migrate: run needs --server-id (a replica id no other replica "
                            "of the source uses)\n");
            return 2;
        }
        return cmd_run(&o);
    }
    if (!strcmp(o.cmd, "apply")) {
#ifdef CDC_MIGRATE_KAFKA
        if (!kbrokers || !kgroup || (!ktopics == !kprefix)) {
            fprintf(stderr, "cdc-migrate: apply needs --from-kafka BROKERS, --group GROUP and "
                            "one of --topic-prefix or --topics\n");
            return 2;
        }
        kopts ko = {kbrokers, kgroup, ktopics, kprefix, kconf, nkconf, kdbz, nkdbz, kport,
                    kclient};
        return cmd_kafka_apply(&o, &ko);
#else
        (void)kbrokers, (void)kgroup, (void)ktopics, (void)kprefix, (void)kclient, (void)kport;
        fprintf(stderr, "cdc-migrate: apply --from-kafka is not built in (librdkafka was not "
                        "found: -Dkafka=enabled)\n");
        return 2;
#endif
    }
    if (!strcmp(o.cmd, "status"))
        return cmd_status(&o);
    if (!strcmp(o.cmd, "verify"))
        return cmd_verify(&o);
    if (!strcmp(o.cmd, "cutover"))
        return cmd_cutover(&o);
    if (!strcmp(o.cmd, "pause") || !strcmp(o.cmd, "resume"))
        return cmd_control(&o, o.cmd, NULL);
    if (!strcmp(o.cmd, "skip-ddl")) {
        if (!checkpoint) {
            fprintf(stderr, "cdc-migrate: skip-ddl needs --checkpoint\n");
            return 2;
        }
        return cmd_control(&o, o.cmd, checkpoint);
    }
    fprintf(stderr, "cdc-migrate: unknown command '%s'\n", o.cmd);
    usage(stderr);
    return 2;
}
