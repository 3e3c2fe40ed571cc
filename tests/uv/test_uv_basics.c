/* The first pieces of the libuv adapter: one strerror for both code ranges, and the OS random
 * source endpoints will use for tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "zcoap/uv.h"

/* Both libraries return static strings for the codes they know, so pointer equality shows
 * which library answered (the texts alone can coincide: both say "invalid argument"). */
static void strerror_of_zcoap_codes_is_zcoaps_text(void **state)
{
    (void)state;
    assert_string_equal(zcoap_uv_strerror(ZCOAP_EINVAL), zcoap_strerror(ZCOAP_EINVAL));
    assert_ptr_equal(zcoap_uv_strerror(ZCOAP_EINVAL), zcoap_strerror(ZCOAP_EINVAL));
    assert_ptr_equal(zcoap_uv_strerror(ZCOAP_EMSG_SHORT), zcoap_strerror(ZCOAP_EMSG_SHORT));
    assert_ptr_equal(zcoap_uv_strerror(ZCOAP_OK), zcoap_strerror(ZCOAP_OK));
}

static void strerror_range_bounds_belong_to_zcoap(void **state)
{
    (void)state;
    /* Both ends of -1000..-1099 are ours, even without a code assigned there (libuv would
     * format a fresh string for them, and leak it). */
    assert_ptr_equal(zcoap_uv_strerror(ZCOAP_ERR_MAX), zcoap_strerror(ZCOAP_ERR_MAX));
    assert_ptr_equal(zcoap_uv_strerror(ZCOAP_ERR_MIN), zcoap_strerror(ZCOAP_ERR_MIN));
}

static void strerror_of_libuv_codes_is_libuvs_text(void **state)
{
    (void)state;
    assert_string_equal(zcoap_uv_strerror(UV_EINVAL), uv_strerror(UV_EINVAL));
    assert_ptr_equal(zcoap_uv_strerror(UV_EINVAL), uv_strerror(UV_EINVAL));
    assert_ptr_equal(zcoap_uv_strerror(UV_EAGAIN), uv_strerror(UV_EAGAIN));
    assert_ptr_equal(zcoap_uv_strerror(UV_EOF), uv_strerror(UV_EOF));
    assert_ptr_not_equal(zcoap_uv_strerror(UV_EINVAL), zcoap_strerror(UV_EINVAL));
}

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

static void random_fills_the_buffer_with_fresh_bytes(void **state)
{
    (void)state;
    uint8_t first[64] = {0};
    uint8_t second[64] = {0};

    assert_int_equal(zcoap_uv_random(NULL, first, sizeof first), 0);
    assert_int_equal(zcoap_uv_random(NULL, second, sizeof second), 0);
    /* 64 zero bytes, or two equal draws, happen with probability 2^-512. */
    assert_false(all_zero(first, sizeof first));
    assert_false(all_zero(second, sizeof second));
    assert_memory_not_equal(first, second, sizeof first);
}

static void random_writes_exactly_len_bytes(void **state)
{
    (void)state;
    uint8_t buf[32];
    memset(buf, 0xA5, sizeof buf);

    assert_int_equal(zcoap_uv_random(NULL, buf, 16), 0);
    for (size_t i = 16; i < sizeof buf; i++) {
        assert_int_equal(buf[i], 0xA5);
    }
}

static void random_handles_empty_and_null(void **state)
{
    (void)state;
    int ctx = 0;
    assert_int_equal(zcoap_uv_random(&ctx, NULL, 0), 0);
    assert_int_equal(zcoap_uv_random(NULL, NULL, 8), UV_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strerror_of_zcoap_codes_is_zcoaps_text),
        cmocka_unit_test(strerror_range_bounds_belong_to_zcoap),
        cmocka_unit_test(strerror_of_libuv_codes_is_libuvs_text),
        cmocka_unit_test(random_fills_the_buffer_with_fresh_bytes),
        cmocka_unit_test(random_writes_exactly_len_bytes),
        cmocka_unit_test(random_handles_empty_and_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
