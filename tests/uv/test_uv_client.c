/*
 * Client endpoints of the libuv adapter (zcoap_uv_client_*) on a real loop over loopback.
 *
 * The peer is a raw UDP socket (uvt_peer_t, tests/support/uv_support.h) whose script in this file
 * plays a CoAP server with replies built by hand (zcoap's builder): piggybacked and separate
 * responses (RFC 7252 §5.2), silence (retransmission and timeout, §4.2), RST to a ping or a request
 * (§4.2, §4.3), an oversized datagram. Each scenario runs on IPv4 and IPv6 (skipped when ::1 is
 * unavailable). Callbacks only record what happens; the test body asserts once the loop is back, so
 * a failing assertion never jumps out of uv_run(). Every wait is bounded by a guard timer of
 * GUARD_MS loop time, nothing sleeps, and every test ends with all handles closed and
 * uv_loop_close() == 0 (in the teardown).
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

enum {
    GUARD_MS = 5000, /* loop time after which a wait counts as failed */
    MAX_EVENTS = 32, /* client events recorded */
    SEPARATE_MID = 0x7000,
    FAST_ACK_TIMEOUT_MS = 50,
    FAST_MAX_RETRANSMIT = 2,
    /* ACK_TIMEOUT * (1 + 2 + 4): the CON request is given up after the last back-off (§4.2) */
    FAST_GIVE_UP_MS = FAST_ACK_TIMEOUT_MS * 7,
    OVERSIZED_LEN = ZCOAP_UV_CLIENT_RX_SIZE + 100,
    LARGE_MSG_CAP = 4096,
    LARGE_MSG_LEN = ZCOAP_UV_CLIENT_RX_SIZE + 200 /* fits LARGE_MSG_CAP */
};

typedef struct fixture fixture_t;

/* Extra behaviour of a test inside the client's event callback. */
typedef void (*event_hook_fn)(fixture_t *f, const zcoap_event_t *ev);

struct fixture {
    uvt_loop_t uv;
    int family;

    /* The peer: a raw socket on 127.0.0.1 or ::1 (peer6: a second one on ::1, same port), whose
     * script (its on_msg) answers what the client sends. Its failed sends, and datagrams from
     * the client that are not CoAP, are checked in the teardown. */
    uvt_peer_t peer;
    uvt_peer_t peer6;
    int peer_errors; /* timers the peer could not start: checked in the teardown */
    /* a delayed action of the peer (the separate response, an answer from outside a callback) */
    uv_timer_t peer_timer;
    void (*peer_timer_action)(fixture_t *f);
    uvt_peer_t *reply_peer;
    struct sockaddr_storage reply_to;
    uint8_t req_token[ZCOAP_MAX_TOKEN_LEN];
    uint8_t req_token_len;

    /* The client. */
    zcoap_uv_client_t client;
    zcoap_ep_config_t cfg;
    zcoap_ep_storage_t storage;
    bool client_inited;
    bool client_close_requested;
    int close_calls;
    event_hook_fn hook;
    zcoap_event_kind_t events[MAX_EVENTS];
    uint64_t event_at_ms[MAX_EVENTS];
    size_t n_events;
    size_t events_after_close;
    size_t responses;
    uint8_t resp_code;
    uint8_t resp_type;
    char resp_payload[128];
    size_t resp_payload_len;
    int connect_calls;
    int connect_status;
    int hook_rc; /* result of a call made by a hook */
    /* What a wait waits for. */
    zcoap_event_kind_t wait_event;
    size_t wait_rx;
};

/* ---- loop, guard, teardown ----------------------------------------------------------------- */

/* Run the loop until @p done(f) holds, for GUARD_MS of loop time at most. */
static bool run_until(fixture_t *f, bool (*done)(const void *ctx))
{
    return uvt_run_until(&f->uv, GUARD_MS, done, f);
}

static bool has_event(const fixture_t *f, zcoap_event_kind_t kind)
{
    for (size_t i = 0; i < f->n_events; i++) {
        if (f->events[i] == kind) {
            return true;
        }
    }
    return false;
}

static bool waited_event_seen(const void *ctx)
{
    const fixture_t *f = ctx;
    return has_event(f, f->wait_event);
}

static bool peer_got_enough(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->peer.n_rx >= f->wait_rx;
}

static bool client_closed(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->close_calls > 0;
}

/* Our request has its end: a response, a timeout or a reset. */
static bool exchange_over(const void *ctx)
{
    const fixture_t *f = ctx;
    return has_event(f, ZCOAP_EV_OUT_RESPONSE) || has_event(f, ZCOAP_EV_OUT_TIMEOUT) ||
           has_event(f, ZCOAP_EV_OUT_RESET);
}

static bool connect_reported(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->connect_calls > 0;
}

static void run_until_event(fixture_t *f, zcoap_event_kind_t kind)
{
    f->wait_event = kind;
    if (!run_until(f, waited_event_seen)) {
        fail_msg("no %s event within %d ms of loop time", zcoap_event_name(kind), GUARD_MS);
    }
}

static void run_until_peer_rx(fixture_t *f, size_t count)
{
    f->wait_rx = count;
    if (!run_until(f, peer_got_enough)) {
        fail_msg("the peer got %zu datagram(s), not %zu, within %d ms", f->peer.n_rx, count,
                 GUARD_MS);
    }
}

static void on_peer_timer(uv_timer_t *t)
{
    fixture_t *f = t->data;
    if (f->peer_timer_action != NULL) {
        f->peer_timer_action(f);
    }
}

static int setup(void **state, int family)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL || uvt_loop_init(&f->uv) != 0) {
        free(f);
        return -1;
    }
    f->family = family;
    (void)uv_timer_init(&f->uv.loop, &f->peer_timer);
    f->peer_timer.data = f;
    *state = f;
    return 0;
}

static int setup_ipv4(void **state)
{
    return setup(state, AF_INET);
}

