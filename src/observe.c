/* Observe (RFC 7641) building blocks: the observer table, the CON/NON choice, the freshness
 * rule of §3.4. */
#include <string.h>

#include "zcoap/observe.h"

/* §3.4: 2^23 in 24-bit serial arithmetic, and 128 seconds. */
#define SERIAL_HALF (1u << 23)
#define FRESHNESS_WINDOW_MS 128000u

bool zcoap_obs_is_fresher(uint32_t v1, uint64_t t1_ms, uint32_t v2, uint64_t t2_ms)
{
    v1 &= ZCOAP_OBS_SEQ_MASK;
    v2 &= ZCOAP_OBS_SEQ_MASK;
    if (v1 < v2 && v2 - v1 < SERIAL_HALF)
        return true;
    if (v1 > v2 && v1 - v2 > SERIAL_HALF)
        return true;
    return t2_ms > t1_ms + FRESHNESS_WINDOW_MS;
}

int zcoap_obs_request_action(const zcoap_msg_t *req)
{
    if (req == NULL || (req->code != ZCOAP_GET && req->code != ZCOAP_FETCH))
        return -1;
    uint32_t value = 0;
    if (zcoap_msg_get_uint(req, ZCOAP_OPT_OBSERVE, &value) != ZCOAP_OK)
        return -1;
    if (value == ZCOAP_OBS_REGISTER || value == ZCOAP_OBS_DEREGISTER)
        return (int)value;
    return -1;
}

int zcoap_obs_table_init(zcoap_obs_table_t *t, zcoap_observer_t *slots, size_t cap)
{
    if (t == NULL || (slots == NULL && cap > 0))
        return ZCOAP_EINVAL;
    t->slots = slots;
    t->cap = cap;
    t->used = 0;
    if (cap > 0)
        memset(slots, 0, cap * sizeof(*slots));
    return ZCOAP_OK;
}

static bool same_key(const zcoap_observer_t *o, const void *peer, const uint8_t *token,
                     size_t token_len)
{
    return o->in_use && o->peer == peer && o->token_len == token_len &&
           (token_len == 0 || memcmp(o->token, token, token_len) == 0);
}

zcoap_observer_t *zcoap_obs_find(const zcoap_obs_table_t *t, const void *peer, const uint8_t *token,
                                 size_t token_len)
{
    if (t == NULL || token_len > ZCOAP_MAX_TOKEN_LEN || (token == NULL && token_len > 0))
        return NULL;
    for (size_t i = 0; i < t->cap; i++) {
        if (same_key(&t->slots[i], peer, token, token_len))
            return &t->slots[i];
    }
    return NULL;
}

int zcoap_obs_register(zcoap_obs_table_t *t, const void *resource, void *peer, const uint8_t *token,
                       size_t token_len, uint64_t now_ms, zcoap_observer_t **out)
{
    if (out != NULL)
        *out = NULL;
    if (t == NULL || token_len > ZCOAP_MAX_TOKEN_LEN || (token == NULL && token_len > 0))
        return ZCOAP_EINVAL;
    zcoap_observer_t *o = zcoap_obs_find(t, peer, token, token_len);
    if (o == NULL) {
        for (size_t i = 0; i < t->cap && o == NULL; i++) {
            if (!t->slots[i].in_use)
                o = &t->slots[i];
        }
        if (o == NULL)
            return ZCOAP_ENOSPC;
        t->used++;
    }
    o->in_use = true;
    o->resource = resource;
    o->peer = peer;
    o->token_len = (uint8_t)token_len;
    if (token_len > 0)
        memcpy(o->token, token, token_len);
    o->since_con = 0;
    o->last_con_ms = now_ms; /* the registration's answer showed the client is there */
    if (out != NULL)
        *out = o;
    return ZCOAP_OK;
}

static void drop(zcoap_obs_table_t *t, zcoap_observer_t *o)
{
    memset(o, 0, sizeof(*o));
    t->used--;
}

int zcoap_obs_remove(zcoap_obs_table_t *t, const void *peer, const uint8_t *token, size_t token_len)
{
    if (t == NULL || token_len > ZCOAP_MAX_TOKEN_LEN || (token == NULL && token_len > 0))
        return ZCOAP_EINVAL;
    zcoap_observer_t *o = zcoap_obs_find(t, peer, token, token_len);
    if (o == NULL)
        return ZCOAP_ENOTFOUND;
    drop(t, o);
    return ZCOAP_OK;
}

int zcoap_obs_remove_entry(zcoap_obs_table_t *t, zcoap_observer_t *o)
{
    if (t == NULL || o == NULL || o < t->slots || o >= t->slots + t->cap || !o->in_use)
        return ZCOAP_EINVAL;
    drop(t, o);
    return ZCOAP_OK;
}

size_t zcoap_obs_remove_peer(zcoap_obs_table_t *t, const void *peer)
{
    size_t n = 0;
    for (size_t i = 0; t != NULL && i < t->cap; i++) {
        if (t->slots[i].in_use && t->slots[i].peer == peer) {
            drop(t, &t->slots[i]);
            n++;
        }
    }
    return n;
}

size_t zcoap_obs_remove_resource(zcoap_obs_table_t *t, const void *resource)
{
    size_t n = 0;
    for (size_t i = 0; t != NULL && i < t->cap; i++) {
        if (t->slots[i].in_use && t->slots[i].resource == resource) {
            drop(t, &t->slots[i]);
            n++;
        }
    }
    return n;
}

zcoap_observer_t *zcoap_obs_next(const zcoap_obs_table_t *t, const void *resource, size_t *cursor)
{
    if (t == NULL || cursor == NULL)
        return NULL;
    while (*cursor < t->cap) {
        zcoap_observer_t *o = &t->slots[(*cursor)++];
        if (o->in_use && (resource == NULL || o->resource == resource))
            return o;
    }
    return NULL;
}

bool zcoap_obs_next_is_confirmable(zcoap_observer_t *o, const zcoap_obs_policy_t *policy,
                                   uint64_t now_ms)
{
    if (o == NULL)
        return false;
    uint16_t every = policy != NULL ? policy->con_every : 0u;
    uint32_t interval_s = policy != NULL && policy->con_max_interval_s != 0
                              ? policy->con_max_interval_s
                              : ZCOAP_OBS_CON_MAX_INTERVAL_S;
    bool con = every == 1u || (every > 1u && o->since_con + 1u >= every) ||
               now_ms >= o->last_con_ms + (uint64_t)interval_s * 1000u;
    if (con) {
        o->since_con = 0;
        o->last_con_ms = now_ms;
    } else if (o->since_con < UINT16_MAX) {
        o->since_con++;
    }
    return con;
}
