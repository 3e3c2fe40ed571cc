/* Lockstep tests of the client's observations (RFC 7641): registering (Observe 0), notifications
 * NON and CON while other requests come and go, every copy of a CON notification acknowledged,
 * reordered ones dropped by the §3.4 rule (24-bit wrap, 128 s), the server ending it (error or
 * no Observe), passive and active cancel (§3.6), renewal after Max-Age (§3.3.1), and the number
 * of observations. Test names carry the ETSI CoAP plugtest case they cover where there is one
 * (TD_COAP_OBS_*). The fixture is in tests/support/ep_lockstep.h. */
#include "zcoap_test.h"

#include "ep_lockstep.h"

#define TAG 42u

/* Our registration as seen on the wire. */
typedef struct reg {
    uint16_t mid;
    uint8_t token[8];
    size_t token_len;
} reg_t;

/* observe_begin(GET /test, @p tag) and read the request off the wire: a CON GET with Observe 0. */
static reg_t register_request(fx_t *f, uint32_t tag)
{
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_ep_observe_begin(&f->ep, ZCOAP_GET, tag, &b));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "test"));
    assert_zcoap_ok(zcoap_ep_request_send(&f->ep, &b, 0, now(f)));
    vnet_pump(&f->net);
    const vnet_dgram_t *d = next_sent(f, now(f));
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.type, ZCOAP_TYPE_CON);
    assert_int_equal(m.code, ZCOAP_GET);
    uint32_t observe = 99;
    assert_zcoap_ok(zcoap_msg_get_uint(&m, ZCOAP_OPT_OBSERVE, &observe));
    assert_int_equal(observe, 0);
    reg_t r = {.mid = m.mid, .token_len = m.token_len};
    memcpy(r.token, m.token, m.token_len);
    expect_events(f, ZCOAP_EV_OUT_CON_SENT);
    return r;
}

/* A message from the server with @p r's token: @p type, @p code, Observe @p seq (none when < 0),
 * Max-Age @p max_age (none when < 0), payload @p payload. */
static void server_sends(fx_t *f, const reg_t *r, uint8_t type, uint8_t code, uint16_t mid,
                         long seq, long max_age, const char *payload)
{
    uint8_t buf[128];
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof buf, type, code, mid, r->token, (uint8_t)r->token_len));
    if (seq >= 0)
        assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, (uint32_t)seq));
    if (max_age >= 0)
        assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_MAX_AGE, (uint32_t)max_age));
    if (payload != NULL)
        assert_zcoap_ok(zcoap_builder_set_payload(&b, payload, strlen(payload)));
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    peer_bytes(f, buf, (size_t)n);
}

/* Register and have it accepted with Observe @p seq (piggybacked 2.05). */
static reg_t observe(fx_t *f, uint32_t tag, long seq)
{
    reg_t r = register_request(f, tag);
    server_sends(f, &r, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, r.mid, seq, -1, "v0");
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    assert_int_equal(ev->tag, tag);
    assert_true(zcoap_ep_observing(&f->ep, tag));
    return r;
}

static void expect_notification(fx_t *f, const char *payload)
{
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OBS_NOTIFICATION);
    assert_int_equal(ev->tag, TAG);
    assert_true(ev->has_msg);
    expect_payload(&ev->msg, payload);
}

/* TD_COAP_OBS_01 and _02 (client side): register, then CON and NON notifications; CON ones
 * acknowledged. */
static void td_coap_obs_01_02_register_and_notifications(void **state)
{
    fx_t *f = *state;
    start(f);
    reg_t r = observe(f, TAG, 10);
    expect_nothing_sent(f);
    run_to(f, T0 + 1000);
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5001, 11, -1, "v1");
    expect_notification(f, "v1");
    expect_nothing_sent(f);
    run_to(f, T0 + 2000);
    server_sends(f, &r, ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x5002, 12, -1, "v2");
    expect_sent_empty(f, T0 + 2000, ZCOAP_TYPE_ACK, 0x5002);
    expect_notification(f, "v2");
    assert_true(zcoap_ep_observing(&f->ep, TAG));
}

