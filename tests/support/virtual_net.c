/* The simulated link: a bag of datagrams in flight with delivery times, a virtual clock, and the
 * driver loop of endpoint.h. Deterministic for a given seed and sequence of calls. */
#include "virtual_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A driver that drains more than this many events or datagrams at one instant has found an
 * endpoint that never settles; stop rather than spin forever (the test then fails on the log). */
#define VNET_RUNAWAY 100000u

static void *grow(void *arr, size_t *cap, size_t elem, size_t need)
{
    if (need <= *cap)
        return arr;
    size_t cap2 = *cap ? *cap * 2 : 16;
    while (cap2 < need)
        cap2 *= 2;
    void *p = realloc(arr, cap2 * elem);
    if (p == NULL) {
        fprintf(stderr, "virtual_net: out of memory\n");
        abort();
    }
    *cap = cap2;
    return p;
}

static uint8_t *copy_bytes(const uint8_t *data, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    if (p == NULL) {
        fprintf(stderr, "virtual_net: out of memory\n");
        abort();
    }
    if (len)
        memcpy(p, data, len);
    return p;
}

void vnet_init(vnet_t *n, uint64_t seed, uint64_t start_ms)
{
    memset(n, 0, sizeof(*n));
    n->now = start_ms;
    test_rng_seed(&n->rng, seed);
    for (int i = 0; i < VNET_NODES; i++)
        n->node[i].app_timer = ZCOAP_NEVER;
}

void vnet_free(vnet_t *n)
{
    vnet_drop_in_flight(n);
    free(n->flight);
    n->flight = NULL;
    n->flight_cap = 0;
    for (int i = 0; i < VNET_NODES; i++) {
        vnet_clear_log(n, i);
        vnet_clear_inbox(n, i);
        free(n->node[i].log);
        free(n->node[i].inbox);
        free(n->node[i].rx_keep);
        n->node[i].log = NULL;
        n->node[i].inbox = NULL;
        n->node[i].rx_keep = NULL;
        n->node[i].log_cap = n->node[i].inbox_cap = 0;
    }
}

void vnet_attach(vnet_t *n, int node, zcoap_ep_t *ep)
{
    n->node[node].ep = ep;
}

void vnet_set_app(vnet_t *n, int node, const vnet_app_t *app)
{
    n->node[node].app = *app;
}

void vnet_set_link(vnet_t *n, int from, const vnet_link_t *link)
{
    n->node[from].out = *link;
}

void vnet_set_timer(vnet_t *n, int node, uint64_t at)
{
    n->node[node].app_timer = at;
}

uint64_t vnet_now(const vnet_t *n)
{
    return n->now;
}

/* ---- the link ------------------------------------------------------------------------------ */

static void put_in_flight(vnet_t *n, int to, const uint8_t *data, size_t len, uint64_t delay)
{
    n->flight = grow(n->flight, &n->flight_cap, sizeof(*n->flight), n->flight_len + 1);
    vnet_dgram_t *d = &n->flight[n->flight_len++];
    d->at = n->now + delay;
    d->sent = n->now;
    d->seq = n->seq++;
    d->to = to;
    d->data = copy_bytes(data, len);
    d->len = len;
}

static uint64_t link_delay(vnet_t *n, const vnet_link_t *l)
{
    uint32_t hi = l->delay_max_ms > l->delay_min_ms ? l->delay_max_ms : l->delay_min_ms;
    uint64_t delay = test_rng_range(&n->rng, l->delay_min_ms, hi);
    if (l->reorder_pct && test_rng_chance(&n->rng, l->reorder_pct) && l->reorder_ms > 0)
        delay += test_rng_range(&n->rng, 1, l->reorder_ms);
    return delay;
}

void vnet_send(vnet_t *n, int from, const uint8_t *data, size_t len)
{
    const vnet_link_t *l = &n->node[from].out;
    vnet_node_t *src = &n->node[from];
    src->sent++;
    if (len > src->max_sent_len)
        src->max_sent_len = len;
    if (src->app.on_send)
        src->app.on_send(n, from, data, len, src->app.ctx);
    if (l->loss_pct && test_rng_chance(&n->rng, l->loss_pct))
        return;
    int copies = (l->dup_pct && test_rng_chance(&n->rng, l->dup_pct)) ? 2 : 1;
    for (int c = 0; c < copies; c++)
        put_in_flight(n, 1 - from, data, len, link_delay(n, l));
}

void vnet_drop_in_flight(vnet_t *n)
{
    for (size_t i = 0; i < n->flight_len; i++)
        free(n->flight[i].data);
    n->flight_len = 0;
}

