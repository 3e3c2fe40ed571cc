/*
 * The libFuzzer entry point, declared once so that the fuzz targets (which define it) and
 * replay_main.c (which calls it) agree on its signature, and -Wmissing-prototypes is satisfied.
 */
#ifndef ZCOAP_FUZZ_TARGET_H
#define ZCOAP_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Run one input; libFuzzer requires the return value to be 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A property that must hold for every input. On failure: say which one and abort(), so libFuzzer
 * records a crash artifact and the replay test fails (assert() would vanish under NDEBUG).
 */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz property violated: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif /* ZCOAP_FUZZ_TARGET_H */