static int setup_ipv6(void **state)
{
    return setup(state, AF_INET6);
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
    uvt_peer_close(&f->peer6);
    uvt_close_handle((uv_handle_t *)&f->peer_timer);
    if (f->client_inited) {
        /* The close callback comes once the client's handles are closed (§6 of DESIGN.md). */
        assert_true(run_until(f, client_closed));
        assert_int_equal(f->close_calls, 1);
        assert_int_equal(f->events_after_close, 0);
    }
    uvt_loop_end(&f->uv);
    assert_int_equal(f->peer_errors, 0);
    const uvt_peer_t *peers[] = {&f->peer, &f->peer6};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(peers[i]->send_errors, 0);
        assert_int_equal(peers[i]->not_coap, 0); /* the client sent only CoAP */
    }
    free(f);
    return 0;
}

/* ---- the peer ------------------------------------------------------------------------------ */

/* Start the peer on the test's family and a free port; skips the test without IPv6. */
static void start_peer(fixture_t *f, uvt_peer_fn script)
{
    f->peer.data = f;
    f->peer.on_msg = script;
    uvt_require_loopback(f->family, uvt_peer_open(&f->peer, &f->uv.loop, f->family, 0));
}

static void remember_request(uvt_peer_t *peer, const struct sockaddr_storage *from,
                             const zcoap_msg_t *req)
{
    fixture_t *f = peer->data;
    f->reply_peer = peer;
    f->reply_to = *from;
    memcpy(f->req_token, req->token, req->token_len);
    f->req_token_len = req->token_len;
}

static void send_piggybacked(uvt_peer_t *peer, const struct sockaddr_storage *to,
                             const zcoap_msg_t *req, const char *payload)
{
    uint8_t buf[256];
    zcoap_builder_t b;
    (void)zcoap_builder_init_response(&b, buf, sizeof buf, req, ZCOAP_CONTENT, req->mid);
    (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_CONTENT_FORMAT, ZCOAP_CF_TEXT_PLAIN);
    (void)zcoap_builder_set_payload(&b, payload, strlen(payload));
    (void)uvt_peer_send(peer, to, buf, zcoap_builder_finish(&b));
}

static void send_empty(uvt_peer_t *peer, const struct sockaddr_storage *to, uint8_t type,
                       uint16_t mid)
{
    uint8_t buf[4];
    (void)uvt_peer_send(peer, to, buf, zcoap_build_empty(buf, sizeof buf, type, mid));
}

/* A CON request gets 2.05 "hello" piggybacked in the ACK (§5.2.1). */
static void script_piggyback(uvt_peer_t *peer, const struct sockaddr_storage *from,
                             const zcoap_msg_t *msg)
{
    if (msg->type == ZCOAP_TYPE_CON && zcoap_code_is_request(msg->code)) {
        send_piggybacked(peer, from, msg, "hello");
    }
}

static void send_separate_response(fixture_t *f)
{
    uint8_t buf[256];
    zcoap_builder_t b;
    (void)zcoap_builder_init(&b, buf, sizeof buf, ZCOAP_TYPE_CON, ZCOAP_CONTENT, SEPARATE_MID,
                             f->req_token, f->req_token_len);
    (void)zcoap_builder_set_payload(&b, "later", 5);
    (void)uvt_peer_send(f->reply_peer, &f->reply_to, buf, zcoap_builder_finish(&b));
}

/* A CON request gets an empty ACK at once and a CON 2.05 "later" 20 ms afterwards (§5.2.2). */
static void script_separate(uvt_peer_t *peer, const struct sockaddr_storage *from,
                            const zcoap_msg_t *msg)
{
    fixture_t *f = peer->data;
    if (msg->type == ZCOAP_TYPE_CON && zcoap_code_is_request(msg->code)) {
        remember_request(peer, from, msg);
        send_empty(peer, from, ZCOAP_TYPE_ACK, msg->mid);
        f->peer_timer_action = send_separate_response;
        if (uv_timer_start(&f->peer_timer, on_peer_timer, 20, 0) != 0) {
            f->peer_errors++;
        }
    }
}

/* Anything confirmable (request or ping) is rejected with RST (§4.2, §4.3). */
static void script_reset(uvt_peer_t *peer, const struct sockaddr_storage *from,
                         const zcoap_msg_t *msg)
{
    if (msg->type == ZCOAP_TYPE_CON) {
        send_empty(peer, from, ZCOAP_TYPE_RST, msg->mid);
    }
}

/* A datagram larger than the client's receive buffer, then the real answer. */
static void script_oversized_then_piggyback(uvt_peer_t *peer, const struct sockaddr_storage *from,
                                            const zcoap_msg_t *msg)
{
    static uint8_t junk[OVERSIZED_LEN];
    if (msg->type == ZCOAP_TYPE_CON && zcoap_code_is_request(msg->code)) {
        /* A well-formed 2.05 with the right token and MID: if the client read a cut copy of it,
         * it would take the exchange as answered with the wrong payload. */
        zcoap_builder_t b;
        (void)zcoap_builder_init_response(&b, junk, sizeof junk, msg, ZCOAP_CONTENT, msg->mid);
        uint8_t filler[OVERSIZED_LEN - 32];
        memset(filler, 'j', sizeof filler);
        (void)zcoap_builder_set_payload(&b, filler, sizeof filler);
        (void)uvt_peer_send(peer, from, junk, zcoap_builder_finish(&b));
        send_piggybacked(peer, from, msg, "hello");
    }
}

/* ---- the client ---------------------------------------------------------------------------- */

static void on_client_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    fixture_t *f = c->data;
    if (f->client_close_requested) {
        f->events_after_close++;
        return;
    }
    if (f->n_events < MAX_EVENTS) {
        f->event_at_ms[f->n_events] = uv_now(&f->uv.loop);
        f->events[f->n_events++] = ev->kind;
    }
    if (ev->kind == ZCOAP_EV_OUT_RESPONSE && ev->has_msg) {
        f->responses++;
        f->resp_code = ev->msg.code;
        f->resp_type = ev->msg.type;
        f->resp_payload_len = ev->msg.payload_len < sizeof f->resp_payload ? ev->msg.payload_len
                                                                           : sizeof f->resp_payload;
        if (f->resp_payload_len > 0) {
            memcpy(f->resp_payload, ev->msg.payload, f->resp_payload_len);
        }
    }
    if (f->hook != NULL) {
        f->hook(f, ev);
    }
}

static void on_client_connected(zcoap_uv_client_t *c, int status)
{
    fixture_t *f = c->data;
    f->connect_calls++;
    f->connect_status = status;
}