/* Remove and return the earliest datagram due at or before now (ties: the one sent first). */
static bool take_due(vnet_t *n, vnet_dgram_t *out)
{
    size_t best = n->flight_len;
    for (size_t i = 0; i < n->flight_len; i++) {
        const vnet_dgram_t *d = &n->flight[i];
        if (d->at > n->now)
            continue;
        if (best == n->flight_len || d->at < n->flight[best].at ||
            (d->at == n->flight[best].at && d->seq < n->flight[best].seq))
            best = i;
    }
    if (best == n->flight_len)
        return false;
    *out = n->flight[best];
    n->flight[best] = n->flight[--n->flight_len];
    return true;
}

/* ---- the driver ---------------------------------------------------------------------------- */

static void log_event(vnet_t *n, vnet_node_t *nd, const zcoap_event_t *ev)
{
    nd->log = grow(nd->log, &nd->log_cap, sizeof(*nd->log), nd->log_len + 1);
    vnet_event_rec_t *r = &nd->log[nd->log_len++];
    memset(r, 0, sizeof(*r));
    r->at = n->now;
    r->kind = ev->kind;
    r->err = ev->err;
    r->tag = ev->tag;
    r->has_msg = ev->has_msg;
    if (!ev->has_msg || ev->msg.data == NULL)
        return;
    /* Move the view onto a private copy: same offsets, new base. */
    const uint8_t *base = ev->msg.data;
    r->msg = ev->msg;
    r->msg_data = copy_bytes(base, ev->msg.len);
    r->msg.data = r->msg_data;
    if (ev->msg.token)
        r->msg.token = r->msg_data + (ev->msg.token - base);
    if (ev->msg.opts)
        r->msg.opts = r->msg_data + (ev->msg.opts - base);
    if (ev->msg.payload)
        r->msg.payload = r->msg_data + (ev->msg.payload - base);
}

/* Events and datagrams of one endpoint, until it has nothing more to say at "now". */
static bool drain(vnet_t *n, int node)
{
    vnet_node_t *nd = &n->node[node];
    if (nd->ep == NULL)
        return false;
    bool any = false;
    for (unsigned rounds = 0; rounds < VNET_RUNAWAY; rounds++) {
        bool did = false;
        zcoap_event_t ev;
        while (zcoap_ep_process(nd->ep, n->now, &ev) == 1) {
            log_event(n, nd, &ev);
            if (nd->app.on_event)
                nd->app.on_event(n, node, &ev, nd->app.ctx);
            did = true;
            if (nd->log_len > VNET_RUNAWAY * 10u) {
                nd->stuck++;
                return any;
            }
        }
        const uint8_t *p = NULL;
        ptrdiff_t len;
        while ((len = zcoap_ep_next_datagram(nd->ep, n->now, &p)) > 0) {
            if ((size_t)len > nd->ep->cfg.msg_cap)
                nd->oversized++;
            vnet_send(n, node, p, (size_t)len);
            did = true;
        }
        if (len < 0)
            nd->datagram_errs++;
        if (!did)
            return any;
        any = true;
    }
    nd->stuck++;
    return any;
}

static void deliver(vnet_t *n, vnet_dgram_t *d)
{
    vnet_node_t *nd = &n->node[d->to];
    if (nd->ep == NULL) {
        nd->inbox = grow(nd->inbox, &nd->inbox_cap, sizeof(*nd->inbox), nd->inbox_len + 1);
        d->at = n->now;
        nd->inbox[nd->inbox_len++] = *d; /* the inbox owns the bytes now */
        return;
    }
    /* Event views point into the datagram until the next receive: keep it until then. */
    free(nd->rx_keep);
    nd->rx_keep = d->data;
    zcoap_ep_receive(nd->ep, d->data, d->len, n->now);
    drain(n, d->to);
}

void vnet_pump(vnet_t *n)
{
    for (unsigned rounds = 0; rounds < VNET_RUNAWAY; rounds++) {
        bool did = false;
        for (int i = 0; i < VNET_NODES; i++)
            did |= drain(n, i);
        for (int i = 0; i < VNET_NODES; i++) {
            vnet_node_t *nd = &n->node[i];
            if (nd->app_timer <= n->now) {
                nd->app_timer = ZCOAP_NEVER;
                if (nd->app.on_timer)
                    nd->app.on_timer(n, i, nd->app.ctx);
                did = true;
            }
        }
        vnet_dgram_t d;
        if (take_due(n, &d)) {
            deliver(n, &d);
            did = true;
        }
        if (!did)
            break;
    }
    /* Invariant: once processed at "now", an endpoint has nothing due at or before "now". */
    for (int i = 0; i < VNET_NODES; i++) {
        vnet_node_t *nd = &n->node[i];
        if (nd->ep && zcoap_ep_next_deadline(nd->ep) <= n->now)
            nd->past_deadline++;
    }
}

