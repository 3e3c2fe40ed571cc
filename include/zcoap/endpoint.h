/**
 * @file endpoint.h
 * @brief The sans-I/O CoAP endpoint (RFC 7252 §4-§5): one peer, no heap, no clock, no socket.
 *
 * One endpoint talks to one peer through two state machines, each with at most one exchange in
 * flight (NSTART = 1): the outgoing path (requests we send, pings) and the incoming path
 * (requests the peer sends). Time, randomness and datagrams come in through the API; datagrams
 * go out by being pulled. The driver loop, after every datagram, timer or API call:
 *
 * @code
 * zcoap_ep_receive(ep, dgram, len, now);                       // when a datagram arrived
 * while (zcoap_ep_process(ep, now, &ev) == 1) handle(&ev);      // events, timers
 * while ((n = zcoap_ep_next_datagram(ep, now, &p)) > 0) send(p, (size_t)n);
 * deadline = zcoap_ep_next_deadline(ep);                        // arm the one timer, or none
 * @endcode
 *
 * Message IDs: 16 bits, starting at a random value and increasing by one per new message
 * (requests, pings, separate and NON responses). RFC 7252 §4.4 forbids reusing an ID toward the
 * same peer within EXCHANGE_LIFETIME (247 s by default), so one endpoint must originate at most
 * 65536 messages per EXCHANGE_LIFETIME: about 265 per second sustained. With NSTART = 1 a CON
 * request waits for its answer, so only fast NON traffic can come near that limit.
 *
 * Calling process early does nothing; late catches up; twice is harmless. Times are absolute
 * milliseconds from one monotonic clock of the caller's choice (uv_now() in the adapter).
 *
 * Lifetimes: a message view in an event points into the datagram given to zcoap_ep_receive()
 * (nothing is copied) and is valid until the next zcoap_ep_receive() on this endpoint, as long as
 * the caller keeps that datagram unchanged (events still queued when the next datagram is received
 * report has_msg false: drain process() after each receive). A pointer from
 * zcoap_ep_next_datagram() is valid until the next call on the endpoint.
 */
#ifndef ZCOAP_ENDPOINT_H
#define ZCOAP_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zcoap/config.h"
#include "zcoap/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/** "No deadline" for zcoap_ep_next_deadline(). */
#define ZCOAP_NEVER UINT64_MAX

/** Default number of responses kept for duplicate requests. */
#ifndef ZCOAP_EP_DEFAULT_RESP_SLOTS
#define ZCOAP_EP_DEFAULT_RESP_SLOTS 2
#endif

/** Default number of recent incoming message IDs remembered for de-duplication. */
#ifndef ZCOAP_EP_DEFAULT_DEDUP
#define ZCOAP_EP_DEFAULT_DEDUP 8
#endif

/** Default number of observations a client endpoint keeps (RFC 7641). */
#ifndef ZCOAP_EP_DEFAULT_OBSERVATIONS
#define ZCOAP_EP_DEFAULT_OBSERVATIONS 2
#endif

/** Capacity of the internal event queue (events of one receive or one process step). */
#define ZCOAP_EP_EVENT_QUEUE 8
/** Capacity of the internal queue of Empty ACK/RST messages waiting to be pulled. */
#define ZCOAP_EP_CONTROL_QUEUE 4

/**
 * @brief Random source: fill @p out with @p len unpredictable bytes.
 *
 * Tokens must be hard to guess (RFC 7252 §5.3.1): the adapter passes the operating system's
 * source; tests pass a seeded generator.
 * @return 0 on success, a negative code on failure (the endpoint then refuses the request).
 */
typedef int (*zcoap_rng_fn)(void *ctx, uint8_t *out, size_t len);

/**
 * @brief Lender of the response store: returns @p bytes of memory (suitably aligned for bytes)
 *        that stay the endpoint's until it is no longer used, or NULL when there is none.
 *
 * Called at most once per endpoint, when the first request from the peer arrives or the first
 * notification begins, if zcoap_ep_config_t::resp_store is NULL. A client whose peer never
 * sends it a request never needs the store (a CON notification is acknowledged with an empty
 * ACK, which needs none). The caller frees what it lent after the endpoint's last use.
 */
typedef uint8_t *(*zcoap_lend_fn)(void *ctx, size_t bytes);

/** Transmission parameters (RFC 7252 §4.8). The derived times are computed from these. */
typedef struct zcoap_tx_params {
    uint32_t ack_timeout_ms;           /**< ACK_TIMEOUT, default 2000 */
    uint16_t ack_random_factor_permil; /**< ACK_RANDOM_FACTOR x 1000, default 1500 (>= 1000) */
    uint8_t max_retransmit;            /**< MAX_RETRANSMIT, default 4 (at most 10) */
    uint32_t max_latency_ms;           /**< MAX_LATENCY, default 100000 */
} zcoap_tx_params_t;

/**
 * @brief RFC 7252 §4.8.2 MAX_TRANSMIT_SPAN: ACK_TIMEOUT * (2^MAX_RETRANSMIT - 1) *
 *        ACK_RANDOM_FACTOR.
 * @param[in] p the transmission parameters
 * @return the time in milliseconds
 */
