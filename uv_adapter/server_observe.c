/* The server side of Observe (RFC 7641): observers enter a table allocated at start by a GET or
 * FETCH with Observe 0 and leave it by Observe 1, a new request with their token, RST, a timeout
 * or an error answer; each peer lists its own observers, so that what concerns one peer never walks
 * the whole table. zcoap_uv_server_notify() has the resource's handler (called with req NULL)
 * produce each notification, CON or NON by the resource's policy, with the resource's sequence
 * number; a notification's tag names its observer's slot and generation. */
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

#define OBS_SLOT_BITS ZCOAP__UV_OBS_SLOT_BITS
#define OBS_MAX_OBSERVERS ZCOAP__UV_OBS_MAX_OBSERVERS

/* What the adapter knows of an observer besides the core's entry (zcoap__uv_observer_t.flags). */
enum {
    OBS_REGISTERING = 1u << 0,   /* its registration is not answered yet: nothing to notify */
    OBS_PENDING = 1u << 1,       /* owed the newest state (or its 4.04) */
    OBS_GONE = 1u << 2,          /* the resource is gone: owed a 4.04, then removed */
    OBS_CON_IN_FLIGHT = 1u << 3, /* a CON notification awaits its ACK: the next replaces it */
    OBS_DEFERRED = 1u << 4       /* waiting for the peer's CON exchange (counted once) */
};

/* The observer table and each resource's sequence number and policy (nothing is allocated per
 * registration). */
bool zcoap__uv_obs_alloc(zcoap_uv_server_t *s)
{
    const zcoap_uv_server_config_t *cfg = &s->cfg;
    size_t n_res = cfg->n_resources > 0 ? cfg->n_resources : 1u;
    s->obs_seq = calloc(n_res, sizeof(*s->obs_seq));
    s->obs_policy = malloc(n_res * sizeof(*s->obs_policy));
    if (s->obs_seq == NULL || s->obs_policy == NULL)
        return false;
    for (size_t i = 0; i < n_res; i++)
        s->obs_policy[i] = cfg->obs_policy;
    if (cfg->max_observers == 0)
        return zcoap_obs_table_init(&s->obs, NULL, 0) == ZCOAP_OK;
    zcoap_observer_t *slots = calloc(cfg->max_observers, sizeof(*slots));
    s->obs_state = calloc(cfg->max_observers, sizeof(*s->obs_state));
    if (slots == NULL || s->obs_state == NULL) {
        free(slots);
        return false;
    }
    return zcoap_obs_table_init(&s->obs, slots, cfg->max_observers) == ZCOAP_OK;
}

void zcoap__uv_obs_free(zcoap_uv_server_t *s)
{
    free(s->obs.slots);
    free(s->obs_state);
    free(s->obs_seq);
    free(s->obs_policy);
    s->obs.slots = NULL;
    s->obs_state = NULL;
    s->obs_seq = NULL;
    s->obs_policy = NULL;
}

static size_t resource_index(const zcoap_uv_server_t *s, const zcoap_resource_t *res)
{
    for (size_t i = 0; i < s->cfg.n_resources; i++) {
        if (&s->cfg.resources[i] == res)
            return i;
    }
    return SIZE_MAX;
}

static uint32_t obs_tag(const zcoap_uv_server_t *s, uint32_t idx)
{
    return ((uint32_t)s->obs_state[idx].gen << OBS_SLOT_BITS) | idx;
}

/* The observer an event's tag names, if it is still the one on @p peer it was sent to. */
static bool obs_by_tag(const zcoap_uv_peer_t *peer, uint32_t tag, uint32_t *idx)
{
    const zcoap_uv_server_t *s = peer->server;
    uint32_t i = tag & (OBS_MAX_OBSERVERS - 1u);
    if (i >= s->obs.cap || !s->obs.slots[i].in_use || s->obs.slots[i].peer != peer ||
        s->obs_state[i].gen != (uint8_t)(tag >> OBS_SLOT_BITS))
        return false;
    *idx = i;
    return true;
}

static void obs_set_pending(zcoap_uv_server_t *s, uint32_t idx)
{
    zcoap__uv_observer_t *st = &s->obs_state[idx];
    if ((st->flags & OBS_PENDING) == 0) {
        st->flags |= OBS_PENDING;
        ((zcoap_uv_peer_t *)s->obs.slots[idx].peer)->obs_pending++;
    }
}

