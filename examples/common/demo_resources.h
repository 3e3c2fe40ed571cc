/*
 * The demo servers' resources, one copy for zcoap-server, loop_demo and zcoap_bench_server, so
 * that a client gets the same answers from each:
 *
 *   /hello         GET: 2.05 text/plain "Hello World!"
 *   /echo          POST, PUT, FETCH, PATCH, iPATCH: the request's payload and Content-Format
 *                  back; FETCH 2.05 (it only reads), the others 2.04. Bodies of any size up to
 *                  DEMO_ECHO_MAX_BODY come block-wise (Block1, RFC 7959): the blocks are kept
 *                  and the last one is answered with the whole body, block-wise (Block2) when
 *                  it is larger than a block; the client fetches the rest with the same method
 *                  and Block2, without a payload (RFC 7959 §3.2). The last DEMO_ECHO_BODIES
 *                  bodies are kept, one per client address; they are freed by
 *                  demo_pending_cancel_all()
 *   /large         GET, FETCH: 2.05 text/plain, DEMO_LARGE_DEFAULT_SIZE bytes of 64-byte lines
 *                  ("line 000123 of the zcoap /large resource ....\n"), or N bytes with
 *                  ?size=N (0 to DEMO_LARGE_MAX_SIZE; else 4.00), always block-wise when larger
 *                  than a block (Block2, Size2, an ETag from the size); generated slice by
 *                  slice (demo_large_fill()), never held whole
 *   /separate      GET: an empty ACK at once, then "That took a while." in a CON 2.05 300 ms
 *                  later (RFC 7252 §5.2.2)
 *   /time          GET: 2.05, the UTC time as text
 *   /sensors/temp  GET: 2.05 "21.5" (a path of two segments)
 *   /obs           GET: 2.05, a counter as text; observable (RFC 7641): the program calls
 *                  demo_obs_tick() every DEMO_OBS_INTERVAL_MS, which counts one more and notifies
 *                  the observers, NON but every DEMO_OBS_CON_EVERY-th CON (demo_obs_start())
 *   /counter       POST: counts one more, 2.04 with the new count as text; GET: 2.05, the count.
 *                  POST is not idempotent (RFC 7252 §5.8.2): the fault tests (tests/faults)
 *                  check through it that no retransmitted or duplicated request runs twice
 *
 * Each DEMO_RESOURCE_* is one entry of a zcoap_resource_t table, with the link-format attributes
 * /.well-known/core lists for it (RFC 6690); a program's table names the ones it serves.
 *
 * The server's data pointer must point to a demo_state_t (zeroed), the resources' state on that
 * server. /separate keeps its answers pending on timers and /echo keeps bodies: the program
 * calls demo_pending_cancel_all() on it before it closes the server.
 */
#ifndef ZCOAP_DEMO_RESOURCES_H
#define ZCOAP_DEMO_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zcoap/uv.h"

enum {
    DEMO_ECHO_BODIES = 4,           /* bodies /echo keeps, one per client address */
    DEMO_ECHO_MAX_BODY = 4u << 20,  /* the largest body /echo takes (4.13 above) */
    DEMO_ECHO_KEEP_ABOVE = 64,      /* a body without Block1 is kept when longer: its echo
                                       may go block-wise with 64-byte blocks or larger */
    DEMO_LARGE_DEFAULT_SIZE = 8192, /* /large without ?size= */
    DEMO_LARGE_MAX_SIZE = 4u << 20, /* /large?size=N: N at most this */
    DEMO_LARGE_LINE = 64            /* /large is made of lines this long, '\n' included */
};

/* A body /echo keeps for a client, to answer the follow-ups of a block-wise echo. */
typedef struct demo_echo_body {
    struct sockaddr_storage from; /* the client's address (zero-filled around) */
    uint8_t *data;                /* malloc'd, cap bytes, len of them used */
    size_t len, cap;
    int content_format; /* the body's, < 0: none */
    uint64_t last_used; /* for choosing the one to drop */
    bool in_use;
} demo_echo_body_t;

/* The demo resources' state on one server: the answers /separate still owes, each on its
 * timer, the counter of /obs, and the bodies /echo keeps. */
typedef struct demo_state {
    struct demo_pending *head;
    uint32_t obs_count;
    uint64_t counter; /* /counter: POSTs executed */
    demo_echo_body_t echo[DEMO_ECHO_BODIES];
    uint64_t echo_clock;
} demo_state_t;

/* Its first name, from when it held /separate's answers only. */
typedef demo_state_t demo_pending_list_t;

/* Drop every answer still owed on @p list, closing their timers (their peers may be recycled),
 * and free the bodies /echo keeps. */
void demo_pending_cancel_all(demo_pending_list_t *list);

