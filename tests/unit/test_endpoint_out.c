/* Lockstep tests of the endpoint's outgoing path: our requests (CON and NON) and pings, their
 * retransmission with exact instants (RFC 7252 §4.2, §4.8), and the matching of the responses to
 * them (piggybacked, separate, NON, RST; §4.3, §5.2, §5.3.2). The fixture and the lockstep method
 * are in tests/support/ep_lockstep.h. */

#include "zcoap_test.h"

#include "ep_lockstep.h"

/* ======================================================================================== */
/* CON retransmission (RFC 7252 §4.2)                                                       */
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

/* ======================================================================================== */
/* Responses to our requests (RFC 7252 §5.2, §5.3.2)                                        */
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
    const vnet_event_rec_t *ack = expect_events(f, ZCOAP_EV_OUT_EMPTY_ACK);
    assert_true(ack->has_msg);
    assert_int_equal(ack->msg.type, ZCOAP_TYPE_ACK);
    assert_int_equal(ack->msg.mid, r.mid);
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

/* §5.3.2: MID and token must both match. The same wrong token twice for our MID is the answer a
 * server's de-duplication kept for an older request with that MID: ours was never executed, so
 * it goes again at once under a new MID, with the same token and a fresh schedule. */
static void stale_answer_twice_sends_the_request_again_under_a_new_mid(void **state)
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
    peer_msg(f, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, r.mid, wrong, r.token_len, NULL, "stale");
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OUT_WRONG_TOKEN);
    assert_true(ev->has_msg);
    assert_memory_equal(ev->msg.token, wrong, r.token_len);
    expect_nothing_sent(f); /* ignored: the retransmission follows on schedule */
    uint64_t t1 = T0 + f->cfg.tx.ack_timeout_ms;
    run_to(f, t1);
    expect_sent_bytes(f, t1, r.bytes, r.len);
    peer_msg(f, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, r.mid, wrong, r.token_len, NULL, "stale");
    expect_events(f, ZCOAP_EV_OUT_WRONG_TOKEN);
    const vnet_dgram_t *d = next_sent(f, t1);
    assert_int_equal(d->len, r.len);
    uint16_t mid2 = (uint16_t)((d->data[2] << 8) | d->data[3]);
    assert_int_not_equal(mid2, r.mid);
    assert_memory_equal(d->data + 4, r.bytes + 4, r.len - 4); /* same token, options, payload */
    assert_memory_equal(d->data, r.bytes, 2);
    /* Its schedule starts over: the first retransmission ACK_TIMEOUT later. */
    run_to(f, t1 + f->cfg.tx.ack_timeout_ms - 1);
    expect_nothing_sent(f);
    run_to(f, t1 + f->cfg.tx.ack_timeout_ms);
    d = next_sent(f, t1 + f->cfg.tx.ack_timeout_ms);
    assert_int_equal((d->data[2] << 8) | d->data[3], mid2);
    /* The old MID's ACKs are no longer ours; the new one's piggybacked response is. */
    peer_msg(f, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, r.mid, r.token, r.token_len, NULL, "old");
    expect_no_events(f);
    peer_msg(f, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, mid2, r.token, r.token_len, NULL, "good");
    ev = expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    expect_payload(&ev->msg, "good");
}

/* Wrong tokens that differ are damage on the way (or forgeries): ignored, the request is never
 * sent under another MID (a damaged POST must not run twice), and the intact answer to a
 * retransmission is taken. Nothing else ends the exchange before MAX_TRANSMIT_WAIT. */
static void damaged_tokens_are_ignored(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    sent_req_t r;
    request(f, ZCOAP_TYPE_CON, ZCOAP_POST, "x", 0, &r);
    uint64_t t = T0;
    uint64_t timeout = f->cfg.tx.ack_timeout_ms;
    for (unsigned i = 0; i < f->cfg.tx.max_retransmit; i++) {
        uint8_t wrong[8];
        memcpy(wrong, r.token, r.token_len);
        wrong[i % r.token_len] ^= (uint8_t)(1u << i);
        peer_msg(f, ZCOAP_TYPE_ACK, ZCOAP_CHANGED, r.mid, wrong, r.token_len, NULL, "bad");
        expect_events(f, ZCOAP_EV_OUT_WRONG_TOKEN);
        expect_nothing_sent(f);
        t += timeout;
        timeout *= 2u;
        run_to(f, t);
        expect_sent_bytes(f, t, r.bytes, r.len); /* the same MID each time */
    }
    peer_msg(f, ZCOAP_TYPE_ACK, ZCOAP_CHANGED, r.mid, r.token, r.token_len, NULL, "ok");
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    expect_payload(&ev->msg, "ok");
}

/* Without any intact answer, wrong tokens leave the request to time out on the RFC's schedule,
 * after MAX_TRANSMIT_WAIT, not EXCHANGE_LIFETIME. */
static void wrong_tokens_alone_end_in_a_timeout(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    sent_req_t r;
    con_get(f, &r);
    uint8_t wrong[8];
    memcpy(wrong, r.token, r.token_len);
    wrong[1] ^= 0x5a;
    peer_msg(f, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, r.mid, wrong, r.token_len, NULL, "bad");
    expect_events(f, ZCOAP_EV_OUT_WRONG_TOKEN);
    expect_nothing_sent(f);
    uint64_t t = T0;
    uint64_t timeout = f->cfg.tx.ack_timeout_ms;
    for (unsigned i = 0; i < f->cfg.tx.max_retransmit; i++) {
        t += timeout;
        timeout *= 2u;
        run_to(f, t);
        const vnet_dgram_t *d = next_sent(f, t);
        assert_int_equal((d->data[2] << 8) | d->data[3], r.mid);
    }
    run_to(f, t + timeout - 1);
    expect_no_events(f);
    run_to(f, t + timeout);
    assert_int_equal(expect_events(f, ZCOAP_EV_OUT_TIMEOUT)->err, 0);
}

