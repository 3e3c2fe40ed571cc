/*
 * zcoap_many_peers: does a CoAP server stay fast while it holds many live peers? (issue 4 "Scale
 * and cost", issue 7 matrix item 3)
 *
 *     zcoap_many_peers --server ADDR:PORT --peers P [--pid SERVER_PID] [--path hello] ...
 *
 * Phase 2 at P=0: one client socket (or --clients C, each its own peer) keeps W CON GETs
 *   outstanding for --seconds, --reps times (fresh sockets each time): median req/s, latency
 *   percentiles, server CPU per request.
 * Phase 1: P more client sockets, each bound to its own (source address, port) on 127/8, send one
 *   CON GET each; the server creates one peer per source and keeps it for its de-duplication
 *   window (EXCHANGE_LIFETIME, 247 s: RFC 7252 §4.8.2). Requests go out at a bounded window of
 *   outstanding ones so the server's socket buffer does not overflow; lost ones are retransmitted
 *   a bounded number of times (same message ID, as a CoAP retransmission) and reported.
 * Phase 2 again, with those P peers live: how much of the baseline is left.
 * The server's VmRSS/VmHWM (/proc/PID/status), CPU time (/proc/PID/stat) and its socket's drop
 * counter (/proc/net/udp) are read between phases; --hook runs a command around each phase 2
 * (bench/many_peers.sh uses it to zero and dump callgrind's counters).
 *
 * A socket is closed once its answer has arrived unless all P fit under RLIMIT_NOFILE: the
 * server's peer lives on regardless, since it is keyed by the source address only.
 * Every loop is bounded in count and time. Exit status 0 when every request got a 2.05, 3 when
 * some went unanswered or got another code, 1 on setup errors.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "zcoap/zcoap.h"

/* ---- options --------------------------------------------------------------------------------- */

typedef struct options {
    struct sockaddr_in server;
    long server_pid;       /* 0: no server probes */
    size_t peers;          /* P */
    const char *path;      /* Uri-Path of every request ("" for /) */
    unsigned window;       /* W of phase 2, per client socket */
    unsigned clients;      /* client sockets of phase 2 */
    double seconds;        /* length of each phase 2 */
    unsigned setup_window; /* outstanding requests in phase 1 */
    unsigned retries;      /* retransmissions per request in phase 1 */
    unsigned timeout_ms;   /* retransmission timeout (phase 1), request timeout (phase 2) */
    double setup_limit_s;  /* phase 1 gives up after this long */
    struct in_addr first;  /* first client source address */
    uint16_t port_lo;      /* client source ports used on each address */
    uint16_t port_hi;
    const char *label; /* server name for the CSV row */
    const char *csv;   /* append one row here */
    const char *hook;  /* shell command run around each phase 2 (e.g. callgrind_control) */
    bool baseline;     /* run phase 2 at P=0 first */
    unsigned reps;     /* phase 2 runs, each --seconds long; the median counts */
    double settle_s;   /* pause after phase 1 (the kernel frees the closed sockets) */
    long ref_rss_kb;   /* VmRSS of the same server with a pool of 1, or -1 */
} options_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: zcoap_many_peers --server ADDR:PORT --peers P [options]\n"
            "  --pid PID          server process to probe (VmRSS, VmHWM, CPU, socket drops)\n"
            "  --path PATH        Uri-Path of the requests (default hello; \"\" for /)\n"
            "  --window W         outstanding requests of each throughput client (default 16)\n"
            "  --clients C        throughput client sockets, each a peer of its own (default 1)\n"
            "  --seconds S        length of each throughput run (default 2)\n"
            "  --reps R           throughput runs per phase; the median counts (default 3)\n"
            "  --settle S         pause after creating the peers (default 1)\n"
            "  --ref-rss-kb KB    VmRSS of the server with an empty pool of 1, for RSS per peer\n"
            "  --setup-window K   outstanding requests while peers are created (default 64)\n"
            "  --retries N        retransmissions per peer request (default 4)\n"
            "  --timeout-ms T     retransmission / request timeout (default 1000)\n"
            "  --setup-limit S    give up creating peers after S seconds (default 150)\n"
            "  --first-addr A     first client source address (default 127.0.1.1)\n"
            "  --ports LO-HI      client source ports per address (default 10000-59999)\n"
            "  --no-baseline      skip the throughput phase at P=0\n"
            "  --label NAME       server name in the CSV row (default server)\n"
            "  --csv FILE         append one CSV row (header first if the file is empty)\n"
            "  --hook CMD         run `CMD baseline-start|baseline-end|live-start|live-end`\n");
}

static bool parse_server(const char *s, struct sockaddr_in *out)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
        return false;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    long port = strtol(colon + 1, NULL, 10);
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    return port > 0 && port < 65536 && inet_pton(AF_INET, host, &out->sin_addr) == 1;
}

