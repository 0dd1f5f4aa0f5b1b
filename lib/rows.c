/*
 * rows.c: rows events and row images. See rows.h.
 */
#include "rows.h"

#include <inttypes.h>
#include <stddef.h>

#include "decimal.h"
#include "temporal.h"
#include "rowvalue.h"

bool cdc__rows_is_rows_event(int type)
{
    return (type >= 20 && type <= 25) || (type >= 30 && type <= 32) || type == 39 ||
           (type >= 166 && type <= 171);
}

static size_t popcount_bits(const uint8_t *bm, size_t n)
{
    static const uint8_t pop4[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
    size_t c = 0, whole = n / 8;
    for (size_t i = 0; i < whole; i++) c += pop4[bm[i] & 15] + pop4[bm[i] >> 4];
    if (n % 8) {
        unsigned last = bm[whole] & ((1u << (n % 8)) - 1);
        c += pop4[last & 15] + pop4[last >> 4];
    }
    return c;
}

int cdc__rows_parse(const cdc__fde *f, int type, const uint8_t *body, size_t len,
                    cdc__rows_ev *out, cdc__err *err)
{
    memset(out, 0, sizeof *out);
    out->type = type;
    int base; /* 0 write, 1 update, 2 delete */
    if (type >= 20 && type <= 22) base = type - 20;
    else if (type >= 23 && type <= 25) base = type - 23;
    else if (type >= 30 && type <= 32) base = type - 30;
    else if (type == 39) { base = 1; out->partial = true; }
    else { base = (type - 166) % 3; out->compressed = true; }
    out->op = "cud"[base];

    uint8_t ph = cdc__fde_post_header(f, type);
    if (ph == 0) ph = (type >= 30 && type <= 32) || type == 39 || type >= 169 ? 10 : 8;
    cdc__reader r = cdc__rd(body, len);
    out->table_id = ph == 6 ? cdc__rd_u32(&r) : cdc__rd_u48(&r);
    out->flags = cdc__rd_u16(&r);
    if (ph >= 10) { /* v2: extra data, its length counting itself */
        uint16_t xl = cdc__rd_u16(&r);
        if (!r.bad && xl < 2)
            return cdc__err_set(err, CDC_ERR_CORRUPT, "rows event: extra data length %u < 2", xl);
        out->extra.ptr = cdc__rd_take(&r, xl >= 2 ? xl - 2u : 0);
        out->extra.len = xl >= 2 ? xl - 2u : 0;
        if (ph > 10) cdc__rd_skip(&r, ph - 10u);
    } else if (ph > 8) {
        cdc__rd_skip(&r, ph - 8u);
    }
    uint64_t ncols = cdc__rd_lenenc(&r, NULL);
    if (r.bad || ncols > 8 * (uint64_t)cdc__rd_left(&r))
        return cdc__err_set(err, CDC_ERR_CORRUPT, "rows event: truncated header (%zu bytes)", len);
    out->ncols = (size_t)ncols;
    size_t bm = (out->ncols + 7) / 8;
    out->cols_before = cdc__rd_take(&r, bm);
    out->cols_after = base == 1 ? cdc__rd_take(&r, bm) : out->cols_before;
    if (r.bad)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "rows event: column bitmaps run past the end");
    out->n_before = popcount_bits(out->cols_before, out->ncols);
    out->n_after = popcount_bits(out->cols_after, out->ncols);
    out->rows = cdc__rd_rest(&r);
    return CDC_OK;
}

/* ---- the per-table plan ------------------------------------------------ */

static uint8_t text_or_bytes(const cdc_column *c)
{
    return c->charset == CDC_CHARSET_BINARY ? CDC_K_BYTES : CDC_K_STRING;
}

/* A length-prefixed value of text or bytes, unless the metadata says it
 * is an INET4/INET6/UUID (whose length rowvalue.c checks). */
static void plan_string(const cdc_column *c, unsigned lb, cdc__col_plan *pl)
{
    if (c->flags & (CDC_COLF_INET4 | CDC_COLF_INET6 | CDC_COLF_UUID)) return;
    *pl = (cdc__col_plan){.op = PLAN_LENPREF, .width = (uint8_t)lb, .kind = text_or_bytes(c)};
}

static void plan_fixed(cdc__col_plan *pl, uint8_t op, size_t width, uint8_t kind)
{
    pl->op = op;
    pl->width = (uint8_t)width;
    pl->kind = kind;
}

/* The CELL_* op that makes a cell of pl's column with one load of its
 * width (rows.h), or pl->op when there is none. */
static uint8_t cell_op(const cdc__col_plan *pl)
{
    bool sig = pl->op == PLAN_INT;
    switch (pl->op) {
    case PLAN_INT:
    case PLAN_UINT:
    case PLAN_LE_UINT:
        switch (pl->width) {
        case 8: return CELL_RAW8;
        case 4: return sig ? CELL_I32 : CELL_U32;
        case 2: return sig ? CELL_I16 : CELL_U16;
        case 1: return sig ? CELL_I8 : CELL_U8;
        default: break;
        }
        break;
    case PLAN_BE_UINT: /* one byte reads the same either way */
        if (pl->width == 1) return CELL_U8;
        break;
    case PLAN_DOUBLE: return CELL_RAW8; /* the cell's v.d is the value's bits */
    case PLAN_DECIMAL:
        if (pl->dec.n == 2 && pl->width <= 8) return CELL_DEC2;
        break;
    case PLAN_DATETIME2: return (uint8_t)(CELL_DT0 + (pl->width - 5)); /* width 5..8 */
    case PLAN_TIMESTAMP2: return (uint8_t)(CELL_TS0 + (pl->width - 4)); /* width 4..7 */
    case PLAN_LENPREF:
        switch (pl->width) {
        case 1: return CELL_STR1;
        case 2: return CELL_STR2;
        case 4: return CELL_STR4;
        default: break;
        }
        break;
    default: break;
    }
    return pl->op;
}

