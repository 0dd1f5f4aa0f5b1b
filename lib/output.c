/*
 * output.c: JSON lines for row changes and events. See output.h and
 * docs/output.md.
 */
#include "output.h"

#include <inttypes.h>

#include "render.h"
#include "tablemap.h"
#include "value.h"

static int put_str(cdc_buf *out, const char *s)
{
    return cdc__render_utf8_string(out, (const uint8_t *)s, strlen(s));
}

static int put_image(const cdc_change *c, bool after, cdc_buf *out, cdc_err *err)
{
    const cdc_table *t = cdc_change_table(c);
    size_t n = cdc_table_column_count(t);
    char op = cdc_change_op(c); /* 'r' snapshot reads have an after image only */
    bool exists = after ? op != 'd' : op == 'u' || op == 'd';
    if (!exists) return cdc__buf_puts(out, "null");
    int rc = cdc__buf_putc(out, '{');
    bool first = true;
    for (size_t i = 0; i < n && rc == CDC_OK; i++) {
        const cdc_value *v = after ? cdc_change_after(c, i) : cdc_change_before(c, i);
        if (!v) continue; /* absent from a MINIMAL/NOBLOB image */
        if (!first) rc |= cdc__buf_putc(out, ',');
        first = false;
        const char *name = cdc_table_column_name(t, i);
        if (name) {
            rc |= put_str(out, name);
        } else {
            rc |= cdc__buf_printf(out, "\"@%zu\"", i + 1);
        }
        rc |= cdc__buf_putc(out, ':');
        if (rc) break;
        int vr = cdc__value_render_json(v, out, err);
        if (vr) {
            cdc__err_prefix(err, "%s.%s column %zu", cdc_table_db(t), cdc_table_name(t), i + 1);
            return vr;
        }
    }
    rc |= cdc__buf_putc(out, '}');
    return rc ? CDC_ERR_NOMEM : CDC_OK;
}

int cdc__change_render_json(const cdc_change *c, cdc_buf *out, cdc_err *err)
{
    const cdc_table *t = cdc_change_table(c);
    int rc = cdc__buf_printf(out, "{\"op\":\"%c\",\"db\":", cdc_change_op(c));
    rc |= put_str(out, cdc_table_db(t));
    rc |= cdc__buf_puts(out, ",\"table\":");
    rc |= put_str(out, cdc_table_name(t));
    rc |= cdc__buf_puts(out, ",\"before\":");
    if (rc) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    if ((rc = put_image(c, false, out, err))) return rc;
    rc = cdc__buf_puts(out, ",\"after\":");
    if (rc) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    if ((rc = put_image(c, true, out, err))) return rc;
    rc = cdc__buf_puts(out, ",\"pos\":{\"file\":");
    rc |= put_str(out, cdc_change_file(c));
    rc |= cdc__buf_printf(out, ",\"offset\":%" PRIu64 ",\"row\":%" PRIu64 "},\"gtid\":",
                          cdc_change_offset(c), cdc_change_row(c));
    const char *g = cdc_change_gtid(c);
    rc |= g[0] ? put_str(out, g) : cdc__buf_puts(out, "null");
    rc |= cdc__buf_printf(out, ",\"server_id\":%" PRIu32 ",\"ts_ms\":%" PRId64 "}",
                          cdc_change_server_id(c), cdc_change_ts_ms(c));
    return rc ? cdc__err_set(err, CDC_ERR_NOMEM, "out of memory") : CDC_OK;
}

int cdc__event_render_json(const cdc_event *e, cdc_buf *out, cdc_err *err)
{
    int rc = cdc__buf_puts(out, "{\"event\":");
    rc |= put_str(out, cdc_event_name(e));
    rc |= cdc__buf_printf(out, ",\"type\":%d,\"pos\":{\"file\":", cdc_event_type_of(e));
    rc |= put_str(out, cdc_event_file(e));
    rc |= cdc__buf_printf(out,
                          ",\"offset\":%" PRIu64 "},\"server_id\":%" PRIu32 ",\"ts\":%" PRIu32
                          ",\"size\":%" PRIu32 ",\"log_pos\":%" PRIu32,
                          cdc_event_offset(e), cdc_event_server_id(e), cdc_event_timestamp(e),
                          cdc_event_size(e), cdc_event_log_pos(e));
    if (cdc_event_is_inner(e)) rc |= cdc__buf_puts(out, ",\"inner\":true");
    if (cdc_event_is_unknown(e)) rc |= cdc__buf_puts(out, ",\"unknown\":true");
    const char *g = cdc_event_gtid(e);
    if (g[0]) {
        rc |= cdc__buf_puts(out, ",\"gtid\":");
        rc |= put_str(out, g);
    }
    rc |= cdc__buf_putc(out, '}');
    return rc ? cdc__err_set(err, CDC_ERR_NOMEM, "out of memory") : CDC_OK;
}
