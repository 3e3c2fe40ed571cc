/*
 * coap_serve_one: a tiny CoAP server for one peer at a time, built on one zcoap endpoint.
 *
 *     coap_serve_one [-A ADDR] [-p PORT] [-n REQUESTS] [-s SLOW_MS]
 *
 * Resources:
 *     GET  /hello  2.05 "Hello, CoAP!" (text/plain)
 *     GET  /slow   2.05 "Sorry, I was slow." after SLOW_MS (default 1500): longer than the
 *                  endpoint's auto_ack_ms, so the endpoint sends the empty ACK by itself and the
 *                  answer goes out as a separate CON response (RFC 7252 §5.2.2)
 *     POST /echo   2.04 with the request's payload and Content-Format
 *     anything else 4.04; another method on a known path 4.05; Block1/Block2 (no block-wise
 *     transfer here) 4.02
 *
 * An endpoint talks to one peer, so the server takes the source address of the first datagram
 * (recvfrom) as its peer and answers with sendto(). Datagrams from anyone else are ignored while
 * that peer has an exchange in flight; once it has none, the next datagram from a new address
 * makes that address the peer (the endpoint is reset: its de-duplication memory belongs to the
 * old one). Every datagram and event is printed, like coap_get. The server exits after REQUESTS
 * requests were answered and their exchanges finished (0: never), or on SIGINT/SIGTERM.
 * `-p 0` takes a free port; the "listening" line names it.
 */
#define _GNU_SOURCE /* ppoll(): wait for a datagram, a deadline or a signal without a race */

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "zcoap/endpoint.h"
#include "zcoap/zcoap.h"

#include "posix_glue.h"

enum {
    PATH_MAX_LEN = 256,
    ADDR_TEXT_MAX = NI_MAXHOST + NI_MAXSERV + 4, /* "[host]:port" */
    RX_BUF_SIZE = 65536,                         /* any UDP datagram fits, so none is cut */
    DEFAULT_SLOW_MS = 1500
};

static const char HELLO_TEXT[] = "Hello, CoAP!";
static const char SLOW_TEXT[] = "Sorry, I was slow.";

struct args {
    const char *address;
    const char *port;
    unsigned long requests; /* 0: serve forever */
    uint32_t slow_ms;
};

/* Everything the driver loop works on. */
struct server {
    int fd;
    zcoap_ep_t ep;
    zcoap_ep_storage_t storage;
    uint32_t slow_ms;
    bool has_peer;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    bool exchange_open;      /* a request of the peer is not finished yet */
    uint8_t request_type;    /* CON or NON: the type of that request */
    bool slow_pending;       /* /slow is waiting for its answer */
    uint64_t slow_due_ms;    /* ... until then */
    unsigned long answered;  /* requests whose exchange finished */
    uint8_t rx[RX_BUF_SIZE]; /* the last datagram: event views point into it */
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void usage(void)
{
    fprintf(stderr, "usage: coap_serve_one [-A ADDR] [-p PORT] [-n REQUESTS] [-s SLOW_MS]\n"
                    "  -A ADDR      address to bind (default 127.0.0.1; :: or ::1 for IPv6)\n"
                    "  -p PORT      UDP port (default 5683; 0 picks a free one)\n"
                    "  -n REQUESTS  exit after answering this many requests (default 0: never)\n"
                    "  -s SLOW_MS   delay of GET /slow in ms (default 1500)\n");
}

static bool parse_number(const char *text, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v > max) {
        return false;
    }
    *out = v;
    return true;
}

static bool parse_args(int argc, char **argv, struct args *args)
{
    *args = (struct args){.address = "127.0.0.1", .port = "5683", .slow_ms = DEFAULT_SLOW_MS};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        unsigned long v = 0;
        if (i + 1 >= argc) {
            return false;
        }
        const char *value = argv[++i];
        if (strcmp(arg, "-A") == 0) {
            args->address = value;
        } else if (strcmp(arg, "-p") == 0 && parse_number(value, 65535, &v)) {
            args->port = value;
        } else if (strcmp(arg, "-n") == 0 && parse_number(value, ULONG_MAX, &v)) {
            args->requests = v;
        } else if (strcmp(arg, "-s") == 0 && parse_number(value, UINT32_MAX, &v)) {
            args->slow_ms = (uint32_t)v;
        } else {
            return false;
        }
    }
    return true;
}

