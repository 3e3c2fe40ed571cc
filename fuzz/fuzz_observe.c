/*
 * Fuzz target: Observe (RFC 7641) in the core, both sides.
 *
 * The input is a script. Server side: requests from four peers with fuzzer-chosen tokens,
 * methods and Observe values go through zcoap_obs_request_action() into an observer table of a
 * fuzzer-chosen capacity (register, re-register, deregister, a plain GET with an observer's
 * token, peers and resources going away, entries removed during a notification round); a
 * notification round of a resource steps its sequence number, asks the CON/NON policy and builds
 * each notification. Client side: one endpoint with observation slots registers, renews and
 * cancels observations under tags while the harness plays the server: it answers the
 * registration in flight and sends notifications (CON or NON, duplicates, errors, stale, old or
 * unknown tokens) with sequence numbers the fuzzer moves forward, back or far.
 *
 * Properties (observe.h, endpoint.h):
 * - the table never holds more than its capacity and agrees with a shadow model after every
 *   step: register succeeds exactly when the (peer, token) is known or a slot is free;
 * - a notification round reaches exactly the observers of the resource in the model, each once:
 *   a deregistered token, or one removed earlier in the round, gets no notification;
 * - sequence numbers advance by one modulo 2^24 (§4.4), every built notification parses and
 *   carries the observer's token and that number; the CON policy holds (con_every, interval);
 * - client: every datagram parses and fits msg_cap; a registration carries Observe 0 and a
 *   renewal the same token, an active cancel Observe 1 with it; OBS_NOTIFICATION comes only for
 *   an established tag, for a notification with its token just sent, and only when fresher than
 *   the last one taken by an independent §3.4 check; a CON notification of an established
 *   observation is acknowledged; zcoap_ep_observing() agrees with the model after every step.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz_target.h"
#include "zcoap/zcoap.h"

#define N_PEERS 4u
#define N_RES 3u
#define MAX_OBSERVERS 8u
#define N_TAGS 3u
#define MSG_CAP 256u

typedef struct script {
    const uint8_t *p;
    size_t left;
} script_t;

static uint8_t take(script_t *s)
{
    if (s->left == 0)
        return 0;
    s->left--;
    return *s->p++;
}

static uint32_t take24(script_t *s)
{
    uint32_t v = take(s);
    v = (v << 8) | take(s);
    return (v << 8) | take(s);
}

/* A token from the script: mostly from a small alphabet, so that tokens collide. */
static size_t take_token(script_t *s, uint8_t out[ZCOAP_MAX_TOKEN_LEN])
{
    uint8_t how = take(s);
    size_t len;
    if ((how & 0x80u) == 0) {
        len = how % 3u;
        memset(out, (how >> 2) & 3u, len);
        return len;
    }
    len = how % 9u;
    for (size_t i = 0; i < len; i++)
        out[i] = take(s);
    return len;
}

/* ---- server side: the observer table against a shadow model ------------------------------- */

typedef struct model_observer {
    bool in_use;
    unsigned res;
    unsigned peer;
    uint8_t token[ZCOAP_MAX_TOKEN_LEN];
    size_t token_len;
    uint32_t non_in_row;  /* NON notifications since the last CON (or the registration) */
    uint64_t last_con_ms; /* when the last CON (or the registration) went out */
    bool notified;        /* visited in the current round */
} model_observer_t;

typedef struct server {
    zcoap_obs_table_t table;
    zcoap_observer_t slots[MAX_OBSERVERS];
    model_observer_t model[MAX_OBSERVERS];
    size_t cap;
    uint32_t seq[N_RES];
    zcoap_obs_policy_t policy;
    bool use_policy;
    char peers[N_PEERS]; /* their addresses are the peer handles */
    char resources[N_RES];
    uint16_t mid;
} server_t;

static model_observer_t *model_find(server_t *sv, unsigned peer, const uint8_t *token,
                                    size_t token_len)
{
    for (size_t i = 0; i < MAX_OBSERVERS; i++) {
        model_observer_t *m = &sv->model[i];
        if (m->in_use && m->peer == peer && m->token_len == token_len &&
            memcmp(m->token, token, token_len) == 0)
            return m;
    }
    return NULL;
}

static size_t model_count(const server_t *sv)
{
    size_t n = 0;
    for (size_t i = 0; i < MAX_OBSERVERS; i++)
        n += sv->model[i].in_use ? 1u : 0u;
    return n;
}

static void model_drop(model_observer_t *m)
{
    memset(m, 0, sizeof(*m));
}

