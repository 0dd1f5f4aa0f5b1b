/*
 * snapshot_point.c: the binlog point a snapshot is consistent with, and
 * the table locks that keep it consistent (snapshot_point.h,
 * docs/snapshot.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "replica.h"
#include "snapshot_point.h"

/* MariaDB without RELOAD: times we reopen N snapshots hoping they all
 * land on the same binlog point before giving up. */
#define SAME_POINT_ATTEMPTS 50

/* One fixing of the point. */
typedef struct fixing {
    const cdc__snap_fixer *f;
    const cdc_allocator *a;
    cdc__conn *c0;
    size_t nw;                  /* sessions */
    cdc__snap_table *tables;
    size_t ntables;
} fixing;

#define logf_(s, ...) cdc__snap_logf((s)->f->log, (s)->f->log_ud, __VA_ARGS__)

static char *dup(const cdc_allocator *a, const char *s) { return s ? cdc__strndup(a, s, strlen(s)) : NULL; }

void cdc__snap_point_free(const cdc_allocator *a, cdc__snap_point *p)
{
    if (!p) return;
    cdc__free(a, p->file);
    cdc__free(a, p->gtid_set);
    p->file = p->gtid_set = NULL;
}

/* ---- the consistency point -------------------------------------------- */

/* head 'file' mid offset tail, for statements about the point (the file
 * name as a quoted literal: never spliced raw); CDC_ERR_NOMEM. */
static int point_sql(cdc__buf *out, const char *head, const cdc__snap_point *p, const char *mid, const char *tail)
{
    int rc = cdc__buf_puts(out, head);
    if (!rc) rc = cdc__sql_quote(out, p->file, strlen(p->file));
    if (!rc) rc = cdc__buf_printf(out, "%s%llu%s", mid, (unsigned long long)p->offset, tail);
    if (!rc) rc = cdc__buf_terminate(out);
    return rc ? CDC_ERR_NOMEM : CDC_OK;
}

static int start_snapshot(cdc__conn *c, cdc__err *err)
{
    return cdc__snap_exec(c, "START TRANSACTION WITH CONSISTENT SNAPSHOT", err);
}

/* MariaDB: the binlog point of the session's snapshot. */
static int maria_point(fixing *s, cdc__conn *c, char **file, uint64_t *pos, cdc__err *err)
{
    cdc__result *r = NULL;
    int rc = cdc__snap_query(c, "SHOW STATUS LIKE 'binlog_snapshot_%'", &r, err);
    if (rc) return rc;
    *file = NULL;
    *pos = 0;
    for (size_t i = 0; i < cdc__result_rows(r); i++) {
        const char *k = cdc__result_get(r, i, 0), *v = cdc__result_get(r, i, 1);
        if (!k || !v) continue;
        if (!strcasecmp(k, "Binlog_snapshot_file")) *file = dup(s->a, v);
        else if (!strcasecmp(k, "Binlog_snapshot_position") && !cdc__parse_u64(v, strlen(v), pos)) *pos = 0;
    }
    cdc__result_free(r);
    if (!*file || !**file) {
        cdc__free(s->a, *file);
        *file = NULL;
        return cdc__err_set(err, CDC_ERR_UNSUPPORTED,
                            "snapshot: the server reports no binlog_snapshot_file (is the binary log enabled?)");
    }
    if (*pos < 4) {
        cdc__free(s->a, *file);
        *file = NULL;
        return cdc__err_set(err, CDC_ERR_PROTOCOL, "snapshot: the server reports no valid binlog_snapshot_position");
    }
    return CDC_OK;
}

/* The point's read lock waits at most the configured time for running
 * statements (FLUSH TABLES WITH READ LOCK, while it waits, already holds
 * every new write on the server off). */
static int set_lock_timeout(fixing *s, cdc__err *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SET SESSION lock_wait_timeout = %u", s->f->lock_timeout_s ? s->f->lock_timeout_s : 10);
    return cdc__snap_exec(s->c0, sql, err);
}

