/* The incoming path: requests from the peer, answered piggybacked, separately (CON or NON) or
 * with RST; automatic empty ACK for a slow application; de-duplication (RFC 7252 §4.5) with the
 * stored responses replayed; 4.02 and 4.13 answered by the endpoint itself.
 *
 * Two exchanges can be open on this path. The front holds the request the application is
 * answering; the back retransmits our separate CON response until the peer acknowledges it. The
 * peer's exchange ends when it receives that response, so it may send its next request while our
 * copy (or its ACK) is still on the way (§4.7): the front takes it. A second CON response waits
 * for the back to finish (NSTART = 1 for what we originate too). A request that finds the front
 * busy gets 5.03 with Max-Age (§5.9.3.4) rather than RST, which would read as "not understood". */
#include <string.h>

#include "endpoint_internal.h"
#include "text_internal.h"

static void in_end(zcoap_ep_t *ep)
{
    ep->in_state = ZCOAP__IN_IDLE;
    ep->in_dedup = -1;
}

static zcoap_dedup_entry_t *dedup_find(zcoap_ep_t *ep, uint16_t mid, uint64_t now_ms)
{
    for (size_t i = 0; i < ep->cfg.dedup_cap; i++) {
        zcoap_dedup_entry_t *e = &ep->cfg.dedup[i];
        if ((e->flags & ZCOAP__DEDUP_USED) != 0 && e->mid == mid && now_ms < e->expires_ms)
            return e;
    }
    return NULL;
}

/* Remember a request's ID for its window (§4.5: EXCHANGE_LIFETIME for CON, NON_LIFETIME for
 * NON); the ring overwrites the oldest entry. */
static int8_t dedup_add(zcoap_ep_t *ep, const zcoap_msg_t *msg, uint64_t now_ms)
{
    size_t i = ep->dedup_next;
    ep->dedup_next = (uint8_t)((i + 1u) % ep->cfg.dedup_cap);
    zcoap_dedup_entry_t *e = &ep->cfg.dedup[i];
    bool con = msg->type == ZCOAP_TYPE_CON;
    e->mid = msg->mid;
    e->flags = (uint8_t)(ZCOAP__DEDUP_USED | (con ? ZCOAP__DEDUP_CON : 0u));
    e->resp_slot = -1;
    e->resp_len = 0;
    e->req_len = msg->len > 0xFFFFu ? (uint16_t)0xFFFFu : (uint16_t)msg->len;
    e->expires_ms = now_ms + (con ? zcoap_tx_exchange_lifetime_ms(&ep->cfg.tx)
                                  : zcoap_tx_non_lifetime_ms(&ep->cfg.tx));
    if (e->expires_ms < ep->dedup_expiry)
        ep->dedup_expiry = e->expires_ms;
    if ((int)i == ep->in_dedup)
        ep->in_dedup = -1;
    return (int8_t)i;
}

bool zcoap__ep_dedup_seen(zcoap_ep_t *ep, const zcoap_msg_t *msg, uint64_t now_ms)
{
    if (dedup_find(ep, msg->mid, now_ms) != NULL)
        return true;
    (void)dedup_add(ep, msg, now_ms);
    return false;
}

uint64_t zcoap__ep_dedup_deadline(const zcoap_ep_t *ep)
{
    return ep->dedup_expiry;
}

/* Forget the windows that have ended; the ring is only walked when one has (process() runs
 * several times per exchange). */
static void dedup_expire(zcoap_ep_t *ep, uint64_t now_ms)
{
    if (now_ms < ep->dedup_expiry)
        return;
    uint64_t next = ZCOAP_NEVER;
    for (size_t i = 0; i < ep->cfg.dedup_cap; i++) {
        zcoap_dedup_entry_t *e = &ep->cfg.dedup[i];
        if ((e->flags & ZCOAP__DEDUP_USED) == 0)
            continue;
        if (now_ms >= e->expires_ms) {
            e->flags = 0;
            e->resp_slot = -1;
            if ((int)i == ep->in_dedup)
                ep->in_dedup = -1;
        } else if (e->expires_ms < next) {
            next = e->expires_ms;
        }
    }
    ep->dedup_expiry = next;
}

