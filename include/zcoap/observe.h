/**
 * @file observe.h
 * @brief Observe (RFC 7641) building blocks of the core: the observer table of a server, the
 *        choice between CON and NON notifications, sequence numbers, and the client's
 *        freshness rule for notifications that arrive out of order.
 *
 * Heapless like the rest of the core: the table's slots are the caller's array, sized by the
 * caller. The table does not send anything; the adapter (or any driver) decides when to notify,
 * builds the notification as a separate response with the observer's token and an Observe
 * option carrying the resource's sequence number, and removes observers as RFC 7641 §3.6 and
 * §4.2 say (RST to a notification, a CON notification that timed out, GET with Observe=1, an
 * error response).
 */
#ifndef ZCOAP_OBSERVE_H
#define ZCOAP_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zcoap/config.h"
#include "zcoap/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Observe option values are 24-bit unsigned integers (RFC 7641 §2). */
#define ZCOAP_OBS_SEQ_MASK 0xFFFFFFu

/** Observe=0 in a GET/FETCH registers (RFC 7641 §2). */
#define ZCOAP_OBS_REGISTER 0
/** Observe=1 in a GET/FETCH deregisters (RFC 7641 §3.6). */
#define ZCOAP_OBS_DEREGISTER 1

/** RFC 7641 §4.5: a server sends a CON notification at least every 24 hours. */
#define ZCOAP_OBS_CON_MAX_INTERVAL_S 86400u

/** How long after Max-Age without a notification a client registers again (RFC 7641 §3.3.1). */
#define ZCOAP_OBS_RENEW_MARGIN_MS 2000u

/** The sequence number after @p seq, wrapping within 24 bits (RFC 7641 §4.4). */
static inline uint32_t zcoap_obs_seq_next(uint32_t seq)
{
    return (seq + 1u) & ZCOAP_OBS_SEQ_MASK;
}

/**
 * @brief RFC 7641 §3.4: is a notification (@p v2, received at @p t2_ms) fresher than the last
 *        one taken (@p v1, received at @p t1_ms)?
 *
 * True when v2 is ahead of v1 by less than 2^23 in 24-bit serial arithmetic, or when more than
 * 128 seconds passed between the two (the sequence number may have been reset meanwhile). A
 * client shows only fresher notifications and drops the others. Values above 24 bits are masked.
 * @param[in] v1 the Observe value of the last notification taken
 * @param[in] t1_ms when it was received, in milliseconds
 * @param[in] v2 the Observe value of the new notification
 * @param[in] t2_ms when it was received, in milliseconds (same clock)
 * @return true when the new one is fresher
 */
bool zcoap_obs_is_fresher(uint32_t v1, uint64_t t1_ms, uint32_t v2, uint64_t t2_ms);

/**
 * @brief What a request asks about observation.
 * @param[in] req a parsed request
 * @return ZCOAP_OBS_REGISTER or ZCOAP_OBS_DEREGISTER for a GET or FETCH carrying Observe 0 or 1;
 *         -1 for any other request (no Observe option, another method, or another value, which
 *         RFC 7641 §2 leaves without meaning in a request: served as if absent).
 */
int zcoap_obs_request_action(const zcoap_msg_t *req);

/** One observer: a client endpoint (the driver's peer) and the token it registered with. */
typedef struct zcoap_observer {
    const void *resource; /**< what is observed (e.g. its zcoap_resource_t) */
    void *peer;           /**< the driver's handle of the client endpoint */
    uint64_t last_con_ms; /**< when the last CON notification (or the registration) went out */
    uint16_t since_con;   /**< notifications sent NON since then */
    uint8_t token[ZCOAP_MAX_TOKEN_LEN]; /**< the registration's token, token_len bytes */
    uint8_t token_len;                  /**< 0-8 */
    bool in_use;                        /**< the slot holds an observer */
} zcoap_observer_t;

/** An observer table over the caller's slots. */
typedef struct zcoap_obs_table {
    zcoap_observer_t *slots; /**< the caller's array of observers */
    size_t cap;              /**< its length */
    size_t used;             /**< observers registered */
} zcoap_obs_table_t;

/**
 * @brief Initialise @p t over @p slots (@p cap of them, cleared here).
 * @param[out] t the table
 * @param[in] slots the caller's array; it must outlive the table
 * @param[in] cap its length
 * @retval 0, ZCOAP_EINVAL
 */
int zcoap_obs_table_init(zcoap_obs_table_t *t, zcoap_observer_t *slots, size_t cap);

