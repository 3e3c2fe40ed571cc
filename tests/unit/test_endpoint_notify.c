/* Lockstep tests of the endpoint's notifications (RFC 7641 §4.2, §4.5): a response to an
 * observer that answers no request now, NON or CON, with the client's RST ending the
 * observation (also for a NON notification: aiocoap once missed that), a CON notification that
 * times out, the newest state replacing a CON notification still in flight (§4.5.2), and how
 * notifications share the peer with separate responses (NSTART = 1). The fixture is in
 * tests/support/ep_lockstep.h. */
#include "zcoap_test.h"

#include "ep_lockstep.h"

/* The observer's token, and the tag the driver gives its notifications. */
static const uint8_t otok[3] = {0x0b, 0x5e, 0x01};
#define TAG 0x00C0FFEEu

/* Begin and send a notification 2.05 with Observe @p seq and @p payload. */
static int notify(fx_t *f, bool confirmable, uint32_t seq, const char *payload)
{
    zcoap_builder_t b;
    int rc = zcoap_ep_notify_begin(&f->ep, otok, sizeof otok, ZCOAP_CONTENT, confirmable, TAG, &b);
    if (rc != ZCOAP_OK)
        return rc;
    assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, seq));
    assert_zcoap_ok(zcoap_builder_set_payload(&b, payload, strlen(payload)));
    rc = zcoap_ep_notify_send(&f->ep, &b, now(f));
    vnet_pump(&f->net);
    return rc;
}

/* The next datagram sent, at @p at, must be a notification of @p type with Observe @p seq and
 * @p payload; returns its message ID. */
static uint16_t expect_notification(fx_t *f, uint64_t at, uint8_t type, uint32_t seq,
                                    const char *payload)
{
    const vnet_dgram_t *d = next_sent(f, at);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, type);
    assert_int_equal(m.code, ZCOAP_CONTENT);
    assert_int_equal(m.token_len, sizeof otok);
    assert_memory_equal(m.token, otok, sizeof otok);
    uint32_t observe = 0xFFFFFFFFu;
    assert_zcoap_ok(zcoap_msg_get_uint(&m, ZCOAP_OPT_OBSERVE, &observe));
    assert_int_equal(observe, seq);
    expect_payload(&m, payload);
    return m.mid;
}

static void expect_tag(const vnet_event_rec_t *ev)
{
    assert_int_equal(ev->tag, TAG);
}

/* A NON notification goes out once, with a new message ID; a RST to it ends the observation. */
static void non_notification_and_its_reset(void **state)
{
    fx_t *f = *state;
    start(f);
    assert_zcoap_ok(notify(f, false, 7, "21.5"));
    uint16_t mid = expect_notification(f, T0, ZCOAP_TYPE_NON, 7, "21.5");
    expect_tag(expect_events(f, ZCOAP_EV_NOTIFY_SENT));
    assert_true(zcoap_ep_is_idle(&f->ep));
    run_to(f, T0 + 100000);
    expect_nothing_sent(f);
    peer_empty(f, ZCOAP_TYPE_RST, mid);
    expect_tag(expect_events(f, ZCOAP_EV_NOTIFY_RESET));
    /* Once only; a RST for an ID we never sent is ignored. */
    peer_empty(f, ZCOAP_TYPE_RST, mid);
    peer_empty(f, ZCOAP_TYPE_RST, (uint16_t)(mid + 100u));
    expect_no_events(f);
}

/* The RST to an earlier NON notification is still matched after later ones went out. */
static void reset_of_an_earlier_non_notification(void **state)
{
    fx_t *f = *state;
    start(f);
    uint16_t mids[3];
    for (uint32_t i = 0; i < 3; i++) {
        assert_zcoap_ok(notify(f, false, i, "x"));
        mids[i] = expect_notification(f, T0, ZCOAP_TYPE_NON, i, "x");
        expect_events(f, ZCOAP_EV_NOTIFY_SENT);
    }
    assert_int_equal(mids[1], (uint16_t)(mids[0] + 1u));
    peer_empty(f, ZCOAP_TYPE_RST, mids[0]);
    expect_tag(expect_events(f, ZCOAP_EV_NOTIFY_RESET));
}

