/*
 * zcoap-server: a CoAP server on the libuv adapter, for many peers at once.
 *
 *     zcoap-server [-A ADDRESS] [-p PORT] [-n MAX_PEERS] [-T THREADS] [-t SECONDS] [-v]
 *     zcoap-server --print-large SIZE
 *
 * Resources (common/demo_resources.c): /hello (GET: 2.05 "Hello World!"), /echo (POST, PUT, FETCH,
 * PATCH, iPATCH: the request's payload back; FETCH 2.05, the others 2.04; bodies up to 4 MiB
 * block-wise, RFC 7959, echoed block-wise), /separate (GET: empty ACK at once, then a CON 2.05
 * about 300 ms later), /time (GET: the time as text), /sensors/temp (GET: a reading, a path of two
 * segments), /obs (observable, RFC 7641: a counter that goes up every second and is notified to
 * its observers, NON but every 5th CON), /large (GET, FETCH: 8192 bytes of text block-wise, or
 * /large?size=N up to 4 MiB), /counter (POST adds one and answers 2.04 with the count, GET reads
 * it: a request that is not idempotent, for tests counting executions) and /.well-known/core,
 * generated from the table. --print-large SIZE
 * writes what /large?size=SIZE serves to stdout and exits (for tests to compare with). Runs until
 * SIGINT/SIGTERM or for SECONDS, then prints its counters, Observe's among them. With -v it also
 * prints how many observers there are whenever that number changed (checked at each tick of /obs).
 *
 * With -T THREADS above 1, as many servers, each on its own loop in its own thread, bind the same
 * address and port with reuse_port (SO_REUSEPORT): the kernel hands each peer to one of them by a
 * hash of its address and port, so each peer's state lives in one thread and nothing is shared
 * but the port. The summary prints how many peers and datagrams each thread served. Each
 * thread counts /obs on its own.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_resources.h"
#include "zcoap/uv.h"

/* One server on its own loop. Worker 0 runs on the main thread's loop, next to the signal
 * handlers; the others each run a loop in a thread of their own. */
struct worker {
    uv_loop_t own_loop;
    uv_loop_t *loop;
    uv_async_t stop; /* the only call that crosses threads: uv_async_send() */
    zcoap_uv_server_t server;
    uv_timer_t obs_timer; /* /obs counts one more each second */
    uv_thread_t thread;
    bool loop_ready, stop_ready, server_started, obs_timer_ready, thread_started;
    demo_state_t state;     /* the server's data: answers /separate owes, /obs's counter */
    size_t observers_shown; /* -v: the number of observers printed last */
};

enum { OBS_RESOURCE = 5 }; /* /obs in the table, which its timer notifies */

static const zcoap_resource_t resources[] = {
    DEMO_RESOURCE_HELLO, DEMO_RESOURCE_ECHO,         DEMO_RESOURCE_SEPARATE,
    DEMO_RESOURCE_TIME,  DEMO_RESOURCE_SENSORS_TEMP, [OBS_RESOURCE] = DEMO_RESOURCE_OBS,
    DEMO_RESOURCE_LARGE, DEMO_RESOURCE_COUNTER};

enum { MAX_THREADS = 64 };

static struct worker workers[MAX_THREADS];
static int n_workers = 1;
static bool verbose;
static uv_signal_t sigint_handle, sigterm_handle;
static uv_timer_t stop_timer;
static bool stopping;

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

/* On the worker's own loop and thread: answers still pending die with the server. */
static void on_worker_stop(uv_async_t *a)
{
    struct worker *w = a->data;
    demo_pending_cancel_all(&w->state);
    uv_close((uv_handle_t *)&w->obs_timer, on_closed);
    zcoap_uv_server_close(&w->server, NULL);
    uv_close((uv_handle_t *)&w->stop, on_closed);
}