static int parse_options(int argc, char **argv, options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->path = "hello";
    o->window = 16;
    o->clients = 1;
    o->seconds = 2.0;
    o->reps = 3;
    o->settle_s = 1.0;
    o->ref_rss_kb = -1;
    o->setup_window = 64;
    o->retries = 4;
    o->timeout_ms = 1000;
    o->setup_limit_s = 150.0;
    (void)inet_pton(AF_INET, "127.0.1.1", &o->first);
    o->port_lo = 10000;
    o->port_hi = 59999;
    o->label = "server";
    o->baseline = true;
    bool have_server = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--no-baseline") == 0) {
            o->baseline = false;
            continue;
        }
        if (v == NULL) {
            usage(stderr);
            return -1;
        }
        i++;
        if (strcmp(a, "--server") == 0) {
            have_server = parse_server(v, &o->server);
        } else if (strcmp(a, "--pid") == 0) {
            o->server_pid = strtol(v, NULL, 10);
        } else if (strcmp(a, "--peers") == 0) {
            o->peers = (size_t)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--path") == 0) {
            o->path = v;
        } else if (strcmp(a, "--window") == 0) {
            o->window = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--clients") == 0) {
            o->clients = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--seconds") == 0) {
            o->seconds = strtod(v, NULL);
        } else if (strcmp(a, "--reps") == 0) {
            o->reps = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--settle") == 0) {
            o->settle_s = strtod(v, NULL);
        } else if (strcmp(a, "--ref-rss-kb") == 0) {
            o->ref_rss_kb = strtol(v, NULL, 10);
        } else if (strcmp(a, "--setup-window") == 0) {
            o->setup_window = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--retries") == 0) {
            o->retries = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--timeout-ms") == 0) {
            o->timeout_ms = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--setup-limit") == 0) {
            o->setup_limit_s = strtod(v, NULL);
        } else if (strcmp(a, "--first-addr") == 0) {
            if (inet_pton(AF_INET, v, &o->first) != 1) {
                fprintf(stderr, "zcoap_many_peers: bad address %s\n", v);
                return -1;
            }
        } else if (strcmp(a, "--ports") == 0) {
            unsigned long lo = strtoul(v, NULL, 10);
            const char *dash = strchr(v, '-');
            unsigned long hi = dash != NULL ? strtoul(dash + 1, NULL, 10) : 0;
            if (lo == 0 || hi < lo || hi > 65535) {
                fprintf(stderr, "zcoap_many_peers: bad port range %s\n", v);
                return -1;
            }
            o->port_lo = (uint16_t)lo;
            o->port_hi = (uint16_t)hi;
        } else if (strcmp(a, "--label") == 0) {
            o->label = v;
        } else if (strcmp(a, "--csv") == 0) {
            o->csv = v;
        } else if (strcmp(a, "--hook") == 0) {
            o->hook = v;
        } else {
            usage(stderr);
            return -1;
        }
    }
    if (!have_server || o->window == 0 || o->window > 255 || o->clients == 0 || o->clients > 1024 ||
        o->setup_window == 0 || o->seconds <= 0 || o->seconds > 60 || o->timeout_ms == 0 ||
        o->retries > 16 || o->peers > 1000000 || o->reps == 0 || o->reps > 20 || o->settle_s < 0 ||
        o->settle_s > 30) {
        usage(stderr);
        return -1;
    }
    return 0;
}

/* ---- clocks and probes ----------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double own_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* What the server looks like at one moment; -1 where unknown. */
typedef struct probe {
    long rss_kb;
    long hwm_kb;
    double cpu_s;
    long drops;
} probe_t;

static long status_field_kb(const char *text, const char *name)
{
    const char *p = strstr(text, name);
    return p != NULL ? strtol(p + strlen(name), NULL, 10) : -1;
}

/* The drop counter of the UDP socket bound to the server's address (the last column of
 * /proc/net/udp): datagrams the kernel threw away because the receive buffer was full. */
static long udp_drops(const struct sockaddr_in *server)
{
    char want[32];
    char line[512];
    long drops = -1;
    snprintf(want, sizeof(want), "%08X:%04X ", (unsigned)server->sin_addr.s_addr,
             (unsigned)ntohs(server->sin_port));
    FILE *f = fopen("/proc/net/udp", "r");
    if (f == NULL)
        return -1;
    for (long n = 0; n < 2000000 && fgets(line, sizeof(line), f) != NULL; n++) {
        if (strstr(line, want) == NULL)
            continue;
        size_t end = strlen(line); /* the line ends in blanks: the count is the last word */
        while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\n'))
            line[--end] = '\0';
        const char *last = strrchr(line, ' ');
        if (last != NULL)
            drops = strtol(last + 1, NULL, 10);
        break;
    }
    fclose(f);
    return drops;
}

/* Datagrams dropped by the kernel before they reached any socket, summed over the CPUs: the
 * second column of /proc/net/softnet_stat (hex), the per-CPU backlog of loopback traffic
 * (net.core.netdev_max_backlog) overflowing. */
