/*
 * libcdc: change data capture from MySQL and MariaDB binary logs.
 *
 * binlog.h: the binlog decoder. A cdc_decoder is fed bytes and calls
 * back with events, table maps and row changes; it does no I/O of its
 * own, so the same code serves a binlog file, a replication stream or
 * bytes the host got elsewhere.
 *
 *     cdc_decoder *d;
 *     cdc_decoder_new(&d, NULL, err, sizeof err);
 *     cdc_decoder_set_change_cb(d, on_change, ctx);
 *     while ((n = read(fd, buf, sizeof buf)) > 0)
 *         if (cdc_decoder_feed(d, buf, n) < 0) ...cdc_decoder_errmsg(d)...
 *     cdc_decoder_finish(d);
 *     cdc_decoder_free(d);
 *
 * Thread-safety: a decoder and the views it hands out belong to one
 * thread at a time; different decoders are independent.
 *
 * Views (cdc_event, cdc_table, cdc_change, cdc_query) are borrowed: they
 * and every pointer reached through them are valid until the callback
 * that received them returns, except cdc_table, which stays valid until
 * the end of its statement (after the change callbacks of the rows event
 * flagged STMT_END) or the next TABLE_MAP with the same table id,
 * whichever comes first. Copy what you keep.
 */
#ifndef CDC_BINLOG_H
#define CDC_BINLOG_H

#include <stddef.h>
#include <stdint.h>

#include <cdc/common.h>
#include <cdc/value.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdc_decoder cdc_decoder;
typedef struct cdc_event cdc_event;
typedef struct cdc_table cdc_table;
typedef struct cdc_change cdc_change;
typedef struct cdc_query cdc_query;

/* What the decoder expects to be fed. */
typedef enum cdc_decoder_mode {
    /* A binlog file: the 4-byte magic fe 'b' 'i' 'n', then events. */
    CDC_DECODER_FILE = 0,
    /* A concatenation of events, as a replication stream delivers them
     * once the leading OK byte of each packet is stripped. */
    CDC_DECODER_EVENTS = 1,
} cdc_decoder_mode;

/* Binlog event type codes (Log_event_type; MariaDB's from 160 up). */
typedef enum cdc_event_type {
    CDC_EV_UNKNOWN = 0, CDC_EV_START_V3 = 1, CDC_EV_QUERY = 2, CDC_EV_STOP = 3,
    CDC_EV_ROTATE = 4, CDC_EV_INTVAR = 5, CDC_EV_LOAD = 6, CDC_EV_SLAVE = 7,
    CDC_EV_CREATE_FILE = 8, CDC_EV_APPEND_BLOCK = 9, CDC_EV_EXEC_LOAD = 10,
    CDC_EV_DELETE_FILE = 11, CDC_EV_NEW_LOAD = 12, CDC_EV_RAND = 13,
    CDC_EV_USER_VAR = 14, CDC_EV_FORMAT_DESCRIPTION = 15, CDC_EV_XID = 16,
    CDC_EV_BEGIN_LOAD_QUERY = 17, CDC_EV_EXECUTE_LOAD_QUERY = 18,
    CDC_EV_TABLE_MAP = 19, CDC_EV_PRE_GA_WRITE_ROWS = 20,
    CDC_EV_PRE_GA_UPDATE_ROWS = 21, CDC_EV_PRE_GA_DELETE_ROWS = 22,
    CDC_EV_WRITE_ROWS_V1 = 23, CDC_EV_UPDATE_ROWS_V1 = 24,
    CDC_EV_DELETE_ROWS_V1 = 25, CDC_EV_INCIDENT = 26, CDC_EV_HEARTBEAT = 27,
    CDC_EV_IGNORABLE = 28, CDC_EV_ROWS_QUERY = 29, CDC_EV_WRITE_ROWS = 30,
    CDC_EV_UPDATE_ROWS = 31, CDC_EV_DELETE_ROWS = 32, CDC_EV_GTID = 33,
    CDC_EV_ANONYMOUS_GTID = 34, CDC_EV_PREVIOUS_GTIDS = 35,
    CDC_EV_TRANSACTION_CONTEXT = 36, CDC_EV_VIEW_CHANGE = 37,
    CDC_EV_XA_PREPARE = 38, CDC_EV_PARTIAL_UPDATE_ROWS = 39,
    CDC_EV_TRANSACTION_PAYLOAD = 40, CDC_EV_HEARTBEAT_V2 = 41,
    CDC_EV_GTID_TAGGED = 42,
    CDC_EV_AURORA_PADDING = 100,
    CDC_EV_MARIA_ANNOTATE_ROWS = 160, CDC_EV_MARIA_BINLOG_CHECKPOINT = 161,
    CDC_EV_MARIA_GTID = 162, CDC_EV_MARIA_GTID_LIST = 163,
    CDC_EV_MARIA_START_ENCRYPTION = 164, CDC_EV_MARIA_QUERY_COMPRESSED = 165,
    CDC_EV_MARIA_WRITE_ROWS_COMPRESSED_V1 = 166,
    CDC_EV_MARIA_UPDATE_ROWS_COMPRESSED_V1 = 167,
    CDC_EV_MARIA_DELETE_ROWS_COMPRESSED_V1 = 168,
    CDC_EV_MARIA_WRITE_ROWS_COMPRESSED = 169,
    CDC_EV_MARIA_UPDATE_ROWS_COMPRESSED = 170,
    CDC_EV_MARIA_DELETE_ROWS_COMPRESSED = 171,
} cdc_event_type;

