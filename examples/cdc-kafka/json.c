/* A recursive-descent JSON reader with a depth limit (json.h). */
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KJSON_MAX_DEPTH 64

typedef struct reader {
    const char *s, *end, *p;
    char *err;
    size_t errlen;
    int failed;
} reader;

static void fail(reader *r, const char *what)
{
    if (r->failed) return;
    r->failed = 1;
    size_t line = 1, col = 1;
    for (const char *q = r->s; q < r->p && q < r->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    if (r->err && r->errlen) snprintf(r->err, r->errlen, "JSON line %zu column %zu: %s", line, col, what);
}

static void skip_ws(reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static kjson *node(reader *r, kjson_type t)
{
    kjson *v = calloc(1, sizeof *v);
    if (!v) fail(r, "out of memory");
    else v->type = t;
    return v;
}

static int hex4(reader *r, unsigned *out)
{
    if (r->end - r->p < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = r->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    r->p += 4;
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* At the opening quote; the decoded text (at most as long as the input). */
static char *string_text(reader *r, size_t *lenp)
{
    r->p++;
    const char *start = r->p;
    while (r->p < r->end && *r->p != '"') r->p += (*r->p == '\\' && r->p + 1 < r->end) ? 2 : 1;
    if (r->p >= r->end) {
        fail(r, "unterminated string");
        return NULL;
    }
    const char *stop = r->p;
    char *out = malloc((size_t)(stop - start) + 1);
    if (!out) {
        fail(r, "out of memory");
        return NULL;
    }
    size_t n = 0;
    r->p = start;
    while (r->p < stop) {
        unsigned char c = (unsigned char)*r->p;
        if (c < 0x20) {
            fail(r, "control character in string");
            free(out);
            return NULL;
        }
        if (c != '\\') {
            out[n++] = (char)c;
            r->p++;
            continue;
        }
        r->p++;
        char e = *r->p++;
        switch (e) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            unsigned hi, lo;
            if (hex4(r, &hi)) goto bad_escape;
            uint32_t cp = hi;
            if (hi >= 0xD800 && hi <= 0xDBFF) {
                if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u') goto bad_escape;
                r->p += 2;
                if (hex4(r, &lo) || lo < 0xDC00 || lo > 0xDFFF) goto bad_escape;
                cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            } else if (hi >= 0xDC00 && hi <= 0xDFFF) {
                goto bad_escape;
            }
            n += put_utf8(out + n, cp); /* \uXXXX is 6 bytes, UTF-8 at most 4 */
            break;
        }
        default:
        bad_escape:
            fail(r, "bad escape in string");
            free(out);
            return NULL;
        }
    }
    r->p = stop + 1;
    out[n] = 0;
    *lenp = n;
    return out;
}

static kjson *value(reader *r, int depth);

static kjson *container(reader *r, int depth, int object)
{
    kjson *v = node(r, object ? KJSON_OBJECT : KJSON_ARRAY);
    if (!v) return NULL;
    char close = object ? '}' : ']';
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return v;
    }
    kjson **tail = &v->child;
    for (;;) {
        char *key = NULL;
        size_t klen = 0;
        skip_ws(r);
        if (object) {
            if (r->p >= r->end || *r->p != '"') {
                fail(r, "expected a member name in quotes");
                break;
            }
            if (!(key = string_text(r, &klen))) break;
            skip_ws(r);
            if (r->p >= r->end || *r->p != ':') {
                free(key);
                fail(r, "expected ':' after a member name");
                break;
            }
            r->p++;
        }
        kjson *item = value(r, depth + 1);
        if (!item) {
            free(key);
            break;
        }
        item->key = key;
        *tail = item;
        tail = &item->next;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == close) {
            r->p++;
            return v;
        }
        fail(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
        break;
    }
    kjson_free(v);
    return NULL;
}

static kjson *value(reader *r, int depth)
{
    if (depth > KJSON_MAX_DEPTH) {
        fail(r, "nested too deeply");
        return NULL;
    }
    skip_ws(r);
    if (r->p >= r->end) {
        fail(r, "unexpected end of input");
        return NULL;
    }
    char c = *r->p;
    if (c == '{' || c == '[') return container(r, depth, c == '{');
    if (c == '"') {
        kjson *v = node(r, KJSON_STRING);
        if (v && !(v->text = string_text(r, &v->len))) {
            kjson_free(v);
            v = NULL;
        }
        return v;
    }
    static const struct { const char *word; kjson_type t; } words[] = {
        {"true", KJSON_BOOL}, {"false", KJSON_BOOL}, {"null", KJSON_NULL}};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i].word);
        if ((size_t)(r->end - r->p) >= n && !memcmp(r->p, words[i].word, n)) {
            kjson *v = node(r, words[i].t);
            if (v && words[i].t == KJSON_BOOL && !(v->text = strdup(words[i].word))) {
                kjson_free(v);
                fail(r, "out of memory");
                return NULL;
            }
            if (v) v->len = words[i].t == KJSON_BOOL ? n : 0;
            r->p += n;
            return v;
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        const char *start = r->p;
        if (*r->p == '-') r->p++;
        int digits = 0;
        while (r->p < r->end && ((*r->p >= '0' && *r->p <= '9') || *r->p == '.' || *r->p == 'e' ||
                                 *r->p == 'E' || *r->p == '+' || *r->p == '-')) {
            digits += *r->p >= '0' && *r->p <= '9';
            r->p++;
        }
        if (!digits) {
            fail(r, "bad number");
            return NULL;
        }
        kjson *v = node(r, KJSON_NUMBER);
        if (v && !(v->text = strndup(start, (size_t)(r->p - start)))) {
            kjson_free(v);
            fail(r, "out of memory");
            return NULL;
        }
        if (v) v->len = (size_t)(r->p - start);
        return v;
    }
    fail(r, "unexpected character");
    return NULL;
}

kjson *kjson_parse(const char *s, size_t len, char *err, size_t errlen)
{
    reader r = {s, s + len, s, err, errlen, 0};
    kjson *v = value(&r, 0);
    if (v) {
        skip_ws(&r);
        if (r.p != r.end) {
            fail(&r, "text after the JSON value");
            kjson_free(v);
            v = NULL;
        }
    }
    return v;
}

void kjson_free(kjson *v)
{
    while (v) {
        kjson *next = v->next;
        kjson_free(v->child);
        free(v->key);
        free(v->text);
        free(v);
        v = next;
    }
}

const kjson *kjson_get(const kjson *obj, const char *key)
{
    if (!obj || obj->type != KJSON_OBJECT) return NULL;
    for (const kjson *m = obj->child; m; m = m->next)
        if (m->key && !strcmp(m->key, key)) return m;
    return NULL;
}
