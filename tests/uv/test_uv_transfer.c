/*
 * Block-wise transfers of the libuv client (zcoap_uv_client_transfer(), RFC 7959) on a real loop
 * over loopback.
 *
 * The peer is a raw UDP socket (uvt_peer_t, tests/support/uv_support.h) whose script in this file
 * plays a block-wise server by hand: Block2 slices of a generated representation (ETag, Size2 on
 * block 0), 2.31 Continue to Block1 blocks, and on demand silence, RST, an ETag change, an answer
 * held back until the test releases it, a notification and a request of its own in the middle.
 * Callbacks only record what happens (and, in some tests, act once from inside a report); the test
 * body asserts once the loop is back. Every wait is bounded by a guard timer of GUARD_MS loop
 * time, nothing sleeps, and every test ends with all handles closed and uv_loop_close() == 0.
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
    GUARD_MS = 5000,   /* loop time after which a wait counts as failed */
    MAX_REPORTS = 128, /* transfer reports recorded */
    MAX_EVENTS = 32,   /* client events recorded */
    REP_LEN = 1000,    /* the representation: 15 blocks of 64 and one of 40 */
    SERVER_SZX = 2,    /* the server's block size: 64 */
    BODY_LEN = 300,    /* an upload: 4 blocks of 64 and one of 44 */
    BODY_MAX = 4096,   /* what the server keeps of a body */
    ANSWER_LEN = 200,  /* the block-wise answer to an upload */
    OBS_TAG = 7,       /* the client's observation */
    NOTIFY_MID = 0x6100,
    SERVER_REQ_MID = 0x6200,
    SEPARATE_MID = 0x6300,
    FAST_ACK_TIMEOUT_MS = 50,
    FAST_MAX_RETRANSMIT = 2
};

typedef struct fixture fixture_t;

/* One transfer report, as it was. */
typedef struct report {
    zcoap_uv_transfer_report_kind_t kind;
    int status;
    bool has_msg;
    uint8_t code; /* of the response, when has_msg */
    size_t offset;
    size_t len;
    uint64_t size2;
    size_t uploaded;
} report_t;

/* Something a test does once from inside a report of @p kind (number @p at of that kind). */
typedef void (*report_action_fn)(fixture_t *f);

/* The peer's script: a block-wise server and what it does wrong on demand. Counts are of
 * requests of the transfer (not retransmissions), from 1. */
typedef struct server {
    size_t rep_len;
    uint8_t version;          /* of the representation and its ETag */
    size_t change_at;         /* the representation changes before answering this request */
    size_t silent_from;       /* from this request on, nothing is answered */
    size_t reset_at;          /* this request gets RST */
    size_t hold_at;           /* this request's answer is kept until release_held() */
    bool hold_separate;       /* ... and it is a separate CON response after an empty ACK */
    size_t inject_at;         /* a notification and a request of the peer's before this answer */
    bool answer_upload_large; /* the final answer to a Block1 body is block-wise itself */
    size_t requests;          /* requests counted */
    bool have_last_mid;
    uint16_t last_mid; /* a retransmission of it is answered again, not counted */
    uint8_t last_answer[UVT_DGRAM_MAX];
    size_t last_answer_len;
    /* a body received in Block1 blocks */
    uint8_t body[BODY_MAX];
    size_t body_len;
    /* the observation the client registered */
    uint8_t obs_token[ZCOAP_MAX_TOKEN_LEN];
    uint8_t obs_token_len;
    /* an answer held back */
    uint8_t held[UVT_DGRAM_MAX];
    ptrdiff_t held_len;
    struct sockaddr_storage held_to;
} server_t;

struct fixture {
    uvt_loop_t uv;
    int family;
    uvt_peer_t peer;
    server_t srv;

    zcoap_uv_client_t client;
    zcoap_ep_config_t cfg;
    zcoap_ep_storage_t storage;
    bool client_inited;
    bool close_requested;
    int close_calls;

    report_t reports[MAX_REPORTS];
    size_t n_reports;
    size_t reports_after_close;
    uint8_t got[REP_LEN + BODY_MAX]; /* the slices, at their offsets */
    size_t got_len;
    /* an action from inside a report */
    zcoap_uv_transfer_report_kind_t action_kind;
    size_t action_at;
    size_t action_seen;
    report_action_fn action;
    int action_rc[5];

    zcoap_event_kind_t events[MAX_EVENTS];
    uint32_t event_tags[MAX_EVENTS];
    size_t n_events;
    size_t events_after_close;
};

/* ---- the representation ---------------------------------------------------------------------- */

/* Byte @p i of version @p v: every version differs at every offset's neighbourhood. */
static uint8_t rep_byte(size_t i, uint8_t v)
{
    return (uint8_t)(i * 31u + (i >> 8) + (size_t)v * 101u);
}

static void assert_got_representation(const fixture_t *f, size_t len, uint8_t version)
{
    assert_int_equal(f->got_len, len);
    for (size_t i = 0; i < len; i++) {
        if (f->got[i] != rep_byte(i, version)) {
            fail_msg("byte %zu: %u, expected %u", i, f->got[i], rep_byte(i, version));
        }
    }
}

/* ---- loop, setup, teardown ------------------------------------------------------------------- */

static bool run_until(fixture_t *f, bool (*done)(const void *ctx))
{
    return uvt_run_until(&f->uv, GUARD_MS, done, f);
}

static bool transfer_ended(const void *ctx)
{
    const fixture_t *f = ctx;
    for (size_t i = 0; i < f->n_reports; i++) {
        if (f->reports[i].kind == ZCOAP_UV_TRANSFER_DONE ||
            f->reports[i].kind == ZCOAP_UV_TRANSFER_FAILED) {
            return true;
        }
    }
    return false;
}

static size_t count_reports(const fixture_t *f, zcoap_uv_transfer_report_kind_t kind)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_reports; i++) {
        n += f->reports[i].kind == kind;
    }
    return n;
}

static bool two_transfers_ended(const void *ctx)
{
    const fixture_t *f = ctx;
    return count_reports(f, ZCOAP_UV_TRANSFER_DONE) + count_reports(f, ZCOAP_UV_TRANSFER_FAILED) >=
           2;
}

