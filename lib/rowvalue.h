/*
 * rowvalue.h: helpers of the type codec (rowvalue.c) that other modules share.
 * The decoder itself is declared in value.h. Internal; not installed.
 */
#ifndef CDC_TYPES_H
#define CDC_TYPES_H

#include "value.h"

/* SQL name of a binlog type code ("DATETIME", "MEDIUMBLOB"). */
const char *cdc__type_name(unsigned type);

/* Real type (STRING/ENUM/SET) and byte length (CHAR) or pack length
 * (ENUM/SET) of a column of the CHAR family. */
void cdc__column_string_info(const cdc_column *col, unsigned *real_type, unsigned *length);

#endif /* CDC_TYPES_H */
