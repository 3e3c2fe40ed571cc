/*
 * Block-wise transfers (RFC 7959) on the adapter's server, on a real loop over loopback:
 * answers sliced into Block2 blocks (late and early negotiation, a larger client SZX, Size2,
 * the ETag on every block, a block past the end, a slice reader and its failure, notifications),
 * and request bodies taken in Block1 blocks (each block to the handler once with its offset,
 * 2.31 Continue, 4.08, 4.13, 4.00, retransmissions answered from the stored response, Block1 and
 * Block2 combined).
 *
 * The client is a raw UDP peer (tests/support/uv_support.h) that builds every request by hand,
 * so every byte the server sends is checked (lockstep). The server and the peer share ONE loop;
 * every wait is bounded by a guard timer; nothing sleeps; each test ends with every handle
 * closed and uv_loop_close() == 0.
 *
 * ETSI CoAP plugtest cases are named where a test checks the server's part of them:
 * TD_COAP_BLOCK_01 (early negotiation: GET with Block2 in the first request), 02 (late
 * negotiation), 03 (PUT with Block1), 04 (POST with Block1), 05 (Block1 and Block2 in one POST),
 * 06 (16-byte blocks).
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "uv_support.h"
#include "zcoap/uv.h"

enum {
    GUARD_MS = 5000,            /* loop time after which a wait counts as failed */
    SLOW_ACK_TIMEOUT_MS = 1000, /* lockstep tests answer within ms: no retransmission */
    REPR_LEN = 2500,            /* /big: two 1024-byte blocks and a 452-byte one */
    BODY_CAP = 8192,
    MAX_CALLS = 64,
    SMALL_MAX_BODY = 1000
};

/* The server's table. */
enum { RES_BIG, RES_UP, RES_OTHER, RES_OBS, N_RES };

static const uint8_t ETAG[] = {0xE1, 0xE2, 0xE3};
static const uint8_t TAG_A[] = {0x0A};
static const uint8_t TAG_B[] = {0x0B, 0x0B};

/* One call of the upload handler, as it saw its request. */
typedef struct call {
    int block1_rc; /* zcoap_uv_peer_block1()'s result */
    zcoap_uv_block1_t block;
    size_t payload_len;
    uint8_t method;
    bool has_block2;
} call_t;

typedef struct fixture {
    uvt_loop_t uv;
    zcoap_uv_server_config_t cfg; /* set up by the test before start_server() */
    zcoap_uv_server_t server;
    zcoap_resource_t resources[N_RES];
    bool server_started;
    bool server_close_requested;
    int server_close_calls;
    struct sockaddr_storage server_addr;
    uvt_peer_t peer;
    size_t seen;       /* datagrams of the peer the test has looked at (next_msg()) */
    uint16_t next_mid; /* MIDs of the peer's requests */

    /* /big and /obs: the representation, and how it is given */
    uint8_t repr[REPR_LEN];
    size_t repr_len;
    bool use_reader;
    bool reader_fails;
    bool try_bad_answers; /* the handler first tries answers the adapter must refuse */
    int long_etag_rc, null_reader_rc;
    int big_calls;
    size_t reader_calls;
    size_t reader_offset, reader_len; /* the last slice asked */

    /* /up and /other: the handler's calls and the body they gave */
    call_t calls[MAX_CALLS];
    size_t n_calls;
    uint8_t body[BODY_CAP];
    size_t body_len;
    bool answer_big_on_last; /* the last block is answered with /big's representation */
    size_t stop_at_offset;   /* a block at this offset is answered stop_code (0: never) */
    uint8_t stop_code;
    bool hold; /* the handler acknowledges and keeps the request */
    zcoap_uv_peer_t *held;

    /* waits */
    size_t wait_rx;
} fixture_t;

/* ---- waits -------------------------------------------------------------------------------- */

static bool enough_rx(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->peer.n_rx >= f->wait_rx;
}

static void wait_rx(fixture_t *f, size_t n)
{
    f->wait_rx = n;
    if (!uvt_run_until(&f->uv, GUARD_MS, enough_rx, f)) {
        fail_msg("the peer got %zu datagram(s), not %zu", f->peer.n_rx, n);
    }
}

static bool server_closed(const void *ctx)
{
    const fixture_t *f = ctx;
    return !f->server_close_requested || f->server_close_calls > 0;
}

/* ---- the resources ------------------------------------------------------------------------ */

static int read_repr(void *ctx, size_t offset, uint8_t *out, size_t len)
{
    fixture_t *f = ctx;
    f->reader_calls++;
    f->reader_offset = offset;
    f->reader_len = len;
    if (f->reader_fails) {
        return ZCOAP_EINVAL;
    }
    memcpy(out, f->repr + offset, len);
    return 0;
}

/* Answer with the representation: in memory, or through the reader. */
static void answer_repr(fixture_t *f, zcoap_uv_peer_t *peer, uint8_t code)
{
    const zcoap_uv_respond_opts_t opts = {.content_format = ZCOAP_CF_OCTET_STREAM,
                                          .max_age_s = -1,
                                          .etag = ETAG,
                                          .etag_len = sizeof ETAG};
    if (f->use_reader) {
        (void)zcoap_uv_peer_respond_reader(peer, code, &opts, f->repr_len, read_repr, f);
    } else {
        (void)zcoap_uv_peer_respond_opts(peer, code, &opts, f->repr, f->repr_len);
    }
}

/* /big (GET, FETCH, POST) and /obs (GET, observable; also called with req NULL) */
static void handle_big(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                       const zcoap_msg_t *req)
{
    fixture_t *f = s->data;
    (void)res;
    (void)req;
    f->big_calls++;
    if (f->try_bad_answers) {
        const uint8_t long_etag[9] = {0};
        const zcoap_uv_respond_opts_t opts = {
            .content_format = -1, .max_age_s = -1, .etag = long_etag, .etag_len = sizeof long_etag};
        f->long_etag_rc = zcoap_uv_peer_respond_opts(peer, ZCOAP_CONTENT, &opts, NULL, 0);
        f->null_reader_rc = zcoap_uv_peer_respond_reader(peer, ZCOAP_CONTENT, NULL, 10, NULL, f);
    }
    answer_repr(f, peer, ZCOAP_CONTENT);
}

