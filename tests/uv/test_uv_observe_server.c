/*
 * Observe (RFC 7641) on the adapter's server: registrations, notifications, and every way an
 * observation ends, on a real loop over loopback.
 *
 * The clients are raw UDP peers (tests/support/uv_support.h) that play CoAP by hand, so every
 * byte the server sends is checked and every ACK or RST is the test's own choice (lockstep). The
 * server and the peers share ONE loop. A "barrier" (a CoAP ping from a peer, answered by RST)
 * proves that nothing else was sent before it: loopback keeps one sender's datagrams in order.
 * Every wait is bounded by a guard timer; nothing sleeps; each test ends with every handle closed
 * and uv_loop_close() == 0.
 *
 * ETSI CoAP plugtest cases are named where a test checks the server's part of them: OBS_01 (CON
 * notifications), OBS_02 (NON notifications), OBS_05 (server detects deregistration: the client
 * is off, a CON notification times out), OBS_06 (explicit RST), OBS_07 (observers cleaned on
 * DELETE), OBS_09 (update of the observed resource by another client), OBS_10 (a GET does not
 * cancel the observation).
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
    GUARD_MS = 5000, /* loop time after which a wait counts as failed */
    /* Lockstep tests answer within milliseconds: a CON is retransmitted only after a second. */
    SLOW_ACK_TIMEOUT_MS = 1000,
    /* The timeout tests: ACK_TIMEOUT 20 ms, factor 1.0, MAX_RETRANSMIT 1 (§4.8): a CON goes at 0
     * and 20 ms and times out at 60 ms. MAX_LATENCY 50 ms: EXCHANGE_LIFETIME = 20 * (2^1 - 1) +
     * 2 * 50 + 20 = 140 ms (§4.8.2), after which an idle peer is recycled. */
    FAST_ACK_TIMEOUT_MS = 20,
    FAST_MAX_LATENCY_MS = 50,
    FAST_LIFETIME_MS = 140,
    /* The replacement test: the first retransmission comes 200 ms after the CON notification. */
    REPLACE_ACK_TIMEOUT_MS = 200,
    N_PEERS = 2,
    MAX_AGE_S = 30
};

/* The server's table. */
enum { RES_OBS, RES_PLAIN, RES_LATE, N_RES };

static const uint8_t TOKEN_A[4] = {0xA1, 0xA2, 0xA3, 0xA4};
static const uint8_t TOKEN_B[2] = {0xB1, 0xB2};

typedef struct fixture {
    uvt_loop_t uv;
    zcoap_uv_server_config_t cfg; /* set up by the test before start_server() */
    zcoap_uv_server_t server;
    zcoap_resource_t resources[N_RES];
    bool server_started;
    bool server_close_requested;
    int server_close_calls;
    struct sockaddr_storage server_addr;
    uvt_peer_t peers[N_PEERS];
    size_t seen[N_PEERS]; /* datagrams of each peer the test has looked at (next_msg()) */
    uint16_t next_mid;    /* MIDs of the peers' messages */

    /* /obs: its state, and how its handler answers */
    char value[32];
    uint8_t get_code;     /* answer to GET (registrations included) */
    uint8_t notify_code;  /* answer to a notification (req NULL) */
    int64_t max_age_s;    /* Max-Age of both; < 0: none */
    bool skip_notify;     /* answer nothing to a notification */
    bool nested_calls;    /* inside a notification: call notify and answer twice */
    int nested_notify_rc; /* what zcoap_uv_server_notify() said from inside the handler */
    int second_answer_rc; /* what the second answer said */
    int notifications_asked;
    int notify_on_put_rc;
    int gone_on_delete_rc;
    /* /late: answers registrations later (separate), from the test */
    zcoap_uv_peer_t *late_peer;

    /* waits */
    const uvt_peer_t *wait_peer;
    size_t wait_rx;
    size_t wait_observers;
    size_t wait_peers_in_use;
} fixture_t;

/* ---- waits -------------------------------------------------------------------------------- */

static bool enough_rx(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->wait_peer->n_rx >= f->wait_rx;
}

/* Run the loop until peer @p i has received @p n datagrams in all. */
static void wait_rx(fixture_t *f, int i, size_t n)
{
    f->wait_peer = &f->peers[i];
    f->wait_rx = n;
    if (!uvt_run_until(&f->uv, GUARD_MS, enough_rx, f)) {
        fail_msg("peer %d got %zu datagram(s), not %zu", i, f->peers[i].n_rx, n);
    }
}

static bool observers_are(const void *ctx)
{
    const fixture_t *f = ctx;
    return zcoap_uv_server_stats(&f->server)->observers_in_use == f->wait_observers;
}

static void wait_observers(fixture_t *f, size_t n)
{
    f->wait_observers = n;
    if (!uvt_run_until(&f->uv, GUARD_MS, observers_are, f)) {
        fail_msg("%zu observers, not %zu", zcoap_uv_server_stats(&f->server)->observers_in_use, n);
    }
}

static bool peers_in_use_are(const void *ctx)
{
    const fixture_t *f = ctx;
    return zcoap_uv_server_stats(&f->server)->peers_in_use == f->wait_peers_in_use;
}

static void wait_peers_in_use(fixture_t *f, size_t n)
{
    f->wait_peers_in_use = n;
    if (!uvt_run_until(&f->uv, GUARD_MS, peers_in_use_are, f)) {
        fail_msg("%zu peers in use, not %zu", zcoap_uv_server_stats(&f->server)->peers_in_use, n);
    }
}

static bool server_closed(const void *ctx)
{
    const fixture_t *f = ctx;
    return !f->server_close_requested || f->server_close_calls > 0;
}

/* ---- the resources ------------------------------------------------------------------------ */

