/* Bounded text output into a caller buffer, shared by the printer, URI composition, the
 * link-format listing and diagnostic payloads. Never writes past the buffer; keeps room for the
 * NUL; remembers that something did not fit. Never installed. */
#ifndef ZCOAP_TEXT_INTERNAL_H
#define ZCOAP_TEXT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zcoap__text {
    char *p;
    size_t cap;
    size_t len; /* characters written, without the NUL */
    bool cut;   /* something did not fit */
} zcoap__text_t;

void zcoap__text_init(zcoap__text_t *t, char *p, size_t cap);
void zcoap__text_char(zcoap__text_t *t, char c);
void zcoap__text_mem(zcoap__text_t *t, const char *s, size_t n);
void zcoap__text_str(zcoap__text_t *t, const char *s);
void zcoap__text_uint(zcoap__text_t *t, uint32_t v);
/* NUL-terminate what was written (when cap > 0); the length, or ZCOAP_ENOSPC when cut. */
ptrdiff_t zcoap__text_finish(zcoap__text_t *t);

#endif /* ZCOAP_TEXT_INTERNAL_H */