static bool answer_held(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->srv.held_len > 0;
}

static bool client_closed(const void *ctx)
{
    const fixture_t *f = ctx;
    return f->close_calls > 0;
}

static bool has_event(const fixture_t *f, zcoap_event_kind_t kind)
{
    for (size_t i = 0; i < f->n_events; i++) {
        if (f->events[i] == kind) {
            return true;
        }
    }
    return false;
}

static bool observation_answered(const void *ctx)
{
    return has_event(ctx, ZCOAP_EV_OUT_RESPONSE);
}

static void run_until_transfer_ended(fixture_t *f)
{
    if (!run_until(f, transfer_ended)) {
        fail_msg("the transfer did not end within %d ms (%zu reports)", GUARD_MS, f->n_reports);
    }
}

static int setup(void **state, int family)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL || uvt_loop_init(&f->uv) != 0) {
        free(f);
        return -1;
    }
    f->family = family;
    f->srv.rep_len = REP_LEN;
    f->srv.version = 1;
    *state = f;
    return 0;
}

static int setup_ipv4(void **state)
{
    return setup(state, AF_INET);
}

static int setup_ipv6(void **state)
{
    return setup(state, AF_INET6);
}

static void on_client_closed(zcoap_uv_client_t *c)
{
    fixture_t *f = c->data;
    f->close_calls++;
}

static void close_client(fixture_t *f)
{
    f->close_requested = true;
    zcoap_uv_client_close(&f->client, on_client_closed);
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f->client_inited && !f->close_requested) {
        close_client(f);
    }
    uvt_peer_close(&f->peer);
    if (f->client_inited) {
        assert_true(run_until(f, client_closed));
        assert_int_equal(f->close_calls, 1);
        assert_int_equal(f->events_after_close, 0);
        assert_int_equal(f->reports_after_close, 0);
    }
    uvt_loop_end(&f->uv);
    assert_int_equal(f->peer.send_errors, 0);
    assert_int_equal(f->peer.not_coap, 0);
    free(f);
    return 0;
}

/* ---- the peer: a block-wise server ------------------------------------------------------------
 */

/* Send @p b finished, and keep it as the answer to the last request (for its retransmissions). */
static void send_answer(fixture_t *f, const struct sockaddr_storage *to, const zcoap_builder_t *b)
{
    ptrdiff_t len = zcoap_builder_finish(b);
    if (len > 0 && (size_t)len <= sizeof f->srv.last_answer) {
        memcpy(f->srv.last_answer, b->buf, (size_t)len);
        f->srv.last_answer_len = (size_t)len;
    }
    (void)uvt_peer_send(&f->peer, to, b->buf, len);
}

/* Keep @p b finished to be sent by release_held(). */
static void hold_answer(fixture_t *f, const struct sockaddr_storage *to, const zcoap_builder_t *b)
{
    f->srv.held_len = zcoap_builder_finish(b);
    if (f->srv.held_len > 0) {
        memcpy(f->srv.held, b->buf, (size_t)f->srv.held_len);
    }
    f->srv.held_to = *to;
}

static void release_held(fixture_t *f)
{
    assert_true(f->srv.held_len > 0);
    (void)uvt_peer_send(&f->peer, &f->srv.held_to, f->srv.held, f->srv.held_len);
    f->srv.held_len = 0;
}

/* A Block2 answer (or the whole representation when it fits and no block was asked for). */
static void build_download_answer(fixture_t *f, const zcoap_msg_t *req, zcoap_builder_t *b)
{
    server_t *s = &f->srv;
    zcoap_block_t want;
    bool asked = zcoap_msg_get_block(req, ZCOAP_OPT_BLOCK2, &want) == ZCOAP_OK;
    uint8_t szx = asked && want.szx < SERVER_SZX ? want.szx : SERVER_SZX;
    size_t size = zcoap_block_size(szx);
    size_t offset = asked ? (size_t)want.num * zcoap_block_size(want.szx) : 0;
    if (offset >= s->rep_len && s->rep_len > 0) {
        (void)zcoap_builder_set_code(b, ZCOAP_BAD_OPTION);
        return;
    }
    size_t n = s->rep_len - offset < size ? s->rep_len - offset : size;
    bool more = offset + n < s->rep_len;
    uint8_t etag = s->version;
    (void)zcoap_builder_add_opt(b, ZCOAP_OPT_ETAG, &etag, 1);
    uint32_t size2;
    if (asked || more) {
        zcoap_block_t blk = {(uint32_t)(offset / size), more, szx};
        (void)zcoap_builder_add_block(b, ZCOAP_OPT_BLOCK2, &blk);
        if (offset == 0 || zcoap_msg_get_uint(req, ZCOAP_OPT_SIZE2, &size2) == ZCOAP_OK) {
            (void)zcoap_builder_add_uint(b, ZCOAP_OPT_SIZE2, (uint32_t)s->rep_len);
        }
    }
    size_t avail = 0;
    uint8_t *p = zcoap_builder_payload_ptr(b, &avail);
    if (p != NULL && avail >= n) {
        for (size_t i = 0; i < n; i++) {
            p[i] = rep_byte(offset + i, s->version);
        }
        (void)zcoap_builder_commit_payload(b, n);
    }
}

/* A Block1 block: kept at its offset; 2.31 Continue while more follow (the block's NUM and SZX,
 * RFC 7959 §2.3), then 2.04 with Block1, and the answer's first block when it is block-wise. */
static void build_upload_answer(fixture_t *f, const zcoap_msg_t *req, zcoap_builder_t *b)
{
    server_t *s = &f->srv;
    zcoap_block_t blk = {0, false, 0};
    bool blocks = zcoap_msg_get_block(req, ZCOAP_OPT_BLOCK1, &blk) == ZCOAP_OK;
    size_t offset = blocks ? (size_t)blk.num * zcoap_block_size(blk.szx) : 0;
    if (offset + req->payload_len <= sizeof s->body) {
        if (req->payload_len > 0) {
            memcpy(s->body + offset, req->payload, req->payload_len);
        }
        s->body_len = offset + req->payload_len;
    }
    if (blocks) {
        (void)zcoap_builder_add_block(b, ZCOAP_OPT_BLOCK1, &blk);
    }
    if (blocks && blk.more) {
        (void)zcoap_builder_set_code(b, ZCOAP_CONTINUE);
        return;
    }
    (void)zcoap_builder_set_code(b, ZCOAP_CHANGED);
    if (s->answer_upload_large) {
        s->rep_len = ANSWER_LEN;
        build_download_answer(f, req, b);
    }
}

