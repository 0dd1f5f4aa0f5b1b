/*
 * cdc info: connect to a server and print what it says about itself and
 * its binary log -- the settings a change-data-capture client depends on.
 *
 *   cdc info --host H --port P --user U [--socket S] [--tls-mode M]
 *            [--tls-ca F --tls-cert F --tls-key F] [--compress]
 *
 * The password comes from the environment (CDC_PASSWORD) or a file
 * (--password-file), never from the command line, where `ps` shows it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "conn.h"

static void info_usage(FILE *f)
{
    fprintf(f,
            "usage: cdc info [options]\n"
            "  --host H               server host (default 127.0.0.1)\n"
            "  --port P               server port (default 3306)\n"
            "  --socket PATH          unix socket instead of TCP\n"
            "  --user U               user name (required)\n"
            "  --password-file F      read the password from F (default: $CDC_PASSWORD)\n"
            "  --tls-mode M           disabled|preferred|required|verify_ca|verify_identity (default preferred)\n"
            "  --tls-ca F, --tls-cert F, --tls-key F, --tls-server-name NAME\n"
            "                         (--ssl-mode, --ssl-ca, --ssl-cert, --ssl-key: the same, as cdc stream names them)\n"
            "  --server-public-key F  RSA key for caching_sha2/sha256 without TLS\n"
            "  --get-server-public-key  may fetch that key from the server\n"
            "  --compress             use the compressed protocol (zlib)\n"
            "  --connect-timeout MS   (default 10000)\n");
}

static char *read_password(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    buf[strcspn(buf, "\r\n")] = 0;
    return strdup(buf);
}

/* Prints "label: value" for each column of the first row of sql; a
 * failing query prints the reason instead and counts as a failure. */
static int print_query(cdc_conn *c, const char *sql, const char *const *labels, size_t n)
{
    cdc_result *r = NULL;
    cdc_err e;
    cdc__err_clear(&e);
    int rc = cdc__conn_query_result(c, sql, &r, &e);
    if (rc) {
        for (size_t i = 0; i < n; i++) printf("%-20s (unavailable: %s)\n", labels[i], e.msg);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *v = cdc__result_rows(r) ? cdc__result_get(r, 0, i) : NULL;
        printf("%-20s %s\n", labels[i], v ? (*v ? v : "(empty)") : "(none)");
    }
    cdc__result_free(r);
    return 0;
}

