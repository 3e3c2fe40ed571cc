/* A CoAP server on one uv_udp_t: datagrams are routed by source address (hash, O(1)) to per-peer
 * endpoints from a pool allocated once at start; each peer has one uv_timer_t (libuv keeps timers
 * in a heap, so 100,000 of them cost O(log n) each); requests are dispatched through the
 * resource table, with /.well-known/core generated from it. The socket is read by recvmmsg, many
 * datagrams per system call, into one buffer allocated at start (or by recvmsg, one at a time).
 * Observable resources (RFC 7641) keep their observers in a table allocated at start too; each
 * peer lists its own observers, so that what concerns one peer never walks the whole table. */
/* SO_REUSEPORT is not POSIX: glibc shows it with _DEFAULT_SOURCE (its __USE_MISC) only. */
#define _DEFAULT_SOURCE 1

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uv_io_internal.h"

#if defined(__linux__) && !defined(SO_REUSEPORT)
#error "SO_REUSEPORT is hidden: the reuse_port option would always fail with UV_ENOTSUP"
#endif

/* The slice libuv's recvmmsg path gives each datagram (its UV__UDP_DGRAM_MAXSIZE, private): a
 * buffer shorter than one slice would make it read nothing, forever. */
#define RECV_SLICE (64u * 1024u)

/* A notification's tag is the observer's slot (24 bits) and the slot's generation (8 bits). */
#define OBS_SLOT_BITS 24u
#define OBS_MAX_OBSERVERS (1u << OBS_SLOT_BITS)

static void peer_flush(zcoap_uv_peer_t *peer);
static void obs_on_event(zcoap_uv_peer_t *peer, const zcoap_event_t *ev);
static void obs_serve_pending(zcoap_uv_peer_t *peer);
static void obs_on_request(zcoap_uv_peer_t *peer, const zcoap_resource_t *res, uint8_t dispatch,
                           const zcoap_msg_t *req);
static int obs_answer_notification(zcoap_uv_server_t *s, uint8_t code,
                                   const zcoap_uv_respond_opts_t *opts, const void *payload,
                                   size_t payload_len);
static void obs_answered(zcoap_uv_peer_t *peer, bool observe);
static bool obs_add_observe(const zcoap_uv_peer_t *peer, zcoap_builder_t *b);

void zcoap_uv_server_config_default(zcoap_uv_server_config_t *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_peers = 1024;
    cfg->msg_cap = ZCOAP_MAX_MSG_SIZE;
    cfg->resp_slots = 1;
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
    peer_flush(t->data);
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

/* ---- sending, dispatch, the driver loop ------------------------------------------------------ */

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
                               .last_error = NULL};
    return tx;
}

static void send_to(zcoap_uv_server_t *s, const struct sockaddr_storage *to, const uint8_t *p,
                    size_t n)
{
    const zcoap__uv_tx_t tx = tx_to(s, to);
    (void)zcoap__uv_send(&tx, p, n);
}

static void peer_send_queued(zcoap_uv_peer_t *peer, uint64_t now)
{
    const zcoap__uv_tx_t tx = tx_to(peer->server, &peer->addr);
    zcoap__uv_send_queued(&peer->ep, now, &tx);
}

/* Content-Format and Max-Age of an answer or a notification. */
static void add_respond_opts(zcoap_builder_t *b, const zcoap_uv_respond_opts_t *opts)
{
    if (opts == NULL)
        return;
    if (opts->content_format >= 0)
        (void)zcoap_builder_add_uint(b, ZCOAP_OPT_CONTENT_FORMAT, (uint32_t)opts->content_format);
    if (opts->max_age_s >= 0)
        (void)zcoap_builder_add_uint(b, ZCOAP_OPT_MAX_AGE, (uint32_t)opts->max_age_s);
}

/* A handler is answering with req NULL for an observer on @p peer: its answer is that
 * observer's notification, whatever else the peer has pending. */
static bool notifying(const zcoap_uv_peer_t *peer)
{
    return peer->server->ntf_peer == peer;
}

