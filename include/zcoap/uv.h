/**
 * @file uv.h
 * @brief The libuv adapter of zcoap: the only part of zcoap that includes <uv.h>.
 *
 * The adapter moves datagrams between uv_udp_t handles and zcoap endpoints and turns each
 * endpoint's next deadline into a uv_timer_t, so nothing polls. It offers client endpoints
 * (zcoap_uv_client_t: one peer over a connected UDP socket), a server (zcoap_uv_server_t: one
 * socket, many peers, a resource table; several servers can share a port with reuse_port), the
 * error strings covering both code ranges, and the OS random source.
 *
 * Like libuv itself, everything here belongs to one loop and one thread; nothing takes a lock.
 * Link with zcoap::uv (CMake) or `pkg-config zcoap-uv`; both define _POSIX_C_SOURCE=200809L,
 * which <uv.h> needs under strict -std=c11.
 */
#ifndef ZCOAP_UV_H
#define ZCOAP_UV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "zcoap/resource.h"
#include "zcoap/zcoap.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Description of an error returned by zcoap or by libuv.
 *
 * zcoap's codes (0 and -1000..-1099) go to zcoap_strerror(); every other code is libuv's
 * (negative errno values) and goes to uv_strerror(). The two ranges never overlap.
 *
 * @param[in] err An error code from either library.
 * @return A string that lives as long as the program. libuv formats codes it does not know into
 *         a string it never frees; pass only codes that libuv or zcoap actually returned.
 */
const char *zcoap_uv_strerror(int err);

/**
 * @brief Fill a buffer from the operating system's random source, synchronously.
 *
 * This is the random source the adapter gives endpoints for tokens and initial message IDs,
 * which must be hard to guess (RFC 7252 §5.3.1, §4.4). It calls uv_random() without a loop, so
 * it blocks only if the kernel's pool is not yet initialised (early boot).
 *
 * @param[in]  ctx Unused; present so the function matches the endpoint's rng callback type.
 * @param[out] out Where to write @p len random bytes (may be NULL when @p len is 0).
 * @param[in]  len How many bytes.
 * @retval 0           @p out holds @p len random bytes (always for @p len 0)
 * @retval UV_E2BIG    @p len is larger than libuv accepts in one call
 * @retval UV_EINVAL   @p out is NULL with @p len > 0
 * @retval other       a negative libuv error from the OS source (ENOSYS, EIO, ...)
 */
int zcoap_uv_random(void *ctx, uint8_t *out, size_t len);

/* ---- the datagram hook ---------------------------------------------------------------------- */

/** Which way a datagram goes, for the datagram hook. */
typedef enum zcoap_uv_datagram_dir {
    ZCOAP_UV_DATAGRAM_IN, /**< received from the peer, about to be handed to the endpoint */
    ZCOAP_UV_DATAGRAM_OUT /**< about to be sent to the peer */
} zcoap_uv_datagram_dir_t;

