/*
 * libcdc: change data capture from MySQL and MariaDB binary logs.
 * The one header applications include.
 */
#ifndef CDC_CDC_H
#define CDC_CDC_H

#include <cdc/common.h>
#include <cdc/config.h>
#include <cdc/value.h>
#include <cdc/binlog.h>
#include <cdc/stream.h>
#include <cdc/batch.h>
#include <cdc/lines.h>
#include <cdc/info.h>
#include <cdc/debezium.h>

#endif /* CDC_CDC_H */
