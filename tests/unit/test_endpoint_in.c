/* Lockstep tests of the endpoint's incoming path: requests from the peer and our responses to them
 * (piggybacked, separate CON or NON, RST), the automatic empty ACK (RFC 7252 §5.2.2), and the
 * de-duplication of the peer's requests (§4.5). The fixture and the lockstep method are in
 * tests/support/ep_lockstep.h. */

#include "zcoap_test.h"

#include <stdio.h>
#include <stdlib.h>

#include "ep_lockstep.h"

/* ======================================================================================== */
/* Requests from the peer and our responses (RFC 7252 §5.2)                                 */
/* ======================================================================================== */

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

/* A true duplicate repeats the request byte for byte. A shorter datagram with the same MID (here
 * a bare 4-byte CON) is forged: the stored answer is not replayed to it, which would send a large
 * answer to whatever source the forger wrote (RFC 7252 §11.3). */
static void shorter_duplicate_gets_no_replay(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_con_get(f, 0x1234);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    respond(f, false, "a long answer, many times the request's size");
    next_sent(f, T0);
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    peer_hex(f, "40 01 12 34");
    expect_nothing_sent(f);
    expect_events(f, ZCOAP_EV_IN_DUPLICATE);
    /* The real retransmission still gets it. */
    peer_con_get(f, 0x1234);
    const vnet_dgram_t *d = next_sent(f, T0);
    assert_true(d->len > 40);
    expect_events(f, ZCOAP_EV_IN_DUPLICATE);
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

/* More requests than stored responses but within the ring of IDs. The last two answers are
 * replayed byte for byte. An older GET's answer gave its slot away: being idempotent, it is
 * processed again (RFC 7252 §4.5 allows it) and answered afresh, rather than left unanswered. */
static void duplicates_beyond_the_stored_responses(void **state)
{
    fx_t *f = *state;
    start(f); /* default: 2 responses kept, 8 IDs remembered */
    uint8_t resp[6][64];
    size_t len[6];
    for (int i = 0; i < 6; i++)
        len[i] = answer_pipelined(f, (uint16_t)(0x3001 + i), i, resp[i]);
    run_to(f, T0 + 1000);
    for (int i = 5; i >= 4; i--) {
        uint16_t mid = (uint16_t)(0x3001 + i);
        uint8_t tok[4] = {0xd0, 0xd1, (uint8_t)(mid >> 8), (uint8_t)mid};
        peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, mid, tok, 4, "p", NULL);
        expect_events(f, ZCOAP_EV_IN_DUPLICATE);
        expect_sent_bytes(f, now(f), resp[i], len[i]);
    }
    uint8_t again[64];
    size_t again_len = answer_pipelined(f, 0x3001, 0, again);
    assert_int_equal(again_len, len[0]);
    assert_memory_equal(again, resp[0], len[0]);
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_IN_REQUEST), 7);
    /* Its answer is stored again: the next copy is a plain duplicate. */
    uint8_t tok[4] = {0xd0, 0xd1, 0x30, 0x01};
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, 0x3001, tok, 4, "p", NULL);
    expect_events(f, ZCOAP_EV_IN_DUPLICATE);
    expect_sent_bytes(f, now(f), resp[0], len[0]);
}

/* A POST whose stored answer gave its slot away is never run twice: its copy gets the empty ACK
 * (§4.5: acknowledge every copy), which at least ends the peer's retransmissions. */
static void lost_answer_of_a_post_is_acknowledged_not_rerun(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_POST, 0x3101, ptok, 4, "p", "x");
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    respond(f, false, "done");
    next_sent(f, now(f));
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    uint8_t resp[2][64];
    for (int i = 0; i < 2; i++)
        (void)answer_pipelined(f, (uint16_t)(0x3102 + i), i, resp[i]);
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_POST, 0x3101, ptok, 4, "p", "x");
    expect_sent_empty(f, now(f), ZCOAP_TYPE_ACK, 0x3101);
    expect_events(f, ZCOAP_EV_IN_DUPLICATE);
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_IN_REQUEST), 3);
}

