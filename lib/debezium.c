/*
 * debezium.c: the Debezium renderer of include/cdc/debezium.h: options,
 * the per-table cache of planned columns and rendered schema prefixes,
 * and the records (topic, key, value) of row changes, transaction
 * boundaries, schema changes and heartbeats. Column values are encoded
 * by debezium_values.c. docs/debezium.md describes the output.
 */
#include "debezium.h"

#include <cdc/value.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cdc/binlog.h>
#include <cdc/version.h>

#include "render.h"
#include "charset.h"
#include "tablemap.h"

/* ---- options ------------------------------------------------------------- */

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

enum { SKIP_C = 1, SKIP_U = 2, SKIP_D = 4, SKIP_T = 8 };

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

/* ---- the per-table cache ---------------------------------------------------- */

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
    cdc__dz_source *src;     /* where tableChanges' definitions come from; NULL: none */
};

static void relist_free(const cdc_allocator *a, dz_relist *l)
{
    for (size_t i = 0; i < l->n; i++) regfree(&l->re[i]);
    cdc__free(a, l->re);
    l->re = NULL;
    l->n = 0;
}

/* Compiles "a,b,c" into whole-name, case-insensitive regexes. */
static int relist_parse(const cdc_allocator *a, dz_relist *out, const char *key, const char *value, cdc__err *err)
{
    dz_relist l = {0, NULL};
    const char *p = value;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t')) { p++; n--; }
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
        if (n) {
            char *pat = cdc__malloc(a, n + 5);
            regex_t *nre = cdc__realloc(a, l.re, (l.n + 1) * sizeof *l.re);
            if (!pat || !nre) {
                cdc__free(a, pat);
                if (nre) l.re = nre;
                relist_free(a, &l);
                return cdc__err_set(err, CDC_ERR_NOMEM, "%s: out of memory", key);
            }
            l.re = nre;
            snprintf(pat, n + 5, "^(%.*s)$", (int)n, p);
            int rc = regcomp(&l.re[l.n], pat, REG_EXTENDED | REG_ICASE | REG_NOSUB);
            cdc__free(a, pat);
            if (rc != 0) {
                relist_free(a, &l);
                return cdc__err_set(err, CDC_ERR_CONFIG, "%s: '%.*s' is not a valid regular expression", key, (int)n, p);
            }
            l.n++;
        }
        p = e ? e + 1 : NULL;
    }
    relist_free(a, out);
    *out = l;
    return CDC_OK;
}

static bool relist_match(const dz_relist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (regexec(&l->re[i], s, 0, NULL, 0) == 0) return true;
    return false;
}

static void rule_free(const cdc_allocator *a, dz_colrule *r)
{
    cdc__free(a, r->key);
    cdc__free(a, r->salt);
    relist_free(a, &r->cols);
}

static void keys_free(const cdc_allocator *a, dz_opts *o)
{
    for (size_t i = 0; i < o->nkeys; i++) {
        regfree(&o->keys[i].table);
        for (size_t k = 0; k < o->keys[i].ncols; k++) cdc__free(a, o->keys[i].cols[k]);
        cdc__free(a, o->keys[i].cols);
    }
    cdc__free(a, o->keys);
    o->keys = NULL;
    o->nkeys = 0;
}

static void opts_free(dz_opts *o)
{
    const cdc_allocator *a = o->a;
    cdc__free(a, o->prefix);
    cdc__free(a, o->delim);
    cdc__free(a, o->txn_topic);
    cdc__free(a, o->hb_prefix);
    cdc__free(a, o->version);
    relist_free(a, &o->exclude);
    relist_free(a, &o->include);
    for (size_t i = 0; i < o->nrules; i++) rule_free(a, &o->rules[i]);
    cdc__free(a, o->rules);
    keys_free(a, o);
    memset(o, 0, sizeof *o);
    o->a = a;
}

static char *dup(const cdc_allocator *a, const char *s) { return s ? cdc__strndup(a, s, strlen(s)) : NULL; }

static int set_str(const cdc_allocator *a, char **slot, const char *value, const char *def)
{
    char *n = dup(a, value ? value : def);
    if (!n && (value || def)) return CDC_ERR_NOMEM;
    cdc__free(a, *slot);
    *slot = n;
    return CDC_OK;
}

static int parse_bool(const char *key, const char *v, bool def, bool *out, cdc__err *err)
{
    if (!v) { *out = def; return CDC_OK; }
    if (!strcasecmp(v, "true")) { *out = true; return CDC_OK; }
    if (!strcasecmp(v, "false")) { *out = false; return CDC_OK; }
    return cdc__err_set(err, CDC_ERR_CONFIG, "%s: '%s' is not a boolean (true or false)", key, v);
}

static int parse_enum(const char *key, const char *v, const char *const *choices, int def, int *out, cdc__err *err)
{
    if (!v) { *out = def; return CDC_OK; }
    for (int i = 0; choices[i]; i++)
        if (!strcasecmp(v, choices[i])) { *out = i; return CDC_OK; }
    char list[256] = "";
    for (int i = 0; choices[i]; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, choices[i], sizeof list - strlen(list) - 1);
    }
    return cdc__err_set(err, CDC_ERR_CONFIG, "%s: '%s' is not one of %s", key, v, list);
}

/* "c,u,d,t" or "none" */
static int parse_skipped(const char *v, unsigned *out, cdc__err *err)
{
    if (!v) { *out = SKIP_T; return CDC_OK; }
    unsigned m = 0;
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        size_t n = strcspn(p, ", ");
        if (n == 4 && !strncasecmp(p, "none", 4)) m = 0;
        else if (n == 1 && (*p == 'c' || *p == 'C')) m |= SKIP_C;
        else if (n == 1 && (*p == 'u' || *p == 'U')) m |= SKIP_U;
        else if (n == 1 && (*p == 'd' || *p == 'D')) m |= SKIP_D;
        else if (n == 1 && (*p == 't' || *p == 'T')) m |= SKIP_T;
        else
            return cdc__err_set(err, CDC_ERR_CONFIG, "skipped.operations: '%.*s' is not one of c, u, d, t, none",
                                (int)n, p);
        p += n;
    }
    *out = m;
    return CDC_OK;
}

