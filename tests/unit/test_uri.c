/* URIs (src/uri.c): RFC 7252 §6.4 decomposition into options, §6.5 composition back, the
 * examples of §6.3 and Appendix B, and bounded output. */
#include "zcoap_test.h"

static uint8_t buf[1024];

/* Decompose @p uri into a fresh GET and parse the result into @p msg. Returns add_uri's code;
 * on success the message is parsed. */
static int uri_to_msg(const char *uri, unsigned flags, zcoap_msg_t *msg, zcoap_uri_t *parts)
{
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    int rc = zcoap_builder_add_uri(&b, uri, strlen(uri), flags, parts);
    if (rc != ZCOAP_OK) {
        assert_zcoap_err(zcoap_builder_finish(&b), rc); /* and it sticks */
        return rc;
    }
    ptrdiff_t n = zcoap_builder_finish(&b);
    assert_true(n >= 4);
    parse_ok(msg, buf, (size_t)n);
    return ZCOAP_OK;
}

#define expect_uri_opts(uri, flags, ...)                                                           \
    do {                                                                                           \
        const expect_opt_t want_[] = {__VA_ARGS__};                                                \
        zcoap_msg_t msg_;                                                                          \
        if (uri_to_msg((uri), (flags), &msg_, NULL) != ZCOAP_OK)                                   \
            print_error("URI %s\n", (uri));                                                        \
        assert_zcoap_ok(uri_to_msg((uri), (flags), &msg_, NULL));                                  \
        assert_msg_opts(&msg_, want_, ARRAY_LEN(want_));                                           \
    } while (0)

#define expect_uri_no_opts(uri, flags)                                                             \
    do {                                                                                           \
        zcoap_msg_t msg_;                                                                          \
        assert_zcoap_ok(uri_to_msg((uri), (flags), &msg_, NULL));                                  \
        assert_msg_opts(&msg_, NULL, 0);                                                           \
    } while (0)

#define expect_uri_err(uri, err)                                                                   \
    do {                                                                                           \
        zcoap_msg_t msg_;                                                                          \
        if (uri_to_msg((uri), ZCOAP_URI_OPT_DEFAULT, &msg_, NULL) != (err))                        \
            print_error("URI %s\n", (uri));                                                        \
        assert_zcoap_err(uri_to_msg((uri), ZCOAP_URI_OPT_DEFAULT, &msg_, NULL), (err));            \
    } while (0)

