/* The server's socket setup: binding with SO_REUSEPORT (several sockets sharing one address, the
 * kernel balancing peers over them) and the size of the receive buffer. */
/* SO_REUSEPORT is not POSIX: glibc shows it with _DEFAULT_SOURCE (its __USE_MISC) only. */
#define _DEFAULT_SOURCE 1

#include <errno.h>
#include <unistd.h>

#include "server_internal.h"

#if defined(__linux__) && !defined(SO_REUSEPORT)
#error "SO_REUSEPORT is hidden: the reuse_port option would always fail with UV_ENOTSUP"
#endif

/* Bind with SO_REUSEPORT, so that several sockets (one per loop, thread or process of the same
 * user) share the address and the kernel spreads peers over them by a hash of the source address
 * and port. libuv 1.44 has no UV_UDP_REUSEPORT (1.49 adds one), and its UV_UDP_REUSEADDR is
 * SO_REUSEADDR on Linux, which does not balance unicast: so the socket is made here, bound, and
 * handed to libuv. IPV6_V6ONLY keeps the system default, as uv_udp_bind() without flags does.
 * Errors are libuv codes (negative errno on Unix, as UV__ERR makes them). */
int zcoap__uv_bind_reuse_port(uv_udp_t *udp, const struct sockaddr *addr)
{
#ifdef SO_REUSEPORT
    socklen_t len;
    if (addr->sa_family == AF_INET)
        len = (socklen_t)sizeof(struct sockaddr_in);
    else if (addr->sa_family == AF_INET6)
        len = (socklen_t)sizeof(struct sockaddr_in6);
    else
        return UV_EINVAL;
    int type = SOCK_DGRAM;
#ifdef SOCK_CLOEXEC
    type |= SOCK_CLOEXEC; /* like libuv's own sockets: not inherited by exec'd children */
#endif
    int fd = socket(addr->sa_family, type, 0);
    if (fd < 0)
        return -errno;
    const int on = 1;
    const int off = 0;
    int rc = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 || bind(fd, addr, len) != 0)
        rc = -errno;
    if (rc == 0)
        rc = uv_udp_open(udp, fd); /* the handle owns fd from here on */
    if (rc != 0) {
        (void)close(fd);
        return rc;
    }
    /* uv_udp_open() also sets SO_REUSEADDR, with which any later socket carrying SO_REUSEADDR
     * (of any user) could bind the same port and take datagrams; only the SO_REUSEPORT group
     * (same user, enforced by the kernel) should share it. */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &off, sizeof(off));
    return 0;
#else
    (void)udp;
    (void)addr;
    return UV_ENOTSUP;
#endif
}

/* The receive buffer asked for: SO_RCVBUF (capped by net.core.rmem_max), else SO_RCVBUFFORCE
 * when allowed. Failing both is not an error: the system's size stays, as with 0. */
void zcoap__uv_set_recv_buffer(zcoap_uv_server_t *s)
{
    uv_os_fd_t fd;
    if (uv_fileno((const uv_handle_t *)&s->udp, &fd) != 0)
        return;
    size_t want = s->cfg.recv_buffer_size > (size_t)INT32_MAX / 2 ? (size_t)INT32_MAX / 2
                                                                  : s->cfg.recv_buffer_size;
    if (want > 0) {
        int size = (int)want;
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
#ifdef SO_RCVBUFFORCE
        int got = 0;
        socklen_t got_len = sizeof(got);
        /* Linux reports twice what was set (its bookkeeping overhead). */
        if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &got_len) == 0 && (size_t)got / 2 < want)
            (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
#endif
    }
    int got = 0;
    socklen_t got_len = sizeof(got);
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &got_len) == 0 && got > 0)
        s->stats.recv_buffer_size = (size_t)got;
}