/* /up and /other (PUT, POST): keep each block where zcoap_uv_peer_block1() says. */
static void handle_up(zcoap_uv_server_t *s, zcoap_uv_peer_t *peer, const zcoap_resource_t *res,
                      const zcoap_msg_t *req)
{
    fixture_t *f = s->data;
    (void)res;
    call_t *c = &f->calls[f->n_calls < MAX_CALLS ? f->n_calls : MAX_CALLS - 1];
    f->n_calls++;
    memset(c, 0, sizeof *c);
    c->block1_rc = zcoap_uv_peer_block1(peer, &c->block);
    c->payload_len = req->payload_len;
    c->method = req->code;
    zcoap_block_t b2;
    c->has_block2 = zcoap_msg_get_block(req, ZCOAP_OPT_BLOCK2, &b2) == ZCOAP_OK;
    if (c->block1_rc != ZCOAP_OK) {
        /* A follow-up for the next block of the answer (RFC 7959 §3.2): answer it again. */
        answer_repr(f, peer, ZCOAP_CHANGED);
        return;
    }
    if (c->block.offset + req->payload_len <= sizeof f->body) {
        memcpy(f->body + c->block.offset, req->payload, req->payload_len);
        f->body_len = c->block.offset + req->payload_len;
    }
    if (f->stop_code != 0 && c->block.offset == f->stop_at_offset) {
        (void)zcoap_uv_peer_respond(peer, f->stop_code, -1, NULL, 0);
        return;
    }
    if (f->hold) {
        f->held = peer;
        peer->data = f; /* an answer is owed */
        (void)zcoap_uv_peer_ack(peer);
        return;
    }
    if (!c->block.last) {
        return; /* the adapter answers 2.31 Continue */
    }
    if (f->answer_big_on_last) {
        answer_repr(f, peer, ZCOAP_CHANGED);
    } else {
        (void)zcoap_uv_peer_respond(peer, ZCOAP_CHANGED, -1, "done", 4);
    }
}

#define HANDLER(fn) ((void *)(uintptr_t)(fn))

static void make_resources(fixture_t *f)
{
    const uint32_t read_methods =
        ZCOAP_METHOD_BIT(ZCOAP_GET) | ZCOAP_METHOD_BIT(ZCOAP_FETCH) | ZCOAP_METHOD_BIT(ZCOAP_POST);
    const uint32_t write_methods = ZCOAP_METHOD_BIT(ZCOAP_PUT) | ZCOAP_METHOD_BIT(ZCOAP_POST);
    f->resources[RES_BIG] = (zcoap_resource_t){"big", read_methods, "", false, HANDLER(handle_big)};
    f->resources[RES_UP] = (zcoap_resource_t){"up", write_methods, "", false, HANDLER(handle_up)};
    f->resources[RES_OTHER] =
        (zcoap_resource_t){"other", write_methods, "", false, HANDLER(handle_up)};
    f->resources[RES_OBS] =
        (zcoap_resource_t){"obs", ZCOAP_METHOD_BIT(ZCOAP_GET), "obs", false, HANDLER(handle_big)};
}

/* ---- the server --------------------------------------------------------------------------- */

static void start_server(fixture_t *f)
{
    make_resources(f);
    f->cfg.resources = f->resources;
    f->cfg.n_resources = N_RES;
    struct sockaddr_storage bind_addr;
    uvt_loopback(AF_INET, 0, &bind_addr);
    f->server.data = f;
    assert_int_equal(zcoap_uv_server_start(&f->uv.loop, &f->server,
                                           (const struct sockaddr *)&bind_addr, &f->cfg),
                     0);
    f->server_started = true;
    assert_int_equal(zcoap_uv_server_address(&f->server, &f->server_addr), 0);
}

static const zcoap_uv_server_stats_t *stats(const fixture_t *f)
{
    return zcoap_uv_server_stats(&f->server);
}

static void on_server_closed(zcoap_uv_server_t *s)
{
    fixture_t *f = s->data;
    f->server_close_calls++;
}

/* ---- the peer's requests ------------------------------------------------------------------ */

/* What a request carries besides its method and path; zero-initialised fields add nothing. */
typedef struct req_spec {
    uint8_t type; /* 0: CON */
    bool block1;
    zcoap_block_t b1;
    bool block2;
    zcoap_block_t b2;
    int raw_block2; /* >= 1: a Block2 of this one-byte value instead (SZX 7) */
    int raw_block1;
    bool size1;
    uint32_t size1_val;
    bool size2;
    const uint8_t *tag;
    size_t tag_len;
    bool observe;
    const uint8_t *payload;
    size_t payload_len;
} req_spec_t;

/* Build the request into @p buf; returns its length. Its token is its MID (2 bytes). */
static size_t build_request(uint8_t *buf, size_t cap, uint16_t mid, uint8_t method,
                            const char *path, const req_spec_t *r)
{
    zcoap_builder_t b;
    const uint8_t token[2] = {(uint8_t)(mid >> 8), (uint8_t)mid};
    uint8_t type = r->type != 0 ? r->type : ZCOAP_TYPE_CON;
    assert_int_equal(zcoap_builder_init(&b, buf, cap, type, method, mid, token, sizeof token), 0);
    assert_int_equal(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, path), 0);
    if (r->observe) {
        assert_int_equal(zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, 0), 0);
    }
    if (r->block1) {
        assert_int_equal(zcoap_builder_add_block(&b, ZCOAP_OPT_BLOCK1, &r->b1), 0);
    }
    if (r->block2) {
        assert_int_equal(zcoap_builder_add_block(&b, ZCOAP_OPT_BLOCK2, &r->b2), 0);
    }
    if (r->raw_block2 > 0) {
        const uint8_t v = (uint8_t)r->raw_block2;
        assert_int_equal(zcoap_builder_add_opt(&b, ZCOAP_OPT_BLOCK2, &v, 1), 0);
    }
    if (r->raw_block1 > 0) {
        const uint8_t v = (uint8_t)r->raw_block1;
        assert_int_equal(zcoap_builder_add_opt(&b, ZCOAP_OPT_BLOCK1, &v, 1), 0);
    }
    if (r->size1) {
        assert_int_equal(zcoap_builder_add_uint(&b, ZCOAP_OPT_SIZE1, r->size1_val), 0);
    }
    if (r->size2) {
        assert_int_equal(zcoap_builder_add_uint(&b, ZCOAP_OPT_SIZE2, 0), 0);
    }
    if (r->tag_len > 0) {
        assert_int_equal(zcoap_builder_add_opt(&b, ZCOAP_OPT_REQUEST_TAG, r->tag, r->tag_len), 0);
    }
    if (r->payload_len > 0) {
        assert_int_equal(zcoap_builder_set_payload(&b, r->payload, r->payload_len), 0);
    }
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    return (size_t)n;
}

/* Send a request from the peer; returns its MID. */
static uint16_t send_request(fixture_t *f, uint8_t method, const char *path, const req_spec_t *r)
{
    uint8_t buf[1400];
    uint16_t mid = f->next_mid++;
    size_t n = build_request(buf, sizeof buf, mid, method, path, r);
    assert_int_equal(uvt_peer_send(&f->peer, &f->server_addr, buf, (ptrdiff_t)n), 0);
    return mid;
}

