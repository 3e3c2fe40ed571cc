/*
 * zcoap_many_endpoints: many client endpoints on one libuv loop, the gateway side (issue 7,
 * matrix item 4; goal: 100,000 endpoints on one loop in under 300 MB RSS).
 *
 *     zcoap_many_endpoints --server ADDR:PORT --endpoints N [--requests K] [--loss PCT --seed S]
 *
 * N zcoap_uv_client_t, allocated in one array, share one loop (one thread). Each has its own UDP
 * socket, bound to a source (address, port) of its own on 127/8 (ports 10000-59999 of 127.0.8.1,
 * then of .2, ...; never one another client had in the run) and connected to the server, and
 * makes K CON GET /hello in sequence, the next from the event that ends the last. All make their
 * first request in one callback (or spread over --ramp-ms). With --loss, each client's datagram
 * hook drops PCT % of its datagrams both ways (a seeded generator per client), so requests are
 * retransmitted (RFC 7252 §4.2); the hook times each retransmission against the deadline the
 * endpoint had set for it (zcoap_ep_next_deadline(), read in a uv_check_t after every loop
 * iteration in which the client sent a CON).
 *
 * Printed: completion time (first request to last answer), answers and timeouts, VmRSS before
 * the clients are created and with all of them alive (per endpoint: the difference / N), the
 * sizes of what a client holds, the lateness of retransmissions, the loop's longest iteration,
 * and the CPU time of the loop, the server (--pid) and the machine. --csv appends one row.
 *
 * When N sockets do not fit under RLIMIT_NOFILE (raised to its hard limit first), every client is
 * still created but at most as many as fit have a socket at once: a client closes once its K
 * requests are over and the next one starts (waves); RSS with all N alive is then the peak. Every
 * loop is bounded in count and time (--seconds). Exit status 0 when every request ended (and,
 * without loss, every one was answered 2.05), 3 otherwise, 1 on setup errors.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "zcoap/uv.h"

enum {
    FD_RESERVE = 64,      /* descriptors kept for libuv (epoll, eventfd), stdio, files */
    BIND_ATTEMPTS = 4096, /* source tuples tried per client before giving up */
    MAX_REQUESTS = 100,
    PROGRESS_MS = 5000,
    /* waves: clients started per loop iteration once sockets free up, so that starting them
     * (bind, connect, first request: some 30-50 us each) never holds the loop for long */
    ADMIT_PER_ITERATION = 128,
    /* MAX_RETRANSMIT of the endpoints (RFC 7252 §4.8 default): timing samples per request */
    RETRANSMISSIONS_PER_REQUEST = 4
};

/* ---- options --------------------------------------------------------------------------------- */

typedef struct options {
    struct sockaddr_in server;
    size_t endpoints;        /* N */
    unsigned requests;       /* K per endpoint */
    unsigned loss_percent;   /* each way, in each client's hook */
    uint32_t seed;           /* of the loss */
    uint32_t ack_timeout_ms; /* ACK_TIMEOUT (RFC 7252 §4.8) */
    /* the endpoints' buffers: the library's defaults (NULL config) unless one of these is given */
    bool custom;
    size_t msg_cap;
    size_t resp_slots;
    size_t dedup;
    size_t observations;
    double seconds;       /* hard bound of the run */
    unsigned ramp_ms;     /* spread the first requests over this long (0: all at once) */
    size_t max_open;      /* sockets open at once (0: as many as RLIMIT_NOFILE allows) */
    struct in_addr first; /* first source address */
    uint16_t port_lo;     /* source ports used on each address */
    uint16_t port_hi;
    bool bind; /* bind each client to a source (address, port) of its own */
    const char *path;
    const char *csv;
    long server_pid; /* 0: the server's CPU is not read */
    bool quiet;
} options_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: zcoap_many_endpoints --server ADDR:PORT [options]\n"
            "  --endpoints N      client endpoints on the loop (default 1000)\n"
            "  --requests K       CON GETs per endpoint, one after the other (default 3)\n"
            "  --path PATH        Uri-Path of the requests (default hello)\n"
            "  --loss PCT         drop PCT %% of each client's datagrams, both ways (default 0)\n"
            "  --seed S           seed of the loss (default 1)\n"
            "  --ack-timeout-ms T ACK_TIMEOUT of every endpoint (default 2000, RFC 7252)\n"
            "  --msg-cap B        message buffer size of every endpoint (default %d)\n"
            "  --resp-slots R     responses kept per endpoint (default %d)\n"
            "  --dedup D          message IDs remembered per endpoint (default %d)\n"
            "  --observations O   observations per endpoint (default %d)\n"
            "                     (any of the last four: the benchmark gives each endpoint its\n"
            "                     buffers from one array; none: a configuration without\n"
            "                     buffers, which the library allocates: the request buffer at\n"
            "                     init, the response slot only when the peer sends a request)\n"
            "  --seconds T        hard bound of the run (default 120)\n"
            "  --ramp-ms R        spread the first requests over R ms (default 0: all at once)\n"
            "  --max-open M       at most M sockets at once (default: RLIMIT_NOFILE - %d)\n"
            "  --first-addr A     first source address (default 127.0.8.1)\n"
            "  --ports LO-HI      source ports used on each address (default 10000-59999)\n"
            "  --no-bind          let connect() pick the source address and port\n"
            "  --pid PID          the server's process, for its CPU time during the run\n"
            "  --csv FILE         append one row (header first if the file is new)\n"
            "  --quiet            only the summary\n",
            ZCOAP_MAX_MSG_SIZE, ZCOAP_EP_DEFAULT_RESP_SLOTS, ZCOAP_EP_DEFAULT_DEDUP,
            ZCOAP_EP_DEFAULT_OBSERVATIONS, FD_RESERVE);
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
    return port > 0 && port < 65536 && uv_ip4_addr(host, (int)port, out) == 0;
}

