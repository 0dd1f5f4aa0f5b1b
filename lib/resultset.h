/*
 * resultset.h: the server's replies to a command, without I/O: OK, ERR
 * and EOF packets, and text result sets (column count, column
 * definitions, rows, end marker) with or without CLIENT_DEPRECATE_EOF,
 * including several result sets in a row (multi-statements, CALL).
 * Internal; not installed.
 */
#ifndef CDC_RESULTSET_H
#define CDC_RESULTSET_H

#include "handshake.h"

typedef struct cdc__ok {
    uint64_t affected_rows;
    uint64_t last_insert_id;
    uint16_t status;
    uint16_t warnings;
    cdc_bytes info; /* human-readable text, may be empty; borrows the packet */
} cdc__ok;

/* OK packet (header 0x00, or 0xfe ending a result set under
 * DEPRECATE_EOF). CDC_ERR_PROTOCOL if malformed. */
int cdc__ok_parse(const uint8_t *p, size_t n, uint32_t caps, cdc__ok *ok, cdc__err *err);

/* True for a (pre-DEPRECATE_EOF) EOF packet: 0xfe and fewer than 9 bytes. */
static inline bool cdc__is_eof(const uint8_t *p, size_t n) { return n > 0 && n < 9 && p[0] == 0xfe; }
/* True for the packet that ends rows: EOF, or with DEPRECATE_EOF an OK
 * packet with header 0xfe. A row starts with 0xfe only for an 8-byte
 * lenenc length, i.e. a value of 16 MiB or more, whose packet is full
 * (0xffffff bytes). */
static inline bool cdc__is_rows_end(const uint8_t *p, size_t n, uint32_t caps)
{
    return n > 0 && p[0] == 0xfe && (n < 9 || ((caps & CDC_CAP_DEPRECATE_EOF) && n < 0xffffff));
}

/*
 * Turns an ERR packet (0xff ...) into err: keeps the server's errno and
 * SQLSTATE and maps well-known errors to library codes (1045 -> AUTH,
 * privilege errors -> PRIVILEGE, killed/shutdown -> CLOSED, 1236 ->
 * SERVER, ...). The message is "<server text> (server error N SQLSTATE)".
 * Returns the mapped code; CDC_ERR_PROTOCOL if the packet is malformed.
 */
int cdc__err_packet(const uint8_t *p, size_t n, cdc__err *err);
/* The library code a server error number maps to. */
int cdc__server_errno_map(unsigned server_errno);

/* One column definition (Protocol::ColumnDefinition41); views borrow. */
typedef struct cdc__coldef {
    cdc_bytes catalog, schema, table, org_table, name, org_name;
    uint16_t charset;
    uint32_t length;
    uint8_t type;
    uint16_t flags;
    uint8_t decimals;
} cdc__coldef;

int cdc__coldef_parse(const uint8_t *p, size_t n, cdc__coldef *c, cdc__err *err);

/* A text-protocol row of ncols values into vals: a NULL value has
 * ptr == NULL, an empty string a non-NULL ptr and len 0. CDC_ERR_PROTOCOL
 * when the row has more or fewer values than columns or is truncated. */
int cdc__row_parse(const uint8_t *p, size_t n, size_t ncols, cdc_bytes *vals, cdc__err *err);

/* ---- the binary protocol (prepared statements) ---------------------- */

/* The COM_STMT_PREPARE OK packet: 0x00, statement id (4), columns (2),
 * parameters (2), a filler byte, warnings (2). */
typedef struct cdc__stmt_info {
    uint32_t id;
    unsigned ncols, nparams, warnings;
} cdc__stmt_info;
/* CDC_ERR_PROTOCOL when p is not such a packet. */
int cdc__stmt_prepare_ok_parse(const uint8_t *p, size_t n, cdc__stmt_info *st, cdc__err *err);

/* How a value of a result column of wire type t is laid out in a binary
 * row: a length-encoded string (DECIMAL, strings, BIT, ENUM, JSON...),
 * fixed 1, 2, 4 or 8 little-endian bytes, or a length byte followed by
 * that many bytes (DATE/DATETIME/TIMESTAMP: 0, 4, 7 or 11; TIME: 0, 8
 * or 12). */
