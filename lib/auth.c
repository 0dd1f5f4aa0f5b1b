/* auth.c: authentication plugins (see auth.h). */
#include "auth.h"

#include "crypto.h"

static const char *const plugin_names[] = {
    [CDC_AUTH_UNKNOWN] = "",
    [CDC_AUTH_NATIVE] = "mysql_native_password",
    [CDC_AUTH_CACHING_SHA2] = "caching_sha2_password",
    [CDC_AUTH_SHA256] = "sha256_password",
    [CDC_AUTH_CLEAR] = "mysql_clear_password",
    [CDC_AUTH_ED25519] = "client_ed25519",
};

/* caching_sha2_password's AuthMoreData codes, and its request for the key. */
enum { SHA2_REQUEST_KEY = 2, SHA2_FAST_OK = 3, SHA2_FULL_AUTH = 4 };
/* sha256_password asks for the key with this one byte. */
enum { SHA256_REQUEST_KEY = 1 };

cdc__auth_plugin cdc__auth_plugin_find(const uint8_t *name, size_t len)
{
    for (int i = 1; i < (int)(sizeof plugin_names / sizeof plugin_names[0]); i++)
        if (strlen(plugin_names[i]) == len && !memcmp(plugin_names[i], name, len)) return (cdc__auth_plugin)i;
    return CDC_AUTH_UNKNOWN;
}

const char *cdc__auth_plugin_name(cdc__auth_plugin p)
{
    return (unsigned)p < sizeof plugin_names / sizeof plugin_names[0] ? plugin_names[p] : "";
}

size_t cdc__auth_native_scramble(const char *pw, size_t pwlen, const uint8_t nonce[20], uint8_t out[20])
{
    if (!pwlen) return 0;
    uint8_t h1[20], h2[20], h3[20];
    cdc__crypto_sha1(pw, pwlen, NULL, 0, h1);
    cdc__crypto_sha1(h1, 20, NULL, 0, h2);
    cdc__crypto_sha1(nonce, 20, h2, 20, h3);
    for (int i = 0; i < 20; i++) out[i] = h1[i] ^ h3[i];
    memset(h1, 0, sizeof h1);
    return 20;
}

size_t cdc__auth_sha2_scramble(const char *pw, size_t pwlen, const uint8_t nonce[20], uint8_t out[32])
{
    if (!pwlen) return 0;
    uint8_t h1[32], h2[32], h3[32];
    cdc__crypto_sha256(pw, pwlen, NULL, 0, h1);
    cdc__crypto_sha256(h1, 32, NULL, 0, h2);
    cdc__crypto_sha256(h2, 32, nonce, 20, h3);
    for (int i = 0; i < 32; i++) out[i] = h1[i] ^ h3[i];
    memset(h1, 0, sizeof h1);
    return 32;
}

int cdc__auth_rsa_password(const char *pw, size_t pwlen, const uint8_t *nonce, size_t nonce_len, const char *pem,
                           size_t pemlen, cdc__buf *out, cdc__err *err)
{
    uint8_t plain[512], enc[512];
    if (pwlen + 1 > sizeof plain)
        return cdc__err_set(err, CDC_ERR_TOO_LARGE, "password of %zu bytes is too long for RSA encryption", pwlen);
    if (!nonce_len) return cdc__err_set(err, CDC_ERR_PROTOCOL, "no nonce to mix into the RSA-encrypted password");
    memcpy(plain, pw, pwlen);
    plain[pwlen] = 0;
    for (size_t i = 0; i <= pwlen; i++) plain[i] ^= nonce[i % nonce_len];
    size_t enclen = 0;
    int rc = cdc__crypto_rsa_oaep_encrypt(pem, pemlen, plain, pwlen + 1, enc, sizeof enc, &enclen, err);
    memset(plain, 0, sizeof plain);
    if (rc) return rc;
    rc = cdc__buf_append(out, enc, enclen);
    return rc ? cdc__err_set(err, rc, "out of memory") : CDC_OK;
}

static int put_cleartext(cdc__auth *a, cdc__buf *out, cdc__err *err)
{
    int rc = cdc__buf_append(out, a->password, a->password_len);
    if (!rc) rc = cdc__buf_putc(out, 0);
    return rc ? cdc__err_set(err, rc, "out of memory") : CDC_OK;
}