static void obs_clear_pending(zcoap_uv_server_t *s, uint32_t idx)
{
    zcoap__uv_observer_t *st = &s->obs_state[idx];
    if ((st->flags & OBS_PENDING) != 0)
        ((zcoap_uv_peer_t *)s->obs.slots[idx].peer)->obs_pending--;
    st->flags &= (uint8_t) ~(OBS_PENDING | OBS_DEFERRED);
}

/* Remove observer @p idx from the table and from its peer's list; @p reason counts it. Events
 * still to come for it (a CON notification in flight) no longer match: the generation moves. */
static void obs_remove(zcoap_uv_server_t *s, uint32_t idx, uint64_t *reason)
{
    zcoap_observer_t *o = &s->obs.slots[idx];
    zcoap__uv_observer_t *st = &s->obs_state[idx];
    zcoap_uv_peer_t *peer = o->peer;
    obs_clear_pending(s, idx);
    /* Its CON notification in flight would go on carrying a stale state, even to a new
     * registration with the same token. */
    (void)zcoap_ep_notify_cancel(&peer->ep, obs_tag(s, idx), uv_now(s->loop));
    if (peer->obs_answer == idx + 1u)
        peer->obs_answer = 0;
    uint32_t *link = &peer->obs_head;
    while (*link != 0 && *link != idx + 1u)
        link = &s->obs_state[*link - 1u].peer_next;
    if (*link == idx + 1u)
        *link = st->peer_next;
    peer->observers--;
    (void)zcoap_obs_remove_entry(&s->obs, o); /* O(1): the slot is known */
    st->peer_next = 0;
    st->flags = 0;
    st->gen++;
    s->stats.observers_in_use = s->obs.used;
    (*reason)++;
}

/* The observer on @p peer with @p token, walking the peer's own list. */
static bool obs_find_on_peer(const zcoap_uv_peer_t *peer, const uint8_t *token, size_t token_len,
                             uint32_t *idx)
{
    const zcoap_uv_server_t *s = peer->server;
    for (uint32_t i = peer->obs_head; i != 0; i = s->obs_state[i - 1u].peer_next) {
        const zcoap_observer_t *o = &s->obs.slots[i - 1u];
        if (o->token_len == token_len &&
            (token_len == 0 || memcmp(o->token, token, token_len) == 0)) {
            *idx = i - 1u;
            return true;
        }
    }
    return false;
}

/* Before the handler sees a request: a registration enters the table (kept only if the answer is
 * 2.xx, zcoap__uv_obs_answered()); any other GET or FETCH with an observer's token ends that
 * observation: Observe 1 asks for it (§3.6), and without Observe the token is taken for a new
 * request. */
void zcoap__uv_obs_on_request(zcoap_uv_peer_t *peer, const zcoap_resource_t *res, uint8_t dispatch,
                              const zcoap_msg_t *req)
{
    zcoap_uv_server_t *s = peer->server;
    if (req->code != ZCOAP_GET && req->code != ZCOAP_FETCH)
        return;
    bool registers = dispatch == 0 && s->obs.cap > 0 &&
                     zcoap_obs_request_action(req) == ZCOAP_OBS_REGISTER && res->handler != NULL &&
                     zcoap_resource_observable(res);
    uint32_t idx;
    if (!registers) {
        if (peer->observers > 0 && obs_find_on_peer(peer, req->token, req->token_len, &idx))
            obs_remove(s, idx, &s->stats.observers_removed_deregistered);
        return;
    }
    size_t before = s->obs.used;
    zcoap_observer_t *o;
    if (zcoap_obs_register(&s->obs, res, peer, req->token, req->token_len, uv_now(s->loop), &o) !=
        ZCOAP_OK) {
        s->stats.observe_refused++; /* §4.1: the table is full; served as a plain GET */
        return;
    }
    idx = (uint32_t)(o - s->obs.slots);
    zcoap__uv_observer_t *st = &s->obs_state[idx];
    if (s->obs.used > before) {
        st->flags = 0;
        st->peer_next = peer->obs_head;
        peer->obs_head = idx + 1u;
        peer->observers++;
        s->stats.observers_in_use = s->obs.used;
    }
    /* A renewal (§3.3.1): its answer carries the current state. */
    obs_clear_pending(s, idx);
    st->flags = (uint8_t)((st->flags & OBS_CON_IN_FLIGHT) | OBS_REGISTERING);
    peer->obs_answer = idx + 1u;
}

/* Add Observe with the resource's sequence number if this answer is to a registration. */
bool zcoap__uv_obs_add_observe(const zcoap_uv_peer_t *peer, zcoap_builder_t *b)
{
    const zcoap_uv_server_t *s = peer->server;
    if (peer->obs_answer == 0)
        return false;
    size_t r = resource_index(s, s->obs.slots[peer->obs_answer - 1u].resource);
    return zcoap_builder_add_uint(b, ZCOAP_OPT_OBSERVE, s->obs_seq[r]) == ZCOAP_OK;
}