/* The table holds what the model holds, and no more than its capacity. */
static void check_table(server_t *sv)
{
    size_t n = model_count(sv);
    FUZZ_CHECK(n <= sv->cap);
    FUZZ_CHECK(sv->table.used == n);
    for (size_t i = 0; i < MAX_OBSERVERS; i++) {
        const model_observer_t *m = &sv->model[i];
        if (!m->in_use)
            continue;
        zcoap_observer_t *o =
            zcoap_obs_find(&sv->table, &sv->peers[m->peer], m->token, m->token_len);
        FUZZ_CHECK(o != NULL && o->resource == &sv->resources[m->res]);
    }
    size_t seen = 0;
    size_t cursor = 0;
    while (zcoap_obs_next(&sv->table, NULL, &cursor) != NULL)
        seen++;
    FUZZ_CHECK(seen == n);
}

static unsigned peer_index(const server_t *sv, const void *peer)
{
    return (unsigned)((const char *)peer - sv->peers);
}

static unsigned res_index(const server_t *sv, const void *res)
{
    return (unsigned)((const char *)res - sv->resources);
}

/* A request from a peer: built, parsed, and handled as a server application does. */
static void server_request(server_t *sv, script_t *s, uint64_t now)
{
    static const uint8_t methods[] = {ZCOAP_GET, ZCOAP_FETCH, ZCOAP_POST, ZCOAP_PUT, ZCOAP_DELETE};
    uint8_t how = take(s);
    unsigned peer = how % N_PEERS;
    unsigned res = ((how >> 2) & 3u) % N_RES;
    uint8_t method = methods[(how >> 4) % sizeof(methods)];
    uint8_t obs_how = take(s);
    uint8_t token[ZCOAP_MAX_TOKEN_LEN];
    size_t token_len = take_token(s, token);
    uint32_t obs_value = obs_how & 3u; /* 0, 1, 2 (no meaning in a request), 3: none */
    if ((obs_how & 4u) != 0)
        obs_value = take24(s);
    bool has_observe = (obs_how & 3u) != 3u || (obs_how & 4u) != 0;

    uint8_t buf[64];
    zcoap_builder_t b;
    zcoap_msg_t req;
    FUZZ_CHECK(zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, method, sv->mid++, token,
                                  token_len) == ZCOAP_OK);
    if (has_observe)
        FUZZ_CHECK(zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, obs_value) == ZCOAP_OK);
    (void)zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "r");
    ptrdiff_t n = zcoap_builder_finish(&b);
    FUZZ_CHECK(n > 0);
    FUZZ_CHECK(zcoap_msg_parse(&req, buf, (size_t)n) == ZCOAP_OK);

    bool fetch_or_get = method == ZCOAP_GET || method == ZCOAP_FETCH;
    int expected = -1;
    if (fetch_or_get && has_observe && (obs_value == 0u || obs_value == 1u))
        expected = (int)obs_value;
    int action = zcoap_obs_request_action(&req);
    FUZZ_CHECK(action == expected);

    model_observer_t *m = model_find(sv, peer, token, token_len);
    if (action == ZCOAP_OBS_REGISTER) {
        zcoap_observer_t *o = NULL;
        int rc = zcoap_obs_register(&sv->table, &sv->resources[res], &sv->peers[peer], req.token,
                                    req.token_len, now, &o);
        if (m == NULL && model_count(sv) >= sv->cap) {
            FUZZ_CHECK(rc == ZCOAP_ENOSPC && o == NULL); /* served as a plain GET (§4.1) */
            return;
        }
        FUZZ_CHECK(rc == ZCOAP_OK && o != NULL);
        FUZZ_CHECK(o->token_len == token_len && memcmp(o->token, token, token_len) == 0);
        if (m == NULL) {
            for (size_t i = 0; i < MAX_OBSERVERS && m == NULL; i++) {
                if (!sv->model[i].in_use)
                    m = &sv->model[i];
            }
            FUZZ_CHECK(m != NULL);
        }
        m->in_use = true; /* a re-registration (§3.3.1) updates the entry, maybe its resource */
        m->res = res;
        m->peer = peer;
        memcpy(m->token, token, token_len);
        m->token_len = token_len;
        m->non_in_row = 0;
        m->last_con_ms = now;
    } else if (fetch_or_get) {
        /* §3.6: Observe 1, and (as the adapter does) a GET without it, with the token ends it. */
        int rc = zcoap_obs_remove(&sv->table, &sv->peers[peer], req.token, req.token_len);
        FUZZ_CHECK(rc == (m != NULL ? ZCOAP_OK : ZCOAP_ENOTFOUND));
        if (m != NULL)
            model_drop(m);
    }
}

