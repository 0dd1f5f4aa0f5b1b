/*
 * batchbin.h: the binary form of a batch (cdc_batch_set_format,
 * docs/output.md "Binary batches"): typed values, no text to parse, and
 * a table's names sent once instead of in every row. Internal; used by
 * batch.c only.
 */
#ifndef CDC_BATCHBIN_H
#define CDC_BATCHBIN_H

#include <cdc/binlog.h>

#include "util.h"

/* Record tags: the first byte of each record. */
enum {
    CDC__BIN_TABLE = 'T',
    CDC__BIN_CHANGE = 'C',
    CDC__BIN_COMMIT = 'K',
    CDC__BIN_DDL = 'D',
    CDC__BIN_CHECKPOINT = 'P',
    CDC__BIN_SNAPSHOT_DONE = 'S',
};

/* Value tags: the first byte of each column value. */
enum {
    CDC__BV_ABSENT = 0,    /* not in the image (MINIMAL/NOBLOB) */
    CDC__BV_NULL = 1,      /* SQL NULL */
    CDC__BV_INT = 2,       /* int64 */
    CDC__BV_UINT = 3,      /* uint64 */
    CDC__BV_DOUBLE = 4,    /* IEEE double (FLOAT: its shortest text read as a double) */
    CDC__BV_DECIMAL = 5,   /* u32 length, exact text "-12.30" */
    CDC__BV_DATE = 6,      /* u16 year, u8 month, u8 day */
    CDC__BV_DATETIME = 7,  /* u16 year, u8 month, day, hour, minute, second, u32 usec */
    CDC__BV_TIMESTAMP = 8, /* as DATETIME, in UTC */
    CDC__BV_TIME = 9,      /* int64 microseconds, may be negative */
    CDC__BV_BYTES = 10,    /* u32 length, raw bytes */
    CDC__BV_TEXT = 11,     /* u32 length, UTF-8 */
    CDC__BV_JSON = 12,     /* u32 length, a JSON document's text ("null": the document null) */
    CDC__BV_OTHER = 13,    /* u32 length, the value's JSON form as in the lines (docs/values.md) */
};

/*
 * The tables whose names the reader was sent: a record refers to a
 * table by slot, and a slot's 'T' record comes before the first record
 * using it. A slot is reused for another table (a new 'T' record) when
 * the cache is full. Forget them all when bytes already written are
 * dropped, so no record refers to a 'T' the reader never got.
 */
typedef struct cdc__bin_tables {
    const cdc_allocator *alloc;
    struct cdc__bin_table *t;
    size_t n, next;
} cdc__bin_tables;

void cdc__bin_tables_init(cdc__bin_tables *ts, const cdc_allocator *a);
void cdc__bin_tables_forget(cdc__bin_tables *ts);
void cdc__bin_tables_free(cdc__bin_tables *ts);

/* Appends a change record (and the 'T' record of its table if the
 * reader lacks it). On error out may hold part of it: the caller cuts
 * it back and calls cdc__bin_tables_forget(). */
int cdc__bin_change(cdc__buf *out, cdc__bin_tables *ts, const cdc_change *c, cdc__err *err);

/* Appends the record of a commit, DDL, checkpoint or snapshot end;
 * checkpoint is the position's cdc_position_format() text. */
int cdc__bin_commit(cdc__buf *out, const char *gtid, uint32_t sid, int64_t ts_ms, const char *file,
                    uint64_t offset, const char *checkpoint);
int cdc__bin_ddl(cdc__buf *out, cdc_bytes db, cdc_bytes sql, const char *gtid, const char *file,
                 uint64_t offset, const char *checkpoint);
int cdc__bin_position(cdc__buf *out, uint8_t tag, const char *file, uint64_t offset, const char *checkpoint);

#endif /* CDC_BATCHBIN_H */
