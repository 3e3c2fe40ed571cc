/**
 * @file msg_inline.h
 * @brief Inline definitions of the codec's per-option hot path (included by msg.h; do not include
 *        it directly).
 *
 * zcoap_opt_iter_next() and zcoap_builder_add_opt() run once per option of every message, so
 * they are C11 inline definitions: the compiler can fold constant option numbers and lengths into
 * the caller, while src/msg_inline.c still emits ordinary external definitions for callers that
 * do not inline (and for bindings that need a symbol). Everything named zcoap__* is internal and
 * may change between versions.
 */
#ifndef ZCOAP_MSG_INLINE_H
#define ZCOAP_MSG_INLINE_H

#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 7252 §3.1: an option delta or length of 13 or more needs extended bytes. */
#define ZCOAP__EXT8_BASE 13u
#define ZCOAP__EXT16_BASE 269u
/* Longest encodable option value: 2-byte extended length 65535 + 269. */
#define ZCOAP__OPT_MAX_LEN (65535u + 269u)
/* Options numbered below this are found by direct index in the table of known options. */
#define ZCOAP__OPT_DIRECT 64u

/* Known options 0..63 indexed by number (name NULL: unknown); defined in src/msg_opt.c. */
extern const zcoap_opt_def_t zcoap__opt_defs_direct[ZCOAP__OPT_DIRECT];

/* A decoded option header. */
typedef struct zcoap__opt_hdr {
    uint32_t delta;
    uint32_t len;
    size_t hdr_len; /* bytes of the header itself */
} zcoap__opt_hdr_t;

/* Bytes taken by one extended field for a delta or length value. */
inline size_t zcoap__ext_size(uint32_t v)
{
    return v < ZCOAP__EXT8_BASE ? 0u : (v < ZCOAP__EXT16_BASE ? 1u : 2u);
}

/* Bytes taken by an option header (the nibble byte plus extended fields). */
inline size_t zcoap__opt_hdr_size(uint32_t delta, uint32_t len)
{
    return 1u + zcoap__ext_size(delta) + zcoap__ext_size(len);
}

/* Decode one extended field; nibble is 0-14. Returns the value, or -1 when the extended bytes run
 * past end. */
inline int32_t zcoap__ext_decode(uint32_t nibble, const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    if (nibble < 13u)
        return (int32_t)nibble;
    if (nibble == 13u) {
        if (p >= end)
            return -1;
        *pp = p + 1;
        return (int32_t)(p[0] + ZCOAP__EXT8_BASE);
    }
    if (end - p < 2)
        return -1;
    *pp = p + 2;
    return (int32_t)((((uint32_t)p[0] << 8) | p[1]) + ZCOAP__EXT16_BASE);
}

/* Decode the option header at p (p < end, *p is not the payload marker). Returns 0, or -1 if it
 * runs past end or uses the reserved nibble 15. */
inline int zcoap__opt_hdr_decode(const uint8_t *p, const uint8_t *end, zcoap__opt_hdr_t *out)
{
    const uint8_t *start = p;
    uint32_t delta_nibble = (uint32_t)(p[0] >> 4);
    uint32_t len_nibble = (uint32_t)(p[0] & 0x0Fu);
    if (delta_nibble == 15u || len_nibble == 15u)
        return -1;
    p++;
    int32_t delta = zcoap__ext_decode(delta_nibble, &p, end);
    if (delta < 0)
        return -1;
    int32_t len = zcoap__ext_decode(len_nibble, &p, end);
    if (len < 0)
        return -1;
    out->delta = (uint32_t)delta;
    out->len = (uint32_t)len;
    out->hdr_len = (size_t)(p - start);
    return 0;
}

inline uint8_t zcoap__nibble_of(uint32_t v)
{
    return (uint8_t)(v < ZCOAP__EXT8_BASE ? v : (v < ZCOAP__EXT16_BASE ? 13u : 14u));
}

inline size_t zcoap__ext_write(uint8_t *p, uint32_t v)
{
    if (v < ZCOAP__EXT8_BASE)
        return 0;
    if (v < ZCOAP__EXT16_BASE) {
        p[0] = (uint8_t)(v - ZCOAP__EXT8_BASE);
        return 1;
    }
    v -= ZCOAP__EXT16_BASE;
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return 2;
}

/* Write an option header at p (room for zcoap__opt_hdr_size bytes); returns bytes written. */
inline size_t zcoap__opt_hdr_write(uint8_t *p, uint32_t delta, uint32_t len)
{
    size_t n = 1;
    p[0] = (uint8_t)((zcoap__nibble_of(delta) << 4) | zcoap__nibble_of(len));
    n += zcoap__ext_write(p + n, delta);
    n += zcoap__ext_write(p + n, len);
    return n;
}

