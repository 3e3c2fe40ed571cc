/* A CoAP server on one uv_udp_t: datagrams are routed by source address (hash, O(1)) to per-peer
 * endpoints from a pool allocated once at start; each peer has one uv_timer_t (libuv keeps timers
 * in a heap, so 100,000 of them cost O(log n) each) and runs the driver loop of endpoint.h. The
 * socket is read by recvmmsg, many datagrams per system call, into one buffer allocated at start
 * (or by recvmsg, one at a time). Requests go to server_dispatch.c, block-wise transfers (RFC
 * 7959) are in server_block.c, Observe (RFC 7641) in server_observe.c, binding and the receive
 * buffer in server_socket.c. */
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

/* The slice libuv's recvmmsg path gives each datagram (its UV__UDP_DGRAM_MAXSIZE, private): a
 * buffer shorter than one slice would make it read nothing, forever. */
#define RECV_SLICE (64u * 1024u)

void zcoap_uv_server_config_default(zcoap_uv_server_config_t *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_peers = 1024;
    cfg->msg_cap = ZCOAP_MAX_MSG_SIZE;
    cfg->resp_slots = 2; /* see uv.h: the next request while a CON awaits its ACK */
    cfg->dedup_cap = 8;
    cfg->tx.ack_timeout_ms = ZCOAP_ACK_TIMEOUT_MS;
    cfg->tx.ack_random_factor_permil = 1500;
    cfg->tx.max_retransmit = ZCOAP_MAX_RETRANSMIT;
    cfg->tx.max_latency_ms = ZCOAP_MAX_LATENCY_MS;
    cfg->auto_ack_ms = 500;
    cfg->busy_max_age_s = 10;
    cfg->recv_buffer_size = 4u << 20;
    cfg->recvmmsg = true; /* faster under load, the same otherwise: bench/README.md */
    cfg->max_observers = 256;
    cfg->obs_policy.con_every = 0; /* NON, and a CON at least every 24 hours (RFC 7641 §4.5) */
    cfg->obs_policy.con_max_interval_s = ZCOAP_OBS_CON_MAX_INTERVAL_S;
    cfg->block_szx = ZCOAP_BLOCK_SZX_MAX; /* 1024-byte blocks (RFC 7959 §2.2) */
    cfg->max_body = 1u << 20;
    cfg->amplification_limit = true; /* RFC 9175 §2.4 item 3 */
    cfg->amplification_factor = 3;
    cfg->echo_lifetime_ms = 60000;
}

/* ---- peers by address ------------------------------------------------------------------------ */

/* The bytes that identify a peer: family, port and address (not the sin6 flow info). */
static size_t addr_key(const struct sockaddr_storage *a, uint8_t key[2 + 2 + 16 + 4])
{
    size_t n = 0;
    key[n++] = (uint8_t)a->ss_family;
    key[n++] = (uint8_t)(a->ss_family >> 8);
    if (a->ss_family == AF_INET6) {
        struct sockaddr_in6 v6;
        memcpy(&v6, a, sizeof(v6));
        memcpy(key + n, &v6.sin6_port, 2);
        memcpy(key + n + 2, &v6.sin6_addr, 16);
        memcpy(key + n + 18, &v6.sin6_scope_id, 4);
        return n + 22;
    }
    struct sockaddr_in v4;
    memcpy(&v4, a, sizeof(v4));
    memcpy(key + n, &v4.sin_port, 2);
    memcpy(key + n + 2, &v4.sin_addr, 4);
    return n + 6;
}

static uint32_t addr_hash(const struct sockaddr_storage *a)
{
    uint8_t key[24];
    size_t n = addr_key(a, key);
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ key[i]) * 16777619u;
    return h;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    uint8_t ka[24];
    uint8_t kb[24];
    size_t na = addr_key(a, ka);
    return na == addr_key(b, kb) && memcmp(ka, kb, na) == 0;
}

