/*
 * A small JSON reader for cdc-kafka's configuration files (Kafka Connect's
 * connector JSON) and offset records. Values are parsed into a tree the
 * caller frees with kjson_free(). Numbers keep their text, so a value such
 * as "database.server.id": 184054 reaches the configuration unchanged.
 */
#ifndef CDC_KAFKA_JSON_H
#define CDC_KAFKA_JSON_H

#include <stddef.h>

typedef enum kjson_type {
    KJSON_NULL, KJSON_BOOL, KJSON_NUMBER, KJSON_STRING, KJSON_ARRAY, KJSON_OBJECT
} kjson_type;

typedef struct kjson kjson;
struct kjson {
    kjson_type type;
    char *key;      /* member name inside an object, else NULL */
    char *text;     /* STRING: the decoded UTF-8 text; NUMBER: its digits; BOOL: "true"/"false" */
    size_t len;     /* bytes of text (a string may hold NUL) */
    kjson *child;   /* ARRAY/OBJECT: first element */
    kjson *next;    /* next sibling */
};

/* Parses len bytes. Returns the tree, or NULL with a message naming the
 * line and column in err. Nesting deeper than 64 levels is refused. */
kjson *kjson_parse(const char *s, size_t len, char *err, size_t errlen);
void kjson_free(kjson *v);
/* The member named key of an object, NULL if absent or v is no object. */
const kjson *kjson_get(const kjson *obj, const char *key);

#endif
