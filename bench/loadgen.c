/*
 * zcoap_loadgen: a CoAP load generator over UDP (issue 7): keeps W GET requests outstanding
 * against one server, from S client sockets (each its own peer), CON or NON, and reports req/s,
 * exact latency percentiles, timeouts, its own CPU share and (with --pid) the server's CPU per
 * request and RSS. Usage: --help; formats: bench/README.md.
 *
 * One thread, epoll over the S sockets, recvmmsg/sendmmsg batches, requests patched from a
 * template built once with zcoap's codec, answers parsed with it. Request i goes out on socket
 * i % S with token i (4 bytes) and message ID mid_base[socket] + i / S, so nothing per request
 * is stored but its send time (then its latency) and its state: a CON's answer must carry both
 * the MID and the token (RFC 7252 §5.3.2: piggybacked ACK), a NON's the token (§5.3.2, §4.3).
 * Requests are sent in index order with non-decreasing send times, so the oldest outstanding
 * one is the next to time out: one cursor finds them all. No retransmission: a lost request
 * is a timeout; a bench measures, it does not recover. --rate paces requests by a periodic
 * timerfd, a group of --pace-us worth of schedule per tick.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "loadgen_addr.h"
#include "loadgen_proc.h"
#include "loadgen_report.h"
#include "zcoap/zcoap.h"

enum {
    MAX_SOCKETS = 16384,
    MAX_WINDOW = 1000000,
    RECV_BATCH = 64,  /* datagrams per recvmmsg */
    SEND_ROUND = 256, /* requests built and sent per round */
    DATAGRAM_MAX = 2048,
    REQUEST_MAX = 320, /* header, token, Uri-Path options of a path up to MAX_PATH */
    MAX_PATH = 200,
    TOKEN_LEN = 4,
};
#define PACE_EVENT UINT32_MAX    /* epoll data of the pace timer; sockets have their index */
#define MAX_REQUESTS 50000000ull /* 9 bytes each: 450 MB at most */
#define NS_PER_S 1000000000ull

/* ---- options --------------------------------------------------------------------------------- */

typedef struct options {
    loadgen_addr_t server;
    const char *path;
    bool con;
    unsigned window;
    unsigned sockets;
    uint64_t requests;
    double seconds;
    double rate;    /* requests/s, 0: as fast as the window allows */
    double pace_us; /* with a rate: requests go out in groups of this many us of schedule */
    unsigned timeout_ms;
    long pid; /* 0: no server probes */
    const char *label;
    const char *csv;
    const char *series;
    const char *latencies;
    bool quiet;
    bool spin; /* poll without sleeping */
} options_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: zcoap_loadgen --server ADDR:PORT [options]\n"
            "CoAP GET load over UDP with W requests outstanding in total, spread over S client\n"
            "sockets (each its own peer, bound to loopback); ADDR may be [IPv6]:PORT.\n"
            "  --path PATH       Uri-Path (and ?query) of every request (default hello; \"\": /)\n"
            "  --type con|non    message type (default con)\n"
            "  --window W        outstanding requests in total (default 16)\n"
            "  --sockets S       client sockets; request i goes out on socket i %% S (default 1)\n"
            "  --requests N      stop after N requests sent and resolved (default 100000)\n"
            "  --seconds T       stop sending after T seconds (default 10)\n"
            "  --rate R          offered load in requests/s, still at most W outstanding; a late\n"
            "                    schedule catches up (default 0: as fast as the window allows)\n"
            "  --pace-us P       with --rate: send in groups, each time P us of the schedule\n"
            "                    is due (ceil(R * P) requests; default 100; 0: one by one)\n"
            "  --timeout-ms MS   a request unanswered this long is a timeout (default 2000)\n"
            "  --pid PID         server process: CPU per request and RSS from /proc/PID\n"
            "  --label TEXT      name of this run in the outputs (default loadgen)\n"
            "  --csv FILE        append one result row (header when the file is new or empty)\n"
            "  --series FILE     append one row per second: label,t_s,completed (cumulative),\n"
            "                    req_per_s,server_rss_kib,server_cpu_pct\n"
            "  --latencies FILE  write the latency CDF: percentile,latency_us\n"
            "  --spin            never sleep: poll the sockets in a loop (a whole core), so\n"
            "                    the load generator's own wake-ups stay out of the latency\n"
            "  --quiet           no result line on stdout (stderr still tells errors by code,\n"
            "                    late or unmatched answers, send and receive errors)\n"
            "Exit status: 0 every request completed 2.xx, 3 timeouts or other answers, 1 setup\n"
            "error, 2 usage.\n");
}

