/* Lockstep tests of the client side of block-wise transfers (zcoap/transfer.h, RFC 7959): a real
 * client endpoint drives every request, each datagram it sends is parsed and answered by a small
 * scripted server built on zcoap_block2_plan() and zcoap_block1_accept(), and the answer goes
 * back through zcoap_ep_receive(). No sockets, virtual time only. The tests check the bytes on the
 * wire (the options every follow-up repeats, Block1/Block2/Size1/Size2, a fresh token each
 * request) and the reassembled bytes (byte-exact against the source). ETSI TD_COAP_BLOCK_01-06
 * are named in the test names. */
#include "zcoap_test.h"

#include <stdlib.h>

#include "virtual_net.h"
#include "zcoap/block.h"
#include "zcoap/transfer.h"

/* Start far from 0 so that relative and absolute times cannot be confused. */
#define T0 1000000u
/* Largest representation or body of these tests. */
#define REP_CAP 8192u
/* Most requests one transfer may take (the largest is 8192 bytes in 16-byte blocks). */
#define MAX_REQS 600u
/* Room for any response of the scripted server (1024-byte block plus options). */
#define RESP_CAP 1400u

static uint8_t rep_a[REP_CAP]; /* the representation served */
static uint8_t rep_b[REP_CAP]; /* its next version (after an ETag change), or a body */

/* ======================================================================================== */
/* The scripted server                                                                      */
/* ======================================================================================== */

/* One request the server saw (retransmissions are answered from the stored response and not
 * logged again). */
typedef struct req_rec {
    uint8_t bytes[ZCOAP_MAX_MSG_SIZE];
    size_t len;
    zcoap_msg_t msg; /* view of bytes */
} req_rec_t;

typedef struct dgram {
    uint8_t bytes[RESP_CAP];
    size_t len;
} dgram_t;

/* A server of one resource: a representation served block-wise (Block2), a body received
 * block-wise (Block1), with knobs for what can go wrong. Request indexes count the requests it
 * saw, from 0. */
typedef struct server {
    /* Block2: the representation, its ETag, the server's block size */
    const uint8_t *rep;
    size_t rep_len;
    uint8_t szx2;
    long szx2_switch_at; /* from this request on, blocks of szx2_after (-1: never) */
    uint8_t szx2_after;
    uint8_t etag[4];
    uint8_t etag_len; /* 0: no ETag */
    long etag_from;   /* the ETag is sent from this request on */
    long etag_until;  /* ... and before this one (-1: to the end) */
    long change_at;   /* at this request the representation becomes rep2 with a new ETag */
    const uint8_t *rep2;
    size_t rep2_len;
    bool etag_bump_on_block1; /* the representation changes whenever block 1 is asked for */
    bool size2_on_first;      /* Size2 on block 0 even when not asked */
    long wrong_block_at;      /* answer the block after the one asked for */
    long oversize_at;         /* answer in the server's size though the client asked smaller */
    /* Block1: the body received */
    zcoap_block1_rx_t rx;
    uint8_t body[REP_CAP];
    size_t body_len;
    size_t max_body;
    uint8_t szx1;
    uint8_t final_code;        /* the answer to a complete body */
    const char *final_payload; /* its payload (NULL: none) */
    bool echo;                 /* answer a complete body with the body itself, block-wise */
    size_t rejected;           /* 4.00, 4.08, 4.13 that zcoap_block1_accept() asked for */
    /* injected answers */
    long inject_at;
    long inject_count; /* requests inject_at .. inject_at + inject_count - 1 */
    uint8_t inject_code;
    const char *inject_payload;
    int inject_block1_szx; /* Block1 num/0/szx in the injected answer (-1: none) */
    uint32_t inject_block1_num;
    long inject_size1; /* Size1 in the injected answer (-1: none) */
    /* the network */
    bool separate;    /* empty ACK first, then the response as a separate CON */
    long lose_req_at; /* this request is lost on its first transmission */
    long lose_resp_at;
    long dup_resp_at;                 /* the response to this request arrives twice */
    uint32_t lose_chance, dup_chance; /* percent, for the random runs */
    uint32_t lost_in_a_row;
    test_rng_t rng;
    uint16_t next_mid;
    bool has_last;
    uint16_t last_mid;
    dgram_t last_resp[2]; /* the answer to the last request, for its retransmissions */
    size_t last_n;
    size_t retransmissions; /* retransmitted requests seen */
} server_t;

/* ======================================================================================== */
/* The fixture                                                                              */
/* ======================================================================================== */

typedef struct step_rec {
    zcoap_transfer_step_t step;
    uint8_t code; /* of the response */
} step_rec_t;

typedef struct fx {
    zcoap_ep_t ep;
    zcoap_ep_config_t cfg;
    zcoap_ep_storage_t store;
    test_rng_t rng;
    uint64_t now;
    zcoap_transfer_t t;
    uint8_t tmpl[256];
    server_t srv;
    req_rec_t reqs[MAX_REQS];
    size_t nreq;
    dgram_t resp; /* the response being handled: step.data points into it */
    dgram_t dup;  /* a response to deliver again */
    bool dup_pending;
    /* what the steps handed over */
    step_rec_t steps[MAX_REQS];
    size_t nsteps;
    uint8_t got[REP_CAP];
    size_t got_len;   /* end of the furthest slice */
    size_t delivered; /* bytes handed over since the last restart */
    size_t restarts;
    uint8_t last_data[RESP_CAP]; /* the last step's data, copied */
    size_t last_len;
    bool check_uploaded; /* a Block1 body: step.uploaded must be what the server took */
} fx_t;

static void server_defaults(server_t *s)
{
    memset(s, 0, sizeof(*s));
    s->rep = rep_a;
    s->szx2 = 6;
    s->szx2_switch_at = -1;
    s->etag_from = 0;
    s->etag_until = -1;
    s->change_at = -1;
    s->wrong_block_at = -1;
    s->oversize_at = -1;
    s->inject_count = 1;
    s->max_body = REP_CAP;
    s->szx1 = 6;
    s->final_code = ZCOAP_CHANGED;
    s->inject_at = -1;
    s->inject_block1_szx = -1;
    s->inject_size1 = -1;
    s->lose_req_at = -1;
    s->lose_resp_at = -1;
    s->dup_resp_at = -1;
    s->next_mid = 0x4000;
    test_rng_seed(&s->rng, 0x5e7e7);
}

/* Forget the last transfer (the endpoint and the transfer object stay). */
static void fx_clear(fx_t *f)
{
    server_defaults(&f->srv);
    f->nreq = 0;
    f->nsteps = 0;
    f->got_len = 0;
    f->delivered = 0;
    f->restarts = 0;
    f->last_len = 0;
    f->dup_pending = false;
    f->check_uploaded = false;
}

static int fx_setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    zcoap_ep_config_default(&f->cfg, &f->store);
    test_rng_seed(&f->rng, test_rng_seed_from_env(0x7a2f3e1d));
    f->cfg.rng = vnet_rng;
    f->cfg.rng_ctx = &f->rng;
    f->now = T0;
    if (zcoap_ep_init(&f->ep, &f->cfg, f->now) != ZCOAP_OK ||
        zcoap_transfer_init(&f->t, f->tmpl, sizeof(f->tmpl)) != ZCOAP_OK) {
        free(f);
        return -1;
    }
    fx_clear(f);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    free(*state);
    return 0;
}

/* ---- the server's answers ------------------------------------------------------------------ */

static bool is_body_method(uint8_t code)
{
    return code == ZCOAP_PUT || code == ZCOAP_POST || code == ZCOAP_PATCH || code == ZCOAP_IPATCH;
}

/* Begin the answer to @p req: piggybacked in the ACK of a CON request, a NON to a NON one, or a
 * separate CON (after its empty ACK). */
static void resp_begin(server_t *s, const zcoap_msg_t *req, zcoap_builder_t *rb, dgram_t *out,
                       uint8_t code)
{
    uint16_t mid = req->type == ZCOAP_TYPE_CON && !s->separate ? req->mid : s->next_mid++;
    assert_zcoap_ok(
        zcoap_builder_init_response(rb, out->bytes, sizeof(out->bytes), req, code, mid));
    if (s->separate && req->type == ZCOAP_TYPE_CON) {
        assert_zcoap_ok(zcoap_builder_set_type(rb, ZCOAP_TYPE_CON));
        assert_zcoap_ok(zcoap_builder_set_mid(rb, mid));
    }
}

static void resp_finish(zcoap_builder_t *rb, dgram_t *out)
{
    ptrdiff_t n = zcoap_builder_finish(rb);
    assert_true(n > 0);
    out->len = (size_t)n;
}

/* Serve @p rep (Block2, RFC 7959 §2.4) with @p code, and Block1 @p block1 when not NULL. */
static void serve_rep(server_t *s, const zcoap_msg_t *req, long idx, dgram_t *out,
                      const uint8_t *rep, size_t rep_len, uint8_t code, const zcoap_block_t *block1)
{
    uint8_t szx = s->szx2_switch_at >= 0 && idx >= s->szx2_switch_at ? s->szx2_after : s->szx2;
    zcoap_block2_slice_t sl;
    /* The client never asks past the end (zcoap_block2_plan() says ZCOAP_ERANGE). */
    assert_zcoap_ok(zcoap_block2_plan(req, rep_len, szx, &sl));
    if (idx == s->oversize_at) {
        /* Against §2.4 ("the block size indicated or a smaller size"): the server's larger
         * block that holds the offset asked for, from that offset. */
        uint32_t size = zcoap_block_size(szx);
        assert_true(sl.offset % size == 0);
        sl.block.szx = szx;
        sl.block.num = (uint32_t)(sl.offset / size);
        sl.len = rep_len - sl.offset < size ? rep_len - sl.offset : size;
        sl.block.more = sl.offset + sl.len < rep_len;
    }
    if (idx == s->wrong_block_at) {
        assert_true(sl.needed);
        uint32_t size = zcoap_block_size(sl.block.szx);
        sl.block.num++;
        sl.offset += size;
        assert_true(sl.offset < rep_len);
        sl.len = rep_len - sl.offset < size ? rep_len - sl.offset : size;
        sl.block.more = sl.offset + sl.len < rep_len;
    }
    zcoap_builder_t rb;
    resp_begin(s, req, &rb, out, code);
    if (s->etag_len > 0 && idx >= s->etag_from && (s->etag_until < 0 || idx < s->etag_until))
        assert_zcoap_ok(zcoap_builder_add_opt(&rb, ZCOAP_OPT_ETAG, s->etag, s->etag_len));
    if (block1 != NULL)
        assert_zcoap_ok(zcoap_builder_add_block(&rb, ZCOAP_OPT_BLOCK1, block1));
    if (sl.needed)
        assert_zcoap_ok(zcoap_builder_add_block(&rb, ZCOAP_OPT_BLOCK2, &sl.block));
    uint32_t size2;
    if (zcoap_msg_get_uint(req, ZCOAP_OPT_SIZE2, &size2) == ZCOAP_OK ||
        (s->size2_on_first && sl.offset == 0))
        assert_zcoap_ok(zcoap_builder_add_uint(&rb, ZCOAP_OPT_SIZE2, (uint32_t)rep_len));
    if (sl.len > 0)
        assert_zcoap_ok(zcoap_builder_set_payload(&rb, rep + sl.offset, sl.len));
    resp_finish(&rb, out);
}

/* The body is complete: the final answer. */
static void answer_body(server_t *s, const zcoap_msg_t *req, long idx, dgram_t *out,
                        const zcoap_block_t *block1)
{
    if (s->echo) {
        serve_rep(s, req, idx, out, s->body, s->body_len, s->final_code, block1);
        return;
    }
    zcoap_builder_t rb;
    resp_begin(s, req, &rb, out, s->final_code);
    if (block1 != NULL)
        assert_zcoap_ok(zcoap_builder_add_block(&rb, ZCOAP_OPT_BLOCK1, block1));
    if (s->final_payload != NULL)
        assert_zcoap_ok(zcoap_builder_set_payload(&rb, s->final_payload, strlen(s->final_payload)));
    resp_finish(&rb, out);
}

static void take_body(server_t *s, const zcoap_msg_t *req, size_t offset)
{
    assert_true(offset + req->payload_len <= sizeof(s->body));
    if (req->payload_len > 0)
        memcpy(s->body + offset, req->payload, req->payload_len);
    s->body_len = offset + req->payload_len;
}

/* A request with a body (RFC 7959 §2.3, §2.5, §2.9.3). */
static void serve_body(server_t *s, const zcoap_msg_t *req, long idx, dgram_t *out)
{
    zcoap_block1_step_t st;
    assert_zcoap_ok(zcoap_block1_accept(&s->rx, req, s->max_body, s->szx1, &st));
    zcoap_builder_t rb;
    switch (st.action) {
    case ZCOAP_BLOCK1_NONE:
        take_body(s, req, 0);
        answer_body(s, req, idx, out, NULL);
        return;
    case ZCOAP_BLOCK1_CONTINUE:
        take_body(s, req, st.offset);
        resp_begin(s, req, &rb, out, ZCOAP_CONTINUE);
        assert_zcoap_ok(zcoap_builder_add_block(&rb, ZCOAP_OPT_BLOCK1, &st.block));
        resp_finish(&rb, out);
        return;
    case ZCOAP_BLOCK1_LAST:
        take_body(s, req, st.offset);
        answer_body(s, req, idx, out, &st.block);
        return;
    case ZCOAP_BLOCK1_INCOMPLETE:
        s->rejected++;
        resp_begin(s, req, &rb, out, ZCOAP_REQUEST_ENTITY_INCOMPLETE);
        break;
    case ZCOAP_BLOCK1_TOO_LARGE:
        s->rejected++;
        resp_begin(s, req, &rb, out, ZCOAP_REQUEST_ENTITY_TOO_LARGE);
        assert_zcoap_ok(zcoap_builder_add_uint(&rb, ZCOAP_OPT_SIZE1, (uint32_t)s->max_body));
        break;
    case ZCOAP_BLOCK1_BAD:
    default:
        s->rejected++;
        resp_begin(s, req, &rb, out, ZCOAP_BAD_REQUEST);
        break;
    }
    resp_finish(&rb, out);
}

