/*
 * snapprog.c: reads and writes the snapshot progress of a checkpoint
 * (grammar in snapprog.h). Strict: anything that is not exactly the
 * grammar is refused with the place it went wrong, since a misread
 * progress would skip rows.
 */
#include "snapprog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

static bool plain(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int cdc__snapprog_put_esc(cdc__buf *out, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (cdc__buf_reserve(out, 3 * n + 1)) return CDC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (plain(p[i])) {
            out->data[out->len++] = p[i];
        } else {
            out->data[out->len++] = '%';
            out->data[out->len++] = (uint8_t)hex[p[i] >> 4];
            out->data[out->len++] = (uint8_t)hex[p[i] & 15];
        }
    }
    return CDC_OK;
}

int cdc__snapprog_put_range(cdc__buf *out, bool has_lo, int64_t lo, bool has_hi, int64_t hi)
{
    int rc = has_lo ? cdc__buf_printf(out, "%" PRId64, lo) : 0;
    rc |= cdc__buf_putc(out, '_');
    if (has_hi) rc |= cdc__buf_printf(out, "%" PRId64, hi);
    rc |= cdc__buf_putc(out, '_');
    return rc ? CDC_ERR_NOMEM : CDC_OK;
}

void cdc__snapprog_free(cdc__snapprog *p)
{
    if (!p || !p->a) return;
    for (size_t i = 0; i < p->n; i++) {
        cdc__free(p->a, p->t[i].db);
        cdc__free(p->a, p->t[i].name);
        for (size_t j = 0; j < p->t[i].nitems; j++) cdc__free(p->a, p->t[i].items[j].key);
        cdc__free(p->a, p->t[i].items);
    }
    cdc__free(p->a, p->t);
    cdc__free(p->a, p->store);
    memset(p, 0, sizeof *p);
}

const cdc__sp_table *cdc__snapprog_find(const cdc__snapprog *p, const char *db, const char *name)
{
    for (size_t i = 0; p && i < p->n; i++)
        if (!strcmp(p->t[i].db, db) && !strcmp(p->t[i].name, name)) return &p->t[i];
    return NULL;
}

typedef struct rd {
    const char *s, *end, *start;
    uint8_t *store;
    size_t used;
    cdc__err *err;
} rd;

static int bad(rd *r, const char *what)
{
    return cdc__err_set(r->err, CDC_ERR_INVALID, "checkpoint: snap: %s at byte %zu", what, (size_t)(r->s - r->start));
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Unescapes up to a byte outside the escaped alphabet into the store. */
static int esc(rd *r, const uint8_t **out, size_t *len)
{
    *out = r->store + r->used;
    size_t n = 0;
    while (r->s < r->end) {
        uint8_t c = (uint8_t)*r->s;
        if (c == '%') {
            int hi = r->end - r->s > 2 ? hexv(r->s[1]) : -1, lo = hi >= 0 ? hexv(r->s[2]) : -1;
            if (lo < 0) return bad(r, "a bad %XX escape");
            r->store[r->used + n++] = (uint8_t)(hi * 16 + lo);
            r->s += 3;
        } else if (plain(c)) {
            r->store[r->used + n++] = c;
            r->s++;
        } else {
            break;
        }
    }
    r->used += n;
    *len = n;
    return CDC_OK;
}

static int name(rd *r, const cdc_allocator *a, char **out)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    int rc = esc(r, &p, &n);
    if (rc) return rc;
    if (!n) return bad(r, "an empty name");
    if (memchr(p, 0, n)) return bad(r, "a NUL byte in a name");
    if (!(*out = cdc__strndup(a, (const char *)p, n))) return CDC_ERR_NOMEM;
    return CDC_OK;
}

static int bound(rd *r, bool *has, int64_t *v)
{
    const char *b = r->s;
    if (r->s < r->end && *r->s == '-') r->s++;
    while (r->s < r->end && *r->s >= '0' && *r->s <= '9') r->s++;
    *has = r->s > b;
    if (!*has) return CDC_OK;
    char tmp[32];
    if ((size_t)(r->s - b) >= sizeof tmp) return bad(r, "a range bound too long");
    memcpy(tmp, b, (size_t)(r->s - b));
    tmp[r->s - b] = 0;
    char *e;
    errno = 0;
    long long x = strtoll(tmp, &e, 10);
    if (*e || errno || !strcmp(tmp, "-")) return bad(r, "a range bound that is not a 64-bit integer");
    *v = x;
    if (r->s >= r->end || *r->s != '_') return bad(r, "a range bound not followed by '_'");
    return CDC_OK;
}

