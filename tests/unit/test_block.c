/* Block-wise building blocks (src/block.c): the Block2 slice of a representation, late and
 * early negotiation (RFC 7959 §2.4), the last block, reading past the end, a malformed Block2;
 * the Block1 check of a request body: in order, 4.08, 4.13, sizes, Request-Tag. */
#include "zcoap_test.h"

#include "zcoap/block.h"

static uint8_t req_buf[64];

/* GET /large, with Block2 (num, szx) when @p num >= 0. */
static zcoap_msg_t get(long num, uint8_t szx)
{
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, req_buf, sizeof(req_buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    if (num >= 0) {
        const zcoap_block_t blk = {(uint32_t)num, false, szx};
        assert_zcoap_ok(zcoap_builder_add_block(&b, ZCOAP_OPT_BLOCK2, &blk));
    }
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    zcoap_msg_t m;
    parse_ok(&m, req_buf, (size_t)n);
    return m;
}

static void expect_slice(const zcoap_block2_slice_t *s, uint32_t num, bool more, uint8_t szx,
                         size_t offset, size_t len)
{
    assert_true(s->needed);
    assert_int_equal(s->block.num, num);
    assert_int_equal(s->block.more, more);
    assert_int_equal(s->block.szx, szx);
    assert_int_equal(s->offset, offset);
    assert_int_equal(s->len, len);
}

/* Late negotiation: no Block2 when it fits, block 0 with M when it does not. */
static void late_negotiation(void **state)
{
    (void)state;
    zcoap_block2_slice_t s;
    zcoap_msg_t m = get(-1, 0);
    assert_zcoap_ok(zcoap_block2_plan(&m, 1024, 6, &s));
    assert_false(s.needed);
    assert_int_equal(s.len, 1024);
    assert_zcoap_ok(zcoap_block2_plan(&m, 0, 6, &s));
    assert_false(s.needed);
    assert_zcoap_ok(zcoap_block2_plan(&m, 1025, 6, &s));
    expect_slice(&s, 0, true, 6, 0, 1024);
    assert_zcoap_ok(zcoap_block2_plan(&m, 8192, 2, &s)); /* a server of 64-byte blocks */
    expect_slice(&s, 0, true, 2, 0, 64);
}

/* The blocks of an 8 KiB text at 1024: M set but on the last; an exact multiple ends M=0. */
static void blocks_in_order_and_the_last(void **state)
{
    (void)state;
    zcoap_block2_slice_t s;
    for (uint32_t num = 0; num < 8; num++) {
        zcoap_msg_t m = get(num, 6);
        assert_zcoap_ok(zcoap_block2_plan(&m, 8192, 6, &s));
        expect_slice(&s, num, num < 7, 6, num * 1024u, 1024);
    }
    zcoap_msg_t m = get(8, 6);
    assert_zcoap_ok(zcoap_block2_plan(&m, 8200, 6, &s));
    expect_slice(&s, 8, false, 6, 8192, 8);
}

/* Early negotiation: a smaller SZX from the client is honoured; a larger one is served at the
 * server's, starting at the offset the client asked for. */
static void early_negotiation(void **state)
{
    (void)state;
    zcoap_block2_slice_t s;
    zcoap_msg_t m = get(0, 2); /* 64-byte blocks asked, the server could do 1024 */
    assert_zcoap_ok(zcoap_block2_plan(&m, 8192, 6, &s));
    expect_slice(&s, 0, true, 2, 0, 64);
    m = get(5, 2);
    assert_zcoap_ok(zcoap_block2_plan(&m, 8192, 6, &s));
    expect_slice(&s, 5, true, 2, 320, 64);
    m = get(3, 6); /* 1024-byte block 3 asked of a 256-byte server: offset 3072 = its block 12 */
    assert_zcoap_ok(zcoap_block2_plan(&m, 8192, 4, &s));
    expect_slice(&s, 12, true, 4, 3072, 256);
    /* Block2 asked on a small representation: the one block, M clear. */
    m = get(0, 6);
    assert_zcoap_ok(zcoap_block2_plan(&m, 10, 6, &s));
    expect_slice(&s, 0, false, 6, 0, 10);
}

/* Past the end, or a malformed Block2: the caller answers an error. */
static void past_the_end_and_malformed(void **state)
{
    (void)state;
    zcoap_block2_slice_t s;
    zcoap_msg_t m = get(8, 6);
    assert_zcoap_err(zcoap_block2_plan(&m, 8192, 6, &s), ZCOAP_ERANGE);
    m = get(1, 0);
    assert_zcoap_err(zcoap_block2_plan(&m, 16, 6, &s), ZCOAP_ERANGE);
    m = get(0, 0); /* block 0 of an empty representation is the empty block */
    assert_zcoap_ok(zcoap_block2_plan(&m, 0, 6, &s));
    expect_slice(&s, 0, false, 0, 0, 0);
    /* SZX 7 is reserved (RFC 7959 §2.2): 4.00. */
    static const uint8_t szx7[] = {0x40, 0x01, 0x00, 0x01, 0xd1, 0x0a, 0x07};
    parse_ok(&m, szx7, sizeof szx7);
    assert_zcoap_err(zcoap_block2_plan(&m, 100, 6, &s), ZCOAP_EOPT_BLOCK);
    assert_zcoap_err(zcoap_block2_plan(NULL, 100, 6, &s), ZCOAP_EINVAL);
    m = get(-1, 0);
    assert_zcoap_err(zcoap_block2_plan(&m, 100, 7, &s), ZCOAP_EINVAL);
}

/* ---- Block1: the body of a request, block by block ------------------------------------------ */

static uint8_t body_buf[1200];

/* PUT /echo with Block1 (num, more, szx) when @p num >= 0, @p len payload bytes, a Request-Tag
 * when @p tag is not NULL, Size1 when @p size1 >= 0. */
static zcoap_msg_t put(long num, bool more, uint8_t szx, size_t len, const char *tag, long size1)
{
    zcoap_builder_t b;
    static uint8_t payload[1100];
    memset(payload, 'x', sizeof payload);
    assert_zcoap_ok(
        zcoap_builder_init(&b, body_buf, sizeof(body_buf), ZCOAP_TYPE_CON, ZCOAP_PUT, 2, NULL, 0));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "echo"));
    if (num >= 0) {
        const zcoap_block_t blk = {(uint32_t)num, more, szx};
        assert_zcoap_ok(zcoap_builder_add_block(&b, ZCOAP_OPT_BLOCK1, &blk));
    }
    if (tag != NULL)
        assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_REQUEST_TAG, tag));
    if (size1 >= 0)
        assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_SIZE1, (uint32_t)size1));
    if (len > 0)
        assert_zcoap_ok(zcoap_builder_set_payload(&b, payload, len));
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    zcoap_msg_t m;
    parse_ok(&m, body_buf, (size_t)n);
    return m;
}

