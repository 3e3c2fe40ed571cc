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
 *   errors or empty are not shown; a server's datagram larger than #ZCOAP_UV_CLIENT_RX_SIZE is
 *   shown cut to that size (see the @c truncated counter), a client's not at all.
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
 * answer a request, or close the client. Observations (zcoap_uv_client_observe()) add their
 * events; once one is cancelled, its notifications and renewals are no longer reported.
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
 * Observations a client keeps the URI of (zcoap_uv_client_observe()), so that it can register
 * again and cancel by itself. The endpoint's own limit (observations_cap of its configuration,
 * ZCOAP_EP_DEFAULT_OBSERVATIONS with the client's storage) applies too. Override on the compiler
 * command line, for every file that includes this header.
 */
#ifndef ZCOAP_UV_CLIENT_OBSERVATIONS
#define ZCOAP_UV_CLIENT_OBSERVATIONS ZCOAP_EP_DEFAULT_OBSERVATIONS
#endif

/** Room for the URI of one observation, in bytes, its terminating NUL included. */
#ifndef ZCOAP_UV_CLIENT_OBS_URI_SIZE
#define ZCOAP_UV_CLIENT_OBS_URI_SIZE 256
#endif

/** Room for the options of a block-wise transfer's first request (its URI's options), in bytes;
 *  each follow-up request carries them again (zcoap_uv_client_transfer()). */
#ifndef ZCOAP_UV_CLIENT_TRANSFER_OPTIONS_SIZE
#define ZCOAP_UV_CLIENT_TRANSFER_OPTIONS_SIZE 320
#endif

/** What a report of a block-wise transfer says (zcoap_uv_transfer_report_t). */
typedef enum zcoap_uv_transfer_report_kind {
    /** @c data, @c len: a slice of the representation, at @c offset. Slices come in order,
     *  each once, without gaps (but see RESTARTED). */
    ZCOAP_UV_TRANSFER_DATA,
    /** The representation changed (another ETag) and the download starts again from offset
     *  0 (zcoap_transfer_params_t::restart_on_etag_change): drop what was kept. */
    ZCOAP_UV_TRANSFER_RESTARTED,
    /** The server has taken @c uploaded bytes of the body: a 2.31 Continue, or the answer to
     *  the last block when that answer goes on block-wise (Block1 + Block2). */
    ZCOAP_UV_TRANSFER_PROGRESS,
    /** The end: @c msg is the final response (any code; its payload, for a 2.xx, came as
     *  DATA reports; for an error it is the diagnostic). The client may start the next request
     *  from this call. */
    ZCOAP_UV_TRANSFER_DONE,
    /** The end, without a final response: @c status is ZCOAP_ETIMEOUT, ZCOAP_EUNREACHABLE (ICMP
     *  port unreachable: nobody listens at the peer's port), ZCOAP_ERESET, ZCOAP_ECHANGED (the ETag
     * changed), ZCOAP_EPROTO (the server broke RFC 7959), the body read callback's error, or the
     * builder's. @c msg is the response at fault, if any. */
    ZCOAP_UV_TRANSFER_FAILED
} zcoap_uv_transfer_report_kind_t;

/** One report of a block-wise transfer; views are valid during the callback only. */
typedef struct zcoap_uv_transfer_report {
    /** what this report is */
    zcoap_uv_transfer_report_kind_t kind;
    int status;             /**< FAILED: why; else 0 */
    const zcoap_msg_t *msg; /**< the response this report comes from, or NULL */
    const uint8_t *data;    /**< DATA: the slice */
    size_t len;             /**< DATA: its length */
    size_t offset;          /**< DATA: where it goes in the representation */
    uint64_t size2;         /**< the representation's size when the server said (Size2), or 0 */
    size_t uploaded;        /**< body bytes the server has taken so far */
} zcoap_uv_transfer_report_t;

/** Reports of a block-wise transfer of client @p c, with the @p ctx given at its start. */
typedef void (*zcoap_uv_transfer_cb)(zcoap_uv_client_t *c, void *ctx,
                                     const zcoap_uv_transfer_report_t *r);

/* Private: the block-wise transfer of a client. */
typedef struct zcoap__uv_transfer {
    zcoap_transfer_t t;
    zcoap_uv_transfer_cb cb;
    void *ctx;
    uint32_t response_timeout_ms;
    bool active;
    uint8_t options[ZCOAP_UV_CLIENT_TRANSFER_OPTIONS_SIZE];
} zcoap__uv_transfer_t;

/* Private: one observation of a client: its tag and URI, and what the adapter still owes it. */
typedef struct zcoap__uv_observation {
    uint32_t tag;    /* 0: the slot is free */
    bool renew_due;  /* OBS_RENEW came: register again once no request is in flight */
    bool cancel_due; /* cancelled actively: GET with Observe 1 once no request is in flight */
    char uri[ZCOAP_UV_CLIENT_OBS_URI_SIZE];
} zcoap__uv_observation_t;

/**
 * @brief A client endpoint on a libuv loop: one zcoap endpoint, a UDP socket connected to its
 *        peer, and one timer armed to the endpoint's next deadline. Allocate it anywhere; keep it
 *        alive until its close callback. Fields after @c data are private.
 */
struct zcoap_uv_client {
    void *data; /**< for the application */
    /** @cond INTERNAL */
    /* private */
    uv_loop_t *loop;
    uv_udp_t udp;
    uv_timer_t timer;
    uv_getaddrinfo_t *resolver; /* while zcoap_uv_client_connect_uri() resolves a name */
    zcoap_ep_t ep;
    void *own_storage; /* allocated at init when no buffers are given */
    void *lent_store;  /* the response slot, allocated when the peer first sends a request */
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
    bool plain_request; /* the request in flight came from zcoap_uv_client_request() */
    bool echo_retried;  /* ... and was sent again with a 4.01's Echo (RFC 9175 §2.3) */
    uint16_t port;      /* for connect_uri */
    zcoap__uv_hook_t hook;
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } peer_addr; /* where the socket is connected, for the hook (not sockaddr_storage: 100 bytes
                    less in each of 100,000 clients) */
    zcoap__uv_observation_t *obs; /* ZCOAP_UV_CLIENT_OBSERVATIONS, from the first observe */
    zcoap__uv_transfer_t *xfer;   /* from the first block-wise transfer */
    /** @endcond */
};

