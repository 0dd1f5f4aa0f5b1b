/*
 * gtid.h: global transaction ids in the forms the binlog writes them
 * (MySQL GTID / GTID_TAGGED events, MariaDB GTID events) and sets of them
 * (MySQL PREVIOUS_GTIDS, MariaDB GTID_LIST), with their text forms:
 * "uuid:5", "uuid:tag:5", "0-1-5"; sets "uuid:1-5:7,uuid:tag:1-3" and
 * "0-1-5,1-2-9". Internal; not installed.
 */
#ifndef CDC_GTID_H
#define CDC_GTID_H

#include "util.h"

#define CDC__GTID_TAG_MAX 32      /* MySQL limits tags to 32 characters */
#define CDC__GTID_TEXT_MAX 96     /* longest single GTID text, NUL included */

enum { CDC__GTID_NONE = 0, CDC__GTID_MYSQL = 1, CDC__GTID_MARIADB = 2 };

typedef struct cdc__gtid {
    int kind;
    uint8_t uuid[16];
    char tag[CDC__GTID_TAG_MAX + 1]; /* "" when untagged */
    uint64_t gno;                    /* MySQL transaction number */
    uint32_t domain;                 /* MariaDB */
    uint32_t server_id;
    uint64_t seq;
} cdc__gtid;

/* What a MySQL GTID / ANONYMOUS_GTID / GTID_TAGGED event says. */
typedef struct cdc__gtid_ev {
    cdc__gtid gtid;
    bool anonymous;
    uint8_t flags;
    uint64_t last_committed, sequence_number;
    uint64_t immediate_commit_us;  /* 0 when the server did not write it */
    uint64_t original_commit_us;
    uint64_t transaction_length;
} cdc__gtid_ev;

/* MariaDB GTID event flags we act on. */
enum { CDC__MARIA_FL_STANDALONE = 1, CDC__MARIA_FL_PREPARED_XA = 64,
       CDC__MARIA_FL_COMPLETED_XA = 128 };

typedef struct cdc__maria_gtid_ev {
    cdc__gtid gtid;
    uint8_t flags;
    uint64_t commit_id;      /* with flag 2 (group commit) */
    uint32_t xa_format_id;   /* with the XA flags: the XID */
    cdc_bytes xa_gtrid, xa_bqual;
} cdc__maria_gtid_ev;

/* type: 33 GTID, 34 ANONYMOUS_GTID, 42 GTID_TAGGED. */
int cdc__gtid_ev_parse(int type, const uint8_t *body, size_t len, cdc__gtid_ev *out,
                       cdc__err *err);
int cdc__maria_gtid_ev_parse(const uint8_t *body, size_t len, uint32_t server_id,
                             cdc__maria_gtid_ev *out, cdc__err *err);
/* Writes the text form (NUL-terminated, "" for NONE) into buf; returns its
 * length. n >= CDC__GTID_TEXT_MAX always suffices. */
size_t cdc__gtid_format(const cdc__gtid *g, char *buf, size_t n);
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (36 chars + NUL). */
void cdc__uuid_format(const uint8_t uuid[16], char out[37]);
bool cdc__uuid_parse(const char *s, size_t n, uint8_t uuid[16]);

/* ---- sets ------------------------------------------------------------- */

typedef struct cdc__gtid_interval { uint64_t start, end; } cdc__gtid_interval; /* [start, end) */

typedef struct cdc__gtid_sid {
    uint8_t uuid[16];
    char tag[CDC__GTID_TAG_MAX + 1];
    cdc__gtid_interval *iv;   /* sorted, disjoint, not adjacent */
    size_t n_iv, cap_iv;
} cdc__gtid_sid;

typedef struct cdc__gtid_set {
    const cdc_allocator *alloc;
    cdc__gtid_sid *sids;      /* sorted by uuid then tag */
    size_t n_sids, cap_sids;
    cdc__gtid *maria;         /* one per domain+server, highest seq kept */
    size_t n_maria, cap_maria;
} cdc__gtid_set;

void cdc__gtid_set_init(cdc__gtid_set *s, const cdc_allocator *a);
void cdc__gtid_set_free(cdc__gtid_set *s);
void cdc__gtid_set_clear(cdc__gtid_set *s);
/* Adds [start, end) for uuid+tag; merges overlapping intervals. */
int cdc__gtid_set_add_interval(cdc__gtid_set *s, const uint8_t uuid[16], const char *tag,
                               uint64_t start, uint64_t end);
/* Adds one GTID (MySQL: the interval [gno, gno+1); MariaDB: replaces the
 * position of its domain-server pair if seq is higher). */
int cdc__gtid_set_add(cdc__gtid_set *s, const cdc__gtid *g);
/* 1 if g is in the set (MariaDB: seq <= the recorded seq of its domain). */
bool cdc__gtid_set_contains(const cdc__gtid_set *s, const cdc__gtid *g);
/* Every GTID of sub is in set. */
bool cdc__gtid_set_is_subset(const cdc__gtid_set *sub, const cdc__gtid_set *set);
/* Appends the text form to out (no NUL). */
int cdc__gtid_set_format(const cdc__gtid_set *s, cdc__buf *out);
/* Parses a text form; whitespace and newlines around items are allowed. */
int cdc__gtid_set_parse(cdc__gtid_set *s, const char *text, size_t n, cdc__err *err);
/* PREVIOUS_GTIDS body (plain or tagged format), MariaDB GTID_LIST body. */
int cdc__gtid_set_parse_previous(cdc__gtid_set *s, const uint8_t *body, size_t len,
                                 cdc__err *err);
int cdc__gtid_set_parse_maria_list(cdc__gtid_set *s, const uint8_t *body, size_t len,
                                   cdc__err *err);

/* MySQL serialization-library variable-length unsigned integer: the count
 * of trailing one bits in the first byte gives the extra bytes. */
uint64_t cdc__rd_varlen(cdc__reader *r);

#endif /* CDC_GTID_H */