/* The fast transmission parameters: 50 ms, no randomness, 2 retransmissions. */
static const zcoap_ep_config_t *fast_config(fixture_t *f)
{
    zcoap_ep_config_default(&f->cfg, &f->storage);
    f->cfg.tx.ack_timeout_ms = FAST_ACK_TIMEOUT_MS;
    f->cfg.tx.ack_random_factor_permil = 1000;
    f->cfg.tx.max_retransmit = FAST_MAX_RETRANSMIT;
    return &f->cfg; /* rng left NULL: the adapter puts zcoap_uv_random there */
}

static void start_client(fixture_t *f, const zcoap_ep_config_t *cfg)
{
    assert_int_equal(zcoap_uv_client_init(&f->uv.loop, &f->client, cfg, on_client_event), 0);
    f->client.data = f;
    f->client_inited = true;
}

static void start_connected_client(fixture_t *f, const zcoap_ep_config_t *cfg)
{
    start_client(f, cfg);
    assert_int_equal(zcoap_uv_client_connect(&f->client, (const struct sockaddr *)&f->peer.addr),
                     0);
}

static void send_get(fixture_t *f, const char *path)
{
    char uri[128];
    assert_int_equal(zcoap_uv_client_request(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET,
                                             uvt_uri(uri, sizeof uri, &f->peer.addr, path), NULL,
                                             0),
                     0);
}

static void assert_events(const fixture_t *f, const zcoap_event_kind_t *want, size_t n)
{
    for (size_t i = 0; i < f->n_events || i < n; i++) {
        const char *got_name = i < f->n_events ? zcoap_event_name(f->events[i]) : "(none)";
        const char *want_name = i < n ? zcoap_event_name(want[i]) : "(none)";
        if (i >= n || i >= f->n_events || f->events[i] != want[i]) {
            fail_msg("event %zu: got %s, expected %s", i, got_name, want_name);
        }
    }
}

static void assert_response(const fixture_t *f, uint8_t code, const char *payload)
{
    assert_int_equal(f->resp_code, code);
    assert_int_equal(f->resp_payload_len, strlen(payload));
    assert_memory_equal(f->resp_payload, payload, f->resp_payload_len);
}

static void assert_uri_path(const zcoap_msg_t *msg, const char *path)
{
    zcoap_opt_t opt;
    assert_true(zcoap_msg_find_opt(msg, ZCOAP_OPT_URI_PATH, &opt));
    assert_true(zcoap_opt_equals_str(&opt, path));
}

/* ---- exchanges ----------------------------------------------------------------------------- */

static void piggybacked_response_is_reported(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_piggyback);
    start_connected_client(f, NULL);

    send_get(f, "x");
    run_until_event(f, ZCOAP_EV_OUT_RESPONSE);

    const zcoap_event_kind_t want[] = {ZCOAP_EV_OUT_CON_SENT, ZCOAP_EV_OUT_RESPONSE};
    assert_events(f, want, 2);
    assert_int_equal(f->resp_type, ZCOAP_TYPE_ACK);
    assert_response(f, ZCOAP_CONTENT, "hello");
    /* The peer saw one CON GET /x. */
    assert_int_equal(f->peer.n_rx, 1);
    zcoap_msg_t req = uvt_peer_rx_msg(&f->peer, 0);
    assert_int_equal(req.type, ZCOAP_TYPE_CON);
    assert_int_equal(req.code, ZCOAP_GET);
    assert_uri_path(&req, "x");
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&f->client);
    assert_int_equal(st->datagrams_out, 1);
    assert_int_equal(st->datagrams_in, 1);
    assert_int_equal(st->send_errors, 0);
    assert_int_equal(st->recv_errors, 0);
}

static void separate_response_is_reported_and_acknowledged(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_separate);
    start_connected_client(f, NULL);

    send_get(f, "slow");
    run_until_event(f, ZCOAP_EV_OUT_RESPONSE);
    run_until_peer_rx(f, 2); /* the client's ACK of the separate response */

    const zcoap_event_kind_t want[] = {ZCOAP_EV_OUT_CON_SENT, ZCOAP_EV_OUT_EMPTY_ACK,
                                       ZCOAP_EV_OUT_RESPONSE};
    assert_events(f, want, 3);
    assert_int_equal(f->resp_type, ZCOAP_TYPE_CON);
    assert_response(f, ZCOAP_CONTENT, "later");
    /* §5.2.2: the CON response is acknowledged with an Empty ACK of its message ID. */
    zcoap_msg_t ack = uvt_peer_rx_msg(&f->peer, 1);
    assert_int_equal(ack.type, ZCOAP_TYPE_ACK);
    assert_int_equal(ack.code, ZCOAP_CODE_EMPTY);
    assert_int_equal(ack.mid, SEPARATE_MID);
    assert_int_equal(ack.len, 4);
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&f->client);
    assert_int_equal(st->datagrams_out, 2);
    assert_int_equal(st->datagrams_in, 2);
}

static void silent_peer_sees_retransmissions_then_timeout(void **state)
{
    fixture_t *f = *state;
    start_peer(f, NULL);
    start_connected_client(f, fast_config(f));

    uv_update_time(&f->uv.loop);
    uint64_t sent_at = uv_now(&f->uv.loop);
    send_get(f, "x");
    run_until_event(f, ZCOAP_EV_OUT_TIMEOUT);

    const zcoap_event_kind_t want[] = {ZCOAP_EV_OUT_CON_SENT, ZCOAP_EV_OUT_TIMEOUT};
    assert_events(f, want, 2);
    /* §4.2: the original and MAX_RETRANSMIT copies, identical (same MID and token). */
    assert_int_equal(f->peer.n_rx, 1 + FAST_MAX_RETRANSMIT);
    for (size_t i = 1; i < f->peer.n_rx; i++) {
        assert_int_equal(f->peer.rx[i].len, f->peer.rx[0].len);
        assert_memory_equal(f->peer.rx[i].data, f->peer.rx[0].data, f->peer.rx[0].len);
    }
    zcoap_msg_t req = uvt_peer_rx_msg(&f->peer, 0);
    assert_int_equal(req.type, ZCOAP_TYPE_CON);
    /* Not given up before the last back-off ran out (timers never fire early). */
    assert_true(f->event_at_ms[1] - sent_at >= FAST_GIVE_UP_MS);
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&f->client);
    assert_int_equal(st->datagrams_out, 1 + FAST_MAX_RETRANSMIT);
    assert_int_equal(st->datagrams_in, 0);
}

