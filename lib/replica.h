/*
 * replica.h: what a client does to become a replica of a MySQL or
 * MariaDB server, as functions over a connected cdc__conn: check the
 * server's binlog settings and our privileges, resolve the "earliest" and
 * "now" start points, set the session variables the dump reads
 * (checksums, heartbeat period, MariaDB capability and GTID state),
 * COM_REGISTER_SLAVE, and COM_BINLOG_DUMP / COM_BINLOG_DUMP_GTID. The
 * packet builders are separate so tests can check their bytes.
 * Internal; not installed.
 */
#ifndef CDC_REPLICA_H
#define CDC_REPLICA_H

#include "conn.h"
#include "position.h"

/* COM_BINLOG_DUMP_GTID flags. */
enum { CDC__DUMP_NON_BLOCK = 0x01, CDC__DUMP_THROUGH_POSITION = 0x02, CDC__DUMP_THROUGH_GTID = 0x04 };

/* What the checks learned about the server. */
typedef struct cdc__server_info {
    bool mariadb;
    unsigned version;            /* major*10000 + minor*100 + patch */
    uint32_t server_id;          /* the server's own @@server_id */
    bool row_metadata_full;      /* binlog_row_metadata=FULL: names in TABLE_MAP */
    char row_image[16];          /* FULL, MINIMAL, NOBLOB (FULL_NODUP on MariaDB) */
    char checksum[16];           /* CRC32 or NONE */
    char account[160];           /* CURRENT_USER() as 'user'@'host' */
} cdc__server_info;

/*
 * Checks that the server can feed a change stream: log_bin=ON,
 * binlog_format=ROW (CDC_ERR_UNSUPPORTED otherwise, naming the value),
 * and that the account holds REPLICATION SLAVE (CDC_ERR_PRIVILEGE:
 * "REPLICATION SLAVE privilege is missing for 'x'@'%'"). Fills info.
 */
int cdc__replica_check(cdc__conn *c, cdc__server_info *info, cdc__err *err);

/*
 * Refuses a server_id equal to the server's own or to one of its
 * registered replicas (SHOW REPLICAS / SHOW SLAVE HOSTS): the server
 * would disconnect one of the two. CDC_ERR_CONFIG naming the other
 * replica. *checked is false when the account may not list replicas.
 */
int cdc__replica_check_server_id(cdc__conn *c, const cdc__server_info *info, uint32_t server_id,
                                 bool *checked, cdc__err *err);

/* The first binlog file the server still has, offset 4 (SHOW BINARY LOGS). */
int cdc__replica_earliest(cdc__conn *c, cdc_position *pos, cdc__err *err);
/* Where the binlog is now, as the server's status statement says it:
 * SHOW BINARY LOG STATUS (MySQL 8.2 and later) or SHOW MASTER STATUS. */
typedef struct cdc__binlog_status {
    const char *sql;   /* the statement used, for messages */
    char *file;        /* NULL when the statement returned no row (binary log off) */
    uint64_t offset;
    char *gtids;       /* MySQL's Executed_Gtid_Set without the line breaks the
                          server puts into long sets; "" when absent (MariaDB) */
} cdc__binlog_status;
/* The one place that asks the server where its binlog ends (the stream's
 * "now", the snapshot's point). On a failed query err holds the server's
 * error, unprefixed (st->sql names the statement). Free with
 * cdc__binlog_status_clear. */
int cdc__replica_binlog_status(cdc__conn *c, const cdc_allocator *a, cdc__binlog_status *st, cdc__err *err);
void cdc__binlog_status_clear(const cdc_allocator *a, cdc__binlog_status *st);

/* The current end of the binlog with the executed GTID set at that point
 * (SHOW BINARY LOG STATUS / SHOW MASTER STATUS + @@gtid_binlog_pos). */
int cdc__replica_now(cdc__conn *c, const cdc__server_info *info, cdc_position *pos, cdc__err *err);

/*
 * Sets the session variables the dump thread reads: checksum
 * acknowledgement, heartbeat period (ms; 0 none), and on MariaDB the
 * slave capability and, when gtid_state is not NULL, @slave_connect_state.
 */
int cdc__replica_prepare(cdc__conn *c, const cdc__server_info *info, uint32_t heartbeat_ms,
                         const char *gtid_state, cdc__err *err);

/* COM_REGISTER_SLAVE payload (without the command byte). */
int cdc__replica_build_register(cdc__buf *out, uint32_t server_id, const char *host, const char *user,
                                const char *password, uint16_t port);
/* COM_BINLOG_DUMP payload: position, flags, server_id, file name. */
int cdc__replica_build_dump(cdc__buf *out, uint32_t server_id, const char *file, uint32_t offset,
                            uint16_t flags);
/* COM_BINLOG_DUMP_GTID payload for a MySQL GTID set; tagged GTIDs use
 * the tagged encoding of the set, others the original one. */
int cdc__replica_build_dump_gtid(cdc__buf *out, uint32_t server_id, const char *file, uint64_t offset,
                                 const cdc__gtid_set *gtids, uint16_t flags);
