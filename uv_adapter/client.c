/* Client endpoints on a libuv loop: one endpoint, a connected uv_udp_t, and one uv_timer_t armed
 * to the endpoint's next deadline after every call into the core (DESIGN.md §6); and the URIs of
 * the client's observations (RFC 7641), so that it registers again and cancels by itself. */
#include <stdlib.h>
#include <string.h>

#include "uv_io_internal.h"

/* The receive buffer of every client on this thread. A datagram is handed to its endpoint, and
 * the events it causes are delivered, within the one recv callback that read it, so clients
 * never need it at the same time; one per thread (a loop runs on one) rather than 1,664 bytes
 * in each of 100,000 clients. */
static _Thread_local uint8_t shared_rx[ZCOAP_UV_CLIENT_RX_SIZE];

/* What a client given no buffers allocates at init: the request buffer, the de-duplication ring
 * and the observations, in one block. Its response slot is lent only when the peer first sends
 * it a request (zcoap_ep_config_t::resp_store_lend): a client seldom answers its peer (the ACKs
 * of separate responses and notifications take no slot), and 100,000 clients that never do
 * then keep 1,152 bytes less each. One slot: a second, which would let it answer a request
 * while its own separate CON answer awaits an ACK, is for a rare case (that request gets 5.03). */
static size_t align8(size_t n)
{
    return (n + 7u) & ~(size_t)7u;
}

static uint8_t *lend_response_slot(void *ctx, size_t bytes)
{
    zcoap_uv_client_t *c = ctx;
    c->lent_store = malloc(bytes);
    return c->lent_store; /* NULL: the request is answered 5.03 and the next one asks again */
}

/* Fill the buffers @p config lacks (none given: all of them) from one allocation. */
static int allocate_storage(zcoap_uv_client_t *c, zcoap_ep_config_t *config)
{
    if (config->msg_cap == 0)
        config->msg_cap = ZCOAP_MAX_MSG_SIZE;
    if (config->dedup_cap == 0)
        config->dedup_cap = ZCOAP_EP_DEFAULT_DEDUP;
    if (config->observations_cap == 0)
        config->observations_cap = ZCOAP_EP_DEFAULT_OBSERVATIONS;
    if (config->resp_slots == 0)
        config->resp_slots = 1;
    if (config->msg_cap > 0xFFFFu || config->dedup_cap > 127u || config->observations_cap > 127u ||
        config->resp_slots > 127u)
        return ZCOAP_EINVAL;
    size_t dedup_at = align8(config->msg_cap);
    size_t obs_at = dedup_at + align8(config->dedup_cap * sizeof(zcoap_dedup_entry_t));
    size_t size = obs_at + config->observations_cap * sizeof(zcoap_ep_observation_t);
    uint8_t *block = malloc(size);
    if (block == NULL)
        return ZCOAP_ENOSPC;
    c->own_storage = block;
    config->req_buf = block;
    config->dedup = (zcoap_dedup_entry_t *)(void *)(block + dedup_at);
    config->observations = (zcoap_ep_observation_t *)(void *)(block + obs_at);
    config->resp_store = NULL;
    config->resp_store_lend = lend_response_slot;
    config->resp_store_ctx = c;
    return ZCOAP_OK;
}

static void client_flush(zcoap_uv_client_t *c);

/* ---- observations ------------------------------------------------------------------------ */

/* The slot of @p tag; tag 0 finds a free slot. */
static zcoap__uv_observation_t *obs_find(zcoap_uv_client_t *c, uint32_t tag)
{
    if (c->obs == NULL)
        return NULL; /* never observed anything */
    for (size_t i = 0; i < ZCOAP_UV_CLIENT_OBSERVATIONS; i++) {
        if (c->obs[i].tag == tag)
            return &c->obs[i];
    }
    return NULL;
}

static void obs_forget(zcoap__uv_observation_t *o)
{
    o->tag = 0;
    o->renew_due = false;
    o->cancel_due = false;
}

/* Register @p tag at @p uri, or renew it with the same token when it is established (RFC 7641
 * §3.3.1): Observe 0 and the URI's options. */
static int send_registration(zcoap_uv_client_t *c, uint32_t tag, const char *uri)
{
    zcoap_builder_t b;
    int rc = zcoap_ep_observe_begin(&c->ep, ZCOAP_GET, tag, &b);
    if (rc != ZCOAP_OK)
        return rc;
    (void)zcoap_builder_add_uri(&b, uri, strlen(uri), ZCOAP_URI_OPT_DEFAULT, NULL);
    rc = zcoap_ep_request_send(&c->ep, &b, 0, uv_now(c->loop)); /* the builder's first error */
    if (rc != ZCOAP_OK)
        (void)zcoap_ep_cancel(&c->ep); /* drops the request begun; a new registration with it */
    return rc;
}

