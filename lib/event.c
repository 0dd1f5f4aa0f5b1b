/*
 * event.c: common header, format description, checksums and the small
 * event bodies. See event.h and docs/binlog-format.md.
 */
#include "event.h"

#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "crc32.h"

static const char *const type_names[] = {
    [0] = "UNKNOWN", [1] = "START_V3", [2] = "QUERY", [3] = "STOP", [4] = "ROTATE",
    [5] = "INTVAR", [6] = "LOAD", [7] = "SLAVE", [8] = "CREATE_FILE",
    [9] = "APPEND_BLOCK", [10] = "EXEC_LOAD", [11] = "DELETE_FILE", [12] = "NEW_LOAD",
    [13] = "RAND", [14] = "USER_VAR", [15] = "FORMAT_DESCRIPTION", [16] = "XID",
    [17] = "BEGIN_LOAD_QUERY", [18] = "EXECUTE_LOAD_QUERY", [19] = "TABLE_MAP",
    [20] = "PRE_GA_WRITE_ROWS", [21] = "PRE_GA_UPDATE_ROWS", [22] = "PRE_GA_DELETE_ROWS",
    [23] = "WRITE_ROWS_V1", [24] = "UPDATE_ROWS_V1", [25] = "DELETE_ROWS_V1",
    [26] = "INCIDENT", [27] = "HEARTBEAT", [28] = "IGNORABLE", [29] = "ROWS_QUERY",
    [30] = "WRITE_ROWS", [31] = "UPDATE_ROWS", [32] = "DELETE_ROWS", [33] = "GTID",
    [34] = "ANONYMOUS_GTID", [35] = "PREVIOUS_GTIDS", [36] = "TRANSACTION_CONTEXT",
    [37] = "VIEW_CHANGE", [38] = "XA_PREPARE", [39] = "PARTIAL_UPDATE_ROWS",
    [40] = "TRANSACTION_PAYLOAD", [41] = "HEARTBEAT_V2", [42] = "GTID_TAGGED",
    [100] = "AURORA_PADDING",
    [160] = "ANNOTATE_ROWS", [161] = "BINLOG_CHECKPOINT", [162] = "MARIA_GTID",
    [163] = "GTID_LIST", [164] = "START_ENCRYPTION", [165] = "QUERY_COMPRESSED",
    [166] = "WRITE_ROWS_COMPRESSED_V1", [167] = "UPDATE_ROWS_COMPRESSED_V1",
    [168] = "DELETE_ROWS_COMPRESSED_V1", [169] = "WRITE_ROWS_COMPRESSED",
    [170] = "UPDATE_ROWS_COMPRESSED", [171] = "DELETE_ROWS_COMPRESSED",
};

const char *cdc__event_type_name(int type)
{
    if (type < 0 || (size_t)type >= sizeof type_names / sizeof type_names[0]) return NULL;
    return type_names[type];
}

void cdc__event_header(const uint8_t *p, cdc__evhdr *h)
{
    h->timestamp = cdc__le32(p);
    h->type = p[4];
    h->server_id = cdc__le32(p + 5);
    h->size = cdc__le32(p + 9);
    h->log_pos = cdc__le32(p + 13);
    h->flags = cdc__le16(p + 17);
}

/* Post-header lengths of the event types a v3 (4.x) server writes, which
 * had no FDE to announce them. */
static const uint8_t v3_post_header[] = {
    [1 - 1] = 56, [2 - 1] = 11, [3 - 1] = 0, [4 - 1] = 8, [5 - 1] = 0, [6 - 1] = 18,
    [7 - 1] = 0, [8 - 1] = 4, [9 - 1] = 4, [10 - 1] = 4, [11 - 1] = 4, [12 - 1] = 18,
    [13 - 1] = 0, [14 - 1] = 0,
};

void cdc__fde_init_v3(cdc__fde *f, uint16_t binlog_version)
{
    memset(f, 0, sizeof *f);
    f->binlog_version = binlog_version;
    f->header_len = CDC__EV_HEADER_LEN;
    memcpy(f->post_header, v3_post_header, sizeof v3_post_header);
    f->n_post_header = sizeof v3_post_header;
    f->checksum_alg = CDC__CHECKSUM_OFF;
}

/* A v4 stream before its FDE: only the FDE and ROTATE can come first, and
 * both have frozen post-headers. */
void cdc__fde_init_v4(cdc__fde *f)
{
    memset(f, 0, sizeof *f);
    f->binlog_version = 4;
    f->header_len = CDC__EV_HEADER_LEN;
    f->post_header[4 - 1] = 8;
    f->n_post_header = 4;
    f->checksum_alg = CDC__CHECKSUM_UNDEF;
}

