/**
 * @file uv.h
 * @brief The libuv adapter of zcoap: the only part of zcoap that includes <uv.h>.
 *
 * The adapter moves datagrams between uv_udp_t handles and zcoap endpoints and turns each
 * endpoint's next deadline into a uv_timer_t. It grows with the endpoint; so far it offers the
 * error strings covering both code ranges and the OS random source endpoints will take.
 *
 * Like libuv itself, everything here belongs to one loop and one thread; nothing takes a lock.
 * Link with zcoap::uv (CMake) or `pkg-config zcoap-uv`; both define _POSIX_C_SOURCE=200809L,
 * which <uv.h> needs under strict -std=c11.
 */
#ifndef ZCOAP_UV_H
#define ZCOAP_UV_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "zcoap/zcoap.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Description of an error returned by zcoap or by libuv.
 *
 * zcoap's codes (0 and -1000..-1099) go to zcoap_strerror(); every other code is libuv's
 * (negative errno values) and goes to uv_strerror(). The two ranges never overlap.
 *
 * @param[in] err An error code from either library.
 * @return A string that lives as long as the program. libuv formats codes it does not know into
 *         a string it never frees; pass only codes that libuv or zcoap actually returned.
 */
const char *zcoap_uv_strerror(int err);

/**
 * @brief Fill a buffer from the operating system's random source, synchronously.
 *
 * This is the random source the adapter gives endpoints for tokens and initial message IDs,
 * which must be hard to guess (RFC 7252 §5.3.1, §4.4). It calls uv_random() without a loop, so
 * it blocks only if the kernel's pool is not yet initialised (early boot).
 *
 * @param[in]  ctx Unused; present so the function matches the endpoint's rng callback type.
 * @param[out] out Where to write @p len random bytes (may be NULL when @p len is 0).
 * @param[in]  len How many bytes.
 * @retval 0           @p out holds @p len random bytes (always for @p len 0)
 * @retval UV_E2BIG    @p len is larger than libuv accepts in one call
 * @retval UV_EINVAL   @p out is NULL with @p len > 0
 * @retval other       a negative libuv error from the OS source (ENOSYS, EIO, ...)
 */
int zcoap_uv_random(void *ctx, uint8_t *out, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* ZCOAP_UV_H */