/* A whole decimal number in [lo, hi]. */
static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] == '\0' || s[0] == '-' || *end != '\0' || errno != 0 || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (s[0] == '\0' || *end != '\0' || errno != 0 || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

/* Parses one option with its value; false on an unknown option or a bad value. */
static bool parse_option(options_t *o, const char *name, const char *v, bool *have_server)
{
    uint64_t n = 0;
    bool ok = true;
    if (strcmp(name, "--server") == 0) {
        ok = *have_server = loadgen_addr_parse(v, false, &o->server);
    } else if (strcmp(name, "--path") == 0) {
        ok = strlen(v) <= MAX_PATH;
        o->path = v;
    } else if (strcmp(name, "--type") == 0) {
        ok = strcmp(v, "con") == 0 || strcmp(v, "non") == 0;
        o->con = strcmp(v, "con") == 0;
    } else if (strcmp(name, "--window") == 0) {
        ok = parse_u64(v, 1, MAX_WINDOW, &n);
        o->window = (unsigned)n;
    } else if (strcmp(name, "--sockets") == 0) {
        ok = parse_u64(v, 1, MAX_SOCKETS, &n);
        o->sockets = (unsigned)n;
    } else if (strcmp(name, "--requests") == 0) {
        ok = parse_u64(v, 1, MAX_REQUESTS, &o->requests);
    } else if (strcmp(name, "--seconds") == 0) {
        ok = parse_double(v, 0.001, 86400.0, &o->seconds);
    } else if (strcmp(name, "--rate") == 0) {
        ok = parse_double(v, 0.0, 1e9, &o->rate);
    } else if (strcmp(name, "--pace-us") == 0) {
        ok = parse_double(v, 0.0, 1e6, &o->pace_us);
    } else if (strcmp(name, "--timeout-ms") == 0) {
        ok = parse_u64(v, 1, 3600000, &n);
        o->timeout_ms = (unsigned)n;
    } else if (strcmp(name, "--pid") == 0) {
        ok = parse_u64(v, 1, 1u << 30, &n);
        o->pid = (long)n;
    } else if (strcmp(name, "--label") == 0) {
        o->label = v;
    } else if (strcmp(name, "--csv") == 0) {
        o->csv = v;
    } else if (strcmp(name, "--series") == 0) {
        o->series = v;
    } else if (strcmp(name, "--latencies") == 0) {
        o->latencies = v;
    } else {
        return false;
    }
    if (!ok)
        fprintf(stderr, "zcoap_loadgen: bad value for %s: '%s'\n", name, v);
    return ok;
}

/* 0: run, 1: --help printed, -1: usage error (printed). */
static int parse_options(int argc, char **argv, options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->path = "hello";
    o->con = true;
    o->window = 16;
    o->sockets = 1;
    o->requests = 100000;
    o->seconds = 10.0;
    o->timeout_ms = 2000;
    o->pace_us = 100.0;
    o->label = "loadgen";
    bool have_server = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(a, "--quiet") == 0 || strcmp(a, "--spin") == 0) {
            o->quiet = o->quiet || a[2] == 'q';
            o->spin = o->spin || a[2] == 's';
            continue;
        }
        if (i + 1 >= argc || !parse_option(o, a, argv[i + 1], &have_server)) {
            if (i + 1 >= argc)
                fprintf(stderr, "zcoap_loadgen: %s needs a value\n", a);
            usage(stderr);
            return -1;
        }
        i++;
    }
    if (!have_server) {
        fprintf(stderr, "zcoap_loadgen: --server ADDR:PORT is required\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

/* ---- the run's state ------------------------------------------------------------------------- */

enum request_state { REQ_UNSENT = 0, REQ_OUTSTANDING, REQ_COMPLETED, REQ_ERROR, REQ_TIMEOUT };

typedef struct counters {
    uint64_t completed, errors, timeouts;
    uint64_t stale;        /* answers to requests already resolved (late, duplicated) */
    uint64_t unmatched;    /* malformed, foreign token, wrong socket or MID */
    uint64_t empty_acks;   /* a CON acknowledged now, its answer to follow separately (§5.2.2) */
    uint64_t send_errors;  /* requests the kernel refused; they end as timeouts */
    uint64_t recv_errors;  /* e.g. ECONNREFUSED: nothing listens on the server's port */
    uint64_t recv_calls;   /* recvmmsg calls that returned datagrams */
    uint64_t datagrams_in; /* datagrams they returned */
    uint64_t error_codes[256]; /* errors by response code; a Reset under 0 */
} counters_t;

typedef struct run {
    const options_t *o;
    int epfd;
    int *fds;           /* S connected sockets */
    uint16_t *mid_base; /* first message ID of each socket (random) */
    uint8_t request[REQUEST_MAX];
    size_t request_len;

    uint64_t *t_ns;  /* per request: send time since start, then the latency once completed */
    uint8_t *state;  /* per request: enum request_state */
    uint64_t next;   /* the next request to send */
    uint64_t oldest; /* no request before it is outstanding */
    uint64_t inflight;
    uint64_t timeout_ns;
    uint64_t send_end_ns;    /* since start: nothing is sent after T */
    uint64_t pace_group;     /* --rate: requests per group (ceil(R * pace)), at least 1 */
    int pace_fd;             /* --rate: a periodic timerfd, one tick per group, or -1 */
    bool pace_tick;          /* it ticked since the last send */
    uint64_t last_answer_ns; /* since start */
    struct timespec start;
    counters_t c;

    struct mmsghdr recv_msgs[RECV_BATCH];
    struct iovec recv_iov[RECV_BATCH];
    uint8_t recv_buf[RECV_BATCH][DATAGRAM_MAX];
    struct mmsghdr send_msgs[SEND_ROUND];
    struct iovec send_iov[SEND_ROUND];
    uint8_t send_buf[SEND_ROUND][REQUEST_MAX];
} run_t;

static uint64_t ns_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - start->tv_sec) * NS_PER_S + (uint64_t)now.tv_nsec -
           (uint64_t)start->tv_nsec;
}

