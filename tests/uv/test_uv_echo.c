/*
 * The server's amplification limit (RFC 7252 §11.3, RFC 9175 §2.4 item 3) on a real loop over
 * loopback: an answer larger than 3 times its request, to an address not yet verified, is
 * replaced by a 4.01 Unauthorized carrying an 8-byte Echo value; the request repeated with that
 * value is served and verifies the address for the peer's later requests; a wrong or stale value
 * gets a new 4.01; small answers, unsafe methods and a server with the limit off are not
 * delayed; a registration too large is refused the same way; a separate answer's 4.01 goes NON.
 * Then the client side: a zcoap_uv_client_transfer() repeats the request with the Echo by
 * itself (transfer.h) and the download arrives byte-exact.
 *
 * The raw peer (tests/support/uv_support.h) builds every request by hand, so every byte the
 * server sends is checked. One loop; every wait bounded by a guard timer; nothing sleeps; each
 * test ends with every handle closed and uv_loop_close() == 0.
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
    BIG_LEN = 600,    /* /big: one message, far over 3 x a ~12-byte request */
    LARGE_LEN = 3000, /* /large: three blocks */
    SMALL_LEN = 20,   /* /small: under 3 x the request */
    MAX_DOWNLOAD = 4096
};

enum { RES_BIG, RES_SMALL, RES_LARGE, RES_POST, RES_OBS, RES_LATE, RES_ROOT, N_RES };

typedef struct fixture {
    uvt_loop_t uv;
    zcoap_uv_server_t server;
    zcoap_uv_server_config_t cfg;
    zcoap_resource_t resources[N_RES];
    struct sockaddr_storage server_addr;
    bool server_started;
    bool server_close_requested;
    int server_close_calls;
    uvt_peer_t peer;
    size_t seen; /* datagrams of the peer the test has looked at */
    size_t wait_rx;
    uint16_t next_mid;
    uint8_t big[LARGE_LEN];
    size_t handler_calls;
    /* the client of the transfer test */
    zcoap_uv_client_t client;
    bool client_open;
    bool client_closed;
    bool transfer_done;
    uint8_t transfer_code;
    uint8_t got[MAX_DOWNLOAD];
    size_t got_len;
    size_t unauthorized_seen; /* 4.01 the client's hook saw come in */
} fixture_t;

/* ---- the resources ------------------------------------------------------------------------ */

static void handle_big(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                       const zcoap_msg_t *req)
{
    fixture_t *f = s->data;
    (void)req;
    f->handler_calls++;
    size_t len = res == &f->resources[RES_LARGE] ? LARGE_LEN : BIG_LEN;
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_OCTET_STREAM, f->big, len);
}

static void handle_small(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                         const zcoap_msg_t *req)
{
    fixture_t *f = s->data;
    (void)res;
    (void)req;
    f->handler_calls++;
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, -1, f->big, SMALL_LEN);
}

static void handle_post(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                        const zcoap_msg_t *req)
{
    fixture_t *f = s->data;
    (void)res;
    (void)req;
    f->handler_calls++;
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CHANGED, -1, f->big, BIG_LEN);
}

/* Acknowledges first: its answer is a separate response. */
static void handle_late(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                        const zcoap_msg_t *req)
{
    fixture_t *f = s->data;
    (void)res;
    (void)req;
    f->handler_calls++;
    assert_int_equal(zcoap_uv_peer_ack(peer), 0);
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, -1, f->big, BIG_LEN);
}

#define HANDLER(fn) ((void *)(uintptr_t)(fn))
#define GET_ONLY ZCOAP_METHOD_BIT(ZCOAP_GET)

static void make_resources(fixture_t *f)
{
    f->resources[RES_BIG] = (zcoap_resource_t){"big", GET_ONLY, "", false, HANDLER(handle_big)};
    f->resources[RES_SMALL] =
        (zcoap_resource_t){"small", GET_ONLY, "", false, HANDLER(handle_small)};
    f->resources[RES_LARGE] = (zcoap_resource_t){"large", GET_ONLY, "", false, HANDLER(handle_big)};
    f->resources[RES_POST] =
        (zcoap_resource_t){"post", ZCOAP_METHOD_BIT(ZCOAP_POST), "", false, HANDLER(handle_post)};
    f->resources[RES_OBS] = (zcoap_resource_t){"obs", GET_ONLY, "obs", false, HANDLER(handle_big)};
    f->resources[RES_LATE] = (zcoap_resource_t){"late", GET_ONLY, "", false, HANDLER(handle_late)};
    f->resources[RES_ROOT] = (zcoap_resource_t){"", GET_ONLY, "", false, HANDLER(handle_big)};
}

