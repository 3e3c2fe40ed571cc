/*
 * Observations of the libuv adapter's client (zcoap_uv_client_observe(), _observe_cancel(),
 * _observing(); RFC 7641) on a real loop over IPv4 loopback, end to end through the endpoint.
 *
 * The server is a raw UDP socket (uvt_peer_t, tests/support/uv_support.h) so that the tests
 * choose every Observe number, the order, CON or NON, and duplicates. Its script answers the
 * client's requests as each test sets it (registration taken or not, or acknowledged now and
 * answered later; a deregistration; plain requests answered at once or later); the test body
 * sends the notifications itself, to the address the requests came from. Callbacks only record;
 * the test body asserts once the loop is back. Waits run the loop for a bounded loop time; the
 * renewal tests let Max-Age (1 s) plus ZCOAP_OBS_RENEW_MARGIN_MS pass on the loop's clock,
 * nothing sleeps. Every test ends with all handles closed and uv_loop_close() == 0.
 *
 * Test names carry the ETSI CoAP plugtest case they cover where there is one (TD_COAP_OBS_*),
 * as the endpoint's lockstep tests do (tests/unit/test_endpoint_observe.c).
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "uv_support.h"
#include "zcoap/uv.h"

#define TAG 7u
#define OTHER_TAG 8u

enum {
    GUARD_MS = 5000, /* loop time after which a wait counts as failed */
    /* Max-Age 1 s of the renewal tests, plus the margin: when OBS_RENEW is due */
    RENEW_MAX_AGE_S = 1,
    RENEW_AFTER_MS = RENEW_MAX_AGE_S * 1000 + ZCOAP_OBS_RENEW_MARGIN_MS,
    RENEW_GUARD_MS = RENEW_AFTER_MS + GUARD_MS,
    ACK_TIMEOUT_MS = 500, /* nothing is retransmitted while the peer answers on loopback */
    FAST_ACK_TIMEOUT_MS = 100,
    MAX_EVENTS = 64,
    MAX_REQUESTS = 16,
    PAYLOAD_MAX = 64,
    SEPARATE_MID = 0x5000, /* message IDs of the peer's separate responses */
    NOTIFY_MID = 0x6000    /* and of its notifications (a test adds an index) */
};

/* How the peer answers a registration (GET with Observe 0). */
typedef enum reg_reply {
    REG_OBSERVE, /* 2.05 piggybacked, with Observe (reg_seq) and Max-Age when set */
    REG_PLAIN,   /* 2.05 piggybacked, without Observe: not taken (§3.1) */
    REG_LATER,   /* an Empty ACK; the test body sends the separate response */
    REG_SILENT   /* nothing */
} reg_reply_t;

/* How the peer answers a plain request (no Observe). */
typedef enum plain_reply {
    PLAIN_PIGGYBACK,             /* 2.05 "plain" in the ACK */
    PLAIN_LATER,                 /* an Empty ACK; the test body sends the separate response */
    PLAIN_NOTIFY_THEN_PIGGYBACK, /* a NON notification first, then 2.05 "plain" in the ACK */
} plain_reply_t;

/* One event as the client reported it. */
typedef struct seen_event {
    zcoap_event_kind_t kind;
    uint32_t tag;
    uint64_t at_ms;
    bool has_msg;
    uint8_t code;
    char payload[PAYLOAD_MAX];
    size_t payload_len;
    bool observing; /* zcoap_uv_client_observing(TAG) when it was delivered */
} seen_event_t;

/* One request the peer received, with the option values the tests look at. */
typedef struct seen_request {
    uint8_t type;
    uint8_t code;
    uint16_t mid;
    uint8_t token[ZCOAP_MAX_TOKEN_LEN];
    uint8_t token_len;
    bool has_observe;
    uint32_t observe;
    char path[32]; /* the one Uri-Path segment */
} seen_request_t;

typedef struct fixture {
    uvt_loop_t uv;

    /* The server: its script's settings, and what it saw. */
    uvt_peer_t peer;
    reg_reply_t reg_reply;
    plain_reply_t plain_reply;
    uint32_t reg_seq;    /* Observe of the registration's answer */
    int32_t max_age_s;   /* Max-Age of answers and notifications, -1: none */
    uint32_t notify_seq; /* Observe of the notification of PLAIN_NOTIFY_THEN_PIGGYBACK */
    struct sockaddr_storage client_addr;
    seen_request_t requests[MAX_REQUESTS];
    size_t n_requests;
    seen_request_t last_registration; /* its token names the observation in notifications */
    seen_request_t last_plain;

    /* The client. */
    zcoap_uv_client_t client;
    zcoap_ep_config_t cfg;
    zcoap_ep_storage_t storage;
    bool client_inited;
    bool client_close_requested;
    int close_calls;
    size_t events_after_close;
    seen_event_t events[MAX_EVENTS];
    size_t n_events;
    bool request_on_renew; /* the event callback sends GET /plain on OBS_RENEW */
    int request_on_renew_rc;

    /* What a wait waits for. */
    zcoap_event_kind_t wait_kind;
    size_t wait_count;
} fixture_t;

/* ---- waits, setup, teardown ----------------------------------------------------------------- */

static size_t count_events(const fixture_t *f, zcoap_event_kind_t kind)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_events; i++) {
        if (f->events[i].kind == kind) {
            n++;
        }
    }
    return n;
}

static bool enough_events(const void *ctx)
{
    const fixture_t *f = ctx;
    return count_events(f, f->wait_kind) >= f->wait_count;
}

static bool enough_rx(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->peer.n_rx >= f->wait_count;
}

static bool client_closed(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->close_calls > 0;
}

/* Run the loop until the client has reported @p count events of @p kind in all. */
static void wait_events(fixture_t *f, zcoap_event_kind_t kind, size_t count, uint64_t guard_ms)
{
    f->wait_kind = kind;
    f->wait_count = count;
    if (!uvt_run_until(&f->uv, guard_ms, enough_events, f)) {
        fail_msg("%zu %s event(s) of %zu within %llu ms of loop time", count_events(f, kind),
                 zcoap_event_name(kind), count, (unsigned long long)guard_ms);
    }
}

/* Run the loop until the peer has received @p count datagrams in all. */
static void wait_rx(fixture_t *f, size_t count)
{
    f->wait_count = count;
    if (!uvt_run_until(&f->uv, GUARD_MS, enough_rx, f)) {
        fail_msg("the peer got %zu datagram(s), not %zu, within %d ms", f->peer.n_rx, count,
                 GUARD_MS);
    }
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL || uvt_loop_init(&f->uv) != 0) {
        free(f);
        return -1;
    }
    f->max_age_s = -1;
    *state = f;
    return 0;
}

