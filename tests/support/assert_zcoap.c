/* Failure messages that name zcoap error codes and show bytes in hex. */
#include "assert_zcoap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"

/* "ZCOAP_ENOSPC (-1002)" for codes in zcoap's range, the plain number otherwise. */
static void describe(long long v, char *out, size_t cap)
{
    if (v == 0 || (v >= ZCOAP_ERR_MIN && v <= ZCOAP_ERR_MAX))
        snprintf(out, cap, "%s (%lld)", zcoap_err_name((int)v), v);
    else
        snprintf(out, cap, "%lld", v);
}

void assert_zcoap_check_value(long long got, long long expected, const char *expr, const char *file,
                              int line)
{
    if (got == expected)
        return;
    char got_s[64];
    char exp_s[64];
    describe(got, got_s, sizeof(got_s));
    describe(expected, exp_s, sizeof(exp_s));
    print_error("%s: got %s, expected %s\n", expr, got_s, exp_s);
    _fail(file, line);
}

void assert_zcoap_check_bytes(const uint8_t *got, size_t got_len, const uint8_t *expected,
                              size_t expected_len, const char *expr, const char *file, int line)
{
    if (got_len == expected_len && (got_len == 0 || memcmp(got, expected, got_len) == 0))
        return;
    size_t first_diff = 0;
    while (first_diff < got_len && first_diff < expected_len &&
           got[first_diff] == expected[first_diff])
        first_diff++;
    char got_s[1024];
    char exp_s[1024];
    hex_format(got, got_len, got_s, sizeof(got_s));
    hex_format(expected, expected_len, exp_s, sizeof(exp_s));
    print_error("%s: bytes differ at offset %zu\n  got      (%zu): %s\n  expected (%zu): %s\n",
                expr, first_diff, got_len, got_s, expected_len, exp_s);
    _fail(file, line);
}
