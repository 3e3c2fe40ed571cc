/* URIs: RFC 7252 §6.4 (URI -> options) and §6.5 (options -> URI), with RFC 3986 syntax. */
#include <string.h>

#include "text_internal.h"
#include "zcoap/msg.h"

/* ---- character classes (RFC 3986 §2) -------------------------------------------------------- */

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_unreserved(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_sub_delim(char c)
{
    return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

/* pchar without pct-encoded (checked separately). */
static bool is_pchar(char c)
{
    return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Check a component: allowed characters plus valid %XX sequences. */
static int check_component(const char *s, size_t len, bool (*allowed)(char))
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            if (len - i < 3 || hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0)
                return ZCOAP_EURI_PERCENT;
            i += 2;
        } else if (!allowed(s[i])) {
            return ZCOAP_EURI_SYNTAX;
        }
    }
    return ZCOAP_OK;
}

static bool is_path_char(char c)
{
    return is_pchar(c) || c == '/';
}

static bool is_query_char(char c)
{
    return is_pchar(c) || c == '/' || c == '?';
}

static bool is_reg_name_char(char c)
{
    return is_unreserved(c) || is_sub_delim(c);
}

/* RFC 3986 §3.2.2 IPv4address: four dec-octets 0-255 without leading zeros. */
static bool is_ipv4(const char *s, size_t len)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= len || s[i] != '.')
                return false;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < len && is_digit(s[i]) && i - start < 3)
            v = v * 10u + (unsigned)(s[i++] - '0');
        size_t n = i - start;
        if (n == 0 || v > 255u || (n > 1 && s[start] == '0'))
            return false;
    }
    return i == len;
}

/* RFC 3986 §3.2.2 IPv6address: eight 1-4 digit hex groups, one "::" standing for one or more
 * zero groups, and optionally an IPv4address in the last 32 bits. */
static bool is_ipv6(const char *s, size_t len)
{
    size_t groups = 0;
    bool compressed = false;
    size_t i = 0;
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        compressed = true;
        i = 2;
    } else if (len > 0 && s[0] == ':') {
        return false;
    }
    while (i < len) {
        size_t start = i;
        while (i < len && i - start < 5 && hex_value(s[i]) >= 0)
            i++;
        size_t digits = i - start;
        if (i < len && s[i] == '.') { /* embedded IPv4 ends the address */
            return groups <= (compressed ? 5u : 6u) && is_ipv4(s + start, len - start);
        }
        if (digits == 0 || digits > 4)
            return false;
        groups++;
        if (i == len)
            break;
        if (s[i] != ':')
            return false;
        i++;
        if (i < len && s[i] == ':') {
            if (compressed)
                return false; /* only one "::" */
            compressed = true;
            i++;
        } else if (i == len) {
            return false; /* a single trailing ':' */
        }
    }
    return compressed ? groups <= 7u : groups == 8u;
}

/* IP-literal contents: an IPv6 address, with an optional RFC 6874 zone "%25..." (IPvFuture is
 * not used by CoAP). */
static bool is_ip_literal_body(const char *s, size_t len)
{
    const char *zone = memchr(s, '%', len);
    size_t addr_len = zone != NULL ? (size_t)(zone - s) : len;
    if (!is_ipv6(s, addr_len))
        return false;
    if (zone != NULL) {
        size_t rest = len - addr_len;
        if (rest < 4 || zone[1] != '2' || zone[2] != '5')
            return false;
        return check_component(zone + 3, rest - 3, is_unreserved) == ZCOAP_OK;
    }
    return true;
}

/* ---- splitting ------------------------------------------------------------------------------ */