static void ping_answered_with_rst_is_pong(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_reset);
    start_connected_client(f, NULL);

    assert_int_equal(zcoap_uv_client_ping(&f->client), 0);
    run_until_event(f, ZCOAP_EV_OUT_PONG);

    const zcoap_event_kind_t want[] = {ZCOAP_EV_OUT_PING_SENT, ZCOAP_EV_OUT_PONG};
    assert_events(f, want, 2);
    /* §4.3: a ping is an Empty CON, 4 bytes. */
    zcoap_msg_t ping = uvt_peer_rx_msg(&f->peer, 0);
    assert_int_equal(ping.type, ZCOAP_TYPE_CON);
    assert_int_equal(ping.code, ZCOAP_CODE_EMPTY);
    assert_int_equal(ping.len, 4);
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&f->client);
    assert_int_equal(st->datagrams_out, 1);
    assert_int_equal(st->datagrams_in, 1);
}

static void rst_to_a_request_is_reset(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_reset);
    start_connected_client(f, NULL);

    send_get(f, "x");
    run_until_event(f, ZCOAP_EV_OUT_RESET);

    const zcoap_event_kind_t want[] = {ZCOAP_EV_OUT_CON_SENT, ZCOAP_EV_OUT_RESET};
    assert_events(f, want, 2);
    assert_int_equal(f->responses, 0);
    assert_int_equal(zcoap_uv_client_stats(&f->client)->datagrams_in, 1);
}

/* After the first response, the event callback starts the next request (re-entry). */
static void second_request_from_the_callback(fixture_t *f, const zcoap_event_t *ev)
{
    if (ev->kind == ZCOAP_EV_OUT_RESPONSE && f->responses == 1) {
        char uri[128];
        f->hook_rc =
            zcoap_uv_client_request(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET,
                                    uvt_uri(uri, sizeof uri, &f->peer.addr, "second"), NULL, 0);
    }
}

static bool two_responses(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->responses >= 2;
}

static void nstart_one_refuses_a_second_request(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_piggyback);
    start_connected_client(f, NULL);
    f->hook = second_request_from_the_callback;
    f->hook_rc = 1;

    send_get(f, "first");
    /* NSTART = 1 (§4.7): nothing else goes out while the request is in flight. */
    char uri[128];
    assert_int_equal(zcoap_uv_client_request(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET,
                                             uvt_uri(uri, sizeof uri, &f->peer.addr, "other"), NULL,
                                             0),
                     ZCOAP_EBUSY);
    assert_int_equal(zcoap_uv_client_ping(&f->client), ZCOAP_EBUSY);

    assert_true(run_until(f, two_responses));
    assert_int_equal(f->hook_rc, 0);
    assert_int_equal(f->responses, 2);
    assert_int_equal(f->peer.n_rx, 2);
    zcoap_msg_t first = uvt_peer_rx_msg(&f->peer, 0);
    zcoap_msg_t second = uvt_peer_rx_msg(&f->peer, 1);
    assert_uri_path(&first, "first");
    assert_uri_path(&second, "second");
    assert_int_not_equal(first.mid, second.mid);
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&f->client);
    assert_int_equal(st->datagrams_out, 2);
    assert_int_equal(st->datagrams_in, 2);
}

static void oversized_datagram_is_dropped_and_counted(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_oversized_then_piggyback);
    start_connected_client(f, NULL);

    send_get(f, "x");
    run_until_event(f, ZCOAP_EV_OUT_RESPONSE);

    assert_response(f, ZCOAP_CONTENT, "hello");
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&f->client);
    assert_int_equal(st->truncated, 1);
    assert_int_equal(st->datagrams_in, 1);
}

/* A 1800-byte 2.05 piggybacked in the ACK (a larger message than the default buffers take). */
static void script_large_piggyback(uvt_peer_t *peer, const struct sockaddr_storage *from,
                                   const zcoap_msg_t *msg)
{
    static uint8_t buf[LARGE_MSG_LEN];
    if (msg->type == ZCOAP_TYPE_CON && zcoap_code_is_request(msg->code)) {
        zcoap_builder_t b;
        (void)zcoap_builder_init_response(&b, buf, sizeof buf, msg, ZCOAP_CONTENT, msg->mid);
        uint8_t payload[LARGE_MSG_LEN - 32];
        memset(payload, 'p', sizeof payload);
        (void)zcoap_builder_set_payload(&b, payload, sizeof payload);
        (void)uvt_peer_send(peer, from, buf, zcoap_builder_finish(&b));
    }
}

/* The endpoint's msg_cap may be raised up to 65535 with the caller's buffers. The client must
 * then take messages of that size too, or refuse the configuration; what it must not do is
 * accept it and drop every larger datagram as truncated. */
static void larger_msg_cap_takes_larger_messages(void **state)
{
    fixture_t *f = *state;
    static uint8_t req_buf[LARGE_MSG_CAP];
    static uint8_t resp_store[2 * LARGE_MSG_CAP];
    static zcoap_dedup_entry_t dedup[8];
    start_peer(f, script_large_piggyback);
    fast_config(f);
    f->cfg.msg_cap = LARGE_MSG_CAP;
    f->cfg.req_buf = req_buf;
    f->cfg.resp_store = resp_store;
    f->cfg.resp_slots = 2;
    f->cfg.dedup = dedup;
    f->cfg.dedup_cap = sizeof dedup / sizeof dedup[0];

    int rc = zcoap_uv_client_init(&f->uv.loop, &f->client, &f->cfg, on_client_event);
    if (rc != 0) {
        assert_int_equal(rc, ZCOAP_EINVAL); /* refused: fine too */
        return;
    }
    f->client.data = f;
    f->client_inited = true;
    assert_int_equal(zcoap_uv_client_connect(&f->client, (const struct sockaddr *)&f->peer.addr),
                     0);
    send_get(f, "large");
    assert_true(run_until(f, exchange_over));
    assert_int_equal(zcoap_uv_client_stats(&f->client)->truncated, 0);
    const zcoap_event_kind_t want[] = {ZCOAP_EV_OUT_CON_SENT, ZCOAP_EV_OUT_RESPONSE};
    assert_events(f, want, 2);
    assert_int_equal(f->resp_payload_len, sizeof f->resp_payload); /* the copy is capped */
}

