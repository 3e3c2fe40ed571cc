/* Bounded text output (see text_internal.h). */
#include "text_internal.h"

#include "zcoap/err.h"

void zcoap__text_init(zcoap__text_t *t, char *p, size_t cap)
{
    t->p = p;
    t->cap = cap;
    t->len = 0;
    t->cut = cap == 0;
}

void zcoap__text_char(zcoap__text_t *t, char c)
{
    if (t->len + 1 < t->cap)
        t->p[t->len++] = c;
    else
        t->cut = true;
}

void zcoap__text_mem(zcoap__text_t *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        zcoap__text_char(t, s[i]);
}

void zcoap__text_str(zcoap__text_t *t, const char *s)
{
    while (*s != '\0')
        zcoap__text_char(t, *s++);
}

void zcoap__text_uint(zcoap__text_t *t, uint32_t v)
{
    char digits[10];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    while (n > 0)
        zcoap__text_char(t, digits[--n]);
}

ptrdiff_t zcoap__text_finish(zcoap__text_t *t)
{
    if (t->cap > 0)
        t->p[t->len] = '\0';
    return t->cut ? ZCOAP_ENOSPC : (ptrdiff_t)t->len;
}