/* ---- the loop ----------------------------------------------------------------------------- */

static bool enough_rx(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->peer.n_rx >= f->wait_rx;
}

static bool server_closed(const void *ctx)
{
    const fixture_t *f = ctx;
    return (!f->server_close_requested || f->server_close_calls > 0) &&
           (!f->client_open || f->client_closed);
}

static void on_server_closed(zcoap_uv_server_t *s)
{
    fixture_t *f = s->data;
    f->server_close_calls++;
}

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

static const zcoap_uv_server_stats_t *stats(const fixture_t *f)
{
    return zcoap_uv_server_stats(&f->server);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL || uvt_loop_init(&f->uv) != 0) {
        free(f);
        return -1;
    }
    zcoap_uv_server_config_default(&f->cfg); /* the limit is on by default */
    f->cfg.recvmmsg = false;
    f->cfg.recv_buffer_size = 0;
    f->cfg.tx.ack_timeout_ms = 1000; /* answers come within ms: no retransmission */
    f->cfg.tx.ack_random_factor_permil = 1000;
    f->next_mid = 0x3000;
    for (size_t i = 0; i < sizeof f->big; i++) {
        f->big[i] = (uint8_t)(i * 13u + i / 241u);
    }
    if (uvt_peer_open(&f->peer, &f->uv.loop, AF_INET, 0) != 0) {
        return -1;
    }
    *state = f;
    return 0;
}

static void on_client_closed(zcoap_uv_client_t *c)
{
    fixture_t *f = c->data;
    f->client_closed = true;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f->server_started && !f->server_close_requested) {
        f->server_close_requested = true;
        zcoap_uv_server_close(&f->server, on_server_closed);
    }
    if (f->client_open && !f->client_closed) {
        zcoap_uv_client_close(&f->client, on_client_closed);
    }
    uvt_peer_close(&f->peer);
    assert_true(uvt_run_until(&f->uv, GUARD_MS, server_closed, f));
    uvt_loop_end(&f->uv);
    free(f);
    return 0;
}

/* ---- the peer's requests ------------------------------------------------------------------ */

typedef struct req_spec {
    uint8_t type; /* 0: CON */
    uint8_t method;
    const uint8_t *echo;
    size_t echo_len;
    bool observe;
} req_spec_t;

/* Send a request for @p path; its token is its MID (2 bytes). Returns the MID. */
static uint16_t send_request(fixture_t *f, const char *path, const req_spec_t *r)
{
    uint8_t buf[256];
    zcoap_builder_t b;
    uint16_t mid = f->next_mid++;
    const uint8_t token[2] = {(uint8_t)(mid >> 8), (uint8_t)mid};
    assert_int_equal(
        zcoap_builder_init(&b, buf, sizeof buf, r->type != 0 ? r->type : ZCOAP_TYPE_CON,
                           r->method != 0 ? r->method : ZCOAP_GET, mid, token, sizeof token),
        0);
    assert_int_equal(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, path), 0);
    if (r->observe) {
        assert_int_equal(zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, 0), 0);
    }
    if (r->echo_len > 0) {
        assert_int_equal(zcoap_builder_add_opt(&b, ZCOAP_OPT_ECHO, r->echo, r->echo_len), 0);
    }
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    assert_int_equal(uvt_peer_send(&f->peer, &f->server_addr, buf, n), 0);
    return mid;
}

static zcoap_msg_t next_msg(fixture_t *f)
{
    f->wait_rx = f->seen + 1u;
    if (!uvt_run_until(&f->uv, GUARD_MS, enough_rx, f)) {
        fail_msg("the peer got %zu datagram(s), not %zu", f->peer.n_rx, f->wait_rx);
    }
    return uvt_peer_rx_msg(&f->peer, f->seen++);
}

/* Send a CON request and return its piggybacked answer. */
static zcoap_msg_t exchange(fixture_t *f, const char *path, const req_spec_t *r)
{
    uint16_t mid = send_request(f, path, r);
    zcoap_msg_t m = next_msg(f);
    assert_int_equal(m.type, ZCOAP_TYPE_ACK);
    assert_int_equal(m.mid, mid);
    return m;
}

