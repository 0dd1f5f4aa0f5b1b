/* resultset.c: OK/ERR/EOF packets and text result sets (see resultset.h). */
#include "resultset.h"

#include <stdio.h>

int cdc__ok_parse(const uint8_t *p, size_t n, uint32_t caps, cdc__ok *ok, cdc__err *err)
{
    (void)caps;
    memset(ok, 0, sizeof *ok);
    cdc__reader r = cdc__rd(p, n);
    uint8_t h = cdc__rd_u8(&r);
    if (r.bad || (h != 0x00 && h != 0xfe)) return cdc__err_set(err, CDC_ERR_PROTOCOL, "expected an OK packet");
    if (h == 0xfe && n < 9) {
        /* Pre-DEPRECATE_EOF EOF: warnings, status. */
        if (n >= 5) {
            ok->warnings = cdc__rd_u16(&r);
            ok->status = cdc__rd_u16(&r);
        }
        return CDC_OK;
    }
    ok->affected_rows = cdc__rd_lenenc(&r, NULL);
    ok->last_insert_id = cdc__rd_lenenc(&r, NULL);
    ok->status = cdc__rd_u16(&r);
    ok->warnings = cdc__rd_u16(&r);
    if (r.bad) return cdc__err_set(err, CDC_ERR_PROTOCOL, "OK packet truncated (%zu bytes)", n);
    /* The info text is lenenc only under SESSION_TRACK, which libcdc does
     * not ask for; otherwise it is the rest of the packet. */
    ok->info = cdc__rd_rest(&r);
    return CDC_OK;
}

int cdc__server_errno_map(unsigned e)
{
    switch (e) {
    case 1045: /* ER_ACCESS_DENIED_ERROR */
    case 1130: /* ER_HOST_NOT_PRIVILEGED */
    case 1698: /* ER_ACCESS_DENIED_NO_PASSWORD_ERROR */
    case 1862: /* ER_MUST_CHANGE_PASSWORD_LOGIN */
    case 3159: /* ER_SECURE_TRANSPORT_REQUIRED */
    case 3118: /* ER_ACCOUNT_HAS_BEEN_LOCKED */
        return CDC_ERR_AUTH;
    case 1251: /* ER_NOT_SUPPORTED_AUTH_MODE */
    case 1524: /* ER_PLUGIN_IS_NOT_LOADED */
        return CDC_ERR_AUTH_PLUGIN;
    case 1044: /* ER_DBACCESS_DENIED_ERROR */
    case 1142: /* ER_TABLEACCESS_DENIED_ERROR */
    case 1143: /* ER_COLUMNACCESS_DENIED_ERROR */
    case 1227: /* ER_SPECIFIC_ACCESS_DENIED_ERROR */
    case 1370: /* ER_PROCACCESS_DENIED_ERROR */
        return CDC_ERR_PRIVILEGE;
    case 1040: /* ER_CON_COUNT_ERROR */
    case 1129: /* ER_HOST_IS_BLOCKED */
        return CDC_ERR_CONNECT;
    case 1053: /* ER_SERVER_SHUTDOWN */
    case 1927: /* MariaDB ER_CONNECTION_KILLED */
    case 3169: /* MySQL ER_SESSION_WAS_KILLED */
    case 4031: /* MySQL ER_CLIENT_INTERACTION_TIMEOUT */
        return CDC_ERR_CLOSED;
    case 1153: /* ER_NET_PACKET_TOO_LARGE */
    case 1301: /* ER_WARN_ALLOWED_PACKET_OVERFLOWED */
        return CDC_ERR_TOO_LARGE;
    default:
        return CDC_ERR_SERVER;
    }
}

