/*
 * coap_get: send one CoAP request to a real peer with a zcoap endpoint and print the exchange.
 *
 *     coap_get coap://127.0.0.1:5683/path [-m METHOD] [-e PAYLOAD] [-N]
 *
 * The endpoint (zcoap/endpoint.h) does the message layer of RFC 7252 §4: CON retransmission with
 * exponential back-off, empty ACK then separate response, ACK of a CON response, RST for anything
 * unexpected. This file owns what the endpoint leaves to its caller: a UDP socket connected to
 * the peer, the clock, the random source, and the driver loop. Every datagram is printed with
 * zcoap_msg_print() and every endpoint event on its own line. Exit status 0 on a 2.xx response,
 * 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "zcoap/endpoint.h"
#include "zcoap/zcoap.h"

#include "posix_glue.h"

enum {
    RX_BUF_SIZE = 65536 /* any UDP datagram fits, so none is cut */
};

struct args {
    const char *uri;
    uint8_t method;
    const char *payload;
    bool non_confirmable;
};

/* Everything the driver loop works on. */
struct client {
    int fd;
    zcoap_ep_t ep;
    zcoap_ep_storage_t storage;
    unsigned requests_sent;  /* transmissions of our request, to show retransmissions */
    unsigned max_retransmit; /* MAX_RETRANSMIT of the endpoint's configuration */
    bool finished;           /* the exchange is over (response, timeout or reset) */
    bool got_response;
    zcoap_msg_t response; /* view into rx: no zcoap_ep_receive() follows it */
    uint8_t rx[RX_BUF_SIZE];
};

static void usage(void)
{
    fprintf(stderr, "usage: coap_get coap://HOST[:PORT]/PATH[?QUERY] [-m METHOD] [-e PAYLOAD] "
                    "[-N]\n"
                    "  -m METHOD   GET (default), POST, PUT, DELETE, FETCH, PATCH, iPATCH\n"
                    "  -e PAYLOAD  request payload\n"
                    "  -N          send a Non-confirmable request\n");
}

static bool parse_method(const char *name, uint8_t *code)
{
    static const struct {
        const char *name;
        uint8_t code;
    } methods[] = {
        {"GET", ZCOAP_GET},       {"POST", ZCOAP_POST},   {"PUT", ZCOAP_PUT},
        {"DELETE", ZCOAP_DELETE}, {"FETCH", ZCOAP_FETCH}, {"PATCH", ZCOAP_PATCH},
        {"iPATCH", ZCOAP_IPATCH},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (strcasecmp(name, methods[i].name) == 0) {
            *code = methods[i].code;
            return true;
        }
    }
    return false;
}

static bool parse_args(int argc, char **argv, struct args *args)
{
    *args = (struct args){.method = ZCOAP_GET};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-N") == 0) {
            args->non_confirmable = true;
        } else if (strcmp(arg, "-m") == 0 && i + 1 < argc) {
            if (!parse_method(argv[++i], &args->method)) {
                fprintf(stderr, "coap_get: unknown method %s\n", argv[i]);
                return false;
            }
        } else if (strcmp(arg, "-e") == 0 && i + 1 < argc) {
            args->payload = argv[++i];
        } else if (arg[0] != '-' && args->uri == NULL) {
            args->uri = arg;
        } else {
            return false;
        }
    }
    return args->uri != NULL;
}

/* A UDP socket connected to the URI's host and port, IPv4 or IPv6: the kernel then drops
 * datagrams from anyone else, so the endpoint only ever hears its one peer. */