static int item(rd *r, const cdc_allocator *a, cdc__sp_item *it)
{
    int rc = bound(r, &it->has_lo, &it->lo);
    if (rc) return rc;
    if (r->s >= r->end || *r->s != '_') return bad(r, "an item without '_' after its low bound");
    r->s++;
    if ((rc = bound(r, &it->has_hi, &it->hi))) return rc;
    if (r->s >= r->end || *r->s != '_') return bad(r, "an item without '_' after its high bound");
    r->s++;
    if (it->has_lo && it->has_hi && it->lo >= it->hi) return bad(r, "an empty range");
    if (r->s >= r->end) return bad(r, "an item without a state");
    char c = *r->s++;
    if (c == '-') {
        it->state = CDC__SP_TODO;
        return CDC_OK;
    }
    if (c == '+') {
        it->state = CDC__SP_DONE;
        return CDC_OK;
    }
    if (c != 'k') return bad(r, "an item state that is not '-', '+' or 'k'");
    it->state = CDC__SP_AFTER;
    for (;;) {
        const uint8_t *p = NULL;
        size_t n = 0;
        if ((rc = esc(r, &p, &n))) return rc;
        cdc_bytes *k = cdc__realloc(a, it->key, (it->nkey + 1) * sizeof *k);
        if (!k) return CDC_ERR_NOMEM;
        it->key = k;
        /* the store is rebased after parsing: keep offsets for now */
        k[it->nkey++] = (cdc_bytes){(const uint8_t *)(uintptr_t)(p - r->store), n};
        if (r->s < r->end && *r->s == '.') {
            r->s++;
            continue;
        }
        return CDC_OK;
    }
}

int cdc__snapprog_parse(cdc__snapprog *p, const char *text, size_t len, const cdc_allocator *a, cdc__err *err)
{
    memset(p, 0, sizeof *p);
    p->a = cdc__allocator(a);
    rd r = {.s = text, .end = text + len, .start = text, .err = err};
    if (!len) return cdc__err_set(err, CDC_ERR_INVALID, "checkpoint: snap is empty (leave the field out)");
    if (!(p->store = cdc__malloc(p->a, len))) return CDC_ERR_NOMEM;
    r.store = p->store;
    int rc = CDC_OK;
    size_t cap = 0;
    while (!rc) {
        if (p->n == cap) {
            cap = cap ? 2 * cap : 8;
            cdc__sp_table *n = cdc__realloc(p->a, p->t, cap * sizeof *n);
            if (!n) return CDC_ERR_NOMEM;
            p->t = n;
        }
        cdc__sp_table *t = &p->t[p->n++];
        memset(t, 0, sizeof *t);
        if ((rc = name(&r, p->a, &t->db))) break;
        if (r.s >= r.end || *r.s != '.') {
            rc = bad(&r, "a table without '.' between database and table");
            break;
        }
        r.s++;
        if ((rc = name(&r, p->a, &t->name))) break;
        for (size_t i = 0; i + 1 < p->n; i++)
            if (!strcmp(p->t[i].db, t->db) && !strcmp(p->t[i].name, t->name)) rc = bad(&r, "a table listed twice");
        if (rc) break;
        size_t icap = 0;
        while (!rc && r.s < r.end && *r.s == '~') {
            r.s++;
            if (t->nitems == icap) {
                icap = icap ? 2 * icap : 4;
                cdc__sp_item *n = cdc__realloc(p->a, t->items, icap * sizeof *n);
                if (!n) return CDC_ERR_NOMEM;
                t->items = n;
            }
            cdc__sp_item *it = &t->items[t->nitems++];
            memset(it, 0, sizeof *it);
            rc = item(&r, p->a, it);
        }
        if (rc) break;
        t->done = t->nitems == 0;
        if (t->nitems > 1) {
            /* ranges of one split: exactly one open at each end, none overlapping */
            for (size_t i = 0; i < t->nitems && !rc; i++) {
                const cdc__sp_item *it = &t->items[i];
                if (!it->has_lo && !it->has_hi) rc = bad(&r, "an unbounded item among several");
            }
        }
        if (rc) break;
        if (r.s >= r.end) break;
        if (*r.s != ',') {
            rc = bad(&r, "an unexpected character");
            break;
        }
        r.s++;
    }
    if (rc) return rc;
    for (size_t i = 0; i < p->n; i++)
        for (size_t j = 0; j < p->t[i].nitems; j++)
            for (size_t k = 0; k < p->t[i].items[j].nkey; k++)
                p->t[i].items[j].key[k].ptr = p->store + (uintptr_t)p->t[i].items[j].key[k].ptr;
    return CDC_OK;
}