/* ---- callbacks ---------------------------------------------------------
 *
 * Every callback returns one of:
 *   0               continue;
 *   CDC_ERR_PAUSED  stop feeding: cdc_decoder_feed() returns early, once
 *                   the event being dispatched has been fully delivered
 *                   (its remaining callbacks still run), with the number
 *                   of bytes consumed so far; feed the rest later;
 *   any other negative value: abort; the decoder enters the error state
 *                   with CDC_ERR_CALLBACK and that value in the message.
 */

/* Every event, known or not, before any more specific callback for it.
 * Inner events of a TRANSACTION_PAYLOAD are delivered too (after the
 * payload event itself). */
typedef int (*cdc_event_cb)(const cdc_event *ev, void *ud);
/* Each TABLE_MAP, once decoded. */
typedef int (*cdc_table_cb)(const cdc_table *t, void *ud);
/* Each row of each WRITE/UPDATE/DELETE/PARTIAL_UPDATE rows event. */
typedef int (*cdc_change_cb)(const cdc_change *c, void *ud);
/* Transaction begin: a BEGIN (or XA START) query, or a MariaDB GTID event
 * that is not standalone (MariaDB writes no BEGIN after it). Commit: XID,
 * XA_PREPARE or a COMMIT query. `ev` is the event that did it; its
 * cdc_event_gtid() names the transaction. DDL statements, which are
 * transactions of their own, come to the query callback only. */
typedef int (*cdc_txn_cb)(const cdc_event *ev, void *ud);
/* Each QUERY or QUERY_COMPRESSED event other than BEGIN and COMMIT
 * (DDL, statement-based DML, XA statements, ROLLBACK...). */
typedef int (*cdc_query_cb)(const cdc_query *q, void *ud);

/* ---- the decoder ------------------------------------------------------ */

/*
 * Makes a decoder in FILE mode. `alloc` may be NULL (malloc/free). On
 * failure returns CDC_ERR_NOMEM (or CDC_ERR_INVALID for a NULL out) and
 * writes a message into err (errlen bytes, may be NULL/0).
 */
CDC_EXTERN int cdc_decoder_new(cdc_decoder **out, const cdc_allocator *alloc,
                               char *err, size_t errlen);
