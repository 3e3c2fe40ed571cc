/* The client's observations (RFC 7641): registering through the outgoing path, notifications
 * matched by token while other requests come and go, the freshness rule of §3.4, Max-Age
 * renewal, cancelling. */
#include <string.h>

#include "endpoint_internal.h"
#include "zcoap/observe.h"

enum { OBS_FREE, OBS_REGISTERING, OBS_ESTABLISHED };

/* RFC 7252 §5.10.5: Max-Age defaults to 60 seconds. */
#define DEFAULT_MAX_AGE_S 60u

static zcoap_ep_observation_t *by_tag(const zcoap_ep_t *ep, uint32_t tag)
{
    for (size_t i = 0; i < ep->cfg.observations_cap; i++) {
        zcoap_ep_observation_t *o = &ep->cfg.observations[i];
        if (o->state != OBS_FREE && o->tag == tag)
            return o;
    }
    return NULL;
}

static zcoap_ep_observation_t *by_token(const zcoap_ep_t *ep, const zcoap_msg_t *msg)
{
    for (size_t i = 0; i < ep->cfg.observations_cap; i++) {
        zcoap_ep_observation_t *o = &ep->cfg.observations[i];
        if (o->state == OBS_ESTABLISHED && o->token_len == msg->token_len &&
            memcmp(o->token, msg->token, msg->token_len) == 0)
            return o;
    }
    return NULL;
}

static void forget(zcoap_ep_observation_t *o)
{
    memset(o, 0, sizeof(*o));
}

void zcoap__ep_obs_reset(zcoap_ep_t *ep)
{
    for (size_t i = 0; i < ep->cfg.observations_cap; i++)
        forget(&ep->cfg.observations[i]);
    ep->out_obs = -1;
    ep->out_tag = 0;
}

int zcoap_ep_observe_begin(zcoap_ep_t *ep, uint8_t method, uint32_t tag, zcoap_builder_t *b)
{
    if (ep == NULL || b == NULL || (method != ZCOAP_GET && method != ZCOAP_FETCH))
        return ZCOAP_EINVAL;
    if (ep->out_state != ZCOAP__OUT_IDLE)
        return ZCOAP_EBUSY; /* NSTART = 1 (RFC 7252 §4.7) */
    zcoap_ep_observation_t *o = by_tag(ep, tag);
    bool renewal = o != NULL && o->state == OBS_ESTABLISHED;
    if (o == NULL) {
        for (size_t i = 0; i < ep->cfg.observations_cap && o == NULL; i++) {
            if (ep->cfg.observations[i].state == OBS_FREE)
                o = &ep->cfg.observations[i];
        }
        if (o == NULL)
            return ZCOAP_ENOSPC;
    }
    int rc;
    if (renewal) {
        /* §3.3.1: the same token, so the server updates its entry rather than adding one. */
        rc = zcoap_ep_request_begin_token(ep, ZCOAP_TYPE_CON, method, o->token, o->token_len, b);
    } else {
        rc = zcoap_ep_request_begin(ep, ZCOAP_TYPE_CON, method, b);
    }
    if (rc == ZCOAP_OK)
        rc = zcoap_builder_add_uint(b, ZCOAP_OPT_OBSERVE, ZCOAP_OBS_REGISTER);
    if (rc != ZCOAP_OK) {
        ep->out_begun = false;
        return rc;
    }
    if (!renewal) {
        forget(o);
        o->state = OBS_REGISTERING;
        o->tag = tag;
        o->token_len = ep->out_token_len;
        memcpy(o->token, ep->out_token, ep->out_token_len);
        o->renew_ms = ZCOAP_NEVER;
    }
    o->method = method;
    ep->out_obs = (int8_t)(o - ep->cfg.observations);
    ep->out_tag = tag;
    return ZCOAP_OK;
}

int zcoap_ep_observe_cancel(zcoap_ep_t *ep, uint32_t tag, zcoap_builder_t *b)
{
    if (ep == NULL)
        return ZCOAP_EINVAL;
    zcoap_ep_observation_t *o = by_tag(ep, tag);
    if (o == NULL)
        return ZCOAP_ENOTFOUND;
    if (b != NULL) {
        int rc =
            zcoap_ep_request_begin_token(ep, ZCOAP_TYPE_CON, o->method, o->token, o->token_len, b);
        if (rc == ZCOAP_OK)
            rc = zcoap_builder_add_uint(b, ZCOAP_OPT_OBSERVE, ZCOAP_OBS_DEREGISTER);
        if (rc != ZCOAP_OK) {
            ep->out_begun = false;
            return rc;
        }
        ep->out_tag = tag;
    }
    if (ep->out_obs == (int8_t)(o - ep->cfg.observations))
        ep->out_obs = -1;
    forget(o);
    return ZCOAP_OK;
}

bool zcoap_ep_observing(const zcoap_ep_t *ep, uint32_t tag)
{
    const zcoap_ep_observation_t *o = ep != NULL ? by_tag(ep, tag) : NULL;
    return o != NULL && o->state == OBS_ESTABLISHED;
}