/* "127.0.0.1:5683" or "[::1]:5683". */
static void address_text(const struct sockaddr_storage *sa, socklen_t len, char *out, size_t cap)
{
    char host[NI_MAXHOST];
    char port[NI_MAXSERV];
    if (getnameinfo((const struct sockaddr *)sa, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, cap, "(unknown)");
    } else if (sa->ss_family == AF_INET6) {
        snprintf(out, cap, "[%s]:%s", host, port);
    } else {
        snprintf(out, cap, "%s:%s", host, port);
    }
}

static bool same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family) {
        return false;
    }
    if (a->ss_family == AF_INET) {
        struct sockaddr_in x;
        struct sockaddr_in y;
        memcpy(&x, a, sizeof x);
        memcpy(&y, b, sizeof y);
        return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        struct sockaddr_in6 x;
        struct sockaddr_in6 y;
        memcpy(&x, a, sizeof x);
        memcpy(&y, b, sizeof y);
        return x.sin6_port == y.sin6_port && x.sin6_scope_id == y.sin6_scope_id &&
               memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
    }
    return false;
}

/* A UDP socket bound to ADDR:PORT; prints the address it listens on. */
static int open_socket(const struct args *args)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_protocol = IPPROTO_UDP;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    struct addrinfo *addrs = NULL;
    int rc = getaddrinfo(args->address, args->port, &hints, &addrs);
    if (rc != 0) {
        fprintf(stderr, "coap_serve_one: %s: %s\n", args->address, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (const struct addrinfo *ai = addrs; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(addrs);
    if (fd < 0) {
        fprintf(stderr, "coap_serve_one: cannot bind %s port %s: %s\n", args->address, args->port,
                strerror(errno));
        return -1;
    }
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    char text[ADDR_TEXT_MAX];
    if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) == 0) {
        address_text(&bound, bound_len, text, sizeof text);
        printf("coap_serve_one: listening on %s\n", text);
    }
    return fd;
}

/* Answer the request of the last IN_REQUEST event; content_format < 0: none (no payload, or a
 * diagnostic payload, RFC 7252 §5.5.2). */
static void respond(struct server *s, uint8_t code, int content_format, const void *payload,
                    size_t payload_len)
{
    zcoap_builder_t b;
    /* A CON request gets a CON response if it has to go separate; a NON request a NON one. */
    bool confirmable = s->request_type == ZCOAP_TYPE_CON;
    int rc = zcoap_ep_response_begin(&s->ep, code, confirmable, &b);
    if (rc == ZCOAP_OK) {
        if (content_format >= 0) {
            (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_CONTENT_FORMAT, (uint32_t)content_format);
        }
        (void)zcoap_builder_set_payload(&b, payload, payload_len);
        rc =
            zcoap_ep_response_send(&s->ep, &b, glue_now_ms()); /* reports the first builder error */
    }
    if (rc != ZCOAP_OK) {
        fprintf(stderr, "coap_serve_one: cannot answer: %s\n", zcoap_strerror(rc));
    }
}

