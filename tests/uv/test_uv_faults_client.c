/*
 * Faults under a zcoap_uv_client_t on a real loop over loopback (issue 8, "Faults on real
 * sockets"): its peer (a raw UDP socket playing the server) goes silent, disappears, restarts on
 * another port, or was never there (ICMP port unreachable). Each must end the exchange with a
 * clear event, free the client's request slot, and leave the loop serving other clients.
 *
 * The clients run with short transmission parameters (ACK_TIMEOUT 50 ms, factor 1.0,
 * MAX_RETRANSMIT 2: given up 50 * (1 + 2 + 4) = 350 ms after the first transmission, RFC 7252
 * §4.2), except the ICMP test, whose point is that the end comes long before the RFC's timeout.
 * Every wait is bounded by a guard timer, nothing sleeps, callbacks only record and the test body
 * asserts once the loop is back; every test ends with uv_loop_close() == 0 (in the teardown).
 *
 * test_icmp_port_unreachable_ends_exchange_promptly is KNOWN TO FAIL with zcoap at bfae709 (the
 * working tree's zcoap_ep_peer_unreachable() change makes it pass): see its comment.
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
    FAST_ACK_TIMEOUT_MS = 50,
    FAST_MAX_RETRANSMIT = 2,
    FAST_GIVE_UP_MS = FAST_ACK_TIMEOUT_MS * 7, /* 50 * (2^(2+1) - 1) */
    /* The ICMP test: the RFC's timeout would come after 1 s * (2^5 - 1) = 31 s; an error must
     * end the exchange before even the first retransmission. */
    SLOW_ACK_TIMEOUT_MS = 1000,
    SLOW_MAX_RETRANSMIT = 4,
    PROMPT_MS = 900,
    N_CLIENTS = 2,
    N_SERVERS = 2,
    MAX_EVENTS = 32
};

typedef struct fixture fixture_t;

/* One client and what it saw. */
typedef struct test_client {
    zcoap_uv_client_t c;
    fixture_t *f;
    zcoap_ep_config_t cfg;
    zcoap_ep_storage_t storage;
    bool inited;
    bool close_requested;
    int close_calls;
    zcoap_event_kind_t events[MAX_EVENTS];
    uint64_t event_at[MAX_EVENTS];
    size_t n_events;
    size_t ends; /* exchanges over: response, timeout, reset, or any other end */
    int end_err; /* ev.err of the last end: why it ended early, or 0 */
    size_t responses;
    char payload[64];
    size_t payload_len;
} test_client_t;

/* How a raw server answers. */
typedef enum script {
    SCRIPT_ANSWER,           /* CON request: 2.05 "hello" piggybacked */
    SCRIPT_SILENT,           /* records only */
    SCRIPT_CLOSE_ON_REQUEST, /* closes its socket once it has the request: the peer is gone */
} script_t;

struct fixture {
    uvt_loop_t uv;
    uvt_peer_t srv[N_SERVERS];
    script_t script[N_SERVERS];
    test_client_t cl[N_CLIENTS];
    const test_client_t *wait_client;
    size_t wait_n;
    const uvt_peer_t *wait_peer;
};

/* ---- waits -------------------------------------------------------------------------------- */

static bool client_ends(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->wait_client->ends >= f->wait_n;
}

/* Run until client @p tc has seen @p n exchanges end, within @p guard_ms; false if not. */
static bool run_until_ends(fixture_t *f, const test_client_t *tc, size_t n, uint64_t guard_ms)
{
    f->wait_client = tc;
    f->wait_n = n;
    return uvt_run_until(&f->uv, guard_ms, client_ends, f);
}

static bool peer_rx(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->wait_peer->n_rx >= f->wait_n;
}

static void run_until_peer_rx(fixture_t *f, const uvt_peer_t *p, size_t n)
{
    f->wait_peer = p;
    f->wait_n = n;
    if (!uvt_run_until(&f->uv, GUARD_MS, peer_rx, f)) {
        fail_msg("the raw server got %zu datagram(s), not %zu", p->n_rx, n);
    }
}

static bool all_closed(const void *ctx)
{
    const fixture_t *f = ctx;
    for (size_t i = 0; i < N_CLIENTS; i++) {
        if (f->cl[i].inited && f->cl[i].close_calls == 0) {
            return false;
        }
    }
    return true;
}

/* ---- raw servers -------------------------------------------------------------------------- */