/* /obs: GET (observable), PUT (a new state, notified: OBS_09), DELETE (gone: OBS_07). */
static void handle_obs(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                       const zcoap_msg_t *req)
{
    fixture_t *f = s->data;
    zcoap_uv_respond_opts_t opts = {.content_format = ZCOAP_CF_TEXT_PLAIN,
                                    .max_age_s = f->max_age_s};
    if (req == NULL) { /* a notification */
        f->notifications_asked++;
        if (f->nested_calls) {
            f->nested_notify_rc = zcoap_uv_server_notify(s, res);
        }
        if (f->skip_notify) {
            return;
        }
        (void)zcoap_uv_peer_respond_opts(peer, f->notify_code, &opts, f->value, strlen(f->value));
        if (f->nested_calls) {
            f->second_answer_rc = zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, -1, "x", 1);
        }
        return;
    }
    if (req->code == ZCOAP_PUT) {
        size_t n = req->payload_len < sizeof f->value - 1 ? req->payload_len : sizeof f->value - 1;
        memcpy(f->value, req->payload, n);
        f->value[n] = '\0';
        (void)zcoap_uv_peer_respond(peer, ZCOAP_CHANGED, -1, NULL, 0);
        f->notify_on_put_rc = zcoap_uv_server_notify(s, res);
        return;
    }
    if (req->code == ZCOAP_DELETE) {
        (void)zcoap_uv_peer_respond(peer, ZCOAP_DELETED, -1, NULL, 0);
        f->gone_on_delete_rc = zcoap_uv_server_resource_gone(s, res);
        return;
    }
    (void)zcoap_uv_peer_respond_opts(peer, f->get_code, &opts, f->value, strlen(f->value));
}

static void handle_plain(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                         const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    (void)req;
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, "plain", 5);
}

/* /late: keeps the request (the test answers it); a notification answers at once. */
static void handle_late(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                        const zcoap_msg_t *req)
{
    fixture_t *f = s->data;
    (void)res;
    if (req == NULL) {
        (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, "late", 4);
        return;
    }
    f->late_peer = peer;
    peer->data = f; /* an answer is owed */
    if (req->type == ZCOAP_TYPE_CON) {
        (void)zcoap_uv_peer_ack(peer);
    }
}

#define HANDLER(fn) ((void *)(uintptr_t)(fn))

static void make_resources(fixture_t *f)
{
    const uint32_t obs_methods = ZCOAP_METHOD_BIT(ZCOAP_GET) | ZCOAP_METHOD_BIT(ZCOAP_FETCH) |
                                 ZCOAP_METHOD_BIT(ZCOAP_PUT) | ZCOAP_METHOD_BIT(ZCOAP_DELETE);
    f->resources[RES_OBS] =
        (zcoap_resource_t){"obs", obs_methods, "ct=0;obs", false, HANDLER(handle_obs)};
    f->resources[RES_PLAIN] = (zcoap_resource_t){"plain", ZCOAP_METHOD_BIT(ZCOAP_GET), "ct=0",
                                                 false, HANDLER(handle_plain)};
    f->resources[RES_LATE] =
        (zcoap_resource_t){"late", ZCOAP_METHOD_BIT(ZCOAP_GET), "obs", false, HANDLER(handle_late)};
}

/* ---- the server --------------------------------------------------------------------------- */

static void start_server(fixture_t *f)
{
    make_resources(f);
    f->cfg.resources = f->resources;
    f->cfg.n_resources = N_RES;
    struct sockaddr_storage bind_addr;
    uvt_loopback(AF_INET, 0, &bind_addr);
    f->server.data = f;
    assert_int_equal(zcoap_uv_server_start(&f->uv.loop, &f->server,
                                           (const struct sockaddr *)&bind_addr, &f->cfg),
                     0);
    f->server_started = true;
    assert_int_equal(zcoap_uv_server_address(&f->server, &f->server_addr), 0);
}

/* Short transmission parameters: CON messages time out within 60 ms, windows end in 140 ms. */
static void use_fast_timers(fixture_t *f)
{
    f->cfg.tx.ack_timeout_ms = FAST_ACK_TIMEOUT_MS;
    f->cfg.tx.max_retransmit = 1;
    f->cfg.tx.max_latency_ms = FAST_MAX_LATENCY_MS;
}

static const zcoap_uv_server_stats_t *stats(const fixture_t *f)
{
    return zcoap_uv_server_stats(&f->server);
}

static int notify(fixture_t *f, const char *value)
{
    snprintf(f->value, sizeof f->value, "%s", value);
    return zcoap_uv_server_notify(&f->server, &f->resources[RES_OBS]);
}

static void set_policy(fixture_t *f, uint16_t con_every)
{
    const zcoap_obs_policy_t policy = {.con_every = con_every,
                                       .con_max_interval_s = ZCOAP_OBS_CON_MAX_INTERVAL_S};
    assert_int_equal(zcoap_uv_server_set_obs_policy(&f->server, &f->resources[RES_OBS], &policy),
                     0);
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

/* ---- the raw peers' messages -------------------------------------------------------------- */

static void peer_send(fixture_t *f, int i, const uint8_t *p, ptrdiff_t n)
{
    assert_int_equal(uvt_peer_send(&f->peers[i], &f->server_addr, p, n), 0);
}

/* Send a request from peer @p i to @p path; @p observe < 0 adds no Observe. Returns its MID. */
static uint16_t send_request(fixture_t *f, int i, uint8_t type, uint8_t method, const char *path,
                             const uint8_t *token, size_t token_len, int observe,
                             const char *payload)
{
    uint8_t buf[128];
    zcoap_builder_t b;
    uint16_t mid = f->next_mid++;
    assert_int_equal(
        zcoap_builder_init(&b, buf, sizeof buf, type, method, mid, token, (uint8_t)token_len), 0);
    if (observe >= 0) {
        assert_int_equal(zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, (uint32_t)observe), 0);
    }
    assert_int_equal(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, path), 0);
    if (payload != NULL) {
        assert_int_equal(zcoap_builder_set_payload(&b, payload, strlen(payload)), 0);
    }
    peer_send(f, i, buf, zcoap_builder_finish(&b));
    return mid;
}

static uint16_t send_get(fixture_t *f, int i, const char *path, const uint8_t *token,
                         size_t token_len, int observe)
{
    return send_request(f, i, ZCOAP_TYPE_CON, ZCOAP_GET, path, token, token_len, observe, NULL);
}

/* ACK or RST (an Empty message) with @p mid from peer @p i. */
static void send_empty(fixture_t *f, int i, uint8_t type, uint16_t mid)
{
    uint8_t buf[4];
    peer_send(f, i, buf, zcoap_build_empty(buf, sizeof buf, type, mid));
}

/* Received datagram @p k of peer @p i, parsed. */
static zcoap_msg_t rx(const fixture_t *f, int i, size_t k)
{
    return uvt_peer_rx_msg(&f->peers[i], k);
}

/* The Observe value of @p m, or -1 when it has none. */
static long observe_of(const zcoap_msg_t *m)
{
    uint32_t v = 0;
    return zcoap_msg_get_uint(m, ZCOAP_OPT_OBSERVE, &v) == ZCOAP_OK ? (long)v : -1;
}