/* Nobody listens on the port: the kernel's ICMP port unreachable is counted, the exchange goes
 * on by the RFC's rules and times out. */
static void unreachable_port_is_counted_and_times_out(void **state)
{
    fixture_t *f = *state;
    start_peer(f, NULL);
    uvt_peer_close(&f->peer); /* its port is now free */
    uv_run(&f->uv.loop, UV_RUN_NOWAIT);
    start_connected_client(f, fast_config(f));

    send_get(f, "x");
    run_until_event(f, ZCOAP_EV_OUT_TIMEOUT);

    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&f->client);
    assert_true(st->recv_errors + st->send_errors >= 1);
    assert_int_equal(st->last_error, UV_ECONNREFUSED);
    assert_int_equal(st->datagrams_in, 0);
    assert_int_equal(f->responses, 0);
}

/* ---- requests from the peer (the client's incoming path) ----------------------------------- */

static void send_request_to_client(fixture_t *f, uint16_t mid)
{
    uint8_t buf[64];
    zcoap_builder_t b;
    const uint8_t token[2] = {0xCA, 0xFE};
    (void)zcoap_builder_init(&b, buf, sizeof buf, ZCOAP_TYPE_CON, ZCOAP_GET, mid, token,
                             sizeof token);
    (void)zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "state");
    (void)uvt_peer_send(f->reply_peer, &f->reply_to, buf, zcoap_builder_finish(&b));
}

static void answer_request(fixture_t *f, bool confirmable)
{
    zcoap_ep_t *ep = zcoap_uv_client_endpoint(&f->client);
    zcoap_builder_t b;
    f->hook_rc = zcoap_ep_response_begin(ep, ZCOAP_CONTENT, confirmable, &b);
    (void)zcoap_builder_set_payload(&b, "on", 2);
    if (f->hook_rc == 0) {
        f->hook_rc = zcoap_ep_response_send(ep, &b, uv_now(&f->uv.loop));
    }
}

static void answer_in_the_callback(fixture_t *f, const zcoap_event_t *ev)
{
    if (ev->kind == ZCOAP_EV_IN_REQUEST) {
        answer_request(f, false);
    }
}

/* The peer learns the client's address from a ping (§4.3), then sends it a request. */
static void script_ping_then_request(uvt_peer_t *peer, const struct sockaddr_storage *from,
                                     const zcoap_msg_t *msg)
{
    if (msg->type == ZCOAP_TYPE_CON && msg->code == ZCOAP_CODE_EMPTY) {
        send_empty(peer, from, ZCOAP_TYPE_RST, msg->mid);
        remember_request(peer, from, msg);
        send_request_to_client(peer->data, 0x1234);
    } else if (msg->type == ZCOAP_TYPE_CON && zcoap_code_is_response(msg->code)) {
        send_empty(peer, from, ZCOAP_TYPE_ACK, msg->mid); /* a separate response */
    }
}

static void request_from_the_peer_answered_in_the_callback(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_ping_then_request);
    start_connected_client(f, NULL);
    f->hook = answer_in_the_callback;
    f->hook_rc = 1;

    assert_int_equal(zcoap_uv_client_ping(&f->client), 0);
    run_until_peer_rx(f, 2); /* the ping, then the answer */

    assert_int_equal(f->hook_rc, 0);
    assert_true(has_event(f, ZCOAP_EV_IN_REQUEST));
    /* §5.2.1: answered at once, so piggybacked in the ACK of the request. */
    zcoap_msg_t resp = uvt_peer_rx_msg(&f->peer, 1);
    assert_int_equal(resp.type, ZCOAP_TYPE_ACK);
    assert_int_equal(resp.mid, 0x1234);
    assert_int_equal(resp.code, ZCOAP_CONTENT);
    assert_int_equal(resp.token_len, 2);
    assert_int_equal(resp.payload_len, 2);
    assert_memory_equal(resp.payload, "on", 2);
}

/* Parameters of one's own without buffers: the client allocates them, sized by msg_cap, and its
 * response slot only for the peer's first request. The fast parameters apply. */
static void configuration_without_buffers_gets_allocated_ones(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_ping_then_request);
    zcoap_ep_config_default(&f->cfg, NULL);
    f->cfg.tx.ack_timeout_ms = FAST_ACK_TIMEOUT_MS;
    f->cfg.tx.ack_random_factor_permil = 1000;
    f->cfg.tx.max_retransmit = FAST_MAX_RETRANSMIT;
    f->cfg.msg_cap = 256;
    start_connected_client(f, &f->cfg);
    const zcoap_ep_t *ep = zcoap_uv_client_endpoint(&f->client);
    assert_int_equal(ep->cfg.msg_cap, 256);
    assert_int_equal(ep->cfg.resp_slots, 1);
    assert_int_equal(ep->cfg.dedup_cap, ZCOAP_EP_DEFAULT_DEDUP);
    assert_null(ep->cfg.resp_store); /* not lent yet */
    f->hook = answer_in_the_callback;
    f->hook_rc = 1;

    assert_int_equal(zcoap_uv_client_ping(&f->client), 0);
    run_until_peer_rx(f, 2); /* the ping, then the answer to the peer's request */
    assert_int_equal(f->hook_rc, 0);
    assert_non_null(ep->cfg.resp_store); /* lent for that request; freed at close */
    zcoap_msg_t resp = uvt_peer_rx_msg(&f->peer, 1);
    assert_int_equal(resp.type, ZCOAP_TYPE_ACK);
    assert_int_equal(resp.code, ZCOAP_CONTENT);
    assert_memory_equal(resp.payload, "on", 2);

    /* A request the peer does not answer gives up after the fast schedule. */
    f->peer.on_msg = NULL;
    send_get(f, "x");
    run_until_event(f, ZCOAP_EV_OUT_TIMEOUT);
    assert_int_equal(f->peer.n_rx, 2 + 1 + FAST_MAX_RETRANSMIT);
}

