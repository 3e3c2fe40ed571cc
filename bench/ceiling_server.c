/*
 * zcoap_ceiling_server: the bare-UDP ceiling of issue 7, the most any CoAP server can do on this
 * machine: recvmmsg a batch, answer each request in place, sendmmsg the answers. No parsing
 * beyond the 4-byte header, no state, no allocation.
 *
 *     zcoap_ceiling_server [-A ADDRESS] [-p PORT] [--rcvbuf BYTES]
 *     zcoap_ceiling_server ADDR:PORT            ([IPv6]:PORT too)
 *
 * A CON request becomes an empty-payload 2.05 piggybacked ACK (RFC 7252 §5.2.1): the type bits
 * change CON -> ACK (version and TKL kept), the code becomes 2.05, and only the header and the
 * token are sent back (the request's options and payload are cut off), so MID and token match.
 * A NON request becomes a NON 2.05 with the same MID and token: valid CoAP, but the MID is the
 * client's rather than one of the server's own sequence (§4.4 wants the server to choose it), so
 * a client that de-duplicates NON responses by MID could drop one when its own MIDs wrap: good
 * enough for the bench. Anything else (responses, empty messages, other versions, a TKL over 8,
 * a datagram shorter than its header and token) is dropped.
 *
 * Prints "zcoap_ceiling_server: listening on ADDR:PORT" once bound (flushed), runs until
 * SIGINT/SIGTERM, then prints its counters and exits 0.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "loadgen_addr.h"

enum {
    BATCH = 64, /* datagrams per recvmmsg */
    DATAGRAM_MAX = 1536,
    HEADER_LEN = 4,
    TYPE_CON = 0,
    TYPE_NON = 1,
    TYPE_ACK = 2,
    CODE_CONTENT = 0x45, /* 2.05 */
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int signum)
{
    (void)signum;
    stop_requested = 1;
}

typedef struct counters {
    unsigned long long datagrams_in;
    unsigned long long con_answered;
    unsigned long long non_answered;
    unsigned long long dropped;
    unsigned long long send_errors;
    unsigned long long recv_calls;
} counters_t;

/* Turns the request in @p d (@p len bytes) into its answer in place; returns the answer's length,
 * or 0 to drop the datagram. */
static size_t answer_in_place(uint8_t *d, size_t len, counters_t *c)
{
    if (len < HEADER_LEN)
        return 0;
    unsigned version = d[0] >> 6;
    unsigned type = (d[0] >> 4) & 3u;
    unsigned token_len = d[0] & 0x0fu;
    unsigned code = d[1];
    /* A request: version 1 (§3), a code of class 0 other than 0.00 (§12.1.1), TKL 0-8. */
    if (version != 1 || token_len > 8 || len < HEADER_LEN + token_len || code == 0 ||
        (code >> 5) != 0)
        return 0;
    if (type == TYPE_CON) {
        d[0] = (uint8_t)((d[0] & 0xcfu) | TYPE_ACK << 4);
        c->con_answered++;
    } else if (type == TYPE_NON) {
        c->non_answered++;
    } else {
        return 0;
    }
    d[1] = CODE_CONTENT;
    return HEADER_LEN + token_len;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: zcoap_ceiling_server [-A ADDRESS] [-p PORT] [--rcvbuf BYTES] | [ADDR:PORT]\n"
            "Answers every CoAP request with an empty 2.05 (CON: piggybacked ACK, NON: NON)\n"
            "on ADDRESS (default 127.0.0.1; [IPv6]:PORT accepted), PORT (default 5683; 0: any\n"
            "free port, printed), until SIGINT/SIGTERM. --rcvbuf asks for a receive buffer\n"
            "(default 4194304, as zcoap's server asks; 0 keeps the system's default).\n");
}

/* The socket, bound; -1 on error (printed). */
static int open_server_socket(const loadgen_addr_t *addr, int rcvbuf)
{
    int fd = socket(addr->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("zcoap_ceiling_server: socket");
        return -1;
    }
    if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)); /* up to rmem_max */
    /* Wake up now and then with nothing received, so a signal that lands just before recvmmsg
     * blocks is seen within this time. */
    struct timeval tick = {0, 200000};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
    if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0) {
        perror("zcoap_ceiling_server: bind");
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends @p n answers; a refused one is counted and skipped. */
static void send_answers(int fd, struct mmsghdr *msgs, unsigned n, counters_t *c)
{
    unsigned done = 0;
    while (done < n) {
        int sent = sendmmsg(fd, msgs + done, n - done, 0);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0) {
            c->send_errors++;
            done++;
            continue;
        }
        done += (unsigned)sent;
    }
}

