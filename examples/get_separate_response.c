/*
 * get_separate_response: a Confirmable GET to a resource that answers later, on a libuv loop.
 *
 *     get_separate_response coap://HOST[:PORT]/PATH[?QUERY]
 *
 * A server that cannot answer at once acknowledges the request with an Empty ACK and sends the
 * response later in a message of its own, usually Confirmable (RFC 7252 §5.2.2); libcoap's
 * coap-server does this for /async?SECONDS. The endpoint reports the Empty ACK
 * (ZCOAP_EV_OUT_EMPTY_ACK), then the response (ZCOAP_EV_OUT_RESPONSE), and acknowledges a
 * Confirmable response by itself. Exit status 0 on a separate 2.xx response, 1 otherwise
 * (including a piggybacked one: then the resource is not answered separately).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "zcoap/uv.h"

struct separate_get {
    uv_loop_t *loop;
    const char *uri;
    uint64_t sent_at; /* uv_now() when the request was sent */
    bool ok;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: get_separate_response coap://HOST[:PORT]/PATH[?QUERY]\n"
                 "Sends a CON GET to a resource answered separately (e.g. libcoap's /async?1),\n"
                 "prints the Empty ACK and then the separate response.\n"
                 "Exit status 0 on a separate 2.xx response, 1 otherwise.\n");
}

static void print_message(const char *direction, const zcoap_msg_t *msg)
{
    char line[1024];
    /* A line too long is cut and ends in "...": still worth printing. */
    (void)zcoap_msg_print(msg, line, sizeof line);
    printf("%s %s\n", direction, line);
}

/* The client's handles are closed: nothing is left on the loop, uv_run() returns. The counters
 * are read now, once everything the endpoint had queued has been sent: with a Confirmable
 * response, "2 datagram(s) out" are the request and the ACK of the response. */
static void on_closed(zcoap_uv_client_t *c)
{
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(c);
    printf("stats: %llu datagram(s) out, %llu in, %llu send error(s)\n",
           (unsigned long long)st->datagrams_out, (unsigned long long)st->datagrams_in,
           (unsigned long long)st->send_errors);
}

static void finish(zcoap_uv_client_t *c, bool ok)
{
    struct separate_get *g = c->data;
    g->ok = ok;
    /* Safe inside the event callback; the ACK of a CON response is the endpoint's business. */
    zcoap_uv_client_close(c, on_closed);
}

static void on_response(zcoap_uv_client_t *c, const zcoap_msg_t *msg)
{
    const char *reason = zcoap_code_reason(msg->code);
    print_message("<-", msg);
    printf("response: %s %s, %s, %zu-byte payload\n", zcoap_code_name(msg->code),
           reason != NULL ? reason : "", msg->type == ZCOAP_TYPE_ACK ? "piggybacked" : "separate",
           msg->payload_len);
    if (msg->payload_len > 0) {
        fwrite(msg->payload, 1, msg->payload_len, stdout);
        if (msg->payload[msg->payload_len - 1] != '\n') {
            putchar('\n');
        }
    }
    if (msg->type == ZCOAP_TYPE_ACK) {
        fprintf(stderr, "get_separate_response: the response was piggybacked, not separate\n");
        finish(c, false);
        return;
    }
    if (msg->type == ZCOAP_TYPE_CON) {
        printf("the response is Confirmable: the endpoint acknowledges it (§5.2.2)\n");
    }
    finish(c, ZCOAP_CODE_CLASS(msg->code) == 2);
}

static void on_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    struct separate_get *g = c->data;
    printf("   [%s] after %llu ms\n", zcoap_event_name(ev->kind),
           (unsigned long long)(uv_now(g->loop) - g->sent_at));
    switch (ev->kind) {
    case ZCOAP_EV_OUT_EMPTY_ACK:
        printf("empty ACK: the peer has the request; the response will come separately\n");
        break;
    case ZCOAP_EV_OUT_RESPONSE:
        on_response(c, &ev->msg);
        break;
    case ZCOAP_EV_OUT_TIMEOUT:
        fprintf(stderr, "get_separate_response: no response (timeout)\n");
        finish(c, false);
        break;
    case ZCOAP_EV_OUT_RESET:
        fprintf(stderr, "get_separate_response: the peer rejected the request with RST\n");
        finish(c, false);
        break;
    default:
        if (ev->has_msg) {
            print_message("<-", &ev->msg);
        }
        break;
    }
}

static void on_connected(zcoap_uv_client_t *c, int status)
{
    struct separate_get *g = c->data;
    if (status != 0) {
        fprintf(stderr, "get_separate_response: cannot connect: %s\n", zcoap_uv_strerror(status));
        finish(c, false);
        return;
    }
    g->sent_at = uv_now(g->loop);
    printf("-> GET %s (CON)\n", g->uri);
    int rc = zcoap_uv_client_request(c, ZCOAP_TYPE_CON, ZCOAP_GET, g->uri, NULL, 0);
    if (rc != 0) {
        fprintf(stderr, "get_separate_response: request: %s\n", zcoap_uv_strerror(rc));
        finish(c, false);
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
    uv_loop_t loop;
    struct separate_get g = {.loop = &loop, .uri = argv[1]};
    /* The client and the endpoint's buffers: not on the stack. */
    static zcoap_uv_client_t client;
    static zcoap_ep_storage_t storage;
    zcoap_ep_config_t cfg;
    zcoap_ep_config_default(&cfg, &storage); /* rng left NULL: the adapter's OS source */
    /* After the Empty ACK, wait for the separate response as long as the server may take to
     * get a CON message through, MAX_TRANSMIT_WAIT (§4.8.2), not EXCHANGE_LIFETIME. */
    cfg.response_timeout_ms = (uint32_t)zcoap_tx_max_transmit_wait_ms(&cfg.tx);

    if (uv_loop_init(&loop) != 0) {
        fprintf(stderr, "get_separate_response: cannot create the loop\n");
        return 1;
    }
    int rc = zcoap_uv_client_init(&loop, &client, &cfg, on_event);
    if (rc == 0) {
        client.data = &g;
        rc = zcoap_uv_client_connect_uri(&client, g.uri, on_connected);
        if (rc != 0) {
            fprintf(stderr, "get_separate_response: %s: %s\n", g.uri, zcoap_uv_strerror(rc));
            zcoap_uv_client_close(&client, on_closed);
        }
    } else {
        fprintf(stderr, "get_separate_response: %s\n", zcoap_uv_strerror(rc));
    }
    uv_run(&loop, UV_RUN_DEFAULT); /* until the client is closed */
    (void)uv_loop_close(&loop);
    return g.ok ? 0 : 1;
}