/* ICMP port unreachable (through the adapter): the request in flight ends now, with its cause. */
static void peer_unreachable_ends_the_request_in_flight(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    assert_int_equal(zcoap_ep_peer_unreachable(&f->ep, T0), 0); /* nothing in flight */
    sent_req_t r;
    con_get(f, &r);
    run_to(f, T0 + 100);
    assert_int_equal(zcoap_ep_peer_unreachable(&f->ep, T0 + 100), 1);
    run_to(f, T0 + 100); /* the events come out of process() */
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OUT_TIMEOUT);
    assert_int_equal(ev->err, ZCOAP_EUNREACHABLE);
    run_to(f, T0 + 100000);
    expect_nothing_sent(f); /* no retransmission after it */
    expect_no_events(f);
    /* The next request goes out as usual; one not yet transmitted is left alone. */
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_ep_request_begin(&f->ep, ZCOAP_TYPE_CON, ZCOAP_GET, &b));
    assert_zcoap_ok(zcoap_ep_request_send(&f->ep, &b, 0, now(f)));
    assert_int_equal(zcoap_ep_peer_unreachable(&f->ep, now(f)), 0);
    run_to(f, now(f));
    next_sent(f, now(f));
    expect_events(f, ZCOAP_EV_OUT_CON_SENT);
    assert_zcoap_err(zcoap_ep_peer_unreachable(NULL, 0), ZCOAP_EINVAL);
}

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

/* ======================================================================================== */
/* NON requests (RFC 7252 §4.3, §5.2.3)                                                     */
/* ======================================================================================== */

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

/* ======================================================================================== */
/* Pings (RFC 7252 §4.3)                                                                    */
/* ======================================================================================== */

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

/* ======================================================================================== */
/* Starting, refusing and cancelling requests                                               */
/* ======================================================================================== */

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

/* A token of the caller's choice, empty included; the response is matched by it. */
static void request_with_a_chosen_token(void **state)
{
    fx_t *f = *state;
    start(f);
    static const uint8_t tok[3] = {0xca, 0xfe, 0x01};
    const struct {
        const uint8_t *token;
        size_t len;
    } cases[] = {{tok, 3}, {NULL, 0}};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        zcoap_builder_t b;
        assert_zcoap_ok(zcoap_ep_request_begin_token(&f->ep, ZCOAP_TYPE_CON, ZCOAP_GET,
                                                     cases[i].token, cases[i].len, &b));
        assert_zcoap_ok(zcoap_ep_request_send(&f->ep, &b, 0, now(f)));
        vnet_pump(&f->net);
        const vnet_dgram_t *d = next_sent(f, now(f));
        zcoap_msg_t m;
        parse_ok(&m, d->data, d->len);
        assert_int_equal(m.token_len, cases[i].len);
        if (cases[i].len > 0)
            assert_memory_equal(m.token, cases[i].token, cases[i].len);
        expect_events(f, ZCOAP_EV_OUT_CON_SENT);
        uint8_t resp[32];
        size_t n = build_msg(resp, sizeof(resp), ZCOAP_TYPE_ACK, ZCOAP_CONTENT, m.mid,
                             cases[i].token, cases[i].len, NULL, "t");
        peer_bytes(f, resp, n);
        expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    }
    zcoap_builder_t b;
    uint8_t nine[9] = {0};
    assert_zcoap_err(zcoap_ep_request_begin_token(&f->ep, ZCOAP_TYPE_CON, ZCOAP_GET, nine, 9, &b),
                     ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_ep_request_begin_token(&f->ep, ZCOAP_TYPE_CON, ZCOAP_GET, NULL, 2, &b),
                     ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_ep_request_begin_token(NULL, ZCOAP_TYPE_CON, ZCOAP_GET, tok, 3, &b),
                     ZCOAP_EINVAL);
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

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(con_retransmission_exact_instants),
        T(con_first_timeout_random_within_bounds),
        T(custom_tx_params),
        T(no_retransmission_when_max_retransmit_is_zero),
        T(long_timeouts_do_not_overflow),
        T(piggybacked_response),
        T(empty_ack_then_separate_con_response),
        T(separate_non_response_after_empty_ack),
        T(separate_response_before_empty_ack),
        T(response_timeout_after_empty_ack),
        T(configured_response_timeout_is_the_default),
        T(stale_answer_twice_sends_the_request_again_under_a_new_mid),
        T(damaged_tokens_are_ignored),
        T(wrong_tokens_alone_end_in_a_timeout),
        T(peer_unreachable_ends_the_request_in_flight),
        T(ack_with_our_token_but_another_mid_is_ignored),
        T(duplicate_con_response_is_acked_again_and_reported_once),
        T(duplicate_con_response_after_the_next_request_is_acked),
        T(rst_to_our_con_request),
        T(idle_after_a_separate_response),
        T(non_request_and_non_response),
        T(non_request_timeout),
        T(rst_to_our_non_request),
        T(con_response_to_our_non_request),
        T(ping_and_pong),
        T(ping_unanswered_times_out_like_a_con),
        T(nstart_one),
        T(token_lengths_0_to_8),
        T(request_with_a_chosen_token),
        T(request_uri_convenience),
        T(failed_request_frees_the_path),
        T(cancel_abandons_the_request),
    };
    return cmocka_run_group_tests_name("endpoint_out", tests, NULL, NULL);
}
