/*
 * util.h: what every module of libcdc uses: allocation through the
 * handle's allocator, the error record, growable buffers and a bounds-
 * checked reader of little-endian wire bytes. Internal; not installed.
 */
#ifndef CDC_UTIL_H
#define CDC_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cdc/common.h>

#define CDC__INTERNAL __attribute__((visibility("hidden")))

#if defined(__GNUC__)
#define CDC__PRINTF(f, a) __attribute__((format(printf, f, a)))
#define CDC__LIKELY(x) __builtin_expect(!!(x), 1)
#define CDC__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define CDC__PRINTF(f, a)
#define CDC__LIKELY(x) (x)
#define CDC__UNLIKELY(x) (x)
#endif

/* ---- allocation ---------------------------------------------------- */

/* The allocator a handle was made with; NULL input gives libc's. */
const cdc_allocator *cdc__allocator(const cdc_allocator *a);
void *cdc__malloc(const cdc_allocator *a, size_t n);
/* n bytes (a multiple of CDC__HUGE_PAGE) for a large buffer filled again
 * and again: with libc's allocator, aligned to and advised as transparent
 * huge pages, so that its first filling costs one page fault and not 512
 * (7 us each on the PVM machines of docs/performance.md); with another
 * allocator, its malloc. Freed, grown and shrunk as any cdc__malloc block. */
#define CDC__HUGE_PAGE ((size_t)2 << 20)
void *cdc__malloc_huge(const cdc_allocator *a, size_t n);
void *cdc__calloc(const cdc_allocator *a, size_t count, size_t size);
void *cdc__realloc(const cdc_allocator *a, void *p, size_t n);
void cdc__free(const cdc_allocator *a, void *p);
/* Copy of s[0..n) with a NUL appended; NULL when out of memory. */
char *cdc__strndup(const cdc_allocator *a, const char *s, size_t n);

/* ---- errors ------------------------------------------------------- */

#define CDC__ERRMSG_MAX 512

/*
 * The error record each handle keeps. `msg` says where and what
 * ("binlog.000042:1337 WRITE_ROWS shop.orders column 3: need 5 bytes,
 * 2 left"). Server errors keep their MySQL error number and SQLSTATE.
 */
typedef struct cdc__err {
    int code;             /* cdc_error, CDC_OK when clear */
    unsigned server_errno; /* MySQL/MariaDB error number, 0 if none */
    char sqlstate[6];     /* "28000"; empty if none */
    char msg[CDC__ERRMSG_MAX];
} cdc__err;

/* Records code and a formatted message; returns code so callers can
 * `return cdc__err_set(err, CDC_ERR_X, "...")`. err may be NULL. */
int cdc__err_set(cdc__err *err, int code, const char *fmt, ...) CDC__PRINTF(3, 4);
int cdc__err_vset(cdc__err *err, int code, const char *fmt, va_list ap);
/* Puts "context: " in front of the message already recorded. */
void cdc__err_prefix(cdc__err *err, const char *fmt, ...) CDC__PRINTF(2, 3);
void cdc__err_clear(cdc__err *err);
/* Copies the message into a caller's (err, errlen) buffer, if any. */
void cdc__err_copy_out(const cdc__err *err, char *buf, size_t buflen);

/* ---- growable byte buffer ---------------------------------------- */

typedef struct cdc__buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    const cdc_allocator *alloc;
} cdc__buf;

void cdc__buf_init(cdc__buf *b, const cdc_allocator *a);
void cdc__buf_free(cdc__buf *b);
static inline void cdc__buf_reset(cdc__buf *b) { b->len = 0; }
/* Makes room for `extra` more bytes; CDC_OK or CDC_ERR_NOMEM. */
int cdc__buf_reserve(cdc__buf *b, size_t extra);
int cdc__buf_append(cdc__buf *b, const void *p, size_t n);
int cdc__buf_putc(cdc__buf *b, uint8_t c);
int cdc__buf_puts(cdc__buf *b, const char *s);
int cdc__buf_printf(cdc__buf *b, const char *fmt, ...) CDC__PRINTF(2, 3);
/* Ensures data[len] == 0 without counting it; for handing out C strings. */
int cdc__buf_terminate(cdc__buf *b);

/* ---- little-endian loads and stores --------------------------------- */