/* The answer to the request went out: a registration it answered with Observe is established,
 * one it answered otherwise is dropped (§4.1, §3.2). */
void zcoap__uv_obs_answered(zcoap_uv_peer_t *peer, bool observe)
{
    zcoap_uv_server_t *s = peer->server;
    if (peer->obs_answer == 0)
        return;
    uint32_t idx = peer->obs_answer - 1u;
    peer->obs_answer = 0;
    if (observe) {
        s->obs_state[idx].flags &= (uint8_t)~OBS_REGISTERING;
        s->stats.observers_registered++;
        /* A renewal's answer carried a newer state than a CON notification still in flight to
         * the same token: retransmitting that one would go back in time (RFC 7641 §3.4). */
        if ((s->obs_state[idx].flags & OBS_CON_IN_FLIGHT) != 0 &&
            zcoap_ep_notify_cancel(&peer->ep, obs_tag(s, idx), uv_now(s->loop)) == 1)
            s->obs_state[idx].flags &= (uint8_t)~OBS_CON_IN_FLIGHT;
    } else {
        obs_remove(s, idx, &s->stats.observers_removed_error);
    }
}

/* Send one notification to observer @p idx (or its final error answer): CON or NON by the
 * resource's policy, Observe carrying the resource's sequence number when it is 2.xx. A
 * representation larger than one block goes as block 0 (RFC 7959 §2.6): the client fetches the
 * rest with GETs. */
static int obs_emit(zcoap_uv_server_t *s, uint32_t idx, uint8_t code,
                    const zcoap_uv_respond_opts_t *opts, const zcoap__uv_body_t *body)
{
    zcoap_observer_t *o = &s->obs.slots[idx];
    zcoap__uv_observer_t *st = &s->obs_state[idx];
    zcoap_uv_peer_t *peer = o->peer;
    size_t r = resource_index(s, o->resource);
    uint64_t now = uv_now(s->loop);
    const zcoap_observer_t before = *o;
    bool con;
    if ((st->flags & OBS_CON_IN_FLIGHT) != 0) {
        /* §4.5.2: the core puts the new state in place of the CON one in flight, as a CON. */
        con = true;
        o->since_con = 0;
        o->last_con_ms = now;
    } else {
        con = zcoap_obs_next_is_confirmable(o, &s->obs_policy[r], now);
    }
    bool success = (code >> 5) == 2u;
    zcoap__uv_answer_plan_t plan;
    zcoap__uv_block_plan(peer, code, body->total, true, &plan);
    zcoap_builder_t b;
    int rc =
        zcoap_ep_notify_begin(&peer->ep, o->token, o->token_len, code, con, obs_tag(s, idx), &b);
    if (rc == ZCOAP_OK) {
        if (success)
            (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, s->obs_seq[r]);
        zcoap__uv_add_respond_opts(&b, opts);
        zcoap__uv_block_add_options(&b, &plan, opts, body->total);
        bool read_failed = false;
        (void)zcoap__uv_block_put_payload(&b, &plan, body, &read_failed);
        if (read_failed) {
            zcoap__uv_answer_internal_error(&b); /* an error: the last notification (§3.2) */
            success = false;
        }
        rc = zcoap_ep_notify_send(&peer->ep, &b, now);
    }
    if (rc != ZCOAP_OK) {
        *o = before; /* nothing went out: the policy does not count it */
        if (rc == ZCOAP_EBUSY) {
            /* NSTART = 1: another CON message to the peer awaits its ACK. The newest state
             * goes when that exchange ends (zcoap__uv_obs_serve_pending()). */
            obs_set_pending(s, idx);
            if ((st->flags & OBS_DEFERRED) == 0)
                s->stats.notifications_deferred++;
            st->flags |= OBS_DEFERRED;
        }
        return rc;
    }
    obs_clear_pending(s, idx);
    if (con) {
        st->flags |= OBS_CON_IN_FLIGHT;
        s->stats.notifications_con++;
    } else {
        s->stats.notifications_non++;
    }
    zcoap__uv_peer_send_queued(peer,
                               now); /* out now, so that the next notification to the peer can go */
    if (!success) {
        /* §3.2: an error answer is the last notification. */
        obs_remove(s, idx,
                   (st->flags & OBS_GONE) != 0 ? &s->stats.observers_removed_gone
                                               : &s->stats.observers_removed_error);
    }
    return ZCOAP_OK;
}