/* With one response slot, a notification does not take the slot that the answer to a request
 * still awaiting the application needs (the endpoint once wrote that answer out of bounds). */
static void notification_leaves_the_awaited_answer_its_slot(void **state)
{
    fx_t *f = *state;
    f->cfg.resp_slots = 1;
    start(f);
    peer_con_get(f, 0x1234);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    zcoap_builder_t b;
    const uint8_t otok[2] = {0xee, 0x01};
    assert_zcoap_err(zcoap_ep_notify_begin(&f->ep, otok, 2, ZCOAP_CONTENT, true, 7, &b),
                     ZCOAP_EBUSY);
    respond(f, false, "hello");
    expect_sent_hex(f, T0, "64 45 12 34 c0 c1 c2 c3 ff 68 65 6c 6c 6f");
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    /* Answered: the notification may go now. */
    assert_zcoap_ok(zcoap_ep_notify_begin(&f->ep, otok, 2, ZCOAP_CONTENT, true, 7, &b));
    assert_zcoap_ok(zcoap_ep_notify_send(&f->ep, &b, now(f)));
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

/* ======================================================================================== */
/* The peer's next request while our separate CON response awaits its ACK (RFC 7252 §4.7)  */
/* ======================================================================================== */

/* The token of the peer's next request. */
static const uint8_t tok2[2] = {0xb0, 0xb1};

/* The peer took our separate response but its ACK was lost, and its next request comes: that
 * request is served at once while the CON response keeps its retransmission schedule. */
static void next_request_while_con_response_awaits_ack(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    uint8_t resp[64];
    size_t len;
    uint16_t mid = separate_con_response(f, 0x1234, resp, &len);
    run_to(f, T0 + 500);
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, 0x1235, tok2, 2, "next", NULL);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    assert_int_equal(zcoap_ep_request_type(&f->ep), ZCOAP_TYPE_CON);
    respond(f, false, "n");
    expect_sent_hex(f, T0 + 500, "62 45 12 35 b0 b1 ff 6e");
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    assert_false(zcoap_ep_is_idle(&f->ep));
    run_to(f, T0 + 2000);
    expect_sent_bytes(f, T0 + 2000, resp, len);
    peer_empty(f, ZCOAP_TYPE_ACK, mid);
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_IN_SUCCESS);
    assert_true(ev->has_msg);
    assert_int_equal(ev->msg.mid, mid);
    assert_true(zcoap_ep_is_idle(&f->ep));
    run_to(f, T0 + 300000);
    expect_nothing_sent(f);
    expect_no_events(f);
}

/* A second separate CON response waits until the first is acknowledged (NSTART = 1 for what we
 * originate), then goes out at once with the next message ID. Meanwhile the second request's
 * duplicates get the empty ACK again, and a third request finds the front busy: 5.03. */
