/*
 * json.c: MySQL binary JSON (sql-common/json_binary.cc layout) to JSON
 * text, JSON text to canonical compact text, and PARTIAL_JSON diffs.
 *
 * Binary layout: a document is a type byte and a value. Objects and
 * arrays ("small" with 2-byte, "large" with 4-byte offsets) start with
 * element count and byte size, then per element a key entry (offset,
 * 2-byte length; objects only) and a value entry (type byte, then an
 * offset from the container start, or the value itself for literals
 * and small integers: "inlined"). Scalars: int16/uint16/int32/uint32/
 * int64/uint64 little-endian, double (IEEE, LE), string (varlen length,
 * UTF-8), opaque (MySQL field type byte, varlen length, bytes).
 *
 * Hostile input: every offset and length is checked against the
 * enclosing container; nesting stops at CDC__JSON_MAX_DEPTH; and since a
 * well-formed document never shares bytes between values, the number of
 * values visited plus the payload bytes rendered may not exceed twice
 * the document size, which stops offset tricks (cycles, many entries
 * pointing at one big subtree) from making the output explode.
 */
#include "json.h"

#include <inttypes.h>
#include <stdio.h>

#include "charset.h"
#include "decimal.h"
#include "jsonw.h"
#include "temporal.h"

enum {
    JB_SMALL_OBJ = 0, JB_LARGE_OBJ = 1, JB_SMALL_ARR = 2, JB_LARGE_ARR = 3, JB_LITERAL = 4,
    JB_INT16 = 5, JB_UINT16 = 6, JB_INT32 = 7, JB_UINT32 = 8, JB_INT64 = 9, JB_UINT64 = 10,
    JB_DOUBLE = 11, JB_STRING = 12, JB_OPAQUE = 15,
};

typedef struct jctx {
    cdc__buf *out;
    cdc__err *err;
    size_t budget;
    const uint8_t *doc; /* for byte offsets in messages */
} jctx;

static int corrupt(jctx *c, const uint8_t *at, const char *what)
{
    return cdc__err_set(c->err, CDC_ERR_CORRUPT, "JSON: %s at byte %zu", what, (size_t)(at - c->doc));
}

static int nomem(jctx *c) { return cdc__err_set(c->err, CDC_ERR_NOMEM, "out of memory"); }

static int spend(jctx *c, const uint8_t *at, size_t n)
{
    if (n > c->budget) return corrupt(c, at, "values overlap (shared or cyclic offsets)");
    c->budget -= n;
    return CDC_OK;
}

/* Variable-length length: 7 bits a byte, low first, at most 5 bytes. */
static bool varlen(const uint8_t *p, size_t avail, uint32_t *val, size_t *n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 5 && i < avail; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            if (v > UINT32_MAX) return false;
            *val = (uint32_t)v;
            *n = i + 1;
            return true;
        }
    }
    return false;
}

static bool inlined(uint8_t type, bool large)
{
    return type == JB_LITERAL || type == JB_INT16 || type == JB_UINT16 ||
           (large && (type == JB_INT32 || type == JB_UINT32));
}

static int put(jctx *c, const char *s, size_t n) { return cdc__buf_append(c->out, s, n) ? nomem(c) : CDC_OK; }

static int put_i64(jctx *c, int64_t v)
{
    char b[24];
    return put(c, b, (size_t)snprintf(b, sizeof b, "%" PRId64, v));
}

static int put_u64(jctx *c, uint64_t v)
{
    char b[24];
    return put(c, b, (size_t)snprintf(b, sizeof b, "%" PRIu64, v));
}

/* A JSON double as MySQL prints it: shortest round-trip text, with ".0"
 * added when it would otherwise read as an integer. */
static int put_double(jctx *c, double d)
{
    char b[40];
    size_t n = cdc__fmt_double(b, d);
    if (!strpbrk(b, ".eEn")) { memcpy(b + n, ".0", 3); n += 2; }
    return put(c, b, n);
}

