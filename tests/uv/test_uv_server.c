/*
 * The multi-peer server of the libuv adapter (zcoap_uv_server_*, zcoap_uv_peer_*) on a real loop
 * over loopback.
 *
 * The server and its clients share ONE loop: adapter clients (zcoap_uv_client_t) where the
 * exchange is ordinary, and a raw uv_udp_t peer with datagrams built by hand where the test needs
 * exact control (duplicates, an unknown critical option). The server runs with short transmission
 * parameters so that de-duplication windows (EXCHANGE_LIFETIME, RFC 7252 §4.8.2) end within a
 * fraction of a second of loop time. Callbacks only record; the test body asserts once the loop is
 * back. Every wait is bounded by a guard timer, nothing sleeps, and every test ends with all
 * handles closed and uv_loop_close() == 0 (in the teardown).
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
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "uv_support.h"
#include "zcoap/uv.h"

enum {
    GUARD_MS = 5000,         /* loop time after which a wait counts as failed */
    SCALE_GUARD_MS = 120000, /* the same for the 10,000-client run */
    /* Short windows: ACK_TIMEOUT 20 ms, factor 1.0, MAX_RETRANSMIT 1, MAX_LATENCY as below, so
     * EXCHANGE_LIFETIME = 20 * (2^1 - 1) + 2 * MAX_LATENCY + 20 (§4.8.2). */
    FAST_ACK_TIMEOUT_MS = 20,
    FAST_MAX_LATENCY_MS = 200,
    FAST_LIFETIME_MS = FAST_ACK_TIMEOUT_MS + 2 * FAST_MAX_LATENCY_MS + FAST_ACK_TIMEOUT_MS,
    /* Long enough that no peer of the many-peers test is recycled between its requests. */
    SLOW_MAX_LATENCY_MS = 2000,
    BUSY_MAX_AGE_S = 3,
    SEPARATE_DELAY_MS = 30,
    PENDING_FOREVER_MS = 60000, /* a separate answer the close test never lets happen */
    MANY_CLIENTS = 40,
    MANY_REQUESTS_EACH = 3,
    SCALE_FULL_N = 10000,
    SCALE_IN_FLIGHT = 128,       /* requests outstanding at once: stays under the socket's buffer */
    UNKNOWN_CRITICAL_OPT = 2049, /* odd: critical (§5.4.6); unassigned */
    N_RESOURCES = 6
};

static const char HELLO[] = "Hello World!";
static const char LATER[] = "later";

typedef struct fixture fixture_t;

/* One adapter client and what it saw. */
typedef struct test_client {
    zcoap_uv_client_t c;
    fixture_t *f;
    char uri[128];
    uint8_t type;
    uint8_t method;
    bool inited;
    bool close_requested;
    int remaining; /* requests still to send after the one in flight */
    int send_failures;
    int responses;
    int empty_acks;
    int failures; /* timeouts and resets */
    uint8_t code;
    uint8_t resp_type;
    bool has_max_age;
    uint32_t max_age;
    int content_format;
    char payload[1024];
    size_t payload_len;
} test_client_t;

struct fixture {
    uvt_loop_t uv;
    int family;

    /* The server. */
    zcoap_uv_server_t server;
    zcoap_resource_t resources[N_RESOURCES];
    bool server_started;
    bool server_close_requested;
    int server_close_calls;
    struct sockaddr_storage server_addr;
    int hello_calls;
    int separate_calls;
    /* The separate answer of the handler of /separate, sent from a timer of the test. */
    uv_timer_t answer_timer;
    zcoap_uv_peer_t *pending_peer;
    uint32_t answer_delay_ms;
    int answers_sent;
    int answer_rc;
    int handler_rc;    /* result of zcoap_uv_peer_ack() in the handler */
    size_t resp_slots; /* 0: the server's default */
    bool recvmmsg;     /* the server reads with recvmmsg (the *_mmsg setups) */
    bool reuse_port;
    bool no_amplification_limit; /* the server answers large without Echo (RFC 9175 §2.4) */

    /* The raw peer: it only records what the server sends it. */
    uvt_peer_t raw;
    size_t wait_raw_rx;
    int want_mid; /* run_until(raw_has_wanted_mid) waits for a datagram with this MID */

    /* Adapter clients. */
    test_client_t *clients;
    size_t n_clients;
    size_t clients_closed;
    size_t responses_total;
    size_t next_to_start; /* scale test: the next client to send, when one is answered */
    bool chain_starts;
    size_t n_chained; /* how many clients the chain starts in all */
    size_t wait_responses;
};

/* ---- loop, guard, waits ------------------------------------------------------------------- */

/* Run the loop until @p done(f) holds, for GUARD_MS of loop time at most. */
static bool run_until(fixture_t *f, bool (*done)(const void *ctx))
{
    return uvt_run_until(&f->uv, GUARD_MS, done, f);
}

static bool enough_responses(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->responses_total >= f->wait_responses;
}

static void run_until_responses(fixture_t *f, size_t n)
{
    f->wait_responses = n;
    if (!run_until(f, enough_responses)) {
        fail_msg("%zu response(s), not %zu, within %d ms of loop time", f->responses_total, n,
                 GUARD_MS);
    }
}

static bool raw_got_enough(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->raw.n_rx >= f->wait_raw_rx;
}

static void run_until_raw_rx(fixture_t *f, size_t n)
{
    f->wait_raw_rx = n;
    if (!run_until(f, raw_got_enough)) {
        fail_msg("the raw peer got %zu datagram(s), not %zu", f->raw.n_rx, n);
    }
}

static bool no_peer_in_use(const void *ctx)
{
    const fixture_t *f = ctx;
    return zcoap_uv_server_stats(&f->server)->peers_in_use == 0;
}

static bool everything_closed(const void *ctx)
{
    const fixture_t *f = ctx;
    size_t inited = 0;
    for (size_t i = 0; i < f->n_clients; i++) {
        inited += f->clients[i].inited ? 1u : 0u;
    }
    return f->clients_closed == inited && (!f->server_close_requested || f->server_close_calls > 0);
}

/* ---- the server and its resources --------------------------------------------------------- */

static void on_server_closed(zcoap_uv_server_t *s);

static void handle_hello(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                         const zcoap_msg_t *req)
{
    fixture_t *f = s->data;
    (void)res;
    (void)req;
    f->hello_calls++;
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, HELLO, sizeof HELLO - 1u);
}

static void handle_temp(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                        const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    (void)req;
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, "21.5", 4);
}

static void on_answer_timer(uv_timer_t *t)
{
    fixture_t *f = t->data;
    zcoap_uv_peer_t *peer = f->pending_peer;
    if (peer == NULL) {
        return;
    }
    f->answer_rc =
        zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, LATER, sizeof LATER - 1u);
    f->answers_sent++;
    peer->data = NULL; /* the peer may be recycled once its windows end */
    f->pending_peer = NULL;
}

/* Acknowledge now, answer from the test's timer: a separate response (RFC 7252 §5.2.2). */
static void handle_separate(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer,
                            const zcoap_resource_t *res, const zcoap_msg_t *req)
{
    fixture_t *f = s->data;
    (void)res;
    (void)req;
    f->separate_calls++;
    f->handler_rc = zcoap_uv_peer_ack(peer);
    peer->data = f; /* keeps the peer while the answer is pending */
    f->pending_peer = peer;
    (void)uv_timer_start(&f->answer_timer, on_answer_timer, f->answer_delay_ms, 0);
}

/* Close the whole server from inside a handler (a "shutdown" command). */
static void handle_shutdown(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer,
                            const zcoap_resource_t *res, const zcoap_msg_t *req)
{
    fixture_t *f = s->data;
    (void)peer;
    (void)res;
    (void)req;
    f->server_close_requested = true;
    zcoap_uv_server_close(s, on_server_closed);
}

