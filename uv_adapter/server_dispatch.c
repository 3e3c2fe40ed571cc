/* Requests to the server: dispatch through the resource table to the handlers, the listing of
 * /.well-known/core generated from the table (RFC 6690), and the answers a handler gives
 * (respond, ack), which for a handler called with req NULL are an observer's notification.
 * Block-wise slicing of the answers and the check of Block1 blocks are in server_block.c. */
#include "server_internal.h"

/* Content-Format and Max-Age of an answer or a notification. */
void zcoap__uv_add_respond_opts(zcoap_builder_t *b, const zcoap_uv_respond_opts_t *opts)
{
    if (opts == NULL)
        return;
    if (opts->content_format >= 0)
        (void)zcoap_builder_add_uint(b, ZCOAP_OPT_CONTENT_FORMAT, (uint32_t)opts->content_format);
    if (opts->max_age_s >= 0)
        (void)zcoap_builder_add_uint(b, ZCOAP_OPT_MAX_AGE, (uint32_t)opts->max_age_s);
}

/* A handler is answering with req NULL for an observer on @p peer: its answer is that
 * observer's notification, whatever else the peer has pending. */
static bool notifying(const zcoap_uv_peer_t *peer)
{
    return peer->server->ntf_peer == peer;
}

/* Options an application gives are checked before anything is begun. */
static bool opts_valid(const zcoap_uv_respond_opts_t *opts)
{
    return opts == NULL ||
           (opts->max_age_s <= (int64_t)UINT32_MAX && opts->etag_len <= 8u /* RFC 7252 §5.10.6 */ &&
            (opts->etag != NULL || opts->etag_len == 0));
}

int zcoap__uv_respond(zcoap_uv_peer_t *peer, uint8_t code, const zcoap_uv_respond_opts_t *opts,
                      const zcoap__uv_body_t *body, int64_t size1)
{
    zcoap_builder_t b;
    if (peer == NULL || !peer->in_use || !opts_valid(opts) ||
        (body->data == NULL && body->read == NULL && body->total > 0))
        return ZCOAP_EINVAL;
    zcoap_uv_server_t *s = peer->server;
    if (s->closing || s->hook.running)
        return ZCOAP_ESTATE;
    if (notifying(peer))
        return zcoap__uv_obs_answer_notification(s, code, opts, body);
    zcoap__uv_answer_plan_t plan;
    zcoap__uv_block_plan(peer, code, body->total, false, &plan);
    /* A NON request gets a NON response, a CON one a piggybacked or CON separate response. */
    bool confirmable = zcoap_ep_request_type(&peer->ep) == ZCOAP_TYPE_CON;
    int rc = zcoap_ep_response_begin(&peer->ep, plan.code, confirmable, &b);
    if (rc != ZCOAP_OK)
        return rc;
    bool past_end = plan.code != code; /* RFC 7959: a Block2 past the end, answered 4.02 */
    if (!past_end)
        zcoap__uv_add_respond_opts(&b, opts);
    zcoap__uv_block_add_options(&b, &plan, opts, body->total);
    if (size1 >= 0)
        (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_SIZE1, (uint32_t)size1);
    /* RFC 7641 §4.1: only a successful answer to a registration carries Observe (and keeps the
     * observer); any other answer serves it as a plain GET. */
    bool observe = (plan.code >> 5) == 2u && zcoap__uv_obs_add_observe(peer, &b);
    bool read_failed = false;
    static const char diagnostic[] = "no such block";
    /* RFC 9175 §2.4 item 3: too large for an address not shown yet: a 4.01 with Echo instead. */
    uint8_t challenge =
        zcoap__uv_echo_challenge(peer, &b, past_end ? sizeof(diagnostic) - 1u : plan.len);
    if (challenge != 0) {
        plan.code = challenge;
        observe = false;
    } else if (past_end) {
        (void)zcoap_builder_set_payload(&b, diagnostic, sizeof(diagnostic) - 1u);
        s->stats.block_bad++;
    } else {
        (void)zcoap__uv_block_put_payload(&b, &plan, body, &read_failed);
    }
    if (read_failed) {
        zcoap__uv_answer_internal_error(&b);
        plan.code = ZCOAP_INTERNAL_SERVER_ERROR;
        observe = false;
    }
    rc = zcoap_ep_response_send(&peer->ep, &b, uv_now(s->loop));
    if (rc == ZCOAP_OK) {
        zcoap__uv_obs_answered(peer, observe);
        zcoap__uv_block_answered(peer, plan.code);
        zcoap__uv_peer_flush(peer);
    }
    return rc;
}