static void serve(server_t *s, const zcoap_msg_t *req, long idx, dgram_t *out)
{
    if (s->inject_at >= 0 && idx >= s->inject_at && idx < s->inject_at + s->inject_count) {
        zcoap_builder_t rb;
        resp_begin(s, req, &rb, out, s->inject_code);
        if (s->inject_block1_szx >= 0) {
            const zcoap_block_t b = {s->inject_block1_num, false, (uint8_t)s->inject_block1_szx};
            assert_zcoap_ok(zcoap_builder_add_block(&rb, ZCOAP_OPT_BLOCK1, &b));
        }
        if (s->inject_size1 >= 0)
            assert_zcoap_ok(
                zcoap_builder_add_uint(&rb, ZCOAP_OPT_SIZE1, (uint32_t)s->inject_size1));
        if (s->inject_payload != NULL)
            assert_zcoap_ok(
                zcoap_builder_set_payload(&rb, s->inject_payload, strlen(s->inject_payload)));
        resp_finish(&rb, out);
        return;
    }
    zcoap_block_t b2;
    bool has_b1 = zcoap_msg_find_opt(req, ZCOAP_OPT_BLOCK1, &(zcoap_opt_t){0});
    bool has_b2 = zcoap_msg_get_block(req, ZCOAP_OPT_BLOCK2, &b2) == ZCOAP_OK;
    /* A body, whole or a block of it; a request for the next block of the answer to a body
     * has Block2 and no payload (RFC 7959 §3.3). */
    if (has_b1 || (is_body_method(req->code) && (req->payload_len > 0 || !has_b2))) {
        serve_body(s, req, idx, out);
        return;
    }
    /* GET, FETCH, or a follow-up asking for the next block of the answer to a body. */
    if (idx == s->change_at) {
        s->rep = s->rep2;
        s->rep_len = s->rep2_len;
        s->etag[0]++;
    }
    if (s->etag_bump_on_block1 && has_b2 && b2.num == 1)
        s->etag[0]++;
    if (s->echo)
        serve_rep(s, req, idx, out, s->body, s->body_len, s->final_code, NULL);
    else
        serve_rep(s, req, idx, out, s->rep, s->rep_len, ZCOAP_CONTENT, NULL);
}

/* Random loss, but at most twice in a row: the request never times out. */
static bool lose_random(server_t *s)
{
    if (s->lose_chance > 0 && s->lost_in_a_row < 2 && test_rng_chance(&s->rng, s->lose_chance)) {
        s->lost_in_a_row++;
        return true;
    }
    return false;
}

/* Lost: request @p idx when @p one_shot names it (once), or at random. */
static bool lose(server_t *s, long idx, long *one_shot)
{
    if (idx == *one_shot) {
        *one_shot = -1;
        return true;
    }
    return lose_random(s);
}

/* The server receives one request datagram and answers: 0 datagrams (lost), 1, or 2 (the empty
 * ACK, then the separate CON response). */
static size_t server_receive(fx_t *f, const uint8_t *d, size_t len, dgram_t out[2])
{
    server_t *s = &f->srv;
    zcoap_msg_t m;
    parse_ok(&m, d, len);
    assert_true(zcoap_code_is_request(m.code));
    bool con = m.type == ZCOAP_TYPE_CON;
    if (s->has_last && m.mid == s->last_mid) {
        /* A retransmission: answered from the stored response (RFC 7252 §4.5). */
        s->retransmissions++;
        if (con && lose_random(s))
            return 0;
        s->lost_in_a_row = 0;
        for (size_t i = 0; i < s->last_n; i++)
            out[i] = s->last_resp[i];
        return s->last_n;
    }
    long idx = (long)f->nreq;
    if (con && lose(s, idx, &s->lose_req_at))
        return 0; /* never seen */
    assert_true(f->nreq < MAX_REQS);
    req_rec_t *r = &f->reqs[f->nreq++];
    assert_true(len <= sizeof(r->bytes));
    memcpy(r->bytes, d, len);
    r->len = len;
    parse_ok(&r->msg, r->bytes, len);
    size_t n = 0;
    if (s->separate && con) {
        ptrdiff_t e = zcoap_build_empty(out[0].bytes, sizeof(out[0].bytes), ZCOAP_TYPE_ACK, m.mid);
        assert_true(e == 4);
        out[0].len = 4;
        n = 1;
    }
    serve(s, &r->msg, idx, &out[n]);
    n++;
    s->has_last = true;
    s->last_mid = m.mid;
    s->last_n = n;
    for (size_t i = 0; i < n; i++)
        s->last_resp[i] = out[i];
    if (con && lose(s, idx, &s->lose_resp_at))
        return 0;
    s->lost_in_a_row = 0;
    return n;
}

/* ======================================================================================== */
/* Driving the client endpoint                                                              */
/* ======================================================================================== */

static bool next_event(fx_t *f, zcoap_event_t *ev)
{
    return zcoap_ep_process(&f->ep, f->now, ev) == 1;
}

static void expect_event(fx_t *f, zcoap_event_kind_t kind, zcoap_event_t *ev)
{
    assert_true(next_event(f, ev));
    if (ev->kind != kind)
        fail_msg("event %s, expected %s", zcoap_event_name(ev->kind), zcoap_event_name(kind));
}

static void expect_no_event(fx_t *f)
{
    zcoap_event_t ev;
    if (next_event(f, &ev))
        fail_msg("unexpected event %s", zcoap_event_name(ev.kind));
}

/* After zcoap_ep_request_send(): the request's sent event, nothing else. */
static void expect_sent_event(fx_t *f)
{
    zcoap_event_t ev;
    assert_true(next_event(f, &ev));
    assert_true(ev.kind == ZCOAP_EV_OUT_CON_SENT || ev.kind == ZCOAP_EV_OUT_NON_SENT);
    expect_no_event(f);
}

/* The next datagram of the endpoint, which must be there. */
static size_t pull(fx_t *f, uint8_t *out, size_t cap)
{
    const uint8_t *p;
    ptrdiff_t n = zcoap_ep_next_datagram(&f->ep, f->now, &p);
    assert_true(n > 0);
    assert_true((size_t)n <= cap);
    memcpy(out, p, (size_t)n);
    return (size_t)n;
}

static void expect_nothing_sent(fx_t *f)
{
    const uint8_t *p;
    assert_int_equal(zcoap_ep_next_datagram(&f->ep, f->now, &p), 0);
}

static void expect_empty_ack_sent(fx_t *f, uint16_t mid)
{
    uint8_t d[16];
    size_t n = pull(f, d, sizeof(d));
    zcoap_msg_t m;
    parse_ok(&m, d, n);
    assert_int_equal(m.type, ZCOAP_TYPE_ACK);
    assert_int_equal(m.code, ZCOAP_CODE_EMPTY);
    assert_int_equal(m.mid, mid);
}

/* A response that came before arrives again: the endpoint answers it the way RFC 7252 §4.5 says
 * (ignores an ACK, acknowledges a CON again, rejects a stale NON) and never hands it over. */
static void deliver_duplicate(fx_t *f)
{
    f->dup_pending = false;
    assert_zcoap_ok(zcoap_ep_receive(&f->ep, f->dup.bytes, f->dup.len, f->now));
    zcoap_msg_t m;
    parse_ok(&m, f->dup.bytes, f->dup.len);
    zcoap_event_t ev;
    if (m.type == ZCOAP_TYPE_ACK) {
        expect_no_event(f);
        expect_nothing_sent(f);
    } else if (m.type == ZCOAP_TYPE_CON) {
        expect_event(f, ZCOAP_EV_OUT_DUPLICATE_RESPONSE, &ev);
        expect_no_event(f);
        expect_empty_ack_sent(f, m.mid);
    } else {
        /* A NON response whose token is no longer in use: rejected (RFC 7252 §4.3). */
        expect_event(f, ZCOAP_EV_UNHANDLED, &ev);
        expect_no_event(f);
        uint8_t d[16];
        size_t n = pull(f, d, sizeof(d));
        zcoap_msg_t rst;
        parse_ok(&rst, d, n);
        assert_int_equal(rst.type, ZCOAP_TYPE_RST);
        assert_int_equal(rst.mid, m.mid);
    }
    expect_nothing_sent(f);
}

/* Keep what a step hands over. */
static void take_step(fx_t *f, const zcoap_transfer_step_t *st, uint8_t code)
{
    assert_true(f->nsteps < MAX_REQS);
    f->steps[f->nsteps].step = *st;
    f->steps[f->nsteps].code = code;
    f->nsteps++;
    if (st->action == ZCOAP_TRANSFER_FAILED)
        assert_int_not_equal(st->error, ZCOAP_OK);
    else
        assert_zcoap_ok(st->error);
    if (st->restarted) {
        f->restarts++;
        f->got_len = 0;
        f->delivered = 0;
    }
    f->last_len = st->len;
    if (st->len == 0)
        return;
    /* Zero-copy: a view into the response. */
    assert_non_null(st->data);
    assert_true(st->data >= f->resp.bytes && st->data + st->len <= f->resp.bytes + f->resp.len);
    memcpy(f->last_data, st->data, st->len);
    if (ZCOAP_CODE_CLASS(code) != 2)
        return; /* a diagnostic, not the representation */
    assert_true(st->offset + st->len <= sizeof(f->got));
    memcpy(f->got + st->offset, st->data, st->len);
    if (st->offset + st->len > f->got_len)
        f->got_len = st->offset + st->len;
    f->delivered += st->len;
}

/* One round trip: the endpoint's request to the server (retransmitted until it gets through),
 * the server's answer back to the endpoint, and the transfer's step. */
static zcoap_transfer_step_t exchange(fx_t *f)
{
    uint8_t d[ZCOAP_MAX_MSG_SIZE];
    size_t n = pull(f, d, sizeof(d));
    expect_nothing_sent(f); /* NSTART = 1 */
    if (f->dup_pending)
        deliver_duplicate(f); /* the last response again, while this request is in flight */
    dgram_t out[2];
    size_t nout;
    uint64_t sent_at = f->now;
    while ((nout = server_receive(f, d, n, out)) == 0) {
        /* Lost: the endpoint retransmits the very same datagram (RFC 7252 §4.2) at one of its
         * next deadlines (others may be earlier: the end of a de-duplication window). */
        const uint8_t *p = NULL;
        ptrdiff_t m = 0;
        while (m == 0) {
            uint64_t deadline = zcoap_ep_next_deadline(&f->ep);
            assert_true(deadline != ZCOAP_NEVER && deadline > f->now);
            f->now = deadline;
            /* at most two losses in a row: 3 s, then 6 s (ACK_RANDOM_FACTOR 1.5, doubled) */
            assert_true(f->now - sent_at <= 9000u);
            expect_no_event(f);
            m = zcoap_ep_next_datagram(&f->ep, f->now, &p);
        }
        assert_zcoap_bytes(p, (size_t)m, d, n);
    }
    zcoap_event_t ev;
    if (nout == 2) {
        assert_zcoap_ok(zcoap_ep_receive(&f->ep, out[0].bytes, out[0].len, f->now));
        expect_event(f, ZCOAP_EV_OUT_EMPTY_ACK, &ev);
        expect_no_event(f);
    }
    f->resp = out[nout - 1];
    long idx = (long)f->nreq - 1;
    if (idx == f->srv.dup_resp_at ||
        (f->srv.dup_chance > 0 && test_rng_chance(&f->srv.rng, f->srv.dup_chance))) {
        f->dup = f->resp;
        f->dup_pending = true;
    }
    assert_zcoap_ok(zcoap_ep_receive(&f->ep, f->resp.bytes, f->resp.len, f->now));
    expect_event(f, ZCOAP_EV_OUT_RESPONSE, &ev);
    expect_no_event(f);
    assert_true(ev.has_msg);
    if (ev.msg.type == ZCOAP_TYPE_CON)
        expect_empty_ack_sent(f, ev.msg.mid);
    expect_nothing_sent(f);
    zcoap_transfer_step_t st;
    memset(&st, 0xA5, sizeof(st)); /* every field must be written */
    assert_zcoap_ok(zcoap_transfer_response(&f->t, &ev.msg, &st));
    take_step(f, &st, ev.msg.code);
    if (f->check_uploaded && ZCOAP_CODE_CLASS(ev.msg.code) == 2)
        assert_int_equal(st.uploaded, f->srv.body_len);
    return st;
}

