/* The resource table: dispatch by Uri-Path and method, and /.well-known/core in CoRE Link Format
 * (RFC 6690) with the query filtering of its §4.1. */
#include <string.h>

#include "text_internal.h"
#include "zcoap/resource.h"

/* The request's Uri-Path segments, read once per request rather than once per table entry.
 * Paths deeper than this fall back to walking the options for each entry. */
#define PATH_SEGMENTS_MAX 12

typedef struct path_segments {
    const uint8_t *val[PATH_SEGMENTS_MAX];
    uint32_t len[PATH_SEGMENTS_MAX];
    size_t n;
    bool too_deep;
} path_segments_t;

static void segments_read(const zcoap_msg_t *req, path_segments_t *segs)
{
    zcoap_opt_iter_t it;
    zcoap_opt_t seg;
    segs->n = 0;
    segs->too_deep = false;
    zcoap_opt_iter_init(&it, req);
    while (zcoap_opt_iter_find(&it, ZCOAP_OPT_URI_PATH, &seg)) {
        if (segs->n == PATH_SEGMENTS_MAX) {
            segs->too_deep = true;
            return;
        }
        segs->val[segs->n] = seg.val;
        segs->len[segs->n] = seg.len;
        segs->n++;
    }
}

/* "a/b" against the segments; "" is the root, which has no Uri-Path at all (RFC 7252 §6.4
 * step 8). */
static bool segments_match(const path_segments_t *segs, const char *path)
{
    const char *p = path;
    for (size_t i = 0; i < segs->n; i++) {
        if (i > 0) {
            if (*p != '/')
                return false;
            p++;
        } else if (*p == '\0') {
            return false;
        }
        size_t n = 0;
        while (p[n] != '\0' && p[n] != '/')
            n++;
        if (n != segs->len[i] || (n > 0 && memcmp(p, segs->val[i], n) != 0))
            return false;
        p += n;
    }
    return *p == '\0';
}

/* The slow path for requests with more than PATH_SEGMENTS_MAX segments. */
static bool options_match(const zcoap_msg_t *req, const char *path)
{
    zcoap_opt_iter_t it;
    zcoap_opt_t seg;
    size_t len = strlen(path);
    size_t at = 0;
    bool first = true;
    zcoap_opt_iter_init(&it, req);
    while (zcoap_opt_iter_find(&it, ZCOAP_OPT_URI_PATH, &seg)) {
        if (!first) {
            if (at >= len || path[at] != '/')
                return false;
            at++;
        } else if (len == 0) {
            return false;
        }
        first = false;
        const char *slash = memchr(path + at, '/', len - at);
        size_t n = slash != NULL ? (size_t)(slash - (path + at)) : len - at;
        if (n != seg.len || (n > 0 && memcmp(path + at, seg.val, n) != 0))
            return false;
        at += n;
    }
    return at == len;
}

static bool path_matches(const zcoap_msg_t *req, const path_segments_t *segs, const char *path)
{
    return segs->too_deep ? options_match(req, path) : segments_match(segs, path);
}

bool zcoap_path_matches(const zcoap_msg_t *req, const char *path)
{
    if (req == NULL || path == NULL)
        return false;
    path_segments_t segs;
    segments_read(req, &segs);
    return path_matches(req, &segs, path);
}

uint8_t zcoap_resource_dispatch(const zcoap_resource_t *table, size_t n, const zcoap_msg_t *req,
                                const zcoap_resource_t **found)
{
    uint8_t code = ZCOAP_NOT_FOUND;
    if (found != NULL)
        *found = NULL;
    if (table == NULL || req == NULL)
        return ZCOAP_NOT_FOUND;
    path_segments_t segs;
    segments_read(req, &segs);
    for (size_t i = 0; i < n; i++) {
        const zcoap_resource_t *r = &table[i];
        if (r->path == NULL || !path_matches(req, &segs, r->path))
            continue;
        bool allowed = req->code < 32u && (r->methods & ZCOAP_METHOD_BIT(req->code)) != 0;
        if (found != NULL && (allowed || *found == NULL))
            *found = r;
        if (allowed)
            return 0;
        code = ZCOAP_METHOD_NOT_ALLOWED; /* §5.8: the path exists, the method does not */
    }
    return code;
}

