/* Parsing: one pass over the datagram validates everything, so later option walks cannot fail. */
#include <string.h>

#include "msg_internal.h"
#include "zcoap/msg.h"

/* Decode one extended field (RFC 7252 §3.1). nibble is 0-14. Returns the value, or -1 when the
 * extended bytes run past end. */
static inline int32_t decode_ext(uint32_t nibble, const uint8_t **pp, const uint8_t *end)
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

int zcoap__opt_hdr_decode(const uint8_t *p, const uint8_t *end, zcoap__opt_hdr_t *out)
{
    const uint8_t *start = p;
    uint32_t delta_nibble = (uint32_t)(p[0] >> 4);
    uint32_t len_nibble = (uint32_t)(p[0] & 0x0Fu);
    if (delta_nibble == 15u || len_nibble == 15u)
        return -1;
    p++;
    int32_t delta = decode_ext(delta_nibble, &p, end);
    if (delta < 0)
        return -1;
    int32_t len = decode_ext(len_nibble, &p, end);
    if (len < 0)
        return -1;
    out->delta = (uint32_t)delta;
    out->len = (uint32_t)len;
    out->hdr_len = (size_t)(p - start);
    return 0;
}

static inline size_t write_ext(uint8_t *p, uint32_t v)
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

static inline uint8_t nibble_of(uint32_t v)
{
    return (uint8_t)(v < ZCOAP__EXT8_BASE ? v : (v < ZCOAP__EXT16_BASE ? 13u : 14u));
}

size_t zcoap__opt_hdr_write(uint8_t *p, uint32_t delta, uint32_t len)
{
    size_t n = 1;
    p[0] = (uint8_t)((nibble_of(delta) << 4) | nibble_of(len));
    n += write_ext(p + n, delta);
    n += write_ext(p + n, len);
    return n;
}

/* RFC 7252 §3: walk the options region, checking every length against the end of the datagram,
 * and find the payload. */
static int parse_options(zcoap_msg_t *msg, const uint8_t *p, const uint8_t *end)
{
    uint32_t num = 0;
    size_t count = 0;
    msg->opts = p;
    while (p < end) {
        uint8_t first = *p;
        if (first == ZCOAP_PAYLOAD_MARKER) {
            msg->opts_len = (size_t)(p - msg->opts);
            msg->opt_count = count;
            p++;
            if (p == end)
                return ZCOAP_EMSG_PAYLOAD_EMPTY; /* §3: a marker followed by nothing */
            msg->payload = p;
            msg->payload_len = (size_t)(end - p);
            return ZCOAP_OK;
        }
        uint32_t delta_nibble = (uint32_t)(first >> 4);
        uint32_t len_nibble = (uint32_t)(first & 0x0Fu);
        if (delta_nibble == 15u || len_nibble == 15u)
            return ZCOAP_EMSG_OPT_NIBBLE; /* §3.1: reserved for the payload marker */
        p++;
        int32_t delta = decode_ext(delta_nibble, &p, end);
        if (delta < 0)
            return ZCOAP_EMSG_OPT_EXT_TRUNC;
        int32_t len = decode_ext(len_nibble, &p, end);
        if (len < 0)
            return ZCOAP_EMSG_OPT_EXT_TRUNC;
        if ((size_t)(end - p) < (size_t)len)
            return ZCOAP_EMSG_OPT_VALUE_TRUNC;
        num += (uint32_t)delta;
        if (num > 0xFFFFu)
            return ZCOAP_EMSG_OPT_NUM_OVERFLOW;
        p += len;
        count++;
    }
    msg->opts_len = (size_t)(p - msg->opts);
    msg->opt_count = count;
    return ZCOAP_OK;
}

int zcoap_msg_parse(zcoap_msg_t *msg, const uint8_t *buf, size_t len)
{
    if (msg == NULL || (buf == NULL && len > 0))
        return ZCOAP_EINVAL;
    memset(msg, 0, sizeof(*msg));
    msg->data = buf;
    msg->len = len;
    if (len < 4)
        return ZCOAP_EMSG_SHORT;

    /* Header fields are filled before any further check, so a caller can still answer a
     * malformed CON with RST (RFC 7252 §4.2) and drop a wrong version silently (§3). */
    msg->version = (uint8_t)(buf[0] >> 6);
    msg->type = (uint8_t)((buf[0] >> 4) & 0x03u);
    msg->token_len = (uint8_t)(buf[0] & 0x0Fu);
    msg->code = buf[1];
    msg->mid = (uint16_t)(((unsigned)buf[2] << 8) | buf[3]);

    if (msg->version != ZCOAP_VERSION_1)
        return ZCOAP_EMSG_VERSION;
    if (msg->token_len > ZCOAP_MAX_TOKEN_LEN)
        return ZCOAP_EMSG_TOKEN_LEN; /* §3: lengths 9-15 are reserved */
    unsigned cls = ZCOAP_CODE_CLASS(msg->code);
    if (cls == 1u || cls == 6u || cls == 7u)
        return ZCOAP_EMSG_CODE_CLASS; /* §12.1: reserved classes */
    if (msg->code == ZCOAP_CODE_EMPTY && (len != 4 || msg->token_len != 0))
        return ZCOAP_EMSG_EMPTY_NOT_EMPTY; /* §4.1: Empty is the 4-byte header only */
    if (len - 4 < msg->token_len)
        return ZCOAP_EMSG_TOKEN_TRUNC;

    const uint8_t *p = buf + 4;
    msg->token = p;
    return parse_options(msg, p + msg->token_len, buf + len);
}