/* @p m is a 4.01 with an 8-byte Echo and nothing else; the value goes to @p echo. */
static void assert_challenge(const zcoap_msg_t *m, uint8_t echo[ZCOAP_UV_ECHO_SIZE])
{
    assert_int_equal(m->code, ZCOAP_UNAUTHORIZED);
    assert_int_equal(m->opt_count, 1);
    zcoap_opt_t o;
    assert_true(zcoap_msg_find_opt(m, ZCOAP_OPT_ECHO, &o));
    assert_int_equal(o.len, ZCOAP_UV_ECHO_SIZE);
    memcpy(echo, o.val, ZCOAP_UV_ECHO_SIZE);
    assert_int_equal(m->payload_len, 0);
    /* RFC 9175 §2.4 item 3: the 4.01 is small, at most 3 times any request here */
    assert_true(m->len <= 3u * 12u);
}

static void assert_big(const fixture_t *f, const zcoap_msg_t *m)
{
    assert_int_equal(m->code, ZCOAP_CONTENT);
    assert_int_equal(m->payload_len, BIG_LEN);
    assert_memory_equal(m->payload, f->big, BIG_LEN);
}

/* ---- the server --------------------------------------------------------------------------- */

/* An unverified address asking for a large answer gets 4.01 + Echo, piggybacked, not the 600
 * bytes; repeating the request with that Echo gets them and verifies the address: the next
 * request without Echo is answered at once. */
static void test_large_answer_needs_echo(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    uint8_t echo[ZCOAP_UV_ECHO_SIZE];
    zcoap_msg_t m = exchange(f, "big", &(req_spec_t){0});
    assert_challenge(&m, echo);
    assert_int_equal(stats(f)->echo_challenges, 1);
    m = exchange(f, "big", &(req_spec_t){.echo = echo, .echo_len = sizeof echo});
    assert_big(f, &m);
    assert_false(zcoap_msg_find_opt(&m, ZCOAP_OPT_ECHO, &(zcoap_opt_t){0}));
    assert_int_equal(stats(f)->echo_verified, 1);
    m = exchange(f, "big", &(req_spec_t){0});
    assert_big(f, &m);
    /* the same value again: harmless, the address is verified */
    m = exchange(f, "big", &(req_spec_t){.echo = echo, .echo_len = sizeof echo});
    assert_big(f, &m);
    assert_int_equal(stats(f)->echo_challenges, 1);
    assert_int_equal(stats(f)->echo_verified, 1);
    assert_int_equal(stats(f)->echo_rejected, 0);
    assert_int_equal(stats(f)->datagrams_out, 4);
}

/* A value that is not the one issued, or one issued for another challenge, verifies nothing:
 * another 4.01 with a new value, which then works. */
static void test_wrong_echo_gets_a_new_challenge(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    uint8_t first[ZCOAP_UV_ECHO_SIZE];
    uint8_t second[ZCOAP_UV_ECHO_SIZE];
    zcoap_msg_t m = exchange(f, "big", &(req_spec_t){0});
    assert_challenge(&m, first);
    uint8_t wrong[ZCOAP_UV_ECHO_SIZE];
    memcpy(wrong, first, sizeof wrong);
    wrong[7] ^= 0x01;
    m = exchange(f, "big", &(req_spec_t){.echo = wrong, .echo_len = sizeof wrong});
    assert_challenge(&m, second);
    assert_memory_not_equal(first, second, sizeof first);
    assert_int_equal(stats(f)->echo_rejected, 1);
    /* the first value was replaced by the second */
    m = exchange(f, "big", &(req_spec_t){.echo = first, .echo_len = sizeof first});
    uint8_t third[ZCOAP_UV_ECHO_SIZE];
    assert_challenge(&m, third);
    assert_int_equal(stats(f)->echo_rejected, 2);
    /* a short value is wrong too */
    m = exchange(f, "big", &(req_spec_t){.echo = third, .echo_len = 4});
    uint8_t fourth[ZCOAP_UV_ECHO_SIZE];
    assert_challenge(&m, fourth);
    m = exchange(f, "big", &(req_spec_t){.echo = fourth, .echo_len = sizeof fourth});
    assert_big(f, &m);
    assert_int_equal(stats(f)->echo_challenges, 4);
    assert_int_equal(stats(f)->echo_rejected, 3);
    assert_int_equal(stats(f)->echo_verified, 1);
}

/* echo_lifetime_ms 0: every value is stale by the time it returns (RFC 9175 §2.2.1 freshness):
 * a new 4.01 each time, never the answer. */