static void rfc7252_6_3_equivalent_uris(void **state)
{
    (void)state;
    /* §6.3: these three are equivalent and give the same options */
    const char *const uris[] = {
        "coap://example.com:5683/~sensors/temp.xml",
        "coap://EXAMPLE.com/%7Esensors/temp.xml",
        "coap://EXAMPLE.com:/%7esensors/temp.xml",
    };
    /* Uri-Host(3) "example.com": 3b + 11 bytes; Uri-Path(11) "~sensors": 88 + 8;
     * Uri-Path "temp.xml": 08 + 8 */
    uint8_t want[64];
    size_t want_len = hex_bytes("40 01 00 01"
                                " 3b 65 78 61 6d 70 6c 65 2e 63 6f 6d"
                                " 88 7e 73 65 6e 73 6f 72 73"
                                " 08 74 65 6d 70 2e 78 6d 6c",
                                want, sizeof(want));
    for (size_t i = 0; i < ARRAY_LEN(uris); i++) {
        zcoap_builder_t b;
        assert_zcoap_ok(
            zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
        if (zcoap_builder_add_uri(&b, uris[i], strlen(uris[i]), ZCOAP_URI_OPT_DEFAULT, NULL) !=
            ZCOAP_OK)
            print_error("URI %s\n", uris[i]);
        ptrdiff_t n = zcoap_builder_finish(&b);
        assert_zcoap_len(n, want_len);
        assert_zcoap_bytes(buf, (size_t)n, want, want_len);
    }
}

static void split_parts(void **state)
{
    (void)state;
    zcoap_uri_t u;
    const char *uri = "coap://[2001:db8::1]:61616/a?b=c&d";
    assert_zcoap_ok(zcoap_uri_split(uri, strlen(uri), &u));
    assert_false(u.secure);
    assert_true(u.host_is_literal);
    assert_int_equal(u.host_len, 11);
    assert_memory_equal(u.host, "2001:db8::1", 11);
    assert_int_equal(u.port, 61616);
    assert_true(u.port_explicit);
    assert_int_equal(u.path_len, 2);
    assert_memory_equal(u.path, "/a", 2);
    assert_non_null(u.query);
    assert_int_equal(u.query_len, 5);
    assert_memory_equal(u.query, "b=c&d", 5);

    uri = "coaps://Example.ORG/%7Ex";
    assert_zcoap_ok(zcoap_uri_split(uri, strlen(uri), &u));
    assert_true(u.secure);
    assert_false(u.host_is_literal);
    assert_int_equal(u.host_len, 11);
    assert_memory_equal(u.host, "Example.ORG", 11); /* a view: no case change, no decoding */
    assert_int_equal(u.port, ZCOAP_DEFAULT_SECURE_PORT);
    assert_false(u.port_explicit);
    assert_int_equal(u.path_len, 5);
    assert_memory_equal(u.path, "/%7Ex", 5);
    assert_null(u.query);

    uri = "coap://192.0.2.1";
    assert_zcoap_ok(zcoap_uri_split(uri, strlen(uri), &u));
    assert_true(u.host_is_literal);
    assert_int_equal(u.port, ZCOAP_DEFAULT_PORT);
    assert_int_equal(u.path_len, 0);
    assert_null(u.query);

    /* only the first len bytes count */
    uri = "coap://h/abc#fragment";
    assert_zcoap_ok(zcoap_uri_split(uri, 12, &u));
    assert_int_equal(u.path_len, 4);
    assert_zcoap_err(zcoap_uri_split(NULL, 0, &u), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_uri_split(uri, 12, NULL), ZCOAP_EINVAL);
}

static void ipv6_literals(void **state)
{
    (void)state;
    zcoap_msg_t msg;
    zcoap_uri_t u;
    /* §6.4 step 5: an IP literal is the destination address, so no Uri-Host */
    assert_zcoap_ok(uri_to_msg("coap://[::1]:5683/", ZCOAP_URI_OPT_DEFAULT, &msg, &u));
    assert_msg_opts(&msg, NULL, 0);
    assert_true(u.host_is_literal);
    assert_int_equal(u.host_len, 3);
    assert_memory_equal(u.host, "::1", 3);
    assert_int_equal(u.port, 5683);
    expect_uri_opts("coap://[2001:db8::1]:61616/a?b=c&d", ZCOAP_URI_OPT_DEFAULT,
                    EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"), EXPECT_STR(ZCOAP_OPT_URI_QUERY, "b=c"),
                    EXPECT_STR(ZCOAP_OPT_URI_QUERY, "d"));
    /* through a proxy: Uri-Host keeps the IP-literal's brackets (RFC 3986 §3.2.2), so that
     * composing the URI back (§6.5 step 2) gives a valid host */
    expect_uri_opts("coap://[2001:db8::1]:61616/a?b=c&d",
                    ZCOAP_URI_OPT_HOST_LITERAL | ZCOAP_URI_OPT_PORT,
                    EXPECT_STR(ZCOAP_OPT_URI_HOST, "[2001:db8::1]"),
                    {ZCOAP_OPT_URI_PORT, "\xf0\xb0", 2}, EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"),
                    EXPECT_STR(ZCOAP_OPT_URI_QUERY, "b=c"), EXPECT_STR(ZCOAP_OPT_URI_QUERY, "d"));
    expect_uri_opts("coap://192.0.2.1/x", ZCOAP_URI_OPT_HOST | ZCOAP_URI_OPT_HOST_LITERAL,
                    EXPECT_STR(ZCOAP_OPT_URI_HOST, "192.0.2.1"),
                    EXPECT_STR(ZCOAP_OPT_URI_PATH, "x"));
    expect_uri_opts("coap://192.0.2.1/x", ZCOAP_URI_OPT_DEFAULT,
                    EXPECT_STR(ZCOAP_OPT_URI_PATH, "x"));
    /* HOST_LITERAL alone does not add Uri-Host for names */
    expect_uri_opts("coap://example.net/x", ZCOAP_URI_OPT_HOST_LITERAL,
                    EXPECT_STR(ZCOAP_OPT_URI_PATH, "x"));
}

static void ports(void **state)
{
    (void)state;
    /* §6.4 step 7: Uri-Port only when asked for and not the scheme's default */
    expect_uri_no_opts("coap://[::1]:61616/", ZCOAP_URI_OPT_DEFAULT);
    expect_uri_opts("coap://[::1]:61616/", ZCOAP_URI_OPT_PORT,
                    {ZCOAP_OPT_URI_PORT, "\xf0\xb0", 2}); /* 61616 = 0xf0b0 */
    expect_uri_no_opts("coap://[::1]:5683/", ZCOAP_URI_OPT_PORT);
    expect_uri_no_opts("coap://[::1]/", ZCOAP_URI_OPT_PORT);
    expect_uri_opts("coap://[::1]:1/", ZCOAP_URI_OPT_PORT, {ZCOAP_OPT_URI_PORT, "\x01", 1});
    /* coaps: 5684 is the default (§6.2), 5683 is not */
    expect_uri_no_opts("coaps://[::1]:5684/", ZCOAP_URI_OPT_PORT);
    expect_uri_opts("coaps://[::1]:5683/", ZCOAP_URI_OPT_PORT, {ZCOAP_OPT_URI_PORT, "\x16\x33", 2});
    zcoap_msg_t msg;
    zcoap_uri_t u;
    assert_zcoap_ok(uri_to_msg("coaps://h", ZCOAP_URI_OPT_DEFAULT, &msg, &u));
    assert_true(u.secure);
    assert_int_equal(u.port, 5684);
    assert_false(u.port_explicit);
    assert_zcoap_ok(uri_to_msg("coap://h:65535", ZCOAP_URI_OPT_DEFAULT, &msg, &u));
    assert_int_equal(u.port, 65535);
    assert_true(u.port_explicit);
    /* §6.1: an empty port is the default */
    assert_zcoap_ok(uri_to_msg("coap://h:/", ZCOAP_URI_OPT_DEFAULT, &msg, &u));
    assert_int_equal(u.port, 5683);
}

static void hosts(void **state)
{
    (void)state;
    /* §6.4 step 5: lower-cased, percent-decoded */
    expect_uri_opts("coap://Sensor-1.EXAMPLE.net", ZCOAP_URI_OPT_DEFAULT,
                    EXPECT_STR(ZCOAP_OPT_URI_HOST, "sensor-1.example.net"));
    expect_uri_opts("coap://my%20host/", ZCOAP_URI_OPT_DEFAULT,
                    EXPECT_STR(ZCOAP_OPT_URI_HOST, "my host"));
    /* flags 0: the client sends to the resolved address and leaves the host out */
    expect_uri_opts("coap://example.net/a", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"));
    /* scheme is case-insensitive (RFC 3986 §3.1; §6.4 step 3 compares it lower-cased) */
    expect_uri_opts("COAP://example.net/a", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"));
    expect_uri_opts("CoAPs://example.net/a", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"));
}

static void paths_and_queries(void **state)
{
    (void)state;
    /* §6.4 step 8: "/" and "" give no Uri-Path */
    expect_uri_no_opts("coap://[::1]", 0);
    expect_uri_no_opts("coap://[::1]/", 0);
    /* a trailing slash is an empty last segment */
    expect_uri_opts("coap://h/a/", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"),
                    EXPECT_STR(ZCOAP_OPT_URI_PATH, ""));
    expect_uri_opts("coap://h//", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, ""),
                    EXPECT_STR(ZCOAP_OPT_URI_PATH, ""));
    expect_uri_opts("coap://h/.well-known/core", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, ".well-known"),
                    EXPECT_STR(ZCOAP_OPT_URI_PATH, "core"));
    /* percent-decoding; %2F stays inside its segment, %26 inside its argument */
    expect_uri_opts("coap://h/a%2Fb/c%20d?x%3D1=%26&y", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, "a/b"),
                    EXPECT_STR(ZCOAP_OPT_URI_PATH, "c d"), EXPECT_STR(ZCOAP_OPT_URI_QUERY, "x=1=&"),
                    EXPECT_STR(ZCOAP_OPT_URI_QUERY, "y"));
    expect_uri_opts("coap://h/%c3%a9%00", 0, {ZCOAP_OPT_URI_PATH, "\xc3\xa9\x00", 3});
    /* a query without a path; "?" and "/" are allowed inside a query (RFC 3986 §3.4) */
    expect_uri_opts("coap://h?a/b?c", 0, EXPECT_STR(ZCOAP_OPT_URI_QUERY, "a/b?c"));
    expect_uri_opts("coap://h/p?a&&b", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, "p"),
                    EXPECT_STR(ZCOAP_OPT_URI_QUERY, "a"), EXPECT_STR(ZCOAP_OPT_URI_QUERY, ""),
                    EXPECT_STR(ZCOAP_OPT_URI_QUERY, "b"));
    /* sub-delims and ":" "@" are plain path characters */
    expect_uri_opts("coap://h/!$&'()*+,;=:@", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, "!$&'()*+,;=:@"));
}

