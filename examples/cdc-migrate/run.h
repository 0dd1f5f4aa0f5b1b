/* The subcommands of cdc-migrate. Each returns the exit status. */
#ifndef CDC_MIGRATE_RUN_H
#define CDC_MIGRATE_RUN_H

#include "migrate.h"

int cmd_run(const mopts *o);
int cmd_status(const mopts *o);
int cmd_verify(const mopts *o);
int cmd_cutover(const mopts *o);
int cmd_control(const mopts *o, const char *what, const char *checkpoint);

#endif