/* The resources: decide what to answer to a request. */
static void handle_request(struct server *s, const zcoap_msg_t *req)
{
    char path[PATH_MAX_LEN];
    if (zcoap_msg_path(req, false, path, sizeof path) < 0) {
        path[0] = '\0'; /* too long for any of ours: 4.04 */
    }
    printf("   request %s %s\n", zcoap_code_name(req->code), path);
    bool get = req->code == ZCOAP_GET;
    zcoap_opt_t block;
    if (zcoap_msg_find_opt(req, ZCOAP_OPT_BLOCK1, &block) ||
        zcoap_msg_find_opt(req, ZCOAP_OPT_BLOCK2, &block)) {
        /* Block1 and Block2 are critical (RFC 7959 §2.1) and this server does not do block-wise
         * transfers: such a request is answered 4.02 (RFC 7252 §5.4.1). */
        static const char text[] = "Block-wise transfer not supported";
        respond(s, ZCOAP_BAD_OPTION, -1, text, strlen(text));
    } else if (strcmp(path, "/hello") == 0) {
        if (get) {
            respond(s, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, HELLO_TEXT, strlen(HELLO_TEXT));
        } else {
            respond(s, ZCOAP_METHOD_NOT_ALLOWED, -1, NULL, 0);
        }
    } else if (strcmp(path, "/slow") == 0) {
        if (get) {
            s->slow_pending = true; /* answered from the driver loop when due */
            s->slow_due_ms = glue_now_ms() + s->slow_ms;
        } else {
            respond(s, ZCOAP_METHOD_NOT_ALLOWED, -1, NULL, 0);
        }
    } else if (strcmp(path, "/echo") == 0) {
        if (req->code == ZCOAP_POST) {
            /* The payload goes back with the request's Content-Format, or none if it had none. */
            uint32_t cf = 0;
            bool has_cf = zcoap_msg_get_uint(req, ZCOAP_OPT_CONTENT_FORMAT, &cf) == ZCOAP_OK &&
                          cf <= 0xFFFFu && req->payload_len > 0;
            respond(s, ZCOAP_CHANGED, has_cf ? (int)cf : -1, req->payload, req->payload_len);
        } else {
            respond(s, ZCOAP_METHOD_NOT_ALLOWED, -1, NULL, 0);
        }
    } else {
        respond(s, ZCOAP_NOT_FOUND, -1, NULL, 0);
    }
}

static void exchange_finished(struct server *s)
{
    s->exchange_open = false;
    s->slow_pending = false;
    s->answered++;
}

static void handle_event(struct server *s, const zcoap_event_t *ev)
{
    printf("   [%s]\n", zcoap_event_name(ev->kind));
    switch (ev->kind) {
    case ZCOAP_EV_IN_REQUEST:
        s->exchange_open = true;
        s->request_type = ev->msg.type;
        handle_request(s, &ev->msg);
        break;
    case ZCOAP_EV_IN_SUCCESS:
    case ZCOAP_EV_IN_TIMEOUT:
    case ZCOAP_EV_IN_RESET:
    case ZCOAP_EV_IN_RST_SENT:
    case ZCOAP_EV_IN_REJECTED: /* answered 4.02 or 4.13 by the endpoint itself */
        exchange_finished(s);
        break;
    default:
        break; /* duplicates, pings, format errors: the endpoint has answered them */
    }
}

/* Pull every datagram the endpoint has for the peer and send it there. */
static void flush_datagrams(struct server *s)
{
    const uint8_t *dgram;
    ptrdiff_t n;
    while ((n = zcoap_ep_next_datagram(&s->ep, glue_now_ms(), &dgram)) > 0) {
        glue_print_datagram("->", dgram, (size_t)n);
        if (sendto(s->fd, dgram, (size_t)n, 0, (const struct sockaddr *)&s->peer, s->peer_len) !=
            (ssize_t)n) {
            /* UDP: as if the datagram was lost; the peer's retransmission asks again. */
            perror("coap_serve_one: sendto");
        }
    }
}

/* A datagram from `from`: hand it to the endpoint if it comes from the peer, or make `from` the
 * peer if the current one has nothing in flight. */
