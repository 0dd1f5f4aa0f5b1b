/*
 * test_tls.c: tls.c without a database server. Mode names; the option
 * checks and their messages (a verifying mode without ssl.ca, files that
 * are missing or hold no certificate, a certificate without ssl.key);
 * peers that close, send something that is not TLS, or stay silent; and
 * full handshakes against an mbedtls server on the other end of a
 * socketpair, run in a thread here, whose self-signed certificate
 * (CN and DNS name struct9.test) is checked in every mode: accepted with
 * itself as ssl.ca, refused with another CA ("not signed by a CA in
 * ssl.ca") and, for verify_identity, under another name ("name
 * mismatch ... struct9.test"), with bytes sent both ways after success.
 *
 * The certificates were made once with
 *   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes
 *       -days 36500 -subj /CN=struct9.test -addext subjectAltName=DNS:struct9.test
 * (and -subj /CN=other.test for the other CA).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "crypto.h"
#include "testalloc.h"
#include "tls.h"

static const char server_crt[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBnTCCAUSgAwIBAgIUMigK8KkLC95tsbFglc0xQQbM1qIwCgYIKoZIzj0EAwIw\n"
    "FzEVMBMGA1UEAwwMc3RydWN0OS50ZXN0MCAXDTI2MTIwNjA1MjM1MVoYDzIxMjYx\n"
    "MTEyMDUyMzUxWjAXMRUwEwYDVQQDDAxzdHJ1Y3Q5LnRlc3QwWTATBgcqhkjOPQIB\n"
    "BggqhkjOPQMBBwNCAARBXh/+I47kxNBigCn/wugLitsvpvK2u63M+JySkjcGDCzb\n"
    "1xeLzgN5AAMeOfksEiElQNiMUONoKRgAiuQQ2NfYo2wwajAdBgNVHQ4EFgQU7MMB\n"
    "oStXhFBN8dfrUrkgIfgNMPYwHwYDVR0jBBgwFoAU7MMBoStXhFBN8dfrUrkgIfgN\n"
    "MPYwDwYDVR0TAQH/BAUwAwEB/zAXBgNVHREEEDAOggxzdHJ1Y3Q5LnRlc3QwCgYI\n"
    "KoZIzj0EAwIDRwAwRAIgToYVhQso5Ivn/XbtSL52mys0qrBLRDa7lx2fw68rZhoC\n"
    "IFpzJ7rfI49AQdKcP8JScuNY9thv6kFSAhzMWZ8IPaxb\n"
    "-----END CERTIFICATE-----\n";
static const char server_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgays6Qm6gRfOmGP7G\n"
    "mhYEcEkmsdFPGt0jyq+wk2bRA4ihRANCAARBXh/+I47kxNBigCn/wugLitsvpvK2\n"
    "u63M+JySkjcGDCzb1xeLzgN5AAMeOfksEiElQNiMUONoKRgAiuQQ2NfY\n"
    "-----END PRIVATE KEY-----\n";
static const char other_ca[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBgTCCASegAwIBAgIUWb36f2Btucg1b1mUUevtPwBpVPkwCgYIKoZIzj0EAwIw\n"
    "FTETMBEGA1UEAwwKb3RoZXIudGVzdDAgFw0yNjEyMDYwNTIzNTZaGA8yMTI2MTEx\n"
    "MjA1MjM1NlowFTETMBEGA1UEAwwKb3RoZXIudGVzdDBZMBMGByqGSM49AgEGCCqG\n"
    "SM49AwEHA0IABKdyLWhd0IsxFhbtFYVn2XHEr2rLG24GWlFK7lrtG02wqkvZiQja\n"
    "N19C5JkKVl233GUExppvQMjKjUY7JsYIFbajUzBRMB0GA1UdDgQWBBSvnj0rT/Au\n"
    "6uw4HdGIqCLa5x42mDAfBgNVHSMEGDAWgBSvnj0rT/Au6uw4HdGIqCLa5x42mDAP\n"
    "BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQChcpfen+OoVrFWmxSg\n"
    "0s9H7UesbUkNf7o1ahuZpIza1wIgHOX/r7hi8qLWtGi7Bfa9NSrijQN4zWJBXTBS\n"
    "8DBjDt0=\n"
    "-----END CERTIFICATE-----\n";

static char dir[64], crt_path[128], key_path[128], other_path[128], junk_path[128];

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* mbedtls_net_send in the test's server writes with write() */
    snprintf(dir, sizeof dir, "/tmp/cdc-test-tls-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(crt_path, sizeof crt_path, "%s/server.crt", dir);
    snprintf(key_path, sizeof key_path, "%s/server.key", dir);
    snprintf(other_path, sizeof other_path, "%s/other-ca.crt", dir);
    snprintf(junk_path, sizeof junk_path, "%s/junk.pem", dir);
    put_file(crt_path, server_crt);
    put_file(key_path, server_key);
    put_file(other_path, other_ca);
    put_file(junk_path, "this is not a certificate\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(crt_path);
    unlink(key_path);
    unlink(other_path);
    unlink(junk_path);
    rmdir(dir);
    return 0;
}

/* ---- the other end of the socketpair ------------------------------------ */

enum { PEER_CLOSE, PEER_GARBAGE, PEER_SILENT, PEER_TLS };
typedef struct peer { int fd, kind, result; char got[64]; } peer;

static void *peer_main(void *arg)
{
    peer *p = arg;
    if (p->kind == PEER_CLOSE) {
        char b[512];
        (void)!read(p->fd, b, sizeof b); /* the ClientHello */
        close(p->fd);
        return NULL;
    }
    if (p->kind == PEER_GARBAGE) {
        char b[512];
        (void)!read(p->fd, b, sizeof b);
        static const char http[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        (void)!write(p->fd, http, sizeof http - 1);
        usleep(300 * 1000);
        close(p->fd);
        return NULL;
    }
    if (p->kind == PEER_SILENT) {
        usleep(600 * 1000);
        close(p->fd);
        return NULL;
    }
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt crt;
    mbedtls_pk_context key;
    mbedtls_net_context net = {p->fd};
    mbedtls_ssl_init(&ssl);
    mbedtls_ssl_config_init(&conf);
    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&key);
    int rc = mbedtls_x509_crt_parse(&crt, (const unsigned char *)server_crt, sizeof server_crt);
#if MBEDTLS_VERSION_MAJOR >= 3
    if (!rc) rc = mbedtls_pk_parse_key(&key, (const unsigned char *)server_key, sizeof server_key, NULL, 0,
                                       cdc__crypto_rng, NULL);
#else
    if (!rc) rc = mbedtls_pk_parse_key(&key, (const unsigned char *)server_key, sizeof server_key, NULL, 0);
#endif
    if (!rc) rc = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                              MBEDTLS_SSL_PRESET_DEFAULT);
    if (!rc) {
        mbedtls_ssl_conf_rng(&conf, cdc__crypto_rng, NULL);
        rc = mbedtls_ssl_conf_own_cert(&conf, &crt, &key);
    }
    if (!rc) rc = mbedtls_ssl_setup(&ssl, &conf);
    if (!rc) {
        mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, mbedtls_net_recv, NULL);
        while ((rc = mbedtls_ssl_handshake(&ssl)) == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {}
    }
    if (!rc) {
        /* echo one message with a prefix, then close politely */
        unsigned char b[32];
        int n = mbedtls_ssl_read(&ssl, b, sizeof b);
        if (n > 0) {
            snprintf(p->got, sizeof p->got, "%.*s", n, (const char *)b);
            char reply[64];
            int m = snprintf(reply, sizeof reply, "echo:%.*s", n, (const char *)b);
            (void)mbedtls_ssl_write(&ssl, (const unsigned char *)reply, (size_t)m);
        }
        (void)mbedtls_ssl_close_notify(&ssl);
    }
    p->result = rc;
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_x509_crt_free(&crt);
    mbedtls_pk_free(&key);
    close(p->fd);
    return NULL;
}

