/* The library's version, as built. */
#include "zcoap/zcoap.h"

const char *zcoap_version(void)
{
    return ZCOAP_VERSION_STRING;
}