static void on_obs_timer(uv_timer_t *t)
{
    struct worker *w = t->data;
    (void)demo_obs_tick(&w->server, &resources[OBS_RESOURCE]);
    size_t observers = zcoap_uv_server_stats(&w->server)->observers_in_use;
    if (verbose && observers != w->observers_shown) {
        w->observers_shown = observers;
        if (n_workers > 1)
            printf("zcoap-server: thread %d: %zu observers\n", (int)(w - workers), observers);
        else
            printf("zcoap-server: %zu observers\n", observers);
        fflush(stdout);
    }
}

/* On the main thread: each worker closes its own server (its loop then ends). */
static void stop(void)
{
    if (stopping)
        return;
    stopping = true;
    for (int i = 0; i < n_workers; i++)
        (void)uv_async_send(&workers[i].stop);
    uv_close((uv_handle_t *)&sigint_handle, on_closed);
    uv_close((uv_handle_t *)&sigterm_handle, on_closed);
    uv_close((uv_handle_t *)&stop_timer, on_closed);
}

static void on_signal(uv_signal_t *h, int sig)
{
    (void)h;
    (void)sig;
    stop();
}

static void on_stop_timer(uv_timer_t *t)
{
    (void)t;
    stop();
}

static void run_worker(void *arg)
{
    struct worker *w = arg;
    (void)uv_run(w->loop, UV_RUN_DEFAULT);
}

/* Loop, stop handle and server of worker @p i on @p addr; shared port when there are several. */
static int start_worker(int i, const struct sockaddr *addr, const zcoap_uv_server_config_t *cfg)
{
    struct worker *w = &workers[i];
    w->loop = uv_default_loop();
    if (i > 0) {
        int rc = uv_loop_init(&w->own_loop);
        if (rc != 0)
            return rc;
        w->loop = &w->own_loop;
    }
    w->loop_ready = true;
    int rc = uv_async_init(w->loop, &w->stop, on_worker_stop);
    if (rc != 0)
        return rc;
    w->stop.data = w;
    w->stop_ready = true;
    w->server.data = &w->state;
    rc = zcoap_uv_server_start(w->loop, &w->server, addr, cfg);
    w->server_started = rc == 0;
    if (rc == 0)
        rc = demo_obs_start(&w->server, &resources[OBS_RESOURCE]);
    if (rc == 0)
        rc = uv_timer_init(w->loop, &w->obs_timer);
    if (rc != 0)
        return rc;
    w->obs_timer.data = w;
    w->obs_timer_ready = true;
    return uv_timer_start(&w->obs_timer, on_obs_timer, DEMO_OBS_INTERVAL_MS, DEMO_OBS_INTERVAL_MS);
}

/* After a failed start, before any thread runs: close what the workers opened. */
static void close_workers(void)
{
    for (int i = 0; i < n_workers; i++) {
        struct worker *w = &workers[i];
        if (w->server_started)
            zcoap_uv_server_close(&w->server, NULL);
        if (w->obs_timer_ready)
            uv_close((uv_handle_t *)&w->obs_timer, on_closed);
        if (w->stop_ready)
            uv_close((uv_handle_t *)&w->stop, on_closed);
        if (w->loop_ready) {
            (void)uv_run(w->loop, UV_RUN_DEFAULT);
            (void)uv_loop_close(w->loop);
        }
    }
}

/* Observe's counters over every thread: registrations, notifications, how observers left. */
static void print_observe_summary(void)
{
    uint64_t registered = 0, non = 0, con = 0, deferred = 0, left = 0, cancelled = 0, reset = 0,
             timed_out = 0, error = 0;
    for (int i = 0; i < n_workers; i++) {
        const zcoap_uv_server_stats_t *st = zcoap_uv_server_stats(&workers[i].server);
        registered += st->observers_registered;
        non += st->notifications_non;
        con += st->notifications_con;
        deferred += st->notifications_deferred;
        left += st->observers_in_use;
        cancelled += st->observers_removed_deregistered;
        reset += st->observers_removed_reset;
        timed_out += st->observers_removed_timeout;
        error += st->observers_removed_error + st->observers_removed_gone;
    }
    printf("zcoap-server: observe: %llu registered, %llu notifications (%llu NON, %llu CON, "
           "%llu deferred), observers removed: %llu cancelled, %llu reset, %llu timed out, "
           "%llu ended; %llu observers left\n",
           (unsigned long long)registered, (unsigned long long)(non + con), (unsigned long long)non,
           (unsigned long long)con, (unsigned long long)deferred, (unsigned long long)cancelled,
           (unsigned long long)reset, (unsigned long long)timed_out, (unsigned long long)error,
           (unsigned long long)left);
}

