/* The builder: a message written in place into a caller buffer, options kept sorted. */
#include <string.h>

#include "msg_internal.h"
#include "zcoap/msg.h"

static inline int fail(zcoap_builder_t *b, int err)
{
    if (b->err == ZCOAP_OK)
        b->err = err;
    return err;
}

/* RFC 7252 §12.1: classes 1, 6 and 7 are reserved; the parser refuses them, so never send one. */
static inline bool code_is_reserved(uint8_t code)
{
    unsigned cls = ZCOAP_CODE_CLASS(code);
    return cls == 1u || cls == 6u || cls == 7u;
}

static inline size_t token_len_of(const zcoap_builder_t *b)
{
    return (size_t)(b->buf[0] & 0x0Fu);
}

int zcoap_builder_init(zcoap_builder_t *b, uint8_t *buf, size_t cap, uint8_t type, uint8_t code,
                       uint16_t mid, const uint8_t *token, size_t token_len)
{
    if (b == NULL)
        return ZCOAP_EINVAL;
    b->buf = buf;
    b->cap = cap;
    b->len = b->opts_start = b->opts_end = 0;
    b->last_num = 0;
    b->err = ZCOAP_OK;
    if (buf == NULL || type > ZCOAP_TYPE_RST || token_len > ZCOAP_MAX_TOKEN_LEN ||
        (token == NULL && token_len > 0) ||
        (code == ZCOAP_CODE_EMPTY && token_len > 0) || /* §4.1: Empty is the header alone */
        code_is_reserved(code))
        return fail(b, ZCOAP_EINVAL);
    if (cap < 4 + token_len)
        return fail(b, ZCOAP_ENOSPC);
    buf[0] = (uint8_t)((ZCOAP_VERSION_1 << 6) | ((unsigned)type << 4) | token_len);
    buf[1] = code;
    buf[2] = (uint8_t)(mid >> 8);
    buf[3] = (uint8_t)mid;
    for (size_t i = 0; i < token_len; i++) /* at most 8 bytes: cheaper than a memcpy call */
        buf[4 + i] = token[i];
    b->len = b->opts_start = b->opts_end = 4 + token_len;
    return ZCOAP_OK;
}

int zcoap_builder_init_response(zcoap_builder_t *b, uint8_t *buf, size_t cap,
                                const zcoap_msg_t *req, uint8_t code, uint16_t mid)
{
    if (req == NULL) {
        if (b != NULL)
            memset(b, 0, sizeof(*b));
        return b == NULL ? ZCOAP_EINVAL : fail(b, ZCOAP_EINVAL);
    }
    /* RFC 7252 §5.2.1: a CON request is answered piggybacked in the ACK (same MID);
     * §5.2.3: a NON request by a NON response with a fresh MID. */
    bool piggybacked = req->type == ZCOAP_TYPE_CON;
    return zcoap_builder_init(b, buf, cap, piggybacked ? ZCOAP_TYPE_ACK : ZCOAP_TYPE_NON, code,
                              piggybacked ? req->mid : mid, req->token, req->token_len);
}

/* Header of an option in the builder's own region, which is always well formed (written here, or
 * copied from a view zcoap_msg_parse validated). Should it ever not be, the header swallows the
 * rest of the region so that every walk still ends. */
static inline zcoap__opt_hdr_t own_hdr(const uint8_t *p, const uint8_t *end)
{
    zcoap__opt_hdr_t h = {0, 0, 0};
    if (zcoap__opt_hdr_decode(p, end, &h) != 0 || (size_t)(end - p) - h.hdr_len < h.len) {
        h.delta = 0;
        h.len = 0;
        h.hdr_len = (size_t)(end - p);
    }
    return h;
}

static uint16_t last_opt_num(const uint8_t *p, const uint8_t *end)
{
    uint32_t num = 0;
    while (p < end) {
        zcoap__opt_hdr_t h = own_hdr(p, end);
        num += h.delta;
        p += h.hdr_len + h.len;
    }
    return (uint16_t)num;
}

