/*
 * tablemap.c: TABLE_MAP events into cdc_column arrays. The metadata
 * packing is the contract with the value codecs: docs/binlog-format.md.
 */
#include "tablemap.h"

#include "jsonw.h"
#include "render.h"

#include <inttypes.h>
#include <stdio.h>

/* Width of a column's metadata in the TABLE_MAP metadata block. */
static int meta_width(uint8_t type)
{
    switch (type) {
    case CDC_T_FLOAT: case CDC_T_DOUBLE: case CDC_T_BLOB: case CDC_T_TINY_BLOB:
    case CDC_T_MEDIUM_BLOB: case CDC_T_LONG_BLOB: case CDC_T_GEOMETRY: case CDC_T_JSON:
    case CDC_T_VECTOR: case CDC_T_TIMESTAMP2: case CDC_T_DATETIME2: case CDC_T_TIME2:
        return 1;
    case CDC_T_VARCHAR: case CDC_T_VAR_STRING: case CDC_T_STRING: case CDC_T_NEWDECIMAL:
    case CDC_T_BIT: case CDC_T_ENUM: case CDC_T_SET:
        return 2;
    default:
        return 0;
    }
}

bool cdc__column_needs_meta(const cdc_column *c) { return meta_width(c->type) != 0; }

static void unpack_meta(cdc_column *c, const uint8_t *m)
{
    c->real_type = c->type;
    switch (c->type) {
    case CDC_T_VARCHAR: case CDC_T_VAR_STRING:
        c->meta = cdc__le16(m);
        break;
    case CDC_T_NEWDECIMAL:
        c->meta = (uint16_t)(m[0] << 8 | m[1]);
        break;
    case CDC_T_BIT:
        c->meta = (uint16_t)(m[1] << 8 | m[0]);
        break;
    case CDC_T_STRING:
        if ((m[0] & 0x30) != 0x30) { /* CHAR > 255 bytes: length bits hidden in byte 0 */
            c->real_type = m[0] | 0x30;
            c->meta = (uint16_t)(m[1] | (((m[0] & 0x30) ^ 0x30) << 4));
        } else {
            c->real_type = m[0];
            c->meta = m[1];
        }
        break;
    case CDC_T_ENUM: case CDC_T_SET:
        c->meta = m[1];
        break;
    default:
        c->meta = meta_width(c->type) == 1 ? m[0] : 0;
    }
}

static bool is_numeric(const cdc_column *c)
{
    switch (c->type) {
    case CDC_T_TINY: case CDC_T_SHORT: case CDC_T_INT24: case CDC_T_LONG: case CDC_T_LONGLONG:
    case CDC_T_FLOAT: case CDC_T_DOUBLE: case CDC_T_NEWDECIMAL:
        return true;
    default:
        return false;
    }
}

static bool is_enum_set(const cdc_column *c)
{
    return c->real_type == CDC_T_ENUM || c->real_type == CDC_T_SET;
}

static bool is_character(const cdc_column *c, bool mariadb)
{
    switch (c->real_type) {
    case CDC_T_STRING: case CDC_T_VARCHAR: case CDC_T_VAR_STRING: case CDC_T_BLOB:
    case CDC_T_TINY_BLOB: case CDC_T_MEDIUM_BLOB: case CDC_T_LONG_BLOB:
    case CDC_T_VECTOR: /* MySQL counts VECTOR (a binary blob) among them */
        return true;
    case CDC_T_GEOMETRY:
        return mariadb;
    default:
        return false;
    }
}

/* Column index of the k-th column for which pick() holds, or ncols. */
static size_t nth_col(const struct cdc_table *t, size_t k, int kind, bool mariadb)
{
    for (size_t i = 0; i < t->ncols; i++) {
        const cdc_column *c = &t->cols[i];
        bool hit = kind == 0   ? is_numeric(c)
                   : kind == 1 ? is_character(c, mariadb)
                   : kind == 2 ? is_enum_set(c)
                   : kind == 3 ? c->real_type == CDC_T_ENUM
                   : kind == 4 ? c->real_type == CDC_T_SET
                   : kind == 5 ? c->type == CDC_T_GEOMETRY
                               : c->type == CDC_T_VECTOR;
        if (hit && k-- == 0) return i;
    }
    return t->ncols;
}

enum { K_NUMERIC, K_CHAR, K_ENUMSET, K_ENUM, K_SET, K_GEOM, K_VECTOR };