/* Slots that hold a message still to be sent or retransmitted: our CON message in flight, a CON
 * response queued behind it, an answer or a NON notification not yet pulled, a notification
 * being built. (A stored response waiting to be replayed for a duplicate may be dropped.) */
static bool slot_held(const zcoap_ep_t *ep, uint8_t slot)
{
    return (ep->con_active && ep->con_slot == slot) ||
           (ep->in_state == ZCOAP__IN_QUEUED && ep->in_slot == slot) ||
           (ep->in_pending_tx && ep->in_slot == slot) ||
           ((ep->ntf_pending_tx || (ep->ntf_begun && !ep->ntf_in_req_buf)) && ep->ntf_slot == slot);
}

static size_t free_slots(const zcoap_ep_t *ep)
{
    size_t n = 0;
    for (size_t i = 0; i < ep->cfg.resp_slots; i++) {
        if (!slot_held(ep, (uint8_t)i))
            n++;
    }
    return n;
}

static bool slot_available(const zcoap_ep_t *ep)
{
    return free_slots(ep) > 0;
}

static bool front_waits_for_application(const zcoap_ep_t *ep);

/* A notification may take a slot unless it is the last one and a request awaits its answer:
 * the answer needs it (the request was taken because a slot was free). */
static bool notification_slot_available(const zcoap_ep_t *ep)
{
    return free_slots(ep) > (front_waits_for_application(ep) ? 1u : 0u);
}

/* Take the next response slot (one must be available); responses of older requests stored there
 * are forgotten. A stored response waiting to be sent again for a duplicate is not written over
 * while another slot is free; otherwise that replay is dropped and the peer retransmits (§4.2). */
static uint8_t take_slot(zcoap_ep_t *ep)
{
    size_t n = ep->cfg.resp_slots;
    uint8_t slot = ep->next_slot;
    int fallback = -1;
    for (size_t i = 0; i < n; i++, slot = (uint8_t)((slot + 1u) % n)) {
        if (slot_held(ep, slot))
            continue;
        if ((int)slot != ep->dup_slot)
            break;
        fallback = slot;
    }
    if ((int)slot == ep->dup_slot || slot_held(ep, slot)) {
        slot = (uint8_t)fallback;
        ep->dup_slot = -1;
    }
    ep->next_slot = (uint8_t)((slot + 1u) % n);
    for (size_t i = 0; i < ep->cfg.dedup_cap; i++) {
        if (ep->cfg.dedup[i].resp_slot == (int8_t)slot) {
            ep->cfg.dedup[i].resp_slot = -1;
            ep->cfg.dedup[i].flags |= ZCOAP__DEDUP_LOST;
        }
    }
    return slot;
}

/* Remember the response in the current slot for duplicates of the request. */
static void store_response(zcoap_ep_t *ep)
{
    if (ep->in_dedup < 0)
        return;
    zcoap_dedup_entry_t *e = &ep->cfg.dedup[ep->in_dedup];
    e->resp_slot = (int8_t)ep->in_slot;
    e->resp_len = (uint16_t)ep->in_len;
}