/* The next datagram the peer received that the test has not looked at yet (waits for it). */
static zcoap_msg_t next_msg(fixture_t *f)
{
    wait_rx(f, f->seen + 1u);
    return uvt_peer_rx_msg(&f->peer, f->seen++);
}

/* Send a request and return its answer, which must be the piggybacked one (ACK, same MID). */
static zcoap_msg_t exchange(fixture_t *f, uint8_t method, const char *path, const req_spec_t *r)
{
    uint16_t mid = send_request(f, method, path, r);
    zcoap_msg_t m = next_msg(f);
    assert_int_equal(m.type, ZCOAP_TYPE_ACK);
    assert_int_equal(m.mid, mid);
    return m;
}

static zcoap_block_t block_opt(const zcoap_msg_t *m, uint16_t num)
{
    zcoap_block_t blk = {0};
    assert_int_equal(zcoap_msg_get_block(m, num, &blk), ZCOAP_OK);
    return blk;
}

static void assert_block(const zcoap_msg_t *m, uint16_t opt, uint32_t num, bool more, uint8_t szx)
{
    zcoap_block_t blk = block_opt(m, opt);
    assert_int_equal(blk.num, num);
    assert_int_equal(blk.more, more);
    assert_int_equal(blk.szx, szx);
}

static bool has_opt(const zcoap_msg_t *m, uint16_t num)
{
    zcoap_opt_t o;
    return zcoap_msg_find_opt(m, num, &o);
}

static uint32_t uint_opt(const zcoap_msg_t *m, uint16_t num)
{
    uint32_t v = 0;
    assert_int_equal(zcoap_msg_get_uint(m, num, &v), ZCOAP_OK);
    return v;
}

static void assert_etag(const zcoap_msg_t *m)
{
    zcoap_opt_t o;
    assert_true(zcoap_msg_find_opt(m, ZCOAP_OPT_ETAG, &o));
    assert_int_equal(o.len, sizeof ETAG);
    assert_memory_equal(o.val, ETAG, sizeof ETAG);
}

/* The payload of @p m is the representation's bytes [offset, offset + len). */
static void assert_slice(const fixture_t *f, const zcoap_msg_t *m, size_t offset, size_t len)
{
    assert_int_equal(m->payload_len, len);
    assert_memory_equal(m->payload, f->repr + offset, len);
}

/* ---- setup and teardown ------------------------------------------------------------------- */

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL || uvt_loop_init(&f->uv) != 0) {
        free(f);
        return -1;
    }
    zcoap_uv_server_config_default(&f->cfg);
    f->cfg.recvmmsg = false;     /* one datagram per read: enough here */
    f->cfg.recv_buffer_size = 0; /* the system's */
    f->cfg.tx.ack_random_factor_permil = 1000;
    f->cfg.tx.ack_timeout_ms = SLOW_ACK_TIMEOUT_MS;
    /* Block-wise on the wire: small GETs get 1 KiB blocks here; test_uv_echo.c tests the
     * amplification limit (RFC 9175 §2.4) that would answer them 4.01 Echo first. */
    f->cfg.amplification_limit = false;
    f->next_mid = 0x2000;
    f->repr_len = REPR_LEN;
    for (size_t i = 0; i < REPR_LEN; i++) {
        f->repr[i] = (uint8_t)(i * 7u + i / 251u); /* no period of a block size */
    }
    if (uvt_peer_open(&f->peer, &f->uv.loop, AF_INET, 0) != 0) {
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f->server_started && !f->server_close_requested) {
        f->server_close_requested = true;
        zcoap_uv_server_close(&f->server, on_server_closed);
    }
    uvt_peer_close(&f->peer);
    assert_true(uvt_run_until(&f->uv, GUARD_MS, server_closed, f));
    if (f->server_close_requested) {
        assert_int_equal(f->server_close_calls, 1);
    }
    uvt_loop_end(&f->uv);
    free(f);
    return 0;
}

/* ---- Block2: answers larger than a block -------------------------------------------------- */

/* TD_COAP_BLOCK_02: a GET without Block2 gets block 0 with M, Size2 and the ETag; the client
 * then asks for each next block (in the server's size) and gets it, the ETag on every one. */
static void test_TD_COAP_BLOCK_02_late_negotiation(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    zcoap_msg_t m = exchange(f, ZCOAP_GET, "big", &(req_spec_t){0});
    assert_int_equal(m.code, ZCOAP_CONTENT);
    assert_block(&m, ZCOAP_OPT_BLOCK2, 0, true, 6);
    assert_int_equal(uint_opt(&m, ZCOAP_OPT_SIZE2), REPR_LEN);
    assert_int_equal(uint_opt(&m, ZCOAP_OPT_CONTENT_FORMAT), ZCOAP_CF_OCTET_STREAM);
    assert_etag(&m);
    assert_slice(f, &m, 0, 1024);

    m = exchange(f, ZCOAP_GET, "big", &(req_spec_t){.block2 = true, .b2 = {1, false, 6}});
    assert_int_equal(m.code, ZCOAP_CONTENT);
    assert_block(&m, ZCOAP_OPT_BLOCK2, 1, true, 6);
    assert_false(has_opt(&m, ZCOAP_OPT_SIZE2)); /* §4: not asked, not block 0 */
    assert_etag(&m);
    assert_slice(f, &m, 1024, 1024);

    m = exchange(f, ZCOAP_GET, "big", &(req_spec_t){.block2 = true, .b2 = {2, false, 6}});
    assert_block(&m, ZCOAP_OPT_BLOCK2, 2, false, 6);
    assert_etag(&m);
    assert_slice(f, &m, 2048, REPR_LEN - 2048);
    assert_int_equal(f->big_calls, 3); /* the handler gives the whole representation each time */
}

/* Fetch the whole representation of /big in blocks of @p szx, asked from the first request
 * (early negotiation), checking every block; returns how many blocks it took. */
static uint32_t fetch_all(fixture_t *f, uint8_t method, uint8_t szx)
{
    uint32_t size = zcoap_block_size(szx);
    uint32_t num = 0;
    for (bool more = true; more; num++) {
        zcoap_msg_t m =
            exchange(f, method, "big", &(req_spec_t){.block2 = true, .b2 = {num, false, szx}});
        assert_int_equal(m.code, ZCOAP_CONTENT);
        size_t offset = (size_t)num * size;
        size_t len = f->repr_len - offset < size ? f->repr_len - offset : size;
        more = offset + len < f->repr_len;
        assert_block(&m, ZCOAP_OPT_BLOCK2, num, more, szx);
        assert_etag(&m);
        assert_slice(f, &m, offset, len);
        if (num == 0) {
            assert_int_equal(uint_opt(&m, ZCOAP_OPT_SIZE2), f->repr_len);
        } else {
            assert_false(has_opt(&m, ZCOAP_OPT_SIZE2));
        }
    }
    return num;
}

