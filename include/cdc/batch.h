/*
 * libcdc: change data capture from MySQL and MariaDB binary logs.
 *
 * batch.h: changes many at a time, as JSON lines or binary records, for
 * bindings.
 *
 * A host written in C takes changes one callback at a time. A host in
 * Python or Go pays for every crossing of the language boundary, so a
 * callback per row would cost more than decoding it. A cdc_batch installs
 * its own callbacks on a stream (or a decoder), renders what they deliver
 * into one buffer of JSON lines (docs/output.md, "Batches"), or of typed
 * binary records (cdc_batch_set_format), and pauses the stream when a
 * batch is ready: one call hands over many changes.
 *
 *     cdc_batch *b;
 *     cdc_batch_new(&b, 0, NULL);
 *     cdc_batch_attach_stream(b, stream);
 *     const char *data; size_t len;
 *     while ((rc = cdc_batch_next(b, &data, &len)) == CDC_OK && len > 0)
 *         ...parse len bytes of '\n'-terminated lines...
 *     // rc: CDC_OK (stop.at reached), CDC_ERR_STOPPED, or an error:
 *     //     cdc_batch_errmsg(b)
 *
 * Where a batch of a stream ends:
 *  - at a transaction boundary (a commit, DDL, checkpoint or
 *    snapshot-done line) once the batch holds anything, so a change never
 *    waits for the next transaction to be handed over;
 *  - among snapshot rows, once the lines reach `limit` bytes: the
 *    snapshot pauses after that row and the next call goes on with the
 *    next one (nothing is read twice), so a snapshot of any size takes
 *    about `limit` bytes here;
 *  - inside a transaction whose lines reach `limit` bytes, at the end
 *    of the rows event that got them there, so memory stays bounded (a
 *    batch overshoots `limit` by at most one rows event's lines, a few
 *    KiB at the servers' default binlog_row_event_max_size). A pause
 *    inside a rows event would make the stream re-read the transaction
 *    from its start (stream.h), once per batch; at event ends it keeps
 *    its place, so a transaction of any size is read once.
 *  - at the end of the stream.
 * Within one transaction every change is handed over in order; the
 * commit line follows the transaction's last change. A host that applies
 * changes at commit lines and saves the commit's checkpoint is exact
 * across restarts.
 *
 * Threads: a batch belongs to the thread that calls cdc_batch_next() (or
 * feed/finish). cdc_stream_stop() on the attached stream may be called
 * from any thread; the cdc_batch_next() running then returns the complete
 * transactions it holds (if any), the next call CDC_ERR_STOPPED, and a
 * call after that restarts the stream where it stopped.
 */
#ifndef CDC_BATCH_H
#define CDC_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <cdc/binlog.h>
#include <cdc/common.h>
#include <cdc/stream.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdc_batch cdc_batch;

/* The batch size used when cdc_batch_new() is given 0: 1 MiB. */
#define CDC_BATCH_DEFAULT_LIMIT ((size_t)1 << 20)

/*
 * Makes an empty batch. limit: the size in bytes at which a batch ends
 * (0 for CDC_BATCH_DEFAULT_LIMIT). A batch may exceed it by the lines of
 * one rows event, which a decoder always delivers whole.
 * alloc may be NULL. Returns CDC_OK, CDC_ERR_INVALID (out is NULL) or
 * CDC_ERR_NOMEM.
 */
CDC_EXTERN int cdc_batch_new(cdc_batch **out, size_t limit, const cdc_allocator *alloc);
/* Frees the batch; NULL is fine. Free it after the stream or decoder it
 * is attached to, or detach it by freeing that first: the callbacks it
 * installed point at it. */
CDC_EXTERN void cdc_batch_free(cdc_batch *b);