int cmd_info(int argc, char **argv)
{
    enum { O_HOST = 1, O_PORT, O_SOCKET, O_USER, O_PWFILE, O_TLSMODE, O_CA, O_CERT, O_KEY, O_SNAME, O_PUBKEY,
           O_GETKEY, O_COMPRESS, O_CTIMEOUT, O_HELP };
    static const struct option longopts[] = {
        {"host", required_argument, NULL, O_HOST},         {"port", required_argument, NULL, O_PORT},
        {"socket", required_argument, NULL, O_SOCKET},     {"user", required_argument, NULL, O_USER},
        {"password-file", required_argument, NULL, O_PWFILE}, {"tls-mode", required_argument, NULL, O_TLSMODE},
        {"tls-ca", required_argument, NULL, O_CA},         {"tls-cert", required_argument, NULL, O_CERT},
        {"tls-key", required_argument, NULL, O_KEY},       {"tls-server-name", required_argument, NULL, O_SNAME},
        {"server-public-key", required_argument, NULL, O_PUBKEY},
        {"get-server-public-key", no_argument, NULL, O_GETKEY},
        {"compress", no_argument, NULL, O_COMPRESS},       {"connect-timeout", required_argument, NULL, O_CTIMEOUT},
        /* the names cdc stream and the configuration keys use */
        {"ssl-mode", required_argument, NULL, O_TLSMODE},  {"ssl-ca", required_argument, NULL, O_CA},
        {"ssl-cert", required_argument, NULL, O_CERT},     {"ssl-key", required_argument, NULL, O_KEY},
        {"help", no_argument, NULL, O_HELP},               {NULL, 0, NULL, 0},
    };
    cdc_conn_opts o = {0};
    o.tls_mode = CDC_TLS_PREFERRED;
    const char *pwfile = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case O_HOST: o.host = optarg; break;
        case O_PORT: o.port = (unsigned)strtoul(optarg, NULL, 10); break;
        case O_SOCKET: o.unix_socket = optarg; break;
        case O_USER: o.user = optarg; break;
        case O_PWFILE: pwfile = optarg; break;
        case O_TLSMODE: {
            int m = cdc__tls_mode_parse(optarg);
            if (m < 0) {
                fprintf(stderr, "cdc info: unknown --tls-mode '%s'\n", optarg);
                return 2;
            }
            o.tls_mode = (cdc_tls_mode)m;
            break;
        }
        case O_CA: o.tls_ca = optarg; break;
        case O_CERT: o.tls_cert = optarg; break;
        case O_KEY: o.tls_key = optarg; break;
        case O_SNAME: o.tls_server_name = optarg; break;
        case O_PUBKEY: o.server_public_key_path = optarg; break;
        case O_GETKEY: o.get_server_public_key = true; break;
        case O_COMPRESS: o.compress = true; break;
        case O_CTIMEOUT: o.connect_timeout_ms = atoi(optarg); break;
        case O_HELP: info_usage(stdout); return 0;
        default: info_usage(stderr); return 2;
        }
    }
    if (optind < argc || !o.user) {
        if (!o.user) fprintf(stderr, "cdc info: --user is required\n");
        else fprintf(stderr, "cdc info: unexpected argument '%s'\n", argv[optind]);
        info_usage(stderr);
        return 2;
    }
    char *pw = NULL;
    if (pwfile) {
        if (!(pw = read_password(pwfile))) {
            fprintf(stderr, "cdc info: cannot read password file '%s'\n", pwfile);
            return 1;
        }
        o.password = pw;
    } else {
        o.password = getenv("CDC_PASSWORD");
    }

    cdc_conn *c = NULL;
    cdc_err e;
    cdc__err_clear(&e);
    if (cdc__conn_new(&c, NULL) != CDC_OK) {
        fprintf(stderr, "cdc info: out of memory\n");
        free(pw);
        return 1;
    }
    int rc = cdc__conn_connect(c, &o, &e);
    free(pw);
    if (rc) {
        fprintf(stderr, "cdc info: %s (%s)\n", e.msg, cdc_err_name(rc));
        cdc__conn_free(c);
        return 1;
    }
    const cdc_server_version *v = cdc__conn_server_version(c);
    bool maria = v->flavour == CDC_FLAVOUR_MARIADB;
    printf("%-20s %s\n", "flavour", maria ? "MariaDB" : "MySQL");
    printf("%-20s %u.%u.%u (%.*s)\n", "version", v->major, v->minor, v->patch, (int)v->text.len,
           (const char *)v->text.ptr);
    printf("%-20s %u\n", "connection_id", cdc__conn_id(c));
    printf("%-20s %s\n", "auth_plugin", cdc__conn_auth_plugin(c));
    if (cdc__conn_tls_cipher(c))
        printf("%-20s %s %s\n", "tls", cdc__conn_tls_version(c), cdc__conn_tls_cipher(c));
    else
        printf("%-20s off%s\n", "tls", cdc__conn_is_unix(c) ? " (unix socket)" : "");
    printf("%-20s %s\n", "compression", cdc__conn_compressed(c) ? "zlib" : "off");

    int failed = 0;
    static const char *const common[] = {"server_id", "log_bin", "binlog_format", "binlog_row_image",
                                         "binlog_row_metadata", "binlog_checksum"};
    failed |= print_query(c,
                          "SELECT @@server_id, @@log_bin, @@binlog_format, @@binlog_row_image, "
                          "@@binlog_row_metadata, @@binlog_checksum",
                          common, 6);
    if (maria) {
        static const char *const m[] = {"gtid_domain_id", "gtid_current_pos", "gtid_binlog_pos"};
        failed |= print_query(c, "SELECT @@gtid_domain_id, @@gtid_current_pos, @@gtid_binlog_pos", m, 3);
    } else {
        static const char *const m[] = {"server_uuid", "gtid_mode", "gtid_executed"};
        failed |= print_query(c, "SELECT @@server_uuid, @@gtid_mode, @@gtid_executed", m, 3);
    }
    /* MySQL 8.2 renamed SHOW MASTER STATUS; 8.4 removed the old name. */
    bool new_name = !maria && cdc__server_version_num(v) >= 80200;
    static const char *const pos[] = {"binlog_file", "binlog_position"};
    failed |= print_query(c, new_name ? "SHOW BINARY LOG STATUS" : "SHOW MASTER STATUS", pos, 2);
    cdc__conn_free(c);
    return failed ? 1 : 0;
}