static void dot_segments(void **state)
{
    (void)state;
    /* §6.4 step 2 resolves the reference, which removes dot segments (RFC 3986 §5.2.4) */
    expect_uri_opts("coap://h/a/./b/../c", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"),
                    EXPECT_STR(ZCOAP_OPT_URI_PATH, "c"));
    expect_uri_opts("coap://h/../a", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"));
    expect_uri_opts("coap://h/a/b/../../c", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, "c"));
    expect_uri_opts("coap://h/a/../../b", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, "b"));
    expect_uri_opts("coap://h/a/..b/.c", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"),
                    EXPECT_STR(ZCOAP_OPT_URI_PATH, "..b"), EXPECT_STR(ZCOAP_OPT_URI_PATH, ".c"));
    /* "/a/." is "/a/" and "/a/b/.." is "/a/": a trailing empty segment */
    expect_uri_opts("coap://h/a/.", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"),
                    EXPECT_STR(ZCOAP_OPT_URI_PATH, ""));
    expect_uri_opts("coap://h/a/b/..", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"),
                    EXPECT_STR(ZCOAP_OPT_URI_PATH, ""));
    expect_uri_opts("coap://h/a/./", 0, EXPECT_STR(ZCOAP_OPT_URI_PATH, "a"),
                    EXPECT_STR(ZCOAP_OPT_URI_PATH, ""));
    /* everything removed leaves "/", which gives no Uri-Path (step 8) */
    expect_uri_no_opts("coap://h/a/..", 0);
    expect_uri_no_opts("coap://h/.", 0);
    expect_uri_no_opts("coap://h/..", 0);
}