static int serve(int fd, counters_t *c)
{
    static uint8_t bufs[BATCH][DATAGRAM_MAX];
    static struct sockaddr_storage from[BATCH];
    static struct iovec in_iov[BATCH], out_iov[BATCH];
    static struct mmsghdr in[BATCH], out[BATCH];
    for (unsigned i = 0; i < BATCH; i++) {
        in_iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
        in[i].msg_hdr.msg_iov = &in_iov[i];
        in[i].msg_hdr.msg_iovlen = 1;
        in[i].msg_hdr.msg_name = &from[i];
    }
    while (!stop_requested) {
        for (unsigned i = 0; i < BATCH; i++)
            in[i].msg_hdr.msg_namelen = sizeof(from[i]); /* value-result */
        /* MSG_WAITFORONE: block for the first datagram only, then take what is queued. */
        int n = recvmmsg(fd, in, BATCH, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            perror("zcoap_ceiling_server: recvmmsg");
            return 1;
        }
        c->recv_calls++;
        c->datagrams_in += (unsigned)n;
        unsigned answers = 0;
        for (int i = 0; i < n; i++) {
            bool truncated = (in[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
            size_t len = truncated ? 0 : answer_in_place(bufs[i], in[i].msg_len, c);
            if (len == 0) {
                c->dropped++;
                continue;
            }
            out_iov[answers] = (struct iovec){bufs[i], len};
            out[answers].msg_hdr = (struct msghdr){.msg_name = &from[i],
                                                   .msg_namelen = in[i].msg_hdr.msg_namelen,
                                                   .msg_iov = &out_iov[answers],
                                                   .msg_iovlen = 1};
            answers++;
        }
        send_answers(fd, out, answers, c);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    unsigned long port = 5683;
    long rcvbuf = 4 << 20;
    const char *listen_at = NULL;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "-A") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
            port = strtoul(argv[++i], &end, 10);
            if (*end != '\0' || port > 65535) {
                usage(stderr);
                return 2;
            }
        } else if (strcmp(argv[i], "--rcvbuf") == 0 && i + 1 < argc) {
            rcvbuf = strtol(argv[++i], &end, 10);
            if (*end != '\0' || rcvbuf < 0 || rcvbuf > (1L << 30)) {
                usage(stderr);
                return 2;
            }
        } else if (argv[i][0] != '-' && listen_at == NULL) {
            listen_at = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    loadgen_addr_t addr;
    bool ok = listen_at != NULL ? loadgen_addr_parse(listen_at, true, &addr)
                                : loadgen_addr_from_host(host, (unsigned)port, &addr);
    if (!ok) {
        fprintf(stderr, "zcoap_ceiling_server: bad address\n");
        usage(stderr);
        return 2;
    }
    /* No SA_RESTART: a signal interrupts recvmmsg (EINTR) and the loop sees the flag. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int fd = open_server_socket(&addr, (int)rcvbuf);
    if (fd < 0)
        return 1;
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof(bound);
    char text[80];
    int effective_rcvbuf = 0;
    socklen_t opt_len = sizeof(effective_rcvbuf);
    (void)getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &effective_rcvbuf, &opt_len);
    if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) != 0) {
        perror("zcoap_ceiling_server: getsockname");
        close(fd);
        return 1;
    }
    loadgen_addr_format((const struct sockaddr *)&bound, text, sizeof(text));
    printf("zcoap_ceiling_server: listening on %s\n", text);
    fflush(stdout);

    counters_t c;
    memset(&c, 0, sizeof(c));
    int rc = serve(fd, &c);
    close(fd);
    printf("zcoap_ceiling_server: %llu datagrams in, %llu answered (%llu CON, %llu NON), %llu "
           "dropped, %llu send errors, %llu recvmmsg calls (%.1f datagrams each); receive "
           "buffer %d bytes\n",
           c.datagrams_in, c.con_answered + c.non_answered, c.con_answered, c.non_answered,
           c.dropped, c.send_errors, c.recv_calls,
           c.recv_calls > 0 ? (double)c.datagrams_in / (double)c.recv_calls : 0.0,
           effective_rcvbuf);
    fflush(stdout);
    return rc;
}
