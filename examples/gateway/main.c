/*
 * gateway: one libuv loop bridging many CoAP devices.
 *
 *     gateway [-n DEVICES] [-e [NAME=]coap://HOST[:PORT][/BASE]]... [-p PORT] [-d SECONDS] [-v]
 *
 * On one loop and one thread: DEVICES simulated devices (sim_device.c, each a zcoap server on
 * its own loopback port with an observable /temp and a writable /led), a client endpoint per
 * device that observes its /temp (device_link.c), and the gateway's server (gateway_server.c)
 * on PORT (default 5683) serving /devices, /devices/NAME/temp (observable, relayed) and
 * /devices/NAME/led (relayed, separate response when the device is slow). Devices that stop
 * answering are marked offline and tried again with back-off (--flaky PERCENT makes some
 * simulated devices go silent now and then, to watch it). A status line shows devices
 * online, notifications per second and requests relayed (status.c); the run ends after
 * SECONDS (default 60; 0: never) or at SIGINT/SIGTERM, with a summary. --help lists the
 * options (options.c).
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "gateway.h"
#include "gateway_server.h"
#include "options.h"
#include "sim_device.h"
#include "status.h"

struct app {
    uv_loop_t loop;
    struct gw_options opt;
    struct gateway gw;
    struct sim_fleet fleet;
    uv_signal_t sigint, sigterm;
    uv_timer_t stop_timer;
    bool signals_ready, stop_timer_ready;
    bool stopping;
};

void gw_handle_closed(struct gateway *gw)
{
    gw->open_handles--;
}

/* Each device takes two sockets (its server's and the gateway's client): raise the soft limit
 * of open files to the hard one when the default (often 1024) is too small. */
static bool raise_fd_limit(size_t devices)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return true; /* we will see */
    rlim_t need = (rlim_t)(2u * devices + 64u);
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < need) {
        lim.rlim_cur = lim.rlim_max == RLIM_INFINITY || lim.rlim_max > need ? need : lim.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &lim);
    }
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < need) {
        fprintf(stderr,
                "gateway: %zu devices need %llu open files; the limit is %llu (ulimit -Hn)\n",
                devices, (unsigned long long)need, (unsigned long long)lim.rlim_cur);
        return false;
    }
    return true;
}

static void on_outage(struct sim_fleet *f, size_t i, bool down)
{
    const struct app *a = f->data;
    if (a->opt.verbose)
        gw_log("(simulation) %s %s", a->gw.links[i].name, down ? "goes silent" : "answers again");
}

