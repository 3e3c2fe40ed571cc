/* splitmix64 (Steele, Lea, Flood 2014): tiny, any seed works, good enough for test inputs. */
#include "test_rng.h"

#include <stdlib.h>
#include <string.h>

void test_rng_seed(test_rng_t *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t test_rng_next(test_rng_t *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint32_t test_rng_below(test_rng_t *r, uint32_t n)
{
    if (n == 0)
        return 0;
    /* The modulo bias (< 2^-32) does not matter for test inputs. */
    return (uint32_t)(test_rng_next(r) % n);
}

uint32_t test_rng_range(test_rng_t *r, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(test_rng_next(r) % ((uint64_t)hi - lo + 1u));
}

bool test_rng_chance(test_rng_t *r, uint32_t percent)
{
    return test_rng_below(r, 100) < percent;
}

void test_rng_fill(test_rng_t *r, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        uint64_t v = test_rng_next(r);
        size_t n = len < sizeof(v) ? len : sizeof(v);
        memcpy(p, &v, n);
        p += n;
        len -= n;
    }
}

uint64_t test_rng_seed_from_env(uint64_t default_seed)
{
    const char *s = getenv("ZCOAP_TEST_SEED");
    if (s == NULL || *s == '\0')
        return default_seed;
    return (uint64_t)strtoull(s, NULL, 0);
}

size_t test_scaled_count(size_t n)
{
    const char *s = getenv("ZCOAP_TEST_SCALE");
    if (s == NULL || *s == '\0')
        return n;
    double scaled = (double)n * strtod(s, NULL);
    return scaled < 1.0 ? 1u : (size_t)scaled;
}
