/**
 * @file block.h
 * @brief Block-wise transfer (RFC 7959) building blocks of the core. So far: which slice of a
 *        representation a Block2 response carries. Streaming, Block1 reassembly and the client
 *        side come with the rest of issue 6.
 */
#ifndef ZCOAP_BLOCK_H
#define ZCOAP_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zcoap/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest SZX a block may have (1024 bytes, RFC 7959 §2.2; 7 is reserved). */
#define ZCOAP_BLOCK_SZX_MAX 6u

/** One block of a representation to send in a response. */
typedef struct zcoap_block2_slice {
    bool needed;         /**< false: the whole representation fits, send it without Block2 */
    zcoap_block_t block; /**< the Block2 option to send (num, M, szx) */
    size_t offset;       /**< where the slice starts in the representation */
    size_t len;          /**< how many bytes it has */
} zcoap_block2_slice_t;

/**
 * @brief The slice of a representation of @p total bytes that answers @p req (RFC 7959 §2.4).
 *
 * Late negotiation: a request without Block2 gets the whole representation when it fits in
 * one block of @p server_szx, else block 0 with M set. Early negotiation: a request with Block2
 * gets the block it names, at the smaller of its SZX and @p server_szx; when the server's is
 * the smaller, the block number is scaled so that the slice starts at the offset the client
 * asked for (a later request then asks in the server's size, §2.4).
 *
 * @param[in] server_szx the largest block the server sends (0-6; its message buffer decides)
 * @retval ZCOAP_OK @p out filled
 * @retval ZCOAP_EOPT_BLOCK the request's Block2 is malformed (SZX 7, too long): answer 4.00
 * @retval ZCOAP_ERANGE the block asked for starts at or past the end of the representation
 *         (a client reading past the last block, or a representation that shrank)
 * @retval ZCOAP_EINVAL bad arguments (server_szx above 6)
 */
int zcoap_block2_plan(const zcoap_msg_t *req, size_t total, uint8_t server_szx,
                      zcoap_block2_slice_t *out);

#ifdef __cplusplus
}
#endif

#endif /* ZCOAP_BLOCK_H */