/* RFC 7252 §5.4.3 on the sending side: a known option's length must be inside its bounds. */
inline bool zcoap__opt_len_ok(uint16_t num, size_t len)
{
    const zcoap_opt_def_t *def =
        num < ZCOAP__OPT_DIRECT ? &zcoap__opt_defs_direct[num] : zcoap_opt_def(num);
    if (def == NULL || def->name == NULL)
        return len <= ZCOAP__OPT_MAX_LEN;
    return len >= def->min_len && len <= def->max_len;
}

/* Slow path of zcoap_builder_add_opt (out of order, or a payload to move); in msg_build.c. */
int zcoap__builder_add_opt_slow(zcoap_builder_t *b, uint16_t num, const void *val, size_t len);

inline void zcoap_opt_iter_init(zcoap_opt_iter_t *it, const zcoap_msg_t *msg)
{
    it->pos = msg->opts;
    it->end = msg->opts + msg->opts_len;
    it->num = 0;
}

inline int zcoap_opt_uint(const zcoap_opt_t *opt, uint32_t *out)
{
    if (opt == NULL || out == NULL)
        return ZCOAP_EINVAL;
    if (opt->len > 4)
        return ZCOAP_EOPT_LENGTH;
    uint32_t v = 0;
    for (uint32_t i = 0; i < opt->len; i++)
        v = (v << 8) | opt->val[i];
    *out = v;
    return ZCOAP_OK;
}

/* Out-of-line part of zcoap_opt_iter_next: extended delta/length fields; in msg_opt.c. */
bool zcoap__opt_iter_next_ext(zcoap_opt_iter_t *it, zcoap_opt_t *opt);

inline bool zcoap_opt_iter_next(zcoap_opt_iter_t *it, zcoap_opt_t *opt)
{
    const uint8_t *p = it->pos;
    if (p >= it->end)
        return false;
    uint32_t delta = (uint32_t)(p[0] >> 4);
    uint32_t len = (uint32_t)(p[0] & 0x0Fu);
    /* Short options (delta and length under 13) are the common case and need one byte. The
     * checks only keep a misused iterator (a view that did not parse) inside its bounds. */
    if (delta >= ZCOAP__EXT8_BASE || len >= ZCOAP__EXT8_BASE || (size_t)(it->end - p) - 1u < len ||
        it->num + delta > 0xFFFFu)
        return zcoap__opt_iter_next_ext(it, opt);
    it->num = (uint16_t)(it->num + delta);
    opt->num = it->num;
    opt->len = len;
    opt->val = p + 1;
    it->pos = p + 1 + len;
    return true;
}

inline int zcoap_builder_add_opt(zcoap_builder_t *b, uint16_t num, const void *val, size_t len)
{
    if (b == NULL || b->err != ZCOAP_OK || !(num >= b->last_num && b->len == b->opts_end) ||
        num == 0 || (val == NULL && len > 0) || !zcoap__opt_len_ok(num, len))
        return zcoap__builder_add_opt_slow(b, num, val, len); /* also reports every error */
    /* The common case: in order, no payload yet. last_num is 0 while there are no options, so
     * the delta is right for the first option too. */
    uint32_t delta = (uint32_t)(num - b->last_num);
    size_t need = zcoap__opt_hdr_size(delta, (uint32_t)len) + len;
    if (need > b->cap - b->len)
        return zcoap__builder_add_opt_slow(b, num, val, len);
    uint8_t *p = b->buf + b->len;
    p += zcoap__opt_hdr_write(p, delta, (uint32_t)len);
    if (len > 0)
        memcpy(p, val, len);
    b->len += need;
    b->opts_end = b->len;
    b->last_num = num;
    return ZCOAP_OK;
}

inline int zcoap_builder_add_uint(zcoap_builder_t *b, uint16_t num, uint32_t value)
{
    /* RFC 7252 §3.2: the shortest big-endian form; 0 is the empty value. */
    uint8_t bytes[4];
    size_t n = value == 0           ? 0u
               : value <= 0xFFu     ? 1u
               : value <= 0xFFFFu   ? 2u
               : value <= 0xFFFFFFu ? 3u
                                    : 4u;
    for (size_t i = 0; i < n; i++)
        bytes[i] = (uint8_t)(value >> (8u * (n - 1u - i)));
    return zcoap_builder_add_opt(b, num, bytes, n);
}

#ifdef __cplusplus
}
#endif

#endif /* ZCOAP_MSG_INLINE_H */