/* DEFAULT_CHARSET style: default, then (index, collation) exceptions. */
static bool charset_default(struct cdc_table *t, cdc__reader *r, int kind, bool mariadb)
{
    uint64_t def = cdc__rd_lenenc(r, NULL);
    for (size_t k = 0;; k++) {
        size_t i = nth_col(t, k, kind, mariadb);
        if (i >= t->ncols) break;
        t->cols[i].charset = (uint16_t)def;
    }
    while (cdc__rd_left(r) > 0 && !r->bad) {
        uint64_t idx = cdc__rd_lenenc(r, NULL), coll = cdc__rd_lenenc(r, NULL);
        size_t i = idx < t->ncols ? nth_col(t, (size_t)idx, kind, mariadb) : t->ncols;
        if (i >= t->ncols) return false;
        t->cols[i].charset = (uint16_t)coll;
    }
    return !r->bad;
}

static bool charset_each(struct cdc_table *t, cdc__reader *r, int kind, bool mariadb)
{
    for (size_t k = 0; cdc__rd_left(r) > 0 && !r->bad; k++) {
        size_t i = nth_col(t, k, kind, mariadb);
        uint64_t coll = cdc__rd_lenenc(r, NULL);
        if (i >= t->ncols) return false;
        t->cols[i].charset = (uint16_t)coll;
    }
    return !r->bad;
}

/* Space for strings: counted in a first pass, filled in a second. */
typedef struct strbuf { char *p; size_t len, cap; } strbuf;

static char *sb_put(strbuf *sb, const uint8_t *s, size_t n)
{
    if (sb->p == NULL) { sb->len += n + 1; return NULL; }
    char *d = sb->p + sb->len;
    memcpy(d, s, n);
    d[n] = 0;
    sb->len += n + 1;
    return d;
}

/* Walks the optional metadata; `sb` decides whether this is the counting
 * pass (p == NULL) or the filling one. n_labels counts labels. */