/* "db.tbl:c1,c2;db2.t.*:c3" */
static int parse_key_columns(dz_opts *o, const char *v, cdc__err *err)
{
    const cdc_allocator *al = o->a;
    dz_opts tmp = {0};
    const char *p = v;
    int rc = CDC_OK;
    while (p && *p && rc == CDC_OK) {
        const char *e = strchr(p, ';');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        while (n && *p == ' ') { p++; n--; }
        if (n == 0) { p = e ? e + 1 : NULL; continue; }
        if (!colon || colon == p) {
            rc = cdc__err_set(err, CDC_ERR_CONFIG,
                              "message.key.columns: '%.*s' is not <db>.<table>:<column>[,<column>...]", (int)n, p);
            break;
        }
        dz_keyrule *nk = cdc__realloc(al, tmp.keys, (tmp.nkeys + 1) * sizeof *nk);
        if (!nk) { rc = CDC_ERR_NOMEM; break; }
        tmp.keys = nk;
        dz_keyrule *k = &tmp.keys[tmp.nkeys];
        memset(k, 0, sizeof *k);
        char pat[512];
        snprintf(pat, sizeof pat, "^(%.*s)$", (int)(colon - p), p);
        if (regcomp(&k->table, pat, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0) {
            rc = cdc__err_set(err, CDC_ERR_CONFIG, "message.key.columns: '%.*s' is not a valid regular expression",
                              (int)(colon - p), p);
            break;
        }
        tmp.nkeys++;
        const char *c = colon + 1, *end = p + n;
        while (c < end && rc == CDC_OK) {
            const char *ce = memchr(c, ',', (size_t)(end - c));
            if (!ce) ce = end;
            const char *a = c, *b = ce;
            while (a < b && *a == ' ') a++;
            while (b > a && b[-1] == ' ') b--;
            if (b > a) {
                char **nc = cdc__realloc(al, k->cols, (k->ncols + 1) * sizeof *nc);
                char *name = cdc__strndup(al, a, (size_t)(b - a));
                if (!nc || !name) { cdc__free(al, name); if (nc) k->cols = nc; rc = CDC_ERR_NOMEM; break; }
                k->cols = nc;
                k->cols[k->ncols++] = name;
            }
            c = ce + 1;
        }
        if (rc == CDC_OK && k->ncols == 0)
            rc = cdc__err_set(err, CDC_ERR_CONFIG, "message.key.columns: '%.*s' names no column", (int)n, p);
        p = e ? e + 1 : NULL;
    }
    if (rc == CDC_ERR_NOMEM) cdc__err_set(err, rc, "message.key.columns: out of memory");
    if (rc) { keys_free(al, &tmp); return rc; }
    keys_free(al, o);
    o->keys = tmp.keys;
    o->nkeys = tmp.nkeys;
    return CDC_OK;
}

/* column.truncate.to.N.chars, column.mask.with.N.chars,
 * column.mask.hash[.v2].ALG.with.salt.SALT; value NULL removes it. */
static int set_column_rule(dz_opts *o, const char *key, const char *value, cdc__err *err)
{
    dz_colrule r;
    memset(&r, 0, sizeof r);
    const char *p;
    char *endp;
    if (!strncmp(key, "column.truncate.to.", 19) || !strncmp(key, "column.mask.with.", 17)) {
        bool trunc = key[7] == 't';
        p = key + (trunc ? 19 : 17);
        unsigned long n = strtoul(p, &endp, 10);
        if (endp == p || strcmp(endp, ".chars") != 0 || (trunc && n == 0) || n > 1000000)
            return cdc__err_set(err, CDC_ERR_CONFIG, "%s: expected column.%s.<N>.chars with a positive N", key,
                                trunc ? "truncate.to" : "mask.with");
        r.kind = trunc ? 1 : 2;
        r.n = (unsigned)n;
    } else if (!strncmp(key, "column.mask.hash.", 17)) {
        p = key + 17;
        r.kind = 3;
        if (!strncmp(p, "v2.", 3)) { r.kind = 4; p += 3; }
        else if (!strncmp(p, "v1.", 3)) p += 3;
        const char *w = strstr(p, ".with.salt.");
        if (!w) return cdc__err_set(err, CDC_ERR_CONFIG, "%s: expected column.mask.hash.<algorithm>.with.salt.<salt>", key);
        size_t an = (size_t)(w - p);
        if (an == 5 && !strncasecmp(p, "SHA-1", 5)) r.alg = 1;
        else if (an == 7 && !strncasecmp(p, "SHA-256", 7)) r.alg = 256;
        else if (an == 7 && !strncasecmp(p, "SHA-512", 7)) r.alg = 512;
        else
            return cdc__err_set(err, CDC_ERR_CONFIG, "%s: hash algorithm '%.*s' is not supported (SHA-1, SHA-256, SHA-512)",
                                key, (int)an, p);
        r.salt = dup(o->a, w + 11);
        if (!r.salt) return CDC_ERR_NOMEM;
    } else {
        return cdc__err_set(err, CDC_ERR_CONFIG, "unknown option '%s'", key);
    }
    /* find an existing rule with that key */
    size_t at = o->nrules;
    for (size_t i = 0; i < o->nrules; i++)
        if (!strcmp(o->rules[i].key, key)) at = i;
    if (!value || !*value) {
        rule_free(o->a, &r);
        if (at < o->nrules) {
            rule_free(o->a, &o->rules[at]);
            memmove(&o->rules[at], &o->rules[at + 1], (o->nrules - at - 1) * sizeof *o->rules);
            o->nrules--;
        }
        return CDC_OK;
    }
    int rc = relist_parse(o->a, &r.cols, key, value, err);
    if (rc == CDC_OK && !(r.key = dup(o->a, key))) rc = CDC_ERR_NOMEM;
    if (rc) { rule_free(o->a, &r); return rc; }
    if (at < o->nrules) {
        rule_free(o->a, &o->rules[at]);
        o->rules[at] = r;
        return CDC_OK;
    }
    dz_colrule *nr = cdc__realloc(o->a, o->rules, (o->nrules + 1) * sizeof *nr);
    if (!nr) { rule_free(o->a, &r); return CDC_ERR_NOMEM; }
    o->rules = nr;
    o->rules[o->nrules++] = r;
    return CDC_OK;
}

static const char *const k_options[] = {
    "topic.prefix", "topic.delimiter", "topic.transaction", "topic.heartbeat.prefix", "connector", "source.version",
    "decimal.handling.mode", "time.precision.mode", "bigint.unsigned.handling.mode", "binary.handling.mode",
    "schemas.enable", "key.converter.schemas.enable", "value.converter.schemas.enable", "tombstones.on.delete",
    "provide.transaction.metadata", "include.schema.changes", "include.schema.comments", "skipped.operations",
    "column.exclude.list", "column.include.list", "message.key.columns", NULL,
};

CDC_EXTERN int cdc_debezium_is_option(const char *key)
{
    if (!key) return 0;
    for (int i = 0; k_options[i]; i++)
        if (!strcmp(key, k_options[i])) return 1;
    return !strncmp(key, "column.truncate.to.", 19) || !strncmp(key, "column.mask.with.", 17) ||
           !strncmp(key, "column.mask.hash.", 17);
}

static void tables_clear(cdc_debezium *dz);

static int apply(cdc_debezium *dz, const char *key, const char *v, cdc__err *err)
{
    dz_opts *o = &dz->o;
    static const char *const dec[] = {"precise", "string", "double", NULL};
    static const char *const tpm[] = {"adaptive_time_microseconds", "connect", NULL};
    static const char *const big[] = {"long", "precise", NULL};
    static const char *const bin[] = {"bytes", "base64", "base64-url-safe", "hex", NULL};
    static const char *const con[] = {"mysql", "mariadb", NULL};
    int rc;
    bool b = false;
    if (!strcmp(key, "topic.prefix")) {
        if (v && !*v) return cdc__err_set(err, CDC_ERR_CONFIG, "topic.prefix: must not be empty");
        rc = set_str(o->a, &o->prefix, v, NULL);
    } else if (!strcmp(key, "topic.delimiter")) rc = set_str(o->a, &o->delim, v, ".");
    else if (!strcmp(key, "topic.transaction")) rc = set_str(o->a, &o->txn_topic, v, "transaction");
    else if (!strcmp(key, "topic.heartbeat.prefix")) rc = set_str(o->a, &o->hb_prefix, v, "__debezium-heartbeat");
    else if (!strcmp(key, "source.version")) rc = set_str(o->a, &o->version, v, "libcdc-" CDC_VERSION_STRING);
    else if (!strcmp(key, "connector")) rc = parse_enum(key, v, con, 0, &o->connector, err);
    else if (!strcmp(key, "decimal.handling.mode")) rc = parse_enum(key, v, dec, 0, &o->modes.decimal, err);
    else if (!strcmp(key, "time.precision.mode")) {
        if (v && (!strcmp(v, "adaptive") || !strcmp(v, "isostring") || !strcmp(v, "microseconds") ||
                  !strcmp(v, "nanoseconds") || !strcmp(v, "structured")))
            return cdc__err_set(err, CDC_ERR_CONFIG,
                                "time.precision.mode: '%s' is not supported (adaptive_time_microseconds, connect)", v);
        rc = parse_enum(key, v, tpm, 0, &o->modes.time, err);
    } else if (!strcmp(key, "bigint.unsigned.handling.mode")) rc = parse_enum(key, v, big, 0, &o->modes.bigint, err);
    else if (!strcmp(key, "binary.handling.mode")) rc = parse_enum(key, v, bin, 0, &o->modes.binary, err);
    else if (!strcmp(key, "schemas.enable")) {
        rc = parse_bool(key, v, true, &b, err);
        if (rc == CDC_OK) o->key_schemas = o->value_schemas = b;
    } else if (!strcmp(key, "key.converter.schemas.enable")) rc = parse_bool(key, v, true, &o->key_schemas, err);
    else if (!strcmp(key, "value.converter.schemas.enable")) rc = parse_bool(key, v, true, &o->value_schemas, err);
    else if (!strcmp(key, "tombstones.on.delete")) rc = parse_bool(key, v, true, &o->tombstones, err);
    else if (!strcmp(key, "provide.transaction.metadata")) rc = parse_bool(key, v, false, &o->txn_meta, err);
    else if (!strcmp(key, "include.schema.changes")) rc = parse_bool(key, v, true, &o->schema_changes, err);
    else if (!strcmp(key, "include.schema.comments")) rc = parse_bool(key, v, false, &o->schema_comments, err);
    else if (!strcmp(key, "skipped.operations")) rc = parse_skipped(v, &o->skip, err);
    else if (!strcmp(key, "column.exclude.list") || !strcmp(key, "column.include.list")) {
        bool ex = key[7] == 'e';
        if (v && *v && (ex ? o->include.n : o->exclude.n))
            return cdc__err_set(err, CDC_ERR_CONFIG, "%s: column.include.list and column.exclude.list cannot both be set",
                                key);
        rc = relist_parse(o->a, ex ? &o->exclude : &o->include, key, v, err);
    } else if (!strcmp(key, "message.key.columns")) rc = parse_key_columns(o, v, err);
    else if (!strncmp(key, "column.", 7) && cdc_debezium_is_option(key)) rc = set_column_rule(o, key, v, err);
    else return cdc__err_set(err, CDC_ERR_CONFIG, "unknown option '%s'", key);
    if (rc == CDC_ERR_NOMEM && err->code != CDC_ERR_NOMEM) cdc__err_set(err, rc, "%s: out of memory", key);
    return rc;
}

/* ---- construction --------------------------------------------------------- */

static int build_src_head(cdc_debezium *dz)
{
    cdc__buf_reset(&dz->src_head);
    int rc = cdc__buf_puts(&dz->src_head, "{\"version\":");
    if (!rc) rc = cdc__render_utf8_string(&dz->src_head, (const uint8_t *)dz->o.version, strlen(dz->o.version));
    if (!rc) rc = cdc__buf_printf(&dz->src_head, ",\"connector\":\"%s\",\"name\":", dz->o.connector ? "mariadb" : "mysql");
    if (!rc && dz->o.prefix) rc = cdc__render_utf8_string(&dz->src_head, (const uint8_t *)dz->o.prefix, strlen(dz->o.prefix));
    if (!rc) rc = cdc__buf_puts(&dz->src_head, ",\"ts_ms\":");
    return rc;
}

CDC_EXTERN int cdc_debezium_new(cdc_debezium **out, const cdc_allocator *alloc, char *err, size_t errlen)
{
    if (!out) {
        if (err && errlen) snprintf(err, errlen, "cdc_debezium_new: out is NULL");
        return CDC_ERR_INVALID;
    }
    *out = NULL;
    const cdc_allocator *a = cdc__allocator(alloc);
    cdc_debezium *dz = cdc__calloc(a, 1, sizeof *dz);
    if (!dz) {
        if (err && errlen) snprintf(err, errlen, "cdc_debezium_new: out of memory");
        return CDC_ERR_NOMEM;
    }
    dz->alloc = a;
    dz->o.a = a;
    dz->thread = -1;
    cdc__buf_init(&dz->out, a);
    cdc__buf_init(&dz->scratch, a);
    cdc__buf_init(&dz->scratch2, a);
    cdc__buf_init(&dz->src_head, a);
    cdc__buf_init(&dz->txn_id, a);
    cdc__buf_init(&dz->last_file, a);
    cdc__buf_init(&dz->file_json, a);
    cdc__buf_init(&dz->last_gtid, a);
    cdc__buf_init(&dz->gtid_json, a);
    cdc__buf_init(&dz->h_out, a);
    cdc__buf_init(&dz->h_table, a);
    static const char *const defaults[] = {"topic.delimiter", "topic.transaction", "topic.heartbeat.prefix",
                                           "source.version", "schemas.enable", "tombstones.on.delete",
                                           "provide.transaction.metadata", "include.schema.changes",
                                           "include.schema.comments", "skipped.operations", NULL};
    int rc = CDC_OK;
    for (int i = 0; defaults[i] && rc == CDC_OK; i++) rc = apply(dz, defaults[i], NULL, &dz->err);
    if (rc == CDC_OK) rc = build_src_head(dz);
    if (rc != CDC_OK) {
        cdc_debezium_free(dz);
        if (err && errlen) snprintf(err, errlen, "cdc_debezium_new: out of memory");
        return CDC_ERR_NOMEM;
    }
    *out = dz;
    return CDC_OK;
}

static void table_free(const cdc_allocator *a, dz_table *t)
{
    if (!t) return;
    cdc__free(a, t->db);
    cdc__free(a, t->name);
    cdc__free(a, t->collection);
    cdc__buf_free(&t->sig);
    cdc__buf_free(&t->topic);
    cdc__buf_free(&t->key_head);
    cdc__buf_free(&t->value_head);
    cdc__buf_free(&t->src_db);
    cdc__buf_free(&t->src_table);
    cdc__buf_free(&t->name_json);
    cdc__free(a, t->name_off);
    if (t->names)
        for (size_t i = 0; i < t->ncols; i++) cdc__free(a, t->names[i]);
    cdc__free(a, t->names);
    cdc__free(a, t->cols);
    cdc__free(a, t->in_value);
    cdc__free(a, t->key_idx);
    cdc__free(a, t);
}

static void tables_clear(cdc_debezium *dz)
{
    for (size_t i = 0; i < dz->ntables; i++) table_free(dz->alloc, dz->tables[i]);
    dz->ntables = 0;
    dz->ntxn_tables = 0; /* their counts went with them */
}

CDC_EXTERN void cdc_debezium_free(cdc_debezium *dz)
{
    if (!dz) return;
    tables_clear(dz);
    cdc__free(dz->alloc, dz->tables);
    cdc__free(dz->alloc, dz->recs);
    cdc__free(dz->alloc, dz->txn_tables);
    opts_free(&dz->o);
    cdc__dz_source_free(dz->src);
    cdc__buf_free(&dz->out);
    cdc__buf_free(&dz->scratch);
    cdc__buf_free(&dz->scratch2);
    cdc__buf_free(&dz->src_head);
    cdc__buf_free(&dz->txn_id);
    cdc__buf_free(&dz->last_file);
    cdc__buf_free(&dz->file_json);
    cdc__buf_free(&dz->last_gtid);
    cdc__buf_free(&dz->gtid_json);
    cdc__buf_free(&dz->h_out);
    cdc__buf_free(&dz->h_table);
    cdc__free(dz->alloc, dz->h_recs);
    cdc__free(dz->alloc, dz);
}

CDC_EXTERN int cdc_debezium_set(cdc_debezium *dz, const char *key, const char *value, char *err, size_t errlen)
{
    if (!dz || !key) {
        if (err && errlen) snprintf(err, errlen, "cdc_debezium_set: NULL argument");
        return CDC_ERR_INVALID;
    }
    cdc__err_clear(&dz->err);
    int rc = apply(dz, key, value, &dz->err);
    if (rc == CDC_OK) rc = build_src_head(dz);
    if (rc != CDC_OK) {
        if (!dz->err.msg[0]) cdc__err_set(&dz->err, rc, "%s: %s", key, cdc_strerror(rc));
        cdc__err_copy_out(&dz->err, err, errlen);
        return rc;
    }
    tables_clear(dz); /* schemas and plans depend on the options */
    return CDC_OK;
}

CDC_EXTERN int cdc_debezium_set_source(cdc_debezium *dz, const cdc_config *cfg, char *err, size_t errlen)
{
    if (!dz) {
        if (err && errlen) snprintf(err, errlen, "cdc_debezium_set_source: NULL renderer");
        return CDC_ERR_INVALID;
    }
    cdc__dz_source *s = NULL;
    if (cfg && cdc__dz_source_new(&s, cfg, dz->alloc) != CDC_OK) {
        if (err && errlen) snprintf(err, errlen, "cdc_debezium_set_source: out of memory");
        return CDC_ERR_NOMEM;
    }
    cdc__dz_source_free(dz->src);
    dz->src = s;
    return CDC_OK;
}

CDC_EXTERN void cdc_debezium_set_clock(cdc_debezium *dz, cdc_debezium_clock_cb cb, void *ud)
{
    if (!dz) return;
    dz->clock = cb;
    dz->clock_ud = ud;
}

CDC_EXTERN void cdc_debezium_set_thread(cdc_debezium *dz, int64_t thread)
{
    if (dz) dz->thread = thread < 0 ? -1 : thread;
}

CDC_EXTERN const char *cdc_debezium_errmsg(const cdc_debezium *dz) { return dz ? dz->err.msg : ""; }

CDC_EXTERN size_t cdc_debezium_record_count(const cdc_debezium *dz) { return dz ? dz->nrecs : 0; }

CDC_EXTERN int cdc_debezium_record(const cdc_debezium *dz, size_t i, cdc_bytes *topic, cdc_bytes *key,
                                   cdc_bytes *value)
{
    if (!dz || i >= dz->nrecs) return CDC_ERR_INVALID;
    const dz_rec *r = &dz->recs[i];
    const uint8_t *base = dz->out.data;
    if (topic) *topic = (cdc_bytes){base + r->t_off, r->t_len};
    if (key) *key = r->k_null ? (cdc_bytes){NULL, 0} : (cdc_bytes){base + r->k_off, r->k_len};
    if (value) *value = r->v_null ? (cdc_bytes){NULL, 0} : (cdc_bytes){base + r->v_off, r->v_len};
    return r->kind;
}

/* ---- helpers ----------------------------------------------------------------- */

static int64_t now_ns(cdc_debezium *dz)
{
    if (dz->clock) return dz->clock(dz->clock_ud);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* inline so that strlen of a literal is folded */
static inline int put(cdc__buf *o, const char *s) { return cdc__dz_put_n(o, s, strlen(s)); }
static inline int put_n(cdc__buf *o, const void *s, size_t n) { return cdc__dz_put_n(o, s, n); }
static int put_str(cdc__buf *o, const char *s, size_t n) { return cdc__render_utf8_string(o, (const uint8_t *)s, n); }
static int put_cstr(cdc__buf *o, const char *s) { return put_str(o, s, strlen(s)); }
#define put_i64 cdc__dz_put_i64

/* Debezium's topic name: the parts joined, characters other than
 * [A-Za-z0-9._-] replaced by '_' (one per UTF-16 unit, as Java counts),
 * at most 249 characters. */
static int put_topic_part(cdc__buf *o, const char *s)
{
    for (const uint8_t *p = (const uint8_t *)s; *p;) {
        uint8_t c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
            c == '-') {
            if (cdc__buf_putc(o, c)) return CDC_ERR_NOMEM;
            p++;
            continue;
        }
        size_t k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        for (size_t i = 1; i < k; i++)
            if (!p[i]) { k = i; break; }
        if (cdc__buf_puts(o, k == 4 ? "__" : "_")) return CDC_ERR_NOMEM;
        p += k;
    }
    return CDC_OK;
}

static int topic_finish(cdc__buf *o)
{
    if (o->len > 249) o->len = 249;
    if (o->len == 1 && o->data[0] == '.') o->data[0] = '_';
    if (o->len == 2 && o->data[0] == '.' && o->data[1] == '.') o->data[0] = o->data[1] = '_';
    return CDC_OK;
}

static uint64_t fnv(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ull;
    for (; *a; a++) h = (h ^ (uint8_t)*a) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (; *b; b++) h = (h ^ (uint8_t)*b) * 1099511628211ull;
    return h;
}

static int need_prefix(cdc_debezium *dz)
{
    if (dz->o.prefix) return CDC_OK;
    return cdc__err_set(&dz->err, CDC_ERR_CONFIG, "topic.prefix is not set (every Debezium topic name starts with it)");
}

/* Starts a record: returns its slot, topic copied in. */
static dz_rec *rec_begin(cdc_debezium *dz, int kind, const uint8_t *topic, size_t tlen)
{
    if (dz->nrecs == dz->caprecs) {
        size_t nc = dz->caprecs ? dz->caprecs * 2 : 8;
        dz_rec *n = cdc__realloc(dz->alloc, dz->recs, nc * sizeof *n);
        if (!n) return NULL;
        dz->recs = n;
        dz->caprecs = nc;
    }
    dz_rec *r = &dz->recs[dz->nrecs];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->t_off = dz->out.len;
    if (put_n(&dz->out, topic, tlen)) return NULL;
    r->t_len = tlen;
    dz->nrecs++;
    return r;
}

static void reset_records(cdc_debezium *dz)
{
    dz->nrecs = 0;
    cdc__buf_reset(&dz->out);
    cdc__err_clear(&dz->err);
}

static ptrdiff_t fail(cdc_debezium *dz, int rc)
{
    if (rc == CDC_ERR_NOMEM && dz->err.code != CDC_ERR_NOMEM) cdc__err_set(&dz->err, rc, "out of memory");
    else if (!dz->err.msg[0]) cdc__err_set(&dz->err, rc, "%s", cdc_strerror(rc));
    dz->nrecs = 0;
    return rc;
}

/* ---- the source schema -------------------------------------------------------- */

static int put_source_schema(cdc_debezium *dz, cdc__buf *o)
{
    return cdc__buf_printf(
        o,
        "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"version\"},"
        "{\"type\":\"string\",\"optional\":false,\"field\":\"connector\"},"
        "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
        "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"
        "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Enum\",\"version\":1,"
        "\"parameters\":{\"allowed\":\"true,first,first_in_data_collection,last_in_data_collection,last,false,"
        "incremental\"},\"default\":\"false\",\"field\":\"snapshot\"},"
        "{\"type\":\"string\",\"optional\":false,\"field\":\"db\"},"
        "{\"type\":\"string\",\"optional\":true,\"field\":\"sequence\"},"
        "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
        "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"},"
        "{\"type\":\"string\",\"optional\":true,\"field\":\"table\"},"
        "{\"type\":\"int64\",\"optional\":false,\"field\":\"server_id\"},"
        "{\"type\":\"string\",\"optional\":true,\"field\":\"gtid\"},"
        "{\"type\":\"string\",\"optional\":false,\"field\":\"file\"},"
        "{\"type\":\"int64\",\"optional\":false,\"field\":\"pos\"},"
        "{\"type\":\"int32\",\"optional\":false,\"field\":\"row\"},"
        "{\"type\":\"int64\",\"optional\":true,\"field\":\"thread\"},"
        "{\"type\":\"string\",\"optional\":true,\"field\":\"query\"}],"
        "\"optional\":false,\"name\":\"io.debezium.connector.%s.Source\",\"version\":1",
        dz->o.connector ? "mariadb" : "mysql");
}