/**
 * @brief Initialise a client on @p loop.
 *
 * Memory: the client itself (sizeof(zcoap_uv_client_t), about 1.4 KB on 64-bit Linux), the
 * endpoint's buffers, and what the client allocates when first needed, all released before
 * the close callback. Given no buffers (@p cfg NULL, or a configuration whose req_buf,
 * resp_store, dedup, observations and resp_store_lend are all NULL, e.g. from
 * zcoap_ep_config_default(&cfg, NULL) with parameters of your own), the client allocates the
 * request buffer of msg_cap bytes, the de-duplication ring and the observations at init (1,360
 * bytes with the defaults; a count left 0 takes its default: ZCOAP_EP_DEFAULT_DEDUP,
 * ZCOAP_EP_DEFAULT_OBSERVATIONS, one response slot), and the response slot only when the peer
 * first sends the client a request (answering it; a client whose peer only answers never needs
 * it). Later: the observations' URIs (ZCOAP_UV_CLIENT_OBSERVATIONS slots of
 * ZCOAP_UV_CLIENT_OBS_URI_SIZE bytes) at the first zcoap_uv_client_observe(), a transfer's state
 * (about 500 bytes) at the first block-wise transfer. Datagrams are read into one buffer per
 * thread, shared by every client of the loop. For many clients with small messages, give
 * msg_cap 256 or 512.
 *
 * @param[in] loop the loop the client runs on
 * @param[out] c the client, in the caller's memory (kept alive until its close callback)
 * @param[in] cfg endpoint configuration, with its buffers or none, or NULL for the defaults;
 *                a NULL rng is replaced by zcoap_uv_random(); msg_cap must be smaller than
 *                ZCOAP_UV_CLIENT_RX_SIZE
 * @param[in] on_event event callback (may be NULL)
 * @retval 0, ZCOAP_EINVAL, ZCOAP_ENOSPC (out of memory), or a libuv error
 */
int zcoap_uv_client_init(uv_loop_t *loop, zcoap_uv_client_t *c, const zcoap_ep_config_t *cfg,
                         zcoap_uv_client_event_cb on_event);

/**
 * @brief Bind the client's socket to a local address before it connects (optional).
 *
 * Without it, connecting picks the source address by route and a free ephemeral port, of which
 * one address has about 28,000 (net.ipv4.ip_local_port_range): a process with more clients
 * connected to one server at once binds them to several source addresses (on Linux the whole
 * 127/8 is loopback), port 0 letting the kernel choose a free port on each.
 * @param[in,out] c the client, initialised and not connected yet
 * @param[in] local IPv4 or IPv6 address and port (0: any free port) of the peer's family
 * @retval 0 bound; zcoap_uv_client_connect() or zcoap_uv_client_connect_uri() follows
 * @retval ZCOAP_EINVAL NULL arguments or another family
 * @retval ZCOAP_ESTATE the client is connected, resolving or closed
 * @retval other        a libuv error (UV_EADDRINUSE, UV_EADDRNOTAVAIL, UV_EMFILE, or UV_EINVAL
 *                      when the socket is bound already)
 */
int zcoap_uv_client_bind(zcoap_uv_client_t *c, const struct sockaddr *local);

/** Connect the client's socket to @p addr (IPv4 or IPv6) and start receiving. */
int zcoap_uv_client_connect(zcoap_uv_client_t *c, const struct sockaddr *addr);

/**
 * @brief Resolve the host and port of a coap:// URI with uv_getaddrinfo() and connect to the
 *        first address; @p cb reports the outcome. coaps:// is refused (ZCOAP_ENOTSUP) until
 *        DTLS exists. The resolution's request (160 bytes) is allocated until @p cb runs:
 *        ZCOAP_ENOSPC when it cannot be.
 */
int zcoap_uv_client_connect_uri(zcoap_uv_client_t *c, const char *uri,
                                zcoap_uv_client_connect_cb cb);

/**
 * @brief Send a request to a URI (its path and query become options; Uri-Host when the host is a
 *        name), with an optional payload. NSTART = 1: ZCOAP_EBUSY while one is in flight;
 *        ZCOAP_ESTATE before the client is connected or after it is closed.
 *
 * A 4.01 Unauthorized carrying an Echo option (RFC 9175 §2.3: a server that has not verified
 * the client's address asks for the request again with that value before it sends a large
 * answer, as zcoap's server does by default) is not reported: the request goes again at once,
 * with the Echo, a new token and a new message ID, and its answer is the one reported. A second
 * such 4.01 in a row is reported.
 * @param[in,out] c the client, connected
 * @param[in] type ZCOAP_TYPE_CON or ZCOAP_TYPE_NON
 * @param[in] method ZCOAP_GET ... ZCOAP_IPATCH
 * @param[in] uri NUL-terminated "coap://host[:port]/path?query"; only its options are used (the
 *            datagrams go to the address the client is connected to)
 * @param[in] payload request payload, copied (may be NULL when @p payload_len is 0)
 * @param[in] payload_len its length in bytes
 */
int zcoap_uv_client_request(zcoap_uv_client_t *c, uint8_t type, uint8_t method, const char *uri,
                            const void *payload, size_t payload_len);

/** Send a CoAP ping (Empty CON); the answer is ZCOAP_EV_OUT_PONG or ZCOAP_EV_OUT_TIMEOUT. */
int zcoap_uv_client_ping(zcoap_uv_client_t *c);

