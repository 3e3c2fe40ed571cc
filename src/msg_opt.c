/* Options of a parsed message: iteration, typed decoding, and the table of known options. */
#include <string.h>

#include "msg_internal.h"
#include "zcoap/msg.h"

bool zcoap__opt_iter_next_ext(zcoap_opt_iter_t *it, zcoap_opt_t *opt)
{
    const uint8_t *p = it->pos;
    zcoap__opt_hdr_t h;
    if (zcoap__opt_hdr_decode(p, it->end, &h) != 0 || (size_t)(it->end - p) - h.hdr_len < h.len ||
        it->num + h.delta > 0xFFFFu) {
        it->pos = it->end; /* not a validated region: stop rather than read past it */
        return false;
    }
    it->num = (uint16_t)(it->num + h.delta);
    opt->num = it->num;
    opt->len = h.len;
    opt->val = p + h.hdr_len;
    it->pos = opt->val + h.len;
    return true;
}

bool zcoap_opt_iter_find(zcoap_opt_iter_t *it, uint16_t num, zcoap_opt_t *opt)
{
    zcoap_opt_iter_t probe = *it;
    zcoap_opt_t o;
    while (zcoap_opt_iter_next(&probe, &o)) {
        if (o.num > num)
            break; /* options are sorted: no more of this number */
        *it = probe;
        if (o.num == num) {
            *opt = o;
            return true;
        }
    }
    return false;
}

bool zcoap_msg_find_opt(const zcoap_msg_t *msg, uint16_t num, zcoap_opt_t *opt)
{
    zcoap_opt_iter_t it;
    zcoap_opt_iter_init(&it, msg);
    return zcoap_opt_iter_find(&it, num, opt);
}

size_t zcoap_msg_count_opt(const zcoap_msg_t *msg, uint16_t num)
{
    zcoap_opt_iter_t it;
    zcoap_opt_t o;
    size_t n = 0;
    zcoap_opt_iter_init(&it, msg);
    while (zcoap_opt_iter_find(&it, num, &o))
        n++;
    return n;
}

int zcoap_msg_get_uint(const zcoap_msg_t *msg, uint16_t num, uint32_t *out)
{
    zcoap_opt_t o;
    if (msg == NULL || out == NULL)
        return ZCOAP_EINVAL;
    if (!zcoap_msg_find_opt(msg, num, &o))
        return ZCOAP_ENOTFOUND;
    return zcoap_opt_uint(&o, out);
}

bool zcoap_opt_equals_str(const zcoap_opt_t *opt, const char *s)
{
    size_t n = strlen(s);
    return opt->len == n && (n == 0 || memcmp(opt->val, s, n) == 0);
}

int zcoap_opt_block(const zcoap_opt_t *opt, zcoap_block_t *out)
{
    uint32_t v;
    if (out == NULL)
        return ZCOAP_EINVAL;
    int rc = zcoap_opt_uint(opt, &v);
    if (rc != ZCOAP_OK)
        return rc;
    if (opt->len > 3)
        return ZCOAP_EOPT_LENGTH;
    /* RFC 7959 §2.2: NUM | M (1 bit) | SZX (3 bits); SZX 7 is reserved. */
    if ((v & 0x7u) == 7u)
        return ZCOAP_EOPT_BLOCK;
    out->num = v >> 4;
    out->more = (v & 0x8u) != 0;
    out->szx = (uint8_t)(v & 0x7u);
    return ZCOAP_OK;
}

int zcoap_msg_get_block(const zcoap_msg_t *msg, uint16_t num, zcoap_block_t *out)
{
    zcoap_opt_t o;
    if (msg == NULL || out == NULL)
        return ZCOAP_EINVAL;
    if (!zcoap_msg_find_opt(msg, num, &o))
        return ZCOAP_ENOTFOUND;
    return zcoap_opt_block(&o, out);
}

/* RFC 7252 Table 4 and §12.2, RFC 7641 §7, RFC 7959 §6, RFC 8768 §3, RFC 9175 §2.2/§3.2,
 * RFC 7967 §2, RFC 8613 §2, RFC 9177 §4. Indexed by number, so a lookup costs one load. */
