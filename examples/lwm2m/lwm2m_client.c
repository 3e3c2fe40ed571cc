/*
 * lwm2m-client: an LwM2M 1.1 client on zcoap (OMA LwM2M TS Core and Transport 1.1), on one
 * libuv loop.
 *
 *     lwm2m-client -s coap://127.0.0.1:5683 -e my-device -l 60 -d 30
 *
 * One zcoap_uv_client_t connected to the LwM2M server (or a CoRE resource directory) does all
 * of LwM2M over one UDP 5-tuple, as the Transport binding "U" says:
 *   - registration.c: Register (POST /rd?ep=&lt=&lwm2m=1.1&b=U, links </1/0>,</3/0>), Update
 *     (POST to the location) before the lifetime ends, Register again when an Update is
 *     refused, De-register (DELETE) at the end, waiting -w ms at most;
 *   - device_peer.c: the server's requests to the client (Read /3/0/0, Observe /3/0/13...)
 *     arrive on that same socket and are answered there, with notifications every second.
 * -S ADDR:PORT also serves the Device object on a server socket of its own (local_server.c),
 * since the registration's socket only takes the LwM2M server's datagrams.
 *
 * It stops on SIGINT, SIGTERM or after -d seconds: De-register, then exit 0 if it ever
 * registered (1 if not; 2 for usage errors).
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "device_object.h"
#include "device_peer.h"
#include "local_server.h"
#include "lwm2m_args.h"
#include "registration.h"

struct app {
    lwm2m_options_t opt;
    uv_loop_t loop;
    zcoap_uv_client_t client;
    zcoap_ep_storage_t storage; /* the endpoint's buffers: two response slots, so a request of
                                   the server can be answered while a CON of ours is out */
    registration_t reg;
    device_peer_t device;
    local_server_t local;
    uv_timer_t tick, duration;
    time_t last_tick; /* the second /3/0/13 was last notified with */
    uv_signal_t sigint, sigterm;
    bool client_open, registration_started, stopping, closed;
};

static struct app app; /* static: the endpoint's buffers are a few kilobytes */

/* -v: every datagram of the registration's socket, one line each. */
static bool show_datagram(void *ctx, zcoap_uv_datagram_dir_t dir, const struct sockaddr *peer,
                          const uint8_t *p, size_t n)
{
    (void)ctx;
    (void)peer;
    zcoap_msg_t msg;
    char line[1024];
    const char *arrow = dir == ZCOAP_UV_DATAGRAM_OUT ? "->" : "<-";
    if (zcoap_msg_parse(&msg, p, n) != ZCOAP_OK)
        printf("%s (%zu bytes, not CoAP)\n", arrow, n);
    else if (zcoap_msg_print(&msg, line, sizeof(line)) >= 0)
        printf("%s %s\n", arrow, line);
    fflush(stdout);
    return true;
}

static void close_all(struct app *a)
{
    if (a->closed)
        return;
    a->closed = true;
    if (a->registration_started)
        registration_close(&a->reg);
    if (a->client_open)
        zcoap_uv_client_close(&a->client, NULL);
    local_server_close(&a->local);
    uv_close((uv_handle_t *)&a->tick, NULL);
    uv_close((uv_handle_t *)&a->duration, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
}

static void on_registration_done(registration_t *r)
{
    (void)r;
    close_all(&app);
}

static void stop(struct app *a, const char *why)
{
    if (a->stopping)
        return;
    a->stopping = true;
    printf("stopping: %s\n", why);
    fflush(stdout);
    if (a->registration_started)
        registration_stop(&a->reg, on_registration_done); /* may call it at once */
    else
        close_all(a);
}

static void on_tick(uv_timer_t *t);

static void on_signal(uv_signal_t *h, int sig)
{
    (void)h;
    stop(&app, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_duration_over(uv_timer_t *t)
{
    (void)t;
    stop(&app, "duration over");
}

/* Milliseconds to just after the next whole second of the wall clock: /3/0/13 (seconds) changes
 * then, and its observers hear of each second once, however the loop's timer drifts. */
static uint64_t ms_to_next_second(void)
{
    struct timespec ts = device_clock_now();
    return 1000u - (uint64_t)ts.tv_nsec / 1000000u + 1u;
}

/* libuv counts a timer from the loop's cached time, which may be behind (a slow start): bring
 * it up to date first, so that the tick does not come before the second has changed. */
static void arm_tick(struct app *a)
{
    uv_update_time(&a->loop);
    uv_timer_start(&a->tick, on_tick, ms_to_next_second(), 0);
}

static void on_tick(uv_timer_t *t)
{
    struct app *a = t->data;
    time_t now = device_clock_now().tv_sec;
    if (now != a->last_tick) { /* else early after all: the timer goes again in a few ms */
        a->last_tick = now;
        device_peer_time_changed(&a->device, now);
        local_server_time_changed(&a->local);
    }
    arm_tick(a);
}

static void on_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    struct app *a = c->data;
    if (a->registration_started && registration_on_event(&a->reg, ev))
        return;
    if (device_peer_on_event(&a->device, ev))
        return;
    if (a->opt.verbose) {
        printf("event %s\n", zcoap_event_name(ev->kind));
        fflush(stdout);
    }
}

static void on_connected(zcoap_uv_client_t *c, int status)
{
    struct app *a = c->data;
    if (status != 0) {
        fprintf(stderr, PROGRAM ": cannot reach %s: %s\n", a->opt.server_uri,
                zcoap_uv_strerror(status));
        stop(a, "no connection");
        return;
    }
    if (a->stopping)
        return;
    registration_params_t p = {.endpoint_name = a->opt.endpoint_name,
                               .lifetime_s = a->opt.lifetime_s,
                               .update_margin_ms = a->opt.update_margin_s * 1000u,
                               .deregister_wait_ms = a->opt.deregister_wait_ms,
                               .verbose = a->opt.verbose};
    a->registration_started = true; /* its first events come before registration_start returns */
    int rc = registration_start(&a->reg, &a->loop, c, &p);
    if (rc != 0) {
        a->registration_started = false;
        fprintf(stderr, PROGRAM ": cannot start: %s\n", zcoap_uv_strerror(rc));
        stop(a, "no timer");
    }
}

static void print_address(const char *what, const struct sockaddr_storage *ss)
{
    char host[64] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)ss;
        (void)uv_ip6_name(in6, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        printf("%s [%s]:%d\n", what, host, port);
    } else {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)ss;
        (void)uv_ip4_name(in, host, sizeof(host));
        port = ntohs(in->sin_port);
        printf("%s %s:%d\n", what, host, port);
    }
}

