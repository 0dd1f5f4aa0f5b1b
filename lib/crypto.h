/*
 * crypto.h: every cryptographic primitive the client needs, so that an
 * mbedtls API change (2.28 -> 3.x) touches crypto.c only. Digests, RSA-OAEP
 * encryption with a PEM public key (caching_sha2_password and
 * sha256_password without TLS), random bytes, and an Ed25519 signer for
 * MariaDB's client_ed25519. Internal; not installed. All functions are
 * thread-safe (no shared state).
 */
#ifndef CDC_CRYPTO_H
#define CDC_CRYPTO_H

#include "util.h"

#define CDC__SHA1_LEN 20
#define CDC__SHA256_LEN 32
#define CDC__SHA512_LEN 64

/* Digest of the concatenation of up to two runs (b may be NULL/0). */
void cdc__crypto_sha1(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[CDC__SHA1_LEN]);
void cdc__crypto_sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[CDC__SHA256_LEN]);
void cdc__crypto_sha512(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[CDC__SHA512_LEN]);

/* Fills out[0..n) from the kernel's CSPRNG. Returns 0 or -1. Its shape is
 * mbedtls' f_rng so tls.c can hand it to the TLS layer. */
int cdc__crypto_rng(void *unused, unsigned char *out, size_t n);

/*
 * RSA-OAEP (SHA-1, as MySQL uses it) encryption of in[0..inlen) with the
 * public key `pem` (PEM "BEGIN PUBLIC KEY" text, need not be NUL-
 * terminated). Writes the ciphertext into out (outcap >= key size, 512 is
 * enough for 4096-bit keys) and its length into *outlen.
 * Errors: CDC_ERR_AUTH_PLUGIN for a key that does not parse or is not RSA,
 * CDC_ERR_TOO_LARGE when the input is longer than the key allows
 * (keybytes - 42), CDC_ERR_NOMEM.
 */
int cdc__crypto_rsa_oaep_encrypt(const char *pem, size_t pemlen, const uint8_t *in, size_t inlen,
                                 uint8_t *out, size_t outcap, size_t *outlen, cdc__err *err);

/*
 * Ed25519 signature as MariaDB's client_ed25519 makes it: the "secret
 * key" is the password of any length, az = SHA512(password). For a 32-byte
 * password this is exactly RFC 8032 Ed25519 with the password as seed.
 * Writes R||S (64 bytes) into sig; returns CDC_OK or CDC_ERR_NOMEM.
 * Not constant-time (it runs once per login on the client's own secret).
 */
int cdc__crypto_ed25519_sign(const uint8_t *secret, size_t secretlen, const uint8_t *msg, size_t msglen,
                             uint8_t sig[64]);
/* The public key A = aB for the same secret; for tests and diagnostics. */
int cdc__crypto_ed25519_public(const uint8_t *secret, size_t secretlen, uint8_t pub[32]);

#endif /* CDC_CRYPTO_H */