/**
 * @brief Sees every datagram a client or a server sends or receives, and may drop it.
 *
 * Set one per object with zcoap_uv_client_set_hook() or zcoap_uv_server_set_hook(): to print
 * every datagram, to count, or to inject faults (a seeded loss in tests and demos).
 *
 * When it is called: on the loop's thread, once per datagram, in wire order.
 * - #ZCOAP_UV_DATAGRAM_IN: for each whole datagram read from the socket, before anything else
 *   looks at it (before the server looks up or creates the peer). Reads the socket reported as
 *   errors, empty or truncated (see the @c truncated counter) are not shown.
 * - #ZCOAP_UV_DATAGRAM_OUT: for each datagram the adapter is about to send, whether the endpoint
 *   made it (requests, retransmissions, ACKs, RSTs, responses) or the server answers by itself
 *   (the 5.03 of a full pool, the RST of a ping then). It is called before the send: a datagram
 *   the hook lets through may still be lost by the socket (counted in @c send_errors).
 *
 * What it returns: true lets the datagram through; false drops it. A dropped outgoing datagram
 * is not sent and is lost as if the network had lost it: CON messages are retransmitted by the
 * RFC 7252 §4.2 rules; it counts in @c hook_dropped_out (not in @c datagrams_out nor in
 * @c send_errors). A dropped incoming datagram is never handed to the endpoint (nor routed to a
 * peer); it counts in @c hook_dropped_in (not in @c datagrams_in).
 *
 * What it may do: read its arguments, the object's counters and @c data; call
 * zcoap_uv_client_set_hook() / zcoap_uv_server_set_hook() (for the next datagram); and close the
 * object (zcoap_uv_client_close(), zcoap_uv_server_close()): the datagram in hand is then dropped
 * whatever the hook returns, and the hook is not called again for that object. It must not
 * send, answer or flush through the object it watches: zcoap_uv_client_request(),
 * zcoap_uv_client_ping(), zcoap_uv_peer_respond() and zcoap_uv_peer_ack() return ZCOAP_ESTATE
 * and zcoap_uv_client_flush() does nothing while the hook runs, and the endpoint of
 * zcoap_uv_client_endpoint() must not be called (it is in the middle of sending or has not seen
 * the datagram yet). Other objects on the loop may be used freely. The hook must not run the
 * loop.
 *
 * @param[in] ctx  the context given with the hook
 * @param[in] dir  #ZCOAP_UV_DATAGRAM_IN or #ZCOAP_UV_DATAGRAM_OUT
 * @param[in] peer the peer's address (source of an incoming datagram, destination of an
 *                 outgoing one; for a client, the address it is connected to): a sockaddr_in or
 *                 sockaddr_in6, valid during the call only
 * @param[in] data the datagram's bytes, valid during the call only; never NULL
 * @param[in] len  its length in bytes, at least 1
 * @return true to let the datagram through, false to drop it
 */
typedef bool (*zcoap_uv_datagram_hook_fn)(void *ctx, zcoap_uv_datagram_dir_t dir,
                                          const struct sockaddr *peer, const uint8_t *data,
                                          size_t len);

/* Private: the hook of one client or server. */
typedef struct zcoap__uv_hook {
    zcoap_uv_datagram_hook_fn fn; /* NULL: no hook, the only test on the datagram path */
    void *ctx;
    bool running; /* the hook is being called: calls that would send are refused */
} zcoap__uv_hook_t;

/* ---- client endpoints ---------------------------------------------------------------------- */

typedef struct zcoap_uv_client zcoap_uv_client_t;

/**
 * @brief Called for every endpoint event (responses, timeouts, resets, requests from the peer).
 *
 * Events are delivered synchronously from whatever drove the endpoint: a datagram, the timer, or
 * a call such as zcoap_uv_client_request() (whose SENT event arrives before it returns). What the
 * endpoint had queued for the peer is sent before each event is delivered.
 * Message views in @p ev are valid during the call only. The callback may start a new request,
 * answer a request, or close the client.
 */
typedef void (*zcoap_uv_client_event_cb)(zcoap_uv_client_t *c, const zcoap_event_t *ev);
/** Called when zcoap_uv_client_connect_uri() has resolved and connected (status 0) or failed. */
typedef void (*zcoap_uv_client_connect_cb)(zcoap_uv_client_t *c, int status);
/** Called once every handle of a closing client is closed: its memory may then be reused. */
typedef void (*zcoap_uv_client_close_cb)(zcoap_uv_client_t *c);

/** Counters of a client, readable at any time. */
typedef struct zcoap_uv_client_stats {
    uint64_t datagrams_in;  /**< datagrams handed to the endpoint */
    uint64_t datagrams_out; /**< datagrams sent */
    uint64_t send_errors;   /**< datagrams the socket refused (EAGAIN, ECONNREFUSED...): lost;
                                 retransmission covers CON messages */
    uint64_t recv_errors;   /**< errors reported by the socket (ICMP port unreachable...) */
    uint64_t truncated;     /**< datagrams larger than the receive buffer, dropped */
    int last_error;         /**< the last socket error (a libuv code), 0 if none */

    /** datagrams received that the datagram hook dropped (not in datagrams_in) */
    uint64_t hook_dropped_in;
    /** datagrams the datagram hook dropped instead of sending: lost, not in datagrams_out nor
     *  in send_errors; retransmission covers CON messages */
    uint64_t hook_dropped_out;
} zcoap_uv_client_stats_t;

