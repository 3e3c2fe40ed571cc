/* Block-wise building blocks (src/block.c): the Block2 slice of a representation, late and
 * early negotiation (RFC 7959 §2.4), the last block, reading past the end, a malformed Block2. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(late_negotiation),
        cmocka_unit_test(blocks_in_order_and_the_last),
        cmocka_unit_test(early_negotiation),
        cmocka_unit_test(past_the_end_and_malformed),
    };
    return cmocka_run_group_tests_name("block", tests, NULL, NULL);
}