/* Frees the decoder and everything it owns. NULL is a no-op. */
CDC_EXTERN void cdc_decoder_free(cdc_decoder *d);

/* Selects FILE or EVENTS mode. Only before the first feed; else
 * CDC_ERR_STATE. Unknown mode: CDC_ERR_INVALID. */
CDC_EXTERN int cdc_decoder_set_mode(cdc_decoder *d, cdc_decoder_mode mode);
/*
 * Names the binlog file the input comes from and the offset of the first
 * byte to be fed (0 for a whole file; the start position of a stream),
 * for positions and error messages. `file` is copied; NULL keeps the
 * current name. In EVENTS mode a ROTATE event renames the file; offsets
 * are then taken from each event's log_pos. CDC_ERR_NOMEM possible.
 */
CDC_EXTERN int cdc_decoder_set_position(cdc_decoder *d, const char *file, uint64_t offset);
/* Checksum verification: on by default (1). With 0, CRC32 trailers are
 * skipped but not checked. */
CDC_EXTERN void cdc_decoder_set_verify_checksums(cdc_decoder *d, int on);

/* Setters for the callbacks; NULL disables one. Any time, even from a
 * callback (takes effect at the next event). */
CDC_EXTERN void cdc_decoder_set_event_cb(cdc_decoder *d, cdc_event_cb cb, void *ud);
CDC_EXTERN void cdc_decoder_set_table_cb(cdc_decoder *d, cdc_table_cb cb, void *ud);
CDC_EXTERN void cdc_decoder_set_change_cb(cdc_decoder *d, cdc_change_cb cb, void *ud);
CDC_EXTERN void cdc_decoder_set_begin_cb(cdc_decoder *d, cdc_txn_cb cb, void *ud);
CDC_EXTERN void cdc_decoder_set_commit_cb(cdc_decoder *d, cdc_txn_cb cb, void *ud);
CDC_EXTERN void cdc_decoder_set_query_cb(cdc_decoder *d, cdc_query_cb cb, void *ud);

/*
 * Feeds n bytes. Input may be split anywhere (byte by byte works); an
 * event that lies wholly inside one chunk is decoded in place, other
 * events are gathered in an internal buffer. TRANSACTION_PAYLOAD bodies
 * are decompressed as they arrive, through a small buffer, so memory
 * stays bounded by the largest inner event, not by the transaction.
 *
 * Returns the number of bytes consumed: n, or fewer when a callback
 * paused (feed the rest later), or a negative cdc_error. After a pause
 * the decoder may also hold events decoded from bytes already consumed
 * (inner events of a TRANSACTION_PAYLOAD): they are delivered first by
 * the next call, which may pass n = 0, or by cdc_decoder_finish(). Errors are
 * sticky: every later call returns the same error, and
 * cdc_decoder_errmsg() says where and what ("binlog.000042:1337
 * WRITE_ROWS shop.orders column 3 DECIMAL(10,2): need 5 bytes, 2 left").
 * Notable errors: CDC_ERR_CORRUPT (malformed event), CDC_ERR_CHECKSUM
 * (CRC32 mismatch), CDC_ERR_ENCRYPTED (MySQL 8 encrypted binlog file or
 * MariaDB START_ENCRYPTION), CDC_ERR_UNSUPPORTED (a format this decoder
 * cannot read, e.g. binlog v1), CDC_ERR_SCHEMA (rows event for an
 * unknown table id), CDC_ERR_CALLBACK, CDC_ERR_NOMEM.
 */
CDC_EXTERN ptrdiff_t cdc_decoder_feed(cdc_decoder *d, const uint8_t *p, size_t n);
/* Says the input has ended, delivering any events still held back by a
 * pause (pauses are ignored from here on): CDC_OK if it ended on an event boundary,
 * CDC_ERR_TRUNCATED if inside an event (or inside the magic), or the
 * sticky error. */