uint64_t zcoap_tx_max_transmit_span_ms(const zcoap_tx_params_t *p);
/**
 * @brief RFC 7252 §4.8.2 MAX_TRANSMIT_WAIT: ACK_TIMEOUT * (2^(MAX_RETRANSMIT+1) - 1) * factor.
 * @param[in] p the transmission parameters
 * @return the time in milliseconds
 */
uint64_t zcoap_tx_max_transmit_wait_ms(const zcoap_tx_params_t *p);
/**
 * @brief RFC 7252 §4.8.2 EXCHANGE_LIFETIME: span + 2 * MAX_LATENCY + PROCESSING_DELAY
 *        (= ACK_TIMEOUT).
 * @param[in] p the transmission parameters
 * @return the time in milliseconds
 */
uint64_t zcoap_tx_exchange_lifetime_ms(const zcoap_tx_params_t *p);
/**
 * @brief RFC 7252 §4.8.2 NON_LIFETIME: span + MAX_LATENCY.
 * @param[in] p the transmission parameters
 * @return the time in milliseconds
 */
uint64_t zcoap_tx_non_lifetime_ms(const zcoap_tx_params_t *p);

/** One remembered incoming message ID (private fields; the caller only provides the array). */
typedef struct zcoap_dedup_entry {
    /** @cond INTERNAL */
    uint64_t expires_ms; /* private */
    uint16_t mid;        /* private */
    uint16_t resp_len;   /* private: length of the stored response */
    uint16_t req_len;    /* private: length of the request, which a true duplicate repeats */
    uint8_t flags;       /* private */
    int8_t resp_slot;    /* private: stored response, or -1 */
    /** @endcond */
} zcoap_dedup_entry_t;

/** One observation of ours (private fields; the caller only provides the array). */
typedef struct zcoap_ep_observation {
    /** @cond INTERNAL */
    uint64_t last_ms;  /* private: when the freshest notification came */
    uint64_t renew_ms; /* private: when to report OBS_RENEW, or ZCOAP_NEVER */
    uint32_t last_seq; /* private: its Observe value */
    uint32_t tag;      /* private */
    uint8_t token[ZCOAP_MAX_TOKEN_LEN];
    uint8_t token_len; /* private */
    uint8_t state;     /* private: free, registering, established */
    uint8_t method;    /* private: GET or FETCH, which the active cancellation repeats */
    /** @endcond */
} zcoap_ep_observation_t;

/** Endpoint configuration: parameters and the caller's buffers. */
typedef struct zcoap_ep_config {
    zcoap_tx_params_t tx;         /**< transmission parameters */
    uint8_t token_len;            /**< token length of our requests, 0-8 (default 8) */
    uint32_t auto_ack_ms;         /**< send the empty ACK for an unanswered CON request after
                                       this long (default 500, well under ACK_TIMEOUT) */
    uint32_t response_timeout_ms; /**< how long a request waits for its response after it was
                                       acknowledged or sent NON, and how long a request in
                                       waits for the application; 0 (the default) means
                                       EXCHANGE_LIFETIME of @c tx */
    uint32_t busy_max_age_s;      /**< Max-Age of the 5.03 Service Unavailable that answers a
                                       request arriving while the application has not answered
                                       the last one, or while every response slot is taken
                                       (with resp_slots 1: by our separate CON response still
                                       awaiting its ACK); default 2 s (a retransmission
                                       interval), the peer retries after it (§5.9.3.4) */
    size_t msg_cap;               /**< size of each message buffer (default ZCOAP_MAX_MSG_SIZE,
                                       16-65535); a larger request is answered 4.13 with Size1 */
    uint8_t *req_buf;             /**< msg_cap bytes: our request being sent/retransmitted */
    uint8_t *resp_store;          /**< resp_slots * msg_cap bytes: our responses, kept for
                                       duplicate requests; NULL with @c resp_store_lend: lent
                                       when first needed */
    size_t resp_slots;            /**< how many responses are kept (1-127) */
    zcoap_dedup_entry_t *dedup;   /**< ring of recent incoming message IDs */
    size_t dedup_cap;             /**< its size (1-127) */
    zcoap_ep_observation_t *observations; /**< the client's observations (RFC 7641), kept apart
                                               from the one request of NSTART = 1; may be NULL */
    size_t observations_cap;              /**< their number (0: no observations) */
    zcoap_rng_fn rng;                     /**< random source (required) */
    void *rng_ctx;                        /**< passed to rng */
    zcoap_lend_fn resp_store_lend;        /**< lends resp_store when first needed, if it is NULL; a
                                               request arriving when it lends nothing is answered 5.03
                                               with Max-Age (busy_max_age_s) and a notification gets
                                               ZCOAP_ENOSPC. May be NULL (resp_store is required). */
    void *resp_store_ctx;                 /**< passed to resp_store_lend */
} zcoap_ep_config_t;