/* One notification round of a resource: the new number goes to each of its observers. */
static void server_notify(server_t *sv, script_t *s, uint64_t now)
{
    uint8_t how = take(s);
    unsigned res = how % N_RES;
    uint8_t remove_mask = take(s); /* observers answering RST (§3.6) or timing out (§4.5) */
    uint32_t before = sv->seq[res];
    sv->seq[res] = zcoap_obs_seq_next(sv->seq[res]);
    FUZZ_CHECK(sv->seq[res] <= ZCOAP_OBS_SEQ_MASK);
    FUZZ_CHECK(sv->seq[res] == ((before + 1u) & 0xFFFFFFu));
    FUZZ_CHECK(zcoap_obs_is_fresher(before, now, sv->seq[res], now));

    for (size_t i = 0; i < MAX_OBSERVERS; i++)
        sv->model[i].notified = false;
    size_t cursor = 0;
    size_t visited = 0;
    zcoap_observer_t *o;
    while ((o = zcoap_obs_next(&sv->table, &sv->resources[res], &cursor)) != NULL) {
        FUZZ_CHECK(o->in_use && o->resource == &sv->resources[res]);
        model_observer_t *m =
            model_find(sv, peer_index(sv, o->peer), o->token, (size_t)o->token_len);
        FUZZ_CHECK(m != NULL && m->res == res && !m->notified);
        m->notified = true;

        bool con = zcoap_obs_next_is_confirmable(o, sv->use_policy ? &sv->policy : NULL, now);
        uint16_t every = sv->use_policy ? sv->policy.con_every : 0u;
        uint32_t interval_s = sv->use_policy && sv->policy.con_max_interval_s != 0
                                  ? sv->policy.con_max_interval_s
                                  : ZCOAP_OBS_CON_MAX_INTERVAL_S;
        if (every == 1u || now >= m->last_con_ms + (uint64_t)interval_s * 1000u)
            FUZZ_CHECK(con);
        if (every > 1u && m->non_in_row + 1u >= every)
            FUZZ_CHECK(con); /* at least every N-th goes CON */
        if (every == 0u && now < m->last_con_ms + (uint64_t)interval_s * 1000u)
            FUZZ_CHECK(!con);
        if (con) {
            m->non_in_row = 0;
            m->last_con_ms = now;
        } else {
            m->non_in_row++;
        }

        /* §4.2: a separate response with the token of the registration and the number. */
        uint8_t buf[64];
        zcoap_builder_t b;
        zcoap_msg_t ntf;
        uint32_t value = 0;
        FUZZ_CHECK(zcoap_builder_init(&b, buf, sizeof(buf), con ? ZCOAP_TYPE_CON : ZCOAP_TYPE_NON,
                                      ZCOAP_CONTENT, sv->mid++, o->token,
                                      o->token_len) == ZCOAP_OK);
        FUZZ_CHECK(zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, sv->seq[res]) == ZCOAP_OK);
        FUZZ_CHECK(zcoap_builder_set_payload(&b, "v", 1) == ZCOAP_OK);
        ptrdiff_t n = zcoap_builder_finish(&b);
        FUZZ_CHECK(n > 0 && zcoap_msg_parse(&ntf, buf, (size_t)n) == ZCOAP_OK);
        FUZZ_CHECK(ntf.token_len == m->token_len && memcmp(ntf.token, m->token, m->token_len) == 0);
        FUZZ_CHECK(zcoap_msg_get_uint(&ntf, ZCOAP_OPT_OBSERVE, &value) == ZCOAP_OK);
        FUZZ_CHECK(value == sv->seq[res]);

        if (((unsigned)remove_mask >> (visited % 8u)) & 1u) {
            FUZZ_CHECK(zcoap_obs_remove_entry(&sv->table, o) == ZCOAP_OK);
            FUZZ_CHECK(zcoap_obs_remove_entry(&sv->table, o) == ZCOAP_EINVAL);
            model_drop(m);
        }
        visited++;
        FUZZ_CHECK(visited <= MAX_OBSERVERS);
    }
    for (size_t i = 0; i < MAX_OBSERVERS; i++) {
        const model_observer_t *m = &sv->model[i];
        if (m->in_use && m->res == res)
            FUZZ_CHECK(m->notified); /* every observer still there was reached */
    }
}

