/* Lockstep tests of the endpoint (Californium's model): the test plays the peer datagram by
 * datagram over a lossless, instant virtual link and checks every byte the endpoint sends and
 * the exact instant it sends it. One test per rule of RFC 7252 §4-§5 as issue 3 lists them.
 *
 * Our own requests carry a random message ID and token: the test reads them from the first
 * transmission, checks their shape, and then expects exact bytes built from them. */
#include "zcoap_test.h"

#include <stdio.h>
#include <stdlib.h>

#include "virtual_net.h"
#include "zcoap/endpoint.h"

#define EP 0
#define PEER 1
/* Start far from 0 so that relative and absolute times cannot be confused. */
#define T0 1000000u

typedef struct fx {
    vnet_t net;
    zcoap_ep_t ep;
    zcoap_ep_config_t cfg;
    zcoap_ep_storage_t store;
    test_rng_t rng;
    size_t inbox_pos; /* datagrams of the endpoint already checked */
    size_t log_pos;   /* events of the endpoint already checked */
} fx_t;

/* One request we sent, as read back from the wire. */
typedef struct sent_req {
    uint16_t mid;
    uint8_t token[8];
    size_t token_len;
    uint8_t bytes[256];
    size_t len;
} sent_req_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    zcoap_ep_config_default(&f->cfg, &f->store);
    test_rng_seed(&f->rng, test_rng_seed_from_env(0x10c5732b));
    f->cfg.rng = vnet_rng;
    f->cfg.rng_ctx = &f->rng;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    vnet_free(&f->net);
    free(f);
    return 0;
}

/* Exact timing: no random factor, so every retransmission instant is known. */
static void exact_timing(fx_t *f)
{
    f->cfg.tx.ack_random_factor_permil = 1000;
}

static void start(fx_t *f)
{
    assert_zcoap_ok(zcoap_ep_init(&f->ep, &f->cfg, T0));
    vnet_init(&f->net, 1, T0);
    vnet_attach(&f->net, EP, &f->ep);
    vnet_attach(&f->net, PEER, NULL);
}

static uint64_t now(const fx_t *f)
{
    return vnet_now(&f->net);
}

static void run_to(fx_t *f, uint64_t t)
{
    vnet_run_until(&f->net, t);
}

/* ---- the peer's side ----------------------------------------------------------------------- */

static void peer_bytes(fx_t *f, const uint8_t *d, size_t len)
{
    vnet_send(&f->net, PEER, d, len);
    vnet_pump(&f->net);
}

static void peer_hex(fx_t *f, const char *hex)
{
    uint8_t d[512];
    size_t len = hex_bytes(hex, d, sizeof(d));
    peer_bytes(f, d, len);
}

static void peer_empty(fx_t *f, uint8_t type, uint16_t mid)
{
    uint8_t d[4];
    assert_zcoap_len(zcoap_build_empty(d, sizeof(d), type, mid), 4);
    peer_bytes(f, d, 4);
}

/* A message from the peer: header, token, optional Uri-Path, optional payload. */
static size_t build_msg(uint8_t *out, size_t cap, uint8_t type, uint8_t code, uint16_t mid,
                        const uint8_t *token, size_t token_len, const char *path,
                        const char *payload)
{
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_builder_init(&b, out, cap, type, code, mid, token, token_len));
    if (path)
        assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, path));
    if (payload)
        assert_zcoap_ok(zcoap_builder_set_payload(&b, payload, strlen(payload)));
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    return (size_t)n;
}

static void peer_msg(fx_t *f, uint8_t type, uint8_t code, uint16_t mid, const uint8_t *token,
                     size_t token_len, const char *path, const char *payload)
{
    uint8_t d[512];
    size_t len = build_msg(d, sizeof(d), type, code, mid, token, token_len, path, payload);
    peer_bytes(f, d, len);
}

/* ---- what the endpoint sent ---------------------------------------------------------------- */

#define next_sent(f, at) next_sent_at((f), (at), __FILE__, __LINE__)
static const vnet_dgram_t *next_sent_at(fx_t *f, uint64_t at, const char *file, int line)
{
    const vnet_node_t *peer = &f->net.node[PEER];
    if (f->inbox_pos >= peer->inbox_len) {
        print_error("expected a datagram from the endpoint at t=T0+%lld, got none (now T0+%lld)\n",
                    (long long)(at - T0), (long long)(now(f) - T0));
        _fail(file, line);
    }
    const vnet_dgram_t *d = &peer->inbox[f->inbox_pos++];
    if (d->at != at) {
        char hex[512];
        hex_format(d->data, d->len, hex, sizeof(hex));
        print_error("datagram %s sent at T0+%lld, expected at T0+%lld\n", hex,
                    (long long)(d->at - T0), (long long)(at - T0));
        _fail(file, line);
    }
    return d;
}

#define expect_sent_bytes(f, at, want, len) expect_sent_bytes_at((f), (at), (want), (len), __LINE__)
static void expect_sent_bytes_at(fx_t *f, uint64_t at, const uint8_t *want, size_t len, int line)
{
    const vnet_dgram_t *d = next_sent_at(f, at, __FILE__, line);
    assert_zcoap_check_bytes(d->data, d->len, want, len, "datagram sent", __FILE__, line);
}

#define expect_sent_hex(f, at, hex) expect_sent_hex_at((f), (at), (hex), __LINE__)
static void expect_sent_hex_at(fx_t *f, uint64_t at, const char *hex, int line)
{
    uint8_t want[512];
    size_t len = hex_bytes(hex, want, sizeof(want));
    expect_sent_bytes_at(f, at, want, len, line);
}

#define expect_sent_empty(f, at, type, mid) expect_sent_empty_at((f), (at), (type), (mid), __LINE__)
static void expect_sent_empty_at(fx_t *f, uint64_t at, uint8_t type, uint16_t mid, int line)
{
    uint8_t want[4];
    assert_zcoap_len(zcoap_build_empty(want, sizeof(want), type, mid), 4);
    expect_sent_bytes_at(f, at, want, 4, line);
}

#define expect_nothing_sent(f) expect_nothing_sent_at((f), __LINE__)
static void expect_nothing_sent_at(fx_t *f, int line)
{
    const vnet_node_t *peer = &f->net.node[PEER];
    if (f->inbox_pos == peer->inbox_len)
        return;
    char hex[512];
    const vnet_dgram_t *d = &peer->inbox[f->inbox_pos];
    hex_format(d->data, d->len, hex, sizeof(hex));
    print_error("unexpected datagram at T0+%lld: %s (%zu more)\n", (long long)(d->at - T0), hex,
                peer->inbox_len - f->inbox_pos - 1);
    _fail(__FILE__, line);
}

/* ---- events -------------------------------------------------------------------------------- */

/* The events since the last check must be exactly @p kinds, in order. Returns the first. */
#define expect_events(f, ...)                                                                      \
    expect_events_at(                                                                              \
        (f), (const zcoap_event_kind_t[]){__VA_ARGS__},                                            \
        sizeof((const zcoap_event_kind_t[]){__VA_ARGS__}) / sizeof(zcoap_event_kind_t), __LINE__)
static const vnet_event_rec_t *expect_events_at(fx_t *f, const zcoap_event_kind_t *kinds, size_t n,
                                                int line)
{
    const vnet_node_t *ep = &f->net.node[EP];
    size_t got = ep->log_len - f->log_pos;
    bool same = got == n;
    for (size_t i = 0; same && i < n; i++)
        same = ep->log[f->log_pos + i].kind == kinds[i];
    if (!same) {
        char log[2048];
        vnet_format_log(&f->net, EP, f->log_pos, log, sizeof(log));
        print_error("expected %zu new event(s) starting with %s; got %zu: %s\n", n,
                    n ? zcoap_event_name(kinds[0]) : "-", got, log);
        _fail(__FILE__, line);
    }
    const vnet_event_rec_t *first = got ? &ep->log[f->log_pos] : NULL;
    f->log_pos = ep->log_len;
    return first;
}

#define expect_no_events(f) expect_events_at((f), NULL, 0, __LINE__)

/* ---- our requests -------------------------------------------------------------------------- */

/* Begin a request with Uri-Path "test" (and a payload), send it, and read it off the wire. */
static void request(fx_t *f, uint8_t type, uint8_t method, const char *payload, uint32_t timeout,
                    sent_req_t *out)
{
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_ep_request_begin(&f->ep, type, method, &b));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "test"));
    if (payload)
        assert_zcoap_ok(zcoap_builder_set_payload(&b, payload, strlen(payload)));
    assert_zcoap_ok(zcoap_ep_request_send(&f->ep, &b, timeout, now(f)));
    vnet_pump(&f->net);
    const vnet_dgram_t *d = next_sent(f, now(f));
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, type);
    assert_int_equal(m.code, method);
    assert_int_equal(m.token_len, f->cfg.token_len);
    out->mid = m.mid;
    out->token_len = m.token_len;
    memcpy(out->token, m.token, m.token_len);
    /* Every byte: the same message built independently from the wire's ID and token. */
    out->len = build_msg(out->bytes, sizeof(out->bytes), type, method, m.mid, m.token, m.token_len,
                         "test", payload);
    assert_zcoap_bytes(d->data, d->len, out->bytes, out->len);
    expect_events(f, type == ZCOAP_TYPE_CON ? ZCOAP_EV_OUT_CON_SENT : ZCOAP_EV_OUT_NON_SENT);
}

static void con_get(fx_t *f, sent_req_t *out)
{
    request(f, ZCOAP_TYPE_CON, ZCOAP_GET, NULL, 0, out);
}

/* Piggybacked 2.05 "ok" answering @p r. */
static void peer_piggyback(fx_t *f, const sent_req_t *r)
{
    peer_msg(f, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, r->mid, r->token, r->token_len, NULL, "ok");
}

static void expect_payload(const zcoap_msg_t *m, const char *want)
{
    assert_zcoap_bytes(m->payload, m->payload_len, (const uint8_t *)want, strlen(want));
}

/* ======================================================================================== */
/* Transmission parameters (RFC 7252 §4.8)                                                   */
/* ======================================================================================== */

static void defaults_and_derived_lifetimes(void **state)
{
    fx_t *f = *state;
    zcoap_ep_config_t c;
    zcoap_ep_config_default(&c, &f->store);
    assert_int_equal(c.tx.ack_timeout_ms, 2000);
    assert_int_equal(c.tx.ack_random_factor_permil, 1500);
    assert_int_equal(c.tx.max_retransmit, 4);
    assert_int_equal(c.tx.max_latency_ms, 100000);
    assert_int_equal(c.token_len, 8);
    assert_true(c.auto_ack_ms > 0 && c.auto_ack_ms < c.tx.ack_timeout_ms);
    assert_int_equal(c.msg_cap, ZCOAP_MAX_MSG_SIZE);
    assert_ptr_equal(c.req_buf, f->store.req);
    assert_ptr_equal(c.resp_store, f->store.resp);
    assert_int_equal(c.resp_slots, ZCOAP_EP_DEFAULT_RESP_SLOTS);
    assert_ptr_equal(c.dedup, f->store.dedup);
    assert_int_equal(c.dedup_cap, ZCOAP_EP_DEFAULT_DEDUP);
    assert_null(c.rng);
    assert_int_equal(zcoap_tx_max_transmit_span_ms(&c.tx), 45000);
    assert_int_equal(zcoap_tx_max_transmit_wait_ms(&c.tx), 93000);
    assert_int_equal(zcoap_tx_exchange_lifetime_ms(&c.tx), 247000);
    assert_int_equal(zcoap_tx_non_lifetime_ms(&c.tx), 145000);
}

