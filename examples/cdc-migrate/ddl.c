/*
 * DDL on migrated tables, applied to PostgreSQL, MySQL and MariaDB
 * targets (a MySQL/MariaDB target gets one ALTER TABLE per statement with
 * the copy's column definitions; see my_applied for a crash). Covered:
 *   ALTER TABLE t ADD [COLUMN] c ..., DROP [COLUMN] c, MODIFY [COLUMN] c ...,
 *   CHANGE [COLUMN] a b ..., RENAME COLUMN a TO b, RENAME [TO|AS] u
 *   (several, comma-separated; ALGORITHM= and LOCK= are ignored);
 *   RENAME TABLE t TO u; TRUNCATE [TABLE] t;
 *   indexes: ALTER TABLE t ADD [UNIQUE] INDEX|KEY [name] (cols), DROP
 *   INDEX|KEY name, RENAME INDEX|KEY a TO b (also beside column clauses),
 *   CREATE [UNIQUE] INDEX name ON t (cols), DROP INDEX name ON t. The index
 *   is the one the source has now (information_schema.STATISTICS); on
 *   PostgreSQL it is named as the copy names it (pg.c: <table>_<index>).
 *   FULLTEXT, SPATIAL and functional indexes stop the run, or are left out
 *   with --unmapped-index-ddl skip; with --no-indexes index statements are
 *   left out (logged), and so is a DROP/RENAME of an index the target does
 *   not have.
 * The statement gives the operation and the names; the new columns' types
 * come from the source's information_schema, through the same mapping as
 * the copy, after checking that the source's columns are exactly those
 * the statement makes from the target's (so no later DDL is mistaken for
 * this one). Refused, with the reason: anything else, a new column whose
 * existing rows the target cannot fill exactly (an expression default
 * such as CURRENT_TIMESTAMP), a type change across value kinds, dropping
 * or renaming into a key column's place, a table moved to another
 * database.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mysql.h>

#include "ddl.h"

/* ---- tokens --------------------------------------------------------- */

typedef struct tok {
    int kind; /* 'i' identifier or word, 'q' `quoted`, 's' string, 'n' number, else the char */
    char *text;
} tok;

typedef struct toks {
    tok *t;
    size_t n, i;
} toks;

static void toks_free(toks *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->t[i].text);
    free(k->t);
}

static void push(toks *k, int kind, const char *p, size_t n)
{
    k->t = realloc(k->t, (k->n + 1) * sizeof *k->t);
    if (!k->t)
        abort();
    char *s = xmalloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    k->t[k->n].kind = kind;
    k->t[k->n].text = s;
    k->n++;
}

static int lex(const char *p, size_t len, toks *k)
{
    const char *end = p + len;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (isspace(c)) {
            p++;
        } else if (c == '/' && p + 1 < end && p[1] == '*') {
            const char *e = p + 2;
            while (e + 1 < end && !(e[0] == '*' && e[1] == '/'))
                e++;
            if (e + 1 >= end)
                return -1;
            /* a versioned comment's body counts: slash-star-bang 50100 ... */
            if (p[2] == '!') {
                const char *b = p + 3;
                while (b < e && isdigit((unsigned char)*b))
                    b++;
                if (lex(b, (size_t)(e - b), k))
                    return -1;
            }
            p = e + 2;
        } else if ((c == '-' && p + 2 < end && p[1] == '-' && isspace((unsigned char)p[2])) ||
                   c == '#') {
            while (p < end && *p != '\n')
                p++;
        } else if (c == '`') {
            mbuf b = {0};
            for (p++; p < end; p++) {
                if (*p == '`') {
                    if (p + 1 < end && p[1] == '`') {
                        mbuf_addc(&b, '`');
                        p++;
                        continue;
                    }
                    break;
                }
                mbuf_addc(&b, *p);
            }
            if (p >= end) {
                mbuf_free(&b);
                return -1;
            }
            p++;
            push(k, 'q', b.p ? b.p : "", b.len);
            mbuf_free(&b);
        } else if (c == '\'' || c == '"') {
            const char *s = p++;
            while (p < end && *p != (char)c)
                p += *p == '\\' ? 2 : 1;
            if (p >= end)
                return -1;
            p++;
            push(k, 's', s, (size_t)(p - s));
        } else if (isalnum(c) || c == '_' || c == '$' || c >= 0x80) {
            const char *s = p;
            while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == '$' ||
                               (unsigned char)*p >= 0x80 || *p == '.' ))
                if (*p == '.' && !isdigit((unsigned char)*s))
                    break;
                else
                    p++;
            push(k, isdigit((unsigned char)*s) ? 'n' : 'i', s, (size_t)(p - s));
        } else {
            push(k, c, p, 1);
            p++;
        }
    }
    return 0;
}

static tok *peek(toks *k) { return k->i < k->n ? &k->t[k->i] : NULL; }

static int is_kw(toks *k, const char *w)
{
    tok *t = peek(k);
    return t && t->kind == 'i' && !strcasecmp(t->text, w);
}

static int eat_kw(toks *k, const char *w)
{
    if (!is_kw(k, w))
        return 0;
    k->i++;
    return 1;
}

static int eat_ch(toks *k, int c)
{
    tok *t = peek(k);
    if (!t || t->kind != c)
        return 0;
    k->i++;
    return 1;
}

static const char *ident(toks *k)
{
    tok *t = peek(k);
    if (!t || (t->kind != 'i' && t->kind != 'q'))
        return NULL;
    k->i++;
    return t->text;
}

/* [db.]name */
static int table_name(toks *k, const char **db, const char **name)
{
    const char *a = ident(k);
    if (!a)
        return -1;
    if (eat_ch(k, '.')) {
        const char *b = ident(k);
        if (!b)
            return -1;
        *db = a;
        *name = b;
    } else {
        *db = NULL;
        *name = a;
    }
    return 0;
}

/* Skips a column definition up to a top-level ',' or the end; notes a
 * FIRST or AFTER (the target cannot place columns; the source's order is
 * read from information_schema anyway). */
static void skip_def(toks *k)
{
    int depth = 0;
    for (tok *t; (t = peek(k)); k->i++) {
        if (t->kind == '(')
            depth++;
        else if (t->kind == ')')
            depth--;
        else if (t->kind == ',' && depth == 0)
            return;
    }
}

/* ---- the plan ------------------------------------------------------- */

typedef struct names {
    char **v;
    size_t n;
} names;

static void names_add(names *a, const char *s)
{
    a->v = realloc(a->v, (a->n + 1) * sizeof *a->v);
    if (!a->v)
        abort();
    a->v[a->n++] = xstrdup(s);
}

static ptrdiff_t names_find(const names *a, const char *s)
{
    for (size_t i = 0; i < a->n; i++)
        if (!strcasecmp(a->v[i], s))
            return (ptrdiff_t)i;
    return -1;
}

static void names_del(names *a, size_t i)
{
    free(a->v[i]);
    memmove(a->v + i, a->v + i + 1, (a->n - i - 1) * sizeof *a->v);
    a->n--;
}