static void server_remove(server_t *sv, script_t *s)
{
    uint8_t how = take(s);
    unsigned k = (how >> 2) & 3u; /* a peer (N_PEERS is 4) */
    size_t expected = 0;
    if ((how & 3u) == 0) { /* the peer went away */
        for (size_t i = 0; i < MAX_OBSERVERS; i++) {
            if (sv->model[i].in_use && sv->model[i].peer == k) {
                model_drop(&sv->model[i]);
                expected++;
            }
        }
        FUZZ_CHECK(zcoap_obs_remove_peer(&sv->table, &sv->peers[k]) == expected);
    } else if ((how & 3u) == 1u) { /* the resource is gone (§3.2) */
        k = ((how >> 2) & 3u) % N_RES;
        for (size_t i = 0; i < MAX_OBSERVERS; i++) {
            if (sv->model[i].in_use && sv->model[i].res == k) {
                model_drop(&sv->model[i]);
                expected++;
            }
        }
        FUZZ_CHECK(zcoap_obs_remove_resource(&sv->table, &sv->resources[k]) == expected);
    } else { /* the k-th entry of a walk over all of them, removed by pointer */
        size_t cursor = 0;
        zcoap_observer_t *o = zcoap_obs_next(&sv->table, NULL, &cursor);
        for (unsigned i = 0; i < (unsigned)(how >> 2) && o != NULL; i++)
            o = zcoap_obs_next(&sv->table, NULL, &cursor);
        if (o == NULL) {
            /* a slot not in use is no entry (observe.h) */
            for (size_t i = 0; i < sv->cap; i++) {
                if (!sv->slots[i].in_use)
                    FUZZ_CHECK(zcoap_obs_remove_entry(&sv->table, &sv->slots[i]) == ZCOAP_EINVAL);
            }
            return;
        }
        model_observer_t *m =
            model_find(sv, peer_index(sv, o->peer), o->token, (size_t)o->token_len);
        FUZZ_CHECK(m != NULL && m->res == res_index(sv, o->resource));
        FUZZ_CHECK(zcoap_obs_remove_entry(&sv->table, o) == ZCOAP_OK);
        model_drop(m);
    }
}

/* ---- client side: an endpoint's observations, the harness plays the server ---------------- */

enum { TAG_NONE, TAG_REGISTERING, TAG_ESTABLISHED };

typedef struct model_tag {
    uint8_t state;
    uint8_t token[ZCOAP_MAX_TOKEN_LEN];
    size_t token_len;
    uint32_t last_seq; /* the freshest notification taken, and when */
    uint64_t last_ms;
    uint64_t renew_ms; /* when OBS_RENEW is due, or ZCOAP_NEVER once reported */
    uint32_t server_seq;
} model_tag_t;

typedef struct client {
    zcoap_ep_t ep;
    zcoap_ep_storage_t storage;
    zcoap_ep_observation_t observations[N_TAGS];
    uint64_t rng_state;
    model_tag_t tags[N_TAGS];
    /* our request in flight, as the harness (the server) saw it */
    bool req_valid;
    uint8_t req[MSG_CAP];
    size_t req_len;
    int req_tag;    /* the tag it registers or renews, or -1 */
    bool req_acked; /* the harness sent an empty ACK: the answer goes separate */
    uint16_t server_mid;
    /* what the harness sent last, for the events it causes */
    const uint8_t *ntf_token;
    size_t ntf_token_len;
    bool ntf_fresh_expected;
    bool ntf_ends;
    unsigned ntf_owners; /* bit per tag whose established observation has that token */
    /* Empty ACKs and RSTs pulled in the last drive */
    uint16_t acked[8], reset[8];
    size_t n_acked, n_reset;
    uint8_t rx[MSG_CAP];
} client_t;

/* RFC 7641 §3.4, written out again: V2 newer than V1 in 24-bit serial arithmetic, or more than
 * 128 seconds later. */
static bool rfc_fresher(uint32_t v1, uint64_t t1, uint32_t v2, uint64_t t2)
{
    const uint32_t half = 1u << 23;
    return (v1 < v2 && v2 - v1 < half) || (v1 > v2 && v1 - v2 > half) || t2 > t1 + 128000u;
}

static int fuzz_rng(void *ctx, uint8_t *out, size_t len)
{
    uint64_t *state = ctx;
    for (size_t i = 0; i < len; i++) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = (uint8_t)(*state >> 56);
    }
    return 0;
}

static bool trace; /* FUZZ_TRACE=1 in the environment: print the client's events */

