/*
 * debezium.h: pieces of the Debezium renderer that its files share: the
 * handle (debezium.c), its options (debezium_options.c), its per-table
 * cache (debezium_table.c), the value encoders (debezium_values.c) and
 * tableChanges (debezium_tables.c); the tests use them too. Internal; not
 * installed. The public API is include/cdc/debezium.h.
 */
#ifndef CDC_DEBEZIUM_INTERNAL_H
#define CDC_DEBEZIUM_INTERNAL_H

#include <cdc/debezium.h>

#include <regex.h>

#include "render.h"
#include "value.h"

/* Handling modes, as Debezium names them. */
enum { DZ_DEC_PRECISE = 0, DZ_DEC_STRING = 1, DZ_DEC_DOUBLE = 2 };
enum { DZ_TIME_ADAPTIVE_US = 0, DZ_TIME_CONNECT = 1 };
enum { DZ_BIGINT_LONG = 0, DZ_BIGINT_PRECISE = 1 };
enum { DZ_BIN_BYTES = 0, DZ_BIN_BASE64 = 1, DZ_BIN_BASE64_URL = 2, DZ_BIN_HEX = 3 };

/* How one column is written: the Kafka Connect type it maps to. */
typedef enum dz_map {
    DZ_M_BOOL,        /* BIT(1) */
    DZ_M_INT16,
    DZ_M_INT32,
    DZ_M_INT64,       /* also BIGINT UNSIGNED in long mode (wraps, as Debezium's does) */
    DZ_M_U64_DECIMAL, /* BIGINT UNSIGNED, precise mode: Decimal scale 0 */
    DZ_M_FLOAT32,
    DZ_M_FLOAT64,
    DZ_M_DECIMAL,     /* by decimal.handling.mode */
    DZ_M_DATE,        /* int32 days */
    DZ_M_TIME_US,     /* int64 microseconds, MicroTime */
    DZ_M_TIME_MS,     /* int32 milliseconds, connect Time */
    DZ_M_DATETIME_MS, /* int64 ms: io.debezium.time.Timestamp or connect Timestamp */
    DZ_M_DATETIME_US, /* int64 us: MicroTimestamp */
    DZ_M_ZONED,       /* TIMESTAMP: ZonedTimestamp string */
    DZ_M_YEAR,
    DZ_M_STRING,      /* text, MariaDB INET4/INET6/UUID */
    DZ_M_ENUM,
    DZ_M_SET,
    DZ_M_BINARY,      /* by binary.handling.mode */
    DZ_M_BITS,        /* BIT(n>1): little-endian bytes */
    DZ_M_JSON,
    DZ_M_GEOMETRY,
    DZ_M_POINT,
    DZ_M_VECTOR,
} dz_map;

/* The options that decide the mapping of a column. */
typedef struct dz_modes {
    int decimal, time, bigint, binary;
} dz_modes;

/* What the encoder needs to know about one column, worked out once per
 * table definition. */
typedef struct dz_col {
    dz_map map;
    const cdc_column *col; /* valid for the table it was planned from */
    unsigned prec, scale;  /* DECIMAL */
    unsigned fsp;          /* temporal */
    unsigned bits;         /* BIT */
    unsigned pad;          /* BINARY(n): bytes to pad to, 0 otherwise */
    bool json_text;        /* a MariaDB JSON column: its value is the stored text */
    bool optional;
    /* column.* options */
    int mask;              /* 0 none, 1 stars, 2 hash v1, 3 hash v2 */
    unsigned mask_n;       /* stars */
    int hash_alg;          /* 1 SHA-1, 256, 512 */
    const char *salt;
    size_t salt_len;
    unsigned trunc_n;      /* 0: no truncation */
    unsigned char_len;     /* declared length in characters (hash truncation), 0 unknown */
} dz_col;

/* Works out c's mapping from its binlog description and the modes. */
void cdc__dz_plan_column(const cdc_column *c, const dz_modes *m, dz_col *out);
/* Appends the Kafka Connect JSON schema of a column (without "field"
 * and the closing brace: the caller adds ,"field":"name"}). */
int cdc__dz_schema_column(const dz_col *dc, const dz_modes *m, cdc__buf *out);
/* Appends the payload JSON of one value (v not NULL; SQL NULL too).
 * scratch is a work buffer. */
int cdc__dz_value(const dz_col *dc, const dz_modes *m, const cdc_value *v, cdc__buf *out,
                  cdc__buf *scratch, cdc__err *err);

/* Appends n bytes: the common case (room in the buffer) inline, so that
 * the many short pieces of every record cost a copy, not a call. */
static inline int cdc__dz_put_n(cdc__buf *o, const void *s, size_t n)
{
    if (!n) return CDC_OK; /* s may be NULL then */
    if (n <= o->cap - o->len && o->data) {
        memcpy(o->data + o->len, s, n);
        o->len += n;
        return CDC_OK;
    }
    return cdc__buf_append(o, s, n);
}