static inline uint16_t cdc__le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t cdc__le24(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16); }
static inline uint32_t cdc__le32(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24); }
static inline uint64_t cdc__le48(const uint8_t *p) { return (uint64_t)cdc__le32(p) | ((uint64_t)cdc__le16(p + 4) << 32); }
static inline uint64_t cdc__le64(const uint8_t *p) { return (uint64_t)cdc__le32(p) | ((uint64_t)cdc__le32(p + 4) << 32); }
static inline uint64_t cdc__leN(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) v = (v << 8) | p[i - 1];
    return v;
}
/* Big-endian, as DECIMAL, DATETIME2, TIME2 and TIMESTAMP2 are stored. */
static inline uint64_t cdc__beN(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}
static inline void cdc__put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void cdc__put_le24(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); }
static inline void cdc__put_le32(uint8_t *p, uint32_t v) { cdc__put_le16(p, (uint16_t)v); cdc__put_le16(p + 2, (uint16_t)(v >> 16)); }
static inline void cdc__put_le64(uint8_t *p, uint64_t v) { cdc__put_le32(p, (uint32_t)v); cdc__put_le32(p + 4, (uint32_t)(v >> 32)); }

/* ---- bounds-checked reader ---------------------------------------- */

/*
 * A cursor over a byte run. Reads past the end set `bad` and return
 * zeros/empty views, so a parser can read a whole structure and check
 * once: `if (r.bad) return error;`. Nothing is copied.
 */
typedef struct cdc__reader {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool bad;
} cdc__reader;

static inline cdc__reader cdc__rd(const void *p, size_t len) { return (cdc__reader){(const uint8_t *)p, len, 0, false}; }
static inline size_t cdc__rd_left(const cdc__reader *r) { return r->len - r->off; }
static inline const uint8_t *cdc__rd_ptr(const cdc__reader *r) { return r->p + r->off; }
/* Claims n bytes and returns where they start, or NULL (and bad) if short. */
static inline const uint8_t *cdc__rd_take(cdc__reader *r, size_t n)
{
    if (r->bad || n > r->len - r->off) { r->bad = true; r->off = r->len; return NULL; }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}
static inline bool cdc__rd_skip(cdc__reader *r, size_t n) { return cdc__rd_take(r, n) != NULL; }
static inline uint8_t cdc__rd_u8(cdc__reader *r) { const uint8_t *p = cdc__rd_take(r, 1); return p ? p[0] : 0; }
static inline uint16_t cdc__rd_u16(cdc__reader *r) { const uint8_t *p = cdc__rd_take(r, 2); return p ? cdc__le16(p) : 0; }
static inline uint32_t cdc__rd_u24(cdc__reader *r) { const uint8_t *p = cdc__rd_take(r, 3); return p ? cdc__le24(p) : 0; }
static inline uint32_t cdc__rd_u32(cdc__reader *r) { const uint8_t *p = cdc__rd_take(r, 4); return p ? cdc__le32(p) : 0; }
static inline uint64_t cdc__rd_u48(cdc__reader *r) { const uint8_t *p = cdc__rd_take(r, 6); return p ? cdc__le48(p) : 0; }
static inline uint64_t cdc__rd_u64(cdc__reader *r) { const uint8_t *p = cdc__rd_take(r, 8); return p ? cdc__le64(p) : 0; }
static inline uint64_t cdc__rd_uN(cdc__reader *r, size_t n) { const uint8_t *p = cdc__rd_take(r, n); return p ? cdc__leN(p, n) : 0; }
/* Length-encoded integer of the client/server protocol (and of binlog
 * row events). Sets *is_null for the 0xfb NULL marker when is_null is
 * given; 0xff and a 0xfb without is_null make the reader bad. */
uint64_t cdc__rd_lenenc(cdc__reader *r, bool *is_null);
/* Length-encoded string: a lenenc length, then that many bytes. */
cdc_bytes cdc__rd_lenenc_bytes(cdc__reader *r, bool *is_null);
/* NUL-terminated string; the view excludes the NUL. Bad if no NUL. */
cdc_bytes cdc__rd_cstr(cdc__reader *r);
/* The rest of the input. */
cdc_bytes cdc__rd_rest(cdc__reader *r);

/* Writes a lenenc integer into out (9 bytes at most); returns its size. */
size_t cdc__lenenc_put(uint8_t *out, uint64_t v);

/* Strict decimal: n digits only (no sign, no space), no overflow. The one
 * integer parser for protocol and configuration text. */
bool cdc__parse_u64(const char *s, size_t n, uint64_t *out);

/* Milliseconds: CLOCK_MONOTONIC (intervals) and CLOCK_REALTIME (epoch). */
int64_t cdc__mono_ms(void);
int64_t cdc__wall_ms(void);

#endif /* CDC_UTIL_H */
