/* What the uv tests share (uv_support.h). */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uv_support.h"

/* ---- a loop with guarded waits ------------------------------------------------------------ */

static void on_guard(uv_timer_t *t)
{
    uvt_loop_t *l = t->data;
    l->guard_fired = true;
}

static void on_pause_over(uv_timer_t *t)
{
    uvt_loop_t *l = t->data;
    l->pause_over = true;
}

int uvt_loop_init(uvt_loop_t *l)
{
    int rc = uv_loop_init(&l->loop);
    if (rc != 0) {
        return rc;
    }
    (void)uv_timer_init(&l->loop, &l->guard); /* a timer's init cannot fail */
    (void)uv_timer_init(&l->loop, &l->pause);
    l->guard.data = l;
    l->pause.data = l;
    return 0;
}

bool uvt_run_until(uvt_loop_t *l, uint64_t guard_ms, bool (*done)(const void *ctx), const void *ctx)
{
    l->guard_fired = false;
    uv_update_time(&l->loop);
    assert_int_equal(uv_timer_start(&l->guard, on_guard, guard_ms, 0), 0);
    while (!done(ctx) && !l->guard_fired) {
        if (uv_run(&l->loop, UV_RUN_ONCE) == 0) {
            break; /* nothing left that could make it happen */
        }
    }
    (void)uv_timer_stop(&l->guard);
    return done(ctx);
}

static bool pause_over(const void *ctx)
{
    const uvt_loop_t *l = ctx;
    return l->pause_over;
}

void uvt_run_for(uvt_loop_t *l, uint64_t ms)
{
    l->pause_over = false;
    assert_int_equal(uv_timer_start(&l->pause, on_pause_over, ms, 0), 0);
    /* The guard starts no earlier and lasts longer: the pause ends first. */
    assert_true(uvt_run_until(l, ms + 1000u, pause_over, l));
}

void uvt_close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

void uvt_loop_end(uvt_loop_t *l)
{
    uvt_close_handle((uv_handle_t *)&l->pause);
    uvt_close_handle((uv_handle_t *)&l->guard);
    (void)uv_run(&l->loop, UV_RUN_NOWAIT); /* runs the remaining close callbacks */
    assert_int_equal(uv_loop_close(&l->loop), 0);
}

/* ---- slow tools --------------------------------------------------------------------------- */

bool uvt_under_valgrind(void)
{
    const char *preload = getenv("LD_PRELOAD");
    return preload != NULL && strstr(preload, "vgpreload") != NULL;
}

bool uvt_asan_build(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

size_t uvt_scaled(size_t n, size_t valgrind_divisor, size_t min)
{
    double scaled = (double)n;
    const char *s = getenv("ZCOAP_TEST_SCALE");
    if (s != NULL) {
        double k = strtod(s, NULL);
        if (k > 0.0) {
            scaled *= k;
        }
    }
    if (uvt_under_valgrind() && valgrind_divisor > 1) {
        scaled /= (double)valgrind_divisor;
    }
    return scaled < (double)min ? min : (size_t)scaled;
}

void uvt_filter_tests(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--skip") == 0) {
        cmocka_set_skip_filter(argv[2]);
    } else if (argc == 2) {
        cmocka_set_test_filter(argv[1]);
    }
}

/* ---- addresses ---------------------------------------------------------------------------- */

void uvt_loopback(int family, uint16_t port, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    if (family == AF_INET6) {
        assert_int_equal(uv_ip6_addr("::1", port, (struct sockaddr_in6 *)out), 0);
    } else {
        assert_int_equal(uv_ip4_addr("127.0.0.1", port, (struct sockaddr_in *)out), 0);
    }
}

uint16_t uvt_port_of(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)a)->sin6_port)
                                    : ntohs(((const struct sockaddr_in *)a)->sin_port);
}

void uvt_copy_addr(struct sockaddr_storage *out, const struct sockaddr *a)
{
    memset(out, 0, sizeof *out);
    memcpy(out, a,
           a->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
}

bool uvt_same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family || uvt_port_of(a) != uvt_port_of(b)) {
        return false;
    }
    if (a->ss_family == AF_INET6) {
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
    }
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
           ((const struct sockaddr_in *)b)->sin_addr.s_addr;
}

