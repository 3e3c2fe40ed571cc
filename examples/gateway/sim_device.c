/* Simulated devices (sim_device.h): a zcoap server per device, a random walk per /temp. */
#define _POSIX_C_SOURCE 200809L

#include "sim_device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    WALK_MIN_MS = 1000, /* /temp changes every 1-2 s */
    WALK_SPREAD_MS = 1000,
    TEMP_MIN = 150, /* tenths of a degree: the walk stays within 15.0-30.0 */
    TEMP_MAX = 300,
    DEVICE_MSG_CAP = 256, /* a device's messages are small: 3 KiB per peer instead of 13 */
    DEVICE_MAX_PEERS = 8, /* the gateway and a few curious coap-clients */
    DEVICE_MAX_OBSERVERS = 4,
    CON_EVERY = 10,
    FIRST_OUTAGE_MIN_MS = 5000, /* a flaky device's first outage: 5-15 s after start */
    UP_MIN_MS = 10000           /* between outages: 10 s + up to outage_s */
};

/* A slow answer owed, on its timer; listed so that closing can cancel it. */
struct sim_answer {
    uv_timer_t timer;
    zcoap_uv_peer_t *peer;
    struct sim_device *dev;
    struct sim_answer *prev, *next;
    uint8_t method;
    bool turn_on; /* the PUT's new state */
};

struct sim_device {
    zcoap_uv_server_t server;
    uv_timer_t walk;
    struct sim_fleet *fleet;
    struct sim_answer *owed;
    uint64_t rng;
    int tenths;        /* the temperature in tenths of a degree */
    uv_timer_t outage; /* a flaky device's next outage, or its end */
    bool led_on;
    bool slow;
    bool down;         /* in an outage: every datagram is dropped */
    bool walk_ready;   /* the walk timer is initialised: close it */
    bool outage_ready; /* the outage timer is too */
};

static void on_temp(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                    const zcoap_msg_t *req);
static void on_led(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                   const zcoap_msg_t *req);

#define HANDLER(fn) ((void *)(uintptr_t)(fn))

enum { TEMP_RESOURCE = 0 };
static const zcoap_resource_t device_resources[] = {
    [TEMP_RESOURCE] = {"temp", ZCOAP_METHOD_BIT(ZCOAP_GET),
                       "rt=\"temperature-c\";if=\"sensor\";ct=0;obs", false, HANDLER(on_temp)},
    {"led", ZCOAP_METHOD_BIT(ZCOAP_GET) | ZCOAP_METHOD_BIT(ZCOAP_PUT),
     "rt=\"light\";if=\"actuator\";ct=0", false, HANDLER(on_led)},
};

/* splitmix64: seeded, so a run can be repeated. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

bool sim_device_is_slow(size_t i, unsigned slow_percent)
{
    return (i + 1) * slow_percent / 100u > i * slow_percent / 100u;
}

bool sim_device_is_flaky(size_t i, unsigned flaky_percent)
{
    /* The same spread, half a step later. */
    return ((i + 1) * flaky_percent + 50u) / 100u > (i * flaky_percent + 50u) / 100u;
}

static void on_temp(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                    const zcoap_msg_t *req)
{
    (void)res;
    (void)req; /* NULL for a notification: the answer is the same, the current value */
    const struct sim_device *dev = s->data;
    int t = dev->tenths;
    char text[16];
    int n = snprintf(text, sizeof(text), "%s%d.%d", t < 0 ? "-" : "", abs(t) / 10, abs(t) % 10);
    (void)zcoap_uv_peer_respond(peer, ZCOAP_CONTENT, ZCOAP_CF_TEXT_PLAIN, text, (size_t)n);
}

/* Answer a /led request now: GET reads the state, PUT sets it. */
static void answer_led(struct sim_device *dev, zcoap_uv_peer_t *peer, uint8_t method, bool on)
{
    if (method == ZCOAP_PUT)
        dev->led_on = on;
    const char *state = dev->led_on ? "on" : "off";
    uint8_t code = method == ZCOAP_PUT ? ZCOAP_CHANGED : ZCOAP_CONTENT;
    (void)zcoap_uv_peer_respond(peer, code, ZCOAP_CF_TEXT_PLAIN, state, strlen(state));
}

static void answer_unlink(struct sim_answer *a)
{
    if (a->prev != NULL)
        a->prev->next = a->next;
    else
        a->dev->owed = a->next;
    if (a->next != NULL)
        a->next->prev = a->prev;
    a->peer->data = NULL; /* the peer may be recycled once its exchange is over */
}

static void fleet_closed_one(struct sim_fleet *f);

static void on_answer_closed(uv_handle_t *h)
{
    struct sim_answer *a = h->data;
    struct sim_fleet *f = a->dev->fleet;
    free(a);
    fleet_closed_one(f);
}

