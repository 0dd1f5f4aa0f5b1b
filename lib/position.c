/*
 * position.c: binlog positions, their checkpoint strings and the
 * start/stop.at forms. See position.h for the checkpoint format.
 */
#include "position.h"
#include "snapprog.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

void cdc__position_init(cdc_position *p, const cdc_allocator *a)
{
    memset(p, 0, sizeof *p);
    p->alloc = cdc__allocator(a);
    cdc__buf_init(&p->file, p->alloc);
    cdc__buf_init(&p->gtid_text, p->alloc);
    cdc__buf_init(&p->snap, p->alloc);
    cdc__buf_init(&p->incr, p->alloc);
    cdc__gtid_set_init(&p->gtids, p->alloc);
}

void cdc__position_clear(cdc_position *p)
{
    cdc__buf_free(&p->file);
    cdc__buf_free(&p->gtid_text);
    cdc__buf_free(&p->snap);
    cdc__buf_free(&p->incr);
    cdc__gtid_set_free(&p->gtids);
    p->offset = 0;
    p->gtid_known = false;
}

int cdc__position_new(cdc_position **out, const cdc_allocator *a)
{
    a = cdc__allocator(a);
    cdc_position *p = cdc__malloc(a, sizeof *p);
    if (!p) return CDC_ERR_NOMEM;
    cdc__position_init(p, a);
    *out = p;
    return CDC_OK;
}

void cdc_position_free(cdc_position *p)
{
    if (!p) return;
    cdc__position_clear(p);
    cdc__free(p->alloc, p);
}

int cdc__position_set_file(cdc_position *p, const char *file, size_t len)
{
    if (file == (const char *)p->file.data) return CDC_OK;
    cdc__buf_reset(&p->file);
    if (cdc__buf_append(&p->file, file, len) || cdc__buf_terminate(&p->file)) return CDC_ERR_NOMEM;
    return CDC_OK;
}

int cdc__position_sync_text(cdc_position *p)
{
    cdc__buf_reset(&p->gtid_text);
    if (cdc__gtid_set_format(&p->gtids, &p->gtid_text) || cdc__buf_terminate(&p->gtid_text))
        return CDC_ERR_NOMEM;
    return CDC_OK;
}

/* dst |= src */
static int set_union(cdc__gtid_set *dst, const cdc__gtid_set *src)
{
    for (size_t i = 0; i < src->n_sids; i++) {
        const cdc__gtid_sid *sd = &src->sids[i];
        for (size_t j = 0; j < sd->n_iv; j++)
            if (cdc__gtid_set_add_interval(dst, sd->uuid, sd->tag, sd->iv[j].start, sd->iv[j].end))
                return CDC_ERR_NOMEM;
    }
    for (size_t i = 0; i < src->n_maria; i++)
        if (cdc__gtid_set_add(dst, &src->maria[i])) return CDC_ERR_NOMEM;
    return CDC_OK;
}

int cdc__position_set_gtids(cdc_position *p, const cdc__gtid_set *s)
{
    if (s == &p->gtids) return cdc__position_sync_text(p);
    cdc__gtid_set_clear(&p->gtids);
    if (set_union(&p->gtids, s)) return CDC_ERR_NOMEM;
    return cdc__position_sync_text(p);
}

int cdc__position_union(cdc_position *p, const cdc__gtid_set *s)
{
    if (set_union(&p->gtids, s)) return CDC_ERR_NOMEM;
    return cdc__position_sync_text(p);
}

int cdc__position_copy(cdc_position *dst, const cdc_position *src)
{
    if (dst == src) return CDC_OK;
    if (cdc__position_set_file(dst, src->file.len ? (const char *)src->file.data : "", src->file.len))
        return CDC_ERR_NOMEM;
    dst->offset = src->offset;
    dst->gtid_known = src->gtid_known;
    if (cdc__position_set_snap(dst, (const char *)src->snap.data, src->snap.len)) return CDC_ERR_NOMEM;
    if (cdc__position_set_incr(dst, (const char *)src->incr.data, src->incr.len)) return CDC_ERR_NOMEM;
    return cdc__position_set_gtids(dst, &src->gtids);
}

int cdc__position_set_snap(cdc_position *p, const char *text, size_t len)
{
    if (len && text == (const char *)p->snap.data) return CDC_OK;
    cdc__buf_reset(&p->snap);
    if (!len) return CDC_OK;
    if (cdc__buf_append(&p->snap, text, len) || cdc__buf_terminate(&p->snap)) return CDC_ERR_NOMEM;
    return CDC_OK;
}