static void on_client_closed(zcoap_uv_client_t *c)
{
    fixture_t *f = c->data;
    f->close_calls++;
}

static void close_client(fixture_t *f)
{
    f->client_close_requested = true;
    zcoap_uv_client_close(&f->client, on_client_closed);
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f->client_inited && !f->client_close_requested) {
        close_client(f);
    }
    uvt_peer_close(&f->peer);
    if (f->client_inited) {
        assert_true(uvt_run_until(&f->uv, GUARD_MS, client_closed, f));
        assert_int_equal(f->close_calls, 1);
        assert_int_equal(f->events_after_close, 0);
    }
    uvt_loop_end(&f->uv);
    assert_int_equal(f->peer.send_errors, 0);
    assert_int_equal(f->peer.not_coap, 0);
    free(f);
    return 0;
}

/* ---- the server ------------------------------------------------------------------------------ */

static void keep_request(fixture_t *f, const zcoap_msg_t *msg, seen_request_t *r)
{
    memset(r, 0, sizeof *r);
    r->type = msg->type;
    r->code = msg->code;
    r->mid = msg->mid;
    r->token_len = msg->token_len;
    memcpy(r->token, msg->token, msg->token_len);
    r->has_observe = zcoap_msg_get_uint(msg, ZCOAP_OPT_OBSERVE, &r->observe) == ZCOAP_OK;
    zcoap_opt_t opt;
    if (zcoap_msg_find_opt(msg, ZCOAP_OPT_URI_PATH, &opt) && opt.len < sizeof r->path) {
        memcpy(r->path, opt.val, opt.len);
    }
    if (f->n_requests < MAX_REQUESTS) {
        f->requests[f->n_requests++] = *r;
    }
}

/* A response of the peer: piggybacked in the ACK of @p req, or (req NULL) a separate or
 * notification message of @p type, @p mid and the last registration's token. Observe when
 * @p seq >= 0, Max-Age when set. */
static void send_response(fixture_t *f, const zcoap_msg_t *req, uint8_t type, uint16_t mid,
                          const seen_request_t *to, uint8_t code, int64_t seq, const char *payload)
{
    uint8_t buf[256];
    zcoap_builder_t b;
    if (req != NULL) {
        (void)zcoap_builder_init_response(&b, buf, sizeof buf, req, code, req->mid);
    } else {
        (void)zcoap_builder_init(&b, buf, sizeof buf, type, code, mid, to->token, to->token_len);
    }
    if (seq >= 0) {
        (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, (uint32_t)seq);
    }
    if (f->max_age_s >= 0) {
        (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_MAX_AGE, (uint32_t)f->max_age_s);
    }
    (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_CONTENT_FORMAT, ZCOAP_CF_TEXT_PLAIN);
    (void)zcoap_builder_set_payload(&b, payload, strlen(payload));
    (void)uvt_peer_send(&f->peer, &f->client_addr, buf, zcoap_builder_finish(&b));
}

static void send_empty(fixture_t *f, uint8_t type, uint16_t mid)
{
    uint8_t buf[4];
    (void)uvt_peer_send(&f->peer, &f->client_addr, buf,
                        zcoap_build_empty(buf, sizeof buf, type, mid));
}

/* A notification of the observation (the last registration's token). */
static void notify(fixture_t *f, uint8_t type, uint16_t mid, uint8_t code, int64_t seq,
                   const char *payload)
{
    send_response(f, NULL, type, mid, &f->last_registration, code, seq, payload);
}

/* The server's script: registrations, deregistrations and plain requests as the test set it. */
static void script_server(uvt_peer_t *p, const struct sockaddr_storage *from,
                          const zcoap_msg_t *msg)
{
    fixture_t *f = p->data;
    f->client_addr = *from;
    if (!zcoap_code_is_request(msg->code)) {
        return; /* the client's ACKs and RSTs: recorded by the peer */
    }
    seen_request_t r;
    keep_request(f, msg, &r);
    if (r.has_observe && r.observe == ZCOAP_OBS_REGISTER) {
        f->last_registration = r;
        switch (f->reg_reply) {
        case REG_OBSERVE:
            send_response(f, msg, 0, 0, NULL, ZCOAP_CONTENT, f->reg_seq, "registered");
            break;
        case REG_PLAIN:
            send_response(f, msg, 0, 0, NULL, ZCOAP_CONTENT, -1, "not observable");
            break;
        case REG_LATER:
            send_empty(f, ZCOAP_TYPE_ACK, msg->mid);
            break;
        case REG_SILENT:
            break;
        }
    } else if (r.has_observe && r.observe == ZCOAP_OBS_DEREGISTER) {
        send_response(f, msg, 0, 0, NULL, ZCOAP_CONTENT, -1, "deregistered");
    } else {
        f->last_plain = r;
        switch (f->plain_reply) {
        case PLAIN_PIGGYBACK:
            send_response(f, msg, 0, 0, NULL, ZCOAP_CONTENT, -1, "plain");
            break;
        case PLAIN_LATER:
            send_empty(f, ZCOAP_TYPE_ACK, msg->mid);
            break;
        case PLAIN_NOTIFY_THEN_PIGGYBACK:
            notify(f, ZCOAP_TYPE_NON, NOTIFY_MID + 100, ZCOAP_CONTENT, f->notify_seq, "meanwhile");
            send_response(f, msg, 0, 0, NULL, ZCOAP_CONTENT, -1, "plain");
            break;
        }
    }
}

/* The separate CON response to the last plain request. */
static void answer_plain_later(fixture_t *f)
{
    send_response(f, NULL, ZCOAP_TYPE_CON, SEPARATE_MID, &f->last_plain, ZCOAP_CONTENT, -1,
                  "plain, later");
}

/* ---- the client ------------------------------------------------------------------------------ */