static const char *const k_snapshot[] = {"false", "true", "first", "first_in_data_collection",
                                         "last_in_data_collection", "last", "incremental"};

/*
 * The source block: {"version":..,"connector":..,"name":..,"ts_ms":T,
 * "snapshot":S,"db":D,"sequence":null,"ts_us":..,"ts_ns":..,"table":..,
 * "server_id":..,"gtid":..,"file":..,"pos":..,"row":..,"thread":null,
 * "query":null} in the order of the Source schema.
 */
static int put_source(cdc_debezium *dz, cdc__buf *o, int64_t ts_ms, cdc_debezium_snapshot snap, const char *db,
                      const char *table, uint32_t server_id, const char *gtid, const char *file, uint64_t pos,
                      uint64_t row, int64_t thread)
{
    int rc = put_n(o, dz->src_head.data, dz->src_head.len);
    if (!rc) rc = put_i64(o, ts_ms);
    if (!rc) rc = put(o, ",\"snapshot\":\"");
    if (!rc) rc = put(o, k_snapshot[(unsigned)snap < 7 ? snap : 0]);
    if (!rc) rc = put(o, "\",\"db\":");
    if (!rc) rc = put_cstr(o, db ? db : "");
    if (!rc) rc = put(o, ",\"sequence\":null,\"ts_us\":");
    if (!rc) rc = put_i64(o, ts_ms * 1000);
    if (!rc) rc = put(o, ",\"ts_ns\":");
    if (!rc) rc = put_i64(o, ts_ms * 1000000);
    if (!rc) rc = put(o, ",\"table\":");
    if (!rc) rc = table ? put_cstr(o, table) : put(o, "null");
    if (!rc) rc = put(o, ",\"server_id\":");
    if (!rc) rc = put_i64(o, server_id);
    if (!rc) rc = put(o, ",\"gtid\":");
    if (!rc) rc = gtid && *gtid ? put_cstr(o, gtid) : put(o, "null");
    if (!rc) rc = put(o, ",\"file\":");
    if (!rc) rc = put_cstr(o, file ? file : "");
    if (!rc) rc = put(o, ",\"pos\":");
    if (!rc) rc = put_i64(o, (int64_t)pos);
    if (!rc) rc = put(o, ",\"row\":");
    if (!rc) rc = put_i64(o, (int64_t)row);
    if (!rc) rc = put(o, ",\"thread\":");
    if (!rc) rc = thread >= 0 ? put_i64(o, thread) : put(o, "null");
    if (!rc) rc = put(o, ",\"query\":null}");
    return rc;
}