/** Storage of the default configuration, for callers that want one object per endpoint. */
typedef struct zcoap_ep_storage {
    /** zcoap_ep_config_t::req_buf */
    uint8_t req[ZCOAP_MAX_MSG_SIZE];
    /** zcoap_ep_config_t::resp_store, ZCOAP_EP_DEFAULT_RESP_SLOTS slots */
    uint8_t resp[ZCOAP_EP_DEFAULT_RESP_SLOTS * ZCOAP_MAX_MSG_SIZE];
    /** zcoap_ep_config_t::dedup */
    zcoap_dedup_entry_t dedup[ZCOAP_EP_DEFAULT_DEDUP];
    /** zcoap_ep_config_t::observations */
    zcoap_ep_observation_t observations[ZCOAP_EP_DEFAULT_OBSERVATIONS];
} zcoap_ep_storage_t;

/**
 * @brief Fill @p cfg with the RFC 7252 §4.8 defaults and point its buffers into @p storage
 *        (may be NULL: then the caller sets the buffers). The rng is left NULL: set it.
 * @param[out] cfg the configuration to fill
 * @param[in] storage the buffers of the default sizes, owned by the caller and outliving every
 *            endpoint initialised with @p cfg; or NULL
 */
void zcoap_ep_config_default(zcoap_ep_config_t *cfg, zcoap_ep_storage_t *storage);

/** Event kinds, on coap-zero's three channels (endpoint, incoming path, outgoing path). */
typedef enum zcoap_event_kind {
    ZCOAP_EV_NONE = 0,
    /* endpoint channel */
    ZCOAP_EV_FORMAT_ERROR,  /**< malformed datagram (ev.err says how); answered RST if CON */
    ZCOAP_EV_PING_ANSWERED, /**< an Empty CON (ping) was answered with RST */
    ZCOAP_EV_UNHANDLED,     /**< a message that matches nothing was answered with RST */
    /* incoming path: requests from the peer */
    ZCOAP_EV_IN_REQUEST,           /**< a request (ev.msg): answer it with zcoap_ep_respond_*() */
    ZCOAP_EV_IN_DUPLICATE,         /**< a duplicate request, answered from the stored response */
    ZCOAP_EV_IN_REJECTED,          /**< a request answered by the endpoint itself (4.02, 4.13) */
    ZCOAP_EV_IN_ACK_SENT,          /**< the empty ACK went out; the response becomes separate */
    ZCOAP_EV_IN_CON_RESPONSE_SENT, /**< a separate CON response went out (first transmission) */
    ZCOAP_EV_IN_SUCCESS,           /**< the response was delivered (piggybacked/NON sent, or the
                                        CON response acknowledged) */
    ZCOAP_EV_IN_RST_SENT,          /**< the application rejected the request with RST */
    ZCOAP_EV_IN_TIMEOUT,           /**< a separate CON response was never acknowledged, or the
                                        application never answered */
    ZCOAP_EV_IN_RESET,             /**< the peer answered our CON response with RST */
    ZCOAP_EV_IN_BUSY,              /**< a request (ev.msg) that came while the last one is still
                                        unanswered was answered 5.03 with Max-Age (not taken) */
    ZCOAP_EV_NOTIFY_SENT,          /**< a notification (ev.tag) went out, NON or CON (first
                                        transmission), or replaced the CON one in flight */
    ZCOAP_EV_NOTIFY_ACKED,         /**< the CON notification (ev.tag) was acknowledged */
    ZCOAP_EV_NOTIFY_RESET,         /**< the client answered a notification (ev.tag), CON or NON,
                                        with RST: it no longer observes (RFC 7641 §3.6) */
    ZCOAP_EV_NOTIFY_TIMEOUT,       /**< the CON notification (ev.tag) was never acknowledged: the
                                        client is gone (RFC 7641 §4.5) */
    /* outgoing path: our requests */
    ZCOAP_EV_OUT_CON_SENT,           /**< our CON request went out (first transmission) */
    ZCOAP_EV_OUT_NON_SENT,           /**< our NON request went out */
    ZCOAP_EV_OUT_PING_SENT,          /**< our ping went out */
    ZCOAP_EV_OUT_EMPTY_ACK,          /**< the peer acknowledged (ev.msg); a separate response will
                                          follow */
    ZCOAP_EV_OUT_RESPONSE,           /**< the response (ev.msg); the exchange is over */
    ZCOAP_EV_OUT_PONG,               /**< our ping was answered (RST); the exchange is over */
    ZCOAP_EV_OUT_TIMEOUT,            /**< no ACK after MAX_RETRANSMIT, or no response in time;
                                          ev.err ZCOAP_EUNREACHABLE: ended early by
                                          zcoap_ep_peer_unreachable() */
    ZCOAP_EV_OUT_WRONG_TOKEN,        /**< an ACK with our message ID carried another token (ev.msg):
                                          not our response (RFC 7252 §5.3.2): ignored, and when
                                          the same wrong token comes back (a server's stale
                                          de-duplication answer) the request goes again, once,
                                          under a new message ID */
    ZCOAP_EV_OUT_RESET,              /**< the peer answered our request with RST */
    ZCOAP_EV_OUT_DUPLICATE_RESPONSE, /**< a duplicate of the CON response (or CON notification),
                                         acknowledged again */
    ZCOAP_EV_OBS_NOTIFICATION,       /**< a fresh notification (ev.msg, ev.tag) of an observation */
    ZCOAP_EV_OBS_ENDED,              /**< the server ended the observation (ev.tag): ev.msg is its
                                          last notification, an error or one without Observe */
    ZCOAP_EV_OBS_RENEW               /**< no notification for Max-Age + a margin: the observation
                                          (ev.tag) may be gone; register again with
                                          zcoap_ep_observe_begin() and the same tag */
} zcoap_event_kind_t;