static void names_free(names *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
}

typedef struct op {
    int kind; /* 'a' add, 'd' drop, 'm' modify, 'c' change, 'r' rename column, 't' rename table,
               * 'T' truncate; 'I' add index, 'D' drop index, 'N' rename index */
    const char *a, *b;
    const char *type; /* add/modify/change: the type's first word */
    /* indexes */
    int uniq;
    const char *unmapped; /* why the target cannot have it (FULLTEXT, ...) */
    size_t nic;
    const char *ic[64]; /* the statement's index columns */
    int skip;           /* left out (logged): --no-indexes, unmapped, not on the target */
    char tn[128];       /* PostgreSQL: the target's name of index a */
} op;

static int is_index_op(const op *x) { return x->kind == 'I' || x->kind == 'D' || x->kind == 'N'; }

/* PostgreSQL's name of table tname's index iname: index names are per
 * schema there, so the copy (pg.c) prefixes the table's name. */
static void pg_index_name(char *out, size_t n, const char *tname, const char *iname)
{
    snprintf(out, n, "%.30s_%.30s", tname, iname);
}

/* An index's column list: (c, c(10), c DESC, ...); an expression part
 * makes it a functional index, which is not mapped. */
static int index_cols(toks *k, op *o)
{
    if (!eat_ch(k, '('))
        return -1;
    for (;;) {
        tok *t = peek(k);
        if (t && t->kind == '(') {
            o->unmapped = "a functional index (an expression part)";
            for (int depth = 1; (t = peek(k)); k->i++) {
                if (t->kind == '(')
                    depth++;
                else if (t->kind == ')' && --depth == 0) {
                    k->i++;
                    return 0;
                }
            }
            return -1;
        }
        const char *c = ident(k);
        if (!c || o->nic >= sizeof o->ic / sizeof o->ic[0])
            return -1;
        o->ic[o->nic++] = c;
        if (eat_ch(k, '(')) { /* a prefix length */
            t = peek(k);
            if (!t || t->kind != 'n')
                return -1;
            k->i++;
            if (!eat_ch(k, ')'))
                return -1;
        }
        if (!eat_kw(k, "ASC"))
            eat_kw(k, "DESC");
        if (eat_ch(k, ')'))
            return 0;
        if (!eat_ch(k, ','))
            return -1;
    }
}

/* After ADD or CREATE: [UNIQUE|FULLTEXT|SPATIAL] [INDEX|KEY] [name]
 * [USING type] (columns) [options]; create: CREATE's form (name required,
 * ON table before the columns). */
static int index_def(toks *k, op *o, int create, const char **db, const char **name)
{
    o->kind = 'I';
    if (eat_kw(k, "UNIQUE"))
        o->uniq = 1;
    else if (eat_kw(k, "FULLTEXT"))
        o->unmapped = "a FULLTEXT index";
    else if (eat_kw(k, "SPATIAL"))
        o->unmapped = "a SPATIAL index";
    if (!eat_kw(k, "INDEX") && !eat_kw(k, "KEY") && create)
        return -1;
    if (!is_kw(k, "USING") && !is_kw(k, "ON") && peek(k) && peek(k)->kind != '(')
        o->a = ident(k);
    if (eat_kw(k, "USING") && !ident(k))
        return -1;
    if (create && (!o->a || !eat_kw(k, "ON") || table_name(k, db, name)))
        return -1;
    return index_cols(k, o);
}

/* The information_schema DATA_TYPE a type word of a column definition
 * stands for. */
static const char *type_word(const char *w)
{
    static const char *alias[][2] = {
        {"integer", "int"}, {"int4", "int"}, {"int8", "bigint"}, {"int1", "tinyint"},
        {"int2", "smallint"}, {"int3", "mediumint"}, {"middleint", "mediumint"},
        {"bool", "tinyint"}, {"boolean", "tinyint"}, {"dec", "decimal"},
        {"numeric", "decimal"}, {"fixed", "decimal"}, {"real", "double"},
        {"float8", "double"}, {"float4", "float"}, {"character", "char"},
        {"nchar", "char"}, {"nvarchar", "varchar"}, {"long", "mediumtext"},
    };
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
        if (!strcasecmp(w, alias[i][0]))
            return alias[i][1];
    return w;
}

static mcol *col_of(mtable *t, const char *name)
{
    for (size_t i = 0; t && i < t->ncols; i++)
        if (!strcasecmp(t->cols[i].name, name))
            return &t->cols[i];
    return NULL;
}

static int is_key(mtable *t, const char *name)
{
    for (size_t i = 0; i < t->npk; i++)
        if (!strcasecmp(t->cols[t->pk[i]].name, name))
            return 1;
    return 0;
}

static int numeric(conv c) { return c == CV_INT || c == CV_UINT || c == CV_DECIMAL; }

/* A MODIFY/CHANGE of column cn from oc to nc that the target can take:
 * both definitions known, and the same kind of value (or numbers both);
 * else why says what stops it. */
static int change_convertible(const mcol *oc, const mcol *nc, const char *cn, char *why, size_t wl)
{
    if (!nc || !oc) {
        snprintf(why, wl, "column %s: no definition", cn);
        return 0;
    }
    if (oc->cv != nc->cv && !(numeric(oc->cv) && numeric(nc->cv))) {
        snprintf(why, wl, "column %s changes from %s to %s: a change of value kind the mapping does not convert", cn,
                 oc->column_type, nc->column_type);
        return 0;
    }
    return 1;
}

/* The value for a new column's existing rows, as a PostgreSQL literal in
 * out; -1 with why when the target cannot reproduce it exactly. */
