/* The client side of a Block-wise transfer (RFC 7959): which options and which slice of the body
 * each request carries, and what each response means for the next one. */
#include <string.h>

#include "zcoap/block.h"
#include "zcoap/proto.h"
#include "zcoap/transfer.h"

/* Room kept beside a Block1 block for the options a block adds (Block1, Size1, Block2, Size2
 * with their headers, and a longer delta header for the option that follows them). */
#define BLOCK_OPTIONS_ROOM 20u

/* Block numbers have 20 bits (RFC 7959 §2.2). */
#define BLOCK_NUM_MAX 0xFFFFFu

/* Options a transfer sets itself on each request instead of copying the first request's: Echo
 * goes only where a response asked for it (RFC 9175 §2.3). */
static bool set_per_block(uint16_t num)
{
    return num == ZCOAP_OPT_BLOCK1 || num == ZCOAP_OPT_BLOCK2 || num == ZCOAP_OPT_SIZE1 ||
           num == ZCOAP_OPT_SIZE2 || num == ZCOAP_OPT_OBSERVE || num == ZCOAP_OPT_ECHO;
}

static int copy_options(const zcoap_msg_t *from, zcoap_builder_t *to)
{
    zcoap_opt_iter_t it;
    zcoap_opt_t o;
    zcoap_opt_iter_init(&it, from);
    while (zcoap_opt_iter_next(&it, &o)) {
        if (set_per_block(o.num))
            continue;
        int rc = zcoap_builder_add_opt(to, o.num, o.val, o.len);
        if (rc != ZCOAP_OK)
            return rc;
    }
    return ZCOAP_OK;
}

static int parse_builder(const zcoap_builder_t *b, zcoap_msg_t *msg)
{
    ptrdiff_t len = zcoap_builder_finish(b);
    if (len < 0)
        return (int)len;
    return zcoap_msg_parse(msg, b->buf, (size_t)len);
}

int zcoap_transfer_init(zcoap_transfer_t *t, uint8_t *tmpl, size_t tmpl_cap)
{
    if (t == NULL || tmpl == NULL || tmpl_cap < 4)
        return ZCOAP_EINVAL;
    memset(t, 0, sizeof(*t));
    t->tmpl = tmpl;
    t->tmpl_cap = tmpl_cap;
    return ZCOAP_OK;
}

bool zcoap_transfer_active(const zcoap_transfer_t *t)
{
    return t != NULL && t->phase != ZCOAP__TRANSFER_IDLE;
}

void zcoap_transfer_abort(zcoap_transfer_t *t)
{
    if (t != NULL) {
        t->phase = ZCOAP__TRANSFER_IDLE;
        t->in_flight = false;
        t->next_due = false;
    }
}

static bool params_valid(const zcoap_transfer_params_t *p)
{
    bool szx1_ok = p->block1_szx <= ZCOAP_BLOCK_SZX_MAX || p->block1_szx == ZCOAP_TRANSFER_SZX_AUTO;
    bool szx2_ok = p->block2_szx <= ZCOAP_BLOCK_SZX_MAX || p->block2_szx == ZCOAP_TRANSFER_SZX_AUTO;
    bool single_ok = !p->block2_single ||
                     (p->block2_szx != ZCOAP_TRANSFER_SZX_AUTO && p->block2_num <= BLOCK_NUM_MAX);
    bool body_ok = p->body_len == 0 || p->body != NULL || p->read != NULL;
    return szx1_ok && szx2_ok && single_ok && body_ok;
}

/* The largest block (SZX) that fits in @p room bytes; -1 when not even 16 bytes do. */
static int largest_szx(size_t room)
{
    for (int szx = (int)ZCOAP_BLOCK_SZX_MAX; szx >= 0; szx--)
        if (zcoap_block_size((uint8_t)szx) <= room)
            return szx;
    return -1;
}

/* Copy @p n body bytes from @p offset into the payload of @p b. */
static int add_body(const zcoap_transfer_t *t, zcoap_builder_t *b, size_t offset, size_t n)
{
    if (n == 0)
        return ZCOAP_OK;
    size_t avail = 0;
    uint8_t *dst = zcoap_builder_payload_ptr(b, &avail);
    if (dst == NULL || avail < n)
        return ZCOAP_ENOSPC;
    if (t->p.read != NULL) {
        ptrdiff_t got = t->p.read(t->p.read_ctx, offset, dst, n);
        if (got < 0)
            return (int)got;
        if ((size_t)got != n)
            return ZCOAP_ERANGE; /* the body is shorter than announced */
    } else {
        memcpy(dst, t->p.body + offset, n);
    }
    return zcoap_builder_commit_payload(b, n);
}

