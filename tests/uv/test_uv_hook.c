/*
 * The datagram hook of the libuv adapter (zcoap_uv_client_set_hook, zcoap_uv_server_set_hook) on
 * a real loop over loopback.
 *
 * Everything shares ONE loop: the zcoap server, adapter clients, and raw uv_udp_t peers that play
 * CoAP by hand and keep every datagram they send and receive, so what a hook saw can be compared
 * byte for byte with what was on the wire. The loss tests use a seeded generator (xorshift32):
 * the same datagrams are dropped on every run. Callbacks only record; the test body asserts once
 * the loop is back. Every wait is bounded by a guard timer of loop time, nothing sleeps, and every
 * test ends with all handles closed and uv_loop_close() == 0 (in the teardown).
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
    GUARD_MS = 5000,       /* loop time after which a wait counts as failed */
    MAX_LOG = UVT_LOG_MAX, /* datagrams a hook keeps (as many as a raw peer) */
    N_CLIENTS = 2,
    N_RAW = 2,
    SEPARATE_MID = 0x7000,
    /* Short retransmissions: ACK_TIMEOUT 40 ms, factor 1.0 (RFC 7252 §4.8). */
    FAST_ACK_TIMEOUT_MS = 40,
    FAST_MAX_RETRANSMIT = 2,
    /* ACK_TIMEOUT * (1 + 2 + 4) is when a FAST CON request is given up; a quiet period lasts
     * longer */
    QUIET_MS = FAST_ACK_TIMEOUT_MS * 7 + 200,
    /* The loss tests: 16 CON GETs through a 50% loss. The seeds are chosen so that no exchange
     * meets more than 4 losses in a row (so MAX_RETRANSMIT 6 always suffices) and the whole run
     * waits about 30 ACK_TIMEOUTs: 7252 drops 13 datagrams (at most 4 in a row), 31415 drops 12
     * (at most 4 in a row), as long as each response arrives within ACK_TIMEOUT. */
    LOSSY_EXCHANGES = 16,
    LOSSY_MAX_RETRANSMIT = 6,
    LOSS_PERCENT = 50,
    CLIENT_LOSS_SEED = 7252,
    SERVER_LOSS_SEED = 31415,
    N_RESOURCES = 2
};

static const char HELLO[] = "Hello World!";

typedef struct fixture fixture_t;

/* What a hook saw, how it filters, and what it does besides. */
typedef struct hook_log {
    fixture_t *f;
    uvt_datagram_t seen[MAX_LOG];
    zcoap_uv_datagram_dir_t dir[MAX_LOG];
    struct sockaddr_storage peer[MAX_LOG];
    size_t n; /* calls, also past MAX_LOG */
    size_t n_in, n_out;
    /* the filter: a seeded loss per direction (100: everything) */
    unsigned loss_in_percent, loss_out_percent;
    uint32_t rng;
    size_t dropped_in, dropped_out;
    /* retransmissions: an outgoing CON with the message ID of the outgoing CON before it */
    bool have_con;
    uint16_t last_con_mid;
    size_t retransmissions;
    /* close the watched object at this call (1-based; 0: never) */
    size_t close_at;
    zcoap_uv_client_t *client;
    zcoap_uv_server_t *server;
    bool closed;
    size_t calls_after_close;
    /* a call the hook makes into the object it watches, and its result */
    int (*try_call)(struct hook_log *log);
    int try_rc;
    bool tried;
} hook_log_t;

typedef struct test_client {
    zcoap_uv_client_t c;
    fixture_t *f;
    zcoap_ep_storage_t storage;
    struct sockaddr_storage to; /* the peer it is connected to */
    bool inited;
    bool close_requested;
    int close_calls;
    size_t responses, empty_acks, timeouts, resets, pongs;
    size_t events_after_close;
    uint8_t code;
    char payload[64];
} test_client_t;

struct fixture {
    uvt_loop_t uv;
    int family;

    zcoap_uv_server_t server;
    zcoap_resource_t resources[N_RESOURCES];
    bool server_started;
    bool server_close_requested;
    int server_close_calls;
    struct sockaddr_storage server_addr;
    int hello_calls;
    zcoap_uv_peer_t *held_peer; /* the request of /hold, unanswered */

    uvt_peer_t raw[N_RAW]; /* raw peers: they play CoAP by hand (raw_answer) */
    test_client_t clients[N_CLIENTS];
    hook_log_t log[2];

    /* what a wait waits for */
    const test_client_t *wait_client;
    const uvt_peer_t *wait_raw;
    size_t wait_count;
};

/* ---- loop, guard, waits ------------------------------------------------------------------- */

/* Run the loop until @p done(f) holds, for GUARD_MS of loop time at most. */
static bool run_until(fixture_t *f, bool (*done)(const void *ctx))
{
    return uvt_run_until(&f->uv, GUARD_MS, done, f);
}

static size_t exchanges_over(const test_client_t *tc)
{
    return tc->responses + tc->timeouts + tc->resets + tc->pongs;
}

static bool client_done(const void *ctx)
{
    const fixture_t *f = ctx;
    return exchanges_over(f->wait_client) >= f->wait_count;
}

