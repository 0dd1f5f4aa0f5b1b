/* Unit tests for auth.c and crypto.c: each plugin's scramble against
 * vectors computed independently (Python hashlib / cryptography, RFC 8032),
 * RSA-OAEP round trips with a key made here, and the plugins' steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/version.h>

/* mbedtls 3 dropped the mode argument (lib/crypto.c does the same). */
#if MBEDTLS_VERSION_MAJOR >= 3
#define OAEP_DECRYPT(rsa, olen, in, out, cap) mbedtls_rsa_rsaes_oaep_decrypt(rsa, cdc__crypto_rng, NULL, NULL, 0, olen, in, out, cap)
#else
#define OAEP_DECRYPT(rsa, olen, in, out, cap) \
    mbedtls_rsa_rsaes_oaep_decrypt(rsa, cdc__crypto_rng, NULL, MBEDTLS_RSA_PRIVATE, NULL, 0, olen, in, out, cap)
#endif

#include "auth.h"
#include "crypto.h"

static void unhex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static const uint8_t nonce20[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};

/* python3: s1=sha1(pw); s1 ^ sha1(nonce + sha1(s1)) */
static void test_native_scramble(void **state)
{
    (void)state;
    uint8_t out[20], want[20];
    unhex("aa753095f94370f86b5e0951f4b4c99e12f3c229", want, 20);
    assert_int_equal(cdc__auth_native_scramble("cdc-test-pw", 11, nonce20, out), 20);
    assert_memory_equal(out, want, 20);
    assert_int_equal(cdc__auth_native_scramble("", 0, nonce20, out), 0); /* empty password: empty reply */
}

/* python3: h1=sha256(pw); h1 ^ sha256(sha256(h1) + nonce) */
static void test_sha2_scramble(void **state)
{
    (void)state;
    uint8_t out[32], want[32];
    unhex("33344374a20b0554936eecd0f0d289b77697aa44a4b2fa60eb57a570af3596dd", want, 32);
    assert_int_equal(cdc__auth_sha2_scramble("cdc-test-pw", 11, nonce20, out), 32);
    assert_memory_equal(out, want, 32);
    assert_int_equal(cdc__auth_sha2_scramble("", 0, nonce20, out), 0);
}

/* RFC 8032 section 7.1 TEST 1 and TEST 2, and a 32-byte message signed by
 * Python's cryptography (Ed25519PrivateKey.from_private_bytes(seed)). */
static void test_ed25519_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *seed, *msg, *pub, *sig;
    } v[] = {
        {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "72",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
        {"dd68c718ca147dac84c05b57e67330e147eb327654a59a7b5154ef4addfda33d",
         "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
         "1f79f31cd6e79acbb79fd72a271945e77203459ea03f9dd46d31c1175475aab1",
         "726e16eb90d922ffaaa01e11efd4000e1ad2af7670086a39f3a15f140c63ac7dd683f95e42441ad1640e1973573bfb910808fe3c73c30f320976df25059f3e0a"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t seed[32], msg[32], pub[32], sig[64], got_pub[32], got_sig[64];
        size_t mlen = strlen(v[i].msg) / 2;
        unhex(v[i].seed, seed, 32);
        unhex(v[i].msg, msg, mlen);
        unhex(v[i].pub, pub, 32);
        unhex(v[i].sig, sig, 64);
        assert_int_equal(cdc__crypto_ed25519_public(seed, 32, got_pub), CDC_OK);
        assert_memory_equal(got_pub, pub, 32);
        assert_int_equal(cdc__crypto_ed25519_sign(seed, 32, msg, mlen, got_sig), CDC_OK);
        assert_memory_equal(got_sig, sig, 64);
    }
}

/* The plugin step signs the 32-byte nonce with the password as secret. */
static void test_ed25519_plugin(void **state)
{
    (void)state;
    uint8_t seed[32], nonce[32], sig[64];
    unhex("dd68c718ca147dac84c05b57e67330e147eb327654a59a7b5154ef4addfda33d", seed, 32);
    unhex("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", nonce, 32);
    unhex("726e16eb90d922ffaaa01e11efd4000e1ad2af7670086a39f3a15f140c63ac7dd683f95e42441ad1640e1973573bfb910808fe3c73c30f320976df25059f3e0a",
          sig, 64);
    cdc__auth a = {.password = (const char *)seed, .password_len = 32};
    cdc__buf out;
    cdc__buf_init(&out, NULL);
    cdc__err e;
    assert_int_equal(cdc__auth_start(&a, CDC_AUTH_ED25519, nonce, 32, &out, &e), CDC_OK);
    assert_int_equal(out.len, 64);
    assert_memory_equal(out.data, sig, 64);
    cdc__buf_reset(&out);
    assert_int_equal(cdc__auth_start(&a, CDC_AUTH_ED25519, nonce, 20, &out, &e), CDC_ERR_PROTOCOL);
    cdc__buf_free(&out);
}

/* A 1024-bit key made here; its public half as PEM in *pem. */
static void make_key(mbedtls_pk_context *pk, char *pem, size_t cap)
{
    mbedtls_pk_init(pk);
    assert_int_equal(mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)), 0);
    assert_int_equal(mbedtls_rsa_gen_key(mbedtls_pk_rsa(*pk), cdc__crypto_rng, NULL, 1024, 65537), 0);
    assert_int_equal(mbedtls_pk_write_pubkey_pem(pk, (unsigned char *)pem, cap), 0);
}