/* A CON notification is retransmitted on the RFC 7252 schedule until the ACK. */
static void con_notification_acknowledged(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    assert_zcoap_ok(notify(f, true, 8, "22.0"));
    uint16_t mid = expect_notification(f, T0, ZCOAP_TYPE_CON, 8, "22.0");
    expect_tag(expect_events(f, ZCOAP_EV_NOTIFY_SENT));
    assert_false(zcoap_ep_is_idle(&f->ep));
    run_to(f, T0 + 2000);
    assert_int_equal(expect_notification(f, T0 + 2000, ZCOAP_TYPE_CON, 8, "22.0"), mid);
    run_to(f, T0 + 2500);
    peer_empty(f, ZCOAP_TYPE_ACK, mid);
    expect_tag(expect_events(f, ZCOAP_EV_NOTIFY_ACKED));
    assert_true(zcoap_ep_is_idle(&f->ep));
    /* A duplicate ACK matches nothing any more. */
    peer_empty(f, ZCOAP_TYPE_ACK, mid);
    expect_no_events(f);
    run_to(f, T0 + 100000);
    expect_nothing_sent(f);
}

/* Never acknowledged: NOTIFY_TIMEOUT after MAX_RETRANSMIT (the driver drops the observer). */
static void con_notification_times_out(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    assert_zcoap_ok(notify(f, true, 9, "t"));
    (void)expect_notification(f, T0, ZCOAP_TYPE_CON, 9, "t");
    expect_events(f, ZCOAP_EV_NOTIFY_SENT);
    const uint64_t at[] = {T0 + 2000, T0 + 6000, T0 + 14000, T0 + 30000};
    for (size_t i = 0; i < ARRAY_LEN(at); i++) {
        run_to(f, at[i]);
        (void)expect_notification(f, at[i], ZCOAP_TYPE_CON, 9, "t");
    }
    run_to(f, T0 + 61999);
    expect_no_events(f);
    run_to(f, T0 + 62000);
    expect_tag(expect_events(f, ZCOAP_EV_NOTIFY_TIMEOUT));
    assert_true(zcoap_ep_is_idle(&f->ep));
}

static void con_notification_reset(void **state)
{
    fx_t *f = *state;
    start(f);
    assert_zcoap_ok(notify(f, true, 10, "r"));
    uint16_t mid = expect_notification(f, T0, ZCOAP_TYPE_CON, 10, "r");
    expect_events(f, ZCOAP_EV_NOTIFY_SENT);
    peer_empty(f, ZCOAP_TYPE_RST, mid);
    expect_tag(expect_events(f, ZCOAP_EV_NOTIFY_RESET));
    assert_true(zcoap_ep_is_idle(&f->ep));
}

/* §4.5.2: a new state while a CON notification is in flight replaces it. Nothing goes out at
 * once; the next retransmission carries the new state under a new message ID (the client
 * de-duplicates by ID), and the schedule goes on; with no ACK at all it ends as before. */
static void newer_state_replaces_con_notification_in_flight(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    assert_zcoap_ok(notify(f, true, 11, "old"));
    uint16_t old_mid = expect_notification(f, T0, ZCOAP_TYPE_CON, 11, "old");
    expect_events(f, ZCOAP_EV_NOTIFY_SENT);
    run_to(f, T0 + 2000);
    (void)expect_notification(f, T0 + 2000, ZCOAP_TYPE_CON, 11, "old");
    run_to(f, T0 + 3000);
    assert_zcoap_ok(notify(f, false, 12, "new")); /* NON asked: CON anyway, it replaces */
    expect_nothing_sent(f);
    expect_tag(expect_events(f, ZCOAP_EV_NOTIFY_SENT));
    run_to(f, T0 + 6000); /* the second retransmission instant */
    uint16_t new_mid = expect_notification(f, T0 + 6000, ZCOAP_TYPE_CON, 12, "new");
    assert_int_not_equal(new_mid, old_mid);
    run_to(f, T0 + 7000);
    assert_zcoap_ok(notify(f, true, 13, "newest"));
    expect_events(f, ZCOAP_EV_NOTIFY_SENT);
    run_to(f, T0 + 14000);
    uint16_t newest_mid = expect_notification(f, T0 + 14000, ZCOAP_TYPE_CON, 13, "newest");
    run_to(f, T0 + 30000);
    assert_int_equal(expect_notification(f, T0 + 30000, ZCOAP_TYPE_CON, 13, "newest"), newest_mid);
    run_to(f, T0 + 61999);
    expect_no_events(f);
    run_to(f, T0 + 62000);
    expect_tag(expect_events(f, ZCOAP_EV_NOTIFY_TIMEOUT));
}