static zcoap_resource_t resource(const char *path, uint32_t methods, const char *attrs, bool hidden,
                                 zcoap_uv_handler_fn handler)
{
    zcoap_resource_t r;
    r.path = path;
    r.methods = methods;
    r.attrs = attrs;
    r.hidden = hidden;
    r.handler = (void *)(uintptr_t)handler; /* the adapter casts it back */
    return r;
}

static void make_resources(fixture_t *f)
{
    const uint32_t get = ZCOAP_METHOD_BIT(ZCOAP_GET);
    f->resources[0] = resource("hello", get, "rt=\"greeting\";ct=0", false, handle_hello);
    f->resources[1] =
        resource("sensors/temp", get, "rt=\"temperature-c\";if=\"sensor\"", false, handle_temp);
    f->resources[2] = resource("separate", get, NULL, false, handle_separate);
    f->resources[3] = resource("secret", get, NULL, true, handle_hello);
    f->resources[4] = resource("nohandler", get, NULL, true, NULL);
    f->resources[5] = resource("shutdown", get, NULL, true, handle_shutdown);
}

static void start_server_full(fixture_t *f, size_t max_peers, uint32_t max_latency_ms)
{
    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    make_resources(f);
    cfg.resources = f->resources;
    cfg.n_resources = N_RESOURCES;
    cfg.max_peers = max_peers;
    cfg.tx.ack_timeout_ms = FAST_ACK_TIMEOUT_MS;
    cfg.tx.ack_random_factor_permil = 1000;
    cfg.tx.max_retransmit = 1;
    cfg.tx.max_latency_ms = max_latency_ms;
    cfg.busy_max_age_s = BUSY_MAX_AGE_S;
    if (f->resp_slots != 0) {
        cfg.resp_slots = f->resp_slots;
    }
    cfg.recvmmsg = f->recvmmsg;
    cfg.reuse_port = f->reuse_port;
    cfg.amplification_limit = !f->no_amplification_limit;
    struct sockaddr_storage bind_addr;
    uvt_loopback(f->family, 0, &bind_addr);
    f->server.data = f;
    int rc =
        zcoap_uv_server_start(&f->uv.loop, &f->server, (const struct sockaddr *)&bind_addr, &cfg);
    uvt_require_loopback(f->family, rc);
    f->server_started = true;
    /* Linux has recvmmsg: the option is in effect when set. */
    assert_int_equal(zcoap_uv_server_stats(&f->server)->recv_batch,
                     f->recvmmsg ? ZCOAP_UV_SERVER_RECV_BATCH : 1);
    assert_int_equal(zcoap_uv_server_address(&f->server, &f->server_addr), 0);
    assert_int_not_equal(uvt_port_of(&f->server_addr), 0);
}

static void start_server(fixture_t *f, size_t max_peers)
{
    start_server_full(f, max_peers, FAST_MAX_LATENCY_MS);
}

static const zcoap_uv_server_stats_t *server_stats(const fixture_t *f)
{
    return zcoap_uv_server_stats(&f->server);
}

static void on_server_closed(zcoap_uv_server_t *s)
{
    fixture_t *f = s->data;
    f->server_close_calls++;
}

static void close_server(fixture_t *f)
{
    if (f->server_started && !f->server_close_requested) {
        f->server_close_requested = true;
        zcoap_uv_server_close(&f->server, on_server_closed);
    }
}

/* ---- adapter clients ---------------------------------------------------------------------- */

static void client_send(test_client_t *tc)
{
    if (zcoap_uv_client_request(&tc->c, tc->type, tc->method, tc->uri, NULL, 0) != 0) {
        tc->send_failures++;
    }
}

static void start_next_client(fixture_t *f)
{
    if (f->chain_starts && f->next_to_start < f->n_chained) {
        client_send(&f->clients[f->next_to_start++]);
    }
}

static void record_response(test_client_t *tc, const zcoap_msg_t *msg)
{
    zcoap_opt_t opt;
    tc->responses++;
    tc->code = msg->code;
    tc->resp_type = msg->type;
    tc->has_max_age = zcoap_msg_find_opt(msg, ZCOAP_OPT_MAX_AGE, &opt);
    tc->max_age = 0;
    if (tc->has_max_age && zcoap_opt_uint(&opt, &tc->max_age) != ZCOAP_OK) {
        tc->max_age = UINT32_MAX;
    }
    uint32_t cf = 0;
    tc->content_format = -1;
    if (zcoap_msg_find_opt(msg, ZCOAP_OPT_CONTENT_FORMAT, &opt) &&
        zcoap_opt_uint(&opt, &cf) == ZCOAP_OK) {
        tc->content_format = (int)cf;
    }
    tc->payload_len =
        msg->payload_len < sizeof tc->payload - 1u ? msg->payload_len : sizeof tc->payload - 1u;
    if (tc->payload_len > 0) {
        memcpy(tc->payload, msg->payload, tc->payload_len);
    }
    tc->payload[tc->payload_len] = '\0';
}

static void on_client_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    test_client_t *tc = c->data;
    fixture_t *f = tc->f;
    switch (ev->kind) {
    case ZCOAP_EV_OUT_EMPTY_ACK:
        tc->empty_acks++;
        break;
    case ZCOAP_EV_OUT_TIMEOUT:
    case ZCOAP_EV_OUT_RESET:
        tc->failures++;
        f->responses_total++; /* the exchange is over all the same: waits end */
        start_next_client(f);
        break;
    case ZCOAP_EV_OUT_RESPONSE:
        record_response(tc, &ev->msg);
        f->responses_total++;
        if (tc->remaining > 0) {
            tc->remaining--;
            client_send(tc); /* the callback may start the next request */
        }
        start_next_client(f);
        break;
    default:
        break;
    }
}

static void on_client_closed(zcoap_uv_client_t *c)
{
    test_client_t *tc = c->data;
    tc->f->clients_closed++;
}

static void set_uri(fixture_t *f, test_client_t *tc, const char *path)
{
    uvt_uri(tc->uri, sizeof tc->uri, &f->server_addr, path);
}

/* @p n clients connected to the server, each to send @p method on @p path as @p type. */
static void make_clients(fixture_t *f, size_t n, uint8_t type, uint8_t method, const char *path)
{
    f->clients = calloc(n, sizeof *f->clients);
    assert_non_null(f->clients);
    f->n_clients = n;
    for (size_t i = 0; i < n; i++) {
        test_client_t *tc = &f->clients[i];
        tc->f = f;
        tc->type = type;
        tc->method = method;
        set_uri(f, tc, path);
        tc->c.data = tc;
        assert_int_equal(zcoap_uv_client_init(&f->uv.loop, &tc->c, NULL, on_client_event), 0);
        tc->inited = true;
        assert_int_equal(zcoap_uv_client_connect(&tc->c, (const struct sockaddr *)&f->server_addr),
                         0);
    }
}

static void close_clients(fixture_t *f)
{
    for (size_t i = 0; i < f->n_clients; i++) {
        test_client_t *tc = &f->clients[i];
        if (tc->inited && !tc->close_requested) {
            tc->close_requested = true;
            zcoap_uv_client_close(&tc->c, on_client_closed);
        }
    }
}

/* One request from one client, run until answered; the client's record afterwards. */
static test_client_t *exchange(fixture_t *f, size_t client, uint8_t type, uint8_t method,
                               const char *path)
{
    test_client_t *tc = &f->clients[client];
    tc->type = type;
    tc->method = method;
    set_uri(f, tc, path);
    size_t before = f->responses_total;
    client_send(tc);
    assert_int_equal(tc->send_failures, 0);
    run_until_responses(f, before + 1u);
    assert_int_equal(tc->failures, 0);
    return tc;
}

/* ---- the raw peer ------------------------------------------------------------------------- */

static void open_raw_peer(fixture_t *f)
{
    assert_int_equal(uvt_peer_open(&f->raw, &f->uv.loop, f->family, 0), 0);
}