/*
 * With on != 0, every change line (of streams and decoders) ends with a
 * "types" member naming the type of each value whose JSON form does not
 * say it: {"types":{"before":{"col":"decimal",...},"after":{...}}}, tags
 * "float" (FLOAT/DOUBLE, whose 0 reads as an integer), "decimal", "date",
 * "time", "datetime", "timestamp" (UTC), "bytes" (base64 in the line),
 * "json" (a document: a JSON null there is the document null, not SQL
 * NULL, which has no tag). Other values (integers, text, SQL NULL...) are
 * untagged. Bindings use it to build their languages' native values
 * (docs/bindings.md). Off by default. Returns CDC_OK or CDC_ERR_INVALID.
 */
CDC_EXTERN int cdc_batch_set_types(cdc_batch *b, int on);

/*
 * The form of a batch's records:
 *  - CDC_BATCH_JSON (the default): JSON lines, each ending in '\n'
 *    (docs/output.md, "Batches");
 *  - CDC_BATCH_BINARY: length-prefixed typed records for bindings, with
 *    no text to parse: integers as 64-bit, DECIMAL as its exact text,
 *    dates and times as fields, TIME as signed microseconds, binary as
 *    raw bytes, text as UTF-8, and each table's names in a record of
 *    their own that comes once, before the first row that needs it
 *    (docs/output.md, "Binary batches", gives the layout). A reader must
 *    read the records of one batch object in order, across calls: a
 *    table record stays valid for later batches until a table record
 *    with the same slot replaces it.
 * Set it before the first call that fills the batch (CDC_ERR_STATE
 * otherwise, and with a Debezium renderer set: Debezium records are JSON
 * only). Returns CDC_OK, CDC_ERR_INVALID or CDC_ERR_STATE.
 */
enum { CDC_BATCH_JSON = 0, CDC_BATCH_BINARY = 1 };
CDC_EXTERN int cdc_batch_set_format(cdc_batch *b, int format);

/* ---- streams ----------------------------------------------------------- */

/*
 * Installs the batch's change, commit, DDL, checkpoint, snapshot-row and
 * snapshot-done callbacks on s (replacing those the host set; begin, log
 * and progress callbacks are left alone and must not pause). The stream
 * must not be running. One batch serves one stream or decoder; attaching
 * again moves it. Returns CDC_OK or CDC_ERR_INVALID.
 */
CDC_EXTERN int cdc_batch_attach_stream(cdc_batch *b, cdc_stream *s);

/*
 * Runs the attached stream (cdc_stream_start()) until a batch is ready
 * and points *data at its lines: *len bytes of complete JSON lines, each
 * ending in '\n' (not NUL-terminated), or of whole binary records. The
 * bytes are owned by the batch and valid until the next call on it.
 *
 * Returns:
 *   CDC_OK, *len > 0   a batch; call again for more;
 *   CDC_OK, *len == 0  the stream reached stop.at (or snapshot.mode=
 *                      initial_only finished); every line was handed over;
 *   CDC_ERR_STOPPED    cdc_stream_stop() was called. Lines of complete
 *                      transactions came in the batches before; lines of
 *                      a transaction the stop cut are kept back, so a next
 *                      call (which restarts the stream where it stopped)
 *                      goes on without a gap;
 *   CDC_ERR_STATE      no stream is attached;
 *   another error      the stream failed (cdc_batch_errmsg()); only
 *                      cdc_stream_free() remains.
 * Lines of complete transactions gathered before an error are handed
 * over first, with CDC_OK; the error comes with the next call.
 */
CDC_EXTERN int cdc_batch_next(cdc_batch *b, const char **data, size_t *len);

/* ---- binlog files (a decoder) -------------------------------------------- */

/*
 * Installs the batch's change callback on d (replacing the host's). A
 * decoder batch holds change lines only, exactly the lines of
 * `cdc dump FILE`. Returns CDC_OK or CDC_ERR_INVALID.
 */
CDC_EXTERN int cdc_batch_attach_decoder(cdc_batch *b, cdc_decoder *d);