static void custom_derived_lifetimes(void **state)
{
    (void)state;
    /* ACK_TIMEOUT 1 s, factor 2, MAX_RETRANSMIT 2, MAX_LATENCY 50 s:
     * span = 1000 * 3 * 2, wait = 1000 * 7 * 2, lifetime = span + 2 * 50000 + 1000 */
    zcoap_tx_params_t p = {1000, 2000, 2, 50000};
    assert_int_equal(zcoap_tx_max_transmit_span_ms(&p), 6000);
    assert_int_equal(zcoap_tx_max_transmit_wait_ms(&p), 14000);
    assert_int_equal(zcoap_tx_exchange_lifetime_ms(&p), 107000);
    assert_int_equal(zcoap_tx_non_lifetime_ms(&p), 56000);
    /* No retransmission at all: one timeout of ACK_TIMEOUT * factor. */
    zcoap_tx_params_t q = {3000, 1500, 0, 1000};
    assert_int_equal(zcoap_tx_max_transmit_span_ms(&q), 0);
    assert_int_equal(zcoap_tx_max_transmit_wait_ms(&q), 4500);
    assert_int_equal(zcoap_tx_exchange_lifetime_ms(&q), 0 + 2000 + 3000);
    assert_int_equal(zcoap_tx_non_lifetime_ms(&q), 1000);
}

/* ======================================================================================== */
/* CON retransmission (RFC 7252 §4.2)                                                        */
/* ======================================================================================== */

static void con_retransmission_exact_instants(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    assert_true(zcoap_ep_next_deadline(&f->ep) == ZCOAP_NEVER);
    assert_true(zcoap_ep_is_idle(&f->ep));
    sent_req_t r;
    con_get(f, &r);
    assert_false(zcoap_ep_is_idle(&f->ep));
    /* The deadline is the first retransmission. */
    assert_int_equal(zcoap_ep_next_deadline(&f->ep), T0 + 2000);
    run_to(f, T0 + 1999);
    expect_nothing_sent(f);
    /* ACK_TIMEOUT, then doubled: 2 s, 4 s, 8 s, 16 s; each retransmission byte-identical. */
    const uint64_t at[] = {T0 + 2000, T0 + 6000, T0 + 14000, T0 + 30000};
    for (size_t i = 0; i < ARRAY_LEN(at); i++) {
        run_to(f, at[i]);
        expect_sent_bytes(f, at[i], r.bytes, r.len);
        expect_no_events(f);
        uint64_t next = i + 1 < ARRAY_LEN(at) ? at[i + 1] : T0 + 62000;
        assert_int_equal(zcoap_ep_next_deadline(&f->ep), next);
    }
    /* After the last retransmission, one more (doubled) timeout, then the exchange fails. */
    run_to(f, T0 + 61999);
    expect_no_events(f);
    run_to(f, T0 + 62000);
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OUT_TIMEOUT);
    assert_int_equal(ev->at, T0 + 62000);
    assert_true(62000 <= zcoap_tx_max_transmit_wait_ms(&f->cfg.tx));
    run_to(f, T0 + 1000000);
    expect_nothing_sent(f);
    expect_no_events(f);
    assert_true(zcoap_ep_next_deadline(&f->ep) == ZCOAP_NEVER);
    assert_true(zcoap_ep_is_idle(&f->ep));
    /* The path is free again. */
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_ep_request_begin(&f->ep, ZCOAP_TYPE_CON, ZCOAP_GET, &b));
}

/* The first timeout is uniform in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR], every later one
 * doubles it, there are exactly MAX_RETRANSMIT retransmissions, and the timeout event comes at
 * 31 x the first timeout, never after MAX_TRANSMIT_WAIT. */
static void con_first_timeout_random_within_bounds(void **state)
{
    fx_t *f = *state;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        test_rng_seed(&f->rng, seed * 7919);
        start(f);
        f->inbox_pos = f->log_pos = 0;
        sent_req_t r;
        con_get(f, &r);
        uint64_t first = zcoap_ep_next_deadline(&f->ep) - T0;
        assert_in_range(first, 2000, 3000);
        lo = first < lo ? first : lo;
        hi = first > hi ? first : hi;
        uint64_t t = T0, timeout = first;
        for (int i = 0; i < 4; i++) {
            t += timeout;
            run_to(f, t);
            expect_sent_bytes(f, t, r.bytes, r.len);
            timeout *= 2;
        }
        t += timeout;
        run_to(f, t - 1);
        expect_no_events(f);
        run_to(f, t);
        expect_events(f, ZCOAP_EV_OUT_TIMEOUT);
        assert_true(t - T0 == 31 * first);
        assert_true(t - T0 <= zcoap_tx_max_transmit_wait_ms(&f->cfg.tx));
        run_to(f, t + 200000);
        expect_nothing_sent(f);
        vnet_free(&f->net);
    }
    /* The random factor is really used. */
    assert_true(lo < 2250);
    assert_true(hi > 2750);
}

static void custom_tx_params(void **state)
{
    fx_t *f = *state;
    f->cfg.tx.ack_timeout_ms = 1000;
    f->cfg.tx.ack_random_factor_permil = 1000;
    f->cfg.tx.max_retransmit = 2;
    start(f);
    sent_req_t r;
    con_get(f, &r);
    run_to(f, T0 + 999);
    expect_nothing_sent(f);
    run_to(f, T0 + 1000);
    expect_sent_bytes(f, T0 + 1000, r.bytes, r.len);
    run_to(f, T0 + 3000);
    expect_sent_bytes(f, T0 + 3000, r.bytes, r.len);
    run_to(f, T0 + 6999);
    expect_no_events(f);
    run_to(f, T0 + 7000);
    expect_events(f, ZCOAP_EV_OUT_TIMEOUT);
    assert_int_equal(zcoap_tx_max_transmit_wait_ms(&f->cfg.tx), 7000);
    run_to(f, T0 + 100000);
    expect_nothing_sent(f);
}

static void no_retransmission_when_max_retransmit_is_zero(void **state)
{
    fx_t *f = *state;
    f->cfg.tx.ack_timeout_ms = 1500;
    f->cfg.tx.ack_random_factor_permil = 1000;
    f->cfg.tx.max_retransmit = 0;
    start(f);
    sent_req_t r;
    con_get(f, &r);
    run_to(f, T0 + 1499);
    expect_no_events(f);
    run_to(f, T0 + 1500);
    expect_events(f, ZCOAP_EV_OUT_TIMEOUT);
    run_to(f, T0 + 100000);
    expect_nothing_sent(f);
}

/* ======================================================================================== */
/* Responses to our requests (RFC 7252 §5.2, §5.3.2)                                         */
/* ======================================================================================== */

static void piggybacked_response(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    run_to(f, T0 + 10);
    sent_req_t r;
    con_get(f, &r);
    run_to(f, T0 + 500);
    peer_piggyback(f, &r);
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    assert_true(ev->has_msg);
    assert_int_equal(ev->msg.type, ZCOAP_TYPE_ACK);
    assert_int_equal(ev->msg.code, ZCOAP_CONTENT);
    assert_int_equal(ev->msg.mid, r.mid);
    expect_payload(&ev->msg, "ok");
    expect_nothing_sent(f); /* an ACK is never acknowledged */
    run_to(f, T0 + 300000);
    expect_nothing_sent(f);
    expect_no_events(f);
    assert_true(zcoap_ep_is_idle(&f->ep));
}

static void empty_ack_then_separate_con_response(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    sent_req_t r;
    con_get(f, &r);
    run_to(f, T0 + 100);
    peer_empty(f, ZCOAP_TYPE_ACK, r.mid);
    expect_events(f, ZCOAP_EV_OUT_EMPTY_ACK);
    expect_nothing_sent(f);
    /* Acknowledged: no retransmission any more. */
    run_to(f, T0 + 40000);
    expect_nothing_sent(f);
    expect_no_events(f);
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x7001, r.token, r.token_len, NULL, "late");
    expect_sent_hex(f, T0 + 40000, "60 00 70 01"); /* our empty ACK of the separate response */
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    assert_int_equal(ev->msg.type, ZCOAP_TYPE_CON);
    assert_int_equal(ev->msg.mid, 0x7001);
    expect_payload(&ev->msg, "late");
    run_to(f, T0 + 500000);
    expect_nothing_sent(f);
    expect_no_events(f);
}

static void separate_non_response_after_empty_ack(void **state)
{
    fx_t *f = *state;
    start(f);
    sent_req_t r;
    con_get(f, &r);
    peer_empty(f, ZCOAP_TYPE_ACK, r.mid);
    expect_events(f, ZCOAP_EV_OUT_EMPTY_ACK);
    run_to(f, T0 + 1000);
    peer_msg(f, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x7011, r.token, r.token_len, NULL, "non");
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    expect_nothing_sent(f); /* a NON is not acknowledged */
}

/* The empty ACK was lost: the separate response comes first, and ends the exchange. */
static void separate_response_before_empty_ack(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    sent_req_t r;
    con_get(f, &r);
    run_to(f, T0 + 2000);
    expect_sent_bytes(f, T0 + 2000, r.bytes, r.len);
    run_to(f, T0 + 2500);
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x7002, r.token, r.token_len, NULL, "sep");
    expect_sent_hex(f, T0 + 2500, "60 00 70 02");
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    /* No more retransmissions of the request. */
    run_to(f, T0 + 100000);
    expect_nothing_sent(f);
    expect_no_events(f);
    /* The empty ACK arriving late matches nothing any more: ignored. */
    peer_empty(f, ZCOAP_TYPE_ACK, r.mid);
    expect_nothing_sent(f);
    expect_no_events(f);
}

static void response_timeout_after_empty_ack(void **state)
{
    fx_t *f = *state;
    start(f);
    sent_req_t r;
    request(f, ZCOAP_TYPE_CON, ZCOAP_GET, NULL, 5000, &r);
    run_to(f, T0 + 100);
    peer_empty(f, ZCOAP_TYPE_ACK, r.mid);
    expect_events(f, ZCOAP_EV_OUT_EMPTY_ACK);
    assert_int_equal(zcoap_ep_next_deadline(&f->ep), T0 + 5100);
    run_to(f, T0 + 5099);
    expect_no_events(f);
    run_to(f, T0 + 5100);
    expect_events(f, ZCOAP_EV_OUT_TIMEOUT);
    expect_nothing_sent(f);
    /* A response after the timeout matches nothing: RST (it is CON). */
    run_to(f, T0 + 6000);
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x7003, r.token, r.token_len, NULL, NULL);
    expect_sent_hex(f, T0 + 6000, "70 00 70 03");
    expect_events(f, ZCOAP_EV_UNHANDLED);
}

static void configured_response_timeout_is_the_default(void **state)
{
    fx_t *f = *state;
    f->cfg.response_timeout_ms = 7000;
    start(f);
    sent_req_t r;
    con_get(f, &r); /* 0: the configured default */
    peer_empty(f, ZCOAP_TYPE_ACK, r.mid);
    expect_events(f, ZCOAP_EV_OUT_EMPTY_ACK);
    run_to(f, T0 + 6999);
    expect_no_events(f);
    run_to(f, T0 + 7000);
    expect_events(f, ZCOAP_EV_OUT_TIMEOUT);
}

