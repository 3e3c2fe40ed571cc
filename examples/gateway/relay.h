/*
 * A request of a gateway client waiting for the device's answer: the gateway keeps the client's
 * peer (its data pointer set, so the server does not recycle it) and the request's method,
 * Content-Format and payload, then answers with what the device said, code included. When the
 * device takes longer than the server's auto_ack_ms, the gateway's endpoint has sent the client
 * an empty ACK by then and the answer goes as a separate CON response (RFC 7252 §5.2.2).
 */
#ifndef GATEWAY_RELAY_H
#define GATEWAY_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zcoap/uv.h"

enum { RELAY_MAX_PAYLOAD = 256 };

struct relay {
    zcoap_uv_peer_t *peer;
    struct relay *next; /* in the link's queue */
    uint64_t started_ms;
    uint8_t method;
    int content_format; /* the request's, -1: none */
    size_t payload_len;
    uint8_t payload[RELAY_MAX_PAYLOAD];
};

/* Keep the request @p req of @p peer for relaying, or answer it (4.13 when its payload is too
 * large, 5.03 out of memory) and return NULL. */
struct relay *relay_new(zcoap_uv_peer_t *peer, const zcoap_msg_t *req, uint64_t now_ms);

/* Answer with the device's response @p resp (its code, Content-Format, Max-Age, payload), and
 * free @p r. Returns whether the answer went (false: the client's exchange was over). */
bool relay_answer(struct relay *r, const zcoap_msg_t *resp);

/* Answer @p code with the text @p why (and Max-Age @p max_age_s, < 0: none), and free @p r. */
void relay_fail(struct relay *r, uint8_t code, int64_t max_age_s, const char *why);

#endif /* GATEWAY_RELAY_H */
