/* handshake.c: connection-phase packets (see handshake.h). */
#include "handshake.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>

static unsigned parse_uint(const char **s, const char *end)
{
    unsigned v = 0;
    while (*s < end && **s >= '0' && **s <= '9') {
        if (v < 100000) v = v * 10 + (unsigned)(**s - '0');
        (*s)++;
    }
    return v;
}

cdc__server_version cdc__server_version_parse(const char *s, size_t n)
{
    cdc__server_version v = {CDC_FLAVOUR_MYSQL, 0, 0, 0, {(const uint8_t *)s, n}};
    for (size_t i = 0; i + 7 <= n; i++)
        if (!memcmp(s + i, "MariaDB", 7)) v.flavour = CDC_FLAVOUR_MARIADB;
    /* MariaDB 10+ pretends to be 5.5.5 so that old replicas, which
     * compare the first digit, do not reject it; the real one follows. */
    if (v.flavour == CDC_FLAVOUR_MARIADB && n > 6 && !memcmp(s, "5.5.5-", 6)) {
        s += 6;
        n -= 6;
        v.text = (cdc_bytes){(const uint8_t *)s, n};
    }
    const char *c = s, *end = s + n;
    v.major = parse_uint(&c, end);
    if (c < end && *c == '.') { c++; v.minor = parse_uint(&c, end); }
    if (c < end && *c == '.') { c++; v.patch = parse_uint(&c, end); }
    return v;
}

int cdc__handshake_parse(const uint8_t *p, size_t n, cdc__handshake *hs, cdc__err *err)
{
    memset(hs, 0, sizeof *hs);
    cdc__reader r = cdc__rd(p, n);
    hs->protocol = cdc__rd_u8(&r);
    if (r.bad) return cdc__err_set(err, CDC_ERR_PROTOCOL, "empty initial handshake packet");
    if (hs->protocol != 10)
        return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "server speaks handshake protocol %u; only 10 is supported",
                            hs->protocol);
    hs->server_version = cdc__rd_cstr(&r);
    hs->connection_id = cdc__rd_u32(&r);
    const uint8_t *part1 = cdc__rd_take(&r, 8);
    cdc__rd_skip(&r, 1);
    uint32_t caps = cdc__rd_u16(&r);
    if (r.bad) return cdc__err_set(err, CDC_ERR_PROTOCOL, "initial handshake truncated at byte %zu of %zu", r.off, n);
    memcpy(hs->scramble, part1, 8);
    hs->scramble_len = 8;
    if (cdc__rd_left(&r) == 0) {
        hs->caps = caps;
        return CDC_OK;
    }
    hs->charset = cdc__rd_u8(&r);
    hs->status = cdc__rd_u16(&r);
    caps |= (uint32_t)cdc__rd_u16(&r) << 16;
    uint8_t data_len = cdc__rd_u8(&r);
    const uint8_t *reserved = cdc__rd_take(&r, 10);
    if (r.bad) return cdc__err_set(err, CDC_ERR_PROTOCOL, "initial handshake truncated at byte %zu of %zu", r.off, n);
    hs->caps = caps;
    /* MariaDB clears CLIENT_MYSQL and puts its own flags in the last 4
     * reserved bytes. */
    if (!(caps & CDC_CAP_LONG_PASSWORD)) hs->mariadb_caps = cdc__le32(reserved + 6);
    if (caps & CDC_CAP_SECURE_CONNECTION) {
        size_t len2 = data_len > 8 ? (size_t)data_len - 8 : 13;
        if (len2 < 13) len2 = 13;
        if (len2 > sizeof hs->scramble - 8)
            return cdc__err_set(err, CDC_ERR_PROTOCOL, "initial handshake: auth data of %u bytes is too long", data_len);
        const uint8_t *part2 = cdc__rd_take(&r, len2);
        if (r.bad) return cdc__err_set(err, CDC_ERR_PROTOCOL, "initial handshake: auth data truncated");
        memcpy(hs->scramble + 8, part2, len2);
        hs->scramble_len = 8 + len2;
        if (hs->scramble[hs->scramble_len - 1] == 0) hs->scramble_len--;
    }
    if (caps & CDC_CAP_PLUGIN_AUTH) {
        /* Some servers omit the final NUL of the plugin name. */
        const uint8_t *s = cdc__rd_ptr(&r);
        size_t left = cdc__rd_left(&r);
        const uint8_t *nul = memchr(s, 0, left);
        hs->auth_plugin = (cdc_bytes){s, nul ? (size_t)(nul - s) : left};
    }
    return CDC_OK;
}

