/*
 * position.h: cdc_position (a point between two transactions of one
 * server's binlog: file, offset and the executed GTID set), its
 * checkpoint string, and the start/stop forms of the configuration
 * ("earliest", "now", "FILE:OFFSET", "gtid:SET", a checkpoint).
 *
 * The checkpoint string is
 *     cdc1:file=<name>;pos=<offset>[;gtid=<set>][;snap=<progress>][;incr=<tables>]
 * where <name> has every byte outside [A-Za-z0-9._/-] written as %XX,
 * <offset> is decimal and <set> is the GTID set in the server's text form
 * ("uuid:1-5,uuid:tag:1-3" or "0-1-5,1-2-9"). <progress> (snapprog.h)
 * marks an unfinished snapshot whose point is file/pos/gtid. <tables>
 * (incremental.h) lists incremental snapshots still to do, each with the
 * key of the last row handed out. The "cdc1:" prefix lets a
 * later version change the format and still read this one.
 * Internal; not installed (the public half is in cdc/stream.h).
 */
#ifndef CDC_POSITION_H
#define CDC_POSITION_H

#include <cdc/stream.h>

#include "gtid.h"
#include "util.h"

#define CDC__CHECKPOINT_PREFIX "cdc1:"

struct cdc_position {
    const cdc_allocator *alloc;
    cdc__buf file;          /* NUL-terminated (empty: unknown) */
    uint64_t offset;
    cdc__gtid_set gtids;
    cdc__buf gtid_text;     /* the set's text, NUL-terminated, kept in step */
    bool gtid_known;       /* the set is the whole executed set at this point */
    cdc__buf snap;          /* an unfinished snapshot's progress (snapprog.h), NUL-terminated; empty: none */
    cdc__buf incr;          /* incremental snapshots to go on with (incremental.h); empty: none */
};

/* An empty position (file "", offset 0, no GTIDs). */
int cdc__position_new(cdc_position **out, const cdc_allocator *a);
void cdc__position_init(cdc_position *p, const cdc_allocator *a);
void cdc__position_clear(cdc_position *p);   /* frees what p owns */
int cdc__position_copy(cdc_position *dst, const cdc_position *src);
int cdc__position_set_file(cdc_position *p, const char *file, size_t len);
/* Replaces / extends the GTID set; both keep gtid_text in step. */
int cdc__position_set_gtids(cdc_position *p, const cdc__gtid_set *s);
int cdc__position_union(cdc_position *p, const cdc__gtid_set *s);
/* Adds one GTID given in its text form ("uuid:5", "uuid:tag:5", "0-1-5"). */
int cdc__position_add_gtid_text(cdc_position *p, const char *gtid, cdc__err *err);
/* Rebuilds gtid_text from gtids (after changing the set directly). */
int cdc__position_sync_text(cdc_position *p);

/* Replaces the snapshot progress (len 0: none). */
int cdc__position_set_snap(cdc_position *p, const char *text, size_t len);
/* Replaces the incremental snapshots' progress (len 0: none). */
int cdc__position_set_incr(cdc_position *p, const char *text, size_t len);

/* Appends the checkpoint string (no NUL) to out. */
int cdc__position_format_buf(const cdc_position *p, cdc__buf *out);
/* Parses a checkpoint, "FILE:OFFSET" or "gtid:SET" into p (cleared first). */
int cdc__position_parse_into(cdc_position *p, const char *text, cdc__err *err);

/* The forms of the "start" and "stop.at" keys. */
typedef enum cdc__where {
    CDC__WHERE_NONE = 0,   /* empty text */
    CDC__WHERE_EARLIEST,   /* start only */
    CDC__WHERE_NOW,
    CDC__WHERE_POSITION,   /* file/offset and/or GTID set in the position */
} cdc__where;

/* Parses a start (allow_earliest) or stop.at value. `key` names it in
 * messages. pos receives the position for CDC__WHERE_POSITION. */
int cdc__where_parse(const char *text, const char *key, bool allow_earliest, cdc__where *kind,
                     cdc_position *pos, cdc__err *err);

/* Orders two binlog file names the way the server numbers them: by the
 * numeric extension when both share a base name, else by text. */
int cdc__binlog_name_cmp(const char *a, const char *b);

#endif /* CDC_POSITION_H */