/* The same choices as cdc__value_decode (rowvalue.c), made once. */
void cdc__col_plan_make(const cdc_column *c, cdc__col_plan *pl)
{
    *pl = (cdc__col_plan){.op = PLAN_SLOW};
    bool uns = (c->flags & CDC_COLF_UNSIGNED) != 0;
    uint8_t int_op = uns ? PLAN_UINT : PLAN_INT, int_kind = uns ? CDC_K_UINT : CDC_K_INT;
    unsigned fsp = c->meta;
    switch (c->type) {
    case CDC_T_TINY: plan_fixed(pl, int_op, 1, int_kind); break;
    case CDC_T_SHORT: plan_fixed(pl, int_op, 2, int_kind); break;
    case CDC_T_INT24: plan_fixed(pl, int_op, 3, int_kind); break;
    case CDC_T_LONG: plan_fixed(pl, int_op, 4, int_kind); break;
    case CDC_T_LONGLONG: plan_fixed(pl, int_op, 8, int_kind); break;
    case CDC_T_FLOAT: plan_fixed(pl, PLAN_FLOAT, 4, CDC_K_FLOAT); break;
    case CDC_T_DOUBLE: plan_fixed(pl, PLAN_DOUBLE, 8, CDC_K_DOUBLE); break;
    case CDC_T_YEAR: plan_fixed(pl, PLAN_YEAR, 1, CDC_K_YEAR); break;
    case CDC_T_DATE:
    case CDC_T_NEWDATE: plan_fixed(pl, PLAN_DATE, 3, CDC_K_DATE); break;
    case CDC_T_NEWDECIMAL: {
        size_t n = cdc__decimal_bin_size(c->meta >> 8, c->meta & 0xff);
        if (n) plan_fixed(pl, PLAN_DECIMAL, n, CDC_K_DECIMAL);
        break;
    }
    case CDC_T_TIME2:
        if (fsp <= 6) plan_fixed(pl, PLAN_TIME2, 3 + cdc__frac_bytes(fsp), CDC_K_TIME);
        break;
    case CDC_T_DATETIME2:
        if (fsp <= 6) plan_fixed(pl, PLAN_DATETIME2, 5 + cdc__frac_bytes(fsp), CDC_K_DATETIME);
        break;
    case CDC_T_TIMESTAMP2:
        if (fsp <= 6) plan_fixed(pl, PLAN_TIMESTAMP2, 4 + cdc__frac_bytes(fsp), CDC_K_TIMESTAMP);
        break;
    case CDC_T_BIT: {
        unsigned bits = (c->meta >> 8) * 8 + (c->meta & 0xff);
        if (bits >= 1 && bits <= 64) plan_fixed(pl, PLAN_BE_UINT, (bits + 7) / 8, CDC_K_BIT);
        break;
    }
    case CDC_T_ENUM:
    case CDC_T_SET:
    case CDC_T_STRING: {
        unsigned real, len;
        cdc__column_string_info(c, &real, &len);
        if (real == CDC_T_ENUM) {
            if (len == 1 || len == 2) plan_fixed(pl, PLAN_LE_UINT, len, CDC_K_ENUM);
        } else if (real == CDC_T_SET) {
            if (len >= 1 && len <= 8) plan_fixed(pl, PLAN_LE_UINT, len, CDC_K_SET);
        } else {
            plan_string(c, len > 255 ? 2 : 1, pl);
        }
        break;
    }
    case CDC_T_VARCHAR:
    case CDC_T_VAR_STRING: plan_string(c, c->meta > 255 ? 2 : 1, pl); break;
    case CDC_T_TINY_BLOB:
    case CDC_T_MEDIUM_BLOB:
    case CDC_T_LONG_BLOB:
    case CDC_T_BLOB:
        if (c->meta < 1 || c->meta > 4) break;
        *pl = (cdc__col_plan){.op = PLAN_LENPREF, .width = (uint8_t)c->meta, .kind = text_or_bytes(c)};
        if (c->flags & CDC_COLF_JSON_TEXT) {
            pl->kind = CDC_K_JSON;
            pl->vflags = CDC_VF_TEXT;
        }
        break;
    case CDC_T_JSON: {
        unsigned lb = c->meta ? c->meta : 4;
        if (lb > 4) break;
        *pl = (cdc__col_plan){.op = PLAN_LENPREF, .width = (uint8_t)lb, .kind = CDC_K_JSON};
        if (c->flags & CDC_COLF_JSON_TEXT) pl->vflags = CDC_VF_TEXT;
        break;
    }
    default: break; /* old temporal and DECIMAL forms, GEOMETRY, VECTOR, NULL: rowvalue.c */
    }
    if (pl->op == PLAN_TIME2 || pl->op == PLAN_DATETIME2 || pl->op == PLAN_TIMESTAMP2) pl->fsp = (uint8_t)fsp;
    if (pl->op == PLAN_DECIMAL) cdc__decimal_groups_make(c->meta >> 8, c->meta & 0xff, &pl->dec);
    pl->json = c->type == CDC_T_JSON;
    memset(&pl->proto, 0, sizeof pl->proto);
    pl->proto.kind = pl->kind;
    pl->proto.fsp = pl->fsp;
    pl->proto.flags = pl->vflags;
    pl->proto.col = c;
    memset(&pl->cproto, 0, sizeof pl->cproto);
    pl->cproto.kind = pl->kind;
    pl->cproto.fsp = pl->fsp;
    if (pl->op == PLAN_LENPREF && (pl->vflags & CDC_VF_TEXT)) pl->cproto.flags = CDC_CELL_JSON_TEXT;
    if (pl->op == PLAN_DECIMAL) pl->cproto.scale = (uint8_t)(c->meta & 0xff);
    pl->cop = cell_op(pl);
}

int cdc__rows_prepare(struct cdc_table *t)
{
    if (t->plan) return CDC_OK;
    cdc__col_plan *pl = cdc__calloc(t->alloc, t->ncols ? t->ncols : 1, sizeof *pl);
    if (!pl) return CDC_ERR_NOMEM;
    uint16_t jk = 0;
    bool cells = true;
    for (size_t i = 0; i < t->ncols; i++) {
        cdc__col_plan_make(&t->cols[i], &pl[i]);
        pl[i].json_k = jk;
        if (pl[i].json) jk++;
        if (pl[i].op == PLAN_SLOW || (pl[i].op == PLAN_DECIMAL && !pl[i].dec.n)) cells = false;
    }
    t->plan = pl;
    t->plan_cells = cells;
    return CDC_OK;
}

