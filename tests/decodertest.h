/*
 * decodertest.h: helpers shared by the decoder's unit tests
 * (test_decoder.c, test_decoder_oracle.c, test_decoder_compressed.c): a
 * text trace of what the callbacks saw, a feeder that splits and resumes
 * after pauses, the integer and string values of row images in
 * mysqlbinlog's "@N=value" form, and a decode that returns only the
 * status and message. Include after <cmocka.h>, "util.h" and
 * "testalloc.h".
 */
#ifndef CDC_DECODERTEST_H
#define CDC_DECODERTEST_H

#include <cdc/cdc.h>

#include "output.h"
#include "value.h"

/* A trace of everything the callbacks saw, as text. */
typedef struct trace {
    cdc__buf b;
    int pause_every;  /* >0: every n-th callback pauses */
    int calls;
} trace;

static __attribute__((unused)) int pause_maybe(trace *t)
{
    t->calls++;
    return t->pause_every && t->calls % t->pause_every == 0 ? CDC_ERR_PAUSED : 0;
}

static __attribute__((unused)) int on_event(const cdc_event *e, void *ud)
{
    trace *t = ud;
    cdc__buf_printf(&t->b, "E %s %llu %u %s\n", cdc_event_name(e),
                    (unsigned long long)cdc_event_offset(e), cdc_event_size(e), cdc_event_gtid(e));
    return pause_maybe(t);
}

static __attribute__((unused)) int on_change(const cdc_change *c, void *ud)
{
    trace *t = ud;
    cdc__err err;
    cdc__err_clear(&err);
    int rc = cdc__change_render_json(c, &t->b, &err);
    cdc__buf_putc(&t->b, '\n');
    if (rc) cdc__buf_printf(&t->b, "RENDER ERROR %s\n", err.msg);
    return pause_maybe(t);
}

static __attribute__((unused)) int on_table(const cdc_table *tb, void *ud)
{
    trace *t = ud;
    cdc__buf_printf(&t->b, "T %s.%s %zu\n", cdc_table_db(tb), cdc_table_name(tb),
                    cdc_table_column_count(tb));
    return 0;
}

/* Feeds data in chunks of `chunk` bytes (0: whole), resuming after pauses.
 * Returns the final status and appends "END code msg" to the trace. */
static __attribute__((unused)) int decode(const uint8_t *data, size_t n, size_t chunk, trace *t, const char *name)
{
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    cdc_decoder_set_position(d, name, 0);
    cdc_decoder_set_event_cb(d, on_event, t);
    cdc_decoder_set_change_cb(d, on_change, t);
    cdc_decoder_set_table_cb(d, on_table, t);
    int rc = CDC_OK;
    size_t off = 0;
    int guard = 0;
    while (off < n) {
        size_t k = chunk ? (n - off < chunk ? n - off : chunk) : n - off;
        ptrdiff_t r = cdc_decoder_feed(d, data + off, k);
        if (r < 0) { rc = (int)r; break; }
        off += (size_t)r;
        if ((size_t)r < k) assert_true(++guard < 100000000); /* paused: resume */
    }
    if (rc == CDC_OK) rc = cdc_decoder_finish(d);
    cdc__buf_printf(&t->b, "END %s %s\n", cdc_err_name(rc), cdc_decoder_errmsg(d));
    cdc_decoder_free(d);
    return rc;
}

typedef struct vals_ctx { char (*v)[128]; size_t n, max; } vals_ctx;

static __attribute__((unused)) void add_value(vals_ctx *x, const cdc_value *v)
{
    if (x->n >= x->max) return;
    char *o = x->v[x->n++];
    switch (v->kind) {
    case CDC_K_INT: snprintf(o, 128, "%lld", (long long)v->v.i); break;
    case CDC_K_UINT: snprintf(o, 128, "%llu", (unsigned long long)v->v.u); break;
    case CDC_K_NULL: snprintf(o, 128, "NULL"); break;
    case CDC_K_STRING: case CDC_K_BYTES:
        snprintf(o, 128, "'%.*s'", (int)v->v.b.len, (const char *)v->v.b.ptr); break;
    default: snprintf(o, 128, "?"); /* compared below only where mysqlbinlog agrees on form */
    }
}

static __attribute__((unused)) int collect(const cdc_change *c, void *ud)
{
    vals_ctx *x = ud;
    size_t n = cdc_table_column_count(cdc_change_table(c));
    /* mysqlbinlog prints WHERE (before) then SET (after) */
    for (int img = 0; img < 2; img++)
        for (size_t i = 0; i < n; i++) {
            const cdc_value *v = img == 0 ? cdc_change_before(c, i) : cdc_change_after(c, i);
            if (v) add_value(x, v);
        }
    return 0;
}

static __attribute__((unused)) int decode_status(const uint8_t *p, size_t n, char *msg, size_t msglen)
{
    cdc_decoder *d;
    assert_int_equal(cdc_decoder_new(&d, &test_alloc, NULL, 0), CDC_OK);
    cdc_decoder_set_position(d, "x.000001", 0);
    ptrdiff_t r = cdc_decoder_feed(d, p, n);
    int rc = r < 0 ? (int)r : cdc_decoder_finish(d);
    snprintf(msg, msglen, "%s", cdc_decoder_errmsg(d));
    /* errors are sticky */
    if (rc) assert_int_equal(cdc_decoder_feed(d, p, 1), rc);
    cdc_decoder_free(d);
    return rc;
}

#endif /* CDC_DECODERTEST_H */