/* Run until @p tc has seen @p n exchanges end (response, pong, timeout or reset). */
static void run_until_over(fixture_t *f, const test_client_t *tc, size_t n)
{
    f->wait_client = tc;
    f->wait_count = n;
    if (!run_until(f, client_done)) {
        fail_msg("%zu exchange(s) over, not %zu, within %d ms of loop time", exchanges_over(tc), n,
                 GUARD_MS);
    }
}

static bool raw_done(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->wait_raw->n_rx >= f->wait_count;
}

static void run_until_raw_rx(fixture_t *f, const uvt_peer_t *raw, size_t n)
{
    f->wait_raw = raw;
    f->wait_count = n;
    if (!run_until(f, raw_done)) {
        fail_msg("the raw peer got %zu datagram(s), not %zu, within %d ms", raw->n_rx, n, GUARD_MS);
    }
}

/* Let the loop run for QUIET_MS: longer than every retransmission of the FAST parameters, so
 * whatever would still happen has happened. */
static void run_quietly(fixture_t *f)
{
    uvt_run_for(&f->uv, QUIET_MS);
}

static bool everything_closed(const void *ctx)
{
    const fixture_t *f = ctx;
    if (f->server_close_requested && f->server_close_calls == 0) {
        return false;
    }
    for (size_t i = 0; i < N_CLIENTS; i++) {
        if (f->clients[i].close_requested && f->clients[i].close_calls == 0) {
            return false;
        }
    }
    return true;
}

/* ---- the seeded loss and the hook --------------------------------------------------------- */

static uint32_t xorshift32(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

static void on_client_closed(zcoap_uv_client_t *c);
static void on_server_closed(zcoap_uv_server_t *s);

static void close_client(test_client_t *tc)
{
    tc->close_requested = true;
    zcoap_uv_client_close(&tc->c, on_client_closed);
}

static void close_server(fixture_t *f)
{
    if (f->server_started && !f->server_close_requested) {
        f->server_close_requested = true;
        zcoap_uv_server_close(&f->server, on_server_closed);
    }
}

static void count_retransmission(hook_log_t *log, const uint8_t *data, size_t len)
{
    zcoap_msg_t msg;
    if (zcoap_msg_parse(&msg, data, len) != ZCOAP_OK || msg.type != ZCOAP_TYPE_CON) {
        return;
    }
    if (log->have_con && msg.mid == log->last_con_mid) {
        log->retransmissions++; /* same ID: the same message again (RFC 7252 §4.2) */
    }
    log->have_con = true;
    log->last_con_mid = msg.mid;
}

static bool record_hook(void *ctx, zcoap_uv_datagram_dir_t dir, const struct sockaddr *peer,
                        const uint8_t *data, size_t len)
{
    hook_log_t *log = ctx;
    if (log->closed) {
        log->calls_after_close++;
    }
    size_t i = log->n++;
    if (i < MAX_LOG) {
        log->dir[i] = dir;
        uvt_copy_addr(&log->peer[i], peer);
        uvt_datagram_set(&log->seen[i], data, len);
    }
    if (dir == ZCOAP_UV_DATAGRAM_IN) {
        log->n_in++;
    } else {
        log->n_out++;
        count_retransmission(log, data, len);
    }
    if (log->try_call != NULL && !log->tried) {
        log->tried = true;
        log->try_rc = log->try_call(log);
    }
    if (log->close_at != 0 && log->n == log->close_at) {
        log->closed = true;
        if (log->client != NULL) {
            close_client(log->client->data);
        } else {
            close_server(log->f);
        }
    }
    unsigned loss = dir == ZCOAP_UV_DATAGRAM_IN ? log->loss_in_percent : log->loss_out_percent;
    if (loss > 0 && xorshift32(&log->rng) % 100u < loss) {
        if (dir == ZCOAP_UV_DATAGRAM_IN) {
            log->dropped_in++;
        } else {
            log->dropped_out++;
        }
        return false;
    }
    return true;
}

static hook_log_t *watch_client(fixture_t *f, size_t log_index, test_client_t *tc)
{
    hook_log_t *log = &f->log[log_index];
    log->f = f;
    log->client = &tc->c;
    zcoap_uv_client_set_hook(&tc->c, record_hook, log);
    return log;
}

static hook_log_t *watch_server(fixture_t *f, size_t log_index)
{
    hook_log_t *log = &f->log[log_index];
    log->f = f;
    log->server = &f->server;
    zcoap_uv_server_set_hook(&f->server, record_hook, log);
    return log;
}

/* ---- the server --------------------------------------------------------------------------- */

static void handle_hello(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                         const zcoap_msg_t *req)
{
    fixture_t *f = s->data;
    (void)res;
    (void)req;
    f->hello_calls++;
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, HELLO, strlen(HELLO));
}

/* /hold: keep the request unanswered; the test answers it later. */
static void handle_hold(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                        const zcoap_msg_t *req)
{
    fixture_t *f = s->data;
    (void)res;
    (void)req;
    f->held_peer = peer;
    peer->data = f; /* an answer is pending: the peer is not recycled */
}