/* ---- link-format attributes ----------------------------------------------------------------- */

/* One "name[=value]" parameter of a link's attributes; value without its quotes. */
typedef struct link_param {
    const char *name;
    size_t name_len;
    const char *value; /* NULL when the parameter has no value (obs) */
    size_t value_len;
} link_param_t;

/* Next parameter of attrs at *pos (RFC 6690 §2: ';'-separated, values token or quoted-string,
 * where a quoted string may contain ';'). */
static bool next_param(const char *attrs, size_t *pos, link_param_t *p)
{
    size_t i = *pos;
    size_t len = strlen(attrs);
    while (i < len && (attrs[i] == ';' || attrs[i] == ' '))
        i++;
    if (i >= len)
        return false;
    p->name = attrs + i;
    while (i < len && attrs[i] != '=' && attrs[i] != ';')
        i++;
    p->name_len = (size_t)(attrs + i - p->name);
    p->value = NULL;
    p->value_len = 0;
    if (i < len && attrs[i] == '=') {
        i++;
        if (i < len && attrs[i] == '"') {
            i++;
            p->value = attrs + i;
            while (i < len && attrs[i] != '"') {
                if (attrs[i] == '\\' && i + 1 < len)
                    i++; /* quoted-pair */
                i++;
            }
            p->value_len = (size_t)(attrs + i - p->value);
            if (i < len)
                i++; /* closing quote */
        } else {
            p->value = attrs + i;
            while (i < len && attrs[i] != ';')
                i++;
            p->value_len = (size_t)(attrs + i - p->value);
        }
    }
    *pos = i;
    return true;
}

/* A query value ending in '*' matches as a prefix (RFC 6690 §4.1). */
static bool value_matches(const char *have, size_t have_len, const uint8_t *want, size_t want_len)
{
    if (want_len > 0 && want[want_len - 1] == '*') {
        size_t prefix = want_len - 1;
        return have_len >= prefix && memcmp(have, want, prefix) == 0;
    }
    return have_len == want_len && (want_len == 0 || memcmp(have, want, want_len) == 0);
}

/* rt, if and rel hold space-separated lists: any one value matches. */
static bool list_matches(const char *have, size_t have_len, const uint8_t *want, size_t want_len)
{
    size_t i = 0;
    while (i <= have_len) {
        size_t start = i;
        while (i < have_len && have[i] != ' ')
            i++;
        if (value_matches(have + start, i - start, want, want_len))
            return true;
        i++;
    }
    return false;
}

static bool name_is(const link_param_t *p, const char *name)
{
    size_t n = strlen(name);
    return p->name_len == n && memcmp(p->name, name, n) == 0;
}

bool zcoap_resource_observable(const zcoap_resource_t *r)
{
    if (r == NULL || r->attrs == NULL)
        return false;
    size_t pos = 0;
    link_param_t p;
    while (next_param(r->attrs, &pos, &p)) {
        if (name_is(&p, "obs"))
            return true;
    }
    return false;
}

/* href= filters on "/" + path (RFC 6690 §4.1), with the same '*' prefix rule. */
static bool href_matches(const zcoap_resource_t *r, const uint8_t *want, size_t want_len)
{
    size_t len = strlen(r->path);
    bool prefix = want_len > 0 && want[want_len - 1] == '*';
    size_t n = prefix ? want_len - 1 : want_len;
    if (n == 0)
        return prefix;
    if (want[0] != '/' || (prefix ? n - 1 > len : n - 1 != len))
        return false;
    return memcmp(r->path, want + 1, n - 1) == 0;
}

/* A quoted-string value compared with its escapes undone (RFC 5988 quoted-pair: \" is "). */
static bool quoted_matches(const char *have, size_t have_len, const uint8_t *want, size_t want_len)
{
    bool prefix = want_len > 0 && want[want_len - 1] == '*';
    size_t w = prefix ? want_len - 1 : want_len;
    size_t j = 0;
    for (size_t i = 0; i < have_len; i++, j++) {
        char c = have[i];
        if (c == '\\' && i + 1 < have_len)
            c = have[++i];
        if (j == w)
            return prefix; /* the value goes on: a prefix match only */
        if ((uint8_t)c != want[j])
            return false;
    }
    return j == w;
}