static void ack_with_wrong_token_is_not_the_response(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    sent_req_t r;
    con_get(f, &r);
    uint8_t wrong[8];
    memcpy(wrong, r.token, r.token_len);
    wrong[0] ^= 0xff;
    run_to(f, T0 + 300);
    peer_msg(f, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, r.mid, wrong, r.token_len, NULL, "bad");
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OUT_WRONG_TOKEN);
    assert_true(ev->has_msg);
    assert_int_equal(ev->msg.token_len, r.token_len);
    assert_memory_equal(ev->msg.token, wrong, r.token_len);
    expect_nothing_sent(f);
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_OUT_RESPONSE), 0);
    /* The real response may still come, separately. */
    run_to(f, T0 + 1000);
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x7004, r.token, r.token_len, NULL, "good");
    expect_sent_hex(f, T0 + 1000, "60 00 70 04");
    ev = expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    expect_payload(&ev->msg, "good");
}

static void duplicate_con_response_is_acked_again_and_reported_once(void **state)
{
    fx_t *f = *state;
    start(f);
    sent_req_t r;
    con_get(f, &r);
    peer_empty(f, ZCOAP_TYPE_ACK, r.mid);
    expect_events(f, ZCOAP_EV_OUT_EMPTY_ACK);
    run_to(f, T0 + 1000);
    uint8_t resp[64];
    size_t len = build_msg(resp, sizeof(resp), ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x7005, r.token,
                           r.token_len, NULL, "once");
    peer_bytes(f, resp, len);
    expect_sent_hex(f, T0 + 1000, "60 00 70 05");
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    /* Our ACK was lost, so the peer retransmits: ACK again, report as a duplicate only. */
    run_to(f, T0 + 3000);
    peer_bytes(f, resp, len);
    expect_sent_hex(f, T0 + 3000, "60 00 70 05");
    expect_events(f, ZCOAP_EV_OUT_DUPLICATE_RESPONSE);
    run_to(f, T0 + 7000);
    peer_bytes(f, resp, len);
    expect_sent_hex(f, T0 + 7000, "60 00 70 05");
    expect_events(f, ZCOAP_EV_OUT_DUPLICATE_RESPONSE);
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_OUT_RESPONSE), 1);
}

static void rst_to_our_con_request(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    sent_req_t r;
    con_get(f, &r);
    run_to(f, T0 + 700);
    peer_empty(f, ZCOAP_TYPE_RST, r.mid);
    expect_events(f, ZCOAP_EV_OUT_RESET);
    expect_nothing_sent(f); /* never RST a RST */
    run_to(f, T0 + 100000);
    expect_nothing_sent(f);
    expect_no_events(f);
    assert_true(zcoap_ep_is_idle(&f->ep));
}

static void non_request_and_non_response(void **state)
{
    fx_t *f = *state;
    start(f);
    sent_req_t r;
    request(f, ZCOAP_TYPE_NON, ZCOAP_POST, "data", 0, &r);
    assert_int_equal(r.bytes[0] >> 4, 0x5); /* version 1, NON */
    run_to(f, T0 + 3000);
    expect_nothing_sent(f); /* NON is never retransmitted */
    peer_msg(f, ZCOAP_TYPE_NON, ZCOAP_CHANGED, 0x7006, r.token, r.token_len, NULL, "done");
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    assert_int_equal(ev->msg.code, ZCOAP_CHANGED);
    expect_payload(&ev->msg, "done");
    expect_nothing_sent(f);
    run_to(f, T0 + 300000);
    expect_nothing_sent(f);
    expect_no_events(f);
}

static void non_request_timeout(void **state)
{
    fx_t *f = *state;
    start(f);
    sent_req_t r;
    request(f, ZCOAP_TYPE_NON, ZCOAP_GET, NULL, 5000, &r);
    assert_int_equal(zcoap_ep_next_deadline(&f->ep), T0 + 5000);
    run_to(f, T0 + 4999);
    expect_no_events(f);
    run_to(f, T0 + 5000);
    expect_events(f, ZCOAP_EV_OUT_TIMEOUT);
    run_to(f, T0 + 300000);
    expect_nothing_sent(f);
    expect_no_events(f);
}

static void ping_and_pong(void **state)
{
    fx_t *f = *state;
    start(f);
    assert_zcoap_ok(zcoap_ep_ping(&f->ep, now(f)));
    vnet_pump(&f->net);
    const vnet_dgram_t *d = next_sent(f, T0);
    assert_int_equal(d->len, 4);
    uint16_t mid = (uint16_t)(d->data[2] << 8 | d->data[3]);
    expect_events(f, ZCOAP_EV_OUT_PING_SENT);
    uint8_t want[4];
    assert_zcoap_len(zcoap_build_empty(want, 4, ZCOAP_TYPE_CON, mid), 4);
    assert_zcoap_bytes(d->data, d->len, want, 4); /* 40 00 MID: an Empty CON */
    run_to(f, T0 + 10);
    peer_empty(f, ZCOAP_TYPE_RST, mid);
    expect_events(f, ZCOAP_EV_OUT_PONG);
    expect_nothing_sent(f);
    run_to(f, T0 + 300000);
    expect_nothing_sent(f);
}

static void ping_unanswered_times_out_like_a_con(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    assert_zcoap_ok(zcoap_ep_ping(&f->ep, now(f)));
    vnet_pump(&f->net);
    const vnet_dgram_t *d = next_sent(f, T0);
    uint8_t first[4];
    memcpy(first, d->data, 4);
    expect_events(f, ZCOAP_EV_OUT_PING_SENT);
    const uint64_t at[] = {T0 + 2000, T0 + 6000, T0 + 14000, T0 + 30000};
    for (size_t i = 0; i < ARRAY_LEN(at); i++) {
        run_to(f, at[i]);
        expect_sent_bytes(f, at[i], first, 4);
    }
    run_to(f, T0 + 62000);
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OUT_TIMEOUT);
    assert_int_equal(ev->at, T0 + 62000);
}

static void nstart_one(void **state)
{
    fx_t *f = *state;
    start(f);
    sent_req_t r;
    con_get(f, &r);
    zcoap_builder_t b;
    assert_zcoap_err(zcoap_ep_request_begin(&f->ep, ZCOAP_TYPE_CON, ZCOAP_GET, &b), ZCOAP_EBUSY);
    assert_zcoap_err(zcoap_ep_request_begin(&f->ep, ZCOAP_TYPE_NON, ZCOAP_GET, &b), ZCOAP_EBUSY);
    assert_zcoap_err(zcoap_ep_ping(&f->ep, now(f)), ZCOAP_EBUSY);
    assert_zcoap_err(
        zcoap_ep_request_uri(&f->ep, ZCOAP_TYPE_CON, ZCOAP_GET, "coap://[::1]/x", NULL, 0, now(f)),
        ZCOAP_EBUSY);
    vnet_pump(&f->net);
    expect_nothing_sent(f); /* the refused requests sent nothing */
    peer_piggyback(f, &r);
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    sent_req_t r2;
    con_get(f, &r2);
}

static void token_lengths_0_to_8(void **state)
{
    fx_t *f = *state;
    for (uint8_t tkl = 0; tkl <= 8; tkl++) {
        f->cfg.token_len = tkl;
        start(f);
        f->inbox_pos = f->log_pos = 0;
        sent_req_t a, b;
        con_get(f, &a); /* checks the token length on the wire */
        peer_piggyback(f, &a);
        expect_events(f, ZCOAP_EV_OUT_RESPONSE);
        con_get(f, &b);
        if (tkl >= 4) /* random tokens: a repeat of 4+ bytes would be a 2^-32 accident */
            assert_memory_not_equal(a.token, b.token, tkl);
        vnet_free(&f->net);
    }
}

static void message_ids_increase_by_one(void **state)
{
    fx_t *f = *state;
    start(f);
    sent_req_t r[4];
    for (int i = 0; i < 4; i++) {
        if (i == 2) {
            request(f, ZCOAP_TYPE_NON, ZCOAP_GET, NULL, 0, &r[i]);
            peer_msg(f, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x6000, r[i].token, r[i].token_len, NULL,
                     NULL);
        } else {
            con_get(f, &r[i]);
            peer_piggyback(f, &r[i]);
        }
        expect_events(f, ZCOAP_EV_OUT_RESPONSE);
        if (i > 0)
            assert_int_equal(r[i].mid, (uint16_t)(r[i - 1].mid + 1));
    }
    /* Tokens of successive requests differ. */
    assert_memory_not_equal(r[0].token, r[1].token, 8);
    assert_memory_not_equal(r[1].token, r[3].token, 8);
}

static void first_message_id_is_random(void **state)
{
    fx_t *f = *state;
    uint16_t mids[8];
    bool all_same = true;
    for (int i = 0; i < 8; i++) {
        test_rng_seed(&f->rng, (uint64_t)i * 1000003u + 17u);
        start(f);
        f->inbox_pos = f->log_pos = 0;
        sent_req_t r;
        con_get(f, &r);
        mids[i] = r.mid;
        all_same = all_same && mids[i] == mids[0];
        vnet_free(&f->net);
    }
    assert_false(all_same);
}

static void request_uri_convenience(void **state)
{
    fx_t *f = *state;
    start(f);
    assert_zcoap_ok(zcoap_ep_request_uri(&f->ep, ZCOAP_TYPE_CON, ZCOAP_PUT, "coap://[::1]/a/b?x=1",
                                         "v", 1, now(f)));
    vnet_pump(&f->net);
    const vnet_dgram_t *d = next_sent(f, T0);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, ZCOAP_TYPE_CON);
    assert_int_equal(m.code, ZCOAP_PUT);
    assert_int_equal(m.token_len, 8);
    const expect_opt_t want[] = {EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"),
                                 EXPECT_STR(ZCOAP_OPT_URI_PATH, "b"),
                                 EXPECT_STR(ZCOAP_OPT_URI_QUERY, "x=1")};
    assert_msg_opts(&m, want, ARRAY_LEN(want));
    expect_payload(&m, "v");
    expect_events(f, ZCOAP_EV_OUT_CON_SENT);
    /* A bad URI is refused and leaves the path free. */
    zcoap_ep_reset(&f->ep, now(f));
    f->log_pos = f->net.node[EP].log_len;
    assert_true(
        zcoap_ep_request_uri(&f->ep, ZCOAP_TYPE_CON, ZCOAP_GET, "http://x/", NULL, 0, now(f)) < 0);
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_ep_request_begin(&f->ep, ZCOAP_TYPE_CON, ZCOAP_GET, &b));
}

static void cancel_abandons_the_request(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    sent_req_t r;
    con_get(f, &r);
    run_to(f, T0 + 100);
    assert_zcoap_ok(zcoap_ep_cancel(&f->ep));
    run_to(f, T0 + 100000);
    expect_nothing_sent(f); /* no retransmission */
    expect_no_events(f);    /* and no event for it */
    /* A late piggybacked response (an ACK) is ignored ... */
    peer_piggyback(f, &r);
    expect_nothing_sent(f);
    expect_no_events(f);
    /* ... and a late separate one is unhandled: RST. */
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x7007, r.token, r.token_len, NULL, NULL);
    expect_sent_hex(f, T0 + 100000, "70 00 70 07");
    expect_events(f, ZCOAP_EV_UNHANDLED);
    sent_req_t r2;
    con_get(f, &r2);
}

/* ======================================================================================== */
/* Requests from the peer                                                                    */
/* ======================================================================================== */

static const uint8_t ptok[4] = {0xc0, 0xc1, 0xc2, 0xc3};

/* CON GET /test, MID @p mid, token c0 c1 c2 c3. */
static void peer_con_get(fx_t *f, uint16_t mid)
{
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, mid, ptok, 4, "test", NULL);
}