static uint64_t renew_at(const zcoap_msg_t *msg, uint64_t now_ms)
{
    uint32_t max_age = DEFAULT_MAX_AGE_S;
    (void)zcoap_msg_get_uint(msg, ZCOAP_OPT_MAX_AGE, &max_age);
    return now_ms + (uint64_t)max_age * 1000u + ZCOAP_OBS_RENEW_MARGIN_MS;
}

static bool is_success(uint8_t code)
{
    return (code >> 5) == 2u;
}

void zcoap__ep_obs_response(zcoap_ep_t *ep, const zcoap_msg_t *msg, uint64_t now_ms)
{
    if (ep->out_obs < 0)
        return;
    zcoap_ep_observation_t *o = &ep->cfg.observations[ep->out_obs];
    ep->out_obs = -1;
    uint32_t seq = 0;
    if (!is_success(msg->code) || zcoap_msg_get_uint(msg, ZCOAP_OPT_OBSERVE, &seq) != ZCOAP_OK) {
        forget(o); /* §3.1: not added to the list of observers, or ended by an error */
        return;
    }
    /* A renewal's answer may carry the state we hold already (or, overtaken, an older one):
     * the freshest stays the reference for §3.4. */
    bool renewal = o->state == OBS_ESTABLISHED;
    if (!renewal || zcoap_obs_is_fresher(o->last_seq, o->last_ms, seq, now_ms)) {
        o->last_seq = seq & ZCOAP_OBS_SEQ_MASK;
        o->last_ms = now_ms;
    }
    o->state = OBS_ESTABLISHED;
    o->renew_ms = renew_at(msg, now_ms);
}

void zcoap__ep_obs_request_ended(zcoap_ep_t *ep)
{
    if (ep->out_obs < 0)
        return;
    zcoap_ep_observation_t *o = &ep->cfg.observations[ep->out_obs];
    ep->out_obs = -1;
    /* Never established, or a renewal nobody answered: the server is gone as far as we can
     * tell, and a later notification gets RST (the application saw OUT_TIMEOUT or OUT_RESET
     * with the tag, and may register again). */
    forget(o);
}

bool zcoap__ep_obs_receive(zcoap_ep_t *ep, const zcoap_msg_t *msg, uint64_t now_ms)
{
    zcoap_ep_observation_t *o = by_token(ep, msg);
    if (o == NULL)
        return false; /* unknown token: the caller answers RST, which also cancels (§3.6) */
    if (msg->type == ZCOAP_TYPE_CON) {
        /* Every copy is acknowledged (§4.5 of RFC 7252): a server counting on the ACK must not
         * drop us because a duplicate went unanswered. Copies are told apart by ID. */
        zcoap__ep_control(ep, ZCOAP_TYPE_ACK, msg->mid);
        if (zcoap__ep_dedup_seen(ep, msg, now_ms)) {
            zcoap__ep_event_msg_tag(ep, ZCOAP_EV_OUT_DUPLICATE_RESPONSE, msg, o->tag);
            return true;
        }
    }
    uint32_t seq = 0;
    uint32_t tag = o->tag;
    if (!is_success(msg->code) || zcoap_msg_get_uint(msg, ZCOAP_OPT_OBSERVE, &seq) != ZCOAP_OK) {
        /* §3.2: an error, or a response without Observe, is the last notification. */
        forget(o);
        zcoap__ep_event_msg_tag(ep, ZCOAP_EV_OBS_ENDED, msg, tag);
        return true;
    }
    if (!zcoap_obs_is_fresher(o->last_seq, o->last_ms, seq, now_ms))
        return true; /* reordered or repeated (§3.4): dropped, acknowledged if CON */
    o->last_seq = seq & ZCOAP_OBS_SEQ_MASK;
    o->last_ms = now_ms;
    o->renew_ms = renew_at(msg, now_ms);
    zcoap__ep_event_msg_tag(ep, ZCOAP_EV_OBS_NOTIFICATION, msg, tag);
    return true;
}

void zcoap__ep_obs_timers(zcoap_ep_t *ep, uint64_t now_ms)
{
    for (size_t i = 0; i < ep->cfg.observations_cap; i++) {
        zcoap_ep_observation_t *o = &ep->cfg.observations[i];
        if (o->state == OBS_ESTABLISHED && now_ms >= o->renew_ms) {
            o->renew_ms = ZCOAP_NEVER; /* reported once; a notification or renewal re-arms it */
            zcoap__ep_event_msg_tag(ep, ZCOAP_EV_OBS_RENEW, NULL, o->tag);
        }
    }
}

uint64_t zcoap__ep_obs_deadline(const zcoap_ep_t *ep)
{
    uint64_t d = ZCOAP_NEVER;
    for (size_t i = 0; i < ep->cfg.observations_cap; i++) {
        const zcoap_ep_observation_t *o = &ep->cfg.observations[i];
        if (o->state == OBS_ESTABLISHED && o->renew_ms < d)
            d = o->renew_ms;
    }
    return d;
}