int cdc__position_set_incr(cdc_position *p, const char *text, size_t len)
{
    if (len && text == (const char *)p->incr.data) return CDC_OK;
    cdc__buf_reset(&p->incr);
    if (!len) return CDC_OK;
    if (cdc__buf_append(&p->incr, text, len) || cdc__buf_terminate(&p->incr)) return CDC_ERR_NOMEM;
    return CDC_OK;
}

int cdc__position_add_gtid_text(cdc_position *p, const char *gtid, cdc__err *err)
{
    if (!*gtid) return CDC_OK;
    cdc__gtid_set one;
    cdc__gtid_set_init(&one, p->alloc);
    int rc = cdc__gtid_set_parse(&one, gtid, strlen(gtid), err);
    if (rc == CDC_OK) rc = cdc__position_union(p, &one);
    cdc__gtid_set_free(&one);
    return rc;
}

/* ---- public accessors ---------------------------------------------- */

const char *cdc_position_file(const cdc_position *p)
{
    return p && p->file.len ? (const char *)p->file.data : "";
}

uint64_t cdc_position_offset(const cdc_position *p) { return p ? p->offset : 0; }

int cdc_position_snapshot_pending(const cdc_position *p) { return p && p->snap.len ? 1 : 0; }

const char *cdc_position_gtid_set(const cdc_position *p)
{
    return p && p->gtid_text.len ? (const char *)p->gtid_text.data : "";
}

/* ---- checkpoint strings ---------------------------------------------- */

static bool file_char_plain(uint8_t c)
{
    return isalnum(c) || c == '.' || c == '_' || c == '-' || c == '/';
}

int cdc__position_format_buf(const cdc_position *p, cdc__buf *out)
{
    int rc = cdc__buf_puts(out, CDC__CHECKPOINT_PREFIX "file=");
    for (size_t i = 0; i < p->file.len && rc == CDC_OK; i++) {
        uint8_t c = p->file.data[i];
        rc = file_char_plain(c) ? cdc__buf_putc(out, c) : cdc__buf_printf(out, "%%%02X", c);
    }
    if (rc == CDC_OK) rc = cdc__buf_printf(out, ";pos=%" PRIu64, p->offset);
    if (rc == CDC_OK && p->gtid_text.len) {
        rc = cdc__buf_puts(out, ";gtid=");
        if (rc == CDC_OK) rc = cdc__buf_append(out, p->gtid_text.data, p->gtid_text.len);
    }
    if (rc == CDC_OK && p->snap.len) {
        rc = cdc__buf_puts(out, ";snap=");
        if (rc == CDC_OK) rc = cdc__buf_append(out, p->snap.data, p->snap.len);
    }
    if (rc == CDC_OK && p->incr.len) {
        rc = cdc__buf_puts(out, ";incr=");
        if (rc == CDC_OK) rc = cdc__buf_append(out, p->incr.data, p->incr.len);
    }
    return rc ? CDC_ERR_NOMEM : CDC_OK;
}

