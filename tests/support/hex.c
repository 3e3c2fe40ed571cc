/* Hex vectors: the RFC examples are easiest to read and check as spaced hex. */
#include "hex.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

ptrdiff_t hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    const char *p = hex;
    for (;;) {
        while (is_space(*p))
            p++;
        if (*p == '\0')
            return (ptrdiff_t)n;
        int hi = hex_digit(p[0]);
        int lo = hi < 0 ? -1 : hex_digit(p[1]);
        if (lo < 0 || n >= cap)
            return -1;
        out[n++] = (uint8_t)(hi << 4 | lo);
        p += 2;
    }
}

size_t hex_bytes(const char *hex, uint8_t *out, size_t cap)
{
    ptrdiff_t n = hex_decode(hex, out, cap);
    if (n < 0) {
        print_error("malformed or too long hex vector: \"%s\"\n", hex);
        fail();
    }
    return (size_t)n;
}

void hex_format(const uint8_t *data, size_t len, char *out, size_t cap)
{
    size_t used = 0;
    if (cap == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < len; i++) {
        if (cap - used < 3u + 4u) { /* room for " xx" and "...\0" */
            if (cap - used >= 4u)
                memcpy(out + used, "...", 4);
            return;
        }
        used += (size_t)snprintf(out + used, cap - used, i == 0 ? "%02x" : " %02x", data[i]);
    }
}