static void start_server(fixture_t *f, size_t max_peers)
{
    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    f->resources[0] = (zcoap_resource_t){.path = "hello",
                                         .methods = ZCOAP_METHOD_BIT(ZCOAP_GET),
                                         .handler = (void *)(uintptr_t)handle_hello};
    f->resources[1] = (zcoap_resource_t){.path = "hold",
                                         .methods = ZCOAP_METHOD_BIT(ZCOAP_GET),
                                         .handler = (void *)(uintptr_t)handle_hold};
    cfg.resources = f->resources;
    cfg.n_resources = N_RESOURCES;
    cfg.max_peers = max_peers;
    cfg.tx.ack_timeout_ms = FAST_ACK_TIMEOUT_MS;
    cfg.tx.ack_random_factor_permil = 1000;
    cfg.auto_ack_ms = 60000; /* /hold stays unacknowledged while a test looks at it */
    struct sockaddr_storage bind_addr;
    uvt_loopback(f->family, 0, &bind_addr);
    f->server.data = f;
    int rc =
        zcoap_uv_server_start(&f->uv.loop, &f->server, (const struct sockaddr *)&bind_addr, &cfg);
    uvt_require_loopback(f->family, rc);
    f->server_started = true;
    assert_int_equal(zcoap_uv_server_address(&f->server, &f->server_addr), 0);
}

static void on_server_closed(zcoap_uv_server_t *s)
{
    fixture_t *f = s->data;
    f->server_close_calls++;
}

/* ---- adapter clients ---------------------------------------------------------------------- */

static void on_client_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    test_client_t *tc = c->data;
    if (tc->close_requested) {
        tc->events_after_close++;
    }
    switch (ev->kind) {
    case ZCOAP_EV_OUT_RESPONSE: {
        tc->responses++;
        tc->code = ev->msg.code;
        size_t n = ev->msg.payload_len < sizeof tc->payload - 1u ? ev->msg.payload_len
                                                                 : sizeof tc->payload - 1u;
        if (n > 0) {
            memcpy(tc->payload, ev->msg.payload, n);
        }
        tc->payload[n] = '\0';
        break;
    }
    case ZCOAP_EV_OUT_EMPTY_ACK:
        tc->empty_acks++;
        break;
    case ZCOAP_EV_OUT_TIMEOUT:
        tc->timeouts++;
        break;
    case ZCOAP_EV_OUT_RESET:
        tc->resets++;
        break;
    case ZCOAP_EV_OUT_PONG:
        tc->pongs++;
        break;
    default:
        break;
    }
}

static void on_client_closed(zcoap_uv_client_t *c)
{
    test_client_t *tc = c->data;
    tc->close_calls++;
}

/* Client @p i, connected to @p to, retransmitting after ACK_TIMEOUT @p ack_timeout_ms (factor
 * 1.0) at most @p max_retransmit times. */
static test_client_t *make_client(fixture_t *f, size_t i, const struct sockaddr_storage *to,
                                  uint32_t ack_timeout_ms, uint8_t max_retransmit)
{
    test_client_t *tc = &f->clients[i];
    zcoap_ep_config_t cfg;
    zcoap_ep_config_default(&cfg, &tc->storage);
    cfg.tx.ack_timeout_ms = ack_timeout_ms;
    cfg.tx.ack_random_factor_permil = 1000;
    cfg.tx.max_retransmit = max_retransmit;
    tc->f = f;
    tc->to = *to;
    tc->c.data = tc;
    assert_int_equal(zcoap_uv_client_init(&f->uv.loop, &tc->c, &cfg, on_client_event), 0);
    tc->inited = true;
    uvt_require_loopback(f->family, zcoap_uv_client_connect(&tc->c, (const struct sockaddr *)to));
    return tc;
}

static void client_get(fixture_t *f, test_client_t *tc, uint8_t type, const char *path)
{
    char uri[96];
    (void)f;
    assert_int_equal(zcoap_uv_client_request(&tc->c, type, ZCOAP_GET,
                                             uvt_uri(uri, sizeof uri, &tc->to, path), NULL, 0),
                     0);
}

/* ---- raw peers ---------------------------------------------------------------------------- */

/* Playing a server (RFC 7252 §5.2): a CON GET /separate gets an Empty ACK and then a separate
 * CON 2.05; any other CON request a piggybacked 2.05; a NON request a NON 2.05; a ping an RST. */
static void raw_answer(uvt_peer_t *raw, const struct sockaddr_storage *to, const zcoap_msg_t *req)
{
    uint8_t out[256];
    zcoap_builder_t b;
    if (req->type == ZCOAP_TYPE_CON && req->code == ZCOAP_CODE_EMPTY) {
        (void)uvt_peer_send(raw, to, out,
                            zcoap_build_empty(out, sizeof out, ZCOAP_TYPE_RST, req->mid));
        return;
    }
    if (!zcoap_code_is_request(req->code)) {
        return; /* our separate response's ACK */
    }
    if (req->type == ZCOAP_TYPE_CON && zcoap_path_matches(req, "separate")) {
        (void)uvt_peer_send(raw, to, out,
                            zcoap_build_empty(out, sizeof out, ZCOAP_TYPE_ACK, req->mid));
        assert_int_equal(zcoap_builder_init(&b, out, sizeof out, ZCOAP_TYPE_CON, ZCOAP_CONTENT,
                                            SEPARATE_MID, req->token, req->token_len),
                         0);
        (void)zcoap_builder_set_payload(&b, "later", 5);
        (void)uvt_peer_send(raw, to, out, zcoap_builder_finish(&b));
        return;
    }
    uint16_t mid = req->type == ZCOAP_TYPE_CON ? req->mid : (uint16_t)(req->mid + 0x100u);
    (void)zcoap_builder_init_response(&b, out, sizeof out, req, ZCOAP_CONTENT, mid);
    (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_CONTENT_FORMAT, ZCOAP_CF_TEXT_PLAIN);
    (void)zcoap_builder_set_payload(&b, HELLO, strlen(HELLO));
    (void)uvt_peer_send(raw, to, out, zcoap_builder_finish(&b));
}

