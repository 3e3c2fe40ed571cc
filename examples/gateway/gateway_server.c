/* The gateway's server side (gateway_server.h). */
#define _POSIX_C_SOURCE 200809L

#include "gateway_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "relay.h"

enum {
    WELL_KNOWN = 0, /* the table: /.well-known/core, /devices, then temp and led per device */
    DEVICES = 1,
    FIRST_DEVICE = 2,
    PATH_SIZE = 16 + LINK_NAME_SIZE /* "devices/" NAME "/temp" */
};

static const char temp_attrs[] = "rt=\"temperature-c\";if=\"sensor\";ct=0;obs";
static const char led_attrs[] = "rt=\"light\";if=\"actuator\";ct=0";

static struct device_link *device_of(const struct gateway *gw, const zcoap_resource_t *res)
{
    return &gw->links[(size_t)(res - gw->table - FIRST_DEVICE) / 2u];
}

/* A listing of table entries [first, first + n), filtered by the request's query (RFC 6690
 * §4.1); the adapter sends it block-wise (RFC 7959) when it is larger than a block. */
static void answer_listing(struct gateway *gw, zcoap_uv_peer_t *peer, const zcoap_msg_t *req,
                           size_t first, size_t n)
{
    ptrdiff_t len =
        zcoap_resource_link_format(gw->table + first, n, req, gw->listing, gw->listing_cap);
    if (len < 0) {
        (void)zcoap_uv_peer_respond(peer, ZCOAP_INTERNAL_SERVER_ERROR, -1, NULL, 0);
        return;
    }
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_LINK_FORMAT, gw->listing,
                                (size_t)len);
}

static void on_well_known(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                          const zcoap_msg_t *req)
{
    (void)res;
    struct gateway *gw = s->data;
    answer_listing(gw, peer, req, DEVICES, gw->n_table - DEVICES);
}

static void on_devices(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                       const zcoap_msg_t *req)
{
    (void)res;
    struct gateway *gw = s->data;
    answer_listing(gw, peer, req, FIRST_DEVICE, gw->n_table - FIRST_DEVICE);
}

/* GET /devices/NAME/temp, and each notification of it (req NULL). */
static void on_temp(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                    const zcoap_msg_t *req)
{
    struct device_link *l = device_of(s->data, res);
    uint32_t observe = 1;
    if (req != NULL && zcoap_msg_get_uint(req, ZCOAP_OPT_OBSERVE, &observe) == ZCOAP_OK &&
        observe == 0)
        l->observed = true; /* a registration (RFC 7641 §3.1): notify this one from now on */
    if (l->state == LINK_ONLINE) {
        (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, l->value_cf, l->value, l->value_len);
        return;
    }
    char why[LINK_WHY_SIZE + LINK_NAME_SIZE + 48];
    uint32_t retry_s = 1;
    if (l->state == LINK_OFFLINE) {
        retry_s = link_retry_in_s(l);
        snprintf(why, sizeof(why), "%s offline: %s; next try in %u s", l->name, l->why,
                 (unsigned)retry_s);
    } else if (l->ever_online) {
        snprintf(why, sizeof(why), "%s: asking it again after: %s", l->name, l->why);
    } else {
        snprintf(why, sizeof(why), "%s: no value yet", l->name);
    }
    /* Max-Age on an error: when to try again (RFC 7252 §5.9.3.4); no Content-Format on a
     * diagnostic (§5.5.2). */
    const zcoap_uv_respond_opts_t opts = {.content_format = -1, .max_age_s = retry_s};
    (void)zcoap_uv_peer_respond_opts(peer, ZCOAP_SERVICE_UNAVAILABLE, &opts, why, strlen(why));
}

/* GET or PUT /devices/NAME/led: relayed. */
static void on_led(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                   const zcoap_msg_t *req)
{
    struct gateway *gw = s->data;
    struct relay *r = relay_new(peer, req, uv_now(gw->loop));
    if (r != NULL)
        link_relay(device_of(gw, res), r);
}

#define HANDLER(fn) ((void *)(uintptr_t)(fn))

