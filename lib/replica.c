/*
 * replica.c: the replica handshake over a cdc__conn (see replica.h).
 */
#include "replica.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* Case-insensitive substring search over NUL-terminated text. */
static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && toupper((unsigned char)hay[i]) == toupper((unsigned char)needle[i])) i++;
        if (i == n) return true;
    }
    return false;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

int cdc__replica_check(cdc__conn *c, cdc__server_info *info, cdc__err *err)
{
    memset(info, 0, sizeof *info);
    const cdc__server_version *v = cdc__conn_server_version(c);
    info->mariadb = v->flavour == CDC_FLAVOUR_MARIADB;
    info->version = cdc__server_version_num(v);

    cdc__result *r = NULL;
    int rc = cdc__conn_query_result(c,
        "SELECT @@global.log_bin, @@global.binlog_format, @@global.binlog_row_image, "
        "@@global.binlog_row_metadata, @@global.binlog_checksum, @@global.server_id, CURRENT_USER()",
        &r, err);
    if (rc) {
        cdc__err_prefix(err, "reading the server's binlog settings");
        return rc;
    }
    if (cdc__result_rows(r) != 1) {
        cdc__result_free(r);
        return cdc__err_set(err, CDC_ERR_PROTOCOL, "reading the server's binlog settings: no row");
    }
    const char *log_bin = cdc__result_get(r, 0, 0), *format = cdc__result_get(r, 0, 1);
    copy_str(info->row_image, sizeof info->row_image, cdc__result_get(r, 0, 2));
    const char *meta = cdc__result_get(r, 0, 3);
    info->row_metadata_full = meta && !strcmp(meta, "FULL");
    copy_str(info->checksum, sizeof info->checksum, cdc__result_get(r, 0, 4));
    const char *sid = cdc__result_get(r, 0, 5);
    info->server_id = sid ? (uint32_t)strtoul(sid, NULL, 10) : 0;
    /* CURRENT_USER() is user@host; quote the parts as GRANT output does. */
    const char *cu = cdc__result_get(r, 0, 6);
    const char *at = cu ? strrchr(cu, '@') : NULL;
    if (at)
        snprintf(info->account, sizeof info->account, "'%.*s'@'%s'", (int)(at - cu), cu, at + 1);
    else
        copy_str(info->account, sizeof info->account, cu);
    if (!log_bin || (strcmp(log_bin, "1") && strcmp(log_bin, "ON"))) {
        cdc__result_free(r);
        return cdc__err_set(err, CDC_ERR_UNSUPPORTED,
                            "the server does not write a binary log (log_bin is OFF); start it with log_bin");
    }
    if (!format || strcmp(format, "ROW")) {
        rc = cdc__err_set(err, CDC_ERR_UNSUPPORTED,
                          "binlog_format is %s; a change stream needs row events (binlog_format=ROW)",
                          format ? format : "NULL");
        cdc__result_free(r);
        return rc;
    }
    cdc__result_free(r);

    /* The account must hold REPLICATION SLAVE. SHOW GRANTS lists direct
     * grants; privileges that come through roles are left for the server
     * to judge at COM_REGISTER_SLAVE (error 1227, also a PRIVILEGE error). */
    if ((rc = cdc__conn_query_result(c, "SHOW GRANTS", &r, err))) {
        cdc__err_prefix(err, "SHOW GRANTS");
        return rc;
    }
    bool has = false, roles = false;
    for (size_t i = 0; i < cdc__result_rows(r); i++) {
        const char *g = cdc__result_get(r, i, 0);
        if (!g) continue;
        if (!contains_ci(g, " ON ")) roles = true;   /* GRANT `role` TO ... */
        if (!contains_ci(g, " ON *.* ")) continue;
        if (contains_ci(g, "ALL PRIVILEGES") || contains_ci(g, "REPLICATION SLAVE") ||
            contains_ci(g, "REPLICATION REPLICA"))
            has = true;
    }
    cdc__result_free(r);
    if (!has && !roles)
        return cdc__err_set(err, CDC_ERR_PRIVILEGE,
                            "REPLICATION SLAVE privilege is missing for %s; GRANT REPLICATION SLAVE ON *.* TO %s",
                            info->account, info->account);
    return CDC_OK;
}