/* 5.6.1 (MySQL) and 5.3 (MariaDB) introduced the checksum byte in the FDE. */
static bool version_has_checksum(const char *v, bool *mariadb)
{
    unsigned a = 0, b = 0, c = 0;
    *mariadb = strstr(v, "MariaDB") != NULL || strstr(v, "mariadb") != NULL;
    if (sscanf(v, "%u.%u.%u", &a, &b, &c) < 2) return false;
    unsigned n = a * 10000 + b * 100 + c;
    return *mariadb ? n >= 50300 : n >= 50601;
}

int cdc__fde_parse(cdc__fde *f, const uint8_t *ev, size_t len, cdc__err *err)
{
    /* header(19) version(2) server_version(50) created(4) header_len(1) */
    if (len < CDC__EV_HEADER_LEN + 57)
        return cdc__err_set(err, CDC_ERR_CORRUPT,
                            "FORMAT_DESCRIPTION: %zu bytes, need at least 76", len);
    cdc__fde n;
    memset(&n, 0, sizeof n);
    const uint8_t *b = ev + CDC__EV_HEADER_LEN;
    n.binlog_version = cdc__le16(b);
    memcpy(n.server_version, b + 2, 50);
    n.server_version[50] = 0;
    n.header_len = b[56];
    if (n.binlog_version != 4)
        return cdc__err_set(err, CDC_ERR_UNSUPPORTED,
                            "FORMAT_DESCRIPTION: binlog version %u (only 4 has this event)",
                            n.binlog_version);
    if (n.header_len < CDC__EV_HEADER_LEN)
        return cdc__err_set(err, CDC_ERR_CORRUPT,
                            "FORMAT_DESCRIPTION: common header length %u < 19", n.header_len);
    size_t rest = len - CDC__EV_HEADER_LEN - 57;
    if (version_has_checksum(n.server_version, &n.mariadb)) {
        if (rest < 5)
            return cdc__err_set(err, CDC_ERR_CORRUPT,
                                "FORMAT_DESCRIPTION: no room for the checksum algorithm");
        n.checksum_alg = ev[len - 5];
        rest -= 5;
        if (n.checksum_alg != CDC__CHECKSUM_OFF && n.checksum_alg != CDC__CHECKSUM_CRC32 &&
            n.checksum_alg != CDC__CHECKSUM_UNDEF)
            return cdc__err_set(err, CDC_ERR_UNSUPPORTED,
                                "FORMAT_DESCRIPTION: unknown checksum algorithm %u",
                                n.checksum_alg);
        if (n.checksum_alg == CDC__CHECKSUM_UNDEF) n.checksum_alg = CDC__CHECKSUM_OFF;
    } else {
        n.checksum_alg = CDC__CHECKSUM_OFF;
    }
    if (rest > sizeof n.post_header) rest = sizeof n.post_header;
    memcpy(n.post_header, b + 57, rest);
    n.n_post_header = (uint16_t)rest;
    *f = n;
    return CDC_OK;
}

bool cdc__event_crc_ok(const uint8_t *ev, size_t len)
{
    if (len < CDC__EV_HEADER_LEN + CDC__EV_CRC_LEN) return false;
    uint32_t crc;
    if (ev[4] == 15 && (ev[17] & CDC__LOG_EVENT_BINLOG_IN_USE_F)) {
        uint8_t fl = (uint8_t)(ev[17] & ~CDC__LOG_EVENT_BINLOG_IN_USE_F);
        crc = cdc__crc32(0, ev, 17);
        crc = cdc__crc32(crc, &fl, 1);
        crc = cdc__crc32(crc, ev + 18, len - 18 - CDC__EV_CRC_LEN);
    } else {
        crc = cdc__crc32(0, ev, len - CDC__EV_CRC_LEN);
    }
    return crc == cdc__le32(ev + len - CDC__EV_CRC_LEN);
}

/* Sizes of the fixed-size status variables (0 = variable or unknown). */
static int status_var_skip(cdc__reader *r, uint8_t code)
{
    switch (code) {
    case 0: return cdc__rd_skip(r, 4);          /* Q_FLAGS2 */
    case 1: return cdc__rd_skip(r, 8);          /* Q_SQL_MODE */
    case 2: { uint8_t n = cdc__rd_u8(r); return cdc__rd_skip(r, (size_t)n + 1); } /* Q_CATALOG */
    case 3: return cdc__rd_skip(r, 4);          /* Q_AUTO_INCREMENT */
    case 5: case 6: { uint8_t n = cdc__rd_u8(r); return cdc__rd_skip(r, n); }
    case 7: case 8: return cdc__rd_skip(r, 2);
    case 9: return cdc__rd_skip(r, 8);
    case 10: return cdc__rd_skip(r, 4);
    case 11: {                                  /* Q_INVOKER: user, host */
        uint8_t n = cdc__rd_u8(r);
        cdc__rd_skip(r, n);
        n = cdc__rd_u8(r);
        return cdc__rd_skip(r, n);
    }
    case 12: {                                  /* Q_UPDATED_DB_NAMES */
        uint8_t n = cdc__rd_u8(r);
        if (n == 254) return 1;
        for (unsigned i = 0; i < n && !r->bad; i++) cdc__rd_cstr(r);
        return !r->bad;
    }
    case 13: return cdc__rd_skip(r, 3);
    case 14: case 17: return cdc__rd_skip(r, 8);
    case 16: case 19: case 20: return cdc__rd_skip(r, 1);
    case 18: return cdc__rd_skip(r, 2);
    case 128: return cdc__rd_skip(r, 3);        /* MariaDB Q_HRNOW */
    case 129: return cdc__rd_skip(r, 8);        /* MariaDB Q_XID */
    case 130: return cdc__rd_skip(r, 1);        /* MariaDB Q_GTID_FLAGS3 */
    default: return -1;
    }
}

