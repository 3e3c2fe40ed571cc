/*
 * loop_demo: a zcoap server and many zcoap clients on ONE libuv loop, talking over loopback.
 *
 *     loop_demo [-n CLIENTS] [-A ADDRESS] [-p PORT] [-l PERCENT] [-s SEED] [-a ACK_TIMEOUT_MS]
 *
 * One thread, one uv_loop_t, no polling: a zcoap_uv_server_t serves /hello, /echo, /separate,
 * /time and /.well-known/core (as zcoap-server does), and CLIENTS zcoap_uv_client_t endpoints,
 * each on its own UDP socket, run the same little script against it: ping, GET
 * /.well-known/core, GET /hello, POST /echo (its own payload, checked byte for byte), GET
 * /separate (empty ACK, then a CON response 300 ms later: RFC 7252 §5.2.2) and GET /missing
 * (4.04). Every deadline of every endpoint is a uv timer; every datagram is read when the loop
 * says the socket is readable.
 *
 * Client 1's datagram hook (zcoap_uv_client_set_hook()) prints every datagram it sends or
 * receives in zcoap's one-line format (">>" to the server, "<<" back); its event callback prints
 * what its endpoint reports. With -l PERCENT the hook of every client drops that share of its
 * datagrams in both directions, each client by a generator of its own seeded with -s (printed
 * "[dropped]"): an outgoing one is not sent, an incoming one never reaches the endpoint, as if
 * the network had lost them, so retransmission (§4.2) and de-duplication (§4.5) show.
 *
 * Exit status 0 when every exchange of every client got the expected answer, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_resources.h"
#include "zcoap/uv.h"

/* ---- the server's resources: zcoap-server's (demo_resources.h) but /sensors/temp ------------- */

static const zcoap_resource_t resources[] = {DEMO_RESOURCE_HELLO, DEMO_RESOURCE_ECHO,
                                             DEMO_RESOURCE_SEPARATE, DEMO_RESOURCE_TIME};

/* ---- the clients' script --------------------------------------------------------------------- */

enum check { EXPECT_PONG, EXPECT_EXACT, EXPECT_CONTAINS, EXPECT_ECHO, EXPECT_SEPARATE };

static const struct step {
    const char *name;   /* as printed */
    uint8_t method;     /* 0: ping */
    const char *path;   /* appended to coap://ADDRESS */
    uint8_t code;       /* expected response code */
    enum check check;   /* how the payload is checked */
    const char *expect; /* the payload, or a part of it */
} script[] = {
    {"ping", 0, NULL, 0, EXPECT_PONG, NULL},
    {"GET /.well-known/core", ZCOAP_GET, "/.well-known/core", ZCOAP_CONTENT, EXPECT_CONTAINS,
     "</hello>"},
    {"GET /hello", ZCOAP_GET, "/hello", ZCOAP_CONTENT, EXPECT_EXACT, "Hello World!"},
    {"POST /echo", ZCOAP_POST, "/echo", ZCOAP_CHANGED, EXPECT_ECHO, NULL},
    {"GET /separate", ZCOAP_GET, "/separate", ZCOAP_CONTENT, EXPECT_SEPARATE, "That took a while."},
    {"GET /missing", ZCOAP_GET, "/missing", ZCOAP_NOT_FOUND, EXPECT_EXACT, ""},
};
enum { STEPS = sizeof(script) / sizeof(script[0]) };

/* ---- the program's state --------------------------------------------------------------------- */

struct client {
    zcoap_uv_client_t uv;
    zcoap_ep_storage_t storage; /* the endpoint's buffers */
    struct demo *demo;
    uint64_t loss_state; /* its hook's generator, with -l */
    size_t index;
    size_t step;
    bool empty_ack_seen;
    bool verbose; /* client 1: print its events */
    char echo[64];
    size_t echo_len;
};

struct demo {
    uv_loop_t loop;
    zcoap_uv_server_t server;
    struct sockaddr_storage server_addr;
    char uri_base[80]; /* "coap://127.0.0.1" or "coap://[::1]" */
    struct client *clients;
    size_t n_clients;
    unsigned loss_percent;
    uint64_t seed;
    uint32_t ack_timeout_ms;
    uint64_t start_ms;         /* uv_now() when the clients started */
    uint64_t start_ns, end_ns; /* uv_hrtime() */
    size_t done, answered;     /* exchanges over, exchanges with the expected answer */
    size_t clients_done;
    size_t failures_printed;
    uint64_t hook_datagrams, hook_dropped; /* seen and dropped by the clients' hooks */
    demo_pending_list_t pending;           /* the server's data: answers /separate owes */
    uv_timer_t progress;
    bool finished;
};