static void on_datagram(struct server *s, size_t len, const struct sockaddr_storage *from,
                        socklen_t from_len)
{
    char text[ADDR_TEXT_MAX];
    address_text(from, from_len, text, sizeof text);
    if (!s->has_peer || !same_address(from, &s->peer)) {
        if (s->has_peer && s->exchange_open) {
            printf("   ignored %zu bytes from %s: busy with another peer\n", len, text);
            return;
        }
        /* The old peer's message IDs mean nothing for the new one (§4.5). */
        zcoap_ep_reset(&s->ep, glue_now_ms());
        s->peer = *from;
        s->peer_len = from_len;
        s->has_peer = true;
        printf("peer %s\n", text);
    }
    glue_print_datagram("<-", s->rx, len);
    (void)zcoap_ep_receive(&s->ep, s->rx, len, glue_now_ms()); /* fails on NULL only */
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* How long ppoll() may sleep: until the endpoint's deadline or the /slow answer (NULL: none). */
static const struct timespec *wait_time(const struct server *s, struct timespec *ts)
{
    uint64_t deadline = zcoap_ep_next_deadline(&s->ep);
    if (s->slow_pending) {
        deadline = min_u64(deadline, s->slow_due_ms);
    }
    if (deadline == ZCOAP_NEVER) {
        return NULL;
    }
    uint64_t now = glue_now_ms();
    uint64_t wait = deadline > now ? deadline - now : 0;
    ts->tv_sec = (time_t)(wait / 1000u);
    ts->tv_nsec = (long)(wait % 1000u) * 1000000L;
    return ts;
}

static bool done(const struct server *s, unsigned long requests)
{
    return requests != 0 && s->answered >= requests && !s->exchange_open;
}

/* Handle the endpoint's events and send what it queued. */
static void drive(struct server *s)
{
    zcoap_event_t ev;
    while (zcoap_ep_process(&s->ep, glue_now_ms(), &ev) == 1) {
        handle_event(s, &ev);
    }
    flush_datagrams(s);
}

/* The driver loop of endpoint.h, plus the /slow timer, until done or a signal. */
static void serve(struct server *s, unsigned long requests, const sigset_t *wait_mask)
{
    while (stop_signal == 0) {
        drive(s);
        /* Answer /slow only once the datagrams queued by the last receive are out: the endpoint
         * reads the answer to a duplicate request from a response slot when it is pulled, and
         * a response begun before that may take the slot. */
        if (s->slow_pending && glue_now_ms() >= s->slow_due_ms) {
            s->slow_pending = false;
            respond(s, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, SLOW_TEXT, strlen(SLOW_TEXT));
            drive(s);
        }
        if (done(s, requests)) {
            printf("coap_serve_one: %lu request(s) answered, exiting\n", s->answered);
            return;
        }
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        struct timespec ts;
        /* SIGINT/SIGTERM are blocked except inside ppoll(), so none slips in before the wait. */
        int ready = ppoll(&pfd, 1, wait_time(s, &ts), wait_mask);
        if (ready < 0 && errno != EINTR) {
            perror("coap_serve_one: ppoll");
            return;
        }
        if (ready <= 0) {
            continue; /* a deadline or a signal */
        }
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(s->fd, s->rx, sizeof s->rx, 0, (struct sockaddr *)&from, &from_len);
        if (n < 0) {
            perror("coap_serve_one: recvfrom"); /* e.g. an ICMP error: keep serving */
            continue;
        }
        on_datagram(s, (size_t)n, &from, from_len);
    }
    printf("coap_serve_one: signal %d, exiting\n", (int)stop_signal);
}

int main(int argc, char **argv)
{
    struct args args;
    if (!parse_args(argc, argv, &args)) {
        usage();
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* the log is read while the server runs */

    sigset_t blocked;
    sigset_t wait_mask;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGTERM);
    sigprocmask(SIG_BLOCK, &blocked, &wait_mask);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    static struct server s; /* 64 KiB receive buffer and the endpoint's storage: not on the stack */
    s.slow_ms = args.slow_ms;
    zcoap_ep_config_t cfg;
    zcoap_ep_config_default(&cfg, &s.storage);
    cfg.rng = glue_os_random;
    int rc = zcoap_ep_init(&s.ep, &cfg, glue_now_ms());
    if (rc != ZCOAP_OK) {
        fprintf(stderr, "coap_serve_one: endpoint: %s\n", zcoap_strerror(rc));
        return 1;
    }
    s.fd = open_socket(&args);
    if (s.fd < 0) {
        return 1;
    }
    serve(&s, args.requests, &wait_mask);
    close(s.fd);
    return 0;
}