/* Answer the pending request with 2.05 and @p payload. */
static void respond(fx_t *f, bool confirmable, const char *payload)
{
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_ep_response_begin(&f->ep, ZCOAP_CONTENT, confirmable, &b));
    if (payload)
        assert_zcoap_ok(zcoap_builder_set_payload(&b, payload, strlen(payload)));
    assert_zcoap_ok(zcoap_ep_response_send(&f->ep, &b, now(f)));
    vnet_pump(&f->net);
}

static void con_request_piggybacked_response(void **state)
{
    fx_t *f = *state;
    start(f);
    run_to(f, T0 + 50);
    peer_con_get(f, 0x1234);
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_IN_REQUEST);
    assert_true(ev->has_msg);
    assert_int_equal(ev->msg.type, ZCOAP_TYPE_CON);
    assert_int_equal(ev->msg.code, ZCOAP_GET);
    assert_int_equal(ev->msg.mid, 0x1234);
    const expect_opt_t want[] = {EXPECT_STR(ZCOAP_OPT_URI_PATH, "test")};
    assert_msg_opts(&ev->msg, want, 1);
    expect_nothing_sent(f);
    run_to(f, T0 + 60);
    respond(f, false, "hello");
    /* ACK, 2.05, the request's MID and token, the payload. */
    expect_sent_hex(f, T0 + 60, "64 45 12 34 c0 c1 c2 c3 ff 68 65 6c 6c 6f");
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    run_to(f, T0 + 300000);
    expect_nothing_sent(f);
    expect_no_events(f);
    /* Answered already. */
    zcoap_builder_t b;
    assert_zcoap_err(zcoap_ep_response_begin(&f->ep, ZCOAP_CONTENT, false, &b), ZCOAP_ESTATE);
}

static void auto_ack_then_separate_con_response(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    uint64_t t = T0 + 100;
    run_to(f, t);
    peer_con_get(f, 0x1234);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    uint32_t auto_ack = f->cfg.auto_ack_ms;
    assert_int_equal(zcoap_ep_next_deadline(&f->ep), t + auto_ack);
    run_to(f, t + auto_ack - 1);
    expect_nothing_sent(f);
    run_to(f, t + auto_ack);
    expect_sent_hex(f, t + auto_ack, "60 00 12 34");
    expect_events(f, ZCOAP_EV_IN_ACK_SENT);
    /* The application answers later: a separate CON response with a new MID. */
    run_to(f, t + 1000);
    respond(f, true, "slow");
    const vnet_dgram_t *d = next_sent(f, t + 1000);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, ZCOAP_TYPE_CON);
    uint16_t mid = m.mid;
    assert_int_not_equal(mid, 0x1234);
    uint8_t want[64];
    size_t len =
        build_msg(want, sizeof(want), ZCOAP_TYPE_CON, ZCOAP_CONTENT, mid, ptok, 4, NULL, "slow");
    assert_zcoap_bytes(d->data, d->len, want, len);
    expect_events(f, ZCOAP_EV_IN_CON_RESPONSE_SENT);
    assert_int_equal(zcoap_ep_next_deadline(&f->ep), t + 3000);
    run_to(f, t + 3000);
    expect_sent_bytes(f, t + 3000, want, len);
    run_to(f, t + 3500);
    peer_empty(f, ZCOAP_TYPE_ACK, mid);
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    run_to(f, t + 300000);
    expect_nothing_sent(f);
    expect_no_events(f);
}

/* Start a separate CON response to a CON request and return its MID. */
static uint16_t separate_con_response(fx_t *f, uint16_t req_mid, uint8_t *bytes, size_t *len)
{
    peer_con_get(f, req_mid);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    assert_zcoap_ok(zcoap_ep_respond_ack(&f->ep, now(f)));
    vnet_pump(&f->net);
    expect_sent_empty(f, now(f), ZCOAP_TYPE_ACK, req_mid);
    expect_events(f, ZCOAP_EV_IN_ACK_SENT);
    respond(f, true, "sep");
    const vnet_dgram_t *d = next_sent(f, now(f));
    memcpy(bytes, d->data, d->len);
    *len = d->len;
    expect_events(f, ZCOAP_EV_IN_CON_RESPONSE_SENT);
    zcoap_msg_t m;
    parse_ok(&m, bytes, *len);
    assert_int_equal(m.type, ZCOAP_TYPE_CON);
    return m.mid;
}

static void separate_con_response_times_out(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    uint8_t resp[64];
    size_t len;
    (void)separate_con_response(f, 0x1234, resp, &len);
    const uint64_t at[] = {T0 + 2000, T0 + 6000, T0 + 14000, T0 + 30000};
    for (size_t i = 0; i < ARRAY_LEN(at); i++) {
        run_to(f, at[i]);
        expect_sent_bytes(f, at[i], resp, len);
    }
    run_to(f, T0 + 61999);
    expect_no_events(f);
    run_to(f, T0 + 62000);
    expect_events(f, ZCOAP_EV_IN_TIMEOUT);
    run_to(f, T0 + 300000);
    expect_nothing_sent(f);
}

static void separate_con_response_reset(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    uint8_t resp[64];
    size_t len;
    uint16_t mid = separate_con_response(f, 0x1234, resp, &len);
    run_to(f, T0 + 100);
    peer_empty(f, ZCOAP_TYPE_RST, mid);
    expect_events(f, ZCOAP_EV_IN_RESET);
    expect_nothing_sent(f);
    run_to(f, T0 + 300000);
    expect_nothing_sent(f);
    expect_no_events(f);
}

static void separate_non_response_to_con_request(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_con_get(f, 0x1234);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    run_to(f, T0 + 1000);
    expect_sent_hex(f, T0 + f->cfg.auto_ack_ms, "60 00 12 34");
    expect_events(f, ZCOAP_EV_IN_ACK_SENT);
    respond(f, false, "n");
    const vnet_dgram_t *d = next_sent(f, T0 + 1000);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, ZCOAP_TYPE_NON);
    assert_int_not_equal(m.mid, 0x1234);
    uint8_t want[64];
    size_t len =
        build_msg(want, sizeof(want), ZCOAP_TYPE_NON, ZCOAP_CONTENT, m.mid, ptok, 4, NULL, "n");
    assert_zcoap_bytes(d->data, d->len, want, len);
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    run_to(f, T0 + 300000);
    expect_nothing_sent(f);
}

static void non_request_non_response(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_msg(f, ZCOAP_TYPE_NON, ZCOAP_GET, 0x1235, ptok, 4, "test", NULL);
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_IN_REQUEST);
    assert_int_equal(ev->msg.type, ZCOAP_TYPE_NON);
    run_to(f, T0 + 5000);
    expect_nothing_sent(f); /* a NON request is never acknowledged */
    respond(f, false, "x");
    const vnet_dgram_t *d = next_sent(f, T0 + 5000);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, ZCOAP_TYPE_NON);
    assert_int_not_equal(m.mid, 0x1235); /* a new MID */
    uint8_t want[64];
    size_t len =
        build_msg(want, sizeof(want), ZCOAP_TYPE_NON, ZCOAP_CONTENT, m.mid, ptok, 4, NULL, "x");
    assert_zcoap_bytes(d->data, d->len, want, len);
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
}

static void respond_with_rst(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_con_get(f, 0x1236);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    assert_zcoap_ok(zcoap_ep_respond_rst(&f->ep, now(f)));
    vnet_pump(&f->net);
    expect_sent_hex(f, T0, "70 00 12 36");
    expect_events(f, ZCOAP_EV_IN_RST_SENT);
    run_to(f, T0 + 10000);
    expect_nothing_sent(f);
    expect_no_events(f);
}

/* ---- de-duplication (RFC 7252 §4.5) -------------------------------------------------------- */

static void duplicate_con_request_gets_the_same_bytes(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_con_get(f, 0x1234);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    respond(f, false, "hello");
    const char *resp = "64 45 12 34 c0 c1 c2 c3 ff 68 65 6c 6c 6f";
    expect_sent_hex(f, T0, resp);
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    run_to(f, T0 + 3000);
    peer_con_get(f, 0x1234);
    expect_sent_hex(f, T0 + 3000, resp);
    expect_events(f, ZCOAP_EV_IN_DUPLICATE);
    /* Still a duplicate just before EXCHANGE_LIFETIME ends ... */
    uint64_t life = zcoap_tx_exchange_lifetime_ms(&f->cfg.tx);
    run_to(f, T0 + life - 1);
    peer_con_get(f, 0x1234);
    expect_sent_hex(f, T0 + life - 1, resp);
    expect_events(f, ZCOAP_EV_IN_DUPLICATE);
    /* ... and a new request once it is over. */
    run_to(f, T0 + life + 1);
    peer_con_get(f, 0x1234);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    expect_nothing_sent(f);
}

static void duplicates_during_a_separate_response(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    peer_con_get(f, 0x1234);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    run_to(f, T0 + 800);
    expect_sent_hex(f, T0 + f->cfg.auto_ack_ms, "60 00 12 34");
    expect_events(f, ZCOAP_EV_IN_ACK_SENT);
    /* The peer lost our empty ACK and retransmits: the empty ACK again, no new request. */
    peer_con_get(f, 0x1234);
    expect_sent_hex(f, T0 + 800, "60 00 12 34");
    expect_events(f, ZCOAP_EV_IN_DUPLICATE);
    run_to(f, T0 + 1000);
    respond(f, true, "sep");
    const vnet_dgram_t *d = next_sent(f, T0 + 1000);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    uint16_t mid = m.mid;
    expect_events(f, ZCOAP_EV_IN_CON_RESPONSE_SENT);
    run_to(f, T0 + 1500);
    peer_empty(f, ZCOAP_TYPE_ACK, mid);
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    /* A late duplicate of the request after all that: acknowledged, not delivered. */
    run_to(f, T0 + 1600);
    peer_con_get(f, 0x1234);
    d = next_sent(f, T0 + 1600);
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.mid, 0x1234);
    assert_int_equal(m.type, ZCOAP_TYPE_ACK);
    expect_events(f, ZCOAP_EV_IN_DUPLICATE);
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_IN_REQUEST), 1);
}

/* Answer CON GET MID @p mid (token = 4 bytes of mid) with payload "r<i>" and return the bytes. */
static size_t answer_pipelined(fx_t *f, uint16_t mid, int i, uint8_t *out)
{
    uint8_t tok[4] = {0xd0, 0xd1, (uint8_t)(mid >> 8), (uint8_t)mid};
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, mid, tok, 4, "p", NULL);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    char payload[8];
    snprintf(payload, sizeof(payload), "r%d", i);
    respond(f, false, payload);
    size_t len = build_msg(out, 64, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, mid, tok, 4, NULL, payload);
    expect_sent_bytes(f, now(f), out, len);
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    return len;
}

static void pipelined_duplicates_within_the_ring(void **state)
{
    fx_t *f = *state;
    f->cfg.resp_slots = 3;
    uint8_t *store = malloc(3 * f->cfg.msg_cap);
    assert_non_null(store);
    f->cfg.resp_store = store;
    start(f);
    uint8_t resp[3][64];
    size_t len[3];
    for (int i = 0; i < 3; i++) {
        run_to(f, T0 + 10u * (unsigned)i);
        len[i] = answer_pipelined(f, (uint16_t)(0x2001 + i), i, resp[i]);
    }
    /* Each duplicate, oldest first, gets its own stored response. */
    for (int i = 0; i < 3; i++) {
        run_to(f, T0 + 1000u + 10u * (unsigned)i);
        uint16_t mid = (uint16_t)(0x2001 + i);
        uint8_t tok[4] = {0xd0, 0xd1, (uint8_t)(mid >> 8), (uint8_t)mid};
        peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, mid, tok, 4, "p", NULL);
        expect_sent_bytes(f, now(f), resp[i], len[i]);
        expect_events(f, ZCOAP_EV_IN_DUPLICATE);
    }
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_IN_REQUEST), 3);
    vnet_free(&f->net);
    free(store);
}

