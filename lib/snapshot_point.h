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
 * the captured tables locked against DDL. DDL that lands between reading
 * the schema and locking the tables makes it start again, at most
 * CDC__SNAP_SCHEMA_ATTEMPTS times. Errors: CDC_ERR_PRIVILEGE naming what
 * is missing when no path is allowed, CDC_ERR_SCHEMA naming the table
 * and, when the binlog shows it, the statement, CDC_ERR_UNSUPPORTED
 * without a binary log, server and connection errors; *tables and *p
 * are then empty.
 */
int cdc__snap_fix_point(const cdc__snap_fixer *f, cdc__snap_table **tables, size_t *ntables, cdc__snap_point *p,
                        cdc__err *err);

/* Times the point is taken again when a captured table's definition
 * changed while it was being fixed. */
#define CDC__SNAP_SCHEMA_ATTEMPTS 3

#endif /* CDC_SNAPSHOT_POINT_H */