int cdc__err_packet(const uint8_t *p, size_t n, cdc__err *err)
{
    cdc__reader r = cdc__rd(p, n);
    uint8_t h = cdc__rd_u8(&r);
    unsigned code = cdc__rd_u16(&r);
    if (r.bad || h != 0xff) return cdc__err_set(err, CDC_ERR_PROTOCOL, "malformed error packet (%zu bytes)", n);
    char state[6] = "";
    /* A '#' and five characters of SQLSTATE follow under PROTOCOL_41;
     * errors sent before the handshake completes may lack them. */
    if (cdc__rd_left(&r) >= 6 && cdc__rd_ptr(&r)[0] == '#') {
        memcpy(state, cdc__rd_ptr(&r) + 1, 5);
        state[5] = 0;
        cdc__rd_skip(&r, 6);
    }
    cdc_bytes msg = cdc__rd_rest(&r);
    int mapped = cdc__server_errno_map(code);
    if (state[0])
        cdc__err_set(err, mapped, "%.*s (server error %u %s)", (int)msg.len, (const char *)msg.ptr, code, state);
    else
        cdc__err_set(err, mapped, "%.*s (server error %u)", (int)msg.len, (const char *)msg.ptr, code);
    if (err) {
        err->server_errno = code;
        memcpy(err->sqlstate, state, sizeof state);
    }
    return mapped;
}

int cdc__coldef_parse(const uint8_t *p, size_t n, cdc__coldef *c, cdc__err *err)
{
    cdc__reader r = cdc__rd(p, n);
    c->catalog = cdc__rd_lenenc_bytes(&r, NULL);
    c->schema = cdc__rd_lenenc_bytes(&r, NULL);
    c->table = cdc__rd_lenenc_bytes(&r, NULL);
    c->org_table = cdc__rd_lenenc_bytes(&r, NULL);
    c->name = cdc__rd_lenenc_bytes(&r, NULL);
    c->org_name = cdc__rd_lenenc_bytes(&r, NULL);
    uint64_t fixed = cdc__rd_lenenc(&r, NULL);
    const uint8_t *f = cdc__rd_take(&r, 10);
    if (r.bad || fixed < 10)
        return cdc__err_set(err, CDC_ERR_PROTOCOL, "column definition truncated or malformed at byte %zu of %zu", r.off,
                            n);
    c->charset = cdc__le16(f);
    c->length = cdc__le32(f + 2);
    c->type = f[6];
    c->flags = cdc__le16(f + 7);
    c->decimals = f[9];
    return CDC_OK;
}

int cdc__row_parse(const uint8_t *p, size_t n, size_t ncols, cdc_bytes *vals, cdc__err *err)
{
    cdc__reader r = cdc__rd(p, n);
    for (size_t i = 0; i < ncols; i++) {
        bool null = false;
        vals[i] = cdc__rd_lenenc_bytes(&r, &null);
        if (r.bad)
            return cdc__err_set(err, CDC_ERR_PROTOCOL, "row truncated in column %zu of %zu (byte %zu of %zu)", i + 1,
                                ncols, r.off, n);
    }
    if (cdc__rd_left(&r))
        return cdc__err_set(err, CDC_ERR_PROTOCOL, "row has %zu bytes after its %zu columns", cdc__rd_left(&r), ncols);
    return CDC_OK;
}

int cdc__stmt_prepare_ok_parse(const uint8_t *p, size_t n, cdc__stmt_info *st, cdc__err *err)
{
    memset(st, 0, sizeof *st);
    /* MySQL may add a metadata-follows byte; MariaDB sends 12 bytes */
    if (n < 12 || p[0] != 0x00)
        return cdc__err_set(err, CDC_ERR_PROTOCOL, "malformed COM_STMT_PREPARE reply (%zu bytes, first 0x%02x)", n,
                            n ? p[0] : 0);
    st->id = cdc__le32(p + 1);
    st->ncols = cdc__le16(p + 5);
    st->nparams = cdc__le16(p + 7);
    st->warnings = cdc__le16(p + 10);
    return CDC_OK;
}

int cdc__bin_class(uint8_t t)
{
    switch (t) {
    case 1: return CDC__BIN_1;                               /* TINY */
    case 2: case 13: return CDC__BIN_2;                      /* SHORT, YEAR */
    case 3: case 4: case 9: return CDC__BIN_4;               /* LONG, FLOAT, INT24 */
    case 5: case 8: return CDC__BIN_8;                       /* DOUBLE, LONGLONG */
    case 7: case 10: case 12: case 14: return CDC__BIN_DATETIME; /* TIMESTAMP, DATE, DATETIME, NEWDATE */
    case 11: return CDC__BIN_TIME;
    default: return CDC__BIN_LENENC;
    }
}