static void raw_send(fixture_t *f, const uint8_t *p, size_t n)
{
    assert_int_equal(uvt_peer_send(&f->raw, &f->server_addr, p, (ptrdiff_t)n), 0);
}

/* The raw peer's received datagram with MID @p mid, or NULL. */
static const uvt_datagram_t *raw_find_mid(const fixture_t *f, int mid)
{
    for (size_t i = 0; i < f->raw.n_rx && i < UVT_LOG_MAX; i++) {
        const uvt_datagram_t *d = &f->raw.rx[i];
        if (d->len >= 4 && ((d->data[2] << 8) | d->data[3]) == mid) {
            return d;
        }
    }
    return NULL;
}

static bool raw_has_wanted_mid(const void *ctx)
{
    const fixture_t *f = ctx;
    return raw_find_mid(f, f->want_mid) != NULL;
}

/* A CON GET /hello with MID @p mid and a 4-byte token, plus an option when @p extra_opt != 0. */
static size_t build_get_hello(uint8_t *buf, size_t cap, uint16_t mid, uint16_t extra_opt)
{
    static const uint8_t token[4] = {0xA1, 0xB2, 0xC3, 0xD4};
    zcoap_builder_t b;
    assert_int_equal(
        zcoap_builder_init(&b, buf, cap, ZCOAP_TYPE_CON, ZCOAP_GET, mid, token, sizeof token), 0);
    assert_int_equal(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "hello"), 0);
    if (extra_opt != 0) {
        assert_int_equal(zcoap_builder_add_opt(&b, extra_opt, "x", 1), 0);
    }
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    return (size_t)n;
}

/* A CON GET on @p path with MID @p mid and a 2-byte token made of the MID. */
static size_t build_get(uint8_t *buf, size_t cap, uint16_t mid, const char *path)
{
    const uint8_t token[2] = {(uint8_t)(mid >> 8), (uint8_t)mid};
    zcoap_builder_t b;
    assert_int_equal(
        zcoap_builder_init(&b, buf, cap, ZCOAP_TYPE_CON, ZCOAP_GET, mid, token, sizeof token), 0);
    assert_int_equal(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, path), 0);
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    return (size_t)n;
}

/* ---- setup and teardown ------------------------------------------------------------------- */

static int setup(void **state, int family)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL || uvt_loop_init(&f->uv) != 0) {
        free(f);
        return -1;
    }
    f->family = family;
    f->answer_delay_ms = SEPARATE_DELAY_MS;
    (void)uv_timer_init(&f->uv.loop, &f->answer_timer);
    f->answer_timer.data = f;
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

static int teardown(void **state)
{
    fixture_t *f = *state;
    close_clients(f);
    close_server(f);
    uvt_peer_close(&f->raw);
    uvt_close_handle((uv_handle_t *)&f->answer_timer);
    assert_true(run_until(f, everything_closed));
    if (f->server_close_requested) {
        assert_int_equal(f->server_close_calls, 1);
    }
    uvt_loop_end(&f->uv);
    free(f->clients);
    free(f);
    return 0;
}

/* ---- 1. resources, listing, errors, NON, separate, 4.02 ----------------------------------- */

static void test_piggybacked_get(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    make_clients(f, 1, ZCOAP_TYPE_CON, ZCOAP_GET, "hello");
    test_client_t *tc = exchange(f, 0, ZCOAP_TYPE_CON, ZCOAP_GET, "hello");
    assert_int_equal(tc->code, ZCOAP_CONTENT);
    assert_int_equal(tc->resp_type, ZCOAP_TYPE_ACK); /* piggybacked (§5.2.1) */
    assert_int_equal(tc->empty_acks, 0);
    assert_int_equal(tc->content_format, ZCOAP_CF_TEXT_PLAIN);
    assert_string_equal(tc->payload, HELLO);
    assert_int_equal(f->hello_calls, 1);
    assert_int_equal(server_stats(f)->datagrams_in, 1);
    assert_int_equal(server_stats(f)->datagrams_out, 1);
    assert_int_equal(server_stats(f)->peers_created, 1);
}

static void test_wellknown_core(void **state)
{
    fixture_t *f = *state;
    /* The listing is over 3 times the request: with the amplification limit an unverified
     * client first gets 4.01 Echo, which plain requests do not repeat (test_uv_echo.c). */
    f->no_amplification_limit = true;
    start_server(f, 8);
    make_clients(f, 1, ZCOAP_TYPE_CON, ZCOAP_GET, "hello");
    test_client_t *tc = exchange(f, 0, ZCOAP_TYPE_CON, ZCOAP_GET, ".well-known/core");
    assert_int_equal(tc->code, ZCOAP_CONTENT);
    assert_int_equal(tc->content_format, ZCOAP_CF_LINK_FORMAT);
    /* RFC 6690 §5: every listed resource, in table order; hidden ones are left out. */
    assert_string_equal(tc->payload, "</hello>;rt=\"greeting\";ct=0,"
                                     "</sensors/temp>;rt=\"temperature-c\";if=\"sensor\","
                                     "</separate>");
    /* RFC 6690 §4.1: ?rt= keeps the links with that resource type. */
    tc = exchange(f, 0, ZCOAP_TYPE_CON, ZCOAP_GET, ".well-known/core?rt=temperature-c");
    assert_int_equal(tc->code, ZCOAP_CONTENT);
    assert_string_equal(tc->payload, "</sensors/temp>;rt=\"temperature-c\";if=\"sensor\"");
    tc = exchange(f, 0, ZCOAP_TYPE_CON, ZCOAP_GET, ".well-known/core?rt=nothing-such");
    assert_int_equal(tc->code, ZCOAP_CONTENT);
    assert_int_equal(tc->payload_len, 0);
    /* The listing is GET only. */
    tc = exchange(f, 0, ZCOAP_TYPE_CON, ZCOAP_POST, ".well-known/core");
    assert_int_equal(tc->code, ZCOAP_METHOD_NOT_ALLOWED);
}

static void test_not_found_and_method_not_allowed(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    make_clients(f, 1, ZCOAP_TYPE_CON, ZCOAP_GET, "hello");
    test_client_t *tc = exchange(f, 0, ZCOAP_TYPE_CON, ZCOAP_GET, "nowhere");
    assert_int_equal(tc->code, ZCOAP_NOT_FOUND);
    assert_int_equal(tc->resp_type, ZCOAP_TYPE_ACK);
    tc = exchange(f, 0, ZCOAP_TYPE_CON, ZCOAP_GET, "hello/deeper");
    assert_int_equal(tc->code, ZCOAP_NOT_FOUND);
    tc = exchange(f, 0, ZCOAP_TYPE_CON, ZCOAP_POST, "hello");
    assert_int_equal(tc->code, ZCOAP_METHOD_NOT_ALLOWED);
    tc = exchange(f, 0, ZCOAP_TYPE_CON, ZCOAP_DELETE, "sensors/temp");
    assert_int_equal(tc->code, ZCOAP_METHOD_NOT_ALLOWED);
    /* A resource without a handler: 5.01 rather than silence. */
    tc = exchange(f, 0, ZCOAP_TYPE_CON, ZCOAP_GET, "nohandler");
    assert_int_equal(tc->code, ZCOAP_NOT_IMPLEMENTED);
    assert_int_equal(f->hello_calls, 0);
}

static void test_non_request_gets_non_response(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    make_clients(f, 1, ZCOAP_TYPE_NON, ZCOAP_GET, "hello");
    test_client_t *tc = exchange(f, 0, ZCOAP_TYPE_NON, ZCOAP_GET, "sensors/temp");
    assert_int_equal(tc->code, ZCOAP_CONTENT);
    assert_int_equal(tc->resp_type, ZCOAP_TYPE_NON); /* §5.2.3 */
    assert_string_equal(tc->payload, "21.5");
    tc = exchange(f, 0, ZCOAP_TYPE_NON, ZCOAP_GET, "nowhere");
    assert_int_equal(tc->code, ZCOAP_NOT_FOUND);
    assert_int_equal(tc->resp_type, ZCOAP_TYPE_NON);
}

