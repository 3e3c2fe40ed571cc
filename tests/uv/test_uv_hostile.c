/*
 * Hostile peers against the libuv adapter on a real loop over loopback (issue 8, "Hostile
 * peers"): raw UDP sockets (uvt_peer_t) send what no well-behaved CoAP peer sends, to a
 * zcoap_uv_server_t and to a zcoap_uv_client_t, and the tests check the RFC's answer to each
 * (RST, 4.02, 4.13, silence), that nothing reaches a handler or an application callback that
 * should not, and that another peer's exchanges go on byte-exact.
 *
 * - every malformed class the codec reports (ZCOAP_EMSG_*), as CON (RST, RFC 7252 §4.2) and as
 *   NON, ACK and RST (silence, §4.2, §4.3), from a source with a peer and from one without;
 * - unknown critical options (4.02, §5.4.1), unknown elective ones (ignored);
 * - option values longer than their format allows (§5.4.3: unrecognized, so 4.02 when critical);
 * - datagrams larger than msg_cap (4.13 with Size1, RFC 7959 §2.9.3), also larger than the
 *   receive buffer: KNOWN TO FAIL today (see test_oversize_beyond_receive_buffer);
 * - a flood of RSTs and ACKs for random message IDs while a good client does its exchanges;
 * - notifications with unknown tokens to an observing client (RST, no observation event);
 * - a token-guessing peer against a client mid-exchange, from other addresses and from the
 *   server's own address.
 *
 * The server runs with short transmission parameters; every wait is bounded by a guard timer,
 * nothing sleeps, callbacks only record and the test body asserts once the loop is back. Every
 * test ends with all handles closed and uv_loop_close() == 0 (in the teardown). Under Valgrind
 * the flood is 20 times smaller.
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
    GUARD_MS = 5000,
    /* Server: ACK_TIMEOUT 20 ms, factor 1.0, MAX_RETRANSMIT 1; MAX_LATENCY 1 s keeps a peer
     * for EXCHANGE_LIFETIME = 20 + 2 * 1000 + 20 ms (§4.8.2), longer than any test here. */
    SERVER_ACK_TIMEOUT_MS = 20,
    SERVER_MAX_LATENCY_MS = 1000,
    SMALL_MSG_CAP = 256,
    UNKNOWN_CRITICAL_OPT = 2049, /* odd: critical (§5.4.6); unassigned */
    UNKNOWN_ELECTIVE_OPT = 2050, /* even: elective */
    N_FLOODERS = 4,
    FLOOD_TOTAL = 4000,  /* RSTs and ACKs with random MIDs (divided by 20 under Valgrind) */
    GOOD_EXCHANGES = 20, /* the good client's POSTs while the flood goes on */
    FAKE_NOTIFICATIONS = 100,
    OBS_TAG = 7,
    MAX_EVENTS = 512
};

static const char HELLO[] = "Hello World!";

/* ---- the fixture -------------------------------------------------------------------------- */

typedef struct fixture {
    uvt_loop_t uv;

    /* The server. */
    zcoap_uv_server_t server;
    zcoap_resource_t resources[3];
    bool server_started;
    bool server_close_requested;
    int server_close_calls;
    struct sockaddr_storage server_addr;
    int hello_calls;
    int echo_calls;
    int obs_calls;

    /* Raw peers: raw talks to the server, raw2 never holds a peer there (only pings), flood[]
     * sends RSTs and ACKs; srv plays a server for the client, attacker[] guess its tokens. */
    uvt_peer_t raw;
    uvt_peer_t raw2;
    uvt_peer_t flood[N_FLOODERS];
    uvt_peer_t srv;
    uvt_peer_t attacker[2];
    bool attacker_open[2];

    /* srv's script state: the client's request, RSTs counted by message ID */
    bool srv_hold;     /* keep the request, do not answer it */
    bool srv_have_req; /* the first request is kept in srv_req */
    uvt_datagram_t srv_req;
    struct sockaddr_storage srv_client;
    size_t srv_rsts;
    uint8_t rst_seen[65536 / 8];

    /* The client. */
    zcoap_uv_client_t client;
    zcoap_ep_config_t ccfg;
    zcoap_ep_storage_t cstore;
    bool client_inited;
    bool client_close_requested;
    int client_close_calls;
    zcoap_event_kind_t events[MAX_EVENTS];
    size_t n_events;
    size_t responses;
    size_t notifications;
    uint8_t resp_code;
    char resp_payload[256];
    size_t resp_payload_len;
    char notif_payload[64];
    size_t notif_payload_len;

    /* What a wait waits for. */
    size_t wait_n;
    int wait_mid;
    const uvt_peer_t *wait_peer;
    zcoap_event_kind_t wait_event;
    uint32_t rng;
} fixture_t;

static uint32_t next_random(fixture_t *f)
{
    /* xorshift32, seeded per test: the same flood every run */
    uint32_t x = f->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    f->rng = x;
    return x;
}

/* ---- waits -------------------------------------------------------------------------------- */

static bool run_until(fixture_t *f, bool (*done)(const void *ctx))
{
    return uvt_run_until(&f->uv, GUARD_MS, done, f);
}

/* Index of the first datagram @p p received with message ID @p mid, or -1. */
static long find_mid(const uvt_peer_t *p, int mid)
{
    for (size_t i = 0; i < p->n_rx && i < UVT_LOG_MAX; i++) {
        const uvt_datagram_t *d = &p->rx[i];
        if (d->len >= 4 && ((d->data[2] << 8) | d->data[3]) == mid) {
            return (long)i;
        }
    }
    return -1;
}

static bool peer_has_mid(const void *ctx)
{
    const fixture_t *f = ctx;
    return find_mid(f->wait_peer, f->wait_mid) >= 0;
}

static void run_until_mid(fixture_t *f, const uvt_peer_t *p, int mid)
{
    f->wait_peer = p;
    f->wait_mid = mid;
    if (!run_until(f, peer_has_mid)) {
        fail_msg("no datagram with MID 0x%04x within %d ms (got %zu)", mid, GUARD_MS, p->n_rx);
    }
}

static size_t count_event(const fixture_t *f, zcoap_event_kind_t kind)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_events; i++) {
        n += f->events[i] == kind ? 1u : 0u;
    }
    return n;
}

static bool event_seen(const void *ctx)
{
    const fixture_t *f = ctx;
    return count_event(f, f->wait_event) > 0;
}

static void run_until_event(fixture_t *f, zcoap_event_kind_t kind)
{
    f->wait_event = kind;
    if (!run_until(f, event_seen)) {
        fail_msg("no %s event within %d ms", zcoap_event_name(kind), GUARD_MS);
    }
}

