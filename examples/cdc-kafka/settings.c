/* Debezium connector configuration → libcdc, renderer, librdkafka (settings.h). */
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int kv_set(kv_list *l, const char *key, const char *value)
{
    for (size_t i = 0; i < l->n; i++) {
        if (!strcmp(l->items[i].key, key)) {
            char *v = strdup(value);
            if (!v) return -1;
            free(l->items[i].value);
            l->items[i].value = v;
            return 0;
        }
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        kv *items = realloc(l->items, cap * sizeof *items);
        if (!items) return -1;
        l->items = items;
        l->cap = cap;
    }
    kv *e = &l->items[l->n];
    e->key = strdup(key);
    e->value = strdup(value);
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        return -1;
    }
    l->n++;
    return 0;
}

const char *kv_get(const kv_list *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->items[i].key, key)) return l->items[i].value;
    return NULL;
}

static void kv_free(kv_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        if (l->items[i].value) memset(l->items[i].value, 0, strlen(l->items[i].value));
        free(l->items[i].value);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

void settings_init(settings *s)
{
    memset(s, 0, sizeof *s);
    cdc_config_new(&s->cdc, NULL);
    s->tombstones = true;
    s->schema_changes = true;
    s->flush_ms = 1000;
    s->create_topics = true;
    s->partitions = 1;
    s->replication = -1; /* the broker's default */
    s->queue_max = 100000;
    s->boundary_ms = 100;
}

void settings_free(settings *s)
{
    cdc_config_free(s->cdc);
    kv_free(&s->kafka);
    kv_free(&s->render);
    free(s->name);
    free(s->prefix);
    free(s->heartbeat_prefix);
    free(s->offsets_file);
    free(s->offsets_topic);
    free(s->transactional_id);
    memset(s, 0, sizeof *s);
}

static int set_str(char **dst, const char *v)
{
    char *c = strdup(v);
    if (!c) return -1;
    free(*dst);
    *dst = c;
    return 0;
}

static int parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "true")) *out = true;
    else if (!strcasecmp(v, "false")) *out = false;
    else return -1;
    return 0;
}

static int parse_long(const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi) return -1;
    *out = n;
    return 0;
}

static bool starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

int regex_list_to_patterns(const char *in, bool qualified, char *out, size_t cap, char *err, size_t errlen)
{
    size_t n = 0;
    bool sep = false; /* this item's db/table separator seen */
    for (const char *p = in; *p; p++) {
        const char *add = NULL;
        char one[2] = {0, 0};
        if (p[0] == ',') {
            sep = false;
            add = ",";
        } else if (p[0] == '\\' && p[1] == '.') {
            add = ".";
            sep = true;
            p++;
        } else if (p[0] == '.' && p[1] == '*') {
            add = "*";
            p++;
        } else if (p[0] == '.' && p[1] == '+') {
            add = "?*";
            p++;
        } else if (p[0] == '.' && qualified && !sep) {
            /* "inventory.orders": the dot users write between database and
             * table (any character to a regex) is taken as the separator */
            add = ".";
            sep = true;
        } else if (p[0] == '.') {
            add = "?";
        } else if (p[0] == ' ' ) {
            continue; /* Debezium trims list items */
        } else if (strchr("\\[](){}|+^$", p[0])) {
            snprintf(err, errlen,
                     "the regular expression '%s' uses '%c', which cdc-kafka's name patterns cannot express; "
                     "list the names, or use .* and . (docs/kafka.md)", in, p[0]);
            return -1;
        } else {
            one[0] = *p;
            add = one;
        }
        size_t k = strlen(add);
        if (n + k + 1 > cap) {
            snprintf(err, errlen, "list too long");
            return -1;
        }
        memcpy(out + n, add, k);
        n += k;
    }
    out[n] = 0;
    return 0;
}

static int cdc_set(settings *s, const char *ckey, const char *key, const char *value, char *err, size_t errlen)
{
    char e[512];
    if (cdc_config_set(s->cdc, ckey, value, e, sizeof e) == CDC_OK) return 0;
    if (strcmp(ckey, key)) snprintf(err, errlen, "%s (set as libcdc's %s): %s", key, ckey, e);
    else snprintf(err, errlen, "%s", e);
    return -1;
}

/* Keys of Debezium's that map straight onto a libcdc key. */
static const struct { const char *dbz, *cdc; } direct_keys[] = {
    {"database.hostname", "host"},
    {"database.port", "port"},
    {"database.user", "user"},
    {"database.password", "password"},
    {"database.server.id", "server.id"},
    {"database.ssl.mode", "ssl.mode"},
    {"connect.timeout.ms", "connect.timeout.ms"},
};

