/* The outgoing path: our requests and pings, retransmission with exponential back-off
 * (RFC 7252 §4.2), and matching of the answers (§4.2, §5.3.2). */
#include <string.h>

#include "endpoint_internal.h"

static void out_end(zcoap_ep_t *ep)
{
    ep->out_state = ZCOAP__OUT_IDLE;
    ep->out_pending_tx = false;
    zcoap__ep_obs_request_ended(ep); /* a registration that got no response */
}

static int begin(zcoap_ep_t *ep, uint8_t type, uint8_t method, const uint8_t *token,
                 size_t token_len, zcoap_builder_t *b)
{
    int rc = zcoap_builder_init(b, ep->cfg.req_buf, ep->cfg.msg_cap, type, method, ep->next_mid,
                                token, token_len);
    if (rc != ZCOAP_OK)
        return rc;
    if (token_len > 0) /* an empty token may come as NULL */
        memcpy(ep->out_token, token, token_len);
    ep->out_token_len = (uint8_t)token_len;
    ep->out_begun = true;
    return ZCOAP_OK;
}

static int begin_check(const zcoap_ep_t *ep, uint8_t type, uint8_t method, const zcoap_builder_t *b)
{
    if (ep == NULL || b == NULL || (type != ZCOAP_TYPE_CON && type != ZCOAP_TYPE_NON) ||
        !zcoap_code_is_request(method))
        return ZCOAP_EINVAL;
    if (ep->out_state != ZCOAP__OUT_IDLE || (ep->ntf_begun && ep->ntf_in_req_buf))
        return ZCOAP_EBUSY; /* NSTART = 1 (§4.7); or a notification is being built in req_buf */
    return ZCOAP_OK;
}

int zcoap_ep_request_begin(zcoap_ep_t *ep, uint8_t type, uint8_t method, zcoap_builder_t *b)
{
    int rc = begin_check(ep, type, method, b);
    if (rc != ZCOAP_OK)
        return rc;
    ep->out_obs = -1; /* a plain request (observe_begin marks its own afterwards) */
    ep->out_tag = 0;
    /* §5.3.1: a fresh, random token per request. */
    uint8_t token[ZCOAP_MAX_TOKEN_LEN] = {0};
    if (ep->cfg.token_len > 0) {
        rc = ep->cfg.rng(ep->cfg.rng_ctx, token, ep->cfg.token_len);
        if (rc != 0)
            return rc < 0 ? rc : ZCOAP_EINVAL;
    }
    return begin(ep, type, method, token, ep->cfg.token_len, b);
}

int zcoap_ep_request_begin_token(zcoap_ep_t *ep, uint8_t type, uint8_t method, const uint8_t *token,
                                 size_t token_len, zcoap_builder_t *b)
{
    int rc = begin_check(ep, type, method, b);
    if (rc != ZCOAP_OK)
        return rc;
    if (token_len > ZCOAP_MAX_TOKEN_LEN || (token == NULL && token_len > 0))
        return ZCOAP_EINVAL;
    ep->out_obs = -1;
    ep->out_tag = 0;
    return begin(ep, type, method, token, token_len, b);
}

/* Stamp req_buf with a fresh message ID and send it at once; a CON's back-off starts over. */
static void out_send_new_mid(zcoap_ep_t *ep, bool con, uint64_t now_ms)
{
    ep->out_mid = zcoap__ep_new_mid(ep);
    ep->cfg.req_buf[2] = (uint8_t)(ep->out_mid >> 8);
    ep->cfg.req_buf[3] = (uint8_t)ep->out_mid;
    ep->out_pending_tx = true;
    ep->out_retransmits = 0;
    if (con) {
        ep->out_timeout_ms = zcoap__ep_initial_timeout(ep);
        ep->out_deadline = now_ms + ep->out_timeout_ms;
    }
}

/* Put the message now in req_buf on its way, CON retransmitted or NON awaited. */
static void out_start(zcoap_ep_t *ep, size_t len, uint8_t type, bool ping, uint32_t response_ms,
                      uint64_t now_ms)
{
    ep->out_len = len;
    /* The ID is taken now, not at begin: a response sent in between may have used one. */
    out_send_new_mid(ep, type == ZCOAP_TYPE_CON, now_ms);
    ep->out_mid_renewed = false;
    ep->out_wrong_len = 0;
    ep->out_response_ms = response_ms != 0 ? response_ms : ep->cfg.response_timeout_ms;
    if (type == ZCOAP_TYPE_CON) {
        ep->out_state = ping ? ZCOAP__OUT_PING_SENT : ZCOAP__OUT_CON_SENT;
        zcoap__ep_event(ep, ping ? ZCOAP_EV_OUT_PING_SENT : ZCOAP_EV_OUT_CON_SENT, 0, NULL);
    } else {
        ep->out_state = ZCOAP__OUT_NON_SENT;
        ep->out_deadline = now_ms + ep->out_response_ms;
        zcoap__ep_event(ep, ZCOAP_EV_OUT_NON_SENT, 0, NULL);
    }
}