/* Every copy of a CON notification gets its ACK (libcoap once dropped observers whose duplicate
 * was acknowledged only once); the application sees it once. */
static void duplicate_con_notification_acknowledged_every_time(void **state)
{
    fx_t *f = *state;
    start(f);
    reg_t r = observe(f, TAG, 10);
    for (int copy = 0; copy < 3; copy++) {
        server_sends(f, &r, ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x5010, 11, -1, "c");
        expect_sent_empty(f, T0, ZCOAP_TYPE_ACK, 0x5010);
    }
    expect_events(f, ZCOAP_EV_OBS_NOTIFICATION, ZCOAP_EV_OUT_DUPLICATE_RESPONSE,
                  ZCOAP_EV_OUT_DUPLICATE_RESPONSE);
}

/* §3.4: an older notification arriving late is dropped (a CON one still acknowledged); more
 * than 128 s later any number is fresh. */
static void reordered_notifications_are_dropped(void **state)
{
    fx_t *f = *state;
    start(f);
    reg_t r = observe(f, TAG, 20);
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5020, 22, -1, "v22");
    expect_notification(f, "v22");
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5021, 21, -1, "v21"); /* overtaken */
    expect_no_events(f);
    server_sends(f, &r, ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x5022, 22, -1, "v22 again");
    expect_sent_empty(f, T0, ZCOAP_TYPE_ACK, 0x5022);
    expect_no_events(f);
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5023, 23, 600, "v23");
    expect_notification(f, "v23");
    /* 128 s later the server may have started over. */
    run_to(f, T0 + 128000);
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5024, 2, -1, "early");
    expect_no_events(f);
    run_to(f, T0 + 128001);
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5025, 2, 600, "restarted");
    expect_notification(f, "restarted");
}

/* The sequence number wraps at 24 bits (RFC 7641 §4.4). */
static void sequence_number_wraps_at_24_bits(void **state)
{
    fx_t *f = *state;
    start(f);
    reg_t r = observe(f, TAG, 0xFFFFFE);
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5030, 0xFFFFFF, -1, "ffffff");
    expect_notification(f, "ffffff");
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5031, 0, -1, "0");
    expect_notification(f, "0");
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5032, 1, -1, "1");
    expect_notification(f, "1");
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5033, 0xFFFFFF, -1, "stale");
    expect_no_events(f);
}

/* The observation is kept apart from NSTART = 1: requests come and go, notifications keep
 * arriving in between. */
static void requests_while_observing(void **state)
{
    fx_t *f = *state;
    start(f);
    reg_t r = observe(f, TAG, 1);
    sent_req_t q;
    con_get(f, &q);
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5040, 2, -1, "n2");
    expect_notification(f, "n2");
    peer_piggyback(f, &q);
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    assert_int_equal(ev->tag, 0); /* a plain request */
    expect_payload(&ev->msg, "ok");
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5041, 3, -1, "n3");
    expect_notification(f, "n3");
}

/* Passive cancel: forget it; the next notification gets RST (§3.6). */
static void passive_cancel(void **state)
{
    fx_t *f = *state;
    start(f);
    reg_t r = observe(f, TAG, 1);
    assert_zcoap_ok(zcoap_ep_observe_cancel(&f->ep, TAG, NULL));
    assert_false(zcoap_ep_observing(&f->ep, TAG));
    assert_zcoap_err(zcoap_ep_observe_cancel(&f->ep, TAG, NULL), ZCOAP_ENOTFOUND);
    server_sends(f, &r, ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x5050, 2, -1, "late");
    expect_sent_empty(f, T0, ZCOAP_TYPE_RST, 0x5050);
    expect_events(f, ZCOAP_EV_UNHANDLED);
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5051, 3, -1, "late");
    expect_sent_empty(f, T0, ZCOAP_TYPE_RST, 0x5051);
    expect_events(f, ZCOAP_EV_UNHANDLED);
}

