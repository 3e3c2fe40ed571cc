/* Observe building blocks (src/observe.c): the freshness rule of RFC 7641 §3.4 (reordered
 * notifications), 24-bit sequence numbers (§4.4), the Observe value of a request (§2, §3.6),
 * the observer table (§4.1: one entry per client endpoint and token, full table served without
 * Observe), and the CON/NON choice (§4.5: a CON at least every N-th and every 24 hours). */
#include "zcoap_test.h"

#include "zcoap/observe.h"

#define SECOND 1000u

/* ---- §3.4 freshness -------------------------------------------------------------------------- */

static void fresher_in_order_and_reordered(void **state)
{
    (void)state;
    const uint64_t t = 5000000u;
    assert_true(zcoap_obs_is_fresher(5, t, 6, t));
    assert_true(zcoap_obs_is_fresher(5, t, 5 + (1u << 23) - 1u, t)); /* just inside the window */
    assert_false(zcoap_obs_is_fresher(5, t, 5 + (1u << 23), t));     /* exactly 2^23: not newer */
    assert_false(zcoap_obs_is_fresher(6, t, 5, t));                  /* reordered: older */
    assert_false(zcoap_obs_is_fresher(6, t, 6, t));                  /* a duplicate */
    assert_false(zcoap_obs_is_fresher(6, t + 1, 6, t + 1));
}

/* The 24-bit wrap: 0xFFFFFF is followed by 0, 1, ... */
static void fresher_across_the_24_bit_wrap(void **state)
{
    (void)state;
    const uint64_t t = 5000000u;
    assert_true(zcoap_obs_is_fresher(0xFFFFFFu, t, 0, t));
    assert_true(zcoap_obs_is_fresher(0xFFFFF0u, t, 0x10, t));
    assert_false(zcoap_obs_is_fresher(0x10, t, 0xFFFFF0u, t));     /* the old side of the wrap */
    assert_true(zcoap_obs_is_fresher(0xFFFFFFu, t, 0x7FFFFEu, t)); /* 2^23 - 1 ahead */
    assert_false(zcoap_obs_is_fresher(0xFFFFFFu, t, 0x7FFFFFu, t));
    /* Values above 24 bits are the 24-bit values. */
    assert_true(zcoap_obs_is_fresher(0x1FFFFFFu, t, 0x1000000u, t));
}

/* More than 128 s later a notification is fresher whatever its number (the server may have
 * restarted its counter). */
static void fresher_after_128_seconds(void **state)
{
    (void)state;
    const uint64_t t = 5000000u;
    assert_false(zcoap_obs_is_fresher(100, t, 3, t + 128 * SECOND));
    assert_true(zcoap_obs_is_fresher(100, t, 3, t + 128 * SECOND + 1));
    assert_true(zcoap_obs_is_fresher(100, t, 100, t + 200 * SECOND));
}

static void sequence_numbers_wrap_at_24_bits(void **state)
{
    (void)state;
    assert_int_equal(zcoap_obs_seq_next(0), 1);
    assert_int_equal(zcoap_obs_seq_next(0xFFFFFEu), 0xFFFFFFu);
    assert_int_equal(zcoap_obs_seq_next(0xFFFFFFu), 0);
    uint32_t seq = 0xFFFFFDu;
    uint32_t prev = seq;
    for (int i = 0; i < 6; i++) {
        seq = zcoap_obs_seq_next(seq);
        assert_true(zcoap_obs_is_fresher(prev, 0, seq, 0)); /* each is newer than the last */
        prev = seq;
    }
}

/* ---- §2 the Observe value of a request ------------------------------------------------------- */

static uint8_t req_buf[128];

static zcoap_msg_t request(uint8_t code, int observe)
{
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, req_buf, sizeof(req_buf), ZCOAP_TYPE_CON, code, 0x1234, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "obs"));
    if (observe >= 0)
        assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, (uint32_t)observe));
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    zcoap_msg_t m;
    parse_ok(&m, req_buf, (size_t)n);
    return m;
}

