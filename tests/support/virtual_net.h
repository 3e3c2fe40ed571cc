/**
 * @file virtual_net.h
 * @brief A deterministic simulated link between two nodes, with a virtual clock.
 *
 * Each node is either a zcoap endpoint or a scripted peer (the test plays it: what reaches it
 * lands in its inbox, and the test injects datagrams with vnet_send()). Every datagram gets a
 * delivery time from the direction's seeded loss / duplication / reordering / delay; nothing
 * sleeps: the clock jumps to the next delivery, endpoint deadline or application timer.
 *
 * The driver follows the loop of endpoint.h: deliver what is due (one zcoap_ep_receive() at a
 * time, each followed by the endpoint's events, since an event's message view lives only until
 * the next receive), drain zcoap_ep_process() into the node's event log (and the application
 * callback), pull every zcoap_ep_next_datagram() into the link, then move the clock.
 *
 * The driver also checks, on every step, two invariants the tests read back: no datagram larger
 * than the sending endpoint's msg_cap, and no deadline at or before "now" once an endpoint has
 * been processed at "now".
 */
#ifndef ZCOAP_TEST_VIRTUAL_NET_H
#define ZCOAP_TEST_VIRTUAL_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "test_rng.h"
#include "zcoap/endpoint.h"

/** Number of nodes on a link. */
#define VNET_NODES 2

/** Loss, duplication, reordering and delay of one direction (all zero: instant, lossless). */
typedef struct vnet_link {
    uint32_t loss_pct;     /**< a datagram is dropped with this probability (0-100) */
    uint32_t dup_pct;      /**< a datagram is delivered twice (each copy its own delay) */
    uint32_t reorder_pct;  /**< a datagram is held back by an extra delay in [1, reorder_ms] */
    uint32_t reorder_ms;   /**< largest extra delay of a held-back datagram */
    uint32_t delay_min_ms; /**< every datagram takes a delay in [delay_min_ms, delay_max_ms] */
    uint32_t delay_max_ms;
} vnet_link_t;

/** One datagram: in flight, or received by a scripted peer. */
typedef struct vnet_dgram {
    uint64_t at;   /**< delivery time (in flight) or arrival time (inbox) */
    uint64_t sent; /**< time it entered the link */
    uint64_t seq;  /**< order of entry, breaks ties between equal delivery times */
    int to;        /**< destination node */
    uint8_t *data; /**< malloc'd copy */
    size_t len;
} vnet_dgram_t;

/** One logged event, copied (its message view would not outlive the next receive). */
typedef struct vnet_event_rec {
    uint64_t at;
    zcoap_event_kind_t kind;
    int err;
    uint32_t tag; /**< the event's tag (notifications) */
    bool has_msg;
    zcoap_msg_t msg;   /**< the event's view, moved onto msg_data (valid while the log lives) */
    uint8_t *msg_data; /**< malloc'd copy of the message bytes, when has_msg */
} vnet_event_rec_t;

typedef struct vnet vnet_t;

/** Application hooks of a node (each may be NULL). */
typedef struct vnet_app {
    /** every event of the node's endpoint, as it is processed */
    void (*on_event)(vnet_t *n, int node, const zcoap_event_t *ev, void *ctx);
    /** the node's timer (vnet_set_timer()) fired; it is disarmed first */
    void (*on_timer)(vnet_t *n, int node, void *ctx);
    /** every datagram the node puts on the link, before loss and duplication */
    void (*on_send)(vnet_t *n, int node, const uint8_t *data, size_t len, void *ctx);
    void *ctx;
} vnet_app_t;

/** A node: an endpoint (ep != NULL) or a scripted peer. */
typedef struct vnet_node {
    zcoap_ep_t *ep;
    vnet_app_t app;
    uint64_t app_timer; /**< ZCOAP_NEVER when not armed */
    vnet_link_t out;    /**< the direction from this node */
    /* event log */
    vnet_event_rec_t *log;
    size_t log_len, log_cap;
    uint8_t *rx_keep; /**< the last datagram given to zcoap_ep_receive() (event views) */
    /* inbox of a scripted peer */
    vnet_dgram_t *inbox;
    size_t inbox_len, inbox_cap;
    /* what this node sent */
    size_t sent;          /**< datagrams pulled from the endpoint or injected */
    size_t max_sent_len;  /**< longest of them */
    size_t oversized;     /**< pulled datagrams longer than the endpoint's msg_cap */
    size_t past_deadline; /**< times next_deadline() was <= now right after processing */
    size_t datagram_errs; /**< zcoap_ep_next_datagram() returned an error */
    size_t stuck;         /**< the endpoint never stopped producing events or datagrams */
} vnet_node_t;

