/* Clock, random source and datagram printing shared by the poll()-driven examples. */
#define _GNU_SOURCE /* getrandom() */

#include "posix_glue.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

#include "zcoap/zcoap.h"

uint64_t glue_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int glue_os_random(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    while (len > 0) {
        ssize_t n = getrandom(out, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        out += n;
        len -= (size_t)n;
    }
    return 0;
}

void glue_print_datagram(const char *direction, const uint8_t *buf, size_t len)
{
    zcoap_msg_t msg;
    char line[2048];
    int rc = zcoap_msg_parse(&msg, buf, len);
    if (rc != ZCOAP_OK) {
        printf("%s %zu bytes, malformed: %s\n", direction, len, zcoap_strerror(rc));
        return;
    }
    /* A line too long for the buffer comes back cut, ending in "...": still worth printing. */
    ptrdiff_t n = zcoap_msg_print(&msg, line, sizeof line);
    if (n < 0 && n != ZCOAP_ENOSPC) {
        printf("%s %zu bytes (print failed: %s)\n", direction, len, zcoap_strerror((int)n));
        return;
    }
    printf("%s %s\n", direction, line);
}
