/*
 * config_keys.h: the one table of configuration keys. It gives the key
 * enum, the validation, the defaults and docs/configuration.md (generated
 * by `cdc config-doc`; a test keeps the two equal).
 *
 * X(id, "key", type, "default", min, max, "choices", flags, "doc")
 *   type: CDC__CFG_STRING, _INT, _BOOL, _ENUM (one of choices, '|'-separated),
 *         _LIST (comma-separated strings)
 *   min/max: range of INT values
 *   flags: CDC__CFG_SECRET (never printed back), CDC__CFG_PATH (a file that must exist)
 */
#ifndef CDC_CONFIG_KEYS_H
#define CDC_CONFIG_KEYS_H

#define CDC__CONFIG_KEYS(X)                                                                          \
    /* -- connection ------------------------------------------------------------------------ */ \
    X(HOST, "host", CDC__CFG_STRING, "127.0.0.1", 0, 0, NULL, 0,                                     \
      "Server host name or IP address.")                                                             \
    X(PORT, "port", CDC__CFG_INT, "3306", 1, 65535, NULL, 0, "Server TCP port.")                     \
    X(SOCKET, "socket", CDC__CFG_STRING, "", 0, 0, NULL, 0,                                          \
      "Unix socket path; when set, host and port are not used.")                                     \
    X(USER, "user", CDC__CFG_STRING, "", 0, 0, NULL, 0, "Account to log in as.")                     \
    X(PASSWORD, "password", CDC__CFG_STRING, "", 0, 0, NULL, CDC__CFG_SECRET,                        \
      "Password of the account.")                                                                    \
    X(CONNECT_TIMEOUT_MS, "connect.timeout.ms", CDC__CFG_INT, "10000", 1, 3600000, NULL, 0,          \
      "Time allowed for TCP connect, TLS and login.")                                                \
    X(READ_TIMEOUT_MS, "read.timeout.ms", CDC__CFG_INT, "60000", 1, 86400000, NULL, 0,               \
      "Time allowed for a reply to a query. The binlog stream uses heartbeats instead.")             \
    X(COMPRESSION, "compression", CDC__CFG_BOOL, "false", 0, 0, NULL, 0,                             \
      "Compress the protocol with zlib (CLIENT_COMPRESS).")                                          \
    X(MAX_PACKET_BYTES, "max.packet.bytes", CDC__CFG_INT, "1073741824", 1024, 4294967295LL, NULL, 0, \
      "Largest protocol payload accepted (a binlog event can be as large as the server's "           \
      "max_allowed_packet).")                                                                        \
    /* -- TLS -------------------------------------------------------------------------------- */  \
    X(SSL_MODE, "ssl.mode", CDC__CFG_ENUM, "preferred", 0, 0,                                        \
      "disabled|preferred|required|verify_ca|verify_identity", 0,                                    \
      "TLS use, as MySQL's --ssl-mode and Debezium's database.ssl.mode name it: preferred uses TLS " \
      "when the server offers it; required fails without it; verify_ca also checks the "             \
      "certificate chain against ssl.ca; verify_identity also checks the host name.")                \
    X(SSL_CA, "ssl.ca", CDC__CFG_STRING, "", 0, 0, NULL, CDC__CFG_PATH,                              \
      "PEM file of the certificate authorities to trust (verify_ca, verify_identity).")              \
    X(SSL_CERT, "ssl.cert", CDC__CFG_STRING, "", 0, 0, NULL, CDC__CFG_PATH,                          \
      "PEM client certificate, for accounts that REQUIRE X509.")                                     \
    X(SSL_KEY, "ssl.key", CDC__CFG_STRING, "", 0, 0, NULL, CDC__CFG_PATH,                            \
      "PEM private key of ssl.cert.")                                                                \
    X(SSL_SERVER_NAME, "ssl.server.name", CDC__CFG_STRING, "", 0, 0, NULL, 0,                        \
      "Name to verify the server certificate against (default: host).")                              \
    X(SERVER_PUBLIC_KEY, "server.public.key.path", CDC__CFG_STRING, "", 0, 0, NULL, CDC__CFG_PATH,   \
      "PEM RSA public key of the server, for caching_sha2_password and sha256_password "             \
      "without TLS.")                                                                                \
    X(GET_SERVER_PUBLIC_KEY, "get.server.public.key", CDC__CFG_BOOL, "false", 0, 0, NULL, 0,         \
      "Ask the server for its RSA public key when one is needed and none is configured. Open to "    \
      "a man in the middle; prefer TLS or server.public.key.path.")                                  \
    X(ALLOW_CLEARTEXT, "allow.cleartext.password", CDC__CFG_BOOL, "false", 0, 0, NULL, 0,            \
      "Allow mysql_clear_password without TLS.")                                                     \
    /* -- replication ----------------------------------------------------------------------- */  \
    X(SERVER_ID, "server.id", CDC__CFG_INT, "0", 0, 4294967295LL, NULL, 0,                           \
      "Replica server_id this client registers with; required for streaming, unique among the "     \
      "server's replicas. 0 means unset.")                                                           \
    X(START, "start", CDC__CFG_STRING, "", 0, 0, NULL, 0,                                            \
      "Where the stream starts: earliest, now, FILE:OFFSET, gtid:SET, or a checkpoint string. "      \
      "Empty: decided by snapshot.mode.")                                                            \
    X(STOP_AT, "stop.at", CDC__CFG_STRING, "", 0, 0, NULL, 0,                                        \
      "Where the stream ends: FILE:OFFSET, gtid:SET (once every transaction in the set has been "    \
      "delivered), or now (the server's position when the stream starts). Empty: never.")            \
    X(HEARTBEAT_MS, "heartbeat.interval.ms", CDC__CFG_INT, "10000", 100, 4294967, NULL, 0,           \
      "Heartbeat period asked of the server while the binlog is idle.")                              \
    X(HEARTBEAT_TIMEOUT_MS, "heartbeat.timeout.ms", CDC__CFG_INT, "0", 0, 86400000, NULL, 0,         \
      "Silence after which the server is taken for dead and the stream reconnects; 0 means three "   \
      "heartbeat intervals.")                                                                        \
    X(RECONNECT_BACKOFF_MS, "reconnect.backoff.initial.ms", CDC__CFG_INT, "200", 0, 3600000, NULL, 0, \
      "First wait before reconnecting after a retriable error; doubles on each failure.")            \
    X(RECONNECT_BACKOFF_MAX_MS, "reconnect.backoff.max.ms", CDC__CFG_INT, "30000", 0, 3600000, NULL, \
      0, "Longest wait between reconnect attempts.")                                                 \
    X(RECONNECT_MAX_ATTEMPTS, "reconnect.max.attempts", CDC__CFG_INT, "-1", -1, 2147483647, NULL, 0, \
      "Consecutive failed reconnects before the stream gives up; -1 never gives up, 0 never "        \
      "reconnects.")                                                                                 \
    /* -- filters ---------------------------------------------------------------------------- */  \
    X(DB_INCLUDE, "database.include.list", CDC__CFG_LIST, "", 0, 0, NULL, 0,                         \
      "Databases to capture (names or patterns with * and ?); empty means all.")                     \
    X(DB_EXCLUDE, "database.exclude.list", CDC__CFG_LIST, "", 0, 0, NULL, 0,                         \
      "Databases not to capture.")                                                                   \
    X(TABLE_INCLUDE, "table.include.list", CDC__CFG_LIST, "", 0, 0, NULL, 0,                         \
      "Tables to capture as db.table (patterns allowed); empty means all.")                          \
    X(TABLE_EXCLUDE, "table.exclude.list", CDC__CFG_LIST, "", 0, 0, NULL, 0,                         \
      "Tables not to capture, as db.table.")                                                         \
    X(COLUMN_EXCLUDE, "column.exclude.list", CDC__CFG_LIST, "", 0, 0, NULL, 0,                       \
      "Columns left out of change events and snapshot rows, as db.table.column.")                    \
    X(SERVER_ID_INCLUDE, "server.id.include.list", CDC__CFG_LIST, "", 0, 0, NULL, 0,                 \
      "Only changes written by these originating server_ids.")                                       \
    X(SERVER_ID_EXCLUDE, "server.id.exclude.list", CDC__CFG_LIST, "", 0, 0, NULL, 0,                 \
      "Changes written by these originating server_ids are skipped (two-way replication).")          \
    X(SKIPPED_OPS, "skipped.operations", CDC__CFG_LIST, "", 0, 0, NULL, 0,                           \
      "Operations not delivered: any of c (insert), u (update), d (delete).")                        \
    X(TXN_MARKER, "transaction.marker.table", CDC__CFG_LIST, "", 0, 0, NULL, 0,                      \
      "Marker tables as db.table (patterns allowed): a transaction whose marker row comes before "   \
      "any of its changes is delivered is dropped whole (no begin, rows or commit; the checkpoint "  \
      "moves past it); rows of marker tables are never delivered. Loop prevention for two-way: "     \
      "the applier writes a marker row first in each transaction it applies.")                       \
    /* -- snapshot --------------------------------------------------------------------------- */  \
    X(SNAPSHOT_MODE, "snapshot.mode", CDC__CFG_ENUM, "initial", 0, 0,                                \
      "initial|initial_only|no_data|never|when_needed|recovery|schema_only|schema_only_recovery", 0, \
      "initial: snapshot, then stream; initial_only: snapshot and stop; no_data: capture schema "    \
      "and position, then stream; never: stream only; when_needed: snapshot when there is no "       \
      "checkpoint or its binlog is purged; recovery: stream from the start position, which it "      \
      "requires (libcdc keeps no schema history to rebuild: every change carries its table's "       \
      "columns). Debezium's schema_only and schema_only_recovery mean no_data and recovery.")        \
    X(SNAPSHOT_PARALLELISM, "snapshot.parallelism", CDC__CFG_INT, "1", 1, 64, NULL, 0,               \
      "Connections reading the snapshot, all at the same consistent point.")                         \
    X(SNAPSHOT_CHUNK_ROWS, "snapshot.chunk.rows", CDC__CFG_INT, "10000", 1, 100000000, NULL, 0,      \
      "Rows per primary-key chunk when reading large tables.")                                       \
    X(SNAPSHOT_LOCK_TIMEOUT_MS, "snapshot.lock.timeout.ms", CDC__CFG_INT, "10000", 1000, 86400000,   \
      NULL, 0,                                                                                       \
      "How long the read lock that fixes the snapshot's point may wait for running statements "      \
      "(lock_wait_timeout, rounded up to seconds). FLUSH TABLES WITH READ LOCK that waits longer "   \
      "gives way to LOCK TABLES ... READ on the captured tables; if that waits as long too, the "    \
      "snapshot fails naming the longest running statement. Debezium's key.")                        \
    /* -- incremental snapshots (docs/snapshot.md) ------------------------------------------- */  \
    X(SIGNAL_DATA_COLLECTION, "signal.data.collection", CDC__CFG_STRING, "", 0, 0, NULL, 0,          \
      "The signal table, as db.table, with Debezium's columns (id, type, data): rows inserted "      \
      "there trigger incremental snapshots (execute-snapshot) and pause, resume or stop them; "     \
      "without read.only the watermarks of each chunk are written there. Its rows are never "       \
      "delivered as changes.")                                                                       \
    X(INCREMENTAL_CHUNK_SIZE, "incremental.snapshot.chunk.size", CDC__CFG_INT, "10000", 1, 1000000, \
      NULL, 0, "Rows per chunk of an incremental snapshot (at most 16 MiB of them are held; the "    \
      "rest go to the next chunk). Each chunk costs a commit to the signal table (its high "        \
      "watermark, which is also the next chunk's low one), so small chunks are slow; Debezium's "   \
      "default is 1024.")                                                                            \
    X(READ_ONLY, "read.only", CDC__CFG_BOOL, "false", 0, 0, NULL, 0,                                 \
      "Incremental snapshots without writing to the server: the watermarks are the GTID set "       \
      "(@@gtid_executed, MySQL with gtid_mode=ON) read before and after each chunk, or on "        \
      "MariaDB the binlog point of the chunk's consistent read. For replicas and accounts "         \
      "without write access.")

#endif /* CDC_CONFIG_KEYS_H */