/* The next request of the transfer: begun, built, sent. */
static void send_next(fx_t *f)
{
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_ep_request_begin(&f->ep, f->t.type, f->t.method, &b));
    assert_zcoap_ok(zcoap_transfer_build(&f->t, &b));
    assert_zcoap_ok(zcoap_ep_request_send(&f->ep, &b, 0, f->now));
    expect_sent_event(f);
}

/* Run the transfer whose first request was sent to its end; the last step. */
static zcoap_transfer_step_t run(fx_t *f)
{
    for (;;) {
        zcoap_transfer_step_t st = exchange(f);
        if (st.action != ZCOAP_TRANSFER_NEXT) {
            assert_false(zcoap_transfer_active(&f->t));
            assert_true(zcoap_ep_is_idle(&f->ep));
            if (f->dup_pending)
                deliver_duplicate(f);
            return st;
        }
        assert_true(zcoap_transfer_active(&f->t));
        send_next(f);
    }
}

/* ---- first requests ------------------------------------------------------------------------ */

static zcoap_transfer_params_t params_get(void)
{
    zcoap_transfer_params_t p;
    memset(&p, 0, sizeof(p));
    p.block1_szx = ZCOAP_TRANSFER_SZX_AUTO;
    p.block2_szx = ZCOAP_TRANSFER_SZX_AUTO;
    return p;
}

static zcoap_transfer_params_t params_body(const uint8_t *body, size_t len, uint8_t block1_szx)
{
    zcoap_transfer_params_t p = params_get();
    p.body = body;
    p.body_len = len;
    p.block1_szx = block1_szx;
    return p;
}

static void begin(fx_t *f, uint8_t type, uint8_t method, zcoap_builder_t *b)
{
    assert_zcoap_ok(zcoap_ep_request_begin(&f->ep, type, method, b));
}

static void start_send(fx_t *f, zcoap_builder_t *b, const zcoap_transfer_params_t *p)
{
    assert_zcoap_ok(zcoap_transfer_start(&f->t, b, p));
    assert_true(zcoap_transfer_active(&f->t));
    if (p->block1_szx != ZCOAP_TRANSFER_SZX_AUTO && p->body_len > zcoap_block_size(p->block1_szx))
        f->check_uploaded = true;
    assert_zcoap_ok(zcoap_ep_request_send(&f->ep, b, 0, f->now));
    expect_sent_event(f);
}

/* A CON @p method of /large with @p p, run to its end. */
static zcoap_transfer_step_t transfer(fx_t *f, uint8_t method, const zcoap_transfer_params_t *p)
{
    zcoap_builder_t b;
    begin(f, ZCOAP_TYPE_CON, method, &b);
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    start_send(f, &b, p);
    return run(f);
}

/* ---- checks -------------------------------------------------------------------------------- */

/* No next request is due: zcoap_transfer_build() says ZCOAP_ESTATE. */
static void expect_build_estate(fx_t *f)
{
    zcoap_builder_t b;
    begin(f, f->t.type != 0 ? f->t.type : ZCOAP_TYPE_CON,
          f->t.method != 0 ? f->t.method : ZCOAP_GET, &b);
    assert_zcoap_err(zcoap_transfer_build(&f->t, &b), ZCOAP_ESTATE);
    assert_zcoap_ok(zcoap_ep_cancel(&f->ep));
    expect_nothing_sent(f);
}

static const zcoap_msg_t *req(const fx_t *f, size_t i)
{
    assert_true(i < f->nreq);
    return &f->reqs[i].msg;
}

static void expect_block(const zcoap_msg_t *m, uint16_t opt, uint32_t num, bool more, uint8_t szx)
{
    zcoap_block_t b;
    assert_zcoap_ok(zcoap_msg_get_block(m, opt, &b));
    assert_int_equal(zcoap_msg_count_opt(m, opt), 1);
    assert_int_equal(b.num, num);
    assert_int_equal(b.more, more);
    assert_int_equal(b.szx, szx);
}

static void expect_no_opt(const zcoap_msg_t *m, uint16_t opt)
{
    zcoap_opt_t o;
    if (zcoap_msg_find_opt(m, opt, &o))
        fail_msg("option %u (%s) present", (unsigned)opt, zcoap_opt_name(opt));
}

static void expect_uint_opt(const zcoap_msg_t *m, uint16_t opt, uint32_t want)
{
    uint32_t v;
    assert_zcoap_ok(zcoap_msg_get_uint(m, opt, &v));
    assert_int_equal(zcoap_msg_count_opt(m, opt), 1);
    assert_int_equal(v, want);
}

static void expect_payload_bytes(const zcoap_msg_t *m, const uint8_t *want, size_t len)
{
    assert_zcoap_bytes(m->payload, m->payload_len, want, len);
}

/* The options a transfer sets itself on each request: the block options (RFC 7959 §2), and
 * Observe, which only the first carries (RFC 7959 §2.6). */
static bool is_transfer_opt(uint16_t num)
{
    return num == ZCOAP_OPT_BLOCK1 || num == ZCOAP_OPT_BLOCK2 || num == ZCOAP_OPT_SIZE1 ||
           num == ZCOAP_OPT_SIZE2 || num == ZCOAP_OPT_OBSERVE;
}

static size_t base_opts(const zcoap_msg_t *m, zcoap_opt_t *out, size_t cap)
{
    zcoap_opt_iter_t it;
    zcoap_opt_t o;
    size_t n = 0;
    zcoap_opt_iter_init(&it, m);
    while (zcoap_opt_iter_next(&it, &o)) {
        if (is_transfer_opt(o.num))
            continue;
        assert_true(n < cap);
        out[n++] = o;
    }
    return n;
}

/* Every request after the first: the same type, method and options as the first but for the
 * block options, no Observe, and its own token (transfer.h: a fresh token per request). */
static void expect_follow_ups_repeat_first(const fx_t *f)
{
    zcoap_opt_t first[32], o[32];
    const zcoap_msg_t *r0 = req(f, 0);
    size_t n0 = base_opts(r0, first, 32);
    for (size_t i = 1; i < f->nreq; i++) {
        const zcoap_msg_t *r = req(f, i);
        assert_int_equal(r->type, r0->type);
        assert_int_equal(r->code, r0->code);
        expect_no_opt(r, ZCOAP_OPT_OBSERVE);
        size_t n = base_opts(r, o, 32);
        assert_int_equal(n, n0);
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(o[k].num, first[k].num);
            assert_zcoap_bytes(o[k].val, o[k].len, first[k].val, first[k].len);
        }
        assert_int_equal(r->token_len, f->cfg.token_len);
        /* Tokens differ from every earlier one (only the last few in long runs). */
        for (size_t j = i > 64 ? i - 64 : 0; j < i; j++)
            assert_false(memcmp(r->token, req(f, j)->token, r->token_len) == 0);
    }
}

/* The representation handed over is exactly @p want, each byte once. */
static void expect_got(const fx_t *f, const uint8_t *want, size_t len)
{
    assert_int_equal(f->got_len, len);
    assert_int_equal(f->delivered, len);
    assert_zcoap_bytes(f->got, f->got_len, want, len);
}

/* The slices of a download come in order, without gaps or repeats. */
static void expect_slices_in_order(const fx_t *f)
{
    size_t next = 0;
    for (size_t i = 0; i < f->nsteps; i++) {
        const zcoap_transfer_step_t *st = &f->steps[i].step;
        if (st->restarted)
            next = 0;
        if (st->len == 0 || ZCOAP_CODE_CLASS(f->steps[i].code) != 2)
            continue;
        assert_int_equal(st->offset, next);
        next += st->len;
    }
}

/* A late-negotiated download of @p len bytes at the server's @p szx: the request, the blocks. */
static void expect_late_download(const fx_t *f, size_t len, uint8_t szx)
{
    uint32_t size = zcoap_block_size(szx);
    size_t blocks = len <= size ? 1 : (len + size - 1) / size;
    assert_int_equal(f->nreq, blocks);
    expect_no_opt(req(f, 0), ZCOAP_OPT_BLOCK2);
    for (size_t i = 1; i < blocks; i++)
        expect_block(req(f, i), ZCOAP_OPT_BLOCK2, (uint32_t)i, false, szx);
    for (size_t i = 0; i < f->nreq; i++) {
        expect_no_opt(req(f, i), ZCOAP_OPT_BLOCK1);
        expect_no_opt(req(f, i), ZCOAP_OPT_SIZE1);
        expect_no_opt(req(f, i), ZCOAP_OPT_SIZE2);
        assert_int_equal(req(f, i)->payload_len, 0);
    }
    expect_follow_ups_repeat_first(f);
}

/* ======================================================================================== */
/* Downloads (Block2)                                                                       */
/* ======================================================================================== */

/* TD_COAP_BLOCK_02: GET without Block2, the server starts block-wise when the representation is
 * larger than its block (§2.4 late negotiation); sizes around the block size, 0 and 1 byte. */
static void td_coap_block_02_late_negotiation_sizes(void **state)
{
    fx_t *f = *state;
    static const size_t sizes[] = {0,   1,   15,  16,  17,   255,  256,
                                   257, 511, 512, 513, 1000, 4096, 4097};
    for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
        fx_clear(f);
        f->srv.rep_len = sizes[i];
        f->srv.szx2 = 4; /* 256-byte blocks */
        zcoap_transfer_params_t p = params_get();
        zcoap_transfer_step_t st = transfer(f, ZCOAP_GET, &p);
        assert_int_equal(st.action, ZCOAP_TRANSFER_DONE);
        assert_int_equal(f->steps[f->nsteps - 1].code, ZCOAP_CONTENT);
        expect_got(f, rep_a, sizes[i]);
        expect_slices_in_order(f);
        expect_late_download(f, sizes[i], 4);
        for (size_t k = 0; k + 1 < f->nsteps; k++)
            assert_int_equal(f->steps[k].step.action, ZCOAP_TRANSFER_NEXT);
        assert_int_equal(f->restarts, 0);
    }
}

/* A representation that fits one block exactly is answered whole, without Block2; one byte
 * more takes a second block; an exact multiple ends with a full block and M=0. */
static void late_negotiation_one_block_and_exact_multiples(void **state)
{
    fx_t *f = *state;
    static const size_t sizes[] = {1024, 1025, 2048, 3072};
    for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
        fx_clear(f);
        f->srv.rep_len = sizes[i];
        zcoap_transfer_params_t p = params_get();
        assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
        expect_got(f, rep_a, sizes[i]);
        expect_late_download(f, sizes[i], 6);
    }
    /* The last of 3072 bytes: the whole last block, at 2048. */
    assert_int_equal(f->steps[2].step.offset, 2048);
    assert_int_equal(f->steps[2].step.len, 1024);
}

/* TD_COAP_BLOCK_01: GET with Block2 0/0/szx from the first request (§2.4 early negotiation);
 * every request asks for its block at that size. */
static void td_coap_block_01_early_negotiation(void **state)
{
    fx_t *f = *state;
    static const size_t sizes[] = {0, 1, 64, 65, 128, 1000, 2000};
    for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
        fx_clear(f);
        f->srv.rep_len = sizes[i];
        zcoap_transfer_params_t p = params_get();
        p.block2_szx = 2; /* 64 */
        assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
        expect_got(f, rep_a, sizes[i]);
        expect_slices_in_order(f);
        size_t blocks = sizes[i] == 0 ? 1 : (sizes[i] + 63) / 64;
        assert_int_equal(f->nreq, blocks);
        for (size_t k = 0; k < blocks; k++) {
            expect_block(req(f, k), ZCOAP_OPT_BLOCK2, (uint32_t)k, false, 2);
            expect_no_opt(req(f, k), ZCOAP_OPT_BLOCK1);
        }
        expect_follow_ups_repeat_first(f);
    }
}

/* TD_COAP_BLOCK_06: 16-byte blocks (SZX 0), the smallest. */
static void td_coap_block_06_16_byte_blocks(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 1000;
    zcoap_transfer_params_t p = params_get();
    p.block2_szx = 0;
    assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 1000);
    expect_slices_in_order(f);
    assert_int_equal(f->nreq, 63); /* 62 x 16 + 8 */
    for (size_t k = 0; k < 63; k++)
        expect_block(req(f, k), ZCOAP_OPT_BLOCK2, (uint32_t)k, false, 0);
    assert_int_equal(f->steps[62].step.len, 8);
    expect_follow_ups_repeat_first(f);
}

/* Late negotiation with a server of 16-byte blocks: the client takes the server's size. */
static void late_negotiation_server_16_byte_blocks(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 100;
    f->srv.szx2 = 0;
    zcoap_transfer_params_t p = params_get();
    assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 100);
    expect_late_download(f, 100, 0);
}

/* Early negotiation asking for more than the server's block: the server answers at its smaller
 * size (§2.4), and every later request asks in the server's size, from the right offset. */
static void early_negotiation_server_smaller(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 1000;
    f->srv.szx2 = 2; /* 64 */
    zcoap_transfer_params_t p = params_get();
    p.block2_szx = 6;
    assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 1000);
    expect_slices_in_order(f);
    assert_int_equal(f->nreq, 16);
    expect_block(req(f, 0), ZCOAP_OPT_BLOCK2, 0, false, 6);
    for (size_t k = 1; k < 16; k++)
        expect_block(req(f, k), ZCOAP_OPT_BLOCK2, (uint32_t)k, false, 2);
}

