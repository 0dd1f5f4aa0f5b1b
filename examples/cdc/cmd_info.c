/*
 * cdc info: connect to a server and print what it says about itself and
 * its binary log -- the settings a change-data-capture client depends on
 * (cdc/info.h).
 *
 *   cdc info --user U [--host H --port P | --socket S] [--ssl-mode M ...]
 *
 * The password comes from the environment (CDC_PASSWORD), a file
 * (--password-file) or a prompt, never from the command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cdc/cdc.h>

#include "cli.h"
#include "commands.h"

static void info_usage(FILE *f)
{
    fprintf(f, "usage: cdc info --user U [options]\n"
               "Prints what the server says about itself and its binary log.\n\n" CLI_CONN_USAGE);
}

int cmd_info(int argc, char **argv)
{
    enum { O_HELP = CLI_O__NEXT };
    static const struct option longopts[] = {CLI_CONN_OPTIONS, {"help", no_argument, NULL, O_HELP},
                                             {NULL, 0, NULL, 0}};
    static const char cmd[] = "cdc info";
    cdc_config *cfg;
    if (cdc_config_new(&cfg, NULL)) return 1;
    cli_conn cc = {cmd, NULL};
    int status = 0, opt;
    opterr = 0;
    optind = 1;
    while (status == 0 && (opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        int h = cli_conn_option(&cc, cfg, opt, optarg);
        if (h < 0) status = 2;
        if (h) continue;
        switch (opt) {
        case O_HELP: info_usage(stdout); cdc_config_free(cfg); return 0;
        case ':': status = cli_usage_error(cmd, "%s needs a value", argv[optind - 1]); break;
        default: status = cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]); break;
        }
    }
    char user[256] = "";
    cdc_config_get(cfg, "user", user, sizeof user, NULL);
    if (status == 0 && optind < argc) status = cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (status == 0 && !*user) status = cli_usage_error(cmd, "--user is required");
    if (status == 0 && cli_password(&cc, cfg)) status = 1;
    if (status) {
        cdc_config_free(cfg);
        return status;
    }
    cdc_server_info *info;
    char err[1024];
    int rc = cdc_server_info_get(&info, cfg, NULL, err, sizeof err);
    cdc_config_free(cfg);
    if (rc) {
        fprintf(stderr, "cdc info: %s (%s)\n", err, cdc_err_name(rc));
        return 1;
    }
    int failed = 0;
    for (size_t i = 0; i < cdc_server_info_count(info); i++) {
        const char *v = cdc_server_info_value(info, i);
        if (v)
            printf("%-20s %s\n", cdc_server_info_name(info, i), *v ? v : "(empty)");
        else {
            printf("%-20s (unavailable: %s)\n", cdc_server_info_name(info, i), cdc_server_info_error(info, i));
            failed = 1;
        }
    }
    cdc_server_info_free(info);
    return failed;
}
