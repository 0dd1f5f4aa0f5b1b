/* crypto.c: the one file that calls mbedtls' crypto (see crypto.h). */
#include "crypto.h"

#include <errno.h>
#include <sys/random.h>

#include <mbedtls/bignum.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#include <mbedtls/version.h>

/* mbedtls 3 renamed the digest calls (2.28's *_ret are gone) and dropped
 * the mode argument of the RSA calls; these keep the code below one text
 * for both (CI builds 2.28, tests/compat/mbedtls3.sh builds 3.x). */
#if MBEDTLS_VERSION_MAJOR >= 3
#define SHA1_STARTS mbedtls_sha1_starts
#define SHA1_UPDATE mbedtls_sha1_update
#define SHA1_FINISH mbedtls_sha1_finish
#define SHA256_STARTS mbedtls_sha256_starts
#define SHA256_UPDATE mbedtls_sha256_update
#define SHA256_FINISH mbedtls_sha256_finish
#define SHA512_STARTS mbedtls_sha512_starts
#define SHA512_UPDATE mbedtls_sha512_update
#define SHA512_FINISH mbedtls_sha512_finish
#define OAEP_ENCRYPT(rsa, rng, in, inlen, out) mbedtls_rsa_rsaes_oaep_encrypt(rsa, rng, NULL, NULL, 0, inlen, in, out)
#else
#define SHA1_STARTS mbedtls_sha1_starts_ret
#define SHA1_UPDATE mbedtls_sha1_update_ret
#define SHA1_FINISH mbedtls_sha1_finish_ret
#define SHA256_STARTS mbedtls_sha256_starts_ret
#define SHA256_UPDATE mbedtls_sha256_update_ret
#define SHA256_FINISH mbedtls_sha256_finish_ret
#define SHA512_STARTS mbedtls_sha512_starts_ret
#define SHA512_UPDATE mbedtls_sha512_update_ret
#define SHA512_FINISH mbedtls_sha512_finish_ret
#define OAEP_ENCRYPT(rsa, rng, in, inlen, out) \
    mbedtls_rsa_rsaes_oaep_encrypt(rsa, rng, NULL, MBEDTLS_RSA_PUBLIC, NULL, 0, inlen, in, out)
#endif

/* The one-shot-of-two-parts digests below cannot fail with valid
 * pointers (no hardware accelerators configured), so
 * their return codes carry no information worth passing up. */
void cdc__crypto_sha1(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[CDC__SHA1_LEN])
{
    mbedtls_sha1_context c;
    mbedtls_sha1_init(&c);
    (void)SHA1_STARTS(&c);
    (void)SHA1_UPDATE(&c, a, alen);
    if (blen) (void)SHA1_UPDATE(&c, b, blen);
    (void)SHA1_FINISH(&c, out);
    mbedtls_sha1_free(&c);
}

void cdc__crypto_sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[CDC__SHA256_LEN])
{
    mbedtls_sha256_context c;
    mbedtls_sha256_init(&c);
    (void)SHA256_STARTS(&c, 0);
    (void)SHA256_UPDATE(&c, a, alen);
    if (blen) (void)SHA256_UPDATE(&c, b, blen);
    (void)SHA256_FINISH(&c, out);
    mbedtls_sha256_free(&c);
}

static void sha512_3(const void *a, size_t alen, const void *b, size_t blen, const void *c3, size_t clen,
                     uint8_t out[CDC__SHA512_LEN])
{
    mbedtls_sha512_context c;
    mbedtls_sha512_init(&c);
    (void)SHA512_STARTS(&c, 0);
    (void)SHA512_UPDATE(&c, a, alen);
    if (blen) (void)SHA512_UPDATE(&c, b, blen);
    if (clen) (void)SHA512_UPDATE(&c, c3, clen);
    (void)SHA512_FINISH(&c, out);
    mbedtls_sha512_free(&c);
}

void cdc__crypto_sha512(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[CDC__SHA512_LEN])
{
    sha512_3(a, alen, b, blen, NULL, 0, out);
}