static long softnet_drops(void)
{
    char line[512];
    long sum = 0;
    FILE *f = fopen("/proc/net/softnet_stat", "r");
    if (f == NULL)
        return -1;
    for (int n = 0; n < 4096 && fgets(line, sizeof(line), f) != NULL; n++) {
        unsigned long processed = 0, dropped = 0;
        if (sscanf(line, "%lx %lx", &processed, &dropped) == 2)
            sum += (long)dropped;
    }
    fclose(f);
    return sum;
}

static probe_t probe_server(const options_t *o)
{
    probe_t p = {-1, -1, -1.0, -1};
    char path[64];
    char text[4096];
    if (o->server_pid <= 0)
        return p;
    snprintf(path, sizeof(path), "/proc/%ld/status", o->server_pid);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        text[n] = '\0';
        fclose(f);
        p.rss_kb = status_field_kb(text, "VmRSS:");
        p.hwm_kb = status_field_kb(text, "VmHWM:");
    }
    snprintf(path, sizeof(path), "/proc/%ld/stat", o->server_pid);
    f = fopen(path, "r");
    if (f != NULL) {
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        text[n] = '\0';
        fclose(f);
        /* Fields after the command name "(...)": state is field 3, utime 14, stime 15. */
        const char *p2 = strrchr(text, ')');
        unsigned long long utime = 0, stime = 0;
        if (p2 != NULL && sscanf(p2 + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                                 &utime, &stime) == 2)
            p.cpu_s = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
    }
    p.drops = udp_drops(&o->server);
    return p;
}

static void run_hook(const options_t *o, const char *what)
{
    char cmd[1024];
    if (o->hook == NULL)
        return;
    snprintf(cmd, sizeof(cmd), "%s %s", o->hook, what);
    if (system(cmd) != 0)
        fprintf(stderr, "zcoap_many_peers: hook `%s` failed\n", cmd);
}

/* ---- requests and answers -------------------------------------------------------------------- */

static ptrdiff_t build_get(uint8_t *buf, size_t cap, const char *path, uint16_t mid,
                           const uint8_t *token, size_t token_len)
{
    zcoap_builder_t b;
    (void)zcoap_builder_init(&b, buf, cap, ZCOAP_TYPE_CON, ZCOAP_GET, mid, token, token_len);
    (void)zcoap_builder_add_uri_path(&b, path, strlen(path));
    return zcoap_builder_finish(&b);
}

/* The code of a piggybacked answer (RFC 7252 §5.2.1) to the request with @p mid and @p token, or
 * -1 when the datagram is something else (a late duplicate, an empty ACK, garbage); a Reset to
 * @p mid gives 0. */
static int answer_code(const uint8_t *d, size_t n, uint16_t mid, const uint8_t *token,
                       size_t token_len)
{
    zcoap_msg_t m;
    if (zcoap_msg_parse(&m, d, n) != ZCOAP_OK || m.mid != mid)
        return -1;
    if (m.type == ZCOAP_TYPE_RST)
        return 0;
    if (m.type != ZCOAP_TYPE_ACK || m.code == ZCOAP_CODE_EMPTY || m.token_len != token_len ||
        memcmp(m.token, token, token_len) != 0)
        return -1;
    return m.code;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- phase 1: many peers, one request each --------------------------------------------------- */

enum peer_state { PEER_NEW, PEER_WAITING, PEER_OK, PEER_OTHER, PEER_LOST };

typedef struct peer {
    int fd;
    uint32_t slot; /* position in the outstanding list while waiting */
    double sent_at;
    double first_sent_at;
    uint8_t tries;
    uint8_t state;
    uint8_t code;
} peer_t;

typedef struct setup_result {
    size_t ok, other, lost, busy;
    size_t unsent; /* never sent: the time limit came first */
    size_t retransmits, send_errors, bind_skips;
    size_t answered_after_retransmit;
    double slowest_answer_s; /* from the first transmission */
    long backlog_drops;      /* datagrams the kernel dropped before any socket, -1 if unknown */
    size_t addresses;
    double seconds;
    double load_cpu_s;
    bool hold;
} setup_result_t;

/* The next free (address, port) for a client socket: ports LO..HI on the first address, then on
 * the next, and so on. Tuples another process holds are skipped (EADDRINUSE). */
typedef struct tuple_cursor {
    uint32_t addr; /* host byte order */
    uint32_t port;
    uint32_t first_addr;
} tuple_cursor_t;

static int open_peer_socket(const options_t *o, tuple_cursor_t *cur, setup_result_t *r)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    for (int attempt = 0; attempt < 4096; attempt++) {
        struct sockaddr_in a;
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(cur->addr);
        a.sin_port = htons((uint16_t)cur->port);
        uint32_t bound_addr = cur->addr;
        if (++cur->port > o->port_hi) {
            cur->port = o->port_lo;
            cur->addr++;
        }
        if (bind(fd, (const struct sockaddr *)&a, sizeof(a)) != 0) {
            if (errno == EADDRINUSE) {
                r->bind_skips++;
                continue;
            }
            int err = -errno;
            close(fd);
            return err;
        }
        r->addresses = bound_addr - cur->first_addr + 1u;
        /* Connected: only the server's answers reach this socket. */
        if (connect(fd, (const struct sockaddr *)&o->server, sizeof(o->server)) != 0) {
            int err = -errno;
            close(fd);
            return err;
        }
        return fd;
    }
    close(fd);
    return -EADDRINUSE;
}

