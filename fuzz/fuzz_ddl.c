/*
 * fuzz_ddl.c: the rough DDL reader of schema.c, which reads statement
 * text from QUERY events to decide which cached column names to drop and
 * whether the stream's filters want the statement. Any text gives a
 * count of well-formed "db\0table\0" pairs inside the output, or -1/0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    int n = cdc__schema_ddl_tables("db", 2, (const char *)data, size, &b);
    if (n < -1) abort();
    if (n > 0 && !b.data) abort();
    const char *p = (const char *)b.data, *end = p ? p + b.len : p;
    for (int i = 0; i < 2 * n; i++) {
        size_t l = strnlen(p, (size_t)(end - p));
        if (p + l >= end) abort(); /* every name NUL-terminated inside */
        p += l + 1;
    }
    cdc__buf_reset(&b);
    if (cdc__schema_ddl_database((const char *)data, size, &b) && (!b.len || b.data[b.len - 1] != 0)) abort();
    cdc__buf_free(&b);
    return 0;
}