static zcoap_block1_action_t step(zcoap_block1_rx_t *rx, zcoap_msg_t m, size_t max,
                                  zcoap_block1_step_t *out)
{
    assert_zcoap_ok(zcoap_block1_accept(rx, &m, max, 6, out));
    return out->action;
}

/* A body of 2.5 blocks in order: 2.31, 2.31, then the last; offsets follow. */
/* zcoap_block2_plan_asked() (a decoded Block2, for answers given later) agrees with
 * zcoap_block2_plan() on the request it came from, over every size, number and total tried. */
static void plan_asked_agrees_with_plan(void **state)
{
    (void)state;
    const size_t totals[] = {0, 1, 16, 17, 1000, 1024, 1025, 8192, 100000};
    for (size_t t = 0; t < sizeof totals / sizeof totals[0]; t++) {
        for (uint8_t server = 0; server <= ZCOAP_BLOCK_SZX_MAX; server++) {
            for (long num = -1; num < 8; num++) {
                for (uint8_t szx = 0; szx <= ZCOAP_BLOCK_SZX_MAX; szx++) {
                    zcoap_msg_t req = get(num, szx);
                    zcoap_block2_slice_t a, b;
                    const zcoap_block_t blk = {(uint32_t)(num < 0 ? 0 : num), false, szx};
                    int ra = zcoap_block2_plan(&req, totals[t], server, &a);
                    int rb = zcoap_block2_plan_asked(num < 0 ? NULL : &blk, totals[t], server, &b);
                    assert_int_equal(ra, rb);
                    assert_memory_equal(&a, &b, sizeof a);
                    if (num < 0)
                        break; /* no Block2: szx plays no part */
                }
            }
        }
    }
    const zcoap_block_t reserved = {0, false, 7};
    zcoap_block2_slice_t out;
    assert_zcoap_err(zcoap_block2_plan_asked(&reserved, 10, 6, &out), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_block2_plan_asked(NULL, 10, 7, &out), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_block2_plan_asked(NULL, 10, 6, NULL), ZCOAP_EINVAL);
}

