/*
 * Servers sharing one port through SO_REUSEPORT (zcoap_uv_server_config_t.reuse_port).
 *
 * Two servers on ONE loop bound to one address and port: the kernel picks the socket of each
 * datagram by a hash of its source address and port, whichever loop or thread reads the socket,
 * so one loop is enough to show the spreading. 200 adapter clients (200 sockets, 200 distinct
 * source ports) send one CON GET each; every one must be answered, and both servers must have
 * served some. Then the refusals: a plain bind on a shared port, a shared bind on a plain port,
 * and a bind with SO_REUSEADDR all fail with UV_EADDRINUSE; a failed shared bind reports a libuv
 * code and leaves no descriptor behind. Every wait is bounded by a guard timer; nothing sleeps.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
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
    GUARD_MS = 10000, /* loop time after which a wait counts as failed */
    /* With two sockets the kernel hands each peer to one of them by a keyed hash of its
     * address and port (reciprocal_scale(hash, 2)): as good as a fair coin per peer. The
     * chance that one server gets none of N peers is 2 * 2^-N: for 200 peers 2^-199, about
     * 1.2e-60, so "both served some" fails only when the sharing does not work. */
    N_PEERS = 200,
    N_SERVERS = 2
};

static const char HELLO[] = "Hello World!";

typedef struct fixture fixture_t;

typedef struct test_server {
    zcoap_uv_server_t s;
    fixture_t *f;
    bool started;
    bool closed;
    size_t served; /* requests its handler answered */
} test_server_t;

typedef struct test_client {
    zcoap_uv_client_t c;
    fixture_t *f;
    bool inited;
    bool closed;
    int responses;
    int failures;
    uint8_t code;
    bool hello; /* the payload was HELLO */
} test_client_t;

struct fixture {
    uvt_loop_t uv;
    int family;
    test_server_t servers[N_SERVERS];
    struct sockaddr_storage addr; /* where the first server is bound */
    test_client_t *clients;
    size_t n_clients;
    size_t answered; /* responses, timeouts and resets */
};

/* ---- loop and guard ----------------------------------------------------------------------- */

static bool run_until(fixture_t *f, bool (*done)(const void *ctx))
{
    return uvt_run_until(&f->uv, GUARD_MS, done, f);
}

static bool everything_closed(const void *ctx)
{
    const fixture_t *f = ctx;
    for (size_t i = 0; i < N_SERVERS; i++) {
        if (f->servers[i].started && !f->servers[i].closed) {
            return false;
        }
    }
    for (size_t i = 0; i < f->n_clients; i++) {
        if (f->clients[i].inited && !f->clients[i].closed) {
            return false;
        }
    }
    return true;
}

static bool all_answered(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->answered >= f->n_clients;
}

/* ---- servers ------------------------------------------------------------------------------ */

static void handle_hello(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                         const zcoap_msg_t *req)
{
    test_server_t *ts = s->data;
    (void)res;
    (void)req;
    ts->served++;
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, HELLO, sizeof HELLO - 1u);
}

static const zcoap_resource_t RESOURCES[] = {
    {"hello", ZCOAP_METHOD_BIT(ZCOAP_GET), NULL, false, (void *)(uintptr_t)handle_hello},
};

/* Start server @p i on @p addr; returns start's result. A server whose start failed has a
 * closing handle: the teardown runs the loop until it is gone. */
static int start_server(fixture_t *f, size_t i, const struct sockaddr_storage *addr,
                        bool reuse_port)
{
    test_server_t *ts = &f->servers[i];
    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    cfg.resources = RESOURCES;
    cfg.n_resources = sizeof RESOURCES / sizeof RESOURCES[0];
    cfg.max_peers = N_PEERS;
    cfg.reuse_port = reuse_port;
    ts->f = f;
    ts->s.data = ts;
    int rc = zcoap_uv_server_start(&f->uv.loop, &ts->s, (const struct sockaddr *)addr, &cfg);
    if (rc == 0) {
        ts->started = true;
    }
    return rc;
}

/* The first server on loopback port 0; its address in f->addr. Skips without IPv6 loopback. */
static void start_first_server(fixture_t *f, bool reuse_port)
{
    struct sockaddr_storage any_port;
    uvt_loopback(f->family, 0, &any_port);
    uvt_require_loopback(f->family, start_server(f, 0, &any_port, reuse_port));
    assert_int_equal(zcoap_uv_server_address(&f->servers[0].s, &f->addr), 0);
}