/* Add to @p b what the current request of the transfer carries besides the template's
 * options: block options and the body or its next block. */
static int add_request_parts(zcoap_transfer_t *t, zcoap_builder_t *b)
{
    int rc = ZCOAP_OK;
    bool last_of_body = true;
    t->sent_first = t->first_request;
    /* RFC 9175 §2.3: the Echo value of the last response goes back in the next request. */
    if (t->echo_len > 0)
        rc = zcoap_builder_add_opt(b, ZCOAP_OPT_ECHO, t->echo, t->echo_len);
    if (rc != ZCOAP_OK)
        return rc;
    if (t->phase == ZCOAP__TRANSFER_UPLOAD && t->block1_used) {
        uint32_t size = zcoap_block_size(t->szx1);
        size_t n = t->p.body_len - t->sent < size ? t->p.body_len - t->sent : size;
        if (t->sent / size > BLOCK_NUM_MAX)
            return ZCOAP_ERANGE;
        zcoap_block_t blk = {(uint32_t)(t->sent / size), t->sent + n < t->p.body_len, t->szx1};
        last_of_body = !blk.more;
        t->block1_num = blk.num;
        t->block1_len = n;
        rc = zcoap_builder_add_block(b, ZCOAP_OPT_BLOCK1, &blk);
        if (rc == ZCOAP_OK && t->sent == 0 && t->p.body_len <= UINT32_MAX)
            rc = zcoap_builder_add_uint(b, ZCOAP_OPT_SIZE1, (uint32_t)t->p.body_len);
        if (rc == ZCOAP_OK)
            rc = add_body(t, b, t->sent, n);
    } else if (t->phase == ZCOAP__TRANSFER_UPLOAD || (t->body_whole && t->method == ZCOAP_FETCH)) {
        /* The body in one message; FETCH repeats it on every block of the answer, since the
         * body is what the answer is for (RFC 8132 §2). */
        t->block1_len = t->p.body_len;
        rc = add_body(t, b, 0, t->p.body_len);
    }
    if (rc == ZCOAP_OK && t->block2_ask && last_of_body) {
        uint32_t num = t->p.block2_single && t->received == 0
                           ? t->p.block2_num
                           : (uint32_t)(t->received / zcoap_block_size(t->szx2));
        zcoap_block_t blk = {num, false, t->szx2};
        rc = zcoap_builder_add_block(b, ZCOAP_OPT_BLOCK2, &blk);
    }
    if (rc == ZCOAP_OK && t->first_request && t->p.ask_size2)
        rc = zcoap_builder_add_uint(b, ZCOAP_OPT_SIZE2, 0);
    t->first_request = false;
    if (rc != ZCOAP_OK)
        return rc;
    ptrdiff_t len = zcoap_builder_finish(b);
    return len < 0 ? (int)len : ZCOAP_OK;
}