#define ER_LOCK_WAIT_TIMEOUT 1205

/* "statement N of user U, running for T s: SQL" of the longest running
 * statement but ours, or "" (best effort: PROCESS shows others' sessions). */
static void longest_statement(fixing *s, char *out, size_t cap)
{
    *out = 0;
    cdc__result *r = NULL;
    cdc__err e;
    if (cdc__conn_query_result(s->c0,
                               "SELECT ID, USER, TIME, LEFT(INFO, 200) FROM information_schema.PROCESSLIST"
                               " WHERE ID <> CONNECTION_ID() AND INFO IS NOT NULL"
                               " AND COMMAND NOT IN ('Sleep', 'Daemon', 'Binlog Dump', 'Binlog Dump GTID')"
                               " ORDER BY TIME DESC LIMIT 1",
                               &r, &e) == CDC_OK &&
        cdc__result_rows(r) == 1) {
        const char *id = cdc__result_get(r, 0, 0), *user = cdc__result_get(r, 0, 1), *t = cdc__result_get(r, 0, 2),
                   *sql = cdc__result_get(r, 0, 3);
        snprintf(out, cap, "; the longest running statement is session %s of %s, for %s s: %s", id ? id : "?",
                 user ? user : "?", t ? t : "?", sql ? sql : "?");
    }
    cdc__result_free(r);
}

static void rollback_all(fixing *s)
{
    cdc__err e;
    for (size_t i = 0; i < s->nw; i++) cdc__conn_exec(s->f->sessions[i], "ROLLBACK", &e);
}

static int point_mariadb(fixing *s, cdc__snap_point *p, cdc__err *err)
{
    int rc = CDC_OK;
    bool locked = false;
    for (int attempt = s->f->maria_lock && s->nw > 1 ? SAME_POINT_ATTEMPTS : 0;; attempt++) {
        if (attempt == SAME_POINT_ATTEMPTS) {
            /* writers are too busy for N lock-free snapshots to agree; a
             * read lock held for the few milliseconds it takes to open
             * them makes the point exact */
            rc = set_lock_timeout(s, err);
            if (!rc) rc = cdc__snap_exec(s->c0, "FLUSH TABLES WITH READ LOCK", err);
            if (rc && err->server_errno == ER_LOCK_WAIT_TIMEOUT) {
                char who[400];
                longest_statement(s, who, sizeof who);
                return cdc__err_set(err, CDC_ERR_TIMEOUT,
                                    "snapshot: %zu connections did not reach the same binlog point in %d tries, and "
                                    "FLUSH TABLES WITH READ LOCK waited %u s for running statements "
                                    "(snapshot.lock.timeout.ms)%s; use snapshot.parallelism=1 (no lock) or retry",
                                    s->nw, SAME_POINT_ATTEMPTS, s->f->lock_timeout_s ? s->f->lock_timeout_s : 10, who);
            }
            if (rc == CDC_ERR_PRIVILEGE)
                return cdc__err_set(err, CDC_ERR_PRIVILEGE,
                                    "snapshot: %zu connections did not reach the same binlog point in %d tries "
                                    "and FLUSH TABLES WITH READ LOCK needs RELOAD, which this account lacks; "
                                    "grant RELOAD or use snapshot.parallelism=1",
                                    s->nw, SAME_POINT_ATTEMPTS);
            if (rc) return rc;
            locked = true;
            logf_(s, 2, "snapshot: took FLUSH TABLES WITH READ LOCK to open %zu snapshots at one point", s->nw);
        }
        char *first = NULL;
        uint64_t first_pos = 0;
        bool same = true;
        for (size_t i = 0; i < s->nw && !rc; i++) rc = start_snapshot(s->f->sessions[i], err);
        for (size_t i = 0; i < s->nw && !rc && same; i++) {
            char *f;
            uint64_t pos;
            rc = maria_point(s, s->f->sessions[i], &f, &pos, err);
            if (rc) break;
            if (i == 0) {
                first = f;
                first_pos = pos;
            } else {
                same = !strcmp(f, first) && pos == first_pos;
                cdc__free(s->a, f);
            }
        }
        if (locked) {
            cdc__err e;
            int urc = cdc__snap_exec(s->c0, "UNLOCK TABLES", &e);
            if (!rc && urc) {
                *err = e;
                rc = urc;
            }
        }
        if (!rc && same) {
            p->file = first;
            p->offset = first_pos;
            break;
        }
        cdc__free(s->a, first);
        if (rc) return rc;
        rollback_all(s);
        if (attempt == 0) logf_(s, 2, "snapshot: worker snapshots opened at different binlog points; retrying");
    }
    /* the GTID position at that point: cdc__snap_gtid_send/_read, or
     * cdc__snap_fix_point's caller later */
    return CDC_OK;
}