static void on_srv_msg(uvt_peer_t *p, const struct sockaddr_storage *from, const zcoap_msg_t *msg)
{
    fixture_t *f = p->data;
    size_t i = (size_t)(p - f->srv);
    if (msg->type != ZCOAP_TYPE_CON || !zcoap_code_is_request(msg->code)) {
        return;
    }
    switch (f->script[i]) {
    case SCRIPT_ANSWER: {
        uint8_t buf[64];
        zcoap_builder_t b;
        (void)zcoap_builder_init_response(&b, buf, sizeof buf, msg, ZCOAP_CONTENT, msg->mid);
        (void)zcoap_builder_set_payload(&b, "hello", 5);
        (void)uvt_peer_send(p, from, buf, zcoap_builder_finish(&b));
        break;
    }
    case SCRIPT_CLOSE_ON_REQUEST:
        uvt_peer_close(p); /* gone mid-exchange: its port is closed from now on */
        break;
    case SCRIPT_SILENT:
        break;
    }
}

/* Open raw server @p i on 127.0.0.1:@p port (0: any) with @p script, its logs cleared. */
static void open_srv(fixture_t *f, size_t i, uint16_t port, script_t script)
{
    uvt_peer_t *p = &f->srv[i];
    memset(p, 0, sizeof *p);
    p->data = f;
    p->on_msg = on_srv_msg;
    f->script[i] = script;
    assert_int_equal(uvt_peer_open(p, &f->uv.loop, AF_INET, port), 0);
}

/* ---- clients ------------------------------------------------------------------------------ */

static bool ends_exchange(zcoap_event_kind_t kind)
{
    switch (kind) {
    case ZCOAP_EV_OUT_RESPONSE:
    case ZCOAP_EV_OUT_TIMEOUT:
    case ZCOAP_EV_OUT_RESET:
    case ZCOAP_EV_OUT_PONG:
        return true;
    case ZCOAP_EV_OUT_CON_SENT:
    case ZCOAP_EV_OUT_NON_SENT:
    case ZCOAP_EV_OUT_PING_SENT:
    case ZCOAP_EV_OUT_EMPTY_ACK:
    case ZCOAP_EV_OUT_WRONG_TOKEN:
    case ZCOAP_EV_OUT_DUPLICATE_RESPONSE:
    case ZCOAP_EV_OBS_NOTIFICATION:
    case ZCOAP_EV_OBS_ENDED:
    case ZCOAP_EV_OBS_RENEW:
        return false;
    default:
        /* any other outgoing-path event (a new "socket error" kind, say) ends it too */
        return zcoap_event_channel(kind) == ZCOAP_CH_OUTGOING;
    }
}

static void on_client_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    test_client_t *tc = c->data;
    if (tc->close_requested) {
        return;
    }
    if (tc->n_events < MAX_EVENTS) {
        tc->event_at[tc->n_events] = uv_now(c->loop);
        tc->events[tc->n_events++] = ev->kind;
    }
    if (ends_exchange(ev->kind)) {
        tc->ends++;
        tc->end_err = ev->err;
    }
    if (ev->kind == ZCOAP_EV_OUT_RESPONSE && ev->has_msg) {
        tc->responses++;
        tc->payload_len =
            ev->msg.payload_len < sizeof tc->payload ? ev->msg.payload_len : sizeof tc->payload;
        if (tc->payload_len > 0) {
            memcpy(tc->payload, ev->msg.payload, tc->payload_len);
        }
    }
}

static void on_client_closed(zcoap_uv_client_t *c)
{
    test_client_t *tc = c->data;
    tc->close_calls++;
}

/* Client @p i connected to @p to, ACK_TIMEOUT @p ack_ms (factor 1.0), @p retransmit. */
static test_client_t *start_client(fixture_t *f, size_t i, const struct sockaddr_storage *to,
                                   uint32_t ack_ms, uint8_t retransmit)
{
    test_client_t *tc = &f->cl[i];
    memset(tc, 0, sizeof *tc);
    tc->f = f;
    zcoap_ep_config_default(&tc->cfg, &tc->storage);
    tc->cfg.tx.ack_timeout_ms = ack_ms;
    tc->cfg.tx.ack_random_factor_permil = 1000;
    tc->cfg.tx.max_retransmit = retransmit;
    tc->c.data = tc;
    assert_int_equal(zcoap_uv_client_init(&f->uv.loop, &tc->c, &tc->cfg, on_client_event), 0);
    tc->inited = true;
    assert_int_equal(zcoap_uv_client_connect(&tc->c, (const struct sockaddr *)to), 0);
    return tc;
}

