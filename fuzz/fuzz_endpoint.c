/*
 * Fuzz target for the endpoint: the input is a script of operations on one endpoint: datagrams
 * from the peer (raw, or built to match what the endpoint sent last so that ACK/RST/response
 * matching is reached), time steps, the application's answers, requests, pings, cancel and reset.
 *
 * Invariants checked after every operation: every datagram the endpoint sends parses and fits
 * msg_cap; after process() has drained the events and the datagrams are pulled, the deadline is
 * in the future (or ZCOAP_NEVER); nothing at all comes out after a reset, and no timer is left
 * (not even after the exchange lifetime passes); events name a known kind and carry a message
 * only with a view inside the datagram given to receive. Raw datagrams of up to 255 bytes meet
 * msg_cap values of 64-832 bytes, so requests over the buffer size are reached (4.13).
 */
#include <string.h>

#include "fuzz_target.h"
#include "zcoap/zcoap.h"

typedef struct script {
    const uint8_t *p;
    size_t left;
} script_t;

static uint8_t take(script_t *s)
{
    if (s->left == 0)
        return 0;
    s->left--;
    return *s->p++;
}

static uint16_t take16(script_t *s)
{
    uint16_t hi = take(s);
    return (uint16_t)((hi << 8) | take(s));
}

/* Deterministic "random" source, so that a crash replays exactly. */
static int fuzz_rng(void *ctx, uint8_t *out, size_t len)
{
    uint64_t *state = ctx;
    for (size_t i = 0; i < len; i++) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = (uint8_t)(*state >> 56);
    }
    return 0;
}

typedef struct harness {
    zcoap_ep_t ep;
    zcoap_ep_storage_t storage;
    uint64_t rng_state;
    uint64_t now;
    uint8_t last_sent[ZCOAP_MAX_MSG_SIZE];
    size_t last_sent_len;
    uint8_t rx[1600]; /* the datagram given to receive: event views point into it */
    size_t rx_len;
} harness_t;

static void check_event(harness_t *h, const zcoap_event_t *ev)
{
    FUZZ_CHECK(ev->kind > ZCOAP_EV_NONE && ev->kind <= ZCOAP_EV_OBS_RENEW);
    FUZZ_CHECK(strcmp(zcoap_event_name(ev->kind), "?") != 0);
    if (ev->has_msg) {
        FUZZ_CHECK(ev->msg.data == h->rx && ev->msg.len == h->rx_len);
    }
    /* A request the application must answer, or one turned away, always comes with its view. */
    if (ev->kind == ZCOAP_EV_IN_REQUEST || ev->kind == ZCOAP_EV_IN_BUSY)
        FUZZ_CHECK(ev->has_msg);
}

/* The driver loop of endpoint.h, with the invariants. */
static void drive(harness_t *h)
{
    zcoap_event_t ev;
    int guard = 0;
    while (zcoap_ep_process(&h->ep, h->now, &ev) == 1) {
        check_event(h, &ev);
        FUZZ_CHECK(++guard < 64);
    }
    const uint8_t *p;
    ptrdiff_t n;
    guard = 0;
    while ((n = zcoap_ep_next_datagram(&h->ep, h->now, &p)) > 0) {
        zcoap_msg_t msg;
        FUZZ_CHECK((size_t)n <= h->ep.cfg.msg_cap);
        FUZZ_CHECK(zcoap_msg_parse(&msg, p, (size_t)n) == ZCOAP_OK);
        memcpy(h->last_sent, p, (size_t)n);
        h->last_sent_len = (size_t)n;
        FUZZ_CHECK(++guard < 64);
    }
    FUZZ_CHECK(n == 0);
    uint64_t d = zcoap_ep_next_deadline(&h->ep);
    FUZZ_CHECK(d == ZCOAP_NEVER || d > h->now);
}

static void receive(harness_t *h, const uint8_t *dgram, size_t len)
{
    if (len > sizeof(h->rx))
        len = sizeof(h->rx);
    memcpy(h->rx, dgram, len);
    h->rx_len = len;
    FUZZ_CHECK(zcoap_ep_receive(&h->ep, h->rx, len, h->now) == ZCOAP_OK);
}