CDC_EXTERN int cdc_decoder_finish(cdc_decoder *d);
/* The last error's message ("" when none). Valid until the next call on d. */
CDC_EXTERN const char *cdc_decoder_errmsg(const cdc_decoder *d);
/* The sticky error code, CDC_OK when none. */
CDC_EXTERN int cdc_decoder_error(const cdc_decoder *d);
/* Number of events dispatched so far (inner payload events included). */
CDC_EXTERN uint64_t cdc_decoder_event_count(const cdc_decoder *d);

/* ---- events ------------------------------------------------------------ */

CDC_EXTERN int cdc_event_type_of(const cdc_event *ev);
/* "WRITE_ROWS", "QUERY", ... ("UNKNOWN" for codes this library does not
 * know). Static string. Also for bare codes: */
CDC_EXTERN const char *cdc_event_name(const cdc_event *ev);
CDC_EXTERN const char *cdc_event_type_name(int type);
CDC_EXTERN uint32_t cdc_event_timestamp(const cdc_event *ev);
CDC_EXTERN uint32_t cdc_event_server_id(const cdc_event *ev);
/* log_pos from the header: end position of the event in its file. */
CDC_EXTERN uint32_t cdc_event_log_pos(const cdc_event *ev);
CDC_EXTERN uint32_t cdc_event_size(const cdc_event *ev);
CDC_EXTERN uint16_t cdc_event_flags(const cdc_event *ev);
/* Where the event starts: file name (NUL-terminated, "" if unknown) and
 * offset. Inner events of a TRANSACTION_PAYLOAD report the payload's. */
CDC_EXTERN const char *cdc_event_file(const cdc_event *ev);
CDC_EXTERN uint64_t cdc_event_offset(const cdc_event *ev);
/* The event's bytes, header and checksum included. For a
 * TRANSACTION_PAYLOAD, whose body is streamed, only the header and the
 * payload fields (not the compressed data). */
CDC_EXTERN cdc_bytes cdc_event_raw(const cdc_event *ev);
/* The body: after the common header, before the checksum. Same caveat. */
CDC_EXTERN cdc_bytes cdc_event_body(const cdc_event *ev);
/* 1 for event types this decoder does not know (delivered raw only). */
CDC_EXTERN int cdc_event_is_unknown(const cdc_event *ev);
/* 1 for events that came out of a TRANSACTION_PAYLOAD. */
CDC_EXTERN int cdc_event_is_inner(const cdc_event *ev);
/* GTID of the transaction the event belongs to: "uuid:5",
 * "uuid:tag:5" (tagged), "0-1-5" (MariaDB); "" when none (anonymous). */
CDC_EXTERN const char *cdc_event_gtid(const cdc_event *ev);
/* The session (connection) id that wrote a QUERY event, e.g. a
 * transaction's BEGIN; 0 for other events. Debezium's source.thread. */
CDC_EXTERN uint32_t cdc_event_thread_id(const cdc_event *ev);

/* ---- table maps -------------------------------------------------------- */

CDC_EXTERN uint64_t cdc_table_id(const cdc_table *t);
/* Schema and table name, NUL-terminated. */
CDC_EXTERN const char *cdc_table_db(const cdc_table *t);
CDC_EXTERN const char *cdc_table_name(const cdc_table *t);
CDC_EXTERN size_t cdc_table_column_count(const cdc_table *t);
/* Column name (NUL-terminated), or NULL when the binlog carries none
 * (binlog_row_metadata=MINIMAL) or i is out of range. */
CDC_EXTERN const char *cdc_table_column_name(const cdc_table *t, size_t i);
/* Type byte as the binlog writes it, with STRING resolved to its real
 * type (ENUM 247, SET 248 or STRING 254); -1 if i is out of range. */