/* Regex lists (Debezium) → pattern lists (libcdc); the old 1.x names too. */
static const struct { const char *dbz, *cdc; } list_keys[] = {
    {"database.include.list", "database.include.list"},
    {"database.exclude.list", "database.exclude.list"},
    {"table.include.list", "table.include.list"},
    {"table.exclude.list", "table.exclude.list"},
    {"database.whitelist", "database.include.list"},
    {"database.blacklist", "database.exclude.list"},
    {"table.whitelist", "table.include.list"},
    {"table.blacklist", "table.exclude.list"},
};

/* Keys only the JVM connector needs: accepted with a note. */
static const char *const jvm_keys[] = {
    "connector.class", "tasks.max", "key.converter", "value.converter", "header.converter",
    "database.history", "snapshot.locking.mode", "snapshot.fetch.size", "max.batch.size",
    "poll.interval.ms", "max.queue.size.in.bytes", "database.connectionTimeZone",
    "database.serverTimezone", "connect.keep.alive", "connect.keep.alive.interval.ms",
    "include.schema.comments", "enable.time.adjuster", "inconsistent.schema.handling.mode",
    "event.deserialization.failure.handling.mode", "event.processing.failure.handling.mode",
    "schema.name.adjustment.mode", "field.name.adjustment.mode", "database.initial.statements",
    "snapshot.lock.timeout.ms", "snapshot.max.threads", "min.row.count.to.stream.results",
    "table.ignore.builtin", "config.action.reload", "topic.creation.groups", "gtid.source.filter.dml.events",
    "database.jdbc.driver", "database.protocol", "retriable.restart.connector.wait.ms",
    "errors.max.retries", "use.nongraceful.disconnect",
};
static const char *const jvm_prefixes[] = {"schema.history.internal.", "database.history.", "errors.",
                                           "key.converter.", "value.converter.", "internal.", "database.ssl.keystore.type",
                                           "database.ssl.truststore.type"};

static int note(const char *key, const char *why)
{
    fprintf(stderr, "cdc-kafka: note: %s %s\n", key, why);
    return 1;
}

