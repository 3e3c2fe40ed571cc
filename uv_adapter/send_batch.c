/* Sending a server's answers to a batch of received datagrams in one sendmmsg() call (Linux):
 * while the datagrams one recvmmsg() read are handled, what they cause to be sent is copied
 * here, and goes out when the batch ends. A request and its answer then cost no system call of
 * their own, as in a bare UDP server that rewrites requests in place. */
#define _GNU_SOURCE /* sendmmsg */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "uv_io_internal.h"

struct zcoap__uv_send_batch {
    bool open;               /* sends are held here until zcoap__uv_send_batch_flush() */
    unsigned count;          /* datagrams held */
    size_t msg_cap;          /* room per datagram */
    uint64_t *datagrams_out; /* the server's counters */
    uint64_t *send_errors;
    struct mmsghdr msgs[ZCOAP__UV_SEND_BATCH];
    struct iovec iov[ZCOAP__UV_SEND_BATCH];
    struct sockaddr_storage to[ZCOAP__UV_SEND_BATCH];
    uint8_t data[]; /* ZCOAP__UV_SEND_BATCH * msg_cap */
};

zcoap__uv_send_batch_t *zcoap__uv_send_batch_new(size_t msg_cap, uint64_t *datagrams_out,
                                                 uint64_t *send_errors)
{
    zcoap__uv_send_batch_t *b = malloc(sizeof(*b) + ZCOAP__UV_SEND_BATCH * msg_cap);
    if (b == NULL)
        return NULL;
    b->open = false;
    b->count = 0;
    b->msg_cap = msg_cap;
    b->datagrams_out = datagrams_out;
    b->send_errors = send_errors;
    return b;
}

void zcoap__uv_send_batch_open(zcoap__uv_send_batch_t *b)
{
    if (b != NULL)
        b->open = true;
}

void zcoap__uv_send_batch_flush(zcoap__uv_send_batch_t *b, uv_udp_t *udp)
{
    if (b == NULL)
        return;
    b->open = false;
    unsigned sent = 0;
    unsigned lost = 0;
    uv_os_fd_t fd;
    if (b->count > 0 && !uv_is_closing((const uv_handle_t *)udp) &&
        uv_fileno((const uv_handle_t *)udp, &fd) == 0) {
        while (sent + lost < b->count) {
            unsigned done = sent + lost;
            int n = sendmmsg(fd, &b->msgs[done], b->count - done, MSG_DONTWAIT);
            if (n > 0)
                sent += (unsigned)n;
            else if (n < 0 && errno == EINTR)
                continue;
            else
                lost++; /* EAGAIN...: that datagram is lost, as with uv_udp_try_send(); CON
                           retransmission covers it. The rest may still go. */
        }
    } else {
        lost = b->count;
    }
    *b->datagrams_out += sent;
    *b->send_errors += lost;
    b->count = 0;
}

bool zcoap__uv_send_batch_add(zcoap__uv_send_batch_t *b, uv_udp_t *udp, const struct sockaddr *to,
                              const uint8_t *p, size_t n)
{
    if (b == NULL || !b->open || to == NULL || n > b->msg_cap)
        return false; /* sent at once */
    if (b->count == ZCOAP__UV_SEND_BATCH) {
        zcoap__uv_send_batch_flush(b, udp);
        b->open = true;
    }
    unsigned i = b->count++;
    uint8_t *slot = b->data + (size_t)i * b->msg_cap;
    memcpy(slot, p, n);
    size_t to_len =
        to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    memcpy(&b->to[i], to, to_len);
    b->iov[i].iov_base = slot;
    b->iov[i].iov_len = n;
    memset(&b->msgs[i], 0, sizeof(b->msgs[i]));
    b->msgs[i].msg_hdr.msg_name = &b->to[i];
    b->msgs[i].msg_hdr.msg_namelen = (socklen_t)to_len;
    b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
    b->msgs[i].msg_hdr.msg_iovlen = 1;
    return true;
}