int cdc__query_parse(const cdc__fde *f, int type, const uint8_t *body, size_t len,
                     cdc__query_ev *q, cdc__err *err)
{
    memset(q, 0, sizeof *q);
    uint8_t ph = cdc__fde_post_header(f, type == 165 ? 165 : 2);
    if (ph == 0) ph = cdc__fde_post_header(f, 2);
    if (ph < 11) ph = 11;
    cdc__reader r = cdc__rd(body, len);
    q->thread_id = cdc__rd_u32(&r);
    q->exec_time = cdc__rd_u32(&r);
    uint8_t db_len = cdc__rd_u8(&r);
    q->error_code = cdc__rd_u16(&r);
    uint16_t status_len = ph >= 13 ? cdc__rd_u16(&r) : 0;
    cdc__rd_skip(&r, ph - (ph >= 13 ? 13 : 11));
    const uint8_t *st = cdc__rd_take(&r, status_len);
    q->db.ptr = cdc__rd_take(&r, db_len);
    q->db.len = db_len;
    cdc__rd_skip(&r, 1); /* the NUL after the db name */
    if (r.bad)
        return cdc__err_set(err, CDC_ERR_CORRUPT,
                            "QUERY: header fields run past the end of the %zu-byte body", len);
    q->sql = cdc__rd_rest(&r);
    q->status = (cdc_bytes){st, status_len};
    /* Status variables: we want the charsets; stop quietly at a code we
     * do not know, since the total length already told us where the
     * statement starts. */
    cdc__reader s = cdc__rd(st, status_len);
    while (cdc__rd_left(&s) > 0 && !s.bad) {
        uint8_t code = cdc__rd_u8(&s);
        if (code == 4) {
            q->charset_client = cdc__rd_u16(&s);
            cdc__rd_skip(&s, 4);
        } else if (code == 8) {
            q->collation_db = cdc__rd_u16(&s);
        } else if (status_var_skip(&s, code) <= 0) {
            break;
        }
    }
    if (s.bad) q->charset_client = q->collation_db = 0;
    return CDC_OK;
}

int cdc__rotate_parse(const cdc__fde *f, const uint8_t *body, size_t len, uint64_t *pos,
                      cdc_bytes *name, cdc__err *err)
{
    uint8_t ph = f->binlog_version >= 2 ? 8 : 0;
    if (len < ph)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "ROTATE: %zu-byte body, need %u", len, ph);
    *pos = ph ? cdc__le64(body) : 4;
    name->ptr = body + ph;
    name->len = len - ph;
    /* some writers put a NUL at the end */
    while (name->len && name->ptr[name->len - 1] == 0) name->len--;
    return CDC_OK;
}

int cdc__maria_uncompress(const uint8_t *p, size_t len, size_t limit, cdc__buf *out,
                          cdc__err *err)
{
    if (len < 1 || (p[0] & 0x80) == 0)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "compressed data: bad header byte");
    unsigned alg = (p[0] >> 4) & 7, lenlen = p[0] & 7;
    if (alg != 0)
        return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "compressed data: algorithm %u (only zlib)",
                            alg);
    if (lenlen < 1 || lenlen > 4 || len < 1 + (size_t)lenlen)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "compressed data: bad length size %u", lenlen);
    size_t want = (size_t)cdc__beN(p + 1, lenlen);
    if (want > limit)
        return cdc__err_set(err, CDC_ERR_TOO_LARGE,
                            "compressed data: %zu bytes uncompressed, limit %zu", want, limit);
    cdc__buf_reset(out);
    if (cdc__buf_reserve(out, want + 1) != CDC_OK)
        return cdc__err_set(err, CDC_ERR_NOMEM, "compressed data: out of memory");
    uLongf got = (uLongf)want;
    int zr = uncompress(out->data, &got, p + 1 + lenlen, (uLong)(len - 1 - lenlen));
    if (zr != Z_OK || got != want)
        return cdc__err_set(err, CDC_ERR_CORRUPT,
                            "compressed data: zlib error %d (got %lu of %zu bytes)", zr,
                            (unsigned long)got, want);
    out->len = want;
    return CDC_OK;
}