static void on_answer_due(uv_timer_t *t)
{
    struct sim_answer *a = t->data;
    answer_unlink(a); /* first: the answer's flush may recycle the peer */
    answer_led(a->dev, a->peer, a->method, a->turn_on);
    a->dev->fleet->open++;
    uv_close((uv_handle_t *)&a->timer, on_answer_closed);
}

/* The answer of a slow device: ACK now (RFC 7252 §5.2.2), the response after slow_ms. */
static void answer_later(struct sim_device *dev, zcoap_uv_peer_t *peer, const zcoap_msg_t *req,
                         bool on)
{
    struct sim_answer *a = malloc(sizeof(*a));
    if (a == NULL || uv_timer_init(dev->fleet->loop, &a->timer) != 0) {
        free(a);
        (void)zcoap_uv_peer_respond(peer, ZCOAP_SERVICE_UNAVAILABLE, -1, NULL, 0);
        return;
    }
    *a = (struct sim_answer){.timer = a->timer,
                             .peer = peer,
                             .dev = dev,
                             .next = dev->owed,
                             .method = req->code,
                             .turn_on = on};
    a->timer.data = a;
    if (dev->owed != NULL)
        dev->owed->prev = a;
    dev->owed = a;
    peer->data = a; /* an answer is owed: the server keeps the peer */
    if (req->type == ZCOAP_TYPE_CON)
        (void)zcoap_uv_peer_ack(peer);
    (void)uv_timer_start(&a->timer, on_answer_due, dev->fleet->params.slow_ms, 0);
}

static bool payload_is(const zcoap_msg_t *m, const char *text)
{
    size_t len = strlen(text);
    return m->payload_len == len && memcmp(m->payload, text, len) == 0;
}

static void on_led(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                   const zcoap_msg_t *req)
{
    (void)res;
    struct sim_device *dev = s->data;
    bool on = false;
    if (req->code == ZCOAP_PUT) {
        on = payload_is(req, "on");
        if (!on && !payload_is(req, "off")) {
            static const char why[] = "PUT \"on\" or \"off\"";
            (void)zcoap_uv_peer_respond(peer, ZCOAP_BAD_REQUEST, ZCOAP_CF_TEXT_PLAIN, why,
                                        sizeof(why) - 1);
            return;
        }
    }
    if (dev->slow)
        answer_later(dev, peer, req, on);
    else
        answer_led(dev, peer, req->code, on);
}

static unsigned walk_delay(struct sim_device *dev)
{
    return WALK_MIN_MS + (unsigned)(next_random(&dev->rng) % WALK_SPREAD_MS);
}

/* /temp takes a step of 0.1-0.3 up or down, and its observers hear of it. */
static void on_walk(uv_timer_t *t)
{
    struct sim_device *dev = t->data;
    uint64_t r = next_random(&dev->rng);
    int step = 1 + (int)(r % 3u);
    if ((r >> 8) & 1u)
        step = -step;
    if (dev->tenths + step < TEMP_MIN || dev->tenths + step > TEMP_MAX)
        step = -step;
    dev->tenths += step;
    (void)zcoap_uv_server_notify(&dev->server, &device_resources[TEMP_RESOURCE]);
    (void)uv_timer_start(&dev->walk, on_walk, walk_delay(dev), 0);
}

/* A device in an outage hears nothing and says nothing. */
static bool drop_when_down(void *ctx, zcoap_uv_datagram_dir_t dir, const struct sockaddr *peer,
                           const uint8_t *data, size_t len)
{
    (void)dir;
    (void)peer;
    (void)data;
    (void)len;
    const struct sim_device *dev = ctx;
    return !dev->down;
}

/* A flaky device's outage begins or ends; the next change is scheduled. */
static void on_outage(uv_timer_t *t)
{
    struct sim_device *dev = t->data;
    struct sim_fleet *f = dev->fleet;
    dev->down = !dev->down;
    uint64_t next = dev->down
                        ? f->params.outage_s * 1000ull
                        : UP_MIN_MS + next_random(&dev->rng) % (f->params.outage_s * 1000ull + 1u);
    (void)uv_timer_start(&dev->outage, on_outage, next, 0);
    if (f->on_outage != NULL)
        f->on_outage(f, (size_t)(dev - f->devices), dev->down);
}