/**
 * @brief Register the observer (@p peer, @p token) of @p resource (RFC 7641 §4.1).
 *
 * An entry with the same peer and token is updated rather than added: a client renewing its
 * registration (§3.3.1), possibly now for another resource. Its CON counters start over.
 * @param[in,out] t the table
 * @param[in] resource what is observed (any pointer that names it, e.g. its zcoap_resource_t)
 * @param[in] peer the driver's handle of the client endpoint (compared, never dereferenced)
 * @param[in] token the token of the registering request (copied)
 * @param[in] token_len its length, 0-8 bytes
 * @param[in] now_ms the current time in milliseconds: the 24-hour CON rule counts from here
 * @param[out] out the entry (may be NULL)
 * @retval 0, ZCOAP_EINVAL, ZCOAP_ENOSPC (the table is full: serve the GET without Observe, as
 *         §4.1 allows)
 */
int zcoap_obs_register(zcoap_obs_table_t *t, const void *resource, void *peer, const uint8_t *token,
                       size_t token_len, uint64_t now_ms, zcoap_observer_t **out);

/**
 * @brief The entry of (@p peer, @p token), or NULL.
 * @param[in] t the table
 * @param[in] peer the driver's handle of the client endpoint
 * @param[in] token the token
 * @param[in] token_len its length, 0-8 bytes
 * @return the entry, or NULL
 */
zcoap_observer_t *zcoap_obs_find(const zcoap_obs_table_t *t, const void *peer, const uint8_t *token,
                                 size_t token_len);

/**
 * @brief Remove (@p peer, @p token).
 * @param[in,out] t the table
 * @param[in] peer the driver's handle of the client endpoint
 * @param[in] token the token
 * @param[in] token_len its length, 0-8 bytes
 * @retval 0, ZCOAP_ENOTFOUND, ZCOAP_EINVAL
 */
int zcoap_obs_remove(zcoap_obs_table_t *t, const void *peer, const uint8_t *token,
                     size_t token_len);

/**
 * @brief Remove the entry @p o of @p t (found or registered before): O(1), for a driver that
 *        keeps its own index.
 * @param[in,out] t the table
 * @param[in,out] o the entry, freed for reuse
 * @retval 0, ZCOAP_EINVAL (not an entry of @p t in use)
 */
int zcoap_obs_remove_entry(zcoap_obs_table_t *t, zcoap_observer_t *o);

/**
 * @brief Remove every observer of @p peer (the peer went away).
 * @param[in,out] t the table
 * @param[in] peer the driver's handle of the client endpoint
 * @return how many were removed
 */
size_t zcoap_obs_remove_peer(zcoap_obs_table_t *t, const void *peer);

/**
 * @brief Remove every observer of @p resource (after they were sent the resource's final
 *        answer, e.g. 4.04 when it is deleted, §3.2).
 * @param[in,out] t the table
 * @param[in] resource the resource
 * @return how many were removed
 */
size_t zcoap_obs_remove_resource(zcoap_obs_table_t *t, const void *resource);

/**
 * @brief Iterate over the observers of @p resource (NULL: all observers).
 * @param[in] t the table
 * @param[in] resource the resource whose observers are wanted, or NULL for all
 * @param[in,out] cursor 0 to start; the next call continues after the entry returned. Removing
 *                the returned entry during the iteration is allowed.
 * @return the next observer, or NULL at the end
 */
zcoap_observer_t *zcoap_obs_next(const zcoap_obs_table_t *t, const void *resource, size_t *cursor);

/** How often notifications are confirmable. */
typedef struct zcoap_obs_policy {
    /** 0: NON but for the 24-hour rule; 1: always CON; N: at least every N-th is CON */
    uint16_t con_every;
    /** a CON at least this often, in seconds (RFC 7641 §4.5 asks for 24 hours at most) */
    uint32_t con_max_interval_s;
} zcoap_obs_policy_t;

/**
 * @brief Whether the next notification to @p o goes CON, under @p policy; counts it as sent.
 *        A NULL @p policy means NON with a CON every 24 hours.
 * @param[in,out] o the observer; its counters are updated
 * @param[in] policy the policy, or NULL
 * @param[in] now_ms the current time in milliseconds
 * @return true: send it CON; false: NON
 */
bool zcoap_obs_next_is_confirmable(zcoap_observer_t *o, const zcoap_obs_policy_t *policy,
                                   uint64_t now_ms);

#ifdef __cplusplus
}
#endif

#endif /* ZCOAP_OBSERVE_H */
