/*
 * The gateway's command line: what to simulate, what to bridge, where to listen, how long.
 */
#ifndef GATEWAY_OPTIONS_H
#define GATEWAY_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum {
    GW_DEFAULT_DEVICES = 100,
    GW_DEFAULT_PORT = 5683, /* RFC 7252 §12.6 */
    GW_DEFAULT_DURATION_S = 60,
    GW_DEFAULT_SLOW_PERCENT = 10,
    GW_DEFAULT_SLOW_MS = 1500, /* well over the gateway's 500 ms empty ACK: a separate answer */
    GW_DEFAULT_FLAKY_PERCENT = 0,
    GW_DEFAULT_OUTAGE_S = 30,
    GW_MAX_DEVICES = 60000 /* each takes two sockets, hence two ephemeral ports */
};

/* One device given as a coap:// URL (--external [NAME=]URL). */
struct gw_external {
    const char *name; /* NULL: "ext-<i>" */
    const char
        *url; /* coap://host[:port][/base]: the gateway observes base/temp, relays base/led */
};

struct gw_options {
    size_t devices;               /* simulated devices (-n) */
    struct gw_external *external; /* malloc'd; gw_options_free() */
    size_t n_external;
    const char *address;      /* the gateway's address (-A, default 127.0.0.1) */
    uint16_t port;            /* the gateway's port (-p; 0: a free one) */
    uint16_t device_port;     /* the first simulated device's port, the next on +1...; 0: free */
    unsigned duration_s;      /* -d; 0: until SIGINT or SIGTERM */
    unsigned slow_percent;    /* share of simulated devices that answer /led slowly */
    unsigned slow_ms;         /* how slowly */
    unsigned flaky_percent;   /* share of simulated devices with outages */
    unsigned outage_s;        /* how long each outage lasts */
    uint64_t seed;            /* of the simulated temperatures */
    double status_interval_s; /* 0: 1 s on a terminal, 5 s otherwise */
    bool verbose;             /* -v: every device's address, every change of state, every relay */
};

/* Fill @p o from the command line. Returns -1 to go on, or the exit status (0 after --help, 2
 * after a usage error, printed on stderr). */
int gw_options_parse(struct gw_options *o, int argc, char **argv);

void gw_options_usage(FILE *out);

void gw_options_free(struct gw_options *o);

#endif /* GATEWAY_OPTIONS_H */