int zcoap_builder_init_copy(zcoap_builder_t *b, uint8_t *buf, size_t cap, const zcoap_msg_t *msg)
{
    if (msg == NULL || msg->token_len > ZCOAP_MAX_TOKEN_LEN) {
        if (b != NULL)
            memset(b, 0, sizeof(*b));
        return b == NULL ? ZCOAP_EINVAL : fail(b, ZCOAP_EINVAL);
    }
    int rc =
        zcoap_builder_init(b, buf, cap, msg->type, msg->code, msg->mid, msg->token, msg->token_len);
    if (rc != ZCOAP_OK)
        return rc;
    if (msg->opts_len > cap - b->len)
        return fail(b, ZCOAP_ENOSPC);
    if (msg->opts_len > 0)
        memcpy(buf + b->len, msg->opts, msg->opts_len);
    b->len += msg->opts_len;
    b->opts_end = b->len;
    b->last_num = last_opt_num(buf + b->opts_start, buf + b->opts_end);
    return ZCOAP_OK;
}

int zcoap_builder_set_type(zcoap_builder_t *b, uint8_t type)
{
    if (b == NULL)
        return ZCOAP_EINVAL;
    if (b->err != ZCOAP_OK)
        return b->err;
    if (type > ZCOAP_TYPE_RST)
        return fail(b, ZCOAP_EINVAL);
    b->buf[0] = (uint8_t)((b->buf[0] & 0xCFu) | (unsigned)(type << 4));
    return ZCOAP_OK;
}

int zcoap_builder_set_code(zcoap_builder_t *b, uint8_t code)
{
    if (b == NULL)
        return ZCOAP_EINVAL;
    if (b->err != ZCOAP_OK)
        return b->err;
    if (code_is_reserved(code))
        return fail(b, ZCOAP_EINVAL);
    b->buf[1] = code;
    return ZCOAP_OK;
}

int zcoap_builder_set_mid(zcoap_builder_t *b, uint16_t mid)
{
    if (b == NULL)
        return ZCOAP_EINVAL;
    if (b->err != ZCOAP_OK)
        return b->err;
    b->buf[2] = (uint8_t)(mid >> 8);
    b->buf[3] = (uint8_t)mid;
    return ZCOAP_OK;
}

/* Move the bytes [at, len) to at + grow (grow may be negative), checking the capacity. */
static int shift_tail(zcoap_builder_t *b, size_t at, ptrdiff_t grow)
{
    if (grow > 0 && (size_t)grow > b->cap - b->len)
        return fail(b, ZCOAP_ENOSPC);
    memmove(b->buf + (ptrdiff_t)at + grow, b->buf + at, b->len - at);
    b->len = (size_t)((ptrdiff_t)b->len + grow);
    return ZCOAP_OK;
}

int zcoap_builder_set_token(zcoap_builder_t *b, const uint8_t *token, size_t token_len)
{
    if (b == NULL)
        return ZCOAP_EINVAL;
    if (b->err != ZCOAP_OK)
        return b->err;
    if (token_len > ZCOAP_MAX_TOKEN_LEN || (token == NULL && token_len > 0))
        return fail(b, ZCOAP_EINVAL);
    size_t old = token_len_of(b);
    ptrdiff_t grow = (ptrdiff_t)token_len - (ptrdiff_t)old;
    if (shift_tail(b, 4 + old, grow) != ZCOAP_OK)
        return b->err;
    if (token_len > 0)
        memcpy(b->buf + 4, token, token_len);
    b->buf[0] = (uint8_t)((b->buf[0] & 0xF0u) | token_len);
    b->opts_start = (size_t)((ptrdiff_t)b->opts_start + grow);
    b->opts_end = (size_t)((ptrdiff_t)b->opts_end + grow);
    return ZCOAP_OK;
}

/* Open a slot for an option value of len bytes numbered num, keeping options sorted and after
 * any others with the same number (RFC 7252 §3.1 needs ascending order; repeats keep their
 * order). Returns the slot, or NULL with b->err set. */