static unsigned socket_of(const run_t *r, uint64_t index)
{
    return (unsigned)(index % r->o->sockets);
}

static uint16_t mid_of(const run_t *r, uint64_t index)
{
    return (uint16_t)(r->mid_base[socket_of(r, index)] + (uint16_t)(index / r->o->sockets));
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- setup ----------------------------------------------------------------------------------- */

/* The request template: header, a 4-byte token and the Uri-Path/Uri-Query options; each request
 * patches its message ID (bytes 2-3) and token (bytes 4-7). */
static bool build_template(run_t *r)
{
    static const uint8_t token[TOKEN_LEN] = {0};
    zcoap_builder_t b;
    (void)zcoap_builder_init(&b, r->request, sizeof(r->request),
                             r->o->con ? ZCOAP_TYPE_CON : ZCOAP_TYPE_NON, ZCOAP_GET, 0, token,
                             sizeof(token));
    (void)zcoap_builder_add_uri_path(&b, r->o->path, strlen(r->o->path));
    ptrdiff_t n = zcoap_builder_finish(&b);
    if (n <= 0) {
        fprintf(stderr, "zcoap_loadgen: cannot encode the path '%s'\n", r->o->path);
        return false;
    }
    r->request_len = (size_t)n;
    return true;
}

/* Enough descriptors for S sockets: the soft limit raised toward the hard one. */
static bool fit_descriptors(unsigned sockets)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)sockets + 32u;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return false;
    if (rl.rlim_cur >= want)
        return true;
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want)
        fprintf(stderr, "zcoap_loadgen: %u sockets need %llu descriptors, the limit is %llu\n",
                sockets, (unsigned long long)want, (unsigned long long)rl.rlim_max);
    return rl.rlim_cur >= want;
}