static void on_server_closed(zcoap_uv_server_t *s)
{
    test_server_t *ts = s->data;
    ts->closed = true;
}

/* ---- clients ------------------------------------------------------------------------------ */

static void on_client_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    test_client_t *tc = c->data;
    switch (ev->kind) {
    case ZCOAP_EV_OUT_RESPONSE:
        tc->responses++;
        tc->code = ev->msg.code;
        tc->hello = ev->msg.payload_len == sizeof HELLO - 1u &&
                    memcmp(ev->msg.payload, HELLO, sizeof HELLO - 1u) == 0;
        tc->f->answered++;
        break;
    case ZCOAP_EV_OUT_TIMEOUT:
    case ZCOAP_EV_OUT_RESET:
        tc->failures++;
        tc->f->answered++; /* over all the same: the wait ends, the asserts report it */
        break;
    default:
        break;
    }
}

static void on_client_closed(zcoap_uv_client_t *c)
{
    test_client_t *tc = c->data;
    tc->closed = true;
}

/* @p n clients, each on its own socket (its own source port), each sending CON GET /hello. */
static void send_from_clients(fixture_t *f, size_t n)
{
    char uri[64];
    uvt_uri(uri, sizeof uri, &f->addr, "hello");
    f->clients = calloc(n, sizeof *f->clients);
    assert_non_null(f->clients);
    f->n_clients = n;
    for (size_t i = 0; i < n; i++) {
        test_client_t *tc = &f->clients[i];
        tc->f = f;
        tc->c.data = tc;
        assert_int_equal(zcoap_uv_client_init(&f->uv.loop, &tc->c, NULL, on_client_event), 0);
        tc->inited = true;
        assert_int_equal(zcoap_uv_client_connect(&tc->c, (const struct sockaddr *)&f->addr), 0);
        assert_int_equal(zcoap_uv_client_request(&tc->c, ZCOAP_TYPE_CON, ZCOAP_GET, uri, NULL, 0),
                         0);
    }
}

/* ---- setup and teardown ------------------------------------------------------------------- */

static int setup(void **state, int family)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL || uvt_loop_init(&f->uv) != 0) {
        free(f);
        return -1;
    }
    f->family = family;
    *state = f;
    return 0;
}

static int setup_ipv4(void **state)
{
    return setup(state, AF_INET);
}

static int setup_ipv6(void **state)
{
    return setup(state, AF_INET6);
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    for (size_t i = 0; i < f->n_clients; i++) {
        if (f->clients[i].inited) {
            zcoap_uv_client_close(&f->clients[i].c, on_client_closed);
        }
    }
    for (size_t i = 0; i < N_SERVERS; i++) {
        if (f->servers[i].started) {
            zcoap_uv_server_close(&f->servers[i].s, on_server_closed);
        }
    }
    assert_true(run_until(f, everything_closed));
    uvt_loop_end(&f->uv); /* also the handles of failed starts, closing since the start */
    free(f->clients);
    free(f);
    return 0;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_two_servers_share_a_port(void **state)
{
    fixture_t *f = *state;
    start_first_server(f, true); /* port 0: the second joins the port the kernel picked */
    assert_int_equal(start_server(f, 1, &f->addr, true), 0);
    struct sockaddr_storage second;
    assert_int_equal(zcoap_uv_server_address(&f->servers[1].s, &second), 0);
    assert_memory_equal(&second, &f->addr,
                        f->family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in));

    send_from_clients(f, N_PEERS);
    assert_true(run_until(f, all_answered));

    size_t served[N_SERVERS];
    for (size_t i = 0; i < N_SERVERS; i++) {
        served[i] = f->servers[i].served;
    }
    print_message("%s: %zu peers, server 0 served %zu, server 1 served %zu\n",
                  f->family == AF_INET6 ? "IPv6" : "IPv4", (size_t)N_PEERS, served[0], served[1]);
    for (size_t i = 0; i < f->n_clients; i++) {
        const test_client_t *tc = &f->clients[i];
        assert_int_equal(tc->failures, 0);
        assert_int_equal(tc->responses, 1);
        assert_int_equal(tc->code, ZCOAP_CONTENT);
        assert_true(tc->hello);
    }
    assert_int_equal(served[0] + served[1], N_PEERS);
    assert_true(served[0] > 0);
    assert_true(served[1] > 0);
    for (size_t i = 0; i < N_SERVERS; i++) {
        /* One peer per client on the server that got it: no peer went to both. */
        const zcoap_uv_server_stats_t *st = zcoap_uv_server_stats(&f->servers[i].s);
        assert_int_equal(st->peers_created, served[i]);
        assert_int_equal(st->datagrams_in, served[i]);
        assert_int_equal(st->datagrams_out, served[i]);
    }
}