static uint32_t bucket_of(const zcoap_uv_server_t *s, const struct sockaddr_storage *a)
{
    return addr_hash(a) & (uint32_t)(s->n_buckets - 1u); /* n_buckets is a power of two */
}

static zcoap_uv_peer_t *find_peer(zcoap_uv_server_t *s, const struct sockaddr_storage *a)
{
    uint32_t i = s->buckets[bucket_of(s, a)];
    while (i != 0) {
        zcoap_uv_peer_t *p = &s->peers[i - 1u];
        if (same_addr(&p->addr, a))
            return p;
        i = p->hash_next;
    }
    return NULL;
}

static void on_peer_timer(uv_timer_t *t)
{
    zcoap__uv_peer_flush(t->data);
}

static zcoap_uv_peer_t *new_peer(zcoap_uv_server_t *s, const struct sockaddr_storage *a)
{
    /* Recycled slots first; then slots never used, so a large pool costs memory only as far as
     * it is used (its pages are not touched before). */
    bool recycled = s->free_head != 0;
    uint32_t index;
    if (recycled)
        index = s->free_head - 1u;
    else if (s->next_unused < s->cfg.max_peers)
        index = s->next_unused;
    else
        return NULL;
    zcoap_uv_peer_t *p = &s->peers[index];
    if (!p->timer_ready) {
        if (uv_timer_init(s->loop, &p->timer) != 0)
            return NULL;
        p->timer.data = p;
        p->timer_ready = true;
        s->open_handles++;
    }
    zcoap_ep_config_t cfg;
    zcoap_ep_config_default(&cfg, NULL);
    cfg.tx = s->cfg.tx;
    cfg.auto_ack_ms = s->cfg.auto_ack_ms;
    cfg.msg_cap = s->cfg.msg_cap;
    cfg.req_buf = s->shared_req;
    cfg.resp_store = s->buffers + (size_t)index * s->cfg.resp_slots * s->cfg.msg_cap;
    cfg.resp_slots = s->cfg.resp_slots;
    cfg.dedup = s->dedup + (size_t)index * s->cfg.dedup_cap;
    cfg.dedup_cap = s->cfg.dedup_cap;
    cfg.rng = zcoap_uv_random;
    p->data = NULL;
    if (zcoap_ep_init(&p->ep, &cfg, uv_now(s->loop)) != ZCOAP_OK)
        return NULL;
    if (recycled)
        s->free_head = p->free_next;
    else
        s->next_unused++;
    p->server = s;
    p->addr = *a;
    p->in_use = true;
    p->flushing = p->flush_again = false;
    p->observers = p->obs_head = p->obs_pending = p->obs_answer = 0;
    memset(&p->blocks, 0, sizeof(p->blocks));
    memset(&p->echo, 0, sizeof(p->echo)); /* a new address: not verified */
    uint32_t bucket = bucket_of(s, a);
    p->hash_next = s->buckets[bucket];
    s->buckets[bucket] = index + 1u;
    s->stats.peers_created++;
    s->stats.peers_in_use++;
    return p;
}

/* An idle peer whose de-duplication windows have ended holds nothing: its slot goes back. */
static void release_peer(zcoap_uv_peer_t *p)
{
    zcoap_uv_server_t *s = p->server;
    uint32_t index = (uint32_t)(p - s->peers);
    uint32_t *link = &s->buckets[bucket_of(s, &p->addr)];
    while (*link != 0 && *link != index + 1u)
        link = &s->peers[*link - 1u].hash_next;
    if (*link == index + 1u)
        *link = p->hash_next;
    (void)uv_timer_stop(&p->timer);
    p->in_use = false;
    p->free_next = s->free_head;
    s->free_head = index + 1u;
    s->stats.peers_recycled++;
    s->stats.peers_in_use--;
}

/* ---- sending, the driver loop ---------------------------------------------------------------- */

