/*
 * rows.h: rows events (WRITE/UPDATE/DELETE v0/v1/v2, PARTIAL_UPDATE,
 * MariaDB compressed): the post-header, the present-column bitmaps, and
 * one row image at a time into cdc_value arrays. Internal.
 */
#ifndef CDC_ROWS_H
#define CDC_ROWS_H

#include <cdc/value.h>

#include "decimal.h"
#include "event.h"
#include "tablemap.h"
#include "value.h"

#define CDC__ROWS_STMT_END_F 0x0001

typedef struct cdc__rows_ev {
    int type;           /* event type as written */
    char op;            /* 'c', 'u', 'd' */
    bool partial;       /* PARTIAL_UPDATE_ROWS: after images carry value options */
    bool compressed;    /* MariaDB *_ROWS_COMPRESSED: `rows` is a compressed block */
    uint64_t table_id;
    uint16_t flags;
    cdc_bytes extra;    /* v2 extra data (after its 2-byte length) */
    size_t ncols;
    const uint8_t *cols_before; /* present columns of the before image (or the only image) */
    const uint8_t *cols_after;  /* present columns of the after image (updates) */
    size_t n_before, n_after;   /* how many bits of each are set */
    cdc_bytes rows;
} cdc__rows_ev;

/* 1 for the event types this module decodes. */
bool cdc__rows_is_rows_event(int type);
int cdc__rows_parse(const cdc__fde *f, int type, const uint8_t *body, size_t len,
                    cdc__rows_ev *out, cdc__err *err);

/*
 * How the values of one column are read, chosen once per TABLE_MAP from
 * its type and metadata, so the per-row loop reads a fixed width or a
 * length prefix and fills the value without going through the type
 * switch of cdc__value_decode. Columns with rarer types (and any whose
 * metadata is out of range) are PLAN_SLOW: cdc__value_decode reads them,
 * and it also reads any value the plan finds short or malformed, so
 * every error message is the one cdc__value_decode gives.
 */
enum {
    PLAN_SLOW, PLAN_INT, PLAN_UINT, PLAN_LE_UINT, PLAN_BE_UINT, PLAN_FLOAT, PLAN_DOUBLE,
    PLAN_LENPREF, PLAN_DECIMAL, PLAN_DATE, PLAN_TIME2, PLAN_DATETIME2, PLAN_TIMESTAMP2, PLAN_YEAR,
    /* cop only (every road that makes cells): a PLAN_* of one width,
     * read by a load of exactly that width, without the generic op's
     * shifts and its check for 8 bytes of input */
    CELL_RAW8,  /* 8 bytes as they are: BIGINT (signed or not), DOUBLE */
    CELL_I32, CELL_U32, CELL_I16, CELL_U16,
    CELL_I8,    /* TINYINT */
    CELL_U8,    /* TINYINT UNSIGNED, 1-byte ENUM and SET, BIT(1..8) */
    CELL_STR1, CELL_STR2, CELL_STR4, /* PLAN_LENPREF of 1, 2, 4 length bytes */
    CELL_DEC2,  /* PLAN_DECIMAL of two digit groups in at most 8 bytes: DECIMAL(10,2) */
    /* PLAN_DATETIME2 and PLAN_TIMESTAMP2 of 0..3 fraction bytes: shifts
     * and the fraction's multiplier are constants */
    CELL_DT0, CELL_DT1, CELL_DT2, CELL_DT3,
    CELL_TS0, CELL_TS1, CELL_TS2, CELL_TS3,
};
typedef struct cdc__col_plan {
    uint8_t op;       /* PLAN_* */
    uint8_t cop;      /* op, or the CELL_* that reads the same bytes, for
                       * the roads that make cells */
    uint8_t width;    /* bytes of a fixed-width value; length bytes of PLAN_LENPREF */
    uint8_t kind;     /* CDC_K_* the value gets */
    uint8_t fsp;      /* temporal precision */
    uint16_t vflags;  /* CDC_VF_* the value gets */
    bool json;        /* a JSON column (PARTIAL_UPDATE_ROWS counts these) */
    uint16_t json_k;  /* JSON columns before this one */
    cdc__decimal_groups dec; /* PLAN_DECIMAL of at most 18 digits (dec.n > 0) */
    cdc_value proto;  /* what every value of the column starts as: kind, fsp,
                       * flags, col set, the rest zero */
    cdc_cell cproto;  /* the same for its cells (kind, fsp, JSON text flag) */
} cdc__col_plan;

void cdc__col_plan_make(const cdc_column *c, cdc__col_plan *pl);
/* Makes t's plan (t->plan) if it has none; CDC_OK or CDC_ERR_NOMEM.
 * Call before the first cdc__rows_image of a table (without a plan,
 * cdc__rows_image works each column's out for every row). */
int cdc__rows_prepare(struct cdc_table *t);
/* cdc__value_decode through a plan: the same value, *used and errors. */
int cdc__value_decode_planned(const cdc__col_plan *pl, const cdc_column *c, const uint8_t *p,
                              size_t avail, cdc_value *out, size_t *used, cdc__err *err);

/* Where a value failed, for the caller's message. */
typedef struct cdc__rows_where { size_t column; bool after; } cdc__rows_where;

/*
 * Decodes one row image from r: for columns present in `bitmap`, sets
 * present[i] = 1 and vals[i]; others get present[i] = 0. For the after
 * image of a PARTIAL_UPDATE_ROWS event (`partial_after`), reads the
 * value options and partial bits first, and applies JSON diffs to the
 * column's before value (before/before_present) when it has one,
 * keeping results in jbufs[k] for the k-th JSON column (at least
 * t->n_json buffers).
 */