int cdc__binrow_split(const uint8_t *p, size_t n, size_t ncols, const uint8_t *cls, cdc_bytes *vals, cdc__err *err)
{
    size_t nb = (ncols + 7 + 2) / 8;
    if (n < 1 + nb || p[0] != 0x00)
        return cdc__err_set(err, CDC_ERR_PROTOCOL, "binary row of %zu bytes: %s", n,
                            n && p[0] != 0x00 ? "does not start with 0x00" : "shorter than its NULL bitmap");
    const uint8_t *nulls = p + 1;
    cdc__reader r = cdc__rd(p + 1 + nb, n - 1 - nb);
    for (size_t i = 0; i < ncols; i++) {
        if (nulls[(i + 2) / 8] & (1u << ((i + 2) % 8))) {
            vals[i] = (cdc_bytes){NULL, 0};
            continue;
        }
        size_t at = r.off, len;
        static const uint8_t width[] = {0, 1, 2, 4, 8};
        switch (cls[i]) {
        case CDC__BIN_LENENC: {
            bool null = false;
            vals[i] = cdc__rd_lenenc_bytes(&r, &null);
            if (null && !r.bad)
                return cdc__err_set(err, CDC_ERR_PROTOCOL, "binary row: column %zu of %zu is 0xfb (a text-protocol "
                                                           "NULL) but not NULL in the bitmap", i + 1, ncols);
            break;
        }
        case CDC__BIN_1: case CDC__BIN_2: case CDC__BIN_4: case CDC__BIN_8:
            len = width[cls[i]];
            vals[i] = (cdc_bytes){cdc__rd_take(&r, len), len};
            break;
        case CDC__BIN_DATETIME: case CDC__BIN_TIME:
            len = cdc__rd_u8(&r);
            if (!r.bad && !(cls[i] == CDC__BIN_TIME ? len == 0 || len == 8 || len == 12
                                                      : len == 0 || len == 4 || len == 7 || len == 11))
                return cdc__err_set(err, CDC_ERR_PROTOCOL, "binary row: column %zu of %zu: a %s value of %zu bytes",
                                    i + 1, ncols, cls[i] == CDC__BIN_TIME ? "TIME" : "date/time", len);
            vals[i] = (cdc_bytes){p + 1 + nb + r.off, len};
            if (!cdc__rd_skip(&r, len)) vals[i].ptr = NULL;
            break;
        default:
            return cdc__err_set(err, CDC_ERR_STATE, "binary row: column %zu has no layout", i + 1);
        }
        if (r.bad)
            return cdc__err_set(err, CDC_ERR_PROTOCOL, "binary row truncated in column %zu of %zu (byte %zu of %zu)",
                                i + 1, ncols, 1 + nb + at, n);
    }
    if (cdc__rd_left(&r))
        return cdc__err_set(err, CDC_ERR_PROTOCOL, "binary row has %zu bytes after its %zu columns", cdc__rd_left(&r),
                            ncols);
    return CDC_OK;
}

enum { RS_START, RS_COLDEFS, RS_COLS_EOF, RS_ROWS };

void cdc__rs_init(cdc__rs *rs, const cdc_allocator *a, uint32_t caps)
{
    memset(rs, 0, sizeof *rs);
    rs->alloc = cdc__allocator(a);
    rs->caps = caps;
    cdc__buf_init(&rs->colbuf, a);
}

void cdc__rs_free(cdc__rs *rs)
{
    cdc__free(rs->alloc, rs->cols);
    cdc__free(rs->alloc, rs->vals);
    cdc__free(rs->alloc, rs->coloff);
    cdc__buf_free(&rs->colbuf);
    memset(rs, 0, sizeof *rs);
}

static int rs_columns_ready(cdc__rs *rs, cdc__err *err)
{
    /* colbuf stopped moving: point the definitions at their copies. */
    for (size_t i = 0; i < rs->ncols; i++) {
        size_t end = i + 1 < rs->ncols ? rs->coloff[i + 1] : rs->colbuf.len;
        int rc = cdc__coldef_parse(rs->colbuf.data + rs->coloff[i], end - rs->coloff[i], &rs->cols[i], err);
        if (rc) return rc;
    }
    return CDC_RS_COLUMNS;
}