int zcoap_uv_peer_respond_opts(zcoap_uv_peer_t *peer, uint8_t code,
                               const zcoap_uv_respond_opts_t *opts, const void *payload,
                               size_t payload_len)
{
    zcoap_builder_t b;
    if (peer == NULL || !peer->in_use || (opts != NULL && opts->max_age_s > (int64_t)UINT32_MAX))
        return ZCOAP_EINVAL;
    zcoap_uv_server_t *s = peer->server;
    if (s->closing || s->hook.running)
        return ZCOAP_ESTATE;
    if (notifying(peer))
        return obs_answer_notification(s, code, opts, payload, payload_len);
    /* A NON request gets a NON response, a CON one a piggybacked or CON separate response. */
    bool confirmable = zcoap_ep_request_type(&peer->ep) == ZCOAP_TYPE_CON;
    int rc = zcoap_ep_response_begin(&peer->ep, code, confirmable, &b);
    if (rc != ZCOAP_OK)
        return rc;
    add_respond_opts(&b, opts);
    /* RFC 7641 §4.1: only a successful answer to a registration carries Observe (and keeps the
     * observer); any other answer serves it as a plain GET. */
    bool observe = (code >> 5) == 2u && obs_add_observe(peer, &b);
    (void)zcoap_builder_set_payload(&b, payload, payload_len);
    rc = zcoap_ep_response_send(&peer->ep, &b, uv_now(s->loop));
    if (rc == ZCOAP_OK) {
        obs_answered(peer, observe);
        peer_flush(peer);
    }
    return rc;
}

int zcoap_uv_peer_respond(zcoap_uv_peer_t *peer, uint8_t code, int content_format,
                          const void *payload, size_t payload_len)
{
    const zcoap_uv_respond_opts_t opts = {.content_format = content_format, .max_age_s = -1};
    return zcoap_uv_peer_respond_opts(peer, code, &opts, payload, payload_len);
}

int zcoap_uv_peer_ack(zcoap_uv_peer_t *peer)
{
    if (peer == NULL || !peer->in_use)
        return ZCOAP_EINVAL;
    if (peer->server->closing || peer->server->hook.running || notifying(peer))
        return ZCOAP_ESTATE;
    int rc = zcoap_ep_respond_ack(&peer->ep, uv_now(peer->server->loop));
    if (rc == ZCOAP_OK)
        peer_flush(peer);
    return rc;
}

/* RFC 6690 §4: the listing generated from the table, filtered by the request's query. */
static void answer_well_known(zcoap_uv_peer_t *peer, const zcoap_msg_t *req)
{
    zcoap_uv_server_t *s = peer->server;
    if (req->code != ZCOAP_GET) {
        (void)zcoap_uv_peer_respond(peer, ZCOAP_METHOD_NOT_ALLOWED, -1, NULL, 0);
        return;
    }
    ptrdiff_t n = zcoap_resource_link_format(s->cfg.resources, s->cfg.n_resources, req,
                                             s->wellknown, sizeof(s->wellknown));
    if (n < 0) /* larger than one message: Block2 paging comes with issue 6 */
        (void)zcoap_uv_peer_respond(peer, ZCOAP_INTERNAL_SERVER_ERROR, -1, NULL, 0);
    else
        (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_LINK_FORMAT, s->wellknown,
                                    (size_t)n);
}

static void on_request(zcoap_uv_peer_t *peer, const zcoap_msg_t *req)
{
    zcoap_uv_server_t *s = peer->server;
    /* The table first (it may hold its own /.well-known/core); the listing only for a miss, so
     * the common request pays for one walk of its options. */
    const zcoap_resource_t *res = NULL;
    uint8_t code = zcoap_resource_dispatch(s->cfg.resources, s->cfg.n_resources, req, &res);
    obs_on_request(peer, res, code, req);
    if (code == ZCOAP_NOT_FOUND && zcoap_path_matches(req, ".well-known/core")) {
        answer_well_known(peer, req);
        return;
    }
    if (code != 0) {
        (void)zcoap_uv_peer_respond(peer, code, -1, NULL, 0); /* 4.04 or 4.05 */
        return;
    }
    zcoap_uv_handler_fn handler = (zcoap_uv_handler_fn)(uintptr_t)res->handler;
    if (handler == NULL) {
        (void)zcoap_uv_peer_respond(peer, ZCOAP_NOT_IMPLEMENTED, -1, NULL, 0);
        return;
    }
    handler(s, peer, res, req);
}