/* The JSON of s (null for "" when empty_null), from a one-entry cache. */
static int cached_json(cdc__buf *key, cdc__buf *json, const char *s, bool empty_null)
{
    size_t n = strlen(s);
    if (key->data && key->len == n && !memcmp(key->data, s, n)) return CDC_OK;
    cdc__buf_reset(key);
    cdc__buf_reset(json);
    int rc = cdc__buf_append(key, s, n);
    if (!rc) rc = cdc__buf_reserve(key, 1); /* data non-NULL even for "" */
    if (!rc) rc = n || !empty_null ? put_str(json, s, n) : put(json, "null");
    if (rc) cdc__buf_free(key);
    return rc;
}

/* The source block of a row change, from the table's cached pieces. */
static int put_source_row(cdc_debezium *dz, cdc__buf *o, const dz_table *e, int64_t ts_ms,
                          cdc_debezium_snapshot snap, const cdc_change *c)
{
    int rc = cached_json(&dz->last_file, &dz->file_json, cdc_change_file(c), false);
    if (!rc) rc = cached_json(&dz->last_gtid, &dz->gtid_json, cdc_change_gtid(c), true);
    /* ts_us and ts_ns are ts_ms's digits and zeros: one conversion, not three */
    char t[24];
    const char *ms = cdc__dz_i64_digits(t, ts_ms);
    size_t msn = (size_t)(t + 24 - ms);
    bool zeros = ts_ms != 0;
    if (!rc) rc = put_n(o, dz->src_head.data, dz->src_head.len);
    if (!rc) rc = put_n(o, ms, msn);
    if (!rc) rc = put(o, ",\"snapshot\":\"");
    dz->snap_at = o->len;
    if (!rc) rc = put(o, k_snapshot[(unsigned)snap < 7 ? snap : 0]);
    if (!rc) rc = put_n(o, e->src_db.data, e->src_db.len);
    if (!rc) rc = zeros ? put_n(o, ms, msn) : put(o, "0");
    if (!rc && zeros) rc = put(o, "000");
    if (!rc) rc = put(o, ",\"ts_ns\":");
    if (!rc) rc = zeros ? put_n(o, ms, msn) : put(o, "0");
    if (!rc && zeros) rc = put(o, "000000");
    if (!rc) rc = put_n(o, e->src_table.data, e->src_table.len);
    if (!rc) rc = put_i64(o, cdc_change_server_id(c));
    if (!rc) rc = put(o, ",\"gtid\":");
    if (!rc) rc = put_n(o, dz->gtid_json.data, dz->gtid_json.len);
    if (!rc) rc = put(o, ",\"file\":");
    if (!rc) rc = put_n(o, dz->file_json.data, dz->file_json.len);
    if (!rc) rc = put(o, ",\"pos\":");
    if (!rc) rc = put_i64(o, (int64_t)cdc_change_offset(c));
    if (!rc) rc = put(o, ",\"row\":");
    if (!rc) rc = put_i64(o, (int64_t)cdc_change_row(c));
    if (!rc) rc = put(o, ",\"thread\":");
    if (!rc) rc = dz->thread >= 0 ? put_i64(o, dz->thread) : put(o, "null");
    if (!rc) rc = put(o, ",\"query\":null}");
    return rc;
}

/* ---- planning a table ------------------------------------------------------------ */

/* Bytes describing t's columns, to notice a changed definition. */
static int table_signature(const cdc_table *t, cdc__buf *sig)
{
    cdc__buf_reset(sig);
    size_t n = cdc_table_column_count(t);
    int rc = cdc__buf_append(sig, &n, sizeof n);
    for (size_t i = 0; i < n && rc == CDC_OK; i++) {
        const cdc_column *c = cdc_table_column(t, i);
        struct {
            uint8_t type, real_type, geometry_type;
            uint16_t meta, charset;
            uint32_t flags, nl;
        } s = {c->type, c->real_type, c->geometry_type, c->meta, c->charset, c->flags, c->n_labels};
        rc = cdc__buf_append(sig, &s, sizeof s);
        const char *name = cdc_table_column_name(t, i);
        size_t nl = name ? strlen(name) + 1 : 0;
        if (rc == CDC_OK) rc = cdc__buf_append(sig, &nl, sizeof nl);
        if (rc == CDC_OK && nl) rc = cdc__buf_append(sig, name, nl);
        for (uint32_t k = 0; k < c->n_labels && rc == CDC_OK; k++) {
            rc = cdc__buf_append(sig, &c->labels[k].len, sizeof c->labels[k].len);
            if (rc == CDC_OK) rc = cdc__buf_append(sig, c->labels[k].ptr, c->labels[k].len);
        }
    }
    return rc;
}

/* Declared characters of a text column: bytes / the charset's widest char. */
static unsigned char_length(const cdc_column *c)
{
    unsigned bytes = 0;
    switch (c->type) {
    case CDC_T_VARCHAR: case CDC_T_VAR_STRING: case CDC_T_STRING: bytes = c->meta; break;
    default: return 0;
    }
    const char *cs = cdc_collation_charset(c->charset);
    unsigned w = !strcmp(cs, "utf8mb4") ? 4 : !strcmp(cs, "utf8mb3") || !strcmp(cs, "utf8") ? 3
               : !strcmp(cs, "ucs2") || !strcmp(cs, "utf16") ? 2 : !strcmp(cs, "utf32") ? 4 : 1;
    return bytes / w;
}

static int schema_struct_fields(cdc_debezium *dz, dz_table *e, cdc__buf *o, bool key)
{
    int rc = put(o, "[");
    bool first = true;
    size_t n = key ? e->nkey : e->ncols;
    for (size_t j = 0; j < n && rc == CDC_OK; j++) {
        size_t i = key ? e->key_idx[j] : j;
        if (!key && !e->in_value[i]) continue;
        if (!first) rc = put(o, ",");
        first = false;
        dz_col dc = e->cols[i];
        if (!rc && dc.mask && dc.map == DZ_M_STRING) dc.optional = dc.optional; /* masks keep the string type */
        if (!rc) rc = cdc__dz_schema_column(&dc, &dz->o.modes, o);
        if (!rc) rc = put(o, ",\"field\":");
        if (!rc) rc = put_cstr(o, e->names[i]);
        if (!rc) rc = put(o, "}");
    }
    return rc ? rc : put(o, "]");
}