/* Raw peer @p i on the test's family; with @p answers it plays a server (raw_answer). */
static uvt_peer_t *open_raw(fixture_t *f, size_t i, bool answers)
{
    uvt_peer_t *raw = &f->raw[i];
    raw->on_msg = answers ? raw_answer : NULL;
    uvt_require_loopback(f->family, uvt_peer_open(raw, &f->uv.loop, f->family, 0));
    return raw;
}

/* A request to the server with a 4-byte token; @p path NULL makes a ping. */
static size_t build_request(uint8_t *buf, size_t cap, uint8_t type, uint16_t mid, const char *path)
{
    static const uint8_t token[4] = {0xA1, 0xB2, 0xC3, 0xD4};
    if (path == NULL) {
        ptrdiff_t n = zcoap_build_empty(buf, cap, ZCOAP_TYPE_CON, mid);
        assert_true(n > 0);
        return (size_t)n;
    }
    zcoap_builder_t b;
    assert_int_equal(zcoap_builder_init(&b, buf, cap, type, ZCOAP_GET, mid, token, sizeof token),
                     0);
    assert_int_equal(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, path), 0);
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    return (size_t)n;
}

/* The raw peer sends one request (@p path NULL: a ping) to the server. */
static void raw_request(fixture_t *f, uvt_peer_t *raw, uint8_t type, uint16_t mid, const char *path)
{
    uint8_t buf[128];
    size_t n = build_request(buf, sizeof buf, type, mid, path);
    assert_int_equal(uvt_peer_send(raw, &f->server_addr, buf, (ptrdiff_t)n), 0);
}

/* The raw peer sends one datagram to the server and waits for one answer. */
static void raw_exchange(fixture_t *f, uvt_peer_t *raw, uint8_t type, uint16_t mid,
                         const char *path)
{
    size_t before = raw->n_rx;
    raw_request(f, raw, type, mid, path);
    run_until_raw_rx(f, raw, before + 1u);
}

/* ---- comparing what the hook saw with the wire -------------------------------------------- */

/* The hook's datagrams of direction @p dir are exactly @p wire (same order, same bytes), each
 * with the peer address @p peer. */
static void assert_seen_equals(const hook_log_t *log, zcoap_uv_datagram_dir_t dir,
                               const uvt_datagram_t *wire, size_t n_wire,
                               const struct sockaddr_storage *peer)
{
    assert_true(log->n <= MAX_LOG);
    assert_true(n_wire <= MAX_LOG);
    size_t k = 0;
    for (size_t i = 0; i < log->n; i++) {
        if (log->dir[i] != dir) {
            continue;
        }
        assert_true(k < n_wire);
        assert_int_equal(log->seen[i].len, wire[k].len);
        assert_memory_equal(log->seen[i].data, wire[k].data, wire[k].len);
        assert_true(uvt_same_addr(&log->peer[i], peer));
        k++;
    }
    assert_int_equal(k, n_wire);
}

/* The hook saw exactly the wire between its object and @p raw, @p n datagrams each way: what
 * went out is what @p raw received, what came in is what @p raw sent. */
static void assert_seen_is_wire(const hook_log_t *log, const uvt_peer_t *raw, size_t n)
{
    assert_int_equal(raw->n_rx, n);
    assert_int_equal(raw->n_tx, n);
    assert_int_equal(log->n_out, n);
    assert_int_equal(log->n_in, n);
    assert_seen_equals(log, ZCOAP_UV_DATAGRAM_OUT, raw->rx, raw->n_rx, &raw->addr);
    assert_seen_equals(log, ZCOAP_UV_DATAGRAM_IN, raw->tx, raw->n_tx, &raw->addr);
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
    for (size_t i = 0; i < N_CLIENTS; i++) {
        if (f->clients[i].inited && !f->clients[i].close_requested) {
            close_client(&f->clients[i]);
        }
    }
    close_server(f);
    for (size_t i = 0; i < N_RAW; i++) {
        uvt_peer_close(&f->raw[i]);
    }
    assert_true(run_until(f, everything_closed));
    for (size_t i = 0; i < N_CLIENTS; i++) {
        if (f->clients[i].inited) {
            assert_int_equal(f->clients[i].close_calls, 1);
            assert_int_equal(f->clients[i].events_after_close, 0);
        }
    }
    if (f->server_close_requested) {
        assert_int_equal(f->server_close_calls, 1);
    }
    uvt_loop_end(&f->uv);
    for (size_t i = 0; i < N_RAW; i++) {
        assert_int_equal(f->raw[i].send_errors, 0); /* raw_answer's, counted in a callback */
        assert_int_equal(f->raw[i].not_coap, 0);
    }
    free(f);
    return 0;
}

/* ---- 1. every datagram, once, with its bytes ---------------------------------------------- */

/* A client against a raw peer: piggybacked, separate (Empty ACK, CON response, our ACK), NON and
 * ping. The hook saw exactly what the peer received (out) and sent (in), in order. */