static void on_client_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    fixture_t *f = c->data;
    if (f->client_close_requested) {
        f->events_after_close++;
        return;
    }
    if (f->n_events == MAX_EVENTS) {
        return;
    }
    seen_event_t *e = &f->events[f->n_events++];
    e->kind = ev->kind;
    e->tag = ev->tag;
    e->at_ms = uv_now(&f->uv.loop);
    e->has_msg = ev->has_msg;
    e->observing = zcoap_uv_client_observing(c, TAG);
    if (ev->has_msg) {
        e->code = ev->msg.code;
        e->payload_len =
            ev->msg.payload_len < PAYLOAD_MAX - 1 ? ev->msg.payload_len : PAYLOAD_MAX - 1;
        if (e->payload_len > 0) {
            memcpy(e->payload, ev->msg.payload, e->payload_len);
        }
    }
    if (ev->kind == ZCOAP_EV_OBS_RENEW && f->request_on_renew) {
        char uri[128];
        f->request_on_renew_rc =
            zcoap_uv_client_request(c, ZCOAP_TYPE_CON, ZCOAP_GET,
                                    uvt_uri(uri, sizeof uri, &f->peer.addr, "plain"), NULL, 0);
    }
}

/* Start the peer, then a client connected to it with ACK_TIMEOUT @p ack_timeout_ms (no random
 * factor) and 2 retransmissions. */
static void start(fixture_t *f, uint32_t ack_timeout_ms)
{
    f->peer.data = f;
    f->peer.on_msg = script_server;
    uvt_require_loopback(AF_INET, uvt_peer_open(&f->peer, &f->uv.loop, AF_INET, 0));
    zcoap_ep_config_default(&f->cfg, &f->storage);
    f->cfg.tx.ack_timeout_ms = ack_timeout_ms;
    f->cfg.tx.ack_random_factor_permil = 1000;
    f->cfg.tx.max_retransmit = 2;
    f->client.data = f;
    assert_int_equal(zcoap_uv_client_init(&f->uv.loop, &f->client, &f->cfg, on_client_event), 0);
    f->client_inited = true;
    assert_int_equal(zcoap_uv_client_connect(&f->client, (const struct sockaddr *)&f->peer.addr),
                     0);
}

static const char *uri_of(fixture_t *f, const char *path)
{
    static char uri[128];
    return uvt_uri(uri, sizeof uri, &f->peer.addr, path);
}

/* Observe /obs with TAG and wait until the registration's answer is in. */
static void observe(fixture_t *f)
{
    assert_int_equal(zcoap_uv_client_observe(&f->client, uri_of(f, "obs"), TAG), 0);
    wait_events(f, ZCOAP_EV_OUT_RESPONSE, count_events(f, ZCOAP_EV_OUT_RESPONSE) + 1, GUARD_MS);
}

/* The @p n-th (from 0) event of @p kind; fails the test if there is none. */
static const seen_event_t *nth_event(const fixture_t *f, zcoap_event_kind_t kind, size_t n)
{
    for (size_t i = 0; i < f->n_events; i++) {
        if (f->events[i].kind == kind && n-- == 0) {
            return &f->events[i];
        }
    }
    fail_msg("no %s event number %zu", zcoap_event_name(kind), n);
    return NULL;
}

static void assert_payload(const seen_event_t *e, const char *payload)
{
    assert_true(e->has_msg);
    assert_int_equal(e->payload_len, strlen(payload));
    assert_memory_equal(e->payload, payload, e->payload_len);
}

/* The kinds of the events since @p from, in order (ZCOAP_EV_NONE ends @p want). */
static void assert_kinds_since(const fixture_t *f, size_t from, const zcoap_event_kind_t *want)
{
    size_t i = 0;
    for (; want[i] != ZCOAP_EV_NONE; i++) {
        if (from + i >= f->n_events) {
            fail_msg("event %zu: none, expected %s", from + i, zcoap_event_name(want[i]));
        }
        if (f->events[from + i].kind != want[i]) {
            fail_msg("event %zu: %s, expected %s", from + i,
                     zcoap_event_name(f->events[from + i].kind), zcoap_event_name(want[i]));
        }
    }
    if (from + i != f->n_events) {
        fail_msg("event %zu: %s, expected none", from + i,
                 zcoap_event_name(f->events[from + i].kind));
    }
}

/* Datagram @p i the peer received is an Empty ACK or RST (@p type) of @p mid. */
static void assert_empty_rx(const fixture_t *f, size_t i, uint8_t type, uint16_t mid)
{
    zcoap_msg_t m = uvt_peer_rx_msg(&f->peer, i);
    assert_int_equal(m.type, type);
    assert_int_equal(m.code, ZCOAP_CODE_EMPTY);
    assert_int_equal(m.mid, mid);
    assert_int_equal(m.len, 4);
}

static void assert_same_token(const seen_request_t *a, const seen_request_t *b)
{
    assert_int_equal(a->token_len, b->token_len);
    assert_memory_equal(a->token, b->token, a->token_len);
}

/* ---- registration and notifications ---------------------------------------------------------- */

/* TD_COAP_OBS_01 and _02 (client side): a CON GET with Observe 0 and the URI's Uri-Path; the
 * answer with Observe establishes it; NON and CON notifications are reported with their
 * payloads and tag, CON ones acknowledged with an Empty ACK of their message ID. */
static void td_coap_obs_01_02_register_then_non_and_con_notifications(void **state)
{
    fixture_t *f = *state;
    f->reg_seq = 2;
    start(f, ACK_TIMEOUT_MS);

    observe(f);
    const zcoap_event_kind_t registered[] = {ZCOAP_EV_OUT_CON_SENT, ZCOAP_EV_OUT_RESPONSE,
                                             ZCOAP_EV_NONE};
    assert_kinds_since(f, 0, registered);
    for (size_t i = 0; i < f->n_events; i++) {
        assert_int_equal(f->events[i].tag, TAG);
    }
    assert_payload(nth_event(f, ZCOAP_EV_OUT_RESPONSE, 0), "registered");
    assert_true(nth_event(f, ZCOAP_EV_OUT_RESPONSE, 0)->observing);
    assert_true(zcoap_uv_client_observing(&f->client, TAG));
    assert_false(zcoap_uv_client_observing(&f->client, OTHER_TAG));
    assert_int_equal(f->n_requests, 1);
    assert_int_equal(f->requests[0].type, ZCOAP_TYPE_CON);
    assert_int_equal(f->requests[0].code, ZCOAP_GET);
    assert_true(f->requests[0].has_observe);
    assert_int_equal(f->requests[0].observe, ZCOAP_OBS_REGISTER);
    assert_string_equal(f->requests[0].path, "obs");
    assert_true(f->requests[0].token_len > 0);

    notify(f, ZCOAP_TYPE_NON, NOTIFY_MID, ZCOAP_CONTENT, 3, "first");
    wait_events(f, ZCOAP_EV_OBS_NOTIFICATION, 1, GUARD_MS);
    notify(f, ZCOAP_TYPE_CON, NOTIFY_MID + 1, ZCOAP_CONTENT, 4, "second");
    wait_events(f, ZCOAP_EV_OBS_NOTIFICATION, 2, GUARD_MS);
    wait_rx(f, 2);

    const seen_event_t *n1 = nth_event(f, ZCOAP_EV_OBS_NOTIFICATION, 0);
    const seen_event_t *n2 = nth_event(f, ZCOAP_EV_OBS_NOTIFICATION, 1);
    assert_int_equal(n1->tag, TAG);
    assert_int_equal(n1->code, ZCOAP_CONTENT);
    assert_payload(n1, "first");
    assert_int_equal(n2->tag, TAG);
    assert_payload(n2, "second");
    /* The NON one got nothing back; the CON one its ACK. */
    assert_int_equal(f->peer.n_rx, 2);
    assert_empty_rx(f, 1, ZCOAP_TYPE_ACK, NOTIFY_MID + 1);
}

