/* Block-wise transfers on the server (RFC 7959). Downloads (Block2): the handler gives the whole
 * representation, in memory or through a slice reader, and the answer carries the block the
 * request asked for (zcoap_block2_plan()), read straight into the response buffer. Uploads
 * (Block1): each block is checked against the peer's body under way (zcoap_block1_accept())
 * and goes to the handler once, as it comes; the adapter answers 4.08, 4.13 and 4.00 itself and
 * 2.31 Continue for a block the handler left unanswered. Nothing of a body is kept here: one
 * body per peer, 40 bytes of state (zcoap__uv_peer_blocks_t). */
#include <string.h>

#include "server_internal.h"

/* The peer's record of the request being answered (zcoap__uv_peer_blocks_t b1, b2): a block
 * option in the low 24 bits (num << 4 | M << 3 | szx), flags above. */
#define BLK_PRESENT (1u << 31)     /* b1, b2: the request carried the option */
#define BLK_SIZE2_ASKED (1u << 30) /* b2: the request carried Size2 (RFC 7959 §4) */
#define BLK_HELD (1u << 30)        /* b1: the handler acknowledged it: it answers later */
#define BLK_VALUE_MASK 0x00FFFFFFu

static uint32_t block_word(const zcoap_block_t *blk)
{
    return BLK_PRESENT | (blk->num << 4) | (blk->more ? 8u : 0u) | blk->szx;
}

static zcoap_block_t block_of(uint32_t word)
{
    const zcoap_block_t blk = {
        .num = (word & BLK_VALUE_MASK) >> 4, .more = (word & 8u) != 0, .szx = (uint8_t)(word & 7u)};
    return blk;
}

static bool is_success(uint8_t code)
{
    return ZCOAP_CODE_CLASS(code) == 2;
}

uint8_t zcoap__uv_block_szx(const zcoap_uv_server_config_t *cfg)
{
    uint8_t szx = cfg->block_szx;
    while (szx > 0 && zcoap_block_size(szx) + ZCOAP_UV_BLOCK_ROOM > cfg->msg_cap)
        szx--;
    return szx;
}

/* The adapter's own answer to a block it does not take: the handler never sees the request. */
static void refuse(zcoap_uv_peer_t *peer, uint8_t code, const char *diagnostic, int64_t size1,
                   uint64_t *counter)
{
    /* RFC 7252 §5.5.2: a short diagnostic payload says why. */
    const zcoap__uv_body_t body = {
        .data = (const uint8_t *)diagnostic, .total = strlen(diagnostic), .read = NULL};
    (*counter)++;
    (void)zcoap__uv_respond(peer, code, NULL, &body, size1);
}

bool zcoap__uv_block_on_request(zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                                const zcoap_msg_t *req)
{
    zcoap_uv_server_t *s = peer->server;
    zcoap__uv_peer_blocks_t *bl = &peer->blocks;
    bl->b1 = 0;
    bl->b2 = 0;
    bl->size1 = 0;
    zcoap_block_t blk;
    int rc2 = zcoap_msg_get_block(req, ZCOAP_OPT_BLOCK2, &blk);
    if (rc2 == ZCOAP_OK)
        bl->b2 = block_word(&blk) & ~8u; /* §2.2: the M bit of a request's Block2 is ignored */
    zcoap_opt_t opt;
    if (zcoap_msg_find_opt(req, ZCOAP_OPT_SIZE2, &opt))
        bl->b2 |= BLK_SIZE2_ASKED;
    if (res == NULL)
        return true; /* answered 4.04, 4.05, 5.01 or the listing: no body to take */
    if (rc2 != ZCOAP_OK && rc2 != ZCOAP_ENOTFOUND) {
        refuse(peer, ZCOAP_BAD_REQUEST, "malformed Block2", -1, &s->stats.block_bad); /* §2.2 */
        return false;
    }
    uint32_t size1 = 0;
    if (zcoap_msg_get_uint(req, ZCOAP_OPT_SIZE1, &size1) == ZCOAP_OK)
        bl->size1 = size1;
    uint32_t res_id = (uint32_t)(res - s->cfg.resources) + 1u;
    /* One body per peer, keyed by its resource as well as its Request-Tag (RFC 9175 §3.3): a
     * later block for another resource belongs to no body we know. */
    if (zcoap_msg_get_block(req, ZCOAP_OPT_BLOCK1, &blk) == ZCOAP_OK && blk.num > 0 &&
        bl->rx.active && bl->rx_res != res_id) {
        refuse(peer, ZCOAP_REQUEST_ENTITY_INCOMPLETE, "block of another body", -1,
               &s->stats.block_incomplete);
        return false;
    }
    zcoap_block1_step_t step;
    (void)zcoap_block1_accept(&bl->rx, req, s->cfg.max_body, s->block_szx, &step);
    int64_t limit = s->cfg.max_body > UINT32_MAX ? (int64_t)UINT32_MAX : (int64_t)s->cfg.max_body;
    switch (step.action) {
    case ZCOAP_BLOCK1_NONE:
        return true;
    case ZCOAP_BLOCK1_CONTINUE:
    case ZCOAP_BLOCK1_LAST:
        /* Kept as the request has it (its SZX gives the offset); the answer's SZX is the
         * smaller of it and ours (§2.3), as step.block has it. */
        bl->rx_res = res_id;
        (void)zcoap_msg_get_block(req, ZCOAP_OPT_BLOCK1, &blk);
        bl->b1 = block_word(&blk);
        return true;
    case ZCOAP_BLOCK1_INCOMPLETE: /* §2.5 */
        refuse(peer, ZCOAP_REQUEST_ENTITY_INCOMPLETE, "block out of sequence", -1,
               &s->stats.block_incomplete);
        return false;
    case ZCOAP_BLOCK1_TOO_LARGE: /* §2.9.3: Size1 says how much we take */
        refuse(peer, ZCOAP_REQUEST_ENTITY_TOO_LARGE, "body too large", limit,
               &s->stats.block_too_large);
        return false;
    case ZCOAP_BLOCK1_BAD: /* §2.2: SZX 7; only the last block may be short */
    default:
        refuse(peer, ZCOAP_BAD_REQUEST, "malformed Block1", -1, &s->stats.block_bad);
        return false;
    }
}