/* A server able to send larger blocks than the client asked for keeps to the client's size
 * (§2.4: "the block size indicated or a smaller size"): the client's size holds throughout. */
static void early_negotiation_server_larger(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 300;
    f->srv.szx2 = 6;
    zcoap_transfer_params_t p = params_get();
    p.block2_szx = 3; /* 128 */
    assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 300);
    assert_int_equal(f->nreq, 3);
    for (size_t k = 0; k < 3; k++) {
        expect_block(req(f, k), ZCOAP_OPT_BLOCK2, (uint32_t)k, false, 3);
        assert_int_equal(f->steps[k].step.offset, k * 128);
    }
}

/* A server that breaks §2.4 and answers block 0 in its 1024 bytes though 64 were asked for:
 * the slice is at the offset asked for, so it is taken whole, and the client goes on from 1024
 * in its own size (block 16 of 64). */
static void early_negotiation_server_answers_larger_block(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 1200;
    f->srv.oversize_at = 0;
    zcoap_transfer_params_t p = params_get();
    p.block2_szx = 2;
    assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 1200);
    expect_slices_in_order(f);
    assert_int_equal(f->steps[0].step.len, 1024);
    expect_block(req(f, 0), ZCOAP_OPT_BLOCK2, 0, false, 2);
    expect_block(req(f, 1), ZCOAP_OPT_BLOCK2, 16, false, 2);
    assert_int_equal(f->nreq, 1 + 3); /* 1024, then 64 + 64 + 48 */
}

/* The server switches to a smaller block mid-transfer: its answer to "block 1 of 1024" is
 * "block 4 of 256" (the same offset, §2.4); the client goes on in 256-byte blocks from there. */
static void server_switches_to_smaller_szx_mid_transfer(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 3000;
    f->srv.szx2 = 6;
    f->srv.szx2_switch_at = 1;
    f->srv.szx2_after = 4;
    zcoap_transfer_params_t p = params_get();
    assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 3000);
    expect_slices_in_order(f);
    /* 1024, then 256 x 7 up to 2816, then 184. */
    assert_int_equal(f->nreq, 9);
    expect_no_opt(req(f, 0), ZCOAP_OPT_BLOCK2);
    expect_block(req(f, 1), ZCOAP_OPT_BLOCK2, 1, false, 6);
    for (size_t k = 2; k < 9; k++)
        expect_block(req(f, k), ZCOAP_OPT_BLOCK2, (uint32_t)(k + 3), false, 4);
    assert_int_equal(f->steps[1].step.offset, 1024);
    assert_int_equal(f->steps[1].step.len, 256);
    assert_int_equal(f->steps[8].step.offset, 2816);
    assert_int_equal(f->steps[8].step.len, 184);
    expect_follow_ups_repeat_first(f);
}

/* The same switch with early negotiation: asked 512, served 512, then 32 from block 2 on. */
static void server_switches_szx_with_early_negotiation(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 1500;
    f->srv.szx2 = 6;
    f->srv.szx2_switch_at = 2;
    f->srv.szx2_after = 1;
    zcoap_transfer_params_t p = params_get();
    p.block2_szx = 5;
    assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 1500);
    expect_slices_in_order(f);
    expect_block(req(f, 0), ZCOAP_OPT_BLOCK2, 0, false, 5);
    expect_block(req(f, 1), ZCOAP_OPT_BLOCK2, 1, false, 5);
    expect_block(req(f, 2), ZCOAP_OPT_BLOCK2, 2, false, 5);  /* offset 1024, answered 32:32 */
    expect_block(req(f, 3), ZCOAP_OPT_BLOCK2, 33, false, 1); /* offset 1056 */
    assert_int_equal(f->nreq, 3 + (1500 - 1056 + 31) / 32);
}

/* Follow-ups repeat Uri-Host, Uri-Path, Uri-Query and Accept exactly; Observe only on the first
 * (RFC 7959 §2.6); the token is fresh each time (transfer.h). */
static void follow_ups_repeat_the_first_requests_options(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 700;
    f->srv.szx2 = 2;
    zcoap_builder_t b;
    begin(f, ZCOAP_TYPE_CON, ZCOAP_GET, &b);
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_HOST, "gw.example"));
    assert_zcoap_ok(zcoap_builder_add_uri_path(&b, "/fw/image/v2?sha=1&full", 23));
    assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_ACCEPT, ZCOAP_CF_OCTET_STREAM));
    assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_OBSERVE, 0));
    zcoap_transfer_params_t p = params_get();
    start_send(f, &b, &p);
    assert_int_equal(run(f).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 700);
    assert_int_equal(f->nreq, 11);
    const expect_opt_t first[] = {
        EXPECT_STR(ZCOAP_OPT_URI_HOST, "gw.example"), {ZCOAP_OPT_OBSERVE, "", 0},
        EXPECT_STR(ZCOAP_OPT_URI_PATH, "fw"),         EXPECT_STR(ZCOAP_OPT_URI_PATH, "image"),
        EXPECT_STR(ZCOAP_OPT_URI_PATH, "v2"),         EXPECT_STR(ZCOAP_OPT_URI_QUERY, "sha=1"),
        EXPECT_STR(ZCOAP_OPT_URI_QUERY, "full"),      {ZCOAP_OPT_ACCEPT, "\x2a", 1},
    };
    assert_msg_opts(req(f, 0), first, ARRAY_LEN(first));
    const expect_opt_t later[] = {
        EXPECT_STR(ZCOAP_OPT_URI_HOST, "gw.example"),
        EXPECT_STR(ZCOAP_OPT_URI_PATH, "fw"),
        EXPECT_STR(ZCOAP_OPT_URI_PATH, "image"),
        EXPECT_STR(ZCOAP_OPT_URI_PATH, "v2"),
        EXPECT_STR(ZCOAP_OPT_URI_QUERY, "sha=1"),
        EXPECT_STR(ZCOAP_OPT_URI_QUERY, "full"),
        {ZCOAP_OPT_ACCEPT, "\x2a", 1},
        {ZCOAP_OPT_BLOCK2, "\x32", 1},
    };
    assert_msg_opts(req(f, 3), later, ARRAY_LEN(later)); /* Block2 3/0/64 */
    expect_follow_ups_repeat_first(f);
    /* Fresh message IDs too, one apart (the endpoint's counter). */
    for (size_t i = 1; i < f->nreq; i++)
        assert_int_equal(req(f, i)->mid, (uint16_t)(req(f, i - 1)->mid + 1));
}

/* ask_size2: Size2 0 in the first request only (§4); the answer's Size2 in the step. */
static void ask_size2_first_request_only(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 2500;
    zcoap_transfer_params_t p = params_get();
    p.ask_size2 = true;
    assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 2500);
    assert_int_equal(f->nreq, 3);
    expect_uint_opt(req(f, 0), ZCOAP_OPT_SIZE2, 0);
    expect_no_opt(req(f, 1), ZCOAP_OPT_SIZE2);
    expect_no_opt(req(f, 2), ZCOAP_OPT_SIZE2);
    assert_int_equal(f->steps[0].step.size2, 2500);
    assert_int_equal(f->steps[1].step.size2, 0); /* the later blocks carry none */
    assert_int_equal(f->steps[2].step.size2, 0);
}

/* Size2 that the server sends unasked on the first block is reported too; and early negotiation
 * with ask_size2 carries both options in the first request. */
static void size2_unasked_and_with_early_negotiation(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 200;
    f->srv.size2_on_first = true;
    zcoap_transfer_params_t p = params_get();
    p.block2_szx = 3;
    assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 200);
    expect_no_opt(req(f, 0), ZCOAP_OPT_SIZE2);
    assert_int_equal(f->steps[0].step.size2, 200);
    assert_int_equal(f->steps[1].step.size2, 0);

    fx_clear(f);
    f->srv.rep_len = 200;
    p.ask_size2 = true;
    assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 200);
    expect_uint_opt(req(f, 0), ZCOAP_OPT_SIZE2, 0);
    expect_block(req(f, 0), ZCOAP_OPT_BLOCK2, 0, false, 3);
    expect_no_opt(req(f, 1), ZCOAP_OPT_SIZE2);
    assert_int_equal(f->steps[0].step.size2, 200);
}

/* The ETag changes between blocks: the representation changed under us, FAILED ZCOAP_ECHANGED,
 * and nothing of the changed block is handed over. */
static void etag_change_fails(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 3000;
    f->srv.etag_len = 4;
    memcpy(f->srv.etag, "\x01\x02\x03\x04", 4);
    f->srv.change_at = 2;
    f->srv.rep2 = rep_b;
    f->srv.rep2_len = 3000;
    zcoap_transfer_params_t p = params_get();
    zcoap_transfer_step_t st = transfer(f, ZCOAP_GET, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_FAILED);
    assert_zcoap_err(st.error, ZCOAP_ECHANGED);
    assert_int_equal(st.len, 0);
    assert_int_equal(f->nreq, 3);
    assert_int_equal(f->delivered, 2048); /* blocks 0 and 1 only */
    assert_zcoap_bytes(f->got, 2048, rep_a, 2048);
    expect_build_estate(f);
}

/* An ETag that appears from the second block on is a change too (the first block's absence of
 * one is what is known), and so is one that disappears. */
static void etag_appearing_or_disappearing_fails(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 300;
    f->srv.szx2 = 2;
    f->srv.etag_len = 2;
    memcpy(f->srv.etag, "\xe1\xe2", 2);
    f->srv.etag_from = 1;
    zcoap_transfer_params_t p = params_get();
    zcoap_transfer_step_t st = transfer(f, ZCOAP_GET, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_FAILED);
    assert_zcoap_err(st.error, ZCOAP_ECHANGED);
    assert_int_equal(f->nreq, 2);

    /* The ETag of block 0 missing from block 1. */
    fx_clear(f);
    f->srv.rep_len = 300;
    f->srv.szx2 = 2;
    f->srv.etag_len = 2;
    memcpy(f->srv.etag, "\xe1\xe2", 2);
    f->srv.etag_until = 1;
    st = transfer(f, ZCOAP_GET, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_FAILED);
    assert_zcoap_err(st.error, ZCOAP_ECHANGED);
    assert_int_equal(f->nreq, 2);
}

/* restart_on_etag_change: the download starts again from block 0 of the new representation,
 * the step says restarted, and what is handed over from then on is the new version, byte-exact. */
static void etag_change_restarts(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 3000;
    f->srv.etag_len = 4;
    memcpy(f->srv.etag, "\x01\x02\x03\x04", 4);
    f->srv.change_at = 2;
    f->srv.rep2 = rep_b;
    f->srv.rep2_len = 2100; /* the new version is shorter */
    zcoap_transfer_params_t p = params_get();
    p.restart_on_etag_change = true;
    zcoap_transfer_step_t st = transfer(f, ZCOAP_GET, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_DONE);
    assert_int_equal(f->restarts, 1);
    assert_true(f->steps[2].step.restarted);
    assert_int_equal(f->steps[2].step.action, ZCOAP_TRANSFER_NEXT);
    expect_got(f, rep_b, 2100);
    expect_slices_in_order(f);
    /* The request after the restart asks for block 0 (or the whole, without Block2). */
    zcoap_block_t b;
    if (zcoap_msg_get_block(req(f, 3), ZCOAP_OPT_BLOCK2, &b) == ZCOAP_OK)
        assert_int_equal(b.num, 0);
    assert_int_equal(f->nreq, 3 + 3);
    expect_follow_ups_repeat_first(f);
}

/* A representation that changes every time block 1 is asked for: restarted at most
 * ZCOAP_TRANSFER_MAX_RESTARTS times, then FAILED ZCOAP_ECHANGED. */
static void etag_change_restarts_give_up(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 2000;
    f->srv.etag_len = 1;
    f->srv.etag_bump_on_block1 = true;
    zcoap_transfer_params_t p = params_get();
    p.restart_on_etag_change = true;
    zcoap_transfer_step_t st = transfer(f, ZCOAP_GET, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_FAILED);
    assert_zcoap_err(st.error, ZCOAP_ECHANGED);
    assert_int_equal(f->restarts, ZCOAP_TRANSFER_MAX_RESTARTS);
    /* block 0, block 1 (changed), ... and the last change fails */
    assert_int_equal(f->nreq, 2 * (ZCOAP_TRANSFER_MAX_RESTARTS + 1));
}

/* Restarting re-sends the request, so a body sent block-wise is never re-sent: an ETag change
 * in the answer to a Block1 upload fails even with restart_on_etag_change. */
static void etag_change_after_upload_does_not_restart(void **state)
{
    fx_t *f = *state;
    f->srv.echo = true;
    f->srv.szx2 = 2;
    f->srv.etag_len = 1;
    f->srv.etag_bump_on_block1 = true;
    zcoap_transfer_params_t p = params_body(rep_b, 200, 2);
    p.restart_on_etag_change = true;
    zcoap_transfer_step_t st = transfer(f, ZCOAP_POST, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_FAILED);
    assert_zcoap_err(st.error, ZCOAP_ECHANGED);
    assert_int_equal(f->restarts, 0);
    assert_int_equal(f->nreq, 4 + 1); /* 4 blocks up, block 1 of the answer changed */
}

