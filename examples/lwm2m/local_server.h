/*
 * The Device object on a zcoap_uv_server_t of its own (-S ADDR:PORT), for local tools. The
 * registration's socket is connected to the LwM2M server and takes datagrams from it alone,
 * so coap-client-notls cannot ask that socket; this server answers anyone, and the adapter
 * keeps its observers of /3/0/13 (RFC 7641).
 */
#ifndef LWM2M_LOCAL_SERVER_H
#define LWM2M_LOCAL_SERVER_H

#include "device_object.h"
#include "zcoap/uv.h"

typedef struct local_server {
    zcoap_uv_server_t server;
    zcoap_resource_t table[DEVICE_RESOURCES]; /* device_resources with this server's handler */
    bool started;
} local_server_t;

/* Serve on @p addr (port 0: any free one). Returns 0 or a zcoap/libuv error. */
int local_server_start(local_server_t *ls, uv_loop_t *loop, const struct sockaddr *addr);

/* The time changed: notify the observers of /3/0/13. */
void local_server_time_changed(local_server_t *ls);

void local_server_close(local_server_t *ls);

#endif
