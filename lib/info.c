/*
 * info.c: cdc/info.h, the facts `cdc info` shows, read over one
 * connection made from the configuration's connection keys.
 */
#include <inttypes.h>
#include <stdio.h>

#include <cdc/info.h>

#include "config.h"
#include "conn.h"
#include "info.h"
#include "replica.h"

typedef struct fact {
    char *name, *value, *error;
} fact;

struct cdc_server_info {
    const cdc_allocator *a;
    fact *f;
    size_t n, cap;
};

static int add(cdc_server_info *i, const char *name, const char *value, const char *error)
{
    if (i->n == i->cap) {
        size_t cap = i->cap ? i->cap * 2 : 32;
        fact *nf = cdc__realloc(i->a, i->f, cap * sizeof *nf);
        if (!nf) return CDC_ERR_NOMEM;
        i->f = nf;
        i->cap = cap;
    }
    fact *f = &i->f[i->n];
    f->name = cdc__strndup(i->a, name, strlen(name));
    f->value = value ? cdc__strndup(i->a, value, strlen(value)) : NULL;
    f->error = error ? cdc__strndup(i->a, error, strlen(error)) : NULL;
    i->n++;
    return f->name && (!value || f->value) && (!error || f->error) ? CDC_OK : CDC_ERR_NOMEM;
}

/* One fact per column of the first row of sql; a failing query gives
 * each of them its error. */
static int add_query(cdc_server_info *i, cdc__conn *c, const char *sql, const char *const *names, size_t n)
{
    cdc__result *r = NULL;
    cdc__err e;
    cdc__err_clear(&e);
    int rc = cdc__conn_query_result(c, sql, &r, &e);
    for (size_t k = 0; k < n; k++) {
        const char *v = NULL;
        if (!rc && cdc__result_rows(r) && k < cdc__result_cols(r)) v = cdc__result_get(r, 0, k);
        int arc = rc ? add(i, names[k], NULL, e.msg) : add(i, names[k], v ? v : "", NULL);
        if (arc) {
            cdc__result_free(r);
            return arc;
        }
    }
    cdc__result_free(r);
    return CDC_OK;
}