/**
 * @brief Observe the resource at @p uri (RFC 7641): a CON GET with Observe 0 and the URI's
 *        options, as zcoap_uv_client_request() makes them. The client keeps the URI, renews the
 *        registration and cancels it by itself.
 *
 * Events, at the client's event callback, all carrying @p tag in ev.tag:
 * - the registration's ZCOAP_EV_OUT_* events (CON_SENT, EMPTY_ACK, then RESPONSE, TIMEOUT or
 *   RESET). After its OUT_RESPONSE, zcoap_uv_client_observing() says whether the server took
 *   the observation (a 2.xx with Observe); the response is the first representation either way.
 *   TIMEOUT and RESET mean it was not taken;
 * - ZCOAP_EV_OBS_NOTIFICATION for each fresh notification (ev.msg). CON ones are acknowledged,
 *   every copy; duplicates and reordered ones (§3.4) are dropped by the endpoint;
 * - ZCOAP_EV_OBS_ENDED when the server ends it (an error, or a notification without Observe);
 * - ZCOAP_EV_OBS_RENEW when no notification came for Max-Age plus ZCOAP_OBS_RENEW_MARGIN_MS.
 *   The client then registers again by itself, with the same token (§3.3.1), as soon as no
 *   request is in flight: the request of the event's callback, if it starts one, goes first.
 *   The renewal's OUT_* events follow; a renewal that times out or is reset ends the
 *   observation (the client forgets it; a later notification gets RST).
 * Other requests may come and go meanwhile: notifications do not take the one request slot of
 * NSTART = 1.
 *
 * Calling this again with a @p tag in use registers again at once, with the same token (and the
 * new @p uri).
 *
 * @param[in,out] c the client, connected
 * @param[in] uri "coap://host[:port]/path?query", at most ZCOAP_UV_CLIENT_OBS_URI_SIZE - 1
 *                bytes; kept by the client
 * @param[in] tag names the observation in its events; not 0 (the tag of plain requests' events)
 * @retval 0 the registration is on its way
 * @retval ZCOAP_EBUSY a request is in flight (NSTART = 1), or @p tag's active cancellation is
 *         still to be sent
 * @retval ZCOAP_ENOSPC every observation slot is taken (the client's or the endpoint's), out of
 *         memory for the observations' table, or the
 *         URI is too long
 * @retval ZCOAP_ESTATE before the client is connected, after it is closed, or from the hook
 * @retval ZCOAP_EINVAL NULL arguments or tag 0; or the URI's errors (ZCOAP_EURI_*)
 */
int zcoap_uv_client_observe(zcoap_uv_client_t *c, const char *uri, uint32_t tag);

/**
 * @brief Stop observing @p tag (RFC 7641 §3.6). No ZCOAP_EV_OBS_NOTIFICATION or
 *        ZCOAP_EV_OBS_RENEW is reported for it after this call.
 *
 * Passive (@p active false): the client forgets the observation at once; the server learns of
 * it from the RST that answers its next notification.
 *
 * Active (@p active true, RFC 7641's preferred way): a CON GET with Observe 1, the same token and
 * the same URI options. It goes now when no request is in flight, else as soon as the one in
 * flight ends (queued, like a renewal): the application need not retry. Its events carry @p tag:
 * OUT_CON_SENT, then OUT_RESPONSE, OUT_TIMEOUT or OUT_RESET. zcoap_uv_client_observing() stays
 * true until it goes. If the observation ends before it could go (the server ended it:
 * ZCOAP_EV_OBS_ENDED; the registration in flight was not taken), nothing is sent.
 *
 * @retval 0, ZCOAP_ENOTFOUND (no observation @p tag), ZCOAP_ESTATE (before the connection, after
 *         close, or from the hook), ZCOAP_EINVAL
 */
int zcoap_uv_client_observe_cancel(zcoap_uv_client_t *c, uint32_t tag, bool active);

/**
 * @brief Whether the observation @p tag is established: its registration (or last renewal) was
 *        answered with Observe and it has not ended, nor been cancelled (an active cancellation
 *        counts from when its GET goes out).
 */
bool zcoap_uv_client_observing(const zcoap_uv_client_t *c, uint32_t tag);

/**
 * @brief A request whose body, answer, or both may go block-wise (RFC 7959): downloads and
 *        uploads of any size through the client's fixed buffers.
 *
 * The request is made as zcoap_uv_client_request() makes it (the URI's options), then the
 * transfer (include/zcoap/transfer.h) sends the body in Block1 blocks when it does not fit one
 * message, fetches every Block2 block of the answer, and hands each slice of the answer to
 * @p cb with its offset as it arrives: nothing is assembled. Every request of the transfer
 * carries the URI's options and a fresh token; a lost block is retransmitted by the endpoint
 * (CON), and a block that times out ends the transfer (FAILED, ZCOAP_ETIMEOUT).
 *
 * While the transfer lasts, its requests' ZCOAP_EV_OUT_* events (tag 0) go to @p cb as
 * reports, not to the client's event callback; other events (notifications, requests from the
 * peer) go there as usual. The transfer takes the one request slot (NSTART = 1) until it ends:
 * observation renewals and cancellations wait for its end.
 *
 * @param[in,out] c the client, connected
 * @param[in] type ZCOAP_TYPE_CON or ZCOAP_TYPE_NON, for every request of the transfer
 * @param[in] method ZCOAP_GET ... ZCOAP_IPATCH
 * @param[in] uri NUL-terminated "coap://host[:port]/path?query": the options of every request
 * @param[in] params body (kept by the caller until the end), block sizes, random access
 *            (zcoap_transfer_params_t; NULL: a download with the server's block size)
 * @param[in] cb reports (DATA, PROGRESS, RESTARTED, then one DONE or FAILED); not NULL
 * @param[in] ctx passed to @p cb
 * @retval 0 the first request is on its way
 * @retval ZCOAP_EBUSY a request or a transfer is in flight
 * @retval ZCOAP_ESTATE before the connection, after close, or from the hook
 * @retval ZCOAP_EINVAL, ZCOAP_ENOSPC (the URI's options exceed
 *         ZCOAP_UV_CLIENT_TRANSFER_OPTIONS_SIZE), the URI's errors, or zcoap_transfer_start()'s
 */