int cdc__replica_check_server_id(cdc__conn *c, const cdc__server_info *info, uint32_t server_id,
                                 bool *checked, cdc__err *err)
{
    *checked = false;
    if (server_id == info->server_id)
        return cdc__err_set(err, CDC_ERR_CONFIG,
                            "server.id %" PRIu32 " is the server's own server_id; choose another", server_id);
    const char *sql = info->mariadb || info->version < 80022 ? "SHOW SLAVE HOSTS" : "SHOW REPLICAS";
    cdc__result *r = NULL;
    cdc__err e2 = {0};
    if (cdc__conn_query_result(c, sql, &r, &e2)) return CDC_OK; /* not allowed: cannot tell */
    *checked = true;
    int rc = CDC_OK;
    for (size_t i = 0; i < cdc__result_rows(r) && rc == CDC_OK; i++) {
        const char *id = cdc__result_get(r, i, 0);
        if (id && strtoul(id, NULL, 10) == server_id) {
            const char *host = cdc__result_get(r, i, 1), *port = cdc__result_get(r, i, 2);
            rc = cdc__err_set(err, CDC_ERR_CONFIG,
                              "server.id %" PRIu32 " is already used by a replica of this server (host '%s', port %s); "
                              "the server would disconnect one of the two, so choose a unique server.id",
                              server_id, host ? host : "", port ? port : "?");
        }
    }
    cdc__result_free(r);
    return rc;
}

int cdc__replica_earliest(cdc__conn *c, cdc_position *pos, cdc__err *err)
{
    cdc__result *r = NULL;
    int rc = cdc__conn_query_result(c, "SHOW BINARY LOGS", &r, err);
    if (rc) {
        cdc__err_prefix(err, "start=earliest: SHOW BINARY LOGS");
        return rc;
    }
    const char *f = cdc__result_rows(r) ? cdc__result_get(r, 0, 0) : NULL;
    if (!f) rc = cdc__err_set(err, CDC_ERR_SERVER, "start=earliest: the server lists no binary logs");
    else if (cdc__position_set_file(pos, f, strlen(f))) rc = CDC_ERR_NOMEM;
    pos->offset = 4;
    pos->gtid_known = false; /* PREVIOUS_GTIDS / GTID_LIST at the file's start will say */
    cdc__result_free(r);
    return rc;
}

