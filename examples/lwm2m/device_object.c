/* The Device object's representations (see device_object.h). */
#include "device_object.h"

#include <stdio.h>

#define DEVICE_MANUFACTURER_TEXT "zcoap"
#define DEVICE_MODEL_TEXT "zcoap LwM2M client example"

const zcoap_resource_t device_resources[DEVICE_RESOURCES] = {
    [DEVICE_INSTANCE] = {.path = "3/0", .methods = ZCOAP_METHOD_BIT(ZCOAP_GET), .attrs = "ct=40"},
    [DEVICE_MANUFACTURER] = {.path = "3/0/0",
                             .methods = ZCOAP_METHOD_BIT(ZCOAP_GET),
                             .attrs = "ct=0"},
    [DEVICE_MODEL] = {.path = "3/0/1", .methods = ZCOAP_METHOD_BIT(ZCOAP_GET), .attrs = "ct=0"},
    [DEVICE_TIME] = {.path = "3/0/13", .methods = ZCOAP_METHOD_BIT(ZCOAP_GET), .attrs = "ct=0;obs"},
};

struct timespec device_clock_now(void)
{
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC) {
        ts.tv_sec = time(NULL);
        ts.tv_nsec = 0;
    }
    return ts;
}

enum device_resource device_resource_index(const zcoap_resource_t *r)
{
    return (enum device_resource)(r - device_resources);
}

int device_render(enum device_resource which, time_t now, char *out, size_t cap,
                  int *content_format)
{
    int n;
    *content_format = ZCOAP_CF_TEXT_PLAIN;
    switch (which) {
    case DEVICE_INSTANCE:
        /* What an LwM2M Discover of the instance answers (TS Core §5.4.2): its resources. */
        *content_format = ZCOAP_CF_LINK_FORMAT;
        n = snprintf(out, cap, "</3/0>,</3/0/0>,</3/0/1>,</3/0/13>");
        break;
    case DEVICE_MANUFACTURER:
        n = snprintf(out, cap, "%s", DEVICE_MANUFACTURER_TEXT);
        break;
    case DEVICE_MODEL:
        n = snprintf(out, cap, "%s", DEVICE_MODEL_TEXT);
        break;
    case DEVICE_TIME:
        /* The Time data type in plain text is Unix time in seconds (TS Core Appendix C). */
        n = snprintf(out, cap, "%lld", (long long)now);
        break;
    default:
        n = -1;
        break;
    }
    return n < 0 || (size_t)n >= cap ? -1 : n;
}