/* RFC 7641: the registration is answered with Observe, its token kept for notifications. */
static void build_observe_answer(fixture_t *f, const zcoap_msg_t *req, zcoap_builder_t *b)
{
    memcpy(f->srv.obs_token, req->token, req->token_len);
    f->srv.obs_token_len = req->token_len;
    (void)zcoap_builder_add_uint(b, ZCOAP_OPT_OBSERVE, 1);
    (void)zcoap_builder_set_payload(b, "v1", 2);
}

/* A NON notification of the client's observation, then a CON request of the peer's own. */
static void inject_notification_and_request(fixture_t *f, const struct sockaddr_storage *to)
{
    uint8_t buf[64];
    zcoap_builder_t b;
    (void)zcoap_builder_init(&b, buf, sizeof buf, ZCOAP_TYPE_NON, ZCOAP_CONTENT, NOTIFY_MID,
                             f->srv.obs_token, f->srv.obs_token_len);
    (void)zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, 2);
    (void)zcoap_builder_set_payload(&b, "v2", 2);
    (void)uvt_peer_send(&f->peer, to, buf, zcoap_builder_finish(&b));
    static const uint8_t token[] = {0x5e, 0x71};
    (void)zcoap_builder_init(&b, buf, sizeof buf, ZCOAP_TYPE_CON, ZCOAP_GET, SERVER_REQ_MID, token,
                             sizeof token);
    (void)zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "from-server");
    (void)uvt_peer_send(&f->peer, to, buf, zcoap_builder_finish(&b));
}

static void script_server(uvt_peer_t *peer, const struct sockaddr_storage *from,
                          const zcoap_msg_t *msg)
{
    fixture_t *f = peer->data;
    server_t *s = &f->srv;
    if (msg->type != ZCOAP_TYPE_CON || !zcoap_code_is_request(msg->code)) {
        return; /* the client's ACKs and RSTs */
    }
    if (s->have_last_mid && msg->mid == s->last_mid) {
        if (s->silent_from == 0 || s->requests < s->silent_from) {
            (void)uvt_peer_send(peer, from, s->last_answer, (ptrdiff_t)s->last_answer_len);
        }
        return; /* a retransmission: the same answer again */
    }
    s->have_last_mid = true;
    s->last_mid = msg->mid;
    size_t n = ++s->requests;
    if (s->silent_from != 0 && n >= s->silent_from) {
        return;
    }
    if (n == s->reset_at) {
        uint8_t rst[4];
        (void)uvt_peer_send(peer, from, rst,
                            zcoap_build_empty(rst, sizeof rst, ZCOAP_TYPE_RST, msg->mid));
        return;
    }
    if (n == s->change_at) {
        s->version++;
    }
    if (n == s->inject_at) {
        inject_notification_and_request(f, from);
    }
    uint8_t buf[UVT_DGRAM_MAX];
    zcoap_builder_t b;
    bool separate = n == s->hold_at && s->hold_separate;
    if (separate) {
        uint8_t ack[4];
        (void)uvt_peer_send(peer, from, ack,
                            zcoap_build_empty(ack, sizeof ack, ZCOAP_TYPE_ACK, msg->mid));
        (void)zcoap_builder_init(&b, buf, sizeof buf, ZCOAP_TYPE_CON, ZCOAP_CONTENT, SEPARATE_MID,
                                 msg->token, msg->token_len);
    } else {
        (void)zcoap_builder_init_response(&b, buf, sizeof buf, msg, ZCOAP_CONTENT, 0);
    }
    uint32_t observe;
    if (zcoap_msg_get_uint(msg, ZCOAP_OPT_OBSERVE, &observe) == ZCOAP_OK) {
        build_observe_answer(f, msg, &b);
    } else if (msg->code == ZCOAP_PUT || msg->code == ZCOAP_POST) {
        build_upload_answer(f, msg, &b);
    } else {
        build_download_answer(f, msg, &b);
    }
    if (n == s->hold_at) {
        hold_answer(f, from, &b);
    } else {
        send_answer(f, from, &b);
    }
}

static void start_peer(fixture_t *f)
{
    f->peer.data = f;
    f->peer.on_msg = script_server;
    uvt_require_loopback(f->family, uvt_peer_open(&f->peer, &f->uv.loop, f->family, 0));
}

/* The requests the peer received, parsed (retransmissions included), with Uri-Path @p path. */
static size_t requests_for(const fixture_t *f, const char *path, zcoap_msg_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < f->peer.n_rx && i < UVT_LOG_MAX; i++) {
        zcoap_msg_t m = uvt_peer_rx_msg(&f->peer, i);
        zcoap_opt_t o;
        if (!zcoap_code_is_request(m.code) || !zcoap_msg_find_opt(&m, ZCOAP_OPT_URI_PATH, &o) ||
            !zcoap_opt_equals_str(&o, path)) {
            continue;
        }
        if (n < cap) {
            out[n] = m;
        }
        n++;
    }
    return n;
}

/* ---- the client -------------------------------------------------------------------------------
 */

static void on_client_event(zcoap_uv_client_t *c, const zcoap_event_t *ev)
{
    fixture_t *f = c->data;
    if (f->close_requested) {
        f->events_after_close++;
        return;
    }
    if (f->n_events < MAX_EVENTS) {
        f->events[f->n_events] = ev->kind;
        f->event_tags[f->n_events++] = ev->tag;
    }
    if (ev->kind == ZCOAP_EV_IN_REQUEST) {
        /* A client serves nothing here: RST (RFC 7252 §4.2), as zcoap-client does. */
        (void)zcoap_ep_respond_rst(zcoap_uv_client_endpoint(c), uv_now(&f->uv.loop));
    }
}