/* TD_COAP_OBS_03 (stop resource observation), active cancel: GET with Observe 1 and the same token
 * (§3.6). */
static void td_coap_obs_03_active_cancel(void **state)
{
    fx_t *f = *state;
    start(f);
    reg_t r = observe(f, TAG, 1);
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_ep_observe_cancel(&f->ep, TAG, &b));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "test"));
    assert_zcoap_ok(zcoap_ep_request_send(&f->ep, &b, 0, now(f)));
    vnet_pump(&f->net);
    const vnet_dgram_t *d = next_sent(f, T0);
    zcoap_msg_t m;
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.code, ZCOAP_GET);
    assert_int_equal(m.token_len, r.token_len);
    assert_memory_equal(m.token, r.token, r.token_len);
    uint32_t observe_value = 0;
    assert_zcoap_ok(zcoap_msg_get_uint(&m, ZCOAP_OPT_OBSERVE, &observe_value));
    assert_int_equal(observe_value, 1);
    const vnet_event_rec_t *sent = expect_events(f, ZCOAP_EV_OUT_CON_SENT);
    assert_int_equal(sent->tag, TAG);
    /* The answer is a plain response (no Observe): delivered, nothing established. */
    reg_t cancel = {.mid = m.mid, .token_len = r.token_len};
    memcpy(cancel.token, r.token, r.token_len);
    server_sends(f, &cancel, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, m.mid, -1, -1, "bye");
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    assert_false(zcoap_ep_observing(&f->ep, TAG));
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5060, 5, -1, "late");
    expect_sent_empty(f, T0, ZCOAP_TYPE_RST, 0x5060);
}

/* RFC 8132 §2.4: an observation registered with FETCH is cancelled with a FETCH (Observe 1, the
 * same token), which the caller gives the registration's body again. */
static void fetch_observation_cancels_with_fetch(void **state)
{
    fx_t *f = *state;
    start(f);
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_ep_observe_begin(&f->ep, ZCOAP_FETCH, TAG, &b));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "test"));
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "q", 1));
    assert_zcoap_ok(zcoap_ep_request_send(&f->ep, &b, 0, now(f)));
    vnet_pump(&f->net);
    zcoap_msg_t m;
    const vnet_dgram_t *d = next_sent(f, now(f));
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.code, ZCOAP_FETCH);
    expect_events(f, ZCOAP_EV_OUT_CON_SENT);
    reg_t r = {.mid = m.mid, .token_len = m.token_len};
    memcpy(r.token, m.token, m.token_len);
    server_sends(f, &r, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, r.mid, 3, -1, "v0");
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    assert_true(zcoap_ep_observing(&f->ep, TAG));

    assert_zcoap_ok(zcoap_ep_observe_cancel(&f->ep, TAG, &b));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "test"));
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "q", 1));
    assert_zcoap_ok(zcoap_ep_request_send(&f->ep, &b, 0, now(f)));
    vnet_pump(&f->net);
    d = next_sent(f, now(f));
    parse_ok(&m, d->data, d->len);
    assert_int_equal(m.code, ZCOAP_FETCH);
    assert_memory_equal(m.token, r.token, r.token_len);
    uint32_t observe_value = 0;
    assert_zcoap_ok(zcoap_msg_get_uint(&m, ZCOAP_OPT_OBSERVE, &observe_value));
    assert_int_equal(observe_value, 1);
    expect_payload(&m, "q");
    expect_events(f, ZCOAP_EV_OUT_CON_SENT);
}

/* The server ends the observation with an error or a response without
 * Observe (§3.2); the observation is gone afterwards. */
