/*
 * event.h: one binlog event's framing: the common header, the format
 * description (header lengths, checksum algorithm), CRC32 checks, and the
 * bodies of the small events (QUERY, ROTATE, XID, INTVAR, ...). Knows
 * nothing of tables or rows. Internal; not installed.
 */
#ifndef CDC_EVENT_H
#define CDC_EVENT_H

#include "util.h"

#define CDC__EV_HEADER_LEN 19   /* v3/v4 common header; Google 5.1 builds add up to 12 */
#define CDC__EV_CRC_LEN 4
#define CDC__LOG_EVENT_BINLOG_IN_USE_F 0x1

enum { CDC__CHECKSUM_OFF = 0, CDC__CHECKSUM_CRC32 = 1, CDC__CHECKSUM_UNDEF = 255 };

/* What FORMAT_DESCRIPTION (or START_EVENT_V3 of an old file) told us. */
typedef struct cdc__fde {
    uint16_t binlog_version;   /* 4, or 3/2 for START_EVENT_V3 files */
    char server_version[51];
    uint8_t header_len;        /* common header length, >= 19 */
    uint8_t post_header[256];  /* post-header length by type code - 1 */
    uint16_t n_post_header;
    uint8_t checksum_alg;      /* CDC__CHECKSUM_* */
    bool mariadb;
} cdc__fde;

typedef struct cdc__evhdr {
    uint32_t timestamp;
    uint8_t type;
    uint32_t server_id;
    uint32_t size;
    uint32_t log_pos;
    uint16_t flags;
} cdc__evhdr;

/* Parses the 19 fixed header bytes at p (caller guarantees 19 bytes). */
void cdc__event_header(const uint8_t *p, cdc__evhdr *h);
/* "WRITE_ROWS"..., NULL for codes not in the table. */
const char *cdc__event_type_name(int type);
/* Defaults for a v4 stream before its FDE arrives, and for v3 files. */
void cdc__fde_init_v4(cdc__fde *f);
void cdc__fde_init_v3(cdc__fde *f, uint16_t binlog_version);
/* Parses a FORMAT_DESCRIPTION event (whole event, header included). */
int cdc__fde_parse(cdc__fde *f, const uint8_t *ev, size_t len, cdc__err *err);
/* Post-header length for a type; 0 when the FDE does not list it. */
static inline uint8_t cdc__fde_post_header(const cdc__fde *f, int type)
{
    return (type >= 1 && type <= f->n_post_header) ? f->post_header[type - 1] : 0;
}
/* CRC32 of the event, last 4 bytes excluded, compared with those bytes.
 * For FORMAT_DESCRIPTION the in-use flag is taken as clear, as the server
 * computed it before setting the flag. */
bool cdc__event_crc_ok(const uint8_t *ev, size_t len);

/* QUERY / QUERY_COMPRESSED body, with the status variables we use. */
typedef struct cdc__query_ev {
    uint32_t thread_id;
    uint32_t exec_time;
    uint16_t error_code;
    uint16_t charset_client;   /* Q_CHARSET_CODE: client collation id, 0 if absent */
    uint16_t collation_db;     /* Q_CHARSET_DATABASE_CODE */
    cdc_bytes db;
    cdc_bytes sql;
    cdc_bytes status;          /* raw status variables */
} cdc__query_ev;
int cdc__query_parse(const cdc__fde *f, int type, const uint8_t *body, size_t len,
                     cdc__query_ev *q, cdc__err *err);

/* ROTATE: next file name and position. */
int cdc__rotate_parse(const cdc__fde *f, const uint8_t *body, size_t len,
                      uint64_t *pos, cdc_bytes *name, cdc__err *err);

/* MariaDB compressed payload: 1 header byte (0x80 | alg << 4 | lenlen),
 * lenlen bytes of big-endian uncompressed length, then zlib data.
 * Inflates into out (reset first); `limit` caps the uncompressed size. */
int cdc__maria_uncompress(const uint8_t *p, size_t len, size_t limit, cdc__buf *out,
                          cdc__err *err);

#endif /* CDC_EVENT_H */
