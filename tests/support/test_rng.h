/**
 * @file test_rng.h
 * @brief A small seeded PRNG (splitmix64) for generative tests, and the run-size knobs.
 *
 * Environment: ZCOAP_TEST_SEED overrides a test's fixed seed (decimal or 0x hex);
 * ZCOAP_TEST_SCALE multiplies iteration counts (e.g. 0.1 for slow tools, 10 for a long soak).
 */
#ifndef ZCOAP_TEST_RNG_H
#define ZCOAP_TEST_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Generator state; any seed, including 0, is fine. */
typedef struct test_rng {
    uint64_t state;
} test_rng_t;

void test_rng_seed(test_rng_t *r, uint64_t seed);
/** Next 64 random bits. */
uint64_t test_rng_next(test_rng_t *r);
/** Uniform in 0 .. n-1 (0 when @p n is 0). */
uint32_t test_rng_below(test_rng_t *r, uint32_t n);
/** Uniform in lo .. hi inclusive (lo <= hi). */
uint32_t test_rng_range(test_rng_t *r, uint32_t lo, uint32_t hi);
/** True with probability @p percent / 100. */
bool test_rng_chance(test_rng_t *r, uint32_t percent);
/** Fill @p len random bytes. */
void test_rng_fill(test_rng_t *r, void *buf, size_t len);

/** @p default_seed, unless ZCOAP_TEST_SEED is set. */
uint64_t test_rng_seed_from_env(uint64_t default_seed);
/** @p n scaled by ZCOAP_TEST_SCALE (at least 1). */
size_t test_scaled_count(size_t n);

#endif /* ZCOAP_TEST_RNG_H */