/* The path both RSA plugins share once cleartext is ruled out. */
static int rsa_or_request_key(cdc__auth *a, uint8_t request, cdc__buf *out, cdc__err *err)
{
    if (a->server_key)
        return cdc__auth_rsa_password(a->password, a->password_len, a->nonce, a->nonce_len, a->server_key,
                                      a->server_key_len, out, err);
    if (a->get_server_key) {
        a->step = 2; /* next AuthMoreData carries the PEM */
        return cdc__buf_putc(out, request) ? cdc__err_set(err, CDC_ERR_NOMEM, "out of memory") : CDC_OK;
    }
    return cdc__err_set(err, CDC_ERR_AUTH_PLUGIN,
                        "%s needs TLS or the server's RSA public key to send the password: enable TLS, "
                        "set server_public_key_path, or allow get_server_public_key",
                        cdc__auth_plugin_name(a->plugin));
}

int cdc__auth_start(cdc__auth *a, cdc__auth_plugin plugin, const uint8_t *nonce, size_t nonce_len, cdc__buf *out,
                    cdc__err *err)
{
    a->plugin = plugin;
    a->step = 1;
    a->fast_ok = a->full_auth = false;
    if (nonce_len > sizeof a->nonce) nonce_len = sizeof a->nonce;
    memcpy(a->nonce, nonce, nonce_len);
    a->nonce_len = nonce_len;
    uint8_t tmp[64];
    size_t n = 0;
    int rc;
    switch (plugin) {
    case CDC_AUTH_NATIVE:
    case CDC_AUTH_CACHING_SHA2:
        if (nonce_len < 20)
            return cdc__err_set(err, CDC_ERR_PROTOCOL, "%s: server nonce has %zu bytes, need 20",
                                cdc__auth_plugin_name(plugin), nonce_len);
        a->nonce_len = 20;
        n = plugin == CDC_AUTH_NATIVE ? cdc__auth_native_scramble(a->password, a->password_len, nonce, tmp)
                                      : cdc__auth_sha2_scramble(a->password, a->password_len, nonce, tmp);
        break;
    case CDC_AUTH_SHA256:
        if (!a->password_len || a->secure) return put_cleartext(a, out, err);
        if (nonce_len < 20)
            return cdc__err_set(err, CDC_ERR_PROTOCOL, "sha256_password: server nonce has %zu bytes, need 20", nonce_len);
        a->nonce_len = 20;
        return rsa_or_request_key(a, SHA256_REQUEST_KEY, out, err);
    case CDC_AUTH_CLEAR:
        if (!a->tls && !a->allow_cleartext)
            return cdc__err_set(err, CDC_ERR_AUTH_PLUGIN,
                                "server asks for the password in cleartext (mysql_clear_password) over a "
                                "connection without TLS; enable TLS or allow_cleartext_without_tls");
        return put_cleartext(a, out, err);
    case CDC_AUTH_ED25519:
        if (nonce_len < 32)
            return cdc__err_set(err, CDC_ERR_PROTOCOL, "client_ed25519: server nonce has %zu bytes, need 32", nonce_len);
        a->nonce_len = 32;
        rc = cdc__crypto_ed25519_sign((const uint8_t *)a->password, a->password_len, nonce, 32, tmp);
        if (rc) return cdc__err_set(err, rc, "out of memory signing the ed25519 nonce");
        n = 64;
        break;
    default:
        return cdc__err_set(err, CDC_ERR_AUTH_PLUGIN, "unsupported authentication plugin");
    }
    rc = cdc__buf_append(out, tmp, n);
    memset(tmp, 0, sizeof tmp);
    return rc ? cdc__err_set(err, rc, "out of memory") : CDC_OK;
}

int cdc__auth_more(cdc__auth *a, const uint8_t *data, size_t n, cdc__buf *out, bool *send, cdc__err *err)
{
    *send = false;
    if (a->plugin == CDC_AUTH_CACHING_SHA2 && a->step == 1) {
        if (n == 1 && data[0] == SHA2_FAST_OK) {
            a->fast_ok = true;
            return CDC_OK; /* an OK packet follows */
        }
        if (n == 1 && data[0] == SHA2_FULL_AUTH) {
            a->full_auth = true;
            *send = true;
            if (a->secure) return put_cleartext(a, out, err);
            return rsa_or_request_key(a, SHA2_REQUEST_KEY, out, err);
        }
        return cdc__err_set(err, CDC_ERR_PROTOCOL, "caching_sha2_password: unexpected server message (%zu bytes, first 0x%02x)",
                            n, n ? data[0] : 0);
    }
    if ((a->plugin == CDC_AUTH_CACHING_SHA2 || a->plugin == CDC_AUTH_SHA256) && a->step == 2) {
        a->step = 3;
        *send = true;
        return cdc__auth_rsa_password(a->password, a->password_len, a->nonce, a->nonce_len, (const char *)data, n,
                                      out, err);
    }
    return cdc__err_set(err, CDC_ERR_PROTOCOL, "%s: unexpected extra authentication data from the server (%zu bytes)",
                        cdc__auth_plugin_name(a->plugin), n);
}
