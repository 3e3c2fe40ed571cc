/*
 * Load on a zcoap_uv_server_t (issue 8, "Load and soak", the test-command part), from many raw
 * UDP sockets on the same loop, each one CoAP peer with at most one request in flight (NSTART 1):
 *
 * - pool exhaustion: more peers than the pool holds get 5.03 Service Unavailable with Max-Age
 *   (RFC 7252 §5.9.3.4; CON: piggybacked, NON: a NON), and once the served peers' windows end,
 *   refused and new peers are served;
 * - 1,000 peers at a sustained paced rate for a bounded time (6 s): every CON request is answered,
 *   byte-exact (its MID, token, and payload echoed); peer slots are released and taken again all
 *   along (the window is shorter than a peer's pause), and the peer pool returns to its idle
 *   count once the de-duplication window (EXCHANGE_LIFETIME, short here) has passed; RSS does not
 * grow from the end of the first half to the end of the second (plain builds only: ASan and
 *   Valgrind change RSS for their own reasons).
 *
 * Under Valgrind the load test uses 100 peers, a tenth of the rate and a third of the time.
 * Raw peers do not retransmit: on loopback, with the requests in flight capped below what the
 * server's socket buffer holds, nothing is lost, so an unanswered CON is the server's fault.
 * Every wait is bounded by a guard timer, nothing sleeps; callbacks only count, the test body
 * asserts once the loop is back; every test ends with uv_loop_close() == 0.
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
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "uv_support.h"
#include "zcoap/uv.h"

enum {
    GUARD_MS = 5000,
    /* ACK_TIMEOUT 20 ms, factor 1.0, MAX_RETRANSMIT 1: a peer's window (EXCHANGE_LIFETIME,
     * §4.8.2) is 20 + 2 * MAX_LATENCY + 20 ms. The pool test keeps its peers 1,040 ms (no
     * recycling while it looks, even under Valgrind); the load test 80 ms, shorter than the
     * ~100 ms between two requests of a peer, so slots are released and taken again all along. */
    FAST_ACK_TIMEOUT_MS = 20,
    POOL_MAX_LATENCY_MS = 500,
    LOAD_MAX_LATENCY_MS = 20,
    /* pool exhaustion */
    SMALL_POOL = 8,
    BUSY_MAX_AGE_S = 3,
    EXTRA_PEERS = 4, /* CON requests beyond the pool */
    /* load */
    LOAD_PEERS = 1000,
    LOAD_RATE_PER_S = 10000, /* requests per second offered */
    LOAD_MS = 6000,          /* two halves of 3 s */
    LOAD_TICK_MS = 2,
    MAX_IN_FLIGHT = 128,         /* under the server socket buffer even at rmem_max 208 KiB */
    RSS_TOLERANCE = 1024 * 1024, /* bytes the second half may add (allocator noise) */
    BODY_LEN = 12                /* peer index, sequence number, 4 filler bytes */
};

static const char HELLO[] = "hello";

/* ---- light raw peers ------------------------------------------------------------------------ */

typedef struct load load_t;

/* One raw peer: a socket and its one request in flight. A few dozen bytes, not the 270 KB of a
 * logging uvt_peer_t: there are a thousand. */
typedef struct lpeer {
    uv_udp_t sock;
    load_t *L;
    uint32_t index;
    bool open;
    bool in_flight;
    uint8_t type; /* of the request in flight */
    uint16_t mid;
    uint32_t seq;
    uint8_t req[64];
    size_t req_len;
    /* the last answer */
    uint8_t code;
    uint8_t resp_type;
    bool has_max_age;
    uint32_t max_age;
    uint32_t answered;
    uint32_t bad; /* answers that do not match the request in flight */
} lpeer_t;

