/* error.c: names and messages of error codes, and the version. */
#include "util.h"

const char *cdc_strerror(int code)
{
    switch (code) {
#define CDC__ERR_MSG(name, value, retriable, msg) case value: return msg;
        CDC_ERROR_LIST(CDC__ERR_MSG)
#undef CDC__ERR_MSG
    }
    return "unknown error";
}

const char *cdc_err_name(int code)
{
    switch (code) {
#define CDC__ERR_NAME(name, value, retriable, msg) case value: return #name;
        CDC_ERROR_LIST(CDC__ERR_NAME)
#undef CDC__ERR_NAME
    }
    return "CDC_ERR_UNKNOWN";
}

int cdc_is_retriable(int code)
{
    switch (code) {
#define CDC__ERR_RETRY(name, value, retriable, msg) case value: return retriable;
        CDC_ERROR_LIST(CDC__ERR_RETRY)
#undef CDC__ERR_RETRY
    }
    return 0;
}

const char *cdc_version(void) { return CDC_VERSION_STRING; }
unsigned cdc_version_num(void) { return CDC_VERSION_NUM; }
