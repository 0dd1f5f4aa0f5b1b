/*
 * cdc: command-line front end of libcdc.
 *
 *   cdc version
 *   cdc <command> [options]     (see `cdc help`)
 */
#include <stdio.h>
#include <string.h>

#include <cdc/cdc.h>

#include "commands.h"

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("cdc %s\n", cdc_version());
    return 0;
}

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"version", cmd_version, "print the library version"},
    {"config-doc", cmd_config_doc, "print the configuration keys as Markdown"},
    {"info", cmd_info, "connect to a server and print what it says about itself and its binlog"},
    {"dump", cmd_dump, "decode binlog files and print one JSON line per row change"},
    {"stream", cmd_stream, "follow a live server's binlog and print one JSON line per row change"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: cdc <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`cdc <command> --help` describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "cdc: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