/* Everything on the loop; 0 or the libuv/zcoap error that stopped the start. */
static int start(struct app *a)
{
    uv_timer_init(&a->loop, &a->tick);
    uv_timer_init(&a->loop, &a->duration);
    uv_signal_init(&a->loop, &a->sigint);
    uv_signal_init(&a->loop, &a->sigterm);
    zcoap_ep_config_t cfg;
    zcoap_ep_config_default(&cfg, &a->storage);
    a->client.data = a;
    int rc = zcoap_uv_client_init(&a->loop, &a->client, &cfg, on_event);
    if (rc != 0)
        return rc;
    a->client_open = true;
    if (a->opt.verbose)
        zcoap_uv_client_set_hook(&a->client, show_datagram, a);
    device_peer_init(&a->device, &a->loop, &a->client, a->opt.verbose);
    a->tick.data = a;
    a->last_tick = device_clock_now().tv_sec;
    arm_tick(a);
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    if (a->opt.duration_s > 0)
        uv_timer_start(&a->duration, on_duration_over, (uint64_t)a->opt.duration_s * 1000u, 0);
    if (a->opt.bind_set) {
        rc = zcoap_uv_client_bind(&a->client, (const struct sockaddr *)&a->opt.bind_addr);
        if (rc != 0)
            return rc;
        print_address("registration socket bound to", &a->opt.bind_addr);
    }
    if (a->opt.serve_set) {
        rc = local_server_start(&a->local, &a->loop, (const struct sockaddr *)&a->opt.serve_addr);
        if (rc != 0)
            return rc;
        struct sockaddr_storage bound;
        if (zcoap_uv_server_address(&a->local.server, &bound) == 0)
            print_address("serving /3/0 on", &bound);
    }
    fflush(stdout);
    return zcoap_uv_client_connect_uri(&a->client, a->opt.server_uri, on_connected);
}

int main(int argc, char **argv)
{
    struct app *a = &app;
    bool help;
    int status = lwm2m_parse_args(argc, argv, &a->opt, &help);
    if (status != 0 || help)
        return status;
    if (uv_loop_init(&a->loop) != 0)
        return 1;
    int rc = start(a);
    if (rc != 0) {
        fprintf(stderr, PROGRAM ": %s\n", zcoap_uv_strerror(rc));
        close_all(a);
    }
    uv_run(&a->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&a->loop);
    if (a->registration_started)
        printf("summary: %u registration(s), %u update(s) 2.04, %u update(s) refused, "
               "deregistered %s, %u request(s) of the server answered, %u notification(s)\n",
               a->reg.registered, a->reg.updated, a->reg.updates_refused,
               a->reg.deregistered > 0 ? "yes" : "no", a->device.requests_answered,
               a->device.notifications_sent);
    return rc == 0 && a->registration_started && a->reg.registered > 0 ? 0 : 1;
}
