/* A request waiting for the device's answer (relay.h). */
#define _POSIX_C_SOURCE 200809L

#include "relay.h"

#include <stdlib.h>
#include <string.h>

struct relay *relay_new(zcoap_uv_peer_t *peer, const zcoap_msg_t *req, uint64_t now_ms)
{
    if (req->payload_len > RELAY_MAX_PAYLOAD) {
        (void)zcoap_uv_peer_respond(peer, ZCOAP_REQUEST_ENTITY_TOO_LARGE, -1, NULL, 0);
        return NULL;
    }
    struct relay *r = malloc(sizeof(*r));
    if (r == NULL) {
        (void)zcoap_uv_peer_respond(peer, ZCOAP_SERVICE_UNAVAILABLE, -1, NULL, 0);
        return NULL;
    }
    uint32_t cf = 0;
    r->peer = peer;
    r->next = NULL;
    r->started_ms = now_ms;
    r->method = req->code;
    r->content_format =
        zcoap_msg_get_uint(req, ZCOAP_OPT_CONTENT_FORMAT, &cf) == ZCOAP_OK ? (int)cf : -1;
    r->payload_len = req->payload_len;
    if (req->payload_len > 0)
        memcpy(r->payload, req->payload, req->payload_len);
    peer->data = r; /* an answer is owed: the server keeps the peer */
    return r;
}

bool relay_answer(struct relay *r, const zcoap_msg_t *resp)
{
    uint32_t cf = 0, max_age = 0;
    zcoap_uv_respond_opts_t opts = {.content_format = -1, .max_age_s = -1};
    if (zcoap_msg_get_uint(resp, ZCOAP_OPT_CONTENT_FORMAT, &cf) == ZCOAP_OK)
        opts.content_format = (int)cf;
    if (zcoap_msg_get_uint(resp, ZCOAP_OPT_MAX_AGE, &max_age) == ZCOAP_OK)
        opts.max_age_s = max_age;
    r->peer->data = NULL; /* first: the answer's flush may recycle the peer */
    int rc =
        zcoap_uv_peer_respond_opts(r->peer, resp->code, &opts, resp->payload, resp->payload_len);
    free(r);
    return rc == 0;
}

void relay_fail(struct relay *r, uint8_t code, int64_t max_age_s, const char *why)
{
    /* A diagnostic payload carries no Content-Format (RFC 7252 §5.5.2). */
    const zcoap_uv_respond_opts_t opts = {.content_format = -1, .max_age_s = max_age_s};
    r->peer->data = NULL;
    (void)zcoap_uv_peer_respond_opts(r->peer, code, &opts, why, strlen(why));
    free(r);
}