/* Every copy of a CON notification is acknowledged (a server that counts on the ACK must not
 * drop us: libcoap once did when a duplicate went unanswered); it is reported once. */
static void duplicate_con_notification_acknowledged_every_time_reported_once(void **state)
{
    fixture_t *f = *state;
    start(f, ACK_TIMEOUT_MS);
    observe(f);

    for (int copy = 0; copy < 3; copy++) {
        notify(f, ZCOAP_TYPE_CON, NOTIFY_MID, ZCOAP_CONTENT, 5, "once");
    }
    wait_rx(f, 1 + 3);
    notify(f, ZCOAP_TYPE_NON, NOTIFY_MID + 1, ZCOAP_CONTENT, 6, "after");
    wait_events(f, ZCOAP_EV_OBS_NOTIFICATION, 2, GUARD_MS);

    for (size_t i = 1; i <= 3; i++) {
        assert_empty_rx(f, i, ZCOAP_TYPE_ACK, NOTIFY_MID);
    }
    assert_int_equal(count_events(f, ZCOAP_EV_OBS_NOTIFICATION), 2);
    assert_payload(nth_event(f, ZCOAP_EV_OBS_NOTIFICATION, 0), "once");
    assert_payload(nth_event(f, ZCOAP_EV_OBS_NOTIFICATION, 1), "after");
    assert_int_equal(count_events(f, ZCOAP_EV_OUT_DUPLICATE_RESPONSE), 2);
}

/* §3.4: a notification older than the last one taken (reordered by the network) is dropped,
 * still acknowledged when CON; fresher ones keep coming. */
static void reordered_notification_is_dropped(void **state)
{
    fixture_t *f = *state;
    f->reg_seq = 100;
    start(f, ACK_TIMEOUT_MS);
    observe(f);

    notify(f, ZCOAP_TYPE_NON, NOTIFY_MID, ZCOAP_CONTENT, 110, "110");
    notify(f, ZCOAP_TYPE_CON, NOTIFY_MID + 1, ZCOAP_CONTENT, 109, "109, late");
    notify(f, ZCOAP_TYPE_NON, NOTIFY_MID + 2, ZCOAP_CONTENT, 100, "100, repeated");
    notify(f, ZCOAP_TYPE_NON, NOTIFY_MID + 3, ZCOAP_CONTENT, 111, "111");
    wait_events(f, ZCOAP_EV_OBS_NOTIFICATION, 2, GUARD_MS);
    wait_rx(f, 2);

    assert_int_equal(count_events(f, ZCOAP_EV_OBS_NOTIFICATION), 2);
    assert_payload(nth_event(f, ZCOAP_EV_OBS_NOTIFICATION, 0), "110");
    assert_payload(nth_event(f, ZCOAP_EV_OBS_NOTIFICATION, 1), "111");
    assert_empty_rx(f, 1, ZCOAP_TYPE_ACK, NOTIFY_MID + 1); /* the late CON one: ACKed */
    assert_true(zcoap_uv_client_observing(&f->client, TAG));
}

/* §4.4: Observe numbers are 24 bits; 0xFFFFFF is followed by 0, 1 (fresher, by serial
 * arithmetic), and 0xFFFFF0 after them is old. */
static void sequence_number_wraps_at_24_bits(void **state)
{
    fixture_t *f = *state;
    f->reg_seq = 0xFFFFFE;
    start(f, ACK_TIMEOUT_MS);
    observe(f);

    notify(f, ZCOAP_TYPE_NON, NOTIFY_MID, ZCOAP_CONTENT, 0xFFFFFF, "ffffff");
    notify(f, ZCOAP_TYPE_NON, NOTIFY_MID + 1, ZCOAP_CONTENT, 0, "0");
    notify(f, ZCOAP_TYPE_NON, NOTIFY_MID + 2, ZCOAP_CONTENT, 0xFFFFF0, "fffff0, old");
    notify(f, ZCOAP_TYPE_NON, NOTIFY_MID + 3, ZCOAP_CONTENT, 1, "1");
    wait_events(f, ZCOAP_EV_OBS_NOTIFICATION, 3, GUARD_MS);
    notify(f, ZCOAP_TYPE_NON, NOTIFY_MID + 4, ZCOAP_CONTENT, 2, "2");
    wait_events(f, ZCOAP_EV_OBS_NOTIFICATION, 4, GUARD_MS);

    const char *want[] = {"ffffff", "0", "1", "2"};
    assert_int_equal(count_events(f, ZCOAP_EV_OBS_NOTIFICATION), 4);
    for (size_t i = 0; i < 4; i++) {
        assert_payload(nth_event(f, ZCOAP_EV_OBS_NOTIFICATION, i), want[i]);
    }
}

/* A request while observing gets its answer, with its own token, while notifications keep
 * coming: one before the answer, one after (the observation does not take the request slot of
 * NSTART = 1). */
