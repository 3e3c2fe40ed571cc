/*
 * ping: send a CoAP ping to a peer and wait for its answer, on a libuv loop.
 *
 *     ping coap://HOST[:PORT]
 *
 * A CoAP ping is an Empty Confirmable message; a live CoAP endpoint answers it with a Reset
 * (RFC 7252 §4.3). The zcoap_uv_client does the rest: it resolves HOST, connects a UDP socket,
 * retransmits the ping with exponential back-off (§4.2) and reports ZCOAP_EV_OUT_PONG when the
 * RST arrives or ZCOAP_EV_OUT_TIMEOUT when none did. Exit status 0 on the RST, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "zcoap/uv.h"

struct ping {
    uv_loop_t *loop;
    uint64_t sent_at; /* uv_now() when the ping was sent */
    bool answered;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: ping coap://HOST[:PORT]\n"
                 "Sends a CoAP ping (Empty CON, RFC 7252 §4.3) and waits for the peer's RST,\n"
                 "retransmitting as §4.2 says. Exit status 0 when the RST arrives, 1 otherwise.\n");
}

static void on_closed(zcoap_uv_client_t *c)
{
    (void)c; /* nothing left on the loop: uv_run() returns */
}

static void on_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    struct ping *p = c->data;
    uint64_t elapsed = uv_now(p->loop) - p->sent_at;
    printf("   [%s] after %llu ms\n", zcoap_event_name(ev->kind), (unsigned long long)elapsed);
    switch (ev->kind) {
    case ZCOAP_EV_OUT_PONG:
        printf("pong: the peer answered with RST\n");
        p->answered = true;
        zcoap_uv_client_close(c, on_closed);
        break;
    case ZCOAP_EV_OUT_TIMEOUT:
        fprintf(stderr, "ping: no answer\n");
        zcoap_uv_client_close(c, on_closed);
        break;
    default:
        break;
    }
}

static void on_connected(zcoap_uv_client_t *c, int status)
{
    struct ping *p = c->data;
    if (status != 0) {
        fprintf(stderr, "ping: cannot connect: %s\n", zcoap_uv_strerror(status));
        zcoap_uv_client_close(c, on_closed);
        return;
    }
    p->sent_at = uv_now(p->loop);
    printf("-> ping (Empty CON)\n");
    int rc = zcoap_uv_client_ping(c);
    if (rc != 0) {
        fprintf(stderr, "ping: %s\n", zcoap_uv_strerror(rc));
        zcoap_uv_client_close(c, on_closed);
    }
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc != 2) {
        usage(stderr);
        return 1;
    }
    const char *uri = argv[1];

    uv_loop_t loop;
    static zcoap_uv_client_t client; /* holds the endpoint's buffers: not on the stack */
    struct ping p = {.loop = &loop};
    if (uv_loop_init(&loop) != 0) {
        fprintf(stderr, "ping: cannot create the loop\n");
        return 1;
    }
    printf("ping %s\n", uri);
    int rc = zcoap_uv_client_init(&loop, &client, NULL, on_event);
    if (rc == 0) {
        client.data = &p;
        rc = zcoap_uv_client_connect_uri(&client, uri, on_connected);
        if (rc != 0) {
            fprintf(stderr, "ping: %s: %s\n", uri, zcoap_uv_strerror(rc));
            zcoap_uv_client_close(&client, on_closed);
        }
    } else {
        fprintf(stderr, "ping: %s\n", zcoap_uv_strerror(rc));
    }
    uv_run(&loop, UV_RUN_DEFAULT); /* until the client is closed */
    (void)uv_loop_close(&loop);
    return p.answered ? 0 : 1;
}
