/* Block-wise transfer (RFC 7959) building blocks: the slice a Block2 response carries, and the
 * check of each Block1 block of a request body. */
#include <string.h>

#include "zcoap/block.h"

int zcoap_block2_plan(const zcoap_msg_t *req, size_t total, uint8_t server_szx,
                      zcoap_block2_slice_t *out)
{
    if (req == NULL || out == NULL)
        return ZCOAP_EINVAL;
    zcoap_block_t asked;
    int rc = zcoap_msg_get_block(req, ZCOAP_OPT_BLOCK2, &asked);
    if (rc == ZCOAP_ENOTFOUND)
        return zcoap_block2_plan_asked(NULL, total, server_szx, out);
    if (rc != ZCOAP_OK) {
        memset(out, 0, sizeof(*out));
        return server_szx > ZCOAP_BLOCK_SZX_MAX ? ZCOAP_EINVAL : rc;
    }
    return zcoap_block2_plan_asked(&asked, total, server_szx, out);
}

int zcoap_block2_plan_asked(const zcoap_block_t *asked, size_t total, uint8_t server_szx,
                            zcoap_block2_slice_t *out)
{
    if (out == NULL || server_szx > ZCOAP_BLOCK_SZX_MAX ||
        (asked != NULL && asked->szx > ZCOAP_BLOCK_SZX_MAX))
        return ZCOAP_EINVAL;
    memset(out, 0, sizeof(*out));
    zcoap_block_t want;
    if (asked == NULL) {
        /* Late negotiation: Block2 only when the representation does not fit in one block. */
        if (total <= zcoap_block_size(server_szx)) {
            out->len = total;
            return ZCOAP_OK;
        }
        want.num = 0;
        want.szx = server_szx;
    } else {
        want = *asked;
    }
    uint8_t szx = want.szx < server_szx ? want.szx : server_szx;
    /* §2.4: the client's NUM counts in its own size; the slice starts where it asked. */
    uint64_t offset = (uint64_t)want.num * zcoap_block_size(want.szx);
    if (offset >= total && !(offset == 0 && total == 0))
        return ZCOAP_ERANGE;
    uint32_t size = zcoap_block_size(szx);
    out->needed = true;
    out->block.szx = szx;
    out->block.num = (uint32_t)(offset / size);
    out->offset = (size_t)offset;
    out->len = total - out->offset < size ? total - out->offset : size;
    out->block.more = out->offset + out->len < total;
    return ZCOAP_OK;
}

static void request_tag(const zcoap_msg_t *req, const uint8_t **tag, size_t *len)
{
    zcoap_opt_t o;
    *tag = NULL;
    *len = 0;
    if (zcoap_msg_find_opt(req, ZCOAP_OPT_REQUEST_TAG, &o) && o.len <= 8) {
        *tag = o.val;
        *len = o.len;
    }
}

int zcoap_block1_accept(zcoap_block1_rx_t *rx, const zcoap_msg_t *req, size_t max_body,
                        uint8_t server_szx, zcoap_block1_step_t *out)
{
    if (rx == NULL || req == NULL || out == NULL || server_szx > ZCOAP_BLOCK_SZX_MAX)
        return ZCOAP_EINVAL;
    memset(out, 0, sizeof(*out));
    uint32_t size1 = 0;
    bool announced = zcoap_msg_get_uint(req, ZCOAP_OPT_SIZE1, &size1) == ZCOAP_OK;
    zcoap_block_t blk;
    int rc = zcoap_msg_get_block(req, ZCOAP_OPT_BLOCK1, &blk);
    if (rc == ZCOAP_ENOTFOUND) {
        out->action = (announced && size1 > max_body) || req->payload_len > max_body
                          ? ZCOAP_BLOCK1_TOO_LARGE
                          : ZCOAP_BLOCK1_NONE;
        return ZCOAP_OK;
    }
    if (rc != ZCOAP_OK) {
        out->action = ZCOAP_BLOCK1_BAD;
        return ZCOAP_OK;
    }
    const uint8_t *tag;
    size_t tag_len;
    request_tag(req, &tag, &tag_len);
    uint64_t offset = (uint64_t)blk.num * zcoap_block_size(blk.szx);
    if (blk.num == 0) {
        /* A first block starts a body; one under way is dropped (its client moved on). */
        rx->active = true;
        rx->received = 0;
        rx->tag_len = (uint8_t)tag_len;
        rx->method = req->code;
        if (tag_len > 0)
            memcpy(rx->tag, tag, tag_len);
    } else if (!rx->active || offset != rx->received || req->code != rx->method ||
               tag_len != rx->tag_len || (tag_len > 0 && memcmp(tag, rx->tag, tag_len) != 0)) {
        out->action = ZCOAP_BLOCK1_INCOMPLETE; /* §2.5 */
        return ZCOAP_OK;
    }
    if (blk.more && req->payload_len != zcoap_block_size(blk.szx)) {
        rx->active = false;
        out->action = ZCOAP_BLOCK1_BAD; /* §2.2: only the last block may be short */
        return ZCOAP_OK;
    }
    if ((announced && size1 > max_body) || offset + req->payload_len > max_body) {
        rx->active = false;
        out->action = ZCOAP_BLOCK1_TOO_LARGE; /* §2.9.3 */
        return ZCOAP_OK;
    }
    rx->received = (size_t)offset + req->payload_len;
    out->offset = (size_t)offset;
    out->block.num = blk.num;
    out->block.more = blk.more;
    out->block.szx = blk.szx < server_szx ? blk.szx : server_szx;
    out->action = blk.more ? ZCOAP_BLOCK1_CONTINUE : ZCOAP_BLOCK1_LAST;
    if (!blk.more)
        rx->active = false;
    return ZCOAP_OK;
}