static void dot_segments_leaving_a_bare_slash(void **state)
{
    (void)state;
    /* RFC 3986 §5.2.4: "/./" -> "/" and "/a/../" -> "/", so no Uri-Path (§6.4 step 8), exactly
     * like "coap://h/" */
    expect_uri_no_opts("coap://h/./", 0);
    expect_uri_no_opts("coap://h/a/../", 0);
    expect_uri_no_opts("coap://h/a/b/../../", 0);
}

static void malformed_uris(void **state)
{
    (void)state;
    expect_uri_err("coap://h/a%2", ZCOAP_EURI_PERCENT);
    expect_uri_err("coap://h/a%", ZCOAP_EURI_PERCENT);
    expect_uri_err("coap://h/a%zz", ZCOAP_EURI_PERCENT);
    expect_uri_err("coap://h/a?b=%g1", ZCOAP_EURI_PERCENT);
    expect_uri_err("coap://h/a#frag", ZCOAP_EURI_FRAGMENT); /* §6.4 step 4 */
    expect_uri_err("coap://h/a?q#", ZCOAP_EURI_FRAGMENT);
    expect_uri_err("coap://h#f", ZCOAP_EURI_FRAGMENT);
    expect_uri_err("http://h/a", ZCOAP_EURI_SCHEME); /* §6.4 step 3 */
    expect_uri_err("coap+tcp://h/a", ZCOAP_EURI_SCHEME);
    expect_uri_err("mailto:someone@example.com", ZCOAP_EURI_SCHEME);
    expect_uri_err("coap://h:65536/", ZCOAP_EURI_PORT);
    expect_uri_err("coap://h:99999999999999999999/", ZCOAP_EURI_PORT);
    expect_uri_err("coap://h:12a/", ZCOAP_EURI_PORT);
    expect_uri_err("coap://h:-1/", ZCOAP_EURI_PORT);
    expect_uri_err("coap:///a", ZCOAP_EURI_HOST); /* §6.1: the host must not be empty */
    expect_uri_err("coap://:5683/a", ZCOAP_EURI_HOST);
    expect_uri_err("coap://", ZCOAP_EURI_HOST);
    expect_uri_err("coap:/a", ZCOAP_EURI_HOST); /* no authority */
    expect_uri_err("coap://[::1/a", ZCOAP_EURI_HOST);
    expect_uri_err("coap://[]/a", ZCOAP_EURI_HOST);
    expect_uri_err("coap://user@h/a", ZCOAP_EURI_HOST);
    expect_uri_err("/a/b", ZCOAP_EURI_SYNTAX); /* §6.4 step 1: not absolute */
    expect_uri_err("a/b", ZCOAP_EURI_SYNTAX);
    expect_uri_err("//h/a", ZCOAP_EURI_SYNTAX);
    expect_uri_err("", ZCOAP_EURI_SYNTAX);
    expect_uri_err("coap://h/a b", ZCOAP_EURI_SYNTAX); /* a space must be percent-encoded */
}