int zcoap_uv_client_transfer(zcoap_uv_client_t *c, uint8_t type, uint8_t method, const char *uri,
                             const zcoap_transfer_params_t *params, zcoap_uv_transfer_cb cb,
                             void *ctx);

/**
 * @brief zcoap_uv_client_transfer() in two steps, for options of your own: begin the first
 *        request (a fresh token, the URI's options) into @p b, add options to it (Accept,
 *        Content-Format, If-Match...; no payload), then zcoap_uv_client_transfer_send(). Every
 *        request of the transfer carries them. Until the send, the client's request slot is
 *        taken: a failed send releases it.
 * @retval as zcoap_uv_client_transfer()
 */
int zcoap_uv_client_transfer_begin(zcoap_uv_client_t *c, uint8_t type, uint8_t method,
                                   const char *uri, zcoap_builder_t *b);

/**
 * @brief Send the request begun with zcoap_uv_client_transfer_begin() as a block-wise transfer.
 * @param[in,out] c the client
 * @param[in] b the builder zcoap_uv_client_transfer_begin() filled, with the options added
 * @param[in] params as for zcoap_uv_client_transfer()
 * @param[in] response_timeout_ms how long each request waits for its response once
 *            acknowledged (separate responses) or sent (NON); 0: the endpoint's default
 * @param[in] cb reports, as for zcoap_uv_client_transfer(); not NULL
 * @param[in] ctx passed to @p cb
 * @retval as zcoap_uv_client_transfer(); the builder's error (an option that did not fit)
 */
int zcoap_uv_client_transfer_send(zcoap_uv_client_t *c, zcoap_builder_t *b,
                                  const zcoap_transfer_params_t *params,
                                  uint32_t response_timeout_ms, zcoap_uv_transfer_cb cb, void *ctx);

/** Whether a transfer of the client is under way. */
bool zcoap_uv_client_transferring(const zcoap_uv_client_t *c);

/**
 * @brief Give up the transfer under way: its request in flight is forgotten (a late answer
 *        gets RST) and no report follows. ZCOAP_ENOTFOUND when there is none.
 */
int zcoap_uv_client_transfer_cancel(zcoap_uv_client_t *c);

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
 * @param[in,out] c the client
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
 *
 * Observable resources (zcoap_resource_observable(): `obs` in their attributes, RFC 7641): a
 * GET or FETCH with Observe 0 reaches the handler like any request; if its answer is 2.xx, the
 * requester becomes an observer and the answer carries Observe (see zcoap_uv_server_notify()).
 * For each notification the adapter calls the handler again with @p req NULL: it must answer at
 * once, during that call, with zcoap_uv_peer_respond() or zcoap_uv_peer_respond_opts() and the
 * resource's current state; that answer becomes the notification to the observer on @p peer
 * (its token, Observe, CON or NON by the policy). A handler that does not answer during the call
 * sends nothing to that observer this time. An answer other than 2.xx is sent (without Observe)
 * and ends the observation (RFC 7641 §3.2). There is no request to read: a handler that looks at
 * @p req must test it for NULL first.
 *
 * Block-wise transfers (RFC 7959): the handler always answers with the whole representation
 * (zcoap_uv_peer_respond(), or zcoap_uv_peer_respond_reader() for one that is not in memory); a
 * 2.xx answer larger than one block of the server's @c block_szx goes out as the block the
 * request asked for (Block2, late or early negotiation), so each GET of the next block calls the
 * handler again. A notification larger than one block sends block 0 (§2.6); the client fetches
 * the rest with GETs. Uploads (Block1): the adapter checks each block (in order, sized, within
 * @c max_body; else it answers 4.08, 4.00 or 4.13 itself) and calls the handler with each block
 * accepted once, @p req's payload being that block; zcoap_uv_peer_block1() says where it goes.
 * A handler that returns without answering a block that is not the last gets 2.31 Continue
 * answered for it; the answer to the last block is the answer to the whole body.
 */
typedef void (*zcoap_uv_handler_fn)(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer,
                                    const zcoap_resource_t *res, const zcoap_msg_t *req);

/** Called once the server's handles are all closed and its memory released. */
typedef void (*zcoap_uv_server_close_cb)(zcoap_uv_server_t *s);