static void assert_token(const zcoap_msg_t *m, const uint8_t *token, size_t token_len)
{
    assert_int_equal(m->token_len, token_len);
    assert_memory_equal(m->token, token, token_len);
}

static void assert_payload(const zcoap_msg_t *m, const char *text)
{
    assert_int_equal(m->payload_len, strlen(text));
    assert_memory_equal(m->payload, text, strlen(text));
}

/* Check a notification: type, 2.05, token, Observe, text/plain, payload. */
static void assert_notification(const zcoap_msg_t *m, uint8_t type, const uint8_t *token,
                                size_t token_len, long observe, const char *text)
{
    assert_int_equal(m->type, type);
    assert_int_equal(m->code, ZCOAP_CONTENT);
    assert_token(m, token, token_len);
    assert_int_equal(observe_of(m), observe);
    uint32_t cf = 99;
    assert_int_equal(zcoap_msg_get_uint(m, ZCOAP_OPT_CONTENT_FORMAT, &cf), ZCOAP_OK);
    assert_int_equal(cf, ZCOAP_CF_TEXT_PLAIN);
    assert_payload(m, text);
}

/* The next datagram peer @p i received that the test has not looked at yet (waits for it). */
static zcoap_msg_t next_msg(fixture_t *f, int i)
{
    wait_rx(f, i, f->seen[i] + 1u);
    return rx(f, i, f->seen[i]++);
}

/* A CoAP ping from peer @p i, and wait for its RST: whatever the server sent the peer before has
 * arrived by then (loopback keeps one sender's order). Returns how many other datagrams came
 * first (they count as looked at). */
static size_t barrier(fixture_t *f, int i)
{
    uint16_t mid = f->next_mid++;
    send_empty(f, i, ZCOAP_TYPE_CON, mid);
    for (size_t others = 0;; others++) {
        zcoap_msg_t m = next_msg(f, i);
        if (m.type == ZCOAP_TYPE_RST && m.mid == mid) {
            return others;
        }
    }
}

/* Register peer @p i on /obs with @p token (CON GET, Observe 0): the ACK is 2.05 with Observe
 * @p seq and the current value. Returns the answer. */
static zcoap_msg_t register_obs(fixture_t *f, int i, const uint8_t *token, size_t token_len,
                                long seq)
{
    uint16_t mid = send_get(f, i, "obs", token, token_len, ZCOAP_OBS_REGISTER);
    zcoap_msg_t m = next_msg(f, i);
    assert_int_equal(m.mid, mid);
    assert_notification(&m, ZCOAP_TYPE_ACK, token, token_len, seq, f->value);
    return m;
}

/* ---- setup and teardown ------------------------------------------------------------------- */

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL || uvt_loop_init(&f->uv) != 0) {
        free(f);
        return -1;
    }
    zcoap_uv_server_config_default(&f->cfg);
    f->cfg.recvmmsg = false;     /* one datagram per read: enough here, 1.3 MB less per test */
    f->cfg.recv_buffer_size = 0; /* the system's */
    f->cfg.tx.ack_random_factor_permil = 1000; /* retransmissions at exact instants */
    f->cfg.tx.ack_timeout_ms = SLOW_ACK_TIMEOUT_MS;
    f->get_code = ZCOAP_CONTENT;
    f->notify_code = ZCOAP_CONTENT;
    f->max_age_s = -1;
    f->next_mid = 0x1000;
    snprintf(f->value, sizeof f->value, "v0");
    for (int i = 0; i < N_PEERS; i++) {
        if (uvt_peer_open(&f->peers[i], &f->uv.loop, AF_INET, 0) != 0) {
            return -1;
        }
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    close_server(f);
    for (int i = 0; i < N_PEERS; i++) {
        uvt_peer_close(&f->peers[i]);
    }
    assert_true(uvt_run_until(&f->uv, GUARD_MS, server_closed, f));
    if (f->server_close_requested) {
        assert_int_equal(f->server_close_calls, 1);
    }
    uvt_loop_end(&f->uv);
    free(f);
    return 0;
}

/* ---- registration ------------------------------------------------------------------------- */

/* OBS_01 steps 2-3: a CON GET with Observe 0 is answered 2.05 (piggybacked) with Observe. */
static void test_register_answer_carries_observe(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    assert_int_equal(stats(f)->observers_in_use, 1);
    assert_int_equal(stats(f)->observers_registered, 1);
    assert_int_equal(stats(f)->peers_in_use, 1);
    uint32_t seq = 99;
    assert_int_equal(zcoap_uv_server_obs_seq(&f->server, &f->resources[RES_OBS], &seq), 0);
    assert_int_equal(seq, 0);
}

/* A NON registration gets a NON 2.05 with Observe, and then notifications. */
static void test_register_non_request(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    send_request(f, 0, ZCOAP_TYPE_NON, ZCOAP_GET, "obs", TOKEN_A, sizeof TOKEN_A, 0, NULL);
    zcoap_msg_t m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, 0, "v0");
    assert_int_equal(notify(f, "v1"), 1);
    m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, 1, "v1");
}

/* FETCH registers like GET (RFC 8132 §2.4). */
static void test_register_with_fetch(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    send_request(f, 0, ZCOAP_TYPE_CON, ZCOAP_FETCH, "obs", TOKEN_A, sizeof TOKEN_A, 0, NULL);
    zcoap_msg_t m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_ACK, TOKEN_A, sizeof TOKEN_A, 0, "v0");
    assert_int_equal(stats(f)->observers_in_use, 1);
}

/* Registering again with the same token (renewal, §3.3.1) updates the entry: one observer. */
static void test_renewal_keeps_one_entry(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    assert_int_equal(notify(f, "v1"), 1);
    (void)next_msg(f, 0);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 1); /* the current state and number */
    assert_int_equal(stats(f)->observers_in_use, 1);
    assert_int_equal(stats(f)->observers_registered, 2);
    assert_int_equal(notify(f, "v2"), 1);
    zcoap_msg_t m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, 2, "v2");
    assert_int_equal(barrier(f, 0), 0); /* one notification, not two */
}