static bool enough_rsts(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->srv_rsts >= f->wait_n;
}

static bool srv_has_request(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->srv_have_req;
}

static bool client_closed(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->client_close_calls > 0;
}

static bool server_closed(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->server_close_calls > 0;
}

static bool no_peer_in_use(const void *ctx)
{
    const fixture_t *f = ctx;
    return zcoap_uv_server_stats(&f->server)->peers_in_use == 0;
}

/* ---- the server --------------------------------------------------------------------------- */

static void handle_hello(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                         const zcoap_msg_t *req)
{
    fixture_t *f = s->data;
    (void)res;
    (void)req;
    f->hello_calls++;
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, HELLO, sizeof HELLO - 1u);
}

/* POST /echo: 2.04 with the request's payload. */
static void handle_echo(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                        const zcoap_msg_t *req)
{
    fixture_t *f = s->data;
    (void)res;
    f->echo_calls++;
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CHANGED, -1, req->payload, req->payload_len);
}

static zcoap_resource_t resource(const char *path, uint32_t methods, zcoap_uv_handler_fn handler)
{
    zcoap_resource_t r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.methods = methods;
    r.handler = (void *)(uintptr_t)handler; /* the adapter casts it back */
    return r;
}

static void on_server_closed(zcoap_uv_server_t *s)
{
    fixture_t *f = s->data;
    f->server_close_calls++;
}

/* A server on 127.0.0.1 with msg_cap @p msg_cap (0: the default) and recvmmsg as given. */
static void start_server(fixture_t *f, size_t msg_cap, bool recvmmsg)
{
    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    f->resources[0] = resource("hello", ZCOAP_METHOD_BIT(ZCOAP_GET), handle_hello);
    f->resources[1] = resource("echo", ZCOAP_METHOD_BIT(ZCOAP_POST), handle_echo);
    cfg.resources = f->resources;
    cfg.n_resources = 2;
    cfg.max_peers = 64;
    if (msg_cap != 0) {
        cfg.msg_cap = msg_cap;
    }
    cfg.recvmmsg = recvmmsg;
    cfg.tx.ack_timeout_ms = SERVER_ACK_TIMEOUT_MS;
    cfg.tx.ack_random_factor_permil = 1000;
    cfg.tx.max_retransmit = 1;
    cfg.tx.max_latency_ms = SERVER_MAX_LATENCY_MS;
    struct sockaddr_storage at;
    uvt_loopback(AF_INET, 0, &at);
    f->server.data = f;
    assert_int_equal(
        zcoap_uv_server_start(&f->uv.loop, &f->server, (const struct sockaddr *)&at, &cfg), 0);
    f->server_started = true;
    assert_int_equal(zcoap_uv_server_address(&f->server, &f->server_addr), 0);
}

static const zcoap_uv_server_stats_t *server_stats(const fixture_t *f)
{
    return zcoap_uv_server_stats(&f->server);
}

/* ---- the client --------------------------------------------------------------------------- */

static void on_client_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    fixture_t *f = c->data;
    if (f->client_close_requested) {
        return;
    }
    if (f->n_events < MAX_EVENTS) {
        f->events[f->n_events++] = ev->kind;
    }
    if (ev->kind == ZCOAP_EV_OUT_RESPONSE && ev->has_msg) {
        f->responses++;
        f->resp_code = ev->msg.code;
        f->resp_payload_len = ev->msg.payload_len < sizeof f->resp_payload ? ev->msg.payload_len
                                                                           : sizeof f->resp_payload;
        if (f->resp_payload_len > 0) {
            memcpy(f->resp_payload, ev->msg.payload, f->resp_payload_len);
        }
    }
    if (ev->kind == ZCOAP_EV_OBS_NOTIFICATION && ev->has_msg) {
        f->notifications++;
        f->notif_payload_len = ev->msg.payload_len < sizeof f->notif_payload
                                   ? ev->msg.payload_len
                                   : sizeof f->notif_payload;
        if (f->notif_payload_len > 0) {
            memcpy(f->notif_payload, ev->msg.payload, f->notif_payload_len);
        }
    }
}

static void on_client_closed(zcoap_uv_client_t *c)
{
    fixture_t *f = c->data;
    f->client_close_calls++;
}

/* A client connected to @p to, with ACK_TIMEOUT @p ack_timeout_ms (factor 1.0), 4
 * retransmissions. */
static void start_client(fixture_t *f, const struct sockaddr_storage *to, uint32_t ack_timeout_ms)
{
    zcoap_ep_config_default(&f->ccfg, &f->cstore);
    f->ccfg.tx.ack_timeout_ms = ack_timeout_ms;
    f->ccfg.tx.ack_random_factor_permil = 1000;
    f->ccfg.tx.max_retransmit = 4;
    f->client.data = f;
    assert_int_equal(zcoap_uv_client_init(&f->uv.loop, &f->client, &f->ccfg, on_client_event), 0);
    f->client_inited = true;
    assert_int_equal(zcoap_uv_client_connect(&f->client, (const struct sockaddr *)to), 0);
}

/* ---- setup and teardown ------------------------------------------------------------------- */

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL || uvt_loop_init(&f->uv) != 0) {
        free(f);
        return -1;
    }
    f->rng = 0x2545F491u;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f->client_inited && !f->client_close_requested) {
        f->client_close_requested = true;
        zcoap_uv_client_close(&f->client, on_client_closed);
    }
    if (f->server_started && !f->server_close_requested) {
        f->server_close_requested = true;
        zcoap_uv_server_close(&f->server, on_server_closed);
    }
    uvt_peer_close(&f->raw);
    uvt_peer_close(&f->raw2);
    for (size_t i = 0; i < N_FLOODERS; i++) {
        uvt_peer_close(&f->flood[i]);
    }
    uvt_peer_close(&f->srv);
    for (size_t i = 0; i < 2; i++) {
        uvt_peer_close(&f->attacker[i]);
    }
    if (f->client_inited) {
        assert_true(run_until(f, client_closed));
    }
    if (f->server_started) {
        assert_true(run_until(f, server_closed));
    }
    uvt_loop_end(&f->uv);
    free(f);
    return 0;
}

static void open_peer(fixture_t *f, uvt_peer_t *p)
{
    p->data = f;
    assert_int_equal(uvt_peer_open(p, &f->uv.loop, AF_INET, 0), 0);
}

static void send_to_server(fixture_t *f, uvt_peer_t *p, const uint8_t *d, size_t n)
{
    assert_int_equal(uvt_peer_send(p, &f->server_addr, d, (ptrdiff_t)n), 0);
}