/** Server configuration. */
typedef struct zcoap_uv_server_config {
    const zcoap_resource_t *resources; /**< table; each handler is a zcoap_uv_handler_fn */
    /** number of entries in @c resources */
    size_t n_resources;
    size_t max_peers;        /**< pool capacity (default 1024) */
    size_t msg_cap;          /**< per-peer message size (default ZCOAP_MAX_MSG_SIZE) */
    size_t resp_slots;       /**< responses kept per peer (default 2): one may hold our CON
                                  message awaiting its ACK (a separate response, a CON
                                  notification) while the other answers the peer's next
                                  request (RFC 7252 §4.7), e.g. an observer's cancelling GET.
                                  With 1 (msg_cap bytes less per peer) that request is
                                  answered 5.03 Max-Age 2 instead */
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
     * become resident: about 80 KiB). Datagrams larger than #ZCOAP_UV_CLIENT_RX_SIZE are cut to
     * that size, answered 4.13 with Size1, and counted in @c truncated either way. Where the system
     * lacks recvmmsg, libuv reads one datagram at a time; zcoap_uv_server_stats() tells which way
     * is in effect. Why true: when datagrams queue up (a busy server, many peers at once), one call
     * reads many, which saves nearly one system call per request: 3-13 % more requests per second
     * on a saturated server in bench/recvmmsg.sh; with one datagram per wake-up both ways make the
     * same calls and measured the same within the noise (bench/README.md). The answers to the
     * datagrams of one batch are held (copied into a buffer of 32 x msg_cap bytes) and sent
     * together with one sendmmsg() when the batch is handled: about 1 us less server CPU per
     * request at W=16.
     */
    bool recvmmsg;
    /**
     * Observers kept at most, over every resource (RFC 7641; default 256, at most 2^24; 0: no
     * Observe, a GET with Observe 0 is served as a plain GET). Their table is allocated once
     * at start, #ZCOAP_UV_OBSERVER_SIZE bytes each; nothing per registration. When it is full, a
     * registration is served as a plain GET without Observe (§4.1).
     */
    size_t max_observers;
    /**
     * How often notifications are confirmable, for each observable resource that has no policy
     * of its own (zcoap_uv_server_set_obs_policy()). Default: NON, with a CON at least every 24
     * hours to each observer (con_every 0, con_max_interval_s 86400, RFC 7641 §4.5).
     */
    zcoap_obs_policy_t obs_policy;
    /**
     * The largest block the server sends or asks for in block-wise transfers (RFC 7959 §2.2):
     * 16 << block_szx bytes, 0-6 (default 6: 1024 bytes). The server uses less when a block of
     * that size and the options it adds (#ZCOAP_UV_BLOCK_ROOM bytes) do not fit @c msg_cap. A
     * 2.xx answer larger than one block is sent block-wise (Block2); a client's Block1 blocks
     * larger than this are taken, and the answer asks for this size for the rest (§2.3).
     */
    uint8_t block_szx;
    /**
     * The largest request body taken, in bytes (default 1 MiB): a request announcing more
     * (Size1), or a Block1 body growing past it, is answered 4.13 Request Entity Too Large with
     * Size1 = max_body (RFC 7959 §2.9.3), without calling the handler. Nothing is kept of a
     * body by the adapter: each block goes to the handler as it comes.
     */
    size_t max_body;
    /**
     * Amplification limit (RFC 7252 §11.3, RFC 9175 §2.4 item 3; default true): an answer
     * larger than @c amplification_factor times the request's datagram, to an address that has
     * not shown it receives what the server sends, is replaced by a 4.01 Unauthorized carrying
     * an Echo option (#ZCOAP_UV_ECHO_SIZE random bytes, no payload; piggybacked or NON, never a
     * CON separate response, whose retransmissions would amplify again). A forged source
     * address thus gets at most a small 4.01 per request, never the large answer. (A bare
     * 4-byte request, without token nor option, gets its 4.01 without Echo: even that would
     * be over 3 times its size.)
     *
     * A client that repeats the request with that Echo value (RFC 9175 §2.3; zcoap's
     * block-wise transfers and libcoap's coap-client do) within @c echo_lifetime_ms verifies
     * its address: it is served, and so are its later requests while its peer slot lives (the
     * slot is recycled once its exchanges and de-duplication windows are over, about 4 minutes
     * after its last request by default: the next request then starts unverified again). Each
     * challenge issues a new value and forgets the previous one; a wrong or stale value
     * verifies nothing (the answer, if still too large, is another 4.01 with a new value).
     *
     * What is limited: answers to GET and FETCH without Block1 (safe methods, RFC 7252 §5.1),
     * whose handler has no effect to repeat: it runs, and its answer is dropped when too large
     * (its reader, for zcoap_uv_peer_respond_reader(), is not called), as well as the adapter's
     * own answers to them (the /.well-known/core listing, errors). Each block of a block-wise
     * answer counts against its own request, so a verified client's later blocks go straight out.
     * Registrations (GET with Observe) too: one answered 4.01 is not taken. Not limited: the
     * answers to other methods and to Block1 bodies, whose handler has acted (a 4.01 would
     * make the client send it again and act twice; counted in @c amplification_unsafe), and
     * notifications (their registration was checked). Answers at most that size are never
     * delayed. Not covered yet: what the endpoint answers by itself before any handler (the
     * 4.02 of an unknown critical option with its diagnostic, the stored answer replayed for a
     * datagram with the MID of an earlier request). false: no limit, no Echo.
     */
    bool amplification_limit;
    /** the factor of @c amplification_limit (default 3, RFC 9175 §2.4 after RFC 9000 §8); at
     *  least 1 when the limit is on */
    uint32_t amplification_factor;
    /** how long an Echo value issued to a peer is accepted, in ms (default 60,000: time for a
     *  client to repeat its request, RFC 9175 §2.2.1's freshness); 0 accepts none */
    uint32_t echo_lifetime_ms;
} zcoap_uv_server_config_t;

/** Length of the Echo values the server issues, in bytes: random, from zcoap_uv_random(), kept
 *  per peer with the time it was issued (RFC 9175 Appendix A, method 1: one value per peer,
 *  64 bits against guessing). */
#define ZCOAP_UV_ECHO_SIZE 8u

/** Bytes of a response besides its block's payload that the server keeps room for in msg_cap:
 *  the header, an 8-byte token, the options the adapter adds (ETag, Observe, Content-Format,
 *  Max-Age, Block2, Block1, Size2: 34 bytes at most) and the payload marker. */
#define ZCOAP_UV_BLOCK_ROOM 64u

/** Datagrams one recvmmsg() call reads at most when @c recvmmsg is set (libuv's limit). */
#define ZCOAP_UV_SERVER_RECV_BATCH 20

