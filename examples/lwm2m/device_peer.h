/*
 * The Device object served to the LwM2M server over the registration's own socket: in LwM2M
 * the server reads and observes the client's objects by sending requests to the address the
 * registration came from (TS Transport §6.4), so the zcoap_uv_client_t that registers also
 * answers them (ZCOAP_EV_IN_REQUEST) and sends the notifications of /3/0/13 (RFC 7641) with the
 * endpoint's notify API and the core's observer table.
 */
#ifndef LWM2M_DEVICE_PEER_H
#define LWM2M_DEVICE_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "zcoap/observe.h"
#include "zcoap/uv.h"

/* Observations of /3/0/13 the server may hold at once (one per token). */
#define DEVICE_PEER_OBSERVERS 4

typedef struct device_peer {
    uv_loop_t *loop;
    zcoap_uv_client_t *client;
    zcoap_obs_table_t observers;
    zcoap_observer_t slots[DEVICE_PEER_OBSERVERS];
    uint32_t time_seq; /* the Observe sequence number of /3/0/13 (RFC 7641 §4.4) */
    bool verbose;
    unsigned requests_answered, notifications_sent;
} device_peer_t;

void device_peer_init(device_peer_t *d, uv_loop_t *loop, zcoap_uv_client_t *client, bool verbose);

/* Hand it an event of the client; true when it was a request or notification event. */
bool device_peer_on_event(device_peer_t *d, const zcoap_event_t *ev);

/* The time changed (every second): notify the observers of /3/0/13. */
void device_peer_time_changed(device_peer_t *d, time_t now);

#endif