static int add_default(MYSQL *m, const mopts *o, int my, mtable *nt, mcol *c, mbuf *out,
                       char *why, size_t wl)
{
    mbuf q = {0};
    mbuf_puts(&q, "SELECT COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS WHERE "
                  "TABLE_SCHEMA = '");
    char tmp[1024];
    mysql_real_escape_string(m, tmp, nt->db, (unsigned long)strlen(nt->db));
    mbuf_printf(&q, "%s' AND TABLE_NAME = '", tmp);
    mysql_real_escape_string(m, tmp, nt->name, (unsigned long)strlen(nt->name));
    mbuf_printf(&q, "%s' AND COLUMN_NAME = '", tmp);
    mysql_real_escape_string(m, tmp, c->name, (unsigned long)strlen(c->name));
    mbuf_printf(&q, "%s'", tmp);
    MYSQL_RES *res = NULL;
    MYSQL_ROW r;
    int rc = -1;
    if (mysql_query(m, mbuf_str(&q)) || !(res = mysql_store_result(m)) ||
        !(r = mysql_fetch_row(res))) {
        snprintf(why, wl, "cannot read the default of %s: %s", c->name, mysql_error(m));
        goto out;
    }
    int maria = strstr(mysql_get_server_info(m), "MariaDB") != NULL;
    const char *d = r[0];
    if (d && maria && !strcmp(d, "NULL"))
        d = NULL;
    if (r[1] && *r[1] && strcasecmp(r[1], "NULL")) {
        /* MySQL: DEFAULT_GENERATED (an expression), auto_increment, ... */
        snprintf(why, wl, "new column %s is %s%s%s: the target cannot give the existing rows "
                 "the values the source gave them", c->name, r[1], d ? " with default " : "",
                 d ? d : "");
        goto out;
    }
    if (!d) {
        if (c->nullable || my) {
            /* NULL, or the implicit default a MySQL/MariaDB target fills
             * the existing rows with, as the source did */
            rc = 0; /* NULL */
        } else if (numeric(c->cv) || c->cv == CV_FLOAT || c->cv == CV_DOUBLE) {
            mbuf_puts(out, "0"); /* MySQL's implicit default */
            rc = 0;
        } else if (c->cv == CV_TEXT || c->cv == CV_BLOB) {
            mbuf_puts(out, "''");
            rc = 0;
        } else {
            snprintf(why, wl, "new column %s is NOT NULL without a default: its implicit value "
                     "for the existing rows has no exact PostgreSQL equivalent", c->name);
        }
        goto out;
    }
    /* MariaDB quotes literal string defaults, MySQL does not; an unquoted
     * MariaDB default is an expression (or a number). */
    mbuf lit = {0};
    size_t n = strlen(d);
    if (maria && n >= 2 && d[0] == '\'' && d[n - 1] == '\'') {
        for (size_t i = 1; i + 1 < n; i++) {
            if (d[i] == '\'' && d[i + 1] == '\'')
                i++;
            else if (d[i] == '\\' && i + 2 < n)
                i++;
            mbuf_addc(&lit, d[i]);
        }
    } else if (maria && !(numeric(c->cv) || c->cv == CV_FLOAT || c->cv == CV_DOUBLE)) {
        snprintf(why, wl, "new column %s defaults to the expression %s: not reproduced on the "
                 "target", c->name, d);
        mbuf_free(&lit);
        goto out;
    } else {
        mbuf_puts(&lit, d);
    }
    if (numeric(c->cv) || c->cv == CV_FLOAT || c->cv == CV_DOUBLE) {
        char *e;
        strtod(mbuf_str(&lit), &e);
        if (!lit.len || *e) {
            snprintf(why, wl, "new column %s defaults to %s: not a number", c->name, d);
            mbuf_free(&lit);
            goto out;
        }
        mbuf_add(out, lit.p, lit.len);
        rc = 0;
    } else if (c->cv == CV_TEXT || c->cv == CV_ENUM || c->cv == CV_SET) {
        /* both targets' sessions run with NO_BACKSLASH_ESCAPES */
        sql_quote(out, lit.p ? lit.p : "", lit.len);
        rc = 0;
    } else {
        snprintf(why, wl, "new column %s of type %s with default %s: not covered", c->name,
                 c->column_type, d);
    }
    mbuf_free(&lit);
    (void)o;
out:
    if (res)
        mysql_free_result(res);
    mbuf_free(&q);
    return rc;
}

static int col_cb(char **v, unsigned long *lens, size_t n, void *ud)
{
    (void)lens;
    if (n >= 1 && v[0])
        names_add(ud, v[0]);
    return 0;
}

typedef struct tcols {
    names *n;
    int full;
} tcols;

/* name, or name TAB type TAB nullable with the type in a form both
 * flavours agree on: lower case, integer display widths dropped. */
static int my_col_cb(char **v, unsigned long *lens, size_t n, void *ud)
{
    (void)lens;
    tcols *x = ud;
    if (n < 4 || !v[0])
        return 0;
    if (!x->full) {
        names_add(x->n, v[0]);
        return 0;
    }
    mbuf b = {0};
    mbuf_printf(&b, "%s\t", v[0]);
    const char *ty = v[1] ? v[1] : "";
    int intlike = v[2] && (strstr(v[2], "int") || !strcasecmp(v[2], "year"));
    for (const char *c = ty; *c; c++) {
        if (intlike && *c == '(') {
            while (*c && *c != ')')
                c++;
            if (!*c)
                break;
            continue;
        }
        mbuf_addc(&b, (char)tolower((unsigned char)*c));
    }
    mbuf_printf(&b, "\t%s", v[3] && !strcmp(v[3], "YES") ? "null" : "not null");
    names_add(x->n, mbuf_str(&b));
    mbuf_free(&b);
    return 0;
}

/* A MySQL/MariaDB target table's columns (schema.name), in order. */
static int my_target_cols(target *tg, const mopts *o, const char *name, int full, names *out,
                          char *why, size_t wl)
{
    const char *ts = o->target_schema ? o->target_schema : o->database;
    mbuf q = {0};
    mbuf_puts(&q, "SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE FROM "
                  "information_schema.COLUMNS WHERE TABLE_SCHEMA = ");
    sql_quote(&q, ts, strlen(ts));
    mbuf_puts(&q, " AND TABLE_NAME = ");
    sql_quote(&q, name, strlen(name));
    mbuf_puts(&q, " ORDER BY ORDINAL_POSITION");
    tcols x = {out, full};
    int rc = tg->ops->select(tg, mbuf_str(&q), my_col_cb, &x, why, wl);
    mbuf_free(&q);
    return rc ? -1 : 0;
}

/* The definition the copy would give the source's table nt on a
 * MySQL/MariaDB target, in my_col_cb's full form. */
static void my_wanted_cols(const mtable *nt, names *out)
{
    for (size_t i = 0; i < nt->ncols; i++) {
        const mcol *c = &nt->cols[i];
        char *v[4] = {c->name, c->cv == CV_JSON ? "json" : c->mytype, c->data_type,
                      c->nullable ? "YES" : "NO"};
        unsigned long l[4] = {0};
        tcols x = {out, 1};
        my_col_cb(v, l, 4, &x);
    }
}

/* The target table's columns, in order. */
static int target_cols(target *tg, const char *tq, names *out, char *why, size_t wl)
{
    mbuf q = {0};
    mbuf_puts(&q, "SELECT attname FROM pg_attribute WHERE attrelid = ");
    sql_quote(&q, tq, strlen(tq));
    mbuf_puts(&q, "::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum");
    int rc = tg->ops->select(tg, mbuf_str(&q), col_cb, out, why, wl);
    mbuf_free(&q);
    return rc ? -1 : 0;
}

