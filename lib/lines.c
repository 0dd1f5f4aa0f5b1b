/*
 * lines.c: the public entry points of cdc/lines.h. Each renders straight
 * into the caller's buffer through a cdc__buf that may not grow; only when
 * that fails is it rendered again, into the heap, to learn the size the
 * caller needs (or to copy it over when a renderer wanted scratch memory).
 */
#include <cdc/lines.h>

#include "output.h"
#include "render.h"
#include "util.h"

/* An allocator that never gives memory: a cdc__buf over the caller's
 * buffer fails to grow instead of reallocating memory it does not own. */
static void *no_malloc(size_t n, void *ud)
{
    (void)n;
    (void)ud;
    return NULL;
}
static void *no_realloc(void *p, size_t n, void *ud)
{
    (void)p;
    (void)n;
    (void)ud;
    return NULL;
}
static void no_free(void *p, void *ud)
{
    (void)p;
    (void)ud;
}
static const cdc_allocator fixed_alloc = {no_malloc, no_realloc, no_free, NULL};

typedef int (*render_fn)(const void *what, size_t len, cdc__buf *out);

static int render(render_fn fn, const void *what, size_t len, char *buf, size_t cap, size_t *need)
{
    if (cap > 0 && buf) {
        cdc__buf b = {(uint8_t *)buf, 0, cap - 1 /* room for the NUL */, &fixed_alloc};
        int rc = fn(what, len, &b);
        if (rc == CDC_OK) {
            buf[b.len] = 0;
            if (need) *need = b.len + 1;
            return CDC_OK;
        }
        if (rc != CDC_ERR_NOMEM) return rc;
    }
    /* too small, or a renderer needed scratch memory of its own (charset
     * conversion borrows the output's allocator): render into the heap */
    cdc__buf h;
    cdc__buf_init(&h, NULL);
    int rc = fn(what, len, &h);
    size_t n = h.len + 1;
    if (rc == CDC_OK && buf && n <= cap) {
        memcpy(buf, h.data, h.len);
        buf[h.len] = 0;
    } else if (rc == CDC_OK) {
        rc = CDC_ERR_TOO_LARGE;
    }
    cdc__buf_free(&h);
    if (need && (rc == CDC_OK || rc == CDC_ERR_TOO_LARGE)) *need = n;
    return rc;
}

static int change_fn(const void *what, size_t len, cdc__buf *out)
{
    (void)len;
    cdc__err err;
    cdc__err_clear(&err);
    return cdc__change_render_json(what, out, &err);
}

static int event_fn(const void *what, size_t len, cdc__buf *out)
{
    (void)len;
    cdc__err err;
    cdc__err_clear(&err);
    return cdc__event_render_json(what, out, &err);
}

static int string_fn(const void *what, size_t len, cdc__buf *out)
{
    return cdc__render_utf8_string(out, what, len);
}

/* render for a change, out of line: cdc_change_json's road when its
 * first try in the caller's buffer fails. */
static __attribute__((noinline)) int render_change(const cdc_change *c, char *buf, size_t cap, size_t *need)
{
    return render(change_fn, c, 0, buf, cap, need);
}

CDC_EXTERN int cdc_change_json(const cdc_change *c, char *buf, size_t cap, size_t *need)
{
    if (!c) return CDC_ERR_INVALID;
    if (cap > 0 && buf) {
        /* render's first step inline: a line per row, which mostly fits
         * (render_change then tries again and reports the size) */
        cdc__buf b = {(uint8_t *)buf, 0, cap - 1 /* room for the NUL */, &fixed_alloc};
        cdc__err err;
        cdc__err_clear(&err);
        if (cdc__change_render_json(c, &b, &err) == CDC_OK) {
            buf[b.len] = 0;
            if (need) *need = b.len + 1;
            return CDC_OK;
        }
    }
    return render_change(c, buf, cap, need);
}

CDC_EXTERN int cdc_event_json(const cdc_event *e, char *buf, size_t cap, size_t *need)
{
    if (!e) return CDC_ERR_INVALID;
    return render(event_fn, e, 0, buf, cap, need);
}

CDC_EXTERN int cdc_json_string(const void *s, size_t len, char *buf, size_t cap, size_t *need)
{
    if (!s && len) return CDC_ERR_INVALID;
    return render(string_fn, s ? s : "", len, buf, cap, need);
}

/* The arguments of the transaction and position lines. */
typedef struct txn_args {
    const char *event, *gtid;
    uint32_t server_id;
    int64_t ts_ms;
    const cdc_position *pos;
    const cdc_query *q;
} txn_args;

static int txn_fn(const void *what, size_t len, cdc__buf *out)
{
    (void)len;
    const txn_args *a = what;
    cdc__err err;
    cdc__err_clear(&err);
    if (a->q) return cdc__ddl_render_json(out, a->q, a->pos, &err);
    if (!a->gtid) return cdc__position_render_json(out, a->event, a->pos, &err);
    return cdc__txn_render_json(out, a->event, a->gtid, a->server_id, a->ts_ms, a->pos, &err);
}

CDC_EXTERN int cdc_txn_json(const char *event, const char *gtid, uint32_t server_id, int64_t ts_ms,
                            const cdc_position *pos, char *buf, size_t cap, size_t *need)
{
    if (!event || !pos) return CDC_ERR_INVALID;
    txn_args a = {event, gtid ? gtid : "", server_id, ts_ms, pos, NULL};
    return render(txn_fn, &a, 0, buf, cap, need);
}

CDC_EXTERN int cdc_ddl_json(const cdc_query *q, const cdc_position *pos, char *buf, size_t cap, size_t *need)
{
    if (!q || !pos) return CDC_ERR_INVALID;
    txn_args a = {"ddl", NULL, 0, 0, pos, q};
    return render(txn_fn, &a, 0, buf, cap, need);
}

CDC_EXTERN int cdc_position_json(const char *event, const cdc_position *pos, char *buf, size_t cap, size_t *need)
{
    if (!event || !pos) return CDC_ERR_INVALID;
    txn_args a = {event, NULL, 0, 0, pos, NULL};
    return render(txn_fn, &a, 0, buf, cap, need);
}