static void request_while_observing_is_answered_and_notifications_go_on(void **state)
{
    fixture_t *f = *state;
    f->plain_reply = PLAIN_NOTIFY_THEN_PIGGYBACK;
    f->notify_seq = 3;
    start(f, ACK_TIMEOUT_MS);
    observe(f);

    size_t from = f->n_events;
    assert_int_equal(
        zcoap_uv_client_request(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET, uri_of(f, "plain"), NULL, 0),
        0);
    wait_events(f, ZCOAP_EV_OUT_RESPONSE, 2, GUARD_MS);
    notify(f, ZCOAP_TYPE_CON, NOTIFY_MID, ZCOAP_CONTENT, 4, "after");
    wait_events(f, ZCOAP_EV_OBS_NOTIFICATION, 2, GUARD_MS);

    const zcoap_event_kind_t want[] = {ZCOAP_EV_OUT_CON_SENT, ZCOAP_EV_OBS_NOTIFICATION,
                                       ZCOAP_EV_OUT_RESPONSE, ZCOAP_EV_OBS_NOTIFICATION,
                                       ZCOAP_EV_NONE};
    assert_kinds_since(f, from, want);
    assert_int_equal(f->events[from].tag, 0); /* a plain request's events carry no tag */
    assert_int_equal(f->events[from + 1].tag, TAG);
    assert_payload(&f->events[from + 1], "meanwhile");
    assert_int_equal(f->events[from + 2].tag, 0);
    assert_payload(&f->events[from + 2], "plain");
    assert_int_equal(f->events[from + 3].tag, TAG);
    assert_payload(&f->events[from + 3], "after");
    assert_string_equal(f->last_plain.path, "plain");
    assert_false(f->last_plain.has_observe);
    assert_false(f->last_plain.token_len == f->last_registration.token_len &&
                 memcmp(f->last_plain.token, f->last_registration.token, f->last_plain.token_len) ==
                     0);
    assert_true(zcoap_uv_client_observing(&f->client, TAG));
}

/* ---- the server ends it, or does not take it ------------------------------------------------- */

/* §3.2: an error notification is the last one: OBS_ENDED with it, acknowledged if CON; the
 * client forgets the observation, so the next notification with that token gets RST. */
static void error_notification_ends_the_observation(void **state)
{
    fixture_t *f = *state;
    start(f, ACK_TIMEOUT_MS);
    observe(f);

    notify(f, ZCOAP_TYPE_CON, NOTIFY_MID, ZCOAP_NOT_FOUND, -1, "gone");
    wait_events(f, ZCOAP_EV_OBS_ENDED, 1, GUARD_MS);
    wait_rx(f, 2);
    notify(f, ZCOAP_TYPE_NON, NOTIFY_MID + 1, ZCOAP_CONTENT, 9, "stray");
    wait_rx(f, 3);

    const seen_event_t *end = nth_event(f, ZCOAP_EV_OBS_ENDED, 0);
    assert_int_equal(end->tag, TAG);
    assert_int_equal(end->code, ZCOAP_NOT_FOUND);
    assert_payload(end, "gone");
    assert_false(end->observing);
    assert_empty_rx(f, 1, ZCOAP_TYPE_ACK, NOTIFY_MID);
    assert_empty_rx(f, 2, ZCOAP_TYPE_RST, NOTIFY_MID + 1);
    assert_int_equal(count_events(f, ZCOAP_EV_OBS_NOTIFICATION), 0);
    assert_false(zcoap_uv_client_observing(&f->client, TAG));
    assert_int_equal(zcoap_uv_client_observe_cancel(&f->client, TAG, true), ZCOAP_ENOTFOUND);
    /* Its slot is free again: two observations fit (ZCOAP_EP_DEFAULT_OBSERVATIONS). */
    observe(f);
    assert_int_equal(zcoap_uv_client_observe(&f->client, uri_of(f, "obs2"), OTHER_TAG), 0);
    wait_events(f, ZCOAP_EV_OUT_RESPONSE, 3, GUARD_MS);
    assert_true(zcoap_uv_client_observing(&f->client, TAG));
    assert_true(zcoap_uv_client_observing(&f->client, OTHER_TAG));
}

/* §3.1: an answer without Observe is delivered, but nothing is observed; a notification with
 * the registration's token then gets RST. */
static void registration_not_taken(void **state)
{
    fixture_t *f = *state;
    f->reg_reply = REG_PLAIN;
    start(f, ACK_TIMEOUT_MS);
    observe(f);

    const seen_event_t *resp = nth_event(f, ZCOAP_EV_OUT_RESPONSE, 0);
    assert_int_equal(resp->tag, TAG);
    assert_payload(resp, "not observable");
    assert_false(resp->observing);
    notify(f, ZCOAP_TYPE_CON, NOTIFY_MID, ZCOAP_CONTENT, 3, "stray");
    wait_rx(f, 2);
    assert_empty_rx(f, 1, ZCOAP_TYPE_RST, NOTIFY_MID);
    assert_int_equal(count_events(f, ZCOAP_EV_OBS_NOTIFICATION), 0);
    assert_int_equal(zcoap_uv_client_observe_cancel(&f->client, TAG, false), ZCOAP_ENOTFOUND);
}

/* ---- cancelling ------------------------------------------------------------------------------ */

/* §3.6, passive: the client forgets; the next notification, NON or CON, gets RST and is not
 * reported. */
static void passive_cancel_then_notifications_get_rst(void **state)
{
    fixture_t *f = *state;
    start(f, ACK_TIMEOUT_MS);
    observe(f);

    assert_int_equal(zcoap_uv_client_observe_cancel(&f->client, TAG, false), 0);
    assert_false(zcoap_uv_client_observing(&f->client, TAG));
    notify(f, ZCOAP_TYPE_NON, NOTIFY_MID, ZCOAP_CONTENT, 3, "non");
    wait_rx(f, 2);
    notify(f, ZCOAP_TYPE_CON, NOTIFY_MID + 1, ZCOAP_CONTENT, 4, "con");
    wait_rx(f, 3);

    assert_empty_rx(f, 1, ZCOAP_TYPE_RST, NOTIFY_MID);
    assert_empty_rx(f, 2, ZCOAP_TYPE_RST, NOTIFY_MID + 1);
    assert_int_equal(count_events(f, ZCOAP_EV_OBS_NOTIFICATION), 0);
    assert_int_equal(f->n_requests, 1); /* nothing but the registration was sent */
    assert_int_equal(zcoap_uv_client_observe_cancel(&f->client, TAG, false), ZCOAP_ENOTFOUND);
}

/* §3.6, active: a CON GET with Observe 1, the registration's token and Uri-Path; its events
 * carry the tag; the observation is over. */
