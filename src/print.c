/* One-line rendering of a message, in the shape libcoap's tools print, into a caller buffer. */
#include <string.h>

#include "text_internal.h"
#include "zcoap/msg.h"

static void put_hex_byte(zcoap__text_t *l, uint8_t v)
{
    static const char digits[] = "0123456789abcdef";
    zcoap__text_char(l, digits[v >> 4]);
    zcoap__text_char(l, digits[v & 0x0Fu]);
}

static bool printable(uint8_t c)
{
    return c >= 0x20u && c < 0x7Fu;
}

static void put_escaped(zcoap__text_t *l, const uint8_t *v, size_t n, bool escape_all)
{
    for (size_t i = 0; i < n; i++) {
        if (!escape_all && printable(v[i])) {
            zcoap__text_char(l, (char)v[i]);
        } else {
            zcoap__text_str(l, "\\x");
            zcoap__text_char(l, "0123456789ABCDEF"[v[i] >> 4]);
            zcoap__text_char(l, "0123456789ABCDEF"[v[i] & 0x0Fu]);
        }
    }
}

static void put_option_value(zcoap__text_t *l, const zcoap_opt_t *o)
{
    const zcoap_opt_def_t *def = zcoap_opt_def(o->num);
    uint32_t v = 0;
    if (def == NULL) {
        put_escaped(l, o->val, o->len, true); /* unknown: show every byte */
        return;
    }
    if (def->format == ZCOAP_OPT_FMT_UINT && zcoap_opt_uint(o, &v) == ZCOAP_OK) {
        switch (o->num) {
        case ZCOAP_OPT_CONTENT_FORMAT:
        case ZCOAP_OPT_ACCEPT: {
            const char *name = v <= 0xFFFFu ? zcoap_content_format_name((uint16_t)v) : NULL;
            if (name != NULL)
                zcoap__text_str(l, name);
            else
                zcoap__text_uint(l, v);
            return;
        }
        case ZCOAP_OPT_BLOCK1:
        case ZCOAP_OPT_BLOCK2:
        case ZCOAP_OPT_Q_BLOCK1:
        case ZCOAP_OPT_Q_BLOCK2: { /* num/M/size, as libcoap prints it */
            zcoap__text_uint(l, v >> 4);
            zcoap__text_str(l, (v & 0x8u) != 0 ? "/M/" : "/_/");
            if ((v & 0x7u) == 7u)
                zcoap__text_str(l, "?");
            else
                zcoap__text_uint(l, zcoap_block_size((uint8_t)(v & 0x7u)));
            return;
        }
        default:
            zcoap__text_uint(l, v);
            return;
        }
    }
    if (def->format == ZCOAP_OPT_FMT_OPAQUE) {
        if (o->len > 0)
            zcoap__text_str(l, "0x");
        for (uint32_t i = 0; i < o->len; i++)
            put_hex_byte(l, o->val[i]);
        return;
    }
    put_escaped(l, o->val, o->len, false);
}

ptrdiff_t zcoap_msg_print(const zcoap_msg_t *msg, char *out, size_t cap)
{
    if (msg == NULL || out == NULL)
        return ZCOAP_EINVAL;
    zcoap__text_t l;
    zcoap__text_init(&l, out, cap);

    zcoap__text_str(&l, "v:");
    zcoap__text_uint(&l, msg->version);
    zcoap__text_str(&l, " t:");
    zcoap__text_str(&l, zcoap_type_name(msg->type));
    zcoap__text_str(&l, " c:");
    zcoap__text_str(&l, zcoap_code_name(msg->code));
    zcoap__text_str(&l, " i:");
    put_hex_byte(&l, (uint8_t)(msg->mid >> 8));
    put_hex_byte(&l, (uint8_t)msg->mid);
    zcoap__text_str(&l, " {");
    for (size_t i = 0; i < msg->token_len && i < ZCOAP_MAX_TOKEN_LEN; i++)
        put_hex_byte(&l, msg->token[i]);
    zcoap__text_str(&l, "} [");

    zcoap_opt_iter_t it;
    zcoap_opt_t o;
    bool first = true;
    zcoap_opt_iter_init(&it, msg);
    while (zcoap_opt_iter_next(&it, &o)) {
        zcoap__text_str(&l, first ? " " : ", ");
        first = false;
        const char *name = zcoap_opt_name(o.num);
        if (name != NULL)
            zcoap__text_str(&l, name);
        else
            zcoap__text_uint(&l, o.num);
        zcoap__text_char(&l, ':');
        put_option_value(&l, &o);
    }
    zcoap__text_str(&l, " ]");

    if (msg->payload_len > 0) {
        zcoap__text_str(&l, " :: ");
        /* libcoap's rule: text if the first byte is printable (other bytes escaped), else a
         * binary summary; ours keeps the hex on the same line. */
        if (printable(msg->payload[0])) {
            zcoap__text_char(&l, '\'');
            put_escaped(&l, msg->payload, msg->payload_len, false);
            zcoap__text_char(&l, '\'');
        } else {
            zcoap__text_str(&l, "binary data length ");
            zcoap__text_uint(
                &l, (uint32_t)(msg->payload_len > 0xFFFFFFFFu ? 0xFFFFFFFFu : msg->payload_len));
            zcoap__text_str(&l, ": ");
            for (size_t i = 0; i < msg->payload_len && !l.cut; i++)
                put_hex_byte(&l, msg->payload[i]);
        }
    }

    if (l.cut) {
        /* Mark the cut so a log reader knows the line is incomplete. */
        if (cap > 0) {
            size_t end = cap - 1;
            for (size_t i = 0; i < 3 && end > i; i++)
                out[end - 1 - i] = '.';
            out[end] = '\0';
        }
        return ZCOAP_ENOSPC;
    }
    out[l.len] = '\0';
    return (ptrdiff_t)l.len;
}