/* ---- MariaDB: the point's GTID position --------------------------------- */

int cdc__snap_gtid_send(cdc__conn *c, const cdc_allocator *a, const cdc__snap_point *p, unsigned test_delay_s,
                        cdc__err *err)
{
    cdc__buf sql;
    cdc__buf_init(&sql, a);
    char tail[96] = ")";
    /* tests: the same value, after a server-side wait (a derived table
     * evaluated once, before the select list) */
    if (test_delay_s)
        snprintf(tail, sizeof tail, ") FROM (SELECT SLEEP(%u) AS cdc_test_gtid_delay) AS d", test_delay_s);
    int rc = point_sql(&sql, "SELECT BINLOG_GTID_POS(", p, ", ", tail);
    if (rc) rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    else rc = cdc__conn_send_query(c, (const char *)sql.data, err);
    if (rc && rc != CDC_ERR_NOMEM)
        cdc__err_prefix(err, "snapshot: sending BINLOG_GTID_POS('%s', %llu) for the point's GTID position", p->file,
                        (unsigned long long)p->offset);
    cdc__buf_free(&sql);
    return rc;
}

/* Whether file is still among the server's binlogs (SHOW BINARY LOGS);
 * true when that cannot be told. */
static bool binlog_exists(cdc__conn *c, const char *file)
{
    cdc__result *r = NULL;
    cdc__err e;
    if (cdc__conn_query_result(c, "SHOW BINARY LOGS", &r, &e)) return true;
    bool found = false;
    for (size_t i = 0; i < cdc__result_rows(r) && !found; i++) {
        const char *f = cdc__result_get(r, i, 0);
        found = f && !strcmp(f, file);
    }
    cdc__result_free(r);
    return found;
}

int cdc__snap_gtid_read(cdc__conn *c, const cdc_allocator *a, cdc__snap_point *p,
                        void (*log)(int level, int code, const char *msg, void *ud), void *log_ud, cdc__err *err)
{
    cdc__result *r = NULL;
    int rc = cdc__conn_read_result(c, &r, err);
    if (rc) {
        cdc__err_prefix(err, "snapshot: the point's GTID position, BINLOG_GTID_POS('%s', %llu)", p->file,
                        (unsigned long long)p->offset);
        return rc;
    }
    const char *g = cdc__result_rows(r) ? cdc__result_get(r, 0, 0) : NULL;
    cdc__free(a, p->gtid_set);
    p->gtid_set = dup(a, g ? g : "");
    cdc__result_free(r);
    if (!p->gtid_set) return cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
    if (!g) {
        /* NULL for a file the server no longer has: the point has no
         * exact GTID position any more, and none is made up */
        if (!binlog_exists(c, p->file)) {
            cdc__free(a, p->gtid_set);
            p->gtid_set = NULL;
            return cdc__err_set(err, CDC_ERR_PURGED,
                                "snapshot: BINLOG_GTID_POS('%s', %llu) is NULL: the binlog file was purged before "
                                "the server read the point's GTID position from it; take the snapshot again",
                                p->file, (unsigned long long)p->offset);
        }
        cdc__snap_logf(log, log_ud, 1, "snapshot: BINLOG_GTID_POS(%s, %llu) is NULL; the point has no GTID position",
                       p->file, (unsigned long long)p->offset);
    }
    return CDC_OK;
}

