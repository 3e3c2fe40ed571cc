/* One description function for both error ranges: zcoap's (-1000..-1099) and libuv's. */
#include "zcoap/uv.h"

const char *zcoap_uv_strerror(int err)
{
    /* zcoap's codes sit in their own range, so nothing of libuv's is mistaken for ours. */
    if (err == ZCOAP_OK || (err >= ZCOAP_ERR_MIN && err <= ZCOAP_ERR_MAX)) {
        return zcoap_strerror(err);
    }
    return uv_strerror(err);
}
