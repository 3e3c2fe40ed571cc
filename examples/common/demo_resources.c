/* The demo servers' resources (demo_resources.h). */
#define _POSIX_C_SOURCE 200809L

#include "demo_resources.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SEPARATE_DELAY_MS = 300 };

void demo_on_hello(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                   const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    (void)req;
    static const char text[] = "Hello World!";
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, text, sizeof(text) - 1);
}

/* The body kept for the client at @p from, or NULL. */
static demo_echo_body_t *echo_find(demo_state_t *state, const struct sockaddr_storage *from)
{
    for (size_t i = 0; i < DEMO_ECHO_BODIES; i++) {
        demo_echo_body_t *e = &state->echo[i];
        if (e->in_use && memcmp(&e->from, from, sizeof(*from)) == 0) {
            e->last_used = ++state->echo_clock;
            return e;
        }
    }
    return NULL;
}

/* A slot for a new body of the client at @p from: its own, a free one, or the least recently
 * used (whose client then gets 4.08 for its next block, or no echo for its next follow-up). */
static demo_echo_body_t *echo_take(demo_state_t *state, const struct sockaddr_storage *from)
{
    demo_echo_body_t *e = echo_find(state, from);
    for (size_t i = 0; e == NULL && i < DEMO_ECHO_BODIES; i++) {
        if (!state->echo[i].in_use)
            e = &state->echo[i];
    }
    if (e == NULL) {
        e = &state->echo[0];
        for (size_t i = 1; i < DEMO_ECHO_BODIES; i++) {
            if (state->echo[i].last_used < e->last_used)
                e = &state->echo[i];
        }
    }
    e->from = *from;
    e->in_use = true;
    e->len = 0;
    e->last_used = ++state->echo_clock;
    return e;
}

/* Put @p len bytes at @p offset of @p e's body, growing it (at most DEMO_ECHO_MAX_BODY). */
static bool echo_put(demo_echo_body_t *e, size_t offset, const uint8_t *data, size_t len,
                     size_t hint)
{
    size_t need = offset + len;
    if (need > e->cap) {
        size_t cap = e->cap > 0 ? e->cap : 1024u;
        while (cap < need || cap < hint)
            cap *= 2;
        if (cap > DEMO_ECHO_MAX_BODY)
            cap = DEMO_ECHO_MAX_BODY;
        uint8_t *grown = realloc(e->data, cap);
        if (grown == NULL)
            return false;
        e->data = grown;
        e->cap = cap;
    }
    if (len > 0)
        memcpy(e->data + offset, data, len);
    e->len = need;
    return true;
}

static void echo_free_all(demo_state_t *state)
{
    for (size_t i = 0; i < DEMO_ECHO_BODIES; i++) {
        free(state->echo[i].data);
        memset(&state->echo[i], 0, sizeof(state->echo[i]));
    }
}

/* /echo: the payload back; bodies that come block-wise (Block1) are kept and echoed whole,
 * which the adapter sends block-wise (Block2) when it is larger than a block (RFC 7959 §3.2). */