static void test_separate_response(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    make_clients(f, 1, ZCOAP_TYPE_CON, ZCOAP_GET, "separate");
    test_client_t *tc = exchange(f, 0, ZCOAP_TYPE_CON, ZCOAP_GET, "separate");
    assert_int_equal(f->separate_calls, 1);
    assert_int_equal(f->handler_rc, 0);
    assert_int_equal(f->answers_sent, 1);
    assert_int_equal(f->answer_rc, 0);
    assert_int_equal(tc->empty_acks, 1);             /* the handler's empty ACK */
    assert_int_equal(tc->resp_type, ZCOAP_TYPE_CON); /* then a CON response (§5.2.2) */
    assert_int_equal(tc->code, ZCOAP_CONTENT);
    assert_string_equal(tc->payload, LATER);
    /* The client acknowledges the CON response: the server gets that ACK and never retransmits
     * (with ACK_TIMEOUT 20 ms and MAX_RETRANSMIT 1, a retransmission would come within ~40 ms).
     * The peer is recycled once its windows end. */
    uvt_run_for(&f->uv, 4 * FAST_ACK_TIMEOUT_MS);
    assert_int_equal(server_stats(f)->datagrams_out, 2);
    assert_true(run_until(f, no_peer_in_use));
    assert_int_equal(server_stats(f)->datagrams_in, 2);  /* request, ACK */
    assert_int_equal(server_stats(f)->datagrams_out, 2); /* empty ACK, CON response */
    assert_int_equal(tc->responses, 1);
    assert_int_equal(server_stats(f)->peers_recycled, 1);
}

static void test_unknown_critical_option(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    open_raw_peer(f);
    uint8_t req[64];
    size_t n = build_get_hello(req, sizeof req, 0x5151, UNKNOWN_CRITICAL_OPT);
    raw_send(f, req, n);
    run_until_raw_rx(f, 1);
    zcoap_msg_t resp;
    assert_int_equal(zcoap_msg_parse(&resp, f->raw.rx[0].data, f->raw.rx[0].len), 0);
    /* §5.4.1: an unrecognised critical option in a CON request -> 4.02 piggybacked. */
    assert_int_equal(resp.type, ZCOAP_TYPE_ACK);
    assert_int_equal(resp.mid, 0x5151);
    assert_int_equal(resp.code, ZCOAP_BAD_OPTION);
    assert_int_equal(resp.token_len, 4);
    assert_memory_equal(resp.token, req + 4, 4);
    assert_int_equal(f->hello_calls, 0); /* answered by the endpoint, not the handler */
}

/* A raw peer that never acknowledges the separate response: a duplicate of the request before the
 * answer gets the empty ACK again (§4.5), the CON response is retransmitted MAX_RETRANSMIT times
 * (§4.2), then the exchange ends and the peer is recycled. */
static void test_separate_unacknowledged(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    open_raw_peer(f);
    uint8_t req[64];
    size_t n = build_get(req, sizeof req, 0x6001, "separate");
    raw_send(f, req, n);
    run_until_raw_rx(f, 1);
    raw_send(f, req, n); /* a retransmission of ours, before the answer */
    run_until_raw_rx(f, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(f->raw.rx[i].len, 4); /* the empty ACK, twice */
        assert_int_equal(f->raw.rx[i].data[0], 0x60);
        assert_int_equal(f->raw.rx[i].data[1], 0x00);
        assert_int_equal(f->raw.rx[i].data[2], 0x60);
        assert_int_equal(f->raw.rx[i].data[3], 0x01);
    }
    assert_int_equal(f->separate_calls, 1);
    run_until_raw_rx(f, 4); /* the CON response and its one retransmission */
    assert_int_equal(f->answers_sent, 1);
    assert_int_equal(f->raw.rx[3].len, f->raw.rx[2].len);
    assert_memory_equal(f->raw.rx[3].data, f->raw.rx[2].data, f->raw.rx[2].len);
    zcoap_msg_t resp;
    assert_int_equal(zcoap_msg_parse(&resp, f->raw.rx[2].data, f->raw.rx[2].len), 0);
    assert_int_equal(resp.type, ZCOAP_TYPE_CON);
    assert_int_equal(resp.code, ZCOAP_CONTENT);
    assert_int_equal(resp.token_len, 2);
    assert_memory_equal(resp.token, req + 4, 2); /* the request's token */
    assert_true(run_until(f, no_peer_in_use));
    assert_int_equal(f->raw.n_rx, 4); /* nothing after MAX_RETRANSMIT */
    assert_int_equal(server_stats(f)->peers_recycled, 1);
}

/* ---- 2. many peers ------------------------------------------------------------------------ */

static void test_many_peers(void **state)
{
    fixture_t *f = *state;
    /* Long windows: no peer is recycled between its own requests, so one peer per client. */
    start_server_full(f, 2 * MANY_CLIENTS, SLOW_MAX_LATENCY_MS);
    make_clients(f, MANY_CLIENTS, ZCOAP_TYPE_CON, ZCOAP_GET, "hello");
    for (size_t i = 0; i < MANY_CLIENTS; i++) {
        f->clients[i].remaining = MANY_REQUESTS_EACH - 1;
        client_send(&f->clients[i]);
    }
    run_until_responses(f, (size_t)MANY_CLIENTS * MANY_REQUESTS_EACH);
    for (size_t i = 0; i < MANY_CLIENTS; i++) {
        const test_client_t *tc = &f->clients[i];
        assert_int_equal(tc->send_failures, 0);
        assert_int_equal(tc->failures, 0);
        assert_int_equal(tc->responses, MANY_REQUESTS_EACH);
        assert_int_equal(tc->code, ZCOAP_CONTENT);
        assert_string_equal(tc->payload, HELLO);
    }
    const zcoap_uv_server_stats_t *st = server_stats(f);
    assert_int_equal(st->peers_created, MANY_CLIENTS);
    assert_int_equal(st->peers_in_use, MANY_CLIENTS);
    assert_int_equal(st->peers_recycled, 0);
    assert_int_equal(st->pool_full, 0);
    assert_int_equal(f->hello_calls, MANY_CLIENTS * MANY_REQUESTS_EACH);
    /* Every request (or retransmission of one) gets exactly one reply. */
    assert_true(st->datagrams_in >= (uint64_t)MANY_CLIENTS * MANY_REQUESTS_EACH);
    assert_int_equal(st->datagrams_out, st->datagrams_in);
    assert_int_equal(st->send_errors, 0);
    assert_int_equal(st->recv_errors, 0);
    assert_int_equal(st->truncated, 0);
}

/* ---- 3. recycling ------------------------------------------------------------------------- */

static void test_peers_recycled(void **state)
{
    enum { N = 5 };
    fixture_t *f = *state;
    start_server(f, 16);
    make_clients(f, N, ZCOAP_TYPE_CON, ZCOAP_GET, "hello");
    uv_update_time(&f->uv.loop);
    uint64_t sent_at = uv_now(&f->uv.loop);
    for (size_t i = 0; i < N; i++) {
        client_send(&f->clients[i]);
    }
    run_until_responses(f, N);
    uint64_t answered_at = uv_now(&f->uv.loop);
    /* Each peer keeps its state for the de-duplication window of its request (§4.5). */
    if (answered_at - sent_at < FAST_LIFETIME_MS) {
        assert_int_equal(server_stats(f)->peers_in_use, N);
    }
    assert_true(run_until(f, no_peer_in_use));
    uint64_t recycled_at = uv_now(&f->uv.loop);
    print_message("peers recycled %llu ms after the requests (EXCHANGE_LIFETIME %d ms)\n",
                  (unsigned long long)(recycled_at - sent_at), FAST_LIFETIME_MS);
    assert_true(recycled_at - sent_at >= FAST_LIFETIME_MS);
    const zcoap_uv_server_stats_t *st = server_stats(f);
    assert_int_equal(st->peers_created, N);
    assert_int_equal(st->peers_recycled, N);
    /* A recycled slot serves a returning client as a new peer. */
    test_client_t *tc = exchange(f, 0, ZCOAP_TYPE_CON, ZCOAP_GET, "hello");
    assert_int_equal(tc->code, ZCOAP_CONTENT);
    assert_int_equal(st->peers_created, N + 1);
    assert_true(run_until(f, no_peer_in_use));
    assert_int_equal(st->peers_recycled, N + 1);
}