static int walk_optional(struct cdc_table *t, const uint8_t *p, size_t len, bool mariadb,
                         strbuf *sb, size_t *n_labels, cdc__err *err)
{
    cdc__reader r = cdc__rd(p, len);
    size_t lab = 0;
    bool filling = sb->p != NULL;
    while (cdc__rd_left(&r) > 0) {
        uint8_t code = cdc__rd_u8(&r);
        uint64_t flen = cdc__rd_lenenc(&r, NULL);
        const uint8_t *fp = flen <= cdc__rd_left(&r) ? cdc__rd_take(&r, (size_t)flen) : NULL;
        if (!fp)
            return cdc__err_set(err, CDC_ERR_CORRUPT,
                                "TABLE_MAP %s.%s: optional metadata field %u runs past the end",
                                t->db, t->name, code);
        cdc__reader f = cdc__rd(fp, (size_t)flen);
        bool ok = true;
        switch (code) {
        case 1: /* SIGNEDNESS, most significant bit first */
            if (!filling) break;
            for (size_t k = 0;; k++) {
                size_t i = nth_col(t, k, K_NUMERIC, mariadb);
                if (i >= t->ncols) break;
                if (k / 8 >= flen) { ok = false; break; }
                t->cols[i].flags |= CDC_COLF_SIGNEDNESS_KNOWN;
                if (fp[k / 8] & (0x80 >> (k % 8))) t->cols[i].flags |= CDC_COLF_UNSIGNED;
            }
            break;
        case 2: if (filling) ok = charset_default(t, &f, K_CHAR, mariadb); break;
        case 3: if (filling) ok = charset_each(t, &f, K_CHAR, mariadb); break;
        case 10: if (filling) ok = charset_default(t, &f, K_ENUMSET, mariadb); break;
        case 11: if (filling) ok = charset_each(t, &f, K_ENUMSET, mariadb); break;
        case 4: /* COLUMN_NAME */
            for (size_t i = 0; cdc__rd_left(&f) > 0; i++) {
                cdc_bytes nm = cdc__rd_lenenc_bytes(&f, NULL);
                if (f.bad || i >= t->ncols) { ok = false; break; }
                char *s = sb_put(sb, nm.ptr, nm.len);
                if (filling) {
                    t->col_names[i] = s;
                    t->cols[i].name = (cdc_bytes){(const uint8_t *)s, nm.len};
                }
            }
            break;
        case 5: case 6: /* SET_STR_VALUE, ENUM_STR_VALUE */
            for (size_t k = 0; cdc__rd_left(&f) > 0; k++) {
                size_t i = nth_col(t, k, code == 6 ? K_ENUM : K_SET, mariadb);
                uint64_t cnt = cdc__rd_lenenc(&f, NULL);
                if (f.bad || i >= t->ncols || cnt > cdc__rd_left(&f)) { ok = false; break; }
                if (filling) {
                    t->cols[i].labels = &t->labels[lab];
                    t->cols[i].n_labels = (uint32_t)cnt;
                }
                for (uint64_t j = 0; j < cnt; j++) {
                    cdc_bytes l = cdc__rd_lenenc_bytes(&f, NULL);
                    if (f.bad) { ok = false; break; }
                    char *s = sb_put(sb, l.ptr, l.len);
                    if (filling) t->labels[lab] = (cdc_bytes){(const uint8_t *)s, l.len};
                    lab++;
                }
            }
            break;
        case 7: case 13: /* GEOMETRY_TYPE, VECTOR_DIMENSIONALITY */
            for (size_t k = 0; cdc__rd_left(&f) > 0; k++) {
                size_t i = nth_col(t, k, code == 7 ? K_GEOM : K_VECTOR, mariadb);
                uint64_t v = cdc__rd_lenenc(&f, NULL);
                if (f.bad || i >= t->ncols) { ok = false; break; }
                if (!filling) continue;
                if (code == 7) t->cols[i].geometry_type = (uint8_t)v;
                else t->cols[i].vector_dims = (uint32_t)v;
            }
            break;
        case 8: case 9: /* SIMPLE_PRIMARY_KEY, PRIMARY_KEY_WITH_PREFIX */
            while (cdc__rd_left(&f) > 0) {
                uint64_t i = cdc__rd_lenenc(&f, NULL);
                if (code == 9) cdc__rd_lenenc(&f, NULL);
                if (f.bad || i >= t->ncols) { ok = false; break; }
                if (filling) t->cols[i].flags |= CDC_COLF_PRIMARY_KEY;
            }
            break;
        case 12: /* COLUMN_VISIBILITY, bit set = visible */
            if (!filling) break;
            for (size_t i = 0; i < t->ncols; i++) {
                if (i / 8 >= flen) { ok = false; break; }
                if (!(fp[i / 8] & (0x80 >> (i % 8)))) t->cols[i].flags |= CDC_COLF_INVISIBLE;
            }
            break;
        default:
            break; /* fields added by later servers: skip, their length is known */
        }
        if (!ok || f.bad)
            return cdc__err_set(err, CDC_ERR_CORRUPT,
                                "TABLE_MAP %s.%s: optional metadata field %u is malformed",
                                t->db, t->name, code);
    }
    *n_labels = lab;
    return CDC_OK;
}

/* The JSON text of the names (see jtext in tablemap.h), written as
 * output.c would write them row after row. */