static void second_con_response_waits_for_the_first(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    uint8_t resp[64];
    size_t len;
    uint16_t mid = separate_con_response(f, 0x1234, resp, &len);
    run_to(f, T0 + 500);
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, 0x1235, tok2, 2, "next", NULL);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    assert_zcoap_ok(zcoap_ep_respond_ack(&f->ep, now(f)));
    vnet_pump(&f->net);
    expect_sent_empty(f, T0 + 500, ZCOAP_TYPE_ACK, 0x1235);
    expect_events(f, ZCOAP_EV_IN_ACK_SENT);
    respond(f, true, "2");
    expect_nothing_sent(f);
    expect_no_events(f);
    assert_int_equal(zcoap_ep_request_type(&f->ep), -1);
    zcoap_builder_t b;
    assert_zcoap_err(zcoap_ep_response_begin(&f->ep, ZCOAP_CONTENT, false, &b), ZCOAP_ESTATE);

    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, 0x1235, tok2, 2, "next", NULL);
    expect_sent_empty(f, T0 + 500, ZCOAP_TYPE_ACK, 0x1235);
    expect_events(f, ZCOAP_EV_IN_DUPLICATE);
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, 0x1236, ptok, 4, "third", NULL);
    expect_sent_hex(f, T0 + 500, "64 a3 12 36 c0 c1 c2 c3 d1 01 02"); /* 5.03, Max-Age 2 */
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_IN_BUSY);
    assert_true(ev->has_msg);
    assert_int_equal(ev->msg.mid, 0x1236);

    run_to(f, T0 + 2000);
    expect_sent_bytes(f, T0 + 2000, resp, len);
    run_to(f, T0 + 2100);
    peer_empty(f, ZCOAP_TYPE_ACK, mid);
    expect_events(f, ZCOAP_EV_IN_SUCCESS, ZCOAP_EV_IN_CON_RESPONSE_SENT);
    uint8_t want[64];
    uint16_t mid2 = (uint16_t)(mid + 1u);
    size_t want_len =
        build_msg(want, sizeof(want), ZCOAP_TYPE_CON, ZCOAP_CONTENT, mid2, tok2, 2, NULL, "2");
    expect_sent_bytes(f, T0 + 2100, want, want_len);
    assert_int_equal(zcoap_ep_next_deadline(&f->ep), T0 + 4100);
    run_to(f, T0 + 4100);
    expect_sent_bytes(f, T0 + 4100, want, want_len);
    peer_empty(f, ZCOAP_TYPE_ACK, mid2);
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    assert_true(zcoap_ep_is_idle(&f->ep));
    /* The third request, retransmitted, is taken now: nothing was executed the first time. */
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, 0x1236, ptok, 4, "third", NULL);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    respond(f, false, "3");
    expect_sent_hex(f, T0 + 4100, "64 45 12 36 c0 c1 c2 c3 ff 33");
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
}

/* The queued response goes out when the first one gives up, at that instant. */
static void queued_con_response_starts_when_the_first_times_out(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    uint8_t resp[64];
    size_t len;
    uint16_t mid = separate_con_response(f, 0x1234, resp, &len);
    run_to(f, T0 + 100);
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, 0x1235, tok2, 2, "next", NULL);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    run_to(f, T0 + 100 + f->cfg.auto_ack_ms);
    expect_sent_empty(f, T0 + 100 + f->cfg.auto_ack_ms, ZCOAP_TYPE_ACK, 0x1235);
    expect_events(f, ZCOAP_EV_IN_ACK_SENT);
    respond(f, false, "late"); /* asked NON, but the request was CON and acknowledged */
    const vnet_dgram_t *d = next_sent(f, now(f));
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, ZCOAP_TYPE_NON); /* a NON answer does not wait for the back */
    expect_events(f, ZCOAP_EV_IN_SUCCESS);

    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, 0x1236, ptok, 4, "third", NULL);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    assert_zcoap_ok(zcoap_ep_respond_ack(&f->ep, now(f)));
    vnet_pump(&f->net);
    expect_sent_empty(f, now(f), ZCOAP_TYPE_ACK, 0x1236);
    expect_events(f, ZCOAP_EV_IN_ACK_SENT);
    respond(f, true, "q");
    expect_nothing_sent(f);
    const uint64_t at[] = {T0 + 2000, T0 + 6000, T0 + 14000, T0 + 30000};
    for (size_t i = 0; i < ARRAY_LEN(at); i++) {
        run_to(f, at[i]);
        expect_sent_bytes(f, at[i], resp, len);
    }
    run_to(f, T0 + 61999);
    expect_no_events(f);
    run_to(f, T0 + 62000);
    expect_events(f, ZCOAP_EV_IN_TIMEOUT, ZCOAP_EV_IN_CON_RESPONSE_SENT);
    d = next_sent(f, T0 + 62000);
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, ZCOAP_TYPE_CON);
    assert_int_not_equal(m.mid, mid);
    assert_int_equal(m.token_len, 4);
    assert_memory_equal(m.token, ptok, 4);
    assert_int_equal(zcoap_ep_next_deadline(&f->ep), T0 + 64000);
}

