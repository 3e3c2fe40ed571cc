/*
 * coap_get: send one CoAP request to a real peer over a plain UDP socket and print the exchange.
 *
 *     coap_get coap://127.0.0.1:5683/path [-m METHOD] [-e PAYLOAD] [-N]
 *
 * The request is built with zcoap's builder and every datagram is printed with zcoap_msg_print().
 * The message layer (RFC 7252 §4) is done by hand here, just enough for one exchange: CON
 * retransmission with exponential back-off, empty ACK then separate response, ACK of a CON
 * response, RST for anything unexpected. (zcoap's endpoint will do this properly; this example
 * shows the codec against a real peer.) Exit status 0 on a 2.xx response, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "zcoap/zcoap.h"

enum {
    TOKEN_LEN = 4,
    /* How long to wait for a separate response after its empty ACK, or for the answer to a NON
     * request: MAX_TRANSMIT_WAIT, what a CON request would have taken at most (RFC 7252 §4.8.2). */
    RESPONSE_WAIT_MS = ZCOAP_MAX_TRANSMIT_WAIT_MS,
    PRINT_LINE_MAX = 2048
};

struct args {
    const char *uri;
    uint8_t method;
    const char *payload;
    bool non_confirmable;
};

/* The exchange: our request and what we have learnt about it so far. */
struct exchange {
    int fd;
    const uint8_t *request;
    size_t request_len;
    uint16_t mid;
    uint8_t token[TOKEN_LEN];
    bool acked; /* empty ACK received: a separate response will follow (RFC 7252 §5.2.2) */
};

enum verdict { KEEP_WAITING, GOT_RESPONSE, FAILED };

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

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Tokens must be hard to guess (RFC 7252 §5.3.1): take them from the kernel. */
static bool random_bytes(void *out, size_t len)
{
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0) {
        return false;
    }
    ssize_t n = read(fd, out, len);
    close(fd);
    return n == (ssize_t)len;
}

/* RFC 7252 §4.2: the first timeout is random in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR). */
static uint64_t initial_ack_timeout_ms(void)
{
    uint32_t r = 0;
    (void)random_bytes(&r, sizeof r);
    uint64_t span = (uint64_t)ZCOAP_ACK_TIMEOUT_MS *
                    (ZCOAP_ACK_RANDOM_FACTOR_NUM - ZCOAP_ACK_RANDOM_FACTOR_DEN);
    return ZCOAP_ACK_TIMEOUT_MS + span * r / ((uint64_t)ZCOAP_ACK_RANDOM_FACTOR_DEN << 32);
}

static void print_datagram(const char *direction, const uint8_t *buf, size_t len)
{
    zcoap_msg_t msg;
    char line[PRINT_LINE_MAX];
    int rc = zcoap_msg_parse(&msg, buf, len);
    if (rc != ZCOAP_OK) {
        printf("%s %zu bytes, malformed: %s\n", direction, len, zcoap_strerror(rc));
        return;
    }
    /* A line too long for the buffer comes back cut, ending in "...": still worth printing. */
    ptrdiff_t n = zcoap_msg_print(&msg, line, sizeof line);
    if (n < 0 && n != ZCOAP_ENOSPC) {
        printf("%s %zu bytes (print failed: %s)\n", direction, len, zcoap_strerror((int)n));
        return;
    }
    printf("%s %s\n", direction, line);
}

static bool send_datagram(int fd, const uint8_t *buf, size_t len)
{
    print_datagram("->", buf, len);
    if (send(fd, buf, len, 0) != (ssize_t)len) {
        perror("coap_get: send");
        return false;
    }
    return true;
}

static bool send_empty(int fd, uint8_t type, uint16_t mid)
{
    uint8_t buf[4];
    ptrdiff_t len = zcoap_build_empty(buf, sizeof buf, type, mid);
    return len > 0 && send_datagram(fd, buf, (size_t)len);
}

/* A UDP socket connected to the URI's host and port, IPv4 or IPv6. */
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

/* What a received datagram means for the exchange (RFC 7252 §4.2, §4.3, §5.2). */
static enum verdict handle_datagram(struct exchange *ex, const uint8_t *buf, size_t len,
                                    zcoap_msg_t *response)
{
    zcoap_msg_t msg;
    int rc = zcoap_msg_parse(&msg, buf, len);
    if (rc != ZCOAP_OK) {
        /* §4.2: a malformed CON is rejected with RST; other malformed messages are ignored, and
         * so is anything of an unknown version (§3). */
        if (rc != ZCOAP_EMSG_VERSION && len >= 4 && msg.type == ZCOAP_TYPE_CON) {
            return send_empty(ex->fd, ZCOAP_TYPE_RST, msg.mid) ? KEEP_WAITING : FAILED;
        }
        return KEEP_WAITING;
    }
    bool our_token = msg.token_len == TOKEN_LEN && memcmp(msg.token, ex->token, TOKEN_LEN) == 0;

    if (msg.type == ZCOAP_TYPE_ACK || msg.type == ZCOAP_TYPE_RST) {
        if (msg.mid != ex->mid) {
            return KEEP_WAITING; /* §4.2: matches nothing of ours */
        }
        if (msg.type == ZCOAP_TYPE_RST) {
            fprintf(stderr, "coap_get: the peer rejected the request with RST\n");
            return FAILED;
        }
        if (msg.code == ZCOAP_CODE_EMPTY) {
            ex->acked = true; /* §5.2.2: the response follows separately */
            return KEEP_WAITING;
        }
        if (!our_token) {
            fprintf(stderr, "coap_get: piggybacked response with another token, ignored\n");
            return KEEP_WAITING;
        }
        *response = msg;
        return GOT_RESPONSE;
    }

    /* CON or NON from the peer: a separate (or NON) response to us, or something unexpected. */
    if (zcoap_code_is_response(msg.code) && our_token) {
        if (msg.type == ZCOAP_TYPE_CON && !send_empty(ex->fd, ZCOAP_TYPE_ACK, msg.mid)) {
            return FAILED;
        }
        *response = msg;
        return GOT_RESPONSE;
    }
    if (msg.type == ZCOAP_TYPE_CON) {
        return send_empty(ex->fd, ZCOAP_TYPE_RST, msg.mid) ? KEEP_WAITING : FAILED;
    }
    return KEEP_WAITING; /* an unexpected NON is silently ignored (§4.3) */
}

