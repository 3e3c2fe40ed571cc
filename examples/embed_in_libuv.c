/* embed_in_libuv: zcoap in a libuv daemon. The daemon owns the loop and its own handles (here a
 * uv_signal_t for Ctrl-C); zcoap adds a CoAP server with one resource to that same loop.
 * README.md shows this file verbatim: keep it this short.   Usage: embed_in_libuv [PORT] */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "zcoap/uv.h"

static zcoap_uv_server_t coap;
static uv_signal_t sigint;

static void hello(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                  const zcoap_msg_t *req)
{
    static const char text[] = "Hello from the daemon";
    (void)s, (void)res, (void)req;
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, text, sizeof text - 1);
}

static const zcoap_resource_t resources[] = {
    {.path = "hello", .methods = ZCOAP_METHOD_BIT(ZCOAP_GET), .handler = (void *)(uintptr_t)hello},
};

static void on_sigint(uv_signal_t *sig, int signum)
{
    (void)signum;
    zcoap_uv_server_close(&coap, NULL); /* uv_run() returns once no handle is left */
    uv_close((uv_handle_t *)sig, NULL);
}

int main(int argc, char **argv)
{
    uv_loop_t *loop = uv_default_loop(); /* the daemon's loop, shared with its other handles */
    uv_signal_init(loop, &sigint);
    uv_signal_start(&sigint, on_sigint, SIGINT);

    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    cfg.resources = resources;
    cfg.n_resources = sizeof resources / sizeof resources[0];
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", argc > 1 ? atoi(argv[1]) : 5683, &addr);
    int rc = zcoap_uv_server_start(loop, &coap, (const struct sockaddr *)&addr, &cfg);
    if (rc != 0) {
        fprintf(stderr, "embed_in_libuv: %s\n", zcoap_uv_strerror(rc));
        return 1;
    }
    printf("coap://127.0.0.1:%s/hello, Ctrl-C to stop\n", argc > 1 ? argv[1] : "5683");
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? 0 : 1;
}