static void request_action(void **state)
{
    (void)state;
    zcoap_msg_t m = request(ZCOAP_GET, 0);
    assert_int_equal(zcoap_obs_request_action(&m), ZCOAP_OBS_REGISTER);
    m = request(ZCOAP_GET, 1);
    assert_int_equal(zcoap_obs_request_action(&m), ZCOAP_OBS_DEREGISTER);
    m = request(ZCOAP_FETCH, 0); /* RFC 8132 §2.4: FETCH can be observed */
    assert_int_equal(zcoap_obs_request_action(&m), ZCOAP_OBS_REGISTER);
    m = request(ZCOAP_GET, -1);
    assert_int_equal(zcoap_obs_request_action(&m), -1);
    m = request(ZCOAP_GET, 2); /* no meaning in a request */
    assert_int_equal(zcoap_obs_request_action(&m), -1);
    m = request(ZCOAP_PUT, 0); /* only GET and FETCH register */
    assert_int_equal(zcoap_obs_request_action(&m), -1);
    m = request(ZCOAP_POST, 1);
    assert_int_equal(zcoap_obs_request_action(&m), -1);
    assert_int_equal(zcoap_obs_request_action(NULL), -1);
}

/* ---- §4.1 the observer table ----------------------------------------------------------------- */

static int peer_a, peer_b;
static int res_x, res_y;
static const uint8_t tok1[2] = {0x01, 0x02};
static const uint8_t tok2[2] = {0x03, 0x04};

static void register_find_remove(void **state)
{
    (void)state;
    zcoap_observer_t slots[4];
    zcoap_obs_table_t t;
    assert_zcoap_ok(zcoap_obs_table_init(&t, slots, 4));
    zcoap_observer_t *o = NULL;
    assert_zcoap_ok(zcoap_obs_register(&t, &res_x, &peer_a, tok1, 2, 100, &o));
    assert_non_null(o);
    assert_ptr_equal(o->resource, &res_x);
    assert_ptr_equal(o->peer, &peer_a);
    assert_int_equal(o->token_len, 2);
    assert_memory_equal(o->token, tok1, 2);
    assert_int_equal(t.used, 1);
    assert_ptr_equal(zcoap_obs_find(&t, &peer_a, tok1, 2), o);
    assert_null(zcoap_obs_find(&t, &peer_b, tok1, 2)); /* same token, another endpoint */
    assert_null(zcoap_obs_find(&t, &peer_a, tok2, 2));
    assert_null(zcoap_obs_find(&t, &peer_a, tok1, 1));
    /* An empty token is a token too. */
    zcoap_observer_t *empty = NULL;
    assert_zcoap_ok(zcoap_obs_register(&t, &res_y, &peer_a, NULL, 0, 100, &empty));
    assert_ptr_equal(zcoap_obs_find(&t, &peer_a, NULL, 0), empty);
    assert_int_equal(t.used, 2);
    assert_zcoap_ok(zcoap_obs_remove(&t, &peer_a, tok1, 2));
    assert_zcoap_err(zcoap_obs_remove(&t, &peer_a, tok1, 2), ZCOAP_ENOTFOUND);
    assert_null(zcoap_obs_find(&t, &peer_a, tok1, 2));
    assert_int_equal(t.used, 1);
    /* By entry, as a driver that keeps the slot does it. */
    assert_zcoap_ok(zcoap_obs_remove_entry(&t, empty));
    assert_int_equal(t.used, 0);
    assert_null(zcoap_obs_find(&t, &peer_a, NULL, 0));
    assert_zcoap_err(zcoap_obs_remove_entry(&t, empty), ZCOAP_EINVAL); /* no longer in use */
    zcoap_observer_t outside;
    assert_zcoap_err(zcoap_obs_remove_entry(&t, &outside), ZCOAP_EINVAL);
}

/* A client renewing its registration with the same token updates its entry (§4.1). */
static void register_again_updates(void **state)
{
    (void)state;
    zcoap_observer_t slots[2];
    zcoap_obs_table_t t;
    assert_zcoap_ok(zcoap_obs_table_init(&t, slots, 2));
    zcoap_observer_t *first = NULL;
    zcoap_observer_t *again = NULL;
    assert_zcoap_ok(zcoap_obs_register(&t, &res_x, &peer_a, tok1, 2, 100, &first));
    first->since_con = 3;
    assert_zcoap_ok(zcoap_obs_register(&t, &res_y, &peer_a, tok1, 2, 900, &again));
    assert_ptr_equal(again, first);
    assert_ptr_equal(again->resource, &res_y);
    assert_int_equal(again->since_con, 0);
    assert_int_equal(again->last_con_ms, 900);
    assert_int_equal(t.used, 1);
}