/* The ACK of a replaced version that went out shows the client is there: the newest state's
 * exchange starts over, sent at once if it had not gone out yet; its own ACK ends it. Without
 * this, a client acknowledging each version just after the next replaced it would see its
 * observation time out on a lossless link. */
static void ack_of_a_replaced_notification_restarts_the_newest(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    assert_zcoap_ok(notify(f, true, 1, "v1"));
    uint16_t mid1 = expect_notification(f, T0, ZCOAP_TYPE_CON, 1, "v1");
    expect_events(f, ZCOAP_EV_NOTIFY_SENT);
    run_to(f, T0 + 500);
    assert_zcoap_ok(notify(f, true, 2, "v2")); /* waits for the retransmission instant... */
    expect_nothing_sent(f);
    expect_events(f, ZCOAP_EV_NOTIFY_SENT);
    run_to(f, T0 + 600);
    peer_empty(f, ZCOAP_TYPE_ACK, mid1); /* ...but v1's ACK comes first: v2 goes now */
    uint16_t mid2 = expect_notification(f, T0 + 600, ZCOAP_TYPE_CON, 2, "v2");
    assert_int_not_equal(mid2, mid1);
    expect_no_events(f);
    assert_int_equal(zcoap_ep_next_deadline(&f->ep), T0 + 2600); /* a fresh schedule */
    /* v3 replaces v2, which went out: v2's ACK restarts the schedule of v3, not yet sent. */
    run_to(f, T0 + 700);
    assert_zcoap_ok(notify(f, true, 3, "v3"));
    expect_events(f, ZCOAP_EV_NOTIFY_SENT);
    run_to(f, T0 + 800);
    peer_empty(f, ZCOAP_TYPE_ACK, mid2);
    uint16_t mid3 = expect_notification(f, T0 + 800, ZCOAP_TYPE_CON, 3, "v3");
    peer_empty(f, ZCOAP_TYPE_ACK, mid1); /* stale: nothing */
    expect_nothing_sent(f);
    expect_no_events(f);
    peer_empty(f, ZCOAP_TYPE_ACK, mid3);
    expect_tag(expect_events(f, ZCOAP_EV_NOTIFY_ACKED));
    assert_true(zcoap_ep_is_idle(&f->ep));
    /* And a RST to a replaced version that went out ends the observation. */
    assert_zcoap_ok(notify(f, true, 4, "v4"));
    uint16_t mid4 = expect_notification(f, T0 + 800, ZCOAP_TYPE_CON, 4, "v4");
    expect_events(f, ZCOAP_EV_NOTIFY_SENT);
    assert_zcoap_ok(notify(f, true, 5, "v5"));
    expect_events(f, ZCOAP_EV_NOTIFY_SENT);
    peer_empty(f, ZCOAP_TYPE_RST, mid4);
    expect_tag(expect_events(f, ZCOAP_EV_NOTIFY_RESET));
    assert_true(zcoap_ep_is_idle(&f->ep));
}

/* NSTART = 1 for our CON messages: a CON notification waits for a separate CON response in
 * flight (EBUSY: the driver sends the newest state after that exchange's event); a NON one goes
 * if a response slot is free; with one slot nothing goes. */