/* Little-endian w (1..8) bytes at p; one 8-byte load when the input has
 * 8 bytes from p. */
static inline uint64_t load_le(const uint8_t *p, size_t w, size_t avail)
{
    if (avail < 8) return cdc__leN(p, w);
    unsigned s = (unsigned)(64 - 8 * w);
    return cdc__le64(p) << s >> s;
}

/* 8 bytes at p, big-endian (one load and a byte swap). */
static inline uint64_t be64(const uint8_t *p)
{
    return ((uint64_t)p[0] << 56) | ((uint64_t)p[1] << 48) | ((uint64_t)p[2] << 40) | ((uint64_t)p[3] << 32) |
           ((uint64_t)p[4] << 24) | ((uint64_t)p[5] << 16) | ((uint64_t)p[6] << 8) | (uint64_t)p[7];
}

/* Big-endian w (1..8) bytes at p; one 8-byte load when the input has 8
 * bytes from p. */
static inline uint64_t load_be(const uint8_t *p, size_t w, size_t avail)
{
    if (avail < 8) return cdc__beN(p, w);
    return be64(p) >> (64 - 8 * w);
}

/* TIMESTAMP2 of w = 4 + fb bytes at p. */
static inline void timestamp2_load(const uint8_t *p, size_t w, size_t avail, int64_t *sec, uint32_t *usec)
{
    size_t fb = w - 4;
    uint64_t x = load_be(p, w, avail);
    *sec = (int64_t)(x >> (8 * fb));
    *usec = cdc__frac_usec_raw((uint32_t)(x & ((UINT64_C(1) << (8 * fb)) - 1)), fb);
}

static inline bool tm_is_zero(const cdc__temporal *tm)
{
    return !tm->year && !tm->month && !tm->day && !tm->hour && !tm->minute && !tm->second && !tm->usec;
}

/* Decodes one value through its plan; false when the plan cannot (a
 * PLAN_SLOW column, a value short of its bytes, a bad DECIMAL digit
 * group): cdc__value_decode then reads it and says what is wrong. */
static inline __attribute__((always_inline)) bool plan_decode(const cdc__col_plan *pl, const cdc_column *c, const uint8_t *p, size_t avail,
                               cdc_value *v, size_t *used)
{
    size_t w = pl->width;
    if (w > avail) return false; /* PLAN_SLOW has width 0: the switch refuses it */
    *v = pl->proto;
    switch (pl->op) {
    case PLAN_INT: {
        unsigned shift = (unsigned)(64 - 8 * w);
        uint64_t u = load_le(p, w, avail);
        v->v.i = shift ? (int64_t)(u << shift) >> shift : (int64_t)u;
        break;
    }
    case PLAN_UINT:
    case PLAN_LE_UINT: v->v.u = load_le(p, w, avail); break;
    case PLAN_BE_UINT: v->v.u = load_be(p, w, avail); break;
    case PLAN_FLOAT: {
        uint32_t u = cdc__le32(p);
        memcpy(&v->v.f, &u, 4);
        break;
    }
    case PLAN_DOUBLE: {
        uint64_t u = cdc__le64(p);
        memcpy(&v->v.d, &u, 8);
        break;
    }
    case PLAN_LENPREF: {
        uint64_t n = load_le(p, w, avail);
        if (n > avail - w) return false;
        v->v.b = (cdc_bytes){p + w, (size_t)n};
        *used = w + (size_t)n;
        return true;
    }
    case PLAN_DECIMAL: {
        /* up to 18 digits: checked and read as an integer in one pass,
         * which the getters and the JSON text then use */
        if (pl->dec.n) {
            if (!(w <= 8 && avail >= 8 ? cdc__decimal_groups_to_i64_be(be64(p), &pl->dec, &v->v.dec.unscaled)
                                       : cdc__decimal_groups_to_i64(p, &pl->dec, &v->v.dec.unscaled)))
                return false;
            v->flags |= CDC_VF_SCALED;
        } else {
            cdc__err scratch;
            if (cdc__decimal_check(p, c->meta >> 8, c->meta & 0xff, &scratch) < 0) return false;
        }
        v->v.dec.b = (cdc_bytes){p, w};
        break;
    }
    case PLAN_DATE:
        cdc__date_unpack(cdc__le24(p), &v->v.tm);
        if (tm_is_zero(&v->v.tm)) v->flags |= CDC_VF_ZERO_DATE;
        break;
    case PLAN_TIME2: cdc__time2_unpack(p, pl->fsp, &v->v.tm); break;
    case PLAN_DATETIME2:
        cdc__datetime2_unpack_be(load_be(p, w, avail), w - 5, &v->v.tm);
        if (tm_is_zero(&v->v.tm)) v->flags |= CDC_VF_ZERO_DATE;
        break;
    case PLAN_TIMESTAMP2: {
        int64_t sec;
        uint32_t usec;
        timestamp2_load(p, w, avail, &sec, &usec);
        v->v.ts.sec = sec;
        v->v.ts.usec = usec;
        if (!sec && !usec) v->flags |= CDC_VF_ZERO_DATE; /* the zero date, not 1970 */
        break;
    }
    case PLAN_YEAR: v->v.i = p[0] ? 1900 + p[0] : 0; break;
    case PLAN_SLOW: return false;
    default: __builtin_unreachable(); /* op is a PLAN_* (cdc__col_plan_make): no range check before the jump */
    }
    *used = w;
    return true;
}

int cdc__value_decode_planned(const cdc__col_plan *pl, const cdc_column *c, const uint8_t *p, size_t avail,
                              cdc_value *out, size_t *used, cdc__err *err)
{
    if (plan_decode(pl, c, p, avail, out, used)) return CDC_OK;
    return cdc__value_decode(c, p, avail, out, used, err);
}

/* Lazy reading: how many bytes the value at p takes, without making it;
 * v keeps where it starts and what the image had left there, for
 * cdc__rows_materialize. False when the value must be decoded now: a
 * DECIMAL (its digit groups are checked as it is read), a PLAN_SLOW
 * column, or a value short of its bytes (plan_decode and
 * cdc__value_decode then say what is wrong). A value that passes cannot
 * fail later: plan_decode of the other kinds only loads bytes. */