/* Answer a duplicate; false when it is to be taken as a new request instead. */
static bool answer_duplicate(zcoap_ep_t *ep, zcoap_dedup_entry_t *e, const zcoap_msg_t *msg)
{
    /* §4.5: the same answer again, and the application does not see the request twice. A NON
     * duplicate needs no answer: it is simply not processed again. */
    bool con = msg->type == ZCOAP_TYPE_CON;
    bool lost = con && (e->flags & (ZCOAP__DEDUP_LOST | ZCOAP__DEDUP_ACKED | ZCOAP__DEDUP_RST)) ==
                           ZCOAP__DEDUP_LOST;
    if (lost && msg->len >= e->req_len && zcoap_method_is_idempotent(msg->code)) {
        /* The stored answer gave its slot to a newer message (few slots, many answers). §4.5
         * lets an idempotent request be processed again: the peer gets a fresh answer rather
         * than silence, which would leave it retransmitting until it gives up. */
        e->flags = 0;
        return false;
    }
    bool piggybacked = e->resp_slot >= 0 && ((zcoap__ep_slot(ep, (size_t)e->resp_slot)[0] >> 4) &
                                             0x03u) == ZCOAP_TYPE_ACK;
    if ((e->flags & ZCOAP__DEDUP_RST) != 0) {
        zcoap__ep_control(ep, ZCOAP_TYPE_RST, msg->mid);
    } else if (con && piggybacked && msg->len >= e->req_len) {
        /* A retransmission repeats the request byte for byte: a shorter datagram with the same
         * MID is forged, and replaying a large stored answer to it would amplify (RFC 7252
         * §11.3). */
        ep->dup_slot = e->resp_slot;
        ep->dup_len = e->resp_len;
    } else if (con && (e->flags & ZCOAP__DEDUP_ACKED) != 0) {
        zcoap__ep_control(ep, ZCOAP_TYPE_ACK, msg->mid); /* the separate response follows */
    } else if (lost) {
        /* A POST or PATCH is never run twice: §4.5's acknowledgement of the copy at least stops
         * its retransmissions; its answer is gone. */
        zcoap__ep_control(ep, ZCOAP_TYPE_ACK, msg->mid);
    }
    zcoap__ep_event(ep, ZCOAP_EV_IN_DUPLICATE, 0, msg);
    return true;
}

/* Answer a request on the endpoint's own behalf (4.02, 4.13), piggybacked or NON. */
static void reject(zcoap_ep_t *ep, const zcoap_msg_t *msg, uint8_t code, uint16_t bad_option)
{
    zcoap_builder_t b;
    uint8_t slot = take_slot(ep);
    (void)zcoap_builder_init_response(&b, zcoap__ep_slot(ep, slot), ep->cfg.msg_cap, msg, code,
                                      msg->type == ZCOAP_TYPE_CON ? msg->mid
                                                                  : zcoap__ep_new_mid(ep));
    if (code == ZCOAP_REQUEST_ENTITY_TOO_LARGE) {
        /* RFC 7959 §4: Size1 tells the largest size we accept. */
        (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_SIZE1, (uint32_t)ep->cfg.msg_cap);
    } else {
        /* §5.9.2: a diagnostic payload naming the option helps the peer's developer. */
        char text[40];
        zcoap__text_t t;
        zcoap__text_init(&t, text, sizeof(text));
        zcoap__text_str(&t, "critical option "); /* with the code "Bad Option": short, see below */
        zcoap__text_uint(&t, bad_option);
        size_t n = (size_t)zcoap__text_finish(&t);
        /* The diagnostic is optional: it goes only where it fits msg_cap and keeps the answer
         * within 3 times the request, so that a forged source gets no amplification (RFC 7252
         * §11.3, RFC 9175 §2.4 item 3). */
        ptrdiff_t used = zcoap_builder_finish(&b);
        size_t limit = ep->cfg.msg_cap < 3u * msg->len ? ep->cfg.msg_cap : 3u * msg->len;
        if (used > 0 && (size_t)used + 1u + n <= limit)
            (void)zcoap_builder_set_payload(&b, text, n);
    }
    ptrdiff_t len = zcoap_builder_finish(&b);
    if (len < 0)
        return; /* msg_cap >= 16 leaves room for both answers */
    ep->in_slot = slot;
    ep->in_len = (size_t)len;
    ep->in_pending_tx = true;
    store_response(ep);
    zcoap__ep_event(ep, ZCOAP_EV_IN_REJECTED, 0, msg);
}

/* A request we cannot take now. No de-duplication entry is kept: a retransmission is looked at
 * afresh and is taken if the front is free by then (nothing was executed). */
