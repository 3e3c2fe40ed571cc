/*
 * simple_get: two Confirmable GET requests to one resource, on a libuv loop.
 *
 *     simple_get coap://HOST[:PORT]/PATH[?QUERY]
 *
 * The zcoap_uv_client resolves HOST, connects a UDP socket and runs the endpoint: it
 * retransmits each CON request with exponential back-off until the peer answers (RFC 7252 §4.2)
 * and reports the response piggybacked in the ACK (§5.2.1). The second GET starts from inside
 * the event callback of the first response: one request at a time (NSTART = 1, §4.7). At the end
 * the client's counters show how many datagrams it took (more than two out means
 * retransmissions). Exit status 0 when both responses are 2.xx, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "zcoap/uv.h"

enum { REQUESTS = 2 };

struct simple_get {
    const char *uri;
    unsigned sent;      /* requests started */
    unsigned succeeded; /* 2.xx responses */
    bool failed;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: simple_get coap://HOST[:PORT]/PATH[?QUERY]\n"
                 "Sends a CON GET, prints the piggybacked response, then sends a second GET.\n"
                 "Exit status 0 when both responses are 2.xx, 1 otherwise.\n");
}

static void print_message(const char *direction, const zcoap_msg_t *msg)
{
    char line[1024];
    /* A line too long is cut and ends in "...": still worth printing. */
    (void)zcoap_msg_print(msg, line, sizeof line);
    printf("%s %s\n", direction, line);
}

static bool send_get(zcoap_uv_client_t *c)
{
    struct simple_get *g = c->data;
    printf("-> GET %s (CON, request %u of %d)\n", g->uri, g->sent + 1, REQUESTS);
    int rc = zcoap_uv_client_request(c, ZCOAP_TYPE_CON, ZCOAP_GET, g->uri, NULL, 0);
    if (rc != 0) {
        fprintf(stderr, "simple_get: request: %s\n", zcoap_uv_strerror(rc));
        return false;
    }
    g->sent++;
    return true;
}

static void print_response(const zcoap_msg_t *msg)
{
    const char *reason = zcoap_code_reason(msg->code);
    printf("response: %s %s, %s, %zu-byte payload\n", zcoap_code_name(msg->code),
           reason != NULL ? reason : "", msg->type == ZCOAP_TYPE_ACK ? "piggybacked" : "separate",
           msg->payload_len);
    if (msg->payload_len > 0) {
        fwrite(msg->payload, 1, msg->payload_len, stdout);
        if (msg->payload[msg->payload_len - 1] != '\n') {
            putchar('\n');
        }
    }
}

/* The client's handles are closed: nothing is left on the loop, uv_run() returns. The counters
 * are read now, once everything the endpoint had queued has been sent. */
static void on_closed(zcoap_uv_client_t *c)
{
    const struct simple_get *g = c->data;
    const zcoap_uv_client_stats_t *st = zcoap_uv_client_stats(c);
    /* simple_get sends nothing but its requests, so every datagram beyond one per request is a
     * retransmission (§4.2): the peer's answer, or our request, was lost. */
    uint64_t extra = st->datagrams_out > g->sent ? st->datagrams_out - g->sent : 0;
    printf("stats: %u request(s), %llu datagram(s) out (%llu retransmission(s)), %llu in, "
           "%llu send error(s)\n",
           g->sent, (unsigned long long)st->datagrams_out, (unsigned long long)extra,
           (unsigned long long)st->datagrams_in, (unsigned long long)st->send_errors);
}

static void finish(zcoap_uv_client_t *c, bool failed)
{
    struct simple_get *g = c->data;
    g->failed = failed;
    zcoap_uv_client_close(c, on_closed);
}

static void on_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    struct simple_get *g = c->data;
    printf("   [%s]\n", zcoap_event_name(ev->kind));
    switch (ev->kind) {
    case ZCOAP_EV_OUT_RESPONSE:
        print_message("<-", &ev->msg);
        print_response(&ev->msg);
        if (ZCOAP_CODE_CLASS(ev->msg.code) != 2) {
            finish(c, true);
        } else if (++g->succeeded < REQUESTS) {
            if (!send_get(c)) { /* the exchange is over: the next may start here */
                finish(c, true);
            }
        } else {
            finish(c, false);
        }
        break;
    case ZCOAP_EV_OUT_TIMEOUT:
        fprintf(stderr, "simple_get: no response (timeout)\n");
        finish(c, true);
        break;
    case ZCOAP_EV_OUT_RESET:
        fprintf(stderr, "simple_get: the peer rejected the request with RST\n");
        finish(c, true);
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
    if (status != 0) {
        fprintf(stderr, "simple_get: cannot connect: %s\n", zcoap_uv_strerror(status));
        finish(c, true);
        return;
    }
    if (!send_get(c)) {
        finish(c, true);
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
    struct simple_get g = {.uri = argv[1], .failed = true};

    uv_loop_t loop;
    static zcoap_uv_client_t client; /* holds the endpoint's buffers: not on the stack */
    if (uv_loop_init(&loop) != 0) {
        fprintf(stderr, "simple_get: cannot create the loop\n");
        return 1;
    }
    int rc = zcoap_uv_client_init(&loop, &client, NULL, on_event);
    if (rc == 0) {
        client.data = &g;
        rc = zcoap_uv_client_connect_uri(&client, g.uri, on_connected);
        if (rc != 0) {
            fprintf(stderr, "simple_get: %s: %s\n", g.uri, zcoap_uv_strerror(rc));
            zcoap_uv_client_close(&client, on_closed);
        }
    } else {
        fprintf(stderr, "simple_get: %s\n", zcoap_uv_strerror(rc));
    }
    uv_run(&loop, UV_RUN_DEFAULT); /* until the client is closed */
    (void)uv_loop_close(&loop);
    return !g.failed && g.succeeded == REQUESTS ? 0 : 1;
}