/* The bytes [offset, offset + len) of /large's text (the same for every size: /large?size=N is
 * its first N bytes): line i, counted from 0, is "line %06zu of the zcoap /large resource "
 * padded with '.' to 63 bytes, then '\n'. */
void demo_large_fill(size_t offset, uint8_t *out, size_t len);

enum {
    DEMO_OBS_INTERVAL_MS = 1000, /* how often a program calls demo_obs_tick() */
    DEMO_OBS_CON_EVERY = 5       /* every 5th notification of /obs is CON, the others NON */
};

/* Set /obs's policy on @p s (@p obs: its entry in the server's table): CON every 5th. */
int demo_obs_start(zcoap_uv_server_t *s, const zcoap_resource_t *obs);

/* /obs counts one more: notify its observers. Returns zcoap_uv_server_notify()'s result. */
int demo_obs_tick(zcoap_uv_server_t *s, const zcoap_resource_t *obs);

void demo_on_hello(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                   const zcoap_msg_t *req);
void demo_on_echo(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                  const zcoap_msg_t *req);
void demo_on_separate(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                      const zcoap_msg_t *req);
void demo_on_time(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                  const zcoap_msg_t *req);
void demo_on_temp(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                  const zcoap_msg_t *req);
void demo_on_large(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                   const zcoap_msg_t *req);
/* /obs: also called with req NULL for each notification (zcoap_uv_handler_fn). */
void demo_on_obs(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                 const zcoap_msg_t *req);

void demo_on_counter(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                     const zcoap_msg_t *req);

/* A handler in the table's untyped slot (the adapter calls it as a zcoap_uv_handler_fn). */
#define DEMO_HANDLER(fn) ((void *)(uintptr_t)(fn))

#define DEMO_RESOURCE_HELLO                                                                        \
    {                                                                                              \
        "hello", ZCOAP_METHOD_BIT(ZCOAP_GET), "rt=\"hello\";ct=0;title=\"Hello World\"", false,    \
            DEMO_HANDLER(demo_on_hello)                                                            \
    }
#define DEMO_RESOURCE_ECHO                                                                         \
    {                                                                                              \
        "echo",                                                                                    \
            ZCOAP_METHOD_BIT(ZCOAP_POST) | ZCOAP_METHOD_BIT(ZCOAP_PUT) |                           \
                ZCOAP_METHOD_BIT(ZCOAP_FETCH) | ZCOAP_METHOD_BIT(ZCOAP_PATCH) |                    \
                ZCOAP_METHOD_BIT(ZCOAP_IPATCH),                                                    \
            "rt=\"echo\"", false, DEMO_HANDLER(demo_on_echo)                                       \
    }
#define DEMO_RESOURCE_SEPARATE                                                                     \
    {                                                                                              \
        "separate", ZCOAP_METHOD_BIT(ZCOAP_GET), "rt=\"separate\";ct=0", false,                    \
            DEMO_HANDLER(demo_on_separate)                                                         \
    }
#define DEMO_RESOURCE_TIME                                                                         \
    {                                                                                              \
        "time", ZCOAP_METHOD_BIT(ZCOAP_GET), "rt=\"clock\";ct=0", false,                           \
            DEMO_HANDLER(demo_on_time)                                                             \
    }
#define DEMO_RESOURCE_SENSORS_TEMP                                                                 \
    {                                                                                              \
        "sensors/temp", ZCOAP_METHOD_BIT(ZCOAP_GET), "rt=\"temperature-c\";if=\"sensor\";ct=0",    \
            false, DEMO_HANDLER(demo_on_temp)                                                      \
    }
/* sz: the size of the default representation (RFC 6690 §3.3). */
#define DEMO_RESOURCE_LARGE                                                                        \
    {                                                                                              \
        "large", ZCOAP_METHOD_BIT(ZCOAP_GET) | ZCOAP_METHOD_BIT(ZCOAP_FETCH),                      \
            "rt=\"large\";ct=0;sz=8192", false, DEMO_HANDLER(demo_on_large)                        \
    }
/* `obs` makes it observable (RFC 7641 §6), and is listed in /.well-known/core. */
#define DEMO_RESOURCE_OBS                                                                          \
    {                                                                                              \
        "obs", ZCOAP_METHOD_BIT(ZCOAP_GET), "rt=\"counter\";ct=0;obs", false,                      \
            DEMO_HANDLER(demo_on_obs)                                                              \
    }
#define DEMO_RESOURCE_COUNTER                                                                      \
    {                                                                                              \
        "counter", ZCOAP_METHOD_BIT(ZCOAP_GET) | ZCOAP_METHOD_BIT(ZCOAP_POST),                     \
            "rt=\"post-counter\";ct=0", false, DEMO_HANDLER(demo_on_counter)                       \
    }

#endif /* ZCOAP_DEMO_RESOURCES_H */
