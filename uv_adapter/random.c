/* The OS random source for tokens and message IDs (RFC 7252 §5.3.1: tokens must be hard to
 * guess), through libuv so the adapter needs no platform code of its own. */
#include "zcoap/uv.h"

int zcoap_uv_random(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    if (len == 0) {
        return 0;
    }
    if (out == NULL) {
        return UV_EINVAL;
    }
    /* No loop and no callback: libuv fills the buffer synchronously (getrandom on Linux). */
    return uv_random(NULL, NULL, out, len, 0, NULL);
}