static void answer_busy(zcoap_ep_t *ep, const zcoap_msg_t *msg)
{
    zcoap_builder_t b;
    bool con = msg->type == ZCOAP_TYPE_CON;
    (void)zcoap_builder_init_response(&b, ep->busy_buf, sizeof(ep->busy_buf), msg,
                                      ZCOAP_SERVICE_UNAVAILABLE,
                                      con ? msg->mid : zcoap__ep_new_mid(ep));
    (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_MAX_AGE, ep->cfg.busy_max_age_s);
    ptrdiff_t len = zcoap_builder_finish(&b); /* 4 + token + Max-Age: always fits */
    ep->busy_len = len > 0 ? (uint8_t)len : 0u;
    zcoap__ep_event(ep, ZCOAP_EV_IN_BUSY, 0, msg);
}

void zcoap__ep_in_receive_request(zcoap_ep_t *ep, const zcoap_msg_t *msg, size_t len,
                                  uint64_t now_ms)
{
    zcoap_dedup_entry_t *dup = dedup_find(ep, msg->mid, now_ms);
    if (dup != NULL && answer_duplicate(ep, dup, msg))
        return;
    /* Without a response store (none could be lent) the request cannot be answered beyond the
     * 5.03, which needs none. */
    if (ep->in_state != ZCOAP__IN_IDLE || ep->in_pending_tx || !slot_available(ep) ||
        !zcoap__ep_have_store(ep)) {
        answer_busy(ep, msg);
        return;
    }
    int8_t entry = dedup_add(ep, msg, now_ms);
    ep->in_dedup = entry;
    uint16_t bad = 0;
    if (len > ep->cfg.msg_cap) {
        reject(ep, msg, ZCOAP_REQUEST_ENTITY_TOO_LARGE, 0);
        ep->in_dedup = -1;
        return;
    }
    if (zcoap_msg_check_options(msg, NULL, 0, &bad) != ZCOAP_OK) {
        reject(ep, msg, ZCOAP_BAD_OPTION, bad); /* §5.4.1 */
        ep->in_dedup = -1;
        return;
    }
    ep->in_state = ZCOAP__IN_RECEIVED;
    ep->in_type = msg->type;
    ep->in_mid = msg->mid;
    ep->in_token_len = msg->token_len;
    memcpy(ep->in_token, msg->token, msg->token_len);
    /* A CON left unanswered gets the empty ACK after auto_ack_ms, so a slow handler never makes
     * the client retransmit (§5.2.2); NON requests wait for the application as long. */
    ep->in_deadline =
        now_ms + (msg->type == ZCOAP_TYPE_CON ? ep->cfg.auto_ack_ms : ep->cfg.response_timeout_ms);
    zcoap__ep_event(ep, ZCOAP_EV_IN_REQUEST, 0, msg);
}

/* The back starts retransmitting the CON message in @p slot (a separate response, or a
 * notification when @p notification) under a fresh message ID. */
static void con_start(zcoap_ep_t *ep, uint8_t slot, size_t len, bool notification, uint32_t tag,
                      uint64_t now_ms)
{
    uint8_t *msg = zcoap__ep_slot(ep, slot);
    ep->con_mid = zcoap__ep_new_mid(ep);
    msg[2] = (uint8_t)(ep->con_mid >> 8);
    msg[3] = (uint8_t)ep->con_mid;
    ep->con_active = true;
    ep->con_pending_tx = true;
    ep->con_slot = slot;
    ep->con_len = len;
    ep->con_retransmits = 0;
    ep->con_timeout_ms = zcoap__ep_initial_timeout(ep);
    ep->con_deadline = now_ms + ep->con_timeout_ms;
    ep->con_is_notification = notification;
    ep->con_tag = tag;
    ep->con_sent = false;
    ep->con_prev_valid = false;
    if (notification)
        zcoap__ep_event_tag(ep, ZCOAP_EV_NOTIFY_SENT, tag);
    else
        zcoap__ep_event(ep, ZCOAP_EV_IN_CON_RESPONSE_SENT, 0, NULL);
}

/* The back's exchange is over (@p kind: IN_SUCCESS, IN_RESET or IN_TIMEOUT, told as the
 * NOTIFY_ kind for a notification); a CON response queued behind it goes out now. */