static int open_socket(const zcoap_uri_t *uri)
{
    char host[256];
    char port[8];
    if (uri->host_len == 0 || uri->host_len >= sizeof host) {
        fprintf(stderr, "coap_get: bad host\n");
        return -1;
    }
    memcpy(host, uri->host, uri->host_len);
    host[uri->host_len] = '\0';
    snprintf(port, sizeof port, "%u", (unsigned)uri->port);

    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_protocol = IPPROTO_UDP;
    hints.ai_flags = AI_NUMERICSERV;
    struct addrinfo *addrs = NULL;
    int rc = getaddrinfo(host, port, &hints, &addrs);
    if (rc != 0) {
        fprintf(stderr, "coap_get: %s: %s\n", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (const struct addrinfo *ai = addrs; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(addrs);
    if (fd < 0) {
        fprintf(stderr, "coap_get: cannot reach %s port %s\n", host, port);
    }
    return fd;
}

static void handle_event(struct client *c, const zcoap_event_t *ev)
{
    printf("   [%s]\n", zcoap_event_name(ev->kind));
    switch (ev->kind) {
    case ZCOAP_EV_OUT_RESPONSE:
        c->response = ev->msg;
        c->got_response = true;
        c->finished = true;
        break;
    case ZCOAP_EV_OUT_TIMEOUT:
        fprintf(stderr, "coap_get: no response (timeout)\n");
        c->finished = true;
        break;
    case ZCOAP_EV_OUT_RESET:
        fprintf(stderr, "coap_get: the peer rejected the request with RST\n");
        c->finished = true;
        break;
    case ZCOAP_EV_OUT_WRONG_TOKEN:
        fprintf(stderr, "coap_get: piggybacked response with another token, ignored\n");
        break;
    default:
        break; /* the rest is shown by the line above and the datagrams */
    }
}

/* Pull every datagram the endpoint has for the peer and send it. */
static bool flush_datagrams(struct client *c)
{
    const uint8_t *dgram;
    ptrdiff_t n;
    while ((n = zcoap_ep_next_datagram(&c->ep, glue_now_ms(), &dgram)) > 0) {
        zcoap_msg_t msg;
        if (zcoap_msg_parse(&msg, dgram, (size_t)n) == ZCOAP_OK &&
            zcoap_code_is_request(msg.code) && ++c->requests_sent > 1) {
            /* §4.2: the endpoint retransmits a CON request MAX_RETRANSMIT times at most. */
            printf("   (retransmission %u of %u)\n", c->requests_sent - 1, c->max_retransmit);
        }
        glue_print_datagram("->", dgram, (size_t)n);
        if (send(c->fd, dgram, (size_t)n, 0) != (ssize_t)n) {
            perror("coap_get: send");
            return false;
        }
    }
    return true;
}

/* Milliseconds poll() may sleep until the endpoint's next deadline (-1: none). */
static int poll_timeout(uint64_t deadline)
{
    if (deadline == ZCOAP_NEVER) {
        return -1;
    }
    uint64_t now = glue_now_ms();
    if (deadline <= now) {
        return 0;
    }
    return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

/* The driver loop of endpoint.h until the exchange is over; then the datagrams still queued
 * (the ACK of a separate CON response, §5.2.2) go out too. */
static bool run_exchange(struct client *c)
{
    for (;;) {
        zcoap_event_t ev;
        while (zcoap_ep_process(&c->ep, glue_now_ms(), &ev) == 1) {
            handle_event(c, &ev);
        }
        if (!flush_datagrams(c)) {
            return false;
        }
        if (c->finished) {
            return true;
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int ready = poll(&pfd, 1, poll_timeout(zcoap_ep_next_deadline(&c->ep)));
        if (ready < 0 && errno != EINTR) {
            perror("coap_get: poll");
            return false;
        }
        if (ready <= 0) {
            continue; /* a deadline: process() above handles it */
        }
        ssize_t n = recv(c->fd, c->rx, sizeof c->rx, 0);
        if (n < 0) {
            /* On a connected UDP socket, an ICMP port unreachable shows up here. */
            fprintf(stderr, "coap_get: receive: %s\n", strerror(errno));
            return false;
        }
        glue_print_datagram("<-", c->rx, (size_t)n);
        (void)zcoap_ep_receive(&c->ep, c->rx, (size_t)n, glue_now_ms()); /* fails on NULL only */
    }
}

static void print_response(const zcoap_msg_t *response)
{
    const char *reason = zcoap_code_reason(response->code);
    printf("response: %s %s, %zu-byte payload\n", zcoap_code_name(response->code),
           reason != NULL ? reason : "", response->payload_len);
    if (response->payload_len > 0) {
        fwrite(response->payload, 1, response->payload_len, stdout);
        if (response->payload[response->payload_len - 1] != '\n') {
            putchar('\n');
        }
    }
}

int main(int argc, char **argv)
{
    struct args args;
    if (!parse_args(argc, argv, &args)) {
        usage();
        return 1;
    }
    zcoap_uri_t parts;
    int rc = zcoap_uri_split(args.uri, strlen(args.uri), &parts);
    if (rc != ZCOAP_OK) {
        fprintf(stderr, "coap_get: %s: %s\n", args.uri, zcoap_strerror(rc));
        return 1;
    }
    if (parts.secure) {
        fprintf(stderr, "coap_get: coaps:// needs DTLS, which zcoap does not have yet\n");
        return 1;
    }

    static struct client c; /* 64 KiB receive buffer and the endpoint's storage: not on the stack */
    zcoap_ep_config_t cfg;
    zcoap_ep_config_default(&cfg, &c.storage);
    cfg.rng = glue_os_random;
    /* After the empty ACK (or a NON request), wait as long as a CON request could have taken at
     * most, MAX_TRANSMIT_WAIT (§4.8.2), rather than the default EXCHANGE_LIFETIME. */
    cfg.response_timeout_ms = (uint32_t)zcoap_tx_max_transmit_wait_ms(&cfg.tx);
    c.max_retransmit = cfg.tx.max_retransmit;
    rc = zcoap_ep_init(&c.ep, &cfg, glue_now_ms());
    if (rc != ZCOAP_OK) {
        fprintf(stderr, "coap_get: endpoint: %s\n", zcoap_strerror(rc));
        return 1;
    }
    uint8_t type = args.non_confirmable ? ZCOAP_TYPE_NON : ZCOAP_TYPE_CON;
    size_t payload_len = args.payload != NULL ? strlen(args.payload) : 0;
    rc = zcoap_ep_request_uri(&c.ep, type, args.method, args.uri, args.payload, payload_len,
                              glue_now_ms());
    if (rc != ZCOAP_OK) {
        fprintf(stderr, "coap_get: cannot build the request: %s\n", zcoap_strerror(rc));
        return 1;
    }

    c.fd = open_socket(&parts);
    if (c.fd < 0) {
        return 1;
    }
    bool ok = run_exchange(&c);
    close(c.fd);
    if (!ok || !c.got_response) {
        return 1;
    }
    print_response(&c.response);
    return ZCOAP_CODE_CLASS(c.response.code) == 2 ? 0 : 1;
}