static int json_names(struct cdc_table *t)
{
    const cdc_allocator *a = t->alloc;
    cdc__buf b;
    cdc__buf_init(&b, a);
    size_t *off = cdc__calloc(a, 2 * t->ncols + 4, sizeof *off);
    t->jkey = cdc__calloc(a, t->ncols ? t->ncols : 1, sizeof *t->jkey);
    t->jkey_src = cdc__calloc(a, t->ncols ? t->ncols : 1, sizeof *t->jkey_src);
    int rc = off && t->jkey && t->jkey_src ? CDC_OK : CDC_ERR_NOMEM;
    if (rc == CDC_OK) rc = cdc__render_utf8_string(&b, (const uint8_t *)t->db, strlen(t->db));
    if (rc == CDC_OK) {
        off[0] = b.len;
        rc = cdc__render_utf8_string(&b, (const uint8_t *)t->name, strlen(t->name));
        off[1] = b.len;
    }
    for (size_t i = 0; i < t->ncols; i++) /* the collation looked up once, not per value */
        if (cdc__charset_renders_as_utf8(t->cols[i].charset)) t->cols[i].flags |= CDC_COLF_UTF8_TEXT;
    for (size_t i = 0; i < t->ncols && rc == CDC_OK; i++) {
        const char *n = t->col_names[i];
        if (n) {
            rc = cdc__render_utf8_string(&b, (const uint8_t *)n, strlen(n));
        } else {
            char num[24];
            size_t k = cdc__fmt_u64(num, i + 1);
            rc = cdc__buf_append(&b, "\"@", 2) || cdc__buf_append(&b, num, k) ||
                 cdc__buf_putc(&b, '"') ? CDC_ERR_NOMEM : CDC_OK;
        }
        if (rc == CDC_OK) rc = cdc__buf_putc(&b, ':');
        off[2 + i] = b.len;
    }
    /* padding, so output.c may copy a short key by 16 bytes at once */
    if (rc == CDC_OK) rc = cdc__buf_append(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) ? CDC_ERR_NOMEM : CDC_OK;
    /* ENUM/SET labels as render.c would write them, converted from the
     * column's charset; a label that cannot be leaves its column to
     * render.c (start offset SIZE_MAX) */
    size_t nlab = 0, li = 0;
    for (size_t i = 0; i < t->ncols; i++) nlab += t->cols[i].n_labels;
    size_t *loff = NULL;
    if (rc == CDC_OK && nlab) {
        loff = cdc__calloc(a, 2 * nlab, sizeof *loff);
        t->jlabels = cdc__calloc(a, nlab, sizeof *t->jlabels);
        if (!loff || !t->jlabels) rc = CDC_ERR_NOMEM;
    }
    for (size_t i = 0; i < t->ncols && rc == CDC_OK; i++) {
        const cdc_column *c = &t->cols[i];
        for (uint32_t j = 0; j < c->n_labels && rc == CDC_OK; j++, li++) {
            size_t mark = b.len;
            cdc__err e;
            cdc__err_clear(&e);
            int r = cdc__render_text(&b, c->labels[j].ptr, c->labels[j].len, c->charset, &e);
            if (r == CDC_ERR_NOMEM) rc = r;
            if (r) b.len = mark;
            loff[2 * li] = r ? SIZE_MAX : mark;
            loff[2 * li + 1] = b.len;
        }
    }
    if (rc == CDC_OK) {
        /* pointers only now: the buffer has stopped moving */
        t->jtext = (char *)b.data;
        t->jdb = (cdc_bytes){b.data, off[0]};
        t->jname = (cdc_bytes){b.data + off[0], off[1] - off[0]};
        size_t start = off[1];
        t->jkeys_short = true;
        for (size_t i = 0; i < t->ncols; i++) {
            t->jkey[i] = (cdc_bytes){b.data + start, off[2 + i] - start};
            t->jkey_src[i] = t->col_names[i];
            t->jkeys_short &= t->jkey[i].len <= 16;
            start = off[2 + i];
        }
        li = 0;
        for (size_t i = 0; i < t->ncols; i++) {
            cdc_column *c = &t->cols[i];
            bool ok = true;
            for (uint32_t j = 0; j < c->n_labels; j++) {
                ok = ok && loff[2 * (li + j)] != SIZE_MAX;
                if (ok) t->jlabels[li + j] = (cdc_bytes){b.data + loff[2 * (li + j)],
                                                         loff[2 * (li + j) + 1] - loff[2 * (li + j)]};
            }
            c->jlabels = ok && c->n_labels ? &t->jlabels[li] : NULL;
            li += c->n_labels;
        }
    } else {
        cdc__buf_free(&b);
    }
    cdc__free(a, loff);
    cdc__free(a, off);
    return rc;
}