static void add_uri_misuse(void **state)
{
    (void)state;
    zcoap_builder_t b;
    assert_zcoap_err(zcoap_builder_add_uri(NULL, "coap://h", 8, 0, NULL), ZCOAP_EINVAL);
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_err(zcoap_builder_add_uri(&b, NULL, 0, 0, NULL), ZCOAP_EINVAL);
    /* a 256-byte segment does not fit Uri-Path (0-255 bytes) */
    char uri[300] = "coap://h/";
    memset(uri + 9, 'a', 256);
    uri[9 + 256] = '\0';
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_err(zcoap_builder_add_uri(&b, uri, strlen(uri), 0, NULL), ZCOAP_EOPT_LENGTH);
    /* no room */
    assert_zcoap_ok(zcoap_builder_init(&b, buf, 8, ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_err(zcoap_builder_add_uri(&b, "coap://h/abcdef", 15, 0, NULL), ZCOAP_ENOSPC);
    assert_zcoap_err(zcoap_builder_finish(&b), ZCOAP_ENOSPC);
}

static void relative_references(void **state)
{
    (void)state;
    const struct {
        const char *ref;
        expect_opt_t want[4];
        size_t n;
    } cases[] = {
        {"/a/b?x=1", {EXPECT_STR(11, "a"), EXPECT_STR(11, "b"), EXPECT_STR(15, "x=1")}, 3},
        {"a/b", {EXPECT_STR(11, "a"), EXPECT_STR(11, "b")}, 2},
        {"?x", {EXPECT_STR(15, "x")}, 1},
        {"", {{0, NULL, 0}}, 0},
        {"/", {{0, NULL, 0}}, 0},
        {"/a/../b", {EXPECT_STR(11, "b")}, 1},
        {"/a%20b%2Fc", {EXPECT_STR(11, "a b/c")}, 1},
        {"/rd?ep=node1&lt=300",
         {EXPECT_STR(11, "rd"), EXPECT_STR(15, "ep=node1"), EXPECT_STR(15, "lt=300")},
         3},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        zcoap_builder_t b;
        zcoap_msg_t msg;
        assert_zcoap_ok(
            zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
        if (zcoap_builder_add_uri_path(&b, cases[i].ref, strlen(cases[i].ref)) != ZCOAP_OK)
            print_error("reference \"%s\"\n", cases[i].ref);
        ptrdiff_t n = zcoap_builder_finish(&b);
        assert_true(n >= 4);
        parse_ok(&msg, buf, (size_t)n);
        assert_msg_opts(&msg, cases[i].want, cases[i].n);
    }
    zcoap_builder_t b;
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_err(zcoap_builder_add_uri_path(&b, "/a#f", 4), ZCOAP_EURI_FRAGMENT);
    assert_zcoap_ok(
        zcoap_builder_init(&b, buf, sizeof(buf), ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    assert_zcoap_err(zcoap_builder_add_uri_path(&b, "/a%zz", 5), ZCOAP_EURI_PERCENT);
    assert_zcoap_err(zcoap_builder_add_uri_path(NULL, "/a", 2), ZCOAP_EINVAL);
}

/* ---- options -> URI (§6.5) ----------------------------------------------------------------- */

/* Build a request with the given options (added in order) into @p out and parse it. */
static void msg_with_opts(zcoap_msg_t *msg, uint8_t *out, size_t cap, const expect_opt_t *opts,
                          size_t n)
{
    zcoap_builder_t b;
    assert_zcoap_ok(zcoap_builder_init(&b, out, cap, ZCOAP_TYPE_CON, ZCOAP_GET, 1, NULL, 0));
    for (size_t i = 0; i < n; i++) {
        size_t len = opts[i].len == EXPECT_STRLEN ? strlen(opts[i].val) : opts[i].len;
        assert_zcoap_ok(zcoap_builder_add_opt(&b, opts[i].num, opts[i].val, len));
    }
    ptrdiff_t len = zcoap_builder_finish(&b);
    assert_true(len >= 4);
    parse_ok(msg, out, (size_t)len);
}

static void expect_msg_uri(const zcoap_msg_t *msg, bool secure, const char *dst_host,
                           uint16_t dst_port, const char *want)
{
    char out[512];
    ptrdiff_t n = zcoap_msg_uri(msg, secure, dst_host, dst_port, out, sizeof(out));
    if (n < 0 || strcmp(out, want) != 0)
        print_error("got \"%s\", expected \"%s\"\n", n < 0 ? "" : out, want);
    assert_zcoap_len(n, strlen(want));
    assert_string_equal(out, want);
}

static void rfc7252_appendix_b(void **state)
{
    (void)state;
    zcoap_msg_t msg;
    uint8_t m[256];
    /* no options: the destination address, in brackets, and "/" */
    msg_with_opts(&msg, m, sizeof(m), NULL, 0);
    expect_msg_uri(&msg, false, "2001:db8::2:1", 5683, "coap://[2001:db8::2:1]/");
    /* Uri-Host replaces the address */
    const expect_opt_t host[] = {EXPECT_STR(ZCOAP_OPT_URI_HOST, "example.net")};
    msg_with_opts(&msg, m, sizeof(m), host, 1);
    expect_msg_uri(&msg, false, "2001:db8::2:1", 5683, "coap://example.net/");
    const expect_opt_t wk[] = {EXPECT_STR(ZCOAP_OPT_URI_HOST, "example.net"),
                               EXPECT_STR(ZCOAP_OPT_URI_PATH, ".well-known"),
                               EXPECT_STR(ZCOAP_OPT_URI_PATH, "core")};
    msg_with_opts(&msg, m, sizeof(m), wk, ARRAY_LEN(wk));
    expect_msg_uri(&msg, false, "2001:db8::2:1", 5683, "coap://example.net/.well-known/core");
    /* UTF-8 path, percent-encoded with upper-case hex digits */
    const expect_opt_t utf8[] = {
        EXPECT_STR(ZCOAP_OPT_URI_HOST, "xn--18j4d.example"),
        EXPECT_STR(ZCOAP_OPT_URI_PATH,
                   "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf")};
    msg_with_opts(&msg, m, sizeof(m), utf8, ARRAY_LEN(utf8));
    expect_msg_uri(&msg, false, "2001:db8::2:1", 5683,
                   "coap://xn--18j4d.example/%E3%81%93%E3%82%93%E3%81%AB%E3%81%A1%E3%81%AF");
    /* empty segments, "/" inside a segment, "?" and "&" inside arguments */
    const expect_opt_t odd[] = {
        EXPECT_STR(ZCOAP_OPT_URI_PATH, ""),    EXPECT_STR(ZCOAP_OPT_URI_PATH, "/"),
        EXPECT_STR(ZCOAP_OPT_URI_PATH, ""),    EXPECT_STR(ZCOAP_OPT_URI_PATH, ""),
        EXPECT_STR(ZCOAP_OPT_URI_QUERY, "//"), EXPECT_STR(ZCOAP_OPT_URI_QUERY, "?&")};
    msg_with_opts(&msg, m, sizeof(m), odd, ARRAY_LEN(odd));
    /* Appendix B prints "?%2F%2F&?%26", but §6.5 step 8 (normative) keeps "/" and "?" in a
     * query unencoded; both decode to the same options. We follow step 8. */
    expect_msg_uri(&msg, false, "198.51.100.1", 61616, "coap://198.51.100.1:61616//%2F//?//&?%26");
}

static void compose_ports_and_schemes(void **state)
{
    (void)state;
    zcoap_msg_t msg;
    uint8_t m[256];
    const expect_opt_t path[] = {EXPECT_STR(ZCOAP_OPT_URI_PATH, "a")};
    msg_with_opts(&msg, m, sizeof(m), path, 1);
    expect_msg_uri(&msg, false, "192.0.2.1", 5683, "coap://192.0.2.1/a");
    expect_msg_uri(&msg, false, "192.0.2.1", 5684, "coap://192.0.2.1:5684/a");
    expect_msg_uri(&msg, true, "192.0.2.1", 5684, "coaps://192.0.2.1/a");
    expect_msg_uri(&msg, true, "::1", 5683, "coaps://[::1]:5683/a");
    /* no Uri-Host and no destination: just the path */
    expect_msg_uri(&msg, false, NULL, 5683, "/a");
    /* Uri-Port wins over the destination port */
    const expect_opt_t port[] = {EXPECT_STR(ZCOAP_OPT_URI_HOST, "h"),
                                 {ZCOAP_OPT_URI_PORT, "\x16\x33", 2}};
    msg_with_opts(&msg, m, sizeof(m), port, ARRAY_LEN(port));
    expect_msg_uri(&msg, false, "192.0.2.1", 61616, "coap://h/");
    expect_msg_uri(&msg, true, "192.0.2.1", 5684, "coaps://h:5683/");
}

static void uri_round_trip(const expect_opt_t *opts, size_t n, const char *want_uri)
{
    zcoap_msg_t msg;
    zcoap_msg_t back;
    uint8_t m[1024];
    char uri[2048];
    msg_with_opts(&msg, m, sizeof(m), opts, n);
    ptrdiff_t len = zcoap_msg_uri(&msg, false, "192.0.2.7", 5683, uri, sizeof(uri));
    assert_true(len > 0);
    if (want_uri != NULL && strcmp(uri, want_uri) != 0)
        print_error("got \"%s\", expected \"%s\"\n", uri, want_uri);
    if (want_uri != NULL)
        assert_string_equal(uri, want_uri);
    /* and back: the same options (a request through a proxy keeps host and port) */
    if (uri_to_msg(uri, ZCOAP_URI_OPT_HOST | ZCOAP_URI_OPT_HOST_LITERAL | ZCOAP_URI_OPT_PORT, &back,
                   NULL) != ZCOAP_OK)
        print_error("URI \"%s\" does not decompose\n", uri);
    assert_zcoap_ok(uri_to_msg(
        uri, ZCOAP_URI_OPT_HOST | ZCOAP_URI_OPT_HOST_LITERAL | ZCOAP_URI_OPT_PORT, &back, NULL));
    assert_msg_opts(&back, opts, n);
}

static void options_to_uri_and_back(void **state)
{
    (void)state;
    const expect_opt_t awkward[] = {
        EXPECT_STR(ZCOAP_OPT_URI_HOST, "example.net"),
        {ZCOAP_OPT_URI_PORT, "\xf0\xb0", 2},
        EXPECT_STR(ZCOAP_OPT_URI_PATH, "a b"),
        EXPECT_STR(ZCOAP_OPT_URI_PATH, "c/d"),
        EXPECT_STR(ZCOAP_OPT_URI_PATH, "e?f"),
        EXPECT_STR(ZCOAP_OPT_URI_PATH, "\xc3\xa9%#"),
        EXPECT_STR(ZCOAP_OPT_URI_PATH, ""),
        EXPECT_STR(ZCOAP_OPT_URI_QUERY, "x=1&2"),
        EXPECT_STR(ZCOAP_OPT_URI_QUERY, "q?r"),
        EXPECT_STR(ZCOAP_OPT_URI_QUERY, "s/t u"),
    };
    uri_round_trip(awkward, ARRAY_LEN(awkward),
                   "coap://example.net:61616/a%20b/c%2Fd/e%3Ff/%C3%A9%25%23/"
                   "?x=1%262&q?r&s/t%20u");
    /* an IPv6 literal in Uri-Host keeps its brackets */
    const expect_opt_t v6[] = {EXPECT_STR(ZCOAP_OPT_URI_HOST, "[2001:db8::1]"),
                               EXPECT_STR(ZCOAP_OPT_URI_PATH, "x")};
    uri_round_trip(v6, ARRAY_LEN(v6), "coap://[2001:db8::1]/x");
    /* an IPv4 address in Uri-Host */
    const expect_opt_t v4[] = {EXPECT_STR(ZCOAP_OPT_URI_HOST, "10.0.0.1"),
                               {ZCOAP_OPT_URI_PORT, "\x01", 1},
                               EXPECT_STR(ZCOAP_OPT_URI_QUERY, "a")};
    uri_round_trip(v4, ARRAY_LEN(v4), "coap://10.0.0.1:1/?a");
    /* empty arguments between others */
    const expect_opt_t empties[] = {EXPECT_STR(ZCOAP_OPT_URI_HOST, "h"),
                                    EXPECT_STR(ZCOAP_OPT_URI_QUERY, ""),
                                    EXPECT_STR(ZCOAP_OPT_URI_QUERY, "")};
    uri_round_trip(empties, ARRAY_LEN(empties), "coap://h/?&");
    /* every byte value in one segment */
    char all[255];
    for (int i = 0; i < 255; i++)
        all[i] = (char)(i + 1);
    const expect_opt_t bytes[] = {EXPECT_STR(ZCOAP_OPT_URI_HOST, "h"),
                                  {ZCOAP_OPT_URI_PATH, all, sizeof(all)},
                                  {ZCOAP_OPT_URI_QUERY, all, sizeof(all)}};
    uri_round_trip(bytes, ARRAY_LEN(bytes), NULL);
}

static void empty_query_round_trip(void **state)
{
    (void)state;
    /* One empty Uri-Query composes to "...?" (§6.5 step 8: "?" then the empty value). A query
     * component that is present but empty (RFC 3986 §3.4 tells "?" from no "?") holds one empty
     * argument, so §6.4 step 9 must give the empty Uri-Query back, as "?&" gives two. */
    const expect_opt_t one_empty[] = {EXPECT_STR(ZCOAP_OPT_URI_HOST, "h"),
                                      EXPECT_STR(ZCOAP_OPT_URI_QUERY, "")};
    uri_round_trip(one_empty, ARRAY_LEN(one_empty), "coap://h/?");
}

static void paths_and_locations(void **state)
{
    (void)state;
    zcoap_msg_t msg;
    uint8_t m[256];
    char out[128];
    const expect_opt_t opts[] = {
        EXPECT_STR(ZCOAP_OPT_URI_HOST, "h"),           EXPECT_STR(ZCOAP_OPT_LOCATION_PATH, "rd"),
        EXPECT_STR(ZCOAP_OPT_LOCATION_PATH, "4521 x"), EXPECT_STR(ZCOAP_OPT_URI_PATH, "sensors"),
        EXPECT_STR(ZCOAP_OPT_URI_PATH, "temp"),        EXPECT_STR(ZCOAP_OPT_URI_QUERY, "unit=c"),
        EXPECT_STR(ZCOAP_OPT_LOCATION_QUERY, "a&b"),
    };
    msg_with_opts(&msg, m, sizeof(m), opts, ARRAY_LEN(opts));
    assert_zcoap_len(zcoap_msg_path(&msg, false, out, sizeof(out)), 20);
    assert_string_equal(out, "/sensors/temp?unit=c");
    assert_zcoap_len(zcoap_msg_path(&msg, true, out, sizeof(out)), 18);
    assert_string_equal(out, "/rd/4521%20x?a%26b");
    /* §5.10.7: no Location-Path means the path "/" */
    const expect_opt_t query_only[] = {EXPECT_STR(ZCOAP_OPT_LOCATION_QUERY, "q")};
    msg_with_opts(&msg, m, sizeof(m), query_only, 1);
    assert_zcoap_len(zcoap_msg_path(&msg, true, out, sizeof(out)), 3);
    assert_string_equal(out, "/?q");
    assert_zcoap_len(zcoap_msg_path(&msg, false, out, sizeof(out)), 1);
    assert_string_equal(out, "/");
    assert_zcoap_err(zcoap_msg_path(NULL, false, out, sizeof(out)), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_msg_path(&msg, false, NULL, 8), ZCOAP_EINVAL);
}

/* Every capacity below the length: ZCOAP_ENOSPC, NUL-terminated inside the buffer, nothing
 * written past it; from length + 1 on, the full string. */
static void expect_bounded(ptrdiff_t (*render)(const zcoap_msg_t *, char *, size_t),
                           const zcoap_msg_t *msg, const char *want)
{
    size_t len = strlen(want);
    enum { MARGIN = 16 };
    char arena[512 + 2 * MARGIN];
    for (size_t cap = 0; cap <= len + 2; cap++) {
        memset(arena, '#', sizeof(arena));
        ptrdiff_t n = render(msg, arena + MARGIN, cap);
        if (cap <= len) {
            assert_zcoap_err(n, ZCOAP_ENOSPC);
            if (cap > 0)
                assert_non_null(memchr(arena + MARGIN, '\0', cap));
        } else {
            assert_zcoap_len(n, len);
            assert_string_equal(arena + MARGIN, want);
        }
        for (size_t i = 0; i < sizeof(arena); i++) {
            if (i < MARGIN || i >= MARGIN + cap)
                assert_int_equal(arena[i], '#');
        }
    }
}

static ptrdiff_t render_uri(const zcoap_msg_t *msg, char *out, size_t cap)
{
    return zcoap_msg_uri(msg, false, "2001:db8::1", 61616, out, cap);
}

static ptrdiff_t render_path(const zcoap_msg_t *msg, char *out, size_t cap)
{
    return zcoap_msg_path(msg, false, out, cap);
}

static void out_of_bounds_uri_host_and_port_are_ignored(void **state)
{
    (void)state;
    zcoap_msg_t msg;
    /* received bytes, not built ones: the builder refuses these lengths. Uri-Host of 0 bytes
     * (3: delta 3, length 0) and Uri-Port of 3 bytes (delta 4, length 3): both outside their
     * bounds, so treated as absent when composing (RFC 7252 §5.4.3) */
    static const uint8_t wire[] = {0x40, 0x01, 0x00, 0x01, 0x30, 0x43, 0x73, 0x71, 0x73};
    parse_ok(&msg, wire, sizeof(wire));
    expect_msg_uri(&msg, false, "192.0.2.1", 5683, "coap://192.0.2.1/");
}

static void ipv6_zone_is_not_sent(void **state)
{
    (void)state;
    /* RFC 6874 §4: the zone names the sender's interface, so Uri-Host carries the bare address */
    expect_uri_opts("coap://[fe80::1%25eth0]:5683/x", ZCOAP_URI_OPT_HOST_LITERAL,
                    EXPECT_STR(ZCOAP_OPT_URI_HOST, "[fe80::1]"),
                    EXPECT_STR(ZCOAP_OPT_URI_PATH, "x"));
    zcoap_uri_t parts;
    zcoap_msg_t msg;
    assert_zcoap_ok(uri_to_msg("coap://[fe80::1%25eth0]/", 0, &msg, &parts));
    assert_true(parts.host_is_literal);
    assert_int_equal(parts.host_len, strlen("fe80::1%25eth0"));
    /* not IPv6 addresses */
    assert_zcoap_err(uri_to_msg("coap://[1:2:3:4:5:6:7:8:9]/", 0, &msg, NULL), ZCOAP_EURI_HOST);
    assert_zcoap_err(uri_to_msg("coap://[1::2::3]/", 0, &msg, NULL), ZCOAP_EURI_HOST);
    assert_zcoap_err(uri_to_msg("coap://[12345::]/", 0, &msg, NULL), ZCOAP_EURI_HOST);
    assert_zcoap_err(uri_to_msg("coap://[::1/", 0, &msg, NULL), ZCOAP_EURI_HOST);
    assert_zcoap_ok(uri_to_msg("coap://[::ffff:192.0.2.1]/", 0, &msg, NULL));
    assert_zcoap_ok(uri_to_msg("coap://[1:2:3:4:5:6:7:8]/", 0, &msg, NULL));
}

static void bounded_output(void **state)
{
    (void)state;
    zcoap_msg_t msg;
    uint8_t m[256];
    const expect_opt_t opts[] = {EXPECT_STR(ZCOAP_OPT_URI_PATH, "a b"),
                                 EXPECT_STR(ZCOAP_OPT_URI_QUERY, "k=v")};
    msg_with_opts(&msg, m, sizeof(m), opts, ARRAY_LEN(opts));
    expect_bounded(render_uri, &msg, "coap://[2001:db8::1]:61616/a%20b?k=v");
    expect_bounded(render_path, &msg, "/a%20b?k=v");
    assert_zcoap_err(zcoap_msg_uri(NULL, false, NULL, 1, (char *)m, 8), ZCOAP_EINVAL);
    assert_zcoap_err(zcoap_msg_uri(&msg, false, NULL, 1, NULL, 8), ZCOAP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc7252_6_3_equivalent_uris),
        cmocka_unit_test(split_parts),
        cmocka_unit_test(ipv6_literals),
        cmocka_unit_test(ports),
        cmocka_unit_test(hosts),
        cmocka_unit_test(paths_and_queries),
        cmocka_unit_test(dot_segments),
        cmocka_unit_test(dot_segments_leaving_a_bare_slash),
        cmocka_unit_test(malformed_uris),
        cmocka_unit_test(add_uri_misuse),
        cmocka_unit_test(relative_references),
        cmocka_unit_test(rfc7252_appendix_b),
        cmocka_unit_test(compose_ports_and_schemes),
        cmocka_unit_test(options_to_uri_and_back),
        cmocka_unit_test(empty_query_round_trip),
        cmocka_unit_test(paths_and_locations),
        cmocka_unit_test(bounded_output),
        cmocka_unit_test(ipv6_zone_is_not_sent),
        cmocka_unit_test(out_of_bounds_uri_host_and_port_are_ignored),
    };
    return cmocka_run_group_tests_name("uri", tests, NULL, NULL);
}
