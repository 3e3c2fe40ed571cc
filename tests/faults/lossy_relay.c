/*
 * zcoap_lossy_relay: a UDP relay on loopback that loses, duplicates, reorders, delays and
 * corrupts datagrams, with seeded decisions, for the fault tests (tests/faults/README.md).
 *
 *     zcoap_lossy_relay --server-port PORT [--port 0 --port-file FILE] [--seed N]
 *                       [--seconds N] [--loss PCT] [--up-duplicate PCT] ... (see --help)
 *
 * Clients send to the relay's port; each client (address and port) gets its own socket towards
 * the server, so the server sees one peer per client and its answers find their way back.
 * Every datagram goes through its direction's faults in this order: loss; duplication (two
 * copies); per copy corruption (one byte XORed with a random non-zero value) and a delay
 * (--delay plus up to --jitter); then, when the copy is due, reordering (it is held back and
 * sent right after the next datagram of that direction, or after --reorder-ms). Each direction
 * draws from its own seeded generator, so a direction's decisions depend only on the seed and on
 * the order of its datagrams.
 *
 * On SIGINT, SIGTERM or after --seconds it prints its counters on stdout and exits 0.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "relay_args.h"

enum { MAX_SESSIONS = 256, MAX_DATAGRAM = 65536 };

struct relay;

/* One client, and the socket that speaks for it to the server. */
struct session {
    struct relay *relay;
    uv_udp_t upstream;
    struct sockaddr_storage client;
    bool open;
};

/* A copy of a datagram on its way; freed when its send completes (or is cancelled). */
struct packet {
    uv_udp_send_t req;
    struct packet *next; /* in the delay queue, by due time */
    struct session *session;
    enum relay_direction dir;
    uint64_t due_ms;
    size_t len;
    uint8_t data[];
};

struct counters {
    uint64_t received, forwarded, dropped, duplicated, corrupted, delayed, reordered, send_errors;
};

struct relay {
    uv_loop_t *loop;
    struct relay_args args;
    struct sockaddr_storage listen_addr, server_addr;
    uv_udp_t listener;
    uv_timer_t due_timer;  /* the next delayed copy or held-back datagram */
    uv_timer_t stop_timer; /* --seconds */
    uv_signal_t sigint, sigterm;
    struct session sessions[MAX_SESSIONS];
    size_t n_sessions;
    uint64_t sessions_refused, stray_datagrams, recv_errors;
    struct packet *queue;
    struct packet *held[RELAY_DIRECTIONS];
    uint64_t held_until[RELAY_DIRECTIONS];
    uint64_t rng[RELAY_DIRECTIONS];
    struct counters count[RELAY_DIRECTIONS];
    bool stopping;
    uint8_t recv_buf[MAX_DATAGRAM];
};

static const char *const direction_name[RELAY_DIRECTIONS] = {"up (client to server)",
                                                             "down (server to client)"};

/* splitmix64: small, seedable, good enough for fault decisions. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* True with probability @p p (0 never draws, so a fault that is off changes no decision). */
static bool roll(struct relay *r, enum relay_direction dir, double p)
{
    if (p <= 0.0)
        return false;
    return (double)(next_random(&r->rng[dir]) >> 11) * (1.0 / 9007199254740992.0) < p;
}

static bool is_loopback(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)a;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;
    static const uint8_t one[16] = {[15] = 1};
    return memcmp(in6->sin6_addr.s6_addr, one, sizeof(one)) == 0;
}

static int make_address(const char *host, int port, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0)
        return 0;
    return uv_ip6_addr(host, port, (struct sockaddr_in6 *)out);
}

