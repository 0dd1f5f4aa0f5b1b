/* config.h: typed access to a cdc_config for the library's own modules. */
#ifndef CDC_LIB_CONFIG_H
#define CDC_LIB_CONFIG_H

#include <cdc/config.h>

#include "config_keys.h"
#include "util.h"

enum { CDC__CFG_STRING, CDC__CFG_INT, CDC__CFG_BOOL, CDC__CFG_ENUM, CDC__CFG_LIST };
enum { CDC__CFG_SECRET = 1, CDC__CFG_PATH = 2 };

typedef enum cdc__cfg_id {
#define CDC__CFG_ENUM_ID(id, key, type, def, min, max, choices, flags, doc) CDC_CFG_##id,
    CDC__CONFIG_KEYS(CDC__CFG_ENUM_ID)
#undef CDC__CFG_ENUM_ID
    CDC_CFG__COUNT
} cdc__cfg_id;

/* Values of ssl.mode and snapshot.mode, in the order of their choices. */
enum { CDC_SSL_DISABLED, CDC_SSL_PREFERRED, CDC_SSL_REQUIRED, CDC_SSL_VERIFY_CA, CDC_SSL_VERIFY_IDENTITY };
enum { CDC_SNAPSHOT_INITIAL, CDC_SNAPSHOT_INITIAL_ONLY, CDC_SNAPSHOT_NO_DATA, CDC_SNAPSHOT_NEVER,
       CDC_SNAPSHOT_WHEN_NEEDED, CDC_SNAPSHOT_RECOVERY,
       /* Debezium's older spellings, read as the modes they were renamed to */
       CDC_SNAPSHOT_SCHEMA_ONLY, CDC_SNAPSHOT_SCHEMA_ONLY_RECOVERY };

/* snapshot.mode with Debezium's older spellings folded into their modes. */
static inline int cdc__snapshot_mode(int m)
{
    return m == CDC_SNAPSHOT_SCHEMA_ONLY ? CDC_SNAPSHOT_NO_DATA
           : m == CDC_SNAPSHOT_SCHEMA_ONLY_RECOVERY ? CDC_SNAPSHOT_RECOVERY : m;
}

/* The value as text ("" when empty); valid until the key is set again. */
const char *cdc__config_str(const cdc_config *c, cdc__cfg_id id);
int64_t cdc__config_int(const cdc_config *c, cdc__cfg_id id);
bool cdc__config_bool(const cdc_config *c, cdc__cfg_id id);
/* Index of an enum value among its choices. */
int cdc__config_enum(const cdc_config *c, cdc__cfg_id id);
/* Items of a list key; *n receives the count. Items are trimmed, never empty. */
const char *const *cdc__config_list(const cdc_config *c, cdc__cfg_id id, size_t *n);

/* What a config is about to be used for; each adds its own checks. */
enum { CDC__CFG_FOR_CONNECT = 1, CDC__CFG_FOR_STREAM = 2 };

/* Checks across keys; CDC_OK or CDC_ERR_CONFIG with a message in err. */
int cdc__config_check(const cdc_config *c, int purpose, cdc__err *err);

/* docs/configuration.md, generated from the key table. */
int cdc__config_doc_markdown(cdc__buf *out);

/* Shell-style match of name against pattern (* and ?), ASCII case-sensitive. */
bool cdc__glob_match(const char *pattern, const char *name, size_t name_len);

#endif /* CDC_LIB_CONFIG_H */