int zcoap_transfer_start(zcoap_transfer_t *t, zcoap_builder_t *b,
                         const zcoap_transfer_params_t *params)
{
    if (t == NULL || b == NULL || params == NULL || t->tmpl == NULL || !params_valid(params))
        return ZCOAP_EINVAL;
    zcoap_msg_t req;
    int rc = parse_builder(b, &req);
    if (rc != ZCOAP_OK)
        return rc;
    if (req.payload_len > 0 || !zcoap_code_is_request(req.code))
        return ZCOAP_EINVAL;

    zcoap_builder_t tb;
    rc = zcoap_builder_init(&tb, t->tmpl, t->tmpl_cap, req.type, req.code, 0, NULL, 0);
    if (rc == ZCOAP_OK)
        rc = copy_options(&req, &tb);
    ptrdiff_t tmpl_len = rc == ZCOAP_OK ? zcoap_builder_finish(&tb) : rc;
    if (tmpl_len < 0)
        return (int)tmpl_len;

    /* The first request keeps the caller's Observe; the transfer sets the block options. */
    zcoap_builder_remove_opt(b, ZCOAP_OPT_BLOCK1);
    zcoap_builder_remove_opt(b, ZCOAP_OPT_BLOCK2);
    zcoap_builder_remove_opt(b, ZCOAP_OPT_SIZE1);
    zcoap_builder_remove_opt(b, ZCOAP_OPT_SIZE2);
    ptrdiff_t len = zcoap_builder_finish(b);
    if (len < 0)
        return (int)len;

    uint8_t *tmpl = t->tmpl;
    size_t tmpl_cap = t->tmpl_cap;
    memset(t, 0, sizeof(*t));
    t->tmpl = tmpl;
    t->tmpl_cap = tmpl_cap;
    t->tmpl_len = (size_t)tmpl_len;
    t->p = *params;
    t->type = req.type;
    t->method = req.code;
    t->szx2 = params->block2_szx;
    t->block2_ask = params->block2_szx != ZCOAP_TRANSFER_SZX_AUTO;
    t->first_request = true;
    /* Kept for a repeat of the first request (a 4.01 with Echo): the template has no Observe. */
    t->first_observe = zcoap_msg_get_uint(&req, ZCOAP_OPT_OBSERVE, &t->observe_val) == ZCOAP_OK;

    if (params->body_len > 0) {
        size_t room = b->cap > (size_t)len + 1 ? b->cap - (size_t)len - 1 : 0;
        int fit = largest_szx(room > BLOCK_OPTIONS_ROOM ? room - BLOCK_OPTIONS_ROOM : 0);
        if (fit < 0)
            return ZCOAP_ENOSPC;
        t->szx1 = params->block1_szx != ZCOAP_TRANSFER_SZX_AUTO && params->block1_szx < (uint8_t)fit
                      ? params->block1_szx
                      : (uint8_t)fit;
        /* Block1 only when the body is larger than one block (§2.5, late negotiation); with
         * AUTO that is 1024 bytes at most, the payload RFC 7252 §4.6 expects to get through. */
        t->body_whole = params->body_len <= zcoap_block_size(t->szx1);
        t->block1_used = !t->body_whole;
        t->phase = ZCOAP__TRANSFER_UPLOAD;
    } else {
        t->phase = ZCOAP__TRANSFER_DOWNLOAD;
    }
    rc = add_request_parts(t, b);
    if (rc != ZCOAP_OK) {
        t->phase = ZCOAP__TRANSFER_IDLE;
        return rc;
    }
    t->in_flight = true;
    return ZCOAP_OK;
}

int zcoap_transfer_build(zcoap_transfer_t *t, zcoap_builder_t *b)
{
    if (t == NULL || b == NULL)
        return ZCOAP_EINVAL;
    if (t->phase == ZCOAP__TRANSFER_IDLE || !t->next_due)
        return ZCOAP_ESTATE;
    zcoap_msg_t req;
    int rc = parse_builder(b, &req);
    if (rc != ZCOAP_OK)
        return rc;
    if (req.code != t->method || req.opt_count > 0 || req.payload_len > 0)
        return ZCOAP_EINVAL;
    zcoap_msg_t tmpl;
    rc = zcoap_msg_parse(&tmpl, t->tmpl, t->tmpl_len);
    if (rc == ZCOAP_OK)
        rc = copy_options(&tmpl, b);
    /* The first request again (after a 4.01 with Echo): its registration too (RFC 7641 §2). */
    if (rc == ZCOAP_OK && t->first_request && t->first_observe)
        rc = zcoap_builder_add_uint(b, ZCOAP_OPT_OBSERVE, t->observe_val);
    if (rc == ZCOAP_OK)
        rc = add_request_parts(t, b);
    if (rc != ZCOAP_OK)
        return rc;
    t->next_due = false;
    t->in_flight = true;
    return ZCOAP_OK;
}

static zcoap_transfer_action_t finish(zcoap_transfer_t *t, zcoap_transfer_step_t *out,
                                      zcoap_transfer_action_t action, int error)
{
    out->action = action;
    out->error = error;
    out->uploaded = t->sent;
    if (action == ZCOAP_TRANSFER_NEXT) {
        t->next_due = true;
    } else {
        t->phase = ZCOAP__TRANSFER_IDLE;
        t->next_due = false;
    }
    return action;
}

/* A 2.31 Continue, or a 4.13 asking for smaller blocks, to a block of the body. Returns true
 * when it decided the step (false: the response is the final one). */