int cdc_position_format(const cdc_position *p, char *buf, size_t cap, size_t *need)
{
    if (!p) return CDC_ERR_INVALID;
    cdc__buf b;
    cdc__buf_init(&b, p->alloc);
    int rc = cdc__position_format_buf(p, &b);
    if (rc == CDC_OK) {
        if (need) *need = b.len + 1;
        if (!buf || cap < b.len + 1) {
            if (buf && cap) buf[0] = 0;
            rc = CDC_ERR_TOO_LARGE;
        } else {
            memcpy(buf, b.data, b.len);
            buf[b.len] = 0;
        }
    }
    cdc__buf_free(&b);
    return rc;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int parse_gtids(cdc_position *p, const char *s, size_t n, const char *what, cdc__err *err)
{
    int rc = cdc__gtid_set_parse(&p->gtids, s, n, err);
    if (rc) {
        cdc__err_prefix(err, "%s", what);
        if (rc == CDC_ERR_NOMEM) return rc;
        if (err) err->code = CDC_ERR_INVALID;
        return CDC_ERR_INVALID;
    }
    if (!p->gtids.n_sids && !p->gtids.n_maria)
        return cdc__err_set(err, CDC_ERR_INVALID, "%s: the GTID set is empty", what);
    if (p->gtids.n_sids && p->gtids.n_maria)
        return cdc__err_set(err, CDC_ERR_INVALID, "%s: mixes MySQL (uuid:N) and MariaDB (D-S-N) GTIDs", what);
    p->gtid_known = true;
    return cdc__position_sync_text(p);
}

static int parse_checkpoint(cdc_position *p, const char *text, cdc__err *err)
{
    const char *s = text + strlen(CDC__CHECKPOINT_PREFIX);
    bool have_file = false, have_pos = false, have_gtid = false, have_snap = false, have_incr = false;
    while (*s) {
        const char *eq = strchr(s, '=');
        const char *semi = strchr(s, ';');
        if (!semi) semi = s + strlen(s);
        if (!eq || eq > semi)
            return cdc__err_set(err, CDC_ERR_INVALID, "checkpoint: field '%.*s' has no '='", (int)(semi - s), s);
        size_t klen = (size_t)(eq - s);
        const char *v = eq + 1;
        size_t vlen = (size_t)(semi - v);
        if (klen == 4 && !memcmp(s, "file", 4) && !have_file && !have_pos && !have_gtid) {
            cdc__buf_reset(&p->file);
            for (size_t i = 0; i < vlen; i++) {
                int c = (uint8_t)v[i];
                if (c == '%') {
                    int hi = i + 2 < vlen ? hexval(v[i + 1]) : -1;
                    int lo = hi >= 0 ? hexval(v[i + 2]) : -1;
                    if (lo < 0)
                        return cdc__err_set(err, CDC_ERR_INVALID, "checkpoint: bad %%XX escape in file name '%.*s'",
                                            (int)vlen, v);
                    c = hi * 16 + lo;
                    i += 2;
                } else if (!file_char_plain((uint8_t)c)) {
                    return cdc__err_set(err, CDC_ERR_INVALID,
                                        "checkpoint: character '%c' must be written %%%02X in file name '%.*s'",
                                        isprint(c) ? c : '?', c, (int)vlen, v);
                }
                if (c == 0) return cdc__err_set(err, CDC_ERR_INVALID, "checkpoint: NUL byte in file name");
                if (cdc__buf_putc(&p->file, (uint8_t)c)) return CDC_ERR_NOMEM;
            }
            if (cdc__buf_terminate(&p->file)) return CDC_ERR_NOMEM;
            have_file = true;
        } else if (klen == 3 && !memcmp(s, "pos", 3) && have_file && !have_pos) {
            if (!cdc__parse_u64(v, vlen, &p->offset))
                return cdc__err_set(err, CDC_ERR_INVALID, "checkpoint: pos '%.*s' is not a decimal offset",
                                    (int)vlen, v);
            have_pos = true;
        } else if (klen == 4 && !memcmp(s, "incr", 4) && have_pos && !have_incr) {
            /* incremental snapshots (incremental.h): checked when restored */
            for (size_t i = 0; i < vlen; i++)
                if (!isalnum((uint8_t)v[i]) && !strchr("%-.~,", v[i]))
                    return cdc__err_set(err, CDC_ERR_INVALID, "checkpoint: incr: byte %zu ('%c') must be written %%XX",
                                        i, isprint((uint8_t)v[i]) ? v[i] : '?');
            if (!vlen) return cdc__err_set(err, CDC_ERR_INVALID, "checkpoint: incr is empty (leave the field out)");
            if (cdc__position_set_incr(p, v, vlen)) return CDC_ERR_NOMEM;
            have_incr = true;
        } else if (klen == 4 && !memcmp(s, "snap", 4) && have_pos && !have_snap && !have_incr) {
            cdc__snapprog sp;
            int rc = cdc__snapprog_parse(&sp, v, vlen, p->alloc, err);
            cdc__snapprog_free(&sp);
            if (rc) return rc;
            if (cdc__position_set_snap(p, v, vlen)) return CDC_ERR_NOMEM;
            have_snap = true;
        } else if (klen == 4 && !memcmp(s, "gtid", 4) && have_pos && !have_gtid && !have_snap && !have_incr) {
            if (vlen == 0) return cdc__err_set(err, CDC_ERR_INVALID, "checkpoint: gtid is empty (leave the field out)");
            int rc = parse_gtids(p, v, vlen, "checkpoint: gtid", err);
            if (rc) return rc;
            have_gtid = true;
        } else {
            return cdc__err_set(err, CDC_ERR_INVALID,
                                "checkpoint: unexpected field '%.*s' (the format is cdc1:file=F;pos=N[;gtid=SET][;snap=PROGRESS][;incr=TABLES])",
                                (int)klen, s);
        }
        s = *semi ? semi + 1 : semi;
        if (*semi && !*s) return cdc__err_set(err, CDC_ERR_INVALID, "checkpoint: ends with ';'");
    }
    if (!have_file || !have_pos)
        return cdc__err_set(err, CDC_ERR_INVALID, "checkpoint: '%s' lacks the %s field", text,
                            have_file ? "pos" : "file");
    if (!p->file.len && !have_gtid)
        return cdc__err_set(err, CDC_ERR_INVALID, "checkpoint: has neither a file name nor a GTID set");
    return CDC_OK;
}

int cdc__position_parse_into(cdc_position *p, const char *text, cdc__err *err)
{
    cdc__buf_reset(&p->file);
    cdc__buf_reset(&p->gtid_text);
    cdc__buf_reset(&p->snap);
    cdc__buf_reset(&p->incr);
    cdc__gtid_set_clear(&p->gtids);
    p->offset = 0;
    p->gtid_known = false;
    if (cdc__buf_terminate(&p->file) || cdc__buf_terminate(&p->gtid_text)) return CDC_ERR_NOMEM;
    if (!text || !*text) return cdc__err_set(err, CDC_ERR_INVALID, "position: empty text");
    if (!strncmp(text, CDC__CHECKPOINT_PREFIX, strlen(CDC__CHECKPOINT_PREFIX)))
        return parse_checkpoint(p, text, err);
    if (!strncmp(text, "cdc", 3) && isdigit((uint8_t)text[3]))
        return cdc__err_set(err, CDC_ERR_INVALID,
                            "position '%.20s': checkpoint format version not supported by this libcdc (it reads cdc1:)",
                            text);
    if (!strncmp(text, "gtid:", 5)) {
        const char *s = text + 5;
        while (*s == ' ') s++;
        if (!*s) return cdc__err_set(err, CDC_ERR_INVALID, "position 'gtid:': the GTID set is empty");
        return parse_gtids(p, s, strlen(s), "position gtid:SET", err);
    }
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return cdc__err_set(err, CDC_ERR_INVALID,
                            "position '%s' is not FILE:OFFSET, gtid:SET or a checkpoint (cdc1:...)", text);
    if (!cdc__parse_u64(colon + 1, strlen(colon + 1), &p->offset))
        return cdc__err_set(err, CDC_ERR_INVALID, "position '%s': offset '%s' is not a decimal number", text,
                            colon + 1);
    if (p->offset < 4)
        return cdc__err_set(err, CDC_ERR_INVALID, "position '%s': offset %" PRIu64 " is inside the binlog magic; "
                            "events start at 4", text, p->offset);
    return cdc__position_set_file(p, text, (size_t)(colon - text));
}

int cdc_position_parse(cdc_position **out, const char *text, const cdc_allocator *alloc, char *errbuf,
                       size_t errlen)
{
    cdc__err err = {0};
    if (!out) {
        cdc__err_set(&err, CDC_ERR_INVALID, "cdc_position_parse: out is NULL");
        cdc__err_copy_out(&err, errbuf, errlen);
        return CDC_ERR_INVALID;
    }
    *out = NULL;
    cdc_position *p;
    if (cdc__position_new(&p, alloc)) {
        cdc__err_set(&err, CDC_ERR_NOMEM, "out of memory");
        cdc__err_copy_out(&err, errbuf, errlen);
        return CDC_ERR_NOMEM;
    }
    int rc = cdc__position_parse_into(p, text, &err);
    if (rc) {
        if (!err.msg[0]) cdc__err_set(&err, rc, "%s", cdc_strerror(rc));
        cdc__err_copy_out(&err, errbuf, errlen);
        cdc_position_free(p);
        return rc;
    }
    *out = p;
    return CDC_OK;
}

int cdc__where_parse(const char *text, const char *key, bool allow_earliest, cdc__where *kind,
                     cdc_position *pos, cdc__err *err)
{
    *kind = CDC__WHERE_NONE;
    if (!text || !*text) return CDC_OK;
    if (!strcmp(text, "now")) {
        *kind = CDC__WHERE_NOW;
        return CDC_OK;
    }
    if (!strcmp(text, "earliest")) {
        if (!allow_earliest) return cdc__err_set(err, CDC_ERR_CONFIG, "%s: 'earliest' is only a start", key);
        *kind = CDC__WHERE_EARLIEST;
        return CDC_OK;
    }
    int rc = cdc__position_parse_into(pos, text, err);
    if (rc) {
        if (rc != CDC_ERR_NOMEM) rc = CDC_ERR_CONFIG;
        if (err) err->code = rc;
        cdc__err_prefix(err, "%s", key);
        return rc;
    }
    *kind = CDC__WHERE_POSITION;
    return CDC_OK;
}

int cdc__binlog_name_cmp(const char *a, const char *b)
{
    const char *da = strrchr(a, '.'), *db = strrchr(b, '.');
    if (da && db && da - a == db - b && !memcmp(a, b, (size_t)(da - a))) {
        char *ea, *eb;
        errno = 0;
        unsigned long long na = strtoull(da + 1, &ea, 10), nb = strtoull(db + 1, &eb, 10);
        if (!*ea && !*eb && !errno) return na < nb ? -1 : na > nb;
    }
    int c = strcmp(a, b);
    return c < 0 ? -1 : c > 0;
}