static int render_opaque(jctx *c, uint8_t ftype, const uint8_t *p, size_t n)
{
    char text[CDC__DECIMAL_TEXT_MAX > CDC__TEMPORAL_TEXT_MAX ? CDC__DECIMAL_TEXT_MAX : CDC__TEMPORAL_TEXT_MAX];
    cdc__temporal tm;
    size_t len;
    switch (ftype) {
    case CDC_T_NEWDECIMAL: {
        /* precision, scale, then the binary decimal: printed as a number */
        if (n < 2) return corrupt(c, p, "opaque DECIMAL without precision/scale");
        size_t need = cdc__decimal_bin_size(p[0], p[1]);
        if (!need || n - 2 < need) return corrupt(c, p, "opaque DECIMAL of bad size");
        int r = cdc__decimal_to_text(p + 2, p[0], p[1], text, c->err);
        if (r < 0) return r;
        return put(c, text, (size_t)r);
    }
    case CDC_T_DATE:
    case CDC_T_NEWDATE:
    case CDC_T_DATETIME:
    case CDC_T_TIMESTAMP:
    case CDC_T_DATETIME2:
    case CDC_T_TIMESTAMP2:
    case CDC_T_TIME:
    case CDC_T_TIME2:
        /* a packed 64-bit temporal, printed as MySQL's JSON prints it:
         * space separator and always six fractional digits */
        if (n < 8) return corrupt(c, p, "opaque temporal shorter than 8 bytes");
        if (ftype == CDC_T_TIME || ftype == CDC_T_TIME2) {
            cdc__time_unpack_packed((int64_t)cdc__le64(p), &tm);
            len = cdc__fmt_time(text, &tm, 6);
        } else {
            cdc__datetime_unpack_packed((int64_t)cdc__le64(p), &tm);
            len = (ftype == CDC_T_DATE || ftype == CDC_T_NEWDATE) ? cdc__fmt_date(text, &tm)
                                                                 : cdc__fmt_datetime(text, &tm, 6, ' ');
        }
        if (cdc__buf_putc(c->out, '"') || cdc__buf_append(c->out, text, len) || cdc__buf_putc(c->out, '"'))
            return nomem(c);
        return CDC_OK;
    default: {
        /* anything else as MySQL prints it: "base64:type<N>:<base64>" */
        char head[32];
        int hn = snprintf(head, sizeof head, "\"base64:type%u:", ftype);
        if (cdc__buf_append(c->out, head, (size_t)hn)) return nomem(c);
        size_t mark = c->out->len;
        if (cdc__render_base64(c->out, p, n)) return nomem(c);
        /* drop the quote render_base64 opened; ours is already open */
        memmove(c->out->data + mark, c->out->data + mark + 1, c->out->len - mark - 1);
        c->out->len--;
        return CDC_OK;
    }
    }
}

/* Renders a scalar of type t whose bytes start at p (avail bytes left). */
static int render_scalar(jctx *c, uint8_t t, const uint8_t *p, size_t avail)
{
    static const uint8_t width[] = {[JB_INT16] = 2, [JB_UINT16] = 2, [JB_INT32] = 4, [JB_UINT32] = 4,
                                    [JB_INT64] = 8, [JB_UINT64] = 8, [JB_DOUBLE] = 8, [JB_LITERAL] = 1};
    if (t <= JB_DOUBLE && t >= JB_LITERAL && avail < width[t]) return corrupt(c, p, "scalar runs past its container");
    switch (t) {
    case JB_LITERAL:
        switch (p[0]) {
        case 0: return put(c, "null", 4);
        case 1: return put(c, "true", 4);
        case 2: return put(c, "false", 5);
        default: return corrupt(c, p, "unknown literal");
        }
    case JB_INT16: return put_i64(c, (int16_t)cdc__le16(p));
    case JB_UINT16: return put_u64(c, cdc__le16(p));
    case JB_INT32: return put_i64(c, (int32_t)cdc__le32(p));
    case JB_UINT32: return put_u64(c, cdc__le32(p));
    case JB_INT64: return put_i64(c, (int64_t)cdc__le64(p));
    case JB_UINT64: return put_u64(c, cdc__le64(p));
    case JB_DOUBLE: {
        uint64_t u = cdc__le64(p);
        double d;
        memcpy(&d, &u, 8);
        return put_double(c, d);
    }
    case JB_STRING: {
        uint32_t n;
        size_t h;
        if (!varlen(p, avail, &n, &h) || n > avail - h) return corrupt(c, p, "string length runs past its container");
        int r = spend(c, p, n);
        if (r) return r;
        return cdc__render_utf8_string(c->out, p + h, n) ? nomem(c) : CDC_OK;
    }
    case JB_OPAQUE: {
        uint32_t n;
        size_t h;
        if (avail < 1 || !varlen(p + 1, avail - 1, &n, &h) || n > avail - 1 - h)
            return corrupt(c, p, "opaque length runs past its container");
        int r = spend(c, p, n);
        if (r) return r;
        return render_opaque(c, p[0], p + 1 + h, n);
    }
    default: return corrupt(c, p, "unknown value type");
    }
}

static int render_value(jctx *c, uint8_t t, const uint8_t *p, size_t avail, unsigned depth);