/*
 * Feeds n bytes to the attached decoder (cdc_decoder_feed()) until they
 * are used up or the lines reach the limit, and points *data and *len at the
 * lines this call produced (possibly none). Returns the number of bytes
 * consumed: feed the rest in the next call. A call may consume all n
 * bytes and still hold events back (TRANSACTION_PAYLOAD): they come with
 * the next call, which may pass n = 0, or with cdc_batch_finish().
 * On error returns the decoder's (negative) error with *data and *len still
 * holding the lines decoded before it; cdc_batch_errmsg() says where.
 * CDC_ERR_STATE when no decoder is attached.
 */
CDC_EXTERN ptrdiff_t cdc_batch_feed(cdc_batch *b, const uint8_t *p, size_t n, const char **data,
                                    size_t *len);

/*
 * Ends the input (cdc_decoder_finish()): hands over every line still held
 * back, whatever the limit, and returns CDC_OK, CDC_ERR_TRUNCATED (the
 * input ended inside an event) or the decoder's sticky error.
 */
CDC_EXTERN int cdc_batch_finish(cdc_batch *b, const char **data, size_t *len);

/* ---- Debezium records ------------------------------------------------------ */

/*
 * With a Debezium renderer (cdc/debezium.h) set, the batch carries the
 * records a Debezium connector would produce, one line each,
 * {"topic":"<topic>","key":<key JSON>|null,"value":<value JSON>|null}
 * (the first key is "topic"), in binlog order:
 *   - each row change's records (a delete's tombstone too, a skipped
 *     operation none) in place of its change line;
 *   - a transaction's BEGIN record before its changes and its END record
 *     before its commit line (provide.transaction.metadata=true);
 *   - a DDL statement's schema-change record before its DDL line
 *     (include.schema.changes; tableChanges as cdc_debezium_set_source()
 *     of the renderer allows);
 *   - snapshot rows with source.snapshot as Debezium marks them (first,
 *     first_in_data_collection, last_in_data_collection, last; the
 *     renderer holds each row back until the next one, so the last comes
 *     before the snapshot-done line), incremental snapshot rows marked
 *     "incremental".
 * Commit, DDL, position and snapshot-done lines stay as they are, so
 * checkpoints work the same. Attached to a decoder, the batch takes the
 * decoder's begin, commit and query callbacks while a renderer is set
 * (for the transaction and schema-change records; tableChanges is empty
 * without a source), and gives them back (NULL) when the renderer is
 * unset. Heartbeat records are not made here. The renderer stays the
 * caller's (free it after the batch, or set NULL first); NULL restores
 * the canonical lines. Setting a renderer forgets a snapshot row it
 * held. Returns CDC_OK, CDC_ERR_INVALID (b is NULL) or CDC_ERR_STATE
 * (the batch is binary, cdc_batch_set_format).
 */
typedef struct cdc_debezium cdc_debezium;
CDC_EXTERN int cdc_batch_set_debezium(cdc_batch *b, cdc_debezium *dz);

/* ---- both ---------------------------------------------------------------- */

/* What went wrong last: the batch's own message (a value it could not
 * render), else the attached stream's or decoder's; "" when nothing did.
 * Valid until the next call on the batch. */
CDC_EXTERN const char *cdc_batch_errmsg(const cdc_batch *b);

/*
 * One change as a JSON object without a newline (the line of `cdc dump`,
 * docs/output.md), NUL-terminated, into buf (cap bytes), for hosts that
 * take changes through callbacks. *need (if not NULL) receives the size
 * including the NUL, so a call with cap 0 asks for it. Returns CDC_OK,
 * CDC_ERR_TOO_LARGE (cap too small; buf holds nothing useful),
 * CDC_ERR_NOMEM, or CDC_ERR_CORRUPT for a value that cannot be rendered.
 * Thread-safe for distinct changes.
 */
CDC_EXTERN int cdc_change_render_json(const cdc_change *c, char *buf, size_t cap, size_t *need);

#ifdef __cplusplus
}
#endif
#endif /* CDC_BATCH_H */