/* Runs a client handshake with o against a peer of `kind`. */
static int handshake(const cdc__tls_opts *o, int kind, int timeout_ms, cdc__err *err, cdc__tls **out)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    static peer p;
    memset(&p, 0, sizeof p);
    p.fd = sv[1];
    p.kind = kind;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, peer_main, &p), 0);
    cdc__tls *t = NULL;
    cdc__err_clear(err);
    int rc = cdc__tls_connect(&t, &test_alloc, o, sv[0], timeout_ms, err);
    if (rc == CDC_OK) {
        assert_non_null(t);
        const char *ver = cdc__tls_version(t); /* 1.2 with mbedtls 2.28; 3.x may agree on 1.3 */
        if (strcmp(ver, "TLSv1.2") && strcmp(ver, "TLSv1.3")) fail_msg("TLS version %s", ver);
        assert_non_null(cdc__tls_cipher(t));
        assert_int_equal(cdc__tls_write(t, "ping", 4, err), CDC_OK);
        char b[64];
        ptrdiff_t n = cdc__tls_read(t, b, sizeof b, err);
        assert_int_equal(n, 9);
        assert_memory_equal(b, "echo:ping", 9);
        /* the server's close_notify reads as a closed connection */
        assert_int_equal(cdc__tls_read(t, b, sizeof b, err), CDC_ERR_CLOSED);
    } else {
        assert_null(t);
    }
    if (out) *out = t;
    else cdc__tls_free(t);
    close(sv[0]);
    pthread_join(th, NULL);
    return rc;
}

