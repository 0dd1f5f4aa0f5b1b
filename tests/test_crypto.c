/*
 * test_crypto.c: the primitives of crypto.c against published vectors
 * and the servers:
 *   SHA-1, SHA-256, SHA-512  FIPS 180-2 appendix examples ("abc", the
 *                            448-bit message) and the empty message
 *   Ed25519                  RFC 8032 section 7.1 tests 1-3 (public key
 *                            and signature), and the public keys MariaDB
 *                            10.11 stores for ed25519 accounts whose
 *                            passwords are not 32 bytes long
 *   RSA-OAEP (SHA-1)         a round trip with a key generated here (a
 *                            fresh mbedtls key, decrypted by mbedtls' own
 *                            OAEP), randomised ciphertexts, and the
 *                            errors: a key that does not parse, one that
 *                            is not RSA, input too long for the key
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>

#include "crypto.h"
#include "valtest.h"

static void check_hex(const uint8_t *got, size_t n, const char *want_hex)
{
    uint8_t want[128];
    size_t wn = vt_unhex(want_hex, want, sizeof want);
    assert_int_equal(wn, n);
    assert_memory_equal(got, want, n);
}

static const char msg448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

static void test_sha(void **state)
{
    (void)state;
    uint8_t d1[CDC__SHA1_LEN], d256[CDC__SHA256_LEN], d512[CDC__SHA512_LEN];
    cdc__crypto_sha1("abc", 3, NULL, 0, d1);
    check_hex(d1, sizeof d1, "a9993e364706816aba3e25717850c26c9cd0d89d");
    cdc__crypto_sha1("", 0, NULL, 0, d1);
    check_hex(d1, sizeof d1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    cdc__crypto_sha1(msg448, 56, NULL, 0, d1);
    check_hex(d1, sizeof d1, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    /* two runs digest as their concatenation */
    cdc__crypto_sha1("ab", 2, "c", 1, d1);
    check_hex(d1, sizeof d1, "a9993e364706816aba3e25717850c26c9cd0d89d");

    cdc__crypto_sha256("abc", 3, NULL, 0, d256);
    check_hex(d256, sizeof d256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cdc__crypto_sha256("", 0, NULL, 0, d256);
    check_hex(d256, sizeof d256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    cdc__crypto_sha256(msg448, 20, msg448 + 20, 36, d256);
    check_hex(d256, sizeof d256, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    cdc__crypto_sha512("abc", 3, NULL, 0, d512);
    check_hex(d512, sizeof d512,
              "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
              "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

static void test_ed25519_rfc8032(void **state)
{
    (void)state;
    static const struct { const char *sk, *pk, *msg, *sig; } v[] = {
        {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
         "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
         "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
        {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
         "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
         "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t sk[32], msg[8], pub[32], sig[64];
        assert_int_equal(vt_unhex(v[i].sk, sk, sizeof sk), 32);
        size_t mlen = vt_unhex(v[i].msg, msg, sizeof msg);
        assert_int_equal(cdc__crypto_ed25519_public(sk, 32, pub), CDC_OK);
        check_hex(pub, 32, v[i].pk);
        assert_int_equal(cdc__crypto_ed25519_sign(sk, 32, msg, mlen, sig), CDC_OK);
        check_hex(sig, 64, v[i].sig);
    }
}

static void test_ed25519_mariadb_passwords(void **state)
{
    (void)state;
    /* CREATE USER u IDENTIFIED VIA ed25519 USING PASSWORD('secret') on
     * MariaDB 10.11 stores ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY,
     * the base64 of the public key; likewise for the longer password */
    uint8_t pub[32];
    assert_int_equal(cdc__crypto_ed25519_public((const uint8_t *)"secret", 6, pub), CDC_OK);
    check_hex(pub, 32, "648814444520e4f56043a2ec9215e63be7992d2d270bc6dee873e36164786096");
    const char *pw = "correct horse battery staple";
    assert_int_equal(cdc__crypto_ed25519_public((const uint8_t *)pw, strlen(pw), pub), CDC_OK);
    check_hex(pub, 32, "d7eb98a8b4bb27fc975110974792e33e5d136433f96e48155ead4aabd68278be");
    /* signing is deterministic: the same message, the same signature */
    uint8_t s1[64], s2[64];
    assert_int_equal(cdc__crypto_ed25519_sign((const uint8_t *)"secret", 6, (const uint8_t *)"scramble", 8, s1), CDC_OK);
    assert_int_equal(cdc__crypto_ed25519_sign((const uint8_t *)"secret", 6, (const uint8_t *)"scramble", 8, s2), CDC_OK);
    assert_memory_equal(s1, s2, 64);
}

static void test_rng(void **state)
{
    (void)state;
    uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};
    assert_int_equal(cdc__crypto_rng(NULL, a, sizeof a), 0);
    assert_int_equal(cdc__crypto_rng(NULL, b, sizeof b), 0);
    assert_memory_not_equal(a, zero, 32);
    assert_memory_not_equal(a, b, 32);
}

static void test_rsa_oaep_round_trip(void **state)
{
    (void)state;
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    assert_int_equal(mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)), 0);
    assert_int_equal(mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk), cdc__crypto_rng, NULL, 2048, 65537), 0);
    unsigned char pem[2048];
    assert_int_equal(mbedtls_pk_write_pubkey_pem(&pk, pem, sizeof pem), 0);
    (void)mbedtls_rsa_set_padding(mbedtls_pk_rsa(pk), MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA1);

    /* what caching_sha2_password sends: the password with its NUL, XORed
     * with the scramble; any bytes will do for the round trip */
    static const uint8_t msg[] = "s3cr3t password\0";
    uint8_t ct[512], ct2[512], back[512];
    size_t ctlen = 0, ct2len = 0, backlen = 0;
    cdc__err err;
    cdc__err_clear(&err);
    size_t plen = strlen((const char *)pem);
    assert_int_equal(cdc__crypto_rsa_oaep_encrypt((const char *)pem, plen, msg, sizeof msg, ct, sizeof ct, &ctlen, &err),
                     CDC_OK);
    assert_int_equal(ctlen, 256);
    assert_int_equal(mbedtls_pk_decrypt(&pk, ct, ctlen, back, &backlen, sizeof back, cdc__crypto_rng, NULL), 0);
    assert_int_equal(backlen, sizeof msg);
    assert_memory_equal(back, msg, sizeof msg);
    /* OAEP is randomised: the same input encrypts differently */
    assert_int_equal(cdc__crypto_rsa_oaep_encrypt((const char *)pem, plen, msg, sizeof msg, ct2, sizeof ct2, &ct2len, &err),
                     CDC_OK);
    assert_memory_not_equal(ct, ct2, 256);
    /* the longest input a 2048-bit key takes is 256 - 42 = 214 bytes */
    uint8_t big[215];
    memset(big, 'x', sizeof big);
    assert_int_equal(cdc__crypto_rsa_oaep_encrypt((const char *)pem, plen, big, 214, ct, sizeof ct, &ctlen, &err),
                     CDC_OK);
    assert_int_equal(mbedtls_pk_decrypt(&pk, ct, ctlen, back, &backlen, sizeof back, cdc__crypto_rng, NULL), 0);
    assert_int_equal(backlen, 214);
    assert_int_equal(cdc__crypto_rsa_oaep_encrypt((const char *)pem, plen, big, 215, ct, sizeof ct, &ctlen, &err),
                     CDC_ERR_TOO_LARGE);
    assert_non_null(strstr(err.msg, "2048-bit RSA key"));
    /* an output buffer smaller than the key */
    assert_int_equal(cdc__crypto_rsa_oaep_encrypt((const char *)pem, plen, msg, sizeof msg, ct, 100, &ctlen, &err),
                     CDC_ERR_TOO_LARGE);
    mbedtls_pk_free(&pk);
}

static void test_rsa_bad_keys(void **state)
{
    (void)state;
    uint8_t ct[512];
    size_t ctlen = 0;
    cdc__err err;
    cdc__err_clear(&err);
    static const char junk[] = "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n";
    assert_int_equal(cdc__crypto_rsa_oaep_encrypt(junk, strlen(junk), (const uint8_t *)"x", 1, ct, sizeof ct, &ctlen, &err),
                     CDC_ERR_AUTH_PLUGIN);
    assert_non_null(strstr(err.msg, "does not parse"));
    assert_int_equal(cdc__crypto_rsa_oaep_encrypt("", 0, (const uint8_t *)"x", 1, ct, sizeof ct, &ctlen, &err),
                     CDC_ERR_AUTH_PLUGIN);
    /* a P-256 key (openssl genpkey -algorithm EC): parses, is not RSA */
    static const char ec[] = "-----BEGIN PUBLIC KEY-----\n"
                             "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2pBhAT8wrgoPwankK5pf/y3z7KVv\n"
                             "82Ju7ksHdzBzOdbumABCo+g8KaOfB6M1mQE3CiqFOywLTnxxN/i2MQNfsA==\n"
                             "-----END PUBLIC KEY-----\n";
    assert_int_equal(cdc__crypto_rsa_oaep_encrypt(ec, strlen(ec), (const uint8_t *)"x", 1, ct, sizeof ct, &ctlen, &err),
                     CDC_ERR_AUTH_PLUGIN);
    assert_non_null(strstr(err.msg, "not an RSA key"));
    /* a PEM cut short: refused, never read past its length */
    assert_int_equal(cdc__crypto_rsa_oaep_encrypt(ec, 40, (const uint8_t *)"x", 1, ct, sizeof ct, &ctlen, &err),
                     CDC_ERR_AUTH_PLUGIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha),
        cmocka_unit_test(test_ed25519_rfc8032),
        cmocka_unit_test(test_ed25519_mariadb_passwords),
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_rsa_oaep_round_trip),
        cmocka_unit_test(test_rsa_bad_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