static void peer_token(size_t index, uint8_t token[4])
{
    put_be32(token, (uint32_t)index);
}

static uint16_t peer_mid(size_t index)
{
    return (uint16_t)(index * 40503u + 1u); /* any value; distinct neighbours ease debugging */
}

static void peer_send(const options_t *o, peer_t *p, size_t index, setup_result_t *r)
{
    uint8_t buf[128];
    uint8_t token[4];
    peer_token(index, token);
    ptrdiff_t n = build_get(buf, sizeof(buf), o->path, peer_mid(index), token, sizeof(token));
    if (n <= 0 || send(p->fd, buf, (size_t)n, 0) != n)
        r->send_errors++; /* the retransmission timer covers it */
    p->sent_at = now_s();
}

static void peer_finish(peer_t *peers, size_t index, uint32_t *waiting, size_t *n_waiting,
                        uint8_t state, bool hold)
{
    peer_t *p = &peers[index];
    uint32_t last = waiting[--*n_waiting];
    waiting[p->slot] = last;
    peers[last].slot = p->slot;
    p->state = state;
    if (!hold || state == PEER_LOST) {
        close(p->fd); /* also leaves the epoll set */
        p->fd = -1;
    }
}

static int run_setup(const options_t *o, int epfd, peer_t *peers, setup_result_t *r)
{
    size_t window = o->setup_window < o->peers ? o->setup_window : o->peers;
    uint32_t *waiting = calloc(window + 1u, sizeof(*waiting));
    if (waiting == NULL)
        return -1;
    tuple_cursor_t cur = {ntohl(o->first.s_addr), o->port_lo, ntohl(o->first.s_addr)};
    size_t next = 0;
    size_t n_waiting = 0;
    int rc = 0;
    double start = now_s();
    double cpu0 = own_cpu_s();
    double last_scan = start;
    double timeout = o->timeout_ms * 1e-3;
    struct epoll_event events[256];
    while ((next < o->peers || n_waiting > 0) && now_s() - start < o->setup_limit_s) {
        while (next < o->peers && n_waiting < window) {
            peer_t *p = &peers[next];
            p->fd = open_peer_socket(o, &cur, r);
            if (p->fd < 0) {
                fprintf(stderr, "zcoap_many_peers: socket %zu: %s\n", next, strerror(-p->fd));
                rc = -1;
                goto out;
            }
            struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)next};
            if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd, &ev) != 0) {
                perror("zcoap_many_peers: epoll_ctl");
                rc = -1;
                goto out;
            }
            p->state = PEER_WAITING;
            p->slot = (uint32_t)n_waiting;
            waiting[n_waiting++] = (uint32_t)next;
            peer_send(o, p, next, r);
            p->first_sent_at = p->sent_at;
            next++;
        }
        int n = epoll_wait(epfd, events, 256, 5);
        for (int i = 0; i < n; i++) {
            size_t index = events[i].data.u32;
            peer_t *p = &peers[index];
            uint8_t buf[1500];
            uint8_t token[4];
            peer_token(index, token);
            for (int k = 0; k < 8 && p->state == PEER_WAITING; k++) {
                ssize_t got = recv(p->fd, buf, sizeof(buf), 0);
                if (got < 0)
                    break; /* EAGAIN, or ECONNREFUSED when no server listens: retransmit */
                int code = answer_code(buf, (size_t)got, peer_mid(index), token, sizeof(token));
                if (code < 0)
                    continue;
                p->code = (uint8_t)code;
                if (code == ZCOAP_SERVICE_UNAVAILABLE)
                    r->busy++;
                if (p->tries > 0)
                    r->answered_after_retransmit++;
                double took = now_s() - p->first_sent_at;
                if (took > r->slowest_answer_s)
                    r->slowest_answer_s = took;
                peer_finish(peers, index, waiting, &n_waiting,
                            code == ZCOAP_CONTENT ? PEER_OK : PEER_OTHER, r->hold);
            }
            if (p->state != PEER_WAITING && p->fd >= 0)
                (void)epoll_ctl(epfd, EPOLL_CTL_DEL, p->fd, NULL); /* held: no more wake-ups */
        }
        double now = now_s();
        if (now - last_scan < 0.05)
            continue;
        last_scan = now;
        for (size_t w = 0; w < n_waiting; w++) {
            size_t index = waiting[w];
            peer_t *p = &peers[index];
            if (now - p->sent_at < timeout)
                continue;
            if (p->tries >= o->retries) {
                peer_finish(peers, index, waiting, &n_waiting, PEER_LOST, r->hold);
                w--; /* the last one moved here */
                continue;
            }
            p->tries++;
            r->retransmits++;
            peer_send(o, p, index, r);
        }
    }