int zcoap_uv_peer_respond_opts(zcoap_uv_peer_t *peer, uint8_t code,
                               const zcoap_uv_respond_opts_t *opts, const void *payload,
                               size_t payload_len)
{
    const zcoap__uv_body_t body = {.data = payload, .total = payload_len, .read = NULL};
    return zcoap__uv_respond(peer, code, opts, &body, -1);
}

int zcoap_uv_peer_respond_reader(zcoap_uv_peer_t *peer, uint8_t code,
                                 const zcoap_uv_respond_opts_t *opts, size_t total,
                                 zcoap_uv_slice_fn read, void *ctx)
{
    if (read == NULL)
        return ZCOAP_EINVAL;
    const zcoap__uv_body_t body = {.data = NULL, .total = total, .read = read, .ctx = ctx};
    return zcoap__uv_respond(peer, code, opts, &body, -1);
}

int zcoap_uv_peer_respond(zcoap_uv_peer_t *peer, uint8_t code, int content_format,
                          const void *payload, size_t payload_len)
{
    const zcoap_uv_respond_opts_t opts = {.content_format = content_format, .max_age_s = -1};
    return zcoap_uv_peer_respond_opts(peer, code, &opts, payload, payload_len);
}

int zcoap_uv_peer_ack(zcoap_uv_peer_t *peer)
{
    if (peer == NULL || !peer->in_use)
        return ZCOAP_EINVAL;
    if (peer->server->closing || peer->server->hook.running || notifying(peer))
        return ZCOAP_ESTATE;
    int rc = zcoap_ep_respond_ack(&peer->ep, uv_now(peer->server->loop));
    if (rc == ZCOAP_OK) {
        zcoap__uv_block_held(peer); /* the handler answers later: no automatic 2.31 */
        zcoap__uv_peer_flush(peer);
    }
    return rc;
}

/* RFC 6690 §4: the listing generated from the table, filtered by the request's query. */
static void answer_well_known(zcoap_uv_peer_t *peer, const zcoap_msg_t *req)
{
    zcoap_uv_server_t *s = peer->server;
    if (req->code != ZCOAP_GET) {
        (void)zcoap_uv_peer_respond(peer, ZCOAP_METHOD_NOT_ALLOWED, -1, NULL, 0);
        return;
    }
    ptrdiff_t n = zcoap_resource_link_format(s->cfg.resources, s->cfg.n_resources, req,
                                             s->wellknown, sizeof(s->wellknown));
    if (n < 0) /* larger than one message: Block2 paging comes with issue 6 */
        (void)zcoap_uv_peer_respond(peer, ZCOAP_INTERNAL_SERVER_ERROR, -1, NULL, 0);
    else
        (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_LINK_FORMAT, s->wellknown,
                                    (size_t)n);
}

void zcoap__uv_dispatch(zcoap_uv_peer_t *peer, const zcoap_msg_t *req)
{
    zcoap_uv_server_t *s = peer->server;
    zcoap__uv_echo_on_request(peer, req);
    /* The table first (it may hold its own /.well-known/core); the listing only for a miss, so
     * the common request pays for one walk of its options. */
    const zcoap_resource_t *res = NULL;
    uint8_t code = zcoap_resource_dispatch(s->cfg.resources, s->cfg.n_resources, req, &res);
    zcoap__uv_obs_on_request(peer, res, code, req);
    /* RFC 7959: a Block1 block out of sequence, too large or malformed is answered here. */
    bool handled = code == 0 && res->handler != NULL;
    if (!zcoap__uv_block_on_request(peer, handled ? res : NULL, req))
        return;
    if (code == ZCOAP_NOT_FOUND && zcoap_path_matches(req, ".well-known/core")) {
        answer_well_known(peer, req);
        return;
    }
    if (code != 0) {
        (void)zcoap_uv_peer_respond(peer, code, -1, NULL, 0); /* 4.04 or 4.05 */
        return;
    }
    zcoap_uv_handler_fn handler = (zcoap_uv_handler_fn)(uintptr_t)res->handler;
    if (handler == NULL) {
        (void)zcoap_uv_peer_respond(peer, ZCOAP_NOT_IMPLEMENTED, -1, NULL, 0);
        return;
    }
    handler(s, peer, res, req);
    zcoap__uv_block_after_handler(peer);
}
