/*
 * Fuzz target: Block-wise transfers (RFC 7959), both sides of the core.
 *
 * The first 8 input bytes choose a transfer (method, body length, block sizes, random access,
 * restarts); the rest is a script of responses, 12 bytes each, which build well-formed answers
 * with fuzzer-chosen code, Block1, Block2, Size2, ETag and payload length, so that the
 * transfer's state machine is driven deep rather than stopped at the parser. Every request the
 * transfer builds is also checked by the server side: zcoap_block1_accept() on a receiver and
 * zcoap_block2_plan() on a representation whose size the fuzzer picks.
 *
 * Properties:
 * - every request built parses, carries the first request's Uri-Path, and a Block1 block
 *   carries the body's bytes at the offset its NUM and SZX name;
 * - a slice handed over lies inside the response's payload, starts where the last one ended
 *   (downloads, unless restarted or random access), and the transfer never claims more body
 *   bytes uploaded than the body has;
 * - zcoap_block2_plan()'s slice lies inside the representation, zcoap_block1_accept()'s offset
 *   is where the body received so far ends;
 * - after DONE or FAILED the transfer is inactive and refuses to build.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_target.h"
#include "zcoap/zcoap.h"

#define MSG_CAP 1152u
#define BODY_MAX 8192u
#define STEP_BYTES 12u

static uint8_t body[BODY_MAX];
static uint8_t req_buf[MSG_CAP];
static uint8_t resp_buf[MSG_CAP + 64];
static uint8_t tmpl[256];
static const uint8_t token[4] = {1, 2, 3, 4};

/* The server side looks at each request: its checks must stay inside their inputs. */
static void server_checks(const zcoap_msg_t *req, zcoap_block1_rx_t *rx, size_t repr_len,
                          uint8_t server_szx)
{
    size_t before = rx->active ? rx->received : 0;
    zcoap_block1_step_t step;
    FUZZ_CHECK(zcoap_block1_accept(rx, req, 4096, server_szx, &step) == ZCOAP_OK);
    if (step.action == ZCOAP_BLOCK1_CONTINUE || step.action == ZCOAP_BLOCK1_LAST) {
        zcoap_block_t blk;
        FUZZ_CHECK(zcoap_msg_get_block(req, ZCOAP_OPT_BLOCK1, &blk) == ZCOAP_OK);
        FUZZ_CHECK(blk.num == 0 || step.offset == before);
        FUZZ_CHECK(step.offset + req->payload_len <= 4096);
        FUZZ_CHECK(step.block.szx <= server_szx);
    }
    zcoap_block2_slice_t slice;
    if (zcoap_block2_plan(req, repr_len, server_szx, &slice) == ZCOAP_OK) {
        FUZZ_CHECK(slice.offset <= repr_len && slice.len <= repr_len - slice.offset);
        if (slice.needed) {
            FUZZ_CHECK(slice.len <= zcoap_block_size(slice.block.szx));
            FUZZ_CHECK(slice.block.more == (slice.offset + slice.len < repr_len));
        }
    }
}

/* Each request built must parse, keep the path, and carry the right body bytes. */
static void check_request(const zcoap_builder_t *b, size_t body_len, zcoap_msg_t *out)
{
    ptrdiff_t n = zcoap_builder_finish(b);
    FUZZ_CHECK(n > 0);
    FUZZ_CHECK(zcoap_msg_parse(out, req_buf, (size_t)n) == ZCOAP_OK);
    zcoap_opt_t path;
    FUZZ_CHECK(zcoap_msg_find_opt(out, ZCOAP_OPT_URI_PATH, &path) && path.len == 2 &&
               memcmp(path.val, "fw", 2) == 0);
    FUZZ_CHECK(zcoap_msg_count_opt(out, ZCOAP_OPT_OBSERVE) == 0);
    zcoap_block_t blk;
    if (zcoap_msg_get_block(out, ZCOAP_OPT_BLOCK1, &blk) == ZCOAP_OK) {
        size_t offset = (size_t)blk.num * zcoap_block_size(blk.szx);
        FUZZ_CHECK(offset + out->payload_len <= body_len);
        FUZZ_CHECK(out->payload_len == 0 ||
                   memcmp(out->payload, body + offset, out->payload_len) == 0);
    }
}