out:
    while (n_waiting > 0)
        peer_finish(peers, waiting[n_waiting - 1u], waiting, &n_waiting, PEER_LOST, r->hold);
    r->seconds = now_s() - start;
    r->load_cpu_s = own_cpu_s() - cpu0;
    for (size_t i = 0; i < o->peers; i++) {
        if (peers[i].state == PEER_OK)
            r->ok++;
        else if (peers[i].state == PEER_OTHER)
            r->other++;
        else if (peers[i].state == PEER_NEW)
            r->unsent++; /* the time limit (or a socket error) came first */
        else
            r->lost++;
    }
    free(waiting);
    return rc;
}

/* ---- phase 2: client sockets at a fixed window each ------------------------------------------ */

/* Latencies of every answered request of one phase, pooled over its runs. */
typedef struct latencies {
    uint32_t *us;
    size_t n, cap; /* beyond cap (1 M req/s on average): not recorded */
} latencies_t;

typedef struct window_run {
    size_t completed; /* answered with 2.05 within the timed span */
    size_t answered;  /* answered with 2.05, also while draining (what the server handled) */
    size_t other;     /* answered with another code */
    size_t timeouts;  /* no answer within timeout_ms */
    size_t stale;     /* answers to requests already counted as timed out */
    double seconds;
    double rps;
    double server_cpu_s; /* server CPU time during the span, -1 if unknown */
    double load_cpu_s;   /* ours */
} window_run_t;

/* One phase: --reps runs of --seconds each. */
typedef struct throughput {
    unsigned n_runs;
    double rps_median, rps_min, rps_max;
    size_t completed, answered, other, timeouts, stale;
    double server_us_per_req; /* -1 if unknown */
    double load_us_per_req;
    double p50_us, p90_us, p99_us, p999_us, max_us;
} throughput_t;

typedef struct window_slot {
    uint32_t seq;
    double sent_at;
    bool busy;
} window_slot_t;

/* One client socket of phase 2: its own source port, so its own peer in the server. */
typedef struct window_client {
    int fd;
    unsigned busy;
    uint32_t next_seq;
    window_slot_t slots[256];
} window_client_t;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const uint32_t *sorted, size_t n, double q)
{
    if (n == 0)
        return 0.0;
    size_t i = (size_t)(q * (double)(n - 1u) + 0.5);
    return (double)sorted[i < n ? i : n - 1u];
}

/* Send the request of slot @p s of client @p c with a fresh token (slot and sequence number). */
static void slot_send(const options_t *o, window_client_t *c, unsigned s)
{
    uint8_t buf[128];
    uint8_t token[5];
    window_slot_t *slot = &c->slots[s];
    slot->seq = c->next_seq++;
    token[0] = (uint8_t)s;
    put_be32(token + 1, slot->seq);
    /* One message ID per request; they wrap after 65,536 requests, which only matters to a
     * server remembering more than that many (zcoap remembers dedup_cap = 8 per peer). */
    ptrdiff_t n = build_get(buf, sizeof(buf), o->path, (uint16_t)slot->seq, token, 5);
    slot->sent_at = now_s();
    slot->busy = true;
    c->busy++;
    if (n > 0)
        (void)send(c->fd, buf, (size_t)n, 0); /* a loss shows up as a timeout */
}

/* Take every answer waiting on client @p c: latency, then the slot's next request while before
 * @p end. */
static void take_answers(const options_t *o, window_client_t *c, double end, latencies_t *lat,
                         window_run_t *r)
{
    for (int k = 0; k < 64; k++) {
        uint8_t buf[1500];
        ssize_t got = recv(c->fd, buf, sizeof(buf), 0);
        if (got < 0)
            break;
        zcoap_msg_t m;
        if (zcoap_msg_parse(&m, buf, (size_t)got) != ZCOAP_OK || m.token_len != 5 ||
            m.token[0] >= o->window)
            continue;
        unsigned s = m.token[0];
        uint32_t seq = (uint32_t)m.token[1] << 24 | (uint32_t)m.token[2] << 16 |
                       (uint32_t)m.token[3] << 8 | m.token[4];
        if (!c->slots[s].busy || c->slots[s].seq != seq) {
            r->stale++;
            continue;
        }
        double now = now_s();
        if (m.code == ZCOAP_CONTENT) {
            if (now <= end)
                r->completed++;
            r->answered++;
            if (lat->n < lat->cap)
                lat->us[lat->n++] = (uint32_t)((now - c->slots[s].sent_at) * 1e6 + 0.5);
        } else {
            r->other++;
        }
        c->slots[s].busy = false;
        c->busy--;
        if (now < end)
            slot_send(o, c, s);
    }
}