CDC_EXTERN int cdc_table_column_type(const cdc_table *t, size_t i);
/* Type metadata as documented in docs/binlog-format.md. */
CDC_EXTERN unsigned cdc_table_column_meta(const cdc_table *t, size_t i);
/* 1 unsigned, 0 signed, -1 unknown or not numeric. */
CDC_EXTERN int cdc_table_column_unsigned(const cdc_table *t, size_t i);
CDC_EXTERN int cdc_table_column_nullable(const cdc_table *t, size_t i);
/* 1 if part of the primary key (only known with full metadata). */
CDC_EXTERN int cdc_table_column_is_pk(const cdc_table *t, size_t i);
/* Collation id, 0 when unknown; 63 is binary. */
CDC_EXTERN unsigned cdc_table_column_charset(const cdc_table *t, size_t i);
/* The column as the value API sees it (cdc/value.h). */
CDC_EXTERN const cdc_column *cdc_table_column(const cdc_table *t, size_t i);

/* ---- row changes ------------------------------------------------------- */

/* 'c' insert, 'u' update, 'd' delete. */
CDC_EXTERN char cdc_change_op(const cdc_change *c);
CDC_EXTERN const cdc_table *cdc_change_table(const cdc_change *c);
/* The rows event this row came from. */
CDC_EXTERN const cdc_event *cdc_change_event(const cdc_change *c);
/*
 * Before/after image values by column index. NULL when the image does
 * not exist (no before image for inserts, no after image for deletes) or
 * the column is absent from it (binlog_row_image=MINIMAL/NOBLOB). SQL
 * NULL is a value of kind NULL, not a NULL pointer. A value is decoded
 * the first time it is asked for (the decoder only measures the row
 * image and checks its DECIMALs; a column nobody reads costs a few
 * instructions), so these write into the decoder: like the decoder, a
 * change is for one thread at a time.
 */
CDC_EXTERN const cdc_value *cdc_change_before(const cdc_change *c, size_t i);
CDC_EXTERN const cdc_value *cdc_change_after(const cdc_change *c, size_t i);
/*
 * Columns first .. first+count-1 of one image, as cells (cdc/value.h,
 * "cells"): cells[k] gets column first+k, the same values the getters of
 * cdc_change_before/after(c, first+k) give, without a call per value.
 * `cell_size` is sizeof(cdc_cell) as the caller was compiled with (the
 * array's stride; see the ABI note in cdc/value.h). A column the image
 * lacks (binlog_row_image=MINIMAL/NOBLOB, or past the columns the rows
 * event carries) gets kind CDC_KIND_NULL with CDC_CELL_ABSENT.
 *
 * Lazy row images stay lazy: a value this call reads is decoded from the
 * event's bytes into the cell, not kept in the decoder, and columns
 * outside the range are not touched; so a reader of the key asks for
 * first = 0, count = 1. While callbacks read whole images this way
 * (first = 0, count covering the row's columns), the decoder writes the
 * cells in its own pass over the next row images of the table, and this
 * call copies them out; it stops at the first callback that does not.
 * Pointers in cells (v.b) live as the values do: until the callback
 * returns.
 *
 * Returns CDC_OK, or, with a message naming the problem in err (errlen
 * bytes, may be NULL/0) and the cells untouched:
 *   CDC_ERR_INVALID  c or cells NULL (cells may be NULL when count is 0),
 *                    `image` neither CDC_IMAGE_BEFORE nor CDC_IMAGE_AFTER,
 *                    cell_size smaller than version 1's cdc_cell, or the
 *                    range runs past the table's columns
 *                    (cdc_table_column_count);
 *   CDC_ERR_STATE    the change has no such image (an insert or snapshot
 *                    row has no before image, a delete no after image).
 * Like cdc_change_before/after, for one thread at a time.
 */
CDC_EXTERN int cdc_change_cells(const cdc_change *c, int image, size_t first, size_t count, cdc_cell *cells,
                                size_t cell_size, char *err, size_t errlen);