CDC_EXTERN int cdc_server_info_get(cdc_server_info **out, const cdc_config *cfg, const cdc_allocator *alloc,
                                   char *err, size_t errlen)
{
    cdc__err e;
    cdc__err_clear(&e);
    *out = NULL;
    if (!cfg) {
        cdc__err_set(&e, CDC_ERR_INVALID, "no configuration");
        cdc__err_copy_out(&e, err, errlen);
        return CDC_ERR_INVALID;
    }
    cdc__conn_opts o;
    cdc__conn_opts_from_config(cfg, &o);
    if (!*o.user) {
        cdc__err_set(&e, CDC_ERR_CONFIG, "user: no user name set");
        cdc__err_copy_out(&e, err, errlen);
        return CDC_ERR_CONFIG;
    }
    const cdc_allocator *a = cdc__allocator(alloc);
    cdc_server_info *i = cdc__calloc(a, 1, sizeof *i);
    cdc__conn *c = NULL;
    int rc = i ? cdc__conn_new(&c, a) : CDC_ERR_NOMEM;
    if (rc) {
        cdc__err_set(&e, CDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    i->a = a;
    if ((rc = cdc__conn_connect(c, &o, &e))) goto done;

    const cdc__server_version *v = cdc__conn_server_version(c);
    bool maria = v->flavour == CDC_FLAVOUR_MARIADB;
    char buf[512];
    rc = add(i, "flavour", maria ? "MariaDB" : "MySQL", NULL);
    snprintf(buf, sizeof buf, "%u.%u.%u (%.*s)", v->major, v->minor, v->patch, (int)v->text.len,
             (const char *)v->text.ptr);
    if (!rc) rc = add(i, "version", buf, NULL);
    snprintf(buf, sizeof buf, "%" PRIu32, cdc__conn_id(c));
    if (!rc) rc = add(i, "connection_id", buf, NULL);
    if (!rc) rc = add(i, "auth_plugin", cdc__conn_auth_plugin(c), NULL);
    if (cdc__conn_tls_cipher(c))
        snprintf(buf, sizeof buf, "%s %s", cdc__conn_tls_version(c), cdc__conn_tls_cipher(c));
    else
        snprintf(buf, sizeof buf, "off%s", cdc__conn_is_unix(c) ? " (unix socket)" : "");
    if (!rc) rc = add(i, "tls", buf, NULL);
    if (!rc) rc = add(i, "compression", cdc__conn_compressed(c) ? "zlib" : "off", NULL);

    static const char *const common[] = {"server_id", "log_bin", "binlog_format", "binlog_row_image",
                                         "binlog_row_metadata", "binlog_checksum"};
    if (!rc)
        rc = add_query(i, c,
                       "SELECT @@server_id, @@log_bin, @@binlog_format, @@binlog_row_image, "
                       "@@binlog_row_metadata, @@binlog_checksum",
                       common, 6);
    if (maria) {
        static const char *const m[] = {"gtid_domain_id", "gtid_current_pos", "gtid_binlog_pos"};
        if (!rc) rc = add_query(i, c, "SELECT @@gtid_domain_id, @@gtid_current_pos, @@gtid_binlog_pos", m, 3);
    } else {
        static const char *const m[] = {"server_uuid", "gtid_mode", "gtid_executed"};
        if (!rc) rc = add_query(i, c, "SELECT @@server_uuid, @@gtid_mode, @@gtid_executed", m, 3);
    }
    /* Where the binlog ends: the one reader of SHOW BINARY LOG STATUS /
     * SHOW MASTER STATUS (replica.c). No row (binary log off): "". */
    if (!rc) {
        cdc__binlog_status st;
        cdc__err qe;
        cdc__err_clear(&qe);
        int q = cdc__replica_binlog_status(c, a, &st, &qe);
        char off[32] = "";
        if (!q && st.file) snprintf(off, sizeof off, "%" PRIu64, st.offset);
        rc = add(i, "binlog_file", q ? NULL : st.file ? st.file : "", q ? qe.msg : NULL);
        if (!rc) rc = add(i, "binlog_position", q ? NULL : off, q ? qe.msg : NULL);
        if (!q) cdc__binlog_status_clear(a, &st);
    }
    if (rc) cdc__err_set(&e, rc, "out of memory");
done:
    cdc__conn_free(c);
    if (rc) {
        cdc_server_info_free(i);
        cdc__err_copy_out(&e, err, errlen);
        return rc;
    }
    *out = i;
    return CDC_OK;
}

CDC_EXTERN void cdc_server_info_free(cdc_server_info *i)
{
    if (!i) return;
    for (size_t k = 0; k < i->n; k++) {
        cdc__free(i->a, i->f[k].name);
        cdc__free(i->a, i->f[k].value);
        cdc__free(i->a, i->f[k].error);
    }
    cdc__free(i->a, i->f);
    cdc__free(i->a, i);
}

CDC_EXTERN size_t cdc_server_info_count(const cdc_server_info *i) { return i ? i->n : 0; }

CDC_EXTERN const char *cdc_server_info_name(const cdc_server_info *i, size_t k)
{
    return i && k < i->n ? i->f[k].name : NULL;
}

CDC_EXTERN const char *cdc_server_info_value(const cdc_server_info *i, size_t k)
{
    return i && k < i->n ? i->f[k].value : NULL;
}

CDC_EXTERN const char *cdc_server_info_error(const cdc_server_info *i, size_t k)
{
    return i && k < i->n ? i->f[k].error : NULL;
}

CDC_EXTERN const char *cdc_server_info_find(const cdc_server_info *i, const char *name)
{
    for (size_t k = 0; i && name && k < i->n; k++)
        if (!strcmp(i->f[k].name, name)) return i->f[k].value;
    return NULL;
}
