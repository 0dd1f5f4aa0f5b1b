/*
 * signal_data.c: the data column of a Debezium signal-table row
 * (signal_data.h), read with a small JSON reader of its own: strings
 * with every escape (surrogate pairs to UTF-8), other values skipped.
 */
#include <stdio.h>

#include "jsonw.h"
#include "signal_data.h"

typedef struct jrd {
    const char *p, *end;
} jrd;

static void jws(jrd *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static bool jeat(jrd *j, char c)
{
    jws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return true;
    }
    return false;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* A JSON string into b (terminated); -1 when it is not one. */
static int jstr(jrd *j, cdc__buf *b)
{
    cdc__buf_reset(b);
    if (!jeat(j, '"')) return -1;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if ((unsigned char)c < 0x20) return -1;
        if (c != '\\') {
            if (cdc__buf_putc(b, (uint8_t)c)) return -1;
            continue;
        }
        if (j->p >= j->end) return -1;
        c = *j->p++;
        const char *map = "\"\"\\\\//b\bf\fn\nr\rt\t";
        const char *m = strchr(map, c);
        if (c == 'u') {
            unsigned cp, lo;
            if (j->end - j->p < 4 || hex4(j->p, &cp)) return -1;
            j->p += 4;
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2, &lo) || lo < 0xdc00 ||
                    lo > 0xdfff)
                    return -1;
                j->p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                return -1;
            }
            if (cdc__utf8_put(b, cp)) return -1;
        } else if (m && ((m - map) % 2 == 0)) {
            if (cdc__buf_putc(b, (uint8_t)m[1])) return -1;
        } else {
            return -1;
        }
    }
    if (j->p >= j->end) return -1;
    j->p++;
    return cdc__buf_terminate(b) ? -1 : 0;
}

/* Skips any JSON value. */
static int jskip(jrd *j, int depth)
{
    jws(j);
    if (j->p >= j->end || depth > 32) return -1;
    char c = *j->p;
    if (c == '"') {
        cdc__buf tmp;
        cdc__buf_init(&tmp, NULL);
        int rc = jstr(j, &tmp);
        cdc__buf_free(&tmp);
        return rc;
    }
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->p++;
        if (jeat(j, close)) return 0;
        do {
            if (c == '{') {
                if (jskip(j, depth + 1) || !jeat(j, ':')) return -1;
            }
            if (jskip(j, depth + 1)) return -1;
        } while (jeat(j, ','));
        return jeat(j, close) ? 0 : -1;
    }
    const char *s = j->p;
    while (j->p < j->end && (strchr("-+.eE", *j->p) || (*j->p >= '0' && *j->p <= '9') ||
                             (*j->p >= 'a' && *j->p <= 'z')))
        j->p++;
    return j->p > s ? 0 : -1;
}

static char *sdup(const cdc_allocator *a, const cdc__buf *b)
{
    return cdc__strndup(a, (const char *)b->data, strlen((const char *)b->data));
}