/**
 * Receive buffer of a client, in bytes. The endpoint's msg_cap must be smaller (init refuses
 * otherwise), so that a datagram one byte over msg_cap still arrives whole and gets its 4.13.
 * Override on the compiler command line for larger messages (or use Block-wise transfers).
 */
#ifndef ZCOAP_UV_CLIENT_RX_SIZE
#define ZCOAP_UV_CLIENT_RX_SIZE (ZCOAP_MAX_MSG_SIZE + 512)
#endif

/**
 * @brief A client endpoint on a libuv loop: one zcoap endpoint, a UDP socket connected to its
 *        peer, and one timer armed to the endpoint's next deadline. Allocate it anywhere; keep it
 *        alive until its close callback. Fields after @c data are private.
 */
struct zcoap_uv_client {
    void *data; /**< for the application */
    /* private */
    uv_loop_t *loop;
    uv_udp_t udp;
    uv_timer_t timer;
    uv_getaddrinfo_t resolver;
    zcoap_ep_t ep;
    zcoap_ep_storage_t storage;
    zcoap_uv_client_event_cb on_event;
    zcoap_uv_client_connect_cb on_connect;
    zcoap_uv_client_close_cb on_close;
    zcoap_uv_client_stats_t stats;
    int open_handles;
    bool resolving;
    bool connected;
    bool closing;
    bool flushing;
    bool flush_again;
    uint16_t port; /* for connect_uri */
    zcoap__uv_hook_t hook;
    struct sockaddr_storage peer_addr; /* where the socket is connected, for the hook */
    uint8_t rx[ZCOAP_UV_CLIENT_RX_SIZE];
};

/**
 * @brief Initialise a client on @p loop.
 * @param[in] cfg endpoint configuration, or NULL for the defaults with the client's own storage;
 *                a NULL rng is replaced by zcoap_uv_random(); msg_cap must be smaller than
 *                ZCOAP_UV_CLIENT_RX_SIZE
 * @param[in] on_event event callback (may be NULL)
 * @retval 0, ZCOAP_EINVAL, or a libuv error
 */
int zcoap_uv_client_init(uv_loop_t *loop, zcoap_uv_client_t *c, const zcoap_ep_config_t *cfg,
                         zcoap_uv_client_event_cb on_event);

/** Connect the client's socket to @p addr (IPv4 or IPv6) and start receiving. */
int zcoap_uv_client_connect(zcoap_uv_client_t *c, const struct sockaddr *addr);

/**
 * @brief Resolve the host and port of a coap:// URI with uv_getaddrinfo() and connect to the
 *        first address; @p cb reports the outcome. coaps:// is refused (ZCOAP_ENOTSUP) until
 *        DTLS exists.
 */
int zcoap_uv_client_connect_uri(zcoap_uv_client_t *c, const char *uri,
                                zcoap_uv_client_connect_cb cb);

/**
 * @brief Send a request to a URI (its path and query become options; Uri-Host when the host is a
 *        name), with an optional payload. NSTART = 1: ZCOAP_EBUSY while one is in flight;
 *        ZCOAP_ESTATE before the client is connected or after it is closed.
 * @param[in] type ZCOAP_TYPE_CON or ZCOAP_TYPE_NON
 * @param[in] method ZCOAP_GET ... ZCOAP_IPATCH
 */
int zcoap_uv_client_request(zcoap_uv_client_t *c, uint8_t type, uint8_t method, const char *uri,
                            const void *payload, size_t payload_len);

/** Send a CoAP ping (Empty CON); the answer is ZCOAP_EV_OUT_PONG or ZCOAP_EV_OUT_TIMEOUT. */
int zcoap_uv_client_ping(zcoap_uv_client_t *c);

