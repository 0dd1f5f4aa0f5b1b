/*
 * charset.h: collation ids (as TABLE_MAP and the protocol send them) to
 * character sets, and conversion of column text to UTF-8. Internal.
 */
#ifndef CDC_CHARSET_H
#define CDC_CHARSET_H

#include "jsonw.h" /* cdc__utf8_sanitize, once declared here */

/* How the text of a collation is turned into UTF-8. */
enum {
    CDC_CS_UNKNOWN = 0, /* id not in the table: treated as UTF-8 */
    CDC_CS_UTF8,        /* utf8mb3, utf8mb4: validated, passed through */
    CDC_CS_ASCII,       /* validated as UTF-8 (ASCII is a subset) */
    CDC_CS_LATIN1,      /* MySQL's latin1 = Windows-1252 plus the 5 C1 holes */
    CDC_CS_BINARY,      /* bytes, never text */
    CDC_CS_ICONV,       /* everything else, through iconv() by name */
};

typedef struct cdc__charset {
    const char *name;  /* MySQL's charset name: "latin1", "utf8mb4" */
    const char *iconv; /* glibc iconv name for CDC_CS_ICONV, else NULL */
    int kind;          /* CDC_CS_* */
} cdc__charset;

/* The charset of a collation id (MySQL and MariaDB numbering); never NULL:
 * unknown ids give a CDC_CS_UNKNOWN entry named "unknown". */
const cdc__charset *cdc__charset_of(unsigned collation);

/*
 * Appends the UTF-8 form of s[0..len) in charset cs to out. Bytes that
 * are not valid in cs become U+FFFD. Returns CDC_OK, CDC_ERR_NOMEM, or
 * CDC_ERR_CHARSET when iconv() knows no such charset.
 */
int cdc__charset_to_utf8(const cdc__charset *cs, const uint8_t *s, size_t len, cdc__buf *out, cdc__err *err);

#endif /* CDC_CHARSET_H */
