/* cdc config-doc: prints docs/configuration.md from the library's key table. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config.h"

int cmd_config_doc(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "usage: %s\n  prints the configuration keys as Markdown (docs/configuration.md)\n", argv[0]);
        return !strcmp(argv[1], "--help") ? 0 : 2;
    }
    cdc_buf b;
    cdc__buf_init(&b, NULL);
    int rc = cdc__config_doc_markdown(&b);
    if (rc == CDC_OK) fwrite(b.data, 1, b.len, stdout);
    cdc__buf_free(&b);
    if (rc) fprintf(stderr, "cdc config-doc: %s\n", cdc_strerror(rc));
    return rc ? 1 : 0;
}