int cdc__crypto_rng(void *unused, unsigned char *out, size_t n)
{
    (void)unused;
    while (n) {
        ssize_t got = getrandom(out, n, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        out += got;
        n -= (size_t)got;
    }
    return 0;
}

int cdc__crypto_rsa_oaep_encrypt(const char *pem, size_t pemlen, const uint8_t *in, size_t inlen,
                                 uint8_t *out, size_t outcap, size_t *outlen, cdc__err *err)
{
    /* mbedtls wants PEM NUL-terminated with the NUL counted in the length. */
    char *z = cdc__strndup(NULL, pem, pemlen);
    if (!z) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory copying the RSA public key");
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    int rc = CDC_OK, mrc = mbedtls_pk_parse_public_key(&pk, (const unsigned char *)z, pemlen + 1);
    cdc__free(NULL, z);
    if (mrc != 0) {
        rc = cdc__err_set(err, CDC_ERR_AUTH_PLUGIN, "server RSA public key does not parse (mbedtls -0x%04x)",
                          (unsigned)-mrc);
        goto out;
    }
    if (!mbedtls_pk_can_do(&pk, MBEDTLS_PK_RSA)) {
        rc = cdc__err_set(err, CDC_ERR_AUTH_PLUGIN, "server public key is not an RSA key");
        goto out;
    }
    mbedtls_rsa_context *rsa = mbedtls_pk_rsa(pk);
    mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA1);
    size_t klen = mbedtls_rsa_get_len(rsa);
    if (klen < 2 * CDC__SHA1_LEN + 2 || inlen > klen - 2 * CDC__SHA1_LEN - 2) {
        rc = cdc__err_set(err, CDC_ERR_TOO_LARGE, "password of %zu bytes is too long for the server's %zu-bit RSA key",
                          inlen ? inlen - 1 : 0, klen * 8);
        goto out;
    }
    if (outcap < klen) {
        rc = cdc__err_set(err, CDC_ERR_TOO_LARGE, "RSA key of %zu bits is larger than supported", klen * 8);
        goto out;
    }
    mrc = OAEP_ENCRYPT(rsa, cdc__crypto_rng, in, inlen, out);
    if (mrc != 0) {
        rc = cdc__err_set(err, CDC_ERR_AUTH_PLUGIN, "RSA-OAEP encryption failed (mbedtls -0x%04x)", (unsigned)-mrc);
        goto out;
    }
    *outlen = klen;
out:
    mbedtls_pk_free(&pk);
    return rc;
}

/* ---- Ed25519 over mbedtls_mpi ------------------------------------------
 * Points in extended twisted Edwards coordinates (X:Y:Z:T), x = X/Z,
 * y = Y/Z, xy = T/Z, curve -x^2 + y^2 = 1 + d x^2 y^2 mod p = 2^255-19.
 * The unified addition law is complete on this curve, so doubling uses it
 * too; that costs some speed, which one signature per login can afford. */

typedef struct { mbedtls_mpi X, Y, Z, T; } ed_point;

typedef struct {
    mbedtls_mpi p, d2, L;
    mbedtls_mpi t[8]; /* scratch for ed_add */
} ed_ctx;

#define CK(x) do { if ((mrc = (x)) != 0) goto done; } while (0)

static void ed_point_init(ed_point *q) { mbedtls_mpi_init(&q->X); mbedtls_mpi_init(&q->Y); mbedtls_mpi_init(&q->Z); mbedtls_mpi_init(&q->T); }
static void ed_point_free(ed_point *q) { mbedtls_mpi_free(&q->X); mbedtls_mpi_free(&q->Y); mbedtls_mpi_free(&q->Z); mbedtls_mpi_free(&q->T); }

static void ed_ctx_free(ed_ctx *c)
{
    mbedtls_mpi_free(&c->p);
    mbedtls_mpi_free(&c->d2);
    mbedtls_mpi_free(&c->L);
    for (int i = 0; i < 8; i++) mbedtls_mpi_free(&c->t[i]);
}