struct load {
    uvt_loop_t uv;
    zcoap_uv_server_t server;
    zcoap_resource_t resources[2];
    bool server_started;
    bool server_close_requested;
    int server_close_calls;
    struct sockaddr_storage server_addr;
    lpeer_t *peers;
    size_t n_peers;
    size_t open_socks;
    uint8_t rx[2048]; /* every light peer reads here: one datagram at a time, on one thread */
    /* totals */
    uint64_t sent;
    uint64_t answered;
    uint64_t bad;
    uint64_t send_errors;
    uint64_t not_coap;
    size_t in_flight;
    /* pacing */
    uv_timer_t tick;
    bool tick_ready;
    uint64_t start_ms;
    uint64_t rate_per_s;
    uint64_t end_ms;
    size_t next_peer;
    size_t wait_peers_answered;
};

static void on_lpeer_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    lpeer_t *p = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)p->L->rx, sizeof p->L->rx);
}

/* Check the answer against the request in flight: same MID (piggybacked in the ACK) or a NON,
 * same token, and for 2.xx answers the request's own payload back (POST /echo) or HELLO. */
static void on_lpeer_recv(uv_udp_t *sock, ssize_t nread, const uv_buf_t *buf,
                          const struct sockaddr *from, unsigned flags)
{
    lpeer_t *p = sock->data;
    load_t *L = p->L;
    (void)flags;
    if (nread <= 0 || from == NULL) {
        return;
    }
    zcoap_msg_t m;
    zcoap_msg_t req;
    if (zcoap_msg_parse(&m, (const uint8_t *)buf->base, (size_t)nread) != ZCOAP_OK ||
        zcoap_msg_parse(&req, p->req, p->req_len) != ZCOAP_OK) {
        L->not_coap++;
        return;
    }
    bool match = p->in_flight && m.token_len == req.token_len &&
                 memcmp(m.token, req.token, req.token_len) == 0 &&
                 (req.type == ZCOAP_TYPE_CON ? m.type == ZCOAP_TYPE_ACK && m.mid == req.mid
                                             : m.type == ZCOAP_TYPE_NON);
    if (match && m.code == ZCOAP_CHANGED) {
        match = m.payload_len == req.payload_len &&
                memcmp(m.payload, req.payload, req.payload_len) == 0;
    } else if (match && m.code == ZCOAP_CONTENT) {
        match = m.payload_len == sizeof HELLO - 1u && memcmp(m.payload, HELLO, m.payload_len) == 0;
    }
    if (!match) {
        p->bad++;
        L->bad++;
        return;
    }
    zcoap_opt_t opt;
    p->code = m.code;
    p->resp_type = m.type;
    p->has_max_age = zcoap_msg_find_opt(&m, ZCOAP_OPT_MAX_AGE, &opt);
    p->max_age = 0;
    if (p->has_max_age) {
        (void)zcoap_opt_uint(&opt, &p->max_age);
    }
    p->in_flight = false;
    p->answered++;
    L->answered++;
    L->in_flight--;
}

static int lpeer_open(load_t *L, lpeer_t *p, uint32_t index)
{
    memset(p, 0, sizeof *p);
    p->L = L;
    p->index = index;
    p->mid = (uint16_t)(index * 7919u);
    int rc = uv_udp_init(&L->uv.loop, &p->sock);
    if (rc != 0) {
        return rc;
    }
    p->sock.data = p;
    p->open = true;
    L->open_socks++;
    struct sockaddr_storage at;
    uvt_loopback(AF_INET, 0, &at);
    rc = uv_udp_bind(&p->sock, (const struct sockaddr *)&at, 0);
    if (rc == 0) {
        rc = uv_udp_recv_start(&p->sock, on_lpeer_alloc, on_lpeer_recv);
    }
    return rc;
}

static void on_lpeer_closed(uv_handle_t *h)
{
    lpeer_t *p = h->data;
    p->L->open_socks--;
}