static int open_window_client(const options_t *o, window_client_t *c)
{
    c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in any;
    memset(&any, 0, sizeof(any));
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c->fd < 0 || bind(c->fd, (const struct sockaddr *)&any, sizeof(any)) != 0 ||
        connect(c->fd, (const struct sockaddr *)&o->server, sizeof(o->server)) != 0) {
        perror("zcoap_many_peers: client socket");
        return -1;
    }
    c->next_seq = (uint32_t)rand();
    return 0;
}

/* One run: fresh client sockets (so fresh peers of the server) keep W requests outstanding each
 * for --seconds, then wait up to timeout_ms for the last answers. */
static int run_window(const options_t *o, latencies_t *lat, window_run_t *r)
{
    memset(r, 0, sizeof(*r));
    window_client_t *clients = calloc(o->clients, sizeof(*clients));
    struct pollfd *pfds = calloc(o->clients, sizeof(*pfds));
    int rc = clients != NULL && pfds != NULL ? 0 : -1;
    for (unsigned i = 0; rc == 0 && i < o->clients; i++) {
        rc = open_window_client(o, &clients[i]);
        pfds[i].fd = clients[i].fd;
        pfds[i].events = POLLIN;
    }
    double timeout = o->timeout_ms * 1e-3;
    probe_t before = probe_server(o);
    double cpu0 = own_cpu_s();
    double start = now_s();
    double end = start + o->seconds;
    double drain_end = end + timeout;
    double last_scan = start;
    double now = start;
    unsigned busy = 0;
    for (unsigned i = 0; rc == 0 && i < o->clients; i++) {
        for (unsigned s = 0; s < o->window; s++)
            slot_send(o, &clients[i], s);
        busy += clients[i].busy;
    }
    while (rc == 0 && busy > 0 && now < drain_end) {
        int ready = poll(pfds, o->clients, 2);
        if (ready < 0 && errno != EINTR)
            break;
        for (unsigned i = 0; ready > 0 && i < o->clients; i++) {
            if (pfds[i].revents != 0)
                take_answers(o, &clients[i], end, lat, r);
        }
        now = now_s();
        if (now - last_scan >= 0.05) {
            last_scan = now;
            for (unsigned i = 0; i < o->clients; i++) {
                window_client_t *c = &clients[i];
                for (unsigned s = 0; s < o->window; s++) {
                    if (!c->slots[s].busy || now - c->slots[s].sent_at < timeout)
                        continue;
                    r->timeouts++;
                    c->slots[s].busy = false;
                    c->busy--;
                    if (now < end)
                        slot_send(o, c, s);
                }
            }
        }
        busy = 0;
        for (unsigned i = 0; i < o->clients; i++)
            busy += clients[i].busy;
    }
    r->timeouts += busy; /* still unanswered when the drain ended */
    r->seconds = (now < end ? now : end) - start;
    r->rps = r->seconds > 0 ? (double)r->completed / r->seconds : 0.0;
    r->load_cpu_s = own_cpu_s() - cpu0;
    probe_t after = probe_server(o);
    r->server_cpu_s = before.cpu_s >= 0 && after.cpu_s >= 0 ? after.cpu_s - before.cpu_s : -1.0;
    for (unsigned i = 0; clients != NULL && i < o->clients; i++) {
        if (clients[i].fd > 0)
            close(clients[i].fd);
    }
    free(clients);
    free(pfds);
    return rc;
}

static int measure_throughput(const options_t *o, const char *phase, throughput_t *t)
{
    memset(t, 0, sizeof(*t));
    latencies_t lat = {NULL, 0, (size_t)(o->seconds * o->reps * 1e6) + 1024u};
    lat.us = malloc(lat.cap * sizeof(*lat.us));
    double rps[20];
    double server_cpu = 0.0;
    double load_cpu = 0.0;
    bool cpu_known = true;
    char what[64];
    if (lat.us == NULL)
        return -1;
    snprintf(what, sizeof(what), "%s-start", phase);
    run_hook(o, what);
    for (unsigned i = 0; i < o->reps; i++) {
        window_run_t r;
        if (run_window(o, &lat, &r) != 0) {
            free(lat.us);
            return -1;
        }
        rps[t->n_runs++] = r.rps;
        t->completed += r.completed;
        t->answered += r.answered;
        t->other += r.other;
        t->timeouts += r.timeouts;
        t->stale += r.stale;
        server_cpu += r.server_cpu_s;
        cpu_known = cpu_known && r.server_cpu_s >= 0;
        load_cpu += r.load_cpu_s;
    }
    snprintf(what, sizeof(what), "%s-end", phase);
    run_hook(o, what);
    qsort(rps, t->n_runs, sizeof(rps[0]), cmp_double);
    t->rps_min = rps[0];
    t->rps_max = rps[t->n_runs - 1u];
    t->rps_median = t->n_runs % 2u == 1u ? rps[t->n_runs / 2u]
                                         : (rps[t->n_runs / 2u - 1u] + rps[t->n_runs / 2u]) / 2.0;
    t->server_us_per_req =
        cpu_known && t->completed > 0 ? server_cpu * 1e6 / (double)t->completed : -1.0;
    t->load_us_per_req = t->completed > 0 ? load_cpu * 1e6 / (double)t->completed : 0.0;
    qsort(lat.us, lat.n, sizeof(*lat.us), cmp_u32);
    t->p50_us = percentile(lat.us, lat.n, 0.50);
    t->p90_us = percentile(lat.us, lat.n, 0.90);
    t->p99_us = percentile(lat.us, lat.n, 0.99);
    t->p999_us = percentile(lat.us, lat.n, 0.999);
    t->max_us = lat.n > 0 ? (double)lat.us[lat.n - 1u] : 0.0;
    free(lat.us);
    return 0;
}