/* With one response slot, the slot of the CON response in flight cannot serve another request:
 * the next request is answered 5.03 with the configured Max-Age (CON: in the ACK; NON: NON). */
static void one_response_slot_is_busy_while_con_response_in_flight(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    f->cfg.resp_slots = 1;
    f->cfg.busy_max_age_s = 7;
    start(f);
    uint8_t resp[64];
    size_t len;
    uint16_t mid = separate_con_response(f, 0x1234, resp, &len);
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, 0x1235, tok2, 2, "next", NULL);
    expect_sent_hex(f, T0, "62 a3 12 35 b0 b1 d1 01 07");
    expect_events(f, ZCOAP_EV_IN_BUSY);
    peer_msg(f, ZCOAP_TYPE_NON, ZCOAP_GET, 0x1236, tok2, 2, "next", NULL);
    const vnet_dgram_t *d = next_sent(f, T0);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, ZCOAP_TYPE_NON);
    assert_int_equal(m.code, ZCOAP_SERVICE_UNAVAILABLE);
    assert_int_equal(m.mid, (uint16_t)(mid + 1u));
    zcoap_opt_t max_age;
    assert_true(zcoap_msg_find_opt(&m, ZCOAP_OPT_MAX_AGE, &max_age));
    uint32_t seconds = 0;
    assert_zcoap_ok(zcoap_opt_uint(&max_age, &seconds));
    assert_int_equal(seconds, 7);
    expect_events(f, ZCOAP_EV_IN_BUSY);
    assert_int_equal(vnet_count_events(&f->net, EP, ZCOAP_EV_IN_REQUEST), 1);
    /* Once the response is acknowledged the peer's retry is served. */
    peer_empty(f, ZCOAP_TYPE_ACK, mid);
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_GET, 0x1235, tok2, 2, "next", NULL);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    respond(f, false, "n");
    expect_sent_hex(f, T0, "62 45 12 35 b0 b1 ff 6e");
}

/* ======================================================================================== */
/* A response store lent when first needed (zcoap_ep_config_t::resp_store_lend)            */
/* ======================================================================================== */

typedef struct lender {
    uint8_t *store; /* what it lends, or NULL to lend nothing */
    size_t calls;
    size_t bytes; /* asked for at the last call */
} lender_t;

static uint8_t *lend_store(void *ctx, size_t bytes)
{
    lender_t *l = ctx;
    l->calls++;
    l->bytes = bytes;
    return l->store;
}

static void lend_from(fx_t *f, lender_t *l)
{
    f->cfg.resp_store = NULL;
    f->cfg.resp_store_lend = lend_store;
    f->cfg.resp_store_ctx = l;
}

/* A client whose peer only answers never needs the store; the first request from the peer
 * borrows it once (resp_slots * msg_cap bytes) and is answered from it. */
static void response_store_is_lent_at_the_first_request(void **state)
{
    fx_t *f = *state;
    lender_t l = {.store = f->store.resp};
    lend_from(f, &l);
    start(f);
    for (int i = 0; i < 3; i++) {
        sent_req_t r;
        con_get(f, &r);
        peer_piggyback(f, &r);
        expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    }
    /* A CON notification of an observation is acknowledged without a store too. */
    peer_msg(f, ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x4444, ptok, sizeof(ptok), NULL, "x");
    expect_sent_empty(f, T0, ZCOAP_TYPE_RST, 0x4444); /* no such observation */
    expect_events(f, ZCOAP_EV_UNHANDLED);
    assert_int_equal(l.calls, 0);

    peer_con_get(f, 0x1234);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    assert_int_equal(l.calls, 1);
    assert_int_equal(l.bytes, f->cfg.resp_slots * f->cfg.msg_cap);
    respond(f, false, "hello");
    expect_sent_hex(f, T0, "64 45 12 34 c0 c1 c2 c3 ff 68 65 6c 6c 6f");
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    static const uint8_t ack_head[] = {0x64, 0x45, 0x12, 0x34};
    assert_memory_equal(f->store.resp, ack_head, sizeof(ack_head));
    /* A duplicate is answered from the lent store; the next request borrows nothing more. */
    peer_con_get(f, 0x1234);
    expect_sent_hex(f, T0, "64 45 12 34 c0 c1 c2 c3 ff 68 65 6c 6c 6f");
    expect_events(f, ZCOAP_EV_IN_DUPLICATE);
    peer_con_get(f, 0x1235);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    respond(f, false, "again");
    next_sent(f, T0);
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    assert_int_equal(l.calls, 1);
}

