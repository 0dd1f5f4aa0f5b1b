/* util.c: allocation, error records, buffers and the byte reader. */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static void *libc_malloc(size_t n, void *ud) { (void)ud; return malloc(n); }
static void *libc_realloc(void *p, size_t n, void *ud) { (void)ud; return realloc(p, n); }
static void libc_free(void *p, void *ud) { (void)ud; free(p); }

static const cdc_allocator libc_allocator = {libc_malloc, libc_realloc, libc_free, NULL};

const cdc_allocator *cdc__allocator(const cdc_allocator *a) { return a ? a : &libc_allocator; }

void *cdc__malloc(const cdc_allocator *a, size_t n)
{
    a = cdc__allocator(a);
    return a->malloc(n ? n : 1, a->ud);
}

void *cdc__malloc_huge(const cdc_allocator *a, size_t n)
{
    if (cdc__allocator(a) != &libc_allocator || !n || n % CDC__HUGE_PAGE) return cdc__malloc(a, n);
    void *p = NULL;
    if (posix_memalign(&p, CDC__HUGE_PAGE, n)) return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, n, MADV_HUGEPAGE); /* advice: a refusal leaves 4 KiB pages */
#endif
    return p;
}

void *cdc__calloc(const cdc_allocator *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    void *p = cdc__malloc(a, count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void *cdc__realloc(const cdc_allocator *a, void *p, size_t n)
{
    a = cdc__allocator(a);
    return a->realloc(p, n ? n : 1, a->ud);
}

void cdc__free(const cdc_allocator *a, void *p)
{
    if (!p) return;
    a = cdc__allocator(a);
    a->free(p, a->ud);
}

char *cdc__strndup(const cdc_allocator *a, const char *s, size_t n)
{
    if (n == SIZE_MAX) return NULL;
    char *d = cdc__malloc(a, n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = 0;
    return d;
}

int cdc__err_vset(cdc__err *err, int code, const char *fmt, va_list ap)
{
    if (!err) return code;
    err->code = code;
    err->server_errno = 0;
    err->sqlstate[0] = 0;
    if (vsnprintf(err->msg, sizeof err->msg, fmt, ap) < 0) err->msg[0] = 0;
    return code;
}

int cdc__err_set(cdc__err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cdc__err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void cdc__err_prefix(cdc__err *err, const char *fmt, ...)
{
    if (!err) return;
    char head[CDC__ERRMSG_MAX], old[CDC__ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    memcpy(old, err->msg, sizeof old);
    /* Assembled by hand: snprintf("%s: %s") draws a truncation warning. */
    size_t hl = strnlen(head, sizeof head - 1), ol = strnlen(old, sizeof old - 1), cap = sizeof err->msg - 1;
    size_t k = hl < cap ? hl : cap;
    memcpy(err->msg, head, k);
    if (k + 2 <= cap) {
        memcpy(err->msg + k, ": ", 2);
        k += 2;
        size_t m = ol < cap - k ? ol : cap - k;
        memcpy(err->msg + k, old, m);
        k += m;
    }
    err->msg[k] = 0;
}

void cdc__err_clear(cdc__err *err)
{
    if (!err) return;
    err->code = CDC_OK;
    err->server_errno = 0;
    err->sqlstate[0] = 0;
    err->msg[0] = 0;
}

void cdc__err_copy_out(const cdc__err *err, char *buf, size_t buflen)
{
    if (!buf || !buflen) return;
    snprintf(buf, buflen, "%s", err && err->msg[0] ? err->msg : (err ? cdc_strerror(err->code) : ""));
}

void cdc__buf_init(cdc__buf *b, const cdc_allocator *a)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->alloc = cdc__allocator(a);
}

void cdc__buf_free(cdc__buf *b)
{
    cdc__free(b->alloc, b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int cdc__buf_reserve(cdc__buf *b, size_t extra)
{
    if (extra <= b->cap - b->len) return CDC_OK;
    if (extra > SIZE_MAX / 2 - b->len) return CDC_ERR_NOMEM;
    size_t want = b->len + extra, cap = b->cap ? b->cap : 64;
    while (cap < want) cap *= 2;
    uint8_t *p = cdc__realloc(b->alloc, b->data, cap);
    if (!p) return CDC_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return CDC_OK;
}

int cdc__buf_append(cdc__buf *b, const void *p, size_t n)
{
    if (!n) return CDC_OK;
    int rc = cdc__buf_reserve(b, n);
    if (rc) return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return CDC_OK;
}

int cdc__buf_putc(cdc__buf *b, uint8_t c)
{
    if (b->len == b->cap) {
        int rc = cdc__buf_reserve(b, 1);
        if (rc) return rc;
    }
    b->data[b->len++] = c;
    return CDC_OK;
}

int cdc__buf_puts(cdc__buf *b, const char *s) { return cdc__buf_append(b, s, strlen(s)); }

int cdc__buf_printf(cdc__buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[128];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return CDC_ERR_INVALID;
    if ((size_t)n < sizeof small) return cdc__buf_append(b, small, (size_t)n);
    int rc = cdc__buf_reserve(b, (size_t)n + 1);
    if (rc) return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return CDC_OK;
}

int cdc__buf_terminate(cdc__buf *b)
{
    int rc = cdc__buf_reserve(b, 1);
    if (rc) return rc;
    b->data[b->len] = 0;
    return CDC_OK;
}

uint64_t cdc__rd_lenenc(cdc__reader *r, bool *is_null)
{
    if (is_null) *is_null = false;
    uint8_t first = cdc__rd_u8(r);
    if (r->bad) return 0;
    if (first < 0xfb) return first;
    switch (first) {
    case 0xfb:
        if (is_null) { *is_null = true; return 0; }
        r->bad = true;
        return 0;
    case 0xfc: return cdc__rd_u16(r);
    case 0xfd: return cdc__rd_u24(r);
    case 0xfe: return cdc__rd_u64(r);
    default: r->bad = true; return 0; /* 0xff starts an error packet, never a number */
    }
}

cdc_bytes cdc__rd_lenenc_bytes(cdc__reader *r, bool *is_null)
{
    bool null = false;
    uint64_t n = cdc__rd_lenenc(r, is_null ? &null : NULL);
    if (is_null) *is_null = null;
    if (r->bad || null) return (cdc_bytes){NULL, 0};
    if (n > cdc__rd_left(r)) { r->bad = true; r->off = r->len; return (cdc_bytes){NULL, 0}; }
    const uint8_t *p = cdc__rd_take(r, (size_t)n);
    return (cdc_bytes){p, (size_t)n};
}

cdc_bytes cdc__rd_cstr(cdc__reader *r)
{
    if (r->bad) return (cdc_bytes){NULL, 0};
    const uint8_t *start = r->p + r->off;
    const uint8_t *nul = memchr(start, 0, r->len - r->off);
    if (!nul) { r->bad = true; r->off = r->len; return (cdc_bytes){NULL, 0}; }
    size_t n = (size_t)(nul - start);
    r->off += n + 1;
    return (cdc_bytes){start, n};
}

cdc_bytes cdc__rd_rest(cdc__reader *r)
{
    if (r->bad) return (cdc_bytes){NULL, 0};
    cdc_bytes v = {r->p + r->off, r->len - r->off};
    r->off = r->len;
    return v;
}

size_t cdc__lenenc_put(uint8_t *out, uint64_t v)
{
    if (v < 0xfb) { out[0] = (uint8_t)v; return 1; }
    if (v <= 0xffff) { out[0] = 0xfc; cdc__put_le16(out + 1, (uint16_t)v); return 3; }
    if (v <= 0xffffff) { out[0] = 0xfd; cdc__put_le24(out + 1, (uint32_t)v); return 4; }
    out[0] = 0xfe;
    cdc__put_le64(out + 1, v);
    return 9;
}

int64_t cdc__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cdc__wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool cdc__parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20) return false;
    uint64_t v = 0;
    /* 19 digits never overflow (10^19 - 1 < 2^64): no division per digit
     * on the snapshot's hot path, the check only for a 20th digit */
    size_t fast = n < 19 ? n : 19;
    for (size_t i = 0; i < fast; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9) return false;
        v = v * 10 + d;
    }
    if (n == 20) {
        unsigned d = (unsigned)(s[19] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}