static int parse(toks *k, op *ops, size_t *nops, size_t cap, const char **db, const char **name,
                 char *why, size_t wl)
{
    *nops = 0;
    memset(ops, 0, cap * sizeof *ops);
    if (eat_kw(k, "TRUNCATE")) {
        eat_kw(k, "TABLE");
        if (table_name(k, db, name) || peek(k))
            goto bad;
        ops[(*nops)++] = (op){.kind = 'T', .a = NULL, .b = NULL, .type = NULL};
        return 0;
    }
    if (eat_kw(k, "RENAME")) {
        if (!eat_kw(k, "TABLE") && !eat_kw(k, "TABLES"))
            goto bad;
        const char *db2, *n2;
        if (table_name(k, db, name) || !eat_kw(k, "TO") || table_name(k, &db2, &n2))
            goto bad;
        if (peek(k)) {
            snprintf(why, wl, "RENAME TABLE of several tables: not covered");
            return -1;
        }
        if (db2 && (!*db || strcmp(db2, *db))) {
            snprintf(why, wl, "the table moves to database %s: not covered", db2);
            return -1;
        }
        ops[(*nops)++] = (op){.kind = 't', .a = n2, .b = NULL, .type = NULL};
        return 0;
    }
    if (eat_kw(k, "CREATE")) {
        if (!eat_kw(k, "ONLINE"))
            eat_kw(k, "OFFLINE");
        if (!is_kw(k, "INDEX") && !is_kw(k, "UNIQUE") && !is_kw(k, "FULLTEXT") &&
            !is_kw(k, "SPATIAL"))
            goto bad;
        if (index_def(k, &ops[0], 1, db, name))
            goto bad;
        *nops = 1; /* ALGORITHM=, LOCK= and index options after it change nothing */
        return 0;
    }
    if (is_kw(k, "DROP") && k->i + 1 < k->n && !strcasecmp(k->t[k->i + 1].text, "INDEX")) {
        k->i += 2;
        ops[0] = (op){.kind = 'D', .a = ident(k)};
        if (!ops[0].a || !eat_kw(k, "ON") || table_name(k, db, name))
            goto bad;
        *nops = 1;
        return 0;
    }
    if (!eat_kw(k, "ALTER"))
        goto bad;
    eat_kw(k, "ONLINE");
    eat_kw(k, "IGNORE");
    if (!eat_kw(k, "TABLE") || table_name(k, db, name))
        goto bad;
    if (eat_kw(k, "IF")) {
        if (!eat_kw(k, "EXISTS"))
            goto bad;
    }
    do {
        if (*nops >= cap)
            goto bad;
        op *o = &ops[*nops];
        if (eat_kw(k, "ALGORITHM") || eat_kw(k, "LOCK")) {
            eat_ch(k, '=');
            if (!ident(k))
                goto bad;
            continue;
        }
        int add = 0, drop = 0;
        if (eat_kw(k, "ADD"))
            add = 1;
        else if (eat_kw(k, "DROP"))
            drop = 1;
        if (add && (is_kw(k, "INDEX") || is_kw(k, "KEY") || is_kw(k, "UNIQUE") ||
                                 is_kw(k, "FULLTEXT") || is_kw(k, "SPATIAL"))) {
            if (index_def(k, o, 0, NULL, NULL))
                goto bad;
            skip_def(k); /* index options */
        } else if (add) {
            eat_kw(k, "COLUMN");
            if (eat_kw(k, "IF") && !(eat_kw(k, "NOT") && eat_kw(k, "EXISTS")))
                goto bad;
            if (is_kw(k, "INDEX") || is_kw(k, "KEY") || is_kw(k, "UNIQUE") ||
                is_kw(k, "PRIMARY") || is_kw(k, "CONSTRAINT") || is_kw(k, "FOREIGN") ||
                is_kw(k, "FULLTEXT") || is_kw(k, "SPATIAL") || is_kw(k, "CHECK") ||
                is_kw(k, "PARTITION") || (peek(k) && peek(k)->kind == '('))
                goto bad;
            *o = (op){.kind = 'a', .a = ident(k), .b = NULL, .type = NULL};
            if (!o->a || !(o->type = ident(k)))
                goto bad;
            skip_def(k);
        } else if (drop && (eat_kw(k, "INDEX") || eat_kw(k, "KEY"))) {
            *o = (op){.kind = 'D', .a = ident(k)};
            if (!o->a || !strcasecmp(o->a, "PRIMARY") || (peek(k) && peek(k)->kind != ','))
                goto bad;
        } else if (drop) {
            eat_kw(k, "COLUMN");
            if (eat_kw(k, "IF") && !eat_kw(k, "EXISTS"))
                goto bad;
            if (is_kw(k, "INDEX") || is_kw(k, "KEY") || is_kw(k, "PRIMARY") ||
                is_kw(k, "FOREIGN") || is_kw(k, "CONSTRAINT") || is_kw(k, "CHECK") ||
                is_kw(k, "PARTITION"))
                goto bad;
            *o = (op){.kind = 'd', .a = ident(k), .b = NULL, .type = NULL};
            if (!o->a || (peek(k) && peek(k)->kind != ','))
                goto bad;
        } else if (eat_kw(k, "MODIFY")) {
            eat_kw(k, "COLUMN");
            *o = (op){.kind = 'm', .a = ident(k), .b = NULL, .type = NULL};
            if (!o->a || !(o->type = ident(k)))
                goto bad;
            skip_def(k);
        } else if (eat_kw(k, "CHANGE")) {
            eat_kw(k, "COLUMN");
            o->kind = 'c';
            o->a = ident(k);
            o->b = ident(k);
            o->type = ident(k);
            if (!o->a || !o->b || !o->type)
                goto bad;
            skip_def(k);
        } else if (eat_kw(k, "RENAME")) {
            if (eat_kw(k, "COLUMN")) {
                o->kind = 'r';
                o->a = ident(k);
                if (!o->a || !eat_kw(k, "TO") || !(o->b = ident(k)))
                    goto bad;
            } else {
                if (eat_kw(k, "INDEX") || eat_kw(k, "KEY")) {
                    *o = (op){.kind = 'N', .a = ident(k)};
                    if (!o->a || !eat_kw(k, "TO") || !(o->b = ident(k)))
                        goto bad;
                    (*nops)++;
                    continue;
                }
                if (!eat_kw(k, "TO"))
                    eat_kw(k, "AS");
                const char *db2, *n2;
                if (table_name(k, &db2, &n2))
                    goto bad;
                if (db2 && (!*db || strcmp(db2, *db))) {
                    snprintf(why, wl, "the table moves to database %s: not covered", db2);
                    return -1;
                }
                *o = (op){.kind = 't', .a = n2, .b = NULL, .type = NULL};
            }
        } else {
            goto bad;
        }
        (*nops)++;
    } while (eat_ch(k, ','));
    if (peek(k) && !eat_ch(k, ';'))
        goto bad;
    return 0;
bad:
    snprintf(why, wl, "not a statement the mapping covers (%s)",
             peek(k) ? peek(k)->text : "at its end");
    return -1;
}

/* ---- index statements --------------------------------------------- */

static mindex *idx_of(mtable *t, const char *name)
{
    for (size_t i = 0; name && i < t->nidx; i++)
        if (!strcasecmp(t->idx[i].name, name))
            return &t->idx[i];
    return NULL;
}

/* The index statements against the source's definition now (nt; t
 * before): each one left out with a log line (--no-indexes, or
 * --unmapped-index-ddl skip for what the target cannot express), or
 * checked to be the index the source has now (an unnamed ADD INDEX gets
 * the name the source gave it). -1 with why: refused. */