static void test_client_sees_every_datagram(void **state)
{
    fixture_t *f = *state;
    uvt_peer_t *raw = open_raw(f, 0, true);
    test_client_t *tc = make_client(f, 0, &raw->addr, 2000, 4);
    hook_log_t *log = watch_client(f, 0, tc);

    client_get(f, tc, ZCOAP_TYPE_CON, "hello");
    run_until_over(f, tc, 1);
    client_get(f, tc, ZCOAP_TYPE_CON, "separate");
    run_until_over(f, tc, 2);
    run_until_raw_rx(f, raw, 3); /* our ACK of the separate response */
    client_get(f, tc, ZCOAP_TYPE_NON, "hello");
    run_until_over(f, tc, 3);
    assert_int_equal(zcoap_uv_client_ping(&tc->c), 0);
    run_until_over(f, tc, 4);

    assert_int_equal(tc->responses, 3);
    assert_int_equal(tc->empty_acks, 1);
    assert_int_equal(tc->pongs, 1);
    /* out: GET, GET, ACK, NON GET, ping; in: ACK 2.05, Empty ACK, CON 2.05, NON 2.05, RST */
    assert_seen_is_wire(log, raw, 5);
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&tc->c);
    assert_int_equal(st->datagrams_out, 5);
    assert_int_equal(st->datagrams_in, 5);
    assert_int_equal(st->hook_dropped_in, 0);
    assert_int_equal(st->hook_dropped_out, 0);
    assert_int_equal(log->retransmissions, 0);
}

/* A raw peer against the server: CON, NON, a duplicate CON (answered from the stored response,
 * RFC 7252 §4.5), a ping and an unknown path. */
static void test_server_sees_every_datagram(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    hook_log_t *log = watch_server(f, 0);
    uvt_peer_t *raw = open_raw(f, 0, false);

    raw_exchange(f, raw, ZCOAP_TYPE_CON, 0x1001, "hello");
    raw_exchange(f, raw, ZCOAP_TYPE_CON, 0x1001, "hello"); /* duplicate, before another answer
                                                              takes the one response slot */
    raw_exchange(f, raw, ZCOAP_TYPE_NON, 0x1002, "hello");
    raw_exchange(f, raw, ZCOAP_TYPE_CON, 0x1003, NULL); /* ping */
    raw_exchange(f, raw, ZCOAP_TYPE_CON, 0x1004, "nothing");

    assert_int_equal(f->hello_calls, 2);
    assert_seen_is_wire(log, raw, 5); /* in: the 5 requests; out: their 5 answers */
    const zcoap_uv_server_stats_t *st = zcoap_uv_server_stats(&f->server);
    assert_int_equal(st->datagrams_in, 5);
    assert_int_equal(st->datagrams_out, 5);
    assert_int_equal(st->hook_dropped_in, 0);
    assert_int_equal(st->hook_dropped_out, 0);
}

/* The answers the server makes without a peer (pool full: 5.03 Max-Age; the RST of a ping from
 * an address without a peer, which never takes one) go through the hook too, to the address
 * that asked. */
static void test_server_hook_sees_pool_full_answers(void **state)
{
    fixture_t *f = *state;
    start_server(f, 1);
    hook_log_t *log = watch_server(f, 0);
    uvt_peer_t *first = open_raw(f, 0, false);
    uvt_peer_t *second = open_raw(f, 1, false);

    raw_exchange(f, first, ZCOAP_TYPE_CON, 0x2001, "hello"); /* takes the only slot */
    raw_exchange(f, second, ZCOAP_TYPE_CON, 0x3001, "hello");
    raw_exchange(f, second, ZCOAP_TYPE_CON, 0x3002, NULL);

    zcoap_msg_t busy;
    assert_int_equal(zcoap_msg_parse(&busy, second->rx[0].data, second->rx[0].len), 0);
    assert_int_equal(busy.code, ZCOAP_SERVICE_UNAVAILABLE);
    assert_int_equal(zcoap_uv_server_stats(&f->server)->pool_full, 1);
    assert_int_equal(zcoap_uv_server_stats(&f->server)->stateless, 1);
    assert_int_equal(log->n, 6);
    /* in order: first's GET and its answer, then second's two datagrams and their answers */
    assert_true(uvt_same_addr(&log->peer[1], &first->addr));
    for (size_t i = 2; i < 6; i++) {
        assert_true(uvt_same_addr(&log->peer[i], &second->addr));
        assert_int_equal(log->dir[i], i % 2 == 0 ? ZCOAP_UV_DATAGRAM_IN : ZCOAP_UV_DATAGRAM_OUT);
    }
    assert_int_equal(log->seen[3].len, second->rx[0].len);
    assert_memory_equal(log->seen[3].data, second->rx[0].data, second->rx[0].len);
    assert_int_equal(log->seen[5].len, second->rx[1].len);
    assert_memory_equal(log->seen[5].data, second->rx[1].data, second->rx[1].len);
}