/* One Uri-Query filter against one resource. */
static bool filter_matches(const zcoap_resource_t *r, const zcoap_opt_t *q)
{
    const uint8_t *eq = memchr(q->val, '=', q->len);
    size_t name_len = eq != NULL ? (size_t)(eq - q->val) : q->len;
    const uint8_t *want = eq != NULL ? eq + 1 : NULL;
    size_t want_len = eq != NULL ? q->len - name_len - 1u : 0;
    if (name_len == 4 && memcmp(q->val, "href", 4) == 0)
        return want != NULL && href_matches(r, want, want_len);
    if (r->attrs == NULL)
        return false;
    size_t pos = 0;
    link_param_t p;
    while (next_param(r->attrs, &pos, &p)) {
        if (p.name_len != name_len || memcmp(p.name, q->val, name_len) != 0)
            continue;
        if (want == NULL || want_len == 0)
            return true; /* "obs" or "obs=": the attribute is there */
        if (p.value == NULL)
            continue;
        /* rt, if and rel (RFC 6690 §3) and ct (RFC 7252 §7.2.1) hold space-separated lists. */
        bool list =
            name_is(&p, "rt") || name_is(&p, "if") || name_is(&p, "rel") || name_is(&p, "ct");
        if (list ? list_matches(p.value, p.value_len, want, want_len)
                 : quoted_matches(p.value, p.value_len, want, want_len))
            return true;
    }
    return false;
}

static bool listed(const zcoap_resource_t *r, const zcoap_msg_t *req)
{
    zcoap_opt_iter_t it;
    zcoap_opt_t q;
    if (r->hidden || r->path == NULL)
        return false;
    if (req == NULL)
        return true;
    zcoap_opt_iter_init(&it, req);
    while (zcoap_opt_iter_find(&it, ZCOAP_OPT_URI_QUERY, &q)) {
        if (!filter_matches(r, &q))
            return false;
    }
    return true;
}

/* ---- output --------------------------------------------------------------------------------- */

/* The path as a URI reference: bytes outside RFC 3986's pchar (and '/') are percent-encoded. */
static void put_path(zcoap__text_t *o, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const char *c = path; *c != '\0'; c++) {
        unsigned char b = (unsigned char)*c;
        bool plain = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
                     (b != 0 && strchr("-._~!$&'()*+,;=:@/", b) != NULL);
        if (plain) {
            zcoap__text_mem(o, c, 1);
        } else {
            char esc[3] = {'%', hex[b >> 4], hex[b & 0x0Fu]};
            zcoap__text_mem(o, esc, 3);
        }
    }
}

ptrdiff_t zcoap_resource_link_format(const zcoap_resource_t *table, size_t n,
                                     const zcoap_msg_t *req, char *out, size_t cap)
{
    if (out == NULL || (table == NULL && n > 0))
        return ZCOAP_EINVAL;
    zcoap__text_t o;
    zcoap__text_init(&o, out, cap);
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const zcoap_resource_t *r = &table[i];
        if (!listed(r, req))
            continue;
        /* RFC 6690 §2: link-value = "<" URI-Reference ">" *( ";" link-param ) */
        zcoap__text_mem(&o, first ? "</" : ",</", first ? 2u : 3u);
        put_path(&o, r->path);
        zcoap__text_mem(&o, ">", 1);
        if (r->attrs != NULL && r->attrs[0] != '\0') {
            zcoap__text_mem(&o, ";", 1);
            zcoap__text_mem(&o, r->attrs, strlen(r->attrs));
        }
        first = false;
    }
    ptrdiff_t len = zcoap__text_finish(&o);
    if (len < 0 && cap > 0)
        out[0] = '\0'; /* a cut listing is no listing: the caller must not serve half of it */
    return len;
}