const char *uvt_uri(char *out, size_t cap, const struct sockaddr_storage *to, const char *path)
{
    int n = snprintf(out, cap, "coap://%s:%u/%s", to->ss_family == AF_INET6 ? "[::1]" : "127.0.0.1",
                     (unsigned)uvt_port_of(to), path);
    assert_true(n > 0 && (size_t)n < cap);
    return out;
}

void uvt_require_loopback(int family, int rc)
{
    if (rc != 0 && family == AF_INET6) {
        print_message("no IPv6 loopback (%s): skipped\n", zcoap_uv_strerror(rc));
        skip();
    }
    assert_int_equal(rc, 0);
}

/* ---- raw peers ---------------------------------------------------------------------------- */

void uvt_datagram_set(uvt_datagram_t *d, const uint8_t *p, size_t len)
{
    d->len = len < sizeof d->data ? len : sizeof d->data;
    memcpy(d->data, p, d->len);
}

/* Keep a datagram in @p log (of UVT_LOG_MAX) as number @p *n, and count it. */
static void keep(uvt_datagram_t *log, size_t *n, const uint8_t *p, size_t len)
{
    if (*n < UVT_LOG_MAX) {
        uvt_datagram_set(&log[*n], p, len);
    }
    (*n)++;
}

static void on_peer_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    uvt_peer_t *p = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)p->buf, sizeof p->buf);
}

static void on_peer_recv(uv_udp_t *sock, ssize_t nread, const uv_buf_t *buf,
                         const struct sockaddr *from, unsigned flags)
{
    uvt_peer_t *p = sock->data;
    (void)flags;
    if (nread <= 0 || from == NULL) {
        return; /* nothing read, or an error: a raw peer only sends to loopback */
    }
    keep(p->rx, &p->n_rx, (const uint8_t *)buf->base, (size_t)nread);
    uvt_copy_addr(&p->last_from, from);
    zcoap_msg_t msg;
    if (zcoap_msg_parse(&msg, (const uint8_t *)buf->base, (size_t)nread) != ZCOAP_OK) {
        p->not_coap++;
        return;
    }
    if (p->on_msg != NULL) {
        p->on_msg(p, &p->last_from, &msg);
    }
}

int uvt_peer_open(uvt_peer_t *p, uv_loop_t *loop, int family, uint16_t port)
{
    struct sockaddr_storage at;
    uvt_loopback(family, port, &at);
    return uvt_peer_open_at(p, loop, &at);
}

int uvt_peer_open_at(uvt_peer_t *p, uv_loop_t *loop, const struct sockaddr_storage *at)
{
    p->addr = *at;
    int rc = uv_udp_init(loop, &p->sock);
    if (rc != 0) {
        return rc;
    }
    p->sock.data = p;
    p->open = true;
    rc = uv_udp_bind(&p->sock, (const struct sockaddr *)&p->addr, 0);
    if (rc != 0) {
        return rc;
    }
    int len = (int)sizeof p->addr;
    rc = uv_udp_getsockname(&p->sock, (struct sockaddr *)&p->addr, &len);
    if (rc != 0) {
        return rc;
    }
    return uv_udp_recv_start(&p->sock, on_peer_alloc, on_peer_recv);
}

int uvt_peer_send(uvt_peer_t *p, const struct sockaddr_storage *to, const uint8_t *data,
                  ptrdiff_t len)
{
    if (len <= 0) {
        p->send_errors++;
        return -1;
    }
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)data, (unsigned int)len);
    if (uv_udp_try_send(&p->sock, &b, 1, (const struct sockaddr *)to) != (int)len) {
        p->send_errors++;
        return -1;
    }
    keep(p->tx, &p->n_tx, data, (size_t)len);
    return 0;
}

const uvt_datagram_t *uvt_peer_rx(const uvt_peer_t *p, size_t i)
{
    assert_true(i < p->n_rx);
    assert_true(i < UVT_LOG_MAX);
    return &p->rx[i];
}

zcoap_msg_t uvt_peer_rx_msg(const uvt_peer_t *p, size_t i)
{
    const uvt_datagram_t *d = uvt_peer_rx(p, i);
    zcoap_msg_t msg;
    assert_int_equal(zcoap_msg_parse(&msg, d->data, d->len), ZCOAP_OK);
    return msg;
}

void uvt_peer_close(uvt_peer_t *p)
{
    if (p->open) {
        uvt_close_handle((uv_handle_t *)&p->sock);
        p->open = false;
    }
}
