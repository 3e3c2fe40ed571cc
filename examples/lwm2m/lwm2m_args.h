/* The command line of lwm2m-client (lwm2m-client -h lists it). */
#ifndef LWM2M_ARGS_H
#define LWM2M_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "zcoap/uv.h"

#define PROGRAM "lwm2m-client"

typedef struct lwm2m_options {
    const char *server_uri;    /* -s coap://host[:port] of the LwM2M server / RD */
    const char *endpoint_name; /* -e */
    uint32_t lifetime_s;       /* -l */
    uint32_t update_margin_s;  /* -m; 0: the default rule (registration.h) */
    uint32_t duration_s;       /* -d; 0: until SIGINT/SIGTERM */
    uint32_t deregister_wait_ms;
    bool bind_set; /* -b ADDR:PORT: the registration's socket */
    struct sockaddr_storage bind_addr;
    bool serve_set; /* -S ADDR:PORT: the Device object for local tools */
    struct sockaddr_storage serve_addr;
    bool verbose;
} lwm2m_options_t;

/* Fill @p o from the command line. Returns 0, or the exit status to leave with (usage: 2;
 * -h: 0 with *help set). */
int lwm2m_parse_args(int argc, char **argv, lwm2m_options_t *o, bool *help);

#endif