static void on_event(client_t *c, const zcoap_event_t *ev, uint64_t now)
{
    if (trace)
        fprintf(stderr, "t=%llu %s tag %u\n", (unsigned long long)now, zcoap_event_name(ev->kind),
                (unsigned)ev->tag);
    FUZZ_CHECK(ev->kind > ZCOAP_EV_NONE && ev->kind <= ZCOAP_EV_OBS_RENEW);
    switch (ev->kind) {
    case ZCOAP_EV_OBS_NOTIFICATION: {
        FUZZ_CHECK(ev->tag < N_TAGS && ev->has_msg);
        model_tag_t *t = &c->tags[ev->tag];
        uint32_t seq = 0;
        FUZZ_CHECK(t->state == TAG_ESTABLISHED);
        FUZZ_CHECK(c->ntf_token != NULL && ((c->ntf_owners >> ev->tag) & 1u) != 0);
        FUZZ_CHECK(ev->msg.token_len == t->token_len &&
                   memcmp(ev->msg.token, t->token, t->token_len) == 0);
        FUZZ_CHECK(zcoap_msg_get_uint(&ev->msg, ZCOAP_OPT_OBSERVE, &seq) == ZCOAP_OK);
        FUZZ_CHECK(rfc_fresher(t->last_seq, t->last_ms, seq & 0xFFFFFFu, now));
        FUZZ_CHECK(c->ntf_fresh_expected);
        c->ntf_fresh_expected = false; /* one notification, one event */
        uint32_t max_age = 60;
        (void)zcoap_msg_get_uint(&ev->msg, ZCOAP_OPT_MAX_AGE, &max_age);
        t->last_seq = seq & 0xFFFFFFu;
        t->last_ms = now;
        t->renew_ms = now + (uint64_t)max_age * 1000u + ZCOAP_OBS_RENEW_MARGIN_MS;
        break;
    }
    case ZCOAP_EV_OBS_ENDED: /* §3.2: an error, or a notification without Observe */
        FUZZ_CHECK(ev->tag < N_TAGS && c->tags[ev->tag].state == TAG_ESTABLISHED);
        FUZZ_CHECK(c->ntf_token != NULL && ((c->ntf_owners >> ev->tag) & 1u) != 0 && c->ntf_ends);
        c->tags[ev->tag].state = TAG_NONE;
        break;
    case ZCOAP_EV_OBS_RENEW: {
        FUZZ_CHECK(ev->tag < N_TAGS);
        model_tag_t *t = &c->tags[ev->tag];
        FUZZ_CHECK(t->state == TAG_ESTABLISHED && t->renew_ms != ZCOAP_NEVER);
        FUZZ_CHECK(now >= t->renew_ms);
        t->renew_ms = ZCOAP_NEVER;
        break;
    }
    case ZCOAP_EV_OUT_RESPONSE:
        FUZZ_CHECK(c->req_valid && ev->has_msg);
        c->req_valid = false;
        if (c->req_tag >= 0) { /* our registration or renewal got its answer */
            model_tag_t *t = &c->tags[c->req_tag];
            uint32_t seq = 0;
            bool ok = (ev->msg.code >> 5) == 2u &&
                      zcoap_msg_get_uint(&ev->msg, ZCOAP_OPT_OBSERVE, &seq) == ZCOAP_OK;
            if (!ok) {
                t->state = TAG_NONE; /* §3.1: not taken, or ended (§3.2) */
            } else {
                uint32_t max_age = 60; /* RFC 7252 §5.10.5 */
                (void)zcoap_msg_get_uint(&ev->msg, ZCOAP_OPT_MAX_AGE, &max_age);
                if (t->state != TAG_ESTABLISHED ||
                    rfc_fresher(t->last_seq, t->last_ms, seq & 0xFFFFFFu, now)) {
                    t->last_seq = seq & 0xFFFFFFu;
                    t->last_ms = now;
                }
                t->state = TAG_ESTABLISHED;
                t->renew_ms = now + (uint64_t)max_age * 1000u + ZCOAP_OBS_RENEW_MARGIN_MS;
                t->server_seq = seq;
            }
        }
        c->req_tag = -1;
        break;
    case ZCOAP_EV_OUT_TIMEOUT:
    case ZCOAP_EV_OUT_RESET:
        /* A registration or renewal that ends without an answer ends the observation. */
        FUZZ_CHECK(c->req_valid);
        if (c->req_tag >= 0)
            c->tags[c->req_tag].state = TAG_NONE;
        c->req_valid = false;
        c->req_tag = -1;
        break;
    default:
        break;
    }
}