/* The back stops retransmitting; a CON response queued behind it goes out now. */
static void con_stop(zcoap_ep_t *ep, uint64_t now_ms)
{
    ep->con_active = false;
    ep->con_pending_tx = false;
    if (ep->in_state == ZCOAP__IN_QUEUED) {
        con_start(ep, ep->in_slot, ep->in_len, false, 0, now_ms);
        in_end(ep);
    }
}

static void con_end(zcoap_ep_t *ep, zcoap_event_kind_t kind, const zcoap_msg_t *msg,
                    uint64_t now_ms)
{
    if (ep->con_is_notification) {
        zcoap_event_kind_t ntf = kind == ZCOAP_EV_IN_SUCCESS ? ZCOAP_EV_NOTIFY_ACKED
                                 : kind == ZCOAP_EV_IN_RESET ? ZCOAP_EV_NOTIFY_RESET
                                                             : ZCOAP_EV_NOTIFY_TIMEOUT;
        zcoap__ep_event_tag(ep, ntf, ep->con_tag);
    } else {
        zcoap__ep_event(ep, kind, 0, msg);
    }
    con_stop(ep, now_ms);
}

/* A RST answering one of the last NON notifications: the client no longer observes (§3.6). */
static bool non_notification_reset(zcoap_ep_t *ep, const zcoap_msg_t *msg)
{
    if (msg->type != ZCOAP_TYPE_RST)
        return false;
    for (size_t i = 0; i < ZCOAP__EP_NON_NOTIFICATIONS; i++) {
        zcoap__ep_sent_notification_t *n = &ep->ntf_sent[i];
        if (n->used && n->mid == msg->mid) {
            n->used = false;
            zcoap__ep_event_tag(ep, ZCOAP_EV_NOTIFY_RESET, n->tag);
            return true;
        }
    }
    return false;
}

/* The client answered a CON notification that a newer one has replaced since it went out. An
 * ACK shows the client is there: the newest state's exchange starts over (sent now if it has
 * not gone out yet), else a client acknowledging each version just too late would see the
 * exchange time out. A RST ends the observation like any RST to a notification. */
static bool replaced_notification_answered(zcoap_ep_t *ep, const zcoap_msg_t *msg, uint64_t now_ms)
{
    if (!ep->con_active || !ep->con_prev_valid || msg->mid != ep->con_prev_mid)
        return false;
    ep->con_prev_valid = false;
    if (msg->type == ZCOAP_TYPE_RST) {
        con_end(ep, ZCOAP_EV_IN_RESET, msg, now_ms);
        return true;
    }
    ep->con_retransmits = 0;
    ep->con_timeout_ms = zcoap__ep_initial_timeout(ep);
    ep->con_deadline = now_ms + ep->con_timeout_ms;
    ep->con_pending_tx = !ep->con_sent; /* already out: only its schedule starts over */
    return true;
}

bool zcoap__ep_in_receive_ack(zcoap_ep_t *ep, const zcoap_msg_t *msg, uint64_t now_ms)
{
    if (replaced_notification_answered(ep, msg, now_ms))
        return true;
    if (!ep->con_active || msg->mid != ep->con_mid)
        return non_notification_reset(ep, msg); /* §4.2: else matching nothing: ignored */
    con_end(ep, msg->type == ZCOAP_TYPE_ACK ? ZCOAP_EV_IN_SUCCESS : ZCOAP_EV_IN_RESET, msg, now_ms);
    return true;
}

static void send_empty_ack(zcoap_ep_t *ep, uint64_t now_ms)
{
    zcoap__ep_control(ep, ZCOAP_TYPE_ACK, ep->in_mid);
    ep->in_state = ZCOAP__IN_ACKED;
    ep->in_deadline = now_ms + ep->cfg.response_timeout_ms;
    if (ep->in_dedup >= 0)
        ep->cfg.dedup[ep->in_dedup].flags |= ZCOAP__DEDUP_ACKED;
    zcoap__ep_event(ep, ZCOAP_EV_IN_ACK_SENT, 0, NULL);
}

static bool front_waits_for_application(const zcoap_ep_t *ep)
{
    return ep->in_state == ZCOAP__IN_RECEIVED || ep->in_state == ZCOAP__IN_ACKED;
}

