/**
 * @file uv_support.h
 * @brief What the tests of the libuv adapter (tests/uv) share: a loop whose waits are bounded by
 *        a guard timer, raw UDP peers on loopback that play CoAP by hand and keep what they
 *        receive and send, and loopback addresses.
 *
 * Waits run the loop, never sleep: a wait that has not ended after its guard's loop time fails.
 * Callbacks of a raw peer only record and answer (a failed send is counted, not asserted), so
 * that no assertion jumps out of uv_run(); the test body asserts once the loop is back.
 *
 * Include after <setjmp.h>, <stdarg.h>, <stddef.h>, <stdint.h> and <cmocka.h>. Linked by the uv
 * tests only (it needs libuv and the adapter).
 */
#ifndef ZCOAP_TEST_UV_SUPPORT_H
#define ZCOAP_TEST_UV_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zcoap/uv.h"

enum {
    UVT_DGRAM_MAX = 2048, /**< bytes of one datagram a log keeps (the rest is cut) */
    UVT_LOG_MAX = 64,     /**< datagrams a raw peer keeps each way */
    UVT_RECV_BUF = 4096   /**< a raw peer's receive buffer */
};

/* ---- a loop with guarded waits ------------------------------------------------------------ */

/** A loop, the guard timer that bounds each wait, and the timer of uvt_run_for(). */
typedef struct uvt_loop {
    uv_loop_t loop;
    uv_timer_t guard;
    uv_timer_t pause;
    bool guard_fired;
    bool pause_over;
} uvt_loop_t;

/** Initialise @p l (which must not move afterwards) and its two timers; 0 or a libuv error. */
int uvt_loop_init(uvt_loop_t *l);

/**
 * @brief Run the loop until @p done(@p ctx) holds, for @p guard_ms of loop time at most, or
 *        until nothing is left on the loop that could make it hold.
 * @return what @p done says at the end
 */
bool uvt_run_until(uvt_loop_t *l, uint64_t guard_ms, bool (*done)(const void *ctx),
                   const void *ctx);

/** Let @p ms of loop time pass with the loop running (fails the test if the wait is cut). */
void uvt_run_for(uvt_loop_t *l, uint64_t ms);

/** uv_close() @p h unless it is closing or closed already. */
void uvt_close_handle(uv_handle_t *h);

/**
 * @brief The end of a teardown, once the test's own handles are closed or closing: close the
 *        two timers, run the remaining close callbacks, and fail unless uv_loop_close() succeeds
 *        (UV_EBUSY there means a handle of the adapter, or of the test, is still alive).
 */
void uvt_loop_end(uvt_loop_t *l);

/* ---- slow tools --------------------------------------------------------------------------- */

/** True when the test runs under Valgrind (its preload library is in LD_PRELOAD): tests that
 *  count thousands of datagrams run fewer there, where everything is ~20 times slower. */
bool uvt_under_valgrind(void);

/** True when the test was built with AddressSanitizer, which changes RSS a lot (shadow memory,
 *  quarantine): memory-growth assertions are meaningless there. */
bool uvt_asan_build(void);

/**
 * @brief @p n scaled for the tool the test runs under: multiplied by ZCOAP_TEST_SCALE (a float)
 *        when set, divided by @p valgrind_divisor under Valgrind; at least @p min.
 */
size_t uvt_scaled(size_t n, size_t valgrind_divisor, size_t min);

/**
 * @brief Pick the tests to run from a test program's arguments: "PATTERN" runs only the tests
 *        matching it, "--skip PATTERN" runs all others (cmocka's '*' and '?' wildcards), e.g. to
 *        leave out a test known to fail. No arguments: every test.
 */
void uvt_filter_tests(int argc, char **argv);

/* ---- addresses ---------------------------------------------------------------------------- */

/** 127.0.0.1 (AF_INET) or ::1 (AF_INET6) with @p port, zero-filled around. */
void uvt_loopback(int family, uint16_t port, struct sockaddr_storage *out);

/** The port of an IPv4 or IPv6 address, in host order. */
uint16_t uvt_port_of(const struct sockaddr_storage *a);