static uint8_t *insert_opt(zcoap_builder_t *b, uint16_t num, uint32_t len)
{
    if (num >= b->last_num) {
        /* Appending after the last option; a payload follows and moves. */
        uint32_t delta = (uint32_t)(num - b->last_num);
        size_t need = zcoap__opt_hdr_size(delta, len) + len;
        size_t at = b->opts_end;
        if (b->len > at) { /* a payload follows: move it */
            if (shift_tail(b, at, (ptrdiff_t)need) != ZCOAP_OK)
                return NULL;
        } else {
            if (need > b->cap - b->len) {
                fail(b, ZCOAP_ENOSPC);
                return NULL;
            }
            b->len += need;
        }
        size_t h = zcoap__opt_hdr_write(b->buf + at, delta, len);
        b->opts_end += need;
        b->last_num = num;
        return b->buf + at + h;
    }

    /* Inserting before a higher-numbered option, whose delta then shrinks. */
    uint8_t *p = b->buf + b->opts_start;
    const uint8_t *end = b->buf + b->opts_end;
    uint32_t prev = 0;
    zcoap__opt_hdr_t next;
    for (;;) {
        next = own_hdr(p, end);
        if (prev + next.delta > num || p + next.hdr_len + next.len >= end)
            break; /* found the first option numbered above num (the last one, at worst) */
        prev += next.delta;
        p += next.hdr_len + next.len;
    }
    uint32_t next_num = prev + next.delta;
    size_t new_hdr = zcoap__opt_hdr_size(num - prev, len);
    size_t next_hdr = zcoap__opt_hdr_size(next_num - num, next.len);
    ptrdiff_t grow = (ptrdiff_t)(new_hdr + len + next_hdr) - (ptrdiff_t)next.hdr_len;
    size_t at = (size_t)(p - b->buf);
    /* Move the next option's value and everything after it; its header is rewritten. */
    if (shift_tail(b, at + next.hdr_len, grow) != ZCOAP_OK)
        return NULL;
    p = b->buf + at;
    zcoap__opt_hdr_write(p, num - prev, len);
    zcoap__opt_hdr_write(p + new_hdr + len, next_num - num, next.len);
    b->opts_end = (size_t)((ptrdiff_t)b->opts_end + grow);
    return p + new_hdr;
}

int zcoap__builder_add_opt_slow(zcoap_builder_t *b, uint16_t num, const void *val, size_t len)
{
    if (b == NULL)
        return ZCOAP_EINVAL;
    if (b->err != ZCOAP_OK)
        return b->err;
    if ((val == NULL && len > 0) || num == 0) /* option number 0 is reserved (§12.2) */
        return fail(b, ZCOAP_EINVAL);
    if (!zcoap__opt_len_ok(num, len))
        return fail(b, ZCOAP_EOPT_LENGTH);
    uint8_t *slot = insert_opt(b, num, (uint32_t)len);
    if (slot == NULL)
        return b->err;
    if (len > 0)
        memcpy(slot, val, len);
    return ZCOAP_OK;
}

int zcoap_builder_add_empty(zcoap_builder_t *b, uint16_t num)
{
    return zcoap_builder_add_opt(b, num, NULL, 0);
}

int zcoap_builder_add_str(zcoap_builder_t *b, uint16_t num, const char *s)
{
    if (s == NULL)
        return b == NULL ? ZCOAP_EINVAL : fail(b, ZCOAP_EINVAL);
    return zcoap_builder_add_opt(b, num, s, strlen(s));
}

int zcoap_builder_add_block(zcoap_builder_t *b, uint16_t num, const zcoap_block_t *block)
{
    if (b == NULL)
        return ZCOAP_EINVAL;
    if (block == NULL || block->num >= (1u << 20) || block->szx > 6)
        return fail(b, ZCOAP_EINVAL);
    return zcoap_builder_add_uint(b, num,
                                  (block->num << 4) | (block->more ? 0x8u : 0u) | block->szx);
}

/* Remove the option at p (header h); the following option's delta absorbs h's. */
static void remove_opt_at(zcoap_builder_t *b, uint8_t *p, const zcoap__opt_hdr_t *h)
{
    size_t at = (size_t)(p - b->buf);
    size_t removed_end = at + h->hdr_len + h->len;
    size_t src = removed_end; /* first byte kept after the removed option */
    size_t dst = at;
    if (removed_end < b->opts_end) {
        zcoap__opt_hdr_t next = own_hdr(b->buf + removed_end, b->buf + b->opts_end);
        uint32_t delta = h->delta + next.delta;
        /* The next header gains at most what the removed header held (its delta was at least
         * as large as the growth), so dst never passes src. */
        dst = at + zcoap__opt_hdr_size(delta, next.len);
        src = removed_end + next.hdr_len;
        memmove(b->buf + dst, b->buf + src, b->len - src);
        zcoap__opt_hdr_write(b->buf + at, delta, next.len);
    } else {
        memmove(b->buf + dst, b->buf + src, b->len - src);
    }
    b->len -= src - dst;
    b->opts_end -= src - dst;
}

