/* Subcommands of the cdc tool: each gets (argc, argv) with argv[0] = its name
 * and returns the process exit status (0 ok, 1 failure, 2 usage error). */
#ifndef CDC_TOOL_COMMANDS_H
#define CDC_TOOL_COMMANDS_H

int cmd_config_doc(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_stream(int argc, char **argv);

#endif