/* ---- 4. pool full ------------------------------------------------------------------------- */

static void test_pool_full(void **state)
{
    fixture_t *f = *state;
    start_server(f, 2);
    make_clients(f, 3, ZCOAP_TYPE_CON, ZCOAP_GET, "hello");
    client_send(&f->clients[0]);
    client_send(&f->clients[1]);
    run_until_responses(f, 2);
    assert_int_equal(server_stats(f)->peers_in_use, 2);
    /* §5.9.3.4: no slot, so 5.03 with Max-Age instead of dropping another peer's state. */
    test_client_t *third = exchange(f, 2, ZCOAP_TYPE_CON, ZCOAP_GET, "hello");
    assert_int_equal(third->code, ZCOAP_SERVICE_UNAVAILABLE);
    assert_int_equal(third->resp_type, ZCOAP_TYPE_ACK);
    assert_true(third->has_max_age);
    assert_int_equal(third->max_age, BUSY_MAX_AGE_S);
    assert_int_equal(server_stats(f)->pool_full, 1);
    assert_int_equal(server_stats(f)->peers_created, 2);
    assert_int_equal(f->hello_calls, 2);
    /* A NON request gets a NON 5.03 (§5.2.3). */
    third = exchange(f, 2, ZCOAP_TYPE_NON, ZCOAP_GET, "hello");
    assert_int_equal(third->code, ZCOAP_SERVICE_UNAVAILABLE);
    assert_int_equal(third->resp_type, ZCOAP_TYPE_NON);
    assert_int_equal(third->max_age, BUSY_MAX_AGE_S);
    assert_int_equal(server_stats(f)->pool_full, 2);
    /* Once the first two are recycled, the third client's retry is served. */
    assert_true(run_until(f, no_peer_in_use));
    third = exchange(f, 2, ZCOAP_TYPE_CON, ZCOAP_GET, "hello");
    assert_int_equal(third->code, ZCOAP_CONTENT);
    assert_false(third->has_max_age);
    assert_string_equal(third->payload, HELLO);
    assert_int_equal(server_stats(f)->peers_created, 3);
    assert_int_equal(server_stats(f)->pool_full, 2);
}

/* ---- 5. duplicates ------------------------------------------------------------------------ */

static void test_duplicate_con_request(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    open_raw_peer(f);
    uint8_t req[64];
    size_t n = build_get_hello(req, sizeof req, 0x4242, 0);
    raw_send(f, req, n);
    run_until_raw_rx(f, 1);
    raw_send(f, req, n); /* the same MID again: a duplicate (§4.5) */
    run_until_raw_rx(f, 2);
    assert_int_equal(f->hello_calls, 1);
    assert_int_equal(f->raw.rx[1].len, f->raw.rx[0].len);
    assert_memory_equal(f->raw.rx[1].data, f->raw.rx[0].data, f->raw.rx[0].len);
    zcoap_msg_t resp;
    assert_int_equal(zcoap_msg_parse(&resp, f->raw.rx[0].data, f->raw.rx[0].len), 0);
    assert_int_equal(resp.type, ZCOAP_TYPE_ACK);
    assert_int_equal(resp.mid, 0x4242);
    assert_int_equal(resp.code, ZCOAP_CONTENT);
    /* A new MID is a new request. */
    n = build_get_hello(req, sizeof req, 0x4243, 0);
    raw_send(f, req, n);
    run_until_raw_rx(f, 3);
    assert_int_equal(f->hello_calls, 2);
    assert_int_equal(server_stats(f)->peers_created, 1);
}

/* ---- 6. close mid-exchange ---------------------------------------------------------------- */

static bool client0_acked(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->clients[0].empty_acks > 0;
}

static bool server_closed(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->server_close_calls > 0;
}

static void test_close_mid_exchange(void **state)
{
    fixture_t *f = *state;
    f->answer_delay_ms = PENDING_FOREVER_MS;
    start_server(f, 8);
    make_clients(f, 2, ZCOAP_TYPE_CON, ZCOAP_GET, "separate");
    client_send(&f->clients[0]);
    assert_true(run_until(f, client0_acked));
    assert_int_equal(f->separate_calls, 1);
    assert_non_null(f->pending_peer);
    /* Another peer in its de-duplication window, too. */
    set_uri(f, &f->clients[1], "hello");
    client_send(&f->clients[1]);
    run_until_responses(f, 1);
    assert_int_equal(server_stats(f)->peers_in_use, 2);
    /* Close with the separate answer still pending: the test's own timer closes as well. */
    close_server(f);
    f->pending_peer = NULL; /* its memory goes with the server */
    uvt_close_handle((uv_handle_t *)&f->answer_timer);
    assert_true(run_until(f, server_closed));
    assert_int_equal(f->server_close_calls, 1);
    assert_int_equal(f->answers_sent, 0);
    assert_int_equal(f->clients[0].responses, 0);
    /* The teardown checks the close callback ran once and uv_loop_close() == 0. */
}

/* Closing the server from inside a handler, mid-dispatch, is safe (no use after free). */
static void test_close_from_handler(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    make_clients(f, 1, ZCOAP_TYPE_CON, ZCOAP_GET, "shutdown");
    client_send(&f->clients[0]);
    assert_true(run_until(f, server_closed));
    assert_int_equal(f->server_close_calls, 1);
    assert_int_equal(f->clients[0].responses, 0);
}

/* An Empty CON (CoAP ping) gets a RST with its MID (§4.3), and leaves no peer behind. */
static void test_ping(void **state)
{
    fixture_t *f = *state;
    start_server(f, 1);
    open_raw_peer(f);
    uint8_t ping[4] = {0x40, 0x00, 0x12, 0x34};
    raw_send(f, ping, sizeof ping);
    run_until_raw_rx(f, 1);
    assert_int_equal(f->raw.rx[0].len, 4);
    assert_int_equal(f->raw.rx[0].data[0], 0x70); /* version 1, RST, no token */
    assert_int_equal(f->raw.rx[0].data[1], 0x00);
    assert_int_equal(f->raw.rx[0].data[2], 0x12);
    assert_int_equal(f->raw.rx[0].data[3], 0x34);
}

/* A ping while the pool is full still gets its RST: answering it needs no state (§4.3). */
static void test_ping_when_pool_full(void **state)
{
    fixture_t *f = *state;
    start_server(f, 1);
    make_clients(f, 1, ZCOAP_TYPE_CON, ZCOAP_GET, "hello");
    client_send(&f->clients[0]);
    run_until_responses(f, 1);
    assert_int_equal(server_stats(f)->peers_in_use, 1);
    open_raw_peer(f);
    uint8_t ping[4] = {0x40, 0x00, 0x12, 0x35};
    raw_send(f, ping, sizeof ping);
    run_until_raw_rx(f, 1);
    assert_int_equal(f->raw.rx[0].len, 4);
    assert_int_equal(f->raw.rx[0].data[0], 0x70);
    assert_int_equal(f->raw.rx[0].data[3], 0x35);
}

/* Only requests take a peer. Anything else from an address without one is answered, or not,
 * without state: a ping and a CON response get RST; ACK, RST and a NON response nothing. */