/* Forget what @p p received so far (its log holds UVT_LOG_MAX datagrams). */
static void clear_rx(uvt_peer_t *p)
{
    p->n_rx = 0;
}

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

/* The answer @p p received with MID @p mid, parsed (the test fails without one). */
static zcoap_msg_t answer_with_mid(const uvt_peer_t *p, int mid)
{
    long i = find_mid(p, mid);
    assert_true(i >= 0);
    return uvt_peer_rx_msg(p, (size_t)i);
}

/* ---- 1. malformed datagrams --------------------------------------------------------------- */

/* One malformed datagram, written as a CON; send_malformed() sets the type. */
typedef struct malformed {
    const char *what;
    uint8_t bytes[24];
    size_t len;
    bool header_ok; /* 4 bytes or more, version 1: a CON gets RST (§4.2); else silence (§3) */
} malformed_t;

#define MID_HI 0x21 /* every malformed datagram's MID is 0x21xx; the sentinels' are 0x3xxx */
static const malformed_t MALFORMED[] = {
    {"shorter than the header (ZCOAP_EMSG_SHORT)", {0x40, 0x01, MID_HI}, 3, false},
    {"version 2 (ZCOAP_EMSG_VERSION)", {0x80, 0x01, MID_HI, 0x01}, 4, false},
    {"version 0 (ZCOAP_EMSG_VERSION)", {0x00, 0x01, MID_HI, 0x02}, 4, false},
    {"token length 9 (ZCOAP_EMSG_TOKEN_LEN)",
     {0x49, 0x01, MID_HI, 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 9},
     13,
     true},
    {"token length 15 (ZCOAP_EMSG_TOKEN_LEN)",
     {0x4F, 0x01, MID_HI, 0x04, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
     19,
     true},
    {"token cut short (ZCOAP_EMSG_TOKEN_TRUNC)", {0x48, 0x01, MID_HI, 0x05, 1, 2, 3, 4}, 8, true},
    {"option delta nibble 15 (ZCOAP_EMSG_OPT_NIBBLE)", {0x40, 0x01, MID_HI, 0x06, 0xF0}, 5, true},
    {"option length nibble 15 (ZCOAP_EMSG_OPT_NIBBLE)",
     {0x40, 0x01, MID_HI, 0x07, 0xBF, 'a'},
     6,
     true},
    {"extended delta cut short (ZCOAP_EMSG_OPT_EXT_TRUNC)",
     {0x40, 0x01, MID_HI, 0x08, 0xD0},
     5,
     true},
    {"extended length cut short (ZCOAP_EMSG_OPT_EXT_TRUNC)",
     {0x40, 0x01, MID_HI, 0x09, 0xBE, 0x01},
     6,
     true},
    {"option value cut short (ZCOAP_EMSG_OPT_VALUE_TRUNC)",
     {0x40, 0x01, MID_HI, 0x0A, 0xB5, 'a', 'b'},
     7,
     true},
    {"option number above 65535 (ZCOAP_EMSG_OPT_NUM_OVERFLOW)",
     {0x40, 0x01, MID_HI, 0x0B, 0xE0, 0xFF, 0xFF},
     7,
     true},
    {"payload marker, no payload (ZCOAP_EMSG_PAYLOAD_EMPTY)",
     {0x40, 0x01, MID_HI, 0x0C, 0xB5, 'h', 'e', 'l', 'l', 'o', 0xFF},
     11,
     true},
    {"Empty with a token (ZCOAP_EMSG_EMPTY_NOT_EMPTY)", {0x41, 0x00, MID_HI, 0x0D, 0xAA}, 5, true},
    {"Empty with a payload (ZCOAP_EMSG_EMPTY_NOT_EMPTY)",
     {0x40, 0x00, MID_HI, 0x0E, 0xFF, 0x01},
     6,
     true},
    {"code class 1 (ZCOAP_EMSG_CODE_CLASS)", {0x40, 0x21, MID_HI, 0x0F}, 4, true},
    {"code class 6 (ZCOAP_EMSG_CODE_CLASS)", {0x40, 0xC1, MID_HI, 0x10}, 4, true},
    {"code class 7 (ZCOAP_EMSG_CODE_CLASS)", {0x40, 0xE1, MID_HI, 0x11}, 4, true},
};
#define N_MALFORMED (sizeof MALFORMED / sizeof MALFORMED[0])

/* Well-formed datagrams whose type makes them malformed (§4.2, §4.3): checked as NON, ACK and
 * RST only (as a CON the first is a ping, answered RST like a malformed CON; the others are a
 * request and a CON response, answered otherwise). */
static const malformed_t MALFORMED_BY_TYPE[] = {
    {"Empty (NON Empty; ACK and RST matching nothing)", {0x40, 0x00, MID_HI, 0x20}, 4, true},
    {"a request (GET /hello) as NON is fine; in an ACK or RST it is malformed",
     {0x40, 0x01, MID_HI, 0x21, 0xB5, 'h', 'e', 'l', 'l', 'o'},
     10,
     true},
    {"a response (2.05) in a RST", {0x40, 0x45, MID_HI, 0x22}, 4, true},
};
#define N_MALFORMED_BY_TYPE (sizeof MALFORMED_BY_TYPE / sizeof MALFORMED_BY_TYPE[0])

static const char *type_name(uint8_t type)
{
    static const char *const names[] = {"CON", "NON", "ACK", "RST"};
    return names[type & 3u];
}

/* Send @p m as @p type from @p p, then a sentinel that is answered for sure from the same
 * socket (loopback keeps the order, the server handles datagrams in order): every answer to
 * @p m comes before the sentinel's. Checks that answer: RST with @p m's MID for a CON whose
 * header is good, nothing otherwise. */
static void check_malformed(fixture_t *f, uvt_peer_t *p, const malformed_t *m, uint8_t type,
                            bool ping_sentinel, uint16_t sentinel_mid)
{
    uint8_t d[sizeof m->bytes];
    memcpy(d, m->bytes, m->len);
    d[0] = (uint8_t)((d[0] & 0xCFu) | (uint8_t)(type << 4));
    clear_rx(p);
    send_to_server(f, p, d, m->len);
    uint8_t s[64];
    size_t n;
    if (ping_sentinel) {
        ptrdiff_t e = zcoap_build_empty(s, sizeof s, ZCOAP_TYPE_CON, sentinel_mid); /* §4.3 */
        assert_true(e > 0);
        n = (size_t)e;
    } else {
        n = build_get(s, sizeof s, sentinel_mid, "hello");
    }
    send_to_server(f, p, s, n);
    run_until_mid(f, p, sentinel_mid);
    long at = find_mid(p, sentinel_mid);
    bool want_rst = type == ZCOAP_TYPE_CON && m->header_ok;
    size_t want = want_rst ? 1u : 0u;
    if ((size_t)at != want) {
        fail_msg("%s as %s: %ld datagram(s) before the sentinel's answer, expected %zu", m->what,
                 type_name(type), at, want);
    }
    if (want_rst) {
        const uint8_t rst[4] = {0x70, 0x00, m->bytes[2], m->bytes[3]};
        if (p->rx[0].len != 4 || memcmp(p->rx[0].data, rst, 4) != 0) {
            fail_msg("%s as CON: the answer is not RST with its MID", m->what);
        }
    }
}

/* Every malformed class, as each of the four types, from a source whose peer exists (its
 * sentinel is a GET, which keeps it for EXCHANGE_LIFETIME): answered by the peer's endpoint. */
static void test_malformed_from_known_peer(void **state)
{
    fixture_t *f = *state;
    start_server(f, 0, true);
    open_peer(f, &f->raw);
    uint16_t sentinel = 0x3000;
    uint8_t get[64];
    send_to_server(f, &f->raw, get, build_get(get, sizeof get, sentinel, "hello"));
    run_until_mid(f, &f->raw, sentinel);
    for (size_t i = 0; i < N_MALFORMED; i++) {
        for (uint8_t type = 0; type < 4; type++) {
            check_malformed(f, &f->raw, &MALFORMED[i], type, false, ++sentinel);
        }
    }
    for (size_t i = 0; i < N_MALFORMED_BY_TYPE; i++) {
        for (uint8_t type = ZCOAP_TYPE_ACK; type <= ZCOAP_TYPE_RST; type++) {
            check_malformed(f, &f->raw, &MALFORMED_BY_TYPE[i], type, false, ++sentinel);
        }
    }
    /* A NON Empty is malformed (§4.3): silence. */
    check_malformed(f, &f->raw, &MALFORMED_BY_TYPE[0], ZCOAP_TYPE_NON, false, ++sentinel);
    /* Only the sentinels reached the handler; one peer served them all. */
    assert_int_equal(f->hello_calls, (int)(1 + 4 * N_MALFORMED + 2 * N_MALFORMED_BY_TYPE + 1));
    assert_int_equal(server_stats(f)->peers_created, 1);
    assert_int_equal(f->raw.not_coap, 0); /* every answer parses */
    print_message("malformed from a known peer: %zu datagrams (sentinels included), server in "
                  "%llu, out %llu\n",
                  f->raw.n_tx, (unsigned long long)server_stats(f)->datagrams_in,
                  (unsigned long long)server_stats(f)->datagrams_out);
}

/* The same from a source without a peer (its sentinel is a ping, answered without taking one):
 * answered by the server's stateless path, or by a peer made for a datagram that looked like a
 * request and released at once. */
static void test_malformed_from_unknown_source(void **state)
{
    fixture_t *f = *state;
    start_server(f, 0, false);
    open_peer(f, &f->raw2);
    uint16_t sentinel = 0x3800;
    for (size_t i = 0; i < N_MALFORMED; i++) {
        for (uint8_t type = 0; type < 4; type++) {
            check_malformed(f, &f->raw2, &MALFORMED[i], type, true, ++sentinel);
        }
    }
    for (size_t i = 0; i < N_MALFORMED_BY_TYPE; i++) {
        for (uint8_t type = ZCOAP_TYPE_ACK; type <= ZCOAP_TYPE_RST; type++) {
            check_malformed(f, &f->raw2, &MALFORMED_BY_TYPE[i], type, true, ++sentinel);
        }
    }
    check_malformed(f, &f->raw2, &MALFORMED_BY_TYPE[0], ZCOAP_TYPE_NON, true, ++sentinel);
    assert_int_equal(f->hello_calls, 0);
    assert_true(run_until(f, no_peer_in_use)); /* nothing stays (already so: no wait) */
    assert_true(server_stats(f)->stateless > 0);
    print_message("malformed from an unknown source: %zu datagrams (pings included), server in "
                  "%llu, out %llu, stateless %llu, peers made and released %llu\n",
                  f->raw2.n_tx, (unsigned long long)server_stats(f)->datagrams_in,
                  (unsigned long long)server_stats(f)->datagrams_out,
                  (unsigned long long)server_stats(f)->stateless,
                  (unsigned long long)server_stats(f)->peers_created);
    assert_int_equal(server_stats(f)->pool_full, 0);
}

/* ---- 2. options ---------------------------------------------------------------------------- */

/* GET /hello with option @p extra (0: none) of @p extra_len bytes of 'x', as @p type. */
static size_t build_get_with_opt(uint8_t *buf, size_t cap, uint8_t type, uint16_t mid,
                                 uint16_t extra, size_t extra_len)
{
    const uint8_t token[4] = {0x0B, 0xAD, (uint8_t)(mid >> 8), (uint8_t)mid};
    zcoap_builder_t b;
    assert_int_equal(zcoap_builder_init(&b, buf, cap, type, ZCOAP_GET, mid, token, sizeof token),
                     0);
    assert_int_equal(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "hello"), 0);
    if (extra != 0) {
        uint8_t val[16];
        memset(val, 'x', sizeof val);
        assert_int_equal(zcoap_builder_add_opt(&b, extra, val, extra_len), 0);
    }
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    return (size_t)n;
}