static bool upload_step(zcoap_transfer_t *t, const zcoap_msg_t *resp, zcoap_transfer_step_t *out)
{
    zcoap_block_t blk;
    bool has_blk = zcoap_msg_get_block(resp, ZCOAP_OPT_BLOCK1, &blk) == ZCOAP_OK;
    if (resp->code == ZCOAP_CONTINUE) {
        bool last = t->sent + t->block1_len >= t->p.body_len;
        if (!t->block1_used || !has_blk || blk.num != t->block1_num || last) {
            finish(t, out, ZCOAP_TRANSFER_FAILED, ZCOAP_EPROTO);
            return true;
        }
        t->sent += t->block1_len;
        /* §2.3: the rest of the body in the server's smaller size, its NUM counted in it. */
        if (blk.szx < t->szx1)
            t->szx1 = blk.szx;
        finish(t, out, ZCOAP_TRANSFER_NEXT, ZCOAP_OK);
        return true;
    }
    /* §2.9.3: a 4.13 with Block1 names the size the server takes: the body again from its
     * start in that size. SZX only goes down, so this ends. */
    if (resp->code == ZCOAP_REQUEST_ENTITY_TOO_LARGE && has_blk &&
        (!t->block1_used || blk.szx < t->szx1)) {
        t->block1_used = true;
        t->body_whole = false;
        t->szx1 = blk.szx;
        t->sent = 0;
        finish(t, out, ZCOAP_TRANSFER_NEXT, ZCOAP_OK);
        return true;
    }
    if (ZCOAP_CODE_CLASS(resp->code) == 2)
        t->sent += t->block1_len;
    return false;
}

static bool same_etag(const zcoap_transfer_t *t, const zcoap_msg_t *resp)
{
    zcoap_opt_t o;
    bool has = zcoap_msg_find_opt(resp, ZCOAP_OPT_ETAG, &o) && o.len <= sizeof(t->etag);
    if (!has)
        return t->etag_len == 0;
    return o.len == t->etag_len && memcmp(o.val, t->etag, o.len) == 0;
}

static void keep_etag(zcoap_transfer_t *t, const zcoap_msg_t *resp)
{
    zcoap_opt_t o;
    t->etag_len = 0;
    if (zcoap_msg_find_opt(resp, ZCOAP_OPT_ETAG, &o) && o.len <= sizeof(t->etag)) {
        memcpy(t->etag, o.val, o.len);
        t->etag_len = (uint8_t)o.len;
    }
    t->etag_known = true;
}

/* A 2.xx carrying Block2: hand over its slice and ask for the next block while M is set. */
static void download_step(zcoap_transfer_t *t, const zcoap_msg_t *resp, const zcoap_block_t *blk,
                          zcoap_transfer_step_t *out)
{
    t->phase = ZCOAP__TRANSFER_DOWNLOAD;
    if (!t->etag_known) {
        keep_etag(t, resp);
    } else if (!same_etag(t, resp)) {
        bool may_restart = t->p.restart_on_etag_change && !t->block1_used &&
                           zcoap_method_is_safe(t->method) && !t->p.block2_single &&
                           t->restarts < ZCOAP_TRANSFER_MAX_RESTARTS;
        if (!may_restart) {
            finish(t, out, ZCOAP_TRANSFER_FAILED, ZCOAP_ECHANGED);
            return;
        }
        t->restarts++;
        t->received = 0;
        t->etag_known = false;
        t->block2_ask = true;
        if (t->szx2 == ZCOAP_TRANSFER_SZX_AUTO)
            t->szx2 = blk->szx;
        out->restarted = true;
        finish(t, out, ZCOAP_TRANSFER_NEXT, ZCOAP_OK);
        return;
    }
    uint32_t size = zcoap_block_size(blk->szx);
    uint64_t offset = (uint64_t)blk->num * size;
    if (t->p.block2_single) {
        out->data = resp->payload;
        out->len = resp->payload_len;
        out->offset = (size_t)offset;
        finish(t, out, ZCOAP_TRANSFER_DONE, ZCOAP_OK);
        return;
    }
    /* The block asked for starts at t->received (a smaller server size may make its start
     * earlier only if the server broke §2.4); a full block unless it is the last. */
    if (offset > t->received || offset + resp->payload_len < t->received ||
        (blk->more && (resp->payload_len != size || offset + size == t->received))) {
        finish(t, out, ZCOAP_TRANSFER_FAILED, ZCOAP_EPROTO);
        return;
    }
    size_t skip = t->received - (size_t)offset;
    out->data = resp->payload != NULL ? resp->payload + skip : NULL;
    out->len = resp->payload_len - skip;
    out->offset = t->received;
    t->received += out->len;
    if (!blk->more) {
        finish(t, out, ZCOAP_TRANSFER_DONE, ZCOAP_OK);
        return;
    }
    if (t->szx2 == ZCOAP_TRANSFER_SZX_AUTO || blk->szx < t->szx2)
        t->szx2 = blk->szx;
    t->block2_ask = true;
    if (t->received / zcoap_block_size(t->szx2) > BLOCK_NUM_MAX) {
        finish(t, out, ZCOAP_TRANSFER_FAILED, ZCOAP_ERANGE);
        return;
    }
    finish(t, out, ZCOAP_TRANSFER_NEXT, ZCOAP_OK);
}