static void test_stateless_answers_take_no_peer(void **state)
{
    fixture_t *f = *state;
    start_server(f, 4);
    open_raw_peer(f);
    const uint8_t ack[4] = {0x60, 0x00, 0x71, 0x01};
    const uint8_t rst[4] = {0x70, 0x00, 0x71, 0x02};
    const uint8_t non_response[5] = {0x51, 0x45, 0x71, 0x03, 0x0A};
    const uint8_t other_version[4] = {0x80, 0x01, 0x71, 0x04};
    const uint8_t con_response[5] = {0x41, 0x45, 0x71, 0x05, 0x0B};
    const uint8_t ping[4] = {0x40, 0x00, 0x71, 0x06};
    raw_send(f, ack, sizeof ack);
    raw_send(f, rst, sizeof rst);
    raw_send(f, non_response, sizeof non_response);
    raw_send(f, other_version, sizeof other_version);
    raw_send(f, con_response, sizeof con_response);
    raw_send(f, ping, sizeof ping);
    run_until_raw_rx(f, 2); /* loopback keeps the order: the silent ones came first */
    assert_int_equal(f->raw.n_rx, 2);
    const uint8_t rst_con_response[4] = {0x70, 0x00, 0x71, 0x05};
    const uint8_t rst_ping[4] = {0x70, 0x00, 0x71, 0x06};
    assert_int_equal(f->raw.rx[0].len, 4);
    assert_memory_equal(f->raw.rx[0].data, rst_con_response, 4);
    assert_int_equal(f->raw.rx[1].len, 4);
    assert_memory_equal(f->raw.rx[1].data, rst_ping, 4);
    assert_int_equal(server_stats(f)->stateless, 6);
    assert_int_equal(server_stats(f)->peers_created, 0);
    assert_int_equal(server_stats(f)->peers_in_use, 0);
    /* A request does take one. */
    uint8_t req[64];
    raw_send(f, req, build_get_hello(req, sizeof req, 0x7107, 0));
    run_until_raw_rx(f, 3);
    assert_int_equal(server_stats(f)->peers_created, 1);
    assert_int_equal(f->hello_calls, 1);
}

/* RFC 7252 §4.7: the peer took our separate CON response but its ACK was lost, and its next
 * request comes while we still retransmit. With two response slots per peer it is served at
 * once; with one (the default) the slot is taken and the request gets 5.03 Max-Age 2. */
static void next_request_during_separate_con(fixture_t *f, size_t resp_slots)
{
    f->resp_slots = resp_slots;
    f->answer_delay_ms = 1; /* answer right after the empty ACK */
    start_server_full(f, 4, SLOW_MAX_LATENCY_MS);
    open_raw_peer(f);
    uint8_t req[64];
    raw_send(f, req, build_get(req, sizeof req, 0x6201, "separate"));
    run_until_raw_rx(f, 2); /* the empty ACK, then the CON response */
    zcoap_msg_t resp;
    assert_int_equal(zcoap_msg_parse(&resp, f->raw.rx[1].data, f->raw.rx[1].len), 0);
    assert_int_equal(resp.type, ZCOAP_TYPE_CON);
    assert_int_equal(resp.code, ZCOAP_CONTENT);
    /* Our ACK of it is "lost": the next request comes at once. */
    uint8_t hello[64];
    raw_send(f, hello, build_get_hello(hello, sizeof hello, 0x6202, 0));
    f->want_mid = 0x6202;
    assert_true(run_until(f, raw_has_wanted_mid));
    const uvt_datagram_t *d = raw_find_mid(f, 0x6202);
    zcoap_msg_t answer;
    assert_int_equal(zcoap_msg_parse(&answer, d->data, d->len), 0);
    assert_int_equal(answer.type, ZCOAP_TYPE_ACK);
    if (resp_slots >= 2) {
        assert_int_equal(answer.code, ZCOAP_CONTENT);
        assert_int_equal(answer.payload_len, sizeof HELLO - 1u);
        assert_int_equal(f->hello_calls, 1);
    } else {
        assert_int_equal(answer.code, ZCOAP_SERVICE_UNAVAILABLE);
        uint32_t max_age = 0;
        assert_int_equal(zcoap_msg_get_uint(&answer, ZCOAP_OPT_MAX_AGE, &max_age), 0);
        assert_int_equal(max_age, 2);
        assert_int_equal(f->hello_calls, 0);
    }
    /* The CON response is still retransmitted until acknowledged. */
    f->want_mid = resp.mid;
    size_t copies = 0;
    for (size_t i = 0; i < f->raw.n_rx && i < UVT_LOG_MAX; i++) {
        copies += f->raw.rx[i].len == f->raw.rx[1].len &&
                  memcmp(f->raw.rx[i].data, f->raw.rx[1].data, f->raw.rx[1].len) == 0;
    }
    if (copies < 2) {
        size_t seen = f->raw.n_rx;
        run_until_raw_rx(f, seen + 1);
        assert_memory_equal(uvt_peer_rx(&f->raw, seen)->data, f->raw.rx[1].data, f->raw.rx[1].len);
    }
}

static void test_next_request_during_separate_con_two_slots(void **state)
{
    next_request_during_separate_con(*state, 2);
}

static void test_next_request_during_separate_con_one_slot(void **state)
{
    next_request_during_separate_con(*state, 1);
}

/* The socket's receive buffer: the default asks for 4 MiB (what the kernel grants depends on
 * net.core.rmem_max and privileges); a size under the usual cap is granted (Linux reports it
 * doubled); 0 leaves the system's. The size in effect is in the stats. */
static void test_receive_buffer_size(void **state)
{
    fixture_t *f = *state;
    start_server(f, 4);
    assert_true(server_stats(f)->recv_buffer_size > 0);
    const size_t sizes[] = {64 * 1024, 0};
    for (size_t i = 0; i < 2; i++) {
        zcoap_uv_server_t other;
        zcoap_uv_server_config_t cfg;
        zcoap_uv_server_config_default(&cfg);
        assert_int_equal(cfg.recv_buffer_size, 4u << 20);
        cfg.recv_buffer_size = sizes[i];
        memset(&other, 0, sizeof other);
        struct sockaddr_in any;
        assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &any), 0);
        assert_int_equal(
            zcoap_uv_server_start(&f->uv.loop, &other, (const struct sockaddr *)&any, &cfg), 0);
        size_t got = zcoap_uv_server_stats(&other)->recv_buffer_size;
        if (sizes[i] != 0) {
            assert_true(got >= sizes[i]);
        } else {
            assert_true(got > 0);
        }
        zcoap_uv_server_close(&other, NULL);
        (void)uv_run(&f->uv.loop, UV_RUN_NOWAIT);
    }
}

/* A second server on an address in use fails with EADDRINUSE. Its handle is still closing when
 * start returns: the loop must run before @c second goes away. */
static void test_address_in_use(void **state)
{
    fixture_t *f = *state;
    start_server(f, 4);
    zcoap_uv_server_t second;
    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    memset(&second, 0, sizeof second);
    int rc =
        zcoap_uv_server_start(&f->uv.loop, &second, (const struct sockaddr *)&f->server_addr, &cfg);
    assert_int_equal(rc, UV_EADDRINUSE);
    (void)uv_run(&f->uv.loop, UV_RUN_NOWAIT); /* the failed start's handle closes */
}

/* ---- 7. scale (prints, never asserts speed) ----------------------------------------------- */