static void answer_after_a_while(fixture_t *f)
{
    answer_request(f, true);
    zcoap_uv_client_flush(&f->client); /* outside a callback: datagrams and timer */
}

static void request_from_the_peer_answered_later_through_the_endpoint(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_ping_then_request);
    fast_config(f);
    f->cfg.auto_ack_ms = 20;
    start_connected_client(f, &f->cfg);
    f->hook_rc = 1;

    assert_int_equal(zcoap_uv_client_ping(&f->client), 0);
    run_until_peer_rx(f, 2); /* the ping, then the endpoint's automatic empty ACK */
    zcoap_msg_t ack = uvt_peer_rx_msg(&f->peer, 1);
    assert_int_equal(ack.type, ZCOAP_TYPE_ACK);
    assert_int_equal(ack.code, ZCOAP_CODE_EMPTY);
    assert_int_equal(ack.mid, 0x1234);

    /* Answer from outside any callback, then the separate CON response must go out and be
     * acknowledged by the peer. */
    f->peer_timer_action = answer_after_a_while;
    assert_int_equal(uv_timer_start(&f->peer_timer, on_peer_timer, 10, 0), 0);
    run_until_event(f, ZCOAP_EV_IN_SUCCESS);

    assert_int_equal(f->hook_rc, 0);
    zcoap_msg_t resp = uvt_peer_rx_msg(&f->peer, 2);
    assert_int_equal(resp.type, ZCOAP_TYPE_CON);
    assert_int_equal(resp.code, ZCOAP_CONTENT);
    assert_int_equal(resp.payload_len, 2);
    assert_true(has_event(f, ZCOAP_EV_IN_ACK_SENT));
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&f->client);
    assert_int_equal(st->datagrams_out, 3); /* ping, empty ACK, CON response */
    assert_int_equal(st->datagrams_in, 3);  /* RST, request, ACK */
}

static void malformed_datagram_is_a_format_error(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_piggyback);
    start_connected_client(f, NULL);

    send_get(f, "x");
    run_until_event(f, ZCOAP_EV_OUT_RESPONSE);
    /* Three bytes: shorter than the CoAP header. */
    const uint8_t junk[3] = {0x40, 0x01, 0x00};
    assert_int_equal(uvt_peer_send(&f->peer, &f->peer.last_from, junk, (ptrdiff_t)sizeof junk), 0);
    run_until_event(f, ZCOAP_EV_FORMAT_ERROR);
    assert_int_equal(zcoap_uv_client_stats(&f->client)->datagrams_in, 2);
}

/* ---- init ---------------------------------------------------------------------------------- */

static void init_with_a_bad_config_leaves_nothing_open(void **state)
{
    fixture_t *f = *state;
    fast_config(f);
    f->cfg.token_len = 9;
    assert_int_equal(zcoap_uv_client_init(&f->uv.loop, &f->client, &f->cfg, on_client_event),
                     ZCOAP_EINVAL);
    assert_int_equal(zcoap_uv_client_init(NULL, &f->client, NULL, on_client_event), ZCOAP_EINVAL);
    /* The teardown's uv_loop_close() == 0 shows no handle of the client is left. */
}

/* ---- connect_uri --------------------------------------------------------------------------- */

/* Once connected, GET coap://localhost:PORT/x: the host is a name, so it goes in Uri-Host. */
static void get_on_connect(zcoap_uv_client_t *c, int status)
{
    fixture_t *f = c->data;
    on_client_connected(c, status);
    if (status == 0) {
        char uri[128];
        snprintf(uri, sizeof uri, "coap://localhost:%u/x", (unsigned)uvt_port_of(&f->peer.addr));
        f->hook_rc = zcoap_uv_client_request(c, ZCOAP_TYPE_CON, ZCOAP_GET, uri, NULL, 0);
    }
}

static void connect_uri_resolves_localhost(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_piggyback);
    /* "localhost" may resolve to ::1 first: listen there too, on the same port, if possible. */
    f->peer6.data = f;
    f->peer6.on_msg = script_piggyback;
    int rc6 = uvt_peer_open(&f->peer6, &f->uv.loop, AF_INET6, uvt_port_of(&f->peer.addr));
    if (rc6 != 0) {
        printf("# no ::1 peer on port %u (%s): localhost must resolve to 127.0.0.1\n",
               (unsigned)uvt_port_of(&f->peer.addr), uv_strerror(rc6));
    }
    start_client(f, NULL);

    char uri[128];
    snprintf(uri, sizeof uri, "coap://localhost:%u/x", (unsigned)uvt_port_of(&f->peer.addr));
    f->hook_rc = 1;
    assert_int_equal(zcoap_uv_client_connect_uri(&f->client, uri, get_on_connect), 0);
    run_until_event(f, ZCOAP_EV_OUT_RESPONSE);

    assert_int_equal(f->connect_calls, 1);
    assert_int_equal(f->connect_status, 0);
    assert_int_equal(f->hook_rc, 0);
    assert_response(f, ZCOAP_CONTENT, "hello");
    /* on the address "localhost" gave first */
    zcoap_msg_t req = uvt_peer_rx_msg(f->peer6.n_rx > 0 ? &f->peer6 : &f->peer, 0);
    zcoap_opt_t host;
    assert_true(zcoap_msg_find_opt(&req, ZCOAP_OPT_URI_HOST, &host));
    assert_true(zcoap_opt_equals_str(&host, "localhost"));
    assert_uri_path(&req, "x");
}

static void connect_uri_with_literal_address(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_piggyback);
    start_client(f, NULL);

    char uri[128];
    assert_int_equal(zcoap_uv_client_connect_uri(&f->client,
                                                 uvt_uri(uri, sizeof uri, &f->peer.addr, "x"),
                                                 on_client_connected),
                     0);
    assert_true(run_until(f, connect_reported));
    assert_int_equal(f->connect_status, 0);
    send_get(f, "x");
    run_until_event(f, ZCOAP_EV_OUT_RESPONSE);
    assert_response(f, ZCOAP_CONTENT, "hello");
    /* An IP literal is no name: no Uri-Host (§6.4 step 5). */
    zcoap_msg_t req = uvt_peer_rx_msg(&f->peer, 0);
    zcoap_opt_t host;
    assert_false(zcoap_msg_find_opt(&req, ZCOAP_OPT_URI_HOST, &host));
}