/* The driver loop of endpoint.h with the invariants; collects our request for the harness. */
static void client_drive(client_t *c, uint64_t now)
{
    zcoap_event_t ev;
    int guard = 0;
    while (zcoap_ep_process(&c->ep, now, &ev) == 1) {
        on_event(c, &ev, now);
        FUZZ_CHECK(++guard < 64);
    }
    c->ntf_token = NULL;
    c->n_acked = c->n_reset = 0;
    const uint8_t *p;
    ptrdiff_t n;
    guard = 0;
    while ((n = zcoap_ep_next_datagram(&c->ep, now, &p)) > 0) {
        zcoap_msg_t msg;
        FUZZ_CHECK((size_t)n <= c->ep.cfg.msg_cap);
        FUZZ_CHECK(zcoap_msg_parse(&msg, p, (size_t)n) == ZCOAP_OK);
        if (msg.code == ZCOAP_CODE_EMPTY && msg.type == ZCOAP_TYPE_ACK && c->n_acked < 8)
            c->acked[c->n_acked++] = msg.mid;
        if (msg.code == ZCOAP_CODE_EMPTY && msg.type == ZCOAP_TYPE_RST && c->n_reset < 8)
            c->reset[c->n_reset++] = msg.mid;
        if ((msg.code >> 5) == 0u && msg.code != ZCOAP_CODE_EMPTY) { /* our request */
            memcpy(c->req, p, (size_t)n);
            c->req_len = (size_t)n;
            c->req_valid = true;
        }
        FUZZ_CHECK(++guard < 64);
    }
    FUZZ_CHECK(n == 0);
    uint64_t d = zcoap_ep_next_deadline(&c->ep);
    FUZZ_CHECK(d == ZCOAP_NEVER || d > now);
    for (uint32_t tag = 0; tag < N_TAGS; tag++)
        FUZZ_CHECK(zcoap_ep_observing(&c->ep, tag) == (c->tags[tag].state == TAG_ESTABLISHED));
}

static bool pulled(const uint16_t *mids, size_t n, uint16_t mid)
{
    for (size_t i = 0; i < n; i++) {
        if (mids[i] == mid)
            return true;
    }
    return false;
}

/* Register (or renew) tag, or cancel it passively or actively. */
static void client_observe(client_t *c, script_t *s, uint64_t now)
{
    uint8_t how = take(s);
    uint32_t tag = (how & 3u) % N_TAGS;
    model_tag_t *t = &c->tags[tag];
    zcoap_builder_t b;
    zcoap_msg_t req;
    uint32_t value = 99;
    bool cancel = (how & 0x10u) != 0;
    bool active = (how & 0x20u) != 0;
    bool renewal = t->state == TAG_ESTABLISHED;
    bool in_flight = c->req_valid;
    int rc;
    if (cancel) {
        rc = zcoap_ep_observe_cancel(&c->ep, tag, active ? &b : NULL);
        if (t->state == TAG_NONE) {
            FUZZ_CHECK(rc == ZCOAP_ENOTFOUND);
            return;
        }
        if (rc != ZCOAP_OK) {
            FUZZ_CHECK(active && rc == ZCOAP_EBUSY && in_flight); /* kept (endpoint.h) */
            return;
        }
        if (c->req_tag == (int)tag)
            c->req_tag = -1;
        t->state = TAG_NONE;
        if (!active)
            return;
    } else {
        size_t used = 0;
        for (unsigned i = 0; i < N_TAGS; i++)
            used += c->tags[i].state != TAG_NONE ? 1u : 0u;
        bool slot = t->state != TAG_NONE || used < c->ep.cfg.observations_cap;
        rc = zcoap_ep_observe_begin(&c->ep, (how & 0x40u) ? ZCOAP_FETCH : ZCOAP_GET, tag, &b);
        if (in_flight)
            FUZZ_CHECK(rc == ZCOAP_EBUSY); /* NSTART = 1 */
        else
            FUZZ_CHECK(rc == (slot ? ZCOAP_OK : ZCOAP_ENOSPC));
        if (rc != ZCOAP_OK)
            return;
    }
    (void)zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "obs");
    c->req_valid = false;
    FUZZ_CHECK(zcoap_ep_request_send(&c->ep, &b, 0, now) == ZCOAP_OK);
    c->req_acked = false;
    client_drive(c, now);
    FUZZ_CHECK(c->req_valid);
    FUZZ_CHECK(zcoap_msg_parse(&req, c->req, c->req_len) == ZCOAP_OK);
    FUZZ_CHECK(req.type == ZCOAP_TYPE_CON);
    FUZZ_CHECK(zcoap_msg_get_uint(&req, ZCOAP_OPT_OBSERVE, &value) == ZCOAP_OK);
    if (cancel) {
        FUZZ_CHECK(value == ZCOAP_OBS_DEREGISTER);
        FUZZ_CHECK(req.token_len == t->token_len && memcmp(req.token, t->token, t->token_len) == 0);
        c->req_tag = -1;
        return;
    }
    FUZZ_CHECK(value == ZCOAP_OBS_REGISTER);
    if (renewal) /* §3.3.1: the same token */
        FUZZ_CHECK(req.token_len == t->token_len && memcmp(req.token, t->token, t->token_len) == 0);
    else
        t->state = TAG_REGISTERING;
    memcpy(t->token, req.token, req.token_len);
    t->token_len = req.token_len;
    c->req_tag = (int)tag;
}