int zcoap__uv_obs_answer_notification(zcoap_uv_server_t *s, uint8_t code,
                                      const zcoap_uv_respond_opts_t *opts,
                                      const zcoap__uv_body_t *body)
{
    uint32_t idx;
    if (s->ntf_answered || !obs_by_tag(s->ntf_peer, s->ntf_tag, &idx))
        return ZCOAP_ESTATE; /* one answer per notification; or the observer left meanwhile */
    s->ntf_answered = true;
    return obs_emit(s, idx, code, opts, body);
}

/* Give observer @p idx what it is owed: the resource's current state, which its handler produces
 * when called with req NULL (the answer goes through zcoap__uv_obs_answer_notification()), or
 * a 4.04 when the resource is gone. */
static void obs_serve(zcoap_uv_server_t *s, uint32_t idx)
{
    zcoap_observer_t *o = &s->obs.slots[idx];
    zcoap__uv_observer_t *st = &s->obs_state[idx];
    zcoap_uv_peer_t *peer = o->peer;
    if ((st->flags & OBS_GONE) != 0) {
        const zcoap__uv_body_t none = {.data = NULL, .total = 0, .read = NULL};
        (void)obs_emit(s, idx, ZCOAP_NOT_FOUND, NULL, &none);
    } else {
        const zcoap_resource_t *res = o->resource;
        zcoap_uv_handler_fn handler = (zcoap_uv_handler_fn)(uintptr_t)res->handler;
        uint32_t tag = obs_tag(s, idx);
        /* A handler may answer a request of another peer meanwhile, whose flush may serve an
         * observer there: the notification being answered is saved around the call. */
        zcoap_uv_peer_t *outer_peer = s->ntf_peer;
        uint32_t outer_tag = s->ntf_tag;
        bool outer_answered = s->ntf_answered;
        s->ntf_peer = peer;
        s->ntf_tag = tag;
        s->ntf_answered = false;
        if (handler != NULL)
            handler(s, peer, res, NULL);
        bool answered = s->ntf_answered;
        s->ntf_peer = outer_peer;
        s->ntf_tag = outer_tag;
        s->ntf_answered = outer_answered;
        uint32_t still;
        if (!answered && obs_by_tag(peer, tag, &still))
            obs_clear_pending(s, idx); /* the handler had nothing to send this time */
    }
    if (!s->closing)
        zcoap__uv_peer_flush(peer);
}

/* The peer's exchange may have ended: serve its observers owed the newest state, until one finds
 * the peer busy again. */
void zcoap__uv_obs_serve_pending(zcoap_uv_peer_t *peer)
{
    zcoap_uv_server_t *s = peer->server;
    while (peer->obs_pending > 0 && !s->closing) {
        uint32_t i = peer->obs_head;
        while (i != 0 && (s->obs_state[i - 1u].flags & OBS_PENDING) == 0)
            i = s->obs_state[i - 1u].peer_next;
        if (i == 0)
            return;
        uint32_t idx = i - 1u;
        uint8_t gen = s->obs_state[idx].gen;
        obs_serve(s, idx);
        if (s->obs.slots[idx].in_use && s->obs_state[idx].gen == gen &&
            (s->obs_state[idx].flags & OBS_PENDING) != 0)
            return; /* still busy: the next end of an exchange brings it here again */
    }
}

/* Events of the peer's endpoint that concern its observers. */
void zcoap__uv_obs_on_event(zcoap_uv_peer_t *peer, const zcoap_event_t *ev)
{
    zcoap_uv_server_t *s = peer->server;
    uint32_t idx;
    switch (ev->kind) {
    case ZCOAP_EV_NOTIFY_ACKED:
        if (obs_by_tag(peer, ev->tag, &idx))
            s->obs_state[idx].flags &= (uint8_t)~OBS_CON_IN_FLIGHT;
        break;
    case ZCOAP_EV_NOTIFY_RESET: /* §3.6: the client answered a notification, CON or NON, RST */
        if (obs_by_tag(peer, ev->tag, &idx))
            obs_remove(s, idx, &s->stats.observers_removed_reset);
        break;
    case ZCOAP_EV_NOTIFY_TIMEOUT: /* §4.5: the client is gone */
        if (obs_by_tag(peer, ev->tag, &idx))
            obs_remove(s, idx, &s->stats.observers_removed_timeout);
        break;
    default:
        break;
    }
    /* A registration whose request ended unanswered (the handler never answered) is dropped. */
    if (peer->obs_answer != 0 && zcoap_ep_request_type(&peer->ep) < 0)
        obs_remove(s, peer->obs_answer - 1u, &s->stats.observers_removed_error);
}

