/*
 * Tokens and first message IDs of the adapter's clients come from the OS random source
 * (zcoap_uv_random(), RFC 7252 §5.3.1 and §4.4): 100 pairs of clients, each made with the
 * defaults (no configuration), never start alike, and their tokens have 8 bytes
 * (ZCOAP_DEFAULT_TOKEN_LEN). The first request is begun on each client's endpoint and read back
 * from its builder; nothing is sent. One loop; each client is closed before the next pair.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "uv_support.h"
#include "zcoap/uv.h"

enum { PAIRS = 100, GUARD_MS = 5000 };

typedef struct first_request {
    uint16_t mid;
    uint8_t token[ZCOAP_MAX_TOKEN_LEN];
    uint8_t token_len;
} first_request_t;

static size_t closed;

static void on_closed(zcoap_uv_client_t *c)
{
    (void)c;
    closed++;
}

static bool all_closed(const void *ctx)
{
    return closed >= *(const size_t *)ctx;
}

static first_request_t first_request_of(uvt_loop_t *uv, zcoap_uv_client_t *c)
{
    assert_int_equal(zcoap_uv_client_init(&uv->loop, c, NULL, NULL), 0);
    zcoap_builder_t b;
    assert_int_equal(
        zcoap_ep_request_begin(zcoap_uv_client_endpoint(c), ZCOAP_TYPE_CON, ZCOAP_GET, &b), 0);
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    zcoap_msg_t msg;
    assert_int_equal(zcoap_msg_parse(&msg, b.buf, (size_t)n), 0);
    first_request_t r;
    memset(&r, 0, sizeof(r));
    r.mid = msg.mid;
    r.token_len = msg.token_len;
    memcpy(r.token, msg.token, msg.token_len);
    assert_int_equal(zcoap_ep_cancel(zcoap_uv_client_endpoint(c)), 0);
    return r;
}

static void test_clients_never_start_alike(void **state)
{
    (void)state;
    uvt_loop_t uv;
    assert_int_equal(uvt_loop_init(&uv), 0);
    zcoap_uv_client_t *clients = calloc(2, sizeof(*clients));
    first_request_t *firsts = calloc(2u * PAIRS, sizeof(*firsts));
    assert_non_null(clients);
    assert_non_null(firsts);
    closed = 0;
    for (size_t i = 0; i < PAIRS; i++) {
        firsts[2 * i] = first_request_of(&uv, &clients[0]);
        firsts[2 * i + 1] = first_request_of(&uv, &clients[1]);
        zcoap_uv_client_close(&clients[0], on_closed);
        zcoap_uv_client_close(&clients[1], on_closed);
        size_t want = 2 * (i + 1);
        assert_true(uvt_run_until(&uv, GUARD_MS, all_closed, &want));
    }
    size_t mids_shared = 0;
    for (size_t i = 0; i < 2u * PAIRS; i++) {
        assert_int_equal(firsts[i].token_len, 8);
        assert_int_equal(firsts[i].token_len, ZCOAP_DEFAULT_TOKEN_LEN);
        for (size_t j = i + 1; j < 2u * PAIRS; j++) {
            /* 64-bit tokens: a repeat among 200 has a chance of about 1e-15 */
            assert_memory_not_equal(firsts[i].token, firsts[j].token, 8);
            mids_shared += firsts[i].mid == firsts[j].mid;
        }
    }
    /* 16-bit message IDs: about 0.3 of the 19,900 pairs share one by chance; a start that is
     * not random shares far more */
    assert_true(mids_shared < 10);
    free(firsts);
    free(clients);
    uvt_loop_end(&uv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clients_never_start_alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
