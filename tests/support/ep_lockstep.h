/**
 * @file ep_lockstep.h
 * @brief The fixture of the endpoint's lockstep tests (test_endpoint_out.c, test_endpoint_in.c,
 *        test_endpoint_auto.c): one endpoint and a scripted peer on a virtual link.
 *
 * Lockstep tests of the endpoint (Californium's model): the test plays the peer datagram by
 * datagram over a lossless, instant virtual link and checks every byte the endpoint sends and
 * the exact instant it sends it. One test per rule of RFC 7252 §4-§5 as issue 3 lists them.
 *
 * Our own requests carry a random message ID and token: the test reads them from the first
 * transmission, checks their shape, and then expects exact bytes built from them.
 *
 * Include after "zcoap_test.h".
 */
#ifndef ZCOAP_TEST_EP_LOCKSTEP_H
#define ZCOAP_TEST_EP_LOCKSTEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "test_rng.h"
#include "virtual_net.h"
#include "zcoap/endpoint.h"

/** Node of the endpoint under test. */
#define EP 0
/** Node of the scripted peer. */
#define PEER 1
/** Start far from 0 so that relative and absolute times cannot be confused. */
#define T0 1000000u

/** The fixture: the link, the endpoint, its configuration and storage, and what was checked. */
typedef struct fx {
    vnet_t net;
    zcoap_ep_t ep;
    zcoap_ep_config_t cfg;
    zcoap_ep_storage_t store;
    test_rng_t rng;
    size_t inbox_pos; /**< datagrams of the endpoint already checked */
    size_t log_pos;   /**< events of the endpoint already checked */
} fx_t;

/** One request we sent, as read back from the wire. */
typedef struct sent_req {
    uint16_t mid;
    uint8_t token[8];
    size_t token_len;
    uint8_t bytes[256];
    size_t len;
} sent_req_t;

/* ---- fixture and clock --------------------------------------------------------------------- */

/** cmocka setup: a default configuration with a seeded random source (ZCOAP_TEST_SEED). */
int fx_setup(void **state);
/** cmocka teardown: frees the link and the fixture. */
int fx_teardown(void **state);
/** Exact timing: no random factor, so every retransmission instant is known. */
void exact_timing(fx_t *f);
/** Initialise the endpoint with f->cfg at T0 and attach it and the peer to a fresh link. */
void start(fx_t *f);
/** The virtual clock. */
uint64_t now(const fx_t *f);
/** Run the link (deliveries, deadlines) until time @p t. */
void run_to(fx_t *f, uint64_t t);

/* ---- the peer's side ----------------------------------------------------------------------- */

/** The peer sends @p d and the link delivers it at once. */
void peer_bytes(fx_t *f, const uint8_t *d, size_t len);
/** The peer sends the datagram written in hex. */
void peer_hex(fx_t *f, const char *hex);
/** The peer sends an Empty message of @p type. */
void peer_empty(fx_t *f, uint8_t type, uint16_t mid);
/** A message from the peer: header, token, optional Uri-Path, optional payload. */
size_t build_msg(uint8_t *out, size_t cap, uint8_t type, uint8_t code, uint16_t mid,
                 const uint8_t *token, size_t token_len, const char *path, const char *payload);
/** The peer sends the message build_msg() makes of the same arguments. */
void peer_msg(fx_t *f, uint8_t type, uint8_t code, uint16_t mid, const uint8_t *token,
              size_t token_len, const char *path, const char *payload);

/* ---- what the endpoint sent ---------------------------------------------------------------- */

/** The next datagram the endpoint sent, which must have been sent at @p at. */
const vnet_dgram_t *next_sent_at(fx_t *f, uint64_t at, const char *file, int line);
#define next_sent(f, at) next_sent_at((f), (at), __FILE__, __LINE__)

/** The next datagram sent must be sent at @p at and be exactly @p want. */
void expect_sent_bytes_at(fx_t *f, uint64_t at, const uint8_t *want, size_t len, const char *file,
                          int line);
#define expect_sent_bytes(f, at, want, len)                                                        \
    expect_sent_bytes_at((f), (at), (want), (len), __FILE__, __LINE__)

/** The next datagram sent must be sent at @p at and be exactly the bytes written in hex. */
void expect_sent_hex_at(fx_t *f, uint64_t at, const char *hex, const char *file, int line);
#define expect_sent_hex(f, at, hex) expect_sent_hex_at((f), (at), (hex), __FILE__, __LINE__)

/** The next datagram sent must be sent at @p at and be an Empty message of @p type and @p mid. */
void expect_sent_empty_at(fx_t *f, uint64_t at, uint8_t type, uint16_t mid, const char *file,
                          int line);
#define expect_sent_empty(f, at, type, mid)                                                        \
    expect_sent_empty_at((f), (at), (type), (mid), __FILE__, __LINE__)

/** Nothing may have been sent since the last check. */
void expect_nothing_sent_at(fx_t *f, const char *file, int line);
#define expect_nothing_sent(f) expect_nothing_sent_at((f), __FILE__, __LINE__)

/* ---- events -------------------------------------------------------------------------------- */

/** The events since the last check must be exactly @p kinds, in order. Returns the first. */
const vnet_event_rec_t *expect_events_at(fx_t *f, const zcoap_event_kind_t *kinds, size_t n,
                                         const char *file, int line);
#define expect_events(f, ...)                                                                      \
    expect_events_at((f), (const zcoap_event_kind_t[]){__VA_ARGS__},                               \
                     sizeof((const zcoap_event_kind_t[]){__VA_ARGS__}) /                           \
                         sizeof(zcoap_event_kind_t),                                               \
                     __FILE__, __LINE__)
/** No event may have come since the last check. */
#define expect_no_events(f) expect_events_at((f), NULL, 0, __FILE__, __LINE__)

/* ---- our requests -------------------------------------------------------------------------- */

/** Begin a request with Uri-Path "test" (and a payload), send it, and read it off the wire. */
void request(fx_t *f, uint8_t type, uint8_t method, const char *payload, uint32_t timeout,
             sent_req_t *out);
/** request() of a CON GET with the configured response timeout and no payload. */
void con_get(fx_t *f, sent_req_t *out);
/** Piggybacked 2.05 "ok" answering @p r. */
void peer_piggyback(fx_t *f, const sent_req_t *r);
/** The payload of @p m must be exactly the string @p want. */
void expect_payload(const zcoap_msg_t *m, const char *want);

/* ---- requests from the peer ---------------------------------------------------------------- */

/** The token of the peer's requests: c0 c1 c2 c3. */
extern const uint8_t ptok[4];
/** CON GET /test, MID @p mid, token c0 c1 c2 c3. */
void peer_con_get(fx_t *f, uint16_t mid);
/** Answer the pending request with 2.05 and @p payload. */
void respond(fx_t *f, bool confirmable, const char *payload);
/** Start a separate CON response to a CON request and return its MID. */
uint16_t separate_con_response(fx_t *f, uint16_t req_mid, uint8_t *bytes, size_t *len);

#endif /* ZCOAP_TEST_EP_LOCKSTEP_H */
