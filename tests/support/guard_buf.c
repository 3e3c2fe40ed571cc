/* Guard-page buffers for over-read tests: data pages, then one PROT_NONE page. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS is not in POSIX.1-2008 */

#include "guard_buf.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    return ps > 0 ? (size_t)ps : 4096u;
}

int guard_buf_init(guard_buf_t *g, size_t cap)
{
    size_t ps = page_size();
    size_t data_pages = cap / ps + 1u;
    memset(g, 0, sizeof(*g));
    g->map_len = (data_pages + 1u) * ps;
    void *map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        g->map_len = 0;
        return -1;
    }
    g->map = map;
    if (mprotect(g->map + data_pages * ps, ps, PROT_NONE) != 0) {
        guard_buf_release(g);
        return -1;
    }
    g->cap = data_pages * ps;
    g->data = g->map + g->cap;
    g->len = 0;
    return 0;
}

uint8_t *guard_buf_place(guard_buf_t *g, size_t len)
{
    if (g->map == NULL || len > g->cap)
        return NULL;
    g->data = g->map + (g->cap - len);
    g->len = len;
    memset(g->data, 0xA5, len);
    return g->data;
}

const uint8_t *guard_buf_set(guard_buf_t *g, const void *src, size_t len)
{
    uint8_t *dst = guard_buf_place(g, len);
    if (dst != NULL && len > 0)
        memcpy(dst, src, len);
    return dst;
}

int guard_buf_copy(guard_buf_t *g, const void *src, size_t len)
{
    if (guard_buf_init(g, len) != 0)
        return -1;
    return guard_buf_set(g, src, len) != NULL ? 0 : -1;
}

void guard_buf_release(guard_buf_t *g)
{
    if (g->map != NULL)
        munmap(g->map, g->map_len);
    memset(g, 0, sizeof(*g));
}
