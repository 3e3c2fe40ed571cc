/* The LwM2M registration interface, client side (see registration.h). */
#include "registration.h"

#include <stdio.h>
#include <string.h>

#include "device_object.h"

#define RETRY_FIRST_MS 2000u
#define RETRY_MAX_MS 60000u
#define MIN_MARGIN_MS 2000u

static void on_timer(uv_timer_t *t);

uint64_t registration_update_delay_ms(const registration_params_t *p)
{
    uint64_t lifetime_ms = (uint64_t)p->lifetime_s * 1000u;
    uint64_t margin = p->update_margin_ms;
    if (margin == 0) {
        /* Early enough that one exchange with its retransmissions usually fits before the
         * server drops us (TS Core §6.2.2), but not more than half the lifetime. */
        margin = lifetime_ms / 10u > MIN_MARGIN_MS ? lifetime_ms / 10u : MIN_MARGIN_MS;
        if (margin > lifetime_ms / 2u)
            margin = lifetime_ms / 2u;
    }
    return margin >= lifetime_ms ? 0 : lifetime_ms - margin;
}

/* "4.05 Method Not Allowed" into @p out. */
static const char *code_text(uint8_t code, char *out, size_t cap)
{
    const char *reason = zcoap_code_reason(code);
    snprintf(out, cap, "%s%s%s", zcoap_code_name(code), reason != NULL ? " " : "",
             reason != NULL ? reason : "");
    return out;
}

/* A CON request on the client's one request slot: method, path and query, and for a Register
 * the links in link-format (TS Transport §6.4.1). */
static int send_request(registration_t *r, uint8_t method, const char *path_query, bool links)
{
    zcoap_ep_t *ep = zcoap_uv_client_endpoint(r->client);
    zcoap_builder_t b;
    int rc = zcoap_ep_request_begin(ep, ZCOAP_TYPE_CON, method, &b);
    if (rc != ZCOAP_OK)
        return rc;
    (void)zcoap_builder_add_uri_path(&b, path_query, strlen(path_query));
    if (links) {
        (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_CONTENT_FORMAT, ZCOAP_CF_LINK_FORMAT);
        (void)zcoap_builder_set_payload(&b, DEVICE_REGISTRATION_LINKS,
                                        strlen(DEVICE_REGISTRATION_LINKS));
    }
    rc = zcoap_ep_request_send(ep, &b, 0, uv_now(r->loop)); /* the builder's first error */
    if (rc != ZCOAP_OK)
        (void)zcoap_ep_cancel(ep);
    zcoap_uv_client_flush(r->client);
    return rc;
}

static void arm(registration_t *r, uint64_t ms)
{
    uv_timer_start(&r->timer, on_timer, ms, 0);
}

static void finish(registration_t *r)
{
    uv_timer_stop(&r->timer);
    if (r->state == REG_DONE)
        return;
    r->state = REG_DONE;
    if (r->on_done != NULL)
        r->on_done(r);
}

/* Try to register again after the back-off. */
static void retry_later(registration_t *r, const char *why)
{
    printf("%s: registering again in %u s\n", why, (unsigned)(r->retry_ms / 1000u));
    fflush(stdout);
    r->state = REG_IDLE;
    r->location[0] = '\0';
    arm(r, r->retry_ms);
    r->retry_ms = r->retry_ms * 2u > RETRY_MAX_MS ? RETRY_MAX_MS : r->retry_ms * 2u;
}

static void send_register(registration_t *r)
{
    char query[REGISTRATION_QUERY_SIZE];
    snprintf(query, sizeof(query), "/rd?ep=%s&lt=%u&lwm2m=1.1&b=U", r->p.endpoint_name,
             (unsigned)r->p.lifetime_s);
    if (r->p.verbose) {
        printf("registering: POST %s %s\n", query, DEVICE_REGISTRATION_LINKS);
        fflush(stdout);
    }
    int rc = send_request(r, ZCOAP_POST, query, true);
    if (rc != ZCOAP_OK) {
        char why[96];
        snprintf(why, sizeof(why), "register: cannot send (%s)", zcoap_uv_strerror(rc));
        retry_later(r, why);
        return;
    }
    r->state = REG_REGISTERING;
}

/* The Update (TS Core §6.2.2): an empty POST to the location, which renews the lifetime. */
static void send_update(registration_t *r)
{
    int rc = send_request(r, ZCOAP_POST, r->location, false);
    if (rc != ZCOAP_OK) {
        printf("update: cannot send (%s): registering again\n", zcoap_uv_strerror(rc));
        send_register(r);
        return;
    }
    r->state = REG_UPDATING;
}

static void send_deregister(registration_t *r)
{
    int rc = send_request(r, ZCOAP_DELETE, r->location, false);
    if (rc != ZCOAP_OK) {
        printf("deregister: cannot send (%s)\n", zcoap_uv_strerror(rc));
        fflush(stdout);
        finish(r);
        return;
    }
    r->state = REG_DEREGISTERING;
    arm(r, r->p.deregister_wait_ms);
}

static void on_timer(uv_timer_t *t)
{
    registration_t *r = t->data;
    switch (r->state) {
    case REG_IDLE:
        send_register(r);
        return;
    case REG_REGISTERED:
        send_update(r);
        return;
    case REG_DEREGISTERING:
        /* Exit in bounded time whatever the server does (it may be gone). */
        (void)zcoap_ep_cancel(zcoap_uv_client_endpoint(r->client));
        printf("deregister: no answer within %u ms\n", (unsigned)r->p.deregister_wait_ms);
        fflush(stdout);
        finish(r);
        return;
    default:
        return;
    }
}

