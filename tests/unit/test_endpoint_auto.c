/* Lockstep tests of what the endpoint does on its own and of its edges: the transmission
 * parameters and derived lifetimes (RFC 7252 §4.8), message IDs (§4.4), automatic answers (RST to
 * pings and unmatched messages, 4.02, 4.13; §4.2, §4.3, §5.4.1) and format errors, both paths at
 * once, deadlines, reset, event names and API errors. The fixture and the lockstep method are in
 * tests/support/ep_lockstep.h. */

#include "zcoap_test.h"

#include <stdlib.h>

#include "ep_lockstep.h"

/* ======================================================================================== */
/* Transmission parameters (RFC 7252 §4.8)                                                  */
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
/* Message IDs (RFC 7252 §4.4)                                                              */
/* ======================================================================================== */

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

/* ======================================================================================== */
/* Automatic answers (RFC 7252 §4.2, §4.3) and format errors                                */
/* ======================================================================================== */

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

/* The diagnostic keeps the 4.02 within 3 times the request: a request with no token gets the
 * bare 4.02 (RFC 7252 §11.3: no amplification for a forged source). */
static void bad_option_diagnostic_stays_small(void **state)
{
    fx_t *f = *state;
    start(f);
    /* CON GET, MID 0x1252, no token, option 65 with an empty value: 6 bytes. */
    peer_hex(f, "40 01 12 52 d0 34");
    const vnet_dgram_t *d = next_sent(f, T0);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.code, ZCOAP_BAD_OPTION);
    assert_int_equal(m.payload_len, 0);
    assert_true(d->len <= 18);
    expect_events(f, ZCOAP_EV_IN_REJECTED);
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

/* A request while the application has not answered the last one is not taken: 5.03 with
 * Max-Age (RFC 7252 §5.9.3.4), the peer may retry; RST would say the request made no sense. */
static void request_while_incoming_path_busy_gets_5_03(void **state)
{
    fx_t *f = *state;
    start(f);
    peer_con_get(f, 0x1270);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    run_to(f, T0 + 100);
    peer_con_get(f, 0x1271); /* another request while the first is unanswered */
    expect_sent_hex(f, T0 + 100, "64 a3 12 71 c0 c1 c2 c3 d1 01 02");
    expect_events(f, ZCOAP_EV_IN_BUSY);
    peer_msg(f, ZCOAP_TYPE_NON, ZCOAP_GET, 0x1272, ptok, 4, "test", NULL);
    const vnet_dgram_t *d = next_sent(f, T0 + 100);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, ZCOAP_TYPE_NON);
    assert_int_equal(m.code, ZCOAP_SERVICE_UNAVAILABLE);
    expect_events(f, ZCOAP_EV_IN_BUSY);
    /* The first request is still ours to answer, piggybacked. */
    respond(f, false, "a");
    expect_sent_hex(f, T0 + 100, "64 45 12 70 c0 c1 c2 c3 ff 61");
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    /* The busy request, retransmitted, is taken now. */
    peer_con_get(f, 0x1271);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
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

/* ======================================================================================== */
/* Deadlines, reset, events, API errors                                                     */
/* ======================================================================================== */

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

/* The events of one datagram share one view of it; events still queued when the next datagram
 * arrives lose theirs (its bytes may be gone) instead of pointing at the wrong message. */
static void queued_events_lose_the_view_of_an_older_datagram(void **state)
{
    fx_t *f = *state;
    zcoap_ep_t ep;
    assert_zcoap_ok(zcoap_ep_init(&ep, &f->cfg, T0));
    const uint8_t ping1[] = {0x40, 0x00, 0x00, 0x01};
    const uint8_t ping2[] = {0x40, 0x00, 0x00, 0x02};
    assert_zcoap_ok(zcoap_ep_receive(&ep, ping1, sizeof(ping1), T0));
    assert_zcoap_ok(zcoap_ep_receive(&ep, ping2, sizeof(ping2), T0));
    zcoap_event_t ev;
    assert_int_equal(zcoap_ep_process(&ep, T0, &ev), 1);
    assert_int_equal(ev.kind, ZCOAP_EV_PING_ANSWERED);
    assert_false(ev.has_msg);
    assert_null(ev.msg.data);
    assert_int_equal(zcoap_ep_process(&ep, T0, &ev), 1);
    assert_int_equal(ev.kind, ZCOAP_EV_PING_ANSWERED);
    assert_true(ev.has_msg);
    assert_ptr_equal(ev.msg.data, ping2);
    assert_int_equal(ev.msg.mid, 2);
    assert_int_equal(zcoap_ep_process(&ep, T0, &ev), 0);
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

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(defaults_and_derived_lifetimes),
        T(custom_derived_lifetimes),
        T(message_ids_increase_by_one),
        T(first_message_id_is_random),
        T(message_id_wraps),
        T(reset_does_not_reuse_message_ids),
        T(peer_request_with_the_mid_of_our_request),
        T(both_paths_at_once),
        T(ping_is_answered_with_rst),
        T(unmatched_responses_get_rst),
        T(ack_and_rst_matching_nothing_are_ignored),
        T(malformed_messages),
        T(rst_with_request_code_is_silent),
        T(non_empty_message_is_a_format_error),
        T(other_versions_and_short_datagrams_are_silent),
        T(unrecognized_critical_option_gets_4_02),
        T(bad_option_diagnostic_stays_small),
        T(bad_option_answered_even_when_the_diagnostic_does_not_fit),
        T(request_too_large_gets_4_13_with_size1),
        T(request_while_incoming_path_busy_gets_5_03),
        T(non_request_rejections_are_non),
        T(control_queue_holds_its_capacity),
        T(late_process_catches_up),
        T(deadline_is_zero_while_work_is_queued),
        T(reset_forgets_everything),
        T(reset_drops_queued_events_and_datagrams),
        T(every_event_has_a_distinct_name),
        T(event_names_and_channels),
        T(queued_events_lose_the_view_of_an_older_datagram),
        T(api_errors),
    };
    return cmocka_run_group_tests_name("endpoint_auto", tests, NULL, NULL);
}
