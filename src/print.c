/* One-line rendering of a message, in the shape libcoap's tools print, into a caller buffer. */
#include <string.h>

#include "zcoap/msg.h"

typedef struct line {
    char *p;
    size_t cap;
    size_t len;
    bool cut;
} line_t;

static void put_c(line_t *l, char c)
{
    if (l->len + 1 < l->cap)
        l->p[l->len++] = c;
    else
        l->cut = true;
}

static void put_s(line_t *l, const char *s)
{
    while (*s != '\0')
        put_c(l, *s++);
}

static void put_hex_byte(line_t *l, uint8_t v)
{
    static const char digits[] = "0123456789abcdef";
    put_c(l, digits[v >> 4]);
    put_c(l, digits[v & 0x0Fu]);
}

static void put_u(line_t *l, uint32_t v)
{
    char d[10];
    size_t n = 0;
    do {
        d[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    while (n > 0)
        put_c(l, d[--n]);
}

static bool printable(uint8_t c)
{
    return c >= 0x20u && c < 0x7Fu;
}

static void put_escaped(line_t *l, const uint8_t *v, size_t n, bool escape_all)
{
    for (size_t i = 0; i < n; i++) {
        if (!escape_all && printable(v[i])) {
            put_c(l, (char)v[i]);
        } else {
            put_s(l, "\\x");
            put_c(l, "0123456789ABCDEF"[v[i] >> 4]);
            put_c(l, "0123456789ABCDEF"[v[i] & 0x0Fu]);
        }
    }
}

static void put_option_value(line_t *l, const zcoap_opt_t *o)
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
                put_s(l, name);
            else
                put_u(l, v);
            return;
        }
        case ZCOAP_OPT_BLOCK1:
        case ZCOAP_OPT_BLOCK2:
        case ZCOAP_OPT_Q_BLOCK1:
        case ZCOAP_OPT_Q_BLOCK2: { /* num/M/size, as libcoap prints it */
            put_u(l, v >> 4);
            put_s(l, (v & 0x8u) != 0 ? "/M/" : "/_/");
            if ((v & 0x7u) == 7u)
                put_s(l, "?");
            else
                put_u(l, zcoap_block_size((uint8_t)(v & 0x7u)));
            return;
        }
        default:
            put_u(l, v);
            return;
        }
    }
    if (def->format == ZCOAP_OPT_FMT_OPAQUE) {
        if (o->len > 0)
            put_s(l, "0x");
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
    line_t l = {out, cap, 0, cap == 0};

    put_s(&l, "v:");
    put_u(&l, msg->version);
    put_s(&l, " t:");
    put_s(&l, zcoap_type_name(msg->type));
    put_s(&l, " c:");
    put_s(&l, zcoap_code_name(msg->code));
    put_s(&l, " i:");
    put_hex_byte(&l, (uint8_t)(msg->mid >> 8));
    put_hex_byte(&l, (uint8_t)msg->mid);
    put_s(&l, " {");
    for (size_t i = 0; i < msg->token_len && i < ZCOAP_MAX_TOKEN_LEN; i++)
        put_hex_byte(&l, msg->token[i]);
    put_s(&l, "} [");

    zcoap_opt_iter_t it;
    zcoap_opt_t o;
    bool first = true;
    zcoap_opt_iter_init(&it, msg);
    while (zcoap_opt_iter_next(&it, &o)) {
        put_s(&l, first ? " " : ", ");
        first = false;
        const char *name = zcoap_opt_name(o.num);
        if (name != NULL)
            put_s(&l, name);
        else
            put_u(&l, o.num);
        put_c(&l, ':');
        put_option_value(&l, &o);
    }
    put_s(&l, " ]");

    if (msg->payload_len > 0) {
        put_s(&l, " :: ");
        /* libcoap's rule: text if the first byte is printable (other bytes escaped), else a
         * binary summary; ours keeps the hex on the same line. */
        if (printable(msg->payload[0])) {
            put_c(&l, '\'');
            put_escaped(&l, msg->payload, msg->payload_len, false);
            put_c(&l, '\'');
        } else {
            put_s(&l, "binary data length ");
            put_u(&l, (uint32_t)(msg->payload_len > 0xFFFFFFFFu ? 0xFFFFFFFFu : msg->payload_len));
            put_s(&l, ": ");
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
