/* Internal helpers shared by the codec sources; never installed. */
#ifndef ZCOAP_MSG_INTERNAL_H
#define ZCOAP_MSG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* RFC 7252 §3.1: an option delta or length of 13 or more needs extended bytes. */
#define ZCOAP__EXT8_BASE 13u
#define ZCOAP__EXT16_BASE 269u
/* Longest encodable option value: 2-byte extended length 65535 + 269. */
#define ZCOAP__OPT_MAX_LEN (65535u + 269u)

/* Bytes taken by one extended field for a delta or length value. */
static inline size_t zcoap__ext_size(uint32_t v)
{
    return v < ZCOAP__EXT8_BASE ? 0u : (v < ZCOAP__EXT16_BASE ? 1u : 2u);
}

/* Bytes taken by an option header (the nibble byte plus extended fields). */
static inline size_t zcoap__opt_hdr_size(uint32_t delta, uint32_t len)
{
    return 1u + zcoap__ext_size(delta) + zcoap__ext_size(len);
}

/* A decoded option header from a region already validated by zcoap_msg_parse (or written by
 * the builder): no bounds checks beyond the region's end. */
typedef struct zcoap__opt_hdr {
    uint32_t delta;
    uint32_t len;
    size_t hdr_len; /* bytes of the header itself */
} zcoap__opt_hdr_t;

/* Decode the option header at p (p < end, *p != 0xFF). Returns 0, or -1 if it runs past end or
 * uses the reserved nibble 15. */
int zcoap__opt_hdr_decode(const uint8_t *p, const uint8_t *end, zcoap__opt_hdr_t *out);

/* Write an option header at p (room for zcoap__opt_hdr_size bytes); returns bytes written. */
size_t zcoap__opt_hdr_write(uint8_t *p, uint32_t delta, uint32_t len);

#endif /* ZCOAP_MSG_INTERNAL_H */