static unsigned long long elapsed_ms(const struct demo *d)
{
    return (unsigned long long)(uv_now(&d->loop) - d->start_ms);
}

static void print_datagram(const struct demo *d, const char *direction, const uint8_t *p, size_t n,
                           bool dropped)
{
    char line[1024];
    zcoap_msg_t msg;
    if (zcoap_msg_parse(&msg, p, n) == ZCOAP_OK)
        (void)zcoap_msg_print(&msg, line, sizeof(line)); /* cut with "..." when too long */
    else
        snprintf(line, sizeof(line), "(%zu bytes that are not CoAP)", n);
    printf("%6llu ms  %s %s%s\n", elapsed_ms(d), direction, dropped ? "[dropped] " : "", line);
}

/* ---- the datagram hook: prints client 1's datagrams and, with -l, loses some ----------------- */

/* splitmix64: a seeded generator, so a lossy run can be repeated. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Called by the adapter for every datagram the client sends (before it is sent) or receives
 * (before its endpoint sees it); returning false loses it. */
static bool on_datagram(void *ctx, zcoap_uv_datagram_dir_t dir, const struct sockaddr *peer,
                        const uint8_t *data, size_t len)
{
    struct client *c = ctx;
    struct demo *d = c->demo;
    (void)peer; /* always the server */
    bool dropped = d->loss_percent > 0 && next_random(&c->loss_state) % 100u < d->loss_percent;
    d->hook_datagrams++;
    if (dropped)
        d->hook_dropped++;
    if (c->verbose)
        print_datagram(d, dir == ZCOAP_UV_DATAGRAM_OUT ? ">>" : "<<", data, len, dropped);
    return !dropped;
}

/* ---- the clients ----------------------------------------------------------------------------- */

/* The last client is done: close everything, uv_run() then returns. */
static void finish(struct demo *d)
{
    if (d->finished)
        return;
    d->finished = true;
    d->end_ns = uv_hrtime();
    for (size_t i = 0; i < d->n_clients; i++)
        zcoap_uv_client_close(&d->clients[i].uv, NULL); /* also from its own callback */
    demo_pending_cancel_all(&d->pending); /* separate answers not given yet die with the server */
    zcoap_uv_server_close(&d->server, NULL);
    uv_close((uv_handle_t *)&d->progress, NULL);
}

static void start_step(struct client *c);

/* The exchange of the current step is over (@p event ended it; NULL when it could not start). */
static void step_over(struct client *c, const char *event, bool ok, const char *detail)
{
    struct demo *d = c->demo;
    const struct step *st = &script[c->step];
    d->done++;
    if (ok)
        d->answered++;
    if (c->verbose) {
        if (event != NULL)
            printf("%6llu ms     event %s => %s, %s: %s\n", elapsed_ms(d), event,
                   ok ? "ok" : "FAIL", st->name, detail);
        else
            printf("%6llu ms     %s, %s: %s\n", elapsed_ms(d), ok ? "ok" : "FAIL", st->name,
                   detail);
    } else if (!ok && d->failures_printed++ < 10) {
        fprintf(stderr, "loop_demo: client %zu, %s: %s\n", c->index + 1, st->name, detail);
    }
    c->step++;
    c->empty_ack_seen = false;
    if (c->step < STEPS) {
        start_step(c);
    } else if (++d->clients_done == d->n_clients) {
        finish(d);
    }
}

static void start_step(struct client *c)
{
    const struct step *st = &script[c->step];
    int rc;
    if (st->method == 0) {
        rc = zcoap_uv_client_ping(&c->uv);
    } else {
        char uri[128];
        snprintf(uri, sizeof(uri), "%s%s", c->demo->uri_base, st->path);
        bool echo = st->check == EXPECT_ECHO;
        rc = zcoap_uv_client_request(&c->uv, ZCOAP_TYPE_CON, st->method, uri, echo ? c->echo : NULL,
                                     echo ? c->echo_len : 0);
    }
    if (rc != 0) {
        char detail[160];
        snprintf(detail, sizeof(detail), "cannot send: %s", zcoap_uv_strerror(rc));
        step_over(c, NULL, false, detail);
    }
}

