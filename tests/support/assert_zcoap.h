/**
 * @file assert_zcoap.h
 * @brief cmocka assertions that name zcoap error codes on failure ("got ZCOAP_ENOSPC (-1002),
 *        expected ZCOAP_OK (0)") and show byte strings as hex, instead of bare numbers.
 *
 * Include after <stdarg.h>, <stddef.h>, <stdint.h>, <setjmp.h> and <cmocka.h>.
 */
#ifndef ZCOAP_TEST_ASSERT_ZCOAP_H
#define ZCOAP_TEST_ASSERT_ZCOAP_H

#include <stddef.h>
#include <stdint.h>

#include "zcoap/err.h"

/** Fails the running test unless @p got == @p expected; values in zcoap's range are named. */
void assert_zcoap_check_value(long long got, long long expected, const char *expr, const char *file,
                              int line);

/** Fails the running test unless the two byte strings are equal; prints both in hex. */
void assert_zcoap_check_bytes(const uint8_t *got, size_t got_len, const uint8_t *expected,
                              size_t expected_len, const char *expr, const char *file, int line);

/** @p expr (an int error code) must be ZCOAP_OK. */
#define assert_zcoap_ok(expr) assert_zcoap_err((expr), ZCOAP_OK)

/** @p expr (an int error code) must equal @p expected (a ZCOAP_* code). */
#define assert_zcoap_err(expr, expected)                                                           \
    assert_zcoap_check_value((long long)(expr), (long long)(expected), #expr, __FILE__, __LINE__)

/** @p expr (a ptrdiff_t length-or-error) must be the length @p expected_len. */
#define assert_zcoap_len(expr, expected_len)                                                       \
    assert_zcoap_check_value((long long)(expr), (long long)(expected_len), #expr, __FILE__,        \
                             __LINE__)

/** Byte strings must be equal, length included. */
#define assert_zcoap_bytes(got, got_len, expected, expected_len)                                   \
    assert_zcoap_check_bytes((got), (got_len), (expected), (expected_len), #got, __FILE__, __LINE__)

#endif /* ZCOAP_TEST_ASSERT_ZCOAP_H */