static long rss_bytes(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    long size = 0;
    long resident = 0;
    if (fp == NULL) {
        return -1;
    }
    if (fscanf(fp, "%ld %ld", &size, &resident) != 2) {
        resident = -1;
    }
    (void)fclose(fp);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* 10,000 by default (also under Valgrind, where the whole program takes ~5 s), scaled by
 * ZCOAP_TEST_SCALE (a float) when set. */
static size_t scale_clients(void)
{
    double n = SCALE_FULL_N;
    const char *scale = getenv("ZCOAP_TEST_SCALE");
    if (scale != NULL) {
        double k = strtod(scale, NULL);
        if (k > 0) {
            n *= k;
        }
    }
    return n < 1 ? 1u : (size_t)n;
}

/* Each client holds one socket: raise the descriptor limit, and use fewer clients if it is low. */
static size_t clamp_to_fd_limit(size_t n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return n;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)n + 100u) {
        size_t limited = rl.rlim_cur > 200u ? (size_t)rl.rlim_cur - 100u : 100u;
        print_message("descriptor limit %llu: %zu clients instead of %zu\n",
                      (unsigned long long)rl.rlim_cur, limited, n);
        return limited;
    }
    return n;
}

static bool all_answered(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->responses_total >= f->n_chained;
}

/* Up to @p n clients of the scale test; fewer when the ephemeral ports run out (other programs
 * on the machine may hold many: each connect() binds one). Returns how many are connected. */
static size_t make_scale_clients(fixture_t *f, size_t n)
{
    f->clients = calloc(n, sizeof *f->clients);
    assert_non_null(f->clients);
    for (size_t i = 0; i < n; i++) {
        test_client_t *tc = &f->clients[i];
        tc->f = f;
        tc->type = ZCOAP_TYPE_CON;
        tc->method = ZCOAP_GET;
        set_uri(f, tc, "hello");
        tc->c.data = tc;
        assert_int_equal(zcoap_uv_client_init(&f->uv.loop, &tc->c, NULL, on_client_event), 0);
        tc->inited = true;
        f->n_clients = i + 1u;
        int rc = zcoap_uv_client_connect(&tc->c, (const struct sockaddr *)&f->server_addr);
        if (rc == UV_EADDRINUSE || rc == UV_EADDRNOTAVAIL) {
            print_message("scale: no ephemeral port left after %zu clients (%s): using %zu\n", i,
                          zcoap_uv_strerror(rc), i);
            return i;
        }
        assert_int_equal(rc, 0);
    }
    return n;
}

static void test_scale(void **state)
{
    fixture_t *f = *state;
    size_t wanted = clamp_to_fd_limit(scale_clients());
    size_t n = wanted;
    long rss_start = rss_bytes();
    start_server(f, n);
    long rss_server = rss_bytes();
    n = make_scale_clients(f, n);
    assert_true(n >= (wanted < 1000u ? wanted : 1000u));
    f->n_chained = n;
    long rss_clients = rss_bytes();
    /* Keep SCALE_IN_FLIGHT requests outstanding; each response starts the next client. */
    f->chain_starts = true;
    uint64_t t0 = uv_hrtime();
    size_t first = n < SCALE_IN_FLIGHT ? n : SCALE_IN_FLIGHT;
    for (f->next_to_start = 0; f->next_to_start < first;) {
        client_send(&f->clients[f->next_to_start++]);
    }
    bool done = uvt_run_until(&f->uv, SCALE_GUARD_MS, all_answered, f);
    uint64_t t1 = uv_hrtime();
    long rss_end = rss_bytes();
    const zcoap_uv_server_stats_t *st = server_stats(f);
    const zcoap_uv_server_config_t *cfg = &f->server.cfg;
    size_t pool_per_peer = sizeof(zcoap_uv_peer_t) + cfg->resp_slots * cfg->msg_cap +
                           cfg->dedup_cap * sizeof(zcoap_dedup_entry_t) +
                           f->server.n_buckets * sizeof(uint32_t) / cfg->max_peers;
    print_message("scale: %zu clients, %zu answered in %.3f s of loop time (%llu datagrams in, "
                  "%llu out, %llu send errors)\n",
                  n, f->responses_total, (double)(t1 - t0) / 1e9,
                  (unsigned long long)st->datagrams_in, (unsigned long long)st->datagrams_out,
                  (unsigned long long)st->send_errors);
    print_message("scale: RSS %ld KiB at start, %ld KiB with the server (max_peers %zu), "
                  "%ld KiB with the clients, %ld KiB at the end\n",
                  rss_start / 1024, rss_server / 1024, cfg->max_peers, rss_clients / 1024,
                  rss_end / 1024);
    print_message("scale: server pool %zu bytes per peer (peer %zu + responses %zu + dedup %zu + "
                  "buckets); client object %zu bytes; RSS growth %ld bytes per client+peer\n",
                  pool_per_peer, sizeof(zcoap_uv_peer_t), cfg->resp_slots * cfg->msg_cap,
                  cfg->dedup_cap * sizeof(zcoap_dedup_entry_t), sizeof(test_client_t),
                  (rss_end - rss_start) / (long)n);
    assert_true(done);
    for (size_t i = 0; i < n; i++) {
        const test_client_t *tc = &f->clients[i];
        assert_int_equal(tc->send_failures, 0);
        assert_int_equal(tc->failures, 0);
        assert_int_equal(tc->responses, 1);
        assert_int_equal(tc->code, ZCOAP_CONTENT);
        assert_string_equal(tc->payload, HELLO);
    }
    assert_int_equal(st->peers_created, n);
    assert_int_equal(st->pool_full, 0);
    assert_int_equal(f->hello_calls, n);
}

/* ---- 8. reading with recvmmsg (the recvmmsg option) ---------------------------------------- */

/* The *_mmsg setups run tests of sections 1-6 with the server reading by recvmmsg. */
static int setup_ipv4_mmsg(void **state)
{
    int rc = setup(state, AF_INET);
    if (rc == 0) {
        ((fixture_t *)*state)->recvmmsg = true;
    }
    return rc;
}

static int setup_ipv6_mmsg(void **state)
{
    int rc = setup(state, AF_INET6);
    if (rc == 0) {
        ((fixture_t *)*state)->recvmmsg = true;
    }
    return rc;
}

/* The socket made by hand and handed to libuv (uv_udp_open) reads by recvmmsg as well. */
static int setup_ipv4_mmsg_reuse_port(void **state)
{
    int rc = setup_ipv4_mmsg(state);
    if (rc == 0) {
        ((fixture_t *)*state)->reuse_port = true;
    }
    return rc;
}

enum { BURST = 12, BURST_MID = 0x7300 };

/* Datagrams that wait together in the socket (sent before the loop runs: loopback queues them
 * at once) are read in one go with recvmmsg, and each is handled as if read alone, in the order
 * sent: a request, its duplicate (the stored response again, §4.5), BURST - 1 more requests, and
 * a ping (RST, §4.3, from the endpoint: the address has a peer by then). */
static void test_burst_of_datagrams(void **state)
{
    fixture_t *f = *state;
    start_server(f, 4);
    open_raw_peer(f);
    uint8_t req[64];
    size_t n = build_get(req, sizeof req, BURST_MID, "hello");
    raw_send(f, req, n);
    raw_send(f, req, n);
    for (uint16_t i = 1; i < BURST; i++) {
        raw_send(f, req, build_get(req, sizeof req, (uint16_t)(BURST_MID + i), "hello"));
    }
    const uint8_t ping[4] = {0x40, 0x00, 0x73, 0x99};
    raw_send(f, ping, sizeof ping);
    run_until_raw_rx(f, BURST + 2u);
    for (size_t i = 0; i < BURST + 1u; i++) {
        zcoap_msg_t resp;
        uint16_t mid = (uint16_t)(BURST_MID + (i == 0 ? 0u : i - 1u));
        assert_int_equal(zcoap_msg_parse(&resp, f->raw.rx[i].data, f->raw.rx[i].len), 0);
        assert_int_equal(resp.type, ZCOAP_TYPE_ACK);
        assert_int_equal(resp.mid, mid);
        assert_int_equal(resp.code, ZCOAP_CONTENT);
        assert_int_equal(resp.token_len, 2);
        assert_int_equal(resp.token[1], (uint8_t)mid);
        assert_int_equal(resp.payload_len, sizeof HELLO - 1u);
    }
    assert_memory_equal(f->raw.rx[1].data, f->raw.rx[0].data, f->raw.rx[0].len);
    const uint8_t rst[4] = {0x70, 0x00, 0x73, 0x99};
    assert_int_equal(f->raw.rx[BURST + 1u].len, 4);
    assert_memory_equal(f->raw.rx[BURST + 1u].data, rst, 4);
    assert_int_equal(f->hello_calls, BURST);
    const zcoap_uv_server_stats_t *st = server_stats(f);
    assert_int_equal(st->datagrams_in, BURST + 2u);
    assert_int_equal(st->datagrams_out, BURST + 2u);
    assert_int_equal(st->peers_created, 1);
    assert_int_equal(st->truncated, 0);
}