int zcoap_ep_request_send(zcoap_ep_t *ep, zcoap_builder_t *b, uint32_t response_timeout_ms,
                          uint64_t now_ms)
{
    if (ep == NULL || b == NULL)
        return ZCOAP_EINVAL;
    if (!ep->out_begun || b->buf != ep->cfg.req_buf)
        return ZCOAP_ESTATE;
    ptrdiff_t n = zcoap_builder_finish(b);
    if (n < 0)
        return (int)n; /* the request stays begun: the caller may begin again */
    ep->out_begun = false;
    out_start(ep, (size_t)n, (uint8_t)((ep->cfg.req_buf[0] >> 4) & 0x03u), false,
              response_timeout_ms, now_ms);
    return ZCOAP_OK;
}

int zcoap_ep_request_uri(zcoap_ep_t *ep, uint8_t type, uint8_t method, const char *uri,
                         const void *payload, size_t payload_len, uint64_t now_ms)
{
    zcoap_builder_t b;
    if (uri == NULL || (payload == NULL && payload_len > 0))
        return ZCOAP_EINVAL;
    int rc = zcoap_ep_request_begin(ep, type, method, &b);
    if (rc != ZCOAP_OK)
        return rc;
    (void)zcoap_builder_add_uri(&b, uri, strlen(uri), ZCOAP_URI_OPT_DEFAULT, NULL);
    (void)zcoap_builder_set_payload(&b, payload, payload_len);
    rc = zcoap_ep_request_send(ep, &b, 0, now_ms); /* reports the first (sticky) error */
    if (rc != ZCOAP_OK)
        ep->out_begun = false;
    return rc;
}

int zcoap_ep_ping(zcoap_ep_t *ep, uint64_t now_ms)
{
    if (ep == NULL)
        return ZCOAP_EINVAL;
    if (ep->out_state != ZCOAP__OUT_IDLE)
        return ZCOAP_EBUSY;
    ep->out_begun = false;
    ptrdiff_t n = zcoap_build_empty(ep->cfg.req_buf, ep->cfg.msg_cap, ZCOAP_TYPE_CON, ep->next_mid);
    if (n < 0)
        return (int)n;
    ep->out_token_len = 0;
    out_start(ep, (size_t)n, ZCOAP_TYPE_CON, true, 0, now_ms);
    return ZCOAP_OK;
}

int zcoap_ep_cancel(zcoap_ep_t *ep)
{
    if (ep == NULL)
        return ZCOAP_EINVAL;
    ep->out_begun = false;
    out_end(ep);
    return ZCOAP_OK;
}

static bool token_matches(const zcoap_ep_t *ep, const zcoap_msg_t *msg)
{
    return msg->token_len == ep->out_token_len &&
           memcmp(msg->token, ep->out_token, ep->out_token_len) == 0;
}

/* The response to our request arrived (piggybacked, separate or NON). */
static void take_response(zcoap_ep_t *ep, const zcoap_msg_t *msg, uint64_t now_ms)
{
    if (msg->type == ZCOAP_TYPE_CON) {
        /* §5.2.2: acknowledge a separate CON response, and again for its duplicates, for as
         * long as the peer may retransmit it. */
        zcoap__ep_control(ep, ZCOAP_TYPE_ACK, msg->mid);
        ep->out_last_resp_mid = msg->mid;
        ep->out_last_resp_expires = now_ms + zcoap_tx_exchange_lifetime_ms(&ep->cfg.tx);
    }
    zcoap__ep_obs_response(ep, msg, now_ms);
    out_end(ep);
    zcoap__ep_event(ep, ZCOAP_EV_OUT_RESPONSE, 0, msg);
}

/* A piggybacked response with our message ID but another token is no answer to our request
 * (§5.3.2: both must match). Either it was damaged on the way (UDP's checksum is weak or off),
 * and our next retransmission, same MID, gets the server's stored answer again, intact; or it is
 * the answer a server's de-duplication kept for an older request that had this message ID (ours
 * before a restart, or another process's on the same port, §4.5), which then comes back the same
 * for every retransmission, and our request was never executed. So the first is ignored like a
 * forged one, and when the same wrong token comes back for the same MID the request goes again
 * at once under a fresh message ID, its schedule restarted (once per request). Re-sending at the
 * first would run a damaged POST twice; waiting for a separate response, as zcoap once did,
 * waited EXCHANGE_LIFETIME (247 s) for nothing. */
static void wrong_token(zcoap_ep_t *ep, const zcoap_msg_t *msg, uint64_t now_ms)
{
    bool again = ep->out_wrong_len == msg->token_len + 1u &&
                 memcmp(ep->out_wrong_token, msg->token, msg->token_len) == 0;
    if (again && !ep->out_mid_renewed) {
        ep->out_mid_renewed = true;
        out_send_new_mid(ep, true, now_ms);
    } else if (!again) {
        ep->out_wrong_len = (uint8_t)(msg->token_len + 1u);
        memcpy(ep->out_wrong_token, msg->token, msg->token_len);
    }
    zcoap__ep_event(ep, ZCOAP_EV_OUT_WRONG_TOKEN, 0, msg);
}

