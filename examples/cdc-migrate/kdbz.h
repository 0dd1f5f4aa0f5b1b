/*
 * Debezium values read back (docs/kafka.md, "Applying from Kafka"): one
 * field of a Debezium change event's before/after image, as the
 * PostgreSQL text form the direct path writes for the same column
 * (values.c), so a row applied from Kafka equals the row `run` applies.
 * The column's source type (information_schema, schema.c) says what the
 * value is; the field's Connect schema, when the record carries one,
 * says which handling mode wrote it; without a schema the modes the user
 * names (Debezium's option names) decide.
 */
#ifndef CDC_MIGRATE_KDBZ_H
#define CDC_MIGRATE_KDBZ_H

#include "../cdc-kafka/json.h"
#include "migrate.h"

typedef struct dbz_modes {
    enum { DBZ_DEC_PRECISE, DBZ_DEC_STRING, DBZ_DEC_DOUBLE } decimal;
    int time_connect;   /* time.precision.mode=connect (else adaptive_time_microseconds) */
    enum { DBZ_BIN_BASE64, DBZ_BIN_URLSAFE, DBZ_BIN_HEX } binary; /* bytes is base64 */
    int bigint_precise; /* bigint.unsigned.handling.mode=precise (else long) */
} dbz_modes;

/* Sets one mode by Debezium's option name; 0, or -1 with a message naming
 * the option and the values it takes. */
int dbz_mode_set(dbz_modes *m, const char *key, const char *value, char *err, size_t errlen);

/* The value v of column c (fschema: the field's schema, or NULL) as the
 * PostgreSQL text value_text() gives: V_OK, V_NULL (JSON null, or a zero
 * date with --zero-date null) or V_ERR with a message naming the column
 * and what was wrong. */
vres dbz_value_text(const mopts *o, const dbz_modes *m, const mcol *c, const kjson *v,
                    const kjson *fschema, mbuf *out, char *err, size_t errlen);

/* Base64 (standard or URL-safe, padding optional) to bytes; -1 when not
 * base64. */
int dbz_base64(const char *s, size_t n, mbuf *out);

#endif
