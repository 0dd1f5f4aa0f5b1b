/*
 * snapprog.h: the progress of an unfinished snapshot as it travels in a
 * checkpoint string (the "snap" field, docs/stream.md "Positions and
 * checkpoints"; docs/snapshot.md "Resuming after a restart").
 *
 *     snap   = entry *( "," entry )
 *     entry  = name "." name *( "~" item )   no item: the table is done
 *     item   = [int] "_" [int] "_" state      a range lo <= k0 < hi of the
 *                                             first key column (empty: open)
 *     state  = "-"                            not started
 *            | "+"                            done
 *            | "k" key                        done up to and including the
 *                                             row with this primary key
 *     key    = esc *( "." esc )               one per key column, in key order
 *     name, esc: bytes, each outside [A-Za-z0-9-] written %XX (upper hex)
 *
 * Tables not listed are not started. Key values are the text the server
 * sends for them (what the snapshot writes back into its keyset SQL).
 * Internal; not installed.
 */
#ifndef CDC_SNAPPROG_H
#define CDC_SNAPPROG_H

#include "util.h"

enum { CDC__SP_TODO = 0, CDC__SP_DONE = 1, CDC__SP_AFTER = 2 };

typedef struct cdc__sp_item {
    bool has_lo, has_hi;
    int64_t lo, hi;
    int state;              /* CDC__SP_* */
    size_t nkey;            /* CDC__SP_AFTER: key values */
    cdc_bytes *key;         /* views into the progress' storage */
} cdc__sp_item;

typedef struct cdc__sp_table {
    char *db, *name;        /* NUL-terminated */
    bool done;              /* listed without items */
    cdc__sp_item *items;
    size_t nitems;
} cdc__sp_table;

typedef struct cdc__snapprog {
    const cdc_allocator *a;
    cdc__sp_table *t;
    size_t n;
    uint8_t *store;         /* decoded key bytes */
} cdc__snapprog;

/* Parses text (len bytes) into p (freed with cdc__snapprog_free, also on
 * error). CDC_ERR_INVALID with a message naming the problem. */
int cdc__snapprog_parse(cdc__snapprog *p, const char *text, size_t len, const cdc_allocator *a, cdc__err *err);
void cdc__snapprog_free(cdc__snapprog *p);
/* The entry of db.name, or NULL. */
const cdc__sp_table *cdc__snapprog_find(const cdc__snapprog *p, const char *db, const char *name);

/* Writers: a name or key value escaped; an item's bounds. */
int cdc__snapprog_put_esc(cdc__buf *out, const uint8_t *p, size_t n);
int cdc__snapprog_put_range(cdc__buf *out, bool has_lo, int64_t lo, bool has_hi, int64_t hi);

#endif /* CDC_SNAPPROG_H */