static void test_stale_echo_gets_a_new_challenge(void **state)
{
    fixture_t *f = *state;
    f->cfg.echo_lifetime_ms = 0;
    start_server(f);
    uint8_t echo[ZCOAP_UV_ECHO_SIZE];
    zcoap_msg_t m = exchange(f, "big", &(req_spec_t){0});
    assert_challenge(&m, echo);
    for (int i = 0; i < 3; i++) {
        m = exchange(f, "big", &(req_spec_t){.echo = echo, .echo_len = sizeof echo});
        assert_challenge(&m, echo);
    }
    assert_int_equal(stats(f)->echo_rejected, 3);
    assert_int_equal(stats(f)->echo_verified, 0);
}

/* Answers at most 3 times the request are never delayed; the Echo a small request carries
 * changes nothing. */
static void test_small_answers_unaffected(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    zcoap_msg_t m = exchange(f, "small", &(req_spec_t){0});
    assert_int_equal(m.code, ZCOAP_CONTENT);
    assert_int_equal(m.payload_len, SMALL_LEN);
    assert_true(m.len <= 3u * 12u); /* the request: 4 + 2 + 6 bytes */
    m = exchange(f, "missing", &(req_spec_t){0});
    assert_int_equal(m.code, ZCOAP_NOT_FOUND);
    assert_int_equal(stats(f)->echo_challenges, 0);
    assert_int_equal(f->handler_calls, 1);
}

/* amplification_limit false: the large answer at once, no Echo anywhere. */
static void test_limit_off(void **state)
{
    fixture_t *f = *state;
    f->cfg.amplification_limit = false;
    start_server(f);
    zcoap_msg_t m = exchange(f, "big", &(req_spec_t){0});
    assert_big(f, &m);
    assert_false(zcoap_msg_find_opt(&m, ZCOAP_OPT_ECHO, &(zcoap_opt_t){0}));
    assert_int_equal(stats(f)->echo_challenges, 0);
}

/* A factor large enough for the answer: served at once. Factor 0 with the limit on is refused. */
static void test_factor(void **state)
{
    fixture_t *f = *state;
    f->cfg.amplification_factor = 0;
    struct sockaddr_storage bind_addr;
    uvt_loopback(AF_INET, 0, &bind_addr);
    make_resources(f);
    assert_int_equal(zcoap_uv_server_start(&f->uv.loop, &f->server,
                                           (const struct sockaddr *)&bind_addr, &f->cfg),
                     ZCOAP_EINVAL);
    f->cfg.amplification_factor = 100; /* 600 + 10 bytes <= 100 x 12 */
    start_server(f);
    zcoap_msg_t m = exchange(f, "big", &(req_spec_t){0});
    assert_big(f, &m);
    zcoap_uv_server_config_t defaults;
    zcoap_uv_server_config_default(&defaults);
    assert_true(defaults.amplification_limit);
    assert_int_equal(defaults.amplification_factor, 3);
    assert_int_equal(defaults.echo_lifetime_ms, 60000);
}

/* A POST's handler has acted: its large answer goes (a 4.01 would make the client POST again),
 * counted. */
static void test_unsafe_method_answered(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    zcoap_msg_t m = exchange(f, "post", &(req_spec_t){.method = ZCOAP_POST});
    assert_int_equal(m.code, ZCOAP_CHANGED);
    assert_int_equal(m.payload_len, BIG_LEN);
    assert_int_equal(f->handler_calls, 1);
    assert_int_equal(stats(f)->echo_challenges, 0);
    assert_int_equal(stats(f)->amplification_unsafe, 1);
}

/* A NON request gets a NON 4.01 (RFC 7252 §5.2.3). */
static void test_non_request(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    (void)send_request(f, "big", &(req_spec_t){.type = ZCOAP_TYPE_NON});
    zcoap_msg_t m = next_msg(f);
    assert_int_equal(m.type, ZCOAP_TYPE_NON);
    uint8_t echo[ZCOAP_UV_ECHO_SIZE];
    assert_challenge(&m, echo);
    (void)send_request(
        f, "big", &(req_spec_t){.type = ZCOAP_TYPE_NON, .echo = echo, .echo_len = sizeof echo});
    m = next_msg(f);
    assert_int_equal(m.type, ZCOAP_TYPE_NON);
    assert_big(f, &m);
}

/* A separate answer's 4.01 goes NON, never CON (RFC 9175 §2.4 item 3: retransmissions of a CON
 * would amplify again). */
