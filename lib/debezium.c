/*
 * debezium.c: the Debezium renderer of include/cdc/debezium.h: the handle
 * and its records (topic, key, value) of row changes, snapshot markers,
 * transaction boundaries, schema changes and heartbeats, with the source
 * block they share. Options are parsed by debezium_options.c, tables
 * planned and cached by debezium_table.c, column values encoded by
 * debezium_values.c. docs/debezium.md describes the output.
 */
#include "debezium.h"

#include <cdc/value.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cdc/binlog.h>
#include <cdc/version.h>

#include "jsonw.h"
#include "render.h"
#include "charset.h"
#include "tablemap.h"

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
    for (int i = 0; defaults[i] && rc == CDC_OK; i++) rc = cdc__dz_apply(&dz->o, defaults[i], NULL, &dz->err);
    if (rc == CDC_OK) rc = build_src_head(dz);
    if (rc != CDC_OK) {
        cdc_debezium_free(dz);
        if (err && errlen) snprintf(err, errlen, "cdc_debezium_new: out of memory");
        return CDC_ERR_NOMEM;
    }
    *out = dz;
    return CDC_OK;
}

CDC_EXTERN void cdc_debezium_free(cdc_debezium *dz)
{
    if (!dz) return;
    cdc__dz_tables_clear(dz);
    cdc__free(dz->alloc, dz->tables);
    cdc__free(dz->alloc, dz->recs);
    cdc__free(dz->alloc, dz->txn_tables);
    cdc__dz_opts_free(&dz->o);
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
    int rc = cdc__dz_apply(&dz->o, key, value, &dz->err);
    if (rc == CDC_OK) rc = build_src_head(dz);
    if (rc != CDC_OK) {
        if (!dz->err.msg[0]) cdc__err_set(&dz->err, rc, "%s: %s", key, cdc_strerror(rc));
        cdc__err_copy_out(&dz->err, err, errlen);
        return rc;
    }
    cdc__dz_tables_clear(dz); /* schemas and plans depend on the options */
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

/* short names for the writers of debezium.h */
#define put cdc__dz_put
#define put_n cdc__dz_put_n
#define put_str cdc__dz_put_str
#define put_cstr cdc__dz_put_cstr
#define put_i64 cdc__dz_put_i64

#define put_i64 cdc__dz_put_i64

/* Debezium's topic name: the parts joined, characters other than
 * [A-Za-z0-9._-] replaced by '_' (one per UTF-16 unit, as Java counts),
 * at most 249 characters. Also used by debezium_table.c. */
int cdc__dz_put_topic_part(cdc__buf *o, const char *s)
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

int cdc__dz_topic_finish(cdc__buf *o)
{
    if (o->len > 249) o->len = 249;
    if (o->len == 1 && o->data[0] == '.') o->data[0] = '_';
    if (o->len == 2 && o->data[0] == '.' && o->data[1] == '.') o->data[0] = o->data[1] = '_';
    return CDC_OK;
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

int cdc__dz_put_source_schema(const cdc_debezium *dz, cdc__buf *o)
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
    char ms[24];
    size_t msn = cdc__fmt_i64(ms, ts_ms);
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
            char ns[24];
            size_t n = cdc__fmt_i64(ns, now);
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
    unsigned skip = op == 'c' ? DZ_SKIP_C : op == 'u' ? DZ_SKIP_U : op == 'd' ? DZ_SKIP_D : 0;
    if (op != 'c' && op != 'u' && op != 'd' && op != 'r')
        return fail(dz, cdc__err_set(&dz->err, CDC_ERR_INVALID, "cdc_debezium_change: unknown op '%c'", op));
    if (dz->o.skip & skip) return 0;
    const cdc_table *t = cdc_change_table(c);
    dz_table *e;
    rc = cdc__dz_table_for(dz, t, &e);
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
    int rc = cdc__dz_put_topic_part(t, dz->o.prefix);
    if (!rc) rc = cdc__dz_put_topic_part(t, dz->o.delim);
    if (!rc) rc = cdc__dz_put_topic_part(t, dz->o.txn_topic);
    if (!rc) rc = cdc__dz_topic_finish(t);
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
    if (!rc) rc = cdc__dz_put_source_schema(dz, o);
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
    rc = cdc__dz_put_topic_part(t, dz->o.prefix);
    if (!rc) rc = cdc__dz_topic_finish(t);
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
    rc = cdc__dz_put_topic_part(t, dz->o.hb_prefix);
    if (!rc) rc = cdc__dz_put_topic_part(t, dz->o.delim);
    if (!rc) rc = cdc__dz_put_topic_part(t, dz->o.prefix);
    if (!rc) rc = cdc__dz_topic_finish(t);
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