/* The driver loop of endpoint.h for one peer, then its timer, or its release when idle. */
static void peer_flush(zcoap_uv_peer_t *peer)
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
        peer_send_queued(peer, now);
        while (!s->closing && zcoap_ep_process(&peer->ep, now, &ev) == 1) {
            any_event = true;
            peer_send_queued(peer, now);
            if (ev.kind == ZCOAP_EV_IN_REQUEST)
                on_request(peer, &ev.msg);
            if (peer->observers > 0 && !s->closing)
                obs_on_event(peer, &ev);
        }
        if (s->closing)
            break;
        peer_send_queued(peer, now);
        /* An exchange may have ended (every end is an event): observers that waited for it get
         * the newest state now. */
        if (any_event && peer->obs_pending > 0)
            obs_serve_pending(peer);
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

/* No slot is free: answer a request 5.03 with Max-Age without keeping any state (RFC 7252
 * §5.9.3.4), rather than dropping a live exchange of another peer. */
static void answer_busy(zcoap_uv_server_t *s, const struct sockaddr_storage *from,
                        const uint8_t *dgram, size_t len)
{
    zcoap_msg_t req;
    zcoap_builder_t b;
    uint8_t out[64];
    uint8_t mid[2] = {0, 0};
    if (zcoap_msg_parse(&req, dgram, len) != ZCOAP_OK)
        return;
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
     * ours again; nothing to free. */
    if (nread == 0 || addr == NULL)
        return;
    /* A recvmmsg slice holds 64 KiB: drop what a plain read would have truncated, so that both
     * modes pass the same datagrams. */
    if ((flags & UV_UDP_PARTIAL) != 0 || (size_t)nread > sizeof(s->rx)) {
        s->stats.truncated++;
        return;
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
    peer_flush(peer);
}

/* Bind with SO_REUSEPORT, so that several sockets (one per loop, thread or process of the same
 * user) share the address and the kernel spreads peers over them by a hash of the source address
 * and port. libuv 1.44 has no UV_UDP_REUSEPORT (1.49 adds one), and its UV_UDP_REUSEADDR is
 * SO_REUSEADDR on Linux, which does not balance unicast: so the socket is made here, bound, and
 * handed to libuv. IPV6_V6ONLY keeps the system default, as uv_udp_bind() without flags does.
 * Errors are libuv codes (negative errno on Unix, as UV__ERR makes them). */
static int bind_reuse_port(uv_udp_t *udp, const struct sockaddr *addr)
{
#ifdef SO_REUSEPORT
    socklen_t len;
    if (addr->sa_family == AF_INET)
        len = (socklen_t)sizeof(struct sockaddr_in);
    else if (addr->sa_family == AF_INET6)
        len = (socklen_t)sizeof(struct sockaddr_in6);
    else
        return UV_EINVAL;
    int type = SOCK_DGRAM;
#ifdef SOCK_CLOEXEC
    type |= SOCK_CLOEXEC; /* like libuv's own sockets: not inherited by exec'd children */
#endif
    int fd = socket(addr->sa_family, type, 0);
    if (fd < 0)
        return -errno;
    const int on = 1;
    const int off = 0;
    int rc = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 || bind(fd, addr, len) != 0)
        rc = -errno;
    if (rc == 0)
        rc = uv_udp_open(udp, fd); /* the handle owns fd from here on */
    if (rc != 0) {
        (void)close(fd);
        return rc;
    }
    /* uv_udp_open() also sets SO_REUSEADDR, with which any later socket carrying SO_REUSEADDR
     * (of any user) could bind the same port and take datagrams; only the SO_REUSEPORT group
     * (same user, enforced by the kernel) should share it. */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &off, sizeof(off));
    return 0;
#else
    (void)udp;
    (void)addr;
    return UV_ENOTSUP;
#endif
}

/* The receive buffer asked for: SO_RCVBUF (capped by net.core.rmem_max), else SO_RCVBUFFORCE
 * when allowed. Failing both is not an error: the system's size stays, as with 0. */
static void set_recv_buffer(zcoap_uv_server_t *s)
{
    uv_os_fd_t fd;
    if (uv_fileno((const uv_handle_t *)&s->udp, &fd) != 0)
        return;
    size_t want = s->cfg.recv_buffer_size > (size_t)INT32_MAX / 2 ? (size_t)INT32_MAX / 2
                                                                  : s->cfg.recv_buffer_size;
    if (want > 0) {
        int size = (int)want;
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
#ifdef SO_RCVBUFFORCE
        int got = 0;
        socklen_t got_len = sizeof(got);
        /* Linux reports twice what was set (its bookkeeping overhead). */
        if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &got_len) == 0 && (size_t)got / 2 < want)
            (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
#endif
    }
    int got = 0;
    socklen_t got_len = sizeof(got);
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &got_len) == 0 && got > 0)
        s->stats.recv_buffer_size = (size_t)got;
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
    free(s->obs.slots);
    free(s->obs_state);
    free(s->obs_seq);
    free(s->obs_policy);
    s->peers = NULL;
    s->buffers = NULL;
    s->dedup = NULL;
    s->shared_req = NULL;
    s->buckets = NULL;
    s->rx_batch = NULL;
    s->obs.slots = NULL;
    s->obs_state = NULL;
    s->obs_seq = NULL;
    s->obs_policy = NULL;
}