/* ---- report ---------------------------------------------------------------------------------- */

static void print_probe(const char *when, const probe_t *p)
{
    if (p->rss_kb < 0)
        return;
    printf("  server %-22s VmRSS %8ld KiB  VmHWM %8ld KiB  CPU %7.2f s  socket drops %ld\n", when,
           p->rss_kb, p->hwm_kb, p->cpu_s, p->drops);
}

static void print_throughput(const char *what, const throughput_t *t, const options_t *o)
{
    printf("  %s: %u client(s) at W=%u, %u runs of %.1f s: median %.0f req/s (min %.0f, max %.0f); "
           "latency us "
           "p50 %.0f p90 %.0f p99 %.0f p99.9 %.0f max %.0f; %zu answered, %zu timeouts, %zu "
           "other codes, %zu stale\n",
           what, o->clients, o->window, t->n_runs, o->seconds, t->rps_median, t->rps_min,
           t->rps_max, t->p50_us, t->p90_us, t->p99_us, t->p999_us, t->max_us, t->completed,
           t->timeouts, t->other, t->stale);
    printf("    CPU per answered request: server %.2f us, load generator %.2f us\n",
           t->server_us_per_req, t->load_us_per_req);
}

static const char csv_header[] =
    "server,peers,held,setup_s,setup_per_s,ok,other,lost,unsent,busy_503,retransmits,send_errors,"
    "bind_skips,addresses,ref_rss_kb,rss_start_kb,rss_base_kb,rss_setup_kb,rss_end_kb,hwm_end_kb,"
    "rss_delta_per_peer_b,rss_total_per_peer_b,drops_setup,drops_end,base_rps,base_rps_min,"
    "base_rps_max,base_p50_us,base_p99_us,base_p999_us,base_timeouts,base_srv_us_req,"
    "base_answered,live_rps,live_rps_min,live_rps_max,live_p50_us,live_p99_us,live_p999_us,"
    "live_timeouts,live_srv_us_req,live_answered,live_over_base,load_us_req\n";

typedef struct report {
    setup_result_t setup;
    probe_t probe[4]; /* start, after the baseline, after phase 1, after phase 2 */
    throughput_t base, live;
    double rss_delta_per_peer; /* bytes, -1 if unknown */
    double rss_total_per_peer; /* bytes above the reference server, -1 if unknown */
} report_t;

static void write_csv(const options_t *o, const report_t *r)
{
    FILE *f = fopen(o->csv, "a+");
    if (f == NULL) {
        perror(o->csv);
        return;
    }
    fseek(f, 0, SEEK_END);
    if (ftell(f) == 0)
        fputs(csv_header, f);
    const setup_result_t *s = &r->setup;
    const probe_t *pr = r->probe;
    fprintf(f,
            "%s,%zu,%d,%.3f,%.0f,%zu,%zu,%zu,%zu,%zu,%zu,%zu,%zu,%zu,%ld,%ld,%ld,%ld,%ld,%ld,%.0f,"
            "%.0f,%ld,%ld,",
            o->label, o->peers, s->hold ? 1 : 0, s->seconds,
            s->seconds > 0 ? (double)s->ok / s->seconds : 0.0, s->ok, s->other, s->lost, s->unsent,
            s->busy, s->retransmits, s->send_errors, s->bind_skips, s->addresses, o->ref_rss_kb,
            pr[0].rss_kb, pr[1].rss_kb, pr[2].rss_kb, pr[3].rss_kb, pr[3].hwm_kb,
            r->rss_delta_per_peer, r->rss_total_per_peer, pr[2].drops, pr[3].drops);
    const throughput_t *t[2] = {&r->base, &r->live};
    for (int i = 0; i < 2; i++)
        fprintf(f, "%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%zu,%.2f,%zu,", t[i]->rps_median, t[i]->rps_min,
                t[i]->rps_max, t[i]->p50_us, t[i]->p99_us, t[i]->p999_us, t[i]->timeouts,
                t[i]->server_us_per_req, t[i]->answered);
    fprintf(f, "%.3f,%.2f\n", r->base.rps_median > 0 ? r->live.rps_median / r->base.rps_median : 0,
            r->live.load_us_per_req);
    fclose(f);
}