/** Counters of a server. */
typedef struct zcoap_uv_server_stats {
    /** datagrams received and sent */
    /** @{ */
    uint64_t datagrams_in, datagrams_out;
    /** @} */
    /** failed sends and receives (a send that fails is a lost datagram) */
    /** @{ */
    uint64_t send_errors, recv_errors;
    /** @} */
    uint64_t truncated; /**< datagrams larger than the receive buffer: cut, answered 4.13 */
    /** peers taken from the pool for a new address, and given back to it (idle, their
     *  de-duplication windows over, no observer) */
    /** @{ */
    uint64_t peers_created, peers_recycled;
    /** @} */
    uint64_t pool_full; /**< requests answered 5.03 because no peer slot was free */
    /** peers holding an address now */
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

    /* Observe (RFC 7641) */
    size_t observers_in_use;       /**< observers in the table now */
    uint64_t observers_registered; /**< registrations answered 2.xx with Observe (renewals too) */
    uint64_t observe_refused;      /**< registrations served as a plain GET: the table was full */
    uint64_t notifications_non;    /**< NON notifications sent */
    uint64_t notifications_con;    /**< CON notifications sent, or CON ones in flight replaced */
    /** notifications that waited because another CON message to the peer was in flight
     *  (NSTART = 1): the observer got the newest state once that exchange ended */
    uint64_t notifications_deferred;
    uint64_t observers_removed_reset;   /**< the client answered a notification with RST (§3.6) */
    uint64_t observers_removed_timeout; /**< a CON notification was never acknowledged (§4.5) */
    /** GET/FETCH with Observe 1, or without Observe, with the observer's token (§3.6) */
    uint64_t observers_removed_deregistered;
    /** the handler answered a registration or a notification with an error (§3.2), or the
     *  registration was never answered */
    uint64_t observers_removed_error;
    /** removed by zcoap_uv_server_resource_gone(): sent 4.04, or registering (answered
     *  without Observe) */
    uint64_t observers_removed_gone;

    /* Block-wise transfers (RFC 7959), answered by the adapter without calling the handler */
    /** Block1 blocks out of sequence, of another body (Request-Tag, resource) or without
     *  their first block: 4.08 Request Entity Incomplete (§2.5) */
    uint64_t block_incomplete;
    /** requests whose body (announced in Size1, or growing) exceeds max_body: 4.13 (§2.9.3) */
    uint64_t block_too_large;
    /** malformed Block1 or Block2 (SZX 7), a short block that is not the last: 4.00; a Block2
     *  past the end of the representation: 4.02 */
    uint64_t block_bad;

    /* Amplification limit (amplification_limit; RFC 9175 §2.4 item 3) */
    /** answers replaced by a 4.01 Unauthorized with Echo: too large for an unverified peer */
    uint64_t echo_challenges;
    /** peers that returned a fresh Echo value the server issued to them: verified */
    uint64_t echo_verified;
    /** requests of unverified peers carrying an Echo value that was not theirs, or stale */
    uint64_t echo_rejected;
    /** answers over the limit sent anyway to unverified peers: to a method that is not safe or
     *  to a Block1 body, whose handler had acted already */
    uint64_t amplification_unsafe;
} zcoap_uv_server_stats_t;

/* Private: what the adapter keeps per observer, next to the core's zcoap_observer_t. */
typedef struct zcoap__uv_observer {
    uint32_t peer_next; /* the next observer on the same peer, slot + 1; 0 ends the list */
    uint8_t flags;      /* registering, owed the newest state, resource gone, CON in flight */
    uint8_t gen;        /* changes when the slot is freed: events of an older observer are
                           told apart (the notifications' tag carries it) */
} zcoap__uv_observer_t;

/**
 * Bytes one observer costs (RFC 7641): the core's zcoap_observer_t (40 bytes on 64-bit
 * systems) and the adapter's state (8): 48 bytes, all in the table allocated at start
 * (max_observers of them). Add 12 bytes per resource (its sequence number and policy).
 */
#define ZCOAP_UV_OBSERVER_SIZE (sizeof(zcoap_observer_t) + sizeof(zcoap__uv_observer_t))

/* Private: a peer's block-wise state (RFC 7959): the request body under way (one per peer), and
 * what the request being answered asked for, kept until it is answered (its view is gone by
 * then when the answer is separate). 40 bytes on 64-bit systems. */
typedef struct zcoap__uv_peer_blocks {
    zcoap_block1_rx_t rx; /* the body under way (zcoap_block1_accept()) */
    uint32_t rx_res;      /* the resource it is for, index + 1; 0: none */
    uint32_t size1;       /* the request's Size1, 0: none */
    uint32_t b1;          /* its Block1 for the answer: num << 4 | M << 3 | szx, and flags */
    uint32_t b2;          /* the Block2 it asked for: num << 4 | szx, and flags */
} zcoap__uv_peer_blocks_t;

/* Private: a peer's amplification limit state (RFC 9175 §2.4 item 3). 24 bytes. */
typedef struct zcoap__uv_peer_echo {
    uint8_t value[ZCOAP_UV_ECHO_SIZE]; /* the last Echo value issued to the peer */
    uint64_t issued_ms;                /* when (uv_now) */
    uint32_t req_len;                  /* the datagram of the request being answered, bytes */
    bool issued;                       /* value holds a value not yet returned */
    bool verified;                     /* the peer returned one: its address is shown */
    bool limited;                      /* the request being answered is safe: may be refused */
} zcoap__uv_peer_echo_t;

/** One peer of a server: an endpoint and the peer's address. Private but for @c data. */
struct zcoap_uv_peer {
    void *data; /**< for the application (e.g. a pending separate answer) */
    /** @cond INTERNAL */
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
    uint32_t observers;   /* observers on this peer: it is not recycled while there are any */
    uint32_t obs_head;    /* the first of them, slot + 1; 0: none */
    uint32_t obs_pending; /* those owed the newest state (a CON message was in flight) */
    uint32_t obs_answer;  /* the observer the request being answered registers, slot + 1 */
    zcoap__uv_peer_blocks_t blocks;
    zcoap__uv_peer_echo_t echo;
    /** @endcond */
};