/* Checks shared by notify and resource_gone; the resource's index, or SIZE_MAX. */
static int obs_check(const zcoap_uv_server_t *s, const zcoap_resource_t *res, size_t *r)
{
    if (s == NULL || res == NULL)
        return ZCOAP_EINVAL;
    if (s->closing || s->hook.running || s->ntf_peer != NULL)
        return ZCOAP_ESTATE;
    *r = resource_index(s, res);
    if (*r == SIZE_MAX || !zcoap_resource_observable(res))
        return ZCOAP_EINVAL;
    return ZCOAP_OK;
}

/* Serve every observer of @p res marked in the first walk. One observer served may serve others
 * of its peer (its flush), which the walk then finds unmarked: nobody gets the same state twice. */
static void obs_serve_marked(zcoap_uv_server_t *s, const zcoap_resource_t *res)
{
    size_t cursor = 0;
    zcoap_observer_t *o;
    while (!s->closing && (o = zcoap_obs_next(&s->obs, res, &cursor)) != NULL) {
        uint32_t idx = (uint32_t)(o - s->obs.slots);
        if ((s->obs_state[idx].flags & OBS_PENDING) != 0)
            obs_serve(s, idx);
    }
}

int zcoap_uv_server_notify(zcoap_uv_server_t *s, const zcoap_resource_t *res)
{
    size_t r;
    int rc = obs_check(s, res, &r);
    if (rc != ZCOAP_OK)
        return rc;
    s->obs_seq[r] = zcoap_obs_seq_next(s->obs_seq[r]); /* §4.4: one number per state */
    int n = 0;
    size_t cursor = 0;
    zcoap_observer_t *o;
    while ((o = zcoap_obs_next(&s->obs, res, &cursor)) != NULL) {
        uint32_t idx = (uint32_t)(o - s->obs.slots);
        if ((s->obs_state[idx].flags & (OBS_REGISTERING | OBS_GONE)) == 0) {
            obs_set_pending(s, idx);
            n++;
        }
    }
    obs_serve_marked(s, res);
    return n;
}

int zcoap_uv_server_resource_gone(zcoap_uv_server_t *s, const zcoap_resource_t *res)
{
    size_t r;
    int rc = obs_check(s, res, &r);
    if (rc != ZCOAP_OK)
        return rc;
    int n = 0;
    size_t cursor = 0;
    zcoap_observer_t *o;
    while ((o = zcoap_obs_next(&s->obs, res, &cursor)) != NULL) {
        uint32_t idx = (uint32_t)(o - s->obs.slots);
        zcoap__uv_observer_t *st = &s->obs_state[idx];
        if ((st->flags & OBS_REGISTERING) != 0) {
            obs_remove(s, idx, &s->stats.observers_removed_gone); /* answered without Observe */
        } else {
            st->flags |= OBS_GONE;
            obs_set_pending(s, idx);
            n++;
        }
    }
    obs_serve_marked(s, res);
    return n;
}

int zcoap_uv_server_set_obs_policy(zcoap_uv_server_t *s, const zcoap_resource_t *res,
                                   const zcoap_obs_policy_t *policy)
{
    size_t r = s != NULL ? resource_index(s, res) : SIZE_MAX;
    if (r == SIZE_MAX || s->obs_policy == NULL)
        return ZCOAP_EINVAL;
    s->obs_policy[r] = policy != NULL ? *policy : s->cfg.obs_policy;
    return ZCOAP_OK;
}

int zcoap_uv_server_obs_seq(const zcoap_uv_server_t *s, const zcoap_resource_t *res, uint32_t *out)
{
    size_t r = s != NULL ? resource_index(s, res) : SIZE_MAX;
    if (r == SIZE_MAX || out == NULL || s->obs_seq == NULL)
        return ZCOAP_EINVAL;
    *out = s->obs_seq[r];
    return ZCOAP_OK;
}

int zcoap_uv_server_set_obs_seq(zcoap_uv_server_t *s, const zcoap_resource_t *res, uint32_t seq)
{
    size_t r = s != NULL ? resource_index(s, res) : SIZE_MAX;
    if (r == SIZE_MAX || seq > ZCOAP_OBS_SEQ_MASK || s->obs_seq == NULL)
        return ZCOAP_EINVAL;
    s->obs_seq[r] = seq;
    return ZCOAP_OK;
}