void zcoap__uv_block_after_handler(zcoap_uv_peer_t *peer)
{
    const zcoap__uv_peer_blocks_t *bl = &peer->blocks;
    if (peer->server->closing || (bl->b1 & BLK_PRESENT) == 0 || (bl->b1 & BLK_HELD) != 0 ||
        !block_of(bl->b1).more || zcoap_ep_request_type(&peer->ep) < 0)
        return;
    /* §2.3: the block is taken, send the next one (Block1 with M set is added to it). */
    const zcoap__uv_body_t none = {.data = NULL, .total = 0, .read = NULL};
    (void)zcoap__uv_respond(peer, ZCOAP_CONTINUE, NULL, &none, -1);
}

void zcoap__uv_block_held(zcoap_uv_peer_t *peer)
{
    if ((peer->blocks.b1 & BLK_PRESENT) != 0)
        peer->blocks.b1 |= BLK_HELD;
}

/* zcoap_block2_plan() for the Block2 the request asked for (@p word, 0: none), which the peer
 * keeps as a number since the request's view is gone when the answer is separate. */
static int plan_block2(uint32_t word, size_t total, uint8_t server_szx, zcoap_block2_slice_t *out)
{
    if ((word & BLK_PRESENT) == 0)
        return zcoap_block2_plan_asked(NULL, total, server_szx, out);
    const zcoap_block_t blk = block_of(word);
    return zcoap_block2_plan_asked(&blk, total, server_szx, out);
}

void zcoap__uv_block_plan(const zcoap_uv_peer_t *peer, uint8_t code, size_t total,
                          bool notification, zcoap__uv_answer_plan_t *out)
{
    const zcoap__uv_peer_blocks_t *bl = &peer->blocks;
    memset(out, 0, sizeof(*out));
    out->code = code;
    out->len = total;
    if (!is_success(code))
        return; /* errors and their diagnostics go whole, without block options */
    if (!notification && (bl->b1 & BLK_PRESENT) != 0) {
        /* §2.3: the block of the body this answers, and the size we want for the rest. */
        out->block1 = true;
        out->b1 = block_of(bl->b1);
        if (out->b1.szx > peer->server->block_szx)
            out->b1.szx = peer->server->block_szx;
    }
    if (code == ZCOAP_CONTINUE)
        return; /* 2.31 carries no representation */
    uint32_t asked = notification ? 0u : bl->b2;
    out->size2 = (asked & BLK_SIZE2_ASKED) != 0; /* §4: Size2 in a request asks for it */
    zcoap_block2_slice_t slice;
    int rc = plan_block2(asked, total, peer->server->block_szx, &slice);
    if (rc == ZCOAP_ERANGE) {
        /* A block past the end. RFC 7959 names no code; 4.02 as Californium answers (libcoap
         * answers 4.00): the Block2 option asks for what is not there. */
        memset(out, 0, sizeof(*out));
        out->code = ZCOAP_BAD_OPTION;
        return;
    }
    if (rc != ZCOAP_OK || !slice.needed)
        return; /* the whole representation, in one message */
    out->block2 = true;
    out->b2 = slice.block;
    out->offset = slice.offset;
    out->len = slice.len;
    /* §4: Size2 with the first block of a representation that takes several. */
    out->size2 = out->size2 || (slice.block.num == 0 && slice.block.more);
}