static int index_fresh(const mopts *o, mtable *t, mtable *nt, op *ops, size_t nops, char *why,
                       size_t wl)
{
    for (size_t i = 0; i < nops; i++) {
        op *x = &ops[i];
        if (!is_index_op(x))
            continue;
        if (!o->indexes) {
            x->skip = 1;
            fprintf(stderr, "cdc-migrate: index statement on %s skipped (--no-indexes)\n",
                    t->name);
            continue;
        }
        if (x->kind == 'I' && x->unmapped) {
            if (!o->index_ddl_skip) {
                snprintf(why, wl, "index %s is %s: the target has no equivalent (with "
                         "--unmapped-index-ddl skip it is left out; the rows are unaffected)",
                         x->a ? x->a : "(unnamed)", x->unmapped);
                return -1;
            }
            x->skip = 1;
            fprintf(stderr, "cdc-migrate: index %s on %s is %s: left out "
                    "(--unmapped-index-ddl skip)\n", x->a ? x->a : "(unnamed)", t->name,
                    x->unmapped);
            continue;
        }
        if (x->kind != 'I')
            continue;
        mindex *ix = idx_of(nt, x->a);
        for (size_t j = 0; !x->a && j < nt->nidx; j++)
            if (!idx_of(t, nt->idx[j].name) && nt->idx[j].ncols == x->nic &&
                !strcasecmp(nt->cols[nt->idx[j].cols[0]].name, x->ic[0]))
                ix = &nt->idx[j];
        int same = ix && ix->ncols == x->nic && ix->unique == x->uniq;
        for (size_t j = 0; same && j < x->nic; j++)
            same = !strcasecmp(nt->cols[ix->cols[j]].name, x->ic[j]);
        if (!same) {
            snprintf(why, wl, "the source's table %s has no index %s on these columns now: it "
                     "changed again since", nt->name, x->a ? x->a : "(unnamed)");
            return -1;
        }
        x->a = ix->name;
    }
    return 0;
}

static int name_cb(char **v, unsigned long *lens, size_t n, void *ud)
{
    (void)lens;
    if (n >= 1 && v[0])
        names_add(ud, v[0]);
    return 0;
}

/* The target's secondary index names of the table (MySQL/MariaDB: of
 * either name, for a statement that renames it too; PostgreSQL: their
 * names in the schema). */