/** Which channel an event kind belongs to. */
typedef enum zcoap_event_channel {
    ZCOAP_CH_ENDPOINT,
    ZCOAP_CH_INCOMING,
    ZCOAP_CH_OUTGOING
} zcoap_event_channel_t;

/** One event. */
typedef struct zcoap_event {
    zcoap_event_kind_t kind; /**< what happened; the other fields are set as each kind says */
    int err;                 /**< ZCOAP_EMSG_* for ZCOAP_EV_FORMAT_ERROR, else 0 */
    uint32_t tag;            /**< for ZCOAP_EV_NOTIFY_*: the tag given to zcoap_ep_notify_begin() */
    bool has_msg;    /**< msg is set (requests, responses, wrong token, duplicates, unhandled) */
    zcoap_msg_t msg; /**< view into the received datagram (see the file comment for lifetime) */
} zcoap_event_t;

/**
 * @brief The channel of an event kind.
 * @param[in] kind the event kind
 * @return its channel
 */
zcoap_event_channel_t zcoap_event_channel(zcoap_event_kind_t kind);
/**
 * @brief "IN_REQUEST", "OUT_TIMEOUT", ... for logs.
 * @param[in] kind the event kind
 * @return a static string
 */
const char *zcoap_event_name(zcoap_event_kind_t kind);

/* Private state of the endpoint; fields may change between versions. */
typedef struct zcoap__ep_control {
    uint8_t type;
    uint16_t mid;
} zcoap__ep_control_t;

/* A queued event; its message view is the endpoint's one view of the last datagram received. */
typedef struct zcoap__ep_event {
    uint8_t kind;
    bool has_msg;
    int16_t err;
    uint32_t tag;
} zcoap__ep_event_t;

/* A NON notification recently sent, so that the client's RST to it can be matched. */
typedef struct zcoap__ep_sent_notification {
    uint32_t tag;
    uint16_t mid;
    bool used;
} zcoap__ep_sent_notification_t;

/* How many NON notifications are remembered for RSTs. */
#define ZCOAP__EP_NON_NOTIFICATIONS 4

/**
 * @brief A CoAP endpoint toward one peer. Allocate it anywhere (its size is known at compile
 *        time); everything after @c data is private.
 */
typedef struct zcoap_ep {
    void *data; /**< for the application */
    /** @cond INTERNAL */
    /* private */
    zcoap_ep_config_t cfg;
    uint16_t next_mid;
    /* outgoing path */
    uint8_t out_state;
    uint8_t out_retransmits;
    bool out_pending_tx;   /* a transmission of req_buf is due to be pulled */
    bool out_mid_renewed;  /* sent again under a new MID after an ACK with another token */
    uint8_t out_wrong_len; /* the last such ACK's token length + 1; 0: none yet */
    uint8_t out_wrong_token[ZCOAP_MAX_TOKEN_LEN]; /* ... and its token */
    bool out_begun;                               /* request_begin done, send not yet */
    size_t out_len;
    uint16_t out_mid;
    uint8_t out_token[ZCOAP_MAX_TOKEN_LEN];
    uint8_t out_token_len;
    uint64_t out_timeout_ms;  /* current retransmission timeout (doubles up to 2^10 times) */
    uint32_t out_response_ms; /* response timeout of this request */
    uint64_t out_deadline;
    int8_t out_obs;                 /* observation our request registers or renews, or -1 */
    uint32_t out_tag;               /* the tag of our request's events (observations), else 0 */
    uint16_t out_last_resp_mid;     /* separate CON response taken last, for its duplicates */
    uint64_t out_last_resp_expires; /* 0: none */
    /* incoming path, front: the request waiting for the application's answer */
    uint8_t in_state;
    uint8_t in_type;
    bool in_piggyback; /* the response being built goes in the ACK */
    uint16_t in_mid;
    uint8_t in_token[ZCOAP_MAX_TOKEN_LEN];
    uint8_t in_token_len;
    int8_t in_dedup; /* dedup entry of the current request, or -1 */
    uint8_t in_slot; /* response slot being built, sent, or queued behind the back exchange */
    size_t in_len;   /* length of the response in the slot */
    bool in_pending_tx;
    uint64_t in_deadline;
    /* incoming path, back: our separate CON response, retransmitted until the peer's ACK. The
     * peer may already send its next request meanwhile (RFC 7252 §4.7): the front takes it. */
    bool con_active;
    bool con_pending_tx;
    uint8_t con_slot;
    uint8_t con_retransmits;
    uint16_t con_mid;
    size_t con_len;
    uint64_t con_timeout_ms;
    uint64_t con_deadline;
    bool con_is_notification; /* the back carries a CON notification (tagged con_tag) */
    bool con_sent;            /* its current content went out at least once */
    bool con_prev_valid;      /* a replaced notification that went out: its ACK still counts */
    uint16_t con_prev_mid;
    uint32_t con_tag;
    /* notifications: the NON one waiting to be pulled, and the last few sent */
    bool ntf_pending_tx;
    uint8_t ntf_slot;
    bool ntf_begun;      /* notify_begin done, send not yet */
    bool ntf_in_req_buf; /* ... built in req_buf: a replacement with no response slot free */
    bool ntf_confirmable;
    uint32_t ntf_tag;
    size_t ntf_len;
    uint8_t ntf_next;
    zcoap__ep_sent_notification_t ntf_sent[ZCOAP__EP_NON_NOTIFICATIONS];
    /* a request we could not take now, answered 5.03 Service Unavailable with Max-Age */
    uint8_t busy_buf[4 + ZCOAP_MAX_TOKEN_LEN + 6];
    uint8_t busy_len;
    uint8_t next_slot;
    uint8_t dedup_next;
    uint64_t dedup_expiry; /* earliest end of a de-duplication window, or ZCOAP_NEVER */
    int8_t dup_slot;       /* stored response to send again for a duplicate, or -1 */
    uint16_t dup_len;
    /* queues */
    zcoap__ep_control_t control[ZCOAP_EP_CONTROL_QUEUE];
    uint8_t control_len;
    uint8_t control_buf[4];
    zcoap__ep_event_t events[ZCOAP_EP_EVENT_QUEUE];
    zcoap_msg_t ev_msg; /* view of the last datagram received, shared by its events */
    uint8_t ev_head;
    uint8_t ev_len;
    uint32_t events_dropped;
    /** @endcond */
} zcoap_ep_t;