static inline __attribute__((always_inline)) bool plan_skip(const cdc__col_plan *pl, const uint8_t *p, size_t avail,
                                                            cdc_value *v, size_t *used)
{
    size_t w = pl->width;
    if (pl->op == PLAN_SLOW || pl->op == PLAN_DECIMAL || w > avail) return false;
    if (pl->op == PLAN_LENPREF) {
        uint64_t n = load_le(p, w, avail);
        if (n > avail - w) return false;
        w += (size_t)n;
    }
    v->v.b = (cdc_bytes){p, avail};
    *used = w;
    return true;
}

void cdc__rows_materialize(const struct cdc_table *t, size_t i, cdc_value *v, uint8_t *state)
{
    size_t used;
    const uint8_t *p = v->v.b.ptr;
    size_t avail = v->v.b.len;
    plan_decode(&t->plan[i], &t->cols[i], p, avail, v, &used);
    *state = 1;
}

void cdc__rows_materialize_image(const struct cdc_table *t, size_t n, cdc_value *vals, uint8_t *present)
{
    for (size_t i = 0; i < n; i++)
        if (present[i] == CDC__PRESENT_PENDING) cdc__rows_materialize(t, i, &vals[i], &present[i]);
}

/* ---- cells (cdc_change_cells) ---------------------------------------------- */

static inline void cell_tm(const cdc__temporal *tm, cdc_cell *cell)
{
    cell->v.tm.year = (int16_t)tm->year;
    cell->v.tm.month = tm->month;
    cell->v.tm.day = tm->day;
    cell->v.tm.hour = (uint16_t)tm->hour;
    cell->v.tm.minute = tm->minute;
    cell->v.tm.second = tm->second;
    cell->usec = tm->usec;
    if (tm->neg) cell->flags |= CDC_CELL_NEGATIVE;
}

static inline void cell_ts(int64_t sec, uint32_t usec, bool zero, cdc_cell *cell)
{
    if (zero) {
        cell->flags |= CDC_CELL_ZERO_DATE;
        cell->v.i = 0;
        return;
    }
    cell->v.i = sec * 1000000 + usec;
    cell->usec = usec;
}

void cdc__value_cell(const cdc_value *v, cdc_cell *cell)
{
    memset(cell, 0, sizeof *cell);
    cell->kind = v->kind;
    cell->fsp = v->fsp;
    switch (v->kind) {
    case CDC_K_NULL: break;
    case CDC_K_INT: case CDC_K_YEAR: cell->v.i = v->v.i; break;
    case CDC_K_UINT: case CDC_K_BIT: case CDC_K_ENUM: case CDC_K_SET: cell->v.u = v->v.u; break;
    case CDC_K_FLOAT: cell->v.d = (double)v->v.f; break;
    case CDC_K_DOUBLE: cell->v.d = v->v.d; break;
    case CDC_K_DECIMAL: {
        if (v->flags & CDC_VF_SCALED) { /* the usual case, read at decode time */
            cell->v.i = v->v.dec.unscaled;
            cell->scale = (uint8_t)(v->col->meta & 0xff);
            break;
        }
        int64_t unscaled;
        unsigned scale;
        if (cdc_value_decimal_scaled(v, &unscaled, &scale) == CDC_OK) {
            cell->v.i = unscaled;
            cell->scale = (uint8_t)scale;
        } else {
            cell->flags = CDC_CELL_DECIMAL_WIDE;
        }
        break;
    }
    case CDC_K_DATE: case CDC_K_TIME: case CDC_K_DATETIME:
        cell_tm(&v->v.tm, cell);
        if (v->flags & CDC_VF_ZERO_DATE) cell->flags |= CDC_CELL_ZERO_DATE;
        break;
    case CDC_K_TIMESTAMP: cell_ts(v->v.ts.sec, v->v.ts.usec, (v->flags & CDC_VF_ZERO_DATE) != 0, cell); break;
    default: /* the kinds with bytes (cdc_value_bytes) */
        cell->v.b = v->v.b;
        if (v->kind == CDC_K_JSON && (v->flags & CDC_VF_TEXT)) cell->flags |= CDC_CELL_JSON_TEXT;
        if (v->kind == CDC_K_STRING && (v->flags & CDC_VF_UTF8)) cell->flags |= CDC_CELL_UTF8;
        break;
    }
}

/* The cell of a length-prefixed value of n bytes after its lb length
 * bytes at p (a CELL_STR*); *w becomes the bytes it takes. False when
 * the input ends first. */
static inline __attribute__((always_inline)) bool str_cell(const uint8_t *p, size_t lb, size_t n, size_t avail,
                                                           cdc_cell *cell, size_t *w)
{
    if (n > avail - lb) return false;
    cell->v.b = (cdc_bytes){p + lb, n};
    *w = lb + n;
    return true;
}

/* The cell of a DATETIME2 of w = 5 + fb bytes at p (w a constant where
 * the caller can make it one). */
static inline __attribute__((always_inline)) void datetime2_cell(const uint8_t *p, size_t w, size_t avail,
                                                                 cdc_cell *cell)
{
    size_t fb = w - 5;
    uint64_t x = load_be(p, w, avail);
    int64_t intpart = (int64_t)(x >> (8 * fb)) - 0x8000000000LL;
    if (intpart >= 0) { /* every valid DATETIME: its fields straight from the bits */
        uint32_t usec = cdc__frac_usec_raw((uint32_t)(x & ((UINT64_C(1) << (8 * fb)) - 1)), fb);
        uint64_t ymd = (uint64_t)intpart >> 17, ym = ymd >> 5;
        uint32_t hms = (uint32_t)intpart & 0x1ffff;
        cell->v.tm.year = (int16_t)(ym / 13);
        cell->v.tm.month = (uint8_t)(ym % 13);
        cell->v.tm.day = (uint8_t)(ymd & 31);
        cell->v.tm.hour = (uint16_t)(hms >> 12);
        cell->v.tm.minute = (uint8_t)((hms >> 6) & 63);
        cell->v.tm.second = (uint8_t)(hms & 63);
        cell->usec = usec;
        if (!intpart && !usec) cell->flags |= CDC_CELL_ZERO_DATE;
        return;
    }
    cdc__temporal tm; /* the sign bit clear: what cdc__datetime2_unpack makes of it */
    cdc__datetime2_unpack_be(x, fb, &tm);
    cell_tm(&tm, cell);
    if (tm_is_zero(&tm)) cell->flags |= CDC_CELL_ZERO_DATE;
}

