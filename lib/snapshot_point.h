/*
 * snapshot_point.h: the binlog point a snapshot is consistent with
 * (snapshot_point.c). Opens a consistent-read transaction on every
 * worker session at one binlog point (MariaDB: binlog_snapshot_file and
 * _position, with a short read lock when lock-free tries disagree;
 * MySQL: FLUSH TABLES WITH READ LOCK, or LOCK TABLES ... READ without
 * RELOAD), then holds the captured tables' metadata locks in every
 * session so DDL waits for the snapshot, and checks no definition
 * changed while the point was being fixed. docs/snapshot.md explains
 * the paths and the privileges each needs. Internal; not installed.
 */
#ifndef CDC_SNAPSHOT_POINT_H
#define CDC_SNAPSHOT_POINT_H

#include "snapprog.h"
#include "snapshot_table.h"

/* What fixing the point works with. */
typedef struct cdc__snap_fixer {
    const cdc_allocator *a;
    cdc__conn *coord;             /* the coordinator: schema, locks, server status */
    cdc__conn *const *sessions;   /* the workers' sessions (UTC, REPEATABLE READ) */
    size_t nsessions;
    bool mariadb;                 /* the server is MariaDB */
    bool maria_lock;              /* MariaDB, several sessions: take the read lock at once */
    bool no_data;                 /* point and schema only: no table locks */
    bool defer_gtid;              /* MariaDB: leave p->gtid_set NULL for the caller's
                                     cdc__snap_gtid_send/_read (on coord) */
    unsigned lock_timeout_s;      /* lock_wait_timeout for the point's read lock (0: 10) */
    const cdc__snap_filter *filter;
    const cdc__snapprog *resume;  /* its done tables are neither locked nor checked; may be NULL */
    void (*test_after_point)(void *ud); /* tests: right after the point, before the locks */
    void *test_ud;
    void (*log)(int level, int code, const char *msg, void *ud);
    void *log_ud;
} cdc__snap_fixer;

/*
 * Reads the captured tables' descriptions (*tables, *ntables; free with
 * cdc__snap_tables_free) and leaves every session in a consistent-read
 * transaction at the binlog point *p (free with cdc__snap_point_free),
 * the captured tables locked against DDL (with f->defer_gtid on MariaDB,
 * p->gtid_set is NULL: see cdc__snap_gtid_send). DDL that lands between
 * reading the schema and locking the tables makes it start again, at most
 * CDC__SNAP_SCHEMA_ATTEMPTS times. Errors: CDC_ERR_PRIVILEGE naming what
 * is missing when no path is allowed, CDC_ERR_SCHEMA naming the table
 * and, when the binlog shows it, the statement, CDC_ERR_UNSUPPORTED
 * without a binary log, server and connection errors; *tables and *p
 * are then empty.
 */
int cdc__snap_fix_point(const cdc__snap_fixer *f, cdc__snap_table **tables, size_t *ntables, cdc__snap_point *p,
                        cdc__err *err);

/*
 * MariaDB: the point's GTID position, BINLOG_GTID_POS(file, offset), in
 * two halves so the server's reading of the binlog up to the offset can
 * run while rows are read (docs/snapshot.md, "The GTID position"). send
 * writes the query on c (test_delay_s > 0, tests only: the server sleeps
 * that long first); read waits for its reply and sets p->gtid_set ("" and
 * a warning when the server has no GTID position for a file it still
 * has). Nothing else may use c in between. Errors: connection errors
 * and server errors naming the query; CDC_ERR_PURGED when the result is
 * NULL because the file was purged meanwhile (p->gtid_set stays NULL:
 * never a made-up position).
 */
int cdc__snap_gtid_send(cdc__conn *c, const cdc_allocator *a, const cdc__snap_point *p, unsigned test_delay_s,
                        cdc__err *err);
int cdc__snap_gtid_read(cdc__conn *c, const cdc_allocator *a, cdc__snap_point *p,
                        void (*log)(int level, int code, const char *msg, void *ud), void *log_ud, cdc__err *err);

/* Times the point is taken again when a captured table's definition
 * changed while it was being fixed. */
#define CDC__SNAP_SCHEMA_ATTEMPTS 3

#endif /* CDC_SNAPSHOT_POINT_H */
