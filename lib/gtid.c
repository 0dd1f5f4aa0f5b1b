/*
 * gtid.c: GTID events, GTID text forms and GTID sets. See gtid.h.
 */
#include "gtid.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

uint64_t cdc__rd_varlen(cdc__reader *r)
{
    const uint8_t *p = cdc__rd_take(r, 1);
    if (!p) return 0;
    unsigned ones = 0;
    while (ones < 8 && (p[0] >> ones) & 1) ones++;
    if (ones == 8) return cdc__rd_u64(r);
    if (ones == 0) return p[0] >> 1;
    const uint8_t *q = cdc__rd_take(r, ones);
    if (!q) return 0;
    uint64_t v = p[0];
    for (unsigned i = 0; i < ones; i++) v |= (uint64_t)q[i] << (8 * (i + 1));
    return v >> (ones + 1);
}

static int64_t rd_varlen_signed(cdc__reader *r)
{
    uint64_t u = cdc__rd_varlen(r);
    return (u & 1) ? -(int64_t)(u >> 1) - 1 : (int64_t)(u >> 1);
}

static bool tag_ok(const uint8_t *p, size_t n)
{
    if (n == 0 || n > CDC__GTID_TAG_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum(p[i]) || p[i] == '_')) return false;
    return !isdigit(p[0]);
}

/* GTID_TAGGED: a serialization-library message: version byte, payload
 * size, last non-ignorable field id, then (field id, value) pairs. */
static int tagged_parse(const uint8_t *body, size_t len, cdc__gtid_ev *out, cdc__err *err)
{
    cdc__reader r = cdc__rd(body, len);
    uint8_t version = cdc__rd_u8(&r);
    uint64_t size = cdc__rd_varlen(&r);
    uint64_t last_required = cdc__rd_varlen(&r);
    if (r.bad || size > len || size < r.off)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "GTID_TAGGED: bad message size %" PRIu64
                            " in a %zu-byte body", size, len);
    if (version < 1)
        return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "GTID_TAGGED: serialization version %u",
                            version);
    r.len = (size_t)size;
    bool have_tag = false;
    while (cdc__rd_left(&r) > 0 && !r.bad) {
        uint64_t id = cdc__rd_varlen(&r);
        switch (id) {
        case 0: out->flags = (uint8_t)cdc__rd_varlen(&r); break;
        case 1:
            for (int i = 0; i < 16; i++) out->gtid.uuid[i] = (uint8_t)cdc__rd_varlen(&r);
            break;
        case 2: out->gtid.gno = (uint64_t)rd_varlen_signed(&r); break;
        case 3: {
            uint64_t n = cdc__rd_varlen(&r);
            const uint8_t *t = n <= CDC__GTID_TAG_MAX ? cdc__rd_take(&r, (size_t)n) : NULL;
            if (!t || !tag_ok(t, (size_t)n))
                return cdc__err_set(err, CDC_ERR_CORRUPT, "GTID_TAGGED: bad tag");
            memcpy(out->gtid.tag, t, (size_t)n);
            out->gtid.tag[n] = 0;
            have_tag = true;
            break;
        }
        case 4: out->last_committed = (uint64_t)rd_varlen_signed(&r); break;
        case 5: out->sequence_number = (uint64_t)rd_varlen_signed(&r); break;
        case 6: out->immediate_commit_us = cdc__rd_varlen(&r); break;
        case 7: out->original_commit_us = cdc__rd_varlen(&r); break;
        case 8: out->transaction_length = cdc__rd_varlen(&r); break;
        case 9: case 10: case 11: cdc__rd_varlen(&r); break;
        default:
            if (id <= last_required)
                return cdc__err_set(err, CDC_ERR_UNSUPPORTED,
                                    "GTID_TAGGED: unknown required field %" PRIu64, id);
            r.off = r.len; /* optional fields we do not know end the parse */
        }
    }
    if (r.bad) return cdc__err_set(err, CDC_ERR_CORRUPT, "GTID_TAGGED: truncated field");
    if (!have_tag) return cdc__err_set(err, CDC_ERR_CORRUPT, "GTID_TAGGED: no tag");
    return CDC_OK;
}