static void close_client(test_client_t *tc)
{
    if (tc->inited && !tc->close_requested) {
        tc->close_requested = true;
        zcoap_uv_client_close(&tc->c, on_client_closed);
    }
}

static int send_get(test_client_t *tc, const struct sockaddr_storage *to)
{
    char uri[128];
    return zcoap_uv_client_request(&tc->c, ZCOAP_TYPE_CON, ZCOAP_GET,
                                   uvt_uri(uri, sizeof uri, to, "x"), NULL, 0);
}

static size_t count_event(const test_client_t *tc, zcoap_event_kind_t kind)
{
    size_t n = 0;
    for (size_t i = 0; i < tc->n_events; i++) {
        n += tc->events[i] == kind ? 1u : 0u;
    }
    return n;
}

/* The time of the first event @p kind, or UINT64_MAX. */
static uint64_t event_time(const test_client_t *tc, zcoap_event_kind_t kind)
{
    for (size_t i = 0; i < tc->n_events; i++) {
        if (tc->events[i] == kind) {
            return tc->event_at[i];
        }
    }
    return UINT64_MAX;
}

/* One GET from @p tc to @p to, answered "hello" (its raw server answers). */
static void assert_exchange_works(fixture_t *f, test_client_t *tc,
                                  const struct sockaddr_storage *to)
{
    size_t ends = tc->ends;
    size_t responses = tc->responses;
    assert_int_equal(send_get(tc, to), 0); /* the slot is free: not ZCOAP_EBUSY */
    if (!run_until_ends(f, tc, ends + 1, GUARD_MS)) {
        fail_msg("the new exchange did not end");
    }
    assert_int_equal(tc->responses, responses + 1);
    assert_int_equal(tc->payload_len, 5);
    assert_memory_equal(tc->payload, "hello", 5);
}

/* ---- setup and teardown ------------------------------------------------------------------- */

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL || uvt_loop_init(&f->uv) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    for (size_t i = 0; i < N_CLIENTS; i++) {
        close_client(&f->cl[i]);
    }
    for (size_t i = 0; i < N_SERVERS; i++) {
        uvt_peer_close(&f->srv[i]);
    }
    assert_true(uvt_run_until(&f->uv, GUARD_MS, all_closed, f));
    uvt_loop_end(&f->uv);
    free(f);
    return 0;
}

/* ---- tests -------------------------------------------------------------------------------- */

/* The peer stays but never answers (a black hole: no ICMP either): the CON request goes out
 * 1 + MAX_RETRANSMIT times with the same MID and bytes, then OUT_TIMEOUT, no earlier than the
 * last back-off ends (§4.2). Once the peer answers again, the next request is served. (ACK_TIMEOUT
 * 100 ms here; under Valgrind a loop stalled past two deadlines sends the late retransmissions
 * no more, as the endpoint catches up by the schedule: there only the bound is checked.) */
static void test_peer_silent_mid_exchange(void **state)
{
    fixture_t *f = *state;
    const uint32_t ack_ms = 2 * FAST_ACK_TIMEOUT_MS;
    open_srv(f, 0, 0, SCRIPT_SILENT);
    test_client_t *tc = start_client(f, 0, &f->srv[0].addr, ack_ms, FAST_MAX_RETRANSMIT);
    uint64_t sent_at = uv_now(&f->uv.loop);
    assert_int_equal(send_get(tc, &f->srv[0].addr), 0);
    assert_true(run_until_ends(f, tc, 1, GUARD_MS));
    assert_int_equal(count_event(tc, ZCOAP_EV_OUT_TIMEOUT), 1);
    assert_int_equal(tc->end_err, 0); /* a plain timeout */
    assert_int_equal(tc->responses, 0);
    assert_true(event_time(tc, ZCOAP_EV_OUT_TIMEOUT) >= sent_at + 7u * ack_ms);
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&tc->c);
    run_until_peer_rx(f, &f->srv[0], (size_t)st->datagrams_out); /* what is on its way */
    assert_int_equal(f->srv[0].n_rx, st->datagrams_out);
    if (uvt_under_valgrind()) {
        assert_true(st->datagrams_out >= 1 && st->datagrams_out <= 1 + FAST_MAX_RETRANSMIT);
    } else {
        assert_int_equal(st->datagrams_out, 1 + FAST_MAX_RETRANSMIT);
    }
    for (size_t i = 1; i < f->srv[0].n_rx; i++) {
        assert_int_equal(f->srv[0].rx[i].len, f->srv[0].rx[0].len);
        assert_memory_equal(f->srv[0].rx[i].data, f->srv[0].rx[0].data, f->srv[0].rx[0].len);
    }
    f->script[0] = SCRIPT_ANSWER;
    assert_exchange_works(f, tc, &f->srv[0].addr);
}