/* The cell of a TIMESTAMP2 of w = 4 + fb bytes at p. */
static inline __attribute__((always_inline)) void timestamp2_cell(const uint8_t *p, size_t w, size_t avail,
                                                                  cdc_cell *cell)
{
    int64_t sec;
    uint32_t usec;
    timestamp2_load(p, w, avail, &sec, &usec);
    cell_ts(sec, usec, !sec && !usec, cell);
}

/* cdc__decimal_groups_to_i64_be for two digit groups (dec.n == 2): the
 * same value and the same checks without the loop over the groups. */
static inline __attribute__((always_inline)) bool dec2_be(uint64_t u, const cdc__decimal_groups *g, int64_t *unscaled)
{
    uint64_t flip = (u >> 63) ? 0 : ~UINT64_C(0); /* negative: digits stored inverted */
    u ^= flip ^ (UINT64_C(1) << 63);               /* the sign bit is not a digit bit */
    unsigned b0 = 8u * g->nb[0], b1 = 8u * g->nb[1]; /* each <= 32 */
    uint32_t hi = (uint32_t)(u >> (64 - b0)), lo = (uint32_t)((u << b0) >> (64 - b1));
    if (hi >= g->limit[0] || lo >= g->limit[1]) return false;
    uint64_t acc = (uint64_t)hi * g->limit[1] + lo;
    *unscaled = flip ? -(int64_t)acc : (int64_t)acc;
    return true;
}

/* A value's cell straight from its bytes, through the plan: what
 * plan_decode and then cdc__value_cell would give. Also measures the value
 * as plan_skip does and, when v is not NULL, leaves v pending (the cells
 * pass of cdc__rows_image_cells); a DECIMAL of at most 18 digits is
 * checked and read here too. False when the value must be decoded the usual way (a
 * PLAN_SLOW column, a wider DECIMAL, a value short of its bytes, a bad
 * digit group); the cell is then to be made from the decoded value. */
static inline __attribute__((always_inline)) bool plan_cell(const cdc__col_plan *pl, unsigned op,
                                                            const uint8_t *p, size_t avail, cdc_value *v,
                                                            cdc_cell *cell, size_t *used)
{
    size_t w = pl->width;
    if (w > avail) return false; /* PLAN_SLOW has width 0: the switch refuses it */
    /* the prototype's head (kind, flags, fsp, scale; usec 0) and the
     * union's second word zeroed: every op below writes its first word
     * (a length-prefixed value both) */
    memcpy(cell, &pl->cproto, offsetof(cdc_cell, v));
    cell->v.b.len = 0;
    switch (op) {
    case CELL_RAW8: cell->v.u = cdc__le64(p); break;
    case CELL_I32: cell->v.i = (int32_t)cdc__le32(p); break;
    case CELL_U32: cell->v.u = cdc__le32(p); break;
    case CELL_I16: cell->v.i = (int16_t)cdc__le16(p); break;
    case CELL_U16: cell->v.u = cdc__le16(p); break;
    case CELL_I8: cell->v.i = (int8_t)p[0]; break;
    case CELL_U8: cell->v.u = p[0]; break;
    case CELL_STR1:
        if (!str_cell(p, 1, p[0], avail, cell, &w)) return false;
        break;
    case CELL_STR2:
        if (!str_cell(p, 2, cdc__le16(p), avail, cell, &w)) return false;
        break;
    case CELL_STR4:
        if (!str_cell(p, 4, cdc__le32(p), avail, cell, &w)) return false;
        break;
    case CELL_DEC2:
        if (!(avail >= 8 ? dec2_be(be64(p), &pl->dec, &cell->v.i) : cdc__decimal_groups_to_i64(p, &pl->dec, &cell->v.i)))
            return false;
        break;
    /* w is the constant each of these names, so the compiler folds the
     * shifts and the fraction's multiplier */
    case CELL_DT0: datetime2_cell(p, 5, avail, cell); break;
    case CELL_DT1: datetime2_cell(p, 6, avail, cell); break;
    case CELL_DT2: datetime2_cell(p, 7, avail, cell); break;
    case CELL_DT3: datetime2_cell(p, 8, avail, cell); break;
    case CELL_TS0: timestamp2_cell(p, 4, avail, cell); break;
    case CELL_TS1: timestamp2_cell(p, 5, avail, cell); break;
    case CELL_TS2: timestamp2_cell(p, 6, avail, cell); break;
    case CELL_TS3: timestamp2_cell(p, 7, avail, cell); break;
    case PLAN_INT: {
        unsigned shift = (unsigned)(64 - 8 * w);
        uint64_t u = load_le(p, w, avail);
        cell->v.i = shift ? (int64_t)(u << shift) >> shift : (int64_t)u;
        break;
    }
    case PLAN_UINT:
    case PLAN_LE_UINT: cell->v.u = load_le(p, w, avail); break;
    case PLAN_BE_UINT: cell->v.u = load_be(p, w, avail); break;
    case PLAN_FLOAT: {
        uint32_t u = cdc__le32(p);
        float f;
        memcpy(&f, &u, 4);
        cell->v.d = (double)f;
        break;
    }
    case PLAN_DOUBLE: {
        uint64_t u = cdc__le64(p);
        memcpy(&cell->v.d, &u, 8);
        break;
    }
    case PLAN_LENPREF: {
        uint64_t n = load_le(p, w, avail);
        if (n > avail - w) return false;
        cell->v.b = (cdc_bytes){p + w, (size_t)n};
        w += (size_t)n;
        break;
    }
    case PLAN_DECIMAL:
        if (!pl->dec.n) return false;
        if (!(w <= 8 && avail >= 8 ? cdc__decimal_groups_to_i64_be(be64(p), &pl->dec, &cell->v.i)
                                   : cdc__decimal_groups_to_i64(p, &pl->dec, &cell->v.i)))
            return false;
        break;
    case PLAN_DATETIME2: datetime2_cell(p, w, avail, cell); break;
    case PLAN_DATE: {
        cdc__temporal tm;
        cdc__date_unpack(cdc__le24(p), &tm);
        cell_tm(&tm, cell);
        if (tm_is_zero(&tm)) cell->flags |= CDC_CELL_ZERO_DATE;
        break;
    }
    case PLAN_TIME2: {
        cdc__temporal tm;
        cdc__time2_unpack(p, pl->fsp, &tm);
        cell_tm(&tm, cell);
        break;
    }
    case PLAN_TIMESTAMP2: timestamp2_cell(p, w, avail, cell); break;
    case PLAN_YEAR: cell->v.i = p[0] ? 1900 + p[0] : 0; break;
    case PLAN_SLOW: return false;
    default: __builtin_unreachable(); /* op is a PLAN_* (cdc__col_plan_make): no range check before the jump */
    }
    if (v) v->v.b = (cdc_bytes){p, avail};
    *used = w;
    return true;
}