/* Appends the decimal digits of v, fast (every integer of every row). */
int cdc__dz_put_i64(cdc__buf *o, int64_t v);

/* Java's Double.toString / Float.toString of a finite value (what Kafka's
 * JsonConverter writes), NUL-terminated; buf needs 40 bytes. */
size_t cdc__dz_java_double(char *buf, double d);
size_t cdc__dz_java_float(char *buf, float f);
/* Big-endian two's-complement bytes of an unscaled decimal given as
 * digits ("-12345"), minimal as Java's BigInteger.toByteArray(); returns
 * the byte count (out needs 32 bytes) or 0 for malformed digits. */
size_t cdc__dz_unscaled_bytes(const char *digits, size_t n, uint8_t out[32]);

/* Appends the JSON string of n bytes of UTF-8 text s. */
static inline int cdc__dz_put_str(cdc__buf *o, const char *s, size_t n)
{
    return cdc__render_utf8_string(o, (const uint8_t *)s, n);
}
/* inline so that strlen of a literal is folded */
static inline int cdc__dz_put(cdc__buf *o, const char *s) { return cdc__dz_put_n(o, s, strlen(s)); }
static inline int cdc__dz_put_cstr(cdc__buf *o, const char *s) { return cdc__dz_put_str(o, s, strlen(s)); }
/* A copy of s from a, NULL for NULL (or no memory). */
static inline char *cdc__dz_dup(const cdc_allocator *a, const char *s)
{
    return s ? cdc__strndup(a, s, strlen(s)) : NULL;
}

/* ---- options (debezium_options.c) ---- */

/* A comma-separated list of regular expressions, each matched against a
 * whole name, case-insensitively (Debezium's column and table lists). */
typedef struct dz_relist {
    size_t n;
    regex_t *re;
} dz_relist;

/* One column.truncate/mask option: the columns it names and what to do. */
typedef struct dz_colrule {
    char *key;      /* the option's name, to replace it when set again */
    int kind;       /* 1 truncate, 2 mask with stars, 3 hash v1, 4 hash v2 */
    unsigned n;
    int alg;
    char *salt;
    dz_relist cols;
} dz_colrule;

/* One entry of message.key.columns: table regex and column names. */
typedef struct dz_keyrule {
    regex_t table;
    size_t ncols;
    char **cols;
} dz_keyrule;

enum { DZ_SKIP_C = 1, DZ_SKIP_U = 2, DZ_SKIP_D = 4, DZ_SKIP_T = 8 };

typedef struct dz_opts {
    const cdc_allocator *a;
    char *prefix, *delim, *txn_topic, *hb_prefix, *version;
    int connector; /* 0 mysql, 1 mariadb */
    dz_modes modes;
    bool key_schemas, value_schemas, tombstones, txn_meta, schema_changes, schema_comments;
    unsigned skip;
    dz_relist exclude, include;
    dz_colrule *rules;
    size_t nrules;
    dz_keyrule *keys;
    size_t nkeys;
} dz_opts;

/* Frees o's strings, lists and rules; o stays usable (its allocator kept). */
void cdc__dz_opts_free(dz_opts *o);
/* Sets option key to v (NULL: its default) in o. CDC_ERR_CONFIG for an
 * unknown key or a bad value, with err naming both; CDC_ERR_NOMEM. */
int cdc__dz_apply(dz_opts *o, const char *key, const char *v, cdc__err *err);
/* Whether one of l's expressions matches the whole of s. */
bool cdc__dz_relist_match(const dz_relist *l, const char *s);

/* ---- the per-table cache (debezium_table.c) ---- */

typedef struct dz_table {
    char *db, *name;
    uint64_t hash;
    const cdc_table *last_t; /* the table view this entry was last checked against */
    uint64_t last_id;
    cdc__buf sig;             /* the column description it was planned from */
    size_t ncols;
    dz_col *cols;
    char **names;            /* column names (fallback "col_N" when the binlog has none) */
    cdc__buf name_json;       /* "name": of every column, back to back */
    size_t *name_off;        /* where column i's starts in name_json (n+1 entries) */
    bool *in_value;          /* not excluded by column.exclude/include.list */
    size_t nkey;
    size_t *key_idx;
    cdc__buf topic;
    cdc__buf key_head;        /* {"schema":...,"payload": (schemas on) */
    cdc__buf value_head;
    cdc__buf src_db;          /* ","db":"<db>","sequence":null,"ts_us": */
    cdc__buf src_table;       /* ,"table":"<table>","server_id": */
    char *collection;        /* "db.table" for transaction metadata */
    uint64_t txn_seq;        /* transaction this table's count belongs to */
    uint64_t txn_count;
} dz_table;

