/*
 * tablemap.h: TABLE_MAP events, with every optional metadata field, as
 * cdc_column arrays (lib/value.h; packing in docs/binlog-format.md), and
 * the set of tables mapped in the current statement. Internal.
 */
#ifndef CDC_TABLEMAP_H
#define CDC_TABLEMAP_H

#include "event.h"
#include "value.h"

/* The public cdc_table (cdc/binlog.h) is this struct. */
struct cdc_table {
    const cdc_allocator *alloc;
    uint64_t id;
    uint16_t flags;
    char *db, *name;          /* NUL-terminated copies */
    size_t ncols;
    cdc_column *cols;
    char **col_names;         /* NUL-terminated copies, NULL entries when unknown */
    cdc_bytes *labels;        /* ENUM/SET labels of all columns */
    char *strings;            /* one block holding db, name, column names, labels */
    size_t n_json;            /* JSON columns, for PARTIAL_UPDATE_ROWS partial bits */
    bool has_meta;            /* false for 5.1.15-5.1.17 TABLE_MAPs without metadata */

    /* The TABLE_MAP body this was parsed from (cdc__table_map_load's
     * cache key); NULL for tables made elsewhere (snapshots). */
    uint8_t *raw;
    size_t raw_len;
    bool cacheable;           /* names came from the map itself (or no columns) */
    /* JSON text of the names, escaped once per TABLE_MAP for the JSON
     * lines (output.c): jdb/jname are "db"/"table" string literals,
     * jkey[i] is column i's "name": key ("@N" when unnamed). Each key is
     * valid only while col_names[i] == jkey_src[i] (a stream may fill in
     * names from information_schema later). NULL when not built. 16
     * zero bytes follow the last key. */
    char *jtext;
    cdc_bytes jdb, jname, *jkey;
    cdc_bytes *jlabels;       /* storage of the columns' jlabels (in jtext) */
    const char **jkey_src;
    /* Every jkey[i] is valid (made from col_names[i]) and at most 16
     * bytes: output.c then skips the per-column checks. Set with jkey,
     * cleared when names are borrowed (cdc__table_borrow_names). */
    bool jkeys_short;
    /* How rows.c reads each column's values, made on the first row image
     * of this table (cdc__rows_image); NULL until then. */
    struct cdc__col_plan *plan;
    /* Every column of the plan makes its cells from the bytes alone (no
     * PLAN_SLOW column, no DECIMAL of more than 18 digits): images can be
     * read as cells only (cdc__rows_image_cells_only). Set with plan. */
    bool plan_cells;
    /* Row images of this table to decode whole before the decoder tries
     * lazy decoding again (decoder.c, do_rows). */
    uint8_t eager_rows;
    /* The last change callback read a whole image through
     * cdc_change_cells or wrote it as a JSON line (output.c): make the
     * cells with the next row images (cdc__rows_image_cells) until a
     * callback stops doing so. */
    bool cells_rows;
    /* cdc_change_cells_view's cells of an image the decoder did not make
     * as cells (2 * ncols: before, then after), made on its first such
     * call; NULL until then. */
    struct cdc_cell *view_cells;
};

/* Decodes a TABLE_MAP body into a new table (owned by the caller; free
 * with cdc__table_free). */
int cdc__table_parse(const cdc__fde *f, const uint8_t *body, size_t len,
                     const cdc_allocator *a, struct cdc_table **out, cdc__err *err);
void cdc__table_free(struct cdc_table *t);
/* Gives a table whose TABLE_MAP had no names (binlog_row_metadata=MINIMAL)
 * the ncols names at names, borrowed: they must outlive the table. */
void cdc__table_borrow_names(struct cdc_table *t, const char *const *names);
/* Whether column i may be a MariaDB JSON column: a LONGTEXT (or a
 * LONGBLOB/LONGTEXT whose charset the map does not say). The binlog
 * logs JSON as LONGTEXT; only information_schema tells (schema.h). */
bool cdc__column_maybe_json(const cdc_column *c);
/* Marks column i as holding JSON text (CDC_COLF_JSON_TEXT: its values
 * become documents) or not; a change drops the row plan made for the old
 * flags. */
void cdc__table_set_json_text(struct cdc_table *t, size_t i, bool on);
/* 1 if decoding the column's values needs TABLE_MAP metadata. */
bool cdc__column_needs_meta(const cdc_column *c);
/* "DECIMAL(10,2)", "VARCHAR(255)", "INT UNSIGNED"... for error messages. */
const char *cdc__column_type_text(const cdc_column *c, char *buf, size_t n);

/*
 * Tables of the current statement, by id, and a cache of tables of
 * earlier statements keyed by their TABLE_MAP body: most statements map
 * the same tables with the same bytes again, and an unchanged map then
 * costs a memcmp instead of a parse. Tables whose column names the
 * binlog does not carry are never cached (a stream fills those in from
 * information_schema, and they change with DDL the map does not show).
 */
#define CDC__TABLE_CACHE_MAX 64
typedef struct cdc__table_map {
    const cdc_allocator *alloc;
    struct cdc_table **t;
    size_t n, cap;
    struct cdc_table **cache; /* oldest first */
    size_t ncache;
} cdc__table_map;

void cdc__table_map_init(cdc__table_map *m, const cdc_allocator *a);
/* Ends the statement: its tables move to the cache (or are freed). */
void cdc__table_map_clear(cdc__table_map *m);
/* Frees every table, cached ones too (a new format description). */
void cdc__table_map_flush(cdc__table_map *m);
void cdc__table_map_free(cdc__table_map *m);
/* Takes ownership of t, replacing any table with the same id. */
int cdc__table_map_put(cdc__table_map *m, struct cdc_table *t);
/* The table of a TABLE_MAP body: from the cache when an earlier map had
 * exactly these bytes, else parsed; either way put in the statement's
 * set. *out is owned by m. Errors as cdc__table_parse. */
int cdc__table_map_load(cdc__table_map *m, const cdc__fde *f, const uint8_t *body, size_t len,
                        struct cdc_table **out, cdc__err *err);
struct cdc_table *cdc__table_map_get(const cdc__table_map *m, uint64_t id);

#endif /* CDC_TABLEMAP_H */
