/* The Echo option in block-wise transfers (zcoap/transfer.h, RFC 9175 §2.3): a 4.01 Unauthorized
 * carrying Echo makes the transfer send the same request again (the same block, the same body
 * bytes, what only the first request carries) with that Echo value, once per request; an Echo
 * in any other response goes into the next request. The transfer is driven by hand here: each
 * request is built into a buffer and parsed, each response is built by the test. */
#include "zcoap_test.h"

#include <stdlib.h>

#include "zcoap/transfer.h"

#define BUF_CAP 1400u
#define BODY_LEN 100u /* a body of 7 blocks of 16 bytes (the last one 4) */

typedef struct fx {
    zcoap_transfer_t t;
    uint8_t tmpl[256];
    uint8_t req[BUF_CAP]; /* the request last built */
    zcoap_msg_t req_msg;
    uint8_t resp[BUF_CAP]; /* the response last handed in */
    zcoap_msg_t resp_msg;
    zcoap_transfer_step_t step;
    uint8_t token;
    uint8_t body[BODY_LEN];
} fx_t;

static const uint8_t ECHO_A[8] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8};
static const uint8_t ECHO_B[3] = {0xb1, 0xb2, 0xb3};

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    for (size_t i = 0; i < BODY_LEN; i++)
        f->body[i] = (uint8_t)(i * 3u + 1u);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* Begin a request with a fresh one-byte token, as an endpoint would. */
static void begin(fx_t *f, zcoap_builder_t *b, uint8_t method)
{
    f->token++;
    assert_zcoap_ok(zcoap_builder_init(b, f->req, sizeof(f->req), ZCOAP_TYPE_CON, method,
                                       (uint16_t)(0x100u + f->token), &f->token, 1));
}

static void parse_req(fx_t *f, const zcoap_builder_t *b)
{
    ptrdiff_t n = zcoap_builder_finish(b);
    assert_true(n > 0);
    assert_zcoap_ok(zcoap_msg_parse(&f->req_msg, f->req, (size_t)n));
}

/* Start a transfer of @p method to /res (Observe 0 on the first request when @p observe). */
static void start(fx_t *f, uint8_t method, const zcoap_transfer_params_t *p, bool observe)
{
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_transfer_init(&f->t, f->tmpl, sizeof(f->tmpl)));
    begin(f, &b, method);
    assert_zcoap_ok(zcoap_builder_add_uri_path(&b, "/res", 4));
    if (observe)
        assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, 0));
    assert_zcoap_ok(zcoap_transfer_start(&f->t, &b, p));
    parse_req(f, &b);
}

/* Build the transfer's next request. */
static void next(fx_t *f)
{
    zcoap_builder_t b;
    begin(f, &b, f->t.method);
    assert_zcoap_ok(zcoap_transfer_build(&f->t, &b));
    parse_req(f, &b);
}

/* Answer the last request with @p code, and what the other arguments say (NULL/-1: none). */
static void answer(fx_t *f, uint8_t code, const uint8_t *echo, size_t echo_len,
                   const zcoap_block_t *block2, const zcoap_block_t *block1, const uint8_t *payload,
                   size_t payload_len)
{
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init_response(&b, f->resp, sizeof(f->resp), &f->req_msg, code, 0));
    if (echo != NULL)
        assert_zcoap_ok(zcoap_builder_add_opt(&b, ZCOAP_OPT_ECHO, echo, echo_len));
    if (block2 != NULL)
        assert_zcoap_ok(zcoap_builder_add_block(&b, ZCOAP_OPT_BLOCK2, block2));
    if (block1 != NULL)
        assert_zcoap_ok(zcoap_builder_add_block(&b, ZCOAP_OPT_BLOCK1, block1));
    if (payload_len > 0)
        assert_zcoap_ok(zcoap_builder_set_payload(&b, payload, payload_len));
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    assert_zcoap_ok(zcoap_msg_parse(&f->resp_msg, f->resp, (size_t)n));
    assert_zcoap_ok(zcoap_transfer_response(&f->t, &f->resp_msg, &f->step));
}