/* Send the next request of @p p: @p type, GET /hello or POST /echo with a body naming it. */
static bool lpeer_send(lpeer_t *p, uint8_t type, bool post)
{
    load_t *L = p->L;
    p->mid++;
    p->seq++;
    const uint8_t token[4] = {(uint8_t)(p->index >> 8), (uint8_t)p->index, (uint8_t)(p->seq >> 8),
                              (uint8_t)p->seq};
    zcoap_builder_t b;
    (void)zcoap_builder_init(&b, p->req, sizeof p->req, type, post ? ZCOAP_POST : ZCOAP_GET, p->mid,
                             token, sizeof token);
    (void)zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, post ? "echo" : "hello");
    if (post) {
        uint8_t body[BODY_LEN];
        for (size_t i = 0; i < 4; i++) {
            body[i] = (uint8_t)(p->index >> (8 * i));
            body[4 + i] = (uint8_t)(p->seq >> (8 * i));
            body[8 + i] = (uint8_t)(0xA5u ^ i);
        }
        (void)zcoap_builder_set_payload(&b, body, sizeof body);
    }
    ptrdiff_t n = zcoap_builder_finish(&b);
    if (n <= 0) {
        L->send_errors++;
        return false;
    }
    p->req_len = (size_t)n;
    p->type = type;
    uv_buf_t ub = uv_buf_init((char *)p->req, (unsigned int)n);
    if (uv_udp_try_send(&p->sock, &ub, 1, (const struct sockaddr *)&L->server_addr) != (int)n) {
        L->send_errors++;
        return false;
    }
    p->in_flight = true;
    L->in_flight++;
    L->sent++;
    return true;
}

/* ---- the fixture ---------------------------------------------------------------------------- */

static void handle_hello(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                         const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    (void)req;
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, HELLO, sizeof HELLO - 1u);
}

static void handle_echo(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                        const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CHANGED, -1, req->payload, req->payload_len);
}

static zcoap_resource_t resource(const char *path, uint32_t methods, zcoap_uv_handler_fn handler)
{
    zcoap_resource_t r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.methods = methods;
    r.handler = (void *)(uintptr_t)handler;
    return r;
}

static void on_server_closed(zcoap_uv_server_t *s)
{
    load_t *L = s->data;
    L->server_close_calls++;
}

static void start_server(load_t *L, size_t max_peers, uint32_t max_latency_ms)
{
    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    L->resources[0] = resource("hello", ZCOAP_METHOD_BIT(ZCOAP_GET), handle_hello);
    L->resources[1] = resource("echo", ZCOAP_METHOD_BIT(ZCOAP_POST), handle_echo);
    cfg.resources = L->resources;
    cfg.n_resources = 2;
    cfg.max_peers = max_peers;
    cfg.msg_cap = 256; /* small messages: what a gateway serving many peers configures */
    cfg.tx.ack_timeout_ms = FAST_ACK_TIMEOUT_MS;
    cfg.tx.ack_random_factor_permil = 1000;
    cfg.tx.max_retransmit = 1;
    cfg.tx.max_latency_ms = max_latency_ms;
    cfg.busy_max_age_s = BUSY_MAX_AGE_S;
    struct sockaddr_storage at;
    uvt_loopback(AF_INET, 0, &at);
    L->server.data = L;
    assert_int_equal(
        zcoap_uv_server_start(&L->uv.loop, &L->server, (const struct sockaddr *)&at, &cfg), 0);
    L->server_started = true;
    assert_int_equal(zcoap_uv_server_address(&L->server, &L->server_addr), 0);
}

static const zcoap_uv_server_stats_t *server_stats(const load_t *L)
{
    return zcoap_uv_server_stats(&L->server);
}

/* Each peer holds one socket: raise the descriptor limit, and use fewer peers if it is low. */
static size_t clamp_to_fd_limit(size_t n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return n;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)n + 64u) {
        size_t limited = rl.rlim_cur > 164u ? (size_t)rl.rlim_cur - 64u : 100u;
        print_message("descriptor limit %llu: %zu peers instead of %zu\n",
                      (unsigned long long)rl.rlim_cur, limited, n);
        return limited;
    }
    return n;
}

static void open_peers(load_t *L, size_t n)
{
    L->peers = calloc(n, sizeof *L->peers);
    assert_non_null(L->peers);
    L->n_peers = n;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(lpeer_open(L, &L->peers[i], (uint32_t)i), 0);
    }
}

static bool all_closed(const void *ctx)
{
    const load_t *L = ctx;
    return L->open_socks == 0 && (!L->server_close_requested || L->server_close_calls > 0);
}