/* True when the payload @p p, @p len (p may be NULL when len is 0) is the string @p text. */
static bool payload_is(const uint8_t *p, size_t len, const char *text)
{
    return len == strlen(text) && (len == 0 || memcmp(p, text, len) == 0);
}

/* Compare a response with what the step expects; @p detail says what came. */
static bool check_response(const struct client *c, const zcoap_msg_t *msg, char *detail, size_t cap)
{
    const struct step *st = &script[c->step];
    const char *reason = zcoap_code_reason(msg->code);
    int n = snprintf(detail, cap, "%s %s, %zu-byte payload", zcoap_code_name(msg->code),
                     reason != NULL ? reason : "", msg->payload_len);
    if (msg->code != st->code)
        return false;
    const uint8_t *p = msg->payload;
    size_t len = msg->payload_len;
    switch (st->check) {
    case EXPECT_ECHO:
        if (len != c->echo_len || len == 0 || memcmp(p, c->echo, len) != 0)
            return false;
        snprintf(detail + n, cap - (size_t)n, ", its own %zu bytes back", len);
        return true;
    case EXPECT_CONTAINS: {
        size_t want = strlen(st->expect);
        for (size_t i = 0; i + want <= len; i++) {
            if (memcmp(p + i, st->expect, want) == 0)
                return true;
        }
        return false;
    }
    case EXPECT_SEPARATE:
        /* RFC 7252 §5.2.2: empty ACK first, then the answer in a CON message of its own. When
         * hooks lose datagrams the empty ACK may be lost and the CON response arrive alone. */
        if (msg->type != ZCOAP_TYPE_CON || (!c->empty_ack_seen && c->demo->loss_percent == 0))
            return false;
        snprintf(detail + n, cap - (size_t)n, ", separate (CON)%s",
                 c->empty_ack_seen ? " after the empty ACK" : ", its empty ACK lost");
        return payload_is(p, len, st->expect);
    case EXPECT_EXACT:
        return payload_is(p, len, st->expect);
    case EXPECT_PONG:
        return false;
    }
    return false;
}

static void on_client_event(zcoap_uv_client_t *uc, const zcoap_event_t *ev)
{
    struct client *c = uc->data;
    const char *name = zcoap_event_name(ev->kind);
    char detail[200];
    switch (ev->kind) {
    case ZCOAP_EV_OUT_PONG:
        step_over(c, name, script[c->step].check == EXPECT_PONG, "answered with RST");
        return;
    case ZCOAP_EV_OUT_RESPONSE: {
        bool ok = check_response(c, &ev->msg, detail, sizeof(detail));
        step_over(c, name, ok, detail);
        return;
    }
    case ZCOAP_EV_OUT_TIMEOUT:
        step_over(c, name, false, "no answer");
        return;
    case ZCOAP_EV_OUT_RESET:
        step_over(c, name, false, "the server answered with RST");
        return;
    case ZCOAP_EV_OUT_EMPTY_ACK:
        c->empty_ack_seen = true; /* the answer will come in a CON message of its own */
        break;
    default:
        break; /* SENT events, a duplicate of a separate response (acknowledged again), ... */
    }
    if (c->verbose)
        printf("%6llu ms     event %s\n", elapsed_ms(c->demo), name);
}

/* Give client @p i its endpoint, its payload and its socket, and start its script. */
static int client_start(struct demo *d, size_t i)
{
    struct client *c = &d->clients[i];
    c->demo = d;
    c->index = i;
    c->verbose = i == 0;
    /* Payloads differ in content and length, so a mix-up would show. */
    int k = (int)(i % 27);
    int n = snprintf(c->echo, sizeof(c->echo), "client %zu says hi%s%.*s", i + 1, k > 0 ? " " : "",
                     k, "abcdefghijklmnopqrstuvwxyz");
    c->echo_len = (size_t)n;
    zcoap_ep_config_t cfg;
    zcoap_ep_config_default(&cfg, &c->storage); /* rng left NULL: the adapter's OS source */
    cfg.tx.ack_timeout_ms = d->ack_timeout_ms;
    /* After the empty ACK, wait for the separate answer as long as the server may take to get a
     * CON message through: MAX_TRANSMIT_WAIT (§4.8.2), not EXCHANGE_LIFETIME. */
    cfg.response_timeout_ms = (uint32_t)zcoap_tx_max_transmit_wait_ms(&cfg.tx);
    c->uv.data = c;
    int rc = zcoap_uv_client_init(&d->loop, &c->uv, &cfg, on_client_event);
    if (rc != 0)
        return rc;
    if (c->verbose || d->loss_percent > 0) {
        /* A generator per client: client 1 loses the same datagrams whatever -n is. */
        c->loss_state = d->seed ^ ((uint64_t)i << 32);
        zcoap_uv_client_set_hook(&c->uv, on_datagram, c); /* before connecting: sees everything */
    }
    rc = zcoap_uv_client_connect(&c->uv, (const struct sockaddr *)&d->server_addr);
    if (rc == 0)
        start_step(c);
    return rc;
}