int zcoap_uri_split(const char *uri, size_t len, zcoap_uri_t *out)
{
    if (uri == NULL || out == NULL)
        return ZCOAP_EINVAL;
    memset(out, 0, sizeof(*out));

    /* scheme ":" (RFC 3986 §3.1): letters, digits, + - . after a first letter */
    size_t i = 0;
    while (i < len && (is_alpha(uri[i]) || (i > 0 && (is_digit(uri[i]) || uri[i] == '+' ||
                                                      uri[i] == '-' || uri[i] == '.'))))
        i++;
    if (i == 0 || i >= len || uri[i] != ':')
        return ZCOAP_EURI_SYNTAX; /* §6.4 step 1: not an absolute URI */
    if (i == 4 && strncmp(uri, "coap", 4) == 0) {
        out->secure = false;
    } else if (i == 5 && strncmp(uri, "coaps", 5) == 0) {
        out->secure = true;
    } else {
        /* Schemes are case-insensitive (RFC 3986 §3.1). */
        char scheme[6] = {0};
        if (i > 5)
            return ZCOAP_EURI_SCHEME;
        for (size_t k = 0; k < i; k++)
            scheme[k] = lower(uri[k]);
        if (strcmp(scheme, "coap") == 0)
            out->secure = false;
        else if (strcmp(scheme, "coaps") == 0)
            out->secure = true;
        else
            return ZCOAP_EURI_SCHEME;
    }
    i++;
    if (len - i < 2 || uri[i] != '/' || uri[i + 1] != '/')
        return ZCOAP_EURI_HOST; /* coap-URI requires an authority */
    i += 2;

    /* Fragments are not allowed (§6.4 step 3); find it first, it ends everything. */
    const char *hash = memchr(uri + i, '#', len - i);
    if (hash != NULL)
        return ZCOAP_EURI_FRAGMENT;

    size_t auth_start = i;
    while (i < len && uri[i] != '/' && uri[i] != '?')
        i++;
    size_t auth_end = i;
    if (memchr(uri + auth_start, '@', auth_end - auth_start) != NULL)
        return ZCOAP_EURI_HOST; /* no userinfo in coap URIs (§6.1) */

    size_t h = auth_start;
    size_t port_at;
    if (h < auth_end && uri[h] == '[') {
        const char *close = memchr(uri + h, ']', auth_end - h);
        if (close == NULL)
            return ZCOAP_EURI_HOST;
        out->host = uri + h + 1;
        out->host_len = (size_t)(close - out->host);
        if (!is_ip_literal_body(out->host, out->host_len))
            return ZCOAP_EURI_HOST;
        out->host_is_literal = true;
        port_at = (size_t)(close - uri) + 1;
        if (port_at < auth_end && uri[port_at] != ':')
            return ZCOAP_EURI_HOST;
    } else {
        const char *colon = memchr(uri + h, ':', auth_end - h);
        port_at = colon != NULL ? (size_t)(colon - uri) : auth_end;
        out->host = uri + h;
        out->host_len = port_at - h;
        if (out->host_len == 0)
            return ZCOAP_EURI_HOST;
        int rc = check_component(out->host, out->host_len, is_reg_name_char);
        if (rc != ZCOAP_OK)
            return rc == ZCOAP_EURI_SYNTAX ? ZCOAP_EURI_HOST : rc;
        out->host_is_literal = is_ipv4(out->host, out->host_len);
    }

    out->port = (uint16_t)(out->secure ? ZCOAP_DEFAULT_SECURE_PORT : ZCOAP_DEFAULT_PORT);
    if (port_at < auth_end) { /* ":" port; an empty port means the default (RFC 3986 §3.2.3) */
        uint32_t port = 0;
        size_t p = port_at + 1;
        if (p < auth_end) {
            for (; p < auth_end; p++) {
                if (!is_digit(uri[p]))
                    return ZCOAP_EURI_PORT;
                port = port * 10u + (uint32_t)(uri[p] - '0');
                if (port > 65535u)
                    return ZCOAP_EURI_PORT;
            }
            out->port = (uint16_t)port;
            out->port_explicit = true;
        }
    }

    size_t path_start = i;
    while (i < len && uri[i] != '?')
        i++;
    out->path = uri + path_start;
    out->path_len = i - path_start;
    int rc = check_component(out->path, out->path_len, is_path_char);
    if (rc != ZCOAP_OK)
        return rc;
    if (i < len) {
        out->query = uri + i + 1;
        out->query_len = len - i - 1;
        rc = check_component(out->query, out->query_len, is_query_char);
        if (rc != ZCOAP_OK)
            return rc;
    }
    return ZCOAP_OK;
}

/* ---- URI -> options (§6.4) ------------------------------------------------------------------ */

static size_t decoded_len(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++, n++) {
        if (s[i] == '%')
            i += 2; /* validated by zcoap_uri_split / check_component */
    }
    return n;
}

static size_t percent_decode(uint8_t *dst, const char *s, size_t len, bool to_lower)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            c = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        }
        dst[n++] = (uint8_t)(to_lower ? lower(c) : c);
    }
    return n;
}