static int ed_ctx_init(ed_ctx *c)
{
    int mrc;
    mbedtls_mpi_init(&c->p);
    mbedtls_mpi_init(&c->d2);
    mbedtls_mpi_init(&c->L);
    for (int i = 0; i < 8; i++) mbedtls_mpi_init(&c->t[i]);
    CK(mbedtls_mpi_lset(&c->p, 1));
    CK(mbedtls_mpi_shift_l(&c->p, 255));
    CK(mbedtls_mpi_sub_int(&c->p, &c->p, 19));
    /* d = -121665/121666 mod p; we only need 2d. */
    CK(mbedtls_mpi_read_string(&c->d2, 10,
        "37095705934669439343138083508754565189542113879843219016388785533085940283555"));
    CK(mbedtls_mpi_shift_l(&c->d2, 1));
    CK(mbedtls_mpi_mod_mpi(&c->d2, &c->d2, &c->p));
    /* L = 2^252 + 27742317777372353535851937790883648493, the group order. */
    CK(mbedtls_mpi_read_string(&c->L, 16, "1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED"));
done:
    return mrc;
}

static int fmul(ed_ctx *c, mbedtls_mpi *r, const mbedtls_mpi *a, const mbedtls_mpi *b)
{
    int mrc;
    CK(mbedtls_mpi_mul_mpi(r, a, b));
    CK(mbedtls_mpi_mod_mpi(r, r, &c->p));
done:
    return mrc;
}

/* r = a + b (r may alias a or b). */
static int ed_add(ed_ctx *c, ed_point *r, const ed_point *a, const ed_point *b)
{
    int mrc;
    mbedtls_mpi *A = &c->t[0], *B = &c->t[1], *C = &c->t[2], *D = &c->t[3];
    mbedtls_mpi *u = &c->t[4], *v = &c->t[5], *E = &c->t[6], *H = &c->t[7];
    CK(mbedtls_mpi_sub_mpi(u, &a->Y, &a->X));
    CK(mbedtls_mpi_sub_mpi(v, &b->Y, &b->X));
    CK(fmul(c, A, u, v));                     /* A = (Y1-X1)(Y2-X2) */
    CK(mbedtls_mpi_add_mpi(u, &a->Y, &a->X));
    CK(mbedtls_mpi_add_mpi(v, &b->Y, &b->X));
    CK(fmul(c, B, u, v));                     /* B = (Y1+X1)(Y2+X2) */
    CK(fmul(c, u, &a->T, &b->T));
    CK(fmul(c, C, u, &c->d2));                /* C = 2d T1 T2 */
    CK(fmul(c, u, &a->Z, &b->Z));
    CK(mbedtls_mpi_shift_l(u, 1));
    CK(mbedtls_mpi_mod_mpi(D, u, &c->p));     /* D = 2 Z1 Z2 */
    CK(mbedtls_mpi_sub_mpi(E, B, A));
    CK(mbedtls_mpi_add_mpi(H, B, A));
    CK(mbedtls_mpi_sub_mpi(u, D, C));         /* F */
    CK(mbedtls_mpi_add_mpi(v, D, C));         /* G */
    CK(fmul(c, &r->X, E, u));
    CK(fmul(c, &r->Y, v, H));
    CK(fmul(c, &r->T, E, H));
    CK(fmul(c, &r->Z, u, v));
done:
    return mrc;
}

/* r = k * B for the base point B; k is reduced or clamped, < 2^255. */
static int ed_scalarmult_base(ed_ctx *c, ed_point *r, const mbedtls_mpi *k)
{
    int mrc;
    ed_point b;
    ed_point_init(&b);
    CK(mbedtls_mpi_read_string(&b.X, 10,
        "15112221349535400772501151409588531511454012693041857206046113283949847762202"));
    CK(mbedtls_mpi_read_string(&b.Y, 10,
        "46316835694926478169428394003475163141307993866256225615783033603165251855960"));
    CK(mbedtls_mpi_lset(&b.Z, 1));
    CK(fmul(c, &b.T, &b.X, &b.Y));
    CK(mbedtls_mpi_lset(&r->X, 0)); /* neutral element (0, 1) */
    CK(mbedtls_mpi_lset(&r->Y, 1));
    CK(mbedtls_mpi_lset(&r->Z, 1));
    CK(mbedtls_mpi_lset(&r->T, 0));
    for (size_t i = mbedtls_mpi_bitlen(k); i-- > 0;) {
        CK(ed_add(c, r, r, r));
        if (mbedtls_mpi_get_bit(k, i)) CK(ed_add(c, r, r, &b));
    }
done:
    ed_point_free(&b);
    return mrc;
}