int cdc__handshake_ssl_request(cdc__buf *out, uint32_t caps, uint32_t max_packet, uint8_t charset)
{
    int rc = cdc__buf_reserve(out, 32);
    if (rc) return rc;
    uint8_t *h = out->data + out->len;
    memset(h, 0, 32);
    cdc__put_le32(h, caps | CDC_CAP_SSL);
    cdc__put_le32(h + 4, max_packet);
    h[8] = charset;
    out->len += 32;
    return CDC_OK;
}

static int put_lenenc_str(cdc__buf *b, const void *s, size_t n)
{
    uint8_t tmp[9];
    int rc = cdc__buf_append(b, tmp, cdc__lenenc_put(tmp, n));
    return rc ? rc : cdc__buf_append(b, s, n);
}

int cdc__handshake_response(cdc__buf *out, const cdc__hs_response *r, cdc__err *err)
{
    int rc = cdc__handshake_ssl_request(out, r->caps, r->max_packet, r->charset);
    if (rc) goto nomem;
    /* ssl_request added CLIENT_SSL; take it back unless negotiated. */
    cdc__put_le32(out->data + out->len - 32, r->caps);
    if ((rc = cdc__buf_append(out, r->user ? r->user : "", strlen(r->user ? r->user : "") + 1))) goto nomem;
    if (r->caps & CDC_CAP_PLUGIN_AUTH_LENENC) {
        rc = put_lenenc_str(out, r->auth, r->auth_len);
    } else if (r->caps & CDC_CAP_SECURE_CONNECTION) {
        if (r->auth_len > 255)
            return cdc__err_set(err, CDC_ERR_TOO_LARGE, "auth response of %zu bytes does not fit the server's format",
                                r->auth_len);
        if (!(rc = cdc__buf_putc(out, (uint8_t)r->auth_len))) rc = cdc__buf_append(out, r->auth, r->auth_len);
    } else {
        if (!(rc = cdc__buf_append(out, r->auth, r->auth_len))) rc = cdc__buf_putc(out, 0);
    }
    if (rc) goto nomem;
    if ((r->caps & CDC_CAP_CONNECT_WITH_DB) && (rc = cdc__buf_append(out, r->database, strlen(r->database) + 1)))
        goto nomem;
    if ((r->caps & CDC_CAP_PLUGIN_AUTH) && (rc = cdc__buf_append(out, r->plugin, strlen(r->plugin) + 1))) goto nomem;
    if ((r->caps & CDC_CAP_CONNECT_ATTRS) && r->attrs) {
        cdc__buf a;
        cdc__buf_init(&a, out->alloc);
        for (size_t i = 0; r->attrs[i] && r->attrs[i + 1] && !rc; i += 2) {
            rc = put_lenenc_str(&a, r->attrs[i], strlen(r->attrs[i]));
            if (!rc) rc = put_lenenc_str(&a, r->attrs[i + 1], strlen(r->attrs[i + 1]));
        }
        if (!rc) rc = put_lenenc_str(out, a.data, a.len);
        cdc__buf_free(&a);
        if (rc) goto nomem;
    }
    return CDC_OK;
nomem:
    return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory building the handshake response");
}

void cdc__handshake_attrs_init(cdc__client_attrs *a)
{
    snprintf(a->pid, sizeof a->pid, "%ld", (long)getpid());
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(a->os, sizeof a->os, "%s", u.sysname);
        snprintf(a->platform, sizeof a->platform, "%s", u.machine);
    } else {
        snprintf(a->os, sizeof a->os, "unknown");
        a->platform[0] = 0;
    }
    const char *kv[] = {"_client_name", "libcdc", "_client_version", CDC_VERSION_STRING, "_os", a->os,
                        "_pid", a->pid, "_platform", a->platform, NULL};
    memcpy(a->kv, kv, sizeof kv);
}

int cdc__auth_switch_parse(const uint8_t *p, size_t n, cdc_bytes *plugin, cdc_bytes *data, cdc__err *err)
{
    cdc__reader r = cdc__rd(p, n);
    if (cdc__rd_u8(&r) != 0xfe || r.bad) return cdc__err_set(err, CDC_ERR_PROTOCOL, "not an auth switch request");
    if (n == 1)
        return cdc__err_set(err, CDC_ERR_AUTH_PLUGIN,
                            "server asks for the pre-4.1 password hash, which is insecure and not supported");
    *plugin = cdc__rd_cstr(&r);
    if (r.bad) return cdc__err_set(err, CDC_ERR_PROTOCOL, "auth switch request: plugin name not terminated");
    *data = cdc__rd_rest(&r);
    if (data->len && data->ptr[data->len - 1] == 0) data->len--;
    return CDC_OK;
}
