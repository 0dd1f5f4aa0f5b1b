/*
 * rows.c: rows events and row images. See rows.h.
 */
#include "rows.h"

#include <inttypes.h>

bool cdc__rows_is_rows_event(int type)
{
    return (type >= 20 && type <= 25) || (type >= 30 && type <= 32) || type == 39 ||
           (type >= 166 && type <= 171);
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
    out->rows = cdc__rd_rest(&r);
    return CDC_OK;
}

static size_t popcount_bits(const uint8_t *bm, size_t n)
{
    size_t c = 0, whole = n / 8;
    for (size_t i = 0; i < whole; i++) c += (size_t)__builtin_popcount(bm[i]);
    if (n % 8) c += (size_t)__builtin_popcount(bm[whole] & ((1u << (n % 8)) - 1));
    return c;
}

int cdc__rows_image(const struct cdc_table *t, const cdc__rows_ev *ev, const uint8_t *bitmap,
                    bool partial_after, cdc__reader *r, cdc_value *vals, uint8_t *present,
                    const cdc_value *before, const uint8_t *before_present, cdc__buf *jbufs,
                    cdc__rows_where *where, cdc__err *err)
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
    size_t npresent = popcount_bits(bitmap, n);
    const uint8_t *nulls = cdc__rd_take(r, (npresent + 7) / 8);
    if (!nulls)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "NULL bitmap: need %zu bytes, %zu left",
                            (npresent + 7) / 8, cdc__rd_left(r));
    size_t k = 0, json_k = 0;
    for (size_t i = 0; i < n; i++) {
        const cdc_column *c = &t->cols[i];
        bool is_json = c->type == CDC_T_JSON;
        size_t jk = json_k;
        if (is_json) json_k++;
        if (!((bitmap[i / 8] >> (i % 8)) & 1)) { present[i] = 0; continue; }
        present[i] = 1;
        cdc_value *v = &vals[i];
        bool is_null = (nulls[k / 8] >> (k % 8)) & 1;
        k++;
        if (is_null) {
            memset(v, 0, sizeof *v);
            v->kind = CDC_K_NULL;
            v->col = c;
            continue;
        }
        where->column = i;
        size_t used = 0;
        int rc;
        if (is_json && pbits && ((pbits[jk / 8] >> (jk % 8)) & 1)) {
            cdc_value diff;
            rc = cdc__json_diff_decode(c, cdc__rd_ptr(r), cdc__rd_left(r), &diff, &used, err);
            if (rc) return rc;
            *v = diff;
            v->col = c;
            if (before && before_present && before_present[i] &&
                before[i].kind != CDC_K_NULL) {
                cdc__buf_reset(&jbufs[jk]);
                cdc__err tmp;
                cdc__err_clear(&tmp);
                rc = cdc__json_diff_apply(&before[i], &diff, &jbufs[jk], v, &tmp);
                if (rc == CDC_ERR_UNSUPPORTED) {
                    *v = diff;
                } else if (rc) {
                    *err = tmp;
                    return rc;
                }
                v->col = c;
            }
        } else {
            rc = cdc__value_decode(c, cdc__rd_ptr(r), cdc__rd_left(r), v, &used, err);
            if (rc) return rc;
            v->col = c;
        }
        if (used > cdc__rd_left(r))
            return cdc__err_set(err, CDC_ERR_CORRUPT, "value claims %zu bytes, %zu left", used,
                                cdc__rd_left(r));
        cdc__rd_skip(r, used);
    }
    return CDC_OK;
}
