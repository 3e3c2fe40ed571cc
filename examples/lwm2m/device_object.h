/*
 * The LwM2M Device object, instance 0 (/3/0, OMA LwM2M 1.1 Appendix E.4): manufacturer (0),
 * model number (1) and current time (13, observable). This file only renders representations;
 * device_peer.c serves them to the LwM2M server over the registration's own socket and
 * local_server.c to any local CoAP client.
 */
#ifndef LWM2M_DEVICE_OBJECT_H
#define LWM2M_DEVICE_OBJECT_H

#include <stddef.h>
#include <time.h>

#include "zcoap/resource.h"

/* The resources, in the order of device_resources[]. */
enum device_resource {
    DEVICE_INSTANCE,     /* /3/0: the instance's resources, as link-format (LwM2M Discover) */
    DEVICE_MANUFACTURER, /* /3/0/0 */
    DEVICE_MODEL,        /* /3/0/1 */
    DEVICE_TIME,         /* /3/0/13, observable: notified every second */
    DEVICE_RESOURCES
};

/* What the registration announces (LwM2M 1.1 TS Core §6.2.1): the Server and Device objects. */
#define DEVICE_REGISTRATION_LINKS "</1/0>,</3/0>"

/* The resources of /3/0 as a zcoap resource table (GET only; handler NULL: each front end sets
 * its own), in enum device_resource order. */
extern const zcoap_resource_t device_resources[DEVICE_RESOURCES];

/*
 * Render resource @p which at time @p now into @p out (NUL-terminated) and set its
 * Content-Format. Returns the length, or -1 when @p cap is too small.
 */
int device_render(enum device_resource which, time_t now, char *out, size_t cap,
                  int *content_format);

/* The wall clock, for /3/0/13: timespec_get() rather than time(), which glibc reads from the
 * coarse clock (a few ms late), so that the once-a-second tick and the value agree. */
struct timespec device_clock_now(void);

/* The index of @p r in device_resources[] (r must point into it). */
enum device_resource device_resource_index(const zcoap_resource_t *r);

#endif