static void on_report(zcoap_uv_client_t *c, void *ctx, const zcoap_uv_transfer_report_t *r)
{
    fixture_t *f = ctx;
    (void)c; /* the one client */
    if (f->close_requested) {
        f->reports_after_close++;
        return;
    }
    if (f->n_reports < MAX_REPORTS) {
        report_t *rec = &f->reports[f->n_reports++];
        rec->kind = r->kind;
        rec->status = r->status;
        rec->has_msg = r->msg != NULL;
        rec->code = r->msg != NULL ? r->msg->code : 0;
        rec->offset = r->offset;
        rec->len = r->len;
        rec->size2 = r->size2;
        rec->uploaded = r->uploaded;
    }
    if (r->kind == ZCOAP_UV_TRANSFER_DATA && r->offset + r->len <= sizeof f->got) {
        memcpy(f->got + r->offset, r->data, r->len);
        if (r->offset + r->len > f->got_len) {
            f->got_len = r->offset + r->len;
        }
    }
    if (r->kind == ZCOAP_UV_TRANSFER_RESTARTED) {
        f->got_len = 0;
    }
    if (f->action != NULL && r->kind == f->action_kind && ++f->action_seen == f->action_at) {
        f->action(f);
    }
}

/* The fast transmission parameters: 50 ms, no randomness, 2 retransmissions. */
static const zcoap_ep_config_t *fast_config(fixture_t *f)
{
    zcoap_ep_config_default(&f->cfg, &f->storage);
    f->cfg.tx.ack_timeout_ms = FAST_ACK_TIMEOUT_MS;
    f->cfg.tx.ack_random_factor_permil = 1000;
    f->cfg.tx.max_retransmit = FAST_MAX_RETRANSMIT;
    return &f->cfg;
}

static void start_client(fixture_t *f, const zcoap_ep_config_t *cfg)
{
    start_peer(f);
    assert_int_equal(zcoap_uv_client_init(&f->uv.loop, &f->client, cfg, on_client_event), 0);
    f->client.data = f;
    f->client_inited = true;
    assert_int_equal(zcoap_uv_client_connect(&f->client, (const struct sockaddr *)&f->peer.addr),
                     0);
}

static const char *uri_of(fixture_t *f, const char *path, char *buf, size_t cap)
{
    return uvt_uri(buf, cap, &f->peer.addr, path);
}

/* A download of @p path with @p params (NULL: the defaults). */
static int download(fixture_t *f, const char *path, const zcoap_transfer_params_t *params)
{
    char uri[128];
    return zcoap_uv_client_transfer(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET,
                                    uri_of(f, path, uri, sizeof uri), params, on_report, f);
}

static zcoap_transfer_params_t download_params(void)
{
    zcoap_transfer_params_t p;
    memset(&p, 0, sizeof p);
    p.block1_szx = ZCOAP_TRANSFER_SZX_AUTO;
    p.block2_szx = ZCOAP_TRANSFER_SZX_AUTO;
    return p;
}

/* The slices came in order, each where the last ended, from offset 0 (or @p first). */
static void assert_data_contiguous(const fixture_t *f, size_t from_report, size_t first,
                                   size_t *end)
{
    size_t next = first;
    for (size_t i = from_report; i < f->n_reports; i++) {
        const report_t *r = &f->reports[i];
        if (r->kind == ZCOAP_UV_TRANSFER_RESTARTED) {
            next = 0;
            continue;
        }
        if (r->kind != ZCOAP_UV_TRANSFER_DATA) {
            break;
        }
        if (r->offset != next || r->len == 0) {
            fail_msg("report %zu: slice at %zu (%zu bytes), expected one at %zu", i, r->offset,
                     r->len, next);
        }
        next += r->len;
    }
    *end = next;
}

static void assert_last_report(const fixture_t *f, zcoap_uv_transfer_report_kind_t kind, int status)
{
    assert_true(f->n_reports > 0);
    const report_t *last = &f->reports[f->n_reports - 1];
    assert_int_equal(last->kind, kind);
    assert_int_equal(last->status, status);
    /* one end, and it is the last report */
    assert_int_equal(
        count_reports(f, ZCOAP_UV_TRANSFER_DONE) + count_reports(f, ZCOAP_UV_TRANSFER_FAILED), 1);
}

/* No report comes after the end: a few more ACK timeouts of loop time pass quietly. */
static void assert_quiet_after_end(fixture_t *f)
{
    size_t n = f->n_reports;
    uvt_run_for(&f->uv, 4 * FAST_ACK_TIMEOUT_MS);
    assert_int_equal(f->n_reports, n);
    assert_false(zcoap_uv_client_transferring(&f->client));
}

/* ---- downloads --------------------------------------------------------------------------------
 */

/* The URI's options and one of our own (Accept) are on every request; each request has a
 * fresh token; the slices come in order, then one DONE; the client's event callback sees none
 * of it. */
