/* Socket and timer plumbing shared by the client and the server (see uv_io_internal.h). */
#include "uv_io_internal.h"

bool zcoap__uv_hook_passes(zcoap__uv_hook_t *hook, zcoap_uv_datagram_dir_t dir,
                           const struct sockaddr *peer, const uint8_t *p, size_t n)
{
    /* While it runs, calls that would send through the object are refused (uv.h). */
    hook->running = true;
    bool pass = hook->fn(hook->ctx, dir, peer, p, n);
    hook->running = false;
    return pass;
}

bool zcoap__uv_send(const zcoap__uv_tx_t *tx, const uint8_t *p, size_t n)
{
    if (tx->hook->fn != NULL) {
        bool pass = zcoap__uv_hook_passes(tx->hook, ZCOAP_UV_DATAGRAM_OUT, tx->peer, p, n);
        if (uv_is_closing((const uv_handle_t *)tx->udp))
            return false; /* the hook closed the client or server: the datagram goes nowhere */
        if (!pass) {
            (*tx->hook_dropped_out)++; /* lost on purpose, as on the network */
            return true;
        }
    }
    if (zcoap__uv_send_batch_add(tx->batch, tx->udp, tx->to, p, n))
        return true; /* goes out with the rest of the batch, counted then */
    /* uv_buf_t is not const-correct; libuv only reads the bytes it sends. */
    uv_buf_t out = uv_buf_init((char *)(uintptr_t)p, (unsigned int)n);
    int rc = uv_udp_try_send(tx->udp, &out, 1, tx->to);
    if (rc >= 0) {
        (*tx->datagrams_out)++;
    } else {
        (*tx->send_errors)++;
        if (tx->last_error != NULL)
            *tx->last_error = rc;
    }
    return true;
}

void zcoap__uv_send_queued(zcoap_ep_t *ep, uint64_t now, const zcoap__uv_tx_t *tx)
{
    const uint8_t *p;
    ptrdiff_t n;
    while ((n = zcoap_ep_next_datagram(ep, now, &p)) > 0) {
        if (!zcoap__uv_send(tx, p, (size_t)n))
            return;
    }
}

void zcoap__uv_arm_timer(uv_timer_t *timer, uv_timer_cb cb, const zcoap_ep_t *ep)
{
    uint64_t deadline = zcoap_ep_next_deadline(ep);
    if (deadline == ZCOAP_NEVER) {
        (void)uv_timer_stop(timer);
        return;
    }
    uint64_t now = uv_now(timer->loop);
    /* Each exchange moves the deadline a little later (a new de-duplication window); restarting
     * costs a removal and an insertion in libuv's timer heap, O(log n) in the number of peers.
     * A timer already due no later fires early once, finds nothing to do, and is re-armed. */
    if (uv_is_active((const uv_handle_t *)timer) && now + uv_timer_get_due_in(timer) <= deadline)
        return;
    (void)uv_timer_start(timer, cb, deadline <= now ? 0 : deadline - now, 0);
}