/* §5.4.1: an unrecognized critical option in a CON request gets 4.02 Bad Option piggybacked,
 * without reaching the handler; an unrecognized elective one is ignored (§5.4.1). */
static void test_unknown_options(void **state)
{
    fixture_t *f = *state;
    start_server(f, 0, true);
    open_peer(f, &f->raw);
    uint8_t req[64];
    size_t n = build_get_with_opt(req, sizeof req, ZCOAP_TYPE_CON, 0x4001, UNKNOWN_CRITICAL_OPT, 3);
    send_to_server(f, &f->raw, req, n);
    run_until_mid(f, &f->raw, 0x4001);
    zcoap_msg_t a = answer_with_mid(&f->raw, 0x4001);
    assert_int_equal(a.type, ZCOAP_TYPE_ACK);
    assert_int_equal(a.code, ZCOAP_BAD_OPTION);
    assert_int_equal(a.token_len, 4);
    assert_memory_equal(a.token, req + 4, 4);
    assert_int_equal(f->hello_calls, 0);

    n = build_get_with_opt(req, sizeof req, ZCOAP_TYPE_CON, 0x4002, UNKNOWN_ELECTIVE_OPT, 3);
    send_to_server(f, &f->raw, req, n);
    run_until_mid(f, &f->raw, 0x4002);
    a = answer_with_mid(&f->raw, 0x4002);
    assert_int_equal(a.type, ZCOAP_TYPE_ACK);
    assert_int_equal(a.code, ZCOAP_CONTENT);
    assert_int_equal(a.payload_len, sizeof HELLO - 1u);
    assert_memory_equal(a.payload, HELLO, a.payload_len);
    assert_int_equal(f->hello_calls, 1);
}

