/*
 * tls.h: TLS (mbedtls 2.28, TLS 1.2) over a connected non-blocking
 * socket, for the in-band upgrade after the SSL request (mbedtls 3.x
 * works too: tests/compat/mbedtls3.sh). Verification
 * follows the MySQL client's modes:
 *
 *   REQUIRED         encrypt, accept any certificate
 *   VERIFY_CA        the chain must lead to ssl.ca (the name is not checked)
 *   VERIFY_IDENTITY  ... and the certificate must name the host (or
 *                    ssl.server_name); mbedtls 2.28 matches DNS names
 *                    only, so an IP address never matches
 *
 * Internal; not installed. One handle per connection; not thread-safe.
 */
#ifndef CDC_TLS_H
#define CDC_TLS_H

#include "util.h"

typedef enum cdc__tls_mode {
    CDC_TLS_DISABLED = 0,
    CDC_TLS_PREFERRED = 1,
    CDC_TLS_REQUIRED = 2,
    CDC_TLS_VERIFY_CA = 3,
    CDC_TLS_VERIFY_IDENTITY = 4,
} cdc__tls_mode;

/* "disabled", "preferred", ... ; parse returns -1 for unknown names. */
const char *cdc__tls_mode_name(cdc__tls_mode m);
int cdc__tls_mode_parse(const char *s);

typedef struct cdc__tls_opts {
    cdc__tls_mode mode;
    const char *ca;          /* PEM file of trusted CAs; needed for VERIFY_* */
    const char *cert;        /* client certificate (PEM), optional */
    const char *key;         /* its private key (PEM), needed with cert */
    const char *server_name; /* name to verify and send as SNI; default host */
    const char *host;        /* what the user connected to, for messages */
} cdc__tls_opts;

typedef struct cdc__tls cdc__tls;

/*
 * Loads CA/certificate/key and runs the handshake on fd with timeout_ms
 * per wait (0 = none). CDC_ERR_CONFIG for unreadable files (names the
 * file), CDC_ERR_TLS_VERIFY with the reason and the names the
 * certificate holds, CDC_ERR_TLS for handshake failures, CDC_ERR_TIMEOUT,
 * CDC_ERR_CLOSED, CDC_ERR_NOMEM. On error *out is NULL.
 */
int cdc__tls_connect(cdc__tls **out, const cdc_allocator *a, const cdc__tls_opts *o, int fd, int timeout_ms,
                     cdc__err *err);
/* Sends close_notify (best effort) and frees; NULL is fine. */
void cdc__tls_free(cdc__tls *t);
void cdc__tls_set_timeout(cdc__tls *t, int timeout_ms);

/* Reads 1..n bytes: count, or CDC_ERR_CLOSED / TIMEOUT / TLS / IO. */
ptrdiff_t cdc__tls_read(cdc__tls *t, void *buf, size_t n, cdc__err *err);
/* Writes all n bytes: CDC_OK or an error as above. */
int cdc__tls_write(cdc__tls *t, const void *buf, size_t n, cdc__err *err);

/* "TLSv1.2", "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384"; static strings. */
const char *cdc__tls_version(const cdc__tls *t);
const char *cdc__tls_cipher(const cdc__tls *t);

#endif /* CDC_TLS_H */