/* The hook is per object, and a NULL hook removes it. */
static void test_hook_per_object_and_removed(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    test_client_t *a = make_client(f, 0, &f->server_addr, 2000, 4);
    test_client_t *b = make_client(f, 1, &f->server_addr, 2000, 4);
    hook_log_t *log = watch_client(f, 0, a);

    client_get(f, a, ZCOAP_TYPE_CON, "hello");
    run_until_over(f, a, 1);
    client_get(f, b, ZCOAP_TYPE_CON, "hello");
    run_until_over(f, b, 1);
    assert_int_equal(log->n, 2); /* a's GET and its answer; nothing of b's */

    zcoap_uv_client_set_hook(&a->c, NULL, NULL);
    client_get(f, a, ZCOAP_TYPE_CON, "hello");
    run_until_over(f, a, 2);
    assert_int_equal(log->n, 2);
    assert_int_equal(a->responses, 2);
    assert_string_equal(a->payload, HELLO);
    assert_int_equal(zcoap_uv_client_stats(&a->c)->datagrams_out, 2);
}

/* ---- 2. seeded loss: retransmission completes every exchange ------------------------------ */

/* LOSSY_EXCHANGES CON GETs from client 0 to the server, one after the other; each must succeed. */
static void run_lossy_exchanges(fixture_t *f, test_client_t *tc)
{
    for (size_t i = 0; i < LOSSY_EXCHANGES; i++) {
        client_get(f, tc, ZCOAP_TYPE_CON, "hello");
        run_until_over(f, tc, i + 1u);
        assert_int_equal(tc->responses, i + 1u);
        assert_int_equal(tc->code, ZCOAP_CONTENT);
        assert_string_equal(tc->payload, HELLO);
    }
    assert_int_equal(tc->timeouts, 0);
}

/* The client drops half of what it receives: every lost response makes it retransmit its request
 * (RFC 7252 §4.2), which the server answers again from its stored response (§4.5). */
static void test_client_drops_incoming(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    test_client_t *tc =
        make_client(f, 0, &f->server_addr, FAST_ACK_TIMEOUT_MS, LOSSY_MAX_RETRANSMIT);
    hook_log_t *log = watch_client(f, 0, tc);
    log->loss_in_percent = LOSS_PERCENT;
    log->rng = CLIENT_LOSS_SEED;

    run_lossy_exchanges(f, tc);

    const zcoap_uv_client_stats_t *cs = zcoap_uv_client_stats(&tc->c);
    const zcoap_uv_server_stats_t *ss = zcoap_uv_server_stats(&f->server);
    print_message("client dropped %zu of %zu datagrams in; %zu retransmissions\n", log->dropped_in,
                  log->n_in, log->retransmissions);
    assert_true(log->dropped_in > 0);
    assert_true(log->retransmissions > 0);
    assert_int_equal(cs->hook_dropped_in, log->dropped_in);
    assert_int_equal(cs->datagrams_in + cs->hook_dropped_in, log->n_in);
    assert_int_equal(cs->datagrams_in, LOSSY_EXCHANGES); /* one answer each got through */
    assert_int_equal(cs->hook_dropped_out, 0);
    /* every datagram sent is a request or one of its retransmissions, and the server got it */
    assert_int_equal(log->n_out, LOSSY_EXCHANGES + log->retransmissions);
    assert_int_equal(cs->datagrams_out, log->n_out);
    assert_int_equal(ss->datagrams_in, cs->datagrams_out);
    assert_int_equal(ss->datagrams_out, log->n_in);
    assert_int_equal(f->hello_calls, LOSSY_EXCHANGES); /* duplicates never reach the handler */
}

/* The server drops half of what it sends: counted in hook_dropped_out (not send_errors); the
 * client retransmits until an answer comes through. */
static void test_server_drops_outgoing(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    hook_log_t *slog = watch_server(f, 0);
    slog->loss_out_percent = LOSS_PERCENT;
    slog->rng = SERVER_LOSS_SEED;
    test_client_t *tc =
        make_client(f, 0, &f->server_addr, FAST_ACK_TIMEOUT_MS, LOSSY_MAX_RETRANSMIT);
    hook_log_t *clog = watch_client(f, 1, tc); /* counts the retransmissions, drops nothing */

    run_lossy_exchanges(f, tc);

    const zcoap_uv_client_stats_t *cs = zcoap_uv_client_stats(&tc->c);
    const zcoap_uv_server_stats_t *ss = zcoap_uv_server_stats(&f->server);
    print_message("server dropped %zu of %zu datagrams out; client retransmitted %zu times\n",
                  slog->dropped_out, slog->n_out, clog->retransmissions);
    assert_true(slog->dropped_out > 0);
    assert_true(clog->retransmissions > 0);
    assert_int_equal(ss->hook_dropped_out, slog->dropped_out);
    assert_int_equal(ss->send_errors, 0);
    assert_int_equal(ss->datagrams_out + ss->hook_dropped_out, slog->n_out);
    assert_int_equal(ss->hook_dropped_in, 0);
    assert_int_equal(ss->datagrams_in, slog->n_in);
    assert_int_equal(clog->n_out, LOSSY_EXCHANGES + clog->retransmissions);
    assert_int_equal(ss->datagrams_in, clog->n_out);
    assert_int_equal(cs->datagrams_in, ss->datagrams_out); /* what was not dropped arrived */
    assert_int_equal(f->hello_calls, LOSSY_EXCHANGES);
}

/* ---- 3. dropping everything: the CON request times out ------------------------------------ */

