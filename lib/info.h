/*
 * info.h: the connection options the configuration's connection keys
 * describe, shared by every module that connects. Internal.
 */
#ifndef CDC_INFO_INTERNAL_H
#define CDC_INFO_INTERNAL_H

#include <cdc/config.h>

#include "conn.h"

/* cdc__conn_opts_from_config (the options cfg's connection keys
 * describe) lives in conn.c, declared in conn.h. */

#endif