static void test_rsa_password_roundtrip(void **state)
{
    (void)state;
    mbedtls_pk_context pk;
    char pem[2048];
    make_key(&pk, pem, sizeof pem);
    cdc__buf out;
    cdc__buf_init(&out, NULL);
    cdc__err e;
    const char *pw = "a somewhat longer password, 40 bytes ...";
    assert_int_equal(cdc__auth_rsa_password(pw, strlen(pw), nonce20, 20, pem, strlen(pem), &out, &e), CDC_OK);
    assert_int_equal(out.len, 128);
    mbedtls_rsa_context *rsa = mbedtls_pk_rsa(pk);
    mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA1);
    uint8_t plain[128];
    size_t plen = 0;
    assert_int_equal(OAEP_DECRYPT(rsa, &plen, out.data, plain, sizeof plain), 0);
    /* (password || NUL) XOR the nonce, repeated */
    assert_int_equal(plen, strlen(pw) + 1);
    for (size_t i = 0; i < plen; i++) plain[i] ^= nonce20[i % 20];
    assert_memory_equal(plain, pw, plen);
    /* too long for a 1024-bit key (86 bytes max) */
    char longpw[100];
    memset(longpw, 'p', sizeof longpw);
    cdc__buf_reset(&out);
    assert_int_equal(cdc__auth_rsa_password(longpw, sizeof longpw, nonce20, 20, pem, strlen(pem), &out, &e),
                     CDC_ERR_TOO_LARGE);
    /* garbage instead of a key */
    assert_int_equal(cdc__auth_rsa_password(pw, 3, nonce20, 20, "-----BEGIN PUBLIC KEY-----\nxx", 29, &out, &e),
                     CDC_ERR_AUTH_PLUGIN);
    assert_non_null(strstr(e.msg, "does not parse"));
    cdc__buf_free(&out);
    mbedtls_pk_free(&pk);
}

/* caching_sha2_password: fast path, and the full path's three endings. */
static void test_caching_sha2_steps(void **state)
{
    (void)state;
    cdc__buf out;
    cdc__buf_init(&out, NULL);
    cdc__err e;
    bool send;
    const uint8_t fast_ok = 3, full = 4;

    cdc__auth a = {.password = "pw", .password_len = 2};
    assert_int_equal(cdc__auth_start(&a, CDC_AUTH_CACHING_SHA2, nonce20, 20, &out, &e), CDC_OK);
    assert_int_equal(out.len, 32);
    cdc__buf_reset(&out);
    assert_int_equal(cdc__auth_more(&a, &fast_ok, 1, &out, &send, &e), CDC_OK);
    assert_false(send);
    assert_true(a.fast_ok);

    /* full auth over TLS: cleartext with NUL */
    cdc__auth t = {.password = "pw", .password_len = 2, .secure = true, .tls = true};
    assert_int_equal(cdc__auth_start(&t, CDC_AUTH_CACHING_SHA2, nonce20, 20, &out, &e), CDC_OK);
    cdc__buf_reset(&out);
    assert_int_equal(cdc__auth_more(&t, &full, 1, &out, &send, &e), CDC_OK);
    assert_true(send);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.data, "pw", 3);

    /* full auth, no TLS, no key: refuses and says what would help */
    cdc__auth n = {.password = "pw", .password_len = 2};
    cdc__buf_reset(&out);
    assert_int_equal(cdc__auth_start(&n, CDC_AUTH_CACHING_SHA2, nonce20, 20, &out, &e), CDC_OK);
    cdc__buf_reset(&out);
    assert_int_equal(cdc__auth_more(&n, &full, 1, &out, &send, &e), CDC_ERR_AUTH_PLUGIN);
    assert_non_null(strstr(e.msg, "server_public_key_path"));

    /* full auth, may fetch the key: asks (0x02), then encrypts with it */
    mbedtls_pk_context pk;
    char pem[2048];
    make_key(&pk, pem, sizeof pem);
    cdc__auth k = {.password = "pw", .password_len = 2, .get_server_key = true};
    cdc__buf_reset(&out);
    assert_int_equal(cdc__auth_start(&k, CDC_AUTH_CACHING_SHA2, nonce20, 20, &out, &e), CDC_OK);
    cdc__buf_reset(&out);
    assert_int_equal(cdc__auth_more(&k, &full, 1, &out, &send, &e), CDC_OK);
    assert_true(send);
    assert_int_equal(out.len, 1);
    assert_int_equal(out.data[0], 2);
    cdc__buf_reset(&out);
    assert_int_equal(cdc__auth_more(&k, (const uint8_t *)pem, strlen(pem), &out, &send, &e), CDC_OK);
    assert_true(send);
    assert_int_equal(out.len, 128);
    /* nothing more is expected */
    assert_int_equal(cdc__auth_more(&k, &full, 1, &out, &send, &e), CDC_ERR_PROTOCOL);
    /* unknown notice */
    const uint8_t junk = 9;
    assert_int_equal(cdc__auth_start(&a, CDC_AUTH_CACHING_SHA2, nonce20, 20, &out, &e), CDC_OK);
    assert_int_equal(cdc__auth_more(&a, &junk, 1, &out, &send, &e), CDC_ERR_PROTOCOL);
    mbedtls_pk_free(&pk);
    cdc__buf_free(&out);
}