static void connect_uri_reports_a_bad_host_through_the_callback(void **state)
{
    fixture_t *f = *state;
    start_client(f, NULL);

    /* A name with an empty label: the resolver refuses it without asking any DNS server, so
     * the test does not depend on the network. */
    assert_int_equal(
        zcoap_uv_client_connect_uri(&f->client, "coap://bad..host:5683/x", on_client_connected), 0);
    assert_true(run_until(f, connect_reported));
    assert_int_equal(f->connect_calls, 1);
    assert_true(f->connect_status < 0);
    printf("# connect status: %s\n", zcoap_uv_strerror(f->connect_status));
}

static void connect_uri_refuses_coaps(void **state)
{
    fixture_t *f = *state;
    start_client(f, NULL);

    assert_int_equal(
        zcoap_uv_client_connect_uri(&f->client, "coaps://127.0.0.1/x", on_client_connected),
        ZCOAP_ENOTSUP);
    assert_int_equal(
        zcoap_uv_client_connect_uri(&f->client, "http://127.0.0.1/x", on_client_connected),
        ZCOAP_EURI_SCHEME);
    uv_run(&f->uv.loop, UV_RUN_NOWAIT);
    assert_int_equal(f->connect_calls, 0); /* refused at once: no callback follows */
}

/* uv.h: ZCOAP_ESTATE before the client is connected (nowhere to send it yet), so a request made
 * while the name is being resolved is refused rather than silently lost; once connected, it goes
 * out at once. */
static void request_before_connect_is_refused(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_piggyback);
    start_client(f, NULL);

    char uri[128];
    uvt_uri(uri, sizeof uri, &f->peer.addr, "early");
    assert_int_equal(zcoap_uv_client_request(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET, uri, NULL, 0),
                     ZCOAP_ESTATE);
    assert_int_equal(zcoap_uv_client_connect_uri(&f->client, uri, on_client_connected), 0);
    assert_int_equal(zcoap_uv_client_request(&f->client, ZCOAP_TYPE_NON, ZCOAP_GET, uri, NULL, 0),
                     ZCOAP_ESTATE);
    assert_int_equal(zcoap_uv_client_ping(&f->client), ZCOAP_ESTATE);
    assert_true(run_until(f, connect_reported));
    assert_int_equal(f->connect_status, 0);
    send_get(f, "early");
    run_until_event(f, ZCOAP_EV_OUT_RESPONSE);

    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&f->client);
    assert_int_equal(st->send_errors, 0);
    assert_int_equal(st->datagrams_out, 1);
    assert_int_equal(f->peer.n_rx, 1);
    zcoap_msg_t req = uvt_peer_rx_msg(&f->peer, 0);
    assert_uri_path(&req, "early");
}

/* ---- closing ------------------------------------------------------------------------------- */

/* The peer closes the client as soon as the request arrives, and answers it anyway. */
static void script_close_then_answer(uvt_peer_t *peer, const struct sockaddr_storage *from,
                                     const zcoap_msg_t *msg)
{
    fixture_t *f = peer->data;
    if (!f->client_close_requested) {
        close_client(f);
    }
    script_piggyback(peer, from, msg);
}

static void close_mid_exchange_reports_nothing_more(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_close_then_answer);
    start_connected_client(f, fast_config(f));

    send_get(f, "x");
    run_until_peer_rx(f, 1);
    assert_true(f->client_close_requested);
    /* Past every retransmission and the give-up time of the request: nothing may happen. */
    uvt_run_for(&f->uv, FAST_GIVE_UP_MS + 100);

    assert_int_equal(f->close_calls, 1);
    assert_int_equal(f->events_after_close, 0);
    assert_int_equal(f->peer.n_rx, 1); /* no retransmission after close */
    assert_int_equal(f->responses, 0);
}

static void close_twice_on_response(fixture_t *f, const zcoap_event_t *ev)
{
    if (ev->kind == ZCOAP_EV_OUT_RESPONSE) {
        close_client(f);
        close_client(f); /* ignored: the close callback still runs once */
    }
}

static void close_inside_the_response_event(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_piggyback);
    start_connected_client(f, NULL);
    f->hook = close_twice_on_response;

    send_get(f, "x");
    assert_true(run_until(f, client_closed));
    uvt_run_for(&f->uv, 50);

    assert_int_equal(f->close_calls, 1);
    assert_int_equal(f->responses, 1);
    assert_response(f, ZCOAP_CONTENT, "hello");
    assert_int_equal(f->peer.n_rx, 1);
}

/* The separate CON response was accepted (the event reports it), so its ACK is owed (§4.2,
 * §5.2.2) even when the application closes the client inside that event: without the ACK the
 * peer retransmits its response to a closed port until it gives up. */
static void closing_inside_a_separate_response_still_acknowledges_it(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_separate);
    start_connected_client(f, NULL);
    f->hook = close_twice_on_response;

    send_get(f, "slow");
    assert_true(run_until(f, client_closed));
    uvt_run_for(&f->uv, 50);

    assert_int_equal(f->close_calls, 1);
    assert_int_equal(f->responses, 1);
    assert_response(f, ZCOAP_CONTENT, "later");
    assert_int_equal(f->peer.n_rx, 2);
    zcoap_msg_t ack = uvt_peer_rx_msg(&f->peer, 1);
    assert_int_equal(ack.type, ZCOAP_TYPE_ACK);
    assert_int_equal(ack.code, ZCOAP_CODE_EMPTY);
    assert_int_equal(ack.mid, SEPARATE_MID);
}

static void close_on_con_sent(fixture_t *f, const zcoap_event_t *ev)
{
    if (ev->kind == ZCOAP_EV_OUT_CON_SENT) {
        close_client(f);
    }
}

static void close_inside_the_sent_event(void **state)
{
    fixture_t *f = *state;
    start_peer(f, NULL);
    start_connected_client(f, fast_config(f));
    f->hook = close_on_con_sent;

    send_get(f, "x");
    assert_true(run_until(f, client_closed));
    uvt_run_for(&f->uv, FAST_GIVE_UP_MS + 100);

    assert_int_equal(f->close_calls, 1);
    /* No retransmission after close. (The event comes from the driver loop's events step, which
     * runs before its datagrams step, so closing here may also keep the first transmission.) */
    assert_true(f->peer.n_rx <= 1);
    const zcoap_event_kind_t want[] = {ZCOAP_EV_OUT_CON_SENT};
    assert_events(f, want, 1);
}