static void download_reports_slices_in_order_then_done(void **state)
{
    fixture_t *f = *state;
    start_client(f, NULL);

    char uri[128];
    zcoap_builder_t b;
    assert_int_equal(zcoap_uv_client_transfer_begin(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET,
                                                    uri_of(f, "fw/image?v=2", uri, sizeof uri), &b),
                     0);
    assert_int_equal(zcoap_builder_add_uint(&b, ZCOAP_OPT_ACCEPT, ZCOAP_CF_OCTET_STREAM), 0);
    assert_int_equal(zcoap_uv_client_transfer_send(&f->client, &b, NULL, 0, on_report, f), 0);
    assert_true(zcoap_uv_client_transferring(&f->client));
    run_until_transfer_ended(f);

    size_t end;
    assert_data_contiguous(f, 0, 0, &end);
    assert_int_equal(end, REP_LEN);
    assert_int_equal(f->n_reports, REP_LEN / 64 + 2); /* 16 slices and DONE */
    assert_last_report(f, ZCOAP_UV_TRANSFER_DONE, 0);
    assert_true(f->reports[f->n_reports - 1].has_msg);
    assert_int_equal(f->reports[f->n_reports - 1].code, ZCOAP_CONTENT);
    assert_int_equal(f->reports[0].size2, REP_LEN); /* Size2 on block 0 (RFC 7959 §4) */
    assert_got_representation(f, REP_LEN, 1);
    assert_false(zcoap_uv_client_transferring(&f->client));
    assert_int_equal(f->n_events, 0); /* the transfer's events went to its reports */

    zcoap_msg_t reqs[20];
    assert_int_equal(f->peer.n_rx, 16);
    assert_int_equal(requests_for(f, "fw", reqs, 20), 16);
    for (size_t i = 0; i < 16; i++) {
        zcoap_opt_iter_t it;
        zcoap_opt_t o;
        char path[64] = "";
        size_t queries = 0, accepts = 0;
        zcoap_opt_iter_init(&it, &reqs[i]);
        while (zcoap_opt_iter_next(&it, &o)) {
            if (o.num == ZCOAP_OPT_URI_PATH) {
                strncat(path, "/", sizeof path - strlen(path) - 1);
                strncat(path, (const char *)o.val,
                        o.len < sizeof path - strlen(path) - 1 ? o.len
                                                               : sizeof path - strlen(path) - 1);
            }
            queries += o.num == ZCOAP_OPT_URI_QUERY && zcoap_opt_equals_str(&o, "v=2");
            accepts += o.num == ZCOAP_OPT_ACCEPT;
        }
        assert_string_equal(path, "/fw/image");
        assert_int_equal(queries, 1);
        assert_int_equal(accepts, 1);
        uint32_t accept = 0;
        assert_int_equal(zcoap_msg_get_uint(&reqs[i], ZCOAP_OPT_ACCEPT, &accept), ZCOAP_OK);
        assert_int_equal(accept, ZCOAP_CF_OCTET_STREAM);
        zcoap_block_t blk;
        if (i == 0) { /* late negotiation: the first request asks for no block */
            assert_int_equal(zcoap_msg_get_block(&reqs[i], ZCOAP_OPT_BLOCK2, &blk),
                             ZCOAP_ENOTFOUND);
        } else {
            assert_int_equal(zcoap_msg_get_block(&reqs[i], ZCOAP_OPT_BLOCK2, &blk), ZCOAP_OK);
            assert_int_equal(blk.num, i);
            assert_int_equal(blk.szx, SERVER_SZX);
            /* a fresh token per block (include/zcoap/transfer.h) */
            assert_false(reqs[i].token_len == reqs[i - 1].token_len &&
                         memcmp(reqs[i].token, reqs[i - 1].token, reqs[i].token_len) == 0);
        }
    }
    assert_quiet_after_end(f);
}

/* -b: the first request asks for 32-byte blocks already (early negotiation, §2.4). */
static void early_negotiation_asks_from_the_first_request(void **state)
{
    fixture_t *f = *state;
    start_client(f, NULL);
    zcoap_transfer_params_t p = download_params();
    p.block2_szx = 1;
    assert_int_equal(download(f, "fw", &p), 0);
    run_until_transfer_ended(f);

    assert_last_report(f, ZCOAP_UV_TRANSFER_DONE, 0);
    assert_int_equal(count_reports(f, ZCOAP_UV_TRANSFER_DATA), (REP_LEN + 31) / 32);
    assert_got_representation(f, REP_LEN, 1);
    zcoap_msg_t first = uvt_peer_rx_msg(&f->peer, 0);
    zcoap_block_t blk;
    assert_int_equal(zcoap_msg_get_block(&first, ZCOAP_OPT_BLOCK2, &blk), ZCOAP_OK);
    assert_int_equal(blk.num, 0);
    assert_int_equal(blk.szx, 1);
}

/* Random access: one block by number, whatever its M bit says. */
static void random_access_fetches_one_block(void **state)
{
    fixture_t *f = *state;
    start_client(f, NULL);
    zcoap_transfer_params_t p = download_params();
    p.block2_szx = SERVER_SZX;
    p.block2_single = true;
    p.block2_num = 3;
    assert_int_equal(download(f, "fw", &p), 0);
    run_until_transfer_ended(f);

    assert_int_equal(f->n_reports, 2);
    assert_int_equal(f->reports[0].kind, ZCOAP_UV_TRANSFER_DATA);
    assert_int_equal(f->reports[0].offset, 192);
    assert_int_equal(f->reports[0].len, 64);
    for (size_t i = 0; i < 64; i++) {
        assert_int_equal(f->got[192 + i], rep_byte(192 + i, 1));
    }
    assert_last_report(f, ZCOAP_UV_TRANSFER_DONE, 0);
    assert_int_equal(f->peer.n_rx, 1);
}

/* A final error response ends the transfer with DONE and its code; no DATA. */
static void error_response_ends_with_done(void **state)
{
    fixture_t *f = *state;
    start_client(f, NULL);
    zcoap_transfer_params_t p = download_params();
    p.block2_szx = SERVER_SZX;
    p.block2_single = true;
    p.block2_num = 20; /* past the end: 4.02 Bad Option */
    assert_int_equal(download(f, "fw", &p), 0);
    run_until_transfer_ended(f);

    assert_int_equal(f->n_reports, 1);
    assert_last_report(f, ZCOAP_UV_TRANSFER_DONE, 0);
    assert_int_equal(f->reports[0].code, ZCOAP_BAD_OPTION);
}

/* ---- uploads ----------------------------------------------------------------------------------
 */

static const uint8_t *upload_body(void)
{
    static uint8_t body[BODY_LEN];
    for (size_t i = 0; i < BODY_LEN; i++) {
        body[i] = (uint8_t)(i * 7u + 3u);
    }
    return body;
}

/* Block1: a PROGRESS report for each 2.31 Continue, then DONE with the final 2.04. */
static void upload_reports_progress_on_continue(void **state)
{
    fixture_t *f = *state;
    start_client(f, NULL);
    zcoap_transfer_params_t p = download_params();
    p.body = upload_body();
    p.body_len = BODY_LEN;
    p.block1_szx = SERVER_SZX;
    char uri[128];
    assert_int_equal(zcoap_uv_client_transfer(&f->client, ZCOAP_TYPE_CON, ZCOAP_PUT,
                                              uri_of(f, "up", uri, sizeof uri), &p, on_report, f),
                     0);
    run_until_transfer_ended(f);

    assert_int_equal(f->n_reports, 5); /* 4 PROGRESS, DONE */
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(f->reports[i].kind, ZCOAP_UV_TRANSFER_PROGRESS);
        assert_int_equal(f->reports[i].uploaded, 64 * (i + 1));
        assert_int_equal(f->reports[i].code, ZCOAP_CONTINUE);
    }
    assert_last_report(f, ZCOAP_UV_TRANSFER_DONE, 0);
    assert_int_equal(f->reports[4].code, ZCOAP_CHANGED);
    assert_int_equal(f->reports[4].uploaded, BODY_LEN);
    assert_int_equal(f->srv.body_len, BODY_LEN);
    assert_memory_equal(f->srv.body, upload_body(), BODY_LEN);
    zcoap_msg_t first = uvt_peer_rx_msg(&f->peer, 0);
    uint32_t size1 = 0;
    assert_int_equal(zcoap_msg_get_uint(&first, ZCOAP_OPT_SIZE1, &size1), ZCOAP_OK);
    assert_int_equal(size1, BODY_LEN);
    assert_int_equal(f->n_events, 0);
}