/* Sharing takes both sides: a server without reuse_port cannot join a shared port, nor one
 * with it a plain port. */
static void test_plain_bind_on_shared_port_in_use(void **state)
{
    fixture_t *f = *state;
    start_first_server(f, true);
    assert_int_equal(start_server(f, 1, &f->addr, false), UV_EADDRINUSE);
}

static void test_shared_bind_on_plain_port_in_use(void **state)
{
    fixture_t *f = *state;
    start_first_server(f, false);
    assert_int_equal(start_server(f, 1, &f->addr, true), UV_EADDRINUSE);
}

/* libuv's uv_udp_open() turns SO_REUSEADDR on; the server turns it off again, else any socket
 * with SO_REUSEADDR (UV_UDP_REUSEADDR, of any user) could bind the shared port too. */
static void test_reuseaddr_bind_on_shared_port_in_use(void **state)
{
    fixture_t *f = *state;
    start_first_server(f, true);
    uv_udp_t intruder;
    assert_int_equal(uv_udp_init(&f->uv.loop, &intruder), 0);
    int rc = uv_udp_bind(&intruder, (const struct sockaddr *)&f->addr, UV_UDP_REUSEADDR);
    uv_close((uv_handle_t *)&intruder, NULL);
    (void)uv_run(&f->uv.loop, UV_RUN_NOWAIT);
    assert_int_equal(rc, UV_EADDRINUSE);
}

static size_t open_descriptors(void)
{
    DIR *d = opendir("/proc/self/fd");
    size_t n = 0;
    assert_non_null(d);
    while (readdir(d) != NULL) {
        n++;
    }
    (void)closedir(d);
    return n;
}

/* A bind the system refuses comes back as a libuv code, and the socket made for it is closed. */
static void test_failed_shared_bind_reports_and_closes(void **state)
{
    fixture_t *f = *state;
    struct sockaddr_storage foreign; /* TEST-NET-1 (RFC 5737): not an address of this host */
    memset(&foreign, 0, sizeof foreign);
    assert_int_equal(uv_ip4_addr("192.0.2.1", 0, (struct sockaddr_in *)&foreign), 0);
    size_t before = open_descriptors();
    assert_int_equal(start_server(f, 0, &foreign, true), UV_EADDRNOTAVAIL);
    (void)uv_run(&f->uv.loop, UV_RUN_NOWAIT); /* the failed start's handle closes */
    assert_int_equal(open_descriptors(), before);

    struct sockaddr_storage unix_family;
    memset(&unix_family, 0, sizeof unix_family);
    unix_family.ss_family = AF_UNIX;
    assert_int_equal(start_server(f, 0, &unix_family, true), UV_EINVAL);
    (void)uv_run(&f->uv.loop, UV_RUN_NOWAIT);
    assert_int_equal(open_descriptors(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        {"test_two_servers_share_a_port_ipv4", test_two_servers_share_a_port, setup_ipv4, teardown,
         NULL},
        {"test_two_servers_share_a_port_ipv6", test_two_servers_share_a_port, setup_ipv6, teardown,
         NULL},
        {"test_plain_bind_on_shared_port_in_use_ipv4", test_plain_bind_on_shared_port_in_use,
         setup_ipv4, teardown, NULL},
        {"test_plain_bind_on_shared_port_in_use_ipv6", test_plain_bind_on_shared_port_in_use,
         setup_ipv6, teardown, NULL},
        cmocka_unit_test_setup_teardown(test_shared_bind_on_plain_port_in_use, setup_ipv4,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reuseaddr_bind_on_shared_port_in_use, setup_ipv4,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failed_shared_bind_reports_and_closes, setup_ipv4,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
