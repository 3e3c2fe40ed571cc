/* Shared between the endpoint's sources; never installed. */
#ifndef ZCOAP_ENDPOINT_INTERNAL_H
#define ZCOAP_ENDPOINT_INTERNAL_H

#include "zcoap/endpoint.h"

/* Outgoing path states (DESIGN.md §4). */
enum {
    ZCOAP__OUT_IDLE,
    ZCOAP__OUT_CON_SENT,       /* CON request out, retransmitting until ACK/RST/response */
    ZCOAP__OUT_AWAIT_SEPARATE, /* empty ACK (or wrong-token ACK) received, response due */
    ZCOAP__OUT_NON_SENT,       /* NON request out, response due */
    ZCOAP__OUT_PING_SENT       /* Empty CON out, retransmitting until RST */
};

/* States of the incoming path's front (the back is con_active; see ep_in.c). */
enum {
    ZCOAP__IN_IDLE,
    ZCOAP__IN_RECEIVED, /* request delivered, the application has not answered */
    ZCOAP__IN_ACKED,    /* empty ACK sent, the separate response is due */
    ZCOAP__IN_QUEUED    /* separate CON response built, waiting for the back to finish */
};

/* Dedup entry flags. */
enum {
    ZCOAP__DEDUP_USED = 1u << 0,
    ZCOAP__DEDUP_CON = 1u << 1,
    ZCOAP__DEDUP_ACKED = 1u << 2, /* an empty ACK was sent: duplicates get it again */
    ZCOAP__DEDUP_RST = 1u << 3,   /* rejected with RST: duplicates get RST again */
    ZCOAP__DEDUP_LOST = 1u << 4   /* its stored answer's slot went to a newer message */
};

void zcoap__ep_event(zcoap_ep_t *ep, zcoap_event_kind_t kind, int err, const zcoap_msg_t *msg);
/* An event about a notification, carrying its tag. */
void zcoap__ep_event_tag(zcoap_ep_t *ep, zcoap_event_kind_t kind, uint32_t tag);
/* An event with a message view (may be NULL) and a tag. */
void zcoap__ep_event_msg_tag(zcoap_ep_t *ep, zcoap_event_kind_t kind, const zcoap_msg_t *msg,
                             uint32_t tag);
/* Whether a CON message with this ID from the peer was seen in its de-duplication window;
 * remembers it if not (ep_in.c). */
bool zcoap__ep_dedup_seen(zcoap_ep_t *ep, const zcoap_msg_t *msg, uint64_t now_ms);
void zcoap__ep_control(zcoap_ep_t *ep, uint8_t type, uint16_t mid);
uint16_t zcoap__ep_new_mid(zcoap_ep_t *ep);
/* RFC 7252 §4.2: the first timeout is random in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR]. */
uint64_t zcoap__ep_initial_timeout(zcoap_ep_t *ep);
uint8_t *zcoap__ep_slot(const zcoap_ep_t *ep, size_t slot);
/* The response store is there, lent now if it was not yet (zcoap_ep_config_t::resp_store_lend);
 * false when it cannot be. Every path that takes a slot asks first. */
bool zcoap__ep_have_store(zcoap_ep_t *ep);

/* Outgoing path (ep_out.c). Each receive function returns true when the message was its own. */
bool zcoap__ep_out_receive(zcoap_ep_t *ep, const zcoap_msg_t *msg, uint64_t now_ms);
void zcoap__ep_out_timers(zcoap_ep_t *ep, uint64_t now_ms);

/* Incoming path (ep_in.c). */
bool zcoap__ep_in_receive_ack(zcoap_ep_t *ep, const zcoap_msg_t *msg, uint64_t now_ms);
void zcoap__ep_in_receive_request(zcoap_ep_t *ep, const zcoap_msg_t *msg, size_t len,
                                  uint64_t now_ms);
void zcoap__ep_in_timers(zcoap_ep_t *ep, uint64_t now_ms);
uint64_t zcoap__ep_dedup_deadline(const zcoap_ep_t *ep);

/* The client's observations (ep_obs.c). */
void zcoap__ep_obs_reset(zcoap_ep_t *ep);
/* The response to our registering request: establish the observation, or drop it. */
void zcoap__ep_obs_response(zcoap_ep_t *ep, const zcoap_msg_t *msg, uint64_t now_ms);
/* Our registering request ended without a response (timeout, RST, cancel). */
void zcoap__ep_obs_request_ended(zcoap_ep_t *ep);
/* A CON or NON response that answers no request of ours: true when it is a notification. */
bool zcoap__ep_obs_receive(zcoap_ep_t *ep, const zcoap_msg_t *msg, uint64_t now_ms);
void zcoap__ep_obs_timers(zcoap_ep_t *ep, uint64_t now_ms);
uint64_t zcoap__ep_obs_deadline(const zcoap_ep_t *ep);

#endif /* ZCOAP_ENDPOINT_INTERNAL_H */