/* The answer to a registration and every notification carry the handler's Max-Age. */
static void test_max_age_is_carried(void **state)
{
    fixture_t *f = *state;
    f->max_age_s = MAX_AGE_S;
    start_server(f);
    zcoap_msg_t m = register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    uint32_t max_age = 0;
    assert_int_equal(zcoap_msg_get_uint(&m, ZCOAP_OPT_MAX_AGE, &max_age), ZCOAP_OK);
    assert_int_equal(max_age, MAX_AGE_S);
    assert_int_equal(notify(f, "v1"), 1);
    m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, 1, "v1");
    max_age = 0;
    assert_int_equal(zcoap_msg_get_uint(&m, ZCOAP_OPT_MAX_AGE, &max_age), ZCOAP_OK);
    assert_int_equal(max_age, MAX_AGE_S);
}

/* §4.1: the table full, a registration is served as a plain GET, without Observe. */
static void test_table_full_serves_plain_get(void **state)
{
    fixture_t *f = *state;
    f->cfg.max_observers = 1;
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    uint16_t mid = send_get(f, 1, "obs", TOKEN_B, sizeof TOKEN_B, ZCOAP_OBS_REGISTER);
    zcoap_msg_t m = next_msg(f, 1);
    assert_int_equal(m.mid, mid);
    assert_int_equal(m.type, ZCOAP_TYPE_ACK);
    assert_int_equal(m.code, ZCOAP_CONTENT);
    assert_int_equal(observe_of(&m), -1);
    assert_payload(&m, "v0");
    assert_int_equal(stats(f)->observe_refused, 1);
    assert_int_equal(stats(f)->observers_in_use, 1);
    assert_int_equal(notify(f, "v1"), 1); /* only the first peer observes */
    m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, 1, "v1");
    assert_int_equal(barrier(f, 1), 0);
}

/* Observe 0 on a resource without `obs`, or on a server with max_observers 0: a plain GET. */
static void test_not_observable_serves_plain_get(void **state)
{
    fixture_t *f = *state;
    f->cfg.max_observers = 0;
    start_server(f);
    send_get(f, 0, "plain", TOKEN_A, sizeof TOKEN_A, ZCOAP_OBS_REGISTER);
    send_get(f, 1, "obs", TOKEN_B, sizeof TOKEN_B, ZCOAP_OBS_REGISTER);
    zcoap_msg_t m = next_msg(f, 0);
    assert_int_equal(m.code, ZCOAP_CONTENT);
    assert_int_equal(observe_of(&m), -1);
    assert_payload(&m, "plain");
    m = next_msg(f, 1);
    assert_int_equal(m.code, ZCOAP_CONTENT);
    assert_int_equal(observe_of(&m), -1);
    assert_payload(&m, "v0");
    assert_int_equal(stats(f)->observers_in_use, 0);
    assert_int_equal(stats(f)->observe_refused, 0); /* not refused: Observe is off here */
    assert_int_equal(notify(f, "v1"), 0);
    assert_int_equal(zcoap_uv_server_notify(&f->server, &f->resources[RES_PLAIN]), ZCOAP_EINVAL);
    assert_int_equal(barrier(f, 0), 0);
    assert_int_equal(barrier(f, 1), 0);
}

/* §4.1, §3.2: a registration answered with an error keeps no observer. */
static void test_error_answer_to_registration_keeps_no_observer(void **state)
{
    fixture_t *f = *state;
    f->get_code = ZCOAP_FORBIDDEN;
    start_server(f);
    send_get(f, 0, "obs", TOKEN_A, sizeof TOKEN_A, ZCOAP_OBS_REGISTER);
    zcoap_msg_t m = next_msg(f, 0);
    assert_int_equal(m.code, ZCOAP_FORBIDDEN);
    assert_int_equal(observe_of(&m), -1);
    assert_int_equal(stats(f)->observers_in_use, 0);
    assert_int_equal(stats(f)->observers_registered, 0);
    assert_int_equal(stats(f)->observers_removed_error, 1);
    assert_int_equal(notify(f, "v1"), 0);
}

/* A registration answered separately (empty ACK first) carries Observe in the CON response; a
 * notification before that answer skips it. */
static void test_registration_answered_separately(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    send_get(f, 0, "late", TOKEN_A, sizeof TOKEN_A, ZCOAP_OBS_REGISTER);
    zcoap_msg_t m = next_msg(f, 0);
    assert_int_equal(m.type, ZCOAP_TYPE_ACK);
    assert_int_equal(m.code, ZCOAP_CODE_EMPTY);
    assert_non_null(f->late_peer);
    assert_int_equal(zcoap_uv_server_notify(&f->server, &f->resources[RES_LATE]), 0);
    zcoap_uv_peer_t *peer = f->late_peer;
    peer->data = NULL;
    assert_int_equal(zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, "late", 4), 0);
    m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_CON, TOKEN_A, sizeof TOKEN_A, 1, "late");
    send_empty(f, 0, ZCOAP_TYPE_ACK, m.mid);
    assert_int_equal(barrier(f, 0), 0);
    assert_int_equal(stats(f)->observers_registered, 1);
    assert_int_equal(zcoap_uv_server_notify(&f->server, &f->resources[RES_LATE]), 1);
    m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, 2, "late");
}

/* A registration whose handler never answers is dropped when the request times out. */
static void test_registration_never_answered_is_dropped(void **state)
{
    fixture_t *f = *state;
    use_fast_timers(f);
    start_server(f);
    send_request(f, 0, ZCOAP_TYPE_NON, ZCOAP_GET, "late", TOKEN_A, sizeof TOKEN_A, 0, NULL);
    wait_observers(f, 1);
    assert_non_null(f->late_peer);
    f->late_peer->data = NULL; /* the test gives up on answering: the peer may go */
    wait_observers(f, 0);      /* after the response timeout (EXCHANGE_LIFETIME) */
    assert_int_equal(stats(f)->observers_removed_error, 1);
    assert_int_equal(stats(f)->observers_registered, 0);
    wait_peers_in_use(f, 0);
    assert_int_equal(f->peers[0].n_rx, 0);
}

/* ---- notifications ------------------------------------------------------------------------ */

/* OBS_02: NON notifications with the observer's token and increasing Observe numbers. */
static void test_TD_COAP_OBS_02_non_notifications(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    uint16_t mids[3];
    for (int n = 1; n <= 3; n++) {
        char value[8];
        snprintf(value, sizeof value, "v%d", n);
        assert_int_equal(notify(f, value), 1);
        zcoap_msg_t m = next_msg(f, 0);
        assert_notification(&m, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, n, value);
        mids[n - 1] = m.mid;
    }
    assert_int_not_equal(mids[0], mids[1]); /* a new message ID each (RFC 7252 §4.4) */
    assert_int_not_equal(mids[1], mids[2]);
    assert_int_equal(stats(f)->notifications_non, 3);
    assert_int_equal(stats(f)->notifications_con, 0);
    assert_int_equal(f->notifications_asked, 3);
    assert_int_equal(barrier(f, 0), 0);
}

