/*
 * auth.h: authentication plugins of the client, as pure functions on
 * bytes: each plugin's first response to a nonce, and its answer to
 * each AuthMoreData packet the server sends. conn.c moves the bytes.
 * Internal; not installed.
 *
 *   mysql_native_password   SHA1(pw) ^ SHA1(nonce || SHA1(SHA1(pw)))
 *   caching_sha2_password   SHA256(pw) ^ SHA256(SHA256(SHA256(pw)) || nonce),
 *                           then on "full auth": password over TLS, else
 *                           RSA-OAEP((pw\0) ^ nonce) with the server's key
 *   sha256_password         password over TLS, else RSA as above
 *   mysql_clear_password    password\0, only over TLS unless allowed
 *   client_ed25519          Ed25519 signature of the nonce (MariaDB)
 */
#ifndef CDC_AUTH_H
#define CDC_AUTH_H

#include "util.h"

typedef enum cdc__auth_plugin {
    CDC_AUTH_UNKNOWN = 0,
    CDC_AUTH_NATIVE,
    CDC_AUTH_CACHING_SHA2,
    CDC_AUTH_SHA256,
    CDC_AUTH_CLEAR,
    CDC_AUTH_ED25519,
} cdc__auth_plugin;

/* Plugin by its protocol name ("caching_sha2_password"); UNKNOWN if none. */
cdc__auth_plugin cdc__auth_plugin_find(const uint8_t *name, size_t len);
const char *cdc__auth_plugin_name(cdc__auth_plugin p);

/* The scrambles; nonce is the 20-byte auth-plugin-data. An empty password
 * gives an empty response, as servers expect. Return the bytes written. */
size_t cdc__auth_native_scramble(const char *pw, size_t pwlen, const uint8_t nonce[20], uint8_t out[20]);
size_t cdc__auth_sha2_scramble(const char *pw, size_t pwlen, const uint8_t nonce[20], uint8_t out[32]);

/* RSA-OAEP of (pw || NUL) XOR nonce (repeated), as caching_sha2 and
 * sha256_password send it without TLS. Errors from crypto.h. */
int cdc__auth_rsa_password(const char *pw, size_t pwlen, const uint8_t *nonce, size_t nonce_len, const char *pem,
                           size_t pemlen, cdc__buf *out, cdc__err *err);

/* Everything a plugin may need; the caller owns the strings. */
typedef struct cdc__auth {
    cdc__auth_plugin plugin;
    const char *password;
    size_t password_len;
    uint8_t nonce[64];
    size_t nonce_len;
    bool secure;              /* TLS or a unix socket: cleartext is safe */
    bool tls;                 /* TLS itself (mysql_clear_password wants this) */
    bool allow_cleartext;     /* mysql_clear_password without TLS */
    bool get_server_key;      /* may ask the server for its RSA key */
    const char *server_key;   /* PEM given by the user, may be NULL */
    size_t server_key_len;
    int step;                 /* plugin's progress; internal */
    bool fast_ok;             /* caching_sha2: server said the fast path worked */
    bool full_auth;           /* caching_sha2: the full path was taken */
} cdc__auth;

/*
 * Starts `plugin` with `nonce` (initial handshake or auth switch data) and
 * appends its first response to out. CDC_ERR_AUTH_PLUGIN for unknown
 * plugins or when the plugin cannot run safely with the given options
 * (message says which option would allow it); CDC_ERR_PROTOCOL for a
 * nonce of the wrong size.
 */
int cdc__auth_start(cdc__auth *a, cdc__auth_plugin plugin, const uint8_t *nonce, size_t nonce_len, cdc__buf *out,
                    cdc__err *err);

/*
 * Answers one AuthMoreData packet (data = the bytes after the 0x01
 * marker). Appends the reply to out; *send says whether to send it (the
 * caching_sha2 fast-auth notice needs no reply). Errors as auth_start, and
 * CDC_ERR_PROTOCOL for data the plugin does not expect.
 */
int cdc__auth_more(cdc__auth *a, const uint8_t *data, size_t n, cdc__buf *out, bool *send, cdc__err *err);

#endif /* CDC_AUTH_H */