static int device_start(struct sim_fleet *f, size_t i)
{
    const struct sim_params *p = &f->params;
    struct sim_device *dev = &f->devices[i];
    dev->fleet = f;
    dev->slow = sim_device_is_slow(i, p->slow_percent);
    dev->rng = p->seed ^ ((uint64_t)(i + 1) << 32);
    dev->tenths = 180 + (int)(next_random(&dev->rng) % 60u);
    zcoap_uv_server_config_t cfg;
    zcoap_uv_server_config_default(&cfg);
    cfg.resources = device_resources;
    cfg.n_resources = sizeof(device_resources) / sizeof(device_resources[0]);
    cfg.max_peers = DEVICE_MAX_PEERS;
    cfg.msg_cap = DEVICE_MSG_CAP;
    cfg.max_observers = DEVICE_MAX_OBSERVERS;
    cfg.obs_policy.con_every = CON_EVERY;
    cfg.recvmmsg = false;     /* a device sees a datagram now and then: no 1.3 MB batch buffer */
    cfg.recv_buffer_size = 0; /* the system's socket buffer is plenty for one peer */
    uint16_t port = p->first_port == 0 ? 0 : (uint16_t)(p->first_port + i);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    dev->server.data = dev;
    int rc = zcoap_uv_server_start(f->loop, &dev->server, (const struct sockaddr *)&addr, &cfg);
    if (rc != 0)
        return rc;
    f->started++;
    rc = uv_timer_init(f->loop, &dev->walk);
    if (rc != 0)
        return rc;
    dev->walk_ready = true;
    dev->walk.data = dev;
    /* The first step comes within 0-2 s, so that the devices do not all step together. */
    rc = uv_timer_start(&dev->walk, on_walk, next_random(&dev->rng) % (2u * WALK_MIN_MS), 0);
    if (rc != 0 || !sim_device_is_flaky(i, p->flaky_percent) || p->outage_s == 0)
        return rc;
    zcoap_uv_server_set_hook(&dev->server, drop_when_down, dev);
    rc = uv_timer_init(f->loop, &dev->outage);
    if (rc != 0)
        return rc;
    dev->outage_ready = true;
    dev->outage.data = dev;
    return uv_timer_start(&dev->outage, on_outage,
                          FIRST_OUTAGE_MIN_MS + next_random(&dev->rng) % 10000u, 0);
}

int sim_fleet_start(struct sim_fleet *f, uv_loop_t *loop, const struct sim_params *p)
{
    *f = (struct sim_fleet){.loop = loop, .params = *p};
    if (p->n == 0)
        return 0;
    f->devices = calloc(p->n, sizeof(*f->devices));
    if (f->devices == NULL)
        return ZCOAP_ENOSPC;
    f->n = p->n;
    for (size_t i = 0; i < p->n; i++) {
        int rc = device_start(f, i);
        if (rc != 0) {
            fprintf(stderr, "gateway: simulated device %zu of %zu (port %u): %s\n", i + 1, p->n,
                    p->first_port == 0 ? 0u : (unsigned)(p->first_port + i), zcoap_uv_strerror(rc));
            return rc;
        }
    }
    return 0;
}

int sim_fleet_address(const struct sim_fleet *f, size_t i, struct sockaddr_storage *out)
{
    if (i >= f->started)
        return ZCOAP_EINVAL;
    return zcoap_uv_server_address(&f->devices[i].server, out);
}

size_t sim_fleet_observers(const struct sim_fleet *f)
{
    size_t total = 0;
    for (size_t i = 0; i < f->started; i++)
        total += zcoap_uv_server_stats(&f->devices[i].server)->observers_in_use;
    return total;
}

/* One handle of the fleet closed; with the last, while closing, the fleet is gone. */
static void fleet_closed_one(struct sim_fleet *f)
{
    if (--f->open > 0 || !f->closing)
        return;
    free(f->devices);
    f->devices = NULL;
    f->n = f->started = 0;
    if (f->on_closed != NULL)
        f->on_closed(f);
}

/* The walk's or the outage's timer. */
static void on_walk_closed(uv_handle_t *h)
{
    const struct sim_device *dev = h->data;
    fleet_closed_one(dev->fleet);
}

static void on_server_closed(zcoap_uv_server_t *s)
{
    const struct sim_device *dev = s->data;
    fleet_closed_one(dev->fleet);
}

void sim_fleet_close(struct sim_fleet *f, void (*cb)(struct sim_fleet *f))
{
    f->on_closed = cb;
    f->closing = true;
    f->open++; /* held until every close below is requested */
    for (size_t i = 0; i < f->started; i++) {
        struct sim_device *dev = &f->devices[i];
        while (dev->owed != NULL) { /* answers owed die with the device */
            struct sim_answer *a = dev->owed;
            answer_unlink(a);
            f->open++;
            uv_close((uv_handle_t *)&a->timer, on_answer_closed);
        }
        if (dev->walk_ready) {
            f->open++;
            uv_close((uv_handle_t *)&dev->walk, on_walk_closed);
        }
        if (dev->outage_ready) {
            f->open++;
            uv_close((uv_handle_t *)&dev->outage, on_walk_closed);
        }
        f->open++;
        zcoap_uv_server_close(&dev->server, on_server_closed);
    }
    fleet_closed_one(f);
}