/* RFC 7641 §3.6: GET with Observe 1, the observation's token and the same URI options. The
 * endpoint forgets the observation once the GET is begun. */
static int send_cancellation(zcoap_uv_client_t *c, const zcoap__uv_observation_t *o)
{
    zcoap_builder_t b;
    int rc = zcoap_ep_observe_cancel(&c->ep, o->tag, &b);
    if (rc != ZCOAP_OK)
        return rc; /* EBUSY: a request (maybe its registration) is in flight; kept */
    (void)zcoap_builder_add_uri(&b, o->uri, strlen(o->uri), ZCOAP_URI_OPT_DEFAULT, NULL);
    rc = zcoap_ep_request_send(&c->ep, &b, 0, uv_now(c->loop));
    if (rc != ZCOAP_OK)
        (void)zcoap_ep_cancel(&c->ep);
    return rc;
}

/* Send the first renewal or active cancellation that is due, unless a request is in flight
 * (NSTART = 1). True when one went, so its events are queued. */
static bool obs_send_due(zcoap_uv_client_t *c)
{
    if (c->obs == NULL)
        return false;
    for (size_t i = 0; i < ZCOAP_UV_CLIENT_OBSERVATIONS; i++) {
        zcoap__uv_observation_t *o = &c->obs[i];
        if (o->tag == 0 || (!o->cancel_due && !o->renew_due))
            continue;
        int rc = o->cancel_due ? send_cancellation(c, o) : send_registration(c, o->tag, o->uri);
        if (rc == ZCOAP_EBUSY)
            return false; /* after the request in flight ends */
        if (o->cancel_due)
            obs_forget(o); /* sent, or nothing left to cancel (ZCOAP_ENOTFOUND) */
        else
            o->renew_due = false;
        if (rc == ZCOAP_OK)
            return true;
    }
    return false;
}

/* Keep the slots in step with the endpoint before an event is delivered; false hides the event
 * (notifications and renewals of an observation the application has cancelled). */
static bool obs_track(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    zcoap__uv_observation_t *o = ev->tag != 0 ? obs_find(c, ev->tag) : NULL;
    if (o == NULL)
        return true; /* a plain request, or an observation made on the endpoint directly */
    switch (ev->kind) {
    case ZCOAP_EV_OUT_RESPONSE: /* to the registration or a renewal */
        if (!zcoap_ep_observing(&c->ep, o->tag))
            obs_forget(o); /* not taken (no Observe), or ended by an error (§3.1) */
        return true;
    case ZCOAP_EV_OUT_TIMEOUT:
    case ZCOAP_EV_OUT_RESET:
        /* A registration that failed is gone from the endpoint already; a renewal that failed
         * is not, but nothing would renew it again: the server is gone or refuses us. */
        (void)zcoap_ep_observe_cancel(&c->ep, o->tag, NULL);
        obs_forget(o);
        return true;
    case ZCOAP_EV_OBS_NOTIFICATION:
        o->renew_due = false; /* fresh news: the observation is alive */
        return !o->cancel_due;
    case ZCOAP_EV_OBS_RENEW:
        if (o->cancel_due)
            return false; /* the cancellation goes instead */
        o->renew_due = true;
        return true;
    case ZCOAP_EV_OBS_ENDED:
        obs_forget(o);
        return true;
    default:
        return true;
    }
}

/* Every handle is closed and no resolution is under way: nothing refers to the client's
 * memory any more. */