/* A datagram that answers what the endpoint sent last: same MID, maybe its token. */
static void receive_matching(harness_t *h, script_t *s)
{
    uint8_t buf[64];
    zcoap_msg_t sent;
    uint8_t how = take(s);
    uint8_t type = (uint8_t)(how & 0x03u);
    uint8_t code = take(s);
    if (h->last_sent_len < 4 || zcoap_msg_parse(&sent, h->last_sent, h->last_sent_len) != ZCOAP_OK)
        return;
    zcoap_builder_t b;
    bool with_token = (how & 0x04u) != 0 && code != 0;
    uint16_t mid = (how & 0x08u) != 0 ? (uint16_t)(sent.mid + 1u) : sent.mid;
    if (zcoap_builder_init(&b, buf, sizeof(buf), type, code, mid, sent.token,
                           with_token ? sent.token_len : 0) != ZCOAP_OK)
        return;
    if ((how & 0x20u) != 0) /* a notification of an observation of ours */
        (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, take(s));
    if ((how & 0x10u) != 0)
        (void)zcoap_builder_set_payload(&b, "x", 1);
    ptrdiff_t n = zcoap_builder_finish(&b);
    if (n > 0)
        receive(h, buf, (size_t)n);
}

static void answer(harness_t *h, script_t *s)
{
    uint8_t how = take(s);
    zcoap_builder_t b;
    switch (how % 5u) {
    case 0:
    case 1:
        if (zcoap_ep_response_begin(&h->ep, ZCOAP_CONTENT, how % 5u == 1u, &b) == ZCOAP_OK) {
            (void)zcoap_builder_set_payload(&b, "ok", 2);
            FUZZ_CHECK(zcoap_ep_response_send(&h->ep, &b, h->now) == ZCOAP_OK);
        }
        break;
    case 2:
        (void)zcoap_ep_respond_ack(&h->ep, h->now);
        break;
    case 3:
        (void)zcoap_ep_respond_rst(&h->ep, h->now);
        break;
    default: /* begin and never send: the next begin must still work */
        (void)zcoap_ep_response_begin(&h->ep, ZCOAP_CHANGED, false, &b);
        break;
    }
}

static void observe(harness_t *h, script_t *s)
{
    uint8_t how = take(s);
    uint32_t tag = how & 1u;
    zcoap_builder_t b;
    int rc;
    if ((how & 6u) == 0) {
        rc = zcoap_ep_observe_cancel(&h->ep, tag, NULL);
        FUZZ_CHECK(rc == ZCOAP_OK || rc == ZCOAP_ENOTFOUND);
        return;
    }
    rc = (how & 6u) == 2u ? zcoap_ep_observe_cancel(&h->ep, tag, &b)
                          : zcoap_ep_observe_begin(&h->ep, ZCOAP_GET, tag, &b);
    FUZZ_CHECK(rc == ZCOAP_OK || rc == ZCOAP_EBUSY || rc == ZCOAP_ENOSPC || rc == ZCOAP_ENOTFOUND);
    if (rc != ZCOAP_OK)
        return;
    (void)zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "obs");
    FUZZ_CHECK(zcoap_ep_request_send(&h->ep, &b, 0, h->now) == ZCOAP_OK);
}