int settings_apply(settings *s, const char *key, const char *value, char *err, size_t errlen)
{
    long n;
    bool b;
    for (size_t i = 0; i < sizeof direct_keys / sizeof *direct_keys; i++)
        if (!strcmp(key, direct_keys[i].dbz)) return cdc_set(s, direct_keys[i].cdc, key, value, err, errlen);
    for (size_t i = 0; i < sizeof list_keys / sizeof *list_keys; i++) {
        if (strcmp(key, list_keys[i].dbz)) continue;
        size_t cap = strlen(value) * 2 + 1;
        char *pat = malloc(cap), e[512];
        if (!pat) return snprintf(err, errlen, "out of memory"), -1;
        int rc = regex_list_to_patterns(value, strstr(list_keys[i].cdc, "table") != NULL, pat, cap, e, sizeof e);
        if (rc) snprintf(err, errlen, "%s: %s", key, e);
        else rc = cdc_set(s, list_keys[i].cdc, key, pat, err, errlen);
        free(pat);
        return rc;
    }
    if (starts(key, "cdc.")) return cdc_set(s, key + 4, key, value, err, errlen);
    if (starts(key, "kafka.") || starts(key, "producer.override.")) {
        const char *k = key + (starts(key, "kafka.") ? 6 : 18);
        if (!*k) return snprintf(err, errlen, "%s: no Kafka property after the prefix", key), -1;
        return kv_set(&s->kafka, k, value) ? (snprintf(err, errlen, "out of memory"), -1) : 0;
    }
    if (!strcmp(key, "column.blacklist")) key = "column.exclude.list"; /* Debezium 1.x name */
    if (cdc_debezium_is_option(key) && strcmp(key, "topic.prefix") && strcmp(key, "skipped.operations") &&
        strcmp(key, "include.schema.changes") && strcmp(key, "tombstones.on.delete") &&
        strcmp(key, "provide.transaction.metadata"))
        return kv_set(&s->render, key, value) ? (snprintf(err, errlen, "out of memory"), -1) : 0;

    if (!strcmp(key, "name")) return set_str(&s->name, value);
    if (!strcmp(key, "topic.prefix") || !strcmp(key, "database.server.name")) {
        if (!*value || strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(value))
            return snprintf(err, errlen, "%s: '%s' is not a valid topic name prefix (letters, digits, . _ -)", key,
                            value), -1;
        return set_str(&s->prefix, value);
    }
    if (!strcmp(key, "snapshot.mode")) {
        static const struct { const char *dbz, *cdc; } modes[] = {
            {"initial", "initial"}, {"initial_only", "initial_only"}, {"when_needed", "when_needed"},
            {"no_data", "no_data"}, {"schema_only", "no_data"}, {"never", "never"}};
        for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
            if (!strcmp(value, modes[i].dbz)) return cdc_set(s, "snapshot.mode", key, modes[i].cdc, err, errlen);
        return snprintf(err, errlen,
                        "snapshot.mode: '%s' is not supported (initial, initial_only, when_needed, no_data, "
                        "schema_only, never)", value), -1;
    }
    if (!strcmp(key, "skipped.operations")) {
        /* Debezium's default "t" (truncate) and "none" have no libcdc meaning. */
        char ops[8] = "";
        size_t k = 0;
        for (const char *p = value; *p; p++) {
            if (*p == 'c' || *p == 'u' || *p == 'd') {
                if (k + 2 >= sizeof ops) break;
                if (k) ops[k++] = ',';
                ops[k++] = *p;
            } else if (*p != 't' && *p != ',' && *p != ' ' && strcmp(value, "none")) {
                return snprintf(err, errlen, "skipped.operations: '%s' is not a list of c, u, d, t or none", value),
                       -1;
            }
            if (!strcmp(value, "none")) break;
        }
        ops[k] = 0;
        if (kv_set(&s->render, key, value)) return -1;
        return cdc_set(s, "skipped.operations", key, ops, err, errlen);
    }
    if (!strcmp(key, "database.ssl.truststore") || !strcmp(key, "database.ssl.keystore") ||
        !strcmp(key, "database.ssl.truststore.password") || !strcmp(key, "database.ssl.keystore.password"))
        return snprintf(err, errlen,
                        "%s: Java key stores are not read; give PEM files as cdc.ssl.ca, cdc.ssl.cert and "
                        "cdc.ssl.key", key), -1;
    if (!strcmp(key, "include.schema.changes") || !strcmp(key, "tombstones.on.delete") ||
        !strcmp(key, "provide.transaction.metadata") || !strcmp(key, "topic.creation.enable")) {
        if (parse_bool(value, &b)) return snprintf(err, errlen, "%s: '%s' is not true or false", key, value), -1;
        if (key[0] == 'i') s->schema_changes = b;
        else if (!strcmp(key, "tombstones.on.delete")) s->tombstones = b;
        else if (key[0] == 'p') s->txn_metadata = b;
        else s->create_topics = b;
        if (key[0] != 't' && kv_set(&s->render, key, value))
            return snprintf(err, errlen, "out of memory"), -1;
        return 0;
    }
    if (!strcmp(key, "heartbeat.interval.ms")) {
        if (parse_long(value, 0, 86400000, &n)) return snprintf(err, errlen, "%s: '%s' is not 0..86400000", key, value), -1;
        s->heartbeat_ms = n;
        return 0;
    }
    if (!strcmp(key, "heartbeat.topics.prefix")) return set_str(&s->heartbeat_prefix, value);
    if (!strcmp(key, "exactly.once.support")) {
        if (!strcmp(value, "required") || !strcmp(value, "requested")) s->delivery = DELIVERY_EXACTLY_ONCE;
        else if (!strcmp(value, "disabled")) s->delivery = DELIVERY_AT_LEAST_ONCE;
        else return snprintf(err, errlen, "%s: '%s' is not required, requested or disabled", key, value), -1;
        return 0;
    }
    if (!strcmp(key, "transaction.boundary")) {
        if (!strcmp(value, "poll")) s->boundary_interval = false;
        else if (!strcmp(value, "interval")) s->boundary_interval = true;
        else return snprintf(err, errlen, "%s: '%s' is not poll or interval", key, value), -1;
        return 0;
    }
    if (!strcmp(key, "transaction.boundary.interval.ms") || !strcmp(key, "offset.flush.interval.ms")) {
        if (parse_long(value, 1, 3600000, &n)) return snprintf(err, errlen, "%s: '%s' is not 1..3600000", key, value), -1;
        if (key[0] == 't') s->boundary_ms = n;
        else s->flush_ms = n;
        return 0;
    }
    if (!strcmp(key, "offset.storage.file.filename")) return set_str(&s->offsets_file, value);
    if (!strcmp(key, "offset.storage.topic")) return set_str(&s->offsets_topic, value);
    if (!strcmp(key, "exactly.once.transactional.id")) return set_str(&s->transactional_id, value);
    if (!strcmp(key, "topic.creation.default.partitions") ||
        !strcmp(key, "topic.creation.default.replication.factor")) {
        if (parse_long(value, -1, 100000, &n) || n == 0)
            return snprintf(err, errlen, "%s: '%s' is not a positive number or -1", key, value), -1;
        if (strstr(key, "partitions")) s->partitions = (int)n;
        else s->replication = (int)n;
        return 0;
    }
    if (!strcmp(key, "max.queue.size")) {
        if (parse_long(value, 1, 10000000, &n)) return snprintf(err, errlen, "%s: '%s' is not 1..10000000", key, value), -1;
        s->queue_max = n;
        return 0;
    }
    if (!strcmp(key, "transforms") || starts(key, "transforms.") || !strcmp(key, "predicates") ||
        starts(key, "predicates."))
        return snprintf(err, errlen, "%s: single message transforms are not supported by cdc-kafka", key), -1;
    if (!strcmp(key, "topic.naming.strategy") || !strcmp(key, "topic.delimiter")) {
        if ((key[6] == 'n' && !strcmp(value, "io.debezium.schema.SchemaTopicNamingStrategy")) ||
            (key[6] == 'd' && !strcmp(value, ".")))
            return note(key, "is the default here");
        return snprintf(err, errlen, "%s: only the default topic names (<prefix>.<db>.<table>) are supported", key), -1;
    }
    for (size_t i = 0; i < sizeof jvm_keys / sizeof *jvm_keys; i++)
        if (!strcmp(key, jvm_keys[i])) {
            if (!strcmp(key, "value.converter") || !strcmp(key, "key.converter")) {
                if (strcmp(value, "org.apache.kafka.connect.json.JsonConverter"))
                    return snprintf(err, errlen, "%s: '%s': cdc-kafka writes JsonConverter's JSON only", key, value), -1;
            }
            return note(key, "is not needed by cdc-kafka (ignored)");
        }
    for (size_t i = 0; i < sizeof jvm_prefixes / sizeof *jvm_prefixes; i++)
        if (starts(key, jvm_prefixes[i])) return note(key, "is not needed by cdc-kafka (ignored)");
    snprintf(err, errlen, "unknown configuration key '%s'", key);
    return -1;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static int apply_json(settings *s, const kjson *root, const char *path, char *err, size_t errlen)
{
    const kjson *cfg = root;
    const kjson *inner = kjson_get(root, "config");
    if (inner) {
        if (inner->type != KJSON_OBJECT)
            return snprintf(err, errlen, "%s: \"config\" is not an object", path), -1;
        const kjson *nm = kjson_get(root, "name");
        if (nm && nm->type == KJSON_STRING && set_str(&s->name, nm->text)) return -1;
        for (const kjson *m = root->child; m; m = m->next)
            if (strcmp(m->key, "config") && strcmp(m->key, "name"))
                return snprintf(err, errlen, "%s: unknown member \"%s\" beside \"name\" and \"config\"", path, m->key), -1;
        cfg = inner;
    }
    char e[1024];
    for (const kjson *m = cfg->child; m; m = m->next) {
        if (m->type == KJSON_OBJECT || m->type == KJSON_ARRAY || m->type == KJSON_NULL)
            return snprintf(err, errlen, "%s: \"%s\" must be a string, number or boolean", path, m->key), -1;
        if (settings_apply(s, m->key, m->text, e, sizeof e) < 0)
            return snprintf(err, errlen, "%s: %s", path, e), -1;
    }
    return 0;
}

/* key=value or key: value lines; # and ! start comments; \ continues. */
static int apply_properties(settings *s, char *text, const char *path, char *err, size_t errlen)
{
    size_t lineno = 0;
    char e[1024];
    char *p = text;
    while (*p) {
        lineno++;
        char *eol = strchr(p, '\n');
        char *next = eol ? eol + 1 : p + strlen(p);
        if (eol) *eol = 0;
        /* join continuation lines */
        while (eol && eol > p && eol[-1] == '\\' && *next) {
            eol[-1] = 0;
            char *n2 = next;
            while (*n2 == ' ' || *n2 == '\t') n2++;
            char *e2 = strchr(n2, '\n');
            char *after = e2 ? e2 + 1 : n2 + strlen(n2);
            if (e2) *e2 = 0;
            memmove(eol - 1, n2, strlen(n2) + 1);
            eol = eol - 1 + strlen(eol - 1);
            next = after;
            lineno++;
        }
        char *line = p;
        p = next;
        while (*line == ' ' || *line == '\t') line++;
        size_t L = strlen(line);
        while (L && (line[L - 1] == '\r' || line[L - 1] == ' ' || line[L - 1] == '\t')) line[--L] = 0;
        if (!*line || *line == '#' || *line == '!') continue;
        char *sep = line + strcspn(line, "=:");
        if (!*sep) return snprintf(err, errlen, "%s line %zu: expected key=value", path, lineno), -1;
        char *kend = sep;
        while (kend > line && (kend[-1] == ' ' || kend[-1] == '\t')) kend--;
        *kend = 0;
        char *val = sep + 1;
        while (*val == ' ' || *val == '\t') val++;
        if (settings_apply(s, line, val, e, sizeof e) < 0)
            return snprintf(err, errlen, "%s line %zu: %s", path, lineno, e), -1;
    }
    return 0;
}

int settings_load(settings *s, const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text = slurp(path, &len);
    if (!text) return snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno)), -1;
    size_t i = strspn(text, " \t\r\n");
    int rc;
    if (text[i] == '{') {
        char e[512];
        kjson *root = kjson_parse(text, len, e, sizeof e);
        if (!root) rc = (snprintf(err, errlen, "%s: %s", path, e), -1);
        else rc = apply_json(s, root, path, err, errlen);
        kjson_free(root);
    } else {
        rc = apply_properties(s, text, path, err, errlen);
    }
    memset(text, 0, len); /* it may hold a password */
    free(text);
    return rc;
}