int cdc__rs_feed(cdc__rs *rs, const uint8_t *p, size_t n, cdc__err *err)
{
    if (n == 0) return cdc__err_set(err, CDC_ERR_PROTOCOL, "empty packet in a query reply");
    switch (rs->state) {
    case RS_START: {
        rs->more = false;
        rs->rows = 0;
        if (p[0] == 0xff) return cdc__err_packet(p, n, err);
        if (p[0] == 0x00) {
            int rc = cdc__ok_parse(p, n, rs->caps, &rs->ok, err);
            if (rc) return rc;
            rs->more = (rs->ok.status & CDC_STATUS_MORE_RESULTS) != 0;
            return CDC_RS_END;
        }
        if (p[0] == 0xfb)
            return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "server asks for a LOCAL INFILE, which libcdc does not send");
        cdc__reader r = cdc__rd(p, n);
        uint64_t cols = cdc__rd_lenenc(&r, NULL);
        if (r.bad || cdc__rd_left(&r) || cols == 0)
            return cdc__err_set(err, CDC_ERR_PROTOCOL, "malformed column count packet (%zu bytes, first 0x%02x)", n, p[0]);
        if (cols > CDC__RS_MAX_COLUMNS)
            return cdc__err_set(err, CDC_ERR_TOO_LARGE, "result set claims %llu columns", (unsigned long long)cols);
        if (cols > rs->cap) {
            cdc__free(rs->alloc, rs->cols);
            cdc__free(rs->alloc, rs->vals);
            cdc__free(rs->alloc, rs->coloff);
            rs->cols = cdc__calloc(rs->alloc, cols, sizeof *rs->cols);
            rs->vals = cdc__calloc(rs->alloc, cols, sizeof *rs->vals);
            rs->coloff = cdc__calloc(rs->alloc, cols, sizeof *rs->coloff);
            rs->cap = (rs->cols && rs->vals && rs->coloff) ? (size_t)cols : 0;
            if (!rs->cap) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory for %llu columns", (unsigned long long)cols);
        }
        rs->ncols = (size_t)cols;
        rs->seen = 0;
        cdc__buf_reset(&rs->colbuf);
        rs->state = RS_COLDEFS;
        return CDC_RS_NEED_MORE;
    }
    case RS_COLDEFS: {
        if (p[0] == 0xff) { rs->state = RS_START; return cdc__err_packet(p, n, err); }
        if (cdc__is_eof(p, n))
            return cdc__err_set(err, CDC_ERR_PROTOCOL, "column definitions end after %zu of %zu columns", rs->seen,
                                rs->ncols);
        cdc__coldef tmp;
        int rc = cdc__coldef_parse(p, n, &tmp, err);
        if (rc) return rc;
        rs->coloff[rs->seen++] = rs->colbuf.len;
        if ((rc = cdc__buf_append(&rs->colbuf, p, n))) return cdc__err_set(err, rc, "out of memory");
        if (rs->seen < rs->ncols) return CDC_RS_NEED_MORE;
        if (rs->caps & CDC_CAP_DEPRECATE_EOF) {
            rs->state = RS_ROWS;
        } else {
            rs->state = RS_COLS_EOF;
            return CDC_RS_NEED_MORE;
        }
        return rs_columns_ready(rs, err);
    }
    case RS_COLS_EOF:
        if (!cdc__is_eof(p, n))
            return cdc__err_set(err, CDC_ERR_PROTOCOL, "expected EOF after %zu column definitions, got 0x%02x (%zu bytes)",
                                rs->ncols, p[0], n);
        rs->state = RS_ROWS;
        return rs_columns_ready(rs, err);
    case RS_ROWS: {
        if (p[0] == 0xff) { rs->state = RS_START; return cdc__err_packet(p, n, err); }
        if (cdc__is_rows_end(p, n, rs->caps)) {
            int rc = cdc__ok_parse(p, n, rs->caps, &rs->ok, err);
            if (rc) return rc;
            rs->state = RS_START;
            rs->more = (rs->ok.status & CDC_STATUS_MORE_RESULTS) != 0;
            return CDC_RS_END;
        }
        int rc = rs->raw_rows ? CDC_OK : cdc__row_parse(p, n, rs->ncols, rs->vals, err);
        if (rc) return rc;
        rs->rows++;
        return CDC_RS_ROW;
    }
    default:
        return cdc__err_set(err, CDC_ERR_STATE, "result reader in a bad state");
    }
}

