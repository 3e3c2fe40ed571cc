/*
 * zcoap_endpoint_bench: the cost of whole exchanges through two endpoints joined in memory (no
 * socket, no clock in the loop): a client endpoint sends a CON GET /sensors/temp, the server
 * endpoint delivers it, the application answers 2.05 piggybacked with a 4-byte payload, and the
 * client takes the response. Everything the endpoints do per exchange is in the timing: building,
 * parsing, matching, de-duplication bookkeeping, events, the driver loop.
 *
 *     zcoap_endpoint_bench [--exchanges N]
 *
 * Prints ns per exchange (best of 5 runs) and exchanges per second on one core. This is the
 * ceiling the libuv adapter adds system calls to; compare versions of zcoap with it.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zcoap/zcoap.h"

static int bench_rng(void *ctx, uint8_t *out, size_t len)
{
    uint64_t *s = ctx;
    for (size_t i = 0; i < len; i++) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        out[i] = (uint8_t)*s;
    }
    return 0;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Pull every datagram of one endpoint into the other, then drain the receiver's events. */
static int deliver(zcoap_ep_t *from, zcoap_ep_t *to, uint64_t now, zcoap_event_kind_t *last)
{
    const uint8_t *p;
    ptrdiff_t n;
    zcoap_event_t ev;
    int count = 0;
    while ((n = zcoap_ep_next_datagram(from, now, &p)) > 0) {
        zcoap_ep_receive(to, p, (size_t)n, now);
        while (zcoap_ep_process(to, now, &ev) == 1)
            *last = ev.kind;
        count++;
    }
    return count;
}

static int one_exchange(zcoap_ep_t *client, zcoap_ep_t *server, uint64_t now)
{
    zcoap_builder_t b;
    zcoap_event_t ev;
    zcoap_event_kind_t last = ZCOAP_EV_NONE;
    if (zcoap_ep_request_begin(client, ZCOAP_TYPE_CON, ZCOAP_GET, &b) != ZCOAP_OK)
        return -1;
    zcoap_builder_add_opt(&b, ZCOAP_OPT_URI_PATH, "sensors", 7);
    zcoap_builder_add_opt(&b, ZCOAP_OPT_URI_PATH, "temp", 4);
    if (zcoap_ep_request_send(client, &b, 0, now) != ZCOAP_OK)
        return -1;
    while (zcoap_ep_process(client, now, &ev) == 1)
        ;
    deliver(client, server, now, &last);
    if (last != ZCOAP_EV_IN_REQUEST)
        return -1;
    if (zcoap_ep_response_begin(server, ZCOAP_CONTENT, false, &b) != ZCOAP_OK)
        return -1;
    zcoap_builder_add_uint(&b, ZCOAP_OPT_CONTENT_FORMAT, ZCOAP_CF_TEXT_PLAIN);
    zcoap_builder_set_payload(&b, "21.5", 4);
    if (zcoap_ep_response_send(server, &b, now) != ZCOAP_OK)
        return -1;
    while (zcoap_ep_process(server, now, &ev) == 1)
        ;
    deliver(server, client, now, &last);
    return last == ZCOAP_EV_OUT_RESPONSE ? 0 : -1;
}

int main(int argc, char **argv)
{
    long exchanges = 1000000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--exchanges") == 0 && i + 1 < argc)
            exchanges = strtol(argv[++i], NULL, 10);
    }
    static zcoap_ep_storage_t client_store, server_store;
    zcoap_ep_config_t cfg;
    zcoap_ep_t client, server;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    zcoap_ep_config_default(&cfg, &client_store);
    cfg.rng = bench_rng;
    cfg.rng_ctx = &seed;
    if (zcoap_ep_init(&client, &cfg, 0) != ZCOAP_OK)
        return 1;
    zcoap_ep_config_default(&cfg, &server_store);
    cfg.rng = bench_rng;
    cfg.rng_ctx = &seed;
    if (zcoap_ep_init(&server, &cfg, 0) != ZCOAP_OK)
        return 1;

    double best = 1e30;
    uint64_t now = 1;
    for (int run = 0; run < 5; run++) {
        double t0 = now_ns();
        for (long i = 0; i < exchanges; i++) {
            /* 1 ms of virtual time per exchange: the de-duplication windows fill and expire as
             * they would at 1000 exchanges per second. */
            if (one_exchange(&client, &server, now++) != 0) {
                fprintf(stderr, "exchange %ld failed\n", i);
                return 1;
            }
        }
        double per = (now_ns() - t0) / (double)exchanges;
        if (per < best)
            best = per;
    }
    printf("zcoap endpoint: CON GET + piggybacked 2.05 through two endpoints in memory\n");
    printf("%ld exchanges x 5 runs, best: %.0f ns per exchange, %.2f M exchanges/s on one core\n",
           exchanges, best, 1e3 / best);
    printf("endpoint struct %zu bytes + default storage %zu bytes\n", sizeof(zcoap_ep_t),
           sizeof(zcoap_ep_storage_t));
    return 0;
}
