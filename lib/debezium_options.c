/*
 * debezium_options.c: the options of a Debezium renderer (the keys of
 * include/cdc/debezium.h): their parsing into a dz_opts, with an error
 * naming the key and the bad value, and their defaults. The renderer
 * (debezium.c) applies them; the table planner (debezium_table.c) reads
 * the column lists and rules they hold.
 */
#include "debezium.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <cdc/version.h>

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

bool cdc__dz_relist_match(const dz_relist *l, const char *s)
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

void cdc__dz_opts_free(dz_opts *o)
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

static int set_str(const cdc_allocator *a, char **slot, const char *value, const char *def)
{
    char *n = cdc__dz_dup(a, value ? value : def);
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
    if (!v) { *out = DZ_SKIP_T; return CDC_OK; }
    unsigned m = 0;
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        size_t n = strcspn(p, ", ");
        if (n == 4 && !strncasecmp(p, "none", 4)) m = 0;
        else if (n == 1 && (*p == 'c' || *p == 'C')) m |= DZ_SKIP_C;
        else if (n == 1 && (*p == 'u' || *p == 'U')) m |= DZ_SKIP_U;
        else if (n == 1 && (*p == 'd' || *p == 'D')) m |= DZ_SKIP_D;
        else if (n == 1 && (*p == 't' || *p == 'T')) m |= DZ_SKIP_T;
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
        r.salt = cdc__dz_dup(o->a, w + 11);
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
    if (rc == CDC_OK && !(r.key = cdc__dz_dup(o->a, key))) rc = CDC_ERR_NOMEM;
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

int cdc__dz_apply(dz_opts *o, const char *key, const char *v, cdc__err *err)
{
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
