/*
 * sqllex.c: the tokens of sqllex.h.
 */
#include "sqllex.h"

#include <ctype.h>
#include <string.h>

void cdc__lex_space(cdc__lex *l)
{
    for (;;) {
        while (l->p < l->end && isspace((unsigned char)*l->p)) l->p++;
        if (l->end - l->p >= 2 && l->p[0] == '/' && l->p[1] == '*') {
            const char *q = l->p + 2;
            while (q + 1 < l->end && !(q[0] == '*' && q[1] == '/')) q++;
            l->p = q + 1 < l->end ? q + 2 : l->end;
        } else if (l->p < l->end && (*l->p == '#' || (l->end - l->p >= 3 && l->p[0] == '-' && l->p[1] == '-' &&
                                                       isspace((unsigned char)l->p[2])))) {
            while (l->p < l->end && *l->p != '\n') l->p++;
        } else {
            return;
        }
    }
}

bool cdc__lex_kw(cdc__lex *l, const char *k)
{
    cdc__lex_space(l);
    size_t n = strlen(k);
    if ((size_t)(l->end - l->p) < n) return false;
    for (size_t i = 0; i < n; i++)
        if (toupper((unsigned char)l->p[i]) != k[i]) return false;
    if (l->p + n < l->end && (isalnum((unsigned char)l->p[n]) || l->p[n] == '_' || l->p[n] == '$')) return false;
    l->p += n;
    return true;
}

/* One identifier, unquoted into out (NUL-terminated). */
bool cdc__lex_ident(cdc__lex *l, cdc__buf *out)
{
    cdc__lex_space(l);
    if (l->p >= l->end) return false;
    if (*l->p == '`' || *l->p == '"') {
        char q = *l->p++;
        while (l->p < l->end) {
            if (*l->p == q) {
                if (l->p + 1 < l->end && l->p[1] == q) {
                    if (cdc__buf_putc(out, (uint8_t)q)) return false;
                    l->p += 2;
                    continue;
                }
                l->p++;
                return cdc__buf_putc(out, 0) == CDC_OK;
            }
            if (cdc__buf_putc(out, (uint8_t)*l->p++)) return false;
        }
        return false;
    }
    const char *s = l->p;
    while (l->p < l->end && (isalnum((unsigned char)*l->p) || *l->p == '_' || *l->p == '$' || (*l->p & 0x80))) l->p++;
    if (l->p == s) return false;
    return cdc__buf_append(out, s, (size_t)(l->p - s)) == CDC_OK && cdc__buf_putc(out, 0) == CDC_OK;
}

/* [db.]table as "db\0table\0". */
bool cdc__lex_table(cdc__lex *l, const char *db, size_t dblen, cdc__buf *out)
{
    size_t start = out->len;
    if (!cdc__lex_ident(l, out)) return false;
    cdc__lex_space(l);
    if (l->p < l->end && *l->p == '.') {
        l->p++;
        return cdc__lex_ident(l, out);
    }
    /* unqualified: insert the default database in front */
    size_t tl = out->len - start;
    if (cdc__buf_reserve(out, dblen + 1)) return false;
    memmove(out->data + start + dblen + 1, out->data + start, tl);
    memcpy(out->data + start, db, dblen);
    out->data[start + dblen] = 0;
    out->len += dblen + 1;
    return true;
}

bool cdc__lex_punct(cdc__lex *l, char c)
{
    cdc__lex_space(l);
    if (l->p < l->end && *l->p == c) {
        l->p++;
        return true;
    }
    return false;
}