void demo_on_echo(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                  const zcoap_msg_t *req)
{
    (void)res;
    demo_state_t *state = s->data;
    uint32_t cf = 0;
    bool has_cf = zcoap_msg_get_uint(req, ZCOAP_OPT_CONTENT_FORMAT, &cf) == ZCOAP_OK;
    uint8_t code = req->code == ZCOAP_FETCH ? ZCOAP_CONTENT : ZCOAP_CHANGED;
    struct sockaddr_storage from;
    if (state == NULL || zcoap_uv_peer_address(peer, &from) != ZCOAP_OK) {
        (void)zcoap_uv_peer_respond(peer, code, has_cf ? (int)cf : -1, req->payload,
                                    req->payload_len);
        return;
    }
    zcoap_uv_block1_t block;
    if (zcoap_uv_peer_block1(peer, &block) == ZCOAP_OK) {
        /* One block of the body: the adapter checked its place; keep it. */
        demo_echo_body_t *e = block.offset == 0 ? echo_take(state, &from) : echo_find(state, &from);
        if (e == NULL || e->len != block.offset) {
            static const char dropped[] = "body dropped: start again";
            (void)zcoap_uv_peer_respond(peer, ZCOAP_REQUEST_ENTITY_INCOMPLETE, ZCOAP_CF_TEXT_PLAIN,
                                        dropped, sizeof(dropped) - 1);
            return;
        }
        if (block.offset + req->payload_len > DEMO_ECHO_MAX_BODY) {
            e->in_use = false;
            (void)zcoap_uv_peer_respond(peer, ZCOAP_REQUEST_ENTITY_TOO_LARGE, -1, NULL, 0);
            return;
        }
        size_t hint = block.size1 <= DEMO_ECHO_MAX_BODY ? block.size1 : 0;
        if (!echo_put(e, block.offset, req->payload, req->payload_len, hint)) {
            e->in_use = false;
            (void)zcoap_uv_peer_respond(peer, ZCOAP_INTERNAL_SERVER_ERROR, -1, NULL, 0);
            return;
        }
        e->content_format = has_cf ? (int)cf : -1;
        if (!block.last)
            return; /* the adapter answers 2.31 Continue */
        (void)zcoap_uv_peer_respond(peer, code, e->content_format, e->data, e->len);
        return;
    }
    zcoap_block_t asked;
    if (req->payload_len == 0 && zcoap_msg_get_block(req, ZCOAP_OPT_BLOCK2, &asked) == ZCOAP_OK &&
        asked.num > 0) {
        /* A follow-up for the next block of an echo (RFC 7959 §3.2): the body kept. Without
         * one, the empty payload is past the end: the adapter answers 4.02. */
        const demo_echo_body_t *e = echo_find(state, &from);
        if (e != NULL)
            (void)zcoap_uv_peer_respond(peer, code, e->content_format, e->data, e->len);
        else
            (void)zcoap_uv_peer_respond(peer, code, -1, NULL, 0);
        return;
    }
    if (req->payload_len > DEMO_ECHO_KEEP_ABOVE) {
        /* Its echo may take several blocks: keep it for the follow-ups. */
        demo_echo_body_t *e = echo_take(state, &from);
        if (echo_put(e, 0, req->payload, req->payload_len, 0))
            e->content_format = has_cf ? (int)cf : -1;
        else
            e->in_use = false;
    }
    (void)zcoap_uv_peer_respond(peer, code, has_cf ? (int)cf : -1, req->payload, req->payload_len);
}

void demo_large_fill(size_t offset, uint8_t *out, size_t len)
{
    size_t done = 0;
    while (done < len) {
        size_t at = offset + done;
        size_t number = at / DEMO_LARGE_LINE;
        char line[DEMO_LARGE_LINE + 1];
        int n = snprintf(line, sizeof(line), "line %06zu of the zcoap /large resource ", number);
        for (size_t i = n > 0 ? (size_t)n : 0u; i < DEMO_LARGE_LINE - 1u; i++)
            line[i] = '.';
        line[DEMO_LARGE_LINE - 1] = '\n';
        size_t from = at % DEMO_LARGE_LINE;
        size_t take = DEMO_LARGE_LINE - from < len - done ? DEMO_LARGE_LINE - from : len - done;
        memcpy(out + done, line + from, take);
        done += take;
    }
}

static int large_read(void *ctx, size_t offset, uint8_t *out, size_t len)
{
    (void)ctx;
    demo_large_fill(offset, out, len);
    return 0;
}

/* The size /large?size=N asks for: the default without it; false when N is not a decimal
 * number from 0 to DEMO_LARGE_MAX_SIZE. */
static bool large_size(const zcoap_msg_t *req, size_t *size)
{
    *size = DEMO_LARGE_DEFAULT_SIZE;
    zcoap_opt_iter_t it;
    zcoap_opt_t opt;
    zcoap_opt_iter_init(&it, req);
    while (zcoap_opt_iter_find(&it, ZCOAP_OPT_URI_QUERY, &opt)) {
        static const char key[] = "size=";
        if (opt.len < sizeof(key) - 1u || memcmp(opt.val, key, sizeof(key) - 1u) != 0)
            continue; /* other queries are ignored */
        size_t n = 0;
        uint32_t digits = opt.len - (uint32_t)(sizeof(key) - 1u);
        if (digits == 0 || digits > 7)
            return false;
        for (uint32_t i = 0; i < digits; i++) {
            uint8_t c = opt.val[sizeof(key) - 1u + i];
            if (c < '0' || c > '9')
                return false;
            n = n * 10u + (size_t)(c - '0');
        }
        if (n > DEMO_LARGE_MAX_SIZE)
            return false;
        *size = n;
    }
    return true;
}