static void block1_in_order(void **state)
{
    (void)state;
    zcoap_block1_rx_t rx = {0};
    zcoap_block1_step_t s;
    assert_int_equal(step(&rx, put(0, true, 6, 1024, NULL, -1), 4096, &s), ZCOAP_BLOCK1_CONTINUE);
    assert_int_equal(s.offset, 0);
    assert_int_equal(s.block.num, 0);
    assert_true(s.block.more);
    assert_int_equal(s.block.szx, 6);
    assert_int_equal(step(&rx, put(1, true, 6, 1024, NULL, -1), 4096, &s), ZCOAP_BLOCK1_CONTINUE);
    assert_int_equal(s.offset, 1024);
    assert_int_equal(step(&rx, put(2, false, 6, 512, NULL, -1), 4096, &s), ZCOAP_BLOCK1_LAST);
    assert_int_equal(s.offset, 2048);
    assert_false(s.block.more);
    assert_false(rx.active);
    /* Without Block1 the payload is the whole body. */
    assert_int_equal(step(&rx, put(-1, false, 0, 100, NULL, -1), 4096, &s), ZCOAP_BLOCK1_NONE);
}

/* §2.5: 4.08 for a block out of sequence, a missing first block, or another Request-Tag. */
static void block1_out_of_sequence(void **state)
{
    (void)state;
    zcoap_block1_rx_t rx = {0};
    zcoap_block1_step_t s;
    assert_int_equal(step(&rx, put(1, true, 6, 1024, NULL, -1), 4096, &s),
                     ZCOAP_BLOCK1_INCOMPLETE); /* no first block */
    assert_int_equal(step(&rx, put(0, true, 6, 1024, "a", -1), 4096, &s), ZCOAP_BLOCK1_CONTINUE);
    assert_int_equal(step(&rx, put(2, true, 6, 1024, "a", -1), 4096, &s),
                     ZCOAP_BLOCK1_INCOMPLETE); /* block 1 lost */
    assert_int_equal(step(&rx, put(1, true, 6, 1024, "b", -1), 4096, &s),
                     ZCOAP_BLOCK1_INCOMPLETE); /* another body */
    assert_int_equal(step(&rx, put(1, true, 6, 1024, NULL, -1), 4096, &s),
                     ZCOAP_BLOCK1_INCOMPLETE); /* no tag is another body too */
    assert_int_equal(step(&rx, put(1, false, 6, 10, "a", -1), 4096, &s), ZCOAP_BLOCK1_LAST);
    assert_int_equal(s.offset, 1024);
    /* A new block 0 starts over. */
    assert_int_equal(step(&rx, put(0, true, 6, 1024, "c", -1), 4096, &s), ZCOAP_BLOCK1_CONTINUE);
    assert_int_equal(step(&rx, put(0, true, 6, 1024, "c", -1), 4096, &s), ZCOAP_BLOCK1_CONTINUE);
    assert_int_equal(step(&rx, put(1, false, 6, 1, "c", -1), 4096, &s), ZCOAP_BLOCK1_LAST);
}

/* Blocks of one body repeat the request code of block 0: a POST block after PUT block 0 to the
 * same resource is another operation (RFC 7959 §2.5, RFC 9175 §3.3): 4.08. */
static void block1_method_must_not_change(void **state)
{
    (void)state;
    zcoap_block1_rx_t rx = {0};
    zcoap_block1_step_t s;
    assert_int_equal(step(&rx, put(0, true, 6, 1024, NULL, -1), 4096, &s), ZCOAP_BLOCK1_CONTINUE);
    zcoap_msg_t post = put(1, false, 6, 10, NULL, -1);
    body_buf[1] = ZCOAP_POST; /* the same block as a POST */
    post.code = ZCOAP_POST;
    assert_int_equal(step(&rx, post, 4096, &s), ZCOAP_BLOCK1_INCOMPLETE);
    assert_int_equal(step(&rx, put(1, false, 6, 10, NULL, -1), 4096, &s), ZCOAP_BLOCK1_LAST);
}