/*
 * A whole image as cells without copying them: *cells points at
 * *ncells cells (cdc_table_column_count of the change's table), cell i
 * for column i, the same cells cdc_change_cells(c, image, 0, *ncells,
 * ...) would write (columns the image lacks have CDC_CELL_ABSENT). The
 * array belongs to the library: read it, do not write or free it. It
 * stays valid, and unchanged, until the callback that was given c
 * returns (like the pointers in the cells, v.b); a later call for the
 * same change and image gives the same cells. The stride is the
 * library's sizeof(cdc_cell): a caller compiled with an older cdc_cell
 * (see the ABI note in cdc/value.h) reads only the fields it knows of
 * each cell, but must step by the library's size, so such a caller uses
 * cdc_change_cells instead. While callbacks read whole images this way,
 * the decoder makes the cells in its pass over the row images (as for
 * cdc_change_cells) and this call only returns where they are; else it
 * makes them on the call into an array of the table's.
 *
 * A malformed row image fails the decoder's feed, with its message,
 * before any callback sees the change, as for cdc_change_cells: this
 * call never gives the cells of a malformed image.
 *
 * Returns CDC_OK, or, with *cells = NULL and *ncells = 0 (when those
 * pointers are not NULL) and a message naming the problem in err
 * (errlen bytes, may be NULL/0):
 *   CDC_ERR_INVALID  c, cells or ncells NULL, or `image` neither
 *                    CDC_IMAGE_BEFORE nor CDC_IMAGE_AFTER;
 *   CDC_ERR_STATE    the change has no such image (an insert or snapshot
 *                    row has no before image, a delete no after image);
 *   CDC_ERR_NOMEM    the first call for a table whose image was not
 *                    made as cells could not allocate the table's array.
 * *cells may be NULL with CDC_OK when *ncells is 0 (a table of no
 * columns). Like cdc_change_cells, for one thread at a time.
 */
CDC_EXTERN int cdc_change_cells_view(const cdc_change *c, int image, const cdc_cell **cells, size_t *ncells,
                                     char *err, size_t errlen);
/* Position: the rows event's (for inner events, the payload's) file and
 * offset, and the row's index within its transaction payload or rows
 * event (0-based). */
CDC_EXTERN const char *cdc_change_file(const cdc_change *c);
CDC_EXTERN uint64_t cdc_change_offset(const cdc_change *c);
CDC_EXTERN uint64_t cdc_change_row(const cdc_change *c);
/* GTID text of the transaction ("" when anonymous). */
CDC_EXTERN const char *cdc_change_gtid(const cdc_change *c);
CDC_EXTERN uint32_t cdc_change_server_id(const cdc_change *c);
/* Commit time in milliseconds since the epoch: the GTID event's
 * immediate commit timestamp when the server wrote one (MySQL 8.0.1+),
 * else the rows event's header timestamp. */
CDC_EXTERN int64_t cdc_change_ts_ms(const cdc_change *c);

/* ---- queries ----------------------------------------------------------- */

CDC_EXTERN const cdc_event *cdc_query_event(const cdc_query *q);
/* Default database (may be empty) and statement text; neither is
 * NUL-terminated. The text is in the client charset (cdc_query_charset). */
CDC_EXTERN cdc_bytes cdc_query_db(const cdc_query *q);
CDC_EXTERN cdc_bytes cdc_query_sql(const cdc_query *q);
/* Client collation id from the Q_CHARSET status variable, 0 if absent. */
CDC_EXTERN unsigned cdc_query_charset(const cdc_query *q);
CDC_EXTERN uint32_t cdc_query_thread_id(const cdc_query *q);
CDC_EXTERN uint16_t cdc_query_error_code(const cdc_query *q);
/* 1 when the statement changes the schema or privileges (it starts with
 * ALTER, CREATE, DROP, RENAME, TRUNCATE, GRANT or REVOKE after any
 * comments), the same test the stream applies before its DDL callback. */
CDC_EXTERN int cdc_query_is_ddl(const cdc_query *q);

#ifdef __cplusplus
}
#endif
#endif /* CDC_BINLOG_H */