int zcoap_builder_remove_opt(zcoap_builder_t *b, uint16_t num)
{
    if (b == NULL)
        return ZCOAP_EINVAL;
    if (b->err != ZCOAP_OK)
        return b->err;
    uint8_t *p = b->buf + b->opts_start;
    uint32_t cur = 0;
    while (p < b->buf + b->opts_end) {
        zcoap__opt_hdr_t h = own_hdr(p, b->buf + b->opts_end);
        if (cur + h.delta == num) {
            remove_opt_at(b, p, &h); /* p now holds the next option, if any */
            continue;
        }
        cur += h.delta;
        if (cur > num)
            break;
        p += h.hdr_len + h.len;
    }
    b->last_num = last_opt_num(b->buf + b->opts_start, b->buf + b->opts_end);
    return ZCOAP_OK;
}

int zcoap_builder_set_payload(zcoap_builder_t *b, const void *data, size_t len)
{
    if (b == NULL)
        return ZCOAP_EINVAL;
    if (b->err != ZCOAP_OK)
        return b->err;
    if (data == NULL && len > 0)
        return fail(b, ZCOAP_EINVAL);
    b->len = b->opts_end; /* drop any previous payload and its marker */
    if (len == 0)
        return ZCOAP_OK; /* RFC 7252 §3: no marker without payload */
    if (len >= b->cap - b->len)
        return fail(b, ZCOAP_ENOSPC);
    b->buf[b->len] = ZCOAP_PAYLOAD_MARKER;
    memcpy(b->buf + b->len + 1, data, len);
    b->len += 1 + len;
    return ZCOAP_OK;
}

uint8_t *zcoap_builder_payload_ptr(zcoap_builder_t *b, size_t *avail)
{
    if (avail != NULL)
        *avail = 0;
    if (b == NULL || avail == NULL || b->err != ZCOAP_OK)
        return NULL;
    b->len = b->opts_end;
    if (b->cap - b->len < 2) {
        fail(b, ZCOAP_ENOSPC); /* no room for a marker and one byte: the payload is lost */
        return NULL;
    }
    *avail = b->cap - b->len - 1;
    return b->buf + b->len + 1;
}

int zcoap_builder_commit_payload(zcoap_builder_t *b, size_t len)
{
    if (b == NULL)
        return ZCOAP_EINVAL;
    if (b->err != ZCOAP_OK)
        return b->err;
    b->len = b->opts_end;
    if (len == 0)
        return ZCOAP_OK;
    if (len >= b->cap - b->len)
        return fail(b, ZCOAP_ENOSPC);
    /* The marker goes in last, so the payload written at payload_ptr() stays in place. */
    b->buf[b->len] = ZCOAP_PAYLOAD_MARKER;
    b->len += 1 + len;
    return ZCOAP_OK;
}

ptrdiff_t zcoap_builder_finish(const zcoap_builder_t *b)
{
    if (b == NULL)
        return ZCOAP_EINVAL;
    if (b->err != ZCOAP_OK)
        return b->err;
    /* RFC 7252 §4.1, §4.3: an Empty message is the 4-byte header alone and never NON. */
    if (b->buf[1] == ZCOAP_CODE_EMPTY &&
        (b->len != 4 || ((b->buf[0] >> 4) & 0x03u) == ZCOAP_TYPE_NON))
        return ZCOAP_EINVAL;
    return (ptrdiff_t)b->len;
}

ptrdiff_t zcoap_build_empty(uint8_t *buf, size_t cap, uint8_t type, uint16_t mid)
{
    if (buf == NULL || type > ZCOAP_TYPE_RST || type == ZCOAP_TYPE_NON) /* §4.3: never NON */
        return ZCOAP_EINVAL;
    if (cap < 4)
        return ZCOAP_ENOSPC;
    buf[0] = (uint8_t)((ZCOAP_VERSION_1 << 6) | ((unsigned)type << 4));
    buf[1] = ZCOAP_CODE_EMPTY;
    buf[2] = (uint8_t)(mid >> 8);
    buf[3] = (uint8_t)mid;
    return 4;
}