/* The way out to one address, through the hook, counting into the server's stats. */
static zcoap__uv_tx_t tx_to(zcoap_uv_server_t *s, const struct sockaddr_storage *to)
{
    const zcoap__uv_tx_t tx = {.udp = &s->udp,
                               .to = (const struct sockaddr *)to,
                               .peer = (const struct sockaddr *)to,
                               .hook = &s->hook,
                               .datagrams_out = &s->stats.datagrams_out,
                               .send_errors = &s->stats.send_errors,
                               .hook_dropped_out = &s->stats.hook_dropped_out,
                               .last_error = NULL,
                               .batch = s->tx_batch};
    return tx;
}

static void send_to(zcoap_uv_server_t *s, const struct sockaddr_storage *to, const uint8_t *p,
                    size_t n)
{
    const zcoap__uv_tx_t tx = tx_to(s, to);
    (void)zcoap__uv_send(&tx, p, n);
}

void zcoap__uv_peer_send_queued(zcoap_uv_peer_t *peer, uint64_t now)
{
    const zcoap__uv_tx_t tx = tx_to(peer->server, &peer->addr);
    zcoap__uv_send_queued(&peer->ep, now, &tx);
}

/* The driver loop of endpoint.h for one peer, then its timer, or its release when idle. */
void zcoap__uv_peer_flush(zcoap_uv_peer_t *peer)
{
    zcoap_uv_server_t *s = peer->server;
    if (s->closing || !peer->in_use)
        return;
    if (peer->flushing) {
        peer->flush_again = true;
        return;
    }
    peer->flushing = true;
    do {
        peer->flush_again = false;
        uint64_t now = uv_now(s->loop);
        zcoap_event_t ev;
        bool any_event = false;
        zcoap__uv_peer_send_queued(peer, now);
        while (!s->closing && zcoap_ep_process(&peer->ep, now, &ev) == 1) {
            any_event = true;
            zcoap__uv_peer_send_queued(peer, now);
            if (ev.kind == ZCOAP_EV_IN_REQUEST)
                zcoap__uv_dispatch(peer, &ev.msg);
            if (peer->observers > 0 && !s->closing)
                zcoap__uv_obs_on_event(peer, &ev);
        }
        if (s->closing)
            break;
        zcoap__uv_peer_send_queued(peer, now);
        /* An exchange may have ended (every end is an event): observers that waited for it get
         * the newest state now. */
        if (any_event && peer->obs_pending > 0)
            zcoap__uv_obs_serve_pending(peer);
    } while (peer->flush_again && !s->closing);
    peer->flushing = false;
    if (s->closing)
        return;
    if (zcoap_ep_next_deadline(&peer->ep) == ZCOAP_NEVER && zcoap_ep_is_idle(&peer->ep) &&
        peer->data == NULL && peer->observers == 0) {
        release_peer(peer);
        return;
    }
    zcoap__uv_arm_timer(&peer->timer, on_peer_timer, &peer->ep);
}

static void answer_stateless(zcoap_uv_server_t *s, const struct sockaddr_storage *from,
                             const uint8_t *d, size_t len);

/* No slot is free: answer a request 5.03 with Max-Age without keeping any state (RFC 7252
 * §5.9.3.4), rather than dropping a live exchange of another peer. A malformed one gets what it
 * would get from a peer: RST for a CON (§4.2), else nothing. */
static void answer_busy(zcoap_uv_server_t *s, const struct sockaddr_storage *from,
                        const uint8_t *dgram, size_t len)
{
    zcoap_msg_t req;
    zcoap_builder_t b;
    uint8_t out[64];
    uint8_t mid[2] = {0, 0};
    if (zcoap_msg_parse(&req, dgram, len) != ZCOAP_OK) {
        answer_stateless(s, from, dgram, len);
        return;
    }
    (void)zcoap_uv_random(NULL, mid, sizeof(mid));
    (void)zcoap_builder_init_response(&b, out, sizeof(out), &req, ZCOAP_SERVICE_UNAVAILABLE,
                                      (uint16_t)((mid[0] << 8) | mid[1]));
    (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_MAX_AGE, s->cfg.busy_max_age_s);
    ptrdiff_t n = zcoap_builder_finish(&b);
    if (n > 0)
        send_to(s, from, out, (size_t)n);
    s->stats.pool_full++;
}