/* The harness's server answers our request in flight. */
static void client_answer(client_t *c, script_t *s, uint64_t now)
{
    uint8_t how = take(s);
    uint32_t seq = take24(s);
    zcoap_msg_t req;
    if (!c->req_valid || zcoap_msg_parse(&req, c->req, c->req_len) != ZCOAP_OK)
        return;
    if ((how & 3u) == 3u && !c->req_acked) { /* empty ACK: the answer comes separate */
        FUZZ_CHECK(zcoap_build_empty(c->rx, sizeof(c->rx), ZCOAP_TYPE_ACK, req.mid) == 4);
        FUZZ_CHECK(zcoap_ep_receive(&c->ep, c->rx, 4, now) == ZCOAP_OK);
        c->req_acked = true;
        client_drive(c, now);
        return;
    }
    static const uint8_t codes[] = {ZCOAP_CONTENT, ZCOAP_VALID, ZCOAP_NOT_FOUND,
                                    ZCOAP_INTERNAL_SERVER_ERROR};
    uint8_t code = codes[(how >> 2) % 4u];
    bool separate = c->req_acked;
    uint8_t type = separate ? ((how & 0x20u) ? ZCOAP_TYPE_NON : ZCOAP_TYPE_CON) : ZCOAP_TYPE_ACK;
    zcoap_builder_t b;
    FUZZ_CHECK(zcoap_builder_init(&b, c->rx, sizeof(c->rx), type, code,
                                  separate ? ++c->server_mid : req.mid, req.token,
                                  req.token_len) == ZCOAP_OK);
    if ((how & 0x10u) != 0)
        FUZZ_CHECK(zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, seq) == ZCOAP_OK);
    if ((how & 0x40u) != 0)
        FUZZ_CHECK(zcoap_builder_add_uint(&b, ZCOAP_OPT_MAX_AGE, how >> 7) == ZCOAP_OK);
    ptrdiff_t n = zcoap_builder_finish(&b);
    FUZZ_CHECK(n > 0);
    FUZZ_CHECK(zcoap_ep_receive(&c->ep, c->rx, (size_t)n, now) == ZCOAP_OK);
    client_drive(c, now);
    FUZZ_CHECK(!c->req_valid); /* it answered our request */
}