/* ---- stored results ------------------------------------------------ */

struct cdc__result {
    const cdc_allocator *alloc;
    size_t ncols, nrows;
    bool have_set;
    cdc__buf data;         /* names then values, each NUL-terminated */
    size_t *name_off;
    struct cell { size_t off, len; bool null; } *cells;
    size_t cell_cap;
};

int cdc__result_on_columns(const cdc__coldef *cols, size_t n, void *ud)
{
    cdc__result *r = ud;
    if (r->have_set) return 0;
    r->name_off = cdc__calloc(r->alloc, n, sizeof *r->name_off);
    if (!r->name_off) return CDC_ERR_NOMEM;
    r->ncols = n;
    for (size_t i = 0; i < n; i++) {
        r->name_off[i] = r->data.len;
        if (cdc__buf_append(&r->data, cols[i].name.ptr, cols[i].name.len) || cdc__buf_putc(&r->data, 0))
            return CDC_ERR_NOMEM;
    }
    return 0;
}

int cdc__result_on_row(const cdc_bytes *vals, size_t n, void *ud)
{
    cdc__result *r = ud;
    if (r->have_set) return 0;
    if ((r->nrows + 1) * n > r->cell_cap) {
        size_t cap = r->cell_cap ? r->cell_cap * 2 : 64 * n;
        while (cap < (r->nrows + 1) * n) cap *= 2;
        struct cell *nc = cdc__realloc(r->alloc, r->cells, cap * sizeof *nc);
        if (!nc) return CDC_ERR_NOMEM;
        r->cells = nc;
        r->cell_cap = cap;
    }
    struct cell *row = r->cells + r->nrows * n;
    for (size_t i = 0; i < n; i++) {
        row[i] = (struct cell){r->data.len, vals[i].len, vals[i].ptr == NULL};
        if (cdc__buf_append(&r->data, vals[i].ptr, vals[i].len) || cdc__buf_putc(&r->data, 0)) return CDC_ERR_NOMEM;
    }
    r->nrows++;
    return 0;
}

int cdc__result_on_end(const cdc__ok *ok, bool more, void *ud)
{
    (void)ok;
    (void)more;
    cdc__result *r = ud;
    if (r->ncols) r->have_set = true;
    return 0;
}

int cdc__result_new(cdc__result **out, const cdc_allocator *a)
{
    cdc__result *r = cdc__calloc(a, 1, sizeof *r);
    *out = r;
    if (!r) return CDC_ERR_NOMEM;
    r->alloc = cdc__allocator(a);
    cdc__buf_init(&r->data, r->alloc);
    return CDC_OK;
}

size_t cdc__result_rows(const cdc__result *r) { return r->nrows; }
size_t cdc__result_cols(const cdc__result *r) { return r->ncols; }

const char *cdc__result_name(const cdc__result *r, size_t col)
{
    return col < r->ncols ? (const char *)r->data.data + r->name_off[col] : NULL;
}

int cdc__result_col(const cdc__result *r, const char *name)
{
    for (size_t i = 0; i < r->ncols; i++)
        if (!strcasecmp(cdc__result_name(r, i), name)) return (int)i;
    return -1;
}

const char *cdc__result_get(const cdc__result *r, size_t row, size_t col)
{
    if (row >= r->nrows || col >= r->ncols) return NULL;
    const struct cell *x = &r->cells[row * r->ncols + col];
    return x->null ? NULL : (const char *)r->data.data + x->off;
}

size_t cdc__result_len(const cdc__result *r, size_t row, size_t col)
{
    if (row >= r->nrows || col >= r->ncols) return 0;
    return r->cells[row * r->ncols + col].len;
}

void cdc__result_free(cdc__result *r)
{
    if (!r) return;
    cdc__buf_free(&r->data);
    cdc__free(r->alloc, r->name_off);
    cdc__free(r->alloc, r->cells);
    cdc__free(r->alloc, r);
}