/* Only a request (CON or NON, version 1) opens an exchange that needs a peer. */
static bool opens_exchange(const uint8_t *d, size_t len)
{
    uint8_t type = (uint8_t)((d[0] >> 4) & 0x03u);
    return len >= 4 && (d[0] >> 6) == 1u && (type == ZCOAP_TYPE_CON || type == ZCOAP_TYPE_NON) &&
           d[1] != ZCOAP_CODE_EMPTY && (d[1] >> 5) == 0u;
}

/* Anything else from an address without a peer needs no state: a ping, or a CON we have no
 * context for, gets RST (RFC 7252 §4.2, §4.3); ACK and RST match nothing and are ignored; a NON
 * non-request may be ignored (§4.3), and is, which gives a spoofing peer nothing to amplify;
 * other versions and runts are ignored (§3). */
static void answer_stateless(zcoap_uv_server_t *s, const struct sockaddr_storage *from,
                             const uint8_t *d, size_t len)
{
    s->stats.stateless++;
    if (len < 4 || (d[0] >> 6) != 1u || ((d[0] >> 4) & 0x03u) != ZCOAP_TYPE_CON)
        return;
    uint8_t rst[4];
    ptrdiff_t n =
        zcoap_build_empty(rst, sizeof(rst), ZCOAP_TYPE_RST, (uint16_t)((d[2] << 8) | d[3]));
    if (n > 0)
        send_to(s, from, rst, (size_t)n);
}

/* The server's own storage, the same every time: one datagram's worth, or with recvmmsg the
 * batch buffer that libuv slices (both allocated at start, never here). */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    zcoap_uv_server_t *s = h->data;
    (void)suggested;
    if (s->rx_batch != NULL)
        *buf = uv_buf_init((char *)s->rx_batch, ZCOAP_UV_SERVER_RECV_BATCH * RECV_SLICE);
    else
        *buf = uv_buf_init((char *)s->rx, sizeof(s->rx));
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    zcoap_uv_server_t *s = h->data;
    if (s->closing)
        return;
    if (nread < 0) {
        s->stats.recv_errors++;
        return;
    }
    /* 0: the socket is drained, or (UV_UDP_MMSG_FREE) a recvmmsg batch is done, its buffer
     * ours again; nothing to free. The answers to the batch go out now, in one call. */
    if (nread == 0 || addr == NULL) {
        zcoap__uv_send_batch_flush(s->tx_batch, &s->udp);
        return;
    }
    if ((flags & UV_UDP_MMSG_CHUNK) != 0)
        zcoap__uv_send_batch_open(s->tx_batch); /* libuv ends the batch with a call of 0 */
    /* A datagram larger than the receive buffer still gets its answer, 4.13 with Size1 (RFC
     * 7252 §5.9.2.9, RFC 7959 §2.9.3), not silence, which would leave its sender retransmitting
     * for MAX_TRANSMIT_WAIT: its first sizeof(rx) bytes hold the header, token and options, and
     * anything over msg_cap (< sizeof(rx)) makes the endpoint answer 4.13. A plain read stops
     * there (UV_UDP_PARTIAL); a recvmmsg slice of 64 KiB is cut to the same length, so both
     * modes see the same bytes. */
    if ((flags & UV_UDP_PARTIAL) != 0 || (size_t)nread > sizeof(s->rx)) {
        s->stats.truncated++;
        if ((size_t)nread > sizeof(s->rx))
            nread = (ssize_t)sizeof(s->rx);
    }
    if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
        return;
    if (s->hook.fn != NULL) {
        bool pass = zcoap__uv_hook_passes(&s->hook, ZCOAP_UV_DATAGRAM_IN, addr,
                                          (const uint8_t *)buf->base, (size_t)nread);
        if (s->closing)
            return; /* the hook closed the server */
        if (!pass) {
            s->stats.hook_dropped_in++; /* before routing: it reaches no peer, creates none */
            return;
        }
    }
    s->stats.datagrams_in++;
    struct sockaddr_storage from;
    memset(&from, 0, sizeof(from));
    memcpy(&from, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    const uint8_t *d = (const uint8_t *)buf->base;
    zcoap_uv_peer_t *peer = find_peer(s, &from);
    if (peer == NULL) {
        if (!opens_exchange(d, (size_t)nread)) {
            answer_stateless(s, &from, d, (size_t)nread);
            return;
        }
        peer = new_peer(s, &from);
    }
    if (peer == NULL) {
        answer_busy(s, &from, d, (size_t)nread);
        return;
    }
    (void)zcoap_ep_receive(&peer->ep, (const uint8_t *)buf->base, (size_t)nread, uv_now(s->loop));
    zcoap__uv_peer_flush(peer);
}