int cdc__rows_image(const struct cdc_table *t, const cdc__rows_ev *ev, const uint8_t *bitmap,
                    bool partial_after, cdc__reader *r, cdc_value *vals, uint8_t *present,
                    const cdc_value *before, const uint8_t *before_present, cdc__buf *jbufs,
                    cdc__rows_where *where, cdc__err *err);

/*
 * cdc__rows_image, lazily: values the plan reads by their bytes alone
 * (integers, floats, temporals, strings, blobs, JSON) are only measured,
 * not made; their present[i] is CDC__PRESENT_PENDING and vals[i] keeps
 * where they are, until cdc__rows_materialize makes them (the accessors
 * of decoder.c and the JSON lines do). DECIMALs, columns without a plan
 * and malformed values are decoded at once, so every error is found and
 * reported as cdc__rows_image reports it. Needs t's plan
 * (cdc__rows_prepare); without one it is cdc__rows_image. A pending value
 * lives as long as the image's bytes.
 */
#define CDC__PRESENT_PENDING 2
int cdc__rows_image_lazy(const struct cdc_table *t, const cdc__rows_ev *ev, const uint8_t *bitmap,
                         bool partial_after, cdc__reader *r, cdc_value *vals, uint8_t *present,
                         const cdc_value *before, const uint8_t *before_present, cdc__buf *jbufs,
                         cdc__rows_where *where, cdc__err *err);
/*
 * cdc__rows_image_lazy that also makes every column's cell (cells[i], n
 * of them: cdc_change_cells' values, CDC_CELL_ABSENT for columns the
 * image lacks) in the same pass, for a callback that reads whole images
 * as cells. Values stay pending where the lazy image leaves them (a
 * DECIMAL of up to 18 digits too, checked as it is read), so the getters
 * still work.
 */
int cdc__rows_image_cells(const struct cdc_table *t, const cdc__rows_ev *ev, const uint8_t *bitmap,
                          bool partial_after, cdc__reader *r, cdc_value *vals, uint8_t *present,
                          const cdc_value *before, const uint8_t *before_present, cdc__buf *jbufs,
                          cdc_cell *cells, cdc__rows_where *where, cdc__err *err);
/* cdc__rows_image_cells of the usual image, for an image of every one of
 * the table's n = ev->ncols columns (no partial JSON; t's plan made):
 * CDC__ROWS_NOT_DENSE, with r untouched, when a value is NULL (then
 * cdc__rows_image_cells reads it), else what cdc__rows_image_cells
 * returns. Fewer arguments and a small frame: the per-image cost of the
 * common case. */
#define CDC__ROWS_NOT_DENSE 1
int cdc__rows_image_cells_dense(const struct cdc_table *t, size_t n, cdc__reader *r, cdc_value *vals,
                                uint8_t *present, cdc_cell *cells, cdc__rows_where *where, cdc__err *err);
/* cdc__rows_image_cells_dense without the values' pending state: only
 * the cells are written, for a table whose every column makes its cell
 * from the bytes (t->plan_cells). CDC__ROWS_NOT_DENSE, with r untouched,
 * when a value is NULL or the plan refuses one (a malformed value: then
 * cdc__rows_image_cells reads the image and says what is wrong). Before
 * anything reads the image's values other than through the cells,
 * cdc__rows_cells_settle writes their pending state. */
int cdc__rows_image_cells_only(const struct cdc_table *t, size_t n, cdc__reader *r, cdc_cell *cells);
/* The pending state (vals[i] and present[i] of cdc__rows_image_lazy) of
 * the n values of an image that cdc__rows_image_cells_only read from
 * image (where its NULL bitmap starts) with the rows data ending at end. */
void cdc__rows_cells_settle(const struct cdc_table *t, size_t n, const uint8_t *image, const uint8_t *end,
                            cdc_value *vals, uint8_t *present);
/* Makes pending value i of an image read by cdc__rows_image_lazy from t
 * and sets *state (its present[i]) to 1. */
void cdc__rows_materialize(const struct cdc_table *t, size_t i, cdc_value *v, uint8_t *state);
/* The same for every pending value of an image of n columns. */
void cdc__rows_materialize_image(const struct cdc_table *t, size_t n, cdc_value *vals, uint8_t *present);

/*
 * cdc_change_cells (decoder.c): values first..first+count-1 of an image
 * (vals/present of nev columns, as cdc__rows_image or _lazy left them) as
 * public cells, `stride` bytes apart (at least sizeof(cdc_cell); a longer
 * tail is zeroed). A made value is converted (cdc__value_cell: the
 * cdc_value_* getters' results); a pending one is decoded from the image's
 * bytes through t's plan straight into its cell and stays pending; a
 * column past nev or not present is CDC_CELL_ABSENT.
 */
void cdc__value_cell(const cdc_value *v, cdc_cell *cell);
/* The cell of the value at p[0..avail) read straight from its bytes
 * through the plan, as the cells pass of cdc__rows_image_cells makes it;
 * false where that pass leaves the value to cdc__value_decode. For
 * test_rowplan, which compares it with cdc__value_cell of the decoded
 * value. */
bool cdc__rows_plan_cell(const cdc__col_plan *pl, const uint8_t *p, size_t avail, cdc_cell *cell, size_t *used);
/* cdc__rows_plan_cell through the column's cop, as the roads that make
 * cells read it: test_rowplan checks that it gives
 * the same cell and refuses the same inputs. */
bool cdc__rows_plan_cell_only(const cdc__col_plan *pl, const uint8_t *p, size_t avail, cdc_cell *cell,
                              size_t *used);
void cdc__rows_cells(const struct cdc_table *t, const cdc_value *vals, const uint8_t *present, size_t nev,
                     size_t first, size_t count, void *cells, size_t stride);

#endif /* CDC_ROWS_H */