/* When nothing can be lent, a request is answered 5.03 with Max-Age (which needs no store), a
 * notification is refused, and the next request asks the lender again. */
static void nothing_lent_answers_service_unavailable(void **state)
{
    fx_t *f = *state;
    lender_t l = {.store = NULL};
    lend_from(f, &l);
    f->cfg.busy_max_age_s = 9;
    start(f);
    peer_con_get(f, 0x1234);
    expect_sent_hex(f, T0, "64 a3 12 34 c0 c1 c2 c3 d1 01 09");
    expect_events(f, ZCOAP_EV_IN_BUSY);
    zcoap_builder_t b;
    assert_zcoap_err(zcoap_ep_response_begin(&f->ep, ZCOAP_CONTENT, false, &b), ZCOAP_ESTATE);
    assert_zcoap_err(zcoap_ep_notify_begin(&f->ep, ptok, sizeof(ptok), ZCOAP_CONTENT, false, 1, &b),
                     ZCOAP_ENOSPC);
    assert_int_equal(l.calls, 2);
    /* Memory came back: the peer's retransmission is served. */
    l.store = f->store.resp;
    peer_con_get(f, 0x1234);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    respond(f, false, "late");
    expect_sent_hex(f, T0, "64 45 12 34 c0 c1 c2 c3 ff 6c 61 74 65");
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    assert_int_equal(l.calls, 3);
}

static void no_store_and_no_lender_is_refused(void **state)
{
    fx_t *f = *state;
    f->cfg.resp_store = NULL;
    assert_zcoap_err(zcoap_ep_init(&f->ep, &f->cfg, T0), ZCOAP_EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(con_request_piggybacked_response),
        T(confirmable_response_before_the_ack_is_piggybacked),
        T(auto_ack_then_separate_con_response),
        T(response_begun_before_the_auto_ack_goes_separate),
        T(separate_con_response_times_out),
        T(long_response_timeouts_do_not_overflow),
        T(separate_con_response_reset),
        T(separate_non_response_to_con_request),
        T(non_request_non_response),
        T(non_request_cannot_be_acknowledged),
        T(confirmable_response_to_a_non_request),
        T(respond_with_rst),
        T(idle_after_answering_a_request),
        T(duplicate_con_request_gets_the_same_bytes),
        T(shorter_duplicate_gets_no_replay),
        T(duplicate_before_the_answer),
        T(duplicates_during_a_separate_response),
        T(pipelined_duplicates_within_the_ring),
        T(duplicates_beyond_the_stored_responses),
        T(lost_answer_of_a_post_is_acknowledged_not_rerun),
        T(notification_leaves_the_awaited_answer_its_slot),
        T(duplicate_non_request_processed_once),
        T(next_request_while_con_response_awaits_ack),
        T(second_con_response_waits_for_the_first),
        T(queued_con_response_starts_when_the_first_times_out),
        T(one_response_slot_is_busy_while_con_response_in_flight),
        T(response_store_is_lent_at_the_first_request),
        T(nothing_lent_answers_service_unavailable),
        T(no_store_and_no_lender_is_refused),
    };
    return cmocka_run_group_tests_name("endpoint_in", tests, NULL, NULL);
}
