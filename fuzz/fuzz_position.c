/*
 * fuzz_position.c: checkpoint strings and the other position forms
 * (FILE:OFFSET, gtid:SET), which hosts read back from files. Any input
 * either fails with a message or gives a position whose checkpoint string
 * parses back to the same checkpoint string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "position.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    cdc_position *p = NULL;
    char err[256] = "";
    int rc = cdc_position_parse(&p, text, NULL, err, sizeof err);
    if (rc != CDC_OK) {
        if (p || !err[0]) abort(); /* an error always says what */
    } else {
        size_t need = 0;
        if (cdc_position_format(p, NULL, 0, &need) != CDC_ERR_TOO_LARGE || need == 0) abort();
        char *a = malloc(need), *b = malloc(need);
        cdc_position *q = NULL;
        if (!a || !b) abort();
        if (cdc_position_format(p, a, need, NULL) != CDC_OK) abort();
        if (cdc_position_parse(&q, a, NULL, err, sizeof err) != CDC_OK) abort();
        if (cdc_position_format(q, b, need, NULL) != CDC_OK || strcmp(a, b)) abort();
        if (strcmp(cdc_position_file(p), cdc_position_file(q)) || cdc_position_offset(p) != cdc_position_offset(q) ||
            strcmp(cdc_position_gtid_set(p), cdc_position_gtid_set(q)))
            abort();
        cdc_position_free(q);
        free(a);
        free(b);
    }
    cdc_position_free(p);
    free(text);
    return 0;
}