/* Add one percent-encoded component as an option, decoding straight into the message. */
static int add_decoded(zcoap_builder_t *b, uint16_t num, const char *s, size_t len, bool to_lower)
{
    uint8_t tmp[255];
    size_t n = decoded_len(s, len);
    if (n > sizeof(tmp)) /* every Uri-* string option is at most 255 bytes (Table 4) */
        return b->err = ZCOAP_EOPT_LENGTH;
    percent_decode(tmp, s, len, to_lower);
    return zcoap_builder_add_opt(b, num, tmp, n);
}

/* A segment that is "." or ".." once decoded (RFC 3986 §2.3: %2E is an unreserved dot). */
static int dot_segment(const char *s, size_t len)
{
    uint8_t tmp[3];
    size_t n = decoded_len(s, len);
    if (n == 0 || n > 2)
        return 0;
    percent_decode(tmp, s, len, false);
    if (tmp[0] != '.' || (n == 2 && tmp[1] != '.'))
        return 0;
    return (int)n;
}

/* Length of the segment starting at s (up to '/' or end). */
static size_t segment_len(const char *s, size_t len)
{
    const char *slash = memchr(s, '/', len);
    return slash != NULL ? (size_t)(slash - s) : len;
}

/* RFC 3986 §5.2.4 without a buffer: a normal segment is removed when a later ".." climbs past it,
 * i.e. when walking forward the ".." segments outnumber the normal ones opened after it. */
static bool cancelled_by_dotdot(const char *rest, size_t len)
{
    size_t depth = 0;
    size_t i = 0;
    while (i < len) {
        i++; /* the '/' before the next segment */
        size_t n = segment_len(rest + i, len - i);
        int dots = dot_segment(rest + i, n);
        if (dots == 2) {
            if (depth == 0)
                return true;
            depth--;
        } else if (dots == 0) {
            depth++;
        }
        i += n;
    }
    return false;
}

/* Emits the Uri-Path options of a path. A lone empty segment is the path "/" (§6.4 step 8: no
 * Uri-Path), so an empty first segment is held back until a second one shows it is real. */
typedef struct path_emitter {
    zcoap_builder_t *b;
    size_t count;    /* segments emitted or held */
    bool held_empty; /* the first segment was empty and is not emitted yet */
} path_emitter_t;

static int emit_segment(path_emitter_t *e, const char *seg, size_t len)
{
    int rc = ZCOAP_OK;
    if (e->count == 0 && len == 0) {
        e->held_empty = true;
        e->count = 1;
        return ZCOAP_OK;
    }
    if (e->held_empty) {
        e->held_empty = false;
        rc = zcoap_builder_add_opt(e->b, ZCOAP_OPT_URI_PATH, NULL, 0);
    }
    if (rc == ZCOAP_OK)
        rc = add_decoded(e->b, ZCOAP_OPT_URI_PATH, seg, len, false);
    e->count++;
    return rc;
}

static int add_path(zcoap_builder_t *b, const char *path, size_t len)
{
    path_emitter_t e = {b, 0, false};
    /* §6.4 step 8: an empty path or "/" gives no Uri-Path; otherwise one option per segment. */
    if (len > 0 && path[0] == '/') {
        path++;
        len--;
    }
    if (len == 0)
        return ZCOAP_OK;
    size_t i = 0;
    for (;;) {
        size_t n = segment_len(path + i, len - i);
        bool last = i + n == len;
        int dots = dot_segment(path + i, n);
        if (dots == 0 && !cancelled_by_dotdot(path + i + n, len - i - n)) {
            int rc = emit_segment(&e, path + i, n);
            if (rc != ZCOAP_OK)
                return rc;
        }
        if (last) {
            /* A final "." or ".." leaves a trailing slash ("a/b/.." is "a/"): an empty last
             * segment. */
            if (dots != 0)
                return emit_segment(&e, "", 0);
            return ZCOAP_OK;
        }
        i += n + 1;
    }
}

static int add_query(zcoap_builder_t *b, const char *query, size_t len)
{
    /* §6.4 step 9: when the URI has a query component, each "&"-separated argument is one
     * Uri-Query; "?" alone is one empty argument (RFC 3986 §3.4 tells "?" from no "?"). */
    if (query == NULL)
        return ZCOAP_OK;
    size_t i = 0;
    for (;;) {
        const char *amp = memchr(query + i, '&', len - i);
        size_t n = amp != NULL ? (size_t)(amp - (query + i)) : len - i;
        int rc = add_decoded(b, ZCOAP_OPT_URI_QUERY, query + i, n, false);
        if (rc != ZCOAP_OK || amp == NULL)
            return rc;
        i += n + 1;
    }
}

