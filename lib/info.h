/*
 * info.h: the connection options the configuration's connection keys
 * describe, shared by every module that connects. Internal.
 */
#ifndef CDC_INFO_INTERNAL_H
#define CDC_INFO_INTERNAL_H

#include <cdc/config.h>

#include "conn.h"

/* Fills o from cfg; the strings are cfg's and live as long as it. */
void cdc__conn_opts_from_config(const cdc_config *cfg, cdc_conn_opts *o);

#endif