static void active_cancel_sends_get_observe_1_same_token_and_path(void **state)
{
    fixture_t *f = *state;
    start(f, ACK_TIMEOUT_MS);
    observe(f);

    size_t from = f->n_events;
    assert_int_equal(zcoap_uv_client_observe_cancel(&f->client, TAG, true), 0);
    wait_events(f, ZCOAP_EV_OUT_RESPONSE, 2, GUARD_MS);

    assert_int_equal(f->n_requests, 2);
    const seen_request_t *cancel = &f->requests[1];
    assert_int_equal(cancel->type, ZCOAP_TYPE_CON);
    assert_int_equal(cancel->code, ZCOAP_GET);
    assert_true(cancel->has_observe);
    assert_int_equal(cancel->observe, ZCOAP_OBS_DEREGISTER);
    assert_string_equal(cancel->path, "obs");
    assert_same_token(cancel, &f->requests[0]);
    const zcoap_event_kind_t want[] = {ZCOAP_EV_OUT_CON_SENT, ZCOAP_EV_OUT_RESPONSE, ZCOAP_EV_NONE};
    assert_kinds_since(f, from, want);
    assert_int_equal(f->events[from].tag, TAG);
    assert_int_equal(f->events[from + 1].tag, TAG);
    assert_payload(&f->events[from + 1], "deregistered");
    assert_false(zcoap_uv_client_observing(&f->client, TAG));
    /* A late notification is not reported, and gets RST. */
    notify(f, ZCOAP_TYPE_NON, NOTIFY_MID, ZCOAP_CONTENT, 3, "late");
    wait_rx(f, 3);
    assert_empty_rx(f, 2, ZCOAP_TYPE_RST, NOTIFY_MID);
    assert_int_equal(count_events(f, ZCOAP_EV_OBS_NOTIFICATION), 0);
}

/* An active cancel while a plain request is in flight goes as soon as that one is answered;
 * notifications in between are acknowledged but no longer reported. */
static void active_cancel_waits_for_the_request_in_flight(void **state)
{
    fixture_t *f = *state;
    f->plain_reply = PLAIN_LATER;
    start(f, ACK_TIMEOUT_MS);
    observe(f);
    assert_int_equal(
        zcoap_uv_client_request(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET, uri_of(f, "slow"), NULL, 0),
        0);
    wait_events(f, ZCOAP_EV_OUT_EMPTY_ACK, 1, GUARD_MS);

    size_t from = f->n_events;
    assert_int_equal(zcoap_uv_client_observe_cancel(&f->client, TAG, true), 0);
    notify(f, ZCOAP_TYPE_CON, NOTIFY_MID, ZCOAP_CONTENT, 3, "hidden");
    wait_rx(f, 3);                      /* registration, plain GET, ACK of the notification */
    assert_int_equal(f->n_requests, 2); /* no GET with Observe 1 yet: NSTART = 1 */
    assert_true(zcoap_uv_client_observing(&f->client, TAG));
    assert_int_equal(zcoap_uv_client_observe(&f->client, uri_of(f, "obs"), TAG), ZCOAP_EBUSY);

    answer_plain_later(f);
    wait_events(f, ZCOAP_EV_OUT_RESPONSE, 3, GUARD_MS);

    assert_empty_rx(f, 2, ZCOAP_TYPE_ACK, NOTIFY_MID);
    const zcoap_event_kind_t want[] = {ZCOAP_EV_OUT_RESPONSE, ZCOAP_EV_OUT_CON_SENT,
                                       ZCOAP_EV_OUT_RESPONSE, ZCOAP_EV_NONE};
    assert_kinds_since(f, from, want);
    assert_int_equal(f->events[from].tag, 0);
    assert_payload(&f->events[from], "plain, later");
    assert_int_equal(f->events[from + 1].tag, TAG);
    assert_int_equal(f->events[from + 2].tag, TAG);
    assert_payload(&f->events[from + 2], "deregistered");
    assert_int_equal(f->n_requests, 3);
    assert_true(f->requests[2].has_observe);
    assert_int_equal(f->requests[2].observe, ZCOAP_OBS_DEREGISTER);
    assert_same_token(&f->requests[2], &f->requests[0]);
    assert_false(zcoap_uv_client_observing(&f->client, TAG));
}

/* An active cancel while the registration itself is in flight: once it is answered with
 * Observe, the GET with Observe 1 follows. */
static void active_cancel_during_registration_follows_its_answer(void **state)
{
    fixture_t *f = *state;
    f->reg_reply = REG_LATER;
    start(f, ACK_TIMEOUT_MS);
    assert_int_equal(zcoap_uv_client_observe(&f->client, uri_of(f, "obs"), TAG), 0);
    wait_events(f, ZCOAP_EV_OUT_EMPTY_ACK, 1, GUARD_MS);

    assert_int_equal(zcoap_uv_client_observe_cancel(&f->client, TAG, true), 0);
    send_response(f, NULL, ZCOAP_TYPE_CON, SEPARATE_MID, &f->last_registration, ZCOAP_CONTENT, 2,
                  "registered, later");
    wait_events(f, ZCOAP_EV_OUT_RESPONSE, 2, GUARD_MS);

    const zcoap_event_kind_t want[] = {ZCOAP_EV_OUT_CON_SENT, ZCOAP_EV_OUT_EMPTY_ACK,
                                       ZCOAP_EV_OUT_RESPONSE, ZCOAP_EV_OUT_CON_SENT,
                                       ZCOAP_EV_OUT_RESPONSE, ZCOAP_EV_NONE};
    assert_kinds_since(f, 0, want);
    assert_payload(&f->events[2], "registered, later");
    assert_payload(&f->events[4], "deregistered");
    assert_int_equal(f->n_requests, 2);
    assert_int_equal(f->requests[1].observe, ZCOAP_OBS_DEREGISTER);
    assert_same_token(&f->requests[1], &f->requests[0]);
}

/* ---- renewal --------------------------------------------------------------------------------- */

/* TD_COAP_OBS_04 (client side, §3.3.1): no notification for Max-Age (1 s) plus the margin: the
 * client reports OBS_RENEW and registers again by itself, with the same token and options. */
