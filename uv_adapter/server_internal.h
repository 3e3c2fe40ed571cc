/* What the server's files share: server.c (the socket's receive path, the peer pool, each peer's
 * driver loop), server_dispatch.c (requests through the resource table, the handlers' answers),
 * server_block.c (block-wise transfers, RFC 7959), server_observe.c (Observe, RFC 7641) and
 * server_socket.c (binding, the receive buffer). Never installed. */
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

/* A representation to answer with: @p total bytes in memory at @p data, or read slice by slice
 * with @p read (then @p data is NULL). */
typedef struct zcoap__uv_body {
    const uint8_t *data;
    size_t total;
    zcoap_uv_slice_fn read;
    void *ctx;
} zcoap__uv_body_t;

/* Answer the pending request of @p peer (or, from a handler called with req NULL, the observer
 * being notified) with @p body, sliced as its Block2 asks; @p size1 >= 0 adds Size1. What
 * zcoap_uv_peer_respond() and its variants do, and the adapter's own answers. */
int zcoap__uv_respond(zcoap_uv_peer_t *peer, uint8_t code, const zcoap_uv_respond_opts_t *opts,
                      const zcoap__uv_body_t *body, int64_t size1);

/* ---- server_block.c: block-wise transfers (RFC 7959) ----------------------------------------- */

/* What an answer carries of its representation, and the block options that say so. */
typedef struct zcoap__uv_answer_plan {
    uint8_t code;     /* the code sent: the handler's, or 4.02 for a block past the end */
    bool block2;      /* add Block2 b2 */
    bool size2;       /* add Size2 (the representation's size) */
    bool block1;      /* add Block1 b1 */
    zcoap_block_t b2; /* the block this answer carries */
    zcoap_block_t b1; /* the block of the request body this answer acknowledges */
    size_t offset;    /* the slice of the representation: where it starts */
    size_t len;       /* and its length */
} zcoap__uv_answer_plan_t;

/* The block size the server uses: @c block_szx, smaller if a block and ZCOAP_UV_BLOCK_ROOM
 * would not fit @c msg_cap. */
uint8_t zcoap__uv_block_szx(const zcoap_uv_server_config_t *cfg);

/* A request arrived on @p peer. Records what it asks for (Block2, Size2; its Block1 and Size1
 * when it goes to the handler of @p res, NULL when it goes to none) and checks its Block1 block
 * against the body under way. Returns false when the adapter answered it (4.00, 4.08, 4.13):
 * the handler must not be called. */
bool zcoap__uv_block_on_request(zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                                const zcoap_msg_t *req);

/* The handler of a Block1 request returned: a block that is not the last, left unanswered and
 * not held (zcoap__uv_block_held()), is answered 2.31 Continue. */
void zcoap__uv_block_after_handler(zcoap_uv_peer_t *peer);

/* The handler acknowledged the request to answer it later: no automatic 2.31 Continue. */
void zcoap__uv_block_held(zcoap_uv_peer_t *peer);

/* Plan the answer with @p code to the pending request of @p peer (@p notification: to an
 * observer, which asked for no block: block 0 at most) for a representation of @p total. */
void zcoap__uv_block_plan(const zcoap_uv_peer_t *peer, uint8_t code, size_t total,
                          bool notification, zcoap__uv_answer_plan_t *out);

/* Add the plan's Block1, Block2, Size2 (@p total) and, for a 2.xx, the ETag of @p opts. */
void zcoap__uv_block_add_options(zcoap_builder_t *b, const zcoap__uv_answer_plan_t *plan,
                                 const zcoap_uv_respond_opts_t *opts, size_t total);

/* Write the plan's slice of @p body as the payload: copied, or read in place. Sets
 * @p read_failed (and returns 0) when the body's reader failed; else the builder's result. */
int zcoap__uv_block_put_payload(zcoap_builder_t *b, const zcoap__uv_answer_plan_t *plan,
                                const zcoap__uv_body_t *body, bool *read_failed);

/* Turn a begun answer into a 5.00 without options (the reader failed; RFC 7252 §5.9.3.1). */
void zcoap__uv_answer_internal_error(zcoap_builder_t *b);

/* The answer to the pending request went out with @p code: an error ends the body under way
 * (RFC 7959 §2.3); what the request asked for is forgotten. */
void zcoap__uv_block_answered(zcoap_uv_peer_t *peer, uint8_t code);

/* ---- server_echo.c: the amplification limit (RFC 9175 §2.4 item 3) -------------------------- */

/* A request arrived on @p peer: note its size and whether its answer may be replaced; an Echo
 * value it carries verifies the peer when it is the one issued to it, still fresh. */
void zcoap__uv_echo_on_request(zcoap_uv_peer_t *peer, const zcoap_msg_t *req);

/* The answer in @p b (its options all added, its payload of @p payload_len bytes still to come)
 * is about to go: when it is too large for an unverified peer, @p b becomes the 4.01 with a new
 * Echo value (or a 5.00, without random bytes) and the code sent is returned; 0 otherwise (the
 * answer goes as it is). */
uint8_t zcoap__uv_echo_challenge(zcoap_uv_peer_t *peer, zcoap_builder_t *b, size_t payload_len);

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
                                      const zcoap_uv_respond_opts_t *opts,
                                      const zcoap__uv_body_t *body);

/* An event of the peer's endpoint (ACK, RST, timeout of a notification; a request's end). */
void zcoap__uv_obs_on_event(zcoap_uv_peer_t *peer, const zcoap_event_t *ev);

/* An exchange of the peer may have ended: serve its observers owed the newest state. */
void zcoap__uv_obs_serve_pending(zcoap_uv_peer_t *peer);

#endif /* ZCOAP_UV_SERVER_INTERNAL_H */