static cdc__tls_opts opts(cdc__tls_mode mode, const char *ca, const char *server_name)
{
    cdc__tls_opts o;
    memset(&o, 0, sizeof o);
    o.mode = mode;
    o.ca = ca;
    o.server_name = server_name;
    o.host = "127.0.0.1";
    return o;
}

/* ---- tests -------------------------------------------------------------- */

static void test_mode_names(void **state)
{
    (void)state;
    static const char *names[] = {"disabled", "preferred", "required", "verify_ca", "verify_identity"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(cdc__tls_mode_name((cdc__tls_mode)i), names[i]);
        assert_int_equal(cdc__tls_mode_parse(names[i]), i);
    }
    assert_int_equal(cdc__tls_mode_parse("VERIFY_IDENTITY"), CDC_TLS_VERIFY_IDENTITY);
    assert_int_equal(cdc__tls_mode_parse("verify-ca"), -1);
    assert_int_equal(cdc__tls_mode_parse(""), -1);
    assert_string_equal(cdc__tls_mode_name((cdc__tls_mode)7), "?");
    cdc__tls_free(NULL);
}

static void test_option_errors(void **state)
{
    (void)state;
    cdc__err err;
    cdc__tls *t = (cdc__tls *)&err; /* must come back NULL */
    /* verifying modes need a CA; the check comes before any byte is sent */
    cdc__tls_opts o = opts(CDC_TLS_VERIFY_CA, NULL, NULL);
    cdc__err_clear(&err);
    assert_int_equal(cdc__tls_connect(&t, &test_alloc, &o, -1, 100, &err), CDC_ERR_CONFIG);
    assert_null(t);
    assert_string_equal(err.msg, "TLS: ssl.mode=verify_ca needs ssl.ca (a CA file to verify against)");
    o.mode = CDC_TLS_VERIFY_IDENTITY;
    o.ca = "";
    assert_int_equal(cdc__tls_connect(&t, &test_alloc, &o, -1, 100, &err), CDC_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "ssl.mode=verify_identity needs ssl.ca"));
    /* files that are missing or hold no certificate are named */
    o.ca = "/nonexistent/ca.pem";
    assert_int_equal(cdc__tls_connect(&t, &test_alloc, &o, -1, 100, &err), CDC_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "cannot load CA file '/nonexistent/ca.pem'"));
    o.ca = junk_path;
    assert_int_equal(cdc__tls_connect(&t, &test_alloc, &o, -1, 100, &err), CDC_ERR_CONFIG);
    assert_non_null(strstr(err.msg, junk_path));
    /* client certificate: unreadable, no key, unreadable key */
    o = opts(CDC_TLS_REQUIRED, NULL, NULL);
    o.cert = junk_path;
    assert_int_equal(cdc__tls_connect(&t, &test_alloc, &o, -1, 100, &err), CDC_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "cannot load client certificate"));
    o.cert = crt_path;
    assert_int_equal(cdc__tls_connect(&t, &test_alloc, &o, -1, 100, &err), CDC_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "given without ssl.key"));
    o.key = junk_path;
    assert_int_equal(cdc__tls_connect(&t, &test_alloc, &o, -1, 100, &err), CDC_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "cannot load client key"));
    assert_non_null(strstr(err.msg, junk_path));
    assert_null(t);
}

