/*
 * libcdc: change data capture from MySQL and MariaDB binary logs.
 *
 * info.h: what a server says about itself and its binary log, the
 * settings a change-data-capture client depends on (what `cdc info`
 * prints). One connection with the configuration's connection keys
 * (host, port, socket, user, password, ssl.*, compression, timeouts;
 * docs/configuration.md), a few queries, and the connection is closed.
 *
 *     cdc_server_info *info;
 *     if (cdc_server_info_get(&info, cfg, NULL, err, sizeof err)) ...
 *     for (size_t i = 0; i < cdc_server_info_count(info); i++)
 *         printf("%s %s\n", cdc_server_info_name(info, i),
 *                cdc_server_info_value(info, i) ? cdc_server_info_value(info, i)
 *                                               : cdc_server_info_error(info, i));
 *     cdc_server_info_free(info);
 *
 * Facts, in this order: flavour (MySQL or MariaDB), version
 * ("9.7.4 (9.7.4)": number and the server's own text), connection_id,
 * auth_plugin, tls ("TLSv1.2 <cipher>" or "off"), compression ("zlib" or
 * "off"), server_id, log_bin, binlog_format, binlog_row_image,
 * binlog_row_metadata, binlog_checksum; MariaDB: gtid_domain_id,
 * gtid_current_pos, gtid_binlog_pos; MySQL: server_uuid, gtid_mode,
 * gtid_executed; then binlog_file and binlog_position (the end of the
 * binlog now). A fact the account may not read (a missing privilege)
 * has no value and an error saying why; the others are still there.
 *
 * The handle is immutable once made: any thread may read it.
 */
#ifndef CDC_INFO_H
#define CDC_INFO_H

#include <stddef.h>

#include <cdc/common.h>
#include <cdc/config.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdc_server_info cdc_server_info;

/*
 * Connects as cfg says and reads the facts. CDC_OK, or the connection's
 * error (CDC_ERR_CONNECT, CDC_ERR_AUTH, CDC_ERR_TLS..., with a message in
 * err; never the password); CDC_ERR_CONFIG for a configuration that
 * cannot connect (no user). Thread-safe for distinct arguments.
 */
CDC_EXTERN int cdc_server_info_get(cdc_server_info **out, const cdc_config *cfg, const cdc_allocator *alloc,
                                   char *err, size_t errlen);
CDC_EXTERN void cdc_server_info_free(cdc_server_info *info);

/* The number of facts, and fact i's name ("binlog_format"). */
CDC_EXTERN size_t cdc_server_info_count(const cdc_server_info *info);
CDC_EXTERN const char *cdc_server_info_name(const cdc_server_info *info, size_t i);
/* Fact i's value, NUL-terminated ("" when the server has it empty);
 * NULL when it could not be read, and then cdc_server_info_error() says
 * why. Valid until cdc_server_info_free(). */
CDC_EXTERN const char *cdc_server_info_value(const cdc_server_info *info, size_t i);
CDC_EXTERN const char *cdc_server_info_error(const cdc_server_info *info, size_t i);
/* The value of the fact named name; NULL if absent or unreadable. */
CDC_EXTERN const char *cdc_server_info_find(const cdc_server_info *info, const char *name);

#ifdef __cplusplus
}
#endif
#endif /* CDC_INFO_H */