/* ---- binding before the connection ---------------------------------------------------------- */

/* A client bound to 127.0.0.2 (Linux: all of 127/8 is loopback) sends from there, and its answer
 * comes back to it. */
static void bound_client_sends_from_its_address(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_piggyback);
    start_client(f, NULL);
    struct sockaddr_in local;
    assert_int_equal(uv_ip4_addr("127.0.0.2", 0, &local), 0);
    int rc = zcoap_uv_client_bind(&f->client, (const struct sockaddr *)&local);
    if (rc == UV_EADDRNOTAVAIL) {
        skip(); /* a system whose loopback is 127.0.0.1 only */
    }
    assert_int_equal(rc, 0);
    assert_int_equal(zcoap_uv_client_connect(&f->client, (const struct sockaddr *)&f->peer.addr),
                     0);

    send_get(f, "x");
    run_until_event(f, ZCOAP_EV_OUT_RESPONSE);

    assert_response(f, ZCOAP_CONTENT, "hello");
    assert_int_equal(f->peer.n_rx, 1);
    assert_int_equal(f->peer.last_from.ss_family, AF_INET);
    const struct sockaddr_in *from = (const struct sockaddr_in *)&f->peer.last_from;
    assert_int_equal(from->sin_addr.s_addr, local.sin_addr.s_addr);
    assert_int_not_equal(from->sin_port, 0);
}

/* Binding takes an IPv4 or IPv6 address, once, before the connection. */
static void bind_is_refused_out_of_turn(void **state)
{
    fixture_t *f = *state;
    start_peer(f, script_piggyback);
    start_client(f, NULL);
    struct sockaddr_storage local;
    uvt_loopback(AF_INET, 0, &local);
    struct sockaddr other;
    memset(&other, 0, sizeof other);
    other.sa_family = AF_UNIX;

    assert_int_equal(zcoap_uv_client_bind(NULL, (const struct sockaddr *)&local), ZCOAP_EINVAL);
    assert_int_equal(zcoap_uv_client_bind(&f->client, NULL), ZCOAP_EINVAL);
    assert_int_equal(zcoap_uv_client_bind(&f->client, &other), ZCOAP_EINVAL);
    assert_int_equal(zcoap_uv_client_bind(&f->client, (const struct sockaddr *)&local), 0);
    assert_int_equal(zcoap_uv_client_bind(&f->client, (const struct sockaddr *)&local), UV_EINVAL);
    assert_int_equal(zcoap_uv_client_connect(&f->client, (const struct sockaddr *)&f->peer.addr),
                     0);
    assert_int_equal(zcoap_uv_client_bind(&f->client, (const struct sockaddr *)&local),
                     ZCOAP_ESTATE);
    close_client(f);
    assert_int_equal(zcoap_uv_client_bind(&f->client, (const struct sockaddr *)&local),
                     ZCOAP_ESTATE);
}

static void close_before_connect(void **state)
{
    fixture_t *f = *state;
    start_client(f, NULL);
    close_client(f);
    assert_true(run_until(f, client_closed));
    assert_int_equal(f->close_calls, 1);
}

static void close_while_resolving(void **state)
{
    fixture_t *f = *state;
    start_client(f, NULL);
    assert_int_equal(
        zcoap_uv_client_connect_uri(&f->client, "coap://localhost:5683/x", on_client_connected), 0);
    close_client(f);
    assert_true(run_until(f, client_closed));
    uvt_run_for(&f->uv, 20);
    assert_int_equal(f->close_calls, 1);
    assert_int_equal(f->connect_calls, 0); /* no callback after close */
}

/* ---- main ---------------------------------------------------------------------------------- */

#define ON_IPV4(fn)                                                                                \
    {                                                                                              \
#fn "_ipv4", fn, setup_ipv4, teardown, NULL                                                \
    }
#define ON_IPV6(fn)                                                                                \
    {                                                                                              \
#fn "_ipv6", fn, setup_ipv6, teardown, NULL                                                \
    }
#define ON_BOTH(fn) ON_IPV4(fn), ON_IPV6(fn)

int main(void)
{
    const struct CMUnitTest tests[] = {
        ON_BOTH(piggybacked_response_is_reported),
        ON_BOTH(separate_response_is_reported_and_acknowledged),
        ON_BOTH(silent_peer_sees_retransmissions_then_timeout),
        ON_BOTH(ping_answered_with_rst_is_pong),
        ON_BOTH(rst_to_a_request_is_reset),
        ON_BOTH(nstart_one_refuses_a_second_request),
        ON_BOTH(oversized_datagram_is_dropped_and_counted),
        ON_BOTH(unreachable_port_is_counted_and_times_out),
        ON_IPV4(larger_msg_cap_takes_larger_messages),
        ON_BOTH(request_from_the_peer_answered_in_the_callback),
        ON_BOTH(configuration_without_buffers_gets_allocated_ones),
        ON_BOTH(request_from_the_peer_answered_later_through_the_endpoint),
        ON_IPV4(malformed_datagram_is_a_format_error),
        ON_IPV4(init_with_a_bad_config_leaves_nothing_open),
        ON_IPV4(connect_uri_resolves_localhost),
        ON_BOTH(connect_uri_with_literal_address),
        ON_IPV4(connect_uri_reports_a_bad_host_through_the_callback),
        ON_IPV4(connect_uri_refuses_coaps),
        ON_IPV4(request_before_connect_is_refused),
        ON_BOTH(close_mid_exchange_reports_nothing_more),
        ON_BOTH(close_inside_the_response_event),
        ON_BOTH(closing_inside_a_separate_response_still_acknowledges_it),
        ON_BOTH(close_inside_the_sent_event),
        ON_IPV4(close_before_connect),
        ON_IPV4(close_while_resolving),
        ON_IPV4(bound_client_sends_from_its_address),
        ON_IPV4(bind_is_refused_out_of_turn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