/* OBS_01: CON notifications (every 3rd here), each acknowledged; the observer stays. */
static void test_TD_COAP_OBS_01_con_every_nth_acknowledged(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    set_policy(f, 3);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    static const uint8_t types[6] = {ZCOAP_TYPE_NON, ZCOAP_TYPE_NON, ZCOAP_TYPE_CON,
                                     ZCOAP_TYPE_NON, ZCOAP_TYPE_NON, ZCOAP_TYPE_CON};
    for (int n = 1; n <= 6; n++) {
        char value[8];
        snprintf(value, sizeof value, "v%d", n);
        assert_int_equal(notify(f, value), 1);
        zcoap_msg_t m = next_msg(f, 0);
        assert_notification(&m, types[n - 1], TOKEN_A, sizeof TOKEN_A, n, value);
        if (m.type == ZCOAP_TYPE_CON) {
            send_empty(f, 0, ZCOAP_TYPE_ACK, m.mid);
            assert_int_equal(barrier(f, 0), 0); /* the ACK is in; nothing retransmitted */
        }
    }
    assert_int_equal(stats(f)->notifications_con, 2);
    assert_int_equal(stats(f)->notifications_non, 4);
    assert_int_equal(stats(f)->notifications_deferred, 0);
    assert_int_equal(stats(f)->observers_in_use, 1);
}

/* Observers of one resource get the same Observe number for the same state; two tokens of one
 * peer get one notification each, back to back. */
static void test_observers_share_the_sequence_number(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    register_obs(f, 0, TOKEN_B, sizeof TOKEN_B, 0);
    register_obs(f, 1, TOKEN_A, sizeof TOKEN_A, 0);
    assert_int_equal(stats(f)->observers_in_use, 3);
    assert_int_equal(notify(f, "v1"), 3);
    zcoap_msg_t a = next_msg(f, 0);
    zcoap_msg_t b = next_msg(f, 0);
    if (a.token_len != sizeof TOKEN_A) { /* either order */
        zcoap_msg_t t = a;
        a = b;
        b = t;
    }
    assert_notification(&a, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, 1, "v1");
    assert_notification(&b, ZCOAP_TYPE_NON, TOKEN_B, sizeof TOKEN_B, 1, "v1");
    zcoap_msg_t c = next_msg(f, 1);
    assert_notification(&c, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, 1, "v1");
    assert_int_equal(stats(f)->notifications_non, 3);
    assert_int_equal(stats(f)->notifications_deferred, 0);
}

/* OBS_09: another client's PUT changes the state; its handler notifies the observer. */
static void test_TD_COAP_OBS_09_update_by_another_client(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    uint16_t mid =
        send_request(f, 1, ZCOAP_TYPE_CON, ZCOAP_PUT, "obs", TOKEN_B, sizeof TOKEN_B, -1, "hot");
    zcoap_msg_t m = next_msg(f, 1);
    assert_int_equal(m.mid, mid);
    assert_int_equal(m.code, ZCOAP_CHANGED);
    assert_int_equal(f->notify_on_put_rc, 1);
    m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, 1, "hot");
}

/* The observer's own PUT: its notification waits for the answer to go out (one response slot),
 * then follows it. */
static void test_update_by_the_observer_itself(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    send_request(f, 0, ZCOAP_TYPE_CON, ZCOAP_PUT, "obs", TOKEN_B, sizeof TOKEN_B, -1, "warm");
    zcoap_msg_t m = next_msg(f, 0);
    assert_int_equal(m.type, ZCOAP_TYPE_ACK);
    assert_int_equal(m.code, ZCOAP_CHANGED);
    m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, 1, "warm");
    assert_int_equal(barrier(f, 0), 0);
}

/* A handler that answers nothing to a notification sends nothing; the observer stays. */
static void test_handler_without_answer_sends_nothing(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    f->skip_notify = true;
    assert_int_equal(notify(f, "v1"), 1);
    assert_int_equal(barrier(f, 0), 0);
    assert_int_equal(f->notifications_asked, 1);
    f->skip_notify = false;
    assert_int_equal(notify(f, "v2"), 1);
    zcoap_msg_t m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, 2, "v2");
}

/* §4.4: sequence numbers are 24 bits and wrap: 0xFFFFFE, 0xFFFFFF, 0, 1. */
static void test_sequence_number_wraps_at_24_bits(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    const zcoap_resource_t *res = &f->resources[RES_OBS];
    assert_int_equal(zcoap_uv_server_set_obs_seq(&f->server, res, 0x1000000u), ZCOAP_EINVAL);
    assert_int_equal(zcoap_uv_server_set_obs_seq(&f->server, res, 0xFFFFFEu), 0);
    zcoap_msg_t m = register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0xFFFFFE);
    zcoap_opt_t opt;
    assert_true(zcoap_msg_find_opt(&m, ZCOAP_OPT_OBSERVE, &opt));
    assert_int_equal(opt.len, 3); /* three bytes at most (RFC 7641 §2) */
    static const long expected[3] = {0xFFFFFF, 0, 1};
    for (size_t n = 0; n < 3; n++) {
        assert_int_equal(notify(f, "w"), 1);
        m = next_msg(f, 0);
        assert_notification(&m, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, expected[n], "w");
        if (expected[n] == 0) {
            assert_true(zcoap_msg_find_opt(&m, ZCOAP_OPT_OBSERVE, &opt));
            assert_int_equal(opt.len, 0); /* 0 is the empty uint (RFC 7252 §3.2) */
        }
    }
    uint32_t seq = 0;
    assert_int_equal(zcoap_uv_server_obs_seq(&f->server, res, &seq), 0);
    assert_int_equal(seq, 1);
}

/* ---- CON notifications in flight ----------------------------------------------------------- */

/* §4.5.2 with two response slots: a newer state while a CON notification is in flight replaces
 * it; the retransmission carries the newer state and its Observe number, under a new MID. */
