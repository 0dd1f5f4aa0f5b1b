/*
 * binlogtest.h: helpers shared by the binlog unit tests (test_decoder.c,
 * test_tablemap.c, test_gtid.c): the path of a fixture and a bare event
 * built around a body. Include after <cmocka.h> and "util.h".
 */
#ifndef CDC_BINLOGTEST_H
#define CDC_BINLOGTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* tests/fixtures/<rel> ($CDC_FIXTURES); the buffer is reused per call. */
static __attribute__((unused)) char *fixture(const char *rel)
{
    const char *root = getenv("CDC_FIXTURES");
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", root ? root : "tests/fixtures", rel);
    return path;
}

/* A v4 event of `type` around body (no checksum, zeroed header fields)
 * written to out; returns its size. */
static __attribute__((unused)) size_t put_event(uint8_t *out, int type, const uint8_t *body, size_t blen)
{
    memset(out, 0, 19);
    out[4] = (uint8_t)type;
    cdc__put_le32(out + 9, (uint32_t)(19 + blen));
    memcpy(out + 19, body, blen);
    return 19 + blen;
}

#endif /* CDC_BINLOGTEST_H */