/* RFC 8032 encoding: y little-endian, the low bit of x in bit 255. */
static int ed_encode(ed_ctx *c, const ed_point *q, uint8_t out[32])
{
    int mrc;
    mbedtls_mpi zi, x, y;
    mbedtls_mpi_init(&zi);
    mbedtls_mpi_init(&x);
    mbedtls_mpi_init(&y);
    CK(mbedtls_mpi_inv_mod(&zi, &q->Z, &c->p));
    CK(fmul(c, &x, &q->X, &zi));
    CK(fmul(c, &y, &q->Y, &zi));
    CK(mbedtls_mpi_write_binary_le(&y, out, 32));
    out[31] |= (uint8_t)(mbedtls_mpi_get_bit(&x, 0) << 7);
done:
    mbedtls_mpi_free(&zi);
    mbedtls_mpi_free(&x);
    mbedtls_mpi_free(&y);
    return mrc;
}

/* The clamped scalar a and the nonce prefix from az = SHA512(secret). */
static int ed_expand(const uint8_t *secret, size_t len, mbedtls_mpi *a, uint8_t az[64])
{
    cdc__crypto_sha512(secret, len, NULL, 0, az);
    az[0] &= 248;
    az[31] &= 127;
    az[31] |= 64;
    return mbedtls_mpi_read_binary_le(a, az, 32);
}

int cdc__crypto_ed25519_public(const uint8_t *secret, size_t secretlen, uint8_t pub[32])
{
    int mrc;
    ed_ctx c;
    ed_point A;
    mbedtls_mpi a;
    uint8_t az[64];
    ed_point_init(&A);
    mbedtls_mpi_init(&a);
    CK(ed_ctx_init(&c));
    CK(ed_expand(secret, secretlen, &a, az));
    CK(ed_scalarmult_base(&c, &A, &a));
    CK(ed_encode(&c, &A, pub));
done:
    ed_ctx_free(&c);
    ed_point_free(&A);
    mbedtls_mpi_free(&a);
    memset(az, 0, sizeof az);
    return mrc ? CDC_ERR_NOMEM : CDC_OK;
}

int cdc__crypto_ed25519_sign(const uint8_t *secret, size_t secretlen, const uint8_t *msg, size_t msglen,
                             uint8_t sig[64])
{
    int mrc;
    ed_ctx c;
    ed_point P;
    mbedtls_mpi a, r, k;
    uint8_t az[64], h[64], pub[32];
    ed_point_init(&P);
    mbedtls_mpi_init(&a);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&k);
    CK(ed_ctx_init(&c));
    CK(ed_expand(secret, secretlen, &a, az));
    CK(ed_scalarmult_base(&c, &P, &a));
    CK(ed_encode(&c, &P, pub));
    /* r = SHA512(prefix || msg) mod L; R = rB */
    sha512_3(az + 32, 32, msg, msglen, NULL, 0, h);
    CK(mbedtls_mpi_read_binary_le(&r, h, 64));
    CK(mbedtls_mpi_mod_mpi(&r, &r, &c.L));
    CK(ed_scalarmult_base(&c, &P, &r));
    CK(ed_encode(&c, &P, sig));
    /* S = (r + SHA512(R || A || msg) * a) mod L */
    sha512_3(sig, 32, pub, 32, msg, msglen, h);
    CK(mbedtls_mpi_read_binary_le(&k, h, 64));
    CK(mbedtls_mpi_mod_mpi(&k, &k, &c.L));
    CK(mbedtls_mpi_mul_mpi(&k, &k, &a));
    CK(mbedtls_mpi_add_mpi(&k, &k, &r));
    CK(mbedtls_mpi_mod_mpi(&k, &k, &c.L));
    CK(mbedtls_mpi_write_binary_le(&k, sig + 32, 32));
done:
    ed_ctx_free(&c);
    ed_point_free(&P);
    mbedtls_mpi_free(&a);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&k);
    memset(az, 0, sizeof az);
    return mrc ? CDC_ERR_NOMEM : CDC_OK;
}