/**
 * @brief Initialise an endpoint.
 * @param[out] ep the endpoint, in the caller's memory (nothing is allocated)
 * @param[in] cfg copied; the buffers it points to must outlive the endpoint
 * @param[in] now_ms the current time in milliseconds, from the monotonic clock that every later
 *            call on this endpoint uses too
 * @retval ZCOAP_OK, ZCOAP_EINVAL (missing rng or buffer, token_len > 8, msg_cap < 16, ...)
 */
int zcoap_ep_init(zcoap_ep_t *ep, const zcoap_ep_config_t *cfg, uint64_t now_ms);

/**
 * @brief Forget every exchange and queued event or datagram (no event is reported after this
 *        for what was in flight). The configuration is kept.
 * @param[in,out] ep the endpoint, e.g. before it serves another peer
 * @param[in] now_ms the current time in milliseconds
 */
void zcoap_ep_reset(zcoap_ep_t *ep, uint64_t now_ms);

/**
 * @brief Hand a datagram from the peer to the endpoint. It is handled at once (automatic ACK, RST,
 *        duplicate answers are queued for zcoap_ep_next_datagram()) and its events are queued for
 *        zcoap_ep_process(). Network input never makes this fail.
 * @param[in,out] ep the endpoint
 * @param[in] dgram the datagram as received from the peer; not copied: the message views of the
 *            events point into it, so keep it unchanged until the next zcoap_ep_receive()
 * @param[in] len its length in bytes (a datagram cut short by a small receive buffer would be
 *            taken for a shorter message: receive into a buffer larger than any datagram)
 * @param[in] now_ms the current time in milliseconds (starts the automatic ACK's timer and the
 *            de-duplication window)
 * @retval ZCOAP_OK, ZCOAP_EINVAL (NULL arguments)
 */
int zcoap_ep_receive(zcoap_ep_t *ep, const uint8_t *dgram, size_t len, uint64_t now_ms);

/**
 * @brief Advance the timers (retransmissions, automatic ACK, response timeouts, de-duplication
 *        windows) to @p now_ms and return the next event.
 *
 * Call it until it returns 0, after every zcoap_ep_receive(), when zcoap_ep_next_deadline()
 * has come, and after any call that starts something. Early calls do nothing, late ones catch
 * up.
 * @param[in,out] ep the endpoint
 * @param[in] now_ms the current time in milliseconds
 * @param[out] ev the event; a message view in it follows the lifetime rules of the file comment
 * @return 1 and fills @p ev; 0 when there is no event; ZCOAP_EINVAL for NULL arguments.
 */
int zcoap_ep_process(zcoap_ep_t *ep, uint64_t now_ms, zcoap_event_t *ev);

/**
 * @brief The next datagram to send to the peer, if any.
 * @param[in,out] ep the endpoint; the datagram is taken off its queue
 * @param[in] now_ms the current time in milliseconds (the timers started when the message was
 *            queued, so the moment it is pulled changes nothing)
 * @param[out] out points to the datagram, inside the endpoint's buffers (not to be freed),
 *             valid until the next call on the endpoint
 * @return its length, 0 when nothing is to be sent, or ZCOAP_EINVAL.
 */
ptrdiff_t zcoap_ep_next_datagram(zcoap_ep_t *ep, uint64_t now_ms, const uint8_t **out);

/**
 * @brief Absolute time at which zcoap_ep_process() must be called next, or ZCOAP_NEVER.
 *
 * Besides retransmissions and response timeouts this includes the end of each de-duplication
 * window (EXCHANGE_LIFETIME after a CON request, NON_LIFETIME after a NON one), so an endpoint
 * that is idle and whose deadline is ZCOAP_NEVER holds no state at all and may be recycled.
 * Returns 0 while events or datagrams are queued.
 * @param[in] ep the endpoint
 * @return the time in milliseconds, on the clock of the @c now_ms arguments; 0 when work is
 *         queued; ZCOAP_NEVER when nothing is pending
 */