static void on_fleet_closed(struct sim_fleet *f)
{
    (void)f;
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

/* Stop: the summary, then every handle closes; uv_run() returns once they all have. */
static void stop(struct app *a, bool summary)
{
    if (a->stopping)
        return;
    a->stopping = true;
    struct gateway *gw = &a->gw;
    status_stop(gw);
    if (summary)
        status_summary(gw, &a->fleet);
    /* Clients of the gateway still waiting for a device get 5.03 while the server is up. */
    for (size_t i = 0; i < gw->n_links; i++)
        link_close(&gw->links[i], "the gateway is shutting down");
    gw->closing = true;
    gw_server_close(gw);
    sim_fleet_close(&a->fleet, on_fleet_closed);
    if (a->stop_timer_ready)
        uv_close((uv_handle_t *)&a->stop_timer, on_closed);
    if (a->signals_ready) {
        uv_close((uv_handle_t *)&a->sigint, on_closed);
        uv_close((uv_handle_t *)&a->sigterm, on_closed);
    }
}

static void on_signal(uv_signal_t *sig, int signum)
{
    struct app *a = sig->data;
    gw_log("%s: stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
    stop(a, true);
}

static void on_stop_timer(uv_timer_t *t)
{
    struct app *a = t->data;
    gw_log("%u s are over: stopping", a->opt.duration_s);
    stop(a, true);
}

static int parse_address(const char *address, uint16_t port, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    if (strchr(address, ':') != NULL)
        return uv_ip6_addr(address, port, (struct sockaddr_in6 *)(void *)out);
    return uv_ip4_addr(address, port, (struct sockaddr_in *)(void *)out);
}

/* The simulated devices first (dev-000...), then the external ones (ext-0... or their NAME). */
static int make_links(struct app *a)
{
    struct gateway *gw = &a->gw;
    size_t n = a->opt.devices + a->opt.n_external;
    gw->links = calloc(n, sizeof(*gw->links));
    if (gw->links == NULL)
        return ZCOAP_ENOSPC;
    gw->n_links = n;
    for (size_t i = 0; i < n; i++) {
        struct device_link *l = &gw->links[i];
        if (i < a->opt.devices) {
            /* dev-000 ... dev-999; wider from 1001 devices on, so names sort */
            if (a->opt.devices <= 1000)
                snprintf(l->name, sizeof(l->name), "dev-%03u", (unsigned)i % 1000u);
            else if (a->opt.devices <= 10000)
                snprintf(l->name, sizeof(l->name), "dev-%04u", (unsigned)i % 10000u);
            else
                snprintf(l->name, sizeof(l->name), "dev-%05u", (unsigned)i % 100000u);
            l->slow = sim_device_is_slow(i, a->opt.slow_percent);
            int rc = sim_fleet_address(&a->fleet, i, &l->addr);
            if (rc != 0)
                return rc;
            const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)&l->addr;
            snprintf(l->url, sizeof(l->url), "coap://127.0.0.1:%u", (unsigned)ntohs(in->sin_port));
        } else {
            const struct gw_external *e = &a->opt.external[i - a->opt.devices];
            if (e->name != NULL)
                snprintf(l->name, sizeof(l->name), "%s", e->name);
            else
                snprintf(l->name, sizeof(l->name), "ext-%zu", i - a->opt.devices);
            l->external = true;
            size_t len = strlen(e->url);
            while (len > 7 && e->url[len - 1] == '/')
                len--; /* coap://host/ : BASE is empty */
            if (len >= sizeof(l->url) - 8) {
                fprintf(stderr, "gateway: URL too long: %s\n", e->url);
                return ZCOAP_EINVAL;
            }
            memcpy(l->url, e->url, len);
            l->url[len] = '\0';
        }
    }
    return 0;
}

static void print_banner(struct app *a, double startup_ms)
{
    struct gateway *gw = &a->gw;
    struct sockaddr_storage bound;
    char host[64] = "127.0.0.1";
    unsigned port = a->opt.port;
    if (zcoap_uv_server_address(&gw->server, &bound) == 0) {
        if (bound.ss_family == AF_INET6) {
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)&bound;
            port = ntohs(in6->sin6_port);
            char ip[48];
            uv_ip6_name(in6, ip, sizeof(ip));
            snprintf(host, sizeof(host), "[%s]", strcmp(ip, "::") == 0 ? "::1" : ip);
        } else {
            const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)&bound;
            port = ntohs(in->sin_port);
            uv_ip4_name(in, host, sizeof(host));
            if (strcmp(host, "0.0.0.0") == 0)
                strcpy(host, "127.0.0.1");
        }
    }
    size_t slow = 0, flaky = 0;
    for (size_t i = 0; i < a->opt.devices; i++) {
        slow += sim_device_is_slow(i, a->opt.slow_percent);
        flaky += sim_device_is_flaky(i, a->opt.flaky_percent);
    }
    printf("gateway: %zu simulated devices (%zu answer /led after %u ms", a->opt.devices, slow,
           a->opt.slow_ms);
    if (flaky > 0)
        printf(", %zu go silent for %u s now and then", flaky, a->opt.outage_s);
    printf("), %zu external; started in %.1f ms\n", a->opt.n_external, startup_ms);
    printf("gateway: listening on %s:%u\n", host, port);
    if (a->opt.verbose) {
        for (size_t i = 0; i < gw->n_links; i++)
            printf("gateway: device %s at %s%s%s%s\n", gw->links[i].name, gw->links[i].url,
                   gw->links[i].external ? " (external)" : "", gw->links[i].slow ? " (slow)" : "",
                   !gw->links[i].external && sim_device_is_flaky(i, a->opt.flaky_percent)
                       ? " (flaky)"
                       : "");
    }
    const char *example = gw->links[gw->n_links > 42 ? 42 : 0].name;
    printf("Try:\n"
           "  coap-client-notls coap://%s:%u/devices/%s/temp\n"
           "  coap-client-notls -s 10 coap://%s:%u/devices/%s/temp     (observe for 10 s)\n"
           "  coap-client-notls -m put -e on coap://%s:%u/devices/%s/led\n"
           "  coap-client-notls coap://%s:%u/devices\n",
           host, port, example, host, port, example, host, port, example, host, port);
    if (a->opt.duration_s > 0)
        printf("Stops after %u s or at Ctrl-C.\n", a->opt.duration_s);
    else
        printf("Stops at Ctrl-C.\n");
    fflush(stdout);
}

