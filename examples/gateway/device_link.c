/* The gateway's side of one device (device_link.h). */
#define _POSIX_C_SOURCE 200809L

#include "device_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "gateway_server.h"
#include "relay.h"

enum {
    OBS_TAG = 1, /* the events of the /temp observation carry it; plain requests carry 0 */
    /* After the device's empty ACK, how long its separate answer may take: MAX_TRANSMIT_WAIT of
     * the device's retransmissions (RFC 7252 §4.8.2) would be 93 s; a gateway gives up sooner */
    RELAY_RESPONSE_TIMEOUT_MS = 10000,
    /* The gateway's server sends its empty ACK after this (its auto_ack_ms default) */
    SERVER_AUTO_ACK_MS = 500
};

static uint64_t now_ms(const struct device_link *l)
{
    return uv_now(l->gw->loop);
}

static void start_timer(struct device_link *l, uv_timer_cb cb, uint64_t timeout, uint64_t repeat)
{
    if (l->timer_ready)
        (void)uv_timer_start(&l->timer, cb, timeout, repeat);
}

uint32_t link_retry_in_s(const struct device_link *l)
{
    uint64_t now = now_ms(l);
    uint64_t left = l->retry_at_ms > now ? l->retry_at_ms - now : 0;
    return (uint32_t)((left + 999u) / 1000u) + (left == 0 ? 1u : 0u);
}

static void set_state(struct device_link *l, enum link_state state)
{
    struct gateway *gw = l->gw;
    if (l->state == LINK_ONLINE)
        gw->online--;
    if (state == LINK_ONLINE)
        gw->online++;
    l->state = state;
}

static void fail_queued(struct device_link *l, uint8_t code, const char *why)
{
    while (l->queue_head != NULL) {
        struct relay *r = l->queue_head;
        l->queue_head = r->next;
        l->queued--;
        l->gw->count.relay_refused++;
        int64_t max_age = code == ZCOAP_SERVICE_UNAVAILABLE ? (int64_t)link_retry_in_s(l) : -1;
        relay_fail(r, code, max_age, why);
    }
    l->queue_tail = NULL;
}

static void on_retry_due(uv_timer_t *t);
static void on_stale_check(uv_timer_t *t);

/* The device stopped answering or refused: offline until the retry, @p why tells the clients. */
static void go_offline(struct device_link *l, const char *why)
{
    struct gateway *gw = l->gw;
    snprintf(l->why, sizeof(l->why), "%s", why);
    if (l->state == LINK_OFFLINE)
        return;
    /* A change worth telling: it was online, or it failed for the first time. Failed retries
     * are told with -v only. */
    l->register_due = false; /* the retry registers, after the back-off */
    bool news = l->state == LINK_ONLINE || (!l->ever_online && !l->was_offline);
    l->was_offline = true;
    set_state(l, LINK_OFFLINE);
    if (news)
        gw->count.went_offline++;
    /* Forget the observation: a late notification gets RST (RFC 7641 §3.6); the retry
     * registers again. */
    (void)zcoap_uv_client_observe_cancel(&l->client, OBS_TAG, false);
    /* Back-off (RFC 8085 §3.1.3: exponential, with a random part against synchronised
     * retries): 1 s, 2 s, 4 s ... 60 s. */
    uint32_t jitter = (uint32_t)((uint32_t)rand() % (l->backoff_ms / 4u + 1u));
    l->retry_at_ms = now_ms(l) + l->backoff_ms + jitter;
    start_timer(l, on_retry_due, l->backoff_ms + jitter, 0);
    if (news || gw->opt->verbose)
        gw_log("%s offline: %s; next try in %.1f s", l->name, l->why,
               (double)(l->backoff_ms + jitter) / 1000.0);
    l->backoff_ms = l->backoff_ms * 2u > LINK_BACKOFF_MAX_MS ? (uint32_t)LINK_BACKOFF_MAX_MS
                                                             : l->backoff_ms * 2u;
    char diag[LINK_WHY_SIZE + LINK_NAME_SIZE + 16];
    snprintf(diag, sizeof(diag), "%s offline: %s", l->name, l->why);
    fail_queued(l, ZCOAP_SERVICE_UNAVAILABLE, diag);
    gw_server_temp_changed(gw, l->index); /* its observers learn it (5.03 ends theirs) */
}

