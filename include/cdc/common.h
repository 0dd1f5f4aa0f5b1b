/*
 * libcdc: change data capture from MySQL and MariaDB binary logs.
 *
 * common.h: what every part of the API shares: version, error codes,
 * allocator hooks and the byte view.
 *
 * Conventions used throughout the public API:
 *  - Handles are opaque. Constructors take the out-pointer first and an
 *    optional error buffer (char *err, size_t errlen) last; destructors
 *    accept NULL.
 *  - Functions that can fail return an int: CDC_OK (0) or a negative
 *    cdc_error. Byte counts are ptrdiff_t: >= 0 bytes, < 0 an error.
 *  - Pointers handed to callbacks are borrowed and valid until the
 *    callback returns; copy what you keep.
 *  - Callbacks take user data as their last argument.
 */
#ifndef CDC_COMMON_H
#define CDC_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <cdc/version.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define CDC_EXTERN __declspec(dllexport)
#elif defined(__GNUC__)
#define CDC_EXTERN __attribute__((visibility("default")))
#else
#define CDC_EXTERN
#endif

/*
 * Error codes. One list gives the enum, the names and the messages.
 * X(name, value, retriable, message): "retriable" errors are those a
 * stream can recover from by reconnecting (network trouble, a server
 * restart); every other error needs a change of input, configuration or
 * code before a retry can succeed.
 */
#define CDC_ERROR_LIST(X)                                                          \
    X(CDC_OK, 0, 0, "success")                                                     \
    X(CDC_ERR_NOMEM, -1, 0, "out of memory")                                       \
    X(CDC_ERR_INVALID, -2, 0, "invalid argument")                                  \
    X(CDC_ERR_CONFIG, -3, 0, "invalid configuration")                              \
    X(CDC_ERR_STATE, -4, 0, "operation not valid in the current state")            \
    X(CDC_ERR_IO, -5, 1, "I/O error")                                              \
    X(CDC_ERR_TIMEOUT, -6, 1, "timed out")                                         \
    X(CDC_ERR_CONNECT, -7, 1, "cannot connect to server")                          \
    X(CDC_ERR_RESOLVE, -8, 0, "cannot resolve host name")                          \
    X(CDC_ERR_CLOSED, -9, 1, "connection closed by server")                        \
    X(CDC_ERR_TLS, -10, 0, "TLS error")                                            \
    X(CDC_ERR_TLS_VERIFY, -11, 0, "TLS certificate verification failed")           \
    X(CDC_ERR_TLS_REQUIRED, -12, 0, "server does not support TLS")                 \
    X(CDC_ERR_AUTH, -13, 0, "access denied")                                       \
    X(CDC_ERR_AUTH_PLUGIN, -14, 0, "unsupported or refused authentication method") \
    X(CDC_ERR_PROTOCOL, -15, 0, "malformed or unexpected packet")                  \
    X(CDC_ERR_TOO_LARGE, -16, 0, "size exceeds a limit")                           \
    X(CDC_ERR_SERVER, -17, 0, "server returned an error")                          \
    X(CDC_ERR_PRIVILEGE, -18, 0, "missing privilege")                              \
    X(CDC_ERR_PURGED, -19, 0, "requested binlog position has been purged")         \
    X(CDC_ERR_CORRUPT, -20, 0, "corrupt binlog data")                              \
    X(CDC_ERR_CHECKSUM, -21, 0, "binlog event checksum mismatch")                  \
    X(CDC_ERR_TRUNCATED, -22, 0, "input ends inside an event")                     \
    X(CDC_ERR_ENCRYPTED, -23, 0, "binlog is encrypted")                            \
    X(CDC_ERR_UNSUPPORTED, -24, 0, "unsupported format or feature")                \
    X(CDC_ERR_SCHEMA, -25, 0, "table schema does not match the row event")         \
    X(CDC_ERR_CHARSET, -26, 0, "cannot convert character set")                     \
    X(CDC_ERR_PAUSED, -27, 0, "paused by a callback")                              \
    X(CDC_ERR_CALLBACK, -28, 0, "a callback returned an error")                    \
    X(CDC_ERR_STOPPED, -29, 0, "stopped on request")

typedef enum cdc_error {
#define CDC__ERR_ENUM(name, value, retriable, msg) name = value,
    CDC_ERROR_LIST(CDC__ERR_ENUM)
#undef CDC__ERR_ENUM
} cdc_error;

/* A static English sentence for an error code; never NULL. Thread-safe. */
CDC_EXTERN const char *cdc_strerror(int code);
/* The enum name of an error code ("CDC_ERR_AUTH"), or "CDC_ERR_UNKNOWN". */
CDC_EXTERN const char *cdc_err_name(int code);
/* 1 if a stream hitting this error may succeed after reconnecting. */
CDC_EXTERN int cdc_is_retriable(int code);

/* The library's version string, which may differ from CDC_VERSION_STRING
 * when the program was compiled against other headers. */
CDC_EXTERN const char *cdc_version(void);
/* CDC_VERSION_NUM of the library in use. */
CDC_EXTERN unsigned cdc_version_num(void);

/*
 * Allocator hooks. Every constructor takes a `const cdc_allocator *`; NULL
 * means malloc/realloc/free. The struct is copied, so it need not outlive
 * the call, but `ud` must outlive every handle made with it.
 * realloc(NULL, n) must behave as malloc(n); free(NULL) must be a no-op.
 */
typedef struct cdc_allocator {
    void *(*malloc)(size_t size, void *ud);
    void *(*realloc)(void *ptr, size_t size, void *ud);
    void (*free)(void *ptr, void *ud);
    void *ud;
} cdc_allocator;

/* A borrowed run of bytes. Not NUL-terminated unless said otherwise. */
typedef struct cdc_bytes {
    const uint8_t *ptr;
    size_t len;
} cdc_bytes;

/* Opaque types shared by several parts of the API. */
typedef struct cdc_value cdc_value;   /* one column value: cdc/value.h */
typedef struct cdc_column cdc_column; /* one column of a table */

#ifdef __cplusplus
}
#endif
#endif /* CDC_COMMON_H */
