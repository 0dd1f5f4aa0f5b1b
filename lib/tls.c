/* tls.c: mbedtls TLS over a socket (see tls.h). */
#include "tls.h"

#include <errno.h>
#include <stdio.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "crypto.h"
#include "transport.h"

struct cdc__tls {
    const cdc_allocator *alloc;
    int fd;
    int timeout_ms;
    int sys_errno;        /* errno of the last failed send/recv */
    bool timed_out;
    bool peer_closed;
    bool established;     /* handshake done: close_notify makes sense */
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca, cert;
    mbedtls_pk_context key;
};

static const char *const mode_names[] = {"disabled", "preferred", "required", "verify_ca", "verify_identity"};

const char *cdc__tls_mode_name(cdc__tls_mode m)
{
    return (unsigned)m < sizeof mode_names / sizeof mode_names[0] ? mode_names[m] : "?";
}

int cdc__tls_mode_parse(const char *s)
{
    for (int i = 0; i < (int)(sizeof mode_names / sizeof mode_names[0]); i++)
        if (!strcasecmp(s, mode_names[i])) return i;
    return -1;
}

/* mbedtls' BIO callbacks over transport.c's poll loop. */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    cdc__tls *t = ctx;
    ptrdiff_t n = cdc__io_send(t->fd, buf, len, t->timeout_ms, &t->sys_errno);
    if (n > 0) return (int)n;
    if (n == CDC__IO_TIMEOUT) {
        t->timed_out = true;
        return MBEDTLS_ERR_SSL_TIMEOUT;
    }
    return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    cdc__tls *t = ctx;
    ptrdiff_t n = cdc__io_recv(t->fd, buf, len, t->timeout_ms, &t->sys_errno);
    if (n > 0) return (int)n;
    if (n == CDC__IO_CLOSED) {
        t->peer_closed = true;
        return MBEDTLS_ERR_NET_CONN_RESET;
    }
    if (n == CDC__IO_TIMEOUT) {
        t->timed_out = true;
        return MBEDTLS_ERR_SSL_TIMEOUT;
    }
    if (t->sys_errno == ECONNRESET) t->peer_closed = true;
    return MBEDTLS_ERR_NET_RECV_FAILED;
}

/* mbedtls 3 wants an RNG for key parsing (blinding); 2.28 has no such
 * parameter. */
static int parse_keyfile(mbedtls_pk_context *key, const char *path)
{
#if MBEDTLS_VERSION_MAJOR >= 3
    return mbedtls_pk_parse_keyfile(key, path, NULL, cdc__crypto_rng, NULL);
#else
    return mbedtls_pk_parse_keyfile(key, path, NULL);
#endif
}

/* One error for a failed mbedtls call, preferring what the socket said. */
static int tls_fail(cdc__tls *t, int mrc, const char *what, cdc__err *err)
{
    char buf[160];
    if (t->timed_out) return cdc__err_set(err, CDC_ERR_TIMEOUT, "TLS: timed out during %s", what);
    if (t->peer_closed || mrc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
        return cdc__err_set(err, CDC_ERR_CLOSED, "TLS: server closed the connection during %s", what);
    if (t->sys_errno) return cdc__err_set(err, CDC_ERR_IO, "TLS: %s: %s", what, strerror(t->sys_errno));
    if (mrc == MBEDTLS_ERR_SSL_ALLOC_FAILED) return cdc__err_set(err, CDC_ERR_NOMEM, "TLS: out of memory during %s", what);
    mbedtls_strerror(mrc, buf, sizeof buf);
    return cdc__err_set(err, CDC_ERR_TLS, "TLS: %s failed: %s (-0x%04x)", what, buf, (unsigned)-mrc);
}

/* The DNS names (and CN) a certificate holds, for "server cert is for X". */
static void cert_names(const mbedtls_x509_crt *c, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = 0;
    for (const mbedtls_x509_sequence *s = &c->subject_alt_names; s && s->buf.p; s = s->next) {
        if (s->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME)) continue;
        int n = snprintf(out + used, cap - used, "%s%.*s", used ? ", " : "", (int)s->buf.len, (const char *)s->buf.p);
        if (n < 0 || (size_t)n >= cap - used) return;
        used += (size_t)n;
    }
    if (used) return;
    for (const mbedtls_x509_name *nm = &c->subject; nm; nm = nm->next)
        if (nm->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &nm->oid) == 0) {
            snprintf(out, cap, "CN=%.*s", (int)nm->val.len, (const char *)nm->val.p);
            return;
        }
}

