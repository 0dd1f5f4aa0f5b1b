/*
 * debezium_table.c: the Debezium renderer's per-table cache: for each
 * table, the columns planned from its binlog description and the options
 * (mapping, masks, truncation, which are in the value and in the key),
 * its topic, and the rendered schema heads of its key and value, kept
 * until the table's definition or the options change.
 */
#include "debezium.h"

#include <stdio.h>
#include <strings.h>

#include <cdc/binlog.h>
#include <cdc/value.h>

#include "tablemap.h"

/* short names for the writers of debezium.h */
#define put cdc__dz_put
#define put_n cdc__dz_put_n
#define put_cstr cdc__dz_put_cstr

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

void cdc__dz_tables_clear(cdc_debezium *dz)
{
    for (size_t i = 0; i < dz->ntables; i++) table_free(dz->alloc, dz->tables[i]);
    dz->ntables = 0;
    dz->ntxn_tables = 0; /* their counts went with them */
}

static uint64_t fnv(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ull;
    for (; *a; a++) h = (h ^ (uint8_t)*a) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (; *b; b++) h = (h ^ (uint8_t)*b) * 1099511628211ull;
    return h;
}

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
        if (!rc) rc = cdc__dz_put_source_schema(dz, o);
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
        if (!(e->names[i] = cdc__dz_dup(a, name))) {
            for (size_t j = 0; j < n_old; j++) cdc__free(a, old_keys[j]);
            cdc__free(a, old_keys);
            return CDC_ERR_NOMEM;
        }
        dz_col *dc = &e->cols[i];
        cdc__dz_plan_column(cdc_table_column(t, i), &dz->o.modes, dc);
        snprintf(fq, sizeof fq, "%s.%s.%s", e->db, e->name, name);
        e->in_value[i] =
            dz->o.include.n ? cdc__dz_relist_match(&dz->o.include, fq) : !cdc__dz_relist_match(&dz->o.exclude, fq);
        if (dc->map == DZ_M_STRING) {
            for (size_t r = 0; r < dz->o.nrules; r++) {
                const dz_colrule *ru = &dz->o.rules[r];
                if (!cdc__dz_relist_match(&ru->cols, fq)) continue;
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
    rc = cdc__dz_put_topic_part(&e->topic, dz->o.prefix);
    if (!rc) rc = cdc__dz_put_topic_part(&e->topic, dz->o.delim);
    if (!rc) rc = cdc__dz_put_topic_part(&e->topic, e->db);
    if (!rc) rc = cdc__dz_put_topic_part(&e->topic, dz->o.delim);
    if (!rc) rc = cdc__dz_put_topic_part(&e->topic, e->name);
    if (!rc) rc = cdc__dz_topic_finish(&e->topic);
    if (!rc) rc = build_heads(dz, e);
    return rc;
}

/* The cache entry for t, planned and current. */
int cdc__dz_table_for(cdc_debezium *dz, const cdc_table *t, dz_table **out)
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
        e->db = cdc__dz_dup(dz->alloc, db);
        e->name = cdc__dz_dup(dz->alloc, name);
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