/* RFC 9175 §2.3: keep the response's Echo value for the next request; a 4.01 Unauthorized with
 * Echo asks for the same request again with it. Once: a second one in a row is final, so a
 * server that never takes the value cannot make the transfer loop. Returns true when it decided
 * the step (the repeat). */
static bool echo_step(zcoap_transfer_t *t, const zcoap_msg_t *resp, zcoap_transfer_step_t *out)
{
    zcoap_opt_t o;
    bool has_echo = zcoap_msg_find_opt(resp, ZCOAP_OPT_ECHO, &o) && o.len >= 1 &&
                    o.len <= ZCOAP_TRANSFER_ECHO_MAX;
    bool repeated = t->echo_retried;
    t->echo_retried = false;
    t->echo_len = 0;
    if (has_echo) {
        memcpy(t->echo, o.val, o.len);
        t->echo_len = (uint8_t)o.len;
    }
    if (resp->code != ZCOAP_UNAUTHORIZED || !has_echo || repeated)
        return false;
    /* Nothing moved: the same block (and body bytes) go again, the first request with what
     * only the first carries (Observe, Size2). */
    t->echo_retried = true;
    t->first_request = t->sent_first;
    out->echo_retry = true;
    finish(t, out, ZCOAP_TRANSFER_NEXT, ZCOAP_OK);
    return true;
}

int zcoap_transfer_response(zcoap_transfer_t *t, const zcoap_msg_t *resp,
                            zcoap_transfer_step_t *out)
{
    if (t == NULL || resp == NULL || out == NULL)
        return ZCOAP_EINVAL;
    if (t->phase == ZCOAP__TRANSFER_IDLE || !t->in_flight)
        return ZCOAP_ESTATE;
    t->in_flight = false;
    memset(out, 0, sizeof(*out));
    uint32_t size2 = 0;
    if (zcoap_msg_get_uint(resp, ZCOAP_OPT_SIZE2, &size2) == ZCOAP_OK)
        out->size2 = size2;
    if (echo_step(t, resp, out))
        return ZCOAP_OK;

    if (t->phase == ZCOAP__TRANSFER_UPLOAD && upload_step(t, resp, out))
        return ZCOAP_OK;

    if (resp->code == ZCOAP_CONTINUE) {
        /* 2.31 answers a Block1 block only (§2.9.1); none is in flight. */
        finish(t, out, ZCOAP_TRANSFER_FAILED, ZCOAP_EPROTO);
        return ZCOAP_OK;
    }
    zcoap_block_t blk;
    int blk_rc = zcoap_msg_get_block(resp, ZCOAP_OPT_BLOCK2, &blk);
    if (ZCOAP_CODE_CLASS(resp->code) == 2 && blk_rc == ZCOAP_OK) {
        download_step(t, resp, &blk, out);
        return ZCOAP_OK;
    }
    if (ZCOAP_CODE_CLASS(resp->code) == 2 && (blk_rc != ZCOAP_ENOTFOUND || t->received > 0)) {
        /* A malformed Block2, or a follow-up answered without Block2. */
        finish(t, out, ZCOAP_TRANSFER_FAILED, ZCOAP_EPROTO);
        return ZCOAP_OK;
    }
    /* The final response: the whole representation, or an error with its diagnostic. */
    out->data = resp->payload;
    out->len = resp->payload_len;
    out->offset = 0;
    finish(t, out, ZCOAP_TRANSFER_DONE, ZCOAP_OK);
    return ZCOAP_OK;
}