/** A CoAP server on one UDP socket. Fields after @c data are private. */
struct zcoap_uv_server {
    void *data; /**< for the application */
    /** @cond INTERNAL */
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
    struct zcoap__uv_send_batch *tx_batch; /* with rx_batch: answers sent with sendmmsg */
    /* Observe: the table and the adapter's state of each observer (max_observers each), the
     * sequence number and the policy of each resource; all allocated at start */
    zcoap_obs_table_t obs;
    zcoap__uv_observer_t *obs_state;
    uint32_t *obs_seq;
    zcoap_obs_policy_t *obs_policy;
    zcoap_uv_peer_t *ntf_peer; /* a handler is answering with req NULL for this peer's */
    uint32_t ntf_tag;          /* observer (the tag of its notifications), or NULL */
    bool ntf_answered;         /* that handler has answered */
    uint8_t block_szx;         /* the block size in effect: cfg.block_szx, capped by msg_cap */
    uint8_t rx[ZCOAP_UV_CLIENT_RX_SIZE];
    /** @endcond */
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
 *        (CON). @p content_format < 0 adds no Content-Format. Called by the handler of an
 *        observable resource with req NULL, it sends the notification instead (see
 *        zcoap_uv_handler_fn).
 *
 * Block-wise (RFC 7959): give the whole representation. A 2.xx answer (but 2.31) larger than one
 * block of the server's block size, or to a request that asked for a block (Block2), carries
 * the block asked for (§2.4): block 0 with M set when the request asked none (late
 * negotiation); the block at the offset asked, in the smaller of the client's and the server's
 * size (early negotiation), with Size2 (the whole size) on block 0 and whenever the request
 * carried Size2 (§4). A block past the end is answered 4.02 Bad Option. The answer to a Block1
 * request carries Block1 (§2.3) when it is 2.xx. Other codes carry the payload whole.
 * @p payload is copied; it may be freed when this returns.
 * @retval 0, ZCOAP_EINVAL, ZCOAP_ESTATE (nothing to answer, the server is closing, or a
 *         notification was already answered), or the builder's error (too large: an answer
 *         that is not sliced, such as an error's diagnostic, must fit msg_cap)
 */
int zcoap_uv_peer_respond(zcoap_uv_peer_t *peer, uint8_t code, int content_format,
                          const void *payload, size_t payload_len);

/** Options of an answer besides its code and payload, for zcoap_uv_peer_respond_opts(). */
typedef struct zcoap_uv_respond_opts {
    int content_format; /**< Content-Format (RFC 7252 §5.10.3); < 0: none */
    int64_t max_age_s;  /**< Max-Age in seconds (§5.10.5), 0 to 2^32 - 1; < 0: none, which the
                             client takes as 60 s. An observer that hears nothing for longer
                             registers again (RFC 7641 §3.3.1). */
    /** ETag (RFC 7252 §5.10.6) of the representation, etag_len bytes: sent with 2.xx answers,
     *  on every block of a block-wise one (RFC 7959 §2.4), so that a client sees a change
     *  between blocks */
    const uint8_t *etag;
    /** the ETag's length, 0-8; 0: no ETag */
    size_t etag_len;
} zcoap_uv_respond_opts_t;

/**
 * @brief zcoap_uv_peer_respond() with options (@p opts may be NULL: none).
 * @retval as zcoap_uv_peer_respond(); ZCOAP_EINVAL for a Max-Age above 2^32 - 1 or an ETag
 *         longer than 8 bytes
 */
int zcoap_uv_peer_respond_opts(zcoap_uv_peer_t *peer, uint8_t code,
                               const zcoap_uv_respond_opts_t *opts, const void *payload,
                               size_t payload_len);

/**
 * @brief Reads a slice of a representation for zcoap_uv_peer_respond_reader().
 *
 * Called during zcoap_uv_peer_respond_reader(), at most once per call, on the loop's thread.
 * @param[in]  ctx    the context given to zcoap_uv_peer_respond_reader()
 * @param[in]  offset where the slice starts in the representation, in bytes
 * @param[out] out    where to write it: the response's payload in the peer's buffer
 * @param[in]  len    how many bytes to write, exactly (offset + len <= total)
 * @return 0 when @p out holds the @p len bytes; a negative error otherwise: the peer is then
 *         answered 5.00 Internal Server Error instead
 */
typedef int (*zcoap_uv_slice_fn)(void *ctx, size_t offset, uint8_t *out, size_t len);

/**
 * @brief zcoap_uv_peer_respond_opts() for a representation that is not in memory: @p read
 *        writes the one slice the answer carries straight into the response buffer (no copy),
 *        so a representation of any size costs one block of memory.
 *
 * The slice is chosen as zcoap_uv_peer_respond() chooses it (the whole representation when
 * it fits one block and no block was asked, else the block asked for). A notification (a
 * handler called with req NULL) carries block 0.
 * @param[in,out] peer the peer whose request is answered
 * @param[in] code the response code
 * @param[in] opts Content-Format, Max-Age and ETag of the answer, or NULL for none
 * @param[in] total the representation's size in bytes
 * @param[in] read  fills the slice; not NULL
 * @param[in] ctx   passed to @p read
 * @retval as zcoap_uv_peer_respond_opts(); 0 also when @p read failed and 5.00 went out
 */
int zcoap_uv_peer_respond_reader(zcoap_uv_peer_t *peer, uint8_t code,
                                 const zcoap_uv_respond_opts_t *opts, size_t total,
                                 zcoap_uv_slice_fn read, void *ctx);

/** Where the block of a Block1 request goes in the body (zcoap_uv_peer_block1()). */
typedef struct zcoap_uv_block1 {
    size_t offset; /**< where the request's payload goes in the body, in bytes */
    bool last;     /**< the last block: the answer to this request answers the whole body */
    /** the body's size as the client announced it (Size1, RFC 7959 §4), 0 when it did not */
    uint32_t size1;
} zcoap_uv_block1_t;

/**
 * @brief The block of the body that the pending request of @p peer carries (RFC 7959 §2.3):
 *        its offset, whether it is the last, and the announced size. Valid until the request
 *        is answered; the block itself is the request's payload.
 *
 * Blocks reach the handler in order, each once (a retransmission gets the stored answer), the
 * first at offset 0; each block but the last is full size. One body is received per peer at a
 * time: a new first block (even with another Request-Tag, RFC 9175 §3.3) replaces the body
 * under way, whose next block then gets 4.08.
 * @retval 0 @p out filled
 * @retval ZCOAP_ENOTFOUND the pending request has no Block1 (its payload is the whole body), or
 *         there is no pending request (a notification)
 * @retval ZCOAP_EINVAL NULL arguments
 */
int zcoap_uv_peer_block1(const zcoap_uv_peer_t *peer, zcoap_uv_block1_t *out);

/**
 * @brief The address of @p peer (IPv4 or IPv6, zero-filled around): to log it, or to key what
 *        the application keeps per client. A peer slot is reused for another address once its
 *        exchanges are over (see zcoap_uv_server_config_t), so a peer pointer alone does not
 *        name a client for long; its address does.
 * @retval 0, ZCOAP_EINVAL (NULL arguments, or a peer not in use)
 */
int zcoap_uv_peer_address(const zcoap_uv_peer_t *peer, struct sockaddr_storage *out);

/**
 * @brief Acknowledge the pending CON request of @p peer now (empty ACK); the answer will be a
 *        separate response. Set @c peer->data while an answer is pending: a peer whose data is
 *        not NULL is never recycled.
 */
int zcoap_uv_peer_ack(zcoap_uv_peer_t *peer);

/** The server's counters. */
const zcoap_uv_server_stats_t *zcoap_uv_server_stats(const zcoap_uv_server_t *s);

/* ---- Observe (RFC 7641), server side -------------------------------------------------------- */

/**
 * @brief The state of the observable resource @p res changed: send it to each of its observers.
 *
 * The resource's sequence number goes up by one (24 bits, wrapping, RFC 7641 §4.4) and every
 * observer gets a notification carrying it: the handler of @p res is called with req NULL once
 * per observer (see zcoap_uv_handler_fn) and its answer goes out with the observer's token, NON
 * or CON as the resource's policy says (zcoap_obs_next_is_confirmable()). Nothing is queued:
 * - while a CON notification to the observer is in flight, the new one replaces it (§4.5.2):
 *   what is retransmitted from then on is the new state, with its new Observe number (with one
 *   response slot per peer too: the core builds it aside and copies it over the one in flight).
 * - while another CON message to the peer awaits its ACK (NSTART = 1: a separate response, a
 *   notification of another observation), the observer waits: when that exchange ends it gets
 *   the resource's state of that moment (only the newest; counted in notifications_deferred).
 *
 * An observer is removed when the client answers a notification with RST (CON or NON, §3.6),
 * when a CON notification is never acknowledged (§4.5), on a GET or FETCH with its token and
 * Observe 1 or no Observe (§3.6), and after an error answer (§3.2). A peer with observers is
 * never recycled; closing the server drops them all.
 *
 * Cost: two walks of the observer table (max_observers entries), then one handler call and one
 * datagram per observer of @p res.
 * @return how many observers the new state goes to (now, or when their peer's exchange ends)
 * @retval ZCOAP_EINVAL @p res is not an observable resource of the server's table
 * @retval ZCOAP_ESTATE the server is closing, or a handler answering a notification called it
 */
int zcoap_uv_server_notify(zcoap_uv_server_t *s, const zcoap_resource_t *res);

/**
 * @brief The resource @p res is gone (deleted): send 4.04 Not Found to each of its observers and
 *        remove them (RFC 7641 §3.2). CON or NON as notifications go; an observer whose peer
 *        has a CON message in flight gets its 4.04 when that exchange ends, and stays in the
 *        table until then. Registrations not yet answered are dropped: their answer will carry
 *        no Observe.
 * @return how many observers are told
 * @retval ZCOAP_EINVAL, ZCOAP_ESTATE as zcoap_uv_server_notify()
 */
int zcoap_uv_server_resource_gone(zcoap_uv_server_t *s, const zcoap_resource_t *res);

/**
 * @brief How often the notifications of @p res are confirmable (e.g. con_every 1: always CON),
 *        in place of the server's obs_policy; NULL returns to that. CONs are counted per
 *        observer.
 * @retval 0, ZCOAP_EINVAL (@p res is not in the server's table)
 */
int zcoap_uv_server_set_obs_policy(zcoap_uv_server_t *s, const zcoap_resource_t *res,
                                   const zcoap_obs_policy_t *policy);

/**
 * @brief The sequence number of @p res: the Observe value of its last notification (0 at start,
 *        also carried by registrations answered before the first notification).
 * @retval 0, ZCOAP_EINVAL
 */
int zcoap_uv_server_obs_seq(const zcoap_uv_server_t *s, const zcoap_resource_t *res, uint32_t *out);

/**
 * @brief Set the sequence number of @p res (24 bits; the next notification carries @p seq + 1,
 *        wrapping). To go on numbering after a restart: a client renewing its registration
 *        within 128 s compares the numbers (RFC 7641 §3.4).
 * @retval 0, ZCOAP_EINVAL (@p res is not in the table, or @p seq has more than 24 bits)
 */
int zcoap_uv_server_set_obs_seq(zcoap_uv_server_t *s, const zcoap_resource_t *res, uint32_t seq);

/**
 * @brief Set the server's datagram hook (see zcoap_uv_datagram_hook_fn), or remove it with a
 *        NULL @p hook. zcoap_uv_server_start() clears it: set it right after start (before the
 *        loop runs again) to see every datagram. One hook serves every peer of the server; the
 *        @c peer argument tells them apart. Without a hook a datagram costs one pointer test more.
 * @param[in,out] s the server, started
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
