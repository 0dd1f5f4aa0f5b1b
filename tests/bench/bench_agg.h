/*
 * bench_agg.h: the reader of bench_decode and bench_replica. Every value of
 * every row image is read and summed, so that nothing can be skipped, and
 * the sums are printed in one form whichever road read them: through
 * cdc_change_cells_view (on_change_cells, the default), cdc_change_cells
 * (agg.copy) or the typed getters value by value (on_change).
 */
#ifndef CDC_BENCH_AGG_H
#define CDC_BENCH_AGG_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cdc/cdc.h>

typedef struct agg {
    size_t columns; /* read at most this many columns of each image */
    bool copy;      /* cells through cdc_change_cells, not cdc_change_cells_view */
    cdc_cell *cells;
    size_t ncells;
    uint64_t rows, values, nulls;
    uint64_t isum, usum, bytes, bsum, tsum, dsum;
    double fsum;
} agg;

static void read_value(agg *a, const cdc_value *v)
{
    a->values++;
    switch (cdc_value_kind(v)) {
    case CDC_KIND_NULL: a->nulls++; break;
    case CDC_KIND_INT: case CDC_KIND_YEAR: {
        int64_t i = 0;
        cdc_value_int64(v, &i);
        a->isum += (uint64_t)i;
        break;
    }
    case CDC_KIND_UINT: case CDC_KIND_BIT: case CDC_KIND_ENUM: case CDC_KIND_SET: {
        uint64_t u = 0;
        cdc_value_uint64(v, &u);
        a->usum += u;
        break;
    }
    case CDC_KIND_FLOAT: case CDC_KIND_DOUBLE: {
        double d = 0;
        cdc_value_double(v, &d);
        a->fsum += d;
        break;
    }
    case CDC_KIND_DECIMAL: {
#ifdef CDC_VALUE_HAS_DECIMAL_SCALED
        int64_t unscaled = 0;
        unsigned scale = 0;
        if (cdc_value_decimal_scaled(v, &unscaled, &scale) == CDC_OK) {
            a->dsum += (uint64_t)unscaled;
            a->dsum += scale;
        } else { /* wider than 64 bits: the text form */
            char buf[80];
            cdc_value_decimal(v, buf, sizeof buf, NULL);
            a->dsum += (uint64_t)buf[0];
        }
#else
        char buf[80];
        cdc_value_decimal(v, buf, sizeof buf, NULL);
        a->dsum += (uint64_t)buf[0] + strlen(buf);
#endif
        break;
    }
    case CDC_KIND_TIMESTAMP: {
#ifdef CDC_VALUE_HAS_DECIMAL_SCALED
        int64_t sec = 0;
        uint32_t usec = 0;
        cdc_value_timestamp(v, &sec, &usec);
        a->tsum += (uint64_t)sec + usec;
#else
        int64_t sec = 0;
        cdc_datetime t;
        cdc_value_int64(v, &sec);
        cdc_value_temporal(v, &t);
        a->tsum += (uint64_t)sec + t.usec;
#endif
        break;
    }
    case CDC_KIND_DATE: case CDC_KIND_TIME: case CDC_KIND_DATETIME: {
        cdc_datetime t;
        cdc_value_temporal(v, &t);
        a->tsum += (uint64_t)t.year + t.month + t.day + t.hour + t.minute + t.second + t.usec;
        break;
    }
    default: {
        cdc_bytes b = cdc_value_bytes(v);
        a->bytes += b.len;
        if (b.len) a->bsum += ((const uint8_t *)b.ptr)[0] + ((const uint8_t *)b.ptr)[b.len - 1];
        break;
    }
    }
}

static int on_change(const cdc_change *c, void *ud)
{
    agg *a = ud;
    size_t n = cdc_table_column_count(cdc_change_table(c));
    if (n > a->columns) n = a->columns;
    a->rows++;
    for (size_t i = 0; i < n; i++) {
        const cdc_value *b = cdc_change_before(c, i), *v = cdc_change_after(c, i);
        if (b) read_value(a, b);
        if (v) read_value(a, v);
    }
    return 0;
}

/* The sums of agg, kept in locals while one change is read (in registers,
 * since the cells cannot alias them), then added to agg's: the same
 * additions in the same order, so the same totals. */
typedef struct sums {
    uint64_t values, nulls, isum, usum, bytes, bsum, tsum, dsum;
    double fsum;
} sums;

static void wide_decimal(sums *s, const cdc_change *c, int image, size_t i)
{
    char buf[80];
    cdc_value_decimal(image == CDC_IMAGE_AFTER ? cdc_change_after(c, i) : cdc_change_before(c, i), buf,
                      sizeof buf, NULL);
    s->dsum += (uint64_t)buf[0];
}

