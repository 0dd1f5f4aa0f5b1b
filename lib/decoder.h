/*
 * decoder.h: internal knobs of the binlog decoder (cdc/binlog.h) for
 * tests, fuzzers and the stream. Internal; not installed.
 */
#ifndef CDC_DECODER_H
#define CDC_DECODER_H

#include <cdc/binlog.h>

#include "gtid.h"
#include "util.h"

#define CDC__DECODER_MAX_EVENT_DEFAULT ((size_t)1 << 30) /* max_allowed_packet's ceiling */

/* The public cdc_change: one row change as the callbacks see it. Here so
 * the JSON lines (output.c) read the images without a call per value. */
struct cdc_change {
    char op;
    const struct cdc_table *t;
    const cdc_event *ev;
    const cdc_value *before, *after;
    const uint8_t *pb, *pa; /* present[i] of each image */
    size_t ncols;
    uint64_t row;
    const char *gtid;
    int64_t ts_ms;
    /* More rows of the same rows event follow this one: a host that
     * pauses here makes a stream re-read the transaction (a decoder
     * cannot stop inside an event), so batches wait for the event's end. */
    bool more_in_event;
    /* Some values may not be made yet (present[i] == CDC__PRESENT_PENDING,
     * rows.h): read them through cdc_change_before/after, or
     * cdc__rows_materialize_image first. */
    bool lazy;
    cdc_bytes jgtid; /* gtid as JSON (a string or null); empty: not made */
    /* The JSON line's tail, made once per rows event by output.c (see
     * output.h) in the decoder's storage; NULL: not kept (written piece
     * by piece). */
    struct cdc__line_tail *tail;
    /* Each image's cells, made with the image when the table reads
     * whole images as cells (cdc__rows_image_cells); NULL when not made. */
    const cdc_cell *cb, *ca;
    /* CDC__READ_CELLS: set by cdc_change_cells when it read a whole
     * image; CDC__READ_JSON: by the JSON lines (output.c), which write
     * images made as cells from their cells (put_image_cells) and leave
     * their values pending. cdc_change_cells sets CDC__READ_CELLS alone:
     * the JSON bit changes nothing once the cells bit is set. */
    uint8_t cells_read;
    /* An image read as cells alone (cdc__rows_image_cells_only) has no
     * pending state for its values yet: its before/pb (after/pa) are NULL
     * and unsettled_b (_a) is where the image starts, until
     * cdc__change_settle writes that state into own_* (the decoder's
     * arrays) and sets before/pb (after/pa) to them. Anything that reads
     * an image other than through its cells settles the change first. */
    const uint8_t *unsettled_b, *unsettled_a, *rows_end;
    cdc_value *own_vb, *own_va;
    uint8_t *own_pb, *own_pa;
};

enum { CDC__READ_CELLS = 1, CDC__READ_JSON = 2 };

void cdc__change_settle_images(const struct cdc_change *c);
/* Gives c's images read as cells alone their values' pending state. */
static inline void cdc__change_settle(const struct cdc_change *c)
{
    if (__builtin_expect(c->unsettled_b || c->unsettled_a, 0)) cdc__change_settle_images(c);
}

/* The event's file name as a JSON string, made once per file by the
 * decoder; empty when it did not make one. */
cdc_bytes cdc__event_file_json(const cdc_event *e);

/* How row images are read (rows.h, cdc__rows_image_lazy): by default
 * lazily while the callbacks leave values unread, whole while they read
 * every value; tests pick one way for every row. */
enum { CDC__LAZY_ADAPTIVE, CDC__LAZY_ALWAYS, CDC__LAZY_NEVER };
void cdc__decoder_set_lazy(cdc_decoder *d, int how);
/* Caps the size of one event (outer, inner or MariaDB-uncompressed). */
void cdc__decoder_set_max_event(cdc_decoder *d, size_t max);
/* GTID set of the last PREVIOUS_GTIDS / GTID_LIST event seen; NULL when
 * that event could not be parsed. It is parsed before the event callback
 * for that event runs, so the callback may read it. */
const cdc__gtid_set *cdc__decoder_previous_gtids(const cdc_decoder *d);
/* The GTID of the transaction being decoded (kind CDC__GTID_NONE when
 * none or anonymous), the struct behind cdc_event_gtid()'s text, and its
 * immediate commit time in microseconds (0 when the server wrote none). */
const cdc__gtid *cdc__decoder_gtid(const cdc_decoder *d);
uint64_t cdc__decoder_commit_us(const cdc_decoder *d);

/*
 * What the binlog does not say about a mapped table, supplied by the
 * layer above (the stream's schema cache, schema.h): column names for a
 * TABLE_MAP that carries none (binlog_row_metadata=MINIMAL), set with
 * cdc__table_borrow_names(), and MariaDB's JSON columns, which the map
 * shows as LONGTEXT, marked with cdc__table_set_json_text() (tablemap.h).
 * The decoder calls it for every TABLE_MAP with columns, before the table
 * callback; the hook returns at once for tables it has nothing for. It
 * returns
 *   CDC_OK         with t completed as far as it can be (names it leaves
 *                  unset stay unknown);
 *   CDC_ERR_PAUSED when it needs I/O first: the decoder pauses after the
 *                  TABLE_MAP, cdc_decoder_feed() returns, and the next
 *                  feed asks again before anything else (the table
 *                  callback waits until then). The hook never does I/O;
 *                  the host does it between feeds.
 * Any other code fails the decoder like a failing callback.
 */
struct cdc_table;
typedef int (*cdc__names_hook)(struct cdc_table *t, void *ud);
void cdc__decoder_set_names_hook(cdc_decoder *d, cdc__names_hook fn, void *ud);

/* For the stream's column.exclude.list, called from a change callback:
 * marks the columns whose mask byte is set as absent from both images of
 * c. Only the decoder's own per-row arrays change (rebuilt for every row). */
void cdc__change_hide_columns(const cdc_change *c, const uint8_t *mask);

/*
 * A snapshot row as a cdc_change (op 'r', after image only: vals and
 * present[i] as a row image has them) positioned at file:offset (the
 * snapshot's point) as its row-th row, handed to cb; returns what cb
 * returns. The snapshot (snapshot.c) uses it so snapshot rows reach the
 * same getters and JSON form as binlog rows; (file, offset, row) names one
 * snapshot row, as it names one row change of the binlog (no rows event
 * starts at a point between transactions).
 */
struct cdc_table;
int cdc__change_snapshot_row(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present,
                             const char *file, uint64_t offset, uint64_t row,
                             int (*cb)(const cdc_change *c, void *ud), void *ud);

/*
 * A made-up row change for tests and tools that need one without a
 * binlog: op 'c', 'u', 'd' or 'r', images as cdc_change_before/after read
 * them (NULL when absent; `pb`/`pa` flag the columns present), position,
 * GTID, server id and commit time as the accessors return them.
 */
typedef struct cdc__change_spec {
    char op;
    const struct cdc_table *t;
    const cdc_value *before, *after;
    const uint8_t *pb, *pa;
    const char *file, *gtid;
    uint64_t offset, row;
    uint32_t server_id;
    int64_t ts_ms;
} cdc__change_spec;
int cdc__change_synth(const cdc__change_spec *spec, int (*cb)(const cdc_change *c, void *ud), void *ud);


#endif /* CDC_DECODER_H */
