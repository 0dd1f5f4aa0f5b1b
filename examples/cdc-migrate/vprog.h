/*
 * verify's progress, kept in the target beside the migration's state
 * (cdc_migrate.verify_run, verify_table, verify_recheck), so that an
 * interrupted verify continues after the last chunk it completed
 * (docs/migrate.md, "verify").
 */
#ifndef CDC_MIGRATE_VPROG_H
#define CDC_MIGRATE_VPROG_H

#include "target.h"

/* One table of the run: the upper key of its last completed chunk (NULL:
 * none yet), whether all its chunks are done, and what they counted. */
typedef struct vprog_table {
    char *tbl;
    char *last_hi;
    int finished;
    uint64_t chunks, by_digest, rows;
} vprog_table;

/* A chunk whose rows differed when first compared: rechecked at the end
 * of the run. lo/hi: its key range (NULL: unbounded). */
typedef struct vprog_chunk {
    char *tbl, *lo, *hi;
} vprog_chunk;

typedef struct vprog {
    target *tg;
    const char *name;
    char *trun, *ttab, *trck; /* the quoted state tables */
    long long run_id, resumes, started_ms;
    int resumed; /* this invocation continues an unfinished run */
    vprog_table *t;
    size_t nt;
    vprog_chunk *r; /* chunks to recheck found by earlier invocations */
    size_t nr;
} vprog;

/* Creates the tables if needed, then continues the migration's unfinished
 * run, or (none, or restart) starts a new one, forgetting the last run's
 * progress. 0, or -1 with a message. */
int vprog_open(vprog *p, target *tg, const mopts *o, int restart, char *err, size_t errlen);
/* The table's progress (NULL when this run has not reached it). */
const vprog_table *vprog_find(const vprog *p, const char *tbl);
/* Records in one target transaction: t's progress as now and the chunks
 * found differing since the last save (n of them). */
int vprog_save(vprog *p, const vprog_table *t, const vprog_chunk *add, size_t n, char *err,
               size_t errlen);
/* Marks the run finished: the next verify starts a new one. */
int vprog_finish(vprog *p, char *err, size_t errlen);
void vprog_free(vprog *p);

#endif