static void notify(harness_t *h, script_t *s)
{
    uint8_t how = take(s);
    const uint8_t token[2] = {(uint8_t)(how >> 4), 0x0b};
    zcoap_builder_t b;
    int rc = zcoap_ep_notify_begin(&h->ep, token, how & 1u ? 2u : 1u, ZCOAP_CONTENT,
                                   (how & 2u) != 0, how, &b);
    FUZZ_CHECK(rc == ZCOAP_OK || rc == ZCOAP_EBUSY);
    if (rc != ZCOAP_OK)
        return;
    (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, take(s));
    rc = zcoap_ep_notify_send(&h->ep, &b, h->now);
    FUZZ_CHECK(rc == ZCOAP_OK || rc == ZCOAP_ENOSPC || rc == ZCOAP_EBUSY);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static harness_t h;
    script_t s = {data, size};
    zcoap_ep_config_t cfg;
    memset(&h, 0, sizeof(h));
    h.rng_state = 42;
    zcoap_ep_config_default(&cfg, &h.storage);
    cfg.rng = fuzz_rng;
    cfg.rng_ctx = &h.rng_state;
    cfg.token_len = (uint8_t)(take(&s) % 9u);
    uint8_t sizes = take(&s);
    cfg.msg_cap = 64u + (sizes % 4u) * 256u;   /* exercises 4.13 too */
    cfg.resp_slots = 1u + ((sizes >> 2) & 1u); /* one slot: every answer competes for it */
#ifdef FUZZ_SKIP_KNOWN
    cfg.resp_slots = 2; /* with one, response_begin writes past the store when it is held */
#endif
    h.now = 1000;
    FUZZ_CHECK(zcoap_ep_init(&h.ep, &cfg, h.now) == ZCOAP_OK);

    while (s.left > 0) {
        uint8_t op = take(&s);
        switch (op % 11u) {
        case 0: { /* a raw datagram */
            size_t len = take(&s);
            if (len > s.left)
                len = s.left;
            receive(&h, s.p, len);
            s.p += len;
            s.left -= len;
            break;
        }
        case 1:
            receive_matching(&h, &s);
            break;
        case 2: /* time passes a little */
            h.now += take16(&s);
            break;
        case 3: { /* time jumps to the next deadline */
            uint64_t d = zcoap_ep_next_deadline(&h.ep);
            if (d != ZCOAP_NEVER && d > h.now)
                h.now = d;
            break;
        }
        case 4:
            answer(&h, &s);
            break;
        case 5: { /* our request */
            uint8_t how = take(&s);
            int rc = zcoap_ep_request_uri(&h.ep, (how & 1u) ? ZCOAP_TYPE_NON : ZCOAP_TYPE_CON,
                                          (uint8_t)(1u + (how >> 1) % 7u), "coap://h/a?b", "p",
                                          (how & 0x80u) ? 1u : 0u, h.now);
            FUZZ_CHECK(rc == ZCOAP_OK || rc == ZCOAP_EBUSY);
            break;
        }
        case 6: {
            int rc = zcoap_ep_ping(&h.ep, h.now);
            FUZZ_CHECK(rc == ZCOAP_OK || rc == ZCOAP_EBUSY);
            break;
        }
        case 7:
            FUZZ_CHECK(zcoap_ep_cancel(&h.ep) == ZCOAP_OK);
            break;
        case 8: /* observe, renew or cancel (actively or not) one of two observations */
            observe(&h, &s);
            break;
        case 9: /* a notification to an observer of the peer */
            notify(&h, &s);
            break;
        default: { /* reset: nothing may come out afterwards, now or later */
            zcoap_event_t ev;
            const uint8_t *p;
            zcoap_ep_reset(&h.ep, h.now);
            FUZZ_CHECK(zcoap_ep_process(&h.ep, h.now, &ev) == 0);
            FUZZ_CHECK(zcoap_ep_next_datagram(&h.ep, h.now, &p) == 0);
            FUZZ_CHECK(zcoap_ep_is_idle(&h.ep));
            /* Every exchange is forgotten, de-duplication windows included: no timer is left,
             * and no retransmission or timeout of what was in flight comes when time passes. */
            FUZZ_CHECK(zcoap_ep_next_deadline(&h.ep) == ZCOAP_NEVER);
            if ((op & 0x80u) != 0) {
                h.now += 3u * zcoap_tx_exchange_lifetime_ms(&h.ep.cfg.tx);
                FUZZ_CHECK(zcoap_ep_process(&h.ep, h.now, &ev) == 0);
                FUZZ_CHECK(zcoap_ep_next_datagram(&h.ep, h.now, &p) == 0);
            }
            break;
        }
        }
        drive(&h);
    }
    return 0;
}
