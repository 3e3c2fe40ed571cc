/* What the client and the server sockets share: sending one datagram with its counters, pulling
 * an endpoint's queued datagrams, and arming a timer to an endpoint's deadline. Never installed. */
#ifndef ZCOAP_UV_IO_INTERNAL_H
#define ZCOAP_UV_IO_INTERNAL_H

#include "zcoap/uv.h"

/* Counters every socket keeps. */
typedef struct zcoap__uv_tx_counters {
    uint64_t *datagrams_out;
    uint64_t *send_errors;
    int *last_error; /* may be NULL */
} zcoap__uv_tx_counters_t;

/* Send one datagram with uv_udp_try_send (to NULL on a connected socket). EAGAIN and other errors
 * count as a lost datagram: CON retransmission covers it. */
void zcoap__uv_send(uv_udp_t *udp, const struct sockaddr *to, const uint8_t *p, size_t n,
                    const zcoap__uv_tx_counters_t *counters);

/* Pull and send everything the endpoint has queued. */
void zcoap__uv_send_queued(zcoap_ep_t *ep, uv_udp_t *udp, const struct sockaddr *to, uint64_t now,
                           const zcoap__uv_tx_counters_t *counters);

/* Arm @p timer to the endpoint's next deadline (from uv_now(), the clock the endpoint is given),
 * or stop it when there is none. */
void zcoap__uv_arm_timer(uv_timer_t *timer, uv_timer_cb cb, const zcoap_ep_t *ep);

#endif /* ZCOAP_UV_IO_INTERNAL_H */