int cdc__gtid_ev_parse(int type, const uint8_t *body, size_t len, cdc__gtid_ev *out,
                       cdc__err *err)
{
    memset(out, 0, sizeof *out);
    out->gtid.kind = CDC__GTID_MYSQL;
    if (type == 42) return tagged_parse(body, len, out, err);
    out->anonymous = type == 34;
    cdc__reader r = cdc__rd(body, len);
    out->flags = cdc__rd_u8(&r);
    const uint8_t *sid = cdc__rd_take(&r, 16);
    out->gtid.gno = cdc__rd_u64(&r);
    if (r.bad)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "GTID: %zu-byte body, need 25", len);
    memcpy(out->gtid.uuid, sid, 16);
    if (cdc__rd_left(&r) >= 17 && cdc__rd_ptr(&r)[0] == 2) { /* logical clock, 5.7.5+ */
        cdc__rd_skip(&r, 1);
        out->last_committed = cdc__rd_u64(&r);
        out->sequence_number = cdc__rd_u64(&r);
        if (cdc__rd_left(&r) >= 7) {
            uint64_t ts = cdc__rd_u48(&r) | ((uint64_t)cdc__rd_u8(&r) << 48);
            if (ts & (1ull << 55)) {
                ts &= ~(1ull << 55);
                out->original_commit_us = cdc__rd_u48(&r) | ((uint64_t)cdc__rd_u8(&r) << 48);
            } else {
                out->original_commit_us = ts;
            }
            out->immediate_commit_us = ts;
            if (cdc__rd_left(&r) > 0) out->transaction_length = cdc__rd_lenenc(&r, NULL);
        }
    }
    if (r.bad) return cdc__err_set(err, CDC_ERR_CORRUPT, "GTID: truncated optional fields");
    if (out->anonymous) out->gtid.kind = CDC__GTID_NONE;
    return CDC_OK;
}

int cdc__maria_gtid_ev_parse(const uint8_t *body, size_t len, uint32_t server_id,
                             cdc__maria_gtid_ev *out, cdc__err *err)
{
    memset(out, 0, sizeof *out);
    cdc__reader r = cdc__rd(body, len);
    out->gtid.kind = CDC__GTID_MARIADB;
    out->gtid.seq = cdc__rd_u64(&r);
    out->gtid.domain = cdc__rd_u32(&r);
    out->gtid.server_id = server_id;
    out->flags = cdc__rd_u8(&r);
    if (r.bad)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "MARIA_GTID: %zu-byte body, need 13", len);
    if (out->flags & 2) {
        out->commit_id = cdc__rd_u64(&r);
    } else if (out->flags & (CDC__MARIA_FL_PREPARED_XA | CDC__MARIA_FL_COMPLETED_XA)) {
        out->xa_format_id = cdc__rd_u32(&r);
        uint8_t gl = cdc__rd_u8(&r), bl = cdc__rd_u8(&r);
        if (gl > 64 || bl > 64)
            return cdc__err_set(err, CDC_ERR_CORRUPT, "MARIA_GTID: XA id lengths %u+%u > 64+64",
                                gl, bl);
        out->xa_gtrid.len = gl;
        out->xa_gtrid.ptr = cdc__rd_take(&r, gl);
        out->xa_bqual.len = bl;
        out->xa_bqual.ptr = cdc__rd_take(&r, bl);
    }
    if (r.bad) return cdc__err_set(err, CDC_ERR_CORRUPT, "MARIA_GTID: truncated (%zu bytes)", len);
    return CDC_OK;
}

void cdc__uuid_format(const uint8_t u[16], char out[37])
{
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hx[u[i] >> 4];
        out[o++] = hx[u[i] & 15];
    }
    out[o] = 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool cdc__uuid_parse(const char *s, size_t n, uint8_t u[16])
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '-') {
            if (!(i == 8 || i == 13 || i == 18 || i == 23)) return false;
            continue;
        }
        int a = hexval((unsigned char)s[i]), b = i + 1 < n ? hexval((unsigned char)s[i + 1]) : -1;
        if (a < 0 || b < 0 || k >= 16) return false;
        u[k++] = (uint8_t)(a << 4 | b);
        i++;
    }
    return k == 16;
}