bool cdc__rows_plan_cell(const cdc__col_plan *pl, const uint8_t *p, size_t avail, cdc_cell *cell, size_t *used)
{
    return plan_cell(pl, pl->op, p, avail, NULL, cell, used);
}

bool cdc__rows_plan_cell_only(const cdc__col_plan *pl, const uint8_t *p, size_t avail, cdc_cell *cell,
                              size_t *used)
{
    return plan_cell(pl, pl->cop, p, avail, NULL, cell, used);
}

/* A pending value's cell: its bytes were measured (and a DECIMAL's
 * checked) when the image was read, so plan_cell cannot refuse it. */
static inline __attribute__((always_inline)) void pending_cell(const cdc__col_plan *pl, const uint8_t *p,
                                                               size_t avail, cdc_cell *cell)
{
    size_t used;
    (void)plan_cell(pl, pl->cop, p, avail, NULL, cell, &used);
}

static inline __attribute__((always_inline)) void one_cell(const struct cdc_table *t, const cdc_value *vals,
                                                           const uint8_t *present, size_t nev, size_t i,
                                                           cdc_cell *cell)
{
    uint8_t state = i < nev ? present[i] : 0;
    if (state == CDC__PRESENT_PENDING) {
        pending_cell(&t->plan[i], vals[i].v.b.ptr, vals[i].v.b.len, cell);
    } else if (state) {
        cdc__value_cell(&vals[i], cell);
    } else {
        memset(cell, 0, sizeof *cell);
        cell->flags = CDC_CELL_ABSENT;
    }
}

void cdc__rows_cells(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, size_t nev,
                     size_t first, size_t count, void *cells, size_t stride)
{
    if (stride == sizeof(cdc_cell)) { /* the caller's cdc_cell is ours: write in place */
        cdc_cell *out = cells;
        for (size_t k = 0; k < count; k++) one_cell(t, vals, present, nev, first + k, &out[k]);
        return;
    }
    uint8_t *out = cells;
    for (size_t k = 0; k < count; k++, out += stride) {
        cdc_cell cell;
        one_cell(t, vals, present, nev, first + k, &cell);
        memcpy(out, &cell, sizeof cell);
        memset(out + sizeof cell, 0, stride - sizeof cell);
    }
}

/* ---- row images ----------------------------------------------------------- */

/* A PARTIAL_JSON diff for column i: applied to the before value when
 * there is one, else delivered as it is. */
static int partial_json(const struct cdc_table *t, const cdc_column *c, size_t i, const uint8_t *p, size_t avail, cdc_value *v,
                        size_t *used, const cdc_value *before, const uint8_t *before_present, cdc__buf *jbuf,
                        cdc__err *err)
{
    cdc_value diff;
    int rc = cdc__json_diff_decode(c, p, avail, &diff, used, err);
    if (rc) return rc;
    *v = diff;
    v->col = c;
    if (before && before_present && before_present[i] == CDC__PRESENT_PENDING) /* decoder-owned arrays */
        cdc__rows_materialize(t, i, (cdc_value *)&before[i], (uint8_t *)&before_present[i]);
    if (before && before_present && before_present[i] && before[i].kind != CDC_K_NULL) {
        cdc__buf_reset(jbuf);
        cdc__err tmp;
        cdc__err_clear(&tmp);
        rc = cdc__json_diff_apply(&before[i], &diff, jbuf, v, &tmp);
        if (rc == CDC_ERR_UNSUPPORTED) {
            *v = diff;
        } else if (rc) {
            *err = tmp;
            return rc;
        }
        v->col = c;
    }
    return CDC_OK;
}

/* A value the plan could not read: cdc__value_decode reads it or says
 * what is wrong. */
static __attribute__((noinline)) int decode_slow(const cdc_column *c, size_t i, const uint8_t *p, size_t avail,
                                                 cdc_value *v, size_t *used, cdc__rows_where *where, cdc__err *err)
{
    int rc = cdc__value_decode(c, p, avail, v, used, err);
    if (!rc && *used > avail)
        rc = cdc__err_set(err, CDC_ERR_CORRUPT, "value claims %zu bytes, %zu left", *used, avail);
    if (rc) {
        where->column = i;
        return rc;
    }
    v->col = c;
    return CDC_OK;
}