static int parse_options(int argc, char **argv, options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->endpoints = 1000;
    o->requests = 3;
    o->seed = 1;
    o->ack_timeout_ms = 2000;
    o->msg_cap = ZCOAP_MAX_MSG_SIZE;
    o->resp_slots = ZCOAP_EP_DEFAULT_RESP_SLOTS;
    o->dedup = ZCOAP_EP_DEFAULT_DEDUP;
    o->observations = ZCOAP_EP_DEFAULT_OBSERVATIONS;
    o->seconds = 120.0;
    o->bind = true;
    o->path = "hello";
    (void)inet_pton(AF_INET, "127.0.8.1", &o->first);
    o->port_lo = 10000;
    o->port_hi = 59999;
    bool have_server = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = true;
            continue;
        } else if (strcmp(a, "--no-bind") == 0) {
            o->bind = false;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (v == NULL) {
            usage(stderr);
            return -1;
        }
        if (strcmp(a, "--server") == 0) {
            have_server = parse_server(v, &o->server);
        } else if (strcmp(a, "--endpoints") == 0) {
            o->endpoints = (size_t)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--requests") == 0) {
            o->requests = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--path") == 0) {
            o->path = v;
        } else if (strcmp(a, "--loss") == 0) {
            o->loss_percent = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--seed") == 0) {
            o->seed = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--ack-timeout-ms") == 0) {
            o->ack_timeout_ms = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--msg-cap") == 0) {
            o->msg_cap = (size_t)strtoul(v, NULL, 10);
            o->custom = true;
        } else if (strcmp(a, "--resp-slots") == 0) {
            o->resp_slots = (size_t)strtoul(v, NULL, 10);
            o->custom = true;
        } else if (strcmp(a, "--dedup") == 0) {
            o->dedup = (size_t)strtoul(v, NULL, 10);
            o->custom = true;
        } else if (strcmp(a, "--observations") == 0) {
            o->observations = (size_t)strtoul(v, NULL, 10);
            o->custom = true;
        } else if (strcmp(a, "--seconds") == 0) {
            o->seconds = strtod(v, NULL);
        } else if (strcmp(a, "--ramp-ms") == 0) {
            o->ramp_ms = (unsigned)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--max-open") == 0) {
            o->max_open = (size_t)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--first-addr") == 0) {
            if (inet_pton(AF_INET, v, &o->first) != 1) {
                fprintf(stderr, "zcoap_many_endpoints: bad address %s\n", v);
                return -1;
            }
        } else if (strcmp(a, "--ports") == 0) {
            unsigned long lo = strtoul(v, NULL, 10);
            const char *dash = strchr(v, '-');
            unsigned long hi = dash != NULL ? strtoul(dash + 1, NULL, 10) : 0;
            if (lo == 0 || hi < lo || hi > 65535) {
                fprintf(stderr, "zcoap_many_endpoints: bad port range %s\n", v);
                return -1;
            }
            o->port_lo = (uint16_t)lo;
            o->port_hi = (uint16_t)hi;
        } else if (strcmp(a, "--csv") == 0) {
            o->csv = v;
        } else if (strcmp(a, "--pid") == 0) {
            o->server_pid = strtol(v, NULL, 10);
        } else {
            usage(stderr);
            return -1;
        }
    }
    if (!have_server || o->endpoints == 0 || o->endpoints > 1000000 || o->requests == 0 ||
        o->requests > MAX_REQUESTS || o->loss_percent > 90 || o->ack_timeout_ms < 10 ||
        o->ack_timeout_ms > 60000 || o->msg_cap < 16 || o->msg_cap >= ZCOAP_UV_CLIENT_RX_SIZE ||
        o->resp_slots < 1 || o->resp_slots > 127 || o->dedup < 1 || o->dedup > 127 ||
        o->observations > 64 || !(o->seconds > 0) || o->seconds > 3600 || o->ramp_ms > 600000 ||
        strlen(o->path) > 200) {
        usage(stderr);
        return -1;
    }
    return 0;
}

/* ---- probes ---------------------------------------------------------------------------------- */