/* FETCH is safe (RFC 8132 §2): it restarts too, its body repeated on the request that starts
 * again. A POST whose body went whole is not re-sent: it fails. */
static void etag_change_restarts_fetch_not_post(void **state)
{
    fx_t *f = *state;
    static const uint8_t query[] = "q";
    f->srv.rep_len = 500;
    f->srv.szx2 = 3;
    f->srv.etag_len = 2;
    f->srv.change_at = 2;
    f->srv.rep2 = rep_b;
    f->srv.rep2_len = 600;
    zcoap_transfer_params_t p = params_body(query, 1, ZCOAP_TRANSFER_SZX_AUTO);
    p.restart_on_etag_change = true;
    assert_int_equal(transfer(f, ZCOAP_FETCH, &p).action, ZCOAP_TRANSFER_DONE);
    assert_int_equal(f->restarts, 1);
    expect_got(f, rep_b, 600);
    assert_int_equal(f->nreq, 3 + 5);
    for (size_t i = 0; i < f->nreq; i++)
        expect_payload_bytes(req(f, i), query, 1);
    expect_follow_ups_repeat_first(f);

    fx_clear(f);
    f->srv.echo = true;
    f->srv.szx2 = 2;
    f->srv.etag_len = 1;
    f->srv.etag_bump_on_block1 = true;
    p = params_body(rep_b, 200, ZCOAP_TRANSFER_SZX_AUTO);
    p.restart_on_etag_change = true;
    zcoap_transfer_step_t st = transfer(f, ZCOAP_POST, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_FAILED);
    assert_zcoap_err(st.error, ZCOAP_ECHANGED);
    assert_int_equal(f->restarts, 0);
    assert_int_equal(f->nreq, 2);
    expect_no_opt(req(f, 0), ZCOAP_OPT_BLOCK1);
}

/* The server answers a block other than the one asked for: ZCOAP_EPROTO. */
static void wrong_block_is_eproto(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 1000;
    f->srv.szx2 = 2;
    f->srv.wrong_block_at = 2; /* asked 2, answered 3 */
    zcoap_transfer_params_t p = params_get();
    zcoap_transfer_step_t st = transfer(f, ZCOAP_GET, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_FAILED);
    assert_zcoap_err(st.error, ZCOAP_EPROTO);
    assert_int_equal(st.len, 0);
    assert_int_equal(f->nreq, 3);
    assert_int_equal(f->delivered, 128);

    /* Early negotiation, block 0 answered with block 1. */
    fx_clear(f);
    f->srv.rep_len = 1000;
    f->srv.wrong_block_at = 0;
    p.block2_szx = 4;
    st = transfer(f, ZCOAP_GET, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_FAILED);
    assert_zcoap_err(st.error, ZCOAP_EPROTO);
    assert_int_equal(f->delivered, 0);

    /* A follow-up answered 2.05 without Block2: not the block asked for either. */
    fx_clear(f);
    f->srv.rep_len = 1000;
    f->srv.szx2 = 2;
    f->srv.inject_at = 2;
    f->srv.inject_code = ZCOAP_CONTENT;
    f->srv.inject_payload = "whole?";
    p = params_get();
    st = transfer(f, ZCOAP_GET, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_FAILED);
    assert_zcoap_err(st.error, ZCOAP_EPROTO);
    assert_int_equal(f->delivered, 128);
}

/* An error response mid-download is final: DONE, its payload handed over as a diagnostic at
 * offset 0 (4.04, 5.03). */
static void error_response_mid_download(void **state)
{
    fx_t *f = *state;
    static const uint8_t codes[] = {ZCOAP_NOT_FOUND, ZCOAP_SERVICE_UNAVAILABLE};
    for (size_t i = 0; i < ARRAY_LEN(codes); i++) {
        fx_clear(f);
        f->srv.rep_len = 4000;
        f->srv.inject_at = 2;
        f->srv.inject_code = codes[i];
        f->srv.inject_payload = "gone away";
        zcoap_transfer_params_t p = params_get();
        zcoap_transfer_step_t st = transfer(f, ZCOAP_GET, &p);
        assert_int_equal(st.action, ZCOAP_TRANSFER_DONE);
        assert_zcoap_ok(st.error);
        assert_int_equal(f->steps[2].code, codes[i]);
        assert_int_equal(st.offset, 0);
        assert_zcoap_bytes(f->last_data, f->last_len, (const uint8_t *)"gone away", 9);
        assert_int_equal(f->nreq, 3);
        assert_int_equal(f->delivered, 2048);
    }
    /* An error to the first request, without payload. */
    fx_clear(f);
    f->srv.inject_at = 0;
    f->srv.inject_code = ZCOAP_NOT_FOUND;
    zcoap_transfer_params_t p = params_get();
    zcoap_transfer_step_t st = transfer(f, ZCOAP_GET, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_DONE);
    assert_int_equal(st.len, 0);
}

/* Random access: block2_single fetches block block2_num of block2_szx in exactly one request and
 * stops there, whether M is set or not. */
static void random_access_single_block(void **state)
{
    fx_t *f = *state;
    static const struct {
        uint32_t num;
        size_t offset, len;
    } cases[] = {{0, 0, 64}, {3, 192, 64}, {15, 960, 40}};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        fx_clear(f);
        f->srv.rep_len = 1000;
        zcoap_transfer_params_t p = params_get();
        p.block2_single = true;
        p.block2_szx = 2;
        p.block2_num = cases[i].num;
        zcoap_transfer_step_t st = transfer(f, ZCOAP_GET, &p);
        assert_int_equal(st.action, ZCOAP_TRANSFER_DONE);
        assert_int_equal(f->nreq, 1);
        expect_block(req(f, 0), ZCOAP_OPT_BLOCK2, cases[i].num, false, 2);
        assert_int_equal(st.offset, cases[i].offset);
        assert_int_equal(st.len, cases[i].len);
        assert_zcoap_bytes(f->last_data, f->last_len, rep_a + cases[i].offset, cases[i].len);
        expect_build_estate(f);
    }
}

/* NON requests: every follow-up NON too; a stale NON response of an earlier block (its token no
 * longer in use) is rejected by the endpoint and never reaches the transfer. */
static void non_download_and_stale_response(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 600;
    f->srv.szx2 = 3;
    f->srv.dup_resp_at = 1;
    zcoap_builder_t b;
    begin(f, ZCOAP_TYPE_NON, ZCOAP_GET, &b);
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    zcoap_transfer_params_t p = params_get();
    start_send(f, &b, &p);
    assert_int_equal(f->t.type, ZCOAP_TYPE_NON);
    assert_int_equal(f->t.method, ZCOAP_GET);
    assert_int_equal(run(f).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 600);
    expect_slices_in_order(f);
    assert_int_equal(f->nreq, 5);
    expect_follow_ups_repeat_first(f);
}

/* FETCH (RFC 8132) with a small body and a block-wise answer: each follow-up repeats the body
 * (it is what the answer is for, RFC 8132 §2) and its Content-Format, without Block1. */
static void fetch_body_repeated_on_each_block(void **state)
{
    fx_t *f = *state;
    static const uint8_t query[] = "{\"from\":128,\"fields\":[1,2]}";
    f->srv.rep_len = 900;
    f->srv.szx2 = 3;
    zcoap_builder_t b;
    begin(f, ZCOAP_TYPE_CON, ZCOAP_FETCH, &b);
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "log"));
    assert_zcoap_ok(zcoap_builder_add_uint(&b, ZCOAP_OPT_CONTENT_FORMAT, ZCOAP_CF_JSON));
    zcoap_transfer_params_t p = params_body(query, sizeof(query) - 1, ZCOAP_TRANSFER_SZX_AUTO);
    start_send(f, &b, &p);
    assert_int_equal(run(f).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 900);
    assert_int_equal(f->nreq, 8);
    for (size_t i = 0; i < f->nreq; i++) {
        assert_int_equal(req(f, i)->code, ZCOAP_FETCH);
        expect_payload_bytes(req(f, i), query, sizeof(query) - 1);
        expect_no_opt(req(f, i), ZCOAP_OPT_BLOCK1);
        expect_no_opt(req(f, i), ZCOAP_OPT_SIZE1);
        expect_uint_opt(req(f, i), ZCOAP_OPT_CONTENT_FORMAT, ZCOAP_CF_JSON);
        if (i > 0)
            expect_block(req(f, i), ZCOAP_OPT_BLOCK2, (uint32_t)i, false, 3);
    }
    expect_follow_ups_repeat_first(f);
}

/* ======================================================================================== */
/* Uploads (Block1)                                                                         */
/* ======================================================================================== */

/* The body of an upload of @p len bytes at @p szx: Block1 num/M/szx, Size1 on the first, the
 * bytes of each block. */
static void expect_block1_upload(const fx_t *f, const uint8_t *body, size_t len, uint8_t szx)
{
    uint32_t size = zcoap_block_size(szx);
    size_t blocks = (len + size - 1) / size;
    assert_true(f->nreq >= blocks);
    for (size_t i = 0; i < blocks; i++) {
        const zcoap_msg_t *r = req(f, i);
        bool last = i + 1 == blocks;
        expect_block(r, ZCOAP_OPT_BLOCK1, (uint32_t)i, !last, szx);
        size_t n = last ? len - i * size : size;
        expect_payload_bytes(r, body + i * size, n);
        uint32_t size1;
        if (i == 0)
            expect_uint_opt(r, ZCOAP_OPT_SIZE1, (uint32_t)len);
        else if (zcoap_msg_get_uint(r, ZCOAP_OPT_SIZE1, &size1) == ZCOAP_OK)
            assert_int_equal(size1, len); /* may repeat the estimate (§4), never change it */
        expect_no_opt(r, ZCOAP_OPT_BLOCK2);
    }
}

/* TD_COAP_BLOCK_03: PUT of a large body, Block1 in blocks of the client's size; 2.31 between
 * blocks, 2.04 at the end; the server has the body byte-exact. */
static void td_coap_block_03_put_block1(void **state)
{
    fx_t *f = *state;
    f->srv.final_payload = "stored";
    zcoap_transfer_params_t p = params_body(rep_b, 300, 2);
    zcoap_transfer_step_t st = transfer(f, ZCOAP_PUT, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_DONE);
    assert_int_equal(f->steps[4].code, ZCOAP_CHANGED);
    assert_int_equal(f->nreq, 5);
    expect_block1_upload(f, rep_b, 300, 2);
    assert_zcoap_bytes(f->srv.body, f->srv.body_len, rep_b, 300);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(f->steps[i].code, ZCOAP_CONTINUE);
        assert_int_equal(f->steps[i].step.action, ZCOAP_TRANSFER_NEXT);
        assert_int_equal(f->steps[i].step.uploaded, (i + 1) * 64);
        assert_int_equal(f->steps[i].step.len, 0);
    }
    assert_int_equal(st.uploaded, 300);
    /* The final 2.04's payload is handed over. */
    assert_zcoap_bytes(f->last_data, f->last_len, (const uint8_t *)"stored", 6);
    assert_int_equal(st.offset, 0);
    expect_follow_ups_repeat_first(f);
}

/* TD_COAP_BLOCK_04: POST of a large body; exact multiple of the block size. */
static void td_coap_block_04_post_block1(void **state)
{
    fx_t *f = *state;
    f->srv.final_code = ZCOAP_CREATED;
    zcoap_transfer_params_t p = params_body(rep_b, 2048, 6);
    zcoap_transfer_step_t st = transfer(f, ZCOAP_POST, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_DONE);
    assert_int_equal(f->steps[1].code, ZCOAP_CREATED);
    assert_int_equal(f->nreq, 2);
    expect_block1_upload(f, rep_b, 2048, 6);
    assert_zcoap_bytes(f->srv.body, f->srv.body_len, rep_b, 2048);
    assert_int_equal(st.uploaded, 2048);
    expect_follow_ups_repeat_first(f);
}

/* A body that fits one message and one block goes whole: no Block1, no Size1. */
static void upload_that_fits_goes_whole(void **state)
{
    fx_t *f = *state;
    static const struct {
        size_t len;
        uint8_t szx;
    } cases[] = {{0, ZCOAP_TRANSFER_SZX_AUTO},   {1, 0}, {16, 0}, {40, 2}, {64, 2}, {500, 6},
                 {1024, ZCOAP_TRANSFER_SZX_AUTO}};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        fx_clear(f);
        zcoap_transfer_params_t p =
            params_body(cases[i].len > 0 ? rep_b : NULL, cases[i].len, cases[i].szx);
        assert_int_equal(transfer(f, ZCOAP_PUT, &p).action, ZCOAP_TRANSFER_DONE);
        assert_int_equal(f->nreq, 1);
        expect_no_opt(req(f, 0), ZCOAP_OPT_BLOCK1);
        expect_no_opt(req(f, 0), ZCOAP_OPT_SIZE1);
        expect_no_opt(req(f, 0), ZCOAP_OPT_BLOCK2);
        expect_payload_bytes(req(f, 0), rep_b, cases[i].len);
        assert_int_equal(f->steps[0].code, ZCOAP_CHANGED);
        assert_zcoap_bytes(f->srv.body, f->srv.body_len, rep_b, cases[i].len);
    }
}