int cdc__signal_data_parse(const char *json, size_t len, char *type, size_t type_cap,
                           int (*add)(const char *table, const char *cond, void *ud), void *ud,
                           const cdc_allocator *a, cdc__err *err)
{
    a = cdc__allocator(a);
    jrd j = {json, json + len};
    cdc__buf k, v, t2;
    cdc__buf_init(&k, a);
    cdc__buf_init(&v, a);
    cdc__buf_init(&t2, a);
    char **tables = NULL, **ctab = NULL, **cval = NULL, *all_cond = NULL;
    size_t nt = 0, nc = 0;
    int rc = CDC_OK;
    const char *bad = NULL;
    if (type_cap) type[0] = 0;
    jws(&j);
    if (j.p == j.end) goto done; /* empty data: no tables */
    if (!jeat(&j, '{')) { bad = "not a JSON object"; goto done; }
    if (jeat(&j, '}')) goto done;
    do {
        if (jstr(&j, &k) || !jeat(&j, ':')) { bad = "a member without a string name"; goto done; }
        const char *key = (const char *)k.data;
        if (!strcmp(key, "data-collections")) {
            if (!jeat(&j, '[')) { bad = "data-collections is not an array"; goto done; }
            if (!jeat(&j, ']')) {
                do {
                    if (jstr(&j, &v)) { bad = "data-collections holds a non-string"; goto done; }
                    char **n = cdc__realloc(a, tables, (nt + 1) * sizeof *n);
                    if (!n || !(n[nt] = sdup(a, &v))) { if (n) tables = n; rc = CDC_ERR_NOMEM; goto done; }
                    tables = n;
                    nt++;
                } while (jeat(&j, ','));
                if (!jeat(&j, ']')) { bad = "data-collections: unterminated array"; goto done; }
            }
        } else if (!strcmp(key, "additional-conditions")) {
            if (!jeat(&j, '[')) { bad = "additional-conditions is not an array"; goto done; }
            if (!jeat(&j, ']')) {
                do {
                    if (!jeat(&j, '{')) { bad = "additional-conditions holds a non-object"; goto done; }
                    char *tn = NULL, *fl = NULL;
                    if (!jeat(&j, '}')) {
                        do {
                            if (jstr(&j, &k) || !jeat(&j, ':')) { bad = "a member without a string name"; goto cond_bad; }
                            bool is_t = !strcmp((const char *)k.data, "data-collection");
                            bool is_f = !strcmp((const char *)k.data, "filter");
                            if (is_t || is_f) {
                                if (jstr(&j, &v)) { bad = "data-collection and filter must be strings"; goto cond_bad; }
                                char *d = sdup(a, &v);
                                if (!d) { rc = CDC_ERR_NOMEM; goto cond_bad; }
                                if (is_t) { cdc__free(a, tn); tn = d; } else { cdc__free(a, fl); fl = d; }
                            } else if (jskip(&j, 0)) {
                                bad = "bad JSON value";
                                goto cond_bad;
                            }
                        } while (jeat(&j, ','));
                        if (!jeat(&j, '}')) { bad = "unterminated object"; goto cond_bad; }
                    }
                    if (!tn) { bad = "an additional condition without data-collection"; goto cond_bad; }
                    char **a1 = cdc__realloc(a, ctab, (nc + 1) * sizeof *a1);
                    if (a1) ctab = a1;
                    char **a2 = a1 ? cdc__realloc(a, cval, (nc + 1) * sizeof *a2) : NULL;
                    if (a2) cval = a2;
                    if (!a1 || !a2) { rc = CDC_ERR_NOMEM; goto cond_bad; }
                    ctab[nc] = tn;
                    cval[nc] = fl;
                    nc++;
                    continue;
                cond_bad:
                    cdc__free(a, tn);
                    cdc__free(a, fl);
                    goto done;
                } while (jeat(&j, ','));
                if (!jeat(&j, ']')) { bad = "additional-conditions: unterminated array"; goto done; }
            }
        } else if (!strcmp(key, "additional-condition")) {
            if (jstr(&j, &v)) { bad = "additional-condition is not a string"; goto done; }
            cdc__free(a, all_cond);
            if (!(all_cond = sdup(a, &v))) { rc = CDC_ERR_NOMEM; goto done; }
        } else if (!strcmp(key, "type")) {
            if (jstr(&j, &t2)) { bad = "type is not a string"; goto done; }
            if (type_cap) snprintf(type, type_cap, "%s", (const char *)t2.data);
        } else if (jskip(&j, 0)) {
            bad = "bad JSON value";
            goto done;
        }
    } while (jeat(&j, ','));
    if (!jeat(&j, '}')) { bad = "unterminated object"; goto done; }
    jws(&j);
    if (j.p != j.end) { bad = "text after the object"; goto done; }
    for (size_t i = 0; i < nt && !rc; i++) {
        const char *cond = all_cond && *all_cond ? all_cond : NULL;
        for (size_t c = 0; c < nc; c++)
            if (!strcmp(ctab[c], tables[i]) && cval[c] && *cval[c]) cond = cval[c];
        rc = add(tables[i], cond, ud);
    }
done:
    if (bad) rc = cdc__err_set(err, CDC_ERR_INVALID, "signal data: %s (at byte %zu)", bad, (size_t)(j.p - json));
    else if (rc == CDC_ERR_NOMEM) cdc__err_set(err, rc, "out of memory");
    for (size_t i = 0; i < nt; i++) cdc__free(a, tables[i]);
    for (size_t i = 0; i < nc; i++) {
        cdc__free(a, ctab[i]);
        cdc__free(a, cval[i]);
    }
    cdc__free(a, tables);
    cdc__free(a, ctab);
    cdc__free(a, cval);
    cdc__free(a, all_cond);
    cdc__buf_free(&k);
    cdc__buf_free(&v);
    cdc__buf_free(&t2);
    return rc;
}
