/* The Device object on a server socket of its own (see local_server.h). */
#include "local_server.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

/* Every resource: its representation now (for a notification too: req is then NULL). */
static void handle(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                   const zcoap_msg_t *req)
{
    local_server_t *ls = s->data;
    (void)req;
    char body[256];
    int content_format;
    int len = device_render((enum device_resource)(res - ls->table), device_clock_now().tv_sec,
                            body, sizeof(body), &content_format);
    if (len < 0)
        (void)zcoap_uv_peer_respond(peer, ZCOAP_INTERNAL_SERVER_ERROR, -1, NULL, 0);
    else
        (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, content_format, body, (size_t)len);
}

int local_server_start(local_server_t *ls, uv_loop_t *loop, const struct sockaddr *addr)
{
    memset(ls, 0, sizeof(*ls));
    for (size_t i = 0; i < DEVICE_RESOURCES; i++) {
        ls->table[i] = device_resources[i];
        ls->table[i].handler = (void *)(uintptr_t)handle; /* the adapter casts it back */
    }
    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    cfg.resources = ls->table;
    cfg.n_resources = DEVICE_RESOURCES;
    cfg.max_peers = 16; /* a few local tools */
    cfg.max_observers = 16;
    cfg.recvmmsg = false; /* one datagram at a time is plenty here: no 1.3 MB batch buffer */
    ls->server.data = ls;
    int rc = zcoap_uv_server_start(loop, &ls->server, addr, &cfg);
    ls->started = rc == 0;
    return rc;
}

void local_server_time_changed(local_server_t *ls)
{
    if (ls->started)
        (void)zcoap_uv_server_notify(&ls->server, &ls->table[DEVICE_TIME]);
}

void local_server_close(local_server_t *ls)
{
    if (ls->started)
        zcoap_uv_server_close(&ls->server, NULL);
    ls->started = false;
}
