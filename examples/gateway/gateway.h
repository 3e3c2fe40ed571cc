/*
 * The gateway's state, shared by its parts:
 *   device_link.c     the client side: one zcoap_uv_client_t per device, observing its /temp,
 *                     relaying requests, marking it offline and retrying with back-off;
 *   relay.c           a request of a gateway client waiting for the device's answer;
 *   gateway_server.c  the server side: /devices, /devices/NAME/temp, /devices/NAME/led;
 *   status.c          the live status line and the summary.
 */
#ifndef GATEWAY_GATEWAY_H
#define GATEWAY_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device_link.h"
#include "options.h"
#include "zcoap/uv.h"

/* What the gateway counts, for the status line and the summary. */
struct gw_counters {
    uint64_t notifications_in; /* fresh notifications from the devices */
    uint64_t relayed;          /* requests relayed and answered by the device */
    uint64_t relayed_late;     /* of those, answered after the gateway's empty ACK: separate */
    uint64_t relay_failed;     /* relayed, but the device did not answer (5.04 sent) */
    uint64_t relay_refused;    /* not relayed: the device is offline or too many wait (5.03) */
    uint64_t went_offline;     /* a device stopped answering */
    uint64_t came_back;        /* a device answered again after being offline */
};

struct gateway {
    uv_loop_t *loop;
    const struct gw_options *opt;
    struct device_link *links; /* n_links: the simulated devices first, then the external */
    size_t n_links;
    size_t online;          /* links in LINK_ONLINE */
    size_t sim_ever_online; /* simulated devices that were online at least once */
    zcoap_uv_server_t server;
    bool server_started;
    zcoap_resource_t *table; /* the server's resources (gateway_server.c) */
    size_t n_table;
    char *listing; /* room for the link-format listings */
    size_t listing_cap;
    struct gw_counters count;
    uint64_t start_ms;      /* uv_now() when the links started */
    uint64_t all_online_ms; /* how long until every device was first online; 0: not yet */
    size_t open_handles;    /* close callbacks still to come, while closing */
    bool closing;
};

/* A handle of the gateway was closed (main.c counts them down to the end). */
void gw_handle_closed(struct gateway *gw);

/* The gateway's log: a line on stdout that does not disturb the status line (status.c). */
void gw_log(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#endif /* GATEWAY_GATEWAY_H */
