/**
 * @file block.h
 * @brief Block-wise transfer (RFC 7959) building blocks of the core: which slice of a
 *        representation a Block2 response carries, and the server's check of each Block1 block
 *        of a request body (in order, sized, bounded). Nothing is reassembled here: each block
 *        goes to the application as it comes. The client side comes with the rest of issue 6.
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
 * @param[in] req the parsed request, with or without a Block2 option
 * @param[in] total the size of the whole representation in bytes
 * @param[in] server_szx the largest block the server sends (0-6; its message buffer decides)
 * @param[out] out the slice to send and the Block2 option to send with it
 * @retval ZCOAP_OK @p out filled
 * @retval ZCOAP_EOPT_BLOCK the request's Block2 is malformed (SZX 7, too long): answer 4.00
 * @retval ZCOAP_ERANGE the block asked for starts at or past the end of the representation
 *         (a client reading past the last block, or a representation that shrank)
 * @retval ZCOAP_EINVAL bad arguments (server_szx above 6)
 */
int zcoap_block2_plan(const zcoap_msg_t *req, size_t total, uint8_t server_szx,
                      zcoap_block2_slice_t *out);

/**
 * @brief zcoap_block2_plan() from a decoded Block2 option rather than a message: for a server
 *        that answers later (a separate response) and keeps only the option the request had.
 * @param[in] asked the request's Block2, or NULL when it had none
 * @param[in] total the size of the whole representation in bytes
 * @param[in] server_szx the largest block the server sends (0-6)
 * @param[out] out the slice to send and the Block2 option to send with it
 * @retval as zcoap_block2_plan(); ZCOAP_EINVAL also for an @p asked SZX above 6
 */
int zcoap_block2_plan_asked(const zcoap_block_t *asked, size_t total, uint8_t server_szx,
                            zcoap_block2_slice_t *out);

/** What to do with a request that may carry one block of a body (zcoap_block1_accept()). */
typedef enum zcoap_block1_action {
    ZCOAP_BLOCK1_NONE,       /**< no Block1: the payload is the whole body */
    ZCOAP_BLOCK1_CONTINUE,   /**< take the block at offset; answer 2.31 Continue with block */
    ZCOAP_BLOCK1_LAST,       /**< take the last block; answer the request, with block */
    ZCOAP_BLOCK1_INCOMPLETE, /**< out of sequence or no first block: answer 4.08 (§2.5) */
    ZCOAP_BLOCK1_TOO_LARGE,  /**< the body exceeds the limit: answer 4.13 with Size1 (§2.9.3) */
    ZCOAP_BLOCK1_BAD         /**< malformed Block1, or a short block that is not the last: 4.00 */
} zcoap_block1_action_t;

/** The body being received from one client (caller's storage, one per concurrent body). */
typedef struct zcoap_block1_rx {
    size_t received; /**< bytes taken so far */
    uint8_t tag[8];  /**< its Request-Tag (RFC 9175), tag_len bytes */
    uint8_t tag_len; /**< 0-8; 0 when the blocks carry no Request-Tag */
    uint8_t method;  /**< the request code of block 0, which every block must repeat */
    bool active;     /**< a body is under way */
} zcoap_block1_rx_t;

/** The outcome of one request for zcoap_block1_accept(). */
typedef struct zcoap_block1_step {
    zcoap_block1_action_t action; /**< what to do with the request and how to answer it */
    size_t offset;                /**< where the payload goes in the body (CONTINUE, LAST) */
    zcoap_block_t block; /**< the Block1 option for the answer: the request's NUM and M, and
                              the smaller of its SZX and the server's, which the client then
                              uses for the rest of the body (§2.3 late negotiation) */
} zcoap_block1_step_t;

/**
 * @brief Check one request against the body under way in @p rx (RFC 7959 §2.3, §2.5).
 *
 * Block 0 starts a body (and drops one under way); any other block must start where the body
 * ends so far and carry the same request code and Request-Tag (blocks of one body are requests
 * of one operation, RFC 7959 §2.5, RFC 9175 §3.3), else 4.08. A block with M set must be exactly
 * its block size. A Size1 option or a body growing past @p max_body gives 4.13 (answer with
 * Size1 = @p max_body). The payload of an accepted block is msg->payload, msg->payload_len.
 * @param[in,out] rx the body under way from this client (zeroed before its first request)
 * @param[in] req the parsed request, with or without a Block1 option
 * @param[in] max_body the largest body the server takes, in bytes
 * @param[in] server_szx the largest block the server wants (0-6)
 * @param[out] out the action, the payload's offset in the body, the Block1 option to answer with
 * @retval ZCOAP_OK @p out filled; ZCOAP_EINVAL bad arguments
 */
int zcoap_block1_accept(zcoap_block1_rx_t *rx, const zcoap_msg_t *req, size_t max_body,
                        uint8_t server_szx, zcoap_block1_step_t *out);

#ifdef __cplusplus
}
#endif

#endif /* ZCOAP_BLOCK_H */