static int setup(void **state)
{
    load_t *L = calloc(1, sizeof *L);
    if (L == NULL || uvt_loop_init(&L->uv) != 0) {
        free(L);
        return -1;
    }
    (void)uv_timer_init(&L->uv.loop, &L->tick);
    L->tick.data = L;
    L->tick_ready = true;
    *state = L;
    return 0;
}

static int teardown(void **state)
{
    load_t *L = *state;
    uvt_close_handle((uv_handle_t *)&L->tick);
    for (size_t i = 0; i < L->n_peers; i++) {
        lpeer_t *p = &L->peers[i];
        if (p->open) {
            p->open = false;
            uv_close((uv_handle_t *)&p->sock, on_lpeer_closed);
        }
    }
    if (L->server_started && !L->server_close_requested) {
        L->server_close_requested = true;
        zcoap_uv_server_close(&L->server, on_server_closed);
    }
    assert_true(uvt_run_until(&L->uv, GUARD_MS, all_closed, L));
    uvt_loop_end(&L->uv);
    free(L->peers);
    free(L);
    return 0;
}

static bool nothing_in_flight(const void *ctx)
{
    const load_t *L = ctx;
    return L->in_flight == 0;
}

static bool pool_idle(const void *ctx)
{
    const load_t *L = ctx;
    return zcoap_uv_server_stats(&L->server)->peers_in_use == 0;
}

/* ---- 1. pool exhaustion ---------------------------------------------------------------------- */

static size_t count_code(const load_t *L, size_t from, size_t to, uint8_t code)
{
    size_t n = 0;
    for (size_t i = from; i < to; i++) {
        n += L->peers[i].code == code ? 1u : 0u;
    }
    return n;
}

/* A pool of 8 and 12 peers at once, each a CON GET: 8 are served, 4 get 5.03 piggybacked with
 * Max-Age (busy_max_age_s), their handler never called; a NON from a 13th gets a NON 5.03. Once
 * the pool is idle (the served peers' windows are over), the refused peers and new ones are
 * served; no request is ever left unanswered. */
static void test_pool_exhaustion_then_recovery(void **state)
{
    load_t *L = *state;
    start_server(L, SMALL_POOL, POOL_MAX_LATENCY_MS);
    const size_t first = SMALL_POOL + EXTRA_PEERS; /* 12 CON */
    const size_t non_peer = first;                 /* the 13th: NON */
    const size_t fresh = SMALL_POOL - EXTRA_PEERS - 1u;
    open_peers(L, first + 1u + fresh);
    for (size_t i = 0; i < first; i++) {
        assert_true(lpeer_send(&L->peers[i], ZCOAP_TYPE_CON, false));
    }
    assert_true(uvt_run_until(&L->uv, GUARD_MS, nothing_in_flight, L));
    assert_int_equal(count_code(L, 0, first, ZCOAP_CONTENT), SMALL_POOL);
    assert_int_equal(count_code(L, 0, first, ZCOAP_SERVICE_UNAVAILABLE), EXTRA_PEERS);
    for (size_t i = 0; i < first; i++) {
        const lpeer_t *p = &L->peers[i];
        assert_int_equal(p->resp_type, ZCOAP_TYPE_ACK);
        if (p->code == ZCOAP_SERVICE_UNAVAILABLE) {
            assert_true(p->has_max_age); /* §5.9.3.4 */
            assert_int_equal(p->max_age, BUSY_MAX_AGE_S);
        } else {
            assert_false(p->has_max_age);
        }
    }
    const zcoap_uv_server_stats_t *st = server_stats(L);
    assert_int_equal(st->pool_full, EXTRA_PEERS);
    assert_int_equal(st->peers_in_use, SMALL_POOL);
    assert_int_equal(st->peers_created, SMALL_POOL);

    /* A NON request to the full pool: a NON 5.03 with Max-Age (§5.2.3). */
    assert_true(lpeer_send(&L->peers[non_peer], ZCOAP_TYPE_NON, false));
    assert_true(uvt_run_until(&L->uv, GUARD_MS, nothing_in_flight, L));
    assert_int_equal(L->peers[non_peer].code, ZCOAP_SERVICE_UNAVAILABLE);
    assert_int_equal(L->peers[non_peer].resp_type, ZCOAP_TYPE_NON);
    assert_int_equal(L->peers[non_peer].max_age, BUSY_MAX_AGE_S);
    assert_int_equal(st->pool_full, EXTRA_PEERS + 1);

    /* After the de-duplication window the slots come back: the refused peers retry and new
     * peers arrive, exactly as many as the pool holds. */
    assert_true(uvt_run_until(&L->uv, GUARD_MS, pool_idle, L));
    assert_int_equal(st->peers_recycled, SMALL_POOL);
    size_t retried = 0;
    for (size_t i = 0; i <= non_peer; i++) {
        if (L->peers[i].code == ZCOAP_SERVICE_UNAVAILABLE) {
            assert_true(lpeer_send(&L->peers[i], ZCOAP_TYPE_CON, true));
            retried++;
        }
    }
    assert_int_equal(retried, EXTRA_PEERS + 1);
    for (size_t i = non_peer + 1u; i < L->n_peers; i++) {
        assert_true(lpeer_send(&L->peers[i], ZCOAP_TYPE_CON, false));
    }
    assert_true(uvt_run_until(&L->uv, GUARD_MS, nothing_in_flight, L));
    assert_int_equal(count_code(L, 0, L->n_peers, ZCOAP_SERVICE_UNAVAILABLE), 0);
    assert_int_equal(st->pool_full, EXTRA_PEERS + 1);
    assert_int_equal(st->peers_created, 2 * SMALL_POOL);
    assert_int_equal(L->bad, 0);
    assert_int_equal(L->answered, L->sent);
    assert_true(uvt_run_until(&L->uv, GUARD_MS, pool_idle, L));
}

