/* The endpoint's shared machinery: set-up, the receive dispatch of RFC 7252 §4, timers, and the
 * queues of events and outgoing datagrams. The two paths live in ep_out.c and ep_in.c. */
#include <string.h>

#include "endpoint_internal.h"

static bool config_ok(const zcoap_ep_config_t *c)
{
    return c->rng != NULL && c->req_buf != NULL &&
           (c->resp_store != NULL || c->resp_store_lend != NULL) && c->dedup != NULL &&
           c->resp_slots >= 1 && c->resp_slots <= 127 && c->dedup_cap >= 1 && c->dedup_cap <= 127 &&
           c->msg_cap >= 16 && c->msg_cap <= 0xFFFFu && c->token_len <= ZCOAP_MAX_TOKEN_LEN &&
           c->tx.ack_timeout_ms >= 1 && c->tx.ack_random_factor_permil >= 1000 &&
           c->tx.max_retransmit <= 10 && (c->observations != NULL || c->observations_cap == 0) &&
           c->observations_cap <= 127;
}

int zcoap_ep_init(zcoap_ep_t *ep, const zcoap_ep_config_t *cfg, uint64_t now_ms)
{
    if (ep == NULL || cfg == NULL || !config_ok(cfg))
        return ZCOAP_EINVAL;
    void *data = ep->data;
    memset(ep, 0, sizeof(*ep));
    ep->data = data;
    ep->cfg = *cfg;
    if (ep->cfg.response_timeout_ms == 0) {
        uint64_t lifetime = zcoap_tx_exchange_lifetime_ms(&ep->cfg.tx);
        ep->cfg.response_timeout_ms = lifetime > UINT32_MAX ? UINT32_MAX : (uint32_t)lifetime;
    }
    /* RFC 7252 §4.4: start message IDs at a random value. */
    uint8_t r[2];
    int rc = ep->cfg.rng(ep->cfg.rng_ctx, r, sizeof(r));
    if (rc != 0)
        return rc < 0 ? rc : ZCOAP_EINVAL;
    ep->next_mid = (uint16_t)((r[0] << 8) | r[1]);
    zcoap_ep_reset(ep, now_ms);
    return ZCOAP_OK;
}

void zcoap_ep_reset(zcoap_ep_t *ep, uint64_t now_ms)
{
    (void)now_ms;
    if (ep == NULL)
        return;
    ep->out_state = ZCOAP__OUT_IDLE;
    ep->out_pending_tx = false;
    ep->out_begun = false;
    ep->out_last_resp_expires = 0;
    ep->in_state = ZCOAP__IN_IDLE;
    ep->in_pending_tx = false;
    ep->con_active = false;
    ep->con_pending_tx = false;
    ep->busy_len = 0;
    zcoap__ep_obs_reset(ep);
    ep->ntf_pending_tx = false;
    ep->ntf_begun = false;
    memset(ep->ntf_sent, 0, sizeof(ep->ntf_sent));
    ep->in_dedup = -1;
    ep->dup_slot = -1;
    ep->control_len = 0;
    ep->ev_head = ep->ev_len = 0;
    /* Message IDs keep counting up: a reset endpoint must not reuse one (§4.4). */
    memset(ep->cfg.dedup, 0, ep->cfg.dedup_cap * sizeof(ep->cfg.dedup[0]));
    ep->dedup_expiry = ZCOAP_NEVER;
    for (size_t i = 0; i < ep->cfg.dedup_cap; i++)
        ep->cfg.dedup[i].resp_slot = -1;
}