static void server_ends_the_observation(void **state)
{
    fx_t *f = *state;
    start(f);
    reg_t r = observe(f, TAG, 1);
    server_sends(f, &r, ZCOAP_TYPE_CON, ZCOAP_NOT_FOUND, 0x5070, -1, -1, NULL);
    expect_sent_empty(f, T0, ZCOAP_TYPE_ACK, 0x5070);
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OBS_ENDED);
    assert_int_equal(ev->tag, TAG);
    assert_int_equal(ev->msg.code, ZCOAP_NOT_FOUND);
    assert_false(zcoap_ep_observing(&f->ep, TAG));
    /* And with a 2.05 without Observe. */
    r = observe(f, TAG, 1);
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5071, -1, -1, "plain");
    expect_events(f, ZCOAP_EV_OBS_ENDED);
    assert_false(zcoap_ep_observing(&f->ep, TAG));
}

/* A server that does not take us answers without Observe: a plain response, nothing kept. An
 * error, a timeout or a RST leave nothing either. */
static void registration_not_taken(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    reg_t r = register_request(f, TAG);
    server_sends(f, &r, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, r.mid, -1, -1, "once");
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    assert_false(zcoap_ep_observing(&f->ep, TAG));
    r = register_request(f, TAG);
    server_sends(f, &r, ZCOAP_TYPE_ACK, ZCOAP_NOT_FOUND, r.mid, 0, -1, NULL);
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    assert_false(zcoap_ep_observing(&f->ep, TAG));
    r = register_request(f, TAG);
    peer_empty(f, ZCOAP_TYPE_RST, r.mid);
    expect_events(f, ZCOAP_EV_OUT_RESET);
    assert_false(zcoap_ep_observing(&f->ep, TAG));
    (void)register_request(f, TAG);
    run_to(f, T0 + 62000); /* MAX_TRANSMIT_WAIT with exact timing */
    f->inbox_pos = f->net.node[PEER].inbox_len;
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OUT_TIMEOUT);
    assert_int_equal(ev->tag, TAG);
    /* Both slots are free again. */
    (void)observe(f, 1, 1);
    (void)observe(f, 2, 1);
}

/* The endpoint keeps as many observations as it was given slots. */
static void observations_are_bounded(void **state)
{
    fx_t *f = *state;
    start(f);
    (void)observe(f, 1, 1);
    (void)observe(f, 2, 1);
    zcoap_builder_t b;
    assert_zcoap_err(zcoap_ep_observe_begin(&f->ep, ZCOAP_GET, 3, &b), ZCOAP_ENOSPC);
    assert_zcoap_ok(zcoap_ep_observe_cancel(&f->ep, 1, NULL));
    (void)observe(f, 3, 1);
    /* No slots at all: no observation. */
    f->cfg.observations = NULL;
    f->cfg.observations_cap = 0;
    vnet_free(&f->net);
    start(f);
    assert_zcoap_err(zcoap_ep_observe_begin(&f->ep, ZCOAP_GET, 3, &b), ZCOAP_ENOSPC);
    assert_zcoap_err(zcoap_ep_observe_begin(&f->ep, ZCOAP_POST, 3, &b), ZCOAP_EINVAL);
}

/* TD_COAP_OBS_04, client detection of deregistration (§3.3.1): no notification for Max-Age +
 * margin: OBS_RENEW once; registering again with the tag reuses the token. A notification re-arms
 * the deadline. */