/* A datagram longer than ZCOAP_UV_CLIENT_RX_SIZE is dropped and counted, whichever way the
 * socket is read (a recvmmsg slice would hold it whole); one of exactly that size is handled. */
/* A datagram larger than the receive buffer is answered 4.13 with Size1 (RFC 7959 §2.9.3) from
 * the part that was read, in both receive modes, not dropped: its sender would retransmit it. */
static void test_oversized_datagram(void **state)
{
    fixture_t *f = *state;
    start_server(f, 4);
    open_raw_peer(f);
    static uint8_t big[ZCOAP_UV_CLIENT_RX_SIZE + 1u];
    size_t head = build_get(big, sizeof big, 0x7401, "hello");
    big[head] = 0xFF; /* payload marker, then zeros */
    raw_send(f, big, sizeof big);
    run_until_raw_rx(f, 1);
    zcoap_msg_t resp;
    assert_int_equal(zcoap_msg_parse(&resp, f->raw.rx[0].data, f->raw.rx[0].len), 0);
    assert_int_equal(resp.mid, 0x7401);
    assert_int_equal(resp.type, ZCOAP_TYPE_ACK);
    assert_int_equal(resp.code, ZCOAP_REQUEST_ENTITY_TOO_LARGE);
    zcoap_opt_t size1;
    assert_true(zcoap_msg_find_opt(&resp, ZCOAP_OPT_SIZE1, &size1));
    assert_int_equal(server_stats(f)->truncated, 1);
    uint8_t req[64];
    raw_send(f, req, build_get(req, sizeof req, 0x7402, "hello"));
    run_until_raw_rx(f, 2);
    assert_int_equal(zcoap_msg_parse(&resp, f->raw.rx[1].data, f->raw.rx[1].len), 0);
    assert_int_equal(resp.mid, 0x7402);
    assert_int_equal(resp.code, ZCOAP_CONTENT);
    /* Exactly the receive size: not truncated, and too large for msg_cap all the same. */
    build_get(big, sizeof big, 0x7403, "hello");
    raw_send(f, big, sizeof big - 1u);
    run_until_raw_rx(f, 3);
    assert_int_equal(zcoap_msg_parse(&resp, f->raw.rx[2].data, f->raw.rx[2].len), 0);
    assert_int_equal(resp.mid, 0x7403);
    assert_int_equal(resp.code, ZCOAP_REQUEST_ENTITY_TOO_LARGE);
    assert_int_equal(server_stats(f)->truncated, 1);
    assert_int_equal(server_stats(f)->datagrams_in, 3);
    assert_int_equal(f->hello_calls, 1);
}

/* The first datagram of a burst closes the server (from its handler); the others, read in the
 * same recvmmsg call, reach no handler and no freed memory (ASan, Valgrind). */
static void test_close_in_burst(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    open_raw_peer(f);
    uint8_t req[64];
    raw_send(f, req, build_get(req, sizeof req, 0x7501, "shutdown"));
    for (uint16_t i = 0; i < 5; i++) {
        raw_send(f, req, build_get(req, sizeof req, (uint16_t)(0x7502 + i), "hello"));
    }
    assert_true(run_until(f, server_closed));
    assert_int_equal(f->server_close_calls, 1);
    assert_int_equal(f->hello_calls, 0);
    assert_int_equal(server_stats(f)->datagrams_in, 1);
}

/* The default reads with recvmmsg (bench/README.md: faster under load); libuv finds the
 * system call on Linux, so the server reports batches of ZCOAP_UV_SERVER_RECV_BATCH. */
static void test_recvmmsg_by_default(void **state)
{
    fixture_t *f = *state;
    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    assert_true(cfg.recvmmsg);
    struct sockaddr_in any;
    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &any), 0);
    f->server.data = f;
    assert_int_equal(
        zcoap_uv_server_start(&f->uv.loop, &f->server, (const struct sockaddr *)&any, &cfg), 0);
    f->server_started = true;
    assert_int_equal(server_stats(f)->recv_batch, ZCOAP_UV_SERVER_RECV_BATCH);
}

#define IPV4(fn) cmocka_unit_test_setup_teardown(fn, setup_ipv4, teardown)
#define BOTH(fn)                                                                                   \
    {#fn "_ipv4", fn, setup_ipv4, teardown, NULL},                                                 \
    {                                                                                              \
#fn "_ipv6", fn, setup_ipv6, teardown, NULL                                                \
    }
#define MMSG(fn)                                                                                   \
    {                                                                                              \
#fn "_recvmmsg", fn, setup_ipv4_mmsg, teardown, NULL                                       \
    }
#define MMSG_BOTH(fn)                                                                              \
    {#fn "_ipv4_recvmmsg", fn, setup_ipv4_mmsg, teardown, NULL},                                   \
    {                                                                                              \
#fn "_ipv6_recvmmsg", fn, setup_ipv6_mmsg, teardown, NULL                                  \
    }
#define MMSG_REUSE_PORT(fn)                                                                        \
    {                                                                                              \
#fn "_recvmmsg_reuse_port", fn, setup_ipv4_mmsg_reuse_port, teardown, NULL                 \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_piggybacked_get),
        IPV4(test_wellknown_core),
        IPV4(test_not_found_and_method_not_allowed),
        BOTH(test_non_request_gets_non_response),
        BOTH(test_separate_response),
        IPV4(test_unknown_critical_option),
        BOTH(test_separate_unacknowledged),
        IPV4(test_many_peers),
        IPV4(test_peers_recycled),
        IPV4(test_pool_full),
        BOTH(test_duplicate_con_request),
        IPV4(test_close_mid_exchange),
        IPV4(test_close_from_handler),
        BOTH(test_ping),
        IPV4(test_ping_when_pool_full),
        BOTH(test_stateless_answers_take_no_peer),
        IPV4(test_next_request_during_separate_con_two_slots),
        IPV4(test_next_request_during_separate_con_one_slot),
        IPV4(test_receive_buffer_size),
        IPV4(test_address_in_use),
        IPV4(test_scale),
        /* 8. the same with recvmmsg, and what only a batch can show (both ways) */
        MMSG_BOTH(test_piggybacked_get),
        MMSG_BOTH(test_non_request_gets_non_response),
        MMSG_BOTH(test_separate_response),
        MMSG(test_unknown_critical_option),
        MMSG(test_many_peers),
        MMSG(test_peers_recycled),
        MMSG(test_pool_full),
        MMSG_BOTH(test_duplicate_con_request),
        MMSG(test_close_mid_exchange),
        MMSG(test_close_from_handler),
        MMSG_BOTH(test_ping),
        MMSG_BOTH(test_stateless_answers_take_no_peer),
        MMSG_REUSE_PORT(test_piggybacked_get),
        MMSG_REUSE_PORT(test_many_peers),
        IPV4(test_burst_of_datagrams),
        MMSG(test_burst_of_datagrams),
        IPV4(test_oversized_datagram),
        MMSG(test_oversized_datagram),
        IPV4(test_close_in_burst),
        MMSG(test_close_in_burst),
        IPV4(test_recvmmsg_by_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