/* Hand-written CON request @p mid with token 0xBE 0xEF and the raw options @p opts: the builder
 * refuses values of the wrong length, a hostile peer does not. */
static size_t build_raw_request(uint8_t *buf, size_t cap, uint8_t code, uint16_t mid,
                                const uint8_t *opts, size_t opts_len, const char *payload)
{
    size_t plen = payload != NULL ? strlen(payload) : 0;
    size_t n = 6 + opts_len + (plen > 0 ? 1 + plen : 0);
    assert_true(n <= cap);
    buf[0] = 0x42; /* version 1, CON, token length 2 */
    buf[1] = code;
    buf[2] = (uint8_t)(mid >> 8);
    buf[3] = (uint8_t)mid;
    buf[4] = 0xBE;
    buf[5] = 0xEF;
    memcpy(buf + 6, opts, opts_len);
    if (plen > 0) {
        buf[6 + opts_len] = 0xFF;
        memcpy(buf + 7 + opts_len, payload, plen);
    }
    return n;
}

/* §5.4.3: a value longer than its option's format allows makes the option unrecognized: a
 * critical one (Uri-Path of 256 bytes, If-None-Match with a value) gets 4.02, an elective one
 * (Content-Format of 3 bytes) is ignored and the request served. */
static void test_option_values_too_long(void **state)
{
    fixture_t *f = *state;
    start_server(f, 0, true);
    open_peer(f, &f->raw);
    static uint8_t opts[300];
    uint8_t req[400];
    /* Uri-Path (11) of 256 bytes: delta 11, length 13 + 243. */
    opts[0] = 0xBD;
    opts[1] = 256 - 13;
    memset(opts + 2, 'p', 256);
    send_to_server(f, &f->raw, req,
                   build_raw_request(req, sizeof req, ZCOAP_GET, 0x4101, opts, 258, NULL));
    /* Uri-Path "hello", then If-None-Match (5) with a 1-byte value: its format is empty. */
    const uint8_t inm[] = {0x51, 0x01, 0x65, 'h', 'e', 'l', 'l', 'o'};
    send_to_server(f, &f->raw, req,
                   build_raw_request(req, sizeof req, ZCOAP_GET, 0x4102, inm, sizeof inm, NULL));
    /* Uri-Path "echo", Content-Format (12) of 3 bytes (its format is 0-2 bytes) on a POST. */
    const uint8_t cf[] = {0xB4, 'e', 'c', 'h', 'o', 0x13, 0x00, 0x00, 0x00};
    send_to_server(f, &f->raw, req,
                   build_raw_request(req, sizeof req, ZCOAP_POST, 0x4103, cf, sizeof cf, "body"));
    run_until_mid(f, &f->raw, 0x4103);
    zcoap_msg_t a = answer_with_mid(&f->raw, 0x4101);
    assert_int_equal(a.type, ZCOAP_TYPE_ACK);
    assert_int_equal(a.code, ZCOAP_BAD_OPTION);
    a = answer_with_mid(&f->raw, 0x4102);
    assert_int_equal(a.code, ZCOAP_BAD_OPTION);
    a = answer_with_mid(&f->raw, 0x4103);
    assert_int_equal(a.code, ZCOAP_CHANGED);
    assert_int_equal(a.payload_len, 4);
    assert_memory_equal(a.payload, "body", 4);
    assert_int_equal(f->hello_calls, 0);
    assert_int_equal(f->echo_calls, 1);
}

/* ---- 3. oversize datagrams ----------------------------------------------------------------- */

/* A CON POST /echo of @p total bytes (padded with payload), MID @p mid. */
static size_t build_big_post(uint8_t *buf, size_t total, uint16_t mid)
{
    const uint8_t head[] = {
        0x42, ZCOAP_POST, (uint8_t)(mid >> 8), (uint8_t)mid, 0xB1, 0x6F, 0xB4, 'e', 'c', 'h',
        'o',  0xFF};
    assert_true(total > sizeof head);
    memcpy(buf, head, sizeof head);
    memset(buf + sizeof head, 'B', total - sizeof head);
    return total;
}

/* RFC 7959 §2.9.3 (and RFC 7252 §5.9.2.9): a request larger than the server takes is answered
 * 4.13 Request Entity Too Large, piggybacked, with Size1 saying how much it takes. */
static void assert_413(const fixture_t *f, int mid, uint32_t size1)
{
    zcoap_msg_t a = answer_with_mid(&f->raw, mid);
    assert_int_equal(a.type, ZCOAP_TYPE_ACK);
    assert_int_equal(a.code, ZCOAP_REQUEST_ENTITY_TOO_LARGE);
    assert_int_equal(a.token_len, 2);
    assert_int_equal(a.token[0], 0xB1);
    assert_int_equal(a.token[1], 0x6F);
    uint32_t v = 0;
    assert_int_equal(zcoap_msg_get_uint(&a, ZCOAP_OPT_SIZE1, &v), ZCOAP_OK);
    assert_int_equal(v, size1);
}

/* Larger than msg_cap (256) but within the receive buffer: 4.13 with Size1 = 256, handler not
 * called; the next request of the same peer is served. */
static void test_oversize_within_receive_buffer(void **state)
{
    fixture_t *f = *state;
    start_server(f, SMALL_MSG_CAP, true);
    open_peer(f, &f->raw);
    static uint8_t big[1000];
    send_to_server(f, &f->raw, big, build_big_post(big, sizeof big, 0x4201));
    run_until_mid(f, &f->raw, 0x4201);
    assert_413(f, 0x4201, SMALL_MSG_CAP);
    assert_int_equal(f->echo_calls, 0);
    uint8_t get[64];
    send_to_server(f, &f->raw, get, build_get(get, sizeof get, 0x4202, "hello"));
    run_until_mid(f, &f->raw, 0x4202);
    assert_int_equal(answer_with_mid(&f->raw, 0x4202).code, ZCOAP_CONTENT);
    assert_int_equal(server_stats(f)->truncated, 0);
}