/* A Block1 body whose answer is block-wise itself (RFC 7959 §3.3): PROGRESS for each 2.31 and
 * for the last block's 2.04 (the whole body taken, the transfer goes on), then the answer's
 * slices, then DONE. */
static void upload_with_blockwise_answer(void **state)
{
    fixture_t *f = *state;
    f->srv.answer_upload_large = true;
    start_client(f, NULL);
    zcoap_transfer_params_t p = download_params();
    p.body = upload_body();
    p.body_len = BODY_LEN;
    p.block1_szx = SERVER_SZX;
    char uri[128];
    assert_int_equal(zcoap_uv_client_transfer(&f->client, ZCOAP_TYPE_CON, ZCOAP_POST,
                                              uri_of(f, "up", uri, sizeof uri), &p, on_report, f),
                     0);
    run_until_transfer_ended(f);

    assert_int_equal(count_reports(f, ZCOAP_UV_TRANSFER_PROGRESS), 5);
    assert_int_equal(f->reports[4].kind, ZCOAP_UV_TRANSFER_PROGRESS);
    assert_int_equal(f->reports[4].code, ZCOAP_CHANGED);
    assert_int_equal(f->reports[4].uploaded, BODY_LEN);
    assert_int_equal(count_reports(f, ZCOAP_UV_TRANSFER_DATA), (ANSWER_LEN + 63) / 64);
    size_t end;
    assert_data_contiguous(f, 5, 0, &end);
    assert_int_equal(end, ANSWER_LEN);
    assert_got_representation(f, ANSWER_LEN, 1);
    assert_last_report(f, ZCOAP_UV_TRANSFER_DONE, 0);
    assert_memory_equal(f->srv.body, upload_body(), BODY_LEN);
}

/* ---- failures ---------------------------------------------------------------------------------
 */

/* A block that is never answered: FAILED with ZCOAP_ETIMEOUT once its retransmissions ran out. */
static void unanswered_block_fails_with_timeout(void **state)
{
    fixture_t *f = *state;
    f->srv.silent_from = 3;
    start_client(f, fast_config(f));
    assert_int_equal(download(f, "fw", NULL), 0);
    run_until_transfer_ended(f);

    assert_int_equal(f->n_reports, 3);
    assert_int_equal(f->reports[0].kind, ZCOAP_UV_TRANSFER_DATA);
    assert_int_equal(f->reports[1].kind, ZCOAP_UV_TRANSFER_DATA);
    assert_last_report(f, ZCOAP_UV_TRANSFER_FAILED, ZCOAP_ETIMEOUT);
    assert_false(f->reports[2].has_msg);
    /* blocks 0 and 1, then block 2 and its MAX_RETRANSMIT copies (RFC 7252 §4.2) */
    assert_int_equal(f->peer.n_rx, 3 + FAST_MAX_RETRANSMIT);
    assert_int_equal(f->n_events, 0);
    assert_quiet_after_end(f);
}

/* A block answered with RST: FAILED with ZCOAP_ERESET. */
static void reset_block_fails_with_reset(void **state)
{
    fixture_t *f = *state;
    f->srv.reset_at = 2;
    start_client(f, fast_config(f));
    assert_int_equal(download(f, "fw", NULL), 0);
    run_until_transfer_ended(f);

    assert_int_equal(f->n_reports, 2);
    assert_int_equal(f->reports[0].kind, ZCOAP_UV_TRANSFER_DATA);
    assert_last_report(f, ZCOAP_UV_TRANSFER_FAILED, ZCOAP_ERESET);
    assert_int_equal(f->n_events, 0);
    assert_quiet_after_end(f);
}

/* Another ETag on block 2: FAILED with ZCOAP_ECHANGED and that response. */
static void etag_change_fails_with_changed(void **state)
{
    fixture_t *f = *state;
    f->srv.change_at = 3;
    start_client(f, fast_config(f));
    assert_int_equal(download(f, "fw", NULL), 0);
    run_until_transfer_ended(f);

    assert_int_equal(f->n_reports, 3);
    assert_int_equal(f->reports[1].kind, ZCOAP_UV_TRANSFER_DATA);
    assert_int_equal(f->reports[1].offset, 64);
    assert_last_report(f, ZCOAP_UV_TRANSFER_FAILED, ZCOAP_ECHANGED);
    assert_true(f->reports[2].has_msg);
    assert_int_equal(f->reports[2].code, ZCOAP_CONTENT);
    assert_int_equal(f->peer.n_rx, 3);
    assert_quiet_after_end(f);
}

/* With restart_on_etag_change: RESTARTED, then the new representation from offset 0, DONE. */
static void etag_change_restarts_the_download(void **state)
{
    fixture_t *f = *state;
    f->srv.change_at = 3;
    start_client(f, fast_config(f));
    zcoap_transfer_params_t p = download_params();
    p.restart_on_etag_change = true;
    assert_int_equal(download(f, "fw", &p), 0);
    run_until_transfer_ended(f);

    assert_int_equal(f->reports[0].kind, ZCOAP_UV_TRANSFER_DATA);
    assert_int_equal(f->reports[1].kind, ZCOAP_UV_TRANSFER_DATA);
    assert_int_equal(f->reports[2].kind, ZCOAP_UV_TRANSFER_RESTARTED);
    assert_int_equal(count_reports(f, ZCOAP_UV_TRANSFER_RESTARTED), 1);
    size_t end;
    assert_data_contiguous(f, 3, 0, &end);
    assert_int_equal(end, REP_LEN);
    assert_last_report(f, ZCOAP_UV_TRANSFER_DONE, 0);
    assert_got_representation(f, REP_LEN, 2);
    /* after the restart, block 0 is asked for again */
    zcoap_msg_t again = uvt_peer_rx_msg(&f->peer, 3);
    zcoap_block_t blk;
    assert_int_equal(zcoap_msg_get_block(&again, ZCOAP_OPT_BLOCK2, &blk), ZCOAP_OK);
    assert_int_equal(blk.num, 0);
}

