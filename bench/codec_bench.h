/*
 * Shared between the codec benchmark's driver and its two contenders (zcoap and libcoap): the
 * message every case works on, and the shape of a case.
 */
#ifndef ZCOAP_CODEC_BENCH_H
#define ZCOAP_CODEC_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The typical request of issue 2: CON GET, fixed MID, 4-byte token, Uri-Path "sensors",
 * Uri-Path "temp", Uri-Query "unit=c", Accept 50 (application/json). */
#define BENCH_MID 0x1234u
#define BENCH_ACCEPT 50u
#define BENCH_PATH0 "sensors"
#define BENCH_PATH1 "temp"
#define BENCH_QUERY "unit=c"
/* Length of a string literal without its NUL. */
#define BENCH_LEN(lit) (sizeof(lit) - 1u)
extern const uint8_t bench_token[4];

/* The request on the wire (RFC 7252 §3), written out by hand: the input of the parse cases
 * and the expected output of the build cases. */
extern const uint8_t bench_wire[30];

/* Largest message a build case writes. */
#define BENCH_MSG_CAP 64u

/*
 * A case runs its work `iterations` times and returns a checksum that depends on every
 * iteration's result, which the driver stores in a volatile sink, so the work cannot be
 * optimised away. A case returns 0 only if something failed (checksums are never 0).
 */
typedef uint64_t (*bench_case_fn)(uint64_t iterations);

/* One contender. */
typedef struct bench_lib {
    const char *name;
    const char *(*version)(void);
    bench_case_fn parse;       /* parse and validate the datagram */
    bench_case_fn walk;        /* parse, then visit every option, decode Accept as uint */
    bench_case_fn build;       /* write header, token and the 4 options into a reused buffer */
    bench_case_fn build_alloc; /* the same, with the allocation a real user of the API pays */
    /* Writes the message the build case produces into out (cap BENCH_MSG_CAP); returns its
     * length, or 0 on failure. */
    size_t (*encode_once)(uint8_t *out);
    /* How the API is called, for the report. */
    const char *how;
    /* How the library is linked, for the report. */
    const char *linkage;
} bench_lib_t;

extern const bench_lib_t bench_zcoap;
#ifdef ZCOAP_BENCH_HAVE_LIBCOAP
extern const bench_lib_t bench_libcoap;
/* Sets libcoap up (coap_startup, quiet logging, the reused PDUs); false on failure. */
bool bench_libcoap_init(void);
void bench_libcoap_fini(void);
#endif

/* Input pointer that the compiler must reload every iteration (it cannot prove the datagram
 * is loop-invariant, so it cannot hoist a parse out of the loop). */
extern const uint8_t *volatile bench_input;

#endif /* ZCOAP_CODEC_BENCH_H */
