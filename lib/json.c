/* json.c: MySQL binary JSON (work in progress). */
#include "json.h"

#include "render.h"

int cdc__json_render(const uint8_t *p, size_t len, cdc_buf *out, cdc_err *err)
{
    (void)p; (void)len; (void)out;
    return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "JSON: binary rendering not yet implemented");
}

int cdc__json_text_render(const uint8_t *p, size_t len, cdc_buf *out, cdc_err *err)
{
    (void)err;
    return cdc__buf_append(out, p, len);
}

int cdc__json_diff_render(const cdc_value *v, cdc_buf *out, cdc_err *err)
{
    (void)v; (void)out;
    return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "JSON diff rendering not yet implemented");
}

int cdc__json_diff_decode(const cdc_column *col, const uint8_t *p, size_t avail, cdc_value *out, size_t *used,
                          cdc_err *err)
{
    (void)col; (void)p; (void)avail; (void)out; (void)used;
    return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "PARTIAL_JSON diff not yet implemented");
}

int cdc__json_diff_apply(const cdc_value *before, const cdc_value *diff, cdc_buf *scratch, cdc_value *out,
                         cdc_err *err)
{
    (void)before; (void)diff; (void)scratch; (void)out;
    return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "PARTIAL_JSON apply not yet implemented");
}