void zcoap__ep_in_timers(zcoap_ep_t *ep, uint64_t now_ms)
{
    dedup_expire(ep, now_ms);
    while (ep->con_active && now_ms >= ep->con_deadline) {
        if (ep->con_retransmits < ep->cfg.tx.max_retransmit) {
            ep->con_retransmits++;
            ep->con_timeout_ms *= 2u;
            ep->con_deadline += ep->con_timeout_ms;
            ep->con_pending_tx = true;
            continue;
        }
        /* Never acknowledged: the exchange ends at its last deadline. */
        con_end(ep, ZCOAP_EV_IN_TIMEOUT, NULL, ep->con_deadline);
    }
    while (front_waits_for_application(ep) && now_ms >= ep->in_deadline) {
        if (ep->in_state == ZCOAP__IN_RECEIVED && ep->in_type == ZCOAP_TYPE_CON) {
            send_empty_ack(ep, ep->in_deadline);
            continue;
        }
        /* The application never answered. */
        in_end(ep);
        zcoap__ep_event(ep, ZCOAP_EV_IN_TIMEOUT, 0, NULL);
    }
}

int zcoap_ep_response_begin(zcoap_ep_t *ep, uint8_t code, bool confirmable, zcoap_builder_t *b)
{
    if (ep == NULL || b == NULL || !zcoap_code_is_response(code))
        return ZCOAP_EINVAL;
    if (!front_waits_for_application(ep))
        return ZCOAP_ESTATE;
    if (!slot_available(ep))
        return ZCOAP_EBUSY; /* not expected: notifications leave the answer its slot */
    /* §5.2.1: piggybacked in the ACK while the CON request is not yet acknowledged; otherwise
     * separate (§5.2.2), and a NON request gets a NON response unless asked (§5.2.3). */
    ep->in_piggyback = ep->in_type == ZCOAP_TYPE_CON && ep->in_state == ZCOAP__IN_RECEIVED;
    uint8_t type = ep->in_piggyback ? ZCOAP_TYPE_ACK
                   : confirmable    ? ZCOAP_TYPE_CON
                                    : ZCOAP_TYPE_NON;
    ep->in_slot = take_slot(ep);
    /* The separate response's ID is taken at send time; 0 is a placeholder. */
    return zcoap_builder_init(b, zcoap__ep_slot(ep, ep->in_slot), ep->cfg.msg_cap, type, code,
                              ep->in_piggyback ? ep->in_mid : 0, ep->in_token, ep->in_token_len);
}

int zcoap_ep_response_send(zcoap_ep_t *ep, zcoap_builder_t *b, uint64_t now_ms)
{
    if (ep == NULL || b == NULL)
        return ZCOAP_EINVAL;
    if (!front_waits_for_application(ep) || b->buf != zcoap__ep_slot(ep, ep->in_slot))
        return ZCOAP_ESTATE;
    ptrdiff_t n = zcoap_builder_finish(b);
    if (n < 0)
        return (int)n;
    uint8_t *msg = b->buf;
    if (ep->in_piggyback && ep->in_state != ZCOAP__IN_RECEIVED) {
        /* The automatic empty ACK went out between begin and send: the response can no longer
         * ride in the ACK, so it goes separate and confirmable (§5.2.2). */
        msg[0] = (uint8_t)((msg[0] & 0xCFu) | (ZCOAP_TYPE_CON << 4));
        ep->in_piggyback = false;
    }
    uint8_t type = (uint8_t)((msg[0] >> 4) & 0x03u);
    if (type == ZCOAP_TYPE_CON) {
        if (ep->con_active) {
            /* Our last CON response still awaits its ACK: this one follows it (NSTART = 1). */
            ep->in_state = ZCOAP__IN_QUEUED;
            ep->in_len = (size_t)n;
            return ZCOAP_OK;
        }
        con_start(ep, ep->in_slot, (size_t)n, false, 0, now_ms);
        in_end(ep);
        return ZCOAP_OK;
    }
    if (type == ZCOAP_TYPE_NON) {
        uint16_t mid = zcoap__ep_new_mid(ep);
        msg[2] = (uint8_t)(mid >> 8);
        msg[3] = (uint8_t)mid;
    }
    ep->in_len = (size_t)n;
    ep->in_pending_tx = true;
    store_response(ep); /* piggybacked or NON: replayed for duplicates */
    in_end(ep);
    zcoap__ep_event(ep, ZCOAP_EV_IN_SUCCESS, 0, NULL);
    return ZCOAP_OK;
}