static int render_container(jctx *c, uint8_t t, const uint8_t *p, size_t avail, unsigned depth)
{
    if (depth >= CDC__JSON_MAX_DEPTH)
        return cdc__err_set(c->err, CDC_ERR_TOO_LARGE, "JSON: nesting deeper than %d at byte %zu",
                            CDC__JSON_MAX_DEPTH, (size_t)(p - c->doc));
    bool large = t == JB_LARGE_OBJ || t == JB_LARGE_ARR;
    bool obj = t == JB_SMALL_OBJ || t == JB_LARGE_OBJ;
    size_t os = large ? 4 : 2;
    if (avail < 2 * os) return corrupt(c, p, "container header runs past the value");
    size_t count = large ? cdc__le32(p) : cdc__le16(p);
    size_t size = large ? cdc__le32(p + os) : cdc__le16(p + os);
    if (size > avail || size < 2 * os) return corrupt(c, p, "container size exceeds the value");
    size_t kes = obj ? os + 2 : 0, ves = 1 + os;
    if (count > (size - 2 * os) / (kes + ves)) return corrupt(c, p, "container entries exceed its size");
    int r = spend(c, p, count + 1);
    if (r) return r;
    const uint8_t *keys = p + 2 * os, *vals = keys + count * kes;
    if (cdc__buf_putc(c->out, obj ? '{' : '[')) return nomem(c);
    for (size_t i = 0; i < count; i++) {
        if (i && cdc__buf_putc(c->out, ',')) return nomem(c);
        if (obj) {
            const uint8_t *ke = keys + i * kes;
            size_t koff = large ? cdc__le32(ke) : cdc__le16(ke), klen = cdc__le16(ke + os);
            if (koff > size || klen > size - koff) return corrupt(c, ke, "key runs past its object");
            if ((r = spend(c, ke, klen))) return r;
            if (cdc__render_utf8_string(c->out, p + koff, klen) || cdc__buf_putc(c->out, ':')) return nomem(c);
        }
        const uint8_t *ve = vals + i * ves;
        uint8_t vt = ve[0];
        if (inlined(vt, large)) {
            r = render_scalar(c, vt, ve + 1, os);
        } else {
            size_t voff = large ? cdc__le32(ve + 1) : cdc__le16(ve + 1);
            if (voff >= size) return corrupt(c, ve, "value offset past its container");
            r = render_value(c, vt, p + voff, size - voff, depth + 1);
        }
        if (r) return r;
    }
    return cdc__buf_putc(c->out, obj ? '}' : ']') ? nomem(c) : CDC_OK;
}

static int render_value(jctx *c, uint8_t t, const uint8_t *p, size_t avail, unsigned depth)
{
    if (t <= JB_LARGE_ARR) return render_container(c, t, p, avail, depth);
    return render_scalar(c, t, p, avail);
}

int cdc__json_render(const uint8_t *p, size_t len, cdc__buf *out, cdc__err *err)
{
    /* an empty value is what the server logs for a JSON NULL-like value
     * it never stored as binary (e.g. columns added by ALTER TABLE) */
    if (len == 0) return cdc__buf_append(out, "null", 4) ? cdc__err_set(err, CDC_ERR_NOMEM, "out of memory") : CDC_OK;
    jctx c = {out, err, 2 * len + 16, p};
    size_t mark = out->len;
    int r = render_value(&c, p[0], p + 1, len - 1, 0);
    if (r) out->len = mark;
    return r;
}

/* ---- JSON text: validate and compact -------------------------------- */

typedef struct tctx {
    const uint8_t *s;
    size_t len, i;
    cdc__buf *out; /* NULL: validate only */
} tctx;

static void skip_ws(tctx *t)
{
    while (t->i < t->len && (t->s[t->i] == ' ' || t->s[t->i] == '\t' || t->s[t->i] == '\n' || t->s[t->i] == '\r'))
        t->i++;
}

static bool emit(tctx *t, const uint8_t *p, size_t n) { return !t->out || cdc__buf_append(t->out, p, n) == 0; }

static int text_value(tctx *t, unsigned depth);

static int text_string(tctx *t)
{
    size_t start = t->i++;
    while (t->i < t->len) {
        uint8_t ch = t->s[t->i];
        if (ch == '"') {
            t->i++;
            /* re-escape through the common writer, so invalid UTF-8 in the
             * source still yields valid UTF-8 output */
            if (!t->out) return CDC_OK;
            return cdc__buf_append(t->out, t->s + start, t->i - start) ? CDC_ERR_NOMEM : CDC_OK;
        }
        if (ch < 0x20) return CDC_ERR_CORRUPT;
        if (ch == '\\') {
            if (++t->i >= t->len) return CDC_ERR_CORRUPT;
            uint8_t e = t->s[t->i];
            if (e == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (t->i + (size_t)k >= t->len || !strchr("0123456789abcdefABCDEF", t->s[t->i + (size_t)k]) ||
                        !t->s[t->i + (size_t)k])
                        return CDC_ERR_CORRUPT;
                t->i += 4;
            } else if (!strchr("\"\\/bfnrt", e) || !e) {
                return CDC_ERR_CORRUPT;
            }
        }
        t->i++;
    }
    return CDC_ERR_CORRUPT;
}