/* One scripted answer to @p req. */
static size_t build_response(const zcoap_msg_t *req, const uint8_t *s, uint8_t *out)
{
    static const uint8_t codes[] = {ZCOAP_CONTENT,
                                    ZCOAP_CHANGED,
                                    ZCOAP_CONTINUE,
                                    ZCOAP_CREATED,
                                    ZCOAP_REQUEST_ENTITY_TOO_LARGE,
                                    ZCOAP_REQUEST_ENTITY_INCOMPLETE,
                                    ZCOAP_NOT_FOUND,
                                    ZCOAP_BAD_OPTION};
    zcoap_builder_t b;
    FUZZ_CHECK(zcoap_builder_init(&b, out, MSG_CAP + 64, ZCOAP_TYPE_ACK, codes[s[0] & 7], req->mid,
                                  req->token, req->token_len) == ZCOAP_OK);
    if (s[1] & 1)
        (void)zcoap_builder_add_opt(&b, ZCOAP_OPT_ETAG, &s[2], (s[1] >> 1) & 3);
    if (s[1] & 8) {
        zcoap_block_t b1 = {(uint32_t)s[3] | ((uint32_t)(s[4] & 0x0F) << 8), (s[4] & 0x10) != 0,
                            (uint8_t)(s[4] >> 5) % 7u};
        (void)zcoap_builder_add_block(&b, ZCOAP_OPT_BLOCK1, &b1);
    }
    if (s[1] & 16) {
        zcoap_block_t b2 = {(uint32_t)s[5] | ((uint32_t)(s[6] & 0x0F) << 8), (s[6] & 0x10) != 0,
                            (uint8_t)(s[6] >> 5) % 7u};
        (void)zcoap_builder_add_block(&b, ZCOAP_OPT_BLOCK2, &b2);
    }
    if (s[1] & 32)
        (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_SIZE2, (uint32_t)s[7] << 8);
    if (s[1] & 64) /* a raw Block2 value of the fuzzer's length, reserved SZX included */
        (void)zcoap_builder_add_opt(&b, ZCOAP_OPT_BLOCK2, &s[8], (s[1] >> 7) + 3u);
    size_t payload_len = ((size_t)s[9] | ((size_t)(s[10] & 7) << 8)) % (MSG_CAP - 64);
    size_t avail = 0;
    uint8_t *p = zcoap_builder_payload_ptr(&b, &avail);
    if (p != NULL && payload_len > 0 && payload_len <= avail) {
        memset(p, s[11], payload_len);
        (void)zcoap_builder_commit_payload(&b, payload_len);
    }
    ptrdiff_t n = zcoap_builder_finish(&b);
    return n > 0 ? (size_t)n : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    static const uint8_t methods[] = {ZCOAP_GET,   ZCOAP_PUT,    ZCOAP_POST,   ZCOAP_FETCH,
                                      ZCOAP_PATCH, ZCOAP_IPATCH, ZCOAP_DELETE, ZCOAP_GET};
    uint8_t method = methods[data[0] & 7];
    size_t body_len = ((size_t)data[1] | ((size_t)data[2] << 8)) % (BODY_MAX + 1);
    if (method == ZCOAP_GET || method == ZCOAP_DELETE)
        body_len = 0;
    for (size_t i = 0; i < body_len; i++)
        body[i] = (uint8_t)(i * 31u + (i >> 8));
    zcoap_transfer_params_t p;
    memset(&p, 0, sizeof p);
    p.body = body;
    p.body_len = body_len;
    p.block1_szx = (data[3] & 7) == 7 ? ZCOAP_TRANSFER_SZX_AUTO : (uint8_t)(data[3] % 7u);
    p.block2_szx =
        (data[3] >> 3 & 7) == 7 ? ZCOAP_TRANSFER_SZX_AUTO : (uint8_t)((data[3] >> 3) & 7u) % 7u;
    p.block2_single = (data[4] & 1) != 0 && p.block2_szx != ZCOAP_TRANSFER_SZX_AUTO;
    p.block2_num = data[5];
    p.ask_size2 = (data[4] & 2) != 0;
    p.restart_on_etag_change = (data[4] & 4) != 0;
    size_t repr_len = (size_t)data[6] * 37u;
    uint8_t server_szx = (uint8_t)(data[7] % 7u);
    data += 8;
    size -= 8;

    zcoap_transfer_t t;
    FUZZ_CHECK(zcoap_transfer_init(&t, tmpl, sizeof tmpl) == ZCOAP_OK);
    zcoap_builder_t b;
    FUZZ_CHECK(zcoap_builder_init(&b, req_buf, sizeof req_buf, ZCOAP_TYPE_CON, method, 1, token,
                                  sizeof token) == ZCOAP_OK);
    FUZZ_CHECK(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "fw") == ZCOAP_OK);
    if (zcoap_transfer_start(&t, &b, &p) != ZCOAP_OK)
        return 0;
    zcoap_block1_rx_t rx;
    memset(&rx, 0, sizeof rx);
    size_t next_offset = 0;
    uint16_t mid = 1;
    while (size >= STEP_BYTES) {
        zcoap_msg_t req;
        check_request(&b, body_len, &req);
        server_checks(&req, &rx, repr_len, server_szx);
        size_t n = build_response(&req, data, resp_buf);
        data += STEP_BYTES;
        size -= STEP_BYTES;
        zcoap_msg_t resp;
        if (n == 0 || zcoap_msg_parse(&resp, resp_buf, n) != ZCOAP_OK)
            break;
        zcoap_transfer_step_t step;
        FUZZ_CHECK(zcoap_transfer_response(&t, &resp, &step) == ZCOAP_OK);
        FUZZ_CHECK(step.uploaded <= body_len);
        if (step.len > 0) {
            FUZZ_CHECK(step.data >= resp.payload &&
                       step.data + step.len <= resp.payload + resp.payload_len);
        }
        if (step.restarted)
            next_offset = 0;
        if (step.len > 0 && ZCOAP_CODE_CLASS(resp.code) == 2 && !p.block2_single &&
            resp.code != ZCOAP_CONTINUE && step.action != ZCOAP_TRANSFER_FAILED) {
            zcoap_block_t b2;
            if (zcoap_msg_get_block(&resp, ZCOAP_OPT_BLOCK2, &b2) == ZCOAP_OK) {
                FUZZ_CHECK(step.offset == next_offset);
                next_offset += step.len;
            }
        }
        if (step.action != ZCOAP_TRANSFER_NEXT) {
            FUZZ_CHECK(!zcoap_transfer_active(&t));
            FUZZ_CHECK(zcoap_transfer_build(&t, &b) == ZCOAP_ESTATE);
            break;
        }
        FUZZ_CHECK(zcoap_builder_init(&b, req_buf, sizeof req_buf, ZCOAP_TYPE_CON, t.method, ++mid,
                                      token, sizeof token) == ZCOAP_OK);
        if (zcoap_transfer_build(&t, &b) != ZCOAP_OK)
            break;
    }
    return 0;
}
