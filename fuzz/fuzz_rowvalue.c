/*
 * fuzz_rowvalue.c: one column value, any type: cdc__value_decode, then the
 * canonical rendering. Bytes 0-5 describe the column (type, meta,
 * flags, charset, labels/UUID); the rest is the row-image data.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6) return 0;
    static const cdc_bytes labels[] = {{(const uint8_t *)"x", 1}, {(const uint8_t *)"\xe9t\xe9", 3},
                                       {(const uint8_t *)"", 0}};
    cdc_column col;
    memset(&col, 0, sizeof col);
    col.type = data[0];
    col.real_type = (data[5] & 3) == 1 ? CDC_T_ENUM : (data[5] & 3) == 2 ? CDC_T_SET : col.type;
    col.meta = cdc__le16(data + 1);
    col.flags = data[3] | (data[5] & 8 ? CDC_COLF_UUID : 0);
    static const uint16_t charsets[] = {0, 8, 33, 35, 45, 51, 54, 63, 255, 2048, 1057, 95};
    col.charset = charsets[data[4] % (sizeof charsets / sizeof charsets[0])];
    if (data[5] & 4) {
        col.labels = labels;
        col.n_labels = 3;
    }
    data += 6;
    size -= 6;
    cdc_value v;
    size_t used;
    cdc__err err;
    if (cdc__value_decode(&col, data, size, &v, &used, &err) == CDC_OK) {
        if (used > size) abort();
        cdc__buf out;
        cdc__buf_init(&out, NULL);
        int rc = cdc__value_render_json(&v, &out, &err);
        /* rendering a decoded value fails only for bad JSON documents */
        if (rc != CDC_OK && v.kind != CDC_K_JSON && rc != CDC_ERR_CHARSET) abort();
        cdc__buf_free(&out);
    }
    return 0;
}