/** Copy the IPv4 or IPv6 address @p a into @p out, zero-filled around. */
void uvt_copy_addr(struct sockaddr_storage *out, const struct sockaddr *a);

/** Same family, address and port. */
bool uvt_same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/**
 * @brief "coap://127.0.0.1:PORT/PATH" or "coap://[::1]:PORT/PATH" for the loopback address
 *        @p to; @p path has no leading '/'. Fails the test when @p cap is too small.
 * @return @p out
 */
const char *uvt_uri(char *out, size_t cap, const struct sockaddr_storage *to, const char *path);

/**
 * @brief Check the result @p rc of binding or connecting on the loopback of @p family: an IPv6
 *        failure skips the test (the host has no ::1), any other failure fails it.
 */
void uvt_require_loopback(int family, int rc);

/* ---- raw peers ---------------------------------------------------------------------------- */

/** One datagram as it was on the wire (cut at UVT_DGRAM_MAX). */
typedef struct uvt_datagram {
    uint8_t data[UVT_DGRAM_MAX];
    size_t len;
} uvt_datagram_t;

/** Keep @p len bytes of @p p in @p d. */
void uvt_datagram_set(uvt_datagram_t *d, const uint8_t *p, size_t len);

typedef struct uvt_peer uvt_peer_t;

/** What a raw peer does with each datagram it receives that is CoAP, once it is recorded. */
typedef void (*uvt_peer_fn)(uvt_peer_t *p, const struct sockaddr_storage *from,
                            const zcoap_msg_t *msg);

/** A UDP socket on loopback that plays a CoAP peer by hand and keeps every datagram both ways. */
struct uvt_peer {
    uv_udp_t sock;
    bool open;                         /**< the socket is to be closed (uvt_peer_close) */
    struct sockaddr_storage addr;      /**< where it is bound */
    uvt_peer_fn on_msg;                /**< NULL: it only records */
    void *data;                        /**< for the test */
    struct sockaddr_storage last_from; /**< the source of the last datagram received */
    uvt_datagram_t rx[UVT_LOG_MAX];    /**< the first datagrams received */
    size_t n_rx;                       /**< datagrams received, also past UVT_LOG_MAX */
    uvt_datagram_t tx[UVT_LOG_MAX];    /**< the first datagrams sent */
    size_t n_tx;                       /**< datagrams sent, also past UVT_LOG_MAX */
    size_t not_coap;                   /**< datagrams received that do not parse as CoAP */
    size_t send_errors;                /**< sends refused, or of a message that failed to build */
    uint8_t buf[UVT_RECV_BUF];
};

/**
 * @brief Bind @p p to the loopback of @p family on @p port (0: any free one; the one taken is in
 *        p->addr) and start receiving. On failure the socket may still be open: close it.
 * @return 0 or a libuv error
 */
int uvt_peer_open(uvt_peer_t *p, uv_loop_t *loop, int family, uint16_t port);

/**
 * @brief uvt_peer_open() at the address @p at (any loopback address of the 127/8 block, or ::1,
 *        with a port or 0): for a peer that must come from another source address.
 * @return 0 or a libuv error (UV_EADDRNOTAVAIL where the address is not local)
 */
int uvt_peer_open_at(uvt_peer_t *p, uv_loop_t *loop, const struct sockaddr_storage *at);

/**
 * @brief Send @p len bytes of @p data to @p to at once and keep them in p->tx. A negative
 *        @p len (a build that failed), an empty datagram or a refused send counts in
 *        p->send_errors.
 * @return 0 when the whole datagram went out, else -1
 */
int uvt_peer_send(uvt_peer_t *p, const struct sockaddr_storage *to, const uint8_t *data,
                  ptrdiff_t len);

/** Received datagram @p i; fails the test when it was not received or not kept. */
const uvt_datagram_t *uvt_peer_rx(const uvt_peer_t *p, size_t i);

/** Received datagram @p i, parsed; fails the test when there is none such or it is not CoAP. */
zcoap_msg_t uvt_peer_rx_msg(const uvt_peer_t *p, size_t i);

/** Close @p p's socket if it is open. */
void uvt_peer_close(uvt_peer_t *p);

#endif /* ZCOAP_TEST_UV_SUPPORT_H */