/** The link and its clock. */
struct vnet {
    uint64_t now;
    test_rng_t rng; /**< drives loss, duplication, reordering, delay */
    uint64_t seq;
    vnet_dgram_t *flight;
    size_t flight_len, flight_cap;
    vnet_node_t node[VNET_NODES];
};

/** Start a link at time @p start_ms with seed @p seed; both nodes scripted, links perfect. */
void vnet_init(vnet_t *n, uint64_t seed, uint64_t start_ms);
/** Free everything the link allocated (logs, inboxes, datagrams in flight). */
void vnet_free(vnet_t *n);

/** Make @p node an endpoint (NULL: a scripted peer). */
void vnet_attach(vnet_t *n, int node, zcoap_ep_t *ep);
/** Set the application hooks of @p node (copied). */
void vnet_set_app(vnet_t *n, int node, const vnet_app_t *app);
/** Set the direction from @p node (copied). */
void vnet_set_link(vnet_t *n, int from, const vnet_link_t *link);
/** Arm (or with ZCOAP_NEVER disarm) @p node's application timer at absolute time @p at. */
void vnet_set_timer(vnet_t *n, int node, uint64_t at);

/** The virtual clock. */
uint64_t vnet_now(const vnet_t *n);

/** Put a datagram from @p from on the link (subject to its loss, delay, ...). */
void vnet_send(vnet_t *n, int from, const uint8_t *data, size_t len);
/** Forget every datagram in flight. */
void vnet_drop_in_flight(vnet_t *n);

/**
 * @brief Bring everything up to date at the current time: deliver due datagrams, fire due
 *        timers, drain events and outgoing datagrams, until nothing is left to do at "now".
 *        Call it after an API call on an endpoint (request, response, reset); never from an
 *        application hook (the hooks run inside it).
 */
void vnet_pump(vnet_t *n);

/** Earliest of: next delivery, each endpoint's deadline, each armed timer (ZCOAP_NEVER: none). */
uint64_t vnet_next_time(const vnet_t *n);

/**
 * @brief One driver step: pump, then move the clock to vnet_next_time() if that is at most
 *        @p limit (return true), else to @p limit, pumping there (return false).
 */
bool vnet_step(vnet_t *n, uint64_t limit);

/** Step until the clock reaches @p t (everything due at @p t included). */
void vnet_run_until(vnet_t *n, uint64_t t);

/** Step until nothing is left to happen, or the clock would pass @p limit. True when quiet. */
bool vnet_run_idle(vnet_t *n, uint64_t limit);

/* ---- logs ---------------------------------------------------------------------------------- */

/** Forget @p node's event log. */
void vnet_clear_log(vnet_t *n, int node);
/** Forget @p node's inbox. */
void vnet_clear_inbox(vnet_t *n, int node);
/** How many logged events of @p node are of @p kind. */
size_t vnet_count_events(const vnet_t *n, int node, zcoap_event_kind_t kind);
/** The first logged event of @p kind of @p node, or NULL. */
const vnet_event_rec_t *vnet_find_event(const vnet_t *n, int node, zcoap_event_kind_t kind);
/** Write @p node's log from entry @p from on as "t=2000 OUT_TIMEOUT, ..." into @p out (for
 *  failure messages). */
void vnet_format_log(const vnet_t *n, int node, size_t from, char *out, size_t cap);

/* ---- random sources for endpoints ------------------------------------------------------------ */

/** zcoap_rng_fn over a test_rng_t (@p ctx). */
int vnet_rng(void *ctx, uint8_t *out, size_t len);
/** zcoap_rng_fn that fills with the byte @p ctx points to (a uint8_t). */
int vnet_rng_const(void *ctx, uint8_t *out, size_t len);
/** zcoap_rng_fn that always fails (-1), for error paths. */
int vnet_rng_fail(void *ctx, uint8_t *out, size_t len);

#endif /* ZCOAP_TEST_VIRTUAL_NET_H */