/* One GTID per domain, as @slave_connect_state wants it ("0-1-5,1-2-9"). */
int cdc__replica_maria_state(const cdc__gtid_set *gtids, cdc__buf *out);

int cdc__replica_register(cdc__conn *c, uint32_t server_id, cdc__err *err);
/*
 * Starts the dump from pos: COM_BINLOG_DUMP from file/offset when pos has
 * a file; else from its GTID set (MySQL COM_BINLOG_DUMP_GTID; MariaDB:
 * prepare() must have set @slave_connect_state). The events follow as
 * packets for cdc__conn_read_packet, read from the socket up to
 * CDC__DUMP_INPUT_BYTES at a time (cdc__conn_grow_input).
 */
#define CDC__DUMP_INPUT_BYTES ((size_t)2 << 20)
int cdc__replica_dump(cdc__conn *c, const cdc__server_info *info, uint32_t server_id,
                      const cdc_position *pos, cdc__err *err);

/* Maps an ERR packet received during the dump: 1236 about purged or
 * missing binlogs is CDC_ERR_PURGED, a replica with the same server_id
 * CDC_ERR_CONFIG; the server's message and errno are kept. */
int cdc__replica_dump_error(const uint8_t *p, size_t n, cdc__err *err);
/*
 * What a packet of the binlog dump is (p, n: the packet, or its first
 * piece when it is read in pieces and more says pieces follow): an event
 * (0x00 and the event) sets *event past the 0x00 and returns CDC_OK; an
 * ERR packet returns cdc__replica_dump_error()'s code, CDC_ERR_CLOSED
 * for a killed dump thread (ER_QUERY_INTERRUPTED); EOF returns
 * CDC_ERR_CLOSED ("the server ended the binlog dump"); anything else
 * CDC_ERR_PROTOCOL naming the packet's type and size.
 */
int cdc__replica_dump_packet(const uint8_t *p, size_t n, bool more, cdc_bytes *event, cdc__err *err);

/* Ends dump thread id on the server with KILL over a short connection of
 * its own (o, timeouts cut to 2 s; a user may KILL its own threads), so
 * that the server does not keep the replica's server_id registered until
 * the thread next writes. A thread gone already is fine; best effort. */
void cdc__replica_end_dump(const cdc__conn_opts *o, const cdc_allocator *a, uint32_t id);

/*
 * Checks a stream's start against the server: a start whose file and
 * offset (start_file_ok) lie past now (the end of the binlog, or NULL
 * when not read) is no position of this server, and a GTID set of the
 * other flavour cannot position it. CDC_ERR_CONFIG saying which.
 */
int cdc__replica_check_start_point(const cdc__server_info *info, const cdc_position *start, bool start_file_ok,
                                   const cdc_position *now, cdc__err *err);

/* Events SHOW BINLOG EVENTS reads, per statement and in all, while
 * looking for the events around a position. */
#define CDC__BOUNDS_PAGE 10000
#define CDC__BOUNDS_EVENTS_MAX 1000000

/*
 * Whether an event of binlog `file` starts at `pos`, from the server's
 * own list (SHOW BINLOG EVENTS, read in pages from the file's start):
 * *boundary is true when one does; else *prev and *next are the starts
 * of the events around pos (0 when there is none: pos before the first
 * or after the last start). CDC_OK once the list was read that far;
 * CDC_ERR_TOO_LARGE after CDC__BOUNDS_EVENTS_MAX events; the server's
 * error (privilege, no such file) otherwise. For the message a start
 * position inside an event gets (the dump itself fails with a CRC
 * mismatch or "bogus data").
 */
int cdc__replica_event_bounds(cdc__conn *c, const char *file, uint64_t pos, bool *boundary, uint64_t *prev,
                              uint64_t *next, cdc__err *err);

/*
 * For a dump from file:pos that failed with *dump_err before delivering
 * anything: when no event starts at pos, replaces *dump_err with
 * CDC_ERR_CONFIG "start: position F:N is not the start of an event (the
 * events around it start at A and B); reading there: <dump_err>".
 * Returns CDC_OK (dump_err replaced or, when pos is a boundary, kept) or
 * the error that kept it from knowing, in *err.
 */
int cdc__replica_explain_start(cdc__conn *c, const char *file, uint64_t pos, cdc__err *dump_err, cdc__err *err);

/*
 * Before a dump from file:pos (pos > 4): SHOW BINLOG EVENTS FROM pos
 * LIMIT 1, which reads the event there without waiting for more of the
 * file. When the server cannot read an event there (error 1220) and no
 * event starts at pos, CDC_ERR_CONFIG as cdc__replica_explain_start says
 * it (or, when the file's list is too long to read, "the server reads no
 * event at F:N"). Otherwise CDC_OK, also when the account may not run the statement
 * (the dump then tells). A dump from inside an event of the file being
 * written could otherwise wait, silently, for bytes that complete the
 * nonsense event it read.
 */
int cdc__replica_check_start(cdc__conn *c, const char *file, uint64_t pos, cdc__err *err);

/* Appends s as a single-quoted SQL string literal. */
int cdc__sql_quote(cdc__buf *out, const char *s, size_t n);

#endif /* CDC_REPLICA_H */