void demo_on_large(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                   const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    size_t size;
    if (!large_size(req, &size)) {
        static const char why[] = "size must be a number from 0 to 4194304";
        (void)zcoap_uv_peer_respond(peer, ZCOAP_BAD_REQUEST, ZCOAP_CF_TEXT_PLAIN, why,
                                    sizeof(why) - 1);
        return;
    }
    /* The text depends on the size only: an ETag made of it (RFC 7252 §5.10.6) is the same on
     * every block of one size, and differs between sizes. */
    const uint8_t etag[4] = {'L', (uint8_t)(size >> 16), (uint8_t)(size >> 8), (uint8_t)size};
    const zcoap_uv_respond_opts_t opts = {.content_format = ZCOAP_CF_TEXT_PLAIN,
                                          .max_age_s = -1,
                                          .etag = etag,
                                          .etag_len = sizeof(etag)};
    (void)zcoap_uv_peer_respond_reader(peer, ZCOAP_CONTENT, &opts, size, large_read, NULL);
}

void demo_on_time(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                  const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    (void)req;
    char text[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    size_t n = strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, text, n);
}

void demo_on_temp(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                  const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    (void)req;
    static const char text[] = "21.5";
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, text, sizeof(text) - 1);
}

void demo_on_obs(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                 const zcoap_msg_t *req)
{
    (void)res;
    (void)req; /* NULL for a notification: the answer is the same, the current count */
    const demo_state_t *state = s->data;
    char text[16];
    int n = snprintf(text, sizeof(text), "%lu", (unsigned long)state->obs_count);
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, text, (size_t)n);
}

void demo_on_counter(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                     const zcoap_msg_t *req)
{
    (void)res;
    demo_state_t *state = s->data;
    uint8_t code = ZCOAP_CONTENT;
    if (req->code == ZCOAP_POST) {
        state->counter++;
        code = ZCOAP_CHANGED;
    }
    char text[24];
    int n = snprintf(text, sizeof(text), "%llu", (unsigned long long)state->counter);
    (void)zcoap_uv_peer_respond(peer, code, ZCOAP_CF_TEXT_PLAIN, text, (size_t)n);
}

int demo_obs_start(zcoap_uv_server_t *s, const zcoap_resource_t *obs)
{
    const zcoap_obs_policy_t every_5th = {.con_every = DEMO_OBS_CON_EVERY,
                                          .con_max_interval_s = ZCOAP_OBS_CON_MAX_INTERVAL_S};
    return zcoap_uv_server_set_obs_policy(s, obs, &every_5th);
}

int demo_obs_tick(zcoap_uv_server_t *s, const zcoap_resource_t *obs)
{
    demo_state_t *state = s->data;
    state->obs_count++;
    return zcoap_uv_server_notify(s, obs);
}

/* A separate answer waiting for its timer, listed so that shutdown can close the timer. */
struct demo_pending {
    uv_timer_t timer;
    zcoap_uv_peer_t *peer;
    demo_pending_list_t *list;
    struct demo_pending *prev, *next;
};

static void on_pending_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Unlink @p p and let its peer go: the peer may be recycled once its exchange is over. */
static void pending_unlink(struct demo_pending *p)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        p->list->head = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    p->peer->data = NULL;
}

static void on_separate_due(uv_timer_t *t)
{
    struct demo_pending *p = t->data;
    static const char text[] = "That took a while.";
    pending_unlink(p); /* first, so that the answer's flush may already recycle the peer */
    (void)zcoap_uv_peer_respond(p->peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, text,
                                sizeof(text) - 1);
    uv_close((uv_handle_t *)&p->timer, on_pending_closed);
}

void demo_on_separate(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                      const zcoap_msg_t *req)
{
    (void)res;
    demo_pending_list_t *list = s->data;
    struct demo_pending *p = malloc(sizeof(*p));
    if (p == NULL || uv_timer_init(s->loop, &p->timer) != 0) {
        free(p);
        (void)zcoap_uv_peer_respond(peer, ZCOAP_SERVICE_UNAVAILABLE, -1, NULL, 0);
        return;
    }
    p->timer.data = p;
    p->peer = peer;
    p->list = list;
    p->prev = NULL;
    p->next = list->head;
    if (list->head != NULL)
        list->head->prev = p;
    list->head = p;
    peer->data = p; /* an answer is owed: the server keeps the peer */
    if (req->type == ZCOAP_TYPE_CON)
        (void)zcoap_uv_peer_ack(peer); /* RFC 7252 §5.2.2: ACK now, answer later */
    (void)uv_timer_start(&p->timer, on_separate_due, SEPARATE_DELAY_MS, 0);
}

void demo_pending_cancel_all(demo_pending_list_t *list)
{
    while (list->head != NULL) {
        struct demo_pending *p = list->head;
        pending_unlink(p);
        uv_close((uv_handle_t *)&p->timer, on_pending_closed);
    }
    echo_free_all(list);
}