/* The request's Echo option is @p echo (NULL: it has none). */
static void assert_req_echo(const fx_t *f, const uint8_t *echo, size_t len)
{
    zcoap_opt_t o;
    bool has = zcoap_msg_find_opt(&f->req_msg, ZCOAP_OPT_ECHO, &o);
    assert_int_equal(has, echo != NULL);
    if (echo != NULL)
        assert_zcoap_bytes(o.val, o.len, echo, len);
}

/* The request asks for Block2 @p num (-1: carries no Block2). */
static void assert_req_block2(const fx_t *f, long num)
{
    zcoap_block_t blk;
    int rc = zcoap_msg_get_block(&f->req_msg, ZCOAP_OPT_BLOCK2, &blk);
    if (num < 0) {
        assert_zcoap_err(rc, ZCOAP_ENOTFOUND);
        return;
    }
    assert_zcoap_ok(rc);
    assert_int_equal(blk.num, (uint32_t)num);
}

static void assert_req_path(const fx_t *f)
{
    zcoap_opt_t o;
    assert_true(zcoap_msg_find_opt(&f->req_msg, ZCOAP_OPT_URI_PATH, &o));
    assert_zcoap_bytes(o.val, o.len, (const uint8_t *)"res", 3);
}

static zcoap_transfer_params_t download_params(void)
{
    zcoap_transfer_params_t p;
    memset(&p, 0, sizeof(p));
    p.block1_szx = ZCOAP_TRANSFER_SZX_AUTO;
    p.block2_szx = ZCOAP_TRANSFER_SZX_AUTO;
    return p;
}

/* RFC 9175 §2.3: the first request answered 4.01 + Echo goes again with that Echo (a new token,
 * its options, still no Block2: late negotiation), and the download goes on from there; the
 * follow-ups carry no Echo (the server sent none again). */
static void test_first_request_repeated_with_echo(void **state)
{
    fx_t *f = *state;
    const zcoap_transfer_params_t p = download_params();
    start(f, ZCOAP_GET, &p, false);
    uint8_t first_token = f->req_msg.token[0];
    answer(f, ZCOAP_UNAUTHORIZED, ECHO_A, sizeof(ECHO_A), NULL, NULL, NULL, 0);
    assert_int_equal(f->step.action, ZCOAP_TRANSFER_NEXT);
    assert_true(f->step.echo_retry);
    assert_int_equal(f->step.len, 0);
    next(f);
    assert_int_not_equal(f->req_msg.token[0], first_token);
    assert_int_equal(f->req_msg.code, ZCOAP_GET);
    assert_req_path(f);
    assert_req_echo(f, ECHO_A, sizeof(ECHO_A));
    assert_req_block2(f, -1);
    uint8_t block[16];
    memset(block, 'x', sizeof(block));
    const zcoap_block_t b0 = {0, true, 0};
    answer(f, ZCOAP_CONTENT, NULL, 0, &b0, NULL, block, sizeof(block));
    assert_int_equal(f->step.action, ZCOAP_TRANSFER_NEXT);
    assert_false(f->step.echo_retry);
    assert_int_equal(f->step.len, 16);
    next(f);
    assert_req_echo(f, NULL, 0);
    assert_req_block2(f, 1);
    const zcoap_block_t b1 = {1, false, 0};
    answer(f, ZCOAP_CONTENT, NULL, 0, &b1, NULL, block, 5);
    assert_int_equal(f->step.action, ZCOAP_TRANSFER_DONE);
    assert_int_equal(f->step.offset, 16);
    assert_false(zcoap_transfer_active(&f->t));
}

/* A second 4.01 + Echo in a row is the final response: no loop with a server that never takes
 * the value. */
static void test_second_echo_in_a_row_is_final(void **state)
{
    fx_t *f = *state;
    const zcoap_transfer_params_t p = download_params();
    start(f, ZCOAP_GET, &p, false);
    answer(f, ZCOAP_UNAUTHORIZED, ECHO_A, sizeof(ECHO_A), NULL, NULL, NULL, 0);
    assert_int_equal(f->step.action, ZCOAP_TRANSFER_NEXT);
    next(f);
    answer(f, ZCOAP_UNAUTHORIZED, ECHO_B, sizeof(ECHO_B), NULL, NULL, NULL, 0);
    assert_int_equal(f->step.action, ZCOAP_TRANSFER_DONE);
    assert_false(f->step.echo_retry);
    assert_false(zcoap_transfer_active(&f->t));
}