int zcoap_builder_add_uri(zcoap_builder_t *b, const char *uri, size_t len, unsigned flags,
                          zcoap_uri_t *parts)
{
    zcoap_uri_t u;
    if (b == NULL)
        return ZCOAP_EINVAL;
    if (b->err != ZCOAP_OK)
        return b->err;
    if (uri == NULL)
        return b->err = ZCOAP_EINVAL;
    int rc = zcoap_uri_split(uri, len, &u);
    if (rc != ZCOAP_OK)
        return b->err = rc;
    if (parts != NULL)
        *parts = u;
    /* §6.4 step 5: Uri-Host when the host is not the destination's IP literal. */
    if ((!u.host_is_literal && (flags & ZCOAP_URI_OPT_HOST) != 0) ||
        (u.host_is_literal && (flags & ZCOAP_URI_OPT_HOST_LITERAL) != 0)) {
        bool ipv6 = memchr(u.host, ':', u.host_len) != NULL;
        if (ipv6) {
            /* An IP-literal keeps its brackets (RFC 3986 §3.2.2) and loses its zone: a zone
             * names an interface of the sender and means nothing to the server (RFC 6874 §4). */
            uint8_t tmp[2 + 45];
            const char *zone = memchr(u.host, '%', u.host_len);
            size_t addr_len = zone != NULL ? (size_t)(zone - u.host) : u.host_len;
            if (addr_len > sizeof(tmp) - 2) /* is_ipv6() allows no longer text */
                return b->err = ZCOAP_EURI_HOST;
            tmp[0] = '[';
            size_t n = percent_decode(tmp + 1, u.host, addr_len, true);
            tmp[n + 1] = ']';
            rc = zcoap_builder_add_opt(b, ZCOAP_OPT_URI_HOST, tmp, n + 2);
        } else {
            rc = add_decoded(b, ZCOAP_OPT_URI_HOST, u.host, u.host_len, true);
        }
        if (rc != ZCOAP_OK)
            return rc;
    }
    /* §6.4 step 7: Uri-Port only when asked and not the scheme's default. */
    uint16_t default_port = (uint16_t)(u.secure ? ZCOAP_DEFAULT_SECURE_PORT : ZCOAP_DEFAULT_PORT);
    if ((flags & ZCOAP_URI_OPT_PORT) != 0 && u.port != default_port) {
        rc = zcoap_builder_add_uint(b, ZCOAP_OPT_URI_PORT, u.port);
        if (rc != ZCOAP_OK)
            return rc;
    }
    rc = add_path(b, u.path, u.path_len);
    if (rc != ZCOAP_OK)
        return rc;
    return add_query(b, u.query, u.query_len);
}

int zcoap_builder_add_uri_path(zcoap_builder_t *b, const char *path_query, size_t len)
{
    if (b == NULL)
        return ZCOAP_EINVAL;
    if (b->err != ZCOAP_OK)
        return b->err;
    if (path_query == NULL)
        return b->err = ZCOAP_EINVAL;
    const char *q = memchr(path_query, '?', len);
    size_t path_len = q != NULL ? (size_t)(q - path_query) : len;
    const char *query = q != NULL ? q + 1 : NULL;
    size_t query_len = q != NULL ? len - path_len - 1 : 0;
    if (memchr(path_query, '#', len) != NULL)
        return b->err = ZCOAP_EURI_FRAGMENT;
    int rc = check_component(path_query, path_len, is_path_char);
    if (rc == ZCOAP_OK && query != NULL)
        rc = check_component(query, query_len, is_query_char);
    if (rc != ZCOAP_OK)
        return b->err = rc;
    rc = add_path(b, path_query, path_len);
    if (rc != ZCOAP_OK)
        return rc;
    return add_query(b, query, query_len);
}

/* ---- options -> URI (§6.5) ------------------------------------------------------------------ */

static void put_encoded(zcoap__text_t *o, const uint8_t *v, size_t n, bool (*keep)(char))
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        char c = (char)v[i];
        if (v[i] < 0x80u && keep(c)) {
            zcoap__text_char(o, c);
        } else {
            zcoap__text_char(o, '%');
            zcoap__text_char(o, hex[v[i] >> 4]);
            zcoap__text_char(o, hex[v[i] & 0x0Fu]);
        }
    }
}

