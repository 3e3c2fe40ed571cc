/*
 * SHA-256 (FIPS 180-4 §6.2), streamed: feed the message in pieces of any size as they arrive,
 * so that a large download is hashed without being kept. Used by the firmware-download example.
 */
#ifndef ZCOAP_EXAMPLES_SHA256_H
#define ZCOAP_EXAMPLES_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32
#define SHA256_BLOCK_SIZE 64
#define SHA256_HEX_SIZE (2 * SHA256_DIGEST_SIZE + 1) /* hex digits and the NUL */

/* A hash under way: the state (H), the message length so far, and a partial block. */
typedef struct sha256 {
    uint32_t h[8];
    uint64_t length; /* bytes hashed so far */
    uint8_t block[SHA256_BLOCK_SIZE];
    size_t used; /* bytes of block filled */
} sha256_t;

/* Start a hash (H(0), FIPS 180-4 §5.3.3). */
void sha256_init(sha256_t *s);

/* Hash @p len more bytes of the message. */
void sha256_update(sha256_t *s, const void *data, size_t len);

/* Pad (§5.1.1), hash the last block(s) and write the digest; @p s must be started again to be
 * used afterwards. */
void sha256_final(sha256_t *s, uint8_t digest[SHA256_DIGEST_SIZE]);

/* The digest in lower-case hex, as sha256sum prints it. */
void sha256_hex(const uint8_t digest[SHA256_DIGEST_SIZE], char out[SHA256_HEX_SIZE]);

#endif /* ZCOAP_EXAMPLES_SHA256_H */