static void test_separate_challenge_is_non(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    uint16_t mid = send_request(f, "late", &(req_spec_t){0});
    zcoap_msg_t ack = next_msg(f);
    assert_int_equal(ack.type, ZCOAP_TYPE_ACK);
    assert_int_equal(ack.code, ZCOAP_CODE_EMPTY);
    assert_int_equal(ack.mid, mid);
    zcoap_msg_t m = next_msg(f);
    assert_int_equal(m.type, ZCOAP_TYPE_NON);
    assert_int_equal(m.token_len, 2);
    assert_int_equal((m.token[0] << 8) | m.token[1], mid);
    uint8_t echo[ZCOAP_UV_ECHO_SIZE];
    assert_challenge(&m, echo);
}

/* A registration whose first answer is too large: 4.01 + Echo without Observe, not taken; the
 * repeat with the Echo registers (RFC 7641 §3.2 and RFC 9175 §2.3). */
static void test_registration_needs_echo(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    zcoap_msg_t m = exchange(f, "obs", &(req_spec_t){.observe = true});
    uint8_t echo[ZCOAP_UV_ECHO_SIZE];
    assert_challenge(&m, echo);
    assert_int_equal(stats(f)->observers_in_use, 0);
    m = exchange(f, "obs", &(req_spec_t){.observe = true, .echo = echo, .echo_len = sizeof echo});
    assert_big(f, &m);
    uint32_t obs = 99;
    assert_int_equal(zcoap_msg_get_uint(&m, ZCOAP_OPT_OBSERVE, &obs), ZCOAP_OK);
    assert_int_equal(stats(f)->observers_in_use, 1);
    /* a notification to the verified observer goes out whole */
    assert_int_equal(zcoap_uv_server_notify(&f->server, &f->resources[RES_OBS]), 1);
    m = next_msg(f);
    assert_big(f, &m);
    assert_true(zcoap_msg_find_opt(&m, ZCOAP_OPT_OBSERVE, &(zcoap_opt_t){0}));
}

/* Each block counts against its own request: a block-wise GET needs one Echo, then its blocks
 * go out (the address is verified). */
static void test_blocks_after_verification(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    uint8_t echo[ZCOAP_UV_ECHO_SIZE];
    zcoap_msg_t m = exchange(f, "large", &(req_spec_t){0});
    assert_challenge(&m, echo);
    m = exchange(f, "large", &(req_spec_t){.echo = echo, .echo_len = sizeof echo});
    assert_int_equal(m.code, ZCOAP_CONTENT);
    assert_int_equal(m.payload_len, 1024);
    assert_memory_equal(m.payload, f->big, 1024);
    assert_int_equal(stats(f)->echo_challenges, 1);
}

/* A bare request (4 bytes: no token, no option, GET /) cannot even get the 4.01 with Echo
 * (14 bytes) within 3 times its size: its 4.01 comes without Echo (4 bytes). */
static void test_bare_request_gets_4_01_without_echo(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    const uint8_t bare[4] = {0x40, ZCOAP_GET, 0x12, 0x34}; /* CON GET, MID 0x1234, no token */
    assert_int_equal(uvt_peer_send(&f->peer, &f->server_addr, bare, sizeof bare), 0);
    zcoap_msg_t m = next_msg(f);
    assert_int_equal(m.type, ZCOAP_TYPE_ACK);
    assert_int_equal(m.mid, 0x1234);
    assert_int_equal(m.code, ZCOAP_UNAUTHORIZED);
    assert_int_equal(m.opt_count, 0);
    assert_int_equal(m.len, 4);
    /* the same with a one-byte token: 15 bytes <= 3 x 5, the Echo fits */
    const uint8_t tokened[5] = {0x41, ZCOAP_GET, 0x12, 0x35, 0x77};
    assert_int_equal(uvt_peer_send(&f->peer, &f->server_addr, tokened, sizeof tokened), 0);
    m = next_msg(f);
    uint8_t echo[ZCOAP_UV_ECHO_SIZE];
    assert_challenge(&m, echo);
    assert_int_equal(m.len, 15);
}

/* ---- the client: a transfer repeats the request with the Echo by itself --------------------- */

static bool count_unauthorized(void *ctx, zcoap_uv_datagram_dir_t dir, const struct sockaddr *peer,
                               const uint8_t *data, size_t len)
{
    fixture_t *f = ctx;
    (void)peer;
    if (dir == ZCOAP_UV_DATAGRAM_IN && len >= 2 && data[1] == ZCOAP_UNAUTHORIZED) {
        f->unauthorized_seen++;
    }
    return true;
}