static int build_heads(cdc_debezium *dz, dz_table *e)
{
    int rc = CDC_OK;
    cdc__buf_reset(&e->key_head);
    cdc__buf_reset(&e->value_head);
    const char *topic = (const char *)e->topic.data;
    int tl = (int)e->topic.len;
    if (dz->o.key_schemas && e->nkey) {
        cdc__buf *o = &e->key_head;
        rc = put(o, "{\"schema\":{\"type\":\"struct\",\"fields\":");
        if (!rc) rc = schema_struct_fields(dz, e, o, true);
        if (!rc) rc = cdc__buf_printf(o, ",\"optional\":false,\"name\":\"%.*s.Key\"},\"payload\":", tl, topic);
    }
    if (!rc && dz->o.value_schemas) {
        cdc__buf *o = &e->value_head;
        cdc__buf *f = &dz->scratch2;
        cdc__buf_reset(f);
        rc = schema_struct_fields(dz, e, f, false);
        if (!rc) rc = put(o, "{\"schema\":{\"type\":\"struct\",\"fields\":[");
        for (int k = 0; k < 2 && !rc; k++) {
            rc = put(o, "{\"type\":\"struct\",\"fields\":");
            if (!rc) rc = put_n(o, f->data, f->len);
            if (!rc)
                rc = cdc__buf_printf(o, ",\"optional\":true,\"name\":\"%.*s.Value\",\"field\":\"%s\"},", tl, topic,
                                     k ? "after" : "before");
        }
        if (!rc) rc = put_source_schema(dz, o);
        if (!rc)
            rc = put(o, ",\"field\":\"source\"},{\"type\":\"struct\",\"fields\":["
                        "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
                        "{\"type\":\"int64\",\"optional\":false,\"field\":\"total_order\"},"
                        "{\"type\":\"int64\",\"optional\":false,\"field\":\"data_collection_order\"}],"
                        "\"optional\":true,\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"},"
                        "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
                        "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},"
                        "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
                        "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"}],");
        if (!rc)
            rc = cdc__buf_printf(o, "\"optional\":false,\"name\":\"%.*s.Envelope\",\"version\":2},\"payload\":", tl,
                                 topic);
    }
    return rc;
}

/* Plans t's columns, key and schemas into e (fresh or being replanned). */
static int plan_table(cdc_debezium *dz, dz_table *e, const cdc_table *t)
{
    const cdc_allocator *a = dz->alloc;
    /* A TABLE_MAP without column metadata (binlog_row_metadata=MINIMAL,
     * perhaps only for a while: the setting is global and dynamic) says
     * nothing of the primary key. Rather than no key, which sends the
     * table's records to random partitions and breaks per-key order, the
     * key columns of this table's previous plan are kept when their names
     * (from information_schema then) are still there. */
    bool no_key_meta = t->raw && !t->cacheable && t->ncols > 0;
    size_t n_old = 0;
    char **old_keys = NULL;
    if (no_key_meta && e->nkey && e->names) {
        old_keys = cdc__calloc(a, e->nkey, sizeof *old_keys);
        if (!old_keys) return CDC_ERR_NOMEM;
        for (size_t j = 0; j < e->nkey; j++) {
            old_keys[j] = e->names[e->key_idx[j]];
            e->names[e->key_idx[j]] = NULL; /* moved */
        }
        n_old = e->nkey;
    }
    if (e->names)
        for (size_t i = 0; i < e->ncols; i++) cdc__free(a, e->names[i]);
    cdc__free(a, e->names);
    cdc__free(a, e->cols);
    cdc__free(a, e->in_value);
    cdc__free(a, e->key_idx);
    e->names = NULL;
    e->cols = NULL;
    e->in_value = NULL;
    e->key_idx = NULL;
    e->nkey = 0;
    size_t n = cdc_table_column_count(t);
    e->ncols = n;
    e->names = cdc__calloc(a, n ? n : 1, sizeof *e->names);
    e->cols = cdc__calloc(a, n ? n : 1, sizeof *e->cols);
    e->in_value = cdc__calloc(a, n ? n : 1, sizeof *e->in_value);
    e->key_idx = cdc__calloc(a, n ? n : 1, sizeof *e->key_idx);
    if (!e->names || !e->cols || !e->in_value || !e->key_idx) {
        for (size_t j = 0; j < n_old; j++) cdc__free(a, old_keys[j]);
        cdc__free(a, old_keys);
        return CDC_ERR_NOMEM;
    }
    char fq[1024];
    /* message.key.columns for this table, if any */
    snprintf(fq, sizeof fq, "%s.%s", e->db, e->name);
    const dz_keyrule *kr = NULL;
    for (size_t k = 0; k < dz->o.nkeys && !kr; k++)
        if (regexec(&dz->o.keys[k].table, fq, 0, NULL, 0) == 0) kr = &dz->o.keys[k];
    for (size_t i = 0; i < n; i++) {
        const char *name = cdc_table_column_name(t, i);
        char fallback[32];
        if (!name) {
            snprintf(fallback, sizeof fallback, "col_%zu", i + 1);
            name = fallback;
        }
        if (!(e->names[i] = dup(a, name))) {
            for (size_t j = 0; j < n_old; j++) cdc__free(a, old_keys[j]);
            cdc__free(a, old_keys);
            return CDC_ERR_NOMEM;
        }
        dz_col *dc = &e->cols[i];
        cdc__dz_plan_column(cdc_table_column(t, i), &dz->o.modes, dc);
        snprintf(fq, sizeof fq, "%s.%s.%s", e->db, e->name, name);
        e->in_value[i] = dz->o.include.n ? relist_match(&dz->o.include, fq) : !relist_match(&dz->o.exclude, fq);
        if (dc->map == DZ_M_STRING) {
            for (size_t r = 0; r < dz->o.nrules; r++) {
                const dz_colrule *ru = &dz->o.rules[r];
                if (!relist_match(&ru->cols, fq)) continue;
                if (ru->kind == 1) dc->trunc_n = ru->n;
                else if (ru->kind == 2) { dc->mask = 1; dc->mask_n = ru->n; }
                else {
                    dc->mask = ru->kind == 3 ? 2 : 3;
                    dc->hash_alg = ru->alg;
                    dc->salt = ru->salt;
                    dc->salt_len = strlen(ru->salt);
                    dc->char_len = char_length(dc->col);
                }
            }
        }
        bool is_key = false;
        if (kr) {
            for (size_t k = 0; k < kr->ncols; k++)
                if (!strcasecmp(kr->cols[k], name)) is_key = true;
        } else if (n_old) {
            for (size_t k = 0; k < n_old; k++)
                if (old_keys[k] && !strcmp(old_keys[k], name)) is_key = true;
        } else {
            is_key = cdc_table_column_is_pk(t, i) != 0;
        }
        if (is_key) e->key_idx[e->nkey++] = i;
    }
    if (n_old && e->nkey != n_old) e->nkey = 0; /* a key column is gone: no key, as the map says */
    for (size_t j = 0; j < n_old; j++) cdc__free(a, old_keys[j]);
    cdc__free(a, old_keys);
    cdc__free(a, e->name_off);
    e->name_off = cdc__calloc(a, n + 1, sizeof *e->name_off);
    if (!e->name_off) return CDC_ERR_NOMEM;
    cdc__buf_reset(&e->name_json);
    int rc = CDC_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        e->name_off[i] = e->name_json.len;
        rc = put_cstr(&e->name_json, e->names[i]);
        if (!rc) rc = put(&e->name_json, ":");
    }
    e->name_off[n] = e->name_json.len;
    cdc__buf_reset(&e->src_db);
    cdc__buf_reset(&e->src_table);
    if (!rc) rc = put(&e->src_db, "\",\"db\":");
    if (!rc) rc = put_cstr(&e->src_db, e->db);
    if (!rc) rc = put(&e->src_db, ",\"sequence\":null,\"ts_us\":");
    if (!rc) rc = put(&e->src_table, ",\"table\":");
    if (!rc) rc = put_cstr(&e->src_table, e->name);
    if (!rc) rc = put(&e->src_table, ",\"server_id\":");
    if (rc) return rc;
    cdc__buf_reset(&e->topic);
    rc = put_topic_part(&e->topic, dz->o.prefix);
    if (!rc) rc = put_topic_part(&e->topic, dz->o.delim);
    if (!rc) rc = put_topic_part(&e->topic, e->db);
    if (!rc) rc = put_topic_part(&e->topic, dz->o.delim);
    if (!rc) rc = put_topic_part(&e->topic, e->name);
    if (!rc) rc = topic_finish(&e->topic);
    if (!rc) rc = build_heads(dz, e);
    return rc;
}

/* The cache entry for t, planned and current. */
static int table_for(cdc_debezium *dz, const cdc_table *t, dz_table **out)
{
    const char *db = cdc_table_db(t), *name = cdc_table_name(t);
    uint64_t h = fnv(db, name);
    dz_table *e = NULL;
    for (size_t i = 0; i < dz->ntables; i++) {
        dz_table *x = dz->tables[i];
        if (x->hash == h && !strcmp(x->db, db) && !strcmp(x->name, name)) { e = x; break; }
    }
    /* the same view (and id) as last time: nothing can have changed, since
     * a table id names one definition for as long as the server keeps it */
    if (e && e->last_t == t && e->last_id == cdc_table_id(t)) { *out = e; return CDC_OK; }
    int rc = table_signature(t, &dz->scratch);
    if (rc) return rc;
    if (e && e->sig.len == dz->scratch.len && !memcmp(e->sig.data, dz->scratch.data, e->sig.len)) {
        e->last_t = t;
        e->last_id = cdc_table_id(t);
        *out = e;
        return CDC_OK;
    }
    if (!e) {
        if (dz->ntables == dz->captables) {
            size_t nc = dz->captables ? dz->captables * 2 : 16;
            dz_table **nt = cdc__realloc(dz->alloc, dz->tables, nc * sizeof *nt);
            if (!nt) return CDC_ERR_NOMEM;
            dz->tables = nt;
            dz->captables = nc;
        }
        e = cdc__calloc(dz->alloc, 1, sizeof *e);
        if (!e) return CDC_ERR_NOMEM;
        cdc__buf_init(&e->sig, dz->alloc);
        cdc__buf_init(&e->topic, dz->alloc);
        cdc__buf_init(&e->key_head, dz->alloc);
        cdc__buf_init(&e->value_head, dz->alloc);
        cdc__buf_init(&e->src_db, dz->alloc);
        cdc__buf_init(&e->src_table, dz->alloc);
        cdc__buf_init(&e->name_json, dz->alloc);
        e->db = dup(dz->alloc, db);
        e->name = dup(dz->alloc, name);
        size_t cl = strlen(db) + strlen(name) + 2;
        e->collection = cdc__malloc(dz->alloc, cl);
        if (!e->db || !e->name || !e->collection) { table_free(dz->alloc, e); return CDC_ERR_NOMEM; }
        snprintf(e->collection, cl, "%s.%s", db, name);
        e->hash = h;
        dz->tables[dz->ntables++] = e;
    }
    cdc__buf_reset(&e->sig);
    rc = cdc__buf_append(&e->sig, dz->scratch.data, dz->scratch.len);
    if (!rc) rc = plan_table(dz, e, t);
    if (rc) {
        cdc__buf_reset(&e->sig); /* replan next time */
        e->last_t = NULL;
        return rc;
    }
    e->last_t = t;
    e->last_id = cdc_table_id(t);
    *out = e;
    return CDC_OK;
}