static int text_number(tctx *t)
{
    size_t start = t->i;
    if (t->s[t->i] == '-') t->i++;
    size_t d = t->i;
    while (t->i < t->len && t->s[t->i] >= '0' && t->s[t->i] <= '9') t->i++;
    if (t->i == d || (t->s[d] == '0' && t->i - d > 1)) return CDC_ERR_CORRUPT;
    if (t->i < t->len && t->s[t->i] == '.') {
        d = ++t->i;
        while (t->i < t->len && t->s[t->i] >= '0' && t->s[t->i] <= '9') t->i++;
        if (t->i == d) return CDC_ERR_CORRUPT;
    }
    if (t->i < t->len && (t->s[t->i] == 'e' || t->s[t->i] == 'E')) {
        t->i++;
        if (t->i < t->len && (t->s[t->i] == '+' || t->s[t->i] == '-')) t->i++;
        d = t->i;
        while (t->i < t->len && t->s[t->i] >= '0' && t->s[t->i] <= '9') t->i++;
        if (t->i == d) return CDC_ERR_CORRUPT;
    }
    return emit(t, t->s + start, t->i - start) ? CDC_OK : CDC_ERR_NOMEM;
}

static int text_container(tctx *t, unsigned depth)
{
    if (depth >= CDC__JSON_MAX_DEPTH) return CDC_ERR_TOO_LARGE;
    uint8_t open = t->s[t->i++], close = open == '{' ? '}' : ']';
    if (!emit(t, &open, 1)) return CDC_ERR_NOMEM;
    skip_ws(t);
    if (t->i < t->len && t->s[t->i] == close) { t->i++; return emit(t, &close, 1) ? CDC_OK : CDC_ERR_NOMEM; }
    for (;;) {
        skip_ws(t);
        int r;
        if (open == '{') {
            if (t->i >= t->len || t->s[t->i] != '"') return CDC_ERR_CORRUPT;
            if ((r = text_string(t))) return r;
            skip_ws(t);
            if (t->i >= t->len || t->s[t->i] != ':') return CDC_ERR_CORRUPT;
            t->i++;
            if (!emit(t, (const uint8_t *)":", 1)) return CDC_ERR_NOMEM;
        }
        if ((r = text_value(t, depth + 1))) return r;
        skip_ws(t);
        if (t->i >= t->len) return CDC_ERR_CORRUPT;
        uint8_t ch = t->s[t->i++];
        if (ch == close) return emit(t, &close, 1) ? CDC_OK : CDC_ERR_NOMEM;
        if (ch != ',') return CDC_ERR_CORRUPT;
        if (!emit(t, &ch, 1)) return CDC_ERR_NOMEM;
    }
}

static int text_value(tctx *t, unsigned depth)
{
    skip_ws(t);
    if (t->i >= t->len) return CDC_ERR_CORRUPT;
    uint8_t ch = t->s[t->i];
    if (ch == '{' || ch == '[') return text_container(t, depth);
    if (ch == '"') return text_string(t);
    if (ch == '-' || (ch >= '0' && ch <= '9')) return text_number(t);
    static const char *const lits[] = {"true", "false", "null"};
    for (int k = 0; k < 3; k++) {
        size_t n = strlen(lits[k]);
        if (t->len - t->i >= n && !memcmp(t->s + t->i, lits[k], n)) {
            t->i += n;
            return emit(t, (const uint8_t *)lits[k], n) ? CDC_OK : CDC_ERR_NOMEM;
        }
    }
    return CDC_ERR_CORRUPT;
}

int cdc__json_text_render(const uint8_t *p, size_t len, cdc__buf *out, cdc__err *err)
{
    size_t mark = out->len;
    tctx t = {p, len, 0, out};
    int r = text_value(&t, 0);
    if (r == CDC_OK) {
        skip_ws(&t);
        if (t.i != len) r = CDC_ERR_CORRUPT;
    }
    if (r == CDC_OK && cdc__utf8_valid(out->data + mark, out->len - mark)) return CDC_OK;
    if (r == CDC_OK) {
        /* strings were copied verbatim and are not all valid UTF-8 */
        cdc__buf chk;
        cdc__buf_init(&chk, out->alloc);
        if (cdc__utf8_sanitize(out->data + mark, out->len - mark, &chk)) {
            cdc__buf_free(&chk);
            out->len = mark;
            return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
        }
        if (chk.len != out->len - mark || memcmp(chk.data, out->data + mark, chk.len)) {
            out->len = mark;
            if (cdc__buf_append(out, chk.data, chk.len)) r = CDC_ERR_NOMEM;
        }
        cdc__buf_free(&chk);
        return r == CDC_OK ? CDC_OK : cdc__err_set(err, r, "out of memory");
    }
    out->len = mark;
    if (r == CDC_ERR_NOMEM) return cdc__err_set(err, r, "out of memory");
    /* not JSON after all (a LONGTEXT without a JSON_VALID check): keep it
     * as a string rather than break the line it is embedded in */
    return cdc__render_utf8_string(out, p, len) ? cdc__err_set(err, CDC_ERR_NOMEM, "out of memory") : CDC_OK;
}

