/*
 * porting_poll: the zcoap core driven without libuv, from a plain poll() loop over one UDP
 * socket. A port to another event loop, or to a bare-metal main loop, does the same four steps
 * (docs/porting.md walks through them): hand received datagrams to the endpoint, let it process
 * its events and timers, send what it queued, and sleep until its next deadline.
 *
 *     porting_poll HOST PORT [PATH]          e.g.  porting_poll 127.0.0.1 5683 /time
 *
 * Sends one Confirmable GET and prints the response's code and payload. Exit status: 0 for a
 * 2.xx response, 1 for another code, 2 when no response came (timeout, Reset, or the peer's
 * port is closed), 3 for a usage or system error.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "zcoap/zcoap.h"

/* What the core needs from the platform, 1: the time, in milliseconds of a clock that never
 * jumps (the core reads no clock; every call passes the time in). */
static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* 2: random bytes for tokens and the first message ID, which must be hard to guess (RFC 7252
 * §5.3.1, §4.4). @p ctx is the rng_ctx of the configuration: here the descriptor of
 * /dev/urandom; on a microcontroller, its hardware generator. */
static int os_random(void *ctx, uint8_t *out, size_t len)
{
    int fd = *(const int *)ctx;
    while (len > 0) {
        ssize_t n = read(fd, out, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1; /* the endpoint then refuses to start the request */
        }
        out += n;
        len -= (size_t)n;
    }
    return 0;
}

/* 3: datagrams to and from the peer. A UDP socket connected to it: the kernel drops datagrams
 * from anyone else (an endpoint talks to one peer), and reports an ICMP port unreachable as
 * ECONNREFUSED on the next send or recv. */
static int connect_udp(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
    struct addrinfo *addrs = NULL;
    if (getaddrinfo(host, port, &hints, &addrs) != 0) {
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
    return fd;
}

/* The application's part: react to the endpoint's events. Sets *status when the exchange is
 * over. The response is a view into the received datagram: use it now (or copy it). */
static void on_event(const zcoap_event_t *ev, int *status)
{
    switch (ev->kind) {
    case ZCOAP_EV_OUT_RESPONSE:
        printf("%s %.*s\n", zcoap_code_name(ev->msg.code), (int)ev->msg.payload_len,
               (const char *)ev->msg.payload);
        *status = ZCOAP_CODE_CLASS(ev->msg.code) == 2 ? 0 : 1;
        break;
    case ZCOAP_EV_OUT_TIMEOUT: /* after MAX_RETRANSMIT, or at once when the port is closed */
        printf("no response: %s\n", ev->err == ZCOAP_EUNREACHABLE ? "port unreachable" : "timeout");
        *status = 2;
        break;
    case ZCOAP_EV_OUT_RESET:
        printf("no response: reset by the peer\n");
        *status = 2;
        break;
    default:
        break; /* progress only: OUT_CON_SENT, OUT_EMPTY_ACK (a separate response follows)... */
    }
}

/* How long poll() may sleep: until the endpoint's next deadline; -1 (forever) for none. */
static int poll_timeout(uint64_t deadline)
{
    uint64_t now = now_ms();
    if (deadline == ZCOAP_NEVER) {
        return -1;
    }
    return deadline <= now ? 0 : (int)(deadline - now > INT_MAX ? INT_MAX : deadline - now);
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: porting_poll HOST PORT [PATH]\n");
        return 3;
    }
    const char *path = argc > 3 ? argv[3] : "/";
    int random_fd = open("/dev/urandom", O_RDONLY);
    int fd = connect_udp(argv[1], argv[2]);
    if (random_fd < 0 || fd < 0) {
        perror("porting_poll");
        return 3;
    }

    /* The endpoint and its buffers: static, sized at compile time, never allocated. */
    static zcoap_ep_t ep;
    static zcoap_ep_storage_t storage;
    static uint8_t rx[65536]; /* any UDP datagram fits, so none is cut short */
    zcoap_ep_config_t cfg;
    zcoap_ep_config_default(&cfg, &storage); /* RFC 7252 §4.8 parameters, buffers in storage */
    cfg.rng = os_random;
    cfg.rng_ctx = &random_fd;
    int rc = zcoap_ep_init(&ep, &cfg, now_ms());

    /* The request: a builder over the endpoint's request buffer, header and token written. */
    zcoap_builder_t b;
    if (rc == ZCOAP_OK) {
        rc = zcoap_ep_request_begin(&ep, ZCOAP_TYPE_CON, ZCOAP_GET, &b);
    }
    if (rc == ZCOAP_OK) {
        (void)zcoap_builder_add_uri_path(&b, path, strlen(path)); /* errors stick in b... */
        rc = zcoap_ep_request_send(&ep, &b, 0, now_ms());         /* ...and come out here */
    }
    if (rc != ZCOAP_OK) {
        fprintf(stderr, "porting_poll: %s\n", zcoap_strerror(rc));
        return 3;
    }

    /* The driver loop. */
    int status = -1;
    for (;;) {
        /* Step 1: process. Advances the timers to now (retransmissions, timeouts) and hands
         * over the events of the last datagram received, one at a time. */
        zcoap_event_t ev;
        while (zcoap_ep_process(&ep, now_ms(), &ev) == 1) {
            on_event(&ev, &status);
        }
        /* Step 2: send. The request, its retransmissions, ACKs and RSTs the endpoint owes. */
        const uint8_t *dgram;
        ptrdiff_t n;
        while ((n = zcoap_ep_next_datagram(&ep, now_ms(), &dgram)) > 0) {
            if (send(fd, dgram, (size_t)n, 0) < 0 && errno == ECONNREFUSED) {
                (void)zcoap_ep_peer_unreachable(&ep, now_ms()); /* next process() reports it */
            } /* other send errors: as if the datagram were lost; retransmission covers it */
        }
        if (status >= 0 && zcoap_ep_next_deadline(&ep) != 0) {
            break; /* the exchange is over and nothing is queued any more */
        }
        /* Step 3: wait for a datagram, or until the endpoint's next deadline. */
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, poll_timeout(zcoap_ep_next_deadline(&ep))) <= 0) {
            continue; /* a deadline (or EINTR): step 1 handles it */
        }
        /* Step 4: receive. The endpoint answers at once what it can (ACK, RST, duplicates) and
         * queues the events; rx must stay unchanged until they are processed. */
        ssize_t len = recv(fd, rx, sizeof rx, 0);
        if (len >= 0) {
            (void)zcoap_ep_receive(&ep, rx, (size_t)len, now_ms()); /* fails on NULL only */
        } else if (errno == ECONNREFUSED) {
            (void)zcoap_ep_peer_unreachable(&ep, now_ms());
        }
    }
    close(fd);
    close(random_fd);
    return status;
}
