/*
 * The command line of zcoap_lossy_relay (see lossy_relay.c): which faults it injects in each
 * direction, where it listens and forwards to, for how long, with which seed.
 */
#ifndef ZCOAP_RELAY_ARGS_H
#define ZCOAP_RELAY_ARGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* UP: what a client sends, on its way to the server; DOWN: the server's datagrams back. */
enum relay_direction { RELAY_UP = 0, RELAY_DOWN = 1, RELAY_DIRECTIONS = 2 };

/* The faults of one direction: probabilities from 0 to 1, times in milliseconds. */
struct relay_faults {
    double loss;        /* a datagram is dropped */
    double duplicate;   /* a datagram is sent twice (each copy delayed on its own) */
    double reorder;     /* a datagram is held back until the next one went, or reorder_ms */
    double corrupt;     /* one random byte of a copy is flipped */
    uint64_t delay_ms;  /* every datagram waits this long ... */
    uint64_t jitter_ms; /* ... plus 0 to this many milliseconds, uniformly */
    uint64_t reorder_ms;
};

struct relay_args {
    const char *address; /* a loopback address: the relay listens and forwards on it */
    int port;            /* the relay's port; 0: any free one */
    int server_port;     /* the server's port on the same address */
    const char *port_file;
    uint64_t seed;
    unsigned long seconds; /* the relay stops by itself after this long */
    bool verbose;          /* one line per datagram on stderr */
    struct relay_faults faults[RELAY_DIRECTIONS];
};

/* Fills @p args from the command line. Returns 0 to run, 1 after --help (printed on @p out),
 * -1 after a usage error (printed on @p err). */
int relay_args_parse(struct relay_args *args, int argc, char **argv, FILE *out, FILE *err);

#endif /* ZCOAP_RELAY_ARGS_H */