static void test_drop_everything_out_times_out(void **state)
{
    fixture_t *f = *state;
    uvt_peer_t *raw = open_raw(f, 0, true);
    test_client_t *tc = make_client(f, 0, &raw->addr, FAST_ACK_TIMEOUT_MS, FAST_MAX_RETRANSMIT);
    hook_log_t *log = watch_client(f, 0, tc);
    log->loss_out_percent = 100;

    client_get(f, tc, ZCOAP_TYPE_CON, "hello");
    run_until_over(f, tc, 1);

    assert_int_equal(tc->timeouts, 1); /* ZCOAP_EV_OUT_TIMEOUT after MAX_RETRANSMIT */
    assert_int_equal(tc->responses, 0);
    assert_int_equal(log->n_out, 1 + FAST_MAX_RETRANSMIT);
    assert_int_equal(log->retransmissions, FAST_MAX_RETRANSMIT);
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&tc->c);
    assert_int_equal(st->hook_dropped_out, 1 + FAST_MAX_RETRANSMIT);
    assert_int_equal(st->datagrams_out, 0);
    assert_int_equal(st->send_errors, 0);
    assert_int_equal(raw->n_rx, 0); /* nothing reached the wire */
}

static void test_drop_everything_in_times_out(void **state)
{
    fixture_t *f = *state;
    uvt_peer_t *raw = open_raw(f, 0, true);
    test_client_t *tc = make_client(f, 0, &raw->addr, FAST_ACK_TIMEOUT_MS, FAST_MAX_RETRANSMIT);
    hook_log_t *log = watch_client(f, 0, tc);
    log->loss_in_percent = 100;

    client_get(f, tc, ZCOAP_TYPE_CON, "hello");
    run_until_over(f, tc, 1);

    assert_int_equal(tc->timeouts, 1);
    assert_int_equal(raw->n_rx, 1 + FAST_MAX_RETRANSMIT); /* the peer answered every one */
    assert_int_equal(raw->n_tx, 1 + FAST_MAX_RETRANSMIT);
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&tc->c);
    assert_int_equal(st->hook_dropped_in, 1 + FAST_MAX_RETRANSMIT);
    assert_int_equal(st->datagrams_in, 0);
}

/* A request the server's hook drops reaches no peer and creates none: no handler, no answer. */
static void test_server_drops_incoming(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    hook_log_t *log = watch_server(f, 0);
    log->loss_in_percent = 100;
    uvt_peer_t *raw = open_raw(f, 0, false);
    raw_request(f, raw, ZCOAP_TYPE_CON, 0x6001, "hello");
    run_quietly(f);

    assert_int_equal(log->n, 1);
    assert_int_equal(raw->n_rx, 0);
    assert_int_equal(f->hello_calls, 0);
    const zcoap_uv_server_stats_t *st = zcoap_uv_server_stats(&f->server);
    assert_int_equal(st->hook_dropped_in, 1);
    assert_int_equal(st->datagrams_in, 0);
    assert_int_equal(st->peers_created, 0);
}

/* ---- 4. what the hook may do: close, and nothing that sends ------------------------------- */

static int try_client_request(hook_log_t *log)
{
    test_client_t *tc = log->client->data;
    return zcoap_uv_client_request(&tc->c, ZCOAP_TYPE_CON, ZCOAP_GET, "coap://127.0.0.1/x", NULL,
                                   0);
}

/* The hook closes the client on the response: no event, no ACK, no further call; the request
 * it tried first was refused (without the guard the core would say EBUSY: one is in flight). */
static void test_client_closed_from_hook_in(void **state)
{
    fixture_t *f = *state;
    uvt_peer_t *raw = open_raw(f, 0, true);
    test_client_t *tc = make_client(f, 0, &raw->addr, FAST_ACK_TIMEOUT_MS, FAST_MAX_RETRANSMIT);
    hook_log_t *log = watch_client(f, 0, tc);
    log->close_at = 2; /* the request out, then the response in */
    log->try_call = try_client_request;

    client_get(f, tc, ZCOAP_TYPE_CON, "hello");
    log->tried = false; /* the next call is the response's */
    run_until_raw_rx(f, raw, 1);
    run_quietly(f);

    assert_int_equal(log->try_rc, ZCOAP_ESTATE);
    assert_int_equal(tc->close_calls, 1);
    assert_int_equal(log->n, 2);
    assert_int_equal(log->calls_after_close, 0);
    assert_int_equal(tc->responses + tc->timeouts, 0);
    assert_int_equal(zcoap_uv_client_stats(&tc->c)->datagrams_in, 0);
    assert_int_equal(raw->n_rx, 1); /* the request only: no retransmission */
}

/* The hook closes the client on the request: it is not sent, nothing follows. */
static void test_client_closed_from_hook_out(void **state)
{
    fixture_t *f = *state;
    uvt_peer_t *raw = open_raw(f, 0, true);
    test_client_t *tc = make_client(f, 0, &raw->addr, FAST_ACK_TIMEOUT_MS, FAST_MAX_RETRANSMIT);
    hook_log_t *log = watch_client(f, 0, tc);
    log->close_at = 1;

    client_get(f, tc, ZCOAP_TYPE_CON, "hello");
    run_quietly(f);

    assert_int_equal(tc->close_calls, 1);
    assert_int_equal(log->n, 1);
    assert_int_equal(raw->n_rx, 0);
    assert_int_equal(tc->responses + tc->timeouts, 0);
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&tc->c);
    assert_int_equal(st->datagrams_out + st->send_errors + st->hook_dropped_out, 0);
}

/* zcoap_uv_client_close() sends what the endpoint still has queued: the hook sees it, and its own
 * close is then a no-op (one close callback). */
