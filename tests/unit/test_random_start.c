/* Tokens and message IDs start random (RFC 7252 §5.3.1: tokens hard to guess, §4.4: the first
 * message ID random): endpoints given the operating system's random source (read here from
 * /dev/urandom, as the adapter's zcoap_uv_random() reads getrandom) never start alike, and
 * their tokens have ZCOAP_DEFAULT_TOKEN_LEN (8) bytes. A control run with one fixed source
 * shows the comparison can fail: endpoints then do start alike. */
#include "zcoap_test.h"

#include <stdio.h>
#include <stdlib.h>

#define PAIRS 100u

typedef struct first_request {
    uint16_t mid;
    uint8_t token[ZCOAP_MAX_TOKEN_LEN];
    uint8_t token_len;
} first_request_t;

static int os_random(void *ctx, uint8_t *out, size_t len)
{
    FILE *urandom = ctx;
    return fread(out, 1, len, urandom) == len ? 0 : ZCOAP_EINVAL;
}

/* The same bytes every call: what a broken source would give. */
static int fixed_random(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    memset(out, 0x5a, len);
    return 0;
}

/* A new endpoint with @p rng; its first request's message ID and token. */
static first_request_t first_request_of(zcoap_ep_storage_t *storage, zcoap_rng_fn rng, void *ctx)
{
    zcoap_ep_t ep;
    zcoap_ep_config_t cfg;
    zcoap_ep_config_default(&cfg, storage);
    cfg.rng = rng;
    cfg.rng_ctx = ctx;
    assert_zcoap_ok(zcoap_ep_init(&ep, &cfg, 1000));
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_ep_request_begin(&ep, ZCOAP_TYPE_CON, ZCOAP_GET, &b));
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    zcoap_msg_t msg;
    assert_zcoap_ok(zcoap_msg_parse(&msg, b.buf, (size_t)n));
    first_request_t r;
    memset(&r, 0, sizeof(r));
    r.mid = msg.mid;
    r.token_len = msg.token_len;
    memcpy(r.token, msg.token, msg.token_len);
    assert_zcoap_ok(zcoap_ep_cancel(&ep));
    return r;
}

static bool alike(const first_request_t *a, const first_request_t *b)
{
    return a->mid == b->mid && a->token_len == b->token_len &&
           memcmp(a->token, b->token, a->token_len) == 0;
}

static void test_os_random_endpoints_never_start_alike(void **state)
{
    (void)state;
    FILE *urandom = fopen("/dev/urandom", "rb");
    assert_non_null(urandom);
    zcoap_ep_storage_t *storage = calloc(1, sizeof(*storage));
    first_request_t *firsts = calloc(2u * PAIRS, sizeof(*firsts));
    assert_non_null(storage);
    assert_non_null(firsts);
    for (size_t i = 0; i < 2u * PAIRS; i++) {
        firsts[i] = first_request_of(storage, os_random, urandom);
        assert_int_equal(firsts[i].token_len, ZCOAP_DEFAULT_TOKEN_LEN);
        assert_int_equal(ZCOAP_DEFAULT_TOKEN_LEN, 8);
    }
    size_t mids_shared = 0;
    for (size_t i = 0; i < 2u * PAIRS; i += 2) {
        assert_false(alike(&firsts[i], &firsts[i + 1])); /* each pair */
    }
    for (size_t i = 0; i < 2u * PAIRS; i++) {
        for (size_t j = i + 1; j < 2u * PAIRS; j++) {
            /* 64-bit tokens: a repeat among 200 has a chance of about 1e-15 */
            assert_memory_not_equal(firsts[i].token, firsts[j].token, 8);
            mids_shared += firsts[i].mid == firsts[j].mid;
        }
    }
    /* 16-bit message IDs: about 0.3 pairs of 200 share one by chance; 10 would mean the start is
     * not random (a constant start gives 19,900). */
    assert_true(mids_shared < 10);
    free(firsts);
    free(storage);
    fclose(urandom);
}

static void test_a_fixed_source_starts_alike(void **state)
{
    (void)state;
    zcoap_ep_storage_t *storage = calloc(1, sizeof(*storage));
    assert_non_null(storage);
    first_request_t a = first_request_of(storage, fixed_random, NULL);
    first_request_t b = first_request_of(storage, fixed_random, NULL);
    assert_true(alike(&a, &b));
    free(storage);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_os_random_endpoints_never_start_alike),
        cmocka_unit_test(test_a_fixed_source_starts_alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