/* More requests than stored responses but within the ring of IDs: still never delivered twice. */
static void duplicates_beyond_the_stored_responses(void **state)
{
    fx_t *f = *state;
    start(f); /* default: 2 responses kept, 8 IDs remembered */
    uint8_t resp[6][64];
    size_t len[6];
    for (int i = 0; i < 6; i++)
        len[i] = answer_pipelined(f, (uint16_t)(0x3001 + i), i, resp[i]);
    run_to(f, T0 + 1000);
    for (int i = 0; i < 6; i++) {
        uint16_t mid = (uint16_t)(0x3001 + i);
        uint8_t tok[4] = {0xd0, 0xd1, (uint8_t)(mid >> 8), (uint8_t)mid};
        peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, mid, tok, 4, "p", NULL);
        expect_events(f, ZCOAP_EV_IN_DUPLICATE);
        if (i >= 4) {
            /* The last two responses are kept: the same bytes again. */
            expect_sent_bytes(f, now(f), resp[i], len[i]);
        } else if (f->inbox_pos < f->net.node[PEER].inbox_len) {
            /* Older ones: at most an acknowledgement of that message. */
            const vnet_dgram_t *d = next_sent(f, now(f));
            zcoap_msg_t m;
            parse_ok(&m, d->data, d->len);
            assert_int_equal(m.type, ZCOAP_TYPE_ACK);
            assert_int_equal(m.mid, mid);
        }
        expect_nothing_sent(f);
    }
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_IN_REQUEST), 6);
}

static void duplicate_non_request_processed_once(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_msg(f, ZCOAP_TYPE_NON, ZCOAP_POST, 0x1240, ptok, 4, "test", "1");
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    respond(f, false, "x");
    (void)next_sent(f, T0);
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    run_to(f, T0 + 1000);
    peer_msg(f, ZCOAP_TYPE_NON, ZCOAP_POST, 0x1240, ptok, 4, "test", "1");
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_IN_REQUEST), 1);
    f->log_pos = f->net.node[EP].log_len;
    f->inbox_pos = f->net.node[PEER].inbox_len;
    /* After NON_LIFETIME the ID may be reused by a new request. */
    run_to(f, T0 + zcoap_tx_non_lifetime_ms(&f->cfg.tx) + 1);
    peer_msg(f, ZCOAP_TYPE_NON, ZCOAP_POST, 0x1240, ptok, 4, "test", "2");
    expect_events(f, ZCOAP_EV_IN_REQUEST);
}

/* ---- automatic answers (RFC 7252 §4.2, §4.3) ----------------------------------------------- */

static void ping_is_answered_with_rst(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_hex(f, "40 00 ab cd");
    expect_sent_hex(f, T0, "70 00 ab cd");
    expect_events(f, ZCOAP_EV_PING_ANSWERED);
    /* Also while both paths are busy. */
    sent_req_t r;
    con_get(f, &r);
    peer_con_get(f, 0x1234);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    peer_hex(f, "40 00 ab ce");
    expect_sent_hex(f, T0, "70 00 ab ce");
    expect_events(f, ZCOAP_EV_PING_ANSWERED);
}

static void unmatched_responses_get_rst(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_hex(f, "42 45 ab ce 01 02"); /* CON 2.05, token 01 02, no request out */
    expect_sent_hex(f, T0, "70 00 ab ce");
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_UNHANDLED);
    assert_true(ev->has_msg);
    assert_int_equal(ev->msg.mid, 0xabce);
    peer_hex(f, "52 45 ab cf 01 02"); /* NON 2.05 */
    expect_sent_hex(f, T0, "70 00 ab cf");
    expect_events(f, ZCOAP_EV_UNHANDLED);
    /* With a request out, a response with another token is unmatched too. */
    sent_req_t r;
    con_get(f, &r);
    uint8_t other[8];
    memcpy(other, r.token, 8);
    other[7] ^= 0x01;
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x7008, other, 8, NULL, NULL);
    expect_sent_hex(f, T0, "70 00 70 08");
    expect_events(f, ZCOAP_EV_UNHANDLED);
    /* ... and did not end our exchange. */
    peer_piggyback(f, &r);
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
}

static void ack_and_rst_matching_nothing_are_ignored(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_hex(f, "60 00 ab d0");    /* empty ACK */
    peer_hex(f, "61 45 ab d1 01"); /* piggybacked 2.05 */
    peer_hex(f, "70 00 ab d2");    /* RST: never answered with RST */
    sent_req_t r;
    con_get(f, &r);
    peer_empty(f, ZCOAP_TYPE_ACK, (uint16_t)(r.mid + 1)); /* another MID */
    peer_empty(f, ZCOAP_TYPE_RST, (uint16_t)(r.mid - 1));
    expect_nothing_sent(f);
    expect_no_events(f);
    /* Our exchange goes on. */
    peer_piggyback(f, &r);
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
}

/* Each: the datagram, the answer expected (NULL: silence), the parse error. */
static const struct malformed_case {
    const char *in;
    const char *rst;
    int err;
} malformed[] = {
    /* CON: answered with RST */
    {"40 01 ab 01 ff", "70 00 ab 01", ZCOAP_EMSG_PAYLOAD_EMPTY},
    {"49 01 ab 02 00 00 00 00 00 00 00 00 00", "70 00 ab 02", ZCOAP_EMSG_TOKEN_LEN},
    {"44 01 ab 03 01 02", "70 00 ab 03", ZCOAP_EMSG_TOKEN_TRUNC},
    {"40 01 ab 04 f0", "70 00 ab 04", ZCOAP_EMSG_OPT_NIBBLE},
    {"40 01 ab 05 b4 61", "70 00 ab 05", ZCOAP_EMSG_OPT_VALUE_TRUNC},
    {"41 00 ab 06 01", "70 00 ab 06", ZCOAP_EMSG_EMPTY_NOT_EMPTY},
    {"40 e1 ab 07", "70 00 ab 07", ZCOAP_EMSG_CODE_CLASS},
    /* NON, ACK, RST: silence */
    {"50 01 ab 11 ff", NULL, ZCOAP_EMSG_PAYLOAD_EMPTY},
    {"5f 01 ab 12", NULL, ZCOAP_EMSG_TOKEN_LEN},
    {"60 45 ab 13 ff", NULL, ZCOAP_EMSG_PAYLOAD_EMPTY},
    {"61 00 ab 14 01", NULL, ZCOAP_EMSG_EMPTY_NOT_EMPTY},
    {"71 00 ab 15 01", NULL, ZCOAP_EMSG_EMPTY_NOT_EMPTY},
    {"70 00 ab 16 ff 01", NULL, ZCOAP_EMSG_EMPTY_NOT_EMPTY},
};

static void malformed_messages(void **state)
{
    fx_t *f = *state;
    start(f);
    for (size_t i = 0; i < ARRAY_LEN(malformed); i++) {
        run_to(f, T0 + 10 * i);
        peer_hex(f, malformed[i].in);
        if (malformed[i].rst) {
            expect_sent_hex(f, now(f), malformed[i].rst);
        } else {
            expect_nothing_sent(f);
        }
        const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_FORMAT_ERROR);
        if (ev->err != malformed[i].err) {
            print_error("case %zu (%s): err %s, expected %s\n", i, malformed[i].in,
                        zcoap_err_name(ev->err), zcoap_err_name(malformed[i].err));
            fail();
        }
    }
}

static void rst_with_request_code_is_silent(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_hex(f, "70 01 ab 17"); /* RST must be Empty (RFC 7252 §4.3) */
    expect_nothing_sent(f);
    expect_events(f, ZCOAP_EV_FORMAT_ERROR);
    peer_hex(f, "60 01 ab 18"); /* a request code in an ACK */
    expect_nothing_sent(f);
    expect_events(f, ZCOAP_EV_FORMAT_ERROR);
}

static void non_empty_message_is_a_format_error(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_hex(f, "50 00 ab 20"); /* RFC 7252 §4.3: an Empty message is CON, ACK or RST */
    expect_nothing_sent(f);
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_FORMAT_ERROR);
    assert_true(ev->err < 0);
}

/* Version != 1 and datagrams too short for a header are dropped without a word. */
static void other_versions_and_short_datagrams_are_silent(void **state)
{
    fx_t *f = *state;
    start(f);
    const char *in[] = {
        "80 01 ab 30", "00 01 ab 31", "c0 00 ab 32", "a0 01 ab 33 ff", "40 01 ab", "40", ""};
    for (size_t i = 0; i < ARRAY_LEN(in); i++) {
        peer_hex(f, in[i]);
        expect_nothing_sent(f);
        /* At most a format error is reported. */
        const vnet_node_t *ep = &f->net.node[EP];
        for (size_t k = f->log_pos; k < ep->log_len; k++) {
            assert_int_equal(ep->log[k].kind, ZCOAP_EV_FORMAT_ERROR);
            assert_true(ep->log[k].err == ZCOAP_EMSG_VERSION || ep->log[k].err == ZCOAP_EMSG_SHORT);
        }
        f->log_pos = ep->log_len;
    }
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_IN_REQUEST), 0);
}

/* Option 65: odd (critical), unassigned. RFC 7252 §5.4.1: 4.02 Bad Option, piggybacked. */
static void unrecognized_critical_option_gets_4_02(void **state)
{
    fx_t *f = *state;
    start(f);
    /* CON GET, MID 0x1250, token c0..c3, option 65 (delta 13 + 52), empty value */
    peer_hex(f, "44 01 12 50 c0 c1 c2 c3 d0 34");
    const vnet_dgram_t *d = next_sent(f, T0);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, ZCOAP_TYPE_ACK);
    assert_int_equal(m.code, ZCOAP_BAD_OPTION);
    assert_int_equal(m.mid, 0x1250);
    assert_int_equal(m.token_len, 4);
    assert_memory_equal(m.token, ptok, 4);
    /* The diagnostic payload names the option. */
    assert_non_null(m.payload);
    char diag[256] = {0};
    memcpy(diag, m.payload, m.payload_len < 255 ? m.payload_len : 255);
    if (strstr(diag, "65") == NULL) {
        print_error("diagnostic payload \"%s\" does not name option 65\n", diag);
        fail();
    }
    expect_events(f, ZCOAP_EV_IN_REJECTED);
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_IN_REQUEST), 0);
    /* Its duplicate gets the same answer, still without the application. */
    uint8_t first[256];
    size_t first_len = d->len;
    memcpy(first, d->data, d->len);
    run_to(f, T0 + 2000);
    peer_hex(f, "44 01 12 50 c0 c1 c2 c3 d0 34");
    expect_sent_bytes(f, T0 + 2000, first, first_len);
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_IN_REQUEST), 0);
    f->log_pos = f->net.node[EP].log_len;
    /* An unrecognized elective option (66, even) is ignored: the request goes through. */
    peer_hex(f, "44 01 12 51 c0 c1 c2 c3 d0 35");
    expect_events(f, ZCOAP_EV_IN_REQUEST);
}