/* Everything up: the devices, the gateway's server, the links. Errors are printed. */
static int start(struct app *a)
{
    struct gateway *gw = &a->gw;
    uint64_t t0 = uv_hrtime();
    const struct sim_params sim = {.n = a->opt.devices,
                                   .first_port = a->opt.device_port,
                                   .slow_percent = a->opt.slow_percent,
                                   .slow_ms = a->opt.slow_ms,
                                   .flaky_percent = a->opt.flaky_percent,
                                   .outage_s = a->opt.outage_s,
                                   .seed = a->opt.seed};
    int rc = sim_fleet_start(&a->fleet, &a->loop, &sim);
    a->fleet.data = a;
    a->fleet.on_outage = on_outage;
    if (rc != 0)
        return rc;
    rc = make_links(a);
    if (rc != 0)
        return rc;
    struct sockaddr_storage addr;
    rc = parse_address(a->opt.address, a->opt.port, &addr);
    if (rc != 0) {
        fprintf(stderr, "gateway: bad address %s\n", a->opt.address);
        return rc;
    }
    rc = gw_server_start(gw, (const struct sockaddr *)&addr);
    if (rc != 0)
        return rc;
    gw->start_ms = uv_now(&a->loop);
    for (size_t i = 0; i < gw->n_links; i++) {
        struct device_link *l = &gw->links[i];
        rc = link_start(gw, l, i, l->external ? NULL : (const struct sockaddr *)&l->addr);
        if (rc != 0) {
            fprintf(stderr, "gateway: device %s: %s\n", l->name, zcoap_uv_strerror(rc));
            return rc;
        }
    }
    print_banner(a, (double)(uv_hrtime() - t0) / 1e6);
    rc = status_start(gw, &a->fleet, a->opt.status_interval_s);
    if (rc != 0)
        return rc;
    a->sigint.data = a->sigterm.data = a;
    if ((rc = uv_signal_init(&a->loop, &a->sigint)) != 0 ||
        (rc = uv_signal_init(&a->loop, &a->sigterm)) != 0)
        return rc;
    a->signals_ready = true;
    if ((rc = uv_signal_start(&a->sigint, on_signal, SIGINT)) != 0 ||
        (rc = uv_signal_start(&a->sigterm, on_signal, SIGTERM)) != 0)
        return rc;
    if (a->opt.duration_s > 0) {
        if ((rc = uv_timer_init(&a->loop, &a->stop_timer)) != 0)
            return rc;
        a->stop_timer_ready = true;
        a->stop_timer.data = a;
        rc = uv_timer_start(&a->stop_timer, on_stop_timer, a->opt.duration_s * 1000ull, 0);
    }
    return rc;
}

int main(int argc, char **argv)
{
    static struct app a; /* large, and one per process */
    int status = gw_options_parse(&a.opt, argc, argv);
    if (status >= 0)
        return status;
    if (!raise_fd_limit(a.opt.devices + a.opt.n_external)) {
        gw_options_free(&a.opt);
        return 1;
    }
    srand((unsigned)a.opt.seed); /* the links' back-off jitter */
    if (uv_loop_init(&a.loop) != 0) {
        gw_options_free(&a.opt);
        return 1;
    }
    a.gw.loop = &a.loop;
    a.gw.opt = &a.opt;
    int rc = start(&a);
    if (rc != 0)
        stop(&a, false); /* what start() opened closes */
    uv_run(&a.loop, UV_RUN_DEFAULT);
    gw_server_free(&a.gw);
    free(a.gw.links);
    gw_options_free(&a.opt);
    if (uv_loop_close(&a.loop) != 0) {
        fprintf(stderr, "gateway: handles left open\n");
        return 1;
    }
    return rc == 0 ? 0 : 1;
}
