/* The demo servers' resources (demo_resources.h). */
#define _POSIX_C_SOURCE 200809L

#include "demo_resources.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

void demo_on_echo(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                  const zcoap_msg_t *req)
{
    (void)s;
    (void)res;
    uint32_t cf = 0;
    bool has_cf = zcoap_msg_get_uint(req, ZCOAP_OPT_CONTENT_FORMAT, &cf) == ZCOAP_OK;
    uint8_t code = req->code == ZCOAP_FETCH ? ZCOAP_CONTENT : ZCOAP_CHANGED;
    (void)zcoap_uv_peer_respond(peer, code, has_cf ? (int)cf : -1, req->payload, req->payload_len);
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
}