/* RFC 7252 §5.9.2.9 / §5.10.9: too large for the buffer -> 4.13 with Size1. */
static void request_too_large_gets_4_13_with_size1(void **state)
{
    fx_t *f = *state;
    f->cfg.msg_cap = 64;
    start(f);
    char payload[101];
    memset(payload, 'z', 100);
    payload[100] = '\0';
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_POST, 0x1260, ptok, 4, "big", payload);
    const vnet_dgram_t *d = next_sent(f, T0);
    assert_true(d->len <= 64);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, ZCOAP_TYPE_ACK);
    assert_int_equal(m.code, ZCOAP_REQUEST_ENTITY_TOO_LARGE);
    assert_int_equal(m.mid, 0x1260);
    assert_memory_equal(m.token, ptok, 4);
    uint32_t size1 = 0;
    assert_zcoap_ok(zcoap_msg_get_uint(&m, ZCOAP_OPT_SIZE1, &size1));
    assert_true(size1 > 0 && size1 <= 64);
    expect_events(f, ZCOAP_EV_IN_REJECTED);
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_IN_REQUEST), 0);
    /* A request that fits still works. */
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_POST, 0x1261, ptok, 4, "ok", "small");
    expect_events(f, ZCOAP_EV_IN_REQUEST);
}

static void request_while_incoming_path_busy_gets_rst(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_con_get(f, 0x1270);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    run_to(f, T0 + 100);
    peer_con_get(f, 0x1271); /* another request while the first is unanswered */
    expect_sent_hex(f, T0 + 100, "70 00 12 71");
    expect_events(f, ZCOAP_EV_UNHANDLED);
    peer_msg(f, ZCOAP_TYPE_NON, ZCOAP_GET, 0x1272, ptok, 4, "test", NULL);
    expect_sent_hex(f, T0 + 100, "70 00 12 72");
    expect_events(f, ZCOAP_EV_UNHANDLED);
    /* The first request is still ours to answer, piggybacked. */
    respond(f, false, "a");
    expect_sent_hex(f, T0 + 100, "64 45 12 70 c0 c1 c2 c3 ff 61");
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
}

/* ======================================================================================== */
/* Interplay and edge cases                                                                  */
/* ======================================================================================== */

/* An ACK is matched by message ID: the right token under another MID is not our response. */
static void ack_with_our_token_but_another_mid_is_ignored(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    sent_req_t r;
    con_get(f, &r);
    peer_msg(f, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, (uint16_t)(r.mid + 7), r.token, r.token_len, NULL,
             "no");
    expect_no_events(f);
    expect_nothing_sent(f);
    run_to(f, T0 + 2000); /* still unacknowledged: retransmitted */
    expect_sent_bytes(f, T0 + 2000, r.bytes, r.len);
    peer_piggyback(f, &r);
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
}

/* Message IDs are per direction (RFC 7252 §4.4): the peer may use the ID of our request. */
static void peer_request_with_the_mid_of_our_request(void **state)
{
    fx_t *f = *state;
    start(f);
    sent_req_t r;
    con_get(f, &r);
    peer_con_get(f, r.mid);
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_IN_REQUEST);
    assert_int_equal(ev->msg.mid, r.mid);
    respond(f, false, "in");
    uint8_t want[64];
    size_t len =
        build_msg(want, sizeof(want), ZCOAP_TYPE_ACK, ZCOAP_CONTENT, r.mid, ptok, 4, NULL, "in");
    expect_sent_bytes(f, T0, want, len);
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    peer_piggyback(f, &r);
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
}

/* Both paths busy at once: our request and our separate response take distinct, consecutive
 * IDs, and the peer's ACK of each ends the right exchange. */
static void both_paths_at_once(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    sent_req_t r;
    con_get(f, &r);
    uint8_t resp[64];
    size_t len;
    uint16_t mid = separate_con_response(f, 0x1234, resp, &len);
    assert_int_equal(mid, (uint16_t)(r.mid + 1));
    run_to(f, T0 + 100);
    peer_empty(f, ZCOAP_TYPE_ACK, mid); /* acknowledges our response, not our request */
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    run_to(f, T0 + 2000);
    expect_sent_bytes(f, T0 + 2000, r.bytes, r.len); /* the request is still unacknowledged */
    peer_piggyback(f, &r);
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    run_to(f, T0 + 300000);
    expect_nothing_sent(f);
    expect_no_events(f);
}

/* A duplicate of a CON request the application has not answered yet is not delivered again. */
static void duplicate_before_the_answer(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_con_get(f, 0x1234);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    run_to(f, T0 + 100);
    peer_con_get(f, 0x1234);
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_IN_REQUEST), 1);
    f->log_pos = f->net.node[EP].log_len;
    /* Whatever went out meanwhile can only be an empty ACK of that request. */
    bool acked = false;
    while (f->inbox_pos < f->net.node[PEER].inbox_len) {
        expect_sent_hex(f, T0 + 100, "60 00 12 34");
        acked = true;
    }
    run_to(f, T0 + 200);
    respond(f, true, "r");
    const vnet_dgram_t *d = next_sent(f, T0 + 200);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    /* Piggybacked unless the duplicate made the endpoint acknowledge already. */
    assert_int_equal(m.type, acked ? ZCOAP_TYPE_CON : ZCOAP_TYPE_ACK);
    expect_payload(&m, "r");
}

/* "confirmable" only matters for a separate response: before the ACK it is piggybacked. */
static void confirmable_response_before_the_ack_is_piggybacked(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_con_get(f, 0x1234);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    respond(f, true, "p");
    expect_sent_hex(f, T0, "64 45 12 34 c0 c1 c2 c3 ff 70");
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
}

static void non_request_cannot_be_acknowledged(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_msg(f, ZCOAP_TYPE_NON, ZCOAP_GET, 0x1235, ptok, 4, "test", NULL);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    assert_true(zcoap_ep_respond_ack(&f->ep, now(f)) < 0);
    vnet_pump(&f->net);
    expect_nothing_sent(f);
    expect_no_events(f);
    respond(f, false, "x"); /* still answerable */
    (void)next_sent(f, T0);
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
}

/* NON requests rejected by the endpoint get NON answers (RFC 7252 §5.2.3). */
static void non_request_rejections_are_non(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_hex(f, "54 01 12 52 c0 c1 c2 c3 d0 34"); /* NON GET with critical option 65 */
    const vnet_dgram_t *d = next_sent(f, T0);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, ZCOAP_TYPE_NON);
    assert_int_equal(m.code, ZCOAP_BAD_OPTION);
    assert_int_equal(m.token_len, 4);
    assert_memory_equal(m.token, ptok, 4);
    expect_events(f, ZCOAP_EV_IN_REJECTED);
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_IN_REQUEST), 0);
}

/* A request that fails to build leaves nothing in flight. */
static void failed_request_frees_the_path(void **state)
{
    fx_t *f = *state;
    f->cfg.msg_cap = 64;
    start(f);
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_ep_request_begin(&f->ep, ZCOAP_TYPE_CON, ZCOAP_POST, &b));
    uint8_t big[100] = {0};
    assert_zcoap_err(zcoap_builder_set_payload(&b, big, sizeof(big)), ZCOAP_ENOSPC);
    assert_zcoap_err(zcoap_ep_request_send(&f->ep, &b, 0, now(f)), ZCOAP_ENOSPC);
    vnet_pump(&f->net);
    expect_nothing_sent(f);
    expect_no_events(f);
    assert_true(zcoap_ep_next_deadline(&f->ep) == ZCOAP_NEVER);
    sent_req_t r;
    con_get(f, &r);
}

/* process() called late catches up: the timeout is reported at once, nothing stays overdue. */
static void late_process_catches_up(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    sent_req_t r;
    con_get(f, &r);
    uint64_t late = T0 + 100000;
    zcoap_event_t ev;
    bool timed_out = false;
    int guard = 0;
    while (zcoap_ep_process(&f->ep, late, &ev) == 1 && guard++ < 20)
        timed_out = timed_out || ev.kind == ZCOAP_EV_OUT_TIMEOUT;
    assert_true(timed_out);
    const uint8_t *p;
    while (zcoap_ep_next_datagram(&f->ep, late, &p) > 0 && guard++ < 40) {
    }
    assert_true(zcoap_ep_next_deadline(&f->ep) == ZCOAP_NEVER);
    assert_true(zcoap_ep_is_idle(&f->ep));
}

/* The message ID counter wraps around 0xffff (rng all ones: the first ID is 0xffff). */
static void message_id_wraps(void **state)
{
    fx_t *f = *state;
    static uint8_t ones = 0xff;
    f->cfg.rng = vnet_rng_const;
    f->cfg.rng_ctx = &ones;
    start(f);
    sent_req_t r[3];
    for (int i = 0; i < 3; i++) {
        con_get(f, &r[i]);
        peer_piggyback(f, &r[i]);
        expect_events(f, ZCOAP_EV_OUT_RESPONSE);
        if (i > 0)
            assert_int_equal(r[i].mid, (uint16_t)(r[i - 1].mid + 1));
    }
    assert_true(r[0].mid >= 0xfffe); /* so the wrap was crossed */
}

/* Answers the endpoint queues by itself (RST to pings) are all kept until pulled. */
static void control_queue_holds_its_capacity(void **state)
{
    fx_t *f = *state;
    start(f);
    for (uint16_t i = 0; i < ZCOAP_EP_CONTROL_QUEUE; i++) {
        uint8_t ping[4];
        assert_zcoap_len(zcoap_build_empty(ping, 4, ZCOAP_TYPE_CON, (uint16_t)(0x5000 + i)), 4);
        assert_zcoap_ok(zcoap_ep_receive(&f->ep, ping, 4, T0));
    }
    for (uint16_t i = 0; i < ZCOAP_EP_CONTROL_QUEUE; i++) {
        const uint8_t *p;
        assert_int_equal(zcoap_ep_next_datagram(&f->ep, T0, &p), 4);
        uint8_t want[4];
        assert_zcoap_len(zcoap_build_empty(want, 4, ZCOAP_TYPE_RST, (uint16_t)(0x5000 + i)), 4);
        assert_zcoap_bytes(p, 4, want, 4);
    }
    zcoap_event_t ev;
    size_t pings = 0;
    while (zcoap_ep_process(&f->ep, T0, &ev) == 1)
        pings += ev.kind == ZCOAP_EV_PING_ANSWERED;
    assert_int_equal(pings, ZCOAP_EP_CONTROL_QUEUE);
}

/* RFC 7252 §4.5: every copy of a CON message within EXCHANGE_LIFETIME is acknowledged. A client
 * usually starts its next request as soon as it has the response; the server, whose copy of our
 * ACK was lost, retransmits the separate response: it must get the ACK again, not a RST (which
 * would tell the server that we rejected a response we in fact took). */
static void duplicate_con_response_after_the_next_request_is_acked(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    sent_req_t r;
    con_get(f, &r);
    peer_empty(f, ZCOAP_TYPE_ACK, r.mid);
    expect_events(f, ZCOAP_EV_OUT_EMPTY_ACK);
    run_to(f, T0 + 1000);
    uint8_t resp[64];
    size_t len = build_msg(resp, sizeof(resp), ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x7009, r.token,
                           r.token_len, NULL, "one");
    peer_bytes(f, resp, len);
    expect_sent_hex(f, T0 + 1000, "60 00 70 09");
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    /* The application goes on with its next request at once. */
    sent_req_t r2;
    con_get(f, &r2);
    /* Our ACK was lost: the peer retransmits its CON response. */
    run_to(f, T0 + 3000);
    expect_sent_bytes(f, T0 + 3000, r2.bytes, r2.len); /* (our retransmission of r2) */
    peer_bytes(f, resp, len);
    expect_sent_hex(f, T0 + 3000, "60 00 70 09");
    expect_events(f, ZCOAP_EV_OUT_DUPLICATE_RESPONSE);
}