/**
 * @brief The client's endpoint, for everything else (zcoap_ep_request_begin/send with options of
 *        your own, answering requests from the peer). Call zcoap_uv_client_flush() after using it
 *        outside an event callback, so datagrams go out and the timer is re-armed.
 */
zcoap_ep_t *zcoap_uv_client_endpoint(zcoap_uv_client_t *c);

/** Run the endpoint's driver loop now: events, datagrams, timer. */
void zcoap_uv_client_flush(zcoap_uv_client_t *c);

/** The client's counters. */
const zcoap_uv_client_stats_t *zcoap_uv_client_stats(const zcoap_uv_client_t *c);

/**
 * @brief Set the client's datagram hook (see zcoap_uv_datagram_hook_fn), or remove it with a
 *        NULL @p hook. zcoap_uv_client_init() clears it: set it after init, before connecting to
 *        see every datagram. Without a hook a datagram costs one pointer test more.
 * @param[in] hook called for every datagram the client sends or receives; NULL for none
 * @param[in] ctx  passed to @p hook
 */
void zcoap_uv_client_set_hook(zcoap_uv_client_t *c, zcoap_uv_datagram_hook_fn hook, void *ctx);

/**
 * @brief Close the client: no event is reported afterwards; @p cb (may be NULL) runs once its
 *        handles are closed. Safe from inside the client's own callbacks.
 */
void zcoap_uv_client_close(zcoap_uv_client_t *c, zcoap_uv_client_close_cb cb);

/* ---- server: one socket, many peers --------------------------------------------------------- */

typedef struct zcoap_uv_server zcoap_uv_server_t;
typedef struct zcoap_uv_peer zcoap_uv_peer_t;

/**
 * @brief A resource handler (the @c handler of a zcoap_resource_t): answer with
 *        zcoap_uv_peer_respond() now (piggybacked), or keep @p peer and answer later (the
 *        endpoint sends the empty ACK by itself after auto_ack_ms; the answer is then separate).
 *        @p req is valid during the call only.
 */
typedef void (*zcoap_uv_handler_fn)(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer,
                                    const zcoap_resource_t *res, const zcoap_msg_t *req);

/** Called once the server's handles are all closed and its memory released. */
typedef void (*zcoap_uv_server_close_cb)(zcoap_uv_server_t *s);