static void test_peers_that_do_not_speak_tls(void **state)
{
    (void)state;
    cdc__err err;
    cdc__tls_opts o = opts(CDC_TLS_REQUIRED, NULL, NULL);
    assert_int_equal(handshake(&o, PEER_CLOSE, 2000, &err, NULL), CDC_ERR_CLOSED);
    assert_non_null(strstr(err.msg, "server closed the connection during handshake"));
    int rc = handshake(&o, PEER_GARBAGE, 2000, &err, NULL);
    if (rc != CDC_ERR_TLS) fail_msg("garbage: %s (%s)", cdc_err_name(rc), err.msg);
    assert_non_null(strstr(err.msg, "TLS: handshake failed"));
    assert_int_equal(handshake(&o, PEER_SILENT, 200, &err, NULL), CDC_ERR_TIMEOUT);
    assert_string_equal(err.msg, "TLS: timed out during handshake");
}

static void test_handshakes(void **state)
{
    (void)state;
    cdc__err err;
    /* required: any certificate; verify_ca: signed by ssl.ca, any name;
     * verify_identity: and named struct9.test */
    cdc__tls_opts o = opts(CDC_TLS_REQUIRED, NULL, NULL);
    int rc = handshake(&o, PEER_TLS, 5000, &err, NULL);
    if (rc) fail_msg("required: %s", err.msg);
    o = opts(CDC_TLS_VERIFY_CA, crt_path, "elsewhere.test");
    rc = handshake(&o, PEER_TLS, 5000, &err, NULL);
    if (rc) fail_msg("verify_ca: %s", err.msg);
    o = opts(CDC_TLS_VERIFY_IDENTITY, crt_path, "struct9.test");
    rc = handshake(&o, PEER_TLS, 5000, &err, NULL);
    if (rc) fail_msg("verify_identity: %s", err.msg);

    /* the wrong name: said plainly, with the names the certificate holds */
    o = opts(CDC_TLS_VERIFY_IDENTITY, crt_path, "elsewhere.test");
    assert_int_equal(handshake(&o, PEER_TLS, 5000, &err, NULL), CDC_ERR_TLS_VERIFY);
    assert_string_equal(err.msg, "TLS: certificate verify failed for elsewhere.test: name mismatch "
                                 "(server cert is for struct9.test)");
    /* no server name: the host is checked, and an IP address never matches */
    o = opts(CDC_TLS_VERIFY_IDENTITY, crt_path, NULL);
    assert_int_equal(handshake(&o, PEER_TLS, 5000, &err, NULL), CDC_ERR_TLS_VERIFY);
    assert_non_null(strstr(err.msg, "for 127.0.0.1: name mismatch"));
    /* another CA: the untrusted chain comes first, then every reason */
    o = opts(CDC_TLS_VERIFY_CA, other_path, NULL);
    assert_int_equal(handshake(&o, PEER_TLS, 5000, &err, NULL), CDC_ERR_TLS_VERIFY);
    assert_non_null(strstr(err.msg, "not signed by a CA in ssl.ca"));
    o = opts(CDC_TLS_VERIFY_IDENTITY, other_path, "elsewhere.test");
    assert_int_equal(handshake(&o, PEER_TLS, 5000, &err, NULL), CDC_ERR_TLS_VERIFY);
    const char *untrusted = strstr(err.msg, "not signed by a CA in ssl.ca");
    assert_non_null(untrusted);
    assert_non_null(strstr(untrusted, "CN"));   /* mbedtls' reason for the name follows */
    assert_non_null(strstr(err.msg, "(server cert is for struct9.test)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode_names),
        cmocka_unit_test(test_option_errors),
        cmocka_unit_test(test_peers_that_do_not_speak_tls),
        cmocka_unit_test(test_handshakes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