/* §2.9.3: 4.13 when Size1 announces too much, or the body grows past the limit. */
static void block1_too_large(void **state)
{
    (void)state;
    zcoap_block1_rx_t rx = {0};
    zcoap_block1_step_t s;
    assert_int_equal(step(&rx, put(0, true, 6, 1024, NULL, 5000), 4096, &s),
                     ZCOAP_BLOCK1_TOO_LARGE);
    assert_int_equal(step(&rx, put(0, true, 6, 1024, NULL, 4096), 4096, &s), ZCOAP_BLOCK1_CONTINUE);
    assert_int_equal(step(&rx, put(1, true, 6, 1024, NULL, -1), 2048, &s), ZCOAP_BLOCK1_CONTINUE);
    assert_int_equal(step(&rx, put(2, false, 6, 1, NULL, -1), 2048, &s), ZCOAP_BLOCK1_TOO_LARGE);
    assert_false(rx.active);
    assert_int_equal(step(&rx, put(-1, false, 0, 101, NULL, -1), 100, &s), ZCOAP_BLOCK1_TOO_LARGE);
    assert_int_equal(step(&rx, put(-1, false, 0, 10, NULL, 101), 100, &s), ZCOAP_BLOCK1_TOO_LARGE);
}

/* Only the last block may be short (§2.2); a server preferring smaller blocks says so in its
 * answer and the client goes on at that size (§2.3): NUM counts in the new size. */
static void block1_sizes(void **state)
{
    (void)state;
    zcoap_block1_rx_t rx = {0};
    zcoap_block1_step_t s;
    assert_int_equal(step(&rx, put(0, true, 6, 1000, NULL, -1), 4096, &s), ZCOAP_BLOCK1_BAD);
    assert_int_equal(step(&rx, put(0, true, 6, 1024, NULL, -1), 4096, &s), ZCOAP_BLOCK1_CONTINUE);
    zcoap_msg_t m = put(1, true, 6, 1024, NULL, -1);
    assert_zcoap_ok(zcoap_block1_accept(&rx, &m, 4096, 4, &s)); /* the server wants 256 */
    assert_int_equal(s.action, ZCOAP_BLOCK1_CONTINUE);
    assert_int_equal(s.block.num, 1);
    assert_int_equal(s.block.szx, 4);
    /* 2048 bytes so far: at 256 bytes a block, the client goes on with block 8. */
    assert_int_equal(step(&rx, put(8, true, 4, 256, NULL, -1), 4096, &s), ZCOAP_BLOCK1_CONTINUE);
    assert_int_equal(s.offset, 2048);
    assert_int_equal(step(&rx, put(9, false, 4, 3, NULL, -1), 4096, &s), ZCOAP_BLOCK1_LAST);
    assert_int_equal(s.offset, 2304);
    /* Malformed Block1 (SZX 7). */
    static const uint8_t szx7[] = {0x40, 0x03, 0x00, 0x01, 0xd1, 0x0e, 0x07};
    parse_ok(&m, szx7, sizeof szx7);
    assert_int_equal(step(&rx, m, 4096, &s), ZCOAP_BLOCK1_BAD);
    assert_zcoap_err(zcoap_block1_accept(NULL, &m, 1, 6, &s), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_block1_accept(&rx, &m, 1, 7, &s), ZCOAP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(late_negotiation),
        cmocka_unit_test(blocks_in_order_and_the_last),
        cmocka_unit_test(early_negotiation),
        cmocka_unit_test(past_the_end_and_malformed),
        cmocka_unit_test(plan_asked_agrees_with_plan),
        cmocka_unit_test(block1_in_order),
        cmocka_unit_test(block1_out_of_sequence),
        cmocka_unit_test(block1_method_must_not_change),
        cmocka_unit_test(block1_too_large),
        cmocka_unit_test(block1_sizes),
    };
    return cmocka_run_group_tests_name("block", tests, NULL, NULL);
}
