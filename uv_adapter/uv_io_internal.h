/* What the client and the server sockets share: sending one datagram through the datagram hook
 * with its counters, pulling an endpoint's queued datagrams, and arming a timer to an endpoint's
 * deadline. Never installed. */
#ifndef ZCOAP_UV_IO_INTERNAL_H
#define ZCOAP_UV_IO_INTERNAL_H

#include "zcoap/uv.h"

/* Datagrams a server holds back while it handles one recvmmsg() batch (send_batch.c). */
#define ZCOAP__UV_SEND_BATCH 32
typedef struct zcoap__uv_send_batch zcoap__uv_send_batch_t;

/* A batch for datagrams of up to @p msg_cap bytes, counting into the server's counters; NULL
 * when out of memory. free() releases it. */
zcoap__uv_send_batch_t *zcoap__uv_send_batch_new(size_t msg_cap, uint64_t *datagrams_out,
                                                 uint64_t *send_errors);
/* From now on, zcoap__uv_send_batch_add() holds datagrams back (NULL @p b: nothing). */
void zcoap__uv_send_batch_open(zcoap__uv_send_batch_t *b);
/* Hold one datagram to @p to back if the batch is open (sending what it holds when it is
 * full); false when it is not held, so the caller sends it now. */
bool zcoap__uv_send_batch_add(zcoap__uv_send_batch_t *b, uv_udp_t *udp, const struct sockaddr *to,
                              const uint8_t *p, size_t n);
/* Send what the batch holds with sendmmsg() and close it (NULL @p b: nothing). */
void zcoap__uv_send_batch_flush(zcoap__uv_send_batch_t *b, uv_udp_t *udp);

/* One socket's way out: where datagrams go, the hook that sees them, the counters. Built on the
 * stack by the caller for each batch of sends. */
typedef struct zcoap__uv_tx {
    uv_udp_t *udp;
    const struct sockaddr *to;   /* destination; NULL on a connected socket */
    const struct sockaddr *peer; /* the peer's address, for the hook */
    zcoap__uv_hook_t *hook;
    uint64_t *datagrams_out;
    uint64_t *send_errors;
    uint64_t *hook_dropped_out;
    int *last_error;               /* may be NULL */
    zcoap__uv_send_batch_t *batch; /* a server's, or NULL: sent at once */
} zcoap__uv_tx_t;

/* Call the hook (its fn is not NULL) for one datagram; true lets the datagram through. */
bool zcoap__uv_hook_passes(zcoap__uv_hook_t *hook, zcoap_uv_datagram_dir_t dir,
                           const struct sockaddr *peer, const uint8_t *p, size_t n);

/* Show one datagram to the hook, then send it with uv_udp_try_send. EAGAIN and other errors
 * count as a lost datagram: CON retransmission covers it, as it covers one the hook dropped.
 * Returns false when the hook closed the socket: nothing more may be sent. */
bool zcoap__uv_send(const zcoap__uv_tx_t *tx, const uint8_t *p, size_t n);

/* Pull and send everything the endpoint has queued (until the hook closes the socket). */
void zcoap__uv_send_queued(zcoap_ep_t *ep, uint64_t now, const zcoap__uv_tx_t *tx);

/* Arm @p timer to the endpoint's next deadline (from uv_now(), the clock the endpoint is given),
 * or stop it when there is none. */
void zcoap__uv_arm_timer(uv_timer_t *timer, uv_timer_cb cb, const zcoap_ep_t *ep);

/* Client (client.c): run the driver loop of @p c now. */
void zcoap__uv_client_flush(zcoap_uv_client_t *c);

/* Client transfers (client_transfer.c): take @p ev when it belongs to the client's block-wise
 * transfer (reported to the transfer's callback); false hides it from the event callback. */
bool zcoap__uv_transfer_track(zcoap_uv_client_t *c, const zcoap_event_t *ev);

#endif /* ZCOAP_UV_IO_INTERNAL_H */
