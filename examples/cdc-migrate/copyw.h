/*
 * Copy workers (--copy-workers N, docs/migrate.md "Copy"): N more target
 * connections, each in its own transaction, load the snapshot's rows at
 * the same time. The snapshot's reader fills a table's buffer; a full
 * buffer goes to an idle worker, which loads it through the target's
 * copy_put (PostgreSQL: into a COPY of that table left open on its
 * connection; MySQL/MariaDB: one multi-row INSERT), so several tables, and
 * several parts of one large table, are loaded at once. Each worker's
 * transaction opens with the target's begin under a name of its own
 * (NAME/copyI: on MySQL/MariaDB the marker row that keeps the copy out of a
 * reverse migration's stream). The workers commit before the main
 * connection commits the state row: the migration is "streaming" only once
 * every row is committed, so a crash at any point copies again.
 */
#ifndef CDC_MIGRATE_COPYW_H
#define CDC_MIGRATE_COPYW_H

#include "target.h"

typedef struct copyw copyw;

/* Opens n worker connections (each with an open transaction) and their
 * threads. NULL with a message. */
copyw *copyw_open(const mopts *o, int n, char *err, size_t errlen);
/* Hands the rows in *b (table t's COPY text) to an idle worker, waiting
 * for one; *b is left empty. -1 with the first worker's error (*retriable
 * set when the target went away). */
int copyw_put(copyw *c, const mtable *t, mbuf *b, char *err, size_t errlen, int *retriable);
/* Waits until every buffer is loaded, then commits each worker. 0, or -1
 * as copyw_put. */
int copyw_commit(copyw *c, char *err, size_t errlen, int *retriable);
/* Ends the threads and closes the connections (what is not committed is
 * rolled back). NULL fine. */
void copyw_close(copyw *c);

#endif