/* ---- main ------------------------------------------------------------------------------------ */

static void on_progress(uv_timer_t *t)
{
    struct demo *d = t->data;
    printf("%6llu ms  progress: %zu of %zu exchanges over, %zu answered as expected\n",
           elapsed_ms(d), d->done, d->n_clients * STEPS, d->answered);
    fflush(stdout);
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: loop_demo [-n CLIENTS] [-A ADDRESS] [-p PORT] [-l PERCENT] [-s SEED]\n"
        "                 [-a ACK_TIMEOUT_MS]\n"
        "Runs a zcoap server and CLIENTS zcoap clients (default 100) on one libuv loop.\n"
        "Each client: ping, GET /.well-known/core, GET /hello, POST /echo (its own payload\n"
        "back), GET /separate (empty ACK, then a CON response), GET /missing (4.04).\n"
        "Client 1's datagrams and events are printed, then a summary of all clients.\n"
        "  -A, -p  the server's address and port (default 127.0.0.1, 0: a free port)\n"
        "  -l      every client's datagram hook drops PERCENT of its datagrams both ways\n"
        "          (default 0), chosen by a generator of its own seeded from SEED (default 1);\n"
        "          a seed drops the same datagrams of client 1 every run\n"
        "  -a      ACK_TIMEOUT of every endpoint in ms (default 2000, RFC 7252 §4.8)\n"
        "Exit status 0 when every exchange got the expected answer, 1 otherwise.\n");
}

/* A decimal number in [min, max], or -1. */
static long parse_number(const char *s, long min, long max)
{
    char *end;
    long v = strtol(s, &end, 10);
    return (*s != '\0' && *end == '\0' && v >= min && v <= max) ? v : -1;
}

static int parse_args(int argc, char **argv, struct demo *d, const char **address, long *port)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc || strlen(opt) != 2 || opt[0] != '-') {
            usage(stderr);
            return 1;
        }
        const char *arg = argv[++i];
        long v = 0;
        switch (opt[1]) {
        case 'A':
            *address = arg;
            break;
        case 'p':
            v = *port = parse_number(arg, 0, 65535);
            break;
        case 'n':
            v = parse_number(arg, 1, 1000000);
            d->n_clients = (size_t)v;
            break;
        case 'l':
            v = parse_number(arg, 0, 99);
            d->loss_percent = (unsigned)v;
            break;
        case 's':
            v = parse_number(arg, 0, 0x7FFFFFFF);
            d->seed = (uint64_t)v;
            break;
        case 'a':
            v = parse_number(arg, 10, 60000);
            d->ack_timeout_ms = (uint32_t)v;
            break;
        default:
            v = -1;
            break;
        }
        if (v < 0) {
            usage(stderr);
            return 1;
        }
    }
    return -1; /* go on */
}

static int start_server(struct demo *d, const char *address, long port)
{
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof(addr));
    if (uv_ip4_addr(address, (int)port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(address, (int)port, (struct sockaddr_in6 *)&addr) != 0) {
        fprintf(stderr, "loop_demo: bad address %s\n", address);
        return 1;
    }
    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    cfg.resources = resources;
    cfg.n_resources = sizeof(resources) / sizeof(resources[0]);
    cfg.max_peers = d->n_clients; /* one peer slot per client: the pool is never full */
    cfg.tx.ack_timeout_ms = d->ack_timeout_ms;
    /* Two stored responses per peer: when the ACK of our separate CON response is lost, the
     * peer's next request still finds a free slot instead of a 5.03. */
    cfg.resp_slots = 2;
    d->server.data = &d->pending;
    int rc = zcoap_uv_server_start(&d->loop, &d->server, (const struct sockaddr *)&addr, &cfg);
    if (rc != 0) {
        fprintf(stderr, "loop_demo: server on %s: %s\n", address, zcoap_uv_strerror(rc));
        return 1;
    }
    (void)zcoap_uv_server_address(&d->server, &d->server_addr);
    char host[64];
    int bound_port;
    if (d->server_addr.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&d->server_addr;
        uv_ip6_name(a, host, sizeof(host));
        bound_port = ntohs(a->sin6_port);
        snprintf(d->uri_base, sizeof(d->uri_base), "coap://[%s]", host);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&d->server_addr;
        uv_ip4_name(a, host, sizeof(host));
        bound_port = ntohs(a->sin_port);
        snprintf(d->uri_base, sizeof(d->uri_base), "coap://%s", host);
    }
    printf("loop_demo: one libuv loop: a zcoap_uv_server_t on %s port %d and %zu "
           "zcoap_uv_client_t\n",
           host, bound_port, d->n_clients);
    return 0;
}