static void test_sha256_and_clear(void **state)
{
    (void)state;
    cdc__buf out;
    cdc__buf_init(&out, NULL);
    cdc__err e;
    /* sha256_password over TLS: cleartext at once */
    cdc__auth t = {.password = "pw", .password_len = 2, .secure = true, .tls = true};
    assert_int_equal(cdc__auth_start(&t, CDC_AUTH_SHA256, nonce20, 20, &out, &e), CDC_OK);
    assert_memory_equal(out.data, "pw", 3);
    /* without TLS, may fetch: the one-byte key request */
    cdc__auth k = {.password = "pw", .password_len = 2, .get_server_key = true};
    cdc__buf_reset(&out);
    assert_int_equal(cdc__auth_start(&k, CDC_AUTH_SHA256, nonce20, 20, &out, &e), CDC_OK);
    assert_int_equal(out.len, 1);
    assert_int_equal(out.data[0], 1);
    /* mysql_clear_password: refused without TLS unless allowed */
    cdc__auth c = {.password = "pw", .password_len = 2};
    cdc__buf_reset(&out);
    assert_int_equal(cdc__auth_start(&c, CDC_AUTH_CLEAR, nonce20, 20, &out, &e), CDC_ERR_AUTH_PLUGIN);
    assert_non_null(strstr(e.msg, "allow_cleartext_without_tls"));
    c.allow_cleartext = true;
    assert_int_equal(cdc__auth_start(&c, CDC_AUTH_CLEAR, nonce20, 20, &out, &e), CDC_OK);
    assert_memory_equal(out.data, "pw", 3);
    /* native with a short nonce */
    assert_int_equal(cdc__auth_start(&c, CDC_AUTH_NATIVE, nonce20, 8, &out, &e), CDC_ERR_PROTOCOL);
    cdc__buf_free(&out);
}

static void test_plugin_names(void **state)
{
    (void)state;
    assert_int_equal(cdc__auth_plugin_find((const uint8_t *)"caching_sha2_password", 21), CDC_AUTH_CACHING_SHA2);
    assert_int_equal(cdc__auth_plugin_find((const uint8_t *)"client_ed25519", 14), CDC_AUTH_ED25519);
    assert_int_equal(cdc__auth_plugin_find((const uint8_t *)"auth_gssapi_client", 18), CDC_AUTH_UNKNOWN);
    assert_int_equal(cdc__auth_plugin_find((const uint8_t *)"mysql_native_passwor", 20), CDC_AUTH_UNKNOWN);
    assert_string_equal(cdc__auth_plugin_name(CDC_AUTH_SHA256), "sha256_password");
}

static void test_digests(void **state)
{
    (void)state;
    /* FIPS 180 "abc" vectors, fed in two parts */
    uint8_t d[64], want[64];
    cdc__crypto_sha1("a", 1, "bc", 2, d);
    unhex("a9993e364706816aba3e25717850c26c9cd0d89d", want, 20);
    assert_memory_equal(d, want, 20);
    cdc__crypto_sha256("ab", 2, "c", 1, d);
    unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
    assert_memory_equal(d, want, 32);
    cdc__crypto_sha512("abc", 3, NULL, 0, d);
    unhex("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
          want, 64);
    assert_memory_equal(d, want, 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_scramble),     cmocka_unit_test(test_sha2_scramble),
        cmocka_unit_test(test_ed25519_vectors),     cmocka_unit_test(test_ed25519_plugin),
        cmocka_unit_test(test_rsa_password_roundtrip), cmocka_unit_test(test_caching_sha2_steps),
        cmocka_unit_test(test_sha256_and_clear),    cmocka_unit_test(test_plugin_names),
        cmocka_unit_test(test_digests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