/* The per-row loop of cdc__rows_image, through the table's plan. */
static inline __attribute__((always_inline)) int
image_loop(const struct cdc_table *t, size_t n, const cdc__col_plan *plan, const uint8_t *bitmap, size_t npresent,
           const uint8_t *nulls, const uint8_t *pbits, cdc__reader *r, cdc_value *vals, uint8_t *present,
           const cdc_value *before, const uint8_t *before_present, cdc__buf *jbufs, cdc__rows_where *where,
           bool lazy, cdc_cell *cells, cdc__err *err)
{
    const uint8_t *p = cdc__rd_ptr(r), *end = r->p + r->len;
    size_t k = 0;
    bool all = npresent == n; /* the usual FULL image: no column to skip */
    for (size_t i = 0; i < n; i++) {
        const cdc__col_plan *pl = &plan[i];
        if (!all && !((bitmap[i / 8] >> (i % 8)) & 1)) {
            present[i] = 0;
            if (cells) cells[i] = (cdc_cell){.flags = CDC_CELL_ABSENT};
            continue;
        }
        present[i] = 1;
        const cdc_column *c = &t->cols[i];
        cdc_value *v = &vals[i];
        bool is_null = (nulls[k / 8] >> (k % 8)) & 1;
        k++;
        if (is_null) {
            memset(v, 0, sizeof *v);
            v->kind = CDC_K_NULL;
            v->col = c;
            if (cells) cells[i] = (cdc_cell){.kind = CDC_K_NULL};
            continue;
        }
        size_t avail = (size_t)(end - p), used = 0;
        if (pbits && pl->json && ((pbits[pl->json_k / 8] >> (pl->json_k % 8)) & 1)) {
            int rc = partial_json(t, c, i, p, avail, v, &used, before, before_present, &jbufs[pl->json_k], err);
            if (!rc && used > avail)
                rc = cdc__err_set(err, CDC_ERR_CORRUPT, "value claims %zu bytes, %zu left", used, avail);
            if (rc) {
                where->column = i;
                return rc;
            }
            if (cells) cdc__value_cell(v, &cells[i]);
        } else if (cells && lazy && plan_cell(pl, pl->cop, p, avail, v, &cells[i], &used)) {
            present[i] = CDC__PRESENT_PENDING;
        } else if (!cells && lazy && plan_skip(pl, p, avail, v, &used)) {
            present[i] = CDC__PRESENT_PENDING;
        } else {
            if (!plan_decode(pl, c, p, avail, v, &used)) {
                int rc = decode_slow(c, i, p, avail, v, &used, where, err);
                if (rc) return rc;
            }
            if (cells) cdc__value_cell(v, &cells[i]);
        }
        p += used;
    }
    r->off = (size_t)(p - r->p);
    return CDC_OK;
}

/* The same for the usual image: every column present, none NULL, no
 * partial JSON. Nothing to test per column but the plan. */
static inline __attribute__((always_inline)) int
image_loop_dense(const struct cdc_table *t, size_t n, const cdc__col_plan *plan, cdc__reader *r, cdc_value *vals,
                 uint8_t *present, cdc__rows_where *where, bool lazy, cdc_cell *cells, cdc__err *err)
{
    const uint8_t *p = cdc__rd_ptr(r);
    size_t avail = cdc__rd_left(r); /* counted down: cheaper than end - p per value */
    for (size_t i = 0; i < n; i++) {
        size_t used = 0;
        present[i] = 1;
        if (cells && lazy && plan_cell(&plan[i], plan[i].cop, p, avail, &vals[i], &cells[i], &used)) {
            present[i] = CDC__PRESENT_PENDING;
        } else if (!cells && lazy && plan_skip(&plan[i], p, avail, &vals[i], &used)) {
            present[i] = CDC__PRESENT_PENDING;
        } else {
            if (!plan_decode(&plan[i], &t->cols[i], p, avail, &vals[i], &used)) {
                int rc = decode_slow(&t->cols[i], i, p, avail, &vals[i], &used, where, err);
                if (rc) return rc;
            }
            if (cells) cdc__value_cell(&vals[i], &cells[i]);
        }
        p += used;
        avail -= used;
    }
    r->off = (size_t)(p - r->p);
    return CDC_OK;
}

/* A value of the dense cells loop that plan_cell refused (a PLAN_SLOW
 * column, a wide DECIMAL, a malformed value): decoded the usual way,
 * then its cell made from it. Out of line, so that the loop keeps its
 * few pointers in registers. */
static __attribute__((noinline)) int dense_cell_slow(const struct cdc_table *t, size_t i, const uint8_t *p,
                                                     size_t avail, cdc_value *v, cdc_cell *cell, size_t *used,
                                                     cdc__rows_where *where, cdc__err *err)
{
    if (!plan_decode(&t->plan[i], &t->cols[i], p, avail, v, used)) {
        int rc = decode_slow(&t->cols[i], i, p, avail, v, used, where, err);
        if (rc) return rc;
    }
    cdc__value_cell(v, cell);
    return CDC_OK;
}

/* image_loop_dense for cdc__rows_image_cells, with the table's plan:
 * each value's cell made from its bytes and the value left pending. */
static inline __attribute__((always_inline)) int image_loop_dense_cells(const struct cdc_table *t, size_t n,
                                                                        cdc__reader *r, cdc_value *vals,
                                                                        uint8_t *present, cdc__rows_where *where,
                                                                        cdc_cell *cells, cdc__err *err)
{
    const cdc__col_plan *plan = t->plan;
    const uint8_t *p = cdc__rd_ptr(r), *end = r->p + r->len;
    for (size_t i = 0; i < n; i++) {
        size_t avail = (size_t)(end - p), used;
        if (plan_cell(&plan[i], plan[i].cop, p, avail, &vals[i], &cells[i], &used)) {
            present[i] = CDC__PRESENT_PENDING;
        } else {
            present[i] = 1;
            int rc = dense_cell_slow(t, i, p, avail, &vals[i], &cells[i], &used, where, err);
            if (rc) return rc;
        }
        p += used;
    }
    r->off = (size_t)(p - r->p);
    return CDC_OK;
}

/* 1 when none of the first n bits of the NULL bitmap is set. Word by
 * word, then byte by byte, stopping at the first NULL: a table's bitmap
 * is a byte or two, which the compiler's vectorized OR loop spent some
 * 20 instructions on before its first byte. */
static inline bool no_nulls(const uint8_t *nulls, size_t n)
{
    size_t whole = n / 8, i = 0;
    for (; i + 8 <= whole; i += 8)
        if (cdc__le64(nulls + i)) return false;
    for (; i < whole; i++)
        if (nulls[i]) return false;
    return n % 8 == 0 || !(nulls[whole] & ((1u << (n % 8)) - 1));
}

/* no_nulls of the n-bit NULL bitmap at r's position, which r holds:
 * one 8-byte load for a table of up to 64 columns when r has 8 bytes
 * there (the dense entries below ask this for every image). */
static inline bool no_nulls_at(const cdc__reader *r, size_t n)
{
    const uint8_t *p = r->p + r->off;
    if (n - 1 < 64 && r->len - r->off >= 8) return !(cdc__le64(p) & (~UINT64_C(0) >> (64 - n)));
    return no_nulls(p, n);
}