/* ---- the handle (debezium.c) ---- */

typedef struct dz_rec {
    int kind;
    size_t t_off, t_len;
    size_t k_off, k_len;
    size_t v_off, v_len;
    size_t m_at; /* where source.snapshot's value starts in the buffer; 0: no source block */
    bool k_null, v_null;
} dz_rec;

struct cdc_debezium {
    const cdc_allocator *alloc;
    cdc__err err;
    dz_opts o;
    dz_table **tables;
    size_t ntables, captables;
    dz_rec *recs;
    size_t nrecs, caprecs;
    cdc__buf out, scratch, scratch2, src_head;
    cdc_debezium_clock_cb clock;
    void *clock_ud;
    /* the source's file and gtid change once per file and transaction:
     * their JSON is kept from the last row */
    cdc__buf last_file, file_json, last_gtid, gtid_json;
    /* the open transaction */
    bool in_txn;
    uint64_t txn_seq;
    cdc__buf txn_id;          /* as a JSON string literal */
    uint64_t txn_total;
    int64_t thread;          /* source.thread, -1 when unknown */
    dz_table **txn_tables;
    size_t ntxn_tables, captxn_tables;
    size_t snap_at;          /* set by put_source_row: where the snapshot marker's value went */
    /* the snapshot row held back by cdc_debezium_snapshot_row(): its
     * records (rendered "true"), rendered in a buffer of their own */
    cdc__buf h_out;
    dz_rec *h_recs;
    size_t h_n, h_cap;
    bool h_valid, h_first, h_first_in_table, snap_started;
    cdc__buf h_table;        /* "<db>\0<table>" of the held row */
    struct cdc__dz_source *src; /* where tableChanges' definitions come from; NULL: none */
};

/* The cache entry for t's table, planned (columns, key, topic, schema
 * heads) for the current options and t's definition. */
int cdc__dz_table_for(cdc_debezium *dz, const cdc_table *t, dz_table **out);
/* Drops every cache entry (the options changed). */
void cdc__dz_tables_clear(cdc_debezium *dz);

/* Debezium's topic name, one part at a time: characters other than
 * [A-Za-z0-9._-] replaced by '_' (one per UTF-16 unit, as Java counts);
 * cdc__dz_topic_finish cuts it to 249 characters. */
int cdc__dz_put_topic_part(cdc__buf *o, const char *s);
int cdc__dz_topic_finish(cdc__buf *o);
/* Appends the Kafka Connect schema of the source block (without the
 * closing brace). */
int cdc__dz_put_source_schema(const cdc_debezium *dz, cdc__buf *o);

/* ---- tableChanges (debezium_tables.c) ---- */

/*
 * The tables a DDL statement changes, each written to out as a kind
 * ('C' create, 'A' alter or rename, 'D' drop), then "db\0table\0", then
 * the old "db\0table\0" of a rename or "\0\0". Unqualified names take
 * default_db. CREATE/DROP INDEX ... ON t alter t. Returns the count, 0
 * for statements that change no table (CREATE DATABASE, TRUNCATE, GRANT),
 * -1 for table DDL this reader cannot follow.
 */
int cdc__dz_ddl_changes(const char *default_db, size_t dblen, const char *sql, size_t len, cdc__buf *out);

struct cdc__result;
/*
 * Appends the `table` object of a table change (defaultCharsetName,
 * primaryKeyColumnNames, columns, comment, attributes) from the rows of
 * information_schema: cols as debezium_tables.c selects from COLUMNS (by
 * column name), tab's first row (table charset, table comment), pk's rows
 * (primary-key column names in order). Comments only when `comments`.
 * CDC_ERR_PROTOCOL when cols lacks a column, CDC_ERR_NOMEM.
 */
int cdc__dz_table_json(cdc__buf *o, const struct cdc__result *cols, const struct cdc__result *tab,
                       const struct cdc__result *pk, bool comments);

/* Where table definitions come from: a copy of a configuration, and a
 * connection opened at first need and kept. */
typedef struct cdc__dz_source cdc__dz_source;
int cdc__dz_source_new(cdc__dz_source **out, const struct cdc_config *cfg, const cdc_allocator *a);
void cdc__dz_source_free(cdc__dz_source *s);
/*
 * Appends the JSON array of tableChanges of statement sql: "[]" without a
 * source; else one change per table the statement changes (a DROP with
 * table null; a table that no longer exists is left out), each definition
 * read now. A failing connection or query: its error, prefixed with the
 * table's name.
 */
int cdc__dz_table_changes(cdc__dz_source *s, bool comments, const char *default_db, size_t dblen, const char *sql,
                          size_t len, cdc__buf *out, cdc__err *err);

#endif /* CDC_DEBEZIUM_INTERNAL_H */
