/*
 * zcoap_bench_server: the adapter's server with only GET /hello ("Hello World!", as zcoap-server
 * serves it), and its socket options on the command line, to measure them against each other in
 * one build (bench/recvmmsg.sh).
 *
 *     zcoap_bench_server [-A ADDRESS] [-p PORT] [-n MAX_PEERS] [--recvmmsg | --recvmsg]
 *
 * Prints "zcoap_bench_server: listening on ADDRESS:PORT" once bound, runs until SIGINT/SIGTERM,
 * then prints its counters (datagrams, the receive buffer in effect, how many datagrams a read
 * takes at most) and exits 0.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_resources.h"
#include "zcoap/uv.h"

static zcoap_uv_server_t server;
static uv_signal_t sigint_handle;
static uv_signal_t sigterm_handle;

static void on_signal(uv_signal_t *h, int signum)
{
    (void)h;
    (void)signum;
    const zcoap_uv_server_stats_t *st = zcoap_uv_server_stats(&server);
    printf("zcoap_bench_server: %llu datagrams in, %llu out, %llu send errors, %llu peers "
           "served; receive buffer %zu bytes, up to %zu datagrams per read\n",
           (unsigned long long)st->datagrams_in, (unsigned long long)st->datagrams_out,
           (unsigned long long)st->send_errors, (unsigned long long)st->peers_created,
           st->recv_buffer_size, st->recv_batch);
    zcoap_uv_server_close(&server, NULL);
    uv_close((uv_handle_t *)&sigint_handle, NULL);
    uv_close((uv_handle_t *)&sigterm_handle, NULL);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: zcoap_bench_server [-A ADDRESS] [-p PORT] [-n MAX_PEERS] "
                 "[--recvmmsg | --recvmsg]\n"
                 "Serves GET /hello on ADDRESS (default 127.0.0.1), PORT (default 5683; 0: any\n"
                 "free port, printed), with a pool of MAX_PEERS (default 1024), reading with\n"
                 "recvmmsg or recvmsg (default: the adapter's default), until SIGINT/SIGTERM.\n");
}

int main(int argc, char **argv)
{
    const char *address = "127.0.0.1";
    int port = 5683;
    long max_peers = 1024;
    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "-A") == 0 && i + 1 < argc) {
            address = argv[++i];
        } else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            max_peers = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--recvmmsg") == 0) {
            cfg.recvmmsg = true;
        } else if (strcmp(argv[i], "--recvmsg") == 0) {
            cfg.recvmmsg = false;
        } else {
            usage(stderr);
            return 1;
        }
    }
    struct sockaddr_in addr;
    if (port < 0 || port > 65535 || max_peers < 1 || uv_ip4_addr(address, port, &addr) != 0) {
        usage(stderr);
        return 1;
    }
    static const zcoap_resource_t resources[] = {
        {"hello", ZCOAP_METHOD_BIT(ZCOAP_GET), "ct=0", false, DEMO_HANDLER(demo_on_hello)},
    };
    cfg.resources = resources;
    cfg.n_resources = 1;
    cfg.max_peers = (size_t)max_peers;
    uv_loop_t *loop = uv_default_loop();
    int rc = zcoap_uv_server_start(loop, &server, (const struct sockaddr *)&addr, &cfg);
    struct sockaddr_storage bound;
    if (rc == 0)
        rc = zcoap_uv_server_address(&server, &bound);
    if (rc != 0) {
        fprintf(stderr, "zcoap_bench_server: %s\n", zcoap_uv_strerror(rc));
        return 1;
    }
    char host[64];
    uv_ip4_name((const struct sockaddr_in *)&bound, host, sizeof(host));
    printf("zcoap_bench_server: listening on %s:%d (%s)\n", host,
           ntohs(((const struct sockaddr_in *)&bound)->sin_port),
           zcoap_uv_server_stats(&server)->recv_batch > 1 ? "recvmmsg" : "recvmsg");
    fflush(stdout);
    uv_signal_init(loop, &sigint_handle);
    uv_signal_start(&sigint_handle, on_signal, SIGINT);
    uv_signal_init(loop, &sigterm_handle);
    uv_signal_start(&sigterm_handle, on_signal, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    fflush(stdout);
    return uv_loop_close(loop) == 0 ? 0 : 1;
}