/* Everything zcoap_uv_server_start() allocated (each pointer may be NULL). */
static void free_storage(zcoap_uv_server_t *s)
{
    free(s->peers);
    free(s->buffers);
    free(s->dedup);
    free(s->shared_req);
    free(s->buckets);
    free(s->rx_batch);
    free(s->tx_batch);
    s->tx_batch = NULL;
    s->peers = NULL;
    s->buffers = NULL;
    s->dedup = NULL;
    s->shared_req = NULL;
    s->buckets = NULL;
    s->rx_batch = NULL;
    zcoap__uv_obs_free(s);
}

int zcoap_uv_server_start(uv_loop_t *loop, zcoap_uv_server_t *s, const struct sockaddr *addr,
                          const zcoap_uv_server_config_t *cfg)
{
    if (loop == NULL || s == NULL || addr == NULL || cfg == NULL || cfg->max_peers == 0 ||
        cfg->max_peers > 0x7FFFFFFFu || cfg->msg_cap >= ZCOAP_UV_CLIENT_RX_SIZE ||
        cfg->msg_cap < 16 || cfg->resp_slots == 0 || cfg->resp_slots > 127 || cfg->dedup_cap == 0 ||
        cfg->dedup_cap > 127 || (cfg->resources == NULL && cfg->n_resources > 0) ||
        cfg->max_observers > ZCOAP__UV_OBS_MAX_OBSERVERS || cfg->block_szx > ZCOAP_BLOCK_SZX_MAX ||
        (cfg->amplification_limit && cfg->amplification_factor == 0))
        return ZCOAP_EINVAL;
    void *data = s->data;
    memset(s, 0, sizeof(*s));
    s->data = data;
    s->loop = loop;
    s->cfg = *cfg;
    s->block_szx = zcoap__uv_block_szx(cfg);
    s->n_buckets = 1;
    while (s->n_buckets < 2u * cfg->max_peers)
        s->n_buckets <<= 1;
    /* Everything the pool needs, once: never per datagram. */
    s->peers = calloc(cfg->max_peers, sizeof(*s->peers));
    s->buffers = malloc(cfg->max_peers * cfg->resp_slots * cfg->msg_cap);
    s->dedup = calloc(cfg->max_peers * cfg->dedup_cap, sizeof(*s->dedup));
    s->shared_req = malloc(cfg->msg_cap);
    s->buckets = calloc(s->n_buckets, sizeof(*s->buckets));
    if (cfg->recvmmsg)
        s->rx_batch = malloc(ZCOAP_UV_SERVER_RECV_BATCH * RECV_SLICE); /* touched as used */
    if (s->peers == NULL || s->buffers == NULL || s->dedup == NULL || s->shared_req == NULL ||
        s->buckets == NULL || (cfg->recvmmsg && s->rx_batch == NULL) || !zcoap__uv_obs_alloc(s)) {
        free_storage(s);
        return ZCOAP_ENOSPC;
    }
    s->free_head = 0; /* nothing recycled yet; new_peer() takes slots from next_unused */
    s->next_unused = 0;
    /* AF_UNSPEC: no socket yet; uv_udp_bind() or, for reuse_port, uv_udp_open() gives it one. */
    unsigned int flags = (unsigned int)AF_UNSPEC;
    if (cfg->recvmmsg)
        flags |= (unsigned int)UV_UDP_RECVMMSG;
    int rc = uv_udp_init_ex(loop, &s->udp, flags);
    if (rc == 0) {
        s->udp.data = s;
        s->open_handles = 1;
        if (s->rx_batch != NULL && !uv_udp_using_recvmmsg(&s->udp)) {
            free(s->rx_batch); /* no recvmmsg here: libuv reads one datagram at a time */
            s->rx_batch = NULL;
        }
        if (s->rx_batch != NULL) {
            s->tx_batch = zcoap__uv_send_batch_new(cfg->msg_cap, &s->stats.datagrams_out,
                                                   &s->stats.send_errors);
            if (s->tx_batch == NULL)
                rc = ZCOAP_ENOSPC;
        }
        s->stats.recv_batch = s->rx_batch != NULL ? ZCOAP_UV_SERVER_RECV_BATCH : 1u;
        if (rc == 0)
            rc = cfg->reuse_port ? zcoap__uv_bind_reuse_port(&s->udp, addr)
                                 : uv_udp_bind(&s->udp, addr, 0);
        if (rc == 0)
            zcoap__uv_set_recv_buffer(s);
        if (rc == 0)
            rc = uv_udp_recv_start(&s->udp, on_alloc, on_recv);
        if (rc != 0)
            zcoap_uv_server_close(s, NULL);
    }
    if (rc != 0 && s->open_handles == 0)
        free_storage(s);
    return rc;
}