static void test_newer_state_replaces_con_in_flight(void **state)
{
    fixture_t *f = *state;
    f->cfg.resp_slots = 2;
    f->cfg.tx.ack_timeout_ms = REPLACE_ACK_TIMEOUT_MS;
    f->cfg.tx.max_retransmit = 2;
    start_server(f);
    set_policy(f, 1); /* always CON */
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    assert_int_equal(notify(f, "v1"), 1);
    zcoap_msg_t first = next_msg(f, 0);
    assert_notification(&first, ZCOAP_TYPE_CON, TOKEN_A, sizeof TOKEN_A, 1, "v1");
    assert_int_equal(notify(f, "v2"), 1); /* not acknowledged yet: replaces it */
    zcoap_msg_t again = next_msg(f, 0);   /* at the retransmission instant */
    assert_notification(&again, ZCOAP_TYPE_CON, TOKEN_A, sizeof TOKEN_A, 2, "v2");
    assert_int_not_equal(again.mid, first.mid);
    send_empty(f, 0, ZCOAP_TYPE_ACK, again.mid);
    assert_int_equal(barrier(f, 0), 0); /* acknowledged: nothing more */
    assert_int_equal(stats(f)->notifications_con, 2);
    assert_int_equal(stats(f)->notifications_deferred, 0);
    assert_int_equal(stats(f)->observers_in_use, 1);
    assert_int_equal(notify(f, "v3"), 1); /* acknowledged: the next one starts afresh */
    zcoap_msg_t m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_CON, TOKEN_A, sizeof TOKEN_A, 3, "v3");
    send_empty(f, 0, ZCOAP_TYPE_ACK, m.mid);
    assert_int_equal(barrier(f, 0), 0);
}

/* One response slot (the default): states that come while a CON notification is in flight
 * replace it (§4.5.2; the core builds the newer one aside and copies it over the one in flight
 * at send). The client's ACK of v1, which went out, has the newest state (v3) sent at once;
 * nothing is queued and v2 never goes. */
static void test_busy_peer_gets_only_the_newest_state(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    set_policy(f, 1);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    assert_int_equal(notify(f, "v1"), 1);
    zcoap_msg_t m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_CON, TOKEN_A, sizeof TOKEN_A, 1, "v1");
    assert_int_equal(notify(f, "v2"), 1);
    assert_int_equal(notify(f, "v3"), 1);
    assert_int_equal(barrier(f, 0), 0); /* nothing yet: the next retransmission carries v3 */
    assert_int_equal(stats(f)->notifications_deferred, 0);
    send_empty(f, 0, ZCOAP_TYPE_ACK, m.mid);
    m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_CON, TOKEN_A, sizeof TOKEN_A, 3, "v3");
    send_empty(f, 0, ZCOAP_TYPE_ACK, m.mid);
    assert_int_equal(barrier(f, 0), 0);
    assert_int_equal(stats(f)->observers_in_use, 1);
}

/* With one response slot per peer, another observation of a busy peer (our separate CON
 * response awaits its ACK and holds the slot) waits too, and gets the state of the moment it
 * goes. (With the default two slots its NON notification goes at once.) */
static void test_other_observation_of_busy_peer_waits(void **state)
{
    fixture_t *f = *state;
    f->cfg.resp_slots = 1;
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    send_get(f, 0, "late", TOKEN_B, sizeof TOKEN_B, ZCOAP_OBS_REGISTER);
    zcoap_msg_t m = next_msg(f, 0); /* the empty ACK */
    assert_int_equal(m.code, ZCOAP_CODE_EMPTY);
    f->late_peer->data = NULL;
    assert_int_equal(zcoap_uv_peer_respond(f->late_peer, ZCOAP_CONTENT, -1, "late", 4), 0);
    zcoap_msg_t con = next_msg(f, 0); /* the separate CON response with Observe, not ACKed */
    assert_int_equal(con.type, ZCOAP_TYPE_CON);
    assert_token(&con, TOKEN_B, sizeof TOKEN_B);
    assert_int_equal(observe_of(&con), 0);
    assert_int_equal(notify(f, "v1"), 1);
    assert_int_equal(barrier(f, 0), 0);
    assert_int_equal(stats(f)->notifications_deferred, 1);
    snprintf(f->value, sizeof f->value, "v1 later");
    send_empty(f, 0, ZCOAP_TYPE_ACK, con.mid);
    m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, 1, "v1 later");
}

/* ---- how observations end ------------------------------------------------------------------ */

/* OBS_06: the client answers a CON notification with RST: the observer is removed. */
static void test_TD_COAP_OBS_06_rst_to_con_notification(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    set_policy(f, 1);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    assert_int_equal(notify(f, "v1"), 1);
    zcoap_msg_t m = next_msg(f, 0);
    assert_int_equal(m.type, ZCOAP_TYPE_CON);
    send_empty(f, 0, ZCOAP_TYPE_RST, m.mid);
    wait_observers(f, 0);
    assert_int_equal(stats(f)->observers_removed_reset, 1);
    assert_int_equal(notify(f, "v2"), 0);
    assert_int_equal(barrier(f, 0), 0);
}

/* A RST to a NON notification removes the observer too (§3.6; aiocoap once ignored it). */
static void test_rst_to_non_notification(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    assert_int_equal(notify(f, "v1"), 1);
    zcoap_msg_t m = next_msg(f, 0);
    assert_int_equal(m.type, ZCOAP_TYPE_NON);
    send_empty(f, 0, ZCOAP_TYPE_RST, m.mid);
    wait_observers(f, 0);
    assert_int_equal(stats(f)->observers_removed_reset, 1);
    assert_int_equal(notify(f, "v2"), 0);
    assert_int_equal(barrier(f, 0), 0);
}

/* OBS_05: the client is off; the CON notification is retransmitted, times out, and the observer
 * is removed; then the peer, idle, is recycled. */
static void test_TD_COAP_OBS_05_con_notification_timeout(void **state)
{
    fixture_t *f = *state;
    use_fast_timers(f);
    start_server(f);
    set_policy(f, 1);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    assert_int_equal(notify(f, "v1"), 1);
    zcoap_msg_t m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_CON, TOKEN_A, sizeof TOKEN_A, 1, "v1");
    (void)next_msg(f, 0); /* its one retransmission: the same bytes */
    const uvt_datagram_t *d1 = uvt_peer_rx(&f->peers[0], 1);
    const uvt_datagram_t *d2 = uvt_peer_rx(&f->peers[0], 2);
    assert_int_equal(d1->len, d2->len);
    assert_memory_equal(d1->data, d2->data, d1->len);
    wait_observers(f, 0);
    assert_int_equal(stats(f)->observers_removed_timeout, 1);
    assert_int_equal(stats(f)->notifications_con, 1);
    wait_peers_in_use(f, 0);
    assert_int_equal(stats(f)->peers_recycled, 1);
    assert_int_equal(f->peers[0].n_rx, 3);
}

