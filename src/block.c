/* Block-wise transfer (RFC 7959) building blocks: the slice a Block2 response carries. */
#include <string.h>

#include "zcoap/block.h"

int zcoap_block2_plan(const zcoap_msg_t *req, size_t total, uint8_t server_szx,
                      zcoap_block2_slice_t *out)
{
    if (req == NULL || out == NULL || server_szx > ZCOAP_BLOCK_SZX_MAX)
        return ZCOAP_EINVAL;
    memset(out, 0, sizeof(*out));
    zcoap_block_t asked;
    int rc = zcoap_msg_get_block(req, ZCOAP_OPT_BLOCK2, &asked);
    if (rc == ZCOAP_ENOTFOUND) {
        /* Late negotiation: Block2 only when the representation does not fit in one block. */
        if (total <= zcoap_block_size(server_szx)) {
            out->len = total;
            return ZCOAP_OK;
        }
        asked.num = 0;
        asked.szx = server_szx;
    } else if (rc != ZCOAP_OK) {
        return rc;
    }
    uint8_t szx = asked.szx < server_szx ? asked.szx : server_szx;
    /* §2.4: the client's NUM counts in its own size; the slice starts where it asked. */
    uint64_t offset = (uint64_t)asked.num * zcoap_block_size(asked.szx);
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