int zcoap_ep_respond_ack(zcoap_ep_t *ep, uint64_t now_ms)
{
    if (ep == NULL)
        return ZCOAP_EINVAL;
    if (ep->in_state != ZCOAP__IN_RECEIVED || ep->in_type != ZCOAP_TYPE_CON)
        return ZCOAP_ESTATE;
    send_empty_ack(ep, now_ms);
    return ZCOAP_OK;
}

int zcoap_ep_respond_rst(zcoap_ep_t *ep, uint64_t now_ms)
{
    (void)now_ms;
    if (ep == NULL)
        return ZCOAP_EINVAL;
    if (ep->in_state != ZCOAP__IN_RECEIVED)
        return ZCOAP_ESTATE;
    zcoap__ep_control(ep, ZCOAP_TYPE_RST, ep->in_mid);
    if (ep->in_dedup >= 0)
        ep->cfg.dedup[ep->in_dedup].flags |= ZCOAP__DEDUP_RST;
    in_end(ep);
    zcoap__ep_event(ep, ZCOAP_EV_IN_RST_SENT, 0, NULL);
    return ZCOAP_OK;
}

int zcoap_ep_request_type(const zcoap_ep_t *ep)
{
    if (ep == NULL || !front_waits_for_application(ep))
        return -1;
    return ep->in_type;
}

/* ---- notifications (RFC 7641) --------------------------------------------------------------- */

/* Whether the back retransmits a notification with this token (the token is in its slot). */
static bool back_notifies(const zcoap_ep_t *ep, const uint8_t *token, size_t token_len)
{
    if (!ep->con_active || !ep->con_is_notification)
        return false;
    const uint8_t *msg = zcoap__ep_slot(ep, ep->con_slot);
    return (size_t)(msg[0] & 0x0Fu) == token_len &&
           (token_len == 0 || memcmp(msg + 4, token, token_len) == 0);
}

int zcoap_ep_notify_cancel(zcoap_ep_t *ep, uint32_t tag, uint64_t now_ms)
{
    if (ep == NULL)
        return ZCOAP_EINVAL;
    if (!ep->con_active || !ep->con_is_notification || ep->con_tag != tag)
        return 0;
    /* Its observer is gone: a stale state must not go on being retransmitted, possibly to a
     * registration made since with the same token. A CON response queued behind it goes now. */
    ep->con_prev_valid = false;
    con_stop(ep, now_ms);
    return 1;
}

int zcoap_ep_notify_begin(zcoap_ep_t *ep, const uint8_t *token, size_t token_len, uint8_t code,
                          bool confirmable, uint32_t tag, zcoap_builder_t *b)
{
    if (ep == NULL || b == NULL || !zcoap_code_is_response(code) ||
        token_len > ZCOAP_MAX_TOKEN_LEN || (token == NULL && token_len > 0))
        return ZCOAP_EINVAL;
    if (!zcoap__ep_have_store(ep))
        return ZCOAP_ENOSPC;
    ep->ntf_begun = false; /* a notification begun and never sent is forgotten */
    /* §4.5.2: a CON notification in flight to this observer is replaced, whatever was asked. */
    bool replaces = back_notifies(ep, token, token_len);
    bool con = confirmable || replaces;
    if ((con && ep->con_active && !replaces) || ep->ntf_pending_tx)
        return ZCOAP_EBUSY;
    /* With every response slot taken (one slot, holding the notification in flight), a
     * replacement is built in the request buffer, idle on a server, and copied over the slot
     * in flight at send: the one in flight stays whole until then. */
    bool in_req_buf = !notification_slot_available(ep);
    if (in_req_buf && (!replaces || ep->out_state != ZCOAP__OUT_IDLE || ep->out_begun))
        return ZCOAP_EBUSY;
    ep->ntf_in_req_buf = in_req_buf;
    if (!in_req_buf)
        ep->ntf_slot = take_slot(ep);
    ep->ntf_begun = true;
    ep->ntf_confirmable = con;
    ep->ntf_tag = tag;
    /* The message ID is taken at send time; 0 is a placeholder. */
    return zcoap_builder_init(b, in_req_buf ? ep->cfg.req_buf : zcoap__ep_slot(ep, ep->ntf_slot),
                              ep->cfg.msg_cap, con ? ZCOAP_TYPE_CON : ZCOAP_TYPE_NON, code, 0,
                              token, (uint8_t)token_len);
}