static int check_peer(cdc__tls *t, const cdc__tls_opts *o, const char *name, cdc__err *err)
{
    uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
    /* VERIFY_CA trusts any name the CA vouched for. */
    if (o->mode == CDC_TLS_VERIFY_CA) flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
    if (!flags) return CDC_OK;
    char why[256], names[160] = "";
    int n = mbedtls_x509_crt_verify_info(why, sizeof why, "", flags);
    /* verify_info lists reasons one per line; make it one line. */
    for (int i = 0; i < n; i++)
        if (why[i] == '\n') why[i] = (i == n - 1) ? 0 : ';';
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&t->ssl);
    if (peer) cert_names(peer, names, sizeof names);
    /* the name alone is wrong: say so plainly; with other failures (an
     * untrusted CA first of all) every reason is listed */
    if (flags == MBEDTLS_X509_BADCERT_CN_MISMATCH)
        return cdc__err_set(err, CDC_ERR_TLS_VERIFY,
                            "TLS: certificate verify failed for %s: name mismatch (server cert is for %s)", name,
                            names[0] ? names : "no DNS name");
    return cdc__err_set(err, CDC_ERR_TLS_VERIFY, "TLS: certificate verify failed for %s: %s%s (server cert is for %s)",
                        name, flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED ? "not signed by a CA in ssl.ca; " : "", why,
                        names[0] ? names : "no DNS name");
}

int cdc__tls_connect(cdc__tls **out, const cdc_allocator *a, const cdc__tls_opts *o, int fd, int timeout_ms,
                     cdc__err *err)
{
    *out = NULL;
    cdc__tls *t = cdc__calloc(a, 1, sizeof *t);
    if (!t) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory for TLS");
    t->alloc = cdc__allocator(a);
    t->fd = fd;
    t->timeout_ms = timeout_ms;
    mbedtls_ssl_init(&t->ssl);
    mbedtls_ssl_config_init(&t->conf);
    mbedtls_x509_crt_init(&t->ca);
    mbedtls_x509_crt_init(&t->cert);
    mbedtls_pk_init(&t->key);
    int rc = CDC_OK, mrc;
    bool verify = o->mode >= CDC_TLS_VERIFY_CA;
    const char *name = o->server_name && *o->server_name ? o->server_name : o->host;
    if ((mrc = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                           MBEDTLS_SSL_PRESET_DEFAULT))) {
        rc = tls_fail(t, mrc, "configuration", err);
        goto fail;
    }
    mbedtls_ssl_conf_rng(&t->conf, cdc__crypto_rng, NULL);
    if (o->ca && *o->ca) {
        if ((mrc = mbedtls_x509_crt_parse_file(&t->ca, o->ca)) != 0) {
            rc = cdc__err_set(err, CDC_ERR_CONFIG, "TLS: cannot load CA file '%s' (mbedtls -0x%04x)", o->ca,
                              (unsigned)(mrc < 0 ? -mrc : mrc));
            goto fail;
        }
        mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
    } else if (verify) {
        rc = cdc__err_set(err, CDC_ERR_CONFIG, "TLS: ssl.mode=%s needs ssl.ca (a CA file to verify against)",
                          cdc__tls_mode_name(o->mode));
        goto fail;
    }
    /* OPTIONAL: mbedtls finishes the handshake and we judge the result,
     * which lets VERIFY_CA ignore the name and gives better messages. */
    mbedtls_ssl_conf_authmode(&t->conf, verify ? MBEDTLS_SSL_VERIFY_OPTIONAL : MBEDTLS_SSL_VERIFY_NONE);
    if (o->cert && *o->cert) {
        if ((mrc = mbedtls_x509_crt_parse_file(&t->cert, o->cert)) != 0) {
            rc = cdc__err_set(err, CDC_ERR_CONFIG, "TLS: cannot load client certificate '%s' (mbedtls -0x%04x)",
                              o->cert, (unsigned)(mrc < 0 ? -mrc : mrc));
            goto fail;
        }
        if (!o->key || !*o->key) {
            rc = cdc__err_set(err, CDC_ERR_CONFIG, "TLS: client certificate '%s' given without ssl.key", o->cert);
            goto fail;
        }
        if ((mrc = parse_keyfile(&t->key, o->key)) != 0) {
            rc = cdc__err_set(err, CDC_ERR_CONFIG, "TLS: cannot load client key '%s' (mbedtls -0x%04x)", o->key,
                              (unsigned)-mrc);
            goto fail;
        }
        if ((mrc = mbedtls_ssl_conf_own_cert(&t->conf, &t->cert, &t->key))) {
            rc = tls_fail(t, mrc, "client certificate setup", err);
            goto fail;
        }
    }
    if ((mrc = mbedtls_ssl_setup(&t->ssl, &t->conf))) {
        rc = tls_fail(t, mrc, "setup", err);
        goto fail;
    }
    if (name && *name && (mrc = mbedtls_ssl_set_hostname(&t->ssl, name))) {
        rc = tls_fail(t, mrc, "setting the server name", err);
        goto fail;
    }
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
    while ((mrc = mbedtls_ssl_handshake(&t->ssl)) != 0) {
        if (mrc == MBEDTLS_ERR_SSL_WANT_READ || mrc == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
        rc = tls_fail(t, mrc, "handshake", err);
        goto fail;
    }
    t->established = true;
    if (verify && (rc = check_peer(t, o, name ? name : "server", err))) goto fail;
    *out = t;
    return CDC_OK;
fail:
    cdc__tls_free(t);
    return rc;
}