/* OBS_03 (stop resource observation, the server's side): GET with Observe 1 and the observer's
 * token deregisters (§3.6); a plain answer. */
static void test_TD_COAP_OBS_03_get_observe_1_deregisters(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    uint16_t mid = send_get(f, 0, "obs", TOKEN_A, sizeof TOKEN_A, ZCOAP_OBS_DEREGISTER);
    zcoap_msg_t m = next_msg(f, 0);
    assert_int_equal(m.mid, mid);
    assert_int_equal(m.code, ZCOAP_CONTENT);
    assert_int_equal(observe_of(&m), -1);
    assert_int_equal(stats(f)->observers_in_use, 0);
    assert_int_equal(stats(f)->observers_removed_deregistered, 1);
    assert_int_equal(notify(f, "v1"), 0);
    assert_int_equal(barrier(f, 0), 0);
}

/* A GET without Observe that reuses the observer's token ends the observation. */
static void test_plain_get_with_same_token_deregisters(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    send_get(f, 0, "obs", TOKEN_A, sizeof TOKEN_A, -1);
    zcoap_msg_t m = next_msg(f, 0);
    assert_int_equal(m.code, ZCOAP_CONTENT);
    assert_int_equal(observe_of(&m), -1);
    assert_int_equal(stats(f)->observers_removed_deregistered, 1);
    assert_int_equal(notify(f, "v1"), 0);
    assert_int_equal(barrier(f, 0), 0);
}

/* OBS_10: a GET without Observe, with another token, does not cancel the observation. */
static void test_TD_COAP_OBS_10_get_does_not_cancel(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    send_get(f, 0, "obs", TOKEN_B, sizeof TOKEN_B, -1);
    zcoap_msg_t m = next_msg(f, 0);
    assert_int_equal(m.code, ZCOAP_CONTENT);
    assert_int_equal(observe_of(&m), -1);
    assert_token(&m, TOKEN_B, sizeof TOKEN_B);
    assert_int_equal(stats(f)->observers_in_use, 1);
    assert_int_equal(notify(f, "v1"), 1);
    m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, 1, "v1");
}

/* OBS_08 (observers cleaned when the resource's content-format changes): the handler can no
 * longer give the representation asked for and answers an error (Californium's plugtest server
 * answers 5.00); §3.2: the error is sent without Observe and ends the observation. */
static void test_TD_COAP_OBS_08_error_notification_ends_observation(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    f->notify_code = ZCOAP_INTERNAL_SERVER_ERROR;
    assert_int_equal(notify(f, "broken"), 1);
    zcoap_msg_t m = next_msg(f, 0);
    assert_int_equal(m.type, ZCOAP_TYPE_NON);
    assert_int_equal(m.code, ZCOAP_INTERNAL_SERVER_ERROR);
    assert_token(&m, TOKEN_A, sizeof TOKEN_A);
    assert_int_equal(observe_of(&m), -1);
    assert_payload(&m, "broken");
    assert_int_equal(stats(f)->observers_in_use, 0);
    assert_int_equal(stats(f)->observers_removed_error, 1);
    assert_int_equal(notify(f, "v2"), 0);
    assert_int_equal(barrier(f, 0), 0);
}

/* OBS_07: DELETE; every observer gets 4.04 (without Observe) and the list is empty. The
 * deleting observer gets its 2.02 first. */
static void test_TD_COAP_OBS_07_delete_sends_4_04_to_observers(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    register_obs(f, 1, TOKEN_B, sizeof TOKEN_B, 0);
    uint16_t mid =
        send_request(f, 1, ZCOAP_TYPE_CON, ZCOAP_DELETE, "obs", TOKEN_A, sizeof TOKEN_A, -1, NULL);
    zcoap_msg_t m = next_msg(f, 1);
    assert_int_equal(m.mid, mid);
    assert_int_equal(m.code, ZCOAP_DELETED);
    assert_int_equal(f->gone_on_delete_rc, 2);
    m = next_msg(f, 1);
    assert_int_equal(m.code, ZCOAP_NOT_FOUND);
    assert_token(&m, TOKEN_B, sizeof TOKEN_B);
    assert_int_equal(observe_of(&m), -1);
    m = next_msg(f, 0);
    assert_int_equal(m.code, ZCOAP_NOT_FOUND);
    assert_token(&m, TOKEN_A, sizeof TOKEN_A);
    assert_int_equal(observe_of(&m), -1);
    assert_int_equal(stats(f)->observers_in_use, 0);
    assert_int_equal(stats(f)->observers_removed_gone, 2);
    assert_int_equal(notify(f, "v1"), 0);
    assert_int_equal(barrier(f, 0), 0);
    assert_int_equal(barrier(f, 1), 0);
}

/* A peer with observers is never recycled, even idle past its de-duplication windows; once its
 * last observer leaves, it is. */
static void test_peer_with_observers_is_kept(void **state)
{
    fixture_t *f = *state;
    use_fast_timers(f);
    start_server(f);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    uvt_run_for(&f->uv, 3 * FAST_LIFETIME_MS);
    assert_int_equal(stats(f)->peers_in_use, 1);
    assert_int_equal(stats(f)->peers_recycled, 0);
    assert_int_equal(notify(f, "v1"), 1); /* and it still works */
    zcoap_msg_t m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, 1, "v1");
    send_get(f, 0, "obs", TOKEN_A, sizeof TOKEN_A, ZCOAP_OBS_DEREGISTER);
    m = next_msg(f, 0);
    assert_int_equal(observe_of(&m), -1);
    wait_peers_in_use(f, 0);
    assert_int_equal(stats(f)->peers_recycled, 1);
}

/* Closing the server with observers, a CON notification in flight and a state waiting: every
 * handle closes and nothing leaks (ASan, Valgrind). */