int zcoap_ep_notify_send(zcoap_ep_t *ep, zcoap_builder_t *b, uint64_t now_ms)
{
    if (ep == NULL || b == NULL)
        return ZCOAP_EINVAL;
    uint8_t *buf = ep->ntf_in_req_buf ? ep->cfg.req_buf : zcoap__ep_slot(ep, ep->ntf_slot);
    if (!ep->ntf_begun || b->buf != buf)
        return ZCOAP_ESTATE;
    ptrdiff_t n = zcoap_builder_finish(b);
    ep->ntf_begun = false;
    if (n < 0)
        return (int)n;
    uint8_t *msg = b->buf;
    if (ep->ntf_in_req_buf) {
        /* Into the slot in flight if it is still ours to replace, else a slot freed since. */
        if (back_notifies(ep, msg + 4, msg[0] & 0x0Fu))
            ep->ntf_slot = ep->con_slot;
        else if (!ep->con_active && notification_slot_available(ep))
            ep->ntf_slot = take_slot(ep);
        else
            return ZCOAP_EBUSY;
        memcpy(zcoap__ep_slot(ep, ep->ntf_slot), msg, (size_t)n);
        msg = zcoap__ep_slot(ep, ep->ntf_slot);
    }
    if (ep->ntf_confirmable) {
        if (back_notifies(ep, msg + 4, msg[0] & 0x0Fu)) {
            /* The newest state takes the place of the one in flight: a new message ID (the
             * client de-duplicates by ID), the same retransmission count and timeout, so it
             * goes out at the next retransmission instant. */
            if (ep->con_sent) {
                ep->con_prev_valid = true;
                ep->con_prev_mid = ep->con_mid;
            }
            ep->con_sent = false;
            ep->con_slot = ep->ntf_slot;
            ep->con_len = (size_t)n;
            ep->con_mid = zcoap__ep_new_mid(ep);
            msg[2] = (uint8_t)(ep->con_mid >> 8);
            msg[3] = (uint8_t)ep->con_mid;
            ep->con_tag = ep->ntf_tag;
            zcoap__ep_event_tag(ep, ZCOAP_EV_NOTIFY_SENT, ep->ntf_tag);
            return ZCOAP_OK;
        }
        if (ep->con_active)
            return ZCOAP_EBUSY; /* another CON exchange started since begin */
        con_start(ep, ep->ntf_slot, (size_t)n, true, ep->ntf_tag, now_ms);
        return ZCOAP_OK;
    }
    uint16_t mid = zcoap__ep_new_mid(ep);
    msg[2] = (uint8_t)(mid >> 8);
    msg[3] = (uint8_t)mid;
    ep->ntf_len = (size_t)n;
    ep->ntf_pending_tx = true;
    zcoap__ep_sent_notification_t *sent = &ep->ntf_sent[ep->ntf_next];
    ep->ntf_next = (uint8_t)((ep->ntf_next + 1u) % ZCOAP__EP_NON_NOTIFICATIONS);
    sent->used = true;
    sent->mid = mid;
    sent->tag = ep->ntf_tag;
    zcoap__ep_event_tag(ep, ZCOAP_EV_NOTIFY_SENT, ep->ntf_tag);
    return ZCOAP_OK;
}