/* Decimal digits of v at o, returning the end (snprintf's %PRIu64 costs
 * some 1,400 instructions, paid at every GTID event). */
static char *put_u64(char *o, uint64_t v)
{
    char d[20];
    size_t k = 0;
    do {
        d[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k) *o++ = d[--k];
    return o;
}

size_t cdc__gtid_format(const cdc__gtid *g, char *buf, size_t n)
{
    if (n == 0) return 0;
    char t[36 + 1 + CDC__GTID_TAG_MAX + 1 + 20], *o = t;
    if (g->kind == CDC__GTID_MYSQL) {
        char u[37];
        cdc__uuid_format(g->uuid, u);
        memcpy(o, u, 36);
        o += 36;
        *o++ = ':';
        size_t tl = strnlen(g->tag, CDC__GTID_TAG_MAX);
        if (tl) {
            memcpy(o, g->tag, tl);
            o += tl;
            *o++ = ':';
        }
        o = put_u64(o, g->gno);
    } else if (g->kind == CDC__GTID_MARIADB) {
        o = put_u64(o, g->domain);
        *o++ = '-';
        o = put_u64(o, g->server_id);
        *o++ = '-';
        o = put_u64(o, g->seq);
    }
    size_t w = (size_t)(o - t);
    if (w > n - 1) w = n - 1; /* cut, as snprintf cuts */
    memcpy(buf, t, w);
    buf[w] = 0;
    return w;
}

/* ---- sets ------------------------------------------------------------- */

void cdc__gtid_set_init(cdc__gtid_set *s, const cdc_allocator *a)
{
    memset(s, 0, sizeof *s);
    s->alloc = cdc__allocator(a);
}

void cdc__gtid_set_clear(cdc__gtid_set *s)
{
    for (size_t i = 0; i < s->n_sids; i++) cdc__free(s->alloc, s->sids[i].iv);
    s->n_sids = 0;
    s->n_maria = 0;
}

void cdc__gtid_set_free(cdc__gtid_set *s)
{
    cdc__gtid_set_clear(s);
    cdc__free(s->alloc, s->sids);
    cdc__free(s->alloc, s->maria);
    s->sids = NULL;
    s->maria = NULL;
    s->cap_sids = s->cap_maria = 0;
}

static int grow(const cdc_allocator *a, void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return CDC_OK;
    size_t nc = *cap ? *cap * 2 : 4;
    while (nc < need) nc *= 2;
    void *q = cdc__realloc(a, *p, nc * elem);
    if (!q) return CDC_ERR_NOMEM;
    *p = q;
    *cap = nc;
    return CDC_OK;
}

static int sid_cmp(const cdc__gtid_sid *x, const uint8_t uuid[16], const char *tag)
{
    int c = memcmp(x->uuid, uuid, 16);
    return c ? c : strcmp(x->tag, tag);
}

int cdc__gtid_set_add_interval(cdc__gtid_set *s, const uint8_t uuid[16], const char *tag,
                               uint64_t start, uint64_t end)
{
    if (start >= end) return CDC_OK;
    if (!tag) tag = "";
    if (strlen(tag) > CDC__GTID_TAG_MAX) return CDC_ERR_INVALID;
    size_t i = 0;
    while (i < s->n_sids && sid_cmp(&s->sids[i], uuid, tag) < 0) i++;
    if (i == s->n_sids || sid_cmp(&s->sids[i], uuid, tag) != 0) {
        if (grow(s->alloc, (void **)&s->sids, &s->cap_sids, s->n_sids + 1, sizeof *s->sids))
            return CDC_ERR_NOMEM;
        memmove(&s->sids[i + 1], &s->sids[i], (s->n_sids - i) * sizeof *s->sids);
        memset(&s->sids[i], 0, sizeof s->sids[i]);
        memcpy(s->sids[i].uuid, uuid, 16);
        strcpy(s->sids[i].tag, tag);
        s->n_sids++;
    }
    cdc__gtid_sid *sd = &s->sids[i];
    /* find the first interval that ends at or after start (touching merges) */
    size_t j = 0;
    while (j < sd->n_iv && sd->iv[j].end < start) j++;
    size_t k = j;
    while (k < sd->n_iv && sd->iv[k].start <= end) {
        if (sd->iv[k].start < start) start = sd->iv[k].start;
        if (sd->iv[k].end > end) end = sd->iv[k].end;
        k++;
    }
    if (k == j) { /* insert */
        if (grow(s->alloc, (void **)&sd->iv, &sd->cap_iv, sd->n_iv + 1, sizeof *sd->iv))
            return CDC_ERR_NOMEM;
        memmove(&sd->iv[j + 1], &sd->iv[j], (sd->n_iv - j) * sizeof *sd->iv);
        sd->n_iv++;
    } else if (k > j + 1) { /* merged several into one */
        memmove(&sd->iv[j + 1], &sd->iv[k], (sd->n_iv - k) * sizeof *sd->iv);
        sd->n_iv -= k - j - 1;
    }
    sd->iv[j].start = start;
    sd->iv[j].end = end;
    return CDC_OK;
}

int cdc__gtid_set_add(cdc__gtid_set *s, const cdc__gtid *g)
{
    if (g->kind == CDC__GTID_MYSQL) {
        if (g->gno == UINT64_MAX) return CDC_ERR_INVALID;
        return cdc__gtid_set_add_interval(s, g->uuid, g->tag, g->gno, g->gno + 1);
    }
    if (g->kind != CDC__GTID_MARIADB) return CDC_OK;
    for (size_t i = 0; i < s->n_maria; i++) {
        cdc__gtid *m = &s->maria[i];
        if (m->domain == g->domain && m->server_id == g->server_id) {
            if (g->seq > m->seq) m->seq = g->seq;
            return CDC_OK;
        }
    }
    if (grow(s->alloc, (void **)&s->maria, &s->cap_maria, s->n_maria + 1, sizeof *s->maria))
        return CDC_ERR_NOMEM;
    s->maria[s->n_maria++] = *g;
    return CDC_OK;
}

bool cdc__gtid_set_contains(const cdc__gtid_set *s, const cdc__gtid *g)
{
    if (g->kind == CDC__GTID_MYSQL) {
        for (size_t i = 0; i < s->n_sids; i++) {
            const cdc__gtid_sid *sd = &s->sids[i];
            if (sid_cmp(sd, g->uuid, g->tag) != 0) continue;
            for (size_t j = 0; j < sd->n_iv; j++)
                if (g->gno >= sd->iv[j].start && g->gno < sd->iv[j].end) return true;
            return false;
        }
        return false;
    }
    if (g->kind == CDC__GTID_MARIADB) {
        for (size_t i = 0; i < s->n_maria; i++)
            if (s->maria[i].domain == g->domain && g->seq <= s->maria[i].seq) return true;
    }
    return false;
}

bool cdc__gtid_set_is_subset(const cdc__gtid_set *sub, const cdc__gtid_set *set)
{
    for (size_t i = 0; i < sub->n_sids; i++) {
        const cdc__gtid_sid *a = &sub->sids[i];
        const cdc__gtid_sid *b = NULL;
        for (size_t j = 0; j < set->n_sids; j++)
            if (!memcmp(set->sids[j].uuid, a->uuid, 16) && !strcmp(set->sids[j].tag, a->tag)) b = &set->sids[j];
        for (size_t k = 0; k < a->n_iv; k++) {
            bool in = false;
            for (size_t j = 0; b && j < b->n_iv && !in; j++)
                in = b->iv[j].start <= a->iv[k].start && a->iv[k].end <= b->iv[j].end;
            if (!in) return false;
        }
    }
    for (size_t i = 0; i < sub->n_maria; i++)
        if (!cdc__gtid_set_contains(set, &sub->maria[i])) return false;
    return true;
}

int cdc__gtid_set_format(const cdc__gtid_set *s, cdc__buf *out)
{
    int rc = CDC_OK;
    bool first = true;
    for (size_t i = 0; i < s->n_sids && rc == CDC_OK; i++) {
        const cdc__gtid_sid *sd = &s->sids[i];
        bool same_uuid = i > 0 && memcmp(s->sids[i - 1].uuid, sd->uuid, 16) == 0;
        if (!same_uuid) {
            char u[37];
            cdc__uuid_format(sd->uuid, u);
            if (!first) rc |= cdc__buf_putc(out, ',');
            rc |= cdc__buf_puts(out, u);
        }
        first = false;
        if (sd->tag[0]) rc |= cdc__buf_printf(out, ":%s", sd->tag);
        for (size_t j = 0; j < sd->n_iv; j++) {
            if (sd->iv[j].end == sd->iv[j].start + 1)
                rc |= cdc__buf_printf(out, ":%" PRIu64, sd->iv[j].start);
            else
                rc |= cdc__buf_printf(out, ":%" PRIu64 "-%" PRIu64, sd->iv[j].start,
                                      sd->iv[j].end - 1);
        }
    }
    for (size_t i = 0; i < s->n_maria && rc == CDC_OK; i++) {
        if (!first) rc |= cdc__buf_putc(out, ',');
        first = false;
        rc |= cdc__buf_printf(out, "%" PRIu32 "-%" PRIu32 "-%" PRIu64, s->maria[i].domain,
                              s->maria[i].server_id, s->maria[i].seq);
    }
    return rc ? CDC_ERR_NOMEM : CDC_OK;
}

/* One comma-separated item: "uuid(:tag|:n|:a-b)*" or "d-s-n". */
static int parse_item(cdc__gtid_set *s, const char *p, size_t n, cdc__err *err)
{
    const char *colon = memchr(p, ':', n);
    if (!colon) {
        cdc__gtid g = {.kind = CDC__GTID_MARIADB};
        const char *d1 = memchr(p, '-', n);
        const char *d2 = d1 ? memchr(d1 + 1, '-', (size_t)(p + n - d1 - 1)) : NULL;
        uint64_t a, b;
        if (!d1 || !d2 || !cdc__parse_u64(p, (size_t)(d1 - p), &a) ||
            !cdc__parse_u64(d1 + 1, (size_t)(d2 - d1 - 1), &b) ||
            !cdc__parse_u64(d2 + 1, (size_t)(p + n - d2 - 1), &g.seq) || a > UINT32_MAX ||
            b > UINT32_MAX)
            return cdc__err_set(err, CDC_ERR_INVALID, "GTID set: bad item '%.*s'", (int)n, p);
        g.domain = (uint32_t)a;
        g.server_id = (uint32_t)b;
        return cdc__gtid_set_add(s, &g);
    }
    uint8_t uuid[16];
    if (!cdc__uuid_parse(p, (size_t)(colon - p), uuid))
        return cdc__err_set(err, CDC_ERR_INVALID, "GTID set: bad UUID in '%.*s'", (int)n, p);
    char tag[CDC__GTID_TAG_MAX + 1] = "";
    const char *q = colon + 1, *end = p + n;
    while (q <= end) {
        const char *e = memchr(q, ':', (size_t)(end - q));
        if (!e) e = end;
        size_t len = (size_t)(e - q);
        if (len && !isdigit((unsigned char)q[0])) {
            if (!tag_ok((const uint8_t *)q, len))
                return cdc__err_set(err, CDC_ERR_INVALID, "GTID set: bad tag '%.*s'", (int)len, q);
            memcpy(tag, q, len);
            tag[len] = 0;
        } else {
            const char *dash = memchr(q, '-', len);
            uint64_t a, b;
            bool ok = dash ? cdc__parse_u64(q, (size_t)(dash - q), &a) &&
                                 cdc__parse_u64(dash + 1, (size_t)(e - dash - 1), &b)
                           : cdc__parse_u64(q, len, &a) && (b = a, true);
            if (!ok || a == 0 || b < a || b == UINT64_MAX)
                return cdc__err_set(err, CDC_ERR_INVALID, "GTID set: bad interval '%.*s'",
                                    (int)len, q);
            if (cdc__gtid_set_add_interval(s, uuid, tag, a, b + 1)) return CDC_ERR_NOMEM;
        }
        q = e + 1;
    }
    return CDC_OK;
}

int cdc__gtid_set_parse(cdc__gtid_set *s, const char *text, size_t n, cdc__err *err)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && text[j] != ',') j++;
        size_t a = i, b = j;
        while (a < b && isspace((unsigned char)text[a])) a++;
        while (b > a && isspace((unsigned char)text[b - 1])) b--;
        if (b > a) {
            int rc = parse_item(s, text + a, b - a, err);
            if (rc) return rc;
        }
        i = j + 1;
    }
    return CDC_OK;
}

