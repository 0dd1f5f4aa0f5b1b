/*
 * sqllex.h: the few tokens of a SQL statement that DDL readers need
 * (schema.c: which tables a statement changes for the filter and the
 * caches; debezium_tables.c: the same for tableChanges): keywords,
 * punctuation, identifiers (quoted with ` or ") and [db.]table names,
 * skipping white space and comments.
 */
#ifndef CDC_SQLLEX_H
#define CDC_SQLLEX_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

typedef struct cdc__lex {
    const char *p, *end;
} cdc__lex;

/* Skips white space and comments (slash-star, #, "-- "). */
void cdc__lex_space(cdc__lex *l);
/* Consumes keyword k (upper case; matched case-insensitively, as a whole
 * word) if it comes next. */
bool cdc__lex_kw(cdc__lex *l, const char *k);
/* Consumes character c if it comes next. */
bool cdc__lex_punct(cdc__lex *l, char c);
/* One identifier, unquoted, appended NUL-terminated to out. */
bool cdc__lex_ident(cdc__lex *l, cdc__buf *out);
/* [db.]table appended as "db\0table\0"; db (dblen bytes) when unqualified. */
bool cdc__lex_table(cdc__lex *l, const char *db, size_t dblen, cdc__buf *out);

#endif