int cdc__table_parse(const cdc__fde *f, const uint8_t *body, size_t len,
                     const cdc_allocator *a, struct cdc_table **out, cdc__err *err)
{
    *out = NULL;
    uint8_t ph = cdc__fde_post_header(f, 19);
    cdc__reader r = cdc__rd(body, len);
    uint64_t id = ph == 6 ? cdc__rd_u32(&r) : cdc__rd_u48(&r);
    uint16_t flags = cdc__rd_u16(&r);
    if (ph > 8) cdc__rd_skip(&r, ph - 8u);
    uint8_t dl = cdc__rd_u8(&r);
    const uint8_t *db = cdc__rd_take(&r, dl);
    cdc__rd_skip(&r, 1);
    uint8_t tl = cdc__rd_u8(&r);
    const uint8_t *tn = cdc__rd_take(&r, tl);
    cdc__rd_skip(&r, 1);
    uint64_t ncols = cdc__rd_lenenc(&r, NULL);
    if (r.bad || ncols > cdc__rd_left(&r) || ncols > 4096 * 4)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "TABLE_MAP: truncated header (%zu bytes)", len);
    const uint8_t *types = cdc__rd_take(&r, (size_t)ncols);
    bool has_meta = cdc__rd_left(&r) > 0;
    cdc_bytes meta = {NULL, 0};
    const uint8_t *nulls = NULL;
    cdc_bytes opt = {NULL, 0};
    if (has_meta) {
        meta = cdc__rd_lenenc_bytes(&r, NULL);
        nulls = cdc__rd_take(&r, (size_t)(ncols + 7) / 8);
        opt = cdc__rd_rest(&r);
        if (r.bad)
            return cdc__err_set(err, CDC_ERR_CORRUPT,
                                "TABLE_MAP %.*s.%.*s: metadata block runs past the end", dl, db,
                                tl, tn);
    }

    struct cdc_table *t = cdc__calloc(a, 1, sizeof *t);
    if (!t) return cdc__err_set(err, CDC_ERR_NOMEM, "TABLE_MAP: out of memory");
    t->alloc = a;
    t->id = id;
    t->flags = flags;
    t->ncols = (size_t)ncols;
    t->has_meta = has_meta;
    t->cols = cdc__calloc(a, t->ncols ? t->ncols : 1, sizeof *t->cols);
    t->col_names = cdc__calloc(a, t->ncols ? t->ncols : 1, sizeof *t->col_names);
    char dbz[256], tnz[256];
    memcpy(dbz, db, dl); dbz[dl] = 0;
    memcpy(tnz, tn, tl); tnz[tl] = 0;
    t->db = dbz; /* for messages until the copies exist */
    t->name = tnz;
    if (!t->cols || !t->col_names) goto nomem;

    cdc__reader m = cdc__rd(meta.ptr, meta.len);
    for (size_t i = 0; i < t->ncols; i++) {
        cdc_column *c = &t->cols[i];
        c->type = types[i];
        c->real_type = types[i];
        if (has_meta) {
            int w = meta_width(c->type);
            const uint8_t *mp = cdc__rd_take(&m, (size_t)w);
            if (m.bad) {
                cdc__table_free(t);
                return cdc__err_set(err, CDC_ERR_CORRUPT,
                                    "TABLE_MAP %s.%s: column %zu metadata past the end of "
                                    "the %zu-byte block", dbz, tnz, i + 1, meta.len);
            }
            if (w) unpack_meta(c, mp);
            if (nulls[i / 8] & (1u << (i % 8))) c->flags |= CDC_COLF_NULLABLE;
        }
        if (c->type == CDC_T_JSON) t->n_json++;
    }

    strbuf sb = {NULL, 0, 0};
    size_t n_labels = 0;
    sb_put(&sb, db, dl);
    sb_put(&sb, tn, tl);
    int rc = walk_optional(t, opt.ptr, opt.len, f->mariadb, &sb, &n_labels, err);
    if (rc) { t->db = t->name = NULL; cdc__table_free(t); return rc; }
    sb.cap = sb.len;
    sb.p = cdc__malloc(a, sb.cap);
    t->labels = cdc__calloc(a, n_labels ? n_labels : 1, sizeof *t->labels);
    if (!sb.p || !t->labels) { cdc__free(a, sb.p); goto nomem; }
    t->strings = sb.p;
    sb.len = 0;
    t->db = sb_put(&sb, db, dl);
    t->name = sb_put(&sb, tn, tl);
    rc = walk_optional(t, opt.ptr, opt.len, f->mariadb, &sb, &n_labels, err);
    if (rc) { cdc__table_free(t); return rc; }
    if (json_names(t)) goto nomem;
    *out = t;
    return CDC_OK;
nomem:
    t->db = t->name = NULL;
    cdc__table_free(t);
    return cdc__err_set(err, CDC_ERR_NOMEM, "TABLE_MAP: out of memory");
}

void cdc__table_borrow_names(struct cdc_table *t, const char *const *names)
{
    t->jkeys_short = false; /* the keys no longer match every name (tablemap.h) */
    for (size_t i = 0; i < t->ncols; i++) {
        t->col_names[i] = (char *)names[i]; /* never written through nor freed one by one */
        t->cols[i].name = (cdc_bytes){(const uint8_t *)names[i], strlen(names[i])};
    }
}

