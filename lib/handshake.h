/*
 * handshake.h: the connection phase of the MySQL protocol, without I/O:
 * the server's initial handshake (v10), the client's SSL request and
 * handshake response (with connection attributes), auth switch requests,
 * and server version/flavour detection. Internal; not installed.
 */
#ifndef CDC_HANDSHAKE_H
#define CDC_HANDSHAKE_H

#include "util.h"

/* Capability flags (both servers agree on these bits). */
enum {
    CDC_CAP_LONG_PASSWORD = 1u << 0,  /* MariaDB: CLIENT_MYSQL when sent by a MySQL server */
    CDC_CAP_FOUND_ROWS = 1u << 1,
    CDC_CAP_LONG_FLAG = 1u << 2,
    CDC_CAP_CONNECT_WITH_DB = 1u << 3,
    CDC_CAP_COMPRESS = 1u << 5,
    CDC_CAP_LOCAL_FILES = 1u << 7,
    CDC_CAP_PROTOCOL_41 = 1u << 9,
    CDC_CAP_SSL = 1u << 11,
    CDC_CAP_TRANSACTIONS = 1u << 13,
    CDC_CAP_SECURE_CONNECTION = 1u << 15,
    CDC_CAP_MULTI_STATEMENTS = 1u << 16,
    CDC_CAP_MULTI_RESULTS = 1u << 17,
    CDC_CAP_PS_MULTI_RESULTS = 1u << 18,
    CDC_CAP_PLUGIN_AUTH = 1u << 19,
    CDC_CAP_CONNECT_ATTRS = 1u << 20,
    CDC_CAP_PLUGIN_AUTH_LENENC = 1u << 21,
    CDC_CAP_SESSION_TRACK = 1u << 23,
    CDC_CAP_DEPRECATE_EOF = 1u << 24,
};

/* Server status flags the client looks at. */
enum {
    CDC_STATUS_IN_TRANS = 0x0001,
    CDC_STATUS_AUTOCOMMIT = 0x0002,
    CDC_STATUS_MORE_RESULTS = 0x0008,
};

/* What the client always wants; the negotiated set is this & server's. */
#define CDC__CAPS_WANTED                                                                           \
    (CDC_CAP_LONG_PASSWORD | CDC_CAP_LONG_FLAG | CDC_CAP_PROTOCOL_41 | CDC_CAP_TRANSACTIONS |      \
     CDC_CAP_SECURE_CONNECTION | CDC_CAP_MULTI_STATEMENTS | CDC_CAP_MULTI_RESULTS |               \
     CDC_CAP_PS_MULTI_RESULTS | CDC_CAP_PLUGIN_AUTH | CDC_CAP_CONNECT_ATTRS |                      \
     CDC_CAP_PLUGIN_AUTH_LENENC | CDC_CAP_DEPRECATE_EOF)

typedef enum cdc__flavour {
    CDC_FLAVOUR_UNKNOWN = 0,
    CDC_FLAVOUR_MYSQL = 1,
    CDC_FLAVOUR_MARIADB = 2,
} cdc__flavour;

/* Version as later code branches on it. */
typedef struct cdc__server_version {
    cdc__flavour flavour;
    unsigned major, minor, patch;
    cdc_bytes text; /* without MariaDB's "5.5.5-" replication prefix */
} cdc__server_version;

/* Parses "9.7.0", "8.0.36-log", "5.5.5-10.11.6-MariaDB-0+deb12u1".
 * Unparseable numbers leave zeros; never fails. */
cdc__server_version cdc__server_version_parse(const char *s, size_t n);
/* major*10000 + minor*100 + patch, the form version checks compare. */
static inline unsigned cdc__server_version_num(const cdc__server_version *v)
{
    return v->major * 10000 + v->minor * 100 + v->patch;
}

/* The initial handshake packet; views borrow the packet. */
typedef struct cdc__handshake {
    uint8_t protocol;        /* 10 */
    cdc_bytes server_version;
    uint32_t connection_id;
    uint8_t scramble[64];    /* auth-plugin-data, joined, trailing NUL dropped */
    size_t scramble_len;
    uint32_t caps;
    uint32_t mariadb_caps;   /* MariaDB's extended capabilities, 0 from MySQL */
    uint8_t charset;
    uint16_t status;
    cdc_bytes auth_plugin;   /* empty if the server names none */
} cdc__handshake;

/*
 * Parses the initial handshake. CDC_ERR_PROTOCOL names what is wrong;
 * a protocol version other than 10 is CDC_ERR_UNSUPPORTED. An ERR packet
 * here (too many connections, host blocked) is parsed by the caller.
 */
int cdc__handshake_parse(const uint8_t *p, size_t n, cdc__handshake *hs, cdc__err *err);

/* The first 32 bytes of a handshake response, sent alone before TLS. */
int cdc__handshake_ssl_request(cdc__buf *out, uint32_t caps, uint32_t max_packet, uint8_t charset);

typedef struct cdc__hs_response {
    uint32_t caps;           /* negotiated; CONNECT_WITH_DB/SSL/COMPRESS decided by caller */
    uint32_t max_packet;
    uint8_t charset;
    const char *user;
    const uint8_t *auth;     /* the plugin's first response */
    size_t auth_len;
    const char *database;    /* used when caps has CONNECT_WITH_DB */
    const char *plugin;      /* plugin that made `auth` */
    const char *const *attrs;/* key, value, key, value, ..., NULL */
} cdc__hs_response;

/* Builds the HandshakeResponse41 payload. CDC_ERR_TOO_LARGE when the auth
 * data does not fit the format the capabilities allow; CDC_ERR_NOMEM. */
int cdc__handshake_response(cdc__buf *out, const cdc__hs_response *r, cdc__err *err);

/* The connection attributes libcdc sends (_client_name=libcdc,
 * _client_version, _os, _pid, _platform); `kv` is the NULL-terminated
 * key/value list for cdc__hs_response.attrs, pointing into *a. */
typedef struct cdc__client_attrs {
    char pid[24], os[65], platform[65];
    const char *kv[11];
} cdc__client_attrs;
void cdc__handshake_attrs_init(cdc__client_attrs *a);

/* An AuthSwitchRequest (0xfe, plugin name, data). The data loses the
 * trailing NUL servers append. CDC_ERR_PROTOCOL if malformed, and
 * CDC_ERR_AUTH_PLUGIN for the pre-4.1 "old password" request (a lone 0xfe). */
int cdc__auth_switch_parse(const uint8_t *p, size_t n, cdc_bytes *plugin, cdc_bytes *data, cdc__err *err);

#endif /* CDC_HANDSHAKE_H */
