/*
 * render.h: pieces of the canonical JSON rendering (render.c) that the
 * JSON codec and the public value API share. Internal; not installed.
 */
#ifndef CDC_RENDER_H
#define CDC_RENDER_H

#include <cdc/value.h>

#include "jsonw.h" /* string, base64 and number writers, once declared here */
#include "temporal.h"
#include "value.h"

/* Appends a JSON string literal of text in collation `charset` (0:
 * unknown, taken as UTF-8); CDC_ERR_CHARSET if no converter exists. */
int cdc__render_text(cdc__buf *out, const uint8_t *s, size_t len, unsigned charset, cdc__err *err);
/* True when cdc__render_text renders text of collation `charset` by
 * cdc__render_utf8_string as it is (UTF-8, ASCII and unknown ids). */
bool cdc__charset_renders_as_utf8(unsigned charset);

/* The JSON text of a DATE, DATETIME, TIME or TIMESTAMP value, unquoted
 * (TIMESTAMP in UTC with its 'Z'): at most CDC__TEMPORAL_TEXT_MAX + 1
 * bytes written at t. */
size_t cdc__temporal_json_text(const cdc_value *v, char *t);
/*
 * The same text for the value a cell of the table's plan stands for
 * (rows.c plan_cell: DATE, TIME2, DATETIME2, TIMESTAMP2 columns), inline
 * for the JSON lines' cells road (output.c). The cell's calendar fields
 * hold a plan-made value's exactly (year and hour are narrower in a
 * cell, but DATE and the "2" formats give no wider ones), and a
 * TIMESTAMP's epoch microseconds give back its seconds.
 */
static inline size_t cdc__temporal_cell_json_text(const cdc_cell *cell, char *t)
{
    cdc__temporal tm;
    if (cell->kind == CDC_K_TIMESTAMP) {
        if (cell->flags & CDC_CELL_ZERO_DATE) { /* the zero TIMESTAMP is no instant: no zone suffix */
            memset(&tm, 0, sizeof tm);
            return cdc__fmt_datetime(t, &tm, cell->fsp, 'T');
        }
        size_t n = cdc__fmt_epoch(t, (cell->v.i - (int64_t)cell->usec) / 1000000, cell->usec, cell->fsp);
        t[n++] = 'Z';
        return n;
    }
    tm.year = cell->v.tm.year;
    tm.month = cell->v.tm.month;
    tm.day = cell->v.tm.day;
    tm.hour = cell->v.tm.hour;
    tm.minute = cell->v.tm.minute;
    tm.second = cell->v.tm.second;
    tm.usec = cell->usec;
    tm.neg = (cell->flags & CDC_CELL_NEGATIVE) != 0;
    switch (cell->kind) {
    case CDC_K_DATE: return cdc__fmt_date(t, &tm);
    case CDC_K_DATETIME: return cdc__fmt_datetime(t, &tm, cell->fsp, 'T');
    default: return cdc__fmt_time(t, &tm, cell->fsp); /* TIME */
    }
}

#endif /* CDC_RENDER_H */