/* The harness's server sends a notification with a tag's token (or another one). */
static void client_notification(client_t *c, script_t *s, uint64_t now)
{
    uint8_t how = take(s);
    uint8_t step = take(s);
    unsigned tag = (how & 3u) % N_TAGS;
    model_tag_t *t = &c->tags[tag];
    uint8_t token[ZCOAP_MAX_TOKEN_LEN];
    size_t token_len;
    if ((how & 0x04u) != 0) {
        token_len = take_token(s, token);
    } else {
        memcpy(token, t->token, t->token_len); /* maybe of a cancelled observation */
        token_len = t->token_len;
    }
    /* The number moves forward a little, stays, goes back, or jumps far. */
    switch ((how >> 3) & 3u) {
    case 0:
        t->server_seq += step;
        break;
    case 1:
        t->server_seq -= step;
        break;
    case 2:
        t->server_seq += (uint32_t)step << 16;
        break;
    default:
        break;
    }
    t->server_seq &= 0xFFFFFFu;
    bool con = (how & 0x20u) != 0;
    bool error = (how & 0xC0u) == 0xC0u;
    bool no_observe = (how & 0xC0u) == 0x80u;
    bool new_mid = (step & 1u) == 0u; /* else a copy of the last message (same ID) */
    if (new_mid)
        c->server_mid++;
    zcoap_builder_t b;
    FUZZ_CHECK(zcoap_builder_init(&b, c->rx, sizeof(c->rx), con ? ZCOAP_TYPE_CON : ZCOAP_TYPE_NON,
                                  error ? ZCOAP_NOT_FOUND : ZCOAP_CONTENT, c->server_mid, token,
                                  token_len) == ZCOAP_OK);
    if (!error && !no_observe)
        FUZZ_CHECK(zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, t->server_seq) == ZCOAP_OK);
    if ((step & 0x80u) != 0)
        FUZZ_CHECK(zcoap_builder_add_uint(&b, ZCOAP_OPT_MAX_AGE, step & 7u) == ZCOAP_OK);
    FUZZ_CHECK(zcoap_builder_set_payload(&b, "n", 1) == ZCOAP_OK);
    ptrdiff_t n = zcoap_builder_finish(&b);
    FUZZ_CHECK(n > 0);

    zcoap_msg_t req;
    bool answers_request = c->req_valid && zcoap_msg_parse(&req, c->req, c->req_len) == ZCOAP_OK &&
                           req.token_len == token_len && memcmp(req.token, token, token_len) == 0;
    /* Which established observations have this token (none: a stranger's notification). Two
     * may share one when tokens are empty (token_len 0): either may take it. */
    unsigned owners = 0;
    int owner = -1;
    for (unsigned i = 0; i < N_TAGS && !answers_request; i++) {
        const model_tag_t *o = &c->tags[i];
        if (o->state == TAG_ESTABLISHED && o->token_len == token_len &&
            memcmp(o->token, token, token_len) == 0) {
            owners |= 1u << i;
            owner = (int)i;
        }
    }
    bool single = owner >= 0 && owners == (1u << owner);
    bool fresh = single && !error && !no_observe &&
                 rfc_fresher(c->tags[owner].last_seq, c->tags[owner].last_ms, t->server_seq, now);
    c->ntf_token = answers_request ? NULL : token;
    c->ntf_token_len = token_len;
    c->ntf_owners = owners;
    c->ntf_fresh_expected = fresh || (owners != 0 && !single && !error && !no_observe);
    c->ntf_ends = owner >= 0 && (error || no_observe);
    FUZZ_CHECK(zcoap_ep_receive(&c->ep, c->rx, (size_t)n, now) == ZCOAP_OK);
    client_drive(c, now);
    if (answers_request) {
        FUZZ_CHECK(!c->req_valid); /* a separate response may overtake the ACK (§5.2.2) */
        return;
    }
    if (fresh && new_mid)
        FUZZ_CHECK(!c->ntf_fresh_expected); /* delivered */
    if (con && owner >= 0)
        FUZZ_CHECK(pulled(c->acked, c->n_acked, c->server_mid)); /* every copy (§4.5) */
    if (con && owner < 0 && new_mid)
        FUZZ_CHECK(pulled(c->reset, c->n_reset, c->server_mid)); /* §3.6: unknown token */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static server_t sv;
    static client_t c;
    script_t s = {data, size};
    uint64_t now = 1000;
    const char *env = getenv("FUZZ_TRACE");
    trace = env != NULL && env[0] == '1';

    memset(&sv, 0, sizeof(sv));
    uint8_t setup = take(&s);
    sv.cap = setup % (MAX_OBSERVERS + 1u);
    sv.use_policy = (setup & 0x10u) != 0;
    sv.policy.con_every = (uint16_t)(take(&s) % 5u);
    sv.policy.con_max_interval_s = take(&s);
    sv.seq[0] = 0xFFFFFEu; /* one resource starts next to the wrap-around (§4.4) */
    FUZZ_CHECK(zcoap_obs_table_init(&sv.table, sv.slots, sv.cap) == ZCOAP_OK);

    memset(&c, 0, sizeof(c));
    c.rng_state = 7641;
    c.req_tag = -1;
    zcoap_ep_config_t cfg;
    zcoap_ep_config_default(&cfg, &c.storage);
    cfg.rng = fuzz_rng;
    cfg.rng_ctx = &c.rng_state;
    cfg.token_len = (uint8_t)(take(&s) % 9u);
    cfg.msg_cap = MSG_CAP;
    cfg.observations = c.observations;
    cfg.observations_cap = 1u + (setup >> 6) % N_TAGS;
    FUZZ_CHECK(zcoap_ep_init(&c.ep, &cfg, now) == ZCOAP_OK);

    while (s.left > 0) {
        uint8_t op = take(&s);
        switch (op % 10u) {
        case 0:
            server_request(&sv, &s, now);
            break;
        case 1:
            server_notify(&sv, &s, now);
            break;
        case 2:
            server_remove(&sv, &s);
            break;
        case 3: /* time passes: milliseconds to about a day (§4.5's 24 hours) */
            now += (uint64_t)take(&s) << (take(&s) % 28u);
            break;
        case 4: { /* the client's next deadline */
            uint64_t d = zcoap_ep_next_deadline(&c.ep);
            if (d != ZCOAP_NEVER && d > now)
                now = d;
            break;
        }
        case 5:
            client_observe(&c, &s, now);
            break;
        case 6:
            client_answer(&c, &s, now);
            break;
        case 7:
        case 8:
            client_notification(&c, &s, now);
            break;
        default: /* the application abandons the request in flight */
            FUZZ_CHECK(zcoap_ep_cancel(&c.ep) == ZCOAP_OK);
            if (c.req_valid && c.req_tag >= 0)
                c.tags[c.req_tag].state = TAG_NONE; /* a registration that got no answer */
            c.req_valid = false;
            c.req_tag = -1;
            break;
        }
        check_table(&sv);
        client_drive(&c, now);
    }
    return 0;
}
