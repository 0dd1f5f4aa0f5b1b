/* config.c: configuration by string keys, checked against one table. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct cfg_key {
    const char *name;
    int type;
    const char *def;
    int64_t min, max;
    const char *choices;
    unsigned flags;
    const char *doc;
} cfg_key;

static const cfg_key keys[CDC_CFG__COUNT] = {
#define CDC__CFG_ROW(id, key, type, def, min, max, choices, flags, doc) \
    {key, type, def, min, max, choices, flags, doc},
    CDC__CONFIG_KEYS(CDC__CFG_ROW)
#undef CDC__CFG_ROW
};

typedef struct cfg_val {
    char *text;        /* NULL: the default */
    int64_t num;       /* INT, BOOL and ENUM (index) */
    char **items;      /* LIST: one allocation holding the pointers and the strings */
    size_t n_items;
} cfg_val;

struct cdc_config {
    cdc_allocator alloc;
    cfg_val vals[CDC_CFG__COUNT];
};

static const char *const empty_list[1] = {NULL};

/* ---- parsing one value -------------------------------------------------- */

static int parse_bool(const char *s, int64_t *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) { *out = 1; return 0; }
        if (!strcasecmp(s, no[i])) { *out = 0; return 0; }
    }
    return -1;
}

/* Index of s among '|'-separated choices, or -1. */
static int choice_index(const char *choices, const char *s)
{
    size_t len = strlen(s);
    int i = 0;
    for (const char *p = choices; *p; i++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && !strncasecmp(p, s, n)) return i;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Splits a comma list into trimmed, non-empty items stored after the pointer array. */
static int split_list(const cdc_allocator *a, const char *s, char ***out, size_t *n_out)
{
    size_t n = 1, len = strlen(s);
    for (const char *p = s; *p; p++) n += *p == ',';
    char **items = cdc__malloc(a, (n + 1) * sizeof *items + len + 1);
    if (!items) return CDC_ERR_NOMEM;
    char *text = (char *)(items + n + 1);
    memcpy(text, s, len + 1);
    size_t k = 0;
    for (char *p = text;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        char *e = p + strlen(p);
        while (is_space(*p)) p++;
        while (e > p && is_space(e[-1])) *--e = 0;
        if (*p) items[k++] = p;
        if (!comma) break;
        p = comma + 1;
    }
    items[k] = NULL;
    *out = items;
    *n_out = k;
    return CDC_OK;
}

/* Checks text against key k and fills a fresh value; CDC_OK or an error in err. */
static int parse_value(const cdc_allocator *a, const cfg_key *k, const char *text, cfg_val *v, cdc__err *err)
{
    memset(v, 0, sizeof *v);
    switch (k->type) {
    case CDC__CFG_INT: {
        char *end;
        errno = 0;
        long long n = strtoll(text, &end, 10);
        if (!*text || *end || errno)
            return cdc__err_set(err, CDC_ERR_CONFIG, "%s: '%s' is not an integer", k->name, text);
        if (n < k->min || n > k->max)
            return cdc__err_set(err, CDC_ERR_CONFIG, "%s: %lld is out of range %lld..%lld", k->name, n,
                                (long long)k->min, (long long)k->max);
        v->num = n;
        break;
    }
    case CDC__CFG_BOOL:
        if (parse_bool(text, &v->num))
            return cdc__err_set(err, CDC_ERR_CONFIG, "%s: '%s' is not a boolean (use true or false)", k->name, text);
        break;
    case CDC__CFG_ENUM: {
        int i = choice_index(k->choices, text);
        if (i < 0) return cdc__err_set(err, CDC_ERR_CONFIG, "%s: '%s' is not one of %s", k->name, text, k->choices);
        v->num = i;
        break;
    }
    case CDC__CFG_LIST:
        if (split_list(a, text, &v->items, &v->n_items)) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
        break;
    default:
        if ((k->flags & CDC__CFG_PATH) && *text && access(text, R_OK) != 0)
            return cdc__err_set(err, CDC_ERR_CONFIG, "%s: cannot read '%s': %s", k->name, text, strerror(errno));
        break;
    }
    return CDC_OK;
}

static void free_value(const cdc_allocator *a, cfg_val *v)
{
    cdc__free(a, v->text);
    cdc__free(a, v->items);
    memset(v, 0, sizeof *v);
}

/* Sets slot id to the parsed form of text (NULL: default). */
static int set_value(cdc_config *c, cdc__cfg_id id, const char *text, cdc__err *err)
{
    const cfg_key *k = &keys[id];
    cfg_val nv;
    int rc = parse_value(&c->alloc, k, text ? text : k->def, &nv, err);
    if (rc) {
        free_value(&c->alloc, &nv);
        return rc;
    }
    if (text) {
        nv.text = cdc__strndup(&c->alloc, text, strlen(text));
        if (!nv.text) {
            free_value(&c->alloc, &nv);
            return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
        }
    }
    free_value(&c->alloc, &c->vals[id]);
    c->vals[id] = nv;
    return CDC_OK;
}

/* ---- lookup, with a suggestion for a mistyped key ------------------------ */

static int find_key(const char *name)
{
    for (int i = 0; i < CDC_CFG__COUNT; i++)
        if (!strcmp(keys[i].name, name)) return i;
    return -1;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return SIZE_MAX;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

static int unknown_key(const char *name, cdc__err *err)
{
    const char *best = NULL;
    size_t best_d = 3; /* suggest only close misspellings */
    for (int i = 0; i < CDC_CFG__COUNT; i++) {
        size_t d = edit_distance(name, keys[i].name);
        if (d < best_d) { best_d = d; best = keys[i].name; }
    }
    if (best) return cdc__err_set(err, CDC_ERR_CONFIG, "unknown configuration key '%s' (did you mean '%s'?)", name, best);
    return cdc__err_set(err, CDC_ERR_CONFIG, "unknown configuration key '%s'", name);
}

/* ---- public API ------------------------------------------------------------ */

int cdc_config_new(cdc_config **out, const cdc_allocator *alloc)
{
    if (!out) return CDC_ERR_INVALID;
    *out = NULL;
    const cdc_allocator *a = cdc__allocator(alloc);
    cdc_config *c = cdc__calloc(a, 1, sizeof *c);
    if (!c) return CDC_ERR_NOMEM;
    c->alloc = *a;
    for (int i = 0; i < CDC_CFG__COUNT; i++) {
        if (set_value(c, (cdc__cfg_id)i, NULL, NULL)) {
            cdc_config_free(c);
            return CDC_ERR_NOMEM;
        }
    }
    *out = c;
    return CDC_OK;
}

void cdc_config_free(cdc_config *c)
{
    if (!c) return;
    cdc_allocator a = c->alloc;
    for (int i = 0; i < CDC_CFG__COUNT; i++) free_value(&a, &c->vals[i]);
    cdc__free(&a, c);
}

int cdc_config_copy(cdc_config **out, const cdc_config *src)
{
    if (!out || !src) return CDC_ERR_INVALID;
    int rc = cdc_config_new(out, &src->alloc);
    for (int i = 0; rc == CDC_OK && i < CDC_CFG__COUNT; i++)
        if (src->vals[i].text) rc = set_value(*out, (cdc__cfg_id)i, src->vals[i].text, NULL);
    if (rc) {
        cdc_config_free(*out);
        *out = NULL;
    }
    return rc;
}

int cdc_config_set(cdc_config *c, const char *key, const char *value, char *errbuf, size_t errlen)
{
    cdc__err err;
    cdc__err_clear(&err);
    int rc;
    if (!c || !key) {
        rc = cdc__err_set(&err, CDC_ERR_INVALID, "cdc_config_set: config and key must not be NULL");
    } else {
        int id = find_key(key);
        rc = id < 0 ? unknown_key(key, &err) : set_value(c, (cdc__cfg_id)id, value, &err);
    }
    if (rc) cdc__err_copy_out(&err, errbuf, errlen);
    return rc;
}

int cdc_config_get(const cdc_config *c, const char *key, char *buf, size_t cap, size_t *need)
{
    if (!c || !key) return CDC_ERR_INVALID;
    int id = find_key(key);
    if (id < 0) return CDC_ERR_CONFIG;
    const char *s = cdc__config_str(c, (cdc__cfg_id)id);
    if ((keys[id].flags & CDC__CFG_SECRET) && *s) s = "********";
    size_t n = strlen(s) + 1;
    if (need) *need = n;
    if (cap) {
        size_t k = n <= cap ? n - 1 : cap - 1;
        memcpy(buf, s, k);
        buf[k] = 0;
    }
    return n <= cap ? CDC_OK : CDC_ERR_TOO_LARGE;
}

size_t cdc_config_key_count(void) { return CDC_CFG__COUNT; }

const char *cdc_config_key_name(size_t i) { return i < CDC_CFG__COUNT ? keys[i].name : NULL; }

const char *cdc_config_key_type(size_t i)
{
    static const char *const names[] = {"string", "int", "bool", "enum", "list"};
    return i < CDC_CFG__COUNT ? names[keys[i].type] : NULL;
}

const char *cdc_config_key_default(size_t i) { return i < CDC_CFG__COUNT ? keys[i].def : NULL; }
const char *cdc_config_key_doc(size_t i) { return i < CDC_CFG__COUNT ? keys[i].doc : NULL; }

const char *cdc_config_key_choices(size_t i)
{
    return i < CDC_CFG__COUNT && keys[i].type == CDC__CFG_ENUM ? keys[i].choices : NULL;
}

/* ---- typed access for the library ------------------------------------------ */

const char *cdc__config_str(const cdc_config *c, cdc__cfg_id id)
{
    return c->vals[id].text ? c->vals[id].text : keys[id].def;
}

int64_t cdc__config_int(const cdc_config *c, cdc__cfg_id id) { return c->vals[id].num; }
bool cdc__config_bool(const cdc_config *c, cdc__cfg_id id) { return c->vals[id].num != 0; }
int cdc__config_enum(const cdc_config *c, cdc__cfg_id id) { return (int)c->vals[id].num; }

const char *const *cdc__config_list(const cdc_config *c, cdc__cfg_id id, size_t *n)
{
    *n = c->vals[id].n_items;
    return c->vals[id].items ? (const char *const *)c->vals[id].items : empty_list;
}

int cdc__config_check(const cdc_config *c, int purpose, cdc__err *err)
{
    const char *user = cdc__config_str(c, CDC_CFG_USER);
    int ssl = cdc__config_enum(c, CDC_CFG_SSL_MODE);
    if (purpose & (CDC__CFG_FOR_CONNECT | CDC__CFG_FOR_STREAM)) {
        if (!*user) return cdc__err_set(err, CDC_ERR_CONFIG, "user: not set; the account to log in as is required");
        if ((ssl == CDC_SSL_VERIFY_CA || ssl == CDC_SSL_VERIFY_IDENTITY) && !*cdc__config_str(c, CDC_CFG_SSL_CA))
            return cdc__err_set(err, CDC_ERR_CONFIG, "ssl.mode=%s needs ssl.ca, the CA certificates to verify against",
                                ssl == CDC_SSL_VERIFY_CA ? "verify_ca" : "verify_identity");
        bool cert = *cdc__config_str(c, CDC_CFG_SSL_CERT), key = *cdc__config_str(c, CDC_CFG_SSL_KEY);
        if (cert != key)
            return cdc__err_set(err, CDC_ERR_CONFIG, "%s is set but %s is not; a client certificate needs both",
                                cert ? "ssl.cert" : "ssl.key", cert ? "ssl.key" : "ssl.cert");
        if (ssl == CDC_SSL_DISABLED && (cert || *cdc__config_str(c, CDC_CFG_SSL_CA)))
            return cdc__err_set(err, CDC_ERR_CONFIG, "ssl.mode=disabled conflicts with ssl.ca/ssl.cert being set");
    }
    if (purpose & CDC__CFG_FOR_STREAM) {
        if (cdc__config_int(c, CDC_CFG_SERVER_ID) == 0)
            return cdc__err_set(err, CDC_ERR_CONFIG,
                                "server.id: not set; a replica needs a server_id that no other replica of this server uses");
        if (cdc__config_int(c, CDC_CFG_RECONNECT_BACKOFF_MS) > cdc__config_int(c, CDC_CFG_RECONNECT_BACKOFF_MAX_MS))
            return cdc__err_set(err, CDC_ERR_CONFIG,
                                "reconnect.backoff.initial.ms (%lld) is larger than reconnect.backoff.max.ms (%lld)",
                                (long long)cdc__config_int(c, CDC_CFG_RECONNECT_BACKOFF_MS),
                                (long long)cdc__config_int(c, CDC_CFG_RECONNECT_BACKOFF_MAX_MS));
        size_t n;
        const char *const *ops = cdc__config_list(c, CDC_CFG_SKIPPED_OPS, &n);
        for (size_t i = 0; i < n; i++)
            if (strcmp(ops[i], "c") && strcmp(ops[i], "u") && strcmp(ops[i], "d"))
                return cdc__err_set(err, CDC_ERR_CONFIG, "skipped.operations: '%s' is not one of c, u, d", ops[i]);
        const char *const *ids = cdc__config_list(c, CDC_CFG_SERVER_ID_EXCLUDE, &n);
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = 0; i < n; i++) {
                uint64_t v;
                if (!cdc__parse_u64(ids[i], strlen(ids[i]), &v) || v > UINT32_MAX)
                    return cdc__err_set(err, CDC_ERR_CONFIG, "%s: '%s' is not a server_id",
                                        pass ? "server.id.include.list" : "server.id.exclude.list", ids[i]);
            }
            ids = cdc__config_list(c, CDC_CFG_SERVER_ID_INCLUDE, &n);
        }
    }
    return CDC_OK;
}