int cdc__gtid_set_parse_previous(cdc__gtid_set *s, const uint8_t *body, size_t len,
                                 cdc__err *err)
{
    cdc__reader r = cdc__rd(body, len);
    uint64_t head = cdc__rd_u64(&r);
    bool tagged = (head >> 56) == 1;
    uint64_t n = tagged ? (head >> 8) & 0xffffffffffffull : head;
    if (r.bad || n > len / 16)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "PREVIOUS_GTIDS: bad SID count %" PRIu64, n);
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *uuid = cdc__rd_take(&r, 16);
        char tag[CDC__GTID_TAG_MAX + 1] = "";
        if (tagged) {
            uint64_t tl = cdc__rd_varlen(&r);
            const uint8_t *t = tl <= CDC__GTID_TAG_MAX ? cdc__rd_take(&r, (size_t)tl) : NULL;
            if (!t || (tl && !tag_ok(t, (size_t)tl)))
                return cdc__err_set(err, CDC_ERR_CORRUPT, "PREVIOUS_GTIDS: bad tag");
            memcpy(tag, t, (size_t)tl);
            tag[tl] = 0;
        }
        uint64_t niv = cdc__rd_u64(&r);
        if (r.bad || niv > cdc__rd_left(&r) / 16)
            return cdc__err_set(err, CDC_ERR_CORRUPT,
                                "PREVIOUS_GTIDS: SID %" PRIu64 " truncated", i);
        for (uint64_t j = 0; j < niv; j++) {
            uint64_t a = cdc__rd_u64(&r), b = cdc__rd_u64(&r);
            if (a == 0 || b <= a)
                return cdc__err_set(err, CDC_ERR_CORRUPT,
                                    "PREVIOUS_GTIDS: bad interval [%" PRIu64 ",%" PRIu64 ")", a, b);
            if (cdc__gtid_set_add_interval(s, uuid, tag, a, b))
                return cdc__err_set(err, CDC_ERR_NOMEM, "PREVIOUS_GTIDS: out of memory");
        }
    }
    return CDC_OK;
}

int cdc__gtid_set_parse_maria_list(cdc__gtid_set *s, const uint8_t *body, size_t len,
                                   cdc__err *err)
{
    cdc__reader r = cdc__rd(body, len);
    uint32_t n = cdc__rd_u32(&r) & 0x0fffffff; /* top 4 bits are flags */
    if (r.bad || n > len / 16)
        return cdc__err_set(err, CDC_ERR_CORRUPT, "GTID_LIST: bad count %" PRIu32, n);
    for (uint32_t i = 0; i < n; i++) {
        cdc__gtid g = {.kind = CDC__GTID_MARIADB};
        g.domain = cdc__rd_u32(&r);
        g.server_id = cdc__rd_u32(&r);
        g.seq = cdc__rd_u64(&r);
        if (r.bad) return cdc__err_set(err, CDC_ERR_CORRUPT, "GTID_LIST: entry %u truncated", i);
        if (cdc__gtid_set_add(s, &g))
            return cdc__err_set(err, CDC_ERR_NOMEM, "GTID_LIST: out of memory");
    }
    return CDC_OK;
}
