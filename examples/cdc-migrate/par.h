/*
 * Parallel apply (docs/migrate.md, "Apply, parallel mode"): each row's
 * statements go to one of N workers chosen by a hash of its key, every
 * worker with its own target connection. A batch is applied in two
 * phases: every worker runs its part inside an open transaction together
 * with its row in cdc_migrate.worker (the batch's end position); only
 * when all parts ran without an error do the workers commit. A crash
 * between two workers' commits leaves some parts committed: the worker
 * rows say which, and the next run skips exactly the rows whose worker
 * already committed them (par_skip), so nothing is applied twice.
 */
#ifndef CDC_MIGRATE_PAR_H
#define CDC_MIGRATE_PAR_H

#include "target.h"

typedef struct par par;

/* Opens n worker connections to the target and starts their threads;
 * qname: the migration's name as a SQL literal. */
par *par_open(const mopts *o, const char *qname, int n, char *err, size_t errlen);
/* Rolls back what is not committed, ends the threads, closes. NULL fine. */
void par_close(par *p);
int par_workers(const par *p);
/* The part of the batch being built for worker w. */
mbuf *par_part(par *p, int w);
/* Whether any part of the batch being built has statements. */
int par_pending(const par *p);
/* Drops the parts being built (an incomplete source transaction). */
void par_discard(par *p);
/* Hands the parts being built to the workers; the batch ends at
 * checkpoint ck (whose binlog file and offset are file, off). The
 * previous batch must have been waited for. last_file/last_off: the batch's last row (for the
 * dead-letter fallback). Returns at once. */
void par_dispatch(par *p, const char *ck, const char *file, uint64_t off,
                  const char *last_file, uint64_t last_off);
/* The slowest worker's COMMIT in the last batch waited for, in ms. */
double par_commit_ms(par *p);
/* Whether a dispatched batch is not yet waited for. */
int par_inflight(const par *p);
/* Waits until the dispatched batch is committed by every worker with a
 * part. 0; or -1 with the first error, *retriable set when the target
 * went away (rather than refused the data), and the last row of the
 * failed batch in last_file/last_off. */
int par_wait(par *p, char *err, size_t errlen, int *retriable, char *last_file, size_t lfcap,
             uint64_t *last_off);

/* The worker to which a key goes: hash of the table and the key text. */
int par_route(const char *table, const char *key, size_t keylen, int n);

/* Skip rules from an earlier run's worker rows (see the top). */
typedef struct par_skip {
    int n;           /* the earlier run's worker count, 0: no rules */
    char **file;     /* per worker: position of its last committed batch */
    uint64_t *off;
} par_skip;
/* The quoted name of the table name beside the target's state table
 * (cdc_migrate.name, or in --state-schema); caller frees. */
char *par_aux_table(const target *t, const char *name);
/* The CREATE TABLE of the worker rows; caller frees. */
char *par_setup_sql(const target *t);
/* Loads the worker rows that are ahead of the checkpoint ck (file, off).
 * Rows all behind it are deleted. 0 or -1. */
int par_skip_load(target *c, const char *qname, const char *file, uint64_t off,
                  par_skip *s, char *err, size_t errlen);
void par_skip_free(par_skip *s);
/* 1 when the statement for key (a row event at file/off) was committed
 * already by the earlier run's worker for that key. */
int par_skip_row(const par_skip *s, const char *table, const char *key, size_t keylen,
                 const char *file, uint64_t off);
/* Compares binlog positions: <0, 0, >0. */
int par_poscmp(const char *fa, uint64_t oa, const char *fb, uint64_t ob);

#endif