/* ---- PARTIAL_JSON diffs --------------------------------------------- */

enum { DIFF_REPLACE = 0, DIFF_INSERT = 1, DIFF_REMOVE = 2 };

typedef struct jdiff {
    uint8_t op;
    cdc_bytes path;
    cdc_bytes value; /* binary JSON; empty for REMOVE */
} jdiff;

/* Reads the next operation of a diff vector; false at the end or on error
 * (then *rc is set). Layout: op byte, lenenc path, lenenc value unless
 * the op is REMOVE. */
static bool diff_next(cdc__reader *r, jdiff *d, int *rc, cdc__err *err)
{
    *rc = CDC_OK;
    if (cdc__rd_left(r) == 0) return false;
    size_t at = r->off;
    d->op = cdc__rd_u8(r);
    if (d->op > DIFF_REMOVE) {
        *rc = cdc__err_set(err, CDC_ERR_CORRUPT, "JSON diff: unknown operation %u at byte %zu", d->op, at);
        return false;
    }
    d->path = cdc__rd_lenenc_bytes(r, NULL);
    d->value = (cdc_bytes){NULL, 0};
    if (d->op != DIFF_REMOVE) d->value = cdc__rd_lenenc_bytes(r, NULL);
    if (r->bad) {
        *rc = cdc__err_set(err, CDC_ERR_CORRUPT, "JSON diff: operation at byte %zu runs past the value", at);
        return false;
    }
    return true;
}

int cdc__json_diff_decode(const cdc_column *col, const uint8_t *p, size_t avail, cdc_value *out, size_t *used,
                          cdc__err *err)
{
    memset(out, 0, sizeof *out);
    out->col = col;
    unsigned lb = col && col->meta ? col->meta : 4;
    if (lb > 4) return cdc__err_set(err, CDC_ERR_CORRUPT, "JSON diff: %u length bytes in metadata", lb);
    if (avail < lb) return cdc__err_set(err, CDC_ERR_CORRUPT, "JSON diff: need %u bytes, %zu left", lb, avail);
    size_t n = (size_t)cdc__leN(p, lb);
    if (n > avail - lb)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "JSON diff: value of %zu bytes, %zu left", n, avail - lb);
    /* check the operations now, so rendering and applying never meet a
     * malformed vector */
    cdc__reader r = cdc__rd(p + lb, n);
    jdiff d;
    int rc;
    while (diff_next(&r, &d, &rc, err)) {}
    if (rc) return rc;
    out->kind = CDC_K_JSON_DIFF;
    out->v.b = (cdc_bytes){p + lb, n};
    *used = lb + n;
    return CDC_OK;
}

int cdc__json_diff_render(const cdc_value *v, cdc__buf *out, cdc__err *err)
{
    static const char *const names[] = {"replace", "insert", "remove"};
    size_t mark = out->len;
    cdc__reader r = cdc__rd(v->v.b.ptr, v->v.b.len);
    jdiff d;
    int rc;
    bool first = true;
    if (cdc__buf_puts(out, "{\"json_diff\":[")) goto nomem;
    while (diff_next(&r, &d, &rc, err)) {
        if (!first && cdc__buf_putc(out, ',')) goto nomem;
        first = false;
        if (cdc__buf_printf(out, "{\"op\":\"%s\",\"path\":", names[d.op]) ||
            cdc__render_utf8_string(out, d.path.ptr, d.path.len))
            goto nomem;
        if (d.op != DIFF_REMOVE) {
            if (cdc__buf_puts(out, ",\"value\":")) goto nomem;
            if ((rc = cdc__json_render(d.value.ptr, d.value.len, out, err))) goto fail;
        }
        if (cdc__buf_putc(out, '}')) goto nomem;
    }
    if (rc) goto fail;
    if (cdc__buf_puts(out, "]}")) goto nomem;
    return CDC_OK;
nomem:
    rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
fail:
    out->len = mark;
    return rc;
}

/* ---- applying a diff: a small DOM over the binary documents --------- */

enum { N_SCALAR, N_OBJECT, N_ARRAY };

typedef struct jnode {
    uint8_t kind;       /* N_* */
    uint8_t btype;      /* N_SCALAR: binary type byte */
    const uint8_t *p;   /* N_SCALAR: its bytes (borrowed) */
    size_t avail;
    const uint8_t *key; /* object member name (borrowed) or NULL */
    size_t klen;
    int32_t karena;     /* >= 0: name is in the key arena at this offset */
    int32_t first;      /* containers: first child, -1 if none */
    int32_t next;       /* next sibling, -1 at the end */
} jnode;

typedef struct jdom {
    jctx c;
    cdc__buf nodes; /* jnode array */
    cdc__buf keys;  /* unescaped member names from paths */
} jdom;

#define NODE(d, i) (((jnode *)(d)->nodes.data)[i])