uint64_t zcoap_ep_next_deadline(const zcoap_ep_t *ep);

/**
 * @brief True when no exchange is in flight in either direction and nothing is queued. The
 *        de-duplication windows may still be open (see zcoap_ep_next_deadline()).
 * @param[in] ep the endpoint
 * @return true when idle
 */
bool zcoap_ep_is_idle(const zcoap_ep_t *ep);

/* ---- requests out ------------------------------------------------------------------------- */

/**
 * @brief Start a request: a builder over the endpoint's request buffer, with the header, a fresh
 *        message ID and a fresh random token already written. Add options and payload with the
 *        builder, then call zcoap_ep_request_send().
 * @param[in,out] ep the endpoint; its request buffer is taken until the exchange ends
 * @param[in] type ZCOAP_TYPE_CON or ZCOAP_TYPE_NON
 * @param[in] method request code (0.01-0.31)
 * @param[out] b the builder, writing into the endpoint's request buffer
 * @retval ZCOAP_OK, ZCOAP_EBUSY (a request is in flight: NSTART = 1), ZCOAP_EINVAL, or the rng's
 *         error
 */
int zcoap_ep_request_begin(zcoap_ep_t *ep, uint8_t type, uint8_t method, zcoap_builder_t *b);

/**
 * @brief zcoap_ep_request_begin() with a token of the caller's choice (0-8 bytes, may be empty)
 *        instead of a random one: to renew an observation under its token (RFC 7641 §3.3.1), or
 *        for tools and tests that need a given token. Toward peers that are not trusted, keep
 *        tokens unguessable (RFC 7252 §5.3.1).
 * @param[in,out] ep the endpoint
 * @param[in] type ZCOAP_TYPE_CON or ZCOAP_TYPE_NON
 * @param[in] method request code (0.01-0.31)
 * @param[in] token the token (copied; may be NULL when @p token_len is 0)
 * @param[in] token_len its length, 0-8 bytes
 * @param[out] b the builder, writing into the endpoint's request buffer
 * @retval as zcoap_ep_request_begin(); ZCOAP_EINVAL for a token longer than 8 bytes
 */
int zcoap_ep_request_begin_token(zcoap_ep_t *ep, uint8_t type, uint8_t method, const uint8_t *token,
                                 size_t token_len, zcoap_builder_t *b);

/**
 * @brief Send the request prepared with zcoap_ep_request_begin().
 * @param[in,out] ep the endpoint
 * @param[in] b the builder zcoap_ep_request_begin() returned, with the options and payload added
 * @param[in] response_timeout_ms how long to wait for the response once acknowledged (CON) or
 *            sent (NON), in milliseconds; 0 for the configured default
 * @param[in] now_ms the current time in milliseconds: the retransmission timer starts here
 * @retval ZCOAP_OK, ZCOAP_ESTATE (no request begun), or the builder's sticky error
 */
int zcoap_ep_request_send(zcoap_ep_t *ep, zcoap_builder_t *b, uint32_t response_timeout_ms,
                          uint64_t now_ms);

/**
 * @brief Convenience: a request to a URI ("coap://host/path?query"), with an optional payload.
 *
 * The URI gives the options (Uri-Host for a host name, Uri-Path, Uri-Query); the datagrams go
 * to whatever peer the caller sends them to.
 * @param[in,out] ep the endpoint
 * @param[in] type ZCOAP_TYPE_CON or ZCOAP_TYPE_NON
 * @param[in] method request code (0.01-0.31)
 * @param[in] uri NUL-terminated absolute coap:// URI
 * @param[in] payload request payload, copied (may be NULL when @p payload_len is 0)
 * @param[in] payload_len its length in bytes
 * @param[in] now_ms the current time in milliseconds
 * @retval as zcoap_ep_request_begin() and zcoap_ep_request_send(), plus the URI errors
 */
int zcoap_ep_request_uri(zcoap_ep_t *ep, uint8_t type, uint8_t method, const char *uri,
                         const void *payload, size_t payload_len, uint64_t now_ms);

/**
 * @brief Send a ping (Empty CON, RFC 7252 §4.3); the answer is ZCOAP_EV_OUT_PONG or a timeout.
 * @param[in,out] ep the endpoint
 * @param[in] now_ms the current time in milliseconds
 * @retval ZCOAP_OK, ZCOAP_EBUSY (a request is in flight: NSTART = 1), ZCOAP_EINVAL
 */
int zcoap_ep_ping(zcoap_ep_t *ep, uint64_t now_ms);

/**
 * @brief Abandon our request in flight (no event follows for it). A late separate response
 *        then gets RST; a late piggybacked one (an ACK) is ignored (RFC 7252 §4.2).
 * @param[in,out] ep the endpoint
 * @retval ZCOAP_OK (also when nothing was in flight), ZCOAP_EINVAL
 */
int zcoap_ep_cancel(zcoap_ep_t *ep);

