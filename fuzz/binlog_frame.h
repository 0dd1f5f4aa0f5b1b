/*
 * binlog_frame.h: writes binlog events with correct headers, sizes,
 * log_pos and CRC32 around given bodies, and the FORMAT_DESCRIPTION of a
 * MySQL 8.0 or MariaDB 10.5 server, for the structure-aware fuzz targets
 * (fuzz_binlog, fuzz_client). Static functions: include it once.
 */
#ifndef CDC_FUZZ_BINLOG_FRAME_H
#define CDC_FUZZ_BINLOG_FRAME_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <zlib.h>

#include "util.h"

enum { HDR = 19, TYPE_FDE = 15, TYPE_ROTATE = 4, TYPE_PAYLOAD = 40, MAX_DEPTH = 2 };

/* Post-header lengths by event type, as the two servers write them in
 * their FORMAT_DESCRIPTION (copied from real binlog files). */
static const uint8_t mysql_ph[] = {
    0x00, 0x0d, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x04, 0x00, 0x00, 0x00,
    0x62, 0x00, 0x04, 0x1a, 0x08, 0x00, 0x00, 0x00, 0x08, 0x08, 0x08, 0x02, 0x00, 0x00,
    0x00, 0x0a, 0x0a, 0x0a, 0x2a, 0x2a, 0x00, 0x12, 0x34, 0x00, 0x0a, 0x28, 0x00,
};
static const uint8_t maria_ph[171] = {
    0x38, 0x0d, 0x00, 0x08, 0x00, 0x12, 0x00, 0x04, 0x04, 0x04, 0x04, 0x12, 0x00, 0x00,
    0xe4, 0x00, 0x04, 0x1a, 0x08, 0x00, 0x00, 0x00, 0x08, 0x08, 0x08, 0x02, 0x00, 0x00,
    0x00, 0x0a, 0x0a, 0x0a, [160] = 0x04, 0x13, 0x04, 0x00, 0x0d, 0x08, 0x08, 0x08,
    0x0a, 0x0a, 0x0a,
};

typedef struct writer {
    cdc__buf out;
    bool crc;
    bool failed;
    uint32_t pos_base; /* log_pos of the first byte of out */
} writer;

static void put(writer *w, const void *p, size_t n)
{
    if (n && cdc__buf_append(&w->out, p, n)) w->failed = true;
}

/* Appends one event: header, body, CRC32 when crc. */
static void event(writer *w, uint8_t type, const uint8_t *body, size_t n, bool crc)
{
    size_t start = w->out.len;
    size_t total = HDR + n + (crc ? 4 : 0);
    uint8_t h[HDR] = {0};
    cdc__put_le32(h, 1700000000u);
    h[4] = type;
    cdc__put_le32(h + 5, 1);
    cdc__put_le32(h + 9, (uint32_t)total);
    cdc__put_le32(h + 13, (uint32_t)(w->pos_base + start + total));
    put(w, h, HDR);
    put(w, body, n);
    if (crc && !w->failed) {
        uint8_t c[4];
        cdc__put_le32(c, (uint32_t)crc32(0L, w->out.data + start, (uInt)(HDR + n)));
        put(w, c, 4);
    }
}

static void fde(writer *w, bool maria, bool crc)
{
    uint8_t b[2 + 50 + 4 + 1 + sizeof maria_ph + 1 + 4] = {0};
    cdc__put_le16(b, 4);
    const char *v = maria ? "10.5.15-MariaDB-log" : "8.0.31";
    memcpy(b + 2, v, strlen(v));
    cdc__put_le32(b + 52, 1700000000u);
    b[56] = HDR;
    const uint8_t *ph = maria ? maria_ph : mysql_ph;
    size_t nph = maria ? sizeof maria_ph : sizeof mysql_ph;
    memcpy(b + 57, ph, nph);
    /* The algorithm byte; with OFF the 4 checksum bytes are still there. */
    b[57 + nph] = crc ? 1 : 0;
    event(w, TYPE_FDE, b, 57 + nph + 1 + (crc ? 0 : 4), crc);
}

#endif