enum { CDC__BIN_LENENC = 0, CDC__BIN_1, CDC__BIN_2, CDC__BIN_4, CDC__BIN_8, CDC__BIN_DATETIME, CDC__BIN_TIME };
int cdc__bin_class(uint8_t wire_type);

/*
 * Splits a binary-protocol row (0x00, the NULL bitmap of ncols + 2 bits,
 * the non-NULL values) of columns of classes cls[0..ncols) into vals: a
 * NULL value has ptr == NULL; a fixed-width value views its bytes, a
 * string its content, a temporal value the bytes after its length byte
 * (len 0 for the zero value). CDC_ERR_PROTOCOL names the column and byte
 * when the row is truncated, longer than its values, has a bad header or
 * a temporal length the protocol does not have.
 */
int cdc__binrow_split(const uint8_t *p, size_t n, size_t ncols, const uint8_t *cls, cdc_bytes *vals, cdc__err *err);

/* What feeding one packet to the result reader produced. */
typedef enum cdc__rs_event {
    CDC_RS_NEED_MORE = 0, /* consumed; feed the next packet */
    CDC_RS_COLUMNS,       /* column definitions complete: rs->cols[0..ncols) */
    CDC_RS_ROW,           /* rs->vals[0..ncols) valid until the next feed */
    CDC_RS_END,           /* a result (OK or end of rows) ended: rs->ok, rs->more */
} cdc__rs_event;

/*
 * Reader of the reply to COM_QUERY. Feed every packet; after CDC_RS_END
 * with rs->more set, keep feeding (the next result follows); without it
 * the reply is complete. An ERR packet gives its mapped error code (the
 * reply is then complete). Column definitions are copied, so rs->cols
 * stay valid until the next result set starts; row values borrow the
 * packet fed last.
 */
typedef struct cdc__rs {
    uint32_t caps;
    int state;
    size_t ncols, seen;
    cdc__coldef *cols;
    cdc_bytes *vals;
    size_t cap;        /* entries allocated in cols/vals */
    cdc__buf colbuf;    /* the column definition packets, back to back */
    size_t *coloff;    /* start of each in colbuf */
    cdc__ok ok;
    bool more;
    uint64_t rows;     /* rows seen in the current result set */
    bool raw_rows;     /* rows are not split into vals (the handler takes the packet) */
    const cdc_allocator *alloc;
} cdc__rs;

void cdc__rs_init(cdc__rs *rs, const cdc_allocator *a, uint32_t caps);
void cdc__rs_free(cdc__rs *rs);
/* Returns a cdc__rs_event (>= 0) or a negative error. */
int cdc__rs_feed(cdc__rs *rs, const uint8_t *p, size_t n, cdc__err *err);

/* Upper bound on columns in one result set; MySQL allows 4096 per table,
 * a SELECT can list more, but not 65536. */
#define CDC__RS_MAX_COLUMNS 65535

/* ---- stored results -------------------------------------------------
 * The first result set with columns of a reply, kept whole: what
 * cdc__conn_query_result returns. The on_* functions are the query
 * handler callbacks that fill it (ud is the cdc__result). */
typedef struct cdc__result cdc__result;
int cdc__result_new(cdc__result **out, const cdc_allocator *a);
int cdc__result_on_columns(const cdc__coldef *cols, size_t n, void *ud);
int cdc__result_on_row(const cdc_bytes *vals, size_t n, void *ud);
int cdc__result_on_end(const cdc__ok *ok, bool more, void *ud);
size_t cdc__result_rows(const cdc__result *r);
size_t cdc__result_cols(const cdc__result *r);
const char *cdc__result_name(const cdc__result *r, size_t col);
/* Column index by name (case-insensitive), or -1. */
int cdc__result_col(const cdc__result *r, const char *name);
/* Value as a NUL-terminated string, or NULL for SQL NULL (and out of range). */
const char *cdc__result_get(const cdc__result *r, size_t row, size_t col);
size_t cdc__result_len(const cdc__result *r, size_t row, size_t col);
void cdc__result_free(cdc__result *r);

#endif /* CDC_RESULTSET_H */
