/* Parsing: one pass over the datagram validates everything, so later option walks cannot fail. */
#include <string.h>

#include "msg_internal.h"
#include "zcoap/msg.h"

/* RFC 7252 §3: walk the options region, checking every length against the end of the datagram,
 * and find the payload. */
static int parse_options(zcoap_msg_t *msg, const uint8_t *p, const uint8_t *end)
{
    uint32_t num = 0;
    size_t count = 0;
    msg->opts = p;
    while (p < end) {
        uint32_t first = *p++;
        uint32_t delta = first >> 4;
        uint32_t len = first & 0x0Fu;
        if (first >= 0xD0u || len >= ZCOAP__EXT8_BASE) { /* rare: marker or extended fields */
            if (first == ZCOAP_PAYLOAD_MARKER) {
                msg->opts_len = (size_t)(p - 1 - msg->opts);
                msg->opt_count = count;
                if (p == end)
                    return ZCOAP_EMSG_PAYLOAD_EMPTY; /* §3: a marker followed by nothing */
                msg->payload = p;
                msg->payload_len = (size_t)(end - p);
                return ZCOAP_OK;
            }
            /* §3.1: nibble 15 is reserved for the payload marker; 13 and 14 extend. */
            if (delta == 15u || len == 15u)
                return ZCOAP_EMSG_OPT_NIBBLE;
            int32_t ext_delta = zcoap__ext_decode(delta, &p, end);
            if (ext_delta < 0)
                return ZCOAP_EMSG_OPT_EXT_TRUNC;
            int32_t ext_len = zcoap__ext_decode(len, &p, end);
            if (ext_len < 0)
                return ZCOAP_EMSG_OPT_EXT_TRUNC;
            delta = (uint32_t)ext_delta;
            len = (uint32_t)ext_len;
        }
        if ((size_t)(end - p) < len)
            return ZCOAP_EMSG_OPT_VALUE_TRUNC;
        num += delta;
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
    /* Every field is written here, once (cheaper than clearing the struct first). */
    msg->data = buf;
    msg->len = len;
    msg->version = msg->type = msg->code = msg->token_len = 0;
    msg->mid = 0;
    msg->opt_count = 0;
    msg->token = msg->opts = msg->payload = NULL;
    msg->opts_len = msg->payload_len = 0;
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