/*
 * KNOWN TO FAIL (zcoap at bfae709): larger than the server's receive buffer
 * (ZCOAP_UV_CLIENT_RX_SIZE = 1,664 bytes): issue 8 asks for 4.13 with Size1, "not truncation".
 * The adapter's on_recv (uv_adapter/server.c) counts such a datagram in stats.truncated and drops
 * it: the client hears nothing and retransmits until it gives up (93 s by default). With
 * recvmmsg the whole datagram is even in the 64 KiB slice; without it, UV_UDP_PARTIAL still
 * leaves the header and token in the buffer, enough for the 4.13. Reproduction: send a 3,000-byte
 * CON POST to any zcoap_uv_server_t: no answer, stats.truncated 1 (tests/uv/test_uv_server.c's
 * test_oversized_datagram asserts today's drop).
 */
static void oversize_beyond_receive_buffer(fixture_t *f, bool recvmmsg)
{
    start_server(f, 0, recvmmsg);
    open_peer(f, &f->raw);
    static uint8_t big[60000];
    send_to_server(f, &f->raw, big, build_big_post(big, 3000, 0x4301));
    send_to_server(f, &f->raw, big, build_big_post(big, sizeof big, 0x4302));
    uint8_t get[64];
    send_to_server(f, &f->raw, get, build_get(get, sizeof get, 0x4303, "hello"));
    run_until_mid(f, &f->raw, 0x4303); /* the server still serves */
    assert_int_equal(f->echo_calls, 0);
    print_message("oversize (recvmmsg %d): %zu answer(s) before the GET's, truncated %llu\n",
                  recvmmsg, (size_t)find_mid(&f->raw, 0x4303),
                  (unsigned long long)server_stats(f)->truncated);
    long first = find_mid(&f->raw, 0x4301);
    long second = find_mid(&f->raw, 0x4302);
    if (first < 0 || second < 0) {
        fail_msg("KNOWN BUG: a request larger than the receive buffer got no 4.13 (3,000 bytes: "
                 "%s, 60,000 bytes: %s; the server counted %llu truncated)",
                 first < 0 ? "none" : "answered", second < 0 ? "none" : "answered",
                 (unsigned long long)server_stats(f)->truncated);
    }
    assert_413(f, 0x4301, ZCOAP_MAX_MSG_SIZE);
    assert_413(f, 0x4302, ZCOAP_MAX_MSG_SIZE);
}

static void test_oversize_beyond_receive_buffer_recvmmsg(void **state)
{
    oversize_beyond_receive_buffer(*state, true);
}

static void test_oversize_beyond_receive_buffer_recvmsg(void **state)
{
    oversize_beyond_receive_buffer(*state, false);
}

/* ---- 4. a flood of RSTs and ACKs ------------------------------------------------------------ */

static bool good_exchange_over(const void *ctx)
{
    const fixture_t *f = ctx;
    return count_event(f, ZCOAP_EV_OUT_RESPONSE) + count_event(f, ZCOAP_EV_OUT_TIMEOUT) +
               count_event(f, ZCOAP_EV_OUT_RESET) >=
           f->wait_n;
}

/* @p n RSTs and ACKs with random MIDs, spread over the flooders (and raw, which has a peer). */
static void flood_chunk(fixture_t *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t r = next_random(f);
        uint8_t d[4] = {(r & 1u) != 0 ? 0x70 : 0x60, 0x00, (uint8_t)(r >> 8), (uint8_t)(r >> 16)};
        size_t who = (r >> 24) % (N_FLOODERS + 1u);
        uvt_peer_t *p = who < N_FLOODERS ? &f->flood[who] : &f->raw;
        send_to_server(f, p, d, sizeof d);
    }
}

/* Thousands of RSTs and ACKs for random message IDs from five sockets (one of which holds a
 * peer) while a good client POSTs: every exchange of the good client completes with its own
 * bytes back, none is retransmitted in vain or reset, no flooder gets an answer (an ACK or a
 * RST matching nothing is ignored, §4.2; never RST a RST), and the flooders take no peer. */
static void test_rst_ack_flood(void **state)
{
    fixture_t *f = *state;
    start_server(f, 0, true);
    open_peer(f, &f->raw);
    for (size_t i = 0; i < N_FLOODERS; i++) {
        open_peer(f, &f->flood[i]);
    }
    uint8_t get[64];
    send_to_server(f, &f->raw, get, build_get(get, sizeof get, 0x5000, "hello"));
    run_until_mid(f, &f->raw, 0x5000); /* raw has a peer now */
    clear_rx(&f->raw);
    start_client(f, &f->server_addr, 500); /* no retransmission on loopback unless one is lost */

    size_t flood_total = uvt_scaled(FLOOD_TOTAL, 20, 100);
    size_t chunk = flood_total / (2 * GOOD_EXCHANGES);
    char uri[128];
    uvt_uri(uri, sizeof uri, &f->server_addr, "echo");
    for (size_t i = 0; i < GOOD_EXCHANGES; i++) {
        char body[96];
        int len = snprintf(body, sizeof body, "exchange %zu of the good client, %08x", i,
                           (unsigned)next_random(f));
        assert_true(len > 0);
        flood_chunk(f, chunk);
        assert_int_equal(
            zcoap_uv_client_request(&f->client, ZCOAP_TYPE_CON, ZCOAP_POST, uri, body, (size_t)len),
            0);
        flood_chunk(f, chunk); /* queued behind the request: the server reads them meanwhile */
        f->wait_n = i + 1;
        if (!run_until(f, good_exchange_over)) {
            fail_msg("exchange %zu of the good client did not end", i);
        }
        assert_int_equal(f->responses, i + 1);
        assert_int_equal(f->resp_code, ZCOAP_CHANGED);
        assert_int_equal(f->resp_payload_len, (size_t)len);
        assert_memory_equal(f->resp_payload, body, (size_t)len);
    }
    /* raw's peer still serves it after the flood. */
    send_to_server(f, &f->raw, get, build_get(get, sizeof get, 0x5001, "hello"));
    run_until_mid(f, &f->raw, 0x5001);
    assert_int_equal(f->raw.n_rx, 1); /* only the answer to its GET */
    for (size_t i = 0; i < N_FLOODERS; i++) {
        assert_int_equal(f->flood[i].n_rx, 0);
    }
    assert_int_equal(count_event(f, ZCOAP_EV_OUT_TIMEOUT), 0);
    assert_int_equal(count_event(f, ZCOAP_EV_OUT_RESET), 0);
    const zcoap_uv_server_stats_t *st = server_stats(f);
    assert_int_equal(st->peers_created, 2); /* raw and the good client */
    assert_int_equal(f->echo_calls, GOOD_EXCHANGES);
    size_t sent = 0;
    for (size_t i = 0; i < N_FLOODERS; i++) {
        sent += f->flood[i].n_tx;
    }
    assert_true(st->stateless >= sent); /* every flooder's datagram took the stateless path */
    assert_int_equal(st->recv_errors, 0);
    print_message("flood: %zu RST/ACK from flooders + %zu from a known peer, %d good exchanges "
                  "answered byte-exact, server datagrams in %llu, out %llu, stateless %llu\n",
                  sent, f->raw.n_tx - 2, GOOD_EXCHANGES, (unsigned long long)st->datagrams_in,
                  (unsigned long long)st->datagrams_out, (unsigned long long)st->stateless);
}