/* A 4.01 without Echo is final at once. */
static void test_unauthorized_without_echo_is_final(void **state)
{
    fx_t *f = *state;
    const zcoap_transfer_params_t p = download_params();
    start(f, ZCOAP_GET, &p, false);
    answer(f, ZCOAP_UNAUTHORIZED, NULL, 0, NULL, NULL, (const uint8_t *)"no", 2);
    assert_int_equal(f->step.action, ZCOAP_TRANSFER_DONE);
    assert_false(f->step.echo_retry);
    assert_int_equal(f->step.len, 2);
}

/* Once per request, not once per transfer: a later block answered 4.01 + Echo (the server
 * forgot the client's address meanwhile) is asked for again, the same block. */
static void test_echo_for_a_later_block(void **state)
{
    fx_t *f = *state;
    const zcoap_transfer_params_t p = download_params();
    start(f, ZCOAP_GET, &p, false);
    answer(f, ZCOAP_UNAUTHORIZED, ECHO_A, sizeof(ECHO_A), NULL, NULL, NULL, 0);
    next(f);
    uint8_t block[16];
    memset(block, 'y', sizeof(block));
    const zcoap_block_t b0 = {0, true, 0};
    answer(f, ZCOAP_CONTENT, NULL, 0, &b0, NULL, block, sizeof(block));
    next(f);
    assert_req_block2(f, 1);
    answer(f, ZCOAP_UNAUTHORIZED, ECHO_B, sizeof(ECHO_B), NULL, NULL, NULL, 0);
    assert_int_equal(f->step.action, ZCOAP_TRANSFER_NEXT);
    assert_true(f->step.echo_retry);
    next(f);
    assert_req_block2(f, 1);
    assert_req_echo(f, ECHO_B, sizeof(ECHO_B));
    const zcoap_block_t b1 = {1, false, 0};
    answer(f, ZCOAP_CONTENT, NULL, 0, &b1, NULL, block, 3);
    assert_int_equal(f->step.action, ZCOAP_TRANSFER_DONE);
    assert_int_equal(f->step.offset, 16);
    assert_int_equal(f->step.len, 3);
}

/* An upload: the block answered 4.01 + Echo goes again, the same Block1 and the same bytes. */
static void test_upload_block_repeated(void **state)
{
    fx_t *f = *state;
    zcoap_transfer_params_t p = download_params();
    p.body = f->body;
    p.body_len = BODY_LEN;
    p.block1_szx = 0;
    start(f, ZCOAP_PUT, &p, false);
    const zcoap_block_t c0 = {0, true, 0};
    answer(f, ZCOAP_CONTINUE, NULL, 0, NULL, &c0, NULL, 0);
    assert_int_equal(f->step.action, ZCOAP_TRANSFER_NEXT);
    next(f);
    zcoap_block_t blk;
    assert_zcoap_ok(zcoap_msg_get_block(&f->req_msg, ZCOAP_OPT_BLOCK1, &blk));
    assert_int_equal(blk.num, 1);
    uint8_t sent[16];
    memcpy(sent, f->req_msg.payload, sizeof(sent));
    answer(f, ZCOAP_UNAUTHORIZED, ECHO_A, sizeof(ECHO_A), NULL, NULL, NULL, 0);
    assert_int_equal(f->step.action, ZCOAP_TRANSFER_NEXT);
    assert_int_equal(f->step.uploaded, 16); /* block 1 is not taken */
    next(f);
    assert_zcoap_ok(zcoap_msg_get_block(&f->req_msg, ZCOAP_OPT_BLOCK1, &blk));
    assert_int_equal(blk.num, 1);
    assert_true(blk.more);
    assert_zcoap_bytes(f->req_msg.payload, f->req_msg.payload_len, sent, sizeof(sent));
    assert_zcoap_bytes(sent, sizeof(sent), f->body + 16, 16);
    assert_req_echo(f, ECHO_A, sizeof(ECHO_A));
    assert_req_path(f);
    const zcoap_block_t c1 = {1, true, 0};
    answer(f, ZCOAP_CONTINUE, NULL, 0, NULL, &c1, NULL, 0);
    assert_int_equal(f->step.action, ZCOAP_TRANSFER_NEXT);
    assert_int_equal(f->step.uploaded, 32);
    next(f);
    assert_zcoap_ok(zcoap_msg_get_block(&f->req_msg, ZCOAP_OPT_BLOCK1, &blk));
    assert_int_equal(blk.num, 2);
    assert_req_echo(f, NULL, 0);
}