/* ---- one transfer at a time -------------------------------------------------------------------
 */

static void try_others_from_report(fixture_t *f)
{
    char uri[128];
    f->action_rc[0] = zcoap_uv_client_request(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET,
                                              uri_of(f, "plain", uri, sizeof uri), NULL, 0);
    f->action_rc[1] = download(f, "second", NULL);
    zcoap_builder_t b;
    f->action_rc[2] = zcoap_uv_client_transfer_begin(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET,
                                                     uri_of(f, "third", uri, sizeof uri), &b);
    f->action_rc[3] = zcoap_uv_client_ping(&f->client);
    f->action_rc[4] =
        zcoap_uv_client_observe(&f->client, uri_of(f, "obs", uri, sizeof uri), OBS_TAG);
}

/* While a transfer runs, a second one, a plain request, a ping and an observation are refused
 * with EBUSY (NSTART = 1): between its blocks (from the loop) and from inside its DATA report,
 * when the endpoint's request slot is free for a moment. The transfer goes on to its end. */
static void second_transfer_or_request_is_busy(void **state)
{
    fixture_t *f = *state;
    f->srv.hold_at = 3;
    f->action_kind = ZCOAP_UV_TRANSFER_DATA;
    f->action_at = 1;
    f->action = try_others_from_report;
    start_client(f, NULL);
    assert_int_equal(download(f, "fw", NULL), 0);
    assert_true(run_until(f, answer_held)); /* block 2 is in flight, its answer held */

    char uri[128];
    zcoap_builder_t b;
    assert_int_equal(download(f, "other", NULL), ZCOAP_EBUSY);
    assert_int_equal(zcoap_uv_client_transfer_begin(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET,
                                                    uri_of(f, "other", uri, sizeof uri), &b),
                     ZCOAP_EBUSY);
    assert_int_equal(zcoap_uv_client_request(&f->client, ZCOAP_TYPE_CON, ZCOAP_GET,
                                             uri_of(f, "plain", uri, sizeof uri), NULL, 0),
                     ZCOAP_EBUSY);
    assert_int_equal(zcoap_uv_client_ping(&f->client), ZCOAP_EBUSY);
    assert_int_equal(
        zcoap_uv_client_observe(&f->client, uri_of(f, "obs", uri, sizeof uri), OBS_TAG),
        ZCOAP_EBUSY);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(f->action_rc[i], ZCOAP_EBUSY);
    }
    release_held(f);
    run_until_transfer_ended(f);

    assert_last_report(f, ZCOAP_UV_TRANSFER_DONE, 0);
    assert_got_representation(f, REP_LEN, 1);
    zcoap_msg_t reqs[1];
    assert_int_equal(requests_for(f, "plain", reqs, 1), 0);
    assert_int_equal(requests_for(f, "other", reqs, 1), 0);
    assert_int_equal(requests_for(f, "obs", reqs, 1), 0);
    assert_int_equal(f->n_events, 0);
}

/* ---- cancel -----------------------------------------------------------------------------------
 */

/* Cancelled while block 2's piggybacked answer is held: no report follows, the late answer is
 * ignored (RFC 7252 §4.2), and the next transfer runs. */
static void cancel_then_late_piggybacked_answer(void **state)
{
    fixture_t *f = *state;
    f->srv.hold_at = 3;
    start_client(f, NULL);
    assert_int_equal(download(f, "fw", NULL), 0);
    assert_true(run_until(f, answer_held));
    size_t reports = f->n_reports;

    assert_int_equal(zcoap_uv_client_transfer_cancel(&f->client), 0);
    assert_false(zcoap_uv_client_transferring(&f->client));
    assert_int_equal(zcoap_uv_client_transfer_cancel(&f->client), ZCOAP_ENOTFOUND);
    size_t rx = f->peer.n_rx;
    release_held(f);
    uvt_run_for(&f->uv, 100);
    assert_int_equal(f->n_reports, reports);
    assert_int_equal(f->n_events, 0);
    assert_int_equal(f->peer.n_rx, rx); /* an ACK is not answered */

    f->srv.hold_at = 0;
    f->got_len = 0;
    assert_int_equal(download(f, "fw", NULL), 0);
    run_until_transfer_ended(f);
    assert_last_report(f, ZCOAP_UV_TRANSFER_DONE, 0);
    assert_got_representation(f, REP_LEN, 1);
}

static bool peer_got_rst(const void *ctx)
{
    const fixture_t *f = ctx;
    for (size_t i = 0; i < f->peer.n_rx && i < UVT_LOG_MAX; i++) {
        const uvt_datagram_t *d = &f->peer.rx[i];
        zcoap_msg_t m;
        if (zcoap_msg_parse(&m, d->data, d->len) == ZCOAP_OK && m.type == ZCOAP_TYPE_RST) {
            return true;
        }
    }
    return false;
}

/* Cancelled after block 2's empty ACK, before its separate CON answer: that late answer gets
 * RST (reported as ZCOAP_EV_UNHANDLED, an endpoint event), and no report. */
static void cancel_then_late_separate_answer_gets_rst(void **state)
{
    fixture_t *f = *state;
    f->srv.hold_at = 3;
    f->srv.hold_separate = true;
    start_client(f, NULL);
    assert_int_equal(download(f, "fw", NULL), 0);
    assert_true(run_until(f, answer_held));
    size_t reports = f->n_reports;
    assert_int_equal(zcoap_uv_client_transfer_cancel(&f->client), 0);
    release_held(f);
    assert_true(run_until(f, peer_got_rst));

    const uvt_datagram_t *d = uvt_peer_rx(&f->peer, f->peer.n_rx - 1);
    zcoap_msg_t rst;
    assert_int_equal(zcoap_msg_parse(&rst, d->data, d->len), ZCOAP_OK);
    assert_int_equal(rst.type, ZCOAP_TYPE_RST);
    assert_int_equal(rst.mid, SEPARATE_MID);
    assert_int_equal(f->n_reports, reports);
    /* the endpoint's own word on it, not an event of the forgotten request */
    assert_int_equal(f->n_events, 1);
    assert_int_equal(f->events[0], ZCOAP_EV_UNHANDLED);
}

