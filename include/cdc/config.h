/*
 * config.h: configuration by string keys.
 *
 * A cdc_config holds every setting of a stream or snapshot as a key/value
 * pair of strings, checked when set: cdc_config_set() rejects an unknown
 * key, a value of the wrong type or out of range, or a file that cannot be
 * read, with a message naming the key and the value. Checks that involve
 * several keys (ssl.mode=verify_ca needs ssl.ca, streaming needs server.id)
 * run when the config is used. The keys, their types, defaults and meaning
 * are listed in docs/configuration.md, which is generated from the same
 * table the library checks against.
 * The filter keys (database, table and column lists, server.id lists,
 * skipped.operations, and transaction.marker.table, which drops whole
 * transactions an applier tagged with a marker row: loop prevention for
 * two-way setups) are explained in docs/stream.md, "Filters".
 *
 * A config may be shared by several streams once set up; it is not
 * changed by them. Setting keys is not thread-safe: do it from one thread
 * before the config is used.
 */
#ifndef CDC_CONFIG_H
#define CDC_CONFIG_H

#include <cdc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdc_config cdc_config;

/* A config with every key at its default. alloc may be NULL (libc).
 * Returns CDC_OK or CDC_ERR_NOMEM. */
CDC_EXTERN int cdc_config_new(cdc_config **out, const cdc_allocator *alloc);

/* Frees cfg; NULL is fine. */
CDC_EXTERN void cdc_config_free(cdc_config *cfg);

/* An independent copy of src (same allocator). */
CDC_EXTERN int cdc_config_copy(cdc_config **out, const cdc_config *src);

/*
 * Sets key to value (a NUL-terminated string; NULL restores the default).
 * Booleans take true/false/1/0/yes/no/on/off, lists are comma-separated.
 * Returns CDC_OK, CDC_ERR_CONFIG (unknown key, bad value; the message in
 * err names both), or CDC_ERR_NOMEM. On error the old value is kept.
 */
CDC_EXTERN int cdc_config_set(cdc_config *cfg, const char *key, const char *value,
                              char *err, size_t errlen);

/*
 * Copies the value of key, NUL-terminated, into buf (cap bytes). *need,
 * if not NULL, receives the size the value needs including the NUL, so a
 * call with cap 0 asks for the size. Secret keys (password) read back as
 * "" when unset and "********" when set.
 * Returns CDC_OK, CDC_ERR_CONFIG for an unknown key, CDC_ERR_TOO_LARGE
 * when cap is too small (buf then holds a truncated, terminated copy).
 */
CDC_EXTERN int cdc_config_get(const cdc_config *cfg, const char *key, char *buf, size_t cap,
                              size_t *need);

/* The keys the library knows, for tools and bindings: index 0..count-1.
 * Name, type ("string", "int", "bool", "enum", "list"), default and doc
 * are static strings; NULL for an index out of range. Thread-safe. */
CDC_EXTERN size_t cdc_config_key_count(void);
CDC_EXTERN const char *cdc_config_key_name(size_t i);
CDC_EXTERN const char *cdc_config_key_type(size_t i);
CDC_EXTERN const char *cdc_config_key_default(size_t i);
CDC_EXTERN const char *cdc_config_key_doc(size_t i);
/* Allowed values of an enum key, '|'-separated; NULL for other types. */
CDC_EXTERN const char *cdc_config_key_choices(size_t i);

#ifdef __cplusplus
}
#endif
#endif /* CDC_CONFIG_H */