/* TD_COAP_BLOCK_01: the first GET asks for 64-byte blocks: every block comes in that size. */
static void test_TD_COAP_BLOCK_01_early_negotiation(void **state)
{
    fixture_t *f = *state;
    f->repr_len = 300;
    start_server(f);
    assert_int_equal(fetch_all(f, ZCOAP_GET, 2), 5); /* 4 x 64 + 44 */
}

/* TD_COAP_BLOCK_06: 16-byte blocks (SZX 0), the smallest. */
static void test_TD_COAP_BLOCK_06_16_byte_blocks(void **state)
{
    fixture_t *f = *state;
    f->repr_len = 100;
    start_server(f);
    assert_int_equal(fetch_all(f, ZCOAP_GET, 0), 7); /* 6 x 16 + 4 */
}

/* FETCH works with Block2 as GET does (RFC 8132 §2.3.2). */
static void test_fetch_block2(void **state)
{
    fixture_t *f = *state;
    f->repr_len = 200;
    start_server(f);
    assert_int_equal(fetch_all(f, ZCOAP_FETCH, 3), 2);
}

/* A client asking for blocks larger than the server's gets the server's size, starting at the
 * offset it asked for (§2.4); a representation that fits one of its blocks still goes in two. */
static void test_client_szx_larger_than_server(void **state)
{
    fixture_t *f = *state;
    f->cfg.block_szx = 4; /* 256 bytes */
    start_server(f);
    zcoap_msg_t m =
        exchange(f, ZCOAP_GET, "big", &(req_spec_t){.block2 = true, .b2 = {0, false, 6}});
    assert_block(&m, ZCOAP_OPT_BLOCK2, 0, true, 4);
    assert_slice(f, &m, 0, 256);
    m = exchange(f, ZCOAP_GET, "big", &(req_spec_t){.block2 = true, .b2 = {1, false, 6}});
    assert_block(&m, ZCOAP_OPT_BLOCK2, 4, true, 4); /* offset 1024 in 256-byte blocks */
    assert_slice(f, &m, 1024, 256);
    m = exchange(f, ZCOAP_GET, "big", &(req_spec_t){0});
    assert_block(&m, ZCOAP_OPT_BLOCK2, 0, true, 4); /* late negotiation: the server's size */
    assert_slice(f, &m, 0, 256);
}

/* A block size that does not fit msg_cap with its options is lowered (ZCOAP_UV_BLOCK_ROOM). */
static void test_block_size_capped_by_msg_cap(void **state)
{
    fixture_t *f = *state;
    f->cfg.msg_cap = 600; /* 512 + 64 fits, 1024 + 64 does not */
    start_server(f);
    zcoap_msg_t m = exchange(f, ZCOAP_GET, "big", &(req_spec_t){0});
    assert_block(&m, ZCOAP_OPT_BLOCK2, 0, true, 5);
    assert_slice(f, &m, 0, 512);
}

/* §4: Size2 in a request (value 0) asks for the size, also when the answer is one message and
 * on blocks other than the first. */
static void test_size2_asked(void **state)
{
    fixture_t *f = *state;
    f->repr_len = 40;
    start_server(f);
    zcoap_msg_t m = exchange(f, ZCOAP_GET, "big", &(req_spec_t){.size2 = true});
    assert_false(has_opt(&m, ZCOAP_OPT_BLOCK2));
    assert_int_equal(uint_opt(&m, ZCOAP_OPT_SIZE2), 40);
    assert_slice(f, &m, 0, 40);
    m = exchange(f, ZCOAP_GET, "big",
                 &(req_spec_t){.size2 = true, .block2 = true, .b2 = {1, false, 0}});
    assert_block(&m, ZCOAP_OPT_BLOCK2, 1, true, 0);
    assert_int_equal(uint_opt(&m, ZCOAP_OPT_SIZE2), 40);
    assert_slice(f, &m, 16, 16);
    /* Without Size2, a representation that fits one block has neither option. */
    m = exchange(f, ZCOAP_GET, "big", &(req_spec_t){0});
    assert_false(has_opt(&m, ZCOAP_OPT_BLOCK2));
    assert_false(has_opt(&m, ZCOAP_OPT_SIZE2));
    assert_etag(&m);
}

/* A block past the end of the representation: 4.02 Bad Option, without Block2 or ETag. */
static void test_block_past_end_is_4_02(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    zcoap_msg_t m =
        exchange(f, ZCOAP_GET, "big", &(req_spec_t){.block2 = true, .b2 = {3, false, 6}});
    assert_int_equal(m.code, ZCOAP_BAD_OPTION);
    assert_false(has_opt(&m, ZCOAP_OPT_BLOCK2));
    assert_false(has_opt(&m, ZCOAP_OPT_ETAG));
    assert_int_equal(stats(f)->block_bad, 1);
    /* The last block that exists is served. */
    m = exchange(f, ZCOAP_GET, "big", &(req_spec_t){.block2 = true, .b2 = {2, false, 6}});
    assert_int_equal(m.code, ZCOAP_CONTENT);
    assert_slice(f, &m, 2048, REPR_LEN - 2048);
}

/* §2.2: SZX 7 is reserved: a request with it gets 4.00, and the handler never sees it. */
static void test_block_szx_7_is_4_00(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    zcoap_msg_t m = exchange(f, ZCOAP_GET, "big", &(req_spec_t){.raw_block2 = 0x17}); /* 1/0/7 */
    assert_int_equal(m.code, ZCOAP_BAD_REQUEST);
    assert_int_equal(f->big_calls, 0);
    const uint8_t data[16] = {0};
    m = exchange(f, ZCOAP_PUT, "up",
                 &(req_spec_t){.raw_block1 = 0x0F, .payload = data, .payload_len = sizeof data});
    assert_int_equal(m.code, ZCOAP_BAD_REQUEST);
    assert_int_equal(f->n_calls, 0);
    assert_int_equal(stats(f)->block_bad, 2);
}