/* One byte more than a block goes block-wise: 17 bytes at SZX 0 is 16 + 1. With SZX_AUTO the
 * block size is "the largest that fits the request buffer", 1024 (SZX 6), and a body is sent
 * whole only when it "fits the request buffer and one block of block1_szx" (transfer.h), so
 * 1025 bytes is 1024 + 1 (also RFC 7252 §4.6: 1024 bytes is the payload bound to assume). */
static void upload_one_byte_over_a_block(void **state)
{
    fx_t *f = *state;
    zcoap_transfer_params_t p = params_body(rep_b, 17, 0);
    assert_int_equal(transfer(f, ZCOAP_PUT, &p).action, ZCOAP_TRANSFER_DONE);
    assert_int_equal(f->nreq, 2);
    expect_block1_upload(f, rep_b, 17, 0);
    assert_zcoap_bytes(f->srv.body, f->srv.body_len, rep_b, 17);

    fx_clear(f);
    p = params_body(rep_b, 1025, ZCOAP_TRANSFER_SZX_AUTO);
    assert_int_equal(transfer(f, ZCOAP_PUT, &p).action, ZCOAP_TRANSFER_DONE);
    assert_int_equal(f->nreq, 2);
    expect_block1_upload(f, rep_b, 1025, 6);
    assert_zcoap_bytes(f->srv.body, f->srv.body_len, rep_b, 1025);
}

/* The server asks for smaller blocks in its 2.31 (§2.3): the client goes on at that size, the
 * next NUM counted in it (256 bytes taken = block 4 of 64), and the body arrives byte-exact. */
static void upload_server_asks_smaller_szx(void **state)
{
    fx_t *f = *state;
    f->srv.szx1 = 2;
    zcoap_transfer_params_t p = params_body(rep_b, 1000, 4);
    assert_int_equal(transfer(f, ZCOAP_PUT, &p).action, ZCOAP_TRANSFER_DONE);
    assert_zcoap_bytes(f->srv.body, f->srv.body_len, rep_b, 1000);
    assert_int_equal(f->srv.rejected, 0);
    expect_block(req(f, 0), ZCOAP_OPT_BLOCK1, 0, true, 4);
    expect_payload_bytes(req(f, 0), rep_b, 256);
    /* then 64-byte blocks from offset 256: blocks 4 .. 15 (the last has 40 bytes) */
    assert_int_equal(f->nreq, 1 + 12);
    for (size_t i = 1; i < f->nreq; i++) {
        uint32_t num = (uint32_t)(i + 3);
        bool last = i + 1 == f->nreq;
        expect_block(req(f, i), ZCOAP_OPT_BLOCK1, num, !last, 2);
        expect_payload_bytes(req(f, i), rep_b + num * 64u, last ? 40 : 64);
    }
    assert_int_equal(f->steps[0].step.uploaded, 256);
    assert_int_equal(f->steps[1].step.uploaded, 320);
    expect_follow_ups_repeat_first(f);
}

/* A 4.13 with a smaller Block1 SZX to block 0 (§2.9.3): the body starts again at that size. */
static void upload_413_with_smaller_szx_restarts_body(void **state)
{
    fx_t *f = *state;
    f->srv.inject_at = 0;
    f->srv.inject_code = ZCOAP_REQUEST_ENTITY_TOO_LARGE;
    f->srv.inject_block1_szx = 2;
    f->srv.szx1 = 2;
    zcoap_transfer_params_t p = params_body(rep_b, 3000, 6);
    zcoap_transfer_step_t st = transfer(f, ZCOAP_PUT, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_DONE);
    assert_int_equal(f->steps[0].code, ZCOAP_REQUEST_ENTITY_TOO_LARGE);
    assert_int_equal(f->steps[0].step.action, ZCOAP_TRANSFER_NEXT);
    assert_int_equal(f->steps[0].step.uploaded, 0);
    expect_block(req(f, 0), ZCOAP_OPT_BLOCK1, 0, true, 6);
    assert_int_equal(f->nreq, 1 + (3000 + 63) / 64);
    for (size_t i = 1; i < f->nreq; i++) {
        bool last = i + 1 == f->nreq;
        expect_block(req(f, i), ZCOAP_OPT_BLOCK1, (uint32_t)(i - 1), !last, 2);
    }
    expect_uint_opt(req(f, 1), ZCOAP_OPT_SIZE1, 3000);
    assert_zcoap_bytes(f->srv.body, f->srv.body_len, rep_b, 3000);
    assert_int_equal(st.uploaded, 3000);
}

/* A body sent whole and answered 4.13 with a Block1 size: sent again block-wise at that size. */
static void upload_413_to_whole_body_goes_block_wise(void **state)
{
    fx_t *f = *state;
    f->srv.inject_at = 0;
    f->srv.inject_code = ZCOAP_REQUEST_ENTITY_TOO_LARGE;
    f->srv.inject_block1_szx = 3;
    f->srv.inject_size1 = 4096;
    f->srv.szx1 = 3;
    zcoap_transfer_params_t p = params_body(rep_b, 600, ZCOAP_TRANSFER_SZX_AUTO);
    assert_int_equal(transfer(f, ZCOAP_POST, &p).action, ZCOAP_TRANSFER_DONE);
    expect_no_opt(req(f, 0), ZCOAP_OPT_BLOCK1);
    assert_int_equal(f->nreq, 1 + 5);
    for (size_t i = 1; i < f->nreq; i++)
        expect_block(req(f, i), ZCOAP_OPT_BLOCK1, (uint32_t)(i - 1), i + 1 < f->nreq, 3);
    assert_zcoap_bytes(f->srv.body, f->srv.body_len, rep_b, 600);
}

/* A 4.13 without a Block1 size is final (the server takes no such body at all). */
static void upload_413_without_block1_is_final(void **state)
{
    fx_t *f = *state;
    f->srv.max_body = 1000;
    zcoap_transfer_params_t p = params_body(rep_b, 3000, 4);
    zcoap_transfer_step_t st = transfer(f, ZCOAP_PUT, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_DONE);
    assert_int_equal(f->nreq, 1); /* Size1 3000 > 1000: zcoap_block1_accept() says 4.13 */
    assert_int_equal(f->steps[0].code, ZCOAP_REQUEST_ENTITY_TOO_LARGE);
}

/* A 4.13 that names no smaller size than the one in use is final: the size only goes down, so
 * a server answering 4.13 again cannot keep the client sending. */
static void upload_413_again_at_the_same_szx_is_final(void **state)
{
    fx_t *f = *state;
    f->srv.inject_at = 0;
    f->srv.inject_count = 2;
    f->srv.inject_code = ZCOAP_REQUEST_ENTITY_TOO_LARGE;
    f->srv.inject_block1_szx = 2;
    zcoap_transfer_params_t p = params_body(rep_b, 3000, 6);
    zcoap_transfer_step_t st = transfer(f, ZCOAP_PUT, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_DONE);
    assert_int_equal(f->nreq, 2);
    expect_block(req(f, 0), ZCOAP_OPT_BLOCK1, 0, true, 6);
    expect_block(req(f, 1), ZCOAP_OPT_BLOCK1, 0, true, 2);
    assert_int_equal(f->steps[1].code, ZCOAP_REQUEST_ENTITY_TOO_LARGE);
}

/* A 2.31 that does not continue the block just sent (another NUM, no Block1, after the last
 * block, or to a body sent whole) is outside the protocol: FAILED ZCOAP_EPROTO rather than a
 * body the server may not have. */
static void continue_that_does_not_match_is_eproto(void **state)
{
    fx_t *f = *state;
    static const struct {
        size_t body_len;
        uint8_t szx;
        long at;
        int block1_szx;
        uint32_t block1_num;
    } cases[] = {
        {1000, 2, 2, 2, 0},                      /* NUM 0 for block 2 */
        {1000, 2, 1, -1, 0},                     /* no Block1 */
        {200, 2, 3, 2, 3},                       /* block 3 is the last */
        {100, ZCOAP_TRANSFER_SZX_AUTO, 0, 6, 0}, /* the body went whole */
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        fx_clear(f);
        f->srv.inject_at = cases[i].at;
        f->srv.inject_code = ZCOAP_CONTINUE;
        f->srv.inject_block1_szx = cases[i].block1_szx;
        f->srv.inject_block1_num = cases[i].block1_num;
        zcoap_transfer_params_t p = params_body(rep_b, cases[i].body_len, cases[i].szx);
        zcoap_transfer_step_t st = transfer(f, ZCOAP_PUT, &p);
        assert_int_equal(st.action, ZCOAP_TRANSFER_FAILED);
        assert_zcoap_err(st.error, ZCOAP_EPROTO);
        assert_int_equal(f->nreq, (size_t)cases[i].at + 1);
    }
}

/* 4.08 Request Entity Incomplete mid-upload is final: DONE with that code. */
static void upload_408_mid_body_is_final(void **state)
{
    fx_t *f = *state;
    f->srv.inject_at = 2;
    f->srv.inject_code = ZCOAP_REQUEST_ENTITY_INCOMPLETE;
    f->srv.inject_payload = "lost track";
    zcoap_transfer_params_t p = params_body(rep_b, 1000, 2);
    zcoap_transfer_step_t st = transfer(f, ZCOAP_PUT, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_DONE);
    assert_int_equal(f->nreq, 3);
    assert_int_equal(f->steps[2].code, ZCOAP_REQUEST_ENTITY_INCOMPLETE);
    assert_zcoap_bytes(f->last_data, f->last_len, (const uint8_t *)"lost track", 10);
    assert_int_equal(st.offset, 0);
    assert_false(zcoap_transfer_active(&f->t));
}

/* ---- read callbacks ------------------------------------------------------------------------ */

typedef struct reader {
    const uint8_t *src;
    size_t len;       /* the body's real length */
    size_t announced; /* body_len given to the transfer */
    size_t fail_at;   /* a read touching this offset fails (SIZE_MAX: never) */
    ptrdiff_t error;  /* with this */
    size_t calls;
    size_t max_end; /* the furthest byte asked for */
} reader_t;

static ptrdiff_t read_body(void *ctx, size_t offset, uint8_t *out, size_t len)
{
    reader_t *r = ctx;
    r->calls++;
    /* Never asked for bytes past the announced length. */
    assert_true(offset + len <= r->announced);
    assert_non_null(out);
    if (offset + len > r->max_end)
        r->max_end = offset + len;
    if (r->fail_at != SIZE_MAX && offset <= r->fail_at && r->fail_at < offset + len)
        return r->error;
    size_t n = offset >= r->len ? 0 : (r->len - offset < len ? r->len - offset : len);
    memcpy(out, r->src + offset, n);
    return (ptrdiff_t)n;
}

static zcoap_transfer_params_t params_reader(reader_t *r, uint8_t szx)
{
    zcoap_transfer_params_t p = params_get();
    p.read = read_body;
    p.read_ctx = r;
    p.body_len = r->announced;
    p.block1_szx = szx;
    return p;
}

static reader_t reader(const uint8_t *src, size_t len)
{
    reader_t r = {src, len, len, SIZE_MAX, 0, 0, 0};
    return r;
}

/* An upload from a read callback (PUT, TD_COAP_BLOCK_03's body streamed): byte-exact on the
 * server, every byte read, none past the body. */
static void upload_from_read_callback(void **state)
{
    fx_t *f = *state;
    reader_t r = reader(rep_b, 5000);
    zcoap_transfer_params_t p = params_reader(&r, 5);
    p.body = rep_a; /* ignored when read is set */
    assert_int_equal(transfer(f, ZCOAP_PUT, &p).action, ZCOAP_TRANSFER_DONE);
    assert_int_equal(f->nreq, 10);
    expect_block1_upload(f, rep_b, 5000, 5);
    assert_zcoap_bytes(f->srv.body, f->srv.body_len, rep_b, 5000);
    assert_int_equal(r.max_end, 5000);
    assert_true(r.calls >= 10);

    /* A small body from a read callback goes whole. */
    fx_clear(f);
    r = reader(rep_b, 30);
    p = params_reader(&r, ZCOAP_TRANSFER_SZX_AUTO);
    assert_int_equal(transfer(f, ZCOAP_POST, &p).action, ZCOAP_TRANSFER_DONE);
    assert_int_equal(f->nreq, 1);
    expect_no_opt(req(f, 0), ZCOAP_OPT_BLOCK1);
    expect_payload_bytes(req(f, 0), rep_b, 30);
}

/* The read callback fails on block 0: zcoap_transfer_start() returns its error. */
static void read_error_on_first_block(void **state)
{
    fx_t *f = *state;
    reader_t r = reader(rep_b, 1000);
    r.fail_at = 10;
    r.error = -77;
    zcoap_transfer_params_t p = params_reader(&r, 2);
    zcoap_builder_t b;
    begin(f, ZCOAP_TYPE_CON, ZCOAP_PUT, &b);
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    assert_int_equal(zcoap_transfer_start(&f->t, &b, &p), -77);
    assert_zcoap_ok(zcoap_ep_cancel(&f->ep));
    expect_nothing_sent(f);
}

/* Run an upload until the transfer stops asking for requests because the body cannot be read;
 * returns the error, from zcoap_transfer_build() or from a FAILED step. */
