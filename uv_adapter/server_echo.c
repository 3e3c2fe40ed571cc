/* The server's amplification limit (RFC 7252 §11.3, RFC 9175 §2.4 item 3): an answer much larger
 * than its request goes only to an address that has shown it receives what the server sends, by
 * returning an Echo value; until then the answer is a 4.01 Unauthorized carrying a new value.
 * Values are random and kept per peer with the time they were issued (RFC 9175 Appendix A,
 * method 1): 8 bytes of state per peer, nothing shared, no key to manage. */
#include <string.h>

#include "server_internal.h"

void zcoap__uv_echo_on_request(zcoap_uv_peer_t *peer, const zcoap_msg_t *req)
{
    zcoap_uv_server_t *s = peer->server;
    zcoap__uv_peer_echo_t *e = &peer->echo;
    /* Nothing to track once the address is verified, or with the limit off: the challenge is
     * never asked for then (zcoap__uv_echo_challenge() returns first). */
    if (!s->cfg.amplification_limit || e->verified)
        return;
    e->req_len = req->len > UINT32_MAX ? UINT32_MAX : (uint32_t)req->len;
    /* One walk of the options for both: a Block1 body has gone to the handler block by block,
     * and an Echo may verify the address. */
    bool block1 = false, has_echo = false;
    zcoap_opt_t opt, echo = {0, 0, NULL};
    zcoap_opt_iter_t it;
    zcoap_opt_iter_init(&it, req);
    while (zcoap_opt_iter_next(&it, &opt)) {
        if (opt.num == ZCOAP_OPT_BLOCK1)
            block1 = true;
        else if (opt.num == ZCOAP_OPT_ECHO && !has_echo) {
            echo = opt;
            has_echo = true;
        }
    }
    /* A safe method's handler has no effect to repeat (RFC 7252 §5.1): its answer may be
     * replaced; not so a Block1 body's. */
    e->limited = zcoap_method_is_safe(req->code) && !block1;
    if (!has_echo)
        return;
    /* RFC 9175 §2.2.1: the server must know the value as its own, and fresh. */
    uint64_t now = uv_now(s->loop);
    bool fresh = e->issued && now - e->issued_ms < s->cfg.echo_lifetime_ms;
    if (fresh && echo.len == sizeof(e->value) &&
        memcmp(echo.val, e->value, sizeof(e->value)) == 0) {
        e->verified = true;
        e->issued = false;
        s->stats.echo_verified++;
    } else {
        s->stats.echo_rejected++;
    }
}

/* RFC 9175 §2.4 item 3: the answer that goes instead, short: 4.01, the token, the Echo option. */
static uint8_t turn_into_challenge(zcoap_uv_peer_t *peer, zcoap_builder_t *b, uint64_t limit)
{
    zcoap__uv_peer_echo_t *e = &peer->echo;
    zcoap__uv_answer_internal_error(b); /* the handler's options and payload are gone */
    if (zcoap_uv_random(NULL, e->value, sizeof(e->value)) != 0)
        return ZCOAP_INTERNAL_SERVER_ERROR; /* no value to offer (RFC 7252 §5.9.3.1) */
    e->issued = true;
    e->issued_ms = uv_now(peer->server->loop);
    (void)zcoap_builder_set_code(b, ZCOAP_UNAUTHORIZED);
    (void)zcoap_builder_add_opt(b, ZCOAP_OPT_ECHO, e->value, sizeof(e->value));
    peer->server->stats.echo_challenges++;
    /* §2.4 item 3: piggybacked or NON, never a CON separate response, whose retransmissions
     * would amplify again. The type is the header's byte 0, bits 4-5 (RFC 7252 §3). */
    if (((b->buf[0] >> 4) & 0x03u) == ZCOAP_TYPE_CON)
        (void)zcoap_builder_set_type(b, ZCOAP_TYPE_NON);
    /* Not even the 4.01 may be larger than the limit: a bare 4-byte request (no token, no
     * option) gets it without Echo (§2.4 item 3: "an error message MAY be sent"). */
    ptrdiff_t len = zcoap_builder_finish(b);
    if (len > 0 && (uint64_t)len > limit) {
        (void)zcoap_builder_remove_opt(b, ZCOAP_OPT_ECHO);
        e->issued = false;
    }
    return ZCOAP_UNAUTHORIZED;
}

uint8_t zcoap__uv_echo_challenge(zcoap_uv_peer_t *peer, zcoap_builder_t *b, size_t payload_len)
{
    zcoap_uv_server_t *s = peer->server;
    const zcoap__uv_peer_echo_t *e = &peer->echo;
    if (!s->cfg.amplification_limit || e->verified)
        return 0;
    ptrdiff_t head = zcoap_builder_finish(b);
    if (head < 0)
        return 0; /* the builder failed: the send reports it */
    uint64_t len = (uint64_t)head + (payload_len > 0 ? 1u + (uint64_t)payload_len : 0u);
    uint64_t limit = (uint64_t)s->cfg.amplification_factor * e->req_len;
    if (len <= limit)
        return 0; /* small answers are never delayed */
    if (!e->limited) {
        s->stats.amplification_unsafe++;
        return 0;
    }
    return turn_into_challenge(peer, b, limit);
}
