/*
 * The target of cdc-migrate behind one interface. run.c and verify.c
 * build their statements from the pieces a target gives (quoted names,
 * value literals, the upsert clause, the state and dead-letter rows) and
 * send them through its connection; each target (pg.c, and others beside
 * it) fills one target_ops. Adding a target means one table of these
 * functions and a line in target_for().
 */
#ifndef CDC_MIGRATE_TARGET_H
#define CDC_MIGRATE_TARGET_H

#include "migrate.h"

typedef struct target_ops target_ops;

/* One connection to the target. Each target's own connection struct
 * starts with this. */
typedef struct target {
    const target_ops *ops;
    char *state_tbl;  /* the quoted state table, e.g. "cdc_migrate"."state" */
    char *dl_tbl;     /* the quoted dead-letter table */
} target;

/* One row of a query's result: values as text, NULL for SQL NULL, with
 * their lengths. Returns 0 to go on, non-zero to stop with that value. */
typedef int (*target_row_cb)(char **vals, unsigned long *lens, size_t n, void *ud);

/* What the state row says (`status`, `cutover`). */
typedef struct tstate {
    char phase[32];
    char ck[8192];
    long long txns, rows, dead, last_ms, age_s;
    char control[16];
} tstate;

struct target_ops {
    const char *kind; /* "postgresql", "mysql" */

    /* Connection. connect sets the session so values read and write
     * exactly (UTC, plain string literals); NULL with a message. */
    target *(*connect)(const mopts *o, char *err, size_t errlen);
    void (*close)(target *t); /* accepts NULL */
    /* Runs sql (several statements allowed). The rows the last statement
     * changed (0 for other statements), or -1 with the message. */
    long (*exec)(target *t, const char *sql, char *err, size_t errlen);
    /* First column of the first row as a new string ("" when NULL or no
     * row; *found says which); NULL on error. */
    char *(*value1)(target *t, const char *sql, char *err, size_t errlen, int *found);
    /* Runs one query, calling row for every row. 0, the callback's
     * non-zero value, or -1 with the message. */
    int (*select)(target *t, const char *sql, target_row_cb row, void *ud, char *err,
                  size_t errlen);
    /* 1 when the last failure was the target's (connection gone, shutting
     * down, deadlock: retry), 0 when it was the data's. */
    int (*lost)(target *t);

    /* Schema. prepare fills each table's tq, ins_head and ins_tail (no
     * connection needed); setup creates the state, dead-letter and marker
     * tables and the migrated tables with their primary keys (IF NOT
     * EXISTS: existing tables are used); indexes adds the secondary
     * indexes after the copy. */
    void (*prepare)(const mopts *o, mschema *s);
    int (*setup)(target *t, const mopts *o, mschema *s, char *err, size_t errlen);
    int (*indexes)(target *t, const mopts *o, mschema *s, char *err, size_t errlen);

    /* Copy. copy_begin opens the (tagged) transaction the copy ends by
     * committing with the state row, and empties the migrated tables;
     * copy_row appends one snapshot row to the table's copybuf (the
     * caller sends it with copy_flush once it is large). */
    int (*copy_begin)(target *t, mschema *s, const char *qname, char *err, size_t errlen);
    int (*copy_row)(const mopts *o, mtable *mt, const cdc_change *c, mbuf *scratch, char *err,
                    size_t errlen);
    int (*copy_flush)(target *t, mtable *mt, char *err, size_t errlen);
    /* The copy workers' path (copyw.h): n bytes of mt's rows, as copy_row
     * writes them, into mt on this connection. NULL: the target has no
     * copy workers. */
    int (*copy_put)(target *t, const mtable *mt, const char *data, size_t n, char *err,
                    size_t errlen);

    /* Statement pieces. ident returns a quoted name (caller frees);
     * literal appends a column value as an SQL literal or NULL (V_NULL
     * when it was NULL, V_ERR with a message); quote appends a string
     * literal. */
    char *(*ident)(const char *name);
    vres (*literal)(const mopts *o, const mcol *c, const cdc_value *v, mbuf *out, mbuf *scratch,
                    char *err, size_t errlen);
    void (*quote)(mbuf *out, const char *p, size_t n);
    /* Opens a transaction and, where the target can be read back by
     * libcdc (MySQL/MariaDB), tags it as cdc-migrate's first thing: the
     * marker row the library's transaction.marker.table filter drops. */
    void (*begin)(target *t, mbuf *q, const char *qname);
    /* The state row upsert: phase and checkpoint, snapshot point kept
     * when snap is NULL, counters added, last_ms when non-zero. */
    void (*state)(target *t, mbuf *q, const char *qname, const char *phase, const char *ck,
                  const char *snap, long txns, long rows, int64_t last_ms);
    /* One dead letter and the state row's count. */
    void (*dead_letter)(target *t, mbuf *q, const char *qname, const char *table, char op,
                        const char *pos, const char *gtid, const char *error, mbuf *row);

    /* Verify and status. verify_expr: the target's text for column c
     * named qc, in the form verify.c's canonical values expect.
     * read_state fills st (-1 with a message, naming a missing
     * migration). tables prints "table NAME: ~N rows" lines. */
    const char *(*verify_expr)(const mcol *c, const char *qc, char *buf, size_t cap);
    /* verify's fast path: the query digesting t's rows matching where on
     * the target, as my_hash_sql does on the source (migrate.h); -1 when
     * t has a column without such a text. */
    int (*hash_sql)(const mtable *t, const char *where, mbuf *q);
    int (*read_state)(target *t, const char *name, tstate *st, char *err, size_t errlen);
    void (*tables)(target *t, const mopts *o);
    /* DDL (ddl.c), MySQL/MariaDB targets only (NULL elsewhere): appends
     * "`name` TYPE [CHARACTER SET .. COLLATE ..] NULL|NOT NULL", the
     * column as the copy's CREATE TABLE makes it; -1 with a message. */
    int (*column_def)(target *t, const mtable *mt, const mcol *c, mbuf *q, char *err,
                      size_t errlen);
};

/* The target --target names: a mysql:// or mariadb:// URL is a MySQL or
 * MariaDB server, anything else a libpq connection string. NULL with a
 * message when that target is not built in. */
const target_ops *target_for(const char *dsn, char *err, size_t errlen);

/* What every dialect's prepare shares: t->tq (schema qs and the quoted
 * table name) and t->ins_head ("INSERT INTO tq (cols) VALUES ("); b is
 * left empty for the dialect's upsert tail. */
void target_statement_head(mtable *t, const char *qs, char *(*ident)(const char *name), mbuf *b);

/* Connects to the target the options name. */
target *target_connect(const mopts *o, char *err, size_t errlen);
void target_close(target *t);

#endif
