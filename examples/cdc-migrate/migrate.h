/*
 * cdc-migrate: copy a live MySQL/MariaDB database into PostgreSQL, then
 * apply its change stream (docs/migrate.md). Built on the public libcdc
 * API only; the source's schema and the verify/status/cutover queries go
 * through MariaDB Connector/C, the target through libpq.
 */
#ifndef CDC_MIGRATE_H
#define CDC_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include <cdc/cdc.h>

/* A growable byte buffer. Allocation failure aborts the program: a
 * migration tool has no useful way to go on without memory. */
typedef struct mbuf {
    char *p;
    size_t len, cap;
} mbuf;
void mbuf_add(mbuf *b, const void *p, size_t n);
void mbuf_puts(mbuf *b, const char *s);
void mbuf_printf(mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mbuf_addc(mbuf *b, char c);
void mbuf_free(mbuf *b);
const char *mbuf_str(mbuf *b); /* NUL-terminated view (len unchanged) */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
char *xstrdup(const char *s);
/* name quoted with q (` for MySQL/MariaDB, " for PostgreSQL), every q in
 * it doubled; caller frees. */
char *sql_ident(const char *name, char q);

/* How a column's value becomes target text. */
typedef enum conv {
    CV_INT, CV_UINT, CV_FLOAT, CV_DOUBLE, CV_DECIMAL, CV_DATE, CV_DATETIME,
    CV_TIMESTAMP, CV_TIME, CV_YEAR, CV_BIT, CV_ENUM, CV_SET, CV_TEXT,
    CV_BINARY, CV_BLOB, CV_JSON, CV_GEOMETRY
} conv;

typedef struct mcol {
    char *name;
    char *data_type;   /* information_schema DATA_TYPE, lower case */
    char *column_type; /* COLUMN_TYPE */
    char *charset;     /* CHARACTER_SET_NAME or NULL */
    char *collation;   /* COLLATION_NAME or NULL */
    int is_unsigned, nullable;
    long long char_len, octet_len, prec, scale, fsp;
    conv cv;
    int utf8;          /* text bytes are UTF-8 already (utf8mb4/utf8mb3/ascii) */
    char *pgtype;      /* PostgreSQL type */
    char *mytype;      /* MySQL/MariaDB target type (the source's COLUMN_TYPE) */
} mcol;

typedef struct mindex {
    char *name;
    int unique;
    size_t *cols;
    long long *sub; /* prefix length per column, 0 for the whole column */
    size_t ncols;
} mindex;

typedef struct mtable {
    char *db, *name;
    mcol *cols;
    size_t ncols;
    size_t *pk; /* column indexes in key order */
    size_t npk;
    mindex *idx;
    size_t nidx;
    char *tq; /* quoted target name: "schema"."table" (target_ops.prepare) */
    /* copy */
    mbuf copybuf;
    size_t copyrows;
    uint64_t rows_copied;
    /* prepared SQL fragments for apply (target_ops.prepare) */
    char *ins_head;   /* INSERT INTO t (a,b) VALUES ( */
    char *ins_tail;   /* ) ON CONFLICT (...) DO UPDATE SET ... or the target's upsert */
} mtable;

typedef struct mschema {
    mtable *t;
    size_t n;
} mschema;

struct target_ops;

/* Options shared by every subcommand. */
typedef struct mopts {
    const struct target_ops *tops; /* the target --target names (target.h) */
    const char *cmd;
    const char *src_host, *src_user, *src_ssl_ca;
    int src_port;
    const char *src_password; /* from $CDC_MIGRATE_SOURCE_PASSWORD */
    const char *database;     /* source database */
    const char *tables;       /* optional comma-separated table names */
    const char *server_id;
    const char *target_dsn;   /* libpq conninfo */
    const char *target_schema;
    const char *state_schema; /* MySQL/MariaDB target: the state database (cdc_migrate) */
    const char *start_at;     /* run: no copy, stream from here (a reverse migration) */
    const char *name;         /* migration name (state row) */
    int zero_date_null;       /* 1: zero dates become NULL; 0: error */
    int nul_strip;            /* 1: NUL bytes dropped from text; 0: error */
    int nul_keep;             /* the target stores NUL bytes in text (MySQL/MariaDB) */
    int indexes;              /* create secondary indexes after the copy */
    long batch_txns, batch_rows, batch_ms;
    long max_rows_per_sec;
    long latency_ms;          /* adaptive throttle target commit latency */
    long max_replica_lag_ms;  /* hold while a target replica is further behind */
    const char *replica_lag_query; /* the lag in ms, run on the target (default: PostgreSQL's
                                    * pg_stat_replication) */
    int workers;              /* apply: 1 strict, N > 1 parallel (par.h) */
    long statement_rows;      /* apply: rows per multi-row upsert/delete (1: one each) */
    int dead_letter;          /* 1: refused rows to the dead-letter table */
    const char *stop_at;
    int parallelism;
    int copy_workers;         /* copy: target connections loading rows (1: the main one) */
    long heartbeat_ms;
    /* verify / cutover */
    long chunk_rows;
    int verify_rows;          /* verify: every row read, no server-side digests */
    int verify_workers;       /* verify: connection pairs digesting chunks at once */
    int verify_restart;       /* verify: begin a new run even when one is unfinished */
    long max_lag_ms;
    int read_only;
    long timeout_s;
    int verbose;
} mopts;

/* schema.c: the source side (MariaDB Connector/C). */
typedef struct st_mysql MYSQL;
MYSQL *src_connect(const mopts *o, char *err, size_t errlen);
int schema_load(MYSQL *m, const mopts *o, mschema *s, char *err, size_t errlen);
/* Connects to the source, loads the tables of o (schema_load) and lets
 * the target prepare its statements for them; on failure says why on
 * stderr and returns 1. */
int schema_prepare(const mopts *o, mschema *s);
void schema_free(mschema *s);
/* The documented mapping of one column, from its information_schema
 * fields (data_type, column_type, charset, ...): sets cv, utf8, pgtype,
 * mytype. 0, or -1 with a message for a type without a mapping. */
int schema_map_column(mtable *t, mcol *c, char *err, size_t errlen);
mtable *schema_find(mschema *s, const char *db, const char *name);
/* The source's current binlog position as a libcdc checkpoint string. */
int src_position(MYSQL *m, char *out, size_t cap, char *err, size_t errlen);

/* values.c: one value as target text. */
typedef enum vres { V_OK = 0, V_NULL = 1, V_ERR = -1 } vres;
/* Writes the value's PostgreSQL text form (unescaped) to out. Returns V_OK,
 * V_NULL (SQL NULL, or a zero date mapped to NULL) or V_ERR with a message. */
vres value_text(const mopts *o, const mcol *c, const cdc_value *v, mbuf *out, char *err,
                size_t errlen);
/* The value as a MySQL/MariaDB literal (session time_zone '+00:00',
 * sql_mode NO_BACKSLASH_ESCAPES): exact, zero dates kept, binary, BIT and
 * GEOMETRY as the server stores them. Appends NULL and returns V_NULL for
 * SQL NULL. */
vres value_mysql(const mopts *o, const mcol *c, const cdc_value *v, mbuf *out, mbuf *scratch,
                 char *err, size_t errlen);
/* verify.c: the text a MySQL/MariaDB server gives verify for column c
 * named qc (hex for binary, bits for BIT, WKB for GEOMETRY). */
const char *src_verify_expr(const mcol *c, const char *qc, char *buf, size_t cap);
/* verify.c: the query that digests the rows of table tbl (a quoted name)
 * of definition t matching where ("" or " WHERE ...") on a MySQL/MariaDB
 * server: one row of count, sum and xor of the rows' SHA-256s (MySQL 9.7 has no MD5) (as
 * pg_hash_sql on PostgreSQL). -1 when a column has no text both servers
 * render alike (TIME, JSON). */
int my_hash_sql(const mtable *t, const char *tbl, const char *where, mbuf *q);
/* The text of FLOAT/DOUBLE column qc in those digests (pg: PostgreSQL's
 * dialect): exact, and the same on both servers. */
void float_hash_expr(mbuf *q, const char *qc, int pg);
void float_bits_expr(const char *qc, char *buf, size_t cap);
void copy_escape(mbuf *out, const char *p, size_t n);    /* COPY text format */
void sql_quote(mbuf *out, const char *p, size_t n);      /* '...' literal */

#endif