static void on_report(zcoap_uv_client_t *c, void *ctx, const zcoap_uv_transfer_report_t *r)
{
    fixture_t *f = ctx;
    (void)c;
    if (r->kind == ZCOAP_UV_TRANSFER_DATA) {
        assert_true(r->offset + r->len <= sizeof f->got);
        memcpy(f->got + r->offset, r->data, r->len);
        if (r->offset + r->len > f->got_len) {
            f->got_len = r->offset + r->len;
        }
    } else if (r->kind == ZCOAP_UV_TRANSFER_DONE) {
        f->transfer_done = true;
        f->transfer_code = r->msg->code;
    } else if (r->kind == ZCOAP_UV_TRANSFER_FAILED) {
        f->transfer_done = true;
    }
}

static bool transfer_done(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->transfer_done;
}

static void test_client_transfer_repeats_with_echo(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    f->client.data = f;
    assert_int_equal(zcoap_uv_client_init(&f->uv.loop, &f->client, NULL, NULL), 0);
    f->client_open = true;
    zcoap_uv_client_set_hook(&f->client, count_unauthorized, f);
    assert_int_equal(zcoap_uv_client_connect(&f->client, (const struct sockaddr *)&f->server_addr),
                     0);
    char uri[128];
    uvt_uri(uri, sizeof uri, &f->server_addr, "large");
    assert_int_equal(
        zcoap_uv_client_transfer(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET, uri, NULL, on_report, f),
        0);
    assert_true(uvt_run_until(&f->uv, GUARD_MS, transfer_done, f));
    assert_int_equal(f->transfer_code, ZCOAP_CONTENT);
    assert_int_equal(f->got_len, LARGE_LEN);
    assert_memory_equal(f->got, f->big, LARGE_LEN);
    assert_int_equal(f->unauthorized_seen, 1);
    assert_int_equal(stats(f)->echo_challenges, 1);
    assert_int_equal(stats(f)->echo_verified, 1);
}

/* A plain request (zcoap_uv_client_request) is sent again with the Echo as well: the
 * application sees only the 2.05 of /big, never the 4.01. */
static void on_plain_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    fixture_t *f = c->data;
    if (ev->kind == ZCOAP_EV_OUT_RESPONSE) {
        f->transfer_done = true;
        f->transfer_code = ev->msg.code;
        f->got_len = ev->msg.payload_len < sizeof f->got ? ev->msg.payload_len : sizeof f->got;
        memcpy(f->got, ev->msg.payload, f->got_len);
    } else if (ev->kind == ZCOAP_EV_OUT_TIMEOUT || ev->kind == ZCOAP_EV_OUT_RESET) {
        f->transfer_done = true;
    }
}

static void test_client_request_repeats_with_echo(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    f->client.data = f;
    assert_int_equal(zcoap_uv_client_init(&f->uv.loop, &f->client, NULL, on_plain_event), 0);
    f->client_open = true;
    zcoap_uv_client_set_hook(&f->client, count_unauthorized, f);
    assert_int_equal(zcoap_uv_client_connect(&f->client, (const struct sockaddr *)&f->server_addr),
                     0);
    char uri[128];
    uvt_uri(uri, sizeof uri, &f->server_addr, "big");
    assert_int_equal(zcoap_uv_client_request(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET, uri, NULL, 0),
                     0);
    assert_true(uvt_run_until(&f->uv, GUARD_MS, transfer_done, f));
    assert_int_equal(f->transfer_code, ZCOAP_CONTENT);
    assert_int_equal(f->got_len, BIG_LEN);
    assert_memory_equal(f->got, f->big, BIG_LEN);
    assert_int_equal(f->unauthorized_seen, 1);
    assert_int_equal(stats(f)->echo_verified, 1);
    /* The next request of the verified client goes straight through. */
    f->transfer_done = false;
    assert_int_equal(zcoap_uv_client_request(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET, uri, NULL, 0),
                     0);
    assert_true(uvt_run_until(&f->uv, GUARD_MS, transfer_done, f));
    assert_int_equal(f->transfer_code, ZCOAP_CONTENT);
    assert_int_equal(f->unauthorized_seen, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_large_answer_needs_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_echo_gets_a_new_challenge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_echo_gets_a_new_challenge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_answers_unaffected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_factor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_method_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_separate_challenge_is_non, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registration_needs_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocks_after_verification, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bare_request_gets_4_01_without_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_transfer_repeats_with_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_request_repeats_with_echo, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