/* The slice reader is asked for exactly the block's slice, written in place. */
static void test_reader_gives_the_slice(void **state)
{
    fixture_t *f = *state;
    f->use_reader = true;
    start_server(f);
    zcoap_msg_t m =
        exchange(f, ZCOAP_GET, "big", &(req_spec_t){.block2 = true, .b2 = {8, false, 4}});
    assert_int_equal(f->reader_calls, 1);
    assert_int_equal(f->reader_offset, 8 * 256);
    assert_int_equal(f->reader_len, 256);
    assert_block(&m, ZCOAP_OPT_BLOCK2, 8, true, 4);
    assert_etag(&m);
    assert_slice(f, &m, 8 * 256, 256);
    /* The last block: its 196 bytes only. */
    m = exchange(f, ZCOAP_GET, "big", &(req_spec_t){.block2 = true, .b2 = {9, false, 4}});
    assert_int_equal(f->reader_offset, 9 * 256);
    assert_int_equal(f->reader_len, REPR_LEN - 9 * 256);
    assert_block(&m, ZCOAP_OPT_BLOCK2, 9, false, 4);
    assert_slice(f, &m, 9 * 256, REPR_LEN - 9 * 256);
    /* Late negotiation through the reader: block 0, 1024 bytes. */
    m = exchange(f, ZCOAP_GET, "big", &(req_spec_t){0});
    assert_int_equal(f->reader_offset, 0);
    assert_int_equal(f->reader_len, 1024);
    assert_block(&m, ZCOAP_OPT_BLOCK2, 0, true, 6);
    assert_int_equal(uint_opt(&m, ZCOAP_OPT_SIZE2), REPR_LEN);
    assert_slice(f, &m, 0, 1024);
}

/* A reader that fails: 5.00 Internal Server Error, without the options of the representation. */
static void test_reader_error_is_5_00(void **state)
{
    fixture_t *f = *state;
    f->use_reader = true;
    f->reader_fails = true;
    start_server(f);
    zcoap_msg_t m = exchange(f, ZCOAP_GET, "big", &(req_spec_t){0});
    assert_int_equal(m.code, ZCOAP_INTERNAL_SERVER_ERROR);
    assert_int_equal(f->reader_calls, 1);
    assert_false(has_opt(&m, ZCOAP_OPT_BLOCK2));
    assert_false(has_opt(&m, ZCOAP_OPT_ETAG));
    assert_false(has_opt(&m, ZCOAP_OPT_SIZE2));
    assert_false(has_opt(&m, ZCOAP_OPT_CONTENT_FORMAT));
    assert_int_equal(m.payload_len, 0);
}

/* An ETag longer than 8 bytes (RFC 7252 §5.10.6) and a reader that is NULL are refused, and
 * the request can still be answered. */
static void test_bad_answers_refused(void **state)
{
    fixture_t *f = *state;
    f->try_bad_answers = true;
    start_server(f);
    zcoap_msg_t m = exchange(f, ZCOAP_GET, "big", &(req_spec_t){0});
    assert_int_equal(f->long_etag_rc, ZCOAP_EINVAL);
    assert_int_equal(f->null_reader_rc, ZCOAP_EINVAL);
    assert_int_equal(m.code, ZCOAP_CONTENT);
    assert_slice(f, &m, 0, 1024);
    zcoap_uv_block1_t blk;
    assert_int_equal(zcoap_uv_peer_block1(NULL, &blk), ZCOAP_EINVAL);
}

/* RFC 7959 §2.6: a notification larger than a block carries block 0, with M, Size2 and the
 * ETag (and so does the registration's answer, with Observe); the rest is fetched with GETs. */
static void test_large_notification_sends_block_0(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    zcoap_msg_t m = exchange(f, ZCOAP_GET, "obs", &(req_spec_t){.observe = true});
    assert_int_equal(m.code, ZCOAP_CONTENT);
    assert_int_equal(uint_opt(&m, ZCOAP_OPT_OBSERVE), 0);
    assert_block(&m, ZCOAP_OPT_BLOCK2, 0, true, 6);
    assert_slice(f, &m, 0, 1024);
    assert_int_equal(stats(f)->observers_in_use, 1);

    f->repr[0] ^= 0xFF; /* a new state */
    assert_int_equal(zcoap_uv_server_notify(&f->server, &f->resources[RES_OBS]), 1);
    m = next_msg(f);
    assert_int_equal(m.type, ZCOAP_TYPE_NON);
    assert_int_equal(m.code, ZCOAP_CONTENT);
    assert_int_equal(uint_opt(&m, ZCOAP_OPT_OBSERVE), 1);
    assert_block(&m, ZCOAP_OPT_BLOCK2, 0, true, 6);
    assert_int_equal(uint_opt(&m, ZCOAP_OPT_SIZE2), REPR_LEN);
    assert_etag(&m);
    assert_slice(f, &m, 0, 1024);
    /* The notification through the reader carries the same block 0. */
    f->use_reader = true;
    assert_int_equal(zcoap_uv_server_notify(&f->server, &f->resources[RES_OBS]), 1);
    m = next_msg(f);
    assert_int_equal(uint_opt(&m, ZCOAP_OPT_OBSERVE), 2);
    assert_block(&m, ZCOAP_OPT_BLOCK2, 0, true, 6);
    assert_slice(f, &m, 0, 1024);
}

/* ---- Block1: request bodies in blocks ----------------------------------------------------- */

/* Send block @p num (SZX @p szx) of the body @p body (@p total bytes) to @p path. */
static zcoap_msg_t send_block(fixture_t *f, uint8_t method, const char *path, const uint8_t *body,
                              size_t total, uint32_t num, uint8_t szx, const req_spec_t *extra)
{
    req_spec_t r = extra != NULL ? *extra : (req_spec_t){0};
    size_t size = zcoap_block_size(szx);
    size_t offset = (size_t)num * size;
    size_t len = total - offset < size ? total - offset : size;
    r.block1 = true;
    r.b1 = (zcoap_block_t){num, offset + len < total, szx};
    r.payload = body + offset;
    r.payload_len = len;
    return exchange(f, method, path, &r);
}

static void make_body(uint8_t *body, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        body[i] = (uint8_t)(seed + i * 13u);
    }
}

/* Upload @p total bytes of a body to /up in @p szx blocks, checking each answer and each call
 * of the handler (once per block, in order, with its offset); returns the last answer. */
static zcoap_msg_t upload(fixture_t *f, uint8_t method, const uint8_t *body, size_t total,
                          uint8_t szx, const req_spec_t *extra)
{
    size_t size = zcoap_block_size(szx);
    uint32_t blocks = (uint32_t)((total + size - 1) / size);
    size_t calls_before = f->n_calls;
    zcoap_msg_t m = {0};
    for (uint32_t num = 0; num < blocks; num++) {
        m = send_block(f, method, "up", body, total, num, szx, extra);
        bool last = num + 1 == blocks;
        assert_int_equal(f->n_calls, calls_before + num + 1u);
        const call_t *c = &f->calls[f->n_calls - 1];
        assert_int_equal(c->block1_rc, ZCOAP_OK);
        assert_int_equal(c->block.offset, (size_t)num * size);
        assert_int_equal(c->block.last, last);
        assert_int_equal(c->method, method);
        if (!last) {
            assert_int_equal(m.code, ZCOAP_CONTINUE);
            assert_block(&m, ZCOAP_OPT_BLOCK1, num, true, szx);
            assert_int_equal(m.payload_len, 0);
        }
    }
    assert_int_equal(f->body_len, total);
    assert_memory_equal(f->body, body, total);
    return m;
}