static void test_client_close_drains_through_hook(void **state)
{
    fixture_t *f = *state;
    uvt_peer_t *raw = open_raw(f, 0, true);
    test_client_t *tc = make_client(f, 0, &raw->addr, FAST_ACK_TIMEOUT_MS, FAST_MAX_RETRANSMIT);
    hook_log_t *log = watch_client(f, 0, tc);
    log->close_at = 1;

    /* queued on the endpoint, not flushed */
    assert_int_equal(zcoap_ep_ping(zcoap_uv_client_endpoint(&tc->c), uv_now(&f->uv.loop)), 0);
    close_client(tc);
    run_until_raw_rx(f, raw, 1);
    assert_true(run_until(f, everything_closed));

    assert_int_equal(log->n, 1);
    assert_int_equal(log->dir[0], ZCOAP_UV_DATAGRAM_OUT);
    assert_int_equal(raw->rx[0].len, 4); /* the Empty CON */
    assert_int_equal(tc->close_calls, 1);
    assert_int_equal(zcoap_uv_client_stats(&tc->c)->datagrams_out, 1);
}

/* The hook closes the server on a request: no handler, no answer. */
static void test_server_closed_from_hook_in(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    hook_log_t *log = watch_server(f, 0);
    log->close_at = 1;
    uvt_peer_t *raw = open_raw(f, 0, false);
    raw_request(f, raw, ZCOAP_TYPE_CON, 0x4001, "hello");
    run_quietly(f);

    assert_int_equal(f->server_close_calls, 1);
    assert_int_equal(log->n, 1);
    assert_int_equal(f->hello_calls, 0);
    assert_int_equal(raw->n_rx, 0);
    assert_int_equal(zcoap_uv_server_stats(&f->server)->peers_created, 0);
}

/* The hook closes the server on its answer: the answer is not sent. */
static void test_server_closed_from_hook_out(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    hook_log_t *log = watch_server(f, 0);
    log->close_at = 2;
    uvt_peer_t *raw = open_raw(f, 0, false);
    raw_request(f, raw, ZCOAP_TYPE_CON, 0x4001, "hello");
    run_quietly(f);

    assert_int_equal(f->server_close_calls, 1);
    assert_int_equal(log->n, 2);
    assert_int_equal(log->calls_after_close, 0);
    assert_int_equal(f->hello_calls, 1);
    assert_int_equal(raw->n_rx, 0);
    assert_int_equal(zcoap_uv_server_stats(&f->server)->datagrams_out, 0);
}

static int try_peer_respond(hook_log_t *log)
{
    return zcoap_uv_peer_respond(log->f->held_peer, ZCOAP_CONTENT, -1, "x", 1);
}

/* An answer pending on a peer cannot be sent from inside the hook; from outside it can. */
static void test_server_hook_cannot_answer(void **state)
{
    fixture_t *f = *state;
    start_server(f, 8);
    hook_log_t *log = watch_server(f, 0);
    uvt_peer_t *raw = open_raw(f, 0, false);
    raw_request(f, raw, ZCOAP_TYPE_CON, 0x5001, "hold");
    while (f->held_peer == NULL) {
        assert_int_equal(uv_run(&f->uv.loop, UV_RUN_ONCE), 1);
    }
    log->try_call = try_peer_respond; /* on the next datagram: the ping */
    raw_exchange(f, raw, ZCOAP_TYPE_CON, 0x5002, NULL);
    assert_int_equal(log->try_rc, ZCOAP_ESTATE);
    assert_int_equal(raw->n_rx, 1); /* the RST of the ping, nothing else */

    assert_int_equal(zcoap_uv_peer_respond(f->held_peer, ZCOAP_CONTENT, -1, "x", 1), 0);
    f->held_peer->data = NULL;
    run_until_raw_rx(f, raw, 2);
    zcoap_msg_t answer;
    assert_int_equal(zcoap_msg_parse(&answer, raw->rx[1].data, raw->rx[1].len), 0);
    assert_int_equal(answer.type, ZCOAP_TYPE_ACK); /* piggybacked: auto_ack_ms is a minute */
    assert_int_equal(answer.mid, 0x5001);
    assert_int_equal(answer.code, ZCOAP_CONTENT);
}

#define IPV4(fn) cmocka_unit_test_setup_teardown(fn, setup_ipv4, teardown)
#define BOTH(fn)                                                                                   \
    {#fn "_ipv4", fn, setup_ipv4, teardown, NULL},                                                 \
    {                                                                                              \
#fn "_ipv6", fn, setup_ipv6, teardown, NULL                                                \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_client_sees_every_datagram),
        BOTH(test_server_sees_every_datagram),
        IPV4(test_server_hook_sees_pool_full_answers),
        IPV4(test_hook_per_object_and_removed),
        IPV4(test_client_drops_incoming),
        IPV4(test_server_drops_outgoing),
        IPV4(test_drop_everything_out_times_out),
        IPV4(test_drop_everything_in_times_out),
        IPV4(test_server_drops_incoming),
        IPV4(test_client_closed_from_hook_in),
        IPV4(test_client_closed_from_hook_out),
        IPV4(test_client_close_drains_through_hook),
        IPV4(test_server_closed_from_hook_in),
        IPV4(test_server_closed_from_hook_out),
        IPV4(test_server_hook_cannot_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