bool cdc__column_maybe_json(const cdc_column *c)
{
    switch (c->type) {
    case CDC_T_TINY_BLOB: case CDC_T_MEDIUM_BLOB: case CDC_T_LONG_BLOB: case CDC_T_BLOB:
        return c->meta == 4 && c->charset != CDC_CHARSET_BINARY;
    default: return false;
    }
}

void cdc__table_set_json_text(struct cdc_table *t, size_t i, bool on)
{
    cdc_column *c = &t->cols[i];
    if (!(c->flags & CDC_COLF_JSON_TEXT) == !on) return;
    c->flags ^= CDC_COLF_JSON_TEXT;
    cdc__free(t->alloc, t->plan);
    t->plan = NULL;
}

void cdc__table_free(struct cdc_table *t)
{
    if (!t) return;
    const cdc_allocator *a = t->alloc;
    cdc__free(a, t->raw);
    cdc__free(a, t->jtext);
    cdc__free(a, t->jkey);
    cdc__free(a, (void *)t->jkey_src);
    cdc__free(a, t->plan);
    cdc__free(a, t->view_cells);
    cdc__free(a, t->jlabels);
    cdc__free(a, t->cols);
    cdc__free(a, t->col_names);
    cdc__free(a, t->labels);
    cdc__free(a, t->strings);
    cdc__free(a, t);
}

const char *cdc__column_type_text(const cdc_column *c, char *buf, size_t n)
{
    static const struct { uint8_t t; const char *s; } names[] = {
        {CDC_T_DECIMAL, "DECIMAL"}, {CDC_T_TINY, "TINYINT"}, {CDC_T_SHORT, "SMALLINT"},
        {CDC_T_LONG, "INT"}, {CDC_T_FLOAT, "FLOAT"}, {CDC_T_DOUBLE, "DOUBLE"},
        {CDC_T_NULL, "NULL"}, {CDC_T_TIMESTAMP, "TIMESTAMP"}, {CDC_T_LONGLONG, "BIGINT"},
        {CDC_T_INT24, "MEDIUMINT"}, {CDC_T_DATE, "DATE"}, {CDC_T_TIME, "TIME"},
        {CDC_T_DATETIME, "DATETIME"}, {CDC_T_YEAR, "YEAR"}, {CDC_T_NEWDATE, "DATE"},
        {CDC_T_VARCHAR, "VARCHAR"}, {CDC_T_BIT, "BIT"}, {CDC_T_TIMESTAMP2, "TIMESTAMP"},
        {CDC_T_DATETIME2, "DATETIME"}, {CDC_T_TIME2, "TIME"}, {CDC_T_VECTOR, "VECTOR"},
        {CDC_T_JSON, "JSON"}, {CDC_T_NEWDECIMAL, "DECIMAL"}, {CDC_T_ENUM, "ENUM"},
        {CDC_T_SET, "SET"}, {CDC_T_TINY_BLOB, "TINYBLOB"}, {CDC_T_MEDIUM_BLOB, "MEDIUMBLOB"},
        {CDC_T_LONG_BLOB, "LONGBLOB"}, {CDC_T_BLOB, "BLOB"}, {CDC_T_VAR_STRING, "VARCHAR"},
        {CDC_T_STRING, "CHAR"}, {CDC_T_GEOMETRY, "GEOMETRY"},
    };
    const char *s = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].t == c->real_type) s = names[i].s;
    if (!s) { snprintf(buf, n, "type %u", c->real_type); return buf; }
    switch (c->real_type) {
    case CDC_T_NEWDECIMAL: snprintf(buf, n, "%s(%u,%u)", s, c->meta >> 8, c->meta & 0xff); break;
    case CDC_T_VARCHAR: case CDC_T_VAR_STRING: case CDC_T_STRING:
        snprintf(buf, n, "%s(%u bytes)", s, c->meta); break;
    case CDC_T_BIT: snprintf(buf, n, "BIT(%u)", (c->meta >> 8) * 8 + (c->meta & 0xff)); break;
    case CDC_T_TIMESTAMP2: case CDC_T_DATETIME2: case CDC_T_TIME2:
        snprintf(buf, n, "%s(%u)", s, c->meta); break;
    default:
        snprintf(buf, n, "%s%s", s,
                 (c->flags & CDC_COLF_UNSIGNED) ? " UNSIGNED" : "");
    }
    return buf;
}

void cdc__table_map_init(cdc__table_map *m, const cdc_allocator *a)
{
    memset(m, 0, sizeof *m);
    m->alloc = a;
}