/* Raise the soft limit on descriptors to the hard one, and the hard one toward fs.nr_open
 * (allowed with CAP_SYS_RESOURCE only). Returns the soft limit in force. */
static rlim_t raise_nofile(rlim_t want)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max < want) {
        struct rlimit more = {want, want};
        if (setrlimit(RLIMIT_NOFILE, &more) == 0)
            return want;
    }
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int main(int argc, char **argv)
{
    options_t o;
    if (parse_options(argc, argv, &o) != 0)
        return 1;
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows while a long run goes on */
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    rlim_t nofile = raise_nofile((rlim_t)o.peers + 256u);
    static report_t r;
    r.setup.hold = (rlim_t)o.peers + 64u <= nofile;
    r.rss_delta_per_peer = r.rss_total_per_peer = -1.0;
    char server_text[64];
    inet_ntop(AF_INET, &o.server.sin_addr, server_text, sizeof(server_text));
    printf("%s at %s:%u, %zu peers (RLIMIT_NOFILE %llu: client sockets %s)\n", o.label, server_text,
           (unsigned)ntohs(o.server.sin_port), o.peers, (unsigned long long)nofile,
           r.setup.hold ? "all held open" : "closed once answered");

    r.probe[0] = probe_server(&o);
    print_probe("at start", &r.probe[0]);
    bool all_ok = true;
    if (o.baseline) {
        if (measure_throughput(&o, "baseline", &r.base) != 0)
            return 1;
        print_throughput("throughput with 0 peers", &r.base, &o);
        all_ok = all_ok && r.base.timeouts == 0 && r.base.other == 0;
    }
    r.probe[1] = probe_server(&o);
    print_probe("after baseline", &r.probe[1]);

    peer_t *peers = calloc(o.peers + 1u, sizeof(*peers));
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (peers == NULL || epfd < 0) {
        perror("zcoap_many_peers");
        return 1;
    }
    const setup_result_t *s = &r.setup;
    long backlog0 = softnet_drops();
    int rc = run_setup(&o, epfd, peers, &r.setup);
    long backlog1 = softnet_drops();
    r.setup.backlog_drops = backlog0 >= 0 && backlog1 >= 0 ? backlog1 - backlog0 : -1;
    printf("  peers: %zu answered 2.05 in %.2f s (%.0f/s), %zu other answers (%zu 5.03), %zu "
           "unanswered, %zu not sent (time limit %.0f s); slowest answer %.3f s; %zu "
           "retransmissions (%zu answered after one), %zu send errors, %ld dropped by the kernel "
           "before a socket (softnet backlog); %zu source tuples in use skipped, %zu source "
           "addresses; load generator CPU %.2f s\n",
           s->ok, s->seconds, s->seconds > 0 ? (double)s->ok / s->seconds : 0.0, s->other, s->busy,
           s->lost, s->unsent, o.setup_limit_s, s->slowest_answer_s, s->retransmits,
           s->answered_after_retransmit, s->send_errors, s->backlog_drops, s->bind_skips,
           s->addresses, s->load_cpu_s);
    all_ok = all_ok && rc == 0 && s->ok == o.peers;
    r.probe[2] = probe_server(&o);
    print_probe("after creating peers", &r.probe[2]);
    sleep_s(o.settle_s);

    if (measure_throughput(&o, "live", &r.live) != 0)
        return 1;
    all_ok = all_ok && r.live.timeouts == 0 && r.live.other == 0;
    char what[64];
    snprintf(what, sizeof(what), "throughput with %zu peers", s->ok);
    print_throughput(what, &r.live, &o);
    r.probe[3] = probe_server(&o);
    print_probe("at end", &r.probe[3]);
    if (r.probe[1].rss_kb >= 0 && s->ok > 0) {
        r.rss_delta_per_peer =
            (double)(r.probe[2].rss_kb - r.probe[1].rss_kb) * 1024.0 / (double)s->ok;
        printf("  server RSS per peer: %.0f bytes while peers were created", r.rss_delta_per_peer);
        if (o.ref_rss_kb >= 0) {
            r.rss_total_per_peer =
                (double)(r.probe[2].rss_kb - o.ref_rss_kb) * 1024.0 / (double)s->ok;
            printf(", %.0f bytes above a server with a pool of 1 (%ld KiB)", r.rss_total_per_peer,
                   o.ref_rss_kb);
        }
        printf("\n");
    }
    if (o.baseline && r.base.rps_median > 0)
        printf("  throughput with %zu peers / with 0: %.3f\n", s->ok,
               r.live.rps_median / r.base.rps_median);
    if (o.csv != NULL)
        write_csv(&o, &r);
    for (size_t i = 0; i < o.peers; i++)
        if (peers[i].fd > 0)
            close(peers[i].fd);
    close(epfd);
    free(peers);
    printf("  %s\n", all_ok ? "every request answered 2.05" : "SOME REQUESTS FAILED");
    return all_ok ? 0 : 3;
}