/* A representation of /temp came (the registration's answer or a notification). */
static void took_value(struct device_link *l, const zcoap_msg_t *m)
{
    struct gateway *gw = l->gw;
    size_t len = m->payload_len < sizeof(l->value) ? m->payload_len : sizeof(l->value);
    if (len > 0)
        memcpy(l->value, m->payload, len);
    l->value_len = len;
    uint32_t cf = 0;
    l->value_cf = zcoap_msg_get_uint(m, ZCOAP_OPT_CONTENT_FORMAT, &cf) == ZCOAP_OK ? (int)cf : -1;
    l->last_heard_ms = now_ms(l);
    if (l->state != LINK_ONLINE) {
        if (l->was_offline) {
            l->was_offline = false;
            gw->count.came_back++;
            gw_log("%s online again: %.*s", l->name, (int)l->value_len, l->value);
        }
        set_state(l, LINK_ONLINE);
        l->backoff_ms = LINK_BACKOFF_MIN_MS;
        start_timer(l, on_stale_check, LINK_STALE_MS / 2, LINK_STALE_MS / 2);
        if (!l->ever_online) {
            l->ever_online = true;
            if (!l->external && ++gw->sim_ever_online == gw->opt->devices) {
                gw->all_online_ms = now_ms(l) - gw->start_ms + 1; /* 0 means "not yet" */
                gw_log("all %zu simulated devices online", gw->opt->devices);
            }
        }
    }
    gw_server_temp_changed(gw, l->index);
}

/* Register the observation of /temp (again, with the same token when it is known). */
static void observe_temp(struct device_link *l)
{
    int rc = zcoap_uv_client_observe(&l->client, l->temp_uri, OBS_TAG);
    if (rc == ZCOAP_EBUSY) {
        l->register_due = true; /* a request is in flight (NSTART = 1): after it (pump()) */
        return;
    }
    l->register_due = false;
    l->registering = rc == 0;
    if (rc != 0) {
        char why[LINK_WHY_SIZE];
        snprintf(why, sizeof(why), "cannot observe /temp: %.60s", zcoap_uv_strerror(rc));
        go_offline(l, why);
    }
}

static void on_connected(zcoap_uv_client_t *c, int status)
{
    struct device_link *l = c->data;
    if (status != 0) {
        char why[LINK_WHY_SIZE];
        snprintf(why, sizeof(why), "cannot resolve or connect: %.60s", zcoap_uv_strerror(status));
        go_offline(l, why);
        return;
    }
    l->connected = true;
    observe_temp(l);
}

static void on_retry_due(uv_timer_t *t)
{
    struct device_link *l = t->data;
    set_state(l, LINK_CONNECTING);
    if (!l->connected && l->external) {
        int rc = zcoap_uv_client_connect_uri(&l->client, l->url, on_connected);
        if (rc != 0)
            on_connected(&l->client, rc);
        return;
    }
    observe_temp(l);
}

/* Every LINK_STALE_MS / 2 while online: a device silent for LINK_STALE_MS is asked again; a new
 * registration both checks that it answers and renews the observation it may have lost (a
 * restart forgets observers). */
static void on_stale_check(uv_timer_t *t)
{
    struct device_link *l = t->data;
    if (l->state == LINK_ONLINE && !l->registering && now_ms(l) - l->last_heard_ms >= LINK_STALE_MS)
        observe_temp(l); /* with a relay in flight, after it */
}

/* Send relay @p r to the device: its method, Content-Format and payload, to BASE/led. */
static int send_relay(struct device_link *l, const struct relay *r)
{
    zcoap_ep_t *ep = zcoap_uv_client_endpoint(&l->client);
    zcoap_builder_t b;
    int rc = zcoap_ep_request_begin(ep, ZCOAP_TYPE_CON, r->method, &b);
    if (rc != 0)
        return rc;
    char uri[LINK_URI_SIZE + 8];
    snprintf(uri, sizeof(uri), "%s%s", l->url, "/led");
    (void)zcoap_builder_add_uri(&b, uri, strlen(uri), ZCOAP_URI_OPT_DEFAULT, NULL);
    if (r->content_format >= 0)
        (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_CONTENT_FORMAT, (uint32_t)r->content_format);
    if (r->payload_len > 0)
        (void)zcoap_builder_set_payload(&b, r->payload, r->payload_len);
    rc = zcoap_ep_request_send(ep, &b, RELAY_RESPONSE_TIMEOUT_MS, now_ms(l));
    if (rc == 0)
        zcoap_uv_client_flush(&l->client); /* out it goes; also from an event callback */
    return rc;
}