static void td_coap_obs_04_renews_after_max_age_with_the_same_token(void **state)
{
    fixture_t *f = *state;
    f->max_age_s = RENEW_MAX_AGE_S;
    start(f, ACK_TIMEOUT_MS);
    observe(f);
    uint64_t answered_at = nth_event(f, ZCOAP_EV_OUT_RESPONSE, 0)->at_ms;

    size_t from = f->n_events;
    wait_events(f, ZCOAP_EV_OUT_RESPONSE, 2, RENEW_GUARD_MS);

    const zcoap_event_kind_t want[] = {ZCOAP_EV_OBS_RENEW, ZCOAP_EV_OUT_CON_SENT,
                                       ZCOAP_EV_OUT_RESPONSE, ZCOAP_EV_NONE};
    assert_kinds_since(f, from, want);
    for (size_t i = from; i < f->n_events; i++) {
        assert_int_equal(f->events[i].tag, TAG);
    }
    assert_true(f->events[from].at_ms >= answered_at + RENEW_AFTER_MS);
    assert_true(f->events[from + 2].observing);
    assert_int_equal(f->n_requests, 2);
    const seen_request_t *renewal = &f->requests[1];
    assert_int_equal(renewal->type, ZCOAP_TYPE_CON);
    assert_int_equal(renewal->code, ZCOAP_GET);
    assert_int_equal(renewal->observe, ZCOAP_OBS_REGISTER);
    assert_string_equal(renewal->path, "obs");
    assert_same_token(renewal, &f->requests[0]);
    assert_true(zcoap_uv_client_observing(&f->client, TAG));
}

/* The renewal due while a request is in flight goes once that request is answered. */
static void renewal_waits_for_the_request_in_flight(void **state)
{
    fixture_t *f = *state;
    f->max_age_s = RENEW_MAX_AGE_S;
    f->plain_reply = PLAIN_LATER;
    start(f, ACK_TIMEOUT_MS);
    observe(f);
    assert_int_equal(
        zcoap_uv_client_request(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET, uri_of(f, "slow"), NULL, 0),
        0);
    wait_events(f, ZCOAP_EV_OBS_RENEW, 1, RENEW_GUARD_MS);
    assert_int_equal(f->n_requests, 2); /* the registration and the plain GET only */

    size_t from = f->n_events;
    answer_plain_later(f);
    wait_events(f, ZCOAP_EV_OUT_RESPONSE, 3, GUARD_MS);

    const zcoap_event_kind_t want[] = {ZCOAP_EV_OUT_RESPONSE, ZCOAP_EV_OUT_CON_SENT,
                                       ZCOAP_EV_OUT_RESPONSE, ZCOAP_EV_NONE};
    assert_kinds_since(f, from, want);
    assert_int_equal(f->events[from].tag, 0);
    assert_int_equal(f->events[from + 1].tag, TAG);
    assert_int_equal(f->events[from + 2].tag, TAG);
    assert_int_equal(f->n_requests, 3);
    assert_int_equal(f->requests[2].observe, ZCOAP_OBS_REGISTER);
    assert_same_token(&f->requests[2], &f->requests[0]);
    assert_true(zcoap_uv_client_observing(&f->client, TAG));
}

/* A request the application starts from the OBS_RENEW callback goes first; the renewal follows
 * once it is answered. */
static void request_from_the_renew_callback_goes_before_the_renewal(void **state)
{
    fixture_t *f = *state;
    f->max_age_s = RENEW_MAX_AGE_S;
    f->request_on_renew = true;
    f->request_on_renew_rc = -1;
    start(f, ACK_TIMEOUT_MS);
    observe(f);

    size_t from = f->n_events;
    wait_events(f, ZCOAP_EV_OUT_RESPONSE, 3, RENEW_GUARD_MS);

    assert_int_equal(f->request_on_renew_rc, 0);
    const zcoap_event_kind_t want[] = {ZCOAP_EV_OBS_RENEW,    ZCOAP_EV_OUT_CON_SENT,
                                       ZCOAP_EV_OUT_RESPONSE, ZCOAP_EV_OUT_CON_SENT,
                                       ZCOAP_EV_OUT_RESPONSE, ZCOAP_EV_NONE};
    assert_kinds_since(f, from, want);
    const uint32_t tags[] = {TAG, 0, 0, TAG, TAG};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(f->events[from + i].tag, tags[i]);
    }
    assert_payload(&f->events[from + 2], "plain");
    assert_int_equal(f->n_requests, 3);
    assert_false(f->requests[1].has_observe);
    assert_int_equal(f->requests[2].observe, ZCOAP_OBS_REGISTER);
    assert_same_token(&f->requests[2], &f->requests[0]);
}

/* A renewal that gets no answer ends the observation: OUT_TIMEOUT with the tag, then the client
 * no longer observes, and a late notification gets RST. */
static void renewal_without_answer_ends_the_observation(void **state)
{
    fixture_t *f = *state;
    f->max_age_s = RENEW_MAX_AGE_S;
    start(f, FAST_ACK_TIMEOUT_MS);
    observe(f);
    f->reg_reply = REG_SILENT;

    wait_events(f, ZCOAP_EV_OUT_TIMEOUT, 1, RENEW_GUARD_MS);
    const seen_event_t *timeout = nth_event(f, ZCOAP_EV_OUT_TIMEOUT, 0);
    assert_int_equal(timeout->tag, TAG);
    assert_false(timeout->observing);
    assert_int_equal(count_events(f, ZCOAP_EV_OBS_RENEW), 1);
    size_t before = f->peer.n_rx;
    notify(f, ZCOAP_TYPE_NON, NOTIFY_MID, ZCOAP_CONTENT, 50, "late");
    wait_rx(f, before + 1);
    assert_empty_rx(f, before, ZCOAP_TYPE_RST, NOTIFY_MID);
    assert_int_equal(count_events(f, ZCOAP_EV_OBS_NOTIFICATION), 0);
    assert_int_equal(zcoap_uv_client_observe_cancel(&f->client, TAG, true), ZCOAP_ENOTFOUND);
}

/* ---- the API's limits, and closing ----------------------------------------------------------- */