void zcoap__ep_event(zcoap_ep_t *ep, zcoap_event_kind_t kind, int err, const zcoap_msg_t *msg)
{
    if (ep->ev_len == ZCOAP_EP_EVENT_QUEUE) {
        ep->events_dropped++; /* cannot happen with the driver loop draining process() */
        return;
    }
    zcoap__ep_event_t *ev = &ep->events[(ep->ev_head + ep->ev_len) % ZCOAP_EP_EVENT_QUEUE];
    ep->ev_len++;
    ev->kind = (uint8_t)kind;
    ev->err = (int16_t)err; /* 0 or ZCOAP_EMSG_* */
    ev->has_msg = msg != NULL;
    /* The outgoing path's events carry the tag of an observation's request. */
    ev->tag =
        kind >= ZCOAP_EV_OUT_CON_SENT && kind <= ZCOAP_EV_OUT_DUPLICATE_RESPONSE ? ep->out_tag : 0u;
    if (msg != NULL)
        ep->ev_msg = *msg; /* every message of one receive is the same datagram */
}

void zcoap__ep_event_tag(zcoap_ep_t *ep, zcoap_event_kind_t kind, uint32_t tag)
{
    zcoap__ep_event_msg_tag(ep, kind, NULL, tag);
}

void zcoap__ep_event_msg_tag(zcoap_ep_t *ep, zcoap_event_kind_t kind, const zcoap_msg_t *msg,
                             uint32_t tag)
{
    uint8_t before = ep->ev_len;
    zcoap__ep_event(ep, kind, 0, msg);
    if (ep->ev_len != before)
        ep->events[(ep->ev_head + ep->ev_len - 1u) % ZCOAP_EP_EVENT_QUEUE].tag = tag;
}

/* Events still queued from an earlier datagram lose their view: it is the new one's now (the
 * driver loop drains process() after each receive, so this only guards misuse). */
static void forget_old_views(zcoap_ep_t *ep)
{
    for (uint8_t i = 0; i < ep->ev_len; i++)
        ep->events[(ep->ev_head + i) % ZCOAP_EP_EVENT_QUEUE].has_msg = false;
}

void zcoap__ep_control(zcoap_ep_t *ep, uint8_t type, uint16_t mid)
{
    if (ep->control_len == ZCOAP_EP_CONTROL_QUEUE) {
        /* Drop the oldest: the peer's retransmission asks again (§4.2). */
        memmove(&ep->control[0], &ep->control[1],
                sizeof(ep->control[0]) * (ZCOAP_EP_CONTROL_QUEUE - 1));
        ep->control_len--;
    }
    ep->control[ep->control_len].type = type;
    ep->control[ep->control_len].mid = mid;
    ep->control_len++;
}

uint16_t zcoap__ep_new_mid(zcoap_ep_t *ep)
{
    return ep->next_mid++;
}

uint64_t zcoap__ep_initial_timeout(zcoap_ep_t *ep)
{
    const zcoap_tx_params_t *tx = &ep->cfg.tx;
    uint32_t spread =
        (uint32_t)((uint64_t)tx->ack_timeout_ms * (tx->ack_random_factor_permil - 1000u) / 1000u);
    uint8_t r[4] = {0, 0, 0, 0};
    (void)ep->cfg.rng(ep->cfg.rng_ctx, r, sizeof(r)); /* on failure: the shortest timeout */
    uint32_t v = ((uint32_t)r[0] << 24) | ((uint32_t)r[1] << 16) | ((uint32_t)r[2] << 8) | r[3];
    return (uint64_t)tx->ack_timeout_ms + (spread == 0 ? 0u : v % ((uint64_t)spread + 1u));
}

bool zcoap__ep_have_store(zcoap_ep_t *ep)
{
    if (ep->cfg.resp_store == NULL && ep->cfg.resp_store_lend != NULL)
        ep->cfg.resp_store =
            ep->cfg.resp_store_lend(ep->cfg.resp_store_ctx, ep->cfg.resp_slots * ep->cfg.msg_cap);
    return ep->cfg.resp_store != NULL;
}

uint8_t *zcoap__ep_slot(const zcoap_ep_t *ep, size_t slot)
{
    return ep->cfg.resp_store + slot * ep->cfg.msg_cap;
}

