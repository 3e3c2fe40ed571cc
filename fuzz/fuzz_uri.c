/*
 * Fuzz target: URIs (RFC 7252 §6.4, §6.5). The input is the URI text (not NUL-terminated: it
 * sits in a buffer of exactly its size, so ASan sees any read past it).
 *
 * Properties:
 * - zcoap_uri_split() never crashes; on success every part lies inside the input;
 * - zcoap_builder_add_uri() accepts exactly what zcoap_uri_split() accepts (or fails later on
 *   an option bound, ZCOAP_EOPT_LENGTH, or room, ZCOAP_ENOSPC), and reports the same parts;
 * - round trip stability: URI -> options -> zcoap_msg_uri() -> URI' -> options' gives
 *   options' identical to options, and URI' composes back to URI' itself (a fixed point).
 *   All of host and port go into options (ZCOAP_URI_OPT_HOST | _HOST_LITERAL | _PORT) so that
 *   the composed URI carries everything, and the scheme's default port is passed as the
 *   destination port, the one §6.5 uses when Uri-Port is absent; an IPv6 literal must come back
 *   as an IP-literal.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "zcoap/zcoap.h"

#define ALL_IN_OPTIONS (ZCOAP_URI_OPT_HOST | ZCOAP_URI_OPT_HOST_LITERAL | ZCOAP_URI_OPT_PORT)
#define MSG_CAP 4096u
#define URI_CAP 16384u
#define MAX_INPUT 4096u

static const uint8_t token[2] = {0xBE, 0xEF};

static bool inside(const char *base, size_t len, const char *p, size_t n)
{
    if (p == NULL)
        return n == 0;
    return p >= base && p <= base + len && n <= (size_t)(base + len - p);
}

static bool same_parts(const zcoap_uri_t *a, const zcoap_uri_t *b)
{
    return a->secure == b->secure && a->host_is_literal == b->host_is_literal &&
           a->host == b->host && a->host_len == b->host_len && a->port == b->port &&
           a->port_explicit == b->port_explicit && a->path == b->path &&
           a->path_len == b->path_len && a->query == b->query && a->query_len == b->query_len;
}

/* The options region of a message built from a URI, parsed back. */
typedef struct built {
    uint8_t buf[MSG_CAP];
    zcoap_msg_t msg;
} built_t;

/* Builds a GET carrying the URI's options; returns add_uri's result. */
static int build_from_uri(built_t *out, const char *uri, size_t len, unsigned flags,
                          zcoap_uri_t *parts)
{
    zcoap_builder_t b;
    FUZZ_CHECK(zcoap_builder_init(&b, out->buf, sizeof(out->buf), ZCOAP_TYPE_CON, ZCOAP_GET, 0x1234,
                                  token, sizeof(token)) == ZCOAP_OK);
    int rc = zcoap_builder_add_uri(&b, uri, len, flags, parts);
    ptrdiff_t n = zcoap_builder_finish(&b);
    if (rc != ZCOAP_OK) {
        FUZZ_CHECK(n == rc); /* errors are sticky */
        return rc;
    }
    FUZZ_CHECK(n >= 4);
    FUZZ_CHECK(zcoap_msg_parse(&out->msg, out->buf, (size_t)n) == ZCOAP_OK);
    /* Only URI options, each known and within its bounds. */
    FUZZ_CHECK(zcoap_msg_check_options(&out->msg, NULL, 0, NULL) == ZCOAP_OK);
    return rc;
}

static bool same_options(const zcoap_msg_t *a, const zcoap_msg_t *b)
{
    return a->opts_len == b->opts_len && memcmp(a->opts, b->opts, a->opts_len) == 0;
}

static uint16_t default_port(bool secure)
{
    return (uint16_t)(secure ? ZCOAP_DEFAULT_SECURE_PORT : ZCOAP_DEFAULT_PORT);
}