/* TD_COAP_BLOCK_03: a PUT in 64-byte blocks with Size1: 2.31 Continue with Block1 for each
 * block but the last, whose answer (2.04) carries Block1 with M clear; the handler saw each
 * block once, in order, with its offset and the announced size. */
static void test_TD_COAP_BLOCK_03_put_block1(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    uint8_t body[200];
    make_body(body, sizeof body, 1);
    zcoap_msg_t m = upload(f, ZCOAP_PUT, body, sizeof body, 2,
                           &(req_spec_t){.size1 = true, .size1_val = sizeof body});
    assert_int_equal(m.code, ZCOAP_CHANGED);
    assert_block(&m, ZCOAP_OPT_BLOCK1, 3, false, 2);
    assert_int_equal(m.payload_len, 4);
    assert_memory_equal(m.payload, "done", 4);
    assert_int_equal(f->n_calls, 4);
    for (size_t i = 0; i < f->n_calls; i++) {
        assert_int_equal(f->calls[i].block.size1, sizeof body);
        assert_int_equal(f->calls[i].payload_len, i < 3 ? 64 : 8);
    }
}

/* TD_COAP_BLOCK_04: the same with POST, and NON requests get NON answers. */
static void test_TD_COAP_BLOCK_04_post_block1(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    uint8_t body[1100];
    make_body(body, sizeof body, 2);
    zcoap_msg_t m = upload(f, ZCOAP_POST, body, sizeof body, 6, NULL);
    assert_int_equal(m.code, ZCOAP_CHANGED);
    assert_block(&m, ZCOAP_OPT_BLOCK1, 1, false, 6);
    assert_int_equal(f->calls[0].block.size1, 0); /* none announced */

    /* NON: 2.31 as a NON too */
    send_request(f, ZCOAP_POST, "up",
                 &(req_spec_t){.type = ZCOAP_TYPE_NON,
                               .block1 = true,
                               .b1 = {0, true, 4},
                               .payload = body,
                               .payload_len = 256});
    m = next_msg(f);
    assert_int_equal(m.type, ZCOAP_TYPE_NON);
    assert_int_equal(m.code, ZCOAP_CONTINUE);
    assert_block(&m, ZCOAP_OPT_BLOCK1, 0, true, 4);
}

/* §2.3: blocks larger than the server's are taken, and the answer asks for the server's size;
 * the client goes on from where it is, in that size. */
static void test_block1_server_asks_smaller_blocks(void **state)
{
    fixture_t *f = *state;
    f->cfg.block_szx = 4; /* 256 */
    start_server(f);
    uint8_t body[1300];
    make_body(body, sizeof body, 3);
    zcoap_msg_t m = send_block(f, ZCOAP_PUT, "up", body, sizeof body, 0, 6, NULL);
    assert_int_equal(m.code, ZCOAP_CONTINUE);
    assert_block(&m, ZCOAP_OPT_BLOCK1, 0, true, 4); /* go on in 256-byte blocks */
    m = send_block(f, ZCOAP_PUT, "up", body, sizeof body, 4, 4, NULL); /* offset 1024 */
    assert_int_equal(m.code, ZCOAP_CONTINUE);
    assert_block(&m, ZCOAP_OPT_BLOCK1, 4, true, 4);
    m = send_block(f, ZCOAP_PUT, "up", body, sizeof body, 5, 4, NULL);
    assert_int_equal(m.code, ZCOAP_CHANGED);
    assert_block(&m, ZCOAP_OPT_BLOCK1, 5, false, 4);
    assert_int_equal(f->n_calls, 3);
    assert_int_equal(f->calls[1].block.offset, 1024);
    assert_int_equal(f->calls[2].block.offset, 1280);
    assert_int_equal(f->body_len, sizeof body);
    assert_memory_equal(f->body, body, sizeof body);
}

/* §2.5: a block other than the first with no body under way: 4.08, not to the handler. */
static void test_block1_missing_first_block_is_4_08(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    uint8_t body[200];
    make_body(body, sizeof body, 4);
    zcoap_msg_t m = send_block(f, ZCOAP_PUT, "up", body, sizeof body, 1, 2, NULL);
    assert_int_equal(m.code, ZCOAP_REQUEST_ENTITY_INCOMPLETE);
    assert_int_equal(f->n_calls, 0);
    assert_int_equal(stats(f)->block_incomplete, 1);
}

/* §2.5: a gap (block 2 after block 0): 4.08; the body under way goes on with block 1. */
static void test_block1_gap_is_4_08(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    uint8_t body[200];
    make_body(body, sizeof body, 5);
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 0, 2, NULL).code,
                     ZCOAP_CONTINUE);
    zcoap_msg_t m = send_block(f, ZCOAP_PUT, "up", body, sizeof body, 2, 2, NULL);
    assert_int_equal(m.code, ZCOAP_REQUEST_ENTITY_INCOMPLETE);
    assert_int_equal(f->n_calls, 1);
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 1, 2, NULL).code,
                     ZCOAP_CONTINUE);
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 2, 2, NULL).code,
                     ZCOAP_CONTINUE);
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 3, 2, NULL).code,
                     ZCOAP_CHANGED);
    assert_int_equal(f->n_calls, 4);
    assert_memory_equal(f->body, body, sizeof body);
}

/* RFC 9175 §3.3: blocks with another Request-Tag belong to another body: 4.08. One body per
 * peer: a first block with a new tag replaces the body under way, whose next block gets 4.08. */
static void test_block1_other_request_tag_is_4_08(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    uint8_t body[200];
    make_body(body, sizeof body, 6);
    const req_spec_t a = {.tag = TAG_A, .tag_len = sizeof TAG_A};
    const req_spec_t b = {.tag = TAG_B, .tag_len = sizeof TAG_B};
    const req_spec_t none = {0};
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 0, 2, &a).code,
                     ZCOAP_CONTINUE);
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 1, 2, &b).code,
                     ZCOAP_REQUEST_ENTITY_INCOMPLETE);
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 1, 2, &none).code,
                     ZCOAP_REQUEST_ENTITY_INCOMPLETE); /* no tag is another tag too */
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 1, 2, &a).code,
                     ZCOAP_CONTINUE);
    /* A second body (tag B) starts: it replaces body A. */
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 0, 2, &b).code,
                     ZCOAP_CONTINUE);
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 2, 2, &a).code,
                     ZCOAP_REQUEST_ENTITY_INCOMPLETE);
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 1, 2, &b).code,
                     ZCOAP_CONTINUE);
    assert_int_equal(f->n_calls, 4);
    assert_int_equal(f->calls[3].block.offset, 64);
    assert_int_equal(stats(f)->block_incomplete, 3);
}