/* is_idle(): "no exchange is in flight in either direction and nothing is queued". The memory of
 * answered requests (de-duplication, EXCHANGE_LIFETIME) is not an exchange in flight. */
static void idle_after_answering_a_request(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_con_get(f, 0x1234);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    respond(f, false, "x");
    expect_sent_hex(f, T0, "64 45 12 34 c0 c1 c2 c3 ff 78");
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    assert_true(zcoap_ep_is_idle(&f->ep));
    /* The window still needs a timer; once it is over, nothing does. */
    run_to(f, T0 + zcoap_tx_exchange_lifetime_ms(&f->cfg.tx) + 1);
    assert_true(zcoap_ep_next_deadline(&f->ep) == ZCOAP_NEVER);
    assert_true(zcoap_ep_is_idle(&f->ep));
}

static void idle_after_a_separate_response(void **state)
{
    fx_t *f = *state;
    start(f);
    sent_req_t r;
    con_get(f, &r);
    peer_empty(f, ZCOAP_TYPE_ACK, r.mid);
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x700a, r.token, r.token_len, NULL, NULL);
    expect_sent_hex(f, T0, "60 00 70 0a");
    expect_events(f, ZCOAP_EV_OUT_EMPTY_ACK, ZCOAP_EV_OUT_RESPONSE);
    assert_true(zcoap_ep_is_idle(&f->ep));
}

/* RFC 7252 §4.3: a NON may be rejected with a RST of its message ID; the sender then knows that
 * no response will come (our own endpoint answers a NON request with RST when busy). */
static void rst_to_our_non_request(void **state)
{
    fx_t *f = *state;
    start(f);
    sent_req_t r;
    request(f, ZCOAP_TYPE_NON, ZCOAP_GET, NULL, 0, &r);
    run_to(f, T0 + 100);
    peer_empty(f, ZCOAP_TYPE_RST, r.mid);
    expect_events(f, ZCOAP_EV_OUT_RESET);
    expect_nothing_sent(f);
}

/* Long timeouts (ACK_TIMEOUT of 5000 s, MAX_RETRANSMIT 10, allowed by zcoap_ep_init) must not
 * overflow: the 10th retransmission waits 5000 s x 2^10, beyond 32 bits of milliseconds. */
static void long_timeouts_do_not_overflow(void **state)
{
    fx_t *f = *state;
    f->cfg.tx.ack_timeout_ms = 5000000u;
    f->cfg.tx.ack_random_factor_permil = 1000;
    f->cfg.tx.max_retransmit = 10;
    start(f);
    sent_req_t r;
    con_get(f, &r);
    uint64_t t = T0, timeout = 5000000u;
    for (int i = 0; i < 10; i++) {
        t += timeout;
        assert_int_equal(zcoap_ep_next_deadline(&f->ep), t);
        run_to(f, t);
        expect_sent_bytes(f, t, r.bytes, r.len);
        timeout *= 2;
    }
    t += timeout; /* 2047 x ACK_TIMEOUT after the first transmission */
    assert_int_equal(zcoap_ep_next_deadline(&f->ep), t);
    assert_int_equal(t - T0, zcoap_tx_max_transmit_wait_ms(&f->cfg.tx));
    run_to(f, t - 1);
    expect_no_events(f);
    run_to(f, t);
    expect_events(f, ZCOAP_EV_OUT_TIMEOUT);
}

/* The separate response of a slow server may be CON even for a NON request (§5.2.3 allows it):
 * it is acknowledged and taken. */
static void con_response_to_our_non_request(void **state)
{
    fx_t *f = *state;
    start(f);
    sent_req_t r;
    request(f, ZCOAP_TYPE_NON, ZCOAP_GET, NULL, 0, &r);
    run_to(f, T0 + 400);
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x700b, r.token, r.token_len, NULL, "c");
    expect_sent_hex(f, T0 + 400, "60 00 70 0b");
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
}

/* A NON request answered with a confirmable response, when the application asks for one. */
static void confirmable_response_to_a_non_request(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    peer_msg(f, ZCOAP_TYPE_NON, ZCOAP_GET, 0x1236, ptok, 4, "test", NULL);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    respond(f, true, "c");
    const vnet_dgram_t *d = next_sent(f, T0);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, ZCOAP_TYPE_CON);
    assert_int_not_equal(m.mid, 0x1236);
    uint8_t want[64];
    size_t len =
        build_msg(want, sizeof(want), ZCOAP_TYPE_CON, ZCOAP_CONTENT, m.mid, ptok, 4, NULL, "c");
    assert_zcoap_bytes(d->data, d->len, want, len);
    uint16_t mid = m.mid;
    expect_events(f, ZCOAP_EV_IN_CON_RESPONSE_SENT);
    run_to(f, T0 + 2000);
    expect_sent_bytes(f, T0 + 2000, want, len);
    peer_empty(f, ZCOAP_TYPE_ACK, mid);
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    run_to(f, T0 + 100000);
    expect_nothing_sent(f);
}

/* RFC 7252 §4.4: a message ID is not reused within EXCHANGE_LIFETIME, a reset notwithstanding. */
static void reset_does_not_reuse_message_ids(void **state)
{
    fx_t *f = *state;
    start(f);
    sent_req_t a, b;
    con_get(f, &a);
    zcoap_ep_reset(&f->ep, now(f));
    con_get(f, &b);
    assert_int_equal(b.mid, (uint16_t)(a.mid + 1));
}

/* The separate CON response's retransmissions must not overflow either (cf. the request's). */
static void long_response_timeouts_do_not_overflow(void **state)
{
    fx_t *f = *state;
    f->cfg.tx.ack_timeout_ms = 5000000u;
    f->cfg.tx.ack_random_factor_permil = 1000;
    f->cfg.tx.max_retransmit = 10;
    f->cfg.response_timeout_ms = 1000;
    start(f);
    uint8_t resp[64];
    size_t len;
    (void)separate_con_response(f, 0x1234, resp, &len);
    uint64_t t = T0, timeout = 5000000u;
    for (int i = 0; i < 10; i++) {
        t += timeout;
        assert_int_equal(zcoap_ep_next_deadline(&f->ep), t);
        run_to(f, t);
        expect_sent_bytes(f, t, resp, len);
        timeout *= 2;
    }
    t += timeout; /* (the request's de-duplication window ends before: no deadline check) */
    run_to(f, t - 1);
    expect_no_events(f);
    run_to(f, t);
    expect_events(f, ZCOAP_EV_IN_TIMEOUT);
}

static void every_event_has_a_distinct_name(void **state)
{
    (void)state;
    for (int a = ZCOAP_EV_NONE; a <= ZCOAP_EV_OUT_DUPLICATE_RESPONSE; a++) {
        const char *na = zcoap_event_name((zcoap_event_kind_t)a);
        assert_non_null(na);
        for (int b = a + 1; b <= ZCOAP_EV_OUT_DUPLICATE_RESPONSE; b++)
            assert_string_not_equal(na, zcoap_event_name((zcoap_event_kind_t)b));
    }
    for (int k = ZCOAP_EV_IN_REQUEST; k <= ZCOAP_EV_IN_RESET; k++)
        assert_int_equal(zcoap_event_channel((zcoap_event_kind_t)k), ZCOAP_CH_INCOMING);
    for (int k = ZCOAP_EV_OUT_CON_SENT; k <= ZCOAP_EV_OUT_DUPLICATE_RESPONSE; k++)
        assert_int_equal(zcoap_event_channel((zcoap_event_kind_t)k), ZCOAP_CH_OUTGOING);
}

/* A response begun before the automatic ACK and sent after it can no longer be piggybacked: it
 * goes out separate and confirmable, with a new message ID. */
static void response_begun_before_the_auto_ack_goes_separate(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    peer_con_get(f, 0x1234);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    run_to(f, T0 + 100);
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_ep_response_begin(&f->ep, ZCOAP_CONTENT, false, &b));
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "s", 1));
    run_to(f, T0 + f->cfg.auto_ack_ms + 100);
    expect_sent_hex(f, T0 + f->cfg.auto_ack_ms, "60 00 12 34");
    expect_events(f, ZCOAP_EV_IN_ACK_SENT);
    assert_zcoap_ok(zcoap_ep_response_send(&f->ep, &b, now(f)));
    vnet_pump(&f->net);
    const vnet_dgram_t *d = next_sent(f, now(f));
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_not_equal(m.mid, 0x1234);
    uint8_t want[64];
    size_t len =
        build_msg(want, sizeof(want), ZCOAP_TYPE_CON, ZCOAP_CONTENT, m.mid, ptok, 4, NULL, "s");
    assert_zcoap_bytes(d->data, d->len, want, len);
    expect_events(f, ZCOAP_EV_IN_CON_RESPONSE_SENT);
}

/* With a small buffer the diagnostic payload may not fit, but the 4.02 itself must go out:
 * otherwise the client retransmits into silence until it times out. */
static void bad_option_answered_even_when_the_diagnostic_does_not_fit(void **state)
{
    fx_t *f = *state;
    f->cfg.msg_cap = 32;
    start(f);
    /* CON GET, 8-byte token, critical option 65: 14 bytes, well within msg_cap */
    peer_hex(f, "48 01 12 53 a0 a1 a2 a3 a4 a5 a6 a7 d0 34");
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_IN_REQUEST), 0);
    const vnet_dgram_t *d = next_sent(f, T0);
    assert_true(d->len <= 32);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, ZCOAP_TYPE_ACK);
    assert_int_equal(m.code, ZCOAP_BAD_OPTION);
    assert_int_equal(m.mid, 0x1253);
    assert_int_equal(m.token_len, 8);
    expect_events(f, ZCOAP_EV_IN_REJECTED);
}

/* ---- reset, API errors --------------------------------------------------------------------- */

static void reset_forgets_everything(void **state)
{
    fx_t *f = *state;
    start(f);
    sent_req_t r;
    con_get(f, &r);
    peer_con_get(f, 0x1280);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    peer_hex(f, "40 00 ab cd"); /* a queued RST */
    zcoap_ep_reset(&f->ep, now(f));
    assert_true(zcoap_ep_is_idle(&f->ep));
    assert_true(zcoap_ep_next_deadline(&f->ep) == ZCOAP_NEVER);
    f->inbox_pos = f->net.node[PEER].inbox_len; /* the ping's RST went out before the reset */
    f->log_pos = f->net.node[EP].log_len;
    run_to(f, T0 + 400000);
    expect_nothing_sent(f);
    expect_no_events(f);
    zcoap_builder_t b;
    assert_zcoap_err(zcoap_ep_response_begin(&f->ep, ZCOAP_CONTENT, false, &b), ZCOAP_ESTATE);
    /* The endpoint works as before. */
    sent_req_t r2;
    con_get(f, &r2);
    peer_piggyback(f, &r2);
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
}