static inline __attribute__((always_inline)) int
rows_image(const struct cdc_table *t, const cdc__rows_ev *ev, const uint8_t *bitmap, bool partial_after,
           cdc__reader *r, cdc_value *vals, uint8_t *present, const cdc_value *before,
           const uint8_t *before_present, cdc__buf *jbufs, cdc__rows_where *where, bool lazy, cdc_cell *cells,
           cdc__err *err)
{
    size_t n = ev->ncols;
    const uint8_t *pbits = NULL;
    where->column = 0;
    if (partial_after) {
        uint64_t opts = cdc__rd_lenenc(r, NULL);
        if (r->bad || opts > 1)
            return cdc__err_set(err, CDC_ERR_CORRUPT, "bad value options %" PRIu64, opts);
        if (opts & 1) {
            pbits = cdc__rd_take(r, (t->n_json + 7) / 8);
            if (!pbits) return cdc__err_set(err, CDC_ERR_CORRUPT, "partial-JSON bits truncated");
        }
    }
    size_t npresent = bitmap == ev->cols_before ? ev->n_before : ev->n_after;
    const uint8_t *nulls = cdc__rd_take(r, (npresent + 7) / 8);
    if (!nulls)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "NULL bitmap: need %zu bytes, %zu left",
                            (npresent + 7) / 8, cdc__rd_left(r));
    const cdc__col_plan *plan = t->plan;
    cdc__col_plan *own = NULL;
    if (!plan) { /* cdc__rows_prepare was not called: a plan for this image only */
        own = cdc__calloc(t->alloc, n ? n : 1, sizeof *own);
        if (!own) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
        uint16_t jk = 0;
        for (size_t i = 0; i < n; i++) {
            cdc__col_plan_make(&t->cols[i], &own[i]);
            own[i].json_k = jk;
            if (own[i].json) jk++;
        }
        plan = own;
    }
    lazy = lazy && !own; /* making a value later needs the table's plan */
    int rc;
    bool dense = npresent == n && !pbits && no_nulls(nulls, npresent);
    if (dense && cells && lazy)
        rc = image_loop_dense_cells(t, n, r, vals, present, where, cells, err);
    else if (dense)
        rc = lazy ? image_loop_dense(t, n, plan, r, vals, present, where, true, cells, err)
                  : image_loop_dense(t, n, plan, r, vals, present, where, false, cells, err);
    else if (lazy)
        rc = image_loop(t, n, plan, bitmap, npresent, nulls, pbits, r, vals, present, before, before_present,
                        jbufs, where, true, cells, err);
    else
        rc = image_loop(t, n, plan, bitmap, npresent, nulls, pbits, r, vals, present, before, before_present,
                        jbufs, where, false, cells, err);
    if (own) cdc__free(t->alloc, own);
    return rc;
}

int cdc__rows_image(const struct cdc_table *t, const cdc__rows_ev *ev, const uint8_t *bitmap,
                    bool partial_after, cdc__reader *r, cdc_value *vals, uint8_t *present,
                    const cdc_value *before, const uint8_t *before_present, cdc__buf *jbufs,
                    cdc__rows_where *where, cdc__err *err)
{
    return rows_image(t, ev, bitmap, partial_after, r, vals, present, before, before_present, jbufs, where,
                      false, NULL, err);
}

int cdc__rows_image_lazy(const struct cdc_table *t, const cdc__rows_ev *ev, const uint8_t *bitmap,
                         bool partial_after, cdc__reader *r, cdc_value *vals, uint8_t *present,
                         const cdc_value *before, const uint8_t *before_present, cdc__buf *jbufs,
                         cdc__rows_where *where, cdc__err *err)
{
    return rows_image(t, ev, bitmap, partial_after, r, vals, present, before, before_present, jbufs, where,
                      true, NULL, err);
}

int cdc__rows_image_cells(const struct cdc_table *t, const cdc__rows_ev *ev, const uint8_t *bitmap,
                          bool partial_after, cdc__reader *r, cdc_value *vals, uint8_t *present,
                          const cdc_value *before, const uint8_t *before_present, cdc__buf *jbufs,
                          cdc_cell *cells, cdc__rows_where *where, cdc__err *err)
{
    return rows_image(t, ev, bitmap, partial_after, r, vals, present, before, before_present, jbufs, where,
                      true, cells, err);
}

int cdc__rows_image_cells_dense(const struct cdc_table *t, size_t n, cdc__reader *r, cdc_value *vals,
                                uint8_t *present, cdc_cell *cells, cdc__rows_where *where, cdc__err *err)
{
    size_t nb = (n + 7) / 8;
    if (r->bad || nb > r->len - r->off || !no_nulls_at(r, n)) return CDC__ROWS_NOT_DENSE;
    r->off += nb;
    where->column = 0;
    return image_loop_dense_cells(t, n, r, vals, present, where, cells, err);
}

int cdc__rows_image_cells_only(const struct cdc_table *t, size_t n, cdc__reader *r, cdc_cell *cells)
{
    size_t nb = (n + 7) / 8;
    if (r->bad || nb > r->len - r->off || !no_nulls_at(r, n)) return CDC__ROWS_NOT_DENSE;
    const cdc__col_plan *plan = t->plan;
    const uint8_t *p = r->p + r->off + nb;
    size_t avail = r->len - r->off - nb;
    for (const cdc__col_plan *pl = plan, *pend = plan + n; pl != pend; pl++, cells++) {
        size_t used;
        if (!plan_cell(pl, pl->cop, p, avail, NULL, cells, &used)) return CDC__ROWS_NOT_DENSE;
        p += used;
        avail -= used;
    }
    r->off = (size_t)(p - r->p);
    return CDC_OK;
}

void cdc__rows_cells_settle(const struct cdc_table *t, size_t n, const uint8_t *image, const uint8_t *end,
                            cdc_value *vals, uint8_t *present)
{
    const uint8_t *p = image + (n + 7) / 8;
    for (size_t i = 0; i < n; i++) {
        const cdc__col_plan *pl = &t->plan[i];
        size_t avail = (size_t)(end - p), w = pl->width;
        vals[i].v.b = (cdc_bytes){p, avail};
        present[i] = CDC__PRESENT_PENDING;
        if (pl->op == PLAN_LENPREF) w += (size_t)load_le(p, w, avail); /* measured by the cells pass */
        p += w;
    }
}