static void closed_fully(zcoap_uv_client_t *c)
{
    free(c->own_storage);
    free(c->lent_store);
    free(c->obs);
    free(c->xfer);
    c->own_storage = NULL;
    c->lent_store = NULL;
    c->obs = NULL;
    c->xfer = NULL;
    if (c->on_close != NULL)
        c->on_close(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    zcoap_uv_client_t *c = h->data;
    if (--c->open_handles == 0 && !c->resolving)
        closed_fully(c);
}

static void on_timer(uv_timer_t *t)
{
    client_flush(t->data);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    zcoap_uv_client_t *c = h->data;
    (void)suggested;
    (void)c;
    /* The thread's buffer: no allocation per datagram. The endpoint reads it during the receive
     * and its events are delivered before the next read, of any client, reuses it. */
    *buf = uv_buf_init((char *)shared_rx, sizeof(shared_rx));
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    zcoap_uv_client_t *c = h->data;
    (void)addr; /* connected: the kernel only lets the peer's datagrams through */
    if (c->closing)
        return;
    if (nread < 0) {
        /* ICMP port unreachable arrives as ECONNREFUSED on a connected socket: nobody listens
         * there, so the request in flight ends now rather than after MAX_TRANSMIT_WAIT. */
        c->stats.recv_errors++;
        c->stats.last_error = (int)nread;
        if (nread == UV_ECONNREFUSED && zcoap_ep_peer_unreachable(&c->ep, uv_now(c->loop)) == 1)
            client_flush(c);
        return;
    }
    if (nread == 0)
        return; /* nothing more to read, or an empty datagram: not CoAP */
    if ((flags & UV_UDP_PARTIAL) != 0) {
        c->stats.truncated++;
        return;
    }
    if (c->hook.fn != NULL) {
        bool pass = zcoap__uv_hook_passes(&c->hook, ZCOAP_UV_DATAGRAM_IN, &c->peer_addr.sa,
                                          (const uint8_t *)buf->base, (size_t)nread);
        if (c->closing)
            return; /* the hook closed the client */
        if (!pass) {
            c->stats.hook_dropped_in++;
            return;
        }
    }
    c->stats.datagrams_in++;
    (void)zcoap_ep_receive(&c->ep, (const uint8_t *)buf->base, (size_t)nread, uv_now(c->loop));
    client_flush(c);
}

/* Pull and send what the endpoint has queued through the hook, counting into the client's
 * stats. */
static void send_queued(zcoap_uv_client_t *c, uint64_t now)
{
    const zcoap__uv_tx_t tx = {.udp = &c->udp,
                               .to = NULL, /* connected */
                               .peer = &c->peer_addr.sa,
                               .hook = &c->hook,
                               .datagrams_out = &c->stats.datagrams_out,
                               .send_errors = &c->stats.send_errors,
                               .hook_dropped_out = &c->stats.hook_dropped_out,
                               .last_error = &c->stats.last_error};
    uint64_t errors = c->stats.send_errors;
    zcoap__uv_send_queued(&c->ep, now, &tx);
    /* A pending ICMP port unreachable can also surface on a send (the datagram is not sent). */
    if (c->stats.send_errors != errors && c->stats.last_error == UV_ECONNREFUSED)
        (void)zcoap_ep_peer_unreachable(&c->ep, now);
}

/* RFC 9175 §2.3: a 4.01 carrying Echo asks for the same request again with that Echo value (a
 * server limits what it sends to an address it has not verified, §2.4; zcoap's own server does
 * by default). A request of zcoap_uv_client_request() is sent again once, under a new token and
 * MID, and that 4.01 is not reported; a second one in a row is. Transfers do the same in the
 * core (transfer.c); requests built on the endpoint directly are the application's. */
static bool echo_retry(zcoap_uv_client_t *c, const zcoap_event_t *ev, uint64_t now)
{
    if (ev->kind != ZCOAP_EV_OUT_RESPONSE || ev->tag != 0 || !c->plain_request)
        return false;
    c->plain_request = false;
    zcoap_opt_t echo;
    if (c->echo_retried || ev->msg.code != ZCOAP_UNAUTHORIZED ||
        !zcoap_msg_find_opt(&ev->msg, ZCOAP_OPT_ECHO, &echo) || echo.len < 1 || echo.len > 40)
        return false;
    uint8_t echo_value[40];
    memcpy(echo_value, echo.val, echo.len);
    /* The request is still in the endpoint's buffer; a new one is built over it. */
    uint8_t old_bytes[ZCOAP_UV_CLIENT_RX_SIZE];
    size_t old_len = c->ep.out_len;
    zcoap_msg_t old;
    if (old_len > sizeof(old_bytes))
        return false;
    memcpy(old_bytes, c->ep.cfg.req_buf, old_len);
    if (zcoap_msg_parse(&old, old_bytes, old_len) != ZCOAP_OK)
        return false;
    zcoap_builder_t b;
    if (zcoap_ep_request_begin(&c->ep, old.type, old.code, &b) != ZCOAP_OK)
        return false;
    zcoap_opt_iter_t it;
    zcoap_opt_t opt;
    zcoap_opt_iter_init(&it, &old);
    while (zcoap_opt_iter_next(&it, &opt)) {
        if (opt.num != ZCOAP_OPT_ECHO)
            (void)zcoap_builder_add_opt(&b, opt.num, opt.val, opt.len);
    }
    (void)zcoap_builder_add_opt(&b, ZCOAP_OPT_ECHO, echo_value, echo.len);
    (void)zcoap_builder_set_payload(&b, old.payload, old.payload_len);
    if (zcoap_ep_request_send(&c->ep, &b, 0, now) != ZCOAP_OK) {
        (void)zcoap_ep_cancel(&c->ep);
        return false; /* it did not fit: the 4.01 is reported */
    }
    c->echo_retried = true;
    c->plain_request = true;
    return true;
}

/* The driver loop of endpoint.h, then the timer. Queued datagrams go out before the events are
 * delivered, so what the endpoint owes the peer (the ACK of a separate response, a request whose
 * SENT event the application sees) is on the wire even if a callback closes the client. A
 * callback may start a request or close the client: a nested flush only asks the running one to
 * go round again. */
static void client_flush(zcoap_uv_client_t *c)
{
    if (c->closing || !c->connected)
        return; /* before the connection nothing can come in or go out */
    if (c->flushing) {
        c->flush_again = true;
        return;
    }
    c->flushing = true;
    do {
        c->flush_again = false;
        uint64_t now = uv_now(c->loop);
        zcoap_event_t ev;
        send_queued(c, now);
        while (!c->closing && zcoap_ep_process(&c->ep, now, &ev) == 1) {
            send_queued(c, now);
            if (echo_retry(c, &ev, now))
                continue; /* sent again with the Echo: the 4.01 is not the answer */
            if (obs_track(c, &ev) && zcoap__uv_transfer_track(c, &ev) && c->on_event != NULL)
                c->on_event(c, &ev);
        }
        if (c->closing)
            break;
        /* After the callbacks: a request the application started from the event that freed
         * the request slot goes first; a renewal or cancellation due waits for its end. */
        if (obs_send_due(c))
            c->flush_again = true;
        send_queued(c, now);
    } while (c->flush_again && !c->closing);
    c->flushing = false;
    if (c->closing)
        return;
    zcoap__uv_arm_timer(&c->timer, on_timer, &c->ep);
}

int zcoap_uv_client_init(uv_loop_t *loop, zcoap_uv_client_t *c, const zcoap_ep_config_t *cfg,
                         zcoap_uv_client_event_cb on_event)
{
    if (loop == NULL || c == NULL)
        return ZCOAP_EINVAL;
    void *data = c->data;
    memset(c, 0, sizeof(*c));
    c->data = data;
    c->loop = loop;
    c->on_event = on_event;
    zcoap_ep_config_t config;
    if (cfg != NULL)
        config = *cfg;
    else
        zcoap_ep_config_default(&config, NULL);
    int rc = ZCOAP_OK;
    if (config.req_buf == NULL && config.resp_store == NULL && config.dedup == NULL &&
        config.observations == NULL && config.resp_store_lend == NULL)
        rc = allocate_storage(c, &config);
    if (config.rng == NULL)
        config.rng = zcoap_uv_random;
    if (rc == ZCOAP_OK)
        rc = config.msg_cap >= ZCOAP_UV_CLIENT_RX_SIZE
                 ? ZCOAP_EINVAL /* a datagram the endpoint accepts must fit the receive buffer */
                 : zcoap_ep_init(&c->ep, &config, uv_now(loop));
    if (rc == ZCOAP_OK)
        rc = uv_udp_init(loop, &c->udp);
    if (rc != 0) {
        free(c->own_storage);
        c->own_storage = NULL;
        return rc;
    }
    c->udp.data = c;
    c->open_handles++;
    rc = uv_timer_init(loop, &c->timer);
    if (rc != 0) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->udp, on_handle_closed);
        return rc;
    }
    c->timer.data = c;
    c->open_handles++;
    return 0;
}

