/*
 * The LwM2M registration interface, client side (OMA LwM2M 1.1 TS Core §6.2, Transport §6.4):
 * Register (POST /rd?ep=...&lt=...&lwm2m=1.1&b=U with the object links), Update (POST to the
 * location the server gave) before the lifetime runs out, Register again when an update is
 * refused, and De-register (DELETE to the location) at the end, waiting a bounded time.
 *
 * It drives the request path (NSTART = 1) of one zcoap_uv_client_t connected to the server;
 * the client's event callback hands it the events of that path (registration_on_event()).
 */
#ifndef LWM2M_REGISTRATION_H
#define LWM2M_REGISTRATION_H

#include <stdbool.h>
#include <stdint.h>

#include "zcoap/uv.h"

/* Room for the location ("/rd/5ba1-31b"), the query of the registration, and its links. */
#define REGISTRATION_LOCATION_SIZE 128
#define REGISTRATION_QUERY_SIZE 256

typedef struct registration registration_t;
/* The registration is over (deregistered, or given up): the client may be closed. */
typedef void (*registration_done_cb)(registration_t *r);

typedef struct registration_params {
    const char *endpoint_name; /* ep=, at most 64 characters of [A-Za-z0-9._~:-] */
    uint32_t lifetime_s;       /* lt=, at least 1 */
    /* the update goes this long before the lifetime ends; 0: max(10 %, 2 s), at most half */
    uint32_t update_margin_ms;
    uint32_t deregister_wait_ms; /* how long the De-register waits for its answer */
    bool verbose;
} registration_params_t;

enum registration_state {
    REG_IDLE,          /* nothing sent yet, or waiting to register again after a failure */
    REG_REGISTERING,   /* the Register is in flight */
    REG_REGISTERED,    /* waiting for the time of the next Update */
    REG_UPDATING,      /* an Update is in flight */
    REG_DEREGISTERING, /* the De-register is in flight */
    REG_DONE
};

struct registration {
    registration_params_t p;
    zcoap_uv_client_t *client;
    uv_loop_t *loop;
    uv_timer_t timer; /* the next Update, the next attempt, or the De-register's bound */
    enum registration_state state;
    bool stopping;
    uint32_t retry_ms; /* the back-off of failed registrations: 2 s, doubling to 60 s */
    char location[REGISTRATION_LOCATION_SIZE];
    registration_done_cb on_done;
    /* what happened, for the summary */
    unsigned registered, updated, updates_refused, deregistered;
};

/* Start registering on @p client (connected). Returns 0 or a zcoap/libuv error. */
int registration_start(registration_t *r, uv_loop_t *loop, zcoap_uv_client_t *client,
                       const registration_params_t *params);

/* Hand it an event of the client's request path (tag 0); true when it was the registration's. */
bool registration_on_event(registration_t *r, const zcoap_event_t *ev);

/* De-register if registered (bounded by deregister_wait_ms), then call @p done once. */
void registration_stop(registration_t *r, registration_done_cb done);

/* Close the timer; the registration's memory may be reused after the loop has run once. */
void registration_close(registration_t *r);

/* The delay between a successful Register or Update and the next Update, in ms. */
uint64_t registration_update_delay_ms(const registration_params_t *p);

#endif