/** Server configuration. */
typedef struct zcoap_uv_server_config {
    const zcoap_resource_t *resources; /**< table; each handler is a zcoap_uv_handler_fn */
    size_t n_resources;
    size_t max_peers;        /**< pool capacity (default 1024) */
    size_t msg_cap;          /**< per-peer message size (default ZCOAP_MAX_MSG_SIZE) */
    size_t resp_slots;       /**< responses kept per peer for duplicates (default 1). With 1,
                                  a request that comes while the peer's separate CON response
                                  still awaits its ACK is answered 5.03 Max-Age 2 (the slot is
                                  taken); 2 serves it at once (RFC 7252 §4.7), for msg_cap
                                  bytes more per peer */
    size_t dedup_cap;        /**< message IDs remembered per peer (default 8) */
    zcoap_tx_params_t tx;    /**< transmission parameters (default RFC 7252 §4.8) */
    uint32_t auto_ack_ms;    /**< empty ACK for an unanswered CON request (default 500) */
    uint32_t busy_max_age_s; /**< Max-Age of the 5.03 sent when the pool is full (default 10) */
    /**
     * Bind with SO_REUSEPORT (default false), so that several servers, each on its own loop
     * (thread) or in its own process, serve one address and port: the kernel hands each peer
     * to one of them by a hash of its source address and port, and keeps doing so while the
     * set of sockets stays the same. Start every server of the group before peers arrive and
     * close them together: a socket joining or leaving the group moves some peers to another
     * server, which does not know their exchanges. Only sockets of the same user that all set
     * this option share a port; a plain bind to it fails with UV_EADDRINUSE, and so does this
     * one on a port held without it. Linux 3.9 or later (older kernels: UV_ENOPROTOOPT); UV_ENOTSUP
     * where the headers lack SO_REUSEPORT.
     */
    bool reuse_port;
    /**
     * Receive buffer of the socket in bytes (SO_RCVBUF), so that a burst of datagrams from many
     * peers at once waits in the kernel instead of being dropped (default 4 MiB; 0 keeps the
     * system's). Linux caps it at net.core.rmem_max (often 208 KiB) unless the process may use
     * SO_RCVBUFFORCE (CAP_NET_ADMIN), which is tried next; zcoap_uv_server_stats() reports the
     * size in effect. A smaller buffer only costs retransmissions.
     */
    size_t recv_buffer_size;
    /**
     * Read the socket with recvmmsg(): up to #ZCOAP_UV_SERVER_RECV_BATCH datagrams per system
     * call (libuv's UV_UDP_RECVMMSG), instead of one per recvmsg() (default true). The server
     * then allocates, once at start, one receive buffer of #ZCOAP_UV_SERVER_RECV_BATCH x 64 KiB
     * (libuv hands each datagram its own 64 KiB slice; only the pages datagrams are written to
     * become resident: about 80 KiB). Datagrams larger than #ZCOAP_UV_CLIENT_RX_SIZE are dropped
     * and counted in @c truncated either way. Where the system lacks recvmmsg, libuv reads one
     * datagram at a time; zcoap_uv_server_stats() tells which way is in effect.
     * Why true: when datagrams queue up (a busy server, many peers at once), one call reads
     * many, which saves nearly one system call per request: 3-13 % more requests per second on
     * a saturated server in bench/recvmmsg.sh; with one datagram per wake-up both ways make the
     * same calls and measured the same within the noise (bench/README.md).
     */
    bool recvmmsg;
} zcoap_uv_server_config_t;

/** Datagrams one recvmmsg() call reads at most when @c recvmmsg is set (libuv's limit). */
#define ZCOAP_UV_SERVER_RECV_BATCH 20

/** Counters of a server. */
typedef struct zcoap_uv_server_stats {
    uint64_t datagrams_in, datagrams_out;
    uint64_t send_errors, recv_errors, truncated;
    uint64_t peers_created, peers_recycled;
    uint64_t pool_full; /**< requests answered 5.03 because no peer slot was free */
    size_t peers_in_use;
    /** messages from addresses without a peer that open no exchange, answered without taking a
     *  peer: a ping or another Confirmable non-request gets RST (RFC 7252 §4.2, §4.3); ACK,
     *  RST and NON non-requests are dropped (counted here too) */
    uint64_t stateless;
    /** the socket's receive buffer in effect, in bytes (as the kernel reports it) */
    size_t recv_buffer_size;
    /** datagrams read per system call at most: #ZCOAP_UV_SERVER_RECV_BATCH when recvmmsg() is
     *  in use (the @c recvmmsg option, and libuv found the system call), else 1 */
    size_t recv_batch;

    /** datagrams received that the datagram hook dropped (not in datagrams_in): they reach no
     *  peer, and create none */
    uint64_t hook_dropped_in;
    /** datagrams the datagram hook dropped instead of sending: lost, not in datagrams_out nor in
     *  send_errors; retransmission covers CON messages */
    uint64_t hook_dropped_out;
} zcoap_uv_server_stats_t;

/** One peer of a server: an endpoint and the peer's address. Private but for @c data. */
struct zcoap_uv_peer {
    void *data; /**< for the application (e.g. a pending separate answer) */
    /* private */
    zcoap_uv_server_t *server;
    zcoap_ep_t ep;
    uv_timer_t timer;
    struct sockaddr_storage addr;
    uint32_t hash_next; /* next peer in the bucket, index + 1; 0 ends */
    uint32_t free_next;
    bool in_use;
    bool timer_ready;
    bool flushing;
    bool flush_again;
};