int zcoap_uv_client_bind(zcoap_uv_client_t *c, const struct sockaddr *local)
{
    if (c == NULL || local == NULL || (local->sa_family != AF_INET && local->sa_family != AF_INET6))
        return ZCOAP_EINVAL;
    if (c->closing || c->connected || c->resolving)
        return ZCOAP_ESTATE; /* connecting binds the socket already, by route */
    return uv_udp_bind(&c->udp, local, 0);
}

int zcoap_uv_client_connect(zcoap_uv_client_t *c, const struct sockaddr *addr)
{
    if (c == NULL || addr == NULL || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
        return ZCOAP_EINVAL;
    if (c->closing || c->connected)
        return ZCOAP_ESTATE;
    int rc = uv_udp_connect(&c->udp, addr);
    if (rc == 0)
        rc = uv_udp_recv_start(&c->udp, on_alloc, on_recv);
    if (rc != 0)
        return rc;
    memset(&c->peer_addr, 0, sizeof(c->peer_addr));
    memcpy(&c->peer_addr, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    c->connected = true;
    client_flush(c); /* anything queued before the connection goes out now */
    return 0;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    zcoap_uv_client_t *c = req->data;
    free(req);
    c->resolver = NULL;
    c->resolving = false;
    if (c->closing) {
        uv_freeaddrinfo(res);
        if (c->open_handles == 0)
            closed_fully(c);
        return;
    }
    int rc = status;
    if (rc == 0) {
        rc = UV_EAI_NONAME;
        for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
            if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
                continue;
            struct sockaddr_storage addr;
            memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
            if (ai->ai_family == AF_INET)
                ((struct sockaddr_in *)&addr)->sin_port = htons(c->port);
            else
                ((struct sockaddr_in6 *)&addr)->sin6_port = htons(c->port);
            rc = zcoap_uv_client_connect(c, (const struct sockaddr *)&addr);
            break;
        }
    }
    uv_freeaddrinfo(res);
    if (c->on_connect != NULL)
        c->on_connect(c, rc);
}

int zcoap_uv_client_connect_uri(zcoap_uv_client_t *c, const char *uri,
                                zcoap_uv_client_connect_cb cb)
{
    zcoap_uri_t parts;
    char host[256];
    if (c == NULL || uri == NULL)
        return ZCOAP_EINVAL;
    if (c->closing || c->connected || c->resolving)
        return ZCOAP_ESTATE;
    int rc = zcoap_uri_split(uri, strlen(uri), &parts);
    if (rc != ZCOAP_OK)
        return rc;
    if (parts.secure)
        return ZCOAP_ENOTSUP; /* coaps:// needs DTLS, which zcoap does not have yet */
    if (parts.host_len >= sizeof(host) || memchr(parts.host, '%', parts.host_len) != NULL)
        return ZCOAP_EURI_HOST; /* percent-encoded names and zones are not resolvable here */
    memcpy(host, parts.host, parts.host_len);
    host[parts.host_len] = '\0';
    c->port = parts.port;
    c->on_connect = cb;
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = parts.host_is_literal ? AI_NUMERICHOST : 0;
    /* Allocated per resolution: 160 bytes that clients given an address never need. */
    c->resolver = malloc(sizeof(*c->resolver));
    if (c->resolver == NULL)
        return ZCOAP_ENOSPC;
    c->resolver->data = c;
    rc = uv_getaddrinfo(c->loop, c->resolver, on_resolved, host, NULL, &hints);
    if (rc == 0) {
        c->resolving = true;
    } else {
        free(c->resolver);
        c->resolver = NULL;
    }
    return rc;
}

int zcoap_uv_client_request(zcoap_uv_client_t *c, uint8_t type, uint8_t method, const char *uri,
                            const void *payload, size_t payload_len)
{
    if (c == NULL)
        return ZCOAP_EINVAL;
    if (c->closing || !c->connected || c->hook.running)
        return ZCOAP_ESTATE; /* nowhere to send it yet, or the hook is mid-datagram */
    int rc = zcoap_ep_request_uri(&c->ep, type, method, uri, payload, payload_len, uv_now(c->loop));
    if (rc == ZCOAP_OK) {
        c->plain_request = true;
        c->echo_retried = false;
        client_flush(c);
    }
    return rc;
}

int zcoap_uv_client_ping(zcoap_uv_client_t *c)
{
    if (c == NULL)
        return ZCOAP_EINVAL;
    if (c->closing || !c->connected || c->hook.running)
        return ZCOAP_ESTATE;
    int rc = zcoap_ep_ping(&c->ep, uv_now(c->loop));
    if (rc == ZCOAP_OK)
        client_flush(c);
    return rc;
}

int zcoap_uv_client_observe(zcoap_uv_client_t *c, const char *uri, uint32_t tag)
{
    if (c == NULL || uri == NULL || tag == 0)
        return ZCOAP_EINVAL; /* tag 0 is what plain requests' events carry */
    if (c->closing || !c->connected || c->hook.running)
        return ZCOAP_ESTATE;
    size_t len = strlen(uri);
    if (len >= ZCOAP_UV_CLIENT_OBS_URI_SIZE)
        return ZCOAP_ENOSPC;
    zcoap_uri_t parts;
    int rc = zcoap_uri_split(uri, len, &parts); /* a bad URI touches nothing */
    if (rc != ZCOAP_OK)
        return rc;
    zcoap__uv_observation_t *o = obs_find(c, tag);
    if (o != NULL && o->cancel_due)
        return ZCOAP_EBUSY; /* its GET with Observe 1 goes first */
    if (o == NULL && c->obs == NULL) {
        c->obs = calloc(ZCOAP_UV_CLIENT_OBSERVATIONS, sizeof(*c->obs)); /* tag 0: free */
        if (c->obs == NULL)
            return ZCOAP_ENOSPC;
    }
    if (o == NULL && (o = obs_find(c, 0)) == NULL)
        return ZCOAP_ENOSPC;
    rc = send_registration(c, tag, uri);
    if (rc != ZCOAP_OK)
        return rc;
    o->tag = tag;
    o->renew_due = false;
    memcpy(o->uri, uri, len + 1);
    client_flush(c);
    return 0;
}

int zcoap_uv_client_observe_cancel(zcoap_uv_client_t *c, uint32_t tag, bool active)
{
    if (c == NULL || tag == 0)
        return ZCOAP_EINVAL;
    if (c->closing || !c->connected || c->hook.running)
        return ZCOAP_ESTATE;
    zcoap__uv_observation_t *o = obs_find(c, tag);
    if (o == NULL)
        return ZCOAP_ENOTFOUND;
    if (!active) {
        (void)zcoap_ep_observe_cancel(&c->ep, tag, NULL); /* the next notification gets RST */
        obs_forget(o);
        return 0;
    }
    o->cancel_due = true;
    o->renew_due = false;
    client_flush(c); /* the GET goes now if no request is in flight (from a callback: after it) */
    return 0;
}

bool zcoap_uv_client_observing(const zcoap_uv_client_t *c, uint32_t tag)
{
    return c != NULL && zcoap_ep_observing(&c->ep, tag);
}

zcoap_ep_t *zcoap_uv_client_endpoint(zcoap_uv_client_t *c)
{
    return c != NULL ? &c->ep : NULL;
}

void zcoap__uv_client_flush(zcoap_uv_client_t *c)
{
    client_flush(c);
}

void zcoap_uv_client_flush(zcoap_uv_client_t *c)
{
    if (c != NULL && !c->hook.running) /* from the hook: the running flush or receive goes on */
        client_flush(c);
}

const zcoap_uv_client_stats_t *zcoap_uv_client_stats(const zcoap_uv_client_t *c)
{
    return c != NULL ? &c->stats : NULL;
}

void zcoap_uv_client_set_hook(zcoap_uv_client_t *c, zcoap_uv_datagram_hook_fn hook, void *ctx)
{
    if (c == NULL)
        return;
    c->hook.fn = hook;
    c->hook.ctx = ctx;
}

void zcoap_uv_client_close(zcoap_uv_client_t *c, zcoap_uv_client_close_cb cb)
{
    if (c == NULL || c->closing)
        return;
    c->closing = true; /* first: a close from the hook while the queue drains does nothing */
    c->on_close = cb;
    /* What the endpoint owes the peer still goes out, unless a flush is under way (it sends it)
     * or the hook is looking at a received datagram (the last flush sent it, and the hook is
     * not called inside itself). */
    if (c->connected && !c->flushing && !c->hook.running)
        send_queued(c, uv_now(c->loop));
    zcoap_ep_reset(&c->ep, uv_now(c->loop)); /* no event after close */
    for (size_t i = 0; c->obs != NULL && i < ZCOAP_UV_CLIENT_OBSERVATIONS; i++)
        obs_forget(&c->obs[i]); /* nothing is renewed or cancelled after close */
    if (c->xfer != NULL)
        c->xfer->active = false; /* nor reported */
    if (c->resolving)
        (void)uv_cancel((uv_req_t *)c->resolver); /* on_resolved still runs, with ECANCELED */
    if (c->open_handles == 0) {
        /* init failed half-way or closed already: nothing to wait for */
        if (!c->resolving)
            closed_fully(c);
        return;
    }
    uv_close((uv_handle_t *)&c->udp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}