/* One client socket: bound to loopback on a port of the kernel's choosing (so a peer of its own
 * for the server), connected to the server (only its datagrams arrive), blocking for sends
 * (loopback frees the send buffer at once) and read with MSG_DONTWAIT. */
static int open_client_socket(const run_t *r, unsigned index)
{
    const loadgen_addr_t *server = &r->o->server;
    loadgen_addr_t local;
    loadgen_addr_loopback(server, &local);
    int fd = socket(server->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rcvbuf = 1 << 20; /* room for a whole window of answers arriving while we send */
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = index};
    if (bind(fd, (const struct sockaddr *)&local.ss, local.len) != 0 ||
        connect(fd, (const struct sockaddr *)&server->ss, server->len) != 0 ||
        epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

static bool setup(run_t *r, const options_t *o)
{
    r->o = o;
    r->timeout_ns = (uint64_t)o->timeout_ms * 1000000u;
    r->send_end_ns = (uint64_t)(o->seconds * 1e9);
    double group = o->rate * o->pace_us * 1e-6;
    r->pace_group = group > 1.0 ? (uint64_t)group + (group > (double)(uint64_t)group) : 1u;
    if (!build_template(r) || !fit_descriptors(o->sockets))
        return false;
    r->fds = calloc(o->sockets, sizeof(*r->fds));
    r->mid_base = calloc(o->sockets, sizeof(*r->mid_base));
    /* calloc: zeroed (REQ_UNSENT) pages that become resident as requests use them, so a
     * generous N costs address space only (a page fault per 512 requests, a few ns each). */
    r->t_ns = calloc(o->requests, sizeof(*r->t_ns));
    r->state = calloc(o->requests, 1);
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (r->fds == NULL || r->mid_base == NULL || r->t_ns == NULL || r->state == NULL ||
        r->epfd < 0) {
        perror("zcoap_loadgen: setup");
        return false;
    }
    for (unsigned s = 0; s < o->sockets; s++)
        r->fds[s] = -1;
    for (unsigned s = 0; s < o->sockets; s++) {
        r->fds[s] = open_client_socket(r, s);
        if (r->fds[s] < 0) {
            fprintf(stderr, "zcoap_loadgen: client socket %u: %s\n", s, strerror(errno));
            return false;
        }
        r->mid_base[s] = (uint16_t)rand();
    }
    for (unsigned i = 0; i < RECV_BATCH; i++) {
        r->recv_iov[i] = (struct iovec){r->recv_buf[i], sizeof(r->recv_buf[i])};
        r->recv_msgs[i].msg_hdr.msg_iov = &r->recv_iov[i];
        r->recv_msgs[i].msg_hdr.msg_iovlen = 1;
    }
    for (unsigned i = 0; i < SEND_ROUND; i++) {
        r->send_iov[i] = (struct iovec){r->send_buf[i], r->request_len};
        r->send_msgs[i].msg_hdr.msg_iov = &r->send_iov[i];
        r->send_msgs[i].msg_hdr.msg_iovlen = 1;
        memcpy(r->send_buf[i], r->request, r->request_len);
    }
    return true;
}

static void teardown(run_t *r)
{
    for (unsigned s = 0; r->fds != NULL && s < r->o->sockets; s++)
        if (r->fds[s] >= 0)
            close(r->fds[s]);
    if (r->epfd >= 0)
        close(r->epfd);
    if (r->pace_fd >= 0)
        close(r->pace_fd);
    free(r->fds);
    free(r->mid_base);
    free(r->t_ns);
    free(r->state);
}

/* ---- sending --------------------------------------------------------------------------------- */

/* Sends @p n prepared messages on socket @p s; whatever the kernel refuses stays outstanding
 * and times out. */
static void send_batch(run_t *r, unsigned s, struct mmsghdr *msgs, unsigned n)
{
    unsigned done = 0;
    while (done < n) {
        int sent = sendmmsg(r->fds[s], msgs + done, n - done, 0);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0) {
            /* Skip the refused request (it will time out) and send the rest: a pending ICMP
             * error (ECONNREFUSED) fails one call and is cleared by it. */
            r->c.send_errors++;
            done++;
            continue;
        }
        done += (unsigned)sent;
    }
}

/* Sends requests next ... next + count - 1 (count <= SEND_ROUND), grouped by socket: request i
 * on socket i % S, so one sendmmsg per socket in this round. */
static void send_round(run_t *r, unsigned count)
{
    const unsigned sockets = r->o->sockets;
    const uint64_t first = r->next;
    const unsigned groups = count < sockets ? count : sockets;
    unsigned m = 0;
    uint64_t now = ns_since(&r->start);
    for (unsigned g = 0; g < groups; g++) {
        unsigned group_start = m;
        for (uint64_t i = first + g; i < first + count; i += sockets) {
            uint8_t *d = r->send_buf[m++];
            uint16_t mid = mid_of(r, i);
            d[2] = (uint8_t)(mid >> 8);
            d[3] = (uint8_t)mid;
            d[4] = (uint8_t)(i >> 24); /* the token: the request's index */
            d[5] = (uint8_t)(i >> 16);
            d[6] = (uint8_t)(i >> 8);
            d[7] = (uint8_t)i;
            r->t_ns[i] = now;
            r->state[i] = REQ_OUTSTANDING;
        }
        send_batch(r, socket_of(r, first + g), &r->send_msgs[group_start], m - group_start);
    }
    r->next += count;
    r->inflight += count;
}

/* How many requests may go out now: the window's free slots, what is left of N and, with
 * --rate, what the schedule allows (floor(elapsed * R) + 1 requests by now). Paced sends go out
 * in groups: at each tick of the pace timer, or between ticks once a whole group is due (a
 * window that was full has freed slots), so wake-ups and system calls are shared by a group. */
static uint64_t sendable(const run_t *r, uint64_t now_ns)
{
    const options_t *o = r->o;
    uint64_t n = o->window - r->inflight;
    if (o->requests - r->next < n)
        n = o->requests - r->next;
    if (o->rate > 0 && n > 0) {
        uint64_t due = (uint64_t)((double)now_ns * 1e-9 * o->rate) + 1u;
        uint64_t allowed = due > r->next ? due - r->next : 0;
        if (!r->pace_tick && allowed < r->pace_group)
            return 0;
        if (allowed < n)
            n = allowed;
    }
    return n;
}

static void fill_window(run_t *r, uint64_t now_ns)
{
    for (int rounds = 0; rounds < 1 + MAX_WINDOW / SEND_ROUND; rounds++) {
        uint64_t n = sendable(r, now_ns);
        if (n == 0)
            break;
        send_round(r, n < SEND_ROUND ? (unsigned)n : SEND_ROUND);
    }
    r->pace_tick = false;
}

/* ---- receiving ------------------------------------------------------------------------------- */

static void resolve(run_t *r, uint64_t index, uint8_t state)
{
    r->state[index] = state;
    r->inflight--;
}

/* A Reset carries no token: the request is the latest one on socket @p s with its MID. */
static void take_reset(run_t *r, unsigned s, uint16_t mid)
{
    const uint64_t sockets = r->o->sockets;
    const uint64_t cycle = sockets * 65536u;
    uint64_t index = s + sockets * (uint16_t)(mid - r->mid_base[s]);
    if (index >= r->next) {
        r->c.unmatched++;
        return;
    }
    index += (r->next - 1u - index) / cycle * cycle;
    if (r->state[index] != REQ_OUTSTANDING) {
        r->c.stale++;
        return;
    }
    r->c.errors++;
    r->c.error_codes[0]++;
    resolve(r, index, REQ_ERROR);
}

/* Acknowledges a separate response sent as CON (RFC 7252 §5.2.2), so the server stops
 * retransmitting it. */
static void ack_separate(run_t *r, unsigned s, uint16_t mid)
{
    const uint8_t ack[4] = {0x60, 0x00, (uint8_t)(mid >> 8), (uint8_t)mid}; /* ver 1, ACK */
    (void)send(r->fds[s], ack, sizeof(ack), MSG_DONTWAIT);
}

static void take_answer(run_t *r, unsigned s, const uint8_t *d, size_t len, uint64_t now)
{
    zcoap_msg_t m;
    if (zcoap_msg_parse(&m, d, len) != ZCOAP_OK) {
        r->c.unmatched++;
        return;
    }
    if (m.type == ZCOAP_TYPE_RST) {
        take_reset(r, s, m.mid);
        return;
    }
    if (m.code == ZCOAP_CODE_EMPTY) { /* the ACK of a separate response, or a ping */
        r->c.empty_acks++;
        return;
    }
    if (m.type == ZCOAP_TYPE_CON)
        ack_separate(r, s, m.mid);
    if (m.token_len != TOKEN_LEN) {
        r->c.unmatched++;
        return;
    }
    uint64_t index = get_be32(m.token);
    if (index >= r->next || socket_of(r, index) != s ||
        (m.type == ZCOAP_TYPE_ACK && (!r->o->con || m.mid != mid_of(r, index)))) {
        r->c.unmatched++;
        return;
    }
    if (r->state[index] != REQ_OUTSTANDING) {
        r->c.stale++;
        return;
    }
    uint64_t latency = now - r->t_ns[index];
    if (latency >= r->timeout_ns) { /* too late: a timeout, even if not yet swept */
        r->c.timeouts++;
        resolve(r, index, REQ_TIMEOUT);
        return;
    }
    r->last_answer_ns = now;
    if (ZCOAP_CODE_CLASS(m.code) == 2) {
        r->t_ns[index] = latency;
        r->c.completed++;
        resolve(r, index, REQ_COMPLETED);
    } else {
        r->c.errors++;
        r->c.error_codes[m.code]++;
        resolve(r, index, REQ_ERROR);
    }
}

/* Takes what waits on socket @p s: one recvmmsg, another only if the batch came back full
 * (epoll is level-triggered, so nothing is missed). */
static void receive(run_t *r, unsigned s)
{
    for (int calls = 0; calls < 16; calls++) {
        int n = recvmmsg(r->fds[s], r->recv_msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                r->c.recv_errors++;
            return;
        }
        uint64_t now = ns_since(&r->start);
        r->c.recv_calls++;
        r->c.datagrams_in += (unsigned)n;
        for (int i = 0; i < n; i++)
            take_answer(r, s, r->recv_buf[i], r->recv_msgs[i].msg_len, now);
        if (n < RECV_BATCH)
            return;
    }
}

/* Times out every outstanding request older than the timeout: they are the oldest ones. */
static void expire(run_t *r, uint64_t now)
{
    while (r->oldest < r->next) {
        if (r->state[r->oldest] == REQ_OUTSTANDING) {
            if (now - r->t_ns[r->oldest] < r->timeout_ns)
                return;
            r->c.timeouts++;
            resolve(r, r->oldest, REQ_TIMEOUT);
        }
        r->oldest++;
    }
}

/* ---- the loop -------------------------------------------------------------------------------- */

typedef struct series {
    FILE *f;
    uint64_t next_tick_ns;
    uint64_t last_ns;
    uint64_t last_completed;
    double last_server_cpu_s;
} series_t;

static void series_tick(run_t *r, series_t *se, uint64_t now)
{
    loadgen_proc_sample_t p = {-1.0, -1};
    if (r->o->pid > 0)
        (void)loadgen_proc_sample(r->o->pid, &p);
    double dt = (double)(now - se->last_ns) * 1e-9;
    double rps = dt > 0 ? (double)(r->c.completed - se->last_completed) / dt : 0.0;
    double cpu_pct = -1.0;
    if (p.cpu_s >= 0 && se->last_server_cpu_s >= 0 && dt > 0)
        cpu_pct = (p.cpu_s - se->last_server_cpu_s) / dt * 100.0;
    loadgen_series_row(se->f, r->o->label, (double)now * 1e-9, r->c.completed, rps, p.rss_kib,
                       cpu_pct);
    se->last_ns = now;
    se->last_completed = r->c.completed;
    se->last_server_cpu_s = p.cpu_s;
    se->next_tick_ns += NS_PER_S;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* A periodic timer whose ticks release --rate's groups: armed once, so waiting for an answer
 * or a tick arms no timer per wait (in a VM, arming and cancelling a timer per wait cost more
 * than the requests' own system calls). */
static bool start_pace_timer(run_t *r)
{
    r->pace_tick = true; /* the first group leaves at once */
    if (r->o->rate <= 0)
        return true;
    uint64_t interval = (uint64_t)((double)r->pace_group / r->o->rate * 1e9);
    if (interval < 1000u)
        interval = 1000u; /* 1 us: groups grow with the backlog beyond that */
    struct itimerspec its;
    its.it_interval.tv_sec = (time_t)(interval / NS_PER_S);
    its.it_interval.tv_nsec = (long)(interval % NS_PER_S);
    its.it_value = its.it_interval;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = PACE_EVENT};
    r->pace_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (r->pace_fd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->pace_fd, &ev) != 0 ||
        timerfd_settime(r->pace_fd, 0, &its, NULL) != 0) {
        perror("zcoap_loadgen: pace timer");
        return false;
    }
    return true;
}

static void take_pace_tick(run_t *r)
{
    uint64_t expirations;
    if (read(r->pace_fd, &expirations, sizeof(expirations)) == (ssize_t)sizeof(expirations))
        r->pace_tick = true;
}

/* Runs until N requests are resolved or T seconds are over and the last answers are in (or
 * have timed out). Bounded: nothing is sent after T, and every request resolves within the
 * timeout. */
static bool run_load(run_t *r, series_t *se)
{
    const options_t *o = r->o;
    const uint64_t send_end = r->send_end_ns;
    const uint64_t hard_end = send_end + r->timeout_ns + NS_PER_S; /* a safety net only */
    struct epoll_event events[256];
    clock_gettime(CLOCK_MONOTONIC, &r->start);
    if (!start_pace_timer(r))
        return false;
    for (;;) {
        uint64_t now = ns_since(&r->start);
        expire(r, now);
        bool sending = r->next < o->requests && now < send_end;
        if (sending)
            fill_window(r, now);
        if (se->f != NULL && now >= se->next_tick_ns)
            series_tick(r, se, now); /* before a possible end: T's own row too */
        if ((!sending && r->inflight == 0) || now >= hard_end)
            break;
        /* Sleep until an answer, a pace tick (--rate) or the next deadline: the oldest
         * request's timeout, the end of sending, the next series row. */
        uint64_t wake = hard_end;
        if (r->inflight > 0)
            wake = min_u64(wake, r->t_ns[r->oldest] + r->timeout_ns);
        if (sending)
            wake = min_u64(wake, send_end);
        if (se->f != NULL)
            wake = min_u64(wake, se->next_tick_ns);
        now = ns_since(&r->start);
        int timeout_ms =
            wake <= now || o->spin ? 0 : (int)min_u64((wake - now + 999999u) / 1000000u, 1000);
        int n = epoll_wait(r->epfd, events, 256, timeout_ms);
        for (int i = 0; i < n; i++) {
            if (events[i].data.u32 == PACE_EVENT)
                take_pace_tick(r);
            else
                receive(r, events[i].data.u32);
        }
    }
    return true;
}

/* ---- main ------------------------------------------------------------------------------------ */

/* Moves the latencies of the completed requests to the front of t_ns (in place). */
static loadgen_latencies_t collect_latencies(run_t *r)
{
    loadgen_latencies_t lat = {r->t_ns, 0};
    for (uint64_t i = 0; i < r->next; i++)
        if (r->state[i] == REQ_COMPLETED)
            r->t_ns[lat.n++] = r->t_ns[i];
    loadgen_latencies_sort(&lat);
    return lat;
}

static void print_notes(const run_t *r)
{
    const counters_t *c = &r->c;
    if (c->errors > 0) {
        fprintf(stderr, "zcoap_loadgen: %s: errors:", r->o->label);
        for (unsigned code = 0; code < 256; code++) {
            if (c->error_codes[code] == 0)
                continue;
            if (code == 0)
                fprintf(stderr, " Reset x%llu", (unsigned long long)c->error_codes[code]);
            else
                fprintf(stderr, " %u.%02u x%llu", code >> 5, code & 31u,
                        (unsigned long long)c->error_codes[code]);
        }
        fputc('\n', stderr);
    }
    if (c->stale + c->unmatched + c->empty_acks + c->send_errors + c->recv_errors == 0)
        return;
    fprintf(stderr,
            "zcoap_loadgen: %s: %llu late or duplicate answers, %llu unmatched datagrams, %llu "
            "empty ACKs, %llu send errors, %llu receive errors\n",
            r->o->label, (unsigned long long)c->stale, (unsigned long long)c->unmatched,
            (unsigned long long)c->empty_acks, (unsigned long long)c->send_errors,
            (unsigned long long)c->recv_errors);
}

int main(int argc, char **argv)
{
    options_t o;
    int parsed = parse_options(argc, argv, &o);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    static run_t r; /* its batch buffers are large: not on the stack */
    r.epfd = -1;
    r.pace_fd = -1;
    series_t se = {NULL, NS_PER_S, 0, 0, -1.0};
    if (!setup(&r, &o) || (o.series != NULL && (se.f = loadgen_series_open(o.series)) == NULL)) {
        teardown(&r);
        return 1;
    }
    loadgen_proc_sample_t server0 = {-1.0, -1};
    loadgen_proc_sample_t server1 = {-1.0, -1};
    if (o.pid > 0 && !loadgen_proc_sample(o.pid, &server0))
        fprintf(stderr, "zcoap_loadgen: cannot read /proc/%ld, no server figures\n", o.pid);
    se.last_server_cpu_s = server0.cpu_s;
    double cpu0 = loadgen_own_cpu_s();
    if (!run_load(&r, &se)) {
        teardown(&r);
        return 1;
    }
    uint64_t wall_ns = ns_since(&r.start);
    double cpu1 = loadgen_own_cpu_s();
    if (o.pid > 0)
        (void)loadgen_proc_sample(o.pid, &server1);
    r.c.timeouts += r.inflight; /* only if the safety net ended the loop */

    loadgen_result_t res;
    memset(&res, 0, sizeof(res));
    res.label = o.label;
    res.type = o.con ? "con" : "non";
    res.window = o.window;
    res.sockets = o.sockets;
    res.sent = r.next;
    res.completed = r.c.completed;
    res.errors = r.c.errors;
    res.timeouts = r.c.timeouts;
    res.seconds = (double)(r.last_answer_ns > 0 ? r.last_answer_ns : wall_ns) * 1e-9;
    res.req_per_s = res.seconds > 0 ? (double)res.completed / res.seconds : 0.0;
    res.loadgen_cpu_pct = wall_ns > 0 ? (cpu1 - cpu0) / ((double)wall_ns * 1e-9) * 100.0 : 0.0;
    res.server_cpu_us_per_req = -1.0;
    if (server0.cpu_s >= 0 && server1.cpu_s >= 0 && res.completed > 0)
        res.server_cpu_us_per_req = (server1.cpu_s - server0.cpu_s) * 1e6 / (double)res.completed;
    res.server_rss_kib = server1.rss_kib;
    loadgen_latencies_t lat = collect_latencies(&r);
    loadgen_result_set_latency(&res, &lat);

    bool written = true;
    if (!o.quiet)
        loadgen_print_line(stdout, &res);
    print_notes(&r);
    if (o.csv != NULL)
        written = loadgen_append_csv(o.csv, &res) && written;
    if (o.latencies != NULL)
        written = loadgen_write_cdf(o.latencies, &lat) && written;
    if (se.f != NULL)
        written = fclose(se.f) == 0 && written;
    teardown(&r);
    if (!written)
        return 1;
    return res.errors == 0 && res.timeouts == 0 && res.completed == res.sent ? 0 : 3;
}