void zcoap__uv_block_add_options(zcoap_builder_t *b, const zcoap__uv_answer_plan_t *plan,
                                 const zcoap_uv_respond_opts_t *opts, size_t total)
{
    if (plan->block1)
        (void)zcoap_builder_add_block(b, ZCOAP_OPT_BLOCK1, &plan->b1);
    if (plan->block2)
        (void)zcoap_builder_add_block(b, ZCOAP_OPT_BLOCK2, &plan->b2);
    if (plan->size2)
        (void)zcoap_builder_add_uint(b, ZCOAP_OPT_SIZE2,
                                     total > UINT32_MAX ? UINT32_MAX : (uint32_t)total);
    /* §2.4: the ETag on every block, so that a client notices a change in the middle. */
    if (opts != NULL && opts->etag_len > 0 && is_success(plan->code) &&
        plan->code != ZCOAP_CONTINUE)
        (void)zcoap_builder_add_opt(b, ZCOAP_OPT_ETAG, opts->etag, opts->etag_len);
}

int zcoap__uv_block_put_payload(zcoap_builder_t *b, const zcoap__uv_answer_plan_t *plan,
                                const zcoap__uv_body_t *body, bool *read_failed)
{
    *read_failed = false;
    if (plan->len == 0)
        return zcoap_builder_set_payload(b, NULL, 0);
    if (body->read == NULL)
        return zcoap_builder_set_payload(b, body->data + plan->offset, plan->len);
    size_t avail;
    uint8_t *out = zcoap_builder_payload_ptr(b, &avail);
    if (out == NULL || avail < plan->len)
        return zcoap_builder_commit_payload(b, plan->len); /* ZCOAP_ENOSPC, sticky */
    if (body->read(body->ctx, plan->offset, out, plan->len) < 0) {
        *read_failed = true;
        return ZCOAP_OK;
    }
    return zcoap_builder_commit_payload(b, plan->len);
}

void zcoap__uv_answer_internal_error(zcoap_builder_t *b)
{
    static const uint16_t added[] = {ZCOAP_OPT_ETAG,    ZCOAP_OPT_OBSERVE, ZCOAP_OPT_CONTENT_FORMAT,
                                     ZCOAP_OPT_MAX_AGE, ZCOAP_OPT_BLOCK2,  ZCOAP_OPT_BLOCK1,
                                     ZCOAP_OPT_SIZE2,   ZCOAP_OPT_SIZE1};
    (void)zcoap_builder_set_code(b, ZCOAP_INTERNAL_SERVER_ERROR);
    for (size_t i = 0; i < sizeof(added) / sizeof(added[0]); i++)
        (void)zcoap_builder_remove_opt(b, added[i]);
    (void)zcoap_builder_set_payload(b, NULL, 0);
}

void zcoap__uv_block_answered(zcoap_uv_peer_t *peer, uint8_t code)
{
    zcoap__uv_peer_blocks_t *bl = &peer->blocks;
    if ((bl->b1 & BLK_PRESENT) != 0 && ZCOAP_CODE_CLASS(code) >= 4)
        bl->rx.active = false; /* the handler stopped the body (4.13, 5.00...) */
    bl->b1 = 0;
    bl->b2 = 0;
    bl->size1 = 0;
}

int zcoap_uv_peer_block1(const zcoap_uv_peer_t *peer, zcoap_uv_block1_t *out)
{
    if (peer == NULL || out == NULL)
        return ZCOAP_EINVAL;
    const zcoap__uv_peer_blocks_t *bl = &peer->blocks;
    if ((bl->b1 & BLK_PRESENT) == 0 || peer->server->ntf_peer == peer)
        return ZCOAP_ENOTFOUND;
    const zcoap_block_t blk = block_of(bl->b1);
    out->offset = (size_t)blk.num * zcoap_block_size(blk.szx); /* §2.2 */
    out->last = !blk.more;
    out->size1 = bl->size1;
    return ZCOAP_OK;
}