static int32_t node_new(jdom *d)
{
    if (d->nodes.len / sizeof(jnode) >= INT32_MAX || cdc__buf_reserve(&d->nodes, sizeof(jnode))) return -1;
    int32_t i = (int32_t)(d->nodes.len / sizeof(jnode));
    d->nodes.len += sizeof(jnode);
    memset(&NODE(d, i), 0, sizeof(jnode));
    NODE(d, i).karena = -1;
    NODE(d, i).first = NODE(d, i).next = -1;
    return i;
}

static const uint8_t *node_key(jdom *d, int32_t i)
{
    return NODE(d, i).karena >= 0 ? d->keys.data + NODE(d, i).karena : NODE(d, i).key;
}

/* Builds nodes for the value of type t at p; *idx gets the node. */
static int dom_build(jdom *d, uint8_t t, const uint8_t *p, size_t avail, unsigned depth, int32_t *idx)
{
    jctx *c = &d->c;
    int32_t me = node_new(d);
    if (me < 0) return nomem(c);
    *idx = me;
    if (t > JB_LARGE_ARR) {
        NODE(d, me).kind = N_SCALAR;
        NODE(d, me).btype = t;
        NODE(d, me).p = p;
        NODE(d, me).avail = avail;
        return CDC_OK;
    }
    if (depth >= CDC__JSON_MAX_DEPTH)
        return cdc__err_set(c->err, CDC_ERR_TOO_LARGE, "JSON: nesting deeper than %d", CDC__JSON_MAX_DEPTH);
    bool large = t == JB_LARGE_OBJ || t == JB_LARGE_ARR;
    bool obj = t == JB_SMALL_OBJ || t == JB_LARGE_OBJ;
    NODE(d, me).kind = obj ? N_OBJECT : N_ARRAY;
    size_t os = large ? 4 : 2;
    if (avail < 2 * os) return corrupt(c, p, "container header runs past the value");
    size_t count = large ? cdc__le32(p) : cdc__le16(p);
    size_t size = large ? cdc__le32(p + os) : cdc__le16(p + os);
    if (size > avail || size < 2 * os) return corrupt(c, p, "container size exceeds the value");
    size_t kes = obj ? os + 2 : 0, ves = 1 + os;
    if (count > (size - 2 * os) / (kes + ves)) return corrupt(c, p, "container entries exceed its size");
    int r = spend(c, p, count + 1);
    if (r) return r;
    const uint8_t *keys = p + 2 * os, *vals = keys + count * kes;
    int32_t prev = -1;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *ve = vals + i * ves;
        int32_t child = -1;
        if (inlined(ve[0], large)) {
            r = dom_build(d, ve[0], ve + 1, os, depth + 1, &child);
        } else {
            size_t voff = large ? cdc__le32(ve + 1) : cdc__le16(ve + 1);
            if (voff >= size) return corrupt(c, ve, "value offset past its container");
            r = dom_build(d, ve[0], p + voff, size - voff, depth + 1, &child);
        }
        if (r) return r;
        if (obj) {
            const uint8_t *ke = keys + i * kes;
            size_t koff = large ? cdc__le32(ke) : cdc__le16(ke), klen = cdc__le16(ke + os);
            if (koff > size || klen > size - koff) return corrupt(c, ke, "key runs past its object");
            NODE(d, child).key = p + koff;
            NODE(d, child).klen = klen;
        }
        if (prev < 0) NODE(d, me).first = child;
        else NODE(d, prev).next = child;
        prev = child;
    }
    return CDC_OK;
}

static int dom_render(jdom *d, int32_t i, unsigned depth)
{
    jctx *c = &d->c;
    if (NODE(d, i).kind == N_SCALAR) return render_scalar(c, NODE(d, i).btype, NODE(d, i).p, NODE(d, i).avail);
    if (depth >= CDC__JSON_MAX_DEPTH)
        return cdc__err_set(c->err, CDC_ERR_TOO_LARGE, "JSON: nesting deeper than %d", CDC__JSON_MAX_DEPTH);
    bool obj = NODE(d, i).kind == N_OBJECT;
    if (cdc__buf_putc(c->out, obj ? '{' : '[')) return nomem(c);
    for (int32_t k = NODE(d, i).first; k >= 0; k = NODE(d, k).next) {
        if (k != NODE(d, i).first && cdc__buf_putc(c->out, ',')) return nomem(c);
        if (obj && (cdc__render_utf8_string(c->out, node_key(d, k), NODE(d, k).klen) || cdc__buf_putc(c->out, ':')))
            return nomem(c);
        int r = dom_render(d, k, depth + 1);
        if (r) return r;
    }
    return cdc__buf_putc(c->out, obj ? '}' : ']') ? nomem(c) : CDC_OK;
}

/* One leg of a path: a member name (in the key arena) or an array index. */
typedef struct jleg {
    bool index;
    size_t n;    /* index, or name length */
    int32_t off; /* name offset in the key arena */
} jleg;