static void notifications_and_a_separate_response_in_flight(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f); /* two response slots */
    uint8_t resp[64];
    size_t len;
    uint16_t resp_mid = separate_con_response(f, 0x1234, resp, &len);
    zcoap_builder_t b;
    assert_zcoap_err(zcoap_ep_notify_begin(&f->ep, otok, sizeof otok, ZCOAP_CONTENT, true, TAG, &b),
                     ZCOAP_EBUSY);
    assert_zcoap_ok(notify(f, false, 1, "non"));
    (void)expect_notification(f, T0, ZCOAP_TYPE_NON, 1, "non");
    expect_events(f, ZCOAP_EV_NOTIFY_SENT);
    peer_empty(f, ZCOAP_TYPE_ACK, resp_mid);
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    assert_zcoap_ok(notify(f, true, 2, "con"));
    (void)expect_notification(f, T0, ZCOAP_TYPE_CON, 2, "con");
    expect_events(f, ZCOAP_EV_NOTIFY_SENT);
}

/* One response slot (the server's default): a newer state still replaces the CON notification
 * in flight (built aside, copied over it at send), and goes at the next retransmission; any
 * other notification waits (EBUSY) until the slot is free. */
static void one_slot_replaces_in_place_and_is_busy_otherwise(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    f->cfg.resp_slots = 1;
    start(f);
    assert_zcoap_ok(notify(f, true, 1, "a"));
    uint16_t mid_a = expect_notification(f, T0, ZCOAP_TYPE_CON, 1, "a");
    expect_events(f, ZCOAP_EV_NOTIFY_SENT);
    run_to(f, T0 + 1000);
    assert_zcoap_ok(notify(f, false, 2, "b")); /* NON asked: it replaces, so CON */
    expect_nothing_sent(f);
    expect_tag(expect_events(f, ZCOAP_EV_NOTIFY_SENT));
    /* Another observer of this peer (another token) must wait; so must a request of ours while
     * a replacement is being built in the request buffer. */
    static const uint8_t other[2] = {0x77, 0x78};
    zcoap_builder_t b;
    assert_zcoap_err(zcoap_ep_notify_begin(&f->ep, other, 2, ZCOAP_CONTENT, false, 9, &b),
                     ZCOAP_EBUSY);
    assert_zcoap_err(zcoap_ep_notify_begin(&f->ep, other, 2, ZCOAP_CONTENT, true, 9, &b),
                     ZCOAP_EBUSY);
    zcoap_builder_t nb;
    assert_zcoap_ok(
        zcoap_ep_notify_begin(&f->ep, otok, sizeof otok, ZCOAP_CONTENT, true, TAG, &nb));
    zcoap_builder_t rb;
    assert_zcoap_err(zcoap_ep_request_begin(&f->ep, ZCOAP_TYPE_CON, ZCOAP_GET, &rb), ZCOAP_EBUSY);
    /* Meanwhile the retransmission still carries "b", whole. */
    run_to(f, T0 + 2000);
    uint16_t mid_b = expect_notification(f, T0 + 2000, ZCOAP_TYPE_CON, 2, "b");
    assert_int_not_equal(mid_b, mid_a);
    assert_zcoap_ok(zcoap_builder_add_uint(&nb, ZCOAP_OPT_OBSERVE, 3));
    assert_zcoap_ok(zcoap_builder_set_payload(&nb, "c", 1));
    assert_zcoap_ok(zcoap_ep_notify_send(&f->ep, &nb, now(f)));
    vnet_pump(&f->net);
    expect_events(f, ZCOAP_EV_NOTIFY_SENT);
    run_to(f, T0 + 6000);
    uint16_t mid_c = expect_notification(f, T0 + 6000, ZCOAP_TYPE_CON, 3, "c");
    peer_empty(f, ZCOAP_TYPE_ACK, mid_c);
    expect_tag(expect_events(f, ZCOAP_EV_NOTIFY_ACKED));
    /* The slot is free again: the other observer's notification goes. */
    assert_zcoap_ok(zcoap_ep_notify_begin(&f->ep, other, 2, ZCOAP_CONTENT, false, 9, &b));
    assert_zcoap_ok(zcoap_ep_notify_send(&f->ep, &b, now(f)));
    vnet_pump(&f->net);
    const vnet_dgram_t *d = next_sent(f, T0 + 6000);
    assert_int_equal(d->data[0], 0x52); /* NON, 2-byte token */
}

/* The observer may send requests meanwhile: served at once; a separate CON answer queues behind
 * the CON notification and goes out when the notification is acknowledged. */
