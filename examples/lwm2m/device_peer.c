/* The Device object on the registration's socket (see device_peer.h). */
#include "device_peer.h"

#include <stdio.h>
#include <string.h>

#include "device_object.h"

#define BODY_SIZE 512

void device_peer_init(device_peer_t *d, uv_loop_t *loop, zcoap_uv_client_t *client, bool verbose)
{
    memset(d, 0, sizeof(*d));
    d->loop = loop;
    d->client = client;
    d->verbose = verbose;
    (void)zcoap_obs_table_init(&d->observers, d->slots, DEVICE_PEER_OBSERVERS);
}

static uint64_t now_ms(const device_peer_t *d)
{
    return uv_now(d->loop);
}

/* A GET of /3/0/13 with Observe 0 registers, Observe 1 deregisters (RFC 7641 §3.1, §3.6).
 * True when the answer carries Observe. A full table serves a plain GET (§4.1). */
static bool track_observer(device_peer_t *d, const zcoap_msg_t *req)
{
    const zcoap_resource_t *time_res = &device_resources[DEVICE_TIME];
    switch (zcoap_obs_request_action(req)) {
    case ZCOAP_OBS_REGISTER:
        return zcoap_obs_register(&d->observers, time_res, d->client, req->token, req->token_len,
                                  now_ms(d), NULL) == ZCOAP_OK;
    case ZCOAP_OBS_DEREGISTER:
        (void)zcoap_obs_remove(&d->observers, d->client, req->token, req->token_len);
        return false;
    default:
        return false;
    }
}

static void answer(device_peer_t *d, const zcoap_msg_t *req)
{
    zcoap_ep_t *ep = zcoap_uv_client_endpoint(d->client);
    char body[BODY_SIZE];
    ptrdiff_t len = 0;
    int content_format = -1;
    bool observe = false;
    const zcoap_resource_t *res = NULL;
    uint8_t code = ZCOAP_CONTENT;

    if (zcoap_path_matches(req, ".well-known/core")) {
        if (req->code != ZCOAP_GET) {
            code = ZCOAP_METHOD_NOT_ALLOWED;
        } else {
            len = zcoap_resource_link_format(device_resources, DEVICE_RESOURCES, req, body,
                                             sizeof(body));
            content_format = ZCOAP_CF_LINK_FORMAT;
        }
    } else {
        uint8_t refused = zcoap_resource_dispatch(device_resources, DEVICE_RESOURCES, req, &res);
        if (refused != 0) {
            code = refused; /* 4.04 or 4.05 */
        } else {
            enum device_resource which = device_resource_index(res);
            len = device_render(which, device_clock_now().tv_sec, body, sizeof(body),
                                &content_format);
            if (which == DEVICE_TIME)
                observe = track_observer(d, req);
        }
    }
    if (len < 0) {
        code = ZCOAP_INTERNAL_SERVER_ERROR;
        len = 0;
        content_format = -1;
        observe = false;
    }

    zcoap_builder_t b;
    if (zcoap_ep_response_begin(ep, code, false, &b) != ZCOAP_OK)
        return;
    if (observe)
        (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, d->time_seq);
    if (content_format >= 0)
        (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_CONTENT_FORMAT, (uint32_t)content_format);
    (void)zcoap_builder_set_payload(&b, body, (size_t)len);
    if (zcoap_ep_response_send(ep, &b, now_ms(d)) == ZCOAP_OK)
        d->requests_answered++;
    if (d->verbose) {
        char path[128];
        if (zcoap_msg_path(req, false, path, sizeof(path)) < 0)
            snprintf(path, sizeof(path), "(path too long)");
        printf("served %s %s: %s%s\n", zcoap_code_name(req->code), path, zcoap_code_name(code),
               observe ? " (observed)" : "");
        fflush(stdout);
    }
}

bool device_peer_on_event(device_peer_t *d, const zcoap_event_t *ev)
{
    switch (ev->kind) {
    case ZCOAP_EV_IN_REQUEST:
        answer(d, &ev->msg);
        return true;
    case ZCOAP_EV_NOTIFY_RESET:   /* the server no longer observes (RFC 7641 §3.6) */
    case ZCOAP_EV_NOTIFY_TIMEOUT: /* a CON notification was never acknowledged (§4.5) */
        if (ev->tag >= 1 && ev->tag <= DEVICE_PEER_OBSERVERS && d->slots[ev->tag - 1].in_use)
            (void)zcoap_obs_remove_entry(&d->observers, &d->slots[ev->tag - 1]);
        return true;
    case ZCOAP_EV_IN_DUPLICATE:
    case ZCOAP_EV_IN_REJECTED:
    case ZCOAP_EV_IN_ACK_SENT:
    case ZCOAP_EV_IN_CON_RESPONSE_SENT:
    case ZCOAP_EV_IN_SUCCESS:
    case ZCOAP_EV_IN_RST_SENT:
    case ZCOAP_EV_IN_TIMEOUT:
    case ZCOAP_EV_IN_RESET:
    case ZCOAP_EV_IN_BUSY:
    case ZCOAP_EV_NOTIFY_SENT:
    case ZCOAP_EV_NOTIFY_ACKED:
        return true;
    default:
        return false;
    }
}

void device_peer_time_changed(device_peer_t *d, time_t now)
{
    const zcoap_resource_t *time_res = &device_resources[DEVICE_TIME];
    d->time_seq = zcoap_obs_seq_next(d->time_seq);
    if (d->observers.used == 0)
        return;
    char body[BODY_SIZE];
    int content_format;
    int len = device_render(DEVICE_TIME, now, body, sizeof(body), &content_format);
    if (len < 0)
        return;
    zcoap_ep_t *ep = zcoap_uv_client_endpoint(d->client);
    size_t cursor = 0;
    zcoap_observer_t *o;
    while ((o = zcoap_obs_next(&d->observers, time_res, &cursor)) != NULL) {
        bool con = zcoap_obs_next_is_confirmable(o, NULL, now_ms(d)); /* NON, CON daily */
        uint32_t tag = (uint32_t)(o - d->slots) + 1u;
        zcoap_builder_t b;
        /* EBUSY: a CON of ours awaits its ACK (NSTART = 1); the next second sends the newest. */
        if (zcoap_ep_notify_begin(ep, o->token, o->token_len, ZCOAP_CONTENT, con, tag, &b) !=
            ZCOAP_OK)
            continue;
        (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, d->time_seq);
        (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_CONTENT_FORMAT, (uint32_t)content_format);
        (void)zcoap_builder_set_payload(&b, body, (size_t)len);
        if (zcoap_ep_notify_send(ep, &b, now_ms(d)) == ZCOAP_OK)
            d->notifications_sent++;
    }
    zcoap_uv_client_flush(d->client);
}