static int on_change_cells(const cdc_change *c, void *ud)
{
    agg *a = ud;
    size_t ncols = cdc_table_column_count(cdc_change_table(c)), n = ncols;
    if (n > a->columns) n = a->columns;
    bool view = !a->copy && n == ncols; /* a view is of a whole image */
    if (!view && n > a->ncells) {
        free(a->cells);
        a->cells = malloc(n * sizeof *a->cells);
        if (!a->cells) return CDC_ERR_NOMEM;
        a->ncells = n;
    }
    a->rows++;
    char op = cdc_change_op(c);
    sums s = {0, 0, a->isum, a->usum, a->bytes, a->bsum, a->tsum, a->dsum, a->fsum};
    for (int image = CDC_IMAGE_BEFORE; image <= CDC_IMAGE_AFTER; image++) {
        if (op == (image == CDC_IMAGE_BEFORE ? 'c' : 'd')) continue; /* no such image */
        char err[160];
        const cdc_cell *made = NULL;
        size_t got = 0;
        int rc = view ? cdc_change_cells_view(c, image, &made, &got, err, sizeof err)
                      : cdc_change_cells(c, image, 0, n, a->cells, sizeof *a->cells, err, sizeof err);
        const cdc_cell *const cells = view ? made : a->cells; /* not address-taken: a register in the loop */
        if (rc) {
            fprintf(stderr, "bench: %s\n", err);
            return rc;
        }
        s.values += n; /* less the absent ones, below */
        for (size_t i = 0; i < n; i++) {
            const cdc_cell *v = &cells[i];
            switch (v->kind) {
            case CDC_KIND_NULL: /* SQL NULL, or a column absent from the image */
                if (v->flags & CDC_CELL_ABSENT) s.values--;
                else s.nulls++;
                break;
            case CDC_KIND_INT: case CDC_KIND_YEAR: s.isum += (uint64_t)v->v.i; break;
            case CDC_KIND_UINT: case CDC_KIND_BIT: case CDC_KIND_ENUM: case CDC_KIND_SET: s.usum += v->v.u; break;
            case CDC_KIND_FLOAT: case CDC_KIND_DOUBLE: s.fsum += v->v.d; break;
            case CDC_KIND_DECIMAL:
                if (!(v->flags & CDC_CELL_DECIMAL_WIDE)) s.dsum += (uint64_t)v->v.i + v->scale;
                else wide_decimal(&s, c, image, i); /* wider than 64 bits: the text form */
                break;
            case CDC_KIND_TIMESTAMP: /* epoch microseconds, never negative (TIMESTAMP starts at 1970) */
                s.tsum += (uint64_t)v->v.i / 1000000 + v->usec;
                break;
            case CDC_KIND_DATE: case CDC_KIND_TIME: case CDC_KIND_DATETIME:
                s.tsum += (uint64_t)v->v.tm.year + v->v.tm.month + v->v.tm.day + v->v.tm.hour + v->v.tm.minute +
                          v->v.tm.second + v->usec;
                break;
            default: {
                size_t len = v->v.b.len;
                s.bytes += len;
                if (len) s.bsum += v->v.b.ptr[0] + v->v.b.ptr[len - 1];
                break;
            }
            }
        }
    }
    a->values += s.values;
    a->nulls += s.nulls;
    a->isum = s.isum;
    a->usum = s.usum;
    a->bytes = s.bytes;
    a->bsum = s.bsum;
    a->tsum = s.tsum;
    a->dsum = s.dsum;
    a->fsum = s.fsum;
    return 0;
}

/* Takes the reader's flag (--getters or --copy) off the front of the
 * arguments; returns the change callback that reads that way. */
static cdc_change_cb agg_reader(agg *a, int *argc, char ***argv)
{
    bool getters = *argc > 1 && strcmp((*argv)[1], "--getters") == 0;
    a->copy = *argc > 1 && strcmp((*argv)[1], "--copy") == 0;
    if (getters || a->copy) {
        (*argv)++;
        (*argc)--;
    }
    return getters ? on_change : on_change_cells;
}

/* The aggregates' two lines, which decode_bench.py and
 * replica_bench.py compare between readers. */
static void agg_print(const agg *a, uint64_t bytes)
{
    printf("rows %" PRIu64 " values %" PRIu64 " nulls %" PRIu64 " bytes %" PRIu64 "\n", a->rows, a->values,
           a->nulls, bytes);
    printf("sums int %" PRIu64 " uint %" PRIu64 " double %.17g decimal %" PRIu64 " temporal %" PRIu64
           " blen %" PRIu64 " bsum %" PRIu64 "\n",
           a->isum, a->usum, a->fsum, a->dsum, a->tsum, a->bytes, a->bsum);
}

#endif