/* ---- 2. 1,000 peers at a sustained rate --------------------------------------------------- */

/* Offer requests at rate_per_s: each tick sends what the rate owes since the start, to peers
 * in turn that have nothing in flight, with at most MAX_IN_FLIGHT outstanding in all. */
static void on_tick(uv_timer_t *t)
{
    load_t *L = t->data;
    uint64_t now = uv_now(&L->uv.loop);
    if (now >= L->end_ms) {
        return;
    }
    uint64_t owed = (now - L->start_ms) * L->rate_per_s / 1000u;
    size_t scanned = 0;
    while (L->sent < owed && L->in_flight < MAX_IN_FLIGHT && scanned < L->n_peers) {
        lpeer_t *p = &L->peers[L->next_peer];
        L->next_peer = (L->next_peer + 1u) % L->n_peers;
        scanned++;
        if (p->in_flight) {
            continue;
        }
        /* Mostly POST /echo (checked byte by byte), every fourth a GET. */
        if (!lpeer_send(p, ZCOAP_TYPE_CON, (p->seq % 4u) != 3u)) {
            break;
        }
        scanned = 0;
    }
}

static bool load_phase_over(const void *ctx)
{
    const load_t *L = ctx;
    return uv_now(&L->uv.loop) >= L->end_ms;
}