/* A full table refuses: the GET is then served without Observe (§4.1). */
static void full_table_refuses(void **state)
{
    (void)state;
    zcoap_observer_t slots[2];
    zcoap_obs_table_t t;
    assert_zcoap_ok(zcoap_obs_table_init(&t, slots, 2));
    assert_zcoap_ok(zcoap_obs_register(&t, &res_x, &peer_a, tok1, 2, 0, NULL));
    assert_zcoap_ok(zcoap_obs_register(&t, &res_x, &peer_b, tok1, 2, 0, NULL));
    zcoap_observer_t *o = &slots[0];
    assert_zcoap_err(zcoap_obs_register(&t, &res_x, &peer_a, tok2, 2, 0, &o), ZCOAP_ENOSPC);
    assert_null(o);
    /* Renewing an existing entry still works when full. */
    assert_zcoap_ok(zcoap_obs_register(&t, &res_y, &peer_b, tok1, 2, 0, NULL));
    /* A freed slot is taken again. */
    assert_zcoap_ok(zcoap_obs_remove(&t, &peer_a, tok1, 2));
    assert_zcoap_ok(zcoap_obs_register(&t, &res_x, &peer_a, tok2, 2, 0, NULL));
    assert_int_equal(t.used, 2);
    /* A table of no slots observes nothing. */
    zcoap_obs_table_t none;
    assert_zcoap_ok(zcoap_obs_table_init(&none, NULL, 0));
    assert_zcoap_err(zcoap_obs_register(&none, &res_x, &peer_a, tok1, 2, 0, NULL), ZCOAP_ENOSPC);
}

static size_t count(const zcoap_obs_table_t *t, const void *resource)
{
    size_t cursor = 0;
    size_t n = 0;
    while (zcoap_obs_next(t, resource, &cursor) != NULL)
        n++;
    return n;
}

/* Notifying walks the observers of one resource; removing while walking is allowed. */
static void iterate_and_remove(void **state)
{
    (void)state;
    zcoap_observer_t slots[6];
    zcoap_obs_table_t t;
    assert_zcoap_ok(zcoap_obs_table_init(&t, slots, 6));
    assert_zcoap_ok(zcoap_obs_register(&t, &res_x, &peer_a, tok1, 2, 0, NULL));
    assert_zcoap_ok(zcoap_obs_register(&t, &res_y, &peer_a, tok2, 2, 0, NULL));
    assert_zcoap_ok(zcoap_obs_register(&t, &res_x, &peer_b, tok1, 2, 0, NULL));
    assert_zcoap_ok(zcoap_obs_register(&t, &res_x, &peer_b, tok2, 2, 0, NULL));
    assert_int_equal(count(&t, &res_x), 3);
    assert_int_equal(count(&t, &res_y), 1);
    assert_int_equal(count(&t, NULL), 4);
    size_t cursor = 0;
    zcoap_observer_t *o;
    size_t seen = 0;
    while ((o = zcoap_obs_next(&t, &res_x, &cursor)) != NULL) {
        seen++;
        if (o->peer == &peer_b) /* e.g. its notification was answered with RST */
            assert_zcoap_ok(zcoap_obs_remove(&t, o->peer, o->token, o->token_len));
    }
    assert_int_equal(seen, 3);
    assert_int_equal(count(&t, &res_x), 1);
    /* Removing by peer (it went away) and by resource (deleted, its observers told 4.04). */
    assert_zcoap_ok(zcoap_obs_register(&t, &res_y, &peer_b, tok1, 2, 0, NULL));
    assert_int_equal(zcoap_obs_remove_peer(&t, &peer_a), 2);
    assert_int_equal(count(&t, NULL), 1);
    assert_int_equal(zcoap_obs_remove_resource(&t, &res_y), 1);
    assert_int_equal(count(&t, NULL), 0);
    assert_int_equal(t.used, 0);
    assert_int_equal(zcoap_obs_remove_peer(&t, &peer_a), 0);
}