/**
 * @brief The peer's host said its port is closed (ICMP port unreachable, seen as ECONNREFUSED on
 *        a connected socket): end our request or ping in flight now, with ZCOAP_EV_OUT_TIMEOUT
 *        and ev.err ZCOAP_EUNREACHABLE, instead of after MAX_TRANSMIT_WAIT (RFC 8085 §5.2: UDP
 *        applications should act on ICMP errors).
 *
 * The error answers some datagram sent earlier, not necessarily this exchange's: a request not
 * yet transmitted is left alone. Observations stay registered (their renewal is the
 * application's next request). The peer may come back: nothing else changes.
 * @param[in,out] ep the endpoint toward that peer
 * @param[in] now_ms the current time in milliseconds
 * @retval 1 an exchange ended; 0 none was in flight; ZCOAP_EINVAL @p ep is NULL
 */
int zcoap_ep_peer_unreachable(zcoap_ep_t *ep, uint64_t now_ms);

/* ---- answering requests in ---------------------------------------------------------------- */

/**
 * @brief Start the response to the request of the last ZCOAP_EV_IN_REQUEST: a builder over a
 *        response slot, with the header and the request's token written. It is piggybacked in the
 *        ACK when the request was CON and not yet acknowledged; otherwise a separate response, CON
 *        or NON as @p confirmable says (a NON request gets a NON response unless asked).
 * @param[in,out] ep the endpoint
 * @param[in] code the response code (2.xx-5.xx)
 * @param[in] confirmable for a separate response: true CON (retransmitted until acknowledged),
 *            false NON
 * @param[out] b the builder, writing into a response slot of the endpoint
 * @retval ZCOAP_OK, ZCOAP_ESTATE (no request to answer), ZCOAP_EINVAL
 */
int zcoap_ep_response_begin(zcoap_ep_t *ep, uint8_t code, bool confirmable, zcoap_builder_t *b);

/**
 * @brief Type of the request waiting for the application's answer (ZCOAP_TYPE_CON or
 *        ZCOAP_TYPE_NON), or -1 when there is none.
 * @param[in] ep the endpoint
 * @return ZCOAP_TYPE_CON, ZCOAP_TYPE_NON or -1
 */
int zcoap_ep_request_type(const zcoap_ep_t *ep);

/**
 * @brief Send the response prepared with zcoap_ep_response_begin().
 * @param[in,out] ep the endpoint
 * @param[in] b the builder zcoap_ep_response_begin() returned, with the options and payload
 * @param[in] now_ms the current time in milliseconds
 * @retval ZCOAP_OK, ZCOAP_ESTATE (no request waits for an answer, or @p b is not its builder),
 *         ZCOAP_EINVAL, or the builder's sticky error
 */
int zcoap_ep_response_send(zcoap_ep_t *ep, zcoap_builder_t *b, uint64_t now_ms);

/**
 * @brief Acknowledge the CON request now (empty ACK) and answer later with a separate response.
 * @param[in,out] ep the endpoint
 * @param[in] now_ms the current time in milliseconds
 * @retval ZCOAP_OK, ZCOAP_ESTATE (no CON request waits unacknowledged), ZCOAP_EINVAL
 */
int zcoap_ep_respond_ack(zcoap_ep_t *ep, uint64_t now_ms);

/**
 * @brief Reject the request with RST (RFC 7252 §4.2, §4.3).
 * @param[in,out] ep the endpoint
 * @param[in] now_ms the current time in milliseconds
 * @retval ZCOAP_OK, ZCOAP_ESTATE (no request waits for an answer, or it was acknowledged
 *         already), ZCOAP_EINVAL
 */
int zcoap_ep_respond_rst(zcoap_ep_t *ep, uint64_t now_ms);

/* ---- observations (RFC 7641, client) ------------------------------------------------------- */

/**
 * @brief Start a request that registers an observation (RFC 7641 §3.1): a CON GET or FETCH with
 *        Observe 0, as zcoap_ep_request_begin() makes it (it is the one request of NSTART = 1
 *        until answered). Add the target's options with the builder, then
 *        zcoap_ep_request_send().
 *
 * A 2.xx response carrying Observe establishes the observation (ZCOAP_EV_OUT_RESPONSE, ev.tag);
 * one without it means the server did not take us (the response is still delivered). Later
 * notifications arrive as ZCOAP_EV_OBS_NOTIFICATION while other requests come and go: CON ones
 * are acknowledged, each copy again; stale or reordered ones are dropped (§3.4). An error or a
 * notification without Observe ends it (ZCOAP_EV_OBS_ENDED). When no notification came for
 * Max-Age plus ZCOAP_OBS_RENEW_MARGIN_MS, ZCOAP_EV_OBS_RENEW asks to register again: call this
 * with the same @p tag, which reuses the token (§3.3.1).
 *
 * A registration or renewal that ends without an answer (OUT_TIMEOUT, OUT_RESET with the tag)
 * ends the observation. If zcoap_ep_request_send() fails, zcoap_ep_cancel() drops the begun
 * request and frees the slot.
 *
 * @param[in,out] ep the endpoint
 * @param[in] method ZCOAP_GET or ZCOAP_FETCH (RFC 8132 §2.4)
 * @param[in] tag names the observation in its events; a tag already in use renews it
 * @param[out] b the builder, writing into the endpoint's request buffer
 * @retval as zcoap_ep_request_begin(); ZCOAP_ENOSPC when every observation slot is taken
 */
