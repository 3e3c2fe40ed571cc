/*
 * Simulated devices: each a zcoap_uv_server_t on its own loopback port, serving
 *
 *   /temp  GET: 2.05 text/plain, a temperature such as "21.7"; observable (RFC 7641). It takes
 *          a random step every 1-2 s and is notified to its observers, NON but every 10th
 *          notification CON (RFC 7641 §4.5: CON now and then tells a server its observer is
 *          still there).
 *   /led   GET: 2.05 "on" or "off"; PUT "on" or "off": 2.04 (anything else: 4.00). A slow
 *          device answers both after slow_ms: an empty ACK first, then a separate CON response
 *          (RFC 7252 §5.2.2); a PUT takes effect when it is answered.
 *
 * A flaky device has outages: now and then it goes silent for outage_s seconds (its datagram
 * hook drops everything, both ways, as a device out of radio range would), which the gateway
 * sees as a device that stopped answering.
 */
#ifndef GATEWAY_SIM_DEVICE_H
#define GATEWAY_SIM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zcoap/uv.h"

struct sim_device;

/* What to simulate. */
struct sim_params {
    size_t n;               /* devices */
    uint16_t first_port;    /* device i on first_port + i; 0: free ports */
    unsigned slow_percent;  /* share of devices answering /led slowly */
    unsigned slow_ms;       /* how slowly */
    unsigned flaky_percent; /* share of devices with outages */
    unsigned outage_s;      /* how long an outage lasts */
    uint64_t seed;          /* of the temperatures and outages */
};

struct sim_fleet {
    uv_loop_t *loop;
    struct sim_params params;
    struct sim_device *devices; /* n of them */
    size_t n;
    size_t started; /* servers started: the first `started` devices are running */
    size_t open;    /* close callbacks still to come */
    bool closing;
    void (*on_closed)(struct sim_fleet *f); /* sim_fleet_close()'s callback */
    /* Called when device i goes silent (down true) or answers again; may be NULL. */
    void (*on_outage)(struct sim_fleet *f, size_t i, bool down);
    void *data; /* for the application */
};

/*
 * Start the devices of @p p on @p loop, bound to 127.0.0.1. On failure (printed on stderr,
 * naming the device) the devices started so far keep running: close the fleet as usual.
 * Set f->on_outage after this if wanted (the first outage comes 5 s after start at the
 * earliest).
 * @return 0, or a zcoap/libuv error
 */
int sim_fleet_start(struct sim_fleet *f, uv_loop_t *loop, const struct sim_params *p);

/* Whether device @p i is slow, for @p slow_percent: spread evenly, so with 10 % it is dev-009,
 * dev-019, ... */
bool sim_device_is_slow(size_t i, unsigned slow_percent);

/* Whether device @p i has outages, for @p flaky_percent: spread evenly, apart from the slow
 * ones (with 10 %: dev-004, dev-014, ...). */
bool sim_device_is_flaky(size_t i, unsigned flaky_percent);

/* Where device @p i listens. */
int sim_fleet_address(const struct sim_fleet *f, size_t i, struct sockaddr_storage *out);

/* How many observers the devices have altogether (the gateway is each one's observer). */
size_t sim_fleet_observers(const struct sim_fleet *f);

/* Close every device; @p cb runs once all handles are closed (at once when none was started)
 * and the fleet's memory is freed. */
void sim_fleet_close(struct sim_fleet *f, void (*cb)(struct sim_fleet *f));

#endif /* GATEWAY_SIM_DEVICE_H */