/* The table: its paths in one block after the entries. */
static int build_table(struct gateway *gw)
{
    size_t n = FIRST_DEVICE + 2u * gw->n_links;
    char *block = malloc(n * sizeof(zcoap_resource_t) + 2u * gw->n_links * PATH_SIZE);
    if (block == NULL)
        return ZCOAP_ENOSPC;
    zcoap_resource_t *t = (zcoap_resource_t *)(void *)block;
    char *paths = block + n * sizeof(zcoap_resource_t);
    /* Our own /.well-known/core: the adapter's lists at most 1 KiB (5.00 above); hidden, as
     * RFC 6690 §4 does not list the listing itself. */
    t[WELL_KNOWN] = (zcoap_resource_t){".well-known/core", ZCOAP_METHOD_BIT(ZCOAP_GET), NULL, true,
                                       HANDLER(on_well_known)};
    t[DEVICES] = (zcoap_resource_t){"devices", ZCOAP_METHOD_BIT(ZCOAP_GET),
                                    "ct=40;title=\"the devices behind the gateway\"", false,
                                    HANDLER(on_devices)};
    size_t listing = 64;
    for (size_t i = 0; i < gw->n_links; i++) {
        char *temp = paths + (2u * i) * PATH_SIZE;
        char *led = temp + PATH_SIZE;
        snprintf(temp, PATH_SIZE, "devices/%s/temp", gw->links[i].name);
        snprintf(led, PATH_SIZE, "devices/%s/led", gw->links[i].name);
        t[FIRST_DEVICE + 2 * i] = (zcoap_resource_t){temp, ZCOAP_METHOD_BIT(ZCOAP_GET), temp_attrs,
                                                     false, HANDLER(on_temp)};
        t[FIRST_DEVICE + 2 * i + 1] =
            (zcoap_resource_t){led, ZCOAP_METHOD_BIT(ZCOAP_GET) | ZCOAP_METHOD_BIT(ZCOAP_PUT),
                               led_attrs, false, HANDLER(on_led)};
        listing += 2u * PATH_SIZE + sizeof(temp_attrs) + sizeof(led_attrs) + 8u;
    }
    gw->listing = malloc(listing);
    if (gw->listing == NULL) {
        free(block);
        return ZCOAP_ENOSPC;
    }
    gw->listing_cap = listing;
    gw->table = t;
    gw->n_table = n;
    return 0;
}

int gw_server_start(struct gateway *gw, const struct sockaddr *addr)
{
    int rc = build_table(gw);
    if (rc != 0) {
        fprintf(stderr, "gateway: out of memory for %zu devices\n", gw->n_links);
        return rc;
    }
    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    cfg.resources = gw->table;
    cfg.n_resources = gw->n_table;
    /* Room for a few observers per device (the default 256 is for one small server). */
    cfg.max_observers = 256u + 4u * gw->n_links;
    gw->server.data = gw;
    rc = zcoap_uv_server_start(gw->loop, &gw->server, addr, &cfg);
    if (rc != 0) {
        fprintf(stderr, "gateway: cannot listen on %s port %u: %s%s\n", gw->opt->address,
                (unsigned)gw->opt->port, zcoap_uv_strerror(rc),
                rc == UV_EADDRINUSE ? " (another CoAP server? try --port 0 or --port 5690)" : "");
        return rc;
    }
    gw->server_started = true;
    return 0;
}

void gw_server_temp_changed(struct gateway *gw, size_t i)
{
    /* zcoap_uv_server_notify() walks the whole observer table (4 entries per device): with
     * thousands of devices, walking it for each of their notifications costs more than all the
     * rest. Most devices have no observer at the gateway: notify only those that had a
     * registration, until a notification finds nobody left. */
    struct device_link *l = &gw->links[i];
    if (!gw->server_started || gw->closing || !l->observed)
        return;
    if (zcoap_uv_server_notify(&gw->server, &gw->table[FIRST_DEVICE + 2 * i]) <= 0)
        l->observed = false;
}

static void on_server_closed(zcoap_uv_server_t *s)
{
    gw_handle_closed(s->data);
}

void gw_server_close(struct gateway *gw)
{
    if (!gw->server_started)
        return;
    gw->server_started = false;
    gw->open_handles++;
    zcoap_uv_server_close(&gw->server, on_server_closed);
}

void gw_server_free(struct gateway *gw)
{
    free(gw->table);
    free(gw->listing);
    gw->table = NULL;
    gw->listing = NULL;
}