/* Resident set size in bytes (/proc/self/statm: pages). */
static size_t rss_bytes(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    unsigned long size = 0;
    unsigned long resident = 0;
    if (fp == NULL) {
        return 0;
    }
    if (fscanf(fp, "%lu %lu", &size, &resident) != 2) {
        resident = 0;
    }
    (void)fclose(fp);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* Run the paced load for @p ms of loop time. */
static void run_load(load_t *L, uint64_t ms)
{
    L->end_ms = uv_now(&L->uv.loop) + ms;
    assert_int_equal(uv_timer_start(&L->tick, on_tick, LOAD_TICK_MS, LOAD_TICK_MS), 0);
    assert_true(uvt_run_until(&L->uv, ms + GUARD_MS, load_phase_over, L));
    (void)uv_timer_stop(&L->tick);
}

static void test_load_many_peers(void **state)
{
    load_t *L = *state;
    bool valgrind = uvt_under_valgrind();
    size_t n_peers = clamp_to_fd_limit(uvt_scaled(LOAD_PEERS, 10, 10));
    uint64_t load_ms = LOAD_MS;
    const char *seconds = getenv("ZCOAP_LOAD_SECONDS"); /* scripts/reliability: 60 */
    if (seconds != NULL && atoi(seconds) > 0)
        load_ms = (uint64_t)atoi(seconds) * 1000u;
    uint64_t half_ms = valgrind ? load_ms / 6u : load_ms / 2u;
    start_server(L, n_peers + 24u, LOAD_MAX_LATENCY_MS);
    open_peers(L, n_peers);
    L->rate_per_s = uvt_scaled(LOAD_RATE_PER_S, 10, 100);
    uv_update_time(&L->uv.loop);
    L->start_ms = uv_now(&L->uv.loop);
    uint64_t t0 = uv_hrtime();

    run_load(L, half_ms);
    uint64_t sent_first = L->sent;
    size_t rss_first = rss_bytes();
    run_load(L, half_ms);
    size_t rss_second = rss_bytes();
    /* The last requests still get their answers. */
    assert_true(uvt_run_until(&L->uv, GUARD_MS, nothing_in_flight, L));
    double secs = (double)(uv_hrtime() - t0) / 1e9;

    const zcoap_uv_server_stats_t *st = server_stats(L);
    size_t touched = 0;
    for (size_t i = 0; i < L->n_peers; i++) {
        touched += L->peers[i].answered > 0 ? 1u : 0u;
    }
    print_message("load: %zu peers, %llu CON requests in %.1f s (%llu in the first half), %llu "
                  "answered byte-exact, %llu bad, %llu send errors; server in %llu out %llu, "
                  "truncated %llu, pool full %llu, peer slots taken %llu (for %zu peers); RSS %zu "
                  "KiB -> %zu KiB\n",
                  L->n_peers, (unsigned long long)L->sent, secs, (unsigned long long)sent_first,
                  (unsigned long long)L->answered, (unsigned long long)L->bad,
                  (unsigned long long)L->send_errors, (unsigned long long)st->datagrams_in,
                  (unsigned long long)st->datagrams_out, (unsigned long long)st->truncated,
                  (unsigned long long)st->pool_full, (unsigned long long)st->peers_created,
                  L->n_peers, rss_first / 1024u, rss_second / 1024u);
    /* Both halves offered requests (the rate itself is not asserted: no speed in tests). */
    assert_true(sent_first > 0);
    assert_true(L->sent > sent_first);
    assert_int_equal(touched, L->n_peers); /* every peer took part */
    /* RFC 7252 §4.2: every CON request answered, and with its own bytes. */
    assert_int_equal(L->send_errors, 0);
    assert_int_equal(L->not_coap, 0);
    assert_int_equal(L->bad, 0);
    assert_int_equal(L->answered, L->sent);
    assert_int_equal(st->datagrams_in, L->sent);
    assert_int_equal(st->datagrams_out, L->sent);
    assert_int_equal(st->pool_full, 0);
    assert_int_equal(st->send_errors, 0);
    assert_int_equal(st->recv_errors, 0);
    assert_int_equal(st->truncated, 0);
    /* The pool returns to idle once the last windows have passed. */
    assert_true(uvt_run_until(&L->uv, GUARD_MS, pool_idle, L));
    assert_int_equal(st->peers_in_use, 0);
    assert_int_equal(st->peers_recycled, st->peers_created);
    /* No growth from the first half to the second (where RSS means something). */
    if (valgrind || uvt_asan_build()) {
        print_message("RSS not asserted under %s\n", valgrind ? "Valgrind" : "ASan");
    } else {
        assert_true(rss_first > 0);
        if (rss_second > rss_first + RSS_TOLERANCE) {
            fail_msg("RSS grew by %zu KiB in the second half", (rss_second - rss_first) / 1024u);
        }
    }
}

int main(int argc, char **argv)
{
    uvt_filter_tests(argc, argv); /* a pattern, or --skip PATTERN */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pool_exhaustion_then_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_many_peers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