static void test_close_with_observers(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    set_policy(f, 1);
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    register_obs(f, 0, TOKEN_B, sizeof TOKEN_B, 0);
    register_obs(f, 1, TOKEN_A, sizeof TOKEN_A, 0);
    assert_int_equal(notify(f, "v1"), 3);
    (void)next_msg(f, 0);
    (void)next_msg(f, 1);
    assert_int_equal(stats(f)->notifications_deferred, 1); /* peer 0's second observer waits */
    close_server(f);
    assert_int_equal(zcoap_uv_server_notify(&f->server, &f->resources[RES_OBS]), ZCOAP_ESTATE);
    assert_true(uvt_run_until(&f->uv, GUARD_MS, server_closed, f));
}

/* ---- the API's edges ------------------------------------------------------------------------ */

/* What uv.h says one observer costs, on 64-bit systems: 40 bytes of the core, 8 of the adapter. */
static void test_observer_costs_48_bytes(void **state)
{
    (void)state;
    if (sizeof(void *) != 8) {
        skip();
    }
    assert_int_equal(sizeof(zcoap_observer_t), 40);
    assert_int_equal(ZCOAP_UV_OBSERVER_SIZE, 48);
}

static void test_api_errors(void **state)
{
    fixture_t *f = *state;
    zcoap_uv_server_config_t cfg = f->cfg;
    cfg.max_observers = ((size_t)1 << 24) + 1u;
    struct sockaddr_storage any;
    uvt_loopback(AF_INET, 0, &any);
    zcoap_uv_server_t unused;
    assert_int_equal(
        zcoap_uv_server_start(&f->uv.loop, &unused, (const struct sockaddr *)&any, &cfg),
        ZCOAP_EINVAL);

    start_server(f);
    const zcoap_resource_t elsewhere = f->resources[RES_OBS]; /* not in the server's table */
    assert_int_equal(zcoap_uv_server_notify(&f->server, &elsewhere), ZCOAP_EINVAL);
    assert_int_equal(zcoap_uv_server_notify(&f->server, NULL), ZCOAP_EINVAL);
    assert_int_equal(zcoap_uv_server_notify(NULL, &f->resources[RES_OBS]), ZCOAP_EINVAL);
    assert_int_equal(zcoap_uv_server_resource_gone(&f->server, &f->resources[RES_PLAIN]),
                     ZCOAP_EINVAL);
    assert_int_equal(zcoap_uv_server_set_obs_policy(&f->server, &elsewhere, NULL), ZCOAP_EINVAL);
    assert_int_equal(zcoap_uv_server_set_obs_policy(&f->server, &f->resources[RES_OBS], NULL), 0);
    uint32_t seq;
    assert_int_equal(zcoap_uv_server_obs_seq(&f->server, &elsewhere, &seq), ZCOAP_EINVAL);

    /* Inside a notification: no nested notify, one answer only. */
    register_obs(f, 0, TOKEN_A, sizeof TOKEN_A, 0);
    f->nested_calls = true;
    assert_int_equal(notify(f, "v1"), 1);
    assert_int_equal(f->nested_notify_rc, ZCOAP_ESTATE);
    assert_int_equal(f->second_answer_rc, ZCOAP_ESTATE);
    zcoap_msg_t m = next_msg(f, 0);
    assert_notification(&m, ZCOAP_TYPE_NON, TOKEN_A, sizeof TOKEN_A, 1, "v1");
    assert_int_equal(barrier(f, 0), 0);

    /* Max-Age has 32 bits. */
    send_get(f, 1, "late", TOKEN_B, sizeof TOKEN_B, -1);
    m = next_msg(f, 1); /* the empty ACK */
    assert_int_equal(m.code, ZCOAP_CODE_EMPTY);
    zcoap_uv_peer_t *peer = f->late_peer;
    assert_non_null(peer);
    peer->data = NULL;
    const zcoap_uv_respond_opts_t too_old = {.content_format = -1,
                                             .max_age_s = (int64_t)UINT32_MAX + 1};
    assert_int_equal(zcoap_uv_peer_respond_opts(peer, ZCOAP_CONTENT, &too_old, NULL, 0),
                     ZCOAP_EINVAL);
    const zcoap_uv_respond_opts_t oldest = {.content_format = -1, .max_age_s = UINT32_MAX};
    assert_int_equal(zcoap_uv_peer_respond_opts(peer, ZCOAP_CONTENT, &oldest, NULL, 0), 0);
    m = next_msg(f, 1);
    uint32_t max_age = 0;
    assert_int_equal(zcoap_msg_get_uint(&m, ZCOAP_OPT_MAX_AGE, &max_age), ZCOAP_OK);
    assert_int_equal(max_age, UINT32_MAX);
    assert_int_equal(observe_of(&m), -1); /* no Observe asked */
    send_empty(f, 1, ZCOAP_TYPE_ACK, m.mid);
    assert_int_equal(barrier(f, 1), 0);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_register_answer_carries_observe),
        TEST(test_register_non_request),
        TEST(test_register_with_fetch),
        TEST(test_renewal_keeps_one_entry),
        TEST(test_max_age_is_carried),
        TEST(test_table_full_serves_plain_get),
        TEST(test_not_observable_serves_plain_get),
        TEST(test_error_answer_to_registration_keeps_no_observer),
        TEST(test_registration_answered_separately),
        TEST(test_registration_never_answered_is_dropped),
        TEST(test_TD_COAP_OBS_02_non_notifications),
        TEST(test_TD_COAP_OBS_01_con_every_nth_acknowledged),
        TEST(test_observers_share_the_sequence_number),
        TEST(test_TD_COAP_OBS_09_update_by_another_client),
        TEST(test_update_by_the_observer_itself),
        TEST(test_handler_without_answer_sends_nothing),
        TEST(test_sequence_number_wraps_at_24_bits),
        TEST(test_newer_state_replaces_con_in_flight),
        TEST(test_busy_peer_gets_only_the_newest_state),
        TEST(test_other_observation_of_busy_peer_waits),
        TEST(test_TD_COAP_OBS_06_rst_to_con_notification),
        TEST(test_rst_to_non_notification),
        TEST(test_TD_COAP_OBS_05_con_notification_timeout),
        TEST(test_TD_COAP_OBS_03_get_observe_1_deregisters),
        TEST(test_plain_get_with_same_token_deregisters),
        TEST(test_TD_COAP_OBS_10_get_does_not_cancel),
        TEST(test_TD_COAP_OBS_08_error_notification_ends_observation),
        TEST(test_TD_COAP_OBS_07_delete_sends_4_04_to_observers),
        TEST(test_peer_with_observers_is_kept),
        TEST(test_close_with_observers),
        TEST(test_observer_costs_48_bytes),
        TEST(test_api_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