bool cdc__glob_match(const char *pat, const char *name, size_t len)
{
    size_t i = 0;
    const char *star = NULL;
    size_t star_i = 0;
    while (i < len) {
        if (*pat == '?' || (*pat && *pat != '*' && *pat == name[i])) {
            pat++;
            i++;
        } else if (*pat == '*') {
            star = pat++;
            star_i = i;
        } else if (star) {
            pat = star + 1;
            i = ++star_i;
        } else {
            return false;
        }
    }
    while (*pat == '*') pat++;
    return *pat == 0;
}

int cdc__config_doc_markdown(cdc__buf *out)
{
    int rc = cdc__buf_puts(out,
                           "# Configuration keys\n\n"
                           "<!-- Generated by `cdc config-doc` from lib/config_keys.h; do not edit. -->\n\n"
                           "Set with `cdc_config_set(cfg, key, value, err, errlen)`. Every value is a string; "
                           "booleans take true/false, lists are comma-separated.\n\n"
                           "| key | type | default | description |\n|---|---|---|---|\n");
    for (int i = 0; rc == CDC_OK && i < CDC_CFG__COUNT; i++) {
        const cfg_key *k = &keys[i];
        rc = cdc__buf_printf(out, "| `%s` | %s | %s%s%s | %s", k->name, cdc_config_key_type((size_t)i),
                             *k->def ? "`" : "", *k->def ? k->def : "(empty)", *k->def ? "`" : "", k->doc);
        if (rc == CDC_OK && k->type == CDC__CFG_ENUM) {
            rc = cdc__buf_puts(out, " One of: ");
            for (const char *p = k->choices; rc == CDC_OK && *p; p++)
                rc = *p == '|' ? cdc__buf_puts(out, ", ") : cdc__buf_putc(out, (uint8_t)*p);
            if (rc == CDC_OK) rc = cdc__buf_putc(out, '.');
        }
        if (rc == CDC_OK) rc = cdc__buf_puts(out, " |\n");
    }
    return rc;
}
