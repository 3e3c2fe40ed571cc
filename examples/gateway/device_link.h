/*
 * The gateway's side of one device: a zcoap_uv_client_t connected to it, observing its /temp
 * (RFC 7641) and relaying the requests of the gateway's clients to it, one at a time (NSTART = 1,
 * RFC 7252 §4.7), the others queued.
 *
 * States: CONNECTING (registering the observation), ONLINE (the device answered; its last value
 * is kept), OFFLINE (it stopped answering or refused: a retry comes after a back-off that
 * starts at 1 s and doubles up to 60 s, with a random 0-25 % added so that many devices lost
 * together do not come back in one burst). An online device silent for STALE_MS is asked again
 * (a new registration, which also tells whether it still takes the observation).
 */
#ifndef GATEWAY_DEVICE_LINK_H
#define GATEWAY_DEVICE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zcoap/uv.h"

struct gateway;
struct relay;

enum link_state { LINK_CONNECTING, LINK_ONLINE, LINK_OFFLINE };

enum {
    LINK_NAME_SIZE = 32,
    LINK_URI_SIZE = 200,
    LINK_VALUE_SIZE = 64, /* the last /temp value kept (longer ones are cut) */
    LINK_WHY_SIZE = 96,   /* why the device is offline, for the diagnostic */
    LINK_QUEUE_MAX = 8,   /* relays waiting for the one in flight; more get 5.03 */
    LINK_BACKOFF_MIN_MS = 1000,
    LINK_BACKOFF_MAX_MS = 60000,
    LINK_STALE_MS = 6000,      /* an online device notifies every 1-2 s: 6 s of silence is odd */
    LINK_ACK_TIMEOUT_MS = 1000 /* with 2 retransmissions: a silent device is offline in 7-10.5 s */
};

struct device_link {
    zcoap_uv_client_t client;
    uv_timer_t timer; /* OFFLINE: the retry; ONLINE: the staleness check */
    struct gateway *gw;
    size_t index;
    char name[LINK_NAME_SIZE];
    char url[LINK_URI_SIZE];      /* coap://host:port[/base], as shown and given */
    char temp_uri[LINK_URI_SIZE]; /* url + "/temp" */
    char led_path[LINK_URI_SIZE]; /* "/base/led" */
    struct sockaddr_storage addr; /* a simulated device's address; external: resolved */
    bool external;
    bool slow; /* simulated as slow (shown with -v) */
    bool connected;
    bool client_ready, timer_ready;
    enum link_state state;
    bool ever_online;
    bool was_offline;            /* offline since it was last online (or ever, before it was) */
    bool register_due;           /* the registration waits for the request in flight (NSTART = 1) */
    bool registering;            /* a registration of ours is in flight */
    char value[LINK_VALUE_SIZE]; /* the last representation of /temp */
    size_t value_len;
    int value_cf; /* its Content-Format, -1: none */
    uint64_t last_heard_ms;
    uint64_t retry_at_ms; /* OFFLINE: when the next try goes */
    uint32_t backoff_ms;
    char why[LINK_WHY_SIZE];
    struct relay *in_flight; /* the relay whose request is on its way to the device */
    struct relay *queue_head, *queue_tail;
    size_t queued;
    uint64_t notifications;
    bool observed; /* someone registered to /devices/NAME/temp at the gateway (gateway_server.c) */
};

/* Start the link @p l (index @p i of gw->links): connect, observe /temp. A simulated device is
 * given by @p addr, an external one by l->url (resolved here). */
int link_start(struct gateway *gw, struct device_link *l, size_t i, const struct sockaddr *addr);

/* Relay @p r to the device: now when nothing is in flight, else queued. On a full queue or an
 * offline device @p r is answered 5.03 at once. */
void link_relay(struct device_link *l, struct relay *r);

/* Answer every relay still waiting with 5.03 and the diagnostic @p why, and close the client and
 * the timer; each closed handle calls gw_handle_closed(). */
void link_close(struct device_link *l, const char *why);

/* Seconds until the next try of an offline link (at least 1), for Max-Age and diagnostics. */
uint32_t link_retry_in_s(const struct device_link *l);

#endif /* GATEWAY_DEVICE_LINK_H */
