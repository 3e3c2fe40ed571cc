/* Socket and timer plumbing shared by the client and the server (see uv_io_internal.h). */
#include "uv_io_internal.h"

void zcoap__uv_send(uv_udp_t *udp, const struct sockaddr *to, const uint8_t *p, size_t n,
                    const zcoap__uv_tx_counters_t *counters)
{
    /* uv_buf_t is not const-correct; libuv only reads the bytes it sends. */
    uv_buf_t out = uv_buf_init((char *)(uintptr_t)p, (unsigned int)n);
    int rc = uv_udp_try_send(udp, &out, 1, to);
    if (rc >= 0) {
        (*counters->datagrams_out)++;
    } else {
        (*counters->send_errors)++;
        if (counters->last_error != NULL)
            *counters->last_error = rc;
    }
}

void zcoap__uv_send_queued(zcoap_ep_t *ep, uv_udp_t *udp, const struct sockaddr *to, uint64_t now,
                           const zcoap__uv_tx_counters_t *counters)
{
    const uint8_t *p;
    ptrdiff_t n;
    while ((n = zcoap_ep_next_datagram(ep, now, &p)) > 0)
        zcoap__uv_send(udp, to, p, (size_t)n, counters);
}

void zcoap__uv_arm_timer(uv_timer_t *timer, uv_timer_cb cb, const zcoap_ep_t *ep)
{
    uint64_t deadline = zcoap_ep_next_deadline(ep);
    if (deadline == ZCOAP_NEVER) {
        (void)uv_timer_stop(timer);
        return;
    }
    uint64_t now = uv_now(timer->loop);
    (void)uv_timer_start(timer, cb, deadline <= now ? 0 : deadline - now, 0);
}