/* ---- 5. the client against forged notifications and guessed tokens -------------------------- */

static void mark_rst(fixture_t *f, const zcoap_msg_t *msg)
{
    if (msg->type == ZCOAP_TYPE_RST) {
        f->srv_rsts++;
        f->rst_seen[msg->mid / 8u] =
            (uint8_t)(f->rst_seen[msg->mid / 8u] | (1u << (msg->mid % 8u)));
    }
}

static bool rst_seen_for(const fixture_t *f, uint16_t mid)
{
    return (f->rst_seen[mid / 8u] & (1u << (mid % 8u))) != 0;
}

/* srv plays the observed server: a registration (GET with Observe 0) is answered 2.05 with
 * Observe 1, piggybacked; its token is kept. RSTs are counted by MID. */
static void script_observed_server(uvt_peer_t *p, const struct sockaddr_storage *from,
                                   const zcoap_msg_t *msg)
{
    fixture_t *f = p->data;
    mark_rst(f, msg);
    if (msg->type != ZCOAP_TYPE_CON || msg->code != ZCOAP_GET) {
        return;
    }
    if (!f->srv_have_req) {
        uvt_datagram_set(&f->srv_req, msg->data, msg->len);
        f->srv_client = *from;
        f->srv_have_req = true;
    }
    uint8_t buf[64];
    zcoap_builder_t b;
    (void)zcoap_builder_init_response(&b, buf, sizeof buf, msg, ZCOAP_CONTENT, msg->mid);
    (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, 1);
    (void)zcoap_builder_set_payload(&b, "v1", 2);
    (void)uvt_peer_send(p, from, buf, zcoap_builder_finish(&b));
}

/* A 2.05 notification of @p type with Observe @p seq, token @p token, payload @p payload. */
static void send_notification(fixture_t *f, uvt_peer_t *from, uint8_t type, uint16_t mid,
                              const uint8_t *token, size_t token_len, uint32_t seq,
                              const char *payload)
{
    uint8_t buf[64];
    zcoap_builder_t b;
    assert_int_equal(
        zcoap_builder_init(&b, buf, sizeof buf, type, ZCOAP_CONTENT, mid, token, token_len), 0);
    assert_int_equal(zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, seq), 0);
    assert_int_equal(zcoap_builder_set_payload(&b, payload, strlen(payload)), 0);
    assert_int_equal(uvt_peer_send(from, &f->srv_client, buf, zcoap_builder_finish(&b)), 0);
}

static void random_token(fixture_t *f, uint8_t token[8], const zcoap_msg_t *not_this)
{
    do {
        for (size_t i = 0; i < 8; i++) {
            token[i] = (uint8_t)next_random(f);
        }
    } while (not_this->token_len == 8 && memcmp(token, not_this->token, 8) == 0);
}

/* Notifications, CON and NON, with tokens the client never sent, to a client observing another
 * token: each is rejected with RST (RFC 7641 §3.6, RFC 7252 §4.2/§4.3) and none reaches the
 * application as a notification; the real observation is unharmed and its next notification is
 * reported once. */
static void test_client_rejects_unknown_token_notifications(void **state)
{
    fixture_t *f = *state;
    f->srv.on_msg = script_observed_server;
    open_peer(f, &f->srv);
    start_client(f, &f->srv.addr, 200);
    char uri[128];
    assert_int_equal(
        zcoap_uv_client_observe(&f->client, uvt_uri(uri, sizeof uri, &f->srv.addr, "obs"), OBS_TAG),
        0);
    run_until_event(f, ZCOAP_EV_OUT_RESPONSE);
    assert_true(zcoap_uv_client_observing(&f->client, OBS_TAG));
    zcoap_msg_t reg;
    assert_int_equal(zcoap_msg_parse(&reg, f->srv_req.data, f->srv_req.len), ZCOAP_OK);

    for (uint16_t i = 0; i < FAKE_NOTIFICATIONS; i++) {
        uint8_t token[8];
        random_token(f, token, &reg);
        uint8_t type = (i % 2u) == 0 ? ZCOAP_TYPE_CON : ZCOAP_TYPE_NON;
        send_notification(f, &f->srv, type, (uint16_t)(0x6000 + i), token, sizeof token,
                          (uint32_t)(i + 2), "forged");
    }
    f->wait_n = FAKE_NOTIFICATIONS;
    if (!run_until(f, enough_rsts)) {
        fail_msg("%zu RST(s) for %d forged notifications", f->srv_rsts, FAKE_NOTIFICATIONS);
    }
    for (uint16_t i = 0; i < FAKE_NOTIFICATIONS; i++) {
        assert_true(rst_seen_for(f, (uint16_t)(0x6000 + i)));
    }
    assert_int_equal(f->notifications, 0);
    assert_int_equal(count_event(f, ZCOAP_EV_OBS_ENDED), 0);
    assert_int_equal(count_event(f, ZCOAP_EV_OUT_RESPONSE), 1);
    assert_true(zcoap_uv_client_observing(&f->client, OBS_TAG));

    send_notification(f, &f->srv, ZCOAP_TYPE_NON, 0x6FFF, reg.token, reg.token_len, 1000, "real");
    run_until_event(f, ZCOAP_EV_OBS_NOTIFICATION);
    assert_int_equal(f->notifications, 1);
    assert_int_equal(f->notif_payload_len, 4);
    assert_memory_equal(f->notif_payload, "real", 4);
    assert_int_equal(f->srv_rsts, FAKE_NOTIFICATIONS); /* the real one is not rejected */
}

