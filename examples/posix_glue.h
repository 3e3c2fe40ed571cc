/*
 * What an endpoint needs from a POSIX system when there is no event loop (the examples drive one
 * endpoint with poll()); the libuv adapter does the same with uv_now() and uv_random().
 */
#ifndef ZCOAP_EXAMPLES_POSIX_GLUE_H
#define ZCOAP_EXAMPLES_POSIX_GLUE_H

#include <stddef.h>
#include <stdint.h>

/* The endpoint's `now`: milliseconds of CLOCK_MONOTONIC, a clock that never jumps. */
uint64_t glue_now_ms(void);

/* The endpoint's random source, getrandom(): tokens must be hard to guess (RFC 7252 §5.3.1). */
int glue_os_random(void *ctx, uint8_t *out, size_t len);

/* Print a datagram on one line with zcoap_msg_print(), after a direction marker ("->", "<-"). */
void glue_print_datagram(const char *direction, const uint8_t *buf, size_t len);

#endif /* ZCOAP_EXAMPLES_POSIX_GLUE_H */