static void print_summary(void)
{
    uint64_t in = 0, out = 0, peers = 0, busy = 0, incomplete = 0, too_large = 0, bad = 0;
    for (int i = 0; i < n_workers; i++) {
        const zcoap_uv_server_stats_t *st = zcoap_uv_server_stats(&workers[i].server);
        if (n_workers > 1)
            printf("zcoap-server: thread %d: %llu peers served, %llu datagrams in, %llu out\n", i,
                   (unsigned long long)st->peers_created, (unsigned long long)st->datagrams_in,
                   (unsigned long long)st->datagrams_out);
        in += st->datagrams_in;
        out += st->datagrams_out;
        peers += st->peers_created;
        busy += st->pool_full;
        incomplete += st->block_incomplete;
        too_large += st->block_too_large;
        bad += st->block_bad;
    }
    printf("zcoap-server: %llu datagrams in, %llu out, %llu peers served, %llu answered 5.03\n",
           (unsigned long long)in, (unsigned long long)out, (unsigned long long)peers,
           (unsigned long long)busy);
    print_observe_summary();
    printf("zcoap-server: block-wise: %llu blocks out of sequence (4.08), %llu bodies too large "
           "(4.13), %llu bad block options (4.00, 4.02)\n",
           (unsigned long long)incomplete, (unsigned long long)too_large, (unsigned long long)bad);
}

static void print_address(const zcoap_uv_server_t *s)
{
    struct sockaddr_storage bound;
    char host[64];
    (void)zcoap_uv_server_address(s, &bound);
    if (bound.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&bound, host, sizeof(host));
        printf("zcoap-server: listening on [%s]:%d\n", host,
               ntohs(((struct sockaddr_in6 *)&bound)->sin6_port));
    } else {
        uv_ip4_name((struct sockaddr_in *)&bound, host, sizeof(host));
        printf("zcoap-server: listening on %s:%d\n", host,
               ntohs(((struct sockaddr_in *)&bound)->sin_port));
    }
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: zcoap-server [-A ADDRESS] [-p PORT] [-n MAX_PEERS] [-T THREADS] [-t SECONDS]"
            " [-v]\n"
            "       zcoap-server --print-large SIZE\n"
            "Serves /hello, /echo, /separate, /time, /sensors/temp, /obs (observable: a counter\n"
            "notified every second, every 5th notification CON), /large, /counter (POST adds one)\n"
            "and /.well-known/core.\n"
            "Block-wise (RFC 7959, 1024-byte blocks or smaller as the client asks): /large is\n"
            "8192 bytes of text, /large?size=N N bytes (up to %u); /echo takes bodies up to\n"
            "%u bytes in Block1 blocks and echoes them block-wise. --print-large SIZE writes\n"
            "what /large?size=SIZE serves to stdout and exits.\n"
            "ADDRESS defaults to 127.0.0.1 (use :: or ::1 for IPv6), PORT to 5683 (0: any\n"
            "free port, printed), MAX_PEERS to 1024 (per thread); runs until Ctrl-C or SECONDS.\n"
            "THREADS (default 1, at most %d) loops in as many threads share the port through\n"
            "SO_REUSEPORT, the kernel spreading peers over them by address hash; the summary\n"
            "shows how many peers each served. -v prints the number of observers when it\n"
            "changes.\n",
            (unsigned)DEMO_LARGE_MAX_SIZE, (unsigned)DEMO_ECHO_MAX_BODY, MAX_THREADS);
}