static int hexval(uint8_t ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static bool put_cp(cdc__buf *b, uint32_t cp) { return cdc__utf8_put(b, cp) == 0; }

/*
 * Parses a MySQL JSON path as the server writes it into diffs:
 * "$", then legs ".name", ".\"quoted name\"" or "[N]". Wildcards,
 * ranges and "last" never appear in diffs; they give UNSUPPORTED.
 */
static int path_parse(jdom *d, cdc_bytes path, jleg *legs, size_t *nlegs)
{
    const uint8_t *s = path.ptr;
    size_t len = path.len, i = 0, n = 0;
    cdc__err *err = d->c.err;
#define BADPATH() cdc__err_set(err, CDC_ERR_UNSUPPORTED, "JSON diff: cannot follow path '%.*s'", \
                               (int)(len > 200 ? 200 : len), (const char *)s)
    while (i < len && s[i] == ' ') i++;
    if (i >= len || s[i] != '$') return BADPATH();
    i++;
    for (;;) {
        while (i < len && s[i] == ' ') i++;
        if (i == len) break;
        if (n >= CDC__JSON_MAX_DEPTH) return BADPATH();
        jleg *l = &legs[n++];
        if (s[i] == '[') {
            i++;
            while (i < len && s[i] == ' ') i++;
            size_t v = 0, st = i;
            while (i < len && s[i] >= '0' && s[i] <= '9' && i - st < 10) v = v * 10 + (size_t)(s[i++] - '0');
            while (i < len && s[i] == ' ') i++;
            if (i == st || i >= len || s[i] != ']') return BADPATH();
            i++;
            l->index = true;
            l->n = v;
        } else if (s[i] == '.') {
            i++;
            while (i < len && s[i] == ' ') i++;
            l->index = false;
            l->off = (int32_t)d->keys.len;
            if (i < len && s[i] == '"') {
                i++;
                for (;;) {
                    if (i >= len) return BADPATH();
                    uint8_t ch = s[i++];
                    if (ch == '"') break;
                    if (ch != '\\') { if (cdc__buf_putc(&d->keys, ch)) return nomem(&d->c); continue; }
                    if (i >= len) return BADPATH();
                    uint8_t e = s[i++];
                    uint32_t cp;
                    switch (e) {
                    case 'b': cp = '\b'; break;
                    case 'f': cp = '\f'; break;
                    case 'n': cp = '\n'; break;
                    case 'r': cp = '\r'; break;
                    case 't': cp = '\t'; break;
                    case 'u':
                        cp = 0;
                        for (int k = 0; k < 4; k++) {
                            int h = i < len ? hexval(s[i++]) : -1;
                            if (h < 0) return BADPATH();
                            cp = cp << 4 | (uint32_t)h;
                        }
                        if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= len && s[i] == '\\' && s[i + 1] == 'u') {
                            uint32_t lo = 0;
                            for (int k = 2; k < 6; k++) {
                                int h = hexval(s[i + (size_t)k]);
                                if (h < 0) return BADPATH();
                                lo = lo << 4 | (uint32_t)h;
                            }
                            if (lo >= 0xdc00 && lo < 0xe000) {
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                i += 6;
                            }
                        }
                        break;
                    default: cp = e; break;
                    }
                    if (!put_cp(&d->keys, cp)) return nomem(&d->c);
                }
            } else {
                size_t st = i;
                while (i < len && s[i] != '.' && s[i] != '[' && s[i] != ' ') i++;
                if (i == st || (i - st == 1 && s[st] == '*')) return BADPATH();
                if (cdc__buf_append(&d->keys, s + st, i - st)) return nomem(&d->c);
            }
            l->n = d->keys.len - (size_t)l->off;
        } else {
            return BADPATH();
        }
    }
    *nlegs = n;
    return CDC_OK;
#undef BADPATH
}

/* Finds the child of container `parent` that leg l names; *prev gets the
 * sibling before it (-1 if first). Returns the child or -1. */
static int32_t dom_find(jdom *d, int32_t parent, const jleg *l, int32_t *prev)
{
    *prev = -1;
    if (parent < 0) return -1;
    if (l->index ? NODE(d, parent).kind != N_ARRAY : NODE(d, parent).kind != N_OBJECT) return -1;
    size_t k = 0;
    for (int32_t c = NODE(d, parent).first; c >= 0; *prev = c, c = NODE(d, c).next, k++) {
        if (l->index ? k == l->n
                     : (NODE(d, c).klen == l->n && !memcmp(node_key(d, c), d->keys.data + l->off, l->n)))
            return c;
    }
    return -1;
}

/* Object member order of the binary format: shorter names first, then
 * bytewise; an inserted member goes where the server would store it. */
static int key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    if (an != bn) return an < bn ? -1 : 1;
    return memcmp(a, b, an);
}