/* While events or datagrams wait, the deadline is 0: "call process now". */
static void deadline_is_zero_while_work_is_queued(void **state)
{
    fx_t *f = *state;
    start(f);
    uint8_t ping[4];
    assert_zcoap_len(zcoap_build_empty(ping, 4, ZCOAP_TYPE_CON, 0x4243), 4);
    assert_zcoap_ok(zcoap_ep_receive(&f->ep, ping, 4, T0));
    assert_int_equal(zcoap_ep_next_deadline(&f->ep), 0);
    assert_false(zcoap_ep_is_idle(&f->ep));
    zcoap_event_t ev;
    assert_int_equal(zcoap_ep_process(&f->ep, T0, &ev), 1);
    assert_int_equal(ev.kind, ZCOAP_EV_PING_ANSWERED);
    assert_int_equal(zcoap_ep_next_deadline(&f->ep), 0); /* the RST still waits */
    const uint8_t *p;
    assert_int_equal(zcoap_ep_next_datagram(&f->ep, T0, &p), 4);
    assert_true(zcoap_ep_next_deadline(&f->ep) == ZCOAP_NEVER); /* a ping leaves no state */
    assert_true(zcoap_ep_is_idle(&f->ep));
}

static void reset_drops_queued_events_and_datagrams(void **state)
{
    fx_t *f = *state;
    start(f);
    /* Receive without processing, then reset: the queued events and RST must vanish. */
    uint8_t ping[4];
    assert_zcoap_len(zcoap_build_empty(ping, 4, ZCOAP_TYPE_CON, 0x4242), 4);
    assert_zcoap_ok(zcoap_ep_receive(&f->ep, ping, 4, T0));
    zcoap_ep_reset(&f->ep, T0);
    zcoap_event_t ev;
    assert_int_equal(zcoap_ep_process(&f->ep, T0, &ev), 0);
    const uint8_t *p;
    assert_int_equal(zcoap_ep_next_datagram(&f->ep, T0, &p), 0);
}

static void api_errors(void **state)
{
    fx_t *f = *state;
    zcoap_ep_t ep;
    zcoap_ep_config_t c = f->cfg;
    assert_zcoap_err(zcoap_ep_init(NULL, &c, T0), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_ep_init(&ep, NULL, T0), ZCOAP_EINVAL);
    c.rng = NULL;
    assert_zcoap_err(zcoap_ep_init(&ep, &c, T0), ZCOAP_EINVAL);
    c = f->cfg;
    c.token_len = 9;
    assert_zcoap_err(zcoap_ep_init(&ep, &c, T0), ZCOAP_EINVAL);
    c = f->cfg;
    c.msg_cap = 15;
    assert_zcoap_err(zcoap_ep_init(&ep, &c, T0), ZCOAP_EINVAL);
    c = f->cfg;
    c.req_buf = NULL;
    assert_zcoap_err(zcoap_ep_init(&ep, &c, T0), ZCOAP_EINVAL);
    c = f->cfg;
    c.resp_store = NULL;
    assert_zcoap_err(zcoap_ep_init(&ep, &c, T0), ZCOAP_EINVAL);
    c = f->cfg;
    c.resp_slots = 0;
    assert_zcoap_err(zcoap_ep_init(&ep, &c, T0), ZCOAP_EINVAL);
    c = f->cfg;
    c.dedup = NULL;
    assert_zcoap_err(zcoap_ep_init(&ep, &c, T0), ZCOAP_EINVAL);
    c = f->cfg;
    c.dedup_cap = 0;
    assert_zcoap_err(zcoap_ep_init(&ep, &c, T0), ZCOAP_EINVAL);
    c = f->cfg;
    c.dedup_cap = 128;
    assert_zcoap_err(zcoap_ep_init(&ep, &c, T0), ZCOAP_EINVAL);
    c = f->cfg;
    c.tx.ack_random_factor_permil = 999;
    assert_zcoap_err(zcoap_ep_init(&ep, &c, T0), ZCOAP_EINVAL);
    c = f->cfg;
    c.tx.max_retransmit = 11;
    assert_zcoap_err(zcoap_ep_init(&ep, &c, T0), ZCOAP_EINVAL);

    start(f);
    zcoap_builder_t b;
    zcoap_event_t ev;
    const uint8_t *p;
    uint8_t d[4] = {0x40, 0, 0, 1};
    assert_zcoap_err(zcoap_ep_receive(NULL, d, 4, T0), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_ep_receive(&f->ep, NULL, 4, T0), ZCOAP_EINVAL);
    assert_int_equal(zcoap_ep_next_datagram(&f->ep, T0, NULL), ZCOAP_EINVAL);
    assert_int_equal(zcoap_ep_next_datagram(NULL, T0, &p), ZCOAP_EINVAL);
    assert_int_equal(zcoap_ep_process(&f->ep, T0, &ev), 0);
    assert_zcoap_err(zcoap_ep_request_begin(&f->ep, ZCOAP_TYPE_ACK, ZCOAP_GET, &b), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_ep_request_begin(&f->ep, ZCOAP_TYPE_RST, ZCOAP_GET, &b), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_ep_request_begin(&f->ep, ZCOAP_TYPE_CON, 0, &b), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_ep_request_begin(&f->ep, ZCOAP_TYPE_CON, ZCOAP_CONTENT, &b),
                     ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_ep_request_begin(&f->ep, ZCOAP_TYPE_CON, ZCOAP_GET, NULL), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_ep_request_begin(NULL, ZCOAP_TYPE_CON, ZCOAP_GET, &b), ZCOAP_EINVAL);
    memset(&b, 0, sizeof(b));
    assert_zcoap_err(zcoap_ep_request_send(&f->ep, &b, 0, T0), ZCOAP_ESTATE);
    assert_zcoap_err(zcoap_ep_response_begin(&f->ep, ZCOAP_CONTENT, false, &b), ZCOAP_ESTATE);
    assert_zcoap_err(zcoap_ep_response_send(&f->ep, &b, T0), ZCOAP_ESTATE);
    assert_zcoap_err(zcoap_ep_respond_ack(&f->ep, T0), ZCOAP_ESTATE);
    assert_zcoap_err(zcoap_ep_respond_rst(&f->ep, T0), ZCOAP_ESTATE);
    (void)zcoap_ep_cancel(&f->ep); /* nothing to cancel: harmless */
    vnet_pump(&f->net);
    expect_nothing_sent(f);
    expect_no_events(f);
    /* A request with a response code is refused too. */
    peer_con_get(f, 0x1290);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    assert_zcoap_err(zcoap_ep_response_begin(&f->ep, ZCOAP_GET, false, &b), ZCOAP_EINVAL);
    /* The random source failing refuses the request. */
    zcoap_ep_t ep2;
    zcoap_ep_storage_t *st = malloc(sizeof(*st));
    assert_non_null(st);
    zcoap_ep_config_default(&c, st);
    c.rng = vnet_rng_fail;
    int rc = zcoap_ep_init(&ep2, &c, T0);
    if (rc == ZCOAP_OK) {
        assert_true(zcoap_ep_request_begin(&ep2, ZCOAP_TYPE_CON, ZCOAP_GET, &b) < 0);
    } else {
        assert_true(rc < 0);
    }
    free(st);
}

static void event_names_and_channels(void **state)
{
    (void)state;
    assert_string_equal(zcoap_event_name(ZCOAP_EV_OUT_TIMEOUT), "OUT_TIMEOUT");
    assert_string_equal(zcoap_event_name(ZCOAP_EV_IN_REQUEST), "IN_REQUEST");
    assert_string_equal(zcoap_event_name(ZCOAP_EV_FORMAT_ERROR), "FORMAT_ERROR");
    assert_int_equal(zcoap_event_channel(ZCOAP_EV_FORMAT_ERROR), ZCOAP_CH_ENDPOINT);
    assert_int_equal(zcoap_event_channel(ZCOAP_EV_UNHANDLED), ZCOAP_CH_ENDPOINT);
    assert_int_equal(zcoap_event_channel(ZCOAP_EV_IN_RESET), ZCOAP_CH_INCOMING);
    assert_int_equal(zcoap_event_channel(ZCOAP_EV_IN_REQUEST), ZCOAP_CH_INCOMING);
    assert_int_equal(zcoap_event_channel(ZCOAP_EV_OUT_CON_SENT), ZCOAP_CH_OUTGOING);
    assert_int_equal(zcoap_event_channel(ZCOAP_EV_OUT_DUPLICATE_RESPONSE), ZCOAP_CH_OUTGOING);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(defaults_and_derived_lifetimes),
        T(custom_derived_lifetimes),
        T(con_retransmission_exact_instants),
        T(con_first_timeout_random_within_bounds),
        T(custom_tx_params),
        T(no_retransmission_when_max_retransmit_is_zero),
        T(piggybacked_response),
        T(empty_ack_then_separate_con_response),
        T(separate_non_response_after_empty_ack),
        T(separate_response_before_empty_ack),
        T(response_timeout_after_empty_ack),
        T(configured_response_timeout_is_the_default),
        T(ack_with_wrong_token_is_not_the_response),
        T(duplicate_con_response_is_acked_again_and_reported_once),
        T(rst_to_our_con_request),
        T(non_request_and_non_response),
        T(non_request_timeout),
        T(ping_and_pong),
        T(ping_unanswered_times_out_like_a_con),
        T(nstart_one),
        T(token_lengths_0_to_8),
        T(message_ids_increase_by_one),
        T(first_message_id_is_random),
        T(request_uri_convenience),
        T(cancel_abandons_the_request),
        T(con_request_piggybacked_response),
        T(auto_ack_then_separate_con_response),
        T(separate_con_response_times_out),
        T(separate_con_response_reset),
        T(separate_non_response_to_con_request),
        T(non_request_non_response),
        T(respond_with_rst),
        T(duplicate_con_request_gets_the_same_bytes),
        T(duplicates_during_a_separate_response),
        T(pipelined_duplicates_within_the_ring),
        T(duplicates_beyond_the_stored_responses),
        T(duplicate_non_request_processed_once),
        T(ping_is_answered_with_rst),
        T(unmatched_responses_get_rst),
        T(ack_and_rst_matching_nothing_are_ignored),
        T(malformed_messages),
        T(rst_with_request_code_is_silent),
        T(non_empty_message_is_a_format_error),
        T(other_versions_and_short_datagrams_are_silent),
        T(unrecognized_critical_option_gets_4_02),
        T(request_too_large_gets_4_13_with_size1),
        T(request_while_incoming_path_busy_gets_rst),
        T(ack_with_our_token_but_another_mid_is_ignored),
        T(peer_request_with_the_mid_of_our_request),
        T(both_paths_at_once),
        T(duplicate_before_the_answer),
        T(confirmable_response_before_the_ack_is_piggybacked),
        T(non_request_cannot_be_acknowledged),
        T(non_request_rejections_are_non),
        T(failed_request_frees_the_path),
        T(late_process_catches_up),
        T(message_id_wraps),
        T(control_queue_holds_its_capacity),
        T(duplicate_con_response_after_the_next_request_is_acked),
        T(idle_after_answering_a_request),
        T(idle_after_a_separate_response),
        T(rst_to_our_non_request),
        T(long_timeouts_do_not_overflow),
        T(con_response_to_our_non_request),
        T(confirmable_response_to_a_non_request),
        T(reset_does_not_reuse_message_ids),
        T(long_response_timeouts_do_not_overflow),
        T(every_event_has_a_distinct_name),
        T(response_begun_before_the_auto_ack_goes_separate),
        T(bad_option_answered_even_when_the_diagnostic_does_not_fit),
        T(reset_forgets_everything),
        T(deadline_is_zero_while_work_is_queued),
        T(reset_drops_queued_events_and_datagrams),
        T(api_errors),
        T(event_names_and_channels),
    };
    return cmocka_run_group_tests_name("endpoint_lockstep", tests, NULL, NULL);
}