/* MySQL: file, position and executed GTID set under the lock on c0. */
static int mysql_status(fixing *s, cdc__snap_point *p, cdc__err *err)
{
    cdc__binlog_status st;
    int rc = cdc__replica_binlog_status(s->c0, s->a, &st, err);
    if (rc) {
        cdc__err_prefix(err, "snapshot: SHOW BINARY LOG STATUS (needs REPLICATION CLIENT)");
        return rc;
    }
    if (!st.file)
        return cdc__err_set(err, CDC_ERR_UNSUPPORTED,
                            "snapshot: SHOW BINARY LOG STATUS is empty: the binary log is off");
    /* the point takes the strings */
    p->file = st.file;
    p->offset = st.offset;
    p->gtid_set = st.gtids;
    return CDC_OK;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int point_mysql(fixing *s, cdc__snap_point *p, cdc__err *err)
{
    cdc__err ftwrl;
    int rc = set_lock_timeout(s, err);
    if (rc) return rc;
    double t0 = mono_ms();
    const char *how = "FLUSH TABLES WITH READ LOCK";
    rc = cdc__conn_exec(s->c0, "FLUSH TABLES WITH READ LOCK", &ftwrl);
    bool waited = rc && ftwrl.server_errno == ER_LOCK_WAIT_TIMEOUT;
    if (rc == CDC_ERR_PRIVILEGE || waited) {
        /* Without RELOAD, or behind a long statement on any table:
         * LOCK TABLES ... READ on the captured tables waits for every
         * transaction writing them to commit and holds new ones off,
         * which is all the point needs (changes to other tables are
         * filtered out anyway). */
        char who[400];
        if (waited) longest_statement(s, who, sizeof who);
        if (waited)
            logf_(s, 1,
                  "snapshot: FLUSH TABLES WITH READ LOCK waited %u s for running statements (snapshot.lock.timeout.ms)"
                  "%s; locking the %zu captured tables with LOCK TABLES ... READ instead",
                  s->f->lock_timeout_s ? s->f->lock_timeout_s : 10, who, s->ntables);
        else
            logf_(s, 1,
                  "snapshot: FLUSH TABLES WITH READ LOCK refused (%s); locking the %zu captured tables with "
                  "LOCK TABLES ... READ instead",
                  ftwrl.msg, s->ntables);
        how = "LOCK TABLES ... READ";
        t0 = mono_ms();
        if (s->ntables) {
            cdc__buf b;
            cdc__buf_init(&b, s->a);
            rc = cdc__buf_puts(&b, "LOCK TABLES ");
            for (size_t i = 0; i < s->ntables && !rc; i++) {
                char *qd = cdc__snap_quote(s->a, s->tables[i].t.db), *qt = cdc__snap_quote(s->a, s->tables[i].t.name);
                rc = !qd || !qt ? CDC_ERR_NOMEM : cdc__buf_printf(&b, "%s%s.%s READ", i ? ", " : "", qd, qt);
                cdc__free(s->a, qd);
                cdc__free(s->a, qt);
            }
            if (!rc) rc = cdc__buf_terminate(&b);
            if (!rc) rc = cdc__conn_exec(s->c0, (const char *)b.data, err);
            cdc__buf_free(&b);
            if (rc == CDC_ERR_PRIVILEGE) {
                cdc__err lt = *err;
                return cdc__err_set(err, CDC_ERR_PRIVILEGE,
                                    "snapshot: no way to fix a consistent binlog point: FLUSH TABLES WITH READ "
                                    "LOCK needs RELOAD and LOCK TABLES needs the LOCK TABLES privilege on the "
                                    "captured tables; this account has neither (%.200s)",
                                    lt.msg);
            }
            if (rc && err->server_errno == ER_LOCK_WAIT_TIMEOUT) {
                char who[400];
                longest_statement(s, who, sizeof who);
                return cdc__err_set(err, CDC_ERR_TIMEOUT,
                                    "snapshot: the read lock on the captured tables that fixes the snapshot's point "
                                    "waited %u s for running statements (snapshot.lock.timeout.ms)%s",
                                    s->f->lock_timeout_s ? s->f->lock_timeout_s : 10, who);
            }
            if (rc) return rc;
        }
    } else if (rc) {
        *err = ftwrl;
        return rc;
    }
    for (size_t i = 0; i < s->nw && !rc; i++) rc = start_snapshot(s->f->sessions[i], err);
    if (!rc) rc = mysql_status(s, p, err);
    cdc__err e;
    int urc = cdc__snap_exec(s->c0, "UNLOCK TABLES", &e);
    if (!rc && urc) {
        *err = e;
        rc = urc;
    }
    if (!rc) logf_(s, 2, "snapshot: %s held for %.1f ms to open %zu snapshots at %s:%llu", how, mono_ms() - t0, s->nw,
                   p->file, (unsigned long long)p->offset);
    return rc;
}

/* ---- DDL on captured tables ------------------------------------------ */

static bool resumed_done(const fixing *s, const cdc__snap_table *t)
{
    const cdc__sp_table *e = s->f->resume ? cdc__snapprog_find(s->f->resume, t->t.db, t->t.name) : NULL;
    return e && e->done;
}

/*
 * Every worker opens every captured table in its transaction, which
 * takes the table's metadata lock until the snapshot commits: from here
 * on DDL on a captured table waits for the snapshot (on both servers),
 * so no worker can meet a definition newer than the one read, and none
 * waits behind a queued ALTER for a lock it would only ask for later
 * while another worker holds the lock that ALTER waits for.
 */
static int touch_tables(fixing *s, cdc__err *err)
{
    enum { PER_STATEMENT = 32 };
    cdc__buf b;
    cdc__buf_init(&b, s->a);
    int rc = CDC_OK;
    for (size_t first = 0; first < s->ntables && !rc; first += PER_STATEMENT) {
        cdc__buf_reset(&b);
        size_t n = 0;
        for (size_t i = first; i < s->ntables && i < first + PER_STATEMENT && !rc; i++) {
            if (resumed_done(s, &s->tables[i])) continue;
            rc = cdc__buf_printf(&b, "%sSELECT 1%s WHERE 0", n++ ? " UNION ALL " : "",
                                 strstr(s->tables[i].select_sql, " FROM "));
        }
        if (!n) continue;
        if (!rc) rc = cdc__buf_puts(&b, " LIMIT 0");
        if (!rc) rc = cdc__buf_terminate(&b);
        if (rc) {
            rc = cdc__err_set(err, CDC_ERR_NOMEM, "out of memory");
            break;
        }
        for (size_t w = 0; w < s->nw && !rc; w++) rc = cdc__snap_exec(s->f->sessions[w], (const char *)b.data, err);
    }
    cdc__buf_free(&b);
    return rc;
}

/* The first DDL statement naming t in the binlog after the point (a
 * best effort for the message: SHOW BINLOG EVENTS may be refused). */
static void find_ddl(fixing *s, const cdc__snap_table *t, const cdc__snap_point *p, char *out, size_t cap)
{
    snprintf(out, cap, "the statement is not in %s after the point", p->file);
    cdc__buf sql;
    cdc__buf_init(&sql, s->a);
    cdc__result *r = NULL;
    cdc__err e;
    int rc = point_sql(&sql, "SHOW BINLOG EVENTS IN ", p, " FROM ", " LIMIT 20000");
    if (!rc) rc = cdc__conn_query_result(s->c0, (const char *)sql.data, &r, &e);
    cdc__buf_free(&sql);
    if (rc) return;
    for (size_t i = 0; i < cdc__result_rows(r); i++) {
        const char *type = cdc__snap_rget(r, i, "Event_type"), *info = cdc__snap_rget(r, i, "Info");
        if (!type || !info || strcmp(type, "Query") || !strstr(info, t->t.name)) continue;
        const char *stmt = strstr(info, "; ") && !strncasecmp(info, "use ", 4) ? strstr(info, "; ") + 2 : info;
        while (*stmt == ' ' || *stmt == '/') stmt++;
        static const char *const ddl[] = {"ALTER", "DROP", "RENAME", "TRUNCATE", "CREATE", "OPTIMIZE", "REPAIR"};
        for (size_t k = 0; k < sizeof ddl / sizeof ddl[0]; k++)
            if (!strncasecmp(stmt, ddl[k], strlen(ddl[k]))) {
                const char *pos = cdc__snap_rget(r, i, "Pos");
                snprintf(out, cap, "%.300s (%s:%s)", stmt, p->file, pos ? pos : "?");
                cdc__result_free(r);
                return;
            }
    }
    cdc__result_free(r);
}

static bool skip_done(const cdc__snap_table *t, void *ud) { return resumed_done(ud, t); }

/*
 * After touch_tables(): the definitions now (which can no longer change)
 * against those read before the point. A difference is DDL that landed
 * between reading the schema and locking the tables: CDC_ERR_SCHEMA, and
 * the caller takes the point again.
 */
static int verify_schema(fixing *s, const cdc__snap_point *p, cdc__err *err)
{
    size_t k;
    bool gone;
    int rc = cdc__snap_tables_changed(s->c0, s->tables, s->ntables, skip_done, s, &k, &gone, err);
    if (rc || k == s->ntables) return rc;
    const cdc__snap_table *t = &s->tables[k];
    char stmt[400];
    find_ddl(s, t, p, stmt, sizeof stmt);
    return cdc__err_set(err, CDC_ERR_SCHEMA,
                        "snapshot of %s.%s: the table was %s while the snapshot's point was being fixed: %s", t->t.db,
                        t->t.name, gone ? "dropped or renamed" : "altered", stmt);
}

int cdc__snap_fix_point(const cdc__snap_fixer *f, cdc__snap_table **tables, size_t *ntables, cdc__snap_point *p,
                        cdc__err *err)
{
    fixing fx = {.f = f, .a = f->a, .c0 = f->coord, .nw = f->nsessions}, *s = &fx;
    memset(p, 0, sizeof *p);
    *tables = NULL;
    *ntables = 0;
    /* DDL between reading the schema and locking the tables (touch_tables)
     * shows in verify_schema(): then the point is taken again */
    int rc = CDC_OK;
    for (int attempt = 1;; attempt++) {
        rc = cdc__snap_tables_read(s->c0, f->mariadb, f->filter, s->a, &s->tables, &s->ntables, err);
        if (!rc) rc = f->mariadb ? point_mariadb(s, p, err) : point_mysql(s, p, err);
        if (!rc && f->test_after_point) f->test_after_point(f->test_ud);
        if (!rc && !f->no_data) rc = touch_tables(s, err);
        if (!rc && !f->no_data) rc = verify_schema(s, p, err);
        if (!rc && f->mariadb && !f->defer_gtid) {
            rc = cdc__snap_gtid_send(s->c0, s->a, p, 0, err);
            if (!rc) rc = cdc__snap_gtid_read(s->c0, s->a, p, f->log, f->log_ud, err);
        }
        if (rc != CDC_ERR_SCHEMA) break;
        if (attempt == CDC__SNAP_SCHEMA_ATTEMPTS) {
            cdc__err_prefix(err, "snapshot: %d attempts", CDC__SNAP_SCHEMA_ATTEMPTS);
            break;
        }
        logf_(s, 1, "%s; taking the point again", err->msg);
        rollback_all(s);
        cdc__snap_tables_free(s->a, s->tables, s->ntables);
        s->tables = NULL;
        s->ntables = 0;
        cdc__snap_point_free(s->a, p);
    }
    if (rc) {
        cdc__snap_tables_free(s->a, s->tables, s->ntables);
        cdc__snap_point_free(s->a, p);
        return rc;
    }
    *tables = s->tables;
    *ntables = s->ntables;
    return CDC_OK;
}