/* A field of /proc/self/status in KiB (VmRSS, VmHWM), or -1. */
static long self_status_kib(const char *name)
{
    char line[256];
    long kib = -1;
    size_t n = strlen(name);
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    for (int i = 0; i < 200 && fgets(line, sizeof(line), f) != NULL; i++) {
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            kib = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

/* The kernel's slab memory in KiB (/proc/meminfo), or -1: what sockets cost outside the
 * process's RSS. System-wide, so other processes move it too. */
static long slab_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f == NULL)
        return -1;
    for (int i = 0; i < 100 && fgets(line, sizeof(line), f) != NULL; i++) {
        if (strncmp(line, "Slab:", 5) == 0) {
            kib = strtol(line + 5, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

/* The drop counter of the server's UDP socket (last column of /proc/net/udp), or -1: datagrams
 * its kernel buffer had no room for. */
static long server_socket_drops(const struct sockaddr_in *server)
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
        size_t end = strlen(line);
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

/* CPU seconds (user + system) of process @p pid so far (/proc/PID/stat), or -1. */
static double process_cpu_s(long pid)
{
    char path[64];
    char text[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1.0;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    /* After the command name "(...)": state is field 3, utime 14, stime 15. */
    const char *p = strrchr(text, ')');
    unsigned long long utime = 0, stime = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1.0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds all cores of the machine have been busy so far (/proc/stat), or -1: with this
 * process's and the server's, what else ran during the run. */
static double machine_busy_s(void)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return -1.0;
    int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                     &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (got != 8)
        return -1.0;
    /* user nice system idle iowait irq softirq steal: all but idle and iowait */
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* Raise the soft limit on descriptors to @p want, up to the hard limit (raising the hard one
 * needs CAP_SYS_RESOURCE). Returns the soft limit in force; @p hard gets the hard one. */
static rlim_t raise_nofile(rlim_t want, rlim_t *hard)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
        struct rlimit more = {want, want};
        (void)setrlimit(RLIMIT_NOFILE, &more); /* works with CAP_SYS_RESOURCE only */
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    *hard = rl.rlim_max;
    return rl.rlim_cur;
}

/* ---- the run's state ------------------------------------------------------------------------- */

enum endpoint_flags {
    EP_HAVE_CON = 1,  /* con_mid holds the last CON request sent */
    EP_DEADLINE = 2,  /* deadline belongs to deadline_mid */
    EP_DIRTY = 4,     /* sent a CON in this loop iteration: read the deadline in the check */
    EP_SOCKET = 8,    /* has a socket (bound or connected), not closed yet */
    EP_STARTED = 16,  /* its first request was made */
    EP_FINISHED = 32, /* its K requests are over (or it failed) */
    EP_CLOSING = 64   /* zcoap_uv_client_close() called */
};

/* What the benchmark keeps per endpoint, beside the client (allocated and touched before the
 * first RSS reading, so that the RSS difference is the clients'). */
typedef struct endpoint {
    uint64_t deadline;     /* loop ms at which the endpoint retransmits deadline_mid */
    uint64_t sent_loop_ms; /* loop time when con_mid last went out */
    uint64_t sent_hr_us;   /* uv_hrtime() then, in microseconds */
    uint32_t rng;          /* xorshift32 state of the loss */
    uint16_t con_mid;
    uint16_t deadline_mid;
    uint8_t requests; /* requests made */
    uint8_t flags;
} endpoint_t;

/* Retransmission timing samples, in ms. */
typedef struct samples {
    float *v;
    size_t n, cap, dropped;
} samples_t;

typedef struct bench {
    options_t o;
    uv_loop_t loop;
    uv_timer_t stop_timer;
    uv_timer_t start_timer;
    uv_timer_t progress_timer;
    uv_check_t check;
    uv_idle_t admitter; /* waves: starts the next clients while sockets are free */
    zcoap_uv_client_t *clients;
    uint8_t *buffers; /* custom configuration: every endpoint's buffers, storage_size each */
    size_t storage_size;
    endpoint_t *eps;
    uint32_t *dirty;
    size_t n_dirty;
    size_t n_inited;
    char uri[320];
    /* progress */
    size_t next_start; /* clients [0, next_start) have started */
    size_t sockets;    /* clients with a socket, not closed */
    size_t max_open;
    size_t finished;
    size_t closing; /* close callbacks still due */
    uint64_t t0_us; /* first request */
    uint64_t t_last_us;
    uint64_t t_done_us;
    bool started;
    bool stopped_by_time;
    bool ending; /* tearing down: no client starts any more */
    /* outcomes */
    size_t requests_made, answered, other_codes, timeouts, resets, request_errors;
    size_t bind_errors, connect_errors, bind_skips, wrong_tokens;
    uint32_t next_addr, next_port; /* the next source tuple (host order) */
    int last_setup_error;
    size_t hook_retransmissions;
    samples_t late_hr;   /* uv_hrtime() at the retransmission - the deadline */
    samples_t late_loop; /* uv_now() at the retransmission - the deadline */
    samples_t interval;  /* (actual - intended) time between the two transmissions */
    /* the loop's work per iteration (between two checks, less the time it slept in epoll) */
    uint64_t check_prev_ns, idle_prev_ns;
    uint64_t iterations, busy_max_ns, busy_over_10ms, busy_over_100ms;
    size_t burst_requests; /* the first requests, made in one callback */
    uint64_t burst_ns;
} bench_t;

static bench_t B;

static uint64_t hr_us(void)
{
    return uv_hrtime() / 1000u;
}

static uint32_t xorshift32(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

/* A generator per client, from the seed and the client's index: client i loses the same
 * datagrams whatever N is and however the loop interleaves the clients. */
static uint32_t loss_seed(uint32_t seed, size_t i)
{
    uint64_t z = ((uint64_t)seed << 32 | (uint32_t)i) + 0x9E3779B97F4A7C15u;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    z ^= z >> 31;
    uint32_t s = (uint32_t)z;
    return s != 0 ? s : 0x6D2B79F5u;
}

static void sample_add(samples_t *s, double v)
{
    if (s->n < s->cap)
        s->v[s->n++] = (float)v;
    else
        s->dropped++;
}

static size_t index_of(const zcoap_uv_client_t *c)
{
    return (size_t)(c - B.clients);
}

/* ---- timing of retransmissions --------------------------------------------------------------- */

static void mark_dirty(size_t i)
{
    endpoint_t *e = &B.eps[i];
    if ((e->flags & EP_DIRTY) == 0) {
        e->flags |= EP_DIRTY;
        B.dirty[B.n_dirty++] = (uint32_t)i; /* each index once: n_dirty <= N */
    }
}

/* The datagram hook: times the retransmissions of CON requests (an outgoing CON with the message
 * ID of the last one, RFC 7252 §4.2), then drops loss_percent of the datagrams each way. It only
 * reads the loop's clock: the endpoint must not be called from here. */
static bool on_datagram(void *ctx, zcoap_uv_datagram_dir_t dir, const struct sockaddr *peer,
                        const uint8_t *data, size_t len)
{
    zcoap_uv_client_t *c = ctx;
    size_t i = index_of(c);
    endpoint_t *e = &B.eps[i];
    (void)peer;
    zcoap_msg_t m;
    if (dir == ZCOAP_UV_DATAGRAM_OUT && zcoap_msg_parse(&m, data, len) == ZCOAP_OK &&
        m.type == ZCOAP_TYPE_CON && zcoap_code_is_request(m.code)) {
        uint64_t now_hr = hr_us();
        uint64_t now_loop = uv_now(&B.loop);
        if ((e->flags & EP_HAVE_CON) != 0 && m.mid == e->con_mid) {
            B.hook_retransmissions++;
            if ((e->flags & EP_DEADLINE) != 0 && e->deadline_mid == m.mid) {
                sample_add(&B.late_hr, (double)now_hr / 1000.0 - (double)e->deadline);
                sample_add(&B.late_loop, (double)now_loop - (double)e->deadline);
                double intended = (double)e->deadline - (double)e->sent_loop_ms;
                double actual = (double)(now_hr - e->sent_hr_us) / 1000.0;
                sample_add(&B.interval, actual - intended);
            }
        }
        e->con_mid = m.mid;
        e->flags = (uint8_t)((e->flags | EP_HAVE_CON) & ~EP_DEADLINE);
        e->sent_loop_ms = now_loop;
        e->sent_hr_us = now_hr;
        mark_dirty(i);
    }
    return xorshift32(&e->rng) % 100u >= B.o.loss_percent;
}

/* After each loop iteration: how long its work took (a timer cannot fire while the loop works),
 * and the deadline each client that sent a CON has set for its retransmission. A
 * retransmission is due at least ACK_TIMEOUT later, in a later iteration. */
static void on_check(uv_check_t *h)
{
    (void)h;
    uint64_t now = uv_hrtime();
    uint64_t idle = uv_metrics_idle_time(&B.loop);
    if (B.check_prev_ns != 0) {
        uint64_t busy = (now - B.check_prev_ns) - (idle - B.idle_prev_ns);
        B.iterations++;
        B.busy_max_ns = busy > B.busy_max_ns ? busy : B.busy_max_ns;
        B.busy_over_10ms += busy > 10000000u;
        B.busy_over_100ms += busy > 100000000u;
    }
    B.check_prev_ns = now;
    B.idle_prev_ns = idle;
    for (size_t k = 0; k < B.n_dirty; k++) {
        size_t i = B.dirty[k];
        endpoint_t *e = &B.eps[i];
        e->flags = (uint8_t)(e->flags & ~EP_DIRTY);
        if ((e->flags & (EP_CLOSING | EP_HAVE_CON)) != EP_HAVE_CON)
            continue;
        uint64_t d = zcoap_ep_next_deadline(zcoap_uv_client_endpoint(&B.clients[i]));
        if (d != ZCOAP_NEVER && d != 0) {
            e->deadline = d;
            e->deadline_mid = e->con_mid;
            e->flags |= EP_DEADLINE;
        }
    }
    B.n_dirty = 0;
}

/* ---- endpoints ------------------------------------------------------------------------------- */

static void on_admitter(uv_idle_t *h);

static void on_client_closed(zcoap_uv_client_t *c)
{
    endpoint_t *e = &B.eps[index_of(c)];
    if ((e->flags & EP_SOCKET) != 0) {
        e->flags = (uint8_t)(e->flags & ~EP_SOCKET);
        B.sockets--;
    }
    B.closing--;
    if (B.started && !B.stopped_by_time && !B.ending)
        (void)uv_idle_start(&B.admitter, on_admitter); /* a socket is free for the next client */
}

static void close_client(size_t i)
{
    endpoint_t *e = &B.eps[i];
    if ((e->flags & EP_CLOSING) != 0)
        return;
    e->flags |= EP_CLOSING;
    B.closing++;
    zcoap_uv_client_close(&B.clients[i], on_client_closed);
}

static void finish(size_t i)
{
    endpoint_t *e = &B.eps[i];
    if ((e->flags & EP_FINISHED) != 0)
        return;
    e->flags |= EP_FINISHED;
    B.finished++;
    if (B.max_open < B.o.endpoints && (e->flags & EP_SOCKET) != 0)
        close_client(i); /* waves: its socket goes to the next client */
    if (B.finished == B.o.endpoints) {
        B.t_done_us = hr_us();
        uv_stop(&B.loop);
    }
}

/* The next request of client @p i, or its end. */
static void next_request(size_t i)
{
    endpoint_t *e = &B.eps[i];
    if (e->requests >= B.o.requests) {
        finish(i);
        return;
    }
    int rc = zcoap_uv_client_request(&B.clients[i], ZCOAP_TYPE_CON, ZCOAP_GET, B.uri, NULL, 0);
    if (rc != 0) {
        B.request_errors++;
        B.last_setup_error = rc;
        finish(i);
        return;
    }
    e->requests++;
    B.requests_made++;
}

static void on_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    switch (ev->kind) {
    case ZCOAP_EV_OUT_RESPONSE:
        if (ev->has_msg && ev->msg.code == ZCOAP_CONTENT)
            B.answered++;
        else
            B.other_codes++;
        break;
    case ZCOAP_EV_OUT_TIMEOUT:
        B.timeouts++;
        break;
    case ZCOAP_EV_OUT_RESET:
        B.resets++;
        break;
    case ZCOAP_EV_OUT_WRONG_TOKEN:
        B.wrong_tokens++; /* an ACK to our message ID with another token: see the README */
        return;
    default:
        return; /* CON_SENT, EMPTY_ACK...: the exchange goes on */
    }
    B.t_last_us = hr_us();
    next_request(index_of(c)); /* from the callback, as the adapter allows */
}

/* Bind client @p c to the next free source tuple: ports LO..HI of the first address, then of the
 * next, and so on. Each tuple serves one client only in a run: a server keeps a peer's
 * de-duplication state for EXCHANGE_LIFETIME (247 s), so a new client on a tuple just closed
 * could meet its predecessor's message IDs (see the README). Tuples another process holds are
 * skipped. 0 or the libuv error. */
static int bind_next(zcoap_uv_client_t *c)
{
    int rc = UV_EADDRINUSE;
    for (int attempt = 0; attempt < BIND_ATTEMPTS && rc == UV_EADDRINUSE; attempt++) {
        struct sockaddr_in local;
        memset(&local, 0, sizeof(local));
        local.sin_family = AF_INET;
        local.sin_addr.s_addr = htonl(B.next_addr);
        local.sin_port = htons((uint16_t)B.next_port);
        if (++B.next_port > B.o.port_hi) {
            B.next_port = B.o.port_lo;
            B.next_addr++;
        }
        rc = zcoap_uv_client_bind(c, (const struct sockaddr *)&local);
        B.bind_skips += rc == UV_EADDRINUSE;
    }
    return rc;
}

static void print_addr(const char *what, uint32_t addr, uint32_t port)
{
    printf("%s%u.%u.%u.%u:%u", what, (unsigned)(addr >> 24), (unsigned)(addr >> 16 & 255u),
           (unsigned)(addr >> 8 & 255u), (unsigned)(addr & 255u), (unsigned)port);
}

/* The socket of client @p i: bound to a source tuple of its own, then connected. 0 or the
 * libuv error. */
static int open_socket(size_t i)
{
    zcoap_uv_client_t *c = &B.clients[i];
    endpoint_t *e = &B.eps[i];
    int rc = 0;
    if (B.o.bind) {
        rc = bind_next(c);
        if (rc == 0) {
            e->flags |= EP_SOCKET;
            B.sockets++;
        } else {
            B.bind_errors++;
        }
    }
    if (rc == 0) {
        rc = zcoap_uv_client_connect(c, (const struct sockaddr *)&B.o.server);
        if ((e->flags & EP_SOCKET) == 0 && rc != UV_EMFILE && rc != UV_ENFILE) {
            e->flags |= EP_SOCKET; /* uv_udp_connect() made it, whatever came next */
            B.sockets++;
        }
        if (rc != 0)
            B.connect_errors++;
    }
    if (rc != 0)
        B.last_setup_error = rc;
    return rc;
}

/* Start client @p i: its socket if it has none yet, then its first request. False when no
 * socket is free now. */
static bool start_endpoint(size_t i)
{
    endpoint_t *e = &B.eps[i];
    if ((e->flags & EP_SOCKET) == 0) {
        if (B.sockets >= B.max_open)
            return false;
        if (open_socket(i) != 0) {
            e->flags |= EP_STARTED;
            finish(i);
            close_client(i); /* a failed bind may leave a socket behind */
            return true;
        }
    }
    e->flags |= EP_STARTED;
    next_request(i);
    return true;
}

/* Start up to @p limit clients, as many as the ramp and the sockets allow now. Returns how many
 * started. */
static size_t admit(size_t limit)
{
    size_t first = B.next_start;
    size_t n = B.o.endpoints;
    size_t allowed = n;
    if (B.o.ramp_ms > 0) {
        double elapsed_ms = (double)(hr_us() - B.t0_us) / 1000.0;
        double share = elapsed_ms / (double)B.o.ramp_ms;
        allowed = share >= 1.0 ? n : (size_t)(share * (double)n) + 1u;
    }
    while (B.next_start < allowed && B.next_start < n && B.next_start - first < limit) {
        if (!start_endpoint(B.next_start))
            break;
        B.next_start++;
    }
    if (allowed >= n)
        (void)uv_timer_stop(&B.start_timer); /* the ramp is over: the admitter does the rest */
    return B.next_start - first;
}

/* Waves: once per loop iteration while sockets are free, the next few clients. */
static void on_admitter(uv_idle_t *h)
{
    if (admit(ADMIT_PER_ITERATION) < ADMIT_PER_ITERATION)
        (void)uv_idle_stop(h); /* no socket free, or no client left: the next close restarts it */
}

static void on_start_timer(uv_timer_t *t)
{
    (void)t;
    if (!B.started) {
        B.started = true;
        B.t0_us = hr_us();
        uint64_t t0 = uv_hrtime();
        (void)admit(SIZE_MAX); /* all together: the sockets that fit are open already */
        B.burst_ns = uv_hrtime() - t0;
        B.burst_requests = B.requests_made;
        return;
    }
    (void)admit(SIZE_MAX);
}

static void on_stop_timer(uv_timer_t *t)
{
    (void)t;
    B.stopped_by_time = true;
    uv_stop(&B.loop);
}

static void on_progress_timer(uv_timer_t *t)
{
    (void)t;
    printf("  %6.1f s: %zu of %zu endpoints done, %zu answered, %zu timeouts, %zu sockets open\n",
           (double)(hr_us() - B.t0_us) / 1e6, B.finished, B.o.endpoints, B.answered, B.timeouts,
           B.sockets);
}

/* ---- report ---------------------------------------------------------------------------------- */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a;
    float y = *(const float *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

typedef struct summary {
    double p50, p99, max, min;
    bool valid;
} summary_t;

static summary_t summarize(samples_t *s)
{
    summary_t r = {0, 0, 0, 0, false};
    if (s->n == 0)
        return r;
    qsort(s->v, s->n, sizeof(*s->v), cmp_float);
    r.p50 = s->v[(s->n - 1u) / 2u];
    r.p99 = s->v[(size_t)((double)(s->n - 1u) * 0.99)];
    r.max = s->v[s->n - 1u];
    r.min = s->v[0];
    r.valid = true;
    return r;
}

#define MEMBER_SIZE(member) sizeof(((zcoap_uv_client_t *)NULL)->member)

#define STORAGE_SIZE(member) sizeof(((zcoap_ep_storage_t *)NULL)->member)

/* Where the bytes of one client go: the members every version of the adapter has, and the
 * sizes of what a client holds, embedded or allocated, depending on the version. */
static void print_client_layout(void)
{
    const struct {
        const char *name;
        size_t size;
    } parts[] = {
        {"ep", MEMBER_SIZE(ep)},
        {"udp", MEMBER_SIZE(udp)},
        {"timer", MEMBER_SIZE(timer)},
        {"resolver", MEMBER_SIZE(resolver)},
        {"peer_addr", MEMBER_SIZE(peer_addr)},
        {"stats", MEMBER_SIZE(stats)},
        {"obs", MEMBER_SIZE(obs)},
        {"xfer", MEMBER_SIZE(xfer)},
    };
    size_t total = sizeof(zcoap_uv_client_t);
    size_t listed = 0;
    printf("  sizeof(zcoap_uv_client_t) = %zu bytes:", total);
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        printf(" %s %zu,", parts[i].name, parts[i].size);
        listed += parts[i].size;
    }
    printf(" the rest %zu (receive buffer and storage where embedded, callbacks, hook, flags, "
           "padding)\n",
           total - listed);
    printf("  what a client holds: zcoap_ep_storage_t %zu (req %zu, resp %zu, dedup %zu, "
           "observations %zu), receive buffer ZCOAP_UV_CLIENT_RX_SIZE %d, observation URIs %d x "
           "%zu, transfer %zu; this run's endpoint buffers: %s %zu bytes\n",
           sizeof(zcoap_ep_storage_t), STORAGE_SIZE(req), STORAGE_SIZE(resp), STORAGE_SIZE(dedup),
           STORAGE_SIZE(observations), ZCOAP_UV_CLIENT_RX_SIZE, ZCOAP_UV_CLIENT_OBSERVATIONS,
           sizeof(zcoap__uv_observation_t), sizeof(zcoap__uv_transfer_t),
           B.o.custom ? "the benchmark's," : "allocated by the library (no response slot yet),",
           B.storage_size);
}

/* What one run measured. */
typedef struct report {
    double seconds; /* first request to last answer */
    long rss_before, rss_inited, rss_connected, rss_after, rss_peak; /* KiB */
    long rss_live;        /* with all N endpoints alive: rss_after, or rss_peak in waves */
    double per_endpoint;  /* (rss_live - rss_before) / N, bytes */
    double client_cpu_s;  /* this process, during the run */
    double server_cpu_s;  /* the server (--pid), or -1 */
    double machine_cpu_s; /* every core, or -1 */
    uint64_t retransmissions;
    long server_drops; /* or -1 */
    summary_t late, late_loop, interval;
} report_t;

/* rss_kib is the RSS with all N endpoints alive: after the run, or the peak when they ran in
 * waves (the finished ones are closed by then, and the library frees what it allocated). */
static const char csv_header[] =
    "endpoints,requests,completed,timeouts,seconds,rss_kib,rss_per_endpoint_b,client_struct_b,"
    "timer_late_p50_ms,timer_late_p99_ms,timer_late_max_ms,loss_pct,max_open,ramp_ms,"
    "ack_timeout_ms,storage_b,rss_before_kib,rss_after_kib,rss_peak_kib,retransmissions,"
    "client_cpu_s,server_cpu_s,machine_cpu_s,loop_max_work_ms,first_burst_ms\n";

static void write_csv(const report_t *r)
{
    FILE *f = fopen(B.o.csv, "a+");
    if (f == NULL) {
        perror(B.o.csv);
        return;
    }
    fseek(f, 0, SEEK_END);
    if (ftell(f) == 0)
        fputs(csv_header, f);
    fprintf(f, "%zu,%u,%zu,%zu,%.3f,%ld,%.0f,%zu,", B.o.endpoints, B.o.requests, B.answered,
            B.timeouts, r->seconds, r->rss_live, r->per_endpoint, sizeof(zcoap_uv_client_t));
    if (r->late.valid)
        fprintf(f, "%.3f,%.3f,%.3f,", r->late.p50, r->late.p99, r->late.max);
    else
        fputs(",,,", f);
    fprintf(f, "%u,%zu,%u,%u,%zu,%ld,%ld,%ld,%llu,%.3f,%.3f,%.3f,%.1f,%.1f\n", B.o.loss_percent,
            B.max_open, B.o.ramp_ms, B.o.ack_timeout_ms, B.storage_size, r->rss_before,
            r->rss_after, r->rss_peak, (unsigned long long)r->retransmissions, r->client_cpu_s,
            r->server_cpu_s, r->machine_cpu_s, (double)B.busy_max_ns / 1e6,
            (double)B.burst_ns / 1e6);
    fclose(f);
}

/* ---- setup and teardown ---------------------------------------------------------------------- */

static int alloc_samples(samples_t *s, size_t cap)
{
    s->v = calloc(cap, sizeof(*s->v));
    if (s->v == NULL)
        return -1;
    memset(s->v, 0xff, cap * sizeof(*s->v)); /* touched now, not during the run */
    s->cap = cap;
    return 0;
}

/* The buffers of a custom configuration: request, responses, de-duplication ring and
 * observations of one endpoint, each aligned to 8 bytes. */
static size_t align8(size_t n)
{
    return (n + 7u) & ~(size_t)7u;
}

/* What the endpoint's buffers take: the benchmark's, or what zcoap_uv_client_init() allocates
 * for a configuration without buffers (uv_adapter/client.c: request buffer, de-duplication ring,
 * observations; the response slot is lent at the peer's first request, which never comes here). */
static size_t storage_size(const options_t *o)
{
    if (!o->custom)
        return align8(ZCOAP_MAX_MSG_SIZE) +
               align8(ZCOAP_EP_DEFAULT_DEDUP * sizeof(zcoap_dedup_entry_t)) +
               ZCOAP_EP_DEFAULT_OBSERVATIONS * sizeof(zcoap_ep_observation_t);
    return align8(o->msg_cap) + align8(o->resp_slots * o->msg_cap) +
           align8(o->dedup * sizeof(zcoap_dedup_entry_t)) +
           align8(o->observations * sizeof(zcoap_ep_observation_t));
}

static void custom_config(zcoap_ep_config_t *cfg, uint8_t *p)
{
    const options_t *o = &B.o;
    zcoap_ep_config_default(cfg, NULL);
    cfg->tx.ack_timeout_ms = o->ack_timeout_ms;
    cfg->msg_cap = o->msg_cap;
    cfg->req_buf = p;
    p += align8(o->msg_cap);
    cfg->resp_store = p;
    cfg->resp_slots = o->resp_slots;
    p += align8(o->resp_slots * o->msg_cap);
    cfg->dedup = (zcoap_dedup_entry_t *)(void *)p;
    cfg->dedup_cap = o->dedup;
    p += align8(o->dedup * sizeof(zcoap_dedup_entry_t));
    cfg->observations = o->observations > 0 ? (zcoap_ep_observation_t *)(void *)p : NULL;
    cfg->observations_cap = o->observations;
}

/* Init every client (zcoap_uv_client_init() clears it, so its memory is touched here). */
static int init_clients(void)
{
    size_t n = B.o.endpoints;
    for (size_t i = 0; i < n; i++) {
        zcoap_uv_client_t *c = &B.clients[i];
        zcoap_ep_config_t cfg;
        if (B.o.custom) {
            custom_config(&cfg, B.buffers + i * B.storage_size); /* rng NULL: the adapter's */
        } else {
            zcoap_ep_config_default(&cfg, NULL); /* no buffers: the library allocates them */
            cfg.tx.ack_timeout_ms = B.o.ack_timeout_ms;
        }
        int rc = zcoap_uv_client_init(&B.loop, c, &cfg, on_event);
        if (rc != 0) {
            fprintf(stderr, "zcoap_many_endpoints: client %zu: %s\n", i, zcoap_uv_strerror(rc));
            return -1;
        }
        B.n_inited++;
        if (B.o.loss_percent > 0) {
            B.eps[i].rng = loss_seed(B.o.seed, i);
            zcoap_uv_client_set_hook(c, on_datagram, c);
        }
    }
    return 0;
}

/* Close everything and run the loop until the close callbacks are in (bounded). */
static void teardown(void)
{
    B.ending = true;
    for (size_t i = 0; i < B.n_inited; i++)
        close_client(i);
    uv_close((uv_handle_t *)&B.stop_timer, NULL);
    uv_close((uv_handle_t *)&B.start_timer, NULL);
    uv_close((uv_handle_t *)&B.progress_timer, NULL);
    uv_close((uv_handle_t *)&B.check, NULL);
    uv_close((uv_handle_t *)&B.admitter, NULL);
    for (int round = 0; round < 100 && uv_run(&B.loop, UV_RUN_NOWAIT) != 0; round++)
        ;
    if (B.closing != 0 || uv_loop_close(&B.loop) != 0)
        fprintf(stderr, "zcoap_many_endpoints: %zu clients still closing at exit\n", B.closing);
}

int main(int argc, char **argv)
{
    options_t *o = &B.o;
    if (parse_options(argc, argv, o) != 0)
        return 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    size_t n = o->endpoints;
    rlim_t hard = 0;
    rlim_t nofile = raise_nofile((rlim_t)n + FD_RESERVE, &hard);
    size_t fit = nofile > FD_RESERVE ? (size_t)(nofile - FD_RESERVE) : 0;
    B.max_open = n < fit ? n : fit;
    if (o->max_open > 0 && o->max_open < B.max_open)
        B.max_open = o->max_open;
    if (B.max_open == 0) {
        fprintf(stderr, "zcoap_many_endpoints: RLIMIT_NOFILE %llu leaves no descriptor\n",
                (unsigned long long)nofile);
        return 1;
    }
    char host[64];
    uv_ip4_name(&o->server, host, sizeof(host));
    snprintf(B.uri, sizeof(B.uri), "coap://%s:%u/%s", host, (unsigned)ntohs(o->server.sin_port),
             o->path);
    printf("zcoap_many_endpoints: %zu endpoints on one loop, %u CON GET each to %s, loss %u %% "
           "(seed %u), ACK_TIMEOUT %u ms, %s\n",
           n, o->requests, B.uri, o->loss_percent, o->seed, o->ack_timeout_ms,
           o->custom ? "buffers from the benchmark" : "buffers the library allocates");
    if (B.max_open < n)
        printf("  RLIMIT_NOFILE %llu (hard %llu): %zu sockets fit at once, not %zu; every "
               "endpoint is created, at most %zu have a socket at a time (waves: an endpoint "
               "closes after its %u requests and the next one starts)\n",
               (unsigned long long)nofile, (unsigned long long)hard, B.max_open, n, B.max_open,
               o->requests);
    else
        printf("  RLIMIT_NOFILE %llu (hard %llu): all %zu sockets open at once\n",
               (unsigned long long)nofile, (unsigned long long)hard, n);

    /* What the benchmark needs besides the clients, allocated and touched before the first
     * reading of RSS. */
    B.next_addr = ntohl(o->first.s_addr);
    B.next_port = o->port_lo;
    if (uv_loop_init(&B.loop) != 0 || uv_loop_configure(&B.loop, UV_METRICS_IDLE_TIME) != 0)
        return 1;
    B.eps = calloc(n, sizeof(*B.eps));
    B.dirty = calloc(n, sizeof(*B.dirty));
    if (B.eps == NULL || B.dirty == NULL)
        return 1;
    memset(B.eps, 0, n * sizeof(*B.eps));
    memset(B.dirty, 0xff, n * sizeof(*B.dirty));
    if (o->loss_percent > 0) {
        size_t cap = n * o->requests * RETRANSMISSIONS_PER_REQUEST + 16u;
        if (alloc_samples(&B.late_hr, cap) != 0 || alloc_samples(&B.late_loop, cap) != 0 ||
            alloc_samples(&B.interval, cap) != 0)
            return 1;
    }
    (void)uv_timer_init(&B.loop, &B.stop_timer);
    (void)uv_timer_init(&B.loop, &B.start_timer);
    (void)uv_timer_init(&B.loop, &B.progress_timer);
    (void)uv_check_init(&B.loop, &B.check);
    (void)uv_idle_init(&B.loop, &B.admitter);
    long rss_before = self_status_kib("VmRSS");

    B.clients = calloc(n, sizeof(*B.clients));
    B.storage_size = storage_size(o);
    if (o->custom) {
        B.buffers = calloc(n, B.storage_size); /* resident as the endpoints write them */
    }
    if (B.clients == NULL || (o->custom && B.buffers == NULL)) {
        fprintf(stderr, "zcoap_many_endpoints: no memory for %zu clients\n", n);
        return 1;
    }
    double setup_t0 = (double)hr_us();
    int rc = init_clients();
    long rss_inited = self_status_kib("VmRSS");
    long slab_before = slab_kib();
    /* The sockets that fit, before the start, so that the first requests go out together. */
    for (size_t i = 0; rc == 0 && i < B.max_open; i++) {
        if (open_socket(i) != 0) {
            fprintf(stderr, "zcoap_many_endpoints: socket of client %zu: %s\n", i,
                    zcoap_uv_strerror(B.last_setup_error));
            rc = -1;
        }
    }
    long rss_connected = self_status_kib("VmRSS");
    long slab_after = slab_kib();
    double setup_s = ((double)hr_us() - setup_t0) / 1e6;
    if (rc != 0) {
        teardown();
        return 1;
    }
    if (!o->quiet) {
        print_client_layout();
        printf("  setup: %zu clients initialised, %zu sockets bound and connected in %.2f s; "
               "VmRSS %ld KiB before, %ld KiB initialised, %ld KiB connected\n",
               B.n_inited, B.sockets, setup_s, rss_before, rss_inited, rss_connected);
        if (slab_before >= 0 && slab_after >= 0 && B.sockets > 0)
            printf("  kernel slab memory (system-wide, outside RSS): %+ld KiB while the sockets "
                   "were opened, about %.0f bytes per socket\n",
                   slab_after - slab_before,
                   (double)(slab_after - slab_before) * 1024.0 / (double)B.sockets);
    }

    report_t r;
    memset(&r, 0, sizeof(r));
    r.rss_before = rss_before;
    r.rss_inited = rss_inited;
    r.rss_connected = rss_connected;
    long drops_before = server_socket_drops(&o->server);
    double cpu0 = cpu_seconds();
    double server0 = o->server_pid > 0 ? process_cpu_s(o->server_pid) : -1.0;
    double machine0 = machine_busy_s();
    (void)uv_check_start(&B.check, on_check);
    uv_update_time(&B.loop); /* the setup took a while: timers count from now */
    (void)uv_timer_start(&B.stop_timer, on_stop_timer, (uint64_t)(o->seconds * 1000.0), 0);
    (void)uv_timer_start(&B.start_timer, on_start_timer, 0, o->ramp_ms > 0 ? 1 : 0);
    if (!o->quiet)
        (void)uv_timer_start(&B.progress_timer, on_progress_timer, PROGRESS_MS, PROGRESS_MS);
    B.check_prev_ns = uv_hrtime(); /* the first iteration counts too: it makes the first burst */
    B.idle_prev_ns = uv_metrics_idle_time(&B.loop);
    (void)uv_run(&B.loop, UV_RUN_DEFAULT); /* until every endpoint is done, or --seconds */
    r.client_cpu_s = cpu_seconds() - cpu0;
    double server1 = o->server_pid > 0 ? process_cpu_s(o->server_pid) : -1.0;
    double machine1 = machine_busy_s();
    r.server_cpu_s = server0 >= 0 && server1 >= 0 ? server1 - server0 : -1.0;
    r.machine_cpu_s = machine0 >= 0 && machine1 >= 0 ? machine1 - machine0 : -1.0;
    long drops_after = server_socket_drops(&o->server);
    r.server_drops = drops_before >= 0 && drops_after >= 0 ? drops_after - drops_before : -1;
    r.rss_after = self_status_kib("VmRSS");
    r.rss_peak = self_status_kib("VmHWM");
    bool waves = B.max_open < n;
    r.rss_live = waves ? r.rss_peak : r.rss_after;
    r.per_endpoint = (double)(r.rss_live - rss_before) * 1024.0 / (double)n;

    uint64_t end_us = B.stopped_by_time ? hr_us() : B.t_last_us;
    r.seconds = B.started && end_us > B.t0_us ? (double)(end_us - B.t0_us) / 1e6 : 0.0;
    uint64_t sent = 0;
    for (size_t i = 0; i < B.n_inited; i++) {
        const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(&B.clients[i]);
        sent += st->datagrams_out + st->send_errors + st->hook_dropped_out;
    }
    r.retransmissions = sent > B.requests_made ? sent - B.requests_made : 0;
    size_t ended = B.answered + B.other_codes + B.timeouts + B.resets;
    r.late = summarize(&B.late_hr);
    r.late_loop = summarize(&B.late_loop);
    r.interval = summarize(&B.interval);

    printf("  %s: %zu of %zu endpoints done; %zu requests made, %zu answered 2.05, %zu other "
           "codes, %zu timeouts, %zu resets, %zu not made; %llu retransmissions\n",
           B.stopped_by_time ? "STOPPED AT --seconds" : "done", B.finished, n, B.requests_made,
           B.answered, B.other_codes, B.timeouts, B.resets, B.request_errors,
           (unsigned long long)r.retransmissions);
    printf("  completion: %.3f s from the first request to the last answer (%.0f answers/s)\n",
           r.seconds, r.seconds > 0 ? (double)ended / r.seconds : 0.0);
    printf("  CPU during the run: this loop %.2f s (%.2f us per request)", r.client_cpu_s,
           B.requests_made > 0 ? r.client_cpu_s * 1e6 / (double)B.requests_made : 0.0);
    if (r.server_cpu_s >= 0)
        printf(", the server %.2f s", r.server_cpu_s);
    if (r.machine_cpu_s >= 0)
        printf(", the whole machine %.2f s of %.2f s x %ld cores", r.machine_cpu_s,
               (double)(hr_us() - B.t0_us) / 1e6, sysconf(_SC_NPROCESSORS_ONLN));
    printf("\n");
    printf("  RSS: %ld KiB before the clients, %ld KiB after the run, peak %ld KiB; with all %zu "
           "endpoints alive%s: %ld KiB, %.0f bytes per endpoint; sizeof(zcoap_uv_client_t) %zu "
           "bytes\n",
           rss_before, r.rss_after, r.rss_peak, n,
           waves ? " (the peak: the finished endpoints were closed, in waves)" : "", r.rss_live,
           r.per_endpoint, sizeof(zcoap_uv_client_t));
    printf("  loop: %llu iterations, the longest worked %.1f ms, %llu worked over 10 ms, %llu over "
           "100 ms; the first %zu requests took %.1f ms in one callback\n",
           (unsigned long long)B.iterations, (double)B.busy_max_ns / 1e6,
           (unsigned long long)B.busy_over_10ms, (unsigned long long)B.busy_over_100ms,
           B.burst_requests, (double)B.burst_ns / 1e6);
    if (r.server_drops >= 0)
        printf("  server socket drops during the run: %ld\n", r.server_drops);
    if (o->bind) {
        print_addr("  source tuples used: ", ntohl(o->first.s_addr), o->port_lo);
        print_addr(" up to before ", B.next_addr, B.next_port);
        printf(", %zu held by other processes skipped\n", B.bind_skips);
    }
    if (B.wrong_tokens > 0)
        printf("  acknowledgements with another token (OUT_WRONG_TOKEN): %zu\n", B.wrong_tokens);
    if (B.bind_errors + B.connect_errors > 0)
        printf("  socket errors: %zu bind, %zu connect (last: %s)\n", B.bind_errors,
               B.connect_errors, zcoap_uv_strerror(B.last_setup_error));
    if (o->loss_percent > 0) {
        printf("  retransmissions seen by the hooks: %zu, timed: %zu (%zu samples dropped)\n",
               B.hook_retransmissions, B.late_hr.n, B.late_hr.dropped);
        if (r.late.valid) {
            printf("  timer lateness (uv_hrtime() at the retransmission - the endpoint's "
                   "deadline), ms: p50 %.3f p99 %.3f max %.3f\n",
                   r.late.p50, r.late.p99, r.late.max);
            printf("    by the loop's clock (uv_now()): p50 %.0f p99 %.0f max %.0f; interval "
                   "actual - intended, ms: min %.3f p50 %.3f p99 %.3f max %.3f\n",
                   r.late_loop.p50, r.late_loop.p99, r.late_loop.max, r.interval.min,
                   r.interval.p50, r.interval.p99, r.interval.max);
        }
    }
    if (o->csv != NULL)
        write_csv(&r);

    bool ok = !B.stopped_by_time && B.finished == n && B.request_errors == 0 &&
              B.bind_errors + B.connect_errors == 0 &&
              (o->loss_percent > 0 || B.answered == (size_t)n * o->requests);
    teardown();
    free(B.clients);
    free(B.buffers);
    free(B.eps);
    free(B.dirty);
    free(B.late_hr.v);
    free(B.late_loop.v);
    free(B.interval.v);
    return ok ? 0 : 3;
}