int zcoap_uv_server_address(const zcoap_uv_server_t *s, struct sockaddr_storage *out)
{
    if (s == NULL || out == NULL)
        return ZCOAP_EINVAL;
    int len = (int)sizeof(*out);
    return uv_udp_getsockname(&s->udp, (struct sockaddr *)out, &len);
}

int zcoap_uv_peer_address(const zcoap_uv_peer_t *peer, struct sockaddr_storage *out)
{
    if (peer == NULL || out == NULL || !peer->in_use)
        return ZCOAP_EINVAL;
    *out = peer->addr;
    return ZCOAP_OK;
}

const zcoap_uv_server_stats_t *zcoap_uv_server_stats(const zcoap_uv_server_t *s)
{
    return s != NULL ? &s->stats : NULL;
}

void zcoap_uv_server_set_hook(zcoap_uv_server_t *s, zcoap_uv_datagram_hook_fn hook, void *ctx)
{
    if (s == NULL)
        return;
    s->hook.fn = hook;
    s->hook.ctx = ctx;
}

static void server_handle_closed(zcoap_uv_server_t *s)
{
    if (--s->open_handles > 0)
        return;
    free_storage(s);
    if (s->on_close != NULL)
        s->on_close(s);
}

static void on_udp_closed(uv_handle_t *h)
{
    server_handle_closed(h->data);
}

static void on_peer_timer_closed(uv_handle_t *h)
{
    server_handle_closed(((zcoap_uv_peer_t *)h->data)->server);
}

void zcoap_uv_server_close(zcoap_uv_server_t *s, zcoap_uv_server_close_cb cb)
{
    if (s == NULL || s->closing)
        return;
    zcoap__uv_send_batch_flush(s->tx_batch, &s->udp); /* what a batch cut short still owes */
    s->closing = true;
    s->on_close = cb;
    uv_close((uv_handle_t *)&s->udp, on_udp_closed);
    for (size_t i = 0; i < s->cfg.max_peers; i++) {
        if (s->peers[i].timer_ready) {
            s->peers[i].server = s; /* also for slots never used since their timer was made */
            uv_close((uv_handle_t *)&s->peers[i].timer, on_peer_timer_closed);
        }
    }
}