static void observe_refuses_bad_calls(void **state)
{
    fixture_t *f = *state;
    f->plain_reply = PLAIN_LATER;
    f->peer.data = f;
    f->peer.on_msg = script_server;
    uvt_require_loopback(AF_INET, uvt_peer_open(&f->peer, &f->uv.loop, AF_INET, 0));
    f->client.data = f;
    assert_int_equal(zcoap_uv_client_init(&f->uv.loop, &f->client, NULL, on_client_event), 0);
    f->client_inited = true;
    const char *uri = uri_of(f, "obs");

    assert_int_equal(zcoap_uv_client_observe(&f->client, uri, TAG), ZCOAP_ESTATE);
    assert_int_equal(zcoap_uv_client_observe_cancel(&f->client, TAG, true), ZCOAP_ESTATE);
    assert_int_equal(zcoap_uv_client_connect(&f->client, (const struct sockaddr *)&f->peer.addr),
                     0);
    assert_int_equal(zcoap_uv_client_observe(NULL, uri, TAG), ZCOAP_EINVAL);
    assert_int_equal(zcoap_uv_client_observe(&f->client, NULL, TAG), ZCOAP_EINVAL);
    assert_int_equal(zcoap_uv_client_observe(&f->client, uri, 0), ZCOAP_EINVAL);
    assert_int_equal(zcoap_uv_client_observe(&f->client, "http://example.com/", TAG),
                     ZCOAP_EURI_SCHEME);
    char long_uri[ZCOAP_UV_CLIENT_OBS_URI_SIZE + 8];
    int n = snprintf(long_uri, sizeof long_uri, "%s/", uri);
    memset(long_uri + n, 'a', sizeof long_uri - (size_t)n - 1);
    long_uri[sizeof long_uri - 1] = '\0';
    assert_int_equal(zcoap_uv_client_observe(&f->client, long_uri, TAG), ZCOAP_ENOSPC);
    assert_int_equal(zcoap_uv_client_observe_cancel(NULL, TAG, true), ZCOAP_EINVAL);
    assert_int_equal(zcoap_uv_client_observe_cancel(&f->client, 0, true), ZCOAP_EINVAL);
    assert_int_equal(zcoap_uv_client_observe_cancel(&f->client, TAG, true), ZCOAP_ENOTFOUND);
    assert_false(zcoap_uv_client_observing(NULL, TAG));
    assert_int_equal(f->n_events, 0); /* none of these sent anything */

    /* NSTART = 1: not while a request is in flight. */
    assert_int_equal(
        zcoap_uv_client_request(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET, uri_of(f, "slow"), NULL, 0),
        0);
    assert_int_equal(zcoap_uv_client_observe(&f->client, uri, TAG), ZCOAP_EBUSY);
    wait_events(f, ZCOAP_EV_OUT_EMPTY_ACK, 1, GUARD_MS);
    assert_int_equal(zcoap_uv_client_observe(&f->client, uri, TAG), ZCOAP_EBUSY);
    assert_int_equal(f->n_requests, 1); /* the plain GET only */
}

/* Two observations at once (ZCOAP_EP_DEFAULT_OBSERVATIONS, the default of both the endpoint
 * and the client); a third is refused; both get their notifications. */
static void two_observations_and_no_third(void **state)
{
    fixture_t *f = *state;
    start(f, ACK_TIMEOUT_MS);
    observe(f);
    seen_request_t first = f->last_registration;
    assert_int_equal(zcoap_uv_client_observe(&f->client, uri_of(f, "obs2"), OTHER_TAG), 0);
    wait_events(f, ZCOAP_EV_OUT_RESPONSE, 2, GUARD_MS);
    seen_request_t second = f->last_registration;
    assert_int_equal(zcoap_uv_client_observe(&f->client, uri_of(f, "obs3"), TAG + 100),
                     ZCOAP_ENOSPC);

    send_response(f, NULL, ZCOAP_TYPE_NON, NOTIFY_MID, &second, ZCOAP_CONTENT, 3, "to obs2");
    send_response(f, NULL, ZCOAP_TYPE_NON, NOTIFY_MID + 1, &first, ZCOAP_CONTENT, 3, "to obs");
    wait_events(f, ZCOAP_EV_OBS_NOTIFICATION, 2, GUARD_MS);
    const seen_event_t *n1 = nth_event(f, ZCOAP_EV_OBS_NOTIFICATION, 0);
    const seen_event_t *n2 = nth_event(f, ZCOAP_EV_OBS_NOTIFICATION, 1);
    assert_int_equal(n1->tag, OTHER_TAG);
    assert_payload(n1, "to obs2");
    assert_int_equal(n2->tag, TAG);
    assert_payload(n2, "to obs");
    assert_string_equal(second.path, "obs2");
}

/* Closing the client with an observation open (and its cancellation queued): no event after
 * the close, nothing sent, every handle closed (the teardown checks uv_loop_close(); ASan and
 * Valgrind check for leaks). */
static void close_with_an_observation_open(void **state)
{
    fixture_t *f = *state;
    f->plain_reply = PLAIN_LATER;
    start(f, ACK_TIMEOUT_MS);
    observe(f);
    assert_int_equal(
        zcoap_uv_client_request(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET, uri_of(f, "slow"), NULL, 0),
        0);
    wait_events(f, ZCOAP_EV_OUT_EMPTY_ACK, 1, GUARD_MS);
    assert_int_equal(zcoap_uv_client_observe_cancel(&f->client, TAG, true), 0);
    size_t rx = f->peer.n_rx;

    close_client(f);
    assert_int_equal(zcoap_uv_client_observe(&f->client, uri_of(f, "obs"), TAG), ZCOAP_ESTATE);
    assert_int_equal(zcoap_uv_client_observe_cancel(&f->client, TAG, false), ZCOAP_ESTATE);
    assert_false(zcoap_uv_client_observing(&f->client, TAG));
    answer_plain_later(f);
    notify(f, ZCOAP_TYPE_CON, NOTIFY_MID, ZCOAP_CONTENT, 3, "to nobody");
    assert_true(uvt_run_until(&f->uv, GUARD_MS, client_closed, f));
    assert_int_equal(f->peer.n_rx, rx); /* no GET with Observe 1 after the close */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(td_coap_obs_01_02_register_then_non_and_con_notifications),
        T(duplicate_con_notification_acknowledged_every_time_reported_once),
        T(reordered_notification_is_dropped),
        T(sequence_number_wraps_at_24_bits),
        T(request_while_observing_is_answered_and_notifications_go_on),
        T(error_notification_ends_the_observation),
        T(registration_not_taken),
        T(passive_cancel_then_notifications_get_rst),
        T(active_cancel_sends_get_observe_1_same_token_and_path),
        T(active_cancel_waits_for_the_request_in_flight),
        T(active_cancel_during_registration_follows_its_answer),
        T(td_coap_obs_04_renews_after_max_age_with_the_same_token),
        T(renewal_waits_for_the_request_in_flight),
        T(request_from_the_renew_callback_goes_before_the_renewal),
        T(renewal_without_answer_ends_the_observation),
        T(observe_refuses_bad_calls),
        T(two_observations_and_no_third),
        T(close_with_an_observation_open),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