static int upload_until_read_fails(fx_t *f, reader_t *r)
{
    zcoap_transfer_params_t p = params_reader(r, 2);
    zcoap_builder_t b;
    begin(f, ZCOAP_TYPE_CON, ZCOAP_PUT, &b);
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    start_send(f, &b, &p);
    for (;;) {
        zcoap_transfer_step_t st = exchange(f);
        if (st.action == ZCOAP_TRANSFER_FAILED) {
            assert_false(zcoap_transfer_active(&f->t));
            return st.error;
        }
        assert_int_equal(st.action, ZCOAP_TRANSFER_NEXT);
        assert_zcoap_ok(zcoap_ep_request_begin(&f->ep, f->t.type, f->t.method, &b));
        int rc = zcoap_transfer_build(&f->t, &b);
        if (rc != ZCOAP_OK) {
            assert_zcoap_ok(zcoap_ep_cancel(&f->ep));
            zcoap_transfer_abort(&f->t);
            return rc;
        }
        assert_zcoap_ok(zcoap_ep_request_send(&f->ep, &b, 0, f->now));
        expect_sent_event(f);
    }
}

/* The read callback fails mid-body: the transfer ends with exactly its error, and no block
 * from the failed read goes out. */
static void read_error_mid_body(void **state)
{
    fx_t *f = *state;
    reader_t r = reader(rep_b, 1000);
    r.fail_at = 200; /* block 3 of 64 */
    r.error = -77;
    assert_int_equal(upload_until_read_fails(f, &r), -77);
    assert_int_equal(f->nreq, 3);
    assert_int_equal(f->srv.body_len, 192);
    expect_nothing_sent(f);
    assert_true(zcoap_ep_is_idle(&f->ep));
}

/* The body is shorter than announced: the transfer fails rather than send a short block with M
 * set (which only the last block may be, §2.2) or a body shorter than its Size1. */
static void short_read_fails(void **state)
{
    fx_t *f = *state;
    reader_t r = reader(rep_b, 150);
    r.announced = 1000;
    /* ZCOAP_ERANGE: the error transfer.h lists that fits "shorter than announced". */
    assert_zcoap_err(upload_until_read_fails(f, &r), ZCOAP_ERANGE);
    assert_int_equal(f->srv.rejected, 0);
    assert_int_equal(f->nreq, 2); /* 0-63, 64-127; 128-191 comes short */
    assert_int_equal(f->srv.body_len, 128);
    /* Short on block 0: zcoap_transfer_start() fails. */
    fx_clear(f);
    r = reader(rep_b, 10);
    r.announced = 1000;
    zcoap_transfer_params_t p = params_reader(&r, 2);
    zcoap_builder_t b;
    begin(f, ZCOAP_TYPE_CON, ZCOAP_PUT, &b);
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    assert_zcoap_err(zcoap_transfer_start(&f->t, &b, &p), ZCOAP_ERANGE);
    assert_zcoap_ok(zcoap_ep_cancel(&f->ep));
    expect_nothing_sent(f);
}

/* ======================================================================================== */
/* Block1 and Block2 together                                                               */
/* ======================================================================================== */

/* TD_COAP_BLOCK_05: POST of a large body whose answer is large too. The answer to the last
 * Block1 block carries Block2 0 with M; the follow-ups are POSTs with Block2 and no payload nor
 * Block1 (RFC 7959 §3.3, the Block1/Block2 example). */
static void td_coap_block_05_post_block1_with_block2_answer(void **state)
{
    fx_t *f = *state;
    f->srv.echo = true;
    f->srv.szx1 = 6;
    f->srv.szx2 = 3;                                        /* the answer in 128-byte blocks */
    zcoap_transfer_params_t p = params_body(rep_b, 700, 4); /* the body in 256-byte blocks */
    zcoap_transfer_step_t st = transfer(f, ZCOAP_POST, &p);
    assert_int_equal(st.action, ZCOAP_TRANSFER_DONE);
    assert_zcoap_bytes(f->srv.body, f->srv.body_len, rep_b, 700);
    expect_got(f, rep_b, 700); /* the echo */
    expect_slices_in_order(f);
    /* 3 blocks up, then blocks 1 .. 5 of the answer (block 0 came with the last Block1). */
    assert_int_equal(f->nreq, 3 + 5);
    expect_block1_upload(f, rep_b, 700, 4);
    assert_int_equal(f->steps[2].code, ZCOAP_CHANGED);
    assert_int_equal(f->steps[2].step.action, ZCOAP_TRANSFER_NEXT);
    assert_int_equal(f->steps[2].step.offset, 0);
    assert_int_equal(f->steps[2].step.len, 128);
    for (size_t i = 3; i < f->nreq; i++) {
        const zcoap_msg_t *r = req(f, i);
        assert_int_equal(r->code, ZCOAP_POST);
        expect_block(r, ZCOAP_OPT_BLOCK2, (uint32_t)(i - 2), false, 3);
        expect_no_opt(r, ZCOAP_OPT_BLOCK1);
        expect_no_opt(r, ZCOAP_OPT_SIZE1);
        assert_int_equal(r->payload_len, 0);
        assert_int_equal(f->steps[i].step.uploaded, 700);
    }
    expect_follow_ups_repeat_first(f);
}

/* A body sent whole with a block-wise answer: follow-ups have no payload either. */
static void post_whole_body_with_block2_answer(void **state)
{
    fx_t *f = *state;
    f->srv.echo = true;
    f->srv.szx2 = 2;
    zcoap_transfer_params_t p = params_body(rep_b, 200, ZCOAP_TRANSFER_SZX_AUTO);
    assert_int_equal(transfer(f, ZCOAP_POST, &p).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_b, 200);
    assert_int_equal(f->nreq, 4);
    expect_no_opt(req(f, 0), ZCOAP_OPT_BLOCK1);
    expect_payload_bytes(req(f, 0), rep_b, 200);
    for (size_t i = 1; i < 4; i++) {
        expect_block(req(f, i), ZCOAP_OPT_BLOCK2, (uint32_t)i, false, 2);
        assert_int_equal(req(f, i)->payload_len, 0);
    }
}

/* ======================================================================================== */
/* Lost and duplicated datagrams                                                            */
/* ======================================================================================== */

/* A lost response: the endpoint retransmits the request after ACK_TIMEOUT (the same bytes,
 * §4.2), the server answers the retransmission from its stored response, the transfer goes on. */
static void lost_block_is_retransmitted(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 3000;
    f->srv.lose_resp_at = 1;
    zcoap_transfer_params_t p = params_get();
    assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 3000);
    expect_slices_in_order(f);
    assert_int_equal(f->nreq, 3);
    assert_int_equal(f->srv.retransmissions, 1);
    assert_true(f->now >= T0 + 2000 && f->now <= T0 + 3000);

    /* A lost request mid-upload, and a lost response: the server never takes a block twice. */
    fx_clear(f);
    f->srv.lose_req_at = 1;
    f->srv.lose_resp_at = 3;
    p = params_body(rep_b, 1000, 3);
    assert_int_equal(transfer(f, ZCOAP_PUT, &p).action, ZCOAP_TRANSFER_DONE);
    assert_zcoap_bytes(f->srv.body, f->srv.body_len, rep_b, 1000);
    assert_int_equal(f->srv.rejected, 0);
    assert_int_equal(f->nreq, 8);
    assert_int_equal(f->srv.retransmissions, 1);
    expect_block1_upload(f, rep_b, 1000, 3);
}

/* A response datagram that arrives twice: the endpoint answers the copy (RFC 7252 §4.5) and the
 * transfer sees each block once; with piggybacked and with separate CON responses. */
static void duplicated_response_seen_once(void **state)
{
    fx_t *f = *state;
    for (int separate = 0; separate <= 1; separate++) {
        fx_clear(f);
        f->srv.rep_len = 1000;
        f->srv.szx2 = 3;
        f->srv.separate = separate != 0;
        f->srv.dup_chance = 100; /* every response twice */
        zcoap_transfer_params_t p = params_get();
        assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
        expect_got(f, rep_a, 1000);
        expect_slices_in_order(f);
        assert_int_equal(f->nreq, 8);
        assert_int_equal(f->nsteps, 8);
    }
    /* An upload with its 2.31s duplicated. */
    fx_clear(f);
    f->srv.dup_chance = 100;
    f->srv.separate = true;
    zcoap_transfer_params_t p = params_body(rep_b, 500, 2);
    assert_int_equal(transfer(f, ZCOAP_PUT, &p).action, ZCOAP_TRANSFER_DONE);
    assert_zcoap_bytes(f->srv.body, f->srv.body_len, rep_b, 500);
    assert_int_equal(f->nsteps, 8);
}

/* ======================================================================================== */
/* The API's contract                                                                       */
/* ======================================================================================== */

/* zcoap_transfer_build() and _response() with no request due: ZCOAP_ESTATE; before any start,
 * after DONE, after an abort. */
static void idle_transfer_is_estate(void **state)
{
    fx_t *f = *state;
    zcoap_transfer_t t;
    uint8_t tmpl[64];
    assert_zcoap_ok(zcoap_transfer_init(&t, tmpl, sizeof(tmpl)));
    assert_false(zcoap_transfer_active(&t));
    zcoap_builder_t b;
    begin(f, ZCOAP_TYPE_CON, ZCOAP_GET, &b);
    assert_zcoap_err(zcoap_transfer_build(&t, &b), ZCOAP_ESTATE);
    uint8_t d[] = {0x60, 0x45, 0x12, 0x34};
    zcoap_msg_t m;
    parse_ok(&m, d, sizeof(d));
    zcoap_transfer_step_t st;
    assert_zcoap_err(zcoap_transfer_response(&t, &m, &st), ZCOAP_ESTATE);
    assert_zcoap_ok(zcoap_ep_cancel(&f->ep));

    /* After DONE. */
    f->srv.rep_len = 10;
    zcoap_transfer_params_t p = params_get();
    assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
    assert_false(zcoap_transfer_active(&f->t));
    begin(f, ZCOAP_TYPE_CON, ZCOAP_GET, &b);
    assert_zcoap_err(zcoap_transfer_build(&f->t, &b), ZCOAP_ESTATE);
    assert_zcoap_err(zcoap_transfer_response(&f->t, &m, &st), ZCOAP_ESTATE);
    assert_zcoap_ok(zcoap_ep_cancel(&f->ep));
}

/* zcoap_transfer_abort() ends a transfer under way (after a timeout of its request, say); a new
 * start on the same object runs a fresh transfer. */
static void abort_ends_the_transfer(void **state)
{
    fx_t *f = *state;
    f->srv.rep_len = 3000;
    zcoap_builder_t b;
    begin(f, ZCOAP_TYPE_CON, ZCOAP_GET, &b);
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    zcoap_transfer_params_t p = params_get();
    start_send(f, &b, &p);
    assert_int_equal(exchange(f).action, ZCOAP_TRANSFER_NEXT);
    assert_true(zcoap_transfer_active(&f->t));
    zcoap_transfer_abort(&f->t);
    assert_false(zcoap_transfer_active(&f->t));
    begin(f, ZCOAP_TYPE_CON, ZCOAP_GET, &b);
    assert_zcoap_err(zcoap_transfer_build(&f->t, &b), ZCOAP_ESTATE);
    assert_zcoap_ok(zcoap_ep_cancel(&f->ep));
    zcoap_transfer_abort(&f->t); /* twice is harmless */
    assert_false(zcoap_transfer_active(&f->t));

    /* Abort with the request in flight: its response is no longer taken. */
    fx_clear(f);
    f->srv.rep_len = 3000;
    begin(f, ZCOAP_TYPE_CON, ZCOAP_GET, &b);
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    start_send(f, &b, &p);
    zcoap_transfer_abort(&f->t);
    dgram_t out[2];
    uint8_t d[ZCOAP_MAX_MSG_SIZE];
    size_t n = pull(f, d, sizeof(d));
    assert_int_equal(server_receive(f, d, n, out), 1);
    f->resp = out[0];
    assert_zcoap_ok(zcoap_ep_receive(&f->ep, f->resp.bytes, f->resp.len, f->now));
    zcoap_event_t ev;
    expect_event(f, ZCOAP_EV_OUT_RESPONSE, &ev);
    zcoap_transfer_step_t st;
    assert_zcoap_err(zcoap_transfer_response(&f->t, &ev.msg, &st), ZCOAP_ESTATE);

    /* A start on a transfer under way drops it and runs the new one. */
    fx_clear(f);
    f->srv.rep_len = 3000;
    begin(f, ZCOAP_TYPE_CON, ZCOAP_GET, &b);
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    start_send(f, &b, &p);
    assert_int_equal(exchange(f).action, ZCOAP_TRANSFER_NEXT);
    fx_clear(f);
    f->srv.rep_len = 500;
    f->srv.szx2 = 2;
    assert_int_equal(transfer(f, ZCOAP_GET, &p).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 500);
    expect_late_download(f, 500, 2);
}