/* The observer table and each resource's sequence number and policy (nothing is allocated per
 * registration). */
static bool alloc_observe(zcoap_uv_server_t *s)
{
    const zcoap_uv_server_config_t *cfg = &s->cfg;
    size_t n_res = cfg->n_resources > 0 ? cfg->n_resources : 1u;
    s->obs_seq = calloc(n_res, sizeof(*s->obs_seq));
    s->obs_policy = malloc(n_res * sizeof(*s->obs_policy));
    if (s->obs_seq == NULL || s->obs_policy == NULL)
        return false;
    for (size_t i = 0; i < n_res; i++)
        s->obs_policy[i] = cfg->obs_policy;
    if (cfg->max_observers == 0)
        return zcoap_obs_table_init(&s->obs, NULL, 0) == ZCOAP_OK;
    zcoap_observer_t *slots = calloc(cfg->max_observers, sizeof(*slots));
    s->obs_state = calloc(cfg->max_observers, sizeof(*s->obs_state));
    if (slots == NULL || s->obs_state == NULL) {
        free(slots);
        return false;
    }
    return zcoap_obs_table_init(&s->obs, slots, cfg->max_observers) == ZCOAP_OK;
}

int zcoap_uv_server_start(uv_loop_t *loop, zcoap_uv_server_t *s, const struct sockaddr *addr,
                          const zcoap_uv_server_config_t *cfg)
{
    if (loop == NULL || s == NULL || addr == NULL || cfg == NULL || cfg->max_peers == 0 ||
        cfg->max_peers > 0x7FFFFFFFu || cfg->msg_cap >= ZCOAP_UV_CLIENT_RX_SIZE ||
        cfg->msg_cap < 16 || cfg->resp_slots == 0 || cfg->resp_slots > 127 || cfg->dedup_cap == 0 ||
        cfg->dedup_cap > 127 || (cfg->resources == NULL && cfg->n_resources > 0) ||
        cfg->max_observers > OBS_MAX_OBSERVERS)
        return ZCOAP_EINVAL;
    void *data = s->data;
    memset(s, 0, sizeof(*s));
    s->data = data;
    s->loop = loop;
    s->cfg = *cfg;
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
        s->buckets == NULL || (cfg->recvmmsg && s->rx_batch == NULL) || !alloc_observe(s)) {
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
        s->stats.recv_batch = s->rx_batch != NULL ? ZCOAP_UV_SERVER_RECV_BATCH : 1u;
        rc = cfg->reuse_port ? bind_reuse_port(&s->udp, addr) : uv_udp_bind(&s->udp, addr, 0);
        if (rc == 0)
            set_recv_buffer(s);
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

/* ---- Observe (RFC 7641) ---------------------------------------------------------------------- */

/* What the adapter knows of an observer besides the core's entry (zcoap__uv_observer_t.flags). */
enum {
    OBS_REGISTERING = 1u << 0,   /* its registration is not answered yet: nothing to notify */
    OBS_PENDING = 1u << 1,       /* owed the newest state (or its 4.04) */
    OBS_GONE = 1u << 2,          /* the resource is gone: owed a 4.04, then removed */
    OBS_CON_IN_FLIGHT = 1u << 3, /* a CON notification awaits its ACK: the next replaces it */
    OBS_DEFERRED = 1u << 4       /* waiting for the peer's CON exchange (counted once) */
};

static size_t resource_index(const zcoap_uv_server_t *s, const zcoap_resource_t *res)
{
    for (size_t i = 0; i < s->cfg.n_resources; i++) {
        if (&s->cfg.resources[i] == res)
            return i;
    }
    return SIZE_MAX;
}

static uint32_t obs_tag(const zcoap_uv_server_t *s, uint32_t idx)
{
    return ((uint32_t)s->obs_state[idx].gen << OBS_SLOT_BITS) | idx;
}

/* The observer an event's tag names, if it is still the one on @p peer it was sent to. */
static bool obs_by_tag(const zcoap_uv_peer_t *peer, uint32_t tag, uint32_t *idx)
{
    const zcoap_uv_server_t *s = peer->server;
    uint32_t i = tag & (OBS_MAX_OBSERVERS - 1u);
    if (i >= s->obs.cap || !s->obs.slots[i].in_use || s->obs.slots[i].peer != peer ||
        s->obs_state[i].gen != (uint8_t)(tag >> OBS_SLOT_BITS))
        return false;
    *idx = i;
    return true;
}

static void obs_set_pending(zcoap_uv_server_t *s, uint32_t idx)
{
    zcoap__uv_observer_t *st = &s->obs_state[idx];
    if ((st->flags & OBS_PENDING) == 0) {
        st->flags |= OBS_PENDING;
        ((zcoap_uv_peer_t *)s->obs.slots[idx].peer)->obs_pending++;
    }
}

static void obs_clear_pending(zcoap_uv_server_t *s, uint32_t idx)
{
    zcoap__uv_observer_t *st = &s->obs_state[idx];
    if ((st->flags & OBS_PENDING) != 0)
        ((zcoap_uv_peer_t *)s->obs.slots[idx].peer)->obs_pending--;
    st->flags &= (uint8_t) ~(OBS_PENDING | OBS_DEFERRED);
}

/* Remove observer @p idx from the table and from its peer's list; @p reason counts it. Events
 * still to come for it (a CON notification in flight) no longer match: the generation moves. */
static void obs_remove(zcoap_uv_server_t *s, uint32_t idx, uint64_t *reason)
{
    zcoap_observer_t *o = &s->obs.slots[idx];
    zcoap__uv_observer_t *st = &s->obs_state[idx];
    zcoap_uv_peer_t *peer = o->peer;
    obs_clear_pending(s, idx);
    if (peer->obs_answer == idx + 1u)
        peer->obs_answer = 0;
    uint32_t *link = &peer->obs_head;
    while (*link != 0 && *link != idx + 1u)
        link = &s->obs_state[*link - 1u].peer_next;
    if (*link == idx + 1u)
        *link = st->peer_next;
    peer->observers--;
    (void)zcoap_obs_remove(&s->obs, peer, o->token, o->token_len);
    st->peer_next = 0;
    st->flags = 0;
    st->gen++;
    s->stats.observers_in_use = s->obs.used;
    (*reason)++;
}

/* The observer on @p peer with @p token, walking the peer's own list. */
static bool obs_find_on_peer(const zcoap_uv_peer_t *peer, const uint8_t *token, size_t token_len,
                             uint32_t *idx)
{
    const zcoap_uv_server_t *s = peer->server;
    for (uint32_t i = peer->obs_head; i != 0; i = s->obs_state[i - 1u].peer_next) {
        const zcoap_observer_t *o = &s->obs.slots[i - 1u];
        if (o->token_len == token_len &&
            (token_len == 0 || memcmp(o->token, token, token_len) == 0)) {
            *idx = i - 1u;
            return true;
        }
    }
    return false;
}

/* Before the handler sees a request: a registration enters the table (kept only if the answer is
 * 2.xx, obs_answered()); any other GET or FETCH with an observer's token ends that observation:
 * Observe 1 asks for it (§3.6), and without Observe the token is taken for a new request. */
static void obs_on_request(zcoap_uv_peer_t *peer, const zcoap_resource_t *res, uint8_t dispatch,
                           const zcoap_msg_t *req)
{
    zcoap_uv_server_t *s = peer->server;
    if (req->code != ZCOAP_GET && req->code != ZCOAP_FETCH)
        return;
    bool registers = dispatch == 0 && s->obs.cap > 0 &&
                     zcoap_obs_request_action(req) == ZCOAP_OBS_REGISTER && res->handler != NULL &&
                     zcoap_resource_observable(res);
    uint32_t idx;
    if (!registers) {
        if (peer->observers > 0 && obs_find_on_peer(peer, req->token, req->token_len, &idx))
            obs_remove(s, idx, &s->stats.observers_removed_deregistered);
        return;
    }
    size_t before = s->obs.used;
    zcoap_observer_t *o;
    if (zcoap_obs_register(&s->obs, res, peer, req->token, req->token_len, uv_now(s->loop), &o) !=
        ZCOAP_OK) {
        s->stats.observe_refused++; /* §4.1: the table is full; served as a plain GET */
        return;
    }
    idx = (uint32_t)(o - s->obs.slots);
    zcoap__uv_observer_t *st = &s->obs_state[idx];
    if (s->obs.used > before) {
        st->flags = 0;
        st->peer_next = peer->obs_head;
        peer->obs_head = idx + 1u;
        peer->observers++;
        s->stats.observers_in_use = s->obs.used;
    }
    /* A renewal (§3.3.1): its answer carries the current state. */
    obs_clear_pending(s, idx);
    st->flags = (uint8_t)((st->flags & OBS_CON_IN_FLIGHT) | OBS_REGISTERING);
    peer->obs_answer = idx + 1u;
}

/* Add Observe with the resource's sequence number if this answer is to a registration. */
static bool obs_add_observe(const zcoap_uv_peer_t *peer, zcoap_builder_t *b)
{
    const zcoap_uv_server_t *s = peer->server;
    if (peer->obs_answer == 0)
        return false;
    size_t r = resource_index(s, s->obs.slots[peer->obs_answer - 1u].resource);
    return zcoap_builder_add_uint(b, ZCOAP_OPT_OBSERVE, s->obs_seq[r]) == ZCOAP_OK;
}

/* The answer to the request went out: a registration it answered with Observe is established,
 * one it answered otherwise is dropped (§4.1, §3.2). */
static void obs_answered(zcoap_uv_peer_t *peer, bool observe)
{
    zcoap_uv_server_t *s = peer->server;
    if (peer->obs_answer == 0)
        return;
    uint32_t idx = peer->obs_answer - 1u;
    peer->obs_answer = 0;
    if (observe) {
        s->obs_state[idx].flags &= (uint8_t)~OBS_REGISTERING;
        s->stats.observers_registered++;
    } else {
        obs_remove(s, idx, &s->stats.observers_removed_error);
    }
}

/* Send one notification to observer @p idx (or its final error answer): CON or NON by the
 * resource's policy, Observe carrying the resource's sequence number when it is 2.xx. */
static int obs_emit(zcoap_uv_server_t *s, uint32_t idx, uint8_t code,
                    const zcoap_uv_respond_opts_t *opts, const void *payload, size_t payload_len)
{
    zcoap_observer_t *o = &s->obs.slots[idx];
    zcoap__uv_observer_t *st = &s->obs_state[idx];
    zcoap_uv_peer_t *peer = o->peer;
    size_t r = resource_index(s, o->resource);
    uint64_t now = uv_now(s->loop);
    const zcoap_observer_t before = *o;
    bool con;
    if ((st->flags & OBS_CON_IN_FLIGHT) != 0) {
        /* §4.5.2: the core puts the new state in place of the CON one in flight, as a CON. */
        con = true;
        o->since_con = 0;
        o->last_con_ms = now;
    } else {
        con = zcoap_obs_next_is_confirmable(o, &s->obs_policy[r], now);
    }
    bool success = (code >> 5) == 2u;
    zcoap_builder_t b;
    int rc =
        zcoap_ep_notify_begin(&peer->ep, o->token, o->token_len, code, con, obs_tag(s, idx), &b);
    if (rc == ZCOAP_OK) {
        if (success)
            (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, s->obs_seq[r]);
        add_respond_opts(&b, opts);
        (void)zcoap_builder_set_payload(&b, payload, payload_len);
        rc = zcoap_ep_notify_send(&peer->ep, &b, now);
    }
    if (rc != ZCOAP_OK) {
        *o = before; /* nothing went out: the policy does not count it */
        if (rc == ZCOAP_EBUSY) {
            /* NSTART = 1: another CON message to the peer awaits its ACK. The newest state
             * goes when that exchange ends (obs_serve_pending()). */
            obs_set_pending(s, idx);
            if ((st->flags & OBS_DEFERRED) == 0)
                s->stats.notifications_deferred++;
            st->flags |= OBS_DEFERRED;
        }
        return rc;
    }
    obs_clear_pending(s, idx);
    if (con) {
        st->flags |= OBS_CON_IN_FLIGHT;
        s->stats.notifications_con++;
    } else {
        s->stats.notifications_non++;
    }
    peer_send_queued(peer, now); /* out now, so that the next notification to the peer can go */
    if (!success) {
        /* §3.2: an error answer is the last notification. */
        obs_remove(s, idx,
                   (st->flags & OBS_GONE) != 0 ? &s->stats.observers_removed_gone
                                               : &s->stats.observers_removed_error);
    }
    return ZCOAP_OK;
}

static int obs_answer_notification(zcoap_uv_server_t *s, uint8_t code,
                                   const zcoap_uv_respond_opts_t *opts, const void *payload,
                                   size_t payload_len)
{
    uint32_t idx;
    if (s->ntf_answered || !obs_by_tag(s->ntf_peer, s->ntf_tag, &idx))
        return ZCOAP_ESTATE; /* one answer per notification; or the observer left meanwhile */
    s->ntf_answered = true;
    return obs_emit(s, idx, code, opts, payload, payload_len);
}

/* Give observer @p idx what it is owed: the resource's current state, which its handler produces
 * when called with req NULL (the answer goes through obs_answer_notification()), or a 4.04 when
 * the resource is gone. */
static void obs_serve(zcoap_uv_server_t *s, uint32_t idx)
{
    zcoap_observer_t *o = &s->obs.slots[idx];
    zcoap__uv_observer_t *st = &s->obs_state[idx];
    zcoap_uv_peer_t *peer = o->peer;
    if ((st->flags & OBS_GONE) != 0) {
        (void)obs_emit(s, idx, ZCOAP_NOT_FOUND, NULL, NULL, 0);
    } else {
        const zcoap_resource_t *res = o->resource;
        zcoap_uv_handler_fn handler = (zcoap_uv_handler_fn)(uintptr_t)res->handler;
        uint32_t tag = obs_tag(s, idx);
        /* A handler may answer a request of another peer meanwhile, whose flush may serve an
         * observer there: the notification being answered is saved around the call. */
        zcoap_uv_peer_t *outer_peer = s->ntf_peer;
        uint32_t outer_tag = s->ntf_tag;
        bool outer_answered = s->ntf_answered;
        s->ntf_peer = peer;
        s->ntf_tag = tag;
        s->ntf_answered = false;
        if (handler != NULL)
            handler(s, peer, res, NULL);
        bool answered = s->ntf_answered;
        s->ntf_peer = outer_peer;
        s->ntf_tag = outer_tag;
        s->ntf_answered = outer_answered;
        uint32_t still;
        if (!answered && obs_by_tag(peer, tag, &still))
            obs_clear_pending(s, idx); /* the handler had nothing to send this time */
    }
    if (!s->closing)
        peer_flush(peer);
}

/* The peer's exchange may have ended: serve its observers owed the newest state, until one finds
 * the peer busy again. */
static void obs_serve_pending(zcoap_uv_peer_t *peer)
{
    zcoap_uv_server_t *s = peer->server;
    while (peer->obs_pending > 0 && !s->closing) {
        uint32_t i = peer->obs_head;
        while (i != 0 && (s->obs_state[i - 1u].flags & OBS_PENDING) == 0)
            i = s->obs_state[i - 1u].peer_next;
        if (i == 0)
            return;
        uint32_t idx = i - 1u;
        uint8_t gen = s->obs_state[idx].gen;
        obs_serve(s, idx);
        if (s->obs.slots[idx].in_use && s->obs_state[idx].gen == gen &&
            (s->obs_state[idx].flags & OBS_PENDING) != 0)
            return; /* still busy: the next end of an exchange brings it here again */
    }
}

/* Events of the peer's endpoint that concern its observers. */
static void obs_on_event(zcoap_uv_peer_t *peer, const zcoap_event_t *ev)
{
    zcoap_uv_server_t *s = peer->server;
    uint32_t idx;
    switch (ev->kind) {
    case ZCOAP_EV_NOTIFY_ACKED:
        if (obs_by_tag(peer, ev->tag, &idx))
            s->obs_state[idx].flags &= (uint8_t)~OBS_CON_IN_FLIGHT;
        break;
    case ZCOAP_EV_NOTIFY_RESET: /* §3.6: the client answered a notification, CON or NON, RST */
        if (obs_by_tag(peer, ev->tag, &idx))
            obs_remove(s, idx, &s->stats.observers_removed_reset);
        break;
    case ZCOAP_EV_NOTIFY_TIMEOUT: /* §4.5: the client is gone */
        if (obs_by_tag(peer, ev->tag, &idx))
            obs_remove(s, idx, &s->stats.observers_removed_timeout);
        break;
    default:
        break;
    }
    /* A registration whose request ended unanswered (the handler never answered) is dropped. */
    if (peer->obs_answer != 0 && zcoap_ep_request_type(&peer->ep) < 0)
        obs_remove(s, peer->obs_answer - 1u, &s->stats.observers_removed_error);
}

/* Checks shared by notify and resource_gone; the resource's index, or SIZE_MAX. */
static int obs_check(const zcoap_uv_server_t *s, const zcoap_resource_t *res, size_t *r)
{
    if (s == NULL || res == NULL)
        return ZCOAP_EINVAL;
    if (s->closing || s->hook.running || s->ntf_peer != NULL)
        return ZCOAP_ESTATE;
    *r = resource_index(s, res);
    if (*r == SIZE_MAX || !zcoap_resource_observable(res))
        return ZCOAP_EINVAL;
    return ZCOAP_OK;
}

/* Serve every observer of @p res marked in the first walk. One observer served may serve others
 * of its peer (its flush), which the walk then finds unmarked: nobody gets the same state twice. */
static void obs_serve_marked(zcoap_uv_server_t *s, const zcoap_resource_t *res)
{
    size_t cursor = 0;
    zcoap_observer_t *o;
    while (!s->closing && (o = zcoap_obs_next(&s->obs, res, &cursor)) != NULL) {
        uint32_t idx = (uint32_t)(o - s->obs.slots);
        if ((s->obs_state[idx].flags & OBS_PENDING) != 0)
            obs_serve(s, idx);
    }
}

int zcoap_uv_server_notify(zcoap_uv_server_t *s, const zcoap_resource_t *res)
{
    size_t r;
    int rc = obs_check(s, res, &r);
    if (rc != ZCOAP_OK)
        return rc;
    s->obs_seq[r] = zcoap_obs_seq_next(s->obs_seq[r]); /* §4.4: one number per state */
    int n = 0;
    size_t cursor = 0;
    zcoap_observer_t *o;
    while ((o = zcoap_obs_next(&s->obs, res, &cursor)) != NULL) {
        uint32_t idx = (uint32_t)(o - s->obs.slots);
        if ((s->obs_state[idx].flags & (OBS_REGISTERING | OBS_GONE)) == 0) {
            obs_set_pending(s, idx);
            n++;
        }
    }
    obs_serve_marked(s, res);
    return n;
}

int zcoap_uv_server_resource_gone(zcoap_uv_server_t *s, const zcoap_resource_t *res)
{
    size_t r;
    int rc = obs_check(s, res, &r);
    if (rc != ZCOAP_OK)
        return rc;
    int n = 0;
    size_t cursor = 0;
    zcoap_observer_t *o;
    while ((o = zcoap_obs_next(&s->obs, res, &cursor)) != NULL) {
        uint32_t idx = (uint32_t)(o - s->obs.slots);
        zcoap__uv_observer_t *st = &s->obs_state[idx];
        if ((st->flags & OBS_REGISTERING) != 0) {
            obs_remove(s, idx, &s->stats.observers_removed_gone); /* answered without Observe */
        } else {
            st->flags |= OBS_GONE;
            obs_set_pending(s, idx);
            n++;
        }
    }
    obs_serve_marked(s, res);
    return n;
}

int zcoap_uv_server_set_obs_policy(zcoap_uv_server_t *s, const zcoap_resource_t *res,
                                   const zcoap_obs_policy_t *policy)
{
    size_t r = s != NULL ? resource_index(s, res) : SIZE_MAX;
    if (r == SIZE_MAX || s->obs_policy == NULL)
        return ZCOAP_EINVAL;
    s->obs_policy[r] = policy != NULL ? *policy : s->cfg.obs_policy;
    return ZCOAP_OK;
}

int zcoap_uv_server_obs_seq(const zcoap_uv_server_t *s, const zcoap_resource_t *res, uint32_t *out)
{
    size_t r = s != NULL ? resource_index(s, res) : SIZE_MAX;
    if (r == SIZE_MAX || out == NULL || s->obs_seq == NULL)
        return ZCOAP_EINVAL;
    *out = s->obs_seq[r];
    return ZCOAP_OK;
}

int zcoap_uv_server_set_obs_seq(zcoap_uv_server_t *s, const zcoap_resource_t *res, uint32_t seq)
{
    size_t r = s != NULL ? resource_index(s, res) : SIZE_MAX;
    if (r == SIZE_MAX || seq > ZCOAP_OBS_SEQ_MASK || s->obs_seq == NULL)
        return ZCOAP_EINVAL;
    s->obs_seq[r] = seq;
    return ZCOAP_OK;
}