/* --print-large SIZE: /large?size=SIZE, as the server generates it, to stdout. */
static int print_large(const char *arg)
{
    char *end = NULL;
    unsigned long size = strtoul(arg, &end, 10);
    if (end == arg || *end != '\0' || size > DEMO_LARGE_MAX_SIZE) {
        fprintf(stderr, "zcoap-server: --print-large: SIZE from 0 to %u\n",
                (unsigned)DEMO_LARGE_MAX_SIZE);
        return 1;
    }
    uint8_t chunk[4096];
    for (size_t offset = 0; offset < size; offset += sizeof(chunk)) {
        size_t n = size - offset < sizeof(chunk) ? size - offset : sizeof(chunk);
        demo_large_fill(offset, chunk, n);
        if (fwrite(chunk, 1, n, stdout) != n)
            return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *address = "127.0.0.1";
    int port = 5683;
    long max_peers = 1024;
    long seconds = 0;
    long threads = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--print-large") == 0 && i + 1 < argc) {
            return print_large(argv[i + 1]);
        } else if (strcmp(argv[i], "-A") == 0 && i + 1 < argc) {
            address = argv[++i];
        } else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            max_peers = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "-T") == 0 && i + 1 < argc) {
            threads = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            seconds = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "-v") == 0) {
            verbose = true;
        } else {
            usage(stderr);
            return 1;
        }
    }
    if (port < 0 || port > 65535 || max_peers < 1 || threads < 1 || threads > MAX_THREADS) {
        usage(stderr);
        return 1;
    }
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof(addr));
    if (uv_ip4_addr(address, port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(address, port, (struct sockaddr_in6 *)&addr) != 0) {
        fprintf(stderr, "zcoap-server: bad address %s\n", address);
        return 1;
    }
    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    cfg.resources = resources;
    cfg.n_resources = sizeof(resources) / sizeof(resources[0]);
    cfg.max_peers = (size_t)max_peers;
    cfg.reuse_port = threads > 1;
    cfg.max_body = DEMO_ECHO_MAX_BODY; /* /echo takes bodies this large (RFC 7959 Block1) */
    /* Every server binds before any peer is served: a socket joining the SO_REUSEPORT group
     * later would move some peers to another server. Port 0: the others take the first one's. */
    n_workers = (int)threads;
    for (int i = 0; i < n_workers; i++) {
        int rc = start_worker(i, (const struct sockaddr *)&addr, &cfg);
        if (rc == 0 && i == 0)
            rc = zcoap_uv_server_address(&workers[0].server, &addr);
        if (rc != 0) {
            fprintf(stderr, "zcoap-server: %s\n", zcoap_uv_strerror(rc));
            close_workers();
            return 1;
        }
    }
    if (n_workers > 1)
        printf("zcoap-server: %d threads, one loop and socket each, share the port "
               "(SO_REUSEPORT)\n",
               n_workers);
    print_address(&workers[0].server);
    fflush(stdout);
    uv_loop_t *loop = uv_default_loop();
    uv_signal_init(loop, &sigint_handle);
    uv_signal_start(&sigint_handle, on_signal, SIGINT);
    uv_signal_init(loop, &sigterm_handle);
    uv_signal_start(&sigterm_handle, on_signal, SIGTERM);
    uv_timer_init(loop, &stop_timer);
    if (seconds > 0)
        uv_timer_start(&stop_timer, on_stop_timer, (uint64_t)seconds * 1000u, 0);
    int status = 0;
    for (int i = 1; i < n_workers; i++) {
        int rc = uv_thread_create(&workers[i].thread, run_worker, &workers[i]);
        if (rc != 0) {
            fprintf(stderr, "zcoap-server: thread %d: %s\n", i, zcoap_uv_strerror(rc));
            status = 1;
            stop(); /* the workers without a thread are stopped by the main thread below */
            break;
        }
        workers[i].thread_started = true;
    }
    uv_run(loop, UV_RUN_DEFAULT);
    for (int i = 1; i < n_workers; i++) {
        if (workers[i].thread_started)
            (void)uv_thread_join(&workers[i].thread);
        else
            run_worker(&workers[i]); /* its stop was sent: closes its server, then returns */
        if (uv_loop_close(workers[i].loop) != 0)
            status = 1;
    }
    print_summary();
    if (uv_loop_close(loop) != 0)
        status = 1;
    return status;
}