int settings_finish(settings *s, char *err, size_t errlen)
{
    if (!s->prefix) return snprintf(err, errlen, "topic.prefix is required (the first part of every topic name)"), -1;
    if (!s->name && set_str(&s->name, s->prefix)) return -1;
    if (!s->heartbeat_prefix && set_str(&s->heartbeat_prefix, "__debezium-heartbeat")) return -1;
    if (!kv_get(&s->kafka, "bootstrap.servers"))
        return snprintf(err, errlen, "kafka.bootstrap.servers is required (the brokers to write to)"), -1;
    if (s->offsets_file && s->offsets_topic)
        return snprintf(err, errlen, "offset.storage.file.filename and offset.storage.topic are both set; choose one"), -1;
    if (s->delivery == DELIVERY_EXACTLY_ONCE && !s->offsets_topic) {
        if (s->offsets_file)
            return snprintf(err, errlen,
                            "exactly.once.support=required keeps offsets in a Kafka topic, committed in the same "
                            "transaction as the records; drop offset.storage.file.filename (offset.storage.topic "
                            "defaults to cdc-kafka-offsets)"), -1;
        if (set_str(&s->offsets_topic, "cdc-kafka-offsets")) return -1;
    }
    if (!s->offsets_file && !s->offsets_topic && set_str(&s->offsets_topic, "cdc-kafka-offsets")) return -1;
    if (s->delivery == DELIVERY_EXACTLY_ONCE && !s->transactional_id) {
        const char *t = kv_get(&s->kafka, "transactional.id");
        size_t n = strlen(s->name) + 16;
        s->transactional_id = t ? strdup(t) : malloc(n);
        if (!s->transactional_id) return -1;
        if (!t) snprintf(s->transactional_id, n, "cdc-kafka-%s", s->name);
    }
    if (s->delivery != DELIVERY_EXACTLY_ONCE && kv_get(&s->kafka, "transactional.id"))
        return snprintf(err, errlen, "kafka.transactional.id is set: use exactly.once.support=required instead"), -1;
    if (kv_set(&s->render, "topic.prefix", s->prefix) ||
        kv_set(&s->render, "topic.heartbeat.prefix", s->heartbeat_prefix))
        return snprintf(err, errlen, "out of memory"), -1;
    char sid[32];
    if (cdc_config_get(s->cdc, "server.id", sid, sizeof sid, NULL) == CDC_OK && !strcmp(sid, "0"))
        return snprintf(err, errlen, "database.server.id is required (a replica server_id unique among the server's replicas)"), -1;
    return 0;
}