static void table_api_errors(void **state)
{
    (void)state;
    zcoap_observer_t slots[1];
    zcoap_obs_table_t t;
    uint8_t nine[9] = {0};
    assert_zcoap_err(zcoap_obs_table_init(NULL, slots, 1), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_obs_table_init(&t, NULL, 1), ZCOAP_EINVAL);
    assert_zcoap_ok(zcoap_obs_table_init(&t, slots, 1));
    assert_zcoap_err(zcoap_obs_register(NULL, &res_x, &peer_a, tok1, 2, 0, NULL), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_obs_register(&t, &res_x, &peer_a, nine, 9, 0, NULL), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_obs_register(&t, &res_x, &peer_a, NULL, 2, 0, NULL), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_obs_remove(&t, &peer_a, nine, 9), ZCOAP_EINVAL);
    assert_null(zcoap_obs_find(NULL, &peer_a, tok1, 2));
    assert_null(zcoap_obs_next(&t, NULL, NULL));
    assert_false(zcoap_obs_next_is_confirmable(NULL, NULL, 0));
}

/* ---- §4.5 CON or NON ---------------------------------------------------------------------------
 */

static zcoap_observer_t *one_observer(zcoap_obs_table_t *t, zcoap_observer_t *slots, uint64_t at)
{
    zcoap_observer_t *o = NULL;
    assert_zcoap_ok(zcoap_obs_table_init(t, slots, 1));
    assert_zcoap_ok(zcoap_obs_register(t, &res_x, &peer_a, tok1, 2, at, &o));
    return o;
}

/* con_every 5: NON, NON, NON, NON, CON, and again (the zcoap-server /obs of the issue). */
static void every_fifth_is_confirmable(void **state)
{
    (void)state;
    zcoap_observer_t slots[1];
    zcoap_obs_table_t t;
    zcoap_observer_t *o = one_observer(&t, slots, 0);
    const zcoap_obs_policy_t every5 = {5, 0};
    char pattern[16] = {0};
    for (int i = 0; i < 15; i++)
        pattern[i] = zcoap_obs_next_is_confirmable(o, &every5, (uint64_t)i * SECOND) ? 'C' : 'N';
    assert_string_equal(pattern, "NNNNCNNNNCNNNNC");
}

static void always_and_never_confirmable(void **state)
{
    (void)state;
    zcoap_observer_t slots[1];
    zcoap_obs_table_t t;
    zcoap_observer_t *o = one_observer(&t, slots, 0);
    const zcoap_obs_policy_t always = {1, 0};
    const zcoap_obs_policy_t never = {0, 0};
    for (int i = 0; i < 5; i++)
        assert_true(zcoap_obs_next_is_confirmable(o, &always, (uint64_t)i));
    for (int i = 0; i < 1000; i++)
        assert_false(zcoap_obs_next_is_confirmable(o, &never, (uint64_t)i * SECOND));
    assert_int_equal(o->since_con, 1000);
}

/* Whatever the count, a CON at least every 24 hours (or the policy's shorter interval); the
 * clock starts at the registration. */
static void confirmable_at_least_every_24_hours(void **state)
{
    (void)state;
    const uint64_t day = 86400u * SECOND;
    const uint64_t t0 = 1000000u;
    zcoap_observer_t slots[1];
    zcoap_obs_table_t t;
    zcoap_observer_t *o = one_observer(&t, slots, t0);
    assert_false(zcoap_obs_next_is_confirmable(o, NULL, t0 + day - 1));
    assert_true(zcoap_obs_next_is_confirmable(o, NULL, t0 + day));
    assert_false(zcoap_obs_next_is_confirmable(o, NULL, t0 + day + 1));
    assert_true(zcoap_obs_next_is_confirmable(o, NULL, t0 + 2 * day));
    const zcoap_obs_policy_t hourly = {100, 3600};
    assert_false(zcoap_obs_next_is_confirmable(o, &hourly, t0 + 2 * day + 3599 * SECOND));
    assert_true(zcoap_obs_next_is_confirmable(o, &hourly, t0 + 2 * day + 3600 * SECOND));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fresher_in_order_and_reordered),
        cmocka_unit_test(fresher_across_the_24_bit_wrap),
        cmocka_unit_test(fresher_after_128_seconds),
        cmocka_unit_test(sequence_numbers_wrap_at_24_bits),
        cmocka_unit_test(request_action),
        cmocka_unit_test(register_find_remove),
        cmocka_unit_test(register_again_updates),
        cmocka_unit_test(full_table_refuses),
        cmocka_unit_test(iterate_and_remove),
        cmocka_unit_test(table_api_errors),
        cmocka_unit_test(every_fifth_is_confirmable),
        cmocka_unit_test(always_and_never_confirmable),
        cmocka_unit_test(confirmable_at_least_every_24_hours),
    };
    return cmocka_run_group_tests_name("observe", tests, NULL, NULL);
}