static void print_summary(struct demo *d)
{
    const zcoap_uv_server_stats_t *ss = zcoap_uv_server_stats(&d->server);
    uint64_t out = 0, in = 0;
    for (size_t i = 0; i < d->n_clients; i++) {
        const zcoap_uv_client_stats_t *cs = zcoap_uv_client_stats(&d->clients[i].uv);
        out += cs->datagrams_out;
        in += cs->datagrams_in;
    }
    size_t total = d->n_clients * STEPS;
    printf("%zu client%s: %zu of %zu exchanges over, %zu answered as expected, %zu failed, "
           "in %.3f s of loop time\n",
           d->n_clients, d->n_clients == 1 ? "" : "s", d->done, total, d->answered,
           d->done - d->answered, (double)(d->end_ns - d->start_ns) / 1e9);
    printf("clients: %" PRIu64 " datagrams out, %" PRIu64 " in; server: %" PRIu64 " in, %" PRIu64
           " out, %zu peers in use (%" PRIu64 " taken from the pool, %" PRIu64 " recycled)\n",
           out, in, ss->datagrams_in, ss->datagrams_out, ss->peers_in_use, ss->peers_created,
           ss->peers_recycled);
    if (d->loss_percent > 0)
        printf("hooks: %" PRIu64 " of %" PRIu64 " datagrams dropped (-l %u)\n", d->hook_dropped,
               d->hook_datagrams, d->loss_percent);
}

int main(int argc, char **argv)
{
    static struct demo demo; /* zeroed, and no large object on the stack */
    struct demo *d = &demo;
    const char *address = "127.0.0.1";
    long port = 0;
    d->seed = 1;
    d->n_clients = 100;
    d->ack_timeout_ms = ZCOAP_ACK_TIMEOUT_MS;
    int rc = parse_args(argc, argv, d, &address, &port);
    if (rc >= 0)
        return rc;
    d->clients = calloc(d->n_clients, sizeof(*d->clients));
    if (d->clients == NULL || uv_loop_init(&d->loop) != 0) {
        fprintf(stderr, "loop_demo: out of memory\n");
        free(d->clients);
        return 1;
    }
    bool ok = start_server(d, address, port) == 0;
    if (ok) {
        printf("client 1: every datagram its hook sees (>> to the server, << back) and every "
               "event of its endpoint:\n");
        uv_update_time(&d->loop);
        d->start_ms = uv_now(&d->loop);
        d->start_ns = uv_hrtime();
        (void)uv_timer_init(&d->loop, &d->progress);
        d->progress.data = d;
        (void)uv_timer_start(&d->progress, on_progress, 5000, 5000); /* long runs only */
        for (size_t i = 0; i < d->n_clients && !d->finished; i++) {
            rc = client_start(d, i);
            if (rc != 0) {
                fprintf(stderr, "loop_demo: client %zu: %s\n", i + 1, zcoap_uv_strerror(rc));
                ok = false;
                d->end_ns = uv_hrtime();
                d->n_clients = i + 1u; /* close what was opened: clients 1 to i + 1 */
                finish(d);
            }
        }
        (void)uv_run(&d->loop, UV_RUN_DEFAULT);
        print_summary(d);
        ok = ok && d->answered == d->n_clients * STEPS;
    }
    (void)uv_run(&d->loop, UV_RUN_DEFAULT); /* close callbacks of a failed start */
    if (uv_loop_close(&d->loop) != 0) {
        fprintf(stderr, "loop_demo: handles left open on the loop\n");
        ok = false;
    }
    free(d->clients);
    printf("loop_demo: %s\n", ok ? "PASS, every exchange got the expected answer" : "FAIL");
    return ok ? 0 : 1;
}