/* Names came from the binlog (or there are no columns): the table never
 * changes after parsing, so it may serve a later map with the same bytes.
 * Decided when parsed: names borrowed later (cdc__table_borrow_names)
 * belong to a schema cache that DDL may change under an unchanged map. */
static bool cacheable(const struct cdc_table *t)
{
    return t->raw && t->cacheable;
}

static void cache_add(cdc__table_map *m, struct cdc_table *t)
{
    if (!cacheable(t) || !m->cache) {
        cdc__table_free(t);
        return;
    }
    for (size_t i = 0; i < m->ncache; i++) {
        if (m->cache[i]->id == t->id) { /* a newer map of this id */
            cdc__table_free(m->cache[i]);
            memmove(m->cache + i, m->cache + i + 1, (m->ncache - i - 1) * sizeof *m->cache);
            m->ncache--;
            break;
        }
    }
    if (m->ncache == CDC__TABLE_CACHE_MAX) {
        cdc__table_free(m->cache[0]);
        memmove(m->cache, m->cache + 1, (m->ncache - 1) * sizeof *m->cache);
        m->ncache--;
    }
    m->cache[m->ncache++] = t;
}

void cdc__table_map_clear(cdc__table_map *m)
{
    for (size_t i = 0; i < m->n; i++) cache_add(m, m->t[i]);
    m->n = 0;
}

void cdc__table_map_flush(cdc__table_map *m)
{
    for (size_t i = 0; i < m->n; i++) cdc__table_free(m->t[i]);
    m->n = 0;
    for (size_t i = 0; i < m->ncache; i++) cdc__table_free(m->cache[i]);
    m->ncache = 0;
}

void cdc__table_map_free(cdc__table_map *m)
{
    cdc__table_map_flush(m);
    cdc__free(m->alloc, m->t);
    cdc__free(m->alloc, m->cache);
    m->t = NULL;
    m->cache = NULL;
    m->cap = 0;
}

int cdc__table_map_load(cdc__table_map *m, const cdc__fde *f, const uint8_t *body, size_t len,
                        struct cdc_table **out, cdc__err *err)
{
    if (!m->cache && !(m->cache = cdc__calloc(m->alloc, CDC__TABLE_CACHE_MAX, sizeof *m->cache)))
        return cdc__err_set(err, CDC_ERR_NOMEM, "TABLE_MAP: out of memory");
    for (size_t i = 0; i < m->ncache; i++) {
        struct cdc_table *t = m->cache[i];
        if (t->raw_len != len || memcmp(t->raw, body, len) != 0) continue;
        memmove(m->cache + i, m->cache + i + 1, (m->ncache - i - 1) * sizeof *m->cache);
        m->ncache--;
        if (cdc__table_map_put(m, t)) return cdc__err_set(err, CDC_ERR_NOMEM, "TABLE_MAP: out of memory");
        *out = t;
        return CDC_OK;
    }
    struct cdc_table *t;
    int rc = cdc__table_parse(f, body, len, m->alloc, &t, err);
    if (rc) return rc;
    t->raw = cdc__malloc(m->alloc, len ? len : 1);
    if (!t->raw) {
        cdc__table_free(t);
        return cdc__err_set(err, CDC_ERR_NOMEM, "TABLE_MAP: out of memory");
    }
    memcpy(t->raw, body, len);
    t->raw_len = len;
    t->cacheable = t->ncols == 0 || t->col_names[0] != NULL;
    if (cdc__table_map_put(m, t)) return cdc__err_set(err, CDC_ERR_NOMEM, "TABLE_MAP: out of memory");
    *out = t;
    return CDC_OK;
}

int cdc__table_map_put(cdc__table_map *m, struct cdc_table *t)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->t[i]->id == t->id) {
            cdc__table_free(m->t[i]);
            m->t[i] = t;
            return CDC_OK;
        }
    }
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 8;
        struct cdc_table **p = cdc__realloc(m->alloc, m->t, nc * sizeof *p);
        if (!p) { cdc__table_free(t); return CDC_ERR_NOMEM; }
        m->t = p;
        m->cap = nc;
    }
    m->t[m->n++] = t;
    return CDC_OK;
}

struct cdc_table *cdc__table_map_get(const cdc__table_map *m, uint64_t id)
{
    for (size_t i = m->n; i > 0; i--)
        if (m->t[i - 1]->id == id) return m->t[i - 1];
    return NULL;
}