static void round_trip(const built_t *first, const zcoap_uri_t *orig)
{
    bool secure = orig->secure;
    static char uri1[URI_CAP];
    static char uri2[URI_CAP];
    static built_t second;
    ptrdiff_t n1 =
        zcoap_msg_uri(&first->msg, secure, NULL, default_port(secure), uri1, sizeof(uri1));
    FUZZ_CHECK(n1 > 0 && (size_t)n1 < sizeof(uri1) && uri1[n1] == '\0');

    zcoap_uri_t parts;
    int rc = build_from_uri(&second, uri1, (size_t)n1, ALL_IN_OPTIONS, &parts);
    if (rc != ZCOAP_OK)
        fprintf(stderr, "composed URI rejected (%s): %s\n", zcoap_err_name(rc), uri1);
    FUZZ_CHECK(rc == ZCOAP_OK);
    FUZZ_CHECK(parts.secure == secure);
    /* An IPv6 literal stays one (RFC 7252 §6.5 step 5: Uri-Host is an IP-literal), rather
     * than coming back as a percent-encoded reg-name that merely round-trips. */
    if (orig->host_is_literal && memchr(orig->host, ':', orig->host_len) != NULL)
        FUZZ_CHECK(parts.host_is_literal);
    if (!same_options(&first->msg, &second.msg))
        fprintf(stderr, "options changed through composed URI %s\n", uri1);
    FUZZ_CHECK(same_options(&first->msg, &second.msg));

    ptrdiff_t n2 =
        zcoap_msg_uri(&second.msg, secure, NULL, default_port(secure), uri2, sizeof(uri2));
    FUZZ_CHECK(n2 == n1 && memcmp(uri1, uri2, (size_t)n1) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    char *uri = malloc(size > 0 ? size : 1);
    FUZZ_CHECK(uri != NULL);
    if (size > 0)
        memcpy(uri, data, size);

    zcoap_uri_t parts;
    int split_rc = zcoap_uri_split(uri, size, &parts);
    if (split_rc == ZCOAP_OK) {
        FUZZ_CHECK(parts.host_len > 0 && inside(uri, size, parts.host, parts.host_len));
        FUZZ_CHECK(inside(uri, size, parts.path, parts.path_len));
        FUZZ_CHECK(parts.path_len == 0 || parts.path[0] == '/');
        FUZZ_CHECK(inside(uri, size, parts.query, parts.query_len));
        if (!parts.port_explicit)
            FUZZ_CHECK(parts.port == default_port(parts.secure));
    } else {
        FUZZ_CHECK(split_rc <= ZCOAP_EURI_SCHEME && split_rc >= ZCOAP_EURI_SYNTAX);
    }

    static built_t first;
    zcoap_uri_t added;
    int rc = build_from_uri(&first, uri, size, ALL_IN_OPTIONS, &added);
    if (split_rc != ZCOAP_OK) {
        FUZZ_CHECK(rc == split_rc);
    } else if (rc == ZCOAP_OK) {
        FUZZ_CHECK(same_parts(&parts, &added));
        round_trip(&first, &parts);
    } else {
        /* A decoded component too long for its option (Uri-Host 255, Uri-Path 255,
         * Uri-Query 255) or the message buffer. */
        FUZZ_CHECK(rc == ZCOAP_EOPT_LENGTH || rc == ZCOAP_ENOSPC);
    }

    /* The other flag sets and the relative form: no crash, sticky errors. */
    static built_t other;
    (void)build_from_uri(&other, uri, size, ZCOAP_URI_OPT_DEFAULT, NULL);
    (void)build_from_uri(&other, uri, size, 0, NULL);
    zcoap_builder_t b;
    FUZZ_CHECK(zcoap_builder_init(&b, other.buf, 64, ZCOAP_TYPE_NON, ZCOAP_POST, 7, NULL, 0) ==
               ZCOAP_OK);
    rc = zcoap_builder_add_uri_path(&b, uri, size);
    ptrdiff_t n = zcoap_builder_finish(&b);
    FUZZ_CHECK(rc == ZCOAP_OK ? n >= 4 : n == rc);
    free(uri);
    return 0;
}