/* Start the next queued relay when the one request slot is free (NSTART = 1). */
static void pump(struct device_link *l)
{
    while (l->in_flight == NULL && l->queue_head != NULL && !l->gw->closing) {
        struct relay *r = l->queue_head;
        int rc = send_relay(l, r);
        if (rc == ZCOAP_EBUSY)
            return; /* the registration is in flight: its end pumps again */
        l->queue_head = r->next;
        if (l->queue_head == NULL)
            l->queue_tail = NULL;
        l->queued--;
        if (rc != 0) {
            char why[LINK_WHY_SIZE];
            snprintf(why, sizeof(why), "cannot relay to %s: %s", l->name, zcoap_uv_strerror(rc));
            l->gw->count.relay_failed++;
            relay_fail(r, ZCOAP_BAD_GATEWAY, -1, why);
            continue;
        }
        l->in_flight = r;
    }
    if (l->register_due && l->in_flight == NULL && !l->gw->closing)
        observe_temp(l);
}

void link_relay(struct device_link *l, struct relay *r)
{
    if (l->state == LINK_OFFLINE || l->queued >= LINK_QUEUE_MAX) {
        char why[LINK_WHY_SIZE + LINK_NAME_SIZE + 32];
        if (l->state == LINK_OFFLINE)
            snprintf(why, sizeof(why), "%s offline: %s; next try in %u s", l->name, l->why,
                     (unsigned)link_retry_in_s(l));
        else
            snprintf(why, sizeof(why), "%s: %d requests wait already", l->name, LINK_QUEUE_MAX);
        l->gw->count.relay_refused++;
        relay_fail(r, ZCOAP_SERVICE_UNAVAILABLE,
                   l->state == LINK_OFFLINE ? (int64_t)link_retry_in_s(l) : 1, why);
        return;
    }
    if (l->queue_tail != NULL)
        l->queue_tail->next = r;
    else
        l->queue_head = r;
    l->queue_tail = r;
    l->queued++;
    pump(l);
}

/* The end of the relay in flight: @p resp is the device's answer, or NULL with @p why. */
static void relay_over(struct device_link *l, const zcoap_msg_t *resp, uint8_t code,
                       const char *why)
{
    struct relay *r = l->in_flight;
    struct gateway *gw = l->gw;
    l->in_flight = NULL;
    if (r == NULL)
        return;
    uint64_t took = now_ms(l) - r->started_ms;
    const char *method = zcoap_code_name(r->method);
    if (resp != NULL) {
        gw->count.relayed++;
        if (took >= SERVER_AUTO_ACK_MS)
            gw->count.relayed_late++;
        if (gw->opt->verbose)
            gw_log("relayed %s %s/led: %s in %llu ms%s", method, l->name,
                   zcoap_code_name(resp->code), (unsigned long long)took,
                   took >= SERVER_AUTO_ACK_MS ? " (separate response)" : "");
        (void)relay_answer(r, resp);
    } else {
        gw->count.relay_failed++;
        char diag[LINK_WHY_SIZE + LINK_NAME_SIZE + 16];
        snprintf(diag, sizeof(diag), "%s: %s", l->name, why);
        if (gw->opt->verbose)
            gw_log("relay of %s %s/led failed: %s", method, l->name, why);
        relay_fail(r, code, -1, diag);
    }
}

static void on_obs_event(struct device_link *l, const zcoap_event_t *ev)
{
    char why[LINK_WHY_SIZE];
    if (ev->kind == ZCOAP_EV_OUT_RESPONSE || ev->kind == ZCOAP_EV_OUT_TIMEOUT ||
        ev->kind == ZCOAP_EV_OUT_RESET)
        l->registering = false; /* the registration's exchange is over */
    switch (ev->kind) {
    case ZCOAP_EV_OUT_RESPONSE:
    case ZCOAP_EV_OBS_ENDED: /* an error, or a notification without Observe (RFC 7641 §3.2) */
        if (ZCOAP_CODE_CLASS(ev->msg.code) == 2) {
            took_value(l, &ev->msg); /* not observing any more: the staleness check asks */
        } else {
            snprintf(why, sizeof(why), "GET /temp answered %s", zcoap_code_name(ev->msg.code));
            go_offline(l, why);
        }
        break;
    case ZCOAP_EV_OBS_NOTIFICATION:
        l->notifications++;
        l->gw->count.notifications_in++;
        took_value(l, &ev->msg);
        break;
    case ZCOAP_EV_OUT_TIMEOUT:
        go_offline(l, ev->err == ZCOAP_EUNREACHABLE ? "port unreachable (ICMP)" : "no answer");
        break;
    case ZCOAP_EV_OUT_RESET:
        go_offline(l, "it answered with RST");
        break;
    default:
        break; /* SENT, EMPTY_ACK, RENEW (the client registers again by itself) */
    }
}