/* ---- row changes -------------------------------------------------------------- */

typedef const cdc_value *(*image_fn)(const cdc_change *c, size_t i);

static int put_row(cdc_debezium *dz, dz_table *e, const cdc_change *c, image_fn img, cdc__buf *o)
{
    int rc = put(o, "{");
    bool first = true;
    for (size_t i = 0; i < e->ncols && rc == CDC_OK; i++) {
        if (!e->in_value[i]) continue;
        if (!first) rc = put(o, ",");
        first = false;
        if (!rc) rc = put_n(o, e->name_json.data + e->name_off[i], e->name_off[i + 1] - e->name_off[i]);
        if (!rc) rc = cdc__dz_value(&e->cols[i], &dz->o.modes, img(c, i), o, &dz->scratch, &dz->err);
        if (rc && rc != CDC_ERR_NOMEM)
            cdc__err_prefix(&dz->err, "%s.%s column %zu `%s` %s", e->db, e->name, i + 1, e->names[i],
                            cdc_column_type_name(e->cols[i].col));
    }
    return rc ? rc : put(o, "}");
}

static int put_key_payload(cdc_debezium *dz, dz_table *e, const cdc_change *c, image_fn img, cdc__buf *o)
{
    int rc = put(o, "{");
    for (size_t j = 0; j < e->nkey && rc == CDC_OK; j++) {
        size_t i = e->key_idx[j];
        if (j) rc = put(o, ",");
        if (!rc) rc = put_n(o, e->name_json.data + e->name_off[i], e->name_off[i + 1] - e->name_off[i]);
        if (!rc) rc = cdc__dz_value(&e->cols[i], &dz->o.modes, img(c, i), o, &dz->scratch, &dz->err);
        if (rc && rc != CDC_ERR_NOMEM)
            cdc__err_prefix(&dz->err, "%s.%s key column `%s`", e->db, e->name, e->names[i]);
    }
    return rc ? rc : put(o, "}");
}

/* Appends the key (schema head + payload) of the image to out; sets
 * r->k_*. */
static int put_key(cdc_debezium *dz, dz_table *e, const cdc_change *c, image_fn img, dz_rec *r)
{
    if (!e->nkey) { r->k_null = true; return CDC_OK; }
    cdc__buf *o = &dz->out;
    r->k_off = o->len;
    int rc = put_n(o, e->key_head.data, e->key_head.len);
    if (!rc) rc = put_key_payload(dz, e, c, img, o);
    if (!rc && e->key_head.len) rc = put(o, "}");
    r->k_len = o->len - r->k_off;
    return rc;
}

static const cdc_value *no_image(const cdc_change *c, size_t i)
{
    (void)c;
    (void)i;
    return NULL;
}

/* One CHANGE record with op; before/after images may be no_image. */
static int emit_change(cdc_debezium *dz, dz_table *e, const cdc_change *c, char op, image_fn before, image_fn after,
                       image_fn keyimg, cdc_debezium_snapshot snap, int64_t now)
{
    dz_rec *r = rec_begin(dz, CDC_DEBEZIUM_RECORD_CHANGE, e->topic.data, e->topic.len);
    if (!r) return CDC_ERR_NOMEM;
    size_t ri = dz->nrecs - 1;
    int rc = put_key(dz, e, c, keyimg, r);
    if (rc) return rc;
    r = &dz->recs[ri];
    cdc__buf *o = &dz->out;
    r->v_off = o->len;
    rc = put_n(o, e->value_head.data, e->value_head.len);
    if (!rc) rc = put(o, "{\"before\":");
    if (!rc) rc = before == no_image ? put(o, "null") : put_row(dz, e, c, before, o);
    if (!rc) rc = put(o, ",\"after\":");
    if (!rc) rc = after == no_image ? put(o, "null") : put_row(dz, e, c, after, o);
    if (!rc) rc = put(o, ",\"source\":");
    if (!rc) {
        int64_t ts = cdc_change_ts_ms(c);
        if (ts <= 0) ts = now / 1000000;
        rc = put_source_row(dz, o, e, ts, snap, c);
        dz->recs[ri].m_at = dz->snap_at;
    }
    if (!rc) rc = put(o, ",\"transaction\":");
    if (!rc) {
        if (dz->in_txn && dz->o.txn_meta) {
            if (e->txn_seq != dz->txn_seq) {
                e->txn_seq = dz->txn_seq;
                e->txn_count = 0;
                if (dz->ntxn_tables == dz->captxn_tables) {
                    size_t nc = dz->captxn_tables ? dz->captxn_tables * 2 : 8;
                    dz_table **nt = cdc__realloc(dz->alloc, dz->txn_tables, nc * sizeof *nt);
                    if (!nt) return CDC_ERR_NOMEM;
                    dz->txn_tables = nt;
                    dz->captxn_tables = nc;
                }
                dz->txn_tables[dz->ntxn_tables++] = e;
            }
            dz->txn_total++;
            e->txn_count++;
            rc = put(o, "{\"id\":");
            if (!rc) rc = put_n(o, dz->txn_id.data, dz->txn_id.len);
            if (!rc) rc = put(o, ",\"total_order\":");
            if (!rc) rc = put_i64(o, (int64_t)dz->txn_total);
            if (!rc) rc = put(o, ",\"data_collection_order\":");
            if (!rc) rc = put_i64(o, (int64_t)e->txn_count);
            if (!rc) rc = put(o, "}");
        } else {
            rc = put(o, "null");
        }
    }
    if (!rc) {
        char ops[2] = {op, 0};
        rc = put(o, ",\"op\":\"");
        if (!rc) rc = put(o, ops);
        if (!rc) rc = put(o, "\",\"ts_ms\":");
        if (!rc && now >= 1000000) {
            /* ts_ms and ts_us are leading digits of ts_ns: one conversion */
            char t[24];
            const char *ns = cdc__dz_i64_digits(t, now);
            size_t n = (size_t)(t + 24 - ns);
            rc = put_n(o, ns, n - 6);
            if (!rc) rc = put(o, ",\"ts_us\":");
            if (!rc) rc = put_n(o, ns, n - 3);
            if (!rc) rc = put(o, ",\"ts_ns\":");
            if (!rc) rc = put_n(o, ns, n);
        } else if (!rc) {
            rc = put_i64(o, now / 1000000);
            if (!rc) rc = put(o, ",\"ts_us\":");
            if (!rc) rc = put_i64(o, now / 1000);
            if (!rc) rc = put(o, ",\"ts_ns\":");
            if (!rc) rc = put_i64(o, now);
        }
        if (!rc) rc = put(o, "}");
        if (!rc && e->value_head.len) rc = put(o, "}");
    }
    dz->recs[ri].v_len = o->len - dz->recs[ri].v_off;
    return rc;
}

static int emit_tombstone(cdc_debezium *dz, dz_table *e, const cdc_change *c, image_fn keyimg)
{
    dz_rec *r = rec_begin(dz, CDC_DEBEZIUM_RECORD_TOMBSTONE, e->topic.data, e->topic.len);
    if (!r) return CDC_ERR_NOMEM;
    size_t ri = dz->nrecs - 1;
    int rc = put_key(dz, e, c, keyimg, r);
    dz->recs[ri].v_null = true;
    return rc;
}

CDC_EXTERN ptrdiff_t cdc_debezium_change(cdc_debezium *dz, const cdc_change *c, cdc_debezium_snapshot snap)
{
    if (!dz) return CDC_ERR_INVALID;
    reset_records(dz);
    if (!c) return fail(dz, cdc__err_set(&dz->err, CDC_ERR_INVALID, "cdc_debezium_change: change is NULL"));
    if ((unsigned)snap > CDC_DEBEZIUM_SNAPSHOT_INCREMENTAL)
        return fail(dz, cdc__err_set(&dz->err, CDC_ERR_INVALID, "cdc_debezium_change: snapshot marker %d is unknown",
                                     (int)snap));
    int rc = need_prefix(dz);
    if (rc) return fail(dz, rc);
    char op = cdc_change_op(c);
    unsigned skip = op == 'c' ? SKIP_C : op == 'u' ? SKIP_U : op == 'd' ? SKIP_D : 0;
    if (op != 'c' && op != 'u' && op != 'd' && op != 'r')
        return fail(dz, cdc__err_set(&dz->err, CDC_ERR_INVALID, "cdc_debezium_change: unknown op '%c'", op));
    if (dz->o.skip & skip) return 0;
    const cdc_table *t = cdc_change_table(c);
    dz_table *e;
    rc = table_for(dz, t, &e);
    if (rc) return fail(dz, rc);
    int64_t now = now_ns(dz);
    switch (op) {
    case 'c':
    case 'r': rc = emit_change(dz, e, c, op, no_image, cdc_change_after, cdc_change_after, snap, now); break;
    case 'd':
        rc = emit_change(dz, e, c, 'd', cdc_change_before, no_image, cdc_change_before, snap, now);
        if (!rc && dz->o.tombstones) rc = emit_tombstone(dz, e, c, cdc_change_before);
        break;
    case 'u': {
        bool key_changed = false;
        if (e->nkey) {
            /* a changed key is a delete of the old row and a create of the new */
            cdc__buf *k = &dz->scratch2;
            cdc__buf_reset(k);
            rc = put_key_payload(dz, e, c, cdc_change_before, k);
            size_t bl = k->len;
            if (!rc) rc = put_key_payload(dz, e, c, cdc_change_after, k);
            if (!rc) key_changed = k->len - bl != bl || memcmp(k->data, k->data + bl, bl) != 0;
        }
        if (rc) break;
        if (!key_changed) {
            rc = emit_change(dz, e, c, 'u', cdc_change_before, cdc_change_after, cdc_change_after, snap, now);
        } else {
            rc = emit_change(dz, e, c, 'd', cdc_change_before, no_image, cdc_change_before, snap, now);
            if (!rc && dz->o.tombstones) rc = emit_tombstone(dz, e, c, cdc_change_before);
            if (!rc) rc = emit_change(dz, e, c, 'c', no_image, cdc_change_after, cdc_change_after, snap, now);
        }
        break;
    }
    }
    if (rc) return fail(dz, rc);
    return (ptrdiff_t)dz->nrecs;
}