/** A CoAP server on one UDP socket. Fields after @c data are private. */
struct zcoap_uv_server {
    void *data; /**< for the application */
    /* private */
    uv_loop_t *loop;
    uv_udp_t udp;
    zcoap_uv_server_config_t cfg;
    zcoap_uv_peer_t *peers;
    uint8_t *buffers;
    zcoap_dedup_entry_t *dedup;
    uint8_t *shared_req; /* peers of a server send no requests: one small shared buffer */
    uint32_t *buckets;
    size_t n_buckets;
    uint32_t free_head;   /* index + 1 */
    uint32_t next_unused; /* slots from here on were never used: untouched memory */
    size_t open_handles;
    bool closing;
    zcoap_uv_server_close_cb on_close;
    zcoap_uv_server_stats_t stats;
    zcoap__uv_hook_t hook;
    char wellknown[1024];
    uint8_t *rx_batch; /* recvmmsg: ZCOAP_UV_SERVER_RECV_BATCH slices of 64 KiB; else NULL */
    uint8_t rx[ZCOAP_UV_CLIENT_RX_SIZE];
};

/** Fill @p cfg with the defaults (no resources). */
void zcoap_uv_server_config_default(zcoap_uv_server_config_t *cfg);

/**
 * @brief Start a server bound to @p addr (IPv4 or IPv6; port 0 picks a free one). The peer pool
 *        and its buffers are allocated here, once; nothing is allocated per datagram.
 *
 * When the socket fails after it was created (EADDRINUSE...), its handle is closing when this
 * returns: run the loop once before @p s is started again or freed. With @c cfg->reuse_port,
 * start the first server of a group on port 0 if you like, then the others on the address that
 * zcoap_uv_server_address() reports for it.
 * @retval 0, ZCOAP_EINVAL, ZCOAP_ENOSPC (out of memory), or a libuv error (EADDRINUSE...)
 */
int zcoap_uv_server_start(uv_loop_t *loop, zcoap_uv_server_t *s, const struct sockaddr *addr,
                          const zcoap_uv_server_config_t *cfg);

/** The address the server is bound to (for port 0). */
int zcoap_uv_server_address(const zcoap_uv_server_t *s, struct sockaddr_storage *out);

/**
 * @brief Answer the pending request of @p peer: piggybacked if still possible, else separate
 *        (CON). @p content_format < 0 adds no Content-Format.
 */
int zcoap_uv_peer_respond(zcoap_uv_peer_t *peer, uint8_t code, int content_format,
                          const void *payload, size_t payload_len);

/**
 * @brief Acknowledge the pending CON request of @p peer now (empty ACK); the answer will be a
 *        separate response. Set @c peer->data while an answer is pending: a peer whose data is
 *        not NULL is never recycled.
 */
int zcoap_uv_peer_ack(zcoap_uv_peer_t *peer);

/** The server's counters. */
const zcoap_uv_server_stats_t *zcoap_uv_server_stats(const zcoap_uv_server_t *s);

/**
 * @brief Set the server's datagram hook (see zcoap_uv_datagram_hook_fn), or remove it with a
 *        NULL @p hook. zcoap_uv_server_start() clears it: set it right after start (before the
 *        loop runs again) to see every datagram. One hook serves every peer of the server; the
 *        @c peer argument tells them apart. Without a hook a datagram costs one pointer test more.
 * @param[in] hook called for every datagram the server sends or receives; NULL for none
 * @param[in] ctx  passed to @p hook
 */
void zcoap_uv_server_set_hook(zcoap_uv_server_t *s, zcoap_uv_datagram_hook_fn hook, void *ctx);

/**
 * @brief Close the server and every peer; @p cb runs when all handles are closed. Answers still
 *        pending die with it: zcoap_uv_peer_respond() returns ZCOAP_ESTATE from now on, and the
 *        peers' memory is released before @p cb runs.
 */
void zcoap_uv_server_close(zcoap_uv_server_t *s, zcoap_uv_server_close_cb cb);

#ifdef __cplusplus
}
#endif

#endif /* ZCOAP_UV_H */