/* The peer's socket closes right after it has the request (the process died): the client's
 * retransmissions meet a closed port (ICMP port unreachable, counted), and the exchange ends
 * with a clear event no later than the RFC's give-up time, once. Meanwhile a second client on
 * the same loop, to a live peer, is served. The peer comes back on the same port: the first
 * client's next request is served. */
static void test_peer_disappears_mid_exchange(void **state)
{
    fixture_t *f = *state;
    open_srv(f, 0, 0, SCRIPT_CLOSE_ON_REQUEST);
    open_srv(f, 1, 0, SCRIPT_ANSWER);
    struct sockaddr_storage gone = f->srv[0].addr;
    test_client_t *tc = start_client(f, 0, &gone, FAST_ACK_TIMEOUT_MS, FAST_MAX_RETRANSMIT);
    test_client_t *other =
        start_client(f, 1, &f->srv[1].addr, FAST_ACK_TIMEOUT_MS, FAST_MAX_RETRANSMIT);
    uint64_t sent_at = uv_now(&f->uv.loop);
    assert_int_equal(send_get(tc, &gone), 0);
    assert_exchange_works(f, other, &f->srv[1].addr);
    assert_true(run_until_ends(f, tc, 1, GUARD_MS));
    uint64_t ended_at = tc->event_at[tc->n_events - 1];
    assert_true(ended_at <= sent_at + FAST_GIVE_UP_MS + 100u);
    assert_int_equal(tc->responses, 0);
    assert_int_equal(f->srv[0].n_rx, 1); /* it got the request, then it was gone */
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&tc->c);
    assert_true(st->recv_errors + st->send_errors >= 1);
    assert_int_equal(st->last_error, UV_ECONNREFUSED);
    print_message("peer gone: %s (%s) after %llu ms; recv errors %llu, send errors %llu\n",
                  zcoap_event_name(tc->events[tc->n_events - 1]),
                  tc->end_err != 0 ? zcoap_uv_strerror(tc->end_err) : "no error code",
                  (unsigned long long)(ended_at - sent_at), (unsigned long long)st->recv_errors,
                  (unsigned long long)st->send_errors);
    /* Nothing more comes: the exchange ended once. */
    uvt_run_for(&f->uv, FAST_GIVE_UP_MS);
    assert_int_equal(tc->ends, 1);

    open_srv(f, 0, uvt_port_of(&gone), SCRIPT_ANSWER); /* back on the same port */
    assert_exchange_works(f, tc, &gone);
    assert_exchange_works(f, other, &f->srv[1].addr);
}

/* The peer restarts on a new port: the exchange with the old one ends (timeout, or an error
 * event) and nothing of it reaches the new one; a client connected to the new port (the old
 * client closed and initialised again in the same memory) is served. */
static void test_peer_restarts_on_new_port(void **state)
{
    fixture_t *f = *state;
    open_srv(f, 0, 0, SCRIPT_CLOSE_ON_REQUEST);
    /* The restarted peer, opened before the old one dies so that its port is another. */
    open_srv(f, 1, 0, SCRIPT_ANSWER);
    struct sockaddr_storage old_addr = f->srv[0].addr;
    test_client_t *tc = start_client(f, 0, &old_addr, FAST_ACK_TIMEOUT_MS, FAST_MAX_RETRANSMIT);
    assert_int_equal(send_get(tc, &old_addr), 0);
    run_until_peer_rx(f, &f->srv[0], 1);
    assert_true(run_until_ends(f, tc, 1, GUARD_MS));
    assert_int_equal(tc->responses, 0);
    assert_int_equal(f->srv[1].n_rx, 0);
    /* The slot is free at once: a request to the old address is taken (and ends the same way). */
    assert_int_equal(send_get(tc, &old_addr), 0);
    assert_true(run_until_ends(f, tc, 2, GUARD_MS));
    assert_int_equal(tc->responses, 0);

    close_client(tc);
    assert_true(uvt_run_until(&f->uv, GUARD_MS, all_closed, f));
    tc = start_client(f, 0, &f->srv[1].addr, FAST_ACK_TIMEOUT_MS, FAST_MAX_RETRANSMIT);
    assert_exchange_works(f, tc, &f->srv[1].addr);
    assert_int_equal(f->srv[1].n_rx, 1);
}