static int target_index_names(target *tg, const mopts *o, int my, mtable *t, const char *newname,
                              names *out, char *why, size_t wl)
{
    mbuf q = {0};
    if (my) {
        const char *ts = o->target_schema ? o->target_schema : o->database;
        mbuf_puts(&q, "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE "
                      "TABLE_SCHEMA = ");
        sql_quote(&q, ts, strlen(ts));
        mbuf_puts(&q, " AND TABLE_NAME IN (");
        sql_quote(&q, t->name, strlen(t->name));
        mbuf_puts(&q, ", ");
        sql_quote(&q, newname, strlen(newname));
        mbuf_puts(&q, ") AND INDEX_NAME <> 'PRIMARY'");
    } else {
        mbuf_puts(&q, "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                      "WHERE NOT i.indisprimary AND i.indrelid = ");
        sql_quote(&q, t->tq, strlen(t->tq));
        mbuf_puts(&q, "::regclass");
    }
    int rc = tg->ops->select(tg, mbuf_str(&q), name_cb, out, why, wl);
    mbuf_free(&q);
    return rc ? -1 : 0;
}

/* Index name iname of table t as the target has it, into out; 0 when it
 * has none. PostgreSQL: the copy's name for it, else the one index of
 * the table whose name ends in _iname (a table renamed since the copy
 * keeps its indexes' names). */
static int target_index_find(int my, const names *have, mtable *t, const char *iname, char *out,
                             size_t n)
{
    char want[128];
    if (my) {
        snprintf(want, sizeof want, "%s", iname);
    } else {
        pg_index_name(want, sizeof want, t->name, iname);
        if (names_find(have, want) < 0) {
            size_t il = strlen(iname), hits = 0;
            for (size_t i = 0; i < have->n; i++) {
                size_t hl = strlen(have->v[i]);
                if (hl > il && have->v[i][hl - il - 1] == '_' &&
                    !strcmp(have->v[i] + hl - il, iname)) {
                    snprintf(want, sizeof want, "%s", have->v[i]);
                    hits++;
                }
            }
            if (hits != 1)
                return 0;
        }
    }
    ptrdiff_t at = names_find(have, want);
    if (at < 0)
        return 0;
    snprintf(out, n, "%s", have->v[at]);
    return 1;
}

/* The index statements against the target: a new index's name must be
 * free there; one to drop or rename that the target does not have (left
 * out before: --no-indexes, unmapped) is left out with a log line. */
static int index_target(target *tg, const mopts *o, int my, mtable *t, const char *newname,
                        op *ops, size_t nops, char *why, size_t wl)
{
    int any = 0;
    for (size_t i = 0; i < nops; i++)
        any |= is_index_op(&ops[i]) && !ops[i].skip;
    if (!any)
        return 0;
    names have = {0};
    int rc = -1;
    if (target_index_names(tg, o, my, t, newname, &have, why, wl))
        goto out;
    for (size_t i = 0; i < nops; i++) {
        op *x = &ops[i];
        if (!is_index_op(x) || x->skip)
            continue;
        char tn[128];
        int has = target_index_find(my, &have, t, x->a, tn, sizeof tn);
        if (x->kind == 'I' && has) {
            snprintf(why, wl, "the target's table %s has an index %s already", t->name, tn);
            goto out;
        }
        if (x->kind != 'I' && !has) {
            x->skip = 1;
            fprintf(stderr, "cdc-migrate: the target's table %s has no index %s (left out "
                    "before): the statement's %s of it is skipped\n", t->name, x->a,
                    x->kind == 'D' ? "DROP" : "RENAME");
        }
        snprintf(x->tn, sizeof x->tn, "%s", has ? tn : "");
    }
    rc = 0;
out:
    names_free(&have);
    return rc;
}

/* MySQL/MariaDB after a crash: the index statements are applied when the
 * target has each index the statement adds and none it drops. */
static int index_applied(target *tg, const mopts *o, mtable *t, const char *newname,
                         const op *ops, size_t nops, char *why, size_t wl)
{
    names have = {0};
    int any = 0, r = 1;
    for (size_t i = 0; i < nops; i++)
        any |= is_index_op(&ops[i]) && !ops[i].skip;
    if (!any)
        return 1;
    if (target_index_names(tg, o, 1, t, newname, &have, why, wl)) {
        names_free(&have);
        return -1;
    }
    for (size_t i = 0; i < nops && r; i++) {
        const op *x = &ops[i];
        if (!is_index_op(x) || x->skip)
            continue;
        int a = names_find(&have, x->a) >= 0, b = x->b && names_find(&have, x->b) >= 0;
        r = x->kind == 'I' ? a : x->kind == 'D' ? !a : (b && !a);
    }
    names_free(&have);
    return r;
}

/* The source's definition of the table the statement leaves, newname. */
static int fresh_load(const mopts *o, target *tg, mtable *t, const char *newname, ddl_plan *p,
                      MYSQL **m, char *why, size_t wl)
{
    char err[1024];
    *m = src_connect(o, err, sizeof err);
    if (!*m) {
        snprintf(why, wl, "%s", err);
        return -1;
    }
    mopts one = *o;
    one.tables = newname;
    one.database = t->db;
    if (schema_load(*m, &one, &p->fresh, err, sizeof err)) {
        snprintf(why, wl, "reading the new definition: %s", err);
        return -1;
    }
    if (p->fresh.n != 1) {
        snprintf(why, wl, "the source has no table %s.%s now: it changed again since", t->db,
                 newname);
        return -1;
    }
    tg->ops->prepare(&one, &p->fresh);
    return 0;
}

/* MySQL/MariaDB commit DDL implicitly, so the target's ALTER and the
 * checkpoint past it are two commits: a run killed between them starts
 * again before the statement. The statement counts as applied when the
 * table it leaves (its new name) already has, on the target, exactly the
 * columns the copy would give the source's definition now. 0 applied (rc
 * set to 0), 1 not applied (the fresh definition loaded), -1 error. */
static int my_applied(const mopts *o, target *tg, mtable *t, op *ops, size_t nops,
                      ddl_plan *p, MYSQL **m, char *why, size_t wl, int *rc)
{
    const char *newname = t->name;
    for (size_t i = 0; i < nops; i++)
        if (ops[i].kind == 't')
            newname = ops[i].a;
        else if (ops[i].kind == 'T')
            return 1; /* TRUNCATE again empties what the re-run fills again */
    if (fresh_load(o, tg, t, newname, p, m, why, wl) ||
        index_fresh(o, t, &p->fresh.t[0], ops, nops, why, wl))
        return -1;
    names have = {0}, want = {0};
    int r = -1;
    if (my_target_cols(tg, o, newname, 1, &have, why, wl))
        goto out;
    my_wanted_cols(&p->fresh.t[0], &want);
    int same = have.n == want.n;
    for (size_t i = 0; same && i < have.n; i++) {
        same = !strcmp(have.v[i], want.v[i]);
        /* MariaDB's JSON is LONGTEXT */
        char *a = strchr(have.v[i], '\t'), *b = strchr(want.v[i], '\t');
        if (!same && a && b && !strncmp(a, "\tlongtext\t", 10) && !strncmp(b, "\tjson\t", 6))
            same = a - have.v[i] == b - want.v[i] &&
                   !strncmp(have.v[i], want.v[i], (size_t)(a - have.v[i])) &&
                   !strcmp(a + 10, b + 6);
    }
    /* a renamed table: applied when the old name is gone */
    if (same && strcmp(newname, t->name)) {
        names old = {0};
        if (my_target_cols(tg, o, t->name, 0, &old, why, wl)) {
            names_free(&old);
            goto out;
        }
        same = old.n == 0;
        names_free(&old);
    }
    if (same) {
        int ia = index_applied(tg, o, t, newname, ops, nops, why, wl);
        if (ia < 0)
            goto out;
        same = ia;
    }
    int left_out = 1; /* index statements only, each left out (logged) */
    for (size_t i = 0; i < nops; i++)
        left_out &= is_index_op(&ops[i]) && ops[i].skip;
    if (left_out) {
        *rc = 0;
        r = 0;
    } else if (same) {
        /* a statement that changes no column (a MODIFY to the same type)
         * is thus applied already too: nothing to do either way */
        fprintf(stderr, "cdc-migrate: the target's %s has the definition the statement makes "
                "already (applied before a restart): only the checkpoint moves\n", newname);
        *rc = 0;
        r = 0;
    } else {
        r = 1;
    }
out:
    names_free(&have);
    names_free(&want);
    return r;
}

/* The position clause for nt's column c: FIRST or AFTER the one before. */
static void my_position(target *tg, const mtable *nt, const mcol *c, mbuf *q)
{
    size_t i = (size_t)(c - nt->cols);
    if (i == 0) {
        mbuf_puts(q, " FIRST");
        return;
    }
    char *qp = tg->ops->ident(nt->cols[i - 1].name);
    mbuf_printf(q, " AFTER %s", qp);
    free(qp);
}

/* One ALTER TABLE for the whole statement (both servers apply a single
 * ALTER atomically, so a crash leaves it all or nothing), or TRUNCATE. */
static int my_statements(const mopts *o, target *tg, MYSQL *m, mtable *t, mtable *nt,
                         const op *ops, size_t nops, int truncate, mbuf *q, char *why, size_t wl)
{
    if (truncate) {
        mbuf_printf(q, "TRUNCATE TABLE %s", t->tq);
        return 0;
    }
    mbuf_printf(q, "ALTER TABLE %s ", t->tq);
    int any = 0;
    for (size_t i = 0; i < nops; i++) {
        const op *x = &ops[i];
        if (x->skip)
            continue;
        const char *cn = x->kind == 'c' || x->kind == 'r' ? x->b : x->a;
        mcol *nc = (x->kind == 'a' || x->kind == 'm' || x->kind == 'c') ? col_of(nt, cn) : NULL;
        mcol *oc = (x->kind == 'm' || x->kind == 'c') ? col_of(t, x->a) : NULL;
        char *qa = x->a ? tg->ops->ident(x->a) : NULL, *qb = cn ? tg->ops->ident(cn) : NULL;
        int bad = 0;
        if (any)
            mbuf_puts(q, ", ");
        any = 1;
        switch (x->kind) {
        case 'a': {
            mbuf d = {0};
            mbuf_puts(q, "ADD COLUMN ");
            if (!nc || add_default(m, o, 1, nt, nc, &d, why, wl) ||
                tg->ops->column_def(tg, nt, nc, q, why, wl)) {
                bad = 1;
            } else {
                if (d.len)
                    mbuf_printf(q, " DEFAULT %s", mbuf_str(&d));
                my_position(tg, nt, nc, q);
            }
            mbuf_free(&d);
            break;
        }
        case 'd':
            mbuf_printf(q, "DROP COLUMN %s", qa);
            break;
        case 'r':
            mbuf_printf(q, "RENAME COLUMN %s TO %s", qa, qb);
            break;
        case 'm':
        case 'c':
            if (!change_convertible(oc, nc, cn, why, wl)) {
                bad = 1;
                break;
            }
            mbuf_printf(q, "CHANGE COLUMN %s ", qa);
            if (tg->ops->column_def(tg, nt, nc, q, why, wl))
                bad = 1;
            else
                my_position(tg, nt, nc, q);
            break;
        case 'I': {
            mindex *ix = idx_of(nt, x->a);
            mbuf_printf(q, "ADD %sINDEX %s (", ix->unique ? "UNIQUE " : "", qa);
            for (size_t j = 0; j < ix->ncols; j++) {
                char *qc = tg->ops->ident(nt->cols[ix->cols[j]].name);
                mbuf_printf(q, "%s%s", j ? ", " : "", qc);
                if (ix->sub && ix->sub[j])
                    mbuf_printf(q, "(%lld)", ix->sub[j]);
                free(qc);
            }
            mbuf_puts(q, ")");
            break;
        }
        case 'D':
            mbuf_printf(q, "DROP INDEX %s", qa);
            break;
        case 'N': {
            char *qn = tg->ops->ident(x->b);
            mbuf_printf(q, "RENAME INDEX %s TO %s", qa, qn);
            free(qn);
            break;
        }
        case 't': {
            const char *ts = o->target_schema ? o->target_schema : o->database;
            char *qs = tg->ops->ident(ts), *qn = tg->ops->ident(x->a);
            mbuf_printf(q, "RENAME TO %s.%s", qs, qn);
            free(qs);
            free(qn);
            break;
        }
        }
        free(qa);
        free(qb);
        if (bad)
            return -1;
    }
    if (!any)
        q->len = 0; /* every statement left out: only the checkpoint moves */
    return 0;
}

int ddl_plan_make(const mopts *o, target *tg, mschema *s, const char *sql, size_t len,
                  const char *defdb, size_t dblen, ddl_plan *p, char *why, size_t wl)
{
    memset(p, 0, sizeof *p);
    toks k = {0};
    op ops[64];
    size_t nops = 0;
    const char *db = NULL, *name = NULL;
    names cols = {0};
    MYSQL *m = NULL;
    int rc = -1;
    char dbbuf[256];
    snprintf(dbbuf, sizeof dbbuf, "%.*s", (int)(dblen < 255 ? dblen : 255), defdb);
    int my = tg->ops->column_def != NULL;
    if (!my && strcmp(tg->ops->kind, "postgresql")) {
        snprintf(why, wl, "DDL is applied to PostgreSQL, MySQL and MariaDB targets only");
        goto out;
    }
    if (lex(sql, len, &k)) {
        snprintf(why, wl, "cannot read the statement");
        goto out;
    }
    if (parse(&k, ops, &nops, 64, &db, &name, why, wl))
        goto out;
    const char *tdb = db ? db : dbbuf;
    mtable *t = NULL;
    for (size_t i = 0; i < s->n; i++)
        if (!strcasecmp(s->t[i].name, name) && !strcmp(s->t[i].db, tdb))
            t = &s->t[i];
    if (!t) {
        snprintf(why, wl, "table %s.%s is not one the migration knows", tdb, name);
        goto out;
    }
    p->t = t;
    if (my && my_applied(o, tg, t, ops, nops, p, &m, why, wl, &rc) <= 0)
        goto out; /* applied before a crash (rc 0, p->sql empty), or an error */
    /* The target's columns, changed as the statement says. */
    if (my ? my_target_cols(tg, o, t->name, 0, &cols, why, wl)
           : target_cols(tg, t->tq, &cols, why, wl))
        goto out;
    const char *newname = t->name;
    int truncate = 0;
    for (size_t i = 0; i < nops; i++) {
        op *x = &ops[i];
        ptrdiff_t at = x->a ? names_find(&cols, x->a) : -1;
        switch (x->kind) {
        case 'a':
            if (at >= 0) {
                snprintf(why, wl, "the target already has a column %s", x->a);
                goto out;
            }
            names_add(&cols, x->a);
            break;
        case 'd':
        case 'm':
        case 'c':
        case 'r':
            if (at < 0) {
                snprintf(why, wl, "the target has no column %s", x->a);
                goto out;
            }
            if (x->kind == 'd' && is_key(t, x->a)) {
                snprintf(why, wl, "column %s is part of the primary key", x->a);
                goto out;
            }
            if (x->kind == 'd') {
                names_del(&cols, (size_t)at);
            } else if (x->b) {
                free(cols.v[at]);
                cols.v[at] = xstrdup(x->b);
            }
            break;
        case 't':
            if (o->tables && *o->tables) {
                snprintf(why, wl, "a table renamed while --tables names the migrated tables: "
                         "not covered");
                goto out;
            }
            newname = x->a;
            break;
        case 'T':
            truncate = 1;
            break;
        }
    }
    /* The source's definition now: must be the one the statement made. */
    if (!m && (fresh_load(o, tg, t, newname, p, &m, why, wl) ||
               index_fresh(o, t, &p->fresh.t[0], ops, nops, why, wl)))
        goto out;
    mtable *nt = &p->fresh.t[0];
    if (index_target(tg, o, my, t, newname, ops, nops, why, wl))
        goto out;
    int same = nt->ncols == cols.n;
    for (size_t i = 0; same && i < nt->ncols; i++)
        same = names_find(&cols, nt->cols[i].name) >= 0;
    if (!same) {
        mbuf l = {0};
        for (size_t i = 0; i < nt->ncols; i++)
            mbuf_printf(&l, "%s%s", i ? "," : "", nt->cols[i].name);
        snprintf(why, wl, "the source's table %s has columns (%s) now, not those this statement "
                 "makes: it changed again since", newname, mbuf_str(&l));
        mbuf_free(&l);
        goto out;
    }
    for (size_t i = 0; i < nops; i++) {
        op *x = &ops[i];
        const char *cn = x->kind == 'c' || x->kind == 'r' ? x->b : x->a;
        mcol *nc = x->type ? col_of(nt, cn) : NULL;
        /* MariaDB's JSON is an alias of LONGTEXT (with a JSON_VALID check) */
        if (nc && strcasecmp(type_word(x->type), nc->data_type) &&
            !(!strcasecmp(x->type, "json") && !strcmp(nc->data_type, "longtext"))) {
            snprintf(why, wl, "the source's column %s is %s now, not the %s of this statement: "
                     "it changed again since", cn, nc->column_type, x->type);
            goto out;
        }
    }
    if (my) {
        rc = my_statements(o, tg, m, t, nt, ops, nops, truncate, &p->sql, why, wl);
        goto out;
    }
    /* The target's statements. */
    mbuf *q = &p->sql;
    if (truncate)
        mbuf_printf(q, "TRUNCATE %s;", t->tq);
    const char *cur_tq = t->tq;
    char *qs = tg->ops->ident(o->target_schema ? o->target_schema : o->database);
    for (size_t i = 0; i < nops; i++) {
        op *x = &ops[i];
        if (x->skip)
            continue;
        const char *cn = x->kind == 'c' || x->kind == 'r' ? x->b : x->a;
        mcol *nc = (x->kind == 'a' || x->kind == 'm' || x->kind == 'c') ? col_of(nt, cn) : NULL;
        mcol *oc = (x->kind == 'm' || x->kind == 'c') ? col_of(t, x->a) : NULL;
        char *qa = x->a ? tg->ops->ident(x->a) : NULL, *qb = cn ? tg->ops->ident(cn) : NULL;
        int bad = 0;
        switch (x->kind) {
        case 'a': {
            mbuf d = {0};
            if (!nc || add_default(m, o, 0, nt, nc, &d, why, wl)) {
                bad = 1;
            } else {
                mbuf_printf(q, "ALTER TABLE %s ADD COLUMN %s %s", cur_tq, qa, nc->pgtype);
                if (d.len)
                    mbuf_printf(q, " DEFAULT %s", mbuf_str(&d));
                mbuf_printf(q, "%s;", nc->nullable ? "" : " NOT NULL");
                if (d.len)
                    mbuf_printf(q, "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;", cur_tq, qa);
            }
            mbuf_free(&d);
            break;
        }
        case 'd':
            mbuf_printf(q, "ALTER TABLE %s DROP COLUMN %s;", cur_tq, qa);
            break;
        case 'r':
            mbuf_printf(q, "ALTER TABLE %s RENAME COLUMN %s TO %s;", cur_tq, qa, qb);
            break;
        case 'm':
        case 'c':
            if (!change_convertible(oc, nc, cn, why, wl)) {
                bad = 1;
                break;
            }
            if (x->kind == 'c' && strcmp(x->a, x->b))
                mbuf_printf(q, "ALTER TABLE %s RENAME COLUMN %s TO %s;", cur_tq, qa, qb);
            if (strcmp(oc->pgtype, nc->pgtype))
                mbuf_printf(q, "ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::%s;", cur_tq, qb,
                            nc->pgtype, qb, nc->pgtype);
            if (oc->nullable != nc->nullable)
                mbuf_printf(q, "ALTER TABLE %s ALTER COLUMN %s %s NOT NULL;", cur_tq, qb,
                            nc->nullable ? "DROP" : "SET");
            break;
        case 't': {
            char *qn = tg->ops->ident(x->a);
            mbuf_printf(q, "ALTER TABLE %s RENAME TO %s;", cur_tq, qn);
            free(qn);
            cur_tq = nt->tq;
            break;
        }
        case 'I': {
            /* prefix lengths as the copy (pg.c): the whole column */
            mindex *ix = idx_of(nt, x->a);
            char pn[128];
            pg_index_name(pn, sizeof pn, newname, x->a);
            char *qn = tg->ops->ident(pn);
            mbuf_printf(q, "CREATE %sINDEX %s ON %s (", ix->unique ? "UNIQUE " : "", qn, cur_tq);
            free(qn);
            for (size_t j = 0; j < ix->ncols; j++) {
                char *qc = tg->ops->ident(nt->cols[ix->cols[j]].name);
                mbuf_printf(q, "%s%s", j ? ", " : "", qc);
                free(qc);
            }
            mbuf_puts(q, ");");
            break;
        }
        case 'D':
        case 'N': {
            char *qt = tg->ops->ident(x->tn);
            if (x->kind == 'D') {
                mbuf_printf(q, "DROP INDEX %s.%s;", qs, qt);
            } else {
                char pn[128];
                pg_index_name(pn, sizeof pn, newname, x->b);
                char *qn = tg->ops->ident(pn);
                mbuf_printf(q, "ALTER INDEX %s.%s RENAME TO %s;", qs, qt, qn);
                free(qn);
            }
            free(qt);
            break;
        }
        }
        free(qa);
        free(qb);
        if (bad) {
            free(qs);
            goto out;
        }
    }
    free(qs);
    rc = 0;
out:
    if (m)
        mysql_close(m);
    names_free(&cols);
    toks_free(&k);
    if (rc)
        ddl_plan_free(p);
    return rc;
}

void ddl_tables_parse(const char *sql, size_t len, const char *defdb, size_t dblen,
                      ddl_tables *out)
{
    memset(out, 0, sizeof *out);
    toks k = {0};
    if (lex(sql, len, &k))
        goto out;
    int create = eat_kw(&k, "CREATE");
    if (!create && !eat_kw(&k, "DROP"))
        goto out;
    if (create && eat_kw(&k, "OR") && eat_kw(&k, "REPLACE"))
        out->replace = 1;
    out->temporary = eat_kw(&k, "TEMPORARY");
    if (!eat_kw(&k, "TABLE"))
        goto out;
    if (eat_kw(&k, "IF")) {
        eat_kw(&k, "NOT");
        if (!eat_kw(&k, "EXISTS"))
            goto out;
    }
    do {
        const char *db, *name;
        if (out->n >= sizeof out->db / sizeof out->db[0] || table_name(&k, &db, &name))
            goto out;
        if (!db) {
            char *d = xmalloc(dblen + 1);
            memcpy(d, defdb, dblen);
            d[dblen] = 0;
            out->db[out->n] = d;
        } else {
            out->db[out->n] = xstrdup(db);
        }
        out->name[out->n++] = xstrdup(name);
    } while (!create && eat_ch(&k, ','));
    out->kind = create ? 'C' : 'X';
    for (int depth = 0; create && peek(&k); k.i++) {
        tok *t = peek(&k);
        depth += t->kind == '(' ? 1 : t->kind == ')' ? -1 : 0;
        /* MySQL logs CREATE ... SELECT as the new table's definition with
         * START TRANSACTION, its rows following in the same transaction */
        if (depth == 0 && t->kind == 'i' &&
            (!strcasecmp(t->text, "SELECT") || !strcasecmp(t->text, "AS") ||
             (!strcasecmp(t->text, "START") && k.i + 1 < k.n &&
              !strcasecmp(k.t[k.i + 1].text, "TRANSACTION"))))
            out->select = 1;
    }
out:
    if (!out->kind)
        ddl_tables_free(out);
    toks_free(&k);
}

void ddl_tables_free(ddl_tables *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->db[i]);
        free(x->name[i]);
    }
    x->n = 0;
}