/* RFC 7252 §4.2, §4.3: what a message that fails the rules may be answered with. */
static void format_error(zcoap_ep_t *ep, const zcoap_msg_t *msg, int err, bool header_ok)
{
    /* A malformed CON is rejected with RST (§4.2); anything else, and a wrong version (§3),
     * is ignored silently. */
    if (header_ok && err != ZCOAP_EMSG_VERSION && msg->type == ZCOAP_TYPE_CON)
        zcoap__ep_control(ep, ZCOAP_TYPE_RST, msg->mid);
    zcoap__ep_event(ep, ZCOAP_EV_FORMAT_ERROR, err, NULL);
}

int zcoap_ep_receive(zcoap_ep_t *ep, const uint8_t *dgram, size_t len, uint64_t now_ms)
{
    zcoap_msg_t msg;
    if (ep == NULL || (dgram == NULL && len > 0))
        return ZCOAP_EINVAL;
    forget_old_views(ep);
    int rc = zcoap_msg_parse(&msg, dgram, len);
    if (rc != ZCOAP_OK) {
        format_error(ep, &msg, rc, len >= 4);
        return ZCOAP_OK;
    }
    bool empty = msg.code == ZCOAP_CODE_EMPTY;
    bool request = zcoap_code_is_request(msg.code);
    /* §4.3: a NON is never Empty; §4.2: an ACK carries a response or nothing; §4.2: a RST is
     * Empty. Those are message format errors, answered with silence (none is a CON). */
    if ((msg.type == ZCOAP_TYPE_NON && empty) || (msg.type == ZCOAP_TYPE_ACK && request) ||
        (msg.type == ZCOAP_TYPE_RST && !empty)) {
        format_error(ep, &msg, ZCOAP_EMSG_EMPTY_NOT_EMPTY, true);
        return ZCOAP_OK;
    }

    switch (msg.type) {
    case ZCOAP_TYPE_ACK:
    case ZCOAP_TYPE_RST:
        /* §4.2: matched by message ID to our request or our CON response; else ignored. */
        if (!zcoap__ep_out_receive(ep, &msg, now_ms))
            (void)zcoap__ep_in_receive_ack(ep, &msg, now_ms);
        return ZCOAP_OK;
    default: /* CON or NON */
        if (empty) {
            /* §4.3: an Empty CON is a ping, answered with RST. */
            zcoap__ep_control(ep, ZCOAP_TYPE_RST, msg.mid);
            zcoap__ep_event(ep, ZCOAP_EV_PING_ANSWERED, 0, &msg);
        } else if (request) {
            zcoap__ep_in_receive_request(ep, &msg, len, now_ms);
        } else if (!zcoap__ep_out_receive(ep, &msg, now_ms)) {
            /* A response to nothing of ours: reject it (§4.2, §4.3). */
            zcoap__ep_control(ep, ZCOAP_TYPE_RST, msg.mid);
            zcoap__ep_event(ep, ZCOAP_EV_UNHANDLED, 0, &msg);
        }
        return ZCOAP_OK;
    }
}

int zcoap_ep_process(zcoap_ep_t *ep, uint64_t now_ms, zcoap_event_t *ev)
{
    if (ep == NULL || ev == NULL)
        return ZCOAP_EINVAL;
    zcoap__ep_out_timers(ep, now_ms);
    zcoap__ep_in_timers(ep, now_ms);
    zcoap__ep_obs_timers(ep, now_ms);
    if (ep->ev_len == 0) {
        memset(ev, 0, sizeof(*ev));
        return 0;
    }
    const zcoap__ep_event_t *e = &ep->events[ep->ev_head];
    memset(ev, 0, sizeof(*ev));
    ev->kind = (zcoap_event_kind_t)e->kind;
    ev->err = e->err;
    ev->has_msg = e->has_msg;
    ev->tag = e->tag;
    if (e->has_msg)
        ev->msg = ep->ev_msg;
    ep->ev_head = (uint8_t)((ep->ev_head + 1u) % ZCOAP_EP_EVENT_QUEUE);
    ep->ev_len--;
    return 1;
}