/*
 * KNOWN TO FAIL with zcoap at bfae709 (passes with the change under way in the working tree:
 * zcoap_ep_peer_unreachable() called from uv_adapter/client.c). ICMP port unreachable on send.
 * Nobody listens on the port: Linux reports ECONNREFUSED on the connected socket right after the
 * first transmission. Issue 8 wants the exchange ended promptly with a clear error event (not after
 * MAX_TRANSMIT_WAIT: 93 s with the RFC's defaults, 31 s with these parameters), its slot freed, and
 * other clients on the loop unaffected. uv_adapter/client.c on_recv() only counts the error
 * (stats.recv_errors, last_error) and lets the exchange retransmit until OUT_TIMEOUT. Reproduction:
 * a client connected to 127.0.0.1:<closed port>, zcoap_uv_client_request(CON GET): recv_errors and
 * last_error = UV_ECONNREFUSED within a millisecond, OUT_TIMEOUT only after the full back-off.
 * What would fix it: on ECONNREFUSED (recv or send) with a request in flight, end the outgoing
 * exchange (e.g. zcoap_ep_cancel plus an OUT_TIMEOUT or a new error event carrying the libuv
 * code), then flush.
 */
static void test_icmp_port_unreachable_ends_exchange_promptly(void **state)
{
    fixture_t *f = *state;
    open_srv(f, 0, 0, SCRIPT_ANSWER);
    struct sockaddr_storage closed = f->srv[0].addr;
    uvt_peer_close(&f->srv[0]);
    (void)uv_run(&f->uv.loop, UV_RUN_NOWAIT); /* its port is free now */
    open_srv(f, 1, 0, SCRIPT_ANSWER);
    test_client_t *tc = start_client(f, 0, &closed, SLOW_ACK_TIMEOUT_MS, SLOW_MAX_RETRANSMIT);
    test_client_t *other =
        start_client(f, 1, &f->srv[1].addr, SLOW_ACK_TIMEOUT_MS, SLOW_MAX_RETRANSMIT);

    uint64_t sent_at = uv_now(&f->uv.loop);
    assert_int_equal(send_get(tc, &closed), 0);
    assert_exchange_works(f, other, &f->srv[1].addr); /* the loop serves the other meanwhile */
    bool ended = run_until_ends(f, tc, 1, PROMPT_MS);
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&tc->c);
    print_message("ICMP: exchange %s within %d ms; recv errors %llu, send errors %llu, last "
                  "error %s\n",
                  ended ? "ended" : "still open", PROMPT_MS, (unsigned long long)st->recv_errors,
                  (unsigned long long)st->send_errors,
                  st->last_error != 0 ? zcoap_uv_strerror(st->last_error) : "none");
    assert_int_equal(st->last_error, UV_ECONNREFUSED); /* the kernel did report it */
    if (!ended) {
        fail_msg("KNOWN BUG: ICMP port unreachable (ECONNREFUSED) did not end the exchange "
                 "within %d ms; it runs to the RFC timeout (%d ms here)",
                 PROMPT_MS, SLOW_ACK_TIMEOUT_MS * 31);
    }
    assert_int_equal(tc->responses, 0);
    assert_true(tc->event_at[tc->n_events - 1] < sent_at + SLOW_ACK_TIMEOUT_MS);
    /* A clear event: the end says why (an error code), unlike a plain RFC timeout. */
    print_message("ICMP: ended with %s, %s\n", zcoap_event_name(tc->events[tc->n_events - 1]),
                  tc->end_err != 0 ? zcoap_uv_strerror(tc->end_err) : "no error code");
    assert_int_not_equal(tc->end_err, 0);
    /* The slot is free: a new request is taken (it meets the same closed port). */
    assert_int_equal(send_get(tc, &closed), 0);
    assert_true(run_until_ends(f, tc, 2, PROMPT_MS));
    assert_exchange_works(f, other, &f->srv[1].addr);
}

int main(int argc, char **argv)
{
    uvt_filter_tests(argc, argv); /* a pattern, or --skip PATTERN */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_peer_silent_mid_exchange, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_disappears_mid_exchange, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_restarts_on_new_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_port_unreachable_ends_exchange_promptly, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