/* Bad parameters: ZCOAP_EINVAL, and nothing started. */
static void bad_params_are_einval(void **state)
{
    fx_t *f = *state;
    zcoap_transfer_t t;
    uint8_t tmpl[128];
    assert_zcoap_err(zcoap_transfer_init(NULL, tmpl, sizeof(tmpl)), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_transfer_init(&t, NULL, sizeof(tmpl)), ZCOAP_EINVAL);
    assert_zcoap_ok(zcoap_transfer_init(&t, tmpl, sizeof(tmpl)));

    zcoap_builder_t b;
    begin(f, ZCOAP_TYPE_CON, ZCOAP_PUT, &b);
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    zcoap_transfer_params_t p = params_body(rep_b, 100, 2);
    zcoap_transfer_params_t bad;
    bad = p;
    bad.block1_szx = 7;
    assert_zcoap_err(zcoap_transfer_start(&t, &b, &bad), ZCOAP_EINVAL);
    bad = p;
    bad.block2_szx = 7;
    assert_zcoap_err(zcoap_transfer_start(&t, &b, &bad), ZCOAP_EINVAL);
    bad = p;
    bad.block2_single = true; /* random access needs a block size */
    assert_zcoap_err(zcoap_transfer_start(&t, &b, &bad), ZCOAP_EINVAL);
    bad = p;
    bad.body = NULL; /* 100 bytes of nothing */
    assert_zcoap_err(zcoap_transfer_start(&t, &b, &bad), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_transfer_start(NULL, &b, &p), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_transfer_start(&t, NULL, &p), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_transfer_start(&t, &b, NULL), ZCOAP_EINVAL);
    assert_false(zcoap_transfer_active(&t));
    /* A payload already in the request. */
    assert_zcoap_ok(zcoap_builder_set_payload(&b, "x", 1));
    assert_zcoap_err(zcoap_transfer_start(&t, &b, &p), ZCOAP_EINVAL);
    assert_false(zcoap_transfer_active(&t));
    assert_zcoap_ok(zcoap_ep_cancel(&f->ep));

    /* zcoap_transfer_response() and _build() with NULL or the wrong builder. */
    f->srv.rep_len = 3000;
    begin(f, ZCOAP_TYPE_CON, ZCOAP_GET, &b);
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    zcoap_transfer_params_t g = params_get();
    start_send(f, &b, &g);
    zcoap_transfer_step_t st;
    uint8_t d[] = {0x60, 0x45, 0x12, 0x34};
    zcoap_msg_t m;
    parse_ok(&m, d, sizeof(d));
    assert_zcoap_err(zcoap_transfer_response(NULL, &m, &st), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_transfer_response(&f->t, NULL, &st), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_transfer_response(&f->t, &m, NULL), ZCOAP_EINVAL);
    assert_true(zcoap_transfer_active(&f->t));
    assert_int_equal(exchange(f).action, ZCOAP_TRANSFER_NEXT);
    /* Another method than the transfer's, or options already added. */
    begin(f, ZCOAP_TYPE_CON, ZCOAP_PUT, &b);
    assert_zcoap_err(zcoap_transfer_build(&f->t, &b), ZCOAP_EINVAL);
    begin(f, ZCOAP_TYPE_CON, ZCOAP_GET, &b);
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    assert_zcoap_err(zcoap_transfer_build(&f->t, &b), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_transfer_build(&f->t, NULL), ZCOAP_EINVAL);
    /* Refused builds leave the transfer as it was: it goes on to the end. */
    assert_true(zcoap_transfer_active(&f->t));
    send_next(f);
    assert_int_equal(run(f).action, ZCOAP_TRANSFER_DONE);
    expect_got(f, rep_a, 3000);
}

/* A template buffer too small for the request's header, token and options, or a request buffer
 * with no room for a 16-byte block: ZCOAP_ENOSPC. */
static void template_too_small_is_enospc(void **state)
{
    fx_t *f = *state;
    zcoap_transfer_t t;
    /* The template holds the request's header and options (and, by the header's word, its
     * token): GET /large is 4 + 6 bytes, 18 with an 8-byte token. */
    uint8_t tmpl[8];
    assert_zcoap_ok(zcoap_transfer_init(&t, tmpl, sizeof(tmpl)));
    zcoap_builder_t b;
    begin(f, ZCOAP_TYPE_CON, ZCOAP_GET, &b);
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    zcoap_transfer_params_t p = params_get();
    assert_zcoap_err(zcoap_transfer_start(&t, &b, &p), ZCOAP_ENOSPC);
    assert_false(zcoap_transfer_active(&t));
    /* 18 bytes is enough. */
    uint8_t tmpl18[18];
    assert_zcoap_ok(zcoap_transfer_init(&t, tmpl18, sizeof(tmpl18)));
    begin(f, ZCOAP_TYPE_CON, ZCOAP_GET, &b);
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    assert_zcoap_ok(zcoap_transfer_start(&t, &b, &p));
    zcoap_transfer_abort(&t);
    assert_zcoap_ok(zcoap_ep_cancel(&f->ep));

    /* A request buffer with 10 bytes left after the options: no room for a 16-byte block of a
     * 100-byte body. */
    uint8_t buf[4 + 8 + 6 + 10];
    static const uint8_t tok[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_PUT, 7, tok, sizeof(tok)));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    uint8_t tmpl64[64];
    assert_zcoap_ok(zcoap_transfer_init(&t, tmpl64, sizeof(tmpl64)));
    zcoap_transfer_params_t big = params_body(rep_b, 100, ZCOAP_TRANSFER_SZX_AUTO);
    assert_zcoap_err(zcoap_transfer_start(&t, &b, &big), ZCOAP_ENOSPC);
    assert_false(zcoap_transfer_active(&t));

    /* With 64 bytes left, SZX_AUTO takes the largest block that fits beside Block1 and Size1:
     * 32 bytes (64 would need 64 + 6 + 1). */
    uint8_t roomy[4 + 8 + 6 + 64];
    assert_zcoap_ok(zcoap_builder_init(&b, roomy, sizeof(roomy), ZCOAP_TYPE_CON, ZCOAP_PUT, 7, tok,
                                       sizeof(tok)));
    assert_zcoap_ok(zcoap_builder_add_str(&b, ZCOAP_OPT_URI_PATH, "large"));
    assert_zcoap_ok(zcoap_transfer_start(&t, &b, &big));
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n > 0);
    zcoap_msg_t m;
    parse_ok(&m, roomy, (size_t)n);
    expect_block(&m, ZCOAP_OPT_BLOCK1, 0, true, 1);
    expect_uint_opt(&m, ZCOAP_OPT_SIZE1, 100);
    expect_payload_bytes(&m, rep_b, 32);
    zcoap_transfer_abort(&t);
}

/* ======================================================================================== */
/* Seeded random transfers                                                                  */
/* ======================================================================================== */

static uint8_t random_szx(test_rng_t *r, bool auto_ok)
{
    if (auto_ok && test_rng_chance(r, 30))
        return ZCOAP_TRANSFER_SZX_AUTO;
    return (uint8_t)test_rng_below(r, 7);
}

/* Random sizes, block sizes, server switches, loss, duplicates, separate responses and ETag
 * restarts over GET, PUT, POST (echoed block-wise) and FETCH: every transfer byte-exact. */
static void random_transfers_are_byte_exact(void **state)
{
    fx_t *f = *state;
    test_rng_t r;
    uint64_t seed = test_rng_seed_from_env(0xb10c2);
    test_rng_seed(&r, seed);
    size_t count = test_scaled_count(500);
    for (size_t i = 0; i < count; i++) {
        fx_clear(f);
        server_t *s = &f->srv;
        test_rng_seed(&s->rng, test_rng_next(&r));
        uint32_t kind = test_rng_below(&r, 4);
        uint8_t type = test_rng_chance(&r, 15) ? ZCOAP_TYPE_NON : ZCOAP_TYPE_CON;
        s->szx2 = random_szx(&r, false);
        s->szx1 = random_szx(&r, false);
        if (test_rng_chance(&r, 30)) {
            s->szx2_switch_at = (long)test_rng_below(&r, 6);
            s->szx2_after = random_szx(&r, false);
        }
        s->separate = test_rng_chance(&r, 20);
        if (type == ZCOAP_TYPE_CON && test_rng_chance(&r, 30))
            s->lose_chance = 10;
        if (test_rng_chance(&r, 20))
            s->dup_chance = 20;
        zcoap_transfer_params_t p = params_get();
        p.block2_szx = random_szx(&r, true);
        p.ask_size2 = test_rng_chance(&r, 30);
        size_t len = test_rng_below(&r, 4097);
        const uint8_t *want = rep_a;
        uint8_t method = ZCOAP_GET;
        switch (kind) {
        case 0: /* GET, maybe with an ETag change and a restart */
            s->rep_len = len;
            s->etag_len = (uint8_t)test_rng_below(&r, 5);
            memset(s->etag, 0x5a, sizeof(s->etag));
            if (s->etag_len > 0 && test_rng_chance(&r, 20)) {
                s->change_at = 1 + (long)test_rng_below(&r, 4);
                s->rep2 = rep_b;
                /* not shorter: a block asked for stays inside the new version */
                s->rep2_len = len + test_rng_below(&r, (uint32_t)(4097 - len));
                p.restart_on_etag_change = true;
            }
            break;
        case 1: /* PUT */
            method = ZCOAP_PUT;
            p = params_body(rep_b, len, random_szx(&r, true));
            break;
        case 2: /* POST, the body echoed */
            method = ZCOAP_POST;
            s->echo = true;
            p.body = rep_b;
            p.body_len = len;
            p.block1_szx = random_szx(&r, true);
            want = rep_b;
            break;
        default: /* FETCH with a small body */
            method = ZCOAP_FETCH;
            s->rep_len = len;
            p.body = rep_b;
            p.body_len = 1 + test_rng_below(&r, 40);
            break;
        }
        zcoap_builder_t b;
        begin(f, type, method, &b);
        assert_zcoap_ok(zcoap_builder_add_uri_path(&b, "/r/large?q=1", 12));
        if (p.block1_szx != ZCOAP_TRANSFER_SZX_AUTO && method != ZCOAP_FETCH &&
            p.body_len > zcoap_block_size(p.block1_szx))
            f->check_uploaded = true;
        assert_zcoap_ok(zcoap_transfer_start(&f->t, &b, &p));
        assert_zcoap_ok(zcoap_ep_request_send(&f->ep, &b, 0, f->now));
        expect_sent_event(f);
        zcoap_transfer_step_t st = run(f);
        if (st.action != ZCOAP_TRANSFER_DONE)
            fail_msg("transfer %zu (seed 0x%llx): action %d error %s", i, (unsigned long long)seed,
                     (int)st.action, zcoap_err_name(st.error));
        assert_int_equal(s->rejected, 0);
        expect_follow_ups_repeat_first(f);
        expect_slices_in_order(f);
        if (kind == 1) {
            assert_int_equal(f->steps[f->nsteps - 1].code, ZCOAP_CHANGED);
            assert_zcoap_bytes(s->body, s->body_len, rep_b, len);
        } else if (kind == 2) {
            assert_zcoap_bytes(s->body, s->body_len, rep_b, len);
            expect_got(f, want, len);
        } else if (s->change_at >= 0 && f->restarts > 0) {
            expect_got(f, rep_b, s->rep2_len);
        } else {
            expect_got(f, want, len);
        }
        f->now += 1000;
    }
}

int main(void)
{
    test_rng_t r;
    test_rng_seed(&r, 0xda7a);
    test_rng_fill(&r, rep_a, sizeof(rep_a));
    test_rng_fill(&r, rep_b, sizeof(rep_b));
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
        T(td_coap_block_02_late_negotiation_sizes),
        T(late_negotiation_one_block_and_exact_multiples),
        T(td_coap_block_01_early_negotiation),
        T(td_coap_block_06_16_byte_blocks),
        T(late_negotiation_server_16_byte_blocks),
        T(early_negotiation_server_smaller),
        T(early_negotiation_server_larger),
        T(early_negotiation_server_answers_larger_block),
        T(server_switches_to_smaller_szx_mid_transfer),
        T(server_switches_szx_with_early_negotiation),
        T(follow_ups_repeat_the_first_requests_options),
        T(ask_size2_first_request_only),
        T(size2_unasked_and_with_early_negotiation),
        T(etag_change_fails),
        T(etag_appearing_or_disappearing_fails),
        T(etag_change_restarts),
        T(etag_change_restarts_give_up),
        T(etag_change_after_upload_does_not_restart),
        T(etag_change_restarts_fetch_not_post),
        T(wrong_block_is_eproto),
        T(error_response_mid_download),
        T(random_access_single_block),
        T(non_download_and_stale_response),
        T(fetch_body_repeated_on_each_block),
        T(td_coap_block_03_put_block1),
        T(td_coap_block_04_post_block1),
        T(upload_that_fits_goes_whole),
        T(upload_one_byte_over_a_block),
        T(upload_server_asks_smaller_szx),
        T(upload_413_with_smaller_szx_restarts_body),
        T(upload_413_to_whole_body_goes_block_wise),
        T(upload_413_without_block1_is_final),
        T(upload_413_again_at_the_same_szx_is_final),
        T(continue_that_does_not_match_is_eproto),
        T(upload_408_mid_body_is_final),
        T(upload_from_read_callback),
        T(read_error_on_first_block),
        T(read_error_mid_body),
        T(short_read_fails),
        T(td_coap_block_05_post_block1_with_block2_answer),
        T(post_whole_body_with_block2_answer),
        T(lost_block_is_retransmitted),
        T(duplicated_response_seen_once),
        T(idle_transfer_is_estate),
        T(abort_ends_the_transfer),
        T(bad_params_are_einval),
        T(template_too_small_is_enospc),
        T(random_transfers_are_byte_exact),
#undef T
    };
    return cmocka_run_group_tests_name("transfer", tests, NULL, NULL);
}