int zcoap_ep_observe_begin(zcoap_ep_t *ep, uint8_t method, uint32_t tag, zcoap_builder_t *b);

/**
 * @brief Cancel the observation @p tag. Passive (@p b NULL): forget it; the next notification
 *        gets RST (§3.6). Active: also begin the GET with Observe 1 and the same token (§3.6,
 *        the preferred way), or a FETCH for an observation registered with FETCH (RFC 8132
 *        §2.4: the server tells the observation by its request); add the same options (and for
 *        FETCH the same body) as the registration, then zcoap_ep_request_send().
 * @param[in,out] ep the endpoint
 * @param[in] tag the observation's tag, as given to zcoap_ep_observe_begin()
 * @param[out] b NULL for a passive cancellation; else the builder of the cancelling request
 * @retval ZCOAP_OK, ZCOAP_ENOTFOUND (no such observation), or zcoap_ep_request_begin()'s errors
 *         (then the observation is kept)
 */
int zcoap_ep_observe_cancel(zcoap_ep_t *ep, uint32_t tag, zcoap_builder_t *b);

/**
 * @brief Whether the observation @p tag is established (its registration was answered with
 *        Observe).
 * @param[in] ep the endpoint
 * @param[in] tag the observation's tag
 * @return true while it is established
 */
bool zcoap_ep_observing(const zcoap_ep_t *ep, uint32_t tag);

/* ---- notifications (RFC 7641) --------------------------------------------------------------- */

/**
 * @brief Start a notification to an observer of this peer: a response that answers no request
 *        now, carrying the token the observer registered with (RFC 7641 §4.2). Add the Observe
 *        option (the resource's sequence number, zcoap/observe.h), the options and the
 *        representation with the builder, then call zcoap_ep_notify_send().
 *
 * A NON notification is sent once; a RST to it is reported as ZCOAP_EV_NOTIFY_RESET (for the last
 * few sent). A CON one is retransmitted like any CON message until ZCOAP_EV_NOTIFY_ACKED,
 * ZCOAP_EV_NOTIFY_RESET or ZCOAP_EV_NOTIFY_TIMEOUT. While a CON notification with the same token
 * is in flight, a new one (CON or NON asked) replaces it (RFC 7641 §4.5.2): it takes a new
 * message ID and goes on with the old one's retransmission count and timeout, so what gets
 * retransmitted is the newest state.
 *
 * @param[in,out] ep the endpoint toward the observer
 * @param[in] token the token the observer registered with (copied)
 * @param[in] token_len its length, 0-8 bytes
 * @param[in] code the response code (2.05 while the resource is there; an error code ends the
 *            observation on the client's side, RFC 7641 §3.2)
 * @param[in] confirmable true: CON, retransmitted until acknowledged; false: NON, sent once
 * @param[in] tag returned in the notification's events (e.g. the observer's slot)
 * @param[out] b the builder, writing into a response slot of the endpoint
 * @retval ZCOAP_OK
 * @retval ZCOAP_EBUSY another CON message of ours to this peer awaits its ACK (NSTART = 1), or
 *         every response slot is taken (a replacement then goes through the idle request
 *         buffer; anything else waits): send the newest state after the ZCOAP_EV_IN_* or
 *         ZCOAP_EV_NOTIFY_* event that ends that exchange
 * @retval ZCOAP_ENOSPC no response store, and resp_store_lend lent none
 * @retval ZCOAP_EINVAL bad arguments (token longer than 8 bytes, not a response code)
 */
int zcoap_ep_notify_begin(zcoap_ep_t *ep, const uint8_t *token, size_t token_len, uint8_t code,
                          bool confirmable, uint32_t tag, zcoap_builder_t *b);

/**
 * @brief Stop retransmitting our CON notification @p tag (its observer was removed): no event
 *        follows for it. A CON response queued behind it starts.
 * @param[in] ep the endpoint
 * @param[in] tag the tag given to zcoap_ep_notify_begin()
 * @param[in] now_ms the current time
 * @retval 1 it was in flight and is dropped; 0 it was not; ZCOAP_EINVAL @p ep is NULL
 */
int zcoap_ep_notify_cancel(zcoap_ep_t *ep, uint32_t tag, uint64_t now_ms);

/**
 * @brief Send the notification prepared with zcoap_ep_notify_begin().
 * @param[in,out] ep the endpoint
 * @param[in] b the builder zcoap_ep_notify_begin() returned, with Observe, options and payload
 * @param[in] now_ms the current time in milliseconds
 * @retval ZCOAP_OK, ZCOAP_ESTATE (no notification begun, or @p b is not its builder),
 *         ZCOAP_EBUSY (a replacement built in the request buffer found no slot), ZCOAP_EINVAL,
 *         or the builder's sticky error
 */
int zcoap_ep_notify_send(zcoap_ep_t *ep, zcoap_builder_t *b, uint64_t now_ms);

#ifdef __cplusplus
}
#endif

#endif /* ZCOAP_ENDPOINT_H */