/* ---- snapshot markers ----------------------------------------------------------- */

/* Rewrites the "true" marker of every record in dz->out to mark. */
static int remark(cdc_debezium *dz, cdc_debezium_snapshot mark)
{
    static const size_t old = 4; /* strlen("true"): held rows are rendered with TRUE */
    const char *m = k_snapshot[mark];
    size_t nw = strlen(m);
    cdc__buf *o = &dz->out;
    for (size_t i = 0; i < dz->nrecs; i++) {
        dz_rec *r = &dz->recs[i];
        if (!r->m_at || r->v_null) continue;
        size_t at = r->m_at;
        if (nw > old && cdc__buf_reserve(o, nw - old)) return CDC_ERR_NOMEM;
        memmove(o->data + at + nw, o->data + at + old, o->len - at - old);
        memcpy(o->data + at, m, nw);
        o->len = o->len + nw - old;
        r->v_len = r->v_len + nw - old;
        for (size_t j = i + 1; j < dz->nrecs; j++) { /* later records moved */
            dz_rec *q = &dz->recs[j];
            q->t_off = q->t_off + nw - old;
            q->k_off = q->k_off + nw - old;
            q->v_off = q->v_off + nw - old;
            if (q->m_at) q->m_at = q->m_at + nw - old;
        }
    }
    return CDC_OK;
}

/* Swaps the records just rendered with the held ones. */
static void swap_held(cdc_debezium *dz)
{
    cdc__buf b = dz->out;
    dz->out = dz->h_out;
    dz->h_out = b;
    dz_rec *r = dz->recs;
    dz->recs = dz->h_recs;
    dz->h_recs = r;
    size_t n = dz->nrecs, cap = dz->caprecs;
    dz->nrecs = dz->h_n;
    dz->caprecs = dz->h_cap;
    dz->h_n = n;
    dz->h_cap = cap;
}

CDC_EXTERN ptrdiff_t cdc_debezium_snapshot_row(cdc_debezium *dz, const cdc_change *c)
{
    if (!dz) return CDC_ERR_INVALID;
    if (!c) {
        reset_records(dz);
        return fail(dz, cdc__err_set(&dz->err, CDC_ERR_INVALID, "cdc_debezium_snapshot_row: change is NULL"));
    }
    const cdc_table *t = cdc_change_table(c);
    const char *db = cdc_table_db(t), *name = cdc_table_name(t);
    size_t dl = strlen(db), nl = strlen(name);
    bool new_table = !dz->h_valid || dz->h_table.len != dl + 1 + nl || memcmp(dz->h_table.data, db, dl) ||
                     memcmp(dz->h_table.data + dl + 1, name, nl);
    ptrdiff_t n = cdc_debezium_change(dz, c, CDC_DEBEZIUM_SNAPSHOT_TRUE);
    if (n < 0) return n; /* the held row stays held */
    /* The held row's marker is final now, by Debezium's precedence:
     * last of the snapshot, first of it, last of its table, first of its
     * table, else true. */
    cdc_debezium_snapshot mark = CDC_DEBEZIUM_SNAPSHOT_TRUE;
    if (dz->h_valid)
        mark = dz->h_first ? CDC_DEBEZIUM_SNAPSHOT_FIRST
               : new_table ? CDC_DEBEZIUM_SNAPSHOT_LAST_IN_DATA_COLLECTION
               : dz->h_first_in_table ? CDC_DEBEZIUM_SNAPSHOT_FIRST_IN_DATA_COLLECTION
                                      : CDC_DEBEZIUM_SNAPSHOT_TRUE;
    if (new_table) {
        cdc__buf_reset(&dz->h_table);
        if (put_n(&dz->h_table, db, dl) || cdc__buf_putc(&dz->h_table, 0) || put_n(&dz->h_table, name, nl))
            return fail(dz, CDC_ERR_NOMEM);
    }
    if (!dz->h_valid) dz->h_n = 0;
    swap_held(dz); /* out: the held row; held: this one */
    dz->h_first = !dz->snap_started;
    dz->h_first_in_table = new_table;
    dz->h_valid = true;
    dz->snap_started = true;
    int rc = mark != CDC_DEBEZIUM_SNAPSHOT_TRUE ? remark(dz, mark) : CDC_OK;
    if (rc) return fail(dz, rc);
    return (ptrdiff_t)dz->nrecs;
}

CDC_EXTERN ptrdiff_t cdc_debezium_snapshot_end(cdc_debezium *dz)
{
    if (!dz) return CDC_ERR_INVALID;
    reset_records(dz);
    bool held = dz->h_valid;
    dz->h_valid = false;
    dz->snap_started = false;
    if (!held) return 0;
    swap_held(dz);
    dz->h_n = 0;
    int rc = remark(dz, CDC_DEBEZIUM_SNAPSHOT_LAST);
    if (rc) return fail(dz, rc);
    return (ptrdiff_t)dz->nrecs;
}

CDC_EXTERN void cdc_debezium_snapshot_reset(cdc_debezium *dz)
{
    if (!dz) return;
    dz->h_valid = false;
    dz->h_n = 0;
    dz->snap_started = false;
}

/* ---- transactions ------------------------------------------------------------- */

static const char k_txn_key_schema[] =
    "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"id\"}],"
    "\"optional\":false,\"name\":\"io.debezium.connector.common.TransactionMetadataKey\",\"version\":1},"
    "\"payload\":";
static const char k_txn_value_schema[] =
    "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"status\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"event_count\"},"
    "{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":["
    "{\"type\":\"string\",\"optional\":false,\"field\":\"data_collection\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"event_count\"}],\"optional\":true,"
    "\"name\":\"event.collection\",\"version\":1},\"optional\":true,\"field\":\"data_collections\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"}],\"optional\":false,"
    "\"name\":\"io.debezium.connector.common.TransactionMetadataValue\",\"version\":1},\"payload\":";

static int txn_record(cdc_debezium *dz, bool end, int64_t ts_ms)
{
    cdc__buf *t = &dz->scratch2;
    cdc__buf_reset(t);
    int rc = put_topic_part(t, dz->o.prefix);
    if (!rc) rc = put_topic_part(t, dz->o.delim);
    if (!rc) rc = put_topic_part(t, dz->o.txn_topic);
    if (!rc) rc = topic_finish(t);
    if (rc) return rc;
    dz_rec *r = rec_begin(dz, CDC_DEBEZIUM_RECORD_TRANSACTION, t->data, t->len);
    if (!r) return CDC_ERR_NOMEM;
    size_t ri = dz->nrecs - 1;
    cdc__buf *o = &dz->out;
    r->k_off = o->len;
    if (dz->o.key_schemas) rc = put(o, k_txn_key_schema);
    if (!rc) rc = put(o, "{\"id\":");
    if (!rc) rc = put_n(o, dz->txn_id.data, dz->txn_id.len);
    if (!rc) rc = put(o, dz->o.key_schemas ? "}}" : "}");
    dz->recs[ri].k_len = o->len - dz->recs[ri].k_off;
    dz->recs[ri].v_off = o->len;
    if (!rc && dz->o.value_schemas) rc = put(o, k_txn_value_schema);
    if (!rc) rc = put(o, end ? "{\"status\":\"END\",\"id\":" : "{\"status\":\"BEGIN\",\"id\":");
    if (!rc) rc = put_n(o, dz->txn_id.data, dz->txn_id.len);
    if (!rc && !end) rc = put(o, ",\"event_count\":null,\"data_collections\":null");
    if (!rc && end) {
        rc = put(o, ",\"event_count\":");
        if (!rc) rc = put_i64(o, (int64_t)dz->txn_total);
        if (!rc) rc = put(o, ",\"data_collections\":[");
        for (size_t i = 0; i < dz->ntxn_tables && !rc; i++) {
            dz_table *e = dz->txn_tables[i];
            if (i) rc = put(o, ",");
            if (!rc) rc = put(o, "{\"data_collection\":");
            if (!rc) rc = put_cstr(o, e->collection);
            if (!rc) rc = put(o, ",\"event_count\":");
            if (!rc) rc = put_i64(o, (int64_t)e->txn_count);
            if (!rc) rc = put(o, "}");
        }
        if (!rc) rc = put(o, "]");
    }
    if (!rc) rc = put(o, ",\"ts_ms\":");
    if (!rc) rc = put_i64(o, ts_ms);
    if (!rc) rc = put(o, dz->o.value_schemas ? "}}" : "}");
    dz->recs[ri].v_len = o->len - dz->recs[ri].v_off;
    return rc;
}

CDC_EXTERN ptrdiff_t cdc_debezium_begin(cdc_debezium *dz, const char *id, int64_t ts_ms)
{
    if (!dz) return CDC_ERR_INVALID;
    reset_records(dz);
    if (!id || !*id)
        return fail(dz, cdc__err_set(&dz->err, CDC_ERR_INVALID,
                                     "cdc_debezium_begin: the transaction id is empty (use the GTID, or "
                                     "file=<binlog file>,pos=<offset>)"));
    int rc = need_prefix(dz);
    if (rc) return fail(dz, rc);
    cdc__buf_reset(&dz->txn_id);
    rc = put_cstr(&dz->txn_id, id);
    if (rc) return fail(dz, rc);
    dz->in_txn = true;
    dz->thread = -1;
    dz->txn_seq++;
    dz->txn_total = 0;
    dz->ntxn_tables = 0;
    if (!dz->o.txn_meta) return 0;
    rc = txn_record(dz, false, ts_ms);
    if (rc) return fail(dz, rc);
    return (ptrdiff_t)dz->nrecs;
}