ptrdiff_t zcoap_ep_next_datagram(zcoap_ep_t *ep, uint64_t now_ms, const uint8_t **out)
{
    (void)now_ms;
    if (ep == NULL || out == NULL)
        return ZCOAP_EINVAL;
    *out = NULL;
    if (ep->control_len > 0) {
        zcoap__ep_control_t c = ep->control[0];
        memmove(&ep->control[0], &ep->control[1], sizeof(ep->control[0]) * (ep->control_len - 1u));
        ep->control_len--;
        *out = ep->control_buf;
        return zcoap_build_empty(ep->control_buf, sizeof(ep->control_buf), c.type, c.mid);
    }
    if (ep->dup_slot >= 0) {
        *out = zcoap__ep_slot(ep, (size_t)ep->dup_slot);
        ep->dup_slot = -1;
        return (ptrdiff_t)ep->dup_len;
    }
    if (ep->busy_len > 0) {
        ptrdiff_t n = ep->busy_len;
        ep->busy_len = 0;
        *out = ep->busy_buf;
        return n;
    }
    if (ep->in_pending_tx) {
        ep->in_pending_tx = false;
        *out = zcoap__ep_slot(ep, ep->in_slot);
        return (ptrdiff_t)ep->in_len;
    }
    if (ep->ntf_pending_tx) {
        ep->ntf_pending_tx = false;
        *out = zcoap__ep_slot(ep, ep->ntf_slot);
        return (ptrdiff_t)ep->ntf_len;
    }
    if (ep->con_pending_tx) {
        ep->con_pending_tx = false;
        ep->con_sent = true;
        *out = zcoap__ep_slot(ep, ep->con_slot);
        return (ptrdiff_t)ep->con_len;
    }
    if (ep->out_pending_tx) {
        ep->out_pending_tx = false;
        *out = ep->cfg.req_buf;
        return (ptrdiff_t)ep->out_len;
    }
    return 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

uint64_t zcoap_ep_next_deadline(const zcoap_ep_t *ep)
{
    if (ep == NULL)
        return ZCOAP_NEVER;
    uint64_t d = ZCOAP_NEVER;
    if (ep->ev_len > 0 || ep->control_len > 0 || ep->in_pending_tx || ep->con_pending_tx ||
        ep->busy_len > 0 || ep->ntf_pending_tx || ep->out_pending_tx || ep->dup_slot >= 0)
        d = 0; /* work is queued: call process (and pull datagrams) now */
    if (ep->out_state != ZCOAP__OUT_IDLE)
        d = min_u64(d, ep->out_deadline);
    if (ep->in_state == ZCOAP__IN_RECEIVED || ep->in_state == ZCOAP__IN_ACKED)
        d = min_u64(d, ep->in_deadline);
    if (ep->con_active)
        d = min_u64(d, ep->con_deadline);
    if (ep->out_last_resp_expires != 0)
        d = min_u64(d, ep->out_last_resp_expires);
    d = min_u64(d, zcoap__ep_obs_deadline(ep));
    return min_u64(d, zcoap__ep_dedup_deadline(ep));
}

bool zcoap_ep_is_idle(const zcoap_ep_t *ep)
{
    /* De-duplication windows and the memory of the last CON response do not count: they hold
     * no exchange, only answers for copies that may still arrive. */
    return ep != NULL && ep->out_state == ZCOAP__OUT_IDLE && !ep->out_begun &&
           ep->in_state == ZCOAP__IN_IDLE && !ep->con_active && ep->ev_len == 0 &&
           ep->control_len == 0 && !ep->in_pending_tx && !ep->con_pending_tx && ep->busy_len == 0 &&
           !ep->ntf_pending_tx && !ep->ntf_begun && !ep->out_pending_tx && ep->dup_slot < 0;
}