static bool is_ip_literal_char(char c)
{
    return hex_value(c) >= 0 || c == ':' || c == '.' || c == '[' || c == ']';
}

static bool keep_in_query(char c)
{
    /* §6.5 step 8: "&" separates arguments, so it must be escaped inside one. */
    return c != '&' && is_query_char(c);
}

/* Path and query from the Uri-* (or Location-*) options: §6.5 steps 7-8. */
static void put_path_query(zcoap__text_t *o, const zcoap_msg_t *msg, uint16_t path_num,
                           uint16_t query_num)
{
    zcoap_opt_iter_t it;
    zcoap_opt_t opt;
    bool any_path = false;
    bool any_query = false;
    zcoap_opt_iter_init(&it, msg);
    while (zcoap_opt_iter_next(&it, &opt)) {
        if (opt.num == path_num) {
            zcoap__text_char(o, '/');
            put_encoded(o, opt.val, opt.len, is_pchar);
            any_path = true;
        }
    }
    if (!any_path)
        zcoap__text_char(o, '/');
    zcoap_opt_iter_init(&it, msg);
    while (zcoap_opt_iter_find(&it, query_num, &opt)) {
        zcoap__text_char(o, any_query ? '&' : '?');
        put_encoded(o, opt.val, opt.len, keep_in_query);
        any_query = true;
    }
}

ptrdiff_t zcoap_msg_path(const zcoap_msg_t *msg, bool location, char *out, size_t cap)
{
    if (msg == NULL || out == NULL)
        return ZCOAP_EINVAL;
    zcoap__text_t o;
    zcoap__text_init(&o, out, cap);
    put_path_query(&o, msg, location ? ZCOAP_OPT_LOCATION_PATH : ZCOAP_OPT_URI_PATH,
                   location ? ZCOAP_OPT_LOCATION_QUERY : ZCOAP_OPT_URI_QUERY);
    return zcoap__text_finish(&o);
}

ptrdiff_t zcoap_msg_uri(const zcoap_msg_t *msg, bool secure, const char *dst_host,
                        uint16_t dst_port, char *out, size_t cap)
{
    zcoap_opt_t host_opt;
    uint32_t port = dst_port;
    if (msg == NULL || out == NULL)
        return ZCOAP_EINVAL;
    zcoap__text_t o;
    zcoap__text_init(&o, out, cap);
    /* A Uri-Host outside its 1-255 bytes is treated as absent (§5.4.3). */
    bool have_host =
        zcoap_msg_find_opt(msg, ZCOAP_OPT_URI_HOST, &host_opt) && zcoap_opt_is_valid(&host_opt);
    if (have_host || dst_host != NULL) {
        zcoap__text_mem(&o, secure ? "coaps://" : "coap://", secure ? 8u : 7u);
        if (have_host) {
            const char *h = (const char *)host_opt.val;
            bool literal = host_opt.len > 2 && h[0] == '[' && h[host_opt.len - 1] == ']' &&
                           is_ip_literal_body(h + 1, host_opt.len - 2);
            if (literal)
                put_encoded(&o, host_opt.val, host_opt.len, is_ip_literal_char);
            else if (is_ipv4(h, host_opt.len))
                zcoap__text_mem(&o, h, host_opt.len);
            else
                put_encoded(&o, host_opt.val, host_opt.len, is_reg_name_char);
        } else {
            size_t n = strlen(dst_host);
            bool ipv6 = memchr(dst_host, ':', n) != NULL && dst_host[0] != '[';
            if (ipv6)
                zcoap__text_char(&o, '[');
            zcoap__text_mem(&o, dst_host, n);
            if (ipv6)
                zcoap__text_char(&o, ']');
        }
        zcoap_opt_t port_opt;
        /* A Uri-Port longer than 2 bytes is not a port (§5.4.3): keep the destination's. */
        if (zcoap_msg_find_opt(msg, ZCOAP_OPT_URI_PORT, &port_opt) &&
            (!zcoap_opt_is_valid(&port_opt) || zcoap_opt_uint(&port_opt, &port) != ZCOAP_OK))
            port = dst_port;
        if (port != (secure ? ZCOAP_DEFAULT_SECURE_PORT : ZCOAP_DEFAULT_PORT)) {
            zcoap__text_char(&o, ':');
            zcoap__text_uint(&o, port);
        }
    }
    put_path_query(&o, msg, ZCOAP_OPT_URI_PATH, ZCOAP_OPT_URI_QUERY);
    return zcoap__text_finish(&o);
}