/* A block of a body for another resource: 4.08; the body under way is not disturbed. */
static void test_block1_other_resource_is_4_08(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    uint8_t body[200];
    make_body(body, sizeof body, 7);
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 0, 2, NULL).code,
                     ZCOAP_CONTINUE);
    assert_int_equal(send_block(f, ZCOAP_PUT, "other", body, sizeof body, 1, 2, NULL).code,
                     ZCOAP_REQUEST_ENTITY_INCOMPLETE);
    assert_int_equal(f->n_calls, 1);
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 1, 2, NULL).code,
                     ZCOAP_CONTINUE);
    assert_int_equal(f->n_calls, 2);
}

/* §2.9.3: Size1 above max_body: 4.13 with Size1 = max_body, before any block is taken; and a
 * plain request announcing too much gets the same. */
static void test_block1_size1_too_large_is_4_13(void **state)
{
    fixture_t *f = *state;
    f->cfg.max_body = SMALL_MAX_BODY;
    start_server(f);
    uint8_t body[64];
    make_body(body, sizeof body, 8);
    zcoap_msg_t m = send_block(f, ZCOAP_PUT, "up", body, 5000, 0, 2,
                               &(req_spec_t){.size1 = true, .size1_val = 5000});
    assert_int_equal(m.code, ZCOAP_REQUEST_ENTITY_TOO_LARGE);
    assert_int_equal(uint_opt(&m, ZCOAP_OPT_SIZE1), SMALL_MAX_BODY);
    assert_false(has_opt(&m, ZCOAP_OPT_BLOCK1));
    m = exchange(
        f, ZCOAP_PUT, "up",
        &(req_spec_t){.size1 = true, .size1_val = 2000, .payload = body, .payload_len = 8});
    assert_int_equal(m.code, ZCOAP_REQUEST_ENTITY_TOO_LARGE);
    assert_int_equal(uint_opt(&m, ZCOAP_OPT_SIZE1), SMALL_MAX_BODY);
    assert_int_equal(f->n_calls, 0);
    assert_int_equal(stats(f)->block_too_large, 2);
}

/* §2.9.3: a body that grows past max_body without announcing it: 4.13 at the block that
 * crosses it; the body is over (the next block gets 4.08). */
static void test_block1_body_grows_too_large_is_4_13(void **state)
{
    fixture_t *f = *state;
    f->cfg.max_body = 100;
    start_server(f);
    uint8_t body[256];
    make_body(body, sizeof body, 9);
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 0, 2, NULL).code,
                     ZCOAP_CONTINUE);
    zcoap_msg_t m = send_block(f, ZCOAP_PUT, "up", body, sizeof body, 1, 2, NULL);
    assert_int_equal(m.code, ZCOAP_REQUEST_ENTITY_TOO_LARGE);
    assert_int_equal(uint_opt(&m, ZCOAP_OPT_SIZE1), 100);
    assert_int_equal(f->n_calls, 1);
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 2, 2, NULL).code,
                     ZCOAP_REQUEST_ENTITY_INCOMPLETE);
}

/* §2.2: only the last block may be shorter than its size: 4.00 Bad Request. */
static void test_block1_short_block_not_last_is_4_00(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    uint8_t body[10];
    make_body(body, sizeof body, 10);
    zcoap_msg_t m = exchange(
        f, ZCOAP_PUT, "up",
        &(req_spec_t){
            .block1 = true, .b1 = {0, true, 2}, .payload = body, .payload_len = sizeof body});
    assert_int_equal(m.code, ZCOAP_BAD_REQUEST);
    assert_int_equal(f->n_calls, 0);
    assert_int_equal(stats(f)->block_bad, 1);
}

/* A block sent again with the same MID (its answer was lost) gets the stored answer, byte for
 * byte, and the handler sees it once (RFC 7252 §4.5); the same for the last block. */
static void test_block1_retransmission_answered_from_cache(void **state)
{
    fixture_t *f = *state;
    start_server(f);
    uint8_t body[100];
    make_body(body, sizeof body, 11);
    uint8_t dgram[256];
    /* Block 0 (64 bytes of SZX 2) and then the last block, each sent twice. */
    for (uint32_t num = 0; num < 2; num++) {
        uint16_t mid = f->next_mid++;
        size_t n = build_request(dgram, sizeof dgram, mid, ZCOAP_PUT, "up",
                                 &(req_spec_t){.block1 = true,
                                               .b1 = {num, num == 0, 2},
                                               .payload = body + num * 64,
                                               .payload_len = num == 0 ? 64 : 36});
        assert_int_equal(uvt_peer_send(&f->peer, &f->server_addr, dgram, (ptrdiff_t)n), 0);
        zcoap_msg_t first = next_msg(f);
        assert_int_equal(first.mid, mid);
        assert_int_equal(first.code, num == 0 ? ZCOAP_CONTINUE : ZCOAP_CHANGED);
        assert_int_equal(uvt_peer_send(&f->peer, &f->server_addr, dgram, (ptrdiff_t)n), 0);
        zcoap_msg_t again = next_msg(f);
        assert_int_equal(again.len, first.len);
        assert_memory_equal(again.data, first.data, first.len);
        assert_int_equal(f->n_calls, num + 1u);
    }
    assert_memory_equal(f->body, body, sizeof body);
}

/* TD_COAP_BLOCK_05 (RFC 7959 §3.2, "Block-wise POST"): a POST in Block1 blocks whose answer is
 * larger than a block: the last block's answer carries Block1 (M clear), Block2 0 with M and
 * Size2; the client then asks for the next blocks with the same POST, Block2 and no payload,
 * which the handler answers whole again and the adapter slices. */
