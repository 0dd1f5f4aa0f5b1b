/*
 * column.c: public getters of a column's ENUM/SET labels and GEOMETRY
 * subtype (include/cdc/value.h), over the internal cdc_column.
 */
#include <cdc/value.h>

#include "value.h"

CDC_EXTERN size_t cdc_column_label_count(const cdc_column *c)
{
    if (!c) return 0;
    int t = c->type == CDC_T_STRING ? c->real_type : c->type;
    return t == CDC_T_ENUM || t == CDC_T_SET ? c->n_labels : 0;
}

CDC_EXTERN const char *cdc_column_label(const cdc_column *c, size_t i, size_t *len)
{
    if (len) *len = 0;
    if (i >= cdc_column_label_count(c)) return NULL;
    if (len) *len = c->labels[i].len;
    return (const char *)c->labels[i].ptr;
}

CDC_EXTERN int cdc_column_geometry_type(const cdc_column *c)
{
    return c && c->type == CDC_T_GEOMETRY ? c->geometry_type : -1;
}