static void link_after(jdom *d, int32_t parent, int32_t prev, int32_t node, int32_t next)
{
    NODE(d, node).next = next;
    if (prev < 0) NODE(d, parent).first = node;
    else NODE(d, prev).next = node;
}

static int apply_one(jdom *d, int32_t *root, const jdiff *op)
{
    jleg legs[CDC__JSON_MAX_DEPTH];
    size_t n = 0;
    int r = path_parse(d, op->path, legs, &n);
    if (r) return r;
    int32_t val = -1;
    if (op->op != DIFF_REMOVE) {
        if (op->value.len == 0) return corrupt(&d->c, op->value.ptr, "diff value is empty");
        d->c.doc = op->value.ptr;
        d->c.budget += 2 * op->value.len + 16;
        if ((r = dom_build(d, op->value.ptr[0], op->value.ptr + 1, op->value.len - 1, 0, &val))) return r;
    }
#define MISSING() cdc__err_set(d->c.err, CDC_ERR_UNSUPPORTED, "JSON diff: path '%.*s' not in the before image", \
                               (int)(op->path.len > 200 ? 200 : op->path.len), (const char *)op->path.ptr)
    if (n == 0) {
        if (op->op != DIFF_REPLACE) return MISSING();
        *root = val;
        return CDC_OK;
    }
    int32_t parent = *root, prev;
    for (size_t k = 0; k + 1 < n; k++) {
        parent = dom_find(d, parent, &legs[k], &prev);
        if (parent < 0) return MISSING();
    }
    const jleg *last = &legs[n - 1];
    int32_t target = dom_find(d, parent, last, &prev);
    if (op->op == DIFF_INSERT && target < 0) {
        if (NODE(d, parent).kind == (last->index ? N_ARRAY : N_OBJECT)) {
            /* find the insertion point: the end of an array, or the sorted
             * position of the new member name */
            int32_t before = -1, c = NODE(d, parent).first;
            while (c >= 0) {
                if (!last->index &&
                    key_cmp(node_key(d, c), NODE(d, c).klen, d->keys.data + last->off, last->n) > 0)
                    break;
                before = c;
                c = NODE(d, c).next;
            }
            if (!last->index) {
                NODE(d, val).karena = last->off;
                NODE(d, val).klen = last->n;
            }
            link_after(d, parent, before, val, c);
            return CDC_OK;
        }
        return MISSING();
    }
    if (target < 0) return MISSING();
    int32_t after = NODE(d, target).next;
    if (op->op == DIFF_REMOVE) {
        if (prev < 0) NODE(d, parent).first = after;
        else NODE(d, prev).next = after;
        return CDC_OK;
    }
    if (op->op == DIFF_INSERT && last->index) {
        link_after(d, parent, prev, val, target); /* in front of element N */
        return CDC_OK;
    }
    /* REPLACE, or INSERT of a member that exists: the value takes its place */
    NODE(d, val).key = NODE(d, target).key;
    NODE(d, val).karena = NODE(d, target).karena;
    NODE(d, val).klen = NODE(d, target).klen;
    link_after(d, parent, prev, val, after);
    return CDC_OK;
#undef MISSING
}

int cdc__json_diff_apply(const cdc_value *before, const cdc_value *diff, cdc__buf *scratch, cdc_value *out,
                         cdc__err *err)
{
    if (!before || before->kind != CDC_K_JSON || (before->flags & CDC_VF_TEXT) || before->v.b.len == 0)
        return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "JSON diff: no binary before image to apply it to");
    if (diff->kind != CDC_K_JSON_DIFF) return cdc__err_set(err, CDC_ERR_INVALID, "JSON diff: not a diff value");
    jdom d;
    memset(&d, 0, sizeof d);
    d.c = (jctx){scratch, err, 2 * before->v.b.len + 16, before->v.b.ptr};
    cdc__buf_init(&d.nodes, scratch->alloc);
    cdc__buf_init(&d.keys, scratch->alloc);
    int32_t root;
    size_t mark = scratch->len;
    int r = dom_build(&d, before->v.b.ptr[0], before->v.b.ptr + 1, before->v.b.len - 1, 0, &root);
    cdc__reader rd = cdc__rd(diff->v.b.ptr, diff->v.b.len);
    jdiff op;
    while (r == CDC_OK && diff_next(&rd, &op, &r, err)) r = apply_one(&d, &root, &op);
    if (r == CDC_OK) {
        d.c.doc = before->v.b.ptr;
        r = dom_render(&d, root, 0);
    }
    cdc__buf_free(&d.nodes);
    cdc__buf_free(&d.keys);
    if (r) {
        scratch->len = mark;
        return r;
    }
    memset(out, 0, sizeof *out);
    out->kind = CDC_K_JSON;
    out->flags = CDC_VF_TEXT;
    out->col = diff->col;
    out->v.b = (cdc_bytes){scratch->data + mark, scratch->len - mark};
    return CDC_OK;
}