static void test_TD_COAP_BLOCK_05_block1_and_block2(void **state)
{
    fixture_t *f = *state;
    f->answer_big_on_last = true;
    start_server(f);
    uint8_t body[300];
    make_body(body, sizeof body, 12);
    zcoap_msg_t m = upload(f, ZCOAP_POST, body, sizeof body, 4, NULL);
    assert_int_equal(m.code, ZCOAP_CHANGED);
    assert_block(&m, ZCOAP_OPT_BLOCK1, 1, false, 4);
    assert_block(&m, ZCOAP_OPT_BLOCK2, 0, true, 6);
    assert_int_equal(uint_opt(&m, ZCOAP_OPT_SIZE2), REPR_LEN);
    assert_etag(&m);
    assert_slice(f, &m, 0, 1024);
    for (uint32_t num = 1; num < 3; num++) {
        m = exchange(f, ZCOAP_POST, "up", &(req_spec_t){.block2 = true, .b2 = {num, false, 6}});
        assert_int_equal(m.code, ZCOAP_CHANGED);
        assert_false(has_opt(&m, ZCOAP_OPT_BLOCK1));
        assert_block(&m, ZCOAP_OPT_BLOCK2, num, num < 2, 6);
        assert_etag(&m);
        assert_slice(f, &m, num * 1024u, num < 2 ? 1024 : REPR_LEN - 2048);
        const call_t *c = &f->calls[f->n_calls - 1];
        assert_int_equal(c->block1_rc, ZCOAP_ENOTFOUND);
        assert_true(c->has_block2);
        assert_int_equal(c->payload_len, 0);
    }
    assert_int_equal(f->n_calls, 4);
}

/* §3.2: the last block may carry Block2 to ask for the answer's block size (early
 * negotiation of the answer): the answer's first block comes in that size. */
static void test_block1_last_block_asks_answer_block_size(void **state)
{
    fixture_t *f = *state;
    f->answer_big_on_last = true;
    start_server(f);
    uint8_t body[100];
    make_body(body, sizeof body, 15);
    assert_int_equal(send_block(f, ZCOAP_POST, "up", body, sizeof body, 0, 2, NULL).code,
                     ZCOAP_CONTINUE);
    zcoap_msg_t m = send_block(f, ZCOAP_POST, "up", body, sizeof body, 1, 2,
                               &(req_spec_t){.block2 = true, .b2 = {0, false, 4}});
    assert_int_equal(m.code, ZCOAP_CHANGED);
    assert_block(&m, ZCOAP_OPT_BLOCK1, 1, false, 2);
    assert_block(&m, ZCOAP_OPT_BLOCK2, 0, true, 4);
    assert_int_equal(uint_opt(&m, ZCOAP_OPT_SIZE2), REPR_LEN);
    assert_slice(f, &m, 0, 256);
}

/* The configuration: SZX 7 is no block size (RFC 7959 §2.2). */
static void test_config_block_szx_7_refused(void **state)
{
    fixture_t *f = *state;
    f->cfg.block_szx = 7;
    make_resources(f);
    f->cfg.resources = f->resources;
    f->cfg.n_resources = N_RES;
    struct sockaddr_storage bind_addr;
    uvt_loopback(AF_INET, 0, &bind_addr);
    assert_int_equal(zcoap_uv_server_start(&f->uv.loop, &f->server,
                                           (const struct sockaddr *)&bind_addr, &f->cfg),
                     ZCOAP_EINVAL);
    zcoap_uv_server_config_t defaults;
    zcoap_uv_server_config_default(&defaults);
    assert_int_equal(defaults.block_szx, 6);
    assert_int_equal(defaults.max_body, 1u << 20);
}

/* The handler may end a body with an error: it is answered as given (no Block1), and the
 * body is over: its next block gets 4.08. */
static void test_block1_handler_error_ends_the_body(void **state)
{
    fixture_t *f = *state;
    f->stop_at_offset = 64;
    f->stop_code = ZCOAP_INTERNAL_SERVER_ERROR;
    start_server(f);
    uint8_t body[200];
    make_body(body, sizeof body, 13);
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 0, 2, NULL).code,
                     ZCOAP_CONTINUE);
    zcoap_msg_t m = send_block(f, ZCOAP_PUT, "up", body, sizeof body, 1, 2, NULL);
    assert_int_equal(m.code, ZCOAP_INTERNAL_SERVER_ERROR);
    assert_false(has_opt(&m, ZCOAP_OPT_BLOCK1));
    assert_int_equal(send_block(f, ZCOAP_PUT, "up", body, sizeof body, 2, 2, NULL).code,
                     ZCOAP_REQUEST_ENTITY_INCOMPLETE);
    assert_int_equal(f->n_calls, 2);
}

/* A handler that acknowledges a block to answer it later gets no automatic 2.31; its separate
 * answer carries Block1 all the same. */
static void test_block1_held_block_answered_later(void **state)
{
    fixture_t *f = *state;
    f->hold = true;
    start_server(f);
    uint8_t body[200];
    make_body(body, sizeof body, 14);
    uint16_t mid = send_request(
        f, ZCOAP_PUT, "up",
        &(req_spec_t){.block1 = true, .b1 = {0, true, 2}, .payload = body, .payload_len = 64});
    zcoap_msg_t m = next_msg(f);
    assert_int_equal(m.type, ZCOAP_TYPE_ACK);
    assert_int_equal(m.code, ZCOAP_CODE_EMPTY);
    assert_int_equal(m.mid, mid);
    assert_non_null(f->held);
    zcoap_uv_block1_t blk;
    assert_int_equal(zcoap_uv_peer_block1(f->held, &blk), ZCOAP_OK);
    assert_int_equal(blk.offset, 0);
    assert_false(blk.last);
    f->held->data = NULL;
    assert_int_equal(zcoap_uv_peer_respond(f->held, ZCOAP_CONTINUE, -1, NULL, 0), 0);
    m = next_msg(f);
    assert_int_equal(m.type, ZCOAP_TYPE_CON);
    assert_int_equal(m.code, ZCOAP_CONTINUE);
    assert_block(&m, ZCOAP_OPT_BLOCK1, 0, true, 2);
    assert_int_equal(zcoap_uv_peer_block1(f->held, &blk), ZCOAP_ENOTFOUND); /* answered */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_TD_COAP_BLOCK_02_late_negotiation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_TD_COAP_BLOCK_01_early_negotiation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_TD_COAP_BLOCK_06_16_byte_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_block2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_szx_larger_than_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_size_capped_by_msg_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size2_asked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_past_end_is_4_02, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_szx_7_is_4_00, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_gives_the_slice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_error_is_5_00, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_answers_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_notification_sends_block_0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_TD_COAP_BLOCK_03_put_block1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_TD_COAP_BLOCK_04_post_block1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block1_server_asks_smaller_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block1_missing_first_block_is_4_08, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block1_gap_is_4_08, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block1_other_request_tag_is_4_08, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block1_other_resource_is_4_08, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block1_size1_too_large_is_4_13, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block1_body_grows_too_large_is_4_13, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block1_short_block_not_last_is_4_00, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block1_retransmission_answered_from_cache, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_TD_COAP_BLOCK_05_block1_and_block2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block1_last_block_asks_answer_block_size, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_block_szx_7_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block1_handler_error_ends_the_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block1_held_block_answered_later, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
