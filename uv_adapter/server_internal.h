/* What the server's files share: server.c (the socket's receive path, the peer pool, each peer's
 * driver loop), server_dispatch.c (requests through the resource table, the handlers' answers),
 * server_observe.c (Observe, RFC 7641) and server_socket.c (binding, the receive buffer). Never
 * installed. */
#ifndef ZCOAP_UV_SERVER_INTERNAL_H
#define ZCOAP_UV_SERVER_INTERNAL_H

#include "uv_io_internal.h"

/* A notification's tag is the observer's slot (24 bits) and the slot's generation (8 bits). */
#define ZCOAP__UV_OBS_SLOT_BITS 24u
#define ZCOAP__UV_OBS_MAX_OBSERVERS (1u << ZCOAP__UV_OBS_SLOT_BITS)

/* ---- server.c: the peer's driver loop -------------------------------------------------------- */

/* Run the driver loop of endpoint.h for @p peer (re-entrant calls run it once more), then arm its
 * timer, or release the peer when it holds nothing. */
void zcoap__uv_peer_flush(zcoap_uv_peer_t *peer);

/* Send what the peer's endpoint has queued, through the server's hook. */
void zcoap__uv_peer_send_queued(zcoap_uv_peer_t *peer, uint64_t now);

/* ---- server_dispatch.c: requests and answers ------------------------------------------------- */

/* A request arrived on @p peer: through the resource table to its handler, or answered here. */
void zcoap__uv_dispatch(zcoap_uv_peer_t *peer, const zcoap_msg_t *req);

/* Add Content-Format and Max-Age (those of @p opts that are set; @p opts may be NULL). */
void zcoap__uv_add_respond_opts(zcoap_builder_t *b, const zcoap_uv_respond_opts_t *opts);

/* ---- server_socket.c: socket setup ---------------------------------------------------------- */

/* Bind @p udp (not yet bound) to @p addr with SO_REUSEPORT; a libuv error code, 0 on success. */
int zcoap__uv_bind_reuse_port(uv_udp_t *udp, const struct sockaddr *addr);

/* Ask for the configured receive buffer size; record the size the socket got in the stats. */
void zcoap__uv_set_recv_buffer(zcoap_uv_server_t *s);

/* ---- server_observe.c: Observe (RFC 7641) ---------------------------------------------------- */

/* Allocate the observer table, each resource's sequence number and policy (at start: nothing is
 * allocated per registration); false when out of memory. zcoap__uv_obs_free() frees them. */
bool zcoap__uv_obs_alloc(zcoap_uv_server_t *s);
void zcoap__uv_obs_free(zcoap_uv_server_t *s);

/* Before the handler sees a request (@p dispatch is zcoap_resource_dispatch()'s code, @p res the
 * resource it found): registration or deregistration (§3.6). */
void zcoap__uv_obs_on_request(zcoap_uv_peer_t *peer, const zcoap_resource_t *res, uint8_t dispatch,
                              const zcoap_msg_t *req);

/* Add Observe to an answer if it answers a registration; true if it was added. */
bool zcoap__uv_obs_add_observe(const zcoap_uv_peer_t *peer, zcoap_builder_t *b);

/* The answer to the request went out, with Observe or not: the registration stays or goes. */
void zcoap__uv_obs_answered(zcoap_uv_peer_t *peer, bool observe);

/* A handler called with req NULL answers: that answer is the notification of the observer
 * being served (s->ntf_peer, s->ntf_tag). */
int zcoap__uv_obs_answer_notification(zcoap_uv_server_t *s, uint8_t code,
                                      const zcoap_uv_respond_opts_t *opts, const void *payload,
                                      size_t payload_len);

/* An event of the peer's endpoint (ACK, RST, timeout of a notification; a request's end). */
void zcoap__uv_obs_on_event(zcoap_uv_peer_t *peer, const zcoap_event_t *ev);

/* An exchange of the peer may have ended: serve its observers owed the newest state. */
void zcoap__uv_obs_serve_pending(zcoap_uv_peer_t *peer);

#endif /* ZCOAP_UV_SERVER_INTERNAL_H */