/* ---- acting from reports ----------------------------------------------------------------------
 */

static void close_from_report(fixture_t *f)
{
    close_client(f);
}

/* Closing the client from the second DATA report: no report after it, the close callback once,
 * nothing left on the loop (the teardown checks), nothing leaked (ASan, Valgrind). */
static void close_from_data_report(void **state)
{
    fixture_t *f = *state;
    f->action_kind = ZCOAP_UV_TRANSFER_DATA;
    f->action_at = 2;
    f->action = close_from_report;
    start_client(f, NULL);
    assert_int_equal(download(f, "fw", NULL), 0);
    assert_true(run_until(f, client_closed));

    assert_int_equal(f->n_reports, 2);
    assert_int_equal(f->reports[1].kind, ZCOAP_UV_TRANSFER_DATA);
    assert_int_equal(f->reports_after_close, 0);
    assert_int_equal(f->peer.n_rx, 2); /* block 2 was never asked for */
}

static void next_transfer_from_done(fixture_t *f)
{
    f->action_rc[0] = download(f, "second", NULL);
}

/* The DONE report may start the next transfer (the request slot is free by then). */
static void next_transfer_from_done_report(void **state)
{
    fixture_t *f = *state;
    f->action_kind = ZCOAP_UV_TRANSFER_DONE;
    f->action_at = 1;
    f->action = next_transfer_from_done;
    f->action_rc[0] = -1;
    start_client(f, NULL);
    assert_int_equal(download(f, "first", NULL), 0);
    assert_true(run_until(f, two_transfers_ended));

    assert_int_equal(f->action_rc[0], 0);
    assert_int_equal(count_reports(f, ZCOAP_UV_TRANSFER_DONE), 2);
    assert_int_equal(count_reports(f, ZCOAP_UV_TRANSFER_DATA), 2 * (REP_LEN / 64 + 1));
    assert_int_equal(f->reports[f->n_reports - 1].kind, ZCOAP_UV_TRANSFER_DONE);
    zcoap_msg_t reqs[20];
    assert_int_equal(requests_for(f, "first", reqs, 20), 16);
    assert_int_equal(requests_for(f, "second", reqs, 20), 16);
    assert_got_representation(f, REP_LEN, 1);
    assert_false(zcoap_uv_client_transferring(&f->client));
}

/* ---- events while a transfer runs -------------------------------------------------------------
 */

/* The transfer's requests' events go to its reports only; a notification of an observation and
 * a request from the peer, in the middle of the transfer, still reach the event callback. */
static void other_events_reach_the_event_callback(void **state)
{
    fixture_t *f = *state;
    start_client(f, NULL);
    char uri[128];
    assert_int_equal(
        zcoap_uv_client_observe(&f->client, uri_of(f, "obs", uri, sizeof uri), OBS_TAG), 0);
    assert_true(run_until(f, observation_answered));
    assert_true(zcoap_uv_client_observing(&f->client, OBS_TAG));
    f->n_events = 0;

    f->srv.inject_at = 5; /* the observation's registration was request 1: block 3 */
    assert_int_equal(download(f, "fw", NULL), 0);
    run_until_transfer_ended(f);

    assert_last_report(f, ZCOAP_UV_TRANSFER_DONE, 0);
    assert_got_representation(f, REP_LEN, 1);
    assert_int_equal(f->n_events, 3);
    assert_int_equal(f->events[0], ZCOAP_EV_OBS_NOTIFICATION);
    assert_int_equal(f->event_tags[0], OBS_TAG);
    assert_int_equal(f->events[1], ZCOAP_EV_IN_REQUEST);
    assert_int_equal(f->events[2], ZCOAP_EV_IN_RST_SENT);
    assert_true(peer_got_rst(f)); /* our answer to the peer's request */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(download_reports_slices_in_order_then_done, setup_ipv4,
                                        teardown),
        cmocka_unit_test_setup_teardown(download_reports_slices_in_order_then_done, setup_ipv6,
                                        teardown),
        cmocka_unit_test_setup_teardown(early_negotiation_asks_from_the_first_request, setup_ipv4,
                                        teardown),
        cmocka_unit_test_setup_teardown(random_access_fetches_one_block, setup_ipv4, teardown),
        cmocka_unit_test_setup_teardown(error_response_ends_with_done, setup_ipv4, teardown),
        cmocka_unit_test_setup_teardown(upload_reports_progress_on_continue, setup_ipv4, teardown),
        cmocka_unit_test_setup_teardown(upload_with_blockwise_answer, setup_ipv4, teardown),
        cmocka_unit_test_setup_teardown(unanswered_block_fails_with_timeout, setup_ipv4, teardown),
        cmocka_unit_test_setup_teardown(reset_block_fails_with_reset, setup_ipv4, teardown),
        cmocka_unit_test_setup_teardown(etag_change_fails_with_changed, setup_ipv4, teardown),
        cmocka_unit_test_setup_teardown(etag_change_restarts_the_download, setup_ipv4, teardown),
        cmocka_unit_test_setup_teardown(second_transfer_or_request_is_busy, setup_ipv4, teardown),
        cmocka_unit_test_setup_teardown(cancel_then_late_piggybacked_answer, setup_ipv4, teardown),
        cmocka_unit_test_setup_teardown(cancel_then_late_separate_answer_gets_rst, setup_ipv4,
                                        teardown),
        cmocka_unit_test_setup_teardown(close_from_data_report, setup_ipv4, teardown),
        cmocka_unit_test_setup_teardown(next_transfer_from_done_report, setup_ipv4, teardown),
        cmocka_unit_test_setup_teardown(other_events_reach_the_event_callback, setup_ipv4,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