/* srv holds the client's request: it records it and answers nothing (f->srv_hold). */
static void script_hold(uvt_peer_t *p, const struct sockaddr_storage *from, const zcoap_msg_t *msg)
{
    fixture_t *f = p->data;
    mark_rst(f, msg);
    if (msg->type == ZCOAP_TYPE_CON && zcoap_code_is_request(msg->code) && !f->srv_have_req) {
        uvt_datagram_set(&f->srv_req, msg->data, msg->len);
        f->srv_client = *from;
        f->srv_have_req = true;
    }
}

/* A 2.05 of @p type, @p mid, @p token, "forged" or @p payload, from @p from to the client. */
static void send_response(fixture_t *f, uvt_peer_t *from, uint8_t type, uint16_t mid,
                          const uint8_t *token, size_t token_len, const char *payload)
{
    uint8_t buf[64];
    zcoap_builder_t b;
    assert_int_equal(
        zcoap_builder_init(&b, buf, sizeof buf, type, ZCOAP_CONTENT, mid, token, token_len), 0);
    assert_int_equal(zcoap_builder_set_payload(&b, payload, strlen(payload)), 0);
    (void)uvt_peer_send(from, &f->srv_client, buf, zcoap_builder_finish(&b));
}

/* A peer guessing tokens while the client's CON GET waits for its answer:
 * - from other sources (another port of 127.0.0.1, and 127.0.0.2 on the server's port), even
 *   with the right MID and token: the connected socket never lets them in (datagrams_in 0);
 * - from the server's own address: CON and NON responses with random tokens get RST (§4.2,
 *   §4.3, not the response), ACKs with random MIDs are ignored, an ACK with the request's MID
 *   and another token is OUT_WRONG_TOKEN (§5.3.2: not the response).
 * Then the genuine separate response is the one and only OUT_RESPONSE, with its own bytes. */
static void test_client_token_guessing_peer(void **state)
{
    fixture_t *f = *state;
    f->srv.on_msg = script_hold;
    open_peer(f, &f->srv);
    start_client(f, &f->srv.addr, 300);
    char uri[128];
    assert_int_equal(zcoap_uv_client_request(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET,
                                             uvt_uri(uri, sizeof uri, &f->srv.addr, "x"), NULL, 0),
                     0);
    if (!run_until(f, srv_has_request)) {
        fail_msg("the request did not arrive");
    }
    zcoap_msg_t req;
    assert_int_equal(zcoap_msg_parse(&req, f->srv_req.data, f->srv_req.len), ZCOAP_OK);

    /* Other sources, knowing everything: the right MID and token. */
    f->attacker[0].data = f;
    assert_int_equal(uvt_peer_open(&f->attacker[0], &f->uv.loop, AF_INET, 0), 0);
    struct sockaddr_storage other_ip;
    assert_int_equal(
        uv_ip4_addr("127.0.0.2", uvt_port_of(&f->srv.addr), (struct sockaddr_in *)&other_ip), 0);
    f->attacker[1].data = f;
    bool other_ip_ok = uvt_peer_open_at(&f->attacker[1], &f->uv.loop, &other_ip) == 0;
    if (!other_ip_ok) {
        print_message("127.0.0.2 unavailable: the same-port attacker is left out\n");
    }
    for (size_t a = 0; a < (other_ip_ok ? 2u : 1u); a++) {
        send_response(f, &f->attacker[a], ZCOAP_TYPE_ACK, req.mid, req.token, req.token_len,
                      "forged");
        send_response(f, &f->attacker[a], ZCOAP_TYPE_CON, 0x7000, req.token, req.token_len,
                      "forged");
        send_response(f, &f->attacker[a], ZCOAP_TYPE_NON, 0x7001, req.token, req.token_len,
                      "forged");
    }
    /* From the server's address: guessed tokens and MIDs. */
    enum { GUESSES = 60 };
    for (uint16_t i = 0; i < GUESSES; i++) {
        uint8_t token[8];
        random_token(f, token, &req);
        /* ACK, CON, NON in turn: the last is a NON, whose RST tells that all were handled */
        static const uint8_t types[3] = {ZCOAP_TYPE_ACK, ZCOAP_TYPE_CON, ZCOAP_TYPE_NON};
        uint8_t type = types[i % 3u];
        uint16_t mid = (uint16_t)(0x7100 + i);
        if (type == ZCOAP_TYPE_ACK && mid == req.mid) {
            mid++;
        }
        send_response(f, &f->srv, type, mid, token, sizeof token, "forged");
    }
    f->wait_n = 2 * GUESSES / 3; /* each CON and NON gets RST */
    if (!run_until(f, enough_rsts)) {
        fail_msg("%zu RST(s) for %d guessed CON/NON responses", f->srv_rsts, 2 * GUESSES / 3);
    }
    assert_int_equal(f->responses, 0);
    assert_int_equal(zcoap_uv_client_stats(&f->client)->datagrams_in, GUESSES); /* srv's only */
    for (size_t a = 0; a < 2; a++) {
        assert_int_equal(f->attacker[a].n_rx, 0); /* the client never answered them */
    }

    /* The ACK with the request's MID and a guessed token is not the response. */
    uint8_t token[8];
    random_token(f, token, &req);
    send_response(f, &f->srv, ZCOAP_TYPE_ACK, req.mid, token, sizeof token, "forged");
    run_until_event(f, ZCOAP_EV_OUT_WRONG_TOKEN);
    assert_int_equal(f->responses, 0);

    /* The genuine separate response. */
    send_response(f, &f->srv, ZCOAP_TYPE_CON, 0x7FFF, req.token, req.token_len, "genuine");
    run_until_event(f, ZCOAP_EV_OUT_RESPONSE);
    run_until_mid(f, &f->srv, 0x7FFF); /* its ACK (§5.2.2) */
    assert_int_equal(f->responses, 1);
    assert_int_equal(f->resp_code, ZCOAP_CONTENT);
    assert_int_equal(f->resp_payload_len, 7);
    assert_memory_equal(f->resp_payload, "genuine", 7);
    assert_int_equal(count_event(f, ZCOAP_EV_OUT_TIMEOUT), 0);
    assert_int_equal(count_event(f, ZCOAP_EV_OUT_RESET), 0);
}

int main(int argc, char **argv)
{
    uvt_filter_tests(argc, argv); /* e.g. --skip '*beyond_receive_buffer*' */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_malformed_from_known_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_from_unknown_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_option_values_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversize_within_receive_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversize_beyond_receive_buffer_recvmmsg, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_oversize_beyond_receive_buffer_recvmsg, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rst_ack_flood, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_rejects_unknown_token_notifications, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_client_token_guessing_peer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