static void on_registered(registration_t *r, const zcoap_msg_t *msg)
{
    char code[64];
    if (msg->code != ZCOAP_CREATED) {
        char why[96];
        snprintf(why, sizeof(why), "registration refused: %s",
                 code_text(msg->code, code, sizeof(code)));
        retry_later(r, why);
        return;
    }
    ptrdiff_t n = zcoap_msg_path(msg, true, r->location, sizeof(r->location));
    if (n <= 1) { /* TS Transport §6.4.1: the 2.01 carries the location of the registration */
        r->location[0] = '\0';
        retry_later(r, "registration answered 2.01 without Location-Path");
        return;
    }
    r->registered++;
    r->retry_ms = RETRY_FIRST_MS;
    r->state = REG_REGISTERED;
    uint64_t delay = registration_update_delay_ms(&r->p);
    printf("registered at %s (2.01), lifetime %u s, next update in %.1f s\n", r->location,
           (unsigned)r->p.lifetime_s, (double)delay / 1000.0);
    fflush(stdout);
    arm(r, delay);
}

static void on_updated(registration_t *r, const zcoap_msg_t *msg)
{
    char code[64];
    if (msg->code == ZCOAP_CHANGED) {
        r->updated++;
        r->state = REG_REGISTERED;
        printf("update: 2.04\n");
        fflush(stdout);
        arm(r, registration_update_delay_ms(&r->p));
        return;
    }
    /* 4.04: the server has forgotten us (TS Core §6.2.2); any other refusal leaves us no
     * better way back than a new Register either (libcoap's RD answers 4.05). */
    r->updates_refused++;
    printf("update refused %s: registering again\n", code_text(msg->code, code, sizeof(code)));
    fflush(stdout);
    send_register(r);
}

static void on_deregistered(registration_t *r, const zcoap_msg_t *msg)
{
    char code[64];
    if (msg->code == ZCOAP_DELETED)
        r->deregistered++;
    printf("deregister%s: %s\n", msg->code == ZCOAP_DELETED ? "ed" : " refused",
           code_text(msg->code, code, sizeof(code)));
    fflush(stdout);
    finish(r);
}

/* The request in flight ended without an answer. */
static void on_no_answer(registration_t *r, const zcoap_event_t *ev)
{
    const char *why = ev->kind == ZCOAP_EV_OUT_RESET  ? "RST"
                      : ev->err == ZCOAP_EUNREACHABLE ? "ICMP port unreachable"
                                                      : "no answer";
    char text[96];
    switch (r->state) {
    case REG_REGISTERING:
        snprintf(text, sizeof(text), "register: %s", why);
        retry_later(r, text);
        return;
    case REG_UPDATING:
        printf("update: %s: registering again\n", why);
        fflush(stdout);
        send_register(r);
        return;
    case REG_DEREGISTERING:
        printf("deregister: %s\n", why);
        fflush(stdout);
        finish(r);
        return;
    default:
        return;
    }
}

bool registration_on_event(registration_t *r, const zcoap_event_t *ev)
{
    if (ev->tag != 0)
        return false; /* an observation's, not ours */
    switch (ev->kind) {
    case ZCOAP_EV_OUT_CON_SENT:
    case ZCOAP_EV_OUT_EMPTY_ACK:
    case ZCOAP_EV_OUT_WRONG_TOKEN:
        return true;
    case ZCOAP_EV_OUT_RESPONSE:
        if (r->state == REG_REGISTERING)
            on_registered(r, &ev->msg);
        else if (r->state == REG_UPDATING)
            on_updated(r, &ev->msg);
        else if (r->state == REG_DEREGISTERING)
            on_deregistered(r, &ev->msg);
        return true;
    case ZCOAP_EV_OUT_TIMEOUT:
    case ZCOAP_EV_OUT_RESET:
        on_no_answer(r, ev);
        return true;
    default:
        return false;
    }
}

int registration_start(registration_t *r, uv_loop_t *loop, zcoap_uv_client_t *client,
                       const registration_params_t *params)
{
    memset(r, 0, sizeof(*r));
    r->p = *params;
    r->client = client;
    r->loop = loop;
    r->retry_ms = RETRY_FIRST_MS;
    int rc = uv_timer_init(loop, &r->timer);
    if (rc != 0)
        return rc;
    r->timer.data = r;
    send_register(r);
    return 0;
}

void registration_stop(registration_t *r, registration_done_cb done)
{
    r->on_done = done;
    if (r->stopping || r->state == REG_DONE)
        return;
    r->stopping = true;
    uv_timer_stop(&r->timer);
    zcoap_ep_t *ep = zcoap_uv_client_endpoint(r->client);
    switch (r->state) {
    case REG_REGISTERED:
        send_deregister(r);
        return;
    case REG_UPDATING:
        (void)zcoap_ep_cancel(ep); /* the location is still ours: remove it */
        send_deregister(r);
        return;
    case REG_REGISTERING:
        (void)zcoap_ep_cancel(ep); /* no location known: nothing to remove */
        printf("stopped while registering: nothing to deregister\n");
        fflush(stdout);
        finish(r);
        return;
    default:
        finish(r);
        return;
    }
}

void registration_close(registration_t *r)
{
    uv_close((uv_handle_t *)&r->timer, NULL);
}