/* Runs the exchange until a response (copied into rx, viewed by response) or a failure. */
static bool run_exchange(struct exchange *ex, bool confirmable, uint8_t *rx, size_t rx_cap,
                         zcoap_msg_t *response)
{
    uint64_t timeout_ms = confirmable ? initial_ack_timeout_ms() : RESPONSE_WAIT_MS;
    uint64_t deadline = now_ms() + timeout_ms;
    unsigned retransmissions = 0;
    bool was_acked = false;

    if (!send_datagram(ex->fd, ex->request, ex->request_len)) {
        return false;
    }
    for (;;) {
        if (ex->acked && !was_acked) {
            was_acked = true; /* stop retransmitting; wait for the separate response */
            deadline = now_ms() + RESPONSE_WAIT_MS;
        }
        uint64_t now = now_ms();
        if (now >= deadline) {
            /* §4.2: the timeout doubles with each retransmission, MAX_RETRANSMIT times. */
            if (confirmable && !ex->acked && retransmissions < ZCOAP_MAX_RETRANSMIT) {
                retransmissions++;
                timeout_ms *= 2;
                deadline = now + timeout_ms;
                printf("   (retransmission %u of %u)\n", retransmissions, ZCOAP_MAX_RETRANSMIT);
                if (!send_datagram(ex->fd, ex->request, ex->request_len)) {
                    return false;
                }
                continue;
            }
            fprintf(stderr, "coap_get: no response (timeout)\n");
            return false;
        }
        uint64_t wait_ms = deadline - now;
        struct pollfd pfd = {.fd = ex->fd, .events = POLLIN};
        int ready = poll(&pfd, 1, wait_ms > 60000u ? 60000 : (int)wait_ms);
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready < 0) {
            perror("coap_get: poll");
            return false;
        }
        if (ready == 0) {
            continue;
        }
        ssize_t n = recv(ex->fd, rx, rx_cap, 0);
        if (n < 0) {
            /* On a connected UDP socket, an ICMP port unreachable shows up here. */
            fprintf(stderr, "coap_get: receive: %s\n", strerror(errno));
            return false;
        }
        print_datagram("<-", rx, (size_t)n);
        switch (handle_datagram(ex, rx, (size_t)n, response)) {
        case GOT_RESPONSE:
            return true;
        case FAILED:
            return false;
        case KEEP_WAITING:
            break;
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

    struct exchange ex = {.fd = -1};
    uint8_t mid_bytes[2];
    if (!random_bytes(ex.token, sizeof ex.token) || !random_bytes(mid_bytes, sizeof mid_bytes)) {
        fprintf(stderr, "coap_get: no random source\n");
        return 1;
    }
    ex.mid = (uint16_t)(mid_bytes[0] << 8 | mid_bytes[1]);

    uint8_t request[ZCOAP_MAX_MSG_SIZE];
    zcoap_builder_t b;
    zcoap_uri_t parts;
    uint8_t type = args.non_confirmable ? ZCOAP_TYPE_NON : ZCOAP_TYPE_CON;
    zcoap_builder_init(&b, request, sizeof request, type, args.method, ex.mid, ex.token,
                       sizeof ex.token);
    int rc = zcoap_builder_add_uri(&b, args.uri, strlen(args.uri), ZCOAP_URI_OPT_DEFAULT, &parts);
    if (rc != ZCOAP_OK) {
        fprintf(stderr, "coap_get: %s: %s\n", args.uri, zcoap_strerror(rc));
        return 1;
    }
    if (parts.secure) {
        fprintf(stderr, "coap_get: coaps:// needs DTLS, which zcoap does not have yet\n");
        return 1;
    }
    if (args.payload != NULL) {
        zcoap_builder_set_payload(&b, args.payload, strlen(args.payload));
    }
    ptrdiff_t len = zcoap_builder_finish(&b); /* errors are sticky: one check covers all */
    if (len < 0) {
        fprintf(stderr, "coap_get: cannot build the request: %s\n", zcoap_strerror((int)len));
        return 1;
    }
    ex.request = request;
    ex.request_len = (size_t)len;

    ex.fd = open_socket(&parts);
    if (ex.fd < 0) {
        return 1;
    }
    uint8_t rx[65536]; /* any UDP datagram fits, so none is cut */
    zcoap_msg_t response;
    bool ok = run_exchange(&ex, !args.non_confirmable, rx, sizeof rx, &response);
    close(ex.fd);
    if (!ok) {
        return 1;
    }

    const char *reason = zcoap_code_reason(response.code);
    printf("response: %s %s, %zu-byte payload\n", zcoap_code_name(response.code),
           reason != NULL ? reason : "", response.payload_len);
    if (response.payload_len > 0) {
        fwrite(response.payload, 1, response.payload_len, stdout);
        if (response.payload[response.payload_len - 1] != '\n') {
            putchar('\n');
        }
    }
    return ZCOAP_CODE_CLASS(response.code) == 2 ? 0 : 1;
}