static bool same_address(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return false;
    if (b->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)(const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)(const void *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

static int address_port(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)a)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_sent(uv_udp_send_t *req, int status)
{
    struct packet *p = req->data;
    if (status != 0 && status != UV_ECANCELED)
        p->session->relay->count[p->dir].send_errors++;
    free(p);
}

/* Hands @p p to the kernel, towards the server (UP) or its client (DOWN). */
static void transmit(struct relay *r, struct packet *p)
{
    uv_udp_t *handle = p->dir == RELAY_UP ? &p->session->upstream : &r->listener;
    const struct sockaddr *to =
        (const struct sockaddr *)(p->dir == RELAY_UP ? &r->server_addr : &p->session->client);
    uv_buf_t buf = uv_buf_init((char *)p->data, (unsigned)p->len);
    p->req.data = p;
    if (r->args.verbose)
        fprintf(stderr, "relay: %s: %zu bytes sent\n", p->dir == RELAY_UP ? "up" : "down", p->len);
    if (uv_udp_send(&p->req, handle, &buf, 1, to, on_sent) != 0) {
        r->count[p->dir].send_errors++;
        free(p);
        return;
    }
    r->count[p->dir].forwarded++;
}

static void arm_due_timer(struct relay *r);

/* A copy is due: hold it back (reordering), or send it and release the one held back. */
static void emit(struct relay *r, struct packet *p)
{
    enum relay_direction d = p->dir;
    if (r->held[d] == NULL && roll(r, d, r->args.faults[d].reorder)) {
        r->held[d] = p;
        r->held_until[d] = uv_now(r->loop) + r->args.faults[d].reorder_ms;
        r->count[d].reordered++;
        if (r->args.verbose)
            fprintf(stderr, "relay: %s: held back\n", d == RELAY_UP ? "up" : "down");
        arm_due_timer(r);
        return;
    }
    transmit(r, p);
    struct packet *held = r->held[d];
    if (held != NULL) {
        r->held[d] = NULL;
        transmit(r, held);
    }
}

static void enqueue(struct relay *r, struct packet *p)
{
    struct packet **at = &r->queue;
    while (*at != NULL && (*at)->due_ms <= p->due_ms)
        at = &(*at)->next;
    p->next = *at;
    *at = p;
    arm_due_timer(r);
}

static void on_due(uv_timer_t *t)
{
    struct relay *r = t->data;
    uint64_t now = uv_now(r->loop);
    while (r->queue != NULL && r->queue->due_ms <= now) {
        struct packet *p = r->queue;
        r->queue = p->next;
        emit(r, p);
    }
    for (int d = 0; d < RELAY_DIRECTIONS; d++) {
        if (r->held[d] != NULL && r->held_until[d] <= now) {
            struct packet *p = r->held[d];
            r->held[d] = NULL;
            transmit(r, p);
        }
    }
    arm_due_timer(r);
}

static void arm_due_timer(struct relay *r)
{
    if (r->stopping)
        return;
    bool any = false;
    uint64_t due = 0;
    if (r->queue != NULL) {
        due = r->queue->due_ms;
        any = true;
    }
    for (int d = 0; d < RELAY_DIRECTIONS; d++) {
        if (r->held[d] != NULL && (!any || r->held_until[d] < due)) {
            due = r->held_until[d];
            any = true;
        }
    }
    if (!any) {
        (void)uv_timer_stop(&r->due_timer);
        return;
    }
    uint64_t now = uv_now(r->loop);
    (void)uv_timer_start(&r->due_timer, on_due, due > now ? due - now : 0, 0);
}

/* A datagram arrived for direction @p d of @p s: draw its faults. */
static void relay_datagram(struct relay *r, struct session *s, enum relay_direction d,
                           const uint8_t *data, size_t len)
{
    const struct relay_faults *f = &r->args.faults[d];
    struct counters *c = &r->count[d];
    c->received++;
    if (roll(r, d, f->loss)) {
        c->dropped++;
        if (r->args.verbose)
            fprintf(stderr, "relay: %s: %zu bytes dropped\n", d == RELAY_UP ? "up" : "down", len);
        return;
    }
    int copies = 1;
    if (roll(r, d, f->duplicate)) {
        copies = 2;
        c->duplicated++;
    }
    for (int i = 0; i < copies; i++) {
        struct packet *p = malloc(sizeof(*p) + len);
        if (p == NULL) {
            c->send_errors++;
            return;
        }
        memset(p, 0, sizeof(*p));
        p->session = s;
        p->dir = d;
        p->len = len;
        if (len > 0)
            memcpy(p->data, data, len);
        if (len > 0 && roll(r, d, f->corrupt)) {
            size_t at = (size_t)(next_random(&r->rng[d]) % len);
            p->data[at] ^= (uint8_t)(1u + next_random(&r->rng[d]) % 255u);
            c->corrupted++;
        }
        uint64_t delay = f->delay_ms;
        if (f->jitter_ms > 0)
            delay += next_random(&r->rng[d]) % (f->jitter_ms + 1);
        if (delay == 0) {
            emit(r, p);
        } else {
            c->delayed++;
            p->due_ms = uv_now(r->loop) + delay;
            enqueue(r, p);
        }
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct relay *r = h->loop->data;
    *buf = uv_buf_init((char *)r->recv_buf, sizeof(r->recv_buf));
}

static void on_upstream_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                             const struct sockaddr *from, unsigned flags)
{
    (void)buf;
    struct session *s = h->data;
    struct relay *r = s->relay;
    if (nread < 0) {
        r->recv_errors++;
        return;
    }
    if (from == NULL)
        return; /* nothing more to read */
    if ((flags & UV_UDP_PARTIAL) != 0 || !same_address(&r->server_addr, from)) {
        r->stray_datagrams++;
        return;
    }
    relay_datagram(r, s, RELAY_DOWN, r->recv_buf, (size_t)nread);
}

/* The session of the client at @p from, opened on its first datagram; NULL when full. */
static struct session *session_for(struct relay *r, const struct sockaddr *from)
{
    for (size_t i = 0; i < r->n_sessions; i++) {
        if (same_address(&r->sessions[i].client, from))
            return &r->sessions[i];
    }
    if (r->n_sessions == MAX_SESSIONS)
        return NULL;
    struct session *s = &r->sessions[r->n_sessions];
    memset(s, 0, sizeof(*s));
    s->relay = r;
    memcpy(&s->client, from,
           from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    struct sockaddr_storage local = r->listen_addr;
    if (local.ss_family == AF_INET)
        ((struct sockaddr_in *)&local)->sin_port = 0;
    else
        ((struct sockaddr_in6 *)&local)->sin6_port = 0;
    if (uv_udp_init(r->loop, &s->upstream) != 0)
        return NULL;
    s->open = true; /* from here on the handle must be closed */
    r->n_sessions++;
    s->upstream.data = s;
    if (uv_udp_bind(&s->upstream, (const struct sockaddr *)&local, 0) != 0 ||
        uv_udp_recv_start(&s->upstream, on_alloc, on_upstream_recv) != 0) {
        uv_close((uv_handle_t *)&s->upstream, on_closed);
        s->open = false;
        memset(&s->client, 0, sizeof(s->client)); /* never matched again */
        return NULL;
    }
    return s;
}

static void on_listener_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                             const struct sockaddr *from, unsigned flags)
{
    (void)buf;
    struct relay *r = h->data;
    if (nread < 0) {
        r->recv_errors++;
        return;
    }
    if (from == NULL)
        return;
    if ((flags & UV_UDP_PARTIAL) != 0) {
        r->stray_datagrams++;
        return;
    }
    struct session *s = session_for(r, from);
    if (s == NULL) {
        r->sessions_refused++;
        return;
    }
    relay_datagram(r, s, RELAY_UP, r->recv_buf, (size_t)nread);
}

static void print_counters(const struct relay *r)
{
    for (int d = 0; d < RELAY_DIRECTIONS; d++) {
        const struct counters *c = &r->count[d];
        printf("zcoap_lossy_relay: %s: %llu received, %llu forwarded, %llu dropped, "
               "%llu duplicated, %llu reordered, %llu corrupted, %llu delayed, "
               "%llu send errors\n",
               direction_name[d], (unsigned long long)c->received, (unsigned long long)c->forwarded,
               (unsigned long long)c->dropped, (unsigned long long)c->duplicated,
               (unsigned long long)c->reordered, (unsigned long long)c->corrupted,
               (unsigned long long)c->delayed, (unsigned long long)c->send_errors);
    }
    printf("zcoap_lossy_relay: %zu clients, %llu refused (table full), %llu stray datagrams, "
           "%llu receive errors\n",
           r->n_sessions, (unsigned long long)r->sessions_refused,
           (unsigned long long)r->stray_datagrams, (unsigned long long)r->recv_errors);
    fflush(stdout);
}

static void close_handles(struct relay *r)
{
    for (size_t i = 0; i < r->n_sessions; i++) {
        if (r->sessions[i].open)
            uv_close((uv_handle_t *)&r->sessions[i].upstream, on_closed);
    }
    uv_close((uv_handle_t *)&r->listener, on_closed);
    uv_close((uv_handle_t *)&r->due_timer, on_closed);
    uv_close((uv_handle_t *)&r->stop_timer, on_closed);
    uv_close((uv_handle_t *)&r->sigint, on_closed);
    uv_close((uv_handle_t *)&r->sigterm, on_closed);
}

/* Prints the counters and closes every handle; datagrams not yet sent are dropped. */
static void stop(struct relay *r)
{
    if (r->stopping)
        return;
    r->stopping = true;
    print_counters(r);
    while (r->queue != NULL) {
        struct packet *p = r->queue;
        r->queue = p->next;
        free(p);
    }
    for (int d = 0; d < RELAY_DIRECTIONS; d++) {
        free(r->held[d]);
        r->held[d] = NULL;
    }
    close_handles(r);
}

static void on_signal(uv_signal_t *h, int sig)
{
    (void)sig;
    stop(h->data);
}

static void on_stop_timer(uv_timer_t *t)
{
    stop(t->data);
}

/* Writes the port to FILE through a temporary file and rename(), so a reader never sees half. */
static int write_port_file(const char *path, int port)
{
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (tmp == NULL)
        return -1;
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int rc = -1;
    if (f != NULL) {
        bool ok = fprintf(f, "%d\n", port) > 0;
        ok = fclose(f) == 0 && ok;
        if (ok && rename(tmp, path) == 0)
            rc = 0;
        else
            (void)remove(tmp);
    }
    free(tmp);
    return rc;
}

static int start(struct relay *r)
{
    const struct relay_args *a = &r->args;
    if (make_address(a->address, a->port, &r->listen_addr) != 0 ||
        make_address(a->address, a->server_port, &r->server_addr) != 0) {
        fprintf(stderr, "zcoap_lossy_relay: bad address %s\n", a->address);
        return -1;
    }
    if (!is_loopback(&r->listen_addr)) {
        fprintf(stderr, "zcoap_lossy_relay: %s is not a loopback address\n", a->address);
        return -1;
    }
    for (int d = 0; d < RELAY_DIRECTIONS; d++)
        r->rng[d] = a->seed ^ (0x5851f42d4c957f2du * (uint64_t)(d + 1));
    int rc = uv_udp_bind(&r->listener, (const struct sockaddr *)&r->listen_addr, 0);
    if (rc == 0) {
        int len = (int)sizeof(r->listen_addr);
        rc = uv_udp_getsockname(&r->listener, (struct sockaddr *)&r->listen_addr, &len);
    }
    if (rc == 0)
        rc = uv_udp_recv_start(&r->listener, on_alloc, on_listener_recv);
    if (rc == 0)
        rc = uv_signal_start(&r->sigint, on_signal, SIGINT);
    if (rc == 0)
        rc = uv_signal_start(&r->sigterm, on_signal, SIGTERM);
    if (rc == 0)
        rc = uv_timer_start(&r->stop_timer, on_stop_timer, (uint64_t)a->seconds * 1000u, 0);
    if (rc != 0) {
        fprintf(stderr, "zcoap_lossy_relay: %s\n", uv_strerror(rc));
        return -1;
    }
    int port = address_port(&r->listen_addr);
    if (a->port_file != NULL && write_port_file(a->port_file, port) != 0) {
        fprintf(stderr, "zcoap_lossy_relay: cannot write %s\n", a->port_file);
        return -1;
    }
    printf("zcoap_lossy_relay: listening on port %d, server port %d, seed %llu\n", port,
           a->server_port, (unsigned long long)a->seed);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    static struct relay relay; /* 64 KiB receive buffer and the session table: not on the stack */
    int parsed = relay_args_parse(&relay.args, argc, argv, stdout, stderr);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    struct relay *r = &relay;
    r->loop = uv_default_loop();
    r->loop->data = r;
    if (uv_udp_init(r->loop, &r->listener) != 0 || uv_timer_init(r->loop, &r->due_timer) != 0 ||
        uv_timer_init(r->loop, &r->stop_timer) != 0 || uv_signal_init(r->loop, &r->sigint) != 0 ||
        uv_signal_init(r->loop, &r->sigterm) != 0) {
        fprintf(stderr, "zcoap_lossy_relay: cannot set up the loop\n");
        return 1; /* these inits fail only on a broken system: no cleanup attempted */
    }
    r->listener.data = r->due_timer.data = r->stop_timer.data = r;
    r->sigint.data = r->sigterm.data = r;
    int status = 0;
    if (start(r) != 0) {
        status = 1;
        r->stopping = true; /* nothing to print: close quietly */
        close_handles(r);
    }
    (void)uv_run(r->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(r->loop) != 0)
        status = 1;
    return status;
}
