/*
 * zcoap-server: a CoAP server on the libuv adapter, for many peers at once.
 *
 *     zcoap-server [-A ADDRESS] [-p PORT] [-n MAX_PEERS] [-t SECONDS]
 *
 * Resources: /hello (GET: 2.05 "Hello World!"), /echo (POST, PUT, FETCH, PATCH, iPATCH: the
 * request's payload back; FETCH 2.05, the others 2.04), /separate (GET: empty ACK at once, then a
 * CON 2.05 about 300 ms later), /time (GET: the time as text) and /.well-known/core, generated
 * from the table. Runs until SIGINT/SIGTERM or for SECONDS, then prints its counters.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zcoap/uv.h"

static void on_hello(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                     const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    (void)req;
    static const char text[] = "Hello World!";
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, text, sizeof(text) - 1);
}

static void on_echo(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                    const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    uint32_t cf = 0;
    bool has_cf = zcoap_msg_get_uint(req, ZCOAP_OPT_CONTENT_FORMAT, &cf) == ZCOAP_OK;
    uint8_t code = req->code == ZCOAP_FETCH ? ZCOAP_CONTENT : ZCOAP_CHANGED;
    (void)zcoap_uv_peer_respond(peer, code, has_cf ? (int)cf : -1, req->payload, req->payload_len);
}

static void on_time(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                    const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    (void)req;
    char text[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    size_t n = strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, text, n);
}

/* A separate answer waiting for its timer. */
struct pending {
    uv_timer_t timer;
    zcoap_uv_peer_t *peer;
};

static void on_pending_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_separate_due(uv_timer_t *t)
{
    struct pending *p = t->data;
    static const char text[] = "That took a while.";
    p->peer->data = NULL; /* the peer may be recycled once this exchange is over */
    (void)zcoap_uv_peer_respond(p->peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, text,
                                sizeof(text) - 1);
    uv_close((uv_handle_t *)&p->timer, on_pending_closed);
}

static void on_separate(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                        const zcoap_msg_t *req)
{
    (void)res;
    struct pending *p = malloc(sizeof(*p));
    if (p == NULL || uv_timer_init(s->loop, &p->timer) != 0) {
        free(p);
        (void)zcoap_uv_peer_respond(peer, ZCOAP_SERVICE_UNAVAILABLE, -1, NULL, 0);
        return;
    }
    p->timer.data = p;
    p->peer = peer;
    peer->data = p;
    if (req->type == ZCOAP_TYPE_CON)
        (void)zcoap_uv_peer_ack(peer); /* RFC 7252 §5.2.2: ACK now, answer later */
    (void)uv_timer_start(&p->timer, on_separate_due, 300, 0);
}

#define H(fn) ((void *)(uintptr_t)(fn))
static const zcoap_resource_t resources[] = {
    {"hello", ZCOAP_METHOD_BIT(ZCOAP_GET), "rt=\"hello\";ct=0;title=\"Hello World\"", false,
     H(on_hello)},
    {"echo",
     ZCOAP_METHOD_BIT(ZCOAP_POST) | ZCOAP_METHOD_BIT(ZCOAP_PUT) | ZCOAP_METHOD_BIT(ZCOAP_FETCH) |
         ZCOAP_METHOD_BIT(ZCOAP_PATCH) | ZCOAP_METHOD_BIT(ZCOAP_IPATCH),
     "rt=\"echo\"", false, H(on_echo)},
    {"separate", ZCOAP_METHOD_BIT(ZCOAP_GET), "rt=\"separate\";ct=0", false, H(on_separate)},
    {"time", ZCOAP_METHOD_BIT(ZCOAP_GET), "rt=\"clock\";ct=0", false, H(on_time)},
};

static uv_signal_t sigint_handle, sigterm_handle;
static uv_timer_t stop_timer;
static zcoap_uv_server_t server;

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void stop(void)
{
    const zcoap_uv_server_stats_t *st = zcoap_uv_server_stats(&server);
    printf("zcoap-server: %llu datagrams in, %llu out, %llu peers served, %llu answered 5.03\n",
           (unsigned long long)st->datagrams_in, (unsigned long long)st->datagrams_out,
           (unsigned long long)st->peers_created, (unsigned long long)st->pool_full);
    zcoap_uv_server_close(&server, NULL);
    uv_close((uv_handle_t *)&sigint_handle, on_closed);
    uv_close((uv_handle_t *)&sigterm_handle, on_closed);
    uv_close((uv_handle_t *)&stop_timer, on_closed);
}

static void on_signal(uv_signal_t *h, int sig)
{
    (void)h;
    (void)sig;
    stop();
}

static void on_stop_timer(uv_timer_t *t)
{
    (void)t;
    stop();
}

static void usage(FILE *out)
{
    fprintf(out, "usage: zcoap-server [-A ADDRESS] [-p PORT] [-n MAX_PEERS] [-t SECONDS]\n"
                 "Serves /hello, /echo, /separate, /time and /.well-known/core.\n"
                 "ADDRESS defaults to 127.0.0.1 (use :: or ::1 for IPv6), PORT to 5683 (0: any\n"
                 "free port, printed), MAX_PEERS to 1024; runs until Ctrl-C or SECONDS.\n");
}

int main(int argc, char **argv)
{
    const char *address = "127.0.0.1";
    int port = 5683;
    long max_peers = 1024;
    long seconds = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "-A") == 0 && i + 1 < argc) {
            address = argv[++i];
        } else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            max_peers = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            seconds = strtol(argv[++i], NULL, 10);
        } else {
            usage(stderr);
            return 1;
        }
    }
    if (port < 0 || port > 65535 || max_peers < 1) {
        usage(stderr);
        return 1;
    }
    struct sockaddr_storage addr;
    if (uv_ip4_addr(address, port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(address, port, (struct sockaddr_in6 *)&addr) != 0) {
        fprintf(stderr, "zcoap-server: bad address %s\n", address);
        return 1;
    }
    uv_loop_t *loop = uv_default_loop();
    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    cfg.resources = resources;
    cfg.n_resources = sizeof(resources) / sizeof(resources[0]);
    cfg.max_peers = (size_t)max_peers;
    int rc = zcoap_uv_server_start(loop, &server, (const struct sockaddr *)&addr, &cfg);
    if (rc != 0) {
        fprintf(stderr, "zcoap-server: %s\n", zcoap_uv_strerror(rc));
        return 1;
    }
    struct sockaddr_storage bound;
    char host[64];
    (void)zcoap_uv_server_address(&server, &bound);
    if (bound.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&bound, host, sizeof(host));
        printf("zcoap-server: listening on [%s]:%d\n", host,
               ntohs(((struct sockaddr_in6 *)&bound)->sin6_port));
    } else {
        uv_ip4_name((struct sockaddr_in *)&bound, host, sizeof(host));
        printf("zcoap-server: listening on %s:%d\n", host,
               ntohs(((struct sockaddr_in *)&bound)->sin_port));
    }
    fflush(stdout);
    uv_signal_init(loop, &sigint_handle);
    uv_signal_start(&sigint_handle, on_signal, SIGINT);
    uv_signal_init(loop, &sigterm_handle);
    uv_signal_start(&sigterm_handle, on_signal, SIGTERM);
    uv_timer_init(loop, &stop_timer);
    if (seconds > 0)
        uv_timer_start(&stop_timer, on_stop_timer, (uint64_t)seconds * 1000u, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? 0 : 1;
}
