/* Names and descriptions of zcoap's error codes, generated from the one list in err.h. */
#include "zcoap/err.h"

const char *zcoap_strerror(int err)
{
    switch (err) {
#define ZCOAP_ERR_TEXT_(name, value, text)                                                         \
    case value:                                                                                    \
        return text;
        ZCOAP_ERR_LIST(ZCOAP_ERR_TEXT_)
#undef ZCOAP_ERR_TEXT_
    default:
        return "unknown error";
    }
}

const char *zcoap_err_name(int err)
{
    switch (err) {
#define ZCOAP_ERR_NAME_(name, value, text)                                                         \
    case value:                                                                                    \
        return #name;
        ZCOAP_ERR_LIST(ZCOAP_ERR_NAME_)
#undef ZCOAP_ERR_NAME_
    default:
        return "ZCOAP_E?";
    }
}