/* The first request again carries what only the first carries: Observe (RFC 7641 §2: the
 * registration) and Size2 0 (RFC 7959 §4), once each. */
static void test_repeat_of_first_keeps_observe_and_size2(void **state)
{
    fx_t *f = *state;
    zcoap_transfer_params_t p = download_params();
    p.ask_size2 = true;
    start(f, ZCOAP_GET, &p, true);
    answer(f, ZCOAP_UNAUTHORIZED, ECHO_A, sizeof(ECHO_A), NULL, NULL, NULL, 0);
    next(f);
    uint32_t v = 99;
    assert_zcoap_ok(zcoap_msg_get_uint(&f->req_msg, ZCOAP_OPT_OBSERVE, &v));
    assert_int_equal(v, 0);
    assert_zcoap_ok(zcoap_msg_get_uint(&f->req_msg, ZCOAP_OPT_SIZE2, &v));
    assert_int_equal(v, 0);
    size_t observes = 0;
    zcoap_opt_iter_t it;
    zcoap_opt_t o;
    zcoap_opt_iter_init(&it, &f->req_msg);
    while (zcoap_opt_iter_next(&it, &o))
        observes += o.num == ZCOAP_OPT_OBSERVE;
    assert_int_equal(observes, 1);
    assert_req_echo(f, ECHO_A, sizeof(ECHO_A));
    /* A follow-up block is not the first: no Observe (RFC 7959 §2.6), no Size2. */
    uint8_t block[16] = {0};
    const zcoap_block_t b0 = {0, true, 0};
    answer(f, ZCOAP_CONTENT, NULL, 0, &b0, NULL, block, sizeof(block));
    next(f);
    assert_false(zcoap_msg_find_opt(&f->req_msg, ZCOAP_OPT_OBSERVE, &o));
    assert_false(zcoap_msg_find_opt(&f->req_msg, ZCOAP_OPT_SIZE2, &o));
}

/* RFC 9175 §2.3: "Upon receiving any other response with the Echo option, the client SHOULD
 * echo the Echo option value in the next request": a block carrying Echo, then the next block
 * request carries it; a caller's own Echo on the first request is not copied to follow-ups. */
static void test_echo_of_a_block_goes_into_the_next_request(void **state)
{
    fx_t *f = *state;
    const zcoap_transfer_params_t p = download_params();
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_transfer_init(&f->t, f->tmpl, sizeof(f->tmpl)));
    begin(f, &b, ZCOAP_GET);
    assert_zcoap_ok(zcoap_builder_add_uri_path(&b, "/res", 4));
    assert_zcoap_ok(zcoap_builder_add_opt(&b, ZCOAP_OPT_ECHO, ECHO_B, sizeof(ECHO_B)));
    assert_zcoap_ok(zcoap_transfer_start(&f->t, &b, &p));
    parse_req(f, &b);
    assert_req_echo(f, ECHO_B, sizeof(ECHO_B)); /* the caller's, on the first request */
    uint8_t block[16] = {0};
    const zcoap_block_t b0 = {0, true, 0};
    answer(f, ZCOAP_CONTENT, ECHO_A, sizeof(ECHO_A), &b0, NULL, block, sizeof(block));
    assert_int_equal(f->step.action, ZCOAP_TRANSFER_NEXT);
    assert_false(f->step.echo_retry);
    next(f);
    assert_req_block2(f, 1);
    assert_req_echo(f, ECHO_A, sizeof(ECHO_A));
    const zcoap_block_t b1 = {1, true, 0};
    answer(f, ZCOAP_CONTENT, NULL, 0, &b1, NULL, block, sizeof(block));
    next(f);
    assert_req_block2(f, 2);
    assert_req_echo(f, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_request_repeated_with_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_echo_in_a_row_is_final, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unauthorized_without_echo_is_final, setup, teardown),
        cmocka_unit_test_setup_teardown(test_echo_for_a_later_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_block_repeated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeat_of_first_keeps_observe_and_size2, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_echo_of_a_block_goes_into_the_next_request, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