int ddl_create_table(const mopts *o, target *tg, const char *db, const char *name,
                     mschema *fresh, char *why, size_t wl)
{
    char err[1024];
    memset(fresh, 0, sizeof *fresh);
    MYSQL *m = src_connect(o, err, sizeof err);
    if (!m) {
        snprintf(why, wl, "%s", err);
        return -1;
    }
    mopts one = *o;
    one.tables = name;
    one.database = db;
    int rc = -1;
    if (schema_load(m, &one, fresh, err, sizeof err)) {
        snprintf(why, wl, "reading the new table's definition: %s", err);
        goto out;
    }
    if (fresh->n != 1) {
        snprintf(why, wl, "the source has no table %s.%s now: it changed again since", db, name);
        goto out;
    }
    tg->ops->prepare(&one, fresh);
    if (tg->ops->setup(tg, &one, fresh, err, sizeof err) ||
        (o->indexes && tg->ops->indexes(tg, &one, fresh, err, sizeof err))) {
        snprintf(why, wl, "creating it on the target: %s", err);
        goto out;
    }
    rc = 0;
out:
    mysql_close(m);
    if (rc)
        schema_free(fresh);
    return rc;
}

void ddl_plan_commit(ddl_plan *p)
{
    mtable tmp = *p->t;
    *p->t = p->fresh.t[0];
    p->fresh.t[0] = tmp;
}

void ddl_plan_free(ddl_plan *p)
{
    schema_free(&p->fresh);
    mbuf_free(&p->sql);
    p->t = NULL;
}