CDC_EXTERN ptrdiff_t cdc_debezium_commit(cdc_debezium *dz, int64_t ts_ms)
{
    if (!dz) return CDC_ERR_INVALID;
    reset_records(dz);
    if (!dz->in_txn) return 0;
    dz->in_txn = false;
    if (!dz->o.txn_meta) return 0;
    int rc = need_prefix(dz);
    if (!rc) rc = txn_record(dz, true, ts_ms);
    dz->ntxn_tables = 0;
    if (rc) return fail(dz, rc);
    return (ptrdiff_t)dz->nrecs;
}

/* ---- schema changes and heartbeats ------------------------------------------------ */

static const char k_column_schema[] =
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
    "{\"type\":\"int32\",\"optional\":false,\"field\":\"jdbcType\"},"
    "{\"type\":\"int32\",\"optional\":true,\"field\":\"nativeType\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"typeName\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"typeExpression\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"charsetName\"},"
    "{\"type\":\"int32\",\"optional\":true,\"field\":\"length\"},"
    "{\"type\":\"int32\",\"optional\":true,\"field\":\"scale\"},"
    "{\"type\":\"int32\",\"optional\":false,\"field\":\"position\"},"
    "{\"type\":\"boolean\",\"optional\":true,\"field\":\"optional\"},"
    "{\"type\":\"boolean\",\"optional\":true,\"field\":\"autoIncremented\"},"
    "{\"type\":\"boolean\",\"optional\":true,\"field\":\"generated\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"comment\"},"
    "{\"type\":\"boolean\",\"optional\":true,\"field\":\"hasDefaultValue\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"defaultValueExpression\"},"
    "{\"type\":\"array\",\"items\":{\"type\":\"string\",\"optional\":false},\"optional\":true,\"field\":\"enumValues\"}],"
    "\"optional\":false,\"name\":\"io.debezium.connector.schema.Column\",\"version\":1}";

static int put_schema_change_schema(cdc_debezium *dz, cdc__buf *o)
{
    const char *conn = dz->o.connector ? "mariadb" : "mysql";
    int rc = put(o, "{\"schema\":{\"type\":\"struct\",\"fields\":[");
    if (!rc) rc = put_source_schema(dz, o);
    if (!rc)
        rc = put(o, ",\"field\":\"source\"},{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"
                    "{\"type\":\"string\",\"optional\":true,\"field\":\"databaseName\"},"
                    "{\"type\":\"string\",\"optional\":true,\"field\":\"schemaName\"},"
                    "{\"type\":\"string\",\"optional\":true,\"field\":\"ddl\"},"
                    "{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":["
                    "{\"type\":\"string\",\"optional\":false,\"field\":\"type\"},"
                    "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
                    "{\"type\":\"struct\",\"fields\":["
                    "{\"type\":\"string\",\"optional\":true,\"field\":\"defaultCharsetName\"},"
                    "{\"type\":\"array\",\"items\":{\"type\":\"string\",\"optional\":false},\"optional\":true,"
                    "\"field\":\"primaryKeyColumnNames\"},{\"type\":\"array\",\"items\":");
    if (!rc) rc = put(o, k_column_schema);
    if (!rc)
        rc = cdc__buf_printf(o,
                             ",\"optional\":false,\"field\":\"columns\"},"
                             "{\"type\":\"string\",\"optional\":true,\"field\":\"comment\"},"
                             "{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":["
                             "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
                             "{\"type\":\"string\",\"optional\":false,\"field\":\"value\"}],\"optional\":false,"
                             "\"name\":\"io.debezium.connector.schema.Attribute\",\"version\":1},\"optional\":true,"
                             "\"field\":\"attributes\"}],\"optional\":true,"
                             "\"name\":\"io.debezium.connector.schema.Table\",\"version\":1,\"field\":\"table\"}],"
                             "\"optional\":false,\"name\":\"io.debezium.connector.schema.Change\",\"version\":1},"
                             "\"optional\":false,\"field\":\"tableChanges\"}],\"optional\":false,"
                             "\"name\":\"io.debezium.connector.%s.SchemaChangeValue\",\"version\":1},\"payload\":",
                             conn);
    return rc;
}

CDC_EXTERN ptrdiff_t cdc_debezium_schema_change(cdc_debezium *dz, const cdc_query *q, cdc_debezium_snapshot snap)
{
    if (!dz) return CDC_ERR_INVALID;
    reset_records(dz);
    if (!q) return fail(dz, cdc__err_set(&dz->err, CDC_ERR_INVALID, "cdc_debezium_schema_change: query is NULL"));
    int rc = need_prefix(dz);
    if (rc) return fail(dz, rc);
    if (!dz->o.schema_changes) return 0;
    cdc__buf *t = &dz->scratch2;
    cdc__buf_reset(t);
    rc = put_topic_part(t, dz->o.prefix);
    if (!rc) rc = topic_finish(t);
    if (rc) return fail(dz, rc);
    dz_rec *r = rec_begin(dz, CDC_DEBEZIUM_RECORD_SCHEMA_CHANGE, t->data, t->len);
    if (!r) return fail(dz, CDC_ERR_NOMEM);
    cdc_bytes dbb = cdc_query_db(q), sql = cdc_query_sql(q);
    char db[256];
    snprintf(db, sizeof db, "%.*s", (int)(dbb.len < 255 ? dbb.len : 255), dbb.ptr ? (const char *)dbb.ptr : "");
    const cdc_event *ev = cdc_query_event(q);
    cdc__buf *o = &dz->out;
    r->k_off = o->len;
    if (dz->o.key_schemas)
        rc = cdc__buf_printf(o,
                             "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,"
                             "\"field\":\"databaseName\"}],\"optional\":false,"
                             "\"name\":\"io.debezium.connector.%s.SchemaChangeKey\",\"version\":1},\"payload\":",
                             dz->o.connector ? "mariadb" : "mysql");
    if (!rc) rc = put(o, "{\"databaseName\":");
    if (!rc) rc = put_cstr(o, db);
    if (!rc) rc = put(o, dz->o.key_schemas ? "}}" : "}");
    dz->recs[0].k_len = o->len - dz->recs[0].k_off;
    dz->recs[0].v_off = o->len;
    if (!rc && dz->o.value_schemas) rc = put_schema_change_schema(dz, o);
    if (!rc) rc = put(o, "{\"source\":");
    int64_t now = now_ns(dz);
    if (!rc) {
        int64_t ts = (int64_t)cdc_event_timestamp(ev) * 1000;
        if (ts <= 0) ts = now / 1000000;
        rc = put_source(dz, o, ts, snap, db, NULL, cdc_event_server_id(ev), cdc_event_gtid(ev), cdc_event_file(ev),
                        cdc_event_offset(ev), 0, (int64_t)cdc_query_thread_id(q));
    }
    if (!rc) rc = put(o, ",\"ts_ms\":");
    if (!rc) rc = put_i64(o, now / 1000000);
    if (!rc) rc = put(o, ",\"databaseName\":");
    if (!rc) rc = put_cstr(o, db);
    if (!rc) rc = put(o, ",\"schemaName\":null,\"ddl\":");
    if (!rc) {
        /* the statement is in the client charset; JSON needs UTF-8 */
        cdc__buf_reset(&dz->scratch);
        rc = cdc__utf8_sanitize(sql.ptr ? sql.ptr : (const uint8_t *)"", sql.len, &dz->scratch);
        if (!rc) rc = put_str(o, (const char *)dz->scratch.data, dz->scratch.len);
    }
    if (!rc) rc = put(o, ",\"tableChanges\":");
    if (!rc) rc = cdc__dz_table_changes(dz->src, dz->o.schema_comments, db, strlen(db),
                                        sql.ptr ? (const char *)sql.ptr : "", sql.len, o, &dz->err);
    if (!rc) rc = put(o, "}");
    if (!rc && dz->o.value_schemas) rc = put(o, "}");
    dz->recs[0].v_len = o->len - dz->recs[0].v_off;
    if (rc) return fail(dz, rc);
    return 1;
}

CDC_EXTERN ptrdiff_t cdc_debezium_heartbeat(cdc_debezium *dz, int64_t ts_ms)
{
    if (!dz) return CDC_ERR_INVALID;
    reset_records(dz);
    int rc = need_prefix(dz);
    if (rc) return fail(dz, rc);
    if (ts_ms <= 0) ts_ms = now_ns(dz) / 1000000;
    cdc__buf *t = &dz->scratch2;
    cdc__buf_reset(t);
    rc = put_topic_part(t, dz->o.hb_prefix);
    if (!rc) rc = put_topic_part(t, dz->o.delim);
    if (!rc) rc = put_topic_part(t, dz->o.prefix);
    if (!rc) rc = topic_finish(t);
    if (rc) return fail(dz, rc);
    dz_rec *r = rec_begin(dz, CDC_DEBEZIUM_RECORD_HEARTBEAT, t->data, t->len);
    if (!r) return fail(dz, CDC_ERR_NOMEM);
    cdc__buf *o = &dz->out;
    r->k_off = o->len;
    if (dz->o.key_schemas)
        rc = put(o, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,"
                    "\"field\":\"serverName\"}],\"optional\":false,"
                    "\"name\":\"io.debezium.connector.common.ServerNameKey\",\"version\":1},\"payload\":");
    if (!rc) rc = put(o, "{\"serverName\":");
    if (!rc) rc = put_cstr(o, dz->o.prefix);
    if (!rc) rc = put(o, dz->o.key_schemas ? "}}" : "}");
    dz->recs[0].k_len = o->len - dz->recs[0].k_off;
    dz->recs[0].v_off = o->len;
    if (!rc && dz->o.value_schemas)
        rc = put(o, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int64\",\"optional\":false,"
                    "\"field\":\"ts_ms\"}],\"optional\":false,\"name\":\"io.debezium.connector.common.Heartbeat\","
                    "\"version\":1},\"payload\":");
    if (!rc) rc = put(o, "{\"ts_ms\":");
    if (!rc) rc = put_i64(o, ts_ms);
    if (!rc) rc = put(o, dz->o.value_schemas ? "}}" : "}");
    dz->recs[0].v_len = o->len - dz->recs[0].v_off;
    if (rc) return fail(dz, rc);
    return 1;
}