uint64_t vnet_next_time(const vnet_t *n)
{
    uint64_t t = ZCOAP_NEVER;
    for (size_t i = 0; i < n->flight_len; i++)
        if (n->flight[i].at < t)
            t = n->flight[i].at;
    for (int i = 0; i < VNET_NODES; i++) {
        const vnet_node_t *nd = &n->node[i];
        if (nd->ep) {
            uint64_t d = zcoap_ep_next_deadline(nd->ep);
            if (d < t)
                t = d;
        }
        if (nd->app_timer < t)
            t = nd->app_timer;
    }
    return t;
}

/* The next instant worth visiting: a deadline already past (an endpoint bug, counted in
 * past_deadline) must not freeze the clock. */
static uint64_t next_instant(const vnet_t *n)
{
    uint64_t t = vnet_next_time(n);
    if (t != ZCOAP_NEVER && t <= n->now)
        t = n->now + 1;
    return t;
}

bool vnet_step(vnet_t *n, uint64_t limit)
{
    vnet_pump(n);
    uint64_t t = next_instant(n);
    if (t <= limit) {
        n->now = t;
        return true;
    }
    if (limit != ZCOAP_NEVER && limit > n->now) {
        n->now = limit;
        vnet_pump(n);
    }
    return false;
}

void vnet_run_until(vnet_t *n, uint64_t t)
{
    while (vnet_step(n, t)) {
    }
}

bool vnet_run_idle(vnet_t *n, uint64_t limit)
{
    for (;;) {
        vnet_pump(n);
        uint64_t t = next_instant(n);
        if (t == ZCOAP_NEVER)
            return true;
        if (t > limit)
            return false;
        n->now = t;
    }
}

/* ---- logs ---------------------------------------------------------------------------------- */

void vnet_clear_log(vnet_t *n, int node)
{
    vnet_node_t *nd = &n->node[node];
    for (size_t i = 0; i < nd->log_len; i++)
        free(nd->log[i].msg_data);
    nd->log_len = 0;
}

void vnet_clear_inbox(vnet_t *n, int node)
{
    vnet_node_t *nd = &n->node[node];
    for (size_t i = 0; i < nd->inbox_len; i++)
        free(nd->inbox[i].data);
    nd->inbox_len = 0;
}

size_t vnet_count_events(const vnet_t *n, int node, zcoap_event_kind_t kind)
{
    size_t c = 0;
    for (size_t i = 0; i < n->node[node].log_len; i++)
        c += n->node[node].log[i].kind == kind;
    return c;
}

const vnet_event_rec_t *vnet_find_event(const vnet_t *n, int node, zcoap_event_kind_t kind)
{
    for (size_t i = 0; i < n->node[node].log_len; i++)
        if (n->node[node].log[i].kind == kind)
            return &n->node[node].log[i];
    return NULL;
}

void vnet_format_log(const vnet_t *n, int node, size_t from, char *out, size_t cap)
{
    size_t used = 0;
    if (cap == 0)
        return;
    out[0] = '\0';
    for (size_t i = from; i < n->node[node].log_len && used + 1 < cap; i++) {
        const vnet_event_rec_t *r = &n->node[node].log[i];
        int w = snprintf(out + used, cap - used, "%st=%llu %s", i > from ? ", " : "",
                         (unsigned long long)r->at, zcoap_event_name(r->kind));
        if (w < 0)
            break;
        used += (size_t)w;
        if (r->err && used + 1 < cap) {
            w = snprintf(out + used, cap - used, "(%s)", zcoap_err_name(r->err));
            if (w < 0)
                break;
            used += (size_t)w;
        }
    }
}

/* ---- random sources ------------------------------------------------------------------------ */

int vnet_rng(void *ctx, uint8_t *out, size_t len)
{
    test_rng_fill(ctx, out, len);
    return 0;
}

int vnet_rng_const(void *ctx, uint8_t *out, size_t len)
{
    memset(out, *(const uint8_t *)ctx, len);
    return 0;
}

int vnet_rng_fail(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    (void)out;
    (void)len;
    return -1;
}
