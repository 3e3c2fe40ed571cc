/* Deliberately impure: one call of each kind the core must never reference, and a mutable global.
 * core_purity checks that the checker rejects this library, so a checker that silently passes
 * everything fails. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

void *purity_canary(size_t n);
extern int purity_canary_calls;
int purity_canary_calls;          /* mutable global state */
int uv_run(void *loop, int mode); /* declared by hand: the canary must not need libuv */

void *purity_canary(size_t n)
{
    struct timespec ts;
    void *p = malloc(n);
    purity_canary_calls++;
    printf("%p\n", p);
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    (void)sendto(-1, p, n, 0, NULL, 0);
    (void)uv_run(p, 0);
    return p;
}