static void requests_while_a_con_notification_is_in_flight(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    assert_zcoap_ok(notify(f, true, 1, "n"));
    uint16_t ntf_mid = expect_notification(f, T0, ZCOAP_TYPE_CON, 1, "n");
    expect_events(f, ZCOAP_EV_NOTIFY_SENT);
    peer_con_get(f, 0x2001);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    respond(f, false, "p");
    expect_sent_hex(f, T0, "64 45 20 01 c0 c1 c2 c3 ff 70");
    expect_events(f, ZCOAP_EV_IN_SUCCESS);
    peer_con_get(f, 0x2002);
    expect_events(f, ZCOAP_EV_IN_REQUEST);
    assert_zcoap_ok(zcoap_ep_respond_ack(&f->ep, now(f)));
    vnet_pump(&f->net);
    expect_sent_empty(f, T0, ZCOAP_TYPE_ACK, 0x2002);
    expect_events(f, ZCOAP_EV_IN_ACK_SENT);
    respond(f, true, "q"); /* queued behind the notification */
    expect_nothing_sent(f);
    run_to(f, T0 + 500);
    peer_empty(f, ZCOAP_TYPE_ACK, ntf_mid);
    const vnet_event_rec_t *ev =
        expect_events(f, ZCOAP_EV_NOTIFY_ACKED, ZCOAP_EV_IN_CON_RESPONSE_SENT);
    expect_tag(ev);
    const vnet_dgram_t *d = next_sent(f, T0 + 500);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, ZCOAP_TYPE_CON);
    expect_payload(&m, "q");
}

static void notify_api_errors(void **state)
{
    fx_t *f = *state;
    start(f);
    zcoap_builder_t b;
    uint8_t nine[9] = {0};
    assert_zcoap_err(zcoap_ep_notify_begin(NULL, otok, 3, ZCOAP_CONTENT, false, 0, &b),
                     ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_ep_notify_begin(&f->ep, otok, 3, ZCOAP_CONTENT, false, 0, NULL),
                     ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_ep_notify_begin(&f->ep, nine, 9, ZCOAP_CONTENT, false, 0, &b),
                     ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_ep_notify_begin(&f->ep, NULL, 2, ZCOAP_CONTENT, false, 0, &b),
                     ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_ep_notify_begin(&f->ep, otok, 3, ZCOAP_GET, false, 0, &b), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_ep_notify_send(&f->ep, &b, now(f)), ZCOAP_ESTATE);
    assert_zcoap_err(zcoap_ep_notify_send(NULL, &b, now(f)), ZCOAP_EINVAL);
    /* An empty token works; a begun notification left unsent is forgotten by the next begin. */
    assert_zcoap_ok(zcoap_ep_notify_begin(&f->ep, NULL, 0, ZCOAP_CONTENT, false, 0, &b));
    assert_false(zcoap_ep_is_idle(&f->ep));
    zcoap_builder_t b2;
    assert_zcoap_ok(zcoap_ep_notify_begin(&f->ep, NULL, 0, ZCOAP_CONTENT, false, 0, &b2));
    assert_zcoap_ok(zcoap_ep_notify_send(&f->ep, &b2, now(f)));
    vnet_pump(&f->net);
    const vnet_dgram_t *d = next_sent(f, T0);
    assert_int_equal(d->len, 4);
    assert_int_equal(d->data[0], 0x50); /* NON, no token */
    assert_int_equal(d->data[1], ZCOAP_CONTENT);
    assert_true(zcoap_ep_is_idle(&f->ep));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(non_notification_and_its_reset),
        T(reset_of_an_earlier_non_notification),
        T(con_notification_acknowledged),
        T(con_notification_times_out),
        T(con_notification_reset),
        T(newer_state_replaces_con_notification_in_flight),
        T(ack_of_a_replaced_notification_restarts_the_newest),
        T(notifications_and_a_separate_response_in_flight),
        T(one_slot_replaces_in_place_and_is_busy_otherwise),
        T(requests_while_a_con_notification_is_in_flight),
        T(notify_api_errors),
    };
    return cmocka_run_group_tests_name("endpoint_notify", tests, NULL, NULL);
}