int cdc__replica_binlog_status(cdc__conn *c, const cdc_allocator *a, cdc__binlog_status *st, cdc__err *err)
{
    memset(st, 0, sizeof *st);
    const cdc__server_version *v = cdc__conn_server_version(c);
    /* MySQL 8.2 renamed SHOW MASTER STATUS; 8.4 removed the old name. */
    st->sql = v->flavour == CDC_FLAVOUR_MYSQL && cdc__server_version_num(v) >= 80200 ? "SHOW BINARY LOG STATUS"
                                                                                        : "SHOW MASTER STATUS";
    cdc__result *r = NULL;
    int rc = cdc__conn_query_result(c, st->sql, &r, err);
    if (rc) return rc;
    int fcol = cdc__result_col(r, "File"), pcol = cdc__result_col(r, "Position");
    int gcol = cdc__result_col(r, "Executed_Gtid_Set");
    const char *f = cdc__result_rows(r) && fcol >= 0 ? cdc__result_get(r, 0, (size_t)fcol) : NULL;
    const char *p = cdc__result_rows(r) && pcol >= 0 ? cdc__result_get(r, 0, (size_t)pcol) : NULL;
    const char *g = cdc__result_rows(r) && gcol >= 0 ? cdc__result_get(r, 0, (size_t)gcol) : NULL;
    if (f && p) {
        if (!cdc__parse_u64(p, strlen(p), &st->offset)) {
            cdc__result_free(r);
            return cdc__err_set(err, CDC_ERR_PROTOCOL, "%s: position '%s' is not a number", st->sql, p);
        }
        st->file = cdc__strndup(a, f, strlen(f));
        st->gtids = cdc__malloc(a, (g ? strlen(g) : 0) + 1);
        if (st->gtids) {
            size_t k = 0;
            for (const char *q = g ? g : ""; *q; q++)
                if (*q != '\n' && *q != '\r' && *q != ' ') st->gtids[k++] = *q;
            st->gtids[k] = 0;
        }
        if (!st->file || !st->gtids) rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    cdc__result_free(r);
    if (rc) cdc__binlog_status_clear(a, st);
    return rc;
}

void cdc__binlog_status_clear(const cdc_allocator *a, cdc__binlog_status *st)
{
    cdc__free(a, st->file);
    cdc__free(a, st->gtids);
    st->file = st->gtids = NULL;
}

static int gtid_binlog_pos(cdc__conn *c, cdc__buf *out, cdc__err *err)
{
    cdc__result *r = NULL;
    int rc = cdc__conn_query_result(c, "SELECT @@global.gtid_binlog_pos", &r, err);
    if (rc) return rc;
    const char *g = cdc__result_rows(r) ? cdc__result_get(r, 0, 0) : NULL;
    cdc__buf_reset(out);
    rc = cdc__buf_puts(out, g ? g : "") || cdc__buf_terminate(out) ? CDC_ERR_NOMEM : CDC_OK;
    cdc__result_free(r);
    return rc;
}

int cdc__replica_now(cdc__conn *c, const cdc__server_info *info, cdc_position *pos, cdc__err *err)
{
    cdc__buf before, after;
    cdc__buf_init(&before, pos->alloc);
    cdc__buf_init(&after, pos->alloc);
    int rc = CDC_OK;
    /* MariaDB reports the GTID position apart from the file position:
     * read it before and after, and retry while commits come between. */
    for (int attempt = 0;; attempt++) {
        if (info->mariadb && (rc = gtid_binlog_pos(c, &before, err))) break;
        cdc__binlog_status st;
        if ((rc = cdc__replica_binlog_status(c, pos->alloc, &st, err))) {
            cdc__err_prefix(err, "position 'now': %s", st.sql);
            break;
        }
        if (!st.file) {
            rc = cdc__err_set(err, CDC_ERR_SERVER, "position 'now': %s returned no binlog position", st.sql);
            break;
        }
        rc = cdc__position_set_file(pos, st.file, strlen(st.file));
        pos->offset = st.offset;
        cdc__gtid_set_clear(&pos->gtids);
        if (rc == CDC_OK && !info->mariadb && *st.gtids) {
            rc = cdc__gtid_set_parse(&pos->gtids, st.gtids, strlen(st.gtids), err);
            if (rc) cdc__err_prefix(err, "position 'now': Executed_Gtid_Set");
        }
        cdc__binlog_status_clear(pos->alloc, &st);
        if (rc) break;
        if (!info->mariadb) break;
        if ((rc = gtid_binlog_pos(c, &after, err))) break;
        if (!strcmp((const char *)before.data, (const char *)after.data)) {
            rc = cdc__gtid_set_parse(&pos->gtids, (const char *)after.data, after.len, err);
            break;
        }
        if (attempt == 5) {
            /* A busy server: ask it which GTID position the file position
             * has (it reads the file up to there, so only as a fallback). */
            cdc__buf q;
            cdc__buf_init(&q, pos->alloc);
            rc = cdc__buf_puts(&q, "SELECT BINLOG_GTID_POS(");
            if (rc == CDC_OK) rc = cdc__sql_quote(&q, cdc_position_file(pos), pos->file.len);
            if (rc == CDC_OK) rc = cdc__buf_printf(&q, ", %" PRIu64 ")", pos->offset);
            if (rc == CDC_OK) rc = cdc__buf_terminate(&q);
            if (rc) {
                cdc__buf_free(&q);
                rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
                break;
            }
            cdc__result *g2 = NULL;
            rc = cdc__conn_query_result(c, (const char *)q.data, &g2, err);
            cdc__buf_free(&q);
            if (rc) {
                cdc__err_prefix(err, "position 'now': BINLOG_GTID_POS");
                break;
            }
            const char *gp = cdc__result_rows(g2) ? cdc__result_get(g2, 0, 0) : NULL;
            if (!gp)
                rc = cdc__err_set(err, CDC_ERR_SERVER, "position 'now': BINLOG_GTID_POS gave no GTID position");
            else
                rc = cdc__gtid_set_parse(&pos->gtids, gp, strlen(gp), err);
            cdc__result_free(g2);
            break;
        }
    }
    if (rc == CDC_OK) {
        pos->gtid_known = true;
        rc = cdc__position_sync_text(pos);
    }
    cdc__buf_free(&before);
    cdc__buf_free(&after);
    return rc;
}

int cdc__sql_quote(cdc__buf *out, const char *s, size_t n)
{
    int rc = cdc__buf_putc(out, '\'');
    for (size_t i = 0; i < n && rc == CDC_OK; i++) {
        char ch = s[i];
        if (ch == '\'' || ch == '\\') rc = cdc__buf_putc(out, '\\');
        if (rc == CDC_OK) rc = ch ? cdc__buf_putc(out, (uint8_t)ch) : cdc__buf_puts(out, "\\0");
    }
    if (rc == CDC_OK) rc = cdc__buf_putc(out, '\'');
    return rc ? CDC_ERR_NOMEM : CDC_OK;
}

int cdc__replica_maria_state(const cdc__gtid_set *g, cdc__buf *out)
{
    /* A domain can list several server ids; the position is its highest
     * sequence number, which is the last transaction in that domain. */
    int rc = CDC_OK;
    bool first = true;
    for (size_t i = 0; i < g->n_maria && rc == CDC_OK; i++) {
        const cdc__gtid *m = &g->maria[i];
        bool best = true;
        for (size_t j = 0; j < g->n_maria; j++) {
            const cdc__gtid *o = &g->maria[j];
            if (o->domain == m->domain && (o->seq > m->seq || (o->seq == m->seq && j < i))) best = false;
        }
        if (!best) continue;
        rc = cdc__buf_printf(out, "%s%" PRIu32 "-%" PRIu32 "-%" PRIu64, first ? "" : ",", m->domain,
                             m->server_id, m->seq);
        first = false;
    }
    return rc ? CDC_ERR_NOMEM : CDC_OK;
}

int cdc__replica_prepare(cdc__conn *c, const cdc__server_info *info, uint32_t heartbeat_ms,
                         const char *gtid_state, cdc__err *err)
{
    cdc__buf q;
    cdc__buf_init(&q, NULL);
    /* Both spellings: MySQL 8.0.26+ reads the source_ names first. */
    int rc = cdc__buf_printf(&q,
                             "SET @master_binlog_checksum = @@global.binlog_checksum, "
                             "@source_binlog_checksum = @@global.binlog_checksum, "
                             "@master_heartbeat_period = %" PRIu64 ", @source_heartbeat_period = %" PRIu64,
                             (uint64_t)heartbeat_ms * 1000000u, (uint64_t)heartbeat_ms * 1000000u);
    if (rc == CDC_OK && info->mariadb) {
        /* 4: MARIA_SLAVE_CAPABILITY_GTID, so GTID events and GTID_LIST are sent. */
        rc = cdc__buf_puts(&q, ", @mariadb_slave_capability = 4");
        if (rc == CDC_OK && gtid_state) {
            rc = cdc__buf_puts(&q, ", @slave_gtid_strict_mode = 0, @slave_gtid_ignore_duplicates = 0, "
                                   "@slave_connect_state = ");
            if (rc == CDC_OK) rc = cdc__sql_quote(&q, gtid_state, strlen(gtid_state));
        }
    }
    if (rc == CDC_OK) rc = cdc__buf_terminate(&q);
    if (rc) {
        cdc__buf_free(&q);
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    rc = cdc__conn_exec(c, (const char *)q.data, err);
    if (rc) cdc__err_prefix(err, "setting the replication session variables");
    cdc__buf_free(&q);
    return rc;
}

static int put_str8(cdc__buf *out, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > 255) n = 255;
    if (cdc__buf_putc(out, (uint8_t)n)) return CDC_ERR_NOMEM;
    return n ? cdc__buf_append(out, s, n) : CDC_OK;
}

int cdc__replica_build_register(cdc__buf *out, uint32_t server_id, const char *host, const char *user,
                                const char *password, uint16_t port)
{
    uint8_t b[10];
    cdc__put_le32(b, server_id);
    int rc = cdc__buf_append(out, b, 4);
    rc |= put_str8(out, host);
    rc |= put_str8(out, user);
    rc |= put_str8(out, password);
    cdc__put_le16(b, port);
    cdc__put_le32(b + 2, 0); /* replication rank: unused */
    cdc__put_le32(b + 6, 0); /* master id: filled in by the server */
    rc |= cdc__buf_append(out, b, 10);
    return rc ? CDC_ERR_NOMEM : CDC_OK;
}

int cdc__replica_build_dump(cdc__buf *out, uint32_t server_id, const char *file, uint32_t offset,
                            uint16_t flags)
{
    uint8_t b[10];
    cdc__put_le32(b, offset);
    cdc__put_le16(b + 4, flags);
    cdc__put_le32(b + 6, server_id);
    int rc = cdc__buf_append(out, b, 10);
    if (rc == CDC_OK && file && *file) rc = cdc__buf_append(out, file, strlen(file));
    return rc ? CDC_ERR_NOMEM : CDC_OK;
}

static int put_u64(cdc__buf *out, uint64_t v)
{
    uint8_t b[8];
    cdc__put_le64(b, v);
    return cdc__buf_append(out, b, 8);
}

int cdc__replica_build_dump_gtid(cdc__buf *out, uint32_t server_id, const char *file, uint64_t offset,
                                 const cdc__gtid_set *g, uint16_t flags)
{
    size_t flen = file ? strlen(file) : 0;
    bool tagged = false;
    for (size_t i = 0; i < g->n_sids; i++)
        if (g->sids[i].tag[0]) tagged = true;
    uint8_t b[10];
    cdc__put_le16(b, flags);
    cdc__put_le32(b + 2, server_id);
    cdc__put_le32(b + 6, (uint32_t)flen);
    int rc = cdc__buf_append(out, b, 10);
    if (flen) rc |= cdc__buf_append(out, file, flen);
    rc |= put_u64(out, offset);
    /* The encoded set's size comes first; it is written once known. */
    size_t size_at = out->len;
    cdc__put_le32(b, 0);
    rc |= cdc__buf_append(out, b, 4);
    size_t start = out->len;
    /* Tagged format: the top byte says 1 and the low byte repeats it,
     * with the SID count in between. */
    uint64_t head = tagged ? ((uint64_t)1 << 56) | ((uint64_t)g->n_sids << 8) | 1 : g->n_sids;
    rc |= put_u64(out, head);
    for (size_t i = 0; i < g->n_sids && rc == CDC_OK; i++) {
        const cdc__gtid_sid *sd = &g->sids[i];
        rc |= cdc__buf_append(out, sd->uuid, 16);
        if (tagged) {
            size_t tl = strlen(sd->tag); /* <= 32: one byte of var-length integer */
            rc |= cdc__buf_putc(out, (uint8_t)(tl << 1));
            if (tl) rc |= cdc__buf_append(out, sd->tag, tl);
        }
        rc |= put_u64(out, sd->n_iv);
        for (size_t j = 0; j < sd->n_iv; j++) {
            rc |= put_u64(out, sd->iv[j].start);
            rc |= put_u64(out, sd->iv[j].end);
        }
    }
    if (rc) return CDC_ERR_NOMEM;
    cdc__put_le32(out->data + size_at, (uint32_t)(out->len - start));
    return CDC_OK;
}

/* Reads the OK (or ERR) that answers a command. */
static int read_ok(cdc__conn *c, const char *what, cdc__err *err)
{
    cdc_bytes p;
    int rc = cdc__conn_read_packet(c, &p, err);
    if (rc) return rc;
    if (p.len && p.ptr[0] == 0xff) {
        rc = cdc__err_packet(p.ptr, p.len, err);
        cdc__err_prefix(err, "%s", what);
        return rc;
    }
    if (!p.len || p.ptr[0] != 0x00)
        return cdc__err_set(err, CDC_ERR_PROTOCOL, "%s: unexpected reply 0x%02x", what, p.len ? p.ptr[0] : 0);
    return CDC_OK;
}

int cdc__replica_register(cdc__conn *c, uint32_t server_id, cdc__err *err)
{
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    int rc = cdc__replica_build_register(&b, server_id, "", "", "", 0);
    if (rc == CDC_OK) rc = cdc__conn_write_command(c, CDC_COM_REGISTER_SLAVE, b.data, b.len, err);
    cdc__buf_free(&b);
    if (rc == CDC_OK) rc = read_ok(c, "COM_REGISTER_SLAVE", err);
    if (rc == CDC_ERR_PRIVILEGE) cdc__err_prefix(err, "REPLICATION SLAVE privilege is missing");
    return rc;
}

int cdc__replica_dump(cdc__conn *c, const cdc__server_info *info, uint32_t server_id,
                      const cdc_position *pos, cdc__err *err)
{
    cdc__buf b;
    cdc__buf_init(&b, NULL);
    int rc;
    uint8_t cmd = CDC_COM_BINLOG_DUMP;
    const char *file = cdc_position_file(pos);
    if (*file || info->mariadb) {
        if (pos->offset > UINT32_MAX) {
            cdc__buf_free(&b);
            return cdc__err_set(err, CDC_ERR_UNSUPPORTED, "offset %" PRIu64 " does not fit COM_BINLOG_DUMP",
                                pos->offset);
        }
        /* MariaDB with @slave_connect_state set ignores file and offset. */
        rc = cdc__replica_build_dump(&b, server_id, file, *file ? (uint32_t)pos->offset : 4, 0);
    } else {
        cmd = CDC_COM_BINLOG_DUMP_GTID;
        rc = cdc__replica_build_dump_gtid(&b, server_id, "", 4, &pos->gtids, CDC__DUMP_THROUGH_GTID);
    }
    if (rc == CDC_OK) rc = cdc__conn_write_command(c, cmd, b.data, b.len, err);
    else cdc__err_set(err, rc, "out of memory");
    cdc__buf_free(&b);
    /* reads of up to 2 MiB, into a huge page, for the events: 20% less
     * client CPU than 64 KiB reads over loopback (docs/performance.md,
     * session 11); without the memory the reads stay at 64 KiB */
    if (rc == CDC_OK) (void)cdc__conn_grow_input(c, CDC__DUMP_INPUT_BYTES);
    return rc;
}

int cdc__replica_event_bounds(cdc__conn *c, const char *file, uint64_t pos, bool *boundary, uint64_t *prev,
                              uint64_t *next, cdc__err *err)
{
    *boundary = false;
    *prev = *next = 0;
    cdc__buf sql;
    cdc__buf_init(&sql, NULL);
    int rc = CDC_OK;
    uint64_t from = 4, seen = 0;
    for (;;) {
        cdc__buf_reset(&sql);
        if (cdc__buf_puts(&sql, "SHOW BINLOG EVENTS IN ") || cdc__sql_quote(&sql, file, strlen(file)) ||
            cdc__buf_printf(&sql, " FROM %" PRIu64 " LIMIT %d", from, CDC__BOUNDS_PAGE) || cdc__buf_terminate(&sql)) {
            rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
            break;
        }
        cdc__result *r = NULL;
        rc = cdc__conn_query_result(c, (const char *)sql.data, &r, err);
        if (rc) {
            cdc__err_prefix(err, "SHOW BINLOG EVENTS IN '%s'", file);
            break;
        }
        int pcol = cdc__result_col(r, "Pos"), ecol = cdc__result_col(r, "End_log_pos");
        size_t n = cdc__result_rows(r);
        uint64_t last = from, end = 0;
        bool done = false;
        for (size_t i = 0; i < n && !done && pcol >= 0; i++) {
            const char *ps = cdc__result_get(r, i, (size_t)pcol);
            const char *es = ecol >= 0 ? cdc__result_get(r, i, (size_t)ecol) : NULL;
            uint64_t p = 0, e = 0;
            if (!ps || !cdc__parse_u64(ps, strlen(ps), &p)) continue;
            if (es) (void)cdc__parse_u64(es, strlen(es), &e);
            if (p == pos) *boundary = done = true;
            else if (p < pos) *prev = p > *prev ? p : *prev;
            else *next = p, done = true;
            if (p > last) last = p;
            if (e > end) end = e;
        }
        cdc__result_free(r);
        seen += n;
        if (done || n < CDC__BOUNDS_PAGE || pcol < 0) break; /* found, or the file ends */
        if (seen >= CDC__BOUNDS_EVENTS_MAX) {
            rc = cdc__err_set(err, CDC_ERR_TOO_LARGE, "more than %d events before offset %" PRIu64 " in %s",
                              CDC__BOUNDS_EVENTS_MAX, pos, file);
            break;
        }
        /* The next page starts at the last event seen (listed again); a
         * page of one event's inner events only moves on by its end. */
        from = last > from ? last : end > from ? end : 0;
        if (!from) break;
    }
    cdc__buf_free(&sql);
    return rc;
}

int cdc__replica_explain_start(cdc__conn *c, const char *file, uint64_t pos, cdc__err *dump_err, cdc__err *err)
{
    bool boundary = false;
    uint64_t prev = 0, next = 0;
    int rc = cdc__replica_event_bounds(c, file, pos, &boundary, &prev, &next, err);
    if (rc || boundary) return rc;
    char around[128];
    if (prev && next)
        snprintf(around, sizeof around, "the events around it start at %" PRIu64 " and %" PRIu64, prev, next);
    else if (prev)
        snprintf(around, sizeof around, "the last event of the file starts at %" PRIu64, prev);
    else
        snprintf(around, sizeof around, "the first event starts at %" PRIu64, next);
    char was[CDC__ERRMSG_MAX];
    snprintf(was, sizeof was, "%s", dump_err->msg);
    cdc__err_clear(dump_err);
    cdc__err_set(dump_err, CDC_ERR_CONFIG, "start: position %s:%" PRIu64 " is not the start of an event (%s); "
                                           "reading there: %s",
                 file, pos, around, was);
    return CDC_OK;
}

int cdc__replica_check_start(cdc__conn *c, const char *file, uint64_t pos, cdc__err *err)
{
    cdc__buf sql;
    cdc__buf_init(&sql, NULL);
    if (cdc__buf_puts(&sql, "SHOW BINLOG EVENTS IN ") || cdc__sql_quote(&sql, file, strlen(file)) ||
        cdc__buf_printf(&sql, " FROM %" PRIu64 " LIMIT 1", pos) || cdc__buf_terminate(&sql)) {
        cdc__buf_free(&sql);
        return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    }
    cdc__result *r = NULL;
    cdc__err e = {0};
    int rc = cdc__conn_query_result(c, (const char *)sql.data, &r, &e);
    cdc__buf_free(&sql);
    cdc__result_free(r);
    if (rc && !e.server_errno) { /* no answer at all: the caller's to retry */
        *err = e;
        return rc;
    }
    /* readable, or not ours to judge (privilege, no such file: the dump says) */
    if (rc == CDC_OK || e.server_errno != 1220) return CDC_OK;
    cdc__err_prefix(&e, "SHOW BINLOG EVENTS FROM %" PRIu64, pos);
    cdc__err tmp = {0};
    int xrc = cdc__replica_explain_start(c, file, pos, &e, &tmp);
    if (xrc == CDC_OK && e.code != CDC_ERR_CONFIG) return CDC_OK; /* an event starts there after all */
    /* a file the server does not have (purged) is the dump's to report */
    if (xrc && xrc != CDC_ERR_TOO_LARGE) return CDC_OK;
    if (xrc) { /* the list is too long to read: say what is known */
        char was[CDC__ERRMSG_MAX];
        snprintf(was, sizeof was, "%s", e.msg);
        cdc__err_clear(&e);
        cdc__err_set(&e, CDC_ERR_CONFIG, "start: the server reads no event at %s:%" PRIu64
                                         " (not the start of an event?): %s", file, pos, was);
    }
    *err = e;
    return err->code;
}

int cdc__replica_dump_error(const uint8_t *p, size_t n, cdc__err *err)
{
    cdc__err e = {0};
    int rc = cdc__err_packet(p, n, &e);
    if (e.server_errno == 1236) {
        if (contains_ci(e.msg, "purged") || contains_ci(e.msg, "could not find") ||
            contains_ci(e.msg, "not in the master's binlog") || contains_ci(e.msg, "not in the source's binlog"))
            rc = CDC_ERR_PURGED;
        else if (contains_ci(e.msg, "same server_uuid") || contains_ci(e.msg, "same server_id") ||
                 contains_ci(e.msg, "same server id"))
            rc = CDC_ERR_CONFIG;
    }
    e.code = rc;
    if (err) {
        *err = e;
        cdc__err_prefix(err, "binlog dump");
    }
    return rc;
}

int cdc__replica_dump_packet(const uint8_t *p, size_t n, bool more, cdc_bytes *event, cdc__err *err)
{
    if (n && p[0] == 0x00) {
        *event = (cdc_bytes){p + 1, n - 1};
        return CDC_OK;
    }
    if (more)
        return cdc__err_set(err, CDC_ERR_PROTOCOL, "binlog dump: a %zu-byte packet of type 0x%02x", n, n ? p[0] : 0);
    if (n && p[0] == 0xff) {
        int rc = cdc__replica_dump_error(p, n, err);
        /* A killed dump thread or a server going down is a dropped
         * connection; ER_QUERY_INTERRUPTED (1317) too. */
        if (err->server_errno == 1317) rc = err->code = CDC_ERR_CLOSED;
        return rc;
    }
    if (n && n < 9 && p[0] == 0xfe) return cdc__err_set(err, CDC_ERR_CLOSED, "the server ended the binlog dump");
    return cdc__err_set(err, CDC_ERR_PROTOCOL, "binlog dump: unexpected packet 0x%02x of %zu bytes", n ? p[0] : 0, n);
}

void cdc__replica_end_dump(const cdc__conn_opts *o, const cdc_allocator *a, uint32_t id)
{
    cdc__conn_opts k_o = *o;
    k_o.connect_timeout_ms = 2000;
    k_o.read_timeout_ms = 2000;
    cdc__conn *k = NULL;
    cdc__err e = {0};
    if (cdc__conn_new(&k, a) == CDC_OK && cdc__conn_connect(k, &k_o, &e) == CDC_OK) {
        char sql[32];
        snprintf(sql, sizeof sql, "KILL %" PRIu32, id);
        (void)cdc__conn_exec(k, sql, &e); /* gone already is fine */
    }
    cdc__conn_free(k);
}

int cdc__replica_check_start_point(const cdc__server_info *info, const cdc_position *start, bool start_file_ok,
                                   const cdc_position *now, cdc__err *err)
{
    /* A start past the end of the binlog is no position of this server (a
     * checkpoint of another one, or binlogs reset since): with stop.at=now
     * it would end at once, silently, having delivered nothing. */
    if (now && start_file_ok && now->file.len) {
        int c = cdc__binlog_name_cmp(cdc_position_file(start), cdc_position_file(now));
        if (c > 0 || (c == 0 && start->offset > now->offset))
            return cdc__err_set(err, CDC_ERR_CONFIG,
                                "start: %s:%" PRIu64 " lies past the end of the server's binlog (%s:%" PRIu64
                                " now): a checkpoint of another server, or binlogs reset since?",
                                cdc_position_file(start), start->offset, cdc_position_file(now), now->offset);
    }
    if (start->gtid_known && start->gtids.n_sids && info->mariadb)
        return cdc__err_set(err, CDC_ERR_CONFIG, "start: a MySQL GTID set cannot position a MariaDB server");
    if (start->gtid_known && start->gtids.n_maria && !info->mariadb)
        return cdc__err_set(err, CDC_ERR_CONFIG, "start: a MariaDB GTID position cannot position a MySQL server");
    return CDC_OK;
}

int cdc_position_now(cdc_position **out, const cdc_config *cfg, const cdc_allocator *alloc, char *errbuf,
                     size_t errlen)
{
    cdc__err err = {0};
    if (!out || !cfg) {
        cdc__err_set(&err, CDC_ERR_INVALID, "cdc_position_now: %s is NULL", out ? "cfg" : "out");
        cdc__err_copy_out(&err, errbuf, errlen);
        return CDC_ERR_INVALID;
    }
    *out = NULL;
    const cdc_allocator *a = cdc__allocator(alloc);
    cdc__conn_opts o;
    cdc__conn_opts_from_config(cfg, &o);
    cdc__conn *c = NULL;
    cdc_position *p = NULL;
    int rc = cdc__conn_new(&c, a);
    if (rc == CDC_OK) rc = cdc__position_new(&p, a);
    if (rc) cdc__err_set(&err, rc, "out of memory");
    if (rc == CDC_OK) rc = cdc__conn_connect(c, &o, &err);
    if (rc == CDC_OK) {
        cdc__server_info info = {0};
        info.mariadb = cdc__conn_server_version(c)->flavour == CDC_FLAVOUR_MARIADB;
        rc = cdc__replica_now(c, &info, p, &err);
    }
    cdc__conn_free(c);
    if (rc) {
        cdc_position_free(p);
        cdc__err_copy_out(&err, errbuf, errlen);
        return rc;
    }
    *out = p;
    return CDC_OK;
}