#define U ZCOAP_OPT_FMT_UINT
#define S ZCOAP_OPT_FMT_STRING
#define O ZCOAP_OPT_FMT_OPAQUE
#define E ZCOAP_OPT_FMT_EMPTY
#define DEF(num, fmt, rep, sup, min, max, name) [num] = {num, fmt, rep, sup, min, max, name}
const zcoap_opt_def_t zcoap__opt_defs_direct[ZCOAP__OPT_DIRECT] = {
    DEF(ZCOAP_OPT_IF_MATCH, O, true, true, 0, 8, "If-Match"),
    DEF(ZCOAP_OPT_URI_HOST, S, false, true, 1, 255, "Uri-Host"),
    DEF(ZCOAP_OPT_ETAG, O, true, true, 1, 8, "ETag"),
    DEF(ZCOAP_OPT_IF_NONE_MATCH, E, false, true, 0, 0, "If-None-Match"),
    DEF(ZCOAP_OPT_OBSERVE, U, false, true, 0, 3, "Observe"),
    DEF(ZCOAP_OPT_URI_PORT, U, false, true, 0, 2, "Uri-Port"),
    DEF(ZCOAP_OPT_LOCATION_PATH, S, true, true, 0, 255, "Location-Path"),
    DEF(ZCOAP_OPT_OSCORE, O, false, false, 0, 255, "OSCORE"),
    DEF(ZCOAP_OPT_URI_PATH, S, true, true, 0, 255, "Uri-Path"),
    DEF(ZCOAP_OPT_CONTENT_FORMAT, U, false, true, 0, 2, "Content-Format"),
    DEF(ZCOAP_OPT_MAX_AGE, U, false, true, 0, 4, "Max-Age"),
    DEF(ZCOAP_OPT_URI_QUERY, S, true, true, 0, 255, "Uri-Query"),
    DEF(ZCOAP_OPT_HOP_LIMIT, U, false, true, 1, 1, "Hop-Limit"),
    DEF(ZCOAP_OPT_ACCEPT, U, false, true, 0, 2, "Accept"),
    DEF(ZCOAP_OPT_Q_BLOCK1, U, false, false, 0, 3, "Q-Block1"),
    DEF(ZCOAP_OPT_LOCATION_QUERY, S, true, true, 0, 255, "Location-Query"),
    DEF(ZCOAP_OPT_BLOCK2, U, false, true, 0, 3, "Block2"),
    DEF(ZCOAP_OPT_BLOCK1, U, false, true, 0, 3, "Block1"),
    DEF(ZCOAP_OPT_SIZE2, U, false, true, 0, 4, "Size2"),
    DEF(ZCOAP_OPT_Q_BLOCK2, U, true, false, 0, 3, "Q-Block2"),
    DEF(ZCOAP_OPT_PROXY_URI, S, false, true, 1, 1034, "Proxy-Uri"),
    DEF(ZCOAP_OPT_PROXY_SCHEME, S, false, true, 1, 255, "Proxy-Scheme"),
    DEF(ZCOAP_OPT_SIZE1, U, false, true, 0, 4, "Size1"),
};
static const zcoap_opt_def_t defs_high[] = {
    {ZCOAP_OPT_ECHO, O, false, true, 1, 40, "Echo"},
    {ZCOAP_OPT_NO_RESPONSE, U, false, true, 0, 1, "No-Response"},
    {ZCOAP_OPT_REQUEST_TAG, O, true, true, 0, 8, "Request-Tag"},
};
#undef DEF
#undef U
#undef S
#undef O
#undef E

const zcoap_opt_def_t *zcoap_opt_def(uint16_t num)
{
    if (num < ZCOAP__OPT_DIRECT) {
        const zcoap_opt_def_t *def = &zcoap__opt_defs_direct[num];
        return def->name != NULL ? def : NULL;
    }
    for (size_t i = 0; i < sizeof(defs_high) / sizeof(defs_high[0]); i++) {
        if (defs_high[i].num == num)
            return &defs_high[i];
    }
    return NULL;
}

bool zcoap_opt_is_valid(const zcoap_opt_t *opt)
{
    const zcoap_opt_def_t *def = zcoap_opt_def(opt->num);
    return def == NULL || (opt->len >= def->min_len && opt->len <= def->max_len);
}

static bool in_list(uint16_t num, const uint16_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i] == num)
            return true;
    }
    return false;
}

int zcoap_msg_check_options(const zcoap_msg_t *msg, const uint16_t *extra_known, size_t n_extra,
                            uint16_t *bad_num)
{
    zcoap_opt_iter_t it;
    zcoap_opt_t o;
    uint32_t prev_num = 0x10000u; /* no option seen yet */
    if (msg == NULL || (extra_known == NULL && n_extra > 0))
        return ZCOAP_EINVAL;
    zcoap_opt_iter_init(&it, msg);
    while (zcoap_opt_iter_next(&it, &o)) {
        bool repeated = o.num == prev_num;
        prev_num = o.num;
        /* RFC 7252 §5.4.1: only critical options can make a message unacceptable. */
        if (!zcoap_opt_is_critical(o.num) || in_list(o.num, extra_known, n_extra))
            continue;
        const zcoap_opt_def_t *def = zcoap_opt_def(o.num);
        bool recognized = def != NULL && def->supported &&
                          /* §5.4.3: a length out of bounds is treated as unrecognized */
                          o.len >= def->min_len && o.len <= def->max_len &&
                          /* §5.4.5: a supernumerary occurrence too */
                          (def->repeatable || !repeated);
        if (!recognized) {
            if (bad_num != NULL)
                *bad_num = o.num;
            return ZCOAP_EOPT_UNRECOGNIZED;
        }
    }
    return ZCOAP_OK;
}