int zcoap_ep_peer_unreachable(zcoap_ep_t *ep, uint64_t now_ms)
{
    (void)now_ms;
    if (ep == NULL)
        return ZCOAP_EINVAL;
    /* Only an exchange that sent something can be what the error answers. */
    bool sent =
        ep->out_state != ZCOAP__OUT_IDLE && !(ep->out_pending_tx && ep->out_retransmits == 0);
    if (!sent)
        return 0;
    out_end(ep);
    zcoap__ep_event(ep, ZCOAP_EV_OUT_TIMEOUT, ZCOAP_EUNREACHABLE, NULL);
    return 1;
}

bool zcoap__ep_out_receive(zcoap_ep_t *ep, const zcoap_msg_t *msg, uint64_t now_ms)
{
    uint8_t st = ep->out_state;
    bool acked_state = st == ZCOAP__OUT_CON_SENT || st == ZCOAP__OUT_PING_SENT;

    if (msg->type == ZCOAP_TYPE_ACK || msg->type == ZCOAP_TYPE_RST) {
        /* §4.2/§4.3: an ACK answers our CON; a RST may reject any message of ours, a NON
         * request included. */
        bool rst = msg->type == ZCOAP_TYPE_RST;
        if (msg->mid != ep->out_mid || st == ZCOAP__OUT_IDLE || (!rst && !acked_state))
            return false;
        if (rst) {
            out_end(ep);
            zcoap__ep_event(ep, st == ZCOAP__OUT_PING_SENT ? ZCOAP_EV_OUT_PONG : ZCOAP_EV_OUT_RESET,
                            0, msg);
            return true;
        }
        if (st == ZCOAP__OUT_PING_SENT) { /* an ACK to a ping still proves the peer is there */
            out_end(ep);
            zcoap__ep_event(ep, ZCOAP_EV_OUT_PONG, 0, msg);
            return true;
        }
        if (msg->code != ZCOAP_CODE_EMPTY && token_matches(ep, msg)) {
            take_response(ep, msg, now_ms); /* piggybacked (§5.2.1) */
            return true;
        }
        if (msg->code != ZCOAP_CODE_EMPTY) {
            wrong_token(ep, msg, now_ms);
            return true;
        }
        /* An empty ACK: the request was received, so stop retransmitting and wait for the
         * separate response (§5.2.2). */
        ep->out_state = ZCOAP__OUT_AWAIT_SEPARATE;
        ep->out_pending_tx = false;
        ep->out_deadline = now_ms + ep->out_response_ms;
        zcoap__ep_event(ep, ZCOAP_EV_OUT_EMPTY_ACK, 0, msg);
        return true;
    }

    /* A CON or NON response. */
    bool waiting =
        st == ZCOAP__OUT_CON_SENT || st == ZCOAP__OUT_AWAIT_SEPARATE || st == ZCOAP__OUT_NON_SENT;
    if (waiting && token_matches(ep, msg)) {
        /* A separate response may overtake the empty ACK (§5.2.2): it answers the request. */
        take_response(ep, msg, now_ms);
        return true;
    }
    if (msg->type == ZCOAP_TYPE_CON && ep->out_last_resp_expires != 0 &&
        msg->mid == ep->out_last_resp_mid) {
        zcoap__ep_control(ep, ZCOAP_TYPE_ACK, msg->mid); /* §4.5: ACK every copy */
        zcoap__ep_event(ep, ZCOAP_EV_OUT_DUPLICATE_RESPONSE, 0, msg);
        return true;
    }
    return zcoap__ep_obs_receive(ep, msg, now_ms);
}

void zcoap__ep_out_timers(zcoap_ep_t *ep, uint64_t now_ms)
{
    if (ep->out_last_resp_expires != 0 && now_ms >= ep->out_last_resp_expires)
        ep->out_last_resp_expires = 0;
    while (ep->out_state != ZCOAP__OUT_IDLE && now_ms >= ep->out_deadline) {
        bool retransmitting =
            ep->out_state == ZCOAP__OUT_CON_SENT || ep->out_state == ZCOAP__OUT_PING_SENT;
        if (retransmitting && ep->out_retransmits < ep->cfg.tx.max_retransmit) {
            /* §4.2: the timeout doubles with each retransmission; instants count from the
             * schedule, not from a late call. */
            ep->out_retransmits++;
            ep->out_timeout_ms *= 2u;
            ep->out_deadline += ep->out_timeout_ms;
            ep->out_pending_tx = true;
            continue;
        }
        out_end(ep);
        zcoap__ep_event(ep, ZCOAP_EV_OUT_TIMEOUT, 0, NULL);
    }
}