void cdc__tls_free(cdc__tls *t)
{
    if (!t) return;
    if (t->established && !t->peer_closed) {
        /* Best effort, without waiting for a slow peer. */
        t->timeout_ms = 100;
        (void)mbedtls_ssl_close_notify(&t->ssl);
    }
    mbedtls_ssl_free(&t->ssl);
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_x509_crt_free(&t->ca);
    mbedtls_x509_crt_free(&t->cert);
    mbedtls_pk_free(&t->key);
    cdc__free(t->alloc, t);
}

void cdc__tls_set_timeout(cdc__tls *t, int timeout_ms) { t->timeout_ms = timeout_ms; }

ptrdiff_t cdc__tls_read(cdc__tls *t, void *buf, size_t n, cdc__err *err)
{
    for (;;) {
        int r = mbedtls_ssl_read(&t->ssl, buf, n);
        if (r > 0) return r;
        if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
        if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            t->peer_closed = true;
            return cdc__err_set(err, CDC_ERR_CLOSED, "connection closed by server");
        }
        if (t->peer_closed) return cdc__err_set(err, CDC_ERR_CLOSED, "connection closed by server");
        if (t->timed_out) {
            t->timed_out = false;
            return cdc__err_set(err, CDC_ERR_TIMEOUT, "timed out waiting for the server");
        }
        return tls_fail(t, r, "read", err);
    }
}

int cdc__tls_write(cdc__tls *t, const void *buf, size_t n, cdc__err *err)
{
    const unsigned char *p = buf;
    while (n) {
        int w = mbedtls_ssl_write(&t->ssl, p, n);
        if (w == MBEDTLS_ERR_SSL_WANT_READ || w == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
        if (w < 0) return tls_fail(t, w, "write", err);
        p += w;
        n -= (size_t)w;
    }
    return CDC_OK;
}

const char *cdc__tls_version(const cdc__tls *t) { return mbedtls_ssl_get_version(&t->ssl); }
const char *cdc__tls_cipher(const cdc__tls *t) { return mbedtls_ssl_get_ciphersuite(&t->ssl); }