static void td_coap_obs_04_renew_after_max_age(void **state)
{
    fx_t *f = *state;
    start(f);
    reg_t r = register_request(f, TAG);
    server_sends(f, &r, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, r.mid, 1, 10, "v1");
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    run_to(f, T0 + 8000);
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5080, 2, 10, "v2"); /* re-arms */
    expect_notification(f, "v2");
    uint64_t due = T0 + 8000 + 10000 + ZCOAP_OBS_RENEW_MARGIN_MS;
    assert_int_equal(zcoap_ep_next_deadline(&f->ep) <= due, true);
    run_to(f, due - 1);
    expect_no_events(f);
    run_to(f, due);
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OBS_RENEW);
    assert_int_equal(ev->tag, TAG);
    run_to(f, due + 100000);
    expect_no_events(f); /* reported once */
    reg_t again = register_request(f, TAG);
    assert_int_equal(again.token_len, r.token_len);
    assert_memory_equal(again.token, r.token, r.token_len);
    server_sends(f, &again, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, again.mid, 3, 10, "v3");
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    assert_true(zcoap_ep_observing(&f->ep, TAG));
    /* Without Max-Age: 60 s (RFC 7252 §5.10.5). */
    server_sends(f, &again, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5081, 4, -1, "v4");
    expect_notification(f, "v4");
    uint64_t t = now(f);
    run_to(f, t + 60000 + ZCOAP_OBS_RENEW_MARGIN_MS - 1);
    expect_no_events(f);
    run_to(f, t + 60000 + ZCOAP_OBS_RENEW_MARGIN_MS);
    expect_events(f, ZCOAP_EV_OBS_RENEW);
}

/* A renewal nobody answers ends the observation (the server is gone as far as we can tell): a
 * later notification gets RST. */
static void unanswered_renewal_ends_the_observation(void **state)
{
    fx_t *f = *state;
    exact_timing(f);
    start(f);
    reg_t r = register_request(f, TAG);
    server_sends(f, &r, ZCOAP_TYPE_ACK, ZCOAP_CONTENT, r.mid, 1, 1, "v1");
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    run_to(f, T0 + 1000 + ZCOAP_OBS_RENEW_MARGIN_MS);
    expect_events(f, ZCOAP_EV_OBS_RENEW);
    (void)register_request(f, TAG);
    run_to(f, now(f) + 62000);
    f->inbox_pos = f->net.node[PEER].inbox_len;
    const vnet_event_rec_t *ev = expect_events(f, ZCOAP_EV_OUT_TIMEOUT);
    assert_int_equal(ev->tag, TAG);
    assert_false(zcoap_ep_observing(&f->ep, TAG));
    assert_int_equal(zcoap_ep_next_deadline(&f->ep) == ZCOAP_NEVER ||
                         zcoap_ep_next_deadline(&f->ep) > now(f),
                     true);
    server_sends(f, &r, ZCOAP_TYPE_NON, ZCOAP_CONTENT, 0x5090, 2, -1, "late");
    expect_sent_empty(f, now(f), ZCOAP_TYPE_RST, 0x5090);
}

/* A duplicate CON notification's event names its observation, whatever request came last. */
static void duplicate_notification_event_carries_its_tag(void **state)
{
    fx_t *f = *state;
    start(f);
    reg_t r = observe(f, TAG, 1);
    sent_req_t q;
    con_get(f, &q);
    peer_piggyback(f, &q);
    expect_events(f, ZCOAP_EV_OUT_RESPONSE);
    server_sends(f, &r, ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x50A0, 2, -1, "d");
    server_sends(f, &r, ZCOAP_TYPE_CON, ZCOAP_CONTENT, 0x50A0, 2, -1, "d");
    const vnet_event_rec_t *ev =
        expect_events(f, ZCOAP_EV_OBS_NOTIFICATION, ZCOAP_EV_OUT_DUPLICATE_RESPONSE);
    assert_int_equal(ev[1].tag, TAG);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(td_coap_obs_01_02_register_and_notifications),
        T(duplicate_con_notification_acknowledged_every_time),
        T(reordered_notifications_are_dropped),
        T(sequence_number_wraps_at_24_bits),
        T(requests_while_observing),
        T(passive_cancel),
        T(td_coap_obs_03_active_cancel),
        T(fetch_observation_cancels_with_fetch),
        T(server_ends_the_observation),
        T(registration_not_taken),
        T(observations_are_bounded),
        T(td_coap_obs_04_renew_after_max_age),
        T(unanswered_renewal_ends_the_observation),
        T(duplicate_notification_event_carries_its_tag),
    };
    return cmocka_run_group_tests_name("endpoint_observe", tests, NULL, NULL);
}