static void on_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    struct device_link *l = c->data;
    if (l->gw->closing)
        return;
    if (ev->tag == OBS_TAG) {
        on_obs_event(l, ev);
    } else {
        switch (ev->kind) {
        case ZCOAP_EV_OUT_RESPONSE:
            l->last_heard_ms = now_ms(l);
            relay_over(l, &ev->msg, 0, NULL);
            break;
        case ZCOAP_EV_OUT_EMPTY_ACK:
            l->last_heard_ms = now_ms(l); /* the device is slow: a separate answer follows */
            break;
        case ZCOAP_EV_OUT_TIMEOUT: {
            const char *why =
                ev->err == ZCOAP_EUNREACHABLE ? "port unreachable (ICMP)" : "no answer";
            relay_over(l, NULL, ZCOAP_GATEWAY_TIMEOUT, why);
            go_offline(l, why);
            break;
        }
        case ZCOAP_EV_OUT_RESET:
            relay_over(l, NULL, ZCOAP_BAD_GATEWAY, "it answered with RST");
            break;
        default:
            break;
        }
    }
    pump(l);
}

int link_start(struct gateway *gw, struct device_link *l, size_t i, const struct sockaddr *addr)
{
    l->gw = gw;
    l->index = i;
    l->state = LINK_CONNECTING;
    l->backoff_ms = LINK_BACKOFF_MIN_MS;
    l->value_cf = -1;
    int n = snprintf(l->temp_uri, sizeof(l->temp_uri), "%s/temp", l->url);
    if (n < 0 || (size_t)n >= sizeof(l->temp_uri))
        return ZCOAP_ENOSPC;
    int rc = uv_timer_init(gw->loop, &l->timer);
    if (rc != 0)
        return rc;
    l->timer_ready = true;
    l->timer.data = l;
    zcoap_ep_config_t cfg;
    zcoap_ep_config_default(&cfg, NULL); /* the client allocates its buffers */
    cfg.msg_cap = 512;                   /* small messages: 1.4 KB less per device */
    cfg.tx.ack_timeout_ms = LINK_ACK_TIMEOUT_MS;
    cfg.tx.max_retransmit = 2;
    l->client.data = l;
    rc = zcoap_uv_client_init(gw->loop, &l->client, &cfg, on_event);
    if (rc != 0)
        return rc;
    l->client_ready = true;
    if (addr == NULL) {
        rc = zcoap_uv_client_connect_uri(&l->client, l->url, on_connected);
        if (rc != 0)
            on_connected(&l->client, rc); /* offline, retried later */
        return 0;
    }
    rc = zcoap_uv_client_connect(&l->client, addr);
    if (rc != 0)
        return rc;
    l->connected = true;
    observe_temp(l);
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    const struct device_link *l = h->data;
    gw_handle_closed(l->gw);
}

static void on_client_closed(zcoap_uv_client_t *c)
{
    const struct device_link *l = c->data;
    gw_handle_closed(l->gw);
}

void link_close(struct device_link *l, const char *why)
{
    if (l->gw == NULL)
        return; /* never started */
    struct relay *r = l->in_flight;
    l->in_flight = NULL;
    if (r != NULL) {
        l->gw->count.relay_refused++;
        relay_fail(r, ZCOAP_SERVICE_UNAVAILABLE, -1, why);
    }
    fail_queued(l, ZCOAP_SERVICE_UNAVAILABLE, why);
    if (l->state == LINK_ONLINE)
        set_state(l, LINK_OFFLINE);
    if (l->timer_ready) {
        l->timer_ready = false;
        l->gw->open_handles++;
        uv_close((uv_handle_t *)&l->timer, on_timer_closed);
    }
    if (l->client_ready) {
        l->client_ready = false;
        l->gw->open_handles++;
        zcoap_uv_client_close(&l->client, on_client_closed);
    }
}
